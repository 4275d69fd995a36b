/*
 * runtime: providers of the runtime menus (state, not configuration).
 * A provider fills a list of temporary items (the caller frees each with
 * item_free and the array with free). Register from the thread that owns the
 * sessions, before they run.
 */
#ifndef ROSFW_CONF_RUNTIME_H
#define ROSFW_CONF_RUNTIME_H

#include "conf.h"

/* The version string automation tools read from /system/resource. */
#define ROSFW_VERSION "0.1"
#define ROSFW_ROS_VERSION "7.16 (rosfw " ROSFW_VERSION ")"

/* For a runtime menu the provider's items are the menu's; for a stored list
 * menu (/ip/arp) they are added after the store's (dynamic items, ids from
 * 0xf0000000 up: never the store's). */
typedef int (*conf_provider_fn)(void *ctx, struct conf_session *s, const struct menu *m,
				struct item ***items, size_t *n);
void conf_set_provider(const char *path, conf_provider_fn fn, void *ctx);
/* Whether a provider is registered for the menu (a settings menu with one
 * shows what is in force, not only what is stored). */
bool conf_runtime_provided(const struct menu *m);

/* reset-counters of a menu whose counters live elsewhere (the queues' in
 * the running HTBs): after the store's counters of item id are zeroed, the
 * hook registered for the menu's path zeroes its own. */
typedef void (*conf_reset_fn)(void *ctx, const struct menu *m, uint32_t id);
void conf_set_reset_hook(const char *path, conf_reset_fn fn, void *ctx);
void conf_reset_hook_run(const struct menu *m, uint32_t id);
/* remove of a dynamic item that a provider added to a stored menu (/ip/arp's
 * learnt entries): the hook registered for the menu's path forgets item id
 * where its owner keeps it. conf_remove_hook_run returns 0, or -1 with e
 * (no hook: the menu's owner is not running; no such item any more). */
typedef int (*conf_remove_fn)(void *ctx, const struct menu *m, uint32_t id, struct err *e);
void conf_set_remove_hook(const char *path, conf_remove_fn fn, void *ctx);
int conf_remove_hook_run(const struct menu *m, uint32_t id, struct err *e);
/* Forgets every provider and hook registered with ctx (its owner is
 * going away). */
void conf_drop_ctx(const void *ctx);

/* The /interface view: one item per interface of every kind. decorate (may be
 * NULL) adds what its owner knows of an interface, by name: link state, the
 * real MAC and MTU, counters (the live dataplane's provider). */
typedef void (*conf_iface_decorate_fn)(void *ctx, const struct menu *view, struct item *it,
				       const char *name, bool disabled);
int conf_interface_items(struct conf_session *s, const struct menu *view,
			 conf_iface_decorate_fn decorate, void *ctx, struct item ***items,
			 size_t *n);
/* An interface's traffic counters as /interface print stats shows them,
 * whoever moves its packets (the live dataplane, the simulated network). */
struct conf_if_stats {
	uint64_t rx_bytes, rx_packets, rx_drops, rx_errors;
	uint64_t tx_bytes, tx_packets, tx_drops, tx_queue_drops, tx_errors;
};
/* Puts c into an /interface view item (rx-byte, tx-byte, rx-packet ...):
 * for a decorate function. */
void conf_iface_put_stats(const struct menu *view, struct item *it, const struct conf_if_stats *c);
void conf_runtime_started(void);
/* A tz database zone ("Europe/Riga", read from /usr/share/zoneinfo) at Unix
 * time t: its offset from UTC in seconds and whether daylight saving is in
 * effect. -1 when the zone is unknown or its file unreadable. */
int conf_tz_at(const char *zone, int64_t t, long *off, bool *dst);
/* Log lines by sequence (for print follow): seq counts the lines ever
 * logged; copies up to max lines from seq on (those still in the ring),
 * oldest first, and sets *next to the seq after the last one copied. */
size_t conf_log_since(uint64_t seq, struct conf_log_entry *out, size_t max, uint64_t *next);
/* Unix seconds as the console shows a date and time ("nov/26/2026 22:39:00", local). */
void conf_format_time(int64_t t, char *buf, size_t n);
/* A log line's time as RouterOS prints it at now_s: the time of day for
 * today's lines, "mon/dd hh:mm:ss" for this year's, the full date before. */
void conf_format_log_time(int64_t t, int64_t now_s, char *buf, size_t n);
/* The log's clock (a new line's time, the "now" /log print reads): the
 * machine's unless set (tests move it over midnight); NULL puts it back. */
void conf_set_log_clock(int64_t (*now)(void));

#endif
