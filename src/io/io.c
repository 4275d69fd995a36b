/* The backend table and the choice among backends (io.h). */
#include "io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/conf.h"
#include "engine/pkt.h"
#include "io/gro.h"

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

bool io_csum_partial(uint8_t *f, uint32_t len)
{
	uint32_t l4, n, off, s;
	if (!l4_csum_at(f, len, &l4, &n, &off, &s))
		return false;
	f[l4 + off] = (uint8_t)(s >> 8);
	f[l4 + off + 1] = (uint8_t)s;
	return true;
}

bool io_csum_verify(const uint8_t *f, uint32_t len)
{
	uint32_t l4, n, off, s;
	if (!l4_csum_at(f, len, &l4, &n, &off, &s))
		return false;
	return csum_buf(f + l4, n, htons((uint16_t)s)) == 0; /* it takes network order */
}

int io_vnet_socket(int ifindex)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_ifindex = ifindex };
	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	return fd;
}

/* The virtio_net_hdr in front of t: finish a partial checksum, cut a GSO
 * packet, or nothing asked. Its byte order is the host's (legacy virtio).
 * The kernel cuts a TCP packet only with NEEDS_CSUM (and refuses one above
 * the MTU without a gso_type): a GSO packet whose checksum was finished
 * since it was merged (a helper's rewrite) gets its pseudo-header's sum
 * back in the field, in place. */
static void vnet_for(struct virtio_net_hdr *v, const struct io_tx *t)
{
	uint32_t start, off;
	memset(v, 0, sizeof(*v));
	bool partial = t->flags & IO_F_CSUM_PARTIAL;
	if (t->gso_size && !partial)
		partial = io_csum_partial(t->data, t->len);
	if (!partial || !io_csum_where(t->data, t->len, &start, &off))
		return;
	v->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	v->csum_start = (uint16_t)start;
	v->csum_offset = (uint16_t)off;
	uint8_t fam = 0;
	uint32_t hdr = t->gso_size ? gro_hdr_len(t->data, t->len, &fam) : 0;
	if (!hdr || hdr <= start)
		return;
	const uint8_t *th = t->data + start;
	bool v6 = fam == 6;
	v->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	if (th[13] & TCPF_CWR)
		v->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
	v->gso_size = t->gso_size;
	v->hdr_len = (uint16_t)hdr;
}

#define VNET_CHUNK 64u

int io_send(int fd, bool vnet, struct io_tx *t, size_t n)
{
	struct mmsghdr m[VNET_CHUNK];
	struct iovec iov[VNET_CHUNK][2];
	struct virtio_net_hdr vh[VNET_CHUNK];
	size_t done = 0;
	while (done < n) {
		size_t k = n - done < VNET_CHUNK ? n - done : VNET_CHUNK;
		for (size_t i = 0; i < k; i++) {
			struct io_tx *x = &t[done + i];
			memset(&m[i], 0, sizeof(m[i]));
			if (vnet) {
				vnet_for(&vh[i], x);
				iov[i][0] = (struct iovec){ &vh[i], sizeof(vh[i]) };
			} else if (x->flags & IO_F_CSUM_PARTIAL) {
				(void)io_csum_complete(x->data, x->len);
			}
			iov[i][vnet] = (struct iovec){ x->data, x->len };
			m[i].msg_hdr.msg_iov = iov[i];
			m[i].msg_hdr.msg_iovlen = vnet ? 2 : 1;
		}
		int r = sendmmsg(fd, m, (unsigned)k, MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return done ? (int)done : -errno;
		}
		done += (size_t)r;
		if ((size_t)r < k)
			break; /* the device is full (or down): the rest is dropped */
	}
	return (int)done;
}

size_t io_cut(const struct io_tx *t, uint8_t *scratch, size_t room, struct io_tx *seg,
	      size_t max)
{
	size_t n = 0, used = 0;
	for (uint32_t i = 0;; i++) {
		uint32_t k = gro_cut(t->data, t->len, t->gso_size, i, scratch + used,
				     (uint32_t)(room - used));
		if (!k)
			return gro_segs(t->data, t->len, t->gso_size) == i ? n : 0;
		if (n == max)
			return 0;
		seg[n++] = (struct io_tx){ scratch + used, k, IO_F_CSUM_PARTIAL, 0 };
		used += k;
	}
}
