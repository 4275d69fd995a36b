/*
 * rstate: struct rs_state, the mutable side of the firewall that outlives a
 * ruleset. Per rule (by store id): counters, the limit bucket, the nth
 * counter. Per flow, in bounded tables that evict the stalest entry of a
 * short probe window when full: dst-limit buckets, psd scan records,
 * connection-rate samples. connection-limit groups (connlimit.c). Dynamic address-list entries in a growable hash
 * with lazy expiry. A xorshift generator for random=. Every hash that an
 * attacker's addresses reach is SipHash with a per-state key.
 * Tables grow only when a rule id or list entry is seen for the first time
 * (bounded by the configuration and by RS_DYN_MAX); the flow tables are
 * allocated once, on first use.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "rules_int.h"
#include "names.h"
#include "util/sbuf.h"

#define RS_DYN_MAX    (1u << 20) /* dynamic address-list entries */
#define FLOW_SLOTS    (1u << 14) /* per table: dst-limit, psd, connection-rate */
#define FLOW_PROBE    8
#define PSD_PORTS     16
#define DL_DEFAULT_EXPIRE (10ull * 1000000000ull)

typedef unsigned __int128 u128;

struct rule_st {
	uint32_t id;          /* 0 = empty slot */
	bool lim_init;
	uint32_t nth;
	uint64_t bytes, packets;
	uint64_t lim_last;
	u128 lim_credit;      /* units x period_ns */
};

struct dyn_ent {
	uint32_t list;        /* 0 = empty */
	uint8_t family;
	union ipaddr a;
	uint64_t expires;     /* 0 = never */
};

/* A per-flow record of one of the flow tables. */
struct flow_ent {
	uint64_t key;         /* SipHash of (kind, rule id, fields); 0 = empty */
	uint64_t last;        /* last packet, ns */
	union {
		struct {
			u128 credit;
		} dl;
		struct {
			uint32_t weight;
			uint8_t nports;
			uint16_t ports[PSD_PORTS];
		} psd;
		struct {
			uint64_t first;   /* when the rules first saw the connection */
			uint64_t bytes;   /* its byte count then (detects a reused entry) */
		} cr;
	} u;
};

enum { FT_DL, FT_PSD, FT_CR, FT_MAX };

struct rs_state {
	struct rule_st *rules;
	size_t rcap, rn;
	struct dyn_ent *dyn;
	size_t dcap, dn;
	struct flow_ent *flow[FT_MAX];
	uint64_t rng;
	uint64_t k0, k1;
	rs_log_fn log;
	void *log_ctx;
	struct rs_connlimit *cl;
};

/* ---- SipHash-2-4 (keyed, so attacker-chosen addresses spread evenly) ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND \
	do { \
		v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32); \
		v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2; \
		v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0; \
		v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32); \
	} while (0)

static uint64_t siphash(const struct rs_state *s, const void *data, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ull ^ s->k0, v1 = 0x646f72616e646f6dull ^ s->k1;
	uint64_t v2 = 0x6c7967656e657261ull ^ s->k0, v3 = 0x7465646279746573ull ^ s->k1;
	const uint8_t *in = data;
	size_t full = len & ~(size_t)7;
	for (size_t i = 0; i < full; i += 8) {
		uint64_t m;
		memcpy(&m, in + i, 8);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	uint64_t b = (uint64_t)len << 56;
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)in[full + i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t rs_hash(const struct rs_state *s, const void *data, size_t len)
{
	return siphash(s, data, len);
}

/* ---- life cycle ---- */

struct rs_state *rs_state_new(void)
{
	struct rs_state *s = xcalloc(1, sizeof(*s));
	uint64_t k[2] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };
	if (getrandom(k, sizeof(k), GRND_NONBLOCK) != (ssize_t)sizeof(k)) {
		k[0] ^= (uint64_t)(uintptr_t)s;
		k[1] ^= (uint64_t)(uintptr_t)&k;
	}
	s->k0 = k[0];
	s->k1 = k[1];
	/* random= is deterministic: the same packets give the same matches */
	s->rng = 0x9e3779b97f4a7c15ull;
	return s;
}

void rs_state_free(struct rs_state *s)
{
	if (!s)
		return;
	free(s->rules);
	free(s->dyn);
	for (int i = 0; i < FT_MAX; i++)
		free(s->flow[i]);
	cl_free(s->cl);
	free(s);
}

void rs_state_set_log(struct rs_state *s, rs_log_fn fn, void *ctx)
{
	s->log = fn;
	s->log_ctx = ctx;
}

/* ---- per-rule records ---- */

static uint32_t id_hash(uint32_t id)
{
	id ^= id >> 16;
	id *= 0x7feb352du;
	id ^= id >> 15;
	id *= 0x846ca68bu;
	return id ^ (id >> 16);
}

static struct rule_st *rule_find(const struct rs_state *s, uint32_t id)
{
	if (!s->rcap || !id)
		return NULL;
	size_t mask = s->rcap - 1;
	for (size_t i = id_hash(id) & mask;; i = (i + 1) & mask) {
		if (s->rules[i].id == id)
			return &s->rules[i];
		if (!s->rules[i].id)
			return NULL;
	}
}

static struct rule_st *rule_slot(struct rs_state *s, uint32_t id)
{
	struct rule_st *r = rule_find(s, id);
	if (r)
		return r;
	if ((s->rn + 1) * 2 > s->rcap) {
		size_t old = s->rcap;
		struct rule_st *or = s->rules;
		s->rcap = old ? old * 2 : 256;
		s->rules = xcalloc(s->rcap, sizeof(*s->rules));
		for (size_t i = 0; i < old; i++) {
			if (!or[i].id)
				continue;
			size_t mask = s->rcap - 1, j = id_hash(or[i].id) & mask;
			while (s->rules[j].id)
				j = (j + 1) & mask;
			s->rules[j] = or[i];
		}
		free(or);
	}
	size_t mask = s->rcap - 1, j = id_hash(id) & mask;
	while (s->rules[j].id)
		j = (j + 1) & mask;
	s->rules[j].id = id;
	s->rn++;
	return &s->rules[j];
}

void rs_count(struct rs_state *s, uint32_t id, uint32_t bytes)
{
	struct rule_st *r = rule_slot(s, id);
	r->bytes += bytes;
	r->packets++;
}

bool rs_state_counters(const struct rs_state *s, uint32_t rule_id, uint64_t *bytes,
		       uint64_t *packets)
{
	const struct rule_st *r = rule_find(s, rule_id);
	if (bytes)
		*bytes = r ? r->bytes : 0;
	if (packets)
		*packets = r ? r->packets : 0;
	return r != NULL;
}

void rs_state_reset_counters(struct rs_state *s, uint32_t rule_id)
{
	for (size_t i = 0; i < s->rcap; i++) {
		if (s->rules[i].id && (!rule_id || s->rules[i].id == rule_id)) {
			s->rules[i].bytes = 0;
			s->rules[i].packets = 0;
		}
	}
}

/* ---- token buckets ---- */

/*
 * A bucket of capacity cap units refilled at rate units per period_ns.
 * Credit is kept in units x period_ns so refilling is one multiply: every
 * elapsed nanosecond adds rate. A new bucket starts full.
 */
static bool bucket_take(u128 *credit, uint64_t *last, bool init, uint64_t rate,
			uint64_t period_ns, uint64_t cap_units, uint64_t cost_units, uint64_t now)
{
	u128 cap = (u128)cap_units * period_ns;
	if (!init) {
		*credit = cap;
		*last = now;
	}
	if (*credit > cap)
		*credit = cap; /* the rule was recompiled with a smaller burst */
	if (now > *last) {
		u128 add = (u128)(now - *last) * rate;
		*credit = cap - *credit <= add ? cap : *credit + add;
		*last = now;
	}
	u128 cost = (u128)cost_units * period_ns;
	if (*credit < cost)
		return false;
	*credit -= cost;
	return true;
}

bool rs_limit(struct rs_state *s, uint32_t id, uint64_t rate, uint64_t period_ns,
	      uint64_t burst, bool bits, uint32_t ip_len, uint64_t now)
{
	struct rule_st *r = rule_slot(s, id);
	uint64_t cost = bits ? (uint64_t)ip_len * 8 : 1;
	uint64_t cap = burst ? burst : 1;
	/* in bit mode the bucket always holds one full-size packet */
	if (bits && cap < 12000)
		cap = 12000;
	bool ok = bucket_take(&r->lim_credit, &r->lim_last, r->lim_init, rate, period_ns, cap,
			      cost, now);
	r->lim_init = true;
	return ok;
}

bool rs_nth(struct rs_state *s, uint32_t id, uint32_t every, uint32_t n)
{
	struct rule_st *r = rule_slot(s, id);
	r->nth = r->nth >= every ? 1 : r->nth + 1;
	return r->nth == n;
}

bool rs_random(struct rs_state *s, uint32_t pct)
{
	uint64_t x = s->rng;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	s->rng = x;
	return (x * 0x2545f4914f6cdd1dull) % 100 < pct;
}

/* ---- flow tables ---- */

/*
 * The record of key in table t: its slot, else a free or expired slot of
 * the probe window, else the least recently used one (evicted). *fresh says
 * the caller got a new record.
 */
static struct flow_ent *flow_get(struct rs_state *s, int t, uint64_t key, uint64_t idle_ns,
				 uint64_t now, bool *fresh)
{
	if (!s->flow[t])
		s->flow[t] = xcalloc(FLOW_SLOTS, sizeof(struct flow_ent));
	struct flow_ent *tab = s->flow[t], *victim = NULL;
	if (!key)
		key = 1;
	for (unsigned i = 0; i < FLOW_PROBE; i++) {
		struct flow_ent *f = &tab[(key + i) & (FLOW_SLOTS - 1)];
		if (f->key == key) {
			if (!idle_ns || now <= f->last || now - f->last <= idle_ns) {
				*fresh = false;
				return f;
			}
			victim = f; /* expired: starts over in place */
			break;
		}
		if (!victim || (victim->key && (!f->key || f->last < victim->last)))
			victim = f;
	}
	memset(victim, 0, sizeof(*victim));
	victim->key = key;
	victim->last = now;
	*fresh = true;
	return victim;
}

struct flow_key {
	uint32_t kind, id;
	uint8_t fam, pad[3];
	uint16_t p1, p2;
	union ipaddr a1, a2;
};

bool rs_dst_limit(struct rs_state *s, uint32_t id, uint64_t rate, uint64_t period_ns,
		  uint64_t burst, uint8_t mode, uint64_t expire_ns, const struct pkt *p,
		  uint64_t now)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.kind = FT_DL;
	k.id = id;
	k.fam = p->family;
	k.a1 = p->dst;
	if (mode == DL_SRC_DST || mode == DL_SRC_DST_PORT)
		k.a2 = p->src;
	if ((mode == DL_DST_PORT || mode == DL_SRC_DST_PORT) && (p->flags & PKT_F_L4) &&
	    rs_port_proto(p->proto))
		k.p1 = p->dport;
	if (!expire_ns)
		expire_ns = DL_DEFAULT_EXPIRE;
	bool fresh;
	struct flow_ent *f = flow_get(s, FT_DL, siphash(s, &k, sizeof(k)), expire_ns, now, &fresh);
	uint64_t last = f->last;
	bool ok = bucket_take(&f->u.dl.credit, &last, !fresh, rate, period_ns, burst ? burst : 1,
			      1, now);
	f->last = last;
	return ok;
}

bool rs_psd(struct rs_state *s, uint32_t id, uint32_t weight, uint64_t delay_ns,
	    uint32_t low_w, uint32_t high_w, const struct pkt *p, uint64_t now)
{
	struct flow_key k;
	memset(&k, 0, sizeof(k));
	k.kind = FT_PSD;
	k.id = id;
	k.fam = p->family;
	k.a1 = p->src;
	bool fresh;
	struct flow_ent *f = flow_get(s, FT_PSD, siphash(s, &k, sizeof(k)), 0, now, &fresh);
	/* a pause longer than delay ends the sequence: it starts over */
	if (!fresh && now - f->last > delay_ns && now > f->last) {
		f->u.psd.weight = 0;
		f->u.psd.nports = 0;
	}
	f->last = now;
	for (unsigned i = 0; i < f->u.psd.nports; i++)
		if (f->u.psd.ports[i] == p->dport)
			return f->u.psd.weight >= weight;
	if (f->u.psd.nports < PSD_PORTS)
		f->u.psd.ports[f->u.psd.nports++] = p->dport;
	else
		f->u.psd.ports[now % PSD_PORTS] = p->dport;
	f->u.psd.weight += p->dport < 1024 ? low_w : high_w;
	return f->u.psd.weight >= weight;
}

bool rs_conn_rate(struct rs_state *s, const struct pkt *p, uint64_t now, uint64_t *bps)
{
	const struct ct_entry *ce = p->ct;
	if (!ce)
		return false;
	struct {
		uintptr_t ptr;
		struct ct_tuple t;
	} k;
	memset(&k, 0, sizeof(k));
	k.ptr = (uintptr_t)ce;
	ct_entry_tuple(ce, 0, &k.t);
	uint64_t total = ce->bytes[0] + ce->bytes[1];
	bool fresh;
	struct flow_ent *f = flow_get(s, FT_CR, siphash(s, &k, sizeof(k)), 0, now, &fresh);
	if (fresh || total < f->u.cr.bytes) {
		/* first sight, or the slot now holds a new connection */
		f->u.cr.first = now;
		f->u.cr.bytes = total;
	}
	f->last = now;
	uint64_t age = now > f->u.cr.first ? now - f->u.cr.first : 0;
	if (age < 1000000000ull)
		age = 1000000000ull;
	*bps = (uint64_t)((u128)total * 8 * 1000000000ull / age);
	return true;
}

bool rs_conn_limit(struct rs_state *s, uint32_t id, uint32_t limit, uint8_t prefix,
		   const struct rs_ctx *c)
{
	return cl_match(&s->cl, s, id, limit, prefix, c);
}

size_t rs_state_conn_listed(const struct rs_state *s)
{
	return cl_listed(s->cl);
}

/* ---- dynamic address-list entries ---- */

struct dyn_key {
	uint32_t list;
	uint8_t family, pad[3];
	union ipaddr a;
};

static uint64_t dyn_hash(const struct rs_state *s, uint32_t list, uint8_t family,
			 const union ipaddr *a)
{
	struct dyn_key k;
	memset(&k, 0, sizeof(k));
	k.list = list;
	k.family = family;
	if (family == 6)
		memcpy(k.a.v6, a->v6, 16);
	else
		k.a.v4 = a->v4;
	return siphash(s, &k, sizeof(k));
}

static bool dyn_same(const struct dyn_ent *d, uint32_t list, uint8_t family,
		     const union ipaddr *a)
{
	if (d->list != list || d->family != family)
		return false;
	return family == 6 ? !memcmp(d->a.v6, a->v6, 16) : d->a.v4 == a->v4;
}

static struct dyn_ent *dyn_find(const struct rs_state *s, uint32_t list, uint8_t family,
				const union ipaddr *a)
{
	if (!s->dcap)
		return NULL;
	size_t mask = s->dcap - 1;
	for (size_t i = dyn_hash(s, list, family, a) & mask;; i = (i + 1) & mask) {
		if (!s->dyn[i].list)
			return NULL;
		if (dyn_same(&s->dyn[i], list, family, a))
			return &s->dyn[i];
	}
}

static bool live(const struct dyn_ent *d, uint64_t now)
{
	return !d->expires || d->expires > now;
}

/* Rebuilds the table with room for more, dropping expired entries. */
static void dyn_rehash(struct rs_state *s, size_t cap, uint64_t now)
{
	struct dyn_ent *old = s->dyn;
	size_t ocap = s->dcap;
	s->dyn = xcalloc(cap, sizeof(*s->dyn));
	s->dcap = cap;
	s->dn = 0;
	for (size_t i = 0; i < ocap; i++) {
		if (!old[i].list || !live(&old[i], now))
			continue;
		size_t mask = cap - 1;
		size_t j = dyn_hash(s, old[i].list, old[i].family, &old[i].a) & mask;
		while (s->dyn[j].list)
			j = (j + 1) & mask;
		s->dyn[j] = old[i];
		s->dn++;
	}
	free(old);
}

int rs_state_addrlist_add(struct rs_state *s, uint32_t list, const union ipaddr *a, uint8_t family,
			  uint64_t expires, uint64_t now)
{
	if (!list)
		return -1;
	struct dyn_ent *d = dyn_find(s, list, family, a);
	if (d) {
		d->expires = expires;
		return 0;
	}
	if ((s->dn + 1) * 2 > s->dcap) {
		/* expired entries go first; grow only when the live ones need it */
		size_t n = 0, cap = 64;
		for (size_t i = 0; i < s->dcap; i++)
			n += s->dyn[i].list && live(&s->dyn[i], now);
		if (n + 1 > RS_DYN_MAX)
			return -1;
		while (cap < 4 * (n + 1))
			cap *= 2;
		dyn_rehash(s, cap, now);
	}
	size_t mask = s->dcap - 1;
	size_t j = dyn_hash(s, list, family, a) & mask;
	while (s->dyn[j].list)
		j = (j + 1) & mask;
	s->dyn[j].list = list;
	s->dyn[j].family = family;
	memset(&s->dyn[j].a, 0, sizeof(s->dyn[j].a));
	if (family == 6)
		memcpy(s->dyn[j].a.v6, a->v6, 16);
	else
		s->dyn[j].a.v4 = a->v4;
	s->dyn[j].expires = expires;
	s->dn++;
	return 0;
}

bool rs_state_addrlist_has(const struct rs_state *s, uint32_t list, const union ipaddr *a,
			   uint8_t family, uint64_t now)
{
	const struct dyn_ent *d = dyn_find(s, list, family, a);
	return d && live(d, now);
}

/* ---- log lines ---- */

bool rs_log_enabled(const struct rs_state *s)
{
	return s->log != NULL;
}

void rs_log_packet(struct rs_state *s, const char *prefix, const char *chain,
		   const struct pkt *p)
{
	if (!s->log)
		return;
	char desc[200], line[400], in[64], out[64];
	const char *ni = name_of(NS_IFACE, p->in_if), *no = name_of(NS_IFACE, p->out_if);
	snprintf(in, sizeof(in), "%s", *ni ? ni : "(unknown 0)");
	snprintf(out, sizeof(out), "%s", *no ? no : "(unknown 0)");
	pkt_describe(p, desc, sizeof(desc));
	size_t n = 0;
	if (prefix && *prefix)
		n = (size_t)snprintf(line, sizeof(line), "%s ", prefix);
	n += (size_t)snprintf(line + n, sizeof(line) - n, "%s: in:%s out:%s", chain, in, out);
	if (p->in_if && n < sizeof(line))
		n += (size_t)snprintf(line + n, sizeof(line) - n,
				      ", src-mac %02x:%02x:%02x:%02x:%02x:%02x", p->src_mac[0],
				      p->src_mac[1], p->src_mac[2], p->src_mac[3], p->src_mac[4],
				      p->src_mac[5]);
	if (n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, ", %s", desc);
	s->log(s->log_ctx, line);
}
