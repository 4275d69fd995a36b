/*
 * nd: IPv6 neighbours of the live dataplane (RFC 4861 neighbour discovery,
 * the part a router needs on its links). Answers neighbour solicitations
 * for the router's addresses on the interface they arrive on (global and
 * link-local; to the solicited-node multicast group or unicast, duplicate
 * address detection included), solicits next hops (multicast to their
 * solicited-node group, then unicast probes), and learns from
 * advertisements and from the link-layer address a solicitation carries.
 * An entry is marked a router (IsRouter) as the neighbour's advertisements
 * say: an NA's router flag, or any router advertisement it sends (RFC 4861
 * 6.3.4, 7.2.5); a router solicitation's sender is a host (6.2.6).
 * The table is neigh.h's (states, timeouts, the bounded wait queue), keyed
 * by 16-byte addresses. The router's own advertisements are ra.h's (a
 * neighbour's only tell nd it is a router); no redirects or proxy.
 * Messages are checked as RFC 4861 7.1 says (hop limit 255, checksum, code
 * 0, lengths, options, no multicast target); what fails is counted as bad.
 * Owned by one dataplane thread; packets are the caller's, as in neigh.h.
 */
#ifndef ROSFW_IO_ND_H
#define ROSFW_IO_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/neigh.h"

#define ND_FRAME_LEN 86 /* Ethernet + IPv6 + NS/NA + one link-layer option */

struct nd_ops {
	void *ctx;
	/* Is addr one of the router's addresses on interface ifid? */
	bool (*is_mine)(void *ctx, uint16_t ifid, const uint8_t addr[16]);
	/* The source address of a solicitation for target on ifid (its
	 * link-local address): false when there is none. */
	bool (*src_addr)(void *ctx, uint16_t ifid, const uint8_t target[16], uint8_t src[16]);
	/* The interface's MAC address, NULL when it is not usable. */
	const uint8_t *(*mac)(void *ctx, uint16_t ifid);
	/* Sends a frame (copied before return). */
	void (*send)(void *ctx, uint16_t ifid, const uint8_t *frame, uint32_t len);
	void (*resolved)(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6]);
	void (*dropped)(void *ctx, uint16_t ifid, void *pkt, bool unreachable);
	uint32_t (*size)(void *ctx, void *pkt);
};

struct nd_stats {
	uint64_t ns_in, na_in;   /* valid solicitations and advertisements received */
	uint64_t ra_in;          /* valid router advertisements received (neighbours') */
	uint64_t ns_out, na_out;
	uint64_t bad;            /* malformed, or failing RFC 4861's checks */
	/* the table's (neigh_stats), copied by nd_stats */
	uint64_t queued, queue_drops, unreachable, table_full;
};

struct nd;

struct nd *nd_new(const struct nd_ops *ops);
/* Hands every waiting packet to ops->dropped first. */
void nd_free(struct nd *d);

/* Is this IPv6 packet (ip6, len bytes) a neighbour solicitation or
 * advertisement, or a router advertisement, for nd_input? (next header
 * ICMPv6, type 135, 136 or 134) */
bool nd_is_nd(const uint8_t *ip6, uint32_t len);
/* A neighbour solicitation or advertisement (or a router advertisement)
 * received on ifid: ip6 is the IPv6 packet (len bytes), src_mac the
 * Ethernet source of its frame. */
void nd_input(struct nd *d, uint16_t ifid, const uint8_t *ip6, uint32_t len,
	      const uint8_t src_mac[6], uint64_t now);
/* As arp_resolve: the MAC of next hop addr on ifid, or false and pkt waits.
 * A multicast group's MAC is known at once (33:33 and its last 32 bits). */
bool nd_resolve(struct nd *d, uint16_t ifid, const uint8_t addr[16], void *pkt, uint8_t mac[6],
		uint64_t now);
/* What a router solicitation with a source link-layer option tells
 * (RFC 4861 6.2.6): addr is at mac on ifid (a stale entry, as 7.2.3). */
void nd_learn(struct nd *d, uint16_t ifid, const uint8_t addr[16], const uint8_t mac[6],
	      uint64_t now);
void nd_tick(struct nd *d, uint64_t now);
/* The ICMPv6 checksum (RFC 8200 8.1) of msg (len bytes) from src to dst,
 * in host order; 0 when msg carries a correct one. */
uint16_t nd_icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg, uint32_t len);
void nd_flush_if(struct nd *d, uint16_t ifid);
/* Forgets the neighbour addr on ifid (/ipv6 neighbor remove; its waiting
 * packets dropped): it may be learnt again. False when there is none. */
bool nd_forget(struct nd *d, uint16_t ifid, const uint8_t addr[16]);

const struct nd_stats *nd_stats(struct nd *d);
size_t nd_list(const struct nd *d, struct neigh_info *out, size_t max);

#endif
