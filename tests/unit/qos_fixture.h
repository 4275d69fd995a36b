/*
 * qos_fixture: what the QoS unit tests (test_qos on the built queues,
 * test_htb on the scheduler alone) share: cmocka, the units of time and
 * rate, and the check of measured rates against the rates a table wants.
 * Rates are bit/s; a check prints every rate beside the one wanted and
 * fails the running cmocka test (fail_msg) at the first one off by more
 * than its tolerance. Nothing here allocates.
 */
#ifndef ROSFW_TESTS_QOS_FIXTURE_H
#define ROSFW_TESTS_QOS_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#define NS 1000000000ull
#define MS 1000000ull
#define K 1000ull
#define M 1000000ull

/* One rate of a table row: what was measured, what is wanted, and how far
 * they may differ (a fraction of want). */
struct qfx_rate {
	const char *name;
	double got, want, tol;
};

/* The bit rate of bytes delivered over window_ns. */
double qfx_bps(uint64_t bytes, uint64_t window_ns);

void qfx_expect_rate(const char *what, double got, double want, double tol);

/* A table row: every rate of r, under the row's name. */
void qfx_expect_rates(const char *row, const struct qfx_rate *r, size_t n);

#endif
