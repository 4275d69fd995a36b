/*
 * IPv6 addressing: /ipv6/address and /ipv6/route, and router
 * advertisements: /ipv6/nd (one built-in entry, interface=all) and
 * /ipv6/nd/prefix (static prefixes; those of /ipv6/address with
 * advertise=yes on a /64 are advertised without an entry here). The IPv6
 * firewall tables live with the IPv4 ones in menus_firewall.c.
 * The router's link-local addresses (fe80::/64 from each interface's MAC)
 * are computed by the engine and are not items here; RouterOS lists them as
 * dynamic entries.
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"
#include "store.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "invalid value 'IN' for NAME: why", with a short, printable excerpt. */
static int bad6(const struct prop *p, const char *in, struct err *e, const char *why)
{
	char ex[44];
	size_t n = 0;
	for (const char *s = in; *s && n < 40; s++)
		ex[n++] = isprint((unsigned char)*s) ? *s : '?';
	ex[n] = 0;
	return err_setp(e, p->name, "invalid value '%s%s' for %s: %s", ex,
			strlen(in) > 40 ? "..." : "", p->name, why);
}

/*
 * An interface address: "2001:db8::1/64" with the host bits kept. Without a
 * prefix length the address gets /64, the length of every SLAAC subnet
 * (RouterOS does the same).
 */
static int check_addr6(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char ip[48];
	const char *slash = strchr(in, '/');
	size_t n = slash ? (size_t)(slash - in) : strlen(in);
	uint8_t a[16];
	long len = 64;
	if (n == 0 || n >= sizeof(ip))
		return bad6(p, in, e, "expected an IPv6 address with prefix length such as 2001:db8::1/64");
	memcpy(ip, in, n);
	ip[n] = 0;
	if (parse_ip6(ip, a) < 0)
		return bad6(p, in, e, "expected an IPv6 address with prefix length such as 2001:db8::1/64");
	if (slash) {
		char *end;
		const char *d = slash + 1;
		if (!isdigit((unsigned char)*d))
			return bad6(p, in, e, "expected a prefix length from 0 to 128");
		len = strtol(d, &end, 10);
		if (*end || len < 0 || len > 128)
			return bad6(p, in, e, "expected a prefix length from 0 to 128");
	}
	if (a[0] == 0xff)
		return bad6(p, in, e, "a multicast address cannot be an interface address");
	format_ip6(a, out);
	sbuf_printf(out, "/%ld", len);
	return 0;
}

/* An interface name as a gateway: what RouterOS allows in a name, no ':'. */
static bool gw_ifname_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isgraph((unsigned char)s[i]) || s[i] == ':' || s[i] == '%' || s[i] == ',')
			return false;
	return true;
}

/*
 * A gateway: an IPv6 address (2001:db8::1), an interface (ether1), or a
 * link-local address with the interface it is reached through
 * (fe80::1%ether1), which a link-local gateway needs.
 */
static int check_gateway6(const struct prop *p, const char *in, struct sbuf *out,
			  struct err *e)
{
	static const char *const why =
		"expected an IPv6 address, an interface, or address%interface";
	const char *pct = strchr(in, '%');
	size_t n = pct ? (size_t)(pct - in) : strlen(in);
	char ip[48];
	uint8_t a[16];
	if (!pct && !strchr(in, ':')) {
		if (!gw_ifname_ok(in, n))
			return bad6(p, in, e, why);
		sbuf_puts(out, in);
		return 0;
	}
	if (n == 0 || n >= sizeof(ip))
		return bad6(p, in, e, why);
	memcpy(ip, in, n);
	ip[n] = 0;
	if (parse_ip6(ip, a) < 0)
		return bad6(p, in, e, why);
	if (a[0] == 0xff)
		return bad6(p, in, e, "a multicast address cannot be a gateway");
	if (pct && !gw_ifname_ok(pct + 1, strlen(pct + 1)))
		return bad6(p, in, e, why);
	format_ip6(a, out);
	if (pct)
		sbuf_printf(out, "%%%s", pct + 1);
	return 0;
}

/* ---- /ipv6/address ---- */

static const struct prop ip6addr_props[] = {
	{ .name = "address", .type = T_CUSTOM, .flags = PF_REQ, .check = check_addr6,
	  .help = "Address and prefix length, 2001:db8::1/64 (/64 when not given)" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface the address is on" },
	{ .name = "advertise", .type = T_BOOL, .def = "yes",
	  .help = "Advertise the prefix in router advertisements (SLAAC)" },
	{ .name = "eui-64", .type = T_BOOL, .def = "no",
	  .help = "Replace the last 64 bits by the interface's EUI-64 identifier" },
	{ .name = "no-dad", .type = T_BOOL, .def = "no",
	  .help = "Skip duplicate address detection (anycast addresses)" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const ip6addr_columns[] = { "address", "interface", "advertise", NULL };

const struct menu menu_ipv6_address = {
	.path = "/ipv6/address",
	MENU_PROPS(ip6addr_props),
	.flagdefs = schema_flags_xid,
	.columns = ip6addr_columns,
	.help = "IPv6 addresses of the interfaces",
};

/* ---- /ipv6/route ---- */

static const char *const route6_types[] = { "unicast", "blackhole", "prohibit", "unreachable",
					    NULL };

static const struct prop route6_props[] = {
	{ .name = "dst-address", .type = T_NET6, .def = "::/0", .help = "Destination network" },
	{ .name = "gateway", .type = T_CUSTOM, .check = check_gateway6,
	  .help = "Next hop: address, interface, or fe80::1%ether1" },
	{ .name = "distance", .type = T_INT, .def = "1", .min = 0, .max = 255,
	  .help = "Preference among routes to the same network, lower wins" },
	{ .name = "type", .type = T_ENUM, .def = "unicast", .enums = route6_types,
	  .help = "What the route does with the traffic" },
	{ .name = "active", .type = T_BOOL, .flags = PF_RO, .help = "The route is in use" },
	{ .name = "connect", .type = T_BOOL, .flags = PF_RO,
	  .help = "Connected route of an interface address" },
	{ .name = "static", .type = T_BOOL, .flags = PF_RO, .help = "Route added by the user" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef route6_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'A', "active", "active" },
	{ 'D', "dynamic", "dynamic" },
	{ 'C', "connect", "connect" },
	{ 'S', "static", "static" },
	{ 0, NULL, NULL },
};

static const char *const route6_columns[] = { "dst-address", "gateway", "distance", NULL };

/* A unicast route needs somewhere to go. */
static int route6_validate(struct store *st, const struct menu *m, const struct item *it,
			   struct err *e)
{
	(void)st;
	const char *type = item_get(m, it, "type");
	const char *gw = item_get(m, it, "gateway");
	if ((!type || !strcmp(type, "unicast")) && (!gw || !*gw))
		return err_setp(e, "gateway", "a unicast route needs a gateway");
	return 0;
}

const struct menu menu_ipv6_route = {
	.path = "/ipv6/route",
	MENU_PROPS(route6_props),
	.flagdefs = route6_flags,
	.columns = route6_columns,
	.validate = route6_validate,
	.help = "IPv6 routing table",
};

/* ---- /ipv6/nd: router advertisements (RFC 4861 6.2) ---- */

/* A time, or one of p->enums ("unspecified", "none", "infinity"): a time
 * within p->min..p->max milliseconds when max > 0. */
static int check_time_or_word(const struct prop *p, const char *in, struct sbuf *out,
			      struct err *e)
{
	for (const char *const *w = p->enums; w && *w; w++)
		if (!strcmp(*w, in)) {
			sbuf_puts(out, in);
			return 0;
		}
	uint64_t ms;
	if (parse_time_ms(in, &ms) < 0 || (p->max > 0 && ((long long)ms < p->min ||
							  (long long)ms > p->max))) {
		struct sbuf words = SBUF_INIT, lo = SBUF_INIT, hi = SBUF_INIT;
		for (const char *const *w = p->enums; w && *w; w++)
			sbuf_printf(&words, "%s, ", *w);
		format_time_ms((uint64_t)p->min, &lo);
		format_time_ms((uint64_t)p->max, &hi);
		struct sbuf why = SBUF_INIT;
		sbuf_printf(&why, "expected %sa time", sbuf_str(&words));
		if (p->max > 0)
			sbuf_printf(&why, " from %s to %s", sbuf_str(&lo), sbuf_str(&hi));
		bad6(p, in, e, sbuf_str(&why));
		sbuf_free(&why);
		sbuf_free(&words);
		sbuf_free(&lo);
		sbuf_free(&hi);
		return -1;
	}
	format_time_ms(ms, out);
	return 0;
}

/*
 * ra-interval: "MIN-MAX", MIN from 3s to 20m50s, MAX from 4s to 30m, MIN at
 * most 0.75 MAX (RFC 4861 6.2.1); a single time T is MAX with MIN T/3 (the
 * RFC's default) rounded to the second.
 */
int menus_ra_interval(const char *in, uint64_t *min_ms, uint64_t *max_ms)
{
	char a[32];
	const char *dash = strchr(in, '-');
	size_t n = dash ? (size_t)(dash - in) : strlen(in);
	if (!n || n >= sizeof(a))
		return -1;
	memcpy(a, in, n);
	a[n] = 0;
	uint64_t lo, hi;
	if (parse_time_ms(a, dash ? &lo : &hi) < 0 || (dash && parse_time_ms(dash + 1, &hi) < 0))
		return -1;
	if (!dash)
		lo = hi / 3 / 1000 * 1000;
	if (lo < 3000 || lo > 1250000 || hi < 4000 || hi > 1800000 || lo * 4 > hi * 3)
		return -1;
	*min_ms = lo;
	*max_ms = hi;
	return 0;
}

static int check_ra_interval(const struct prop *p, const char *in, struct sbuf *out,
			     struct err *e)
{
	uint64_t lo, hi;
	if (menus_ra_interval(in, &lo, &hi) < 0)
		return bad6(p, in, e, "expected MIN-MAX such as 3m20s-10m (MIN 3s..20m50s, MAX "
				      "4s..30m, MIN at most 3/4 of MAX)");
	format_time_ms(lo, out);
	sbuf_putc(out, '-');
	format_time_ms(hi, out);
	return 0;
}

/* "all", or the name of an interface (checked by nd_validate). */
static int check_nd_iface(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	if (!gw_ifname_ok(in, strlen(in)))
		return bad6(p, in, e, "expected all or an interface name");
	sbuf_puts(out, in);
	return 0;
}

static bool iface_known(struct store *st, const char *name)
{
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (!strncmp(m->path, "/interface/", 11) && m->key && !(m->flags & MF_RUNTIME) &&
		    !strcmp(m->key, "name") && schema_prop(m, "mtu", NULL) >= 0 &&
		    store_by_key(st, m, name))
			return true;
	}
	return false;
}

static const char *const unspecified_word[] = { "unspecified", NULL };
static const char *const none_word[] = { "none", NULL };
static const char *const infinity_word[] = { "infinity", NULL };

static const struct prop nd_props[] = {
	{ .name = "interface", .type = T_CUSTOM, .flags = PF_REQ, .check = check_nd_iface,
	  .help = "Interface the advertisements go out of, or all (every running one)" },
	{ .name = "ra-interval", .type = T_CUSTOM, .def = "3m20s-10m", .check = check_ra_interval,
	  .help = "Least and most time between unsolicited advertisements" },
	{ .name = "ra-delay", .type = T_TIME, .def = "3s",
	  .help = "Least time between two multicast advertisements" },
	{ .name = "mtu", .type = T_CUSTOM, .def = "unspecified", .enums = unspecified_word,
	  .min = 1280, .max = 65535, .check = menus_check_int_or_word,
	  .help = "Link MTU advertised (unspecified: no MTU option)" },
	{ .name = "reachable-time", .type = T_CUSTOM, .def = "unspecified",
	  .enums = unspecified_word, .min = 0, .max = 3600000, .check = check_time_or_word,
	  .help = "How long hosts take a neighbour for reachable after a confirmation" },
	{ .name = "retransmit-interval", .type = T_CUSTOM, .def = "unspecified",
	  .enums = unspecified_word, .min = 0, .max = 0, .check = check_time_or_word,
	  .help = "Time between the neighbour solicitations of hosts" },
	{ .name = "ra-lifetime", .type = T_CUSTOM, .def = "30m", .enums = none_word, .min = 0,
	  .max = 9000000, .check = check_time_or_word,
	  .help = "How long hosts keep the router as a default router (none: not one)" },
	{ .name = "hop-limit", .type = T_CUSTOM, .def = "unspecified", .enums = unspecified_word,
	  .min = 1, .max = 255, .check = menus_check_int_or_word,
	  .help = "Hop limit hosts should use (unspecified: their own)" },
	{ .name = "advertise-mac-address", .type = T_BOOL, .def = "yes",
	  .help = "Carry the interface's MAC address (source link-layer option)" },
	{ .name = "advertise-dns", .type = T_BOOL, .def = "no",
	  .help = "Carry the IPv6 servers of /ip dns (RDNSS option)" },
	{ .name = "managed-address-configuration", .type = T_BOOL, .def = "no",
	  .help = "Hosts get addresses by DHCPv6 (M flag)" },
	{ .name = "other-configuration", .type = T_BOOL, .def = "no",
	  .help = "Hosts get other settings by DHCPv6 (O flag)" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef nd_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ '*', "default", "builtin" },
	{ 0, NULL, NULL },
};

static const char *const nd_builtin[] = { "interface=all", NULL };

/* One entry per interface (all counts as one); the interface exists. */
static int nd_validate(struct store *st, const struct menu *m, const struct item *it,
		       struct err *e)
{
	const char *ifn = item_get(m, it, "interface");
	if (!ifn)
		return 0;
	if (strcmp(ifn, "all") && !iface_known(st, ifn))
		return err_setp(e, "interface", "input does not match any value of interface");
	for (size_t i = 0; i < store_count(st, m); i++) {
		const struct item *o = store_at(st, m, i);
		const char *on = item_get(m, o, "interface");
		if (o->id != it->id && on && !strcmp(on, ifn))
			return err_setp(e, "interface", "failure: entry for %s already exists", ifn);
	}
	return 0;
}

const struct menu menu_ipv6_nd = {
	.path = "/ipv6/nd",
	MENU_PROPS(nd_props),
	.flagdefs = nd_flags,
	.builtin = nd_builtin,
	.validate = nd_validate,
	.help = "Router advertisements per interface (stateless autoconfiguration)",
};

/* ---- /ipv6/nd/prefix ---- */

/* A prefix to advertise: a network, host bits cleared (2001:db8:1::/64). */
static int check_nd_prefix(const struct prop *p, const char *in, struct sbuf *out,
			   struct err *e)
{
	char ip[48];
	const char *slash = strchr(in, '/');
	size_t n = slash ? (size_t)(slash - in) : strlen(in);
	uint8_t a[16];
	char *end = NULL;
	long len = slash ? strtol(slash + 1, &end, 10) : 64;
	if (!n || n >= sizeof(ip) || (slash && (!isdigit((unsigned char)slash[1]) || *end)) ||
	    len < 0 || len > 128)
		return bad6(p, in, e, "expected an IPv6 prefix such as 2001:db8:1::/64");
	memcpy(ip, in, n);
	ip[n] = 0;
	if (parse_ip6(ip, a) < 0 || a[0] == 0xff)
		return bad6(p, in, e, "expected an IPv6 prefix such as 2001:db8:1::/64");
	for (int b = (int)len; b < 128; b++)
		a[b / 8] &= (uint8_t)~(0x80 >> (b % 8));
	format_ip6(a, out);
	sbuf_printf(out, "/%ld", len);
	return 0;
}

static const struct prop ndprefix_props[] = {
	{ .name = "prefix", .type = T_CUSTOM, .flags = PF_REQ, .check = check_nd_prefix,
	  .help = "Prefix advertised for autoconfiguration and on-link determination" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface the prefix is advertised on" },
	{ .name = "on-link", .type = T_BOOL, .def = "yes",
	  .help = "Hosts take the prefix for on-link (L flag)" },
	{ .name = "autonomous", .type = T_BOOL, .def = "yes",
	  .help = "Hosts may make addresses from the prefix (A flag)" },
	{ .name = "valid-lifetime", .type = T_CUSTOM, .def = "4w2d", .enums = infinity_word,
	  .check = check_time_or_word, .help = "How long addresses from the prefix stay valid" },
	{ .name = "preferred-lifetime", .type = T_CUSTOM, .def = "1w", .enums = infinity_word,
	  .check = check_time_or_word,
	  .help = "How long addresses from the prefix stay preferred" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const ndprefix_columns[] = { "prefix", "valid-lifetime",
						"preferred-lifetime", "autonomous", "interface",
						NULL };

/* A lifetime in seconds: infinity is 0xffffffff (RFC 4861 4.6.2). */
int menus_lifetime_s(const char *v, uint32_t *s)
{
	uint64_t ms;
	if (v && !strcmp(v, "infinity")) {
		*s = 0xffffffffu;
		return 0;
	}
	if (!v || parse_time_ms(v, &ms) < 0)
		return -1;
	*s = ms / 1000 >= 0xffffffffull ? 0xfffffffeu : (uint32_t)(ms / 1000);
	return 0;
}

/* The valid lifetime is at least the preferred one. */
static int ndprefix_validate(struct store *st, const struct menu *m, const struct item *it,
			     struct err *e)
{
	(void)st;
	uint32_t v = 0, p = 0;
	if (menus_lifetime_s(item_get(m, it, "valid-lifetime"), &v) == 0 &&
	    menus_lifetime_s(item_get(m, it, "preferred-lifetime"), &p) == 0 && p > v)
		return err_setp(e, "preferred-lifetime",
				"preferred-lifetime must not be longer than valid-lifetime");
	return 0;
}

const struct menu menu_ipv6_nd_prefix = {
	.path = "/ipv6/nd/prefix",
	MENU_PROPS(ndprefix_props),
	.flagdefs = schema_flags_xid,
	.columns = ndprefix_columns,
	.validate = ndprefix_validate,
	.help = "Prefixes advertised besides those of /ipv6 address (advertise=yes, /64)",
};

/* ---- /ipv6/neighbor (runtime) ---- */

/* The live dataplane's neighbour discovery table (its provider fills it);
 * empty in sim and make run, which have none. remove forgets a neighbour
 * (its remove hook), to be learnt again, as /ip arp's learnt entries. */
static const struct prop neighbor_props[] = {
	{ .name = "address", .type = T_STR, .flags = PF_RO, .help = "The neighbour's IPv6 address" },
	{ .name = "interface", .type = T_STR, .flags = PF_RO, .help = "Interface it is on" },
	{ .name = "mac-address", .type = T_STR, .flags = PF_RO, .help = "Its MAC address" },
	{ .name = "status", .type = T_STR, .flags = PF_RO,
	  .help = "reachable, stale, probe (being checked) or incomplete (asked, no answer yet)" },
	{ .name = "router", .type = T_BOOL, .flags = PF_RO,
	  .help = "The neighbour advertises itself a router (its NA's router flag, its RAs)" },
};

static const struct flagdef neighbor_flags[] = {
	{ 'R', "router", "router" },
	{ 0, NULL, NULL },
};

static const char *const neighbor_columns[] = { "address", "interface", "mac-address", "status",
						NULL };

const struct menu menu_ipv6_neighbor = {
	.path = "/ipv6/neighbor",
	MENU_PROPS(neighbor_props),
	.flagdefs = neighbor_flags,
	.flags = MF_RUNTIME | MF_NOEXPORT | MF_FORGET,
	.columns = neighbor_columns,
	.help = "IPv6 neighbours the router knows (neighbour discovery)",
};
