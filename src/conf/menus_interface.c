/*
 * Interface menus and the layer-3 addressing on them: ethernet and wireless
 * ports (built in), bridges and their ports, VLANs, interface lists, the
 * /interface union view (runtime), /ip/address, /ip/arp and /ip/route.
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"
#include "store.h"

#include <arpa/inet.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const char *const if_arp_modes[] = { "enabled", "disabled", "proxy-arp", "reply-only",
					    "local-proxy-arp", NULL };

#define IF_NAME(fl) \
	{ .name = "name", .type = T_STR, .flags = PF_UNIQUE | (fl), .min = 0, .max = 64, \
	  .help = "Interface name" }
#define IF_DEFAULT_NAME \
	{ .name = "default-name", .type = T_STR, .flags = PF_RO, \
	  .help = "Name the port had out of the box" }
#define IF_MTU(d) \
	{ .name = "mtu", .type = T_INT, .def = (d), .min = 64, .max = 65535, \
	  .help = "Layer 3 maximum transmission unit" }
#define IF_L2MTU(d) \
	{ .name = "l2mtu", .type = T_INT, .flags = PF_RO, .def = (d), \
	  .help = "Layer 2 MTU the hardware supports" }
#define IF_ARP \
	{ .name = "arp", .type = T_ENUM, .def = "enabled", .enums = if_arp_modes, \
	  .help = "How the interface answers and uses ARP" }
#define IF_RUNNING \
	{ .name = "running", .type = T_BOOL, .flags = PF_RO, .help = "Link is up" }

static const struct flagdef if_flags_xr[] = {
	{ 'X', "disabled", "disabled" },
	{ 'R', "running", "running" },
	{ 0, NULL, NULL },
};

/* ---- /interface/ethernet ---- */

static const char *const eth_speeds[] = { "10Mbps", "100Mbps", "1Gbps", "2.5Gbps", "5Gbps",
					  "10Gbps", NULL };

static const struct prop eth_props[] = {
	IF_NAME(0),
	IF_DEFAULT_NAME,
	IF_MTU("1500"),
	IF_L2MTU("1598"),
	{ .name = "mac-address", .type = T_MAC, .help = "Hardware address of the port" },
	IF_ARP,
	{ .name = "auto-negotiation", .type = T_BOOL, .def = "yes",
	  .help = "Negotiate speed and duplex with the peer" },
	{ .name = "speed", .type = T_ENUM, .def = "1Gbps", .enums = eth_speeds,
	  .help = "Link speed, also the rate interface queues are shaped to" },
	{ .name = "full-duplex", .type = T_BOOL, .def = "yes", .help = "Full duplex link" },
	IF_RUNNING,
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const eth_columns[] = { "name", "mtu", "mac-address", "arp", NULL };

static const char *const eth_builtin[] = {
	"name=ether1 default-name=ether1 mac-address=4C:5E:0C:00:00:01",
	"name=ether2 default-name=ether2 mac-address=4C:5E:0C:00:00:02",
	"name=ether3 default-name=ether3 mac-address=4C:5E:0C:00:00:03",
	"name=ether4 default-name=ether4 mac-address=4C:5E:0C:00:00:04",
	"name=ether5 default-name=ether5 mac-address=4C:5E:0C:00:00:05",
	NULL,
};

const struct menu menu_interface_ethernet = {
	.path = "/interface/ethernet",
	MENU_PROPS(eth_props),
	.flags = MF_FIXED,
	.key = "name",
	.flagdefs = if_flags_xr,
	.columns = eth_columns,
	.builtin = eth_builtin,
	.help = "Ethernet ports",
};

/* ---- /interface/wireless ---- */

static const char *const wl_modes[] = {
	"station", "station-wds", "ap-bridge", "bridge", "alignment-only",
	"nstreme-dual-slave", "wds-slave", "station-pseudobridge",
	"station-pseudobridge-clone", "station-bridge", NULL
};
static const char *const wl_bands[] = {
	"2ghz-b", "2ghz-b/g", "2ghz-b/g/n", "2ghz-onlyg", "2ghz-onlyn", "2ghz-g/n",
	"5ghz-a", "5ghz-a/n", "5ghz-a/n/ac", "5ghz-onlyn", "5ghz-onlyac", "5ghz-n/ac", NULL
};
static const char *const wl_widths[] = {
	"20mhz", "10mhz", "5mhz", "20/40mhz-Ce", "20/40mhz-eC", "20/40mhz-XX",
	"20/40/80mhz-Ceee", "20/40/80mhz-eCee", "20/40/80mhz-eeCe", "20/40/80mhz-eeeC",
	"20/40/80mhz-XXXX", NULL
};

static const struct prop wl_props[] = {
	IF_NAME(0),
	IF_DEFAULT_NAME,
	IF_MTU("1500"),
	IF_L2MTU("1600"),
	{ .name = "mac-address", .type = T_MAC, .help = "Hardware address of the radio" },
	IF_ARP,
	{ .name = "mode", .type = T_ENUM, .def = "ap-bridge", .enums = wl_modes,
	  .help = "Operating mode of the radio" },
	{ .name = "ssid", .type = T_STR, .def = "MikroTik", .max = 32,
	  .help = "Network name" },
	{ .name = "band", .type = T_ENUM, .def = "2ghz-b/g/n", .enums = wl_bands,
	  .help = "Frequency band and standards" },
	{ .name = "channel-width", .type = T_ENUM, .def = "20mhz", .enums = wl_widths,
	  .help = "Channel width and extension channel position" },
	{ .name = "frequency", .type = T_INT, .def = "2412", .min = 2000, .max = 7000,
	  .help = "Channel centre frequency in MHz" },
	{ .name = "security-profile", .type = T_STR, .def = "default",
	  .help = "Security profile used by the radio" },
	IF_RUNNING,
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const wl_builtin[] = {
	"name=wlan1 default-name=wlan1 mac-address=4C:5E:0C:00:00:06",
	NULL,
};

const struct menu menu_interface_wireless = {
	.path = "/interface/wireless",
	MENU_PROPS(wl_props),
	.flags = MF_FIXED,
	.key = "name",
	.flagdefs = if_flags_xr,
	.builtin = wl_builtin,
	.help = "Wireless radios",
};

/* ---- /interface/bridge ---- */

static const char *const br_mtu_words[] = { "auto", NULL };
static const char *const br_protocol_modes[] = { "none", "rstp", "stp", "mstp", NULL };

static const struct prop br_props[] = {
	IF_NAME(PF_REQ),
	{ .name = "mtu", .type = T_CUSTOM, .def = "auto", .min = 64, .max = 65535,
	  .enums = br_mtu_words, .check = menus_check_int_or_word,
	  .help = "MTU, or auto for the smallest MTU of the ports" },
	{ .name = "actual-mtu", .type = T_INT, .flags = PF_RO, .help = "MTU in use" },
	IF_L2MTU(NULL),
	IF_ARP,
	{ .name = "mac-address", .type = T_MAC, .flags = PF_RO, .help = "Address of the bridge" },
	{ .name = "auto-mac", .type = T_BOOL, .def = "yes",
	  .help = "Take the MAC address of the first port" },
	{ .name = "admin-mac", .type = T_MAC, .help = "Address used when auto-mac=no" },
	{ .name = "protocol-mode", .type = T_ENUM, .def = "rstp", .enums = br_protocol_modes,
	  .help = "Spanning tree protocol" },
	{ .name = "igmp-snooping", .type = T_BOOL, .def = "no",
	  .help = "Forward multicast only to ports with listeners" },
	{ .name = "fast-forward", .type = T_BOOL, .def = "yes",
	  .help = "Forward between two ports without the bridge slow path" },
	{ .name = "vlan-filtering", .type = T_BOOL, .def = "no",
	  .help = "Filter and tag frames by VLAN on the bridge ports" },
	{ .name = "pvid", .type = T_INT, .def = "1", .min = 1, .max = 4094,
	  .help = "VLAN of untagged frames for the bridge interface itself" },
	IF_RUNNING,
	PROP_DISABLED,
	PROP_COMMENT,
};

const struct menu menu_interface_bridge = {
	.path = "/interface/bridge",
	MENU_PROPS(br_props),
	.key = "name",
	.flagdefs = if_flags_xr,
	.help = "Software bridges",
};

/* ---- /interface/bridge/port ---- */

static const char *const brp_frame_types[] = {
	"admit-all", "admit-only-untagged-and-priority-tagged", "admit-only-vlan-tagged", NULL
};

static const struct prop brp_props[] = {
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface added to the bridge" },
	{ .name = "bridge", .type = T_REF, .flags = PF_REQ, .ref = "/interface/bridge",
	  .help = "Bridge the interface joins" },
	{ .name = "pvid", .type = T_INT, .def = "1", .min = 1, .max = 4094,
	  .help = "VLAN of untagged frames received on the port" },
	{ .name = "frame-types", .type = T_ENUM, .def = "admit-all", .enums = brp_frame_types,
	  .help = "Which frames the port accepts when VLAN filtering is on" },
	{ .name = "ingress-filtering", .type = T_BOOL, .def = "no",
	  .help = "Drop frames of VLANs the port is not a member of" },
	{ .name = "hw", .type = T_BOOL, .def = "yes", .help = "Use hardware offload when possible" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef brp_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "inactive", "invalid" },
	{ 'D', "dynamic", "dynamic" },
	{ 0, NULL, NULL },
};

static const char *const brp_columns[] = { "interface", "bridge", "hw", "pvid", NULL };

const struct menu menu_interface_bridge_port = {
	.path = "/interface/bridge/port",
	MENU_PROPS(brp_props),
	.flagdefs = brp_flags,
	.columns = brp_columns,
	.help = "Interfaces that belong to a bridge",
};

/* ---- /interface/vlan ---- */

static const struct prop vlan_props[] = {
	IF_NAME(PF_REQ),
	IF_MTU("1500"),
	IF_L2MTU(NULL),
	{ .name = "mac-address", .type = T_MAC, .flags = PF_RO,
	  .help = "Address, taken from the parent interface" },
	IF_ARP,
	{ .name = "vlan-id", .type = T_INT, .flags = PF_REQ, .min = 1, .max = 4094,
	  .help = "802.1Q VLAN identifier" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface the tagged frames go through" },
	{ .name = "use-service-tag", .type = T_BOOL, .def = "no",
	  .help = "Use an 802.1ad service tag instead of 802.1Q" },
	IF_RUNNING,
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const vlan_columns[] = { "name", "mtu", "arp", "vlan-id", "interface", NULL };

const struct menu menu_interface_vlan = {
	.path = "/interface/vlan",
	MENU_PROPS(vlan_props),
	.key = "name",
	.flagdefs = if_flags_xr,
	.columns = vlan_columns,
	.help = "802.1Q VLAN interfaces",
};

/* ---- /interface/list and members ---- */

static const struct prop iflist_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name of the interface list" },
	{ .name = "include", .type = T_REF, .flags = PF_LIST, .def = "", .ref = "/interface/list",
	  .help = "Lists whose members also belong to this one" },
	{ .name = "exclude", .type = T_REF, .flags = PF_LIST, .def = "", .ref = "/interface/list",
	  .help = "Lists whose members are left out of this one" },
	PROP_COMMENT,
};

static const struct flagdef iflist_flags[] = {
	{ '*', "builtin", "builtin" },
	{ 0, NULL, NULL },
};

static const char *const iflist_columns[] = { "name", "include", "exclude", NULL };

static const char *const iflist_builtin[] = { "name=all", "name=none", "name=dynamic", NULL };

const struct menu menu_interface_list = {
	.path = "/interface/list",
	MENU_PROPS(iflist_props),
	.key = "name",
	.flagdefs = iflist_flags,
	.columns = iflist_columns,
	.builtin = iflist_builtin,
	.help = "Named groups of interfaces",
};

static const struct prop iflm_props[] = {
	{ .name = "list", .type = T_REF, .flags = PF_REQ, .ref = "/interface/list",
	  .help = "List the interface joins" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface added to the list" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef iflm_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'D', "dynamic", "dynamic" },
	{ 0, NULL, NULL },
};

static const char *const iflm_columns[] = { "list", "interface", NULL };

const struct menu menu_interface_list_member = {
	.path = "/interface/list/member",
	MENU_PROPS(iflm_props),
	.flagdefs = iflm_flags,
	.columns = iflm_columns,
	.help = "Membership of interfaces in interface lists",
};

/* ---- /interface: every interface, whatever its kind (runtime) ---- */

#define IF_COUNTER(n, h) { .name = (n), .type = T_INT, .flags = PF_RO | PF_STAT, .help = (h) }

static const struct prop ifview_props[] = {
	IF_NAME(0),
	{ .name = "type", .type = T_STR, .flags = PF_RO, .help = "Kind of interface (ether, vlan, ...)" },
	{ .name = "mtu", .type = T_INT, .min = 64, .max = 65535, .help = "Configured MTU" },
	{ .name = "actual-mtu", .type = T_INT, .flags = PF_RO, .help = "MTU in use" },
	{ .name = "l2mtu", .type = T_INT, .flags = PF_RO, .help = "Layer 2 MTU" },
	{ .name = "mac-address", .type = T_MAC, .flags = PF_RO, .help = "Hardware address" },
	IF_RUNNING,
	PROP_DISABLED,
	PROP_COMMENT,
	IF_COUNTER("rx-byte", "Bytes received"),
	IF_COUNTER("tx-byte", "Bytes sent"),
	IF_COUNTER("rx-packet", "Packets received"),
	IF_COUNTER("tx-packet", "Packets sent"),
	IF_COUNTER("rx-drop", "Received packets dropped"),
	IF_COUNTER("tx-drop", "Packets dropped before sending"),
	IF_COUNTER("tx-queue-drop", "Packets dropped by the interface queue"),
	IF_COUNTER("rx-error", "Receive errors"),
	IF_COUNTER("tx-error", "Transmit errors"),
};

static const struct flagdef ifview_flags[] = {
	{ 'D', "dynamic", "dynamic" },
	{ 'X', "disabled", "disabled" },
	{ 'R', "running", "running" },
	{ 0, NULL, NULL },
};

static const char *const ifview_columns[] = { "name", "type", "actual-mtu", "mac-address", NULL };
static const char *const ifview_stats[] = { "name", "rx-byte", "tx-byte", "rx-packet",
					    "tx-packet", "rx-drop", "tx-drop", "tx-queue-drop",
					    "rx-error", "tx-error", NULL };

const struct menu menu_interface = {
	.path = "/interface",
	MENU_PROPS(ifview_props),
	.flags = MF_RUNTIME | MF_NOEXPORT | MF_FIXED,
	.key = "name",
	.flagdefs = ifview_flags,
	.columns = ifview_columns,
	.stats = ifview_stats,
	.help = "All interfaces",
};

/* ---- /ip/address ---- */

static const struct prop ipaddr_props[] = {
	{ .name = "address", .type = T_PREFIX4, .flags = PF_REQ,
	  .help = "Address and prefix length, 192.168.88.1/24" },
	{ .name = "network", .type = T_IP4,
	  .help = "Network address (derived from address when not given)" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface the address is on" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const char *const ipaddr_columns[] = { "address", "network", "interface", NULL };

const struct menu menu_ip_address = {
	.path = "/ip/address",
	MENU_PROPS(ipaddr_props),
	.flagdefs = schema_flags_xid,
	.columns = ipaddr_columns,
	.help = "IPv4 addresses of the interfaces",
};

/* ---- /ip/arp ---- */

/* The static entries are stored here; the dynamic ones are the live
 * dataplane's neighbour table, which adds them to print, find and get
 * through a provider for this menu (conf_menu_items). sim and make run
 * have no ARP table: there print shows the static entries only. */
static const struct prop arp_props[] = {
	{ .name = "address", .type = T_IP4, .flags = PF_REQ, .help = "The neighbour's IPv4 address" },
	{ .name = "mac-address", .type = T_MAC, .flags = PF_REQ,
	  .help = "The neighbour's MAC address" },
	{ .name = "interface", .type = T_REF, .flags = PF_REQ, .ref = "interface",
	  .help = "Interface the neighbour is on" },
	{ .name = "published", .type = T_BOOL, .def = "no",
	  .help = "Answer ARP requests for the address with this MAC (proxy publishing)" },
	{ .name = "dhcp", .type = T_BOOL, .flags = PF_RO | PF_NOEXPORT,
	  .help = "Added by the DHCP server (add-arp)" },
	{ .name = "complete", .type = T_BOOL, .flags = PF_RO | PF_NOEXPORT,
	  .help = "The neighbour answered: its MAC is known" },
	{ .name = "status", .type = T_STR, .flags = PF_RO | PF_NOEXPORT | PF_DETAIL,
	  .help = "Neighbour state: reachable, stale, probe, incomplete, permanent" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef arp_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ 'H', "DHCP", "dhcp" },
	{ 'D', "dynamic", "dynamic" },
	{ 'P', "published", "published" },
	{ 'C', "complete", "complete" },
	{ 0, NULL, NULL },
};

static const char *const arp_columns[] = { "address", "mac-address", "interface", NULL };

static int arp_validate(struct store *st, const struct menu *m, const struct item *it,
			struct err *e)
{
	const char *addr = item_get(m, it, "address"), *mac = item_get(m, it, "mac-address");
	const char *ifn = item_get(m, it, "interface");
	struct in_addr a;
	if (addr && inet_pton(AF_INET, addr, &a) == 1) {
		uint32_t ip = ntohl(a.s_addr);
		if (ip == 0 || ip == 0xffffffffu || (ip >> 28) == 0xe || (ip >> 24) == 127)
			return err_setp(e, "address",
					"address %s cannot be a neighbour (unspecified, "
					"broadcast, multicast or loopback)", addr);
	}
	/* canonical "XX:..": the first octet's low bit marks a group address */
	if (mac && strlen(mac) == 17) {
		unsigned first = (unsigned)strtoul(mac, NULL, 16);
		if ((first & 1) || !strcmp(mac, "00:00:00:00:00:00"))
			return err_setp(e, "mac-address",
					"mac-address %s is not a unicast address", mac);
	}
	if (!st || !addr || !ifn)
		return 0;
	for (size_t i = 0; i < store_count(st, m); i++) {
		const struct item *o = store_at(st, m, i);
		if (o == it || (it->id && o->id == it->id))
			continue;
		const char *oa = item_get(m, o, "address"), *oi = item_get(m, o, "interface");
		if (oa && oi && !strcmp(oa, addr) && !strcmp(oi, ifn))
			return err_setp(e, "address",
					"failure: already have static entry for %s on %s", addr, ifn);
	}
	return 0;
}

const struct menu menu_ip_arp = {
	.path = "/ip/arp",
	MENU_PROPS(arp_props),
	.flagdefs = arp_flags,
	.columns = arp_columns,
	.validate = arp_validate,
	.help = "IPv4 neighbours: static entries, and the dynamic ones the router learnt",
};

/* ---- /ip/route ---- */

static const char *const route_types[] = { "unicast", "blackhole", "prohibit", "unreachable",
					   NULL };
static const char *const route_checks[] = { "ping", "arp", NULL };

static const struct prop route_props[] = {
	{ .name = "dst-address", .type = T_NET4, .def = "0.0.0.0/0",
	  .help = "Destination network" },
	{ .name = "gateway", .type = T_STR, .flags = PF_LIST,
	  .help = "Next hops: addresses or interface names" },
	{ .name = "distance", .type = T_INT, .def = "1", .min = 0, .max = 255,
	  .help = "Preference among routes to the same network, lower wins" },
	{ .name = "routing-mark", .type = T_STR, .help = "Routing table for marked packets" },
	{ .name = "type", .type = T_ENUM, .def = "unicast", .enums = route_types,
	  .help = "What the route does with the traffic" },
	{ .name = "pref-src", .type = T_IP4, .help = "Source address for traffic the router sends" },
	{ .name = "scope", .type = T_INT, .def = "30", .min = 0, .max = 255,
	  .help = "Scope of the route" },
	{ .name = "target-scope", .type = T_INT, .def = "10", .min = 0, .max = 255,
	  .help = "Largest scope a gateway may be resolved through" },
	{ .name = "check-gateway", .type = T_ENUM, .enums = route_checks,
	  .help = "How to check that the gateway is reachable" },
	{ .name = "active", .type = T_BOOL, .flags = PF_RO, .help = "The route is in use" },
	{ .name = "connect", .type = T_BOOL, .flags = PF_RO,
	  .help = "Connected route of an interface address" },
	{ .name = "static", .type = T_BOOL, .flags = PF_RO, .help = "Route added by the user" },
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef route_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'A', "active", "active" },
	{ 'D', "dynamic", "dynamic" },
	{ 'C', "connect", "connect" },
	{ 'S', "static", "static" },
	{ 0, NULL, NULL },
};

static const char *const route_columns[] = { "dst-address", "gateway", "distance", NULL };

const struct menu menu_ip_route = {
	.path = "/ip/route",
	MENU_PROPS(route_props),
	.flagdefs = route_flags,
	.columns = route_columns,
	.help = "IPv4 routing table",
};
