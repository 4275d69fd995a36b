/* Software GRO and its cut (gro.h). */
#include "gro.h"

#include <string.h>

#include "engine/pkt.h"
#include "io/io.h"

#define ETH_LEN 14u

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* An IPv6 next header that is an extension header (the transport may
 * hide behind it). */
static bool v6_ext(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 44 || nh == 50 || nh == 51 || nh == 60 ||
	       nh == 135 || nh == 139 || nh == 140;
}

enum gro_kind gro_parse(uint8_t *f, uint32_t len, bool partial, struct gro_seg *s)
{
	if (len < ETH_LEN + 20)
		return GRO_OTHER;
	uint16_t et = rd16(f + 12);
	const uint8_t *ip = f + ETH_LEN;
	uint32_t l4, end;
	bool plain;
	if (et == 0x0800) {
		uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4, tot = rd16(ip + 2);
		uint16_t frag = rd16(ip + 6);
		if ((ip[0] >> 4) != 4 || hl < 20 || tot < hl || ETH_LEN + tot > len)
			return GRO_BARRIER;
		if (ip[9] != 6)
			return GRO_OTHER;
		if (frag & 0x3fff)
			return GRO_BARRIER; /* a fragment of TCP: its ports may be unknown */
		l4 = ETH_LEN + hl;
		end = ETH_LEN + tot;
		plain = hl == 20;
		s->family = 4;
		s->id = rd16(ip + 4);
	} else if (et == 0x86dd) {
		if (len < ETH_LEN + 40 || (ip[0] >> 4) != 6)
			return GRO_BARRIER;
		if (ip[6] != 6)
			return v6_ext(ip[6]) ? GRO_BARRIER : GRO_OTHER;
		l4 = ETH_LEN + 40;
		end = l4 + rd16(ip + 4);
		if (end > len)
			return GRO_BARRIER;
		plain = true;
		s->family = 6;
		s->id = 0;
	} else {
		return GRO_OTHER;
	}
	if (end < l4 + 20)
		return GRO_BARRIER;
	const uint8_t *th = f + l4;
	uint32_t doff = (uint32_t)(th[12] >> 4) * 4;
	if (doff < 20 || l4 + doff > end)
		return GRO_BARRIER;
	s->f = f;
	s->l4 = (uint16_t)l4;
	s->hdr = (uint16_t)(l4 + doff);
	s->payload = (uint16_t)(end - l4 - doff);
	s->seq = rd32(th + 4);
	s->flags = th[13];
	s->partial = partial;
	bool ok = plain && s->payload && (s->flags & TCPF_ACK) &&
		  !(s->flags & (TCPF_SYN | TCPF_FIN | TCPF_RST | TCPF_URG));
	return ok ? GRO_MERGEABLE : GRO_TCP;
}

bool gro_same_conn(const struct gro_seg *a, const struct gro_seg *b)
{
	if (a->family != b->family)
		return false;
	const uint8_t *x = a->f + ETH_LEN, *y = b->f + ETH_LEN;
	bool addrs = a->family == 4 ? !memcmp(x + 12, y + 12, 8) : !memcmp(x + 8, y + 8, 32);
	return addrs && !memcmp(a->f + a->l4, b->f + b->l4, 4);
}

void gro_start(struct gro_pkt *g, const struct gro_seg *s)
{
	g->first = *s;
	g->buf = NULL;
	g->len = 0;
	g->mss = s->payload;
	g->segs = 1;
	g->next_seq = s->seq + s->payload;
	g->next_id = (uint16_t)(s->id + 1);
	g->last_flags = s->flags;
	g->closed = s->flags & TCPF_PSH;
	g->verified = false;
}

/* Its checksums verify: the IPv4 header's always (the merged packet gets
 * a new one), the transport's unless partial. */
static bool seg_sums(const struct gro_seg *s)
{
	if (s->family == 4 && csum_buf(s->f + ETH_LEN, 20, 0) != 0)
		return false;
	return s->partial || io_csum_verify(s->f, (uint32_t)s->hdr + s->payload);
}

bool gro_follows(struct gro_pkt *g, const struct gro_seg *s)
{
	const struct gro_seg *a = &g->first;
	if (g->closed || s->family != a->family || s->hdr != a->hdr || !s->payload ||
	    s->payload > g->mss || s->seq != g->next_seq || (s->flags & TCPF_CWR) ||
	    (s->flags | TCPF_PSH) != ((a->flags & (uint8_t)~TCPF_CWR) | TCPF_PSH))
		return false;
	uint32_t ip_total = (uint32_t)(a->hdr - ETH_LEN) + (g->next_seq - a->seq) + s->payload;
	if (ip_total > 65535)
		return false;
	const uint8_t *x = a->f, *y = s->f;
	if (memcmp(x, y, ETH_LEN))
		return false;
	x += ETH_LEN, y += ETH_LEN;
	if (a->family == 4) {
		/* version, TOS; flags and offset, TTL, protocol; addresses */
		if (memcmp(x, y, 2) || memcmp(x + 6, y + 6, 4) || memcmp(x + 12, y + 12, 8) ||
		    s->id != g->next_id)
			return false;
	} else if (memcmp(x, y, 4) || memcmp(x + 6, y + 6, 34)) {
		return false; /* class, flow label; next header, hop limit, addresses */
	}
	x = a->f + a->l4, y = s->f + s->l4;
	/* ports; acknowledgement and data offset; window; urgent pointer and options */
	if (memcmp(x, y, 4) || memcmp(x + 8, y + 8, 5) || memcmp(x + 14, y + 14, 2) ||
	    memcmp(x + 18, y + 18, (size_t)(a->hdr - a->l4) - 18))
		return false;
	if (!seg_sums(s))
		return false;
	if (g->segs == 1 && !g->verified) {
		if (!seg_sums(a)) {
			g->closed = true; /* it goes alone, to be dropped as corrupt */
			return false;
		}
		g->verified = true;
	}
	return true;
}

void gro_add(struct gro_pkt *g, const struct gro_seg *s, uint8_t *buf)
{
	if (!g->buf) {
		g->len = (uint32_t)g->first.hdr + g->first.payload;
		memcpy(buf, g->first.f, g->len);
		g->buf = buf;
	}
	memcpy(g->buf + g->len, s->f + s->hdr, s->payload);
	g->len += s->payload;
	g->segs++;
	g->next_seq += s->payload;
	g->next_id++;
	g->last_flags = s->flags;
	if ((s->flags & TCPF_PSH) || s->payload < g->mss || g->len - ETH_LEN + g->mss > 65535 ||
	    g->segs == GRO_MAX_SEGS)
		g->closed = true;
}

void gro_finish(struct gro_pkt *g)
{
	uint8_t *ip = g->buf + ETH_LEN;
	uint32_t tot = g->len - ETH_LEN;
	if (g->first.family == 4) {
		pkt_put16(ip + 2, (uint16_t)tot);
		ip[10] = ip[11] = 0;
		uint16_t c = csum_buf(ip, 20, 0);
		memcpy(ip + 10, &c, 2);
	} else {
		pkt_put16(ip + 4, (uint16_t)(tot - 40));
	}
	g->buf[g->first.l4 + 13] |= g->last_flags & TCPF_PSH;
	(void)io_csum_partial(g->buf, g->len);
}

/* Where the IP header of f starts (after up to two VLAN tags), its version
 * in *fam, the TCP header in *l4 and the IP packet's end in *end. */
static bool locate(const uint8_t *f, uint32_t len, uint32_t *l3, uint32_t *l4, uint32_t *end,
		   uint8_t *fam)
{
	uint32_t o = ETH_LEN;
	if (len < o)
		return false;
	uint16_t et = rd16(f + 12);
	for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8) && len >= o + 4; tags++) {
		et = rd16(f + o + 2);
		o += 4;
	}
	const uint8_t *ip = f + o;
	if (et == 0x0800 && len >= o + 20 && (ip[0] >> 4) == 4 && ip[9] == 6) {
		uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4;
		*l4 = o + hl;
		*end = o + rd16(ip + 2);
		*fam = 4;
	} else if (et == 0x86dd && len >= o + 40 && (ip[0] >> 4) == 6 && ip[6] == 6) {
		*l4 = o + 40;
		*end = *l4 + rd16(ip + 4);
		*fam = 6;
	} else {
		return false;
	}
	*l3 = o;
	return *end <= len && *l4 + 20 <= *end &&
	       *l4 + (uint32_t)(f[*l4 + 12] >> 4) * 4 <= *end;
}

uint32_t gro_hdr_len(const uint8_t *f, uint32_t len, uint8_t *family)
{
	uint32_t l3, l4, end;
	uint8_t fam;
	if (!locate(f, len, &l3, &l4, &end, &fam))
		return 0;
	if (family)
		*family = fam;
	return l4 + (uint32_t)(f[l4 + 12] >> 4) * 4;
}

uint32_t gro_segs(const uint8_t *f, uint32_t len, uint16_t mss)
{
	uint32_t l3, l4, end;
	uint8_t fam;
	if (!mss || !locate(f, len, &l3, &l4, &end, &fam))
		return 0;
	uint32_t hdr = l4 + (uint32_t)(f[l4 + 12] >> 4) * 4;
	return (end - hdr + mss - 1) / mss;
}

uint32_t gro_cut(const uint8_t *f, uint32_t len, uint16_t mss, uint32_t i, uint8_t *out,
		 uint32_t room)
{
	uint32_t l3, l4, end;
	uint8_t fam;
	if (!mss || !locate(f, len, &l3, &l4, &end, &fam))
		return 0;
	uint32_t hdr = l4 + (uint32_t)(f[l4 + 12] >> 4) * 4, payload = end - hdr;
	uint32_t n = (payload + mss - 1) / mss;
	if (i >= n)
		return 0;
	uint32_t at = i * mss, chunk = payload - at < mss ? payload - at : mss;
	if (hdr + chunk > room)
		return 0;
	memcpy(out, f, hdr);
	memcpy(out + hdr, f + hdr + at, chunk);
	uint8_t *ip = out + l3, *th = out + l4;
	if (fam == 4) {
		pkt_put16(ip + 2, (uint16_t)(hdr - l3 + chunk));
		pkt_put16(ip + 4, (uint16_t)(rd16(ip + 4) + i));
		ip[10] = ip[11] = 0;
		uint16_t c = csum_buf(ip, l4 - l3, 0);
		memcpy(ip + 10, &c, 2);
	} else {
		pkt_put16(ip + 4, (uint16_t)(hdr - l4 + chunk));
	}
	pkt_put32(th + 4, rd32(th + 4) + at);
	if (i + 1 < n)
		th[13] &= (uint8_t)~(TCPF_PSH | TCPF_FIN);
	if (i)
		th[13] &= (uint8_t)~TCPF_CWR;
	(void)io_csum_partial(out, hdr + chunk);
	return hdr + chunk;
}
