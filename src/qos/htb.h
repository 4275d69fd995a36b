/*
 * htb: the hierarchical token bucket with RouterOS's semantics (the queue
 * tree and simple queues): inner classes distribute, leaves hold packets;
 * every class has a rate bucket (limit-at) and a ceil bucket (max-limit);
 * first each leaf gets its limit-at, then spare capacity goes by priority
 * (1 highest) up to max-limit, equal priorities sharing by deficit round
 * robin (quantum = MTU-sized); tokens a leaf spends are charged to its
 * ancestors; borrowing goes to the nearest ancestor with spare rate.
 * limit-at 0 = no guarantee; max-limit 0 = unlimited (bounded by the
 * parent, and at the root by the link). Burst: every burst-time/16 the
 * average rate over burst-time is recomputed; while it is below
 * burst-threshold the class may use burst-limit instead of max-limit.
 * Bucket capacity = bucket-size x max-limit (bits -> bytes).
 * The scheduler keeps classes that wait for tokens in a heap keyed by the
 * time they may send again, so dequeue never scans every class: O(log n).
 * Rates are computed at build time; the packet path only multiplies.
 * Every call takes `now` (ns). Single-threaded.
 */
#ifndef ROSFW_QOS_HTB_H
#define ROSFW_QOS_HTB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qdisc.h"

struct htb_class_cfg {
	uint32_t id;            /* the caller's (store id of the queue) */
	int parent;             /* index of the parent class in the array, -1 = root */
	uint64_t limit_at;      /* bit/s */
	uint64_t max_limit;     /* bit/s, 0 = unlimited */
	uint8_t priority;       /* 1..8 */
	uint64_t burst_limit;   /* bit/s, 0 = none */
	uint64_t burst_threshold;
	uint64_t burst_time_ns;
	uint32_t bucket_size_milli; /* bucket-size x 1000 (0.1 -> 100) */
	struct qdisc_cfg queue; /* leaves: their queue type */
};

struct htb_stats {
	uint64_t bytes, packets, dropped;
	uint64_t lends, borrows;   /* packets sent within own rate / borrowed */
	uint32_t queued_packets;
	uint64_t queued_bytes;
	uint64_t rate_bps;         /* estimator: bits/s over the last seconds */
	uint64_t packet_rate;      /* packets/s */
};

struct htb;

/*
 * Builds a scheduler: classes[i].parent must be < i or -1 (parents first);
 * classes with children are inner, the others are leaves. link_rate is the
 * root's capacity (interface speed; 0 = unlimited). Returns NULL with a
 * message in err (a cycle, a parent after its child, a bad priority).
 */
struct htb *htb_new(const struct htb_class_cfg *classes, size_t n, uint64_t link_rate,
		    uint64_t now, char *err, size_t errlen);
void htb_free(struct htb *h);

/* Puts a packet in leaf class index leaf. False: dropped (queue full or not
 * a leaf); the caller frees it. Packets the leaf's queue drops come back in
 * *dropped. */
bool htb_enqueue(struct htb *h, int leaf, struct qpkt *p, uint64_t now, struct qpkt **dropped);
/* The next packet allowed to leave at `now`, or NULL. */
struct qpkt *htb_dequeue(struct htb *h, uint64_t now, struct qpkt **dropped);
/* The earliest time something may be dequeued (UINT64_MAX when empty). */
uint64_t htb_next_event(struct htb *h, uint64_t now);
void htb_stats(const struct htb *h, int cls, struct htb_stats *out);
void htb_reset_stats(struct htb *h, int cls);
/* Gives class cls the counters and rate estimate of *s (what the same
 * queue counted in the scheduler this one replaces). */
void htb_restore_stats(struct htb *h, int cls, const struct htb_stats *s);
size_t htb_nclasses(const struct htb *h);

/* Do a and b have the same classes: as many, the same parents, the same
 * leaves? (What htb_update needs.) */
bool htb_same_shape(const struct htb *a, const struct htb *b);
/*
 * A change of parameters applied to a running scheduler: h takes the rates,
 * bucket sizes, priorities, quanta, burst settings and link rate of from (a
 * fresh htb_new of the new configuration, same shape), and keeps its
 * packets, tokens (no more than the new buckets hold), counters and rate
 * estimates. A leaf whose queue type changed moves its packets to from's
 * new queue (the old one goes to from, for htb_free); the packets the new
 * queue refuses come back in *dropped, counted as drops. -1 (nothing
 * changed) when the shapes differ.
 */
int htb_update(struct htb *h, struct htb *from, uint64_t now, struct qpkt **dropped);
/* Takes every packet a leaf holds (a list, in the order its queue would
 * send them), for a new scheduler to take over; the counters stay. */
struct qpkt *htb_take_leaf(struct htb *h, int leaf, uint64_t now);
bool htb_is_leaf(const struct htb *h, int cls);

#endif
