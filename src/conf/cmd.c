/*
 * The menu commands: add, set, unset, remove, move, enable, disable,
 * comment, find, get, print, export, reset-counters and the few commands
 * that belong to one menu (/log info, /system script run, /import ...).
 * Everything is generic over the schema: a menu's behaviour comes from its
 * table, never from code here. Each command is one store transaction,
 * except /undo, /redo and /safe-mode, which work on the store's history.
 */
#include "conf.h"
#include "runtime.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

void conf_args_add(struct conf_args *args, const char *name, const char *value, int line,
		   int col)
{
	if (args->n == args->cap) {
		args->cap = args->cap ? args->cap * 2 : 8;
		args->a = xrealloc(args->a, args->cap * sizeof(*args->a));
	}
	args->a[args->n++] = (struct conf_arg){ xstrdup(name), xstrdup(value), line, col, line, col };
}

void conf_args_free(struct conf_args *args)
{
	for (size_t i = 0; i < args->n; i++) {
		free(args->a[i].name);
		free(args->a[i].value);
	}
	free(args->a);
	args->a = NULL;
	args->n = args->cap = 0;
}

static int arg_err(struct err *e, const struct conf_arg *a)
{
	if (e && a && !e->line) {
		e->line = a->line;
		e->col = a->col;
	}
	return -1;
}

/* An error about the value of an argument points at the value. */
static int val_err(struct err *e, const struct conf_arg *a)
{
	if (e && a && !e->line) {
		e->line = a->vline;
		e->col = a->vcol;
	}
	return -1;
}

/* ---- which commands exist where ---- */

static const char *const item_cmds[] = { "add", "comment", "disable", "enable", "export",
					 "find", "get", "move", "print", "remove",
					 "reset-counters", "reset-counters-all", "set", "unset",
					 NULL };
static const char *const singleton_cmds[] = { "export", "get", "print", "set", "unset", NULL };
static const char *const runtime_cmds[] = { "find", "get", "print", NULL };
static const char *const forget_cmds[] = { "find", "get", "print", "remove", NULL };
static const char *const dir_cmds[] = { "export", NULL };
static const char *const root_cmds[] = { "export", "import", "password", "quit", "redo", "undo",
					 NULL };
static const char *const safe_mode_cmds[] = { "release", "take", "unroll", NULL };
static const char *const log_cmds[] = { "debug", "error", "find", "get", "info", "print",
					"warning", NULL };
static const char *const script_cmds[] = { "add", "comment", "disable", "enable", "export",
					   "find", "get", "move", "print", "remove", "run",
					   "set", "unset", NULL };

const char *const *cmd_list(const char *path)
{
	if (!path[0])
		return root_cmds;
	if (!strcmp(path, "/log"))
		return log_cmds;
	if (!strcmp(path, "/system/script"))
		return script_cmds;
	if (!strcmp(path, "/safe-mode"))
		return safe_mode_cmds;
	const struct menu *m = schema_find(path);
	if (!m)
		return dir_cmds;
	if (m->flags & MF_RUNTIME)
		return (m->flags & MF_FORGET) ? forget_cmds : runtime_cmds;
	if (m->flags & MF_SINGLETON)
		return singleton_cmds;
	return item_cmds;
}

bool cmd_exists(const char *path, const char *verb)
{
	for (const char *const *c = cmd_list(path); *c; c++)
		if (!strcmp(*c, verb))
			return true;
	return false;
}

/* ---- item numbers and ids ---- */

void conf_set_numbering(struct conf_session *s, const struct menu *m, const uint32_t *ids,
			size_t n)
{
	struct conf_numbering *nb = NULL;
	for (size_t i = 0; i < s->nnums; i++)
		if (s->nums[i].m == m)
			nb = &s->nums[i];
	if (!nb) {
		s->nums = xrealloc(s->nums, (s->nnums + 1) * sizeof(*s->nums));
		nb = &s->nums[s->nnums++];
		nb->m = m;
		nb->ids = NULL;
	}
	free(nb->ids);
	nb->ids = xmalloc((n ? n : 1) * sizeof(uint32_t));
	memcpy(nb->ids, ids, n * sizeof(uint32_t));
	nb->n = n;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* The ids of the dynamic items a provider adds to a stored menu (/ip/arp's
 * learnt entries), or of a runtime menu's items, read once per resolution,
 * when first needed. */
struct dyn_ids {
	bool read;
	uint32_t *ids;
	size_t n;
};

static bool dyn_has(struct conf_session *s, const struct menu *m, struct dyn_ids *d, uint32_t id)
{
	if (!d)
		return false;
	if (!d->read) {
		struct item **items = NULL;
		size_t n = 0;
		d->read = true;
		if (conf_runtime_provided(m))
			conf_runtime_items(s, m, &items, &n);
		d->ids = xmalloc((n ? n : 1) * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++) {
			d->ids[i] = items[i]->id;
			item_free(m, items[i]);
		}
		free(items);
		d->n = n;
	}
	for (size_t i = 0; i < d->n; i++)
		if (d->ids[i] == id)
			return true;
	return false;
}

/* "0,2,*1A,ether1" -> ids. Numbers refer to the last print of the menu (or
 * the menu's order when nothing was printed yet in this session). With
 * dyn (remove), the provider's dynamic items count too. */
static int resolve_items(struct conf_session *s, const struct menu *m, const char *spec,
			 struct dyn_ids *dyn, uint32_t **ids, size_t *n, struct err *e)
{
	*ids = NULL;
	*n = 0;
	const struct conf_numbering *nb = NULL;
	for (size_t i = 0; i < s->nnums; i++)
		if (s->nums[i].m == m)
			nb = &s->nums[i];
	char *copy = xstrdup(spec);
	char *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",;", &save); tok; tok = strtok_r(NULL, ",;", &save)) {
		while (*tok == ' ')
			tok++;
		uint32_t id = 0;
		bool found = false;
		if (tok[0] == '*') {
			if (store_parse_id(tok, &id) == 0 &&
			    (store_get(s->st, m, id) || dyn_has(s, m, dyn, id)))
				found = true;
		} else if (all_digits(tok)) {
			unsigned long k = strtoul(tok, NULL, 10);
			if (nb) {
				if (k < nb->n && (store_get(s->st, m, nb->ids[k]) ||
						  dyn_has(s, m, dyn, nb->ids[k]))) {
					id = nb->ids[k];
					found = true;
				}
			} else if (k < store_count(s->st, m)) {
				id = store_at(s->st, m, k)->id;
				found = true;
			}
		} else if (m->key) {
			struct item *it = store_by_key(s->st, m, tok);
			if (it) {
				id = it->id;
				found = true;
			}
		}
		if (!found) {
			rc = err_set(e, "no such item '%s' in %s", tok, m->path);
			break;
		}
		*ids = xrealloc(*ids, (*n + 1) * sizeof(uint32_t));
		(*ids)[(*n)++] = id;
	}
	free(copy);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

int conf_resolve_items(struct conf_session *s, const struct menu *m, const char *spec,
		       uint32_t **ids, size_t *n, struct err *e)
{
	return resolve_items(s, m, spec, NULL, ids, n, e);
}

/* ---- references ---- */

static bool is_interface_menu(const struct menu *m)
{
	return !strncmp(m->path, "/interface/", 11) && m->key &&
	       strcmp(m->path, "/interface/list") && strncmp(m->path, "/interface/list/", 16) &&
	       !(m->flags & MF_RUNTIME);
}

static bool interface_exists(struct conf_session *s, const char *name)
{
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (is_interface_menu(m) && store_by_key(s->st, m, name))
			return true;
	}
	return false;
}

static bool in_enums(const struct prop *p, const char *v)
{
	for (const char *const *x = p->enums; x && *x; x++)
		if (!strcmp(*x, v))
			return true;
	return false;
}

static bool ref_exists(struct conf_session *s, const struct prop *p, const char *v)
{
	if (in_enums(p, v))
		return true;
	if (!strcmp(p->ref, "interface"))
		return interface_exists(s, v);
	if (!strcmp(p->ref, "queue-parent")) {
		const struct menu *qt = schema_find("/queue/tree");
		return !strcmp(v, "global") || interface_exists(s, v) ||
		       (qt && store_by_key(s->st, qt, v));
	}
	const struct menu *t = schema_find(p->ref);
	return t && t->key && store_by_key(s->st, t, v);
}

/* Whether p names items of another menu: a T_REF, or a checked value that
 * is an upload/download pair of names (a simple queue's queue=). */
static bool is_ref(const struct prop *p)
{
	return p->ref && (p->type == T_REF || p->type == T_CUSTOM);
}

/* What separates the names of a reference value ("" for one name). */
static const char *ref_seps(const struct prop *p)
{
	if (p->type == T_CUSTOM)
		return "/";
	return (p->flags & PF_LIST) ? "," : "";
}

/* Checks every element of a reference value; names the first missing one. */
static int check_ref(struct conf_session *s, const struct prop *p, const char *v,
		     const char **missing)
{
	char *copy = xstrdup(v);
	char *save = NULL;
	const char *seps = ref_seps(p);
	int rc = 0;
	for (char *tok = *seps ? strtok_r(copy, seps, &save) : copy; tok;
	     tok = *seps ? strtok_r(NULL, seps, &save) : NULL) {
		if (*tok == '!')
			tok++;
		if (*tok && !ref_exists(s, p, tok)) {
			static char buf[128];
			snprintf(buf, sizeof(buf), "%s", tok);
			*missing = buf;
			rc = -1;
			break;
		}
	}
	free(copy);
	return rc;
}

bool conf_item_invalid(struct conf_session *s, const struct menu *m, const struct item *it)
{
	for (size_t i = 0; i < m->nprops; i++) {
		const struct prop *p = &m->props[i];
		const char *missing;
		if (is_ref(p) && it->vals[i] && it->vals[i][0] &&
		    check_ref(s, p, it->vals[i], &missing) < 0)
			return true;
	}
	return false;
}

/* Does property p name items of menu target? */
static bool refers_to(const struct prop *p, const struct menu *target)
{
	if (!is_ref(p))
		return false;
	if (!strcmp(p->ref, target->path))
		return true;
	if (!strcmp(p->ref, "interface"))
		return is_interface_menu(target);
	if (!strcmp(p->ref, "queue-parent"))
		return is_interface_menu(target) || !strcmp(target->path, "/queue/tree");
	return false;
}

/* Rewrites "a,!b,c" (elements separated by sep) replacing the element old
 * by new_ (NULL = test only); true when old is one of the elements. */
static bool list_has(const char *v, char sep, const char *old, const char *new_,
		     struct sbuf *out)
{
	bool found = false;
	const char *q = v;
	for (;;) {
		const char *comma = strchr(q, sep);
		size_t len = comma ? (size_t)(comma - q) : strlen(q);
		const char *el = q;
		size_t elen = len;
		if (elen && *el == '!') {
			el++;
			elen--;
		}
		bool hit = elen == strlen(old) && !strncmp(el, old, elen);
		found |= hit;
		if (out) {
			if (q != v)
				sbuf_putc(out, sep);
			if (hit) {
				if (el != q)
					sbuf_putc(out, '!');
				sbuf_puts(out, new_);
			} else {
				sbuf_add(out, q, len);
			}
		}
		if (!comma)
			break;
		q = comma + 1;
	}
	return found;
}

/*
 * References between items are by name. A rename carries over to every item
 * that names the renamed one (RouterOS keeps them by id, so they follow);
 * with new_ NULL, finds the first user instead (remove refuses an item in
 * use, so an export can always be imported again).
 */
static int rename_refs(struct conf_session *s, const struct menu *target, const char *old,
		       const char *new_, const struct item **user, const struct menu **user_menu,
		       struct err *e)
{
	for (size_t mi = 0; mi < schema_nmenus; mi++) {
		const struct menu *m = schema_menus[mi];
		if (m->flags & MF_RUNTIME)
			continue;
		for (size_t pi = 0; pi < m->nprops; pi++) {
			const struct prop *p = &m->props[pi];
			if (!refers_to(p, target))
				continue;
			for (size_t k = 0; k < store_count(s->st, m); k++) {
				const struct item *it = store_at(s->st, m, k);
				const char *v = it->vals[pi];
				char sep = *ref_seps(p) ? *ref_seps(p) : ',';
				if (!v || !list_has(v, sep, old, NULL, NULL))
					continue;
				if (!new_) {
					*user = it;
					*user_menu = m;
					return 1;
				}
				struct sbuf nv = SBUF_INIT, canon = SBUF_INIT;
				list_has(v, sep, old, new_, &nv);
				/* the user's value must still read back (a '/' in a
				 * name would split queue=default/x differently) */
				struct err why = { 0 };
				if (type_parse(p, sbuf_str(&nv), &canon, &why) < 0) {
					err_setp(e, target->key ? target->key : p->name,
						 "failure: %s *%X would have %s=%s: %s", m->path,
						 it->id, p->name, sbuf_str(&nv), why.msg);
					sbuf_free(&nv);
					sbuf_free(&canon);
					return -1;
				}
				sbuf_free(&canon);
				struct item *copy = item_dup(m, it);
				item_set(m, copy, (int)pi, sbuf_str(&nv));
				sbuf_free(&nv);
				if (store_replace(s->st, m, it->id, copy, e) < 0)
					return -1;
			}
		}
	}
	return 0;
}

int conf_virtual_iface(struct conf_session *s, const char *name, struct err *e)
{
	const struct menu *m = schema_find("/interface/ethernet");
	if (!m || interface_exists(s, name))
		return m ? 0 : err_set(e, "no /interface/ethernet menu");
	struct item *it = item_new(m);
	item_set(m, it, schema_prop(m, "name", NULL), name);
	item_set(m, it, schema_prop(m, "default-name", NULL), name);
	it->flags |= IF_DYNAMIC;
	return store_add(s->st, m, it, SIZE_MAX, NULL, e);
}

/* ---- building items from arguments ---- */

static bool is_special_arg(const char *name)
{
	return !strcmp(name, "place-before") || !strcmp(name, "copy-from") ||
	       !strcmp(name, "numbers") || !strcmp(name, ".id");
}

/* Parses and stores the named arguments on a detached item. */
/* A password as the store keeps it: its argon2id hash. */
static int hash_password(const char *pw, size_t len, char hash[crypto_pwhash_STRBYTES])
{
	if (sodium_init() < 0 ||
	    crypto_pwhash_str(hash, pw, len, crypto_pwhash_OPSLIMIT_INTERACTIVE,
			      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return -1;
	return 0;
}

static int apply_args(struct conf_session *s, const struct menu *m, struct item *it,
		      const struct conf_args *args, bool adding, struct err *e)
{
	struct sbuf canon = SBUF_INIT;
	unsigned char *seen = xcalloc(m->nprops ? m->nprops : 1, 1);
	int rc = 0;
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		if (!a->name || is_special_arg(a->name))
			continue;
		bool aliased = false;
		int pi = schema_prop(m, a->name, &aliased);
		if (pi < 0) {
			const char *sug = schema_suggest(m, a->name);
			if (sug)
				err_setp(e, a->name, "unknown property '%s' (did you mean '%s'?)",
					 a->name, sug);
			else
				err_setp(e, a->name, "unknown property '%s' in %s", a->name, m->path);
			rc = arg_err(e, a);
			break;
		}
		const struct prop *p = &m->props[pi];
		if (aliased)
			sbuf_printf(&s->warn,
				    "warning: line %d col %d: '%s' is taken as '%s' (RouterOS v6 name)\n",
				    a->line, a->col, a->name, p->name);
		if (p->flags & (PF_RO | PF_STAT)) {
			err_setp(e, p->name, "property '%s' is read-only", p->name);
			rc = arg_err(e, a);
			break;
		}
		if ((p->flags & PF_ADDONLY) && !adding) {
			err_setp(e, p->name, "property '%s' can only be given on add", p->name);
			rc = arg_err(e, a);
			break;
		}
		if (seen[pi]) {
			err_setp(e, p->name, "property '%s' given twice", p->name);
			rc = arg_err(e, a);
			break;
		}
		seen[pi] = 1;
		sbuf_reset(&canon);
		if (type_parse(p, a->value, &canon, e) < 0) {
			if (e && !e->prop[0])
				snprintf(e->prop, sizeof(e->prop), "%s", p->name);
			rc = val_err(e, a);
			break;
		}
		if ((p->flags & PF_HASHED) && canon.len && strncmp(sbuf_str(&canon), "$argon2", 7)) {
			/* a password is kept only as its hash (an exported hash imports as is) */
			char hash[crypto_pwhash_STRBYTES];
			if (hash_password(canon.s, canon.len, hash) < 0) {
				rc = err_setp(e, p->name, "cannot hash the password");
				break;
			}
			sbuf_reset(&canon);
			sbuf_puts(&canon, hash);
		}
		if (is_ref(p) && canon.len) {
			const char *missing = NULL;
			if (s->virtual_ifaces && (!strcmp(p->ref, "interface") ||
						  !strcmp(p->ref, "queue-parent"))) {
				while (check_ref(s, p, sbuf_str(&canon), &missing) < 0 &&
				       conf_virtual_iface(s, missing, e) == 0)
					;
			}
			if (check_ref(s, p, sbuf_str(&canon), &missing) < 0) {
				err_setp(e, p->name, "%s: no such %s '%s'", p->name,
					 !strcmp(p->ref, "interface") ? "interface"
					 : !strcmp(p->ref, "queue-parent") ? "parent (interface, queue or global)"
					 : p->ref, missing);
				rc = val_err(e, a);
				break;
			}
		}
		item_set(m, it, pi, sbuf_str(&canon));
	}
	free(seen);
	sbuf_free(&canon);
	return rc;
}

/* Whole-item checks: required properties, uniqueness, the menu's validator. */
static int check_item(struct conf_session *s, const struct menu *m, const struct item *it,
		      uint32_t self, struct err *e)
{
	for (size_t i = 0; i < m->nprops; i++) {
		const struct prop *p = &m->props[i];
		const char *v = item_geti(m, it, (int)i);
		if ((p->flags & PF_REQ) && (!v || (!v[0] && p->type != T_STR)))
			return err_setp(e, p->name, "missing value for %s", p->name);
		if ((p->flags & PF_REQ) && p->type == T_STR && v && !v[0] && m->key &&
		    !strcmp(m->key, p->name))
			return err_setp(e, p->name, "%s must not be empty", p->name);
		if ((p->flags & PF_UNIQUE) && it->vals[i]) {
			size_t n = store_count(s->st, m);
			for (size_t k = 0; k < n; k++) {
				const struct item *o = store_at(s->st, m, k);
				const char *ov = item_geti(m, o, (int)i);
				if (o->id != self && ov && !strcmp(ov, it->vals[i]))
					return err_setp(e, p->name,
							"failure: item with such %s (%s) already exists",
							p->name, it->vals[i]);
			}
		}
	}
	if (m->validate && m->validate(s->st, m, it, e) < 0)
		return -1;
	return 0;
}

static const struct conf_arg *named(const struct conf_args *args, const char *name)
{
	for (size_t i = 0; i < args->n; i++)
		if (args->a[i].name && !strcmp(args->a[i].name, name))
			return &args->a[i];
	return NULL;
}

static const struct conf_arg *positional(const struct conf_args *args, size_t k)
{
	for (size_t i = 0; i < args->n; i++)
		if (!args->a[i].name && k-- == 0)
			return &args->a[i];
	return NULL;
}

static size_t npositional(const struct conf_args *args)
{
	size_t n = 0;
	for (size_t i = 0; i < args->n; i++)
		if (!args->a[i].name)
			n++;
	return n;
}

static void put_id(struct sbuf *ret, uint32_t id)
{
	if (ret)
		sbuf_printf(ret, "*%X", id);
}

/* Automatic names for menus whose items are named but where RouterOS does not
 * require a name (simple queues: queue1, queue2 ...). */
static void auto_name(struct conf_session *s, const struct menu *m, struct item *it)
{
	if (!m->key)
		return;
	int k = schema_prop(m, m->key, NULL);
	if (k < 0 || it->vals[k] || (m->props[k].flags & PF_REQ))
		return;
	const char *base = strrchr(m->path, '/') + 1;
	if (!strcmp(base, "simple"))
		base = "queue";
	char name[64];
	for (unsigned i = 1;; i++) {
		snprintf(name, sizeof(name), "%s%u", base, i);
		if (!store_by_key(s->st, m, name))
			break;
	}
	item_set(m, it, k, name);
}

/* What RouterOS fills in on add: the owner of a script or a scheduled task
 * (the user who adds it), and a task's start-date and start-time (now,
 * unless it starts at startup). */
static void stamp_new(const struct conf_session *s, const struct menu *m, struct item *it)
{
	bool sched = !strcmp(m->path, "/system/scheduler");
	if (!sched && strcmp(m->path, "/system/script"))
		return;
	int po = schema_prop(m, "owner", NULL);
	if (po >= 0 && !it->vals[po] && s->user[0])
		item_set(m, it, po, s->user);
	int pd = schema_prop(m, "start-date", NULL), pt = schema_prop(m, "start-time", NULL);
	if (!sched || pd < 0 || pt < 0 || (it->vals[pt] && !strcmp(it->vals[pt], "startup")))
		return;
	char now[40]; /* "nov/27/2026 10:47:35" */
	conf_format_time((int64_t)time(NULL), now, sizeof(now));
	char *sp = strchr(now, ' ');
	if (!sp)
		return;
	*sp = 0;
	if (!it->vals[pd])
		item_set(m, it, pd, now);
	if (!it->vals[pt])
		item_set(m, it, pt, sp + 1);
}

static int resolve_one_pos(struct conf_session *s, const struct menu *m, const char *spec,
			   size_t *pos, struct err *e)
{
	uint32_t *ids;
	size_t n;
	if (conf_resolve_items(s, m, spec, &ids, &n, e) < 0)
		return -1;
	long p = n ? store_pos(s->st, m, ids[0]) : -1;
	free(ids);
	if (p < 0)
		return err_set(e, "no such item '%s'", spec);
	*pos = (size_t)p;
	return 0;
}

static int cmd_add(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		   struct sbuf *ret, struct err *e)
{
	if (m->flags & (MF_FIXED | MF_SINGLETON | MF_RUNTIME))
		return err_set(e, "failure: cannot add items to %s", m->path);
	if (npositional(args))
		return arg_err(e, positional(args, 0)),
		       err_set(e, "unexpected value '%s': add takes name=value arguments",
			       positional(args, 0)->value);
	struct item *it;
	const struct conf_arg *cf = named(args, "copy-from");
	if (cf) {
		uint32_t *ids;
		size_t n;
		if (conf_resolve_items(s, m, cf->value, &ids, &n, e) < 0 || n != 1) {
			free(n ? ids : NULL);
			return arg_err(e, cf);
		}
		it = item_dup(m, store_get(s->st, m, ids[0]));
		it->flags &= ~(IF_BUILTIN | IF_DYNAMIC);
		free(ids);
		if (m->key) /* a copy needs its own name */
			item_set(m, it, schema_prop(m, m->key, NULL), NULL);
	} else {
		it = item_new(m);
	}
	if (apply_args(s, m, it, args, true, e) < 0)
		goto fail;
	auto_name(s, m, it);
	if (!cf)
		stamp_new(s, m, it);
	for (size_t i = 0; i < m->nprops; i++)
		if ((m->props[i].flags & PF_DYNAMIC) && it->vals[i])
			it->flags |= IF_DYNAMIC;
	if (check_item(s, m, it, 0, e) < 0)
		goto fail;
	size_t pos = SIZE_MAX;
	const struct conf_arg *pb = named(args, "place-before");
	if (pb) {
		if (!(m->flags & MF_ORDERED)) {
			err_setp(e, "place-before", "place-before: %s is not ordered", m->path);
			arg_err(e, pb);
			goto fail;
		}
		if (resolve_one_pos(s, m, pb->value, &pos, e) < 0) {
			arg_err(e, pb);
			goto fail;
		}
	}
	uint32_t id;
	if (store_add(s->st, m, it, pos, &id, e) < 0)
		return -1;
	put_id(ret, id);
	return 0;
fail:
	item_free(m, it);
	return -1;
}

/* The items a command acts on: the first positional argument (or numbers=);
 * with dyn, dynamic items a provider adds too (resolve_items). */
static int targets(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		   struct dyn_ids *dyn, uint32_t **ids, size_t *n, bool required, struct err *e)
{
	*ids = NULL;
	*n = 0;
	if (m->flags & MF_SINGLETON) {
		if (!store_count(s->st, m))
			return err_set(e, "%s has no settings item", m->path);
		*ids = xmalloc(sizeof(uint32_t));
		(*ids)[0] = store_at(s->st, m, 0)->id;
		*n = 1;
		return 0;
	}
	const struct conf_arg *a = named(args, "numbers");
	if (!a)
		a = named(args, ".id");
	if (!a)
		a = positional(args, 0);
	if (!a) {
		if (required)
			return err_set(e, "missing item: give item numbers, ids or [find ...]");
		return 0;
	}
	if (!a->value[0])
		return 0; /* [find] that found nothing: nothing to do */
	if (resolve_items(s, m, a->value, dyn, ids, n, e) < 0)
		return arg_err(e, a);
	return 0;
}

static int target_items(struct conf_session *s, const struct menu *m,
			const struct conf_args *args, uint32_t **ids, size_t *n, bool required,
			struct err *e)
{
	return targets(s, m, args, NULL, ids, n, required, e);
}

/* The items set, unset, enable, disable and comment change. A dynamic item
 * a provider adds (a learnt ARP entry) is its owner's: RouterOS refuses to
 * change one, and the whole command then changes nothing. */
static int changed_items(struct conf_session *s, const struct menu *m,
			 const struct conf_args *args, uint32_t **ids, size_t *n, struct err *e)
{
	struct dyn_ids dyn = { 0 };
	int rc = targets(s, m, args, &dyn, ids, n, true, e);
	for (size_t i = 0; rc == 0 && i < *n; i++)
		if (!store_get(s->st, m, (*ids)[i]))
			rc = err_set(e, "failure: can not change dynamic");
	free(dyn.ids);
	if (rc < 0) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

static int cmd_set(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		   struct err *e)
{
	uint32_t *ids;
	size_t n;
	if (changed_items(s, m, args, &ids, &n, e) < 0)
		return -1;
	size_t extra = (m->flags & MF_SINGLETON) ? 0 : 1;
	if (npositional(args) > extra) {
		free(ids);
		const struct conf_arg *a = positional(args, extra);
		err_set(e, "unexpected value '%s': set takes items then name=value", a->value);
		return arg_err(e, a);
	}
	int rc = 0;
	int key = m->key ? schema_prop(m, m->key, NULL) : -1;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *cur = store_get(s->st, m, ids[i]);
		struct item *it = item_dup(m, cur);
		if (apply_args(s, m, it, args, false, e) < 0 || check_item(s, m, it, ids[i], e) < 0) {
			item_free(m, it);
			rc = -1;
			break;
		}
		char *old = key >= 0 ? xstrdup(item_geti(m, cur, key)) : NULL;
		const char *nv = key >= 0 ? item_geti(m, it, key) : NULL;
		char *renamed = old && nv && strcmp(old, nv) ? xstrdup(nv) : NULL;
		rc = store_replace(s->st, m, ids[i], it, e);
		if (rc == 0 && renamed)
			rc = rename_refs(s, m, old, renamed, NULL, NULL, e) < 0 ? -1 : 0;
		free(old);
		free(renamed);
	}
	free(ids);
	return rc;
}

static int cmd_unset(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		     struct err *e)
{
	uint32_t *ids;
	size_t n;
	if (changed_items(s, m, args, &ids, &n, e) < 0)
		return -1;
	/* property names: value-name=a,b or the positional words after the items */
	struct sbuf names = SBUF_INIT;
	const struct conf_arg *vn = named(args, "value-name");
	if (vn)
		sbuf_puts(&names, vn->value);
	for (size_t k = (m->flags & MF_SINGLETON) ? 0 : 1; positional(args, k); k++) {
		if (names.len)
			sbuf_putc(&names, ',');
		sbuf_puts(&names, positional(args, k)->value);
	}
	int rc = 0;
	if (!names.len)
		rc = err_set(e, "unset: which property? (value-name=...)");
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *it = item_dup(m, store_get(s->st, m, ids[i]));
		char *copy = xstrdup(sbuf_str(&names)), *save = NULL;
		for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
		     tok = strtok_r(NULL, ",", &save)) {
			int pi = schema_prop(m, tok, NULL);
			if (pi < 0)
				rc = err_setp(e, tok, "unknown property '%s'", tok);
			else if (m->props[pi].flags & (PF_RO | PF_STAT | PF_REQ))
				rc = err_setp(e, tok, "property '%s' cannot be unset", tok);
			else
				item_set(m, it, pi, NULL);
		}
		free(copy);
		if (rc == 0 && check_item(s, m, it, ids[i], e) < 0)
			rc = -1;
		if (rc == 0)
			rc = store_replace(s->st, m, ids[i], it, e);
		else
			item_free(m, it);
	}
	sbuf_free(&names);
	free(ids);
	return rc;
}

static int cmd_remove(struct conf_session *s, const struct menu *m,
		      const struct conf_args *args, struct err *e)
{
	if ((m->flags & (MF_FIXED | MF_SINGLETON)) ||
	    (m->flags & (MF_RUNTIME | MF_FORGET)) == MF_RUNTIME)
		return err_set(e, "failure: items of %s cannot be removed", m->path);
	uint32_t *ids;
	size_t n;
	struct dyn_ids dyn = { 0 };
	if (targets(s, m, args, &dyn, &ids, &n, true, e) < 0) {
		free(dyn.ids);
		return -1;
	}
	int rc = 0;
	char **names = xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *it = store_get(s->st, m, ids[i]);
		if (!it)
			continue; /* listed twice, or dynamic: below */
		if (m->key)
			names[i] = xstrdup(item_get(m, it, m->key));
		if (it->flags & IF_BUILTIN)
			rc = err_set(e, "failure: cannot remove builtin item");
		else
			rc = store_remove(s->st, m, ids[i], e);
	}
	/* what is left must not name what went (the whole command fails) */
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct item *user = NULL;
		const struct menu *um = NULL;
		if (names[i] && rename_refs(s, m, names[i], NULL, &user, &um, e) > 0)
			rc = err_set(e, "failure: %s is in use by %s *%X", names[i], um->path,
				     user->id);
	}
	/* the learnt items last: their owner cannot take a removal back */
	for (size_t i = 0; i < n && rc == 0; i++) {
		bool twice = false;
		for (size_t j = 0; j < i && !twice; j++)
			twice = ids[j] == ids[i];
		if (!twice && !store_get(s->st, m, ids[i]) && dyn_has(s, m, &dyn, ids[i]))
			rc = conf_remove_hook_run(m, ids[i], e);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dyn.ids);
	free(ids);
	return rc;
}

static int cmd_move(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		    struct err *e)
{
	if (!(m->flags & MF_ORDERED))
		return err_set(e, "%s is not ordered: move does not apply", m->path);
	uint32_t *ids;
	size_t n;
	if (target_items(s, m, args, &ids, &n, true, e) < 0)
		return -1;
	const struct conf_arg *d = named(args, "destination");
	if (!d)
		d = positional(args, 1);
	int rc = 0;
	uint32_t dest_id = 0;
	if (d) {
		uint32_t *dids;
		size_t dn;
		if (conf_resolve_items(s, m, d->value, &dids, &dn, e) < 0) {
			free(ids);
			return arg_err(e, d);
		}
		dest_id = dids[0];
		free(dids);
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		size_t pos = SIZE_MAX;
		if (d) {
			long p = store_pos(s->st, m, dest_id);
			pos = p < 0 ? SIZE_MAX : (size_t)p;
		}
		if (d && ids[i] == dest_id)
			continue;
		rc = store_move(s->st, m, ids[i], pos, e);
	}
	free(ids);
	return rc;
}

static int cmd_enable(struct conf_session *s, const struct menu *m,
		      const struct conf_args *args, bool disable, struct err *e)
{
	int pi = schema_prop(m, "disabled", NULL);
	if (pi < 0)
		return err_set(e, "%s items cannot be disabled", m->path);
	uint32_t *ids;
	size_t n;
	if (changed_items(s, m, args, &ids, &n, e) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *it = item_dup(m, store_get(s->st, m, ids[i]));
		item_set(m, it, pi, disable ? "yes" : "no");
		rc = store_replace(s->st, m, ids[i], it, e);
	}
	free(ids);
	return rc;
}

static int cmd_comment(struct conf_session *s, const struct menu *m,
		       const struct conf_args *args, struct err *e)
{
	int pi = schema_prop(m, "comment", NULL);
	if (pi < 0)
		return err_set(e, "%s items have no comment", m->path);
	uint32_t *ids;
	size_t n;
	if (changed_items(s, m, args, &ids, &n, e) < 0)
		return -1;
	const struct conf_arg *c = named(args, "comment");
	if (!c)
		c = positional(args, 1);
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *it = item_dup(m, store_get(s->st, m, ids[i]));
		item_set(m, it, pi, c ? c->value : NULL);
		rc = store_replace(s->st, m, ids[i], it, e);
	}
	free(ids);
	return rc;
}

void conf_menu_items(struct conf_session *s, const struct menu *m, struct item ***items,
		     size_t *n, bool *owned)
{
	*owned = false;
	if ((m->flags & MF_RUNTIME) || ((m->flags & MF_SINGLETON) && conf_runtime_provided(m))) {
		conf_runtime_items(s, m, items, n);
		*owned = true;
		return;
	}
	*n = store_count(s->st, m);
	if (conf_runtime_provided(m)) {
		/* a stored menu whose owner adds what it learnt at run time (the
		 * live dataplane's dynamic ARP entries): the stored items, then
		 * its own */
		struct item **extra = NULL;
		size_t ne = 0;
		conf_runtime_items(s, m, &extra, &ne);
		*items = xmalloc((*n + ne ? *n + ne : 1) * sizeof(struct item *));
		for (size_t i = 0; i < *n; i++)
			(*items)[i] = item_dup(m, store_at(s->st, m, i));
		memcpy(*items + *n, extra, ne * sizeof(struct item *));
		*n += ne;
		free(extra);
		*owned = true;
		return;
	}
	*items = xmalloc((*n ? *n : 1) * sizeof(struct item *));
	for (size_t i = 0; i < *n; i++)
		(*items)[i] = store_at(s->st, m, i);
}

static void free_items(const struct menu *m, struct item **items, size_t n, bool owned)
{
	if (owned)
		for (size_t i = 0; i < n; i++)
			item_free(m, items[i]);
	free(items);
}

/* find/print selection: where=..., name=value equalities and bare flags. */
static int build_filter(struct conf_session *s, const struct menu *m,
			const struct conf_args *args, const char *const *skip, bool bare_flags,
			struct where **w, struct err *e)
{
	struct sbuf expr = SBUF_INIT;
	int rc = 0;
	*w = NULL;
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		bool skipped = false;
		for (const char *const *k = skip; k && *k; k++)
			if (a->name ? !strcmp(a->name, *k) : !strcmp(a->value, *k))
				skipped = true;
		if (skipped)
			continue;
		if (expr.len)
			sbuf_puts(&expr, " and ");
		if (a->name && !strcmp(a->name, "where")) {
			sbuf_printf(&expr, "(%s)", a->value);
		} else if (a->name) {
			if (schema_prop(m, a->name, NULL) < 0 && !schema_state_name(m, a->name)) {
				const char *sug = schema_suggest(m, a->name);
				if (sug)
					rc = err_setp(e, a->name,
						      "unknown property '%s' (did you mean '%s'?)",
						      a->name, sug);
				else
					rc = err_setp(e, a->name, "unknown property '%s' in %s",
						      a->name, m->path);
				arg_err(e, a);
				break;
			}
			sbuf_printf(&expr, "%s=", a->name);
			conf_quote(a->value, true, &expr);
		} else if (bare_flags) {
			sbuf_printf(&expr, "%s", a->value);
		} else {
			rc = err_set(e, "unexpected value '%s'", a->value);
			arg_err(e, a);
			break;
		}
	}
	if (rc == 0 && expr.len)
		rc = where_parse(s, m, sbuf_str(&expr), w, e);
	sbuf_free(&expr);
	return rc;
}

static int cmd_find(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		    struct sbuf *ret, struct err *e)
{
	struct where *w;
	if (build_filter(s, m, args, NULL, true, &w, e) < 0)
		return -1;
	struct item **items;
	size_t n;
	bool owned;
	conf_menu_items(s, m, &items, &n, &owned);
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (w && !where_match(w, m, items[i]))
			continue;
		if (ret) {
			if (!first)
				sbuf_putc(ret, ';');
			put_id(ret, items[i]->id);
		}
		first = false;
	}
	free_items(m, items, n, owned);
	where_free(w);
	return 0;
}

/* An item of a runtime menu (not in the store: /interface) by its name
 * or its number in the list. */
static const struct item *runtime_item(const struct menu *m, struct item **items, size_t n,
				       const char *spec)
{
	if (all_digits(spec)) {
		unsigned long k = strtoul(spec, NULL, 10);
		return k < n ? items[k] : NULL;
	}
	int k = m->key ? schema_prop(m, m->key, NULL) : -1;
	for (size_t i = 0; k >= 0 && i < n; i++)
		if (items[i]->vals[k] && !strcmp(items[i]->vals[k], spec))
			return items[i];
	return NULL;
}

static int cmd_get(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		   struct sbuf *ret, struct err *e)
{
	struct item **items;
	size_t n;
	bool owned;
	/* get [item] value-name, nothing else (RouterOS: "expected end of command");
	 * the item may be named number= */
	bool single = m->flags & MF_SINGLETON;
	const struct conf_arg *num = single ? NULL : named(args, "number");
	size_t most = single || num ? 1 : 2;
	for (size_t i = 0, npos = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		bool extra = a->name ? strcmp(a->name, "value-name") && a != num
				     : ++npos > most;
		if (extra) {
			err_set(e, "get: unexpected '%s' (expected [item] value-name)",
				a->name ? a->name : a->value);
			return arg_err(e, a);
		}
	}
	conf_menu_items(s, m, &items, &n, &owned);
	const struct item *it = NULL;
	size_t k = 0;
	int rc = 0;
	if (single) {
		it = n ? items[0] : NULL;
	} else {
		const struct conf_arg *a = num ? num : positional(args, 0);
		k = num ? 0 : 1;
		if (!a) {
			rc = err_set(e, "get: which item?");
		} else {
			uint32_t id = 0;
			uint32_t *ids = NULL;
			size_t nid = 0;
			if (a->value[0] == '*' && store_parse_id(a->value, &id) == 0) {
				for (size_t i = 0; i < n; i++)
					if (items[i]->id == id)
						it = items[i];
			} else if (m->flags & MF_RUNTIME) {
				it = runtime_item(m, items, n, a->value);
			} else if (conf_resolve_items(s, m, a->value, &ids, &nid, e) == 0 && nid) {
				it = store_get(s->st, m, ids[0]);
			}
			free(ids);
			if (!it)
				rc = err_set(e, "no such item '%s'", a->value);
		}
	}
	if (rc == 0 && !it)
		rc = err_set(e, "no such item");
	const struct conf_arg *pa = named(args, "value-name");
	if (!pa)
		pa = positional(args, k);
	if (rc == 0) {
		if (pa) {
			int pi = schema_prop(m, pa->value, NULL);
			const char *v = NULL;
			const char *state = pi < 0 ? schema_state_name(m, pa->value) : NULL;
			if (pi < 0 && !state) {
				rc = err_setp(e, pa->value, "unknown property '%s'", pa->value);
				arg_err(e, pa);
			} else {
				char buf[24];
				v = state ? item_get(m, it, state) : item_show(m, it, pi, buf, sizeof(buf));
				/* a statistic not measured yet reads 0, as print stats shows it */
				if (!v && pi >= 0 && (m->props[pi].flags & PF_STAT))
					v = "0";
				if (ret && v)
					sbuf_puts(ret, v);
			}
		} else if (ret) {
			sbuf_printf(ret, ".id=*%X", it->id);
			for (size_t i = 0; i < m->nprops; i++) {
				char buf[24];
				const char *v = item_show(m, it, (int)i, buf, sizeof(buf));
				if (v)
					sbuf_printf(ret, ";%s=%s", m->props[i].name, v);
			}
		}
	}
	free_items(m, items, n, owned);
	return rc;
}

/* Writes text to a file in the files directory (print file=, export file=). */
static int write_file(struct conf_session *s, const char *name, const char *ext,
		      const char *text, struct err *e)
{
	if (!name[0] || strstr(name, "..") || strchr(name, '\n'))
		return err_set(e, "invalid file name '%s'", name);
	char path[600];
	mkdir(s->files_dir, 0755);
	size_t ln = strlen(name), le = strlen(ext);
	bool has_ext = ln > le && !strcmp(name + ln - le, ext);
	snprintf(path, sizeof(path), "%s/%s%s", s->files_dir, name, has_ext ? "" : ext);
	char *slash = strrchr(path, '/');
	if (slash && slash > path + strlen(s->files_dir)) { /* subdirectory */
		*slash = 0;
		mkdir(path, 0755);
		*slash = '/';
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return err_set(e, "cannot write %s: %s", path, strerror(errno));
	fputs(text, f);
	if (fclose(f) != 0)
		return err_set(e, "cannot write %s: %s", path, strerror(errno));
	return 0;
}

static const char *const print_words[] = { "detail", "terse", "stats", "count-only",
					   "without-paging", "value-list", "brief", "show-ids",
					   "file", "proplist", "follow", "follow-only", "interval",
					   "append", "where", "as-value", "stats-detail", "rate", NULL };

static bool is_follow_word(const struct conf_arg *a)
{
	return !a->name && (!strcmp(a->value, "follow") || !strcmp(a->value, "follow-only"));
}

/* print follow: what a streaming front runs again (the arguments without
 * the follow word). */
static void follow_record(struct conf_session *s, const struct menu *m,
			  const struct conf_args *args, int mode)
{
	if (!s->follow_args)
		s->follow_args = xcalloc(1, sizeof(*s->follow_args));
	conf_args_free(s->follow_args);
	for (size_t i = 0; i < args->n; i++)
		if (!is_follow_word(&args->a[i]))
			conf_args_add(s->follow_args, args->a[i].name, args->a[i].value,
				      args->a[i].line, args->a[i].col);
	snprintf(s->follow_path, sizeof(s->follow_path), "%s", m->path);
	s->follow = mode;
}

static int cmd_print(struct conf_session *s, const struct menu *m, const struct conf_args *args,
		     struct sbuf *ret, struct err *e)
{
	struct print_opts o = { 0 };
	const char *file = NULL;
	char **plist = NULL;
	int follow = 0;
	bool as_value = false;
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		const char *w = a->name ? a->name : a->value;
		if (a->name && !strcmp(a->name, "where"))
			continue;
		bool known = false;
		for (const char *const *k = print_words; *k; k++)
			if (!strcmp(*k, w))
				known = true;
		if (!known && !a->name && (m->flags & MF_SINGLETON) == 0) {
			/* print 0 / print [find ...]: select items */
			continue;
		}
		if (!known) {
			err_set(e, "print: unexpected '%s' (expected detail, terse, stats, "
				   "count-only, without-paging, value-list, file=, where ...)", w);
			return arg_err(e, a);
		}
		if (!strcmp(w, "detail"))
			o.detail = true;
		else if (!strcmp(w, "terse"))
			o.terse = true;
		else if (!strcmp(w, "stats") || !strcmp(w, "stats-detail") || !strcmp(w, "rate"))
			o.stats = true;
		else if (!strcmp(w, "count-only"))
			o.count_only = true;
		else if (!strcmp(w, "as-value"))
			as_value = true;
		else if (!strcmp(w, "value-list"))
			o.value_list = true;
		else if (!strcmp(w, "brief"))
			o.brief = true;
		else if (!strcmp(w, "show-ids"))
			o.show_ids = true;
		else if (!strcmp(w, "file") && a->name)
			file = a->value;
		else if (is_follow_word(a))
			follow = !strcmp(w, "follow") ? 1 : 2;
		else if (!strcmp(w, "proplist") && a->name) {
			size_t np = 0;
			char *copy = xstrdup(a->value), *save = NULL;
			for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
				if (schema_prop(m, t, NULL) < 0) {
					/* t is in copy: the message first */
					err_setp(e, t, "unknown property '%s'", t);
					free(copy);
					for (size_t k = 0; k < np; k++)
						free(plist[k]);
					free(plist);
					return arg_err(e, a);
				}
				plist = xrealloc(plist, (np + 2) * sizeof(char *));
				plist[np++] = xstrdup(t);
				plist[np] = NULL;
			}
			free(copy);
			o.proplist = (const char *const *)plist;
		}
	}
	/* selection: where= plus positional item numbers */
	struct where *w = NULL;
	static const char *const skip_where[] = { "detail", "terse", "stats", "count-only",
						  "without-paging", "value-list", "brief",
						  "show-ids", "file", "proplist", "follow",
						  "follow-only", "interval", "append", "as-value",
						  "stats-detail", "rate", NULL };
	struct conf_args wargs = { 0 };
	const struct conf_arg *sel = NULL;
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		if (a->name && !strcmp(a->name, "where"))
			conf_args_add(&wargs, "where", a->value, a->line, a->col);
		else if (!a->name) {
			bool word = false;
			for (const char *const *k = skip_where; *k; k++)
				if (!strcmp(*k, a->value))
					word = true;
			if (!word)
				sel = a;
		}
	}
	int rc = build_filter(s, m, &wargs, NULL, false, &w, e);
	conf_args_free(&wargs);
	uint32_t *selids = NULL;
	size_t nsel = 0;
	if (rc == 0 && sel && conf_resolve_items(s, m, sel->value, &selids, &nsel, e) < 0)
		rc = arg_err(e, sel);
	if (rc < 0) {
		for (size_t k = 0; plist && plist[k]; k++)
			free(plist[k]);
		free(plist);
		free(selids);
		where_free(w);
		return -1;
	}
	struct item **items;
	size_t n;
	bool owned;
	conf_menu_items(s, m, &items, &n, &owned);
	struct item **shown = xmalloc((n ? n : 1) * sizeof(*shown));
	size_t k = 0;
	bool log = !strcmp(m->path, "/log");
	if (log && s->log_last < s->log_after)
		s->log_last = s->log_after;
	for (size_t i = 0; i < n; i++) {
		if (log && items[i]->id > s->log_last)
			s->log_last = items[i]->id;
		if (log && items[i]->id <= s->log_after)
			continue;
		if (w && !where_match(w, m, items[i]))
			continue;
		if (sel) {
			bool in = false;
			for (size_t j = 0; j < nsel; j++)
				if (selids[j] == items[i]->id)
					in = true;
			if (!in)
				continue;
		}
		shown[k++] = items[i];
	}
	if (follow)
		follow_record(s, m, args, follow);
	if (follow == 2) {
		/* follow-only: nothing now, what comes later */
	} else if (o.count_only) {
		/* in [ ] the count is the value, as RouterOS gives it; on its own
		 * the command shows it */
		char num[32];
		snprintf(num, sizeof(num), "%zu", k);
		if (ret)
			sbuf_puts(ret, num);
		if (!ret || !s->subst)
			sbuf_printf(&s->out, "%s\n", num);
	} else if (as_value) {
		/* a value only: on its own the command shows nothing, as in RouterOS */
		if (ret)
			print_as_value(s, m, shown, k, &o, ret);
	} else {
		struct sbuf text = SBUF_INIT;
		int width = s->width;
		if (file)
			s->width = 0; /* a file is read elsewhere, at any width */
		print_items(s, m, shown, k, &o, &text);
		s->width = width;
		/* the numbers remove and set take after a print (a runtime
		 * menu's only where remove applies) */
		if (!(m->flags & MF_SINGLETON) &&
		    (!(m->flags & MF_RUNTIME) || (m->flags & MF_FORGET))) {
			uint32_t *ids = xmalloc((k ? k : 1) * sizeof(uint32_t));
			for (size_t i = 0; i < k; i++)
				ids[i] = shown[i]->id;
			conf_set_numbering(s, m, ids, k);
			free(ids);
		}
		if (file)
			rc = write_file(s, file, ".txt", sbuf_str(&text), e);
		else
			sbuf_puts(&s->out, sbuf_str(&text));
		sbuf_free(&text);
	}
	free(shown);
	free(selids);
	free_items(m, items, n, owned);
	where_free(w);
	for (size_t j = 0; plist && plist[j]; j++)
		free(plist[j]);
	free(plist);
	return rc;
}

static int cmd_export(struct conf_session *s, const char *path, const struct conf_args *args,
		      struct err *e)
{
	unsigned flags = 0;
	const char *file = NULL;
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		const char *w = a->name ? a->name : a->value;
		if (!strcmp(w, "verbose"))
			flags |= CONF_EXPORT_VERBOSE;
		else if (!strcmp(w, "show-sensitive"))
			flags |= CONF_EXPORT_SENSITIVE;
		else if (!strcmp(w, "hide-sensitive") || !strcmp(w, "compact") ||
			 !strcmp(w, "terse"))
			;
		else if (!strcmp(w, "file") && a->name)
			file = a->value;
		else {
			err_set(e, "export: unexpected '%s' (expected verbose, show-sensitive, "
				   "compact, terse or file=)", w);
			return arg_err(e, a);
		}
	}
	struct sbuf text = SBUF_INIT;
	int rc = conf_export(s, path, flags, &text, e);
	if (rc == 0) {
		if (file)
			rc = write_file(s, file, ".rsc", sbuf_str(&text), e);
		else
			sbuf_puts(&s->out, sbuf_str(&text));
	}
	sbuf_free(&text);
	return rc;
}

static int cmd_reset_counters(struct conf_session *s, const struct menu *m,
			      const struct conf_args *args, bool all, struct err *e)
{
	uint32_t *ids = NULL;
	size_t n = 0;
	if (all || (!positional(args, 0) && !named(args, "numbers"))) {
		n = store_count(s->st, m);
		ids = xmalloc((n ? n : 1) * sizeof(uint32_t));
		for (size_t i = 0; i < n; i++)
			ids[i] = store_at(s->st, m, i)->id;
	} else if (target_items(s, m, args, &ids, &n, true, e) < 0) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		store_reset_counters(s->st, m, ids[i]);
		conf_reset_hook_run(m, ids[i]);
	}
	free(ids);
	return 0;
}

static char *read_file(const char *path, struct err *e)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		err_set(e, "cannot read %s: %s", path, strerror(errno));
		return NULL;
	}
	struct sbuf b = SBUF_INIT;
	char buf[8192];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, k);
	fclose(f);
	return sbuf_steal(&b);
}

static int cmd_import(struct conf_session *s, const struct conf_args *args, struct err *e)
{
	const struct conf_arg *a = named(args, "file-name");
	if (!a)
		a = positional(args, 0);
	if (!a)
		return err_set(e, "import: file-name= is required");
	char path[600];
	struct stat sb;
	snprintf(path, sizeof(path), "%s/%s", s->files_dir, a->value);
	if (stat(path, &sb) != 0) {
		snprintf(path, sizeof(path), "%s/%s.rsc", s->files_dir, a->value);
		if (stat(path, &sb) != 0)
			snprintf(path, sizeof(path), "%s", a->value);
	}
	char *text = read_file(path, e);
	if (!text)
		return arg_err(e, a);
	s->nest++;
	int rc = s->nest > 8 ? err_set(e, "imports nested too deeply")
			     : conf_import(s, text, a->value, 0, NULL, e);
	s->nest--;
	if (rc < 0) {
		char msg[sizeof(e->msg)];
		struct sbuf where = SBUF_INIT;
		err_format(e, &where);
		snprintf(msg, sizeof(msg), "%s: %s", a->value, sbuf_str(&where));
		sbuf_free(&where);
		err_clear(e);
		snprintf(e->msg, sizeof(e->msg), "%s", msg);
	} else {
		sbuf_printf(&s->out, "Script file loaded and executed successfully\n");
	}
	free(text);
	return rc;
}

static int cmd_script_run(struct conf_session *s, const struct menu *m,
			  const struct conf_args *args, struct sbuf *ret, struct err *e)
{
	uint32_t *ids;
	size_t n;
	if (target_items(s, m, args, &ids, &n, true, e) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct item *it = store_get(s->st, m, ids[i]);
		/* last-started and run-count are the running router's, never
		 * stored (as a queue's counters) */
		char now[40];
		conf_format_time((int64_t)time(NULL), now, sizeof(now));
		const char *runs = item_get(m, it, "run-count");
		char buf[24];
		snprintf(buf, sizeof(buf), "%llu", (runs ? strtoull(runs, NULL, 10) : 0) + 1);
		item_set(m, it, schema_prop(m, "last-started", NULL), now);
		item_set(m, it, schema_prop(m, "run-count", NULL), buf);
		/* the script may change or remove its own item */
		const char *src0 = item_get(m, it, "source");
		char *src = xstrdup(src0 ? src0 : ""), *name = xstrdup(item_get(m, it, "name"));
		char saved[sizeof(s->path)];
		snprintf(saved, sizeof(saved), "%s", s->path);
		s->path[0] = 0;
		rc = script_run(s, src, 1, 1, ret, e);
		snprintf(s->path, sizeof(s->path), "%s", saved);
		if (rc < 0) {
			char msg[sizeof(e->msg)];
			snprintf(msg, sizeof(msg), "script %s: line %d col %d: %s", name, e->line,
				 e->col, e->msg);
			snprintf(e->msg, sizeof(e->msg), "%s", msg);
			e->line = e->col = 0;
		}
		free(src);
		free(name);
	}
	free(ids);
	return rc;
}

static int cmd_log(struct conf_session *s, const char *verb, const struct conf_args *args,
		   struct err *e)
{
	const struct conf_arg *a = named(args, "message");
	if (!a)
		a = positional(args, 0);
	if (!a)
		return err_set(e, "/log %s: message is required", verb);
	char topics[32];
	snprintf(topics, sizeof(topics), "script,%s", verb);
	conf_log(topics, "%s", a->value);
	return 0;
}

/*
 * /password: the session's user changes their own password, giving the old
 * one and the new one twice (RouterOS asks for them; here they are
 * arguments). A wrong old password or a confirmation that differs changes
 * nothing.
 */
static int cmd_password(struct conf_session *s, const struct conf_args *args, struct err *e)
{
	static const char *const names[] = { "old-password", "new-password",
					     "confirm-new-password" };
	const struct conf_arg *v[3] = { NULL, NULL, NULL };
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		size_t k = 0;
		while (k < 3 && (!a->name || strcmp(a->name, names[k])))
			k++;
		if (k == 3) {
			if (a->name)
				err_setp(e, a->name, "unknown property '%s' for /password", a->name);
			else
				err_set(e, "unexpected value '%s': /password takes old-password=, "
					   "new-password= and confirm-new-password=", a->value);
			return arg_err(e, a);
		}
		v[k] = a;
	}
	for (size_t k = 0; k < 3; k++)
		if (!v[k])
			return err_setp(e, names[k], "missing value for %s", names[k]);
	const struct menu *m = schema_find("/user");
	struct item *it = m ? store_by_key(s->st, m, s->user) : NULL;
	if (!it)
		return err_set(e, "no such user '%s'", s->user);
	const char *hash = item_get(m, it, "password");
	const char *old = v[0]->value;
	bool ok = hash && *hash ? sodium_init() >= 0 &&
					  crypto_pwhash_str_verify(hash, old, strlen(old)) == 0
				: !*old;
	if (!ok)
		return err_setp(e, "old-password", "old password is not valid"), arg_err(e, v[0]);
	if (strcmp(v[1]->value, v[2]->value))
		return err_setp(e, "confirm-new-password",
				"new password and its confirmation differ"),
		       arg_err(e, v[2]);
	struct item *n = item_dup(m, it);
	char nh[crypto_pwhash_STRBYTES];
	if (hash_password(v[1]->value, strlen(v[1]->value), nh) < 0) {
		item_free(m, n);
		return err_set(e, "cannot hash the password");
	}
	item_set(m, n, schema_prop(m, "password", NULL), nh);
	sodium_memzero(nh, sizeof(nh));
	return store_replace(s->st, m, it->id, n, e);
}

/* Commands that only read (no transaction, no journal entry). */
static bool read_only_verb(const char *verb)
{
	return !strcmp(verb, "print") || !strcmp(verb, "find") || !strcmp(verb, "get") ||
	       !strcmp(verb, "export") || !strcmp(verb, "quit");
}

static int dispatch(struct conf_session *s, const char *path, const char *verb,
		    const struct conf_args *args, struct sbuf *ret, struct err *e)
{
	if (!path[0]) {
		if (!strcmp(verb, "import"))
			return cmd_import(s, args, e);
		if (!strcmp(verb, "password"))
			return cmd_password(s, args, e);
		if (!strcmp(verb, "quit")) {
			/* RouterOS keeps the changes of a session that quits in safe mode */
			if (conf_in_safe_mode(s))
				conf_safe_mode(s, CONF_SAFE_RELEASE, NULL);
			s->quit = true;
			return 0;
		}
	}
	if (!strcmp(path, "/log") && (!strcmp(verb, "info") || !strcmp(verb, "warning") ||
				      !strcmp(verb, "error") || !strcmp(verb, "debug")))
		return cmd_log(s, verb, args, e);
	const struct menu *m = schema_find(path);
	if (!strcmp(verb, "export"))
		return cmd_export(s, path, args, e);
	if (!m)
		return err_set(e, "no such command '%s' in %s", verb, path[0] ? path : "/");
	if (!strcmp(verb, "add"))
		return cmd_add(s, m, args, ret, e);
	if (!strcmp(verb, "set"))
		return cmd_set(s, m, args, e);
	if (!strcmp(verb, "unset"))
		return cmd_unset(s, m, args, e);
	if (!strcmp(verb, "remove"))
		return cmd_remove(s, m, args, e);
	if (!strcmp(verb, "move"))
		return cmd_move(s, m, args, e);
	if (!strcmp(verb, "enable") || !strcmp(verb, "disable"))
		return cmd_enable(s, m, args, !strcmp(verb, "disable"), e);
	if (!strcmp(verb, "comment"))
		return cmd_comment(s, m, args, e);
	if (!strcmp(verb, "find"))
		return cmd_find(s, m, args, ret, e);
	if (!strcmp(verb, "get"))
		return cmd_get(s, m, args, ret, e);
	if (!strcmp(verb, "print"))
		return cmd_print(s, m, args, ret, e);
	if (!strcmp(verb, "reset-counters") || !strcmp(verb, "reset-counters-all"))
		return cmd_reset_counters(s, m, args, !strcmp(verb, "reset-counters-all"), e);
	if (!strcmp(verb, "run") && !strcmp(path, "/system/script"))
		return cmd_script_run(s, m, args, ret, e);
	return err_set(e, "no such command '%s' in %s", verb, path);
}

/* The statement being run as the journal records it. */
static void journal_text(const struct conf_session *s, char *buf, size_t n)
{
	snprintf(buf, n, "%.*s", (int)(s->cmd_len < 500 ? s->cmd_len : 500),
		 s->cmd_text ? s->cmd_text : "");
}

/*
 * The journal (/system history, kept in the store) must not keep a secret
 * in clear: a command that gives a password (/password, /user ... password=)
 * is recorded as its menu, verb and arguments with those values hidden.
 */
static void journal_secret_safe(const struct conf_session *s, const char *path, const char *verb,
				const struct conf_args *args, char *buf, size_t n)
{
	const struct menu *m = schema_find(path);
	bool secret = !path[0] && !strcmp(verb, "password");
	for (size_t i = 0; i < args->n && !secret; i++) {
		int pi = m && args->a[i].name ? schema_prop(m, args->a[i].name, NULL) : -1;
		secret = pi >= 0 && (m->props[pi].flags & PF_SENSITIVE);
	}
	if (!secret) {
		journal_text(s, buf, n);
		return;
	}
	struct sbuf t = SBUF_INIT;
	for (const char *c = path; *c; c++)
		sbuf_putc(&t, *c == '/' && c != path ? ' ' : *c);
	sbuf_printf(&t, "%s%s", path[0] ? " " : "/", verb);
	for (size_t i = 0; i < args->n; i++) {
		const struct conf_arg *a = &args->a[i];
		int pi = m && a->name ? schema_prop(m, a->name, NULL) : -1;
		bool hide = !path[0] || (pi >= 0 && (m->props[pi].flags & PF_SENSITIVE));
		if (a->name)
			sbuf_printf(&t, " %s=%s", a->name, hide ? "***" : a->value);
		else
			sbuf_printf(&t, " %s", a->value);
	}
	snprintf(buf, n, "%s", sbuf_str(&t));
	sbuf_free(&t);
}

const char *conf_change_policy(const uint64_t *menus)
{
	static const char *const guarded[] = { "/user", "/user/group", NULL };
	for (const char *const *p = guarded; *p; p++) {
		const struct menu *m = schema_find(*p);
		size_t i = m ? schema_index(m) : schema_nmenus;
		if (i < schema_nmenus && ((menus[i / 64] >> (i % 64)) & 1))
			return "policy";
	}
	return "write";
}

struct next_entry {
	bool redo;
	const char *policy;
};

static int next_entry_fn(void *ctx, const struct store_hist *h)
{
	struct next_entry *n = ctx;
	if (n->redo ? h->next_redo : h->next_undo)
		n->policy = conf_change_policy(h->menus);
	return 0;
}

/* /undo, /redo and /safe-mode: each makes its own transactions (or none), so
 * they run outside the command's usual one. */
static int cmd_history(struct conf_session *s, const char *path, const char *verb,
		       struct err *e)
{
	if (!strcmp(path, "/safe-mode"))
		return conf_safe_mode(s, !strcmp(verb, "take")      ? CONF_SAFE_TAKE
					 : !strcmp(verb, "release") ? CONF_SAFE_RELEASE
								    : CONF_SAFE_UNROLL,
				      e);
	if (!s->may_write)
		return err_set(e, "not enough permissions (9)");
	struct next_entry n = { .redo = !strcmp(verb, "redo") };
	store_history(s->st, next_entry_fn, &n);
	if (n.policy && !strcmp(n.policy, "policy") && !s->may_policy)
		return err_set(e, "not enough permissions (9)");
	char jc[512];
	journal_text(s, jc, sizeof(jc));
	return n.redo ? store_redo(s->st, s->user, jc, e) : store_undo(s->st, 0, s->user, jc, e);
}

bool conf_in_safe_mode(const struct conf_session *s)
{
	return s->st && s->id && store_safe_holder(s->st, NULL) == s->id;
}

int conf_safe_mode(struct conf_session *s, enum conf_safe_op op, struct err *e)
{
	if (!s->st)
		return err_set(e, "safe mode: no configuration");
	if (op == CONF_SAFE_TOGGLE)
		op = conf_in_safe_mode(s) ? CONF_SAFE_RELEASE : CONF_SAFE_TAKE;
	if (op == CONF_SAFE_TAKE) {
		if (!s->may_write)
			return err_set(e, "not enough permissions (9)");
		if (conf_in_safe_mode(s))
			return 0;
		if (store_safe_take(s->st, s->id, s->user, e) < 0)
			return -1;
		conf_log("system,info", "safe mode taken by %s", s->user);
		return 0;
	}
	if (!conf_in_safe_mode(s))
		return 0;
	if (op == CONF_SAFE_RELEASE) {
		store_safe_release(s->st, s->id);
		conf_log("system,info", "safe mode released by %s", s->user);
		return 0;
	}
	int rc = store_safe_unroll(s->st, s->id, e);
	if (rc < 0)
		conf_log("system,error", "safe mode of %s: changes not all undone: %s", s->user,
			 e ? e->msg : "?");
	else
		conf_log("system,info", "safe mode of %s: changes undone", s->user);
	return rc;
}

/*
 * RouterOS logs each configuration change it commits: "mangle rule added
 * by admin", "item changed by admin" for a menu without a noun of its own.
 * Not inside an import or a script's transaction, which may still roll back
 * (a console script's own statements are final: s->log_depth).
 */
static void log_change(const struct conf_session *s, const char *path, const char *verb)
{
	static const char *const nouns[][2] = {
		{ "/ip/firewall/filter", "filter rule" },   { "/ip/firewall/nat", "nat rule" },
		{ "/ip/firewall/mangle", "mangle rule" },   { "/ip/firewall/raw", "raw rule" },
		{ "/ipv6/firewall/filter", "filter rule" }, { "/ipv6/firewall/mangle", "mangle rule" },
		{ "/ipv6/firewall/raw", "raw rule" },
	};
	static const char *const verbs[][2] = {
		{ "add", "added" },     { "remove", "removed" }, { "move", "moved" },
		{ "set", "changed" },   { "unset", "changed" },  { "enable", "changed" },
		{ "disable", "changed" }, { "comment", "changed" },
	};
	const char *done = NULL, *noun = "item";
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(verb, verbs[i][0]))
			done = verbs[i][1];
	if (!done || !schema_find(path) || store_depth(s->st) > s->log_depth)
		return;
	for (size_t i = 0; i < sizeof(nouns) / sizeof(nouns[0]); i++)
		if (!strcmp(path, nouns[i][0]))
			noun = nouns[i][1];
	conf_log("system,info", "%s %s by %s", noun, done, s->user);
}

int cmd_run(struct conf_session *s, const char *path, const char *verb,
	    const struct conf_args *args, struct sbuf *ret, struct err *e)
{
	if (!strcmp(verb, "export")) {
		for (size_t i = 0; i < args->n; i++)
			if (!strcmp(args->a[i].name ? args->a[i].name : args->a[i].value,
				    "show-sensitive") && !s->may_sensitive)
				return err_set(e, "not enough permissions (9)");
	}
	if (read_only_verb(verb))
		return dispatch(s, path, verb, args, ret, e);
	if ((!path[0] && (!strcmp(verb, "undo") || !strcmp(verb, "redo"))) ||
	    !strcmp(path, "/safe-mode"))
		return cmd_history(s, path, verb, e);
	/* logging and their own password are what a read-only user may still do */
	bool logging = !strcmp(path, "/log") || !strcmp(verb, "quit") ||
		       (!path[0] && !strcmp(verb, "password"));
	if (!s->may_write && !logging)
		return err_set(e, "not enough permissions (9)");
	if (!s->may_policy && !strncmp(path, "/user", 5))
		return err_set(e, "not enough permissions (9)");
	if (store_begin(s->st, e) < 0)
		return -1;
	store_set_session(s->st, s->id);
	int rc = dispatch(s, path, verb, args, ret, e);
	if (rc < 0) {
		store_rollback(s->st);
		return -1;
	}
	char jc[512];
	journal_secret_safe(s, path, verb, args, jc, sizeof(jc));
	if (store_commit(s->st, s->user, jc, e) < 0) {
		store_rollback(s->st);
		return -1;
	}
	log_change(s, path, verb);
	return 0;
}

/* ---- sessions and store initialisation ---- */

void conf_session_init(struct conf_session *s, struct store *st, const char *user)
{
	static atomic_uint_fast64_t next_id = 1;
	memset(s, 0, sizeof(*s));
	s->st = st;
	s->id = (uint64_t)atomic_fetch_add(&next_id, 1);
	snprintf(s->user, sizeof(s->user), "%s", user ? user : "admin");
	snprintf(s->files_dir, sizeof(s->files_dir), "files");
	s->may_write = s->may_policy = s->may_sensitive = true;
}

static void vars_free(struct conf_vars *vs)
{
	for (size_t i = 0; i < vs->n; i++) {
		free(vs->v[i].name);
		free(vs->v[i].value);
	}
	free(vs->v);
	vs->v = NULL;
	vs->n = vs->cap = 0;
}

void conf_session_free(struct conf_session *s)
{
	if (conf_in_safe_mode(s)) {
		struct err e;
		err_clear(&e);
		conf_safe_mode(s, CONF_SAFE_UNROLL, &e);
	}
	sbuf_free(&s->out);
	sbuf_free(&s->warn);
	vars_free(&s->globals);
	vars_free(&s->locals);
	if (s->follow_args) {
		conf_args_free(s->follow_args);
		free(s->follow_args);
		s->follow_args = NULL;
	}
	for (size_t i = 0; i < s->nnums; i++)
		free(s->nums[i].ids);
	free(s->nums);
	s->nums = NULL;
	s->nnums = 0;
}

/* Built-in items come from the schema's "prop=value ..." lines, parsed by the
 * same argument parser and type checks as a user's add. */
static int add_builtin(struct conf_session *s, const struct menu *m, const char *line,
		       struct err *e)
{
	struct sbuf cmd = SBUF_INIT;
	struct item *it = item_new(m);
	char *copy = xstrdup(line);
	int rc = 0;
	/* split on spaces outside quotes */
	struct conf_args args = { 0 };
	char *p = copy;
	while (*p && rc == 0) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		char *eq = strchr(p, '=');
		if (!eq) {
			rc = err_set(e, "%s: bad builtin line '%s'", m->path, line);
			break;
		}
		*eq = 0;
		char *v = eq + 1;
		struct sbuf val = SBUF_INIT;
		if (*v == '"') {
			v++;
			while (*v && *v != '"') {
				if (*v == '\\' && v[1])
					v++;
				sbuf_putc(&val, *v++);
			}
			if (*v == '"')
				v++;
		} else {
			while (*v && *v != ' ')
				sbuf_putc(&val, *v++);
		}
		conf_args_add(&args, p, sbuf_str(&val), 0, 0);
		sbuf_free(&val);
		p = v;
	}
	if (rc == 0)
		rc = apply_args(s, m, it, &args, true, e);
	/* built-in values are written as if set by a user: RO props included */
	if (rc < 0) {
		/* retry read-only properties directly (default-name and the like) */
		err_clear(e);
		rc = 0;
		for (size_t i = 0; i < args.n && rc == 0; i++) {
			int pi = schema_prop(m, args.a[i].name, NULL);
			struct sbuf canon = SBUF_INIT;
			if (pi < 0)
				rc = err_set(e, "%s: builtin names unknown property %s", m->path,
					     args.a[i].name);
			else if (type_parse(&m->props[pi], args.a[i].value, &canon, e) < 0)
				rc = -1;
			else
				item_set(m, it, pi, sbuf_str(&canon));
			sbuf_free(&canon);
		}
	}
	conf_args_free(&args);
	free(copy);
	sbuf_free(&cmd);
	if (rc < 0) {
		item_free(m, it);
		return -1;
	}
	it->flags |= IF_BUILTIN;
	return store_add(s->st, m, it, SIZE_MAX, NULL, e);
}

int conf_store_init(struct conf_session *s, bool with_defaults, struct err *e)
{
	if (store_begin(s->st, e) < 0)
		return -1;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (m->flags & MF_RUNTIME)
			continue;
		if ((m->flags & MF_SINGLETON) && !m->builtin) {
			if (add_builtin(s, m, "", e) < 0)
				goto fail;
			continue;
		}
		for (const char *const *b = m->builtin; b && *b; b++)
			if (add_builtin(s, m, *b, e) < 0)
				goto fail;
	}
	if (store_commit(s->st, STORE_WHO_SYSTEM, "built-in items", e) < 0)
		goto fail;
	if (with_defaults) {
		/* the router's own doing, like the built-in items: not history */
		struct sbuf report = SBUF_INIT;
		char user[sizeof(s->user)];
		snprintf(user, sizeof(user), "%s", s->user);
		snprintf(s->user, sizeof(s->user), "%s", STORE_WHO_SYSTEM);
		int rc = conf_import(s, conf_default_rsc, "default configuration", 0, &report, e);
		snprintf(s->user, sizeof(s->user), "%s", user);
		sbuf_free(&report);
		sbuf_reset(&s->out);
		if (rc < 0)
			return -1;
	}
	return 0;
fail:
	store_rollback(s->st);
	return -1;
}
