/*
 * engine: the RouterOS v6 packet flow (REFERENCE.md §1) over a compiled
 * configuration. Owns the connection table, the rule state (counters,
 * limits, dynamic address lists), the interfaces with their addresses, the
 * routing table and the drop counters; holds the current ruleset and swaps
 * it for a new one on engine_load (conntrack and rule state survive).
 * A packet goes: raw prerouting, conntrack, mangle prerouting, dstnat,
 * routing, then either input (mangle input, filter input) or forward (TTL,
 * mangle forward, filter forward, mangle postrouting, srcnat); router
 * packets take output instead. FastTrack connections skip the rules but
 * keep their NAT. Every call takes `now` (ns): virtual time in sim, trace
 * and tests, the monotonic clock live.
 * IPv4 fragments (and IPv6 ones) are reassembled first, before raw
 * prerouting and conntrack, as Linux does (frag.h): a fragment that does not
 * complete its datagram is EV_HELD; the one that does carries the verdict of
 * the whole datagram, which is then in a buffer of the engine (p->data
 * points there until the next call).
 * IPv6 takes the same stages with the /ipv6 firewall tables and no NAT
 * (RouterOS v6 has no IPv6 NAT): addresses from /ipv6/address plus a
 * link-local address per interface, routes from /ipv6/route, hop limit,
 * ICMPv6 errors for reject, unreachable routes and hop limit exceeded;
 * neighbour discovery goes to input untracked.
 * Threads: engine_load on the control plane thread while the dataplane is
 * quiescent (the daemon issue adds the RCU-style publish); everything else
 * on the one dataplane thread.
 */
#ifndef ROSFW_ENGINE_ENGINE_H
#define ROSFW_ENGINE_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/store.h"
#include "ct.h"
#include "pkt.h"
#include "rules.h"

enum ev_verdict {
	EV_FORWARD, /* leaves through out_if */
	EV_LOCAL,   /* for the router itself (accepted by input) */
	EV_DROP,
	EV_REJECT,  /* dropped, and out->reply holds the ICMP error or TCP reset */
	EV_L2,      /* not IP (ARP ...): handed to layer 2 */
	EV_HELD,    /* a fragment kept for reassembly: nothing leaves yet */
};
const char *ev_name(enum ev_verdict v);

#define ENGINE_MAX_REPLY 1600

struct engine_out {
	enum ev_verdict verdict;
	enum drop_reason reason;
	uint16_t out_if;           /* name_of(NS_IFACE, out_if) */
	uint32_t nexthop;          /* IPv4 next hop (the destination itself when connected) */
	uint8_t nexthop6[16];      /* the same for IPv6 */
	enum rs_table table;       /* which table decided (drop/reject/accept) */
	uint32_t rule_id;          /* store id of the deciding rule, 0 = none/implicit */
	bool fasttrack;            /* went through the FastTrack path */
	/* the reply for EV_REJECT (and ICMP time-exceeded), a full frame */
	uint8_t reply[ENGINE_MAX_REPLY];
	uint32_t reply_len;
	uint16_t reply_if;
};

/* Trace of one packet: one call per step, text already formatted. */
typedef void (*engine_trace_fn)(void *ctx, const char *stage, const char *text);

struct engine;

struct engine *engine_new(void);
void engine_free(struct engine *en);

/* Compiles the store (firewall, address lists, interfaces, addresses,
 * routes, connection tracking settings) and makes it current. On error
 * the previous configuration stays in force. */
int engine_load(struct engine *en, struct store *st, struct err *e);

/* Runs one received frame (p->data/len set, p->ts = now) in through
 * interface in_if (name_intern(NS_IFACE, name)). The frame is rewritten in
 * place (NAT, TTL). When it was the fragment that completed a datagram,
 * p->data/len/cap are the whole datagram in the engine's buffer instead
 * (valid until the next call): what leaves is always p->data, p->len. */
void engine_input(struct engine *en, struct pkt *p, uint16_t in_if, uint64_t now,
		  struct engine_out *out);
/* A packet the router itself sends (output chain). */
void engine_output(struct engine *en, struct pkt *p, uint64_t now, struct engine_out *out);
/* The same, where an IPv6 destination of link scope (fe80::/10, ff01::/16,
 * ff02::/16) leaves by interface zone (engine_output drops it: no route). */
void engine_output_on(struct engine *en, struct pkt *p, uint16_t zone, uint64_t now,
		      struct engine_out *out);
/* An ICMPv6 packet too big (RFC 4443 3.2) for p, a forwarded packet too
 * long for an out link of mtu bytes, into out->reply (a full frame: to p's
 * sender, from the router's address on p's in-interface, quoting as much of
 * p as fits in 1280 bytes, hop limit as it arrived). false when RFC 4443
 * 2.4 (e) forbids an answer. */
bool engine_icmp6_too_big(struct engine *en, const struct pkt *p, uint32_t mtu,
			  struct engine_out *out);
/* An ICMP host unreachable (ICMPv6 address unreachable, 1/3) for p, a
 * forwarded packet given up because its next hop never answered ARP or
 * ND: into out->reply, to p's sender, from the router's address on
 * p->in_if, quoting p as it was to leave (NAT done, TTL taken: as Linux's
 * neighbour layer quotes it; engine_output translates a translated one
 * back to its sender). false when no error may answer p (RFC 1812
 * 4.3.2.7, RFC 4443 2.4 (e)). */
bool engine_icmp_host_unreach(struct engine *en, const struct pkt *p, struct engine_out *out);
/* Many frames at once (at most ENGINE_BURST), stage by stage, each with the
 * effect engine_input would have. Returns how many were run: fewer than n
 * right after a fragment that completed a datagram (engine_input's note: it
 * must be sent before the engine runs another packet); the caller passes
 * the rest again. A packet's p->ct is the connection as it stood when that
 * packet ran: a later packet of the burst may end it or reuse its slot, so
 * a caller that reads connections (QoS classifiers) reads them before the
 * next burst and accepts that. */
#define ENGINE_BURST 256
size_t engine_input_burst(struct engine *en, struct pkt **v, const uint16_t *in_if, size_t n,
			  uint64_t now, struct engine_out *out);

void engine_set_trace(struct engine *en, engine_trace_fn fn, void *ctx);
/* Local time for the time= matcher: seconds east of UTC. */
void engine_set_utc_offset(struct engine *en, int32_t seconds);

/* Housekeeping: expire connections and dynamic entries. */
void engine_tick(struct engine *en, uint64_t now);

struct ct_table *engine_ct(struct engine *en);
struct rs_state *engine_rule_state(struct engine *en);
uint64_t engine_drops(const struct engine *en, enum drop_reason r);
/* Packets forwarded by FastTrack's flow cache (a subset of the FastTrack
 * dummy rule's count, which also has the fasttracked packets that took the
 * full path: SYN/FIN/RST, a new cache slot ...). */
uint64_t engine_fast_hits(const struct engine *en);
/* The loaded firewall has a rule that sizes or counts packets one by one
 * (ruleset_per_packet): the live dataplane then merges no TCP segments. */
bool engine_per_packet_rules(const struct engine *en);
/* The router's own IPv4 address on an interface (first one), 0 if none. */
uint32_t engine_if_addr(const struct engine *en, uint16_t ifid);
bool engine_is_local(const struct engine *en, uint32_t addr);
/* The interface the main table routes dst out of by a unicast route (what
 * proxy ARP asks); 0 when there is none, or dst is the network or broadcast
 * address of a connected network. */
uint16_t engine_route_if(const struct engine *en, uint32_t dst);
/* One of the router's IPv6 addresses, link-local ones included. */
bool engine_is_local6(const struct engine *en, const uint8_t addr[16]);
/* Is addr one of the router's IPv6 addresses on interface ifid? */
bool engine_is_local6_on(const struct engine *en, uint16_t ifid, const uint8_t addr[16]);
/* The link-local address the router has on an interface (false if none). */
bool engine_link_local(const struct engine *en, uint16_t ifid, uint8_t addr[16]);
/* The router's IPv6 addresses (link-local ones included), max at most. */
struct engine_addr6 {
	uint8_t addr[16];
	uint8_t len;
	bool link_local;
	uint16_t ifid;
};
size_t engine_addrs6(const struct engine *en, struct engine_addr6 *out, size_t max);

/* Copies the counters of the engine into the store's items (print stats)
 * and registers the /ip/firewall/connection provider. */
void engine_export_counters(struct engine *en, struct store *st);

#endif
