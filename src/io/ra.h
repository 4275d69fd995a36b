/*
 * ra: router advertisements of the live dataplane (RFC 4861 6.2), as
 * /ipv6/nd and /ipv6/nd/prefix configure them. Per advertising interface:
 * unsolicited advertisements to all-nodes at a random interval within
 * ra-interval, the first three at most 16 s apart (6.2.4), never two
 * multicast ones closer than ra-delay; a valid router solicitation (6.1.1)
 * is answered by a multicast advertisement 0 to 0.5 s later, or ra-delay
 * after the last one (6.2.6), one pending answer at a time (the others are
 * counted as rate-limited). Advertisements come from the interface's
 * link-local address and carry the source link-layer option
 * (advertise-mac-address), the MTU when set, one prefix option per
 * prefix: those of /ipv6/address with advertise=yes on a /64 and the
 * static /ipv6/nd/prefix entries, and with advertise-dns the IPv6 servers
 * of /ip dns as an RDNSS option (RFC 8106, lifetime twice the most
 * ra-interval, as 5.1 bounds it).
 * ra_build and ra_rs_check are pure (tests call them); the rest is owned by
 * the one dataplane thread. Frames passed to ops->send are the callee's to
 * copy before it returns.
 */
#ifndef ROSFW_IO_RA_H
#define ROSFW_IO_RA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RA_MAX_PREFIXES 16
#define RA_MAX_DNS 3
/* Ethernet + IPv6 + RA + link-layer and MTU options + every prefix + DNS */
#define RA_FRAME_MAX (14 + 40 + 16 + 8 + 8 + 32 * RA_MAX_PREFIXES + 8 + 16 * RA_MAX_DNS)

struct ra_prefix {
	uint8_t prefix[16];
	uint8_t len;
	bool on_link, autonomous;
	uint32_t valid_s, preferred_s; /* 0xffffffff: infinity */
};

/* What one interface advertises, and when. */
struct ra_conf {
	uint32_t min_ms, max_ms;       /* ra-interval */
	uint32_t delay_ms;             /* ra-delay */
	uint32_t lifetime_s;           /* ra-lifetime; 0: none (not a default router) */
	uint8_t hop_limit;             /* 0: unspecified */
	uint32_t mtu;                  /* 0: unspecified (no MTU option) */
	uint32_t reachable_ms, retrans_ms; /* 0: unspecified */
	bool advertise_mac, managed, other;
	size_t nprefixes;
	struct ra_prefix prefixes[RA_MAX_PREFIXES];
	size_t ndns;                   /* advertise-dns: RDNSS option (RFC 8106) */
	uint8_t dns[RA_MAX_DNS][16];
	uint32_t dns_lifetime_s;
};

/* The advertisement of c as a frame into f (RA_FRAME_MAX bytes): from mac
 * and src (a link-local address) to dst_mac and dst, checksum done. Its
 * length. */
size_t ra_build(const struct ra_conf *c, const uint8_t mac[6], const uint8_t src[16],
		const uint8_t dst_mac[6], const uint8_t dst[16], uint8_t *f);

/* Is this IPv6 packet (ip6, len bytes) a router solicitation (ICMPv6 133)? */
bool ra_is_rs(const uint8_t *ip6, uint32_t len);
/* The checks of RFC 4861 6.1.1 on a router solicitation: hop limit 255,
 * checksum, code 0, at least 8 bytes, every option of non-zero length within
 * the message, and no source link-layer option from the unspecified
 * address. true when valid; *slla is its source link-layer address or NULL. */
bool ra_rs_check(const uint8_t *ip6, uint32_t len, const uint8_t **slla);

struct ra_ops {
	void *ctx;
	/* The interface's link-local address: false when it has none. */
	bool (*src_addr)(void *ctx, uint16_t ifid, uint8_t src[16]);
	/* The interface's MAC address, NULL when it is not usable. */
	const uint8_t *(*mac)(void *ctx, uint16_t ifid);
	void (*send)(void *ctx, uint16_t ifid, const uint8_t *frame, uint32_t len);
	/* A solicitation's source is at mac (RFC 4861 6.2.6). */
	void (*learn)(void *ctx, uint16_t ifid, const uint8_t addr[16], const uint8_t mac[6]);
};

struct ra_stats {
	uint64_t rs_in;           /* valid solicitations on an advertising interface */
	uint64_t rs_bad;          /* failing 6.1.1 */
	uint64_t rs_limited;      /* an answer was already pending */
	uint64_t ra_out;          /* advertisements sent */
	uint64_t ra_solicited;    /* of which answers to solicitations */
};

struct ra;

struct ra *ra_new(const struct ra_ops *ops, uint64_t seed);
void ra_free(struct ra *r);
/* Interface ifid advertises c from now on. A new or changed configuration
 * starts the initial advertisements again. NULL: it stops, with a final
 * advertisement of router lifetime 0 (RFC 4861 6.2.5). */
void ra_set(struct ra *r, uint16_t ifid, const struct ra_conf *c, uint64_t now);
/* Interface ifid is gone: it stops without a word. */
void ra_forget(struct ra *r, uint16_t ifid);
/* A router solicitation received on ifid (ip6: the IPv6 packet). */
void ra_input(struct ra *r, uint16_t ifid, const uint8_t *ip6, uint32_t len, uint64_t now);
/* Sends what is due; call at least every 100 ms. */
void ra_tick(struct ra *r, uint64_t now);
const struct ra_stats *ra_stats(const struct ra *r);

/* /ipv6/nd, /ipv6/nd/prefix and /ipv6/address as the configuration of the
 * interface named ifname: false when it does not advertise (no entry for
 * it nor an enabled interface=all one, or its entry is disabled). */
struct store;
bool ra_conf_load(struct store *st, const char *ifname, struct ra_conf *c);
/* The dynamic entries of /ipv6/nd/prefix (RouterOS shows them with flag D):
 * one per /ipv6/address with advertise=yes on a /64, with the default
 * lifetimes, made or removed to match (one transaction of the router's own,
 * none when they match already: a store listener may call it). 0 or -1. */
struct err;
int ra_sync_prefixes(struct store *st, struct err *e);

#endif
