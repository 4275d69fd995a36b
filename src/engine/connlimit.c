/*
 * connlimit: the state of connection-limit=N,MASK, as Linux's xt_connlimit
 * (nf_conncount) keeps it. Per rule and per source block (the packet's
 * source masked to MASK bits) a group lists the connections whose packets
 * reached the matcher, by original tuple. A packet adds its connection to
 * the group unless it is listed already, and the matcher holds when the
 * group has more than N live connections. A listed connection stops
 * counting once conntrack no longer has it confirmed, or its TCP state is
 * time-wait or close (the caller's live function says so); such members
 * are dropped lazily: from a group when its count is looked at beyond N,
 * and from every group before the node pool grows.
 *
 * Two indices over one pool of nodes: groups by (rule, prefix, block) and
 * nodes by (group, tuple), both chained hashes keyed with the rs_state's
 * SipHash key. Indices instead of pointers so the pools can grow by
 * realloc. Index 0 is the nil of every list.
 * Bounds: at most CL_MAX_NODES listed connections; beyond it (after a full
 * collection) a packet's connection is counted for that packet only.
 */
#include <stdlib.h>
#include <string.h>

#include "rules_int.h"
#include "util/sbuf.h"

#define CL_MAX_NODES (1u << 20)
#define CL_FIRST_CAP 256u

struct cl_node {
	struct ct_tuple t;
	uint32_t group;
	uint32_t gnext, gprev; /* the group's members, oldest first */
	uint32_t hnext;        /* node hash chain; free list */
};

struct cl_group {
	uint32_t rule;
	uint8_t family, prefix;
	union ipaddr key;
	uint32_t head, tail, n;
	uint32_t hnext;        /* group hash chain; free list */
};

struct rs_connlimit {
	struct cl_node *nodes;
	uint32_t ncap, nhigh, nfree, nlive;
	struct cl_group *groups;
	uint32_t gcap, ghigh, gfree;
	uint32_t *nb, *gb;     /* bucket heads; as many as the pool's capacity */
};

struct rs_connlimit *cl_new(void)
{
	return xcalloc(1, sizeof(struct rs_connlimit));
}

void cl_free(struct rs_connlimit *cl)
{
	if (!cl)
		return;
	free(cl->nodes);
	free(cl->groups);
	free(cl->nb);
	free(cl->gb);
	free(cl);
}

/* The canonical bytes of a tuple: an IPv4 address leaves the rest zero. */
static void tuple_norm(const struct ct_tuple *in, struct ct_tuple *out)
{
	memset(out, 0, sizeof(*out));
	out->family = in->family;
	out->proto = in->proto;
	out->sport = in->sport;
	out->dport = in->dport;
	if (in->family == 6) {
		memcpy(out->src.v6, in->src.v6, 16);
		memcpy(out->dst.v6, in->dst.v6, 16);
	} else {
		out->src.v4 = in->src.v4;
		out->dst.v4 = in->dst.v4;
	}
}

static uint32_t group_hash(const struct rs_state *s, uint32_t rule, uint8_t family,
			   uint8_t prefix, const union ipaddr *key)
{
	struct {
		uint32_t rule;
		uint8_t family, prefix, pad[2];
		union ipaddr key;
	} k;
	memset(&k, 0, sizeof(k));
	k.rule = rule;
	k.family = family;
	k.prefix = prefix;
	memcpy(&k.key, key, sizeof(*key));
	return (uint32_t)rs_hash(s, &k, sizeof(k));
}

static uint32_t node_hash(const struct rs_state *s, uint32_t group, const struct ct_tuple *t)
{
	struct {
		uint32_t group;
		struct ct_tuple t;
	} k;
	memset(&k, 0, sizeof(k));
	k.group = group;
	memcpy(&k.t, t, sizeof(*t));
	return (uint32_t)rs_hash(s, &k, sizeof(k));
}

/* Rebuilds both bucket arrays for the current capacities. */
static void rehash(struct rs_connlimit *cl, const struct rs_state *s)
{
	free(cl->nb);
	free(cl->gb);
	cl->nb = xcalloc(cl->ncap, sizeof(*cl->nb));
	cl->gb = xcalloc(cl->gcap, sizeof(*cl->gb));
	for (uint32_t g = 1; g < cl->ghigh; g++) {
		struct cl_group *gr = &cl->groups[g];
		if (!gr->n)
			continue;
		uint32_t b = group_hash(s, gr->rule, gr->family, gr->prefix, &gr->key) & (cl->gcap - 1);
		gr->hnext = cl->gb[b];
		cl->gb[b] = g;
		for (uint32_t i = gr->head; i; i = cl->nodes[i].gnext) {
			uint32_t nb = node_hash(s, g, &cl->nodes[i].t) & (cl->ncap - 1);
			cl->nodes[i].hnext = cl->nb[nb];
			cl->nb[nb] = i;
		}
	}
}

static uint32_t group_find(const struct rs_connlimit *cl, const struct rs_state *s, uint32_t rule,
			   uint8_t family, uint8_t prefix, const union ipaddr *key)
{
	if (!cl->gcap)
		return 0;
	uint32_t b = group_hash(s, rule, family, prefix, key) & (cl->gcap - 1);
	for (uint32_t g = cl->gb[b]; g; g = cl->groups[g].hnext) {
		const struct cl_group *gr = &cl->groups[g];
		if (gr->rule == rule && gr->family == family && gr->prefix == prefix &&
		    !memcmp(&gr->key, key, sizeof(*key)))
			return g;
	}
	return 0;
}

static uint32_t node_find(const struct rs_connlimit *cl, const struct rs_state *s, uint32_t g,
			  const struct ct_tuple *t)
{
	if (!cl->ncap)
		return 0;
	uint32_t b = node_hash(s, g, t) & (cl->ncap - 1);
	for (uint32_t i = cl->nb[b]; i; i = cl->nodes[i].hnext)
		if (cl->nodes[i].group == g && !memcmp(&cl->nodes[i].t, t, sizeof(*t)))
			return i;
	return 0;
}

static void group_unlink(struct rs_connlimit *cl, const struct rs_state *s, uint32_t g)
{
	struct cl_group *gr = &cl->groups[g];
	uint32_t *pp = &cl->gb[group_hash(s, gr->rule, gr->family, gr->prefix, &gr->key) &
			       (cl->gcap - 1)];
	while (*pp != g)
		pp = &cl->groups[*pp].hnext;
	*pp = gr->hnext;
	memset(gr, 0, sizeof(*gr));
	gr->hnext = cl->gfree;
	cl->gfree = g;
}

static void node_remove(struct rs_connlimit *cl, const struct rs_state *s, uint32_t i)
{
	struct cl_node *nd = &cl->nodes[i];
	uint32_t g = nd->group;
	struct cl_group *gr = &cl->groups[g];
	uint32_t *pp = &cl->nb[node_hash(s, g, &nd->t) & (cl->ncap - 1)];
	while (*pp != i)
		pp = &cl->nodes[*pp].hnext;
	*pp = nd->hnext;
	if (nd->gprev)
		cl->nodes[nd->gprev].gnext = nd->gnext;
	else
		gr->head = nd->gnext;
	if (nd->gnext)
		cl->nodes[nd->gnext].gprev = nd->gprev;
	else
		gr->tail = nd->gprev;
	memset(nd, 0, sizeof(*nd));
	nd->hnext = cl->nfree;
	cl->nfree = i;
	cl->nlive--;
	if (--gr->n == 0)
		group_unlink(cl, s, g);
}

/* Drops every member conntrack no longer has (but keep, the packet's own). */
static void collect_all(struct rs_connlimit *cl, const struct rs_state *s,
			const struct rs_ctx *c, const struct ct_tuple *keep)
{
	for (uint32_t i = 1; i < cl->nhigh; i++) {
		struct cl_node *nd = &cl->nodes[i];
		if (!nd->group || !memcmp(&nd->t, keep, sizeof(*keep)))
			continue;
		if (!c->conn_live(c->conn_ctx, &nd->t))
			node_remove(cl, s, i);
	}
}

/* Room for one more node and one more group; false at the bound. */
static bool reserve(struct rs_connlimit *cl, const struct rs_state *s, const struct rs_ctx *c,
		    const struct ct_tuple *keep)
{
	bool grow = false;
	if (!cl->nfree && cl->nhigh + 1 >= cl->ncap) {
		/* grow unless a collection frees a quarter: amortised O(1) */
		uint32_t before = cl->nlive;
		collect_all(cl, s, c, keep);
		if (cl->ncap >= CL_MAX_NODES) {
			if (!cl->nfree)
				return false;
		} else if (!cl->ncap || before - cl->nlive < cl->ncap / 4) {
			uint32_t cap = cl->ncap ? cl->ncap * 2 : CL_FIRST_CAP;
			cl->nodes = xrealloc(cl->nodes, cap * sizeof(*cl->nodes));
			memset(cl->nodes + cl->ncap, 0, (cap - cl->ncap) * sizeof(*cl->nodes));
			if (!cl->nhigh)
				cl->nhigh = 1;
			cl->ncap = cap;
			grow = true;
		}
	}
	if (!cl->gfree && cl->ghigh + 1 >= cl->gcap) {
		uint32_t cap = cl->gcap ? cl->gcap * 2 : CL_FIRST_CAP;
		cl->groups = xrealloc(cl->groups, cap * sizeof(*cl->groups));
		memset(cl->groups + cl->gcap, 0, (cap - cl->gcap) * sizeof(*cl->groups));
		if (!cl->ghigh)
			cl->ghigh = 1;
		cl->gcap = cap;
		grow = true;
	}
	if (grow)
		rehash(cl, s);
	return true;
}

static uint32_t group_take(struct rs_connlimit *cl)
{
	uint32_t g = cl->gfree;
	if (!g)
		return cl->ghigh++;
	cl->gfree = cl->groups[g].hnext;
	return g;
}

static uint32_t node_take(struct rs_connlimit *cl)
{
	uint32_t i = cl->nfree;
	if (!i)
		return cl->nhigh++;
	cl->nfree = cl->nodes[i].hnext;
	return i;
}

bool cl_match(struct rs_connlimit **clp, const struct rs_state *s, uint32_t rule, uint32_t limit,
	      uint8_t prefix, const struct rs_ctx *c)
{
	const struct pkt *p = c->p;
	if (!*clp)
		*clp = cl_new();
	struct rs_connlimit *cl = *clp;
	struct ct_tuple t;
	if (p->ct) {
		struct ct_tuple t0;
		ct_entry_tuple(p->ct, 0, &t0);
		tuple_norm(&t0, &t);
	} else {
		struct ct_tuple raw;
		ct_tuple_of_pkt(p, &raw);
		tuple_norm(&raw, &t);
	}
	union ipaddr key;
	memset(&key, 0, sizeof(key));
	if (p->family == 6) {
		for (unsigned i = 0; i < 16; i++) {
			int keep = (int)prefix - 8 * (int)i;
			key.v6[i] = p->src.v6[i] &
				    (keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep)));
		}
	} else {
		key.v4 = prefix ? p->src.v4 & (~0u << (32 - (prefix > 32 ? 32 : prefix))) : 0;
	}

	uint32_t g = group_find(cl, s, rule, p->family, prefix, &key);
	if (!g || !node_find(cl, s, g, &t)) {
		if (!reserve(cl, s, c, &t))
			return (g ? cl->groups[g].n : 0) + 1 > limit; /* at the bound: not listed */
		/* a collection may have emptied and freed the group */
		g = group_find(cl, s, rule, p->family, prefix, &key);
		if (!g) {
			g = group_take(cl);
			struct cl_group *gr = &cl->groups[g];
			memset(gr, 0, sizeof(*gr));
			gr->rule = rule;
			gr->family = p->family;
			gr->prefix = prefix;
			gr->key = key;
			uint32_t b = group_hash(s, rule, p->family, prefix, &key) & (cl->gcap - 1);
			gr->hnext = cl->gb[b];
			cl->gb[b] = g;
		}
		uint32_t i = node_take(cl);
		struct cl_node *nd = &cl->nodes[i];
		struct cl_group *gr = &cl->groups[g];
		memset(nd, 0, sizeof(*nd));
		nd->t = t;
		nd->group = g;
		nd->gprev = gr->tail;
		if (gr->tail)
			cl->nodes[gr->tail].gnext = i;
		else
			gr->head = i;
		gr->tail = i;
		gr->n++;
		cl->nlive++;
		uint32_t b = node_hash(s, g, &t) & (cl->ncap - 1);
		nd->hnext = cl->nb[b];
		cl->nb[b] = i;
	}
	if (cl->groups[g].n <= limit)
		return false; /* even counting every member, not beyond the limit */
	/* beyond it as listed: count the live ones, oldest first, dropping the
	 * dead, until the answer is known */
	uint32_t alive = 1; /* the packet's own connection */
	for (uint32_t i = cl->groups[g].head, next; i; i = next) {
		next = cl->nodes[i].gnext;
		if (!memcmp(&cl->nodes[i].t, &t, sizeof(t)))
			continue;
		if (!c->conn_live(c->conn_ctx, &cl->nodes[i].t)) {
			node_remove(cl, s, i); /* cannot empty the group: t is in it */
			continue;
		}
		if (++alive > limit)
			return true;
	}
	return alive > limit;
}

size_t cl_listed(const struct rs_connlimit *cl)
{
	return cl ? cl->nlive : 0;
}
