#include "loop.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/sbuf.h"

struct watch {
	int fd;
	short events;
	loop_fd_fn fn;
	void *ctx;
	bool dead;
};

struct timer {
	int id;
	uint64_t due, period;
	loop_timer_fn fn;
	void *ctx;
	bool dead;
};

struct loop {
	struct watch *w;
	size_t nw, capw;
	struct timer *t;
	size_t nt, capt;
	int next_id;
	bool stop;
};

uint64_t loop_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

struct loop *loop_new(void)
{
	return xcalloc(1, sizeof(struct loop));
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	free(l->w);
	free(l->t);
	free(l);
}

int loop_watch(struct loop *l, int fd, short events, loop_fd_fn fn, void *ctx)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd && !l->w[i].dead) {
			l->w[i] = (struct watch){ fd, events, fn, ctx, false };
			return 0;
		}
	if (l->nw == l->capw) {
		l->capw = l->capw ? l->capw * 2 : 16;
		l->w = xrealloc(l->w, l->capw * sizeof(*l->w));
	}
	l->w[l->nw++] = (struct watch){ fd, events, fn, ctx, false };
	return 0;
}

void loop_unwatch(struct loop *l, int fd)
{
	for (size_t i = 0; i < l->nw; i++)
		if (l->w[i].fd == fd)
			l->w[i].dead = true;
}

int loop_timer(struct loop *l, uint64_t delay_ms, uint64_t period_ms, loop_timer_fn fn, void *ctx)
{
	if (l->nt == l->capt) {
		l->capt = l->capt ? l->capt * 2 : 8;
		l->t = xrealloc(l->t, l->capt * sizeof(*l->t));
	}
	int id = ++l->next_id;
	l->t[l->nt++] = (struct timer){ id, loop_now_ms() + delay_ms, period_ms, fn, ctx, false };
	return id;
}

void loop_cancel(struct loop *l, int id)
{
	for (size_t i = 0; i < l->nt; i++)
		if (l->t[i].id == id)
			l->t[i].dead = true;
}

void loop_stop(struct loop *l)
{
	l->stop = true;
}

static void compact(struct loop *l)
{
	size_t k = 0;
	for (size_t i = 0; i < l->nw; i++)
		if (!l->w[i].dead)
			l->w[k++] = l->w[i];
	l->nw = k;
	k = 0;
	for (size_t i = 0; i < l->nt; i++)
		if (!l->t[i].dead)
			l->t[k++] = l->t[i];
	l->nt = k;
}

void loop_run(struct loop *l, volatile int *stop)
{
	struct pollfd *pfd = NULL;
	size_t cap = 0;
	while (!l->stop && !(stop && *stop)) {
		compact(l);
		uint64_t now = loop_now_ms(), next = now + 1000;
		for (size_t i = 0; i < l->nt; i++)
			if (l->t[i].due < next)
				next = l->t[i].due;
		if (cap < l->nw) {
			cap = l->nw;
			pfd = xrealloc(pfd, cap * sizeof(*pfd));
		}
		size_t n = l->nw;
		for (size_t i = 0; i < n; i++)
			pfd[i] = (struct pollfd){ l->w[i].fd, l->w[i].events, 0 };
		int timeout = next > now ? (int)(next - now) : 0;
		int r = poll(pfd, n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		for (size_t i = 0; r > 0 && i < n; i++) {
			if (!pfd[i].revents)
				continue;
			/* the watch may have been replaced or removed by an earlier callback */
			for (size_t k = 0; k < l->nw; k++)
				if (l->w[k].fd == pfd[i].fd && !l->w[k].dead) {
					l->w[k].fn(l, pfd[i].fd, pfd[i].revents, l->w[k].ctx);
					break;
				}
		}
		now = loop_now_ms();
		size_t nt = l->nt;
		for (size_t i = 0; i < nt; i++) {
			struct timer *t = &l->t[i];
			if (t->dead || t->due > now)
				continue;
			loop_timer_fn fn = t->fn;
			void *ctx = t->ctx;
			if (t->period)
				t->due = now + t->period;
			else
				t->dead = true;
			fn(l, ctx);
		}
	}
	free(pfd);
}
