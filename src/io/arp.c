/*
 * ARP frames over the neighbour table (neigh.c). Any ARP frame from a
 * neighbour (request or reply) confirms it, as Linux's arp_process does
 * for a neighbour it already has; a request for one of our addresses also
 * makes an entry for the asker, which is about to talk to us.
 * The interfaces' arp= modes sit in a table by interface id (one byte
 * each); nrestricted counts those that learn nothing (reply-only,
 * disabled), so that resolving on a router where all learn (the usual
 * case) never reads it.
 */
#include "arp.h"

#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

struct arp {
	struct arp_ops ops;
	struct arp_stats st;
	struct neigh *n;
	uint8_t *mode;             /* enum arp_mode by interface id */
	size_t nrestricted;        /* interfaces whose mode is not enabled */
	struct arp_static *pub;    /* the published static entries */
	size_t npub;
};

static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

const char *arp_state_name(enum arp_state s)
{
	return neigh_state_name((enum neigh_state)s);
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

/* sha: the sender's MAC the frame announces (a published entry's), NULL
 * for the interface's own. */
static void send_arp(struct arp *a, uint16_t ifid, uint16_t op, const uint8_t *eth_dst,
		     const uint8_t *sha, uint32_t sip, const uint8_t *tha, uint32_t tip)
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
	memcpy(f + 22, sha ? sha : mac, 6);
	put32(f + 28, sip);
	memcpy(f + 32, tha, 6);
	put32(f + 38, tip);
	a->ops.send(a->ops.ctx, ifid, f, sizeof(f));
	if (op == 1)
		a->st.requests_out++;
	else
		a->st.replies_out++;
}

/* The table asks: a request, broadcast or (a probe) to mac. */
static void solicit(void *ctx, uint16_t ifid, const uint8_t *addr, const uint8_t *mac)
{
	static const uint8_t zero[6];
	struct arp *a = ctx;
	uint32_t ip = get32(addr);
	uint32_t sip = a->ops.src_addr(a->ops.ctx, ifid, ip);
	send_arp(a, ifid, 1, mac ? mac : bcast, NULL, sip, zero, ip);
}

static void resolved(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6])
{
	struct arp *a = ctx;
	a->ops.resolved(a->ops.ctx, ifid, pkt, mac);
}

static void dropped(void *ctx, uint16_t ifid, void *pkt, bool unreachable)
{
	struct arp *a = ctx;
	a->ops.dropped(a->ops.ctx, ifid, pkt, unreachable);
}

static uint32_t size(void *ctx, void *pkt)
{
	struct arp *a = ctx;
	return a->ops.size(a->ops.ctx, pkt);
}

struct arp *arp_new(const struct arp_ops *ops)
{
	struct arp *a = xcalloc(1, sizeof(*a));
	a->ops = *ops;
	struct neigh_ops no = { a, solicit, resolved, dropped, size };
	a->n = neigh_new(&no, 4);
	a->mode = xcalloc(UINT16_MAX + 1, 1);
	return a;
}

void arp_free(struct arp *a)
{
	if (!a)
		return;
	neigh_free(a->n);
	free(a->mode);
	free(a->pub);
	free(a);
}

static const struct arp_static *published(const struct arp *a, uint16_t ifid, uint32_t ip)
{
	for (size_t i = 0; i < a->npub; i++)
		if (a->pub[i].ifid == ifid && a->pub[i].ip == ip)
			return &a->pub[i];
	return NULL;
}

/* Whether a request from spa for tpa on ifid is answered by proxy (md):
 * tpa is routed out of another interface (proxy-arp) or back out of this
 * one (local-proxy-arp). Never for the asker's own address, an address
 * probe, or what is not a host's unicast address. */
static bool proxied(const struct arp *a, uint16_t ifid, enum arp_mode md, uint32_t spa,
		    uint32_t tpa)
{
	if ((md != ARP_MODE_PROXY && md != ARP_MODE_LOCAL_PROXY) || !a->ops.route_if || !spa ||
	    spa == tpa || !tpa || tpa == 0xffffffffu || (tpa >> 28) >= 0xe || (tpa >> 24) == 127)
		return false;
	uint16_t out = a->ops.route_if(a->ops.ctx, tpa);
	return out && (md == ARP_MODE_PROXY ? out != ifid : out == ifid);
}

void arp_input(struct arp *a, uint16_t ifid, const uint8_t *f, uint32_t len, uint64_t now)
{
	enum arp_mode md = (enum arp_mode)a->mode[ifid];
	if (md == ARP_MODE_DISABLED) {
		a->st.ignored++;
		return;
	}
	if (len < 42 || f[14] != 0 || f[15] != 1 || f[16] != 0x08 || f[17] != 0 || f[18] != 6 ||
	    f[19] != 4 || f[20] != 0 || (f[21] != 1 && f[21] != 2)) {
		a->st.bad++;
		return;
	}
	uint16_t op = f[21];
	const uint8_t *sha = f + 22;
	uint32_t spa = get32(f + 28), tpa = get32(f + 38);
	if (sha[0] & 1) { /* a group address cannot be a neighbour */
		a->st.bad++;
		return;
	}
	if (op == 1)
		a->st.requests_in++;
	else
		a->st.replies_in++;
	bool mine = tpa && a->ops.is_mine(a->ops.ctx, ifid, tpa);
	const struct arp_static *pub = op == 1 && !mine && a->npub ? published(a, ifid, tpa) : NULL;
	bool proxy = op == 1 && !mine && !pub && proxied(a, ifid, md, spa, tpa);
	/* sender 0.0.0.0 is an address probe (RFC 5227): answer, learn nothing */
	if (md < ARP_MODE_REPLY_ONLY && spa && spa != 0xffffffffu)
		neigh_update(a->n, ifid, f + 28, sha, NEIGH_CONFIRMED,
			     (mine || pub || proxy) && op == 1, now);
	if (op == 1 && (mine || proxy))
		send_arp(a, ifid, 2, sha, NULL, tpa, sha, spa);
	else if (pub)
		send_arp(a, ifid, 2, sha, pub->mac, tpa, sha, spa);
	a->st.proxied += proxy;
}

bool arp_resolve(struct arp *a, uint16_t ifid, uint32_t ip, void *pkt, uint8_t mac[6],
		 uint64_t now)
{
	uint8_t k[4];
	put32(k, ip);
	if (a->nrestricted && a->mode[ifid] >= ARP_MODE_REPLY_ONLY) {
		struct neigh_info ni;
		if (neigh_lookup(a->n, ifid, k, &ni) && ni.state == NEIGH_STATIC) {
			memcpy(mac, ni.mac, 6);
			return true;
		}
		if (pkt) {
			a->st.no_static++;
			a->ops.dropped(a->ops.ctx, ifid, pkt, true);
		}
		return false;
	}
	return neigh_resolve(a->n, ifid, k, pkt, mac, now);
}

size_t arp_load_static(struct arp *a, const struct arp_static *s, size_t n)
{
	neigh_clear_static(a->n);
	free(a->pub);
	a->pub = NULL;
	a->npub = 0;
	size_t set = 0, npub = 0;
	for (size_t i = 0; i < n; i++)
		npub += s[i].published;
	if (npub)
		a->pub = xcalloc(npub, sizeof(*a->pub));
	for (size_t i = 0; i < n; i++) {
		uint8_t k[4];
		put32(k, s[i].ip);
		if (!neigh_set_static(a->n, s[i].ifid, k, s[i].mac))
			continue;
		set++;
		if (s[i].published)
			a->pub[a->npub++] = s[i];
	}
	return set;
}

void arp_set_mode(struct arp *a, uint16_t ifid, enum arp_mode m)
{
	bool learnt = a->mode[ifid] < ARP_MODE_REPLY_ONLY, learns = m < ARP_MODE_REPLY_ONLY;
	a->mode[ifid] = (uint8_t)m;
	if (learnt == learns)
		return;
	if (learnt) {
		a->nrestricted++;
		neigh_flush_if(a->n, ifid); /* what it learnt is not to be trusted now */
	} else {
		a->nrestricted--;
	}
}

void arp_tick(struct arp *a, uint64_t now)
{
	neigh_tick(a->n, now);
}

void arp_flush_if(struct arp *a, uint16_t ifid)
{
	neigh_flush_if(a->n, ifid);
}

bool arp_forget(struct arp *a, uint16_t ifid, uint32_t ip)
{
	uint8_t k[4];
	put32(k, ip);
	return neigh_forget(a->n, ifid, k);
}

const struct arp_stats *arp_stats(struct arp *a)
{
	const struct neigh_stats *s = neigh_stats(a->n);
	a->st.queued = s->queued;
	a->st.queue_drops = s->queue_drops;
	a->st.unreachable = s->unreachable;
	a->st.table_full = s->table_full;
	return &a->st;
}

size_t arp_list(const struct arp *a, struct arp_info *out, size_t max)
{
	struct neigh_info *ni = xcalloc(max ? max : 1, sizeof(*ni));
	size_t n = neigh_list(a->n, ni, max);
	for (size_t i = 0; i < n; i++) {
		out[i].ifid = ni[i].ifid;
		out[i].ip = get32(ni[i].addr);
		memcpy(out[i].mac, ni[i].mac, 6);
		out[i].state = (enum arp_state)ni[i].state;
		out[i].confirmed = ni[i].confirmed;
		out[i].serial = ni[i].serial;
	}
	free(ni);
	return n;
}
