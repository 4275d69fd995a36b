/*
 * pkt: parse a frame once into struct pkt; checksums; in-place rewrites for
 * NAT, TTL and DSCP; the one-line packet builder; the log-style summary.
 *
 * Every read of the frame is bounded by p->len, and every transport read by
 * the IP length (Ethernet padding after the IP packet is never parsed).
 *
 * Checksum conventions: the exported helpers (csum_buf, csum_update16/32)
 * take and return checksums in network byte order, i.e. the 16 bits exactly
 * as they sit in the packet (memcpy them in and out). The one's complement
 * sum does not depend on byte order, so csum_update16/32 give the right
 * answer as long as the checksum and the old and new values are all in the
 * same order. Internally this file reads fields big-endian (rd16) and works
 * on those values.
 */
#include "engine/pkt.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#define PROTO_ICMP   1
#define PROTO_TCP    6
#define PROTO_UDP    17
#define PROTO_GRE    47
#define PROTO_ESP    50
#define PROTO_AH     51
#define PROTO_ICMPV6 58
#define PROTO_NONXT  59
#define PROTO_SCTP   132

#define ETH_HLEN       14
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8

/* Extension headers walked before giving up on an IPv6 packet. */
#define V6_MAX_EXTHDR 8

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

static inline void wr32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* ---- checksums ---- */

/*
 * Adds big-endian 16-bit words; an odd last byte is padded with zero.
 * RFC 1071's shortcuts: the one's complement sum does not depend on byte
 * order (sum words as the host loads them, swap once at the end), and
 * wider words, their carries added back, fold down to the same 16-bit sum.
 */
static uint64_t sum_words(const uint8_t *d, size_t n, uint64_t acc)
{
	uint64_t s = 0, carries = 0, r = 0;
	size_t i = 0;

	/* Eight bytes per step (a TCP payload is most of the work: the live
	 * dataplane completes the checksums a veth left partial). A carry out
	 * of 64 bits is worth one unit, as 2^64 = 1 modulo 0xffff. */
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, d + i, 8);
		s += w;
		carries += s < w;
	}
	if (i + 4 <= n) {
		uint32_t w;
		memcpy(&w, d + i, 4);
		r += w;
		i += 4;
	}
	if (i + 2 <= n) {
		uint16_t w;
		memcpy(&w, d + i, 2);
		r += w;
		i += 2;
	}
	if (i < n) {
		const uint8_t tail[2] = { d[i], 0 };
		uint16_t w;
		memcpy(&w, tail, 2);
		r += w;
	}
	/* under 2^35: four folds reach 16 bits */
	s = (s & 0xffffffffu) + (s >> 32) + carries + r;
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	s = (uint16_t)(s << 8 | s >> 8);
#endif
	return acc + s;
}

static uint16_t fold(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* Checksum to store big-endian; 0 when verifying a correct buffer. */
static uint16_t cksum(const uint8_t *d, size_t n, uint64_t acc)
{
	return (uint16_t)~fold(sum_words(d, n, acc));
}

uint16_t csum_buf(const void *data, size_t len, uint32_t initial)
{
	uint64_t acc = ntohs(fold(initial));

	return htons(cksum(data, len, acc));
}

uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	/* RFC 1624 eqn 3: HC' = ~(~HC + ~m + m') */
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~old;
	s += new_;
	return (uint16_t)~fold(s);
}

uint16_t csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	uint32_t s = (uint16_t)~csum;

	s += (uint16_t)~(old >> 16);
	s += (uint16_t)~old;
	s += new_ >> 16;
	s += new_ & 0xffff;
	return (uint16_t)~fold(s);
}

/*
 * Folds a change of a covered 16/32-bit value into the checksum at c. A UDP
 * checksum of 0 means "none" and stays 0; a computed 0 is sent as 0xffff.
 */
static void adjust16(uint8_t *c, uint16_t old, uint16_t new_, bool udp)
{
	uint16_t x = rd16(c);

	if (udp && x == 0)
		return;
	x = csum_update16(x, old, new_);
	wr16(c, udp && x == 0 ? 0xffff : x);
}

static void adjust32(uint8_t *c, uint32_t old, uint32_t new_, bool udp)
{
	uint16_t x = rd16(c);

	if (udp && x == 0)
		return;
	x = csum_update32(x, old, new_);
	wr16(c, udp && x == 0 ? 0xffff : x);
}

/* A change of a pseudo-header value in a field that holds the partial
 * sum (PKT_RX_L4_PARTIAL): the sum itself moves, so the update is that of
 * a checksum on the complement. Neither UDP rule about 0 applies: the
 * field is not what goes on the wire. */
static void adjust32_partial(uint8_t *c, uint32_t old, uint32_t new_)
{
	wr16(c, (uint16_t)~csum_update32((uint16_t)~rd16(c), old, new_));
}

/* Sum of the TCP/UDP/ICMPv6 pseudo-header, addresses read from the packet;
 * an IPv6 destination other than the header's own (the final one of a
 * routing header, v6_pseudo_dst) in dst6, else NULL. */
static uint64_t pseudo_sum(const uint8_t *ip, uint8_t family, uint8_t proto, uint32_t l4len,
			   const uint8_t *dst6)
{
	uint64_t s = proto + (l4len >> 16) + (l4len & 0xffff);

	if (family == 4)
		return sum_words(ip + 12, 8, s);
	if (!dst6)
		return sum_words(ip + 8, 32, s);
	return sum_words(dst6, 16, sum_words(ip + 8, 16, s));
}

static bool v6_pseudo_dst(const uint8_t *d, uint32_t l3, uint32_t end, uint8_t out[16]);

/*
 * Offset of the transport checksum inside the L4 header, and whether it
 * covers a pseudo-header; 0 for protocols whose checksum we do not handle.
 */
static uint32_t l4_csum_off(const struct pkt *p, bool *pseudo)
{
	*pseudo = true;
	switch (p->proto) {
	case PROTO_TCP:
		return 16;
	case PROTO_UDP:
		return 6;
	case PROTO_ICMP:
		*pseudo = false;
		return p->family == 4 ? 2 : 0;
	case PROTO_ICMPV6:
		return p->family == 6 ? 2 : 0;
	}
	return 0;
}

/* True when p's IPv4 header lies within the frame; gives its length. */
static bool v4_hdr(const struct pkt *p, uint32_t *ihl)
{
	if (p->family != 4 || (uint32_t)p->l3_off + 20 > p->len)
		return false;
	*ihl = (uint32_t)(p->data[p->l3_off] & 0x0f) * 4;
	return *ihl >= 20 && p->l3_off + *ihl <= p->len;
}

/* The transport checksum to verify or fix: NULL when there is none. */
static uint8_t *l4_csum_field(const struct pkt *p, bool *pseudo)
{
	uint32_t off;

	if (!(p->flags & PKT_F_L4) || (p->flags & PKT_F_FRAGMENT))
		return NULL;
	if (p->family != 4 && p->family != 6)
		return NULL;
	off = l4_csum_off(p, pseudo);
	if (!off || (uint32_t)p->l4_off + p->l4_len > p->len || off + 2 > p->l4_len)
		return NULL;
	if ((uint32_t)p->l3_off + (p->family == 4 ? 20 : 40) > p->len)
		return NULL;
	return p->data + p->l4_off + off;
}

/* l4_sum's pseudo-header of an IPv6 packet on a source route (rare: out
 * of the common path). */
static __attribute__((noinline, cold)) bool routed_pseudo(const struct pkt *p, uint64_t *acc)
{
	uint8_t fin[16];

	if (!v6_pseudo_dst(p->data, p->l3_off, (uint32_t)p->l3_off + p->ip_len, fin))
		return false;
	*acc = pseudo_sum(p->data + p->l3_off, 6, p->proto, p->l4_len, fin);
	return true;
}

/* The sum a transport checksum covers, the field as it stands included,
 * into *sum; false when an IPv6 routing header hides the destination the
 * pseudo-header needs (a type whose layout is unknown here): then the
 * checksum can be neither verified nor computed. */
static inline bool l4_sum(const struct pkt *p, bool pseudo, uint64_t *sum)
{
	uint64_t acc = 0;

	if (pseudo && (p->flags & PKT_F_RT_LEFT)) {
		if (!routed_pseudo(p, &acc))
			return false;
	} else if (pseudo) {
		acc = pseudo_sum(p->data + p->l3_off, p->family, p->proto, p->l4_len, NULL);
	}
	*sum = sum_words(p->data + p->l4_off, p->l4_len, acc);
	return true;
}

void pkt_fix_checksums(struct pkt *p)
{
	uint32_t ihl;
	uint8_t *c;
	bool pseudo;

	if (v4_hdr(p, &ihl)) {
		uint8_t *ip = p->data + p->l3_off;
		wr16(ip + 10, 0);
		wr16(ip + 10, cksum(ip, ihl, 0));
	}
	c = l4_csum_field(p, &pseudo);
	if (!c)
		return;
	/* An IPv4 UDP datagram sent without a checksum keeps none. */
	bool partial = p->rx_flags & PKT_RX_L4_PARTIAL;
	if (!partial && p->proto == PROTO_UDP && p->family == 4 && rd16(c) == 0)
		return;
	uint16_t old = rd16(c);
	uint64_t sum;
	wr16(c, 0);
	if (!l4_sum(p, pseudo, &sum)) {
		wr16(c, old); /* what it covers is unknown: left as it came */
		return;
	}
	p->rx_flags &= (uint8_t)~PKT_RX_L4_PARTIAL;
	uint16_t x = (uint16_t)~fold(sum);
	if (p->proto == PROTO_UDP && x == 0)
		x = 0xffff;
	wr16(c, x);
}

bool pkt_checksums_ok(const struct pkt *p)
{
	uint32_t ihl;
	uint8_t *c;
	bool pseudo;

	if (p->family == 4) {
		if (!v4_hdr(p, &ihl) || cksum(p->data + p->l3_off, ihl, 0) != 0)
			return false;
	}
	c = l4_csum_field(p, &pseudo);
	if (!c || (p->rx_flags & PKT_RX_L4_PARTIAL))
		return true;
	if (p->proto == PROTO_UDP && rd16(c) == 0)
		return p->family == 4;
	uint64_t sum;
	return !l4_sum(p, pseudo, &sum) || fold(sum) == 0xffff;
}

/* ---- parsing ---- */

static bool icmp4_is_query(uint8_t type)
{
	switch (type) {
	case 0: case 8: case 13: case 14: case 15: case 16: case 17: case 18:
		return true;
	}
	return false;
}

static bool icmp4_is_error(uint8_t type)
{
	return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static bool icmp6_is_error(uint8_t type)
{
	return type >= 1 && type <= 4;
}

static bool proto_has_ports(uint8_t proto)
{
	return proto == PROTO_TCP || proto == PROTO_UDP || proto == PROTO_SCTP;
}

struct v6walk {
	uint8_t proto;     /* upper-layer protocol, or 59 */
	uint32_t off;      /* where it starts */
	bool frag;         /* a fragment header that makes this a fragment */
	bool more;
	uint16_t frag_off; /* bytes */
	uint32_t frag_id;
	bool frag_hdr;     /* a fragment header, atomic ones included */
	uint8_t rt_left;   /* routing headers with segments left */
	uint32_t rt_off;   /* where the first of them starts */
	uint32_t rt_len;   /* and its length */
};

/*
 * Walks IPv6 extension headers from off (next header nh) up to end. A
 * non-first fragment stops the walk: what follows is fragment data.
 */
static enum drop_reason v6_walk(const uint8_t *d, uint32_t off, uint32_t end, uint8_t nh,
				struct v6walk *w)
{
	memset(w, 0, sizeof(*w));
	for (int n = 0;; n++) {
		uint32_t hl;

		switch (nh) {
		case 0:
		case 43:
		case 60:
		case PROTO_AH:
		case 44:
			break;
		default:
			w->proto = nh;
			w->off = off;
			return DR_NONE;
		}
		/* Hop-by-hop only right after the fixed header; one fragment header. */
		if (n >= V6_MAX_EXTHDR || (nh == 0 && n != 0) || (nh == 44 && w->frag_hdr))
			return DR_BAD_IPV6_EXTHDR;
		if (end - off < 8)
			return DR_BAD_IPV6_EXTHDR;
		if (nh == 44) {
			uint16_t fo = rd16(d + off + 2);
			hl = 8;
			w->frag_hdr = true;
			w->frag_off = fo & 0xfff8;
			w->more = fo & 1;
			w->frag_id = rd32(d + off + 4);
			w->frag = w->frag_off != 0 || w->more;
		} else if (nh == PROTO_AH) {
			hl = ((uint32_t)d[off + 1] + 2) * 4;
		} else {
			hl = ((uint32_t)d[off + 1] + 1) * 8;
		}
		if (hl > end - off)
			return DR_BAD_IPV6_EXTHDR;
		if (nh == 43 && d[off + 3] && w->rt_left++ == 0) {
			w->rt_off = off;
			w->rt_len = hl;
		}
		nh = d[off];
		off += hl;
		if (w->frag_hdr && w->frag_off != 0) {
			w->proto = nh;
			w->off = off;
			return DR_NONE;
		}
	}
}

/*
 * The final destination of the routing header rh (hl bytes, segments left
 * above 0) into out: where the packet ends up, the address an upper-layer
 * checksum's pseudo-header carries (RFC 8200 8.1). dst is the IPv6
 * header's destination field. false for a type whose layout is unknown
 * here and for a header that contradicts its own type: no address to sum.
 */
static bool rt_final_dst(const uint8_t *rh, uint32_t hl, const uint8_t *dst, uint8_t out[16])
{
	uint32_t left = rh[3], n, last, ci, ce, room;

	switch (rh[2]) {
	case 0: /* RFC 2460's source route (deprecated by RFC 5095, still seen):
		 * 4 reserved bytes, then the addresses; the last is the final one */
		n = (hl - 8) / 16;
		if ((hl - 8) % 16 || n == 0 || left > n)
			return false;
		memcpy(out, rh + 8 + 16 * (n - 1), 16);
		return true;
	case 2: /* RFC 6275, Mobile IPv6: exactly one address, the home address */
		if (hl != 24 || left != 1)
			return false;
		memcpy(out, rh + 8, 16);
		return true;
	case 3: /* RFC 6554, RPL: addresses 1..n-1 without their first CmprI
		 * bytes, address n without its first CmprE bytes, then Pad
		 * bytes; what is elided is the destination field's */
		ci = rh[4] >> 4;
		ce = rh[4] & 0x0f;
		last = 16 - ce;
		if ((uint32_t)(rh[5] >> 4) + last > hl - 8)
			return false;
		room = hl - 8 - (rh[5] >> 4) - last;
		if (room % (16 - ci) || left > room / (16 - ci) + 1)
			return false;
		memcpy(out, dst, ce);
		memcpy(out + ce, rh + 8 + room, last);
		return true;
	case 4: /* RFC 8754, segment routing: the segment list holds the path
		 * backwards, Segment List[0] is the final segment; byte 4 is
		 * the index of the last entry */
		n = (uint32_t)rh[4] + 1;
		if (8 + 16 * n > hl || left > n)
			return false;
		memcpy(out, rh + 8, 16);
		return true;
	}
	return false;
}

/* The destination of the pseudo-header of the IPv6 packet at l3 (its
 * payload up to end) into out: the final destination of a routing header
 * with segments left, else the destination field. false when that cannot
 * be known: a chain that does not parse, a routing header rt_final_dst
 * cannot read, or two with segments left (which one ends the path is not
 * the header's to say). */
static bool v6_pseudo_dst(const uint8_t *d, uint32_t l3, uint32_t end, uint8_t out[16])
{
	struct v6walk w;

	if (v6_walk(d, l3 + 40, end, d[l3 + 6], &w) != DR_NONE || w.rt_left > 1)
		return false;
	if (!w.rt_left) {
		memcpy(out, d + l3 + 24, 16);
		return true;
	}
	return rt_final_dst(d + w.rt_off, w.rt_len, d + l3 + 24, out);
}

bool pkt_v6_upper(const uint8_t *d, uint32_t l3, uint32_t end, uint8_t *proto, uint32_t *l4,
		  uint8_t dst[16])
{
	struct v6walk w;

	if (l3 + 40 > end || v6_walk(d, l3 + 40, end, d[l3 + 6], &w) != DR_NONE || w.frag_hdr ||
	    !v6_pseudo_dst(d, l3, end, dst))
		return false;
	*proto = w.proto;
	*l4 = w.off;
	return true;
}

/* Ports (or the ICMP id) of the embedded transport header at l4; 8 bytes are there. */
static void inner_ports(struct pkt_inner *in, const uint8_t *l4, bool v6)
{
	if (proto_has_ports(in->proto)) {
		in->sport = rd16(l4);
		in->dport = rd16(l4 + 2);
	} else if ((!v6 && in->proto == PROTO_ICMP && icmp4_is_query(l4[0])) ||
		   (v6 && in->proto == PROTO_ICMPV6 && (l4[0] == 128 || l4[0] == 129))) {
		in->sport = in->dport = rd16(l4 + 4);
	}
}

/* The IPv4 header + 8 bytes embedded in an ICMP error, in [off, end). */
static void parse_inner4(struct pkt *p, uint32_t off, uint32_t end)
{
	const uint8_t *ip = p->data + off;
	struct pkt_inner *in = &p->inner;
	uint32_t ihl;

	if (end - off < 20 || ip[0] >> 4 != 4)
		return;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	if (ihl < 20 || ihl + 8 > end - off)
		return;
	in->src.v4 = rd32(ip + 12);
	in->dst.v4 = rd32(ip + 16);
	in->proto = ip[9];
	in->l3_off = (uint16_t)off;
	in->l4_off = (uint16_t)(off + ihl);
	if ((rd16(ip + 6) & 0x1fff) == 0)
		inner_ports(in, ip + ihl, false);
	p->flags |= PKT_F_ICMP_ERR;
}

static void parse_inner6(struct pkt *p, uint32_t off, uint32_t end)
{
	const uint8_t *ip = p->data + off;
	struct pkt_inner *in = &p->inner;
	struct v6walk w;

	if (end - off < 40 || ip[0] >> 4 != 6)
		return;
	if (v6_walk(p->data, off + 40, end, ip[6], &w) != DR_NONE || end - w.off < 8)
		return;
	memcpy(in->src.v6, ip + 8, 16);
	memcpy(in->dst.v6, ip + 24, 16);
	in->proto = w.proto;
	in->l3_off = (uint16_t)off;
	in->l4_off = (uint16_t)w.off;
	if (!(w.frag && w.frag_off != 0))
		inner_ports(in, p->data + w.off, true);
	p->flags |= PKT_F_ICMP_ERR;
}

/* The options of a TCP header of doff bytes at t that the descriptor keeps
 * (MSS, window scale, SACK permitted). */
static void tcp_options(struct pkt *p, const uint8_t *t, uint32_t doff)
{
	/* Options a host would ignore are ignored here too, not fatal. */
	for (uint32_t i = 20; i < doff;) {
		uint8_t kind = t[i], len;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (doff - i < 2)
			break;
		len = t[i + 1];
		if (len < 2 || len > doff - i)
			break;
		if (kind == 2 && len == 4)
			p->mss = rd16(t + i + 2);
		else if (kind == 3 && len == 3)
			p->wscale = t[i + 2];
		else if (kind == 4 && len == 2)
			p->sack_perm = true;
		i += len;
	}
}

static enum drop_reason parse_tcp(struct pkt *p, const uint8_t *t, uint32_t n)
{
	uint32_t doff;

	if (n < 20)
		return DR_TRUNC_L4;
	p->sport = rd16(t);
	p->dport = rd16(t + 2);
	p->seq = rd32(t + 4);
	p->ack = rd32(t + 8);
	doff = (uint32_t)(t[12] >> 4) * 4;
	p->tcp_doff = (uint8_t)doff;
	p->tcp_flags = t[13];
	p->win = rd16(t + 14);
	if (doff < 20 || doff > n)
		return DR_BAD_TCP_DOFF;
	tcp_options(p, t, doff);
	p->flags |= PKT_F_L4;
	p->payload_off = (uint16_t)(p->l4_off + doff);
	p->payload_len = (uint16_t)(n - doff);
	return DR_NONE;
}

static enum drop_reason parse_udp(struct pkt *p, const uint8_t *u, uint32_t n)
{
	uint32_t ulen;

	if (n < 8)
		return DR_TRUNC_L4;
	p->sport = rd16(u);
	p->dport = rd16(u + 2);
	ulen = rd16(u + 4);
	if (p->flags & PKT_F_FRAGMENT) {
		/* The length covers the whole datagram, not this fragment. */
		ulen = n;
	} else {
		if (ulen < 8 || ulen > n)
			return DR_TRUNC_L4;
		p->l4_len = (uint16_t)ulen;
	}
	p->flags |= PKT_F_L4;
	p->payload_off = (uint16_t)(p->l4_off + 8);
	p->payload_len = (uint16_t)(ulen - 8);
	return DR_NONE;
}

static enum drop_reason parse_icmp(struct pkt *p, const uint8_t *h, uint32_t n)
{
	bool v6 = p->family == 6;

	if (n < 8)
		return DR_TRUNC_L4;
	p->icmp_type = h[0];
	p->icmp_code = h[1];
	p->flags |= PKT_F_L4;
	p->payload_off = (uint16_t)(p->l4_off + 8);
	p->payload_len = (uint16_t)(n - 8);
	if (v6 ? (h[0] == 128 || h[0] == 129) : icmp4_is_query(h[0]))
		p->sport = p->dport = rd16(h + 4);
	else if (v6 ? icmp6_is_error(h[0]) : icmp4_is_error(h[0]))
		(v6 ? parse_inner6 : parse_inner4)(p, p->l4_off + 8u, p->l4_off + n);
	return DR_NONE;
}

static enum drop_reason parse_gre(struct pkt *p, const uint8_t *g, uint32_t n)
{
	uint32_t hl = 4;
	uint16_t f;

	if (n < 4)
		return DR_TRUNC_L4;
	f = rd16(g);
	if ((f & 7) == 0)
		hl += (f & 0x8000 ? 4 : 0) + (f & 0x2000 ? 4 : 0) + (f & 0x1000 ? 4 : 0);
	else if ((f & 7) == 1) /* PPTP's enhanced GRE: key always there */
		hl = 8 + (f & 0x1000 ? 4 : 0) + (f & 0x0080 ? 4 : 0);
	if (hl > n)
		return DR_TRUNC_L4;
	p->flags |= PKT_F_L4;
	p->payload_off = (uint16_t)(p->l4_off + hl);
	p->payload_len = (uint16_t)(n - hl);
	return DR_NONE;
}

/* Transport header at p->l4_off, p->l4_len bytes (bounded by the IP length). */
static enum drop_reason parse_l4(struct pkt *p)
{
	const uint8_t *h = p->data + p->l4_off;
	uint32_t n = p->l4_len, hl;

	p->payload_off = p->l4_off;
	p->payload_len = p->l4_len;
	switch (p->proto) {
	case PROTO_TCP:
		return parse_tcp(p, h, n);
	case PROTO_UDP:
		return parse_udp(p, h, n);
	case PROTO_ICMP:
		if (p->family == 4)
			return parse_icmp(p, h, n);
		return DR_NONE;
	case PROTO_ICMPV6:
		if (p->family == 6)
			return parse_icmp(p, h, n);
		return DR_NONE;
	case PROTO_GRE:
		return parse_gre(p, h, n);
	case PROTO_ESP:
		hl = 8; /* SPI, sequence number */
		break;
	case PROTO_SCTP:
		hl = 12; /* ports, verification tag, CRC32c (not checked) */
		if (n >= hl) {
			p->sport = rd16(h);
			p->dport = rd16(h + 2);
		}
		break;
	default:
		return DR_NONE;
	}
	if (n < hl)
		return DR_TRUNC_L4;
	p->flags |= PKT_F_L4;
	p->payload_off = (uint16_t)(p->l4_off + hl);
	p->payload_len = (uint16_t)(n - hl);
	return DR_NONE;
}

static enum drop_reason parse_v4_options(struct pkt *p, const uint8_t *o, uint32_t n)
{
	uint32_t i = 0;

	while (i < n) {
		uint8_t type = o[i], len, min = 2, bit;

		if (type == 0) /* end of list: the rest is padding */
			break;
		if (type == 1) {
			i++;
			continue;
		}
		if (n - i < 2)
			return DR_BAD_IPV4_OPTIONS;
		len = o[i + 1];
		switch (type) {
		case 7:
			bit = 1, min = 3;
			break;
		case 68:
			bit = 2, min = 4;
			break;
		case 131:
			bit = 4, min = 3;
			break;
		case 137:
			bit = 8, min = 3;
			break;
		case 148:
			bit = 16, min = 4;
			if (len != 4)
				return DR_BAD_IPV4_OPTIONS;
			break;
		default:
			bit = 32;
			break;
		}
		if (len < min || len > n - i)
			return DR_BAD_IPV4_OPTIONS;
		/* Route and timestamp pointers are 1-based and start after the header. */
		if (min == 3 && o[i + 2] < 4)
			return DR_BAD_IPV4_OPTIONS;
		if (type == 68 && o[i + 2] < 5)
			return DR_BAD_IPV4_OPTIONS;
		p->ipv4_opts |= bit;
		i += len;
	}
	return DR_NONE;
}

static enum drop_reason parse_ipv4(struct pkt *p)
{
	const uint8_t *ip = p->data + p->l3_off;
	uint32_t avail = p->len - p->l3_off, ihl, tot;
	uint16_t fo;
	enum drop_reason r;

	if (avail < 1)
		return DR_TRUNC_L3;
	if (ip[0] >> 4 != 4)
		return DR_BAD_IP_VERSION;
	if (avail < 20)
		return DR_TRUNC_L3;
	p->family = 4;
	ihl = (uint32_t)(ip[0] & 0x0f) * 4;
	tot = rd16(ip + 2);
	p->dscp = ip[1] >> 2;
	p->ecn = ip[1] & 3;
	p->ip_id = rd16(ip + 4);
	fo = rd16(ip + 6);
	p->frag_off = (uint16_t)((fo & 0x1fff) * 8);
	p->ttl = ip[8];
	p->proto = ip[9];
	p->src.v4 = rd32(ip + 12);
	p->dst.v4 = rd32(ip + 16);
	if (fo & 0x4000)
		p->flags |= PKT_F_DF;
	if ((fo & 0x2000) || p->frag_off) {
		p->flags |= PKT_F_FRAGMENT;
		if (!p->frag_off)
			p->flags |= PKT_F_FRAG_FIRST;
	}
	if (ihl < 20 || ihl > avail)
		return DR_BAD_IPV4_IHL;
	if (tot < ihl || tot > avail)
		return DR_BAD_IPV4_LEN;
	p->ip_len = (uint16_t)tot;
	p->l4_off = (uint16_t)(p->l3_off + ihl);
	p->l4_len = (uint16_t)(tot - ihl);
	p->payload_off = p->l4_off;
	p->payload_len = p->l4_len;
	if (ihl > 20) {
		p->flags |= PKT_F_IPV4_OPTS;
		r = parse_v4_options(p, ip + 20, ihl - 20);
		if (r != DR_NONE)
			return r;
	}
	if (p->frag_off) /* no transport header in a later fragment */
		return DR_NONE;
	return parse_l4(p);
}

static enum drop_reason parse_ipv6(struct pkt *p)
{
	const uint8_t *ip = p->data + p->l3_off;
	uint32_t avail = p->len - p->l3_off, plen, tc;
	struct v6walk w;
	enum drop_reason r;

	if (avail < 1)
		return DR_TRUNC_L3;
	if (ip[0] >> 4 != 6)
		return DR_BAD_IP_VERSION;
	if (avail < 40)
		return DR_TRUNC_L3;
	p->family = 6;
	tc = (rd32(ip) >> 20) & 0xff;
	p->dscp = (uint8_t)(tc >> 2);
	p->ecn = tc & 3;
	plen = rd16(ip + 4);
	p->proto = ip[6];
	p->ttl = ip[7];
	memcpy(p->src.v6, ip + 8, 16);
	memcpy(p->dst.v6, ip + 24, 16);
	/* ip_len is 16 bits: a full 65535-byte payload cannot be described. */
	if (40 + plen > avail || 40 + plen > 0xffff)
		return DR_BAD_IPV6_LEN;
	p->ip_len = (uint16_t)(40 + plen);
	r = v6_walk(p->data, p->l3_off + 40u, p->l3_off + 40u + plen, ip[6], &w);
	if (r != DR_NONE)
		return r;
	p->proto = w.proto;
	if (w.rt_left)
		p->flags |= PKT_F_RT_LEFT;
	if (w.frag) {
		p->flags |= PKT_F_FRAGMENT;
		if (w.frag_off == 0)
			p->flags |= PKT_F_FRAG_FIRST;
		p->frag_off = w.frag_off;
		p->ip_id = (uint16_t)w.frag_id;
	}
	p->l4_off = (uint16_t)w.off;
	p->l4_len = (uint16_t)(p->l3_off + 40u + plen - w.off);
	p->payload_off = p->l4_off;
	p->payload_len = p->l4_len;
	if (p->frag_off || p->proto == PROTO_NONXT)
		return DR_NONE;
	return parse_l4(p);
}

/* The IPv4 header checksum, once the header parsed (l4_off is set then). */
static bool v4_hdr_csum_bad(const struct pkt *p)
{
	if (p->family != 4 || p->l4_off <= p->l3_off)
		return false;
	/* a correct header sums to 0xffff in either byte order: no swap, and
	 * the header is whole 32-bit words (IHL) */
	const uint8_t *h = p->data + p->l3_off;
	uint32_t n = (uint32_t)(p->l4_off - p->l3_off), w[5];
	uint64_t s = 0;
	if (n == 20) { /* no options: the common case, unrolled */
		memcpy(w, h, 20);
		s = (uint64_t)w[0] + w[1] + w[2] + w[3] + w[4];
	} else {
		for (uint32_t i = 0; i + 4 <= n; i += 4) {
			memcpy(w, h + i, 4);
			s += w[0];
		}
	}
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	return s != 0xffff;
}

static enum drop_reason l4_csum_check(const struct pkt *p);

enum drop_reason pkt_check_csum(const struct pkt *p, enum drop_reason r)
{
	if (v4_hdr_csum_bad(p))
		return DR_BAD_IPV4_CSUM;
	return r == DR_NONE ? l4_csum_check(p) : r;
}

enum drop_reason pkt_verify_csum(const struct pkt *p, bool l4)
{
	if (v4_hdr_csum_bad(p))
		return DR_BAD_IPV4_CSUM;
	return l4 ? l4_csum_check(p) : DR_NONE;
}

static enum drop_reason l4_csum_check(const struct pkt *p)
{
	/* a fragment's checksum covers the whole datagram: checked reassembled */
	if (!(p->flags & PKT_F_L4) || (p->flags & PKT_F_FRAGMENT) ||
	    (p->rx_flags & PKT_RX_L4_PARTIAL))
		return DR_NONE;
	bool v6 = p->family == 6, pseudo = true;
	switch (p->proto) {
	case PROTO_UDP:
		if (rd16(p->data + p->l4_off + 6) == 0) /* none sent: allowed in IPv4 only */
			return v6 ? DR_BAD_L4_CSUM : DR_NONE;
		break;
	case PROTO_TCP:
		break;
	case PROTO_ICMP:
	case PROTO_ICMPV6:
		pseudo = v6;
		break;
	default:
		return DR_NONE;
	}
	/* a checksum over a destination that cannot be read is not called bad */
	uint64_t sum;
	return l4_sum(p, pseudo, &sum) && fold(sum) != 0xffff ? DR_BAD_L4_CSUM : DR_NONE;
}

/*
 * Clears a descriptor. gcc's generic tuning turns one memset of the whole
 * struct into a `rep stos`, whose start-up costs about as much as the rest
 * of a parse; pieces of 64 bytes become a few vector stores.
 */
static inline void desc_clear(struct pkt *p)
{
	uint8_t *b = (uint8_t *)p;
	size_t i = 0;

	for (; i + 64 <= sizeof(*p); i += 64)
		memset(b + i, 0, 64);
	memset(b + i, 0, sizeof(*p) - i);
}

enum drop_reason pkt_parse(struct pkt *p, bool l2, bool check_csum)
{
	uint8_t *data = p->data;
	uint32_t len = p->len, cap = p->cap, off = 0;
	uint64_t ts = p->ts;
	uint8_t rx = p->rx_flags;

	desc_clear(p);
	p->data = data;
	p->len = len;
	p->cap = cap;
	p->ts = ts;
	p->rx_flags = rx;
	p->wscale = 0xff;

	if (l2) {
		if (len < ETH_HLEN)
			return DR_TRUNC_L2;
		memcpy(p->dst_mac, data, 6);
		memcpy(p->src_mac, data + 6, 6);
		p->ethertype = rd16(data + 12);
		off = ETH_HLEN;
		/* 802.1ad / 802.1Q, up to two tags; the innermost id is kept. */
		for (int tags = 0; tags < 2; tags++) {
			if (p->ethertype != ETHERTYPE_VLAN && p->ethertype != ETHERTYPE_QINQ)
				break;
			if (len - off < 4)
				return DR_TRUNC_L2;
			p->vlan = rd16(data + off) & 0x0fff;
			p->flags |= PKT_F_VLAN;
			p->ethertype = rd16(data + off + 2);
			off += 4;
		}
	} else {
		if (len < 1)
			return DR_TRUNC_L3;
		if (data[0] >> 4 == 4)
			p->ethertype = ETHERTYPE_IPV4;
		else if (data[0] >> 4 == 6)
			p->ethertype = ETHERTYPE_IPV6;
		else
			return DR_BAD_IP_VERSION;
	}
	p->l3_off = (uint16_t)off;
	enum drop_reason r;
	if (p->ethertype == ETHERTYPE_IPV4)
		r = parse_ipv4(p);
	else if (p->ethertype == ETHERTYPE_IPV6)
		r = parse_ipv6(p);
	else
		return DR_NOT_IP;
	return check_csum ? pkt_check_csum(p, r) : r;
}

/*
 * Straight-line: the tests of pkt_parse that such a frame passes, in an
 * order that reads the transport header only once the IP length vouches
 * for it, then the same stores.
 */
bool pkt_parse_flow(struct pkt *p)
{
	const uint8_t *d = p->data, *ip = d + ETH_HLEN, *l4 = ip + 20;
	uint32_t len = p->len, tot, n, hl;

	if (len < ETH_HLEN + 20 + 8 || rd16(d + 12) != ETHERTYPE_IPV4 || ip[0] != 0x45)
		return false;
	tot = rd16(ip + 2);
	if ((rd16(ip + 6) & 0x3fff) || tot < 20 + 8 || tot > len - ETH_HLEN)
		return false;
	n = tot - 20;
	if (ip[9] == PROTO_UDP) {
		hl = 8;
		n = rd16(l4 + 4); /* the UDP length bounds the transport, as in parse_udp */
		if (n < 8 || n > tot - 20)
			return false;
	} else if (ip[9] == PROTO_TCP) {
		if (n < 20)
			return false;
		hl = (uint32_t)(l4[12] >> 4) * 4;
		if (hl < 20 || hl > n ||
		    (l4[13] & (TCPF_SYN | TCPF_FIN | TCPF_RST | TCPF_ACK)) != TCPF_ACK)
			return false;
	} else {
		return false;
	}

	uint8_t *data = p->data;
	uint32_t cap = p->cap;
	uint64_t ts = p->ts;
	uint8_t rx = p->rx_flags;
	desc_clear(p);
	p->data = data;
	p->len = len;
	p->cap = cap;
	p->ts = ts;
	p->rx_flags = rx;
	memcpy(p->dst_mac, d, 6);
	memcpy(p->src_mac, d + 6, 6);
	p->ethertype = ETHERTYPE_IPV4;
	p->l3_off = ETH_HLEN;
	p->family = 4;
	p->proto = ip[9];
	p->ttl = ip[8];
	p->dscp = ip[1] >> 2;
	p->ecn = ip[1] & 3;
	p->ip_len = (uint16_t)tot;
	p->ip_id = rd16(ip + 4);
	p->flags = (uint16_t)(PKT_F_L4 | (ip[6] & 0x40 ? PKT_F_DF : 0));
	p->src.v4 = rd32(ip + 12);
	p->dst.v4 = rd32(ip + 16);
	p->l4_off = ETH_HLEN + 20;
	p->l4_len = (uint16_t)n;
	p->payload_off = (uint16_t)(ETH_HLEN + 20 + hl);
	p->payload_len = (uint16_t)(n - hl);
	p->sport = rd16(l4);
	p->dport = rd16(l4 + 2);
	p->wscale = 0xff;
	if (p->proto == PROTO_TCP) {
		p->seq = rd32(l4 + 4);
		p->ack = rd32(l4 + 8);
		p->tcp_doff = (uint8_t)hl;
		p->tcp_flags = l4[13];
		p->win = rd16(l4 + 14);
		tcp_options(p, l4, hl);
	}
	return true;
}

/* ---- rewrites ---- */

/* Rewrites a 16-bit field covered by checksum c (NULL: none). */
static void put16(uint8_t *f, uint16_t v, uint8_t *c, bool udp)
{
	if (c)
		adjust16(c, rd16(f), v, udp);
	wr16(f, v);
}

/* The port (or ICMP id) of an IPv4 packet's own transport header. */
static void set_port(struct pkt *p, int which, uint16_t port)
{
	uint8_t *h = p->data + p->l4_off;
	/* a partial sum does not cover the segment: the transmitter sums it */
	bool partial = p->rx_flags & PKT_RX_L4_PARTIAL;

	if (!(p->flags & PKT_F_L4))
		return;
	switch (p->proto) {
	case PROTO_TCP:
		if ((uint32_t)p->l4_off + 20 > p->len)
			return;
		put16(h + 2 * which, port, partial ? NULL : h + 16, false);
		break;
	case PROTO_UDP:
		if ((uint32_t)p->l4_off + 8 > p->len)
			return;
		put16(h + 2 * which, port, partial ? NULL : h + 6, true);
		break;
	case PROTO_ICMP:
		if ((uint32_t)p->l4_off + 8 > p->len || !icmp4_is_query(h[0]))
			return;
		put16(h + 4, port, h + 2, false);
		p->sport = p->dport = port;
		return;
	default: /* no ports, or (SCTP) a CRC32c we do not recompute */
		return;
	}
	if (which)
		p->dport = port;
	else
		p->sport = port;
}

static void set_addr(struct pkt *p, int which, uint32_t addr, uint16_t port)
{
	uint32_t ihl, old;
	uint8_t *ip, *h;

	if (!v4_hdr(p, &ihl))
		return;
	ip = p->data + p->l3_off;
	h = p->data + p->l4_off;
	old = rd32(ip + 12 + 4 * which);
	if (old != addr) {
		adjust32(ip + 10, old, addr, false);
		wr32(ip + 12 + 4 * which, addr);
		/* The pseudo-header: the L4 checksum covers the addresses too. */
		uint8_t *c = NULL;
		bool l4 = p->flags & PKT_F_L4;
		if (l4 && p->proto == PROTO_TCP && (uint32_t)p->l4_off + 20 <= p->len)
			c = h + 16;
		else if (l4 && p->proto == PROTO_UDP && (uint32_t)p->l4_off + 8 <= p->len)
			c = h + 6;
		if (c && (p->rx_flags & PKT_RX_L4_PARTIAL))
			adjust32_partial(c, old, addr);
		else if (c)
			adjust32(c, old, addr, p->proto == PROTO_UDP);
		if (which)
			p->dst.v4 = addr;
		else
			p->src.v4 = addr;
	}
	set_port(p, which, port);
}

void pkt_set_src(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_addr(p, 0, addr, port);
}

void pkt_set_dst(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_addr(p, 1, addr, port);
}

/*
 * The embedded header of an ICMP error: each change is folded into the
 * embedded checksum that covers it and then, with that checksum's change,
 * into the outer ICMP checksum, which covers all of them.
 */
static void set_inner(struct pkt *p, int which, uint32_t addr, uint16_t port)
{
	struct pkt_inner *in = &p->inner;
	uint32_t end = (uint32_t)p->l4_off + p->l4_len, old;
	uint8_t *oc, *ip, *h, *c = NULL;
	bool udp = false;

	if (p->family != 4 || p->proto != PROTO_ICMP || !(p->flags & PKT_F_ICMP_ERR))
		return;
	if (end > p->len || (uint32_t)in->l3_off + 20 > end || (uint32_t)in->l4_off + 8 > end ||
	    (uint32_t)p->l4_off + 8 > end)
		return;
	oc = p->data + p->l4_off + 2;
	ip = p->data + in->l3_off;
	h = p->data + in->l4_off;
	bool first = (rd16(ip + 6) & 0x1fff) == 0;
	if (first && in->proto == PROTO_UDP) {
		c = h + 6;
		udp = true;
	} else if (first && in->proto == PROTO_TCP && (uint32_t)in->l4_off + 18 <= end) {
		c = h + 16;
	}

	old = rd32(ip + 12 + 4 * which);
	if (old != addr) {
		uint16_t before = rd16(ip + 10);
		adjust32(ip + 10, old, addr, false);
		adjust16(oc, before, rd16(ip + 10), false);
		if (c) {
			before = rd16(c);
			adjust32(c, old, addr, udp);
			adjust16(oc, before, rd16(c), false);
		}
		adjust32(oc, old, addr, false);
		wr32(ip + 12 + 4 * which, addr);
		if (which)
			in->dst.v4 = addr;
		else
			in->src.v4 = addr;
	}

	if (!first)
		return;
	uint8_t *f;
	if (in->proto == PROTO_TCP || in->proto == PROTO_UDP) {
		f = h + 2 * which;
	} else if (in->proto == PROTO_ICMP && icmp4_is_query(h[0])) {
		f = h + 4;
		c = h + 2;
	} else {
		return;
	}
	uint16_t oldp = rd16(f);
	if (oldp == port)
		return;
	if (c) {
		uint16_t before = rd16(c);
		adjust16(c, oldp, port, udp);
		adjust16(oc, before, rd16(c), false);
	}
	adjust16(oc, oldp, port, false);
	wr16(f, port);
	if (in->proto == PROTO_ICMP)
		in->sport = in->dport = port;
	else if (which)
		in->dport = port;
	else
		in->sport = port;
}

void pkt_set_inner_src(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_inner(p, 0, addr, port);
}

void pkt_set_inner_dst(struct pkt *p, uint32_t addr, uint16_t port)
{
	set_inner(p, 1, addr, port);
}

/*
 * FastTrack's rewrite works on the words as they sit in the frame, loaded
 * and stored in host order without swapping (the one's complement sum does
 * not depend on byte order): RFC 1624 eqn 3, HC' = ~(~HC + ~m + m'), with
 * every change summed in 64 bits (a 32-bit word counts as its two halves:
 * 2^16 is 1 modulo 0xffff) and folded once.
 */
static inline uint16_t ld16(const uint8_t *b)
{
	uint16_t v;
	memcpy(&v, b, 2);
	return v;
}

static inline uint32_t ld32(const uint8_t *b)
{
	uint32_t v;
	memcpy(&v, b, 4);
	return v;
}

static inline uint64_t change16(uint16_t o, uint16_t n)
{
	return (uint64_t)(uint16_t)~o + n;
}

static inline uint64_t change32(uint32_t o, uint32_t n)
{
	return (uint64_t)(uint32_t)~o + n;
}

/* Applies the changes d to the checksum at c; a UDP checksum of 0 (none
 * sent) stays 0, and a computed 0 is sent as 0xffff. */
static inline void csum_change(uint8_t *c, uint64_t d, bool udp)
{
	uint16_t x = ld16(c);
	if (udp && x == 0)
		return;
	uint64_t s = (uint16_t)~x + d;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	x = (uint16_t)~s;
	if (udp && x == 0)
		x = 0xffff;
	memcpy(c, &x, 2);
}

/* The changes d of pseudo-header values in a field holding the partial sum
 * (PKT_RX_L4_PARTIAL): added to the sum itself. */
static inline void csum_change_partial(uint8_t *c, uint64_t d)
{
	uint16_t x = ld16(c);
	uint64_t s = x + d;
	s = (s & 0xffffffffu) + (s >> 32);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	s = (s & 0xffff) + (s >> 16);
	x = (uint16_t)s;
	memcpy(c, &x, 2);
}

void pkt_forward4(struct pkt *p, uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport,
		  uint8_t ttl)
{
	uint8_t *ip = p->data + p->l3_off, *h = p->data + p->l4_off;
	bool udp = p->proto == PROTO_UDP;
	uint32_t nsrc = htonl(src), ndst = htonl(dst);
	uint16_t nsport = htons(sport), ndport = htons(dport), ttl_proto = ld16(ip + 8);
	uint64_t addr = change32(ld32(ip + 12), nsrc) + change32(ld32(ip + 16), ndst);
	uint64_t ports = change16(ld16(h), nsport) + change16(ld16(h + 2), ndport);

	ip[8] = ttl;
	csum_change(ip + 10, addr + change16(ttl_proto, ld16(ip + 8)), false);
	if (p->rx_flags & PKT_RX_L4_PARTIAL)
		csum_change_partial(udp ? h + 6 : h + 16, addr);
	else
		csum_change(udp ? h + 6 : h + 16, addr + ports, udp);
	memcpy(ip + 12, &nsrc, 4);
	memcpy(ip + 16, &ndst, 4);
	memcpy(h, &nsport, 2);
	memcpy(h + 2, &ndport, 2);
	p->src.v4 = src;
	p->dst.v4 = dst;
	p->sport = sport;
	p->dport = dport;
	p->ttl = ttl;
}

void pkt_set_ttl(struct pkt *p, uint8_t ttl)
{
	uint32_t ihl;
	uint8_t *ip;

	if (v4_hdr(p, &ihl)) {
		ip = p->data + p->l3_off;
		put16(ip + 8, (uint16_t)(ttl << 8 | ip[9]), ip + 10, false);
	} else if (p->family == 6 && (uint32_t)p->l3_off + 40 <= p->len) {
		p->data[p->l3_off + 7] = ttl;
	} else {
		return;
	}
	p->ttl = ttl;
}

bool pkt_set_mss(struct pkt *p, uint16_t mss)
{
	if (p->proto != PROTO_TCP || !(p->flags & PKT_F_L4) || !(p->tcp_flags & TCPF_SYN) ||
	    !p->mss || p->mss <= mss)
		return false;
	if (!p->data) {
		p->mss = mss;
		return true;
	}
	if (p->tcp_doff < 20 || (uint32_t)p->l4_off + p->tcp_doff > p->len)
		return false;
	uint8_t *h = p->data + p->l4_off;
	for (uint32_t i = 20; i < p->tcp_doff;) {
		uint8_t kind = h[i];
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= p->tcp_doff || h[i + 1] < 2 || i + h[i + 1] > p->tcp_doff)
			break;
		if (kind == 2 && h[i + 1] == 4) {
			/* the value may sit at an odd offset: update the checksum
			 * word by word over the two bytes */
			uint8_t nv[2] = { (uint8_t)(mss >> 8), (uint8_t)mss };
			for (uint32_t b = i + 2; b < i + 4; b++) {
				uint32_t w = b & ~1u;
				uint16_t old = rd16(h + w);
				h[b] = nv[b - i - 2];
				if (!(p->rx_flags & PKT_RX_L4_PARTIAL))
					adjust16(h + 16, old, rd16(h + w), false);
			}
			p->mss = mss;
			return true;
		}
		i += h[i + 1];
	}
	return false;
}

void pkt_clear_df(struct pkt *p)
{
	uint32_t ihl;
	p->flags &= (uint16_t)~PKT_F_DF;
	if (!p->data || !v4_hdr(p, &ihl))
		return;
	uint8_t *ip = p->data + p->l3_off;
	put16(ip + 6, (uint16_t)(rd16(ip + 6) & ~0x4000u), ip + 10, false);
}

void pkt_set_dscp(struct pkt *p, uint8_t dscp)
{
	uint32_t ihl;
	uint8_t *ip;

	dscp &= 0x3f;
	if (v4_hdr(p, &ihl)) {
		ip = p->data + p->l3_off;
		put16(ip, (uint16_t)(ip[0] << 8 | dscp << 2 | (ip[1] & 3)), ip + 10, false);
	} else if (p->family == 6 && (uint32_t)p->l3_off + 40 <= p->len) {
		ip = p->data + p->l3_off;
		uint32_t w = rd32(ip);
		wr32(ip, (w & ~(0x3fu << 22)) | (uint32_t)dscp << 22);
	} else {
		return;
	}
	p->dscp = dscp;
}

/* ---- names and the log summary ---- */

static const char *const reason_names[] = {
	[DR_NONE] = "none",
	[DR_TRUNC_L2] = "truncated-l2",
	[DR_TRUNC_L3] = "truncated-l3",
	[DR_BAD_IP_VERSION] = "bad-ip-version",
	[DR_BAD_IPV4_IHL] = "bad-ipv4-header-length",
	[DR_BAD_IPV4_LEN] = "bad-ipv4-length",
	[DR_BAD_IPV4_CSUM] = "bad-ipv4-checksum",
	[DR_BAD_IPV4_OPTIONS] = "bad-ipv4-options",
	[DR_BAD_IPV6_LEN] = "bad-ipv6-length",
	[DR_BAD_IPV6_EXTHDR] = "bad-ipv6-ext-header",
	[DR_TRUNC_L4] = "truncated-l4",
	[DR_BAD_TCP_DOFF] = "bad-tcp-data-offset",
	[DR_BAD_L4_CSUM] = "bad-l4-checksum",
	[DR_FRAG_OVERLAP] = "fragment-overlap",
	[DR_FRAG_TIMEOUT] = "fragment-timeout",
	[DR_FRAG_MEMORY] = "fragment-memory",
	[DR_CT_INVALID] = "conntrack-invalid",
	[DR_CT_FULL] = "conntrack-full",
	[DR_RAW] = "raw-drop",
	[DR_FILTER] = "filter-drop",
	[DR_REJECT] = "filter-reject",
	[DR_TARPIT] = "tarpit",
	[DR_NO_ROUTE] = "no-route",
	[DR_BLACKHOLE] = "blackhole",
	[DR_TTL_EXCEEDED] = "ttl-exceeded",
	[DR_NAT_NO_PORT] = "nat-no-port",
	[DR_HELPER] = "helper-rewrite-failed",
	[DR_QUEUE] = "queue-full",
	[DR_NOT_IP] = "not-ip",
};
_Static_assert(sizeof(reason_names) / sizeof(reason_names[0]) == DR_MAX,
	       "a drop reason has no name");

const char *pkt_reason_name(enum drop_reason r)
{
	if ((unsigned)r >= DR_MAX || !reason_names[r])
		return "unknown";
	return reason_names[r];
}

static void fmt_addr(char *out, size_t n, uint8_t family, const union ipaddr *a)
{
	if (family == 4) {
		snprintf(out, n, "%u.%u.%u.%u", a->v4 >> 24, (a->v4 >> 16) & 0xff,
			 (a->v4 >> 8) & 0xff, a->v4 & 0xff);
	} else if (!inet_ntop(AF_INET6, a->v6, out, (socklen_t)n)) {
		snprintf(out, n, "?");
	}
}

void pkt_describe(const struct pkt *p, char *out, size_t n)
{
	/* RouterOS's log order: SYN, RST, ACK, FIN, PSH, then the rest. */
	static const struct {
		uint8_t bit;
		const char *name;
	} flags[] = {
		{ TCPF_SYN, "SYN" }, { TCPF_RST, "RST" }, { TCPF_ACK, "ACK" },
		{ TCPF_FIN, "FIN" }, { TCPF_PSH, "PSH" }, { TCPF_URG, "URG" },
		{ TCPF_ECE, "ECE" }, { TCPF_CWR, "CWR" },
	};
	char proto[64], src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	const char *name = NULL;
	bool l4 = p->flags & PKT_F_L4;
	bool v6 = p->family == 6;
	size_t k;

	if (!out || !n)
		return;
	if (p->family != 4 && p->family != 6) {
		snprintf(out, n, "ethertype 0x%04x, len %u", p->ethertype, p->len);
		return;
	}
	switch (p->proto) {
	case PROTO_TCP:
		name = "TCP";
		break;
	case PROTO_UDP:
		name = "UDP";
		break;
	case PROTO_GRE:
		name = "GRE";
		break;
	case PROTO_ICMP:
		name = v6 ? NULL : "ICMP";
		break;
	case PROTO_ICMPV6:
		name = v6 ? "ICMPv6" : NULL;
		break;
	}
	if (name)
		k = (size_t)snprintf(proto, sizeof(proto), "%s", name);
	else
		k = (size_t)snprintf(proto, sizeof(proto), "%u", p->proto);
	if (l4 && p->proto == PROTO_TCP && p->tcp_flags) {
		const char *sep = " (";
		for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
			if (!(p->tcp_flags & flags[i].bit))
				continue;
			k += (size_t)snprintf(proto + k, sizeof(proto) - k, "%s%s", sep,
					      flags[i].name);
			sep = ",";
		}
		snprintf(proto + k, sizeof(proto) - k, ")");
	} else if (l4 && name && (p->proto == PROTO_ICMP || p->proto == PROTO_ICMPV6)) {
		snprintf(proto + k, sizeof(proto) - k, " (type %u, code %u)", p->icmp_type,
			 p->icmp_code);
	}
	fmt_addr(src, sizeof(src), p->family, &p->src);
	fmt_addr(dst, sizeof(dst), p->family, &p->dst);
	if (l4 && proto_has_ports(p->proto)) {
		const char *o = v6 ? "[" : "", *c = v6 ? "]" : "";
		snprintf(out, n, "proto %s, %s%s%s:%u->%s%s%s:%u, len %u", proto, o, src, c,
			 p->sport, o, dst, c, p->dport, p->ip_len);
	} else {
		snprintf(out, n, "proto %s, %s->%s, len %u", proto, src, dst, p->ip_len);
	}
}

/* ---- the builder ---- */

/*
 * Grammar (whitespace separates tokens; '>' is a token of its own):
 *   desc  := proto src '>' dst option* [ '(' desc ')' ]
 *   proto := tcp | udp | icmp | icmp6 | proto=N
 * Addresses: a.b.c.d[:port], [v6][:port], or a bare v6 address without port;
 * tcp and udp need ports, the others take none.
 * Options beyond pkt.h's list: ecn=, ip-id=, df=yes|no, mf=yes|no,
 * frag-off=BYTES (IPv6: adds a fragment header; a later fragment carries len
 * zero bytes and no transport header), mss=, wscale=, sack-perm=yes|no,
 * svlan= (an outer 802.1ad tag; needs vlan=). TCP flags default to S.
 * An ICMP/ICMPv6 error may embed a packet in parentheses (no L2 options
 * inside); len= then truncates the embedded packet to N bytes.
 */

enum bkind { BK_TCP, BK_UDP, BK_ICMP, BK_ICMP6, BK_RAW };

/* Option bits, to refuse duplicates and options foreign to the protocol. */
enum {
	BO_FLAGS = 1 << 0, BO_LEN = 1 << 1, BO_TTL = 1 << 2, BO_DSCP = 1 << 3,
	BO_SEQ = 1 << 4, BO_ACK = 1 << 5, BO_WIN = 1 << 6, BO_TYPE = 1 << 7,
	BO_CODE = 1 << 8, BO_ID = 1 << 9, BO_SMAC = 1 << 10, BO_DMAC = 1 << 11,
	BO_VLAN = 1 << 12, BO_SVLAN = 1 << 13, BO_ECN = 1 << 14, BO_IPID = 1 << 15,
	BO_DF = 1 << 16, BO_MF = 1 << 17, BO_FOFF = 1 << 18, BO_MSS = 1 << 19,
	BO_WSCALE = 1 << 20, BO_SACK = 1 << 21,
};
#define BO_TCP_ONLY (BO_FLAGS | BO_SEQ | BO_ACK | BO_WIN | BO_MSS | BO_WSCALE | BO_SACK)
#define BO_ICMP_ONLY (BO_TYPE | BO_CODE | BO_ID)
#define BO_L2 (BO_SMAC | BO_DMAC | BO_VLAN | BO_SVLAN)

struct bspec {
	enum bkind kind;
	uint8_t proto;
	uint8_t family;
	union ipaddr src, dst;
	uint16_t sport, dport;
	uint32_t opts;                 /* BO_* given */
	uint8_t smac[6], dmac[6];
	uint16_t vlan, svlan;
	uint8_t ttl, dscp, ecn;
	uint32_t len;
	uint8_t tcp_flags;
	uint32_t seq, ack;
	uint16_t win, mss;
	uint8_t wscale;
	bool sack_perm;
	uint8_t type, code;
	uint16_t id, ip_id, frag_off;
	bool df, mf;
	const char *inner;             /* text between the parentheses */
	size_t inner_len;
	size_t inner_col;
};

/* Where errors point: the whole description and the token at fault. */
struct bctx {
	const char *desc;
	struct err *e;
};

struct btok {
	const char *s;
	size_t n;
	size_t col; /* offset in the whole description */
};

#define TOK_MAX 128

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* The description around the bad token: up to the token after it. */
static void excerpt(const struct bctx *b, size_t col, size_t tlen, char *out, size_t n)
{
	const char *d = b->desc;
	size_t total = strlen(d), start = 0, end = col + tlen, k = 0;

	if (end > total)
		end = total;
	while (end < total && !is_space(d[end])) /* the rest of the enclosing token */
		end++;
	while (end < total && is_space(d[end]))
		end++;
	while (end < total && !is_space(d[end]))
		end++;
	if (end > 60 && col > 20)
		start = col - 20;
	if (start > 0)
		k += (size_t)snprintf(out, n, "...");
	for (size_t i = start; i < end && k + 1 < n; i++)
		out[k++] = (d[i] >= 0x20 && d[i] < 0x7f) ? d[i] : '?';
	out[k] = 0;
	while (end < total && is_space(d[end]))
		end++;
	if (end < total && k + 4 < n)
		snprintf(out + k, n - k, " ...");
}

/* Sets "<what> '<text>' in '<excerpt>'" naming prop; returns -1. */
static int bad(const struct bctx *b, const char *prop, const char *what, const char *s,
	       size_t n, size_t col)
{
	char tok[64], ex[160];
	size_t k = 0;

	for (size_t i = 0; i < n && k + 4 < sizeof(tok); i++)
		tok[k++] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (k < n)
		tok[k++] = '.', tok[k++] = '.', tok[k++] = '.';
	tok[k] = 0;
	excerpt(b, col, n, ex, sizeof(ex));
	return err_setp(b->e, prop ? prop : "", "%s '%s' in '%s'", what, tok, ex);
}

/*
 * Next token of [*pos, end). A '(' token runs to the matching ')' and may
 * not nest. Returns 0 at the end, 1 with a token, -1 on an unclosed '('.
 */
static int next_tok(const struct bctx *b, const char *base, size_t *pos, size_t end,
		    size_t base_col, struct btok *t)
{
	size_t i = *pos;

	while (i < end && is_space(base[i]))
		i++;
	if (i >= end) {
		*pos = i;
		return 0;
	}
	t->s = base + i;
	t->col = base_col + i;
	if (base[i] == '>') {
		t->n = 1;
		*pos = i + 1;
		return 1;
	}
	if (base[i] == '(') {
		size_t j = i + 1;
		while (j < end && base[j] != ')' && base[j] != '(')
			j++;
		if (j >= end || base[j] != ')') {
			t->n = end - i;
			return bad(b, NULL, "unclosed or nested '('", t->s, t->n, t->col);
		}
		t->n = j + 1 - i;
		*pos = j + 1;
		return 1;
	}
	size_t j = i;
	while (j < end && !is_space(base[j]) && base[j] != '>' && base[j] != '(')
		j++;
	t->n = j - i;
	*pos = j;
	return 1;
}

static bool tok_is(const struct btok *t, const char *s)
{
	return strlen(s) == t->n && memcmp(t->s, s, t->n) == 0;
}

/* Strict decimal: digits only, no sign, no overflow, <= max. */
static bool parse_num(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - 9) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, size_t n, bool *out)
{
	if ((n == 3 && !memcmp(s, "yes", 3)) || (n == 4 && !memcmp(s, "true", 4))) {
		*out = true;
		return true;
	}
	if ((n == 2 && !memcmp(s, "no", 2)) || (n == 5 && !memcmp(s, "false", 5))) {
		*out = false;
		return true;
	}
	return false;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool parse_mac(const char *s, size_t n, uint8_t mac[6])
{
	if (n != 17)
		return false;
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[3 * i]), lo = hexval(s[3 * i + 1]);
		if (hi < 0 || lo < 0 || (i < 5 && s[3 * i + 2] != ':'))
			return false;
		mac[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* An endpoint: address (family set or checked) and optional port. */
static int parse_endpoint(const struct bctx *b, const struct btok *t, struct bspec *sp,
			  union ipaddr *a, uint16_t *port, const char *prop)
{
	char txt[TOK_MAX];
	const char *as = t->s, *ps = NULL;
	size_t an = t->n, pn = 0;
	uint8_t fam;
	bool want_port = sp->kind == BK_TCP || sp->kind == BK_UDP;

	if (t->n >= TOK_MAX)
		return bad(b, prop, "bad address", t->s, t->n, t->col);
	if (t->n && t->s[0] == '[') {
		const char *close = memchr(t->s, ']', t->n);
		if (!close)
			return bad(b, prop, "bad address", t->s, t->n, t->col);
		as = t->s + 1;
		an = (size_t)(close - as);
		size_t rest = t->n - (size_t)(close + 1 - t->s);
		if (rest) {
			if (close[1] != ':')
				return bad(b, prop, "bad address", t->s, t->n, t->col);
			ps = close + 2;
			pn = rest - 1;
		}
		fam = 6;
	} else {
		const char *c1 = memchr(t->s, ':', t->n);
		size_t colons = 0;
		for (size_t i = 0; i < t->n; i++)
			colons += t->s[i] == ':';
		if (colons > 1) {
			fam = 6;
		} else {
			fam = 4;
			if (c1) {
				an = (size_t)(c1 - t->s);
				ps = c1 + 1;
				pn = t->n - an - 1;
			}
		}
	}
	memcpy(txt, as, an);
	txt[an] = 0;
	if (fam == 4) {
		struct in_addr in;
		if (inet_pton(AF_INET, txt, &in) != 1)
			return bad(b, prop, "bad address", as, an, t->col + (size_t)(as - t->s));
		a->v4 = ntohl(in.s_addr);
	} else if (inet_pton(AF_INET6, txt, a->v6) != 1) {
		return bad(b, prop, "bad address", as, an, t->col + (size_t)(as - t->s));
	}
	if (sp->family && sp->family != fam)
		return bad(b, prop, "address family differs from the source", t->s, t->n,
			   t->col);
	sp->family = fam;
	if (ps) {
		uint64_t v;
		if (!want_port)
			return bad(b, prop, "no port allowed for this protocol", t->s, t->n,
				   t->col);
		if (!parse_num(ps, pn, 65535, &v))
			return bad(b, prop, "bad port", ps, pn, t->col + (size_t)(ps - t->s));
		*port = (uint16_t)v;
	} else if (want_port) {
		return bad(b, prop, "missing port", t->s, t->n, t->col);
	}
	return 0;
}

struct bopt {
	const char *name;
	uint32_t bit;
	uint64_t max; /* numeric options; 0 for the others */
};

static const struct bopt bopts[] = {
	{ "flags", BO_FLAGS, 0 },     { "len", BO_LEN, 65535 },
	{ "ttl", BO_TTL, 255 },       { "dscp", BO_DSCP, 63 },
	{ "ecn", BO_ECN, 3 },         { "seq", BO_SEQ, UINT32_MAX },
	{ "ack", BO_ACK, UINT32_MAX }, { "win", BO_WIN, 65535 },
	{ "mss", BO_MSS, 65535 },     { "wscale", BO_WSCALE, 14 },
	{ "sack-perm", BO_SACK, 0 },  { "type", BO_TYPE, 255 },
	{ "code", BO_CODE, 255 },     { "id", BO_ID, 65535 },
	{ "ip-id", BO_IPID, 65535 },  { "df", BO_DF, 0 },
	{ "mf", BO_MF, 0 },           { "frag-off", BO_FOFF, 65528 },
	{ "src-mac", BO_SMAC, 0 },    { "dst-mac", BO_DMAC, 0 },
	{ "vlan", BO_VLAN, 4094 },    { "svlan", BO_SVLAN, 4094 },
};

static int parse_flags(const char *s, size_t n, uint8_t *out)
{
	static const char letters[] = "FSRPAUEC"; /* bit order */
	uint8_t f = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *at = s[i] ? strchr(letters, s[i]) : NULL;
		if (!at || (f & (1u << (at - letters))))
			return -1;
		f |= (uint8_t)(1u << (at - letters));
	}
	*out = f;
	return 0;
}

static int parse_option(const struct bctx *b, const struct btok *t, struct bspec *sp,
			bool embedded)
{
	const char *eq = memchr(t->s, '=', t->n);
	const struct bopt *o = NULL;
	size_t kn, vn;
	const char *v;
	char prop[32];
	uint64_t num = 0;

	if (!eq)
		return bad(b, NULL, "unexpected", t->s, t->n, t->col);
	kn = (size_t)(eq - t->s);
	v = eq + 1;
	vn = t->n - kn - 1;
	for (size_t i = 0; i < sizeof(bopts) / sizeof(bopts[0]); i++)
		if (strlen(bopts[i].name) == kn && !memcmp(bopts[i].name, t->s, kn))
			o = &bopts[i];
	if (!o)
		return bad(b, NULL, "unknown option", t->s, t->n, t->col);
	snprintf(prop, sizeof(prop), "%s", o->name);
	if (sp->opts & o->bit)
		return bad(b, prop, "duplicate option", t->s, t->n, t->col);
	sp->opts |= o->bit;
	if ((o->bit & BO_TCP_ONLY) && sp->kind != BK_TCP)
		return bad(b, prop, "option only for tcp", t->s, t->n, t->col);
	if ((o->bit & BO_ICMP_ONLY) && sp->kind != BK_ICMP && sp->kind != BK_ICMP6)
		return bad(b, prop, "option only for icmp and icmp6", t->s, t->n, t->col);
	if ((o->bit & BO_L2) && embedded)
		return bad(b, prop, "no layer-2 option in an embedded packet", t->s, t->n,
			   t->col);
	if (o->bit == BO_DF && sp->family == 6)
		return bad(b, prop, "no DF flag in IPv6", t->s, t->n, t->col);
	if (o->max && !parse_num(v, vn, o->max, &num))
		return bad(b, prop, "bad value", t->s, t->n, t->col);

	switch (o->bit) {
	case BO_FLAGS:
		if (parse_flags(v, vn, &sp->tcp_flags) < 0)
			return bad(b, prop, "bad flags", t->s, t->n, t->col);
		break;
	case BO_LEN: sp->len = (uint32_t)num; break;
	case BO_TTL: sp->ttl = (uint8_t)num; break;
	case BO_DSCP: sp->dscp = (uint8_t)num; break;
	case BO_ECN: sp->ecn = (uint8_t)num; break;
	case BO_SEQ: sp->seq = (uint32_t)num; break;
	case BO_ACK: sp->ack = (uint32_t)num; break;
	case BO_WIN: sp->win = (uint16_t)num; break;
	case BO_MSS: sp->mss = (uint16_t)num; break;
	case BO_WSCALE: sp->wscale = (uint8_t)num; break;
	case BO_TYPE: sp->type = (uint8_t)num; break;
	case BO_CODE: sp->code = (uint8_t)num; break;
	case BO_ID: sp->id = (uint16_t)num; break;
	case BO_IPID: sp->ip_id = (uint16_t)num; break;
	case BO_VLAN:
	case BO_SVLAN:
		if (num == 0)
			return bad(b, prop, "bad value", t->s, t->n, t->col);
		*(o->bit == BO_VLAN ? &sp->vlan : &sp->svlan) = (uint16_t)num;
		break;
	case BO_FOFF:
		if (num % 8)
			return bad(b, prop, "fragment offset not a multiple of 8", t->s, t->n,
				   t->col);
		sp->frag_off = (uint16_t)num;
		break;
	case BO_SACK:
	case BO_DF:
	case BO_MF: {
		bool *dst = o->bit == BO_SACK ? &sp->sack_perm : o->bit == BO_DF ? &sp->df : &sp->mf;
		if (!parse_bool(v, vn, dst))
			return bad(b, prop, "bad value", t->s, t->n, t->col);
		break;
	}
	case BO_SMAC:
	case BO_DMAC:
		if (!parse_mac(v, vn, o->bit == BO_SMAC ? sp->smac : sp->dmac))
			return bad(b, prop, "bad mac address", t->s, t->n, t->col);
		break;
	}
	return 0;
}

/* Parses desc[start, end) (col: its offset in the whole description). */
static int parse_spec(const struct bctx *b, const char *s, size_t end, size_t col,
		      bool embedded, struct bspec *sp)
{
	struct btok t;
	size_t pos = 0;
	int rc;

	memset(sp, 0, sizeof(*sp));
	static const uint8_t smac[6] = { 2, 0, 0, 0, 0, 1 }, dmac[6] = { 2, 0, 0, 0, 0, 2 };
	memcpy(sp->smac, smac, 6);
	memcpy(sp->dmac, dmac, 6);
	sp->ttl = 64;
	sp->win = 65535;
	sp->seq = 1000;
	sp->ip_id = 1;
	sp->id = 1;
	sp->tcp_flags = TCPF_SYN;

	rc = next_tok(b, s, &pos, end, col, &t);
	if (rc <= 0)
		return rc < 0 ? rc : err_setp(b->e, "", "empty packet description");
	if (tok_is(&t, "tcp")) {
		sp->kind = BK_TCP, sp->proto = PROTO_TCP;
	} else if (tok_is(&t, "udp")) {
		sp->kind = BK_UDP, sp->proto = PROTO_UDP;
	} else if (tok_is(&t, "icmp")) {
		sp->kind = BK_ICMP, sp->proto = PROTO_ICMP, sp->family = 4;
	} else if (tok_is(&t, "icmp6")) {
		sp->kind = BK_ICMP6, sp->proto = PROTO_ICMPV6, sp->family = 6;
	} else if (t.n > 6 && !memcmp(t.s, "proto=", 6)) {
		uint64_t v;
		if (!parse_num(t.s + 6, t.n - 6, 255, &v))
			return bad(b, "protocol", "bad protocol", t.s, t.n, t.col);
		sp->kind = BK_RAW, sp->proto = (uint8_t)v;
	} else {
		return bad(b, "protocol", "unknown protocol", t.s, t.n, t.col);
	}
	uint8_t forced = sp->family;
	sp->family = 0;

	rc = next_tok(b, s, &pos, end, col, &t);
	if (rc < 0)
		return -1;
	if (rc == 0 || t.s[0] == '>' || t.s[0] == '(')
		return err_setp(b->e, "src-address", "missing source address in '%s'", b->desc);
	if (parse_endpoint(b, &t, sp, &sp->src, &sp->sport, "src-address") < 0)
		return -1;
	if (forced && sp->family != forced)
		return bad(b, "src-address", forced == 4 ? "icmp needs an IPv4 address" :
			   "icmp6 needs an IPv6 address", t.s, t.n, t.col);
	rc = next_tok(b, s, &pos, end, col, &t);
	if (rc < 0)
		return -1;
	if (rc == 0 || !tok_is(&t, ">"))
		return err_setp(b->e, "", "expected '>' after the source in '%s'", b->desc);
	rc = next_tok(b, s, &pos, end, col, &t);
	if (rc < 0)
		return -1;
	if (rc == 0 || t.s[0] == '(')
		return err_setp(b->e, "dst-address", "missing destination address in '%s'",
				b->desc);
	if (parse_endpoint(b, &t, sp, &sp->dst, &sp->dport, "dst-address") < 0)
		return -1;

	while ((rc = next_tok(b, s, &pos, end, col, &t)) > 0) {
		if (t.s[0] == '(') {
			if (embedded)
				return bad(b, NULL, "nested embedded packet", t.s, t.n, t.col);
			if (sp->inner)
				return bad(b, NULL, "second embedded packet", t.s, t.n, t.col);
			sp->inner = t.s + 1;
			sp->inner_len = t.n - 2;
			sp->inner_col = t.col + 1;
			continue;
		}
		if (parse_option(b, &t, sp, embedded) < 0)
			return -1;
	}
	if (rc < 0)
		return -1;

	if ((sp->opts & BO_SVLAN) && !(sp->opts & BO_VLAN))
		return err_setp(b->e, "svlan", "svlan= needs vlan= in '%s'", b->desc);
	if (sp->kind == BK_TCP && !(sp->opts & BO_ACK))
		sp->ack = (sp->tcp_flags & TCPF_ACK) ? 1 : 0;
	if (sp->kind == BK_ICMP6 && !(sp->opts & BO_TYPE))
		sp->type = 128;
	else if (sp->kind == BK_ICMP && !(sp->opts & BO_TYPE))
		sp->type = 8;
	if (sp->inner) {
		bool err_type = sp->kind == BK_ICMP ? icmp4_is_error(sp->type) :
				sp->kind == BK_ICMP6 ? icmp6_is_error(sp->type) : false;
		if (!err_type)
			return bad(b, NULL, "an embedded packet needs an icmp error type",
				   sp->inner - 1, sp->inner_len + 2, sp->inner_col - 1);
	}
	return 0;
}

static size_t tcp_opts_len(const struct bspec *sp)
{
	return ((sp->opts & BO_MSS) ? 4 : 0) + ((sp->opts & BO_WSCALE) ? 4 : 0) +
	       (sp->sack_perm ? 4 : 0);
}

/*
 * Writes the IP packet of sp at out (room: cap). The embedded packet of an
 * ICMP error is given ready-made in emb/emb_len. Returns its length or -1.
 */
static int build_ip(const struct bctx *b, const struct bspec *sp, const uint8_t *emb,
		    size_t emb_len, uint8_t *out, size_t cap)
{
	bool v6 = sp->family == 6;
	bool frag6 = v6 && (sp->mf || sp->frag_off);
	bool later = sp->frag_off != 0;
	size_t ipl = v6 ? 40 + (frag6 ? 8 : 0) : 20;
	size_t l4h = 0, body = sp->len, total;

	if (!later) {
		switch (sp->kind) {
		case BK_TCP: l4h = 20 + tcp_opts_len(sp); break;
		case BK_UDP: l4h = 8; break;
		case BK_ICMP:
		case BK_ICMP6:
			l4h = 8;
			if (emb)
				body = emb_len;
			break;
		case BK_RAW: break;
		}
	}
	total = ipl + l4h + body;
	if (total - (v6 ? 40 : 0) > 65535)
		return err_setp(b->e, "len", "packet too long (%zu bytes) in '%s'", total, b->desc);
	if (total > cap)
		return err_setp(b->e, "len", "packet of %zu bytes does not fit in %zu in '%s'",
				total, cap, b->desc);
	memset(out, 0, total);

	uint8_t *ip = out, *l4 = out + ipl;
	if (v6) {
		wr32(ip, 6u << 28 | (uint32_t)(sp->dscp << 2 | sp->ecn) << 20);
		wr16(ip + 4, (uint16_t)(total - 40));
		ip[6] = frag6 ? 44 : sp->proto;
		ip[7] = sp->ttl;
		memcpy(ip + 8, sp->src.v6, 16);
		memcpy(ip + 24, sp->dst.v6, 16);
		if (frag6) {
			ip[40] = sp->proto;
			wr16(ip + 42, (uint16_t)(sp->frag_off | (sp->mf ? 1 : 0)));
			wr32(ip + 44, sp->ip_id);
		}
	} else {
		ip[0] = 0x45;
		ip[1] = (uint8_t)(sp->dscp << 2 | sp->ecn);
		wr16(ip + 2, (uint16_t)total);
		wr16(ip + 4, sp->ip_id);
		wr16(ip + 6, (uint16_t)((sp->df ? 0x4000 : 0) | (sp->mf ? 0x2000 : 0) |
					sp->frag_off / 8));
		ip[8] = sp->ttl;
		ip[9] = sp->proto;
		wr32(ip + 12, sp->src.v4);
		wr32(ip + 16, sp->dst.v4);
		wr16(ip + 10, cksum(ip, 20, 0));
	}
	if (later || sp->kind == BK_RAW)
		return (int)total;

	uint32_t l4len = (uint32_t)(l4h + body);
	uint8_t *c;
	switch (sp->kind) {
	case BK_TCP: {
		size_t k = 20;
		wr16(l4, sp->sport);
		wr16(l4 + 2, sp->dport);
		wr32(l4 + 4, sp->seq);
		wr32(l4 + 8, sp->ack);
		l4[12] = (uint8_t)(l4h / 4) << 4;
		l4[13] = sp->tcp_flags;
		wr16(l4 + 14, sp->win);
		if (sp->opts & BO_MSS) {
			l4[k] = 2, l4[k + 1] = 4;
			wr16(l4 + k + 2, sp->mss);
			k += 4;
		}
		if (sp->opts & BO_WSCALE) {
			l4[k] = 1, l4[k + 1] = 3, l4[k + 2] = 3, l4[k + 3] = sp->wscale;
			k += 4;
		}
		if (sp->sack_perm) {
			l4[k] = 1, l4[k + 1] = 1, l4[k + 2] = 4, l4[k + 3] = 2;
			k += 4;
		}
		c = l4 + 16;
		break;
	}
	case BK_UDP:
		wr16(l4, sp->sport);
		wr16(l4 + 2, sp->dport);
		wr16(l4 + 4, (uint16_t)l4len);
		c = l4 + 6;
		break;
	default: /* ICMP, ICMPv6 */
		l4[0] = sp->type;
		l4[1] = sp->code;
		if (emb)
			memcpy(l4 + 8, emb, emb_len);
		else if (v6 ? (sp->type == 128 || sp->type == 129) : icmp4_is_query(sp->type))
			wr16(l4 + 4, sp->id);
		c = l4 + 2;
		break;
	}
	uint64_t acc = sp->kind == BK_ICMP ? 0 : pseudo_sum(ip, sp->family, sp->proto, l4len, NULL);
	uint16_t x = cksum(l4, l4len, acc);
	if (sp->kind == BK_UDP && x == 0)
		x = 0xffff;
	wr16(c, x);
	return (int)total;
}

int pkt_build(const char *desc, uint8_t *buf, size_t cap, struct err *e)
{
	struct bctx b = { desc ? desc : "", e };
	struct bspec sp, isp;
	uint8_t emb[1280];
	size_t emb_len = 0, l2;
	int n;

	if (parse_spec(&b, b.desc, strlen(b.desc), 0, false, &sp) < 0)
		return -1;
	if (sp.inner) {
		if (parse_spec(&b, sp.inner, sp.inner_len, sp.inner_col, true, &isp) < 0)
			return -1;
		if (isp.family != sp.family)
			return bad(&b, NULL, "embedded packet of another address family",
				   sp.inner, sp.inner_len, sp.inner_col);
		/* As much as an error may quote: 576 (v4) / 1280 (v6) minus headers. */
		n = build_ip(&b, &isp, NULL, 0, emb, sp.family == 4 ? 576 - 28 : 1280 - 48);
		if (n < 0)
			return -1;
		emb_len = (size_t)n;
		if (sp.opts & BO_LEN) {
			if (sp.len > emb_len)
				return err_setp(e, "len", "len=%u exceeds the embedded packet (%zu) in '%s'",
						sp.len, emb_len, b.desc);
			emb_len = sp.len;
		}
	}
	l2 = 14 + ((sp.opts & BO_VLAN) ? 4 : 0) + ((sp.opts & BO_SVLAN) ? 4 : 0);
	if (!buf || cap < l2)
		return err_setp(e, "", "no room for the frame of '%s'", b.desc);
	memcpy(buf, sp.dmac, 6);
	memcpy(buf + 6, sp.smac, 6);
	size_t k = 12;
	if (sp.opts & BO_SVLAN) {
		wr16(buf + k, ETHERTYPE_QINQ);
		wr16(buf + k + 2, sp.svlan);
		k += 4;
	}
	if (sp.opts & BO_VLAN) {
		wr16(buf + k, ETHERTYPE_VLAN);
		wr16(buf + k + 2, sp.vlan);
		k += 4;
	}
	wr16(buf + k, sp.family == 6 ? ETHERTYPE_IPV6 : ETHERTYPE_IPV4);
	n = build_ip(&b, &sp, sp.inner ? emb : NULL, emb_len, buf + l2, cap - l2);
	if (n < 0)
		return -1;
	return (int)(l2 + (size_t)n);
}
