/*
 * qdisc: the leaf queue types of /queue type.
 *
 * Each kind is a struct that begins with struct qdisc (ops, backlog, drop
 * counters, the peek stash) followed by its own state. create allocates all
 * of it, sized by the configuration and bounded; packets are chained through
 * qp->next, so enqueue and dequeue never allocate.
 *
 * Dequeue is built on one internal pull per kind. peek_len pulls ahead and
 * keeps the packet (the stash) for the next dequeue: with CoDel dropping on
 * the way, shapers and DRR deficits, the head is not known without running
 * the algorithm, and the length HTB checks must be the length it then gets.
 * A stashed packet still counts in the backlog. next_time peeks too; when
 * the pull gave nothing with packets queued, the kinds that pace (pcq with
 * a rate, cake with a bandwidth) answer from their own clocks (the heap of
 * waiting sub-queues, the shaper's next slot), so HTB above sleeps exactly
 * until then instead of polling. Packets dropped while no
 * list was given (during peek_len) are held and handed out through the
 * *dropped of the next enqueue or dequeue. Dropped lists are built by
 * pushing onto the front of *dropped. An ECN mark only sets qp->ecn to 3:
 * the caller writes it into the frame's header when the packet leaves.
 * destroy frees the qdisc, not the packets still in it: drain first
 * (a dequeue with a `now` far ahead passes every shaper). A `now` earlier
 * than one seen before is tolerated: it only waits, never gains.
 *
 * The kinds, and where they part from their models:
 *  pfifo, mq-pfifo  tail drop at pfifo_limit packets (mq-pfifo: one queue,
 *                   no hardware queues here). bfifo: at bfifo_limit bytes.
 *  none             pfifo of 1000 packets: a hardware ring's worth.
 *  sfq              1024 buckets, (hash ^ salt) mixed; a ring of active
 *                   buckets served by deficit round robin, `allot` bytes a
 *                   turn; 127 packets in all; when full the head of the
 *                   longest bucket is dropped. Every `perturb` s the salt
 *                   changes and the queued packets are re-bucketed in ring
 *                   order, so a flow's packets never overtake each other.
 *  red              Floyd's RED on packets: EWMA of the backlog sampled at
 *                   each arrival, weight 2^-n chosen from burst and min as
 *                   tc does; drop probability rising linearly from 0 at min
 *                   to 1 at max (no count-based spreading, max_p = 1); all
 *                   dropped at or above max; tail drop at limit; max 0
 *                   disables the early drops. Not done: the idle-time decay
 *                   of the average (it needs a link rate RouterOS does not
 *                   give), so avg-packet is unused (thresholds are packets).
 *  pcq              sub-queues keyed by the classifier fields after masks,
 *                   in a hash table of at most min(total-limit + 1, 65536)
 *                   slots; per-sub-queue limit (tail drop), total limit
 *                   (head drop from the longest sub-queue, found in O(1)
 *                   through per-length lists); DRR by bytes (quantum 1514)
 *                   among sub-queues. pcq_rate > 0: each sub-queue has a
 *                   token bucket of 0.1 s at its rate (the default
 *                   bucket-size), waiting sub-queues sit in a heap keyed by
 *                   the time their head packet fits. Burst as RouterOS: the
 *                   bytes of the last burst-time, in 16 slices; while their
 *                   average is below burst-threshold the rate is
 *                   burst-rate. An emptied shaped sub-queue keeps its bucket
 *                   until its slot is needed (least recently used first).
 *                   IPv6 packets are keyed by their addresses under the
 *                   address6 masks (an IPv4 and an IPv6 key never meet).
 *  fq-codel         as Linux: fq_flows buckets, new and old flow lists with
 *                   quantum deficits (an emptied new flow goes to the old
 *                   list once), CoDel per flow (RFC 8289 control law; no
 *                   drop while the flow holds at most one MTU), ECN CE
 *                   marking of ECT packets when ecn, over limit drops from
 *                   the head of the fattest flow (by bytes) until half its
 *                   bytes are gone, at most 64 packets. Not done: memlimit.
 *  codel            one queue under the same CoDel law, tail drop at limit.
 *  cake             tins from DSCP: besteffort (1), diffserv3 (bulk CS1/LE,
 *                   best effort, voice CS4/CS5/VA/EF/CS6/CS7 with shares
 *                   1/16, 1, 1/4), diffserv4 (bulk, best effort, video
 *                   CS2/CS3/AF2x-AF4x 1/2, voice 1/4), 8 tins by IP
 *                   precedence (shares 7/8 each step; diffserv8 is mapped to
 *                   this). Tins rank best effort < bulk < video < voice
 *                   (precedence by value); the highest tin that has used
 *                   less than its share goes first, else the tin with the
 *                   earliest schedule, as CAKE does: voice has priority up
 *                   to 1/4, bulk is guaranteed 1/16. Shares are counted
 *                   against the shaper's clock when cake_bandwidth is set
 *                   (time pacing inside the qdisc: dequeue returns NULL
 *                   until the next packet's time) and against bytes sent
 *                   when it is not. Within a tin: 1024 flow queues keyed by
 *                   the flow mode (flowblind: one; srchost, dsthost: the
 *                   address; hosts: the address pair; the others: the
 *                   5-tuple hash), fq-codel's DRR with new and old lists,
 *                   CoDel per flow (ECN when ecn; target and interval from
 *                   cake-rtt: rtt/20 and rtt). dual-srchost, dual-dsthost
 *                   and triple-isolate share among hosts first, as CAKE
 *                   does: a flow's quantum is divided by the bulk flows of
 *                   its source host, its destination host, or the larger of
 *                   the two (1024 host buckets per tin, no tags: colliding
 *                   hosts share). Limit in packets (fq_limit), drops from
 *                   the fattest flow of any tin. Not done: COBALT's BLUE,
 *                   NAT lookup (hosts are the addresses the packet carries
 *                   when it reaches the queue), overhead and ATM
 *                   compensation, ACK filter, GSO
 *                   splitting, set-associative hashing, sparse-flow
 *                   decaying state, per-tin CoDel targets, byte memlimit,
 *                   autorate, wash, ingress mode.
 * Single-threaded (the dataplane thread).
 */
#include "qdisc.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../conf/schema.h"
#include "../conf/store.h"
#include "../conf/types.h"

#define Q_NIL UINT32_MAX
#define Q_MTU 1514u
#define Q_NS_PER_S 1000000000ull
#define Q_NONE_LIMIT 1000u
#define Q_MAX_QUANTUM (1 << 28)

enum q_drop_reason {
	QDR_LIMIT,     /* the arriving packet, over a limit */
	QDR_OVERLIMIT, /* a queued packet pushed out of the longest/fattest flow */
	QDR_RED_EARLY,
	QDR_RED_FORCED,
	QDR_CODEL,
	QDR_NOSLOT,    /* pcq: every sub-queue slot busy */
	QDR_MAX
};

struct qdisc {
	const struct qdisc_ops *ops;
	struct qpkt *(*pull)(struct qdisc *q, uint64_t now, struct qpkt **dropped);
	/* pacing kinds: when pull, having just given nothing, can give a packet */
	uint64_t (*ready)(const struct qdisc *q, uint64_t now);
	uint32_t qlen;      /* packets held, stash included */
	uint64_t qbytes;
	struct qpkt *stash;
	struct qpkt *held;
	uint64_t rng;
	uint64_t drops[QDR_MAX];
	uint64_t marks;
};

struct qlist {
	struct qpkt *head, *tail;
};

/* ---- shared helpers ---- */

static uint64_t q_rand64(struct qdisc *q)
{
	uint64_t z = (q->rng += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t q_rand32(struct qdisc *q)
{
	return (uint32_t)(q_rand64(q) >> 32);
}

/* The flow hashes come from the packet parser; mixing with a salt keeps a
 * sender from choosing collisions. */
static uint32_t q_mix32(uint32_t x)
{
	x ^= x >> 16;
	x *= 0x7feb352du;
	x ^= x >> 15;
	x *= 0x846ca68bu;
	x ^= x >> 16;
	return x;
}

static uint32_t q_scale(uint32_t h, uint32_t n)
{
	return (uint32_t)(((uint64_t)h * n) >> 32);
}

static void ql_push(struct qlist *l, struct qpkt *p)
{
	p->next = NULL;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
}

static struct qpkt *ql_pop(struct qlist *l)
{
	struct qpkt *p = l->head;
	if (p) {
		l->head = p->next;
		if (!l->head)
			l->tail = NULL;
		p->next = NULL;
	}
	return p;
}

static void ql_concat(struct qlist *dst, struct qlist *src)
{
	if (!src->head)
		return;
	if (dst->tail)
		dst->tail->next = src->head;
	else
		dst->head = src->head;
	dst->tail = src->tail;
	src->head = src->tail = NULL;
}

static void q_init(struct qdisc *q, enum qdisc_kind kind,
		   struct qpkt *(*pull)(struct qdisc *, uint64_t, struct qpkt **), uint64_t seed)
{
	q->ops = qdisc_ops_of(kind);
	q->pull = pull;
	q->rng = seed;
}

/* The list drops go to; hands over what an earlier peek_len held back. */
static struct qpkt **q_droplist(struct qdisc *q, struct qpkt **dropped)
{
	struct qpkt *t;

	if (!dropped)
		return &q->held;
	if (q->held) {
		for (t = q->held; t->next; t = t->next)
			;
		t->next = *dropped;
		*dropped = q->held;
		q->held = NULL;
	}
	return dropped;
}

static void q_admit(struct qdisc *q, struct qpkt *p, uint64_t now)
{
	p->next = NULL;
	p->enq_ts = now;
	q->qlen++;
	q->qbytes += p->len;
}

static void q_release(struct qdisc *q, const struct qpkt *p)
{
	q->qlen--;
	q->qbytes -= p->len;
}

/* A queued packet dropped: out of the backlog, onto the list. */
static void q_victim(struct qdisc *q, struct qpkt *p, enum q_drop_reason r, struct qpkt **dl)
{
	q_release(q, p);
	q->drops[r]++;
	p->next = *dl;
	*dl = p;
}

/* The arriving packet refused: the caller keeps and frees it. */
static bool q_reject(struct qdisc *q, enum q_drop_reason r)
{
	q->drops[r]++;
	return false;
}

static struct qpkt *q_dequeue(struct qdisc *q, uint64_t now, struct qpkt **dropped)
{
	struct qpkt **dl = q_droplist(q, dropped);
	struct qpkt *p = q->stash;

	if (p)
		q->stash = NULL;
	else if (q->qlen)
		p = q->pull(q, now, dl);
	if (p) {
		q_release(q, p);
		p->next = NULL;
	}
	return p;
}

static uint32_t q_peek_len(struct qdisc *q, uint64_t now)
{
	if (!q->stash && q->qlen)
		q->stash = q->pull(q, now, &q->held);
	return q->stash ? q->stash->len : 0;
}

/* Pulling ahead (peek) tells whether a packet can go now; a kind that
 * held every packet back knows when the first may go. */
static uint64_t q_next_time(struct qdisc *q, uint64_t now)
{
	if (q_peek_len(q, now))
		return now;
	if (!q->qlen)
		return UINT64_MAX;
	uint64_t t = q->ready ? q->ready(q, now) : now;
	return t > now ? t : now;
}

static uint32_t q_backlog_packets(const struct qdisc *q)
{
	return q->qlen;
}

static uint64_t q_backlog_bytes(const struct qdisc *q)
{
	return q->qbytes;
}

static void q_free(struct qdisc *q)
{
	free(q);
}

static uint32_t q_clamp32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* ---- pfifo, bfifo, mq-pfifo, none ---- */

struct q_fifo {
	struct qdisc q;
	struct qlist l;
	uint64_t limit;
	bool in_bytes;
};

static struct qpkt *fifo_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	return ql_pop(&((struct q_fifo *)q)->l);
}

static struct qdisc *fifo_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_fifo *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	q_init(&f->q, cfg->kind, fifo_pull, seed);
	f->in_bytes = cfg->kind == QK_BFIFO;
	f->limit = f->in_bytes ? cfg->bfifo_limit : cfg->pfifo_limit;
	if (!f->limit)
		f->limit = 1;
	return &f->q;
}

static bool fifo_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_fifo *f = (struct q_fifo *)q;

	q_droplist(q, dropped);
	if (f->in_bytes ? q->qbytes + p->len > f->limit : q->qlen >= f->limit)
		return q_reject(q, QDR_LIMIT);
	q_admit(q, p, now);
	ql_push(&f->l, p);
	return true;
}

/* ---- red ---- */

struct q_red {
	struct qdisc q;
	struct qlist l;
	double avg, wq;
	double min, max, inv_range;
	uint32_t limit;
	bool early;
};

static struct qpkt *red_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	return ql_pop(&((struct q_red *)q)->l);
}

/*
 * The EWMA weight: the largest 2^-n for which a burst of `burst` packets
 * arriving at an empty queue does not lift the average past min
 * (Floyd & Jacobson's criterion, as tc computes it).
 */
static double red_weight(uint32_t min, uint32_t burst)
{
	double a = (double)burst + 1.0 - (double)min;

	if (burst == 0 || a < 1.0)
		return 0.5;
	for (int n = 1; n < 32; n++) {
		double w = ldexp(1.0, -n);
		if (a <= (1.0 - pow(1.0 - w, (double)burst)) / w)
			return w;
	}
	return ldexp(1.0, -31);
}

static struct qdisc *red_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_red *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	q_init(&r->q, cfg->kind, red_pull, seed);
	r->limit = cfg->red_limit ? cfg->red_limit : 1;
	r->min = cfg->red_min;
	r->max = cfg->red_max < cfg->red_min ? cfg->red_min : cfg->red_max;
	r->early = r->max > 0;
	r->inv_range = r->max > r->min ? 1.0 / (r->max - r->min) : 0.0;
	r->wq = red_weight(cfg->red_min, cfg->red_burst);
	return &r->q;
}

static bool red_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_red *r = (struct q_red *)q;

	q_droplist(q, dropped);
	r->avg += r->wq * ((double)q->qlen - r->avg);
	if (q->qlen >= r->limit)
		return q_reject(q, QDR_LIMIT);
	if (r->early && r->avg >= r->min) {
		if (r->avg >= r->max)
			return q_reject(q, QDR_RED_FORCED);
		double pb = (r->avg - r->min) * r->inv_range;
		if ((double)q_rand32(q) < pb * 4294967296.0)
			return q_reject(q, QDR_RED_EARLY);
	}
	q_admit(q, p, now);
	ql_push(&r->l, p);
	return true;
}

/* ---- sfq ---- */

#define SFQ_BUCKETS 1024u
#define SFQ_LIMIT 127u

struct sfq_slot {
	struct qlist l;
	uint32_t qlen;
	int32_t allot;
	uint32_t next; /* ring of active slots */
};

struct q_sfq {
	struct qdisc q;
	uint32_t tail;       /* last slot of the ring; its next is served first */
	int32_t quantum;
	uint32_t salt;
	uint64_t perturb_ns;
	uint64_t next_perturb; /* 0: not started */
	struct sfq_slot slot[SFQ_BUCKETS];
};

static void sfq_insert(struct q_sfq *s, struct qpkt *p)
{
	uint32_t i = q_mix32(p->hash ^ s->salt) & (SFQ_BUCKETS - 1);
	struct sfq_slot *sl = &s->slot[i];

	ql_push(&sl->l, p);
	if (sl->qlen++)
		return;
	/* A new flow joins at the end of the round. */
	if (s->tail == Q_NIL) {
		sl->next = i;
	} else {
		sl->next = s->slot[s->tail].next;
		s->slot[s->tail].next = i;
	}
	s->tail = i;
	sl->allot = s->quantum;
}

static void sfq_unlink(struct q_sfq *s, uint32_t i)
{
	uint32_t prev = s->tail;

	while (s->slot[prev].next != i)
		prev = s->slot[prev].next;
	if (prev == i) {
		s->tail = Q_NIL;
		return;
	}
	s->slot[prev].next = s->slot[i].next;
	if (s->tail == i)
		s->tail = prev;
}

static struct qpkt *sfq_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	struct q_sfq *s = (struct q_sfq *)q;

	while (s->tail != Q_NIL) {
		uint32_t i = s->slot[s->tail].next;
		struct sfq_slot *sl = &s->slot[i];
		if (sl->allot <= 0) {
			s->tail = i;
			sl->allot += s->quantum;
			continue;
		}
		struct qpkt *p = ql_pop(&sl->l);
		sl->allot -= (int32_t)p->len;
		if (--sl->qlen == 0) {
			if (i == s->tail)
				s->tail = Q_NIL;
			else
				s->slot[s->tail].next = sl->next;
		}
		return p;
	}
	return NULL;
}

/* New salt; the queued packets are re-bucketed slot by slot in ring order,
 * which keeps each flow's packets in order (they all sat in one slot). */
static void sfq_rehash(struct q_sfq *s)
{
	struct qlist all = { 0 };
	struct qpkt *p;

	if (s->tail != Q_NIL) {
		uint32_t first = s->slot[s->tail].next, i = first;
		do {
			struct sfq_slot *sl = &s->slot[i];
			uint32_t next = sl->next;
			ql_concat(&all, &sl->l);
			sl->qlen = 0;
			i = next;
		} while (i != first);
	}
	s->tail = Q_NIL;
	s->salt = q_rand32(&s->q);
	while ((p = ql_pop(&all)))
		sfq_insert(s, p);
}

static void sfq_perturb(struct q_sfq *s, uint64_t now)
{
	if (!s->perturb_ns)
		return;
	if (!s->next_perturb) {
		s->next_perturb = now + s->perturb_ns;
		return;
	}
	if (now < s->next_perturb)
		return;
	s->next_perturb = now + s->perturb_ns;
	sfq_rehash(s);
}

static struct qdisc *sfq_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_sfq *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	q_init(&s->q, cfg->kind, sfq_pull, seed);
	s->tail = Q_NIL;
	s->quantum = (int32_t)q_clamp32(cfg->sfq_allot, 1, Q_MAX_QUANTUM);
	s->perturb_ns = (uint64_t)cfg->sfq_perturb * Q_NS_PER_S;
	s->salt = q_rand32(&s->q);
	return &s->q;
}

static bool sfq_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_sfq *s = (struct q_sfq *)q;
	struct qpkt **dl = q_droplist(q, dropped);

	sfq_perturb(s, now);
	if (q->qlen >= SFQ_LIMIT) {
		uint32_t v = Q_NIL, vlen = 0;
		if (s->tail != Q_NIL) {
			uint32_t i = s->tail;
			do {
				if (s->slot[i].qlen > vlen) {
					vlen = s->slot[i].qlen;
					v = i;
				}
				i = s->slot[i].next;
			} while (i != s->tail);
		}
		if (v == Q_NIL)
			return q_reject(q, QDR_LIMIT);
		struct sfq_slot *sl = &s->slot[v];
		struct qpkt *victim = ql_pop(&sl->l);
		if (--sl->qlen == 0)
			sfq_unlink(s, v);
		q_victim(q, victim, QDR_OVERLIMIT, dl);
	}
	q_admit(q, p, now);
	sfq_insert(s, p);
	return true;
}

/* ---- CoDel and the flow sets of fq-codel, codel and cake ---- */

struct codel_params {
	uint64_t target, interval;
	bool ecn;
};

struct codel_vars {
	uint64_t first_above;  /* when the sojourn may be called persistent */
	uint64_t drop_next;
	uint32_t count, lastcount;
	bool above, dropping;
};

enum { FL_NEW, FL_OLD, FL_NONE };

struct fq_flow {
	struct qlist l;
	uint32_t qlen, bytes;
	int32_t deficit;
	uint32_t next;   /* in the new or old list */
	uint8_t list;
	uint8_t bulk;        /* counted in its hosts' loads */
	uint16_t srch, dsth; /* its hosts' buckets, when the set counts hosts */
	struct codel_vars cv;
};

#define FS_HOSTS 1024u

/* Flows, and for cake's dual and triple modes the hosts they belong to:
 * load[0][h] (sources) and load[1][h] (destinations) count the bulk flows
 * (those on the old list with packets) of host bucket h, and a flow's
 * quantum is divided by the larger load of its hosts (hosts bit 1: by
 * source, bit 2: by destination), so each host gets one share per round,
 * split among its flows. Two hosts in one bucket count as one. */
struct flowset {
	struct fq_flow *flows;
	uint32_t nflows;
	uint32_t head[2], tail[2];
	uint32_t qlen;
	int32_t quantum;
	uint16_t *load[2];
	uint8_t hosts;
};

static int fs_init(struct flowset *fs, uint32_t nflows, uint32_t quantum)
{
	fs->flows = calloc(nflows, sizeof(*fs->flows));
	if (!fs->flows)
		return -1;
	fs->nflows = nflows;
	fs->quantum = (int32_t)q_clamp32(quantum, 1, Q_MAX_QUANTUM);
	for (int i = 0; i < 2; i++)
		fs->head[i] = fs->tail[i] = Q_NIL;
	for (uint32_t i = 0; i < nflows; i++)
		fs->flows[i].list = FL_NONE;
	return 0;
}

static int fs_init_hosts(struct flowset *fs, uint8_t hosts)
{
	fs->hosts = hosts;
	for (int d = 0; d < 2; d++)
		if (hosts & (1 << d) && !(fs->load[d] = calloc(FS_HOSTS, sizeof(uint16_t))))
			return -1;
	return 0;
}

static void fs_free(struct flowset *fs)
{
	free(fs->flows);
	free(fs->load[0]);
	free(fs->load[1]);
}

static void fs_count(struct flowset *fs, const struct fq_flow *f, int delta)
{
	if (fs->hosts & 1)
		fs->load[0][f->srch] = (uint16_t)(fs->load[0][f->srch] + delta);
	if (fs->hosts & 2)
		fs->load[1][f->dsth] = (uint16_t)(fs->load[1][f->dsth] + delta);
}

/* Gives an empty flow the hosts of the packet about to join it (a hash
 * collision may have brought another host's packets). */
static void fs_tag(struct flowset *fs, uint32_t idx, uint16_t srch, uint16_t dsth)
{
	struct fq_flow *f = &fs->flows[idx];

	if (!fs->hosts || f->qlen || (f->srch == srch && f->dsth == dsth))
		return;
	if (f->bulk)
		fs_count(fs, f, -1);
	f->srch = srch;
	f->dsth = dsth;
	if (f->bulk)
		fs_count(fs, f, 1);
}

/* A flow's quantum: the set's, divided among the bulk flows of its
 * busiest host. */
static int32_t fs_quantum(const struct flowset *fs, const struct fq_flow *f)
{
	uint32_t load = 1;
	int32_t q;

	if (fs->hosts & 1 && fs->load[0][f->srch] > load)
		load = fs->load[0][f->srch];
	if (fs->hosts & 2 && fs->load[1][f->dsth] > load)
		load = fs->load[1][f->dsth];
	q = fs->quantum / (int32_t)load;
	return q > 0 ? q : 1;
}

static void fs_list_push(struct flowset *fs, int which, uint32_t idx)
{
	struct fq_flow *f = &fs->flows[idx];

	if (which == FL_OLD && fs->hosts && !f->bulk && f->qlen) {
		f->bulk = 1;
		fs_count(fs, f, 1);
	}
	f->next = Q_NIL;
	f->list = (uint8_t)which;
	if (fs->tail[which] == Q_NIL)
		fs->head[which] = idx;
	else
		fs->flows[fs->tail[which]].next = idx;
	fs->tail[which] = idx;
}

static void fs_list_pop(struct flowset *fs, int which)
{
	struct fq_flow *f = &fs->flows[fs->head[which]];

	if (f->bulk) {
		f->bulk = 0;
		fs_count(fs, f, -1);
	}
	fs->head[which] = f->next;
	if (fs->head[which] == Q_NIL)
		fs->tail[which] = Q_NIL;
	f->list = FL_NONE;
}

static void fs_add(struct flowset *fs, uint32_t idx, struct qpkt *p)
{
	struct fq_flow *f = &fs->flows[idx];

	ql_push(&f->l, p);
	f->qlen++;
	f->bytes += p->len;
	fs->qlen++;
	if (f->list == FL_NONE) {
		f->deficit = fs_quantum(fs, f);
		fs_list_push(fs, FL_NEW, idx);
	}
}

static struct qpkt *fs_take(struct flowset *fs, struct fq_flow *f)
{
	struct qpkt *p = ql_pop(&f->l);

	if (p) {
		f->qlen--;
		f->bytes -= p->len;
		fs->qlen--;
	}
	return p;
}

static uint64_t codel_control_law(uint64_t t, const struct codel_params *cp, uint32_t count)
{
	return t + (uint64_t)((double)cp->interval / sqrt((double)count));
}

/* backlog: bytes left in the queue behind p; a queue of at most one MTU
 * is never punished (it cannot be a standing queue). */
static bool codel_should_drop(struct codel_vars *cv, const struct codel_params *cp,
			      const struct qpkt *p, uint32_t backlog, uint64_t now)
{
	if (!p || now < p->enq_ts + cp->target || backlog <= Q_MTU) {
		cv->above = false;
		return false;
	}
	if (!cv->above) {
		cv->above = true;
		cv->first_above = now + cp->interval;
		return false;
	}
	return now >= cv->first_above;
}

static bool codel_mark(struct qdisc *q, const struct codel_params *cp, struct qpkt *p)
{
	if (!cp->ecn || p->ecn == 0)
		return false;
	p->ecn = 3;
	q->marks++;
	return true;
}

/* Takes the head of flow f under the CoDel law (RFC 8289). */
static struct qpkt *codel_pull(struct qdisc *q, struct flowset *fs, struct fq_flow *f,
			       const struct codel_params *cp, uint64_t now, struct qpkt **dl)
{
	struct codel_vars *cv = &f->cv;
	struct qpkt *p = fs_take(fs, f);
	bool drop;

	if (!p) {
		cv->dropping = false;
		cv->above = false;
		return NULL;
	}
	drop = codel_should_drop(cv, cp, p, f->bytes, now);
	if (cv->dropping) {
		if (!drop) {
			cv->dropping = false;
		} else {
			while (cv->dropping && now >= cv->drop_next) {
				cv->count++;
				if (codel_mark(q, cp, p)) {
					cv->drop_next = codel_control_law(cv->drop_next, cp, cv->count);
					break;
				}
				q_victim(q, p, QDR_CODEL, dl);
				p = fs_take(fs, f);
				if (!codel_should_drop(cv, cp, p, f->bytes, now))
					cv->dropping = false;
				else
					cv->drop_next = codel_control_law(cv->drop_next, cp, cv->count);
			}
		}
	} else if (drop) {
		uint32_t delta;
		if (!codel_mark(q, cp, p)) {
			q_victim(q, p, QDR_CODEL, dl);
			p = fs_take(fs, f);
			codel_should_drop(cv, cp, p, f->bytes, now);
		}
		cv->dropping = true;
		/* Coming back soon after a dropping state: resume near the old
		 * drop rate rather than from one. */
		delta = cv->count - cv->lastcount;
		if (delta > 1 &&
		    (int64_t)(now - cv->drop_next) < (int64_t)(16 * cp->interval))
			cv->count = delta;
		else
			cv->count = 1;
		cv->lastcount = cv->count;
		cv->drop_next = codel_control_law(now, cp, cv->count);
	}
	return p;
}

/* DRR over new flows first, then old ones; CoDel on the chosen flow. */
static struct qpkt *fs_pull(struct qdisc *q, struct flowset *fs, const struct codel_params *cp,
			    uint64_t now, struct qpkt **dl)
{
	for (;;) {
		int which = fs->head[FL_NEW] != Q_NIL ? FL_NEW : FL_OLD;
		uint32_t idx = fs->head[which];
		if (idx == Q_NIL)
			return NULL;
		struct fq_flow *f = &fs->flows[idx];
		if (f->deficit <= 0) {
			fs_list_pop(fs, which);
			fs_list_push(fs, FL_OLD, idx);
			f->deficit += fs_quantum(fs, f);
			continue;
		}
		struct qpkt *p = codel_pull(q, fs, f, cp, now, dl);
		if (!p) {
			/* An emptied new flow makes one pass through the old
			 * list, so a flow cannot stay "new" by going idle. */
			fs_list_pop(fs, which);
			if (which == FL_NEW && fs->head[FL_OLD] != Q_NIL)
				fs_list_push(fs, FL_OLD, idx);
			continue;
		}
		f->deficit -= (int32_t)p->len;
		return p;
	}
}

static uint32_t fs_fattest(const struct flowset *fs, uint32_t *bytes)
{
	uint32_t best = Q_NIL, most = 0;

	for (uint32_t i = 0; i < fs->nflows; i++) {
		if (fs->flows[i].bytes > most) {
			most = fs->flows[i].bytes;
			best = i;
		}
	}
	*bytes = most;
	return best;
}

/* Drops from the head of a flow until half its bytes are gone (at most 64
 * packets), so one overflow pays for many arrivals. True when newp, the
 * packet just added, was among them (it is then not on the list). */
static bool fs_drop_batch(struct qdisc *q, struct flowset *fs, uint32_t idx,
			  const struct qpkt *newp, struct qpkt **dl)
{
	struct fq_flow *f = &fs->flows[idx];
	uint32_t half = f->bytes / 2, gone = 0, n = 0;
	bool hit = false;
	struct qpkt *p;

	do {
		p = fs_take(fs, f);
		if (!p)
			break;
		gone += p->len;
		n++;
		if (p == newp) {
			q_release(q, p);
			q->drops[QDR_OVERLIMIT]++;
			hit = true;
		} else {
			q_victim(q, p, QDR_OVERLIMIT, dl);
		}
	} while (gone < half && n < 64);
	return hit;
}

/* ---- fq-codel, codel ---- */

struct q_fq {
	struct qdisc q;
	struct flowset fs;
	struct codel_params cp;
	uint32_t limit;
	uint32_t salt;
	bool tail_drop;
};

static struct qpkt *fq_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	struct q_fq *f = (struct q_fq *)q;
	return fs_pull(q, &f->fs, &f->cp, now, dl);
}

static struct qdisc *fq_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_fq *f = calloc(1, sizeof(*f));
	bool codel = cfg->kind == QK_CODEL;

	if (!f)
		return NULL;
	q_init(&f->q, cfg->kind, fq_pull, seed);
	if (fs_init(&f->fs, codel ? 1 : q_clamp32(cfg->fq_flows, 1, 65536), cfg->fq_quantum) < 0) {
		free(f);
		return NULL;
	}
	f->cp.target = cfg->fq_target_ns;
	f->cp.interval = cfg->fq_interval_ns;
	f->cp.ecn = cfg->fq_ecn;
	f->limit = cfg->fq_limit ? cfg->fq_limit : 1;
	f->tail_drop = codel;
	f->salt = q_rand32(&f->q);
	return &f->q;
}

static void fq_destroy(struct qdisc *q)
{
	struct q_fq *f = (struct q_fq *)q;

	if (f) {
		fs_free(&f->fs);
		free(f);
	}
}

static bool fq_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_fq *f = (struct q_fq *)q;
	struct qpkt **dl = q_droplist(q, dropped);
	uint32_t idx = 0, bytes;

	if (f->tail_drop && q->qlen >= f->limit)
		return q_reject(q, QDR_LIMIT);
	if (f->fs.nflows > 1)
		idx = q_scale(q_mix32(p->hash ^ f->salt), f->fs.nflows);
	q_admit(q, p, now);
	fs_add(&f->fs, idx, p);
	if (q->qlen > f->limit) {
		uint32_t v = fs_fattest(&f->fs, &bytes);
		if (v != Q_NIL && fs_drop_batch(q, &f->fs, v, p, dl))
			return false;
	}
	return true;
}

/* ---- cake ---- */

#define CAKE_NFLOWS 1024u
#define CAKE_MAX_TINS 8
#define CAKE_MIN_RATE 1000u

enum { DSCP_LE = 1, DSCP_CS1 = 8, DSCP_CS2 = 16, DSCP_AF21 = 18, DSCP_AF22 = 20,
       DSCP_AF23 = 22, DSCP_CS3 = 24, DSCP_AF31 = 26, DSCP_AF32 = 28, DSCP_AF33 = 30,
       DSCP_CS4 = 32, DSCP_AF41 = 34, DSCP_AF42 = 36, DSCP_AF43 = 38, DSCP_CS5 = 40,
       DSCP_VA = 44, DSCP_EF = 46, DSCP_CS6 = 48, DSCP_CS7 = 56 };

struct cake_tin {
	struct flowset fs;
	uint64_t next;     /* schedule: the tin is within its share while next <= clock */
	uint64_t cost_q16; /* clock units per byte, /65536 */
};

struct q_cake {
	struct qdisc q;
	struct codel_params cp;
	uint32_t limit;
	uint32_t salt;
	uint32_t ntins;
	uint8_t flowmode;     /* enum cake_flowmode */
	bool shaped;
	uint64_t unit_q16;    /* clock units per byte at full share: ns when shaped, 1 byte otherwise */
	uint64_t slack;       /* shaped: lateness forgiven (2 MTU), so polling late does not lose rate */
	uint64_t vclock;      /* unshaped: bytes sent */
	uint64_t shaper_next; /* shaped: when the next packet may go */
	uint8_t tin_of[64];
	struct cake_tin tin[CAKE_MAX_TINS];
};

/* Tin index = priority order: a higher tin within its share goes first. */
static uint32_t cake_setup_tins(struct q_cake *c, uint8_t mode, double share[CAKE_MAX_TINS])
{
	static const uint8_t voice[] = { DSCP_CS4, DSCP_CS5, DSCP_VA, DSCP_EF, DSCP_CS6, DSCP_CS7 };
	static const uint8_t video[] = { DSCP_CS2, DSCP_AF21, DSCP_AF22, DSCP_AF23, DSCP_CS3,
					 DSCP_AF31, DSCP_AF32, DSCP_AF33, DSCP_AF41, DSCP_AF42,
					 DSCP_AF43 };
	size_t i;

	memset(c->tin_of, 0, sizeof(c->tin_of));
	share[0] = 1.0;
	switch (mode) {
	case 3:
		c->tin_of[DSCP_LE] = c->tin_of[DSCP_CS1] = 1;
		for (i = 0; i < sizeof(voice); i++)
			c->tin_of[voice[i]] = 2;
		share[1] = 1.0 / 16;
		share[2] = 1.0 / 4;
		return 3;
	case 4:
		c->tin_of[DSCP_LE] = c->tin_of[DSCP_CS1] = 1;
		for (i = 0; i < sizeof(video); i++)
			c->tin_of[video[i]] = 2;
		for (i = 0; i < sizeof(voice); i++)
			c->tin_of[voice[i]] = 3;
		share[1] = 1.0 / 16;
		share[2] = 1.0 / 2;
		share[3] = 1.0 / 4;
		return 4;
	case 8:
		for (i = 0; i < 64; i++)
			c->tin_of[i] = (uint8_t)(i >> 3);
		for (i = 1; i < CAKE_MAX_TINS; i++)
			share[i] = share[i - 1] * 7.0 / 8.0;
		return 8;
	default:
		return 1;
	}
}

static struct qpkt *cake_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	struct q_cake *c = (struct q_cake *)q;

	uint64_t clock = c->vclock;

	if (c->shaped) {
		if (now < c->shaper_next)
			return NULL;
		/* The packet's slot on the shaper's timeline: a late poll
		 * neither loses rate nor shifts the tins' schedules. */
		clock = c->shaper_next + c->slack >= now ? c->shaper_next : now;
	}
	for (;;) {
		uint32_t best = Q_NIL, eligible = Q_NIL;
		for (uint32_t t = 0; t < c->ntins; t++) {
			const struct cake_tin *tin = &c->tin[t];
			if (!tin->fs.qlen)
				continue;
			if (tin->next <= clock)
				eligible = t;
			else if (best == Q_NIL || tin->next <= c->tin[best].next)
				best = t;
		}
		if (eligible != Q_NIL)
			best = eligible;
		if (best == Q_NIL)
			return NULL;
		struct cake_tin *tin = &c->tin[best];
		struct qpkt *p = fs_pull(q, &tin->fs, &c->cp, now, dl);
		if (!p)
			continue; /* CoDel emptied the tin: choose again */
		tin->next = (tin->next > clock ? tin->next : clock) +
			    ((p->len * tin->cost_q16) >> 16);
		if (c->shaped)
			c->shaper_next = clock + ((p->len * c->unit_q16) >> 16);
		else
			c->vclock += p->len;
		return p;
	}
}

/* After a pull that gave nothing with packets queued: the shaper's time. */
static uint64_t cake_ready(const struct qdisc *q, uint64_t now)
{
	const struct q_cake *c = (const struct q_cake *)q;

	return c->shaped ? c->shaper_next : now;
}

static void cake_destroy(struct qdisc *q)
{
	struct q_cake *c = (struct q_cake *)q;

	if (!c)
		return;
	for (uint32_t t = 0; t < CAKE_MAX_TINS; t++)
		fs_free(&c->tin[t].fs);
	free(c);
}

static struct qdisc *cake_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_cake *c = calloc(1, sizeof(*c));
	double share[CAKE_MAX_TINS] = { 0 };

	if (!c)
		return NULL;
	q_init(&c->q, cfg->kind, cake_pull, seed);
	c->q.ready = cake_ready;
	c->ntins = cake_setup_tins(c, cfg->cake_tins, share);
	c->flowmode = cfg->cake_flowmode <= CAKE_FM_TRIPLE_ISOLATE ? cfg->cake_flowmode
								: CAKE_FM_TRIPLE_ISOLATE;
	c->shaped = cfg->cake_bandwidth > 0;
	if (c->shaped) {
		uint64_t bw = cfg->cake_bandwidth < CAKE_MIN_RATE ? CAKE_MIN_RATE : cfg->cake_bandwidth;
		c->unit_q16 = (uint64_t)((8.0 * Q_NS_PER_S * 65536.0) / (double)bw);
		c->slack = (2 * Q_MTU * c->unit_q16) >> 16;
	} else {
		c->unit_q16 = 65536;
	}
	for (uint32_t t = 0; t < c->ntins; t++) {
		uint8_t hosts = c->flowmode == CAKE_FM_DUAL_SRCHOST   ? 1
				: c->flowmode == CAKE_FM_DUAL_DSTHOST   ? 2
				: c->flowmode == CAKE_FM_TRIPLE_ISOLATE ? 3
								     : 0;
		if (fs_init(&c->tin[t].fs, c->flowmode == CAKE_FM_FLOWBLIND ? 1 : CAKE_NFLOWS,
			    cfg->fq_quantum) < 0 ||
		    fs_init_hosts(&c->tin[t].fs, hosts) < 0) {
			cake_destroy(&c->q);
			return NULL;
		}
		c->tin[t].cost_q16 = (uint64_t)((double)c->unit_q16 / share[t]);
	}
	c->cp.target = cfg->fq_target_ns;
	c->cp.interval = cfg->fq_interval_ns;
	c->cp.ecn = cfg->fq_ecn;
	c->limit = cfg->fq_limit ? cfg->fq_limit : 1;
	c->salt = q_rand32(&c->q);
	return &c->q;
}

/* A hash of the packet's source (or destination) address. */
static uint32_t cake_host(const struct q_cake *c, const struct qpkt *p, bool dst)
{
	uint32_t h = q_mix32(c->salt ^ (dst ? 0x5bd1e995u : 0));

	if (p->family == 6) {
		const uint8_t *a = dst ? p->dst6 : p->src6;
		for (int i = 0; i < 16; i += 4)
			h = q_mix32(h ^ ((uint32_t)a[i] << 24 | (uint32_t)a[i + 1] << 16 |
					 (uint32_t)a[i + 2] << 8 | a[i + 3]));
		return h;
	}
	return q_mix32(h ^ (dst ? p->dst : p->src));
}

static bool cake_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_cake *c = (struct q_cake *)q;
	struct qpkt **dl = q_droplist(q, dropped);
	struct cake_tin *tin = &c->tin[c->tin_of[p->dscp & 63]];
	uint32_t idx = 0, key;

	switch (c->flowmode) {
	case CAKE_FM_FLOWBLIND:
		key = 0;
		break;
	case CAKE_FM_SRCHOST:
		key = cake_host(c, p, false);
		break;
	case CAKE_FM_DSTHOST:
		key = cake_host(c, p, true);
		break;
	case CAKE_FM_HOSTS:
		key = q_mix32(cake_host(c, p, false) ^ cake_host(c, p, true) * 3);
		break;
	default:
		key = q_mix32(p->hash ^ c->salt);
		break;
	}
	if (tin->fs.nflows > 1)
		idx = q_scale(key, tin->fs.nflows);
	if (tin->fs.hosts)
		fs_tag(&tin->fs, idx,
		       (uint16_t)q_scale(tin->fs.hosts & 1 ? cake_host(c, p, false) : 0, FS_HOSTS),
		       (uint16_t)q_scale(tin->fs.hosts & 2 ? cake_host(c, p, true) : 0, FS_HOSTS));
	q_admit(q, p, now);
	fs_add(&tin->fs, idx, p);
	if (q->qlen > c->limit) {
		uint32_t v = Q_NIL, vt = 0, most = 0, bytes;
		for (uint32_t t = 0; t < c->ntins; t++) {
			uint32_t i = fs_fattest(&c->tin[t].fs, &bytes);
			if (i != Q_NIL && bytes > most) {
				most = bytes;
				v = i;
				vt = t;
			}
		}
		if (v != Q_NIL && fs_drop_batch(q, &c->tin[vt].fs, v, p, dl))
			return false;
	}
	return true;
}

/* ---- pcq ---- */

#define PCQ_MAX_SUBQ 65536u
#define PCQ_MAX_DEPTH 65536u
#define PCQ_QUANTUM 1514
#define PCQ_SLICES 16u

enum { SQ_FREE, SQ_IDLE, SQ_READY, SQ_WAIT };

/* IPv4 addresses in a[0]; IPv6 in a[0..3], most significant word first. */
struct pcq_key {
	uint32_t src[4], dst[4];
	uint16_t sport, dport;
	uint32_t family;
};

struct pcq_sub {
	struct qlist l;
	uint32_t qlen;
	int32_t deficit;
	struct pcq_key key;
	uint32_t bucket;       /* hash bucket while keyed */
	uint32_t hnext;        /* hash chain */
	uint32_t prev, next;   /* READY: the ring; FREE/IDLE: the LRU list */
	uint32_t dprev, dnext; /* list of sub-queues of the same length */
	uint32_t hpos;         /* WAIT: position in the heap */
	uint8_t state;
	uint64_t ready_at;     /* WAIT: when the head packet fits the bucket */
	uint64_t tokens;       /* bytes << 32 */
	uint64_t t_fill;
	uint64_t win_start;    /* burst: start of the current slice */
	uint32_t win_idx;
};

struct pcq_ilist {
	uint32_t head, tail;
};

/* Bucket of one rate: tokens are bytes << 32, rate is bytes per ns << 32. */
struct pcq_rate {
	uint64_t rate;
	uint64_t depth;
	uint64_t fill_ns; /* an empty bucket is full again after this */
};

struct q_pcq {
	struct qdisc q;
	struct pcq_sub *sub;
	uint32_t nsub;
	uint32_t *hash;
	uint32_t hmask;
	uint32_t *dep;       /* dep[n]: sub-queues holding n packets */
	uint32_t maxdep;
	uint32_t *heap;      /* WAIT sub-queues by ready_at */
	uint32_t nheap;
	uint32_t *win;       /* burst: bytes per slice, PCQ_SLICES per sub-queue */
	struct pcq_ilist ring, lru;
	uint32_t src_mask, dst_mask;
	uint8_t src_len6, dst_len6;
	uint8_t cls;
	uint32_t limit, total;
	uint32_t salt;
	bool shaped, burst;
	struct pcq_rate base, high;
	uint64_t slice_ns;
	uint64_t burst_bytes; /* threshold x burst-time, in bytes */
};

static uint32_t pcq_mask(uint8_t len)
{
	return len == 0 ? 0 : len >= 32 ? UINT32_MAX : UINT32_MAX << (32 - len);
}

/* The first len bits of IPv6 address a, as four host-order words. */
static void pcq_mask6(const uint8_t a[16], uint8_t len, uint32_t out[4])
{
	for (uint32_t w = 0; w < 4; w++) {
		uint32_t v = (uint32_t)a[4 * w] << 24 | (uint32_t)a[4 * w + 1] << 16 |
			     (uint32_t)a[4 * w + 2] << 8 | a[4 * w + 3];
		uint32_t bits = len > 32 * w ? len - 32 * w : 0;
		out[w] = v & pcq_mask((uint8_t)(bits > 32 ? 32 : bits));
	}
}

/* Index lists over prev/next. */
static void pcq_il_push(struct q_pcq *c, struct pcq_ilist *l, uint32_t i, bool front)
{
	struct pcq_sub *s = &c->sub[i];

	if (front) {
		s->prev = Q_NIL;
		s->next = l->head;
		if (l->head != Q_NIL)
			c->sub[l->head].prev = i;
		else
			l->tail = i;
		l->head = i;
	} else {
		s->next = Q_NIL;
		s->prev = l->tail;
		if (l->tail != Q_NIL)
			c->sub[l->tail].next = i;
		else
			l->head = i;
		l->tail = i;
	}
}

static void pcq_il_del(struct q_pcq *c, struct pcq_ilist *l, uint32_t i)
{
	struct pcq_sub *s = &c->sub[i];

	if (s->prev != Q_NIL)
		c->sub[s->prev].next = s->next;
	else
		l->head = s->next;
	if (s->next != Q_NIL)
		c->sub[s->next].prev = s->prev;
	else
		l->tail = s->prev;
	s->prev = s->next = Q_NIL;
}

/* Length lists: dep[n] heads the sub-queues holding n packets. */
static void pcq_dep_add(struct q_pcq *c, uint32_t i)
{
	struct pcq_sub *s = &c->sub[i];
	uint32_t d = s->qlen;

	s->dprev = Q_NIL;
	s->dnext = c->dep[d];
	if (c->dep[d] != Q_NIL)
		c->sub[c->dep[d]].dprev = i;
	c->dep[d] = i;
	if (d > c->maxdep)
		c->maxdep = d;
}

static void pcq_dep_del(struct q_pcq *c, uint32_t i)
{
	struct pcq_sub *s = &c->sub[i];

	if (s->dprev != Q_NIL)
		c->sub[s->dprev].dnext = s->dnext;
	else
		c->dep[s->qlen] = s->dnext;
	if (s->dnext != Q_NIL)
		c->sub[s->dnext].dprev = s->dprev;
}

/* maxdep only rises one packet at a time, so lowering it lazily here costs
 * no more in all than the adds did. */
static uint32_t pcq_longest(struct q_pcq *c)
{
	while (c->maxdep > 0 && c->dep[c->maxdep] == Q_NIL)
		c->maxdep--;
	return c->maxdep ? c->dep[c->maxdep] : Q_NIL;
}

/* Heap of waiting sub-queues. */
static void pcq_heap_set(struct q_pcq *c, uint32_t pos, uint32_t i)
{
	c->heap[pos] = i;
	c->sub[i].hpos = pos;
}

static void pcq_heap_up(struct q_pcq *c, uint32_t pos)
{
	uint32_t i = c->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;
		if (c->sub[c->heap[parent]].ready_at <= c->sub[i].ready_at)
			break;
		pcq_heap_set(c, pos, c->heap[parent]);
		pos = parent;
	}
	pcq_heap_set(c, pos, i);
}

static void pcq_heap_down(struct q_pcq *c, uint32_t pos)
{
	uint32_t i = c->heap[pos];

	for (;;) {
		uint32_t child = 2 * pos + 1;
		if (child >= c->nheap)
			break;
		if (child + 1 < c->nheap &&
		    c->sub[c->heap[child + 1]].ready_at < c->sub[c->heap[child]].ready_at)
			child++;
		if (c->sub[c->heap[child]].ready_at >= c->sub[i].ready_at)
			break;
		pcq_heap_set(c, pos, c->heap[child]);
		pos = child;
	}
	pcq_heap_set(c, pos, i);
}

static void pcq_heap_push(struct q_pcq *c, uint32_t i)
{
	pcq_heap_set(c, c->nheap++, i);
	pcq_heap_up(c, c->nheap - 1);
}

static void pcq_heap_del(struct q_pcq *c, uint32_t i)
{
	uint32_t pos = c->sub[i].hpos;
	uint32_t last = c->heap[--c->nheap];

	if (last == i)
		return;
	pcq_heap_set(c, pos, last);
	pcq_heap_up(c, pos);
	pcq_heap_down(c, c->sub[last].hpos);
}

/* Burst: the bytes of the last burst-time, kept in slices. */
static uint32_t *pcq_win(struct q_pcq *c, uint32_t i)
{
	return &c->win[(size_t)i * PCQ_SLICES];
}

static bool pcq_bursting(struct q_pcq *c, uint32_t i, uint64_t now)
{
	struct pcq_sub *s = &c->sub[i];
	uint32_t *w = pcq_win(c, i);
	uint64_t steps = now > s->win_start ? (now - s->win_start) / c->slice_ns : 0, sum = 0;

	if (steps >= PCQ_SLICES) {
		memset(w, 0, PCQ_SLICES * sizeof(*w));
		s->win_start += steps * c->slice_ns;
	} else {
		for (uint64_t k = 0; k < steps; k++) {
			s->win_idx = (s->win_idx + 1) % PCQ_SLICES;
			w[s->win_idx] = 0;
		}
		s->win_start += steps * c->slice_ns;
	}
	for (uint32_t k = 0; k < PCQ_SLICES; k++)
		sum += w[k];
	return sum < c->burst_bytes;
}

static void pcq_refill(struct q_pcq *c, uint32_t i, uint64_t now, const struct pcq_rate **rp)
{
	struct pcq_sub *s = &c->sub[i];
	const struct pcq_rate *r = c->burst && pcq_bursting(c, i, now) ? &c->high : &c->base;
	uint64_t dt = now > s->t_fill ? now - s->t_fill : 0;

	if (dt)
		s->t_fill = now;
	if (dt >= r->fill_ns)
		s->tokens = r->depth;
	else if ((s->tokens += dt * r->rate) > r->depth)
		s->tokens = r->depth;
	*rp = r;
}

static uint32_t pcq_bucket(const struct q_pcq *c, const struct pcq_key *k)
{
	uint32_t h = q_mix32(k->src[0] ^ c->salt ^ k->family);
	uint32_t words = k->family == 6 ? 4 : 1;

	for (uint32_t w = 1; w < words; w++)
		h = q_mix32(h ^ k->src[w]);
	for (uint32_t w = 0; w < words; w++)
		h = q_mix32(h ^ k->dst[w]);
	h = q_mix32(h ^ ((uint32_t)k->sport << 16 | k->dport));
	return h & c->hmask;
}

static uint32_t pcq_lookup(const struct q_pcq *c, const struct pcq_key *k, uint32_t b)
{
	uint32_t i = c->hash[b];

	while (i != Q_NIL && memcmp(&c->sub[i].key, k, sizeof(*k)))
		i = c->sub[i].hnext;
	return i;
}

static void pcq_unhash(struct q_pcq *c, uint32_t i)
{
	uint32_t *pp = &c->hash[c->sub[i].bucket];

	while (*pp != i)
		pp = &c->sub[*pp].hnext;
	*pp = c->sub[i].hnext;
}

/* A slot for a new key, out of the LRU list: a free one, else the idle one
 * unused longest. The caller queues a packet and schedules it at once. */
static uint32_t pcq_alloc(struct q_pcq *c, const struct pcq_key *k, uint32_t b, uint64_t now)
{
	uint32_t i = c->lru.head;
	struct pcq_sub *s;

	if (i == Q_NIL)
		return Q_NIL;
	s = &c->sub[i];
	pcq_il_del(c, &c->lru, i);
	if (s->state == SQ_IDLE)
		pcq_unhash(c, i);
	s->key = *k;
	s->bucket = b;
	s->hnext = c->hash[b];
	c->hash[b] = i;
	s->tokens = c->base.depth;
	s->t_fill = now;
	if (c->burst) {
		memset(pcq_win(c, i), 0, PCQ_SLICES * sizeof(uint32_t));
		s->win_start = now;
		s->win_idx = 0;
		s->tokens = c->high.depth;
	}
	return i;
}

/* Puts a sub-queue that just got packets, or whose turn came, where it
 * waits: the ring when its head packet may go, else the heap. */
static void pcq_schedule(struct q_pcq *c, uint32_t i, uint64_t now)
{
	struct pcq_sub *s = &c->sub[i];
	const struct pcq_rate *r;

	if (c->shaped) {
		uint64_t need = (uint64_t)s->l.head->len << 32;
		pcq_refill(c, i, now, &r);
		if (s->tokens < need) {
			s->ready_at = now + (need - s->tokens + r->rate - 1) / r->rate;
			s->state = SQ_WAIT;
			pcq_heap_push(c, i);
			return;
		}
	}
	s->state = SQ_READY;
	pcq_il_push(c, &c->ring, i, false);
}

/* An emptied sub-queue: a shaped one keeps its bucket while its slot is
 * not needed; otherwise nothing is worth keeping. */
static void pcq_retire(struct q_pcq *c, uint32_t i)
{
	struct pcq_sub *s = &c->sub[i];

	if (s->state == SQ_READY)
		pcq_il_del(c, &c->ring, i);
	else if (s->state == SQ_WAIT)
		pcq_heap_del(c, i);
	if (c->shaped) {
		s->state = SQ_IDLE;
		pcq_il_push(c, &c->lru, i, false);
	} else {
		pcq_unhash(c, i);
		s->state = SQ_FREE;
		pcq_il_push(c, &c->lru, i, true);
	}
}

static struct qpkt *pcq_take(struct q_pcq *c, uint32_t i)
{
	struct pcq_sub *s = &c->sub[i];
	struct qpkt *p;

	pcq_dep_del(c, i);
	p = ql_pop(&s->l);
	if (--s->qlen)
		pcq_dep_add(c, i);
	return p;
}

static struct qpkt *pcq_pull(struct qdisc *q, uint64_t now, struct qpkt **dl)
{
	struct q_pcq *c = (struct q_pcq *)q;

	while (c->nheap && c->sub[c->heap[0]].ready_at <= now) {
		uint32_t i = c->heap[0];
		pcq_heap_del(c, i);
		c->sub[i].state = SQ_READY;
		pcq_il_push(c, &c->ring, i, false);
	}
	while (c->ring.head != Q_NIL) {
		uint32_t i = c->ring.head;
		struct pcq_sub *s = &c->sub[i];
		if (s->deficit <= 0) {
			s->deficit += PCQ_QUANTUM;
			pcq_il_del(c, &c->ring, i);
			pcq_il_push(c, &c->ring, i, false);
			continue;
		}
		if (c->shaped) {
			const struct pcq_rate *r;
			uint64_t need = (uint64_t)s->l.head->len << 32;
			pcq_refill(c, i, now, &r);
			if (s->tokens < need) {
				pcq_il_del(c, &c->ring, i);
				s->ready_at = now + (need - s->tokens + r->rate - 1) / r->rate;
				s->state = SQ_WAIT;
				pcq_heap_push(c, i);
				continue;
			}
			s->tokens -= need;
		}
		struct qpkt *p = pcq_take(c, i);
		s->deficit -= (int32_t)p->len;
		if (c->burst) {
			uint32_t *w = &pcq_win(c, i)[s->win_idx];
			*w = *w > UINT32_MAX - p->len ? UINT32_MAX : *w + p->len;
		}
		if (!s->qlen)
			pcq_retire(c, i);
		return p;
	}
	return NULL;
}

/* After a pull that gave nothing with packets queued, every sub-queue
 * waits for tokens: the earliest of them. */
static uint64_t pcq_ready(const struct qdisc *q, uint64_t now)
{
	const struct q_pcq *c = (const struct q_pcq *)q;

	if (c->ring.head != Q_NIL || !c->nheap)
		return now;
	return c->sub[c->heap[0]].ready_at;
}

static void pcq_destroy(struct qdisc *q)
{
	struct q_pcq *c = (struct q_pcq *)q;

	if (!c)
		return;
	free(c->sub);
	free(c->hash);
	free(c->dep);
	free(c->heap);
	free(c->win);
	free(c);
}

static void pcq_rate_init(struct pcq_rate *r, uint64_t bps)
{
	double per_ns = (double)bps / 8.0 / (double)Q_NS_PER_S * 4294967296.0;
	double depth = (double)bps / 8.0 / 10.0; /* 0.1 s, RouterOS's bucket-size */

	if (depth < 2.0 * Q_MTU)
		depth = 2.0 * Q_MTU;
	if (depth > 1073741824.0) /* 1 GiB keeps tokens << 32 within 64 bits */
		depth = 1073741824.0;
	r->rate = per_ns < 1.0 ? 1 : (uint64_t)per_ns;
	r->depth = (uint64_t)(depth * 4294967296.0);
	r->fill_ns = r->depth / r->rate + 1;
}

static struct qdisc *pcq_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	struct q_pcq *c = calloc(1, sizeof(*c));
	uint32_t hsize = 1;

	if (!c)
		return NULL;
	q_init(&c->q, cfg->kind, pcq_pull, seed);
	c->q.ready = pcq_ready;
	c->total = cfg->pcq_total_limit ? cfg->pcq_total_limit : 1;
	c->limit = q_clamp32(cfg->pcq_limit, 1, c->total);
	if (c->limit > PCQ_MAX_DEPTH)
		c->limit = PCQ_MAX_DEPTH;
	c->nsub = c->total >= PCQ_MAX_SUBQ ? PCQ_MAX_SUBQ : c->total + 1;
	while (hsize < c->nsub)
		hsize <<= 1;
	c->hmask = hsize - 1;
	c->cls = cfg->pcq_classifier;
	c->src_mask = pcq_mask(cfg->pcq_src_mask);
	c->dst_mask = pcq_mask(cfg->pcq_dst_mask);
	c->src_len6 = cfg->pcq_src_mask6 > 128 ? 128 : cfg->pcq_src_mask6;
	c->dst_len6 = cfg->pcq_dst_mask6 > 128 ? 128 : cfg->pcq_dst_mask6;
	c->salt = q_rand32(&c->q);
	c->shaped = cfg->pcq_rate > 0;
	if (c->shaped) {
		pcq_rate_init(&c->base, cfg->pcq_rate);
		c->high = c->base;
		c->burst = cfg->pcq_burst_rate > cfg->pcq_rate && cfg->pcq_burst_threshold > 0 &&
			   cfg->pcq_burst_time_ns >= PCQ_SLICES;
		if (c->burst) {
			pcq_rate_init(&c->high, cfg->pcq_burst_rate);
			c->slice_ns = cfg->pcq_burst_time_ns / PCQ_SLICES;
			c->burst_bytes = (uint64_t)((double)cfg->pcq_burst_threshold / 8.0 *
						    (double)cfg->pcq_burst_time_ns / (double)Q_NS_PER_S);
		}
	}
	c->sub = calloc(c->nsub, sizeof(*c->sub));
	c->hash = malloc((size_t)hsize * sizeof(*c->hash));
	c->dep = malloc(((size_t)c->limit + 1) * sizeof(*c->dep));
	c->heap = c->shaped ? malloc((size_t)c->nsub * sizeof(*c->heap)) : NULL;
	c->win = c->burst ? calloc((size_t)c->nsub * PCQ_SLICES, sizeof(*c->win)) : NULL;
	if (!c->sub || !c->hash || !c->dep || (c->shaped && !c->heap) || (c->burst && !c->win)) {
		pcq_destroy(&c->q);
		return NULL;
	}
	memset(c->hash, 0xff, (size_t)hsize * sizeof(*c->hash));
	memset(c->dep, 0xff, ((size_t)c->limit + 1) * sizeof(*c->dep));
	c->ring.head = c->ring.tail = Q_NIL;
	c->lru.head = c->lru.tail = Q_NIL;
	for (uint32_t i = 0; i < c->nsub; i++) {
		c->sub[i].state = SQ_FREE;
		pcq_il_push(c, &c->lru, i, false);
	}
	return &c->q;
}

static bool pcq_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	struct q_pcq *c = (struct q_pcq *)q;
	struct qpkt **dl = q_droplist(q, dropped);
	struct pcq_key k;
	uint32_t b, i;

	memset(&k, 0, sizeof(k));
	if (p->family == 6) {
		k.family = 6;
		if (c->cls & 1)
			pcq_mask6(p->src6, c->src_len6, k.src);
		if (c->cls & 2)
			pcq_mask6(p->dst6, c->dst_len6, k.dst);
	} else {
		k.family = 4;
		if (c->cls & 1)
			k.src[0] = p->src & c->src_mask;
		if (c->cls & 2)
			k.dst[0] = p->dst & c->dst_mask;
	}
	if (c->cls & 4)
		k.sport = p->sport;
	if (c->cls & 8)
		k.dport = p->dport;
	b = pcq_bucket(c, &k);
	i = pcq_lookup(c, &k, b);
	if (i != Q_NIL && c->sub[i].qlen >= c->limit)
		return q_reject(q, QDR_LIMIT);
	if (q->qlen >= c->total) {
		uint32_t v = pcq_longest(c);
		if (v == Q_NIL)
			return q_reject(q, QDR_LIMIT);
		q_victim(q, pcq_take(c, v), QDR_OVERLIMIT, dl);
		if (!c->sub[v].qlen) {
			pcq_retire(c, v);
			if (v == i)
				i = pcq_lookup(c, &k, b);
		}
	}
	if (i == Q_NIL) {
		if ((i = pcq_alloc(c, &k, b, now)) == Q_NIL)
			return q_reject(q, QDR_NOSLOT);
	} else if (c->sub[i].state == SQ_IDLE) {
		pcq_il_del(c, &c->lru, i);
	}
	struct pcq_sub *s = &c->sub[i];
	q_admit(q, p, now);
	ql_push(&s->l, p);
	if (s->qlen)
		pcq_dep_del(c, i);
	s->qlen++;
	pcq_dep_add(c, i);
	if (s->qlen == 1) {
		s->deficit = PCQ_QUANTUM;
		pcq_schedule(c, i, now);
	}
	return true;
}

/* ---- ops ---- */

#define Q_OPS(nm, cr, de, en)                                                              \
	{ .name = (nm), .create = (cr), .destroy = (de), .enqueue = (en),                  \
	  .dequeue = q_dequeue, .peek_len = q_peek_len, .next_time = q_next_time,             \
	  .backlog_packets = q_backlog_packets, .backlog_bytes = q_backlog_bytes }

static const struct qdisc_ops q_ops[] = {
	[QK_PFIFO] = Q_OPS("pfifo", fifo_create, q_free, fifo_enqueue),
	[QK_BFIFO] = Q_OPS("bfifo", fifo_create, q_free, fifo_enqueue),
	[QK_MQ_PFIFO] = Q_OPS("mq-pfifo", fifo_create, q_free, fifo_enqueue),
	[QK_SFQ] = Q_OPS("sfq", sfq_create, q_free, sfq_enqueue),
	[QK_PCQ] = Q_OPS("pcq", pcq_create, pcq_destroy, pcq_enqueue),
	[QK_RED] = Q_OPS("red", red_create, q_free, red_enqueue),
	[QK_FQ_CODEL] = Q_OPS("fq-codel", fq_create, fq_destroy, fq_enqueue),
	[QK_CODEL] = Q_OPS("codel", fq_create, fq_destroy, fq_enqueue),
	[QK_CAKE] = Q_OPS("cake", cake_create, cake_destroy, cake_enqueue),
	[QK_NONE] = Q_OPS("none", fifo_create, q_free, fifo_enqueue),
};

const struct qdisc_ops *qdisc_ops_of(enum qdisc_kind kind)
{
	if ((unsigned)kind >= sizeof(q_ops) / sizeof(q_ops[0]))
		return NULL;
	return &q_ops[kind];
}

/* ---- configuration ---- */

void qdisc_cfg_default(struct qdisc_cfg *cfg, enum qdisc_kind kind)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->kind = kind;
	cfg->pfifo_limit = kind == QK_NONE ? Q_NONE_LIMIT : 50;
	cfg->bfifo_limit = 15000;
	cfg->sfq_perturb = 5;
	cfg->sfq_allot = 1514;
	cfg->red_limit = 60;
	cfg->red_min = 10;
	cfg->red_max = 50;
	cfg->red_burst = 20;
	cfg->red_avg_packet = 1000;
	cfg->pcq_rate = 0;
	cfg->pcq_limit = 50;
	cfg->pcq_total_limit = 2000;
	cfg->pcq_classifier = 0;
	cfg->pcq_src_mask = 32;
	cfg->pcq_dst_mask = 32;
	cfg->pcq_src_mask6 = 128;
	cfg->pcq_dst_mask6 = 128;
	cfg->pcq_burst_time_ns = 10 * Q_NS_PER_S;
	cfg->fq_flows = 1024;
	cfg->fq_limit = 10240;
	cfg->fq_quantum = 1514;
	cfg->fq_target_ns = 5000000;
	cfg->fq_interval_ns = 100000000;
	cfg->fq_ecn = true;
	cfg->cake_bandwidth = 0;
	cfg->cake_tins = 3;
	cfg->cake_flowmode = CAKE_FM_TRIPLE_ISOLATE;
	if (kind == QK_CODEL) {
		cfg->fq_flows = 1;
		cfg->fq_limit = 1000;
		cfg->fq_ecn = false;
	}
}

/* Each reader keeps the default when the store has no value and fails on
 * a value that does not parse or does not fit. */
static int qc_u64(const struct menu *m, const struct item *it, const char *name, uint64_t *out)
{
	const char *v = item_get(m, it, name);
	return v ? parse_u64(v, out) : 0;
}

static int qc_u32(const struct menu *m, const struct item *it, const char *name, uint32_t *out)
{
	uint64_t v = *out;

	if (qc_u64(m, it, name, &v) < 0 || v > UINT32_MAX)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

static int qc_u8(const struct menu *m, const struct item *it, const char *name, uint8_t *out)
{
	uint64_t v = *out;

	if (qc_u64(m, it, name, &v) < 0 || v > UINT8_MAX)
		return -1;
	*out = (uint8_t)v;
	return 0;
}

static int qc_rate(const struct menu *m, const struct item *it, const char *name, uint64_t *out)
{
	const char *v = item_get(m, it, name);
	return v ? parse_rate(v, out) : 0;
}

static int qc_time_ns(const struct menu *m, const struct item *it, const char *name,
		      uint64_t *out)
{
	const char *v = item_get(m, it, name);
	uint64_t ms;

	if (!v)
		return 0;
	if (parse_time_ms(v, &ms) < 0 || ms > UINT64_MAX / 1000000)
		return -1;
	*out = ms * 1000000;
	return 0;
}

static int qc_bool(const struct menu *m, const struct item *it, const char *name, bool *out)
{
	const char *v = item_get(m, it, name);

	if (!v)
		return 0;
	if (!strcmp(v, "yes") || !strcmp(v, "true"))
		*out = true;
	else if (!strcmp(v, "no") || !strcmp(v, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

static int qc_word(const char *v, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (words[i] && !strcmp(v, words[i]))
			return (int)i;
	return -1;
}

static int qc_classifier(const struct menu *m, const struct item *it, uint8_t *out)
{
	static const char *const names[] = { "src-address", "dst-address", "src-port",
					     "dst-port" };
	const char *v = item_get(m, it, "pcq-classifier");
	uint8_t bits = 0;

	while (v && *v) {
		const char *comma = strchr(v, ',');
		size_t len = comma ? (size_t)(comma - v) : strlen(v);
		char word[32];
		int b;
		if (len >= sizeof(word))
			return -1;
		memcpy(word, v, len);
		word[len] = '\0';
		if ((b = qc_word(word, names, 4)) < 0)
			return -1;
		bits |= (uint8_t)(1u << b);
		v = comma ? comma + 1 : v + len;
	}
	*out = bits;
	return 0;
}

static int qc_cake(const struct menu *m, const struct item *it, struct qdisc_cfg *cfg)
{
	static const char *const diffserv[] = { "besteffort", "diffserv3", "diffserv4",
						"diffserv8", "precedence" };
	static const uint8_t tins[] = { 1, 3, 4, 8, 8 };
	static const char *const flowmodes[] = {
		[CAKE_FM_FLOWBLIND] = "flowblind",
		[CAKE_FM_SRCHOST] = "srchost",
		[CAKE_FM_DSTHOST] = "dsthost",
		[CAKE_FM_HOSTS] = "hosts",
		[CAKE_FM_FLOWS] = "flows",
		[CAKE_FM_DUAL_SRCHOST] = "dual-srchost",
		[CAKE_FM_DUAL_DSTHOST] = "dual-dsthost",
		[CAKE_FM_TRIPLE_ISOLATE] = "triple-isolate",
	};
	const char *v;
	uint64_t rtt = cfg->fq_interval_ns;
	int d;

	if (qc_rate(m, it, "cake-bandwidth", &cfg->cake_bandwidth) < 0)
		return -1;
	if ((v = item_get(m, it, "cake-diffserv"))) {
		if ((d = qc_word(v, diffserv, 5)) < 0)
			return -1;
		cfg->cake_tins = tins[d];
	}
	if ((v = item_get(m, it, "cake-flowmode"))) {
		if ((d = qc_word(v, flowmodes, sizeof(flowmodes) / sizeof(flowmodes[0]))) < 0)
			return -1;
		cfg->cake_flowmode = (uint8_t)d;
	}
	if (qc_time_ns(m, it, "cake-rtt", &rtt) < 0)
		return -1;
	if (rtt) {
		cfg->fq_interval_ns = rtt;
		cfg->fq_target_ns = rtt / 20;
	}
	return 0;
}

static const char *const qk_names[] = {
	[QK_PFIFO] = "pfifo", [QK_BFIFO] = "bfifo", [QK_MQ_PFIFO] = "mq-pfifo", [QK_SFQ] = "sfq",
	[QK_PCQ] = "pcq", [QK_RED] = "red", [QK_FQ_CODEL] = "fq-codel", [QK_CODEL] = "codel",
	[QK_CAKE] = "cake", [QK_NONE] = "none",
};

int qdisc_cfg_from_store(struct store *st, const char *name, struct qdisc_cfg *cfg)
{
	const struct menu *m = schema_find("/queue/type");
	const struct item *it;
	const char *kind;
	int k, rc = 0;

	if (!m || !st || !name || !(it = store_by_key(st, m, name)))
		return -1;
	if (!(kind = item_get(m, it, "kind")) ||
	    (k = qc_word(kind, qk_names, sizeof(qk_names) / sizeof(qk_names[0]))) < 0)
		return -1;
	qdisc_cfg_default(cfg, (enum qdisc_kind)k);
	if (k == QK_MQ_PFIFO)
		rc |= qc_u32(m, it, "mq-pfifo-limit", &cfg->pfifo_limit);
	else if (k != QK_NONE)
		rc |= qc_u32(m, it, "pfifo-limit", &cfg->pfifo_limit);
	rc |= qc_u32(m, it, "bfifo-limit", &cfg->bfifo_limit);
	rc |= qc_u32(m, it, "sfq-perturb", &cfg->sfq_perturb);
	rc |= qc_u32(m, it, "sfq-allot", &cfg->sfq_allot);
	rc |= qc_u32(m, it, "red-limit", &cfg->red_limit);
	rc |= qc_u32(m, it, "red-min-threshold", &cfg->red_min);
	rc |= qc_u32(m, it, "red-max-threshold", &cfg->red_max);
	rc |= qc_u32(m, it, "red-burst", &cfg->red_burst);
	rc |= qc_u32(m, it, "red-avg-packet", &cfg->red_avg_packet);
	rc |= qc_rate(m, it, "pcq-rate", &cfg->pcq_rate);
	rc |= qc_u32(m, it, "pcq-limit", &cfg->pcq_limit);
	rc |= qc_u32(m, it, "pcq-total-limit", &cfg->pcq_total_limit);
	rc |= qc_classifier(m, it, &cfg->pcq_classifier);
	rc |= qc_u8(m, it, "pcq-src-address-mask", &cfg->pcq_src_mask);
	rc |= qc_u8(m, it, "pcq-dst-address-mask", &cfg->pcq_dst_mask);
	rc |= qc_u8(m, it, "pcq-src-address6-mask", &cfg->pcq_src_mask6);
	rc |= qc_u8(m, it, "pcq-dst-address6-mask", &cfg->pcq_dst_mask6);
	rc |= qc_rate(m, it, "pcq-burst-rate", &cfg->pcq_burst_rate);
	rc |= qc_rate(m, it, "pcq-burst-threshold", &cfg->pcq_burst_threshold);
	rc |= qc_time_ns(m, it, "pcq-burst-time", &cfg->pcq_burst_time_ns);
	if (k == QK_CODEL) {
		rc |= qc_u32(m, it, "codel-limit", &cfg->fq_limit);
		rc |= qc_time_ns(m, it, "codel-target", &cfg->fq_target_ns);
		rc |= qc_time_ns(m, it, "codel-interval", &cfg->fq_interval_ns);
		rc |= qc_bool(m, it, "codel-ecn", &cfg->fq_ecn);
	} else if (k == QK_CAKE) {
		rc |= qc_cake(m, it, cfg);
	} else {
		rc |= qc_u32(m, it, "fq-codel-flows", &cfg->fq_flows);
		rc |= qc_u32(m, it, "fq-codel-limit", &cfg->fq_limit);
		rc |= qc_u32(m, it, "fq-codel-quantum", &cfg->fq_quantum);
		rc |= qc_time_ns(m, it, "fq-codel-target", &cfg->fq_target_ns);
		rc |= qc_time_ns(m, it, "fq-codel-interval", &cfg->fq_interval_ns);
		rc |= qc_bool(m, it, "fq-codel-ecn", &cfg->fq_ecn);
	}
	return rc ? -1 : 0;
}

/* ---- wrappers ---- */

struct qdisc *qdisc_create(const struct qdisc_cfg *cfg, uint64_t seed)
{
	const struct qdisc_ops *ops = cfg ? qdisc_ops_of(cfg->kind) : NULL;
	return ops ? ops->create(cfg, seed) : NULL;
}

void qdisc_destroy(struct qdisc *q)
{
	if (q)
		q->ops->destroy(q);
}

bool qdisc_enqueue(struct qdisc *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	return q->ops->enqueue(q, p, now, dropped);
}

struct qpkt *qdisc_dequeue(struct qdisc *q, uint64_t now, struct qpkt **dropped)
{
	return q->ops->dequeue(q, now, dropped);
}

uint32_t qdisc_peek_len(struct qdisc *q, uint64_t now)
{
	return q->ops->peek_len(q, now);
}

uint64_t qdisc_next_time(struct qdisc *q, uint64_t now)
{
	return q->ops->next_time(q, now);
}

uint32_t qdisc_backlog_packets(const struct qdisc *q)
{
	return q->ops->backlog_packets(q);
}

uint64_t qdisc_backlog_bytes(const struct qdisc *q)
{
	return q->ops->backlog_bytes(q);
}
