/*
 * bench_engine: the packet engine's speeds (issue 3), one core, in-memory
 * frames, virtual time. Each figure is the median of several runs.
 *  a) established flows: conntrack + 25 filter rules + masquerade, 64-byte
 *     UDP frames over 10,000 flows (target <= 200 ns/packet)
 *  b) new connections: full rule walk, conntrack insert, NAT port allocation
 *     (target >= 1 M/s)
 *  c) rules with a late match: 25, 1,000, 10,000 (target: 10k <= 3x 25,
 *     and >= 2 Mpps at 10k), with the reference evaluator side by side
 *  d) FastTrack path against the full path (target >= 3x): the same
 *     frames as (a) with a fasttrack-connection rule first; (a), (d) and the
 *     harness alone are measured in turns, run for run, so that each ratio
 *     compares runs the shared machine made alike, and the figure is the
 *     median of those ratios
 *  e) conntrack memory per entry (target <= 160 bytes)
 * Frames are copied from templates before each run (the engine rewrites
 * them in place); that copy is part of the figures. The harness alone (the
 * same loop without the engine) is measured too, so (a) and (d) can be
 * read net of it; the ratio the target speaks of is the raw one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/names.h"

#define FRAME 128

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

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_d);
	return v[n / 2];
}

struct rig {
	struct store *st;
	struct conf_session s;
	struct engine *en;
	uint16_t lan, wan;
};

static void rig_open(struct rig *r, const char *extra)
{
	struct err e;
	err_clear(&e);
	if (store_open(&r->st, ":memory:", &e) < 0)
		exit(1);
	conf_session_init(&r->s, r->st, "bench");
	if (conf_store_init(&r->s, false, &e) < 0)
		exit(1);
	const char *base = "/ip address\n"
			   "add address=192.168.88.1/24 interface=ether2\n"
			   "add address=203.0.113.2/24 interface=ether1\n"
			   "/ip route add gateway=203.0.113.1\n"
			   "/ip firewall nat add chain=srcnat action=masquerade out-interface=ether1\n";
	if (conf_import(&r->s, base, "bench", 0, NULL, &e) < 0 ||
	    (extra && conf_import(&r->s, extra, "bench", 0, NULL, &e) < 0)) {
		fprintf(stderr, "bench config: line %d: %s\n", e.line, e.msg);
		exit(1);
	}
	r->en = engine_new();
	if (engine_load(r->en, r->st, &e) < 0) {
		fprintf(stderr, "engine_load: %s\n", e.msg);
		exit(1);
	}
	r->lan = (uint16_t)name_intern(NS_IFACE, "ether2");
	r->wan = (uint16_t)name_intern(NS_IFACE, "ether1");
}

static void rig_close(struct rig *r)
{
	engine_free(r->en);
	conf_session_free(&r->s);
	store_close(r->st);
}

/* 25 filter rules in the style of a SOHO router; the traffic matches late */
static char *rules_25(void)
{
	struct sbuf b = SBUF_INIT;
	sbuf_puts(&b, "/ip firewall filter\n"
		      "add chain=input connection-state=established,related action=accept\n"
		      "add chain=input connection-state=invalid action=drop\n"
		      "add chain=input protocol=icmp action=accept\n"
		      "add chain=input src-address=192.168.88.0/24 action=accept\n"
		      "add chain=input action=drop\n"
		      "add chain=forward connection-state=invalid action=drop\n");
	for (int i = 0; i < 17; i++)
		sbuf_printf(&b, "add chain=forward protocol=tcp dst-port=%d src-address=10.%d.0.0/16 "
				"action=drop\n", 1000 + i, i);
	sbuf_puts(&b, "add chain=forward connection-state=established,related action=accept\n"
		      "add chain=forward in-interface=ether1 connection-state=new action=drop\n");
	return sbuf_steal(&b);
}

static char *rules_n(int n)
{
	struct sbuf b = SBUF_INIT;
	sbuf_puts(&b, "/ip firewall filter\n");
	for (int i = 0; i < n - 1; i++)
		sbuf_printf(&b, "add chain=forward protocol=udp dst-port=%d src-address=10.%d.%d.0/24 "
				"action=drop\n", 1000 + i % 60000, (i >> 8) & 255, i & 255);
	sbuf_puts(&b, "add chain=forward action=accept\n");
	return sbuf_steal(&b);
}

static int mk(uint8_t *f, const char *fmt, unsigned a, unsigned b, unsigned c)
{
	char desc[200];
	snprintf(desc, sizeof(desc), fmt, a, b, c);
	struct err e;
	int len = pkt_build(desc, f, FRAME, &e);
	if (len < 0) {
		fprintf(stderr, "pkt_build %s: %s\n", desc, e.msg);
		exit(1);
	}
	return len;
}

/* LAN->WAN UDP of flow i, 64-byte frame (22 bytes of payload). Source
 * ports are unique, so masquerade keeps them and every flow has its own
 * reply tuple (with ports shared by several hosts, masquerade would move
 * most flows to other ports and the replies below would miss them). */
static int flow_out(uint8_t *f, unsigned i)
{
	return mk(f, "udp 192.168.88.%u:%u > 198.51.100.%u:53 len=18", 2 + i % 250, 10000 + i,
		  1 + i % 7);
}

/* Runs n frames `rounds` times in bursts of BURST (engine_input_burst, as
 * a dataplane receives them), each copied from its template first. With
 * r NULL, the same loop without the engine: what the harness costs. */
enum { BURST = 32 };
static int run_frames(struct rig *r, uint8_t (*tmpl)[FRAME], const int *len, uint16_t ifid,
		      int n, int rounds, uint64_t *clock, double *ns_per_pkt, int *forwarded)
{
	static uint8_t work[BURST][FRAME];
	static struct engine_out out[BURST];
	struct pkt pk[BURST], *v[BURST];
	uint16_t in_if[BURST];
	int fwd = 0;
	for (int b = 0; b < BURST; b++) {
		v[b] = &pk[b];
		in_if[b] = ifid;
	}
	double t0 = now_s();
	for (int k = 0; k < rounds; k++)
		for (int i = 0; i < n; i += BURST) {
			size_t m = (size_t)(n - i < BURST ? n - i : BURST);
			for (size_t b = 0; b < m; b++) {
				memcpy(work[b], tmpl[i + b], (size_t)len[i + b]);
				pk[b] = (struct pkt){ .data = work[b], .len = (uint32_t)len[i + b],
						      .cap = FRAME };
			}
			*clock += 1000 * m;
			if (!r) {
				/* the copies and descriptors must be made as if used */
				__asm__ volatile("" : : "r"(work), "r"(pk) : "memory");
				continue;
			}
			for (size_t done = 0; done < m;)
				done += engine_input_burst(r->en, v + done, in_if, m - done, *clock,
							   out + done);
			for (size_t b = 0; b < m; b++)
				fwd += out[b].verdict == EV_FORWARD;
		}
	double t = now_s() - t0;
	*ns_per_pkt = t * 1e9 / ((double)n * rounds);
	if (forwarded)
		*forwarded = fwd;
	return 0;
}

static int count_replied(void *ctx, struct ct_entry *e)
{
	*(size_t *)ctx += (e->status & CTS_SEEN_REPLY) != 0;
	return 0;
}

int main(void)
{
	enum { FLOWS = 10000, RUNS = 5 };
	static uint8_t out_t[FLOWS][FRAME], in_t[FLOWS][FRAME];
	static int out_l[FLOWS], in_l[FLOWS];
	uint64_t clock = 1000000000ull;
	double v[RUNS];

	printf("bench_engine: one core, in-memory frames, median of %d runs\n\n", RUNS);
	/* BENCH_ONLY=a stops after the first figure, =d runs (a) and (d), =D (d)
	 * alone, =c (c) alone (for profiling) */
	const char *only = getenv("BENCH_ONLY");

	/* a) established flows, and the rig of (d): measured in turns below */
	struct rig r, rd;
	char *cfg = rules_25();
	bool meas_a = !(only && (*only == 'D' || *only == 'c'));
	bool meas_d = !(only && (*only == 'a' || *only == 'c'));
	rig_open(&r, cfg);
	for (unsigned i = 0; i < FLOWS; i++)
		out_l[i] = flow_out(out_t[i], i);
	double ns;
	int fwd;
	run_frames(&r, out_t, out_l, r.lan, FLOWS, 1, &clock, &ns, &fwd); /* creates the flows */
	/* replies make them established: to the masqueraded address and port */
	for (unsigned i = 0; i < FLOWS; i++)
		in_l[i] = mk(in_t[i], "udp 198.51.100.%u:53 > 203.0.113.2:%u len=18", 1 + i % 7,
			     10000 + i, 0);
	run_frames(&r, in_t, in_l, r.wan, FLOWS, 1, &clock, &ns, &fwd);
	int established_fwd = fwd;
	if (meas_d) {
		struct sbuf ft = SBUF_INIT;
		sbuf_puts(&ft, "/ip firewall filter\n"
			       "add chain=forward action=fasttrack-connection "
			       "connection-state=established,related\n");
		sbuf_puts(&ft, cfg);
		rig_open(&rd, sbuf_str(&ft));
		sbuf_free(&ft);
		run_frames(&rd, out_t, out_l, rd.lan, FLOWS, 1, &clock, &ns, &fwd);
		run_frames(&rd, in_t, in_l, rd.wan, FLOWS, 1, &clock, &ns, &fwd);
		run_frames(&rd, out_t, out_l, rd.lan, FLOWS, 1, &clock, &ns, &fwd); /* marks them */
	}
	double vd[RUNS], vh[RUNS], pair[RUNS];
	for (int k = 0; k < RUNS; k++) {
		if (meas_a)
			run_frames(&r, out_t, out_l, r.lan, FLOWS, 20, &clock, &v[k], &fwd);
		if (meas_d)
			run_frames(&rd, out_t, out_l, rd.lan, FLOWS, 20, &clock, &vd[k], &fwd);
		run_frames(NULL, out_t, out_l, 0, FLOWS, 20, &clock, &vh[k], NULL);
		pair[k] = meas_a && meas_d ? v[k] / vd[k] : 0;
	}
	double est = meas_a ? median(v, RUNS) : 0;
	size_t nest = 0;
	ct_foreach(engine_ct(r.en), count_replied, &nest);
	if (meas_a)
		printf("a) established UDP, 10k flows, 25 rules + masquerade: %.0f ns/packet, %.2f "
		       "Mpps (target <= 200 ns) %s   [replies forwarded: %d/%d, connections %zu, "
		       "replied %zu]\n",
		       est, 1e3 / est, est <= 200 ? "PASS" : "FAIL", established_fwd, FLOWS,
		       ct_count(engine_ct(r.en)), nest);
	rig_close(&r);
	if (only && *only == 'a')
		return 0;
	/* BENCH_ONLY=d: (a) as its baseline, then (d) */
	bool skip_bc = only && (*only == 'd' || *only == 'D');

	/* b) new connections */
	for (int k = 0; k < RUNS && !skip_bc && !(only && *only == 'c'); k++) {
		rig_open(&r, cfg);
		static uint8_t nt[FLOWS][FRAME];
		static int nl[FLOWS];
		for (unsigned i = 0; i < FLOWS; i++)
			nl[i] = mk(nt[i], "udp 192.168.88.%u:%u > 198.51.100.9:%u len=18", 2 + i % 250,
				   20000 + i / 250, 53 + k);
		run_frames(&r, nt, nl, r.lan, FLOWS, 1, &clock, &ns, &fwd);
		v[k] = ns;
		rig_close(&r);
	}
	double nw = median(v, RUNS);
	if (!skip_bc && !(only && *only == 'c'))
		printf("b) new connections (rules, conntrack insert, NAT port): %.0f ns each, %.2f M/s "
	       "(target >= 1 M/s) %s\n",
	       nw, 1e3 / nw, 1e3 / nw >= 1.0 ? "PASS" : "FAIL");
	free(cfg);

	/* c) late match over 25 / 1,000 / 10,000 rules, and the reference evaluator */
	static const int sizes[] = { 25, 1000, 10000 };
	double at[3] = { 1, 1, 1 };
	for (int si = 0; si < 3 && !skip_bc; si++) {
		char *rc = rules_n(sizes[si]);
		rig_open(&r, rc);
		free(rc);
		enum { NF = 1000 };
		static uint8_t ft[NF][FRAME];
		static int fl[NF];
		for (unsigned i = 0; i < NF; i++)
			fl[i] = flow_out(ft[i], i);
		run_frames(&r, ft, fl, r.lan, NF, 1, &clock, &ns, &fwd);
		for (int k = 0; k < RUNS; k++) {
			run_frames(&r, ft, fl, r.lan, NF, sizes[si] >= 10000 ? 20 : 50, &clock, &ns, &fwd);
			v[k] = ns;
		}
		at[si] = median(v, RUNS);
		/* the reference evaluator on the same packets, filter forward only */
		const struct menu *m = schema_find("/ip/firewall/filter");
		(void)m;
		struct rs_state *rst = rs_state_new();
		static uint8_t work[FRAME];
		int nref = sizes[si] >= 10000 ? 200 : 1000;
		double t0 = now_s();
		for (int i = 0; i < nref; i++) {
			memcpy(work, ft[i % NF], (size_t)fl[i % NF]);
			struct pkt p = { .data = work, .len = (uint32_t)fl[i % NF], .cap = FRAME };
			pkt_parse(&p, true, false);
			p.in_if = r.lan;
			p.out_if = r.wan;
			p.ct_state = CT_ESTABLISHED;
			struct rs_ctx c = { .p = &p, .state = rst, .now = clock };
			struct rs_verdict rv;
			rs_ref_run(r.st, RT_FILTER, RH_FORWARD, &c, &rv);
		}
		double ref = (now_s() - t0) * 1e9 / nref;
		rs_state_free(rst);
		printf("c) %5d rules, late match: %6.0f ns/packet (%.2f Mpps)   reference evaluator "
		       "(filter forward only): %9.0f ns/packet\n",
		       sizes[si], at[si], 1e3 / at[si], ref);
		rig_close(&r);
	}
	double ratio = at[2] / at[0];
	if (!skip_bc)
		printf("   10k/25 cost ratio %.2f (target <= 3) %s; 10k rate %.2f Mpps (target >= 2) %s\n",
	       ratio, ratio <= 3 ? "PASS" : "FAIL", 1e3 / at[2], 1e3 / at[2] >= 2 ? "PASS" : "FAIL");

	if (only && *only == 'c')
		return 0;
	/* d) FastTrack against the full path, measured above */
	double fast = median(vd, RUNS), harness = median(vh, RUNS);
	if (meas_a) {
		double rt = median(pair, RUNS);
		printf("d) FastTrack path: %.0f ns/packet against %.0f on the full path: %.2fx "
		       "(target >= 3x) %s   [flow cache hits: %.1f%%]\n",
		       fast, est, rt, rt >= 3 ? "PASS" : "FAIL",
		       100.0 * (double)engine_fast_hits(rd.en) / (RUNS * 20.0 * FLOWS));
		printf("   the harness alone (frame copy, descriptor set-up): %.1f ns/packet; net of "
		       "it, (a) %.0f ns and (d) %.0f ns: %.2fx\n",
		       harness, est - harness, fast - harness, (est - harness) / (fast - harness));
	} else {
		printf("d) FastTrack path: %.0f ns/packet   [flow cache hits: %.1f%%]\n", fast,
		       100.0 * (double)engine_fast_hits(rd.en) / (RUNS * 20.0 * FLOWS));
		printf("   the harness alone (frame copy, descriptor set-up): %.1f ns/packet\n",
		       harness);
	}
	rig_close(&rd);

	/* f) recompile and publish a 1,000-rule configuration after one change
	 * (issue 5: <= 10 ms): engine_load compiles the whole firewall */
	{
		char *rc = rules_n(1000);
		rig_open(&r, rc);
		free(rc);
		double fv[21];
		struct err e;
		for (int k = 0; k < 21; k++) {
			conf_exec(&r.s, "/ip firewall filter set 500 comment=changed", NULL, &e);
			double t0 = now_s();
			if (engine_load(r.en, r.st, &e) < 0)
				exit(1);
			fv[k] = (now_s() - t0) * 1e3;
		}
		qsort(fv, 21, sizeof(double), cmp_d);
		printf("f) recompile + publish of 1,000 rules after one change: %.2f ms "
		       "(target <= 10 ms) %s\n",
		       fv[10], fv[10] <= 10 ? "PASS" : "FAIL");
		rig_close(&r);
	}

	/* e) conntrack memory */
	size_t per = ct_entry_size();
	printf("e) conntrack memory: %zu bytes per entry including NAT (target <= 160) %s\n", per,
	       per <= 160 ? "PASS" : "FAIL");
	return 0;
}
