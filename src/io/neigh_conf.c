/*
 * The neighbour tables through the configuration's eyes. RouterOS shows a
 * dynamic ARP entry with D, and C once complete (the neighbour answered);
 * an entry still being asked for has no MAC yet. /ipv6/neighbor's status
 * is the table's state name, which is RouterOS's word for each of them; R
 * marks a router.
 */
#include "neigh_conf.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "conf/store.h"
#include "engine/names.h"
#include "util/sbuf.h"

static void put(const struct menu *m, struct item *it, const char *name, const char *v)
{
	int pi = schema_prop(m, name, NULL);
	if (pi >= 0)
		item_set(m, it, pi, v);
}

static void put_mac(const struct menu *m, struct item *it, const uint8_t mac[6])
{
	char s[18];
	snprintf(s, sizeof(s), "%02X:%02X:%02X:%02X:%02X:%02X", mac[0], mac[1], mac[2], mac[3],
		 mac[4], mac[5]);
	put(m, it, "mac-address", s);
}

/* An entry's id follows it for as long as it lives (its serial), so that
 * what print numbered or find returned is still the entry remove reaches. */
static uint32_t dyn_id(uint32_t serial)
{
	return NEIGH_CONF_DYN_ID + (serial & ~NEIGH_CONF_DYN_ID);
}

static struct item *dyn_item(const struct menu *m, uint32_t serial)
{
	struct item *it = item_new(m);
	it->id = dyn_id(serial);
	it->flags = IF_DYNAMIC;
	return it;
}

void neigh_conf_arp_items(const struct arp *a, const struct menu *m, struct item ***items,
			  size_t *n)
{
	struct arp_info *ai = xcalloc(ARP_MAX_ENTRIES, sizeof(*ai));
	size_t na = arp_list(a, ai, ARP_MAX_ENTRIES), k = 0;
	*items = xmalloc((na ? na : 1) * sizeof(struct item *));
	for (size_t i = 0; i < na; i++) {
		if (ai[i].state == ARP_STATIC)
			continue; /* the store's item shows it */
		struct item *it = dyn_item(m, ai[i].serial);
		char ip[INET_ADDRSTRLEN];
		uint32_t be = htonl(ai[i].ip);
		inet_ntop(AF_INET, &be, ip, sizeof(ip));
		put(m, it, "address", ip);
		if (ai[i].state != ARP_INCOMPLETE) {
			put_mac(m, it, ai[i].mac);
			put(m, it, "complete", "yes");
		}
		put(m, it, "interface", name_of(NS_IFACE, ai[i].ifid));
		put(m, it, "status", arp_state_name(ai[i].state));
		(*items)[k++] = it;
	}
	*n = k;
	free(ai);
}

void neigh_conf_nd_items(const struct nd *d, const struct menu *m, struct item ***items,
			 size_t *n)
{
	struct neigh_info *ni = xcalloc(NEIGH_MAX_ENTRIES, sizeof(*ni));
	size_t nn = nd_list(d, ni, NEIGH_MAX_ENTRIES);
	*items = xmalloc((nn ? nn : 1) * sizeof(struct item *));
	for (size_t i = 0; i < nn; i++) {
		struct item *it = dyn_item(m, ni[i].serial);
		char ip[INET6_ADDRSTRLEN];
		inet_ntop(AF_INET6, ni[i].addr, ip, sizeof(ip));
		put(m, it, "address", ip);
		put(m, it, "interface", name_of(NS_IFACE, ni[i].ifid));
		if (ni[i].state != NEIGH_INCOMPLETE)
			put_mac(m, it, ni[i].mac);
		put(m, it, "status", neigh_state_name(ni[i].state));
		if (ni[i].router)
			put(m, it, "router", "yes");
		(*items)[i] = it;
	}
	*n = nn;
	free(ni);
}

int neigh_conf_arp_remove(struct arp *a, uint32_t id, struct err *e)
{
	struct arp_info *ai = xcalloc(ARP_MAX_ENTRIES, sizeof(*ai));
	size_t na = arp_list(a, ai, ARP_MAX_ENTRIES);
	bool gone = false;
	for (size_t i = 0; i < na && !gone; i++)
		if (ai[i].state != ARP_STATIC && dyn_id(ai[i].serial) == id)
			gone = arp_forget(a, ai[i].ifid, ai[i].ip);
	free(ai);
	return gone ? 0 : err_set(e, "no such item *%X in /ip/arp (the entry is gone)", id);
}

int neigh_conf_nd_remove(struct nd *d, uint32_t id, struct err *e)
{
	struct neigh_info *ni = xcalloc(NEIGH_MAX_ENTRIES, sizeof(*ni));
	size_t nn = nd_list(d, ni, NEIGH_MAX_ENTRIES);
	bool gone = false;
	for (size_t i = 0; i < nn && !gone; i++)
		if (dyn_id(ni[i].serial) == id)
			gone = nd_forget(d, ni[i].ifid, ni[i].addr);
	free(ni);
	return gone ? 0
		    : err_set(e, "no such item *%X in /ipv6/neighbor (the entry is gone)", id);
}

static bool yes(const char *v)
{
	return v && !strcmp(v, "yes");
}

/* An interface's arp= as the store has it, under any interface kind. */
static enum arp_mode if_mode(const struct store *st, const char *name)
{
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (strncmp(m->path, "/interface/", 11) || !m->key || strcmp(m->key, "name") ||
		    schema_prop(m, "arp", NULL) < 0)
			continue;
		const struct item *it = store_by_key(st, m, name);
		if (!it)
			continue;
		static const struct {
			const char *name;
			enum arp_mode mode;
		} modes[] = {
			{ "proxy-arp", ARP_MODE_PROXY },
			{ "local-proxy-arp", ARP_MODE_LOCAL_PROXY },
			{ "reply-only", ARP_MODE_REPLY_ONLY },
			{ "disabled", ARP_MODE_DISABLED },
		};
		const char *v = item_get(m, it, "arp");
		for (size_t k = 0; v && k < sizeof(modes) / sizeof(modes[0]); k++)
			if (!strcmp(v, modes[k].name))
				return modes[k].mode;
		return ARP_MODE_ENABLED;
	}
	return ARP_MODE_ENABLED;
}

void neigh_conf_load(struct arp *a, const struct store *st, const char *const *names,
		     const uint16_t *ifids, size_t n)
{
	const struct menu *m = schema_find("/ip/arp");
	size_t cnt = m ? store_count(st, m) : 0, k = 0;
	struct arp_static *s = xcalloc(cnt ? cnt : 1, sizeof(*s));
	for (size_t i = 0; i < cnt; i++) {
		const struct item *it = store_at(st, m, i);
		const char *addr = item_get(m, it, "address"), *mac = item_get(m, it, "mac-address");
		const char *ifn = item_get(m, it, "interface");
		struct in_addr ia;
		unsigned b[6];
		if (yes(item_get(m, it, "disabled")) || !addr || !mac || !ifn ||
		    inet_pton(AF_INET, addr, &ia) != 1 ||
		    sscanf(mac, "%2x:%2x:%2x:%2x:%2x:%2x", &b[0], &b[1], &b[2], &b[3], &b[4],
			   &b[5]) != 6)
			continue;
		s[k].ifid = (uint16_t)name_intern(NS_IFACE, ifn);
		s[k].ip = ntohl(ia.s_addr);
		for (int j = 0; j < 6; j++)
			s[k].mac[j] = (uint8_t)b[j];
		s[k].published = yes(item_get(m, it, "published"));
		k++;
	}
	size_t set = arp_load_static(a, s, k);
	if (set < k)
		conf_log("system,warning", "ARP table full: %zu of %zu static entries in use",
			 set, k);
	free(s);
	for (size_t i = 0; i < n; i++)
		arp_set_mode(a, ifids[i], if_mode(st, names[i]));
}
