/*
 * bench_qos: the QoS speeds of issue 4, one core, virtual time.
 *  a) HTB enqueue+dequeue with 8 and with 1,000 leaf classes (target >= 5 and
 *     >= 2 Mpps): every leaf overloaded, dequeue at every next event
 *  b) 25 simple queues on the full engine path: engine_input, then the
 *     queues (qos_enqueue + qos_dequeue) for 64-byte UDP of 25 LAN hosts
 *     (context: a MikroTik RB4011 does 960 kpps with 25 simple queues)
 * Medians of 5 runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/names.h"
#include "qos/htb.h"
#include "qos/qos.h"

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

/* packets through an HTB of n leaves under one 10G root, all overloaded */
static double htb_mpps(int n)
{
	struct htb_class_cfg *c = calloc((size_t)n + 1, sizeof(*c));
	c[0].parent = -1;
	c[0].max_limit = 10000000000ull;
	c[0].priority = 8;
	c[0].bucket_size_milli = 100;
	qdisc_cfg_default(&c[0].queue, QK_PFIFO);
	for (int i = 1; i <= n; i++) {
		c[i].parent = 0;
		c[i].id = (uint32_t)i;
		c[i].max_limit = 10000000000ull / (uint64_t)n;
		c[i].limit_at = c[i].max_limit / 2;
		c[i].priority = (uint8_t)(1 + i % 8);
		c[i].bucket_size_milli = 100;
		qdisc_cfg_default(&c[i].queue, QK_PFIFO);
	}
	char err[128];
	uint64_t t = 1000000000ull;
	struct htb *h = htb_new(c, (size_t)n + 1, 0, t, err, sizeof(err));
	if (!h) {
		fprintf(stderr, "htb_new: %s\n", err);
		exit(1);
	}
	enum { POOL = 65536 };
	struct qpkt *pool = calloc(POOL, sizeof(*pool)), *fl = NULL;
	for (int i = 0; i < POOL; i++) {
		pool[i].len = 64;
		pool[i].next = fl;
		fl = &pool[i];
	}
	long done = 0, target = 4000000;
	int leaf = 1;
	double t0 = now_s();
	while (done < target) {
		/* offer one packet to the next leaf, then take what may leave */
		if (fl) {
			struct qpkt *p = fl, *dropped = NULL;
			fl = fl->next;
			p->hash = (uint32_t)leaf;
			if (!htb_enqueue(h, leaf, p, t, &dropped)) {
				p->next = fl;
				fl = p;
			}
			while (dropped) {
				struct qpkt *x = dropped;
				dropped = x->next;
				x->next = fl;
				fl = x;
			}
			leaf = leaf % n + 1;
		}
		struct qpkt *dropped = NULL;
		struct qpkt *q = htb_dequeue(h, t, &dropped);
		while (dropped) {
			struct qpkt *x = dropped;
			dropped = x->next;
			x->next = fl;
			fl = x;
		}
		if (q) {
			q->next = fl;
			fl = q;
			done++;
		} else {
			uint64_t e = htb_next_event(h, t);
			t = e != UINT64_MAX && e > t ? e : t + 100;
		}
	}
	double secs = now_s() - t0;
	htb_free(h);
	free(pool);
	free(c);
	return (double)done / secs / 1e6;
}

static double simple_queues_kpps(void)
{
	struct store *st;
	struct conf_session s;
	struct err e;
	if (store_open(&st, ":memory:", &e) < 0)
		exit(1);
	conf_session_init(&s, st, "bench");
	if (conf_store_init(&s, true, &e) < 0)
		exit(1);
	struct sbuf cfg = SBUF_INIT;
	sbuf_puts(&cfg, "/queue tree remove [find]\n/queue simple\n");
	for (int i = 0; i < 25; i++)
		sbuf_printf(&cfg, "add name=host%d target=192.168.88.%d/32 max-limit=1G/1G\n", i, 10 + i);
	if (conf_import(&s, sbuf_str(&cfg), "bench", 0, NULL, &e) < 0) {
		fprintf(stderr, "config: %s\n", e.msg);
		exit(1);
	}
	sbuf_free(&cfg);
	struct engine *en = engine_new();
	if (engine_load(en, st, &e) < 0)
		exit(1);
	char err[128];
	uint64_t t = 1000000000ull;
	struct qos *q = qos_build(st, t, err, sizeof(err));
	if (!q) {
		fprintf(stderr, "qos: %s\n", err);
		exit(1);
	}
	uint16_t lan = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	enum { NF = 250 };
	static uint8_t tmpl[NF][128], work[NF][128];
	static int len[NF];
	for (int i = 0; i < NF; i++) {
		char d[160];
		snprintf(d, sizeof(d), "udp 192.168.88.%d:%d > 198.51.100.9:53 len=18", 10 + i % 25,
			 20000 + i);
		len[i] = pkt_build(d, tmpl[i], 128, &e);
	}
	static struct qpkt qp[NF];
	static struct engine_out out;
	long n = 0;
	double t0 = now_s();
	for (int round = 0; round < 400; round++) {
		for (int i = 0; i < NF; i++) {
			memcpy(work[i], tmpl[i], (size_t)len[i]);
			struct pkt p = { .data = work[i], .len = (uint32_t)len[i], .cap = 128 };
			t += 1000;
			engine_input(en, &p, lan, t, &out);
			if (out.verdict != EV_FORWARD)
				continue;
			struct qos_meta m = { .packet_mark = p.packet_mark, .in_if = lan,
					      .out_if = out.out_if, .src = p.src.v4, .dst = p.dst.v4 };
			if (p.ct) {
				m.src = p.ct->t[0].src;
				m.dst = p.ct->t[0].dst;
			}
			qp[i] = (struct qpkt){ .len = p.ip_len + 14u, .hash = (uint32_t)i };
			struct qpkt *dropped = NULL;
			qos_enqueue(q, &qp[i], &m, t, &dropped);
			struct qpkt *x = qos_dequeue(q, out.out_if, t, &dropped);
			n += x != NULL;
		}
	}
	double secs = now_s() - t0;
	qos_free(q);
	engine_free(en);
	conf_session_free(&s);
	store_close(st);
	return (double)n / secs / 1e3;
}

int main(void)
{
	enum { RUNS = 5 };
	double v[RUNS];
	printf("bench_qos: one core, virtual time, median of %d runs\n\n", RUNS);
	static const int sizes[] = { 8, 1000 };
	for (int k = 0; k < 2; k++) {
		for (int r = 0; r < RUNS; r++)
			v[r] = htb_mpps(sizes[k]);
		qsort(v, RUNS, sizeof(double), cmp_d);
		double target = sizes[k] == 8 ? 5.0 : 2.0;
		printf("a) HTB enqueue+dequeue, %4d leaves: %.2f Mpps (target >= %.0f) %s\n", sizes[k],
		       v[RUNS / 2], target, v[RUNS / 2] >= target ? "PASS" : "FAIL");
	}
	for (int r = 0; r < RUNS; r++)
		v[r] = simple_queues_kpps();
	qsort(v, RUNS, sizeof(double), cmp_d);
	printf("b) 25 simple queues on the full engine path: %.0f kpps (RB4011: 960 kpps)\n",
	       v[RUNS / 2]);
	return 0;
}
