/*
 * Queue types: each kind driven by a small simulated link in virtual time.
 * Packets come from a counting allocator, so every test also checks that
 * each packet ends exactly once: dequeued, refused at enqueue, or handed
 * back on a dropped list.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "qos/qdisc.h"

#define MS 1000000ull
#define SEC 1000000000ull

static long live;

/* A failed test leaves packets behind: every test starts the count anew. */
static int reset_live(void **state)
{
	live = 0;
	return 0;
}

static struct qpkt *pkt(uint32_t len, uint32_t hash, uint32_t user)
{
	struct qpkt *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->len = len;
	p->hash = hash;
	p->user = user;
	live++;
	return p;
}

static void pkt_free(struct qpkt *p)
{
	free(p);
	live--;
}

/* Frees a dropped list; counts the drops per user when counts is given. */
static size_t drop_list(struct qpkt *l, uint64_t *counts)
{
	size_t n = 0;
	while (l) {
		struct qpkt *next = l->next;
		if (counts)
			counts[l->user]++;
		pkt_free(l);
		l = next;
		n++;
	}
	return n;
}

/* Enqueues; a refused packet is freed. Returns whether it was taken. */
static bool enq(struct qdisc *q, struct qpkt *p, uint64_t now, uint64_t *drops)
{
	struct qpkt *dl = NULL;
	bool ok = qdisc_enqueue(q, p, now, &dl);
	drop_list(dl, drops);
	if (!ok) {
		if (drops)
			drops[p->user]++;
		pkt_free(p);
	}
	return ok;
}

static struct qpkt *deq(struct qdisc *q, uint64_t now, uint64_t *drops)
{
	struct qpkt *dl = NULL;
	struct qpkt *p = qdisc_dequeue(q, now, &dl);
	drop_list(dl, drops);
	return p;
}

/* Empties the queue (far in the future, past any shaper) and checks that
 * nothing was lost or freed twice. */
static void drain_and_destroy(struct qdisc *q)
{
	uint64_t far = 1000000 * SEC;
	struct qpkt *p;

	while ((p = deq(q, far, NULL))) {
		pkt_free(p);
		far += SEC;
	}
	assert_int_equal(qdisc_backlog_packets(q), 0);
	assert_int_equal(qdisc_backlog_bytes(q), 0);
	qdisc_destroy(q);
	assert_int_equal(live, 0);
}

static struct qdisc *mkq(enum qdisc_kind kind, void (*tweak)(struct qdisc_cfg *))
{
	struct qdisc_cfg cfg;
	qdisc_cfg_default(&cfg, kind);
	if (tweak)
		tweak(&cfg);
	struct qdisc *q = qdisc_create(&cfg, 42);
	assert_non_null(q);
	return q;
}

/* ---- fifos ---- */

static void pfifo3(struct qdisc_cfg *c)
{
	c->pfifo_limit = 3;
}

static void bfifo3000(struct qdisc_cfg *c)
{
	c->bfifo_limit = 3000;
}

static void test_fifos(void **state)
{
	struct qdisc *q = mkq(QK_PFIFO, pfifo3);
	for (uint32_t i = 0; i < 5; i++)
		assert_int_equal(enq(q, pkt(100 + i, 0, i), 0, NULL), i < 3);
	assert_int_equal(qdisc_backlog_packets(q), 3);
	assert_int_equal(qdisc_backlog_bytes(q), 100 + 101 + 102);
	for (uint32_t i = 0; i < 3; i++) {
		assert_int_equal(qdisc_peek_len(q, 0), 100 + i);
		struct qpkt *p = deq(q, 0, NULL);
		assert_non_null(p);
		assert_int_equal(p->user, i);
		pkt_free(p);
	}
	assert_null(deq(q, 0, NULL));
	assert_int_equal(qdisc_peek_len(q, 0), 0);
	drain_and_destroy(q);

	q = mkq(QK_BFIFO, bfifo3000);
	assert_true(enq(q, pkt(1000, 0, 0), 0, NULL));
	assert_true(enq(q, pkt(1500, 0, 1), 0, NULL));
	assert_false(enq(q, pkt(600, 0, 2), 0, NULL));
	assert_true(enq(q, pkt(500, 0, 3), 0, NULL));
	assert_false(enq(q, pkt(1, 0, 4), 0, NULL));
	assert_int_equal(qdisc_backlog_bytes(q), 3000);
	struct qpkt *p = deq(q, 0, NULL);
	assert_int_equal(p->user, 0);
	pkt_free(p);
	drain_and_destroy(q);

	q = mkq(QK_MQ_PFIFO, NULL);
	for (uint32_t i = 0; i < 60; i++)
		enq(q, pkt(100, 0, i), 0, NULL);
	assert_int_equal(qdisc_backlog_packets(q), 50);
	drain_and_destroy(q);

	q = mkq(QK_NONE, NULL);
	for (uint32_t i = 0; i < 2000; i++)
		enq(q, pkt(100, 0, 0), 0, NULL);
	assert_true(qdisc_backlog_packets(q) >= 1000);
	drain_and_destroy(q);

	assert_string_equal(qdisc_ops_of(QK_PFIFO)->name, "pfifo");
	assert_string_equal(qdisc_ops_of(QK_FQ_CODEL)->name, "fq-codel");
	assert_null(qdisc_ops_of((enum qdisc_kind)99));
}

/* ---- sparse flow against a bulk flow holding a full queue ---- */

/* One packet leaves per tick; the bulk flow offers two per tick; a sparse
 * packet arrives every `every` ticks. Returns the worst number of packets
 * that left between a sparse packet's arrival and its own departure. */
static int sparse_vs_bulk(struct qdisc *q, int ticks, int every, uint64_t tick_ns,
			  uint32_t *min_bulk_backlog, uint64_t *sparse_drops)
{
	uint64_t drops[2] = { 0, 0 };
	long deq_n = 0, arrived_at[64];
	int head = 0, tail = 0, worst = 0;
	uint32_t minb = UINT32_MAX;

	for (int t = 0; t < ticks; t++) {
		uint64_t now = (uint64_t)t * tick_ns;
		enq(q, pkt(1514, 0xB01C0001u, 0), now, drops);
		enq(q, pkt(1514, 0xB01C0001u, 0), now, drops);
		if (t > ticks / 10 && t % every == 0) {
			if (enq(q, pkt(100, 0x5A5E0002u, 1), now, drops))
				arrived_at[tail++ % 64] = deq_n;
			if (qdisc_backlog_packets(q) - (uint32_t)(tail - head) < minb)
				minb = qdisc_backlog_packets(q) - (uint32_t)(tail - head);
		}
		struct qpkt *p = deq(q, now, drops);
		if (!p)
			continue;
		if (p->user == 1) {
			int waited = (int)(deq_n - arrived_at[head++ % 64]);
			if (waited > worst)
				worst = waited;
		}
		deq_n++;
		pkt_free(p);
	}
	assert_int_equal(head, tail);
	*min_bulk_backlog = minb;
	*sparse_drops = drops[1];
	return worst;
}

static void test_sfq_isolation(void **state)
{
	struct qdisc *q = mkq(QK_SFQ, NULL);
	uint32_t minb;
	uint64_t sdrops;
	/* 12 s at 1 ms a packet: two re-hashes on the way. */
	int worst = sparse_vs_bulk(q, 12000, 20, MS, &minb, &sdrops);
	assert_true(worst <= 2);
	assert_int_equal(sdrops, 0);
	assert_true(minb >= 120); /* the bulk flow keeps the queue full (127) */
	assert_true(qdisc_backlog_packets(q) <= 127);
	drain_and_destroy(q);
}

static void test_sfq_perturb_keeps_order(void **state)
{
	struct qdisc *q = mkq(QK_SFQ, NULL);
	uint32_t seq[40] = { 0 }, got[40] = { 0 };
	uint64_t now = 0;
	size_t out = 0, in = 0;

	for (int round = 0; round < 6; round++) {
		for (uint32_t f = 0; f < 40 && qdisc_backlog_packets(q) < 120; f++) {
			struct qpkt *p = pkt(200 + f, 0x1000u * f + 7, f);
			p->frame = (void *)(uintptr_t)seq[f]++;
			assert_true(enq(q, p, now, NULL));
			in++;
		}
		/* Take a few out, then jump past the perturbation period. */
		for (int k = 0; k < 30; k++) {
			struct qpkt *p = deq(q, now, NULL);
			assert_non_null(p);
			assert_int_equal((uint32_t)(uintptr_t)p->frame, got[p->user]++);
			pkt_free(p);
			out++;
		}
		now += 6 * SEC;
	}
	struct qpkt *p;
	while ((p = deq(q, now, NULL))) {
		assert_int_equal((uint32_t)(uintptr_t)p->frame, got[p->user]++);
		pkt_free(p);
		out++;
	}
	assert_int_equal(in, out);
	drain_and_destroy(q);
}

/* ---- fq-codel, codel ---- */

static void cake_flowblind(struct qdisc_cfg *c)
{
	c->cake_flowmode = CAKE_FM_FLOWBLIND;
}

/* A bulk flow arriving twice as fast as the queue drains, a sparse flow
 * every 10 ms; the sparse packets' worst wait (ms) and how many were lost. */
static uint64_t sparse_wait_ms(struct qdisc *q, uint64_t *sparse_lost)
{
	uint64_t drops[2] = { 0, 0 }, worst = 0;

	for (uint64_t t = 0; t < 5000; t++) {
		uint64_t now = t * MS;
		enq(q, pkt(1514, 0xB01C0001u, 0), now, drops);
		enq(q, pkt(1514, 0xB01C0001u, 0), now, drops);
		if (t > 500 && t % 10 == 0)
			enq(q, pkt(100, 0x5A5E0002u, 1), now, drops);
		struct qpkt *p = deq(q, now, drops);
		if (!p)
			continue;
		if (p->user == 1 && now - p->enq_ts > worst)
			worst = now - p->enq_ts;
		pkt_free(p);
	}
	*sparse_lost = drops[1];
	return worst / MS;
}

/* cake's flow isolation: a sparse flow beside a bulk one in the same tin
 * goes almost at once; flowblind, it waits behind the bulk backlog (or is
 * dropped with it). */
static void test_cake_flow_isolation(void **state)
{
	uint64_t lost_iso, lost_blind;
	struct qdisc *q = mkq(QK_CAKE, NULL);
	uint64_t isolated = sparse_wait_ms(q, &lost_iso);
	drain_and_destroy(q);
	q = mkq(QK_CAKE, cake_flowblind);
	uint64_t blind = sparse_wait_ms(q, &lost_blind);
	drain_and_destroy(q);
	print_message("sparse flow: worst wait %llu ms, %llu lost isolated; %llu ms, %llu lost "
		      "flowblind\n", (unsigned long long)isolated, (unsigned long long)lost_iso,
		      (unsigned long long)blind, (unsigned long long)lost_blind);
	assert_true(isolated <= 1);
	assert_int_equal(lost_iso, 0);
	assert_true(blind >= 5 || lost_blind > 0);
}

/* Host fairness. Host A (10.0.0.1) runs 8 bulk flows, host B (10.0.0.2)
 * one; each flow keeps 20 packets queued while the queue drains at 10M
 * for 10 s. The share of the bytes that A got. Flows go to 10.9.0.1, or
 * (spread) A's flow i to 10.9.0.(i+1) and B's to 10.9.0.100; with swap
 * the hosts are the destinations and the far ends the sources. */
static double cake_share_of_a(uint8_t mode, bool spread, bool swap)
{
	struct qdisc_cfg cfg;
	qdisc_cfg_default(&cfg, QK_CAKE);
	cfg.cake_tins = 1;
	cfg.cake_flowmode = mode;
	struct qdisc *q = qdisc_create(&cfg, 42);
	assert_non_null(q);
	uint32_t outstanding[9] = { 0 };
	uint64_t bytes[9] = { 0 }, now = 0, end = 10 * SEC;

	while (now < end) {
		for (uint32_t u = 0; u < 9; u++)
			for (; outstanding[u] < 20; outstanding[u]++) {
				struct qpkt *p = pkt(1514, 0x1000u + u * 0x9e3779b9u, u);
				uint32_t host = u < 8 ? 0x0a000001u : 0x0a000002u;
				uint32_t far = !spread ? 0x0a090001u : u < 8 ? 0x0a090001u + u : 0x0a090064u;
				p->src = swap ? far : host;
				p->dst = swap ? host : far;
				p->sport = (uint16_t)(40000 + u);
				p->dport = 443;
				if (!enq(q, p, now, NULL))
					break;
			}
		struct qpkt *p = deq(q, now, NULL);
		if (!p) {
			now += 100000;
			continue;
		}
		bytes[p->user] += p->len;
		outstanding[p->user]--;
		now += (uint64_t)p->len * 8 * SEC / 10000000;
		pkt_free(p);
	}
	uint64_t a = 0;
	for (uint32_t u = 0; u < 8; u++)
		a += bytes[u];
	drain_and_destroy(q);
	return (double)a / (double)(a + bytes[8]);
}

/* cake-flowmode: per flow, A's 8 flows take 8/9; the host modes give A and
 * B half each (dual-srchost by source, dual-dsthost by destination,
 * triple-isolate when the other ends differ, srchost/dsthost/hosts by
 * making one queue of a host); triple-isolate with everything going to one
 * destination is per flow again, as in CAKE (that host's load counts all 9). */
static void test_cake_flowmodes(void **state)
{
	static const struct {
		const char *what;
		uint8_t mode;
		bool spread, swap;
		double want;
	} cases[] = {
		{ "flows", CAKE_FM_FLOWS, false, false, 8.0 / 9 },
		{ "dual-srchost", CAKE_FM_DUAL_SRCHOST, false, false, 0.5 },
		{ "dual-srchost, other ends apart", CAKE_FM_DUAL_SRCHOST, true, false, 0.5 },
		{ "dual-srchost on destination hosts", CAKE_FM_DUAL_SRCHOST, false, true, 8.0 / 9 },
		{ "dual-dsthost", CAKE_FM_DUAL_DSTHOST, false, true, 0.5 },
		{ "dual-dsthost on source hosts", CAKE_FM_DUAL_DSTHOST, false, false, 8.0 / 9 },
		{ "triple-isolate, other ends apart", CAKE_FM_TRIPLE_ISOLATE, true, false, 0.5 },
		{ "triple-isolate, other ends apart, swapped", CAKE_FM_TRIPLE_ISOLATE, true, true, 0.5 },
		{ "triple-isolate, one far end", CAKE_FM_TRIPLE_ISOLATE, false, false, 8.0 / 9 },
		{ "srchost", CAKE_FM_SRCHOST, false, false, 0.5 },
		{ "dsthost", CAKE_FM_DSTHOST, false, true, 0.5 },
		{ "hosts", CAKE_FM_HOSTS, false, false, 0.5 },
		{ "hosts, other ends apart", CAKE_FM_HOSTS, true, false, 8.0 / 9 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		double a = cake_share_of_a(cases[i].mode, cases[i].spread, cases[i].swap);
		if (fabs(a - cases[i].want) > 0.025)
			fail_msg("cake %s: host A got %.3f of the bytes, want %.3f", cases[i].what, a,
				 cases[i].want);
	}
}

static void test_fq_codel_isolation(void **state)
{
	struct qdisc *q = mkq(QK_FQ_CODEL, NULL);
	uint32_t minb;
	uint64_t sdrops;
	int worst = sparse_vs_bulk(q, 5000, 10, MS, &minb, &sdrops);
	assert_true(worst <= 2);
	assert_int_equal(sdrops, 0);
	drain_and_destroy(q);
}

struct codel_run {
	uint64_t first_drop;     /* ns, 0 = none */
	uint64_t first_mark;
	uint64_t drops, marks;
	uint64_t max_late_sojourn; /* worst sojourn over the last 5 s */
	uint64_t late_sojourn_sum, late_n;
};

/* One flow offered at 1.1x the link (1 ms a packet), for `secs` seconds. */
static void codel_overload(struct qdisc *q, int secs, uint8_t ecn, bool peek,
			   struct codel_run *r)
{
	uint64_t end = (uint64_t)secs * SEC, next_arrival = 0;
	memset(r, 0, sizeof(*r));
	for (uint64_t now = 0; now < end; now += MS) {
		while (next_arrival <= now) {
			struct qpkt *p = pkt(1514, 0xC0DE, 0);
			p->ecn = ecn;
			enq(q, p, next_arrival, NULL);
			next_arrival += MS * 10 / 11;
		}
		struct qpkt *dl = NULL, *p;
		if (peek)
			qdisc_peek_len(q, now);
		p = qdisc_dequeue(q, now, &dl);
		size_t n = drop_list(dl, NULL);
		if (n && !r->first_drop)
			r->first_drop = now;
		r->drops += n;
		if (!p)
			continue;
		if (p->ecn == 3) {
			if (!r->first_mark)
				r->first_mark = now;
			r->marks++;
		}
		if (now >= end - 5 * SEC) {
			uint64_t s = now - p->enq_ts;
			if (s > r->max_late_sojourn)
				r->max_late_sojourn = s;
			r->late_sojourn_sum += s;
			r->late_n++;
		}
		pkt_free(p);
	}
}

static void test_codel_drops(void **state)
{
	struct codel_run r;
	struct qdisc *q = mkq(QK_CODEL, NULL);

	codel_overload(q, 30, 0, false, &r);
	/* The sojourn passes 5 ms after ~55 ms; the first drop comes one
	 * interval (100 ms) later. */
	assert_true(r.first_drop >= 150 * MS && r.first_drop <= 180 * MS);
	assert_int_equal(r.marks, 0);
	assert_true(r.drops > 1000); /* ~1/11 of 30000 offered must go */
	/* Without CoDel the excess would have built 2.7 s of queue. */
	assert_true(r.late_sojourn_sum / r.late_n < 40 * MS);
	assert_true(r.max_late_sojourn < 150 * MS);
	drain_and_destroy(q);

	/* Same through peek_len: drops made while peeking come back later. */
	q = mkq(QK_CODEL, NULL);
	codel_overload(q, 30, 0, true, &r);
	assert_true(r.first_drop >= 150 * MS && r.first_drop <= 180 * MS);
	assert_true(r.late_sojourn_sum / r.late_n < 40 * MS);
	drain_and_destroy(q);

	/* fq-codel behaves the same for a single flow. */
	q = mkq(QK_FQ_CODEL, NULL);
	codel_overload(q, 30, 0, false, &r);
	assert_true(r.first_drop >= 150 * MS && r.first_drop <= 180 * MS);
	assert_true(r.late_sojourn_sum / r.late_n < 40 * MS);
	drain_and_destroy(q);
}

static void test_codel_ecn(void **state)
{
	struct codel_run r;
	struct qdisc *q = mkq(QK_FQ_CODEL, NULL); /* ecn yes by default */

	codel_overload(q, 2, 1, false, &r);
	assert_int_equal(r.drops, 0);
	assert_true(r.marks > 0);
	assert_true(r.first_mark >= 150 * MS && r.first_mark <= 180 * MS);
	drain_and_destroy(q);

	/* Not-ECT packets are dropped even with ecn on. */
	q = mkq(QK_FQ_CODEL, NULL);
	codel_overload(q, 2, 0, false, &r);
	assert_true(r.drops > 0);
	assert_int_equal(r.marks, 0);
	drain_and_destroy(q);
}

static void fq_small_limit(struct qdisc_cfg *c)
{
	c->fq_limit = 100;
}

static void test_fq_codel_limit(void **state)
{
	struct qdisc *q = mkq(QK_FQ_CODEL, fq_small_limit);
	uint64_t drops[2] = { 0, 0 };

	for (int i = 0; i < 95; i++)
		enq(q, pkt(1514, 1, 0), 0, drops);
	for (int i = 0; i < 10; i++)
		assert_true(enq(q, pkt(100, 2, 1), 0, drops));
	/* The fat flow paid for the overflow, the thin one lost nothing. */
	assert_true(drops[0] > 0);
	assert_int_equal(drops[1], 0);
	assert_true(qdisc_backlog_packets(q) <= 100);
	drain_and_destroy(q);
}

/* ---- red ---- */

/* Holds the queue at exactly `len` packets (one out for each one in) and
 * returns the fraction of arrivals dropped once the average has settled. */
static double red_drop_fraction(uint32_t len, uint32_t *held)
{
	struct qdisc *q = mkq(QK_RED, NULL);
	uint64_t drops = 0, tries = 0;
	struct qpkt *p;

	for (int i = 0; i < 100000 && qdisc_backlog_packets(q) < len; i++)
		enq(q, pkt(1000, 0, 0), 0, NULL);
	/* Above max the average overtakes the filling: hold what got in. */
	*held = qdisc_backlog_packets(q);
	if (*held != len)
		assert_true(len > 50 && *held > 50);
	for (int i = 0; i < 2000; i++)
		if (enq(q, pkt(1000, 0, 0), 0, NULL))
			pkt_free(deq(q, 0, NULL));
	for (int i = 0; i < 40000; i++, tries++) {
		if (enq(q, pkt(1000, 0, 0), 0, NULL))
			pkt_free(deq(q, 0, NULL));
		else
			drops++;
	}
	while ((p = deq(q, 0, NULL)))
		pkt_free(p);
	drain_and_destroy(q);
	return (double)drops / (double)tries;
}

static void test_red_curve(void **state)
{
	/* min 10, max 50: probability (avg - 10) / 40 between them. */
	static const uint32_t lens[] = { 5, 9, 15, 20, 30, 40, 45, 55 };
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint32_t held;
		double got = red_drop_fraction(lens[i], &held);
		double want = ((double)held - 10.0) / 40.0;
		if (want < 0)
			want = 0;
		if (want > 1)
			want = 1;
		if (fabs(got - want) > 0.02)
			fail_msg("red at %u packets: dropped %.4f, want %.4f", held, got, want);
	}
}

static void test_red_limit(void **state)
{
	/* A burst into an empty queue passes: the average lags behind. */
	struct qdisc *q = mkq(QK_RED, NULL);
	int taken = 0;
	for (int i = 0; i < 20; i++)
		taken += enq(q, pkt(1000, 0, 0), 0, NULL);
	assert_int_equal(taken, 20);
	/* And nothing is ever held above the limit. */
	for (int i = 0; i < 1000; i++)
		enq(q, pkt(1000, 0, 0), 0, NULL);
	assert_true(qdisc_backlog_packets(q) <= 60);
	drain_and_destroy(q);
}

/* ---- pcq ---- */

static void pcq_dst(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
}

static struct qpkt *user_pkt(uint32_t u, uint32_t len)
{
	struct qpkt *p = pkt(len, 0, u);
	p->dst = 0x0a000000u + u; /* 10.0.0.u */
	p->src = 0xc0a80001u;
	return p;
}

/* Drains at `link` bit/s while every user keeps `depth` packets waiting;
 * returns the bytes each user got during [0, secs). */
static void pcq_run(struct qdisc *q, uint32_t n, const uint32_t *lens, uint64_t link,
		    double secs, uint64_t *bytes, uint32_t depth)
{
	uint32_t outstanding[64] = { 0 };
	uint64_t now = 0, end = (uint64_t)(secs * (double)SEC);

	while (now < end) {
		for (uint32_t u = 0; u < n; u++)
			while (outstanding[u] < depth && enq(q, user_pkt(u, lens[u]), now, NULL))
				outstanding[u]++;
		uint32_t len = qdisc_peek_len(q, now);
		if (!len) {
			now += 100000; /* nothing may go yet: 100 us later */
			continue;
		}
		struct qpkt *p = deq(q, now, NULL);
		assert_non_null(p);
		assert_int_equal(p->len, len);
		bytes[p->user] += p->len;
		outstanding[p->user]--;
		now += (uint64_t)p->len * 8 * SEC / link;
		pkt_free(p);
	}
}

static void pcq_equal(uint32_t n)
{
	struct qdisc *q = mkq(QK_PCQ, pcq_dst);
	uint64_t bytes[64] = { 0 }, sum = 0;
	uint32_t lens[64];

	for (uint32_t u = 0; u < n; u++)
		lens[u] = 64 + (u * 397) % 1450; /* unequal packet sizes */
	pcq_run(q, n, lens, 10000000, 20.0, bytes, 20);
	for (uint32_t u = 0; u < n; u++)
		sum += bytes[u];
	double mean = (double)sum / n;
	for (uint32_t u = 0; u < n; u++)
		if (fabs((double)bytes[u] - mean) > 0.05 * mean)
			fail_msg("pcq %u users: user %u got %llu bytes, mean %.0f", n, u,
				 (unsigned long long)bytes[u], mean);
	/* The link stayed busy. */
	assert_true((double)sum * 8 / 20.0 > 0.99 * 10000000);
	drain_and_destroy(q);
}

static void test_pcq_equal_share(void **state)
{
	pcq_equal(4);
	pcq_equal(16);
}

static void pcq_dst24_1m(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
	c->pcq_dst_mask = 24;
	c->pcq_rate = 1000000;
}

/* Address masks: the hosts of one /24 are one sub-queue, so they share
 * one pcq-rate; another /24 has its own. */
static void test_pcq_masks(void **state)
{
	static const uint32_t dst[3] = { 0x0a000001u, 0x0a000002u, 0x0a000101u };
	struct qdisc *q = mkq(QK_PCQ, pcq_dst24_1m);
	uint64_t bytes[3] = { 0 };
	uint32_t outstanding[3] = { 0 };

	for (uint64_t now = 0; now < 10 * SEC; now += 100000) {
		for (uint32_t u = 0; u < 3; u++)
			for (; outstanding[u] < 10; outstanding[u]++) {
				struct qpkt *p = pkt(1000, u, u);
				p->dst = dst[u];
				if (!enq(q, p, now, NULL))
					break;
			}
		struct qpkt *p;
		while ((p = deq(q, now, NULL))) {
			if (now >= 1 * SEC)
				bytes[p->user] += p->len;
			outstanding[p->user]--;
			pkt_free(p);
		}
	}
	double a = (double)bytes[0] * 8 / 9, b = (double)bytes[1] * 8 / 9,
	       c = (double)bytes[2] * 8 / 9;
	if (fabs(a + b - 1e6) > 0.02e6 || fabs(c - 1e6) > 0.02e6 || a < 0.4e6 || b < 0.4e6)
		fail_msg("pcq /24: 10.0.0.1 %.0f + 10.0.0.2 %.0f bit/s (want 1M together), "
			 "10.0.1.1 %.0f (want 1M)", a, b, c);
	drain_and_destroy(q);
}

static void pcq_dst56_1m(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
	c->pcq_dst_mask6 = 56;
	c->pcq_rate = 1000000;
}

/* IPv6 under pcq-dst-address6-mask=56 (a mask inside a 32-bit word): the
 * first two share one pcq-rate, the next /56 has its own, and an IPv4
 * packet whose address equals the IPv6 ones' first word is apart too. */
static void test_pcq_masks6(void **state)
{
	static const char *const dst[4] = { "2001:db8:0:100::1", "2001:db8:0:1ff:ffff::2",
					    "2001:db8:0:200::1", "" };
	struct qdisc *q = mkq(QK_PCQ, pcq_dst56_1m);
	uint64_t bytes[4] = { 0 };
	uint32_t outstanding[4] = { 0 };
	uint8_t a[4][16];

	for (uint32_t u = 0; u < 3; u++)
		assert_int_equal(parse_ip6(dst[u], a[u]), 0);
	for (uint64_t now = 0; now < 10 * SEC; now += 100000) {
		for (uint32_t u = 0; u < 4; u++)
			for (; outstanding[u] < 10; outstanding[u]++) {
				struct qpkt *p = pkt(1000, u, u);
				if (u < 3) {
					p->family = 6;
					memcpy(p->dst6, a[u], 16);
				} else {
					p->dst = 0x20010db8u;
				}
				if (!enq(q, p, now, NULL))
					break;
			}
		struct qpkt *p;
		while ((p = deq(q, now, NULL))) {
			if (now >= 1 * SEC)
				bytes[p->user] += p->len;
			outstanding[p->user]--;
			pkt_free(p);
		}
	}
	double r[4];
	for (uint32_t u = 0; u < 4; u++)
		r[u] = (double)bytes[u] * 8 / 9;
	if (fabs(r[0] + r[1] - 1e6) > 0.02e6 || r[0] < 0.4e6 || r[1] < 0.4e6 ||
	    fabs(r[2] - 1e6) > 0.02e6 || fabs(r[3] - 1e6) > 0.02e6)
		fail_msg("pcq /56: %.0f + %.0f bit/s (want 1M together), other /56 %.0f, "
			 "IPv4 %.0f (want 1M each)", r[0], r[1], r[2], r[3]);
	drain_and_destroy(q);
}

static void pcq_1m(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
	c->pcq_rate = 1000000;
}

static void test_pcq_rate(void **state)
{
	struct qdisc *q = mkq(QK_PCQ, pcq_1m);
	uint64_t bytes[4] = { 0 };
	uint32_t lens[4] = { 1500, 1000, 500, 64 };

	pcq_run(q, 4, lens, 100000000, 10.0, bytes, 20);
	for (uint32_t u = 0; u < 4; u++) {
		double rate = (double)bytes[u] * 8 / 10.0;
		if (fabs(rate - 1e6) > 0.05e6)
			fail_msg("pcq-rate 1M: user %u got %.0f bit/s", u, rate);
	}
	drain_and_destroy(q);
}

static void pcq_burst(struct qdisc_cfg *c)
{
	c->pcq_classifier = 1;
	c->pcq_rate = 1000000;
	c->pcq_burst_rate = 2000000;
	c->pcq_burst_threshold = 1500000;
	c->pcq_burst_time_ns = 10 * SEC;
}

static void test_pcq_burst(void **state)
{
	struct qdisc *q = mkq(QK_PCQ, pcq_burst);
	uint64_t bytes[1] = { 0 };
	uint32_t lens[1] = { 1000 };

	/* Under the threshold for the first seconds: burst-rate. */
	pcq_run(q, 1, lens, 100000000, 5.0, bytes, 20);
	double rate = (double)bytes[0] * 8 / 5.0;
	if (fabs(rate - 2e6) > 0.1e6)
		fail_msg("pcq burst: %.0f bit/s in the first 5 s, want ~2M", rate);
	drain_and_destroy(q);

	/* Long run: the average cannot stay above the threshold. */
	q = mkq(QK_PCQ, pcq_burst);
	bytes[0] = 0;
	pcq_run(q, 1, lens, 100000000, 60.0, bytes, 20);
	rate = (double)bytes[0] * 8 / 60.0;
	if (rate > 1.6e6 || rate < 1.2e6)
		fail_msg("pcq burst: %.0f bit/s over 60 s, want about the 1.5M threshold", rate);
	drain_and_destroy(q);
}

static void pcq_small(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
	c->pcq_limit = 5;
	c->pcq_total_limit = 8;
}

static void test_pcq_limits(void **state)
{
	struct qdisc *q = mkq(QK_PCQ, pcq_small);
	struct qpkt *dl = NULL;

	for (uint32_t i = 0; i < 7; i++)
		assert_int_equal(enq(q, user_pkt(0, 100 + i), 0, NULL), i < 5);
	for (uint32_t i = 0; i < 3; i++)
		assert_true(enq(q, user_pkt(1, 200), 0, NULL));
	assert_int_equal(qdisc_backlog_packets(q), 8);
	/* Total limit: the head of the longest sub-queue (user 0) goes. */
	assert_true(qdisc_enqueue(q, user_pkt(2, 300), 0, &dl));
	assert_non_null(dl);
	assert_null(dl->next);
	assert_int_equal(dl->user, 0);
	assert_int_equal(dl->len, 100);
	drop_list(dl, NULL);
	assert_int_equal(qdisc_backlog_packets(q), 8);
	drain_and_destroy(q);
}

static void pcq_few_slots(struct qdisc_cfg *c)
{
	c->pcq_classifier = 2;
	c->pcq_rate = 500000;
	c->pcq_total_limit = 10;
	c->pcq_limit = 3;
}

static void test_pcq_slot_reuse(void **state)
{
	/* Many more users than slots, shaped: idle buckets are recycled. */
	struct qdisc *q = mkq(QK_PCQ, pcq_few_slots);
	uint64_t now = 0;
	uint64_t got = 0, sent = 0, drops[60] = { 0 }, victims = 0;

	for (int round = 0; round < 2000; round++) {
		for (uint32_t k = 0; k < 3; k++) {
			struct qpkt *dl = NULL, *p = user_pkt((uint32_t)(round * 7 + k) % 60, 500);
			if (qdisc_enqueue(q, p, now, &dl))
				sent++;
			else
				pkt_free(p);
			victims += drop_list(dl, drops);
		}
		struct qpkt *p = deq(q, now, NULL);
		if (p) {
			got++;
			pkt_free(p);
		}
		now += MS;
	}
	assert_true(got > 1000);
	assert_true(qdisc_backlog_packets(q) <= 10);
	assert_int_equal(sent - got - victims, qdisc_backlog_packets(q));
	drain_and_destroy(q);
}

/* ---- cake ---- */

static struct qpkt *dscp_pkt(uint8_t dscp, uint32_t len, uint32_t hash, uint32_t user)
{
	struct qpkt *p = pkt(len, hash, user);
	p->dscp = dscp;
	return p;
}

static void test_cake_voice_ahead(void **state)
{
	struct qdisc *q = mkq(QK_CAKE, NULL);
	long deq_n = 0, voice_at = -1;
	int worst = 0, voices = 0;

	for (int t = 0; t < 3000; t++) {
		uint64_t now = (uint64_t)t * MS;
		/* Bulk (CS1) and best effort keep deep queues. */
		while (qdisc_backlog_packets(q) < 200) {
			enq(q, dscp_pkt(8, 1514, 0x1111u + (uint32_t)(t % 4), 0), now, NULL);
			enq(q, dscp_pkt(0, 1514, 0x2222u + (uint32_t)(t % 4), 1), now, NULL);
		}
		if (t % 10 == 0 && voice_at < 0) {
			assert_true(enq(q, dscp_pkt(46, 200, 0x3333u, 2), now, NULL));
			voice_at = deq_n;
		}
		struct qpkt *p = deq(q, now, NULL);
		if (!p)
			continue;
		if (p->user == 2) {
			int waited = (int)(deq_n - voice_at);
			if (waited > worst)
				worst = waited;
			voice_at = -1;
			voices++;
		}
		deq_n++;
		pkt_free(p);
	}
	assert_true(voices >= 290);
	assert_true(worst <= 1);
	drain_and_destroy(q);
}

/* Two saturating classes; returns the byte share of the first. */
static double cake_share(enum qdisc_kind kind, void (*tweak)(struct qdisc_cfg *), uint8_t a,
			 uint8_t b, uint64_t poll_ns, uint64_t secs, uint64_t *total)
{
	struct qdisc *q = mkq(kind, tweak);
	uint64_t bytes[2] = { 0, 0 }, sent[2] = { 0, 0 }, got[2] = { 0, 0 }, lost[2] = { 0, 0 };
	uint64_t end = secs * SEC;
	const uint8_t dscp[2] = { a, b };

	for (uint64_t now = 0; now < end; now += poll_ns) {
		/* Each class keeps its own 50 packets waiting, drops or not. */
		for (int k = 0; k < 2; k++)
			for (; sent[k] - got[k] - lost[k] < 50; sent[k]++)
				enq(q, dscp_pkt(dscp[k], 1514, 0xAAAAu + (uint32_t)k, (uint32_t)k),
				    now, lost);
		struct qpkt *p;
		while ((p = deq(q, now, lost))) {
			got[p->user]++;
			bytes[p->user] += p->len;
			pkt_free(p);
			if (poll_ns == MS)
				break; /* unshaped: one packet per poll is the link */
		}
	}
	drain_and_destroy(q);
	if (total)
		*total = bytes[0] + bytes[1];
	return (double)bytes[0] / (double)(bytes[0] + bytes[1]);
}

static void cake_shaped(struct qdisc_cfg *c)
{
	c->cake_bandwidth = 10000000;
}

static void cake_diffserv4(struct qdisc_cfg *c)
{
	c->cake_tins = 4;
}

static void cake_besteffort(struct qdisc_cfg *c)
{
	c->cake_tins = 1;
}

static void test_cake_tin_shares(void **state)
{
	/* Two saturating classes against each other, unshaped: the first's
	 * byte share, within 0.02 (0.0075 for bulk's 1/16). */
	static const struct {
		const char *what;
		void (*mode)(struct qdisc_cfg *);
		uint8_t a, b;
		double want, tol;
	} cases[] = {
		{ "voice against best effort: its priority ends at 1/4", NULL, 46, 0, 0.25, 0.02 },
		{ "bulk against best effort: kept at 1/16, not starved", NULL, 8, 0, 0.0625, 0.0075 },
		{ "diffserv3 has no video tin: AF41 is best effort", NULL, 34, 0, 0.5, 0.02 },
		{ "diffserv4 video (AF41) against best effort", cake_diffserv4, 34, 0, 0.5, 0.03 },
		{ "diffserv4 voice (EF) against best effort", cake_diffserv4, 46, 0, 0.25, 0.02 },
		{ "diffserv4 bulk (CS1) against best effort", cake_diffserv4, 8, 0, 0.0625, 0.0075 },
		{ "besteffort: one tin, two flows share equally", cake_besteffort, 46, 0, 0.5, 0.02 },
	};
	uint64_t total;
	double s;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		s = cake_share(QK_CAKE, cases[k].mode, cases[k].a, cases[k].b, MS, 10, NULL);
		if (fabs(s - cases[k].want) > cases[k].tol)
			fail_msg("cake, %s: share %.3f, want %.4f", cases[k].what, s, cases[k].want);
	}
	/* Shaped at 10M, polled every 50 us: the rate holds and so do shares. */
	s = cake_share(QK_CAKE, cake_shaped, 46, 0, 50000, 5, &total);
	double rate = (double)total * 8 / 5.0;
	if (fabs(rate - 1e7) > 0.02e7)
		fail_msg("cake shaped at 10M sent %.0f bit/s", rate);
	if (s < 0.23 || s > 0.27)
		fail_msg("cake shaped voice share %.3f, want ~0.25", s);
}

static void test_cake_shaper_peek(void **state)
{
	struct qdisc *q = mkq(QK_CAKE, cake_shaped);

	for (int i = 0; i < 10; i++)
		enq(q, dscp_pkt(0, 1250, 7, 0), 0, NULL);
	assert_int_equal(qdisc_peek_len(q, 0), 1250);
	pkt_free(deq(q, 0, NULL));
	/* 1250 bytes at 10M is 1 ms: nothing may go before. */
	assert_int_equal(qdisc_peek_len(q, 500000), 0);
	assert_null(deq(q, 999000, NULL));
	assert_int_equal(qdisc_peek_len(q, MS), 1250);
	assert_int_equal(qdisc_backlog_packets(q), 9);
	struct qpkt *p = deq(q, MS, NULL);
	assert_non_null(p);
	pkt_free(p);
	drain_and_destroy(q);
}

/* HTB may peek with the time of its last checkpoint, earlier than the
 * last enqueue: that must neither count as a long sojourn nor refill. */
static void test_time_backwards(void **state)
{
	struct qdisc *q = mkq(QK_CODEL, NULL);
	struct qpkt *dl = NULL;
	for (int i = 0; i < 100; i++)
		enq(q, pkt(1514, 1, 0), 10 * SEC, NULL);
	for (int i = 0; i < 100; i++) {
		struct qpkt *p = qdisc_dequeue(q, 5 * SEC + (uint64_t)i, &dl);
		assert_non_null(p);
		pkt_free(p);
	}
	assert_null(dl);
	drain_and_destroy(q);

	q = mkq(QK_PCQ, pcq_1m);
	uint64_t bytes = 0;
	for (int i = 0; i < 40; i++)
		enq(q, user_pkt(0, 1250), 10 * SEC, NULL);
	/* A full 0.1 s bucket (12500 bytes) and no more, earlier times or not. */
	for (uint64_t t = 10 * SEC; t > 9 * SEC; t -= 100 * MS) {
		struct qpkt *p = deq(q, t, NULL);
		if (p) {
			bytes += p->len;
			pkt_free(p);
		}
	}
	assert_true(bytes <= 12500);
	drain_and_destroy(q);
}

/* ---- configuration from the store ---- */

struct fixture {
	struct store *st;
	struct conf_session s;
};

static int setup_store(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct err e;
	live = 0;
	err_clear(&e);
	if (store_open(&f->st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&f->s, f->st, "tester");
	if (conf_store_init(&f->s, false, &e) < 0)
		fail_msg("conf_store_init: %s", e.msg);
	*state = f;
	return 0;
}

static int teardown_store(void **state)
{
	struct fixture *f = *state;
	conf_session_free(&f->s);
	store_close(f->st);
	free(f);
	return 0;
}

static void run(struct fixture *f, const char *text)
{
	struct err e;
	err_clear(&e);
	if (conf_exec(&f->s, text, NULL, &e) < 0)
		fail_msg("%s: %s", text, e.msg);
}

static void test_cfg_builtins(void **state)
{
	struct fixture *f = *state;
	struct qdisc_cfg c;

	assert_int_equal(qdisc_cfg_from_store(f->st, "default", &c), 0);
	assert_int_equal(c.kind, QK_PFIFO);
	assert_int_equal(c.pfifo_limit, 50);
	assert_int_equal(qdisc_cfg_from_store(f->st, "ethernet-default", &c), 0);
	assert_int_equal(c.kind, QK_PFIFO);
	assert_int_equal(c.pfifo_limit, 50);
	assert_int_equal(qdisc_cfg_from_store(f->st, "default-small", &c), 0);
	assert_int_equal(c.kind, QK_PFIFO);
	assert_int_equal(c.pfifo_limit, 10);
	assert_int_equal(qdisc_cfg_from_store(f->st, "wireless-default", &c), 0);
	assert_int_equal(c.kind, QK_SFQ);
	assert_int_equal(c.sfq_perturb, 5);
	assert_int_equal(c.sfq_allot, 1514);
	assert_int_equal(qdisc_cfg_from_store(f->st, "hotspot-default", &c), 0);
	assert_int_equal(c.kind, QK_SFQ);
	assert_int_equal(qdisc_cfg_from_store(f->st, "synchronous-default", &c), 0);
	assert_int_equal(c.kind, QK_RED);
	assert_int_equal(c.red_limit, 60);
	assert_int_equal(c.red_min, 10);
	assert_int_equal(c.red_max, 50);
	assert_int_equal(c.red_burst, 20);
	assert_int_equal(c.red_avg_packet, 1000);
	assert_int_equal(qdisc_cfg_from_store(f->st, "pcq-upload-default", &c), 0);
	assert_int_equal(c.kind, QK_PCQ);
	assert_int_equal(c.pcq_classifier, 1);
	assert_int_equal(c.pcq_rate, 0);
	assert_int_equal(c.pcq_limit, 50);
	assert_int_equal(c.pcq_total_limit, 2000);
	assert_int_equal(c.pcq_src_mask, 32);
	assert_int_equal(c.pcq_dst_mask, 32);
	assert_int_equal(c.pcq_src_mask6, 128);
	assert_int_equal(c.pcq_dst_mask6, 128);
	assert_int_equal(c.pcq_burst_time_ns, 10 * SEC);
	assert_int_equal(qdisc_cfg_from_store(f->st, "pcq-download-default", &c), 0);
	assert_int_equal(c.pcq_classifier, 2);
	assert_int_equal(qdisc_cfg_from_store(f->st, "only-hardware-queue", &c), 0);
	assert_int_equal(c.kind, QK_NONE);
	assert_true(c.pfifo_limit >= 1000);
	assert_int_equal(qdisc_cfg_from_store(f->st, "multi-queue-ethernet-default", &c), 0);
	assert_int_equal(c.kind, QK_MQ_PFIFO);
	assert_int_equal(c.pfifo_limit, 50);
	assert_int_equal(qdisc_cfg_from_store(f->st, "no-such-type", &c), -1);

	/* Every built-in makes a working queue. */
	static const char *const names[] = { "default", "ethernet-default", "wireless-default",
		"synchronous-default", "hotspot-default", "pcq-upload-default",
		"pcq-download-default", "only-hardware-queue", "multi-queue-ethernet-default",
		"default-small" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(qdisc_cfg_from_store(f->st, names[i], &c), 0);
		struct qdisc *q = qdisc_create(&c, 1);
		assert_non_null(q);
		assert_true(enq(q, user_pkt(1, 100), 0, NULL));
		drain_and_destroy(q);
	}
}

static void test_cfg_user_types(void **state)
{
	struct fixture *f = *state;
	struct qdisc_cfg c;

	run(f, "/queue type add name=users kind=pcq pcq-rate=2M pcq-limit=40 pcq-total-limit=500 "
	       "pcq-classifier=dst-address,dst-port pcq-dst-address-mask=24 pcq-burst-rate=4M "
	       "pcq-burst-threshold=3M pcq-burst-time=20s pcq-dst-address6-mask=64");
	assert_int_equal(qdisc_cfg_from_store(f->st, "users", &c), 0);
	assert_int_equal(c.kind, QK_PCQ);
	assert_int_equal(c.pcq_rate, 2000000);
	assert_int_equal(c.pcq_limit, 40);
	assert_int_equal(c.pcq_total_limit, 500);
	assert_int_equal(c.pcq_classifier, 2 | 8);
	assert_int_equal(c.pcq_dst_mask, 24);
	assert_int_equal(c.pcq_src_mask, 32);
	assert_int_equal(c.pcq_dst_mask6, 64);
	assert_int_equal(c.pcq_src_mask6, 128);
	assert_int_equal(c.pcq_burst_rate, 4000000);
	assert_int_equal(c.pcq_burst_threshold, 3000000);
	assert_int_equal(c.pcq_burst_time_ns, 20 * SEC);

	run(f, "/queue type add name=fq kind=fq-codel fq-codel-flows=256 fq-codel-limit=2000 "
	       "fq-codel-quantum=300 fq-codel-target=10ms fq-codel-interval=200ms fq-codel-ecn=no");
	assert_int_equal(qdisc_cfg_from_store(f->st, "fq", &c), 0);
	assert_int_equal(c.kind, QK_FQ_CODEL);
	assert_int_equal(c.fq_flows, 256);
	assert_int_equal(c.fq_limit, 2000);
	assert_int_equal(c.fq_quantum, 300);
	assert_int_equal(c.fq_target_ns, 10 * MS);
	assert_int_equal(c.fq_interval_ns, 200 * MS);
	assert_false(c.fq_ecn);

	run(f, "/queue type add name=fqd kind=fq-codel");
	assert_int_equal(qdisc_cfg_from_store(f->st, "fqd", &c), 0);
	assert_int_equal(c.fq_flows, 1024);
	assert_int_equal(c.fq_limit, 10240);
	assert_int_equal(c.fq_quantum, 1514);
	assert_int_equal(c.fq_target_ns, 5 * MS);
	assert_int_equal(c.fq_interval_ns, 100 * MS);
	assert_true(c.fq_ecn);

	run(f, "/queue type add name=cd kind=codel codel-limit=500 codel-target=3ms "
	       "codel-interval=50ms codel-ecn=yes");
	assert_int_equal(qdisc_cfg_from_store(f->st, "cd", &c), 0);
	assert_int_equal(c.kind, QK_CODEL);
	assert_int_equal(c.fq_limit, 500);
	assert_int_equal(c.fq_target_ns, 3 * MS);
	assert_int_equal(c.fq_interval_ns, 50 * MS);
	assert_true(c.fq_ecn);

	run(f, "/queue type add name=ck kind=cake cake-bandwidth=50M cake-diffserv=diffserv4 "
	       "cake-flowmode=flowblind cake-rtt=40ms");
	assert_int_equal(qdisc_cfg_from_store(f->st, "ck", &c), 0);
	assert_int_equal(c.kind, QK_CAKE);
	assert_int_equal(c.cake_bandwidth, 50000000);
	assert_int_equal(c.cake_tins, 4);
	assert_int_equal(c.cake_flowmode, CAKE_FM_FLOWBLIND);
	assert_int_equal(c.fq_interval_ns, 40 * MS);
	assert_int_equal(c.fq_target_ns, 2 * MS);

	run(f, "/queue type add name=ckd kind=cake");
	assert_int_equal(qdisc_cfg_from_store(f->st, "ckd", &c), 0);
	assert_int_equal(c.cake_bandwidth, 0);
	assert_int_equal(c.cake_tins, 3);
	assert_int_equal(c.cake_flowmode, CAKE_FM_TRIPLE_ISOLATE);
	assert_int_equal(c.fq_target_ns, 5 * MS);

	/* every flow mode by its RouterOS name */
	static const char *const modes[] = { "flowblind", "srchost", "dsthost", "hosts", "flows",
					     "dual-srchost", "dual-dsthost", "triple-isolate" };
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		char cmd[128], name[16];
		snprintf(name, sizeof(name), "ck%zu", i);
		snprintf(cmd, sizeof(cmd), "/queue type add name=%s kind=cake cake-flowmode=%s",
			 name, modes[i]);
		run(f, cmd);
		assert_int_equal(qdisc_cfg_from_store(f->st, name, &c), 0);
		assert_int_equal(c.cake_flowmode, i);
		struct qdisc *q = qdisc_create(&c, 1);
		assert_non_null(q);
		assert_true(enq(q, user_pkt(1, 100), 0, NULL));
		drain_and_destroy(q);
	}

	run(f, "/queue type add name=r kind=red red-min-threshold=5 red-max-threshold=20 "
	       "red-limit=30 red-burst=8");
	assert_int_equal(qdisc_cfg_from_store(f->st, "r", &c), 0);
	assert_int_equal(c.kind, QK_RED);
	assert_int_equal(c.red_min, 5);
	assert_int_equal(c.red_max, 20);
	assert_int_equal(c.red_limit, 30);
	assert_int_equal(c.red_burst, 8);

	run(f, "/queue type add name=b kind=bfifo bfifo-limit=30000");
	assert_int_equal(qdisc_cfg_from_store(f->st, "b", &c), 0);
	assert_int_equal(c.kind, QK_BFIFO);
	assert_int_equal(c.bfifo_limit, 30000);

	run(f, "/queue type add name=m kind=mq-pfifo mq-pfifo-limit=200");
	assert_int_equal(qdisc_cfg_from_store(f->st, "m", &c), 0);
	assert_int_equal(c.kind, QK_MQ_PFIFO);
	assert_int_equal(c.pfifo_limit, 200);

	run(f, "/queue type add name=s kind=sfq sfq-perturb=10 sfq-allot=3000");
	assert_int_equal(qdisc_cfg_from_store(f->st, "s", &c), 0);
	assert_int_equal(c.sfq_perturb, 10);
	assert_int_equal(c.sfq_allot, 3000);

	static const char *const names[] = { "users", "fq", "cd", "ck", "ckd", "r", "b", "m", "s" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		assert_int_equal(qdisc_cfg_from_store(f->st, names[i], &c), 0);
		struct qdisc *q = qdisc_create(&c, 1);
		assert_non_null(q);
		assert_true(enq(q, user_pkt(1, 100), 0, NULL));
		drain_and_destroy(q);
	}
}

static void test_defaults(void **state)
{
	struct qdisc_cfg c;

	qdisc_cfg_default(&c, QK_FQ_CODEL);
	assert_int_equal(c.fq_flows, 1024);
	assert_int_equal(c.fq_limit, 10240);
	assert_int_equal(c.fq_quantum, 1514);
	assert_int_equal(c.fq_target_ns, 5 * MS);
	assert_int_equal(c.fq_interval_ns, 100 * MS);
	assert_true(c.fq_ecn);
	qdisc_cfg_default(&c, QK_CAKE);
	assert_int_equal(c.cake_bandwidth, 0);
	assert_int_equal(c.cake_tins, 3);
	assert_int_equal(c.cake_flowmode, CAKE_FM_TRIPLE_ISOLATE);
	qdisc_cfg_default(&c, QK_BFIFO);
	assert_int_equal(c.bfifo_limit, 15000);
	qdisc_cfg_default(&c, QK_PCQ);
	assert_int_equal(c.pcq_limit, 50);
	assert_int_equal(c.pcq_total_limit, 2000);
	assert_int_equal(c.pcq_src_mask, 32);
	assert_int_equal(c.pcq_dst_mask, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_fifos, reset_live),
		cmocka_unit_test_setup(test_defaults, reset_live),
		cmocka_unit_test_setup(test_sfq_isolation, reset_live),
		cmocka_unit_test_setup(test_sfq_perturb_keeps_order, reset_live),
		cmocka_unit_test_setup(test_fq_codel_isolation, reset_live),
		cmocka_unit_test_setup(test_cake_flow_isolation, reset_live),
		cmocka_unit_test_setup(test_cake_flowmodes, reset_live),
		cmocka_unit_test_setup(test_fq_codel_limit, reset_live),
		cmocka_unit_test_setup(test_codel_drops, reset_live),
		cmocka_unit_test_setup(test_codel_ecn, reset_live),
		cmocka_unit_test_setup(test_red_curve, reset_live),
		cmocka_unit_test_setup(test_red_limit, reset_live),
		cmocka_unit_test_setup(test_pcq_equal_share, reset_live),
		cmocka_unit_test_setup(test_pcq_rate, reset_live),
		cmocka_unit_test_setup(test_pcq_masks, reset_live),
		cmocka_unit_test_setup(test_pcq_masks6, reset_live),
		cmocka_unit_test_setup(test_pcq_burst, reset_live),
		cmocka_unit_test_setup(test_pcq_limits, reset_live),
		cmocka_unit_test_setup(test_pcq_slot_reuse, reset_live),
		cmocka_unit_test_setup(test_cake_voice_ahead, reset_live),
		cmocka_unit_test_setup(test_cake_tin_shares, reset_live),
		cmocka_unit_test_setup(test_cake_shaper_peek, reset_live),
		cmocka_unit_test_setup(test_time_backwards, reset_live),
		cmocka_unit_test_setup_teardown(test_cfg_builtins, setup_store, teardown_store),
		cmocka_unit_test_setup_teardown(test_cfg_user_types, setup_store, teardown_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
