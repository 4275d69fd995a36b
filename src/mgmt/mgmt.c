#include "mgmt.h"

#include <arpa/inet.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf/runtime.h"
#include "conf/types.h"

/* ---- rows ---- */

void mgmt_row_add(struct mgmt_row *r, const char *name, const char *value)
{
	r->a = xrealloc(r->a, (r->n + 1) * sizeof(*r->a));
	r->a[r->n].name = xstrdup(name);
	r->a[r->n].value = xstrdup(value ? value : "");
	r->n++;
}

const char *mgmt_row_get(const struct mgmt_row *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->a[i].name, name))
			return r->a[i].value;
	return NULL;
}

void mgmt_row_free(struct mgmt_row *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->a[i].name);
		free(r->a[i].value);
	}
	free(r->a);
	r->a = NULL;
	r->n = 0;
}

void mgmt_result_free(struct mgmt_result *res)
{
	for (size_t i = 0; i < res->nrows; i++)
		mgmt_row_free(&res->rows[i]);
	free(res->rows);
	res->rows = NULL;
	res->nrows = 0;
	sbuf_free(&res->ret);
	sbuf_free(&res->out);
}

static const char *api_bool(const char *v)
{
	if (!strcmp(v, "yes"))
		return "true";
	if (!strcmp(v, "no"))
		return "false";
	return v;
}

void mgmt_item_row(struct conf_session *s, const struct menu *m, const struct item *it,
		   struct mgmt_row *row)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "*%X", it->id);
	mgmt_row_add(row, ".id", buf);
	for (size_t i = 0; i < m->nprops; i++) {
		const struct prop *p = &m->props[i];
		if (p->flags & PF_SENSITIVE)
			continue;
		const char *v = item_show(m, it, (int)i, buf, sizeof(buf));
		if (!v)
			continue;
		mgmt_row_add(row, p->name, p->type == T_BOOL ? api_bool(v) : v);
	}
	/* item state, as RouterOS reports it on every item */
	if (!mgmt_row_get(row, "dynamic"))
		mgmt_row_add(row, "dynamic", (it->flags & IF_DYNAMIC) ? "true" : "false");
	if (!mgmt_row_get(row, "invalid"))
		mgmt_row_add(row, "invalid",
			     ((it->flags & IF_INVALID) || conf_item_invalid(s, m, it)) ? "true"
											 : "false");
	if ((it->flags & IF_BUILTIN) && !mgmt_row_get(row, "default"))
		mgmt_row_add(row, "default", "true");
}

int mgmt_split_path(const char *full, char *path, size_t plen, char *verb, size_t vlen)
{
	const char *sl = strrchr(full, '/');
	if (!sl || full[0] != '/')
		return -1;
	snprintf(path, plen, "%.*s", (int)(sl - full), full);
	snprintf(verb, vlen, "%s", sl + 1);
	if (!strcmp(verb, "getall"))
		snprintf(verb, vlen, "print");
	if (!path[0] && !strcmp(verb, ""))
		return -1;
	if (!schema_find(path) && !schema_is_dir(path) && path[0])
		return -1;
	return cmd_exists(path, verb) || !strcmp(verb, "listen") ? 0 : -1;
}

/* ---- commands ---- */

static int print_rows(struct conf_session *s, const struct menu *m, struct mgmt_result *res)
{
	struct item **items = NULL;
	size_t n = 0;
	bool owned = false;
	conf_menu_items(s, m, &items, &n, &owned);
	res->rows = xcalloc(n ? n : 1, sizeof(*res->rows));
	for (size_t i = 0; i < n; i++)
		mgmt_item_row(s, m, items[i], &res->rows[res->nrows++]);
	if (owned)
		for (size_t i = 0; i < n; i++)
			item_free(m, items[i]);
	free(items);
	return 0;
}

int mgmt_exec(struct conf_session *s, const char *path, const char *verb,
	      const struct mgmt_attr *attrs, size_t nattrs, struct mgmt_result *res,
	      struct err *e)
{
	err_clear(e);
	const struct menu *m = schema_find(path);
	if (!strcmp(verb, "print") && m) {
		/* print's own words (where, detail ...) make no sense here: rows are data */
		return print_rows(s, m, res);
	}
	struct conf_args args = { 0 };
	const char *sel = NULL;
	for (size_t i = 0; i < nattrs; i++) {
		const char *name = attrs[i].name;
		if (!strcmp(name, ".id") || !strcmp(name, "numbers") || !strcmp(name, "number")) {
			sel = attrs[i].value;
			continue;
		}
		if (name[0] == '.')
			continue; /* .proplist, .tag, .query: the front's */
		conf_args_add(&args, name, attrs[i].value, 0, 0);
	}
	if (sel) {
		/* the selection is the first positional argument of the command */
		struct conf_args sorted = { 0 };
		conf_args_add(&sorted, NULL, sel, 0, 0);
		for (size_t i = 0; i < args.n; i++)
			conf_args_add(&sorted, args.a[i].name, args.a[i].value, 0, 0);
		conf_args_free(&args);
		args = sorted;
	}
	char text[256];
	snprintf(text, sizeof(text), "%s/%s (api)", path, verb);
	s->cmd_text = text;
	s->cmd_len = strlen(text);
	int rc = cmd_run(s, path, verb, &args, &res->ret, e);
	s->cmd_text = NULL;
	s->cmd_len = 0;
	sbuf_puts(&res->out, sbuf_str(&s->out));
	sbuf_reset(&s->out);
	sbuf_reset(&s->warn);
	conf_args_free(&args);
	return rc;
}

/* ---- users ---- */

static const char *const policy_names[] = { "local", "telnet", "ssh", "ftp", "reboot", "read",
					    "write", "policy", "test", "winbox", "password",
					    "web", "sniff", "sensitive", "api", "romon", "dude",
					    "tikapp", "rest-api", NULL };

unsigned mgmt_policy_bits(const char *policy)
{
	unsigned bits = 0;
	if (!policy)
		return 0;
	char *copy = xstrdup(policy), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (*t == '!')
			continue;
		for (int i = 0; policy_names[i]; i++)
			if (!strcmp(policy_names[i], t))
				bits |= 1u << i;
	}
	free(copy);
	return bits;
}

static bool in_prefixes(const char *list, const char *client)
{
	if (!list || !*list)
		return true;
	if (!client)
		return true; /* a local login */
	uint32_t a;
	if (parse_ip4(client, &a) < 0)
		return false;
	char *copy = xstrdup(list), *save = NULL;
	bool ok = false;
	for (char *t = strtok_r(copy, ",", &save); t && !ok; t = strtok_r(NULL, ",", &save)) {
		uint32_t n;
		int len;
		if (parse_prefix4(t, &n, &len) < 0)
			continue;
		uint32_t mask = prefix4_mask(len);
		ok = (a & mask) == (n & mask);
	}
	free(copy);
	return ok;
}

static const char *const msg_bad_login = "invalid user name or password (6)";

/* The user's password hash as stored, or NULL when the user may not log in
 * from src at all (no such user, disabled, address not allowed). */
static const char *login_hash(struct store *st, const char *user, const char *src,
			      const struct item **uout)
{
	const struct menu *um = schema_find("/user");
	const struct item *u = um && user ? store_by_key(st, um, user) : NULL;
	*uout = u;
	if (!u)
		return NULL;
	const char *dis = item_get(um, u, "disabled");
	if (dis && !strcmp(dis, "yes"))
		return NULL;
	if (!in_prefixes(item_get(um, u, "address"), src && *src ? src : NULL))
		return NULL;
	const char *hash = item_get(um, u, "password");
	return hash ? hash : "";
}

int mgmt_login_start(struct store *st, const char *user, const char *password, const char *src,
		     unsigned need, struct mgmt_login *lg)
{
	memset(lg, 0, sizeof(*lg));
	snprintf(lg->user, sizeof(lg->user), "%s", user ? user : "");
	snprintf(lg->src, sizeof(lg->src), "%s", src ? src : "");
	lg->need = need;
	lg->password = xstrdup(password ? password : "");
	const struct item *u;
	const char *hash = login_hash(st, user, src, &u);
	bool ok;
	if (!hash)
		ok = false;
	else if (!*hash)
		ok = !*lg->password;
	else if (!strncmp(hash, "$argon2", 7)) {
		lg->hash = xstrdup(hash);
		return 1;
	} else
		ok = !strcmp(hash, lg->password);
	lg->result = ok ? 0 : err_set(&lg->e, "%s", msg_bad_login);
	return 0;
}

bool mgmt_login_verify(const struct mgmt_login *lg)
{
	return lg->hash && sodium_init() >= 0 &&
	       crypto_pwhash_str_verify(lg->hash, lg->password, strlen(lg->password)) == 0;
}

int mgmt_login_finish(struct store *st, struct mgmt_login *lg, bool verified, unsigned *policy,
		      struct err *e)
{
	*policy = 0;
	const struct item *u;
	if (lg->hash) {
		/* the user may have changed while the hash was checked */
		const char *now = login_hash(st, lg->user, lg->src, &u);
		lg->result = verified && now && !strcmp(now, lg->hash)
				     ? 0
				     : err_set(&lg->e, "%s", msg_bad_login);
	}
	if (lg->result < 0)
		return err_set(e, "%s", lg->e.msg);
	login_hash(st, lg->user, lg->src, &u);
	const struct menu *um = schema_find("/user"), *gm = schema_find("/user/group");
	const struct item *g = gm && u ? store_by_key(st, gm, item_get(um, u, "group")) : NULL;
	*policy = g ? mgmt_policy_bits(item_get(gm, g, "policy")) : 0;
	if ((*policy & lg->need) != lg->need)
		return err_set(e, "not enough permissions (9)");
	mgmt_user_logged_in(st, lg->user);
	return 0;
}

void mgmt_login_done(struct mgmt_login *lg)
{
	if (lg->password) {
		sodium_memzero(lg->password, strlen(lg->password));
		free(lg->password);
	}
	free(lg->hash);
	lg->password = lg->hash = NULL;
}

int mgmt_login(struct store *st, const char *user, const char *password, const char *src,
	       unsigned need, unsigned *policy, struct err *e)
{
	struct mgmt_login lg;
	bool verified = mgmt_login_start(st, user, password, src, need, &lg) == 1 &&
			mgmt_login_verify(&lg);
	int rc = mgmt_login_finish(st, &lg, verified, policy, e);
	mgmt_login_done(&lg);
	return rc;
}

void mgmt_user_logged_in(struct store *st, const char *user)
{
	const struct menu *um = schema_find("/user");
	struct item *u = um && user ? store_by_key(st, um, user) : NULL;
	int pi = um ? schema_prop(um, "last-logged-in", NULL) : -1;
	if (!u || pi < 0)
		return;
	char buf[64];
	conf_format_time((int64_t)time(NULL), buf, sizeof(buf));
	item_set(um, u, pi, buf);
}

/* ---- active sessions ---- */

struct active {
	unsigned id;
	char user[64];
	char via[16];
	char address[64];
	int64_t when;        /* unix seconds */
	uint64_t expires_ms; /* monotonic; 0: until removed */
};

static struct active *actives;
static size_t nactives;
static unsigned active_next = 1;

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* RouterOS's account log lines: "user admin logged in from 10.0.0.2 via
 * api", "... logged out ...", without "from" for a local console. */
static void active_log(const struct active *a, const char *what)
{
	conf_log("system,info,account", "user %s %s%s%s via %s", a->user, what,
		 a->address[0] ? " from " : "", a->address, a->via);
}

static void active_prune(void)
{
	uint64_t now = mono_ms();
	size_t k = 0;
	for (size_t i = 0; i < nactives; i++) {
		if (!actives[i].expires_ms || actives[i].expires_ms > now)
			actives[k++] = actives[i];
		else
			active_log(&actives[i], "logged out");
	}
	nactives = k;
}

void mgmt_active_expire(void)
{
	active_prune();
}

unsigned mgmt_active_add(const char *user, const char *via, const char *address)
{
	active_prune();
	actives = xrealloc(actives, (nactives + 1) * sizeof(*actives));
	struct active *a = &actives[nactives++];
	memset(a, 0, sizeof(*a));
	a->id = active_next++;
	snprintf(a->user, sizeof(a->user), "%s", user ? user : "");
	snprintf(a->via, sizeof(a->via), "%s", via ? via : "");
	snprintf(a->address, sizeof(a->address), "%s", address ? address : "");
	a->when = (int64_t)time(NULL);
	active_log(a, "logged in");
	return a->id;
}

void mgmt_active_remove(unsigned id)
{
	for (size_t i = 0; i < nactives; i++)
		if (actives[i].id == id) {
			active_log(&actives[i], "logged out");
			memmove(&actives[i], &actives[i + 1], (nactives - i - 1) * sizeof(*actives));
			nactives--;
			return;
		}
}

void mgmt_active_touch(const char *user, const char *via, const char *address,
		       uint64_t idle_ms)
{
	active_prune();
	uint64_t until = mono_ms() + (idle_ms ? idle_ms : 1);
	for (size_t i = 0; i < nactives; i++) {
		struct active *a = &actives[i];
		if (a->expires_ms && !strcmp(a->user, user ? user : "") &&
		    !strcmp(a->via, via ? via : "") && !strcmp(a->address, address ? address : "")) {
			a->expires_ms = until;
			return;
		}
	}
	unsigned id = mgmt_active_add(user, via, address);
	for (size_t i = 0; i < nactives; i++)
		if (actives[i].id == id)
			actives[i].expires_ms = until;
}

int mgmt_active_items(void *ctx, struct conf_session *s, const struct menu *m,
		      struct item ***items, size_t *n)
{
	(void)ctx;
	active_prune();
	const struct menu *um = schema_find("/user");
	*items = xcalloc(nactives ? nactives : 1, sizeof(**items));
	*n = 0;
	for (size_t i = 0; i < nactives; i++) {
		const struct active *a = &actives[i];
		struct item *it = item_new(m);
		it->id = a->id;
		char buf[64];
		conf_format_time(a->when, buf, sizeof(buf));
		const char *vals[][2] = { { "when", buf },
					  { "name", a->user },
					  { "address", a->address },
					  { "via", a->via },
					  { "group", NULL } };
		const struct item *u = um && s && s->st ? store_by_key(s->st, um, a->user) : NULL;
		if (u)
			vals[4][1] = item_get(um, u, "group");
		for (size_t k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
			int pi = schema_prop(m, vals[k][0], NULL);
			if (pi >= 0 && vals[k][1] && *vals[k][1])
				item_set(m, it, pi, vals[k][1]);
		}
		(*items)[(*n)++] = it;
	}
	return 0;
}

/* ---- failed logins ---- */

static int thr_find(struct mgmt_throttle *t, const char *ip, bool create)
{
	int oldest = 0;
	for (int i = 0; i < MGMT_THR_SLOTS; i++) {
		if (t->slot[i].ip[0] && !strcmp(t->slot[i].ip, ip))
			return i;
		if (t->slot[i].used < t->slot[oldest].used)
			oldest = i;
	}
	if (!create)
		return -1;
	memset(&t->slot[oldest], 0, sizeof(t->slot[oldest]));
	snprintf(t->slot[oldest].ip, sizeof(t->slot[oldest].ip), "%s", ip);
	return oldest;
}

bool mgmt_throttle_blocked(struct mgmt_throttle *t, const char *ip, uint64_t now_ms)
{
	int i = thr_find(t, ip, false);
	return i >= 0 && t->slot[i].until > now_ms;
}

void mgmt_throttle_fail(struct mgmt_throttle *t, const char *ip, uint64_t now_ms,
			const char *front)
{
	int i = thr_find(t, ip, true);
	t->slot[i].used = now_ms;
	if (now_ms - t->slot[i].first > MGMT_THR_WINDOW_MS) {
		t->slot[i].first = now_ms;
		t->slot[i].fails = 0;
	}
	if (++t->slot[i].fails >= MGMT_THR_FAILS) {
		t->slot[i].until = now_ms + MGMT_THR_BLOCK_MS;
		t->slot[i].fails = 0;
		conf_log("system,error,critical", "%s: logins from %s refused for %d s after %d failures",
			 front, ip, MGMT_THR_BLOCK_MS / 1000, MGMT_THR_FAILS);
	}
}

/* ---- services ---- */

int mgmt_service(struct store *st, const char *name, struct mgmt_service *out)
{
	const struct menu *m = schema_find("/ip/service");
	const struct item *it = m ? store_by_key(st, m, name) : NULL;
	memset(out, 0, sizeof(*out));
	if (!it)
		return -1;
	snprintf(out->name, sizeof(out->name), "%s", name);
	const char *port = item_get(m, it, "port");
	out->port = (uint16_t)(port ? atoi(port) : 0);
	const char *dis = item_get(m, it, "disabled");
	out->enabled = !dis || strcmp(dis, "yes");
	const char *addr = item_get(m, it, "address");
	snprintf(out->address, sizeof(out->address), "%s", addr ? addr : "");
	const char *cert = item_get(m, it, "certificate");
	snprintf(out->certificate, sizeof(out->certificate), "%s", cert ? cert : "none");
	return 0;
}

bool mgmt_service_allows(const struct mgmt_service *svc, const char *client)
{
	if (client && !strncmp(client, "::ffff:", 7))
		client += 7;
	return in_prefixes(svc->address, client);
}
