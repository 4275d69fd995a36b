/*
 * ct: connection tracking (see ct.h for the contract).
 *
 * Layout. Entries live in slots allocated in chunks and recycled through
 * free lists, so the packet path never calls malloc once the pools have
 * grown; at most max-entries (plus a small reserve for unconfirmed entries
 * of packets in flight) are in use. A slot is the public struct ct_entry
 * followed by a private extension holding what ct.h has no field for
 * (per-direction highest ACK, the annotations Linux keeps for ignored
 * packets); the timeout class sits in the entry's padding (lru_cls), so
 * that a packet of an established connection reads and counts within the
 * entry's first 72 bytes. There are two pools: IPv4 slots, and IPv6
 * slots that carry the four addresses after the extension. Every link (hash
 * chains, expiry lists, free lists) is a 32-bit slot index: the pool in bit
 * 30, the slot number plus one below it, 0 for none. An IPv4 entry thus
 * costs 152 bytes and 4 of bucket array where pointers and inline IPv6
 * tuples took 224.
 *
 * Hash. One bucket array, a power of two sized from max-entries (capped at
 * 2^20 heads), keyed SipHash-2-4 over the canonical bytes of a tuple. Every
 * confirmed entry is chained twice, once per direction, through hnext[dir];
 * a chain link is the entry's index shifted left with the direction in the
 * low bit, so a walk knows which of the two links of the next entry to
 * follow.
 *
 * Expiry. Instead of one LRU there is one per timeout class (CTO_*): all
 * members of a class got the same timeout, so appending on refresh keeps
 * each list sorted by expiry and ct_expire pops expired heads in O(removed)
 * with no scanning. Lookups also drop an expired entry on sight, so the
 * packet path is exact whatever the collection budget. (A timeout changed
 * by ct_set_config applies from each entry's next refresh, as in Linux;
 * until then a list may be out of order and collection of its later
 * members waits for its head.) A refresh within a class moves the entry
 * only when it gains a step (refresh): busy flows touch the lists rarely. Eviction looks at a few heads of every list
 * for the non-assured entry used least recently.
 *
 * Linux semantics reproduced (nf_conntrack_core, _proto_tcp, _udp, _icmp,
 * _icmpv6, _generic), with these deliberate differences, all because of
 * what the engine gives us rather than by choice of policy:
 * - non-first fragments are invalid (the engine does not reassemble yet);
 * - SYN_SENT2 uses the syn-sent timeout (RouterOS has no setting for it;
 *   Linux's defaults for the two are equal);
 * - UDP follows the kernels RouterOS ships (3.3 and 5.6): the first packet
 *   processed after a reply was seen switches to udp-stream-timeout and
 *   sets assured; newer kernels wait 2 s before doing so;
 * - ICMP tuples carry no type (ct.h keys them by id), so a packet hitting
 *   an ICMP entry must be a query in the original direction and its answer
 *   in the reply direction, else it is invalid;
 * - counters count every packet attached to an entry (new or established,
 *   including packets the TCP tracker ignores), not related errors.
 */
#include <stdlib.h>
#include <string.h>

#include "engine/ct.h"

#define NSEC 1000000000ull

#define CT_BUCKETS_MAX (1u << 20)
#define CT_UNCONF_RESERVE 64u /* slots beyond max-entries for packets in flight */
#define CT_EVICT_SCAN 8       /* heads looked at per timeout class when full */
#define CT_EXPIRE_ON_FULL 16  /* expired entries collected before evicting */

#define IPPROTO_ICMP_ 1
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_DCCP_ 33
#define IPPROTO_GRE_ 47
#define IPPROTO_ICMPV6_ 58
#define IPPROTO_SCTP_ 132
#define IPPROTO_UDPLITE_ 136

/* Per-direction TCP flags (struct ct_tcp_dir.flags). */
#define TF_WSCALE 0x01   /* the sender offered window scaling */
#define TF_SACKPERM 0x02 /* the sender allows SACK */
#define TF_CLOSE_INIT 0x04 /* the sender sent the first FIN */
#define TF_LIBERAL 0x08  /* picked up mid-stream: window failures pass */
#define TF_UNACKED 0x10  /* sent data the peer has not acknowledged yet */
#define TF_MAXACK 0x20   /* ext.maxack[dir] is valid */

/* ext.last_flags: options of an ignored SYN, and two connection markers. */
#define LF_WSCALE TF_WSCALE
#define LF_SACKPERM TF_SACKPERM
#define LF_CHALLENGE 0x40 /* a SYN was let through in LAST_ACK: expect a challenge ACK */
#define LF_SIMOPEN 0x80   /* simultaneous open seen */

#define TCP_MAX_WSCALE 14
#define TCP_MAX_RETRANS 3 /* Linux's nf_conntrack_tcp_max_retrans */
#define MAXACKWIN_MIN 66000u

struct ct_ext {
	uint32_t maxack[2]; /* highest ACK sent by each direction */
	uint32_t last_end;  /* seq + len of the last annotated packet */
	uint16_t last_win;  /* raw window of the last annotated packet */
	uint8_t last_wscale;
	uint8_t last_flags; /* LF_* */
};

struct ct_slot {
	struct ct_entry e; /* first: a struct ct_entry * is a struct ct_slot * */
	struct ct_ext x;
};

/* An IPv6 slot: addresses [direction][0 source, 1 destination]. */
struct ct_slot6 {
	struct ct_slot s;
	uint8_t a[2][2][16];
};

_Static_assert(offsetof(struct ct_slot, e) == 0, "entry must start its slot");
_Static_assert(offsetof(struct ct_entry, lru_cls) < offsetof(struct ct_entry, tcp_last_seq) &&
		       offsetof(struct ct_entry, expires) < offsetof(struct ct_entry, tcp_last_seq) &&
		       offsetof(struct ct_entry, packets) < offsetof(struct ct_entry, tcp_last_seq),
	       "what a packet of an established connection touches lies before tcp_last_seq "
	       "(ct_prefetch_hot)");
_Static_assert(offsetof(struct ct_slot6, s) == 0, "entry must start its slot");
_Static_assert(sizeof(struct ct_slot) <= 152, "an IPv4 entry stays within 152 bytes");

#define IDX_V6 0x40000000u   /* the slot is in the IPv6 pool */
#define IDX_NUM 0x3fffffffu  /* slot number + 1 */
#define CT_CHUNK_SHIFT 12
#define CT_CHUNK (1u << CT_CHUNK_SHIFT) /* slots per pool chunk */

struct ct_pool {
	uint8_t **chunks;
	size_t nchunks, chunks_cap;
	uint32_t nslots;       /* slots allocated */
	uint32_t free;         /* free slots, through lru_next */
	size_t size;           /* bytes per slot */
};

struct ct_list {
	uint32_t first, last;
};

struct ct_table {
	struct ct_config cfg;
	uint64_t k0, k1;       /* SipHash key */
	uint32_t *buckets;     /* chain links, 0 = end of chain */
	uint32_t nbuckets;     /* power of two */
	size_t nconf;          /* confirmed entries */
	size_t inuse;          /* confirmed and unconfirmed entries */
	uint64_t now;          /* latest time seen by any call */
	uint32_t serial;       /* the last entry's serial (struct ct_entry.serial) */
	struct ct_pool pool[2]; /* IPv4, IPv6 */
	struct ct_list lru[CTO_MAX]; /* expiry lists, one per class */
};

static inline struct ct_ext *ext_of(struct ct_entry *e)
{
	return &((struct ct_slot *)e)->x;
}

static inline struct ct_entry *ent(const struct ct_table *t, uint32_t idx)
{
	const struct ct_pool *pl = &t->pool[(idx & IDX_V6) != 0];
	uint32_t n = (idx & IDX_NUM) - 1;
	return (struct ct_entry *)(pl->chunks[n >> CT_CHUNK_SHIFT] +
				   (size_t)(n & (CT_CHUNK - 1)) * pl->size);
}

/* ent for a slot of the IPv4 pool (the flow cache's: FastTrack is IPv4's),
 * with the slot's size known: a few instructions fewer on every hit. */
static inline struct ct_entry *ent4(const struct ct_table *t, uint32_t idx)
{
	uint32_t n = (idx & IDX_NUM) - 1;
	return (struct ct_entry *)(t->pool[0].chunks[n >> CT_CHUNK_SHIFT] +
				   (size_t)(n & (CT_CHUNK - 1)) * sizeof(struct ct_slot));
}

/* Addresses of an IPv6 entry: side 0 source, 1 destination. */
static inline uint8_t *addr6(const struct ct_entry *e, unsigned dir, unsigned side)
{
	return ((struct ct_slot6 *)(uintptr_t)e)->a[dir][side];
}

/* ---- SipHash-2-4 ---- */

static inline uint64_t rotl64(uint64_t v, unsigned s)
{
	return (v << s) | (v >> (64 - s));
}

static inline uint64_t load_le64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}

#define SIPROUND(v0, v1, v2, v3)                                                          \
	do {                                                                              \
		v0 += v1; v1 = rotl64(v1, 13); v1 ^= v0; v0 = rotl64(v0, 32);             \
		v2 += v3; v3 = rotl64(v3, 16); v3 ^= v2;                                  \
		v0 += v3; v3 = rotl64(v3, 21); v3 ^= v0;                                  \
		v2 += v1; v1 = rotl64(v1, 17); v1 ^= v2; v2 = rotl64(v2, 32);             \
	} while (0)

static uint64_t siphash24(uint64_t k0, uint64_t k1, const uint8_t *m, size_t len)
{
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull;
	uint64_t v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull;
	uint64_t v3 = k1 ^ 0x7465646279746573ull;
	size_t full = len & ~(size_t)7;

	for (size_t i = 0; i < full; i += 8) {
		uint64_t w = load_le64(m + i);
		v3 ^= w;
		SIPROUND(v0, v1, v2, v3);
		SIPROUND(v0, v1, v2, v3);
		v0 ^= w;
	}
	uint64_t last = (uint64_t)(len & 0xff) << 56;
	for (size_t i = 0; i < (len & 7); i++)
		last |= (uint64_t)m[full + i] << (8 * i);
	v3 ^= last;
	SIPROUND(v0, v1, v2, v3);
	SIPROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		SIPROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* Not in ct.h: exported so the unit test can pin it to the reference vectors. */
uint64_t ct_siphash24(const uint8_t key[16], const void *data, size_t len)
{
	return siphash24(load_le64(key), load_le64(key + 8), data, len);
}

/* ---- tuples ---- */

static size_t addr_len(uint8_t family)
{
	return family == 6 ? 16 : 4;
}

static bool addr_eq(uint8_t family, const union ipaddr *a, const union ipaddr *b)
{
	if (family == 6)
		return memcmp(a->v6, b->v6, 16) == 0;
	return a->v4 == b->v4;
}

/* Is direction d of e the tuple k? */
static inline bool entry_is(const struct ct_entry *e, unsigned d, const struct ct_tuple *k)
{
	const struct ct_ends *x = &e->t[d];
	if (e->family != k->family || e->proto != k->proto || x->sport != k->sport ||
	    x->dport != k->dport)
		return false;
	if (k->family == 4)
		return x->src == k->src.v4 && x->dst == k->dst.v4;
	return memcmp(addr6(e, d, 0), k->src.v6, 16) == 0 &&
	       memcmp(addr6(e, d, 1), k->dst.v6, 16) == 0;
}

void ct_entry_tuple(const struct ct_entry *e, unsigned dir, struct ct_tuple *out)
{
	const struct ct_ends *x = &e->t[dir];
	memset(out, 0, sizeof(*out));
	out->family = e->family;
	out->proto = e->proto;
	out->sport = x->sport;
	out->dport = x->dport;
	if (e->family == 6) {
		memcpy(out->src.v6, addr6(e, dir, 0), 16);
		memcpy(out->dst.v6, addr6(e, dir, 1), 16);
	} else {
		out->src.v4 = x->src;
		out->dst.v4 = x->dst;
	}
}

/* Stores k as direction d of e (family and protocol are the entry's). */
static void entry_set(struct ct_entry *e, unsigned d, const struct ct_tuple *k)
{
	struct ct_ends *x = &e->t[d];
	x->sport = k->sport;
	x->dport = k->dport;
	if (e->family == 6) {
		memcpy(addr6(e, d, 0), k->src.v6, 16);
		memcpy(addr6(e, d, 1), k->dst.v6, 16);
	} else {
		x->src = k->src.v4;
		x->dst = k->dst.v4;
	}
}

/* Hashes the bytes entry_is compares, nothing else (no padding, no
 * unused tail of an IPv4 address). */
static uint32_t tuple_hash(const struct ct_table *t, const struct ct_tuple *k)
{
	uint8_t b[6 + 32];
	size_t al = addr_len(k->family);

	b[0] = k->family;
	b[1] = k->proto;
	memcpy(b + 2, &k->sport, 2);
	memcpy(b + 4, &k->dport, 2);
	memcpy(b + 6, &k->src, al);
	memcpy(b + 6 + al, &k->dst, al);
	return (uint32_t)siphash24(t->k0, t->k1, b, 6 + 2 * al);
}

static uint32_t tuple_bucket(const struct ct_table *t, const struct ct_tuple *k)
{
	return tuple_hash(t, k) & (t->nbuckets - 1);
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == IPPROTO_TCP_ || proto == IPPROTO_UDP_ || proto == IPPROTO_UDPLITE_ ||
	       proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_;
}

static bool proto_is_icmp(uint8_t proto)
{
	return proto == IPPROTO_ICMP_ || proto == IPPROTO_ICMPV6_;
}

static void tuple_of_pkt(const struct pkt *p, struct ct_tuple *k)
{
	memset(k, 0, sizeof(*k));
	k->family = p->family;
	k->proto = p->proto;
	memcpy(&k->src, &p->src, addr_len(p->family));
	memcpy(&k->dst, &p->dst, addr_len(p->family));
	if (proto_has_ports(p->proto)) {
		k->sport = p->sport;
		k->dport = p->dport;
	} else if (proto_is_icmp(p->proto)) {
		k->sport = k->dport = p->sport;
	}
}

static void tuple_invert(const struct ct_tuple *in, struct ct_tuple *out)
{
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->proto = in->proto;
	memcpy(&out->src, &in->dst, addr_len(in->family));
	memcpy(&out->dst, &in->src, addr_len(in->family));
	out->sport = in->dport;
	out->dport = in->sport;
}

/* ---- hash chains ---- */

static inline uint32_t link_of(const struct ct_entry *e, unsigned dir)
{
	return e->self << 1 | dir;
}

static inline unsigned link_dir(uint32_t l)
{
	return l & 1u;
}

static inline struct ct_entry *link_entry(const struct ct_table *t, uint32_t l)
{
	return ent(t, l >> 1);
}

static uint32_t entry_bucket(const struct ct_table *t, const struct ct_entry *e, unsigned dir)
{
	struct ct_tuple k;
	ct_entry_tuple(e, dir, &k);
	return tuple_bucket(t, &k);
}

static void hash_insert(struct ct_table *t, struct ct_entry *e, unsigned dir)
{
	uint32_t b = entry_bucket(t, e, dir);
	e->hnext[dir] = t->buckets[b];
	t->buckets[b] = link_of(e, dir);
}

/* Chains are short (about two links per bucket when full): walk to the
 * link that points at (e, dir) and splice it out. t[dir] must not have
 * changed since the insertion (NAT rewrites t[1] before ct_confirm). */
static void hash_unlink(struct ct_table *t, struct ct_entry *e, unsigned dir)
{
	uint32_t want = link_of(e, dir);
	uint32_t *at = &t->buckets[entry_bucket(t, e, dir)];

	while (*at) {
		if (*at == want) {
			*at = e->hnext[dir];
			return;
		}
		struct ct_entry *ce = link_entry(t, *at);
		at = &ce->hnext[link_dir(*at)];
	}
}

/* ---- expiry lists ---- */

static void lru_unlink(struct ct_table *t, struct ct_entry *e, unsigned cls)
{
	struct ct_list *l = &t->lru[cls];
	if (e->lru_prev)
		ent(t, e->lru_prev)->lru_next = e->lru_next;
	else
		l->first = e->lru_next;
	if (e->lru_next)
		ent(t, e->lru_next)->lru_prev = e->lru_prev;
	else
		l->last = e->lru_prev;
	e->lru_prev = e->lru_next = 0;
}

static void lru_append(struct ct_table *t, struct ct_entry *e, unsigned cls)
{
	struct ct_list *l = &t->lru[cls];
	e->lru_next = 0;
	e->lru_prev = l->last;
	if (l->last)
		ent(t, l->last)->lru_next = e->self;
	else
		l->first = e->self;
	l->last = e->self;
}

static void lru_prepend(struct ct_table *t, struct ct_entry *e, unsigned cls)
{
	struct ct_list *l = &t->lru[cls];
	e->lru_prev = 0;
	e->lru_next = l->first;
	if (l->first)
		ent(t, l->first)->lru_prev = e->self;
	else
		l->last = e->self;
	l->first = e->self;
}

/* The first entry of expiry list cls, or NULL. */
static struct ct_entry *lru_first(const struct ct_table *t, unsigned cls)
{
	return t->lru[cls].first ? ent(t, t->lru[cls].first) : NULL;
}

/* ---- pools ---- */

static size_t pool_limit(const struct ct_table *t)
{
	return (size_t)t->cfg.max_entries + CT_UNCONF_RESERVE;
}

/* Adds a chunk of slots to pool v6 (0 or 1). */
static bool pool_grow(struct ct_table *t, unsigned v6)
{
	struct ct_pool *pl = &t->pool[v6];
	if (pl->nslots >= IDX_NUM - CT_CHUNK)
		return false;
	if (pl->nchunks == pl->chunks_cap) {
		size_t cap = pl->chunks_cap ? pl->chunks_cap * 2 : 16;
		uint8_t **c = realloc(pl->chunks, cap * sizeof(*c));
		if (!c)
			return false;
		pl->chunks = c;
		pl->chunks_cap = cap;
	}
	/* whole chunks, never moved: packets and the flow cache hold entry
	 * pointers; calloc's fresh pages cost nothing until touched */
	uint32_t n = CT_CHUNK, base = pl->nslots;
	uint8_t *c = calloc(n, pl->size);
	if (!c)
		return false;
	pl->chunks[pl->nchunks++] = c;
	pl->nslots += n;
	for (uint32_t i = n; i-- > 0;) {
		uint32_t idx = (base + i + 1) | (v6 ? IDX_V6 : 0);
		struct ct_entry *e = ent(t, idx);
		e->lru_next = pl->free;
		pl->free = idx;
	}
	return true;
}

static void slot_free(struct ct_table *t, struct ct_entry *e)
{
	uint32_t idx = e->self;
	struct ct_pool *pl = &t->pool[(idx & IDX_V6) != 0];
	memset(e, 0, pl->size);
	e->lru_next = pl->free;
	pl->free = idx;
	t->inuse--;
}

static bool make_room(struct ct_table *t, uint64_t now);

static struct ct_entry *slot_alloc(struct ct_table *t, uint8_t family, uint64_t now)
{
	unsigned v6 = family == 6;
	struct ct_pool *pl = &t->pool[v6];
	if (t->inuse >= pool_limit(t) && !make_room(t, now))
		return NULL;
	if (!pl->free && !pool_grow(t, v6))
		return NULL;
	uint32_t idx = pl->free;
	struct ct_entry *e = ent(t, idx);
	pl->free = e->lru_next;
	memset(e, 0, pl->size);
	e->self = idx;
	e->family = family;
	/* a table-wide count: a slot's next entry has another serial unless
	 * 2^32 entries were made in between */
	if (++t->serial == 0)
		t->serial = 1;
	e->serial = t->serial;
	t->inuse++;
	return e;
}

/* ---- lookup, refresh, removal ---- */

static bool expired(const struct ct_entry *e, uint64_t now)
{
	return e->expires <= now;
}

static void entry_unhash(struct ct_table *t, struct ct_entry *e)
{
	hash_unlink(t, e, 0);
	hash_unlink(t, e, 1);
	lru_unlink(t, e, e->lru_cls);
	e->status &= (uint16_t)~CTS_CONFIRMED;
	t->nconf--;
}

void ct_remove(struct ct_table *t, struct ct_entry *e)
{
	if (!e)
		return;
	if (e->status & CTS_CONFIRMED)
		entry_unhash(t, e);
	slot_free(t, e);
}

/* Finds a confirmed entry by one of its tuples, whose hash is h; an
 * expired one is removed and not found. */
static struct ct_entry *lookup_h(struct ct_table *t, const struct ct_tuple *k, uint32_t h,
				 uint64_t now, unsigned *dir)
{
	for (uint32_t l = t->buckets[h & (t->nbuckets - 1)]; l;) {
		struct ct_entry *e = link_entry(t, l);
		unsigned d = link_dir(l);
		if (entry_is(e, d, k)) {
			if (expired(e, now)) {
				ct_remove(t, e);
				return NULL;
			}
			*dir = d;
			return e;
		}
		l = e->hnext[d];
	}
	return NULL;
}

static struct ct_entry *lookup(struct ct_table *t, const struct ct_tuple *k, uint64_t now,
			       unsigned *dir)
{
	return lookup_h(t, k, tuple_hash(t, k), now, dir);
}

/* The lookup of a packet's own tuple k: with the hash ct_prefetch left. */
static struct ct_entry *lookup_pkt(struct ct_table *t, const struct pkt *p,
				   const struct ct_tuple *k, uint64_t now, unsigned *dir)
{
	return lookup_h(t, k, p->ct_hash ? p->ct_hash - 1 : tuple_hash(t, k), now, dir);
}

void ct_prefetch(struct ct_table *t, struct pkt *p)
{
	struct ct_tuple k;
	if (!t->cfg.enabled || (p->family != 4 && p->family != 6) || !(p->flags & PKT_F_L4) ||
	    (p->flags & PKT_F_FRAGMENT))
		return;
	tuple_of_pkt(p, &k);
	uint32_t h = tuple_hash(t, &k);
	p->ct_hash = h + 1; /* 0 is "none": the one hash 2^32-1 is computed again */
	__builtin_prefetch(&t->buckets[h & (t->nbuckets - 1)]);
}

void ct_prefetch_entry(struct ct_table *t, const struct pkt *p)
{
	uint32_t l = p->ct_hash ? t->buckets[(p->ct_hash - 1) & (t->nbuckets - 1)] : 0;
	if (l)
		ct_prefetch_hot(link_entry(t, l));
}

/*
 * A confirmed entry refreshed within its class moves on its expiry list
 * only when that gains it a step, 1/64 of the timeout and at most 1 s
 * (Linux refreshes at jiffy granularity): a flow's packets between steps
 * leave the list alone, and the entry may expire up to a step early.
 */
static uint64_t refresh_step(uint64_t timeout)
{
	uint64_t s = timeout / 64;
	return s < NSEC ? s : NSEC;
}

static void refresh_move(struct ct_table *t, struct ct_entry *e, unsigned cls, uint64_t exp)
{
	e->expires = exp;
	if (e->status & CTS_CONFIRMED) {
		lru_unlink(t, e, e->lru_cls);
		lru_append(t, e, cls);
	}
	e->lru_cls = (uint8_t)cls;
}

/* Inline: the common case, a busy flow within its step, is a few tests. */
static inline void refresh(struct ct_table *t, struct ct_entry *e, unsigned cls, uint64_t now)
{
	uint64_t exp = now + t->cfg.timeout[cls];
	if ((e->status & CTS_CONFIRMED) && cls == e->lru_cls && exp >= e->expires &&
	    exp - e->expires < refresh_step(t->cfg.timeout[cls]))
		return;
	refresh_move(t, e, cls, exp);
}

/* Ends a confirmed entry now but keeps it valid for the packet holding it:
 * the next lookup or ct_expire removes it. */
static void kill(struct ct_table *t, struct ct_entry *e, uint64_t now)
{
	e->expires = now;
	if (e->status & CTS_CONFIRMED) {
		lru_unlink(t, e, e->lru_cls);
		lru_prepend(t, e, e->lru_cls);
	}
}

size_t ct_expire(struct ct_table *t, uint64_t now, size_t budget)
{
	size_t n = 0;

	if (now > t->now)
		t->now = now;
	for (unsigned c = 0; c < CTO_MAX && n < budget; c++) {
		struct ct_entry *e;
		while (n < budget && (e = lru_first(t, c)) && expired(e, now)) {
			ct_remove(t, e);
			n++;
		}
	}
	return n;
}

/* Evicts the non-assured entry used least recently among the first few of
 * every expiry list. */
static bool evict_one(struct ct_table *t)
{
	struct ct_entry *victim = NULL;
	int64_t victim_used = 0;

	for (unsigned c = 0; c < CTO_MAX; c++) {
		struct ct_entry *e = lru_first(t, c);
		for (int i = 0; i < CT_EVICT_SCAN && e;
		     i++, e = e->lru_next ? ent(t, e->lru_next) : NULL) {
			if (e->status & CTS_ASSURED)
				continue;
			int64_t used = (int64_t)(e->expires - t->cfg.timeout[c]);
			if (!victim || used < victim_used) {
				victim = e;
				victim_used = used;
			}
			break; /* later ones of this list were used more recently */
		}
	}
	if (!victim)
		return false;
	ct_remove(t, victim);
	return true;
}

static bool make_room(struct ct_table *t, uint64_t now)
{
	return ct_expire(t, now, CT_EXPIRE_ON_FULL) > 0 || evict_one(t);
}

/* ---- table ---- */

static uint32_t buckets_for(uint32_t max_entries)
{
	uint32_t n = 16;
	while (n < max_entries && n < CT_BUCKETS_MAX)
		n <<= 1;
	return n;
}

void ct_config_default(struct ct_config *c)
{
	memset(c, 0, sizeof(*c));
	c->enabled = true; /* RouterOS enabled=auto: on as soon as rules need it */
	c->loose = true;
	/* RouterOS allows up to 1048576; 65536 keeps the default pool ~14 MiB. */
	c->max_entries = 65536;
	c->timeout[CTO_TCP_SYN_SENT] = 5 * NSEC;
	c->timeout[CTO_TCP_SYN_RECV] = 5 * NSEC;
	c->timeout[CTO_TCP_ESTABLISHED] = 86400 * NSEC;
	c->timeout[CTO_TCP_FIN_WAIT] = 10 * NSEC;
	c->timeout[CTO_TCP_CLOSE_WAIT] = 10 * NSEC;
	c->timeout[CTO_TCP_LAST_ACK] = 10 * NSEC;
	c->timeout[CTO_TCP_TIME_WAIT] = 10 * NSEC;
	c->timeout[CTO_TCP_CLOSE] = 10 * NSEC;
	c->timeout[CTO_TCP_MAX_RETRANS] = 300 * NSEC;
	c->timeout[CTO_TCP_UNACKED] = 300 * NSEC;
	c->timeout[CTO_UDP] = 10 * NSEC;
	c->timeout[CTO_UDP_STREAM] = 180 * NSEC;
	c->timeout[CTO_ICMP] = 10 * NSEC;
	c->timeout[CTO_GENERIC] = 600 * NSEC;
}

struct ct_table *ct_create(const struct ct_config *c, const uint8_t key[16])
{
	static const uint8_t zero[16];
	struct ct_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	if (c)
		t->cfg = *c;
	else
		ct_config_default(&t->cfg);
	if (!key)
		key = zero;
	t->k0 = load_le64(key);
	t->k1 = load_le64(key + 8);
	t->nbuckets = buckets_for(t->cfg.max_entries);
	t->buckets = calloc(t->nbuckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->pool[0].size = sizeof(struct ct_slot);
	t->pool[1].size = sizeof(struct ct_slot6);
	return t;
}

void ct_destroy(struct ct_table *t)
{
	if (!t)
		return;
	for (unsigned v = 0; v < 2; v++) {
		for (size_t i = 0; i < t->pool[v].nchunks; i++)
			free(t->pool[v].chunks[i]);
		free(t->pool[v].chunks);
	}
	free(t->buckets);
	free(t);
}

static void rehash(struct ct_table *t, uint32_t nb)
{
	uint32_t *b = calloc(nb, sizeof(*b));
	if (!b)
		return; /* keep the old array: longer chains, still correct */
	free(t->buckets);
	t->buckets = b;
	t->nbuckets = nb;
	for (unsigned c = 0; c < CTO_MAX; c++)
		for (uint32_t i = t->lru[c].first; i; i = ent(t, i)->lru_next) {
			hash_insert(t, ent(t, i), 0);
			hash_insert(t, ent(t, i), 1);
		}
}

void ct_set_config(struct ct_table *t, const struct ct_config *c)
{
	t->cfg = *c;
	uint32_t nb = buckets_for(c->max_entries);
	if (nb != t->nbuckets)
		rehash(t, nb);
}

const struct ct_config *ct_get_config(const struct ct_table *t)
{
	return &t->cfg;
}

size_t ct_count(const struct ct_table *t)
{
	return t->nconf;
}

size_t ct_entry_size(void)
{
	return sizeof(struct ct_slot) + sizeof(uint32_t);
}

int ct_foreach(struct ct_table *t, int (*fn)(void *ctx, struct ct_entry *e), void *ctx)
{
	for (unsigned c = 0; c < CTO_MAX; c++) {
		for (uint32_t i = t->lru[c].first, n; i; i = n) {
			struct ct_entry *e = ent(t, i);
			n = e->lru_next; /* fn may remove e */
			if (expired(e, t->now))
				continue;
			int rc = fn(ctx, e);
			if (rc)
				return rc;
		}
	}
	return 0;
}

void ct_flush(struct ct_table *t)
{
	for (unsigned c = 0; c < CTO_MAX; c++)
		while (t->lru[c].first)
			ct_remove(t, ent(t, t->lru[c].first));
}

bool ct_reply_taken(struct ct_table *t, const struct ct_tuple *reply)
{
	struct ct_tuple k;
	unsigned dir;

	/* normalise: the caller may leave garbage past an IPv4 address */
	memset(&k, 0, sizeof(k));
	k.family = reply->family;
	k.proto = reply->proto;
	k.sport = reply->sport;
	k.dport = reply->dport;
	memcpy(&k.src, &reply->src, addr_len(reply->family));
	memcpy(&k.dst, &reply->dst, addr_len(reply->family));
	return lookup(t, &k, t->now, &dir) != NULL;
}

struct ct_entry *ct_find(struct ct_table *t, const struct ct_tuple *k, unsigned *dir)
{
	struct ct_tuple n;

	memset(&n, 0, sizeof(n));
	n.family = k->family;
	n.proto = k->proto;
	n.sport = k->sport;
	n.dport = k->dport;
	memcpy(&n.src, &k->src, addr_len(k->family));
	memcpy(&n.dst, &k->dst, addr_len(k->family));
	return lookup(t, &n, t->now, dir);
}

void ct_tuple_of_pkt(const struct pkt *p, struct ct_tuple *k)
{
	tuple_of_pkt(p, k);
}

bool ct_fasttracked(struct ct_table *t, const struct pkt *p, uint64_t now)
{
	struct ct_tuple k;
	unsigned dir;

	if (p->family != 4 || (p->proto != IPPROTO_TCP_ && p->proto != IPPROTO_UDP_) ||
	    !(p->flags & PKT_F_L4))
		return false;
	if (now > t->now)
		t->now = now;
	tuple_of_pkt(p, &k);
	const struct ct_entry *e = lookup(t, &k, now, &dir);
	return e && (e->status & CTS_FASTTRACK);
}

/* ---- entries of packets ---- */

static struct ct_entry *entry_new(struct ct_table *t, const struct ct_tuple *k, uint64_t now)
{
	struct ct_entry *e = slot_alloc(t, k->family, now);
	if (!e)
		return NULL;
	struct ct_tuple r;
	tuple_invert(k, &r);
	e->proto = k->proto;
	entry_set(e, 0, k);
	entry_set(e, 1, &r);
	return e;
}

static void set_invalid(struct pkt *p)
{
	p->ct = NULL;
	p->ct_dir = 0;
	p->ct_state = CT_INVALID;
}

/* The packet belongs to e: state for the rules, counters. */
static void attach(struct pkt *p, struct ct_entry *e, unsigned dir)
{
	p->ct = e;
	p->ct_dir = (uint8_t)dir;
	p->ct_state = (dir == 1 || (e->status & CTS_SEEN_REPLY)) ? CT_ESTABLISHED : CT_NEW;
	e->bytes[dir] += p->ip_len;
	e->packets[dir]++;
	/* after the protocol handler, as Linux does: the first reply itself was
	 * processed as not yet replied */
	if (dir == 1)
		e->status |= CTS_SEEN_REPLY;
}

int ct_confirm(struct ct_table *t, struct pkt *p, uint64_t now)
{
	struct ct_entry *e = p->ct;
	unsigned dir;

	if (!e || (e->status & CTS_CONFIRMED))
		return 0;
	if (now > t->now)
		t->now = now;
	/* A clash (NAT chose a taken reply tuple) is refused as Linux's
	 * confirm does; the caller drops the packet. */
	struct ct_tuple k0, k1;
	ct_entry_tuple(e, 0, &k0);
	ct_entry_tuple(e, 1, &k1);
	if (lookup(t, &k0, now, &dir) || lookup(t, &k1, now, &dir))
		goto refuse;
	if (t->nconf >= t->cfg.max_entries) {
		/* Two when over the limit (max-entries was lowered) so that the
		 * table drains with the churn. */
		bool room = make_room(t, now);
		if (room && t->nconf >= t->cfg.max_entries)
			make_room(t, now);
		if (!room)
			goto refuse;
	}
	hash_insert(t, e, 0);
	hash_insert(t, e, 1);
	lru_append(t, e, e->lru_cls);
	e->status |= CTS_CONFIRMED;
	t->nconf++;
	return 0;

refuse:
	/* freed here so that a caller which also calls ct_discard is safe */
	slot_free(t, e);
	p->ct = NULL;
	return -1;
}

void ct_discard(struct ct_table *t, struct pkt *p)
{
	struct ct_entry *e = p->ct;

	if (!e || (e->status & CTS_CONFIRMED))
		return;
	slot_free(t, e);
	p->ct = NULL;
}

/* ---- FastTrack ---- */

void ct_fast_begin(struct ct_entry *e)
{
	if (e->proto == IPPROTO_TCP_) {
		struct ct_ext *x = ext_of(e);
		/* liberal: windows are not refused any more; and what the peers
		 * acknowledge is not followed, so forget the highest ACK, which
		 * a RST's check would otherwise compare against (Linux clears
		 * IP_CT_TCP_FLAG_MAXACK_SET when it fixes up an offloaded flow) */
		for (unsigned d = 0; d < 2; d++) {
			e->tcp[d].flags |= TF_LIBERAL;
			e->tcp[d].flags &= (uint8_t)~TF_MAXACK;
			x->maxack[d] = 0;
		}
	}
}

/*
 * FastTrack's rule, one for both paths: may p, a packet of e that conntrack
 * found in direction dir, skip the protocol's tracking? Yes for a
 * fasttracked, assured connection's UDP packet, and for its TCP segment in
 * ESTABLISHED that carries ACK and no SYN, FIN or RST: what the flow cache
 * forwards. Such a packet is counted and refreshes the connection in the
 * established class (TCP) or the stream class (UDP); its windows are not
 * tracked and neither unacknowledged data nor a zero window shortens the
 * timeout, as Linux keeps an offloaded connection at a day without seeing
 * its packets. The rest (SYN, FIN, RST) is tracked as ever, with liberal
 * windows (ct_fast_begin), and leaves the established class by its state.
 */
static inline bool fast_packet(const struct ct_entry *e, const struct pkt *p, unsigned *cls)
{
	const uint16_t need = CTS_FASTTRACK | CTS_ASSURED;
	if ((e->status & need) != need)
		return false;
	if (e->proto == IPPROTO_TCP_) {
		*cls = CTO_TCP_ESTABLISHED;
		return e->tcp_state == TCP_CONNTRACK_ESTABLISHED &&
		       (p->tcp_flags & (TCPF_SYN | TCPF_FIN | TCPF_RST | TCPF_ACK)) == TCPF_ACK;
	}
	*cls = CTO_UDP_STREAM;
	return e->proto == IPPROTO_UDP_;
}

struct ct_entry *ct_fast_slot(const struct ct_table *t, uint32_t idx)
{
	return ent4(t, idx);
}

struct ct_entry *ct_fast_hit(struct ct_table *t, uint32_t idx, uint32_t serial, unsigned dir,
			     const struct pkt *p, uint64_t now)
{
	const uint16_t need = CTS_FASTTRACK | CTS_CONFIRMED | CTS_ASSURED;
	struct ct_entry *e = ent4(t, idx);
	const struct ct_ends *x = &e->t[dir];

	/* fast_packet's rule, with what the cache already knows of p (TCP
	 * ACK without SYN, FIN or RST, or UDP: fast_candidate) left out */
	if (e->serial != serial || (e->status & need) != need || e->proto != p->proto ||
	    x->src != p->src.v4 || x->dst != p->dst.v4 || x->sport != p->sport ||
	    x->dport != p->dport || expired(e, now))
		return NULL;
	unsigned cls = CTO_UDP_STREAM;
	if (e->proto == IPPROTO_TCP_) {
		if (e->tcp_state != TCP_CONNTRACK_ESTABLISHED)
			return NULL;
		cls = CTO_TCP_ESTABLISHED;
	}
	if (now > t->now)
		t->now = now;
	e->bytes[dir] += p->ip_len;
	e->packets[dir]++;
	refresh(t, e, cls, now);
	return e;
}

/* ---- TCP ---- */

/* Packet classes, in the order of the rows of the state table. */
enum { TI_SYN, TI_SYNACK, TI_FIN, TI_ACK, TI_RST, TI_NONE, TI_MAX };

#define S_NO TCP_CONNTRACK_NONE
#define S_SS TCP_CONNTRACK_SYN_SENT
#define S_SR TCP_CONNTRACK_SYN_RECV
#define S_ES TCP_CONNTRACK_ESTABLISHED
#define S_FW TCP_CONNTRACK_FIN_WAIT
#define S_CW TCP_CONNTRACK_CLOSE_WAIT
#define S_LA TCP_CONNTRACK_LAST_ACK
#define S_TW TCP_CONNTRACK_TIME_WAIT
#define S_CL TCP_CONNTRACK_CLOSE
#define S_S2 TCP_CONNTRACK_SYN_SENT2
#define S_IV TCP_CONNTRACK_MAX       /* the packet is invalid */
#define S_IG (TCP_CONNTRACK_MAX + 1) /* let it pass, change nothing */

/*
 * Next state by [direction][packet class][current state] (Linux's table).
 * Columns: NONE SYN_SENT SYN_RECV ESTABLISHED FIN_WAIT CLOSE_WAIT LAST_ACK
 * TIME_WAIT CLOSE SYN_SENT2. We sit between the peers and may miss what
 * they see, so anything that could be either a real packet or noise that
 * the receiver will answer with RST or SYN/ACK is ignored, not invalid.
 */
static const uint8_t tcp_next[2][TI_MAX][TCP_CONNTRACK_MAX] = {
	{ /* original direction */
		/* SYN: opens; a retransmission stays; reopens a closed connection */
		{ S_SS, S_SS, S_IG, S_IG, S_IG, S_IG, S_IG, S_SS, S_SS, S_S2 },
		/* SYN/ACK from the opener only makes sense in a simultaneous open */
		{ S_IV, S_IV, S_SR, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_SR },
		/* FIN: first one to FIN_WAIT, the second (or a resend) to LAST_ACK */
		{ S_IV, S_IV, S_FW, S_FW, S_LA, S_LA, S_LA, S_TW, S_CL, S_IV },
		/* ACK: completes the handshake or the close; picks up when loose */
		{ S_ES, S_IV, S_ES, S_ES, S_CW, S_CW, S_TW, S_TW, S_CL, S_IV },
		/* RST */
		{ S_IV, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL },
		/* no flag of the four */
		{ S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV },
	},
	{ /* reply direction */
		/* SYN: simultaneous open; after TIME_WAIT the roles may swap */
		{ S_IV, S_S2, S_IV, S_IV, S_IV, S_IV, S_IV, S_SS, S_IV, S_S2 },
		/* SYN/ACK: the normal answer; late copies are ignored */
		{ S_IV, S_SR, S_IG, S_IG, S_IG, S_IG, S_IG, S_IG, S_IG, S_SR },
		{ S_IV, S_IV, S_FW, S_FW, S_LA, S_LA, S_LA, S_TW, S_CL, S_IV },
		/* ACK before our SYN/ACK: maybe a half-open connection, ignore */
		{ S_IV, S_IG, S_SR, S_ES, S_CW, S_CW, S_TW, S_TW, S_CL, S_IG },
		{ S_IV, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL, S_CL },
		{ S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV, S_IV },
	},
};

/* Timeout class of each TCP state (SYN_SENT2 has no RouterOS setting). */
static const uint8_t tcp_cls[TCP_CONNTRACK_MAX] = {
	[S_NO] = CTO_TCP_SYN_SENT,    [S_SS] = CTO_TCP_SYN_SENT,   [S_SR] = CTO_TCP_SYN_RECV,
	[S_ES] = CTO_TCP_ESTABLISHED, [S_FW] = CTO_TCP_FIN_WAIT,   [S_CW] = CTO_TCP_CLOSE_WAIT,
	[S_LA] = CTO_TCP_LAST_ACK,    [S_TW] = CTO_TCP_TIME_WAIT,  [S_CL] = CTO_TCP_CLOSE,
	[S_S2] = CTO_TCP_SYN_SENT,
};

/* Legal combinations of SYN FIN RST ACK URG once PSH, ECE, CWR are masked. */
static bool tcp_flags_valid(uint8_t f)
{
	f &= (uint8_t)~(TCPF_PSH | TCPF_ECE | TCPF_CWR);
	switch (f) {
	case TCPF_SYN:
	case TCPF_SYN | TCPF_URG:
	case TCPF_SYN | TCPF_ACK:
	case TCPF_RST:
	case TCPF_RST | TCPF_ACK:
	case TCPF_FIN | TCPF_ACK:
	case TCPF_FIN | TCPF_ACK | TCPF_URG:
	case TCPF_ACK:
	case TCPF_ACK | TCPF_URG:
		return true;
	default:
		return false;
	}
}

static int tcp_index(uint8_t f)
{
	if (f & TCPF_RST)
		return TI_RST;
	if (f & TCPF_SYN)
		return (f & TCPF_ACK) ? TI_SYNACK : TI_SYN;
	if (f & TCPF_FIN)
		return TI_FIN;
	if (f & TCPF_ACK)
		return TI_ACK;
	return TI_NONE;
}

static inline bool seq_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return seq_before(b, a);
}

/* What the tracker needs of a segment, read once. */
struct seg {
	uint32_t seq, ack, end;
	uint32_t sack; /* highest right edge of a SACK block, else ack */
	uint16_t win;  /* raw, unscaled */
	uint8_t flags;
	int idx;
};

static bool seg_has_options(const struct pkt *p)
{
	return p->tcp_doff > 20 || p->wscale != 0xff || p->sack_perm;
}

/* SACK edges are not in struct pkt; read them from the frame when present. */
static uint32_t seg_sack(const struct pkt *p, uint32_t ack)
{
	uint32_t sack = ack;
	size_t off = (size_t)p->l4_off + 20, end = (size_t)p->l4_off + p->tcp_doff;

	if (!p->data || p->tcp_doff <= 20 || end > p->len)
		return sack;
	while (off < end) {
		uint8_t kind = p->data[off];
		if (kind == 0)
			break;
		if (kind == 1) {
			off++;
			continue;
		}
		if (off + 1 >= end)
			break;
		uint8_t olen = p->data[off + 1];
		if (olen < 2 || off + olen > end)
			break;
		if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0) {
			for (size_t b = off + 2; b + 8 <= off + olen; b += 8) {
				const uint8_t *r = p->data + b + 4;
				uint32_t edge = (uint32_t)r[0] << 24 | (uint32_t)r[1] << 16 |
						(uint32_t)r[2] << 8 | r[3];
				if (seq_after(edge, sack))
					sack = edge;
			}
			break;
		}
		off += olen;
	}
	return sack;
}

static void seg_read(const struct pkt *p, struct seg *s)
{
	uint32_t len = p->l4_len > p->tcp_doff ? (uint32_t)(p->l4_len - p->tcp_doff) : 0;

	s->flags = p->tcp_flags;
	s->idx = tcp_index(p->tcp_flags);
	s->seq = p->seq;
	s->ack = p->ack;
	s->sack = p->ack;
	s->win = p->win;
	s->end = p->seq + len + ((p->tcp_flags & TCPF_SYN) ? 1 : 0) +
		 ((p->tcp_flags & TCPF_FIN) ? 1 : 0);
}

/* Window scale and SACK permission offered in a SYN or SYN/ACK. */
static void tcp_read_options(const struct pkt *p, struct ct_tcp_dir *d)
{
	if (!seg_has_options(p))
		return;
	d->scale = 0;
	d->flags &= TF_LIBERAL;
	if (p->wscale != 0xff) {
		d->scale = p->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p->wscale;
		d->flags |= TF_WSCALE;
	}
	if (p->sack_perm)
		d->flags |= TF_SACKPERM;
}

/* The SYN/ACK of a normal open, or a SYN of the reply side in a
 * simultaneous open, starts that side's window. */
static void tcp_init_sender(struct ct_entry *e, unsigned dir, const struct pkt *p,
			    const struct seg *s)
{
	struct ct_tcp_dir *snd = &e->tcp[dir], *rcv = &e->tcp[!dir];

	snd->end = snd->maxend = s->end;
	snd->maxwin = s->win ? s->win : 1;
	tcp_read_options(p, snd);
	/* RFC 7323: scaling applies only when both sides offered it */
	if (dir == 1 && !((snd->flags & TF_WSCALE) && (rcv->flags & TF_WSCALE)))
		snd->scale = rcv->scale = 0;
}

enum win_verdict { W_ACCEPT, W_IGNORE, W_INVALID };

static uint32_t max_ack_window(const struct ct_tcp_dir *snd)
{
	return snd->maxwin > MAXACKWIN_MIN ? snd->maxwin : MAXACKWIN_MIN;
}

/*
 * Is the segment inside what the receiver can accept, and does it only
 * acknowledge data that was sent? (Rooij's "Real Stateful TCP Packet
 * Filtering", as Linux refines it.) For each side we keep end = highest
 * seq+len sent, maxend = highest ack+window the peer announced, maxwin =
 * largest window announced. Data must start at or before the receiver's
 * maxend and end no earlier than one window below what was sent; an ACK
 * must not exceed what the peer sent nor lag by more than a window.
 * A failure on a connection picked up mid-stream is let through unchanged.
 */
static enum win_verdict tcp_in_window(struct ct_entry *e, unsigned dir, const struct pkt *p,
				      struct seg *s)
{
	struct ct_ext *x = ext_of(e);
	struct ct_tcp_dir *snd = &e->tcp[dir], *rcv = &e->tcp[!dir];
	uint32_t seq = s->seq, ack = s->ack, sack = s->ack, end = s->end, win = s->win;
	bool liberal = snd->flags & TF_LIBERAL;

	if (rcv->flags & TF_SACKPERM)
		sack = seg_sack(p, ack);

	if (snd->maxwin == 0) {
		if (s->flags & TCPF_SYN) {
			tcp_init_sender(e, dir, p, s);
			if (!(s->flags & TCPF_ACK))
				return W_ACCEPT; /* simultaneous open */
		} else {
			/* first packet of this side, mid-stream: trust it */
			snd->end = end;
			uint32_t swin = win << snd->scale;
			snd->maxwin = swin ? swin : 1;
			snd->maxend = end + snd->maxwin;
			if (rcv->maxwin == 0)
				rcv->end = rcv->maxend = sack; /* let checks III and IV pass */
			else if (sack == rcv->end + 1)
				rcv->end++; /* answer to a keepalive */
		}
	} else if ((s->flags & TCPF_SYN) && seq_after(end, snd->end) &&
		   (e->tcp_state == S_SS || e->tcp_state == S_SR)) {
		/* a restarted handshake with a higher ISN may change options */
		tcp_init_sender(e, dir, p, s);
		if (dir == 1 && !(s->flags & TCPF_ACK))
			return W_ACCEPT;
	}

	if (!(s->flags & TCPF_ACK)) {
		ack = sack = rcv->end;
	} else if ((s->flags & (TCPF_ACK | TCPF_RST)) == (TCPF_ACK | TCPF_RST) && ack == 0) {
		ack = sack = rcv->end; /* stacks that send RST+ACK with ack 0 */
	}

	if ((s->flags & TCPF_RST) && seq == 0 && e->tcp_state == S_SS)
		seq = end = snd->end; /* RST answering a SYN */

	if (!seq_before(seq, snd->maxend + 1)) {
		/* starts beyond the window; tolerate a bounded overshoot that is
		 * otherwise fine, so the peer's ACK of it is not refused later */
		uint32_t overshot = end - snd->maxend + 1;
		bool ack_ok = seq_after(sack, rcv->end - max_ack_window(snd) - 1);
		bool in_recv = rcv->maxwin && seq_after(end, snd->end - rcv->maxwin - 1);
		if (in_recv && ack_ok && overshot <= rcv->maxwin && seq_before(sack, rcv->end + 1)) {
			snd->end = end;
			snd->flags |= TF_UNACKED;
			return liberal ? W_ACCEPT : W_IGNORE;
		}
		return liberal ? W_ACCEPT : W_INVALID;
	}
	if (!seq_before(sack, rcv->end + 1))
		return liberal ? W_ACCEPT : W_INVALID; /* acknowledges unsent data */
	if (rcv->maxwin && !seq_after(end, snd->end - rcv->maxwin - 1))
		return liberal ? W_ACCEPT : W_IGNORE; /* old retransmission */
	if (!seq_after(sack, rcv->end - max_ack_window(snd) - 1))
		return liberal ? W_ACCEPT : W_IGNORE; /* very late ACK */

	if (!(s->flags & TCPF_SYN))
		win <<= snd->scale;
	uint32_t swin = win + (sack - ack);
	if (snd->maxwin < swin)
		snd->maxwin = swin;
	if (seq_after(end, snd->end)) {
		snd->end = end;
		snd->flags |= TF_UNACKED;
	}
	if (s->flags & TCPF_ACK) {
		if (!(snd->flags & TF_MAXACK)) {
			x->maxack[dir] = ack;
			snd->flags |= TF_MAXACK;
		} else if (seq_after(ack, x->maxack[dir])) {
			x->maxack[dir] = ack;
		}
	}
	if (rcv->maxwin != 0 && seq_after(end, snd->maxend))
		rcv->maxwin += end - snd->maxend;
	if (seq_after(sack + win, rcv->maxend - 1)) {
		rcv->maxend = sack + win;
		if (win == 0)
			rcv->maxend++;
	}
	if (ack == rcv->end)
		rcv->flags &= (uint8_t)~TF_UNACKED;

	if (s->idx == TI_ACK) {
		if (e->tcp_last_dir == dir && e->tcp_last_seq == seq && e->tcp_last_ack == ack &&
		    x->last_end == end && x->last_win == s->win) {
			if (e->tcp_retrans < UINT8_MAX)
				e->tcp_retrans++;
		} else {
			e->tcp_last_dir = (uint8_t)dir;
			e->tcp_last_seq = seq;
			e->tcp_last_ack = ack;
			x->last_end = end;
			x->last_win = s->win;
			e->tcp_retrans = 0;
		}
	}
	return W_ACCEPT;
}

/* The first packet of a connection (state NONE): SYN, or with loose
 * tracking an ACK, whose history we did not see. */
static bool tcp_new(const struct ct_table *t, struct ct_entry *e, const struct pkt *p,
		    const struct seg *s)
{
	uint8_t next = tcp_next[0][s->idx][S_NO];
	struct ct_tcp_dir *d = &e->tcp[0];

	if (next == S_SS) {
		d->end = d->maxend = s->end;
		d->maxwin = s->win ? s->win : 1;
		tcp_read_options(p, d);
	} else if (next == S_ES && t->cfg.loose) {
		d->end = s->end;
		d->maxwin = s->win ? s->win : 1;
		d->maxend = d->end + d->maxwin;
		/* unknown scaling: assume SACK and never refuse on the window */
		e->tcp[0].flags = e->tcp[1].flags = TF_SACKPERM | TF_LIBERAL;
	} else {
		return false;
	}
	e->tcp_last_index = TI_NONE;
	return true;
}

static bool tcp_established(const struct ct_entry *e)
{
	return e->tcp_state == S_ES && (e->status & CTS_ASSURED);
}

/* States in which Linux lets any RST close without a sequence check. */
static bool tcp_closing(uint8_t st)
{
	return st == S_FW || st == S_LA || st == S_TW || st == S_CL || st == S_CW;
}

/* An out-of-window FIN or RST answering the peer's FIN or RST on an assured
 * connection: the peers have moved on, so do not keep it for a day. */
static void tcp_note_invalid(struct ct_table *t, struct ct_entry *e, unsigned dir, int idx,
			     uint64_t now)
{
	if (!(e->status & CTS_ASSURED) || (idx != TI_RST && idx != TI_FIN))
		return;
	if (e->tcp_last_dir != dir &&
	    (e->tcp_last_index == TI_FIN || e->tcp_last_index == TI_RST)) {
		uint64_t left = e->expires > now ? e->expires - now : 0;
		if (left >= 120 * NSEC && left > t->cfg.timeout[CTO_TCP_UNACKED])
			refresh(t, e, CTO_TCP_UNACKED, now);
	} else {
		e->tcp_last_index = (uint8_t)idx;
		e->tcp_last_dir = (uint8_t)dir;
	}
}

enum tcp_verdict { T_ACCEPT, T_IGNORE, T_INVALID, T_REOPEN };

/* An ignored packet may still resynchronise us: a SYN/ACK answering a SYN
 * we ignored means both ends agree on a new connection. Returns true when
 * it did (the caller continues as SYN_SENT -> SYN_RECV). */
static bool tcp_ignored(struct ct_entry *e, unsigned dir, const struct pkt *p,
			const struct seg *s, uint8_t old)
{
	struct ct_ext *x = ext_of(e);

	if (s->idx == TI_SYNACK && e->tcp_last_index == TI_SYN && e->tcp_last_dir != dir &&
	    s->ack == x->last_end) {
		unsigned ld = e->tcp_last_dir;
		struct ct_tcp_dir *l = &e->tcp[ld], *d = &e->tcp[dir];
		l->end = l->maxend = x->last_end;
		l->maxwin = x->last_win ? x->last_win : 1;
		l->scale = x->last_wscale;
		x->last_flags &= (uint8_t)~LF_CHALLENGE;
		l->flags = x->last_flags & (TF_WSCALE | TF_SACKPERM);
		d->end = d->maxend = d->maxwin = 0;
		d->scale = 0;
		d->flags &= TF_LIBERAL;
		x->maxack[dir] = 0;
		return true;
	}
	e->tcp_last_index = (uint8_t)s->idx;
	e->tcp_last_dir = (uint8_t)dir;
	e->tcp_last_seq = s->seq;
	x->last_end = s->end;
	x->last_win = s->win;
	if (s->idx == TI_SYN && dir == 0) {
		/* remember its options in case the server answers it */
		x->last_flags = 0;
		x->last_wscale = 0;
		if (p->wscale != 0xff) {
			x->last_flags |= LF_WSCALE;
			x->last_wscale = p->wscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p->wscale;
		}
		if (p->sack_perm)
			x->last_flags |= LF_SACKPERM;
		/* the server may answer with an RFC 5961 challenge ACK, which
		 * must not be taken for the last ACK */
		if (old == S_LA)
			x->last_flags |= LF_CHALLENGE;
	}
	if (old == S_SS && s->idx == TI_ACK && dir == 1)
		e->tcp_last_ack = s->ack; /* maybe a challenge ACK to our SYN */
	return false;
}

/* Steps the state machine for one packet of e in direction dir and sets
 * the entry's timeout. */
static enum tcp_verdict tcp_packet(struct ct_table *t, struct ct_entry *e, unsigned dir,
				   const struct pkt *p, struct seg *s, uint64_t now)
{
	struct ct_ext *x = ext_of(e);
	const uint64_t *to = t->cfg.timeout;
	uint8_t old = e->tcp_state;
	uint8_t next = tcp_next[dir][s->idx][old];

	switch (next) {
	case S_SS:
		if (old < S_TW)
			break;
		/* SYN on a closed connection: a new one if it was closed
		 * properly (FIN) or reset by the side now opening again */
		if (((e->tcp[dir].flags | e->tcp[!dir].flags) & TF_CLOSE_INIT) ||
		    (e->tcp_last_dir == dir && e->tcp_last_index == TI_RST))
			return T_REOPEN;
		/* fall through */
	case S_IG:
		if (tcp_ignored(e, dir, p, s, old)) {
			old = S_SS;
			next = S_SR;
			break;
		}
		return T_IGNORE;
	case S_IV:
		return T_INVALID;
	case S_TW:
		if (old == S_LA && s->idx == TI_ACK && e->tcp_last_dir != dir &&
		    e->tcp_last_index == TI_SYN && (x->last_flags & LF_CHALLENGE)) {
			x->last_flags &= (uint8_t)~LF_CHALLENGE;
			return T_IGNORE; /* challenge ACK, not the last ACK */
		}
		break;
	case S_S2:
		x->last_flags |= LF_SIMOPEN;
		break;
	case S_SR:
		if (dir == 1 && s->idx == TI_ACK && (x->last_flags & LF_SIMOPEN))
			next = S_ES;
		break;
	case S_CL:
		if (s->idx != TI_RST)
			break;
		if (tcp_closing(old))
			goto in_window;
		if ((e->tcp[!dir].flags & TF_MAXACK) && e->tcp_last_index != TI_SYN) {
			uint32_t acked = x->maxack[!dir];
			if (s->seq == 0 && !tcp_established(e))
				break;
			if (seq_before(s->seq, acked))
				return T_INVALID; /* below what the peer acknowledged */
			if (!tcp_established(e) || s->seq == acked)
				break;
			if (e->tcp_last_index == TI_ACK && e->tcp_last_dir == dir &&
			    s->seq == x->last_end)
				break; /* RST right after this side's data */
			next = old; /* inexact: the peer will send a challenge ACK */
		}
		if ((((e->status & CTS_SEEN_REPLY) && e->tcp_last_index == TI_SYN) ||
		     (!(e->status & CTS_ASSURED) && e->tcp_last_index == TI_ACK)) &&
		    s->ack == x->last_end)
			goto in_window; /* answers a SYN or ACK we let through */
		if (old == S_SS && e->tcp_last_index == TI_ACK && e->tcp_last_dir == 1 &&
		    s->seq == e->tcp_last_ack)
			goto in_window; /* answers a challenge ACK */
		break;
	default:
		break;
	}

	switch (tcp_in_window(e, dir, p, s)) {
	case W_IGNORE:
		return T_IGNORE;
	case W_INVALID:
		tcp_note_invalid(t, e, dir, s->idx, now);
		return T_INVALID;
	case W_ACCEPT:
		break;
	}

in_window:
	e->tcp_last_index = (uint8_t)s->idx;
	e->tcp_last_dir = (uint8_t)dir;
	e->tcp_state = next;
	if (old != next && next == S_FW)
		e->tcp[dir].flags |= TF_CLOSE_INIT;

	unsigned cls = tcp_cls[next];
	if (e->tcp_retrans >= TCP_MAX_RETRANS && to[cls] > to[CTO_TCP_MAX_RETRANS])
		cls = CTO_TCP_MAX_RETRANS;
	else if (s->idx == TI_RST)
		cls = CTO_TCP_CLOSE;
	else if (((e->tcp[0].flags | e->tcp[1].flags) & TF_UNACKED) &&
		 to[cls] > to[CTO_TCP_UNACKED])
		cls = CTO_TCP_UNACKED;
	else if (x->last_win == 0 && to[cls] > to[CTO_TCP_MAX_RETRANS])
		cls = CTO_TCP_MAX_RETRANS;

	if (!(e->status & CTS_SEEN_REPLY)) {
		if (s->idx == TI_RST) {
			/* reset before any answer (or as the only answer) */
			kill(t, e, now);
			return T_ACCEPT;
		}
		if (s->idx == TI_SYN && old == S_SS)
			return T_ACCEPT; /* a resent SYN does not extend the entry */
		if (next == S_ES && to[cls] > to[CTO_TCP_UNACKED])
			cls = CTO_TCP_UNACKED; /* picked up: not yet a real connection */
	} else if (!(e->status & CTS_ASSURED) && (old == S_SR || old == S_ES) && next == S_ES) {
		e->status |= CTS_ASSURED;
	}
	refresh(t, e, cls, now);
	return T_ACCEPT;
}

static void tcp_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	struct ct_tuple k;
	struct seg s;
	struct ct_entry *e;
	unsigned dir = 0;

	if (!(p->flags & PKT_F_L4) || p->tcp_doff < 20 || p->l4_len < p->tcp_doff ||
	    !tcp_flags_valid(p->tcp_flags))
		return set_invalid(p);
	seg_read(p, &s);
	tuple_of_pkt(p, &k);

	e = lookup_pkt(t, p, &k, now, &dir);
	unsigned cls;
	if (e && fast_packet(e, p, &cls)) {
		refresh(t, e, cls, now);
		return attach(p, e, dir);
	}
	if (e) {
		switch (tcp_packet(t, e, dir, p, &s, now)) {
		case T_INVALID:
			return set_invalid(p);
		case T_REOPEN:
			ct_remove(t, e);
			break;
		case T_ACCEPT:
		case T_IGNORE:
			return attach(p, e, dir);
		}
	}

	e = entry_new(t, &k, now);
	if (!e)
		return set_invalid(p);
	if (!tcp_new(t, e, p, &s) || tcp_packet(t, e, 0, p, &s, now) != T_ACCEPT) {
		slot_free(t, e);
		return set_invalid(p);
	}
	attach(p, e, 0);
}

/* ---- UDP, generic ---- */

static void udp_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	struct ct_tuple k;
	unsigned dir = 0;

	if (!(p->flags & PKT_F_L4))
		return set_invalid(p);
	tuple_of_pkt(p, &k);
	struct ct_entry *e = lookup_pkt(t, p, &k, now, &dir);
	if (!e) {
		e = entry_new(t, &k, now);
		if (!e)
			return set_invalid(p);
	}
	if (e->status & CTS_SEEN_REPLY) {
		refresh(t, e, CTO_UDP_STREAM, now);
		e->status |= CTS_ASSURED;
	} else {
		refresh(t, e, CTO_UDP, now);
	}
	attach(p, e, dir);
}

/* Protocols Linux tracks with their own state machine and marks assured
 * once both sides spoke; the rest of the generic ones never are. */
static bool generic_assures(uint8_t proto)
{
	return proto == IPPROTO_GRE_ || proto == IPPROTO_SCTP_ || proto == IPPROTO_DCCP_;
}

static void generic_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	struct ct_tuple k;
	unsigned dir = 0;

	tuple_of_pkt(p, &k);
	struct ct_entry *e = lookup_pkt(t, p, &k, now, &dir);
	if (!e) {
		e = entry_new(t, &k, now);
		if (!e)
			return set_invalid(p);
	}
	if ((e->status & CTS_SEEN_REPLY) && generic_assures(p->proto))
		e->status |= CTS_ASSURED;
	refresh(t, e, CTO_GENERIC, now);
	attach(p, e, dir);
}

/* ---- ICMP ---- */

/*
 * What Linux does with each ICMP type (nf_conntrack_proto_icmp.c,
 * _icmpv6.c, nf_conntrack_core.c):
 * - IPv4 type > 18: invalid ("unknown ICMP messages must be discarded").
 * - Errors (v4 3, 4, 5, 11, 12; v6 every type below 128): the embedded
 *   header is inverted and looked up; a match whose destination in that
 *   direction is the error's destination makes it related, else invalid.
 * - Queries (v4 8, 13, 15, 17; v6 128, 139) create an entry; their answers
 *   (0, 14, 16, 18; 129, 140) are established on it. An answer without an
 *   entry is invalid: the tuple inverts, but a new entry may only start
 *   from a query.
 * - Any other type is not invertible, so no entry can be made: Linux
 *   leaves the packet without conntrack, which rules see as invalid (v4
 *   9, 10 router advertisement/solicitation and the unassigned ones).
 * - ICMPv6 neighbour discovery and MLD (130-136, 143, 151, 152) are
 *   explicitly untracked, so that they never depend on conntrack.
 */
static bool icmp_is_query(bool v6, uint8_t type)
{
	return v6 ? (type == 128 || type == 139) :
		    (type == 8 || type == 13 || type == 15 || type == 17);
}

static bool icmp_is_answer(bool v6, uint8_t type)
{
	return v6 ? (type == 129 || type == 140) :
		    (type == 0 || type == 14 || type == 16 || type == 18);
}

static bool icmp_is_error(bool v6, uint8_t type)
{
	if (v6)
		return type < 128 || type == 137; /* redirect carries a header too */
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool icmp6_untracked(uint8_t type)
{
	return (type >= 130 && type <= 136) || type == 143 || type == 151 || type == 152;
}

static void related_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	struct ct_tuple k;
	unsigned dir = 0;

	if (!(p->flags & PKT_F_ICMP_ERR))
		return set_invalid(p);
	/* the embedded packet travelled the other way: look up its inverse */
	memset(&k, 0, sizeof(k));
	k.family = p->family;
	k.proto = p->inner.proto;
	memcpy(&k.src, &p->inner.dst, addr_len(p->family));
	memcpy(&k.dst, &p->inner.src, addr_len(p->family));
	if (proto_has_ports(k.proto)) {
		k.sport = p->inner.dport;
		k.dport = p->inner.sport;
	} else if (proto_is_icmp(k.proto)) {
		k.sport = k.dport = p->inner.sport;
	}
	struct ct_entry *e = lookup(t, &k, now, &dir);
	/* an error about A->B may only go to A (or to where A is translated) */
	if (!e)
		return set_invalid(p);
	struct ct_tuple et;
	ct_entry_tuple(e, dir, &et);
	if (!addr_eq(p->family, &et.dst, &p->dst))
		return set_invalid(p);
	p->ct = e;
	p->ct_dir = (uint8_t)dir;
	p->ct_state = CT_RELATED;
}

static void icmp_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	bool v6 = p->proto == IPPROTO_ICMPV6_;
	uint8_t type = p->icmp_type;
	struct ct_tuple k;
	unsigned dir = 0;

	if ((v6 && p->family != 6) || (!v6 && p->family != 4) || !(p->flags & PKT_F_L4))
		return set_invalid(p);
	if (v6 && icmp6_untracked(type)) {
		p->ct_state = CT_UNTRACKED;
		return;
	}
	if (!v6 && type > 18)
		return set_invalid(p);
	if (icmp_is_error(v6, type))
		return related_in(t, p, now);

	tuple_of_pkt(p, &k);
	struct ct_entry *e = lookup_pkt(t, p, &k, now, &dir);
	if (e) {
		if (dir == 0 ? !icmp_is_query(v6, type) : !icmp_is_answer(v6, type))
			return set_invalid(p);
	} else {
		if (!icmp_is_query(v6, type))
			return set_invalid(p);
		e = entry_new(t, &k, now);
		if (!e)
			return set_invalid(p);
	}
	refresh(t, e, CTO_ICMP, now);
	attach(p, e, dir);
}

/* ---- the hook ---- */

void ct_in(struct ct_table *t, struct pkt *p, uint64_t now)
{
	if (now > t->now)
		t->now = now;
	if (p->ct_state == CT_UNTRACKED)
		return;
	p->ct = NULL;
	p->ct_dir = 0;
	p->ct_state = CT_NONE;
	if (!t->cfg.enabled) {
		p->ct_state = CT_UNTRACKED;
		return;
	}
	if (p->family != 4 && p->family != 6)
		return;
	if ((p->flags & PKT_F_FRAGMENT) && !(p->flags & PKT_F_FRAG_FIRST))
		return set_invalid(p);

	switch (p->proto) {
	case IPPROTO_TCP_:
		tcp_in(t, p, now);
		break;
	case IPPROTO_UDP_:
	case IPPROTO_UDPLITE_:
		udp_in(t, p, now);
		break;
	case IPPROTO_ICMP_:
	case IPPROTO_ICMPV6_:
		icmp_in(t, p, now);
		break;
	default:
		generic_in(t, p, now);
		break;
	}
}

/* ---- names ---- */

const char *ct_tcp_state_name(uint8_t s)
{
	static const char *const names[TCP_CONNTRACK_MAX] = {
		"none",      "syn-sent",  "syn-received", "established", "fin-wait",
		"close-wait", "last-ack", "time-wait",    "close",       "syn-sent-2",
	};
	return s < TCP_CONNTRACK_MAX ? names[s] : "unknown";
}

const char *ct_state_name(uint8_t s)
{
	switch (s) {
	case CT_NEW:
		return "new";
	case CT_ESTABLISHED:
		return "established";
	case CT_RELATED:
		return "related";
	case CT_INVALID:
		return "invalid";
	case CT_UNTRACKED:
		return "untracked";
	default:
		return "none";
	}
}
