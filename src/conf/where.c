/*
 * where-expressions of print and find: `chain=input and !disabled`,
 * `(dst-port=80 or dst-port=443) and comment~"web"`, `max-limit>5M`,
 * `comment=[/system identity get name]`.
 * Parsed once into a small tree, then evaluated per item. Right-hand values
 * are put into the property's canonical form first, so `src-address=
 * 192.168.88.5/24` finds the rule stored as 192.168.88.0/24.
 */
#include "conf.h"

#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum wop { W_AND, W_OR, W_NOT, W_TRUE, W_EQ, W_NE, W_LT, W_GT, W_LE, W_GE, W_RE, W_IN };

struct wnode {
	enum wop op;
	struct wnode *a, *b;
	char *prop;
	int pi;          /* property index, -1 for item state and .id */
	bool direct;     /* pi is a stored property: read by index, no name lookup */
	char *value;     /* canonical when the type could parse it */
	char *raw;       /* as written */
	regex_t re;
	bool has_re;
};

struct where {
	struct wnode *root;
	struct conf_session *s;
	const struct menu *m; /* the menu the property indexes belong to */
};

struct wp {
	const char *t;
	size_t i;
	struct conf_session *s;
	const struct menu *m;
	struct err *e;
	int depth; /* nesting of ( ), ! and not: bounded so deep input cannot overflow the stack */
};

#define WHERE_MAX_DEPTH 64

static void node_free(struct wnode *n)
{
	if (!n)
		return;
	node_free(n->a);
	node_free(n->b);
	free(n->prop);
	free(n->value);
	free(n->raw);
	if (n->has_re)
		regfree(&n->re);
	free(n);
}

static void ws(struct wp *p)
{
	while (p->t[p->i] == ' ' || p->t[p->i] == '\t' || p->t[p->i] == '\n' || p->t[p->i] == '\r')
		p->i++;
}

static bool kw(struct wp *p, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(p->t + p->i, w, n))
		return false;
	char c = p->t[p->i + n];
	if (isalnum((unsigned char)c) || c == '-' || c == '_')
		return false;
	p->i += n;
	return true;
}

static int werr(struct wp *p, const char *msg)
{
	return err_set(p->e, "where: %s at '%.20s'", msg, p->t + p->i);
}

static struct wnode *parse_or(struct wp *p);

/* A value written as [ commands ] or ( expression ): the script interpreter
 * gives it, as it does for the arguments of any command. */
static int read_script_value(struct wp *p, struct sbuf *out)
{
	char open = p->t[p->i], close = open == '[' ? ']' : ')';
	size_t st = ++p->i;
	int depth = 1;
	bool instr = false;
	for (; p->t[p->i]; p->i++) {
		char c = p->t[p->i];
		if (instr) {
			if (c == '\\' && p->t[p->i + 1])
				p->i++;
			else if (c == '"')
				instr = false;
		} else if (c == '"') {
			instr = true;
		} else if (c == open) {
			depth++;
		} else if (c == close && --depth == 0) {
			break;
		}
	}
	if (!p->t[p->i])
		return werr(p, open == '[' ? "expected ']'" : "expected ')'");
	struct sbuf text = SBUF_INIT, ret = SBUF_INIT;
	if (open == '(')
		sbuf_puts(&text, ":return (");
	sbuf_add(&text, p->t + st, p->i - st);
	if (open == '(')
		sbuf_putc(&text, ')');
	p->i++;
	p->s->subst++;
	int rc = script_run(p->s, sbuf_str(&text), 1, 1, &ret, p->e);
	p->s->subst--;
	if (rc == 0)
		sbuf_puts(out, sbuf_str(&ret));
	else if (p->e) /* a position inside the fragment means nothing to the user */
		p->e->line = p->e->col = 0;
	sbuf_free(&text);
	sbuf_free(&ret);
	return rc;
}

/* The character after a backslash in a quoted value, decoded as the script does. */
static void read_escape(struct wp *p, struct sbuf *out)
{
	p->i += conf_unescape(p->t + p->i, out);
}

static int read_value(struct wp *p, struct sbuf *out)
{
	ws(p);
	char c = p->t[p->i];
	if (c == '[' || c == '(')
		return read_script_value(p, out);
	if (c == '"') {
		p->i++;
		while (p->t[p->i] && p->t[p->i] != '"') {
			if (p->t[p->i] == '\\' && p->t[p->i + 1]) {
				p->i++;
				read_escape(p, out);
				continue;
			}
			sbuf_putc(out, p->t[p->i++]);
		}
		if (p->t[p->i] != '"')
			return werr(p, "unterminated string");
		p->i++;
		return 0;
	}
	if (c == '$') {
		p->i++;
		size_t st = p->i;
		while (isalnum((unsigned char)p->t[p->i]) || p->t[p->i] == '_' || p->t[p->i] == '-')
			p->i++;
		char *name = xstrndup(p->t + st, p->i - st);
		const char *v = conf_var_get(p->s, name);
		free(name);
		if (!v)
			return werr(p, "undefined variable");
		sbuf_puts(out, v);
		return 0;
	}
	size_t st = p->i;
	while (p->t[p->i] && !isspace((unsigned char)p->t[p->i]) && p->t[p->i] != ')')
		p->i++;
	if (p->i == st)
		return werr(p, "expected a value");
	sbuf_add(out, p->t + st, p->i - st);
	return 0;
}

static struct wnode *parse_term_nested(struct wp *p);

static struct wnode *parse_term(struct wp *p)
{
	if (p->depth >= WHERE_MAX_DEPTH) {
		werr(p, "expression nested too deeply");
		return NULL;
	}
	p->depth++;
	struct wnode *n = parse_term_nested(p);
	p->depth--;
	return n;
}

static struct wnode *parse_term_nested(struct wp *p)
{
	ws(p);
	if (p->t[p->i] == '(') {
		p->i++;
		struct wnode *n = parse_or(p);
		ws(p);
		if (!n)
			return NULL;
		if (p->t[p->i] != ')') {
			werr(p, "expected ')'");
			node_free(n);
			return NULL;
		}
		p->i++;
		return n;
	}
	if (p->t[p->i] == '!' && p->t[p->i + 1] != '=') {
		p->i++;
		struct wnode *a = parse_term(p);
		if (!a)
			return NULL;
		struct wnode *n = xcalloc(1, sizeof(*n));
		n->op = W_NOT;
		n->a = a;
		return n;
	}
	if (kw(p, "not")) {
		struct wnode *a = parse_term(p);
		if (!a)
			return NULL;
		struct wnode *n = xcalloc(1, sizeof(*n));
		n->op = W_NOT;
		n->a = a;
		return n;
	}
	size_t st = p->i;
	while (isalnum((unsigned char)p->t[p->i]) || p->t[p->i] == '-' || p->t[p->i] == '_' ||
	       p->t[p->i] == '.')
		p->i++;
	if (p->i == st) {
		werr(p, "expected a property name");
		return NULL;
	}
	struct wnode *n = xcalloc(1, sizeof(*n));
	n->prop = xstrndup(p->t + st, p->i - st);
	n->pi = schema_prop(p->m, n->prop, NULL);
	const char *state = n->pi < 0 ? schema_state_name(p->m, n->prop) : NULL;
	if (state && strcmp(state, n->prop)) {
		free(n->prop);
		n->prop = xstrdup(state);
	}
	if (n->pi < 0 && !state && strcmp(n->prop, ".id")) {
		const char *sug = schema_suggest(p->m, n->prop);
		if (sug)
			err_setp(p->e, n->prop, "unknown property '%s' (did you mean '%s'?)", n->prop, sug);
		else
			err_setp(p->e, n->prop, "unknown property '%s' in %s", n->prop, p->m->path);
		node_free(n);
		return NULL;
	}
	/* item_get answers these names from the item state before the schema */
	n->direct = n->pi >= 0 && !schema_state_name(NULL, n->prop) && strcmp(n->prop, ".id");
	ws(p);
	const char *o = p->t + p->i;
	if (!strncmp(o, "!=", 2)) {
		n->op = W_NE;
		p->i += 2;
	} else if (!strncmp(o, "<=", 2)) {
		n->op = W_LE;
		p->i += 2;
	} else if (!strncmp(o, ">=", 2)) {
		n->op = W_GE;
		p->i += 2;
	} else if (*o == '=') {
		n->op = W_EQ;
		p->i++;
	} else if (*o == '<') {
		n->op = W_LT;
		p->i++;
	} else if (*o == '>') {
		n->op = W_GT;
		p->i++;
	} else if (*o == '~') {
		n->op = W_RE;
		p->i++;
	} else if (kw(p, "in")) {
		n->op = W_IN;
	} else {
		n->op = W_TRUE;
		return n;
	}
	struct sbuf v = SBUF_INIT;
	if (read_value(p, &v) < 0) {
		sbuf_free(&v);
		node_free(n);
		return NULL;
	}
	n->raw = xstrdup(sbuf_str(&v));
	if (n->pi >= 0 && n->op != W_RE) {
		struct sbuf c = SBUF_INIT;
		struct err ignored;
		if (type_parse(&p->m->props[n->pi], n->raw, &c, &ignored) == 0)
			n->value = xstrdup(sbuf_str(&c));
		sbuf_free(&c);
	}
	uint32_t id;
	if (!n->value && !strcmp(n->prop, ".id") && store_parse_id(n->raw, &id) == 0) {
		char idbuf[16];
		snprintf(idbuf, sizeof(idbuf), "*%X", id);
		n->value = xstrdup(idbuf);
	}
	if (!n->value)
		n->value = xstrdup(n->raw);
	if (n->op == W_RE) {
		if (regcomp(&n->re, n->raw, REG_EXTENDED | REG_NOSUB) != 0) {
			err_set(p->e, "where: bad regular expression '%s'", n->raw);
			sbuf_free(&v);
			node_free(n);
			return NULL;
		}
		n->has_re = true;
	}
	sbuf_free(&v);
	return n;
}

static bool at_end(struct wp *p)
{
	ws(p);
	return !p->t[p->i] || p->t[p->i] == ')';
}

static struct wnode *parse_and(struct wp *p)
{
	struct wnode *l = parse_term(p);
	while (l && !at_end(p)) {
		size_t save = p->i;
		if (kw(p, "or") || !strncmp(p->t + p->i, "||", 2)) {
			p->i = save;
			break;
		}
		if (!kw(p, "and") && !strncmp(p->t + p->i, "&&", 2))
			p->i += 2;
		struct wnode *r = parse_term(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		struct wnode *n = xcalloc(1, sizeof(*n));
		n->op = W_AND;
		n->a = l;
		n->b = r;
		l = n;
	}
	return l;
}

static struct wnode *parse_or(struct wp *p)
{
	struct wnode *l = parse_and(p);
	while (l) {
		ws(p);
		if (!kw(p, "or")) {
			if (strncmp(p->t + p->i, "||", 2))
				break;
			p->i += 2;
		}
		struct wnode *r = parse_and(p);
		if (!r) {
			node_free(l);
			return NULL;
		}
		struct wnode *n = xcalloc(1, sizeof(*n));
		n->op = W_OR;
		n->a = l;
		n->b = r;
		l = n;
	}
	return l;
}

int where_parse(struct conf_session *s, const struct menu *m, const char *text,
		struct where **out, struct err *e)
{
	struct wp p = { .t = text, .s = s, .m = m, .e = e };
	*out = NULL;
	struct wnode *root = parse_or(&p);
	if (!root)
		return -1;
	ws(&p);
	if (p.t[p.i]) {
		node_free(root);
		return werr(&p, "unexpected text");
	}
	*out = xcalloc(1, sizeof(**out));
	(*out)->root = root;
	(*out)->s = s;
	(*out)->m = m;
	return 0;
}

void where_free(struct where *w)
{
	if (!w)
		return;
	node_free(w->root);
	free(w);
}

static bool in_prefix(const char *val, const char *net)
{
	uint32_t a, n;
	int alen, len;
	if (parse_prefix4(val, &a, &alen) < 0 || parse_prefix4(net, &n, &len) < 0 || alen < len)
		return false;
	uint32_t mask = prefix4_mask(len);
	return (a & mask) == (n & mask);
}

static bool eval(const struct where *w, const struct wnode *n, const struct menu *m,
		 const struct item *it)
{
	switch (n->op) {
	case W_AND:
		return eval(w, n->a, m, it) && eval(w, n->b, m, it);
	case W_OR:
		return eval(w, n->a, m, it) || eval(w, n->b, m, it);
	case W_NOT:
		return !eval(w, n->a, m, it);
	default:
		break;
	}
	char buf[24];
	const char *v;
	if (n->direct && m == w->m) {
		v = item_show(m, it, n->pi, buf, sizeof(buf));
	} else if (!strcmp(n->prop, ".id")) {
		snprintf(buf, sizeof(buf), "*%X", it->id);
		v = buf;
	} else if (!strcmp(n->prop, "invalid")) {
		v = ((it->flags & IF_INVALID) || conf_item_invalid(w->s, m, it)) ? "yes" : "no";
	} else {
		v = item_get(m, it, n->prop);
	}
	if (!v)
		v = "";
	if (n->op == W_TRUE)
		return !strcmp(v, "yes") || !strcmp(v, "true");
	if (n->op == W_EQ || n->op == W_NE) {
		bool eq = !strcmp(v, n->value) || !strcmp(v, n->raw);
		return n->op == W_EQ ? eq : !eq;
	}
	if (n->op == W_RE)
		return regexec(&n->re, v, 0, NULL, 0) == 0;
	if (n->op == W_IN)
		return in_prefix(v, n->value);
	double a, b;
	int cmp;
	if (n->pi >= 0 && type_number(&m->props[n->pi], v, &a) &&
	    type_number(&m->props[n->pi], n->value, &b))
		cmp = (a > b) - (a < b);
	else
		cmp = strcmp(v, n->value);
	switch (n->op) {
	case W_LT: return cmp < 0;
	case W_GT: return cmp > 0;
	case W_LE: return cmp <= 0;
	case W_GE: return cmp >= 0;
	default: return false;
	}
}

bool where_match(const struct where *w, const struct menu *m, const struct item *it)
{
	return !w || eval(w, w->root, m, it);
}
