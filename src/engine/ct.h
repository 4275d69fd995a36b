/*
 * ct: connection tracking with Linux netfilter's semantics (RouterOS runs
 * on it): states new, established, related, invalid, untracked; the TCP
 * state table of nf_conntrack_proto_tcp with its invalid and ignore
 * transitions and window tracking (tcp_in_window), loose pickup of
 * mid-stream connections; UDP unreplied/stream timeouts; ICMP queries by
 * id and ICMP errors as related through their embedded header; generic
 * protocols by address pair. A new connection's entry is created
 * unconfirmed by ct_in and inserted by ct_confirm once the packet survived
 * the rules (as netfilter confirms at postrouting/input), so a dropped first
 * packet leaves nothing behind and NAT can set the reply tuple first.
 * The hash is keyed (SipHash) so attacker-chosen tuples cannot degrade it.
 * Memory: entries come from a pool sized by max-entries; a full table
 * evicts a non-assured entry or refuses the new connection.
 * One thread owns a table (the dataplane); print reads through ct_foreach
 * from the same thread.
 */
#ifndef ROSFW_ENGINE_CT_H
#define ROSFW_ENGINE_CT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

enum ct_state { CT_NONE = 0, CT_NEW, CT_ESTABLISHED, CT_RELATED, CT_INVALID, CT_UNTRACKED };

/* TCP states, as Linux names them. */
enum ct_tcp_state {
	TCP_CONNTRACK_NONE, TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_SYN_RECV,
	TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT, TCP_CONNTRACK_CLOSE_WAIT,
	TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_CLOSE,
	TCP_CONNTRACK_SYN_SENT2, TCP_CONNTRACK_MAX
};
const char *ct_tcp_state_name(uint8_t s); /* RouterOS names: syn-sent, established, ... */
const char *ct_state_name(uint8_t s);     /* new, established, related, invalid, untracked */

/* Timeouts, indexed like /ip firewall connection tracking. */
enum ct_timeout {
	CTO_TCP_SYN_SENT, CTO_TCP_SYN_RECV, CTO_TCP_ESTABLISHED, CTO_TCP_FIN_WAIT,
	CTO_TCP_CLOSE_WAIT, CTO_TCP_LAST_ACK, CTO_TCP_TIME_WAIT, CTO_TCP_CLOSE,
	CTO_TCP_MAX_RETRANS, CTO_TCP_UNACKED, CTO_UDP, CTO_UDP_STREAM, CTO_ICMP,
	CTO_GENERIC, CTO_MAX
};

struct ct_config {
	bool enabled;          /* enabled=no: every packet is untracked */
	bool loose;            /* loose-tcp-tracking */
	uint32_t max_entries;
	uint64_t timeout[CTO_MAX]; /* ns */
};
/* RouterOS v6 defaults (REFERENCE.md §3). */
void ct_config_default(struct ct_config *c);

struct ct_tuple {
	union ipaddr src, dst;
	uint16_t sport, dport; /* ICMP: id in both */
	uint8_t proto;
	uint8_t family;
};

/* Status bits (print flags in parentheses). */
#define CTS_SEEN_REPLY 0x0001u /* S */
#define CTS_ASSURED    0x0002u /* A */
#define CTS_CONFIRMED  0x0004u /* C */
#define CTS_FASTTRACK  0x0008u /* F */
#define CTS_SRCNAT     0x0010u /* s */
#define CTS_DSTNAT     0x0020u /* d */
#define CTS_NAT_DONE   0x0040u /* NAT rules consulted (first packet) */

struct ct_tcp_dir {
	uint32_t end, maxend, maxwin;
	uint8_t scale;
	uint8_t flags;
};

/*
 * One direction of an entry's tuple as stored. IPv4 addresses live here;
 * an IPv6 entry keeps its four addresses after the entry, in a larger slot,
 * and leaves src/dst zero: ct_entry_tuple gives the whole tuple of either
 * family. (So that an IPv4 entry, the common case at a million entries,
 * costs 152 bytes and its bucket 4, NAT included.)
 */
struct ct_ends {
	uint32_t src, dst; /* IPv4 */
	uint16_t sport, dport; /* ICMP: id in both */
};

struct ct_entry {
	struct ct_ends t[2];  /* [0] original direction as first seen; [1] the reply
			       * expected, with NAT applied (reply src = translated dst) */
	uint8_t proto;
	uint8_t family;
	uint16_t status;      /* CTS_* */
	uint8_t tcp_state;
	uint8_t tcp_last_dir, tcp_last_index, tcp_retrans;
	uint32_t mark;        /* connection-mark id, 0 = none */
	uint8_t helper;       /* conntrack helper (cthelper.h), 0 = none */
	uint8_t lru_cls;      /* private: the expiry list (timeout class) it is on */
	uint64_t expires;     /* ns */
	uint64_t bytes[2];
	uint32_t packets[2];
	uint32_t serial;      /* this use of the slot: set when the entry is created,
			       * never the same for two entries of a slot (FastTrack) */
	uint32_t tcp_last_seq, tcp_last_ack;
	struct ct_tcp_dir tcp[2];
	/* private: this slot's index, hash chains (one link per direction) and
	 * the expiry list, all as 32-bit slot indices */
	uint32_t self, hnext[2], lru_prev, lru_next;
};

/* The whole tuple of direction dir (0 original, 1 reply) of e. */
void ct_entry_tuple(const struct ct_entry *e, unsigned dir, struct ct_tuple *out);

struct ct_table;

struct ct_table *ct_create(const struct ct_config *c, const uint8_t key[16]);
void ct_destroy(struct ct_table *t);
void ct_set_config(struct ct_table *t, const struct ct_config *c);
const struct ct_config *ct_get_config(const struct ct_table *t);

/*
 * The conntrack hook (prerouting for packets in, output for the router's):
 * finds the entry of p (either direction), steps its state, refreshes its
 * timeout and counters, and sets p->ct, p->ct_dir and p->ct_state. A packet
 * that may start a connection gets a new unconfirmed entry (CT_NEW); one
 * that may not (unsolicited reply, bad TCP flags, out of window, ...) is
 * CT_INVALID with p->ct NULL. An ICMP error whose embedded header matches an
 * entry is CT_RELATED with p->ct set to that entry. A packet already marked
 * CT_UNTRACKED (raw notrack) is left alone.
 */
void ct_in(struct ct_table *t, struct pkt *p, uint64_t now);

/*
 * A burst's early stages: ct_prefetch hashes p's tuple (kept in p->ct_hash
 * for ct_in, which must see the same tuple) and prefetches its bucket;
 * ct_prefetch_entry, once the bucket had time to arrive, prefetches the
 * first entry of its chain. Neither changes anything.
 */
void ct_prefetch(struct ct_table *t, struct pkt *p);
void ct_prefetch_entry(struct ct_table *t, const struct pkt *p);

/* Prefetches, for writing, what a packet of e reads and counts: the
 * fields before tcp_last_seq (tuples, state, expiry, expiry list,
 * counters), two cache lines at most wherever e starts. */
static inline void ct_prefetch_hot(const struct ct_entry *e)
{
	__builtin_prefetch(e, 1);
	__builtin_prefetch((const char *)e + offsetof(struct ct_entry, tcp_last_seq) - 1, 1);
}

/* Inserts p's unconfirmed entry once the packet is accepted. Returns 0, or
 * -1 when the table is full and no non-assured entry could be evicted (the
 * packet must then be dropped with DR_CT_FULL). No-op for confirmed entries. */
int ct_confirm(struct ct_table *t, struct pkt *p, uint64_t now);
/* Frees p's unconfirmed entry (the packet was dropped). */
void ct_discard(struct ct_table *t, struct pkt *p);

/*
 * FastTrack's path (the engine's flow cache, like Linux's flow table).
 * ct_fast_begin hands e's packets over to it, once, when the connection is
 * marked fasttracked: TCP window tracking stops refusing (both directions
 * become liberal) and the highest ACK seen is forgotten, as Linux's fix-up
 * of an offloaded flow does, so that a RST or FIN back on the full path is
 * judged without the windows and ACKs the cache did not follow.
 *
 * One rule for a fasttracked connection, hit or full path (ct_in): once it
 * is assured, its UDP packets, and its TCP segments in ESTABLISHED with ACK
 * and without SYN, FIN or RST, are counted and refresh the connection in
 * the established class (TCP; RouterOS's tcp-established, a day by
 * default) or the stream class (UDP), and nothing more: no window
 * tracking, no unacknowledged or zero-window class. Linux does the same
 * for an offloaded connection: conntrack sees none of its packets and the
 * flow table holds the entry's timeout at a day (nf_ct_offload_timeout)
 * until the flow leaves the table. SYN, FIN and RST are tracked as ever
 * (liberal windows) and take the timeout of the state they lead to.
 *
 * The cache holds a connection as its slot (e->self, of an IPv4 entry) and
 * serial (e->serial): ct_fast_slot gives the slot's entry, whoever it now
 * belongs to (to prefetch it); ct_fast_hit takes p, an IPv4 TCP/UDP packet
 * whose tuple the cache says is direction dir of that connection, and
 * returns the entry when the slot still holds it (same serial), confirmed,
 * with p's tuple in direction dir, alive and p within the rule above,
 * after counting p and refreshing the timeout as ct_in would; NULL sends p
 * to the full path.
 */
void ct_fast_begin(struct ct_entry *e);
struct ct_entry *ct_fast_slot(const struct ct_table *t, uint32_t idx);
struct ct_entry *ct_fast_hit(struct ct_table *t, uint32_t idx, uint32_t serial, unsigned dir,
			     const struct pkt *p, uint64_t now);

/* Is a reply tuple already used by a confirmed entry? (NAT port allocation) */
bool ct_reply_taken(struct ct_table *t, const struct ct_tuple *reply);

/* The confirmed, unexpired entry having tuple k in one of its directions
 * (set in *dir), or NULL. For the helpers and connection-limit. */
struct ct_entry *ct_find(struct ct_table *t, const struct ct_tuple *k, unsigned *dir);
/* The tuple of p in its own direction, as ct_in would key it. */
void ct_tuple_of_pkt(const struct pkt *p, struct ct_tuple *k);
/* Is p (IPv4 TCP or UDP) a packet of a live fasttracked connection? For
 * what such packets skip ahead of conntrack: the transport checksum check
 * and raw (the engine's full path, so that it does what the cache does). */
bool ct_fasttracked(struct ct_table *t, const struct pkt *p, uint64_t now);

/* Removes expired entries; at most budget of them per call. */
size_t ct_expire(struct ct_table *t, uint64_t now, size_t budget);
size_t ct_count(const struct ct_table *t);
/* Calls fn for every confirmed entry until it returns non-zero. */
int ct_foreach(struct ct_table *t, int (*fn)(void *ctx, struct ct_entry *e), void *ctx);
void ct_remove(struct ct_table *t, struct ct_entry *e);
void ct_flush(struct ct_table *t);
/* Bytes of memory one entry costs (for the benchmark's budget). */
size_t ct_entry_size(void);

#endif
