/*
 * AF_PACKET backend.
 * Receive: a TPACKET_V2 ring (4096 frames of 2 KiB, mmap'ed). Each frame
 * has its own status word, so a frame is ours as soon as the kernel wrote
 * it, and poll wakes on it: no block retire timer between the wire and
 * the router (TPACKET_V3 hands a block over only when it is full or its
 * timer fires, a millisecond or more on a quiet link, which was most of a
 * VoIP packet's time through rosfw). Under load a wake-up still finds
 * many frames: a burst reads them all without a system call. The frames
 * of a burst go back to the kernel when the next burst begins (or on
 * rx_release).
 * The ring's socket has PACKET_VNET_HDR (Linux 4.6 and later write it in
 * a TPACKET_V2 ring): a struct virtio_net_hdr just before each frame says
 * exactly where a sum its local sender left to the NIC (CHECKSUM_PARTIAL:
 * a veth, virtio) is pending. A frame's own TCP/UDP checksum is flagged
 * IO_F_CSUM_PARTIAL and goes on partial; any other pending sum (a tunnel's
 * inner packet, a fragment, SCTP's CRC32c) is finished in the ring, as a
 * NIC would, before the router sees the frame (io_csum_pending). Where the
 * kernel refuses the option, or takes it and writes no header (older
 * kernels: the offsets then show it), the TP_STATUS_CSUMNOTREADY frames
 * whose TCP/UDP field holds the pseudo-header's sum are flagged and the
 * rest left as they came.
 * Send: sendmmsg of the burst (one system call per burst) with
 * PACKET_QDISC_BYPASS, because rosfw does its own queueing and the
 * kernel's qdisc would only add a second, unmanaged queue. The sending
 * socket is a second one (protocol 0: it receives nothing) with
 * PACKET_VNET_HDR, so a frame whose transport checksum is still partial
 * leaves with a request that the kernel finish it (its skb stays
 * CHECKSUM_PARTIAL, as the kernel's own forwarding leaves it); where that
 * socket cannot be had, the ring's socket sends and rosfw finishes the
 * checksum. A TX ring saves the copy and is the next step if the
 * benchmark says it matters.
 * PACKET_IGNORE_OUTGOING keeps our own transmissions out of the ring; the
 * interface is put in promiscuous mode (dropped with the socket), brought
 * up, and GRO/LRO are turned off so frames arrive as they were on the wire.
 */
#include "io.h"
#include "ifctl.h"

#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/virtio_net.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/sbuf.h"

#define BLOCK_SIZE (1u << 18)
#define BLOCK_NR 32u
/* header at 0, virtio_net_hdr at 66, frame at 76: up to 1972 bytes (MTU
 * 1958); without the virtio_net_hdr the frame is at 66 */
#define FRAME_SIZE 2048u
#define FRAME_NR (BLOCK_SIZE / FRAME_SIZE * BLOCK_NR)
#define TX_CHUNK 64u

struct afp {
	struct io_handle h;
	uint8_t *ring;
	size_t ring_len;
	uint32_t head;          /* the next frame to read */
	uint32_t taken;         /* frames handed out by the last burst, before head */
	bool vnet;              /* PACKET_VNET_HDR on the ring's socket */
	int tx_fd;              /* the sending socket with PACKET_VNET_HDR, or -1 */
	uint8_t cut[IO_CUT_ROOM]; /* a GSO packet's segments, without tx_fd */
};

static void afp_close(struct io_handle *h)
{
	struct afp *a = (struct afp *)h;
	if (a->ring && a->ring != MAP_FAILED)
		munmap(a->ring, a->ring_len);
	if (h->fd >= 0)
		close(h->fd);
	if (a->tx_fd >= 0)
		close(a->tx_fd);
	free(a);
}

static struct io_handle *afp_open(const char *ifname, struct err *e)
{
	struct afp *a = xcalloc(1, sizeof(*a));
	a->h.ops = &io_afpacket_ops;
	a->h.fd = -1;
	a->h.ctl_fd = -1;
	a->tx_fd = -1;
	snprintf(a->h.ifname, sizeof(a->h.ifname), "%s", ifname);
	if (strlen(ifname) >= IF_NAMESIZE) {
		err_set(e, "interface name too long: %s", ifname);
		goto fail;
	}
	a->h.ifindex = (int)if_nametoindex(ifname);
	if (!a->h.ifindex) {
		err_set(e, "no Linux interface %s", ifname);
		goto fail;
	}
	/* protocol 0 until bound: nothing arrives before the ring exists */
	a->h.fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->h.fd < 0) {
		err_set(e, "%s: AF_PACKET socket: %s", ifname, strerror(errno));
		goto fail;
	}
	int fd = a->h.fd, one = 1, ver = TPACKET_V2;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) < 0) {
		err_set(e, "%s: TPACKET_V2: %s", ifname, strerror(errno));
		goto fail;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) < 0) {
		err_set(e, "%s: PACKET_IGNORE_OUTGOING: %s", ifname, strerror(errno));
		goto fail;
	}
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	/* before the ring: the kernel refuses it on a socket that has one */
	a->vnet = setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) == 0;
	struct tpacket_req req = {
		.tp_block_size = BLOCK_SIZE,
		.tp_block_nr = BLOCK_NR,
		.tp_frame_size = FRAME_SIZE,
		.tp_frame_nr = FRAME_NR,
	};
	if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0) {
		err_set(e, "%s: PACKET_RX_RING: %s", ifname, strerror(errno));
		goto fail;
	}
	a->ring_len = (size_t)BLOCK_SIZE * BLOCK_NR;
	a->ring = mmap(NULL, a->ring_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a->ring == MAP_FAILED) {
		err_set(e, "%s: mmap of the ring: %s", ifname, strerror(errno));
		goto fail;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				   .sll_ifindex = a->h.ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		err_set(e, "%s: bind: %s", ifname, strerror(errno));
		goto fail;
	}
	struct packet_mreq mr = { .mr_ifindex = a->h.ifindex, .mr_type = PACKET_MR_PROMISC };
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		err_set(e, "%s: promiscuous mode: %s", ifname, strerror(errno));
		goto fail;
	}
	a->h.ctl_fd = fd;
	a->tx_fd = io_vnet_socket(a->h.ifindex);
	snprintf(a->h.detail, sizeof(a->h.detail), "AF_PACKET TPACKET_V2%s%s",
		 a->vnet ? ", virtio_net_hdr" : "", a->tx_fd >= 0 ? ", checksum offload, GSO" : "");
	ifctl_prepare(fd, ifname, false);
	(void)ifctl_link(fd, &a->h);
	return &a->h;
fail:
	afp_close(&a->h);
	return NULL;
}

static inline struct tpacket2_hdr *frame_at(struct afp *a, uint32_t i)
{
	return (struct tpacket2_hdr *)(a->ring + (size_t)i * FRAME_SIZE);
}

static void afp_rx_release(struct io_handle *h)
{
	struct afp *a = (struct afp *)h;
	for (uint32_t i = a->head + FRAME_NR - a->taken; a->taken; a->taken--, i++)
		__atomic_store_n(&frame_at(a, i % FRAME_NR)->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
}

#define VNET_LEN sizeof(struct virtio_net_hdr)

/* What the kernel says of a received frame in its virtio_net_hdr (host
 * byte order: legacy virtio). A sum left pending is either the frame's own
 * TCP/UDP checksum, flagged for the router to pass on partial, or one
 * finished here (a tunnel's inner packet, SCTP's CRC32c, anything else).
 * A GSO packet (a veth peer's TSO) is more than one frame on the wire:
 * dropped as truncated, as it mostly is by the ring anyway. */
static void vnet_rx(struct io_frame *fr, const struct virtio_net_hdr *v)
{
	if (v->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		fr->flags |= IO_F_TRUNC;
		return;
	}
	if (!(v->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) || fr->len < fr->wire_len)
		return;
	if (io_csum_pending(fr->data, fr->len, v->csum_start, v->csum_offset) ==
	    IO_PENDING_PARTIAL)
		fr->flags |= IO_F_CSUM_PARTIAL;
}

static size_t afp_rx_burst(struct io_handle *h, struct io_frame *f, size_t max)
{
	struct afp *a = (struct afp *)h;
	afp_rx_release(h);
	size_t n = 0;
	while (n < max) {
		struct tpacket2_hdr *ph = frame_at(a, a->head);
		uint32_t st = __atomic_load_n(&ph->tp_status, __ATOMIC_ACQUIRE);
		if (!(st & TP_STATUS_USER))
			break;
		a->head = (a->head + 1) % FRAME_NR;
		a->taken++;
		/* a corrupt offset would point out of the frame: skip it */
		if ((size_t)ph->tp_mac + ph->tp_snaplen > FRAME_SIZE)
			continue;
		struct io_frame *fr = &f[n++];
		fr->data = (uint8_t *)ph + ph->tp_mac;
		fr->len = ph->tp_snaplen;
		fr->wire_len = ph->tp_len;
		fr->flags = 0;
		fr->vlan_tci = 0;
		/* with the header the network header is VNET_LEN past the
		 * ring's 16-byte alignment, without it on it */
		if (a->vnet && (ph->tp_net & (TPACKET_ALIGNMENT - 1)) == VNET_LEN)
			vnet_rx(fr, (const struct virtio_net_hdr *)(fr->data - VNET_LEN));
		else if ((st & TP_STATUS_CSUMNOTREADY) && io_csum_looks_partial(fr->data, fr->len))
			fr->flags |= IO_F_CSUM_PARTIAL;
		if (ph->tp_snaplen < ph->tp_len)
			fr->flags |= IO_F_TRUNC;
		if (st & TP_STATUS_VLAN_VALID) {
			fr->flags |= IO_F_VLAN;
			fr->vlan_tci = ph->tp_vlan_tci;
			fr->vlan_tpid = (st & TP_STATUS_VLAN_TPID_VALID) ? ph->tp_vlan_tpid : 0x8100;
		}
	}
	return n;
}

/* Without the vnet socket: the ring's socket sends, rosfw finishes
 * partial checksums (io_send) and cuts GSO packets itself. */
static int plain_send(struct afp *a, struct io_tx *t, size_t n)
{
	size_t done = 0;
	while (done < n) {
		size_t k = 0;
		while (done + k < n && !t[done + k].gso_size)
			k++;
		int r;
		if (k) {
			r = io_send(a->h.fd, false, t + done, k);
		} else {
			/* a GSO packet: its segments, all or none counted */
			struct io_tx seg[GRO_MAX_SEGS];
			size_t ns = io_cut(&t[done], a->cut, sizeof(a->cut), seg, GRO_MAX_SEGS);
			r = ns ? io_send(a->h.fd, false, seg, ns) : -EMSGSIZE;
			r = r == (int)ns ? 1 : r < 0 ? r : -ENOBUFS;
		}
		if (r < 0)
			return done ? (int)done : r;
		done += (size_t)r;
		if ((size_t)r < (k ? k : 1))
			break; /* the device is full (or down): the rest is dropped */
	}
	return (int)done;
}

static int afp_tx_burst(struct io_handle *h, struct io_tx *t, size_t n)
{
	struct afp *a = (struct afp *)h;
	return a->tx_fd >= 0 ? io_send(a->tx_fd, true, t, n) : plain_send(a, t, n);
}

static enum io_link afp_link(struct io_handle *h)
{
	int err = 0;
	socklen_t el = sizeof(err);
	(void)getsockopt(h->fd, SOL_SOCKET, SO_ERROR, &err, &el);
	struct tpacket_stats st;
	socklen_t sl = sizeof(st);
	if (getsockopt(h->fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl) == 0)
		h->rx_ring_drops += st.tp_drops;
	return ifctl_link(h->fd, h);
}

const struct io_ops io_afpacket_ops = {
	.name = "af_packet",
	.open = afp_open,
	.rx_burst = afp_rx_burst,
	.rx_release = afp_rx_release,
	.tx_burst = afp_tx_burst,
	.link = afp_link,
	.close = afp_close,
};
