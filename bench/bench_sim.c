/*
 * bench_sim: `rosfw sim --traffic` speed (issue 4). The SOHO profile
 * (examples/traffic/soho.json) runs for 60 s of virtual time through the
 * built-in default configuration (examples/soho.rsc: firewall, NAT, marks,
 * queue tree); target: under 10 s of wall time. Prints the median of three
 * runs, the events and router packets per second, and the wall time per
 * virtual second. Run from the top of the tree (make bench does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "qos/qos.h"
#include "sim/netsim.h"

#define PROFILE "examples/traffic/soho.json"
#define RUNS 3
#define SECONDS 60

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(void)
{
	struct err e;
	err_clear(&e);
	struct tgen_profile *prof;
	if (tgen_profile_load(PROFILE, &prof, &e) < 0) {
		fprintf(stderr, "bench_sim: %s (run from the top of the tree)\n", e.msg);
		return 1;
	}
	double wall[RUNS];
	uint64_t events = 0, routed = 0;
	for (int k = 0; k < RUNS; k++) {
		struct store *st;
		struct conf_session s;
		if (store_open(&st, ":memory:", &e) < 0)
			return 1;
		conf_session_init(&s, st, "bench");
		s.virtual_ifaces = true;
		if (conf_store_init(&s, true, &e) < 0 || store_begin(st, &e) < 0) {
			fprintf(stderr, "bench_sim: default configuration: %s\n", e.msg);
			return 1;
		}
		for (size_t i = 0; i < prof->nifaces; i++)
			if (conf_virtual_iface(&s, prof->ifaces[i].name, &e) < 0)
				return 1;
		if (store_commit(st, "bench", "virtual interfaces", &e) < 0)
			return 1;
		struct engine *en = engine_new();
		char qerr[256];
		struct qos *q = qos_build(st, NETSIM_T0, qerr, sizeof(qerr));
		if (engine_load(en, st, &e) < 0 || !q) {
			fprintf(stderr, "bench_sim: %s%s\n", e.msg, q ? "" : qerr);
			return 1;
		}
		struct netsim_opts o = { .seed = 1, .duration = SECONDS * 1000000000ull, .en = en,
					 .qos = q };
		double t = now_s();
		struct netsim *ns = netsim_new(prof, &o);
		netsim_run(ns);
		wall[k] = now_s() - t;
		const struct netsim_results *r = netsim_results(ns);
		events = r->events;
		routed = 0;
		for (int c = 0; c < TGC_MAX; c++)
			for (int d = 0; d < 2; d++)
				routed += r->cls[c][d].sent;
		netsim_free(ns);
		qos_free(q);
		engine_free(en);
		conf_session_free(&s);
		store_close(st);
	}
	qsort(wall, RUNS, sizeof(double), cmp_d);
	double w = wall[RUNS / 2];
	printf("bench_sim: %s, %d s of virtual time through examples/soho.rsc\n", PROFILE, SECONDS);
	printf("  wall time   %.2f s (median of %d; min %.2f, max %.2f)   target < 10 s: %s\n", w,
	       RUNS, wall[0], wall[RUNS - 1], w < 10 ? "PASS" : "FAIL");
	printf("  events      %llu (%.2f M/s)\n", (unsigned long long)events,
	       (double)events / w / 1e6);
	printf("  packets     %llu sent after the warm-up (%.0f k/s of wall time)\n",
	       (unsigned long long)routed, (double)routed / w / 1e3);
	printf("  speed       %.0fx real time\n", SECONDS / w);
	tgen_profile_free(prof);
	return 0;
}
