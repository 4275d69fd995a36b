/*
 * /system scheduler's timing (daemon/sched.c): the first run from
 * start-date and start-time (each defaulting to when the router first saw
 * the task, "startup" 3 s after the start) and the run after a given time
 * (none left for a one-shot task that has run). In UTC, so the table's
 * times are plain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cmocka.h>

#include "daemon/sched.h"

/* 2026-11-27 10:00:00 UTC */
#define T0 1795773600LL

static void test_first_run(void **state)
{
	(void)state;
	static const struct {
		const char *date, *time;
		int64_t seen, started, want;
		int rc;
	} rows[] = {
		{ NULL, NULL, T0 + 5, T0, T0 + 5, 0 },                   /* both unset: when seen */
		{ NULL, "03:00:00", T0 + 5, T0, T0 - 7 * 3600, 0 },      /* today at 03:00 */
		{ NULL, "23:30:00", T0, T0, T0 + 13 * 3600 + 1800, 0 },  /* today at 23:30 */
		{ "nov/28/2026", "03:00:00", T0, T0, T0 + 17 * 3600, 0 },
		{ "dec/01/2026", NULL, T0 + 42, T0, T0 + 4 * 86400 + 42, 0 },
		{ "jan/01/2026", "00:00:00", T0, T0, 1767225600LL, 0 },
		{ NULL, "startup", T0 + 100, T0, T0 + 3, 0 },
		{ "nov/28/2026", "startup", T0 + 100, T0, T0 + 3, 0 },
		{ "foo/01/2026", "03:00:00", T0, T0, 0, -1 },
		{ NULL, "3 o'clock", T0, T0, 0, -1 },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int64_t first = 0;
		int rc = sched_first_run(rows[i].date, rows[i].time, rows[i].seen, rows[i].started,
					 &first);
		assert_int_equal(rc, rows[i].rc);
		if (rc == 0)
			assert_int_equal(first, rows[i].want);
	}
}

static void test_next_run(void **state)
{
	(void)state;
	static const struct {
		int64_t first, interval, after, want;
	} rows[] = {
		{ T0, 86400, T0 - 1, T0 },               /* not yet run: the first */
		{ T0, 86400, T0, T0 + 86400 },           /* run at the first: a day later */
		{ T0, 86400, T0 + 3600, T0 + 86400 },
		{ T0, 86400, T0 + 3 * 86400 + 1, T0 + 4 * 86400 }, /* runs missed: the next only */
		{ T0, 2, T0 + 5, T0 + 6 },
		{ T0, 0, T0 - 10, T0 },                  /* one-shot, not yet */
		{ T0, 0, T0, 0 },                        /* one-shot, done */
		{ T0, 0, T0 + 1000, 0 },                 /* one-shot in the past: never */
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		assert_int_equal(sched_next_run(rows[i].first, rows[i].interval, rows[i].after),
				 rows[i].want);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_run),
		cmocka_unit_test(test_next_run),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
