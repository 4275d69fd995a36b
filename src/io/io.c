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

/* How an interface runs (the backend's detail), on stderr and in the log;
 * why: AF_XDP's refusal when auto fell back to AF_PACKET. */
static void report_open(const char *ifname, const struct io_handle *h, const char *why)
{
	char line[400];
	if (why)
		snprintf(line, sizeof(line), "%s: no AF_XDP (%s): AF_PACKET instead (%s)", ifname,
			 why, h->detail);
	else
		snprintf(line, sizeof(line), "%s: %s", ifname, h->detail);
	fprintf(stderr, "rosfw: %s\n", line);
	conf_log("interface,info", "%s", line);
}

struct io_handle *io_open(const char *ifname, struct err *e)
{
	enum io_mode m = mode_get();
	struct io_handle *h = NULL;
	struct err xe;
	err_clear(&xe);
	if (m != IO_MODE_AFPACKET) {
		h = io_afxdp_ops.open(ifname, &xe);
		if (!h && m == IO_MODE_AFXDP) {
			if (e)
				*e = xe;
			return NULL;
		}
	}
	bool fallback = !h && m == IO_MODE_AUTO;
	if (!h)
		h = io_afpacket_ops.open(ifname, e);
	if (h)
		report_open(ifname, h, fallback ? xe.msg : NULL);
	return h;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	return s;
}

/* The transport header of an unfragmented IPv4 or IPv6 frame (up to two
 * VLAN tags; IPv6 extension headers as the engine walks them): its
 * protocol, the segment at *l4 (*l4len bytes, to the end of the IP
 * packet) and the pseudo-header's sum, folded, in *pseudo. false for
 * anything else. */
static bool l4_at(const uint8_t *f, uint32_t len, uint8_t *proto, uint32_t *l4, uint32_t *l4len,
		  uint32_t *pseudo)
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
	if (et == 0x0800) {
		if (len < l3 + 20)
			return false;
		uint32_t hl = (uint32_t)(ip[0] & 0x0f) * 4;
		uint32_t tot = (uint32_t)(ip[2] << 8 | ip[3]);
		if ((ip[0] >> 4) != 4 || hl < 20 || tot < hl || l3 + tot > len || (ip[6] & 0x3f) ||
		    ip[7])
			return false;
		*proto = ip[9];
		at = l3 + hl;
		n = tot - hl;
		s = sum16(ip + 12, 8, *proto + n);
	} else if (et == 0x86dd) {
		if (len < l3 + 40 || (ip[0] >> 4) != 6)
			return false;
		uint32_t end = l3 + 40 + (uint32_t)(ip[4] << 8 | ip[5]);
		uint8_t dst[16]; /* the final destination (routing header) */
		if (end > len || !pkt_v6_upper(f, l3, end, proto, &at, dst))
			return false;
		n = end - at;
		s = sum16(dst, 16, sum16(ip + 8, 16, *proto + (n >> 16) + (n & 0xffff)));
	} else {
		return false;
	}
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	*l4 = at;
	*l4len = n;
	*pseudo = s;
	return true;
}

/* Where the transport checksum of such a frame is, when it is TCP or UDP:
 * the segment at *l4 (*l4len bytes), the field at *l4 + *off, and the
 * pseudo-header's sum in *pseudo. false for anything else. */
static bool l4_csum_at(const uint8_t *f, uint32_t len, uint32_t *l4, uint32_t *l4len,
		       uint32_t *off, uint32_t *pseudo)
{
	uint8_t proto;
	uint32_t n;
	if (!l4_at(f, len, &proto, l4, &n, pseudo))
		return false;
	uint32_t o = proto == 6 ? 16 : proto == 17 ? 6 : 0;
	if (!o || (proto == 6 && n < 20) || (proto == 17 && n < 8))
		return false;
	*l4len = n;
	*off = o;
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

/* CRC32c (Castagnoli, reflected polynomial 0x82f63b78): entry i is the
 * CRC register after shifting byte i through it. */
static const uint32_t crc32c_tab[256] = {
	0x00000000, 0xf26b8303, 0xe13b70f7, 0x1350f3f4, 0xc79a971f, 0x35f1141c,
	0x26a1e7e8, 0xd4ca64eb, 0x8ad958cf, 0x78b2dbcc, 0x6be22838, 0x9989ab3b,
	0x4d43cfd0, 0xbf284cd3, 0xac78bf27, 0x5e133c24, 0x105ec76f, 0xe235446c,
	0xf165b798, 0x030e349b, 0xd7c45070, 0x25afd373, 0x36ff2087, 0xc494a384,
	0x9a879fa0, 0x68ec1ca3, 0x7bbcef57, 0x89d76c54, 0x5d1d08bf, 0xaf768bbc,
	0xbc267848, 0x4e4dfb4b, 0x20bd8ede, 0xd2d60ddd, 0xc186fe29, 0x33ed7d2a,
	0xe72719c1, 0x154c9ac2, 0x061c6936, 0xf477ea35, 0xaa64d611, 0x580f5512,
	0x4b5fa6e6, 0xb93425e5, 0x6dfe410e, 0x9f95c20d, 0x8cc531f9, 0x7eaeb2fa,
	0x30e349b1, 0xc288cab2, 0xd1d83946, 0x23b3ba45, 0xf779deae, 0x05125dad,
	0x1642ae59, 0xe4292d5a, 0xba3a117e, 0x4851927d, 0x5b016189, 0xa96ae28a,
	0x7da08661, 0x8fcb0562, 0x9c9bf696, 0x6ef07595, 0x417b1dbc, 0xb3109ebf,
	0xa0406d4b, 0x522bee48, 0x86e18aa3, 0x748a09a0, 0x67dafa54, 0x95b17957,
	0xcba24573, 0x39c9c670, 0x2a993584, 0xd8f2b687, 0x0c38d26c, 0xfe53516f,
	0xed03a29b, 0x1f682198, 0x5125dad3, 0xa34e59d0, 0xb01eaa24, 0x42752927,
	0x96bf4dcc, 0x64d4cecf, 0x77843d3b, 0x85efbe38, 0xdbfc821c, 0x2997011f,
	0x3ac7f2eb, 0xc8ac71e8, 0x1c661503, 0xee0d9600, 0xfd5d65f4, 0x0f36e6f7,
	0x61c69362, 0x93ad1061, 0x80fde395, 0x72966096, 0xa65c047d, 0x5437877e,
	0x4767748a, 0xb50cf789, 0xeb1fcbad, 0x197448ae, 0x0a24bb5a, 0xf84f3859,
	0x2c855cb2, 0xdeeedfb1, 0xcdbe2c45, 0x3fd5af46, 0x7198540d, 0x83f3d70e,
	0x90a324fa, 0x62c8a7f9, 0xb602c312, 0x44694011, 0x5739b3e5, 0xa55230e6,
	0xfb410cc2, 0x092a8fc1, 0x1a7a7c35, 0xe811ff36, 0x3cdb9bdd, 0xceb018de,
	0xdde0eb2a, 0x2f8b6829, 0x82f63b78, 0x709db87b, 0x63cd4b8f, 0x91a6c88c,
	0x456cac67, 0xb7072f64, 0xa457dc90, 0x563c5f93, 0x082f63b7, 0xfa44e0b4,
	0xe9141340, 0x1b7f9043, 0xcfb5f4a8, 0x3dde77ab, 0x2e8e845f, 0xdce5075c,
	0x92a8fc17, 0x60c37f14, 0x73938ce0, 0x81f80fe3, 0x55326b08, 0xa759e80b,
	0xb4091bff, 0x466298fc, 0x1871a4d8, 0xea1a27db, 0xf94ad42f, 0x0b21572c,
	0xdfeb33c7, 0x2d80b0c4, 0x3ed04330, 0xccbbc033, 0xa24bb5a6, 0x502036a5,
	0x4370c551, 0xb11b4652, 0x65d122b9, 0x97baa1ba, 0x84ea524e, 0x7681d14d,
	0x2892ed69, 0xdaf96e6a, 0xc9a99d9e, 0x3bc21e9d, 0xef087a76, 0x1d63f975,
	0x0e330a81, 0xfc588982, 0xb21572c9, 0x407ef1ca, 0x532e023e, 0xa145813d,
	0x758fe5d6, 0x87e466d5, 0x94b49521, 0x66df1622, 0x38cc2a06, 0xcaa7a905,
	0xd9f75af1, 0x2b9cd9f2, 0xff56bd19, 0x0d3d3e1a, 0x1e6dcdee, 0xec064eed,
	0xc38d26c4, 0x31e6a5c7, 0x22b65633, 0xd0ddd530, 0x0417b1db, 0xf67c32d8,
	0xe52cc12c, 0x1747422f, 0x49547e0b, 0xbb3ffd08, 0xa86f0efc, 0x5a048dff,
	0x8ecee914, 0x7ca56a17, 0x6ff599e3, 0x9d9e1ae0, 0xd3d3e1ab, 0x21b862a8,
	0x32e8915c, 0xc083125f, 0x144976b4, 0xe622f5b7, 0xf5720643, 0x07198540,
	0x590ab964, 0xab613a67, 0xb831c993, 0x4a5a4a90, 0x9e902e7b, 0x6cfbad78,
	0x7fab5e8c, 0x8dc0dd8f, 0xe330a81a, 0x115b2b19, 0x020bd8ed, 0xf0605bee,
	0x24aa3f05, 0xd6c1bc06, 0xc5914ff2, 0x37faccf1, 0x69e9f0d5, 0x9b8273d6,
	0x88d28022, 0x7ab90321, 0xae7367ca, 0x5c18e4c9, 0x4f48173d, 0xbd23943e,
	0xf36e6f75, 0x0105ec76, 0x12551f82, 0xe03e9c81, 0x34f4f86a, 0xc69f7b69,
	0xd5cf889d, 0x27a40b9e, 0x79b737ba, 0x8bdcb4b9, 0x988c474d, 0x6ae7c44e,
	0xbe2da0a5, 0x4c4623a6, 0x5f16d052, 0xad7d5351,
};

uint32_t io_crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = crc32c_tab[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

enum io_pending io_csum_pending(uint8_t *f, uint32_t len, uint32_t start, uint32_t off)
{
	if (start >= len || off > len - start || len - start - off < 2)
		return IO_PENDING_BAD;
	uint8_t proto;
	uint32_t l4, n, s;
	if (l4_at(f, len, &proto, &l4, &n, &s) && l4 == start) {
		if ((proto == 6 && off == 16 && n >= 20) || (proto == 17 && off == 6 && n >= 8))
			return IO_PENDING_PARTIAL;
		if (proto == 132 && off == 8 && n >= 12) {
			/* SCTP: Linux's csum_not_inet, which a virtio_net_hdr
			 * cannot say; its place is the only sign. The CRC
			 * covers the packet with the field zero and goes in
			 * least significant byte first (RFC 4960 appendix B) */
			memset(f + start + 8, 0, 4);
			uint32_t c = io_crc32c(f + start, n);
			for (int i = 0; i < 4; i++)
				f[start + 8 + (uint32_t)i] = (uint8_t)(c >> (8 * i));
			return IO_PENDING_DONE;
		}
	}
	/* as a NIC with a generic checksum does (Linux's skb_checksum_help):
	 * the field already holds what the sender put there (a pseudo-header's
	 * sum) and is part of the sum; 0 goes out as 0xffff, which a UDP
	 * receiver must not read as "no checksum" */
	uint16_t c = csum_buf(f + start, len - start, 0);
	if (!c)
		c = 0xffff;
	memcpy(f + start + off, &c, 2);
	return IO_PENDING_DONE;
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
