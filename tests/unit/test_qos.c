/*
 * qos: which stages a packet passes, built from a store: simple queues are
 * ordered (first match wins; upload by source, download by destination),
 * queue trees take every packet whose mark a leaf names, at global and at
 * the out-interface, FastTrack skips global trees and simple queues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
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

static void done(struct fx *f)
{
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
	struct qpkt *dropped = NULL;
	if (!qos_enqueue(f->q, &p, &m, 2000000000ull, &dropped))
		return false;
	for (int i = 0; i < 100; i++) {
		struct qpkt *x = qos_dequeue(f->q, m.out_if, 2000000000ull + (uint64_t)i * 1000000,
					     &dropped);
		if (x)
			return x == &p;
	}
	return false;
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

static void test_queue_type_of_a_leaf(void **state)
{
	(void)state;
	/* a full leaf queue drops: default-small holds 10 packets */
	struct fx *f = build("/queue tree\nadd name=slow parent=ether1 packet-mark=x max-limit=8k\n");
	static struct qpkt p[20];
	struct qos_meta m = { .packet_mark = name_intern(NS_MARK, "x"),
			      .out_if = (uint16_t)name_intern(NS_IFACE, "ether1") };
	int queued = 0;
	for (int i = 0; i < 20; i++) {
		p[i].len = 1000;
		struct qpkt *dropped = NULL;
		queued += qos_enqueue(f->q, &p[i], &m, 2000000000ull, &dropped);
	}
	/* one may leave at once (the bucket), ten wait, the rest are dropped */
	assert_in_range(queued, 10, 11);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_first_match),
		cmocka_unit_test(test_trees_global_and_interface),
		cmocka_unit_test(test_fasttrack_skips_simple_queues),
		cmocka_unit_test(test_queue_type_of_a_leaf),
		cmocka_unit_test(test_simple_queue_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
