/*
 * dataplane: the live router on real Linux interfaces. Maps RouterOS
 * interface names to Linux interfaces ("ether1-gateway=veth-wan0"), owns
 * their io handles (af_packet), the ARP table and a fixed pool of frame
 * buffers, and hangs their file descriptors and two timers on the
 * daemon's loop. Per received burst: layer 2 (ARP to arp.c; unicast frames
 * for another MAC are not ours), engine_input, then
 *   EV_FORWARD  a pool buffer, qos_enqueue, and whatever the queues
 *               release goes out of its interface with its Ethernet header
 *               rewritten (source: the interface's MAC; destination: ARP of
 *               the next hop), paced by qos_next_event on a timerfd; the
 *               buffer borrows the frame in the receive ring, and what the
 *               queues release in the same burst leaves from there (one
 *               copy: the backend's send); what they hold is copied into
 *               the buffer before the ring gets its frames back;
 *   EV_REJECT   the engine's reply frame out of reply_if;
 *   EV_LOCAL    ICMP and ICMPv6 echo requests to the router's addresses
 *               are answered here, through engine_output (the output chain
 *               applies; a reply to a link-local address leaves by the
 *               interface the request came in by); as Linux's defaults, so
 *               are ICMPv6 ones to a link-scope group the router is in on
 *               the interface (all-nodes, all-routers, solicited-node: from
 *               its address there of the sender's scope), and IPv4 ones to
 *               a broadcast address are not (dp.echo-ignored); neighbour discovery goes
 *               to nd.h, router solicitations to ra.h; other local traffic
 *               goes to the kernel's stack through a TAP (rosfw0, tap.h)
 *               that carries the router's addresses (IPv4: /32, one per
 *               interface; IPv6: /128, every address of a mapped interface,
 *               link-local ones included; kept in step with the
 *               configuration every 200 ms), so any socket in the namespace (the daemon's
 *               API and REST, sshd ...) receives what the input chain
 *               accepted. What the kernel writes to the TAP (replies, the
 *               router's own connections: its default route points into the
 *               TAP) is read on the loop, run through engine_output (output
 *               chain, conntrack, NAT) and routed out like a forwarded
 *               packet (queues, ARP, the out interface). The TAP is NOARP:
 *               the kernel never resolves a next hop; rosfw routes by the IP
 *               header (an IPv6 packet to a link-local address leaves by the
 *               interface whose link-local address is its source; the
 *               kernel's own multicast on the TAP, MLD, goes nowhere).
 *               The TAP's MTU is the smallest of the interfaces' (1280
 *               at least), so the kernel's packets fit whichever leads out.
 *               Without a TAP (no /dev/net/tun) local traffic is
 *               counted as local-no-tap and dropped, with a warning.
 *               The kernel sees the mapped interfaces' frames too, and now
 *               holds the router's addresses: strict rp_filter and
 *               arp_ignore=8 on them keep it silent there (a loose
 *               conf.all.rp_filter=2 would defeat that: warned about).
 *               A reject in the output chain answers the kernel through
 *               the TAP (its TCP reset or ICMP error).
 * GRO: within a receive burst, back-to-back TCP segments of one connection
 * are merged (gro.h, Linux's rules) into one packet of up to 64 KiB in a
 * buffer of a small pool of its own; the engine sees it once, as Linux's
 * netfilter sees a GRO'd skb (a rule's and a connection's
 * packet counters count it as one packet, as on a Linux router; the
 * interfaces count the segments), and it leaves as one GSO packet that
 * the kernel cuts (a veth hands it on whole). It is cut back into its
 * segments before queues that would shape it (CAKE's split-gso: shaping
 * and priorities see the wire's packets), on its way to the TAP, and when
 * the out interface's MTU is smaller than its segments (then as Linux's
 * ip_forward: each segment fragmented, or with DF one ICMP and a drop).
 * No segment is merged while the firewall has a rule that may match TCP
 * and sizes or counts packets one by one (packet-size, limit, dst-limit,
 * nth, random, psd: engine_per_packet_rules), which would see the
 * difference.
 * ROSFW_GRO=0 in the environment turns it off; gro.* in dataplane_report.
 * Router advertisements (ra.h) go out of every interface /ipv6/nd names,
 * from its link-local address, through the output chain.
 * An IPv4 packet longer than the out interface's MTU (the Linux MTU) is cut into
 * fragments when DF is clear (datagrams the engine reassembled included);
 * with DF it is dropped (counted as frag-needed) and its sender gets an
 * ICMP fragmentation-needed with the MTU, quoting the packet as it was sent
 * (before NAT), through the output chain. An IPv6 one is never cut (RFC
 * 8200 5): it is dropped (frag-needed) and its sender gets an ICMPv6 packet
 * too big with the MTU (engine_icmp6_too_big), through the output chain.
 * The interfaces are rosfw's: the kernel's IPv6 is turned off on them, and
 * an IPv4 address the kernel still holds there is warned about.
 * Interface counters (rx/tx bytes, packets, drops, errors), the Linux MAC,
 * MTU and link state show in /interface print [stats] (a runtime provider
 * registered by dataplane_new). A link that goes down is noticed (POLLERR,
 * ENETDOWN/ENXIO on send, a check every 200 ms) and recovers when it comes back;
 * an interface that disappears is reopened when it reappears.
 * Borrows the loop, the engine and the queues; dataplane_set_qos must be
 * called before the daemon frees the queues it gave (what they hold is
 * dropped: frames are copies in the dataplane's own pool). One thread: the
 * loop's. Errors: dataplane_new returns NULL and fills err.
 */
#ifndef ROSFW_IO_DATAPLANE_H
#define ROSFW_IO_DATAPLANE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/runtime.h"
#include "daemon/loop.h"
#include "engine/engine.h"
#include "qos/qos.h"
#include "util/err.h"
#include "util/sbuf.h"

struct dataplane;

/* Counters of one interface, as /interface print stats shows them. */
/* Why the dataplane itself (not the firewall) dropped a packet. */
enum dataplane_drop {
	DPD_NOT_FOR_US,  /* unicast frame for another MAC (promiscuous port) */
	DPD_OVERSIZE,    /* larger than a pool buffer, or cut short by the ring */
	DPD_VLAN,        /* tagged with a VLAN id no vlan interface has there */
	DPD_MULTICAST,   /* IPv4 multicast: not routed (no PIM); IPv6 multicast to the
			  * router that is not neighbour discovery nor an echo it
			  * answers; a subnet broadcast to it that is not an echo */
	DPD_POOL,        /* no free frame buffer */
	DPD_NO_PORT,     /* routed to an interface with no Linux interface mapped */
	DPD_LINK_DOWN,   /* routed to an interface whose link is down */
	DPD_QUEUE,       /* refused or pushed out by a queue (QoS) */
	DPD_ARP_QUEUE,   /* pushed out of a full ARP wait queue */
	DPD_ARP_FAILED,  /* the next hop never answered ARP */
	DPD_TX_ERROR,    /* the kernel did not take the frame (device full, link gone) */
	DPD_LOCAL,       /* accepted by input, no TAP to the kernel's stack */
	DPD_FRAG_NEEDED, /* longer than the out MTU: IPv4 with DF, IPv6 (answered by ICMP) */
	DPD_MAX
};
const char *dataplane_drop_name(enum dataplane_drop d);

/*
 * maps: n strings "ros-name=linux-name". Opens every Linux interface
 * (af_packet), watches the fds on loop l, and registers the /interface
 * provider. The clock is CLOCK_MONOTONIC in ns until dataplane_set_clock.
 */
struct dataplane *dataplane_new(struct loop *l, struct engine *en, const char *const *maps,
				size_t n, struct err *e);
void dataplane_free(struct dataplane *dp);

/* The vlans of the configuration (/interface vlan, enabled, on a mapped
 * interface or on such a vlan, two tags deep at most) from now on: call
 * after each engine_load. A vlan that goes away drops what waits for it. */
struct store;
void dataplane_load(struct dataplane *dp, struct store *st);
/* The queues to use from now on (NULL: send in arrival order); what the
 * previous queues held is dropped. */
void dataplane_set_qos(struct dataplane *dp, struct qos *q);
/* The engine's time base (ns): the clock engine_tick and qos_build see. */
void dataplane_set_clock(struct dataplane *dp, uint64_t (*now)(void *ctx), void *ctx);

/* Counters of the interface named ros (RouterOS name); -1 if not mapped. */
int dataplane_if_stats(const struct dataplane *dp, const char *ros,
		       struct conf_if_stats *out);
uint64_t dataplane_drops(const struct dataplane *dp, enum dataplane_drop d);
/* Every counter as "key value" lines: if.NAME.rx-byte, dp.DROP, arp.*, local.*
 * (to-kernel, from-kernel, output-drops, output-rejects, tap-write-errors),
 * dp.pool-free and dp.pool-size (equal when nothing is queued or in flight),
 * dp.tx-from-ring (forwarded frames sent straight from the receive ring,
 * without a pool copy), dp.ring-copied (frames the queues or ARP held past
 * their receive burst, copied into the pool then),
 * dp.echo-ignored (IPv4 echo requests to a broadcast address),
 * gro.enabled, gro.packets (merged packets made), gro.segments (segments
 * in them), gro.no-buffer (merges given up: the GRO pool was empty),
 * gro.gso-sent, gro.cut (merged packets cut in rosfw), gro.free, gro.size,
 * dp.echo6-replies, dp.too-big-sent, dp.too-big-limited (RFC 4443 2.4 (f):
 * 1000 a second, bursts of 50), nd.* (ra-in: neighbours' router
 * advertisements), ra.* (solicits-in, solicits-bad,
 * solicits-limited, adverts-out, adverts-solicited, output-drops). */
void dataplane_report(const struct dataplane *dp, struct sbuf *out);

#endif
