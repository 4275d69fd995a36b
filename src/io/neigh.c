/*
 * The neighbour table: a fixed array of entries chained from a hash of
 * (interface, address), with a free list. The states follow Linux's
 * neighbour machine, simplified where a router without local sockets has
 * no upper-layer confirmation to offer: there is no DELAY state, a stale
 * entry goes straight to unicast probes on its first use.
 * Waiting packets sit in a pool of slots shared by all entries: each slot is
 * on its entry's chain (oldest first) and on the table's list in the order
 * the packets came, so the table's oldest is always the head of its
 * entry's chain. A chain is taken off both lists before its packets are
 * handed back, so that the callbacks may resolve again (an ICMP error to
 * the sender of a dropped packet) without meeting half-freed slots.
 */
#include "neigh.h"

#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define HASH_SIZE 2048u /* power of two, twice the entries */

struct ent {
	uint8_t addr[16];
	uint16_t ifid;
	uint8_t state;
	uint8_t probes;       /* solicitations sent in this round */
	uint8_t mac[6];
	uint8_t router;       /* IsRouter (RFC 4861): its advertisements say so */
	int32_t hnext;        /* next in the hash chain, or in the free list */
	uint32_t serial;      /* which entry this is, for as long as it lives */
	uint64_t confirmed, used, next_probe;
	int32_t qhead, qtail;  /* its waiting packets' slots, -1: none */
	uint32_t qbytes;
};

struct slot {
	void *pkt;
	uint32_t size;
	int32_t ent;          /* the entry it waits in */
	int32_t next;         /* in the entry's chain, or the free list */
	int32_t older, newer; /* in the table's order of arrival */
};

struct neigh {
	struct neigh_ops ops;
	struct neigh_stats st;
	uint8_t alen;
	int32_t head[HASH_SIZE];
	int32_t free_list;
	uint32_t serial;      /* the last entry's */
	int32_t sfree;        /* free slots */
	int32_t oldest, newest;
	uint64_t qbytes;      /* what all waiting packets hold */
	struct ent e[NEIGH_MAX_ENTRIES];
	struct slot s[NEIGH_QUEUE_SLOTS];
};

const char *neigh_state_name(enum neigh_state s)
{
	static const char *const n[] = { "free", "incomplete", "reachable", "stale", "probe",
					 "static" };
	return s <= NEIGH_STATIC ? n[s] : "?";
}

static inline uint32_t bucket(const struct neigh *n, uint16_t ifid, const uint8_t *addr)
{
	uint32_t h = (uint32_t)ifid * 0x85ebca6bu;
	for (uint8_t i = 0; i < n->alen; i += 4) {
		uint32_t w = (uint32_t)addr[i] << 24 | (uint32_t)addr[i + 1] << 16 |
			     (uint32_t)addr[i + 2] << 8 | addr[i + 3];
		h = (h ^ w) * 0x9e3779b1u;
	}
	return (h ^ (h >> 16)) & (HASH_SIZE - 1);
}

struct neigh *neigh_new(const struct neigh_ops *ops, uint8_t alen)
{
	struct neigh *n = xcalloc(1, sizeof(*n));
	n->ops = *ops;
	n->alen = alen == 4 ? 4 : 16;
	for (uint32_t i = 0; i < HASH_SIZE; i++)
		n->head[i] = -1;
	for (int32_t i = 0; i < NEIGH_MAX_ENTRIES; i++)
		n->e[i].hnext = i + 1 < NEIGH_MAX_ENTRIES ? i + 1 : -1;
	n->free_list = 0;
	for (int32_t i = 0; i < (int32_t)NEIGH_QUEUE_SLOTS; i++)
		n->s[i].next = i + 1 < (int32_t)NEIGH_QUEUE_SLOTS ? i + 1 : -1;
	n->sfree = 0;
	n->oldest = n->newest = -1;
	return n;
}

static struct ent *find(const struct neigh *n, uint16_t ifid, const uint8_t *addr)
{
	for (int32_t i = n->head[bucket(n, ifid, addr)]; i >= 0; i = n->e[i].hnext)
		if (n->e[i].ifid == ifid && !memcmp(n->e[i].addr, addr, n->alen))
			return (struct ent *)&n->e[i];
	return NULL;
}

static struct ent *alloc(struct neigh *n, uint16_t ifid, const uint8_t *addr)
{
	if (n->free_list < 0)
		return NULL;
	int32_t i = n->free_list;
	struct ent *e = &n->e[i];
	n->free_list = e->hnext;
	memset(e, 0, sizeof(*e));
	memcpy(e->addr, addr, n->alen);
	e->ifid = ifid;
	e->serial = ++n->serial;
	e->qhead = e->qtail = -1;
	uint32_t b = bucket(n, ifid, addr);
	e->hnext = n->head[b];
	n->head[b] = i;
	return e;
}

/* Takes slot i off the table's order of arrival. */
static void unlink_slot(struct neigh *n, int32_t i)
{
	struct slot *s = &n->s[i];
	if (s->older >= 0)
		n->s[s->older].newer = s->newer;
	else
		n->oldest = s->newer;
	if (s->newer >= 0)
		n->s[s->newer].older = s->older;
	else
		n->newest = s->older;
	n->qbytes -= s->size;
}

/* Frees slot i (already off every list): its packet. */
static void *free_slot(struct neigh *n, int32_t i)
{
	void *pkt = n->s[i].pkt;
	n->s[i].pkt = NULL;
	n->s[i].next = n->sfree;
	n->sfree = i;
	return pkt;
}

/* Takes e's waiting packets off the lists: the head of their chain, whose
 * slots the caller frees with take_next. */
static int32_t detach(struct neigh *n, struct ent *e)
{
	int32_t h = e->qhead;
	for (int32_t i = h; i >= 0; i = n->s[i].next)
		unlink_slot(n, i);
	e->qhead = e->qtail = -1;
	e->qbytes = 0;
	return h;
}

/* The packet of detached slot *i, which is freed; *i moves on. */
static void *take_next(struct neigh *n, int32_t *i)
{
	int32_t k = *i;
	*i = n->s[k].next;
	return free_slot(n, k);
}

/* Drops e's oldest waiting packet (a queue over its bounds). */
static void drop_oldest(struct neigh *n, struct ent *e)
{
	int32_t i = e->qhead;
	e->qhead = n->s[i].next;
	if (e->qhead < 0)
		e->qtail = -1;
	e->qbytes -= n->s[i].size;
	unlink_slot(n, i);
	n->st.queue_drops++;
	n->ops.dropped(n->ops.ctx, e->ifid, free_slot(n, i), false);
}

/* pkt waits in e, after the oldest (e's, then the table's) made room. */
static void enqueue(struct neigh *n, struct ent *e, void *pkt)
{
	uint32_t size = n->ops.size(n->ops.ctx, pkt);
	while (e->qhead >= 0 && (uint64_t)e->qbytes + size > NEIGH_QUEUE_BYTES)
		drop_oldest(n, e);
	while (n->oldest >= 0 && (n->sfree < 0 || n->qbytes + size > NEIGH_QUEUE_TOTAL_BYTES))
		drop_oldest(n, &n->e[n->s[n->oldest].ent]);
	int32_t i = n->sfree;
	struct slot *s = &n->s[i];
	n->sfree = s->next;
	s->pkt = pkt;
	s->size = size;
	s->ent = (int32_t)(e - n->e);
	s->next = -1;
	s->older = n->newest;
	s->newer = -1;
	if (n->newest >= 0)
		n->s[n->newest].newer = i;
	else
		n->oldest = i;
	n->newest = i;
	n->qbytes += size;
	if (e->qtail >= 0)
		n->s[e->qtail].next = i;
	else
		e->qhead = i;
	e->qtail = i;
	e->qbytes += size;
	n->st.queued++;
}

/* Frees the entry; its waiting packets go to ops->dropped (after it is
 * gone: a callback that resolves the same address makes a new one). */
static void release(struct neigh *n, struct ent *e, bool unreachable)
{
	int32_t q = detach(n, e);
	uint16_t ifid = e->ifid;
	int32_t idx = (int32_t)(e - n->e);
	for (int32_t *pp = &n->head[bucket(n, e->ifid, e->addr)]; *pp >= 0; pp = &n->e[*pp].hnext)
		if (*pp == idx) {
			*pp = e->hnext;
			break;
		}
	e->state = NEIGH_FREE;
	e->hnext = n->free_list;
	n->free_list = idx;
	while (q >= 0) {
		if (unreachable)
			n->st.unreachable++;
		n->ops.dropped(n->ops.ctx, ifid, take_next(n, &q), unreachable);
	}
}

void neigh_free(struct neigh *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < NEIGH_MAX_ENTRIES; i++)
		if (n->e[i].state != NEIGH_FREE)
			release(n, &n->e[i], false);
	free(n);
}

static void solicit(struct neigh *n, struct ent *e, bool unicast)
{
	n->ops.solicit(n->ops.ctx, e->ifid, e->addr, unicast ? e->mac : NULL);
}

/* The entry's MAC is usable now: what waited for it leaves. */
static void release_queue(struct neigh *n, struct ent *e)
{
	int32_t q = detach(n, e);
	uint16_t ifid = e->ifid;
	uint8_t mac[6];
	memcpy(mac, e->mac, 6);
	while (q >= 0)
		n->ops.resolved(n->ops.ctx, ifid, take_next(n, &q), mac);
}

bool neigh_update(struct neigh *n, uint16_t ifid, const uint8_t *addr, const uint8_t mac[6],
		  enum neigh_news news, bool create, uint64_t now)
{
	struct ent *e = find(n, ifid, addr);
	if (!e && create)
		e = alloc(n, ifid, addr);
	if (!e)
		return false;
	if (e->state == NEIGH_STATIC)
		return true; /* the configuration's word wins over a neighbour's */
	bool fresh = e->state == NEIGH_FREE || e->state == NEIGH_INCOMPLETE;
	if (news == NEIGH_CONFIRMED) {
		memcpy(e->mac, mac, 6);
		e->state = NEIGH_REACHABLE;
		e->confirmed = now;
		e->probes = 0;
	} else if (fresh || memcmp(e->mac, mac, 6)) {
		memcpy(e->mac, mac, 6);
		e->state = NEIGH_STALE;
		e->probes = 0;
		if (!e->used)
			e->used = now;
	}
	release_queue(n, e);
	return true;
}

bool neigh_lookup(const struct neigh *n, uint16_t ifid, const uint8_t *addr,
		  struct neigh_info *info)
{
	const struct ent *e = find(n, ifid, addr);
	if (!e)
		return false;
	memset(info, 0, sizeof(*info));
	info->ifid = e->ifid;
	memcpy(info->addr, e->addr, n->alen);
	memcpy(info->mac, e->mac, 6);
	info->state = (enum neigh_state)e->state;
	info->confirmed = e->confirmed;
	info->serial = e->serial;
	info->router = e->router;
	return true;
}

void neigh_set_stale(struct neigh *n, uint16_t ifid, const uint8_t *addr)
{
	struct ent *e = find(n, ifid, addr);
	if (e && e->state == NEIGH_REACHABLE)
		e->state = NEIGH_STALE;
}

void neigh_set_router(struct neigh *n, uint16_t ifid, const uint8_t *addr, bool router)
{
	struct ent *e = find(n, ifid, addr);
	if (e)
		e->router = router;
}

bool neigh_set_static(struct neigh *n, uint16_t ifid, const uint8_t *addr, const uint8_t mac[6])
{
	struct ent *e = find(n, ifid, addr);
	if (!e)
		e = alloc(n, ifid, addr);
	if (!e)
		return false;
	memcpy(e->mac, mac, 6);
	e->state = NEIGH_STATIC;
	e->probes = 0;
	release_queue(n, e);
	return true;
}

void neigh_clear_static(struct neigh *n)
{
	for (size_t i = 0; i < NEIGH_MAX_ENTRIES; i++)
		if (n->e[i].state == NEIGH_STATIC)
			release(n, &n->e[i], false);
}

bool neigh_resolve(struct neigh *n, uint16_t ifid, const uint8_t *addr, void *pkt,
		   uint8_t mac[6], uint64_t now)
{
	struct ent *e = find(n, ifid, addr);
	if (e && e->state != NEIGH_INCOMPLETE) {
		e->used = now;
		if (e->state == NEIGH_REACHABLE && now - e->confirmed > NEIGH_REACHABLE_NS)
			e->state = NEIGH_STALE;
		if (e->state == NEIGH_STALE) {
			e->state = NEIGH_PROBE;
			e->probes = 1;
			e->next_probe = now + NEIGH_RETRANS_NS;
			solicit(n, e, true);
		}
		memcpy(mac, e->mac, 6);
		return true;
	}
	if (!e) {
		e = alloc(n, ifid, addr);
		if (!e) {
			if (pkt) {
				n->st.table_full++;
				n->ops.dropped(n->ops.ctx, ifid, pkt, false);
			}
			return false;
		}
		e->state = NEIGH_INCOMPLETE;
		e->used = now;
		e->probes = 1;
		e->next_probe = now + NEIGH_RETRANS_NS;
		solicit(n, e, false);
		/* the frame just sent may have been answered synchronously (tests):
		 * the entry is then resolved and pkt may leave at once */
		if (e->state != NEIGH_INCOMPLETE) {
			memcpy(mac, e->mac, 6);
			return true;
		}
	}
	if (!pkt)
		return false;
	enqueue(n, e, pkt);
	return false;
}

void neigh_tick(struct neigh *n, uint64_t now)
{
	for (size_t i = 0; i < NEIGH_MAX_ENTRIES; i++) {
		struct ent *e = &n->e[i];
		switch (e->state) {
		case NEIGH_INCOMPLETE:
		case NEIGH_PROBE:
			if (now < e->next_probe)
				break;
			if (e->probes >= NEIGH_PROBES) {
				release(n, e, true);
				break;
			}
			e->probes++;
			e->next_probe = now + NEIGH_RETRANS_NS;
			solicit(n, e, e->state == NEIGH_PROBE);
			break;
		case NEIGH_REACHABLE:
			if (now - e->confirmed > NEIGH_REACHABLE_NS)
				e->state = NEIGH_STALE;
			break;
		case NEIGH_STALE: {
			uint64_t last = e->used > e->confirmed ? e->used : e->confirmed;
			if (now - last > NEIGH_GC_NS)
				release(n, e, false);
			break;
		}
		default:
			break;
		}
	}
}

void neigh_flush_if(struct neigh *n, uint16_t ifid)
{
	for (size_t i = 0; i < NEIGH_MAX_ENTRIES; i++)
		if (n->e[i].state != NEIGH_FREE && n->e[i].state != NEIGH_STATIC &&
		    n->e[i].ifid == ifid)
			release(n, &n->e[i], false);
}

bool neigh_forget(struct neigh *n, uint16_t ifid, const uint8_t *addr)
{
	struct ent *e = find(n, ifid, addr);
	if (!e || e->state == NEIGH_STATIC)
		return false;
	release(n, e, false);
	return true;
}

const struct neigh_stats *neigh_stats(const struct neigh *n)
{
	return &n->st;
}

size_t neigh_list(const struct neigh *n, struct neigh_info *out, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < NEIGH_MAX_ENTRIES && k < max; i++) {
		const struct ent *e = &n->e[i];
		if (e->state == NEIGH_FREE)
			continue;
		memset(&out[k], 0, sizeof(out[k]));
		out[k].ifid = e->ifid;
		memcpy(out[k].addr, e->addr, n->alen);
		memcpy(out[k].mac, e->mac, 6);
		out[k].state = (enum neigh_state)e->state;
		out[k].confirmed = e->confirmed;
		out[k].serial = e->serial;
		out[k].router = e->router;
		k++;
	}
	return k;
}
