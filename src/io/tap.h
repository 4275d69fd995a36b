/*
 * tap: the router's own IPv4 stack, the kernel's, reached through a TAP
 * interface (IFF_TAP | IFF_NO_PI) in the router's namespace. The TAP
 * carries the router's IPv4 addresses (/32 each, set by netlink) and a
 * default route through it, so whatever the kernel sends that is not local goes into the
 * TAP, where the dataplane reads it and runs it through the output chain.
 * ARP: the TAP is IFF_NOARP, so the kernel never asks for a next hop; the
 * frames it writes carry the TAP's own MAC as destination, which the
 * dataplane ignores (it routes by the IP header). Frames written to it
 * carry the TAP's MAC as destination and a fixed locally administered MAC
 * (TAP_PEER_MAC) as source.
 * IPv6: the TAP carries the router's IPv6 addresses (/128 each, link-local
 * ones included, added by netlink with IFA_F_NODAD: no duplicate address
 * detection to wait for) and a default route ::/0 through it; the kernel
 * makes no link-local address of its own there, sends no router
 * solicitation and takes no advertisement (addr_gen_mode 1, accept_ra 0).
 * The fd is non-blocking and pollable. Errors: tap_open returns NULL and
 * fills err (no /dev/net/tun, not root ...).
 */
#ifndef ROSFW_IO_TAP_H
#define ROSFW_IO_TAP_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

#define TAP_MAX_ADDRS 16
#define TAP_MAX_ADDRS6 32

struct tap {
	int fd;
	int ctl;                  /* AF_INET datagram socket for the ioctls */
	int nl;                   /* NETLINK_ROUTE socket (IPv6 addresses, route) */
	int ifindex;
	char name[IF_NAMESIZE];
	uint8_t mac[6];           /* the kernel's side */
	uint32_t mtu;             /* the TAP's MTU, as set now */
	uint32_t addrs[TAP_MAX_ADDRS]; /* host order, as set now */
	size_t naddrs;
	uint8_t addrs6[TAP_MAX_ADDRS6][16];
	size_t naddrs6;
	uint64_t rx_frames, tx_frames, tx_drops;
};

extern const uint8_t TAP_PEER_MAC[6];

struct tap *tap_open(const char *name, struct err *e);
void tap_close(struct tap *t);
/* Makes the TAP's addresses exactly addrs (host order), whatever it held
 * before (what fails is tried again on the next call); the default route
 * through the TAP is added (again) when it is missing. 0, or -errno. */
int tap_set_addrs(struct tap *t, const uint32_t *addrs, size_t n);
/* Makes the TAP's IPv6 addresses exactly addrs (n of them, /128 each); the
 * default route ::/0 through the TAP is added when missing. 0, or -errno. */
int tap_set_addrs6(struct tap *t, const uint8_t (*addrs)[16], size_t n);
/* The TAP's MTU from now on (the kernel's own packets and the MSS its TCP
 * announces): 0, or -errno. */
int tap_set_mtu(struct tap *t, uint32_t mtu);
/* One frame from the kernel into buf: its length, 0 when none, -errno. */
int tap_read(struct tap *t, uint8_t *buf, size_t cap);
/* An IPv4 or IPv6 packet (ip, len bytes; the version nibble tells) to the
 * kernel, framed for the TAP. */
int tap_write_ip(struct tap *t, const uint8_t *ip, uint32_t len);

#endif
