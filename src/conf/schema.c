/*
 * schema: the list of menus in export order and the lookups over it. The
 * tables themselves live in the menus_*.c files.
 */
#include "schema.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../util/sbuf.h"
#include "menus.h"

/*
 * Export order: what /export writes, and so what an import must create first
 * (interfaces and lists before the rules and queues that name them, queue
 * types before queues, layer7 protocols before the filter that uses them,
 * logging actions before logging rules, groups before users). Runtime views
 * come last; export skips them.
 */
const struct menu *const schema_menus[] = {
	&menu_interface_bridge,
	&menu_interface_ethernet,
	&menu_interface_vlan,
	&menu_interface_wireless,
	&menu_interface_list,
	&menu_queue_type,
	&menu_queue_simple,
	&menu_queue_tree,
	&menu_interface_bridge_port,
	&menu_interface_list_member,
	&menu_ip_address,
	&menu_ip_arp,
	&menu_ip_dns,
	&menu_ip_firewall_address_list,
	&menu_ip_firewall_connection_tracking,
	&menu_ip_firewall_layer7_protocol,
	&menu_ip_firewall_filter,
	&menu_ip_firewall_mangle,
	&menu_ip_firewall_nat,
	&menu_ip_firewall_raw,
	&menu_ip_firewall_service_port,
	&menu_ip_route,
	&menu_ip_service,
	&menu_ipv6_address,
	&menu_ipv6_firewall_address_list,
	&menu_ipv6_firewall_filter,
	&menu_ipv6_firewall_mangle,
	&menu_ipv6_firewall_raw,
	&menu_ipv6_nd,
	&menu_ipv6_nd_prefix,
	&menu_ipv6_route,
	&menu_system_clock,
	&menu_system_identity,
	&menu_system_logging_action,
	&menu_system_logging,
	&menu_system_scheduler,
	&menu_system_script,
	&menu_user_group,
	&menu_user,
	&menu_certificate,
	/* runtime views */
	&menu_interface,
	&menu_ip_firewall_connection,
	&menu_ipv6_neighbor,
	&menu_log,
	&menu_system_resource,
	&menu_system_history,
	&menu_file,
	&menu_user_active,
};

const size_t schema_nmenus = sizeof(schema_menus) / sizeof(schema_menus[0]);

/* Length of path without trailing slashes (but "/" stays "/"). */
static size_t path_len(const char *path)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	return n;
}

const struct menu *schema_find(const char *path)
{
	if (!path)
		return NULL;
	size_t n = path_len(path);
	for (size_t i = 0; i < schema_nmenus; i++) {
		const char *p = schema_menus[i]->path;
		if (strlen(p) == n && !memcmp(p, path, n))
			return schema_menus[i];
	}
	return NULL;
}

size_t schema_index(const struct menu *m)
{
	for (size_t i = 0; i < schema_nmenus; i++)
		if (schema_menus[i] == m)
			return i;
	return schema_nmenus;
}

const struct flagdef schema_flags_xid[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ 'D', "dynamic", "dynamic" },
	{ 0, NULL, NULL },
};

const char *const schema_cmd_dirs[] = { "/safe-mode", NULL };

bool schema_is_dir(const char *path)
{
	if (!path || path[0] != '/')
		return false;
	size_t n = path_len(path);
	if (n == 1)
		return true;
	for (const char *const *d = schema_cmd_dirs; *d; d++)
		if (strlen(*d) == n && !memcmp(*d, path, n))
			return true;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const char *p = schema_menus[i]->path;
		if (strlen(p) > n && !memcmp(p, path, n) && p[n] == '/')
			return true;
	}
	return false;
}

int schema_prop(const struct menu *m, const char *name, bool *aliased)
{
	if (aliased)
		*aliased = false;
	if (!m || !name)
		return -1;
	for (size_t i = 0; i < m->nprops; i++)
		if (!strcmp(m->props[i].name, name))
			return (int)i;
	for (size_t i = 0; i < m->nprops; i++) {
		if (m->props[i].alias && !strcmp(m->props[i].alias, name)) {
			if (aliased)
				*aliased = true;
			return (int)i;
		}
	}
	return -1;
}

const char *schema_state_name(const struct menu *m, const char *name)
{
	static const char *const states[] = { "dynamic", "invalid", "builtin" };
	for (size_t i = 0; i < 3; i++)
		if (!strcmp(name, states[i]))
			return states[i];
	for (const struct flagdef *f = m ? m->flagdefs : NULL; f && f->letter; f++)
		if (!strcmp(f->label, name) && schema_prop(m, name, NULL) < 0)
			for (size_t i = 0; i < 3; i++)
				if (!strcmp(f->prop, states[i]))
					return states[i];
	return NULL;
}

int schema_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t small[64];
	size_t *row = lb + 1 <= sizeof(small) / sizeof(small[0]) ?
			      small : xcalloc(lb + 1, sizeof(*row));

	/* One row of the Levenshtein matrix, updated in place. */
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	if (row != small)
		free(row);
	return d > INT_MAX ? INT_MAX : (int)d;
}

const char *schema_suggest(const struct menu *m, const char *name)
{
	if (!m || !name || !*name)
		return NULL;
	const char *best = NULL;
	int bestd = 3;
	int len = (int)strlen(name);
	for (size_t i = 0; i < m->nprops; i++) {
		const struct prop *p = &m->props[i];
		int d = schema_distance(name, p->name);
		if (d < bestd) {
			bestd = d;
			best = p->name;
		}
		if (p->alias) {
			d = schema_distance(name, p->alias);
			if (d < bestd) {
				bestd = d;
				best = p->alias;
			}
		}
	}
	/* Two edits on a two-letter word is a different word, not a typo. */
	if (best && bestd > 0 && bestd >= len)
		return NULL;
	return best;
}

int menus_check_int_or_word(const struct prop *p, const char *in, struct sbuf *out,
			    struct err *e)
{
	for (const char *const *w = p->enums; w && *w; w++) {
		if (!strcmp(*w, in)) {
			sbuf_puts(out, in);
			return 0;
		}
	}
	struct prop num = *p;
	num.type = T_INT;
	num.flags = 0;
	num.enums = NULL;
	num.check = NULL;
	if (type_parse_one(&num, in, out, NULL) == 0)
		return 0;
	struct sbuf words = SBUF_INIT;
	for (const char *const *w = p->enums; w && *w; w++)
		sbuf_printf(&words, "%s, ", *w);
	err_setp(e, p->name, "invalid value for argument %s: expected %san integer %lld..%lld",
		 p->name, sbuf_str(&words), p->min, p->max);
	sbuf_free(&words);
	return -1;
}
