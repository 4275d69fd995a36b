/*
 * cthelper: connection tracking helpers, as Linux's nf_conntrack_ftp and
 * nf_conntrack_tftp (RouterOS enables them under /ip firewall
 * service-port). A new connection to a helper's port gets the helper
 * (ct_entry.helper). The helper reads the accepted packets of its
 * connection and registers expectations: FTP for the data connection that
 * a PORT/EPRT command or a 227/229 reply announces, TFTP for the server's
 * answer from another port. A new connection matching an expectation is
 * related (its packets before a reply are CT_RELATED, as Linux's
 * IPS_EXPECTED) and carries the helper's type with CTH_EXPECTED: that is
 * what connection-type= matches (xt_helper matches the master's helper).
 * An expectation serves once, lives 5 minutes, and dies with its master;
 * each master keeps one (the newest).
 * NAT: when the master is translated, the expectation is for the address
 * the peer sees, and the expected connection takes the master's
 * translation in both directions without NAT rules (nf_nat_follow_master);
 * FTP's payload names the translated address, and the sequence numbers
 * follow the length change (cthelper.c).
 * A command or reply split over segments is read when its line ends; with
 * NAT the address part is held back until then (cthelper.c).
 * Memory: a fixed table of CTH_MAX_EXP expectations; a full table drops
 * the expectation that expires first. Unfinished FTP lines: a fixed table
 * of at most FTP_LINE_MAX bytes per connection direction. No allocation on
 * the packet path.
 * Threads: the dataplane thread that owns the connection table.
 */
#ifndef ROSFW_ENGINE_CTHELPER_H
#define ROSFW_ENGINE_CTHELPER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/store.h"
#include "ct.h"
#include "pkt.h"

/* Helper types, in the order of connection-type's values. */
enum cth_kind {
	CTH_NONE, CTH_FTP, CTH_GRE, CTH_H323, CTH_IRC, CTH_PPTP, CTH_QUAKE3, CTH_SIP, CTH_TFTP,
	CTH_KIND_MAX
};
#define CTH_KIND_MASK 0x0fu
#define CTH_SEQADJ    0x40u /* a rewritten payload moved its sequence numbers */
#define CTH_EXPECTED  0x80u /* the connection was expected by a helper of that type */

/* connection-type name <-> kind; 0 / "" when unknown. */
uint8_t cth_by_name(const char *name);
const char *cth_name(uint8_t helper);

/* The entry is a helper's control connection (FastTrack leaves it alone,
 * as Linux's flow offload does with helped connections). */
static inline bool cth_is_control(uint8_t helper)
{
	return (helper & CTH_KIND_MASK) && !(helper & CTH_EXPECTED);
}

/* connection-type=kind holds for the packet's connection. */
static inline bool cth_type_is(const struct ct_entry *e, uint8_t kind)
{
	return e && (e->helper & CTH_EXPECTED) && (e->helper & CTH_KIND_MASK) == kind;
}

struct cth_table;

struct cth_table *cth_new(void);
void cth_free(struct cth_table *h);
/* Reads /ip/firewall/service-port (ftp, tftp: enabled, ports). */
void cth_load(struct cth_table *h, struct store *st);

/* Before ct_in: a segment acknowledging a payload the helper rewrote gets
 * its acknowledgement back in the sender's numbering, which is the one
 * conntrack keeps (cheap when no connection has been rewritten). */
void cth_pre(struct cth_table *h, struct ct_table *ct, struct pkt *p);
/* After ct_in: a new connection finds its expectation (related) or its
 * helper; an expected connection's packets before a reply are related. */
void cth_in(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now);
/* An accepted packet of a helped connection (after NAT and ct_confirm):
 * the helper reads it and may register an expectation. False: the packet
 * must be dropped (its payload needed a rewrite that could not be made). */
bool cth_out(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now);

/* Expectations alive at now (tests, print). */
size_t cth_expectations(struct cth_table *h, uint64_t now);

#endif
