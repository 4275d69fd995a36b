/*
 * The schema tables are data: these tests check every table for internal
 * consistency (names, defaults, enums, built-in items, flags, columns) and
 * the lookups and cross-property validators over them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/menus.h"
#include "conf/schema.h"
#include "conf/store.h"
#include "conf/types.h"

/* ---- helpers ---- */

static const struct menu *menu(const char *path)
{
	const struct menu *m = schema_find(path);
	if (!m)
		fail_msg("no menu %s", path);
	return m;
}

static const struct prop *prop(const struct menu *m, const char *name)
{
	int i = schema_prop(m, name, NULL);
	if (i < 0)
		fail_msg("%s: no property %s", m->path, name);
	return &m->props[i];
}

/* Parses v as property name of path; returns the canonical text (static) or
 * NULL when it is refused. */
static const char *parse(const char *path, const char *name, const char *v)
{
	static char buf[512];
	struct sbuf out = SBUF_INIT;
	struct err e;
	err_clear(&e);
	int rc = type_parse(prop(menu(path), name), v, &out, &e);
	snprintf(buf, sizeof(buf), "%s", sbuf_str(&out));
	sbuf_free(&out);
	return rc == 0 ? buf : NULL;
}

/* Splits a built-in line `a=b c="d e"` into name/value pairs. Returns the
 * count, or -1 on a malformed line. */
struct pair {
	char name[64];
	char value[512];
};

static int split_line(const char *line, struct pair *pairs, int max)
{
	int n = 0;
	const char *s = line;
	for (;;) {
		while (*s == ' ')
			s++;
		if (!*s)
			return n;
		if (n == max)
			return -1;
		const char *eq = strchr(s, '=');
		if (!eq || eq == s || (size_t)(eq - s) >= sizeof(pairs[n].name))
			return -1;
		memcpy(pairs[n].name, s, (size_t)(eq - s));
		pairs[n].name[eq - s] = 0;
		if (strchr(pairs[n].name, ' '))
			return -1;
		s = eq + 1;
		size_t k = 0;
		if (*s == '"') {
			s++;
			while (*s && *s != '"') {
				if (*s == '\\' && s[1])
					s++;
				if (k + 1 >= sizeof(pairs[n].value))
					return -1;
				pairs[n].value[k++] = *s++;
			}
			if (*s != '"')
				return -1;
			s++;
		} else {
			while (*s && *s != ' ') {
				if (k + 1 >= sizeof(pairs[n].value))
					return -1;
				pairs[n].value[k++] = *s++;
			}
		}
		pairs[n].value[k] = 0;
		n++;
	}
}

static bool in_strv(const char *const *v, const char *s)
{
	for (; v && *v; v++)
		if (!strcmp(*v, s))
			return true;
	return false;
}

/* ---- the list of menus ---- */

static void test_menu_list(void **state)
{
	(void)state;
	assert_true(schema_nmenus >= 38);
	bool runtime_seen = false;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		assert_non_null(m->path);
		assert_true(m->path[0] == '/');
		assert_true(m->path[strlen(m->path) - 1] != '/');
		assert_ptr_equal(schema_find(m->path), m);
		assert_int_equal(schema_index(m), i);
		assert_non_null(m->help);
		assert_true(m->nprops > 0);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(schema_menus[j]->path, m->path);
		/* Runtime views come after everything export writes. */
		if (m->flags & MF_RUNTIME) {
			runtime_seen = true;
			assert_true(m->flags & MF_NOEXPORT);
		} else {
			assert_false(runtime_seen);
		}
	}
	static const char *const runtime[] = { "/interface", "/ip/firewall/connection", "/log",
					       "/system/resource", "/file", NULL };
	for (const char *const *r = runtime; *r; r++)
		assert_true(menu(*r)->flags & MF_RUNTIME);
}

/* What an import needs first comes first. */
static void test_export_order(void **state)
{
	(void)state;
	static const char *const before[][2] = {
		{ "/interface/bridge", "/interface/bridge/port" },
		{ "/interface/ethernet", "/interface/vlan" },
		{ "/interface/list", "/interface/list/member" },
		{ "/interface/list", "/ip/firewall/filter" },
		{ "/queue/type", "/queue/tree" },
		{ "/queue/type", "/queue/simple" },
		{ "/ip/firewall/layer7-protocol", "/ip/firewall/filter" },
		{ "/ip/firewall/layer7-protocol", "/ip/firewall/mangle" },
		{ "/system/logging/action", "/system/logging" },
		{ "/user/group", "/user" },
	};
	for (size_t i = 0; i < sizeof(before) / sizeof(before[0]); i++)
		assert_true(schema_index(menu(before[i][0])) < schema_index(menu(before[i][1])));
}

/* ---- every table ---- */

static void test_props(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		for (size_t j = 0; j < m->nprops; j++) {
			const struct prop *p = &m->props[j];
			assert_non_null(p->name);
			assert_non_null(p->help);
			assert_true(p->help[0] != 0);
			for (size_t k = 0; k < j; k++) {
				if (!strcmp(m->props[k].name, p->name))
					fail_msg("%s: %s twice", m->path, p->name);
				if (p->alias && !strcmp(m->props[k].name, p->alias))
					fail_msg("%s: alias %s is a name", m->path, p->alias);
				if (m->props[k].alias && !strcmp(m->props[k].alias, p->name))
					fail_msg("%s: %s is an alias", m->path, p->name);
			}
			/* Item state is not a property. */
			assert_string_not_equal(p->name, "dynamic");
			assert_string_not_equal(p->name, "invalid");
			assert_string_not_equal(p->name, "builtin");
			if (p->flags & PF_STAT)
				assert_true(p->flags & PF_RO);
			if (p->flags & PF_REQ)
				assert_null(p->def);
			if (m->flags & MF_RUNTIME && strcmp(m->path, "/interface"))
				assert_true(p->flags & PF_RO);
			switch (p->type) {
			case T_ENUM:
				if (!p->enums || !p->enums[0])
					fail_msg("%s: enum %s has no values", m->path, p->name);
				break;
			case T_CUSTOM:
				if (!p->check)
					fail_msg("%s: %s has no check", m->path, p->name);
				break;
			case T_REF:
				if (!p->ref)
					fail_msg("%s: %s has no ref", m->path, p->name);
				if (strcmp(p->ref, "interface") && strcmp(p->ref, "queue-parent") &&
				    !schema_find(p->ref))
					fail_msg("%s: %s refers to %s", m->path, p->name, p->ref);
				break;
			default:
				break;
			}
		}
		if (m->key) {
			const struct prop *k = prop(m, m->key);
			if (!(k->flags & PF_UNIQUE))
				fail_msg("%s: key %s is not unique", m->path, m->key);
		}
	}
}

static void test_defaults_canonical(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		for (size_t j = 0; j < m->nprops; j++) {
			const struct prop *p = &m->props[j];
			if (!p->def)
				continue;
			struct sbuf out = SBUF_INIT;
			struct err e;
			err_clear(&e);
			if (type_parse(p, p->def, &out, &e) < 0)
				fail_msg("%s: default %s=%s refused: %s", m->path, p->name, p->def,
					 e.msg);
			if (strcmp(sbuf_str(&out), p->def))
				fail_msg("%s: default %s=%s is not canonical (%s)", m->path, p->name,
					 p->def, sbuf_str(&out));
			sbuf_free(&out);
		}
	}
}

static void test_builtin(void **state)
{
	(void)state;
	struct pair pairs[16];
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (m->flags & MF_SINGLETON && !(m->flags & MF_RUNTIME)) {
			assert_non_null(m->builtin);
			assert_string_equal(m->builtin[0], "");
			assert_null(m->builtin[1]);
		}
		if (m->flags & MF_FIXED && !(m->flags & MF_RUNTIME))
			assert_non_null(m->builtin);
		for (const char *const *l = m->builtin; l && *l; l++) {
			int n = split_line(*l, pairs, 16);
			if (n < 0)
				fail_msg("%s: bad built-in line %s", m->path, *l);
			if (m->key && (n == 0 || strcmp(pairs[0].name, m->key)))
				fail_msg("%s: built-in line %s does not start with %s", m->path, *l,
					 m->key);
			for (int k = 0; k < n; k++) {
				bool aliased;
				int pi = schema_prop(m, pairs[k].name, &aliased);
				if (pi < 0 || aliased)
					fail_msg("%s: built-in %s: no property %s", m->path, *l,
						 pairs[k].name);
				struct sbuf out = SBUF_INIT;
				struct err e;
				err_clear(&e);
				if (type_parse(&m->props[pi], pairs[k].value, &out, &e) < 0)
					fail_msg("%s: built-in %s: %s", m->path, *l, e.msg);
				if (strcmp(sbuf_str(&out), pairs[k].value))
					fail_msg("%s: built-in %s: %s is not canonical (%s)", m->path, *l,
						 pairs[k].name, sbuf_str(&out));
				sbuf_free(&out);
			}
			/* Every required property is given. */
			for (size_t j = 0; j < m->nprops; j++) {
				if (!(m->props[j].flags & PF_REQ))
					continue;
				bool given = false;
				for (int k = 0; k < n; k++)
					given |= !strcmp(pairs[k].name, m->props[j].name);
				if (!given)
					fail_msg("%s: built-in %s lacks %s", m->path, *l,
						 m->props[j].name);
			}
		}
	}
}

static void test_flagdefs(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		for (const struct flagdef *f = m->flagdefs; f && f->letter; f++) {
			assert_non_null(f->label);
			assert_non_null(f->prop);
			for (const struct flagdef *g = m->flagdefs; g != f; g++)
				if (g->letter == f->letter)
					fail_msg("%s: flag %c twice", m->path, f->letter);
			if (!strcmp(f->prop, "dynamic") || !strcmp(f->prop, "invalid") ||
			    !strcmp(f->prop, "builtin"))
				continue;
			int pi = schema_prop(m, f->prop, NULL);
			if (pi < 0 || m->props[pi].type != T_BOOL)
				fail_msg("%s: flag %c: %s is not a yes/no property", m->path,
					 f->letter, f->prop);
		}
	}
}

static void test_columns(void **state)
{
	(void)state;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		for (const char *const *c = m->columns; c && *c; c++)
			if (schema_prop(m, *c, NULL) < 0)
				fail_msg("%s: column %s", m->path, *c);
		for (const char *const *c = m->stats; c && *c; c++)
			if (schema_prop(m, *c, NULL) < 0)
				fail_msg("%s: stats column %s", m->path, *c);
	}
}

/* ---- particular tables ---- */

static void test_rule_menus(void **state)
{
	(void)state;
	static const char *const rules[] = { "/ip/firewall/filter", "/ip/firewall/nat",
					     "/ip/firewall/mangle", "/ip/firewall/raw",
					     "/ipv6/firewall/filter", "/ipv6/firewall/mangle",
					     "/ipv6/firewall/raw", NULL };
	for (const char *const *r = rules; *r; r++) {
		const struct menu *m = menu(*r);
		assert_true(m->flags & MF_ORDERED);
		assert_null(m->key);
		assert_null(m->columns);
		assert_non_null(m->validate);
		assert_string_equal(m->props[0].name, "chain");
		assert_true(m->props[0].flags & PF_REQ);
		assert_string_equal(m->props[1].name, "action");
		assert_string_equal(m->props[1].def, "accept");
		assert_true(prop(m, "bytes")->flags & PF_STAT);
		assert_true(prop(m, "packets")->flags & PF_STAT);
		assert_true(prop(m, "src-address")->flags & PF_NEG);
		assert_true(prop(m, "in-interface-list")->flags & PF_NEG);
		assert_int_equal(prop(m, "connection-state")->flags & (PF_NEG | PF_LIST),
				 PF_NEG | PF_LIST);
		assert_int_equal(prop(m, "dst-port")->type, T_PORTS);
		assert_int_equal(prop(m, "dst-port")->flags & (PF_NEG | PF_LIST),
				 PF_NEG | PF_LIST);
		assert_string_equal(prop(m, "log")->def, "no");
		assert_string_equal(prop(m, "log-prefix")->def, "");
		/* The action parameters come right after the action. */
		assert_string_equal(m->props[2].name, "jump-target");
	}
	assert_int_equal(prop(menu("/ip/firewall/filter"), "src-address")->type, T_ADDR4);
	assert_int_equal(prop(menu("/ipv6/firewall/filter"), "src-address")->type, T_ADDR6);
	assert_true(in_strv(prop(menu("/ip/firewall/nat"), "action")->enums, "masquerade"));
	assert_false(in_strv(prop(menu("/ip/firewall/filter"), "action")->enums, "masquerade"));
	assert_true(in_strv(prop(menu("/ip/firewall/raw"), "action")->enums, "notrack"));
	assert_string_equal(prop(menu("/ip/firewall/mangle"), "passthrough")->def, "yes");
	assert_int_equal(schema_prop(menu("/ip/firewall/filter"), "passthrough", NULL), -1);
	assert_int_equal(schema_prop(menu("/ip/firewall/filter"), "to-addresses", NULL), -1);
}

static void test_values(void **state)
{
	(void)state;
	const char *f = "/ip/firewall/filter";
	assert_string_equal(parse(f, "protocol", "tcp"), "tcp");
	assert_string_equal(parse(f, "protocol", "6"), "tcp");
	assert_string_equal(parse(f, "protocol", "!17"), "!udp");
	assert_string_equal(parse(f, "protocol", "ah"), "ipsec-ah");
	assert_string_equal(parse(f, "protocol", "253"), "253");
	assert_null(parse(f, "protocol", "256"));
	assert_null(parse(f, "protocol", "tcpp"));
	assert_null(parse(f, "protocol", ""));
	assert_int_equal(menus_protocol_number("udp-lite"), 136);
	assert_int_equal(menus_protocol_number("!tcp"), -1);

	const char *al = "/ip/firewall/address-list";
	assert_string_equal(parse(al, "address", "10.0.0.5/24"), "10.0.0.0/24");
	assert_string_equal(parse(al, "address", "mikrotik.com"), "mikrotik.com");
	assert_null(parse(al, "address", "10.0.0.1-10.0.0.x"));
	assert_null(parse(al, "address", "bad host"));
	assert_null(parse(al, "address", "-x.com"));
	assert_string_equal(parse("/ipv6/firewall/address-list", "address", "2001:db8::/32"),
			    "2001:db8::/32");

	assert_string_equal(parse(f, "address-list-timeout", "none-static"), "none-static");
	assert_string_equal(parse(f, "address-list-timeout", "1h"), "1h");
	assert_string_equal(parse("/ip/firewall/mangle", "new-mss", "clamp-to-pmtu"),
			    "clamp-to-pmtu");
	assert_string_equal(parse("/ip/firewall/mangle", "new-mss", "1400"), "1400");
	assert_null(parse("/ip/firewall/mangle", "new-mss", "70000"));
	assert_string_equal(parse("/interface/bridge", "mtu", "auto"), "auto");
	assert_null(parse("/interface/bridge", "mtu", "big"));

	assert_string_equal(parse("/user/group", "policy", "read,!write"), "read,!write");
	assert_null(parse("/user/group", "policy", "read,bogus"));
	assert_null(parse("/user/group", "policy", "read,,write"));
	assert_string_equal(parse("/system/logging", "topics", "firewall,!debug"),
			    "firewall,!debug");
	assert_null(parse("/system/logging", "topics", "nonsense"));

	assert_string_equal(parse("/queue/simple", "bucket-size", "0.2"), "0.2/0.2");
	assert_string_equal(parse("/queue/simple", "bucket-size", "0.10/1"), "0.1/1");
	assert_string_equal(parse("/queue/simple", "bucket-size", "0.01/0"), "0.01/0"); /* 0..10 */
	assert_null(parse("/queue/simple", "bucket-size", "10.5/1"));
	assert_null(parse("/queue/simple", "bucket-size", "1/1/1"));
}

static void test_find_and_dirs(void **state)
{
	(void)state;
	assert_string_equal(menu("/ip/firewall/filter")->path, "/ip/firewall/filter");
	assert_ptr_equal(schema_find("/ip/firewall/filter"), &menu_ip_firewall_filter);
	assert_ptr_equal(schema_find("/queue/tree/"), &menu_queue_tree);
	assert_null(schema_find("/ip/firewall"));
	assert_null(schema_find("/ip/firewall/filte"));
	assert_null(schema_find("/"));
	assert_null(schema_find(""));
	assert_null(schema_find(NULL));

	assert_true(schema_is_dir("/"));
	assert_true(schema_is_dir("/ip"));
	assert_true(schema_is_dir("/ip/"));
	assert_true(schema_is_dir("/ip/firewall"));
	assert_true(schema_is_dir("/ip/firewall/connection"));
	assert_true(schema_is_dir("/interface"));
	assert_true(schema_is_dir("/system/logging"));
	assert_true(schema_is_dir("/ipv6"));
	assert_false(schema_is_dir("/ip/firewall/filter"));
	assert_false(schema_is_dir("/i"));
	assert_false(schema_is_dir("/nothing"));
	assert_false(schema_is_dir(""));
	assert_false(schema_is_dir("ip"));
}

static void test_prop_lookup(void **state)
{
	(void)state;
	const struct menu *qt = menu("/queue/tree");
	bool aliased = true;
	int i = schema_prop(qt, "packet-mark", &aliased);
	assert_true(i >= 0);
	assert_false(aliased);
	assert_int_equal(schema_prop(qt, "packet-marks", &aliased), i);
	assert_true(aliased);
	assert_int_equal(schema_prop(qt, "packet-marks", NULL), i);
	assert_int_equal(schema_prop(qt, "nope", &aliased), -1);
	assert_false(aliased);
	assert_int_equal(schema_prop(qt, NULL, NULL), -1);
}

static void test_suggest(void **state)
{
	(void)state;
	const struct menu *f = menu("/ip/firewall/filter");
	assert_string_equal(schema_suggest(f, "src-adress"), "src-address");
	assert_string_equal(schema_suggest(f, "chian"), "chain");
	assert_string_equal(schema_suggest(f, "dst-prot"), "dst-port");
	assert_string_equal(schema_suggest(f, "connection-sate"), "connection-state");
	assert_null(schema_suggest(f, "xyzzy-plugh"));
	assert_null(schema_suggest(f, "ab"));
	assert_null(schema_suggest(f, ""));
	const char *s = schema_suggest(menu("/queue/tree"), "packet-markz");
	assert_non_null(s);
	assert_true(!strcmp(s, "packet-marks") || !strcmp(s, "packet-mark"));
	assert_string_equal(schema_suggest(menu("/queue/tree"), "max-limt"), "max-limit");

	assert_int_equal(schema_distance("kitten", "sitting"), 3);
	assert_int_equal(schema_distance("", "abc"), 3);
	assert_int_equal(schema_distance("abc", ""), 3);
	assert_int_equal(schema_distance("chain", "chain"), 0);
	assert_int_equal(schema_distance("ab", "ba"), 2);
	char a[200], b[200];
	memset(a, 'a', sizeof(a) - 1);
	a[sizeof(a) - 1] = 0;
	memcpy(b, a, sizeof(b));
	b[100] = 'b';
	assert_int_equal(schema_distance(a, b), 1);
	assert_int_equal(schema_distance(a, "a"), 198);
}

/* ---- validators ---- */

/* An item of menu path with "name=value" pairs; NULL-terminated. */
static struct item *mk(const char *path, ...)
{
	const struct menu *m = menu(path);
	struct item *it = item_new(m);
	va_list ap;
	va_start(ap, path);
	for (const char *kv; (kv = va_arg(ap, const char *));) {
		const char *eq = strchr(kv, '=');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		int pi = schema_prop(m, name, NULL);
		if (pi < 0)
			fail_msg("%s: no property %s", path, name);
		item_set(m, it, pi, eq + 1);
	}
	va_end(ap);
	return it;
}

/* Runs the menu's validator on it (which it frees); returns the property
 * named by the error, "" when the error names none, NULL when accepted. */
static const char *check(const char *path, struct item *it)
{
	static char prop_at_fault[64];
	const struct menu *m = menu(path);
	struct err e;
	err_clear(&e);
	int rc = m->validate(NULL, m, it, &e);
	item_free(m, it);
	if (rc == 0)
		return NULL;
	assert_true(e.msg[0] != 0);
	snprintf(prop_at_fault, sizeof(prop_at_fault), "%s", e.prop);
	return prop_at_fault;
}

static void test_validate_rules(void **state)
{
	(void)state;
	const char *f = "/ip/firewall/filter";
	assert_null(check(f, mk(f, "chain=input", "action=drop", NULL)));
	assert_null(check(f, mk(f, "chain=input", NULL)));
	assert_string_equal(check(f, mk(f, "chain=in put", NULL)), "chain");
	assert_string_equal(check(f, mk(f, "action=drop", NULL)), "chain");
	assert_string_equal(check(f, mk(f, "chain=input", "action=jump", NULL)), "jump-target");
	assert_null(check(f, mk(f, "chain=input", "action=jump", "jump-target=lan", NULL)));
	assert_string_equal(check(f, mk(f, "chain=input", "jump-target=lan", NULL)),
			    "jump-target");
	assert_string_equal(check(f, mk(f, "chain=input", "action=drop",
					"reject-with=tcp-reset", NULL)),
			    "reject-with");
	assert_null(check(f, mk(f, "chain=input", "action=reject", "reject-with=tcp-reset",
				NULL)));
	assert_string_equal(check(f, mk(f, "chain=input", "dst-port=80", NULL)), "dst-port");
	assert_string_equal(check(f, mk(f, "chain=input", "protocol=icmp", "src-port=80", NULL)),
			    "src-port");
	assert_string_equal(check(f, mk(f, "chain=input", "protocol=!tcp", "port=80", NULL)),
			    "port");
	assert_null(check(f, mk(f, "chain=input", "protocol=tcp", "dst-port=80,443", NULL)));
	assert_null(check(f, mk(f, "chain=input", "protocol=udp-lite", "dst-port=5000", NULL)));
	assert_null(check(f, mk(f, "chain=input", "protocol=sctp", "port=5000", NULL)));
	assert_string_equal(check(f, mk(f, "chain=input", "action=add-src-to-address-list",
					NULL)),
			    "address-list");
	assert_null(check(f, mk(f, "chain=input", "action=add-src-to-address-list",
				"address-list=scanners", NULL)));

	const char *n = "/ip/firewall/nat";
	assert_null(check(n, mk(n, "chain=srcnat", "action=masquerade", "to-ports=1000-2000",
				"protocol=tcp", NULL)));
	assert_string_equal(check(n, mk(n, "chain=srcnat", "action=masquerade",
					"to-addresses=1.2.3.4", NULL)),
			    "to-addresses");
	assert_null(check(n, mk(n, "chain=dstnat", "action=dst-nat", "to-addresses=10.0.0.2",
				"to-ports=80", NULL)));
	assert_string_equal(check(n, mk(n, "chain=dstnat", "action=accept", "to-ports=80", NULL)),
			    "to-ports");

	const char *m = "/ip/firewall/mangle";
	assert_string_equal(check(m, mk(m, "chain=forward", "action=mark-packet", NULL)),
			    "new-packet-mark");
	assert_null(check(m, mk(m, "chain=forward", "action=mark-packet",
				"new-packet-mark=low", NULL)));
	assert_string_equal(check(m, mk(m, "chain=forward", "action=mark-connection",
					"new-packet-mark=low", NULL)),
			    "new-connection-mark");
	assert_string_equal(check(m, mk(m, "chain=prerouting", "action=mark-routing", NULL)),
			    "new-routing-mark");
	assert_string_equal(check(m, mk(m, "chain=forward", "action=change-mss", NULL)),
			    "new-mss");

	const char *f6 = "/ipv6/firewall/filter";
	assert_string_equal(check(f6, mk(f6, "chain=input", "dst-port=22", NULL)), "dst-port");
	assert_null(check(f6, mk(f6, "chain=input", "protocol=tcp", "dst-port=22", NULL)));
}

static void test_validate_queues(void **state)
{
	(void)state;
	const char *t = "/queue/tree";
	assert_string_equal(check(t, mk(t, "name=a", "parent=a", NULL)), "parent");
	assert_null(check(t, mk(t, "name=a", "parent=global", NULL)));
	const char *s = "/queue/simple";
	assert_string_equal(check(s, mk(s, "name=q", "parent=q", NULL)), "parent");
	assert_null(check(s, mk(s, "name=q", NULL)));
	const char *qt = "/queue/type";
	assert_null(check(qt, mk(qt, "name=r", "kind=red", NULL)));
	assert_string_equal(check(qt, mk(qt, "name=r", "kind=red", "red-min-threshold=60", NULL)),
			    "red-min-threshold");
	const char *l7 = "/ip/firewall/layer7-protocol";
	assert_null(check(l7, mk(l7, "name=http", "regexp=^(GET|POST) ", NULL)));
	assert_string_equal(check(l7, mk(l7, "name=bad", "regexp=(unclosed", NULL)), "regexp");
}

/* Two entries of one address list may not hold the same address. */
static void test_validate_address_list(void **state)
{
	(void)state;
	const struct menu *m = menu("/ip/firewall/address-list");
	struct store *st;
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, NULL, &e), 0);
	assert_int_equal(store_begin(st, &e), 0);
	uint32_t id;
	struct item *it = mk(m->path, "list=lan", "address=10.0.0.0/24", NULL);
	assert_int_equal(m->validate(st, m, it, &e), 0);
	assert_int_equal(store_add(st, m, it, SIZE_MAX, &id, &e), 0);

	struct item *dup = mk(m->path, "list=lan", "address=10.0.0.0/24", NULL);
	assert_int_equal(m->validate(st, m, dup, &e), -1);
	assert_string_equal(e.prop, "address");
	item_free(m, dup);

	/* The same entry being changed is no duplicate of itself. */
	struct item *same = item_dup(m, store_get(st, m, id));
	assert_int_equal(m->validate(st, m, same, &e), 0);
	item_free(m, same);

	struct item *other = mk(m->path, "list=wan", "address=10.0.0.0/24", NULL);
	assert_int_equal(m->validate(st, m, other, &e), 0);
	item_free(m, other);
	store_rollback(st);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_menu_list),
		cmocka_unit_test(test_export_order),
		cmocka_unit_test(test_props),
		cmocka_unit_test(test_defaults_canonical),
		cmocka_unit_test(test_builtin),
		cmocka_unit_test(test_flagdefs),
		cmocka_unit_test(test_columns),
		cmocka_unit_test(test_rule_menus),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_find_and_dirs),
		cmocka_unit_test(test_prop_lookup),
		cmocka_unit_test(test_suggest),
		cmocka_unit_test(test_validate_rules),
		cmocka_unit_test(test_validate_queues),
		cmocka_unit_test(test_validate_address_list),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
