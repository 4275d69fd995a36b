/*
 * The packet flow end to end: a store filled by console commands, loaded
 * into an engine, frames written as `rosfw trace` descriptions (pkt_build)
 * and run through engine_input. IPv6: forwarding with connected and static
 * routes, blackhole and prohibit routes, the filter (accept, drop, reject
 * with ICMPv6 errors and TCP resets that parse back), established and
 * related through conntrack, hop limit exceeded, neighbour discovery and the
 * router's own addresses to input. IPv4: masquerade port allocation when two
 * hosts use the same source port, dst-nat and its reply, an ICMP error about
 * a masqueraded flow translated back, TTL exceeded, blackhole routes.
 * Fragments (IPv4 and IPv6): reassembly in and out of order before the
 * rules, overlaps, the timeout and the memory limit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "conf/types.h"
#include "engine/cthelper.h"
#include "engine/engine.h"
#include "engine/names.h"

#define SEC 1000000000ull
#define FRAME 2048

/* ---- fixture ---- */

struct env {
	struct store *st;
	struct conf_session s;
	struct engine *en;
	uint64_t now;
};

static const char base_rsc[] =
	"/ip address\n"
	"add address=192.168.88.1/24 interface=ether2\n"
	"add address=203.0.113.2/24 interface=ether1\n"
	"/ip route\n"
	"add gateway=203.0.113.1\n"
	"add dst-address=192.0.2.0/24 type=blackhole\n"
	"/ipv6 address\n"
	"add address=2001:db8:1::1/64 interface=ether2\n"
	"add address=2001:db8:ffff::2/64 interface=ether1\n"
	"/ipv6 route\n"
	"add gateway=2001:db8:ffff::1\n"
	"add dst-address=2001:db8:100::/48 gateway=2001:db8:1::2\n"
	"add dst-address=2001:db8:dead::/48 type=blackhole\n"
	"add dst-address=2001:db8:bad::/48 type=prohibit\n"
	"add dst-address=2001:db8:200::/48 gateway=fe80::99%ether3\n";

static struct env *env_new(const char *extra)
{
	struct env *v = calloc(1, sizeof(*v));
	struct err e;
	err_clear(&e);
	if (store_open(&v->st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&v->s, v->st, "tester");
	if (conf_store_init(&v->s, false, &e) < 0)
		fail_msg("conf_store_init: %s", e.msg);
	if (conf_import(&v->s, base_rsc, "base", 0, NULL, &e) < 0)
		fail_msg("base: line %d: %s", e.line, e.msg);
	if (extra && conf_import(&v->s, extra, "extra", 0, NULL, &e) < 0)
		fail_msg("extra: line %d: %s", e.line, e.msg);
	v->en = engine_new();
	if (engine_load(v->en, v->st, &e) < 0)
		fail_msg("engine_load: %s", e.msg);
	v->now = 10 * SEC;
	return v;
}

static void env_free(struct env *v)
{
	engine_free(v->en);
	conf_session_free(&v->s);
	store_close(v->st);
	free(v);
}

static uint16_t ifid(const char *name)
{
	return (uint16_t)name_intern(NS_IFACE, name);
}

struct frame {
	uint8_t buf[FRAME];
	struct pkt p;
	struct engine_out out;
};

static uint32_t build(const char *desc, uint8_t *buf)
{
	struct err e;
	err_clear(&e);
	int n = pkt_build(desc, buf, FRAME, &e);
	if (n < 0)
		fail_msg("pkt_build %s: %s", desc, e.msg);
	return (uint32_t)n;
}

/* Runs raw bytes in through an interface; f->p describes what came out. */
static enum ev_verdict run_raw(struct env *v, struct frame *f, const char *in, uint32_t len)
{
	memset(&f->p, 0, sizeof(f->p));
	f->p.data = f->buf;
	f->p.len = len;
	f->p.cap = FRAME;
	v->now += 1000000;
	engine_input(v->en, &f->p, ifid(in), v->now, &f->out);
	return f->out.verdict;
}

static enum ev_verdict run(struct env *v, struct frame *f, const char *in, const char *desc)
{
	return run_raw(v, f, in, build(desc, f->buf));
}

static void ip6(const char *s, uint8_t a[16])
{
	assert_int_equal(parse_ip6(s, a), 0);
}

static void assert_ip6(const uint8_t *got, const char *want)
{
	uint8_t a[16];
	ip6(want, a);
	if (memcmp(got, a, 16)) {
		struct sbuf b = SBUF_INIT;
		format_ip6(got, &b);
		fail_msg("address %s, expected %s", sbuf_str(&b), want);
	}
}

static uint32_t ip4(const char *s)
{
	uint32_t a;
	assert_int_equal(parse_ip4(s, &a), 0);
	return a;
}

/* The reply the engine built (reject, TTL exceeded), parsed with its
 * checksums verified. */
static void parse_reply(const struct engine_out *out, uint8_t *copy, struct pkt *r)
{
	assert_true(out->reply_len > 0);
	memcpy(copy, out->reply, out->reply_len);
	memset(r, 0, sizeof(*r));
	r->data = copy;
	r->len = out->reply_len;
	r->cap = ENGINE_MAX_REPLY;
	assert_int_equal(pkt_parse(r, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(r));
}

/* ---- IPv6 forwarding ---- */

static void test_v6_forward_routes(void **state)
{
	struct env *v = env_new(NULL);
	struct frame f;

	/* LAN to the Internet: the default route */
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:443 flags=S"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether1"));
	assert_ip6(f.out.nexthop6, "2001:db8:ffff::1");
	assert_int_equal(f.p.ttl, 63);
	assert_int_equal(f.p.data[14 + 7], 63);
	assert_true(pkt_checksums_ok(&f.p));

	/* longest prefix: the /48 behind the LAN router wins over ::/0 */
	assert_int_equal(run(v, &f, "ether1", "udp [2001:db8:9::1]:53 > [2001:db8:100::5]:53"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_ip6(f.out.nexthop6, "2001:db8:1::2");

	/* a connected network: the next hop is the destination */
	assert_int_equal(run(v, &f, "ether1", "udp [2001:db8:9::1]:53 > [2001:db8:1::20]:53"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_ip6(f.out.nexthop6, "2001:db8:1::20");

	/* a link-local gateway with its interface */
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:53 > [2001:db8:200::5]:53"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether3"));
	assert_ip6(f.out.nexthop6, "fe80::99");

	/* blackhole: silent */
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:53 > [2001:db8:dead::1]:53"),
			 EV_DROP);
	assert_int_equal(f.out.reason, DR_BLACKHOLE);
	assert_int_equal(f.out.reply_len, 0);

	/* prohibit: ICMPv6 administratively prohibited */
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:53 > [2001:db8:bad::1]:53"),
			 EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.proto, 58);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 1);

	/* nothing routes multicast beyond the link, nor a link-local source */
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:53 > [ff0e::1]:53"), EV_DROP);
	assert_int_equal(f.out.reason, DR_NO_ROUTE);
	assert_int_equal(f.out.reply_len, 0);
	assert_int_equal(run(v, &f, "ether2", "udp [fe80::10]:53 > [2001:db8:9::1]:53"), EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 2);
	assert_ip6(r.dst.v6, "fe80::10");
	/* the error comes from the router's link-local address on the link */
	uint8_t ll[16];
	assert_true(engine_link_local(v->en, ifid("ether2"), ll));
	assert_memory_equal(r.src.v6, ll, 16);
	env_free(v);
}

static const char v6_filter_rsc[] =
	"/ipv6 firewall filter\n"
	"add chain=forward action=accept connection-state=established,related\n"
	"add chain=forward action=drop connection-state=invalid\n"
	"add chain=forward action=accept in-interface=ether2\n"
	"add chain=forward action=reject reject-with=icmp-admin-prohibited protocol=udp\n"
	"add chain=forward action=reject reject-with=tcp-reset protocol=tcp dst-port=23\n"
	"add chain=forward action=reject reject-with=icmp-port-unreachable protocol=tcp "
	"dst-port=25\n"
	"add chain=forward action=accept protocol=tcp dst-port=80\n"
	"add chain=forward action=drop\n";

static void test_v6_filter(void **state)
{
	struct env *v = env_new(v6_filter_rsc);
	struct frame f;
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;

	/* accept, by the rule that decided */
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:9::1]:5000 > [2001:db8:1::10]:80 flags=S"),
			 EV_FORWARD);
	assert_int_equal(f.out.table, RT_FILTER);
	assert_true(f.out.rule_id != 0);

	/* drop */
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:9::1]:5000 > [2001:db8:1::10]:22 flags=S"),
			 EV_DROP);
	assert_int_equal(f.out.reason, DR_FILTER);
	assert_int_equal(engine_drops(v->en, DR_FILTER), 1);

	/* reject with ICMPv6 administratively prohibited, quoting the packet */
	assert_int_equal(run(v, &f, "ether1", "udp [2001:db8:9::1]:4000 > [2001:db8:1::10]:161 len=20"),
			 EV_REJECT);
	assert_int_equal(f.out.reason, DR_REJECT);
	assert_int_equal(f.out.reply_if, ifid("ether1"));
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.family, 6);
	assert_int_equal(r.proto, 58);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 1);
	assert_ip6(r.src.v6, "2001:db8:ffff::2");
	assert_ip6(r.dst.v6, "2001:db8:9::1");
	assert_true(r.flags & PKT_F_ICMP_ERR);
	assert_int_equal(r.inner.proto, 17);
	assert_ip6(r.inner.src.v6, "2001:db8:9::1");
	assert_ip6(r.inner.dst.v6, "2001:db8:1::10");
	assert_int_equal(r.inner.sport, 4000);
	assert_int_equal(r.inner.dport, 161);
	assert_int_equal(r.ip_len, 40 + 8 + 40 + 8 + 20);

	/* port unreachable */
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:9::1]:5000 > [2001:db8:1::10]:25 flags=S"),
			 EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 4);

	/* tcp-reset, from the address the peer tried */
	assert_int_equal(run(v, &f, "ether1",
			     "tcp [2001:db8:9::1]:5000 > [2001:db8:1::10]:23 flags=S seq=1000"),
			 EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.proto, 6);
	assert_int_equal(r.tcp_flags, TCPF_RST | TCPF_ACK);
	assert_int_equal(r.ack, 1001);
	assert_int_equal(r.sport, 23);
	assert_int_equal(r.dport, 5000);
	assert_ip6(r.src.v6, "2001:db8:1::10");
	assert_ip6(r.dst.v6, "2001:db8:9::1");

	env_free(v);

	/* never an error about an ICMPv6 error, nor to an unspecified source */
	struct env *w = env_new("/ipv6 firewall filter\n"
				"add chain=forward action=reject reject-with=icmp-no-route\n");
	assert_int_equal(run(w, &f, "ether1",
			     "icmp6 [2001:db8:9::1] > [2001:db8:1::10] type=1 code=4 "
			     "(udp [2001:db8:1::10]:1 > [2001:db8:9::1]:2)"),
			 EV_REJECT);
	assert_int_equal(f.out.reply_len, 0);
	assert_int_equal(run(w, &f, "ether1", "udp [::]:1 > [2001:db8:1::10]:2"), EV_REJECT);
	assert_int_equal(f.out.reply_len, 0);
	assert_int_equal(run(w, &f, "ether1", "udp [2001:db8:9::1]:1 > [2001:db8:1::10]:2"),
			 EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.icmp_type, 1);
	assert_int_equal(r.icmp_code, 0);
	env_free(w);
}

static void test_v6_conntrack(void **state)
{
	struct env *v = env_new(v6_filter_rsc);
	struct frame f;

	/* out from the LAN, the answer comes back as established */
	assert_int_equal(run(v, &f, "ether2",
			     "tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:22 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_NEW);
	assert_int_equal(run(v, &f, "ether1",
			     "tcp [2001:db8:9::1]:22 > [2001:db8:1::10]:5000 flags=SA seq=900 ack=101"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(run(v, &f, "ether2",
			     "tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:22 flags=A seq=101 ack=901"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(run(v, &f, "ether1",
			     "tcp [2001:db8:9::1]:22 > [2001:db8:1::10]:5000 flags=A seq=901 ack=101 len=100"),
			 EV_FORWARD);

	/* packet too big about the flow, from a router on the way: related */
	assert_int_equal(run(v, &f, "ether1",
			     "icmp6 [2001:db8:ffff::1] > [2001:db8:1::10] type=2 code=0 "
			     "(tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:22 flags=A seq=101 ack=901)"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);

	/* the same error about a flow that does not exist: invalid, dropped */
	assert_int_equal(run(v, &f, "ether1",
			     "icmp6 [2001:db8:ffff::1] > [2001:db8:1::10] type=2 code=0 "
			     "(tcp [2001:db8:1::10]:5001 > [2001:db8:9::1]:22 flags=A)"),
			 EV_DROP);
	assert_int_equal(f.p.ct_state, CT_INVALID);

	/* a new connection from outside on that port is not let in */
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:9::1]:22 > [2001:db8:1::10]:5002 flags=S"),
			 EV_DROP);
	/* an unsolicited SYN-ACK is invalid */
	assert_int_equal(run(v, &f, "ether1",
			     "tcp [2001:db8:9::7]:22 > [2001:db8:1::10]:5003 flags=SA ack=5"),
			 EV_DROP);
	assert_int_equal(f.p.ct_state, CT_INVALID);
	env_free(v);
}

static void test_v6_hop_limit(void **state)
{
	struct env *v = env_new(NULL);
	struct frame f;
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;

	assert_int_equal(run(v, &f, "ether2",
			     "udp [2001:db8:1::10]:33434 > [2001:db8:9::1]:33434 ttl=1"),
			 EV_REJECT);
	assert_int_equal(f.out.reason, DR_TTL_EXCEEDED);
	assert_int_equal(engine_drops(v->en, DR_TTL_EXCEEDED), 1);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.proto, 58);
	assert_int_equal(r.icmp_type, 3);
	assert_int_equal(r.icmp_code, 0);
	assert_ip6(r.src.v6, "2001:db8:1::1");
	assert_ip6(r.dst.v6, "2001:db8:1::10");
	assert_int_equal(r.inner.sport, 33434);
	/* a hop limit of 2 goes on with 1 */
	assert_int_equal(run(v, &f, "ether2",
			     "udp [2001:db8:1::10]:33434 > [2001:db8:9::1]:33434 ttl=2"),
			 EV_FORWARD);
	assert_int_equal(f.p.ttl, 1);
	/* to the router itself the hop limit does not matter */
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:33434 > [2001:db8:1::1]:53 ttl=1"),
			 EV_LOCAL);
	env_free(v);
}

/* Packet too big (RFC 4443 3.2) for a forwarded packet: as much of it as
 * fits in 1280 bytes, the MTU, the hop limit as it arrived. */
struct ptb_case {
	const char *desc;   /* forwarded from ether2 */
	uint32_t mtu;
	bool answered;
	uint32_t quote;     /* bytes of the offender quoted */
};

static const struct ptb_case ptb_cases[] = {
	{ "udp [2001:db8:1::10]:5000 > [2001:db8:9::1]:53 len=100 ttl=64", 1280, true, 148 },
	{ "udp [2001:db8:1::10]:5000 > [2001:db8:9::1]:53 len=1184 ttl=64", 1280, true, 1232 },
	{ "udp [2001:db8:1::10]:5000 > [2001:db8:9::1]:53 len=1185 ttl=64", 1280, true, 1232 },
	{ "udp [2001:db8:1::10]:5000 > [2001:db8:9::1]:53 len=1452 ttl=9", 1400, true, 1232 },
	{ "tcp [2001:db8:1::10]:5000 > [2001:db8:9::1]:80 flags=A len=1440 ttl=64", 1492, true,
	  1232 },
	{ "icmp6 [2001:db8:1::10] > [2001:db8:9::1] type=128 id=7 len=1400 ttl=64", 1280, true,
	  1232 },
	/* never about an ICMPv6 error (RFC 4443 2.4 (e)) */
	{ "icmp6 [2001:db8:1::10] > [2001:db8:9::1] type=1 code=4 len=1400 ttl=64", 1280, false,
	  0 },
};

static void test_v6_too_big(void **state)
{
	struct env *v = env_new(NULL);
	static struct frame f;
	static struct engine_out out;
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;
	for (size_t k = 0; k < sizeof(ptb_cases) / sizeof(ptb_cases[0]); k++) {
		const struct ptb_case *c = &ptb_cases[k];
		assert_int_equal(run(v, &f, "ether2", c->desc), EV_FORWARD);
		uint8_t hl = (uint8_t)(f.p.ttl + 1);
		bool got = engine_icmp6_too_big(v->en, &f.p, c->mtu, &out);
		if (got != c->answered)
			fail_msg("%s: %s", c->desc, got ? "answered" : "not answered");
		if (!got)
			continue;
		parse_reply(&out, copy, &r);
		assert_int_equal(r.proto, 58);
		assert_int_equal(r.icmp_type, 2);
		assert_int_equal(r.icmp_code, 0);
		uint8_t *icmp = copy + r.l4_off;
		uint32_t mtu = (uint32_t)icmp[4] << 24 | icmp[5] << 16 | icmp[6] << 8 | icmp[7];
		assert_int_equal(mtu, c->mtu);
		if ((uint32_t)r.l4_len - 8 != c->quote)
			fail_msg("%s: quoted %u bytes, expected %u", c->desc, (uint32_t)r.l4_len - 8, c->quote);
		assert_true(14 + 40 + r.l4_len <= 14 + 1280);
		assert_int_equal(icmp[8 + 7], hl); /* the quote's hop limit as it arrived */
		assert_memory_equal(icmp + 8 + 8, f.p.data + f.p.l3_off + 8, 32);
		/* from the router's address on the in-interface, to the sender */
		assert_ip6(r.src.v6, "2001:db8:1::1");
		assert_ip6(r.dst.v6, "2001:db8:1::10");
		assert_int_equal(out.reply_if, ifid("ether2"));
	}
	env_free(v);
}

/* The router's own packets to a link-scoped IPv6 destination leave by the
 * interface named, never by the routing table. */
static void test_v6_output_zone(void **state)
{
	struct env *v = env_new(NULL);
	static struct frame f;
	static const char *const scoped[] = {
		"icmp6 [fe80::1] > [fe80::10] type=129 id=1",
		"icmp6 [fe80::1] > [ff02::1] type=134 ttl=255",
	};
	for (size_t k = 0; k < 2; k++) {
		uint32_t n = build(scoped[k], f.buf);
		struct pkt p = { .data = f.buf, .len = n, .cap = FRAME };
		engine_output(v->en, &p, v->now, &f.out);
		assert_int_equal(f.out.verdict, EV_DROP); /* no zone: the default route is not for it */
		n = build(scoped[k], f.buf);
		p = (struct pkt){ .data = f.buf, .len = n, .cap = FRAME };
		engine_output_on(v->en, &p, ifid("ether3"), v->now, &f.out);
		assert_int_equal(f.out.verdict, EV_FORWARD);
		assert_int_equal(f.out.out_if, ifid("ether3"));
		assert_memory_equal(f.out.nexthop6, p.dst.v6, 16);
	}
	/* a global destination takes the routing table, whatever the zone */
	uint32_t n = build("icmp6 [2001:db8:1::1] > [2001:db8:9::1] type=129 id=1", f.buf);
	struct pkt p = { .data = f.buf, .len = n, .cap = FRAME };
	engine_output_on(v->en, &p, ifid("ether3"), v->now, &f.out);
	assert_int_equal(f.out.verdict, EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether1"));
	assert_ip6(f.out.nexthop6, "2001:db8:ffff::1");
	env_free(v);
}

static void test_v6_ndp_to_input(void **state)
{
	/* drop invalid first, as the default IPv6 firewall does; accept ICMPv6 */
	struct env *v = env_new("/ipv6 firewall filter\n"
				"add chain=input action=drop connection-state=invalid\n"
				"add chain=input action=accept protocol=icmpv6\n"
				"add chain=input action=drop\n");
	struct frame f;
	static const char *const nd[] = {
		"icmp6 [fe80::10] > [ff02::2] type=133 ttl=255",                 /* RS */
		"icmp6 [fe80::20] > [ff02::1] type=134 ttl=255",                 /* RA */
		"icmp6 [2001:db8:1::10] > [ff02::1:ff00:1] type=135 ttl=255",    /* NS */
		"icmp6 [::] > [ff02::1:ff00:1] type=135 ttl=255",                /* DAD */
		"icmp6 [fe80::10] > [fe80::1] type=136 ttl=255",                 /* NA */
		"icmp6 [fe80::10] > [2001:db8:1::1] type=135 ttl=255",           /* NUD */
		"icmp6 [fe80::20] > [fe80::1] type=137 ttl=255",                 /* redirect */
	};
	for (size_t i = 0; i < sizeof(nd) / sizeof(nd[0]); i++) {
		if (run(v, &f, "ether2", nd[i]) != EV_LOCAL)
			fail_msg("%s: %s (%s)", nd[i], ev_name(f.out.verdict),
				 pkt_reason_name(f.out.reason));
		assert_int_equal(f.p.ct_state, CT_UNTRACKED);
	}
	assert_int_equal(ct_count(engine_ct(v->en)), 0);

	/* rules still decide: the same with ICMPv6 not accepted */
	struct env *w = env_new("/ipv6 firewall filter\n"
				"add chain=input action=drop connection-state=invalid\n"
				"add chain=input action=accept connection-state=untracked\n"
				"add chain=input action=drop\n");
	assert_int_equal(run(w, &f, "ether2", nd[2]), EV_LOCAL);
	assert_int_equal(run(w, &f, "ether2", "icmp6 [2001:db8:1::10] > [2001:db8:1::1] type=128 id=1"),
			 EV_DROP);
	env_free(w);
	struct env *x = env_new("/ipv6 firewall filter\n"
				"add chain=input action=drop protocol=icmpv6 icmp-options=135:0\n");
	assert_int_equal(run(x, &f, "ether2", nd[2]), EV_DROP);
	assert_int_equal(run(x, &f, "ether2", nd[4]), EV_LOCAL);
	env_free(x);
	env_free(v);
}

static void test_v6_local(void **state)
{
	struct env *v = env_new("/ipv6 firewall filter\n"
				"add chain=input action=accept protocol=tcp dst-port=22 in-interface=ether2\n"
				"add chain=input action=reject reject-with=icmp-port-unreachable protocol=udp\n"
				"add chain=input action=drop\n");
	struct frame f;
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;

	uint8_t a[16];
	ip6("2001:db8:1::1", a);
	assert_true(engine_is_local6(v->en, a));
	ip6("2001:db8:1::2", a);
	assert_false(engine_is_local6(v->en, a));
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:5000 > [2001:db8:1::1]:22 flags=S"),
			 EV_LOCAL);
	assert_int_equal(f.p.ct_state, CT_NEW);
	/* any of the router's addresses, whatever the interface */
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:5001 > [2001:db8:ffff::2]:22 flags=S"),
			 EV_LOCAL);
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:9::1]:5000 > [2001:db8:ffff::2]:22 flags=S"),
			 EV_DROP);
	/* the router's link-local address */
	uint8_t ll[16];
	assert_true(engine_link_local(v->en, ifid("ether2"), ll));
	assert_int_equal(ll[0], 0xfe);
	assert_int_equal(ll[1], 0x80);
	struct sbuf b = SBUF_INIT;
	format_ip6(ll, &b);
	char desc[160];
	snprintf(desc, sizeof(desc), "tcp [fe80::10]:5000 > [%s]:22 flags=S", sbuf_str(&b));
	sbuf_free(&b);
	assert_int_equal(run(v, &f, "ether2", desc), EV_LOCAL);
	/* a reject in input comes from the address that was asked */
	assert_int_equal(run(v, &f, "ether1", "udp [2001:db8:9::1]:5000 > [2001:db8:1::1]:53"),
			 EV_REJECT);
	parse_reply(&f.out, copy, &r);
	assert_ip6(r.src.v6, "2001:db8:1::1");
	assert_int_equal(r.icmp_code, 4);
	/* an address on a disabled interface is not the router's */
	struct env *w = env_new("/interface ethernet set [ find default-name=ether4 ] disabled=yes\n"
				"/ipv6 address add address=2001:db8:4::1/64 interface=ether4\n");
	assert_int_equal(run(w, &f, "ether2", "tcp [2001:db8:1::10]:5000 > [2001:db8:4::1]:22 flags=S"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether1"));
	env_free(w);
	env_free(v);
}

/* ---- IPv4 flow ---- */

static const char masq_rsc[] =
	"/ip firewall nat\n"
	"add chain=srcnat action=masquerade out-interface=ether1\n"
	"add chain=dstnat action=dst-nat in-interface=ether1 protocol=tcp dst-port=8080 "
	"to-addresses=192.168.88.10 to-ports=80\n";

/* ---- host unreachable when a next hop never answers ---- */

/* An ICMP host unreachable for the forwarded packet f->p, built from its
 * frame as it was to leave (the dataplane's view: parsed afresh, in_if
 * set), then sent through the output chain: its verdict in f->out, the
 * error (as it leaves) parsed into r over copy. false when none is due. */
static bool unreach_out(struct env *v, struct frame *f, uint8_t *copy, struct pkt *r)
{
	static uint8_t frame[FRAME];
	static struct engine_out out;
	memcpy(frame, f->p.data, f->p.len);
	struct pkt q = { .data = frame, .len = f->p.len, .cap = FRAME };
	assert_int_equal(pkt_parse(&q, true, false), DR_NONE);
	q.in_if = f->p.in_if;
	if (!engine_icmp_host_unreach(v->en, &q, &out))
		return false;
	assert_int_equal(out.reply_if, f->p.in_if);
	memcpy(copy, out.reply, out.reply_len);
	memset(r, 0, sizeof(*r));
	r->data = copy;
	r->len = out.reply_len;
	r->cap = ENGINE_MAX_REPLY;
	engine_output(v->en, r, v->now, &f->out);
	struct pkt c = { .data = copy, .len = out.reply_len, .cap = ENGINE_MAX_REPLY };
	assert_int_equal(pkt_parse(&c, true, true), DR_NONE);
	assert_true(pkt_checksums_ok(&c));
	return true;
}

static const struct unreach_case {
	const char *rsc;        /* NULL: the base configuration alone */
	const char *in, *desc;
	bool answered;
	const char *from, *to;  /* the error's addresses as it leaves */
	const char *out_if;
	/* the quote as its sender knows it (IPv4): addresses, ports */
	const char *qsrc, *qdst;
	uint16_t qsport, qdport;
} unreach_cases[] = {
	{ NULL, "ether2", "udp 192.168.88.10:5000 > 198.51.100.1:53", true, "192.168.88.1",
	  "192.168.88.10", "ether2", "192.168.88.10", "198.51.100.1", 5000, 53 },
	{ NULL, "ether2", "icmp 192.168.88.10 > 198.51.100.1 type=8 id=7", true, "192.168.88.1",
	  "192.168.88.10", "ether2", "192.168.88.10", "198.51.100.1", 7, 7 },
	/* masquerade: to the host behind it, quoting what it sent */
	{ masq_rsc, "ether2", "udp 192.168.88.10:40000 > 198.51.100.1:53", true, "192.168.88.1",
	  "192.168.88.10", "ether2", "192.168.88.10", "198.51.100.1", 40000, 53 },
	{ masq_rsc, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.1:443 flags=S", true,
	  "192.168.88.1", "192.168.88.10", "ether2", "192.168.88.10", "198.51.100.1", 40001, 443 },
	/* dst-nat: the client is told about the address it tried */
	{ masq_rsc, "ether1", "tcp 198.51.100.7:3333 > 203.0.113.2:8080 flags=S", true,
	  "203.0.113.2", "198.51.100.7", "ether1", "198.51.100.7", "203.0.113.2", 3333, 8080 },
	/* never an error about an error (RFC 1812 4.3.2.7) */
	{ NULL, "ether2", "icmp 192.168.88.10 > 198.51.100.1 type=3 code=3 (udp 198.51.100.1:53 > "
			  "192.168.88.10:5000)", false, NULL, NULL, NULL, NULL, NULL, 0, 0 },
	/* IPv6: address unreachable (1/3), from the in-interface's address */
	{ NULL, "ether2", "udp [2001:db8:1::10]:5000 > [2001:db8:9::1]:53", true, "2001:db8:1::1",
	  "2001:db8:1::10", "ether2", NULL, NULL, 0, 0 },
	{ NULL, "ether2", "icmp6 [2001:db8:1::10] > [2001:db8:9::1] type=1 code=4", false, NULL,
	  NULL, NULL, NULL, NULL, 0, 0 },
};

static void test_host_unreach(void **state)
{
	static struct frame f;
	static uint8_t copy[ENGINE_MAX_REPLY];
	for (size_t k = 0; k < sizeof(unreach_cases) / sizeof(unreach_cases[0]); k++) {
		const struct unreach_case *c = &unreach_cases[k];
		struct env *v = env_new(c->rsc);
		assert_int_equal(run(v, &f, c->in, c->desc), EV_FORWARD);
		struct pkt r;
		bool got = unreach_out(v, &f, copy, &r);
		if (got != c->answered)
			fail_msg("%s: %s", c->desc, got ? "answered" : "not answered");
		if (!got) {
			env_free(v);
			continue;
		}
		if (f.out.verdict != EV_FORWARD || f.out.out_if != ifid(c->out_if))
			fail_msg("%s: verdict %d out_if %u", c->desc, f.out.verdict, f.out.out_if);
		bool v6 = r.family == 6;
		assert_int_equal(r.proto, v6 ? 58 : 1);
		assert_int_equal(r.icmp_type, v6 ? 1 : 3);
		assert_int_equal(r.icmp_code, v6 ? 3 : 1);
		if (v6) {
			assert_ip6(r.src.v6, c->from);
			assert_ip6(r.dst.v6, c->to);
			env_free(v);
			continue;
		}
		if (r.src.v4 != ip4(c->from) || r.dst.v4 != ip4(c->to))
			fail_msg("%s: from %08x to %08x", c->desc, r.src.v4, r.dst.v4);
		const uint8_t *in = copy + r.l4_off + 8, *l4 = in + (in[0] & 0x0f) * 4;
		uint32_t qs = (uint32_t)in[12] << 24 | in[13] << 16 | in[14] << 8 | in[15];
		uint32_t qd = (uint32_t)in[16] << 24 | in[17] << 16 | in[18] << 8 | in[19];
		uint16_t sp = (uint16_t)(l4[0] << 8 | l4[1]), dp = (uint16_t)(l4[2] << 8 | l4[3]);
		if (in[9] == 1)
			sp = dp = (uint16_t)(l4[4] << 8 | l4[5]);
		if (qs != ip4(c->qsrc) || qd != ip4(c->qdst) || sp != c->qsport || dp != c->qdport)
			fail_msg("%s: quotes %08x:%u > %08x:%u", c->desc, qs, sp, qd, dp);
		env_free(v);
	}
}

static void test_v4_masquerade_ports(void **state)
{
	struct env *v = env_new(masq_rsc);
	struct frame f;

	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:40000 > 198.51.100.1:53"),
			 EV_FORWARD);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	uint16_t pa = f.p.sport;
	assert_int_equal(pa, 40000); /* the original port while it is free */
	assert_true(pkt_checksums_ok(&f.p));

	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.11:40000 > 198.51.100.1:53"),
			 EV_FORWARD);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	uint16_t pb = f.p.sport;
	assert_int_not_equal(pa, pb);
	assert_true(pb >= 1024);
	assert_true(pkt_checksums_ok(&f.p));

	/* each answer finds its own host */
	char desc[128];
	snprintf(desc, sizeof(desc), "udp 198.51.100.1:53 > 203.0.113.2:%u", pb);
	assert_int_equal(run(v, &f, "ether1", desc), EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.11"));
	assert_int_equal(f.p.dport, 40000);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_true(pkt_checksums_ok(&f.p));
	snprintf(desc, sizeof(desc), "udp 198.51.100.1:53 > 203.0.113.2:%u", pa);
	assert_int_equal(run(v, &f, "ether1", desc), EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 40000);

	/* TCP has ports of its own: the original one is free there */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.12:40000 > 198.51.100.1:53 flags=S"),
			 EV_FORWARD);
	assert_int_equal(f.p.sport, 40000);
	assert_true(pkt_checksums_ok(&f.p));
	/* a to-ports range of one port leaves room for one connection only */
	struct env *w = env_new("/ip firewall nat\n"
				"add chain=srcnat action=masquerade out-interface=ether1 protocol=udp "
				"to-ports=5000\n");
	assert_int_equal(run(w, &f, "ether2", "udp 192.168.88.10:40000 > 198.51.100.1:53"),
			 EV_FORWARD);
	assert_int_equal(f.p.sport, 5000);
	assert_int_equal(run(w, &f, "ether2", "udp 192.168.88.11:40000 > 198.51.100.1:53"),
			 EV_DROP);
	assert_int_equal(f.out.reason, DR_NAT_NO_PORT);
	env_free(w);
	env_free(v);
}

/*
 * connection-limit over real conntrack: a connection counts from its first
 * packet through the rule until conntrack forgets it (reset, timeout) or
 * it closes; a refused SYN leaves nothing that counts.
 */
struct clrun {
	const char *in, *pkt;
	uint64_t wait_s;       /* seconds before the packet */
	enum ev_verdict want;
};

static const struct clrun clruns[] = {
	{ "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:80 flags=S seq=100", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40002 > 198.51.100.7:80 flags=S seq=100", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40003 > 198.51.100.7:80 flags=S seq=100", 0, EV_REJECT },
	/* the refused one was never confirmed: its retransmission is 3 again */
	{ "ether2", "tcp 192.168.88.10:40003 > 198.51.100.7:80 flags=S seq=100", 0, EV_REJECT },
	/* another host has a count of its own */
	{ "ether2", "tcp 192.168.88.11:40001 > 198.51.100.7:80 flags=S seq=100", 0, EV_FORWARD },
	/* 40001 completes its handshake, then closes with a reset: it stops counting */
	{ "ether1", "tcp 198.51.100.7:80 > 192.168.88.10:40001 flags=SA seq=500 ack=101", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:80 flags=A seq=101 ack=501", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:80 flags=R seq=101", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40004 > 198.51.100.7:80 flags=S seq=100", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40005 > 198.51.100.7:80 flags=S seq=100", 0, EV_REJECT },
	/* unanswered SYNs time out (syn-sent 5 s): 40002 and 40004 are gone */
	{ "ether2", "tcp 192.168.88.10:40006 > 198.51.100.7:80 flags=S seq=100", 6, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40007 > 198.51.100.7:80 flags=S seq=100", 0, EV_FORWARD },
	{ "ether2", "tcp 192.168.88.10:40008 > 198.51.100.7:80 flags=S seq=100", 0, EV_REJECT },
};

static void test_v4_connection_limit(void **state)
{
	struct env *v = env_new("/ip firewall filter\n"
				"add chain=forward action=reject reject-with=tcp-reset protocol=tcp "
				"tcp-flags=syn connection-state=new connection-limit=2,32\n");
	struct frame f;
	for (size_t i = 0; i < sizeof(clruns) / sizeof(clruns[0]); i++) {
		v->now += clruns[i].wait_s * SEC;
		enum ev_verdict got = run(v, &f, clruns[i].in, clruns[i].pkt);
		if (got != clruns[i].want)
			fail_msg("step %zu %s: %s, expected %s", i, clruns[i].pkt, ev_name(got),
				 ev_name(clruns[i].want));
	}
	env_free(v);
}


/* ---- conntrack helpers ---- */

/* Runs a frame described by desc carrying payload text (len bytes). */
static enum ev_verdict run_data(struct env *v, struct frame *f, const char *in, const char *desc,
				const char *text, size_t len)
{
	char d[256];
	snprintf(d, sizeof(d), "%s len=%zu", desc, len);
	uint32_t n = build(d, f->buf);
	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.data = f->buf;
	p.len = n;
	p.cap = FRAME;
	assert_int_equal(pkt_parse(&p, true, false), DR_NONE);
	memcpy(f->buf + p.payload_off, text, len);
	pkt_fix_checksums(&p);
	return run_raw(v, f, in, n);
}

static enum ev_verdict run_text(struct env *v, struct frame *f, const char *in, const char *desc,
				const char *text)
{
	return run_data(v, f, in, desc, text, strlen(text));
}

static const char ftp_rsc[] =
	"/ip firewall filter\n"
	"add chain=forward action=accept connection-state=established\n"
	"add chain=forward action=accept connection-state=related connection-type=ftp\n"
	"add chain=forward action=accept connection-state=new in-interface=ether2\n"
	"add chain=forward action=drop\n";

/* The store id of the filter rule at index i (0-based). */
static uint32_t filter_id(struct env *v, size_t i)
{
	const struct menu *m = schema_find("/ip/firewall/filter");
	return store_at(v->st, m, i)->id;
}

/* A console command, then the engine reloads the store. */
static void cmd_ok(struct env *v, const char *text)
{
	struct err e;
	err_clear(&e);
	if (conf_exec(&v->s, text, NULL, &e) < 0 || engine_load(v->en, v->st, &e) < 0)
		fail_msg("%s: %s", text, e.msg);
}

static void test_ftp_active_and_passive(void **state)
{
	struct env *v = env_new(ftp_rsc);
	struct frame f;
	uint32_t related = filter_id(v, 1), drop = filter_id(v, 3);

	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct->helper, CTH_FTP);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);

	/* active: PORT 192.168.88.10:50000; the server's data connection is related */
	static const char port_cmd[] = "PORT 192,168,88,10,195,80\r\n";
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501",
				  port_cmd), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50000 flags=S seq=7000"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.out.rule_id, related);
	assert_int_equal(f.p.ct->helper, CTH_FTP | CTH_EXPECTED);
	/* its answer is established, and so is everything once answered */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:50000 > 198.51.100.7:20 flags=SA seq=9000 ack=7001"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	/* an expectation serves once: a second connection to that port is new */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 192.168.88.10:50000 flags=S seq=1"),
			 EV_DROP);
	assert_int_equal(f.out.rule_id, drop);
	/* nothing was announced for this port */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50001 flags=S seq=1"),
			 EV_DROP);

	/* a PORT naming another host opens nothing (Linux's loose=0) */
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=128 ack=501",
				  "PORT 192,168,88,99,195,90\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.99:50010 flags=S seq=1"),
			 EV_DROP);

	/* passive: 227 from the server; the client's connection is related */
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=PA seq=501 ack=155",
				  "227 Entering Passive Mode (198,51,100,7,200,10).\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:51210 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.out.rule_id, related);

	/* 229 (extended passive): the port only, the server's address */
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=PA seq=550 ack=155",
				  "229 Entering Extended Passive Mode (|||6446|)\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40002 > 198.51.100.7:6446 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.out.rule_id, related);

	/* expectations expire after 5 minutes */
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=155 ack=597",
				  "EPRT |1|192.168.88.10|50020|\r\n"), EV_FORWARD);
	v->now += 301 * SEC;
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50020 flags=S seq=1"),
			 EV_DROP);
	assert_int_equal(f.out.rule_id, drop);
	env_free(v);
}

/* IPv6: EPRT with an IPv6 address, and 229 */
static void test_ftp_v6(void **state)
{
	struct env *v = env_new("/ipv6 firewall filter\n"
				"add chain=forward action=accept connection-state=established\n"
				"add chain=forward action=accept connection-state=related connection-type=ftp\n"
				"add chain=forward action=accept connection-state=new in-interface=ether2\n"
				"add chain=forward action=drop\n");
	struct frame f;
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:40000 > [2001:db8:ffff::7]:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct->helper, CTH_FTP);
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:ffff::7]:21 > [2001:db8:1::10]:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp [2001:db8:1::10]:40000 > [2001:db8:ffff::7]:21 flags=PA seq=101 ack=501",
				  "EPRT |2|2001:db8:1::10|50000|\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:ffff::7]:20 > [2001:db8:1::10]:50000 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	/* an IPv4 EPRT on an IPv6 connection announces nothing */
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp [2001:db8:1::10]:40000 > [2001:db8:ffff::7]:21 flags=PA seq=133 ack=501",
				  "EPRT |1|10.0.0.1|50001|\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp [2001:db8:ffff::7]:20 > [2001:db8:1::10]:50001 flags=S seq=1"),
			 EV_DROP);
	env_free(v);
}

/* Without the helper (service-port ftp disabled) a data connection is new. */
static void test_ftp_helper_disabled(void **state)
{
	struct env *v = env_new(ftp_rsc);
	struct frame f;
	cmd_ok(v, "/ip firewall service-port set ftp disabled=yes");
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct->helper, 0);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501",
				  "PORT 192,168,88,10,195,80\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50000 flags=S seq=7000"),
			 EV_DROP);
	/* and a helper on another port */
	cmd_ok(v, "/ip firewall service-port set ftp disabled=no ports=2121");
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:2121 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct->helper, CTH_FTP);
	env_free(v);
}

/* Passive FTP from behind masquerade: the client's data connection is
 * related and masqueraded; TFTP's answer from another port is related and
 * translated back to the client. */
static void test_helpers_masquerade(void **state)
{
	struct env *v = env_new(masq_rsc);
	struct frame f;
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 203.0.113.2:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 203.0.113.2:40000 flags=PA seq=501 ack=101",
				  "227 Entering Passive Mode (198,51,100,7,200,10)\r\n"), EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:51210 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2")); /* masqueraded by the rule */
	assert_true(pkt_checksums_ok(&f.p));

	/* TFTP read request; the server answers from port 3333 */
	static const char rrq[] = "\0\1boot.img\0octet";
	assert_int_equal(run_data(v, &f, "ether2", "udp 192.168.88.10:41000 > 198.51.100.7:69",
				  rrq, sizeof(rrq)), EV_FORWARD);
	assert_int_equal(f.p.ct->helper, CTH_TFTP);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	char d[128];
	snprintf(d, sizeof(d), "udp 198.51.100.7:3333 > 203.0.113.2:%u", f.p.sport);
	assert_int_equal(run_data(v, &f, "ether1", d, "\0\3\0\1data", 8), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.ct->helper, CTH_TFTP | CTH_EXPECTED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 41000);
	assert_true(pkt_checksums_ok(&f.p));
	/* the client's acknowledgement goes back out as the masqueraded address */
	assert_int_equal(run_data(v, &f, "ether2", "udp 192.168.88.10:41000 > 198.51.100.7:3333",
				  "\0\4\0\1", 4), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_true(pkt_checksums_ok(&f.p));
	env_free(v);
}

/* change-mss and clear-df rewrite the frame that leaves: the MSS from the
 * out-interface's MTU (clamp-to-pmtu) or a number, only ever lowered, DF
 * cleared, and the checksums verify from scratch. */
static void test_mangle_mss_df(void **state)
{
	struct env *v = env_new("/interface ethernet set [find default-name=ether1] mtu=1400\n"
				"/ip firewall mangle\n"
				"add chain=forward action=change-mss new-mss=clamp-to-pmtu protocol=tcp "
				"tcp-flags=syn out-interface=ether1 passthrough=yes\n"
				"add chain=forward action=change-mss new-mss=1300 protocol=tcp tcp-flags=syn "
				"in-interface=ether1\n"
				"add chain=postrouting action=clear-df protocol=udp\n"
				"/ipv6 firewall mangle\n"
				"add chain=forward action=change-mss new-mss=clamp-to-pmtu protocol=tcp "
				"tcp-flags=syn\n");
	struct frame f;
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=S mss=1460 df=yes"),
			 EV_FORWARD);
	assert_int_equal(f.p.mss, 1360);
	struct pkt q;
	memset(&q, 0, sizeof(q));
	q.data = f.p.data;
	q.len = f.p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE); /* every checksum verified */
	assert_int_equal(q.mss, 1360);
	assert_true(q.flags & PKT_F_DF); /* TCP keeps DF: the rule is for UDP */
	/* smaller already: kept */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:80 flags=S mss=1200"),
			 EV_FORWARD);
	assert_int_equal(f.p.mss, 1200);
	assert_true(pkt_checksums_ok(&f.p));
	/* the SYN-ACK coming in gets the number */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:80 > 192.168.88.10:40000 flags=SA mss=1460 ack=1"),
			 EV_FORWARD);
	q.len = f.p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
	assert_int_equal(q.mss, 1300);
	/* UDP loses DF */
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:5000 > 198.51.100.7:53 df=yes len=40"),
			 EV_FORWARD);
	q.len = f.p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
	assert_false(q.flags & PKT_F_DF);
	/* IPv6: an ethernet of 1500 less 60 */
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:40000 > [2001:db8:100::5]:80 flags=S mss=1440"),
			 EV_FORWARD);
	q.len = f.p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
	assert_int_equal(q.mss, 1440);
	assert_int_equal(run(v, &f, "ether2", "tcp [2001:db8:1::10]:40001 > [2001:db8:100::5]:80 flags=S mss=8940"),
			 EV_FORWARD);
	q.len = f.p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE);
	assert_int_equal(q.mss, 1440);
	env_free(v);
}

/* dst-address-type=local on IPv6: the router's /ipv6 address entries and
 * its link-local addresses; forwarded unicast is not local. */
static void test_v6_address_type(void **state)
{
	struct env *v = env_new("/ipv6 firewall filter\n"
				"add chain=input action=drop protocol=udp dst-port=9999 dst-address-type=local\n"
				"add chain=forward action=reject protocol=udp dst-port=9999 dst-address-type=!unicast\n"
				"add chain=forward action=drop protocol=udp dst-port=9999 dst-address-type=local\n");
	struct frame f;
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:5 > [2001:db8:1::1]:9999"), EV_DROP);
	assert_int_equal(run(v, &f, "ether1", "udp [2001:db8:ffff::1]:5 > [2001:db8:ffff::2]:9999"),
			 EV_DROP);
	uint8_t ll[16];
	assert_true(engine_link_local(v->en, ifid("ether2"), ll));
	char d[160];
	struct sbuf b = SBUF_INIT;
	format_ip6(ll, &b);
	snprintf(d, sizeof(d), "udp [fe80::99]:5 > [%s]:9999", sbuf_str(&b));
	sbuf_free(&b);
	assert_int_equal(run(v, &f, "ether2", d), EV_DROP);
	/* another host: forwarded, neither local nor non-unicast */
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:5 > [2001:db8:100::5]:9999"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "udp [2001:db8:1::10]:5 > [2001:db8:1::1]:9998"), EV_LOCAL);
	env_free(v);
}

/* The payload of the frame that left, as text. */
static void assert_payload(const struct frame *f, const char *want)
{
	size_t n = strlen(want);
	if (f->p.payload_len != n || memcmp(f->p.data + f->p.payload_off, want, n))
		fail_msg("payload '%.*s', expected '%s'", (int)f->p.payload_len,
			 (const char *)f->p.data + f->p.payload_off, want);
	struct pkt q;
	memset(&q, 0, sizeof(q));
	q.data = f->p.data;
	q.len = f->p.len;
	assert_int_equal(pkt_parse(&q, true, true), DR_NONE); /* lengths and checksums */
	assert_int_equal(q.payload_len, n);
}

/*
 * Active FTP from behind NAT (nf_nat_ftp): PORT names the translated
 * address, the segment changes length, the sequence numbers of the rest of
 * the control connection follow in both directions (conntrack keeps
 * tracking it), and the server's data connection to the translated
 * address is related and translated back to the client.
 */
struct ftpnat_case {
	const char *rsc;
	const char *client;      /* its address */
	const char *port_cmd, *port_out; /* PORT as sent, as it leaves */
	const char *pub;         /* the translated address */
	int delta;
};

static const struct ftpnat_case ftpnat_cases[] = {
	{ "/ip firewall nat\nadd chain=srcnat action=masquerade out-interface=ether1\n",
	  "192.168.88.10", "PORT 192,168,88,10,195,80\r\n", "PORT 203,0,113,2,195,80\r\n",
	  "203.0.113.2", -2 },
	{ "/ip firewall nat\nadd chain=srcnat action=src-nat to-addresses=203.0.113.222 out-interface=ether1\n",
	  "192.168.88.5", "PORT 192,168,88,5,195,80\r\n", "PORT 203,0,113,222,195,80\r\n",
	  "203.0.113.222", 1 },
	{ "/ip firewall nat\nadd chain=srcnat action=src-nat to-addresses=203.0.113.222 out-interface=ether1\n",
	  "192.168.88.5", "EPRT |1|192.168.88.5|50000|\r\n", "EPRT |1|203.0.113.222|50000|\r\n",
	  "203.0.113.222", 1 },
};

static void test_ftp_nat(void **state)
{
	for (size_t i = 0; i < sizeof(ftpnat_cases) / sizeof(ftpnat_cases[0]); i++) {
		const struct ftpnat_case *c = &ftpnat_cases[i];
		struct env *v = env_new(c->rsc);
		struct frame f;
		char d[200];
		size_t sent = strlen(c->port_cmd);
		uint32_t d2 = (uint32_t)(int32_t)c->delta;
		snprintf(d, sizeof(d), "tcp %s:40000 > 198.51.100.7:21 flags=S seq=100", c->client);
		assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);
		assert_int_equal(f.p.src.v4, ip4(c->pub));
		snprintf(d, sizeof(d), "tcp 198.51.100.7:21 > %s:40000 flags=SA seq=500 ack=101", c->pub);
		assert_int_equal(run(v, &f, "ether1", d), EV_FORWARD);
		snprintf(d, sizeof(d), "tcp %s:40000 > 198.51.100.7:21 flags=A seq=101 ack=501", c->client);
		assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);

		snprintf(d, sizeof(d), "tcp %s:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501", c->client);
		assert_int_equal(run_text(v, &f, "ether2", d, c->port_cmd), EV_FORWARD);
		assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
		assert_payload(&f, c->port_out);
		assert_int_equal(f.p.seq, 101);
		/* the server acknowledges what it got; the client sees its own numbering */
		snprintf(d, sizeof(d), "tcp 198.51.100.7:21 > %s:40000 flags=A seq=501 ack=%u", c->pub,
			 (unsigned)(101 + sent + d2));
		assert_int_equal(run(v, &f, "ether1", d), EV_FORWARD);
		assert_int_equal(f.p.ct_state, CT_ESTABLISHED); /* conntrack agrees */
		assert_int_equal(f.p.ack, 101 + sent);
		assert_true(pkt_checksums_ok(&f.p));
		snprintf(d, sizeof(d), "tcp 198.51.100.7:21 > %s:40000 flags=PA seq=501 ack=%u", c->pub,
			 (unsigned)(101 + sent + d2));
		assert_int_equal(run_text(v, &f, "ether1", d, "200 PORT command successful\r\n"),
				 EV_FORWARD);
		assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
		assert_int_equal(f.p.ack, 101 + sent);
		/* the client's next command moves by the difference */
		snprintf(d, sizeof(d), "tcp %s:40000 > 198.51.100.7:21 flags=PA seq=%u ack=530",
			 c->client, (unsigned)(101 + sent));
		assert_int_equal(run_text(v, &f, "ether2", d, "LIST\r\n"), EV_FORWARD);
		assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
		assert_int_equal(f.p.seq, (uint32_t)(101 + sent + d2));
		assert_payload(&f, "LIST\r\n");

		/* the data connection to the translated address reaches the client */
		snprintf(d, sizeof(d), "tcp 198.51.100.7:20 > %s:50000 flags=S seq=7000", c->pub);
		assert_int_equal(run(v, &f, "ether1", d), EV_FORWARD);
		assert_int_equal(f.p.ct_state, CT_RELATED);
		assert_int_equal(f.p.ct->helper, CTH_FTP | CTH_EXPECTED);
		assert_int_equal(f.p.dst.v4, ip4(c->client));
		assert_int_equal(f.p.dport, 50000);
		assert_int_equal(f.out.out_if, ifid("ether2"));
		assert_true(pkt_checksums_ok(&f.p));
		snprintf(d, sizeof(d), "tcp %s:50000 > 198.51.100.7:20 flags=SA seq=9000 ack=7001", c->client);
		assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);
		assert_int_equal(f.p.src.v4, ip4(c->pub));
		assert_int_equal(f.p.sport, 50000);
		assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
		assert_true(pkt_checksums_ok(&f.p));
		/* the untranslated address is not expected */
		snprintf(d, sizeof(d), "tcp 198.51.100.7:20 > %s:50000 flags=S seq=1", c->client);
		run(v, &f, "ether1", d);
		assert_int_not_equal(f.p.ct_state, CT_RELATED);
		env_free(v);
	}
}

/* Passive FTP to a server behind dst-nat: its 227 names the public
 * address, and the client's data connection reaches the server. */
static void test_ftp_nat_server(void **state)
{
	struct env *v = env_new("/ip firewall nat\n"
				"add chain=dstnat action=dst-nat in-interface=ether1 protocol=tcp "
				"dst-port=21 to-addresses=192.168.88.10\n");
	struct frame f;
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);
	static const char reply[] = "227 Entering Passive Mode (192,168,88,10,200,10).\r\n";
	assert_int_equal(run_text(v, &f, "ether2", "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=PA seq=501 ack=101",
				  reply), EV_FORWARD);
	assert_payload(&f, "227 Entering Passive Mode (203,0,113,2,200,10).\r\n");
	uint32_t got = (uint32_t)strlen(reply) - 2;
	char d[160];
	snprintf(d, sizeof(d), "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=A seq=101 ack=%u", 501 + got);
	assert_int_equal(run(v, &f, "ether1", d), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.ack, 501 + got + 2);
	assert_true(pkt_checksums_ok(&f.p));
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40001 > 203.0.113.2:51210 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 51210);
	assert_true(pkt_checksums_ok(&f.p));
	env_free(v);
}

/*
 * A command or reply split over two segments (the FTP helper keeps the
 * unfinished line): without NAT the expectation comes with the segment
 * that ends the line; behind masquerade the address part is held back and
 * leaves, rewritten, with the rest, and the numbering of both sides
 * follows (conntrack keeps tracking the connection).
 */
static void test_ftp_split(void **state)
{
	/* no NAT: PORT in two pieces, then 227 in two pieces */
	struct env *v = env_new(ftp_rsc);
	struct frame f;
	uint32_t related = filter_id(v, 1);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501",
				  "PORT 192,168,8"), EV_FORWARD);
	assert_payload(&f, "PORT 192,168,8");
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=115 ack=501",
				  "8,10,195,80\r\n"), EV_FORWARD);
	assert_payload(&f, "8,10,195,80\r\n");
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50000 flags=S seq=7000"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.out.rule_id, related);
	/* the server's reply split just after its code, then in the numbers */
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=PA seq=501 ack=128",
				  "227 "), EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=PA seq=505 ack=128",
				  "Entering Passive Mode (198,51,"), EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 192.168.88.10:40000 flags=PA seq=535 ack=128",
				  "100,7,200,10).\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:51210 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.out.rule_id, related);
	/* a line that is no command is not kept: its end announces nothing */
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=128 ack=551",
				  "NOOP PORT 192,168,88,10,"), EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=152 ack=551",
				  "195,90\r\n"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 192.168.88.10:50010 flags=S seq=1"),
			 EV_DROP);
	env_free(v);

	/* behind masquerade: "PORT 192,168,8" leaves as "PORT ", the rest as
	 * the translated address; a retransmission of the first piece does
	 * not let the private digits out either */
	v = env_new(ftpnat_cases[0].rsc);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 203.0.113.2:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501",
				  "PORT 192,168,8"), EV_FORWARD);
	assert_payload(&f, "PORT ");
	assert_int_equal(f.p.seq, 101);
	/* the server acknowledges the 5 bytes; the client sees all 14 taken */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:21 > 203.0.113.2:40000 flags=A seq=501 ack=106"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.ack, 115);
	assert_true(pkt_checksums_ok(&f.p));
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=101 ack=501",
				  "PORT 192,168,8"), EV_FORWARD);
	assert_payload(&f, "PORT ");
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=115 ack=501",
				  "8,10,195,80\r\n"), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_payload(&f, "203,0,113,2,195,80\r\n");
	assert_int_equal(f.p.seq, 106);
	/* 5 + 20 bytes reached the server: 101 + 14 + 13 in the client's numbering */
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:21 > 203.0.113.2:40000 flags=PA seq=501 ack=126",
				  "200 PORT command successful\r\n"), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.ack, 128);
	assert_true(pkt_checksums_ok(&f.p));
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:40000 > 198.51.100.7:21 flags=PA seq=128 ack=530",
				  "LIST\r\n"), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.seq, 126);
	assert_payload(&f, "LIST\r\n");
	/* the data connection to the translated address reaches the client */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:20 > 203.0.113.2:50000 flags=S seq=7000"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 50000);
	assert_true(pkt_checksums_ok(&f.p));
	env_free(v);

	/* a server behind dst-nat: 227 split inside the address */
	v = env_new("/ip firewall nat\n"
		    "add chain=dstnat action=dst-nat in-interface=ether1 protocol=tcp "
		    "dst-port=21 to-addresses=192.168.88.10\n");
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=PA seq=501 ack=101",
				  "227 Entering Passive Mode (192,16"), EV_FORWARD);
	assert_payload(&f, "227 Entering Passive Mode (");
	assert_int_equal(run_text(v, &f, "ether2",
				  "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=PA seq=534 ack=101",
				  "8,88,10,200,10).\r\n"), EV_FORWARD);
	assert_payload(&f, "203,0,113,2,200,10).\r\n");
	assert_int_equal(f.p.seq, 528);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=A seq=101 ack=550"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.ack, 552);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40001 > 203.0.113.2:51210 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 51210);
	env_free(v);
}

/*
 * Expected connections follow the master's translation
 * (nf_nat_follow_master) even where no NAT rule would translate them: a
 * TFTP server and an active-mode FTP server behind dst-nat answer from
 * their private address, and with no srcnat rule the data leaves with the
 * public address the client talks to, and the client's packets back reach
 * the server.
 */
static void test_expected_follow_master(void **state)
{
	struct env *v = env_new("/ip firewall nat\n"
				"add chain=dstnat action=dst-nat in-interface=ether1 protocol=udp "
				"dst-port=69 to-addresses=192.168.88.20\n"
				"add chain=dstnat action=dst-nat in-interface=ether1 protocol=tcp "
				"dst-port=21 to-addresses=192.168.88.10\n");
	struct frame f;
	static const char rrq[] = "\0\1boot.img\0octet";
	assert_int_equal(run_data(v, &f, "ether1", "udp 198.51.100.7:41000 > 203.0.113.2:69", rrq,
				  sizeof(rrq)), EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.20"));
	assert_int_equal(f.p.ct->helper, CTH_TFTP);
	/* the server answers from another port of its private address */
	assert_int_equal(run_data(v, &f, "ether2", "udp 192.168.88.20:3333 > 198.51.100.7:41000",
				  "\0\3\0\1data", 8), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.ct->helper, CTH_TFTP | CTH_EXPECTED);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(f.p.sport, 3333);
	assert_int_equal(f.p.dst.v4, ip4("198.51.100.7"));
	assert_int_equal(f.p.dport, 41000);
	assert_true(pkt_checksums_ok(&f.p));
	/* the client's acknowledgement to the public address reaches the server */
	assert_int_equal(run_data(v, &f, "ether1", "udp 198.51.100.7:41000 > 203.0.113.2:3333",
				  "\0\4\0\1", 4), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.20"));
	assert_int_equal(f.p.dport, 3333);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_true(pkt_checksums_ok(&f.p));

	/* active FTP to the server behind dst-nat */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=S seq=100"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:21 > 198.51.100.7:40000 flags=SA seq=500 ack=101"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=A seq=101 ack=501"),
			 EV_FORWARD);
	static const char port_cmd[] = "PORT 198,51,100,7,195,80\r\n";
	assert_int_equal(run_text(v, &f, "ether1",
				  "tcp 198.51.100.7:40000 > 203.0.113.2:21 flags=PA seq=101 ack=501",
				  port_cmd), EV_FORWARD);
	assert_payload(&f, port_cmd); /* the client is not translated */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:20 > 198.51.100.7:50000 flags=S seq=7000"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.ct->helper, CTH_FTP | CTH_EXPECTED);
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(f.p.sport, 20);
	assert_true(pkt_checksums_ok(&f.p));
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:50000 > 203.0.113.2:20 flags=SA seq=9000 ack=7001"),
			 EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 20);
	assert_true(pkt_checksums_ok(&f.p));
	env_free(v);

	/* an untranslated master: its expected connection is left to the NAT
	 * rules (none here), as Linux installs follow_master only for NAT */
	v = env_new("");
	assert_int_equal(run_data(v, &f, "ether2", "udp 192.168.88.10:41000 > 198.51.100.7:69", rrq,
				  sizeof(rrq)), EV_FORWARD);
	assert_int_equal(run_data(v, &f, "ether1", "udp 198.51.100.7:3333 > 192.168.88.10:41000",
				  "\0\3\0\1data", 8), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.p.src.v4, ip4("198.51.100.7"));
	assert_false(f.p.ct->status & (CTS_SRCNAT | CTS_DSTNAT));
	env_free(v);
}

static void test_v4_dstnat(void **state)
{
	struct env *v = env_new(masq_rsc);
	struct frame f;

	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:5555 > 203.0.113.2:8080 flags=S seq=1"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 80);
	assert_int_equal(f.p.src.v4, ip4("198.51.100.7")); /* the source is kept */
	assert_true(pkt_checksums_ok(&f.p));
	assert_true(f.p.ct->status & CTS_DSTNAT);

	/* the server's answer leaves as the router's port 8080 */
	assert_int_equal(run(v, &f, "ether2",
			     "tcp 192.168.88.10:80 > 198.51.100.7:5555 flags=SA seq=50 ack=2"),
			 EV_FORWARD);
	assert_int_equal(f.out.out_if, ifid("ether1"));
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(f.p.sport, 8080);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_true(pkt_checksums_ok(&f.p));

	/* and later packets of the client keep being translated */
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:5555 > 203.0.113.2:8080 flags=A seq=2 ack=51"),
			 EV_FORWARD);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 80);
	assert_true(pkt_checksums_ok(&f.p));
	env_free(v);
}

static void test_v4_icmp_error_unnat(void **state)
{
	struct env *v = env_new(masq_rsc);
	struct frame f;

	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:40000 > 198.51.100.1:53"),
			 EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.11:40000 > 198.51.100.1:53"),
			 EV_FORWARD);
	uint16_t pb = f.p.sport;
	assert_int_not_equal(pb, 40000);

	/* port unreachable from the server, about the second host's datagram */
	char desc[200];
	snprintf(desc, sizeof(desc),
		 "icmp 198.51.100.1 > 203.0.113.2 type=3 code=3 (udp 203.0.113.2:%u > 198.51.100.1:53)",
		 pb);
	assert_int_equal(run(v, &f, "ether1", desc), EV_FORWARD);
	assert_int_equal(f.p.ct_state, CT_RELATED);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.11"));
	assert_true(f.p.flags & PKT_F_ICMP_ERR);
	assert_int_equal(f.p.inner.src.v4, ip4("192.168.88.11"));
	assert_int_equal(f.p.inner.sport, 40000);
	assert_true(pkt_checksums_ok(&f.p));
	/* the embedded header's own checksum was kept right too */
	assert_int_equal(csum_buf(f.p.data + f.p.inner.l3_off, 20, 0), 0);
	/* what the host now reads is its own datagram */
	struct pkt r;
	uint8_t copy[FRAME];
	memcpy(copy, f.p.data, f.p.len);
	memset(&r, 0, sizeof(r));
	r.data = copy;
	r.len = f.p.len;
	r.cap = FRAME;
	assert_int_equal(pkt_parse(&r, true, true), DR_NONE);
	assert_int_equal(r.inner.src.v4, ip4("192.168.88.11"));
	assert_int_equal(r.inner.dport, 53);
	env_free(v);
}

static void test_v4_ttl_and_blackhole(void **state)
{
	struct env *v = env_new(NULL);
	struct frame f;
	uint8_t copy[ENGINE_MAX_REPLY];
	struct pkt r;

	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:33434 > 198.51.100.1:33434 ttl=1"),
			 EV_REJECT);
	assert_int_equal(f.out.reason, DR_TTL_EXCEEDED);
	parse_reply(&f.out, copy, &r);
	assert_int_equal(r.proto, 1);
	assert_int_equal(r.icmp_type, 11);
	assert_int_equal(r.icmp_code, 0);
	assert_int_equal(r.src.v4, ip4("192.168.88.1"));
	assert_int_equal(r.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(r.inner.src.v4, ip4("192.168.88.10"));
	assert_int_equal(r.inner.dport, 33434);

	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:1000 > 192.0.2.55:53"), EV_DROP);
	assert_int_equal(f.out.reason, DR_BLACKHOLE);
	assert_int_equal(f.out.reply_len, 0);
	assert_int_equal(engine_drops(v->en, DR_BLACKHOLE), 1);
	/* the router's own address still goes to input */
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:1000 > 192.168.88.1:53"), EV_LOCAL);
	env_free(v);
}

/* engine_route_if, proxy ARP's question: the interface a unicast route of
 * the main table takes an address out of; none for what no route or a
 * blackhole takes, nor a connected network's network or broadcast address. */
static void test_v4_route_if(void **state)
{
	(void)state;
	static const struct {
		const char *addr, *out; /* NULL: 0 */
	} t[] = {
		{ "192.168.88.10", "ether2" }, { "203.0.113.1", "ether1" },
		{ "198.51.100.1", "ether1" },  /* the default route */
		{ "10.9.9.9", "ether3" },      /* a route to an interface */
		{ "192.0.2.55", NULL },        /* blackhole */
		{ "192.168.88.255", NULL },    { "192.168.88.0", NULL },
		{ "203.0.113.255", NULL },
	};
	struct env *v = env_new("/ip route add dst-address=10.9.0.0/16 gateway=ether3\n");
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint16_t out = engine_route_if(v->en, ip4(t[i].addr));
		if (out != (t[i].out ? ifid(t[i].out) : 0))
			fail_msg("%s: out of %u", t[i].addr, out);
	}
	env_free(v);
}

/* The broadcast address of one of the router's subnets (/30 and larger)
 * and the limited broadcast are the router's, through input, as in Linux's
 * local table; a host of the subnet, a /31's peer and the network address
 * are routed. */
static void test_v4_broadcast_to_input(void **state)
{
	(void)state;
	static const struct {
		const char *in, *desc;
		enum ev_verdict want;
	} t[] = {
		{ "ether2", "icmp 192.168.88.10 > 192.168.88.255 type=8", EV_LOCAL },
		{ "ether2", "udp 192.168.88.10:137 > 192.168.88.255:137", EV_LOCAL },
		{ "ether2", "icmp 192.168.88.10 > 192.168.88.0 type=8", EV_LOCAL }, /* network */
		{ "ether1", "icmp 203.0.113.9 > 203.0.113.255 type=8", EV_LOCAL },
		{ "ether2", "icmp 192.168.88.10 > 255.255.255.255 type=8", EV_LOCAL },
		{ "ether2", "icmp 192.168.88.10 > 10.9.9.3 type=8", EV_LOCAL },
		{ "ether2", "icmp 192.168.88.10 > 192.168.88.254 type=8", EV_FORWARD },
		{ "ether2", "icmp 192.168.88.10 > 10.9.8.1 type=8", EV_FORWARD },  /* a /31's peer */
		{ "ether2", "icmp 192.168.88.10 > 10.9.7.255 type=8", EV_FORWARD }, /* beside a /32 */
	};
	struct env *v = env_new("/ip address\n"
				"add address=10.9.9.1/30 interface=ether3\n"
				"add address=10.9.8.0/31 interface=ether4\n"
				"add address=10.9.7.1/32 interface=ether4\n");
	struct frame f;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		if (run(v, &f, t[i].in, t[i].desc) != t[i].want)
			fail_msg("%s: verdict %d, want %d", t[i].desc, f.out.verdict, t[i].want);
	env_free(v);
	/* the input chain decides first */
	v = env_new("/ip firewall filter\n"
		    "add chain=input action=drop protocol=icmp dst-address=192.168.88.255\n");
	assert_int_equal(run(v, &f, "ether2", "icmp 192.168.88.10 > 192.168.88.255 type=8"),
			 EV_DROP);
	assert_int_equal(f.out.reason, DR_FILTER);
	env_free(v);
	/* and dst-address-type=broadcast knows the subnets' broadcasts */
	v = env_new("/ip firewall filter\n"
		    "add chain=input action=drop dst-address-type=broadcast\n");
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:137 > 192.168.88.255:137"), EV_DROP);
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:137 > 192.168.88.0:137"), EV_DROP);
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:1 > 192.168.88.1:2"), EV_LOCAL);
	env_free(v);
}

/* ---- fragments ---- */

static const char frag_rsc[] =
	"/ip firewall filter\n"
	"add chain=forward action=drop connection-state=invalid\n"
	"add chain=forward action=drop protocol=udp dst-port=9999\n"
	"/ipv6 firewall filter\n"
	"add chain=forward action=drop connection-state=invalid\n"
	"add chain=forward action=drop protocol=udp dst-port=9999\n";

struct dgram {
	uint8_t buf[FRAME * 3];
	uint32_t len;
	uint32_t l3, hl;   /* IP header offset and length */
};

static void dgram(struct dgram *d, const char *desc)
{
	struct err e;
	err_clear(&e);
	int n = pkt_build(desc, d->buf, sizeof(d->buf), &e);
	if (n < 0)
		fail_msg("pkt_build %s: %s", desc, e.msg);
	d->len = (uint32_t)n;
	d->l3 = 14;
	d->hl = (d->buf[12] == 0x86) ? 40 : (uint32_t)(d->buf[14] & 15) * 4;
}

static void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void fix_csum4(uint8_t *ip, uint32_t hl)
{
	wr16(ip + 10, 0);
	uint16_t c = csum_buf(ip, hl, 0); /* network order */
	memcpy(ip + 10, &c, 2);
}

/* The fragment of d holding payload bytes [off, off + n), into f. */
static uint32_t frag(const struct dgram *d, uint32_t off, uint32_t n, bool more, uint32_t id,
		     uint8_t *out)
{
	uint32_t hdr = d->l3 + d->hl;
	memcpy(out, d->buf, hdr);
	uint8_t *ip = out + d->l3;
	if (d->hl == 40) {
		uint8_t *fh = out + hdr;
		fh[0] = ip[6];
		fh[1] = 0;
		wr16(fh + 2, (uint16_t)(off | (more ? 1 : 0)));
		fh[4] = (uint8_t)(id >> 24);
		fh[5] = (uint8_t)(id >> 16);
		fh[6] = (uint8_t)(id >> 8);
		fh[7] = (uint8_t)id;
		ip[6] = 44;
		wr16(ip + 4, (uint16_t)(8 + n));
		memcpy(fh + 8, d->buf + hdr + off, n);
		return hdr + 8 + n;
	}
	wr16(ip + 2, (uint16_t)(d->hl + n));
	wr16(ip + 4, (uint16_t)id);
	wr16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | off / 8));
	fix_csum4(ip, d->hl);
	memcpy(out + hdr, d->buf + hdr + off, n);
	return hdr + n;
}

static enum ev_verdict send_frag(struct env *v, struct frame *f, const struct dgram *d,
				 uint32_t off, uint32_t n, bool more, uint32_t id)
{
	return run_raw(v, f, "ether2", frag(d, off, n, more, id, f->buf));
}

/* The datagram that came out is d, hop limit aside. */
static void assert_whole(const struct frame *f, const struct dgram *d)
{
	assert_int_equal(f->p.len, d->len);
	assert_false(f->p.flags & PKT_F_FRAGMENT);
	assert_true(pkt_checksums_ok(&f->p));
	uint32_t hdr = d->l3 + d->hl;
	assert_memory_equal(f->p.data + hdr, d->buf + hdr, d->len - hdr);
}

/* ---- FastTrack's flow cache ---- */

static const char ft_rsc[] =
	"/ip firewall filter\n"
	"add chain=forward action=fasttrack-connection connection-state=established,related\n"
	"add chain=forward action=accept connection-state=established,related\n"
	"add chain=forward action=drop connection-state=invalid\n"
	"/ip firewall nat\n"
	"add chain=srcnat action=masquerade out-interface=ether1\n";

static uint64_t hits(struct env *v)
{
	return engine_fast_hits(v->en);
}

static void test_v4_fasttrack_udp(void **state)
{
	struct env *v = env_new(ft_rsc);
	struct frame f;
	const char *up = "udp 192.168.88.10:5000 > 198.51.100.7:53 len=40";
	const char *down = "udp 198.51.100.7:53 > 203.0.113.2:5000 len=40";

	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);     /* new */
	assert_int_equal(run(v, &f, "ether1", down), EV_FORWARD);   /* marked fasttrack */
	assert_false(f.out.fasttrack);
	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);     /* assured, learnt */
	assert_true(f.out.fasttrack);
	assert_int_equal(hits(v), 0);
	struct ct_entry *e = f.p.ct;
	assert_non_null(e);
	uint32_t before = e->packets[0];

	/* from the cache: NAT, TTL, checksums as the full path would leave them */
	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);
	assert_int_equal(hits(v), 1);
	assert_true(f.out.fasttrack);
	assert_int_equal(f.out.out_if, ifid("ether1"));
	assert_int_equal(f.out.nexthop, ip4("203.0.113.1"));
	assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	assert_int_equal(f.p.sport, 5000);
	assert_int_equal(f.p.ttl, 63);
	assert_int_equal(f.p.data[14 + 8], 63);
	assert_true(pkt_checksums_ok(&f.p));
	assert_ptr_equal(f.p.ct, e);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_equal(e->packets[0], before + 1);

	/* the reply direction: learnt on its first full-path trip, then cached */
	assert_int_equal(run(v, &f, "ether1", down), EV_FORWARD);
	assert_int_equal(hits(v), 1);
	assert_int_equal(run(v, &f, "ether1", down), EV_FORWARD);
	assert_int_equal(hits(v), 2);
	assert_int_equal(f.p.dst.v4, ip4("192.168.88.10"));
	assert_int_equal(f.p.dport, 5000);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_true(pkt_checksums_ok(&f.p));

	/* a bad IPv4 header checksum is never forwarded by the cache */
	uint32_t n = build(up, f.buf);
	f.buf[14 + 10] ^= 0xff;
	assert_int_equal(run_raw(v, &f, "ether2", n), EV_DROP);
	assert_int_equal(f.out.reason, DR_BAD_IPV4_CSUM);
	assert_int_equal(hits(v), 2);

	/* a reload retires the cached routes: a new route is followed */
	struct err er;
	assert_int_equal(conf_exec(&v->s, "/ip route add dst-address=198.51.100.0/24 "
					  "gateway=192.168.88.254", NULL, &er), 0);
	assert_int_equal(engine_load(v->en, v->st, &er), 0);
	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);
	assert_int_equal(hits(v), 2);
	assert_int_equal(f.out.out_if, ifid("ether2"));
	assert_int_equal(f.out.nexthop, ip4("192.168.88.254"));
	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);
	assert_int_equal(hits(v), 3);
	assert_int_equal(f.out.nexthop, ip4("192.168.88.254"));

	/* a removed connection is never hit: the next packet starts a new one */
	ct_flush(engine_ct(v->en));
	assert_int_equal(run(v, &f, "ether2", up), EV_FORWARD);
	assert_int_equal(hits(v), 3);
	assert_false(f.out.fasttrack);
	assert_int_equal(f.p.ct_state, CT_NEW);
	env_free(v);
}

static void test_v4_fasttrack_tcp(void **state)
{
	struct env *v = env_new(ft_rsc);
	struct frame f;
	char d[160];

	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
					      "flags=S seq=1000 win=65535"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 "
					      "flags=SA seq=5000 ack=1001 win=65535"), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
					      "flags=A seq=1001 ack=5001 win=65535"), EV_FORWARD);
	/* marked by the ACK, learnt by the next packet */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
					      "flags=PA seq=1001 ack=5001 win=65535 len=100"), EV_FORWARD);
	assert_true(f.out.fasttrack);
	uint64_t h = hits(v);
	/* data far beyond the window the full path last saw: the cache does not
	 * track windows */
	for (int i = 0; i < 5; i++) {
		snprintf(d, sizeof(d), "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=PA "
				       "seq=%u ack=5001 win=65535 len=1000", 1101 + 400000u * (unsigned)i);
		assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);
		assert_true(pkt_checksums_ok(&f.p));
		assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
	}
	assert_int_equal(hits(v), h + 5);
	/* FIN takes the full path, and the connection, now liberal, is not
	 * invalid for the sequence numbers it skipped */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
					      "flags=FA seq=2000000 ack=5001 win=65535"), EV_FORWARD);
	assert_int_equal(hits(v), h + 5);
	assert_int_equal(f.p.ct_state, CT_ESTABLISHED);
	assert_int_not_equal(f.p.ct->tcp_state, TCP_CONNTRACK_ESTABLISHED);
	/* after the FIN the cache no longer forwards it */
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
					      "flags=A seq=2000001 ack=5001 win=65535"), EV_FORWARD);
	assert_int_equal(hits(v), h + 5);
	env_free(v);
}

/* engine_input_burst against engine_input: the same packets (new, replied,
 * fasttracked, closing, flows sharing flow cache sets, a fragment pair)
 * through two engines, one a packet at a time, one in bursts of varying
 * size; every verdict, interface, frame and counter must agree. */
static void test_burst_matches_single(void **state)
{
	struct env *a = env_new(ft_rsc), *b = env_new(ft_rsc);
	enum { N = 3000, FLOWS = 40 };
	static uint8_t fa[N][FRAME], fb[N][FRAME];
	static uint32_t len[N];
	static const char *const ifs[2] = { "ether2", "ether1" };
	static uint8_t dir[N];
	uint32_t seed = 7;
	char d[200];

	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		unsigned f = (seed >> 8) % FLOWS, kind = (seed >> 20) % 16;
		bool up = (seed >> 4) & 1;
		bool tcp = f & 1;
		const char *flags = kind == 0 ? "S" : kind == 1 ? "SA" : kind == 2 ? "FA" : "PA";
		if (up)
			snprintf(d, sizeof(d), "%s 192.168.88.%u:%u > 198.51.100.%u:%u%s%s len=20",
				 tcp ? "tcp" : "udp", 10 + f % 7, 20000 + f, 1 + f % 3, 80,
				 tcp ? " flags=" : "", tcp ? flags : "");
		else
			snprintf(d, sizeof(d), "%s 198.51.100.%u:%u > 203.0.113.2:%u%s%s len=20",
				 tcp ? "tcp" : "udp", 1 + f % 3, 80, 20000 + f,
				 tcp ? " flags=" : "", tcp ? flags : "");
		len[i] = build(d, fa[i]);
		memcpy(fb[i], fa[i], len[i]);
		dir[i] = !up;
	}
	struct pkt pa, pb[32], *v[32];
	struct engine_out oa, ob[32];
	uint16_t in[32];
	uint64_t now = 20 * SEC;
	int i = 0;
	while (i < N) {
		seed = seed * 1103515245u + 12345u;
		int m = 1 + (int)((seed >> 16) % 32);
		if (m > N - i)
			m = N - i;
		now += SEC / 1000;
		for (int k = 0; k < m; k++) {
			pb[k] = (struct pkt){ .data = fb[i + k], .len = len[i + k], .cap = FRAME };
			v[k] = &pb[k];
			in[k] = ifid(ifs[dir[i + k]]);
		}
		for (size_t done = 0; done < (size_t)m;)
			done += engine_input_burst(b->en, v + done, in + done, (size_t)m - done, now,
						   ob + done);
		for (int k = 0; k < m; k++) {
			pa = (struct pkt){ .data = fa[i + k], .len = len[i + k], .cap = FRAME };
			engine_input(a->en, &pa, in[k], now, &oa);
			if (oa.verdict != ob[k].verdict || oa.out_if != ob[k].out_if ||
			    oa.fasttrack != ob[k].fasttrack || oa.rule_id != ob[k].rule_id ||
			    oa.reason != ob[k].reason || pa.len != pb[k].len ||
			    memcmp(pa.data, pb[k].data, pa.len) != 0)
				fail_msg("packet %d: verdict %d/%d out %u/%u fast %d/%d", i + k,
					 oa.verdict, ob[k].verdict, oa.out_if, ob[k].out_if,
					 oa.fasttrack, ob[k].fasttrack);
		}
		i += m;
	}
	assert_int_equal(ct_count(engine_ct(a->en)), ct_count(engine_ct(b->en)));
	assert_int_equal(engine_fast_hits(a->en), engine_fast_hits(b->en));
	assert_true(engine_fast_hits(a->en) > 100);
	for (int r = 0; r < DR_MAX; r++)
		assert_int_equal(engine_drops(a->en, (enum drop_reason)r),
				 engine_drops(b->en, (enum drop_reason)r));
	env_free(a);
	env_free(b);
}

/* reset-counters zeroes the running counters (not only the store's copy,
 * which the next export would overwrite), the FastTrack dummy's included */
static void test_reset_counters(void **state)
{
	struct env *v = env_new(ft_rsc);
	struct frame f;
	const struct menu *m = schema_find("/ip/firewall/filter");
	struct err er;
	const char *up = "udp 192.168.88.10:5000 > 198.51.100.7:53 len=40";
	const char *down = "udp 198.51.100.7:53 > 203.0.113.2:5000 len=40";

	for (int i = 0; i < 3; i++) {
		run(v, &f, "ether2", up);
		run(v, &f, "ether1", down);
	}
	engine_export_counters(v->en, v->st);
	const struct item *acc = store_at(v->st, m, 1); /* accept established */
	const struct item *dummy = NULL;
	for (size_t i = 0; i < store_count(v->st, m); i++)
		if (store_at(v->st, m, i)->flags & IF_DYNAMIC)
			dummy = store_at(v->st, m, i);
	assert_non_null(dummy);
	assert_true(acc->packets > 0);
	assert_true(dummy->packets > 0);
	uint32_t acc_id = acc->id;

	assert_int_equal(conf_exec(&v->s, "/ip firewall filter reset-counters 1", NULL, &er), 0);
	engine_export_counters(v->en, v->st);
	assert_int_equal(store_get(v->st, m, acc_id)->packets, 0);
	assert_true(dummy->packets > 0); /* only the one asked for */
	assert_int_equal(conf_exec(&v->s, "/ip firewall filter reset-counters-all", NULL, &er), 0);
	engine_export_counters(v->en, v->st);
	assert_int_equal(dummy->packets, 0);
	run(v, &f, "ether2", up);
	engine_export_counters(v->en, v->st);
	assert_int_equal(dummy->packets, 1); /* and they count again */
	env_free(v);
}

static void test_frag_in_order(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
	uint32_t pl = d.len - d.l3 - d.hl; /* 3008 */
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 7), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 7), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 2960, pl - 2960, false, 7), EV_FORWARD);
	assert_whole(&f, &d);
	assert_int_equal(f.p.ip_len, 20 + pl);
	assert_int_equal(f.p.dport, 53);
	assert_int_equal(f.p.ct_state, CT_NEW);
	assert_int_equal(f.p.ttl, 63);
	/* the rules see the ports of the whole datagram */
	dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:9999 len=3000");
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 8), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 8), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 2960, pl - 2960, false, 8), EV_DROP);
	assert_int_equal(f.out.reason, DR_FILTER);
	assert_int_equal(f.p.dport, 9999);
	assert_int_equal(engine_drops(v->en, DR_FILTER), 1);
	env_free(v);
}

/*
 * No sender leaves the checksum of a fragment partial (Linux finishes it
 * before fragmenting), so a fragment that came flagged PKT_RX_L4_PARTIAL
 * (a guest's virtio header can say so of anything) must not lend the flag
 * to the datagram it completes: that datagram's checksum is whole, and is
 * checked, not taken for a pseudo-header's sum to finish again.
 */
static void test_frag_partial_flag(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	for (int bad = 0; bad < 2; bad++) {
		dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
		if (bad)
			d.buf[d.l3 + d.hl + 6] ^= 0x5a; /* a wrong UDP checksum */
		uint32_t pl = d.len - d.l3 - d.hl, id = 20 + (uint32_t)bad;
		assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, id), EV_HELD);
		assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, id), EV_HELD);
		uint32_t n = frag(&d, 2960, pl - 2960, false, id, f.buf);
		memset(&f.p, 0, sizeof(f.p));
		f.p = (struct pkt){ .data = f.buf, .len = n, .cap = FRAME,
				    .rx_flags = PKT_RX_L4_PARTIAL };
		v->now += 1000000;
		engine_input(v->en, &f.p, ifid("ether2"), v->now, &f.out);
		if (bad) {
			assert_int_equal(f.out.verdict, EV_DROP);
			assert_int_equal(f.out.reason, DR_BAD_L4_CSUM);
			continue;
		}
		assert_int_equal(f.out.verdict, EV_FORWARD);
		assert_int_equal(f.p.rx_flags & PKT_RX_L4_PARTIAL, 0);
		assert_whole(&f, &d);
	}
	env_free(v);
}

static void test_frag_out_of_order(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "tcp 192.168.88.10:1000 > 198.51.100.1:80 flags=PA len=4000");
	uint32_t pl = d.len - d.l3 - d.hl; /* 4020 */
	assert_int_equal(send_frag(v, &f, &d, 2960, pl - 2960, false, 9), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 9), EV_HELD);
	/* an exact duplicate changes nothing */
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 9), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 9), EV_FORWARD);
	assert_whole(&f, &d);
	/* a TCP segment picked up mid-stream (loose tracking), whole */
	assert_int_equal(f.p.ct_state, CT_NEW);

	/* the same id from another source is another datagram */
	struct dgram d2;
	dgram(&d2, "udp 192.168.88.11:1000 > 198.51.100.1:9999 len=2000");
	uint32_t pl2 = d2.len - d2.l3 - d2.hl;
	assert_int_equal(send_frag(v, &f, &d2, 1480, pl2 - 1480, false, 9), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d2, 0, 1480, true, 9), EV_DROP);
	assert_int_equal(f.out.reason, DR_FILTER);
	env_free(v);
}

static void test_frag_overlap(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
	uint32_t pl = d.len - d.l3 - d.hl;

	/* an overlap that agrees with what is queued is trimmed */
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 1), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1000, 1480, true, 1), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, pl - 1480, false, 1), EV_FORWARD);
	assert_whole(&f, &d);

	/* one that rewrites queued bytes drops the datagram */
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 2), EV_HELD);
	uint32_t n = frag(&d, 1000, 1480, true, 2, f.buf);
	f.buf[n - 1] ^= 0xff;                 /* outside the overlap: fine */
	f.buf[14 + 20 + 100] ^= 0xff;          /* byte 1100, inside it */
	assert_int_equal(run_raw(v, &f, "ether2", n), EV_DROP);
	assert_int_equal(f.out.reason, DR_FRAG_OVERLAP);
	assert_int_equal(engine_drops(v->en, DR_FRAG_OVERLAP), 1);
	/* the rest of it starts a new datagram that never completes */
	assert_int_equal(send_frag(v, &f, &d, 1480, pl - 1480, false, 2), EV_HELD);

	/* a last fragment that contradicts the known end */
	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 3), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, pl - 1480, false, 3), EV_FORWARD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, false, 4), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 800, false, 4), EV_DROP);
	assert_int_equal(f.out.reason, DR_FRAG_OVERLAP);
	env_free(v);
}

static void test_frag_timeout(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
	uint32_t pl = d.len - d.l3 - d.hl;

	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 5), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 5), EV_HELD);
	v->now += 29 * SEC; /* still in time */
	assert_int_equal(send_frag(v, &f, &d, 2960, pl - 2960, false, 5), EV_FORWARD);
	assert_whole(&f, &d);

	assert_int_equal(send_frag(v, &f, &d, 0, 1480, true, 6), EV_HELD);
	v->now += 31 * SEC;
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 6), EV_HELD);
	assert_int_equal(engine_drops(v->en, DR_FRAG_TIMEOUT), 1);
	assert_int_equal(send_frag(v, &f, &d, 2960, pl - 2960, false, 6), EV_HELD);

	/* housekeeping expires them too */
	engine_tick(v->en, v->now + 31 * SEC);
	assert_int_equal(engine_drops(v->en, DR_FRAG_TIMEOUT), 2);
	env_free(v);
}

static void test_frag_memory(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram *d = malloc(sizeof(*d));
	/* 100 datagrams of 60 KB that never complete (no last fragment):
	 * 4 MiB holds fewer than 70 of them */
	dgram(d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=1500");
	for (uint32_t id = 100; id < 200; id++)
		for (uint32_t off = 0; off < 60000; off += 1480) {
			/* the bytes of the first fragment will do for every offset */
			uint32_t n = frag(d, 0, 1480, true, id, f.buf);
			uint8_t *ip = f.buf + 14;
			wr16(ip + 6, (uint16_t)(0x2000 | off / 8));
			fix_csum4(ip, 20);
			assert_int_equal(run_raw(v, &f, "ether2", n), EV_HELD);
		}
	assert_true(engine_drops(v->en, DR_FRAG_MEMORY) > 0);
	assert_int_equal(engine_drops(v->en, DR_FRAG_TIMEOUT), 0);

	/* a datagram that arrives whole still goes through */
	dgram(d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
	uint32_t pl = d->len - d->l3 - d->hl;
	assert_int_equal(send_frag(v, &f, d, 0, 1480, true, 1), EV_HELD);
	assert_int_equal(send_frag(v, &f, d, 1480, 1480, true, 1), EV_HELD);
	assert_int_equal(send_frag(v, &f, d, 2960, pl - 2960, false, 1), EV_FORWARD);
	assert_whole(&f, d);
	free(d);
	env_free(v);
}

static void test_frag_v6(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "udp [2001:db8:1::10]:1000 > [2001:db8:9::1]:53 len=3000");
	uint32_t pl = d.len - d.l3 - d.hl; /* 3008 */
	assert_int_equal(send_frag(v, &f, &d, 1448, 1448, true, 0x10203), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 2896, pl - 2896, false, 0x10203), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 0, 1448, true, 0x10203), EV_FORWARD);
	assert_whole(&f, &d);
	assert_int_equal(f.p.proto, 17);
	assert_int_equal(f.p.data[14 + 6], 17); /* the fragment header is gone */
	assert_int_equal(f.p.ct_state, CT_NEW);
	assert_int_equal(f.out.out_if, ifid("ether1"));

	/* filtered by port once whole */
	dgram(&d, "udp [2001:db8:1::10]:1000 > [2001:db8:9::1]:9999 len=3000");
	assert_int_equal(send_frag(v, &f, &d, 0, 1448, true, 77), EV_HELD);
	assert_int_equal(send_frag(v, &f, &d, 1448, pl - 1448, false, 77), EV_DROP);
	assert_int_equal(f.out.reason, DR_FILTER);

	/* RFC 8200: a fragment that is not the last comes in 8-byte units */
	assert_int_equal(send_frag(v, &f, &d, 0, 1447, true, 78), EV_DROP);
	assert_int_equal(f.out.reason, DR_BAD_IPV6_LEN);
	env_free(v);
}

/* With tracking off nothing is reassembled (Linux defragments for
 * conntrack) and fragments go on as they are. */
static void test_frag_untracked(void **state)
{
	struct env *v = env_new("/ip firewall connection tracking set enabled=no\n");
	struct frame f;
	struct dgram d;
	dgram(&d, "udp 192.168.88.10:1000 > 198.51.100.1:53 len=3000");
	assert_int_equal(send_frag(v, &f, &d, 1480, 1480, true, 5), EV_FORWARD);
	assert_true(f.p.flags & PKT_F_FRAGMENT);
	assert_int_equal(f.p.ct_state, CT_UNTRACKED);
	env_free(v);
}

/* A first fragment whose transport header is cut short still has its IPv4
 * header checksum checked before reassembly (Linux: ip_rcv before defrag). */
static void test_frag_bad_header_csum(void **state)
{
	struct env *v = env_new(frag_rsc);
	struct frame f;
	struct dgram d;
	dgram(&d, "tcp 192.168.88.10:1000 > 198.51.100.7:80 flags=PA seq=1 ack=1 len=64");
	uint32_t n = frag(&d, 0, 8, true, 77, f.buf); /* 8 bytes of the TCP header */
	f.buf[14 + 10] ^= 0x55;
	assert_int_equal(run_raw(v, &f, "ether2", n), EV_DROP);
	assert_int_equal(f.out.reason, DR_BAD_IPV4_CSUM);
	assert_int_not_equal(send_frag(v, &f, &d, 8, d.len - d.l3 - d.hl - 8, false, 77),
			     EV_FORWARD);
	env_free(v);
}

/* One FTP control connection through masquerade whose PORT changes length;
 * returns the verdict of the PORT segment and, when it left, checks the
 * next segment's sequence number follows the rewritten length. */
static enum ev_verdict ftp_port_conn(struct env *v, unsigned cport, uint32_t isn, uint32_t sisn,
				     bool close)
{
	struct frame f;
	char d[200];
	const char *cmd = "PORT 192,168,88,10,195,80\r\n";
	uint32_t sent = (uint32_t)strlen(cmd);
	snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=S seq=%u", cport, isn);
	assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);
	unsigned pub = f.p.sport;
	snprintf(d, sizeof(d), "tcp 198.51.100.7:21 > 203.0.113.2:%u flags=SA seq=%u ack=%u", pub,
		 sisn, isn + 1);
	assert_int_equal(run(v, &f, "ether1", d), EV_FORWARD);
	snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=A seq=%u ack=%u", cport,
		 isn + 1, sisn + 1);
	assert_int_equal(run(v, &f, "ether2", d), EV_FORWARD);
	snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=PA seq=%u ack=%u",
		 cport, isn + 1, sisn + 1);
	enum ev_verdict port = run_text(v, &f, "ether2", d, cmd);
	if (port != EV_FORWARD)
		return port;
	uint32_t plen = f.p.payload_len; /* 203,0,113,2 and a free port */
	assert_int_not_equal(plen, sent);
	snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=PA seq=%u ack=%u",
		 cport, isn + 1 + sent, sisn + 1);
	assert_int_equal(run_text(v, &f, "ether2", d, "QUIT\r\n"), EV_FORWARD);
	assert_int_equal(f.p.seq, isn + 1 + plen);
	if (close) {
		snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=FA seq=%u ack=%u",
			 cport, isn + 1 + sent + 6, sisn + 1);
		run(v, &f, "ether2", d);
		snprintf(d, sizeof(d), "tcp 198.51.100.7:21 > 203.0.113.2:%u flags=FA seq=%u ack=%u",
			 pub, sisn + 1, isn + 1 + plen + 6 + 1);
		run(v, &f, "ether1", d);
		snprintf(d, sizeof(d), "tcp 192.168.88.10:%u > 198.51.100.7:21 flags=A seq=%u ack=%u",
			 cport, isn + 1 + sent + 7, sisn + 2);
		run(v, &f, "ether2", d);
	}
	return port;
}

/* With every sequence-adjust record held by a live connection, a PORT that
 * would change length is dropped (as nf_nat_ftp does), never sent with
 * the connection's numbering broken; and the same tuple reopened after
 * TIME_WAIT (the same slot) gets a record of its own. */
static void test_ftp_nat_records(void **state)
{
	struct env *v = env_new("/ip firewall nat\n"
				"add chain=srcnat action=masquerade out-interface=ether1\n");
	for (unsigned i = 0; i < 256; i++)
		assert_int_equal(ftp_port_conn(v, 30000 + i, 100, 500, false), EV_FORWARD);
	assert_int_equal(ftp_port_conn(v, 30256, 100, 500, false), EV_DROP);
	assert_int_equal(engine_drops(v->en, DR_HELPER), 1);
	env_free(v);

	v = env_new("/ip firewall nat\nadd chain=srcnat action=masquerade out-interface=ether1\n");
	assert_int_equal(ftp_port_conn(v, 40000, 100, 500, true), EV_FORWARD);
	assert_int_equal(ftp_port_conn(v, 40000, 900000, 700000, true), EV_FORWARD);
	env_free(v);
}

/* The first burst after FastTrack is configured behaves as single packets:
 * the cache exists from the load on, so a packet parsed before the first
 * flow was learnt still finds it. */
static void test_burst_first_flow(void **state)
{
	uint64_t hits_of[2];
	enum ev_verdict second[2];
	for (int mode = 0; mode < 2; mode++) {
		struct env *v = env_new(ft_rsc);
		struct frame f;
		const char *up = "udp 192.168.88.10:5000 > 198.51.100.7:53 len=40";
		const char *down = "udp 198.51.100.7:53 > 203.0.113.2:5000 len=40";
		run(v, &f, "ether2", up);
		run(v, &f, "ether1", down);
		static uint8_t b0[FRAME], b1[FRAME];
		uint32_t l0 = build(up, b0), l1 = build(up, b1);
		b1[14 + 20 + 6] ^= 0x11; /* the second one's UDP checksum is bad */
		struct pkt p[2] = { { .data = b0, .len = l0, .cap = FRAME },
				    { .data = b1, .len = l1, .cap = FRAME } };
		struct pkt *pv[2] = { &p[0], &p[1] };
		struct engine_out o[2];
		uint16_t in[2] = { ifid("ether2"), ifid("ether2") };
		v->now += SEC;
		if (mode == 0) {
			engine_input(v->en, &p[0], in[0], v->now, &o[0]);
			engine_input(v->en, &p[1], in[1], v->now, &o[1]);
		} else {
			assert_int_equal(engine_input_burst(v->en, pv, in, 2, v->now, o), 2);
		}
		second[mode] = o[1].verdict;
		hits_of[mode] = engine_fast_hits(v->en);
		env_free(v);
	}
	assert_int_equal(second[0], second[1]);
	assert_int_equal(hits_of[0], hits_of[1]);
}

/* A TCP segment without ACK on a cached flow takes the full path, where
 * conntrack finds it invalid. */
static void test_fasttrack_no_ack(void **state)
{
	struct env *v = env_new(ft_rsc);
	struct frame f;
	run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=S seq=1000 win=65535");
	run(v, &f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=SA seq=5000 ack=1001 "
			     "win=65535");
	run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=A seq=1001 ack=5001 "
			     "win=65535");
	run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=PA seq=1001 ack=5001 "
			     "win=65535 len=10");
	run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=PA seq=1011 ack=5001 "
			     "win=65535 len=10");
	uint64_t h = engine_fast_hits(v->en);
	assert_true(h > 0);
	assert_int_equal(run(v, &f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=P "
					      "seq=1021 win=65535 len=10"), EV_DROP);
	assert_int_equal(f.p.ct_state, CT_INVALID);
	assert_int_equal(engine_fast_hits(v->en), h);
	env_free(v);
}

/*
 * What the flow cache declines on a flow it holds: each row is one packet
 * of a cached UDP or TCP flow, as built or damaged afterwards; it must take
 * the full path (the hit count does not move) with the verdict and reason
 * given, or, for the rows the cache takes, be a hit. Then a plain packet of
 * the flow is a hit again unless the row ended the connection.
 */
enum ft_damage { FTD_NONE, FTD_IP_OPTION, FTD_BAD_IP_CSUM, FTD_BAD_L4_CSUM };

struct ft_row {
	const char *name;
	bool tcp;
	const char *desc;
	enum ft_damage damage;
	enum ev_verdict verdict;
	enum drop_reason reason;
	bool hit;      /* the cache forwards it */
	bool ends;     /* the flow is no longer cached afterwards */
};

#define FT_UDP "udp 192.168.88.10:5000 > 198.51.100.7:53 len=40"
#define FT_TCP "tcp 192.168.88.10:40000 > 198.51.100.7:80 seq=1101 ack=5001 win=65535 "

static const struct ft_row ft_rows[] = {
	{ "udp, plain", false, FT_UDP, FTD_NONE, EV_FORWARD, DR_NONE, true, false },
	{ "udp, ttl 2 (leaves with 1)", false, FT_UDP " ttl=2", FTD_NONE, EV_FORWARD, DR_NONE,
	  true, false },
	{ "udp, bad udp checksum (left to the receiver)", false, FT_UDP, FTD_BAD_L4_CSUM,
	  EV_FORWARD, DR_NONE, true, false },
	{ "udp, ttl 1: time exceeded", false, FT_UDP " ttl=1", FTD_NONE, EV_REJECT,
	  DR_TTL_EXCEEDED, false, false },
	{ "udp, ip options", false, FT_UDP, FTD_IP_OPTION, EV_FORWARD, DR_NONE, false, false },
	{ "udp, bad ip checksum", false, FT_UDP, FTD_BAD_IP_CSUM, EV_DROP, DR_BAD_IPV4_CSUM, false,
	  false },
	{ "udp, first fragment", false, FT_UDP " mf=yes", FTD_NONE, EV_HELD, DR_NONE, false,
	  false },
	{ "udp, later fragment", false, FT_UDP " frag-off=1480", FTD_NONE, EV_HELD, DR_NONE,
	  false, false },
	{ "udp, vlan tag", false, FT_UDP " vlan=5", FTD_NONE, EV_FORWARD, DR_NONE, true, false },
	{ "tcp, psh ack", true, FT_TCP "flags=PA len=100", FTD_NONE, EV_FORWARD, DR_NONE, true,
	  false },
	{ "tcp, ack with ece and cwr", true, FT_TCP "flags=AEC", FTD_NONE, EV_FORWARD, DR_NONE,
	  true, false },
	{ "tcp, ttl 1: time exceeded", true, FT_TCP "flags=A ttl=1", FTD_NONE, EV_REJECT,
	  DR_TTL_EXCEEDED, false, false },
	{ "tcp, ip options", true, FT_TCP "flags=A", FTD_IP_OPTION, EV_FORWARD, DR_NONE, false,
	  false },
	{ "tcp, bad ip checksum", true, FT_TCP "flags=A", FTD_BAD_IP_CSUM, EV_DROP,
	  DR_BAD_IPV4_CSUM, false, false },
	{ "tcp, bad tcp checksum (left to the receiver)", true, FT_TCP "flags=A", FTD_BAD_L4_CSUM,
	  EV_FORWARD, DR_NONE, true, false },
	/* conntrack ignores a SYN on an established connection, as Linux does */
	{ "tcp, syn", true, FT_TCP "flags=S", FTD_NONE, EV_FORWARD, DR_NONE, false, false },
	{ "tcp, without ack", true, FT_TCP "flags=P len=10", FTD_NONE, EV_DROP, DR_FILTER, false,
	  false },
	{ "tcp, first fragment", true, FT_TCP "flags=A mf=yes len=100", FTD_NONE, EV_HELD,
	  DR_NONE, false, false },
	{ "tcp, fin", true, FT_TCP "flags=FA", FTD_NONE, EV_FORWARD, DR_NONE, false, true },
	{ "tcp, rst", true, FT_TCP "flags=RA", FTD_NONE, EV_FORWARD, DR_NONE, false, true },
};

/* A cached flow: its connection fasttracked and assured, this direction
 * learnt, and one hit. */
static void ft_cache_flow(struct env *v, struct frame *f, bool tcp)
{
	if (tcp) {
		run(v, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=S seq=1000 "
				    "win=65535");
		run(v, f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=SA seq=5000 "
				    "ack=1001 win=65535");
		run(v, f, "ether2", FT_TCP "flags=A");
		run(v, f, "ether2", FT_TCP "flags=PA len=10");
	} else {
		run(v, f, "ether2", FT_UDP);
		run(v, f, "ether1", "udp 198.51.100.7:53 > 203.0.113.2:5000 len=40");
		run(v, f, "ether2", FT_UDP);
	}
	uint64_t h = hits(v);
	assert_int_equal(run(v, f, "ether2", tcp ? FT_TCP "flags=A" : FT_UDP), EV_FORWARD);
	assert_int_equal(hits(v), h + 1);
}

/* The frame of desc with one damage: a 4-byte IPv4 option (NOPs and end of
 * list; no checksum but the header's covers it), or a bad checksum. */
static uint32_t ft_damaged(const char *desc, enum ft_damage d, uint8_t *buf)
{
	uint32_t n = build(desc, buf);
	uint8_t *ip = buf + 14;
	switch (d) {
	case FTD_NONE:
		break;
	case FTD_IP_OPTION:
		memmove(ip + 24, ip + 20, n - 34);
		memcpy(ip + 20, "\x01\x01\x01\x00", 4);
		ip[0] = 0x46;
		wr16(ip + 2, (uint16_t)((ip[2] << 8 | ip[3]) + 4));
		fix_csum4(ip, 24);
		n += 4;
		break;
	case FTD_BAD_IP_CSUM:
		ip[10] ^= 0x5a;
		break;
	case FTD_BAD_L4_CSUM:
		ip[20 + (ip[9] == 17 ? 6 : 16)] ^= 0x5a;
		break;
	}
	return n;
}

static void test_fasttrack_declines(void **state)
{
	for (size_t i = 0; i < sizeof(ft_rows) / sizeof(ft_rows[0]); i++) {
		const struct ft_row *r = &ft_rows[i];
		struct env *v = env_new(ft_rsc);
		struct frame f;
		ft_cache_flow(v, &f, r->tcp);
		uint64_t h = hits(v);
		uint64_t ttl_drops = engine_drops(v->en, DR_TTL_EXCEEDED);
		enum ev_verdict got = run_raw(v, &f, "ether2", ft_damaged(r->desc, r->damage, f.buf));
		if (got != r->verdict || f.out.reason != r->reason ||
		    hits(v) != h + (r->hit ? 1 : 0))
			fail_msg("%s: verdict %s reason %s hits +%d; want %s, %s, +%d", r->name,
				 ev_name(got), pkt_reason_name(f.out.reason), (int)(hits(v) - h),
				 ev_name(r->verdict), pkt_reason_name(r->reason), r->hit);
		if (got == EV_FORWARD) {
			/* NAT as ever, from the cache or not */
			assert_int_equal(f.p.src.v4, ip4("203.0.113.2"));
			assert_int_equal(f.out.out_if, ifid("ether1"));
			assert_true(f.out.fasttrack);
			if (r->damage != FTD_BAD_L4_CSUM)
				assert_true(pkt_checksums_ok(&f.p));
		}
		if (r->reason == DR_TTL_EXCEEDED) {
			uint8_t copy[ENGINE_MAX_REPLY];
			struct pkt rp;
			parse_reply(&f.out, copy, &rp);
			assert_int_equal(rp.icmp_type, 11);
			assert_int_equal(rp.dst.v4, ip4("192.168.88.10"));
			assert_int_equal(rp.inner.src.v4, ip4("192.168.88.10"));
			assert_int_equal(engine_drops(v->en, DR_TTL_EXCEEDED), ttl_drops + 1);
		}
		h = hits(v);
		run(v, &f, "ether2", r->tcp ? FT_TCP "flags=A" : FT_UDP);
		if (hits(v) != h + (r->ends ? 0 : 1))
			fail_msg("%s: the next plain packet %s", r->name,
				 r->ends ? "was a hit" : "missed");
		env_free(v);
	}
}

/* 10,000 fasttracked flows: the cache keeps nearly all of them. Four ways
 * a set: flows sharing a set push each other out only beyond four (about
 * 3 flows in 10,000 here, against 1 in 100 with two ways). A microsecond
 * between packets keeps every connection within its timeout. */
static void test_fasttrack_many_flows(void **state)
{
	enum { N = 10000 };
	struct env *v = env_new(ft_rsc);
	struct frame f;
	char d[120];
	uint16_t lan = ifid("ether2"), wan = ifid("ether1");
	/* new and replied, then learnt, then from the cache */
	for (int round = 0; round < 3; round++) {
		uint64_t h = hits(v);
		for (unsigned i = 0; i < N; i++) {
			for (int reply = 0; reply <= (round == 0); reply++) {
				if (reply)
					snprintf(d, sizeof(d), "udp 198.51.100.%u:53 > 203.0.113.2:%u "
							       "len=18", 1 + i % 7, 10000 + i);
				else
					snprintf(d, sizeof(d), "udp 192.168.88.%u:%u > 198.51.100.%u:53 "
							       "len=18", 2 + i % 250, 10000 + i, 1 + i % 7);
				f.p = (struct pkt){ .data = f.buf, .len = build(d, f.buf), .cap = FRAME };
				v->now += 1000;
				engine_input(v->en, &f.p, reply ? wan : lan, v->now, &f.out);
				assert_int_equal(f.out.verdict, EV_FORWARD);
			}
		}
		if (round == 1)
			assert_int_equal(hits(v), 0);
		if (round == 2 && hits(v) - h < N - 30)
			fail_msg("%u of %u packets from the cache", (unsigned)(hits(v) - h), N);
	}
	env_free(v);
}

/*
 * FastTrack's cache must give what the full path gives. A twin is two
 * engines on one configuration, the second traced (a trace turns the cache
 * off; a fasttracked connection still skips the rules): every packet runs
 * through both, and the verdict, the reason, where it goes, the bytes that
 * leave and the state of its connection must be the same.
 */
struct twin {
	struct env *v[2];
};

static void twin_quiet(void *ctx, const char *stage, const char *text)
{
	(void)ctx;
	(void)stage;
	(void)text;
}

static void twin_new(struct twin *t, const char *rsc)
{
	t->v[0] = env_new(rsc);
	t->v[1] = env_new(rsc);
	engine_set_trace(t->v[1]->en, twin_quiet, NULL);
}

static void twin_free(struct twin *t)
{
	env_free(t->v[0]);
	env_free(t->v[1]);
}

static void twin_wait(struct twin *t, uint64_t ns)
{
	t->v[0]->now += ns;
	t->v[1]->now += ns;
}

static void same_conn(const char *desc, const struct ct_entry *a, const struct ct_entry *b)
{
	if (!a || !b) {
		if (a != b)
			fail_msg("%s: a connection on one path only", desc);
		return;
	}
	if (a->status != b->status || a->tcp_state != b->tcp_state || a->mark != b->mark ||
	    a->expires != b->expires || memcmp(a->bytes, b->bytes, sizeof(a->bytes)) ||
	    memcmp(a->packets, b->packets, sizeof(a->packets)) || memcmp(a->t, b->t, sizeof(a->t)))
		fail_msg("%s: connections differ: status %#x/%#x, tcp state %u/%u, expires %llu/%llu, "
			 "packets %u+%u/%u+%u", desc, a->status, b->status, a->tcp_state,
			 b->tcp_state, (unsigned long long)a->expires, (unsigned long long)b->expires,
			 a->packets[0], a->packets[1], b->packets[0], b->packets[1]);
}

/* Runs desc (damaged as dmg) in on both engines; f[0] is the cache's. */
static enum ev_verdict twin_run(struct twin *t, struct frame f[2], const char *in, const char *desc,
				enum ft_damage dmg)
{
	for (int k = 0; k < 2; k++) {
		uint32_t n = dmg == FTD_NONE ? build(desc, f[k].buf) : ft_damaged(desc, dmg, f[k].buf);
		run_raw(t->v[k], &f[k], in, n);
	}
	const struct engine_out *a = &f[0].out, *b = &f[1].out;
	if (a->verdict != b->verdict || a->reason != b->reason || a->out_if != b->out_if ||
	    a->nexthop != b->nexthop)
		fail_msg("%s: cache %s (%s) out %u, full path %s (%s) out %u", desc,
			 ev_name(a->verdict), pkt_reason_name(a->reason), a->out_if,
			 ev_name(b->verdict), pkt_reason_name(b->reason), b->out_if);
	if (a->verdict == EV_FORWARD &&
	    (f[0].p.len != f[1].p.len || memcmp(f[0].p.data, f[1].p.data, f[0].p.len)))
		fail_msg("%s: the bytes that leave differ", desc);
	same_conn(desc, f[0].p.ct, f[1].p.ct);
	if (ct_count(engine_ct(t->v[0]->en)) != ct_count(engine_ct(t->v[1]->en)))
		fail_msg("%s: %zu connections with the cache, %zu without", desc,
			 ct_count(engine_ct(t->v[0]->en)), ct_count(engine_ct(t->v[1]->en)));
	return a->verdict;
}

static enum ev_verdict twin_runf(struct twin *t, struct frame f[2], const char *in,
				 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum ev_verdict twin_runf(struct twin *t, struct frame f[2], const char *in,
				 const char *fmt, ...)
{
	char d[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(d, sizeof(d), fmt, ap);
	va_end(ap);
	return twin_run(t, f, in, d, FTD_NONE);
}

static void ip4s(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255);
}

static const char *if_of(uint16_t id)
{
	return id == ifid("ether2") ? "ether2" : id == ifid("ether3") ? "ether3" : "ether1";
}

/* A connection expires and a new one with the same tuple takes its slot
 * (the free list gives it back first) with another dst-nat: the cached
 * flow of the old one must not carry the new one's packets. UDP after the
 * stream timeout, TCP reopened from TIME_WAIT. */
static const char ft_aba_rsc[] =
	"/ip address\n"
	"add address=10.3.3.1/24 interface=ether3\n"
	"/ip firewall filter\n"
	"add chain=forward action=fasttrack-connection connection-state=established,related\n"
	"add chain=forward action=accept connection-state=established,related\n"
	"/ip firewall nat\n"
	"add chain=dstnat dst-port=5060,80 protocol=udp nth=2,1 action=dst-nat "
	"to-addresses=192.168.88.10\n"
	"add chain=dstnat dst-port=5060 protocol=udp action=dst-nat to-addresses=10.3.3.10\n"
	"add chain=dstnat dst-port=80 protocol=tcp nth=2,1 action=dst-nat "
	"to-addresses=192.168.88.10\n"
	"add chain=dstnat dst-port=80 protocol=tcp action=dst-nat to-addresses=10.3.3.10\n";

static void test_ft_slot_reuse(void **state)
{
	struct twin t;
	struct frame f[2];
	char srv[2][32];
	const char *up = "udp 198.51.100.7:5060 > 203.0.113.2:5060 len=40";
	twin_new(&t, ft_aba_rsc);
	for (int c = 0; c < 2; c++) {
		assert_int_equal(twin_run(&t, f, "ether1", up, FTD_NONE), EV_FORWARD);
		ip4s(f[0].p.dst.v4, srv[c], sizeof(srv[c]));
		const char *sif = if_of(f[0].out.out_if);
		uint64_t h = hits(t.v[0]);
		twin_runf(&t, f, sif, "udp %s:5060 > 198.51.100.7:5060 len=40", srv[c]);
		twin_runf(&t, f, sif, "udp %s:5060 > 198.51.100.7:5060 len=40", srv[c]);
		for (int i = 0; i < 3; i++) {
			assert_int_equal(twin_run(&t, f, "ether1", up, FTD_NONE), EV_FORWARD);
			assert_int_equal(f[0].out.out_if, ifid(sif));
			assert_int_equal(f[0].p.dst.v4, ip4(srv[c]));
		}
		assert_true(hits(t.v[0]) > h);
		twin_wait(&t, 200 * SEC); /* past udp-stream-timeout: expires */
	}
	assert_string_not_equal(srv[0], srv[1]);

	for (int c = 0; c < 2; c++) {
		uint32_t seq = c ? 900000 : 1000;
		assert_int_equal(twin_runf(&t, f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:80 "
					   "flags=S seq=%u win=65535", seq), EV_FORWARD);
		ip4s(f[0].p.dst.v4, srv[c], sizeof(srv[c]));
		const char *sif = if_of(f[0].out.out_if);
		twin_runf(&t, f, sif, "tcp %s:80 > 198.51.100.7:40000 flags=SA seq=5000 ack=%u "
			  "win=65535", srv[c], seq + 1);
		for (int i = 0; i < 4; i++) {
			assert_int_equal(twin_runf(&t, f, "ether1", "tcp 198.51.100.7:40000 > "
						   "203.0.113.2:80 flags=PA seq=%u ack=5001 "
						   "win=65535 len=10", seq + 1 + 10 * i), EV_FORWARD);
			assert_int_equal(f[0].out.out_if, ifid(sif));
		}
		twin_runf(&t, f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:80 flags=FA "
			  "seq=%u ack=5001 win=65535", seq + 41);
		twin_runf(&t, f, sif, "tcp %s:80 > 198.51.100.7:40000 flags=FA seq=5001 ack=%u "
			  "win=65535", srv[c], seq + 42);
		twin_runf(&t, f, "ether1", "tcp 198.51.100.7:40000 > 203.0.113.2:80 flags=A "
			  "seq=%u ack=5002 win=65535", seq + 42);
		assert_int_equal(f[0].p.ct->tcp_state, TCP_CONNTRACK_TIME_WAIT);
	}
	assert_string_not_equal(srv[0], srv[1]);
	twin_free(&t);
}

/* A LAN host's TCP connection through the masquerade, opened and with 10
 * bytes sent, so that the next packets of it take FastTrack. */
static void ft_open_conn(struct twin *t, struct frame f[2])
{
	twin_run(t, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=S seq=1000 "
		 "win=65535", FTD_NONE);
	twin_run(t, f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=SA seq=5000 "
		 "ack=1001 win=65535", FTD_NONE);
	twin_run(t, f, "ether2", FT_TCP "flags=A", FTD_NONE);
	twin_run(t, f, "ether2", FT_TCP "flags=PA len=10", FTD_NONE);
}

/* Data the server never acknowledges: both paths hold a fasttracked
 * connection in the established class (Linux's offloaded entry lives a
 * day), not the unacknowledged one (5 min). */
static void test_ft_unacked_timeout(void **state)
{
	struct twin t;
	struct frame f[2];
	twin_new(&t, ft_rsc);
	ft_open_conn(&t, f);
	for (int i = 0; i < 5; i++)
		assert_int_equal(twin_runf(&t, f, "ether2", "tcp 192.168.88.10:40000 > "
					   "198.51.100.7:80 seq=%u ack=5001 win=65535 flags=PA "
					   "len=100", 1111 + 100 * i), EV_FORWARD);
	assert_true(hits(t.v[0]) > 0);
	for (int k = 0; k < 2; k++) {
		ct_expire(engine_ct(t.v[k]->en), t.v[k]->now + 301 * SEC, 1000);
		assert_int_equal(ct_count(engine_ct(t.v[k]->en)), 1);
	}
	twin_free(&t);
}

/* Fasttracked packets skip raw on both paths: a dynamic address list that
 * raw drops by does not stop a fasttracked flow. */
static const char ft_raw_rsc[] =
	"/ip firewall raw\n"
	"add chain=prerouting action=drop src-address-list=bad\n"
	"add chain=prerouting action=add-src-to-address-list address-list=bad "
	"address-list-timeout=1h protocol=tcp dst-port=23\n"
	"/ip firewall filter\n"
	"add chain=forward action=fasttrack-connection connection-state=established,related\n"
	"add chain=forward action=accept connection-state=established,related\n"
	"/ip firewall nat\n"
	"add chain=srcnat action=masquerade out-interface=ether1\n";

static void test_ft_skips_raw(void **state)
{
	struct twin t;
	struct frame f[2];
	twin_new(&t, ft_raw_rsc);
	twin_run(&t, f, "ether2", FT_UDP, FTD_NONE);
	twin_run(&t, f, "ether1", "udp 198.51.100.7:53 > 203.0.113.2:5000 len=40", FTD_NONE);
	twin_run(&t, f, "ether2", FT_UDP, FTD_NONE);
	twin_run(&t, f, "ether2", FT_UDP, FTD_NONE);
	/* the client touches port 23: raw lists it, its new connections drop */
	twin_run(&t, f, "ether2", "tcp 192.168.88.10:40001 > 198.51.100.7:23 flags=S seq=1 win=1000",
		 FTD_NONE);
	assert_int_equal(twin_run(&t, f, "ether2", "udp 192.168.88.10:5001 > 198.51.100.7:53 len=40",
				  FTD_NONE), EV_DROP);
	assert_int_equal(f[1].out.reason, DR_RAW);
	uint64_t h = hits(t.v[0]);
	assert_int_equal(twin_run(&t, f, "ether2", FT_UDP, FTD_NONE), EV_FORWARD);
	assert_int_equal(hits(t.v[0]), h + 1);
	twin_free(&t);
}

/* After cached traffic both ways, the client's RST closes the connection
 * on both paths (the highest ACK is forgotten when fasttracked). */
static void test_ft_rst_after_hits(void **state)
{
	struct twin t;
	struct frame f[2];
	twin_new(&t, ft_rsc);
	twin_run(&t, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=S seq=1000 "
		 "win=65535", FTD_NONE);
	twin_run(&t, f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=SA seq=5000 "
		 "ack=1001 win=65535", FTD_NONE);
	twin_run(&t, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=A seq=1001 "
		 "ack=5001 win=65535", FTD_NONE);
	twin_run(&t, f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=A seq=5001 "
		 "ack=1001 win=65535", FTD_NONE);
	for (unsigned i = 0; i < 20; i++) {
		twin_runf(&t, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 flags=PA "
			  "seq=%u ack=5001 win=65535 len=100", 1001 + 100 * i);
		twin_runf(&t, f, "ether1", "tcp 198.51.100.7:80 > 203.0.113.2:40000 flags=A "
			  "seq=5001 ack=%u win=65535", 1101 + 100 * i);
	}
	assert_true(hits(t.v[0]) >= 30);
	assert_int_equal(twin_run(&t, f, "ether2", "tcp 192.168.88.10:40000 > 198.51.100.7:80 "
				  "flags=R seq=3001 win=0", FTD_NONE), EV_FORWARD);
	assert_int_equal(f[0].p.ct->tcp_state, TCP_CONNTRACK_CLOSE);
	twin_free(&t);
}

/* A bad transport checksum on a fasttracked flow: forwarded by the cache
 * and by the full path alike (left to the receiver); a bad IPv4 header
 * checksum is dropped by both. */
static void test_ft_l4_checksum(void **state)
{
	struct twin t;
	struct frame f[2];
	twin_new(&t, ft_rsc);
	ft_open_conn(&t, f);
	uint64_t h = hits(t.v[0]);
	assert_int_equal(twin_run(&t, f, "ether2", FT_TCP "flags=A", FTD_BAD_L4_CSUM), EV_FORWARD);
	assert_int_equal(hits(t.v[0]), h + 1);
	/* a FIN takes the full path on both: not checked there either */
	assert_int_equal(twin_run(&t, f, "ether2", FT_TCP "flags=FA", FTD_BAD_L4_CSUM), EV_FORWARD);
	assert_int_equal(twin_run(&t, f, "ether2", FT_TCP "flags=A", FTD_BAD_IP_CSUM), EV_DROP);
	assert_int_equal(f[0].out.reason, DR_BAD_IPV4_CSUM);
	/* a connection that is not fasttracked is checked */
	assert_int_equal(twin_run(&t, f, "ether2", "udp 192.168.88.10:7000 > 198.51.100.7:53 len=20",
				  FTD_BAD_L4_CSUM), EV_DROP);
	assert_int_equal(f[0].out.reason, DR_BAD_L4_CSUM);
	twin_free(&t);
}

/* /ip firewall connection print: the timeout in whole seconds left, as
 * RouterOS shows it (not 9s700ms). */
static void test_conn_print_timeout(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);
	struct frame f;
	struct err e;
	v->now = 10 * SEC;
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.10:5000 > 198.51.100.7:53"),
			 EV_FORWARD);
	/* another flow 300 ms later moves the engine's clock */
	v->now += 299 * 1000000ull;
	assert_int_equal(run(v, &f, "ether2", "udp 192.168.88.11:5000 > 198.51.100.7:53"),
			 EV_FORWARD);
	engine_export_counters(v->en, v->st);
	sbuf_reset(&v->s.out);
	assert_int_equal(conf_exec(&v->s, "/ip firewall connection print detail "
					  "where src-address=\"192.168.88.10:5000\"", NULL, &e), 0);
	const char *o = sbuf_str(&v->s.out);
	assert_non_null(strstr(o, "timeout=9s "));
	assert_null(strstr(o, "ms"));
	env_free(v);
}

/* Lines of what a command printed. */
static size_t exec_lines(struct env *v, const char *cmd, int want_rc)
{
	struct err e;
	err_clear(&e);
	sbuf_reset(&v->s.out);
	int rc = conf_exec(&v->s, cmd, NULL, &e);
	if (rc != want_rc)
		fail_msg("%s: rc %d: %s", cmd, rc, e.msg);
	size_t n = 0;
	for (const char *c = sbuf_str(&v->s.out); *c; c++)
		n += *c == '\n';
	return n;
}

/* /ip firewall connection remove: by number after a print, by id, by
 * [find]; the connection's next packet starts a new one; a bad id
 * changes nothing. */
static void test_conn_remove(void **state)
{
	(void)state;
	struct env *v = env_new(NULL);
	struct frame f;
	struct err e;
	const char *a = "udp 192.168.88.10:5000 > 198.51.100.7:53";
	const char *b = "udp 192.168.88.11:5000 > 198.51.100.7:53";
	const char *c = "udp 192.168.88.12:5000 > 198.51.100.7:53";
	assert_int_equal(run(v, &f, "ether2", a), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", b), EV_FORWARD);
	assert_int_equal(run(v, &f, "ether2", c), EV_FORWARD);
	engine_export_counters(v->en, v->st);
	const char *cnt = ":put [/ip firewall connection print count-only]";
	assert_int_equal(exec_lines(v, cnt, 0), 1);
	assert_string_equal(sbuf_str(&v->s.out), "3\n");

	/* by id, the one [find] names */
	exec_lines(v, ":put [/ip firewall connection find src-address=\"192.168.88.11:5000\"]", 0);
	char cmd[160];
	char id[32];
	snprintf(id, sizeof(id), "%s", sbuf_str(&v->s.out));
	id[strcspn(id, "\n")] = 0;
	assert_true(id[0] == '*');
	snprintf(cmd, sizeof(cmd), "/ip firewall connection remove %s", id);
	exec_lines(v, cmd, 0);
	exec_lines(v, cnt, 0);
	assert_string_equal(sbuf_str(&v->s.out), "2\n");
	/* the same id again, and a bad one: an error, nothing removed */
	exec_lines(v, cmd, -1);
	exec_lines(v, "/ip firewall connection remove *FFFFFF", -1);
	exec_lines(v, cnt, 0);
	assert_string_equal(sbuf_str(&v->s.out), "2\n");

	/* its next packet is a new connection again */
	assert_int_equal(run(v, &f, "ether2", b), EV_FORWARD);
	assert_true(f.p.ct_state == CT_NEW);
	engine_export_counters(v->en, v->st);
	exec_lines(v, cnt, 0);
	assert_string_equal(sbuf_str(&v->s.out), "3\n");

	/* by number, after a print */
	exec_lines(v, "/ip firewall connection print", 0);
	exec_lines(v, "/ip firewall connection remove 0", 0);
	exec_lines(v, cnt, 0);
	assert_string_equal(sbuf_str(&v->s.out), "2\n");

	/* all of them */
	exec_lines(v, "/ip firewall connection remove [find]", 0);
	exec_lines(v, cnt, 0);
	assert_string_equal(sbuf_str(&v->s.out), "0\n");
	(void)e;
	env_free(v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v6_forward_routes),
		cmocka_unit_test(test_v6_filter),
		cmocka_unit_test(test_v6_conntrack),
		cmocka_unit_test(test_v6_hop_limit),
		cmocka_unit_test(test_v6_too_big),
		cmocka_unit_test(test_v6_output_zone),
		cmocka_unit_test(test_v6_ndp_to_input),
		cmocka_unit_test(test_v6_local),
		cmocka_unit_test(test_v4_masquerade_ports),
		cmocka_unit_test(test_host_unreach),
		cmocka_unit_test(test_v4_connection_limit),
		cmocka_unit_test(test_v4_dstnat),
		cmocka_unit_test(test_v6_address_type),
		cmocka_unit_test(test_mangle_mss_df),
		cmocka_unit_test(test_ftp_active_and_passive),
		cmocka_unit_test(test_ftp_helper_disabled),
		cmocka_unit_test(test_ftp_v6),
		cmocka_unit_test(test_helpers_masquerade),
		cmocka_unit_test(test_ftp_nat),
		cmocka_unit_test(test_ftp_nat_server),
		cmocka_unit_test(test_ftp_split),
		cmocka_unit_test(test_expected_follow_master),
		cmocka_unit_test(test_v4_icmp_error_unnat),
		cmocka_unit_test(test_v4_ttl_and_blackhole),
		cmocka_unit_test(test_v4_broadcast_to_input),
		cmocka_unit_test(test_v4_route_if),
		cmocka_unit_test(test_v4_fasttrack_udp),
		cmocka_unit_test(test_v4_fasttrack_tcp),
		cmocka_unit_test(test_burst_matches_single),
		cmocka_unit_test(test_reset_counters),
		cmocka_unit_test(test_frag_bad_header_csum),
		cmocka_unit_test(test_ftp_nat_records),
		cmocka_unit_test(test_burst_first_flow),
		cmocka_unit_test(test_fasttrack_no_ack),
		cmocka_unit_test(test_fasttrack_declines),
		cmocka_unit_test(test_fasttrack_many_flows),
		cmocka_unit_test(test_ft_slot_reuse),
		cmocka_unit_test(test_ft_unacked_timeout),
		cmocka_unit_test(test_ft_skips_raw),
		cmocka_unit_test(test_ft_rst_after_hits),
		cmocka_unit_test(test_ft_l4_checksum),
		cmocka_unit_test(test_frag_in_order),
		cmocka_unit_test(test_frag_out_of_order),
		cmocka_unit_test(test_frag_partial_flag),
		cmocka_unit_test(test_frag_overlap),
		cmocka_unit_test(test_frag_timeout),
		cmocka_unit_test(test_frag_memory),
		cmocka_unit_test(test_frag_v6),
		cmocka_unit_test(test_frag_untracked),
		cmocka_unit_test(test_conn_print_timeout),
		cmocka_unit_test(test_conn_remove),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
