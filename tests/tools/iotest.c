/*
 * iotest BACKEND IF PEER: the io contract (io.h) checked on a veth pair.
 * (iotest BACKEND IF: opens IF, says how the backend runs there, closes.)
 * The backend opens IF; a plain AF_PACKET socket on PEER is the other end.
 * Frames carry a test ethertype, a sequence number and a pattern, so what
 * the kernel sends on its own (IPv6, say) is ignored and any loss, reorder
 * or corruption is seen. Checks: receive, send, frames of 64 to 1514
 * bytes both ways, frames kept intact until the next burst, link down and
 * up, the peer's and its own (with frames moving again after), and the
 * interface disappearing. Partial transport checksums (UDP and TCP over
 * IPv4): one the backend sends flagged IO_F_CSUM_PARTIAL reaches the peer
 * finished, or partial with the kernel's csum_start/csum_offset right
 * (read through PACKET_VNET_HDR), the kernel's way when the backend says
 * it offloads; one the peer sends partial arrives flagged, unless the sum
 * is not its own TCP/UDP checksum (a vxlan datagram's inner packet, a
 * fragment, SCTP's CRC32c): then it arrives unflagged, finished right
 * where the backend is told where the sum is (its detail says
 * virtio_net_hdr), else as it came. Where it is told, a GSO packet from
 * the peer is flagged truncated, never taken for one frame.
 * A GSO packet (gso_size) reaches the peer whole and marked to be cut,
 * where the backend says GSO, else cut into its segments.
 * Prints PASS/FAIL lines and "ok N"; exit 0 all passed, 1 a failure,
 * 77 the backend cannot open IF here (the reason printed as SKIP).
 * Needs root; run it in a namespace of its own: it deletes the pair.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "io/io.h"

#define ETH_TEST 0x88b5
#define MAGIC 0x726f7366u
#define N_FRAMES 3000u

static int passed, failed;

static void check(int ok, const char *what)
{
	printf("%s: %s\n", ok ? "PASS" : "FAIL", what);
	if (ok)
		passed++;
	else
		failed++;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t frame_len(uint32_t seq)
{
	static const uint32_t lens[] = { 60, 64, 128, 590, 1000, 1514 };
	return lens[seq % (sizeof(lens) / sizeof(lens[0]))];
}

static void make_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint32_t seq)
{
	uint32_t len = frame_len(seq);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = ETH_TEST >> 8;
	f[13] = ETH_TEST & 0xff;
	uint32_t m = htonl(MAGIC), s = htonl(seq);
	memcpy(f + 14, &m, 4);
	memcpy(f + 18, &s, 4);
	for (uint32_t i = 22; i < len; i++)
		f[i] = (uint8_t)(seq * 7 + i);
}

/* The sequence number of a test frame that is whole, or -1. */
static int64_t frame_seq(const uint8_t *f, uint32_t len)
{
	if (len < 22 || f[12] != ETH_TEST >> 8 || f[13] != (ETH_TEST & 0xff))
		return -1;
	uint32_t m, s;
	memcpy(&m, f + 14, 4);
	memcpy(&s, f + 18, 4);
	if (ntohl(m) != MAGIC)
		return -1;
	uint32_t seq = ntohl(s);
	if (len != frame_len(seq))
		return -2;
	for (uint32_t i = 22; i < len; i++)
		if (f[i] != (uint8_t)(seq * 7 + i))
			return -2;
	return seq;
}

static int peer_open(const char *ifname, int *ifindex, uint8_t *mac)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_TEST));
	if (fd < 0)
		return -1;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0)
		goto fail;
	*ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		goto fail;
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	int big = 8 << 20;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_TEST),
				   .sll_ifindex = *ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail;
	return fd;
fail:
	close(fd);
	return -1;
}

static int set_up(const char *ifname, int up)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	int r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags = (short)(up ? ifr.ifr_flags | IFF_UP : ifr.ifr_flags & ~IFF_UP);
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r;
}

struct peer {
	int fd;
	struct sockaddr_ll to;
	uint8_t mac[6];
};

/* Sends frames first+*sent.. up to n, at most 256 ahead of got. */
static void peer_send(struct peer *p, const struct io_handle *h, uint32_t first, uint32_t n,
		      uint32_t *sent, uint32_t got)
{
	uint8_t buf[1600];
	while (*sent < n && *sent - got < 256) {
		make_frame(buf, h->mac, p->mac, first + *sent);
		if (sendto(p->fd, buf, frame_len(first + *sent), 0, (struct sockaddr *)&p->to,
			   sizeof(p->to)) < 0)
			break;
		(*sent)++;
	}
}

/* Peer to backend: n frames from first; how many arrived whole and in
 * order. *kept: each burst's frames were still whole after more frames
 * had arrived meanwhile (the ring must not reuse them before the next
 * burst). */
static uint32_t peer_to_backend(struct io_handle *h, struct peer *p, uint32_t first, uint32_t n,
				int *kept)
{
	memcpy(p->to.sll_addr, h->mac, 6);
	uint32_t sent = 0, got = 0, next = first;
	*kept = 1;
	uint64_t end = now_ms() + 5000;
	while (got < n && now_ms() < end) {
		peer_send(p, h, first, n, &sent, got);
		struct pollfd pf = { .fd = h->fd, .events = POLLIN };
		(void)poll(&pf, 1, 20);
		struct io_frame f[64];
		size_t k;
		while ((k = io_rx_burst(h, f, 64)) > 0) {
			int64_t seqs[64];
			for (size_t i = 0; i < k; i++) {
				int64_t s = seqs[i] = frame_seq(f[i].data, f[i].len);
				if (s == -1)
					continue;
				if (s != (int64_t)next) {
					printf("  expected frame %u, got %lld (len %u)\n", next, (long long)s,
					       f[i].len);
					io_rx_release(h);
					return got;
				}
				next++;
				got++;
			}
			peer_send(p, h, first, n, &sent, got);
			usleep(200);
			for (size_t i = 0; i < k; i++)
				if (seqs[i] >= 0 && frame_seq(f[i].data, f[i].len) != seqs[i])
					*kept = 0;
		}
		io_rx_release(h);
	}
	return got;
}

/* After a link comes up, frames may be lost until the driver is ready
 * again (veth with XDP drops while its receive ring is not yet polled):
 * probes from the peer until one arrives, then drains the rest; false if
 * none came within 2 s. */
static bool warm_up(struct io_handle *h, struct peer *p, uint32_t *seq)
{
	memcpy(p->to.sll_addr, h->mac, 6);
	uint8_t buf[1600];
	bool seen = false;
	for (int i = 0; i < 40 && !seen; i++) {
		make_frame(buf, h->mac, p->mac, *seq);
		(void)sendto(p->fd, buf, frame_len(*seq), 0, (struct sockaddr *)&p->to, sizeof(p->to));
		(*seq)++;
		struct pollfd pf = { .fd = h->fd, .events = POLLIN };
		(void)poll(&pf, 1, 50);
		struct io_frame f[64];
		size_t k;
		while ((k = io_rx_burst(h, f, 64)) > 0)
			for (size_t j = 0; j < k; j++)
				seen |= frame_seq(f[j].data, f[j].len) >= 0;
	}
	for (uint64_t end = now_ms() + 100; now_ms() < end;) {
		struct io_frame f[64];
		(void)io_rx_burst(h, f, 64);
		usleep(1000);
	}
	io_rx_release(h);
	return seen;
}

/* Backend to peer: n frames from first in bursts of 32; how many arrived
 * whole and in order. */
static uint32_t backend_to_peer(struct io_handle *h, int pfd, const uint8_t *pmac, uint32_t first,
				uint32_t n, int *last_err)
{
	static uint8_t frames[32][1514];
	struct io_tx t[32];
	uint8_t buf[2048];
	uint32_t sent = 0, got = 0, next = first;
	*last_err = 0;
	uint64_t end = now_ms() + 5000;
	while (got < n && now_ms() < end) {
		if (sent < n && sent - got < 256) {
			uint32_t k = n - sent < 32 ? n - sent : 32;
			for (uint32_t i = 0; i < k; i++) {
				make_frame(frames[i], pmac, h->mac, first + sent + i);
				t[i] = (struct io_tx){ frames[i], frame_len(first + sent + i), 0, 0 };
			}
			int r = io_tx_burst(h, t, k);
			if (r > 0)
				sent += (uint32_t)r;
			else if (r < 0)
				*last_err = r;
		}
		struct pollfd p = { .fd = pfd, .events = POLLIN };
		(void)poll(&p, 1, sent - got >= 256 || sent == n ? 20 : 0);
		ssize_t r;
		while ((r = recv(pfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			int64_t s = frame_seq(buf, (uint32_t)r);
			if (s == -1)
				continue;
			if (s != (int64_t)next) {
				printf("  expected frame %u, got %lld (len %zd)\n", next, (long long)s, r);
				return got;
			}
			next++;
			got++;
		}
	}
	return got;
}

static enum io_link wait_link(struct io_handle *h, enum io_link want, int ms)
{
	enum io_link s = io_link_state(h);
	for (int i = 0; i < ms / 10 && s != want; i++) {
		usleep(10000);
		s = io_link_state(h);
	}
	return s;
}


/* ---- partial checksums ---- */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold16(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* An IPv4 UDP or TCP frame from 10.9.0.1:1000 to 10.9.0.2:2000 with n
 * bytes of payload, its transport checksum field holding only the
 * pseudo-header's sum (what a sender leaving it to the NIC puts there).
 * Its length; *csum_at: where the field is. */
static uint32_t partial_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t proto,
			      uint32_t n, uint32_t *csum_at)
{
	uint32_t l4len = (proto == 6 ? 20 : 8) + n, len = 14 + 20 + l4len;
	memset(f, 0, len);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	uint8_t *ip = f + 14, *l4 = ip + 20;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4len) >> 8), ip[3] = (uint8_t)(20 + l4len);
	ip[8] = 64, ip[9] = proto;
	ip[12] = 10, ip[13] = 9, ip[15] = 1;
	ip[16] = 10, ip[17] = 9, ip[19] = 2;
	uint16_t c = (uint16_t)~fold16(sum16(ip, 20, 0));
	ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
	l4[0] = 1000 >> 8, l4[1] = 1000 & 0xff, l4[2] = 2000 >> 8, l4[3] = 2000 & 0xff;
	if (proto == 6) {
		l4[12] = 5 << 4, l4[13] = 0x18, l4[14] = 0xff, l4[15] = 0xff;
	} else {
		l4[4] = (uint8_t)(l4len >> 8), l4[5] = (uint8_t)l4len;
	}
	for (uint32_t i = 0; i < n; i++)
		l4[l4len - n + i] = (uint8_t)(i * 13 + proto);
	*csum_at = 34 + (proto == 6 ? 16 : 6);
	uint16_t ps = fold16(sum16(ip + 12, 8, proto + l4len));
	f[*csum_at] = (uint8_t)(ps >> 8), f[*csum_at + 1] = (uint8_t)ps;
	return len;
}

static bool l4_sum_ok(const uint8_t *f, uint32_t len)
{
	const uint8_t *ip = f + 14;
	uint32_t l4len = len - 34;
	return fold16(sum16(f + 34, l4len, sum16(ip + 12, 8, ip[9] + l4len))) == 0xffff;
}

/* An AF_PACKET socket on the peer that shows the kernel's checksum state
 * (PACKET_VNET_HDR: a virtio_net_hdr in front of every frame). */
static int vnet_open(int ifindex)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_IP));
	int one = 1;
	if (fd < 0)
		return -1;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The backend sends a partial frame of proto: true when the peer got it
 * with a right checksum, finished by the backend or left to the kernel
 * with the right offsets; *offloaded says which. */
static bool partial_out(struct io_handle *h, int vfd, const uint8_t *pmac, uint8_t proto,
			bool *offloaded)
{
	uint8_t f[1600], want[1600];
	uint32_t at, len = partial_frame(f, pmac, h->mac, proto, 999, &at);
	memcpy(want, f, len);
	struct io_tx t = { f, len, IO_F_CSUM_PARTIAL, 0 };
	if (io_tx_burst(h, &t, 1) != 1)
		return false;
	uint64_t end = now_ms() + 2000;
	while (now_ms() < end) {
		struct pollfd pf = { .fd = vfd, .events = POLLIN };
		(void)poll(&pf, 1, 50);
		uint8_t b[sizeof(struct virtio_net_hdr) + 1600];
		ssize_t r = recv(vfd, b, sizeof(b), MSG_DONTWAIT);
		size_t vh = sizeof(struct virtio_net_hdr);
		if (r < (ssize_t)(vh + 34) || (uint32_t)r - vh != len || b[vh + 23] != proto)
			continue;
		struct virtio_net_hdr v;
		memcpy(&v, b, vh);
		uint8_t *g = b + vh;
		*offloaded = v.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
		if (*offloaded) {
			/* still partial: the offsets must name the field */
			if (v.csum_start != 34 || v.csum_start + v.csum_offset != at)
				return false;
			uint16_t c = (uint16_t)~fold16(sum16(g + 34, len - 34, 0));
			g[at] = (uint8_t)(c >> 8), g[at + 1] = (uint8_t)c;
		}
		return l4_sum_ok(g, len) && !memcmp(g, want, at) &&
		       !memcmp(g + at + 2, want + at + 2, len - at - 2);
	}
	return false;
}

/* The backend sends a TCP packet of 3 x 1000 bytes of payload with
 * gso_size 1000: true when the peer got it whole, marked for the kernel
 * to cut into those segments (a veth hands GSO packets on as they are:
 * *whole), or as the three segments, each with a right checksum; either
 * way every byte of the payload as sent. */
static bool gso_out(struct io_handle *h, int vfd, const uint8_t *pmac, bool *whole)
{
	static uint8_t f[4000], want[4000], b[sizeof(struct virtio_net_hdr) + 65536];
	uint32_t at, len = partial_frame(f, pmac, h->mac, 6, 3000, &at);
	memcpy(want, f, len);
	struct io_tx t = { f, len, IO_F_CSUM_PARTIAL, 1000 };
	if (io_tx_burst(h, &t, 1) != 1)
		return false;
	size_t vh = sizeof(struct virtio_net_hdr);
	uint32_t segs = 0;
	uint64_t end = now_ms() + 2000;
	while (now_ms() < end && segs < 3) {
		struct pollfd pf = { .fd = vfd, .events = POLLIN };
		(void)poll(&pf, 1, 50);
		ssize_t r = recv(vfd, b, sizeof(b), MSG_DONTWAIT);
		if (r < (ssize_t)(vh + 54) || b[vh + 23] != 6)
			continue;
		struct virtio_net_hdr v;
		memcpy(&v, b, vh);
		uint8_t *g = b + vh;
		uint32_t n = (uint32_t)r - (uint32_t)vh;
		if (v.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
			uint16_t c = (uint16_t)~fold16(sum16(g + 34, n - 34, 0));
			g[at] = (uint8_t)(c >> 8), g[at + 1] = (uint8_t)c;
		}
		if (!l4_sum_ok(g, n))
			return false;
		if (n == len) {
			*whole = true;
			return v.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 && v.gso_size == 1000 &&
			       !memcmp(g + 54, want + 54, 3000);
		}
		uint32_t seq = (uint32_t)g[38] << 24 | (uint32_t)g[39] << 16 | g[40] << 8 | g[41];
		if (n != 54 + 1000 || seq != segs * 1000 || memcmp(g + 54, want + 54 + seq, 1000))
			return false;
		segs++;
	}
	*whole = false;
	return segs == 3;
}

/* What the peer sends with a partial checksum (the kernel's
 * CHECKSUM_PARTIAL, set through its virtio_net_hdr): a plain TCP/UDP
 * segment whose field holds the pseudo-header's sum; a vxlan datagram
 * (outer checksum 0, as vxlan sends by default) whose partial sum is that
 * of the TCP/UDP packet inside; a fragment; an SCTP packet (its CRC32c
 * left to the NIC: Linux's csum_not_inet, which the virtio_net_hdr shows
 * only by the place, csum_offset 8 at an SCTP header). */
enum partial_kind { PK_PLAIN, PK_TUNNEL, PK_FRAGMENT, PK_SCTP };

#define VXLAN_IN (14 + 20 + 8 + 8) /* where the inner frame starts */

/* The frame of kind in f (for the backend, from the peer) and its
 * virtio_net_hdr: its length. */
static uint32_t partial_make(uint8_t *f, struct virtio_net_hdr *v, const struct io_handle *h,
			     const struct peer *p, uint8_t proto, enum partial_kind kind)
{
	uint32_t at, len;
	*v = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 34 };
	if (kind == PK_TUNNEL) {
		uint8_t in[1600];
		uint32_t n = partial_frame(in, h->mac, p->mac, proto, 500, &at);
		len = partial_frame(f, h->mac, p->mac, 17, 8 + n, &at);
		f[36] = 4789 >> 8, f[37] = 4789 & 0xff;
		f[40] = f[41] = 0; /* the outer UDP: no checksum */
		memset(f + 42, 0, 8);
		f[42] = 0x08; /* vxlan: the VNI is valid */
		memcpy(f + VXLAN_IN, in, n);
		v->csum_start = (uint16_t)(VXLAN_IN + 34);
		v->csum_offset = proto == 6 ? 16 : 6;
		return len;
	}
	len = partial_frame(f, h->mac, p->mac, proto, 500, &at);
	v->csum_offset = (uint16_t)(at - 34);
	if (kind == PK_FRAGMENT) {
		f[20] = 0x20; /* more fragments */
		f[24] = f[25] = 0;
		uint16_t c = (uint16_t)~fold16(sum16(f + 14, 20, 0));
		f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
	} else if (kind == PK_SCTP) {
		f[23] = 132; /* the UDP header as SCTP's first 8 bytes, then the field */
		f[24] = f[25] = 0;
		uint16_t c = (uint16_t)~fold16(sum16(f + 14, 20, 0));
		f[24] = (uint8_t)(c >> 8), f[25] = (uint8_t)c;
		memset(f + 42, 0xa5, 4);
		v->csum_offset = 8;
	}
	return len;
}

/* The RFC 3720 CRC32c, bit by bit (the backend's is a table's). */
static uint32_t crc32c_bits(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
	}
	return ~c;
}

/* The pending sum of a frame of kind as it arrived (g, from f as sent):
 * finished where it belongs (for a fragment as a NIC finishes one: the
 * sum of what was sent from csum_start on, at csum_start + csum_offset),
 * every other byte as sent. */
static bool partial_finished(const uint8_t *g, const uint8_t *f, uint32_t len,
			     const struct virtio_net_hdr *v, enum partial_kind kind)
{
	uint32_t at = (uint32_t)v->csum_start + v->csum_offset, w = kind == PK_SCTP ? 4 : 2;
	if (memcmp(g, f, at) || memcmp(g + at + w, f + at + w, len - at - w))
		return false;
	if (kind == PK_TUNNEL)
		return l4_sum_ok(g + VXLAN_IN, len - VXLAN_IN);
	if (kind == PK_SCTP) {
		uint8_t c[1600];
		memcpy(c, g + 34, len - 34);
		memset(c + 8, 0, 4);
		uint32_t crc = crc32c_bits(c, len - 34);
		return g[at] == (uint8_t)crc && g[at + 1] == (uint8_t)(crc >> 8) &&
		       g[at + 2] == (uint8_t)(crc >> 16) && g[at + 3] == (uint8_t)(crc >> 24);
	}
	uint16_t c = (uint16_t)~fold16(sum16(f + v->csum_start, len - v->csum_start, 0));
	return (uint32_t)(g[at] << 8 | g[at + 1]) == (c ? c : 0xffff);
}

/* The peer sends a partial frame of proto and kind (left to a NIC that
 * never comes): -1 when the backend does not receive it, else its flags
 * (IO_F_*); *finished: it arrived with its pending sum finished
 * (partial_finished). */
static int partial_in(struct io_handle *h, int vfd, const struct peer *p, uint8_t proto,
		      enum partial_kind kind, bool *finished)
{
	uint8_t b[sizeof(struct virtio_net_hdr) + 1600];
	size_t vh = sizeof(struct virtio_net_hdr);
	uint8_t *f = b + vh;
	struct virtio_net_hdr v;
	uint32_t len = partial_make(f, &v, h, p, proto, kind);
	memcpy(b, &v, vh);
	*finished = false;
	if (send(vfd, b, vh + len, 0) < 0)
		return -1;
	uint64_t end = now_ms() + 2000;
	while (now_ms() < end) {
		struct pollfd pf = { .fd = h->fd, .events = POLLIN };
		(void)poll(&pf, 1, 50);
		struct io_frame fr[64];
		size_t k = io_rx_burst(h, fr, 64);
		for (size_t i = 0; i < k; i++)
			if (fr[i].len == len && fr[i].data[23] == f[23] &&
			    !memcmp(fr[i].data + 34, f + 34, 4)) {
				int flags = (int)fr[i].flags;
				*finished = partial_finished(fr[i].data, f, len, &v, kind);
				io_rx_release(h);
				return flags;
			}
	}
	io_rx_release(h);
	return -1;
}

/* The peer sends a TCP packet of 1900 bytes of payload marked GSO
 * (gso_size 1000: two segments on a wire; whole, more than the MTU but
 * less than the ring's frames): 1 when the backend received it
 * whole and not flagged IO_F_TRUNC (the router would take it for one
 * packet), 0 when it came flagged, 2 as its segments (the peer's kernel
 * cut it), -1 when nothing came. */
static int gso_in(struct io_handle *h, int vfd, const struct peer *p)
{
	static uint8_t b[sizeof(struct virtio_net_hdr) + 2048];
	size_t vh = sizeof(struct virtio_net_hdr);
	uint8_t *f = b + vh;
	uint32_t at, len = partial_frame(f, h->mac, p->mac, 6, 1900, &at);
	struct virtio_net_hdr v = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				    .hdr_len = 54,
				    .gso_size = 1000,
				    .csum_start = 34,
				    .csum_offset = 16 };
	memcpy(b, &v, vh);
	if (send(vfd, b, vh + len, 0) < 0)
		return -1;
	int r = -1;
	uint64_t end = now_ms() + 1000;
	while (now_ms() < end) {
		struct pollfd pf = { .fd = h->fd, .events = POLLIN };
		(void)poll(&pf, 1, 50);
		struct io_frame fr[64];
		size_t k = io_rx_burst(h, fr, 64);
		for (size_t i = 0; i < k; i++) {
			if (fr[i].len < 54 || fr[i].data[23] != 6 || memcmp(fr[i].data + 34, f + 34, 4))
				continue;
			if (fr[i].wire_len != len)
				r = r < 0 ? 2 : r;
			else
				r = fr[i].flags & IO_F_TRUNC ? 0 : 1;
		}
	}
	io_rx_release(h);
	return r;
}

int main(int argc, char **argv)
{
	if (argc != 3 && argc != 4) {
		fprintf(stderr, "usage: iotest af_packet|af_xdp IF [PEER]\n");
		return 2;
	}
	const struct io_ops *ops = io_ops_find(argv[1]);
	if (!ops) {
		fprintf(stderr, "iotest: unknown backend %s\n", argv[1]);
		return 2;
	}
	const char *ifn = argv[2], *peer = argv[3];
	struct err e;
	err_clear(&e);
	struct io_handle *h = ops->open(ifn, &e);
	if (!h) {
		printf("SKIP: %s cannot open %s here: %s\n", argv[1], ifn, e.msg);
		return 77;
	}
	printf("%s on %s: %s\n", argv[1], ifn, h->detail);
	if (argc == 3) { /* only open and close */
		io_close(h);
		return 0;
	}
	struct peer pr = { .to = { .sll_family = AF_PACKET, .sll_halen = 6 } };
	uint8_t *pmac = pr.mac;
	int pfd = pr.fd = peer_open(peer, &pr.to.sll_ifindex, pr.mac);
	if (pfd < 0) {
		printf("FAIL: the peer socket on %s: %s\n", peer, strerror(errno));
		io_close(h);
		return 1;
	}
	char what[200];
	int kept = 0, terr = 0;
	uint32_t seq = 0;
	enum io_link s = wait_link(h, IO_LINK_UP, 2000);
	check(s == IO_LINK_UP, "link is up after open");

	uint32_t got = peer_to_backend(h, &pr, seq, N_FRAMES, &kept);
	snprintf(what, sizeof(what), "receive: %u of %u frames (60-1514 bytes) whole and in order",
		 got, N_FRAMES);
	check(got == N_FRAMES, what);
	check(kept, "receive: a burst's frames stay intact until the next burst");
	seq += N_FRAMES;
	got = backend_to_peer(h, pfd, pmac, seq, N_FRAMES, &terr);
	snprintf(what, sizeof(what), "send: %u of %u frames (60-1514 bytes) whole and in order",
		 got, N_FRAMES);
	check(got == N_FRAMES, what);
	seq += N_FRAMES;

	int vfd = vnet_open(pr.to.sll_ifindex);
	check(vfd >= 0, "a PACKET_VNET_HDR socket on the peer");
	bool offload = strstr(h->detail, "checksum offload") != NULL;
	for (int i = 0; i < 2 && vfd >= 0; i++) {
		uint8_t proto = i ? 6 : 17;
		bool off = false, ok = partial_out(h, vfd, pmac, proto, &off);
		snprintf(what, sizeof(what), "send: a partial %s checksum arrives right (%s)",
			 proto == 6 ? "TCP" : "UDP",
			 !ok ? "it does not" : off ? "the kernel finishes it" : "finished by rosfw");
		check(ok && off == offload, what);
		snprintf(what, sizeof(what), "receive: a partial %s checksum is flagged",
			 proto == 6 ? "TCP" : "UDP");
		bool fin;
		int fl = partial_in(h, vfd, &pr, proto, PK_PLAIN, &fin);
		check(fl >= 0 && (fl & IO_F_CSUM_PARTIAL), what);
	}
	if (vfd >= 0) {
		bool whole = false, ok = gso_out(h, vfd, pmac, &whole);
		snprintf(what, sizeof(what), "send: a GSO packet of 3 segments arrives right (%s)",
			 !ok ? "it does not" : whole ? "whole, for the peer's kernel" : "cut");
		check(ok && whole == (strstr(h->detail, "GSO") != NULL), what);
	}
	/* the flag says the field holds the pseudo-header's sum, which the
	 * router then updates and the transmitter finishes: not so here. A
	 * backend the kernel tells where the sum is (virtio_net_hdr) finishes
	 * it as a NIC would; one that is not leaves the frame as it came */
	bool told = strstr(h->detail, "virtio_net_hdr") != NULL;
	static const struct {
		enum partial_kind kind;
		uint8_t proto;
		const char *what;
	} pk[] = {
		{ PK_TUNNEL, 6, "a vxlan datagram with TCP partial inside" },
		{ PK_TUNNEL, 17, "a vxlan datagram with UDP partial inside" },
		{ PK_FRAGMENT, 17, "a fragment said to be partial" },
		{ PK_SCTP, 132, "an SCTP packet with its CRC32c left to the NIC" },
	};
	for (size_t i = 0; i < sizeof(pk) / sizeof(pk[0]) && vfd >= 0; i++) {
		bool fin;
		int fl = partial_in(h, vfd, &pr, pk[i].proto, pk[i].kind, &fin);
		bool ok = fl >= 0 && !(fl & IO_F_CSUM_PARTIAL) && fin == told;
		snprintf(what, sizeof(what), "receive: %s arrives %s", pk[i].what,
			 fl < 0 ? "not at all"
			 : !ok ? (fl & IO_F_CSUM_PARTIAL ? "flagged" : "with the sum wrong")
			 : fin ? "unflagged, its sum finished" : "unflagged, as it came");
		check(ok, what);
	}
	if (vfd >= 0 && told) {
		int r = gso_in(h, vfd, &pr);
		snprintf(what, sizeof(what), "receive: a GSO packet is never taken for one frame (%s)",
			 r < 0 ? "nothing came" : r == 1 ? "it was" : r ? "cut before" : "flagged truncated");
		check(r == 0 || r == 2, what);
	}
	if (vfd >= 0)
		close(vfd);

	set_up(peer, 0);
	s = wait_link(h, IO_LINK_DOWN, 2000);
	check(s == IO_LINK_DOWN, "link down when the peer goes down");
	set_up(peer, 1);
	s = wait_link(h, IO_LINK_UP, 2000);
	check(s == IO_LINK_UP, "link up again when the peer comes back");
	check(warm_up(h, &pr, &seq), "frames arrive again within 2 s");
	got = peer_to_backend(h, &pr, seq, 500, &kept);
	seq += 500;
	uint32_t got2 = backend_to_peer(h, pfd, pmac, seq, 500, &terr);
	seq += 500;
	snprintf(what, sizeof(what), "after down/up: %u of 500 received, %u of 500 sent", got, got2);
	check(got == 500 && got2 == 500, what);

	set_up(ifn, 0);
	s = wait_link(h, IO_LINK_DOWN, 2000);
	check(s == IO_LINK_DOWN, "link down when the interface itself is set down");
	set_up(ifn, 1);
	s = wait_link(h, IO_LINK_UP, 2000);
	check(s == IO_LINK_UP, "link up when it is set up again");
	check(warm_up(h, &pr, &seq), "frames arrive again within 2 s");
	got = peer_to_backend(h, &pr, seq, 500, &kept);
	seq += 500;
	got2 = backend_to_peer(h, pfd, pmac, seq, 500, &terr);
	seq += 500;
	snprintf(what, sizeof(what), "after own down/up: %u of 500 received, %u of 500 sent", got,
		 got2);
	check(got == 500 && got2 == 500, what);

	close(pfd);
	char cmd[100];
	snprintf(cmd, sizeof(cmd), "ip link del %s", ifn);
	if (system(cmd) != 0)
		printf("  (ip link del %s failed)\n", ifn);
	s = wait_link(h, IO_LINK_GONE, 2000);
	check(s == IO_LINK_GONE, "link gone when the interface is deleted");
	io_close(h);
	printf("ok %d\n", passed);
	return failed ? 1 : 0;
}
