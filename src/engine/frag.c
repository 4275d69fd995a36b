/*
 * Fragment reassembly. Each queue keeps its fragments as pieces sorted by
 * offset that never overlap one another (an overlap is either trimmed,
 * when the bytes agree, or fatal for the datagram); a piece's bytes live in
 * a chain of fixed-size blocks from one pool whose size is the memory
 * limit, so "out of memory" is "out of blocks" and accounting is exact.
 * Queues sit on an age list in creation order: the head is both the next to
 * time out (the timeout runs from the first fragment, as ipfrag_time does)
 * and the first to be evicted when memory runs short.
 */
#include "frag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define BLOCK 512u
#define NONE 0xffffffffu
#define MAX_QUEUES 1024u
#define NBUCKETS 2048u
#define HDR_MAX (22u + 256u)
#define V6_MAX_EXT 16

struct piece {
	uint32_t off, len; /* payload bytes [off, off + len) of the datagram */
	uint32_t block;    /* first block of the chain holding them */
	uint32_t next;     /* next piece by offset */
};

struct queue {
	/* key */
	uint8_t family, proto;
	union ipaddr src, dst;
	uint32_t id;
	/* state */
	bool used, have_first, have_last;
	uint8_t nh;          /* IPv6: the protocol after the fragment header */
	uint64_t expires;
	uint32_t len;        /* payload length of the datagram, once the last fragment is in */
	uint32_t meat;       /* payload bytes held */
	uint32_t pieces;     /* first piece */
	unsigned nfrags;
	uint32_t hnext;      /* hash chain */
	uint32_t older, newer;
	uint16_t hdr_len;    /* link-layer and IP header (IPv6: unfragmentable part) */
	uint16_t l3_off;
	uint16_t nh_off;     /* IPv6: where the header before the fragment header names it */
	uint8_t hdr[HDR_MAX];
};

struct frag_table {
	size_t limit, low;
	uint64_t timeout;
	uint64_t k0, k1;
	uint64_t *drops;
	bool ready;
	uint8_t *data;       /* nblocks * BLOCK */
	uint32_t *bnext;     /* block chains; the free list too */
	uint32_t nblocks, bfree, nbfree;
	struct piece *pc;    /* one per block at most */
	uint32_t pfree;
	struct queue *q;
	uint32_t qfree;
	size_t nq;
	uint32_t oldest, newest;
	uint32_t bucket[NBUCKETS];
};

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

struct frag_table *frag_new(size_t mem_limit, uint64_t timeout, const uint8_t key[16],
			    uint64_t *drops)
{
	struct frag_table *t = xcalloc(1, sizeof(*t));
	t->limit = mem_limit < BLOCK * 4 ? BLOCK * 4 : mem_limit;
	t->low = t->limit / 4 * 3;
	t->timeout = timeout;
	memcpy(&t->k0, key, 8);
	memcpy(&t->k1, key + 8, 8);
	t->drops = drops;
	return t;
}

void frag_free(struct frag_table *t)
{
	if (!t)
		return;
	free(t->data);
	free(t->bnext);
	free(t->pc);
	free(t->q);
	free(t);
}

/* The pools, on the first fragment: most routers never see one. */
static void setup(struct frag_table *t)
{
	t->nblocks = (uint32_t)(t->limit / BLOCK);
	t->data = xcalloc(t->nblocks, BLOCK);
	t->bnext = xcalloc(t->nblocks, sizeof(*t->bnext));
	t->pc = xcalloc(t->nblocks, sizeof(*t->pc));
	t->q = xcalloc(MAX_QUEUES, sizeof(*t->q));
	for (uint32_t i = 0; i < t->nblocks; i++) {
		t->bnext[i] = i + 1 < t->nblocks ? i + 1 : NONE;
		t->pc[i].next = i + 1 < t->nblocks ? i + 1 : NONE;
	}
	t->bfree = t->pfree = 0;
	t->nbfree = t->nblocks;
	for (uint32_t i = 0; i < MAX_QUEUES; i++)
		t->q[i].hnext = i + 1 < MAX_QUEUES ? i + 1 : NONE;
	t->qfree = 0;
	for (uint32_t i = 0; i < NBUCKETS; i++)
		t->bucket[i] = NONE;
	t->oldest = t->newest = NONE;
	t->ready = true;
}

size_t frag_queues(const struct frag_table *t)
{
	return t->nq;
}

size_t frag_mem(const struct frag_table *t)
{
	return t->ready ? (size_t)(t->nblocks - t->nbfree) * BLOCK : 0;
}

/* ---- keys ---- */

struct key {
	uint8_t family, proto;
	union ipaddr src, dst;
	uint32_t id;
};

/* A keyed mix: the table is small and bounded, so even a chain that an
 * attacker managed to grow costs at most a walk of MAX_QUEUES entries. */
static uint32_t key_bucket(const struct frag_table *t, const struct key *k)
{
	uint64_t w[5];
	memcpy(&w[0], k->src.v6, 8);
	memcpy(&w[1], k->src.v6 + 8, 8);
	memcpy(&w[2], k->dst.v6, 8);
	memcpy(&w[3], k->dst.v6 + 8, 8);
	w[4] = (uint64_t)k->id << 16 | (uint64_t)k->proto << 8 | k->family;
	uint64_t h = t->k0;
	for (int i = 0; i < 5; i++) {
		h ^= w[i] + t->k1;
		h *= 0x9e3779b97f4a7c15ull;
		h ^= h >> 29;
	}
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	return (uint32_t)(h % NBUCKETS);
}

static bool key_eq(const struct queue *q, const struct key *k)
{
	return q->family == k->family && q->proto == k->proto && q->id == k->id &&
	       !memcmp(&q->src, &k->src, sizeof(q->src)) && !memcmp(&q->dst, &k->dst, sizeof(q->dst));
}

/* ---- queues ---- */

static void blocks_release(struct frag_table *t, uint32_t b)
{
	while (b != NONE) {
		uint32_t next = t->bnext[b];
		t->bnext[b] = t->bfree;
		t->bfree = b;
		t->nbfree++;
		b = next;
	}
}

/* Frees a queue; reason (if not DR_NONE) is counted for its datagram. */
static void queue_kill(struct frag_table *t, uint32_t qi, enum drop_reason reason)
{
	struct queue *q = &t->q[qi];
	for (uint32_t pi = q->pieces; pi != NONE;) {
		uint32_t next = t->pc[pi].next;
		blocks_release(t, t->pc[pi].block);
		t->pc[pi].next = t->pfree;
		t->pfree = pi;
		pi = next;
	}
	struct key k = { q->family, q->proto, q->src, q->dst, q->id };
	uint32_t *link = &t->bucket[key_bucket(t, &k)];
	while (*link != qi)
		link = &t->q[*link].hnext;
	*link = q->hnext;
	if (q->older != NONE)
		t->q[q->older].newer = q->newer;
	else
		t->oldest = q->newer;
	if (q->newer != NONE)
		t->q[q->newer].older = q->older;
	else
		t->newest = q->older;
	if (reason != DR_NONE && t->drops)
		t->drops[reason]++;
	q->used = false;
	q->hnext = t->qfree;
	t->qfree = qi;
	t->nq--;
}

void frag_expire(struct frag_table *t, uint64_t now)
{
	if (!t->ready)
		return;
	while (t->oldest != NONE && t->q[t->oldest].expires <= now)
		queue_kill(t, t->oldest, DR_FRAG_TIMEOUT);
}

/* Evicts the oldest queues other than keep until n blocks are free and use
 * is back under the low mark. False when that is not possible. */
static bool make_room(struct frag_table *t, uint32_t n, uint32_t keep)
{
	if (t->nbfree >= n)
		return true;
	size_t want_free = (t->limit - t->low) / BLOCK;
	if (want_free < n)
		want_free = n;
	uint32_t qi = t->oldest;
	while (t->nbfree < want_free && qi != NONE) {
		uint32_t next = t->q[qi].newer;
		if (qi != keep)
			queue_kill(t, qi, DR_FRAG_MEMORY);
		qi = next;
	}
	return t->nbfree >= n;
}

static uint32_t queue_get(struct frag_table *t, const struct key *k, uint64_t now)
{
	uint32_t b = key_bucket(t, k);
	for (uint32_t qi = t->bucket[b]; qi != NONE; qi = t->q[qi].hnext)
		if (key_eq(&t->q[qi], k))
			return qi;
	if (t->qfree == NONE)
		queue_kill(t, t->oldest, DR_FRAG_MEMORY);
	uint32_t qi = t->qfree;
	struct queue *q = &t->q[qi];
	t->qfree = q->hnext;
	memset(q, 0, offsetof(struct queue, hdr));
	q->family = k->family;
	q->proto = k->proto;
	q->src = k->src;
	q->dst = k->dst;
	q->id = k->id;
	q->used = true;
	q->expires = now + t->timeout;
	q->pieces = NONE;
	q->hnext = t->bucket[b];
	t->bucket[b] = qi;
	q->newer = NONE;
	q->older = t->newest;
	if (t->newest != NONE)
		t->q[t->newest].newer = qi;
	else
		t->oldest = qi;
	t->newest = qi;
	t->nq++;
	return qi;
}

/* ---- piece data ---- */

/* Compares n bytes of piece p from byte at (relative to the piece) with d. */
static bool piece_same(const struct frag_table *t, const struct piece *p, uint32_t at,
		       const uint8_t *d, uint32_t n)
{
	uint32_t b = p->block;
	while (at >= BLOCK) {
		b = t->bnext[b];
		at -= BLOCK;
	}
	while (n) {
		uint32_t k = BLOCK - at < n ? BLOCK - at : n;
		if (memcmp(t->data + (size_t)b * BLOCK + at, d, k))
			return false;
		d += k;
		n -= k;
		at = 0;
		b = t->bnext[b];
	}
	return true;
}

static void piece_copy_out(const struct frag_table *t, const struct piece *p, uint8_t *out)
{
	uint32_t n = p->len;
	for (uint32_t b = p->block; n; b = t->bnext[b]) {
		uint32_t k = n < BLOCK ? n : BLOCK;
		memcpy(out, t->data + (size_t)b * BLOCK, k);
		out += k;
		n -= k;
	}
}

static uint32_t blocks_for(uint32_t len)
{
	return (len + BLOCK - 1) / BLOCK;
}

/* A new piece holding d[0..len) at offset off; blocks were reserved. */
static uint32_t piece_new(struct frag_table *t, uint32_t off, const uint8_t *d, uint32_t len)
{
	uint32_t pi = t->pfree;
	struct piece *p = &t->pc[pi];
	t->pfree = p->next;
	p->off = off;
	p->len = len;
	p->next = NONE;
	uint32_t *link = &p->block;
	for (uint32_t done = 0; done < len;) {
		uint32_t b = t->bfree;
		t->bfree = t->bnext[b];
		t->nbfree--;
		uint32_t k = len - done < BLOCK ? len - done : BLOCK;
		memcpy(t->data + (size_t)b * BLOCK, d + done, k);
		done += k;
		*link = b;
		link = &t->bnext[b];
	}
	*link = NONE;
	return pi;
}

/* ---- the fragment ---- */

struct frag_in {
	struct key k;
	uint32_t off, len;   /* payload range of this fragment */
	bool more;
	const uint8_t *d;    /* its payload bytes */
	uint32_t hdr_len;    /* first fragment: bytes of frame before the payload to keep */
	uint32_t nh_off;     /* IPv6: byte naming the fragment header */
	uint8_t nh;          /* IPv6: what follows the fragment header */
};

/* Reads the fragment out of the frame; DR_NONE or why it is unusable. */
static enum drop_reason frag_read(const struct pkt *p, struct frag_in *f)
{
	const uint8_t *d = p->data;
	uint32_t l3 = p->l3_off, end = l3 + p->ip_len;
	memset(f, 0, sizeof(*f));
	f->k.family = p->family;
	f->k.src = p->src;
	f->k.dst = p->dst;
	if (p->family == 4) {
		uint32_t ihl = (uint32_t)(d[l3] & 0x0f) * 4;
		uint16_t fo = rd16(d + l3 + 6);
		f->k.proto = p->proto;
		f->k.id = rd16(d + l3 + 4);
		f->off = (uint32_t)(fo & 0x1fff) * 8;
		f->more = fo & 0x2000;
		f->d = d + l3 + ihl;
		f->len = end - l3 - ihl;
		f->hdr_len = l3 + ihl;
		/* as Linux: a fragment that is not the last is cut to 8-byte units */
		if (f->more)
			f->len &= ~7u;
		if (f->len == 0 || f->off + f->len > 65535 - 20)
			return DR_BAD_IPV4_LEN;
		return DR_NONE;
	}
	uint32_t off = l3 + 40, nh_off = l3 + 6;
	uint8_t nh = d[l3 + 6];
	for (int n = 0; nh != 44; n++) {
		uint32_t hl;
		if (n >= V6_MAX_EXT || end - off < 8)
			return DR_BAD_IPV6_EXTHDR;
		if (nh == 0 || nh == 43 || nh == 60)
			hl = ((uint32_t)d[off + 1] + 1) * 8;
		else if (nh == 51)
			hl = ((uint32_t)d[off + 1] + 2) * 4;
		else
			return DR_BAD_IPV6_EXTHDR;
		if (hl > end - off)
			return DR_BAD_IPV6_EXTHDR;
		nh_off = off;
		nh = d[off];
		off += hl;
	}
	if (end - off < 8 || off > HDR_MAX)
		return DR_BAD_IPV6_EXTHDR;
	uint16_t fo = rd16(d + off + 2);
	f->k.id = rd32(d + off + 4);
	f->nh = d[off];
	f->nh_off = nh_off;
	f->off = fo & 0xfff8u;
	f->more = fo & 1;
	f->d = d + off + 8;
	f->len = end - off - 8;
	f->hdr_len = off;
	/* RFC 8200: a fragment that is not the last comes in 8-byte units */
	if ((f->more && (f->len & 7)) || f->len == 0 || f->off + f->len > 65535)
		return DR_BAD_IPV6_LEN;
	return DR_NONE;
}

/* The whole datagram, into out. */
static enum drop_reason reassemble(struct frag_table *t, struct queue *q, uint8_t *out,
				   size_t cap, uint32_t *out_len)
{
	size_t total = (size_t)q->hdr_len + q->len;
	size_t ip_len = total - q->l3_off;
	if (total > cap || ip_len > 65535)
		return q->family == 4 ? DR_BAD_IPV4_LEN : DR_BAD_IPV6_LEN;
	memcpy(out, q->hdr, q->hdr_len);
	uint8_t *w = out + q->hdr_len;
	for (uint32_t pi = q->pieces; pi != NONE; pi = t->pc[pi].next) {
		piece_copy_out(t, &t->pc[pi], w);
		w += t->pc[pi].len;
	}
	uint8_t *ip = out + q->l3_off;
	if (q->family == 4) {
		uint32_t ihl = (uint32_t)(ip[0] & 0x0f) * 4;
		wr16(ip + 2, (uint16_t)ip_len);
		wr16(ip + 6, rd16(ip + 6) & 0x4000); /* DF of the first fragment stays */
		wr16(ip + 10, 0);
		uint16_t c = csum_buf(ip, ihl, 0); /* network order */
		memcpy(ip + 10, &c, 2);
	} else {
		wr16(ip + 4, (uint16_t)(ip_len - 40));
		out[q->nh_off] = q->nh;
	}
	*out_len = (uint32_t)total;
	return DR_NONE;
}

enum frag_verdict frag_add(struct frag_table *t, const struct pkt *p, uint64_t now, uint8_t *out,
			   size_t cap, uint32_t *out_len, unsigned *nfrags,
			   enum drop_reason *reason)
{
	struct frag_in f;
	*reason = frag_read(p, &f);
	if (*reason != DR_NONE)
		return FRAG_DROP;
	if (!t->ready)
		setup(t);
	frag_expire(t, now);
	uint32_t qi = queue_get(t, &f.k, now);
	struct queue *q = &t->q[qi];
	uint32_t s = f.off, e = f.off + f.len;

	/* what the fragment says about the datagram's end must agree with the rest */
	bool bad = q->have_last && (f.more ? e > q->len : e != q->len);
	if (!f.more && !bad)
		for (uint32_t pi = q->pieces; pi != NONE; pi = t->pc[pi].next)
			if (t->pc[pi].off + t->pc[pi].len > e)
				bad = true;
	/* bytes already held must be the same bytes */
	uint32_t need = 0, c = s;
	for (uint32_t pi = q->pieces; pi != NONE && !bad; pi = t->pc[pi].next) {
		const struct piece *pp = &t->pc[pi];
		uint32_t pe = pp->off + pp->len;
		if (pe <= s)
			continue;
		if (pp->off >= e)
			break;
		uint32_t lo = pp->off > s ? pp->off : s, hi = pe < e ? pe : e;
		if (!piece_same(t, pp, lo - pp->off, f.d + (lo - s), hi - lo))
			bad = true;
		if (pp->off > c)
			need += blocks_for(pp->off - c);
		if (pe > c)
			c = pe;
	}
	if (bad) {
		queue_kill(t, qi, DR_NONE);
		*reason = DR_FRAG_OVERLAP;
		return FRAG_DROP;
	}
	if (c < e)
		need += blocks_for(e - c);
	if (!make_room(t, need, qi)) {
		queue_kill(t, qi, DR_NONE);
		*reason = DR_FRAG_MEMORY;
		return FRAG_DROP;
	}
	/* insert what is new, in offset order */
	uint32_t *link = &q->pieces;
	c = s;
	while (c < e) {
		uint32_t pi = *link;
		if (pi != NONE && t->pc[pi].off + t->pc[pi].len <= c) {
			link = &t->pc[pi].next;
			continue;
		}
		uint32_t stop = pi != NONE && t->pc[pi].off < e ? t->pc[pi].off : e;
		if (stop > c) {
			uint32_t ni = piece_new(t, c, f.d + (c - s), stop - c);
			t->pc[ni].next = pi;
			*link = ni;
			link = &t->pc[ni].next;
			q->meat += stop - c;
		}
		if (pi == NONE || stop == e)
			break;
		c = t->pc[pi].off + t->pc[pi].len;
		link = &t->pc[pi].next;
	}
	q->nfrags++;
	if (!f.more) {
		q->have_last = true;
		q->len = e;
	}
	if (s == 0 && !q->have_first) {
		q->have_first = true;
		memcpy(q->hdr, p->data, f.hdr_len);
		q->hdr_len = (uint16_t)f.hdr_len;
		q->l3_off = p->l3_off;
		q->nh_off = (uint16_t)f.nh_off;
		q->nh = f.nh;
	}
	if (!q->have_first || !q->have_last || q->meat != q->len)
		return FRAG_HELD;
	*nfrags = q->nfrags;
	*reason = reassemble(t, q, out, cap, out_len);
	queue_kill(t, qi, DR_NONE);
	return *reason == DR_NONE ? FRAG_DONE : FRAG_DROP;
}
