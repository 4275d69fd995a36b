/*
 * The checks read the store the way print shows it: rules by menu and
 * position (#N is the number print gives), values canonical. A rule's
 * "conditions" are its set matcher properties; rule A covers rule B when
 * every condition of A is also a condition of B with the same value, which
 * makes A match at least every packet B matches. That test is conservative:
 * it never claims a cover that does not hold, so shadowing and overwriting
 * findings have no false positives, at the price of missing some.
 */
#include "lint.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/schema.h"
#include "conf/types.h"

static void add(struct lint_report *r, enum lint_level lv, const char *check, const char *where,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void add(struct lint_report *r, enum lint_level lv, const char *check, const char *where,
		const char *fmt, ...)
{
	r->f = xrealloc(r->f, (r->n + 1) * sizeof(*r->f));
	struct lint_finding *f = &r->f[r->n++];
	f->level = lv;
	snprintf(f->check, sizeof(f->check), "%s", check);
	snprintf(f->where, sizeof(f->where), "%s", where);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
}

void lint_report_free(struct lint_report *r)
{
	free(r->f);
	r->f = NULL;
	r->n = 0;
}

void lint_format(const struct lint_report *r, struct sbuf *out)
{
	for (size_t i = 0; i < r->n; i++)
		sbuf_printf(out, "%s: %s: %s [%s]\n",
			    r->f[i].level == LINT_ERROR ? "error" : "warning", r->f[i].where,
			    r->f[i].message, r->f[i].check);
}

/* ---- rules ---- */

static const char *v(const struct menu *m, const struct item *it, const char *name)
{
	const char *x = item_get(m, it, name);
	return x ? x : "";
}

static bool yes(const char *x)
{
	return !strcmp(x, "yes");
}

static bool enabled(const struct menu *m, const struct item *it)
{
	return !yes(v(m, it, "disabled")) && !(it->flags & IF_DYNAMIC);
}

/* Properties that say what a rule does, not which packets it takes. */
static bool is_matcher(const char *name)
{
	static const char *const not_matchers[] = {
		"chain", "action", "jump-target", "reject-with", "address-list",
		"address-list-timeout", "new-connection-mark", "new-packet-mark",
		"new-routing-mark", "passthrough", "new-dscp", "new-ttl", "new-mss",
		"new-priority", "to-addresses", "to-ports", "log", "log-prefix", "disabled",
		"comment", "sniff-target", "sniff-target-port", "sniff-id", "route-dst",
		"new-hop-limit", NULL
	};
	for (const char *const *n = not_matchers; *n; n++)
		if (!strcmp(*n, name))
			return false;
	return true;
}

/* Does rule a match every packet that rule b matches? (see the top) */
static bool covers(const struct menu *m, const struct item *a, const struct item *b)
{
	for (size_t i = 0; i < m->nprops; i++) {
		const struct prop *p = &m->props[i];
		if (!a->vals[i] || !is_matcher(p->name) || (p->flags & (PF_STAT | PF_RO)))
			continue;
		if (!b->vals[i] || strcmp(a->vals[i], b->vals[i]))
			return false;
	}
	return true;
}

static bool has_conditions(const struct menu *m, const struct item *it)
{
	for (size_t i = 0; i < m->nprops; i++)
		if (it->vals[i] && is_matcher(m->props[i].name) &&
		    !(m->props[i].flags & (PF_STAT | PF_RO)))
			return true;
	return false;
}

static void where_of(const struct menu *m, size_t pos, const struct item *it, char *buf,
		     size_t n)
{
	char path[64];
	size_t k = 0;
	for (const char *p = m->path; *p && k + 1 < sizeof(path); p++)
		path[k++] = (*p == '/' && p != m->path) ? ' ' : *p;
	path[k] = 0;
	snprintf(buf, n, "%s #%zu (*%X)", path, pos, it->id);
}

static bool terminating(const char *action, const struct menu *m, const struct item *it)
{
	if (!strcmp(action, "accept") || !strcmp(action, "drop") || !strcmp(action, "reject") ||
	    !strcmp(action, "tarpit") || !strcmp(action, "return") ||
	    !strcmp(action, "masquerade") || !strcmp(action, "src-nat") ||
	    !strcmp(action, "dst-nat") || !strcmp(action, "redirect") ||
	    !strcmp(action, "netmap") || !strcmp(action, "same"))
		return true;
	return !strncmp(action, "mark-", 5) && !strcmp(v(m, it, "passthrough"), "no");
}

static const char *const rule_menus[] = { "/ip/firewall/filter", "/ip/firewall/nat",
					  "/ip/firewall/mangle", "/ip/firewall/raw",
					  "/ipv6/firewall/filter", "/ipv6/firewall/mangle",
					  "/ipv6/firewall/raw", NULL };

static void check_shadowed(struct store *st, struct lint_report *r)
{
	for (const char *const *mp = rule_menus; *mp; mp++) {
		const struct menu *m = schema_find(*mp);
		size_t n = m ? store_count(st, m) : 0;
		for (size_t j = 0; j < n; j++) {
			const struct item *b = store_at(st, m, j);
			if (!enabled(m, b))
				continue;
			for (size_t i = 0; i < j; i++) {
				const struct item *a = store_at(st, m, i);
				if (!enabled(m, a) || strcmp(v(m, a, "chain"), v(m, b, "chain")) ||
				    !terminating(v(m, a, "action"), m, a) || !covers(m, a, b))
					continue;
				char w[96];
				where_of(m, j, b, w, sizeof(w));
				add(r, LINT_WARNING, "shadowed", w,
				    "never reached: #%zu (action=%s) takes every packet this rule would",
				    i, v(m, a, "action"));
				break;
			}
		}
	}
}

static void check_mark_overwrite(struct store *st, struct lint_report *r)
{
	const struct menu *m = schema_find("/ip/firewall/mangle");
	size_t n = m ? store_count(st, m) : 0;
	static const char *const kinds[][2] = { { "mark-packet", "new-packet-mark" },
						{ "mark-connection", "new-connection-mark" },
						{ "mark-routing", "new-routing-mark" } };
	for (size_t j = 0; j < n; j++) {
		const struct item *b = store_at(st, m, j);
		if (!enabled(m, b))
			continue;
		for (size_t k = 0; k < 3; k++) {
			if (strcmp(v(m, b, "action"), kinds[k][0]))
				continue;
			struct sbuf over = SBUF_INIT;
			for (size_t i = 0; i < j; i++) {
				const struct item *a = store_at(st, m, i);
				if (!enabled(m, a) || strcmp(v(m, a, "action"), kinds[k][0]) ||
				    strcmp(v(m, a, "chain"), v(m, b, "chain")) ||
				    strcmp(v(m, a, "passthrough"), "yes") || !covers(m, b, a) ||
				    !strcmp(v(m, a, kinds[k][1]), v(m, b, kinds[k][1])))
					continue;
				sbuf_printf(&over, "%s#%zu (%s)", over.len ? ", " : "", i,
					    v(m, a, kinds[k][1]));
			}
			if (over.len) {
				char w[96];
				where_of(m, j, b, w, sizeof(w));
				add(r, LINT_ERROR, "mark-overwrite", w,
				    "sets %s=%s on every packet that %s already marked: with "
				    "passthrough=yes (the default) their marks are overwritten; set "
				    "passthrough=no on them, or make this rule narrower",
				    kinds[k][1], v(m, b, kinds[k][1]), sbuf_str(&over));
			}
			sbuf_free(&over);
		}
	}
}

/* ---- FastTrack, marks and queues ---- */

static bool list_has(const char *list, const char *x)
{
	size_t n = strlen(x);
	for (const char *p = list; *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && !strncmp(p, x, n))
			return true;
		if (!c)
			break;
		p = c + 1;
	}
	return false;
}

static void check_fasttrack_qos(struct store *st, struct lint_report *r)
{
	const struct menu *f = schema_find("/ip/firewall/filter");
	const struct menu *qt = schema_find("/queue/tree"), *qs = schema_find("/queue/simple");
	bool global = false;
	for (size_t i = 0; qt && i < store_count(st, qt); i++)
		if (!strcmp(v(qt, store_at(st, qt, i), "parent"), "global"))
			global = true;
	bool simple = qs && store_count(st, qs) > 0;
	bool marks_for_queues = qt && store_count(st, qt) > 0;
	for (size_t i = 0; f && i < store_count(st, f); i++) {
		const struct item *it = store_at(st, f, i);
		if (!enabled(f, it) || strcmp(v(f, it, "action"), "fasttrack-connection"))
			continue;
		if (!global && !simple && !marks_for_queues)
			continue;
		char w[96];
		where_of(f, i, it, w, sizeof(w));
		struct sbuf what = SBUF_INIT;
		if (simple)
			sbuf_puts(&what, "the simple queues");
		if (global)
			sbuf_printf(&what, "%sthe global queue trees", what.len ? ", " : "");
		if (marks_for_queues)
			sbuf_printf(&what, "%sthe packet marks the queue trees use", what.len ? ", " : "");
		add(r, LINT_WARNING, "fasttrack-qos", w,
		    "fasttracked connections skip mangle, simple queues and global queue trees: "
		    "%s will not see them (RouterOS FastTrack defeats this QoS)", sbuf_str(&what));
		sbuf_free(&what);
	}
}

static void check_marks_and_queues(struct store *st, struct lint_report *r)
{
	const struct menu *mg = schema_find("/ip/firewall/mangle");
	const struct menu *qt = schema_find("/queue/tree"), *qs = schema_find("/queue/simple");
	const struct menu *fl = schema_find("/ip/firewall/filter");
	struct sbuf set = SBUF_INIT, used = SBUF_INIT;
	for (size_t i = 0; mg && i < store_count(st, mg); i++) {
		const struct item *it = store_at(st, mg, i);
		if (!enabled(mg, it))
			continue;
		const char *a = v(mg, it, "action"), *chain = v(mg, it, "chain");
		char w[96];
		where_of(mg, i, it, w, sizeof(w));
		if (!strcmp(a, "mark-packet") && !list_has(sbuf_str(&set), v(mg, it, "new-packet-mark")))
			sbuf_printf(&set, "%s%s", set.len ? "," : "", v(mg, it, "new-packet-mark"));
		if (!strcmp(a, "mark-routing") && strcmp(chain, "prerouting") && strcmp(chain, "output"))
			add(r, LINT_ERROR, "mark-routing-chain", w,
			    "mark-routing in chain %s: routing has already been decided there; use "
			    "prerouting (or output for the router's own traffic)", chain);
		const char *pm = v(mg, it, "packet-mark");
		if (*pm)
			sbuf_printf(&used, "%s%s", used.len ? "," : "", *pm == '!' ? pm + 1 : pm);
	}
	for (size_t i = 0; fl && i < store_count(st, fl); i++) {
		const char *pm = v(fl, store_at(st, fl, i), "packet-mark");
		if (*pm)
			sbuf_printf(&used, "%s%s", used.len ? "," : "", *pm == '!' ? pm + 1 : pm);
	}
	for (size_t i = 0; qs && i < store_count(st, qs); i++) {
		const char *pm = v(qs, store_at(st, qs, i), "packet-marks");
		if (*pm)
			sbuf_printf(&used, "%s%s", used.len ? "," : "", pm);
	}
	for (size_t i = 0; qt && i < store_count(st, qt); i++) {
		const struct item *it = store_at(st, qt, i);
		const char *pm = v(qt, it, "packet-mark");
		if (!*pm || !enabled(qt, it))
			continue;
		sbuf_printf(&used, "%s%s", used.len ? "," : "", pm);
		char *copy = xstrdup(pm), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			if (strcmp(t, "no-mark") && !list_has(sbuf_str(&set), t)) {
				char w[96];
				where_of(qt, i, it, w, sizeof(w));
				add(r, LINT_WARNING, "queue-without-mark", w,
				    "no mangle rule sets packet-mark %s: this queue gets no traffic", t);
			}
		}
		free(copy);
	}
	/* marks set that nothing reads */
	char *copy = xstrdup(sbuf_str(&set)), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (!list_has(sbuf_str(&used), t))
			add(r, LINT_WARNING, "unused-mark", "/ip firewall mangle",
			    "packet-mark %s is set but no queue or rule uses it", t);
	free(copy);
	sbuf_free(&set);
	sbuf_free(&used);
}

/* ---- chains and actions ---- */

static void check_chains(struct store *st, struct lint_report *r)
{
	for (const char *const *mp = rule_menus; *mp; mp++) {
		const struct menu *m = schema_find(*mp);
		size_t n = m ? store_count(st, m) : 0;
		bool nat = strstr(*mp, "/nat") != NULL;
		for (size_t i = 0; i < n; i++) {
			const struct item *it = store_at(st, m, i);
			if (!enabled(m, it))
				continue;
			const char *chain = v(m, it, "chain"), *a = v(m, it, "action");
			char w[96];
			where_of(m, i, it, w, sizeof(w));
			bool builtin = !strcmp(chain, "input") || !strcmp(chain, "forward") ||
				       !strcmp(chain, "output") || !strcmp(chain, "prerouting") ||
				       !strcmp(chain, "postrouting") || !strcmp(chain, "srcnat") ||
				       !strcmp(chain, "dstnat");
			if (nat && builtin && (!strcmp(a, "dst-nat") || !strcmp(a, "redirect")) &&
			    strcmp(chain, "dstnat"))
				add(r, LINT_ERROR, "wrong-chain", w, "%s belongs in chain dstnat, not %s",
				    a, chain);
			if (nat && builtin &&
			    (!strcmp(a, "src-nat") || !strcmp(a, "masquerade") || !strcmp(a, "same")) &&
			    strcmp(chain, "srcnat"))
				add(r, LINT_ERROR, "wrong-chain", w, "%s belongs in chain srcnat, not %s",
				    a, chain);
			if ((!strcmp(chain, "input") || !strcmp(chain, "prerouting")) &&
			    (*v(m, it, "out-interface") || *v(m, it, "out-interface-list")))
				add(r, LINT_ERROR, "never-matches", w,
				    "out-interface never matches in chain %s (no out-interface yet)", chain);
			if (!strcmp(chain, "output") &&
			    (*v(m, it, "in-interface") || *v(m, it, "in-interface-list")))
				add(r, LINT_ERROR, "never-matches", w,
				    "in-interface never matches in chain output (the router sends it)");
			if (!strcmp(a, "jump")) {
				const char *t = v(m, it, "jump-target");
				bool found = false;
				for (size_t k = 0; k < n && !found; k++)
					found = !strcmp(v(m, store_at(st, m, k), "chain"), t);
				if (!found)
					add(r, LINT_WARNING, "jump-nowhere", w,
					    "jump-target %s has no rules: the jump returns at once", t);
			}
			if (!builtin) {
				bool reached = false;
				for (size_t k = 0; k < n && !reached; k++) {
					const struct item *j = store_at(st, m, k);
					reached = enabled(m, j) && !strcmp(v(m, j, "action"), "jump") &&
						  !strcmp(v(m, j, "jump-target"), chain);
				}
				bool first = true;
				for (size_t k = 0; k < i; k++)
					if (!strcmp(v(m, store_at(st, m, k), "chain"), chain))
						first = false;
				if (!reached && first)
					add(r, LINT_WARNING, "unreachable-chain", w,
					    "no rule jumps to chain %s: its rules never run", chain);
			}
		}
	}
}

/* ---- the router itself ---- */

static bool accepts_state(const struct menu *m, const struct item *it, const char *state)
{
	return !strcmp(v(m, it, "action"), "accept") && list_has(v(m, it, "connection-state"), state);
}

static void check_input(struct store *st, struct lint_report *r)
{
	const struct menu *m = schema_find("/ip/firewall/filter");
	size_t n = m ? store_count(st, m) : 0;
	bool replies = false, lan = false;
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		if (!enabled(m, it) || strcmp(v(m, it, "chain"), "input"))
			continue;
		const char *a = v(m, it, "action");
		if (accepts_state(m, it, "established"))
			replies = true;
		if (!strcmp(a, "accept") && (*v(m, it, "in-interface") ||
					     *v(m, it, "in-interface-list") ||
					     *v(m, it, "src-address") || *v(m, it, "src-address-list")))
			lan = true;
		if ((!strcmp(a, "drop") || !strcmp(a, "reject")) && !has_conditions(m, it)) {
			char w[96];
			where_of(m, i, it, w, sizeof(w));
			if (!lan)
				add(r, LINT_ERROR, "lockout", w,
				    "drops everything to the router before any rule accepts management "
				    "from the LAN (in-interface or src-address): this locks you out");
			if (!replies)
				add(r, LINT_WARNING, "lockout", w,
				    "drops replies to the router's own connections (DNS, NTP, updates): "
				    "accept connection-state=established,related first");
			break;
		}
	}
	static const char *const chains[] = { "input", "forward" };
	for (int c = 0; c < 2; c++) {
		bool found = false;
		for (size_t i = 0; i < n && !found; i++) {
			const struct item *it = store_at(st, m, i);
			found = enabled(m, it) && !strcmp(v(m, it, "chain"), chains[c]) &&
				(!strcmp(v(m, it, "action"), "drop") ||
				 !strcmp(v(m, it, "action"), "reject")) &&
				list_has(v(m, it, "connection-state"), "invalid");
		}
		if (!found && n)
			add(r, LINT_WARNING, "no-drop-invalid", "/ip firewall filter",
			    "no rule drops connection-state=invalid in chain %s", chains[c]);
	}
}

static void check_services(struct store *st, struct lint_report *r)
{
	const struct menu *m = schema_find("/ip/service");
	static const char *const risky[] = { "telnet", "ftp", "www", "api", "winbox", "ssh",
					     "www-ssl", "api-ssl", NULL };
	for (const char *const *s = risky; *s; s++) {
		const struct item *it = m ? store_by_key(st, m, *s) : NULL;
		if (!it || yes(v(m, it, "disabled")) || *v(m, it, "address"))
			continue;
		char w[96];
		snprintf(w, sizeof(w), "/ip service %s", *s);
		bool plain = !strcmp(*s, "telnet") || !strcmp(*s, "ftp") || !strcmp(*s, "www");
		add(r, plain ? LINT_ERROR : LINT_WARNING, "open-service", w,
		    "enabled for every address%s: set address= to the management networks%s",
		    plain ? " and unencrypted" : "", plain ? ", or disable it" : "");
	}
}

/* ---- queues ---- */

static uint64_t rate(const struct menu *m, const struct item *it, const char *name)
{
	uint64_t x = 0;
	parse_rate(v(m, it, name), &x);
	return x;
}

/* A simple queue's upload/download pair ("1M/2M"; one rate is both). */
static bool rate_pair(const char *s, uint64_t out[2])
{
	char a[64];
	const char *slash = strchr(s, '/');
	out[0] = out[1] = 0;
	if (!slash)
		return parse_rate(s, &out[0]) == 0 && parse_rate(s, &out[1]) == 0;
	if ((size_t)(slash - s) >= sizeof(a))
		return false;
	memcpy(a, s, (size_t)(slash - s));
	a[slash - s] = 0;
	return parse_rate(a, &out[0]) == 0 && parse_rate(slash + 1, &out[1]) == 0;
}

static void check_queues(struct store *st, struct lint_report *r)
{
	const struct menu *m = schema_find("/queue/tree");
	size_t n = m ? store_count(st, m) : 0;
	for (size_t i = 0; i < n; i++) {
		const struct item *q = store_at(st, m, i);
		if (!enabled(m, q))
			continue;
		char w[96];
		where_of(m, i, q, w, sizeof(w));
		uint64_t la = rate(m, q, "limit-at"), ml = rate(m, q, "max-limit");
		if (ml && la > ml)
			add(r, LINT_ERROR, "queue-limits", w, "limit-at is above max-limit");
		uint64_t bl = rate(m, q, "burst-limit"), bt = rate(m, q, "burst-threshold");
		if (bl && (bt <= la || (ml && bt >= ml)))
			add(r, LINT_WARNING, "queue-burst", w,
			    "burst-threshold should lie between limit-at and max-limit, or the burst "
			    "never starts or never ends");
		/* children */
		uint64_t sum = 0;
		bool inner = false;
		const char *name = v(m, q, "name");
		for (size_t k = 0; k < n; k++) {
			const struct item *c = store_at(st, m, k);
			if (!enabled(m, c) || strcmp(v(m, c, "parent"), name))
				continue;
			inner = true;
			sum += rate(m, c, "limit-at");
			uint64_t cm = rate(m, c, "max-limit");
			if (ml && cm > ml) {
				char cw[96];
				where_of(m, k, c, cw, sizeof(cw));
				add(r, LINT_WARNING, "queue-limits", cw,
				    "max-limit is above its parent %s's: the parent's limit wins", name);
			}
		}
		if (inner && ml && sum > ml)
			add(r, LINT_WARNING, "queue-limits", w,
			    "its children's limit-at add up to more than its max-limit: the guarantees "
			    "cannot all be kept");
		if (inner && strcmp(v(m, q, "priority"), "8"))
			add(r, LINT_WARNING, "queue-priority", w,
			    "priority on a queue with children does nothing: it applies to leaves only");
		/* a shaper on an interface, at most a little under the line: its
		 * bucket is what it may send at wire speed after a lull */
		const char *parent = v(m, q, "parent");
		bool on_iface = strcmp(parent, "global") != 0;
		for (size_t k = 0; on_iface && k < n; k++)
			on_iface = strcmp(v(m, store_at(st, m, k), "name"), parent) != 0;
		double bucket = atof(v(m, q, "bucket-size"));
		if (on_iface && ml && bucket >= 0.05)
			add(r, LINT_WARNING, "queue-bucket", w,
			    "bucket-size=%s lets it send %.0f ms of its max-limit (%.0f kB) at wire "
			    "speed after a lull: under a line only a little faster, that burst waits in "
			    "the modem, where priorities do not apply; bucket-size=0.01 keeps it to 10 ms",
			    v(m, q, "bucket-size"), bucket * 1000, (double)ml * bucket / 8000);
	}
	const struct menu *s = schema_find("/queue/simple");
	size_t ns = s ? store_count(st, s) : 0;
	for (size_t j = 0; j < ns; j++) {
		const struct item *q = store_at(st, s, j);
		if (!enabled(s, q))
			continue;
		char w[96];
		where_of(s, j, q, w, sizeof(w));
		static const char *const dirs[2] = { "upload", "download" };
		uint64_t la[2], ml[2];
		if (rate_pair(v(s, q, "limit-at"), la) && rate_pair(v(s, q, "max-limit"), ml))
			for (int d = 0; d < 2; d++)
				if (ml[d] && la[d] > ml[d])
					add(r, LINT_ERROR, "queue-limits", w,
					    "%s limit-at is above %s max-limit", dirs[d], dirs[d]);
		uint64_t tla = rate(s, q, "total-limit-at"), tml = rate(s, q, "total-max-limit");
		if (tml && tla > tml)
			add(r, LINT_ERROR, "queue-limits", w,
			    "total-limit-at is above total-max-limit");
	}
	for (size_t j = 0; j < ns; j++) {
		const struct item *b = store_at(st, s, j);
		for (size_t i = 0; i < j; i++) {
			const struct item *a = store_at(st, s, i);
			if (!enabled(s, a) || !enabled(s, b) || *v(s, a, "packet-marks") ||
			    *v(s, a, "dst"))
				continue;
			/* a broad target first takes the traffic of a narrower one after it */
			uint32_t an, bn;
			int al, bl;
			if (parse_prefix4(v(s, a, "target"), &an, &al) < 0 ||
			    parse_prefix4(v(s, b, "target"), &bn, &bl) < 0 || al > bl ||
			    (an & prefix4_mask(al)) != (bn & prefix4_mask(al)))
				continue;
			char w[96];
			where_of(s, j, b, w, sizeof(w));
			add(r, LINT_WARNING, "simple-queue-order", w,
			    "never used: #%zu (%s) comes first and its target covers this one's; "
			    "move the specific queues above the broad ones", i, v(s, a, "name"));
			break;
		}
	}
}

void lint_run(struct store *st, struct lint_report *r)
{
	memset(r, 0, sizeof(*r));
	check_input(st, r);
	check_shadowed(st, r);
	check_mark_overwrite(st, r);
	check_chains(st, r);
	check_fasttrack_qos(st, r);
	check_marks_and_queues(st, r);
	check_queues(st, r);
	check_services(st, r);
}
