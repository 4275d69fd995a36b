/*
 * classify: the index that keeps a long chain from being scanned rule by
 * rule. A few packet fields are indexed: protocol, destination port, IPv4
 * source and destination, incoming interface. For each of them a rule is
 * either specific — every packet it can match has the field inside a known
 * set of intervals — or not. Each rule is filed under one field only, its
 * home: the specific field that admits the smallest share of traffic (a
 * /32 before a port, a port before an interface, a protocol last); a rule
 * specific on no field is a wildcard. A field's key space is cut into
 * elementary intervals (classes) at every boundary of its rules, and each
 * class lists the rules filed there that cover it.
 * For a packet, the candidates are the wildcards plus, for every field, the
 * list of the class its value falls in: a superset of the rules that can
 * match, because a matching rule's home field holds the packet's value. The
 * evaluator walks the merged lists in rule order and still checks every
 * matcher. Skipping other rules is safe even when they have side effects:
 * they cannot match, and stateful matchers only run once every stateless
 * one held.
 * Memory is bounded: a field whose class lists would exceed a budget turns
 * its widest rules into wildcards.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "util/sbuf.h"

#define CLS_MIN_RULES 16 /* shorter chains are scanned */

enum cf_key { CF_PROTO, CF_DPORT, CF_SRC4, CF_DST4, CF_INIF, CF_MAX };

struct cls_field {
	uint8_t key;           /* enum cf_key */
	uint32_t nclass;
	const uint32_t *start; /* class i = [start[i], start[i + 1] - 1]; start[0] = 0 */
	const uint32_t *off;   /* nclass + 1 offsets into idx */
	const uint32_t *idx;   /* rule indices, ascending per class */
};

struct cls {
	uint32_t nf;
	struct cls_field f[CF_MAX];
	uint32_t nwild;
	const uint32_t *wild;  /* rule indices, ascending */
};

struct ival {
	uint32_t lo, hi;
};

/* Growable interval list of one rule and field. */
struct ivals {
	struct ival *v;
	size_t n, cap;
};

static void iv_add(struct ivals *l, uint32_t lo, uint32_t hi)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4;
		l->v = xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = (struct ival){ lo, hi };
}

static int cmp_ival(const void *a, const void *b)
{
	const struct ival *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static void iv_merge(struct ivals *l)
{
	if (l->n < 2)
		return;
	qsort(l->v, l->n, sizeof(*l->v), cmp_ival);
	size_t out = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (out && (l->v[out - 1].hi == UINT32_MAX || l->v[i].lo <= l->v[out - 1].hi + 1)) {
			if (l->v[i].hi > l->v[out - 1].hi)
				l->v[out - 1].hi = l->v[i].hi;
		} else {
			l->v[out++] = l->v[i];
		}
	}
	l->n = out;
}

/*
 * The intervals of rule r for field k, and the share of traffic they admit
 * (a guess: protocols are few and tcp/udp carry most; interfaces are few).
 * Returns a share above 1 when r is not specific on k.
 */
static double rule_ivals(const struct rule *r, enum cf_key k, struct ivals *l)
{
	for (uint16_t i = 0; i < r->nops; i++) {
		const struct mop *o = &r->ops[i];
		if (o->neg)
			continue;
		switch (k) {
		case CF_PROTO:
			if (o->kind != MK_PROTO)
				continue;
			iv_add(l, o->a, o->a);
			return o->a == 6 || o->a == 17 ? 0.4 : 0.05;
		case CF_DPORT: {
			if (o->kind != MK_DPORT)
				continue;
			for (uint32_t j = 0; j < o->a; j++) {
				const struct portrange *pr = (const struct portrange *)o->ptr + j;
				iv_add(l, pr->lo, pr->hi);
			}
			iv_merge(l);
			double w = 0;
			for (size_t j = 0; j < l->n; j++)
				w += (double)(l->v[j].hi - l->v[j].lo) + 1;
			return 0.001 + w / 65536.0;
		}
		case CF_SRC4:
		case CF_DST4:
			if (o->kind != (k == CF_SRC4 ? MK_SRC4 : MK_DST4))
				continue;
			iv_add(l, o->a, o->b);
			return ((double)(o->b - o->a) + 1) / 4294967296.0;
		case CF_INIF: {
			if (o->kind == MK_INIF && !o->ptr) {
				iv_add(l, o->a, o->a);
				return 0.1;
			}
			const struct ifset *s = o->ptr;
			/* a complement set (all, all but ...) is no index */
			if ((o->kind != MK_INIF && o->kind != MK_INLIST) || !s || s->all)
				continue;
			for (uint32_t id = 1; id < s->nbits; id++)
				if (s->bits[id / 64] & (1ull << (id % 64)))
					iv_add(l, id, id);
			return 0.1 * (double)l->n;
		}
		default:
			return 2;
		}
	}
	return 2;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Index of the class holding key: the last start <= key. */
static inline uint32_t class_of(const uint32_t *start, uint32_t n, uint32_t key)
{
	const uint32_t *base = start;
	while (n > 1) {
		uint32_t half = n / 2;
		base = base[half] <= key ? base + half : base;
		n -= half;
	}
	return (uint32_t)(base - start);
}

struct cover {
	uint32_t rule;
	uint64_t classes;
};

static int cmp_cover_desc(const void *a, const void *b)
{
	const struct cover *x = a, *y = b;
	if (x->classes != y->classes)
		return x->classes > y->classes ? -1 : 1;
	return x->rule < y->rule ? -1 : x->rule > y->rule;
}

/*
 * Indexes field k over the rules whose home it is (home[i] == k) into f;
 * rules over the budget get home -1. False when no rule is left.
 */
static bool field_build(struct rs_arena *a, uint32_t n, enum cf_key k, struct ivals *iv,
			int *home, struct cls_field *f)
{
	uint32_t *bounds = NULL;
	struct cover *cov = NULL;
	bool ok = false;
	size_t nb = 1;
	for (uint32_t i = 0; i < n; i++)
		nb += home[i] == (int)k ? 2 * iv[i].n : 0;
	if (nb == 1)
		return false;
	bounds = xmalloc(nb * sizeof(*bounds));
	size_t m = 0;
	bounds[m++] = 0;
	for (uint32_t i = 0; i < n; i++) {
		for (size_t j = 0; home[i] == (int)k && j < iv[i].n; j++) {
			bounds[m++] = iv[i].v[j].lo;
			if (iv[i].v[j].hi != UINT32_MAX)
				bounds[m++] = iv[i].v[j].hi + 1;
		}
	}
	qsort(bounds, m, sizeof(*bounds), cmp_u32);
	uint32_t nclass = 0;
	for (size_t i = 0; i < m; i++)
		if (!nclass || bounds[i] != bounds[nclass - 1])
			bounds[nclass++] = bounds[i];

	/* the budget: the rules covering most classes become wildcards */
	cov = xmalloc(n * sizeof(*cov));
	uint64_t total = 0;
	uint32_t ncov = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (home[i] != (int)k)
			continue;
		uint64_t cl = 0;
		for (size_t j = 0; j < iv[i].n; j++)
			cl += class_of(bounds, nclass, iv[i].v[j].hi) -
			      class_of(bounds, nclass, iv[i].v[j].lo) + 1;
		cov[ncov++] = (struct cover){ i, cl };
		total += cl;
	}
	uint64_t budget = 8ull * n + 1024;
	if (total > budget) {
		qsort(cov, ncov, sizeof(*cov), cmp_cover_desc);
		for (uint32_t j = 0; j < ncov && total > budget; j++) {
			home[cov[j].rule] = -1;
			total -= cov[j].classes;
		}
	}
	if (!total)
		goto free_scratch;

	uint32_t *start = rs_arena_alloc(a, nclass * sizeof(*start));
	memcpy(start, bounds, nclass * sizeof(*start));
	uint32_t *off = rs_arena_alloc(a, (nclass + 1) * sizeof(*off));
	uint32_t *idx = rs_arena_alloc(a, total * sizeof(*idx));
	/* counts per class, prefix sums, then fill in rule order */
	for (int pass = 0; pass < 2; pass++) {
		uint32_t *fill = NULL;
		if (pass) {
			for (uint32_t cl = 0; cl < nclass; cl++)
				off[cl + 1] += off[cl];
			fill = xmalloc((nclass + 1) * sizeof(*fill));
			memcpy(fill, off, (nclass + 1) * sizeof(*fill));
		}
		for (uint32_t i = 0; i < n; i++) {
			for (size_t j = 0; home[i] == (int)k && j < iv[i].n; j++) {
				uint32_t lo = class_of(start, nclass, iv[i].v[j].lo);
				uint32_t hi = class_of(start, nclass, iv[i].v[j].hi);
				for (uint32_t cl = lo; cl <= hi; cl++) {
					if (pass)
						idx[fill[cl]++] = i;
					else
						off[cl + 1]++;
				}
			}
		}
		free(fill);
	}
	f->key = (uint8_t)k;
	f->nclass = nclass;
	f->start = start;
	f->off = off;
	f->idx = idx;
	ok = true;
free_scratch:
	free(bounds);
	free(cov);
	return ok;
}

void cls_build(struct rs_arena *a, struct chain *c)
{
	c->cls = NULL;
	uint32_t n = c->n;
	if (n < CLS_MIN_RULES)
		return;
	struct ivals *iv[CF_MAX];
	int *home = xmalloc(n * sizeof(*home));
	for (int k = 0; k < CF_MAX; k++)
		iv[k] = xcalloc(n, sizeof(struct ivals));
	/* each rule's home: its most selective specific field */
	uint32_t nwild = 0;
	for (uint32_t i = 0; i < n; i++) {
		double best = 1.5;
		home[i] = -1;
		for (int k = 0; k < CF_MAX; k++) {
			if (c->family == 6 && (k == CF_SRC4 || k == CF_DST4))
				continue;
			double share = rule_ivals(&c->rules[i], (enum cf_key)k, &iv[k][i]);
			if (share < best) {
				best = share;
				home[i] = k;
			}
		}
	}
	struct cls *cls = rs_arena_alloc(a, sizeof(*cls));
	for (int k = 0; k < CF_MAX; k++) {
		if (field_build(a, n, (enum cf_key)k, iv[k], home, &cls->f[cls->nf]))
			cls->nf++;
	}
	for (uint32_t i = 0; i < n; i++)
		nwild += home[i] < 0;
	/* nothing to gain when most rules are wildcards anyway */
	if (cls->nf && nwild * 4 < 3 * n) {
		uint32_t *wild = rs_arena_alloc(a, (nwild ? nwild : 1) * sizeof(*wild));
		for (uint32_t i = 0, j = 0; i < n; i++)
			if (home[i] < 0)
				wild[j++] = i;
		cls->nwild = nwild;
		cls->wild = wild;
		c->cls = cls;
	}
	for (int k = 0; k < CF_MAX; k++) {
		for (uint32_t i = 0; i < n; i++)
			free(iv[k][i].v);
		free(iv[k]);
	}
	free(home);
}

void cls_start(const struct chain *c, const struct pkt *p, struct cls_iter *it)
{
	const struct cls *cls = c->cls;
	if (!cls) {
		it->lin = true;
		it->pos = 0;
		it->n = c->n;
		return;
	}
	it->lin = false;
	it->nl = 0;
	if (cls->nwild) {
		it->l[0] = cls->wild;
		it->ln[0] = cls->nwild;
		it->li[0] = 0;
		it->nl = 1;
	}
	for (uint32_t i = 0; i < cls->nf; i++) {
		const struct cls_field *f = &cls->f[i];
		uint32_t key;
		switch (f->key) {
		case CF_PROTO:
			key = p->proto;
			break;
		case CF_DPORT:
			/* without ports no port-specific rule can match */
			if (!(p->flags & PKT_F_L4) || !rs_port_proto(p->proto))
				continue;
			key = p->dport;
			break;
		case CF_SRC4:
			key = p->src.v4;
			break;
		case CF_DST4:
			key = p->dst.v4;
			break;
		default:
			key = p->in_if;
			break;
		}
		uint32_t cl = class_of(f->start, f->nclass, key);
		uint32_t len = f->off[cl + 1] - f->off[cl];
		if (!len)
			continue;
		it->l[it->nl] = f->idx + f->off[cl];
		it->ln[it->nl] = len;
		it->li[it->nl] = 0;
		it->nl++;
	}
}
