/*
 * Neighbour solicitations and advertisements over the neighbour table
 * (neigh.c). What RFC 4861 asks of a node receiving them (7.2.3 to 7.2.5):
 * a solicitation with a source link-layer address makes or refreshes an
 * entry for its sender (stale when new or changed); a solicited
 * advertisement confirms (reachable), an unsolicited one only records a
 * changed address (stale); an advertisement without the override flag
 * does not replace a known address, it only makes a reachable entry
 * stale. Advertisements for addresses we never asked about are ignored.
 */
#include "nd.h"

#include <stdlib.h>
#include <string.h>

#include "util/sbuf.h"

#define ICMP6 58
#define RA 134
#define NS 135
#define NA 136
#define OPT_SLLA 1
#define OPT_TLLA 2
#define NA_R 0x80
#define NA_S 0x40
#define NA_O 0x20

struct nd {
	struct nd_ops ops;
	struct nd_stats st;
	struct neigh *n;
};

static const uint8_t all_nodes[16] = { 0xff, 0x02, [15] = 1 };

static bool unspecified(const uint8_t *a)
{
	static const uint8_t z[16];
	return !memcmp(a, z, 16);
}

/* ff02::1:ffXX:XXXX, the group of every address ending in target's 24 bits */
static bool solicited_node(const uint8_t *a)
{
	static const uint8_t p[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
	return !memcmp(a, p, 13);
}

uint16_t nd_icmp6_csum(const uint8_t *src, const uint8_t *dst, const uint8_t *msg,
			   uint32_t len)
{
	uint64_t s = len + ICMP6;
	for (int i = 0; i < 16; i += 2)
		s += (uint32_t)(src[i] << 8 | src[i + 1]) + (uint32_t)(dst[i] << 8 | dst[i + 1]);
	for (uint32_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(msg[i] << 8 | msg[i + 1]);
	if (len & 1)
		s += (uint32_t)msg[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* An NS or NA, framed: to dst (dst_mac), from src, with our MAC as the
 * link-layer option of type opt. */
static void send_nd(struct nd *d, uint16_t ifid, const uint8_t *dst_mac, const uint8_t *src,
		    const uint8_t *dst, uint8_t type, uint8_t flags, const uint8_t *target)
{
	const uint8_t *mac = d->ops.mac(d->ops.ctx, ifid);
	if (!mac)
		return;
	uint8_t f[ND_FRAME_LEN];
	memset(f, 0, sizeof(f));
	memcpy(f, dst_mac, 6);
	memcpy(f + 6, mac, 6);
	f[12] = 0x86, f[13] = 0xdd;
	uint8_t *ip = f + 14, *m = ip + 40;
	ip[0] = 0x60;
	ip[5] = 32;   /* payload: 24 + an 8-byte option */
	ip[6] = ICMP6;
	ip[7] = 255;
	memcpy(ip + 8, src, 16);
	memcpy(ip + 24, dst, 16);
	m[0] = type;
	m[4] = flags;
	memcpy(m + 8, target, 16);
	m[24] = type == NS ? OPT_SLLA : OPT_TLLA;
	m[25] = 1;
	memcpy(m + 26, mac, 6);
	uint16_t c = nd_icmp6_csum(src, dst, m, 32);
	m[2] = (uint8_t)(c >> 8), m[3] = (uint8_t)c;
	d->ops.send(d->ops.ctx, ifid, f, sizeof(f));
	if (type == NS)
		d->st.ns_out++;
	else
		d->st.na_out++;
}

/* The table asks: to target's solicited-node group, or (a probe) to mac. */
static void solicit(void *ctx, uint16_t ifid, const uint8_t *target, const uint8_t *mac)
{
	struct nd *d = ctx;
	uint8_t src[16], dst[16], dmac[6];
	if (!d->ops.src_addr(d->ops.ctx, ifid, target, src))
		return;
	if (mac) {
		memcpy(dst, target, 16);
		memcpy(dmac, mac, 6);
	} else {
		static const uint8_t p[13] = { 0xff, 0x02, [11] = 1, [12] = 0xff };
		memcpy(dst, p, 13);
		memcpy(dst + 13, target + 13, 3);
		dmac[0] = dmac[1] = 0x33;
		memcpy(dmac + 2, dst + 12, 4);
	}
	send_nd(d, ifid, dmac, src, dst, NS, 0, target);
}

static void resolved(void *ctx, uint16_t ifid, void *pkt, const uint8_t mac[6])
{
	struct nd *d = ctx;
	d->ops.resolved(d->ops.ctx, ifid, pkt, mac);
}

static void dropped(void *ctx, uint16_t ifid, void *pkt, bool unreachable)
{
	struct nd *d = ctx;
	d->ops.dropped(d->ops.ctx, ifid, pkt, unreachable);
}

static uint32_t size(void *ctx, void *pkt)
{
	struct nd *d = ctx;
	return d->ops.size(d->ops.ctx, pkt);
}

struct nd *nd_new(const struct nd_ops *ops)
{
	struct nd *d = xcalloc(1, sizeof(*d));
	d->ops = *ops;
	struct neigh_ops no = { d, solicit, resolved, dropped, size };
	d->n = neigh_new(&no, 16);
	return d;
}

void nd_free(struct nd *d)
{
	if (!d)
		return;
	neigh_free(d->n);
	free(d);
}

bool nd_is_nd(const uint8_t *ip6, uint32_t len)
{
	return len >= 41 && (ip6[0] >> 4) == 6 && ip6[6] == ICMP6 &&
	       (ip6[40] == NS || ip6[40] == NA || ip6[40] == RA);
}

/* The options after the fixed part (at: 24 bytes, an RA's 16) of msg: the
 * link-layer address of type want into lla (NULL when absent); false when
 * an option is malformed (length 0, or beyond the message). */
static bool options(const uint8_t *msg, uint32_t at, uint32_t len, uint8_t want,
		    const uint8_t **lla)
{
	*lla = NULL;
	for (uint32_t o = at; o < len;) {
		if (o + 2 > len || !msg[o + 1] || o + msg[o + 1] * 8u > len)
			return false;
		if (msg[o] == want && msg[o + 1] == 1)
			*lla = msg + o + 2;
		o += msg[o + 1] * 8u;
	}
	return true;
}

static void input_ns(struct nd *d, uint16_t ifid, const uint8_t *ip, const uint8_t *msg,
		     uint32_t mlen, const uint8_t *src_mac, uint64_t now)
{
	const uint8_t *src = ip + 8, *dst = ip + 24, *target = msg + 8, *slla;
	bool dad = unspecified(src);
	if (msg[8] == 0xff || !options(msg, 24, mlen, OPT_SLLA, &slla) ||
	    (dad && (slla || !solicited_node(dst)))) {
		d->st.bad++;
		return;
	}
	d->st.ns_in++;
	if (!d->ops.is_mine(d->ops.ctx, ifid, target))
		return;
	if (dad) { /* another node wants our address: it is taken (RFC 4862 5.4.3) */
		static const uint8_t mcast[6] = { 0x33, 0x33, 0, 0, 0, 1 };
		send_nd(d, ifid, mcast, target, all_nodes, NA, NA_R | NA_O, target);
		return;
	}
	if (slla && !(slla[0] & 1))
		neigh_update(d->n, ifid, src, slla, NEIGH_SEEN, true, now);
	send_nd(d, ifid, slla ? slla : src_mac, target, src, NA, NA_R | NA_S | NA_O, target);
}

static void input_na(struct nd *d, uint16_t ifid, const uint8_t *ip, const uint8_t *msg,
		     uint32_t mlen, uint64_t now)
{
	const uint8_t *dst = ip + 24, *target = msg + 8, *tlla;
	uint8_t fl = msg[4];
	if (msg[8] == 0xff || !options(msg, 24, mlen, OPT_TLLA, &tlla) ||
	    (dst[0] == 0xff && (fl & NA_S)) || (tlla && (tlla[0] & 1))) {
		d->st.bad++;
		return;
	}
	d->st.na_in++;
	struct neigh_info e;
	if (!neigh_lookup(d->n, ifid, target, &e))
		return; /* never asked: nothing to learn (7.2.5) */
	if (e.state == NEIGH_INCOMPLETE) {
		if (tlla) {
			neigh_update(d->n, ifid, target, tlla, (fl & NA_S) ? NEIGH_CONFIRMED : NEIGH_SEEN,
				     false, now);
			neigh_set_router(d->n, ifid, target, fl & NA_R);
		}
		return;
	}
	bool other = tlla && memcmp(tlla, e.mac, 6);
	if (other && !(fl & NA_O)) {
		neigh_set_stale(d->n, ifid, target);
		return;
	}
	if (fl & NA_S)
		neigh_update(d->n, ifid, target, tlla ? tlla : e.mac, NEIGH_CONFIRMED, false, now);
	else if (other)
		neigh_update(d->n, ifid, target, tlla, NEIGH_SEEN, false, now);
	neigh_set_router(d->n, ifid, target, fl & NA_R);
}

/* A router advertisement (6.1.2: from a link-local address): its sender is
 * a router (6.3.4), at the MAC its source link-layer option gives (a stale
 * entry when new or changed). What it advertises is not ours to use. */
static void input_ra(struct nd *d, uint16_t ifid, const uint8_t *ip, const uint8_t *msg,
		     uint32_t mlen, uint64_t now)
{
	const uint8_t *src = ip + 8, *slla;
	if (src[0] != 0xfe || (src[1] & 0xc0) != 0x80 || !options(msg, 16, mlen, OPT_SLLA, &slla) ||
	    (slla && (slla[0] & 1))) {
		d->st.bad++;
		return;
	}
	d->st.ra_in++;
	if (slla)
		neigh_update(d->n, ifid, src, slla, NEIGH_SEEN, true, now);
	neigh_set_router(d->n, ifid, src, true);
}

void nd_input(struct nd *d, uint16_t ifid, const uint8_t *ip, uint32_t len,
	      const uint8_t src_mac[6], uint64_t now)
{
	if (len < 40 + 16 || !nd_is_nd(ip, len)) {
		d->st.bad++;
		return;
	}
	uint32_t plen = (uint32_t)(ip[4] << 8 | ip[5]);
	const uint8_t *msg = ip + 40;
	if (plen < (msg[0] == RA ? 16u : 24u) || 40 + plen > len || ip[7] != 255 || msg[1] != 0 ||
	    nd_icmp6_csum(ip + 8, ip + 24, msg, plen) != 0) {
		d->st.bad++;
		return;
	}
	if (msg[0] == NS)
		input_ns(d, ifid, ip, msg, plen, src_mac, now);
	else if (msg[0] == NA)
		input_na(d, ifid, ip, msg, plen, now);
	else
		input_ra(d, ifid, ip, msg, plen, now);
}

bool nd_resolve(struct nd *d, uint16_t ifid, const uint8_t addr[16], void *pkt, uint8_t mac[6],
		uint64_t now)
{
	if (addr[0] == 0xff) { /* a group: 33:33 and its last 32 bits (RFC 2464 7) */
		mac[0] = mac[1] = 0x33;
		memcpy(mac + 2, addr + 12, 4);
		return true;
	}
	return neigh_resolve(d->n, ifid, addr, pkt, mac, now);
}

void nd_learn(struct nd *d, uint16_t ifid, const uint8_t addr[16], const uint8_t mac[6],
	      uint64_t now)
{
	if (!unspecified(addr) && addr[0] != 0xff && !(mac[0] & 1)) {
		neigh_update(d->n, ifid, addr, mac, NEIGH_SEEN, true, now);
		neigh_set_router(d->n, ifid, addr, false); /* a soliciting host */
	}
}

void nd_tick(struct nd *d, uint64_t now)
{
	neigh_tick(d->n, now);
}

void nd_flush_if(struct nd *d, uint16_t ifid)
{
	neigh_flush_if(d->n, ifid);
}

bool nd_forget(struct nd *d, uint16_t ifid, const uint8_t addr[16])
{
	return neigh_forget(d->n, ifid, addr);
}

const struct nd_stats *nd_stats(struct nd *d)
{
	const struct neigh_stats *s = neigh_stats(d->n);
	d->st.queued = s->queued;
	d->st.queue_drops = s->queue_drops;
	d->st.unreachable = s->unreachable;
	d->st.table_full = s->table_full;
	return &d->st;
}

size_t nd_list(const struct nd *d, struct neigh_info *out, size_t max)
{
	return neigh_list(d->n, out, max);
}
