/*
 * sched: /system scheduler on the running router. The daemon calls
 * sched_tick about once a second with the wall clock; every enabled task
 * whose run fell due since it last looked runs its on-event (the name of a
 * /system script, or script text) in a session of its own, as the task's
 * owner with the task's policy. A run the router was down for is not made
 * up (RouterOS does not either). run-count and next-run live here and are
 * shown in the task's item (read-only, never stored). Errors of a run go
 * to the log (script,error). Control-plane thread only.
 */
#ifndef ROSFW_DAEMON_SCHED_H
#define ROSFW_DAEMON_SCHED_H

#include <stdint.h>

struct daemon;
struct sched;

/* started: when the router started (Unix s): start-time=startup runs 3 s
 * after it. */
struct sched *sched_new(int64_t started);
void sched_free(struct sched *sc);
/* Runs the tasks due at now (Unix s) and refreshes run-count and next-run. */
void sched_tick(struct sched *sc, struct daemon *d, int64_t now);

/*
 * The first run of a task (Unix s) from its start-date and start-time as
 * stored (NULL when unset: the date, resp. the time of day, at which the
 * router first saw the task, `seen`), in local time; "startup" is 3 s after
 * `started`. Returns 0, or -1 for a date or time it cannot read.
 */
int sched_first_run(const char *date, const char *time, int64_t seen, int64_t started,
		    int64_t *first);
/* The run after `after`: first, first + interval, ... (first only when
 * interval is 0); 0 when none is left. */
int64_t sched_next_run(int64_t first, int64_t interval, int64_t after);

#endif
