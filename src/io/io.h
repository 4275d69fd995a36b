/*
 * io: packet I/O on a Linux interface behind a small ops table, so the
 * dataplane does not care which backend moves its frames. AF_PACKET
 * (afpacket.c): a TPACKET_V2 receive ring (PACKET_VNET_HDR) and batched
 * sendmmsg on a second socket, on any interface. AF_XDP (afxdp.c):
 * libxdp's default XDP program steers every frame of each receive queue
 * of the interface to that queue's XDP socket, all on one UMEM shared
 * with rosfw, zero-copy where the driver can, else copy mode; it needs
 * XDP support (native, or the kernel's generic mode) and at most 16
 * receive queues. io_open picks the backend the process selected
 * (io_select): one of them, or "auto", AF_XDP with AF_PACKET as fallback.
 * A sum a local sender left to the NIC (CHECKSUM_PARTIAL on a veth)
 * arrives flagged IO_F_CSUM_PARTIAL when it is the frame's own TCP/UDP
 * checksum; AF_PACKET, told where the sum is (a virtio_net_hdr per
 * frame), finishes any other in the ring (io_csum_pending); AF_XDP is not
 * told and guesses the first kind (io_csum_looks_partial), leaving the
 * rest as it came.
 * A handle owns its sockets and rings; its one fd is pollable whatever the
 * queues (AF_XDP on several: an epoll fd over them) (POLLIN: frames are
 * ready; AF_PACKET also gives POLLERR when the link went down, AF_XDP
 * does not: link state is read with io_link, which callers poll anyway).
 * Received frames point into the ring and stay valid, and writable, until
 * the next rx_burst or rx_release on that handle: a frame that must live
 * longer (queued for QoS) is copied by the caller. tx_burst copies (and
 * may finish a partial checksum in the caller's frame).
 * Single-threaded per handle. Errors: open returns NULL and fills err;
 * tx_burst returns how many went out, or -errno when none did.
 */
#ifndef ROSFW_IO_IO_H
#define ROSFW_IO_IO_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/gro.h"
#include "util/err.h"

#define IO_F_CSUM_PARTIAL 0x1u /* the sender left the L4 checksum to hardware */
#define IO_F_TRUNC        0x2u /* longer than the ring could hold: cut short */
#define IO_F_VLAN         0x4u /* the NIC took a VLAN tag off: vlan_tci, vlan_tpid */

struct io_frame {
	uint8_t *data;     /* the Ethernet frame, in the ring */
	uint32_t len;      /* bytes present */
	uint32_t wire_len; /* bytes the frame had on the wire */
	uint32_t flags;    /* IO_F_* */
	uint16_t vlan_tci;
	uint16_t vlan_tpid; /* with IO_F_VLAN: 0x8100 (802.1Q) or 0x88a8 (802.1ad) */
};

/* A frame to send. */
struct io_tx {
	uint8_t *data;     /* the Ethernet frame; the backend may finish its checksum in place */
	uint32_t len;
	uint16_t flags;    /* IO_F_CSUM_PARTIAL: the transport checksum is partial */
	uint16_t gso_size; /* a TCP packet merged by gro.h (partial): it leaves cut into
			    * segments of gso_size payload bytes (the kernel's GSO, a
			    * NIC's TSO, else gro_cut); 0: one frame */
};

enum io_link { IO_LINK_UP, IO_LINK_DOWN, IO_LINK_GONE };

struct io_handle {
	const struct io_ops *ops;
	int fd;
	int ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	char ifname[IF_NAMESIZE];
	int ctl_fd;             /* for interface ioctls (SIOCGIF*): fd is not one for AF_XDP */
	uint64_t rx_ring_drops; /* frames the kernel could not put in the ring */
	char detail[160];       /* how it runs, for the log ("AF_XDP native, zero-copy") */
};

struct io_ops {
	const char *name;
	struct io_handle *(*open)(const char *ifname, struct err *e);
	size_t (*rx_burst)(struct io_handle *h, struct io_frame *f, size_t max);
	void (*rx_release)(struct io_handle *h);
	int (*tx_burst)(struct io_handle *h, struct io_tx *t, size_t n);
	/* Link state now; refreshes mac, mtu, ifindex-gone and ring drops. */
	enum io_link (*link)(struct io_handle *h);
	void (*close)(struct io_handle *h);
};

extern const struct io_ops io_afpacket_ops;
extern const struct io_ops io_afxdp_ops;

/* The backend by name ("af_packet", "af_xdp"), NULL if unknown. */
const struct io_ops *io_ops_find(const char *name);

/* The backend io_open uses from now on in this process: "af_packet",
 * "af_xdp" or "auto". Before any call, the environment's ROSFW_IO, else
 * "auto": AF_XDP forwards more (bench/RESULTS.md) and receives without a
 * ring's wake-up delay, and an interface it cannot take (no XDP, more
 * than 16 receive queues) still runs, on AF_PACKET. Returns -1 and fills e for
 * another name, changing nothing. */
int io_select(const char *mode, struct err *e);
const char *io_selected(void);
/* Opens ifname with the selected backend. In "auto" mode, when AF_XDP
 * cannot open it, AF_PACKET does, and why is logged (interface,info). */
struct io_handle *io_open(const char *ifname, struct err *e);

/* An unfragmented IPv4 or IPv6 TCP or UDP frame whose checksum field
 * holds only the pseudo-header's sum: what a sender that left the checksum
 * to a NIC (CHECKSUM_PARTIAL) puts on a veth. IPv6 extension headers
 * (hop-by-hop, destination options, routing with no segments left) are
 * walked as the engine walks them; a fragment header or a malformed chain
 * is never partial. For backends that are not told. */
bool io_csum_looks_partial(const uint8_t *frame, uint32_t len);
/* Finishes such a frame's transport checksum in place, as the NIC would
 * have (one pass over the segment; the pseudo-header's sum is already in
 * the field). The same frames as io_csum_looks_partial: false, and the
 * frame unchanged, for any other. */
bool io_csum_complete(uint8_t *frame, uint32_t len);
/* Where a NIC finishing such a frame's checksum starts summing (*start,
 * from the frame's first byte) and where the field is (*off, from
 * *start): what a transmit offload is told. false for other frames. */
bool io_csum_where(const uint8_t *frame, uint32_t len, uint32_t *start, uint32_t *off);

/* The pseudo-header's sum into the transport checksum field of such a
 * frame (any TCP or UDP one io_csum_where locates), making it partial;
 * false, nothing written, for other frames. */
bool io_csum_partial(uint8_t *frame, uint32_t len);
/* The whole transport checksum of such a frame verifies. */
bool io_csum_verify(const uint8_t *frame, uint32_t len);

/* What a receive backend does with a frame whose sum its sender left
 * pending (Linux's CHECKSUM_PARTIAL), told exactly where by the kernel (a
 * virtio_net_hdr's NEEDS_CSUM, csum_start, csum_offset): the sum runs from
 * start (from the frame's first byte) to the end of the frame and goes at
 * start + off. */
enum io_pending {
	IO_PENDING_PARTIAL, /* the frame's own TCP/UDP checksum: flag it IO_F_CSUM_PARTIAL */
	IO_PENDING_DONE,    /* anything else (a tunnel's inner packet, a fragment, SCTP's
			     * CRC32c): finished in the frame, as a NIC would */
	IO_PENDING_BAD,     /* the place is not in the frame: nothing written */
};
enum io_pending io_csum_pending(uint8_t *frame, uint32_t len, uint32_t start, uint32_t off);
/* CRC32c (RFC 3720) of p[0..n), as SCTP and iSCSI use it. */
uint32_t io_crc32c(const uint8_t *p, size_t n);

/* A sending socket on ifindex for io_send (AF_PACKET, protocol 0: it
 * receives nothing, PACKET_VNET_HDR, PACKET_QDISC_BYPASS); -1 when the
 * kernel refuses any of it. */
int io_vnet_socket(int ifindex);
/* Sends t[0..n) with sendmmsg on AF_PACKET socket fd: with vnet (an
 * io_vnet_socket), each behind the virtio_net_hdr that asks the kernel to
 * finish a partial checksum and to cut a GSO packet (whose checksum field
 * is made partial first if it was finished); without, partial checksums
 * finished here and no GSO packet among them. How many went, or -errno
 * when none did. */
int io_send(int fd, bool vnet, struct io_tx *t, size_t n);
/* t (gso_size set) cut by gro_cut into frames in scratch (room bytes),
 * described in seg (max of them), each partial: how many; 0 when they
 * do not fit. */
#define IO_CUT_ROOM (GRO_MAX_SEGS * 160u + 65536u) /* headers of 160 bytes at most */
size_t io_cut(const struct io_tx *t, uint8_t *scratch, size_t room, struct io_tx *seg,
	      size_t max);

static inline size_t io_rx_burst(struct io_handle *h, struct io_frame *f, size_t max)
{
	return h->ops->rx_burst(h, f, max);
}
static inline void io_rx_release(struct io_handle *h)
{
	h->ops->rx_release(h);
}
/* t[i].flags: IO_F_CSUM_PARTIAL says frame i still holds a partial
 * transport checksum; the backend has the kernel finish it (AF_XDP's
 * transmit metadata in copy mode, AF_PACKET's virtio_net_hdr) or finishes
 * it itself. t[i].gso_size: the kernel cuts it (a virtio_net_hdr asks),
 * else the backend does with gro_cut. Frames leave in order; returns how
 * many of the first went, or -errno when none did. */
static inline int io_tx_burst(struct io_handle *h, struct io_tx *t, size_t n)
{
	return h->ops->tx_burst(h, t, n);
}
static inline enum io_link io_link_state(struct io_handle *h)
{
	return h->ops->link(h);
}
static inline void io_close(struct io_handle *h)
{
	if (h)
		h->ops->close(h);
}

#endif
