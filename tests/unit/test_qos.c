/*
 * qos: which stages a packet passes, built from a store: simple queues are
 * ordered (first match wins; upload by source, download by destination),
 * queue trees take every packet whose mark a leaf names, at global and at
 * the out-interface, FastTrack skips global trees and simple queues.
 */
#include "qos_fixture.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/runtime.h"
#include "engine/names.h"
#include "qos/qos.h"

struct fx {
	struct store *st;
	struct conf_session s;
	struct qos *q;
};

static struct fx *build(const char *script)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e;
	assert_int_equal(store_open(&f->st, ":memory:", &e), 0);
	conf_session_init(&f->s, f->st, "test");
	assert_int_equal(conf_store_init(&f->s, false, &e), 0);
	if (conf_import(&f->s, script, "test", 0, NULL, &e) < 0)
		fail_msg("line %d: %s", e.line, e.msg);
	char err[256] = "";
	f->q = qos_build(f->st, 1000000000ull, err, sizeof(err));
	if (!f->q)
		fail_msg("qos_build: %s", err);
	return f;
}

static void free_list(struct qpkt *d)
{
	while (d) {
		struct qpkt *n = d->next;
		free(d);
		d = n;
	}
}

/* Frees the fixture and the packets the queues still hold (they are the
 * test's: qos_free leaves them to the caller). qos_drain lets go of them an
 * hour after the `now` given, past the clock of any test here. */
static void done(struct fx *f)
{
	free_list(qos_drain(f->q, 0));
	qos_free(f->q);
	conf_session_free(&f->s);
	store_close(f->st);
	free(f);
}

static uint32_t id_of(struct fx *f, const char *path, const char *name)
{
	const struct menu *m = schema_find(path);
	const struct item *it = store_by_key(f->st, m, name);
	assert_non_null(it);
	return it->id;
}

/* Hands p to the queues and waits up to 100 ms for it to come out of
 * m->out_if; true when it did. */
static bool through(struct fx *f, struct qpkt *p, const struct qos_meta *m)
{
	struct qpkt *dropped = NULL;
	if (!qos_enqueue(f->q, p, m, 2000000000ull, &dropped))
		return false;
	for (int i = 0; i < 100; i++) {
		struct qpkt *x = qos_dequeue(f->q, m->out_if, 2000000000ull + (uint64_t)i * 1000000,
					     &dropped);
		if (x)
			return x == p;
	}
	return false;
}

/* Sends one packet through and out; returns true when it came out. */
static bool pass(struct fx *f, const char *mark, const char *src, const char *dst,
		 const char *out_if, bool fasttrack)
{
	static struct qpkt p;
	memset(&p, 0, sizeof(p));
	p.len = 1000;
	struct qos_meta m = { 0 };
	m.packet_mark = mark ? name_intern(NS_MARK, mark) : 0;
	m.in_if = (uint16_t)name_intern(NS_IFACE, "ether2");
	m.out_if = (uint16_t)name_intern(NS_IFACE, out_if);
	assert_int_equal(parse_ip4(src, &m.src), 0);
	assert_int_equal(parse_ip4(dst, &m.dst), 0);
	m.fasttrack = fasttrack;
	return through(f, &p, &m);
}

/* The same for an IPv6 packet (its addresses in the qpkt, the meta's IPv4
 * ones zero, as the dataplane and the simulator hand them). */
static bool pass6(struct fx *f, const char *src, const char *dst, const char *in_if,
		  const char *out_if)
{
	static struct qpkt p;
	memset(&p, 0, sizeof(p));
	p.len = 1000;
	p.family = 6;
	assert_int_equal(parse_ip6(src, p.src6), 0);
	assert_int_equal(parse_ip6(dst, p.dst6), 0);
	struct qos_meta m = { 0 };
	m.in_if = (uint16_t)name_intern(NS_IFACE, in_if);
	m.out_if = (uint16_t)name_intern(NS_IFACE, out_if);
	return through(f, &p, &m);
}

static uint64_t packets(struct fx *f, uint32_t id, bool down)
{
	struct htb_stats up, dn;
	assert_true(qos_queue_stats(f->q, id, &up, &dn));
	return down ? dn.packets : up.packets;
}

static void test_simple_first_match(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=host target=192.168.88.10/32 max-limit=1M/2M\n"
			     "add name=lan target=192.168.88.0/24 max-limit=10M/20M\n");
	uint32_t host = id_of(f, "/queue/simple", "host"), lan = id_of(f, "/queue/simple", "lan");
	/* upload: the source is in the target; the first queue in order takes it */
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, host, false), 1);
	assert_int_equal(packets(f, lan, false), 0);
	/* another host of the /24: the second queue */
	assert_true(pass(f, NULL, "192.168.88.20", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, lan, false), 1);
	/* download: the destination is in the target */
	assert_true(pass(f, NULL, "1.1.1.1", "192.168.88.10", "ether2", false));
	assert_int_equal(packets(f, host, true), 1);
	/* moving lan first makes it take everything */
	struct err e;
	assert_int_equal(conf_exec(&f->s, "/queue simple move lan 0", NULL, &e), 0);
	qos_free(f->q);
	char err[128];
	f->q = qos_build(f->st, 1000000000ull, err, sizeof(err));
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, lan, false), 1);
	assert_int_equal(packets(f, host, false), 0);
	done(f);
}

static void test_trees_global_and_interface(void **state)
{
	(void)state;
	struct fx *f = build("/queue tree\n"
			     "add name=g parent=global max-limit=100M\n"
			     "add name=g-voip parent=g packet-mark=voip\n"
			     "add name=up parent=ether1 max-limit=10M\n"
			     "add name=up-voip parent=up packet-mark=voip priority=1\n"
			     "add name=up-rest parent=up packet-mark=rest priority=8\n");
	uint32_t gv = id_of(f, "/queue/tree", "g-voip"), uv = id_of(f, "/queue/tree", "up-voip"),
		 ur = id_of(f, "/queue/tree", "up-rest");
	/* a marked packet passes the global tree, then its interface's */
	assert_true(pass(f, "voip", "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, gv, false), 1);
	assert_int_equal(packets(f, uv, false), 1);
	/* another mark: only the interface leaf that names it */
	assert_true(pass(f, "rest", "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, ur, false), 1);
	assert_int_equal(packets(f, gv, false), 1);
	/* unmarked packets and other interfaces go straight out */
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_true(pass(f, "voip", "1.1.1.1", "192.168.88.10", "ether2", false));
	assert_int_equal(packets(f, gv, false), 2);
	assert_int_equal(packets(f, uv, false), 1);
	/* FastTrack skips the global tree but not the interface tree */
	assert_true(pass(f, "voip", "192.168.88.10", "1.1.1.1", "ether1", true));
	assert_int_equal(packets(f, gv, false), 2);
	assert_int_equal(packets(f, uv, false), 2);
	done(f);
}

static void test_fasttrack_skips_simple_queues(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\nadd name=all target=192.168.88.0/24\n");
	uint32_t all = id_of(f, "/queue/simple", "all");
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", true));
	assert_int_equal(packets(f, all, false), 0);
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, all, false), 1);
	done(f);
}

/* qos_drain hands back every packet the queues hold, wherever it waits (a
 * global tree, a simple queue, an interface tree, the direct queue), and
 * leaves them empty. */
static void test_drain(void **state)
{
	(void)state;
	struct fx *f = build("/queue tree\n"
			     "add name=g parent=global max-limit=1M packet-mark=g\n"
			     "add name=up parent=ether1 max-limit=1M packet-mark=up\n"
			     "/queue simple\n"
			     "add name=s target=192.168.88.20/32 max-limit=1M/1M\n");
	enum { N = 40 };
	static struct qpkt p[N];
	const char *marks[] = { "g", "up", NULL, NULL };
	const char *srcs[] = { "192.168.88.10", "192.168.88.10", "192.168.88.20", "192.168.88.10" };
	size_t queued = 0;
	for (int i = 0; i < N; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].len = 1500;
		struct qos_meta m = { 0 };
		m.packet_mark = marks[i % 4] ? name_intern(NS_MARK, marks[i % 4]) : 0;
		m.in_if = (uint16_t)name_intern(NS_IFACE, "ether2");
		m.out_if = (uint16_t)name_intern(NS_IFACE, "ether1");
		assert_int_equal(parse_ip4(srcs[i % 4], &m.src), 0);
		assert_int_equal(parse_ip4("1.1.1.1", &m.dst), 0);
		struct qpkt *dropped = NULL;
		queued += qos_enqueue(f->q, &p[i], &m, 2000000000ull, &dropped);
		assert_null(dropped);
	}
	assert_int_equal(queued, N);
	assert_int_not_equal(qos_next_event(f->q, 2000000000ull), UINT64_MAX);
	size_t n = 0;
	bool seen[N] = { false };
	for (struct qpkt *x = qos_drain(f->q, 2000000000ull); x; x = x->next) {
		ptrdiff_t k = x - p;
		assert_true(k >= 0 && k < N);
		assert_false(seen[k]);
		seen[k] = true;
		n++;
	}
	assert_int_equal(n, N);
	assert_int_equal(qos_next_event(f->q, 2000000000ull), UINT64_MAX);
	done(f);
}

/* Enqueues n 1500-byte packets of a mark (or from src) out of ether1 at t. */
static void offer_n(struct fx *f, struct qpkt *p, int n, const char *mark, const char *src,
		    uint64_t t)
{
	for (int i = 0; i < n; i++) {
		memset(&p[i], 0, sizeof(p[i]));
		p[i].len = 1500;
		struct qos_meta m = { 0 };
		m.packet_mark = mark ? name_intern(NS_MARK, mark) : 0;
		m.in_if = (uint16_t)name_intern(NS_IFACE, "ether2");
		m.out_if = (uint16_t)name_intern(NS_IFACE, "ether1");
		assert_int_equal(parse_ip4(src, &m.src), 0);
		assert_int_equal(parse_ip4("1.1.1.1", &m.dst), 0);
		struct qpkt *dropped = NULL;
		assert_true(qos_enqueue(f->q, &p[i], &m, t, &dropped));
		assert_null(dropped);
	}
}

/* Dequeues from ether1 at each next event until k packets came out or
 * nothing is left; the times they left in out[]. */
static int leave_times(struct fx *f, uint64_t *t, int k, uint64_t *out)
{
	uint16_t e1 = (uint16_t)name_intern(NS_IFACE, "ether1");
	int n = 0;
	while (n < k) {
		uint64_t e = qos_next_event(f->q, *t);
		if (e == UINT64_MAX)
			break;
		if (e > *t)
			*t = e;
		struct qpkt *d = NULL, *p = qos_dequeue(f->q, e1, *t, &d);
		assert_null(d);
		if (p)
			out[n++] = *t;
	}
	return n;
}

static struct qos *rebuild(struct fx *f, const char *cmd, uint64_t t)
{
	struct err e;
	char err[128] = "";
	if (conf_exec(&f->s, cmd, NULL, &e) < 0)
		fail_msg("%s: %s", cmd, e.msg);
	struct qos *q = qos_build(f->st, t, err, sizeof(err));
	if (!q)
		fail_msg("qos_build: %s", err);
	return q;
}

/* /queue tree set max-limit= under load: the running queue takes the new
 * rate and keeps its backlog and counters (RouterOS applies it without a
 * loss); the simple queue's backlog stays too. */
static void test_change_in_place(void **state)
{
	(void)state;
	struct fx *f = build("/queue type add name=big kind=pfifo pfifo-limit=100\n"
			     "/queue tree\n"
			     "add name=up parent=ether1 max-limit=1M packet-mark=up queue=big\n"
			     "/queue simple\n"
			     "add name=s target=192.168.88.20/32 max-limit=1M/1M queue=big/big\n");
	static struct qpkt p[60];
	uint64_t t = 2 * NS, out[60];
	uint32_t up = id_of(f, "/queue/tree", "up"), s = id_of(f, "/queue/simple", "s");

	offer_n(f, p, 40, "up", "192.168.88.10", t);
	/* the bucket (0.1 s of 1M: 8 packets and one into debt), then one
	 * packet every 12 ms */
	int n = leave_times(f, &t, 14, out);
	assert_int_equal(n, 14);
	assert_int_equal(out[13] - out[12], 12 * MS);
	offer_n(f, p + 40, 20, NULL, "192.168.88.20", t);
	struct htb_stats a, b, sa, sb;
	assert_true(qos_queue_stats(f->q, up, &a, NULL));
	assert_true(qos_queue_stats(f->q, s, &sa, NULL));
	assert_int_equal(a.packets, 14);
	assert_int_equal(a.queued_packets, 26);
	assert_int_equal(sa.queued_packets, 20);

	struct qos *q2 = rebuild(f, "/queue tree set up max-limit=4M", t);
	assert_true(qos_update(f->q, q2, t));
	qos_free(q2);
	q2 = rebuild(f, "/queue simple set s max-limit=2M/2M priority=3/3", t);
	assert_true(qos_update(f->q, q2, t));
	qos_free(q2);
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_true(qos_queue_stats(f->q, s, &sb, NULL));
	assert_int_equal(b.packets, a.packets);
	assert_int_equal(b.bytes, a.bytes);
	assert_int_equal(b.queued_packets, a.queued_packets);
	assert_int_equal(sb.queued_packets, sa.queued_packets);
	/* 4M: one packet every 3 ms once the debt of 1M is paid */
	n = leave_times(f, &t, 60, out);
	assert_int_equal(n, 46);
	int tree_steps = 0;
	for (int i = 1; i < n; i++)
		if (out[i] - out[i - 1] == 3 * MS)
			tree_steps++;
	if (tree_steps < 10)
		fail_msg("only %d packets 3 ms apart after max-limit=4M", tree_steps);
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_int_equal(b.packets, 40);
	assert_int_equal(b.queued_packets, 0);
	assert_true(qos_queue_stats(f->q, s, &sb, NULL));
	assert_int_equal(sb.packets, 20);
	done(f);
}

/* A structural change (a queue added, one removed) rebuilds; the packets
 * of the queues that stay go into the new build with their counters, those
 * of a removed queue move on unshaped; nothing is lost. */
static void test_rebuild_carries_packets(void **state)
{
	(void)state;
	struct fx *f = build("/queue type add name=big kind=pfifo pfifo-limit=100\n"
			     "/queue tree\n"
			     "add name=g parent=global max-limit=1M packet-mark=g queue=big\n"
			     "add name=up parent=ether1 max-limit=1M packet-mark=up queue=big\n"
			     "/queue simple\n"
			     "add name=s target=192.168.88.20/32 max-limit=1M/1M queue=big/big\n");
	static struct qpkt p[60];
	uint64_t t = 2 * NS;
	uint32_t up = id_of(f, "/queue/tree", "up"), s = id_of(f, "/queue/simple", "s");
	offer_n(f, p, 20, "up", "192.168.88.10", t);
	offer_n(f, p + 20, 20, NULL, "192.168.88.20", t);
	offer_n(f, p + 40, 20, "g", "192.168.88.10", t);
	uint64_t out[60];
	int n0 = leave_times(f, &t, 20, out);
	assert_int_equal(n0, 20);
	struct htb_stats a, sa, b, sb;
	assert_true(qos_queue_stats(f->q, up, &a, NULL));
	assert_true(qos_queue_stats(f->q, s, &sa, NULL));

	struct qos *q2 = rebuild(f, "/queue tree add name=up2 parent=ether1 max-limit=1M "
				    "packet-mark=other", t);
	assert_false(qos_update(f->q, q2, t));
	qos_carry_stats(q2, f->q);
	qos_carry_packets(q2, f->q, t);
	assert_null(qos_drain(f->q, t));   /* the old build is empty */
	qos_free(f->q);
	f->q = q2;
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_true(qos_queue_stats(f->q, s, &sb, NULL));
	assert_int_equal(b.packets, a.packets);
	assert_int_equal(b.queued_packets, a.queued_packets);
	assert_int_equal(sb.queued_packets, sa.queued_packets);

	/* g goes: what it held leaves at once, unshaped */
	struct htb_stats g;
	assert_true(qos_queue_stats(f->q, id_of(f, "/queue/tree", "g"), &g, NULL));
	assert_true(g.queued_packets > 0);
	q2 = rebuild(f, "/queue tree remove g", t);
	assert_false(qos_update(f->q, q2, t));
	qos_carry_stats(q2, f->q);
	qos_carry_packets(q2, f->q, t);
	qos_free(f->q);
	f->q = q2;
	uint16_t e1 = (uint16_t)name_intern(NS_IFACE, "ether1");
	int now_out = 0, of_g = 0;
	struct qpkt *x, *d = NULL;
	while ((x = qos_dequeue(f->q, e1, t, &d))) {
		of_g += x >= p + 40;
		now_out++;
	}
	assert_null(d);
	assert_int_equal(of_g, g.queued_packets);
	int n1 = leave_times(f, &t, 60, out);
	assert_int_equal(n0 + now_out + n1, 60);
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_int_equal(b.packets, 20);
	done(f);
}

/* qos_apply, a running router's step after a commit: the first build from
 * nothing; new parameters go into the running queues (the same queues
 * come back, their backlog kept); a queue added: a new build that took the
 * backlog and the counters; a build that fails (a parent loop) gives NULL
 * and the running queues are left as they were. */
static void test_apply(void **state)
{
	(void)state;
	struct fx *f = build("/queue type add name=big kind=pfifo pfifo-limit=100\n"
			     "/queue tree\n"
			     "add name=up parent=ether1 max-limit=1M packet-mark=up queue=big\n");
	static struct qpkt p[30];
	uint64_t t = 2 * NS, out[30];
	uint32_t up = id_of(f, "/queue/tree", "up");
	char err[128] = "";
	struct qos *q = qos_apply(NULL, f->st, t, err, sizeof(err));
	assert_non_null(q);
	qos_free(q);

	offer_n(f, p, 30, "up", "192.168.88.10", t);
	assert_int_equal(leave_times(f, &t, 10, out), 10);
	struct htb_stats a, b;
	assert_true(qos_queue_stats(f->q, up, &a, NULL));
	assert_int_equal(a.queued_packets, 20);
	struct err e;
	assert_int_equal(conf_exec(&f->s, "/queue tree set up max-limit=2M", NULL, &e), 0);
	assert_ptr_equal(qos_apply(f->q, f->st, t, err, sizeof(err)), f->q);
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_int_equal(b.queued_packets, 20);
	assert_int_equal(b.packets, a.packets);

	assert_int_equal(conf_exec(&f->s, "/queue tree add name=up2 parent=ether1 max-limit=1M "
					  "packet-mark=other", NULL, &e), 0);
	q = qos_apply(f->q, f->st, t, err, sizeof(err));
	assert_non_null(q);
	assert_ptr_not_equal(q, f->q);
	assert_null(qos_drain(f->q, t)); /* the old build gave everything over */
	qos_free(f->q);
	f->q = q;
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_int_equal(b.queued_packets, 20);
	assert_int_equal(b.packets, a.packets);
	assert_int_equal(b.bytes, a.bytes);

	assert_int_equal(conf_exec(&f->s, "/queue tree set up parent=up2", NULL, &e), 0);
	assert_int_equal(conf_exec(&f->s, "/queue tree set up2 parent=up", NULL, &e), 0);
	err[0] = 0;
	assert_null(qos_apply(f->q, f->st, t, err, sizeof(err)));
	assert_non_null(strstr(err, "parent loop"));
	assert_true(qos_queue_stats(f->q, up, &b, NULL));
	assert_int_equal(b.queued_packets, 20);
	assert_int_equal(leave_times(f, &t, 30, out), 20);
	done(f);
}

/* Which commits rebuild the queues: /queue and /interface menus do, the
 * firewall and addresses do not. */
static void test_reads(void **state)
{
	(void)state;
	const char *rebuild[] = { "/queue/tree", "/queue/simple", "/queue/type", "/interface/ethernet",
				  "/interface/vlan", "/interface" };
	const char *keep[] = { "/ip/firewall/filter", "/ip/firewall/mangle", "/ip/firewall/address-list",
			       "/ip/address", "/system/identity" };
	size_t nw = (schema_nmenus + 63) / 64;
	uint64_t *bits = calloc(nw, sizeof(*bits));
	assert_false(qos_reads(bits, nw));
	for (size_t k = 0; k < sizeof(keep) / sizeof(keep[0]); k++) {
		size_t i = schema_index(schema_find(keep[k]));
		bits[i / 64] |= 1ull << (i % 64);
	}
	assert_false(qos_reads(bits, nw));
	for (size_t k = 0; k < sizeof(rebuild) / sizeof(rebuild[0]); k++) {
		const struct menu *m = schema_find(rebuild[k]);
		assert_non_null(m);
		size_t i = schema_index(m);
		bits[i / 64] |= 1ull << (i % 64);
		assert_true(qos_reads(bits, nw));
		bits[i / 64] &= ~(1ull << (i % 64));
	}
	free(bits);
}

static void test_queue_type_of_a_leaf(void **state)
{
	(void)state;
	/* a full leaf queue drops: default-small holds 10 packets */
	struct fx *f = build("/queue tree\nadd name=slow parent=ether1 packet-mark=x max-limit=8k\n");
	struct qos_meta m = { .packet_mark = name_intern(NS_MARK, "x"),
			      .out_if = (uint16_t)name_intern(NS_IFACE, "ether1") };
	int queued = 0;
	for (int i = 0; i < 20; i++) {
		struct qpkt *p = calloc(1, sizeof(*p)), *dropped = NULL;
		p->len = 1000;
		if (qos_enqueue(f->q, p, &m, 2000000000ull, &dropped))
			queued++;
		else
			free(p);
		free_list(dropped);
	}
	/* one may leave at once (the bucket), ten wait, the rest are dropped */
	assert_in_range(queued, 10, 11);
	done(f);
}

/* True when a log line logged from seq on has these topics and says this. */
static bool logged_since(uint64_t seq, const char *topics, const char *needle)
{
	static struct conf_log_entry l[64];
	uint64_t next;
	size_t n = conf_log_since(seq, l, 64, &next);
	for (size_t i = 0; i < n; i++)
		if (!strcmp(l[i].topics, topics) && strstr(l[i].message, needle))
			return true;
	return false;
}

static uint64_t log_seq(void)
{
	static struct conf_log_entry l[1];
	uint64_t next;
	conf_log_since(UINT64_MAX, l, 1, &next);
	return next;
}

/*
 * The command layer refuses a queue type that does not exist; a store that
 * names one anyway (written before the check) runs pfifo and the log says
 * which queue, never silently.
 */
static void test_missing_queue_type_logged(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\nadd name=host target=192.168.88.10/32\n"
			     "/queue tree\nadd name=leaf parent=global packet-mark=x\n");
	struct err e;
	assert_int_not_equal(conf_exec(&f->s, "/queue simple set host queue=gone/default", NULL, &e),
			     0);
	assert_non_null(strstr(e.msg, "gone"));
	assert_int_not_equal(conf_exec(&f->s, "/queue tree set leaf queue=gone", NULL, &e), 0);
	/* behind the command layer's back */
	const struct menu *m = schema_find("/queue/simple");
	const struct item *it = store_by_key(f->st, m, "host");
	struct item *bad = item_dup(m, it);
	item_set(m, bad, schema_prop(m, "queue", NULL), "gone/default");
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(store_replace(f->st, m, it->id, bad, &e), 0);
	assert_int_equal(store_commit(f->st, "test", "edit", &e), 0);
	uint64_t seq = log_seq();
	qos_free(f->q);
	char err[128];
	f->q = qos_build(f->st, 1000000000ull, err, sizeof(err));
	assert_non_null(f->q);
	qos_log_warnings(f->q, NULL);
	assert_true(logged_since(seq, "queue,warning", "/queue/simple host: queue type 'gone'"));
	/* the download side names a real type: nothing said of it */
	assert_false(logged_since(seq, "queue,warning", "'default'"));
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	/* said once while it lasts: a rebuild for another change says nothing */
	assert_int_equal(conf_exec(&f->s, "/queue tree set leaf max-limit=1M", NULL, &e), 0);
	seq = log_seq();
	struct qos *q2 = qos_build(f->st, 2000000000ull, err, sizeof(err));
	assert_non_null(q2);
	qos_log_warnings(q2, f->q);
	assert_false(logged_since(seq, "queue,warning", "queue type 'gone'"));
	/* mended, then broken again: said again */
	struct qos *q3 = qos_build(f->st, 3000000000ull, err, sizeof(err));
	assert_int_equal(conf_exec(&f->s, "/queue type add name=gone kind=sfq", NULL, &e), 0);
	struct qos *q4 = qos_build(f->st, 4000000000ull, err, sizeof(err));
	qos_log_warnings(q4, q3);
	assert_false(logged_since(seq, "queue,warning", "queue type 'gone'"));
	assert_int_equal(conf_exec(&f->s, "/queue simple set host queue=default/default", NULL, &e),
			 0);
	assert_int_equal(conf_exec(&f->s, "/queue type remove gone", NULL, &e), 0);
	item_set(m, (bad = item_dup(m, store_by_key(f->st, m, "host"))), schema_prop(m, "queue", NULL),
		 "gone/default");
	assert_int_equal(store_begin(f->st, &e), 0);
	assert_int_equal(store_replace(f->st, m, bad->id, bad, &e), 0);
	assert_int_equal(store_commit(f->st, "test", "edit", &e), 0);
	struct qos *q5 = qos_build(f->st, 5000000000ull, err, sizeof(err));
	qos_log_warnings(q5, q4);
	assert_true(logged_since(seq, "queue,warning", "/queue/simple host: queue type 'gone'"));
	qos_free(q2);
	qos_free(q3);
	qos_free(q4);
	qos_free(q5);
	done(f);
}

/*
 * Simple queue targets of both families: an IPv6 network takes IPv6
 * packets by source (upload) or destination (download), never IPv4 ones;
 * an IPv4 network, even 0.0.0.0/0, never takes IPv6 ones; an interface
 * takes both; dst= as an IPv6 network narrows an IPv6 target.
 */
static void test_simple_ipv6_targets(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=v6web target=2001:db8:1::/64 dst=2001:db8:ff::80/128\n"
			     "add name=v6 target=2001:db8:1::/64,2001:db8:2::5\n"
			     "add name=v4all target=0.0.0.0/0\n"
			     "add name=wlan target=wlan1\n");
	uint32_t v6web = id_of(f, "/queue/simple", "v6web"), v6 = id_of(f, "/queue/simple", "v6");
	uint32_t v4all = id_of(f, "/queue/simple", "v4all"), wlan = id_of(f, "/queue/simple", "wlan");
	const struct {
		const char *src, *dst, *in_if, *out_if;
		uint32_t *queue;
		bool down;
	} rows[] = {
		{ "2001:db8:1::10", "2001:db8:ff::1", "ether2", "ether1", &v6, false },
		{ "2001:db8:ff::1", "2001:db8:1::10", "ether1", "ether2", &v6, true },
		{ "2001:db8:1::10", "2001:db8:ff::80", "ether2", "ether1", &v6web, false },
		{ "2001:db8:ff::80", "2001:db8:1::10", "ether1", "ether2", &v6web, true },
		{ "2001:db8:2::5", "2001:db8:ff::1", "ether2", "ether1", &v6, false },
		/* outside every IPv6 target: v4all must not take it, the interface does */
		{ "2001:db8:2::6", "2001:db8:ff::1", "wlan1", "ether1", &wlan, false },
		{ "2001:db8:ff::1", "2001:db8:3::1", "ether1", "wlan1", &wlan, true },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		uint64_t before = packets(f, *rows[i].queue, rows[i].down);
		assert_true(pass6(f, rows[i].src, rows[i].dst, rows[i].in_if, rows[i].out_if));
		if (packets(f, *rows[i].queue, rows[i].down) != before + 1)
			fail_msg("row %zu: %s > %s not in the expected queue", i, rows[i].src,
				 rows[i].dst);
	}
	assert_int_equal(packets(f, v4all, false) + packets(f, v4all, true), 0);
	/* IPv6 not in any target and not on wlan1: no queue counts it */
	assert_true(pass6(f, "2001:db8:9::1", "2001:db8:ff::1", "ether2", "ether1"));
	assert_int_equal(packets(f, v4all, false), 0);
	/* IPv4 still goes by its own targets */
	assert_true(pass(f, NULL, "192.168.88.10", "1.1.1.1", "ether1", false));
	assert_int_equal(packets(f, v4all, false), 1);
	done(f);
}

static void test_simple_queue_time(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=office target=192.168.88.0/24 time=8h-17h,mon,tue,wed,thu,fri\n"
			     "add name=other target=192.168.88.0/24\n");
	uint32_t office = id_of(f, "/queue/simple", "office"), other = id_of(f, "/queue/simple", "other");
	static struct qpkt p;
	struct qos_meta m = { .out_if = (uint16_t)name_intern(NS_IFACE, "ether1") };
	parse_ip4("192.168.88.10", &m.src);
	parse_ip4("1.1.1.1", &m.dst);
	struct qpkt *dropped;
	/* monday 2026-11-23 10:00 local: the office queue */
	m.wall = 1795428000;
	p = (struct qpkt){ .len = 100 };
	assert_true(qos_enqueue(f->q, &p, &m, 2000000000ull, &dropped));
	assert_non_null(qos_dequeue(f->q, m.out_if, 2000000000ull, &dropped));
	assert_int_equal(packets(f, office, false), 1);
	/* the same monday at 20:00: outside, the next queue */
	m.wall = 1795428000 + 10 * 3600;
	p = (struct qpkt){ .len = 100 };
	assert_true(qos_enqueue(f->q, &p, &m, 2000000000ull, &dropped));
	assert_non_null(qos_dequeue(f->q, m.out_if, 2000000000ull, &dropped));
	assert_int_equal(packets(f, other, false), 1);
	/* saturday 10:00: not an office day */
	m.wall = 1795428000 + 5 * 86400;
	p = (struct qpkt){ .len = 100 };
	assert_true(qos_enqueue(f->q, &p, &m, 2000000000ull, &dropped));
	assert_non_null(qos_dequeue(f->q, m.out_if, 2000000000ull, &dropped));
	assert_int_equal(packets(f, other, false), 2);
	done(f);
}

/* ---- rates through the queues, on the explicit clock ---- */


struct load {
	const char *src, *dst, *out_if;
	uint64_t offered_bps;  /* 1000-byte packets at this rate */
	uint64_t next_ns;
	uint64_t bytes;        /* delivered in the measured window */
	struct qos_meta m;
	uint8_t src6[16], dst6[16]; /* when src and dst are IPv6 */
	bool v6;
	const char *mark;
	const char *in_if;     /* "ether2" when not given */
};

/* Offers every load from t0 until t_end and drains the interfaces every
 * 100 us; counts what is delivered from t_measure on. */
static void run_loads(struct fx *f, struct load *l, size_t n, uint64_t t0, uint64_t t_measure,
		      uint64_t t_end)
{
	for (size_t i = 0; i < n; i++) {
		memset(&l[i].m, 0, sizeof(l[i].m));
		l[i].m.in_if = (uint16_t)name_intern(NS_IFACE, l[i].in_if ? l[i].in_if : "ether2");
		l[i].m.out_if = (uint16_t)name_intern(NS_IFACE, l[i].out_if);
		l[i].v6 = strchr(l[i].src, ':') != NULL;
		if (l[i].v6) {
			assert_int_equal(parse_ip6(l[i].src, l[i].src6), 0);
			assert_int_equal(parse_ip6(l[i].dst, l[i].dst6), 0);
		} else {
			assert_int_equal(parse_ip4(l[i].src, &l[i].m.src), 0);
			assert_int_equal(parse_ip4(l[i].dst, &l[i].m.dst), 0);
		}
		l[i].m.packet_mark = l[i].mark ? name_intern(NS_MARK, l[i].mark) : 0;
		/* staggered, so that packets of equal loads arrive in turn */
		l[i].next_ns = t0 + i * (8000ull * NS / l[i].offered_bps) / n;
		l[i].bytes = 0;
	}
	for (uint64_t t = t0; t < t_end; t += 100000) {
		for (;;) {
			size_t i = n;
			for (size_t k = 0; k < n; k++)
				if (l[k].next_ns <= t && (i == n || l[k].next_ns < l[i].next_ns))
					i = k;
			if (i == n)
				break;
			l[i].next_ns += 8000ull * NS / l[i].offered_bps;
			struct qpkt *p = calloc(1, sizeof(*p));
			struct qpkt *dropped = NULL;
			p->len = 1000;
			p->user = (uint32_t)i;
			p->src = l[i].m.src;
			p->dst = l[i].m.dst;
			if (l[i].v6) {
				p->family = 6;
				memcpy(p->src6, l[i].src6, 16);
				memcpy(p->dst6, l[i].dst6, 16);
			}
			p->hash = (uint32_t)i * 0x9e3779b9u + 1;
			if (!qos_enqueue(f->q, p, &l[i].m, t, &dropped))
				free(p);
			free_list(dropped);
		}
		for (size_t i = 0; i < n; i++) {
			struct qpkt *p, *dropped = NULL;
			while ((p = qos_dequeue(f->q, l[i].m.out_if, t, &dropped))) {
				if (t >= t_measure)
					l[p->user].bytes += p->len;
				free(p);
				free_list(dropped);
				dropped = NULL;
			}
			free_list(dropped);
		}
	}
}

/* What a load delivered in the measured window, bit/s. */
static double load_bps(const struct load *l, uint64_t window_ns)
{
	return qfx_bps(l->bytes, window_ns);
}

/*
 * total-*: one limit for upload and download together, on top of each
 * direction's own. Both directions of 192.168.88.10 offered 20M.
 */
static void test_simple_total(void **state)
{
	(void)state;
	static const struct {
		const char *script;
		double up_max, down_max; /* each direction at most (Mbit/s) */
		double total;            /* both together */
	} cases[] = {
		{ "add name=q target=192.168.88.10/32 max-limit=5M/5M total-max-limit=6M\n",
		  5, 5, 6 },
		{ "add name=q target=192.168.88.10/32 max-limit=2M/10M total-max-limit=6M\n",
		  2, 10, 6 },
		/* no total: the directions are independent */
		{ "add name=q target=192.168.88.10/32 max-limit=5M/5M\n", 5, 5, 10 },
		/* a parent's total bounds its children's traffic */
		{ "add name=p target=192.168.88.0/24 total-max-limit=6M\n"
		  "add name=q target=192.168.88.10/32 parent=p max-limit=5M/5M place-before=0\n",
		  5, 5, 6 },
	};
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char script[512];
		snprintf(script, sizeof(script), "/queue simple\n%s", cases[k].script);
		struct fx *f = build(script);
		struct load l[2] = {
			{ .src = "192.168.88.10", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000 },
			{ .src = "1.1.1.1", .dst = "192.168.88.10", .out_if = "ether2", .offered_bps = 20000000 },
		};
		run_loads(f, l, 2, 1 * NS, 2 * NS, 12 * NS);
		double up = load_bps(&l[0], 10 * NS), down = load_bps(&l[1], 10 * NS);
		print_message("case %zu: up %.3f down %.3f Mbit/s\n", k, up / 1e6, down / 1e6);
		assert_true(up <= cases[k].up_max * 1.01e6);
		assert_true(down <= cases[k].down_max * 1.01e6);
		qfx_expect_rate("up + down", up + down, cases[k].total * 1e6, 0.02);
		struct htb_stats t;
		uint32_t q = id_of(f, "/queue/simple", "q");
		assert_int_equal(qos_queue_total_stats(f->q, q, &t), cases[k].total < 10);
		if (cases[k].total < 10) {
			/* both directions want more: they share the total evenly,
			 * as far as their own max-limit lets them */
			double even = cases[k].total / 2;
			double want_up = even < cases[k].up_max ? even : cases[k].up_max;
			qfx_expect_rate("up, an even share", up, want_up * 1e6, 0.02);
			assert_true(t.bytes > 0 && t.dropped > 0);
		}
		done(f);
	}
}

/*
 * What the queue properties do to rates, on the explicit clock: each case a
 * configuration, up to three loads offered 20M, the rate each gets (Mbit/s,
 * within 2%).
 */
static void test_rates(void **state)
{
	(void)state;
#define UP(s_, d_) { .src = s_, .dst = d_, .out_if = "ether1", .offered_bps = 20000000 }
#define UPM(s_, m_) { .src = s_, .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000, \
		      .mark = m_ }
#define UPM6(s_, m_) { .src = s_, .dst = "2001:db8:ffff::1", .out_if = "ether1", \
		       .offered_bps = 20000000, .mark = m_ }
#define DOWN(d_) { .src = "1.1.1.1", .dst = d_, .out_if = "ether2", .offered_bps = 20000000, \
		   .in_if = "ether1" }
	static const struct {
		const char *what, *script;
		struct load l[3];
		double want[3];
	} cases[] = {
		{ "a tree on an interface is shaped to its ethernet speed",
		  "/interface ethernet set [find default-name=ether1] speed=10Mbps\n"
		  "/queue tree add name=up parent=ether1 packet-mark=x\n",
		  { UPM("192.168.88.10", "x") }, { 10 } },
		{ "a faster link lets the offered load through",
		  "/interface ethernet set [find default-name=ether1] speed=100Mbps\n"
		  "/queue tree add name=up parent=ether1 packet-mark=x\n",
		  { UPM("192.168.88.10", "x") }, { 20 } },
		{ "a tree leaf takes every mark of its list",
		  "/queue tree add name=up parent=global packet-mark=a,b max-limit=3M\n",
		  { UPM("192.168.88.20", "b"), UPM("192.168.88.30", "c") }, { 3, 20 } },
		{ "simple queue on an interface target: upload in, download out",
		  "/queue simple add target=ether2 max-limit=2M/4M\n",
		  { UP("192.168.88.10", "1.1.1.1"), DOWN("192.168.88.10") }, { 2, 4 } },
		{ "dst narrows a simple queue to one remote",
		  "/queue simple add target=192.168.88.10/32 dst=8.8.8.8/32 max-limit=1M/1M\n",
		  { UP("192.168.88.10", "8.8.8.8"), UP("192.168.88.10", "1.1.1.1") }, { 1, 20 } },
		{ "packet-marks narrows a simple queue to marked packets",
		  "/queue simple add target=192.168.88.0/24 packet-marks=bulk max-limit=1M/1M\n",
		  { UPM("192.168.88.10", "bulk"), UPM("192.168.88.20", "web") }, { 1, 20 } },
		{ "a simple queue with pcq shares its max-limit evenly among its hosts",
		  "/queue simple add target=192.168.88.0/24 max-limit=4M/4M "
		  "queue=pcq-upload-default/pcq-download-default\n",
		  { UP("192.168.88.10", "1.1.1.1"), UP("192.168.88.20", "1.1.1.1"),
		    UP("192.168.88.30", "1.1.1.1") }, { 4.0 / 3, 4.0 / 3, 4.0 / 3 } },
		{ "pcq: IPv4 and IPv6 hosts are sub-queues of their own",
		  "/queue type add name=pcq46 kind=pcq pcq-classifier=src-address "
		  "pcq-src-address-mask=24\n"
		  "/queue tree add name=up parent=global packet-mark=x max-limit=6M queue=pcq46\n",
		  { UPM6("2001:db8:0:1::10", "x"), UPM6("2001:db8:0:1::20", "x"),
		    UPM("192.168.88.10", "x") }, { 2, 2, 2 } },
		{ "children of a simple queue share its max-limit",
		  "/queue simple\n"
		  "add name=p target=192.168.88.0/24 max-limit=4M/4M\n"
		  "add name=c1 target=192.168.88.10/32 parent=p max-limit=3M/3M place-before=0\n"
		  "add name=c2 target=192.168.88.20/32 parent=p max-limit=3M/3M place-before=0\n",
		  { UP("192.168.88.10", "1.1.1.1"), UP("192.168.88.20", "1.1.1.1") }, { 2, 2 } },
		{ "limit-at first, then the rest by priority",
		  "/queue simple\n"
		  "add name=p target=192.168.88.0/24 max-limit=4M/4M\n"
		  "add name=hi target=192.168.88.10/32 parent=p max-limit=4M/4M priority=1/1 "
		  "place-before=0\n"
		  "add name=lo target=192.168.88.20/32 parent=p max-limit=4M/4M limit-at=1M/1M "
		  "priority=8/8 place-before=0\n",
		  { UP("192.168.88.10", "1.1.1.1"), UP("192.168.88.20", "1.1.1.1") }, { 3, 1 } },
	};
#undef UP
#undef UPM
#undef UPM6
#undef DOWN
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct fx *f = build(cases[k].script);
		struct load l[3];
		size_t n = 0;
		while (n < 3 && cases[k].l[n].src)
			n++;
		memcpy(l, cases[k].l, sizeof(l));
		run_loads(f, l, n, 1 * NS, 2 * NS, 12 * NS);
		static const char *names[3] = { "load 0", "load 1", "load 2" };
		struct qfx_rate row[3];
		for (size_t i = 0; i < n; i++)
			row[i] = (struct qfx_rate){ names[i], load_bps(&l[i], 10 * NS),
						    cases[k].want[i] * 1e6, 0.02 };
		qfx_expect_rates(cases[k].what, row, n);
		done(f);
	}
}

/* pcq over IPv6 on a 6M tree leaf, every host offering 20M: under
 * pcq-src-address6-mask=64 the two hosts of 2001:db8:0:1::/64 are one
 * sub-queue and share what the host of the other /64 gets alone; under
 * the default 128 each host has its own. */
static void test_pcq_ipv6(void **state)
{
	(void)state;
	static const struct {
		const char *mask;
		double want01, want2;
	} cases[] = { { " pcq-src-address6-mask=64", 3, 3 }, { "", 4, 2 } };
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char script[256];
		snprintf(script, sizeof(script),
			 "/queue type add name=pcq6 kind=pcq pcq-classifier=src-address%s\n"
			 "/queue tree add name=up parent=global packet-mark=x max-limit=6M "
			 "queue=pcq6\n", cases[k].mask);
		struct fx *f = build(script);
		struct load l[3] = {
			{ .src = "2001:db8:0:1::10", .dst = "2001:db8:ffff::1", .out_if = "ether1",
			  .offered_bps = 20000000, .mark = "x" },
			{ .src = "2001:db8:0:1::20", .dst = "2001:db8:ffff::1", .out_if = "ether1",
			  .offered_bps = 20000000, .mark = "x" },
			{ .src = "2001:db8:0:2::10", .dst = "2001:db8:ffff::1", .out_if = "ether1",
			  .offered_bps = 20000000, .mark = "x" },
		};
		run_loads(f, l, 3, 1 * NS, 2 * NS, 12 * NS);
		double a = load_bps(&l[0], 10 * NS), b = load_bps(&l[1], 10 * NS);
		const struct qfx_rate row[] = {
			{ "the first /64's two hosts", a + b, cases[k].want01 * 1e6, 0.02 },
			{ "the second /64", load_bps(&l[2], 10 * NS), cases[k].want2 * 1e6, 0.02 },
		};
		char what[64];
		snprintf(what, sizeof(what), "pcq6%s", cases[k].mask);
		qfx_expect_rates(what, row, 2);
		if (a < 0.5e6 || b < 0.5e6)
			fail_msg("%s: a host of the first /64 starved: %.3f and %.3f Mbit/s", what,
				 a / 1e6, b / 1e6);
		done(f);
	}
}

/* bucket-size: an idle queue may send bucket-size seconds of its max-limit
 * at once (capacity = bucket-size x max-limit); 0 and 0.01 (below the old
 * floor of 0.1) leave about one frame. */
static void test_bucket_size(void **state)
{
	(void)state;
	static const struct {
		const char *bs;
		unsigned want; /* 1000-byte packets at once at 1M */
	} cases[] = { { "0", 1 }, { "0.01", 1 }, { "0.1", 12 }, { "1", 125 }, { "2.5", 312 } };
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		char script[256];
		snprintf(script, sizeof(script),
			 "/queue type add name=deep kind=pfifo pfifo-limit=1000\n"
			 "/queue tree add name=t parent=global packet-mark=x max-limit=1M "
			 "bucket-size=%s queue=deep\n",
			 cases[k].bs);
		struct fx *f = build(script);
		struct qos_meta m = { .packet_mark = name_intern(NS_MARK, "x"),
				      .out_if = (uint16_t)name_intern(NS_IFACE, "ether1") };
		struct qpkt *dropped = NULL, *p;
		for (int i = 0; i < 500; i++) {
			p = calloc(1, sizeof(*p));
			p->len = 1000;
			assert_true(qos_enqueue(f->q, p, &m, 2 * NS, &dropped));
		}
		unsigned got = 0;
		while ((p = qos_dequeue(f->q, m.out_if, 2 * NS, &dropped))) {
			got++;
			free(p);
		}
		if (got < cases[k].want || got > cases[k].want + 1)
			fail_msg("bucket-size=%s: %u packets at once, want %u", cases[k].bs, got,
				 cases[k].want);
		free_list(dropped);
		done(f);
	}
}

/* total-burst-*: an idle target may use total-burst-limit until the
 * average over total-burst-time reaches total-burst-threshold, then falls
 * back to total-max-limit. */
static void test_simple_total_burst(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=q target=192.168.88.10/32 max-limit=5M/5M total-max-limit=6M "
			     "total-burst-limit=12M total-burst-threshold=3M total-burst-time=8s\n");
	struct load l[2] = {
		{ .src = "192.168.88.10", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000 },
		{ .src = "1.1.1.1", .dst = "192.168.88.10", .out_if = "ether2", .offered_bps = 20000000 },
	};
	/* bursting (the buckets' first 0.1 s aside): the directions' own
	 * 5M+5M bound it */
	run_loads(f, l, 2, 1 * NS, 1200000000ull, 2200000000ull);
	qfx_expect_rate("bursting", load_bps(&l[0], NS) + load_bps(&l[1], NS), 10e6, 0.02);
	/* later: the 8 s average is above 3M, total-max-limit holds */
	run_loads(f, l, 2, 2200000000ull, 6 * NS, 16 * NS);
	qfx_expect_rate("after the burst", load_bps(&l[0], 10 * NS) + load_bps(&l[1], 10 * NS), 6e6,
			0.02);
	done(f);
}

/* total-priority: under a parent's total-max-limit, the total leaf with the
 * higher priority takes the spare capacity (priority needs a max-limit). */
static void test_simple_total_priority(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=p target=192.168.88.0/24 total-max-limit=6M\n"
			     "add name=a target=192.168.88.10/32 parent=p total-max-limit=6M "
			     "total-priority=1 place-before=0\n"
			     "add name=b target=192.168.88.20/32 parent=p total-max-limit=6M "
			     "total-priority=8 total-limit-at=1M place-before=0\n");
	struct load l[2] = {
		{ .src = "192.168.88.10", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000 },
		{ .src = "192.168.88.20", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000 },
	};
	run_loads(f, l, 2, 1 * NS, 2 * NS, 12 * NS);
	/* b keeps its total-limit-at, a has the rest */
	const struct qfx_rate row[] = {
		{ "b, total-limit-at 1M", load_bps(&l[1], 10 * NS), 1e6, 0.02 },
		{ "a, total-priority 1", load_bps(&l[0], 10 * NS), 5e6, 0.02 },
	};
	qfx_expect_rates("total-priority under a total-max-limit of 6M", row, 2);
	done(f);
}

/* The total-* properties print and export, and an export imports back. */
/* An export without its header, whose clock may have moved a second on. */
static const char *past_header(struct sbuf *x)
{
	const char *m = strstr(sbuf_str(x), "\n/");
	assert_non_null(m);
	return m;
}

static void test_simple_total_export(void **state)
{
	(void)state;
	struct fx *f = build("/queue simple\n"
			     "add name=q target=192.168.88.10/32 max-limit=5M/5M total-max-limit=6M "
			     "total-limit-at=1M total-priority=2 total-queue=default "
			     "total-burst-limit=8M total-burst-threshold=4M total-burst-time=10s\n");
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	struct err e;
	assert_int_equal(conf_export(&f->s, "/queue/simple", 0, &a, &e), 0);
	const char *want[] = { "total-max-limit=6M", "total-limit-at=1M", "total-priority=2",
			       "total-queue=default", "total-burst-limit=8M",
			       "total-burst-threshold=4M", "total-burst-time=10s" };
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(sbuf_str(&a), want[i]))
			fail_msg("export lacks %s:\n%s", want[i], sbuf_str(&a));
	struct sbuf out = SBUF_INIT;
	assert_int_equal(conf_exec(&f->s, "/queue simple print detail", &out, &e), 0);
	struct fx *g = build(sbuf_str(&a));
	assert_int_equal(conf_export(&g->s, "/queue/simple", 0, &b, &e), 0);
	assert_string_equal(past_header(&a), past_header(&b));
	/* bad input changes nothing */
	assert_int_not_equal(conf_exec(&g->s, "/queue simple set q total-max-limit=fast", NULL, &e), 0);
	assert_int_not_equal(conf_exec(&g->s, "/queue simple set q total-priority=9", NULL, &e), 0);
	sbuf_reset(&b);
	assert_int_equal(conf_export(&g->s, "/queue/simple", 0, &b, &e), 0);
	assert_string_equal(past_header(&a), past_header(&b));
	sbuf_free(&a);
	sbuf_free(&b);
	sbuf_free(&out);
	done(g);
	done(f);
}

static void reset_hook(void *ctx, const struct menu *m, uint32_t id)
{
	struct fx *f = ctx;
	qos_reset_counters(f->q, id);
}

static const char *print_out(struct fx *f, const char *cmd, struct sbuf *out)
{
	struct err e;
	sbuf_reset(&f->s.out);
	qos_export_stats(f->q, f->st);
	if (conf_exec(&f->s, cmd, NULL, &e) < 0)
		fail_msg("%s: %s", cmd, e.msg);
	sbuf_reset(out);
	sbuf_puts(out, sbuf_str(&f->s.out));
	return sbuf_str(out);
}

/*
 * print stats shows the running queues' counters and rate; reset-counters
 * (through the hook the daemon registers) zeroes a queue's, and only its;
 * a rebuild carries them over.
 */
static void test_stats_and_reset(void **state)
{
	(void)state;
	struct fx *f = build("/queue tree\n"
			     "add name=up parent=ether1 max-limit=4M\n"
			     "add name=a parent=up packet-mark=a\n"
			     "add name=b parent=up packet-mark=b\n"
			     "/queue simple\n"
			     "add name=q target=192.168.88.10/32 max-limit=2M/2M total-max-limit=3M\n");
	conf_set_reset_hook("/queue/tree", reset_hook, f);
	conf_set_reset_hook("/queue/simple", reset_hook, f);
	struct load l[4] = {
		{ .src = "192.168.88.10", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000 },
		{ .src = "1.1.1.1", .dst = "192.168.88.10", .out_if = "ether2", .offered_bps = 20000000 },
		{ .src = "192.168.88.20", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000, .mark = "a" },
		{ .src = "192.168.88.30", .dst = "1.1.1.1", .out_if = "ether1", .offered_bps = 20000000, .mark = "b" },
	};
	run_loads(f, l, 4, 1 * NS, 1 * NS, 10 * NS);
	uint32_t a = id_of(f, "/queue/tree", "a"), b = id_of(f, "/queue/tree", "b"),
		 up = id_of(f, "/queue/tree", "up"), q = id_of(f, "/queue/simple", "q");
	struct htb_stats sa, sb, su, sq, sd, st;
	assert_true(qos_queue_stats(f->q, a, &sa, NULL));
	assert_true(qos_queue_stats(f->q, up, &su, NULL));
	/* the estimator: a and b share 4M; the simple queue's total is 3M */
	print_message("a %llu bit/s %llu pps, up %llu bit/s\n", (unsigned long long)sa.rate_bps,
		      (unsigned long long)sa.packet_rate, (unsigned long long)su.rate_bps);
	assert_in_range(sa.rate_bps, 1800000, 2200000);
	assert_in_range(sa.packet_rate, 225, 275);
	assert_in_range(su.rate_bps, 3800000, 4200000);
	assert_true(qos_queue_total_stats(f->q, q, &st));
	assert_in_range(st.rate_bps, 2850000, 3150000);
	struct sbuf out = SBUF_INIT;
	/* print stats shows them (the counters of the tree in 3-digit groups,
	 * the pairs of the simple queue as upload/download) */
	char want[64];
	const char *txt = print_out(f, "/queue tree print stats where name=a", &out);
	snprintf(want, sizeof(want), "%llu", (unsigned long long)sa.packets);
	if (!strstr(txt, want + (sa.packets >= 1000 ? 1 : 0)))
		fail_msg("print stats lacks %s:\n%s", want, txt);
	txt = print_out(f, "/queue simple print stats", &out);
	assert_true(qos_queue_stats(f->q, q, &sq, &sd));
	snprintf(want, sizeof(want), " %llu/%llu ", (unsigned long long)sq.bytes,
		 (unsigned long long)sd.bytes);
	if (!strstr(txt, want))
		fail_msg("print stats lacks%s:\n%s", want, txt);
	/* reset a: its counters go, b's stay, up loses what a had counted */
	assert_true(qos_queue_stats(f->q, b, &sb, NULL));
	print_out(f, "/queue tree reset-counters [find name=a]", &out);
	struct htb_stats sa2, sb2, su2;
	assert_true(qos_queue_stats(f->q, a, &sa2, NULL));
	assert_true(qos_queue_stats(f->q, b, &sb2, NULL));
	assert_true(qos_queue_stats(f->q, up, &su2, NULL));
	assert_int_equal(sa2.bytes, 0);
	assert_int_equal(sa2.packets, 0);
	assert_int_equal(sa2.dropped, 0);
	assert_int_equal(sb2.bytes, sb.bytes);
	assert_int_equal(su2.bytes, su.bytes - sa.bytes);
	/* the row ends with BYTES PACKETS DROPPED */
	txt = print_out(f, "/queue tree print stats where name=a", &out);
	char *row = strdup(strrchr(txt, 'a')), *save = NULL, *last[3] = { 0 };
	for (char *w = strtok_r(row, " \n", &save); w; w = strtok_r(NULL, " \n", &save)) {
		last[0] = last[1];
		last[1] = last[2];
		last[2] = w;
	}
	for (int i = 0; i < 3; i++)
		if (!last[i] || strcmp(last[i], "0"))
			fail_msg("after reset-counters:\n%s", txt);
	free(row);
	/* the simple queue: both directions and the total */
	assert_true(qos_queue_stats(f->q, q, &sq, &sd));
	assert_true(sq.bytes > 0 && sd.bytes > 0);
	print_out(f, "/queue simple reset-counters q", &out);
	assert_true(qos_queue_stats(f->q, q, &sq, &sd));
	assert_true(qos_queue_total_stats(f->q, q, &st));
	assert_int_equal(sq.bytes + sd.bytes + st.bytes + st.packets + st.dropped, 0);
	txt = print_out(f, "/queue simple print stats", &out);
	if (!strstr(txt, " 0/0 "))
		fail_msg("simple queue after reset-counters:\n%s", txt);
	/* counting goes on */
	run_loads(f, l, 4, 10 * NS, 10 * NS, 11 * NS);
	assert_true(qos_queue_stats(f->q, a, &sa2, NULL));
	assert_true(sa2.bytes > 0);
	/* print rate is print stats */
	txt = print_out(f, "/queue tree print rate", &out);
	assert_non_null(strstr(txt, "PACKET-RATE"));
	/* a rebuild (any configuration change) takes the counters over */
	char err[128];
	struct qos *q2 = qos_build(f->st, 11 * NS, err, sizeof(err));
	assert_non_null(q2);
	qos_carry_stats(q2, f->q);
	uint32_t ids[] = { a, b, up, q };
	for (size_t i = 0; i < 4; i++) {
		struct htb_stats o1, o2, n1, n2;
		assert_true(qos_queue_stats(f->q, ids[i], &o1, &o2));
		assert_true(qos_queue_stats(q2, ids[i], &n1, &n2));
		assert_int_equal(n1.bytes, o1.bytes);
		assert_int_equal(n1.packets, o1.packets);
		assert_int_equal(n1.dropped, o1.dropped);
		assert_int_equal(n1.rate_bps, o1.rate_bps);
		assert_int_equal(n2.bytes, o2.bytes);
	}
	assert_true(qos_queue_total_stats(f->q, q, &st));
	struct htb_stats st2;
	assert_true(qos_queue_total_stats(q2, q, &st2));
	assert_int_equal(st2.bytes, st.bytes);
	qos_free(q2);
	conf_set_reset_hook("/queue/tree", NULL, NULL);
	conf_set_reset_hook("/queue/simple", NULL, NULL);
	sbuf_free(&out);
	done(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_first_match),
		cmocka_unit_test(test_trees_global_and_interface),
		cmocka_unit_test(test_fasttrack_skips_simple_queues),
		cmocka_unit_test(test_missing_queue_type_logged),
		cmocka_unit_test(test_simple_ipv6_targets),
		cmocka_unit_test(test_queue_type_of_a_leaf),
		cmocka_unit_test(test_drain),
		cmocka_unit_test(test_change_in_place),
		cmocka_unit_test(test_rebuild_carries_packets),
		cmocka_unit_test(test_apply),
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_simple_queue_time),
		cmocka_unit_test(test_rates),
		cmocka_unit_test(test_pcq_ipv6),
		cmocka_unit_test(test_bucket_size),
		cmocka_unit_test(test_simple_total),
		cmocka_unit_test(test_simple_total_burst),
		cmocka_unit_test(test_simple_total_priority),
		cmocka_unit_test(test_simple_total_export),
		cmocka_unit_test(test_stats_and_reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
