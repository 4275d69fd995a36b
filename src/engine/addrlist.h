/*
 * addrlist: the static part of an address list as the packet path reads
 * it — every enabled entry of one list and one family (addresses, prefixes,
 * ranges) merged into sorted disjoint ranges and looked up by binary
 * search, so a list of 100,000 entries costs 17 comparisons. Also the one
 * parser of firewall address text (IP, IP/len, IP-IP; IPv6 IP or IP/len)
 * into a range, which the rule compiler and the reference evaluator share.
 * A set is built on the control plane (add, add, ..., finish) and read-only
 * afterwards; its owner frees it. The dynamic entries (add-src-to-address-
 * list, timeouts) live in struct rs_state, not here.
 */
#ifndef ROSFW_ENGINE_ADDRLIST_H
#define ROSFW_ENGINE_ADDRLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pkt.h"

struct al_set;

struct al_set *al_set_new(uint8_t family);
void al_set_free(struct al_set *s);
/* Adds the range lo..hi (inclusive; IPv4 host order, IPv6 network order). */
void al_set_add(struct al_set *s, const union ipaddr *lo, const union ipaddr *hi);
/* Sorts and merges; call once before lookups. */
void al_set_finish(struct al_set *s);
/* Disjoint ranges after finish. */
size_t al_set_ranges(const struct al_set *s);
bool al_set_has(const struct al_set *s, const union ipaddr *a);

/*
 * Parses a firewall address of family (4 or 6): "1.2.3.4", "10.0.0.0/8"
 * (host bits ignored), "1.2.3.4-1.2.3.9", "2001:db8::/32". Returns 0, or -1
 * for anything else (a DNS name of an address-list entry is -1 too).
 */
int al_parse_range(const char *s, uint8_t family, union ipaddr *lo, union ipaddr *hi);

/* lo <= a <= hi for family. */
bool al_in_range(uint8_t family, const union ipaddr *a, const union ipaddr *lo,
		 const union ipaddr *hi);

#endif
