/*
 * htb: hierarchical token bucket, RouterOS flavour.
 *
 * The shape. The caller's classes hang under one hidden class, the link,
 * whose rate and ceil are link_rate (unlimited when 0). Leaves sit at level
 * 0; an inner class at depth d sits at level H - d, H being one more than
 * the deepest inner class, so the link has the highest level and a class
 * is always above its children (at most 7 levels under the link).
 *
 * Buckets. Every class has a rate bucket (limit-at) and a ceil bucket
 * (max-limit, or burst-limit while bursting). Tokens are nanoseconds of
 * transmission time at the bucket's rate, as in Linux: refilling adds the
 * elapsed time, charging a packet is one multiplication by the bucket's
 * precomputed ns-per-byte. A bucket holds bucket-size seconds of its rate
 * (bucket-size x rate bits), never less than one 1514-byte frame.
 * limit-at 0 gives a bucket that never has tokens (no guarantee: the class
 * always borrows); max-limit 0 one that never runs out (the ancestors'
 * ceils bound the class anyway).
 *
 * Modes. CANT_SEND when the ceil bucket is short, CAN_SEND when the rate
 * bucket is not, MAY_BORROW otherwise. A leaf compares its buckets with the
 * cost of its head packet (peek_len); inner classes compare with zero, so
 * a borrower may take an ancestor one packet into debt, and the debt is
 * carried. Between zero and minus the ceil's slack an inner class is in
 * RATE_ONLY: it passes on what classes below lend from their own limit-at
 * (a leaf within its rate, or an inner class within its rate lending to
 * its children) and nothing it or its ancestors would lend. So, as in
 * Linux, where a class within its rate sends at its own level whatever its
 * ancestors' ceils say, traffic under a limit-at below does not wait for a
 * parent that borrowers keep at its max-limit (a VoIP packet behind a
 * saturating download); its packet is charged to the parent all the same,
 * and the borrowers wait until that debt is repaid. Unlike Linux, the debt
 * is bounded: the slack is what the rate buckets below may send at once
 * (at most the class's own ceil bucket) plus one frame. While the
 * limit-ats under a class add up to no more than its max-limit (and their
 * buckets to no more than its own), within-rate traffic never reaches that
 * bound; when they add up to more, the class stops them there
 * (CANT_SEND), so oversubscribed limit-ats share the parent's max-limit in
 * their ratio and the aggregate never exceeds it beyond one bucket and the
 * slack. The link (a wire) has no slack.
 *
 * Offers. Each class tells its parent what its subtree could send now, as
 * a 64-bit mask of (lending level, leaf priority) pairs, bit level*8+prio,
 * plus an 8-bit mask of priorities still looking for a lender. A leaf that
 * can send offers (0, prio); one that may borrow asks for a lender. An inner
 * class in CAN_SEND turns its children's requests into offers at its own
 * level; in MAY_BORROW it passes both masks up; in RATE_ONLY its children's
 * offers; in CANT_SEND nothing. The parent keeps, per bit, a circular list
 * of the children that offer it, per priority one of the children that
 * ask, and per priority one of the children that offer it at any level
 * (what it chooses from in RATE_ONLY). Whatever the link offers can go
 * now, and its lowest bit is the best choice: within-rate traffic first,
 * then borrowing from the nearest lender, priority deciding within a
 * level. RouterOS ignores the priority of a leaf without max-limit: such a
 * leaf counts as priority 8.
 *
 * Dequeue walks from the link down the lists of the chosen bit and takes
 * the head of each. That is deficit round robin at every level: each list
 * entry has a deficit, a class's quantum is 10 ms of its limit-at (one MTU
 * at least), so equal priorities share in the ratio of their limit-ats,
 * evenly without them, subtree by subtree. A class in RATE_ONLY takes the
 * head of its list of the chosen priority at any level and goes on at that
 * child's nearest lender: at a saturated parent, within-rate traffic of
 * one priority shares in the ratio of the limit-ats whether a leaf or an
 * inner class lends it (Linux would serve the leaves first and let the
 * parent exceed its ceil). The leaf's packet is charged along the path:
 * ceil buckets everywhere, rate buckets from the lender up (Linux's
 * htb_charge_class; the classes below the lender count a borrow, the
 * lender a lend), and the path's offers are recomputed.
 *
 * Waiting. A class that is not in CAN_SEND sits in a binary heap keyed by
 * the time its mode improves (at the latest the end of its burst slot). Each
 * call first applies the due events; a class changes mode only in charges
 * and events, so nothing scans all classes: a dequeue costs O(depth) list
 * steps plus O(depth log n) heap steps. A leaf whose queue holds packets
 * but gives none (pcq-rate, a shaping cake) waits in the heap, offering
 * nothing, until the time its queue names (qdisc next_time); a packet
 * arriving in it meanwhile asks again (a new pcq flow may go at once).
 *
 * Changes: htb_update gives a running scheduler the parameters of a fresh
 * build of the same shape. Every class leaves its parent's lists, takes the
 * new buckets (its tokens kept, no more than the new bucket holds),
 * priority, quantum and burst settings, and is filed again bottom-up; a
 * leaf whose queue type changed moves its packets into the new queue.
 *
 * Burst: a ring of 16 slots of burst-time/16 counts the bytes a class sent;
 * at every slot boundary the sum over the ring decides whether the average
 * is under burst-threshold, and so whether burst-limit replaces max-limit.
 * A class starts idle, so bursting.
 */
#include "htb.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HTB_PRIOS 8
#define HTB_LEVELS 8                        /* leaves 0, inner 1..7 */
#define HTB_NBITS (HTB_LEVELS * HTB_PRIOS)  /* offer mask: level*8 + prio */
/* per inner class: offers per bit, requests per priority, then within-rate
 * offers of any level per priority (what a class in RATE_ONLY chooses from) */
#define HTB_REQ_HEADS HTB_NBITS
#define HTB_RATE_HEADS (HTB_NBITS + HTB_PRIOS)
#define HTB_NHEADS (HTB_NBITS + 2 * HTB_PRIOS)
#define HTB_MTU 1514
#define HTB_QUANTUM_MAX (1u << 20)
#define HTB_NS 1000000000ull
#define HTB_STALL_NS 1000000ull             /* retry a queue that named no later time */
#define HTB_BURST_SLOTS 16
#define HTB_PRIO_BITS 0x0101010101010101ull /* one priority at every level */

/* HTB_RATE_ONLY: the ceil is in debt, but within what classes below sending
 * under their own limit-at may still add (the bucket's slack). */
enum htb_mode { HTB_CANT_SEND, HTB_RATE_ONLY, HTB_MAY_BORROW, HTB_CAN_SEND };
enum htb_kind { HTB_NONE, HTB_LIMITED, HTB_UNLIMITED };

/* ns per byte as mult >> shift, mult < 2^32 so len * mult fits 64 bits. */
struct htb_rate {
	uint32_t mult;
	uint8_t shift;
};

struct htb_bucket {
	struct htb_rate r;
	int64_t buffer;   /* capacity, ns */
	int64_t slack;    /* ceil of an inner class: the debt within-rate traffic may add, ns */
	uint8_t kind;
};

/* An entry of a class in one of its parent's lists. */
struct htb_link {
	struct htb_link *next, *prev;
	struct htb_class *cls;
	int64_t deficit;
};

struct htb_est {
	uint64_t win_end;
	uint64_t bytes, pkts;   /* in the current window */
	uint64_t bps, pps;
};

struct htb_class {
	/* set at build, read on every packet */
	struct htb_class *parent;
	struct htb_link *links;       /* this class in its parent's lists */
	struct htb_link **heads;      /* inner: the children offering each bit */
	struct qdisc *q;              /* leaves */
	uint32_t quantum;
	uint8_t level, prio, depth;
	bool leaf, has_burst;
	struct htb_bucket rate, ceil;
	struct htb_bucket ceil_normal, ceil_burst;
	uint64_t burst_slot_ns, burst_thresh_bytes;

	/* scheduling state */
	int64_t tokens, ctokens;
	uint64_t t_c;
	uint64_t offer, kids_offer;
	uint8_t need, kids_need;
	uint8_t mode;
	bool active, stalled, bursting;
	uint64_t stall_until;
	size_t hidx;                  /* position in the heap, SIZE_MAX if absent */
	uint64_t key;

	/* burst ring */
	uint64_t burst_end, burst_cur, burst_sum;
	uint64_t burst_slot[HTB_BURST_SLOTS];
	uint8_t burst_pos;

	/* statistics */
	uint64_t bytes, packets, dropped, lends, borrows;
	struct htb_est est;
	int first_child, next_sibling;
};

struct htb {
	struct htb_class *root;       /* the link */
	struct htb_class *cls;        /* n caller classes, then the link */
	size_t n;
	size_t nactive;               /* leaves holding packets */
	struct htb_class **heap;
	size_t heap_n;
	uint64_t now;                 /* the latest time seen, for statistics */
	struct htb_link *link_mem;
	struct htb_link **head_mem;
	struct qdisc_cfg *qcfg;       /* per class: its leaf queue's, for htb_update */
};

/* ---- rates and buckets ---- */

static void htb_rate_set(struct htb_rate *r, uint64_t bps)
{
	if (bps < 8)
		bps = 8;   /* one byte per second: keeps ns-per-byte under 2^32 */
	double npb = 8e9 / (double)bps;
	int s = 32;
	while (s > 0 && npb * (double)(1ull << s) >= 4294967000.0)
		s--;
	r->mult = (uint32_t)(npb * (double)(1ull << s) + 0.5);
	r->shift = (uint8_t)s;
}

static inline int64_t htb_cost(const struct htb_rate *r, uint32_t len)
{
	return (int64_t)(((uint64_t)len * r->mult) >> r->shift);
}

static void htb_bucket_set(struct htb_bucket *b, enum htb_kind kind, uint64_t bps,
			   uint32_t bucket_size_milli)
{
	memset(b, 0, sizeof(*b));
	b->kind = (uint8_t)kind;
	if (kind != HTB_LIMITED)
		return;
	htb_rate_set(&b->r, bps);
	int64_t buf = (int64_t)(bucket_size_milli ? bucket_size_milli : 100) * 1000000;
	int64_t mtu = htb_cost(&b->r, HTB_MTU);
	b->buffer = buf > mtu ? buf : mtu;
}

static inline void htb_bucket_fill(int64_t *tok, const struct htb_bucket *b, int64_t dt)
{
	if (b->kind != HTB_LIMITED)
		return;
	*tok = *tok + dt > b->buffer ? b->buffer : *tok + dt;
}

/* The deepest debt a bucket keeps: below any debt the rules allow (a
 * borrower's frame, the slack and a frame), so none is forgotten. */
static inline int64_t htb_floor(const struct htb_bucket *b)
{
	return -(b->buffer + b->slack + (int64_t)HTB_NS);
}

static inline void htb_bucket_take(int64_t *tok, const struct htb_bucket *b, uint32_t len)
{
	if (b->kind != HTB_LIMITED)
		return;
	*tok -= htb_cost(&b->r, len);
	if (*tok < htb_floor(b))
		*tok = htb_floor(b);
}

/* Lets traffic within a limit-at below take the ceil `bytes` (at most one
 * bucket) plus one frame deeper into debt than borrowers may (the floor
 * moves down with it). */
static void htb_bucket_slack(struct htb_bucket *b, double bytes)
{
	if (b->kind != HTB_LIMITED)
		return;
	double ns = bytes * (double)b->r.mult / (double)(1ull << b->r.shift);
	b->slack = (ns < (double)b->buffer ? (int64_t)ns : b->buffer) + htb_cost(&b->r, HTB_MTU);
}

/*
 * The slack of every inner class but the link (a wire has no slack): what
 * the rate buckets below it may send at once, at most its own ceil bucket,
 * plus one frame beyond the one borrowing may leave. A leaf may send its
 * bucket; an inner class the more of its own bucket (what it lends) and
 * what its children may send (their sends within their own rate empty its
 * bucket too: both are charged to it). While the limit-ats under a class
 * add up to no more than its ceil (and their buckets to no more than its
 * bucket), that bounds the debt within-rate traffic can make, so none of
 * it ever waits here; when they add up to more, the debt stops there.
 */
static int htb_set_slack(struct htb *h, const struct htb_class_cfg *classes)
{
	double *sum = calloc(h->n + 1, sizeof(*sum));
	if (!sum)
		return -1;
	/* children come after their parents: each sum is whole when reached */
	for (size_t i = h->n; i-- > 0;) {
		struct htb_class *c = &h->cls[i];
		if (c->rate.kind == HTB_LIMITED) {
			double own = (double)c->rate.buffer / 1e9 * (double)classes[i].limit_at / 8.0;
			if (own > sum[i])
				sum[i] = own;
		}
		sum[c->parent - h->cls] += sum[i];
	}
	for (size_t i = 0; i < h->n; i++) {
		struct htb_class *c = &h->cls[i];
		if (c->leaf)
			continue;
		double bytes = sum[i];
		htb_bucket_slack(&c->ceil_normal, bytes);
		htb_bucket_slack(&c->ceil_burst, bytes);
		c->ceil = c->bursting ? c->ceil_burst : c->ceil_normal;
	}
	free(sum);
	return 0;
}

static uint32_t htb_quantum_of(uint64_t limit_at)
{
	uint64_t q = limit_at / 800;   /* 10 ms worth of bytes */
	if (q < HTB_MTU)
		q = HTB_MTU;
	if (q > HTB_QUANTUM_MAX)
		q = HTB_QUANTUM_MAX;
	return (uint32_t)q;
}

/* ---- the wait heap ---- */

static inline bool htb_heap_less(const struct htb *h, size_t a, size_t b)
{
	return h->heap[a]->key < h->heap[b]->key;
}

static void htb_heap_swap(struct htb *h, size_t a, size_t b)
{
	struct htb_class *t = h->heap[a];
	h->heap[a] = h->heap[b];
	h->heap[b] = t;
	h->heap[a]->hidx = a;
	h->heap[b]->hidx = b;
}

static void htb_heap_up(struct htb *h, size_t i)
{
	while (i > 0 && htb_heap_less(h, i, (i - 1) / 2)) {
		htb_heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void htb_heap_down(struct htb *h, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < h->heap_n && htb_heap_less(h, l, m))
			m = l;
		if (l + 1 < h->heap_n && htb_heap_less(h, l + 1, m))
			m = l + 1;
		if (m == i)
			return;
		htb_heap_swap(h, i, m);
		i = m;
	}
}

static void htb_heap_del(struct htb *h, struct htb_class *c)
{
	size_t i = c->hidx;
	if (i == SIZE_MAX)
		return;
	c->hidx = SIZE_MAX;
	if (i == --h->heap_n)
		return;
	h->heap[i] = h->heap[h->heap_n];
	h->heap[i]->hidx = i;
	htb_heap_up(h, i);
	htb_heap_down(h, i);
}

static void htb_heap_set(struct htb *h, struct htb_class *c, uint64_t key)
{
	c->key = key;
	if (c->hidx == SIZE_MAX) {
		c->hidx = h->heap_n;
		h->heap[h->heap_n++] = c;
		htb_heap_up(h, c->hidx);
		return;
	}
	htb_heap_up(h, c->hidx);
	htb_heap_down(h, c->hidx);
}

/* ---- per-class time keeping: tokens, burst ring, estimator ---- */

static void htb_burst_roll(struct htb_class *c, uint64_t now)
{
	if (!c->has_burst || now < c->burst_end)
		return;
	uint64_t slots = (now - c->burst_end) / c->burst_slot_ns + 1;
	if (slots >= HTB_BURST_SLOTS) {
		memset(c->burst_slot, 0, sizeof(c->burst_slot));
		c->burst_sum = 0;
		c->burst_cur = 0;
	} else {
		for (uint64_t k = 0; k < slots; k++) {
			c->burst_sum += c->burst_cur - c->burst_slot[c->burst_pos];
			c->burst_slot[c->burst_pos] = c->burst_cur;
			c->burst_pos = (uint8_t)((c->burst_pos + 1) % HTB_BURST_SLOTS);
			c->burst_cur = 0;
		}
	}
	c->burst_end += slots * c->burst_slot_ns;
	bool on = c->burst_sum < c->burst_thresh_bytes;
	if (on != c->bursting) {
		c->bursting = on;
		c->ceil = on ? c->ceil_burst : c->ceil_normal;
		if (c->ctokens > c->ceil.buffer)
			c->ctokens = c->ceil.buffer;
	}
}

static void htb_est_roll(struct htb_est *e, uint64_t now)
{
	if (now < e->win_end)
		return;
	uint64_t n = (now - e->win_end) / HTB_NS + 1;
	/* windows are one second long: a window's bytes * 8 is its bit rate */
	e->bps = (e->bps + e->bytes * 8) / 2;
	e->pps = (e->pps + e->pkts) / 2;
	if (n > 64)
		e->bps = e->pps = 0;
	for (uint64_t k = 1; k < n && k <= 64; k++) {
		e->bps /= 2;
		e->pps /= 2;
	}
	e->bytes = e->pkts = 0;
	e->win_end += n * HTB_NS;
}

static void htb_refill(struct htb_class *c, uint64_t now)
{
	if (now > c->t_c) {
		int64_t dt = (int64_t)(now - c->t_c);
		htb_bucket_fill(&c->tokens, &c->rate, dt);
		htb_bucket_fill(&c->ctokens, &c->ceil, dt);
		c->t_c = now;
	}
	htb_burst_roll(c, now);
}

/* A leaf whose queue holds packets but gives none until a later time. */
static void htb_leaf_hold(struct htb_class *c, uint64_t now)
{
	uint64_t t = qdisc_next_time(c->q, now);
	c->stalled = true;
	c->stall_until = t > now ? t : now + HTB_STALL_NS;
}

/*
 * Recomputes the mode from tokens refilled at c->t_c, and files the class
 * in the heap under the time its mode improves (nothing to wait for in
 * CAN_SEND, nor in MAY_BORROW without a rate bucket).
 */
static void htb_mode_update(struct htb *h, struct htb_class *c)
{
	int64_t need_r = 0, need_c = 0, wait = 0;
	uint8_t mode;

	if (c->leaf && c->active) {
		uint32_t len = qdisc_peek_len(c->q, c->t_c);
		if (len) {
			if (c->rate.kind == HTB_LIMITED) {
				need_r = htb_cost(&c->rate.r, len);
				if (need_r > c->rate.buffer)
					need_r = c->rate.buffer;
			}
			if (c->ceil.kind == HTB_LIMITED) {
				need_c = htb_cost(&c->ceil.r, len);
				if (need_c > c->ceil.buffer)
					need_c = c->ceil.buffer;
			}
		} else if (!c->stalled && qdisc_backlog_packets(c->q)) {
			htb_leaf_hold(c, c->t_c);
		}
	}
	if (c->ceil.kind == HTB_LIMITED && c->ctokens < need_c - c->ceil.slack) {
		mode = HTB_CANT_SEND;
		wait = need_c - c->ceil.slack - c->ctokens;
	} else if (c->ceil.kind == HTB_LIMITED && c->ctokens < need_c) {
		mode = HTB_RATE_ONLY;
		wait = need_c - c->ctokens;
	} else if (c->rate.kind == HTB_UNLIMITED) {
		mode = HTB_CAN_SEND;
	} else if (c->rate.kind == HTB_NONE) {
		mode = HTB_MAY_BORROW;
	} else if (c->tokens >= need_r) {
		mode = HTB_CAN_SEND;
	} else {
		mode = HTB_MAY_BORROW;
		wait = need_r - c->tokens;
	}
	c->mode = mode;

	uint64_t key = wait > 0 ? c->t_c + (uint64_t)wait : UINT64_MAX;
	if (c->stalled && c->stall_until < key)
		key = c->stall_until;
	/* a waiting class looks again when its burst state may flip */
	if (key != UINT64_MAX && c->has_burst && c->burst_end < key)
		key = c->burst_end;
	if (key == UINT64_MAX)
		htb_heap_del(h, c);
	else
		htb_heap_set(h, c, key);
}

/* ---- offers ---- */

static inline struct htb_link *htb_link_of(struct htb_class *c, bool request, unsigned bit)
{
	if (c->leaf)
		return &c->links[request];
	return request ? &c->links[(c->level + 1) * HTB_PRIOS + bit] : &c->links[bit];
}

/* The entry of c in its parent's list of children offering priority prio
 * at any level. */
static inline struct htb_link *htb_rate_link_of(struct htb_class *c, unsigned prio)
{
	if (c->leaf)
		return &c->links[2];
	return &c->links[(c->level + 2) * HTB_PRIOS + prio];
}

static void htb_list_add(struct htb_link **head, struct htb_link *l)
{
	struct htb_link *f = *head;
	if (!f) {
		l->next = l->prev = l;
		*head = l;
		return;
	}
	l->prev = f->prev;
	l->next = f;
	f->prev->next = l;
	f->prev = l;
}

static void htb_list_del(struct htb_link **head, struct htb_link *l)
{
	if (l->next == l) {
		*head = NULL;
	} else {
		if (*head == l)
			*head = l->next;
		l->prev->next = l->next;
		l->next->prev = l->prev;
	}
	l->next = l->prev = NULL;
}

/*
 * The list of c's children that offer prio at some level, rid of those
 * that stopped (each was added once when it started: amortised O(1)). The
 * children's offers are what c's were computed from, so one is left.
 */
static struct htb_link **htb_rate_head(struct htb_class *c, unsigned prio)
{
	struct htb_link **head = &c->heads[HTB_RATE_HEADS + prio];
	while (*head && !((*head)->cls->offer & HTB_PRIO_BITS << prio))
		htb_list_del(head, *head);
	return head;
}

/* Takes c out of its parent's lists of within-rate offers (a leaf is in
 * the one of its priority). */
static void htb_rate_leave(struct htb_class *c)
{
	for (unsigned b = 0; b < HTB_PRIOS; b++) {
		if (c->leaf && b != c->prio)
			continue;
		struct htb_link *l = htb_rate_link_of(c, b);
		if (l->next)
			htb_list_del(&c->parent->heads[HTB_RATE_HEADS + b], l);
	}
}

static void htb_offer_calc(const struct htb_class *c, uint64_t *offer, uint8_t *need)
{
	*offer = 0;
	*need = 0;
	if (c->mode == HTB_CANT_SEND)
		return;
	if (c->leaf) {
		if (!c->active || c->stalled)
			return;
		if (c->mode == HTB_CAN_SEND)
			*offer = 1ull << c->prio;
		else
			*need = (uint8_t)(1u << c->prio);
		return;
	}
	if (c->mode == HTB_RATE_ONLY) {
		*offer = c->kids_offer;
	} else if (c->mode == HTB_CAN_SEND) {
		*offer = c->kids_offer | ((uint64_t)c->kids_need << (c->level * HTB_PRIOS));
	} else {
		*offer = c->kids_offer;
		*need = c->kids_need;
	}
}

/*
 * The lists of within-rate offers by priority: a class joins when it
 * starts offering a priority and stays when it stops (a leaf would
 * otherwise come and go with every packet); htb_rate_head drops it then.
 * A parent without a ceil's slack (the link, max-limit 0) is never in
 * RATE_ONLY and keeps no such lists.
 */
static inline void htb_rate_join(struct htb_class *c, unsigned prio)
{
	struct htb_class *p = c->parent;
	struct htb_link *l = htb_rate_link_of(c, prio);
	if (!l->next && p->parent && p->ceil_normal.kind == HTB_LIMITED)
		htb_list_add(&p->heads[HTB_RATE_HEADS + prio], l);
}

/* Moves c in and out of its parent's lists to match a new offer. */
static void htb_offer_apply(struct htb_class *c, uint64_t offer, uint8_t need)
{
	struct htb_class *p = c->parent;
	uint64_t x = c->offer ^ offer;
	while (x) {
		unsigned b = (unsigned)__builtin_ctzll(x);
		x &= x - 1;
		struct htb_link **head = &p->heads[b];
		if (offer >> b & 1) {
			htb_list_add(head, htb_link_of(c, false, b));
			p->kids_offer |= 1ull << b;
			htb_rate_join(c, b % HTB_PRIOS);
		} else {
			htb_list_del(head, htb_link_of(c, false, b));
			if (!*head)
				p->kids_offer &= ~(1ull << b);
		}
	}
	unsigned y = (unsigned)(c->need ^ need);
	while (y) {
		unsigned b = (unsigned)__builtin_ctz(y);
		y &= y - 1;
		struct htb_link **head = &p->heads[HTB_REQ_HEADS + b];
		if (need >> b & 1) {
			htb_list_add(head, htb_link_of(c, true, b));
			p->kids_need |= (uint8_t)(1u << b);
		} else {
			htb_list_del(head, htb_link_of(c, true, b));
			if (!*head)
				p->kids_need &= (uint8_t)~(1u << b);
		}
	}
	c->offer = offer;
	c->need = need;
}

/*
 * Recomputes offers from c up to the link. After a single change the walk
 * stops where nothing changes; after a charge (all) every class of the path
 * has new tokens, so it goes to the top.
 */
static void htb_offer_update(struct htb_class *c, bool all)
{
	for (;;) {
		uint64_t offer;
		uint8_t need;
		htb_offer_calc(c, &offer, &need);
		if (!c->parent) {
			c->offer = offer;
			c->need = need;
			return;
		}
		if (offer != c->offer || need != c->need)
			htb_offer_apply(c, offer, need);
		else if (!all)
			return;
		c = c->parent;
	}
}

static void htb_do_events(struct htb *h, uint64_t now)
{
	while (h->heap_n && h->heap[0]->key <= now) {
		struct htb_class *c = h->heap[0];
		htb_heap_del(h, c);
		if (c->stalled && c->stall_until <= now)
			c->stalled = false;
		htb_refill(c, now);
		htb_mode_update(h, c);
		htb_offer_update(c, false);
	}
}

static void htb_clock(struct htb *h, uint64_t now)
{
	if (now > h->now)
		h->now = now;
}

/* ---- drops ---- */

static void htb_count_drops(struct htb_class *c, uint64_t k)
{
	for (; c; c = c->parent)
		c->dropped += k;
}

/* Counts the packets a leaf's queue dropped and hands them to the caller;
 * self (the packet being enqueued) is left out: a false return covers it. */
static void htb_take_drops(struct htb_class *leaf, struct qpkt *d, const struct qpkt *self,
			   struct qpkt **dropped)
{
	struct qpkt **pp = &d;
	uint64_t k = 0;
	while (*pp) {
		if (*pp == self) {
			*pp = self->next;
			continue;
		}
		k++;
		pp = &(*pp)->next;
	}
	if (!k)
		return;
	*pp = *dropped;
	*dropped = d;
	htb_count_drops(leaf, k);
}

/* ---- build ---- */

static void htb_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void htb_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The entries a class has in its parent's lists: a leaf offers only
 * (0, its priority) or asks with its priority, and is in one list of
 * within-rate offers; an inner class may offer any level up to its own,
 * ask with any priority and be in every priority's list. */
static size_t htb_nlinks(const struct htb_class *c)
{
	return c->leaf ? 3 : (size_t)(c->level + 3) * HTB_PRIOS;
}

struct htb *htb_new(const struct htb_class_cfg *classes, size_t n, uint64_t link_rate,
		    uint64_t now, char *err, size_t errlen)
{
	struct htb *h = calloc(1, sizeof(*h));
	if (!h) {
		htb_err(err, errlen, "out of memory");
		return NULL;
	}
	if (n > (size_t)INT32_MAX - 1) {
		htb_err(err, errlen, "too many classes (%zu)", n);
		goto free_h;
	}
	h->n = n;
	h->now = now;
	h->cls = calloc(n + 1, sizeof(*h->cls));
	h->heap = calloc(n + 1, sizeof(*h->heap));
	h->qcfg = calloc(n + 1, sizeof(*h->qcfg));
	if (!h->cls || !h->heap || !h->qcfg)
		goto oom;
	h->root = &h->cls[n];

	for (size_t i = 0; i <= n; i++) {
		h->cls[i].hidx = SIZE_MAX;
		h->cls[i].first_child = -1;
		h->cls[i].next_sibling = -1;
		h->cls[i].leaf = true;
	}
	h->root->leaf = false;

	/* shape: parents first, priorities, depth */
	int max_inner_depth = 0;
	for (size_t i = 0; i < n; i++) {
		const struct htb_class_cfg *k = &classes[i];
		struct htb_class *c = &h->cls[i];
		if (k->parent < -1 || (k->parent >= 0 && (size_t)k->parent >= i)) {
			htb_err(err, errlen, "class %zu: parent %d must be an earlier class", i,
				k->parent);
			goto free_h;
		}
		if (k->priority < 1 || k->priority > HTB_PRIOS) {
			htb_err(err, errlen, "class %zu: priority %u is not in 1..8", i,
				(unsigned)k->priority);
			goto free_h;
		}
		c->parent = k->parent < 0 ? h->root : &h->cls[k->parent];
		c->depth = (uint8_t)(c->parent->depth + 1);
		c->parent->leaf = false;
		int pd = c->parent->depth;
		if (pd > max_inner_depth)
			max_inner_depth = pd;
		if (pd >= HTB_LEVELS - 1) {
			htb_err(err, errlen, "class %zu: the tree is deeper than %d levels", i,
				HTB_LEVELS - 1);
			goto free_h;
		}
	}
	for (size_t i = n; i-- > 0;) {
		struct htb_class *c = &h->cls[i];
		c->next_sibling = c->parent->first_child;
		c->parent->first_child = (int)i;
	}

	/* levels, then the list entries and list heads they need */
	int top = max_inner_depth + 1;
	size_t nlinks = 0, nheads = 0;
	for (size_t i = 0; i <= n; i++) {
		struct htb_class *c = &h->cls[i];
		c->level = c->leaf ? 0 : (uint8_t)(top - c->depth);
		if (i < n)
			nlinks += htb_nlinks(c);
		if (!c->leaf)
			nheads += HTB_NHEADS;
	}
	h->link_mem = calloc(nlinks ? nlinks : 1, sizeof(*h->link_mem));
	h->head_mem = calloc(nheads, sizeof(*h->head_mem));
	if (!h->link_mem || !h->head_mem)
		goto oom;
	struct htb_link *lk = h->link_mem;
	struct htb_link **hd = h->head_mem;
	for (size_t i = 0; i <= n; i++) {
		struct htb_class *c = &h->cls[i];
		if (i < n) {
			c->links = lk;
			for (size_t j = 0; j < htb_nlinks(c); j++)
				lk[j].cls = c;
			lk += htb_nlinks(c);
		}
		if (!c->leaf) {
			c->heads = hd;
			hd += HTB_NHEADS;
		}
	}

	/* buckets, quanta, burst, queues */
	for (size_t i = 0; i < n; i++) {
		const struct htb_class_cfg *k = &classes[i];
		struct htb_class *c = &h->cls[i];
		/* RouterOS ignores the priority of a leaf without max-limit */
		c->prio = (uint8_t)((c->leaf && !k->max_limit ? HTB_PRIOS : k->priority) - 1);
		c->quantum = htb_quantum_of(k->limit_at);
		htb_bucket_set(&c->rate, k->limit_at ? HTB_LIMITED : HTB_NONE, k->limit_at,
			       k->bucket_size_milli);
		htb_bucket_set(&c->ceil_normal, k->max_limit ? HTB_LIMITED : HTB_UNLIMITED,
			       k->max_limit, k->bucket_size_milli);
		c->ceil = c->ceil_normal;
		if (k->max_limit && k->burst_limit && k->burst_time_ns >= HTB_BURST_SLOTS) {
			c->has_burst = true;
			htb_bucket_set(&c->ceil_burst, HTB_LIMITED, k->burst_limit,
				       k->bucket_size_milli);
			c->burst_slot_ns = k->burst_time_ns / HTB_BURST_SLOTS;
			/* average < threshold  <=>  bytes over the window < this */
			c->burst_thresh_bytes = (uint64_t)((double)k->burst_threshold / 8.0 *
							   (double)(c->burst_slot_ns * HTB_BURST_SLOTS) / 1e9);
			c->burst_end = now + c->burst_slot_ns;
			c->bursting = c->burst_thresh_bytes > 0;   /* idle so far */
			if (c->bursting)
				c->ceil = c->ceil_burst;
		}
		if (c->leaf) {
			memcpy(&h->qcfg[i], &k->queue, sizeof(k->queue));
			c->q = qdisc_create(&k->queue, (uint64_t)k->id * 0x9e3779b97f4a7c15ull + i);
			if (!c->q) {
				htb_err(err, errlen, "class %zu: cannot create its queue (kind %d)", i,
					(int)k->queue.kind);
				goto free_h;
			}
		}
	}
	struct htb_class *r = h->root;
	r->prio = HTB_PRIOS - 1;
	r->quantum = HTB_MTU;
	htb_bucket_set(&r->rate, link_rate ? HTB_LIMITED : HTB_UNLIMITED, link_rate, 100);
	r->ceil = r->ceil_normal = r->rate;
	if (htb_set_slack(h, classes) < 0)
		goto oom;

	for (size_t i = 0; i <= n; i++) {
		struct htb_class *c = &h->cls[i];
		c->tokens = c->rate.buffer;
		c->ctokens = c->ceil.buffer;
		c->t_c = now;
		c->est.win_end = now + HTB_NS;
		for (size_t j = 0; c->links && j < htb_nlinks(c); j++)
			c->links[j].deficit = c->quantum;
		htb_mode_update(h, c);
	}
	return h;

oom:
	htb_err(err, errlen, "out of memory");
free_h:
	htb_free(h);
	return NULL;
}

void htb_free(struct htb *h)
{
	if (!h)
		return;
	for (size_t i = 0; h->cls && i < h->n; i++)
		if (h->cls[i].q)
			qdisc_destroy(h->cls[i].q);
	free(h->link_mem);
	free(h->head_mem);
	free(h->qcfg);
	free(h->heap);
	free(h->cls);
	free(h);
}

/* ---- the packet path ---- */

static void htb_set_active(struct htb *h, struct htb_class *c, bool on)
{
	if (c->active == on)
		return;
	c->active = on;
	if (on)
		h->nactive++;
	else
		h->nactive--;
}

bool htb_enqueue(struct htb *h, int leaf, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	htb_clock(h, now);
	if (leaf < 0 || (size_t)leaf >= h->n || !h->cls[leaf].leaf)
		return false;
	struct htb_class *c = &h->cls[leaf];
	struct qpkt *d = NULL;
	bool ok = qdisc_enqueue(c->q, p, now, &d);
	htb_take_drops(c, d, p, dropped);
	if (!ok) {
		htb_count_drops(c, 1);
		return false;
	}
	if ((!c->active || c->stalled) && qdisc_backlog_packets(c->q)) {
		htb_set_active(h, c, true);
		c->stalled = false;
		htb_refill(c, now);
		htb_mode_update(h, c);
		htb_offer_update(c, false);
	}
	return true;
}

/*
 * Charges a packet of len bytes that leaf sent with tokens lent at level
 * `lender`: ceil everywhere, rate from the lender up.
 */
static void htb_charge_class(struct htb *h, struct htb_class *leaf, unsigned lender,
			     uint32_t len, uint64_t now)
{
	for (struct htb_class *c = leaf; c; c = c->parent) {
		htb_refill(c, now);
		if (c->level >= lender) {
			if (c->level == lender)
				c->lends++;
			htb_bucket_take(&c->tokens, &c->rate, len);
		} else {
			c->borrows++;
		}
		htb_bucket_take(&c->ctokens, &c->ceil, len);
		c->bytes += len;
		c->packets++;
		htb_est_roll(&c->est, now);
		c->est.bytes += len;
		c->est.pkts++;
		c->burst_cur += len;
		htb_mode_update(h, c);
	}
	htb_offer_update(leaf, true);
}

/*
 * Every bit the link offers is backed by a non-empty list at each class on
 * the way down (offers are recomputed after every mode or activity change),
 * so the walk always reaches a leaf.
 */
struct qpkt *htb_dequeue(struct htb *h, uint64_t now, struct qpkt **dropped)
{
	struct htb_link *path[HTB_LEVELS + 1];
	struct htb_link **heads[HTB_LEVELS + 1];

	htb_clock(h, now);
	if (!h->nactive)
		return NULL;
	htb_do_events(h, now);
	while (h->root->offer) {
		unsigned bit = (unsigned)__builtin_ctzll(h->root->offer);
		unsigned level = bit / HTB_PRIOS, prio = bit % HTB_PRIOS;
		struct htb_class *c = h->root;
		bool borrowing = false;
		size_t np = 0;
		while (!c->leaf) {
			struct htb_link **head;
			if (c->level == level)
				borrowing = true;
			if (borrowing)
				head = &c->heads[HTB_REQ_HEADS + prio];
			else if (c->mode == HTB_RATE_ONLY)
				head = htb_rate_head(c, prio);
			else
				head = &c->heads[bit];
			if (!*head)
				return NULL;   /* offers out of step: cannot happen */
			heads[np] = head;
			path[np++] = *head;
			if (!borrowing && c->mode == HTB_RATE_ONLY) {
				/* the child's nearest lender of this priority */
				bit = (unsigned)__builtin_ctzll((*head)->cls->offer &
								 HTB_PRIO_BITS << prio);
				level = bit / HTB_PRIOS;
			}
			c = (*head)->cls;
		}

		struct qpkt *d = NULL;
		struct qpkt *p = qdisc_dequeue(c->q, now, &d);
		htb_take_drops(c, d, NULL, dropped);
		if (!qdisc_backlog_packets(c->q))
			htb_set_active(h, c, false);
		if (!p) {
			/* the queue holds packets back (or dropped its last) */
			if (c->active)
				htb_leaf_hold(c, now);
			htb_refill(c, now);
			htb_mode_update(h, c);
			htb_offer_update(c, false);
			continue;
		}
		for (size_t i = np; i-- > 0;) {
			struct htb_link *l = path[i];
			l->deficit -= p->len;
			if (l->deficit < 0) {
				l->deficit += l->cls->quantum;
				if (*heads[i] == l)
					*heads[i] = l->next;
			}
		}
		htb_charge_class(h, c, level, p->len, now);
		return p;
	}
	return NULL;
}

uint64_t htb_next_event(struct htb *h, uint64_t now)
{
	htb_clock(h, now);
	if (!h->nactive)
		return UINT64_MAX;
	htb_do_events(h, now);
	if (h->root->offer)
		return now;
	return h->heap_n ? h->heap[0]->key : UINT64_MAX;
}

/* ---- changes to a running scheduler ---- */

/*
 * Every packet a queue holds, in the order it would send them: it runs
 * ahead in time until it lets go of the last (a pacing queue refills, a
 * queue that drops on dequeue hands those over too: they are kept).
 */
static struct qpkt *htb_qdisc_take(struct qdisc *q, uint64_t now)
{
	struct qpkt *head = NULL, **tail = &head;
	uint64_t t = now + 3600 * HTB_NS;

	for (unsigned guard = 0; guard < 10000000; guard++) {
		struct qpkt *d = NULL;
		struct qpkt *p = qdisc_dequeue(q, t, &d);
		while (d) {
			struct qpkt *x = d;
			d = x->next;
			x->next = NULL;
			*tail = x;
			tail = &x->next;
		}
		if (p) {
			p->next = NULL;
			*tail = p;
			tail = &p->next;
		} else if (qdisc_backlog_packets(q)) {
			uint64_t nt = qdisc_next_time(q, t);
			t = nt > t && nt != UINT64_MAX ? nt : t + HTB_NS;
		}
		if (!qdisc_backlog_packets(q))
			break;
	}
	return head;
}

struct qpkt *htb_take_leaf(struct htb *h, int leaf, uint64_t now)
{
	if (!h || leaf < 0 || (size_t)leaf >= h->n || !h->cls[leaf].leaf)
		return NULL;
	struct htb_class *c = &h->cls[leaf];
	struct qpkt *l = htb_qdisc_take(c->q, now);
	htb_set_active(h, c, false);
	c->stalled = false;
	htb_refill(c, now);
	htb_mode_update(h, c);
	htb_offer_update(c, false);
	return l;
}

bool htb_same_shape(const struct htb *a, const struct htb *b)
{
	if (!a || !b || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->cls[i].parent - a->cls != b->cls[i].parent - b->cls ||
		    a->cls[i].leaf != b->cls[i].leaf)
			return false;
	return true;
}

/* A bucket that had no tokens to keep (none, unlimited) starts full. */
static void htb_tokens_keep(int64_t *tok, uint8_t old_kind, const struct htb_bucket *b)
{
	if (b->kind != HTB_LIMITED)
		return;
	if (old_kind != HTB_LIMITED || *tok > b->buffer)
		*tok = b->buffer;
	if (*tok < htb_floor(b))
		*tok = htb_floor(b);
}

/* The parameters of f (a class of a fresh build of the same shape) into c. */
static void htb_class_take(struct htb_class *c, const struct htb_class *f)
{
	uint8_t rate_kind = c->rate.kind, ceil_kind = c->ceil.kind;
	bool burst_same = c->has_burst == f->has_burst && c->burst_slot_ns == f->burst_slot_ns;

	c->quantum = f->quantum;
	c->prio = f->prio;
	c->rate = f->rate;
	c->ceil_normal = f->ceil_normal;
	c->ceil_burst = f->ceil_burst;
	c->has_burst = f->has_burst;
	c->burst_slot_ns = f->burst_slot_ns;
	c->burst_thresh_bytes = f->burst_thresh_bytes;
	if (!burst_same) {
		/* a new window: what the old one counted means nothing in it */
		c->burst_end = f->burst_end;
		c->burst_cur = f->burst_cur;
		c->burst_sum = f->burst_sum;
		memcpy(c->burst_slot, f->burst_slot, sizeof(c->burst_slot));
		c->burst_pos = f->burst_pos;
		c->bursting = f->bursting;
	} else if (c->has_burst) {
		c->bursting = c->burst_sum < c->burst_thresh_bytes;
	}
	c->ceil = c->has_burst && c->bursting ? c->ceil_burst : c->ceil_normal;
	htb_tokens_keep(&c->tokens, rate_kind, &c->rate);
	htb_tokens_keep(&c->ctokens, ceil_kind, &c->ceil);
	for (size_t j = 0; c->parent && j < htb_nlinks(c); j++)
		if (c->links[j].deficit > (int64_t)c->quantum)
			c->links[j].deficit = c->quantum;
}

int htb_update(struct htb *h, struct htb *from, uint64_t now, struct qpkt **dropped)
{
	if (!htb_same_shape(h, from))
		return -1;
	htb_clock(h, now);
	/* every class leaves its parent's lists (the within-rate ones too: a
	 * priority or a ceil may change); each is filed again below
	 * under its new priority and mode */
	for (size_t i = 0; i < h->n; i++) {
		htb_refill(&h->cls[i], now);
		htb_offer_apply(&h->cls[i], 0, 0);
		htb_rate_leave(&h->cls[i]);
	}
	htb_refill(h->root, now);
	for (size_t i = 0; i <= h->n; i++) {
		struct htb_class *c = &h->cls[i], *f = &from->cls[i];
		htb_class_take(c, f);
		if (!c->leaf || i == h->n || !memcmp(&h->qcfg[i], &from->qcfg[i], sizeof(h->qcfg[i])))
			continue;
		/* a new queue type: its packets move to a queue of the new
		 * parameters; what it refuses is dropped */
		struct qpkt *l = htb_qdisc_take(c->q, now);
		while (l) {
			struct qpkt *p = l, *d = NULL;
			l = p->next;
			p->next = NULL;
			bool ok = qdisc_enqueue(f->q, p, now, &d);
			htb_take_drops(c, d, p, dropped);
			if (!ok) {
				htb_count_drops(c, 1);
				p->next = *dropped;
				*dropped = p;
			}
		}
		struct qdisc *t = c->q;
		c->q = f->q;
		f->q = t;
		memcpy(&h->qcfg[i], &from->qcfg[i], sizeof(h->qcfg[i]));
	}
	/* children come after their parents: from the last class up, then
	 * the link, every class finds its children's offers in place */
	for (size_t k = h->n + 1; k-- > 0;) {
		struct htb_class *c = k ? &h->cls[k - 1] : h->root;
		if (c->leaf) {
			htb_set_active(h, c, qdisc_backlog_packets(c->q) > 0);
			c->stalled = false;
		}
		htb_mode_update(h, c);
		uint64_t offer;
		uint8_t need;
		htb_offer_calc(c, &offer, &need);
		if (c->parent) {
			htb_offer_apply(c, offer, need);
		} else {
			c->offer = offer;
			c->need = need;
		}
	}
	return 0;
}

/* ---- statistics ---- */

static void htb_queued(const struct htb *h, const struct htb_class *c, uint32_t *pkts,
		       uint64_t *bytes)
{
	if (c->leaf) {
		*pkts += qdisc_backlog_packets(c->q);
		*bytes += qdisc_backlog_bytes(c->q);
		return;
	}
	for (int k = c->first_child; k >= 0; k = h->cls[k].next_sibling)
		htb_queued(h, &h->cls[k], pkts, bytes);
}

void htb_stats(const struct htb *h, int cls, struct htb_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!h || cls < 0 || (size_t)cls >= h->n)
		return;
	const struct htb_class *c = &h->cls[cls];
	out->bytes = c->bytes;
	out->packets = c->packets;
	out->dropped = c->dropped;
	out->lends = c->lends;
	out->borrows = c->borrows;
	htb_queued(h, c, &out->queued_packets, &out->queued_bytes);
	struct htb_est e = c->est;
	htb_est_roll(&e, h->now);
	out->rate_bps = e.bps;
	out->packet_rate = e.pps;
}

static void htb_zero_subtree(struct htb *h, struct htb_class *c)
{
	c->bytes = c->packets = c->dropped = c->lends = c->borrows = 0;
	for (int k = c->first_child; k >= 0; k = h->cls[k].next_sibling)
		htb_zero_subtree(h, &h->cls[k]);
}

/* Resets a class and its subtree (cls < 0: every class); the ancestors lose
 * what the subtree had counted, so an inner class still sums its children. */
void htb_reset_stats(struct htb *h, int cls)
{
	if (!h)
		return;
	struct htb_class *c = cls < 0 || (size_t)cls >= h->n ? h->root : &h->cls[cls];
	for (struct htb_class *a = c->parent; a; a = a->parent) {
		a->bytes -= c->bytes;
		a->packets -= c->packets;
		a->dropped -= c->dropped;
	}
	htb_zero_subtree(h, c);
}

void htb_restore_stats(struct htb *h, int cls, const struct htb_stats *s)
{
	if (!h || cls < 0 || (size_t)cls >= h->n)
		return;
	struct htb_class *c = &h->cls[cls];
	c->bytes = s->bytes;
	c->packets = s->packets;
	c->dropped = s->dropped;
	c->lends = s->lends;
	c->borrows = s->borrows;
	c->est.bps = s->rate_bps;
	c->est.pps = s->packet_rate;
}

size_t htb_nclasses(const struct htb *h)
{
	return h ? h->n : 0;
}

bool htb_is_leaf(const struct htb *h, int cls)
{
	return h && cls >= 0 && (size_t)cls < h->n && h->cls[cls].leaf;
}
