/*
 * The REST request handling of rest.h: the target is split into the menu
 * path, the item and the query; the JSON body becomes command arguments;
 * mgmt_exec runs them; rows are rendered as RouterOS renders them (every
 * value a string, .id first). What a method means:
 *   GET    /rest/<menu>            print (array; an object for settings menus)
 *   GET    /rest/<menu>/<id|name>  one item (object)
 *   PUT    /rest/<menu>            add, replies with the new item
 *   PATCH  /rest/<menu>/<id|name>  set (and unset for "!name" keys)
 *   DELETE /rest/<menu>/<id|name>  remove, 204 with no body
 *   POST   /rest/<path>/<command>  any console command
 */
#include "rest.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/runtime.h"
#include "mgmt.h"
#include "query.h"

#define MAX_SEGS 16        /* path segments after /rest (menus are at most 4 deep) */
#define MAX_PARAMS 64      /* query-string parameters */
#define MAX_QUERY_WORDS 256 /* words of a .query */

enum method { M_GET, M_PUT, M_PATCH, M_DELETE, M_POST };

struct strv {
	char **v;
	size_t n;
};

static void strv_add(struct strv *sv, const char *s, size_t n)
{
	sv->v = xrealloc(sv->v, (sv->n + 1) * sizeof(*sv->v));
	sv->v[sv->n++] = xstrndup(s, n);
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	sv->v = NULL;
	sv->n = 0;
}

static bool strv_has(const struct strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++)
		if (!strcmp(sv->v[i], s))
			return true;
	return false;
}

/* ---- replies ---- */

const char *rest_status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	default: return status >= 500 ? "Internal Server Error" : "Bad Request";
	}
}

void rest_reply_free(struct rest_reply *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

static void reply_take(struct rest_reply *r, int status, struct sbuf *o)
{
	rest_reply_free(r);
	r->status = status;
	r->len = o->len;
	r->body = o->len ? sbuf_steal(o) : xstrdup("");
	sbuf_free(o);
}

/* Length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t utf8_len(const unsigned char *p)
{
	unsigned c = p[0];
	size_t n;
	unsigned lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF)
		n = 2;
	else if (c >= 0xE0 && c <= 0xEF)
		n = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
	else if (c >= 0xF0 && c <= 0xF4)
		n = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
	else
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xBF)
			return 0;
	return n;
}

/*
 * A JSON string. Replies are written directly rather than built as a
 * jansson tree: a print of 10,000 rules is 150,000 values, and the tree
 * cost several times the rest of the request. JSON is UTF-8: a stored byte
 * that does not fit (a comment typed in latin-1) is sent as '?'.
 */
static void put_str(struct sbuf *o, const char *v)
{
	const unsigned char *p = (const unsigned char *)v;
	sbuf_putc(o, '"');
	while (*p) {
		const unsigned char *q = p;
		while (*q >= 0x20 && *q < 0x80 && *q != '"' && *q != '\\')
			q++;
		if (q > p) {
			sbuf_add(o, (const char *)p, (size_t)(q - p));
			p = q;
			continue;
		}
		size_t n;
		if (*p == '"' || *p == '\\') {
			sbuf_putc(o, '\\');
			sbuf_putc(o, (char)*p++);
		} else if (*p == '\n' || *p == '\t' || *p == '\r') {
			sbuf_putc(o, '\\');
			sbuf_putc(o, *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
			p++;
		} else if (*p < 0x20) {
			sbuf_printf(o, "\\u%04x", *p++);
		} else if ((n = utf8_len(p)) > 0) {
			sbuf_add(o, (const char *)p, n);
			p += n;
		} else {
			sbuf_putc(o, '?');
			p++;
		}
	}
	sbuf_putc(o, '"');
}

static void put_pair(struct sbuf *o, bool first, const char *name, const char *value)
{
	if (!first)
		sbuf_putc(o, ',');
	put_str(o, name);
	sbuf_putc(o, ':');
	put_str(o, value);
}

void rest_reply_error(struct rest_reply *r, int status, const char *detail)
{
	struct sbuf o = SBUF_INIT;
	sbuf_printf(&o, "{\"error\":%d,", status);
	put_pair(&o, true, "message", rest_status_text(status));
	if (detail)
		put_pair(&o, false, "detail", detail);
	sbuf_putc(&o, '}');
	reply_take(r, status, &o);
}

/* {"ret":"..."} */
static void reply_ret(struct rest_reply *r, const char *ret)
{
	struct sbuf o = SBUF_INIT;
	sbuf_putc(&o, '{');
	put_pair(&o, true, "ret", ret);
	sbuf_putc(&o, '}');
	reply_take(r, 200, &o);
}

static bool no_permission(const struct err *e)
{
	return !strncmp(e->msg, "not enough permissions", 22);
}

/* A failed command: 403 for a policy the user lacks, else 400 with the
 * command core's message as the detail. */
static void reply_cmd_error(struct rest_reply *r, const struct err *e)
{
	rest_reply_error(r, no_permission(e) ? 403 : 400, e->msg[0] ? e->msg : "failure");
}

/* One row as an object, .id first (mgmt gives it first). */
static void put_row(struct sbuf *o, const struct mgmt_row *row, const struct strv *proplist,
		    bool settings)
{
	bool first = true;
	sbuf_putc(o, '{');
	for (size_t i = 0; i < row->n; i++) {
		const char *name = row->a[i].name;
		/* a settings menu has one item: RouterOS shows no id or item state */
		if (settings && (!strcmp(name, ".id") || !strcmp(name, "dynamic") ||
				 !strcmp(name, "invalid") || !strcmp(name, "default")))
			continue;
		if (proplist && !strv_has(proplist, name))
			continue;
		put_pair(o, first, name, row->a[i].value);
		first = false;
	}
	sbuf_putc(o, '}');
}

static void reply_row(struct rest_reply *r, int status, const struct mgmt_row *row,
		      const struct strv *proplist, bool settings)
{
	struct sbuf o = SBUF_INIT;
	put_row(&o, row, proplist, settings);
	reply_take(r, status, &o);
}

/* An array of the rows that keep says yes to (NULL: all). */
static void reply_rows(struct rest_reply *r, const struct mgmt_result *res,
		       const struct strv *proplist, bool (*keep)(void *, const struct mgmt_row *),
		       void *ctx)
{
	struct sbuf o = SBUF_INIT;
	bool first = true;
	sbuf_putc(&o, '[');
	for (size_t i = 0; i < res->nrows; i++) {
		if (keep && !keep(ctx, &res->rows[i]))
			continue;
		if (!first)
			sbuf_putc(&o, ',');
		put_row(&o, &res->rows[i], proplist, false);
		first = false;
	}
	sbuf_putc(&o, ']');
	reply_take(r, 200, &o);
}

static void reply_empty_list(struct rest_reply *r)
{
	struct sbuf o = SBUF_INIT;
	sbuf_puts(&o, "[]");
	reply_take(r, 200, &o);
}

/* ---- the request target ---- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Percent-decoding; '+' is a space in query strings. %00 is refused: no
 * name or value of the command core holds a NUL. */
static int pct_decode(const char *s, size_t n, bool plus, struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '%') {
			if (i + 2 >= n)
				return -1;
			int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return -1;
			sbuf_putc(out, (char)(hi << 4 | lo));
			i += 2;
		} else if (c == '+' && plus) {
			sbuf_putc(out, ' ');
		} else if (c == '\0') {
			return -1;
		} else {
			sbuf_putc(out, c);
		}
	}
	return 0;
}

struct target {
	struct strv segs;  /* decoded path segments after /rest */
	struct strv qname; /* query-string parameters, decoded */
	struct strv qval;
};

static void target_free(struct target *t)
{
	strv_free(&t->segs);
	strv_free(&t->qname);
	strv_free(&t->qval);
}

/* Returns 0, 1 when the target is not under /rest, -1 when it is malformed. */
static int target_parse(const char *t, struct target *out)
{
	memset(out, 0, sizeof(*out));
	const char *q = strchr(t, '?');
	size_t plen = q ? (size_t)(q - t) : strlen(t);
	if (plen < 5 || strncmp(t, "/rest", 5) || (plen > 5 && t[5] != '/'))
		return 1;
	struct sbuf dec = SBUF_INIT;
	int rc = 0;
	for (size_t i = 5; i < plen && rc == 0;) {
		size_t j = i;
		while (j < plen && t[j] != '/')
			j++;
		if (j > i) {
			if (out->segs.n == MAX_SEGS || pct_decode(t + i, j - i, false, &dec) < 0)
				rc = -1;
			else
				strv_add(&out->segs, dec.s, dec.len);
		}
		i = j + 1;
	}
	for (const char *p = q ? q + 1 : NULL; p && *p && rc == 0;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);
		if (n) {
			const char *eq = memchr(p, '=', n);
			size_t nn = eq ? (size_t)(eq - p) : n;
			if (out->qname.n == MAX_PARAMS || pct_decode(p, nn, true, &dec) < 0) {
				rc = -1;
				break;
			}
			strv_add(&out->qname, dec.s, dec.len);
			if (pct_decode(eq ? eq + 1 : p + n, eq ? n - nn - 1 : 0, true, &dec) < 0) {
				rc = -1;
				break;
			}
			strv_add(&out->qval, dec.s, dec.len);
		}
		p = amp ? amp + 1 : p + n;
	}
	sbuf_free(&dec);
	if (rc < 0)
		target_free(out);
	return rc;
}

/* "/a/b" of segments [0, n). */
static void join_path(const struct strv *segs, size_t n, struct sbuf *out)
{
	sbuf_reset(out);
	sbuf_add(out, "", 0);
	for (size_t i = 0; i < n; i++) {
		sbuf_putc(out, '/');
		sbuf_puts(out, segs->v[i]);
	}
}

/* ".proplist=a,b" (or a JSON list) as names. */
static void proplist_split(const char *text, struct strv *out)
{
	const char *p = text;
	while (*p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n)
			strv_add(out, p, n);
		p = c ? c + 1 : p + n;
	}
}

/* ---- matching rows ---- */

/* One .query word through the shared query parser, its error as text. */
static int query_word(struct mgmt_query *q, const char *w, struct sbuf *why)
{
	struct err e;
	err_clear(&e);
	if (mgmt_query_add(q, w, &e) < 0) {
		sbuf_puts(why, e.msg);
		return -1;
	}
	return 0;
}


/* ---- the body ---- */

struct args {
	struct mgmt_attr *a;
	size_t n;
};

static void args_add(struct args *a, const char *name, const char *value)
{
	a->a = xrealloc(a->a, (a->n + 1) * sizeof(*a->a));
	a->a[a->n].name = xstrdup(name);
	a->a[a->n].value = xstrdup(value);
	a->n++;
}

static void args_free(struct args *a)
{
	for (size_t i = 0; i < a->n; i++) {
		free(a->a[i].name);
		free(a->a[i].value);
	}
	free(a->a);
	a->a = NULL;
	a->n = 0;
}

static const char *args_get(const struct args *a, const char *name)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->a[i].name, name))
			return a->a[i].value;
	return NULL;
}

static bool is_selector(const char *name)
{
	return !strcmp(name, ".id") || !strcmp(name, "numbers") || !strcmp(name, "number");
}

/* A JSON value as command text: strings as they are, numbers in decimal,
 * true/false, null as empty, a list as a comma list. -1 for objects. */
static int json_text(json_t *v, int depth, struct sbuf *out)
{
	char num[64];
	switch (json_typeof(v)) {
	case JSON_STRING:
		sbuf_add(out, json_string_value(v), json_string_length(v));
		return 0;
	case JSON_INTEGER:
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		sbuf_puts(out, num);
		return 0;
	case JSON_REAL:
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
		if (strtod(num, NULL) != json_real_value(v))
			snprintf(num, sizeof(num), "%.17g", json_real_value(v));
		sbuf_puts(out, num);
		return 0;
	case JSON_TRUE:
		sbuf_puts(out, "true");
		return 0;
	case JSON_FALSE:
		sbuf_puts(out, "false");
		return 0;
	case JSON_NULL:
		return 0;
	case JSON_ARRAY:
		if (depth)
			return -1;
		for (size_t i = 0; i < json_array_size(v); i++) {
			if (i)
				sbuf_putc(out, ',');
			if (json_text(json_array_get(v, i), depth + 1, out) < 0)
				return -1;
		}
		return 0;
	default:
		return -1;
	}
}

struct body {
	json_t *root;
	struct args args;   /* name=value for the command */
	struct sbuf unset;  /* "!name" keys: names to unset, comma list */
	json_t *proplist;   /* borrowed from root */
	json_t *query;
};

static void body_free(struct body *b)
{
	json_decref(b->root);
	args_free(&b->args);
	sbuf_free(&b->unset);
	memset(b, 0, sizeof(*b));
}

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!isspace((unsigned char)s[i]))
			return false;
	return true;
}

/* A request body: a JSON object, or nothing. */
static int body_parse(const char *text, size_t len, struct body *b, struct rest_reply *r)
{
	memset(b, 0, sizeof(*b));
	if (blank(text, len))
		return 0;
	json_error_t je;
	b->root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	char detail[300];
	if (!b->root) {
		snprintf(detail, sizeof(detail), "malformed JSON: %s (line %d column %d)", je.text,
			 je.line, je.column);
		rest_reply_error(r, 400, detail);
		return -1;
	}
	if (!json_is_object(b->root)) {
		rest_reply_error(r, 400, "the body must be a JSON object of arguments");
		body_free(b);
		return -1;
	}
	const char *key;
	json_t *v;
	struct sbuf text_v = SBUF_INIT;
	int rc = 0;
	json_object_foreach(b->root, key, v) {
		if (key[0] == '!') {
			if (!key[1] || strchr(key, ',')) {
				snprintf(detail, sizeof(detail), "invalid property name '%.200s'", key);
				rc = -1;
				break;
			}
			if (b->unset.len)
				sbuf_putc(&b->unset, ',');
			sbuf_puts(&b->unset, key + 1);
			continue;
		}
		if (!strcmp(key, ".proplist")) {
			b->proplist = v;
			continue;
		}
		if (!strcmp(key, ".query")) {
			b->query = v;
			continue;
		}
		sbuf_reset(&text_v);
		sbuf_add(&text_v, "", 0);
		if (json_text(v, 0, &text_v) < 0) {
			snprintf(detail, sizeof(detail),
				 "value of '%.200s' must be a string, a number, a boolean or a list of them",
				 key);
			rc = -1;
			break;
		}
		if (strlen(text_v.s) != text_v.len) {
			snprintf(detail, sizeof(detail), "value of '%.200s' holds a NUL byte", key);
			rc = -1;
			break;
		}
		args_add(&b->args, key, text_v.s);
	}
	sbuf_free(&text_v);
	if (rc < 0) {
		rest_reply_error(r, 400, detail);
		body_free(b);
	}
	return rc;
}

/* .proplist of a body: "a,b" or ["a","b"]. */
static int body_proplist(json_t *v, struct strv *out)
{
	if (json_is_string(v)) {
		proplist_split(json_string_value(v), out);
		return 0;
	}
	if (!json_is_array(v))
		return -1;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e))
			return -1;
		proplist_split(json_string_value(e), out);
	}
	return 0;
}

static int body_query(json_t *v, struct mgmt_query *q, struct sbuf *why)
{
	if (json_is_string(v))
		return query_word(q, json_string_value(v), why);
	if (!json_is_array(v) || json_array_size(v) > MAX_QUERY_WORDS) {
		sbuf_puts(why, ".query must be a list of at most 256 query words");
		return -1;
	}
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *e = json_array_get(v, i);
		if (!json_is_string(e)) {
			sbuf_puts(why, ".query must be a list of strings");
			return -1;
		}
		if (query_word(q, json_string_value(e), why) < 0)
			return -1;
	}
	return 0;
}

/* ---- items ---- */

/* The row of the item of m that seg names: an id ("*1A") or, where the
 * menu names its items, a name. */
/* The row of item seg (id or key) among what print lists: a runtime
 * menu's items, or the dynamic ones a provider adds to a stored menu. */
static int find_printed_row(struct conf_session *s, const struct menu *m, const char *seg,
			    struct mgmt_row *row, uint32_t *id_out)
{
	struct mgmt_result res = { 0 };
	struct err e;
	int rc = -1;
	if (mgmt_exec(s, m->path, "print", NULL, 0, &res, &e) == 0) {
		for (size_t i = 0; i < res.nrows && rc < 0; i++) {
			const char *id = mgmt_row_get(&res.rows[i], ".id");
			const char *key = m->key ? mgmt_row_get(&res.rows[i], m->key) : NULL;
			if ((id && !strcmp(id, seg)) || (key && !strcmp(key, seg))) {
				*row = res.rows[i];
				res.rows[i] = (struct mgmt_row){ 0 };
				rc = 0;
				if (id_out)
					store_parse_id(id ? id : "", id_out);
			}
		}
	}
	mgmt_result_free(&res);
	return rc;
}

static int find_row(struct conf_session *s, const struct menu *m, const char *seg,
		    struct mgmt_row *row, uint32_t *id_out)
{
	memset(row, 0, sizeof(*row));
	if (m->flags & MF_SINGLETON)
		return -1;
	if (m->flags & MF_RUNTIME)
		return find_printed_row(s, m, seg, row, id_out);
	struct item *it = NULL;
	uint32_t id;
	if (seg[0] == '*' && store_parse_id(seg, &id) == 0)
		it = store_get(s->st, m, id);
	if (!it && m->key)
		it = store_by_key(s->st, m, seg);
	if (!it)
		return conf_runtime_provided(m) ? find_printed_row(s, m, seg, row, id_out) : -1;
	mgmt_item_row(s, m, it, row);
	if (id_out)
		*id_out = it->id;
	return 0;
}

static void reply_item(struct conf_session *s, const struct menu *m, const char *idtext,
		       int status, struct rest_reply *r)
{
	struct mgmt_row row;
	if (find_row(s, m, idtext, &row, NULL) < 0) {
		/* the command succeeded; the item is not there to show (it cannot be
		 * looked up by id): say what was done */
		struct mgmt_row only = { 0 };
		mgmt_row_add(&only, ".id", idtext);
		reply_row(r, status, &only, NULL, false);
		mgmt_row_free(&only);
		return;
	}
	reply_row(r, status, &row, NULL, false);
	mgmt_row_free(&row);
}

/* set and unset as one change: "!name" keys unset, the others set. sel is
 * the selection (an id) or NULL for a settings menu. */
static int run_set(struct conf_session *s, const char *path, const char *sel,
		   const struct args *given, const char *unset, struct err *e)
{
	struct args set = { 0 };
	if (sel)
		args_add(&set, ".id", sel);
	size_t nprops = 0;
	for (size_t i = 0; i < given->n; i++) {
		if (is_selector(given->a[i].name))
			continue;
		args_add(&set, given->a[i].name, given->a[i].value);
		nprops++;
	}
	bool both = nprops && unset[0];
	int rc = 0;
	struct mgmt_result res = { 0 };
	if (both && store_begin(s->st, e) < 0) {
		args_free(&set);
		return -1;
	}
	if (nprops)
		rc = mgmt_exec(s, path, "set", set.a, set.n, &res, e);
	mgmt_result_free(&res);
	if (rc == 0 && unset[0]) {
		struct args un = { 0 };
		if (sel)
			args_add(&un, ".id", sel);
		args_add(&un, "value-name", unset);
		rc = mgmt_exec(s, path, "unset", un.a, un.n, &res, e);
		mgmt_result_free(&res);
		args_free(&un);
	}
	if (both) {
		char what[200];
		snprintf(what, sizeof(what), "%s/set (rest)", path);
		if (rc == 0 && store_commit(s->st, s->user, what, e) < 0)
			rc = -1;
		if (rc < 0)
			store_rollback(s->st);
	}
	args_free(&set);
	return rc;
}

/* ---- methods ---- */

/* The query-string filters of a GET: equality, all of them (.proplist aside). */
static bool filters_match(void *ctx, const struct mgmt_row *row)
{
	const struct target *t = ctx;
	for (size_t k = 0; k < t->qname.n; k++) {
		if (!strcmp(t->qname.v[k], ".proplist"))
			continue;
		const char *v = mgmt_row_get(row, t->qname.v[k]);
		if (!mgmt_value_eq(v ? v : "", t->qval.v[k]))
			return false;
	}
	return true;
}

static void get_list(struct conf_session *s, const struct menu *m, const struct target *t,
		     struct rest_reply *r)
{
	struct mgmt_result res = { 0 };
	struct err e;
	if (mgmt_exec(s, m->path, "print", NULL, 0, &res, &e) < 0) {
		reply_cmd_error(r, &e);
		mgmt_result_free(&res);
		return;
	}
	struct strv proplist = { 0 };
	bool has_proplist = false;
	for (size_t i = 0; i < t->qname.n; i++)
		if (!strcmp(t->qname.v[i], ".proplist")) {
			proplist_split(t->qval.v[i], &proplist);
			has_proplist = true;
		}
	const struct strv *pl = has_proplist ? &proplist : NULL;
	if (!(m->flags & MF_SINGLETON)) {
		reply_rows(r, &res, pl, filters_match, (void *)t);
	} else if (res.nrows) {
		reply_row(r, 200, &res.rows[0], pl, true);
	} else {
		struct sbuf o = SBUF_INIT;
		sbuf_puts(&o, "{}");
		reply_take(r, 200, &o);
	}
	strv_free(&proplist);
	mgmt_result_free(&res);
}

static void get_item(struct conf_session *s, const struct menu *m, const char *seg,
		     const struct target *t, struct rest_reply *r)
{
	struct mgmt_row row;
	if (find_row(s, m, seg, &row, NULL) < 0) {
		rest_reply_error(r, 404, "no such item");
		return;
	}
	struct strv proplist = { 0 };
	bool has_proplist = false;
	for (size_t i = 0; i < t->qname.n; i++)
		if (!strcmp(t->qname.v[i], ".proplist")) {
			proplist_split(t->qval.v[i], &proplist);
			has_proplist = true;
		}
	reply_row(r, 200, &row, has_proplist ? &proplist : NULL, false);
	strv_free(&proplist);
	mgmt_row_free(&row);
}

static void put_item(struct conf_session *s, const struct menu *m, const char *body, size_t len,
		     struct rest_reply *r)
{
	struct body b;
	if (body_parse(body, len, &b, r) < 0)
		return;
	struct args add = { 0 };
	for (size_t i = 0; i < b.args.n; i++)
		if (!is_selector(b.args.a[i].name))
			args_add(&add, b.args.a[i].name, b.args.a[i].value);
	struct mgmt_result res = { 0 };
	struct err e;
	if (mgmt_exec(s, m->path, "add", add.a, add.n, &res, &e) < 0)
		reply_cmd_error(r, &e);
	else
		reply_item(s, m, sbuf_str(&res.ret), 201, r);
	mgmt_result_free(&res);
	args_free(&add);
	body_free(&b);
}

static void patch_item(struct conf_session *s, const struct menu *m, const char *seg,
		       const char *body, size_t len, struct rest_reply *r)
{
	char idtext[32] = "";
	if (seg) {
		struct mgmt_row row;
		uint32_t id;
		if (find_row(s, m, seg, &row, &id) < 0) {
			rest_reply_error(r, 404, "no such item");
			return;
		}
		mgmt_row_free(&row);
		snprintf(idtext, sizeof(idtext), "*%X", id);
	}
	struct body b;
	if (body_parse(body, len, &b, r) < 0)
		return;
	struct err e;
	err_clear(&e);
	if (run_set(s, m->path, seg ? idtext : NULL, &b.args, sbuf_str(&b.unset), &e) < 0) {
		reply_cmd_error(r, &e);
	} else if (seg) {
		reply_item(s, m, idtext, 200, r);
	} else {
		struct target none = { 0 };
		get_list(s, m, &none, r);
	}
	body_free(&b);
}

static void delete_item(struct conf_session *s, const struct menu *m, const char *seg,
			struct rest_reply *r)
{
	struct mgmt_row row;
	uint32_t id;
	if (find_row(s, m, seg, &row, &id) < 0) {
		rest_reply_error(r, 404, "no such item");
		return;
	}
	mgmt_row_free(&row);
	char idtext[32];
	snprintf(idtext, sizeof(idtext), "*%X", id);
	struct mgmt_attr sel = { ".id", idtext };
	struct mgmt_result res = { 0 };
	struct err e;
	if (mgmt_exec(s, m->path, "remove", &sel, 1, &res, &e) < 0) {
		reply_cmd_error(r, &e);
	} else {
		rest_reply_free(r);
		r->status = 204;
	}
	mgmt_result_free(&res);
}

static bool read_verb(const char *verb)
{
	return !strcmp(verb, "print") || !strcmp(verb, "get") || !strcmp(verb, "find") ||
	       !strcmp(verb, "export");
}

static bool query_keep(void *ctx, const struct mgmt_row *row)
{
	return mgmt_query_match(ctx, row);
}

static void post_print(struct conf_session *s, const struct menu *m, struct body *b,
		       struct rest_reply *r)
{
	struct strv proplist = { 0 };
	struct mgmt_query q = { 0 };
	struct sbuf why = SBUF_INIT;
	struct mgmt_result res = { 0 };
	struct err e;
	if (b->proplist && body_proplist(b->proplist, &proplist) < 0) {
		rest_reply_error(r, 400, ".proplist must be a string or a list of strings");
		goto out;
	}
	if (b->query && body_query(b->query, &q, &why) < 0) {
		rest_reply_error(r, 400, sbuf_str(&why));
		goto out;
	}
	if (mgmt_exec(s, m->path, "print", NULL, 0, &res, &e) < 0) {
		reply_cmd_error(r, &e);
		goto out;
	}
	if (args_get(&b->args, "count-only")) {
		size_t count = 0;
		for (size_t i = 0; i < res.nrows; i++)
			count += mgmt_query_match(&q, &res.rows[i]);
		char num[32];
		snprintf(num, sizeof(num), "%zu", count);
		reply_ret(r, num);
	} else {
		reply_rows(r, &res, b->proplist ? &proplist : NULL, query_keep, &q);
	}
out:
	mgmt_result_free(&res);
	sbuf_free(&why);
	mgmt_query_free(&q);
	strv_free(&proplist);
}

static void post_command(struct conf_session *s, unsigned policy, const char *path,
			 const char *verb, const char *body, size_t len, struct rest_reply *r)
{
	struct body b;
	if (body_parse(body, len, &b, r) < 0)
		return;
	const struct menu *m = path[0] ? schema_find(path) : NULL;
	struct mgmt_result res = { 0 };
	struct err e;
	err_clear(&e);
	if (read_verb(verb) && !(policy & POL_READ)) {
		rest_reply_error(r, 403, "not enough permissions (9)");
	} else if (m && !strcmp(verb, "print")) {
		post_print(s, m, &b, r);
	} else if (b.unset.len && strcmp(verb, "set")) {
		rest_reply_error(r, 400, "\"!name\" unsets a property with set only");
	} else if (b.unset.len) {
		const char *sel = args_get(&b.args, ".id");
		if (!sel)
			sel = args_get(&b.args, "numbers");
		if (!sel)
			sel = args_get(&b.args, "number");
		if (run_set(s, path, sel, &b.args, sbuf_str(&b.unset), &e) < 0)
			reply_cmd_error(r, &e);
		else
			reply_empty_list(r);
	} else if (mgmt_exec(s, path, verb, b.args.a, b.args.n, &res, &e) < 0) {
		reply_cmd_error(r, &e);
	} else if (res.nrows) {
		reply_rows(r, &res, NULL, NULL, NULL);
	} else if (res.ret.len || res.out.len) {
		reply_ret(r, res.ret.len ? sbuf_str(&res.ret) : sbuf_str(&res.out));
	} else {
		reply_empty_list(r);
	}
	mgmt_result_free(&res);
	body_free(&b);
}

static int parse_method(const char *m, enum method *out)
{
	static const struct {
		const char *name;
		enum method m;
	} tab[] = { { "GET", M_GET },	    { "HEAD", M_GET }, { "PUT", M_PUT },
		    { "PATCH", M_PATCH },   { "DELETE", M_DELETE }, { "POST", M_POST } };
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (!strcmp(m, tab[i].name)) {
			*out = tab[i].m;
			return 0;
		}
	return -1;
}

/* A request on a whole menu: GET list, PUT add, PATCH on a settings menu. */
static void on_menu(struct conf_session *s, enum method meth, const struct menu *m,
		    const struct target *t, const char *body, size_t len, struct rest_reply *r)
{
	if (meth == M_GET) {
		get_list(s, m, t, r);
	} else if (meth == M_PUT && cmd_exists(m->path, "add") &&
		   !(m->flags & (MF_SINGLETON | MF_RUNTIME | MF_FIXED))) {
		put_item(s, m, body, len, r);
	} else if (meth == M_PATCH && (m->flags & MF_SINGLETON) && cmd_exists(m->path, "set")) {
		patch_item(s, m, NULL, body, len, r);
	} else {
		rest_reply_error(r, 405, NULL);
	}
}

/* A request on one item of a menu: GET, PATCH, DELETE. */
static void on_item(struct conf_session *s, enum method meth, const struct menu *m,
		    const char *seg, const struct target *t, const char *body, size_t len,
		    struct rest_reply *r)
{
	if (meth == M_GET)
		get_item(s, m, seg, t, r);
	else if (meth == M_PATCH && cmd_exists(m->path, "set"))
		patch_item(s, m, seg, body, len, r);
	else if (meth == M_DELETE && cmd_exists(m->path, "remove"))
		delete_item(s, m, seg, r);
	else
		rest_reply_error(r, 405, NULL);
}

void rest_handle(struct conf_session *s, unsigned policy, const char *method,
		 const char *target, const char *body, size_t len, struct rest_reply *r)
{
	memset(r, 0, sizeof(*r));
	struct target t;
	enum method meth;
	int rc = target_parse(target, &t);
	if (rc > 0) {
		rest_reply_error(r, 404, "no such command or directory");
		return;
	}
	if (rc < 0) {
		rest_reply_error(r, 400, "malformed request target (a bad %-escape or %00, or more "
					 "than 16 path segments or 64 parameters)");
		return;
	}
	struct sbuf full = SBUF_INIT, parent = SBUF_INIT;
	if (parse_method(method, &meth) < 0) {
		rest_reply_error(r, 405, NULL);
		goto out;
	}
	if (len > REST_MAX_BODY) {
		rest_reply_error(r, 413, "request body too large");
		goto out;
	}
	if (meth == M_GET && !(policy & POL_READ)) {
		rest_reply_error(r, 403, "not enough permissions (9)");
		goto out;
	}
	size_t n = t.segs.n;
	if (!n) {
		rest_reply_error(r, 404, "no such command or directory");
		goto out;
	}
	join_path(&t.segs, n, &full);
	join_path(&t.segs, n - 1, &parent);
	/* getall is the API's old name of print */
	const char *last = !strcmp(t.segs.v[n - 1], "getall") ? "print" : t.segs.v[n - 1];
	const struct menu *m = schema_find(sbuf_str(&full));
	const struct menu *pm = n > 1 ? schema_find(sbuf_str(&parent)) : NULL;
	bool parent_exists = n == 1 || pm || schema_is_dir(sbuf_str(&parent));
	if (meth == M_POST) {
		if (parent_exists && cmd_exists(sbuf_str(&parent), last))
			post_command(s, policy, sbuf_str(&parent), last, body, len, r);
		else if (m || schema_is_dir(sbuf_str(&full)))
			rest_reply_error(r, 405, NULL);
		else if (parent_exists)
			rest_reply_error(r, 406, "no such command");
		else
			rest_reply_error(r, 404, "no such command or directory");
	} else if (m) {
		on_menu(s, meth, m, &t, body, len, r);
	} else if (pm && !(pm->flags & MF_SINGLETON)) {
		on_item(s, meth, pm, last, &t, body, len, r);
	} else if (schema_is_dir(sbuf_str(&full))) {
		rest_reply_error(r, meth == M_GET ? 404 : 405,
				 meth == M_GET ? "no such command or directory" : NULL);
	} else {
		rest_reply_error(r, 404, pm ? "no such item" : "no such command or directory");
	}
out:
	sbuf_free(&full);
	sbuf_free(&parent);
	target_free(&t);
}

/* ---- authentication header ---- */

int rest_basic_auth(const char *header, char *user, size_t ulen, char *pass, size_t plen)
{
	if (!header)
		return -1;
	while (*header == ' ')
		header++;
	if (strncasecmp(header, "Basic", 5) || header[5] != ' ')
		return -1;
	const char *b64 = header + 6;
	while (*b64 == ' ')
		b64++;
	size_t n = strlen(b64);
	while (n && (b64[n - 1] == ' ' || b64[n - 1] == '\t'))
		n--;
	unsigned char bin[768];
	size_t blen = 0;
	if (!n || n > 1000)
		return -1;
	if (sodium_base642bin(bin, sizeof(bin) - 1, b64, n, NULL, &blen, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 &&
	    sodium_base642bin(bin, sizeof(bin) - 1, b64, n, NULL, &blen, NULL,
			      sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
		return -1;
	int rc = -1;
	unsigned char *colon = memchr(bin, ':', blen);
	size_t un = colon ? (size_t)(colon - bin) : 0;
	size_t pn = colon ? blen - un - 1 : 0;
	if (colon && un && un < ulen && pn < plen && !memchr(bin, '\0', blen)) {
		memcpy(user, bin, un);
		user[un] = 0;
		memcpy(pass, colon + 1, pn);
		pass[pn] = 0;
		rc = 0;
	}
	sodium_memzero(bin, sizeof(bin));
	return rc;
}
