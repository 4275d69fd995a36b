/*
 * neigh_conf: the live neighbour tables as the configuration sees them.
 * Builds /ip/arp's dynamic items (the static ones are the store's) and
 * /ipv6/neighbor's items from arp.h and nd.h's tables, for the dataplane's
 * providers; and gives arp.h the configuration's static entries (/ip/arp,
 * enabled ones) and the interfaces' arp= modes. Items are the caller's to
 * free (item_free each, free the array). Called on the dataplane's thread,
 * which owns the tables.
 */
#ifndef ROSFW_IO_NEIGH_CONF_H
#define ROSFW_IO_NEIGH_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "io/arp.h"
#include "io/nd.h"

struct menu;
struct item;
struct store;
struct err;

/* Dynamic items get ids from here on: above any the store hands out. */
#define NEIGH_CONF_DYN_ID 0xf0000000u

/* /ip/arp's dynamic entries (D, C once the neighbour answered). */
void neigh_conf_arp_items(const struct arp *a, const struct menu *m, struct item ***items,
			  size_t *n);
/* /ip arp remove of dynamic item id (an id neigh_conf_arp_items gave): the
 * learnt entry is forgotten (it may be learnt again). 0, or -1 with e when
 * there is no such dynamic entry. */
int neigh_conf_arp_remove(struct arp *a, uint32_t id, struct err *e);
/* /ipv6/neighbor: every entry of the neighbour discovery table. */
void neigh_conf_nd_items(const struct nd *d, const struct menu *m, struct item ***items,
			 size_t *n);
/* /ipv6 neighbor remove of item id (an id neigh_conf_nd_items gave): as
 * neigh_conf_arp_remove. */
int neigh_conf_nd_remove(struct nd *d, uint32_t id, struct err *e);
/* The configuration's static entries into a (those of interfaces the router
 * has none of are still set: harmless until the interface comes), and the
 * arp= mode of each of the n interfaces named names[i] (ifids[i]). */
void neigh_conf_load(struct arp *a, const struct store *st, const char *const *names,
		     const uint16_t *ifids, size_t n);

#endif
