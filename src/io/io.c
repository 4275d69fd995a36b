/* The backend table and the choice among backends (io.h). */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "engine/pkt.h"

enum io_mode { IO_MODE_UNSET, IO_MODE_AFPACKET, IO_MODE_AFXDP, IO_MODE_AUTO };

static enum io_mode mode_now = IO_MODE_UNSET;

const struct io_ops *io_ops_find(const char *name)
{
	if (!strcmp(name, "af_packet") || !strcmp(name, "afpacket"))
		return &io_afpacket_ops;
	if (!strcmp(name, "af_xdp") || !strcmp(name, "afxdp"))
		return &io_afxdp_ops;
	return NULL;
}

static enum io_mode mode_parse(const char *name)
{
	if (!strcmp(name, "auto"))
		return IO_MODE_AUTO;
	const struct io_ops *o = io_ops_find(name);
	if (!o)
		return IO_MODE_UNSET;
	return o == &io_afxdp_ops ? IO_MODE_AFXDP : IO_MODE_AFPACKET;
}

int io_select(const char *mode, struct err *e)
{
	enum io_mode m = mode ? mode_parse(mode) : IO_MODE_UNSET;
	if (m == IO_MODE_UNSET) {
		err_set(e, "unknown packet I/O '%s': af_packet, af_xdp or auto", mode ? mode : "");
		return -1;
	}
	mode_now = m;
	return 0;
}

static enum io_mode mode_get(void)
{
	if (mode_now == IO_MODE_UNSET) {
		const char *env = getenv("ROSFW_IO");
		mode_now = env && *env ? mode_parse(env) : IO_MODE_AUTO;
		if (mode_now == IO_MODE_UNSET) {
			fprintf(stderr, "rosfw: ROSFW_IO=%s is not af_packet, af_xdp or auto: "
					"using auto\n", env);
			mode_now = IO_MODE_AUTO;
		}
	}
	return mode_now;
}

const char *io_selected(void)
{
	switch (mode_get()) {
	case IO_MODE_AFXDP:
		return "af_xdp";
	case IO_MODE_AUTO:
		return "auto";
	case IO_MODE_AFPACKET:
		return "af_packet";
	default:
		return "auto";
	}
}

struct io_handle *io_open(const char *ifname, struct err *e)
{
	enum io_mode m = mode_get();
	if (m == IO_MODE_AFPACKET)
		return io_afpacket_ops.open(ifname, e);
	struct err xe;
	err_clear(&xe);
	struct io_handle *h = io_afxdp_ops.open(ifname, &xe);
	if (h) {
		fprintf(stderr, "rosfw: %s: %s\n", ifname, h->detail);
		conf_log("interface,info", "%s: %s", ifname, h->detail);
		return h;
	}
	if (m == IO_MODE_AFXDP) {
		if (e)
			*e = xe;
		return NULL;
	}
	h = io_afpacket_ops.open(ifname, e);
	if (h) {
		fprintf(stderr, "rosfw: %s: no AF_XDP (%s): AF_PACKET instead\n", ifname, xe.msg);
		conf_log("interface,info", "%s: no AF_XDP (%s): AF_PACKET instead", ifname, xe.msg);
	}
	return h;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

/* Where the transport checksum of an unfragmented IPv4 or IPv6 TCP or UDP
 * frame is (up to two VLAN tags; IPv6 extension headers as the engine
 * walks them): the segment at *l4 (*l4len bytes), the field at *l4 + *off,
 * and the pseudo-header's sum, folded, in *pseudo. false for anything else. */
static bool l4_csum_at(const uint8_t *f, uint32_t len, uint32_t *l4, uint32_t *l4len,
		       uint32_t *off, uint32_t *pseudo)
{
	uint32_t l3 = 14;
	if (len < l3)
		return false;
	uint16_t et = (uint16_t)(f[12] << 8 | f[13]);
	for (int tags = 0; tags < 2 && (et == 0x8100 || et == 0x88a8) && len >= l3 + 4; tags++) {
		et = (uint16_t)(f[l3 + 2] << 8 | f[l3 + 3]);
		l3 += 4;
	}
	const uint8_t *ip = f + l3;
	uint32_t at, n, s;
	uint8_t proto;
	if (et == 0x0800) {
		if (len < l3 + 20)
			return false;
		uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4;
		uint32_t tot = (uint32_t)(ip[2] << 8 | ip[3]);
		if ((ip[0] >> 4) != 4 || hl < 20 || tot < hl || l3 + tot > len || (ip[6] & 0x3f) ||
		    ip[7])
			return false;
		proto = ip[9];
		at = l3 + hl;
		n = tot - hl;
		s = sum16(ip + 12, 8, proto + n);
	} else if (et == 0x86dd) {
		if (len < l3 + 40 || (ip[0] >> 4) != 6)
			return false;
		uint32_t end = l3 + 40 + (uint32_t)(ip[4] << 8 | ip[5]);
		uint8_t dst[16]; /* the final destination (routing header) */
		if (end > len || !pkt_v6_upper(f, l3, end, &proto, &at, dst))
			return false;
		n = end - at;
		s = sum16(dst, 16, sum16(ip + 8, 16, proto + (n >> 16) + (n & 0xffff)));
	} else {
		return false;
	}
	uint32_t o = proto == 6 ? 16 : proto == 17 ? 6 : 0;
	if (!o || (proto == 6 && n < 20) || (proto == 17 && n < 8))
		return false;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	*l4 = at;
	*l4len = n;
	*off = o;
	*pseudo = s;
	return true;
}

/* A valid checksum equal to the pseudo-header's sum (1 in 65536) is
 * recomputed to itself by the dataplane. */
bool io_csum_looks_partial(const uint8_t *f, uint32_t len)
{
	uint32_t l4, n, off, s;
	if (!l4_csum_at(f, len, &l4, &n, &off, &s))
		return false;
	const uint8_t *c = f + l4 + off;
	return (uint32_t)(c[0] << 8 | c[1]) == s;
}

bool io_csum_where(const uint8_t *f, uint32_t len, uint32_t *start, uint32_t *off)
{
	uint32_t n, s;
	return l4_csum_at(f, len, start, &n, off, &s);
}

bool io_csum_complete(uint8_t *f, uint32_t len)
{
	uint32_t l4, n, off, s;
	if (!l4_csum_at(f, len, &l4, &n, &off, &s))
		return false;
	/* the field holds the pseudo-header's sum: the sum of the segment as
	 * it stands is the whole sum, as a NIC computes it */
	uint16_t c = csum_buf(f + l4, n, 0);
	if (c == 0 && off == 6)
		c = 0xffff; /* UDP: 0 would say "no checksum" */
	memcpy(f + l4 + off, &c, 2);
	return true;
}
