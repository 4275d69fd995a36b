/*
 * rules: compiles the firewall menus of the store into a struct ruleset.
 * Every property's canonical text (what types.c and the menu checks store)
 * becomes a matcher op with its values pre-parsed; address lists become
 * sorted range sets, interface lists bitmaps of interned interface ids,
 * layer7 patterns compiled regexes. Chains are grouped per family and
 * table, jumps resolved to chain pointers, loops and too deep nesting
 * refused, and each chain gets its classifier (classify.c).
 * Everything compiled lives in the ruleset's arena; ruleset_free releases
 * it in one go (plus the regexes and sets, which own heap memory).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/menus.h"
#include "conf/types.h"
#include "names.h"
#include "rules_int.h"
#include "util/sbuf.h"

/* ---- arena ---- */

struct arena_block {
	struct arena_block *next;
	size_t used, cap;
	_Alignas(16) unsigned char mem[];
};

struct rs_arena {
	struct arena_block *head;
};

struct rs_arena *rs_arena_new(void)
{
	return xcalloc(1, sizeof(struct rs_arena));
}

void *rs_arena_alloc(struct rs_arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	struct arena_block *b = a->head;
	if (!b || b->cap - b->used < n) {
		size_t cap = n > 65536 ? n : 65536;
		b = xmalloc(sizeof(*b) + cap);
		b->used = 0;
		b->cap = cap;
		b->next = a->head;
		a->head = b;
	}
	void *p = b->mem + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *rs_arena_strdup(struct rs_arena *a, const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = rs_arena_alloc(a, n);
	memcpy(d, s, n);
	return d;
}

void rs_arena_free(struct rs_arena *a)
{
	if (!a)
		return;
	for (struct arena_block *b = a->head, *n; b; b = n) {
		n = b->next;
		free(b);
	}
	free(a);
}

/* ---- names of tables and hooks ---- */

const char *const rs_table_names[RT_MAX] = { "raw", "mangle", "nat", "filter" };
const char *const rs_hook_names[RH_MAX] = { "prerouting", "input",  "forward", "output",
					    "postrouting", "dstnat", "srcnat" };

int rs_builtin_hook(enum rs_table t, const char *chain)
{
	static const unsigned allowed[RT_MAX] = {
		[RT_RAW] = 1u << RH_PREROUTING | 1u << RH_OUTPUT,
		[RT_MANGLE] = 1u << RH_PREROUTING | 1u << RH_INPUT | 1u << RH_FORWARD |
			      1u << RH_OUTPUT | 1u << RH_POSTROUTING,
		[RT_NAT] = 1u << RH_DSTNAT | 1u << RH_SRCNAT,
		[RT_FILTER] = 1u << RH_INPUT | 1u << RH_FORWARD | 1u << RH_OUTPUT,
	};
	for (int h = 0; h < RH_MAX; h++)
		if ((allowed[t] & (1u << h)) && !strcmp(chain, rs_hook_names[h]))
			return h;
	return -1;
}

const struct menu *rs_table_menu(uint8_t family, enum rs_table t)
{
	static const char *const v4[RT_MAX] = { "/ip/firewall/raw", "/ip/firewall/mangle",
						"/ip/firewall/nat", "/ip/firewall/filter" };
	static const char *const v6[RT_MAX] = { "/ipv6/firewall/raw", "/ipv6/firewall/mangle",
						NULL, "/ipv6/firewall/filter" };
	const char *path = family == 6 ? v6[t] : v4[t];
	return path ? schema_find(path) : NULL;
}

static const char *const mkind_names[MK_MAX] = {
	[MK_PROTO] = "protocol", [MK_SRC4] = "src-address", [MK_DST4] = "dst-address",
	[MK_SRC6] = "src-address", [MK_DST6] = "dst-address",
	[MK_SRCLIST] = "src-address-list", [MK_DSTLIST] = "dst-address-list",
	[MK_SRCTYPE] = "src-address-type", [MK_DSTTYPE] = "dst-address-type",
	[MK_SPORT] = "src-port", [MK_DPORT] = "dst-port", [MK_PORT] = "port",
	[MK_INIF] = "in-interface", [MK_OUTIF] = "out-interface",
	[MK_INLIST] = "in-interface-list", [MK_OUTLIST] = "out-interface-list",
	[MK_CTSTATE] = "connection-state", [MK_NATSTATE] = "connection-nat-state",
	[MK_CONNMARK] = "connection-mark", [MK_PKTMARK] = "packet-mark",
	[MK_RTMARK] = "routing-mark", [MK_CONNTYPE] = "connection-type",
	[MK_CONNBYTES] = "connection-bytes", [MK_CONNLIMIT] = "connection-limit",
	[MK_PCC] = "per-connection-classifier", [MK_SRCMAC] = "src-mac-address",
	[MK_TCPFLAGS] = "tcp-flags", [MK_TCPMSS] = "tcp-mss", [MK_ICMP] = "icmp-options",
	[MK_IPV4OPT] = "ipv4-options", [MK_PKTSIZE] = "packet-size", [MK_FRAGMENT] = "fragment",
	[MK_DSCP] = "dscp", [MK_TTL] = "ttl", [MK_PRIORITY] = "priority", [MK_CONTENT] = "content",
	[MK_L7] = "layer7-protocol", [MK_TIME] = "time", [MK_LIMIT] = "limit",
	[MK_DSTLIMIT] = "dst-limit", [MK_NTH] = "nth", [MK_RANDOM] = "random", [MK_PSD] = "psd",
	[MK_CONNRATE] = "connection-rate",
};

const char *rs_mkind_name(enum mkind k)
{
	return (unsigned)k < MK_MAX && mkind_names[k] ? mkind_names[k] : "?";
}

/* ---- compile context ---- */

struct l7ent {
	const char *name;
	regex_t *re; /* NULL: the pattern is empty */
};

struct ifset_named {
	const char *name;
	struct ifset *set;
};

struct list_set {
	uint32_t list;
	uint8_t family;
	struct al_set *set;
};

struct cc {
	struct store *st;
	struct ruleset *rs;
	struct err *e;
	struct l7ent *l7;
	size_t nl7;
	struct ifset_named *ifl;  /* interface lists, resolved lazily */
	size_t nifl;
	struct list_set *lists;
	size_t nlists;
	/* the rule being compiled, for error messages */
	const struct menu *m;
	uint32_t id;
};

static int cc_fail(struct cc *cc, const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* An error naming the menu, the rule and the property. */
static int cc_fail(struct cc *cc, const char *prop, const char *fmt, ...)
{
	char what[160];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return err_setp(cc->e, prop, "%s: rule *%X: %s", cc->m ? cc->m->path : "firewall", cc->id,
			what);
}

/* ---- interface sets ---- */

static struct ifset *ifset_new(struct cc *cc)
{
	return rs_arena_alloc(cc->rs->arena, sizeof(struct ifset));
}

static void ifset_add(struct cc *cc, struct ifset *s, uint32_t id)
{
	if (!id)
		return;
	if (id >= s->nbits) {
		uint32_t nbits = (id / 64 + 1) * 64;
		if (nbits < 128)
			nbits = 128;
		uint64_t *b = rs_arena_alloc(cc->rs->arena, nbits / 8);
		if (s->bits)
			memcpy(b, s->bits, s->nbits / 8);
		s->bits = b;
		s->nbits = nbits;
	}
	s->bits[id / 64] |= 1ull << (id % 64);
}

static bool ifset_bit(const struct ifset *s, uint32_t id)
{
	return id < s->nbits && (s->bits[id / 64] >> (id % 64) & 1);
}

/* d = d | s (union) or d = d & ~s (difference), with all = complement. */
static void ifset_combine(struct cc *cc, struct ifset *d, const struct ifset *s, bool diff)
{
	uint32_t nbits = d->nbits > s->nbits ? d->nbits : s->nbits;
	struct ifset r;
	memset(&r, 0, sizeof(r));
	bool da = d->all, sa = diff ? !s->all : s->all;
	/* union of (da, D) and (sa, S): complement iff either is, bits per case */
	r.all = diff ? (da && sa) : (da || sa);
	for (uint32_t i = 1; i < nbits; i++) {
		bool in_d = da ^ ifset_bit(d, i), in_s = sa ^ ifset_bit(s, i);
		bool in = diff ? (in_d && in_s) : (in_d || in_s);
		if (in != r.all)
			ifset_add(cc, &r, i);
	}
	*d = r;
}

/* The names of one interface menu (all-ethernet, all-vlan, all-wireless). */
static void ifset_from_menu(struct cc *cc, struct ifset *s, const char *path)
{
	const struct menu *m = schema_find(path);
	if (!m)
		return;
	for (size_t i = 0, n = store_count(cc->st, m); i < n; i++) {
		const char *name = item_get(m, store_at(cc->st, m, i), "name");
		if (name && *name)
			ifset_add(cc, s, name_intern(NS_IFACE, name));
	}
}

static struct ifset *iflist_resolve(struct cc *cc, const char *name, int depth);

/* Members of list name: its own members, the included lists', minus the excluded. */
static void iflist_build(struct cc *cc, const char *name, struct ifset *s, int depth)
{
	if (!strcmp(name, "all")) {
		s->all = true;
		return;
	}
	if (!strcmp(name, "none") || !strcmp(name, "dynamic") || depth > 16)
		return;
	const struct menu *mm = schema_find("/interface/list/member");
	for (size_t i = 0, n = mm ? store_count(cc->st, mm) : 0; i < n; i++) {
		const struct item *it = store_at(cc->st, mm, i);
		const char *l = item_get(mm, it, "list"), *ifn = item_get(mm, it, "interface");
		const char *dis = item_get(mm, it, "disabled");
		if (l && ifn && !strcmp(l, name) && !(dis && !strcmp(dis, "yes")))
			ifset_add(cc, s, name_intern(NS_IFACE, ifn));
	}
	const struct menu *lm = schema_find("/interface/list");
	const struct item *li = lm ? store_by_key(cc->st, lm, name) : NULL;
	if (!li)
		return;
	const char *inc = item_get(lm, li, "include"), *exc = item_get(lm, li, "exclude");
	char buf[512];
	for (int pass = 0; pass < 2; pass++) {
		const char *v = pass ? exc : inc;
		if (!v || !*v)
			continue;
		snprintf(buf, sizeof(buf), "%s", v);
		char *save = NULL;
		for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
			ifset_combine(cc, s, iflist_resolve(cc, tok, depth + 1), pass == 1);
	}
}

static struct ifset *iflist_resolve(struct cc *cc, const char *name, int depth)
{
	for (size_t i = 0; i < cc->nifl; i++)
		if (!strcmp(cc->ifl[i].name, name))
			return cc->ifl[i].set;
	struct ifset *s = ifset_new(cc);
	iflist_build(cc, name, s, depth);
	cc->ifl = xrealloc(cc->ifl, (cc->nifl + 1) * sizeof(*cc->ifl));
	cc->ifl[cc->nifl++] = (struct ifset_named){ rs_arena_strdup(cc->rs->arena, name), s };
	return s;
}

/* in-interface=all, all-ethernet, ... as a set; NULL when value is one interface. */
static struct ifset *ifgroup(struct cc *cc, const char *v)
{
	static const struct {
		const char *name, *menu;
	} groups[] = {
		{ "all-ethernet", "/interface/ethernet" }, { "all-vlan", "/interface/vlan" },
		{ "all-wireless", "/interface/wireless" }, { "all-ppp", NULL },
	};
	if (!strcmp(v, "all")) {
		struct ifset *s = ifset_new(cc);
		s->all = true;
		return s;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (strcmp(v, groups[i].name))
			continue;
		struct ifset *s = ifset_new(cc);
		if (groups[i].menu)
			ifset_from_menu(cc, s, groups[i].menu);
		return s;
	}
	return NULL;
}

/* ---- address lists ---- */

static struct al_set *list_set(struct cc *cc, uint32_t list, uint8_t family)
{
	for (size_t i = 0; i < cc->nlists; i++)
		if (cc->lists[i].list == list && cc->lists[i].family == family)
			return cc->lists[i].set;
	return NULL;
}

/* Every enabled entry of /ip and /ipv6 firewall address-list, static or not,
 * whose address is an address, prefix or range (DNS names are not resolved). */
static void lists_build(struct cc *cc)
{
	for (int f = 0; f < 2; f++) {
		uint8_t fam = f ? 6 : 4;
		const struct menu *m =
			schema_find(f ? "/ipv6/firewall/address-list" : "/ip/firewall/address-list");
		for (size_t i = 0, n = m ? store_count(cc->st, m) : 0; i < n; i++) {
			const struct item *it = store_at(cc->st, m, i);
			const char *l = item_get(m, it, "list"), *a = item_get(m, it, "address");
			const char *dis = item_get(m, it, "disabled");
			union ipaddr lo, hi;
			if (!l || !*l || (dis && !strcmp(dis, "yes")) ||
			    al_parse_range(a, fam, &lo, &hi) < 0)
				continue;
			uint32_t id = name_intern(NS_ADDRLIST, l);
			struct al_set *s = list_set(cc, id, fam);
			if (!s) {
				s = al_set_new(fam);
				cc->lists = xrealloc(cc->lists, (cc->nlists + 1) * sizeof(*cc->lists));
				cc->lists[cc->nlists++] = (struct list_set){ id, fam, s };
			}
			al_set_add(s, &lo, &hi);
		}
	}
	cc->rs->sets = xcalloc(cc->nlists + 1, sizeof(*cc->rs->sets));
	for (size_t i = 0; i < cc->nlists; i++) {
		al_set_finish(cc->lists[i].set);
		cc->rs->sets[cc->rs->nsets++] = cc->lists[i].set;
	}
}

/* ---- layer7 ---- */

static int l7_build(struct cc *cc)
{
	const struct menu *m = schema_find("/ip/firewall/layer7-protocol");
	size_t n = m ? store_count(cc->st, m) : 0;
	cc->l7 = xcalloc(n + 1, sizeof(*cc->l7));
	cc->rs->regs = xcalloc(n + 1, sizeof(*cc->rs->regs));
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(cc->st, m, i);
		const char *name = item_get(m, it, "name"), *re = item_get(m, it, "regexp");
		if (!name)
			continue;
		struct l7ent *l = &cc->l7[cc->nl7++];
		l->name = name;
		if (!re || !*re)
			continue;
		l->re = xmalloc(sizeof(regex_t));
		int rc = regcomp(l->re, re, REG_EXTENDED | REG_NOSUB | REG_ICASE);
		if (rc) {
			char why[128];
			regerror(rc, l->re, why, sizeof(why));
			free(l->re);
			l->re = NULL;
			return err_setp(cc->e, "regexp", "/ip/firewall/layer7-protocol %s: bad regexp: %s",
					name, why);
		}
		cc->rs->regs[cc->rs->nregs++] = l->re;
	}
	return 0;
}

/* ---- matchers ---- */

static bool is_yes(const char *v)
{
	return v && !strcmp(v, "yes");
}

/* Index of v in a NULL-terminated list, or -1. */
static int word_index(const char *const *words, const char *v, size_t n)
{
	for (int i = 0; words[i]; i++)
		if (strlen(words[i]) == n && !strncmp(words[i], v, n))
			return i;
	return -1;
}

/* Bitmask of the comma list v over words (bit i = words[i]); -1 on an unknown word. */
static long word_mask(const char *const *words, const char *v)
{
	long mask = 0;
	while (*v) {
		const char *c = strchr(v, ',');
		size_t n = c ? (size_t)(c - v) : strlen(v);
		int i = word_index(words, v, n);
		if (i < 0)
			return -1;
		mask |= 1l << i;
		v += n + (c ? 1 : 0);
	}
	return mask;
}

/* "n" or "n-m" (unsigned decimal) into lo..hi. */
static int num_range(const char *v, uint64_t *lo, uint64_t *hi)
{
	char *end;
	if (!*v || *v == '-')
		return -1;
	*lo = strtoull(v, &end, 10);
	if (*end == '-') {
		const char *h = end + 1;
		if (!*h)
			return -1;
		*hi = strtoull(h, &end, 10);
	} else {
		*hi = *lo;
	}
	return *end ? -1 : 0;
}

static int ports_parse(struct cc *cc, const char *v, struct mop *op)
{
	size_t n = 1;
	for (const char *c = v; *c; c++)
		n += *c == ',';
	struct portrange *r = rs_arena_alloc(cc->rs->arena, n * sizeof(*r));
	size_t k = 0;
	while (*v) {
		const char *c = strchr(v, ',');
		char el[32];
		size_t len = c ? (size_t)(c - v) : strlen(v);
		uint64_t lo, hi;
		if (len >= sizeof(el))
			return -1;
		memcpy(el, v, len);
		el[len] = 0;
		if (num_range(el, &lo, &hi) || lo > hi || hi > 65535)
			return -1;
		r[k++] = (struct portrange){ (uint16_t)lo, (uint16_t)hi };
		v += len + (c ? 1 : 0);
	}
	op->ptr = r;
	op->a = (uint32_t)k;
	return 0;
}

static const char *const ct_state_words[] = { "", "new", "established", "related", "invalid",
					      "untracked", NULL };
static const char *const addr_type_words[] = { "unicast", "local", "broadcast", "multicast",
					       NULL };
static const char *const nat_state_words[] = { "srcnat", "dstnat", NULL };
static const char *const tcp_flag_words[] = { "fin", "syn", "rst", "psh", "ack", "urg", "ece",
					      "cwr", NULL };
static const char *const ipopt_words[] = {
	"any", "none", "loose-source-routing", "no-record-route", "no-router-alert",
	"no-source-routing", "no-timestamp", "record-route", "router-alert",
	"strict-source-routing", "timestamp", NULL
};
static const char *const pcc_words[] = {
	"src-address", "dst-address", "both-addresses", "src-port", "dst-port", "both-ports",
	"src-address-and-port", "dst-address-and-port", "both-addresses-and-ports", NULL
};
static const char *const ttl_words[] = { "equal", "not-equal", "less-than", "greater-than",
					 NULL };
static const char *const dl_mode_words[] = {
	"dst-address-only", "dst-address-and-port", "src-address-and-dst-address",
	"src-and-dst-addresses-and-dst-port", "addresses-and-dst-port", NULL
};

/* "rate[/time]" of limit and dst-limit: period in ns. */
static int rate_period(const char *v, bool bits, uint64_t *rate, uint64_t *period_ns)
{
	char buf[64];
	snprintf(buf, sizeof(buf), "%s", v);
	char *slash = strchr(buf, '/');
	uint64_t ms = 1000;
	if (slash) {
		*slash = 0;
		if (parse_time_ms(slash + 1, &ms) || !ms)
			return -1;
	}
	if (bits ? parse_rate(buf, rate) : parse_u64(buf, rate))
		return -1;
	*period_ns = ms * 1000000ull;
	return *rate ? 0 : -1;
}

/* Compiles property name = v of family into op; 1 when name is no matcher. */
static int matcher(struct cc *cc, const char *name, const char *v, uint8_t family,
		   struct mop *op, uint8_t *hookmask)
{
	struct rs_arena *ar = cc->rs->arena;
	memset(op, 0, sizeof(*op));
	if (*v == '!' && strcmp(name, "tcp-flags")) {
		op->neg = 1;
		v++;
	}
	char buf[160];
	snprintf(buf, sizeof(buf), "%s", v);

	if (!strcmp(name, "protocol")) {
		int n = menus_protocol_number(v);
		if (n < 0)
			return -1;
		op->kind = MK_PROTO;
		op->a = (uint32_t)n;
	} else if (!strcmp(name, "src-address") || !strcmp(name, "dst-address")) {
		union ipaddr lo, hi;
		bool src = name[0] == 's';
		if (al_parse_range(v, family, &lo, &hi) < 0)
			return -1;
		if (family == 6) {
			union ipaddr *r = rs_arena_alloc(ar, 2 * sizeof(*r));
			r[0] = lo;
			r[1] = hi;
			op->kind = src ? MK_SRC6 : MK_DST6;
			op->ptr = r;
		} else {
			op->kind = src ? MK_SRC4 : MK_DST4;
			op->a = lo.v4;
			op->b = hi.v4;
		}
	} else if (!strcmp(name, "src-address-list") || !strcmp(name, "dst-address-list")) {
		op->kind = name[0] == 's' ? MK_SRCLIST : MK_DSTLIST;
		op->a = name_intern(NS_ADDRLIST, v);
		op->ptr = list_set(cc, op->a, family);
	} else if (!strcmp(name, "src-address-type") || !strcmp(name, "dst-address-type")) {
		long m = word_mask(addr_type_words, v);
		if (m < 0)
			return -1;
		op->kind = name[0] == 's' ? MK_SRCTYPE : MK_DSTTYPE;
		op->a = (uint32_t)m;
	} else if (!strcmp(name, "src-port") || !strcmp(name, "dst-port") || !strcmp(name, "port")) {
		op->kind = name[0] == 's' ? MK_SPORT : name[0] == 'd' ? MK_DPORT : MK_PORT;
		if (ports_parse(cc, v, op))
			return -1;
	} else if (!strcmp(name, "in-interface") || !strcmp(name, "out-interface")) {
		bool in = name[0] == 'i';
		op->kind = in ? MK_INIF : MK_OUTIF;
		op->ptr = ifgroup(cc, v);
		if (!op->ptr)
			op->a = name_intern(NS_IFACE, v);
		*hookmask &= in ? ~(1u << RH_OUTPUT)
				: ~(1u << RH_PREROUTING | 1u << RH_INPUT | 1u << RH_DSTNAT);
	} else if (!strcmp(name, "in-interface-list") || !strcmp(name, "out-interface-list")) {
		bool in = name[0] == 'i';
		op->kind = in ? MK_INLIST : MK_OUTLIST;
		op->ptr = iflist_resolve(cc, v, 0);
		*hookmask &= in ? ~(1u << RH_OUTPUT)
				: ~(1u << RH_PREROUTING | 1u << RH_INPUT | 1u << RH_DSTNAT);
	} else if (!strcmp(name, "connection-state")) {
		long m = word_mask(ct_state_words, v);
		if (m <= 0)
			return -1;
		op->kind = MK_CTSTATE;
		op->a = (uint32_t)m;
	} else if (!strcmp(name, "connection-nat-state")) {
		long m = word_mask(nat_state_words, v);
		if (m <= 0)
			return -1;
		op->kind = MK_NATSTATE;
		op->a = ((m & 1) ? CTS_SRCNAT : 0) | ((m & 2) ? CTS_DSTNAT : 0);
	} else if (!strcmp(name, "connection-mark") || !strcmp(name, "packet-mark") ||
		   !strcmp(name, "routing-mark")) {
		op->kind = name[0] == 'c' ? MK_CONNMARK : name[0] == 'p' ? MK_PKTMARK : MK_RTMARK;
		op->a = name_intern(NS_MARK, v);
	} else if (!strcmp(name, "connection-type")) {
		op->kind = MK_CONNTYPE;
		op->a = cth_by_name(v);
		if (!op->a)
			return -1;
	} else if (!strcmp(name, "connection-bytes")) {
		uint64_t lo, hi;
		if (num_range(v, &lo, &hi))
			return -1;
		op->kind = MK_CONNBYTES;
		op->x = lo;
		op->y = hi;
	} else if (!strcmp(name, "connection-limit")) {
		char *c = strchr(buf, ',');
		uint64_t n, len;
		if (!c)
			return -1;
		*c = 0;
		if (parse_u64(buf, &n) || parse_u64(c + 1, &len) || n > UINT32_MAX)
			return -1;
		if (len > (family == 6 ? 128u : 32u))
			len = family == 6 ? 128u : 32u;
		op->kind = MK_CONNLIMIT;
		op->a = (uint32_t)n;
		op->b0 = (uint8_t)len;
	} else if (!strcmp(name, "connection-rate")) {
		char *c = strchr(buf, '-');
		if (!c)
			return -1;
		*c = 0;
		if (parse_rate(buf, &op->x) || parse_rate(c + 1, &op->y))
			return -1;
		op->kind = MK_CONNRATE;
	} else if (!strcmp(name, "per-connection-classifier")) {
		char *colon = strchr(buf, ':'), *slash = colon ? strchr(colon, '/') : NULL;
		uint64_t d, r;
		if (!slash)
			return -1;
		*colon = 0;
		*slash = 0;
		int f = word_index(pcc_words, buf, strlen(buf));
		if (f < 0 || parse_u64(colon + 1, &d) || parse_u64(slash + 1, &r) || !d || r >= d)
			return -1;
		op->kind = MK_PCC;
		op->b0 = (uint8_t)f;
		op->a = (uint32_t)d;
		op->b = (uint32_t)r;
	} else if (!strcmp(name, "src-mac-address")) {
		uint8_t mac[6];
		if (parse_mac(v, mac))
			return -1;
		op->kind = MK_SRCMAC;
		for (int i = 0; i < 6; i++)
			op->x = op->x << 8 | mac[i];
		*hookmask &= ~(1u << RH_OUTPUT);
	} else if (!strcmp(name, "tcp-flags")) {
		op->kind = MK_TCPFLAGS;
		char *save = NULL;
		for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			bool not = *tok == '!';
			int f = word_index(tcp_flag_words, tok + not, strlen(tok + not));
			if (f < 0)
				return -1;
			if (not)
				op->b1 |= (uint8_t)(1u << f);
			else
				op->b0 |= (uint8_t)(1u << f);
		}
	} else if (!strcmp(name, "tcp-mss") || !strcmp(name, "packet-size")) {
		uint64_t lo, hi;
		if (num_range(v, &lo, &hi) || hi > 65535)
			return -1;
		op->kind = name[0] == 't' ? MK_TCPMSS : MK_PKTSIZE;
		op->a = (uint32_t)lo;
		op->b = (uint32_t)hi;
	} else if (!strcmp(name, "icmp-options")) {
		char *colon = strchr(buf, ':');
		uint64_t t, lo = 0, hi = 255;
		if (colon) {
			*colon = 0;
			if (num_range(colon + 1, &lo, &hi) || hi > 255)
				return -1;
		}
		if (parse_u64(buf, &t) || t > 255)
			return -1;
		op->kind = MK_ICMP;
		op->b0 = (uint8_t)t;
		op->a = (uint32_t)lo;
		op->b = (uint32_t)hi;
	} else if (!strcmp(name, "ipv4-options")) {
		int o = word_index(ipopt_words, v, strlen(v));
		if (o < 0)
			return -1;
		op->kind = MK_IPV4OPT;
		op->b0 = (uint8_t)o;
	} else if (!strcmp(name, "fragment")) {
		op->kind = MK_FRAGMENT;
		op->b0 = is_yes(v);
	} else if (!strcmp(name, "dscp") || !strcmp(name, "priority") || !strcmp(name, "random")) {
		uint64_t n;
		if (parse_u64(v, &n) || n > 255)
			return -1;
		op->kind = name[0] == 'd' ? MK_DSCP : name[0] == 'p' ? MK_PRIORITY : MK_RANDOM;
		op->a = (uint32_t)n;
	} else if (!strcmp(name, "ttl") || !strcmp(name, "hop-limit")) {
		char *colon = strchr(buf, ':');
		uint64_t n;
		if (!colon)
			return -1;
		*colon = 0;
		int w = word_index(ttl_words, buf, strlen(buf));
		if (w < 0 || parse_u64(colon + 1, &n) || n > 255)
			return -1;
		op->kind = MK_TTL;
		op->b0 = (uint8_t)w;
		op->a = (uint32_t)n;
	} else if (!strcmp(name, "content")) {
		op->kind = MK_CONTENT;
		op->ptr = rs_arena_strdup(ar, v);
		op->a = (uint32_t)strlen(v);
	} else if (!strcmp(name, "layer7-protocol")) {
		op->kind = MK_L7;
		op->b0 = 1; /* unknown name: never matches */
		for (size_t i = 0; i < cc->nl7; i++) {
			if (!strcmp(cc->l7[i].name, v)) {
				op->ptr = cc->l7[i].re;
				op->b0 = 0;
			}
		}
	} else if (!strcmp(name, "time")) {
		struct schedule sc;
		if (schedule_parse(buf, &sc) < 0)
			return -1;
		op->kind = MK_TIME;
		op->a = sc.start;
		op->b = sc.end;
		op->b0 = sc.days;
	} else if (!strcmp(name, "limit")) {
		/* rate[/time],burst:packet|bit (canonical) */
		char *comma = strchr(buf, ','), *colon;
		uint64_t burst = 5;
		bool bits = false;
		if (comma) {
			*comma = 0;
			colon = strchr(comma + 1, ':');
			if (colon) {
				*colon = 0;
				bits = !strcmp(colon + 1, "bit");
			}
			if (parse_u64(comma + 1, &burst) || burst > UINT32_MAX)
				return -1;
		}
		if (rate_period(buf, bits, &op->x, &op->y))
			return -1;
		op->kind = MK_LIMIT;
		op->a = (uint32_t)burst;
		op->b0 = bits;
	} else if (!strcmp(name, "dst-limit")) {
		/* rate[/time],burst,mode[/expire] */
		char *c1 = strchr(buf, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL, *slash;
		uint64_t burst, expire = 0;
		if (!c2)
			return -1;
		*c1 = 0;
		*c2 = 0;
		slash = strchr(c2 + 1, '/');
		if (slash) {
			*slash = 0;
			if (parse_time_ms(slash + 1, &expire) || expire > UINT32_MAX)
				return -1;
		}
		int mode = word_index(dl_mode_words, c2 + 1, strlen(c2 + 1));
		if (mode < 0 || parse_u64(c1 + 1, &burst) || burst > UINT32_MAX ||
		    rate_period(buf, false, &op->x, &op->y))
			return -1;
		op->kind = MK_DSTLIMIT;
		op->a = (uint32_t)burst;
		op->b = (uint32_t)expire;
		op->b0 = (uint8_t)(mode == 4 ? DL_SRC_DST_PORT : mode);
	} else if (!strcmp(name, "nth")) {
		char *c = strchr(buf, ',');
		uint64_t every, n;
		if (!c)
			return -1;
		*c = 0;
		if (parse_u64(buf, &every) || parse_u64(c + 1, &n) || !every || !n || n > every ||
		    every > UINT32_MAX)
			return -1;
		op->kind = MK_NTH;
		op->a = (uint32_t)every;
		op->b = (uint32_t)n;
	} else if (!strcmp(name, "psd")) {
		char *f[4] = { buf, NULL, NULL, NULL };
		for (int i = 1; i < 4; i++) {
			f[i] = strchr(f[i - 1], ',');
			if (!f[i])
				return -1;
			*f[i]++ = 0;
		}
		uint64_t w, d, lw, hw;
		if (parse_u64(f[0], &w) || parse_time_ms(f[1], &d) || parse_u64(f[2], &lw) ||
		    parse_u64(f[3], &hw) || w > 65535 || lw > 65535 || hw > 65535)
			return -1;
		op->kind = MK_PSD;
		op->a = (uint32_t)w;
		op->x = d * 1000000ull;
		op->b = (uint32_t)(lw << 16 | hw);
	} else {
		return 1;
	}
	return 0;
}

/* Properties of a rule that are not matchers. */
static bool is_rule_param(const char *name)
{
	static const char *const params[] = {
		"chain", "action", "jump-target", "reject-with", "address-list",
		"address-list-timeout", "to-addresses", "to-ports", "new-connection-mark",
		"new-packet-mark", "new-routing-mark", "new-dscp", "new-ttl", "new-hop-limit",
		"new-mss", "new-priority", "sniff-target", "sniff-target-port", "sniff-id",
		"route-dst", "passthrough", "log", "log-prefix", "disabled", "comment", "bytes",
		"packets", NULL
	};
	return word_index(params, name, strlen(name)) >= 0;
}

static int cmp_op(const void *a, const void *b)
{
	const struct mop *x = a, *y = b;
	return (int)x->kind - (int)y->kind;
}

/* ---- actions ---- */

static int reject_code(const char *v)
{
	static const struct {
		const char *name;
		uint8_t code;
	} map[] = {
		{ "icmp-network-unreachable", REJ_NET_UNREACH },
		{ "icmp-host-unreachable", REJ_HOST_UNREACH },
		{ "icmp-port-unreachable", REJ_PORT_UNREACH },
		{ "icmp-protocol-unreachable", REJ_PROTO_UNREACH },
		{ "icmp-net-prohibited", REJ_NET_PROHIBIT },
		{ "icmp-host-prohibited", REJ_HOST_PROHIBIT },
		{ "icmp-admin-prohibited", REJ_ADMIN_PROHIBIT },
		{ "tcp-reset", REJ_TCP_RESET },
		/* IPv6 names: the closest of enum rs_reject (it has no ICMPv6 codes) */
		{ "icmp-no-route", REJ_NET_UNREACH },
		{ "icmp-address-unreachable", REJ_HOST_UNREACH },
		{ "icmp-not-neighbour", REJ_ADMIN_PROHIBIT },
		{ "icmp-err-src-routing-header", REJ_NET_UNREACH },
		{ "icmp-headers-too-long", REJ_NET_UNREACH },
	};
	if (!v || !*v)
		return REJ_NET_UNREACH;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(map[i].name, v))
			return map[i].code;
	return -1;
}

static const struct {
	const char *name;
	uint8_t act;
	uint8_t nat;
	bool takes_passthrough;
} actions[] = {
	{ "accept", A_ACCEPT, 0, false }, { "drop", A_DROP, 0, false },
	{ "reject", A_REJECT, 0, false }, { "tarpit", A_TARPIT, 0, false },
	{ "jump", A_JUMP, 0, false }, { "return", A_RETURN, 0, false },
	{ "passthrough", A_PASSTHROUGH, 0, false }, { "log", A_LOG, 0, false },
	{ "add-src-to-address-list", A_ADD_SRC, 0, false },
	{ "add-dst-to-address-list", A_ADD_DST, 0, false },
	{ "mark-connection", A_MARK_CONN, 0, true }, { "mark-packet", A_MARK_PKT, 0, true },
	{ "mark-routing", A_MARK_ROUTE, 0, true }, { "change-dscp", A_CHANGE_DSCP, 0, true },
	{ "change-ttl", A_CHANGE_TTL, 0, true }, { "change-hop-limit", A_CHANGE_TTL, 0, true },
	{ "change-mss", A_CHANGE_MSS, 0, true }, { "clear-df", A_CLEAR_DF, 0, true },
	{ "set-priority", A_SET_PRIO, 0, true }, { "strip-ipv4-options", A_STRIP_OPTS, 0, true },
	{ "fasttrack-connection", A_FASTTRACK, 0, false }, { "notrack", A_NOTRACK, 0, false },
	{ "masquerade", A_NAT, NAT_MASQUERADE, false }, { "src-nat", A_NAT, NAT_SRC, false },
	{ "dst-nat", A_NAT, NAT_DST, false }, { "redirect", A_NAT, NAT_REDIRECT, false },
	{ "netmap", A_NAT, NAT_NETMAP, false }, { "same", A_NAT, NAT_SAME, false },
	/* no sniffer and no policy routing by gateway yet: counted, then passthrough */
	{ "sniff-tzsp", A_IGNORED, 0, true }, { "sniff-pc", A_IGNORED, 0, true },
	{ "route", A_IGNORED, 0, true },
};

static const char *get(struct cc *cc, const struct item *it, const char *name)
{
	int pi = schema_prop(cc->m, name, NULL);
	return pi < 0 ? NULL : item_geti(cc->m, it, pi);
}

/* Fills the action of r from the item; jump targets go to *target. */
static int action_compile(struct cc *cc, const struct item *it, uint8_t family,
			  struct rule *r, const char **target)
{
	const char *a = get(cc, it, "action");
	if (!a || !*a)
		a = "accept";
	size_t k = 0, n = sizeof(actions) / sizeof(actions[0]);
	while (k < n && strcmp(actions[k].name, a))
		k++;
	if (k == n)
		return cc_fail(cc, "action", "unknown action %s", a);
	r->action = actions[k].act;
	if (actions[k].takes_passthrough) {
		const char *pt = get(cc, it, "passthrough");
		r->flags |= RF_TERM_NOPASS;
		if (!pt || is_yes(pt))
			r->flags |= RF_PASS;
	}
	const char *v;
	uint64_t u;
	switch (r->action) {
	case A_REJECT: {
		int code = reject_code(get(cc, it, "reject-with"));
		if (code < 0)
			return cc_fail(cc, "reject-with", "unknown reject-with %s",
				       get(cc, it, "reject-with") ? get(cc, it, "reject-with") : "");
		r->reject_with = (uint8_t)code;
		break;
	}
	case A_JUMP:
		*target = get(cc, it, "jump-target");
		if (!*target || !**target)
			return cc_fail(cc, "jump-target", "jump without jump-target");
		break;
	case A_ADD_SRC:
	case A_ADD_DST:
		v = get(cc, it, "address-list");
		if (!v || !*v)
			return cc_fail(cc, "address-list", "no address-list");
		r->arg = name_intern(NS_ADDRLIST, v);
		v = get(cc, it, "address-list-timeout");
		if (v && *v && strcmp(v, "none-dynamic") && strcmp(v, "none-static")) {
			if (parse_time_ms(v, &u))
				return cc_fail(cc, "address-list-timeout", "bad timeout %s", v);
			r->timeout_ns = u * 1000000ull;
		}
		break;
	case A_MARK_CONN:
	case A_MARK_PKT:
	case A_MARK_ROUTE:
		v = get(cc, it, r->action == A_MARK_CONN  ? "new-connection-mark"
				: r->action == A_MARK_PKT ? "new-packet-mark"
							  : "new-routing-mark");
		r->arg = name_intern(NS_MARK, v ? v : "");
		break;
	case A_CHANGE_DSCP:
		v = get(cc, it, "new-dscp");
		if (!v || parse_u64(v, &u) || u > 63)
			return cc_fail(cc, "new-dscp", "bad new-dscp %s", v ? v : "");
		r->arg = (uint32_t)u;
		break;
	case A_CHANGE_TTL: {
		static const char *const modes[] = { "set", "increment", "decrement", NULL };
		v = get(cc, it, family == 6 ? "new-hop-limit" : "new-ttl");
		const char *colon = v ? strchr(v, ':') : NULL;
		int m = colon ? word_index(modes, v, (size_t)(colon - v)) : -1;
		if (m < 0 || parse_u64(colon + 1, &u) || u > 255)
			return cc_fail(cc, family == 6 ? "new-hop-limit" : "new-ttl", "bad value %s", v ? v : "");
		r->arg = (uint32_t)u;
		r->arg2 = (uint32_t)m;
		break;
	}
	case A_CHANGE_MSS:
		v = get(cc, it, "new-mss");
		if (v && !strcmp(v, "clamp-to-pmtu"))
			r->arg2 = 1; /* from the out-interface's MTU, per packet */
		else if (!v || parse_u64(v, &u) || u > 65535)
			return cc_fail(cc, "new-mss", "bad new-mss %s", v ? v : "");
		else
			r->arg = (uint32_t)u;
		break;
	case A_SET_PRIO:
		v = get(cc, it, "new-priority");
		if (v && !strcmp(v, "from-dscp")) {
			r->arg2 = PRIO_FROM_DSCP;
		} else if (v && !strcmp(v, "from-dscp-high-3-bits")) {
			r->arg2 = PRIO_FROM_DSCP_HIGH;
		} else if (v && !strcmp(v, "from-ingress")) {
			r->arg2 = PRIO_FROM_INGRESS;
		} else if (!v || parse_u64(v, &u) || u > 63) {
			return cc_fail(cc, "new-priority", "bad new-priority %s", v ? v : "");
		} else {
			r->arg2 = PRIO_NUM;
			r->arg = (uint32_t)u;
		}
		break;
	case A_NAT: {
		r->nat.kind = actions[k].nat;
		v = get(cc, it, "to-addresses");
		union ipaddr lo, hi;
		if (v && *v) {
			if (al_parse_range(v, 4, &lo, &hi) < 0)
				return cc_fail(cc, "to-addresses", "bad to-addresses %s", v);
			r->nat.addr_lo = lo.v4;
			r->nat.addr_hi = hi.v4;
		}
		v = get(cc, it, "to-ports");
		if (v && *v) {
			uint64_t lo_p, hi_p;
			if (num_range(v, &lo_p, &hi_p) || hi_p > 65535 || lo_p > hi_p)
				return cc_fail(cc, "to-ports", "bad to-ports %s", v);
			r->nat.port_lo = (uint16_t)lo_p;
			r->nat.port_hi = (uint16_t)hi_p;
		}
		break;
	}
	default:
		break;
	}
	if (is_yes(get(cc, it, "log")))
		r->flags |= RF_LOG;
	v = get(cc, it, "log-prefix");
	r->log_prefix = rs_arena_strdup(cc->rs->arena, v ? v : "");
	return 0;
}

/* ---- chains ---- */

/* A chain while rules are collected. */
struct chain_b {
	struct chain *c;
	struct rule *rules;
	const char **targets;
	size_t n, cap;
	int color;      /* DFS: 0 new, 1 on the stack, 2 done */
	int depth;      /* frames needed from this chain down */
};

struct tab_b {
	uint8_t family;
	enum rs_table table;
	const struct menu *m;
	struct chain_b *ch;
	size_t nch;
};

static struct chain_b *chain_get(struct cc *cc, struct tab_b *t, const char *name)
{
	for (size_t i = 0; i < t->nch; i++)
		if (!strcmp(t->ch[i].c->name, name))
			return &t->ch[i];
	t->ch = xrealloc(t->ch, (t->nch + 1) * sizeof(*t->ch));
	struct chain_b *b = &t->ch[t->nch++];
	memset(b, 0, sizeof(*b));
	b->c = rs_arena_alloc(cc->rs->arena, sizeof(struct chain));
	b->c->name = rs_arena_strdup(cc->rs->arena, name);
	b->c->family = t->family;
	b->c->table = (uint8_t)t->table;
	b->c->builtin = rs_builtin_hook(t->table, name) >= 0;
	return b;
}

static int rule_compile(struct cc *cc, struct tab_b *t, const struct item *it)
{
	const struct menu *m = t->m;
	const char *chain = get(cc, it, "chain");
	if (!chain || !*chain)
		return cc_fail(cc, "chain", "no chain");
	struct rule r;
	memset(&r, 0, sizeof(r));
	r.id = it->id;
	r.hookmask = (uint8_t)((1u << RH_MAX) - 1);
	struct mop ops[64];
	size_t nops = 0;
	for (size_t pi = 0; pi < m->nprops; pi++) {
		const char *name = m->props[pi].name;
		const char *v = it->vals[pi];
		if (!v || !*v || is_rule_param(name) || (m->props[pi].flags & PF_RO))
			continue;
		if (nops == sizeof(ops) / sizeof(ops[0]))
			return cc_fail(cc, name, "too many matchers");
		int rc = matcher(cc, name, v, t->family, &ops[nops], &r.hookmask);
		if (rc > 0)
			return cc_fail(cc, name, "matcher %s is not supported", name);
		if (rc < 0)
			return cc_fail(cc, name, "cannot read value %s", v);
		nops++;
	}
	qsort(ops, nops, sizeof(ops[0]), cmp_op);
	/* only a rule that may see TCP would see merged segments */
	bool tcp = true;
	for (size_t i = 0; i < nops; i++)
		if (ops[i].kind == MK_PROTO && (ops[i].a == 6) == (bool)ops[i].neg)
			tcp = false;
	for (size_t i = 0; tcp && i < nops; i++)
		switch (ops[i].kind) {
		case MK_PKTSIZE: case MK_LIMIT: case MK_DSTLIMIT: case MK_NTH: case MK_RANDOM:
		case MK_PSD:
			cc->rs->per_packet = true;
			break;
		default:
			break;
		}
	r.nops = (uint16_t)nops;
	r.ops = rs_arena_alloc(cc->rs->arena, (nops ? nops : 1) * sizeof(*r.ops));
	memcpy(r.ops, ops, nops * sizeof(*ops));
	const char *target = NULL;
	if (action_compile(cc, it, t->family, &r, &target) < 0)
		return -1;
	struct chain_b *b = chain_get(cc, t, chain);
	r.chain = b->c;
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 16;
		b->rules = xrealloc(b->rules, b->cap * sizeof(*b->rules));
		b->targets = xrealloc(b->targets, b->cap * sizeof(*b->targets));
	}
	b->rules[b->n] = r;
	b->targets[b->n] = target;
	b->n++;
	return 0;
}

/* Depth of chain i (frames), refusing loops: DFS over the jumps. */
static int chain_depth(struct cc *cc, struct tab_b *t, struct chain_b *b)
{
	if (b->color == 2)
		return b->depth;
	if (b->color == 1) {
		err_setp(cc->e, "jump-target", "%s: jump loop through chain \"%s\"", t->m->path,
			 b->c->name);
		return -1;
	}
	b->color = 1;
	int depth = 1;
	for (size_t i = 0; i < b->n; i++) {
		if (b->rules[i].action != A_JUMP)
			continue;
		struct chain_b *to = &t->ch[b->rules[i].arg];
		int d = chain_depth(cc, t, to);
		if (d < 0) {
			if (cc->e && !strstr(cc->e->msg, "rule *"))
				snprintf(cc->e->msg + strlen(cc->e->msg),
					 sizeof(cc->e->msg) - strlen(cc->e->msg),
					 " (rule *%X in chain \"%s\")", b->rules[i].id, b->c->name);
			return -1;
		}
		if (d + 1 > depth)
			depth = d + 1;
	}
	b->color = 2;
	b->depth = depth;
	return depth;
}

static int table_compile(struct cc *cc, struct tab_b *t)
{
	const struct menu *m = t->m;
	cc->m = m;
	for (size_t i = 0, n = store_count(cc->st, m); i < n; i++) {
		const struct item *it = store_at(cc->st, m, i);
		cc->rs->nrules++;
		cc->id = it->id;
		/* dynamic rules are RouterOS's own (the FastTrack counter rule) */
		if (is_yes(get(cc, it, "disabled")) || (it->flags & IF_DYNAMIC))
			continue;
		if (rule_compile(cc, t, it) < 0)
			return -1;
	}
	/* jump targets: a chain with no rules is created empty (a jump just returns) */
	for (size_t i = 0; i < t->nch; i++) {
		for (size_t j = 0; j < t->ch[i].n; j++) {
			if (t->ch[i].rules[j].action != A_JUMP)
				continue;
			struct chain_b *to = chain_get(cc, t, t->ch[i].targets[j]);
			t->ch[i].rules[j].arg = (uint32_t)(to - t->ch);
		}
	}
	for (size_t i = 0; i < t->nch; i++) {
		int d = chain_depth(cc, t, &t->ch[i]);
		if (d < 0)
			return -1;
		if (d > RS_MAX_DEPTH)
			return err_setp(cc->e, "jump-target",
					"%s: jumps from chain \"%s\" nest deeper than %d chains", m->path,
					t->ch[i].c->name, RS_MAX_DEPTH);
	}
	/* publish: rules into the arena, jump arguments to global chain indices */
	size_t base = cc->rs->nchains;
	cc->rs->chains = xrealloc(cc->rs->chains, (base + t->nch) * sizeof(*cc->rs->chains));
	for (size_t i = 0; i < t->nch; i++) {
		struct chain_b *b = &t->ch[i];
		struct chain *c = b->c;
		c->n = (uint32_t)b->n;
		c->rules = rs_arena_alloc(cc->rs->arena, (b->n ? b->n : 1) * sizeof(struct rule));
		if (b->n)
			memcpy(c->rules, b->rules, b->n * sizeof(struct rule));
		for (size_t j = 0; j < b->n; j++)
			if (c->rules[j].action == A_JUMP)
				c->rules[j].arg += (uint32_t)base;
		c->index = (uint32_t)(base + i);
		cc->rs->chains[base + i] = c;
		int h = rs_builtin_hook(t->table, c->name);
		if (h >= 0 && c->n)
			cc->rs->hook[t->family == 6][t->table][h] = c;
	}
	cc->rs->nchains += t->nch;
	for (size_t i = 0; i < t->nch; i++)
		cls_build(cc->rs->arena, t->ch[i].c);
	return 0;
}

static void tab_free(struct tab_b *t)
{
	for (size_t i = 0; i < t->nch; i++) {
		free(t->ch[i].rules);
		free(t->ch[i].targets);
	}
	free(t->ch);
	t->ch = NULL;
	t->nch = 0;
}

const char *const rs_mtu_menus[] = { "/interface/ethernet", "/interface/vlan",
				     "/interface/bridge", "/interface/wireless", NULL };

/* The configured MTU of every interface that has a number there. */
static void mtus_build(struct cc *cc)
{
	uint32_t n = 0;
	for (int pass = 0; pass < 2; pass++) {
		for (const char *const *path = rs_mtu_menus; *path; path++) {
			const struct menu *m = schema_find(*path);
			for (size_t i = 0; m && i < store_count(cc->st, m); i++) {
				const struct item *it = store_at(cc->st, m, i);
				const char *name = item_get(m, it, "name"), *mtu = item_get(m, it, "mtu");
				uint64_t v;
				if (!name || !mtu || parse_u64(mtu, &v) || v < 64 || v > 65535)
					continue;
				uint32_t id = name_intern(NS_IFACE, name);
				if (pass == 0)
					n = id + 1 > n ? id + 1 : n;
				else
					cc->rs->if_mtu[id] = (uint16_t)v;
			}
		}
		if (pass == 0) {
			if (!n)
				return;
			cc->rs->if_mtu = rs_arena_alloc(cc->rs->arena, n * sizeof(uint16_t));
			cc->rs->nif_mtu = n;
		}
	}
}

int ruleset_compile(struct store *st, struct ruleset **out, struct err *e)
{
	struct cc cc;
	memset(&cc, 0, sizeof(cc));
	cc.st = st;
	cc.e = e;
	cc.rs = xcalloc(1, sizeof(struct ruleset));
	cc.rs->arena = rs_arena_new();
	int rc = -1;
	*out = NULL;
	if (l7_build(&cc) < 0)
		goto free_scratch;
	lists_build(&cc);
	mtus_build(&cc);
	for (int f = 0; f < 2; f++) {
		for (int t = 0; t < RT_MAX; t++) {
			struct tab_b tb;
			memset(&tb, 0, sizeof(tb));
			tb.family = f ? 6 : 4;
			tb.table = (enum rs_table)t;
			tb.m = rs_table_menu(tb.family, tb.table);
			if (!tb.m)
				continue;
			rc = table_compile(&cc, &tb);
			tab_free(&tb);
			if (rc < 0)
				goto free_scratch;
		}
	}
	*out = cc.rs;
	cc.rs = NULL;
	rc = 0;
free_scratch:
	ruleset_free(cc.rs); /* NULL on success: the caller has it */
	free(cc.l7);
	free(cc.ifl);
	free(cc.lists);
	return rc;
}

void ruleset_free(struct ruleset *rs)
{
	if (!rs)
		return;
	for (size_t i = 0; i < rs->nregs; i++) {
		regfree(rs->regs[i]);
		free(rs->regs[i]);
	}
	free(rs->regs);
	for (size_t i = 0; i < rs->nsets; i++)
		al_set_free(rs->sets[i]);
	free(rs->sets);
	free(rs->chains);
	rs_arena_free(rs->arena);
	free(rs);
}

size_t ruleset_size(const struct ruleset *rs)
{
	return rs ? rs->nrules : 0;
}

bool ruleset_per_packet(const struct ruleset *rs)
{
	return rs && rs->per_packet;
}

bool rs_hook_used(const struct ruleset *rs, uint8_t family, enum rs_table table,
		  enum rs_hook hook)
{
	if (!rs || (unsigned)table >= RT_MAX || (unsigned)hook >= RH_MAX)
		return false;
	return rs->hook[family == 6][table][hook] != NULL;
}
