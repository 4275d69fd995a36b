/*
 * The packet flow. Each stage is a small function over the packet
 * descriptor; the order of the calls in flow_input/flow_output is the
 * RouterOS v6 packet flow diagram, so reading those two functions is reading
 * the diagram. Interfaces, addresses and routes are copied out of the store
 * at load time into flat arrays: the packet path never touches the store.
 * IPv4 and IPv6 share the flow; they part only where the protocols do: the
 * routing decision (routes, TTL or hop limit, the ICMP or ICMPv6 errors), NAT
 * (IPv4 only) and FastTrack (IPv4 only). Fragments and malformed frames
 * leave the common path with one test (input_slow).
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/runtime.h"
#include "conf/schema.h"
#include "conf/types.h"
#include "cthelper.h"
#include "frag.h"
#include "names.h"

#define IPPROTO_TCP_ 6
#define IPPROTO_ICMPV6_ 58

struct if_addr {
	uint32_t addr;
	uint8_t len;
	uint16_t ifid;
};

enum rt_type { RT_UNICAST, RT_BLACKHOLE, RT_UNREACHABLE, RT_PROHIBIT };

struct route {
	uint32_t net;
	uint8_t len;
	uint8_t distance;
	uint8_t type;
	bool connected;
	uint16_t ifid;    /* egress; 0 until resolved */
	uint32_t gw;      /* 0 = directly connected */
	uint32_t mark;    /* routing-mark table, 0 = main */
};

struct if_addr6 {
	uint8_t addr[16];
	uint8_t len;
	bool link_local;
	uint16_t ifid;
};

struct route6 {
	uint8_t net[16];
	uint8_t len;
	uint8_t distance;
	uint8_t type;
	bool connected;
	bool has_gw;
	uint16_t ifid;
	uint8_t gw[16];
};

/*
 * FastTrack's flow cache (as Linux's flow table serves RouterOS's
 * FastTrack). Once a fasttracked connection is assured, each of its
 * directions gets a slot keyed by the tuple it arrives with and its
 * in-interface, holding the connection (its conntrack slot and serial) and
 * the route (out-interface, next hop). A hit (fast_forward) skips the
 * transport checksum check, raw, conntrack's lookup and TCP window
 * tracking, every hook and the routing decision: it counts, refreshes the
 * timeout, rewrites NAT from the connection's own tuples and the TTL, and
 * forwards. The full path gives the same for the same packet: a packet of
 * a fasttracked connection skips the transport checksum check and raw
 * there too (looked up ahead of conntrack: ct_fasttracked), conntrack
 * applies the rule a hit applies (ct.h), and the rules are skipped.
 * Anything unusual takes the full path: TCP SYN, FIN or RST, IP options,
 * fragments, a TTL about to expire, ICMP, IPv6, a trace. Every hit is
 * checked against the connection (ct_fast_hit): the slot must still hold
 * the serial it had when the flow was learnt, so a connection that ended
 * and whose slot a new one took (the free list gives the last freed slot
 * first), even with the same tuple, is never taken for the old one; then
 * tuple, status, expiry. A generation number retires every cached route at
 * each engine_load. The table is a set of four-way buckets, two cache lines
 * each, under a keyed hash: a new flow takes the first way and pushes the
 * others down, the first dead way (empty, stale or of an ended
 * connection) or else the last out, so chosen tuples cost misses, never long
 * chains. (With two ways, 1% of 10,000 flows shared a set with two others
 * and, taking turns, pushed each other out on every packet.) A hit reads
 * the set (its first line, mostly: a flow sits in its first way unless its
 * set is shared) and two lines of the connection; a burst prefetches both
 * lines of the set and then the connection for all its packets before
 * processing the first. Its packets are parsed
 * by pkt_parse_flow, which reads the frame straight through.
 */
#define FLOW_SETS_LOG 15
#define FLOW_SETS (1u << FLOW_SETS_LOG)
#define FLOW_WAYS 4

struct flow {
	uint32_t src, dst;
	uint16_t sport, dport;
	uint16_t in_if;
	uint8_t proto, dir;
	uint16_t out_if;
	uint16_t gen;          /* 0: empty */
	uint32_t nexthop;
	uint32_t slot, serial; /* the connection: its slot and serial (ct_fast_hit) */
};

struct flow_set {
	_Alignas(128) struct flow way[FLOW_WAYS];
};

_Static_assert(RH_MAX <= 16, "engine.hooks holds a bit per hook");

static bool flows_alloc(struct engine *en);
_Static_assert(sizeof(struct flow) == 32 && sizeof(struct flow_set) == 128,
	       "two cache lines per set");

struct engine {
	struct ruleset *rs;
	struct rs_state *rst;
	struct ct_table *ct;
	struct if_addr *addrs;
	size_t naddrs;
	struct route *routes; /* longest prefix first, then distance */
	size_t nroutes;
	struct if_addr6 *addrs6; /* global ones first, then one link-local per interface */
	size_t naddrs6;
	struct route6 *routes6; /* longest prefix first, then distance */
	size_t nroutes6;
	struct frag_table *frag;
	struct cth_table *cth; /* conntrack helpers and their expectations */
	uint8_t *reasm;     /* the reassembled datagram (FRAG_FRAME_MAX), on first use */
	uint64_t drops[DR_MAX];
	engine_trace_fn trace;
	void *trace_ctx;
	int32_t utc_off;
	uint32_t nat_rover;
	uint64_t last_now;  /* the latest time seen, for print's timeouts */
	uint64_t ft_bytes, ft_packets; /* the FastTrack path, for its dummy rule */
	uint32_t ft_dummy_id;          /* that rule's id, 0 while there is none */
	struct flow_set *flows;        /* FastTrack's flow cache, FLOW_SETS, on first use */
	uint16_t flow_gen;             /* bumped by engine_load: cached routes are stale */
	uint64_t flow_k0, flow_k1;     /* flow cache hash key */
	uint64_t fast_hits;            /* packets the flow cache forwarded */
	uint16_t hooks[2][RT_MAX];     /* [IPv6][table]: bit h set when hook h has rules */
	bool has_fasttrack;            /* some rule has action=fasttrack-connection */
	uint8_t trace_family;          /* family of the packet being traced (rule lines) */
};

const char *ev_name(enum ev_verdict v)
{
	switch (v) {
	case EV_FORWARD: return "forward";
	case EV_LOCAL: return "local";
	case EV_DROP: return "drop";
	case EV_REJECT: return "reject";
	case EV_L2: return "l2";
	case EV_HELD: return "held";
	}
	return "?";
}

static const char *const table_names[RT_MAX] = { "raw", "mangle", "nat", "filter" };

/* ---- tracing ---- */

static void trace_emit(struct engine *en, const char *stage, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The arguments of a trace line are only computed when tracing. */
#define tracef(en, ...)                                  \
	do {                                             \
		if ((en)->trace)                          \
			trace_emit((en), __VA_ARGS__);     \
	} while (0)

static void trace_emit(struct engine *en, const char *stage, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	en->trace(en->trace_ctx, stage, buf);
}

static void rule_trace(void *ctx, enum rs_table table, const char *chain, uint32_t rule_id,
		       bool matched, const char *why)
{
	struct engine *en = ctx;
	char stage[64];
	/* IPv6 rules are named apart: their ids are those of the /ipv6 menus */
	snprintf(stage, sizeof(stage), "%s%s %s", en->trace_family == 6 ? "ipv6 " : "",
		 table_names[table], chain);
	trace_emit(en, stage, "rule *%X %s%s%s", rule_id, matched ? "matched" : "no match",
	       why && *why ? ": " : "", why ? why : "");
}

static void ip4s(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
	put16(b, (uint16_t)(v >> 16));
	put16(b + 2, (uint16_t)v);
}

/* ---- configuration ---- */

struct engine *engine_new(void)
{
	struct engine *en = xcalloc(1, sizeof(*en));
	struct ct_config c;
	ct_config_default(&c);
	uint8_t key[16];
	FILE *f = fopen("/dev/urandom", "rb");
	if (!f || fread(key, 1, sizeof(key), f) != sizeof(key))
		memset(key, 0x5a, sizeof(key));
	if (f)
		fclose(f);
	en->ct = ct_create(&c, key);
	en->rst = rs_state_new();
	for (size_t i = 0; i < sizeof(key); i++)
		key[i] ^= 0xa5;
	en->frag = frag_new(FRAG_MEM_DEFAULT, FRAG_TIMEOUT_DEFAULT, key, en->drops);
	memcpy(&en->flow_k0, key, 8);
	memcpy(&en->flow_k1, key + 8, 8);
	en->flow_gen = 1;
	en->cth = cth_new();
	return en;
}

void engine_free(struct engine *en)
{
	if (!en)
		return;
	conf_drop_ctx(en);
	ruleset_free(en->rs);
	rs_state_free(en->rst);
	ct_destroy(en->ct);
	free(en->addrs);
	free(en->routes);
	free(en->addrs6);
	free(en->routes6);
	frag_free(en->frag);
	cth_free(en->cth);
	free(en->reasm);
	free(en->flows);
	free(en);
}

static uint64_t ms_of(const struct menu *m, const struct item *it, const char *name, uint64_t dflt)
{
	const char *v = item_get(m, it, name);
	uint64_t ms;
	if (!v || parse_time_ms(v, &ms) < 0)
		return dflt;
	return ms;
}

static void load_ct_config(struct store *st, struct ct_config *c)
{
	ct_config_default(c);
	const struct menu *m = schema_find("/ip/firewall/connection/tracking");
	const struct item *it = m && store_count(st, m) ? store_at(st, m, 0) : NULL;
	if (!it)
		return;
	static const struct {
		const char *name;
		enum ct_timeout t;
	} map[] = {
		{ "tcp-syn-sent-timeout", CTO_TCP_SYN_SENT },
		{ "tcp-syn-received-timeout", CTO_TCP_SYN_RECV },
		{ "tcp-established-timeout", CTO_TCP_ESTABLISHED },
		{ "tcp-fin-wait-timeout", CTO_TCP_FIN_WAIT },
		{ "tcp-close-wait-timeout", CTO_TCP_CLOSE_WAIT },
		{ "tcp-last-ack-timeout", CTO_TCP_LAST_ACK },
		{ "tcp-time-wait-timeout", CTO_TCP_TIME_WAIT },
		{ "tcp-close-timeout", CTO_TCP_CLOSE },
		{ "tcp-max-retrans-timeout", CTO_TCP_MAX_RETRANS },
		{ "tcp-unacked-timeout", CTO_TCP_UNACKED },
		{ "udp-timeout", CTO_UDP },
		{ "udp-stream-timeout", CTO_UDP_STREAM },
		{ "icmp-timeout", CTO_ICMP },
		{ "generic-timeout", CTO_GENERIC },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		c->timeout[map[i].t] =
			ms_of(m, it, map[i].name, c->timeout[map[i].t] / 1000000) * 1000000ull;
	const char *en = item_get(m, it, "enabled");
	c->enabled = !en || strcmp(en, "no");
	const char *loose = item_get(m, it, "loose-tcp-tracking");
	c->loose = !loose || strcmp(loose, "no");
}

static bool disabled(const struct menu *m, const struct item *it)
{
	const char *d = item_get(m, it, "disabled");
	return d && !strcmp(d, "yes");
}

/* Is the interface itself enabled? (any interface menu) */
static bool iface_up(struct store *st, const char *name)
{
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (strncmp(m->path, "/interface/", 11) || !m->key || (m->flags & MF_RUNTIME))
			continue;
		const struct item *it = store_by_key(st, m, name);
		if (it)
			return !disabled(m, it);
	}
	return false;
}

static int cmp_route(const void *a, const void *b)
{
	const struct route *x = a, *y = b;
	if (x->len != y->len)
		return y->len - x->len;
	if (x->mark != y->mark)
		return x->mark < y->mark ? -1 : 1;
	return x->distance - y->distance;
}

static void load_addresses(struct engine *en, struct store *st)
{
	const struct menu *m = schema_find("/ip/address");
	size_t n = m ? store_count(st, m) : 0;
	free(en->addrs);
	en->addrs = xcalloc(n ? n : 1, sizeof(*en->addrs));
	en->naddrs = 0;
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		const char *a = item_get(m, it, "address"), *ifn = item_get(m, it, "interface");
		if (disabled(m, it) || !a || !ifn || !iface_up(st, ifn))
			continue;
		uint32_t addr;
		int len;
		if (parse_prefix4(a, &addr, &len) < 0)
			continue;
		en->addrs[en->naddrs++] = (struct if_addr){ addr, (uint8_t)len,
							     (uint16_t)name_intern(NS_IFACE, ifn) };
	}
}

static void load_routes(struct engine *en, struct store *st)
{
	const struct menu *m = schema_find("/ip/route");
	size_t n = m ? store_count(st, m) : 0;
	free(en->routes);
	en->routes = xcalloc(n + en->naddrs + 1, sizeof(*en->routes));
	en->nroutes = 0;
	for (size_t i = 0; i < en->naddrs; i++) { /* connected networks */
		const struct if_addr *a = &en->addrs[i];
		uint32_t mask = prefix4_mask(a->len);
		en->routes[en->nroutes++] = (struct route){ .net = a->addr & mask, .len = a->len,
							    .distance = 0, .connected = true,
							    .ifid = a->ifid };
	}
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		if (disabled(m, it))
			continue;
		struct route r = { 0 };
		const char *dst = item_get(m, it, "dst-address");
		int len;
		if (parse_prefix4(dst ? dst : "0.0.0.0/0", &r.net, &len) < 0)
			continue;
		r.len = (uint8_t)len;
		const char *d = item_get(m, it, "distance");
		r.distance = (uint8_t)(d ? atoi(d) : 1);
		const char *type = item_get(m, it, "type");
		r.type = !type || !strcmp(type, "unicast") ? RT_UNICAST
			 : !strcmp(type, "blackhole") ? RT_BLACKHOLE
			 : !strcmp(type, "prohibit") ? RT_PROHIBIT : RT_UNREACHABLE;
		const char *mark = item_get(m, it, "routing-mark");
		r.mark = mark && *mark ? name_intern(NS_MARK, mark) : 0;
		const char *gw = item_get(m, it, "gateway");
		if (r.type == RT_UNICAST) {
			if (!gw || !*gw)
				continue;
			char g[64];
			snprintf(g, sizeof(g), "%s", gw);
			char *comma = strchr(g, ','); /* the first gateway of a list */
			if (comma)
				*comma = 0;
			uint32_t gwa;
			if (parse_ip4(g, &gwa) == 0) {
				r.gw = gwa;
				/* reachable through a connected network? */
				for (size_t k = 0; k < en->naddrs; k++) {
					const struct if_addr *a = &en->addrs[k];
					uint32_t mask = prefix4_mask(a->len);
					if ((gwa & mask) == (a->addr & mask)) {
						r.ifid = a->ifid;
						break;
					}
				}
				if (!r.ifid)
					continue; /* gateway unreachable: route inactive */
			} else if (iface_up(st, g)) {
				r.ifid = (uint16_t)name_intern(NS_IFACE, g);
			} else {
				continue;
			}
		}
		en->routes[en->nroutes++] = r;
	}
	qsort(en->routes, en->nroutes, sizeof(*en->routes), cmp_route);
}

/* ---- IPv6 addressing ---- */

static bool prefix6_match(const uint8_t *a, const uint8_t *net, unsigned len)
{
	unsigned full = len / 8, rest = len % 8;
	if (memcmp(a, net, full))
		return false;
	return !rest || ((a[full] ^ net[full]) & (uint8_t)(0xff << (8 - rest))) == 0;
}

static void prefix6_clear(uint8_t *a, unsigned len)
{
	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)len - 8 * (int)i;
		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* "addr/len", or a bare address with length dflt. */
static int parse_prefix6(const char *s, uint8_t a[16], int *len, int dflt)
{
	char ip[48];
	const char *slash = strchr(s, '/');
	size_t n = slash ? (size_t)(slash - s) : strlen(s);
	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = 0;
	if (parse_ip6(ip, a) < 0)
		return -1;
	*len = dflt;
	if (slash) {
		char *end;
		long l = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || l < 0 || l > 128)
			return -1;
		*len = (int)l;
	}
	return 0;
}

static bool link_local6(const uint8_t *a)
{
	return a[0] == 0xfe && (a[1] & 0xc0) == 0x80;
}

/* Interface menus whose items are interfaces with a hardware address. */
static bool iface_menu(const struct menu *m)
{
	return !strncmp(m->path, "/interface/", 11) && m->key && !(m->flags & MF_RUNTIME) &&
	       schema_prop(m, "mac-address", NULL) >= 0;
}

/* The interface's MAC address; virtual interfaces (sim, trace) and bridges
 * without one get a locally administered address made from the name. */
static void iface_mac(struct store *st, const char *name, uint8_t mac[6])
{
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		const struct item *it = iface_menu(m) ? store_by_key(st, m, name) : NULL;
		if (!it)
			continue;
		const char *v = item_get(m, it, "mac-address");
		if (v && parse_mac(v, mac) == 0)
			return;
		break;
	}
	uint32_t h = 2166136261u;
	for (const char *c = name; *c; c++)
		h = (h ^ (uint8_t)*c) * 16777619u;
	mac[0] = 0x02;
	mac[1] = 0x00;
	put32(mac + 2, h);
}

/* The modified EUI-64 interface identifier of a MAC address (RFC 4291). */
static void eui64(const uint8_t mac[6], uint8_t id[8])
{
	id[0] = mac[0] ^ 0x02;
	id[1] = mac[1];
	id[2] = mac[2];
	id[3] = 0xff;
	id[4] = 0xfe;
	id[5] = mac[3];
	id[6] = mac[4];
	id[7] = mac[5];
}

static void addr6_push(struct engine *en, size_t *cap, const struct if_addr6 *a)
{
	if (en->naddrs6 == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		en->addrs6 = xrealloc(en->addrs6, *cap * sizeof(*en->addrs6));
	}
	en->addrs6[en->naddrs6++] = *a;
}

/*
 * /ipv6/address, then a link-local address fe80::EUI-64/64 on every enabled
 * interface (RouterOS shows those as dynamic addresses). advertise and
 * no-dad concern router advertisements and DAD, which the engine does not
 * do; eui-64=yes replaces the last 64 bits by the interface identifier.
 */
static void load_addresses6(struct engine *en, struct store *st)
{
	const struct menu *m = schema_find("/ipv6/address");
	size_t n = m ? store_count(st, m) : 0, cap = 0;
	free(en->addrs6);
	en->addrs6 = NULL;
	en->naddrs6 = 0;
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		const char *a = item_get(m, it, "address"), *ifn = item_get(m, it, "interface");
		if (disabled(m, it) || !a || !ifn || !iface_up(st, ifn))
			continue;
		struct if_addr6 x = { .ifid = (uint16_t)name_intern(NS_IFACE, ifn) };
		int len;
		if (parse_prefix6(a, x.addr, &len, 64) < 0)
			continue;
		const char *e64 = item_get(m, it, "eui-64");
		if (e64 && !strcmp(e64, "yes")) {
			uint8_t mac[6];
			if (len > 64)
				continue; /* no room for an interface identifier */
			iface_mac(st, ifn, mac);
			eui64(mac, x.addr + 8);
		}
		x.len = (uint8_t)len;
		x.link_local = link_local6(x.addr);
		addr6_push(en, &cap, &x);
	}
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *im = schema_menus[i];
		if (!iface_menu(im))
			continue;
		for (size_t k = 0; k < store_count(st, im); k++) {
			const struct item *it = store_at(st, im, k);
			const char *name = item_get(im, it, im->key);
			if (!name || disabled(im, it))
				continue;
			struct if_addr6 x = { .addr = { 0xfe, 0x80 }, .len = 64, .link_local = true,
					      .ifid = (uint16_t)name_intern(NS_IFACE, name) };
			uint8_t mac[6];
			iface_mac(st, name, mac);
			eui64(mac, x.addr + 8);
			addr6_push(en, &cap, &x);
		}
	}
}

static int cmp_route6(const void *a, const void *b)
{
	const struct route6 *x = a, *y = b;
	if (x->len != y->len)
		return y->len - x->len;
	return x->distance - y->distance;
}

/* The interface of a connected network that holds addr, 0 if none. */
static uint16_t connected6(const struct engine *en, const uint8_t *addr)
{
	for (size_t i = 0; i < en->naddrs6; i++) {
		const struct if_addr6 *a = &en->addrs6[i];
		if (!a->link_local && prefix6_match(addr, a->addr, a->len))
			return a->ifid;
	}
	return 0;
}

/*
 * Connected networks of the global addresses, and /ipv6/route. A gateway
 * is an address reached through a connected network, an address with its
 * interface (fe80::1%ether1: a link-local gateway needs one), or an
 * interface (the destination is on that link). Routes whose gateway cannot
 * be reached are inactive. IPv6 has no routing marks in RouterOS v6.
 */
static void load_routes6(struct engine *en, struct store *st)
{
	const struct menu *m = schema_find("/ipv6/route");
	size_t n = m ? store_count(st, m) : 0;
	free(en->routes6);
	en->routes6 = xcalloc(n + en->naddrs6 + 1, sizeof(*en->routes6));
	en->nroutes6 = 0;
	for (size_t i = 0; i < en->naddrs6; i++) {
		const struct if_addr6 *a = &en->addrs6[i];
		if (a->link_local)
			continue; /* link-local destinations never take a route */
		struct route6 r = { .len = a->len, .connected = true, .ifid = a->ifid };
		memcpy(r.net, a->addr, 16);
		prefix6_clear(r.net, r.len);
		en->routes6[en->nroutes6++] = r;
	}
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		if (disabled(m, it))
			continue;
		struct route6 r = { 0 };
		const char *dst = item_get(m, it, "dst-address");
		int len;
		if (parse_prefix6(dst ? dst : "::/0", r.net, &len, 128) < 0)
			continue;
		r.len = (uint8_t)len;
		prefix6_clear(r.net, r.len);
		const char *d = item_get(m, it, "distance");
		r.distance = (uint8_t)(d ? atoi(d) : 1);
		const char *type = item_get(m, it, "type");
		r.type = !type || !strcmp(type, "unicast") ? RT_UNICAST
			 : !strcmp(type, "blackhole") ? RT_BLACKHOLE
			 : !strcmp(type, "prohibit") ? RT_PROHIBIT : RT_UNREACHABLE;
		if (r.type == RT_UNICAST) {
			const char *gw = item_get(m, it, "gateway");
			if (!gw || !*gw)
				continue;
			char g[128];
			snprintf(g, sizeof(g), "%s", gw);
			char *pct = strchr(g, '%');
			if (pct)
				*pct++ = 0;
			if (!pct && !strchr(g, ':')) { /* an interface */
				if (!iface_up(st, g))
					continue;
				r.ifid = (uint16_t)name_intern(NS_IFACE, g);
			} else {
				if (parse_ip6(g, r.gw) < 0)
					continue;
				r.has_gw = true;
				if (pct) {
					if (!iface_up(st, pct))
						continue;
					r.ifid = (uint16_t)name_intern(NS_IFACE, pct);
				} else if (link_local6(r.gw) || !(r.ifid = connected6(en, r.gw))) {
					continue; /* gateway unreachable: route inactive */
				}
			}
		}
		en->routes6[en->nroutes6++] = r;
	}
	qsort(en->routes6, en->nroutes6, sizeof(*en->routes6), cmp_route6);
}

int engine_load(struct engine *en, struct store *st, struct err *e)
{
	struct ruleset *rs;
	if (ruleset_compile(st, &rs, e) < 0)
		return -1;
	struct ct_config c;
	load_ct_config(st, &c);
	ct_set_config(en->ct, &c);
	load_addresses(en, st);
	load_routes(en, st);
	load_addresses6(en, st);
	load_routes6(en, st);
	cth_load(en->cth, st);
	ruleset_free(en->rs);
	en->rs = rs;
	memset(en->hooks, 0, sizeof(en->hooks));
	for (unsigned f = 0; f < 2; f++)
		for (unsigned t = 0; t < RT_MAX; t++)
			for (unsigned h = 0; h < RH_MAX; h++)
				if (rs_hook_used(rs, f ? 6 : 4, (enum rs_table)t, (enum rs_hook)h))
					en->hooks[f][t] |= (uint16_t)(1u << h);
	if (++en->flow_gen == 0) { /* 0 marks an empty slot: start over */
		en->flow_gen = 1;
		if (en->flows)
			memset(en->flows, 0, FLOW_SETS * sizeof(*en->flows));
	}
	en->has_fasttrack = false;
	const struct menu *fm = schema_find("/ip/firewall/filter");
	for (size_t i = 0; fm && i < store_count(st, fm); i++) {
		const struct item *it = store_at(st, fm, i);
		const char *a = item_get(fm, it, "action");
		if (a && !strcmp(a, "fasttrack-connection") && !disabled(fm, it))
			en->has_fasttrack = true;
	}
	if (en->has_fasttrack && !en->flows)
		flows_alloc(en); /* else on the first flow learnt */
	return 0;
}

void engine_set_trace(struct engine *en, engine_trace_fn fn, void *ctx)
{
	en->trace = fn;
	en->trace_ctx = ctx;
}

void engine_set_utc_offset(struct engine *en, int32_t seconds)
{
	en->utc_off = seconds;
}

struct ct_table *engine_ct(struct engine *en)
{
	return en->ct;
}

struct rs_state *engine_rule_state(struct engine *en)
{
	return en->rst;
}

uint64_t engine_drops(const struct engine *en, enum drop_reason r)
{
	return r < DR_MAX ? en->drops[r] : 0;
}

uint64_t engine_fast_hits(const struct engine *en)
{
	return en->fast_hits;
}

uint32_t engine_if_addr(const struct engine *en, uint16_t ifid)
{
	for (size_t i = 0; i < en->naddrs; i++)
		if (en->addrs[i].ifid == ifid)
			return en->addrs[i].addr;
	return 0;
}

bool engine_per_packet_rules(const struct engine *en)
{
	return ruleset_per_packet(en->rs);
}

bool engine_is_local(const struct engine *en, uint32_t addr)
{
	for (size_t i = 0; i < en->naddrs; i++)
		if (en->addrs[i].addr == addr)
			return true;
	return false;
}

/* A broadcast route of the router's subnets, as RouterOS v6's Linux puts
 * in its local table for every address of a prefix up to /30: the subnet's
 * broadcast address and its network address. */
static inline bool bcast_of(const struct if_addr *x, uint32_t a)
{
	if (x->len > 30) /* and a shift by 32 (a /32) would be undefined */
		return false;
	uint32_t host = 0xffffffffu >> x->len;
	return a == (x->addr | host) || a == (x->addr & ~host);
}

static bool is_bcast4(const struct engine *en, uint32_t a)
{
	for (size_t i = 0; i < en->naddrs; i++)
		if (bcast_of(&en->addrs[i], a))
			return true;
	return false;
}

static bool is_bcast_cb(void *ctx, uint32_t addr)
{
	return is_bcast4(ctx, addr);
}

bool engine_is_local6(const struct engine *en, const uint8_t addr[16])
{
	for (size_t i = 0; i < en->naddrs6; i++)
		if (!memcmp(en->addrs6[i].addr, addr, 16))
			return true;
	return false;
}

bool engine_is_local6_on(const struct engine *en, uint16_t ifid, const uint8_t addr[16])
{
	for (size_t i = 0; i < en->naddrs6; i++)
		if (en->addrs6[i].ifid == ifid && !memcmp(en->addrs6[i].addr, addr, 16))
			return true;
	return false;
}

bool engine_link_local(const struct engine *en, uint16_t ifid, uint8_t addr[16])
{
	for (size_t i = 0; i < en->naddrs6; i++)
		if (en->addrs6[i].ifid == ifid && en->addrs6[i].link_local) {
			memcpy(addr, en->addrs6[i].addr, 16);
			return true;
		}
	return false;
}

size_t engine_addrs6(const struct engine *en, struct engine_addr6 *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < en->naddrs6 && n < max; i++) {
		memcpy(out[n].addr, en->addrs6[i].addr, 16);
		out[n].len = en->addrs6[i].len;
		out[n].link_local = en->addrs6[i].link_local;
		out[n].ifid = en->addrs6[i].ifid;
		n++;
	}
	return n;
}

static bool is_local_cb(void *ctx, uint32_t addr)
{
	return engine_is_local(ctx, addr);
}

static bool is_local6_cb(void *ctx, const uint8_t addr[16])
{
	return engine_is_local6(ctx, addr);
}

/* connection-limit: a listed connection counts while conntrack has it and
 * it is not closing (xt_connlimit's already_closed) */
static bool conn_live_cb(void *ctx, const struct ct_tuple *orig)
{
	unsigned dir;
	const struct ct_entry *e = ct_find(((struct engine *)ctx)->ct, orig, &dir);
	return e && dir == 0 &&
	       !(orig->proto == IPPROTO_TCP_ && (e->tcp_state == TCP_CONNTRACK_TIME_WAIT ||
						 e->tcp_state == TCP_CONNTRACK_CLOSE));
}

void engine_tick(struct engine *en, uint64_t now)
{
	ct_expire(en->ct, now, 4096);
	frag_expire(en->frag, now);
}

/* ---- routing ---- */

static const struct route *route_lookup(const struct engine *en, uint32_t dst, uint32_t mark)
{
	/* a routing mark looks in its own table first, then in main */
	for (int pass = mark ? 0 : 1; pass < 2; pass++) {
		uint32_t want = pass == 0 ? mark : 0;
		for (size_t i = 0; i < en->nroutes; i++) {
			const struct route *r = &en->routes[i];
			uint32_t m = prefix4_mask(r->len);
			if ((dst & m) == r->net && (r->connected ? want == 0 : r->mark == want))
				return r;
		}
	}
	return NULL;
}

uint16_t engine_route_if(const struct engine *en, uint32_t dst)
{
	for (size_t i = 0; i < en->naddrs; i++) {
		const struct if_addr *a = &en->addrs[i];
		uint32_t mask = prefix4_mask(a->len);
		if (a->len < 31 && (dst & mask) == (a->addr & mask) &&
		    ((dst & ~mask) == 0 || (dst | mask) == 0xffffffffu))
			return 0;
	}
	const struct route *r = route_lookup(en, dst, 0);
	return r && r->type == RT_UNICAST ? r->ifid : 0;
}

/* ---- NAT ---- */

static uint32_t pick_addr(const struct rs_nat *n, uint32_t fallback, uint32_t hash)
{
	if (!n->addr_lo)
		return fallback;
	uint32_t span = n->addr_hi >= n->addr_lo ? n->addr_hi - n->addr_lo + 1 : 1;
	return n->addr_lo + (span > 1 ? hash % span : 0);
}

static uint32_t tuple_hash(const struct pkt *p)
{
	uint32_t h = p->src.v4 * 2654435761u;
	h ^= p->dst.v4 + 0x9e3779b9u + (h << 6) + (h >> 2);
	return h ^ ((uint32_t)p->sport << 16 | p->dport);
}

static bool has_ports(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 132 || proto == 33 || proto == 136;
}

/*
 * Chooses the source port for a source translation so that the reply tuple
 * is unique: the original port when free, else the next free one of the
 * range (to-ports, or 1024-65535), starting at a rover.
 */
static int alloc_port(struct engine *en, struct ct_entry *ce, uint32_t new_src, uint16_t lo,
		      uint16_t hi, uint16_t *port)
{
	struct ct_tuple r;
	ct_entry_tuple(ce, 1, &r);
	r.dst.v4 = new_src;
	uint16_t orig = ce->t[0].sport;
	if (!lo && !hi) {
		lo = orig < 1024 ? 1 : 1024;
		hi = orig < 1024 ? 1023 : 65535;
	}
	if (orig >= lo && orig <= hi) {
		r.dport = orig;
		if (!ct_reply_taken(en->ct, &r)) {
			*port = orig;
			return 0;
		}
	}
	uint32_t span = (uint32_t)hi - lo + 1;
	uint32_t start = en->nat_rover++ % span;
	for (uint32_t k = 0; k < span; k++) {
		uint16_t cand = (uint16_t)(lo + (start + k) % span);
		r.dport = cand;
		if (!ct_reply_taken(en->ct, &r)) {
			*port = cand;
			return 0;
		}
	}
	return -1;
}

/* dstnat of a connection's first packet */
static void nat_dst(struct engine *en, struct pkt *p, const struct rs_nat *n)
{
	struct ct_entry *ce = p->ct;
	uint32_t addr = p->dst.v4;
	uint16_t port = p->dport;
	switch (n->kind) {
	case NAT_DST:
		addr = pick_addr(n, addr, tuple_hash(p));
		break;
	case NAT_REDIRECT:
		addr = engine_if_addr(en, p->in_if);
		if (!addr)
			addr = 0x7f000001;
		break;
	case NAT_NETMAP: {
		uint32_t span = n->addr_hi - n->addr_lo;
		uint32_t mask = ~span;
		addr = (n->addr_lo & mask) | (p->dst.v4 & span);
		break;
	}
	default:
		return;
	}
	if (n->port_lo && has_ports(p->proto))
		port = (uint16_t)(n->port_lo + (n->port_hi > n->port_lo
						? tuple_hash(p) % (n->port_hi - n->port_lo + 1u) : 0));
	ce->t[1].src = addr;
	ce->t[1].sport = has_ports(p->proto) ? port : ce->t[1].sport;
	ce->status |= CTS_DSTNAT;
	pkt_set_dst(p, addr, has_ports(p->proto) ? port : p->dport);
	char a[20];
	ip4s(addr, a, sizeof(a));
	tracef(en, "nat dstnat", "destination translated to %s:%u", a, port);
}

/* srcnat of a connection's first packet; -1 when no port is free */
static int nat_src(struct engine *en, struct pkt *p, const struct rs_nat *n)
{
	struct ct_entry *ce = p->ct;
	uint32_t addr = p->src.v4;
	switch (n->kind) {
	case NAT_MASQUERADE:
		addr = engine_if_addr(en, p->out_if);
		if (!addr)
			return 0; /* no address on the out-interface: nothing to do */
		break;
	case NAT_SRC:
	case NAT_SAME:
		addr = pick_addr(n, addr, n->kind == NAT_SAME ? p->src.v4 * 2654435761u
							       : tuple_hash(p));
		break;
	case NAT_NETMAP: {
		uint32_t span = n->addr_hi - n->addr_lo;
		addr = (n->addr_lo & ~span) | (p->src.v4 & span);
		break;
	}
	default:
		return 0;
	}
	uint16_t port = p->sport;
	if (has_ports(p->proto)) {
		if (alloc_port(en, ce, addr, n->port_lo, n->port_hi, &port) < 0)
			return -1;
	} else if (p->proto == 1 || p->proto == 58) {
		struct ct_tuple r;
		ct_entry_tuple(ce, 1, &r);
		r.dst.v4 = addr;
		if (ct_reply_taken(en->ct, &r)) { /* another host's echo with the same id */
			uint16_t id = p->sport;
			for (uint32_t k = 1; k < 65536; k++) {
				r.sport = r.dport = (uint16_t)(id + k);
				if (!ct_reply_taken(en->ct, &r)) {
					port = (uint16_t)(id + k);
					break;
				}
			}
		}
	}
	ce->t[1].dst = addr;
	if (has_ports(p->proto))
		ce->t[1].dport = port;
	else if (p->proto == 1 || p->proto == 58)
		ce->t[1].sport = ce->t[1].dport = port;
	ce->status |= CTS_SRCNAT;
	pkt_set_src(p, addr, port);
	char a[20];
	ip4s(addr, a, sizeof(a));
	tracef(en, "nat srcnat", "source translated to %s:%u", a, port);
	return 0;
}

/* The bindings of an existing connection, at prerouting (destination side). */
static void nat_binding_pre(struct engine *en, struct pkt *p)
{
	struct ct_entry *ce = p->ct;
	if (!ce || p->family != 4)
		return;
	if (p->ct_state == CT_RELATED && (p->flags & PKT_F_ICMP_ERR)) {
		/* an ICMP error about a translated connection: both headers go back */
		if ((ce->status & CTS_SRCNAT) && p->dst.v4 == ce->t[1].dst) {
			pkt_set_dst(p, ce->t[0].src, p->dport);
			pkt_set_inner_src(p, ce->t[0].src, ce->t[0].sport);
		}
		return;
	}
	if (p->ct_dir == 0 && (ce->status & CTS_DSTNAT))
		pkt_set_dst(p, ce->t[1].src, ce->t[1].sport);
	else if (p->ct_dir == 1 && (ce->status & CTS_SRCNAT))
		pkt_set_dst(p, ce->t[0].src, ce->t[0].sport);
}

/* ... and at postrouting (source side). */
static void nat_binding_post(struct engine *en, struct pkt *p)
{
	struct ct_entry *ce = p->ct;
	if (!ce || p->family != 4)
		return;
	if (p->ct_state == CT_RELATED && (p->flags & PKT_F_ICMP_ERR)) {
		if ((ce->status & CTS_DSTNAT) && p->src.v4 == ce->t[1].src) {
			pkt_set_src(p, ce->t[0].dst, p->sport);
			pkt_set_inner_dst(p, ce->t[0].dst, ce->t[0].dport);
		}
		return;
	}
	if (p->ct_dir == 0 && (ce->status & CTS_SRCNAT))
		pkt_set_src(p, ce->t[1].dst, ce->t[1].dport);
	else if (p->ct_dir == 1 && (ce->status & CTS_DSTNAT))
		pkt_set_src(p, ce->t[0].dst, ce->t[0].dport);
}

/* An ICMP error the router itself sends about a packet of a translated
 * connection, quoting that packet as it left (translated) and addressed to
 * its source there: to the untranslated sender instead, quoting the packet
 * as the sender knows it, as Linux's NAT does at LOCAL_OUT. The quoted
 * packet went the other way than the error's own direction. */
static void nat_own_error(struct pkt *p)
{
	struct ct_entry *ce = p->ct;
	if (!ce || p->family != 4 || p->ct_state != CT_RELATED || !(p->flags & PKT_F_ICMP_ERR) ||
	    !(ce->status & (CTS_SRCNAT | CTS_DSTNAT)) || p->dst.v4 != p->inner.src.v4)
		return;
	const struct ct_ends *t = &ce->t[1 - p->ct_dir];
	pkt_set_dst(p, t->src, p->dport);
	pkt_set_inner_src(p, t->src, t->sport);
	pkt_set_inner_dst(p, t->dst, t->dport);
}

/* ---- replies the router generates (reject, unreachable routes, TTL) ---- */

/* An ICMP or ICMPv6 error header at l4 quoting n bytes of the offender;
 * its length (the checksum is filled by the caller). */
static size_t icmp_quote(uint8_t *l4, uint8_t type, uint8_t code, const uint8_t *offender,
			 size_t n)
{
	memset(l4, 0, 8);
	l4[0] = type;
	l4[1] = code;
	memcpy(l4 + 8, offender, n);
	return 8 + n;
}

/* The TCP reset that answers p (RFC 793 "Reset Generation"), at l4. */
static void fill_rst(const struct pkt *p, uint8_t *l4)
{
	memset(l4, 0, 20);
	put16(l4, p->dport);
	put16(l4 + 2, p->sport);
	uint32_t seglen = p->payload_len + ((p->tcp_flags & TCPF_SYN) ? 1 : 0) +
			  ((p->tcp_flags & TCPF_FIN) ? 1 : 0);
	if (p->tcp_flags & TCPF_ACK) {
		put32(l4 + 4, p->ack);
		l4[13] = TCPF_RST;
	} else {
		put32(l4 + 8, p->seq + seglen);
		l4[13] = TCPF_RST | TCPF_ACK;
	}
	l4[12] = 5 << 4;
}

/* The reply frame is complete: parse it once to fix its checksums. */
static void reply_done(const struct pkt *p, size_t len, struct engine_out *out)
{
	out->reply_len = (uint32_t)len;
	struct pkt r = { .data = out->reply, .len = out->reply_len, .cap = ENGINE_MAX_REPLY };
	pkt_parse(&r, true, false);
	pkt_fix_checksums(&r);
	out->reply_if = p->in_if;
}

/*
 * A TCP reset comes from the address the peer tried to reach, as Linux's
 * REJECT --reject-with tcp-reset sends it; an ICMP error from the router:
 * that address when it is the router's, else the in-interface's.
 */
static void build_reply4(struct engine *en, const struct pkt *p, uint8_t type, uint8_t code,
			 bool tcp_reset, struct engine_out *out)
{
	uint8_t *b = out->reply;
	memcpy(b, p->src_mac, 6);
	memcpy(b + 6, p->dst_mac, 6);
	put16(b + 12, 0x0800);
	uint8_t *ip = b + 14;
	uint32_t src = tcp_reset || engine_is_local(en, p->dst.v4) ? p->dst.v4
								  : engine_if_addr(en, p->in_if);
	if (!src)
		src = p->dst.v4;
	size_t l4len;
	uint8_t *l4 = ip + 20;
	if (tcp_reset) {
		fill_rst(p, l4);
		l4len = 20;
	} else {
		size_t quote = (size_t)(p->l4_off - p->l3_off) + 8;
		if (quote > p->len - p->l3_off)
			quote = p->len - p->l3_off;
		l4len = icmp_quote(l4, type, code, p->data + p->l3_off, quote);
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = tcp_reset ? 6 : 1;
	put32(ip + 12, src);
	put32(ip + 16, p->src.v4);
	reply_done(p, 14 + 20 + l4len, out);
}

/* The source of an ICMPv6 error (RFC 4443 2.2): the destination when it is
 * the router's, else an address on the in-interface of the scope of the
 * offender's source, else any of that scope, else any on the in-interface. */
static void reply_src6(const struct engine *en, const struct pkt *p, uint8_t src[16])
{
	if (engine_is_local6(en, p->dst.v6)) {
		memcpy(src, p->dst.v6, 16);
		return;
	}
	bool ll = link_local6(p->src.v6);
	for (int pass = 0; pass < 3; pass++)
		for (size_t i = 0; i < en->naddrs6; i++) {
			const struct if_addr6 *a = &en->addrs6[i];
			bool on_if = a->ifid == p->in_if, scope = a->link_local == ll;
			if (pass == 0 ? on_if && scope : pass == 1 ? scope && !ll : on_if) {
				memcpy(src, a->addr, 16);
				return;
			}
		}
	memcpy(src, p->dst.v6, 16);
}

static bool unspecified6(const uint8_t *a)
{
	static const uint8_t zero[16];
	return !memcmp(a, zero, 16);
}

static void build_reply6(struct engine *en, const struct pkt *p, uint8_t type, uint8_t code,
			 bool tcp_reset, struct engine_out *out)
{
	/* RFC 4443 2.4 (e): no error about an error or a redirect, about a
	 * packet to a multicast group, or to a source that names no one */
	if (p->dst.v6[0] == 0xff || p->src.v6[0] == 0xff || unspecified6(p->src.v6))
		return;
	if (!tcp_reset && p->proto == IPPROTO_ICMPV6_ &&
	    (!(p->flags & PKT_F_L4) || p->icmp_type < 128 || p->icmp_type == 137))
		return;
	uint8_t *b = out->reply;
	memcpy(b, p->src_mac, 6);
	memcpy(b + 6, p->dst_mac, 6);
	put16(b + 12, 0x86dd);
	uint8_t *ip = b + 14, *l4 = ip + 40;
	size_t l4len;
	if (tcp_reset) {
		fill_rst(p, l4);
		l4len = 20;
	} else {
		/* as much of the offender as fits in the minimum MTU */
		size_t quote = p->len - p->l3_off;
		if (quote > p->ip_len)
			quote = p->ip_len;
		if (quote > 1280 - 48)
			quote = 1280 - 48;
		l4len = icmp_quote(l4, type, code, p->data + p->l3_off, quote);
	}
	memset(ip, 0, 40);
	ip[0] = 0x60;
	put16(ip + 4, (uint16_t)l4len);
	ip[6] = tcp_reset ? IPPROTO_TCP_ : IPPROTO_ICMPV6_;
	ip[7] = 64;
	if (tcp_reset)
		memcpy(ip + 8, p->dst.v6, 16);
	else
		reply_src6(en, p, ip + 8);
	memcpy(ip + 24, p->src.v6, 16);
	reply_done(p, 14 + 40 + l4len, out);
}

static void build_reply(struct engine *en, const struct pkt *p, uint8_t type, uint8_t code,
			bool tcp_reset, struct engine_out *out)
{
	if (p->family == 4)
		build_reply4(en, p, type, code, tcp_reset, out);
	else
		build_reply6(en, p, type, code, tcp_reset, out);
}

bool engine_icmp6_too_big(struct engine *en, const struct pkt *p, uint32_t mtu,
			  struct engine_out *out)
{
	out->reply_len = 0;
	if (p->family != 6 || p->len <= p->l3_off)
		return false;
	build_reply6(en, p, 2, 0, false, out);
	if (!out->reply_len)
		return false;
	uint8_t *icmp = out->reply + 14 + 40, *quoted = icmp + 8;
	put32(icmp + 4, mtu);
	/* quoted as it arrived: the hop the forwarding step took off is given back */
	if (out->reply_len >= 14 + 40 + 8 + 8 && quoted[7] < 255)
		quoted[7]++;
	reply_done(p, out->reply_len, out);
	return true;
}

/* Whether an IPv4 packet may be answered with an ICMP error (RFC 1812
 * 4.3.2.7): not an ICMP error itself (only echo, timestamp, information
 * and address mask messages are queries), not a later fragment, not to a
 * group or broadcast, not from an address that names no single host. */
static bool may_answer4(const struct pkt *p)
{
	uint32_t s = p->src.v4, d = p->dst.v4;
	if (p->proto == 1 && (!(p->flags & PKT_F_L4) ||
			      (p->icmp_type != 0 && p->icmp_type != 8 && p->icmp_type != 13 &&
			       p->icmp_type != 14 && p->icmp_type != 15 && p->icmp_type != 16 &&
			       p->icmp_type != 17 && p->icmp_type != 18)))
		return false;
	if (p->frag_off)
		return false;
	return (d >> 28) < 0xe && d != 0xffffffffu && s && (s >> 28) < 0xe && (s >> 24) != 127;
}

bool engine_icmp_host_unreach(struct engine *en, const struct pkt *p, struct engine_out *out)
{
	out->reply_len = 0;
	if (p->len <= p->l3_off || (p->family == 4 && !may_answer4(p)))
		return false;
	if (p->family == 4)
		build_reply4(en, p, 3, 1, false, out);
	else
		build_reply6(en, p, 1, 3, false, out);
	return out->reply_len > 0;
}

/* Errors the forwarding path sends, as ICMP and ICMPv6 type and code. */
enum fwd_error { FE_NO_ROUTE, FE_PROHIBIT, FE_TTL, FE_SCOPE };

static void error_reply(struct engine *en, const struct pkt *p, enum fwd_error why,
			struct engine_out *out)
{
	static const uint8_t v4[][2] = { [FE_NO_ROUTE] = { 3, 0 }, [FE_PROHIBIT] = { 3, 13 },
					 [FE_TTL] = { 11, 0 }, [FE_SCOPE] = { 3, 0 } };
	static const uint8_t v6[][2] = { [FE_NO_ROUTE] = { 1, 0 }, [FE_PROHIBIT] = { 1, 1 },
					 [FE_TTL] = { 3, 0 }, [FE_SCOPE] = { 1, 2 } };
	const uint8_t *tc = p->family == 6 ? v6[why] : v4[why];
	build_reply(en, p, tc[0], tc[1], false, out);
}

static void reject_reply(struct engine *en, const struct pkt *p, uint8_t with,
			 struct engine_out *out)
{
	static const uint8_t codes[] = { [REJ_NET_UNREACH] = 0, [REJ_HOST_UNREACH] = 1,
					 [REJ_PORT_UNREACH] = 3, [REJ_PROTO_UNREACH] = 2,
					 [REJ_NET_PROHIBIT] = 9, [REJ_HOST_PROHIBIT] = 10,
					 [REJ_ADMIN_PROHIBIT] = 13 };
	/*
	 * ICMPv6 destination unreachable codes (RFC 4443 3.1). rules.h maps the
	 * /ipv6 reject-with names onto its IPv4 enum: icmp-no-route is
	 * NET_UNREACH (0), icmp-address-unreachable HOST_UNREACH (3),
	 * icmp-port-unreachable (4), icmp-admin-prohibited (1), and
	 * icmp-not-neighbour arrives as ADMIN_PROHIBIT, so it is sent as 1, not
	 * 2; the v6 menus offer no protocol-unreachable.
	 */
	static const uint8_t codes6[] = { [REJ_NET_UNREACH] = 0, [REJ_HOST_UNREACH] = 3,
					  [REJ_PORT_UNREACH] = 4, [REJ_PROTO_UNREACH] = 4,
					  [REJ_NET_PROHIBIT] = 1, [REJ_HOST_PROHIBIT] = 1,
					  [REJ_ADMIN_PROHIBIT] = 1 };
	if (with == REJ_TCP_RESET) {
		if (p->proto == IPPROTO_TCP_ && (p->flags & PKT_F_L4) && !(p->tcp_flags & TCPF_RST))
			build_reply(en, p, 0, 0, true, out);
		return;
	}
	if (p->family == 6) {
		build_reply(en, p, 1, with < sizeof(codes6) ? codes6[with] : 0, false, out);
		return;
	}
	/* never answer an ICMP error with an error */
	if (p->proto == 1 && (p->flags & PKT_F_ICMP_ERR))
		return;
	build_reply(en, p, 3, with < sizeof(codes) ? codes[with] : 0, false, out);
}

/* ---- the flow ---- */

static void rs_ctx_init(struct engine *en, struct rs_ctx *c, struct pkt *p, uint64_t now)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->state = en->rst;
	c->now = now;
	c->wall = (int64_t)(now / 1000000000ull) + en->utc_off;
	c->is_local = is_local_cb;
	c->is_local6 = is_local6_cb;
	c->is_bcast = is_bcast_cb;
	c->local_ctx = en;
	c->conn_live = conn_live_cb;
	c->conn_ctx = en;
	if (en->trace) {
		c->trace = rule_trace;
		c->trace_ctx = en;
	}
}

/* Runs a hook of a table; true when the packet goes on. */
static bool hook(struct engine *en, struct pkt *p, enum rs_table t, enum rs_hook h,
		 uint64_t now, struct rs_verdict *v, struct engine_out *out)
{
	memset(v, 0, sizeof(*v));
	if (!(en->hooks[p->family == 6][t] & (1u << h)))
		return true;
	struct rs_ctx c;
	rs_ctx_init(en, &c, p, now);
	rs_run(en->rs, t, h, &c, v);
	switch (v->action) {
	case RA_DROP:
	case RA_TARPIT:
		out->verdict = EV_DROP;
		out->reason = t == RT_RAW ? DR_RAW : v->action == RA_TARPIT ? DR_TARPIT : DR_FILTER;
		out->table = t;
		out->rule_id = v->rule_id;
		return false;
	case RA_REJECT:
		out->verdict = EV_REJECT;
		out->reason = DR_REJECT;
		out->table = t;
		out->rule_id = v->rule_id;
		reject_reply(en, p, v->reject_with, out);
		return false;
	case RA_ACCEPT:
		/* an accept decides only in filter and raw; mangle's ends its chain */
		if (t == RT_FILTER || t == RT_RAW) {
			out->table = t;
			out->rule_id = v->rule_id;
		}
		return true;
	default:
		return true;
	}
}

static void finish_drop(struct engine *en, struct pkt *p, struct engine_out *out)
{
	en->drops[out->reason]++;
	if (p->ct && !(p->ct->status & CTS_CONFIRMED))
		ct_discard(en->ct, p);
	tracef(en, "verdict", "%s (%s)%s", ev_name(out->verdict), pkt_reason_name(out->reason),
	       out->rule_id ? "" : "");
}

static void confirm(struct engine *en, struct pkt *p, struct engine_out *out)
{
	if (p->ct && !(p->ct->status & CTS_CONFIRMED) && ct_confirm(en->ct, p, p->ts) < 0) {
		out->verdict = EV_DROP;
		out->reason = DR_CT_FULL;
		out->rule_id = 0;
		finish_drop(en, p, out);
		return;
	}
	if (p->ct && p->ct->helper && !cth_out(en->cth, en->ct, p, p->ts)) {
		out->verdict = EV_DROP;
		out->reason = DR_HELPER;
		out->rule_id = 0;
		finish_drop(en, p, out);
	}
}

/* The first packet of a connection (new, or related through a helper's
 * expectation): NAT rules decide its translation. */
static bool is_new(const struct pkt *p)
{
	return p->ct && !(p->ct->status & CTS_NAT_DONE);
}

/* Neighbour discovery: router and neighbour solicitation and advertisement,
 * redirect. */
static bool ndp(const struct pkt *p)
{
	return p->proto == IPPROTO_ICMPV6_ && (p->flags & PKT_F_L4) && p->icmp_type >= 133 &&
	       p->icmp_type <= 137;
}

/*
 * Is p for the router itself? IPv4: its addresses, the limited broadcast
 * and the broadcast routes of its subnets up to /30 (is_bcast4: Linux's
 * local table; a broadcast is the router's to take, through input, never
 * routed). IPv6: its addresses; every link-local destination, which is
 * never forwarded (RFC 4291 2.5.6), so one that reaches the router was sent
 * to it; multicast of interface- and link-local scope (all-nodes,
 * all-routers, solicited-node ...), which the router listens to.
 */
static bool for_router(const struct engine *en, const struct pkt *p)
{
	if (p->family == 4) {
		uint32_t d = p->dst.v4;
		for (size_t i = 0; i < en->naddrs; i++)
			if (en->addrs[i].addr == d || bcast_of(&en->addrs[i], d))
				return true;
		return d == 0xffffffffu;
	}
	const uint8_t *d = p->dst.v6;
	if (d[0] == 0xff)
		return (d[1] & 0x0f) <= 2;
	return link_local6(d) || engine_is_local6(en, d);
}

/* The drop of a packet the routing decision refuses. */
static bool no_route(struct engine *en, const struct pkt *p, uint8_t type, bool reply,
		     struct engine_out *out)
{
	out->verdict = EV_DROP;
	out->reason = type == RT_BLACKHOLE ? DR_BLACKHOLE : DR_NO_ROUTE;
	if (reply)
		error_reply(en, p, type == RT_PROHIBIT ? FE_PROHIBIT : FE_NO_ROUTE, out);
	return false;
}

/* The TTL (IPv4) or hop limit (IPv6, named by what) of a packet to
 * forward: one less, or the packet dies here with its ICMP error. */
static bool hop(struct engine *en, struct pkt *p, struct engine_out *out, const char *what)
{
	if (p->ttl <= 1) {
		out->verdict = EV_DROP;
		out->reason = DR_TTL_EXCEEDED;
		error_reply(en, p, FE_TTL, out);
		tracef(en, "routing", "%s exceeded", what);
		return false;
	}
	pkt_set_ttl(p, (uint8_t)(p->ttl - 1));
	return true;
}

/* Routing decision and TTL of an IPv4 packet to forward; false when it
 * is dropped (out says why and may hold the ICMP error). */
static bool route_forward4(struct engine *en, struct pkt *p, struct engine_out *out)
{
	char a[20], b[20];
	const struct route *r = route_lookup(en, p->dst.v4, p->routing_mark);
	if (!r || r->type != RT_UNICAST) {
		if (en->trace) {
			ip4s(p->dst.v4, b, sizeof(b));
			tracef(en, "routing", "%s for %s",
			       r ? "blackhole/unreachable route" : "no route", b);
		}
		return no_route(en, p, r ? r->type : RT_UNREACHABLE, !r || r->type != RT_BLACKHOLE,
				out);
	}
	p->out_if = r->ifid;
	out->out_if = r->ifid;
	out->nexthop = r->gw ? r->gw : p->dst.v4;
	if (en->trace)
		tracef(en, "routing", "via %s%s%s", name_of(NS_IFACE, r->ifid),
		       r->gw ? " gateway " : "", r->gw ? (ip4s(r->gw, a, sizeof(a)), a) : "");
	return hop(en, p, out, "TTL");
}

static const struct route6 *route6_lookup(const struct engine *en, const uint8_t *dst)
{
	for (size_t i = 0; i < en->nroutes6; i++)
		if (prefix6_match(dst, en->routes6[i].net, en->routes6[i].len))
			return &en->routes6[i];
	return NULL;
}

static void ip6s(const uint8_t *a, char *buf, size_t n)
{
	struct sbuf s = SBUF_INIT;
	format_ip6(a, &s);
	snprintf(buf, n, "%s", sbuf_str(&s));
	sbuf_free(&s);
}

/* The same for IPv6, with the hop limit. */
static bool route_forward6(struct engine *en, struct pkt *p, struct engine_out *out)
{
	const uint8_t *d = p->dst.v6, *s = p->src.v6;
	char a[48];
	/* nothing to route: multicast beyond the link (no multicast routing),
	 * the unspecified and loopback addresses, a multicast source */
	bool martian = d[0] == 0xff || s[0] == 0xff || (unspecified6(d) ||
			(!memcmp(d, (const uint8_t[16]){ 0 }, 15) && d[15] == 1));
	if (martian) {
		tracef(en, "routing", "not routable (multicast, unspecified or loopback)");
		return no_route(en, p, RT_UNREACHABLE, false, out);
	}
	/* a link-local source may not leave its link (RFC 4291 2.5.6) */
	if (link_local6(s)) {
		tracef(en, "routing", "link-local source: beyond scope");
		out->verdict = EV_DROP;
		out->reason = DR_NO_ROUTE;
		error_reply(en, p, FE_SCOPE, out);
		return false;
	}
	const struct route6 *r = route6_lookup(en, d);
	if (!r || r->type != RT_UNICAST) {
		if (en->trace) {
			ip6s(d, a, sizeof(a));
			tracef(en, "routing", "%s for %s",
			       r ? "blackhole/unreachable route" : "no route", a);
		}
		return no_route(en, p, r ? r->type : RT_UNREACHABLE, !r || r->type != RT_BLACKHOLE,
				out);
	}
	p->out_if = r->ifid;
	out->out_if = r->ifid;
	memcpy(out->nexthop6, r->has_gw ? r->gw : d, 16);
	if (en->trace) {
		ip6s(r->gw, a, sizeof(a));
		tracef(en, "routing", "via %s%s%s", name_of(NS_IFACE, r->ifid),
		       r->has_gw ? " gateway " : "", r->has_gw ? a : "");
	}
	return hop(en, p, out, "hop limit");
}

/* ---- FastTrack's flow cache ---- */

static inline struct flow_set *flow_set_of(const struct engine *en, uint32_t src, uint32_t dst,
					   uint16_t sport, uint16_t dport, uint8_t proto,
					   uint16_t in_if)
{
	uint64_t h = ((uint64_t)src << 32 | dst) ^ en->flow_k0;
	h *= 0x9e3779b97f4a7c15ull;
	h ^= ((uint64_t)sport << 48 | (uint64_t)dport << 32 | (uint64_t)proto << 16 | in_if) ^
	     en->flow_k1;
	h *= 0xc2b2ae3d27d4eb4full;
	return &en->flows[(h ^ h >> 29) >> (64 - FLOW_SETS_LOG)];
}

static inline bool flow_is(const struct engine *en, const struct flow *f, const struct pkt *p)
{
	return f->gen == en->flow_gen && f->src == p->src.v4 && f->dst == p->dst.v4 &&
	       f->sport == p->sport && f->dport == p->dport && f->proto == p->proto &&
	       f->in_if == p->in_if;
}

/* The flow of p in set, or NULL. */
static inline const struct flow *flow_find(const struct engine *en, const struct flow_set *set,
					   const struct pkt *p)
{
	for (unsigned w = 0; w < FLOW_WAYS; w++)
		if (flow_is(en, &set->way[w], p))
			return &set->way[w];
	return NULL;
}

/* Could p be forwarded by the cache? (What the cache never takes.) */
static inline bool fast_candidate(const struct pkt *p)
{
	if (p->family != 4 || (p->flags & (PKT_F_FRAGMENT | PKT_F_IPV4_OPTS)) ||
	    !(p->flags & PKT_F_L4) || p->ttl <= 1)
		return false;
	/* TCP: an ACK without SYN, FIN or RST (a segment without ACK is for
	 * the full path, where conntrack finds it invalid) */
	if (p->proto == IPPROTO_TCP_)
		return (p->tcp_flags & (TCPF_SYN | TCPF_FIN | TCPF_RST | TCPF_ACK)) == TCPF_ACK;
	return p->proto == 17;
}

/* The set p would be cached in, or NULL when the cache cannot take it. */
static inline struct flow_set *flow_set_for(const struct engine *en, const struct pkt *p)
{
	if (!en->flows || en->trace || !fast_candidate(p))
		return NULL;
	return flow_set_of(en, p->src.v4, p->dst.v4, p->sport, p->dport, p->proto, p->in_if);
}

static bool flows_alloc(struct engine *en)
{
	en->flows = aligned_alloc(128, FLOW_SETS * sizeof(*en->flows));
	if (en->flows)
		memset(en->flows, 0, FLOW_SETS * sizeof(*en->flows));
	return en->flows != NULL;
}

/* Is the way empty, or its connection gone? (Then it may be taken first.) */
static bool flow_dead(const struct engine *en, const struct flow *f, uint64_t now)
{
	if (f->gen != en->flow_gen)
		return true;
	const struct ct_entry *e = ct_fast_slot(en->ct, f->slot);
	return e->serial != f->serial || !(e->status & CTS_CONFIRMED) || e->expires <= now;
}

static bool flow_same(const struct engine *en, const struct flow *a, const struct flow *b)
{
	return a->gen == en->flow_gen && a->src == b->src && a->dst == b->dst &&
	       a->sport == b->sport && a->dport == b->dport && a->proto == b->proto &&
	       a->in_if == b->in_if;
}

/* After a fasttracked packet took the full path to a forward: its direction
 * of the connection goes into the cache. */
static void flow_learn(struct engine *en, const struct pkt *p, const struct engine_out *out)
{
	struct ct_entry *e = p->ct;
	if (p->family != 4 || (p->proto != IPPROTO_TCP_ && p->proto != 17) || !e ||
	    !(e->status & CTS_ASSURED) || p->routing_mark)
		return;
	if (!en->flows && !flows_alloc(en))
		return;
	const struct ct_ends *k = &e->t[p->ct_dir];
	struct flow_set *set = flow_set_of(en, k->src, k->dst, k->sport, k->dport, p->proto,
					   p->in_if);
	struct flow nf = { .src = k->src, .dst = k->dst, .sport = k->sport, .dport = k->dport,
			   .in_if = p->in_if, .proto = p->proto, .dir = p->ct_dir,
			   .out_if = out->out_if, .gen = en->flow_gen, .nexthop = out->nexthop,
			   .slot = e->self, .serial = e->serial };
	/* the newest first, the others down one; the way that makes room is
	 * the flow itself if there, else the first that holds nothing alive
	 * (empty, of an older engine_load, or its connection's slot now holds
	 * another or is past its time), else the last */
	unsigned w = 0;
	while (w < FLOW_WAYS - 1 && !flow_same(en, &set->way[w], &nf))
		w++;
	if (w == FLOW_WAYS - 1 && !flow_same(en, &set->way[w], &nf)) {
		for (unsigned i = 0; i < FLOW_WAYS; i++)
			if (flow_dead(en, &set->way[i], p->ts)) {
				w = i;
				break;
			}
	}
	memmove(&set->way[1], &set->way[0], w * sizeof(set->way[0]));
	set->way[0] = nf;
}

/* The cache's path for p, parsed without checksum checks, whose set is set
 * (flow_set_for); false: p takes the full path, unchanged. */
static bool fast_forward(struct engine *en, struct pkt *p, const struct flow_set *set,
			 uint64_t now, struct engine_out *out)
{
	const struct flow *f = flow_find(en, set, p);
	if (!f)
		return false;
	/* the IPv4 header is checked as ever; the transport checksum is left
	 * to the receiver, as Linux's forwarding does */
	if (pkt_verify_csum(p, false) != DR_NONE)
		return false;
	struct ct_entry *e = ct_fast_hit(en->ct, f->slot, f->serial, f->dir, p, now);
	if (!e)
		return false;
	/* leaving, the packet is the inverse of the other direction's tuple:
	 * that undoes or applies every NAT of the connection */
	const struct ct_ends *o = &e->t[!f->dir];
	pkt_forward4(p, o->dst, o->dport, o->src, o->sport, (uint8_t)(p->ttl - 1));
	p->ct = e;
	p->ct_dir = f->dir;
	p->ct_state = CT_ESTABLISHED;
	p->out_if = f->out_if;
	out->verdict = EV_FORWARD;
	out->out_if = f->out_if;
	out->nexthop = f->nexthop;
	out->fasttrack = true;
	en->ft_bytes += p->ip_len;
	en->ft_packets++;
	en->fast_hits++;
	return true;
}

static void flow_input(struct engine *en, struct pkt *p, uint64_t now, struct engine_out *out)
{
	struct rs_verdict v;

	/* fasttracked packets skip raw (REFERENCE.md §1), as on the cache's
	 * path: looked up ahead of conntrack when raw has rules to skip */
	v.action = RA_CONTINUE;
	if (en->hooks[p->family == 6][RT_RAW] & (1u << RH_PREROUTING)) {
		if (ct_fasttracked(en->ct, p, now))
			tracef(en, "raw", "skipped: fasttracked");
		else if (!hook(en, p, RT_RAW, RH_PREROUTING, now, &v, out))
			return finish_drop(en, p, out);
	}
	if (v.action == RA_NOTRACK)
		p->ct_state = CT_UNTRACKED;
	else if (p->family == 6 && ndp(p))
		/* neighbour discovery never depends on conntrack: Linux leaves
		 * 133-136 untracked; a redirect (137), which it finds invalid,
		 * is let through the same way here */
		p->ct_state = CT_UNTRACKED;
	cth_pre(en->cth, en->ct, p);
	ct_in(en->ct, p, now);
	cth_in(en->cth, en->ct, p, now);
	tracef(en, "conntrack", "%s%s", ct_state_name(p->ct_state),
	       p->ct && (p->ct->status & CTS_FASTTRACK) ? " (fasttracked)" : "");
	/* FastTrack: an established connection marked by fasttrack-connection
	 * skips every rule but keeps its NAT */
	bool fast = p->ct && (p->ct->status & CTS_FASTTRACK) && p->ct_state == CT_ESTABLISHED;
	out->fasttrack = fast;
	if (fast) {
		en->ft_bytes += p->ip_len;
		en->ft_packets++;
	}

	if (!fast && !hook(en, p, RT_MANGLE, RH_PREROUTING, now, &v, out))
		return finish_drop(en, p, out);
	/* dstnat: rules for the first packet of a connection, bindings after;
	 * IPv4 only (RouterOS v6 has no IPv6 NAT) */
	if (p->family == 4) {
		if (is_new(p)) {
			if (!hook(en, p, RT_NAT, RH_DSTNAT, now, &v, out))
				return finish_drop(en, p, out);
			if (v.action == RA_NAT)
				nat_dst(en, p, &v.nat);
		} else if (p->ct_state != CT_INVALID) {
			nat_binding_pre(en, p);
		}
	}

	/* routing decision */
	if (for_router(en, p)) {
		tracef(en, "routing", "to the router itself");
		if (!hook(en, p, RT_MANGLE, RH_INPUT, now, &v, out) ||
		    !hook(en, p, RT_FILTER, RH_INPUT, now, &v, out))
			return finish_drop(en, p, out);
		if (p->ct)
			p->ct->status |= CTS_NAT_DONE;
		out->verdict = EV_LOCAL;
		confirm(en, p, out);
		if (out->verdict == EV_LOCAL)
			tracef(en, "verdict", "local");
		return;
	}
	if (!(p->family == 4 ? route_forward4(en, p, out) : route_forward6(en, p, out))) {
		if (out->reply_len)
			out->verdict = EV_REJECT;
		return finish_drop(en, p, out);
	}

	if (!fast) {
		bool was = !en->has_fasttrack || (p->ct && (p->ct->status & CTS_FASTTRACK));
		bool ok = hook(en, p, RT_MANGLE, RH_FORWARD, now, &v, out) &&
			  hook(en, p, RT_FILTER, RH_FORWARD, now, &v, out) &&
			  hook(en, p, RT_MANGLE, RH_POSTROUTING, now, &v, out);
		/* fasttracked by this packet (kept or not): once, with or
		 * without the cache */
		if (!was && p->ct && (p->ct->status & CTS_FASTTRACK))
			ct_fast_begin(p->ct);
		if (!ok)
			return finish_drop(en, p, out);
	}
	if (p->family == 4) {
		if (is_new(p)) {
			if (!hook(en, p, RT_NAT, RH_SRCNAT, now, &v, out))
				return finish_drop(en, p, out);
			if (v.action == RA_NAT && nat_src(en, p, &v.nat) < 0) {
				out->verdict = EV_DROP;
				out->reason = DR_NAT_NO_PORT;
				return finish_drop(en, p, out);
			}
		} else if (p->ct_state != CT_INVALID) {
			nat_binding_post(en, p);
		}
	}
	if (p->ct)
		p->ct->status |= CTS_NAT_DONE;
	out->verdict = EV_FORWARD;
	confirm(en, p, out);
	if (out->verdict == EV_FORWARD)
		tracef(en, "verdict", "forward out %s", name_of(NS_IFACE, out->out_if));
	if (fast && out->verdict == EV_FORWARD && !en->trace)
		flow_learn(en, p, out);
}

static void out_reset(struct engine_out *out)
{
	out->verdict = EV_DROP;
	out->reason = DR_NONE;
	out->out_if = 0;
	out->nexthop = 0;
	memset(out->nexthop6, 0, sizeof(out->nexthop6));
	out->table = RT_FILTER;
	out->rule_id = 0;
	out->fasttrack = false;
	out->reply_len = 0;
	out->reply_if = 0;
}

static void trace_input(struct engine *en, const struct pkt *p, const char *stage,
			const char *what)
{
	if (!en->trace)
		return;
	char d[200];
	en->trace_family = p->family;
	pkt_describe(p, d, sizeof(d));
	if (what[0])
		tracef(en, stage, "%s %s", what, d);
	else
		tracef(en, stage, "in:%s %s", name_of(NS_IFACE, p->in_if), d);
}

static void drop_malformed(struct engine *en, enum drop_reason r, struct engine_out *out)
{
	out->verdict = EV_DROP;
	out->reason = r;
	en->drops[r]++;
	tracef(en, "parse", "malformed: %s", pkt_reason_name(r));
}

/*
 * What the common case skips with one test: frames that are not IP or are
 * malformed, and fragments. A fragment is reassembled before anything else
 * sees it, as Linux's defragmentation at prerouting does (only while
 * connection tracking is on, as there). True when a whole datagram goes on
 * into the flow: the reassembled one is in the engine's buffer, and p
 * describes it.
 * The forwarded datagram leaves whole: refragmenting it to the
 * out-interface's MTU belongs with the live dataplane (packet I/O issue).
 */
static bool input_slow(struct engine *en, struct pkt *p, enum drop_reason r,
		       struct engine_out *out)
{
	if (r == DR_NOT_IP) {
		out->verdict = EV_L2;
		out->reason = r;
		tracef(en, "parse", "not IP (ethertype 0x%04x): handed to layer 2", p->ethertype);
		return false;
	}
	/* no sender leaves a fragment's checksum partial (it is finished
	 * before fragmenting): a flag saying so would pass on to the datagram
	 * reassembled from it, whose checksum is whole */
	if (p->flags & PKT_F_FRAGMENT)
		p->rx_flags &= (uint8_t)~PKT_RX_L4_PARTIAL;
	/* a first fragment may cut its transport header short: whole, it is fine */
	bool frag = (p->flags & PKT_F_FRAGMENT) &&
		    (r == DR_NONE || r == DR_TRUNC_L4 || r == DR_BAD_TCP_DOFF);
	if (!frag || !ct_get_config(en->ct)->enabled) {
		if (r != DR_NONE) {
			drop_malformed(en, r, out);
			return false;
		}
		trace_input(en, p, "input", "");
		return true;
	}
	trace_input(en, p, "input", "");
	if (!en->reasm)
		en->reasm = xmalloc(FRAG_FRAME_MAX);
	uint32_t len = 0;
	unsigned nf = 0;
	enum drop_reason why = DR_NONE;
	switch (frag_add(en->frag, p, p->ts, en->reasm, FRAG_FRAME_MAX, &len, &nf, &why)) {
	case FRAG_HELD:
		out->verdict = EV_HELD;
		tracef(en, "defrag", "fragment at offset %u held until its datagram is complete",
		       p->frag_off);
		return false;
	case FRAG_DROP:
		out->verdict = EV_DROP;
		out->reason = why;
		en->drops[why]++;
		tracef(en, "defrag", "dropped: %s", pkt_reason_name(why));
		return false;
	case FRAG_DONE:
		break;
	}
	uint64_t ts = p->ts;
	uint16_t in_if = p->in_if;
	p->data = en->reasm;
	p->len = len;
	p->cap = FRAG_FRAME_MAX;
	r = pkt_parse(p, true, true);
	p->ts = ts;
	p->in_if = in_if;
	if (r != DR_NONE) {
		drop_malformed(en, r, out);
		return false;
	}
	if (en->trace) {
		char what[64];
		snprintf(what, sizeof(what), "reassembled from %u fragments:", nf);
		trace_input(en, p, "defrag", what);
	}
	return true;
}

/* Parses p without checksum checks (the cache does not need the transport
 * one) and names its flow cache set, NULL if none. While the cache exists,
 * the packets it may take are parsed by pkt_parse_flow, the rest by
 * pkt_parse. */
static inline enum drop_reason input_parse(struct engine *en, struct pkt *p, uint16_t in_if,
					   uint64_t now, struct flow_set **set)
{
	enum drop_reason r = en->flows && pkt_parse_flow(p) ? DR_NONE : pkt_parse(p, true, false);
	p->ts = now;
	p->in_if = in_if;
	*set = r == DR_NONE ? flow_set_for(en, p) : NULL;
	return r;
}

/* The rest of engine_input once input_parse is done. */
static void input_parsed(struct engine *en, struct pkt *p, enum drop_reason r,
			 const struct flow_set *set, uint64_t now, struct engine_out *out)
{
	out_reset(out);
	en->last_now = now;
	/* the cache may have come into being since this packet's parse stage */
	if (!set && r == DR_NONE && en->flows)
		set = flow_set_for(en, p);
	if (set && fast_forward(en, p, set, now, out))
		return;
	r = pkt_check_csum(p, r);
	/* as on the cache's path, a fasttracked connection's transport
	 * checksum is the receiver's business (Linux's flow table forwards
	 * without verifying it); the IPv4 header's is checked by both */
	if (__builtin_expect(r == DR_BAD_L4_CSUM, 0) && ct_fasttracked(en->ct, p, now)) {
		tracef(en, "parse", "bad transport checksum, not checked: fasttracked");
		r = DR_NONE;
	}
	if (__builtin_expect(r != DR_NONE || (p->flags & PKT_F_FRAGMENT), 0)) {
		if (!input_slow(en, p, r, out))
			return;
	} else if (en->trace) {
		trace_input(en, p, "input", "");
	}
	flow_input(en, p, now, out);
}

void engine_input(struct engine *en, struct pkt *p, uint16_t in_if, uint64_t now,
		  struct engine_out *out)
{
	struct flow_set *set;
	enum drop_reason r = input_parse(en, p, in_if, now, &set);
	input_parsed(en, p, r, set, now, out);
}

/* Link-local unicast, or multicast of interface- or link-local scope: an
 * IPv6 destination that only has a meaning on one link. */
static bool link_scoped6(const uint8_t *a)
{
	return link_local6(a) || (a[0] == 0xff && (a[1] & 0x0f) <= 2);
}

/* The route of a packet the router sends; false when there is none. An
 * IPv6 destination of link scope leaves by zone, the interface the caller
 * names (none: no route; the routing table would send it anywhere). */
static bool route_output(const struct engine *en, struct pkt *p, uint16_t zone,
			 struct engine_out *out)
{
	if (p->family == 4) {
		const struct route *rt = route_lookup(en, p->dst.v4, p->routing_mark);
		if (!rt || rt->type != RT_UNICAST)
			return false;
		p->out_if = rt->ifid;
		out->out_if = rt->ifid;
		out->nexthop = rt->gw ? rt->gw : p->dst.v4;
		return true;
	}
	if (link_scoped6(p->dst.v6)) {
		if (!zone)
			return false;
		p->out_if = zone;
		out->out_if = zone;
		memcpy(out->nexthop6, p->dst.v6, 16);
		return true;
	}
	const struct route6 *rt = route6_lookup(en, p->dst.v6);
	if (!rt || rt->type != RT_UNICAST)
		return false;
	p->out_if = rt->ifid;
	out->out_if = rt->ifid;
	memcpy(out->nexthop6, rt->has_gw ? rt->gw : p->dst.v6, 16);
	return true;
}

void engine_output(struct engine *en, struct pkt *p, uint64_t now, struct engine_out *out)
{
	engine_output_on(en, p, 0, now, out);
}

void engine_output_on(struct engine *en, struct pkt *p, uint16_t zone, uint64_t now,
		      struct engine_out *out)
{
	out_reset(out);
	enum drop_reason r = pkt_parse(p, true, false);
	p->ts = now;
	p->flags |= PKT_F_LOCAL_OUT;
	if (r != DR_NONE) {
		out->verdict = r == DR_NOT_IP ? EV_L2 : EV_DROP;
		out->reason = r;
		return;
	}
	en->trace_family = p->family;
	struct rs_verdict v;
	if (!hook(en, p, RT_RAW, RH_OUTPUT, now, &v, out))
		return finish_drop(en, p, out);
	if (v.action == RA_NOTRACK || (p->family == 6 && ndp(p)))
		p->ct_state = CT_UNTRACKED;
	cth_pre(en->cth, en->ct, p);
	ct_in(en->ct, p, now);
	cth_in(en->cth, en->ct, p, now);
	/* the router's own error about a packet it had translated goes back to
	 * where that came from, quoting it as its sender knows it (Linux's NAT
	 * at LOCAL_OUT): engine_icmp_host_unreach quotes what was given up */
	nat_own_error(p);
	if (!route_output(en, p, zone, out)) {
		out->verdict = EV_DROP;
		out->reason = DR_NO_ROUTE;
		return finish_drop(en, p, out);
	}
	if (!hook(en, p, RT_MANGLE, RH_OUTPUT, now, &v, out) ||
	    !hook(en, p, RT_FILTER, RH_OUTPUT, now, &v, out))
		return finish_drop(en, p, out);
	/* re-route when mangle output set a routing mark (IPv4: v6 has no
	 * routing marks) */
	if (p->family == 4 && p->routing_mark)
		route_output(en, p, zone, out);
	if (!hook(en, p, RT_MANGLE, RH_POSTROUTING, now, &v, out))
		return finish_drop(en, p, out);
	if (p->family == 4) {
		if (is_new(p)) {
			if (!hook(en, p, RT_NAT, RH_SRCNAT, now, &v, out))
				return finish_drop(en, p, out);
			if (v.action == RA_NAT && nat_src(en, p, &v.nat) < 0) {
				out->verdict = EV_DROP;
				out->reason = DR_NAT_NO_PORT;
				return finish_drop(en, p, out);
			}
		} else {
			nat_binding_post(en, p);
		}
	}
	if (p->ct)
		p->ct->status |= CTS_NAT_DONE;
	out->verdict = EV_FORWARD;
	confirm(en, p, out);
}

/*
 * Stage by stage: parse every frame and prefetch its flow cache set (or
 * conntrack's bucket when the cache cannot have it); then prefetch the
 * connection of every packet its set names (ct_prefetch_hot), and the
 * bucket of the others; then the first entry of each bucket; then run each
 * packet (the cache's path or the full one) in arrival order, so that the
 * memory latency of one packet overlaps the work on the others. The first
 * two stages change nothing, and the last checks everything again, so a
 * packet whose connection an earlier one of the burst changed (a FIN, a
 * new slot) is still handled exactly as engine_input would.
 */
size_t engine_input_burst(struct engine *en, struct pkt **v, const uint16_t *in_if, size_t n,
			  uint64_t now, struct engine_out *out)
{
	enum drop_reason r[ENGINE_BURST];
	struct flow_set *set[ENGINE_BURST];

	if (n > ENGINE_BURST)
		n = ENGINE_BURST;
	/* parse; prefetch the flow cache set, or conntrack's bucket */
	for (size_t i = 0; i < n; i++) {
		r[i] = input_parse(en, v[i], in_if[i], now, &set[i]);
		if (set[i]) {
			__builtin_prefetch(set[i]);
			__builtin_prefetch(&set[i]->way[FLOW_WAYS / 2]);
		}
		else if (r[i] == DR_NONE)
			ct_prefetch(en->ct, v[i]);
	}
	/* a packet the cache has: its connection; the others: the bucket */
	for (size_t i = 0; i < n; i++) {
		if (!set[i])
			continue;
		const struct flow *f = flow_find(en, set[i], v[i]);
		if (f)
			ct_prefetch_hot(ct_fast_slot(en->ct, f->slot));
		else
			ct_prefetch(en->ct, v[i]);
	}
	/* the first entry of each bucket */
	for (size_t i = 0; i < n; i++)
		ct_prefetch_entry(en->ct, v[i]);
	for (size_t i = 0; i < n; i++) {
		input_parsed(en, v[i], r[i], set[i], now, &out[i]);
		/* a completed datagram lives in the engine's buffer until the next
		 * packet: the caller sends it before the rest */
		if (v[i]->data == en->reasm)
			return i + 1;
	}
	return n;
}

/* ---- what print shows ---- */

static const char *const fw_menus[] = { "/ip/firewall/filter", "/ip/firewall/nat",
					"/ip/firewall/mangle", "/ip/firewall/raw",
					"/ipv6/firewall/filter", "/ipv6/firewall/mangle",
					"/ipv6/firewall/raw", NULL };

/* /ip firewall connection print: the connection table as items. */
struct ct_list {
	struct engine *en;
	const struct menu *m;
	struct item **items;
	size_t n;
};

static void put(struct ct_list *l, struct item *it, const char *name, const char *v)
{
	int pi = schema_prop(l->m, name, NULL);
	if (pi >= 0)
		item_set(l->m, it, pi, v);
}

static void addr_port(const struct ct_tuple *t, bool src, char *buf, size_t n)
{
	const union ipaddr *a = src ? &t->src : &t->dst;
	uint16_t port = src ? t->sport : t->dport;
	char ip[64];
	if (t->family == 6) {
		struct sbuf b = SBUF_INIT;
		format_ip6(a->v6, &b);
		snprintf(ip, sizeof(ip), "[%s]", sbuf_str(&b));
		sbuf_free(&b);
	} else {
		ip4s(a->v4, ip, sizeof(ip));
	}
	if (has_ports(t->proto))
		snprintf(buf, n, "%s:%u", ip, port);
	else
		snprintf(buf, n, "%s", ip);
}

static int ct_item(void *ctx, struct ct_entry *e)
{
	struct ct_list *l = ctx;
	struct item *it = item_new(l->m);
	it->id = e->serial; /* the entry's own: the same from print to remove */
	char buf[96];
	static const char *const protos[256] = { [1] = "icmp", [6] = "tcp", [17] = "udp",
						 [47] = "gre", [50] = "ipsec-esp", [58] = "icmpv6",
						 [132] = "sctp" };
	struct ct_tuple t0, t1;
	ct_entry_tuple(e, 0, &t0);
	ct_entry_tuple(e, 1, &t1);
	const char *pn = protos[e->proto];
	if (!pn) {
		snprintf(buf, sizeof(buf), "%u", e->proto);
		pn = buf;
	}
	put(l, it, "protocol", pn);
	addr_port(&t0, true, buf, sizeof(buf));
	put(l, it, "src-address", buf);
	addr_port(&t0, false, buf, sizeof(buf));
	put(l, it, "dst-address", buf);
	addr_port(&t1, true, buf, sizeof(buf));
	put(l, it, "reply-src-address", buf);
	addr_port(&t1, false, buf, sizeof(buf));
	put(l, it, "reply-dst-address", buf);
	if (e->proto == 6)
		put(l, it, "tcp-state", ct_tcp_state_name(e->tcp_state));
	struct sbuf t = SBUF_INIT;
	uint64_t left = e->expires > l->en->last_now ? e->expires - l->en->last_now : 0;
	/* whole seconds left, as RouterOS (and conntrack -L) show them */
	format_time_ms(left / 1000000000ull * 1000ull, &t);
	put(l, it, "timeout", sbuf_str(&t));
	sbuf_free(&t);
	put(l, it, "connection-mark", name_of(NS_MARK, e->mark));
	put(l, it, "connection-type", cth_name(e->helper));
	put(l, it, "seen-reply", (e->status & CTS_SEEN_REPLY) ? "yes" : "no");
	put(l, it, "assured", (e->status & CTS_ASSURED) ? "yes" : "no");
	put(l, it, "confirmed", (e->status & CTS_CONFIRMED) ? "yes" : "no");
	put(l, it, "fasttrack", (e->status & CTS_FASTTRACK) ? "yes" : "no");
	put(l, it, "srcnat", (e->status & CTS_SRCNAT) ? "yes" : "no");
	put(l, it, "dstnat", (e->status & CTS_DSTNAT) ? "yes" : "no");
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)e->bytes[0]);
	put(l, it, "orig-bytes", buf);
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)e->bytes[1]);
	put(l, it, "repl-bytes", buf);
	snprintf(buf, sizeof(buf), "%u", e->packets[0]);
	put(l, it, "orig-packets", buf);
	snprintf(buf, sizeof(buf), "%u", e->packets[1]);
	put(l, it, "repl-packets", buf);
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n++] = it;
	return 0;
}

static int connections(void *ctx, struct conf_session *s, const struct menu *m,
		       struct item ***items, size_t *n)
{
	(void)s;
	struct ct_list l = { ctx, m, NULL, 0 };
	ct_foreach(((struct engine *)ctx)->ct, ct_item, &l);
	*items = l.items;
	*n = l.n;
	return 0;
}

struct ct_pick {
	uint32_t serial;
	struct ct_entry *e;
};

static int ct_pick(void *ctx, struct ct_entry *e)
{
	struct ct_pick *k = ctx;
	if (e->serial != k->serial)
		return 0;
	k->e = e;
	return 1;
}

/* /ip firewall connection remove: the entry goes as if it had timed out;
 * its next packet is a new connection (or invalid, mid-stream TCP, unless
 * loose tracking picks it up), as after Linux's conntrack -D. */
static int connection_remove(void *ctx, const struct menu *m, uint32_t id, struct err *e)
{
	(void)m;
	struct engine *en = ctx;
	struct ct_pick k = { id, NULL };
	ct_foreach(en->ct, ct_pick, &k);
	if (!k.e)
		return err_set(e, "no such item *%X in /ip/firewall/connection (the connection is gone)",
			       id);
	ct_remove(en->ct, k.e);
	return 0;
}

#define FT_DUMMY_COMMENT "special dummy rule to show fasttrack counters"

/* RouterOS shows FastTrack's counters on a dynamic rule at the top of the
 * filter: added here while a fasttrack-connection rule exists, removed
 * when none does. */
static void fasttrack_dummy(struct engine *en, struct store *st)
{
	const struct menu *m = schema_find("/ip/firewall/filter");
	if (!m)
		return;
	struct item *dummy = NULL;
	for (size_t i = 0; i < store_count(st, m); i++) {
		struct item *it = store_at(st, m, i);
		const char *c = item_get(m, it, "comment");
		if ((it->flags & IF_DYNAMIC) && c && !strcmp(c, FT_DUMMY_COMMENT))
			dummy = it;
	}
	if (!dummy && !en->has_fasttrack)
		return;
	if (store_begin(st, NULL) < 0)
		return;
	int rc = 0;
	if (!dummy) {
		struct item *it = item_new(m);
		item_set(m, it, schema_prop(m, "chain", NULL), "forward");
		item_set(m, it, schema_prop(m, "action", NULL), "passthrough");
		item_set(m, it, schema_prop(m, "comment", NULL), FT_DUMMY_COMMENT);
		it->flags |= IF_DYNAMIC;
		uint32_t id;
		rc = store_add(st, m, it, 0, &id, NULL);
		dummy = rc == 0 ? store_get(st, m, id) : NULL;
	} else if (!en->has_fasttrack) {
		rc = store_remove(st, m, dummy->id, NULL);
		dummy = NULL;
	}
	if (rc == 0)
		store_commit(st, "system", NULL, NULL);
	else
		store_rollback(st);
	en->ft_dummy_id = dummy ? dummy->id : 0;
	if (dummy) {
		dummy->bytes = en->ft_bytes;
		dummy->packets = en->ft_packets;
	}
}

/* reset-counters of a rule: the running counters, which the next export
 * would copy back otherwise; the dummy FastTrack rule's are the engine's */
static void reset_rule(void *ctx, const struct menu *m, uint32_t id)
{
	struct engine *en = ctx;
	if (id && id == en->ft_dummy_id) {
		en->ft_bytes = 0;
		en->ft_packets = 0;
	}
	if (id)
		rs_state_reset_counters(en->rst, id);
}

void engine_export_counters(struct engine *en, struct store *st)
{
	conf_set_provider("/ip/firewall/connection", connections, en);
	conf_set_remove_hook("/ip/firewall/connection", connection_remove, en);
	fasttrack_dummy(en, st);
	for (const char *const *mp = fw_menus; *mp; mp++) {
		const struct menu *m = schema_find(*mp);
		if (!m)
			continue;
		conf_set_reset_hook(*mp, reset_rule, en);
		for (size_t i = 0; i < store_count(st, m); i++) {
			struct item *it = store_at(st, m, i);
			if (it->flags & IF_DYNAMIC)
				continue;
			uint64_t b = 0, p = 0;
			rs_state_counters(en->rst, it->id, &b, &p);
			it->bytes = b;
			it->packets = p;
		}
	}
}
