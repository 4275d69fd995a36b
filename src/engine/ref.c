/*
 * ref: the reference evaluator. It reads the store's items as text, rule
 * by rule, and decides each property on the spot with the plain parsers of
 * types.h — no compiled matchers, no classifier, no sets: address lists
 * and interface lists are walked entry by entry. It is slow on purpose and
 * meant to be read next to REFERENCE.md §2; the differential test holds the
 * compiled evaluator to it. What both must agree on beyond the text — the
 * stateful primitives of rs_state, the per-connection-classifier hash, the
 * log line — comes from the same functions (rules_int.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/menus.h"
#include "conf/types.h"
#include "names.h"
#include "rules_int.h"

struct ref {
	struct store *st;
	const struct menu *m;
	struct rs_ctx *c;
	enum rs_table table;
	enum rs_hook hook;
	struct rs_verdict *v;
	/* property indices looked up so far, by the address of the name literal */
	const char *cname[48];
	int cidx[48];
	int ncache;
};

static int prop_index(const struct ref *r, const char *name)
{
	struct ref *w = (struct ref *)r;
	for (int i = 0; i < r->ncache; i++)
		if (r->cname[i] == name)
			return r->cidx[i];
	int pi = schema_prop(r->m, name, NULL);
	if (w->ncache < 48) {
		w->cname[w->ncache] = name;
		w->cidx[w->ncache++] = pi;
	}
	return pi;
}

/* A rule's property (or its default), NULL when unset or empty. */
static const char *val(const struct ref *r, const struct item *it, const char *name)
{
	int pi = prop_index(r, name);
	const char *v = pi < 0 ? NULL : item_geti(r->m, it, pi);
	return v && *v ? v : NULL;
}

static bool yes(const char *v)
{
	return v && !strcmp(v, "yes");
}

/* Calls fn on each element of a comma list until it returns true. */
static bool any_of(const char *list, bool (*fn)(const char *el, const void *arg), const void *arg)
{
	char el[128];
	while (*list) {
		const char *c = strchr(list, ',');
		size_t n = c ? (size_t)(c - list) : strlen(list);
		snprintf(el, sizeof(el), "%.*s", (int)n, list);
		if (fn(el, arg))
			return true;
		list += n + (c ? 1 : 0);
	}
	return false;
}

static bool u64_of(const char *s, uint64_t *v)
{
	return parse_u64(s, v) == 0;
}

/* "n" or "n-m". */
static bool range_of(const char *s, uint64_t *lo, uint64_t *hi)
{
	char a[32];
	const char *d = strchr(s, '-');
	if (!d)
		return u64_of(s, lo) && (*hi = *lo, true);
	snprintf(a, sizeof(a), "%.*s", (int)(d - s), s);
	return u64_of(a, lo) && u64_of(d + 1, hi);
}

/* ---- properties, each: 1 holds, 0 does not, -1 the packet lacks the header ---- */

static bool port_in(const char *el, const void *arg)
{
	uint64_t lo, hi, port = *(const uint16_t *)arg;
	return range_of(el, &lo, &hi) && port >= lo && port <= hi;
}

/* Does firewall address text v (IP, IP/len, IP-IP) hold a? Its own parsing,
 * independent of the compiler's. */
static bool addr_text_holds(const char *v, uint8_t family, const union ipaddr *a)
{
	char ip[64];
	const char *slash = strchr(v, '/'), *dash = strchr(v, '-');
	uint64_t len = family == 6 ? 128 : 32;
	if (family == 4 && dash) {
		uint32_t lo, hi;
		snprintf(ip, sizeof(ip), "%.*s", (int)(dash - v), v);
		return !parse_ip4(ip, &lo) && !parse_ip4(dash + 1, &hi) && a->v4 >= lo && a->v4 <= hi;
	}
	snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - v) : (int)strlen(v), v);
	if (slash && (parse_u64(slash + 1, &len) || len > (family == 6 ? 128u : 32u)))
		return false;
	if (family == 4) {
		uint32_t net;
		if (parse_ip4(ip, &net))
			return false;
		for (unsigned bit = 0; bit < len; bit++)
			if (((net ^ a->v4) >> (31 - bit)) & 1)
				return false;
		return true;
	}
	uint8_t net[16];
	if (parse_ip6(ip, net))
		return false;
	for (unsigned bit = 0; bit < len; bit++)
		if (((net[bit / 8] ^ a->v6[bit / 8]) >> (7 - bit % 8)) & 1)
			return false;
	return true;
}

static bool addr_in(const struct ref *r, const char *v, const union ipaddr *a)
{
	return addr_text_holds(v, r->c->p->family, a);
}

static bool in_addr_list(const struct ref *r, const char *list, const union ipaddr *a)
{
	uint8_t fam = r->c->p->family;
	const struct menu *m =
		schema_find(fam == 6 ? "/ipv6/firewall/address-list" : "/ip/firewall/address-list");
	for (size_t i = 0, n = store_count(r->st, m); i < n; i++) {
		const struct item *it = store_at(r->st, m, i);
		const char *l = item_get(m, it, "list"), *ad = item_get(m, it, "address");
		if (l && ad && !strcmp(l, list) && !yes(item_get(m, it, "disabled")) &&
		    addr_text_holds(ad, fam, a))
			return true;
	}
	return rs_state_addrlist_has(r->c->state, name_intern(NS_ADDRLIST, list), a, fam,
				     r->c->now);
}

struct type_arg {
	const struct ref *r;
	const union ipaddr *a;
};

static bool addr_type_is(const char *el, const void *arg)
{
	const struct type_arg *t = arg;
	const struct rs_ctx *c = t->r->c;
	if (c->p->family == 6) {
		/* an address may have several: the router's own are unicast too */
		bool specified = false;
		for (int i = 0; i < 16; i++)
			specified |= t->a->v6[i] != 0;
		if (t->a->v6[0] == 0xff)
			return !strcmp(el, "multicast");
		if (!strcmp(el, "unicast"))
			return specified;
		return !strcmp(el, "local") && specified && c->is_local6 &&
		       c->is_local6(c->local_ctx, t->a->v6);
	}
	const char *type;
	uint32_t a = t->a->v4;
	if (c->is_local && c->is_local(c->local_ctx, a))
		type = "local";
	else if (a == 0xffffffffu || (c->is_bcast && c->is_bcast(c->local_ctx, a)))
		type = "broadcast";
	else if (a >= 0xe0000000u && a <= 0xefffffffu)
		type = "multicast";
	else
		type = "unicast";
	return !strcmp(el, type);
}

static bool in_menu_names(const struct ref *r, const char *path, const char *ifname)
{
	const struct menu *m = schema_find(path);
	for (size_t i = 0, n = m ? store_count(r->st, m) : 0; i < n; i++) {
		const char *name = item_get(m, store_at(r->st, m, i), "name");
		if (name && !strcmp(name, ifname))
			return true;
	}
	return false;
}

static bool iface_is(const struct ref *r, const char *v, uint16_t ifid)
{
	const char *ifname = name_of(NS_IFACE, ifid);
	if (!ifid || !*ifname)
		return false;
	if (!strcmp(v, "all"))
		return true;
	if (!strcmp(v, "all-ethernet"))
		return in_menu_names(r, "/interface/ethernet", ifname);
	if (!strcmp(v, "all-vlan"))
		return in_menu_names(r, "/interface/vlan", ifname);
	if (!strcmp(v, "all-wireless"))
		return in_menu_names(r, "/interface/wireless", ifname);
	if (!strcmp(v, "all-ppp"))
		return false;
	return !strcmp(v, ifname);
}

static bool in_iflist(const struct ref *r, const char *list, const char *ifname, int depth);

struct iflist_arg {
	const struct ref *r;
	const char *ifname;
	int depth;
};

static bool iflist_el(const char *el, const void *arg)
{
	const struct iflist_arg *a = arg;
	return in_iflist(a->r, el, a->ifname, a->depth + 1);
}

/* Members, plus the members of included lists, minus those of excluded ones. */
static bool in_iflist(const struct ref *r, const char *list, const char *ifname, int depth)
{
	if (!strcmp(list, "all"))
		return true;
	if (!strcmp(list, "none") || !strcmp(list, "dynamic") || depth > 16)
		return false;
	bool in = false;
	const struct menu *mm = schema_find("/interface/list/member");
	for (size_t i = 0, n = store_count(r->st, mm); i < n && !in; i++) {
		const struct item *it = store_at(r->st, mm, i);
		const char *l = item_get(mm, it, "list"), *ifn = item_get(mm, it, "interface");
		in = l && ifn && !strcmp(l, list) && !strcmp(ifn, ifname) &&
		     !yes(item_get(mm, it, "disabled"));
	}
	const struct menu *lm = schema_find("/interface/list");
	const struct item *li = store_by_key(r->st, lm, list);
	if (!li)
		return in;
	struct iflist_arg a = { r, ifname, depth };
	const char *inc = item_get(lm, li, "include"), *exc = item_get(lm, li, "exclude");
	if (!in && inc)
		in = any_of(inc, iflist_el, &a);
	if (in && exc && any_of(exc, iflist_el, &a))
		in = false;
	return in;
}

static bool iflist_has(const struct ref *r, const char *list, uint16_t ifid)
{
	const char *ifname = name_of(NS_IFACE, ifid);
	return ifid && *ifname && in_iflist(r, list, ifname, 0);
}

static bool word_is(const char *el, const void *arg)
{
	return !strcmp(el, (const char *)arg);
}

static int tcp_flags_hold(const struct pkt *p, const char *v)
{
	static const char *const names[8] = { "fin", "syn", "rst", "psh", "ack", "urg", "ece", "cwr" };
	char el[16];
	while (*v) {
		const char *c = strchr(v, ',');
		size_t n = c ? (size_t)(c - v) : strlen(v);
		snprintf(el, sizeof(el), "%.*s", (int)n, v);
		bool not = el[0] == '!';
		int bit = -1;
		for (int i = 0; i < 8; i++)
			if (!strcmp(el + not, names[i]))
				bit = i;
		if (bit < 0)
			return 0;
		if (((p->tcp_flags >> bit) & 1) == not)
			return 0;
		v += n + (c ? 1 : 0);
	}
	return 1;
}

static int ipv4_option(const struct pkt *p, const char *v)
{
	uint8_t o = p->ipv4_opts;
	bool any = (p->flags & PKT_F_IPV4_OPTS) || o;
	if (!strcmp(v, "any"))
		return any;
	if (!strcmp(v, "none"))
		return !any;
	if (!strcmp(v, "loose-source-routing"))
		return (o & RS_OPT_LSRR) != 0;
	if (!strcmp(v, "strict-source-routing"))
		return (o & RS_OPT_SSRR) != 0;
	if (!strcmp(v, "record-route"))
		return (o & RS_OPT_RR) != 0;
	if (!strcmp(v, "router-alert"))
		return (o & RS_OPT_RA) != 0;
	if (!strcmp(v, "timestamp"))
		return (o & RS_OPT_TS) != 0;
	if (!strcmp(v, "no-record-route"))
		return !(o & RS_OPT_RR);
	if (!strcmp(v, "no-router-alert"))
		return !(o & RS_OPT_RA);
	if (!strcmp(v, "no-timestamp"))
		return !(o & RS_OPT_TS);
	if (!strcmp(v, "no-source-routing"))
		return !(o & (RS_OPT_LSRR | RS_OPT_SSRR));
	return 0;
}

static int ttl_cmp(uint8_t ttl, const char *v)
{
	const char *c = strchr(v, ':');
	uint64_t n;
	if (!c || !u64_of(c + 1, &n))
		return 0;
	size_t w = (size_t)(c - v);
	if (!strncmp(v, "equal", w) && w == 5)
		return ttl == n;
	if (!strncmp(v, "not-equal", w) && w == 9)
		return ttl != n;
	if (!strncmp(v, "less-than", w) && w == 9)
		return ttl < n;
	return ttl > n;
}

static int time_holds(const struct ref *r, const char *v)
{
	static const char *const days[7] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", v);
	char *daylist = strchr(buf, ',');
	if (daylist)
		*daylist++ = 0;
	char *dash = strchr(buf, '-');
	uint64_t t1, t2;
	if (!dash)
		return 0;
	*dash = 0;
	if (parse_time_ms(buf, &t1) || parse_time_ms(dash + 1, &t2))
		return 0;
	int dow;
	uint32_t sec;
	rs_wall_split(r->c->wall, &dow, &sec);
	if (daylist && !any_of(daylist, word_is, days[dow]))
		return 0;
	uint64_t a = t1 / 1000, b = t2 / 1000;
	return a < b ? sec >= a && sec <= b : sec >= a || sec <= b;
}

static int l7_holds(const struct ref *r, const char *name)
{
	const struct menu *m = schema_find("/ip/firewall/layer7-protocol");
	const struct item *it = store_by_key(r->st, m, name);
	if (!it)
		return 0;
	const char *re = item_get(m, it, "regexp");
	if (!re || !*re)
		return 1;
	regex_t rx;
	if (regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_ICASE))
		return 0;
	size_t n;
	const uint8_t *d = rs_payload(r->c->p, &n);
	char buf[2049];
	size_t k = 0;
	for (size_t i = 0; i < n && k < 2048; i++)
		if (d[i])
			buf[k++] = (char)d[i];
	buf[k] = 0;
	int ok = regexec(&rx, buf, 0, NULL, 0) == 0;
	regfree(&rx);
	return ok;
}

static const char *const ct_names[] = { "", "new", "established", "related", "invalid",
					"untracked" };

/* A stateless property (name = v, '!' already taken off). */
static int prop_holds(const struct ref *r, const char *name, const char *v)
{
	struct pkt *p = r->c->p;
	bool l4 = p->flags & PKT_F_L4;
	bool ports = l4 && rs_port_proto(p->proto);
	uint64_t lo, hi, n;
	if (!strcmp(name, "protocol"))
		return menus_protocol_number(v) == p->proto;
	if (!strcmp(name, "src-address"))
		return addr_in(r, v, &p->src);
	if (!strcmp(name, "dst-address"))
		return addr_in(r, v, &p->dst);
	if (!strcmp(name, "src-address-list"))
		return in_addr_list(r, v, &p->src);
	if (!strcmp(name, "dst-address-list"))
		return in_addr_list(r, v, &p->dst);
	if (!strcmp(name, "src-address-type") || !strcmp(name, "dst-address-type")) {
		struct type_arg t = { r, name[0] == 's' ? &p->src : &p->dst };
		return any_of(v, addr_type_is, &t);
	}
	if (!strcmp(name, "src-port"))
		return ports ? any_of(v, port_in, &p->sport) : -1;
	if (!strcmp(name, "dst-port"))
		return ports ? any_of(v, port_in, &p->dport) : -1;
	if (!strcmp(name, "port"))
		return ports ? any_of(v, port_in, &p->sport) || any_of(v, port_in, &p->dport) : -1;
	if (!strcmp(name, "in-interface"))
		return iface_is(r, v, p->in_if);
	if (!strcmp(name, "out-interface"))
		return iface_is(r, v, p->out_if);
	if (!strcmp(name, "in-interface-list"))
		return iflist_has(r, v, p->in_if);
	if (!strcmp(name, "out-interface-list"))
		return iflist_has(r, v, p->out_if);
	if (!strcmp(name, "connection-state"))
		return p->ct_state >= 1 && p->ct_state <= 5 && any_of(v, word_is, ct_names[p->ct_state]);
	if (!strcmp(name, "connection-nat-state"))
		return p->ct && (((p->ct->status & CTS_SRCNAT) && any_of(v, word_is, "srcnat")) ||
				 ((p->ct->status & CTS_DSTNAT) && any_of(v, word_is, "dstnat")));
	if (!strcmp(name, "connection-mark"))
		return (p->ct ? p->ct->mark : 0) == name_intern(NS_MARK, v);
	if (!strcmp(name, "packet-mark"))
		return p->packet_mark == name_intern(NS_MARK, v);
	if (!strcmp(name, "routing-mark"))
		return p->routing_mark == name_intern(NS_MARK, v);
	if (!strcmp(name, "connection-type"))
		/* xt_helper: the helper of the connection that expected this one */
		return p->ct && (p->ct->helper & CTH_EXPECTED) && !strcmp(cth_name(p->ct->helper), v);
	if (!strcmp(name, "connection-bytes")) {
		if (!p->ct || !range_of(v, &lo, &hi))
			return -1;
		uint64_t b = p->ct->bytes[0] + p->ct->bytes[1];
		return b >= lo && (hi == 0 || b <= hi);
	}
	if (!strcmp(name, "per-connection-classifier")) {
		static const char *const fields[] = {
			"src-address", "dst-address", "both-addresses", "src-port", "dst-port",
			"both-ports", "src-address-and-port", "dst-address-and-port",
			"both-addresses-and-ports"
		};
		const char *colon = strchr(v, ':'), *slash = strchr(v, '/');
		char den[16];
		if (!colon || !slash)
			return 0;
		snprintf(den, sizeof(den), "%.*s", (int)(slash - colon - 1), colon + 1);
		uint64_t d, rem;
		if (!u64_of(den, &d) || !u64_of(slash + 1, &rem) || !d)
			return 0;
		for (uint8_t i = 0; i < 9; i++)
			if (strlen(fields[i]) == (size_t)(colon - v) && !strncmp(v, fields[i], strlen(fields[i])))
				return rs_pcc_hash(p, i) % d == rem;
		return 0;
	}
	if (!strcmp(name, "src-mac-address")) {
		uint8_t mac[6];
		return parse_mac(v, mac) == 0 && !memcmp(mac, p->src_mac, 6);
	}
	if (!strcmp(name, "tcp-flags"))
		return p->proto == 6 && l4 ? tcp_flags_hold(p, v) : -1;
	if (!strcmp(name, "tcp-mss")) {
		if (p->proto != 6 || !l4)
			return -1;
		return p->mss && range_of(v, &lo, &hi) && p->mss >= lo && p->mss <= hi;
	}
	if (!strcmp(name, "icmp-options")) {
		if (p->proto != (p->family == 6 ? 58 : 1) || !l4)
			return -1;
		char t[8];
		const char *c = strchr(v, ':');
		snprintf(t, sizeof(t), "%.*s", c ? (int)(c - v) : (int)strlen(v), v);
		if (!u64_of(t, &n) || n != p->icmp_type)
			return 0;
		return !c || (range_of(c + 1, &lo, &hi) && p->icmp_code >= lo && p->icmp_code <= hi);
	}
	if (!strcmp(name, "ipv4-options"))
		return p->family == 4 ? ipv4_option(p, v) : -1;
	if (!strcmp(name, "packet-size"))
		return range_of(v, &lo, &hi) && p->ip_len >= lo && p->ip_len <= hi;
	if (!strcmp(name, "fragment"))
		return ((p->flags & PKT_F_FRAGMENT) != 0) == yes(v);
	if (!strcmp(name, "dscp"))
		return u64_of(v, &n) && p->dscp == n;
	if (!strcmp(name, "priority"))
		return u64_of(v, &n) && p->priority == n;
	if (!strcmp(name, "ttl") || !strcmp(name, "hop-limit"))
		return ttl_cmp(p->ttl, v);
	if (!strcmp(name, "content")) {
		size_t len;
		const uint8_t *d = rs_payload(p, &len);
		return d && memmem(d, len, v, strlen(v)) != NULL;
	}
	if (!strcmp(name, "layer7-protocol"))
		return l7_holds(r, v);
	if (!strcmp(name, "time"))
		return time_holds(r, v);
	return 0;
}

/* "rate[/time]" into units and a period in ns. */
static bool rate_of(const char *s, bool bits, uint64_t *rate, uint64_t *period)
{
	char a[64];
	const char *sl = strchr(s, '/');
	uint64_t ms = 1000;
	snprintf(a, sizeof(a), "%.*s", sl ? (int)(sl - s) : (int)strlen(s), s);
	if (sl && parse_time_ms(sl + 1, &ms))
		return false;
	*period = ms * 1000000ull;
	return (bits ? parse_rate(a, rate) : parse_u64(a, rate)) == 0;
}

/* A stateful property; called only once every stateless one held. */
static int stateful_holds(const struct ref *r, const struct item *it, const char *name,
			  const char *v)
{
	struct rs_ctx *c = r->c;
	struct pkt *p = c->p;
	uint64_t rate, period, burst = 5, a, b;
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", v);
	if (!strcmp(name, "connection-limit")) {
		char *comma = strchr(buf, ',');
		uint64_t len, maxlen = p->family == 6 ? 128 : 32;
		if (!c->conn_live || !comma)
			return -1;
		*comma++ = 0;
		if (!u64_of(buf, &a) || !u64_of(comma, &len))
			return -1;
		return rs_conn_limit(c->state, it->id, (uint32_t)a,
				     (uint8_t)(len > maxlen ? maxlen : len), c);
	}
	if (!strcmp(name, "limit")) {
		char *comma = strchr(buf, ',');
		bool bits = false;
		if (comma) {
			*comma++ = 0;
			char *colon = strchr(comma, ':');
			if (colon) {
				*colon++ = 0;
				bits = !strcmp(colon, "bit");
			}
			u64_of(comma, &burst);
		}
		if (!rate_of(buf, bits, &rate, &period))
			return 0;
		return rs_limit(c->state, it->id, rate, period, burst, bits, p->ip_len, c->now);
	}
	if (!strcmp(name, "dst-limit")) {
		static const char *const modes[] = { "dst-address-only", "dst-address-and-port",
						     "src-address-and-dst-address",
						     "src-and-dst-addresses-and-dst-port" };
		char *c1 = strchr(buf, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
		if (!c2)
			return 0;
		*c1++ = 0;
		*c2++ = 0;
		char *sl = strchr(c2, '/');
		uint64_t expire = 0;
		if (sl) {
			*sl++ = 0;
			parse_time_ms(sl, &expire);
		}
		uint8_t mode = DL_SRC_DST_PORT; /* addresses-and-dst-port */
		for (uint8_t i = 0; i < 4; i++)
			if (!strcmp(c2, modes[i]))
				mode = i;
		if (!u64_of(c1, &burst) || !rate_of(buf, false, &rate, &period))
			return 0;
		return rs_dst_limit(c->state, it->id, rate, period, burst, mode, expire * 1000000ull,
				    p, c->now);
	}
	if (!strcmp(name, "nth")) {
		char *comma = strchr(buf, ',');
		if (!comma)
			return 0;
		*comma++ = 0;
		return u64_of(buf, &a) && u64_of(comma, &b) &&
		       rs_nth(c->state, it->id, (uint32_t)a, (uint32_t)b);
	}
	if (!strcmp(name, "random"))
		return u64_of(v, &a) && rs_random(c->state, (uint32_t)a);
	if (!strcmp(name, "psd")) {
		if (!(p->flags & PKT_F_L4) || (p->proto != 6 && p->proto != 17))
			return -1;
		char *f[4] = { buf, NULL, NULL, NULL };
		for (int i = 1; i < 4; i++) {
			f[i] = strchr(f[i - 1], ',');
			if (!f[i])
				return 0;
			*f[i]++ = 0;
		}
		uint64_t w, d, lw, hw;
		if (!u64_of(f[0], &w) || parse_time_ms(f[1], &d) || !u64_of(f[2], &lw) ||
		    !u64_of(f[3], &hw))
			return 0;
		return rs_psd(c->state, it->id, (uint32_t)w, d * 1000000ull, (uint32_t)lw,
			      (uint32_t)hw, p, c->now);
	}
	if (!strcmp(name, "connection-rate")) {
		char *dash = strchr(buf, '-');
		uint64_t bps;
		if (!dash)
			return 0;
		*dash++ = 0;
		if (parse_rate(buf, &a) || parse_rate(dash, &b))
			return 0;
		if (!rs_conn_rate(c->state, p, c->now, &bps))
			return -1;
		return bps >= a && bps <= b;
	}
	return 0;
}

static const char *const stateful[] = { "connection-limit", "limit", "dst-limit", "nth", "random", "psd",
					"connection-rate" };

static bool is_stateful(const char *name)
{
	for (size_t i = 0; i < sizeof(stateful) / sizeof(stateful[0]); i++)
		if (!strcmp(name, stateful[i]))
			return true;
	return false;
}

static bool is_param(const char *name)
{
	static const char *const params[] = {
		"chain", "action", "jump-target", "reject-with", "address-list",
		"address-list-timeout", "to-addresses", "to-ports", "new-connection-mark",
		"new-packet-mark", "new-routing-mark", "new-dscp", "new-ttl", "new-hop-limit",
		"new-mss", "new-priority", "sniff-target", "sniff-target-port", "sniff-id",
		"route-dst", "passthrough", "log", "log-prefix", "disabled", "comment", "bytes",
		"packets"
	};
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (!strcmp(name, params[i]))
			return true;
	return false;
}

static bool holds(int res, bool neg)
{
	return res >= 0 && (res != 0) != neg;
}

/* in-* cannot match in output, out-* not before routing. */
static bool dead_on_hook(const char *name, enum rs_hook h)
{
	if (h == RH_OUTPUT)
		return !strcmp(name, "in-interface") || !strcmp(name, "in-interface-list") ||
		       !strcmp(name, "src-mac-address");
	if (h == RH_PREROUTING || h == RH_INPUT || h == RH_DSTNAT)
		return !strcmp(name, "out-interface") || !strcmp(name, "out-interface-list");
	return false;
}

static bool rule_matches(const struct ref *r, const struct item *it)
{
	const struct menu *m = r->m;
	for (size_t i = 0; i < m->nprops; i++) {
		const char *name = m->props[i].name, *v = it->vals[i];
		if (v && *v && dead_on_hook(name, r->hook))
			return false;
	}
	for (size_t i = 0; i < m->nprops; i++) {
		const char *name = m->props[i].name, *v = it->vals[i];
		if (!v || !*v || is_param(name) || is_stateful(name))
			continue;
		bool neg = v[0] == '!' && strcmp(name, "tcp-flags");
		if (!holds(prop_holds(r, name, v + neg), neg))
			return false;
	}
	for (size_t k = 0; k < sizeof(stateful) / sizeof(stateful[0]); k++) {
		const char *v = val(r, it, stateful[k]);
		if (!v)
			continue;
		bool neg = v[0] == '!';
		if (!holds(stateful_holds(r, it, stateful[k], v + neg), neg))
			return false;
	}
	return true;
}

/* ---- actions ---- */

static const struct {
	const char *name;
	int code;
} reject_names[] = {
	{ "icmp-network-unreachable", REJ_NET_UNREACH }, { "icmp-host-unreachable", REJ_HOST_UNREACH },
	{ "icmp-port-unreachable", REJ_PORT_UNREACH }, { "icmp-protocol-unreachable", REJ_PROTO_UNREACH },
	{ "icmp-net-prohibited", REJ_NET_PROHIBIT }, { "icmp-host-prohibited", REJ_HOST_PROHIBIT },
	{ "icmp-admin-prohibited", REJ_ADMIN_PROHIBIT }, { "tcp-reset", REJ_TCP_RESET },
	{ "icmp-no-route", REJ_NET_UNREACH }, { "icmp-address-unreachable", REJ_HOST_UNREACH },
	{ "icmp-not-neighbour", REJ_ADMIN_PROHIBIT }, { "icmp-err-src-routing-header", REJ_NET_UNREACH },
	{ "icmp-headers-too-long", REJ_NET_UNREACH },
};

static void finish(struct ref *r, enum rs_action a, const struct item *it)
{
	r->v->action = a;
	r->v->rule_id = it->id;
}

static void nat_of(struct ref *r, const struct item *it, const char *action)
{
	static const char *const kinds[] = { "", "masquerade", "src-nat", "dst-nat", "redirect",
					     "netmap", "same" };
	struct rs_nat *n = &r->v->nat;
	memset(n, 0, sizeof(*n));
	for (uint8_t k = 1; k < 7; k++)
		if (!strcmp(action, kinds[k]))
			n->kind = k;
	const char *ta = val(r, it, "to-addresses"), *tp = val(r, it, "to-ports");
	if (ta) {
		char first[20];
		const char *dash = strchr(ta, '-');
		snprintf(first, sizeof(first), "%.*s", dash ? (int)(dash - ta) : (int)strlen(ta), ta);
		if (!parse_ip4(first, &n->addr_lo) && (!dash || !parse_ip4(dash + 1, &n->addr_hi)))
			n->addr_hi = dash ? n->addr_hi : n->addr_lo;
	}
	uint64_t plo, phi;
	if (tp && range_of(tp, &plo, &phi)) {
		n->port_lo = (uint16_t)plo;
		n->port_hi = (uint16_t)phi;
	}
}

/* The mtu configured on interface ifid (the last menu naming it), 0 if none. */
static uint16_t out_mtu(const struct ref *r, uint16_t ifid)
{
	const char *ifname = name_of(NS_IFACE, ifid);
	uint64_t mtu = 0, v;
	for (const char *const *path = rs_mtu_menus; ifid && *ifname && *path; path++) {
		const struct menu *m = schema_find(*path);
		for (size_t i = 0, n = m ? store_count(r->st, m) : 0; i < n; i++) {
			const struct item *it = store_at(r->st, m, i);
			const char *name = item_get(m, it, "name"), *t = item_get(m, it, "mtu");
			if (name && t && !strcmp(name, ifname) && u64_of(t, &v) && v >= 64 &&
			    v <= 65535)
				mtu = v;
		}
	}
	return (uint16_t)mtu;
}

/* The mangle changes; true when passthrough=no ends the hook. */
static bool change(struct ref *r, const struct item *it, const char *a)
{
	struct pkt *p = r->c->p;
	const char *v;
	uint64_t n;
	if (!strcmp(a, "mark-connection")) {
		if (p->ct)
			p->ct->mark = name_intern(NS_MARK, val(r, it, "new-connection-mark"));
	} else if (!strcmp(a, "mark-packet")) {
		p->packet_mark = name_intern(NS_MARK, val(r, it, "new-packet-mark"));
	} else if (!strcmp(a, "mark-routing")) {
		p->routing_mark = name_intern(NS_MARK, val(r, it, "new-routing-mark"));
	} else if (!strcmp(a, "change-dscp")) {
		if (u64_of(val(r, it, "new-dscp"), &n)) {
			if (p->data)
				pkt_set_dscp(p, (uint8_t)n);
			p->dscp = (uint8_t)n;
		}
	} else if (!strcmp(a, "change-ttl") || !strcmp(a, "change-hop-limit")) {
		v = val(r, it, a[7] == 't' ? "new-ttl" : "new-hop-limit");
		const char *c = v ? strchr(v, ':') : NULL;
		if (c && u64_of(c + 1, &n)) {
			int t = p->ttl;
			if (!strncmp(v, "set", 3))
				t = (int)n;
			else if (!strncmp(v, "increment", 9))
				t = t + (int)n > 255 ? 255 : t + (int)n;
			else
				t = t - (int)n < 0 ? 0 : t - (int)n;
			if (p->data)
				pkt_set_ttl(p, (uint8_t)t);
			p->ttl = (uint8_t)t;
		}
	} else if (!strcmp(a, "change-mss")) {
		v = val(r, it, "new-mss");
		if (v && !strcmp(v, "clamp-to-pmtu"))
			n = rs_clamp_mss(p->family, out_mtu(r, p->out_if));
		else if (!v || !u64_of(v, &n))
			n = 65535;
		pkt_set_mss(p, (uint16_t)n);
	} else if (!strcmp(a, "clear-df")) {
		pkt_clear_df(p);
	} else if (!strcmp(a, "set-priority")) {
		v = val(r, it, "new-priority");
		if (v && !strcmp(v, "from-dscp"))
			p->priority = p->dscp;
		else if (v && !strcmp(v, "from-dscp-high-3-bits"))
			p->priority = p->dscp >> 3;
		else if (v && u64_of(v, &n))
			p->priority = (uint8_t)n;
	} else if (strcmp(a, "strip-ipv4-options") && strcmp(a, "sniff-tzsp") &&
		   strcmp(a, "sniff-pc") && strcmp(a, "route")) {
		return false; /* not a passthrough action */
	}
	const char *pt = val(r, it, "passthrough");
	return pt && !strcmp(pt, "no");
}

/* Runs chain; true when a rule decided for the whole hook. */
static bool ref_chain(struct ref *r, const char *chain, int depth)
{
	struct rs_ctx *c = r->c;
	struct pkt *p = c->p;
	if (depth > RS_MAX_DEPTH)
		return false;
	for (size_t i = 0; i < store_count(r->st, r->m); i++) {
		const struct item *it = store_at(r->st, r->m, i);
		const char *ch = val(r, it, "chain");
		if (!ch || strcmp(ch, chain) || yes(val(r, it, "disabled")) ||
		    (it->flags & IF_DYNAMIC))
			continue;
		bool matched = rule_matches(r, it);
		if (c->trace)
			c->trace(c->trace_ctx, r->table, chain, it->id, matched, NULL);
		if (!matched)
			continue;
		rs_count(c->state, it->id, p->ip_len);
		const char *a = val(r, it, "action");
		if (!a)
			a = "accept";
		if (yes(val(r, it, "log")) || !strcmp(a, "log")) {
			const char *pre = val(r, it, "log-prefix");
			rs_log_packet(c->state, pre ? pre : "", chain, p);
		}
		if (!strcmp(a, "accept")) {
			finish(r, RA_ACCEPT, it);
			return true;
		}
		if (!strcmp(a, "drop")) {
			finish(r, RA_DROP, it);
			return true;
		}
		if (!strcmp(a, "tarpit")) {
			finish(r, RA_TARPIT, it);
			return true;
		}
		if (!strcmp(a, "notrack")) {
			finish(r, RA_NOTRACK, it);
			return true;
		}
		if (!strcmp(a, "reject")) {
			const char *rw = val(r, it, "reject-with");
			finish(r, RA_REJECT, it);
			r->v->reject_with = REJ_NET_UNREACH;
			for (size_t k = 0; rw && k < sizeof(reject_names) / sizeof(reject_names[0]); k++)
				if (!strcmp(rw, reject_names[k].name))
					r->v->reject_with = (uint8_t)reject_names[k].code;
			return true;
		}
		if (!strcmp(a, "masquerade") || !strcmp(a, "src-nat") || !strcmp(a, "dst-nat") ||
		    !strcmp(a, "redirect") || !strcmp(a, "netmap") || !strcmp(a, "same")) {
			finish(r, RA_NAT, it);
			nat_of(r, it, a);
			return true;
		}
		if (!strcmp(a, "jump")) {
			if (ref_chain(r, val(r, it, "jump-target"), depth + 1))
				return true;
			continue;
		}
		if (!strcmp(a, "return"))
			return false;
		if (!strcmp(a, "add-src-to-address-list") || !strcmp(a, "add-dst-to-address-list")) {
			const char *to = val(r, it, "address-list-timeout");
			uint64_t ms = 0, exp = 0;
			if (to && strcmp(to, "none-dynamic") && strcmp(to, "none-static") &&
			    !parse_time_ms(to, &ms) && ms)
				exp = c->now + ms * 1000000ull;
			rs_state_addrlist_add(c->state, name_intern(NS_ADDRLIST, val(r, it, "address-list")),
					      a[4] == 's' ? &p->src : &p->dst, p->family, exp, c->now);
			continue;
		}
		if (!strcmp(a, "fasttrack-connection")) {
			/* not a helper's control connection: its helper reads every packet */
			if (p->ct && p->family == 4 && (p->proto == 6 || p->proto == 17) &&
			    !((p->ct->helper & CTH_KIND_MASK) && !(p->ct->helper & CTH_EXPECTED)))
				p->ct->status |= CTS_FASTTRACK;
			continue;
		}
		if (change(r, it, a)) {
			finish(r, RA_ACCEPT, it);
			return true;
		}
	}
	return false;
}

void rs_ref_run(struct store *st, enum rs_table table, enum rs_hook hook, struct rs_ctx *c,
		struct rs_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = RA_CONTINUE;
	uint8_t fam = c->p->family;
	if ((fam != 4 && fam != 6) || (unsigned)table >= RT_MAX || (unsigned)hook >= RH_MAX ||
	    rs_builtin_hook(table, rs_hook_names[hook]) != (int)hook)
		return;
	struct ref r;
	memset(&r, 0, sizeof(r));
	r.st = st;
	r.m = rs_table_menu(fam, table);
	r.c = c;
	r.table = table;
	r.hook = hook;
	r.v = v;
	if (!r.m)
		return;
	if (!ref_chain(&r, rs_hook_names[hook], 0)) {
		/* end of the built-in chain, or return from it */
		memset(v, 0, sizeof(*v));
		v->action = RA_CONTINUE;
	}
}
