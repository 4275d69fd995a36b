/*
 * Router advertisements (io/ra.h): the message as built for a table of
 * configurations, the checks of RFC 4861 6.1.1 on router solicitations (a
 * table of good and bad ones), the timers of 6.2.4 and 6.2.6 in virtual
 * time, and the configuration read from /ipv6/nd, /ipv6/nd/prefix and
 * /ipv6/address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <string.h>

#include "conf/conf.h"
#include "conf/menus.h"
#include "conf/schema.h"
#include "conf/store.h"
#include "conf/types.h"
#include "io/nd.h"
#include "io/ra.h"

#define SEC 1000000000ull
#define MSEC 1000000ull

static const uint8_t our_mac[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t our_ll[16] = { 0xfe, 0x80, [8] = 0x11, [15] = 0x01 };
static const uint8_t host_ll[16] = { 0xfe, 0x80, [8] = 0x22, [15] = 0x10 };
static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t all_routers[16] = { 0xff, 0x02, [15] = 2 };
static const uint8_t nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static void pfx(struct ra_conf *c, const char *net, int len, bool l, bool a, uint32_t valid,
		uint32_t pref)
{
	struct ra_prefix *p = &c->prefixes[c->nprefixes++];
	assert_int_equal(parse_ip6(net, p->prefix), 0);
	p->len = (uint8_t)len;
	p->on_link = l;
	p->autonomous = a;
	p->valid_s = valid;
	p->preferred_s = pref;
}

/* ---- the message ---- */

struct build_case {
	const char *name;
	struct ra_conf c;
	int nprefixes;       /* added by the test: 2001:db8:N::/64 */
	uint32_t want_len;   /* of the frame */
};

static const struct build_case build_cases[] = {
	{ "RouterOS defaults, one prefix",
	  { .lifetime_s = 1800, .advertise_mac = true }, 1, 14 + 40 + 16 + 8 + 32 },
	{ "everything set, two prefixes, no MAC",
	  { .lifetime_s = 600, .hop_limit = 64, .mtu = 1400, .reachable_ms = 30000,
	    .retrans_ms = 1000, .managed = true, .other = true },
	  2, 14 + 40 + 16 + 8 + 64 },
	{ "not a default router, no prefix", { .lifetime_s = 0, .advertise_mac = true }, 0,
	  14 + 40 + 16 + 8 },
	{ "lifetime beyond 16 bits is capped", { .lifetime_s = 100000 }, 0, 14 + 40 + 16 },
	{ "two DNS servers (RDNSS)",
	  { .lifetime_s = 1800, .ndns = 2, .dns_lifetime_s = 1200,
	    .dns = { { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 }, { 0xfd, 0, [15] = 0x35 } } },
	  0, 14 + 40 + 16 + 8 + 32 },
};

static void test_build(void **state)
{
	for (size_t k = 0; k < sizeof(build_cases) / sizeof(build_cases[0]); k++) {
		const struct build_case *bc = &build_cases[k];
		struct ra_conf c = bc->c;
		for (int i = 0; i < bc->nprefixes; i++) {
			char net[32];
			snprintf(net, sizeof(net), "2001:db8:%d::", i + 1);
			pfx(&c, net, 64, true, i == 0, 2592000, 604800);
		}
		uint8_t f[RA_FRAME_MAX];
		size_t n = ra_build(&c, our_mac, our_ll, nodes_mac, all_nodes, f);
		if (n != bc->want_len)
			fail_msg("%s: length %zu, expected %u", bc->name, n, bc->want_len);
		const uint8_t *ip = f + 14, *m = ip + 40;
		assert_memory_equal(f, nodes_mac, 6);
		assert_memory_equal(f + 6, our_mac, 6);
		assert_int_equal(rd16(f + 12), 0x86dd);
		assert_int_equal(ip[6], 58);
		assert_int_equal(ip[7], 255); /* RFC 4861 6.1.2: receivers check it */
		assert_memory_equal(ip + 8, our_ll, 16);
		assert_memory_equal(ip + 24, all_nodes, 16);
		assert_int_equal(rd16(ip + 4), n - 54);
		assert_int_equal(nd_icmp6_csum(ip + 8, ip + 24, m, (uint32_t)(n - 54)), 0);
		assert_int_equal(m[0], 134);
		assert_int_equal(m[1], 0);
		assert_int_equal(m[4], c.hop_limit);
		assert_int_equal(m[5], (c.managed ? 0x80 : 0) | (c.other ? 0x40 : 0));
		assert_int_equal(rd16(m + 6), c.lifetime_s > 0xffff ? 0xffff : c.lifetime_s);
		assert_int_equal(rd32(m + 8), c.reachable_ms);
		assert_int_equal(rd32(m + 12), c.retrans_ms);
		/* the options, walked as a host does */
		int seen_slla = 0, seen_mtu = 0, seen_pfx = 0, seen_dns = 0;
		for (size_t o = 16; o < n - 54; o += m[o + 1] * 8u) {
			assert_true(m[o + 1] > 0);
			const uint8_t *x = m + o;
			if (x[0] == 1) {
				seen_slla++;
				assert_memory_equal(x + 2, our_mac, 6);
			} else if (x[0] == 5) {
				seen_mtu++;
				assert_int_equal(rd32(x + 4), c.mtu);
			} else if (x[0] == 25) {
				assert_int_equal(x[1], 1 + 2 * c.ndns);
				assert_int_equal(rd32(x + 4), c.dns_lifetime_s);
				assert_memory_equal(x + 8, c.dns, 16 * c.ndns);
				seen_dns++;
			} else if (x[0] == 3) {
				const struct ra_prefix *p = &c.prefixes[seen_pfx++];
				assert_int_equal(x[1], 4);
				assert_int_equal(x[2], 64);
				assert_int_equal(x[3], (p->on_link ? 0x80 : 0) | (p->autonomous ? 0x40 : 0));
				assert_int_equal(rd32(x + 4), 2592000);
				assert_int_equal(rd32(x + 8), 604800);
				assert_memory_equal(x + 16, p->prefix, 16);
			} else {
				fail_msg("%s: unexpected option %u", bc->name, x[0]);
			}
		}
		assert_int_equal(seen_slla, c.advertise_mac ? 1 : 0);
		assert_int_equal(seen_mtu, c.mtu ? 1 : 0);
		assert_int_equal(seen_pfx, bc->nprefixes);
		assert_int_equal(seen_dns, c.ndns ? 1 : 0);
	}
}

/* ---- router solicitations ---- */

/* An RS from src to ff02::2 with options opts (olen bytes), checksum done
 * (unless bad_csum); hop limit hl, code; its IPv6 length. */
static uint32_t mk_rs(uint8_t *ip, const uint8_t *src, uint8_t hl, uint8_t code,
		      const uint8_t *opts, uint32_t olen, bool bad_csum)
{
	memset(ip, 0, 40 + 8 + olen);
	ip[0] = 0x60;
	ip[4] = (uint8_t)((8 + olen) >> 8);
	ip[5] = (uint8_t)(8 + olen);
	ip[6] = 58;
	ip[7] = hl;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, all_routers, 16);
	uint8_t *m = ip + 40;
	m[0] = 133;
	m[1] = code;
	if (olen)
		memcpy(m + 8, opts, olen);
	uint16_t c = nd_icmp6_csum(ip + 8, ip + 24, m, 8 + olen);
	if (bad_csum)
		c ^= 0x0101;
	m[2] = (uint8_t)(c >> 8);
	m[3] = (uint8_t)c;
	return 40 + 8 + olen;
}

static const uint8_t slla_opt[8] = { 1, 1, 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t zero_len_opt[8] = { 1, 0, 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t long_opt[8] = { 1, 2, 0x02, 0, 0, 0, 0, 0x10 };
static const uint8_t unspec[16];

struct rs_case {
	const char *name;
	const uint8_t *src;
	uint8_t hl, code;
	const uint8_t *opt;
	bool bad_csum;
	uint32_t cut;     /* bytes taken off the end of the packet (and its length) */
	bool valid, has_slla;
};

static const struct rs_case rs_cases[] = {
	{ "from a link-local address with its MAC", host_ll, 255, 0, slla_opt, false, 0, true, true },
	{ "from a link-local address, no option", host_ll, 255, 0, NULL, false, 0, true, false },
	{ "from the unspecified address, no option", unspec, 255, 0, NULL, false, 0, true, false },
	{ "from the unspecified address with a MAC", unspec, 255, 0, slla_opt, false, 0, false,
	  false },
	{ "hop limit 254: routed, not on the link", host_ll, 254, 0, slla_opt, false, 0, false,
	  false },
	{ "code 1", host_ll, 255, 1, NULL, false, 0, false, false },
	{ "bad checksum", host_ll, 255, 0, slla_opt, true, 0, false, false },
	{ "option of length 0", host_ll, 255, 0, zero_len_opt, false, 0, false, false },
	{ "option beyond the message", host_ll, 255, 0, long_opt, false, 0, false, false },
	{ "ICMPv6 shorter than 8 bytes", host_ll, 255, 0, NULL, false, 4, false, false },
};

static void test_rs_checks(void **state)
{
	for (size_t k = 0; k < sizeof(rs_cases) / sizeof(rs_cases[0]); k++) {
		const struct rs_case *rc = &rs_cases[k];
		uint8_t ip[128];
		uint32_t len = mk_rs(ip, rc->src, rc->hl, rc->code, rc->opt, rc->opt ? 8 : 0,
				     rc->bad_csum);
		if (rc->cut) {
			len -= rc->cut;
			ip[5] = (uint8_t)(ip[5] - rc->cut);
		}
		assert_true(ra_is_rs(ip, len));
		const uint8_t *slla = (const uint8_t *)1;
		bool v = ra_rs_check(ip, len, &slla);
		if (v != rc->valid)
			fail_msg("%s: %s, expected %s", rc->name, v ? "valid" : "invalid",
				 rc->valid ? "valid" : "invalid");
		if (v && rc->has_slla != (slla != NULL))
			fail_msg("%s: source link-layer option %s", rc->name, slla ? "seen" : "missed");
	}
	/* what is not an RS at all */
	uint8_t ip[64];
	uint32_t len = mk_rs(ip, host_ll, 255, 0, NULL, 0, false);
	ip[40] = 135;
	assert_false(ra_is_rs(ip, len));
	assert_false(ra_is_rs(ip, 40));
}

/* ---- the timers ---- */

struct sent_ra {
	uint16_t ifid;
	uint64_t at;
};

static struct sent_ra sent[256];
static size_t nsent;
static uint64_t clock_now;
static uint8_t learnt[16], learnt_mac[6];
static int nlearnt;

static bool src_fn(void *ctx, uint16_t ifid, uint8_t src[16])
{
	memcpy(src, our_ll, 16);
	return ifid != 9; /* interface 9 has no link-local address */
}

static const uint8_t *mac_fn(void *ctx, uint16_t ifid)
{
	return our_mac;
}

static uint16_t last_lifetime;

static void send_fn(void *ctx, uint16_t ifid, const uint8_t *f, uint32_t len)
{
	assert_int_equal(f[14 + 40], 134);
	last_lifetime = rd16(f + 14 + 40 + 6);
	if (nsent < 256)
		sent[nsent++] = (struct sent_ra){ ifid, clock_now };
}

static void learn_fn(void *ctx, uint16_t ifid, const uint8_t a[16], const uint8_t mac[6])
{
	memcpy(learnt, a, 16);
	memcpy(learnt_mac, mac, 6);
	nlearnt++;
}

static struct ra *mk(void)
{
	nsent = 0;
	nlearnt = 0;
	clock_now = 100 * SEC;
	struct ra_ops ops = { NULL, src_fn, mac_fn, send_fn, learn_fn };
	return ra_new(&ops, 12345);
}

/* Virtual time moves in 100 ms steps, as the dataplane's housekeeping. */
static void run_until(struct ra *r, uint64_t t)
{
	while (clock_now < t) {
		clock_now += 100 * MSEC;
		ra_tick(r, clock_now);
	}
}

static struct ra_conf conf(uint32_t min_s, uint32_t max_s, uint32_t delay_s)
{
	struct ra_conf c = { .min_ms = min_s * 1000, .max_ms = max_s * 1000,
			     .delay_ms = delay_s * 1000, .lifetime_s = 1800, .advertise_mac = true };
	return c;
}

static void test_unsolicited_schedule(void **state)
{
	struct ra *r = mk();
	struct ra_conf c = conf(200, 600, 3);
	uint64_t t0 = clock_now;
	ra_set(r, 1, &c, clock_now);
	run_until(r, t0 + 3600 * SEC);
	/* the first within a second, three more at most 16 s apart, then
	 * within ra-interval */
	assert_true(nsent >= 1 + 3 + 5);
	assert_true(sent[0].at <= t0 + SEC + 100 * MSEC);
	for (size_t i = 1; i < nsent; i++) {
		uint64_t gap = sent[i].at - sent[i - 1].at;
		assert_int_equal(sent[i].ifid, 1);
		if (i <= 3)
			assert_true(gap <= 16 * SEC + 100 * MSEC);
		else
			assert_true(gap >= 200 * SEC && gap <= 600 * SEC + 100 * MSEC);
	}
	assert_int_equal(ra_stats(r)->ra_out, nsent);
	/* the same configuration again changes nothing; a new one starts over */
	size_t before = nsent;
	ra_set(r, 1, &c, clock_now);
	run_until(r, clock_now + 2 * SEC);
	assert_int_equal(nsent, before);
	c.mtu = 1400;
	ra_set(r, 1, &c, clock_now);
	run_until(r, clock_now + 2 * SEC);
	assert_int_equal(nsent, before + 1);
	/* stopped: one final advertisement of lifetime 0, then nothing */
	ra_set(r, 1, NULL, clock_now);
	assert_int_equal(nsent, before + 2);
	assert_int_equal(last_lifetime, 0);
	before = nsent;
	run_until(r, clock_now + 3600 * SEC);
	assert_int_equal(nsent, before);
	/* an interface that is gone stops without a word */
	ra_set(r, 3, &c, clock_now);
	run_until(r, clock_now + 2 * SEC);
	assert_int_equal(nsent, before + 1);
	assert_int_equal(last_lifetime, 1800);
	ra_forget(r, 3);
	run_until(r, clock_now + 3600 * SEC);
	assert_int_equal(nsent, before + 1);
	/* without a link-local address nothing goes out */
	ra_set(r, 9, &c, clock_now);
	run_until(r, clock_now + 60 * SEC);
	assert_int_equal(nsent, before + 1);
	ra_free(r);
}

static void test_solicited(void **state)
{
	struct ra *r = mk();
	struct ra_conf c = conf(200, 600, 3);
	ra_set(r, 1, &c, clock_now);
	run_until(r, clock_now + 60 * SEC); /* past the initial ones */
	size_t base = nsent;
	uint64_t last = sent[nsent - 1].at;
	uint8_t ip[64];
	uint32_t len = mk_rs(ip, host_ll, 255, 0, slla_opt, 8, false);
	/* ra-delay after the last multicast one at the earliest, 0.5 s at most otherwise */
	if (clock_now < last + 3 * SEC)
		run_until(r, last + 3 * SEC);
	uint64_t asked = clock_now;
	ra_input(r, 1, ip, len, clock_now);
	assert_int_equal(nlearnt, 1);
	assert_memory_equal(learnt, host_ll, 16);
	assert_memory_equal(learnt_mac, slla_opt + 2, 6);
	/* a second one while the answer is pending is rate-limited */
	ra_input(r, 1, ip, len, clock_now);
	assert_int_equal(ra_stats(r)->rs_limited, 1);
	run_until(r, asked + 700 * MSEC);
	assert_int_equal(nsent, base + 1);
	assert_true(sent[base].at - asked <= 600 * MSEC);
	assert_int_equal(ra_stats(r)->ra_solicited, 1);
	/* right after it, the next answer waits for ra-delay */
	uint64_t answered = sent[base].at;
	ra_input(r, 1, ip, len, clock_now);
	run_until(r, answered + 2900 * MSEC);
	assert_int_equal(nsent, base + 1);
	run_until(r, answered + 3200 * MSEC);
	assert_int_equal(nsent, base + 2);
	/* not an advertising interface, or invalid: no answer */
	ra_input(r, 2, ip, len, clock_now);
	ip[7] = 64;
	ra_input(r, 1, ip, len, clock_now);
	assert_int_equal(ra_stats(r)->rs_bad, 1);
	run_until(r, clock_now + 5 * SEC);
	assert_int_equal(nsent, base + 2);
	assert_int_equal(ra_stats(r)->rs_in, 3);
	ra_free(r);
}

/* ---- the configuration ---- */

static struct store *store_with(const char *rsc)
{
	struct store *st;
	struct conf_session s;
	struct err e;
	err_clear(&e);
	if (store_open(&st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&s, st, "tester");
	if (conf_store_init(&s, false, &e) < 0)
		fail_msg("conf_store_init: %s", e.msg);
	if (conf_import(&s, rsc, "test", 0, NULL, &e) < 0)
		fail_msg("import: line %d: %s", e.line, e.msg);
	conf_session_free(&s);
	return st;
}

static bool has_prefix(const struct ra_conf *c, const char *net, uint32_t valid, uint32_t pref,
		       bool autonomous)
{
	uint8_t a[16];
	assert_int_equal(parse_ip6(net, a), 0);
	for (size_t i = 0; i < c->nprefixes; i++)
		if (!memcmp(c->prefixes[i].prefix, a, 16))
			return c->prefixes[i].valid_s == valid && c->prefixes[i].preferred_s == pref &&
			       c->prefixes[i].autonomous == autonomous && c->prefixes[i].len == 64;
	return false;
}

static void test_conf_load(void **state)
{
	struct store *st = store_with(
		"/ipv6 address\n"
		"add address=2001:db8:1::1/64 interface=ether2\n"
		"add address=2001:db8:2::1/64 interface=ether2 advertise=no\n"
		"add address=2001:db8:3::1/126 interface=ether2\n"
		"add address=2001:db8:4::1/64 interface=ether2\n"
		"add address=2001:db8:9::1/64 interface=ether3\n"
		"/ipv6 nd prefix\n"
		"add prefix=2001:db8:4::/64 interface=ether2 autonomous=no "
		"preferred-lifetime=infinity valid-lifetime=infinity\n"
		"/ipv6 nd\n"
		"add interface=ether3 ra-interval=20s-1m mtu=1400 hop-limit=64 ra-lifetime=none "
		"managed-address-configuration=yes reachable-time=30s\n"
		"add interface=ether4 disabled=yes\n"
		"add interface=ether5 advertise-dns=yes ra-interval=10m-20m\n"
		"/ip dns set servers=9.9.9.9,2001:db8::53,fd00::35\n");
	struct ra_conf c;
	/* the default entry: RouterOS's values and the /64s with advertise=yes */
	assert_true(ra_conf_load(st, "ether2", &c));
	assert_int_equal(c.min_ms, 200000);
	assert_int_equal(c.max_ms, 600000);
	assert_int_equal(c.delay_ms, 3000);
	assert_int_equal(c.lifetime_s, 1800);
	assert_int_equal(c.hop_limit, 0);
	assert_int_equal(c.mtu, 0);
	assert_true(c.advertise_mac);
	assert_false(c.managed);
	assert_int_equal(c.nprefixes, 2);
	assert_true(has_prefix(&c, "2001:db8:1::", 2592000, 604800, true));
	/* a static entry wins over the address's */
	assert_true(has_prefix(&c, "2001:db8:4::", 0xffffffffu, 0xffffffffu, false));
	/* an entry of its own */
	assert_true(ra_conf_load(st, "ether3", &c));
	assert_int_equal(c.min_ms, 20000);
	assert_int_equal(c.max_ms, 60000);
	assert_int_equal(c.mtu, 1400);
	assert_int_equal(c.hop_limit, 64);
	assert_int_equal(c.lifetime_s, 0);
	assert_int_equal(c.reachable_ms, 30000);
	assert_true(c.managed);
	assert_int_equal(c.nprefixes, 1);
	assert_int_equal(c.ndns, 0);
	/* disabled: none */
	assert_false(ra_conf_load(st, "ether4", &c));
	/* advertise-dns: the IPv6 servers of /ip dns, for twice the most interval */
	assert_true(ra_conf_load(st, "ether5", &c));
	assert_int_equal(c.ndns, 2);
	uint8_t d[16];
	assert_int_equal(parse_ip6("2001:db8::53", d), 0);
	assert_memory_equal(c.dns[0], d, 16);
	assert_int_equal(parse_ip6("fd00::35", d), 0);
	assert_memory_equal(c.dns[1], d, 16);
	assert_int_equal(c.dns_lifetime_s, 2400);
	store_close(st);
	/* the default entry disabled: nothing anywhere */
	st = store_with("/ipv6 nd set [ find interface=all ] disabled=yes\n");
	assert_false(ra_conf_load(st, "ether2", &c));
	store_close(st);
}

/* The dynamic /ipv6 nd prefix entries follow /ipv6 address, and a second
 * sync with nothing changed commits nothing. */
static size_t commits;

static void count_commits(void *ctx, const uint64_t *changed, size_t nwords)
{
	commits++;
}

static size_t dynamic_prefixes(struct store *st, const char *want_first)
{
	const struct menu *pm = schema_find("/ipv6/nd/prefix");
	size_t n = 0;
	for (size_t i = 0; i < store_count(st, pm); i++) {
		const struct item *x = store_at(st, pm, i);
		if (!(x->flags & IF_DYNAMIC))
			continue;
		if (!n++ && want_first)
			assert_string_equal(item_get(pm, x, "prefix"), want_first);
		assert_string_equal(item_get(pm, x, "valid-lifetime"), "4w2d");
		assert_string_equal(item_get(pm, x, "preferred-lifetime"), "1w");
	}
	return n;
}

static void test_sync_prefixes(void **state)
{
	struct store *st = store_with("/ipv6 address\n"
				      "add address=2001:db8:1::1/64 interface=ether2\n"
				      "add address=2001:db8:2::1/64 interface=ether2 advertise=no\n"
				      "add address=2001:db8:3::1/126 interface=ether3\n"
				      "/ipv6 nd prefix\n"
				      "add prefix=2001:db8:7::/64 interface=ether2\n");
	struct err e;
	err_clear(&e);
	commits = 0;
	store_subscribe(st, count_commits, NULL);
	assert_int_equal(ra_sync_prefixes(st, &e), 0);
	assert_int_equal(commits, 1);
	assert_int_equal(dynamic_prefixes(st, "2001:db8:1::/64"), 1);
	assert_int_equal(ra_sync_prefixes(st, &e), 0);
	assert_int_equal(commits, 1);
	/* an address changes: the entries follow */
	struct conf_session s;
	conf_session_init(&s, st, "tester");
	assert_int_equal(conf_import(&s, "/ipv6 address set [ find address=\"2001:db8:2::1/64\" ] "
					 "advertise=yes\n",
				     "t", 0, NULL, &e),
			 0);
	conf_session_free(&s);
	assert_int_equal(ra_sync_prefixes(st, &e), 0);
	assert_int_equal(dynamic_prefixes(st, "2001:db8:1::/64"), 2);
	/* the static entry stays as it was */
	const struct menu *pm = schema_find("/ipv6/nd/prefix");
	assert_int_equal(store_count(st, pm), 3);
	store_close(st);
}

struct iv_case {
	const char *in;
	int rc;
	uint64_t lo, hi;
};

static const struct iv_case iv_cases[] = {
	{ "3m20s-10m", 0, 200000, 600000 },
	{ "3s-4s", 0, 3000, 4000 },
	{ "20m50s-30m", 0, 1250000, 1800000 },
	{ "30s", 0, 10000, 30000 },
	{ "2s-4s", -1, 0, 0 },      /* MIN below 3s */
	{ "3s-31m", -1, 0, 0 },     /* MAX above 30m */
	{ "10s-12s", -1, 0, 0 },    /* MIN above 3/4 of MAX */
	{ "a-b", -1, 0, 0 },
	{ "-10m", -1, 0, 0 },
	{ "", -1, 0, 0 },
};

static void test_ra_interval(void **state)
{
	for (size_t k = 0; k < sizeof(iv_cases) / sizeof(iv_cases[0]); k++) {
		uint64_t lo = 0, hi = 0;
		int rc = menus_ra_interval(iv_cases[k].in, &lo, &hi);
		if (rc != iv_cases[k].rc)
			fail_msg("'%s': %d, expected %d", iv_cases[k].in, rc, iv_cases[k].rc);
		if (!rc && (lo != iv_cases[k].lo || hi != iv_cases[k].hi))
			fail_msg("'%s': %llu-%llu", iv_cases[k].in, (unsigned long long)lo,
				 (unsigned long long)hi);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_rs_checks),
		cmocka_unit_test(test_unsolicited_schedule),
		cmocka_unit_test(test_solicited),
		cmocka_unit_test(test_conf_load),
		cmocka_unit_test(test_sync_prefixes),
		cmocka_unit_test(test_ra_interval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
