/*
 * The traffic generator and the network simulator without a configuration
 * (a plain router that forwards): frames are valid for the packet parser,
 * greedy TCP fills a link and backs off on a tiny buffer yet completes,
 * UDP kinds keep their rates, profiles are checked, and a run depends only
 * on its seed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/pkt.h"
#include "qos/qos.h"
#include "sim/netsim.h"
#include "sim/tgen.h"

#define S_NS 1000000000ull

static struct tgen_profile *profile(const char *json)
{
	struct tgen_profile *p = NULL;
	struct err e;
	err_clear(&e);
	if (tgen_profile_parse(json, "test", &p, &e) < 0)
		fail_msg("profile: %s", e.msg);
	return p;
}

static struct netsim *run(struct tgen_profile *p, uint64_t secs, uint64_t seed)
{
	struct netsim_opts o = { .seed = seed, .duration = secs * S_NS };
	struct netsim *ns = netsim_new(p, &o);
	netsim_run(ns);
	return ns;
}

/* Average WAN rate over the bins from `from` seconds on. */
static double wan_rate(const struct netsim_results *r, int dir, double from)
{
	size_t b0 = (size_t)(from * 1e9 / (double)r->sample);
	double sum = 0;
	for (size_t b = b0; b < r->nbins; b++)
		sum += r->wan_rate[dir][b];
	return sum / (double)(r->nbins - b0);
}

static const struct tgen_addr *v4(uint32_t a)
{
	static struct tgen_addr ring[4];
	static unsigned k;
	struct tgen_addr *t = &ring[k++ % 4];
	memset(t, 0, sizeof(*t));
	t->v4 = a;
	return t;
}

static const struct tgen_addr *v6(const char *s)
{
	static struct tgen_addr ring[4];
	static unsigned k;
	struct tgen_addr *t = &ring[k++ % 4];
	memset(t, 0, sizeof(*t));
	t->v6 = true;
	assert_int_equal(parse_ip6(s, t->a6), 0);
	return t;
}

static void test_frames_parse(void **state)
{
	(void)state;
	static struct tgen_pkt sp;
	struct pkt p;

	sp.dir = TG_UP;
	assert_true(tgen_build_udp(&sp, v4(0xc0a8580a), 5060, v4(0xc6336401), 5060, 214, 46, 7));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	p.cap = sizeof(sp.data);
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.sport, 5060);
	assert_int_equal(p.ip_len, 200);
	assert_int_equal(p.payload_len, 172);
	assert_int_equal(p.dscp, 46);
	assert_int_equal(sp.q.len, 214);

	/* a SYN with MSS and window scale, after a longer frame in the same buffer */
	sp.dir = TG_DOWN;
	struct tgen_tcp_opts o = { .wscale = 7, .sack_perm = true };
	assert_true(tgen_build_tcp(&sp, v4(0xc6336401), 443, v4(0xcb007102), 40001, 0xfffffff0u, 77,
				   TCPF_SYN | TCPF_ACK, 65535, &o, 0, 0, 1));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.tcp_flags, TCPF_SYN | TCPF_ACK);
	assert_int_equal(p.mss, 1460);
	assert_int_equal(p.wscale, 7);
	assert_true(p.sack_perm);
	assert_int_equal(p.seq, 0xfffffff0u);
	assert_int_equal(p.ack, 77);
	assert_true(p.flags & PKT_F_DF);

	/* full-size data segment */
	assert_true(tgen_build_tcp(&sp, v4(0xc0a85814), 40001, v4(0xc6336401), 22, 1000, 2000,
				   TCPF_ACK | TCPF_PSH, 32768, NULL, 1460, 0, 2));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(sp.len, 1514);
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.payload_len, 1460);
	assert_int_equal(p.win, 32768);

	/* then a small one again: the old header bytes must not leak into it */
	assert_true(tgen_build_udp(&sp, v4(1), 2, v4(3), 4, 60, 0, 3));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_false(tgen_build_udp(&sp, v4(1), 2, v4(3), 4, 1515, 0, 3));
	assert_false(tgen_build_tcp(&sp, v4(1), 2, v4(3), 4, 0, 0, TCPF_ACK, 1, NULL, 1461, 0, 0));
	/* an ACK with SACK blocks */
	struct tgen_tcp_opts so = { .nsack = 2, .sack = { { 5000, 6460 }, { 8000, 9460 } } };
	assert_true(tgen_build_tcp(&sp, v4(1), 2, v4(3), 4, 100, 3540, TCPF_ACK, 1, &so, 0, 0, 0));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.tcp_doff, 40);
}

/* The same frames over IPv6: valid for the parser with their checksums,
 * the MSS of IPv6 on a SYN, full size at 1440 bytes of data, the queue
 * descriptor carrying the IPv6 addresses; families do not mix. */
static void test_frames_parse_ipv6(void **state)
{
	(void)state;
	static struct tgen_pkt sp;
	struct pkt p;

	sp.dir = TG_UP;
	assert_true(tgen_build_udp(&sp, v6("2001:db8:1::10"), 5060, v6("2001:db8:ff::10"), 5060,
				   214, 46, 7));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	p.cap = sizeof(sp.data);
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_int_equal(p.family, 6);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.proto, 17);
	assert_int_equal(p.sport, 5060);
	assert_int_equal(p.ip_len, 200);
	assert_int_equal(p.payload_len, 152);
	assert_int_equal(p.dscp, 46);
	assert_int_equal(sp.q.len, 214);
	assert_int_equal(sp.q.family, 6);
	assert_memory_equal(sp.q.src6, v6("2001:db8:1::10")->a6, 16);
	assert_memory_equal(sp.q.dst6, v6("2001:db8:ff::10")->a6, 16);

	sp.dir = TG_DOWN;
	struct tgen_tcp_opts o = { .wscale = 7, .sack_perm = true };
	assert_true(tgen_build_tcp(&sp, v6("2001:db8:ff::10"), 443, v6("2001:db8:1::10"), 40001,
				   5, 77, TCPF_SYN | TCPF_ACK, 65535, &o, 0, 0, 1));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.mss, 1440);
	assert_int_equal(p.wscale, 7);

	assert_true(tgen_build_tcp(&sp, v6("2001:db8:1::10"), 40001, v6("2001:db8:ff::10"), 22,
				   1000, 2000, TCPF_ACK, 32768, NULL, tgen_mss(true), 0, 2));
	assert_int_equal(sp.len, 1514);
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(p.payload_len, 1440);
	assert_false(tgen_build_tcp(&sp, v6("2001:db8:1::10"), 1, v6("2001:db8:ff::10"), 2, 0, 0,
				    TCPF_ACK, 1, NULL, 1441, 0, 0));
	assert_false(tgen_build_udp(&sp, v6("2001:db8:1::10"), 1, v6("2001:db8:ff::10"), 2, 61, 0,
				    0));
	assert_false(tgen_build_udp(&sp, v6("2001:db8:1::10"), 1, v4(3), 2, 100, 0, 0));
	/* an IPv4 frame after the IPv6 one in the same buffer */
	assert_true(tgen_build_udp(&sp, v4(1), 2, v4(3), 4, 60, 0, 3));
	memset(&p, 0, sizeof(p));
	p.data = sp.data;
	p.len = sp.len;
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	assert_int_equal(p.family, 4);
	assert_true(pkt_checksums_ok(&p));
	assert_int_equal(sp.q.family, 4);
}

static const char *const link_json =
	"{\"wan\": {\"up\": \"10M\", \"down\": \"50M\", \"rtt\": \"20ms\", \"buffer\": \"100ms\"},"
	" \"hosts\": [{\"name\": \"a\", \"interface\": \"ether2\", \"address\": \"192.168.88.10\","
	"  \"flows\": [{\"kind\": \"%s\", \"server\": \"198.51.100.1\", \"start\": 0}]}]}";

static void test_greedy_tcp_fills_link(void **state)
{
	(void)state;
	char buf[600];
	snprintf(buf, sizeof(buf), link_json, "bulk-upload");
	struct tgen_profile *p = profile(buf);
	struct netsim *ns = run(p, 10, 1);
	const struct netsim_results *r = netsim_results(ns);
	double up = wan_rate(r, TG_UP, 2.0);
	assert_true(up > 0.97e7 && up <= 1.001e7);
	/* goodput: payload of what was carried */
	double gp = (double)r->app[TGC_BULK_UP].goodput_bytes[TG_UP] * 8 / 10.0;
	assert_true(gp > 0.85e7);
	assert_int_equal(r->drops[NSD_ROUTER] + r->drops[NSD_ROUTE] + r->drops[NSD_POOL], 0);
	/* the modem buffer overflows now and then: TCP backs off and recovers */
	assert_true(r->drops[NSD_MODEM] > 0);
	assert_true(r->app[TGC_BULK_UP].fast_retransmits > 0);
	netsim_free(ns);
	tgen_profile_free(p);

	snprintf(buf, sizeof(buf), link_json, "bulk-download");
	p = profile(buf);
	ns = run(p, 10, 1);
	r = netsim_results(ns);
	double down = wan_rate(r, TG_DOWN, 2.0);
	assert_true(down > 4.85e7 && down <= 5.001e7);
	netsim_free(ns);
	tgen_profile_free(p);
}

static void test_tiny_buffer_completes(void **state)
{
	(void)state;
	struct tgen_profile *p =
		profile("{\"wan\": {\"up\": \"10M\", \"down\": \"50M\", \"rtt\": \"40ms\", "
			"\"up_buffer\": 4},"
			" \"hosts\": [{\"name\": \"a\", \"interface\": \"ether2\", \"address\": "
			"\"192.168.88.10\","
			"  \"flows\": [{\"kind\": \"bulk-upload\", \"server\": \"198.51.100.1\", "
			"\"start\": 0,"
			"              \"size\": \"3M\", \"think\": \"1000s\"}]}]}");
	struct netsim *ns = run(p, 20, 3);
	const struct netsim_results *r = netsim_results(ns);
	const struct tgen_app_stats *a = &r->app[TGC_BULK_UP];
	assert_int_equal(a->transfers, 1);
	assert_true(a->retransmits > 0);
	assert_true(r->drops[NSD_MODEM] > 0);
	assert_int_equal(a->goodput_bytes[TG_UP], 3000000);
	/* it still used most of the link while it ran */
	double secs = (double)a->transfer_ns_sum / 1e9;
	assert_true(secs < 3000000.0 * 8 / 1e7 * 2);
	netsim_free(ns);
	tgen_profile_free(p);
}

static const char *const mix_json =
	"{\"wan\": {\"up\": \"10M\", \"down\": \"50M\", \"rtt\": \"30ms\"},"
	" \"interfaces\": {\"wlan1\": {\"rate\": \"300M\", \"delay\": \"1ms\"}},"
	" \"hosts\": ["
	"  {\"name\": \"phone\", \"interface\": \"ether2-master-local\", \"address\": "
	"\"192.168.88.10\","
	"   \"flows\": [{\"kind\": \"voip\", \"server\": \"198.51.100.10\"}]},"
	"  {\"name\": \"pc\", \"interface\": \"ether2-master-local\", \"address\": "
	"\"192.168.88.20\","
	"   \"flows\": [{\"kind\": \"web\", \"server\": \"198.51.100.20\", \"count\": 2},"
	"               {\"kind\": \"video\", \"server\": \"198.51.100.21\"}]},"
	"  {\"name\": \"tv\", \"interface\": \"wlan1\", \"address\": \"192.168.88.150\","
	"   \"flows\": [{\"kind\": \"streaming\", \"server\": \"203.0.113.80\"},"
	"               {\"kind\": \"gaming\", \"server\": \"203.0.113.81\"}]},"
	"  {\"name\": \"nas\", \"interface\": \"ether2-master-local\", \"address\": "
	"\"192.168.88.30\","
	"   \"flows\": [{\"kind\": \"bulk-download\", \"server\": \"198.51.100.30\"}]}]}";

static void test_udp_rates_and_deterministic(void **state)
{
	(void)state;
	struct tgen_profile *p = profile(mix_json);
	struct netsim *a = run(p, 8, 42), *b = run(p, 8, 42), *c = run(p, 8, 43);
	const struct netsim_results *ra = netsim_results(a), *rb = netsim_results(b),
				 *rc = netsim_results(c);
	/* voip: 50 pps of 214 bytes each way, after the call is set up */
	const struct netsim_dir_stats *v = &ra->cls[TGC_VOIP][TG_UP];
	assert_true(v->sent >= 50 * 6 && v->sent <= 50 * 8 + 10);
	assert_true(ra->cls[TGC_VOIP][TG_DOWN].delivered >= 50 * 6);
	assert_true(v->iso && v->jitter_n > 0);
	/* gaming 60 pps */
	assert_true(ra->cls[TGC_GAMING][TG_UP].sent >= 60 * 6);
	/* video about 2 Mbit/s each way */
	double vb = (double)ra->cls[TGC_VIDEO][TG_UP].sent_bytes * 8 / 8.0;
	assert_true(vb > 1.5e6 && vb < 2.5e6);
	assert_true(ra->app[TGC_WEB].transfers > 0);
	assert_true(ra->app[TGC_STREAMING].transfers > 0);
	/* same seed, same run; another seed, another run */
	assert_int_equal(ra->events, rb->events);
	for (int k = 0; k < TGC_MAX; k++)
		for (int d = 0; d < 2; d++) {
			assert_int_equal(ra->cls[k][d].delivered, rb->cls[k][d].delivered);
			assert_true(ra->cls[k][d].delay_sum_us == rb->cls[k][d].delay_sum_us);
		}
	assert_true(ra->events != rc->events ||
		    ra->cls[TGC_WEB][TG_DOWN].delivered != rc->cls[TGC_WEB][TG_DOWN].delivered);
	netsim_free(a);
	netsim_free(b);
	netsim_free(c);
	tgen_profile_free(p);
}

/* A store with the built-in default configuration and a virtual interface
 * for each of profile p's, as `rosfw run --traffic` makes it; s is its
 * session. */
static void router_store(const struct tgen_profile *p, struct store **st, struct conf_session *s)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(st, ":memory:", &e), 0);
	conf_session_init(s, *st, "test");
	s->virtual_ifaces = true;
	assert_int_equal(conf_store_init(s, true, &e), 0);
	assert_int_equal(store_begin(*st, &e), 0);
	for (size_t i = 0; i < p->nifaces; i++)
		assert_int_equal(conf_virtual_iface(s, p->ifaces[i].name, &e), 0);
	assert_int_equal(store_commit(*st, "test", "ifaces", &e), 0);
}

/* Through the built-in default configuration (examples/soho.rsc): its
 * firewall drops invalid packets, so every TCP segment must pass connection
 * tracking (handshake, SACK, windows, close), and the servers' answers must
 * find their way back through the masquerade. */
static void test_through_default_config(void **state)
{
	(void)state;
	struct tgen_profile *p = profile(mix_json);
	struct err e;
	err_clear(&e);
	struct store *st;
	struct conf_session s;
	router_store(p, &st, &s);
	struct engine *en = engine_new();
	assert_int_equal(engine_load(en, st, &e), 0);
	char qerr[256];
	struct qos *q = qos_build(st, NETSIM_T0, qerr, sizeof(qerr));
	assert_non_null(q);
	struct netsim_opts o = { .seed = 5, .duration = 10 * S_NS, .en = en, .qos = q };
	struct netsim *ns = netsim_new(p, &o);
	netsim_run(ns);
	const struct netsim_results *r = netsim_results(ns);
	for (int k = 1; k < DR_MAX; k++)
		if (k != DR_QUEUE && r->router_drops[k])
			fail_msg("router dropped %llu packets: %s",
				 (unsigned long long)r->router_drops[k],
				 pkt_reason_name((enum drop_reason)k));
	for (int k = 0; k < NSD_MAX; k++)
		if (k != NSD_QUEUE && k != NSD_MODEM && k != NSD_ISP && r->drops[k])
			fail_msg("%llu packets lost at %s", (unsigned long long)r->drops[k],
				 netsim_drop_name((enum netsim_drop)k));
	/* answers came back through NAT: every kind got traffic both ways */
	for (int c = 0; c < TGC_MAX; c++)
		if (r->active[c] && c != TGC_BULK_UP)
			assert_true(r->cls[c][TG_DOWN].delivered > 0);
	assert_true(r->app[TGC_WEB].transfers > 0);
	assert_true(r->app[TGC_BULK_DOWN].goodput_bytes[TG_DOWN] > 20 * 1000 * 1000);
	assert_true(r->cls[TGC_VOIP][TG_UP].delivered > 400);
	netsim_free(ns);
	qos_free(q);
	engine_free(en);
	conf_session_free(&s);
	store_close(st);
	tgen_profile_free(p);
}

/*
 * What the daemon does when /queue tree changes under load: a max-limit
 * change goes into the running queues (qos_update) and a new queue into a
 * rebuild that takes the packets over (qos_carry_packets); neither drops a
 * packet the queues held, and the upload goes on at the new rate.
 */
static void test_queue_change_under_load(void **state)
{
	(void)state;
	struct tgen_profile *p = profile(
		"{\"wan\": {\"up\": \"10M\", \"down\": \"50M\", \"rtt\": \"30ms\"},"
		" \"hosts\": [{\"name\": \"nas\", \"interface\": \"ether2-master-local\","
		" \"address\": \"192.168.88.30\", \"flows\": [{\"kind\": \"bulk-upload\","
		" \"server\": \"198.51.100.30\", \"count\": 2}]}]}");
	struct err e;
	err_clear(&e);
	struct store *st;
	struct conf_session s;
	router_store(p, &st, &s);
	struct engine *en = engine_new();
	assert_int_equal(engine_load(en, st, &e), 0);
	char qerr[256];
	struct qos *q = qos_build(st, NETSIM_T0, qerr, sizeof(qerr));
	assert_non_null(q);
	struct netsim_opts o = { .seed = 3, .en = en, .qos = q, .live = true };
	struct netsim *ns = netsim_new(p, &o);
	netsim_start(ns);
	const struct netsim_results *r = netsim_results(ns);
	const struct menu *m = schema_find("/queue/tree");
	uint32_t bulk = store_by_key(st, m, "bulk")->id;
	struct htb_stats a, b;

	netsim_advance(ns, NETSIM_T0 + 5 * S_NS);
	assert_true(qos_queue_stats(q, bulk, &a, NULL));
	assert_true(a.queued_packets > 0);
	uint64_t drops = r->drops[NSD_QUEUE], bytes = a.bytes;

	/* 9M -> 5M in place */
	assert_int_equal(conf_exec(&s, "/queue tree set wan-upload max-limit=5M", NULL, &e), 0);
	struct qos *q2 = qos_build(st, netsim_now(ns), qerr, sizeof(qerr));
	assert_non_null(q2);
	assert_true(qos_update(q, q2, netsim_now(ns)));
	qos_free(q2);
	assert_true(qos_queue_stats(q, bulk, &b, NULL));
	assert_int_equal(b.queued_packets, a.queued_packets);
	assert_int_equal(b.bytes, a.bytes);
	netsim_set_router(ns, en, q);
	assert_int_equal(r->drops[NSD_QUEUE], drops);
	netsim_advance(ns, netsim_now(ns) + 5 * S_NS);
	assert_true(qos_queue_stats(q, bulk, &a, NULL));
	double mbit = (double)(a.bytes - bytes) * 8 / 5e6;
	if (mbit < 4.5 || mbit > 5.5)
		fail_msg("the upload after max-limit=5M: %.2f Mbit/s", mbit);

	/* a queue added: a rebuild that takes the packets over */
	assert_int_equal(conf_exec(&s, "/queue tree add name=extra parent=wan-upload "
				       "packet-mark=none-such", NULL, &e), 0);
	q2 = qos_build(st, netsim_now(ns), qerr, sizeof(qerr));
	assert_non_null(q2);
	assert_false(qos_update(q, q2, netsim_now(ns)));
	qos_carry_stats(q2, q);
	qos_carry_packets(q2, q, netsim_now(ns));
	assert_true(qos_queue_stats(q2, bulk, &b, NULL));
	assert_int_equal(b.queued_packets, a.queued_packets);
	assert_int_equal(b.bytes, a.bytes);
	/* the old queues are empty: handing over drops nothing */
	drops = r->drops[NSD_QUEUE];
	netsim_set_router(ns, en, q2);
	assert_int_equal(r->drops[NSD_QUEUE], drops);
	qos_free(q);
	netsim_advance(ns, netsim_now(ns) + 2 * S_NS);
	assert_true(qos_queue_stats(q2, bulk, &b, NULL));
	assert_true(b.bytes > a.bytes);
	netsim_free(ns);
	qos_free(q2);
	engine_free(en);
	conf_session_free(&s);
	store_close(st);
	tgen_profile_free(p);
}

static void test_profile_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *msg;
	} rows[] = {
		{"{\"wan\": {\"up\": \"10M\"}, \"hosts\": []}", "\"down\""},
		{"{\"wan\": {\"up\": \"10M\", \"down\": \"fast\"}, \"hosts\": []}", "bad value"},
		{"{\"wan\": {\"up\": \"1M\", \"down\": \"1M\", \"speed\": 1}}", "unknown key"},
		{"{\"wan\": {\"up\": \"1M\", \"down\": \"1M\"}, \"hosts\": [{\"interface\": \"e2\","
		 " \"address\": \"10.0.0.1\", \"flows\": [{\"kind\": \"ftp\"}]}]}",
		 "one of voip"},
		{"{\"wan\": {\"up\": \"1M\", \"down\": \"1M\"}, \"hosts\": [{\"interface\": \"e2\","
		 " \"address\": \"10.0.0.300\"}]}",
		 "IPv4"},
		{"{\"wan\": {\"up\": 1}", ""},
		/* an IPv6 UDP frame is at least 62 bytes (an IPv4 one may be 60) */
		{"{\"wan\": {\"up\": \"1M\", \"down\": \"1M\"}, \"hosts\": [{\"interface\": \"e2\","
		 " \"address\": \"10.0.0.1\", \"address6\": \"2001:db8::1\", \"flows\":"
		 " [{\"kind\": \"gaming\", \"server\": \"2001:db8:ff::1\", \"size_up\": 61}]}]}",
		 "from 62 to 1514"},
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct tgen_profile *p = NULL;
		struct err e;
		err_clear(&e);
		assert_int_equal(tgen_profile_parse(rows[i].json, "t.json", &p, &e), -1);
		assert_null(p);
		if (!strstr(e.msg, rows[i].msg))
			fail_msg("row %zu: \"%s\" lacks \"%s\"", i, e.msg, rows[i].msg);
	}
	uint64_t v;
	assert_int_equal(tgen_parse_rate("1.5M", &v), 0);
	assert_int_equal(v, 1500000);
	assert_int_equal(tgen_parse_time("0.1ms", &v), 0);
	assert_int_equal(v, 100000);
	assert_int_equal(tgen_parse_size("500k", &v), 0);
	assert_int_equal(v, 500000);
	assert_int_equal(tgen_parse_rate("10X", &v), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frames_parse),
		cmocka_unit_test(test_frames_parse_ipv6),
		cmocka_unit_test(test_greedy_tcp_fills_link),
		cmocka_unit_test(test_tiny_buffer_completes),
		cmocka_unit_test(test_udp_rates_and_deterministic),
		cmocka_unit_test(test_through_default_config),
		cmocka_unit_test(test_queue_change_under_load),
		cmocka_unit_test(test_profile_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
