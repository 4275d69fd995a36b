/*
 * The packet flow. Each stage is a small function over the packet
 * descriptor; the order of the calls in flow_input/flow_output is the
 * RouterOS v6 packet flow diagram, so reading those two functions is reading
 * the diagram. Interfaces, addresses and routes are copied out of the store
 * at load time into flat arrays: the packet path never touches the store.
 */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/runtime.h"
#include "conf/schema.h"
#include "conf/types.h"
#include "names.h"

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

struct engine {
	struct ruleset *rs;
	struct rs_state *rst;
	struct ct_table *ct;
	struct if_addr *addrs;
	size_t naddrs;
	struct route *routes; /* longest prefix first, then distance */
	size_t nroutes;
	uint64_t drops[DR_MAX];
	engine_trace_fn trace;
	void *trace_ctx;
	int32_t utc_off;
	uint32_t nat_rover;
	uint64_t last_now;  /* the latest time seen, for print's timeouts */
	uint64_t ft_bytes, ft_packets; /* the FastTrack path, for its dummy rule */
	bool has_fasttrack;            /* some rule has action=fasttrack-connection */
};

const char *ev_name(enum ev_verdict v)
{
	switch (v) {
	case EV_FORWARD: return "forward";
	case EV_LOCAL: return "local";
	case EV_DROP: return "drop";
	case EV_REJECT: return "reject";
	case EV_L2: return "l2";
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
	snprintf(stage, sizeof(stage), "%s %s", table_names[table], chain);
	trace_emit(en, stage, "rule *%X %s%s%s", rule_id, matched ? "matched" : "no match",
	       why && *why ? ": " : "", why ? why : "");
}

static void ip4s(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
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
	return en;
}

void engine_free(struct engine *en)
{
	if (!en)
		return;
	ruleset_free(en->rs);
	rs_state_free(en->rst);
	ct_destroy(en->ct);
	free(en->addrs);
	free(en->routes);
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
	ruleset_free(en->rs);
	en->rs = rs;
	en->has_fasttrack = false;
	const struct menu *fm = schema_find("/ip/firewall/filter");
	for (size_t i = 0; fm && i < store_count(st, fm); i++) {
		const struct item *it = store_at(st, fm, i);
		const char *a = item_get(fm, it, "action");
		if (a && !strcmp(a, "fasttrack-connection") && !disabled(fm, it))
			en->has_fasttrack = true;
	}
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

uint32_t engine_if_addr(const struct engine *en, uint16_t ifid)
{
	for (size_t i = 0; i < en->naddrs; i++)
		if (en->addrs[i].ifid == ifid)
			return en->addrs[i].addr;
	return 0;
}

bool engine_is_local(const struct engine *en, uint32_t addr)
{
	for (size_t i = 0; i < en->naddrs; i++)
		if (en->addrs[i].addr == addr)
			return true;
	return false;
}

static bool is_local_cb(void *ctx, uint32_t addr)
{
	return engine_is_local(ctx, addr);
}

void engine_tick(struct engine *en, uint64_t now)
{
	ct_expire(en->ct, now, 4096);
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
	struct ct_tuple r = ce->t[1];
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
	ce->t[1].src.v4 = addr;
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
		struct ct_tuple r = ce->t[1];
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
	ce->t[1].dst.v4 = addr;
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
	if (p->ct_state == CT_RELATED) {
		/* an ICMP error about a translated connection: both headers go back */
		if ((ce->status & CTS_SRCNAT) && p->dst.v4 == ce->t[1].dst.v4) {
			pkt_set_dst(p, ce->t[0].src.v4, p->dport);
			pkt_set_inner_src(p, ce->t[0].src.v4, ce->t[0].sport);
		}
		return;
	}
	if (p->ct_dir == 0 && (ce->status & CTS_DSTNAT))
		pkt_set_dst(p, ce->t[1].src.v4, ce->t[1].sport);
	else if (p->ct_dir == 1 && (ce->status & CTS_SRCNAT))
		pkt_set_dst(p, ce->t[0].src.v4, ce->t[0].sport);
}

/* ... and at postrouting (source side). */
static void nat_binding_post(struct engine *en, struct pkt *p)
{
	struct ct_entry *ce = p->ct;
	if (!ce || p->family != 4)
		return;
	if (p->ct_state == CT_RELATED) {
		if ((ce->status & CTS_DSTNAT) && p->src.v4 == ce->t[1].src.v4) {
			pkt_set_src(p, ce->t[0].dst.v4, p->sport);
			pkt_set_inner_dst(p, ce->t[0].dst.v4, ce->t[0].dport);
		}
		return;
	}
	if (p->ct_dir == 0 && (ce->status & CTS_SRCNAT))
		pkt_set_src(p, ce->t[1].dst.v4, ce->t[1].dport);
	else if (p->ct_dir == 1 && (ce->status & CTS_DSTNAT))
		pkt_set_src(p, ce->t[0].dst.v4, ce->t[0].dport);
}

/* ---- replies the router generates (reject, TTL exceeded) ---- */

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

static void build_reply(struct engine *en, const struct pkt *p, uint8_t type, uint8_t code,
			bool tcp_reset, struct engine_out *out)
{
	if (p->family != 4)
		return; /* ICMPv6 errors: with the IPv6 engine */
	uint8_t *b = out->reply;
	memcpy(b, p->src_mac, 6);
	memcpy(b + 6, p->dst_mac, 6);
	put16(b + 12, 0x0800);
	uint8_t *ip = b + 14;
	uint32_t src = engine_is_local(en, p->dst.v4) ? p->dst.v4 : engine_if_addr(en, p->in_if);
	if (!src)
		src = p->dst.v4;
	size_t l4len;
	uint8_t *l4 = ip + 20;
	if (tcp_reset) {
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
		l4len = 20;
	} else {
		size_t quote = (size_t)(p->l4_off - p->l3_off) + 8;
		if (quote > p->len - p->l3_off)
			quote = p->len - p->l3_off;
		memset(l4, 0, 8);
		l4[0] = type;
		l4[1] = code;
		memcpy(l4 + 8, p->data + p->l3_off, quote);
		l4len = 8 + quote;
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	ip[8] = 64;
	ip[9] = tcp_reset ? 6 : 1;
	put32(ip + 12, src);
	put32(ip + 16, p->src.v4);
	out->reply_len = (uint32_t)(14 + 20 + l4len);
	struct pkt r = { .data = b, .len = out->reply_len, .cap = ENGINE_MAX_REPLY };
	pkt_parse(&r, true, false);
	pkt_fix_checksums(&r);
	out->reply_if = p->in_if;
}

static void reject_reply(struct engine *en, const struct pkt *p, uint8_t with,
			 struct engine_out *out)
{
	static const uint8_t codes[] = { [REJ_NET_UNREACH] = 0, [REJ_HOST_UNREACH] = 1,
					 [REJ_PORT_UNREACH] = 3, [REJ_PROTO_UNREACH] = 2,
					 [REJ_NET_PROHIBIT] = 9, [REJ_HOST_PROHIBIT] = 10,
					 [REJ_ADMIN_PROHIBIT] = 13 };
	/* never answer an ICMP error with an error */
	if (p->proto == 1 && (p->flags & PKT_F_ICMP_ERR))
		return;
	if (with == REJ_TCP_RESET) {
		if (p->proto == 6 && !(p->tcp_flags & TCPF_RST))
			build_reply(en, p, 0, 0, true, out);
		return;
	}
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
	c->local_ctx = en;
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
	if (!en->rs || !rs_hook_used(en->rs, p->family, t, h))
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
	}
}

static bool is_new(const struct pkt *p)
{
	return p->ct && !(p->ct->status & CTS_NAT_DONE);
}

static void flow_input(struct engine *en, struct pkt *p, uint64_t now, struct engine_out *out)
{
	struct rs_verdict v;
	char a[20], b[20];

	/* FastTrack: an established connection marked by fasttrack-connection
	 * skips every rule but keeps its NAT */
	if (!hook(en, p, RT_RAW, RH_PREROUTING, now, &v, out))
		return finish_drop(en, p, out);
	if (v.action == RA_NOTRACK)
		p->ct_state = CT_UNTRACKED;
	ct_in(en->ct, p, now);
	tracef(en, "conntrack", "%s%s", ct_state_name(p->ct_state),
	       p->ct && (p->ct->status & CTS_FASTTRACK) ? " (fasttracked)" : "");
	bool fast = p->ct && (p->ct->status & CTS_FASTTRACK) && p->ct_state == CT_ESTABLISHED;
	out->fasttrack = fast;
	if (fast) {
		en->ft_bytes += p->ip_len;
		en->ft_packets++;
	}

	if (!fast && !hook(en, p, RT_MANGLE, RH_PREROUTING, now, &v, out))
		return finish_drop(en, p, out);
	/* dstnat: rules for the first packet of a connection, bindings after */
	if (is_new(p) && p->ct_state == CT_NEW) {
		if (!hook(en, p, RT_NAT, RH_DSTNAT, now, &v, out))
			return finish_drop(en, p, out);
		if (v.action == RA_NAT)
			nat_dst(en, p, &v.nat);
	} else if (p->ct_state != CT_INVALID) {
		nat_binding_pre(en, p);
	}

	/* routing decision */
	if (engine_is_local(en, p->dst.v4) || p->dst.v4 == 0xffffffffu) {
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
	const struct route *r = route_lookup(en, p->dst.v4, p->routing_mark);
	if (!r || r->type != RT_UNICAST) {
		out->verdict = EV_DROP;
		out->reason = r && r->type == RT_BLACKHOLE ? DR_BLACKHOLE : DR_NO_ROUTE;
		ip4s(p->dst.v4, b, sizeof(b));
		tracef(en, "routing", "%s for %s", r ? "blackhole/unreachable route" : "no route", b);
		if (r && r->type != RT_BLACKHOLE)
			build_reply(en, p, 3, r->type == RT_PROHIBIT ? 13 : 0, false, out);
		else if (!r)
			build_reply(en, p, 3, 0, false, out);
		if (out->reply_len)
			out->verdict = EV_REJECT;
		return finish_drop(en, p, out);
	}
	p->out_if = r->ifid;
	out->out_if = r->ifid;
	out->nexthop = r->gw ? r->gw : p->dst.v4;
	if (en->trace)
		tracef(en, "routing", "via %s%s%s", name_of(NS_IFACE, r->ifid),
		       r->gw ? " gateway " : "", r->gw ? (ip4s(r->gw, a, sizeof(a)), a) : "");
	if (p->ttl <= 1) {
		out->verdict = EV_DROP;
		out->reason = DR_TTL_EXCEEDED;
		build_reply(en, p, 11, 0, false, out);
		if (out->reply_len)
			out->verdict = EV_REJECT;
		tracef(en, "routing", "TTL exceeded");
		return finish_drop(en, p, out);
	}
	pkt_set_ttl(p, (uint8_t)(p->ttl - 1));

	if (!fast) {
		if (!hook(en, p, RT_MANGLE, RH_FORWARD, now, &v, out) ||
		    !hook(en, p, RT_FILTER, RH_FORWARD, now, &v, out) ||
		    !hook(en, p, RT_MANGLE, RH_POSTROUTING, now, &v, out))
			return finish_drop(en, p, out);
	}
	if (is_new(p) && p->ct_state == CT_NEW) {
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
	if (p->ct)
		p->ct->status |= CTS_NAT_DONE;
	out->verdict = EV_FORWARD;
	confirm(en, p, out);
	if (out->verdict == EV_FORWARD)
		tracef(en, "verdict", "forward out %s", name_of(NS_IFACE, out->out_if));
}

static void out_reset(struct engine_out *out)
{
	out->verdict = EV_DROP;
	out->reason = DR_NONE;
	out->out_if = 0;
	out->nexthop = 0;
	out->table = RT_FILTER;
	out->rule_id = 0;
	out->fasttrack = false;
	out->reply_len = 0;
	out->reply_if = 0;
}

void engine_input(struct engine *en, struct pkt *p, uint16_t in_if, uint64_t now,
		  struct engine_out *out)
{
	out_reset(out);
	uint64_t ts = now;
	en->last_now = now;
	enum drop_reason r = pkt_parse(p, true, true);
	p->ts = ts;
	p->in_if = in_if;
	if (r == DR_NOT_IP) {
		out->verdict = EV_L2;
		out->reason = r;
		tracef(en, "parse", "not IP (ethertype 0x%04x): handed to layer 2", p->ethertype);
		return;
	}
	if (r != DR_NONE) {
		out->verdict = EV_DROP;
		out->reason = r;
		en->drops[r]++;
		tracef(en, "parse", "malformed: %s", pkt_reason_name(r));
		return;
	}
	if (en->trace) {
		char d[200];
		pkt_describe(p, d, sizeof(d));
		tracef(en, "input", "in:%s %s", name_of(NS_IFACE, in_if), d);
	}
	if (p->family != 4) {
		/* the IPv6 flow follows the same stages; until it lands IPv6 is
		 * dropped by reason rather than forwarded unfiltered */
		out->verdict = EV_DROP;
		out->reason = DR_NO_ROUTE;
		en->drops[DR_NO_ROUTE]++;
		tracef(en, "routing", "IPv6 forwarding is not available yet");
		return;
	}
	flow_input(en, p, now, out);
}

void engine_output(struct engine *en, struct pkt *p, uint64_t now, struct engine_out *out)
{
	out_reset(out);
	enum drop_reason r = pkt_parse(p, true, false);
	p->ts = now;
	p->flags |= PKT_F_LOCAL_OUT;
	if (r != DR_NONE || p->family != 4) {
		out->verdict = r == DR_NOT_IP ? EV_L2 : EV_DROP;
		out->reason = r;
		return;
	}
	struct rs_verdict v;
	if (!hook(en, p, RT_RAW, RH_OUTPUT, now, &v, out))
		return finish_drop(en, p, out);
	if (v.action == RA_NOTRACK)
		p->ct_state = CT_UNTRACKED;
	ct_in(en->ct, p, now);
	const struct route *rt = route_lookup(en, p->dst.v4, p->routing_mark);
	if (!rt || rt->type != RT_UNICAST) {
		out->verdict = EV_DROP;
		out->reason = DR_NO_ROUTE;
		return finish_drop(en, p, out);
	}
	p->out_if = rt->ifid;
	if (!hook(en, p, RT_MANGLE, RH_OUTPUT, now, &v, out) ||
	    !hook(en, p, RT_FILTER, RH_OUTPUT, now, &v, out))
		return finish_drop(en, p, out);
	/* re-route when mangle output set a routing mark */
	if (p->routing_mark) {
		const struct route *r2 = route_lookup(en, p->dst.v4, p->routing_mark);
		if (r2 && r2->type == RT_UNICAST)
			rt = r2;
		p->out_if = rt->ifid;
	}
	out->out_if = rt->ifid;
	out->nexthop = rt->gw ? rt->gw : p->dst.v4;
	if (!hook(en, p, RT_MANGLE, RH_POSTROUTING, now, &v, out))
		return finish_drop(en, p, out);
	if (is_new(p) && p->ct_state == CT_NEW) {
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
	if (p->ct)
		p->ct->status |= CTS_NAT_DONE;
	out->verdict = EV_FORWARD;
	confirm(en, p, out);
}

void engine_input_burst(struct engine *en, struct pkt **v, const uint16_t *in_if, size_t n,
			uint64_t now, struct engine_out *out)
{
	for (size_t i = 0; i < n; i++)
		engine_input(en, v[i], in_if[i], now, &out[i]);
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
	it->id = (uint32_t)l->n + 1;
	char buf[96];
	static const char *const protos[256] = { [1] = "icmp", [6] = "tcp", [17] = "udp",
						 [47] = "gre", [50] = "ipsec-esp", [58] = "icmpv6",
						 [132] = "sctp" };
	const char *pn = protos[e->t[0].proto];
	if (!pn) {
		snprintf(buf, sizeof(buf), "%u", e->t[0].proto);
		pn = buf;
	}
	put(l, it, "protocol", pn);
	addr_port(&e->t[0], true, buf, sizeof(buf));
	put(l, it, "src-address", buf);
	addr_port(&e->t[0], false, buf, sizeof(buf));
	put(l, it, "dst-address", buf);
	addr_port(&e->t[1], true, buf, sizeof(buf));
	put(l, it, "reply-src-address", buf);
	addr_port(&e->t[1], false, buf, sizeof(buf));
	put(l, it, "reply-dst-address", buf);
	if (e->t[0].proto == 6)
		put(l, it, "tcp-state", ct_tcp_state_name(e->tcp_state));
	struct sbuf t = SBUF_INIT;
	uint64_t left = e->expires > l->en->last_now ? e->expires - l->en->last_now : 0;
	format_time_ms(left / 1000000ull, &t);
	put(l, it, "timeout", sbuf_str(&t));
	sbuf_free(&t);
	put(l, it, "connection-mark", name_of(NS_MARK, e->mark));
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
	if (dummy) {
		dummy->bytes = en->ft_bytes;
		dummy->packets = en->ft_packets;
	}
}

void engine_export_counters(struct engine *en, struct store *st)
{
	conf_set_provider("/ip/firewall/connection", connections, en);
	fasttrack_dummy(en, st);
	for (const char *const *mp = fw_menus; *mp; mp++) {
		const struct menu *m = schema_find(*mp);
		if (!m)
			continue;
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
