#include "qos_fixture.h"

#include <stdio.h>

double qfx_bps(uint64_t bytes, uint64_t window_ns)
{
	return (double)bytes * 8.0 * (double)NS / (double)window_ns;
}

/* Prints the rate under label; a failure names it by what (a row's rate
 * is printed under the row, failed with the row's name). */
static void qfx_check(const char *label, const char *what, double got, double want, double tol)
{
	double err = (got - want) / want;
	print_message("  %-28s %9.3f Mbit/s  (want %.3f, %+.2f%%)\n", label, got / 1e6, want / 1e6,
		      err * 100);
	if (err > tol || err < -tol)
		fail_msg("%s: %.0f bit/s, want %.0f within %.1f%%", what, got, want, tol * 100);
}

void qfx_expect_rate(const char *what, double got, double want, double tol)
{
	qfx_check(what, what, got, want, tol);
}

void qfx_expect_rates(const char *row, const struct qfx_rate *r, size_t n)
{
	print_message(" %s:\n", row);
	for (size_t i = 0; i < n; i++) {
		char what[160];
		snprintf(what, sizeof(what), "%s: %s", row, r[i].name);
		qfx_check(r[i].name, what, r[i].got, r[i].want, r[i].tol);
	}
}
