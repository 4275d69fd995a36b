/*
 * menus: the schema tables, one constant struct menu per RouterOS menu,
 * grouped by concern: interfaces and their addressing (menus_interface.c),
 * IPv6 addresses and routes (menus_ipv6.c),
 * the IPv4/IPv6 firewall (menus_firewall.c), queues (menus_queue.c), and
 * system, users, services and runtime views (menus_system.c). schema.c
 * lists them in export order; everything else reaches them through
 * schema_find() or schema_menus[]. Constant, shared by all threads.
 */
#ifndef ROSFW_CONF_MENUS_H
#define ROSFW_CONF_MENUS_H

#include "schema.h"

/* menus_interface.c */
extern const struct menu menu_interface;
extern const struct menu menu_interface_bridge;
extern const struct menu menu_interface_bridge_port;
extern const struct menu menu_interface_ethernet;
extern const struct menu menu_interface_vlan;
extern const struct menu menu_interface_wireless;
extern const struct menu menu_interface_list;
extern const struct menu menu_interface_list_member;
extern const struct menu menu_ip_address;
extern const struct menu menu_ip_arp;
extern const struct menu menu_ip_route;

/* menus_firewall.c */
extern const struct menu menu_ip_firewall_address_list;
extern const struct menu menu_ip_firewall_connection;
extern const struct menu menu_ip_firewall_service_port;
extern const struct menu menu_ip_firewall_connection_tracking;
extern const struct menu menu_ip_firewall_filter;
extern const struct menu menu_ip_firewall_layer7_protocol;
extern const struct menu menu_ip_firewall_mangle;
extern const struct menu menu_ip_firewall_nat;
extern const struct menu menu_ip_firewall_raw;
extern const struct menu menu_ipv6_firewall_address_list;
extern const struct menu menu_ipv6_firewall_filter;
extern const struct menu menu_ipv6_firewall_mangle;
extern const struct menu menu_ipv6_firewall_raw;
/* The IP protocol number of a protocol value (canonical name, accepted
 * spelling or number), or -1. */
int menus_protocol_number(const char *v);

/* menus_ipv6.c */
extern const struct menu menu_ipv6_address;
extern const struct menu menu_ipv6_route;
extern const struct menu menu_ipv6_nd;
extern const struct menu menu_ipv6_nd_prefix;
extern const struct menu menu_ipv6_neighbor;
/* /ipv6/nd ra-interval ("3m20s-10m", or one time: the most, a third of it
 * the least) in ms: 0, or -1 when out of RFC 4861's bounds. */
int menus_ra_interval(const char *in, uint64_t *min_ms, uint64_t *max_ms);
/* A prefix lifetime ("1w", "infinity") in seconds, infinity 0xffffffff. */
int menus_lifetime_s(const char *v, uint32_t *s);

/* menus_queue.c */
extern const struct menu menu_queue_type;
extern const struct menu menu_queue_simple;
extern const struct menu menu_queue_tree;

/* menus_system.c */
extern const struct menu menu_ip_dns;
extern const struct menu menu_ip_service;
extern const struct menu menu_system_clock;
extern const struct menu menu_system_identity;
extern const struct menu menu_system_logging;
extern const struct menu menu_system_logging_action;
extern const struct menu menu_system_resource;
extern const struct menu menu_system_history;
extern const struct menu menu_system_scheduler;
extern const struct menu menu_system_script;
extern const struct menu menu_user;
extern const struct menu menu_user_group;
extern const struct menu menu_user_active;
extern const struct menu menu_log;
extern const struct menu menu_file;

/* menus_cert.c */
extern const struct menu menu_certificate;

/* T_CUSTOM check: one of p->enums, or an integer within p->min..p->max
 * (bridge mtu=auto, new-mss=clamp-to-pmtu). Defined in schema.c. */
int menus_check_int_or_word(const struct prop *p, const char *in, struct sbuf *out,
			    struct err *e);

/*
 * Shorthands for the table files only (they define ROSFW_MENUS_TABLES
 * before including this header).
 */
#ifdef ROSFW_MENUS_TABLES

#define MENU_PROPS(a) .props = (a), .nprops = sizeof(a) / sizeof((a)[0])

#define PROP_DISABLED \
	{ .name = "disabled", .type = T_BOOL, .def = "no", \
	  .help = "Whether the item is ignored" }
#define PROP_COMMENT \
	{ .name = "comment", .type = T_STR, .help = "Short description of the item" }

#endif

#endif
