/*
 * io: packet I/O on a Linux interface behind a small ops table, so the
 * dataplane does not care which backend moves its frames. The first
 * backend is AF_PACKET (afpacket.c): a TPACKET_V3 receive ring and
 * batched sendmmsg on the same socket; AF_XDP comes next behind the same
 * table.
 * A handle owns one socket and its ring; its fd is pollable (POLLIN: a
 * ring block is ready; POLLERR: the link went down, read with io_link).
 * Received frames point into the ring and stay valid, and writable, until
 * the next rx_burst or rx_release on that handle: a frame that must live
 * longer (queued for QoS) is copied by the caller. tx_burst copies.
 * Single-threaded per handle. Errors: open returns NULL and fills err;
 * tx_burst returns how many went out, or -errno when none did.
 */
#ifndef ROSFW_IO_IO_H
#define ROSFW_IO_IO_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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

enum io_link { IO_LINK_UP, IO_LINK_DOWN, IO_LINK_GONE };

struct io_handle {
	const struct io_ops *ops;
	int fd;
	int ifindex;
	uint8_t mac[6];
	uint32_t mtu;
	char ifname[IF_NAMESIZE];
	uint64_t rx_ring_drops; /* frames the kernel could not put in the ring */
};

struct io_ops {
	const char *name;
	struct io_handle *(*open)(const char *ifname, struct err *e);
	size_t (*rx_burst)(struct io_handle *h, struct io_frame *f, size_t max);
	void (*rx_release)(struct io_handle *h);
	int (*tx_burst)(struct io_handle *h, uint8_t *const *frames, const uint32_t *lens,
			size_t n);
	/* Link state now; refreshes mac, mtu, ifindex-gone and ring drops. */
	enum io_link (*link)(struct io_handle *h);
	void (*close)(struct io_handle *h);
};

extern const struct io_ops io_afpacket_ops;

/* The backend by name ("af_packet"), NULL if unknown. */
const struct io_ops *io_ops_find(const char *name);

static inline size_t io_rx_burst(struct io_handle *h, struct io_frame *f, size_t max)
{
	return h->ops->rx_burst(h, f, max);
}
static inline void io_rx_release(struct io_handle *h)
{
	h->ops->rx_release(h);
}
static inline int io_tx_burst(struct io_handle *h, uint8_t *const *frames, const uint32_t *lens,
			      size_t n)
{
	return h->ops->tx_burst(h, frames, lens, n);
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
