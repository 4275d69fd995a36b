/*
 * neigh: the neighbour table of the live dataplane, one per address family:
 * ARP (arp.c, IPv4) and neighbour discovery (nd.c, IPv6) keep their frames
 * and put the state machine here. An entry is keyed by (interface,
 * address) and is incomplete (asked, no answer yet), reachable (the
 * neighbour confirmed its MAC in the last 30 s), stale (known, not
 * confirmed lately: still used, and its first use sends unicast probes),
 * or probe (being probed: 3, 1 s apart, then forgotten); or static (set by
 * the configuration: resolves at once, never ages, is never asked for nor
 * changed by what neighbours say, and stays when the link goes down). An
 * unresolved next
 * hop gets 3 solicitations, 1 s apart; then the packets waiting for it are
 * given up.
 * The wait queues are bounded by bytes, as Linux's (unres_qlen_bytes): each
 * packet counts what ops->size says it holds; an entry's queue keeps at most
 * NEIGH_QUEUE_BYTES, the whole table's at most NEIGH_QUEUE_TOTAL_BYTES in
 * NEIGH_QUEUE_SLOTS packets, so that a scan of many next hops that never
 * answer cannot hold every buffer of the dataplane. Over either, the oldest
 * waiting packet (the entry's, resp. the table's) is dropped to make room.
 * The table is fixed in size (NEIGH_MAX_ENTRIES entries, NEIGH_QUEUE_SLOTS
 * waiting packets, no allocation after neigh_new) and owned by one
 * dataplane thread. Packets are the caller's
 * (void *): the table takes one in neigh_resolve when it must wait and
 * hands it back through ops->resolved or ops->dropped, exactly once.
 */
#ifndef ROSFW_IO_NEIGH_H
#define ROSFW_IO_NEIGH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NEIGH_MAX_ENTRIES 1024
/* Linux's unres_qlen_bytes (212,992): about 100 full-size frames */
#define NEIGH_QUEUE_BYTES 212992u
/* 1 MiB: five neighbours' worth; ARP and ND together hold at most a
 * quarter of the dataplane's 4096 buffers of 2 KiB (dataplane.c) */
#define NEIGH_QUEUE_TOTAL_BYTES 1048576u
#define NEIGH_QUEUE_SLOTS 1024u
#define NEIGH_PROBES 3
#define NEIGH_RETRANS_NS 1000000000ull
#define NEIGH_REACHABLE_NS 30000000000ull
#define NEIGH_GC_NS 300000000000ull /* an unused stale entry is forgotten */

enum neigh_state {
	NEIGH_FREE,
	NEIGH_INCOMPLETE,
	NEIGH_REACHABLE,
	NEIGH_STALE,
	NEIGH_PROBE,
	NEIGH_STATIC,
};
const char *neigh_state_name(enum neigh_state s);

struct neigh_ops {
	void *ctx;
	/* Asks who has addr on ifid: to everyone (broadcast, solicited-node
	 * multicast) when mac is NULL, else a probe to mac alone. */
	void (*solicit)(void *ctx, uint16_t ifid, const uint8_t *addr, const uint8_t *mac);
	/* A waiting packet may leave: its next hop answered with mac. */
	void (*resolved)(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6]);
	/* A waiting packet is given up: its queue overflowed, or (unreachable)
	 * the next hop never answered. */
	void (*dropped)(void *ctx, uint16_t ifid, void *pkt, bool unreachable);
	/* The bytes a waiting packet holds (its buffer's), for the bounds. */
	uint32_t (*size)(void *ctx, void *pkt);
};

struct neigh_stats {
	uint64_t queued;      /* packets that waited for an answer */
	uint64_t queue_drops; /* pushed out of a full wait queue (the entry's
			       * or the table's) */
	uint64_t unreachable; /* packets given up: no answer */
	uint64_t table_full;  /* packets dropped: no free entry */
};

struct neigh_info {
	uint16_t ifid;
	uint8_t addr[16];     /* alen bytes, network order */
	uint8_t mac[6];
	enum neigh_state state;
	uint64_t confirmed;   /* ns, 0 = never */
	uint32_t serial;      /* the entry's own: never another's while it lives */
	bool router;          /* IsRouter: the neighbour advertises itself a router */
};

/* What a neighbour's message says about its MAC. */
enum neigh_news {
	NEIGH_CONFIRMED, /* an answer to us: reachable at mac */
	NEIGH_SEEN,      /* it spoke unasked: stale when mac is new, else unchanged */
};

struct neigh;

/* alen: 4 (IPv4) or 16 (IPv6) bytes of address. */
struct neigh *neigh_new(const struct neigh_ops *ops, uint8_t alen);
/* Hands every waiting packet to ops->dropped first. */
void neigh_free(struct neigh *n);

/*
 * The MAC of next hop addr on ifid: true with mac filled when known; false
 * when not yet, in which case pkt (if not NULL) now waits in the entry and
 * a solicitation is on its way.
 */
bool neigh_resolve(struct neigh *n, uint16_t ifid, const uint8_t *addr, void *pkt,
		   uint8_t mac[6], uint64_t now);
/* The neighbour addr on ifid spoke with MAC mac (news says how); an entry
 * is made when there is none and create is set. What waited for it leaves.
 * False when there is no entry (and none was made). */
bool neigh_update(struct neigh *n, uint16_t ifid, const uint8_t *addr, const uint8_t mac[6],
		  enum neigh_news news, bool create, uint64_t now);
/* The entry of addr on ifid into info; false when there is none. */
bool neigh_lookup(const struct neigh *n, uint16_t ifid, const uint8_t *addr,
		  struct neigh_info *info);
/* Makes a reachable entry stale (a neighbour's unconfirmed claim of another MAC). */
void neigh_set_stale(struct neigh *n, uint16_t ifid, const uint8_t *addr);
/* The entry of addr on ifid (if any) is of a router or not (IPv6's
 * IsRouter, from its advertisements). */
void neigh_set_router(struct neigh *n, uint16_t ifid, const uint8_t *addr, bool router);
/* Makes addr on ifid a static entry at mac (what waited for it leaves);
 * false when the table is full. */
bool neigh_set_static(struct neigh *n, uint16_t ifid, const uint8_t *addr, const uint8_t mac[6]);
/* Forgets every static entry (before the configuration's are set again). */
void neigh_clear_static(struct neigh *n);
/* Retries, give-ups and ageing; call every 100 ms or so. */
void neigh_tick(struct neigh *n, uint64_t now);
/* The link of ifid went down: forget its neighbours (waiting packets
 * dropped); static entries stay. */
void neigh_flush_if(struct neigh *n, uint16_t ifid);
/* Forgets the learnt entry of addr on ifid (/ip arp remove of a dynamic
 * one; waiting packets dropped). It may be learnt again. False when there
 * is none, or it is static. */
bool neigh_forget(struct neigh *n, uint16_t ifid, const uint8_t *addr);

const struct neigh_stats *neigh_stats(const struct neigh *n);
/* Up to max entries in use, in table order; returns how many. */
size_t neigh_list(const struct neigh *n, struct neigh_info *out, size_t max);

#endif
