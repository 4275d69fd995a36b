/*
 * gro: receive offload in software. The TCP segments of one connection
 * that arrive back to back in a receive burst are merged into one packet,
 * as Linux's GRO merges them behind a NIC, so the engine sees them once
 * (one conntrack lookup, one rule walk, one NAT rewrite for up to 64 KiB)
 * and they leave as one GSO packet that the kernel or the NIC cuts back
 * into the same segments. gro_cut makes that cut in software where the
 * merged packet cannot leave whole.
 *
 * What merges, Linux's rules (tcp_gro_receive): an untagged Ethernet frame
 * with IPv4 without options or fragmentation, or IPv6 with TCP as its
 * first next header; the same Ethernet header, addresses, ports, IP fields
 * (TOS, TTL, DF; IPv6 traffic class and flow label), acknowledgement,
 * window and TCP options, byte for byte; ACK set and none of SYN, FIN,
 * RST, URG; CWR on the first segment only; a PSH ends the packet; sequence
 * numbers back to back; every segment but the last as long as the first
 * (the cut's size), the last no longer; IPv4 ids counting up by one; at
 * most 65535 bytes of IP and GRO_MAX_SEGS segments. A segment whose
 * checksum is whole joins only once it verifies (with the IPv4 header's),
 * because the merged packet's checksum is partial and a corrupt segment
 * must not be hidden under a new sum.
 * The merged frame: the first frame's headers, with the total length, the
 * IPv4 header checksum, PSH if the last segment had it, and the
 * pseudo-header's sum in the TCP checksum (partial: whoever sends it
 * finishes it, PKT_RX_L4_PARTIAL).
 * Pure functions over caller memory; no allocation; any thread.
 */
#ifndef ROSFW_IO_GRO_H
#define ROSFW_IO_GRO_H

#include <stdbool.h>
#include <stdint.h>

/* Room a merged frame needs: 14 bytes of Ethernet and 65535 of IP. */
#define GRO_FRAME_MAX (14u + 65535u)
/* Segments in one merged packet at most (a cut's frames, bounded). */
#define GRO_MAX_SEGS 64u

enum gro_kind {
	GRO_OTHER,     /* not TCP over IP: it leaves every packet alone */
	GRO_BARRIER,   /* IP that may be TCP of any connection (a fragment, IPv6
			* extension headers, a malformed header): every packet
			* in the making ends, so that it cannot overtake one */
	GRO_TCP,       /* TCP that cannot merge (flags, options, no payload): it
			* ends its connection's packet, which goes first */
	GRO_MERGEABLE,
};

/* What gro_parse learned of a frame. */
struct gro_seg {
	uint8_t *f;        /* the frame */
	uint16_t l4, hdr;  /* where the TCP header and the payload start */
	uint16_t payload;  /* payload bytes */
	uint32_t seq;
	uint16_t id;       /* IPv4 identification */
	uint8_t family;    /* 4 or 6 */
	uint8_t flags;     /* TCP flags */
	bool partial;      /* its checksum is partial (nothing to verify) */
};

/* A merged packet in the making. */
struct gro_pkt {
	struct gro_seg first;
	uint8_t *buf;      /* NULL until a second segment joins; then the frame */
	uint32_t len;      /* its bytes, in buf */
	uint16_t mss;      /* the first segment's payload: the cut's size */
	uint16_t segs;
	uint32_t next_seq;
	uint16_t next_id;
	uint8_t last_flags;
	bool closed;       /* nothing may follow: a PSH, a short segment, full */
	bool verified;     /* the first segment's checksums verified */
};

/* Frame f (len bytes; partial: its transport checksum is partial). s is
 * filled for GRO_TCP and GRO_MERGEABLE. */
enum gro_kind gro_parse(uint8_t *f, uint32_t len, bool partial, struct gro_seg *s);
/* The same connection and direction (addresses and ports). */
bool gro_same_conn(const struct gro_seg *a, const struct gro_seg *b);

/* g starts with s (GRO_MERGEABLE), which stays where it is. */
void gro_start(struct gro_pkt *g, const struct gro_seg *s);
/* May s join g? Verifies whole checksums on the way (s's, and on the
 * first join the first segment's). */
bool gro_follows(struct gro_pkt *g, const struct gro_seg *s);
/* Appends s (gro_follows said yes). The first join copies the first frame
 * into buf, which must hold GRO_FRAME_MAX bytes and stays g's. */
void gro_add(struct gro_pkt *g, const struct gro_seg *s, uint8_t *buf);
/* Writes the merged packet's headers (g->segs > 1): its frame is g->buf,
 * g->len bytes. */
void gro_finish(struct gro_pkt *g);

/* Of a frame merged by gro (its IPv4 or IPv6 TCP header after up to two
 * VLAN tags; NAT may have rewritten it since): the bytes before the
 * payload, that each segment repeats, and the IP version in *family
 * (may be NULL); 0 for a frame of another kind. */
uint32_t gro_hdr_len(const uint8_t *f, uint32_t len, uint8_t *family);
/* The cut: segment i (from 0) of merged frame f (len bytes) in segments
 * of mss payload bytes, written to out (room bytes): the headers with
 * their lengths, sequence number, IPv4 id (counting up from the first's)
 * and header checksum, PSH and FIN on the last segment only, CWR on the
 * first only, and a partial TCP checksum, as a NIC's TSO makes them.
 * Returns its length, 0 past the last segment or when it does not fit. */
uint32_t gro_cut(const uint8_t *f, uint32_t len, uint16_t mss, uint32_t i, uint8_t *out,
		 uint32_t room);
/* How many segments gro_cut makes of f. */
uint32_t gro_segs(const uint8_t *f, uint32_t len, uint16_t mss);

#endif
