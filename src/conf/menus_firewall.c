/*
 * The firewall menus: /ip/firewall (filter, nat, mangle, raw,
 * address-list, layer7-protocol, connection tracking settings and the
 * runtime connection table) and their /ipv6/firewall counterparts.
 * Property order is the order RouterOS prints a rule in: chain, action,
 * the action's parameters, the matchers, then log and the rest.
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"

#include <ctype.h>
#include <regex.h>
#include <string.h>

#include "store.h"

/* ---- value checks ---- */

struct fw_proto {
	const char *name;
	int num;
};

/* The canonical name of a number is its first entry; the rest are spellings
 * accepted on input (Linux /etc/protocols names). */
static const struct fw_proto fw_protos[] = {
	{ "icmp", 1 }, { "igmp", 2 }, { "ggp", 3 }, { "ipencap", 4 }, { "st", 5 },
	{ "tcp", 6 }, { "egp", 8 }, { "pup", 12 }, { "udp", 17 }, { "hmp", 20 },
	{ "xns-idp", 22 }, { "rdp", 27 }, { "iso-tp4", 29 }, { "dccp", 33 },
	{ "xtp", 36 }, { "ddp", 37 }, { "idpr-cmtp", 38 }, { "ipv6", 41 },
	{ "ipv6-route", 43 }, { "ipv6-frag", 44 }, { "idrp", 45 }, { "rsvp", 46 },
	{ "gre", 47 }, { "ipsec-esp", 50 }, { "ipsec-ah", 51 }, { "icmpv6", 58 },
	{ "ipv6-nonxt", 59 }, { "ipv6-opts", 60 }, { "rspf", 73 }, { "vmtp", 81 },
	{ "ospf", 89 }, { "ipip", 94 }, { "encap", 98 }, { "pim", 103 },
	{ "vrrp", 112 }, { "l2tp", 115 }, { "sctp", 132 }, { "udp-lite", 136 },
	{ "ip-encap", 4 }, { "esp", 50 }, { "ah", 51 }, { "ipv6-icmp", 58 },
};

#define FW_NPROTOS (sizeof(fw_protos) / sizeof(fw_protos[0]))

/* 0..255 written in decimal digits only, or -1. */
static int fw_proto_digits(const char *s)
{
	int n = 0;
	size_t len = strlen(s);
	if (len == 0 || len > 3)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	return n <= 255 ? n : -1;
}

int menus_protocol_number(const char *v)
{
	if (!v)
		return -1;
	for (size_t i = 0; i < FW_NPROTOS; i++)
		if (!strcmp(fw_protos[i].name, v))
			return fw_protos[i].num;
	return fw_proto_digits(v);
}

/* protocol: a name or a number 0..255; a number with a name becomes the name. */
static int fw_check_protocol(const struct prop *p, const char *in, struct sbuf *out,
			     struct err *e)
{
	int num = menus_protocol_number(in);
	if (num < 0)
		return err_setp(e, p->name,
				"invalid value for argument %s: expected a protocol name or a number 0..255",
				p->name);
	for (size_t i = 0; i < FW_NPROTOS; i++) {
		if (fw_protos[i].num == num) {
			sbuf_puts(out, fw_protos[i].name);
			return 0;
		}
	}
	sbuf_printf(out, "%d", num);
	return 0;
}

static bool fw_all_digits(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* A DNS name an address-list entry may hold instead of an address. Names
 * whose first three labels are numbers look like a mistyped address and are
 * refused, so "10.0.0.1-10.0.0.x" is an error, not a host. */
static bool fw_is_hostname(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len > 253)
		return false;
	bool alpha = false;
	int label = 0, numeric = 0;
	const char *start = s;
	for (const char *c = s;; c++) {
		if (*c == '.' || *c == '\0') {
			size_t n = (size_t)(c - start);
			if (n == 0 || n > 63 || start[0] == '-' || start[n - 1] == '-')
				return false;
			if (label < 3 && fw_all_digits(start, n))
				numeric++;
			label++;
			if (*c == '\0')
				break;
			start = c + 1;
			continue;
		}
		if (isalpha((unsigned char)*c))
			alpha = true;
		else if (!isdigit((unsigned char)*c) && *c != '-')
			return false;
	}
	return alpha && numeric < 3;
}

static int fw_addr_or_host(const struct prop *p, enum ptype t, const char *in,
			   struct sbuf *out, struct err *e)
{
	struct prop as_addr = *p;
	as_addr.type = t;
	as_addr.flags = 0;
	as_addr.check = NULL;
	size_t mark = out->len;
	if (type_parse_one(&as_addr, in, out, NULL) == 0)
		return 0;
	sbuf_truncate(out, mark);
	if (fw_is_hostname(in)) {
		sbuf_puts(out, in);
		return 0;
	}
	return err_setp(e, p->name,
			"invalid value for argument %s: expected an address, network, range or DNS name",
			p->name);
}

static int fw_check_addr4_or_host(const struct prop *p, const char *in, struct sbuf *out,
				  struct err *e)
{
	return fw_addr_or_host(p, T_ADDR4, in, out, e);
}

static int fw_check_addr6_or_host(const struct prop *p, const char *in, struct sbuf *out,
				  struct err *e)
{
	return fw_addr_or_host(p, T_ADDR6, in, out, e);
}

/* ---- cross-property checks ---- */

static bool fw_set(const char *v)
{
	return v && *v;
}

static bool fw_in(const char *v, const char *const *set)
{
	for (; v && *set; set++)
		if (!strcmp(v, *set))
			return true;
	return false;
}

static const char *const fw_port_protos[] = { "tcp", "udp", "udp-lite", "sctp", "dccp", NULL };

struct fw_need {
	const char *action;
	const char *param;
};

/* Actions that cannot work without a parameter. */
static const struct fw_need fw_needs[] = {
	{ "jump", "jump-target" },
	{ "add-src-to-address-list", "address-list" },
	{ "add-dst-to-address-list", "address-list" },
	{ "mark-connection", "new-connection-mark" },
	{ "mark-packet", "new-packet-mark" },
	{ "mark-routing", "new-routing-mark" },
	{ "change-dscp", "new-dscp" },
	{ "change-mss", "new-mss" },
	{ "change-ttl", "new-ttl" },
	{ "change-hop-limit", "new-hop-limit" },
	{ "set-priority", "new-priority" },
	{ "sniff-tzsp", "sniff-target" },
	{ "route", "route-dst" },
};

static const char *const fw_jump_actions[] = { "jump", NULL };
static const char *const fw_reject_actions[] = { "reject", NULL };
static const char *const fw_to_addr_actions[] = { "dst-nat", "src-nat", "netmap", "same", NULL };
static const char *const fw_to_port_actions[] = { "dst-nat", "src-nat", "masquerade", "redirect",
						  "netmap", "same", NULL };

struct fw_only {
	const char *param;
	const char *const *actions;
	const char *text;
};

/* Parameters that mean nothing to other actions. */
static const struct fw_only fw_onlys[] = {
	{ "jump-target", fw_jump_actions, "jump" },
	{ "reject-with", fw_reject_actions, "reject" },
	{ "to-addresses", fw_to_addr_actions, "dst-nat, src-nat, netmap or same" },
	{ "to-ports", fw_to_port_actions, "dst-nat, src-nat, masquerade, redirect, netmap or same" },
};

static int fw_check_chain(const char *chain, struct err *e)
{
	if (!fw_set(chain))
		return err_setp(e, "chain", "failure: chain not specified");
	for (const char *c = chain; *c; c++)
		if (isspace((unsigned char)*c) || iscntrl((unsigned char)*c))
			return err_setp(e, "chain", "failure: bad chain name \"%s\"", chain);
	return 0;
}

static int fw_rule_validate(struct store *st, const struct menu *m, const struct item *it,
			    struct err *e)
{
	if (fw_check_chain(item_get(m, it, "chain"), e) < 0)
		return -1;
	const char *action = item_get(m, it, "action");
	if (!action)
		action = "accept";

	for (size_t i = 0; i < sizeof(fw_needs) / sizeof(fw_needs[0]); i++) {
		if (strcmp(action, fw_needs[i].action))
			continue;
		if (!fw_set(item_get(m, it, fw_needs[i].param)))
			return err_setp(e, fw_needs[i].param,
					"failure: %s must be specified for action=%s",
					fw_needs[i].param, action);
	}
	for (size_t i = 0; i < sizeof(fw_onlys) / sizeof(fw_onlys[0]); i++) {
		if (fw_set(item_get(m, it, fw_onlys[i].param)) &&
		    !fw_in(action, fw_onlys[i].actions))
			return err_setp(e, fw_onlys[i].param,
					"failure: %s can be used only with action %s",
					fw_onlys[i].param, fw_onlys[i].text);
	}

	static const char *const ports[] = { "src-port", "dst-port", "port" };
	const char *proto = item_get(m, it, "protocol");
	int num = menus_protocol_number(proto);
	bool port_proto = num == 6 || num == 17 || num == 33 || num == 132 || num == 136 ||
			  fw_in(proto, fw_port_protos);
	for (size_t i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		if (fw_set(item_get(m, it, ports[i])) && !port_proto)
			return err_setp(e, ports[i],
					"failure: %s can be used only with tcp, udp, udp-lite, sctp or dccp protocols",
					ports[i]);
	}
	return 0;
}

/* Two entries of one list may not hold the same address. */
static int fw_addrlist_validate(struct store *st, const struct menu *m, const struct item *it,
				struct err *e)
{
	const char *list = item_get(m, it, "list");
	const char *addr = item_get(m, it, "address");
	if (!st || !list || !addr)
		return 0;
	size_t n = store_count(st, m);
	for (size_t i = 0; i < n; i++) {
		const struct item *o = store_at(st, m, i);
		if (o == it || (it->id && o->id == it->id))
			continue;
		const char *ol = item_get(m, o, "list");
		const char *oa = item_get(m, o, "address");
		if (ol && oa && !strcmp(ol, list) && !strcmp(oa, addr))
			return err_setp(e, "address", "failure: already have such entry");
	}
	return 0;
}

static int fw_layer7_validate(struct store *st, const struct menu *m, const struct item *it,
			      struct err *e)
{
	const char *re = item_get(m, it, "regexp");
	if (!fw_set(re))
		return 0;
	regex_t rx;
	int rc = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB);
	if (rc != 0) {
		char why[128];
		regerror(rc, &rx, why, sizeof(why));
		return err_setp(e, "regexp", "failure: bad regexp: %s", why);
	}
	regfree(&rx);
	return 0;
}

/* ---- value sets ---- */

static const char *const fw_filter_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "drop",
	"fasttrack-connection", "jump", "log", "passthrough", "reject", "return", "tarpit", NULL
};
static const char *const fw_nat_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "dst-nat", "jump", "log",
	"masquerade", "netmap", "passthrough", "redirect", "return", "same", "src-nat", NULL
};
static const char *const fw_mangle_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "change-dscp",
	"change-mss", "change-ttl", "clear-df", "fasttrack-connection", "jump", "log",
	"mark-connection", "mark-packet", "mark-routing", "passthrough", "return", "route",
	"set-priority", "sniff-pc", "sniff-tzsp", "strip-ipv4-options", NULL
};
static const char *const fw_raw_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "drop", "jump", "log",
	"notrack", "passthrough", "return", NULL
};
static const char *const fw6_filter_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "drop", "jump", "log",
	"passthrough", "reject", "return", NULL
};
static const char *const fw6_mangle_actions[] = {
	"accept", "add-dst-to-address-list", "add-src-to-address-list", "change-dscp",
	"change-hop-limit", "change-mss", "jump", "log", "mark-connection", "mark-packet",
	"mark-routing", "passthrough", "return", "set-priority", "sniff-pc", "sniff-tzsp", NULL
};

static const char *const fw_reject_with[] = {
	"icmp-admin-prohibited", "icmp-host-prohibited", "icmp-host-unreachable",
	"icmp-net-prohibited", "icmp-network-unreachable", "icmp-port-unreachable",
	"icmp-protocol-unreachable", "tcp-reset", NULL
};
static const char *const fw6_reject_with[] = {
	"icmp-address-unreachable", "icmp-admin-prohibited", "icmp-err-src-routing-header",
	"icmp-headers-too-long", "icmp-no-route", "icmp-not-neighbour", "icmp-port-unreachable",
	"tcp-reset", NULL
};

static const char *const fw_addr_types[] = { "unicast", "local", "broadcast", "multicast", NULL };
static const char *const fw_conn_states[] = { "established", "invalid", "new", "related",
					      "untracked", NULL };
static const char *const fw_nat_states[] = { "srcnat", "dstnat", NULL };
static const char *const fw_conn_types[] = { "ftp", "gre", "h323", "irc", "pptp", "quake3",
					     "sip", "tftp", NULL };
static const char *const fw_any_if[] = { "all", "all-ethernet", "all-ppp", "all-vlan",
					 "all-wireless", NULL };
static const char *const fw_any_iflist[] = { "all", "none", "dynamic", NULL };
static const char *const fw_ipv4_options[] = {
	"any", "loose-source-routing", "no-record-route", "no-router-alert",
	"no-source-routing", "no-timestamp", "none", "record-route", "router-alert",
	"strict-source-routing", "timestamp", NULL
};
static const char *const fw_list_timeouts[] = { "none-dynamic", "none-static", NULL };
static const char *const fw_mss_words[] = { "clamp-to-pmtu", NULL };
static const char *const fw_priority_words[] = { "from-dscp", "from-dscp-high-3-bits",
						 "from-ingress", NULL };

/* ---- property blocks shared by the rule menus ---- */

#define FW_CHAIN \
	{ .name = "chain", .type = T_STR, .flags = PF_REQ, \
	  .help = "Chain the rule belongs to (built-in or custom)" }
#define FW_ACTION(set) \
	{ .name = "action", .type = T_ENUM, .def = "accept", .enums = (set), \
	  .help = "What to do with a matching packet" }

#define FW_P_JUMP \
	{ .name = "jump-target", .type = T_STR, .help = "Chain to jump to (action=jump)" }
#define FW_P_REJECT(set) \
	{ .name = "reject-with", .type = T_ENUM, .enums = (set), \
	  .help = "ICMP error or TCP reset sent back (action=reject)" }
#define FW_P_ADDRLIST \
	{ .name = "address-list", .type = T_STR, \
	  .help = "List an add-src/dst-to-address-list action adds to" }, \
	{ .name = "address-list-timeout", .type = T_TIME, .def = "none-dynamic", \
	  .enums = fw_list_timeouts, .help = "How long the added address stays in the list" }
#define FW_P_MARKS \
	{ .name = "new-connection-mark", .type = T_STR, \
	  .help = "Mark set on the connection (action=mark-connection)" }, \
	{ .name = "new-packet-mark", .type = T_STR, \
	  .help = "Mark set on the packet (action=mark-packet)" }, \
	{ .name = "new-routing-mark", .type = T_STR, \
	  .help = "Routing mark set on the packet (action=mark-routing)" }
#define FW_P_DSCP \
	{ .name = "new-dscp", .type = T_INT, .min = 0, .max = 63, \
	  .help = "DSCP value written (action=change-dscp)" }
#define FW_P_MSS \
	{ .name = "new-mss", .type = T_CUSTOM, .min = 0, .max = 65535, .enums = fw_mss_words, \
	  .check = menus_check_int_or_word, \
	  .help = "TCP MSS written (action=change-mss)" }
#define FW_P_PRIORITY \
	{ .name = "new-priority", .type = T_CUSTOM, .min = 0, .max = 7, .enums = fw_priority_words, \
	  .check = menus_check_int_or_word, \
	  .help = "Packet priority set (action=set-priority)" }
#define FW_P_SNIFF(addr) \
	{ .name = "sniff-target", .type = (addr), \
	  .help = "Collector that receives TZSP copies (action=sniff-tzsp)" }, \
	{ .name = "sniff-target-port", .type = T_PORT, \
	  .help = "UDP port of the TZSP collector (37008 when unset)" }, \
	{ .name = "sniff-id", .type = T_INT, .min = 0, .max = 255, \
	  .help = "Sensor id written in TZSP copies" }
#define FW_P_PASSTHROUGH \
	{ .name = "passthrough", .type = T_BOOL, .def = "yes", \
	  .help = "Whether evaluation continues after a mark or change action" }

#define FW_M_STATE \
	{ .name = "connection-state", .type = T_ENUM, .flags = PF_NEG | PF_LIST, \
	  .enums = fw_conn_states, .help = "Connection tracking state of the packet" }
#define FW_M_NATSTATE \
	{ .name = "connection-nat-state", .type = T_ENUM, .flags = PF_NEG | PF_LIST, \
	  .enums = fw_nat_states, .help = "Whether the connection is source or destination NATed" }
#define FW_M_L3(addr) \
	{ .name = "protocol", .type = T_CUSTOM, .flags = PF_NEG, .check = fw_check_protocol, \
	  .help = "IP protocol, by name or number" }, \
	{ .name = "src-address", .type = (addr), .flags = PF_NEG, \
	  .help = "Source address, network or range" }, \
	{ .name = "dst-address", .type = (addr), .flags = PF_NEG, \
	  .help = "Destination address, network or range" }, \
	{ .name = "src-address-list", .type = T_STR, .flags = PF_NEG, \
	  .help = "Address list that must hold the source address" }, \
	{ .name = "dst-address-list", .type = T_STR, .flags = PF_NEG, \
	  .help = "Address list that must hold the destination address" }, \
	{ .name = "src-address-type", .type = T_ENUM, .flags = PF_NEG | PF_LIST, \
	  .enums = fw_addr_types, .help = "Kind of source address" }, \
	{ .name = "dst-address-type", .type = T_ENUM, .flags = PF_NEG | PF_LIST, \
	  .enums = fw_addr_types, .help = "Kind of destination address" }, \
	{ .name = "layer7-protocol", .type = T_REF, .flags = PF_NEG, \
	  .ref = "/ip/firewall/layer7-protocol", .help = "Layer 7 pattern the payload must match" }, \
	{ .name = "content", .type = T_STR, .flags = PF_NEG, \
	  .help = "Text the packet payload must contain" }
#define FW_M_IF \
	{ .name = "in-interface", .type = T_REF, .flags = PF_NEG, .ref = "interface", \
	  .enums = fw_any_if, .help = "Interface the packet came in on" }, \
	{ .name = "out-interface", .type = T_REF, .flags = PF_NEG, .ref = "interface", \
	  .enums = fw_any_if, .help = "Interface the packet leaves through" }, \
	{ .name = "in-interface-list", .type = T_REF, .flags = PF_NEG, \
	  .ref = "/interface/list", .enums = fw_any_iflist, \
	  .help = "Interface list holding the incoming interface" }, \
	{ .name = "out-interface-list", .type = T_REF, .flags = PF_NEG, \
	  .ref = "/interface/list", .enums = fw_any_iflist, \
	  .help = "Interface list holding the outgoing interface" }
#define FW_M_L4 \
	{ .name = "src-port", .type = T_PORTS, .flags = PF_NEG | PF_LIST, \
	  .help = "Source ports and port ranges (tcp, udp, udp-lite, sctp, dccp)" }, \
	{ .name = "dst-port", .type = T_PORTS, .flags = PF_NEG | PF_LIST, \
	  .help = "Destination ports and port ranges (tcp, udp, udp-lite, sctp, dccp)" }, \
	{ .name = "port", .type = T_PORTS, .flags = PF_NEG | PF_LIST, \
	  .help = "Ports matched against either the source or the destination port" }
#define FW_M_MARKS \
	{ .name = "packet-mark", .type = T_STR, .flags = PF_NEG, \
	  .help = "Packet mark (no-mark matches unmarked packets)" }, \
	{ .name = "connection-mark", .type = T_STR, .flags = PF_NEG, \
	  .help = "Connection mark (no-mark matches unmarked connections)" }, \
	{ .name = "routing-mark", .type = T_STR, .flags = PF_NEG, \
	  .help = "Routing mark (no-mark matches packets without one)" }, \
	{ .name = "connection-type", .type = T_ENUM, .flags = PF_NEG, .enums = fw_conn_types, \
	  .help = "Connection helper that recognised the connection" }
#define FW_M_CONN \
	{ .name = "connection-bytes", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_conn_bytes, \
	  .help = "Bytes transferred by the connection, from-to (0 = infinity)" }, \
	{ .name = "connection-limit", .type = T_CUSTOM, .check = tc_conn_limit, \
	  .help = "More than N connections per address block: N,prefix-length" }, \
	{ .name = "connection-rate", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_conn_rate, \
	  .help = "Current connection speed range in bit/s" }, \
	{ .name = "per-connection-classifier", .type = T_CUSTOM, .check = tc_pcc, \
	  .help = "Hash of fields: fields:denominator/remainder" }, \
	{ .name = "src-mac-address", .type = T_MAC, .flags = PF_NEG, \
	  .help = "Source MAC address of the frame" }
#define FW_M_PKT \
	{ .name = "tcp-flags", .type = T_CUSTOM, .check = tc_tcp_flags, \
	  .help = "TCP flags that must all hold, each may be negated with !" }, \
	{ .name = "tcp-mss", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_mss, \
	  .help = "TCP MSS option value or range" }, \
	{ .name = "icmp-options", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_icmp_options, \
	  .help = "ICMP type and code: type[:code]" }
#define FW_M_PKT4 \
	{ .name = "ipv4-options", .type = T_ENUM, .flags = PF_NEG, .enums = fw_ipv4_options, \
	  .help = "IPv4 header options present" }, \
	{ .name = "packet-size", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_int_range, \
	  .min = 0, .max = 65535, .help = "IP packet size or range in bytes" }, \
	{ .name = "fragment", .type = T_BOOL, .help = "Whether the packet is a fragment" }, \
	{ .name = "dscp", .type = T_INT, .flags = PF_NEG, .min = 0, .max = 63, \
	  .help = "DSCP field of the IP header" }, \
	{ .name = "ttl", .type = T_CUSTOM, .check = tc_ttl_match, \
	  .help = "TTL comparison: equal:N, less-than:N, greater-than:N, not-equal:N" }, \
	{ .name = "priority", .type = T_INT, .flags = PF_NEG, .min = 0, .max = 63, \
	  .help = "Packet priority" }
#define FW_M_PKT6 \
	{ .name = "packet-size", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_int_range, \
	  .min = 0, .max = 65535, .help = "IP packet size or range in bytes" }, \
	{ .name = "dscp", .type = T_INT, .flags = PF_NEG, .min = 0, .max = 63, \
	  .help = "DSCP field of the IP header" }, \
	{ .name = "hop-limit", .type = T_CUSTOM, .check = tc_ttl_match, \
	  .help = "Hop limit comparison: equal:N, less-than:N, greater-than:N, not-equal:N" }, \
	{ .name = "priority", .type = T_INT, .flags = PF_NEG, .min = 0, .max = 63, \
	  .help = "Packet priority" }
#define FW_M_RATE \
	{ .name = "limit", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_limit, \
	  .help = "Token bucket: rate[/time],burst[:packet|bit]" }, \
	{ .name = "dst-limit", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_dst_limit, \
	  .help = "Per-flow token buckets: rate[/time],burst,mode[/expire]" }, \
	{ .name = "nth", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_nth, \
	  .help = "Every n-th packet: every,n" }, \
	{ .name = "random", .type = T_INT, .min = 1, .max = 99, \
	  .help = "Probability of a match in percent" }, \
	{ .name = "psd", .type = T_CUSTOM, .flags = PF_NEG, .check = tc_psd, \
	  .help = "Port scan detection: weight,delay,low-port-weight,high-port-weight" }, \
	{ .name = "time", .type = T_CUSTOM, .check = tc_schedule, \
	  .help = "Time of day and days of week: 8h-17h,mon,tue" }

#define FW_MATCHERS4 \
	FW_M_STATE, FW_M_NATSTATE, FW_M_L3(T_ADDR4), FW_M_IF, FW_M_L4, FW_M_MARKS, \
	FW_M_CONN, FW_M_PKT, FW_M_PKT4, FW_M_RATE
#define FW_MATCHERS6 \
	FW_M_STATE, FW_M_L3(T_ADDR6), FW_M_IF, FW_M_L4, FW_M_MARKS, \
	FW_M_CONN, FW_M_PKT, FW_M_PKT6, FW_M_RATE

#define FW_TAIL \
	{ .name = "log", .type = T_BOOL, .def = "no", \
	  .help = "Write a log line for every matching packet" }, \
	{ .name = "log-prefix", .type = T_STR, .def = "", \
	  .help = "Text put in front of the log line" }, \
	PROP_DISABLED, \
	PROP_COMMENT, \
	{ .name = "bytes", .type = T_INT, .flags = PF_RO | PF_STAT, \
	  .help = "Bytes matched by the rule" }, \
	{ .name = "packets", .type = T_INT, .flags = PF_RO | PF_STAT, \
	  .help = "Packets matched by the rule" }

static const char *const fw_rule_stats[] = { "chain", "action", "bytes", "packets", NULL };

/* ---- /ip/firewall rule menus ---- */

static const struct prop ip_filter_props[] = {
	FW_CHAIN,
	FW_ACTION(fw_filter_actions),
	FW_P_JUMP,
	FW_P_REJECT(fw_reject_with),
	FW_P_ADDRLIST,
	FW_MATCHERS4,
	FW_TAIL,
};

const struct menu menu_ip_firewall_filter = {
	.path = "/ip/firewall/filter",
	MENU_PROPS(ip_filter_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv4 packet filter rules",
};

static const struct prop ip_nat_props[] = {
	FW_CHAIN,
	FW_ACTION(fw_nat_actions),
	FW_P_JUMP,
	FW_P_ADDRLIST,
	{ .name = "to-addresses", .type = T_CUSTOM, .check = tc_ip4_range,
	  .help = "New address or address range (dst-nat, src-nat, netmap, same)" },
	{ .name = "to-ports", .type = T_CUSTOM, .check = tc_int_range, .min = 0, .max = 65535,
	  .help = "New port or port range" },
	FW_MATCHERS4,
	FW_TAIL,
};

const struct menu menu_ip_firewall_nat = {
	.path = "/ip/firewall/nat",
	MENU_PROPS(ip_nat_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv4 network address translation rules",
};

static const struct prop ip_mangle_props[] = {
	FW_CHAIN,
	FW_ACTION(fw_mangle_actions),
	FW_P_JUMP,
	FW_P_ADDRLIST,
	FW_P_MARKS,
	FW_P_DSCP,
	{ .name = "new-ttl", .type = T_CUSTOM, .check = tc_ttl_change,
	  .help = "TTL change (action=change-ttl): set:N, increment:N, decrement:N" },
	FW_P_MSS,
	FW_P_PRIORITY,
	FW_P_SNIFF(T_IP4),
	{ .name = "route-dst", .type = T_IP4, .help = "Gateway the packet is sent to (action=route)" },
	FW_P_PASSTHROUGH,
	FW_MATCHERS4,
	FW_TAIL,
};

const struct menu menu_ip_firewall_mangle = {
	.path = "/ip/firewall/mangle",
	MENU_PROPS(ip_mangle_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv4 packet and connection marking and header changes",
};

static const struct prop ip_raw_props[] = {
	FW_CHAIN,
	FW_ACTION(fw_raw_actions),
	FW_P_JUMP,
	FW_P_ADDRLIST,
	FW_MATCHERS4,
	FW_TAIL,
};

const struct menu menu_ip_firewall_raw = {
	.path = "/ip/firewall/raw",
	MENU_PROPS(ip_raw_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv4 rules evaluated before connection tracking",
};

/* ---- /ipv6/firewall rule menus ---- */

static const struct prop ip6_filter_props[] = {
	FW_CHAIN,
	FW_ACTION(fw6_filter_actions),
	FW_P_JUMP,
	FW_P_REJECT(fw6_reject_with),
	FW_P_ADDRLIST,
	FW_MATCHERS6,
	FW_TAIL,
};

const struct menu menu_ipv6_firewall_filter = {
	.path = "/ipv6/firewall/filter",
	MENU_PROPS(ip6_filter_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv6 packet filter rules",
};

static const struct prop ip6_mangle_props[] = {
	FW_CHAIN,
	FW_ACTION(fw6_mangle_actions),
	FW_P_JUMP,
	FW_P_ADDRLIST,
	FW_P_MARKS,
	FW_P_DSCP,
	{ .name = "new-hop-limit", .type = T_CUSTOM, .check = tc_ttl_change,
	  .help = "Hop limit change (action=change-hop-limit): set:N, increment:N, decrement:N" },
	FW_P_MSS,
	FW_P_PRIORITY,
	FW_P_SNIFF(T_IP6),
	FW_P_PASSTHROUGH,
	FW_MATCHERS6,
	FW_TAIL,
};

const struct menu menu_ipv6_firewall_mangle = {
	.path = "/ipv6/firewall/mangle",
	MENU_PROPS(ip6_mangle_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv6 packet and connection marking and header changes",
};

static const struct prop ip6_raw_props[] = {
	FW_CHAIN,
	FW_ACTION(fw_raw_actions),
	FW_P_JUMP,
	FW_P_ADDRLIST,
	FW_MATCHERS6,
	FW_TAIL,
};

const struct menu menu_ipv6_firewall_raw = {
	.path = "/ipv6/firewall/raw",
	MENU_PROPS(ip6_raw_props),
	.flags = MF_ORDERED | MF_SPARSE,
	.flagdefs = schema_flags_xid,
	.stats = fw_rule_stats,
	.validate = fw_rule_validate,
	.help = "IPv6 rules evaluated before connection tracking",
};

/* ---- address lists ---- */

static const struct flagdef fw_addrlist_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'D', "dynamic", "dynamic" },
	{ 0, NULL, NULL },
};

static const char *const fw_addrlist_columns[] = { "list", "address", "creation-time", NULL };

#define FW_ADDRLIST_PROPS(fn) \
	{ .name = "list", .type = T_STR, .flags = PF_REQ, .help = "Name of the address list" }, \
	{ .name = "address", .type = T_CUSTOM, .flags = PF_REQ, .check = (fn), \
	  .help = "Address, network, range or DNS name" }, \
	{ .name = "timeout", .type = T_TIME, .flags = PF_DYNAMIC, \
	  .help = "Time after which the entry is removed (makes it dynamic)" }, \
	{ .name = "creation-time", .type = T_STR, .flags = PF_RO, \
	  .help = "When the entry was added" }, \
	PROP_DISABLED, \
	PROP_COMMENT

static const struct prop ip_addrlist_props[] = {
	FW_ADDRLIST_PROPS(fw_check_addr4_or_host),
};

const struct menu menu_ip_firewall_address_list = {
	.path = "/ip/firewall/address-list",
	MENU_PROPS(ip_addrlist_props),
	.flagdefs = fw_addrlist_flags,
	.columns = fw_addrlist_columns,
	.validate = fw_addrlist_validate,
	.help = "Named sets of IPv4 addresses used by firewall rules",
};

static const struct prop ip6_addrlist_props[] = {
	FW_ADDRLIST_PROPS(fw_check_addr6_or_host),
};

const struct menu menu_ipv6_firewall_address_list = {
	.path = "/ipv6/firewall/address-list",
	MENU_PROPS(ip6_addrlist_props),
	.flagdefs = fw_addrlist_flags,
	.columns = fw_addrlist_columns,
	.validate = fw_addrlist_validate,
	.help = "Named sets of IPv6 addresses used by firewall rules",
};

/* ---- service ports (connection tracking helpers) ---- */

static const struct prop svcport_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_RO | PF_UNIQUE,
	  .help = "Connection tracking helper" },
	{ .name = "ports", .type = T_PORT, .flags = PF_LIST, .def = "",
	  .help = "Ports of the connections the helper inspects" },
	{ .name = "sip-direct-media", .type = T_BOOL, .def = "yes",
	  .help = "sip: expect media from the signalled address only" },
	{ .name = "sip-timeout", .type = T_TIME, .def = "1h",
	  .help = "sip: timeout of the signalling connection" },
	PROP_DISABLED,
};

static const char *const svcport_columns[] = { "name", "ports", NULL };

static const char *const svcport_builtin[] = {
	"name=ftp ports=21",
	"name=tftp ports=69",
	"name=irc ports=6667",
	"name=h323",
	"name=sip ports=5060,5061",
	"name=pptp",
	"name=udplite",
	"name=dccp",
	"name=sctp",
	NULL,
};

const struct menu menu_ip_firewall_service_port = {
	.path = "/ip/firewall/service-port",
	MENU_PROPS(svcport_props),
	.flags = MF_FIXED,
	.key = "name",
	.flagdefs = schema_flags_xid,
	.columns = svcport_columns,
	.builtin = svcport_builtin,
	.help = "Connection tracking helpers and their ports",
};

/* ---- layer7 protocols ---- */

static const struct prop l7_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name rules use in layer7-protocol=" },
	{ .name = "regexp", .type = T_STR,
	  .help = "POSIX extended regular expression matched against the first payload bytes" },
	PROP_COMMENT,
};

static const char *const l7_columns[] = { "name", "regexp", NULL };

const struct menu menu_ip_firewall_layer7_protocol = {
	.path = "/ip/firewall/layer7-protocol",
	MENU_PROPS(l7_props),
	.key = "name",
	.columns = l7_columns,
	.validate = fw_layer7_validate,
	.help = "Named regular expressions matched against connection payload",
};

/* ---- connection tracking ---- */

static const char *const ct_enabled[] = { "yes", "no", "auto", NULL };

#define CT_TIMEOUT(n, d, h) { .name = (n), .type = T_TIME, .def = (d), .help = (h) }

static const struct prop ct_tracking_props[] = {
	{ .name = "enabled", .type = T_ENUM, .def = "auto", .enums = ct_enabled,
	  .help = "Connection tracking on, off, or on when a rule needs it" },
	CT_TIMEOUT("tcp-syn-sent-timeout", "5s", "Timeout after a SYN was seen"),
	CT_TIMEOUT("tcp-syn-received-timeout", "5s", "Timeout after a SYN-ACK was seen"),
	CT_TIMEOUT("tcp-established-timeout", "1d", "Timeout of an established TCP connection"),
	CT_TIMEOUT("tcp-fin-wait-timeout", "10s", "Timeout in FIN_WAIT"),
	CT_TIMEOUT("tcp-close-wait-timeout", "10s", "Timeout in CLOSE_WAIT"),
	CT_TIMEOUT("tcp-last-ack-timeout", "10s", "Timeout in LAST_ACK"),
	CT_TIMEOUT("tcp-time-wait-timeout", "10s", "Timeout in TIME_WAIT"),
	CT_TIMEOUT("tcp-close-timeout", "10s", "Timeout in CLOSE"),
	CT_TIMEOUT("tcp-max-retrans-timeout", "5m", "Timeout after too many retransmissions"),
	CT_TIMEOUT("tcp-unacked-timeout", "5m", "Timeout while data stays unacknowledged"),
	{ .name = "loose-tcp-tracking", .type = T_BOOL, .def = "yes",
	  .help = "Pick up TCP connections seen mid-stream" },
	CT_TIMEOUT("udp-timeout", "10s", "Timeout of a UDP flow before a reply"),
	CT_TIMEOUT("udp-stream-timeout", "3m", "Timeout of a UDP flow seen both ways"),
	CT_TIMEOUT("icmp-timeout", "10s", "Timeout of an ICMP request entry"),
	CT_TIMEOUT("generic-timeout", "10m", "Timeout of other protocols"),
	/* the engine's default size; a running router shows its own */
	{ .name = "max-entries", .type = T_INT, .flags = PF_RO, .def = "65536",
	  .min = 1, .max = 1048576, .help = "Size of the connection table" },
	{ .name = "total-entries", .type = T_INT, .flags = PF_RO,
	  .help = "Connections tracked now" },
};

static const char *const singleton_builtin[] = { "", NULL };

const struct menu menu_ip_firewall_connection_tracking = {
	.path = "/ip/firewall/connection/tracking",
	MENU_PROPS(ct_tracking_props),
	.flags = MF_SINGLETON,
	.builtin = singleton_builtin,
	.help = "Connection tracking settings",
};

/* ---- the connection table (runtime) ---- */

#define CT_RO(n, t, h) { .name = (n), .type = (t), .flags = PF_RO, .help = (h) }

static const struct prop ct_conn_props[] = {
	CT_RO("protocol", T_STR, "IP protocol"),
	CT_RO("src-address", T_STR, "Original source address:port"),
	CT_RO("dst-address", T_STR, "Original destination address:port"),
	CT_RO("reply-src-address", T_STR, "Source address:port of the replies"),
	CT_RO("reply-dst-address", T_STR, "Destination address:port of the replies"),
	CT_RO("tcp-state", T_STR, "TCP state of the connection"),
	CT_RO("timeout", T_TIME, "Time left before the entry expires"),
	CT_RO("connection-mark", T_STR, "Mark set by mangle mark-connection"),
	CT_RO("connection-type", T_STR, "Helper that handles the connection"),
	CT_RO("seen-reply", T_BOOL, "A reply was seen"),
	CT_RO("assured", T_BOOL, "Seen both ways long enough to be kept when the table is full"),
	CT_RO("confirmed", T_BOOL, "The first packet left the router"),
	CT_RO("fasttrack", T_BOOL, "Packets take the FastTrack path"),
	CT_RO("srcnat", T_BOOL, "Source address is translated"),
	CT_RO("dstnat", T_BOOL, "Destination address is translated"),
	{ .name = "orig-bytes", .type = T_INT, .flags = PF_RO | PF_STAT,
	  .help = "Bytes sent by the originator" },
	{ .name = "orig-packets", .type = T_INT, .flags = PF_RO | PF_STAT,
	  .help = "Packets sent by the originator" },
	{ .name = "repl-bytes", .type = T_INT, .flags = PF_RO | PF_STAT,
	  .help = "Bytes sent by the replier" },
	{ .name = "repl-packets", .type = T_INT, .flags = PF_RO | PF_STAT,
	  .help = "Packets sent by the replier" },
};

static const struct flagdef ct_conn_flags[] = {
	{ 'S', "seen-reply", "seen-reply" },
	{ 'A', "assured", "assured" },
	{ 'C', "confirmed", "confirmed" },
	{ 'F', "fasttrack", "fasttrack" },
	{ 's', "srcnat", "srcnat" },
	{ 'd', "dstnat", "dstnat" },
	{ 0, NULL, NULL },
};

static const char *const ct_conn_columns[] = { "protocol", "src-address", "dst-address",
					       "tcp-state", "timeout", NULL };
static const char *const ct_conn_stats[] = { "protocol", "src-address", "dst-address",
					     "orig-bytes", "orig-packets", "repl-bytes",
					     "repl-packets", NULL };

const struct menu menu_ip_firewall_connection = {
	.path = "/ip/firewall/connection",
	MENU_PROPS(ct_conn_props),
	.flags = MF_RUNTIME | MF_NOEXPORT | MF_FORGET,
	.flagdefs = ct_conn_flags,
	.columns = ct_conn_columns,
	.stats = ct_conn_stats,
	.help = "Tracked connections",
};
