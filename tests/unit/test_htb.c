/*
 * htb: RouterOS's documented queue-tree examples and the scheduler's
 * properties, in virtual time. The simulation keeps every loaded leaf's
 * queue full (overload), dequeues at each htb_next_event, and counts the
 * bytes each leaf delivers over a window (10 s after a 1 s warm-up).
 */
#include "qos_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qos/htb.h"

#define PKT 1500u
#define QLIMIT 20u

static struct htb_class_cfg cls(int parent, uint64_t limit_at, uint64_t max_limit, int prio)
{
	static uint32_t next_id = 1;
	struct htb_class_cfg c;

	memset(&c, 0, sizeof(c));
	c.id = next_id++;
	c.parent = parent;
	c.limit_at = limit_at;
	c.max_limit = max_limit;
	c.priority = (uint8_t)prio;
	c.bucket_size_milli = 100;
	qdisc_cfg_default(&c.queue, QK_PFIFO);
	c.queue.pfifo_limit = QLIMIT;
	return c;
}

/* ---- the simulation ---- */

struct sim {
	struct htb *h;
	size_t n;
	uint64_t now;
	bool *load;            /* leaves kept full */
	uint32_t *held;        /* packets each leaf holds */
	bool sweep;            /* refill every loaded leaf each millisecond */
	uint64_t next_sweep;
	uint64_t *bytes;       /* delivered inside [from, to) */
	uint64_t from, to;
	uint64_t (*bins)[128]; /* optional: bytes per leaf per second */
	struct qpkt *pool, *free;
	uint64_t sent, offered, idle_polls;
};

static struct sim *sim_new(const struct htb_class_cfg *c, size_t n, uint64_t link)
{
	char err[256] = "";
	struct sim *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->h = htb_new(c, n, link, 0, err, sizeof(err));
	if (!s->h)
		fail_msg("htb_new: %s", err);
	s->n = n;
	s->load = calloc(n, sizeof(*s->load));
	s->held = calloc(n, sizeof(*s->held));
	s->bytes = calloc(n, sizeof(*s->bytes));
	size_t np = n * (QLIMIT + 2) + 16;
	s->pool = calloc(np, sizeof(*s->pool));
	assert_true(s->load && s->held && s->bytes && s->pool);
	for (size_t i = 0; i < np; i++) {
		s->pool[i].next = s->free;
		s->free = &s->pool[i];
	}
	return s;
}

static void sim_free(struct sim *s)
{
	htb_free(s->h);
	free(s->load);
	free(s->held);
	free(s->bytes);
	free(s->bins);
	free(s->pool);
	free(s);
}

/* Takes back packets that left or were dropped. */
static void sim_release(struct sim *s, struct qpkt *p)
{
	while (p) {
		struct qpkt *nx = p->next;
		s->held[p->user]--;
		p->next = s->free;
		s->free = p;
		p = nx;
	}
}

/* Offers packets to a leaf until its queue refuses one (or holds QLIMIT,
 * whatever its own limit: the pool is sized for that). */
static void sim_fill(struct sim *s, int leaf)
{
	while (s->free && s->held[leaf] < QLIMIT) {
		struct qpkt *p = s->free, *d = NULL;
		s->free = p->next;
		memset(p, 0, sizeof(*p));
		p->len = PKT;
		p->user = (uint32_t)leaf;
		p->hash = (uint32_t)leaf * 2654435761u;
		s->held[leaf]++;
		bool ok = htb_enqueue(s->h, leaf, p, s->now, &d);
		sim_release(s, d);
		if (!ok) {
			p->next = NULL;
			sim_release(s, p);
			return;
		}
		s->offered++;
	}
}

static void sim_load(struct sim *s, int leaf, bool on)
{
	s->load[leaf] = on;
	if (on)
		sim_fill(s, leaf);
}

static void sim_window(struct sim *s, uint64_t from, uint64_t to)
{
	s->from = from;
	s->to = to;
	memset(s->bytes, 0, s->n * sizeof(*s->bytes));
}

static void sim_run(struct sim *s, uint64_t until)
{
	unsigned stuck = 0;

	while (s->now < until) {
		if (s->sweep && s->now >= s->next_sweep) {
			for (size_t i = 0; i < s->n; i++)
				if (s->load[i])
					sim_fill(s, (int)i);
			s->next_sweep = s->now + MS;
		}
		uint64_t t = htb_next_event(s->h, s->now);
		if (s->sweep && t > s->next_sweep)
			t = s->next_sweep;
		if (t == UINT64_MAX || t >= until) {
			s->now = until;
			break;
		}
		if (t > s->now) {
			s->now = t;
			stuck = 0;
		}
		struct qpkt *d = NULL;
		struct qpkt *p = htb_dequeue(s->h, s->now, &d);
		sim_release(s, d);
		if (!p) {
			s->idle_polls++;
			if (++stuck > 1000000)
				fail_msg("next_event %llu says now but dequeue gives nothing",
					 (unsigned long long)s->now);
			continue;
		}
		if (++stuck > 1000000)
			fail_msg("unlimited: a million packets at %llu", (unsigned long long)s->now);
		int leaf = (int)p->user;
		s->sent++;
		if (s->now >= s->from && s->now < s->to)
			s->bytes[leaf] += p->len;
		if (s->bins && s->now / NS < 128)
			s->bins[leaf][s->now / NS] += p->len;
		p->next = NULL;
		sim_release(s, p);
		if (s->load[leaf])
			sim_fill(s, leaf);
	}
}

static double sim_bps(const struct sim *s, int leaf)
{
	return qfx_bps(s->bytes[leaf], s->to - s->from);
}

/* Runs the standard measurement: 1 s warm-up, 10 s counted. */
static void sim_measure(struct sim *s)
{
	sim_window(s, s->now + NS, s->now + 11 * NS);
	sim_run(s, s->now + 11 * NS);
}

/* CPU time of the process: other work on the machine does not count. */
static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- RouterOS's documented examples ---- */

/*
 * How a loaded tree shares, as data: each row a tree (parent, limit-at,
 * max-limit, priority per class; parents first), the rate each loaded leaf
 * gets (the others idle), and what the loaded leaves get together. Every
 * loaded leaf is kept full; 10 s are measured after 1 s.
 */
struct spec {
	int parent;
	uint64_t limit_at, max_limit;
	int prio;
};

static struct htb_class_cfg spec_cfg(const struct spec *sp)
{
	return cls(sp->parent, sp->limit_at, sp->max_limit, sp->prio);
}

enum { SHARE_MAX = 6 };

struct share_case {
	const char *what;
	struct spec c[SHARE_MAX];
	size_t n;
	double want[SHARE_MAX];   /* bit/s of each loaded leaf, 0: not loaded */
	double total;             /* the loaded leaves together (0: not checked) */
	int lender;               /* a class whose lends must cover leaf `borrower`: */
	int borrower;             /* what it sends beyond its own limit-at (0: none) */
};

static const struct share_case share_cases[] = {
	{ "example 1: max-limit 6M p1, 2M p3, 2M p5 under 10M",
	  { { -1, 0, 10 * M, 8 }, { 0, 0, 6 * M, 1 }, { 0, 0, 2 * M, 3 }, { 0, 0, 2 * M, 5 } }, 4,
	  { 0, 6e6, 2e6, 2e6 }, 10e6, 0, 0 },
	{ "example 2: limit-at 2M each, priorities 3, 1, 5 under 10M",
	  { { -1, 0, 10 * M, 8 }, { 0, 2 * M, 10 * M, 3 }, { 0, 2 * M, 10 * M, 1 },
	    { 0, 2 * M, 10 * M, 5 } }, 4, { 0, 2e6, 6e6, 2e6 }, 10e6, 0, 0 },
	{ "a low-priority limit-at holds against a high-priority hog",
	  { { -1, 0, 10 * M, 8 }, { 0, 3 * M, 10 * M, 8 }, { 0, 0, 10 * M, 1 },
	    { 0, 1 * M, 10 * M, 8 } }, 4, { 0, 3e6, 6e6, 1e6 }, 10e6, 1, 1 },
	{ "the spare goes by priority (limit-at 1M each)",
	  { { -1, 0, 10 * M, 8 }, { 0, 1 * M, 10 * M, 8 }, { 0, 1 * M, 10 * M, 1 },
	    { 0, 1 * M, 10 * M, 4 } }, 4, { 0, 1e6, 8e6, 1e6 }, 10e6, 0, 0 },
	{ "equal priorities without limit-at share evenly",
	  { { -1, 0, 9 * M, 8 }, { 0, 0, 9 * M, 2 }, { 0, 0, 9 * M, 2 }, { 0, 0, 9 * M, 2 } }, 4,
	  { 0, 3e6, 3e6, 3e6 }, 9e6, 0, 0 },
	/*
	 * An inner class within its limit-at lends to its children however
	 * saturated its parent: under a 10M root, inner A (limit-at 4M) with
	 * leaf A1 against another subtree that saturates the root. While the
	 * limit-ats under the root add up to 10M, A1 gets A's 4M; oversubscribed
	 * (B 8M), A's 4M and B's 8M share the 10M in their ratio, as leaves'
	 * limit-ats do (example 3).
	 */
	{ "inner A 4M lends to A1 past a leaf within limit-at 6M",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 0, 10 * M, 8 },
	    { 0, 6 * M, 10 * M, 8 } }, 4, { 0, 0, 4e6, 6e6 }, 10e6, 1, 2 },
	{ "inner A 4M lends to A1 past a priority-1 leaf without limit-at",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 0, 10 * M, 8 },
	    { 0, 0, 10 * M, 1 } }, 4, { 0, 0, 4e6, 6e6 }, 10e6, 1, 2 },
	{ "inner A 4M lends to A1 past inner B 6M over a priority-1 leaf",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 0, 10 * M, 8 },
	    { 0, 6 * M, 10 * M, 8 }, { 3, 0, 10 * M, 1 } }, 5, { 0, 0, 4e6, 0, 6e6 }, 10e6, 1, 2 },
	{ "inner A 4M tops up A1's own limit-at 1M",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 1 * M, 10 * M, 8 },
	    { 0, 6 * M, 10 * M, 8 } }, 4, { 0, 0, 4e6, 6e6 }, 10e6, 1, 2 },
	{ "oversubscribed: inner A 4M against a leaf within limit-at 8M",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 0, 10 * M, 8 },
	    { 0, 8 * M, 10 * M, 8 } }, 4, { 0, 0, 10e6 / 3, 20e6 / 3 }, 10e6, 1, 2 },
	{ "oversubscribed: inner A 4M against inner B 8M over a leaf of 8M",
	  { { -1, 0, 10 * M, 8 }, { 0, 4 * M, 10 * M, 8 }, { 1, 0, 10 * M, 8 },
	    { 0, 8 * M, 10 * M, 8 }, { 3, 8 * M, 10 * M, 8 } }, 5,
	  { 0, 0, 10e6 / 3, 0, 20e6 / 3 }, 10e6, 1, 2 },
};

static void test_shares(void **state)
{
	static const char *names[SHARE_MAX] = { "class 0", "class 1", "class 2",
						"class 3", "class 4", "class 5" };

	for (size_t k = 0; k < sizeof(share_cases) / sizeof(share_cases[0]); k++) {
		const struct share_case *sc = &share_cases[k];
		struct htb_class_cfg c[SHARE_MAX];
		for (size_t i = 0; i < sc->n; i++)
			c[i] = spec_cfg(&sc->c[i]);
		struct sim *s = sim_new(c, sc->n, 0);
		for (size_t i = 0; i < sc->n; i++)
			if (sc->want[i] > 0)
				sim_load(s, (int)i, true);
		sim_measure(s);
		struct qfx_rate row[SHARE_MAX + 1];
		size_t nr = 0;
		double sum = 0;
		for (size_t i = 0; i < sc->n; i++) {
			if (sc->want[i] <= 0) {
				if (s->bytes[i])
					fail_msg("%s: idle class %zu sent", sc->what, i);
				continue;
			}
			row[nr++] = (struct qfx_rate){ names[i], sim_bps(s, (int)i), sc->want[i], 0.02 };
			sum += sim_bps(s, (int)i);
		}
		if (sc->total > 0)
			row[nr++] = (struct qfx_rate){ "together", sum, sc->total, 0.01 };
		qfx_expect_rates(sc->what, row, nr);
		if (sc->borrower) {
			/* what the leaf sends beyond its own limit-at, the lender lends */
			struct htb_stats a, b;
			htb_stats(s->h, sc->lender, &a);
			htb_stats(s->h, sc->borrower, &b);
			uint64_t lent = a.lends + (sc->lender != sc->borrower ? b.lends : 0);
			if (lent < b.packets * 95 / 100)
				fail_msg("%s: %llu of %llu packets lent by class %d or the leaf's own",
					 sc->what, (unsigned long long)lent,
					 (unsigned long long)b.packets, sc->lender);
		}
		sim_free(s);
	}
}

static void test_example3_oversubscribed(void **state)
{
	/* limit-ats 6M:2M:12M on a 10M parent: the link divides 3:1:6 */
	struct htb_class_cfg c[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 6 * M, 10 * M, 8),
		cls(0, 2 * M, 10 * M, 8),
		cls(0, 12 * M, 10 * M, 8),
	};
	struct sim *s = sim_new(c, 4, 0);
	for (int i = 1; i <= 3; i++)
		sim_load(s, i, true);
	print_message("example 3 (limit-at 6M:2M:12M oversubscribing 10M):\n");
	/* the within-rate leaves take the parent into debt only so far: over
	 * 30 s from the start the aggregate stays at max-limit */
	sim_window(s, 0, 30 * NS);
	sim_run(s, 30 * NS);
	qfx_expect_rate("aggregate over 30 s", sim_bps(s, 1) + sim_bps(s, 2) + sim_bps(s, 3), 10e6,
		    0.01);
	sim_measure(s);
	qfx_expect_rate("aggregate", sim_bps(s, 1) + sim_bps(s, 2) + sim_bps(s, 3), 10e6, 0.01);
	qfx_expect_rate("leaf limit-at 6M", sim_bps(s, 1), 3e6, 0.02);
	qfx_expect_rate("leaf limit-at 2M", sim_bps(s, 2), 1e6, 0.02);
	qfx_expect_rate("leaf limit-at 12M", sim_bps(s, 3), 6e6, 0.02);
	sim_free(s);
}

/* ---- properties ---- */

/*
 * Traffic within a guarantee does not wait for a parent whose max-limit the
 * bulk keeps saturated (soho.rsc's upload tree): each 200-byte VoIP packet
 * leaves the moment it arrives, while the aggregate stays at max-limit. The
 * guarantee is the VoIP leaf's own limit-at, or (as in Linux, where a class
 * within its rate lends at its own level whatever its ancestors' ceils say)
 * the limit-at of an inner class the leaf borrows from.
 */
/* The longest wait of a VoIP packet in leaf voip, bulk and web saturating. */
static uint64_t voip_past_saturated(const struct htb_class_cfg *c, size_t n, int bulk, int voip,
				    int web)
{
	enum { NVOIP = 250 };
	struct sim *s = sim_new(c, n, 0);
	struct qpkt pk[NVOIP], *d = NULL;
	uint64_t arrive[NVOIP], delay[NVOIP];
	unsigned nin = 0, nout = 0;

	memset(pk, 0, sizeof(pk));
	sim_load(s, bulk, true);
	sim_load(s, web, true);
	sim_run(s, NS);
	sim_window(s, NS, 6 * NS);
	/* 50 packets a second, off the bulk's token grid */
	uint64_t next = NS + 37 * 1000;
	while (s->now < 6 * NS) {
		uint64_t t = htb_next_event(s->h, s->now);
		if (nin < NVOIP && next < t)
			t = next;
		if (t > 6 * NS)
			t = 6 * NS;
		s->now = t;
		if (nin < NVOIP && t == next) {
			pk[nin].len = 200;
			pk[nin].user = UINT32_MAX;
			arrive[nin] = t;
			assert_true(htb_enqueue(s->h, voip, &pk[nin], t, &d));
			nin++;
			next += 20 * MS + 13 * 1000;
		}
		struct qpkt *p;
		while ((p = htb_dequeue(s->h, s->now, &d))) {
			if (p->user == UINT32_MAX) {
				delay[nout] = s->now - arrive[p - pk];
				nout++;
				continue;
			}
			int leaf = (int)p->user;
			if (s->now >= s->from && s->now < s->to)
				s->bytes[leaf] += p->len;
			p->next = NULL;
			sim_release(s, p);
			sim_fill(s, leaf);
		}
		sim_release(s, d);
		d = NULL;
	}
	assert_int_equal(nout, nin);
	uint64_t worst = 0, sum = 0;
	unsigned late = 0;
	for (unsigned i = 0; i < nout; i++) {
		sum += delay[i];
		if (delay[i] > worst)
			worst = delay[i];
		if (delay[i] > 0)
			late++;
	}
	print_message("  %u packets, mean %.1f us, max %.1f us, %u waited\n", nout,
		      (double)sum / nout / 1e3, (double)worst / 1e3, late);
	double total = sim_bps(s, bulk) + sim_bps(s, web) + (double)nout * 200 * 8 / 5.0;
	qfx_expect_rate("aggregate", total, 9e6, 0.01);
	sim_free(s);
	return worst;
}

static void test_within_rate_past_saturated_parent(void **state)
{
	/* bulk: 1M of it within its rate; web, also saturating, within 3M */
	static const struct {
		const char *what;
		struct spec c[5];
		size_t n;
		int bulk, voip, web;
	} cases[] = {
		{ "VoIP leaf limit-at 1M",
		  { { -1, 0, 9 * M, 8 }, { 0, 1 * M, 9 * M, 7 }, { 0, 1 * M, 9 * M, 1 },
		    { 0, 3 * M, 9 * M, 3 } }, 4, 1, 2, 3 },
		{ "VoIP leaf limit-at 0 under an inner limit-at 1M",
		  { { -1, 0, 9 * M, 8 }, { 0, 1 * M, 9 * M, 7 }, { 0, 1 * M, 9 * M, 8 },
		    { 0, 3 * M, 9 * M, 3 }, { 2, 0, 9 * M, 1 } }, 5, 1, 4, 3 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct htb_class_cfg c[5];
		for (size_t i = 0; i < cases[k].n; i++) {
			c[i] = spec_cfg(&cases[k].c[i]);
			c[i].bucket_size_milli = 10;
		}
		print_message("within-rate VoIP past a saturated 9M parent, %s:\n", cases[k].what);
		uint64_t worst = voip_past_saturated(c, cases[k].n, cases[k].bulk, cases[k].voip,
						     cases[k].web);
		if (worst > 10 * 1000)
			fail_msg("%s: a VoIP packet within a limit-at waited %.1f us for the parent",
				 cases[k].what, (double)worst / 1e3);
	}
}

/*
 * What an inner class lends is bounded by its bucket, as a leaf's own
 * limit-at is: after an idle time, a burst within A's bucket (0.1 s of 4M:
 * 50,000 bytes) leaves at once, past a root that a priority-1 leaf without
 * limit-at keeps at its max-limit.
 */
static void test_inner_limit_at_burst(void **state)
{
	struct htb_class_cfg c[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 4 * M, 10 * M, 8),
		cls(1, 0, 10 * M, 8),
		cls(0, 0, 10 * M, 1),
	};
	struct sim *s = sim_new(c, 4, 0);
	struct qpkt *d = NULL, *p;

	sim_load(s, 3, true);
	sim_run(s, 2 * NS);
	sim_fill(s, 2);
	assert_int_equal(s->held[2], QLIMIT);
	unsigned at_once = 0;
	while ((p = htb_dequeue(s->h, s->now, &d))) {
		at_once += p->user == 2;
		p->next = NULL;
		sim_release(s, p);
	}
	sim_release(s, d);
	print_message("an idle inner limit-at 4M lends %u of %u frames at once past a saturated "
		      "root\n", at_once, QLIMIT);
	assert_int_equal(at_once, QLIMIT);
	sim_free(s);
}

static void test_single_leaf_max_limit(void **state)
{
	static const uint64_t rates[] = { 64 * K, 7 * M, 300 * M };

	print_message("a lone leaf at its max-limit:\n");
	for (size_t k = 0; k < sizeof(rates) / sizeof(rates[0]); k++) {
		struct htb_class_cfg c[] = { cls(-1, 0, 0, 8), cls(0, 0, rates[k], 8) };
		struct sim *s = sim_new(c, 2, 0);
		sim_load(s, 1, true);
		sim_measure(s);
		char what[64];
		snprintf(what, sizeof(what), "max-limit %llu", (unsigned long long)rates[k]);
		qfx_expect_rate(what, sim_bps(s, 1), (double)rates[k], 0.01);

		struct htb_stats st;
		htb_stats(s->h, 1, &st);
		double est = (double)st.rate_bps;
		if (est < (double)rates[k] * 0.97 || est > (double)rates[k] * 1.03)
			fail_msg("estimator says %.0f bit/s for %llu", est,
				 (unsigned long long)rates[k]);
		double pps = (double)rates[k] / 8.0 / PKT;
		if ((double)st.packet_rate < pps * 0.9 - 1 || (double)st.packet_rate > pps * 1.1 + 1)
			fail_msg("packet rate %llu, want ~%.0f", (unsigned long long)st.packet_rate,
				 pps);
		assert_int_equal(st.queued_packets, QLIMIT);
		assert_int_equal(st.queued_bytes, QLIMIT * PKT);
		assert_int_equal(st.lends, 0);          /* no limit-at: all borrowed */
		assert_int_equal(st.borrows, st.packets);
		sim_free(s);
	}
}

static void test_borrowing(void **state)
{
	struct htb_class_cfg c[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 5 * M, 8 * M, 8),
		cls(0, 5 * M, 10 * M, 8),
	};
	struct sim *s = sim_new(c, 3, 0);
	print_message("borrowing:\n");
	sim_load(s, 1, true);
	sim_measure(s);
	qfx_expect_rate("A alone, limit 5M max 8M", sim_bps(s, 1), 8e6, 0.02);
	if (s->bytes[2])
		fail_msg("an idle leaf sent");
	sim_load(s, 2, true);
	sim_measure(s);
	qfx_expect_rate("A with B loaded", sim_bps(s, 1), 5e6, 0.02);
	qfx_expect_rate("B with A loaded", sim_bps(s, 2), 5e6, 0.02);
	sim_load(s, 1, false);
	sim_measure(s);
	qfx_expect_rate("B alone, max 10M", sim_bps(s, 2), 10e6, 0.02);
	sim_free(s);
}

static void test_nested(void **state)
{
	struct htb_stats st[7];

	/* P 10M { A max 4M { a1 p1, a2 p1 }, B { b1 p8 } } */
	struct htb_class_cfg c[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 0, 4 * M, 8),
		cls(0, 0, 0, 8),
		cls(1, 0, 10 * M, 1),
		cls(1, 0, 10 * M, 1),
		cls(2, 0, 10 * M, 8),
	};
	struct sim *s = sim_new(c, 6, 0);
	for (int i = 3; i <= 5; i++)
		sim_load(s, i, true);
	sim_measure(s);
	print_message("nested, an inner max-limit over high priorities:\n");
	qfx_expect_rate("a1 p1 under A 4M", sim_bps(s, 3), 2e6, 0.02);
	qfx_expect_rate("a2 p1 under A 4M", sim_bps(s, 4), 2e6, 0.02);
	qfx_expect_rate("b1 p8 under B", sim_bps(s, 5), 6e6, 0.02);
	for (int i = 0; i < 6; i++)
		htb_stats(s->h, i, &st[i]);
	assert_int_equal(st[1].bytes, st[3].bytes + st[4].bytes);
	assert_int_equal(st[1].packets, st[3].packets + st[4].packets);
	assert_int_equal(st[2].bytes, st[5].bytes);
	assert_int_equal(st[0].bytes, st[1].bytes + st[2].bytes);
	assert_int_equal(st[0].packets, st[1].packets + st[2].packets);
	assert_int_equal(st[0].queued_packets, 3 * QLIMIT);
	assert_int_equal(st[1].queued_bytes, 2 * QLIMIT * PKT);
	assert_int_equal(st[3].borrows, st[3].packets);
	assert_int_equal(st[1].borrows, st[1].packets);
	double sum = (double)(st[1].rate_bps + st[2].rate_bps), top = (double)st[0].rate_bps;
	if (top < 9.7e6 || top > 10.3e6 || sum < top * 0.99 || sum > top * 1.01)
		fail_msg("estimators: P %.0f, A + B %.0f", top, sum);
	assert_false(htb_is_leaf(s->h, 0));
	assert_false(htb_is_leaf(s->h, 1));
	assert_true(htb_is_leaf(s->h, 3));
	assert_int_equal(htb_nclasses(s->h), 6);
	struct qpkt x = { .len = PKT }, *d = NULL;
	assert_false(htb_enqueue(s->h, 1, &x, s->now, &d));
	assert_false(htb_enqueue(s->h, 6, &x, s->now, &d));
	assert_false(htb_enqueue(s->h, -1, &x, s->now, &d));
	assert_null(d);
	sim_free(s);

	/* P 10M { A limit-at 4M max 6M { a1 p8 }, B { b1 p1 } }: A lends its
	 * limit-at to a1 first; the rest of P goes by priority to b1 */
	struct htb_class_cfg c2[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 4 * M, 6 * M, 8),
		cls(0, 0, 0, 8),
		cls(1, 0, 10 * M, 8),
		cls(2, 0, 10 * M, 1),
	};
	s = sim_new(c2, 5, 0);
	sim_load(s, 3, true);
	sim_load(s, 4, true);
	sim_measure(s);
	print_message("nested, an inner limit-at lent before the parent's spare:\n");
	qfx_expect_rate("a1 p8 under A limit-at 4M", sim_bps(s, 3), 4e6, 0.02);
	qfx_expect_rate("b1 p1 under B", sim_bps(s, 4), 6e6, 0.02);
	for (int i = 0; i < 5; i++)
		htb_stats(s->h, i, &st[i]);
	/* a1's packets are lent by A (rate charged there), borrowed by a1 */
	assert_int_equal(st[3].borrows, st[3].packets);
	assert_int_equal(st[1].lends, st[3].packets);
	assert_int_equal(st[1].borrows, 0);
	assert_int_equal(st[0].bytes, st[1].bytes + st[2].bytes);
	sim_free(s);

	/* seven levels: a max-limit half way down binds the deepest leaf, and
	 * every ancestor counts its packets */
	struct htb_class_cfg c3[8];
	c3[0] = cls(-1, 0, 10 * M, 8);
	for (int i = 1; i < 7; i++)
		c3[i] = cls(i - 1, 0, i == 3 ? 3 * M : 0, 8);
	c3[6].max_limit = 10 * M;
	c3[7] = cls(0, 0, 10 * M, 8);
	s = sim_new(c3, 8, 0);
	sim_load(s, 6, true);
	sim_load(s, 7, true);
	sim_measure(s);
	print_message("seven levels, max-limit 3M at depth 4:\n");
	qfx_expect_rate("leaf at depth 7", sim_bps(s, 6), 3e6, 0.02);
	qfx_expect_rate("leaf at depth 2", sim_bps(s, 7), 7e6, 0.02);
	htb_stats(s->h, 6, &st[6]);
	for (int i = 1; i < 6; i++) {
		htb_stats(s->h, i, &st[0]);
		assert_int_equal(st[0].bytes, st[6].bytes);
	}
	sim_free(s);
}

static void test_queue_kinds(void **state)
{
	static const enum qdisc_kind kinds[] = { QK_SFQ, QK_FQ_CODEL, QK_RED, QK_PCQ, QK_BFIFO,
						 QK_CODEL, QK_CAKE };
	static const char *names[] = { "sfq", "fq-codel", "red", "pcq", "bfifo", "codel",
				       "cake (shaping 1M itself)" };
	enum { NK = sizeof(kinds) / sizeof(kinds[0]) };
	struct htb_class_cfg c[NK + 1];

	c[0] = cls(-1, 0, 20 * M, 8);
	for (size_t i = 0; i < NK; i++) {
		c[i + 1] = cls(0, 0, 2 * M, 8);
		qdisc_cfg_default(&c[i + 1].queue, kinds[i]);
	}
	c[NK].queue.cake_bandwidth = 1 * M;
	struct sim *s = sim_new(c, NK + 1, 0);
	s->sweep = true;   /* red and codel may refuse or drop while the queue is short */
	for (size_t i = 1; i <= NK; i++)
		sim_load(s, (int)i, true);
	sim_measure(s);
	print_message("leaf queue kinds (max-limit 2M each):\n");
	for (size_t i = 0; i < NK; i++)
		qfx_expect_rate(names[i], sim_bps(s, (int)i + 1), i == NK - 1 ? 1e6 : 2e6, 0.02);
	sim_free(s);
}

static void test_link_rate(void **state)
{
	struct htb_class_cfg c[] = {
		cls(-1, 0, 0, 8),
		cls(0, 0, 0, 8),
		cls(0, 0, 0, 8),
		cls(-1, 0, 0, 8),   /* a second tree on the same link */
	};
	struct sim *s = sim_new(c, 4, 5 * M);
	print_message("link rate 5M, no max-limits:\n");
	sim_load(s, 1, true);
	sim_load(s, 2, true);
	sim_load(s, 3, true);
	sim_measure(s);
	qfx_expect_rate("total", sim_bps(s, 1) + sim_bps(s, 2) + sim_bps(s, 3), 5e6, 0.01);
	/* round robin is per subtree: the two trees halve the link */
	qfx_expect_rate("leaf 1 of tree 1", sim_bps(s, 1), 1.25e6, 0.02);
	qfx_expect_rate("leaf 2 of tree 1", sim_bps(s, 2), 1.25e6, 0.02);
	qfx_expect_rate("tree 2 (a lone leaf)", sim_bps(s, 3), 2.5e6, 0.02);
	sim_free(s);
}

static void test_burst(void **state)
{
	struct htb_class_cfg c[] = { cls(-1, 0, 0, 8), cls(0, 0, 2 * M, 8) };
	c[1].burst_limit = 4 * M;
	c[1].burst_threshold = 1500 * K;
	c[1].burst_time_ns = 16 * NS;
	struct sim *s = sim_new(c, 2, 0);
	s->bins = calloc(2, sizeof(*s->bins));
	assert_non_null(s->bins);
	sim_load(s, 1, true);
	sim_run(s, 30 * NS);
	sim_load(s, 1, false);
	sim_run(s, 60 * NS);
	sim_load(s, 1, true);
	sim_run(s, 70 * NS);

	print_message("burst (max 2M, burst-limit 4M, threshold 1.5M, time 16 s), per second:\n ");
	for (int t = 0; t < 70; t++)
		print_message(" %.1f", (double)s->bins[1][t] * 8 / 1e6);
	print_message("\n");
	for (int t = 1; t < 6; t++)
		qfx_expect_rate("bursting from idle", (double)s->bins[1][t] * 8, 4e6, 0.02);
	for (int t = 7; t < 30; t++)
		qfx_expect_rate("average over threshold", (double)s->bins[1][t] * 8, 2e6, 0.02);
	for (int t = 31; t < 60; t++)
		if (s->bins[1][t])
			fail_msg("sent while idle at %d s", t);
	for (int t = 61; t < 66; t++)
		qfx_expect_rate("bursting again after idle", (double)s->bins[1][t] * 8, 4e6, 0.02);
	qfx_expect_rate("back to max-limit", (double)s->bins[1][69] * 8, 2e6, 0.02);
	sim_free(s);
}

static uint64_t rnd_state = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (uint32_t)(rnd_state % n);
}

/* Random trees, loads switched on and off: no class exceeds its ceiling
 * (plus its bucket, and an inner class its slack), inner classes sum their
 * children, nothing hangs. */
static void test_random_trees(void **state)
{
	static const uint64_t rates[] = { 0, 0, 64 * K, 500 * K, 1 * M, 3 * M, 10 * M, 40 * M };

	for (int round = 0; round < 60; round++) {
		size_t n = 2 + rnd(30);
		struct htb_class_cfg c[32];
		int depth[32];
		for (size_t i = 0; i < n; i++) {
			int parent = i == 0 || rnd(4) == 0 ? -1 : (int)rnd((uint32_t)i);
			if (parent >= 0 && depth[parent] >= 6)
				parent = -1;
			depth[i] = parent < 0 ? 1 : depth[parent] + 1;
			c[i] = cls(parent, rates[rnd(8)], rates[rnd(8)], 1 + (int)rnd(8));
			c[i].bucket_size_milli = 100 * (1 + rnd(10));
			if (rnd(5) == 0) {
				c[i].burst_limit = rates[rnd(8)] * 2;
				c[i].burst_threshold = rates[rnd(8)];
				c[i].burst_time_ns = (1 + rnd(10)) * NS;
			}
		}
		uint64_t link = rates[2 + rnd(6)];   /* finite: time must move */
		struct sim *s = sim_new(c, n, link);
		uint64_t *total = calloc(n, sizeof(*total));
		assert_non_null(total);
		for (int step = 0; step < 50; step++) {
			int leaf = (int)rnd((uint32_t)n);
			if (htb_is_leaf(s->h, leaf))
				sim_load(s, leaf, !s->load[leaf]);
			sim_window(s, s->now, s->now + 100 * MS);
			sim_run(s, s->now + 100 * MS);
			for (size_t i = 0; i < n; i++)
				total[i] += s->bytes[i];
		}
		double secs = (double)s->now / 1e9;
		uint64_t all = 0;
		for (size_t i = 0; i < n; i++)
			all += total[i];
		if ((double)all > (double)link / 8 * (secs + 0.1) + 1514)
			fail_msg("round %d: %llu bytes through a %llu link", round,
				 (unsigned long long)all, (unsigned long long)link);
		if (!all)
			fail_msg("round %d: nothing sent", round);
		for (size_t i = 0; i < n; i++) {
			struct htb_stats st;
			htb_stats(s->h, (int)i, &st);
			uint64_t kids = 0;
			bool leaf = htb_is_leaf(s->h, (int)i);
			for (size_t j = i + 1; j < n; j++)
				if (c[j].parent == (int)i) {
					struct htb_stats cs;
					htb_stats(s->h, (int)j, &cs);
					kids += cs.bytes;
				}
			if (leaf)
				assert_int_equal(st.bytes, total[i]);
			else
				assert_int_equal(st.bytes, kids);
			uint64_t ceil = c[i].max_limit;
			if (ceil && c[i].burst_limit > ceil && c[i].burst_time_ns)
				ceil = c[i].burst_limit;
			if (ceil) {
				/* a bucket (at least a frame), the frame that overdraws it;
				 * an inner class also its slack: up to one more bucket
				 * and frame of within-rate debt */
				double bucket = (double)ceil / 8 * c[i].bucket_size_milli / 1000;
				if (bucket < 1514)
					bucket = 1514;
				double allowed = (double)ceil / 8 * secs + (leaf ? 1 : 2) * bucket +
						 (leaf ? 1 : 2) * 1514;
				if ((double)st.bytes > allowed)
					fail_msg("round %d class %zu: %llu bytes over its ceiling %llu",
						 round, i, (unsigned long long)st.bytes,
						 (unsigned long long)ceil);
			}
		}
		free(total);
		sim_free(s);
	}
}

/* Random trees whose parameters change under load (htb_update every
 * 300 ms): nothing hangs, no packet is lost or doubled (what each leaf
 * holds is what the sim handed it and did not get back), inner classes
 * still sum their children. */
static void test_random_updates(void **state)
{
	static const uint64_t rates[] = { 0, 0, 64 * K, 500 * K, 1 * M, 3 * M, 10 * M, 40 * M };
	static const enum qdisc_kind kinds[] = { QK_PFIFO, QK_PFIFO, QK_SFQ, QK_BFIFO, QK_FQ_CODEL };

	for (int round = 0; round < 30; round++) {
		size_t n = 2 + rnd(20);
		struct htb_class_cfg c[24];
		int depth[24];
		for (size_t i = 0; i < n; i++) {
			int parent = i == 0 || rnd(4) == 0 ? -1 : (int)rnd((uint32_t)i);
			if (parent >= 0 && depth[parent] >= 6)
				parent = -1;
			depth[i] = parent < 0 ? 1 : depth[parent] + 1;
			c[i] = cls(parent, 0, 0, 8);
		}
		uint64_t link = rates[2 + rnd(6)];
		struct sim *s = NULL;
		for (int step = 0; step < 40; step++) {
			if (step % 3 == 0) {
				for (size_t i = 0; i < n; i++) {
					c[i].limit_at = rates[rnd(8)];
					c[i].max_limit = rates[rnd(8)];
					c[i].priority = (uint8_t)(1 + rnd(8));
					c[i].bucket_size_milli = 10 * (1 + rnd(30));
					c[i].burst_limit = rnd(4) == 0 ? rates[rnd(8)] * 2 : 0;
					c[i].burst_threshold = rates[rnd(8)];
					c[i].burst_time_ns = (1 + rnd(4)) * NS;
					qdisc_cfg_default(&c[i].queue, kinds[rnd(5)]);
					c[i].queue.pfifo_limit = 1 + rnd(QLIMIT);
					c[i].queue.fq_limit = QLIMIT;
				}
				if (!s) {
					s = sim_new(c, n, link);
				} else {
					char err[128];
					struct htb *h2 = htb_new(c, n, link, s->now, err, sizeof(err));
					assert_non_null(h2);
					struct qpkt *d = NULL;
					assert_int_equal(htb_update(s->h, h2, s->now, &d), 0);
					htb_free(h2);
					sim_release(s, d);
				}
			}
			int leaf = (int)rnd((uint32_t)n);
			if (htb_is_leaf(s->h, leaf))
				sim_load(s, leaf, !s->load[leaf]);
			sim_run(s, s->now + 100 * MS);
		}
		for (size_t i = 0; i < n; i++) {
			struct htb_stats st, cs;
			htb_stats(s->h, (int)i, &st);
			if (htb_is_leaf(s->h, (int)i)) {
				assert_int_equal(st.queued_packets, s->held[i]);
				continue;
			}
			uint64_t kids = 0;
			for (size_t j = i + 1; j < n; j++)
				if (c[j].parent == (int)i) {
					htb_stats(s->h, (int)j, &cs);
					kids += cs.bytes;
				}
			assert_int_equal(st.bytes, kids);
		}
		/* and it all still drains */
		for (size_t i = 0; i < n; i++)
			s->load[i] = false;
		sim_run(s, s->now + 3600 * NS);
		for (size_t i = 0; i < n; i++)
			if (htb_is_leaf(s->h, (int)i))
				assert_int_equal(s->held[i], 0);
		sim_free(s);
	}
}

/* 1,000 leaves: fairness and the cost of a dequeue against 8 leaves. */
static double run_many(size_t nleaves, uint64_t parent, uint64_t leaf_max, bool check,
		       double *total)
{
	size_t n = nleaves + 1;
	struct htb_class_cfg *c = calloc(n, sizeof(*c));
	assert_non_null(c);
	c[0] = cls(-1, 0, parent, 8);
	for (size_t i = 1; i < n; i++)
		c[i] = cls(0, 0, leaf_max, leaf_max ? (int)(i % 8) + 1 : 8);
	struct sim *s = sim_new(c, n, 0);
	free(c);
	for (size_t i = 1; i < n; i++)
		sim_load(s, (int)i, true);
	double t0 = now_s();
	uint64_t sent0 = s->sent;
	sim_measure(s);
	double dt = now_s() - t0;
	double ns_per = dt * 1e9 / (double)(s->sent - sent0);
	double sum = 0, lo = 1e18, hi = 0;
	for (size_t i = 1; i < n; i++) {
		double r = sim_bps(s, (int)i);
		sum += r;
		lo = r < lo ? r : lo;
		hi = r > hi ? r : hi;
	}
	*total = sum;
	if (check) {
		double each = leaf_max ? (double)leaf_max : (double)parent / (double)nleaves;
		print_message("  %zu leaves: each %.1f..%.1f kbit/s (want %.1f), %.0f ns per packet\n",
			      nleaves, lo / 1e3, hi / 1e3, each / 1e3, ns_per);
		if (lo < each * 0.95 || hi > each * 1.05)
			fail_msg("unfair: %.0f..%.0f, want %.0f", lo, hi, each);
	}
	sim_free(s);
	return ns_per;
}

static void test_many_classes(void **state)
{
	double total, t8, t1000;

	print_message("1,000 leaves under 100M:\n");
	t1000 = run_many(1000, 100 * M, 90 * K, true, &total);
	qfx_expect_rate("all ceil-bound (90k each)", total, 90e6, 0.01);
	run_many(1000, 100 * M, 0, true, &total);
	qfx_expect_rate("sharing the parent", total, 100e6, 0.01);
	t8 = run_many(8, 100 * M, 0, false, &total);
	print_message("  cost per packet: 8 leaves %.0f ns, 1,000 leaves %.0f ns\n", t8, t1000);
	/* O(log n): generous, timing under sanitizers is noisy */
	if (t1000 > 50000 || t1000 > 30 * t8 + 2000)
		fail_msg("dequeue too slow with 1,000 classes: %.0f ns (8 classes: %.0f ns)",
			 t1000, t8);
}

/* Enqueue+dequeue pairs per second of wall time (printed, not asserted). */
static void throughput(size_t nleaves)
{
	size_t n = nleaves + 1;
	struct htb_class_cfg *c = calloc(n, sizeof(*c));
	assert_non_null(c);
	c[0] = cls(-1, 0, 0, 8);
	for (size_t i = 1; i < n; i++)
		c[i] = cls(0, 800 * M / nleaves, 1000 * M, (int)(i % 8) + 1);
	struct sim *s = sim_new(c, n, 1000 * M);
	free(c);
	for (size_t i = 1; i < n; i++)
		sim_load(s, (int)i, true);
	double t0 = now_s();
	uint64_t sent0 = s->sent;
	sim_run(s, 20 * NS);
	double dt = now_s() - t0;
	print_message("  %4zu classes: %.2f M enqueue+dequeue/s (%llu packets, %.3f s of CPU)\n", nleaves,
		      (double)(s->sent - sent0) / dt / 1e6,
		      (unsigned long long)(s->sent - sent0), dt);
	sim_free(s);
}

static void test_throughput(void **state)
{
	print_message("throughput (1G link in virtual time, every leaf overloaded):\n");
	throughput(8);
	throughput(1000);
}

static void test_next_event(void **state)
{
	/* 1.2M: a 1500-byte packet every 10 ms once the bucket is spent */
	struct htb_class_cfg c[] = { cls(-1, 0, 0, 8), cls(0, 0, 1200 * K, 8) };
	struct sim *s = sim_new(c, 2, 0);
	assert_int_equal(htb_next_event(s->h, 0), UINT64_MAX);
	assert_null(htb_dequeue(s->h, 0, &(struct qpkt *){ NULL }));
	sim_load(s, 1, true);
	assert_int_equal(htb_next_event(s->h, 5), 5);
	/* the bucket (0.1 s = 15000 bytes) goes at once */
	unsigned burst = 0;
	struct qpkt *d = NULL, *p;
	while ((p = htb_dequeue(s->h, 5, &d))) {
		burst++;
		p->next = NULL;
		sim_release(s, p);
	}
	assert_int_equal(burst, 10);
	uint64_t t = htb_next_event(s->h, 5);
	assert_true(t > 5 && t <= 5 + 10 * MS);
	assert_null(htb_dequeue(s->h, t - 1, &d));
	p = htb_dequeue(s->h, t, &d);
	assert_non_null(p);
	p->next = NULL;
	sim_release(s, p);
	uint64_t t2 = htb_next_event(s->h, t);
	if (t2 < t + 10 * MS - 1000 || t2 > t + 10 * MS + 1000)
		fail_msg("next event after %llu: %llu, want +10 ms", (unsigned long long)t,
			 (unsigned long long)t2);
	/* an earlier clock (a caller's "anything queued?") does no harm */
	assert_true(htb_next_event(s->h, 0) != UINT64_MAX);
	sim_free(s);
}

/*
 * A leaf whose queue paces packets itself (pcq-rate, cake bandwidth): the
 * scheduler asks the queue when its next packet may go and wakes exactly
 * then, once per packet, instead of polling.
 */
static void pace_run(enum qdisc_kind kind, unsigned npkts, uint64_t gap_ns, unsigned burst)
{
	struct htb_class_cfg c[] = { cls(-1, 0, 0, 8) };
	qdisc_cfg_default(&c[0].queue, kind);
	if (kind == QK_PCQ) {
		c[0].queue.pcq_rate = 1 * M;
		c[0].queue.pcq_classifier = 1;
		c[0].queue.pcq_limit = 1000;
	} else {
		c[0].queue.cake_bandwidth = 1 * M;
		/* a standing queue on purpose: no CoDel drops */
		c[0].queue.fq_target_ns = 100 * NS;
		c[0].queue.fq_interval_ns = 1000 * NS;
	}
	char err[128];
	uint64_t t = NS;
	struct htb *h = htb_new(c, 1, 0, t, err, sizeof(err));
	assert_non_null(h);
	struct qpkt *pk = calloc(npkts, sizeof(*pk)), *d = NULL;
	for (unsigned i = 0; i < npkts; i++) {
		pk[i].len = 1000;
		pk[i].src = 0x0a000001;
		pk[i].hash = 7;
		assert_true(htb_enqueue(h, 0, &pk[i], t, &d));
	}
	unsigned wakeups = 0, got = 0;
	uint64_t last = 0;
	for (;;) {
		t = htb_next_event(h, t);
		if (t == UINT64_MAX)
			break;
		wakeups++;
		struct qpkt *p;
		while ((p = htb_dequeue(h, t, &d))) {
			assert_ptr_equal(p, &pk[got]);
			/* after the queue's own bucket, one packet per gap */
			if (got > burst && (t - last < gap_ns - 100 || t - last > gap_ns + 100))
				fail_msg("packet %u left %llu ns after the one before, want %llu", got,
					 (unsigned long long)(t - last), (unsigned long long)gap_ns);
			last = t;
			got++;
		}
	}
	assert_int_equal(got, npkts);
	assert_null(d);
	print_message("%s: %u packets, %u scheduler wake-ups\n", kind == QK_PCQ ? "pcq" : "cake",
		      got, wakeups);
	/* the bucket's packets at the first wake-up, then one each */
	assert_true(wakeups <= npkts - burst + 1);
	htb_free(h);
	free(pk);
}

/* A held-back pcq leaf: a packet of a new flow (its own full bucket) goes
 * at once, not at the time the waiting flow named. */
static void test_paced_leaf_new_flow(void **state)
{
	struct htb_class_cfg c[] = { cls(-1, 0, 0, 8) };
	qdisc_cfg_default(&c[0].queue, QK_PCQ);
	c[0].queue.pcq_rate = 1 * M;
	c[0].queue.pcq_classifier = 1;
	char err[128];
	uint64_t t = NS;
	struct htb *h = htb_new(c, 1, 0, t, err, sizeof(err));
	assert_non_null(h);
	struct qpkt pk[20], *d = NULL, *p;
	memset(pk, 0, sizeof(pk));
	for (unsigned i = 0; i < 20; i++) {
		pk[i].len = 1000;
		pk[i].src = i < 19 ? 0x0a000001 : 0x0a000002;
		if (i < 19)
			assert_true(htb_enqueue(h, 0, &pk[i], t, &d));
	}
	while ((p = htb_dequeue(h, t, &d)))
		;
	uint64_t wake = htb_next_event(h, t);
	assert_true(wake > t + 4 * MS && wake < t + 9 * MS);
	t += 1 * MS;
	assert_true(htb_enqueue(h, 0, &pk[19], t, &d));
	assert_int_equal(htb_next_event(h, t), t);
	assert_ptr_equal(htb_dequeue(h, t, &d), &pk[19]);
	assert_int_equal(htb_next_event(h, t), wake);
	while (htb_next_event(h, t) != UINT64_MAX)
		while ((p = htb_dequeue(h, t = htb_next_event(h, t), &d)))
			;
	assert_null(d);
	htb_free(h);
}

static void test_paced_leaf(void **state)
{
	/* pcq-rate=1M: 1000 bytes every 8 ms after the 0.1 s bucket (12 packets) */
	pace_run(QK_PCQ, 100, 8 * MS, 12);
	/* cake bandwidth=1M: every 8 ms from the first packet on */
	pace_run(QK_CAKE, 100, 8 * MS, 0);
}

static void test_drops_and_reset(void **state)
{
	struct htb_class_cfg c[] = { cls(-1, 0, 1 * M, 8), cls(0, 0, 0, 8), cls(0, 0, 0, 8) };
	struct sim *s = sim_new(c, 3, 0);
	struct htb_stats a, b, p;

	/* the queues are full (pfifo of QLIMIT): further offers are refused */
	sim_load(s, 1, true);
	sim_load(s, 2, true);
	struct qpkt x = { .len = PKT }, *d = NULL;
	assert_false(htb_enqueue(s->h, 1, &x, 0, &d));
	assert_false(htb_enqueue(s->h, 1, &x, 0, &d));
	assert_false(htb_enqueue(s->h, 2, &x, 0, &d));
	assert_null(d);
	htb_stats(s->h, 1, &a);
	htb_stats(s->h, 2, &b);
	htb_stats(s->h, 0, &p);
	assert_int_equal(a.dropped, 2);
	assert_int_equal(b.dropped, 1);
	assert_int_equal(p.dropped, 3);
	assert_int_equal(p.queued_packets, 2 * QLIMIT);
	assert_int_equal(p.queued_bytes, 2 * QLIMIT * PKT);

	sim_run(s, 3 * NS);
	htb_stats(s->h, 1, &a);
	htb_stats(s->h, 2, &b);
	htb_stats(s->h, 0, &p);
	assert_true(a.packets > 0 && b.packets > 0);
	assert_int_equal(p.bytes, a.bytes + b.bytes);
	assert_int_equal(p.dropped, a.dropped + b.dropped);

	htb_reset_stats(s->h, 1);
	htb_stats(s->h, 1, &a);
	htb_stats(s->h, 2, &b);
	htb_stats(s->h, 0, &p);
	assert_int_equal(a.bytes, 0);
	assert_int_equal(a.packets, 0);
	assert_int_equal(a.dropped, 0);
	assert_int_equal(p.bytes, b.bytes);
	assert_int_equal(p.packets, b.packets);
	assert_int_equal(p.dropped, b.dropped);
	htb_reset_stats(s->h, -1);
	htb_stats(s->h, 0, &p);
	assert_int_equal(p.bytes, 0);
	assert_int_equal(p.dropped, 0);
	htb_stats(s->h, 99, &p);
	assert_int_equal(p.bytes, 0);
	sim_free(s);
}

/* A fresh build of c for htb_update to take its parameters from. */
static struct htb *rebuilt(const struct htb_class_cfg *c, size_t n, uint64_t now)
{
	char err[128] = "";
	struct htb *h = htb_new(c, n, 0, now, err, sizeof(err));
	if (!h)
		fail_msg("htb_new: %s", err);
	return h;
}

/* A change of max-limit, priority or queue type applies to the running
 * scheduler: its backlog and counters stay, the new parameters rule from
 * then on. */
static void test_update_in_place(void **state)
{
	struct htb_class_cfg c[] = {
		cls(-1, 0, 10 * M, 8),
		cls(0, 1 * M, 10 * M, 1),
		cls(0, 1 * M, 3 * M, 8),
	};
	struct sim *s = sim_new(c, 3, 0);
	struct htb_stats before[3], after[3];
	struct qpkt *d = NULL;

	print_message("parameters changed in place:\n");
	sim_load(s, 1, true);
	sim_load(s, 2, true);
	sim_measure(s);
	qfx_expect_rate("p1 leaf", sim_bps(s, 1), 9e6, 0.02);
	qfx_expect_rate("p8 leaf, max-limit 3M", sim_bps(s, 2), 1e6, 0.02);
	for (int i = 0; i < 3; i++)
		htb_stats(s->h, i, &before[i]);

	/* priorities swapped */
	c[1].priority = 8;
	c[2].priority = 1;
	struct htb *h2 = rebuilt(c, 3, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), 0);
	htb_free(h2);
	assert_null(d);
	for (int i = 0; i < 3; i++) {
		htb_stats(s->h, i, &after[i]);
		assert_int_equal(after[i].packets, before[i].packets);
		assert_int_equal(after[i].bytes, before[i].bytes);
		assert_int_equal(after[i].queued_packets, before[i].queued_packets);
		assert_true(after[i].rate_bps > 0);   /* the estimator goes on */
	}
	assert_int_equal(after[1].queued_packets, QLIMIT);
	sim_measure(s);
	qfx_expect_rate("after: the old p1 leaf, now p8", sim_bps(s, 1), 7e6, 0.02);
	qfx_expect_rate("after: the old p8 leaf, now p1", sim_bps(s, 2), 3e6, 0.02);

	/* its max-limit 3M -> 10M */
	c[2].max_limit = 10 * M;
	h2 = rebuilt(c, 3, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), 0);
	htb_free(h2);
	sim_measure(s);
	qfx_expect_rate("after: p8", sim_bps(s, 1), 1e6, 0.02);
	qfx_expect_rate("after: p1 max-limit 10M", sim_bps(s, 2), 9e6, 0.02);

	/* the parent's max-limit 10M -> 4M, at once */
	c[0].max_limit = 4 * M;
	h2 = rebuilt(c, 3, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), 0);
	htb_free(h2);
	sim_measure(s);
	qfx_expect_rate("after: parent 4M, p8", sim_bps(s, 1), 1e6, 0.02);
	qfx_expect_rate("after: parent 4M, p1", sim_bps(s, 2), 3e6, 0.02);

	/* a smaller pfifo: what does not fit is dropped and counted; sfq
	 * takes the backlog as it is */
	sim_load(s, 1, false);
	sim_load(s, 2, false);
	htb_stats(s->h, 1, &before[1]);
	assert_int_equal(before[1].queued_packets, QLIMIT);
	c[1].queue.pfifo_limit = QLIMIT / 4;
	qdisc_cfg_default(&c[2].queue, QK_SFQ);
	h2 = rebuilt(c, 3, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), 0);
	htb_free(h2);
	unsigned nd = 0;
	for (struct qpkt *x = d; x; x = x->next)
		nd++;
	assert_int_equal(nd, QLIMIT - QLIMIT / 4);
	htb_stats(s->h, 1, &after[1]);
	htb_stats(s->h, 2, &after[2]);
	assert_int_equal(after[1].queued_packets, QLIMIT / 4);
	assert_int_equal(after[1].dropped, before[1].dropped + nd);
	assert_int_equal(after[2].queued_packets, QLIMIT);
	sim_release(s, d);
	d = NULL;
	sim_run(s, s->now + 2 * NS);
	htb_stats(s->h, 1, &after[1]);
	htb_stats(s->h, 2, &after[2]);
	assert_int_equal(after[1].queued_packets + after[2].queued_packets, 0);

	/* another shape is refused and changes nothing */
	struct htb_class_cfg c4[] = { c[0], c[1], c[2], cls(0, 0, 0, 8) };
	h2 = rebuilt(c4, 4, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), -1);
	assert_false(htb_same_shape(s->h, h2));
	htb_free(h2);
	c[2].parent = 1;
	h2 = rebuilt(c, 3, s->now);
	assert_int_equal(htb_update(s->h, h2, s->now, &d), -1);
	htb_free(h2);
	assert_null(d);
	sim_free(s);
}

/* htb_take_leaf: everything the leaf holds, in order, and the scheduler
 * knows it is empty. */
static void test_take_leaf(void **state)
{
	struct htb_class_cfg c[] = { cls(-1, 0, 1 * M, 8), cls(0, 0, 0, 8), cls(0, 0, 0, 8) };
	struct sim *s = sim_new(c, 3, 0);
	sim_load(s, 1, true);
	sim_load(s, 2, true);
	struct qpkt *l = htb_take_leaf(s->h, 1, s->now);
	unsigned n = 0;
	for (struct qpkt *x = l; x; x = x->next) {
		assert_int_equal(x->user, 1);
		n++;
	}
	assert_int_equal(n, QLIMIT);
	sim_release(s, l);
	assert_null(htb_take_leaf(s->h, 0, s->now));   /* not a leaf */
	struct htb_stats st;
	htb_stats(s->h, 1, &st);
	assert_int_equal(st.queued_packets, 0);
	assert_int_equal(st.packets, 0);
	sim_load(s, 1, false);
	sim_run(s, s->now + 2 * NS);
	htb_stats(s->h, 1, &st);
	assert_int_equal(st.packets, 0);
	htb_stats(s->h, 2, &st);
	assert_true(st.packets > 0);
	sim_free(s);
}

static void test_build_errors(void **state)
{
	char err[256];
	struct htb_class_cfg bad_parent[] = { cls(1, 0, 0, 8), cls(-1, 0, 0, 8) };
	struct htb_class_cfg self_parent[] = { cls(0, 0, 0, 8) };
	struct htb_class_cfg bad_prio[] = { cls(-1, 0, 0, 8), cls(0, 0, 0, 9) };
	struct htb_class_cfg zero_prio[] = { cls(-1, 0, 0, 0) };
	struct htb_class_cfg deep[9];

	assert_null(htb_new(bad_parent, 2, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "parent"));
	assert_null(htb_new(self_parent, 1, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "parent"));
	assert_null(htb_new(bad_prio, 2, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "priority"));
	assert_null(htb_new(zero_prio, 1, 0, 0, NULL, 0));
	for (int i = 0; i < 9; i++)
		deep[i] = cls(i - 1, 0, 0, 8);
	assert_null(htb_new(deep, 9, 0, 0, err, sizeof(err)));
	assert_non_null(strstr(err, "deep"));
	struct htb *h = htb_new(deep, 7, 0, 0, err, sizeof(err));   /* 7 levels are fine */
	assert_non_null(h);
	assert_true(htb_is_leaf(h, 6));
	htb_free(h);
	h = htb_new(NULL, 0, 0, 0, err, sizeof(err));
	assert_non_null(h);
	assert_int_equal(htb_nclasses(h), 0);
	assert_int_equal(htb_next_event(h, 0), UINT64_MAX);
	htb_free(h);
	htb_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build_errors),
		cmocka_unit_test(test_next_event),
		cmocka_unit_test(test_paced_leaf),
		cmocka_unit_test(test_paced_leaf_new_flow),
		cmocka_unit_test(test_drops_and_reset),
		cmocka_unit_test(test_update_in_place),
		cmocka_unit_test(test_take_leaf),
		cmocka_unit_test(test_shares),
		cmocka_unit_test(test_example3_oversubscribed),
		cmocka_unit_test(test_within_rate_past_saturated_parent),
		cmocka_unit_test(test_inner_limit_at_burst),
		cmocka_unit_test(test_single_leaf_max_limit),
		cmocka_unit_test(test_borrowing),
		cmocka_unit_test(test_nested),
		cmocka_unit_test(test_queue_kinds),
		cmocka_unit_test(test_link_rate),
		cmocka_unit_test(test_burst),
		cmocka_unit_test(test_random_trees),
		cmocka_unit_test(test_random_updates),
		cmocka_unit_test(test_many_classes),
		cmocka_unit_test(test_throughput),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
