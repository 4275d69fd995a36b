/*
 * The live dataplane. Frames are run through the engine where they lie in
 * the receive ring (the engine rewrites NAT and TTL in place). A forwarded
 * packet takes a buffer of a fixed pool (no allocation per packet; an empty
 * pool drops and counts), which borrows the frame in the ring: after each
 * receive burst the queues release what may leave now and the batches go
 * out from the ring (settle); only what is still held then (shaped, waiting
 * for ARP) is copied into its buffer. A buffer is in exactly one
 * place: the queues, an ARP wait queue, or a transmit batch, and goes back
 * to the pool when its batch is sent or it is dropped.
 * Transmit: whatever the queues release for an interface (qos_dequeue) has
 * its next hop resolved by ARP, its Ethernet addresses written, and joins
 * the interface's batch; batches go out at the end of each receive burst
 * and each timer. When the queues hold packets back (shaping), a timerfd
 * on the loop fires at qos_next_event, to the nanosecond (not before
 * PACE_MIN_NS from now): a shaped packet leaves when its tokens allow, and
 * an idle router arms nothing.
 * A housekeeping timer (100 ms) runs ARP's retries and ageing, and every
 * 200 ms checks each link (up, down, gone: then reopened when back).
 */
#include "dataplane.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/runtime.h"
#include "engine/names.h"
#include "conf/schema.h"
#include "conf/store.h"
#include "io/arp.h"
#include "io/neigh_conf.h"
#include "io/io.h"
#include "io/nd.h"
#include "io/ra.h"
#include "io/tap.h"

#define DP_FRAME_MAX 2048u  /* MTU up to 2030 untagged */
#define DP_ECHO_MAX (14u + 40u + 65535u) /* the largest echo reply (reassembled request) */
#define DP_POOL 4096u
#define DP_GRO_POOL 64u     /* merged packets in flight (64 KiB each) */
#define GRO_OPEN 8          /* connections merging at once in a burst */
#define RX_BURST 64u
#define RX_BUDGET 8         /* bursts per wake-up and interface: the others get their turn */
#define TX_BATCH 64u
#define KICK_BUDGET 512     /* frames released per interface per kick */
#define PACE_MIN_NS 50000ull /* wake-ups for the queues at most every 50 us */
#define HOUSEKEEP_MS 100
#define LINK_CHECK_NS 200000000ull
#define MAX_IFS 64
#define MAX_VLANS 64
#define VLAN_DEPTH 2        /* a vlan on a vlan (802.1ad outside 802.1Q), no deeper */
#define VLAN_ROOM (4 * VLAN_DEPTH)
#define TAP_NAME "rosfw0"
#define TAP_BUDGET 256      /* frames read from the TAP per wake-up */

struct dp_buf {
	struct qpkt q;            /* q.frame == this buffer */
	struct dp_buf *nf;        /* free list */
	uint8_t *data;            /* the frame: raw + VLAN_ROOM, less the tags pushed;
				   * or, lent, the received frame in its ring */
	uint32_t len;
	bool lent;                /* data is in a receive ring: see settle() */
	bool csum_partial;        /* the transport checksum is still partial (PKT_RX_L4_PARTIAL) */
	bool big;                 /* of the GRO pool: room for GRO_FRAME_MAX */
	uint16_t gso_size;        /* with gso_segs > 1: a merged TCP packet (gro.h), */
	uint16_t gso_segs;        /* its segments' payload and how many */
	uint16_t in_if, out_if;
	uint8_t family;
	struct dp_if *tx_if;      /* the interface it leaves by (a vlan's counters) */
	uint32_t nexthop;
	uint8_t nexthop6[16];
	uint8_t *raw;             /* VLAN_ROOM, then DP_FRAME_MAX (GRO_FRAME_MAX if big) */
};

/*
 * An interface: a port (a Linux interface, mapped by --iface) or a vlan of
 * the configuration on a port or on another vlan. A vlan borrows its
 * port's handle and link state (kept in step by vlans_follow) and sends
 * through the port's batch; frames leave it with its tags pushed in front.
 */
struct dp_if {
	struct dataplane *dp;
	char ros[64];
	char lnx[IF_NAMESIZE];
	uint16_t ifid;
	struct io_handle *h;      /* NULL while the Linux interface is gone */
	bool up;
	struct dp_if *port;       /* the Linux interface: itself for a port */
	struct dp_if *parent;     /* a vlan's parent interface; NULL for a port */
	uint16_t tpid, vid;       /* a vlan's tag */
	uint32_t mtu;             /* a vlan's MTU; 0: the Linux interface's */
	uint64_t ring_seen;       /* ring drops already counted */
	struct conf_if_stats st;
	size_t ntx;
	struct dp_buf *tx[TX_BATCH];
};

struct dataplane {
	struct loop *loop;
	struct engine *en;
	struct qos *qos;
	uint64_t (*now_fn)(void *ctx);
	void *now_ctx;
	struct dp_if *ifs;        /* the ports, then the vlans */
	size_t nports, nifs;
	struct arp *arp;
	struct nd *nd;
	struct ra *ra;
	struct dp_buf *pool, *free;
	size_t nfree;
	uint8_t *pool_mem;
	/* merged TCP packets (gro.h): off with ROSFW_GRO=0 */
	bool gro;
	struct dp_buf *gro_pool, *gro_free;
	size_t ngro_free;
	uint8_t *gro_mem;
	uint64_t gro_packets, gro_merged, gro_no_buffer, gso_sent, gso_cut;
	uint8_t cut[DP_FRAME_MAX]; /* a segment on its way to the TAP */
	uint8_t *echo_big;        /* DP_ECHO_MAX: an echo reply larger than a buffer */
	/* buffers whose frame is still in the receive ring (this burst's) */
	struct dp_buf *lent[RX_BURST];
	size_t nlent;
	uint64_t tx_from_ring, ring_copies;
	int pace_fd;              /* timerfd for the queues' next event */
	uint64_t pace_due;        /* when it fires (dp clock); 0: disarmed */
	int hk_timer;
	uint64_t next_link_check;
	uint64_t drops[DPD_MAX];
	uint64_t echo_replies, echo_ignored;
	uint64_t fragmented, fragments_out; /* datagrams cut by MTU, fragments sent */
	struct tap *tap;          /* the kernel's stack; NULL: local traffic is dropped */
	uint64_t local_in, local_out, local_out_drops, local_rejects;
	uint16_t ip_id;
	uint64_t frag_needed_sent;
	uint64_t echo6_replies, too_big_sent, too_big_limited, ra_output_drops;
	uint64_t host_unreach_sent;  /* ICMP(v6) for packets whose next hop never answered */
	uint64_t too_big_credit, too_big_at; /* token bucket: credit in ns of sending */
	/* large (reply frame): kept off the stack; out[] for a receive burst */
	struct engine_out out[RX_BURST], out_local, out_err;
};

static const char *const drop_names[DPD_MAX] = {
	"not-for-us", "oversize", "vlan", "group-address", "pool", "no-port", "link-down",
	"queue", "arp-queue", "arp-failed", "tx-error", "local-no-tap", "frag-needed",
};

const char *dataplane_drop_name(enum dataplane_drop d)
{
	return d < DPD_MAX ? drop_names[d] : "?";
}

static uint64_t mono_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t dp_now(const struct dataplane *dp)
{
	return dp->now_fn(dp->now_ctx);
}

static struct dp_if *if_by_id(struct dataplane *dp, uint16_t ifid)
{
	for (size_t i = 0; i < dp->nifs; i++)
		if (dp->ifs[i].ifid == ifid)
			return &dp->ifs[i];
	return NULL;
}

/* ---- buffers ---- */

static struct dp_buf *buf_get(struct dataplane *dp)
{
	struct dp_buf *b = dp->free;
	if (!b) {
		dp->drops[DPD_POOL]++;
		return NULL;
	}
	dp->free = b->nf;
	dp->nfree--;
	b->nf = NULL;
	return b;
}

/* A buffer of the GRO pool, or NULL (no count: the segments go unmerged). */
static struct dp_buf *big_get(struct dataplane *dp)
{
	struct dp_buf *b = dp->gro_free;
	if (b) {
		dp->gro_free = b->nf;
		dp->ngro_free--;
		b->nf = NULL;
	}
	return b;
}

static void buf_put(struct dataplane *dp, struct dp_buf *b)
{
	b->data = b->raw + VLAN_ROOM;
	b->lent = false;
	b->csum_partial = false;
	b->gso_segs = 0;
	if (b->big) {
		b->nf = dp->gro_free;
		dp->gro_free = b;
		dp->ngro_free++;
		return;
	}
	b->nf = dp->free;
	dp->free = b;
	dp->nfree++;
}

/* A lent buffer takes its frame out of the ring into its own room. */
static void buf_own(struct dataplane *dp, struct dp_buf *b)
{
	if (!b->lent)
		return;
	uint8_t *d = b->raw + VLAN_ROOM;
	memmove(d, b->data, b->len);
	b->data = d;
	b->lent = false;
	dp->ring_copies++;
}

/* The packets b is on the wire: a merged TCP packet's segments, else 1
 * (interface counters count the wire's packets). */
static inline uint32_t wire_pkts(const struct dp_buf *b)
{
	return b->gso_segs > 1 ? b->gso_segs : 1u;
}

/* Packets a queue dropped: counted on the interface they were for. */
static void free_dropped(struct dataplane *dp, struct qpkt *l)
{
	while (l) {
		struct qpkt *n = l->next;
		struct dp_buf *b = l->frame;
		struct dp_if *di = if_by_id(dp, b->out_if);
		if (di)
			di->st.tx_queue_drops += wire_pkts(b);
		dp->drops[DPD_QUEUE]++;
		buf_put(dp, b);
		l = n;
	}
}

/* ---- transmit ---- */

static void link_lost(struct dataplane *dp, struct dp_if *di);

/* len bytes in segs packets on the wire */
static void tx_count(struct conf_if_stats *st, bool sent, bool busy, uint64_t len, uint32_t segs)
{
	if (sent) {
		st->tx_packets += segs;
		st->tx_bytes += len;
	} else if (busy) {
		st->tx_drops += segs; /* a full device queue drops; anything else is an error */
	} else {
		st->tx_errors += segs;
	}
}

/* What merged packet b is on the wire: its segments' bytes (each repeats
 * the headers), and how many. */
static uint64_t wire_bytes(const struct dp_buf *b, uint32_t *segs)
{
	*segs = 1;
	if (b->gso_segs < 2)
		return b->len;
	*segs = b->gso_segs;
	return b->len + (uint64_t)(b->gso_segs - 1) * gro_hdr_len(b->data, b->len, NULL);
}

/* Sends the batch of port di. */
static void flush(struct dataplane *dp, struct dp_if *di)
{
	size_t n = di->ntx;
	if (!n)
		return;
	struct io_tx t[TX_BATCH];
	for (size_t i = 0; i < n; i++) {
		const struct dp_buf *b = di->tx[i];
		t[i] = (struct io_tx){ b->data, b->len, b->csum_partial ? IO_F_CSUM_PARTIAL : 0,
				       b->gso_segs > 1 ? b->gso_size : 0 };
	}
	int r = di->h ? io_tx_burst(di->h, t, n) : -ENXIO;
	size_t sent = r > 0 ? (size_t)r : 0;
	bool busy = r >= 0 || r == -EAGAIN || r == -ENOBUFS;
	for (size_t i = 0; i < n; i++) {
		struct dp_if *v = di->tx[i]->tx_if;
		uint32_t segs;
		uint64_t wire = wire_bytes(di->tx[i], &segs);
		tx_count(&di->st, i < sent, busy, wire, segs);
		if (v && v != di) /* a vlan counts what it sent too */
			tx_count(&v->st, i < sent, busy, wire, segs);
		if (segs > 1 && i < sent)
			dp->gso_sent++;
		if (i >= sent)
			dp->drops[DPD_TX_ERROR]++;
		else if (di->tx[i]->lent)
			dp->tx_from_ring++;
		buf_put(dp, di->tx[i]);
	}
	di->ntx = 0;
	if (r == -ENETDOWN || r == -ENXIO || r == -ENODEV)
		link_lost(dp, di);
}

/* A VLAN tag in front of b's type field (the Ethernet addresses move up). */
static void push_tag(struct dp_buf *b, uint16_t tpid, uint16_t vid)
{
	b->data -= 4;
	memmove(b->data, b->data + 4, 12);
	b->data[12] = (uint8_t)(tpid >> 8), b->data[13] = (uint8_t)tpid;
	b->data[14] = (uint8_t)(vid >> 8), b->data[15] = (uint8_t)vid;
	b->len += 4;
}

/* Into the batch of di's port, with the port's MAC as the source and
 * di's tags (the innermost first). */
static void tx_ready(struct dataplane *dp, struct dp_if *di, struct dp_buf *b)
{
	struct dp_if *port = di->port;
	if (di->parent)
		buf_own(dp, b); /* tags go in front: the room is the buffer's */
	if (port->h)
		memcpy(b->data + 6, port->h->mac, 6);
	for (struct dp_if *v = di; v->parent; v = v->parent)
		push_tag(b, v->tpid, v->vid);
	b->tx_if = di;
	port->tx[port->ntx++] = b;
	if (port->ntx == TX_BATCH)
		flush(dp, port);
}

static void tx_to(struct dataplane *dp, struct dp_if *di, struct dp_buf *b, const uint8_t mac[6])
{
	memcpy(b->data, mac, 6);
	tx_ready(dp, di, b);
}

static void tx_copy(struct dataplane *dp, struct dp_if *di, const uint8_t *frame, uint32_t len)
{
	if (!di || !di->h || !di->up || len > DP_FRAME_MAX) {
		if (di)
			di->st.tx_drops++;
		return;
	}
	struct dp_buf *b = buf_get(dp);
	if (!b) {
		di->st.tx_drops++;
		return;
	}
	memcpy(b->data, frame, len);
	b->len = len;
	tx_ready(dp, di, b);
}

/* Leaves through di once its next hop's MAC is known. */
static void wire_out(struct dataplane *dp, struct dp_if *di, struct dp_buf *b, uint64_t now)
{
	if (!di->h || !di->up) {
		di->st.tx_drops += wire_pkts(b);
		dp->drops[DPD_LINK_DOWN]++;
		buf_put(dp, b);
		return;
	}
	uint8_t mac[6];
	bool known = b->family == 6 ? nd_resolve(dp->nd, di->ifid, b->nexthop6, b, mac, now)
				    : arp_resolve(dp->arp, di->ifid, b->nexthop, b, mac, now);
	if (known)
		tx_to(dp, di, b, mac);
}

/* Wakes the loop at time t (the dp clock, ns) to release what the queues
 * hold, unless an earlier wake-up is set already. */
static void arm(struct dataplane *dp, uint64_t t, uint64_t now)
{
	if (t == UINT64_MAX)
		return;
	if (t < now + PACE_MIN_NS)
		t = now + PACE_MIN_NS;
	if (dp->pace_due && dp->pace_due <= t)
		return;
	uint64_t d = t - now;
	struct itimerspec its = { .it_value = { .tv_sec = (time_t)(d / 1000000000ull),
						.tv_nsec = (long)(d % 1000000000ull) } };
	if (timerfd_settime(dp->pace_fd, 0, &its, NULL) == 0)
		dp->pace_due = t;
}

/* Moves what the queues let interface di send now (budget frames at
 * most) to its batch: how many. */
static int drain(struct dataplane *dp, struct dp_if *di, int budget, uint64_t now)
{
	int k;
	for (k = 0; k < budget; k++) {
		struct qpkt *dropped = NULL;
		struct qpkt *q = qos_dequeue(dp->qos, di->ifid, now, &dropped);
		free_dropped(dp, dropped);
		if (!q)
			break;
		wire_out(dp, di, q->frame, now);
	}
	return k;
}

/* Takes from the queues what each interface may send now and sends every
 * batch; *moved: something came out. True when an interface had more. */
static bool release(struct dataplane *dp, uint64_t now, bool *moved)
{
	bool more = false;
	for (size_t i = 0; dp->qos && i < dp->nifs; i++) {
		int k = drain(dp, &dp->ifs[i], KICK_BUDGET, now);
		*moved |= k > 0;
		if (k == KICK_BUDGET)
			more = true;
	}
	for (size_t i = 0; i < dp->nports; i++)
		flush(dp, &dp->ifs[i]);
	return more;
}

/* release, then sets the timer for when the queues release more. */
static void kick(struct dataplane *dp, uint64_t now)
{
	bool moved = false;
	bool more = release(dp, now, &moved);
	if (!dp->qos)
		return;
	uint64_t t = more ? now : qos_next_event(dp->qos, now);
	/* due but nothing came out: not ours to spin on, look again shortly */
	if (t <= now && !moved)
		t = now + 1000000;
	arm(dp, t, now);
}

static void on_pace(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)revents;
	struct dataplane *dp = ctx;
	uint64_t n;
	if (read(fd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return; /* not due yet: re-armed earlier since poll saw it */
	dp->pace_due = 0;
	kick(dp, dp_now(dp));
}

/* ---- the flow ---- */

static uint32_t fold_v6(const uint8_t a[16])
{
	uint32_t h = 0;
	for (int i = 0; i < 16; i += 4)
		h = (h ^ ((uint32_t)a[i] << 24 | (uint32_t)a[i + 1] << 16 |
			  (uint32_t)a[i + 2] << 8 | a[i + 3])) * 0x01000193u;
	return h;
}

static uint32_t flow_hash(const struct pkt *p)
{
	uint32_t s = p->family == 6 ? fold_v6(p->src.v6) : p->src.v4;
	uint32_t d = p->family == 6 ? fold_v6(p->dst.v6) : p->dst.v4;
	uint32_t h = s * 0x9e3779b1u ^ d * 0x85ebca6bu ^
		     ((uint32_t)p->sport << 16 | p->dport) * 0xc2b2ae35u ^ p->proto;
	return h ^ (h >> 15);
}

/* What may leave interface di in one IP packet (bytes). */
static uint32_t if_mtu(const struct dp_if *di)
{
	uint32_t m = di->h ? di->h->mtu : 0;
	if (di->mtu && (!m || di->mtu < m))
		m = di->mtu;
	return m;
}

static void enqueue(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
		    struct dp_if *out, uint16_t in_if, struct dp_buf *b, uint32_t len, uint64_t now);

/* Merged packet p (in big buffer b, len bytes) cut into its segments, each
 * in a pool buffer and handed to fn as a packet of its own (p's
 * descriptor with the segment's frame); segments beyond the first only
 * with all. b goes back to the pool. */
static void gso_each(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
		     struct dp_if *out, uint16_t in_if, struct dp_buf *b, uint32_t len, bool all,
		     uint64_t now,
		     void (*fn)(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
				struct dp_if *out, uint16_t in_if, struct dp_buf *b, uint32_t len,
				uint64_t now))
{
	uint32_t n = gro_segs(p->data, len, b->gso_size);
	dp->gso_cut++;
	uint32_t tried = all ? n : 1; /* the others are counted by the caller */
	for (uint32_t i = 0; i < tried; i++) {
		struct dp_buf *sb = buf_get(dp);
		uint32_t k = sb ? gro_cut(p->data, len, b->gso_size, i, sb->data, DP_FRAME_MAX) : 0;
		if (!k) {
			if (sb)
				buf_put(dp, sb);
			out->st.tx_drops += tried - i;
			break;
		}
		struct pkt sp = *p;
		sp.data = sb->data;
		sp.len = sp.cap = k;
		sp.ip_len = (uint16_t)(k - p->l3_off);
		sp.rx_flags |= PKT_RX_L4_PARTIAL;
		fn(dp, &sp, o, out, in_if, sb, k, now);
	}
	buf_put(dp, b);
}

/* Buffer b (len bytes, the packet p or a fragment of it) into the queues
 * of interface out, or straight to the wire without queues. A merged
 * packet that a queue would shape goes in as its segments. */
static void enqueue(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
		    struct dp_if *out, uint16_t in_if, struct dp_buf *b, uint32_t len, uint64_t now)
{
	b->len = len;
	b->in_if = in_if;
	b->out_if = o->out_if;
	b->family = p->family;
	b->csum_partial = p->rx_flags & PKT_RX_L4_PARTIAL;
	if (p->family == 6)
		memcpy(b->nexthop6, o->nexthop6, 16);
	else
		b->nexthop = o->nexthop;
	/* field by field: a clear of the whole struct costs a rep stos per
	 * packet; qos_enqueue sets the stages' fields itself */
	struct qpkt *q = &b->q;
	q->next = NULL;
	q->len = len - p->l3_off + 14;
	if (b->gso_segs > 1)
		q->len += (b->gso_segs - 1) * (gro_hdr_len(p->data, len, NULL) - p->l3_off + 14);
	q->hash = flow_hash(p);
	q->family = p->family;
	q->src = q->dst = 0;
	if (p->family == 6) {
		memcpy(q->src6, p->src.v6, 16);
		memcpy(q->dst6, p->dst.v6, 16);
	} else {
		q->src = p->src.v4;
		q->dst = p->dst.v4;
	}
	q->sport = p->sport;
	q->dport = p->dport;
	q->dscp = p->dscp;
	q->ecn = p->ecn;
	q->enq_ts = 0;
	q->frame = b;
	q->user = 0;
	q->out_if = 0;
	q->stage = 0;
	q->sq_dir = 0;
	q->sq_leaf = q->tot_leaf = q->if_leaf = -1;
	if (!dp->qos) {
		wire_out(dp, out, b, now);
		return;
	}
	struct qos_meta m = { .packet_mark = p->packet_mark, .in_if = in_if,
			      .out_if = o->out_if, .src = q->src, .dst = q->dst,
			      .fasttrack = o->fasttrack };
	/* the queues see a connection's addresses as the LAN knows them: a
	 * simple queue's target is a LAN host, which masquerade hides */
	if (p->ct && p->family == 4) {
		const struct ct_entry *c = p->ct;
		m.src = p->ct_dir == 0 ? c->t[0].src : c->t[0].dst;
		m.dst = p->ct_dir == 0 ? c->t[0].dst : c->t[0].src;
	}
	if (b->gso_segs > 1 && qos_classifies(dp->qos, q, &m)) {
		gso_each(dp, p, o, out, in_if, b, len, true, now, enqueue);
		return;
	}
	struct qpkt *dropped = NULL;
	bool ok = qos_enqueue(dp->qos, q, &m, now, &dropped);
	free_dropped(dp, dropped);
	if (!ok) {
		out->st.tx_queue_drops += wire_pkts(b);
		dp->drops[DPD_QUEUE]++;
		buf_put(dp, b);
	}
}

/* The options of IPv4 header ip (ihl bytes) that every fragment repeats
 * (the copied flag, RFC 791 3.1), into opts, padded to 4 bytes: their length. */
static uint32_t copied_options(const uint8_t *ip, uint32_t ihl, uint8_t opts[40])
{
	uint32_t n = 0;
	for (uint32_t i = 20; i < ihl;) {
		uint8_t t = ip[i];
		if (t == 0) /* end of the list */
			break;
		if (t == 1) { /* no-operation */
			i++;
			continue;
		}
		if (i + 1 >= ihl || ip[i + 1] < 2 || i + ip[i + 1] > ihl)
			break;
		if (t & 0x80) {
			memcpy(opts + n, ip + i, ip[i + 1]);
			n += ip[i + 1];
		}
		i += ip[i + 1];
	}
	while (n % 4)
		opts[n++] = 0;
	return n;
}

/*
 * An IPv4 datagram longer than the out interface's MTU, without DF (RFC 791
 * 3.2, as Linux's ip_fragment): cut into fragments of at most mtu bytes, 8-byte
 * aligned, each in a buffer of its own and queued like any packet. p->data
 * may be larger than a buffer (a datagram the engine reassembled). The
 * first fragment keeps the whole header; the others carry the copied
 * options only. A datagram that is itself a fragment keeps its offset and
 * more-fragments flag.
 */
static void fragment_out(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
			 struct dp_if *out, uint16_t in_if, uint32_t mtu, uint64_t now)
{
	const uint8_t *ip = p->data + p->l3_off;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	uint32_t total = p->ip_len;
	if ((size_t)p->l3_off + total > p->len)
		total = p->len - p->l3_off;
	uint16_t fo = (uint16_t)(ip[6] << 8 | ip[7]);
	uint32_t base = (uint32_t)(fo & 0x1fff) * 8;
	bool more_after = fo & 0x2000;
	uint8_t opts[40];
	uint32_t nopts = copied_options(ip, ihl, opts);
	if (ihl < 20 || total <= ihl || mtu < 68 || (size_t)p->l3_off + mtu > DP_FRAME_MAX) {
		dp->drops[DPD_OVERSIZE]++;
		out->st.tx_drops++;
		return;
	}
	dp->fragmented++;
	const uint8_t *data = ip + ihl;
	uint32_t dlen = total - ihl;
	for (uint32_t off = 0; off < dlen;) {
		uint32_t hl = off ? 20 + nopts : ihl;
		uint32_t chunk = (mtu - hl) & ~7u;
		bool last = dlen - off <= mtu - hl;
		if (last)
			chunk = dlen - off;
		struct dp_buf *b = buf_get(dp);
		if (!b) {
			out->st.tx_drops++;
			return; /* the receiver's reassembly times out, as on a loss */
		}
		uint8_t *f = b->data, *h = f + p->l3_off;
		memcpy(f, p->data, p->l3_off); /* Ethernet header */
		memcpy(h, ip, 20);
		if (off)
			memcpy(h + 20, opts, nopts);
		else
			memcpy(h + 20, ip + 20, ihl - 20);
		h[0] = (uint8_t)(0x40 | hl / 4);
		pkt_put16(h + 2, (uint16_t)(hl + chunk));
		uint32_t at = (base + off) / 8;
		pkt_put16(h + 6, (uint16_t)(((!last || more_after) ? 0x2000 : 0) | at));
		h[10] = h[11] = 0;
		uint16_t c = csum_buf(h, hl, 0); /* network order */
		memcpy(h + 10, &c, 2);
		memcpy(h + hl, data + off, chunk);
		dp->fragments_out++;
		enqueue(dp, p, o, out, in_if, b, p->l3_off + hl + chunk, now);
		/* as the kernel's qdisc runs after each enqueue: the fragments of
		 * one datagram arrive at once, more than a short queue holds */
		if (dp->qos)
			drain(dp, out, KICK_BUDGET, now);
		off += chunk;
	}
}

/* A descriptor for the frame at d (len bytes, room for cap) that the
 * engine is about to parse: pkt_parse clears every other field, so
 * clearing the whole struct here too (a rep stos of ~200 bytes) is waste. */
static inline void desc_for(struct pkt *p, uint8_t *d, uint32_t len, uint32_t cap, uint64_t ts)
{
	p->data = d;
	p->len = len;
	p->cap = cap;
	p->ts = ts;
	p->rx_flags = 0;
}

static void forward(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
		    uint16_t in_if, struct dp_buf *b, bool ring, uint64_t now);

/*
 * The router's own packet in b (b->len bytes), or with b NULL the one at
 * data (len bytes, room for cap: larger than a pool buffer, copied or
 * fragmented by forward): through the output chain (a link-scoped IPv6
 * destination leaves by interface zone), then routed out; o gets the
 * verdict. False, and b back in the pool, when the chain did not let it go.
 */
static bool own_out_at(struct dataplane *dp, struct dp_buf *b, uint8_t *data, uint32_t len,
		       uint32_t cap, uint16_t zone, struct engine_out *o, uint64_t now)
{
	struct pkt r;
	desc_for(&r, data, len, cap, now);
	engine_output_on(dp->en, &r, zone, now, o);
	if (o->verdict != EV_FORWARD) {
		if (b)
			buf_put(dp, b);
		return false;
	}
	forward(dp, &r, o, 0, b, false, now);
	return true;
}

static bool own_out(struct dataplane *dp, struct dp_buf *b, uint16_t zone, struct engine_out *o,
		    uint64_t now)
{
	return own_out_at(dp, b, b->data, b->len, DP_FRAME_MAX, zone, o, now);
}

/* Checksums of a packet the router built (len bytes at data). */
static void own_checksums(uint8_t *data, uint32_t len)
{
	struct pkt r;
	desc_for(&r, data, len, len, 0);
	pkt_parse(&r, true, false);
	pkt_fix_checksums(&r);
}

/*
 * ICMP fragmentation needed (RFC 1191) for a packet with DF too long for the
 * out interface's MTU, as Linux's ip_forward sends it: to the sender, from
 * the router's address on the in-interface, quoting the header as it
 * arrived (addresses and ports before the router's NAT, TTL before its
 * decrement), through the output chain (conntrack sees it as related).
 * The router's own packets (in_if 0) get none: the kernel's path MTU is
 * the TAP's, the smallest of the interfaces' (tap_sync).
 */
static void frag_needed(struct dataplane *dp, const struct pkt *p, uint16_t in_if, uint32_t mtu,
			uint64_t now)
{
	uint32_t from = in_if ? engine_if_addr(dp->en, in_if) : 0;
	const uint8_t *ip = p->data + p->l3_off;
	uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4, quote = ihl + 8;
	if (!from || ihl < 20 || (size_t)p->l3_off + quote > p->len)
		return;
	struct dp_buf *b = buf_get(dp);
	if (!b)
		return;
	uint8_t *f = b->data, *h = f + 14, *ic = h + 20, *in = ic + 8;
	memset(f, 0, 14 + 20 + 8);
	f[12] = 0x08;
	memcpy(in, ip, quote);
	uint32_t isrc = p->src.v4, idst = p->dst.v4;
	uint16_t isp = p->sport, idp = p->dport;
	if (p->ct && p->ct->family == 4) {
		const struct ct_ends *t = &p->ct->t[p->ct_dir];
		isrc = t->src, idst = t->dst, isp = t->sport, idp = t->dport;
	}
	pkt_put32(in + 12, isrc);
	pkt_put32(in + 16, idst);
	if (in[8] < 255)
		in[8]++;
	in[10] = in[11] = 0;
	uint16_t c = csum_buf(in, ihl, 0);
	memcpy(in + 10, &c, 2);
	bool first = !((in[6] << 8 | in[7]) & 0x1fff);
	if (first && (p->proto == 6 || p->proto == 17)) {
		pkt_put16(in + ihl, isp);
		pkt_put16(in + ihl + 2, idp);
	} else if (first && p->proto == 1 && (in[ihl] == 8 || in[ihl] == 0)) {
		pkt_put16(in + ihl + 4, isp); /* echo: the id */
	}
	ic[0] = 3;
	ic[1] = 4;
	pkt_put16(ic + 6, (uint16_t)mtu);
	c = csum_buf(ic, 8 + quote, 0);
	memcpy(ic + 2, &c, 2);
	h[0] = 0x45;
	h[1] = 0xc0; /* internetwork control, as Linux marks its ICMP errors */
	pkt_put16(h + 2, (uint16_t)(20 + 8 + quote));
	pkt_put16(h + 4, dp->ip_id++);
	h[8] = 64;
	h[9] = 1;
	pkt_put32(h + 12, from);
	pkt_put32(h + 16, isrc);
	c = csum_buf(h, 20, 0);
	memcpy(h + 10, &c, 2);
	b->len = 14 + 20 + 8 + quote;
	if (own_out(dp, b, 0, &dp->out_err, now))
		dp->frag_needed_sent++;
}

#define TOO_BIG_PER_SEC 1000  /* as Linux's net.ipv4.icmp_msgs_per_sec */
#define TOO_BIG_BURST 50      /* and icmp_msgs_burst */

/* RFC 4443 2.4 (f): ICMPv6 errors are rate-limited; a token bucket of
 * TOO_BIG_PER_SEC with a burst of TOO_BIG_BURST, which host unreachables
 * (of either family) share, as Linux's icmp_msgs_per_sec is one budget. */
static bool too_big_allowed(struct dataplane *dp, uint64_t now)
{
	const uint64_t cost = 1000000000ull / TOO_BIG_PER_SEC, cap = cost * TOO_BIG_BURST;
	uint64_t c = dp->too_big_credit + (now - dp->too_big_at);
	if (!dp->too_big_at || c > cap)
		c = cap;
	dp->too_big_at = now;
	if (c < cost) {
		dp->too_big_credit = c;
		dp->too_big_limited++;
		return false;
	}
	dp->too_big_credit = c - cost;
	return true;
}

/*
 * ICMPv6 packet too big (RFC 4443 3.2) for an IPv6 packet longer than the
 * out link's MTU: to the sender, from the router's address on the
 * in-interface, with the MTU, quoting as much of the packet as fits in
 * 1280 bytes (engine_icmp6_too_big), through the output chain. The
 * router's own packets (in_if 0) get none, as frag_needed.
 */
static void packet_too_big(struct dataplane *dp, const struct pkt *p, uint16_t in_if,
			   uint32_t mtu, uint64_t now)
{
	if (!in_if || !too_big_allowed(dp, now) ||
	    !engine_icmp6_too_big(dp->en, p, mtu, &dp->out_err))
		return;
	uint32_t len = dp->out_err.reply_len;
	struct dp_buf *b = len <= DP_FRAME_MAX ? buf_get(dp) : NULL;
	if (!b)
		return;
	memcpy(b->data, dp->out_err.reply, len);
	b->len = len;
	if (own_out(dp, b, in_if, &dp->out_err, now))
		dp->too_big_sent++;
}

/* EV_FORWARD (and the router's own packets): into the queues of out_if.
 * b is the buffer p already lives in, or NULL to copy p into one; with
 * ring, p is a frame of the receive ring that stays valid until settle(),
 * so the buffer borrows it instead of copying (settle copies what is still
 * held then). An IPv4
 * packet longer than the interface's MTU is fragmented when it may be, and
 * dropped (frag-needed) when it carries DF. */
/* A segment of a merged packet, forwarded as a packet of its own. */
static void forward_seg(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
			struct dp_if *out, uint16_t in_if, struct dp_buf *b, uint32_t len,
			uint64_t now)
{
	(void)out;
	(void)len;
	forward(dp, p, o, in_if, b, false, now);
}

static void forward(struct dataplane *dp, const struct pkt *p, const struct engine_out *o,
		    uint16_t in_if, struct dp_buf *b, bool ring, uint64_t now)
{
	struct dp_if *out = if_by_id(dp, o->out_if);
	uint32_t len = (uint32_t)p->l3_off + p->ip_len;
	if (len > p->len)
		len = p->len;
	int why = -1;
	bool frag = false;
	uint32_t mtu = out ? if_mtu(out) : 0;
	bool gso = b && b->gso_segs > 1;
	/* a merged packet leaves as its segments: they are what must fit */
	uint32_t ip_out = gso ? gro_hdr_len(p->data, len, NULL) - p->l3_off + b->gso_size
			      : len - p->l3_off;
	if (gso && out && out->h && out->up && mtu && ip_out > mtu) {
		/* as Linux's ip_forward: cut, then each fragmented; with DF one
		 * ICMP for all, the first segment's */
		bool df = p->family != 4 || (p->data[p->l3_off + 6] & 0x40);
		if (df) {
			dp->drops[DPD_FRAG_NEEDED] += b->gso_segs - 1u;
			out->st.tx_drops += b->gso_segs - 1u;
		}
		gso_each(dp, p, o, out, in_if, b, len, !df, now, forward_seg);
		return;
	}
	if (!out)
		why = DPD_NO_PORT;
	else if (!out->h || !out->up)
		why = DPD_LINK_DOWN;
	else if (mtu && ip_out > mtu) {
		/* a router never fragments IPv6 (RFC 8200 5) */
		if (p->family != 4 || (p->data[p->l3_off + 6] & 0x40))
			why = DPD_FRAG_NEEDED;
		else
			frag = true;
	} else if (len > DP_FRAME_MAX && !gso)
		why = DPD_OVERSIZE;
	if (why >= 0) {
		dp->drops[why]++;
		if (out)
			out->st.tx_drops += gso ? wire_pkts(b) : 1u;
		if (why == DPD_FRAG_NEEDED && p->family == 4)
			frag_needed(dp, p, in_if, mtu, now);
		else if (why == DPD_FRAG_NEEDED)
			packet_too_big(dp, p, in_if, mtu, now);
		if (b)
			buf_put(dp, b);
		return;
	}
	if (frag) {
		/* each fragment carries a piece of the segment: the sum goes first */
		if (p->rx_flags & PKT_RX_L4_PARTIAL)
			(void)io_csum_complete(p->data, len);
		fragment_out(dp, p, o, out, in_if, mtu, now);
		if (b)
			buf_put(dp, b);
		return;
	}
	if (!b) {
		b = buf_get(dp);
		if (!b) {
			out->st.tx_drops++;
			return;
		}
		if (ring && dp->nlent < RX_BURST) {
			b->data = p->data;
			b->lent = true;
			dp->lent[dp->nlent++] = b;
		} else {
			memcpy(b->data, p->data, len);
		}
	}
	enqueue(dp, p, o, out, in_if, b, len, now);
}

/*
 * An ICMP or ICMPv6 echo request to the router: the reply is the router's
 * own packet, from src6 (IPv6) or the address asked (IPv4), and takes the
 * output chain; to a link-local sender it leaves by the interface the
 * request came in by. One larger than a pool buffer (a request the engine
 * reassembled) is built in echo_big and leaves in fragments, as Linux
 * answers it.
 */
static void echo_reply(struct dataplane *dp, const struct pkt *p, const uint8_t *src6,
		       uint16_t in_if, uint64_t now)
{
	bool v6 = p->family == 6;
	uint32_t icmp_len = p->l4_len, hl = v6 ? 40 : 20, len = 14 + hl + icmp_len;
	if (len > DP_ECHO_MAX || icmp_len < 8 || (size_t)p->l4_off + icmp_len > p->len ||
	    (!v6 && hl + icmp_len > 65535))
		return;
	struct dp_buf *b = len <= DP_FRAME_MAX ? buf_get(dp) : NULL;
	if (!b && len <= DP_FRAME_MAX)
		return;
	uint8_t *f = b ? b->data : dp->echo_big, *ip = f + 14;
	memcpy(f, p->src_mac, 6);
	memcpy(f + 6, p->dst_mac, 6);
	pkt_put16(f + 12, v6 ? 0x86dd : 0x0800);
	memset(ip, 0, hl);
	if (v6) {
		ip[0] = (uint8_t)(0x60 | p->dscp >> 2);
		ip[1] = (uint8_t)(p->dscp << 6);
		pkt_put16(ip + 4, (uint16_t)icmp_len);
		ip[6] = 58;
		ip[7] = 64;
		memcpy(ip + 8, src6, 16);
		memcpy(ip + 24, p->src.v6, 16);
	} else {
		ip[0] = 0x45;
		ip[1] = (uint8_t)(p->dscp << 2);
		pkt_put16(ip + 2, (uint16_t)(20 + icmp_len));
		pkt_put16(ip + 4, dp->ip_id++);
		ip[8] = 64;
		ip[9] = 1;
		pkt_put32(ip + 12, p->dst.v4);
		pkt_put32(ip + 16, p->src.v4);
	}
	memcpy(ip + hl, p->data + p->l4_off, icmp_len);
	ip[hl] = v6 ? 129 : 0; /* echo reply */
	ip[hl + 1] = 0;
	own_checksums(f, len);
	if (b)
		b->len = len;
	if (own_out_at(dp, b, f, len, b ? DP_FRAME_MAX : DP_ECHO_MAX, v6 ? in_if : 0,
		       &dp->out_local, now)) {
		if (v6)
			dp->echo6_replies++;
		else
			dp->echo_replies++;
	}
}

static bool is_echo_request(const struct pkt *p)
{
	return p->proto == (p->family == 6 ? 58 : 1) && p->icmp_type == (p->family == 6 ? 128 : 8) &&
	       (p->flags & PKT_F_L4) && !(p->flags & PKT_F_FRAGMENT);
}

static unsigned common_bits(const uint8_t *a, const uint8_t *b)
{
	unsigned n = 0;
	for (int i = 0; i < 16 && a[i] == b[i]; i++)
		n += 8;
	if (n < 128)
		n += (unsigned)__builtin_clz((unsigned)(a[n / 8] ^ b[n / 8]) << 24);
	return n;
}

/*
 * Does the router answer the ICMPv6 echo request p, and from which address
 * (into src)? To one of its addresses (a link-local one on the interface
 * it came in by): from that address. To a link-scope group it is in on
 * in_if (all-nodes, all-routers, the solicited-node group of one of its
 * addresses there), as Linux does by default (echo_ignore_multicast=0):
 * from its address on in_if that suits the sender, link-local for a
 * link-local sender, else the global one sharing the longest prefix with
 * it (RFC 6724 rules 2 and 8).
 */
static bool echo6_for_us(struct dataplane *dp, const struct pkt *p, uint16_t in_if,
			 uint8_t src[16])
{
	const uint8_t *d = p->dst.v6, *s = p->src.v6;
	memcpy(src, d, 16);
	if (d[0] == 0xfe && (d[1] & 0xc0) == 0x80)
		return engine_is_local6_on(dp->en, in_if, d);
	if (d[0] != 0xff)
		return engine_is_local6(dp->en, d);
	static const uint8_t link_scope[15] = { 0xff, 0x02 };
	static const uint8_t solicited_node[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	static const uint8_t zero[16];
	bool all = !memcmp(d, link_scope, 15) && (d[15] == 1 || d[15] == 2);
	bool solicited = !memcmp(d, solicited_node, 13);
	if ((!all && !solicited) || s[0] == 0xff || !memcmp(s, zero, 16))
		return false;
	struct engine_addr6 a[64];
	size_t n = engine_addrs6(dp->en, a, 64);
	bool member = all, from_ll = s[0] == 0xfe && (s[1] & 0xc0) == 0x80, found = false;
	unsigned best = 0;
	for (size_t i = 0; i < n; i++) {
		if (a[i].ifid != in_if)
			continue;
		member |= solicited && !memcmp(a[i].addr + 13, d + 13, 3);
		if (a[i].link_local != from_ll)
			continue;
		unsigned c = common_bits(a[i].addr, s);
		if (!found || c > best) {
			memcpy(src, a[i].addr, 16);
			best = c;
			found = true;
		}
	}
	return member && (found || engine_link_local(dp->en, in_if, src));
}

/* Merged packet p (gso_size) to the kernel: segment by segment, as it
 * came, each finished (the TAP cannot say partial). */
static void local_cut(struct dataplane *dp, const struct pkt *p, uint32_t len, uint16_t gso_size)
{
	dp->gso_cut++;
	for (uint32_t i = 0;; i++) {
		uint32_t k = gro_cut(p->data, len, gso_size, i, dp->cut, sizeof(dp->cut));
		if (!k)
			break;
		(void)io_csum_complete(dp->cut, k);
		if (tap_write_ip(dp->tap, dp->cut + p->l3_off, k - p->l3_off) == 0)
			dp->local_in++;
	}
}

/* Packet p for the router; gso_size: a merged TCP packet's (gro.h), else 0. */
static void local_in(struct dataplane *dp, const struct pkt *p, uint16_t in_if, uint16_t gso_size,
		     uint64_t now)
{
	if (p->family == 6 && nd_is_nd(p->data + p->l3_off, p->len - p->l3_off)) {
		nd_input(dp->nd, in_if, p->data + p->l3_off, p->len - p->l3_off, p->src_mac, now);
		return;
	}
	if (p->family == 6 && ra_is_rs(p->data + p->l3_off, p->len - p->l3_off)) {
		ra_input(dp->ra, in_if, p->data + p->l3_off, p->len - p->l3_off, now);
		return;
	}
	/* IPv4 to the router but none of its addresses: the limited broadcast
	 * or a subnet's. An echo request there is not answered (Linux's
	 * default icmp_echo_ignore_broadcasts=1); the kernel behind the TAP
	 * knows no subnet of the router's, only the limited broadcast. */
	bool bcast4 = p->family == 4 && !engine_is_local(dp->en, p->dst.v4);
	bool echo = is_echo_request(p);
	uint8_t src6[16];
	if (echo && bcast4) {
		dp->echo_ignored++;
		return;
	}
	if (echo && (p->family == 4 || echo6_for_us(dp, p, in_if, src6))) {
		echo_reply(dp, p, src6, in_if, now);
		return;
	}
	if ((p->family == 6 && p->dst.v6[0] == 0xff) || (bcast4 && p->dst.v4 != 0xffffffffu)) {
		dp->drops[DPD_MULTICAST]++; /* MLD, mDNS ...: no listener of rosfw's */
		return;
	}
	/* to the kernel's sockets (API, REST, anything listening) */
	if (dp->tap) {
		uint32_t len = p->ip_len;
		if ((size_t)p->l3_off + len > p->len)
			len = p->len - p->l3_off;
		if (gso_size) {
			local_cut(dp, p, p->l3_off + len, gso_size);
			return;
		}
		/* the TAP has no way to say the checksum is partial */
		if (p->rx_flags & PKT_RX_L4_PARTIAL)
			(void)io_csum_complete(p->data, p->l3_off + len);
		if (tap_write_ip(dp->tap, p->data + p->l3_off, len) == 0)
			dp->local_in++;
		return;
	}
	dp->drops[DPD_LOCAL]++;
}

static uint16_t tap_zone6(struct dataplane *dp, const uint8_t src[16]);

/* What the kernel sends (replies, the router's own connections): the
 * output chain, then routed out like a forwarded packet. */
static void on_tap(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	(void)revents;
	struct dataplane *dp = ctx;
	uint64_t now = dp_now(dp);
	for (int k = 0; k < TAP_BUDGET; k++) {
		struct dp_buf *b = buf_get(dp);
		if (!b) {
			/* leave it in the TAP's queue; the kernel drops when that is full */
			break;
		}
		int n = tap_read(dp->tap, b->data, DP_FRAME_MAX);
		if (n <= 0) {
			buf_put(dp, b);
			break;
		}
		bool v4 = n >= 34 && b->data[12] == 0x08 && b->data[13] == 0x00;
		bool v6 = n >= 54 && b->data[12] == 0x86 && b->data[13] == 0xdd;
		/* IP only (the TAP is NOARP); an IPv6 group address is the
		 * kernel's chatter about the TAP itself (MLD), not for a link */
		if ((!v4 && !v6) || (v6 && b->data[14 + 24] == 0xff)) {
			buf_put(dp, b);
			continue;
		}
		b->len = (uint32_t)n;
		struct pkt p;
		desc_for(&p, b->data, b->len, DP_FRAME_MAX, now);
		engine_output_on(dp->en, &p, v6 ? tap_zone6(dp, b->data + 14 + 8) : 0, now,
				 &dp->out_local);
		if (dp->out_local.verdict == EV_REJECT) {
			/* the output chain's answer goes back to the kernel's socket
			 * (its TCP reset or ICMP error: the connection fails at once) */
			const struct engine_out *o = &dp->out_local;
			if (o->reply_len > 14 &&
			    tap_write_ip(dp->tap, o->reply + 14, o->reply_len - 14) == 0)
				dp->local_rejects++;
		}
		if (dp->out_local.verdict != EV_FORWARD) {
			dp->local_out_drops++;
			buf_put(dp, b);
			continue;
		}
		dp->local_out++;
		if (p.data != b->data) { /* reassembled by the engine: copy it */
			buf_put(dp, b);
			b = NULL;
		}
		forward(dp, &p, &dp->out_local, 0, b, false, now);
	}
	kick(dp, now);
}

/* The interface a link-scoped packet from the kernel leaves by: the one
 * whose link-local address is its source (the kernel knows only the TAP). */
static uint16_t tap_zone6(struct dataplane *dp, const uint8_t src[16])
{
	uint8_t ll[16];
	for (size_t i = 0; i < dp->nifs; i++)
		if (engine_link_local(dp->en, dp->ifs[i].ifid, ll) && !memcmp(ll, src, 16))
			return dp->ifs[i].ifid;
	return 0;
}

/* The TAP carries the router's IPv6 addresses of the mapped interfaces
 * (link-local ones too: each interface has its own). */
static void tap_sync6(struct dataplane *dp)
{
	struct engine_addr6 all[TAP_MAX_ADDRS6 * 2];
	uint8_t a[TAP_MAX_ADDRS6][16];
	size_t na = engine_addrs6(dp->en, all, TAP_MAX_ADDRS6 * 2), n = 0;
	for (size_t i = 0; i < na && n < TAP_MAX_ADDRS6; i++) {
		bool mapped = if_by_id(dp, all[i].ifid) != NULL, dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= !memcmp(a[k], all[i].addr, 16);
		if (mapped && !dup)
			memcpy(a[n++], all[i].addr, 16);
	}
	tap_set_addrs6(dp->tap, a, n);
}

/* The TAP carries the router's IPv4 addresses: one per interface (vlans
 * too); and the smallest MTU of the interfaces, which the kernel's own
 * packets must fit (it knows only the TAP: a larger packet with DF would be
 * dropped with no ICMP to tell it, and its TCP would announce an MSS the
 * smaller link cannot carry back); 1280 at least, IPv6's minimum, and no
 * more than a pool buffer holds. */
static void tap_sync(struct dataplane *dp)
{
	if (!dp->tap)
		return;
	tap_sync6(dp);
	uint32_t mtu = 0;
	for (size_t i = 0; i < dp->nifs; i++) {
		uint32_t m = if_mtu(&dp->ifs[i]);
		if (m && (!mtu || m < mtu))
			mtu = m;
	}
	/* and what a pool buffer holds: tap_read would cut a longer frame */
	if (mtu > DP_FRAME_MAX - 14)
		mtu = DP_FRAME_MAX - 14;
	if (mtu)
		tap_set_mtu(dp->tap, mtu < 1280 ? 1280 : mtu);
	uint32_t a[TAP_MAX_ADDRS];
	size_t n = 0;
	for (size_t i = 0; i < dp->nifs && n < TAP_MAX_ADDRS; i++) {
		uint32_t x = engine_if_addr(dp->en, dp->ifs[i].ifid);
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			dup |= a[k] == x;
		if (x && !dup)
			a[n++] = x;
	}
	tap_set_addrs(dp->tap, a, n);
}

static void reject(struct dataplane *dp, const struct engine_out *o)
{
	if (!o->reply_len)
		return;
	tx_copy(dp, if_by_id(dp, o->reply_if), o->reply, o->reply_len);
}

/* The vlan of parent li with tag (tpid, vid), NULL if none. */
static struct dp_if *vlan_of(struct dataplane *dp, const struct dp_if *li, uint16_t tpid,
			     uint16_t vid)
{
	for (size_t i = dp->nports; i < dp->nifs; i++) {
		struct dp_if *v = &dp->ifs[i];
		if (v->parent == li && v->vid == vid && v->tpid == tpid)
			return v;
	}
	return NULL;
}

/*
 * Layer 2 of a received frame on port di: counts it, finds the interface
 * it belongs to (the port, or the vlan of its tags: each tag is taken off
 * in place, the Ethernet addresses moving down), hands ARP over, drops what
 * is not for routing; true when p (set up here) goes to the engine from
 * interface *in_if. A tag the kernel already took off (IO_F_VLAN) is the
 * outermost. As Linux, a tag with VLAN id 0 (priority only) belongs to the
 * interface it arrives on; a tag no vlan has is dropped (vlan).
 */
static bool rx_frame(struct dataplane *dp, struct dp_if *di, struct io_frame *f, uint64_t now,
		     struct pkt *p, uint16_t *in_if)
{
	di->st.rx_packets++;
	di->st.rx_bytes += f->wire_len;
	if ((f->flags & IO_F_TRUNC) || f->len > DP_FRAME_MAX) {
		di->st.rx_errors++;
		dp->drops[DPD_OVERSIZE]++;
		return false;
	}
	if (f->len < 14) {
		di->st.rx_errors++;
		return false;
	}
	uint8_t *d = f->data;
	uint32_t len = f->len;
	bool group = d[0] & 1;
	if (!group && memcmp(d, di->h->mac, 6)) {
		dp->drops[DPD_NOT_FOR_US]++;
		return false;
	}
	struct dp_if *li = di;
	uint16_t et = (uint16_t)(d[12] << 8 | d[13]);
	if ((f->flags & IO_F_VLAN) && (f->vlan_tci & 0xfff))
		li = vlan_of(dp, li, f->vlan_tpid, f->vlan_tci & 0xfff);
	while (li && (et == 0x8100 || et == 0x88a8)) {
		if (len < 18) {
			di->st.rx_errors++;
			return false;
		}
		uint16_t vid = (uint16_t)((d[14] & 0x0f) << 8 | d[15]);
		if (vid)
			li = vlan_of(dp, li, et, vid);
		memmove(d + 4, d, 12);
		d += 4;
		len -= 4;
		et = (uint16_t)(d[12] << 8 | d[13]);
	}
	if (!li) {
		di->st.rx_drops++;
		dp->drops[DPD_VLAN]++;
		return false;
	}
	if (li != di) {
		li->st.rx_packets++;
		li->st.rx_bytes += len;
	}
	if (et == 0x0806) {
		arp_input(dp->arp, li->ifid, d, len, now);
		return false;
	}
	/* IPv4 multicast is not routed (no PIM); checked before conntrack
	 * sees it, so it leaves no connection behind */
	if (et == 0x0800 && len >= 34 && (d[30] & 0xf0) == 0xe0) {
		dp->drops[DPD_MULTICAST]++;
		return false;
	}
	desc_for(p, d, len, len, now);
	/* a local sender's partial checksum goes on partial, as Linux
	 * forwards CHECKSUM_PARTIAL: whoever transmits finishes it */
	if (f->flags & IO_F_CSUM_PARTIAL)
		p->rx_flags = PKT_RX_L4_PARTIAL;
	*in_if = li->ifid;
	return true;
}

/* What the engine decided for p, received on interface in_if; ring: p is
 * still the frame in the receive ring (not a datagram the engine
 * reassembled). */
static void rx_verdict(struct dataplane *dp, uint16_t in_if, struct pkt *p, bool ring,
		       struct dp_buf *gb, const struct engine_out *o, uint64_t now)
{
	switch (o->verdict) {
	case EV_FORWARD:
		/* a frame sent to everyone is not routed (directed broadcast) */
		if (p->data[0] & 1) {
			dp->drops[DPD_MULTICAST]++;
			break;
		}
		forward(dp, p, o, in_if, gb, ring, now);
		return; /* gb is forward's */
	case EV_REJECT:
		reject(dp, o);
		break;
	case EV_LOCAL:
		local_in(dp, p, in_if, gb ? gb->gso_size : 0, now);
		break;
	default:
		break;
	}
	if (gb)
		buf_put(dp, gb);
}

/* ---- GRO ---- */

struct gro_open {
	struct gro_pkt g;
	size_t at;              /* where its first segment is in the burst */
	struct dp_buf *b;       /* its big buffer, from the second segment on */
};

/* Ends open packet j of op: a merged one takes its first segment's place
 * in the burst (pk[at], from its big buffer, gb[at]). */
static void gro_close(struct dataplane *dp, struct pkt *pk, struct dp_buf **gb,
		      struct gro_open *op, size_t *nop, size_t j)
{
	struct gro_open *o = &op[j];
	if (o->b) {
		gro_finish(&o->g);
		struct pkt *p = &pk[o->at];
		p->data = o->b->data;
		p->len = p->cap = o->g.len;
		p->rx_flags |= PKT_RX_L4_PARTIAL;
		o->b->gso_size = o->g.mss;
		o->b->gso_segs = o->g.segs;
		gb[o->at] = o->b;
		dp->gro_packets++;
		dp->gro_merged += o->g.segs;
	}
	memmove(op + j, op + j + 1, (*nop - j - 1) * sizeof(*op));
	(*nop)--;
}

/* The burst's m packets (pk, received on in) merged where they may be
 * (gro.h): a merged packet takes the place of its first segment, in a
 * big buffer (gb[i]; NULL for the others), and the segments that joined
 * it are gone[i]. A connection's packets keep their order: any packet of
 * it that cannot join ends the one in the making, which is ahead of it. */
static void gro_burst(struct dataplane *dp, struct pkt *pk, const uint16_t *in, size_t m,
		      struct dp_buf **gb, bool *gone)
{
	struct gro_open op[GRO_OPEN];
	size_t nop = 0;
	for (size_t i = 0; i < m; i++) {
		struct gro_seg s;
		enum gro_kind k = gro_parse(pk[i].data, pk[i].len,
					    pk[i].rx_flags & PKT_RX_L4_PARTIAL, &s);
		if (k == GRO_OTHER)
			continue;
		if (k == GRO_BARRIER) {
			while (nop)
				gro_close(dp, pk, gb, op, &nop, 0);
			continue;
		}
		size_t j = 0;
		while (j < nop && !(in[op[j].at] == in[i] && gro_same_conn(&op[j].g.first, &s)))
			j++;
		if (j < nop) {
			if (k == GRO_MERGEABLE && gro_follows(&op[j].g, &s)) {
				if (!op[j].b)
					op[j].b = big_get(dp);
				if (op[j].b) {
					gro_add(&op[j].g, &s, op[j].b->data);
					gone[i] = true;
					if (op[j].g.closed)
						gro_close(dp, pk, gb, op, &nop, j);
					continue;
				}
				dp->gro_no_buffer++;
			}
			gro_close(dp, pk, gb, op, &nop, j);
		}
		if (k != GRO_MERGEABLE)
			continue;
		if (nop == GRO_OPEN)
			gro_close(dp, pk, gb, op, &nop, 0);
		gro_start(&op[nop].g, &s);
		op[nop].at = i;
		op[nop].b = NULL;
		if (!op[nop].g.closed)
			nop++;
	}
	while (nop)
		gro_close(dp, pk, gb, op, &nop, 0);
}

/* A ring burst: layer 2 frame by frame, the engine on the IP packets at
 * once (engine_input_burst, stage by stage), then each verdict. A
 * reassembled datagram is acted on before the engine runs the rest. */
static void rx_burst(struct dataplane *dp, struct dp_if *di, struct io_frame *fr, size_t n,
		     uint64_t now)
{
	struct pkt pk[RX_BURST], *v[RX_BURST];
	uint8_t *d0[RX_BURST];
	uint16_t in[RX_BURST], vin[RX_BURST];
	struct dp_buf *gb[RX_BURST], *vb[RX_BURST];
	bool gone[RX_BURST];
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (rx_frame(dp, di, &fr[i], now, &pk[m], &in[m])) {
			gb[m] = NULL;
			gone[m] = false;
			m++;
		}
	/* a rule that sizes or counts packets one by one would see the merge */
	if (dp->gro && m > 1 && !engine_per_packet_rules(dp->en))
		gro_burst(dp, pk, in, m, gb, gone);
	size_t nv = 0;
	for (size_t i = 0; i < m; i++)
		if (!gone[i]) {
			v[nv] = &pk[i];
			vin[nv] = in[i];
			vb[nv] = gb[i];
			d0[nv] = gb[i] ? NULL : pk[i].data;
			nv++;
		}
	for (size_t done = 0; done < nv;) {
		size_t k = engine_input_burst(dp->en, v + done, vin + done, nv - done, now,
					      dp->out + done);
		for (size_t i = done; i < done + k; i++)
			rx_verdict(dp, vin[i], v[i], v[i]->data == d0[i], vb[i], &dp->out[i], now);
		done += k;
	}
}

/* ---- links ---- */

static void on_rx(struct loop *l, int fd, short revents, void *ctx);

/* The vlans take their port's handle and link state. */
static void vlans_follow(struct dataplane *dp)
{
	for (size_t i = dp->nports; i < dp->nifs; i++) {
		struct dp_if *v = &dp->ifs[i];
		v->h = v->port->h;
		v->up = v->port->up;
	}
}

/* Port di's link went down: it and its vlans forget their neighbours. */
static void link_lost(struct dataplane *dp, struct dp_if *di)
{
	if (!di->up)
		return;
	di->up = false;
	for (size_t i = 0; i < dp->nifs; i++)
		if (dp->ifs[i].port == di) {
			arp_flush_if(dp->arp, dp->ifs[i].ifid);
			nd_flush_if(dp->nd, dp->ifs[i].ifid);
		}
	vlans_follow(dp);
	conf_log("interface,info", "%s link down", di->ros);
}

static void link_check(struct dataplane *dp, struct dp_if *di)
{
	if (!di->h) {
		struct err e;
		err_clear(&e);
		di->h = io_open(di->lnx, &e);
		if (!di->h)
			return;
		di->ring_seen = 0;
		loop_watch(dp->loop, di->h->fd, POLLIN, on_rx, di);
		conf_log("interface,info", "%s: %s is back", di->ros, di->lnx);
	}
	enum io_link s = io_link_state(di->h);
	if (di->h->rx_ring_drops > di->ring_seen) {
		di->st.rx_drops += di->h->rx_ring_drops - di->ring_seen;
		di->ring_seen = di->h->rx_ring_drops;
	}
	if (s == IO_LINK_GONE) {
		link_lost(dp, di);
		for (size_t k = 0; k < di->ntx; k++) {
			di->st.tx_drops += wire_pkts(di->tx[k]);
			buf_put(dp, di->tx[k]);
		}
		di->ntx = 0;
		loop_unwatch(dp->loop, di->h->fd);
		io_close(di->h);
		di->h = NULL;
		vlans_follow(dp);
		conf_log("interface,warning", "%s: %s is gone; waiting for it", di->ros, di->lnx);
		return;
	}
	if (s == IO_LINK_UP && !di->up) {
		di->up = true;
		conf_log("interface,info", "%s link up", di->ros);
	} else if (s != IO_LINK_UP) {
		link_lost(dp, di);
	}
	vlans_follow(dp);
}

/*
 * Before the receive ring gets its frames back (the next rx_burst): what
 * the queues release now goes out (release), straight from the ring for the
 * buffers that borrowed their frame; the lent buffers still held (by a
 * queue that shapes, an ARP wait queue) copy their frame into their own
 * room. So a frame the queues let through at once is copied once (by the
 * backend's send), and one they hold twice, as before.
 */
static void settle(struct dataplane *dp, uint64_t now)
{
	if (!dp->nlent)
		return;
	bool moved = false;
	(void)release(dp, now, &moved); /* the timer: on_rx's kick, after the bursts */
	for (size_t i = 0; i < dp->nlent; i++)
		buf_own(dp, dp->lent[i]);
	dp->nlent = 0;
}

static void on_rx(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	struct dp_if *di = ctx;
	struct dataplane *dp = di->dp;
	uint64_t now = dp_now(dp);
	if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
		link_check(dp, di);
		if (!di->h)
			return;
	}
	struct io_frame fr[RX_BURST];
	int empty = 0;
	for (int b = 0; b < RX_BUDGET && empty < 2; b++) {
		size_t n = io_rx_burst(di->h, fr, RX_BURST);
		empty = n ? 0 : empty + 1;
		rx_burst(dp, di, fr, n, now);
		settle(dp, now);
	}
	io_rx_release(di->h);
	kick(dp, now);
}

static void housekeep(struct loop *l, void *ctx)
{
	(void)l;
	struct dataplane *dp = ctx;
	uint64_t now = dp_now(dp);
	arp_tick(dp->arp, now);
	nd_tick(dp->nd, now);
	ra_tick(dp->ra, now);
	if (now >= dp->next_link_check) {
		dp->next_link_check = now + LINK_CHECK_NS;
		for (size_t i = 0; i < dp->nports; i++)
			link_check(dp, &dp->ifs[i]);
		tap_sync(dp);
	}
	kick(dp, now);
}

/* ---- ARP's view of the interfaces ---- */

static bool arp_is_mine(void *ctx, uint16_t ifid, uint32_t addr)
{
	struct dataplane *dp = ctx;
	return engine_if_addr(dp->en, ifid) != 0 && engine_is_local(dp->en, addr);
}

static uint32_t arp_src_addr(void *ctx, uint16_t ifid, uint32_t target)
{
	(void)target;
	struct dataplane *dp = ctx;
	return engine_if_addr(dp->en, ifid);
}

static const uint8_t *arp_mac(void *ctx, uint16_t ifid)
{
	struct dp_if *di = if_by_id(ctx, ifid);
	return di && di->h && di->up ? di->h->mac : NULL;
}

static void arp_send(void *ctx, uint16_t ifid, const uint8_t *frame, uint32_t len)
{
	struct dataplane *dp = ctx;
	tx_copy(dp, if_by_id(dp, ifid), frame, len);
}

static uint16_t arp_route_if(void *ctx, uint32_t addr)
{
	struct dataplane *dp = ctx;
	return engine_route_if(dp->en, addr);
}

static void arp_resolved(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6])
{
	struct dataplane *dp = ctx;
	struct dp_if *di = if_by_id(dp, ifid);
	if (di)
		tx_to(dp, di, pkt, mac);
	else
		buf_put(dp, pkt);
}

/* What a packet waiting for its next hop holds: its whole buffer, as
 * Linux counts an skb's truesize against unres_qlen_bytes (so about 100
 * frames wait for a neighbour, 3 merged packets of the GRO pool). */
static uint32_t arp_pkt_size(void *ctx, void *pkt)
{
	(void)ctx;
	const struct dp_buf *b = pkt;
	return VLAN_ROOM + (b->big ? GRO_FRAME_MAX : DP_FRAME_MAX);
}

/* ---- neighbour discovery's view ---- */

static bool nd_is_mine(void *ctx, uint16_t ifid, const uint8_t addr[16])
{
	struct dataplane *dp = ctx;
	return engine_is_local6_on(dp->en, ifid, addr);
}

/* Solicitations go out from the interface's link-local address (RFC 4861
 * 7.2.2 allows any of its addresses; the link-local one always is there). */
static bool nd_src_addr(void *ctx, uint16_t ifid, const uint8_t target[16], uint8_t src[16])
{
	(void)target;
	struct dataplane *dp = ctx;
	return engine_link_local(dp->en, ifid, src);
}

/* ---- router advertisements' view ---- */

static bool ra_src_addr(void *ctx, uint16_t ifid, uint8_t src[16])
{
	struct dataplane *dp = ctx;
	return engine_link_local(dp->en, ifid, src);
}

/* An advertisement is the router's own packet: the output chain applies. */
static void ra_send(void *ctx, uint16_t ifid, const uint8_t *frame, uint32_t len)
{
	struct dataplane *dp = ctx;
	uint64_t now = dp_now(dp);
	struct dp_buf *b = len <= DP_FRAME_MAX ? buf_get(dp) : NULL;
	if (!b)
		return;
	memcpy(b->data, frame, len);
	b->len = len;
	if (!own_out(dp, b, ifid, &dp->out_local, now))
		dp->ra_output_drops++;
}

static void ra_learn(void *ctx, uint16_t ifid, const uint8_t addr[16], const uint8_t mac[6])
{
	struct dataplane *dp = ctx;
	nd_learn(dp->nd, ifid, addr, mac, dp_now(dp));
}

/* Each interface advertises as /ipv6/nd says (after each load). */
static void ra_load(struct dataplane *dp, struct store *st)
{
	uint64_t now = dp_now(dp);
	struct err e;
	err_clear(&e);
	if (ra_sync_prefixes(st, &e) < 0)
		conf_log("ipv6,error", "dynamic /ipv6 nd prefix entries: %s", e.msg);
	for (size_t i = 0; i < dp->nifs; i++) {
		struct ra_conf c;
		bool on = ra_conf_load(st, dp->ifs[i].ros, &c);
		ra_set(dp->ra, dp->ifs[i].ifid, on ? &c : NULL, now);
	}
	/* out now: the daemon replaces the queues next, dropping what they hold
	 * (a final advertisement among it) */
	kick(dp, now);
}

/*
 * A forwarded packet given up because its next hop never answered ARP or ND
 * (or has no static entry where it must): as Linux's neighbour layer, an
 * ICMP host unreachable (ICMPv6 address unreachable) to its sender, from
 * the router's address on the in-interface, rate-limited with the other
 * ICMP errors, through the output chain (engine_icmp_host_unreach; the
 * engine sends an error about a translated packet to its untranslated
 * sender). The router's own packets (in_if 0) get none, as frag_needed.
 */
static void host_unreach(struct dataplane *dp, struct dp_buf *b)
{
	uint64_t now = dp_now(dp);
	if (!b->in_if || !too_big_allowed(dp, now))
		return;
	struct pkt p;
	desc_for(&p, b->data, b->len, b->len, now);
	if (pkt_parse(&p, true, false) != DR_NONE)
		return;
	p.in_if = b->in_if;
	if (!engine_icmp_host_unreach(dp->en, &p, &dp->out_err))
		return;
	uint32_t len = dp->out_err.reply_len;
	struct dp_buf *r = len <= DP_FRAME_MAX ? buf_get(dp) : NULL;
	if (!r)
		return;
	memcpy(r->data, dp->out_err.reply, len);
	r->len = len;
	if (own_out(dp, r, b->in_if, &dp->out_err, now))
		dp->host_unreach_sent++;
}

static void arp_dropped(void *ctx, uint16_t ifid, void *pkt, bool unreachable)
{
	struct dataplane *dp = ctx;
	struct dp_if *di = if_by_id(dp, ifid);
	if (di)
		di->st.tx_drops += wire_pkts(pkt);
	dp->drops[unreachable ? DPD_ARP_FAILED : DPD_ARP_QUEUE]++;
	if (unreachable)
		host_unreach(dp, pkt);
	buf_put(dp, pkt);
}

/* ---- /interface ---- */

static void put(const struct menu *m, struct item *it, const char *name, const char *v)
{
	int pi = schema_prop(m, name, NULL);
	if (pi >= 0 && v)
		item_set(m, it, pi, v);
}

/* What the Linux interface tells about a mapped one: link, MAC, MTU, counters. */
static void decorate(void *ctx, const struct menu *m, struct item *it, const char *name,
		     bool disabled)
{
	struct dataplane *dp = ctx;
	struct dp_if *di = NULL;
	for (size_t x = 0; dp && x < dp->nifs; x++)
		if (!strcmp(dp->ifs[x].ros, name))
			di = &dp->ifs[x];
	if (!di)
		return;
	put(m, it, "running", !disabled && di->up ? "yes" : "no");
	if (di->h) {
		char mac[20], mtu[12];
		const uint8_t *a = di->h->mac;
		snprintf(mac, sizeof(mac), "%02X:%02X:%02X:%02X:%02X:%02X", a[0], a[1], a[2], a[3],
			 a[4], a[5]);
		snprintf(mtu, sizeof(mtu), "%u", di->h->mtu);
		put(m, it, "mac-address", mac);
		put(m, it, "actual-mtu", mtu);
	}
	conf_iface_put_stats(m, it, &di->st);
}

static int interfaces(void *ctx, struct conf_session *s, const struct menu *m,
		      struct item ***items, size_t *n)
{
	return conf_interface_items(s, m, decorate, ctx, items, n);
}

/* /ip/arp's dynamic entries (print adds them after the store's static ones) */
static int arp_items(void *ctx, struct conf_session *s, const struct menu *m,
		     struct item ***items, size_t *n)
{
	struct dataplane *dp = ctx;
	neigh_conf_arp_items(dp->arp, m, items, n);
	return 0;
}

/* /ip arp remove of a dynamic entry: forgotten, to be learnt again */
static int arp_remove(void *ctx, const struct menu *m, uint32_t id, struct err *e)
{
	struct dataplane *dp = ctx;
	return neigh_conf_arp_remove(dp->arp, id, e);
}

static int nd_items(void *ctx, struct conf_session *s, const struct menu *m,
		    struct item ***items, size_t *n)
{
	struct dataplane *dp = ctx;
	neigh_conf_nd_items(dp->nd, m, items, n);
	return 0;
}

/* /ipv6 neighbor remove: forgotten, to be learnt again */
static int nd_remove(void *ctx, const struct menu *m, uint32_t id, struct err *e)
{
	struct dataplane *dp = ctx;
	return neigh_conf_nd_remove(dp->nd, id, e);
}

/* ---- set-up ---- */

/* The interface is rosfw's: the kernel must not speak on it. Its IPv6 goes
 * off (it would answer neighbour discovery beside rosfw); an IPv4 address
 * the kernel holds there is only warned about (removing it could cut off
 * whoever is logged in through it). */
static void proc_write(const char *fmt, const char *ifname, const char *v)
{
	char path[128];
	snprintf(path, sizeof(path), fmt, ifname);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

static void take_over(struct dp_if *di)
{
	proc_write("/proc/sys/net/ipv6/conf/%s/disable_ipv6", di->lnx, "1\n");
	/* The kernel also sees every frame that arrives here, and it holds the
	 * router's addresses (on the TAP): it must not answer beside rosfw
	 * (a reset for a masqueraded connection's reply, say). Strict reverse
	 * path filtering drops all of it, as every route points into the TAP;
	 * and no ARP answers from the kernel on this interface. */
	proc_write("/proc/sys/net/ipv4/conf/%s/rp_filter", di->lnx, "1\n");
	proc_write("/proc/sys/net/ipv4/conf/%s/arp_ignore", di->lnx, "8\n");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", di->lnx);
	ifr.ifr_addr.sa_family = AF_INET;
	if (ioctl(di->h->ctl_fd, SIOCGIFADDR, &ifr) == 0) {
		fprintf(stderr, "rosfw: warning: %s has a kernel IPv4 address: the kernel answers "
				"on it beside rosfw; remove it (ip addr flush dev %s)\n",
			di->lnx, di->lnx);
		conf_log("interface,warning", "%s (%s) has a kernel IPv4 address", di->ros, di->lnx);
	}
}

struct dataplane *dataplane_new(struct loop *l, struct engine *en, const char *const *maps,
				size_t n, struct err *e)
{
	if (!n || n > MAX_IFS) {
		err_set(e, "give 1 to %d interfaces (--iface ROUTEROS-NAME=LINUX-NAME)", MAX_IFS);
		return NULL;
	}
	struct dataplane *dp = xcalloc(1, sizeof(*dp));
	dp->loop = l;
	dp->en = en;
	dp->now_fn = mono_ns;
	dp->pace_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (dp->pace_fd < 0) {
		err_set(e, "timerfd for the queues: %s", strerror(errno));
		free(dp);
		return NULL;
	}
	loop_watch(l, dp->pace_fd, POLLIN, on_pace, dp);
	dp->ifs = xcalloc(n + MAX_VLANS, sizeof(*dp->ifs));
	dp->pool = xcalloc(DP_POOL, sizeof(*dp->pool));
	dp->pool_mem = xmalloc((size_t)DP_POOL * (VLAN_ROOM + DP_FRAME_MAX));
	dp->echo_big = xmalloc(DP_ECHO_MAX);
	for (size_t i = DP_POOL; i-- > 0;) {
		dp->pool[i].raw = dp->pool_mem + i * (VLAN_ROOM + DP_FRAME_MAX);
		buf_put(dp, &dp->pool[i]);
	}
	const char *g = getenv("ROSFW_GRO");
	dp->gro = !g || (strcmp(g, "0") && strcmp(g, "off") && strcmp(g, "no"));
	if (dp->gro) {
		dp->gro_pool = xcalloc(DP_GRO_POOL, sizeof(*dp->gro_pool));
		dp->gro_mem = xmalloc((size_t)DP_GRO_POOL * (VLAN_ROOM + GRO_FRAME_MAX));
		for (size_t i = DP_GRO_POOL; i-- > 0;) {
			struct dp_buf *b = &dp->gro_pool[i];
			b->raw = dp->gro_mem + i * (VLAN_ROOM + GRO_FRAME_MAX);
			b->big = true;
			buf_put(dp, b);
		}
	}
	struct arp_ops ao = { dp, arp_is_mine, arp_src_addr, arp_mac, arp_send, arp_resolved,
			      arp_dropped, arp_route_if, arp_pkt_size };
	dp->arp = arp_new(&ao);
	struct nd_ops no = { dp, nd_is_mine, nd_src_addr, arp_mac, arp_send, arp_resolved,
			     arp_dropped, arp_pkt_size };
	dp->nd = nd_new(&no);
	struct ra_ops ro = { dp, ra_src_addr, arp_mac, ra_send, ra_learn };
	dp->ra = ra_new(&ro, mono_ns(NULL));
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(maps[i], '=');
		size_t rl = eq ? (size_t)(eq - maps[i]) : strlen(maps[i]);
		const char *lnx = eq ? eq + 1 : maps[i];
		struct dp_if *di = &dp->ifs[i];
		if (!rl || rl >= sizeof(di->ros) || !*lnx || strlen(lnx) >= sizeof(di->lnx)) {
			err_set(e, "bad interface mapping '%s' (ROUTEROS-NAME=LINUX-NAME)", maps[i]);
			goto fail;
		}
		memcpy(di->ros, maps[i], rl);
		snprintf(di->lnx, sizeof(di->lnx), "%s", lnx);
		for (size_t k = 0; k < i; k++)
			if (!strcmp(dp->ifs[k].ros, di->ros) || !strcmp(dp->ifs[k].lnx, di->lnx)) {
				err_set(e, "interface mapped twice: %s", maps[i]);
				goto fail;
			}
		di->dp = dp;
		di->port = di;
		di->ifid = (uint16_t)name_intern(NS_IFACE, di->ros);
		di->h = io_open(di->lnx, e);
		if (!di->h) {
			char m[sizeof(e->msg)];
			snprintf(m, sizeof(m), "%s", e->msg);
			err_set(e, "%s: %s", di->ros, m);
			goto fail;
		}
		dp->nifs++;
		dp->nports++;
		take_over(di);
		di->up = io_link_state(di->h) == IO_LINK_UP;
	}
	for (size_t i = 0; i < dp->nports; i++)
		loop_watch(l, dp->ifs[i].h->fd, POLLIN, on_rx, &dp->ifs[i]);
	struct err te;
	err_clear(&te);
	dp->tap = tap_open(TAP_NAME, &te);
	if (dp->tap) {
		/* loose reverse path filtering host-wide would let the kernel
		 * see the mapped interfaces' traffic (see take_over) */
		char *rpf = NULL;
		FILE *f = fopen("/proc/sys/net/ipv4/conf/all/rp_filter", "r");
		char v[8] = "";
		if (f) {
			rpf = fgets(v, sizeof(v), f);
			fclose(f);
		}
		if (rpf && v[0] == '2')
			fprintf(stderr, "rosfw: warning: net.ipv4.conf.all.rp_filter is 2 (loose): the "
					"kernel may answer on rosfw's interfaces beside it; set it to 0 or 1\n");
		tap_sync(dp);
		loop_watch(l, dp->tap->fd, POLLIN, on_tap, dp);
	} else {
		fprintf(stderr, "rosfw: warning: no TAP for local services (%s): traffic for the "
				"router other than ping is dropped\n", te.msg);
		conf_log("interface,warning", "no TAP for local services: %s", te.msg);
	}
	dp->hk_timer = loop_timer(l, HOUSEKEEP_MS, HOUSEKEEP_MS, housekeep, dp);
	conf_set_provider("/interface", interfaces, dp);
	conf_set_provider("/ip/arp", arp_items, dp);
	conf_set_remove_hook("/ip/arp", arp_remove, dp);
	conf_set_provider("/ipv6/neighbor", nd_items, dp);
	conf_set_remove_hook("/ipv6/neighbor", nd_remove, dp);
	return dp;
fail:
	dataplane_free(dp);
	return NULL;
}

void dataplane_set_clock(struct dataplane *dp, uint64_t (*now)(void *ctx), void *ctx)
{
	dp->now_fn = now ? now : mono_ns;
	dp->now_ctx = ctx;
}

/* What queues q still hold for interface ifid is dropped (a vlan that
 * goes away). */
static void qos_empty_if(struct dataplane *dp, struct qos *q, uint16_t ifid)
{
	uint64_t later = dp_now(dp);
	for (int round = 0; q && round < 4; round++) {
		later += 3600 * 1000000000ull; /* far enough ahead that every shaper lets go */
		struct qpkt *x;
		do {
			struct qpkt *dropped = NULL;
			x = qos_dequeue(q, ifid, later, &dropped);
			free_dropped(dp, dropped);
			if (x) {
				x->next = NULL;
				free_dropped(dp, x);
			}
		} while (x);
	}
}

/* One vlan of the configuration, before it is placed. */
struct vlan_conf {
	char name[64], parent[64];
	uint16_t vid, tpid;
	uint32_t mtu;
	bool placed;
};

static int find_if(const struct dp_if *ifs, size_t n, const char *ros)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(ifs[i].ros, ros))
			return (int)i;
	return -1;
}

void dataplane_load(struct dataplane *dp, struct store *st)
{
	const struct menu *m = schema_find("/interface/vlan");
	size_t n = m ? store_count(st, m) : 0, nw = 0;
	struct vlan_conf *w = xcalloc(MAX_VLANS, sizeof(*w));
	for (size_t i = 0; i < n && nw < MAX_VLANS; i++) {
		const struct item *it = store_at(st, m, i);
		const char *name = item_get(m, it, "name"), *par = item_get(m, it, "interface");
		const char *vid = item_get(m, it, "vlan-id"), *dis = item_get(m, it, "disabled");
		const char *svc = item_get(m, it, "use-service-tag"), *mtu = item_get(m, it, "mtu");
		if (!name || !par || !vid || (dis && !strcmp(dis, "yes")) || strlen(name) >= 64 ||
		    strlen(par) >= 64)
			continue;
		struct vlan_conf *c = &w[nw++];
		snprintf(c->name, sizeof(c->name), "%s", name);
		snprintf(c->parent, sizeof(c->parent), "%s", par);
		c->vid = (uint16_t)(strtoul(vid, NULL, 10) & 0xfff);
		c->tpid = svc && !strcmp(svc, "yes") ? 0x88a8 : 0x8100;
		c->mtu = mtu ? (uint32_t)strtoul(mtu, NULL, 10) : 0;
	}
	/* the new vlans in a scratch table, with parent pointers where they
	 * will live: on a port first, then on those vlans */
	struct dp_if *nv = xcalloc(MAX_VLANS, sizeof(*nv));
	size_t k = 0;
	for (int depth = 1; depth <= VLAN_DEPTH; depth++) {
		size_t before = k;
		for (size_t i = 0; i < nw; i++) {
			struct vlan_conf *c = &w[i];
			int pi = find_if(dp->ifs, dp->nports, c->parent);
			struct dp_if *par = NULL;
			if (depth == 1 && pi >= 0)
				par = &dp->ifs[pi];
			if (depth == 2 && pi < 0 && (pi = find_if(nv, before, c->parent)) >= 0)
				par = &dp->ifs[dp->nports + (size_t)pi];
			if (c->placed || !par || !c->vid)
				continue;
			bool dup = false;
			for (size_t j = 0; j < k; j++)
				dup |= nv[j].parent == par && nv[j].vid == c->vid && nv[j].tpid == c->tpid;
			if (dup)
				continue; /* the first of two vlans with the same tag on one parent */
			struct dp_if *v = &nv[k++];
			c->placed = true;
			v->dp = dp;
			snprintf(v->ros, sizeof(v->ros), "%s", c->name);
			v->ifid = (uint16_t)name_intern(NS_IFACE, v->ros);
			v->parent = par;
			v->tpid = c->tpid;
			v->vid = c->vid;
			v->mtu = c->mtu;
		}
	}
	/* a scratch vlan's parent on a vlan points at its final place, which
	 * still holds the old vlans: read that parent in the scratch table */
	const char *pname[MAX_VLANS];
	for (size_t i = 0; i < k; i++) {
		const struct dp_if *par = nv[i].parent;
		if (par >= dp->ifs + dp->nports) {
			const struct dp_if *s = &nv[par - (dp->ifs + dp->nports)];
			nv[i].port = s->port;
			pname[i] = s->ros;
		} else {
			nv[i].port = nv[i].parent;
			pname[i] = par->ros;
		}
	}
	/* buffers waiting in batches name the old vlans: out first */
	for (size_t i = 0; i < dp->nports; i++)
		flush(dp, &dp->ifs[i]);
	for (size_t i = dp->nports; i < dp->nifs; i++) {
		struct dp_if *o = &dp->ifs[i];
		int j = find_if(nv, k, o->ros);
		bool same = j >= 0 && nv[j].vid == o->vid && nv[j].tpid == o->tpid &&
			    !strcmp(pname[j], o->parent->ros);
		if (j >= 0)
			nv[j].st = o->st; /* the counters of a vlan that stays */
		if (!same) { /* gone, or on another link: its neighbours are not ours */
			arp_flush_if(dp->arp, o->ifid);
			nd_flush_if(dp->nd, o->ifid);
		}
		if (j < 0) {
			qos_empty_if(dp, dp->qos, o->ifid);
			ra_forget(dp->ra, o->ifid);
		}
	}
	memcpy(dp->ifs + dp->nports, nv, k * sizeof(*nv));
	dp->nifs = dp->nports + k;
	vlans_follow(dp);
	ra_load(dp, st);
	/* static ARP entries and every interface's arp= */
	const char **names = xcalloc(dp->nifs ? dp->nifs : 1, sizeof(*names));
	uint16_t *ifids = xcalloc(dp->nifs ? dp->nifs : 1, sizeof(*ifids));
	for (size_t i = 0; i < dp->nifs; i++) {
		names[i] = dp->ifs[i].ros;
		ifids[i] = dp->ifs[i].ifid;
	}
	neigh_conf_load(dp->arp, st, names, ifids, dp->nifs);
	free(names);
	free(ifids);
	free(nv);
	free(w);
}

void dataplane_set_qos(struct dataplane *dp, struct qos *q)
{
	struct qos *old = dp->qos;
	if (old && old != q)
		free_dropped(dp, qos_drain(old, dp_now(dp)));
	dp->qos = q;
	if (q)
		kick(dp, dp_now(dp));
}

void dataplane_free(struct dataplane *dp)
{
	if (!dp)
		return;
	conf_set_provider("/interface", interfaces, NULL);
	conf_set_provider("/ip/arp", NULL, NULL);
	conf_set_remove_hook("/ip/arp", NULL, NULL);
	conf_set_provider("/ipv6/neighbor", NULL, NULL);
	conf_set_remove_hook("/ipv6/neighbor", NULL, NULL);
	if (dp->hk_timer)
		loop_cancel(dp->loop, dp->hk_timer);
	dataplane_set_qos(dp, NULL);
	loop_unwatch(dp->loop, dp->pace_fd);
	close(dp->pace_fd);
	if (dp->tap) {
		loop_unwatch(dp->loop, dp->tap->fd);
		tap_close(dp->tap);
	}
	arp_free(dp->arp);
	nd_free(dp->nd);
	ra_free(dp->ra);
	for (size_t i = 0; i < dp->nports; i++) {
		struct dp_if *di = &dp->ifs[i];
		for (size_t k = 0; k < di->ntx; k++)
			buf_put(dp, di->tx[k]);
		if (di->h) {
			loop_unwatch(dp->loop, di->h->fd);
			io_close(di->h);
		}
	}
	free(dp->ifs);
	free(dp->pool);
	free(dp->pool_mem);
	free(dp->echo_big);
	free(dp->gro_pool);
	free(dp->gro_mem);
	free(dp);
}

/* ---- counters ---- */

int dataplane_if_stats(const struct dataplane *dp, const char *ros,
		       struct conf_if_stats *out)
{
	for (size_t i = 0; i < dp->nifs; i++)
		if (!strcmp(dp->ifs[i].ros, ros)) {
			*out = dp->ifs[i].st;
			return 0;
		}
	return -1;
}

uint64_t dataplane_drops(const struct dataplane *dp, enum dataplane_drop d)
{
	return d < DPD_MAX ? dp->drops[d] : 0;
}

void dataplane_report(const struct dataplane *dp, struct sbuf *out)
{
	for (size_t i = 0; i < dp->nifs; i++) {
		const struct dp_if *di = &dp->ifs[i];
		const struct conf_if_stats *c = &di->st;
		const char *r = di->ros;
		sbuf_printf(out, "if.%s.running %s\n", r, di->up ? "yes" : "no");
		sbuf_printf(out, "if.%s.rx-byte %llu\nif.%s.rx-packet %llu\n", r,
			    (unsigned long long)c->rx_bytes, r, (unsigned long long)c->rx_packets);
		sbuf_printf(out, "if.%s.tx-byte %llu\nif.%s.tx-packet %llu\n", r,
			    (unsigned long long)c->tx_bytes, r, (unsigned long long)c->tx_packets);
		sbuf_printf(out, "if.%s.rx-drop %llu\nif.%s.tx-drop %llu\nif.%s.tx-queue-drop %llu\n",
			    r, (unsigned long long)c->rx_drops, r, (unsigned long long)c->tx_drops, r,
			    (unsigned long long)c->tx_queue_drops);
		sbuf_printf(out, "if.%s.rx-error %llu\nif.%s.tx-error %llu\n", r,
			    (unsigned long long)c->rx_errors, r, (unsigned long long)c->tx_errors);
	}
	for (int d = 0; d < DPD_MAX; d++)
		sbuf_printf(out, "dp.%s %llu\n", drop_names[d], (unsigned long long)dp->drops[d]);
	sbuf_printf(out, "local.to-kernel %llu\nlocal.from-kernel %llu\nlocal.output-drops %llu\n"
			 "local.output-rejects %llu\n",
		    (unsigned long long)dp->local_in, (unsigned long long)dp->local_out,
		    (unsigned long long)dp->local_out_drops, (unsigned long long)dp->local_rejects);
	if (dp->tap)
		sbuf_printf(out, "local.tap-write-errors %llu\n",
			    (unsigned long long)dp->tap->tx_drops);
	sbuf_printf(out, "dp.echo-replies %llu\ndp.echo-ignored %llu\ndp.pool-free %zu\n"
			 "dp.pool-size %u\n",
		    (unsigned long long)dp->echo_replies, (unsigned long long)dp->echo_ignored,
		    dp->nfree, DP_POOL);
	sbuf_printf(out, "dp.tx-from-ring %llu\ndp.ring-copied %llu\n",
		    (unsigned long long)dp->tx_from_ring, (unsigned long long)dp->ring_copies);
	sbuf_printf(out, "gro.enabled %s\ngro.packets %llu\ngro.segments %llu\n"
			 "gro.no-buffer %llu\ngro.gso-sent %llu\ngro.cut %llu\ngro.free %zu\n"
			 "gro.size %u\n",
		    dp->gro ? "yes" : "no", (unsigned long long)dp->gro_packets,
		    (unsigned long long)dp->gro_merged, (unsigned long long)dp->gro_no_buffer,
		    (unsigned long long)dp->gso_sent, (unsigned long long)dp->gso_cut,
		    dp->ngro_free, dp->gro ? DP_GRO_POOL : 0);
	sbuf_printf(out, "dp.fragmented %llu\ndp.fragments-out %llu\ndp.frag-needed-sent %llu\n",
		    (unsigned long long)dp->fragmented, (unsigned long long)dp->fragments_out,
		    (unsigned long long)dp->frag_needed_sent);
	sbuf_printf(out, "dp.echo6-replies %llu\ndp.too-big-sent %llu\ndp.too-big-limited %llu\n"
			 "dp.host-unreach-sent %llu\n",
		    (unsigned long long)dp->echo6_replies, (unsigned long long)dp->too_big_sent,
		    (unsigned long long)dp->too_big_limited,
		    (unsigned long long)dp->host_unreach_sent);
	const struct ra_stats *rs = ra_stats(dp->ra);
	sbuf_printf(out, "ra.solicits-in %llu\nra.solicits-bad %llu\nra.solicits-limited %llu\n"
			 "ra.adverts-out %llu\nra.adverts-solicited %llu\nra.output-drops %llu\n",
		    (unsigned long long)rs->rs_in, (unsigned long long)rs->rs_bad,
		    (unsigned long long)rs->rs_limited, (unsigned long long)rs->ra_out,
		    (unsigned long long)rs->ra_solicited, (unsigned long long)dp->ra_output_drops);
	const struct arp_stats *a = arp_stats(dp->arp);
	sbuf_printf(out, "arp.requests-in %llu\narp.replies-in %llu\narp.requests-out %llu\n"
			 "arp.replies-out %llu\narp.queued %llu\narp.unreachable %llu\n"
			 "arp.no-static %llu\narp.ignored %llu\narp.proxied %llu\n",
		    (unsigned long long)a->requests_in, (unsigned long long)a->replies_in,
		    (unsigned long long)a->requests_out, (unsigned long long)a->replies_out,
		    (unsigned long long)a->queued, (unsigned long long)a->unreachable,
		    (unsigned long long)a->no_static, (unsigned long long)a->ignored,
		    (unsigned long long)a->proxied);
	const struct nd_stats *ns = nd_stats(dp->nd);
	sbuf_printf(out, "nd.solicits-in %llu\nnd.adverts-in %llu\nnd.ra-in %llu\n"
			 "nd.solicits-out %llu\nnd.adverts-out %llu\nnd.bad %llu\nnd.queued %llu\n"
			 "nd.unreachable %llu\n",
		    (unsigned long long)ns->ns_in, (unsigned long long)ns->na_in,
		    (unsigned long long)ns->ra_in, (unsigned long long)ns->ns_out,
		    (unsigned long long)ns->na_out, (unsigned long long)ns->bad,
		    (unsigned long long)ns->queued, (unsigned long long)ns->unreachable);
	struct neigh_info ni[32];
	size_t nn = nd_list(dp->nd, ni, 32);
	for (size_t i = 0; i < nn; i++) {
		char a[48];
		inet_ntop(AF_INET6, ni[i].addr, a, sizeof(a));
		sbuf_printf(out, "nd.entry %s %02x:%02x:%02x:%02x:%02x:%02x %s %s\n", a, ni[i].mac[0],
			    ni[i].mac[1], ni[i].mac[2], ni[i].mac[3], ni[i].mac[4], ni[i].mac[5],
			    name_of(NS_IFACE, ni[i].ifid), neigh_state_name(ni[i].state));
	}
	struct arp_info ai[64];
	size_t na = arp_list(dp->arp, ai, 64);
	for (size_t i = 0; i < na; i++)
		sbuf_printf(out, "arp.entry %u.%u.%u.%u %02x:%02x:%02x:%02x:%02x:%02x %s %s\n",
			    ai[i].ip >> 24, (ai[i].ip >> 16) & 255, (ai[i].ip >> 8) & 255,
			    ai[i].ip & 255, ai[i].mac[0], ai[i].mac[1], ai[i].mac[2], ai[i].mac[3],
			    ai[i].mac[4], ai[i].mac[5], name_of(NS_IFACE, ai[i].ifid),
			    arp_state_name(ai[i].state));
}
