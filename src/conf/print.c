/*
 * print and export: how items look on the console and in a script. Both are
 * generic over the schema. print follows RouterOS's layouts (the Flags
 * header, numbered items, ";;; comment" lines, tables for the menus that
 * RouterOS shows as tables, value lists for settings menus); export writes
 * a script that import turns back into the same store: only what differs
 * from the defaults, properties in alphabetical order as RouterOS v6 does,
 * built-in items as "set", long lines continued with a backslash.
 */
#include "conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EXPORT_WIDTH 79

static bool bare_ok(unsigned char c)
{
	return isalnum(c) || strchr("._-:/,*!@+%&^|<>'`~", c) != NULL;
}

void conf_quote(const char *v, bool force, struct sbuf *out)
{
	bool need = force || !*v;
	for (const unsigned char *p = (const unsigned char *)v; *p && !need; p++)
		if (!bare_ok(*p))
			need = true;
	/* a bare word must not look like the start of something else */
	if (!need && (v[0] == '#' || v[0] == '!' || v[0] == '.' ))
		need = v[0] == '#';
	if (!need) {
		sbuf_puts(out, v);
		return;
	}
	sbuf_putc(out, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		switch (*p) {
		case '"': sbuf_puts(out, "\\\""); break;
		case '\\': sbuf_puts(out, "\\\\"); break;
		case '$': sbuf_puts(out, "\\$"); break;
		case '?': sbuf_puts(out, "\\?"); break;
		case '\n': sbuf_puts(out, "\\n"); break;
		case '\r': sbuf_puts(out, "\\r"); break;
		case '\t': sbuf_puts(out, "\\t"); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				sbuf_printf(out, "\\%02X", *p);
			else
				sbuf_putc(out, (char)*p);
		}
	}
	sbuf_putc(out, '"');
}

/* ---- print ---- */

static size_t nflagdefs(const struct menu *m)
{
	size_t n = 0;
	for (const struct flagdef *f = m->flagdefs; f && f->letter; f++)
		n++;
	return n;
}

static bool flag_prop(const struct menu *m, const char *name)
{
	for (const struct flagdef *f = m->flagdefs; f && f->letter; f++)
		if (!strcmp(f->prop, name))
			return true;
	return false;
}

static void flags_of(struct conf_session *s, const struct menu *m, const struct item *it,
		     char *out)
{
	size_t k = 0;
	for (const struct flagdef *f = m->flagdefs; f && f->letter; f++) {
		const char *v;
		if (!strcmp(f->prop, "invalid"))
			v = ((it->flags & IF_INVALID) || conf_item_invalid(s, m, it)) ? "yes" : "no";
		else
			v = item_get(m, it, f->prop);
		if (v && (!strcmp(v, "yes") || !strcmp(v, "true")))
			out[k++] = f->letter;
	}
	out[k] = 0;
}

static void flags_header(const struct menu *m, struct sbuf *out)
{
	if (!nflagdefs(m))
		return;
	sbuf_puts(out, "Flags: ");
	bool first = true;
	for (const struct flagdef *f = m->flagdefs; f && f->letter; f++) {
		if (!first)
			sbuf_puts(out, ", ");
		sbuf_printf(out, "%c - %s", f->letter, f->label);
		first = false;
	}
	sbuf_putc(out, '\n');
}

static bool in_list(const char *const *list, const char *name)
{
	for (; list && *list; list++)
		if (!strcmp(*list, name))
			return true;
	return false;
}

/* The value print shows: stored, default, counters. NULL = nothing to show. */
static const char *shown_value(const struct menu *m, const struct item *it, size_t i,
			       char *buf, size_t n)
{
	const char *v = item_show(m, it, (int)i, buf, n);
	if (!v && (m->props[i].flags & PF_STAT))
		return "0";
	return v;
}

static bool show_in_print(const struct menu *m, const struct item *it, size_t i,
			  const struct print_opts *o)
{
	const struct prop *p = &m->props[i];
	if (o->proplist)
		return in_list(o->proplist, p->name);
	if (p->flags & (PF_STAT | PF_SENSITIVE))
		return false;
	if (!strcmp(p->name, "comment") || flag_prop(m, p->name))
		return false;
	if (!o->detail && (p->flags & PF_DETAIL))
		return false;
	if (it->vals[i])
		return true;
	if (!p->def)
		return false;
	/* a default only the address-list actions read shows with them alone */
	if (!strcmp(p->name, "address-list-timeout")) {
		const char *a = item_get(m, it, "action");
		if (!a || !strstr(a, "-to-address-list"))
			return false;
	}
	/* sparse menus (firewall rules) show only what is set, unless detail;
	 * the action and the switches still show their defaults (action=accept,
	 * log=no, and passthrough=yes, which is what makes a later mark rule
	 * overwrite an earlier one) */
	if ((m->flags & MF_SPARSE) && !o->detail && p->type != T_BOOL && strcmp(p->name, "action"))
		return false;
	return true;
}

static void prop_value(const struct menu *m, size_t i, const char *v, struct sbuf *out)
{
	const struct prop *p = &m->props[i];
	bool force = p->type == T_STR && (!strcmp(p->name, "name") || !*v);
	conf_quote(v, force, out);
}

static void item_prefix(size_t idx, const char *flags, size_t fw, bool show_ids, uint32_t id,
			struct sbuf *out)
{
	if (show_ids)
		sbuf_printf(out, "%-4s", "");
	if (show_ids) {
		sbuf_truncate(out, out->len - 4);
		char b[16];
		snprintf(b, sizeof(b), "*%X", id);
		sbuf_printf(out, "%3s %-*s ", b, (int)fw, flags);
	} else {
		sbuf_printf(out, "%2zu %-*s ", idx, (int)fw, flags);
	}
}

/* Columns n bytes of UTF-8 take on a terminal: one per character. */
static size_t text_cols(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	return cols;
}

/* The bytes of s's first cols characters. */
static size_t cols_bytes(const char *s, size_t cols)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && cols-- == 0)
			break;
	return i;
}

/* An item's ";;; comment" line after its number and flags (indent columns);
 * with a width, its words wrap under the first. */
static void put_comment(struct sbuf *out, const char *comment, size_t indent, size_t width)
{
	if (!width) {
		sbuf_printf(out, ";;; %s\n", comment);
		return;
	}
	sbuf_puts(out, ";;;");
	size_t col = indent + 3;
	const char *p = comment;
	while (*p) {
		size_t n = strcspn(p, " "), cols = text_cols(p, n);
		if (col > indent + 3 && col + 1 + cols > width) {
			sbuf_putc(out, '\n');
			sbuf_pad(out, ' ', indent + 3);
			col = indent + 3;
		}
		sbuf_putc(out, ' ');
		sbuf_add(out, p, n);
		col += 1 + cols;
		p += n;
		if (*p)
			p++;
	}
	sbuf_putc(out, '\n');
}

static void print_proplist(struct conf_session *s, const struct menu *m, struct item **items,
			   size_t n, const struct print_opts *o, struct sbuf *out)
{
	size_t fw = nflagdefs(m);
	char flags[16], buf[64];
	for (size_t k = 0; k < n; k++) {
		const struct item *it = items[k];
		flags_of(s, m, it, flags);
		size_t start = out->len;
		item_prefix(k, flags, fw, o->show_ids, it->id, out);
		size_t indent = out->len - start;
		const char *comment = item_get(m, it, "comment");
		if (comment && *comment && !o->terse) {
			put_comment(out, comment, indent,
				    o->detail || s->width < 0 ? 0 : (size_t)s->width);
			sbuf_pad(out, ' ', indent);
		}
		bool first = true;
		if (o->terse && comment && *comment) {
			sbuf_puts(out, "comment=");
			conf_quote(comment, false, out);
			first = false;
		}
		/* on a terminal, plain print wraps the words under the first */
		bool wrap = s->width > 0 && !o->terse && !o->detail;
		size_t line = out->len - indent;
		struct sbuf word = SBUF_INIT;
		for (size_t i = 0; i < m->nprops; i++) {
			if (!show_in_print(m, it, i, o))
				continue;
			const char *v = shown_value(m, it, i, buf, sizeof(buf));
			if (!v)
				continue;
			sbuf_reset(&word);
			sbuf_printf(&word, "%s=", m->props[i].name);
			prop_value(m, i, v, &word);
			if (!first && wrap && out->len - line + 1 + word.len > (size_t)s->width) {
				sbuf_putc(out, '\n');
				line = out->len;
				sbuf_pad(out, ' ', indent);
			} else if (!first) {
				sbuf_putc(out, ' ');
			}
			first = false;
			sbuf_add(out, word.s, word.len);
		}
		sbuf_free(&word);
		sbuf_putc(out, '\n');
		if (!o->terse)
			sbuf_putc(out, '\n');
	}
}

static void thousands(const char *v, struct sbuf *out)
{
	size_t n = strlen(v);
	bool digits = n > 0;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]))
			digits = false;
	if (!digits || n <= 3) {
		sbuf_puts(out, v);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			sbuf_putc(out, ' ');
		sbuf_putc(out, v[i]);
	}
}

/*
 * A table wider than the terminal: the widest columns give up a character
 * at a time, down to 3, until the rows fit (the first `lead` characters
 * are the number and the flags).
 */
static void fit_columns(size_t *w, size_t nc, size_t lead, size_t width)
{
	for (;;) {
		size_t total = lead + (nc ? nc - 1 : 0), widest = 0;
		for (size_t c = 0; c < nc; c++) {
			total += w[c];
			if (w[c] > w[widest])
				widest = c;
		}
		if (total <= width || !nc || w[widest] <= 3)
			return;
		w[widest]--;
	}
}

/* A cell in a column of width w: padded (right-aligned for numbers) when
 * pad, cut with "..." when it is longer (on a character, never inside
 * one). */
static void put_cell(struct sbuf *out, const char *v, size_t w, bool right, bool pad)
{
	size_t n = text_cols(v, strlen(v));
	if (n > w) {
		size_t keep = w > 3 ? w - 3 : w;
		sbuf_add(out, v, cols_bytes(v, keep));
		if (w > 3)
			sbuf_puts(out, "...");
		return;
	}
	if (pad && right)
		sbuf_pad(out, ' ', w - n);
	sbuf_puts(out, v);
	if (pad && !right)
		sbuf_pad(out, ' ', w - n);
}

static void print_table(struct conf_session *s, const struct menu *m, struct item **items,
			size_t n, const char *const *cols, bool stats, const struct print_opts *o,
			struct sbuf *out)
{
	size_t nc = 0;
	while (cols[nc])
		nc++;
	int *pi = xcalloc(nc ? nc : 1, sizeof(int));
	size_t *w = xcalloc(nc ? nc : 1, sizeof(size_t));
	struct sbuf cell = SBUF_INIT;
	char buf[64];
	for (size_t c = 0; c < nc; c++) {
		pi[c] = schema_prop(m, cols[c], NULL);
		w[c] = strlen(cols[c]);
	}
	/* cells, computed once for widths and once for output */
	char ***cells = xcalloc(n ? n : 1, sizeof(char **));
	for (size_t k = 0; k < n; k++) {
		cells[k] = xcalloc(nc ? nc : 1, sizeof(char *));
		for (size_t c = 0; c < nc; c++) {
			sbuf_reset(&cell);
			const char *v = pi[c] >= 0 ? shown_value(m, items[k], (size_t)pi[c], buf, sizeof(buf))
						   : item_get(m, items[k], cols[c]);
			if (v) {
				if (stats && pi[c] >= 0 && (m->props[pi[c]].flags & PF_STAT))
					thousands(v, &cell);
				else
					sbuf_puts(&cell, v);
			}
			cells[k][c] = xstrdup(sbuf_str(&cell));
			size_t cols = text_cols(cell.s, cell.len);
			if (cols > w[c])
				w[c] = cols;
		}
	}
	size_t fw = nflagdefs(m);
	if (s->width > 0) {
		/* the item numbers take what the widest of them does (100, *13A) */
		size_t lead = 3 + fw + 1;
		sbuf_reset(&cell);
		for (size_t k = 0; k < n; k++) {
			sbuf_reset(&cell);
			item_prefix(k, "", fw, o->show_ids, items[k]->id, &cell);
			if (cell.len > lead)
				lead = cell.len;
		}
		fit_columns(w, nc, lead, (size_t)s->width);
	}
	sbuf_printf(out, "%2s %-*s ", "#", (int)fw, "");
	for (size_t c = 0; c < nc; c++) {
		char head[64];
		size_t k = 0;
		for (const char *p = cols[c]; *p && k + 1 < sizeof(head); p++)
			head[k++] = (char)toupper((unsigned char)*p);
		head[k] = 0;
		put_cell(out, head, w[c], false, c + 1 < nc);
		if (c + 1 < nc)
			sbuf_putc(out, ' ');
	}
	while (out->len && out->s[out->len - 1] == ' ')
		sbuf_truncate(out, out->len - 1);
	sbuf_putc(out, '\n');
	char flags[16];
	for (size_t k = 0; k < n; k++) {
		flags_of(s, m, items[k], flags);
		size_t start = out->len;
		item_prefix(k, flags, fw, o->show_ids, items[k]->id, out);
		size_t indent = out->len - start;
		const char *comment = item_get(m, items[k], "comment");
		if (comment && *comment) {
			put_comment(out, comment, indent, s->width < 0 ? 0 : (size_t)s->width);
			sbuf_pad(out, ' ', indent);
		}
		for (size_t c = 0; c < nc; c++) {
			bool num = stats && pi[c] >= 0 && (m->props[pi[c]].flags & PF_STAT);
			if (s->width > 0 || c + 1 < nc || num)
				put_cell(out, cells[k][c], w[c], num, c + 1 < nc || num);
			else
				sbuf_puts(out, cells[k][c]);
			if (c + 1 < nc)
				sbuf_putc(out, ' ');
			free(cells[k][c]);
		}
		/* no trailing blanks */
		while (out->len && out->s[out->len - 1] == ' ')
			sbuf_truncate(out, out->len - 1);
		sbuf_putc(out, '\n');
		free(cells[k]);
	}
	free(cells);
	free(pi);
	free(w);
	sbuf_free(&cell);
}

/* RouterOS's /log print: "time topics message" a line, nothing else. */
static void print_lines(const struct menu *m, struct item **items, size_t n, struct sbuf *out)
{
	for (size_t k = 0; k < n; k++) {
		bool first = true;
		for (const char *const *c = m->columns; *c; c++) {
			const char *v = item_get(m, items[k], *c);
			if (!v || !*v)
				continue;
			if (!first)
				sbuf_putc(out, ' ');
			first = false;
			sbuf_puts(out, v);
		}
		sbuf_putc(out, '\n');
	}
}

static void print_values(struct conf_session *s, const struct menu *m, struct item **items,
			 size_t n, const struct print_opts *o, struct sbuf *out)
{
	size_t w = 0;
	char buf[64];
	for (size_t i = 0; i < m->nprops; i++)
		if (strlen(m->props[i].name) > w)
			w = strlen(m->props[i].name);
	for (size_t k = 0; k < n; k++) {
		if (k)
			sbuf_putc(out, '\n');
		for (size_t i = 0; i < m->nprops; i++) {
			const struct prop *p = &m->props[i];
			if (o->proplist ? !in_list(o->proplist, p->name)
					: (p->flags & PF_SENSITIVE) ||
					  (!o->stats && (p->flags & PF_STAT)))
				continue;
			const char *v = shown_value(m, items[k], i, buf, sizeof(buf));
			if (!v)
				continue;
			sbuf_printf(out, "%*s: %s\n", (int)w + 2, p->name, v);
		}
	}
}

void print_items(struct conf_session *s, const struct menu *m, struct item **items, size_t n,
		 const struct print_opts *o, struct sbuf *out)
{
	if ((m->flags & MF_SINGLETON) || o->value_list) {
		print_values(s, m, items, n, o, out);
		return;
	}
	if ((m->flags & MF_LINES) && m->columns && !o->detail && !o->terse && !o->proplist &&
	    !o->stats) {
		print_lines(m, items, n, out);
		return;
	}
	flags_header(m, out);
	if (o->stats) {
		static const char *const dflt[] = { "bytes", "packets", NULL };
		print_table(s, m, items, n, m->stats ? m->stats : dflt, true, o, out);
		return;
	}
	if (m->columns && !o->detail && !o->terse && !o->proplist) {
		print_table(s, m, items, n, m->columns, false, o, out);
		return;
	}
	print_proplist(s, m, items, n, o, out);
}

/* print as-value: each item as .id=*N;name=value;... one after the other,
 * the flat array the script language holds (a value with ';' in it reads as
 * two elements there). Booleans are the script's true and false. */
void print_as_value(struct conf_session *s, const struct menu *m, struct item **items, size_t n,
		    const struct print_opts *o, struct sbuf *out)
{
	char buf[64];
	for (size_t k = 0; k < n; k++) {
		const struct item *it = items[k];
		if (k)
			sbuf_putc(out, ';');
		sbuf_printf(out, ".id=*%X", it->id);
		for (size_t i = 0; i < m->nprops; i++) {
			const struct prop *p = &m->props[i];
			if (o->proplist ? !in_list(o->proplist, p->name) : (p->flags & PF_SENSITIVE) != 0)
				continue;
			const char *v = shown_value(m, it, i, buf, sizeof(buf));
			if (!v)
				continue;
			if (p->type == T_BOOL)
				v = !strcmp(v, "yes") ? "true" : !strcmp(v, "no") ? "false" : v;
			sbuf_printf(out, ";%s=%s", p->name, v);
		}
		/* the item's state, unless the menu has a property of that name */
		if (schema_prop(m, "dynamic", NULL) < 0 &&
		    (!o->proplist || in_list(o->proplist, "dynamic")))
			sbuf_printf(out, ";dynamic=%s", (it->flags & IF_DYNAMIC) ? "true" : "false");
		if (schema_prop(m, "invalid", NULL) < 0 &&
		    (!o->proplist || in_list(o->proplist, "invalid")))
			sbuf_printf(out, ";invalid=%s",
				    ((it->flags & IF_INVALID) || conf_item_invalid(s, m, it)) ? "true"
											    : "false");
	}
}

/* ---- export ---- */

struct line {
	struct sbuf *out;
	size_t start; /* where the current line began in out */
};

static void emit_word(struct line *l, const char *word)
{
	size_t cur = l->out->len - l->start;
	if (cur + 1 + strlen(word) > EXPORT_WIDTH && cur > 4) {
		sbuf_puts(l->out, " \\\n    ");
		l->start = l->out->len - 4;
	} else {
		sbuf_putc(l->out, ' ');
	}
	sbuf_puts(l->out, word);
}

static int cmp_names(const void *a, const void *b)
{
	const struct prop *const *pa = a, *const *pb = b;
	return strcmp((*pa)->name, (*pb)->name);
}

static bool exportable(const struct prop *p, unsigned flags)
{
	if (p->flags & (PF_RO | PF_STAT | PF_NOEXPORT))
		return false;
	if ((p->flags & PF_SENSITIVE) && !(flags & CONF_EXPORT_SENSITIVE))
		return false;
	return true;
}

/* name=value words of the properties that differ from base (NULL = defaults). */
static void export_props(const struct menu *m, const struct item *it, const struct item *base,
			 unsigned flags, const char *skip, struct line *l)
{
	const struct prop **order = xmalloc((m->nprops ? m->nprops : 1) * sizeof(*order));
	for (size_t i = 0; i < m->nprops; i++)
		order[i] = &m->props[i];
	qsort(order, m->nprops, sizeof(*order), cmp_names);
	struct sbuf w = SBUF_INIT;
	for (size_t k = 0; k < m->nprops; k++) {
		const struct prop *p = order[k];
		size_t i = (size_t)(p - m->props);
		if (!exportable(p, flags) || (skip && !strcmp(skip, p->name)))
			continue;
		const char *v = item_geti(m, it, (int)i);
		const char *b = base ? item_geti(m, base, (int)i) : p->def;
		if (!v)
			continue;
		if (!(flags & CONF_EXPORT_VERBOSE) && b && !strcmp(v, b))
			continue;
		if (!(flags & CONF_EXPORT_VERBOSE) && !b && !it->vals[i])
			continue;
		sbuf_reset(&w);
		sbuf_printf(&w, "%s=", p->name);
		conf_quote(v, false, &w);
		emit_word(l, sbuf_str(&w));
	}
	sbuf_free(&w);
	free(order);
}

/* The k-th built-in line of the schema, parsed: the k-th built-in item of a
 * menu was created from it (built-ins cannot be removed and come first).
 * has_default_name says whether the line names a default-name. */
static struct item *builtin_base(const struct menu *m, size_t k, bool *has_default_name)
{
	size_t nb = 0;
	while (m->builtin && m->builtin[nb])
		nb++;
	*has_default_name = false;
	if (k >= nb)
		return NULL;
	struct item *base = item_new(m);
	char *copy = xstrdup(m->builtin[k]), *p = copy;
	while (*p) {
		while (*p == ' ')
			p++;
		char *eq = strchr(p, '=');
		if (!eq)
			break;
		*eq = 0;
		char *v = eq + 1, *end;
		struct sbuf val = SBUF_INIT;
		if (*v == '"') {
			end = ++v;
			while (*end && *end != '"') {
				if (*end == '\\' && end[1])
					end++;
				sbuf_putc(&val, *end++);
			}
			if (*end)
				end++;
		} else {
			end = v;
			while (*end && *end != ' ')
				sbuf_putc(&val, *end++);
		}
		int pi = schema_prop(m, p, NULL);
		if (pi >= 0) {
			struct sbuf c = SBUF_INIT;
			struct err e;
			if (type_parse(&m->props[pi], sbuf_str(&val), &c, &e) == 0)
				item_set(m, base, pi, sbuf_str(&c));
			sbuf_free(&c);
			if (!strcmp(p, "default-name"))
				*has_default_name = true;
		}
		sbuf_free(&val);
		p = end;
	}
	free(copy);
	return base;
}

/* The flag that marks a menu's built-in item, when it has only one: how
 * RouterOS's export finds that item again ("set [ find default=yes ]").
 * NULL for a menu with several (they are found by name) or none. */
static const char *sole_builtin_flag(const struct menu *m)
{
	if (!m->builtin || !m->builtin[0] || m->builtin[1])
		return NULL;
	for (const struct flagdef *f = m->flagdefs; f && f->letter; f++)
		if (!strcmp(f->prop, "builtin"))
			return f->label;
	return NULL;
}

static void menu_header(const char *path, struct sbuf *out)
{
	sbuf_putc(out, '/');
	for (const char *p = path + 1; *p; p++)
		sbuf_putc(out, *p == '/' ? ' ' : *p);
	sbuf_putc(out, '\n');
}

void export_menu(struct conf_session *s, const struct menu *m, unsigned flags, struct sbuf *out)
{
	struct sbuf body = SBUF_INIT;
	size_t n = store_count(s->st, m);
	size_t nbuiltin = 0;
	for (size_t k = 0; k < n; k++) {
		const struct item *it = store_at(s->st, m, k);
		if (it->flags & IF_DYNAMIC)
			continue;
		struct line l = { &body, body.len };
		size_t mark = body.len;
		if (m->flags & MF_SINGLETON) {
			sbuf_puts(&body, "set");
			export_props(m, it, NULL, flags, NULL, &l);
			if (body.len == mark + 3) {
				sbuf_truncate(&body, mark);
				continue;
			}
		} else if (it->flags & IF_BUILTIN) {
			/* how an import finds this item again: by default-name (a
			 * renamed ether1), by a name that cannot change (services), by
			 * its unchanged name, else by its number as RouterOS does */
			bool dn = false;
			struct item *base = builtin_base(m, nbuiltin++, &dn);
			int ki = m->key ? schema_prop(m, m->key, NULL) : -1;
			const char *skip = NULL;
			if (dn) {
				sbuf_puts(&body, "set [ find default-name=");
				conf_quote(item_get(m, it, "default-name"), false, &body);
				sbuf_puts(&body, " ]");
				skip = "default-name";
			} else if (ki >= 0 && (m->props[ki].flags & PF_RO)) {
				sbuf_puts(&body, "set ");
				conf_quote(item_geti(m, it, ki), false, &body);
				skip = m->key;
			} else if (ki >= 0 && base && base->vals[ki] && item_geti(m, it, ki) &&
				   !strcmp(base->vals[ki], item_geti(m, it, ki))) {
				sbuf_printf(&body, "set [ find %s=", m->key);
				conf_quote(item_geti(m, it, ki), false, &body);
				sbuf_puts(&body, " ]");
				skip = m->key;
			} else if (sole_builtin_flag(m)) {
				sbuf_printf(&body, "set [ find %s=yes ]", sole_builtin_flag(m));
			} else {
				sbuf_printf(&body, "set %zu", k);
			}
			size_t before = body.len;
			export_props(m, it, base, flags & ~CONF_EXPORT_VERBOSE, skip, &l);
			item_free(m, base);
			if (body.len == before) {
				sbuf_truncate(&body, mark);
				continue;
			}
		} else {
			sbuf_puts(&body, "add");
			export_props(m, it, NULL, flags, NULL, &l);
		}
		sbuf_putc(&body, '\n');
	}
	if (body.len) {
		menu_header(m->path, out);
		sbuf_puts(out, sbuf_str(&body));
	}
	sbuf_free(&body);
}

int conf_export(struct conf_session *s, const char *path, unsigned flags, struct sbuf *out,
		struct err *e)
{
	const struct menu *only = path[0] ? schema_find(path) : NULL;
	if (path[0] && !only && !schema_is_dir(path))
		return err_set(e, "export: no such menu %s", path);
	if (only && (only->flags & (MF_RUNTIME | MF_NOEXPORT)))
		return err_set(e, "export: %s has nothing to export", path);
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };
	sbuf_printf(out, "# %s/%02d/%04d %02d:%02d:%02d by rosfw 0.1 (RouterOS 6 syntax)\n",
		    mon[tm.tm_mon], tm.tm_mday, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		    tm.tm_sec);
	sbuf_puts(out, "# software id =\n#\n");
	size_t plen = strlen(path);
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (m->flags & (MF_RUNTIME | MF_NOEXPORT))
			continue;
		if (plen && strcmp(m->path, path) &&
		    !(strncmp(m->path, path, plen) == 0 && m->path[plen] == '/'))
			continue;
		export_menu(s, m, flags, out);
	}
	return 0;
}
