/*
 * qdisc: the queue types of /queue type — what a leaf queue does with the
 * packets it holds: pfifo, bfifo, mq-pfifo (as pfifo), sfq, pcq, red,
 * fq-codel, codel, cake (bandwidth, diffserv3/4 tins, flow isolation), none.
 * Behind one small ops table; the HTB scheduler above decides when a leaf
 * may send, the qdisc decides which of its packets and what to drop.
 * Every call takes `now` (ns). No allocation per packet: packets are
 * struct qpkt owned by the caller's pool and linked through qp->next.
 * Single-threaded (the dataplane thread).
 */
#ifndef ROSFW_QOS_QDISC_H
#define ROSFW_QOS_QDISC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A queued packet: what the queues need to know, and the caller's frame. */
struct qpkt {
	struct qpkt *next;
	uint32_t len;        /* bytes on the wire (IP length + 14) */
	uint32_t hash;       /* flow hash (5-tuple), for sfq / fq-codel / cake */
	uint32_t src, dst;   /* IPv4 addresses (host order), for pcq and cake hosts */
	uint16_t sport, dport;
	uint8_t dscp;        /* for cake's tins */
	uint8_t ecn;         /* 0 not-ECT, 1/2 ECT, 3 CE (fq-codel marks instead of dropping) */
	uint64_t enq_ts;     /* set by the qdisc on enqueue */
	void *frame;         /* the caller's */
	uint32_t user;       /* the caller's (flow id in sim) */
	/* qos.c's own: the stages the packet still has to pass */
	uint16_t out_if;
	uint8_t stage;
	uint8_t sq_dir;      /* simple queue direction: 0 upload, 1 download */
	int32_t sq_leaf, tot_leaf, if_leaf;
	/* last: read only by pcq and cake, for IPv6 packets */
	uint8_t family;      /* 6: an IPv6 packet, its addresses in src6/dst6; else IPv4 */
	uint8_t src6[16], dst6[16]; /* IPv6 addresses (network order) */
};

/* cake-flowmode, in the order RouterOS lists them: what a flow is
 * (nothing, a source host, a destination host, a host pair, a 5-tuple),
 * and for the dual and triple modes fairness between hosts first, then
 * between the flows of a host. */
enum cake_flowmode { CAKE_FM_FLOWBLIND, CAKE_FM_SRCHOST, CAKE_FM_DSTHOST, CAKE_FM_HOSTS,
		     CAKE_FM_FLOWS, CAKE_FM_DUAL_SRCHOST, CAKE_FM_DUAL_DSTHOST,
		     CAKE_FM_TRIPLE_ISOLATE };

enum qdisc_kind { QK_PFIFO, QK_BFIFO, QK_MQ_PFIFO, QK_SFQ, QK_PCQ, QK_RED, QK_FQ_CODEL,
		  QK_CODEL, QK_CAKE, QK_NONE };

/* Parameters, as /queue type holds them (one struct for every kind). */
struct qdisc_cfg {
	enum qdisc_kind kind;
	uint32_t pfifo_limit;       /* packets */
	uint32_t bfifo_limit;       /* bytes */
	uint32_t sfq_perturb;       /* seconds */
	uint32_t sfq_allot;         /* bytes */
	uint32_t red_limit, red_min, red_max, red_burst, red_avg_packet;
	uint64_t pcq_rate;          /* bit/s per sub-queue, 0 = equal share */
	uint32_t pcq_limit;         /* packets per sub-queue */
	uint32_t pcq_total_limit;   /* packets */
	uint8_t pcq_classifier;     /* bits: 1 src-address, 2 dst-address, 4 src-port, 8 dst-port */
	uint8_t pcq_src_mask, pcq_dst_mask;   /* IPv4 prefix lengths */
	uint8_t pcq_src_mask6, pcq_dst_mask6; /* IPv6 prefix lengths */
	uint64_t pcq_burst_rate, pcq_burst_threshold, pcq_burst_time_ns;
	uint32_t fq_flows, fq_limit, fq_quantum;
	uint64_t fq_target_ns, fq_interval_ns;
	bool fq_ecn;
	uint64_t cake_bandwidth;    /* bit/s, 0 = unlimited (shaped by HTB above) */
	uint8_t cake_tins;          /* 1 besteffort, 3 diffserv3, 4 diffserv4 */
	uint8_t cake_flowmode;      /* enum cake_flowmode */
};

/* Fills cfg from the named /queue type (built-in or user-made) of the store. */
struct store;
int qdisc_cfg_from_store(struct store *st, const char *name, struct qdisc_cfg *cfg);
void qdisc_cfg_default(struct qdisc_cfg *cfg, enum qdisc_kind kind);

struct qdisc;

struct qdisc_ops {
	const char *name;
	struct qdisc *(*create)(const struct qdisc_cfg *cfg, uint64_t seed);
	void (*destroy)(struct qdisc *q);
	/* Takes the packet, or returns false when it is dropped (the caller
	 * frees it). May also drop other packets already queued: those come
	 * back through *dropped (a list), for the caller to free and count. */
	bool (*enqueue)(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped);
	/* The next packet to send, or NULL; may drop (codel) into *dropped. */
	struct qpkt *(*dequeue)(struct qdisc *q, uint64_t now, struct qpkt **dropped);
	/* The size of the packet dequeue would return next, 0 if empty (HTB
	 * needs it to check its tokens before taking the packet). */
	uint32_t (*peek_len)(struct qdisc *q, uint64_t now);
	/* When dequeue can give a packet: now if it can at once, a later time
	 * when the queue paces its packets (pcq-rate, cake bandwidth) and holds
	 * them all back until then, UINT64_MAX when it is empty. Like peek_len
	 * it may run the algorithm ahead (and drop into the next *dropped). */
	uint64_t (*next_time)(struct qdisc *q, uint64_t now);
	uint32_t (*backlog_packets)(const struct qdisc *q);
	uint64_t (*backlog_bytes)(const struct qdisc *q);
};

const struct qdisc_ops *qdisc_ops_of(enum qdisc_kind kind);

/* Convenience wrappers over the ops. */
struct qdisc *qdisc_create(const struct qdisc_cfg *cfg, uint64_t seed);
void qdisc_destroy(struct qdisc *q);
bool qdisc_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped);
struct qpkt *qdisc_dequeue(struct qdisc *q, uint64_t now, struct qpkt **dropped);
uint32_t qdisc_peek_len(struct qdisc *q, uint64_t now);
uint64_t qdisc_next_time(struct qdisc *q, uint64_t now);
uint32_t qdisc_backlog_packets(const struct qdisc *q);
uint64_t qdisc_backlog_bytes(const struct qdisc *q);

#endif
