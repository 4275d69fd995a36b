/*
 * arp: IPv4 neighbours of the live dataplane (RFC 826). Answers requests
 * for the router's own addresses, resolves next hops, and learns from
 * every ARP frame of a neighbour it already knows (or that asks for one of
 * the router's addresses). The table, its states, timeouts and wait queues
 * are neigh.h's: an entry is reachable for 30 s after the neighbour last
 * spoke ARP to us; a stale one is still used and probed (3 unicast
 * requests, 1 s apart); an unresolved next hop gets 3 broadcast requests,
 * then the packets waiting for it are given up (the wait queues are
 * bounded by bytes: neigh.h).
 * Static entries (/ip arp) come from the configuration (arp_load_static):
 * they resolve at once, never age and are never asked for; a published one
 * is also answered for, with its MAC, as RouterOS's proxy publishing. An
 * interface's arp= mode (arp_set_mode): enabled learns and resolves as
 * above; proxy-arp also answers, with the interface's MAC, a request for an
 * address the router routes out of another interface (Linux's proxy_arp);
 * local-proxy-arp one for an address routed back out of the same interface
 * (Linux's proxy_arp_pvlan: hosts kept apart on one segment talk through
 * the router). Neither answers for the asker's own address, an address
 * probe (sender 0.0.0.0), nor an address with no unicast route (ops->route_if).
 * reply-only answers for the router's addresses but learns nothing
 * and resolves through static entries only; disabled neither answers nor
 * learns, static entries only. A packet for a next hop with no static entry
 * there is given up at once (ops->dropped, unreachable).
 * Owned by one dataplane thread. Packets are the caller's (void *): arp
 * takes one in arp_resolve when it must wait and hands it back through
 * ops->resolved or ops->dropped, exactly once.
 */
#ifndef ROSFW_IO_ARP_H
#define ROSFW_IO_ARP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/neigh.h"

#define ARP_MAX_ENTRIES NEIGH_MAX_ENTRIES
#define ARP_PROBES NEIGH_PROBES
#define ARP_FRAME_LEN 60

struct arp_ops {
	void *ctx;
	/* Is addr one of the router's addresses answered on interface ifid? */
	bool (*is_mine)(void *ctx, uint16_t ifid, uint32_t addr);
	/* The sender address for a request for target on ifid (0: none). */
	uint32_t (*src_addr)(void *ctx, uint16_t ifid, uint32_t target);
	/* The interface's MAC address, NULL when it is not usable. */
	const uint8_t *(*mac)(void *ctx, uint16_t ifid);
	/* Sends an ARP frame (copied before return). */
	void (*send)(void *ctx, uint16_t ifid, const uint8_t *frame, uint32_t len);
	/* A waiting packet may leave: its next hop answered with mac. */
	void (*resolved)(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6]);
	/* A waiting packet is given up: its queue overflowed, or (unreachable)
	 * the next hop never answered. */
	void (*dropped)(void *ctx, uint16_t ifid, void *pkt, bool unreachable);
	/* The interface the router routes addr out of by a unicast route, 0
	 * when none (NULL: never any; only proxy-arp modes ask). */
	uint16_t (*route_if)(void *ctx, uint32_t addr);
	/* The bytes a waiting packet holds (neigh_ops'). */
	uint32_t (*size)(void *ctx, void *pkt);
};

enum arp_state {
	ARP_FREE = NEIGH_FREE,
	ARP_INCOMPLETE = NEIGH_INCOMPLETE,
	ARP_REACHABLE = NEIGH_REACHABLE,
	ARP_STALE = NEIGH_STALE,
	ARP_PROBE = NEIGH_PROBE,
	ARP_STATIC = NEIGH_STATIC,
};

/* An interface's arp=. Those from ARP_MODE_REPLY_ONLY on learn nothing. */
enum arp_mode {
	ARP_MODE_ENABLED,
	ARP_MODE_PROXY,       /* proxy-arp */
	ARP_MODE_LOCAL_PROXY, /* local-proxy-arp */
	ARP_MODE_REPLY_ONLY,
	ARP_MODE_DISABLED,
};

/* A static entry of the configuration. */
struct arp_static {
	uint16_t ifid;
	uint32_t ip;
	uint8_t mac[6];
	bool published;
};
const char *arp_state_name(enum arp_state s);

struct arp_stats {
	uint64_t requests_in, replies_in;   /* valid ARP frames received */
	uint64_t requests_out, replies_out;
	uint64_t bad;                       /* malformed or not Ethernet/IPv4 */
	uint64_t ignored;                   /* received where arp=disabled */
	uint64_t no_static;                 /* packets given up: arp=reply-only or
					     * disabled and no static entry */
	uint64_t proxied;                   /* replies for another host's address
					     * (proxy-arp, local-proxy-arp) */
	/* the table's (neigh_stats), copied by arp_stats */
	uint64_t queued, queue_drops, unreachable, table_full;
};

struct arp_info {
	uint16_t ifid;
	uint32_t ip;
	uint8_t mac[6];
	enum arp_state state;
	uint64_t confirmed;                 /* ns, 0 = never */
	uint32_t serial;                    /* neigh_info's */
};

struct arp;

struct arp *arp_new(const struct arp_ops *ops);
/* Hands every waiting packet to ops->dropped first. */
void arp_free(struct arp *a);

/* An ARP frame (Ethernet header included) received on ifid. */
void arp_input(struct arp *a, uint16_t ifid, const uint8_t *frame, uint32_t len, uint64_t now);
/*
 * The MAC of next hop ip on ifid: true with mac filled when known; false
 * when not yet, in which case pkt (if not NULL) now waits in the entry and
 * a request is on its way.
 */
bool arp_resolve(struct arp *a, uint16_t ifid, uint32_t ip, void *pkt, uint8_t mac[6],
		 uint64_t now);
/* The static entries from now on (those of before are forgotten): what
 * waited for one of them leaves. Returns how many were set (fewer when the
 * table is full). */
size_t arp_load_static(struct arp *a, const struct arp_static *s, size_t n);
/* Interface ifid's arp= from now on (all are enabled at first); going to
 * reply-only or disabled forgets the neighbours it learnt there. */
void arp_set_mode(struct arp *a, uint16_t ifid, enum arp_mode m);
/* Retries, give-ups and ageing; call every 100 ms or so. */
void arp_tick(struct arp *a, uint64_t now);
/* The link of ifid went down: forget its neighbours (waiting packets dropped). */
void arp_flush_if(struct arp *a, uint16_t ifid);
/* Forgets the learnt entry of ip on ifid (its waiting packets dropped): a
 * static one stays. False when there is no such learnt entry. */
bool arp_forget(struct arp *a, uint16_t ifid, uint32_t ip);

const struct arp_stats *arp_stats(struct arp *a);
/* Up to max entries in use (static ones included), in table order;
 * returns how many. */
size_t arp_list(const struct arp *a, struct arp_info *out, size_t max);

#endif
