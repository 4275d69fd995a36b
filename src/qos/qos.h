/*
 * qos: the queues of a configuration, as RouterOS v6 applies them after the
 * firewall (REFERENCE.md §1 and §5): queue trees attached to `global`, then
 * simple queues (ordered, first match; upload = source in target, download
 * = destination in target; each a small HTB of its own with its parent
 * simple queues; then, for a queue with total-* limits, its total part, both
 * directions together), then queue trees attached to the out-interface, whose
 * root rate is the interface speed. A packet goes through every stage that
 * classifies it (a leaf whose packet-mark matches, a simple queue whose
 * target matches); a stage that does not classify it lets it through at
 * once. FastTrack packets skip global trees and simple queues.
 * qos_build compiles the store; the running state (HTB buckets, queues,
 * statistics) lives in struct qos. Callers build again only when
 * qos_reads says a commit changed what the queues are built from; a
 * change of parameters (the same queues in the same places) goes into the
 * running queues with qos_update, anything else takes the old queues'
 * counters (qos_carry_stats) and packets (qos_carry_packets) over.
 * Every call takes `now` (ns). Single-threaded (the dataplane).
 */
#ifndef ROSFW_QOS_QOS_H
#define ROSFW_QOS_QOS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/store.h"
#include "htb.h"
#include "qdisc.h"

/* What classification needs to know about a packet (filled by the caller
 * from the packet descriptor after postrouting). */
struct qos_meta {
	uint32_t packet_mark;   /* interned (engine/names.h), 0 = none */
	uint16_t in_if, out_if; /* interned interface ids */
	uint32_t src, dst;      /* IPv4, host order, as the LAN knows them (before
				 * srcnat, after dstnat). An IPv6 packet (qpkt
				 * family 6) is classified by the qpkt's src6/dst6:
				 * RouterOS v6 has no IPv6 NAT to see through. */
	bool fasttrack;
	int64_t wall;           /* local time (s since the epoch) for simple queues'
				 * time=; 0 = unknown: time= is not checked */
};

struct qos;

/* Compiles /queue tree, /queue simple, /queue type and the interface speeds
 * (/interface ethernet speed) of the store. */
struct qos *qos_build(struct store *st, uint64_t now, char *err, size_t errlen);
void qos_free(struct qos *q);

/*
 * Hands a packet to the queues. Returns true when it was queued (it will
 * come out of qos_dequeue for its out-interface), false when it was
 * dropped (the caller frees it and counts a DR_QUEUE drop). Other packets
 * a queue dropped to make room come back in *dropped (a list through
 * qp->next) for the caller to free. The packet's qp->len, hash, addresses,
 * ports and dscp must be set.
 */
bool qos_enqueue(struct qos *q, struct qpkt *p, const struct qos_meta *m, uint64_t now,
		 struct qpkt **dropped);
/* Whether a stage of the queues would take p (a leaf of a tree or a simple
 * queue classifies it), as qos_enqueue would see it: the dataplane cuts a
 * merged TCP packet (gro.h) into its segments before queues that shape
 * it, as CAKE splits GSO packets, so that shaping sees the wire's packets. */
bool qos_classifies(const struct qos *q, const struct qpkt *p, const struct qos_meta *m);
/*
 * The next packet that may leave through interface ifid at `now` (all
 * stages passed), or NULL. Packets dropped inside the queues on the way
 * are returned through *dropped for the caller to free.
 */
struct qpkt *qos_dequeue(struct qos *q, uint16_t ifid, uint64_t now, struct qpkt **dropped);
/* The earliest time anything may be dequeued on any interface (UINT64_MAX:
 * nothing queued). */
uint64_t qos_next_event(struct qos *q, uint64_t now);
/* Interfaces that have packets waiting (for the caller's loop). */
size_t qos_busy_ifaces(struct qos *q, uint16_t *ids, size_t max);

/* Takes every packet the queues hold, shapers or not (before qos_free:
 * the packets are the caller's), as a list through qp->next. */
struct qpkt *qos_drain(struct qos *q, uint64_t now);
/*
 * A new configuration for the running queues, without a loss: when next (a
 * qos_build of the changed store) has the same queues in the same places
 * as q (the same trees with the same queues under the same parents, the
 * same simple queues in the same order), q takes its rates, bucket sizes,
 * priorities, bursts, queue types, packet marks and targets, and keeps
 * its packets, tokens and counters; true. The caller frees next either
 * way. False (nothing changed): the queues were added, removed or moved.
 * Packets a smaller queue type cannot hold are handed to the caller with
 * the drops of the next qos_enqueue or qos_dequeue.
 */
bool qos_update(struct qos *q, struct qos *next, uint64_t now);
/*
 * Moves the packets of `from` into the same places of `to` (a rebuild):
 * a packet in a queue that `to` still has (same store id, still a leaf)
 * goes back into it, one whose queue is gone moves on to its next stage as
 * if that stage had not classified it; the classes of its later stages are
 * renumbered. `from` is left empty. Packets the new queues refuse are
 * handed to the caller as in qos_update.
 */
void qos_carry_packets(struct qos *to, struct qos *from, uint64_t now);
/*
 * The queues of a changed store, as a running router takes them: a
 * qos_build of st (its warnings logged), then into the running queues q
 * with qos_update when it allows (q is returned: nothing else to do), else
 * the new build with q's counters and packets (returned; the caller hands
 * its traffic over to it, then frees q, now empty). q may be NULL (the
 * first build). NULL with err set when the build fails: q runs on as it is.
 */
struct qos *qos_apply(struct qos *q, struct store *st, uint64_t now, char *err, size_t errlen);
/* Does a commit that changed these menus (bit i = schema_menus[i], as a
 * store listener gets them) change what qos_build builds? (/queue menus,
 * and /interface ones: names, speeds, vlans) */
bool qos_reads(const uint64_t *changed, size_t nwords);

/* Statistics of a queue (store id of a /queue tree or /queue simple item);
 * for simple queues up/down are given separately. False if unknown. */
bool qos_queue_stats(const struct qos *q, uint32_t queue_id, struct htb_stats *up,
		     struct htb_stats *down);
/* Statistics of a simple queue's total part (total-*: both directions
 * together); false when the queue has none (no total limit on it or above). */
bool qos_queue_total_stats(const struct qos *q, uint32_t queue_id, struct htb_stats *out);
/* A new build takes over the counters and rate estimates of the queues
 * (by store id) that the one it replaces ran: a configuration change does
 * not zero print stats. */
void qos_carry_stats(struct qos *to, const struct qos *from);
/* Logs what the build found wrong (a queue whose queue type is missing runs
 * pfifo) and prev, the build it replaces (NULL for none), had not: each
 * once while it lasts, not on every rebuild. */
void qos_log_warnings(const struct qos *q, const struct qos *prev);
/* reset-counters of a queue (its bytes, packets, drops, lends and borrows,
 * those of the queues under it, and its ancestors lose what it had
 * counted); the rate estimators keep going. */
void qos_reset_counters(struct qos *q, uint32_t queue_id);
/* Copies every queue's statistics into the store's items for print stats. */
void qos_export_stats(const struct qos *q, struct store *st);

#endif
