/*
 * IPv6 addressing: /ipv6/address and /ipv6/route. The IPv6 firewall
 * tables live with the IPv4 ones in menus_firewall.c.
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
