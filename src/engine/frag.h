/*
 * frag: IP fragment reassembly before connection tracking, as Linux's
 * nf_defrag_ipv4 / nf_defrag_ipv6 do at prerouting: the rules and conntrack
 * only ever see whole datagrams. A bounded table of reassembly queues keyed
 * by (family, source, destination, protocol, id) for IPv4 and (source,
 * destination, id) for IPv6; a memory limit (ipfrag_high_thresh, 4 MiB by
 * default) with eviction of the oldest queues down to three quarters of it;
 * a timeout from the first fragment (ipfrag_time, 30 s). Overlapping
 * fragments that agree with what is already queued are trimmed; an overlap
 * that changes data, or a fragment that contradicts the datagram's known
 * length, drops the whole datagram (DR_FRAG_OVERLAP).
 * Drops are counted once per datagram: the one that the current fragment
 * causes is returned to the caller; queues that time out or are evicted
 * while handling another packet are counted in the caller's per-reason array
 * given to frag_new (DR_FRAG_TIMEOUT, DR_FRAG_MEMORY).
 * Memory: one pool of fixed-size blocks, allocated on the first fragment and
 * never grown; nothing is allocated per packet. One thread (the dataplane).
 */
#ifndef ROSFW_ENGINE_FRAG_H
#define ROSFW_ENGINE_FRAG_H

#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

#define FRAG_MEM_DEFAULT (4u << 20)             /* ipfrag_high_thresh */
#define FRAG_TIMEOUT_DEFAULT 30000000000ull    /* ipfrag_time, ns */
/* Room a reassembled frame may need: Ethernet with two VLAN tags, the
 * largest IPv4 header or an IPv6 header with its unfragmentable extension
 * headers, and a 64 KiB payload. */
#define FRAG_FRAME_MAX (22 + 256 + 65536)

enum frag_verdict {
	FRAG_HELD, /* queued: the datagram is not complete yet */
	FRAG_DONE, /* the datagram is complete and written out */
	FRAG_DROP, /* the fragment (and maybe its datagram) is dropped: *reason */
};

struct frag_table;

/* mem_limit in bytes, timeout in ns, key for the hash, drops indexed by
 * enum drop_reason (the engine's counters). */
struct frag_table *frag_new(size_t mem_limit, uint64_t timeout, const uint8_t key[16],
			    uint64_t *drops);
void frag_free(struct frag_table *t);

/*
 * Queues the fragment p (parsed, PKT_F_FRAGMENT set, family 4 or 6). When
 * it completes its datagram, writes the whole frame to out (cap bytes, at
 * least FRAG_FRAME_MAX): the link-layer header and IP header of the first
 * fragment (IPv6: its unfragmentable part, without the fragment header),
 * lengths and checksum fixed, then the payload; *out_len is its length and
 * *nfrags how many fragments it took.
 */
enum frag_verdict frag_add(struct frag_table *t, const struct pkt *p, uint64_t now, uint8_t *out,
			   size_t cap, uint32_t *out_len, unsigned *nfrags,
			   enum drop_reason *reason);

/* Drops the queues whose time is up (DR_FRAG_TIMEOUT). */
void frag_expire(struct frag_table *t, uint64_t now);

/* Queues held, and bytes of fragment memory in use. */
size_t frag_queues(const struct frag_table *t);
size_t frag_mem(const struct frag_table *t);

#endif
