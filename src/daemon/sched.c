/*
 * /system scheduler: when each task runs, and running it (sched.h).
 */
#include "sched.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "conf/runtime.h"
#include "conf/types.h"
#include "daemon.h"
#include "mgmt/mgmt.h"

/* What the scheduler remembers of a task between ticks, by item id. */
struct task_st {
	uint32_t id;
	int64_t seen;  /* when the router first saw the task */
	int64_t after; /* runs up to this time are done (or were missed) */
	uint64_t runs;
};

struct sched {
	int64_t started;
	struct task_st *t;
	size_t n, cap;
};

struct sched *sched_new(int64_t started)
{
	struct sched *sc = xcalloc(1, sizeof(*sc));
	sc->started = started;
	return sc;
}

void sched_free(struct sched *sc)
{
	if (!sc)
		return;
	free(sc->t);
	free(sc);
}

static struct task_st *task_state(struct sched *sc, uint32_t id, int64_t now)
{
	for (size_t i = 0; i < sc->n; i++)
		if (sc->t[i].id == id)
			return &sc->t[i];
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 8;
		sc->t = xrealloc(sc->t, sc->cap * sizeof(*sc->t));
	}
	sc->t[sc->n] = (struct task_st){ .id = id, .seen = now, .after = now };
	return &sc->t[sc->n++];
}

int sched_first_run(const char *date, const char *time, int64_t seen, int64_t started,
		    int64_t *first)
{
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };
	if (time && !strcmp(time, "startup")) {
		*first = started + 3;
		return 0;
	}
	struct tm tm;
	time_t st = (time_t)seen;
	localtime_r(&st, &tm);
	if (date) {
		char m[4];
		int d, y, k = -1;
		if (sscanf(date, "%3[a-z]/%d/%d", m, &d, &y) != 3)
			return -1;
		for (int i = 0; i < 12; i++)
			if (!strcmp(m, mon[i]))
				k = i;
		if (k < 0)
			return -1;
		tm.tm_year = y - 1900;
		tm.tm_mon = k;
		tm.tm_mday = d;
	}
	if (time) {
		int h, mi, s;
		if (sscanf(time, "%d:%d:%d", &h, &mi, &s) != 3)
			return -1;
		tm.tm_hour = h;
		tm.tm_min = mi;
		tm.tm_sec = s;
	}
	tm.tm_isdst = -1;
	*first = (int64_t)mktime(&tm);
	return 0;
}

int64_t sched_next_run(int64_t first, int64_t interval, int64_t after)
{
	if (first > after)
		return first;
	if (interval <= 0)
		return 0;
	return first + ((after - first) / interval + 1) * interval;
}

/* on-event: a script's name runs that script, anything else is script text. */
static void run_task(struct daemon *d, const struct menu *m, const struct item *it)
{
	const char *name = item_get(m, it, "name");
	const char *ev = item_get(m, it, "on-event");
	const char *owner = item_get(m, it, "owner");
	const char *policy = item_get(m, it, "policy");
	struct store *st = daemon_store(d);
	const struct menu *scripts = schema_find("/system/script");
	struct conf_session s;
	daemon_session_init(d, &s, owner && *owner ? owner : "admin",
			    mgmt_policy_bits(policy ? policy : ""));
	struct sbuf cmd = SBUF_INIT;
	if (ev && scripts && store_by_key(st, scripts, ev)) {
		sbuf_puts(&cmd, "/system script run ");
		conf_quote(ev, true, &cmd);
	} else {
		sbuf_puts(&cmd, ev ? ev : "");
	}
	struct err e;
	if (conf_exec(&s, sbuf_str(&cmd), NULL, &e) < 0) {
		struct sbuf msg = SBUF_INIT;
		err_format(&e, &msg);
		conf_log("script,error", "scheduler %s: %s", name, sbuf_str(&msg));
		sbuf_free(&msg);
	}
	sbuf_free(&cmd);
	conf_session_free(&s);
}

void sched_tick(struct sched *sc, struct daemon *d, int64_t now)
{
	struct store *st = daemon_store(d);
	const struct menu *m = schema_find("/system/scheduler");
	if (!m)
		return;
	int p_runs = schema_prop(m, "run-count", NULL), p_next = schema_prop(m, "next-run", NULL);
	/* a run may add or remove tasks: go by id, and look again after each */
	for (size_t i = 0; i < store_count(st, m); i++) {
		struct item *it = store_at(st, m, i);
		uint32_t id = it->id;
		struct task_st *ts = task_state(sc, id, now);
		const char *dis = item_get(m, it, "disabled");
		uint64_t iv_ms = 0;
		int64_t first, next = 0;
		parse_time_ms(item_get(m, it, "interval"), &iv_ms);
		int64_t iv = iv_ms ? (int64_t)((iv_ms + 999) / 1000) : 0;
		bool ok = sched_first_run(item_get(m, it, "start-date"), item_get(m, it, "start-time"),
					  ts->seen, sc->started, &first) == 0;
		if (dis && !strcmp(dis, "yes")) {
			ts->after = now; /* enabling it later does not make up for the gap */
		} else if (ok) {
			next = sched_next_run(first, iv, ts->after);
			if (next && next <= now) {
				ts->after = now;
				ts->runs++;
				run_task(d, m, it);
				it = store_get(st, m, id);
				if (!it)
					continue;
				ts = task_state(sc, id, now);
				next = sched_next_run(first, iv, now);
			}
		}
		char buf[40];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)ts->runs);
		item_set(m, it, p_runs, buf);
		if (next) {
			conf_format_time(next, buf, sizeof(buf));
			item_set(m, it, p_next, buf);
		} else if (p_next >= 0) {
			free(it->vals[p_next]);
			it->vals[p_next] = NULL;
		}
	}
}
