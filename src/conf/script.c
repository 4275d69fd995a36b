/*
 * The RouterOS script interpreter: it reads the text and runs it as it goes
 * (there is no separate syntax tree): a statement is a menu path, a command
 * and its arguments, or a ':' script command; blocks given to :if, :foreach
 * and friends are kept as text and run when needed, with their position so
 * errors inside them still name the right line and column.
 */
#include "conf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 32

struct ps {
	struct conf_session *s;
	const char *t;
	size_t n, i;
	int line, col;
	char end;   /* ']' inside a command substitution, ')' in an expression, 0 at top */
	int depth;  /* substitution depth: commands below 0 never change the current menu */
	int edepth; /* expression nesting, bounded so hostile input cannot exhaust the stack */
};

#define MAX_EXPR_DEPTH 128

static int run_statements(struct ps *p, struct sbuf *ret, struct err *e);
static int parse_value(struct ps *p, struct sbuf *out, struct err *e);
static int parse_expr(struct ps *p, struct sbuf *out, struct err *e);

static int peek(const struct ps *p)
{
	return p->i < p->n ? (unsigned char)p->t[p->i] : -1;
}

static int peek_at(const struct ps *p, size_t k)
{
	return p->i + k < p->n ? (unsigned char)p->t[p->i + k] : -1;
}

static void adv(struct ps *p)
{
	if (p->i >= p->n)
		return;
	if (p->t[p->i] == '\n') {
		p->line++;
		p->col = 1;
	} else {
		p->col++;
	}
	p->i++;
}

static int perr(struct ps *p, struct err *e, const char *fmt, const char *a)
{
	err_set(e, fmt, a);
	e->line = p->line;
	e->col = p->col;
	return -1;
}

/* A backslash at the end of a line joins it with the next, whose indentation is dropped. */
static bool continuation(struct ps *p)
{
	if (peek(p) != '\\')
		return false;
	size_t k = 1;
	if (peek_at(p, k) == '\r')
		k++;
	if (peek_at(p, k) != '\n')
		return false;
	while (k-- > 0)
		adv(p);
	adv(p);
	while (peek(p) == ' ' || peek(p) == '\t')
		adv(p);
	return true;
}

static void skip_ws(struct ps *p)
{
	for (;;) {
		int c = peek(p);
		if (c == ' ' || c == '\t' || c == '\r')
			adv(p);
		else if (!continuation(p))
			return;
	}
}

/* Inside ( ) and [ ] newlines are only white space. */
static void skip_ws_nl(struct ps *p)
{
	for (;;) {
		skip_ws(p);
		if (peek(p) == '\n')
			adv(p);
		else
			return;
	}
}

static bool at_stmt_end(const struct ps *p)
{
	int c = peek(p);
	return c < 0 || c == '\n' || c == ';' || (p->end && c == p->end);
}

static void skip_to_eol(struct ps *p)
{
	while (peek(p) >= 0 && peek(p) != '\n')
		adv(p);
}

static bool is_word_char(int c)
{
	return c > 0 && (isalnum(c) || c == '-' || c == '_' || c == '.');
}

/* A plain name: path element, command or property name. */
static void read_name(struct ps *p, struct sbuf *out)
{
	sbuf_reset(out);
	while (is_word_char(peek(p))) {
		sbuf_putc(out, (char)peek(p));
		adv(p);
	}
}

static void put_utf8(struct sbuf *out, unsigned v)
{
	sbuf_putc(out, (char)v);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* One escape after a backslash, as RouterOS strings have them (\n \t \_ \HH
 * \" \\ \$ \?); what conf_quote writes reads back the same. Returns the
 * number of characters used (1, or 2 for \HH). */
size_t conf_unescape(const char *s, struct sbuf *out)
{
	int d = (unsigned char)s[0];
	int h1 = hexval(d), h2 = h1 >= 0 && s[1] ? hexval((unsigned char)s[1]) : -1;
	if (h2 >= 0 && d != 'a' && d != 'b' && d != 'f') {
		put_utf8(out, (unsigned)(h1 * 16 + h2));
		return 2;
	}
	switch (d) {
	case 'n': sbuf_putc(out, '\n'); break;
	case 'r': sbuf_putc(out, '\r'); break;
	case 't': sbuf_putc(out, '\t'); break;
	case 'a': sbuf_putc(out, '\a'); break;
	case 'b': sbuf_putc(out, '\b'); break;
	case 'f': sbuf_putc(out, '\f'); break;
	case 'v': sbuf_putc(out, '\v'); break;
	case '_': sbuf_putc(out, ' '); break;
	default: sbuf_putc(out, (char)d); break; /* \" \\ \$ \? */
	}
	return 1;
}

static int parse_subst(struct ps *p, struct sbuf *out, struct err *e);
static int parse_var(struct ps *p, struct sbuf *out, struct err *e);

/* "..." with RouterOS escapes and $var / $[cmd] interpolation. */
static int parse_string(struct ps *p, struct sbuf *out, struct err *e)
{
	int line = p->line, col = p->col;
	adv(p); /* opening quote */
	for (;;) {
		int c = peek(p);
		if (c < 0) {
			err_set(e, "unterminated string (opened at line %d col %d)", line, col);
			e->line = p->line;
			e->col = p->col;
			return -1;
		}
		if (c == '"') {
			adv(p);
			return 0;
		}
		if (c == '$' && (peek_at(p, 1) == '[' || isalpha(peek_at(p, 1)) ||
				 peek_at(p, 1) == '_' || peek_at(p, 1) == '(')) {
			if (parse_var(p, out, e) < 0)
				return -1;
			continue;
		}
		if (c == '\\') {
			if (continuation(p))
				continue;
			adv(p);
			int d = peek(p);
			if (d < 0)
				continue;
			size_t used = conf_unescape(p->t + p->i, out);
			while (used-- > 0)
				adv(p);
			continue;
		}
		sbuf_putc(out, (char)c);
		adv(p);
	}
}

/* $name, $[cmd], $(expr) */
static int parse_var(struct ps *p, struct sbuf *out, struct err *e)
{
	adv(p); /* $ */
	if (peek(p) == '[')
		return parse_subst(p, out, e);
	if (peek(p) == '(') {
		return parse_expr(p, out, e);
	}
	int line = p->line, col = p->col;
	struct sbuf name = SBUF_INIT;
	while (peek(p) > 0 && (isalnum(peek(p)) || peek(p) == '_' || peek(p) == '-')) {
		sbuf_putc(&name, (char)peek(p));
		adv(p);
	}
	if (!name.len) {
		sbuf_free(&name);
		return perr(p, e, "expected a variable name after '$'%s", "");
	}
	const char *v = conf_var_get(p->s, name.s);
	if (!v) {
		err_set(e, "undefined variable '%s'", name.s);
		e->line = line;
		e->col = col - 1;
		sbuf_free(&name);
		return -1;
	}
	sbuf_puts(out, v);
	sbuf_free(&name);
	return 0;
}

/* [ statements ] : the value of the last command. */
static int parse_subst(struct ps *p, struct sbuf *out, struct err *e)
{
	if (p->depth >= MAX_EXPR_DEPTH)
		return perr(p, e, "command substitutions nested too deeply%s", "");
	adv(p); /* [ */
	struct ps sub = *p;
	sub.end = ']';
	sub.depth = p->depth + 1;
	struct sbuf r = SBUF_INIT;
	p->s->subst++;
	int rc = run_statements(&sub, &r, e);
	p->s->subst--;
	p->i = sub.i;
	p->line = sub.line;
	p->col = sub.col;
	if (rc == 0) {
		if (peek(p) != ']') {
			sbuf_free(&r);
			return perr(p, e, "expected ']'%s", "");
		}
		adv(p);
		sbuf_puts(out, sbuf_str(&r));
	}
	sbuf_free(&r);
	return rc;
}

/* { ... } kept as text (without the braces) for source= and do=. */
static int parse_block_text(struct ps *p, struct sbuf *out, int *line, int *col, struct err *e)
{
	int l0 = p->line, c0 = p->col;
	adv(p); /* { */
	if (line) {
		*line = p->line;
		*col = p->col;
	}
	int depth = 1;
	size_t start = p->i;
	bool instr = false, line_start = false;
	while (peek(p) >= 0) {
		int c = peek(p);
		if (!instr && c == '#' && line_start) {
			/* a comment line: quotes and braces in it mean nothing */
			while (peek(p) >= 0 && peek(p) != '\n')
				adv(p);
			continue;
		}
		if (c == '\n')
			line_start = true;
		else if (c != ' ' && c != '\t' && c != '\r')
			line_start = false;
		if (instr) {
			if (c == '\\') {
				adv(p);
			} else if (c == '"') {
				instr = false;
			}
		} else if (c == '"') {
			instr = true;
		} else if (c == '{') {
			depth++;
		} else if (c == '}') {
			if (--depth == 0) {
				sbuf_add(out, p->t + start, p->i - start);
				adv(p);
				return 0;
			}
		}
		adv(p);
	}
	err_set(e, "unterminated '{' (opened at line %d col %d)", l0, c0);
	e->line = p->line;
	e->col = p->col;
	return -1;
}

/* ---- expressions: ( ... ) ---- */

static bool is_num(const char *s, long long *v)
{
	char *end;
	if (!*s)
		return false;
	long long x = strtoll(s, &end, 10);
	if (*end)
		return false;
	*v = x;
	return true;
}

static bool truthy(const char *s)
{
	return !strcmp(s, "true") || !strcmp(s, "yes");
}

static int expr_or(struct ps *p, struct sbuf *out, struct err *e);

static int expr_primary_(struct ps *p, struct sbuf *out, struct err *e);

static int expr_primary(struct ps *p, struct sbuf *out, struct err *e)
{
	if (p->edepth >= MAX_EXPR_DEPTH)
		return perr(p, e, "expression nested too deeply%s", "");
	p->edepth++;
	int rc = expr_primary_(p, out, e);
	p->edepth--;
	return rc;
}

static int expr_primary_(struct ps *p, struct sbuf *out, struct err *e)
{
	skip_ws_nl(p);
	int c = peek(p);
	if (c == '(') {
		adv(p);
		if (expr_or(p, out, e) < 0)
			return -1;
		skip_ws_nl(p);
		if (peek(p) != ')')
			return perr(p, e, "expected ')'%s", "");
		adv(p);
		return 0;
	}
	if (c == '"')
		return parse_string(p, out, e);
	if (c == '$')
		return parse_var(p, out, e);
	if (c == '[')
		return parse_subst(p, out, e);
	if (c == '!' || c == '-') {
		adv(p);
		struct sbuf v = SBUF_INIT;
		if (expr_primary(p, &v, e) < 0) {
			sbuf_free(&v);
			return -1;
		}
		long long n;
		if (c == '!')
			sbuf_puts(out, truthy(sbuf_str(&v)) ? "false" : "true");
		else if (is_num(sbuf_str(&v), &n))
			sbuf_printf(out, "%lld", -n);
		else {
			perr(p, e, "cannot negate '%s'", sbuf_str(&v));
			sbuf_free(&v);
			return -1;
		}
		sbuf_free(&v);
		return 0;
	}
	/* a bare literal: number, address, time, word */
	size_t start = p->i;
	while (peek(p) > 0 && (isalnum(peek(p)) || strchr("_-./:*", peek(p)))) {
		/* a '.' surrounded by spaces is concatenation, handled above us */
		adv(p);
	}
	if (p->i == start)
		return perr(p, e, "expected a value in the expression%s", "");
	sbuf_add(out, p->t + start, p->i - start);
	return 0;
}

static int expr_mul(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_primary(p, out, e) < 0)
		return -1;
	for (;;) {
		skip_ws_nl(p);
		int c = peek(p);
		if (c != '*' && c != '/' && c != '%')
			return 0;
		adv(p);
		struct sbuf r = SBUF_INIT;
		if (expr_primary(p, &r, e) < 0) {
			sbuf_free(&r);
			return -1;
		}
		long long a, b;
		if (!is_num(sbuf_str(out), &a) || !is_num(sbuf_str(&r), &b)) {
			sbuf_free(&r);
			return perr(p, e, "arithmetic needs numbers%s", "");
		}
		if (c != '*' && b == 0) {
			sbuf_free(&r);
			return perr(p, e, "division by zero%s", "");
		}
		sbuf_reset(out);
		sbuf_printf(out, "%lld", c == '*' ? a * b : c == '/' ? a / b : a % b);
		sbuf_free(&r);
	}
}

static int expr_add(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_mul(p, out, e) < 0)
		return -1;
	for (;;) {
		skip_ws_nl(p);
		int c = peek(p);
		if ((c != '+' && c != '-') || !(peek_at(p, 1) == ' ' || peek_at(p, 1) == '$' ||
						 peek_at(p, 1) == '(' || isdigit(peek_at(p, 1))))
			return 0;
		adv(p);
		struct sbuf r = SBUF_INIT;
		if (expr_mul(p, &r, e) < 0) {
			sbuf_free(&r);
			return -1;
		}
		long long a, b;
		if (!is_num(sbuf_str(out), &a) || !is_num(sbuf_str(&r), &b)) {
			sbuf_free(&r);
			return perr(p, e, "arithmetic needs numbers%s", "");
		}
		sbuf_reset(out);
		sbuf_printf(out, "%lld", c == '+' ? a + b : a - b);
		sbuf_free(&r);
	}
}

static int expr_concat(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_add(p, out, e) < 0)
		return -1;
	for (;;) {
		skip_ws_nl(p);
		if (peek(p) != '.')
			return 0;
		adv(p);
		struct sbuf r = SBUF_INIT;
		if (expr_add(p, &r, e) < 0) {
			sbuf_free(&r);
			return -1;
		}
		sbuf_puts(out, sbuf_str(&r));
		sbuf_free(&r);
	}
}

static int expr_cmp(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_concat(p, out, e) < 0)
		return -1;
	skip_ws_nl(p);
	int c = peek(p), c2 = peek_at(p, 1);
	int op = 0;
	if (c == '=')
		op = '=';
	else if (c == '!' && c2 == '=')
		op = 'n';
	else if (c == '<' && c2 == '=')
		op = 'l';
	else if (c == '>' && c2 == '=')
		op = 'g';
	else if (c == '<' || c == '>' || c == '~')
		op = c;
	if (!op)
		return 0;
	adv(p);
	if (op == 'n' || op == 'l' || op == 'g')
		adv(p);
	struct sbuf r = SBUF_INIT;
	if (expr_concat(p, &r, e) < 0) {
		sbuf_free(&r);
		return -1;
	}
	long long a, b;
	bool num = is_num(sbuf_str(out), &a) && is_num(sbuf_str(&r), &b);
	int cmp = num ? (a > b) - (a < b) : strcmp(sbuf_str(out), sbuf_str(&r));
	bool res;
	switch (op) {
	case '=': res = cmp == 0; break;
	case 'n': res = cmp != 0; break;
	case '<': res = cmp < 0; break;
	case '>': res = cmp > 0; break;
	case 'l': res = cmp <= 0; break;
	case 'g': res = cmp >= 0; break;
	default: res = strstr(sbuf_str(out), sbuf_str(&r)) != NULL; break;
	}
	sbuf_reset(out);
	sbuf_puts(out, res ? "true" : "false");
	sbuf_free(&r);
	return 0;
}

static bool word_ahead(struct ps *p, const char *w)
{
	size_t n = strlen(w);
	return p->i + n <= p->n && !strncmp(p->t + p->i, w, n) && !is_word_char(peek_at(p, n));
}

static int expr_and(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_cmp(p, out, e) < 0)
		return -1;
	for (;;) {
		skip_ws_nl(p);
		if (peek(p) == '&' && peek_at(p, 1) == '&') {
			adv(p);
			adv(p);
		} else if (word_ahead(p, "and")) {
			for (int k = 0; k < 3; k++)
				adv(p);
		} else {
			return 0;
		}
		struct sbuf r = SBUF_INIT;
		if (expr_cmp(p, &r, e) < 0) {
			sbuf_free(&r);
			return -1;
		}
		bool v = truthy(sbuf_str(out)) && truthy(sbuf_str(&r));
		sbuf_reset(out);
		sbuf_puts(out, v ? "true" : "false");
		sbuf_free(&r);
	}
}

static int expr_or(struct ps *p, struct sbuf *out, struct err *e)
{
	if (expr_and(p, out, e) < 0)
		return -1;
	for (;;) {
		skip_ws_nl(p);
		if (peek(p) == '|' && peek_at(p, 1) == '|') {
			adv(p);
			adv(p);
		} else if (word_ahead(p, "or")) {
			adv(p);
			adv(p);
		} else {
			return 0;
		}
		struct sbuf r = SBUF_INIT;
		if (expr_and(p, &r, e) < 0) {
			sbuf_free(&r);
			return -1;
		}
		bool v = truthy(sbuf_str(out)) || truthy(sbuf_str(&r));
		sbuf_reset(out);
		sbuf_puts(out, v ? "true" : "false");
		sbuf_free(&r);
	}
}

/* ( expr ) */
static int parse_expr(struct ps *p, struct sbuf *out, struct err *e)
{
	adv(p); /* ( */
	struct sbuf v = SBUF_INIT;
	int rc = expr_or(p, &v, e);
	if (rc == 0) {
		skip_ws_nl(p);
		if (peek(p) != ')')
			rc = perr(p, e, "expected ')'%s", "");
		else
			adv(p);
	}
	if (rc == 0)
		sbuf_puts(out, sbuf_str(&v));
	sbuf_free(&v);
	return rc;
}

/* ---- values ---- */

static bool bare_stop(const struct ps *p, int c)
{
	return c < 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == ';' ||
	       c == '"' || c == '$' || c == '[' || c == '{' || c == '}' ||
	       (p->end && c == p->end) || c == ']';
}

/* A value: pieces (bare text, "string", $var, [cmd], (expr), {block}) joined
 * until white space or the end of the statement. */
static int parse_value(struct ps *p, struct sbuf *out, struct err *e)
{
	bool any = false;
	for (;;) {
		int c = peek(p);
		if (c == '"') {
			if (parse_string(p, out, e) < 0)
				return -1;
		} else if (c == '$') {
			if (parse_var(p, out, e) < 0)
				return -1;
		} else if (c == '[') {
			if (parse_subst(p, out, e) < 0)
				return -1;
		} else if (c == '(' && !any) {
			if (parse_expr(p, out, e) < 0)
				return -1;
		} else if (c == '{' && !any) {
			if (parse_block_text(p, out, NULL, NULL, e) < 0)
				return -1;
		} else if (c == '\\' && continuation(p)) {
			return 0;
		} else if (!bare_stop(p, c)) {
			while (!bare_stop(p, peek(p))) {
				if (peek(p) == '\\' && continuation(p))
					break;
				sbuf_putc(out, (char)peek(p));
				adv(p);
			}
		} else {
			return 0;
		}
		any = true;
	}
}

/* ---- statements ---- */

static void path_join(char *dst, size_t n, const char *base, const char *w)
{
	snprintf(dst, n, "%s/%s", base, w);
}

static void path_up(char *path)
{
	char *sl = strrchr(path, '/');
	if (sl)
		*sl = 0;
}

/* Collects the rest of the statement as raw text (print where ...). */
static void raw_rest(struct ps *p, struct sbuf *out)
{
	int depth = 0;
	bool instr = false;
	while (peek(p) >= 0) {
		int c = peek(p);
		if (instr) {
			if (c == '\\' && peek_at(p, 1) >= 0) {
				sbuf_putc(out, (char)c);
				adv(p);
				c = peek(p);
			} else if (c == '"') {
				instr = false;
			}
		} else if (c == '"') {
			instr = true;
		} else if (c == '(' || c == '[') {
			depth++;
		} else if ((c == ')' || c == ']') && depth > 0) {
			depth--;
		} else if (depth == 0 && (c == '\n' || c == ';' || c == '}' ||
					  (p->end && c == p->end))) {
			break;
		} else if (c == '\\' && continuation(p)) {
			sbuf_putc(out, ' ');
			continue;
		}
		sbuf_putc(out, (char)c);
		adv(p);
	}
}

/* Arguments of a menu command up to the end of the statement. */
static int parse_args(struct ps *p, struct conf_args *args, struct err *e)
{
	struct sbuf name = SBUF_INIT, val = SBUF_INIT;
	int rc = 0;
	for (;;) {
		bool had_ws = p->i > 0 && (p->t[p->i - 1] == ' ' || p->t[p->i - 1] == '\t');
		skip_ws(p);
		if (p->i > 0 && (p->t[p->i - 1] == ' ' || p->t[p->i - 1] == '\t'))
			had_ws = true;
		if (at_stmt_end(p))
			break;
		int line = p->line, col = p->col;
		if (peek(p) == '#' && had_ws) {
			sbuf_printf(&p->s->warn,
				    "warning: line %d col %d: comment after a command ignored "
				    "(RouterOS takes '#' comments on their own line only)\n",
				    line, col);
			skip_to_eol(p);
			break;
		}
		size_t save_i = p->i;
		int save_line = p->line, save_col = p->col;
		read_name(p, &name);
		if (name.len && !strcmp(name.s, "where") &&
		    (peek(p) == ' ' || peek(p) == '\t' || peek(p) == '(' || peek(p) == '!')) {
			sbuf_reset(&val);
			skip_ws(p);
			raw_rest(p, &val);
			conf_args_add(args, "where", val.s ? val.s : "", line, col);
			continue;
		}
		if (name.len && peek(p) == '=') {
			adv(p);
			sbuf_reset(&val);
			int vline = p->line, vcol = p->col;
			if ((rc = parse_value(p, &val, e)) < 0)
				break;
			conf_args_add(args, name.s, sbuf_str(&val), line, col);
			args->a[args->n - 1].vline = vline;
			args->a[args->n - 1].vcol = vcol;
			continue;
		}
		/* positional */
		p->i = save_i;
		p->line = save_line;
		p->col = save_col;
		sbuf_reset(&val);
		if ((rc = parse_value(p, &val, e)) < 0)
			break;
		if (p->i == save_i) {
			rc = perr(p, e, "unexpected '%s'", (char[]){ (char)peek(p), 0 });
			break;
		}
		conf_args_add(args, NULL, sbuf_str(&val), line, col);
	}
	sbuf_free(&name);
	sbuf_free(&val);
	return rc;
}

static int script_command(struct ps *p, struct sbuf *ret, struct err *e);

/* One statement: path words, then a command and its arguments. */
static int run_statement(struct ps *p, struct sbuf *ret, struct err *e)
{
	struct conf_session *s = p->s;
	char path[sizeof(s->path)];
	struct sbuf w = SBUF_INIT;
	int rc = 0;
	size_t start = p->i;
	int sline = p->line, scol = p->col;

	snprintf(path, sizeof(path), "%s", s->path);
	if (peek(p) == '/') {
		path[0] = 0;
		adv(p);
	}
	for (;;) {
		skip_ws(p);
		if (at_stmt_end(p))
			break;
		size_t save_i = p->i;
		int save_line = p->line, save_col = p->col;
		if (peek(p) == '/') { /* /ip/firewall/filter/add form */
			adv(p);
			continue;
		}
		read_name(p, &w);
		if (!w.len) {
			rc = perr(p, e, "unexpected '%s'", (char[]){ (char)peek(p), 0 });
			goto out;
		}
		if (!strcmp(w.s, "..")) {
			path_up(path);
			continue;
		}
		char next[sizeof(path)];
		path_join(next, sizeof(next), path, w.s);
		if ((schema_find(next) || schema_is_dir(next)) && !cmd_exists(path, w.s)) {
			snprintf(path, sizeof(path), "%s", next);
			continue;
		}
		if (schema_find(next) || schema_is_dir(next)) {
			/* a name that is both a submenu and a command (rare): submenu wins
			 * when more words follow that are not arguments */
			snprintf(path, sizeof(path), "%s", next);
			continue;
		}
		/* the command */
		if (!cmd_exists(path, w.s)) {
			p->i = save_i;
			p->line = save_line;
			p->col = save_col;
			char shown[sizeof(path) + 2];
			snprintf(shown, sizeof(shown), "%s", path[0] ? path : "/");
			err_set(e, "bad command name %s (line %d column %d): no such command or menu '%s' in %s",
				w.s, save_line, save_col, w.s, shown);
			snprintf(e->msg, sizeof(e->msg), "no such command or menu '%s' in %s", w.s,
				 shown);
			e->line = save_line;
			e->col = save_col;
			rc = -1;
			goto out;
		}
		struct conf_args args = { 0 };
		/* [find ...] in the arguments runs in the command's own menu */
		char saved[sizeof(s->path)];
		snprintf(saved, sizeof(saved), "%s", s->path);
		snprintf(s->path, sizeof(s->path), "%s", path);
		rc = parse_args(p, &args, e);
		snprintf(s->path, sizeof(s->path), "%s", saved);
		if (rc == 0) {
			const char *old_text = s->cmd_text;
			size_t old_len = s->cmd_len;
			int ol = s->stmt_line, oc = s->stmt_col;
			s->cmd_text = p->t + start;
			s->cmd_len = p->i - start;
			s->stmt_line = sline;
			s->stmt_col = scol;
			if (ret)
				sbuf_reset(ret);
			rc = cmd_run(s, path, w.s, &args, ret, e);
			if (rc < 0 && e && !e->line) {
				e->line = sline;
				e->col = scol;
			}
			s->cmd_text = old_text;
			s->cmd_len = old_len;
			s->stmt_line = ol;
			s->stmt_col = oc;
		}
		conf_args_free(&args);
		goto out;
	}
	/* only path words: change the current menu */
	if (p->depth == 0)
		snprintf(s->path, sizeof(s->path), "%s", path);
out:
	sbuf_free(&w);
	return rc;
}

static int run_one(struct ps *p, struct sbuf *ret, struct err *e)
{
	skip_ws(p);
	int c = peek(p);
	if (c == '#') {
		skip_to_eol(p);
		return 0;
	}
	if (c == '{') {
		int line, col;
		struct sbuf blk = SBUF_INIT;
		int rc = parse_block_text(p, &blk, &line, &col, e);
		if (rc == 0)
			rc = script_run(p->s, sbuf_str(&blk), line, col, ret, e);
		sbuf_free(&blk);
		return rc;
	}
	if (c == ':')
		return script_command(p, ret, e);
	if (at_stmt_end(p))
		return 0;
	return run_statement(p, ret, e);
}

static int run_statements(struct ps *p, struct sbuf *ret, struct err *e)
{
	for (;;) {
		skip_ws(p);
		int c = peek(p);
		if (c < 0)
			return 0;
		if (p->end && c == p->end)
			return 0;
		if (c == '\n' || c == ';') {
			adv(p);
			continue;
		}
		if (c == '}')
			return perr(p, e, "unexpected '}'%s", "");
		if (p->end == ']' && c == ']')
			return 0;
		if (run_one(p, ret, e) < 0)
			return -1;
		if (p->s->quit)
			return 0;
		skip_ws(p);
		c = peek(p);
		if (c >= 0 && c != '\n' && c != ';' && !(p->end && c == p->end)) {
			if (c == '#') {
				skip_to_eol(p);
				continue;
			}
			return perr(p, e, "expected end of command, found '%s'",
				    (char[]){ (char)c, 0 });
		}
	}
}

/* ---- ':' commands ---- */

static int read_cmd_value(struct ps *p, struct sbuf *out, struct err *e)
{
	skip_ws(p);
	if (at_stmt_end(p))
		return 0;
	return parse_value(p, out, e);
}

/* name=value arguments of :if/:foreach/:for/:while (values kept raw for do=). */
struct kv {
	char name[32];
	struct sbuf val;
	int line, col;
	bool block;
};

static int read_kv_args(struct ps *p, struct kv *kv, size_t max, size_t *n,
			struct sbuf *positional, struct err *e)
{
	*n = 0;
	for (;;) {
		skip_ws(p);
		if (at_stmt_end(p))
			return 0;
		if (peek(p) == '#') {
			skip_to_eol(p);
			return 0;
		}
		size_t save = p->i;
		int sl = p->line, sc = p->col;
		struct sbuf name = SBUF_INIT;
		read_name(p, &name);
		if (name.len && peek(p) == '=') {
			adv(p);
			if (*n >= max) {
				sbuf_free(&name);
				return perr(p, e, "too many arguments%s", "");
			}
			struct kv *k = &kv[(*n)++];
			snprintf(k->name, sizeof(k->name), "%s", name.s);
			sbuf_init(&k->val);
			k->line = p->line;
			k->col = p->col;
			k->block = false;
			sbuf_free(&name);
			if (peek(p) == '{') {
				k->block = true;
				if (parse_block_text(p, &k->val, &k->line, &k->col, e) < 0)
					return -1;
			} else if (parse_value(p, &k->val, e) < 0) {
				return -1;
			}
			continue;
		}
		sbuf_free(&name);
		p->i = save;
		p->line = sl;
		p->col = sc;
		if (positional) {
			if (positional->len)
				sbuf_putc(positional, ' ');
			if (parse_value(p, positional, e) < 0)
				return -1;
			if (p->i == save)
				return perr(p, e, "unexpected '%s'", (char[]){ (char)peek(p), 0 });
		} else {
			return perr(p, e, "unexpected argument%s", "");
		}
	}
}

static void kv_free(struct kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sbuf_free(&kv[i].val);
}

static struct kv *kv_get(struct kv *kv, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].name, name))
			return &kv[i];
	return NULL;
}

static int run_block(struct ps *p, struct kv *k, struct sbuf *ret, struct err *e)
{
	if (!k)
		return 0;
	if (k->block)
		return script_run(p->s, sbuf_str(&k->val), k->line, k->col, ret, e);
	return script_run(p->s, sbuf_str(&k->val), k->line, k->col, ret, e);
}

static void split_array(const char *s, char ***items, size_t *n)
{
	*items = NULL;
	*n = 0;
	if (!*s)
		return;
	const char *q = s;
	for (;;) {
		const char *sep = strchr(q, ';');
		size_t len = sep ? (size_t)(sep - q) : strlen(q);
		*items = xrealloc(*items, (*n + 1) * sizeof(char *));
		(*items)[(*n)++] = xstrndup(q, len);
		if (!sep)
			break;
		q = sep + 1;
	}
}

static int script_command(struct ps *p, struct sbuf *ret, struct err *e)
{
	struct conf_session *s = p->s;
	int line = p->line, col = p->col;
	adv(p); /* : */
	struct sbuf w = SBUF_INIT, v = SBUF_INIT;
	read_name(p, &w);
	const char *cmd = sbuf_str(&w);
	int rc = 0;
	struct kv kv[8];
	size_t nkv = 0;

	if (ret)
		sbuf_reset(ret);
	if (!strcmp(cmd, "put")) {
		if ((rc = read_cmd_value(p, &v, e)) == 0) {
			sbuf_puts(&s->out, sbuf_str(&v));
			sbuf_putc(&s->out, '\n');
		}
	} else if (!strcmp(cmd, "local") || !strcmp(cmd, "global") || !strcmp(cmd, "set")) {
		struct sbuf name = SBUF_INIT;
		skip_ws(p);
		while (peek(p) > 0 && (isalnum(peek(p)) || peek(p) == '_' || peek(p) == '-')) {
			sbuf_putc(&name, (char)peek(p));
			adv(p);
		}
		if (!name.len) {
			rc = perr(p, e, "expected a variable name%s", "");
		} else {
			bool has = false;
			skip_ws(p);
			if (peek(p) == '=')  /* ":local a = 5" is not RouterOS, but harmless */
				adv(p);
			skip_ws(p);
			if (!at_stmt_end(p)) {
				has = true;
				rc = parse_value(p, &v, e);
			}
			if (rc == 0) {
				if (!strcmp(cmd, "set")) {
					if (!conf_var_get(s, name.s))
						rc = perr(p, e, "no such variable '%s'", name.s);
					else
						conf_var_set(s, name.s, sbuf_str(&v), false, false);
				} else {
					conf_var_set(s, name.s, has ? sbuf_str(&v) : "",
						     !strcmp(cmd, "global"), true);
				}
			}
		}
		sbuf_free(&name);
	} else if (!strcmp(cmd, "log")) {
		struct sbuf level = SBUF_INIT;
		skip_ws(p);
		read_name(p, &level);
		const char *lv = sbuf_str(&level);
		if (strcmp(lv, "info") && strcmp(lv, "warning") && strcmp(lv, "error") &&
		    strcmp(lv, "debug"))
			rc = perr(p, e, "expected info, warning, error or debug after :log%s", "");
		else if ((rc = read_cmd_value(p, &v, e)) == 0)
			conf_log(!strcmp(lv, "info") ? "script,info"
				 : !strcmp(lv, "warning") ? "script,warning"
				 : !strcmp(lv, "error") ? "script,error" : "script,debug",
				 "%s", sbuf_str(&v));
		sbuf_free(&level);
	} else if (!strcmp(cmd, "if")) {
		skip_ws(p);
		if (peek(p) != '(') {
			rc = perr(p, e, "expected '(' condition after :if%s", "");
		} else if ((rc = parse_expr(p, &v, e)) == 0 &&
			   (rc = read_kv_args(p, kv, 8, &nkv, NULL, e)) == 0) {
			struct kv *k = truthy(sbuf_str(&v)) ? kv_get(kv, nkv, "do")
							    : kv_get(kv, nkv, "else");
			rc = run_block(p, k, ret, e);
		}
	} else if (!strcmp(cmd, "foreach")) {
		struct sbuf var = SBUF_INIT;
		skip_ws(p);
		while (peek(p) > 0 && (isalnum(peek(p)) || peek(p) == '_')) {
			sbuf_putc(&var, (char)peek(p));
			adv(p);
		}
		if (!var.len) {
			rc = perr(p, e, "expected a variable after :foreach%s", "");
		} else if ((rc = read_kv_args(p, kv, 8, &nkv, NULL, e)) == 0) {
			struct kv *in = kv_get(kv, nkv, "in"), *body = kv_get(kv, nkv, "do");
			if (!in || !body) {
				rc = perr(p, e, ":foreach needs in= and do=%s", "");
			} else {
				char **items;
				size_t n;
				split_array(sbuf_str(&in->val), &items, &n);
				for (size_t i = 0; i < n; i++) {
					if (rc == 0) {
						s->scope++;
						conf_var_set(s, var.s, items[i], false, true);
						rc = run_block(p, body, NULL, e);
						s->scope--;
						/* drop the loop's locals */
						while (s->locals.n && s->locals.v[s->locals.n - 1].scope > s->scope) {
							s->locals.n--;
							free(s->locals.v[s->locals.n].name);
							free(s->locals.v[s->locals.n].value);
						}
					}
					free(items[i]);
				}
				free(items);
			}
		}
		sbuf_free(&var);
	} else if (!strcmp(cmd, "for")) {
		struct sbuf var = SBUF_INIT;
		skip_ws(p);
		while (peek(p) > 0 && (isalnum(peek(p)) || peek(p) == '_')) {
			sbuf_putc(&var, (char)peek(p));
			adv(p);
		}
		if ((rc = read_kv_args(p, kv, 8, &nkv, NULL, e)) == 0) {
			struct kv *from = kv_get(kv, nkv, "from"), *to = kv_get(kv, nkv, "to"),
				  *step = kv_get(kv, nkv, "step"), *body = kv_get(kv, nkv, "do");
			long long a, b, st = 1;
			if (!var.len || !from || !to || !body || !is_num(sbuf_str(&from->val), &a) ||
			    !is_num(sbuf_str(&to->val), &b) ||
			    (step && (!is_num(sbuf_str(&step->val), &st) || st == 0))) {
				rc = perr(p, e, ":for needs a variable, numeric from= and to=, and do=%s", "");
			} else {
				if (!step && b < a)
					st = -1;
				long long count = 0;
				for (long long i = a; rc == 0 && (st > 0 ? i <= b : i >= b); i += st) {
					if (++count > 1000000) {
						rc = perr(p, e, ":for ran more than 1000000 times%s", "");
						break;
					}
					char num[32];
					snprintf(num, sizeof(num), "%lld", i);
					s->scope++;
					conf_var_set(s, var.s, num, false, true);
					rc = run_block(p, body, NULL, e);
					s->scope--;
					while (s->locals.n && s->locals.v[s->locals.n - 1].scope > s->scope) {
						s->locals.n--;
						free(s->locals.v[s->locals.n].name);
						free(s->locals.v[s->locals.n].value);
					}
				}
			}
		}
		sbuf_free(&var);
	} else if (!strcmp(cmd, "while")) {
		skip_ws(p);
		if (peek(p) != '(') {
			rc = perr(p, e, "expected '(' condition after :while%s", "");
		} else {
			size_t ci = p->i;
			int cl = p->line, cc = p->col;
			if ((rc = parse_expr(p, &v, e)) == 0 &&
			    (rc = read_kv_args(p, kv, 8, &nkv, NULL, e)) == 0) {
				struct kv *body = kv_get(kv, nkv, "do");
				long long count = 0;
				size_t after = p->i;
				int al = p->line, ac = p->col;
				while (rc == 0 && truthy(sbuf_str(&v))) {
					if (++count > 1000000) {
						rc = perr(p, e, ":while ran more than 1000000 times%s", "");
						break;
					}
					rc = run_block(p, body, NULL, e);
					if (rc)
						break;
					p->i = ci;
					p->line = cl;
					p->col = cc;
					sbuf_reset(&v);
					rc = parse_expr(p, &v, e);
				}
				p->i = after;
				p->line = al;
				p->col = ac;
			}
		}
	} else if (!strcmp(cmd, "len")) {
		/* an array's elements (as :typeof and :foreach see one: items
		 * between ';', or one item id alone: what [find] gives for one
		 * match), a string's characters; [find]'s count, say */
		if ((rc = read_cmd_value(p, &v, e)) == 0 && ret) {
			size_t n = v.len;
			uint32_t id;
			if (v.len && store_parse_id(v.s, &id) == 0)
				n = 1;
			else if (v.len && strchr(v.s, ';')) {
				n = 1;
				for (const char *q = v.s; (q = strchr(q, ';')); q++)
					n++;
			}
			sbuf_printf(ret, "%zu", n);
		}
	} else if (!strcmp(cmd, "toarray")) {
		/* "a,b,c" as RouterOS splits it: the commas become the ';' between
		 * an array's items here */
		if ((rc = read_cmd_value(p, &v, e)) == 0 && ret)
			for (const char *q = sbuf_str(&v); *q; q++)
				sbuf_putc(ret, *q == ',' ? ';' : *q);
	} else if (!strcmp(cmd, "tostr") || !strcmp(cmd, "tonum") || !strcmp(cmd, "return")) {
		if ((rc = read_cmd_value(p, &v, e)) == 0) {
			long long n;
			if (!strcmp(cmd, "tonum") && !is_num(sbuf_str(&v), &n))
				sbuf_reset(&v);
			if (ret)
				sbuf_puts(ret, sbuf_str(&v));
		}
	} else if (!strcmp(cmd, "typeof")) {
		if ((rc = read_cmd_value(p, &v, e)) == 0 && ret) {
			long long n;
			const char *t = !v.len ? "nothing"
					: is_num(sbuf_str(&v), &n) ? "num"
					: (!strcmp(v.s, "true") || !strcmp(v.s, "false")) ? "bool"
					: strchr(v.s, ';') ? "array" : "str";
			sbuf_puts(ret, t);
		}
	} else if (!strcmp(cmd, "pick")) {
		struct sbuf pos = SBUF_INIT;
		if ((rc = read_kv_args(p, kv, 8, &nkv, &pos, e)) == 0) {
			/* :pick value start [end] arrive as positional words */
			char a[3][256] = { "", "", "" };
			int na = sscanf(sbuf_str(&pos), "%255s %255s %255s", a[0], a[1], a[2]);
			long long st = 0, en = -1;
			if (na < 2 || !is_num(a[1], &st) || (na == 3 && !is_num(a[2], &en)))
				rc = perr(p, e, ":pick needs a value and a start position%s", "");
			else if (ret) {
				long long len = (long long)strlen(a[0]);
				if (na < 3)
					en = st + 1;
				if (st < 0)
					st = 0;
				if (en > len)
					en = len;
				if (en > st)
					sbuf_add(ret, a[0] + st, (size_t)(en - st));
			}
		}
		sbuf_free(&pos);
	} else if (!strcmp(cmd, "delay")) {
		/* Scripts run on virtual time here: a delay has nothing to wait for. */
		rc = read_cmd_value(p, &v, e);
	} else if (!strcmp(cmd, "error")) {
		if ((rc = read_cmd_value(p, &v, e)) == 0) {
			err_set(e, "%s", sbuf_str(&v));
			e->line = line;
			e->col = col;
			rc = -1;
		}
	} else if (!strcmp(cmd, "nothing")) {
		rc = 0;
	} else {
		err_set(e, "unknown script command ':%s'", cmd);
		e->line = line;
		e->col = col;
		rc = -1;
	}
	kv_free(kv, nkv);
	sbuf_free(&w);
	sbuf_free(&v);
	return rc;
}

/* ---- variables ---- */

static struct conf_var *var_find(struct conf_vars *vs, const char *name)
{
	for (size_t i = vs->n; i > 0; i--)
		if (!strcmp(vs->v[i - 1].name, name))
			return &vs->v[i - 1];
	return NULL;
}

const char *conf_var_get(struct conf_session *s, const char *name)
{
	struct conf_var *v = var_find(&s->locals, name);
	if (!v)
		v = var_find(&s->globals, name);
	return v ? v->value : NULL;
}

void conf_var_set(struct conf_session *s, const char *name, const char *value, bool global,
		  bool declare)
{
	struct conf_vars *vs = global ? &s->globals : &s->locals;
	struct conf_var *v = NULL;
	if (!declare) {
		v = var_find(&s->locals, name);
		if (!v)
			v = var_find(&s->globals, name);
	} else {
		v = var_find(vs, name);
		if (v && !global && v->scope != s->scope)
			v = NULL;
	}
	if (v) {
		free(v->value);
		v->value = xstrdup(value);
		return;
	}
	if (vs->n == vs->cap) {
		vs->cap = vs->cap ? vs->cap * 2 : 16;
		vs->v = xrealloc(vs->v, vs->cap * sizeof(*vs->v));
	}
	vs->v[vs->n++] = (struct conf_var){ xstrdup(name), xstrdup(value), global ? 0 : s->scope };
}

/* ---- entry points ---- */

int script_run(struct conf_session *s, const char *text, int line, int col, struct sbuf *ret,
	       struct err *e)
{
	if (s->nest >= MAX_NEST)
		return err_set(e, "scripts nested too deeply");
	s->nest++;
	s->scope++;
	struct ps p = { .s = s, .t = text, .n = strlen(text), .line = line, .col = col };
	int rc = run_statements(&p, ret, e);
	s->scope--;
	while (s->locals.n && s->locals.v[s->locals.n - 1].scope > s->scope) {
		s->locals.n--;
		free(s->locals.v[s->locals.n].name);
		free(s->locals.v[s->locals.n].value);
	}
	s->nest--;
	return rc;
}

int conf_exec(struct conf_session *s, const char *text, struct sbuf *ret, struct err *e)
{
	err_clear(e);
	struct ps p = { .s = s, .t = text, .n = strlen(text), .line = 1, .col = 1 };
	/* top-level :local variables of a console line live for that line */
	s->scope++;
	int rc = run_statements(&p, ret, e);
	s->scope--;
	while (s->locals.n && s->locals.v[s->locals.n - 1].scope > s->scope) {
		s->locals.n--;
		free(s->locals.v[s->locals.n].name);
		free(s->locals.v[s->locals.n].value);
	}
	return rc;
}

/*
 * Lenient import runs statement by statement so a failing one can be skipped.
 * A statement starts at the beginning of a line (after continuation joining).
 */
int conf_import(struct conf_session *s, const char *text, const char *name, unsigned mode,
		struct sbuf *report, struct err *e)
{
	err_clear(e);
	char saved_path[sizeof(s->path)];
	snprintf(saved_path, sizeof(saved_path), "%s", s->path);
	s->path[0] = 0;
	if (store_begin(s->st, e) < 0)
		return -1;
	struct ps p = { .s = s, .t = text, .n = strlen(text), .line = 1, .col = 1 };
	int rc = 0, skipped = 0, applied = 0;
	int log_depth = s->log_depth;
	if ((mode & CONF_INLINE) && !(mode & CONF_DRYRUN))
		s->log_depth = store_depth(s->st) + 1; /* and the statement's own */
	s->scope++;
	for (;;) {
		skip_ws(&p);
		int c = peek(&p);
		if (c < 0)
			break;
		if (c == '\n' || c == ';') {
			adv(&p);
			continue;
		}
		int line = p.line;
		struct err le;
		err_clear(&le);
		if (store_begin(s->st, &le) < 0) {
			*e = le;
			rc = -1;
			break;
		}
		int r = run_one(&p, NULL, &le);
		if (r == 0) {
			skip_ws(&p);
			c = peek(&p);
			if (c == '#') {
				skip_to_eol(&p);
			} else if (c >= 0 && c != '\n' && c != ';') {
				r = perr(&p, &le, "expected end of command, found '%s'",
					 (char[]){ (char)c, 0 });
			}
		}
		if (r < 0) {
			store_rollback(s->st);
			if (!le.line) {
				le.line = line;
				le.col = 1;
			}
			if (!(mode & CONF_LENIENT)) {
				*e = le;
				rc = -1;
				break;
			}
			skipped++;
			if (mode & CONF_INLINE) {
				sbuf_puts(&s->out, "failure: ");
				err_format(&le, &s->out);
				sbuf_putc(&s->out, '\n');
			} else if (report) {
				sbuf_printf(report, "%s: skipped: ", name ? name : "import");
				err_format(&le, report);
				sbuf_putc(report, '\n');
			}
			/* resume at the next line */
			skip_to_eol(&p);
			continue;
		}
		store_commit(s->st, s->user, NULL, NULL);
		applied++;
		if (s->quit)
			break;
	}
	s->scope--;
	s->log_depth = log_depth;
	while (s->locals.n && s->locals.v[s->locals.n - 1].scope > s->scope) {
		s->locals.n--;
		free(s->locals.v[s->locals.n].name);
		free(s->locals.v[s->locals.n].value);
	}
	snprintf(s->path, sizeof(s->path), "%s", saved_path);
	if (rc < 0 || (mode & CONF_DRYRUN)) {
		store_rollback(s->st);
	} else {
		char jc[300];
		snprintf(jc, sizeof(jc), "/import file-name=%s", name ? name : "-");
		if (store_commit(s->st, s->user, jc, e) < 0) {
			store_rollback(s->st);
			return -1;
		}
	}
	if (report && (mode & CONF_LENIENT))
		sbuf_printf(report, "%s: %d statements applied, %d skipped%s\n",
			    name ? name : "import", applied, skipped,
			    (mode & CONF_DRYRUN) ? " (dry run: nothing changed)" : "");
	return rc == 0 && (mode & CONF_INLINE) ? skipped : rc;
}
