/*
 * Router advertisements: the message (RFC 4861 4.2, options 4.6), the
 * solicitation checks (6.1.1), and the timers of 6.2.4 and 6.2.6 per
 * interface. Intervals are drawn uniformly from [min, max] by a xorshift
 * generator: the randomness only keeps routers on a link from advertising
 * in step.
 */
#include "ra.h"

#include <stdlib.h>
#include <string.h>

#include "conf/menus.h"
#include "conf/schema.h"
#include "conf/store.h"
#include "engine/pkt.h"
#include "io/nd.h"
#include "util/sbuf.h"

#define ICMP6 58
#define RS 133
#define RA 134
#define OPT_SLLA 1
#define OPT_PREFIX 3
#define OPT_MTU 5
#define OPT_RDNSS 25
#define MAX_INITIAL 3                  /* MAX_INITIAL_RTR_ADVERTISEMENTS */
#define MAX_INITIAL_MS 16000u          /* MAX_INITIAL_RTR_ADVERT_INTERVAL */
#define MAX_RA_DELAY_MS 500u           /* MAX_RA_DELAY_TIME */
#define MS 1000000ull

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };
static const uint8_t all_nodes_mac[6] = { 0x33, 0x33, 0, 0, 0, 1 };

struct ra_if {
	uint16_t ifid;
	struct ra_conf c;
	uint64_t next;            /* the next unsolicited advertisement */
	uint64_t last;            /* the last multicast one; 0: none yet */
	uint64_t answer;          /* a pending answer to a solicitation; 0: none */
	int initial;              /* initial advertisements still to send */
};

struct ra {
	struct ra_ops ops;
	struct ra_stats st;
	uint64_t rnd;
	struct ra_if *ifs;
	size_t nifs, cap;
};

size_t ra_build(const struct ra_conf *c, const uint8_t mac[6], const uint8_t src[16],
		const uint8_t dst_mac[6], const uint8_t dst[16], uint8_t *f)
{
	uint8_t *ip = f + 14, *m = ip + 40;
	memset(f, 0, 14 + 40 + 16);
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x86, f[13] = 0xdd;
	ip[0] = 0x60;
	ip[6] = ICMP6;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	m[0] = RA;
	m[4] = c->hop_limit;
	m[5] = (uint8_t)((c->managed ? 0x80 : 0) | (c->other ? 0x40 : 0));
	pkt_put16(m + 6, (uint16_t)(c->lifetime_s > 0xffff ? 0xffff : c->lifetime_s));
	pkt_put32(m + 8, c->reachable_ms);
	pkt_put32(m + 12, c->retrans_ms);
	uint32_t n = 16;
	if (c->advertise_mac) {
		m[n] = OPT_SLLA;
		m[n + 1] = 1;
		memcpy(m + n + 2, mac, 6);
		n += 8;
	}
	if (c->mtu) {
		memset(m + n, 0, 8);
		m[n] = OPT_MTU;
		m[n + 1] = 1;
		pkt_put32(m + n + 4, c->mtu);
		n += 8;
	}
	for (size_t i = 0; i < c->nprefixes && i < RA_MAX_PREFIXES; i++) {
		const struct ra_prefix *p = &c->prefixes[i];
		uint8_t *o = m + n;
		memset(o, 0, 32);
		o[0] = OPT_PREFIX;
		o[1] = 4;
		o[2] = p->len;
		o[3] = (uint8_t)((p->on_link ? 0x80 : 0) | (p->autonomous ? 0x40 : 0));
		pkt_put32(o + 4, p->valid_s);
		pkt_put32(o + 8, p->preferred_s);
		memcpy(o + 16, p->prefix, 16);
		n += 32;
	}
	if (c->ndns) {
		size_t k = c->ndns < RA_MAX_DNS ? c->ndns : RA_MAX_DNS;
		uint8_t *o = m + n;
		memset(o, 0, 8);
		o[0] = OPT_RDNSS;
		o[1] = (uint8_t)(1 + 2 * k);
		pkt_put32(o + 4, c->dns_lifetime_s);
		memcpy(o + 8, c->dns, 16 * k);
		n += 8 + 16 * (uint32_t)k;
	}
	pkt_put16(ip + 4, (uint16_t)n);
	pkt_put16(m + 2, nd_icmp6_csum(src, dst, m, n));
	return 14 + 40 + n;
}

bool ra_is_rs(const uint8_t *ip6, uint32_t len)
{
	return len >= 41 && (ip6[0] >> 4) == 6 && ip6[6] == ICMP6 && ip6[40] == RS;
}

bool ra_rs_check(const uint8_t *ip6, uint32_t len, const uint8_t **slla)
{
	*slla = NULL;
	if (len < 40 + 8 || !ra_is_rs(ip6, len))
		return false;
	uint32_t plen = (uint32_t)(ip6[4] << 8 | ip6[5]);
	const uint8_t *msg = ip6 + 40, *src = ip6 + 8;
	if (plen < 8 || 40 + plen > len || ip6[7] != 255 || msg[1] != 0 ||
	    nd_icmp6_csum(src, ip6 + 24, msg, plen) != 0)
		return false;
	for (uint32_t o = 8; o < plen;) {
		if (o + 2 > plen || !msg[o + 1] || o + msg[o + 1] * 8u > plen)
			return false;
		if (msg[o] == OPT_SLLA && msg[o + 1] == 1)
			*slla = msg + o + 2;
		o += msg[o + 1] * 8u;
	}
	static const uint8_t zero[16];
	if (*slla && !memcmp(src, zero, 16))
		return false;
	return true;
}

static uint64_t rnd(struct ra *r, uint64_t span)
{
	uint64_t x = r->rnd;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	r->rnd = x;
	return span ? x % (span + 1) : 0;
}

struct ra *ra_new(const struct ra_ops *ops, uint64_t seed)
{
	struct ra *r = xcalloc(1, sizeof(*r));
	r->ops = *ops;
	r->rnd = seed | 1;
	return r;
}

void ra_free(struct ra *r)
{
	if (!r)
		return;
	free(r->ifs);
	free(r);
}

static struct ra_if *find(struct ra *r, uint16_t ifid)
{
	for (size_t i = 0; i < r->nifs; i++)
		if (r->ifs[i].ifid == ifid)
			return &r->ifs[i];
	return NULL;
}

/* The first advertisement of an interface that starts (or whose
 * information changed) goes out within a second; the next ones at most
 * 16 s apart. */
static void start(struct ra *r, struct ra_if *x, uint64_t now)
{
	x->initial = MAX_INITIAL;
	uint64_t t = now + rnd(r, 1000) * MS;
	if (!x->next || t < x->next)
		x->next = t;
}

static void send_ra(struct ra *r, struct ra_if *x, uint64_t now);

void ra_forget(struct ra *r, uint16_t ifid)
{
	struct ra_if *x = find(r, ifid);
	if (x)
		*x = r->ifs[--r->nifs];
}

void ra_set(struct ra *r, uint16_t ifid, const struct ra_conf *c, uint64_t now)
{
	struct ra_if *x = find(r, ifid);
	if (!c) {
		if (x) { /* RFC 4861 6.2.5: hosts drop it as a default router at once */
			x->c.lifetime_s = 0;
			send_ra(r, x, now);
			ra_forget(r, ifid);
		}
		return;
	}
	if (x && !memcmp(&x->c, c, sizeof(*c)))
		return;
	if (!x) {
		if (r->nifs == r->cap) {
			r->cap = r->cap ? r->cap * 2 : 8;
			r->ifs = xrealloc(r->ifs, r->cap * sizeof(*r->ifs));
		}
		x = &r->ifs[r->nifs++];
		memset(x, 0, sizeof(*x));
		x->ifid = ifid;
	}
	x->c = *c;
	start(r, x, now);
}

void ra_input(struct ra *r, uint16_t ifid, const uint8_t *ip6, uint32_t len, uint64_t now)
{
	const uint8_t *slla;
	if (!ra_rs_check(ip6, len, &slla)) {
		r->st.rs_bad++;
		return;
	}
	struct ra_if *x = find(r, ifid);
	if (!x)
		return; /* not an advertising interface: silently ignored (6.2.6) */
	r->st.rs_in++;
	if (slla && r->ops.learn)
		r->ops.learn(r->ops.ctx, ifid, ip6 + 8, slla);
	if (x->answer) {
		r->st.rs_limited++;
		return;
	}
	uint64_t t = now + rnd(r, MAX_RA_DELAY_MS) * MS;
	if (x->last && x->last + x->c.delay_ms * MS > t)
		t = x->last + x->c.delay_ms * MS;
	if (t >= x->next)
		return; /* the unsolicited one comes first and answers it */
	x->answer = t;
}

static void send_ra(struct ra *r, struct ra_if *x, uint64_t now)
{
	uint8_t src[16], f[RA_FRAME_MAX];
	const uint8_t *mac = r->ops.mac(r->ops.ctx, x->ifid);
	x->last = now;
	if (!mac || !r->ops.src_addr(r->ops.ctx, x->ifid, src))
		return;
	size_t n = ra_build(&x->c, mac, src, all_nodes_mac, all_nodes, f);
	r->ops.send(r->ops.ctx, x->ifid, f, (uint32_t)n);
	r->st.ra_out++;
}

/* When the next unsolicited advertisement goes, counted from now. */
static void reschedule(struct ra *r, struct ra_if *x, uint64_t now)
{
	uint64_t iv = x->c.min_ms + rnd(r, x->c.max_ms - x->c.min_ms);
	if (x->initial > 0) {
		x->initial--;
		if (iv > MAX_INITIAL_MS)
			iv = MAX_INITIAL_MS;
	}
	x->next = now + iv * MS;
}

void ra_tick(struct ra *r, uint64_t now)
{
	for (size_t i = 0; i < r->nifs; i++) {
		struct ra_if *x = &r->ifs[i];
		if (x->answer && now >= x->answer) {
			x->answer = 0;
			send_ra(r, x, now);
			r->st.ra_solicited++;
			reschedule(r, x, now);
			continue;
		}
		if (now < x->next)
			continue;
		if (x->last && now < x->last + x->c.delay_ms * MS) {
			x->next = x->last + x->c.delay_ms * MS;
			continue;
		}
		send_ra(r, x, now);
		reschedule(r, x, now);
	}
}

const struct ra_stats *ra_stats(const struct ra *r)
{
	return &r->st;
}

/* ---- the configuration ---- */

static bool yes(const struct menu *m, const struct item *it, const char *name)
{
	const char *v = item_get(m, it, name);
	return v && !strcmp(v, "yes");
}

/* A time property in ms; 0 for unspecified/none or when it does not parse. */
static uint32_t ms_of(const struct menu *m, const struct item *it, const char *name)
{
	const char *v = item_get(m, it, name);
	uint64_t ms;
	if (!v || parse_time_ms(v, &ms) < 0)
		return 0;
	return ms > 0xffffffffu ? 0xffffffffu : (uint32_t)ms;
}

/* "2001:db8::1/64": the address and its length. */
static bool prefix_of(const char *v, uint8_t a[16], int *len)
{
	char ip[48];
	const char *slash = v ? strchr(v, '/') : NULL;
	size_t n = slash ? (size_t)(slash - v) : 0;
	if (!slash || n >= sizeof(ip))
		return false;
	memcpy(ip, v, n);
	ip[n] = 0;
	*len = atoi(slash + 1);
	return parse_ip6(ip, a) == 0 && *len >= 0 && *len <= 128;
}

#define DYN_VALID_S (4 * 7 * 86400 + 2 * 86400) /* 4w2d */
#define DYN_PREFERRED_S (7 * 86400)             /* 1w */

/* An address whose prefix is advertised (advertise=yes, a /64, not
 * link-local, enabled): its address and length. */
static bool advertised(const struct menu *am, const struct item *x, uint8_t a[16], int *len)
{
	return !yes(am, x, "disabled") && yes(am, x, "advertise") &&
	       prefix_of(item_get(am, x, "address"), a, len) && *len == 64 &&
	       !(a[0] == 0xfe && (a[1] & 0xc0) == 0x80);
}

static void add_prefix(struct ra_conf *c, const uint8_t a[16], int len, bool on_link,
		       bool autonomous, uint32_t valid, uint32_t preferred)
{
	struct ra_prefix p = { .len = (uint8_t)len, .on_link = on_link, .autonomous = autonomous,
			       .valid_s = valid, .preferred_s = preferred };
	memcpy(p.prefix, a, 16);
	for (int b = len; b < 128; b++)
		p.prefix[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	for (size_t i = 0; i < c->nprefixes; i++)
		if (c->prefixes[i].len == p.len && !memcmp(c->prefixes[i].prefix, p.prefix, 16))
			return; /* a static entry overrides what an address gives */
	if (c->nprefixes < RA_MAX_PREFIXES)
		c->prefixes[c->nprefixes++] = p;
}

/* The IPv6 servers of /ip dns (servers=, a comma list). */
static void dns_servers(struct store *st, struct ra_conf *c)
{
	const struct menu *m = schema_find("/ip/dns");
	const struct item *it = m && store_count(st, m) ? store_at(st, m, 0) : NULL;
	const char *v = it ? item_get(m, it, "servers") : NULL;
	for (const char *p = v; p && *p && c->ndns < RA_MAX_DNS;) {
		const char *comma = strchr(p, ',');
		size_t n = comma ? (size_t)(comma - p) : strlen(p);
		char ip[48];
		if (n < sizeof(ip)) {
			memcpy(ip, p, n);
			ip[n] = 0;
			if (strchr(ip, ':') && parse_ip6(ip, c->dns[c->ndns]) == 0)
				c->ndns++;
		}
		p = comma ? comma + 1 : p + n;
	}
	c->dns_lifetime_s = 2 * c->max_ms / 1000;
}

bool ra_conf_load(struct store *st, const char *ifname, struct ra_conf *c)
{
	const struct menu *m = schema_find("/ipv6/nd");
	const struct item *it = NULL, *all = NULL;
	for (size_t i = 0; m && i < store_count(st, m); i++) {
		const struct item *x = store_at(st, m, i);
		const char *ifn = item_get(m, x, "interface");
		if (ifn && !strcmp(ifn, ifname))
			it = x;
		else if (ifn && !strcmp(ifn, "all") && !all)
			all = x;
	}
	if (!it)
		it = all;
	if (!it || yes(m, it, "disabled"))
		return false;
	memset(c, 0, sizeof(*c));
	uint64_t lo, hi;
	const char *iv = item_get(m, it, "ra-interval");
	if (!iv || menus_ra_interval(iv, &lo, &hi) < 0)
		lo = 200000, hi = 600000;
	c->min_ms = (uint32_t)lo;
	c->max_ms = (uint32_t)hi;
	c->delay_ms = ms_of(m, it, "ra-delay");
	c->lifetime_s = ms_of(m, it, "ra-lifetime") / 1000;
	const char *hl = item_get(m, it, "hop-limit"), *mtu = item_get(m, it, "mtu");
	c->hop_limit = hl && strcmp(hl, "unspecified") ? (uint8_t)atoi(hl) : 0;
	c->mtu = mtu && strcmp(mtu, "unspecified") ? (uint32_t)strtoul(mtu, NULL, 10) : 0;
	c->reachable_ms = ms_of(m, it, "reachable-time");
	c->retrans_ms = ms_of(m, it, "retransmit-interval");
	c->advertise_mac = yes(m, it, "advertise-mac-address");
	c->managed = yes(m, it, "managed-address-configuration");
	c->other = yes(m, it, "other-configuration");
	if (yes(m, it, "advertise-dns"))
		dns_servers(st, c);
	uint8_t a[16];
	int len;
	const struct menu *pm = schema_find("/ipv6/nd/prefix");
	for (size_t i = 0; pm && i < store_count(st, pm); i++) {
		const struct item *x = store_at(st, pm, i);
		const char *ifn = item_get(pm, x, "interface");
		uint32_t valid, pref;
		if (!ifn || strcmp(ifn, ifname) || (x->flags & IF_DYNAMIC) || yes(pm, x, "disabled") ||
		    !prefix_of(item_get(pm, x, "prefix"), a, &len) ||
		    menus_lifetime_s(item_get(pm, x, "valid-lifetime"), &valid) < 0 ||
		    menus_lifetime_s(item_get(pm, x, "preferred-lifetime"), &pref) < 0)
			continue;
		add_prefix(c, a, len, yes(pm, x, "on-link"), yes(pm, x, "autonomous"), valid, pref);
	}
	/* RouterOS's dynamic entries: every advertised /64 of the interface */
	const struct menu *am = schema_find("/ipv6/address");
	for (size_t i = 0; am && i < store_count(st, am); i++) {
		const struct item *x = store_at(st, am, i);
		const char *ifn = item_get(am, x, "interface");
		if (!ifn || strcmp(ifn, ifname) || !advertised(am, x, a, &len))
			continue;
		add_prefix(c, a, len, true, true, DYN_VALID_S, DYN_PREFERRED_S);
	}
	return true;
}

/* The dynamic entries as "prefix interface" lines, the prefix canonical. */
static void dynamic_lines(struct store *st, struct sbuf *out)
{
	const struct menu *am = schema_find("/ipv6/address");
	for (size_t i = 0; am && i < store_count(st, am); i++) {
		const struct item *x = store_at(st, am, i);
		const char *ifn = item_get(am, x, "interface");
		uint8_t a[16];
		int len;
		if (!ifn || !advertised(am, x, a, &len))
			continue;
		for (int b = len; b < 128; b++)
			a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
		format_ip6(a, out);
		sbuf_printf(out, "/%d %s\n", len, ifn);
	}
}

int ra_sync_prefixes(struct store *st, struct err *e)
{
	const struct menu *pm = schema_find("/ipv6/nd/prefix");
	if (!pm)
		return 0;
	int pi = schema_prop(pm, "prefix", NULL), ii = schema_prop(pm, "interface", NULL);
	struct sbuf want = SBUF_INIT, have = SBUF_INIT;
	dynamic_lines(st, &want);
	for (size_t i = 0; i < store_count(st, pm); i++) {
		const struct item *x = store_at(st, pm, i);
		if (x->flags & IF_DYNAMIC)
			sbuf_printf(&have, "%s %s\n", item_geti(pm, x, pi), item_geti(pm, x, ii));
	}
	int rc = 0;
	if (!strcmp(sbuf_str(&want), sbuf_str(&have)))
		goto done;
	if ((rc = store_begin(st, e)) < 0)
		goto done;
	for (size_t i = store_count(st, pm); i-- > 0;) {
		const struct item *x = store_at(st, pm, i);
		if ((x->flags & IF_DYNAMIC) && (rc = store_remove(st, pm, x->id, e)) < 0)
			goto rollback;
	}
	for (char *l = (char *)sbuf_str(&want), *nl; *l; l = nl + 1) {
		nl = strchr(l, '\n');
		*nl = 0;
		char *sp = strchr(l, ' ');
		*sp = 0;
		struct item *it = item_new(pm);
		item_set(pm, it, pi, l);
		item_set(pm, it, ii, sp + 1);
		it->flags |= IF_DYNAMIC;
		if ((rc = store_add(st, pm, it, SIZE_MAX, NULL, e)) < 0)
			goto rollback;
	}
	rc = store_commit(st, STORE_WHO_SYSTEM, "dynamic /ipv6 nd prefix entries", e);
	if (rc < 0)
		goto rollback;
	goto done;
rollback:
	store_rollback(st);
done:
	sbuf_free(&want);
	sbuf_free(&have);
	return rc < 0 ? -1 : 0;
}
