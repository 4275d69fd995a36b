/*
 * login_pool: threads that verify password hashes for the management fronts
 * (mgmt.h, mgmt_pool_*). argon2id is slow on purpose; run on the event
 * loop's thread, one login would stall every session. The threads only run
 * mgmt_login_verify on the copy a job carries; everything else (the store,
 * the callbacks) stays on the control-plane thread, which an eventfd wakes
 * when a job is done.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "mgmt/mgmt.h"

#define POOL_MAX_THREADS 8

struct job {
	struct job *next;
	struct mgmt_login *lg;
	mgmt_login_fn fn;
	void *ctx;
	uint64_t cookie;
	bool verified;
	bool cancelled; /* its front stopped while a thread had it */
};

struct mgmt_pool {
	pthread_t th[POOL_MAX_THREADS];
	unsigned nth;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *waiting, **waiting_tail; /* queued logins, oldest first */
	struct job *busy;              /* taken by a thread (for cancel) */
	struct job *done, **done_tail; /* finished, for mgmt_pool_run */
	int efd;
	bool stop;
};

static void job_free(struct job *j)
{
	mgmt_login_done(j->lg);
	free(j->lg);
	free(j);
}

static void unlink_busy(struct mgmt_pool *p, struct job *j)
{
	for (struct job **pp = &p->busy; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			return;
		}
}

static void *worker(void *arg)
{
	struct mgmt_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->waiting && !p->stop)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		struct job *j = p->waiting;
		p->waiting = j->next;
		if (!p->waiting)
			p->waiting_tail = &p->waiting;
		j->next = p->busy;
		p->busy = j;
		pthread_mutex_unlock(&p->mu);
		bool ok = mgmt_login_verify(j->lg);
		pthread_mutex_lock(&p->mu);
		unlink_busy(p, j);
		if (j->cancelled) {
			job_free(j);
			continue;
		}
		j->verified = ok;
		j->next = NULL;
		*p->done_tail = j;
		p->done_tail = &j->next;
		uint64_t one = 1;
		if (write(p->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort(); /* an eventfd write fails only on overflow */
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct mgmt_pool *mgmt_pool_new(unsigned threads)
{
	struct mgmt_pool *p = xcalloc(1, sizeof(*p));
	p->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (p->efd < 0) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->waiting_tail = &p->waiting;
	p->done_tail = &p->done;
	if (threads < 1)
		threads = 1;
	if (threads > POOL_MAX_THREADS)
		threads = POOL_MAX_THREADS;
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&p->th[p->nth], NULL, worker, p) == 0)
			p->nth++;
	if (!p->nth) {
		mgmt_pool_free(p);
		return NULL;
	}
	return p;
}

static void free_list(struct job *j)
{
	while (j) {
		struct job *next = j->next;
		job_free(j);
		j = next;
	}
}

void mgmt_pool_free(struct mgmt_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nth; i++)
		pthread_join(p->th[i], NULL);
	free_list(p->waiting);
	free_list(p->busy);
	free_list(p->done);
	close(p->efd);
	pthread_mutex_destroy(&p->mu);
	pthread_cond_destroy(&p->cv);
	free(p);
}

int mgmt_pool_fd(const struct mgmt_pool *p)
{
	return p->efd;
}

void mgmt_pool_submit(struct mgmt_pool *p, struct mgmt_login *lg, mgmt_login_fn fn, void *ctx,
		      uint64_t cookie)
{
	struct job *j = xcalloc(1, sizeof(*j));
	j->lg = lg;
	j->fn = fn;
	j->ctx = ctx;
	j->cookie = cookie;
	pthread_mutex_lock(&p->mu);
	*p->waiting_tail = j;
	p->waiting_tail = &j->next;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void mgmt_pool_run(struct mgmt_pool *p)
{
	uint64_t n;
	if (read(p->efd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&p->mu);
	struct job *j = p->done;
	p->done = NULL;
	p->done_tail = &p->done;
	pthread_mutex_unlock(&p->mu);
	while (j) {
		struct job *next = j->next;
		j->fn(j->ctx, j->cookie, j->lg, j->verified);
		job_free(j);
		j = next;
	}
}

/* Drops the jobs of a list that belong to ctx. */
static void drop_ctx(struct job **head, struct job ***tail, void *ctx)
{
	struct job **pp = head;
	while (*pp) {
		struct job *j = *pp;
		if (j->ctx == ctx) {
			*pp = j->next;
			job_free(j);
		} else {
			pp = &j->next;
		}
	}
	if (tail) {
		*tail = head;
		while (**tail)
			*tail = &(**tail)->next;
	}
}

void mgmt_pool_cancel(struct mgmt_pool *p, void *ctx)
{
	pthread_mutex_lock(&p->mu);
	drop_ctx(&p->waiting, &p->waiting_tail, ctx);
	drop_ctx(&p->done, &p->done_tail, ctx);
	for (struct job *j = p->busy; j; j = j->next)
		if (j->ctx == ctx)
			j->cancelled = true;
	pthread_mutex_unlock(&p->mu);
}
