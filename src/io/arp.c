/*
 * The neighbour table: a fixed array of entries chained from a hash of
 * (interface, address), with a free list. The states follow Linux's
 * neighbour machine, simplified where a router without local sockets has
 * no upper-layer confirmation to offer: any ARP frame from the neighbour
 * (request or reply) confirms it; there is no DELAY state, a stale entry
 * goes straight to unicast probes on its first use.
 */
#include "arp.h"

#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define HASH_SIZE 2048u /* power of two, twice the entries */

struct ent {
	uint32_t ip;
	uint16_t ifid;
	uint8_t state;
	uint8_t probes;       /* requests sent in this round */
	uint8_t mac[6];
	uint8_t nq;
	int32_t hnext;        /* next in the hash chain, or in the free list */
	uint64_t confirmed, used, next_probe;
	void *q[ARP_QUEUE];
};

struct arp {
	struct arp_ops ops;
	struct arp_stats st;
	int32_t head[HASH_SIZE];
	int32_t free_list;
	struct ent e[ARP_MAX_ENTRIES];
};

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

const char *arp_state_name(enum arp_state s)
{
	static const char *const n[] = { "free", "incomplete", "reachable", "stale", "probe" };
	return s <= ARP_PROBE ? n[s] : "?";
}

static inline uint32_t bucket(uint16_t ifid, uint32_t ip)
{
	uint32_t h = ip * 0x9e3779b1u ^ (uint32_t)ifid * 0x85ebca6bu;
	return (h ^ (h >> 16)) & (HASH_SIZE - 1);
}

static inline uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

struct arp *arp_new(const struct arp_ops *ops)
{
	struct arp *a = xcalloc(1, sizeof(*a));
	a->ops = *ops;
	for (uint32_t i = 0; i < HASH_SIZE; i++)
		a->head[i] = -1;
	for (int32_t i = 0; i < ARP_MAX_ENTRIES; i++)
		a->e[i].hnext = i + 1 < ARP_MAX_ENTRIES ? i + 1 : -1;
	a->free_list = 0;
	return a;
}

static struct ent *find(struct arp *a, uint16_t ifid, uint32_t ip)
{
	for (int32_t i = a->head[bucket(ifid, ip)]; i >= 0; i = a->e[i].hnext)
		if (a->e[i].ip == ip && a->e[i].ifid == ifid)
			return &a->e[i];
	return NULL;
}

static struct ent *alloc(struct arp *a, uint16_t ifid, uint32_t ip)
{
	if (a->free_list < 0)
		return NULL;
	int32_t i = a->free_list;
	struct ent *e = &a->e[i];
	a->free_list = e->hnext;
	memset(e, 0, sizeof(*e));
	e->ip = ip;
	e->ifid = ifid;
	uint32_t b = bucket(ifid, ip);
	e->hnext = a->head[b];
	a->head[b] = i;
	return e;
}

/* Frees the entry; its waiting packets go to ops->dropped. */
static void release(struct arp *a, struct ent *e, bool unreachable)
{
	for (uint8_t k = 0; k < e->nq; k++) {
		if (unreachable)
			a->st.unreachable++;
		a->ops.dropped(a->ops.ctx, e->ifid, e->q[k], unreachable);
	}
	e->nq = 0;
	int32_t idx = (int32_t)(e - a->e);
	for (int32_t *pp = &a->head[bucket(e->ifid, e->ip)]; *pp >= 0; pp = &a->e[*pp].hnext)
		if (*pp == idx) {
			*pp = e->hnext;
			break;
		}
	e->state = ARP_FREE;
	e->hnext = a->free_list;
	a->free_list = idx;
}

void arp_free(struct arp *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < ARP_MAX_ENTRIES; i++)
		if (a->e[i].state != ARP_FREE)
			release(a, &a->e[i], false);
	free(a);
}

static void send_arp(struct arp *a, uint16_t ifid, uint16_t op, const uint8_t *eth_dst,
		     uint32_t sip, const uint8_t *tha, uint32_t tip)
{
	const uint8_t *mac = a->ops.mac(a->ops.ctx, ifid);
	if (!mac)
		return;
	uint8_t f[ARP_FRAME_LEN];
	memset(f, 0, sizeof(f));
	memcpy(f, eth_dst, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x08, f[13] = 0x06;
	f[14] = 0, f[15] = 1;       /* Ethernet */
	f[16] = 0x08, f[17] = 0x00; /* IPv4 */
	f[18] = 6, f[19] = 4;
	f[20] = 0, f[21] = (uint8_t)op;
	memcpy(f + 22, mac, 6);
	put32(f + 28, sip);
	memcpy(f + 32, tha, 6);
	put32(f + 38, tip);
	a->ops.send(a->ops.ctx, ifid, f, sizeof(f));
	if (op == 1)
		a->st.requests_out++;
	else
		a->st.replies_out++;
}

static void request(struct arp *a, struct ent *e, bool unicast)
{
	static const uint8_t zero[6];
	uint32_t sip = a->ops.src_addr(a->ops.ctx, e->ifid, e->ip);
	send_arp(a, e->ifid, 1, unicast ? e->mac : bcast, sip, zero, e->ip);
}

/* The neighbour spoke: it is reachable at mac; what waited for it goes. */
static void confirm(struct arp *a, struct ent *e, const uint8_t *mac, uint64_t now)
{
	memcpy(e->mac, mac, 6);
	e->state = ARP_REACHABLE;
	e->confirmed = now;
	e->probes = 0;
	uint8_t n = e->nq;
	void *q[ARP_QUEUE];
	memcpy(q, e->q, sizeof(q));
	e->nq = 0;
	for (uint8_t k = 0; k < n; k++)
		a->ops.resolved(a->ops.ctx, e->ifid, q[k], e->mac);
}

void arp_input(struct arp *a, uint16_t ifid, const uint8_t *f, uint32_t len, uint64_t now)
{
	if (len < 42 || f[14] != 0 || f[15] != 1 || f[16] != 0x08 || f[17] != 0 || f[18] != 6 ||
	    f[19] != 4 || f[20] != 0 || (f[21] != 1 && f[21] != 2)) {
		a->st.bad++;
		return;
	}
	uint16_t op = f[21];
	const uint8_t *sha = f + 22, *tha = f + 32;
	uint32_t spa = get32(f + 28), tpa = get32(f + 38);
	(void)tha;
	if (sha[0] & 1) { /* a group address cannot be a neighbour */
		a->st.bad++;
		return;
	}
	if (op == 1)
		a->st.requests_in++;
	else
		a->st.replies_in++;
	bool mine = tpa && a->ops.is_mine(a->ops.ctx, ifid, tpa);
	/* sender 0.0.0.0 is an address probe (RFC 5227): answer, learn nothing */
	if (spa && spa != 0xffffffffu) {
		struct ent *e = find(a, ifid, spa);
		if (!e && mine && op == 1)
			e = alloc(a, ifid, spa);
		if (e)
			confirm(a, e, sha, now);
	}
	if (op == 1 && mine)
		send_arp(a, ifid, 2, sha, tpa, sha, spa);
}

bool arp_resolve(struct arp *a, uint16_t ifid, uint32_t ip, void *pkt, uint8_t mac[6],
		 uint64_t now)
{
	struct ent *e = find(a, ifid, ip);
	if (e && e->state != ARP_INCOMPLETE) {
		e->used = now;
		if (e->state == ARP_REACHABLE && now - e->confirmed > ARP_REACHABLE_NS)
			e->state = ARP_STALE;
		if (e->state == ARP_STALE) {
			e->state = ARP_PROBE;
			e->probes = 1;
			e->next_probe = now + ARP_RETRANS_NS;
			request(a, e, true);
		}
		memcpy(mac, e->mac, 6);
		return true;
	}
	if (!e) {
		e = alloc(a, ifid, ip);
		if (!e) {
			if (pkt) {
				a->st.table_full++;
				a->ops.dropped(a->ops.ctx, ifid, pkt, false);
			}
			return false;
		}
		e->state = ARP_INCOMPLETE;
		e->used = now;
		e->probes = 1;
		e->next_probe = now + ARP_RETRANS_NS;
		request(a, e, false);
		/* the frame just sent may have been answered synchronously (tests):
		 * the entry is then resolved and pkt may leave at once */
		if (e->state != ARP_INCOMPLETE) {
			memcpy(mac, e->mac, 6);
			return true;
		}
	}
	if (!pkt)
		return false;
	if (e->nq == ARP_QUEUE) {
		a->st.queue_drops++;
		a->ops.dropped(a->ops.ctx, ifid, e->q[0], false);
		memmove(e->q, e->q + 1, (ARP_QUEUE - 1) * sizeof(e->q[0]));
		e->nq--;
	}
	e->q[e->nq++] = pkt;
	a->st.queued++;
	return false;
}

void arp_tick(struct arp *a, uint64_t now)
{
	for (size_t i = 0; i < ARP_MAX_ENTRIES; i++) {
		struct ent *e = &a->e[i];
		switch (e->state) {
		case ARP_INCOMPLETE:
		case ARP_PROBE:
			if (now < e->next_probe)
				break;
			if (e->probes >= ARP_PROBES) {
				release(a, e, true);
				break;
			}
			e->probes++;
			e->next_probe = now + ARP_RETRANS_NS;
			request(a, e, e->state == ARP_PROBE);
			break;
		case ARP_REACHABLE:
			if (now - e->confirmed > ARP_REACHABLE_NS)
				e->state = ARP_STALE;
			break;
		case ARP_STALE: {
			uint64_t last = e->used > e->confirmed ? e->used : e->confirmed;
			if (now - last > ARP_GC_NS)
				release(a, e, false);
			break;
		}
		default:
			break;
		}
	}
}

void arp_flush_if(struct arp *a, uint16_t ifid)
{
	for (size_t i = 0; i < ARP_MAX_ENTRIES; i++)
		if (a->e[i].state != ARP_FREE && a->e[i].ifid == ifid)
			release(a, &a->e[i], false);
}

const struct arp_stats *arp_stats(const struct arp *a)
{
	return &a->st;
}

size_t arp_list(const struct arp *a, struct arp_info *out, size_t max)
{
	size_t n = 0;
	for (size_t i = 0; i < ARP_MAX_ENTRIES && n < max; i++) {
		const struct ent *e = &a->e[i];
		if (e->state == ARP_FREE)
			continue;
		out[n].ifid = e->ifid;
		out[n].ip = e->ip;
		memcpy(out[n].mac, e->mac, 6);
		out[n].state = (enum arp_state)e->state;
		out[n].confirmed = e->confirmed;
		n++;
	}
	return n;
}
