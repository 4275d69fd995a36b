/*
 * netsim: the discrete-event network around the router for `rosfw sim
 * --traffic`. LAN hosts reach the router over their interface's link; the
 * router runs every arriving frame through the engine (firewall, NAT,
 * marks) and the queues (qos_enqueue with the packet's mark, interfaces,
 * addresses and FastTrack flag; qos_dequeue whenever the out-interface is
 * free), each interface transmitting at its own speed. Behind the WAN port
 * sits the modem: a FIFO and the upload rate (this is where the queue
 * builds when the router does not shape), then half the RTT to the servers;
 * the way back is half the RTT, the ISP's FIFO and the download rate.
 * The generator (tgen) runs both ends of every flow.
 * Time is virtual (ns), kept by a binary heap of events ordered by time and
 * then by insertion, so a run depends only on the profile, the
 * configuration and the seed. Packets come from a pool that grows in
 * chunks up to a cap: no allocation per packet.
 * Measurements: per class and direction (sent, delivered, lost, queueing
 * delay = one-way delay minus the path's propagation and serialisation,
 * jitter of isochronous flows), per queue (qos_queue_stats), per drop site,
 * and series every `sample` ns for plots.
 * netsim borrows the engine, the queues and the profile; the caller frees
 * them after netsim_free. Single-threaded.
 */
#ifndef ROSFW_SIM_NETSIM_H
#define ROSFW_SIM_NETSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/runtime.h"
#include "engine/engine.h"
#include "qos/qos.h"
#include "sim/tgen.h"

/* The virtual time of the profile's "0s" (0 reads as "never" in places). */
#define NETSIM_T0 1000000000ull

/* A queue to watch (a /queue tree or /queue simple item). */
struct netsim_queue {
	uint32_t id;      /* store id */
	char name[64];
	bool simple;      /* has an upload and a download side */
};

struct netsim_opts {
	uint64_t seed;
	uint64_t duration;          /* ns of virtual time */
	uint64_t sample;            /* series interval, ns; 0 = 100 ms */
	struct engine *en;          /* NULL: a plain router (forwards, no NAT, no rules) */
	struct qos *qos;            /* NULL: interfaces send in FIFO order */
	const struct netsim_queue *queues;
	size_t nqueues;
	uint32_t pool_max;          /* packets; 0 = 65536 */
	bool live;                  /* the daemon's dataplane: no end, no series, no
				     * per-packet delay record (memory stays flat) */
};

/* Where packets were lost. */
enum netsim_drop { NSD_ROUTER, NSD_QUEUE, NSD_MODEM, NSD_ISP, NSD_HOST, NSD_POOL, NSD_ROUTE,
	       NSD_MAX };
const char *netsim_drop_name(enum netsim_drop d);

struct netsim_dir_stats {
	uint64_t sent, delivered, dropped;
	uint64_t sent_bytes, delivered_bytes;
	float *delay_us;            /* queueing delay of every delivered packet, sorted */
	size_t ndelay, capdelay;
	double delay_sum_us;
	double jitter_sum_us;       /* isochronous packets: sum of |d_i - d_(i-1)| */
	uint64_t jitter_n;
	bool iso;                   /* had isochronous packets */
};

struct netsim_queue_result {
	struct htb_stats up, down;
	float *rate_up, *rate_down; /* bit/s per sample */
	float *queued;              /* packets queued at each sample (up + down) */
};

/* Counters cover packets sent after the profile's warm-up; the series
 * cover the whole run. */
struct netsim_results {
	uint64_t duration;          /* ns */
	uint64_t warmup;            /* ns left out at the start */
	uint64_t measured;          /* duration - warmup */
	uint64_t sample;
	size_t nbins;
	struct netsim_dir_stats cls[TGC_MAX][2];
	struct tgen_app_stats app[TGC_MAX];
	bool active[TGC_MAX];       /* the profile has flows of the class */
	uint64_t drops[NSD_MAX];
	uint64_t router_drops[DR_MAX]; /* engine drops by reason */
	uint64_t in_flight;         /* packets still in the network at the end */
	uint64_t events;
	/* the WAN line */
	uint64_t wan_bytes[2];      /* frame bytes carried up / down */
	double wan_max_queue_ms[2];
	/* series, nbins each: bits per second */
	float *cls_rate[TGC_MAX][2];
	float *wan_rate[2];
	float *wan_queue_ms[2];     /* modem / ISP queue, as delay, at each sample */
	struct netsim_queue_result *queues; /* as opts.queues */
	size_t nqueues;
};

struct netsim;

struct netsim *netsim_new(const struct tgen_profile *prof, const struct netsim_opts *o);
void netsim_free(struct netsim *ns);
/* Runs the whole duration; then the results are ready. */
void netsim_run(struct netsim *ns);
/* Live use (the daemon): start once, then advance to each moment of virtual
 * time; the engine and the queues may be replaced between two advances
 * (packets in the old queues are dropped and returned to the pool). */
void netsim_start(struct netsim *ns);
void netsim_advance(struct netsim *ns, uint64_t until);
void netsim_set_router(struct netsim *ns, struct engine *en, struct qos *q);
uint64_t netsim_now(const struct netsim *ns);
/* The counters of the router's interface named name (a profile interface),
 * as the live dataplane keeps them: received, sent (when the last bit has
 * left), dropped by the queues; -1 for a name the profile does not have. */
int netsim_if_stats(const struct netsim *ns, const char *name, struct conf_if_stats *out);
const struct netsim_results *netsim_results(const struct netsim *ns);

/* The q-quantile (0..1) of the queueing delay in ms, 0 with no sample. */
double netsim_delay_quantile_ms(const struct netsim_dir_stats *d, double q);
double netsim_jitter_ms(const struct netsim_dir_stats *d);
double netsim_loss(const struct netsim_dir_stats *d); /* fraction of the sent packets */

#endif
