/*
 * api: the RouterOS API front. /ip service api (plain TCP) and api-ssl (TLS
 * through GnuTLS, the built-in self-signed certificate unless the service
 * names another) are served on the daemon's loop: non-blocking sockets,
 * per-connection input and output buffers, no blocking write, so a slow or
 * hostile client never stalls the others. Every command runs through
 * mgmt_exec on the session's own conf_session with the user's policies; no
 * menu logic lives here, only the wire format: words (api_word), login,
 * tags, .proplist, queries, listen/cancel, !trap/!fatal.
 *
 * Services are re-read after every commit that touches /ip/service or
 * /certificate: listeners close and open, sessions whose service was
 * disabled or whose address is no longer allowed are closed.
 *
 * Login is the post-6.43 form, /login =name= =password=. The pre-6.43 MD5
 * challenge (bare /login -> =ret=challenge, then =response=00 + md5) needs
 * each password stored recoverably, and rosfw keeps only argon2 hashes, so
 * it is off: a bare /login gets a !trap that says so (never a silent
 * !done: socialwifi's routeros_api would then think it is logged in).
 * ROSFW_API_CHALLENGE_LOGIN=1 in the environment offers the challenge; it
 * can only succeed for users whose stored password is not a hash.
 * Failed logins are logged ("login failure for user X from IP via api")
 * and throttled per source address (mgmt_throttle: 5 failures within a minute
 * refuse every login from that address for a minute).
 *
 * Everything runs on the control-plane thread. Connections are freed only
 * at the end of their own I/O callback or in a timer, never while a
 * command of theirs is on the stack.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf/runtime.h"
#include "daemon/daemon.h"
#include "mgmt/api_word.h"
#include "mgmt/cert.h"
#include "mgmt/mgmt.h"
#include "mgmt/query.h"

#define API_MAX_CONNS     1000
#define API_OUT_HIGH      (4u << 20)  /* unsent bytes that stop reading the client */
#define API_OUT_MAX       (64u << 20) /* unsent bytes that close the client */
#define API_LOGIN_MS      60000       /* time to log in (TLS handshake included) */
#define API_CLOSING_MS    10000       /* time to take the last replies */
#define API_PRELOGIN_MAX  32          /* sentences before login */
#define API_READ_BUDGET   16          /* reads per callback, for fairness */
#define API_POLL_MS       1000        /* runtime tables of listen: compared this often */
#define API_LOG_POLL_MS   200         /* /log listen: new lines this soon */

static const struct api_limits lim_prelogin = { 4096, 4096, 32 };
static const struct api_limits lim_user = { 16u << 20, 16u << 20, 65536 };

static const char *const svc_names[2] = { "api", "api-ssl" };

#define MSG_BAD_LOGIN "invalid user name or password (6)"

struct api_cred {
	gnutls_certificate_credentials_t c;
	char priority[64];
	int refs;
};

/* What a listen has reported of an item: who it is (its id; for a runtime
 * table, what identifies it there: ids of runtime rows may be positions),
 * the id it was reported with, and its values. */
struct snap {
	uint64_t key;
	uint32_t id;
	uint64_t hash;
};

/* A running listen command. Configuration menus are compared after each
 * commit that touches them; runtime tables (and any menu whose .proplist
 * names counters) are polled: /log whenever a line was logged (one !re per
 * new line, none for lines that leave the ring), the others every
 * API_POLL_MS. */
struct listen {
	struct listen *next;
	char *tag;
	const struct menu *m;
	char *path;
	char **props;
	size_t nprops;
	struct mgmt_query q;
	struct snap *snap;
	size_t nsnap;
	bool poll;     /* compared on the clock, not (only) after commits */
	bool stats;    /* counters named in .proplist count as changes */
	bool log;      /* /log */
	uint64_t log_seq, polled_ms;
};

struct api_conn {
	struct api_conn *next;
	struct api_server *a;
	int fd;
	int svc; /* 0 api, 1 api-ssl */
	char peer[INET6_ADDRSTRLEN];
	uint64_t since, closing_since;
	gnutls_session_t tls;
	struct api_cred *cred;
	bool handshaken;
	size_t tls_pending; /* bytes of a record send that must be retried */
	bool more;          /* stopped reading on budget with data left: come back */
	bool eof;           /* the client sends no more: answer what it sent, then close */
	struct api_decoder dec;
	struct sbuf in;
	size_t in_off;
	struct sbuf out;
	size_t out_off;
	bool authed, has_session;
	unsigned active; /* its /user active entry, 0 before login */
	struct conf_session s;
	unsigned prelogin;
	bool challenged;
	unsigned char challenge[16];
	bool closing;  /* send what is queued, then close */
	bool draining; /* all sent and shut down: reading until the client closes */
	bool dead;     /* close at the next safe point */
	short events;
	struct listen *listens;
	uint64_t serial;   /* names it to a login being verified */
	bool verifying;    /* its /login is with the login threads: input waits */
	char *login_tag;
};

struct lctx {
	struct api_server *a;
	int i;
};

struct api_server {
	struct daemon *d;
	struct loop *l;
	struct store *st;
	int lfd[2];
	struct lctx lctx[2];
	struct mgmt_service svc[2];
	struct api_cred *cred;
	struct api_conn *conns;
	size_t nconns;
	struct mgmt_throttle thr;
	int hk_timer, changes_timer, rewatch_timer, poll_timer;
	uint64_t *changed;
	size_t nwords;
	bool md5_login;
	uint64_t serial;
};

static void conn_io(struct loop *l, int fd, short revents, void *ctx);

/* ---- small helpers ---- */

static size_t out_pending(const struct api_conn *c)
{
	return c->out.len - c->out_off;
}

/* Log text from a client: printable ASCII only, bounded. */
static void sanitize(const char *in, char *out, size_t len)
{
	size_t k = 0;
	for (; in && *in && k + 1 < len; in++)
		out[k++] = (*in >= 0x20 && *in < 0x7f) ? *in : '?';
	out[k] = 0;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ull;
	}
	h ^= 0xff;
	return h * 0x100000001b3ull;
}

static bool bit_set(const uint64_t *bits, size_t nwords, size_t i)
{
	return i / 64 < nwords && (bits[i / 64] >> (i % 64)) & 1;
}

/* ---- replies ---- */

static void put_pair(struct sbuf *o, const char *prefix, const char *v)
{
	size_t pl = strlen(prefix), vl = strlen(v);
	uint8_t pre[5];
	sbuf_add(o, (const char *)pre, api_encode_len((uint32_t)(pl + vl), pre));
	sbuf_add(o, prefix, pl);
	sbuf_add(o, v, vl);
}

static void put_head(struct api_conn *c, const char *word, const char *tag)
{
	api_put_str(&c->out, word);
	if (tag)
		put_pair(&c->out, ".tag=", tag);
}

static void reply_done(struct api_conn *c, const char *tag, const char *ret)
{
	put_head(c, "!done", tag);
	if (ret)
		api_put_attr(&c->out, "ret", ret);
	api_put_end(&c->out);
}

/* category < 0: none. */
static void reply_trap(struct api_conn *c, const char *tag, int category, const char *msg)
{
	put_head(c, "!trap", tag);
	if (category >= 0) {
		char cat[4];
		snprintf(cat, sizeof(cat), "%d", category);
		api_put_attr(&c->out, "category", cat);
	}
	api_put_attr(&c->out, "message", msg);
	api_put_end(&c->out);
	reply_done(c, tag, NULL);
}

/* !fatal carries no tag: clients read the reason as its first word. */
static void reply_fatal(struct api_conn *c, const char *reason)
{
	api_put_str(&c->out, "!fatal");
	api_put_str(&c->out, reason);
	api_put_end(&c->out);
	if (!c->closing) {
		c->closing = true;
		c->closing_since = loop_now_ms();
	}
}

static void reply_row(struct api_conn *c, const char *tag, const struct mgmt_row *r,
		      char *const *props, size_t nprops)
{
	put_head(c, "!re", tag);
	if (props) {
		for (size_t i = 0; i < nprops; i++) {
			const char *v = mgmt_row_get(r, props[i]);
			if (v)
				api_put_attr(&c->out, props[i], v);
		}
	} else {
		for (size_t i = 0; i < r->n; i++)
			api_put_attr(&c->out, r->a[i].name, r->a[i].value);
	}
	api_put_end(&c->out);
}

/* ---- queries ---- */


/* ---- a request: the words of one sentence ---- */

struct req {
	const char *cmd;
	const char *tag;
	struct mgmt_attr *attrs;
	size_t nattrs;
	const char **qw;
	size_t nq;
};

static const char *req_attr(const struct req *r, const char *name)
{
	for (size_t i = 0; i < r->nattrs; i++)
		if (!strcmp(r->attrs[i].name, name))
			return r->attrs[i].value;
	return NULL;
}

static void req_free(struct req *r)
{
	free(r->attrs);
	free(r->qw);
}

/* Splits the words in place ("=name=value" gets a NUL at its second '=').
 * Returns NULL, or the reason the sentence is malformed. */
static const char *req_parse(struct api_sentence *s, struct req *r)
{
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < s->n; i++)
		if (strlen(s->w[i]) != s->len[i])
			return "word contains a NUL byte";
	r->cmd = s->w[0];
	r->attrs = xcalloc(s->n, sizeof(*r->attrs));
	r->qw = xcalloc(s->n, sizeof(*r->qw));
	const char *bad = NULL;
	for (size_t i = 1; i < s->n; i++) {
		char *w = s->w[i];
		if (!strncmp(w, ".tag=", 5)) {
			r->tag = w + 5;
		} else if (w[0] == '=' || !strncmp(w, ".proplist=", 10) || !strncmp(w, ".id=", 4)) {
			char *name = w[0] == '=' ? w + 1 : w;
			char *eq = strchr(name, '=');
			if (eq)
				*eq = 0;
			if (!*name) {
				bad = bad ? bad : "attribute word without a name";
				continue;
			}
			r->attrs[r->nattrs].name = name;
			r->attrs[r->nattrs].value = eq ? eq + 1 : name + strlen(name);
			r->nattrs++;
		} else if (w[0] == '?') {
			r->qw[r->nq++] = w + 1;
		} else if (!bad) {
			bad = "unknown word";
		}
	}
	return bad;
}

/* "a,b,c" -> props; NULL when no .proplist. */
static char **proplist_parse(const char *pl, size_t *n)
{
	*n = 0;
	if (!pl)
		return NULL;
	char **v = xcalloc(strlen(pl) / 2 + 2, sizeof(char *));
	for (const char *p = pl;;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		if (len)
			v[(*n)++] = xstrndup(p, len);
		if (!comma)
			break;
		p = comma + 1;
	}
	return v;
}

static void props_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- throttling of failed logins ---- */

/* ---- login ---- */

static int md5_login(struct api_conn *c, const char *name, const char *response,
		     unsigned *policy, struct err *e)
{
	const struct menu *um = schema_find("/user");
	const struct item *u = um && name ? store_by_key(c->a->st, um, name) : NULL;
	const char *pw = u ? item_get(um, u, "password") : NULL;
	if (!pw)
		pw = "";
	if (!c->challenged || !u || !strncmp(pw, "$argon2", 7) || strlen(response) != 34 ||
	    strncmp(response, "00", 2))
		return err_set(e, MSG_BAD_LOGIN);
	size_t pl = strlen(pw);
	unsigned char *buf = xmalloc(1 + pl + sizeof(c->challenge)), md[16];
	buf[0] = 0;
	memcpy(buf + 1, pw, pl);
	memcpy(buf + 1 + pl, c->challenge, sizeof(c->challenge));
	int r = gnutls_hash_fast(GNUTLS_DIG_MD5, buf, 1 + pl + sizeof(c->challenge), md);
	gnutls_memset(buf, 0, 1 + pl);
	free(buf);
	c->challenged = false;
	char hex[33];
	for (int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	if (r < 0 || strcasecmp(hex, response + 2))
		return err_set(e, MSG_BAD_LOGIN);
	/* the rest (disabled, address, policy) as for a password login */
	return mgmt_login(c->a->st, name, pw, c->peer, POL_API, policy, e);
}

static void process_input(struct api_conn *c);
static void conn_watch(struct api_conn *c);
static void reap(struct api_server *a);

/* The answer to a /login: rc 0 (policy) or -1 (e). */
static void login_answer(struct api_conn *c, const char *tag, const char *name, int rc,
			 unsigned policy, const struct err *e)
{
	struct api_server *a = c->a;
	char who[65];
	sanitize(name ? name : "", who, sizeof(who));
	if (rc < 0) {
		mgmt_throttle_fail(&a->thr, c->peer, loop_now_ms(), "api");
		conf_log("system,error,critical", "login failure for user %s from %s via api", who,
			 c->peer);
		reply_trap(c, tag, -1, e->msg[0] ? e->msg : MSG_BAD_LOGIN);
		return;
	}
	if (c->has_session)
		conf_session_free(&c->s);
	daemon_session_init(a->d, &c->s, name, policy);
	c->has_session = true;
	c->authed = true;
	mgmt_active_remove(c->active);
	c->active = mgmt_active_add(name, c->svc ? "api-ssl" : "api", c->peer);
	api_decoder_limits(&c->dec, &lim_user);
	reply_done(c, tag, NULL);
}

static void login_finish(struct api_conn *c, const char *tag, struct mgmt_login *lg,
			 bool verified)
{
	struct err e;
	err_clear(&e);
	unsigned policy = 0;
	/* failures that came in while this one was checked may have closed
	 * the address meanwhile */
	int rc = lg->hash && mgmt_throttle_blocked(&c->a->thr, c->peer, loop_now_ms())
			 ? err_set(&e, MSG_BAD_LOGIN)
			 : mgmt_login_finish(c->a->st, lg, verified, &policy, &e);
	login_answer(c, tag, lg->user, rc, policy, &e);
}

/* A login thread is done with a connection's /login. */
static void login_verified(void *ctx, uint64_t serial, struct mgmt_login *lg, bool verified)
{
	struct api_server *a = ctx;
	struct api_conn *c = a->conns;
	while (c && c->serial != serial)
		c = c->next;
	if (!c || c->dead || c->closing || !c->verifying)
		return;
	c->verifying = false;
	login_finish(c, c->login_tag, lg, verified);
	free(c->login_tag);
	c->login_tag = NULL;
	process_input(c);
	conn_watch(c);
	reap(a);
}

static void do_login(struct api_conn *c, const struct req *r)
{
	struct api_server *a = c->a;
	const char *name = req_attr(r, "name"), *password = req_attr(r, "password"),
		   *response = req_attr(r, "response");
	if (!name && !password && !response) {
		if (a->md5_login) {
			char hex[33];
			if (gnutls_rnd(GNUTLS_RND_NONCE, c->challenge, sizeof(c->challenge)) < 0) {
				reply_trap(c, r->tag, -1, "cannot make a challenge");
				return;
			}
			for (int i = 0; i < 16; i++)
				snprintf(hex + 2 * i, 3, "%02x", c->challenge[i]);
			c->challenged = true;
			reply_done(c, r->tag, hex);
			return;
		}
		reply_trap(c, r->tag, -1,
			   "challenge login is disabled (passwords are kept only as hashes): "
			   "send /login =name=USER =password=PASSWORD");
		return;
	}
	char who[65];
	sanitize(name ? name : "", who, sizeof(who));
	if (mgmt_throttle_blocked(&a->thr, c->peer, loop_now_ms())) {
		conf_log("system,error,critical", "login failure for user %s from %s via api (refused)",
			 who, c->peer);
		reply_trap(c, r->tag, -1, MSG_BAD_LOGIN);
		return;
	}
	if (response) {
		struct err e;
		err_clear(&e);
		unsigned policy = 0;
		int rc = md5_login(c, name, response, &policy, &e);
		login_answer(c, r->tag, name, rc, policy, &e);
		return;
	}
	struct mgmt_login *lg = xmalloc(sizeof(*lg));
	if (mgmt_login_start(a->st, name, password ? password : "", c->peer, POL_API, lg) == 1) {
		/* the hash is checked on a login thread; this connection's next
		 * sentences wait for the answer, the other sessions do not */
		c->verifying = true;
		free(c->login_tag);
		c->login_tag = r->tag ? xstrdup(r->tag) : NULL;
		mgmt_pool_submit(daemon_login_pool(a->d), lg, login_verified, a, c->serial);
		return;
	}
	login_finish(c, r->tag, lg, false);
	mgmt_login_done(lg);
	free(lg);
}

/* ---- commands ---- */

static void rows_of(struct api_conn *c, const struct menu *m, struct mgmt_result *res)
{
	struct err e;
	memset(res, 0, sizeof(*res));
	mgmt_exec(&c->s, m->path, "print", NULL, 0, res, &e);
}

static bool listed(const struct listen *L, const char *name)
{
	for (size_t i = 0; i < L->nprops; i++)
		if (!strcmp(L->props[i], name))
			return true;
	return false;
}

/* The values that make a change: counters only when .proplist asks for
 * them, and never a runtime row's clock (a connection's timeout, uptime),
 * which moves by itself. */
static uint64_t row_hash(const struct listen *L, const struct mgmt_row *r)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < r->n; i++) {
		int p = schema_prop(L->m, r->a[i].name, NULL);
		if (p >= 0 && (L->m->props[p].flags & PF_STAT) &&
		    !(L->stats && listed(L, r->a[i].name)))
			continue;
		if ((L->m->flags & MF_RUNTIME) &&
		    (!strcmp(r->a[i].name, "timeout") || !strcmp(r->a[i].name, "uptime")))
			continue;
		h = fnv(h, r->a[i].name);
		h = fnv(h, r->a[i].value);
	}
	return h;
}

static bool row_id(const struct mgmt_row *r, uint32_t *id)
{
	const char *v = mgmt_row_get(r, ".id");
	return v && store_parse_id(v, id) == 0;
}

/* Who a row is: its id, or for a runtime table its name, or the addresses
 * and protocol of a connection. */
static uint64_t row_key(const struct listen *L, const struct mgmt_row *r, uint32_t id)
{
	if (!(L->m->flags & MF_RUNTIME) || L->log)
		return id;
	static const char *const flow[] = { "protocol", "src-address", "dst-address", NULL };
	const char *key = L->m->key ? mgmt_row_get(r, L->m->key) : NULL;
	uint64_t h = 0xcbf29ce484222325ull;
	if (key)
		return fnv(h, key);
	bool any = false;
	for (const char *const *k = flow; *k; k++) {
		const char *v = mgmt_row_get(r, *k);
		h = fnv(h, v ? v : "");
		any |= v != NULL;
	}
	return any ? h : id;
}

static void snap_take(struct listen *L, const struct mgmt_result *res)
{
	free(L->snap);
	L->snap = xcalloc(res->nrows ? res->nrows : 1, sizeof(*L->snap));
	L->nsnap = 0;
	for (size_t i = 0; i < res->nrows; i++) {
		uint32_t id;
		if (row_id(&res->rows[i], &id))
			L->snap[L->nsnap++] = (struct snap){ row_key(L, &res->rows[i], id), id,
							     row_hash(L, &res->rows[i]) };
	}
}

static const struct snap *snap_find(const struct snap *s, size_t n, uint64_t key)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].key == key)
			return &s[i];
	return NULL;
}

/* Reports what changed in L's menu since its snapshot: new and changed
 * items in menu order, then the removed ones as .dead (not for log lines
 * leaving the ring). */
static void listen_diff(struct api_conn *c, struct listen *L)
{
	struct mgmt_result res;
	rows_of(c, L->m, &res);
	struct snap *old = L->snap;
	size_t nold = L->nsnap;
	L->snap = NULL;
	snap_take(L, &res);
	for (size_t i = 0; i < res.nrows; i++) {
		uint32_t id;
		if (!row_id(&res.rows[i], &id))
			continue;
		const struct snap *was = snap_find(old, nold, row_key(L, &res.rows[i], id));
		if (was && was->hash == row_hash(L, &res.rows[i]))
			continue;
		if (mgmt_query_match(&L->q, &res.rows[i]))
			reply_row(c, L->tag, &res.rows[i], L->props, L->nprops);
	}
	for (size_t i = 0; i < nold && !L->log; i++) {
		if (snap_find(L->snap, L->nsnap, old[i].key))
			continue;
		char id[16];
		snprintf(id, sizeof(id), "*%X", old[i].id);
		put_head(c, "!re", L->tag);
		api_put_attr(&c->out, ".id", id);
		api_put_attr(&c->out, ".dead", "true");
		api_put_end(&c->out);
	}
	free(old);
	mgmt_result_free(&res);
}

static void listen_free(struct listen *L)
{
	free(L->tag);
	free(L->path);
	props_free(L->props, L->nprops);
	mgmt_query_free(&L->q);
	free(L->snap);
	free(L);
}

static void do_listen(struct api_conn *c, const struct req *r, const char *path)
{
	const struct menu *m = schema_find(path);
	if (!m || !cmd_exists(path, "print")) {
		reply_trap(c, r->tag, 0, "no such command");
		return;
	}
	struct listen *L = xcalloc(1, sizeof(*L));
	struct err e;
	err_clear(&e);
	for (size_t i = 0; i < r->nq; i++)
		if (mgmt_query_add(&L->q, r->qw[i], &e) < 0) {
			listen_free(L);
			reply_trap(c, r->tag, -1, e.msg);
			return;
		}
	L->tag = r->tag ? xstrdup(r->tag) : NULL;
	L->m = m;
	L->path = xstrdup(path);
	L->props = proplist_parse(req_attr(r, ".proplist"), &L->nprops);
	L->log = !strcmp(path, "/log");
	for (size_t i = 0; i < L->nprops; i++) {
		int p = schema_prop(m, L->props[i], NULL);
		L->stats |= p >= 0 && (m->props[p].flags & PF_STAT);
	}
	L->poll = (m->flags & MF_RUNTIME) || L->stats;
	L->polled_ms = loop_now_ms();
	struct conf_log_entry none;
	conf_log_since(UINT64_MAX, &none, 0, &L->log_seq);
	if (L->stats)
		daemon_refresh_stats(c->a->d);
	struct mgmt_result res;
	rows_of(c, m, &res);
	snap_take(L, &res);
	mgmt_result_free(&res);
	L->next = c->listens;
	c->listens = L;
}

static bool tag_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* The cancelled command's !trap, then /cancel's !done, then the
 * cancelled command's !done (the order RouterOS replies in). */
static void do_cancel(struct api_conn *c, const struct req *r)
{
	const char *which = req_attr(r, "tag");
	struct listen *gone = NULL;
	for (struct listen **pp = &c->listens; *pp;) {
		struct listen *L = *pp;
		if (!which || tag_eq(L->tag, which)) {
			*pp = L->next;
			L->next = gone;
			gone = L;
		} else {
			pp = &L->next;
		}
	}
	if (which && !gone) {
		reply_trap(c, r->tag, 0, "no such command or tag");
		return;
	}
	for (struct listen *L = gone; L; L = L->next) {
		put_head(c, "!trap", L->tag);
		api_put_attr(&c->out, "category", "2");
		api_put_attr(&c->out, "message", "interrupted");
		api_put_end(&c->out);
	}
	reply_done(c, r->tag, NULL);
	while (gone) {
		struct listen *L = gone;
		gone = L->next;
		reply_done(c, L->tag, NULL);
		listen_free(L);
	}
}

static void do_print(struct api_conn *c, const struct req *r, const char *path)
{
	struct mgmt_query q = { 0 };
	struct err e;
	err_clear(&e);
	for (size_t i = 0; i < r->nq; i++)
		if (mgmt_query_add(&q, r->qw[i], &e) < 0) {
			mgmt_query_free(&q);
			reply_trap(c, r->tag, -1, e.msg);
			return;
		}
	daemon_refresh_stats(c->a->d);
	struct mgmt_result res = { 0 };
	if (mgmt_exec(&c->s, path, "print", r->attrs, r->nattrs, &res, &e) < 0) {
		reply_trap(c, r->tag, -1, e.msg[0] ? e.msg : "print failed");
		goto out;
	}
	size_t nprops;
	char **props = proplist_parse(req_attr(r, ".proplist"), &nprops);
	bool count_only = req_attr(r, "count-only") != NULL;
	size_t count = 0;
	for (size_t i = 0; i < res.nrows; i++) {
		if (!mgmt_query_match(&q, &res.rows[i]))
			continue;
		count++;
		if (!count_only)
			reply_row(c, r->tag, &res.rows[i], props, nprops);
	}
	props_free(props, nprops);
	if (count_only) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", count);
		reply_done(c, r->tag, n);
	} else {
		reply_done(c, r->tag, NULL);
	}
out:
	mgmt_result_free(&res);
	mgmt_query_free(&q);
}

/* Secrets never leave over the API, whatever the command core's get does. */
static bool asks_secret(const struct req *r, const char *path, const char *verb)
{
	const struct menu *m = schema_find(path);
	const char *vn = req_attr(r, "value-name");
	if (!m || strcmp(verb, "get") || !vn)
		return false;
	int p = schema_prop(m, vn, NULL);
	return p >= 0 && (m->props[p].flags & PF_SENSITIVE);
}

static void do_command(struct api_conn *c, const struct req *r)
{
	char path[160], verb[64];
	if (mgmt_split_path(r->cmd, path, sizeof(path), verb, sizeof(verb)) < 0) {
		const char *sl = strrchr(r->cmd, '/');
		char dir[160];
		snprintf(dir, sizeof(dir), "%.*s", sl ? (int)(sl - r->cmd) : 0, r->cmd);
		bool known = !dir[0] || schema_find(dir) || schema_is_dir(dir);
		reply_trap(c, r->tag, 0, known ? "no such command" : "no such command prefix");
		return;
	}
	if (!strcmp(verb, "listen")) {
		do_listen(c, r, path);
		return;
	}
	if (!strcmp(verb, "print")) {
		do_print(c, r, path);
		return;
	}
	if (asks_secret(r, path, verb)) {
		reply_trap(c, r->tag, -1, "not enough permissions (9)");
		return;
	}
	struct mgmt_result res = { 0 };
	struct err e;
	err_clear(&e);
	if (mgmt_exec(&c->s, path, verb, r->attrs, r->nattrs, &res, &e) < 0) {
		reply_trap(c, r->tag, -1, e.msg[0] ? e.msg : "command failed");
	} else {
		for (size_t i = 0; i < res.nrows; i++)
			reply_row(c, r->tag, &res.rows[i], NULL, 0);
		const char *ret = res.ret.len ? sbuf_str(&res.ret)
			       : res.out.len ? sbuf_str(&res.out) : NULL;
		reply_done(c, r->tag, ret);
	}
	mgmt_result_free(&res);
}

static void handle_sentence(struct api_conn *c, struct api_sentence *s)
{
	if (!c->authed && ++c->prelogin > API_PRELOGIN_MAX) {
		reply_fatal(c, "too many sentences before login");
		return;
	}
	if (!s->n)
		return; /* an empty sentence asks nothing */
	struct req r;
	const char *bad = req_parse(s, &r);
	if (bad) {
		reply_trap(c, r.tag, 5, bad);
	} else if (!strcmp(r.cmd, "/quit")) {
		reply_fatal(c, "session terminated on request");
	} else if (!strcmp(r.cmd, "/login")) {
		do_login(c, &r);
	} else if (!c->authed) {
		reply_trap(c, r.tag, -1, "not logged in");
	} else if (!strcmp(r.cmd, "#")) {
		reply_done(c, r.tag, NULL); /* keepalive */
	} else if (!strcmp(r.cmd, "/cancel")) {
		do_cancel(c, &r);
	} else if (r.cmd[0] != '/') {
		reply_trap(c, r.tag, 0, "no such command");
	} else {
		do_command(c, &r);
	}
	req_free(&r);
}

/* ---- connection I/O ---- */

static void cred_unref(struct api_cred *cr)
{
	if (cr && --cr->refs == 0) {
		gnutls_certificate_free_credentials(cr->c);
		free(cr);
	}
}

static void conn_free(struct api_conn *c)
{
	struct api_server *a = c->a;
	for (struct api_conn **pp = &a->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	a->nconns--;
	loop_unwatch(a->l, c->fd);
	if (c->tls)
		gnutls_deinit(c->tls);
	cred_unref(c->cred);
	close(c->fd);
	while (c->listens) {
		struct listen *L = c->listens;
		c->listens = L->next;
		listen_free(L);
	}
	api_decoder_free(&c->dec);
	free(c->login_tag);
	sbuf_free(&c->in);
	sbuf_free(&c->out);
	if (c->has_session)
		conf_session_free(&c->s);
	mgmt_active_remove(c->active);
	free(c);
}

/*
 * The last replies are out: stop sending and read until the client closes.
 * Closing at once with its input unread would reset the connection, and
 * the client could lose the !fatal that says why.
 */
static void conn_drain(struct api_conn *c)
{
	char buf[16384];
	if (!c->draining) {
		c->draining = true;
		if (c->tls && c->handshaken)
			gnutls_bye(c->tls, GNUTLS_SHUT_WR);
		shutdown(c->fd, SHUT_WR);
	}
	for (int n = 0; n < API_READ_BUDGET; n++) {
		ssize_t r = recv(c->fd, buf, sizeof(buf), 0);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->dead = true;
		return;
	}
}

static void conn_watch(struct api_conn *c);

static void reap(struct api_server *a)
{
	for (struct api_conn *c = a->conns, *next; c; c = next) {
		next = c->next;
		if (!c->dead && c->closing && !out_pending(c)) {
			bool started = c->draining;
			conn_drain(c);
			if (!started && !c->dead)
				conn_watch(c);
		}
		if (c->dead)
			conn_free(c);
	}
}

static void conn_write(struct api_conn *c)
{
	while (out_pending(c)) {
		if (c->tls) {
			size_t chunk = out_pending(c) < 16384 ? out_pending(c) : 16384;
			ssize_t w = c->tls_pending
					    ? gnutls_record_send(c->tls, NULL, 0)
					    : gnutls_record_send(c->tls, c->out.s + c->out_off, chunk);
			if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
				if (!c->tls_pending)
					c->tls_pending = chunk;
				break;
			}
			if (w < 0) {
				c->dead = true;
				return;
			}
			c->tls_pending = 0;
			c->out_off += (size_t)w;
		} else {
			ssize_t w = send(c->fd, c->out.s + c->out_off, out_pending(c), MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EINTR)
					continue;
				if (errno != EAGAIN && errno != EWOULDBLOCK)
					c->dead = true;
				break;
			}
			c->out_off += (size_t)w;
		}
	}
	if (c->out_off == c->out.len) {
		sbuf_reset(&c->out);
		c->out_off = 0;
	} else if (c->out_off > (1u << 20)) {
		memmove(c->out.s, c->out.s + c->out_off, out_pending(c));
		sbuf_truncate(&c->out, out_pending(c));
		c->out_off = 0;
	}
	if (out_pending(c) > API_OUT_MAX)
		c->dead = true;
}

/* Decodes and runs what has arrived, until output backs up. */
static void process_input(struct api_conn *c)
{
	while (c->in_off < c->in.len && !c->closing && !c->dead && !c->verifying) {
		if (out_pending(c) >= API_OUT_HIGH)
			return;
		size_t used = 0;
		struct api_sentence s;
		const char *why = NULL;
		int r = api_decoder_feed(&c->dec, c->in.s + c->in_off, c->in.len - c->in_off, &used,
					 &s, &why);
		c->in_off += used;
		if (r == API_DEC_ERROR) {
			char msg[96];
			snprintf(msg, sizeof(msg), "protocol error: %s", why);
			reply_fatal(c, msg);
			c->in_off = c->in.len;
			break;
		}
		if (r == API_DEC_MORE)
			break;
		handle_sentence(c, &s);
	}
	if (c->in_off == c->in.len) {
		sbuf_reset(&c->in);
		c->in_off = 0;
	}
}

static void conn_read(struct api_conn *c)
{
	char buf[16384];
	c->more = false;
	for (int n = 0;; n++) {
		if (c->closing || c->dead || c->verifying || out_pending(c) >= API_OUT_HIGH)
			return;
		if (c->in_off < c->in.len) {
			process_input(c);
			continue;
		}
		if (c->eof) {
			c->closing = true;
			c->closing_since = loop_now_ms();
			return;
		}
		if (n >= API_READ_BUDGET) {
			c->more = c->tls && gnutls_record_check_pending(c->tls) > 0;
			return;
		}
		ssize_t r;
		if (c->tls) {
			r = gnutls_record_recv(c->tls, buf, sizeof(buf));
			if (r == GNUTLS_E_AGAIN)
				return;
			if (r == GNUTLS_E_INTERRUPTED || r == GNUTLS_E_REHANDSHAKE)
				continue;
			if (r < 0 && !gnutls_error_is_fatal((int)r))
				continue;
		} else {
			r = recv(c->fd, buf, sizeof(buf), 0);
			if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
				return;
			if (r < 0 && errno == EINTR)
				continue;
		}
		if (r < 0) {
			c->dead = true;
			return;
		}
		if (r == 0) {
			c->eof = true;
			continue;
		}
		sbuf_add(&c->in, buf, (size_t)r);
		process_input(c);
	}
}

static void conn_watch(struct api_conn *c)
{
	short ev = 0;
	if (c->draining) {
		ev = POLLIN;
	} else if (c->tls && !c->handshaken) {
		ev = gnutls_record_get_direction(c->tls) ? POLLOUT : POLLIN;
	} else {
		/* a login being verified: what follows it stays in the socket */
		if (!c->closing && !c->eof && !c->verifying && out_pending(c) < API_OUT_HIGH)
			ev |= POLLIN;
		if (out_pending(c) || c->more)
			ev |= POLLOUT;
	}
	if (ev != c->events) {
		loop_watch(c->a->l, c->fd, ev, conn_io, c);
		c->events = ev;
	}
}

static void conn_handshake(struct api_conn *c)
{
	int r = gnutls_handshake(c->tls);
	if (r == 0) {
		c->handshaken = true;
		return;
	}
	if (r != GNUTLS_E_AGAIN && r != GNUTLS_E_INTERRUPTED && gnutls_error_is_fatal(r))
		c->dead = true;
}

static void conn_io(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	struct api_conn *c = ctx;
	if (c->tls && !c->handshaken && !c->closing) {
		conn_handshake(c);
		if (!c->handshaken && !c->dead) {
			conn_watch(c);
			return;
		}
	}
	if (!c->dead && !c->draining) {
		conn_write(c);
		if (!c->dead)
			conn_read(c);
		if (!c->dead)
			conn_write(c);
	}
	if (!c->dead && c->closing && !out_pending(c))
		conn_drain(c);
	if ((revents & (POLLERR | POLLNVAL)) && !(revents & POLLIN))
		c->dead = true;
	if (c->dead) {
		conn_free(c);
		return;
	}
	conn_watch(c);
}

/* ---- listeners and services ---- */

static void peer_text(const struct sockaddr_storage *ss, char *out, size_t len)
{
	out[0] = 0;
	if (ss->ss_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out, (socklen_t)len);
	} else if (ss->ss_family == AF_INET6) {
		const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a6))
			inet_ntop(AF_INET, &a6->s6_addr[12], out, (socklen_t)len);
		else
			inet_ntop(AF_INET6, a6, out, (socklen_t)len);
	}
}

static int tls_setup(struct api_conn *c)
{
	struct api_cred *cr = c->a->cred;
	if (!cr || gnutls_init(&c->tls, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0)
		return -1;
	if (gnutls_priority_set_direct(c->tls, cr->priority, NULL) < 0 ||
	    gnutls_credentials_set(c->tls, GNUTLS_CRD_CERTIFICATE, cr->c) < 0)
		return -1;
	gnutls_certificate_server_set_request(c->tls, GNUTLS_CERT_IGNORE);
	gnutls_handshake_set_timeout(c->tls, 0);
	gnutls_transport_set_int(c->tls, c->fd);
	c->cred = cr;
	cr->refs++;
	return 0;
}

static void on_accept(struct loop *l, int fd, short revents, void *ctx);

static void rewatch(struct loop *l, void *ctx)
{
	struct api_server *a = ctx;
	a->rewatch_timer = 0;
	for (int i = 0; i < 2; i++)
		if (a->lfd[i] >= 0)
			loop_watch(l, a->lfd[i], POLLIN, on_accept, &a->lctx[i]);
}

static void on_accept(struct loop *l, int fd, short revents, void *ctx)
{
	(void)revents;
	struct lctx *lc = ctx;
	struct api_server *a = lc->a;
	for (int k = 0; k < 64; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0) {
			/* out of descriptors: the backlog would wake poll at once,
			 * again and again; listen again a little later */
			if ((errno == EMFILE || errno == ENFILE) && !a->rewatch_timer) {
				loop_unwatch(l, fd);
				a->rewatch_timer = loop_timer(l, 100, 0, rewatch, a);
			}
			return;
		}
		char peer[INET6_ADDRSTRLEN];
		peer_text(&ss, peer, sizeof(peer));
		if (a->nconns >= API_MAX_CONNS || !mgmt_service_allows(&a->svc[lc->i], peer)) {
			close(cfd);
			continue;
		}
		int one = 1;
		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct api_conn *c = xcalloc(1, sizeof(*c));
		c->a = a;
		c->fd = cfd;
		c->svc = lc->i;
		c->since = loop_now_ms();
		c->serial = ++a->serial;
		snprintf(c->peer, sizeof(c->peer), "%s", peer);
		api_decoder_init(&c->dec, &lim_prelogin);
		if (lc->i == 1 && tls_setup(c) < 0) {
			if (c->tls)
				gnutls_deinit(c->tls);
			api_decoder_free(&c->dec);
			close(cfd);
			free(c);
			continue;
		}
		c->next = a->conns;
		a->conns = c;
		a->nconns++;
		c->events = POLLIN;
		loop_watch(l, cfd, POLLIN, conn_io, c);
	}
}

static int listen_port(uint16_t port, struct err *e)
{
	int one = 1, off = 0, fd;
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
		if (bind(fd, (struct sockaddr *)&s6, sizeof(s6)) == 0 && listen(fd, 128) == 0)
			return fd;
		int err = errno;
		close(fd);
		if (err == EADDRINUSE || err == EACCES)
			return err_set(e, "cannot listen on port %u: %s", port, strerror(err));
	}
	/* no IPv6 here: IPv4 only */
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_ANY) };
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return err_set(e, "socket: %s", strerror(errno));
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&s4, sizeof(s4)) < 0 || listen(fd, 128) < 0) {
		int err = errno;
		close(fd);
		return err_set(e, "cannot listen on port %u: %s", port, strerror(err));
	}
	return fd;
}

static void listener_close(struct api_server *a, int i)
{
	if (a->lfd[i] < 0)
		return;
	loop_unwatch(a->l, a->lfd[i]);
	close(a->lfd[i]);
	a->lfd[i] = -1;
}

/* New TLS credentials from the certificate the service names (sessions
 * under way keep theirs). */
static int cred_load(struct api_server *a, const struct mgmt_service *svc, struct err *e)
{
	char *cpem = NULL, *kpem = NULL;
	if (cert_pem(a->st, svc->certificate, &cpem, &kpem, e) < 0)
		return -1;
	struct api_cred *cr = xcalloc(1, sizeof(*cr));
	int rc = gnutls_certificate_allocate_credentials(&cr->c);
	if (rc >= 0) {
		gnutls_datum_t cd = { (unsigned char *)cpem, (unsigned)strlen(cpem) };
		gnutls_datum_t kd = { (unsigned char *)kpem, (unsigned)strlen(kpem) };
		rc = gnutls_certificate_set_x509_key_mem(cr->c, &cd, &kd, GNUTLS_X509_FMT_PEM);
	}
	cert_free_pem(cpem, kpem);
	if (rc < 0) {
		if (cr->c)
			gnutls_certificate_free_credentials(cr->c);
		free(cr);
		return err_set(e, "certificate %s: %s", svc->certificate, gnutls_strerror(rc));
	}
	const struct menu *m = schema_find("/ip/service");
	const struct item *it = m ? store_by_key(a->st, m, svc->name) : NULL;
	const char *tv = it ? item_get(m, it, "tls-version") : NULL;
	snprintf(cr->priority, sizeof(cr->priority), "%s",
		 tv && !strcmp(tv, "only-1.2") ? "NORMAL:-VERS-ALL:+VERS-TLS1.2" : "NORMAL");
	cr->refs = 1;
	cred_unref(a->cred);
	a->cred = cr;
	return 0;
}

static void services_apply(struct api_server *a)
{
	for (int i = 0; i < 2; i++) {
		struct mgmt_service s;
		bool want = mgmt_service(a->st, svc_names[i], &s) == 0 && s.enabled && s.port;
		if (!want)
			s.enabled = false;
		bool moved = a->lfd[i] >= 0 && (!want || s.port != a->svc[i].port);
		if (moved)
			listener_close(a, i);
		if (i == 1 && want) {
			/* certificate, its name or tls-version may have changed:
			 * new sessions get fresh credentials */
			struct err e;
			err_clear(&e);
			if (cred_load(a, &s, &e) < 0) {
				conf_log("system,error", "api-ssl: %s", e.msg);
				listener_close(a, i);
				want = false;
			}
		}
		if (want && a->lfd[i] < 0) {
			struct err e;
			err_clear(&e);
			a->lfd[i] = listen_port(s.port, &e);
			if (a->lfd[i] < 0)
				conf_log("system,error", "%s: %s", svc_names[i], e.msg);
			else
				loop_watch(a->l, a->lfd[i], POLLIN, on_accept, &a->lctx[i]);
		}
		a->svc[i] = s;
	}
	/* sessions of a service now off, or from an address no longer allowed */
	for (struct api_conn *c = a->conns; c; c = c->next) {
		const struct mgmt_service *s = &a->svc[c->svc];
		if (s->enabled && mgmt_service_allows(s, c->peer))
			continue;
		if (!c->closing) {
			c->closing = true;
			c->closing_since = loop_now_ms();
			conn_watch(c);
		}
	}
}

/* ---- change notification and housekeeping ---- */

static void changes_fire(struct loop *l, void *ctx)
{
	(void)l;
	struct api_server *a = ctx;
	a->changes_timer = 0;
	size_t svc = schema_index(schema_find("/ip/service"));
	size_t crt = schema_index(schema_find("/certificate"));
	if (bit_set(a->changed, a->nwords, svc) || bit_set(a->changed, a->nwords, crt))
		services_apply(a);
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (c->dead || !c->authed)
			continue;
		bool wrote = false;
		for (struct listen *L = c->listens; L; L = L->next)
			if (bit_set(a->changed, a->nwords, schema_index(L->m))) {
				size_t before = c->out.len;
				listen_diff(c, L);
				wrote |= c->out.len != before;
			}
		if (wrote) {
			if (out_pending(c) > API_OUT_MAX)
				c->dead = true;
			else
				conn_watch(c);
		}
	}
	memset(a->changed, 0, a->nwords * sizeof(*a->changed));
	reap(a);
}

/* Runtime tables and counters under listen: compared on the clock. */
static void poll_fire(struct loop *l, void *ctx)
{
	(void)l;
	struct api_server *a = ctx;
	uint64_t now = loop_now_ms(), seq;
	struct conf_log_entry none;
	conf_log_since(UINT64_MAX, &none, 0, &seq);
	bool refreshed = false;
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (c->dead || !c->authed)
			continue;
		size_t before = c->out.len;
		for (struct listen *L = c->listens; L; L = L->next) {
			if (!L->poll)
				continue;
			if (L->log ? L->log_seq == seq : now - L->polled_ms < API_POLL_MS)
				continue;
			if (L->stats && !refreshed) {
				daemon_refresh_stats(a->d);
				refreshed = true;
			}
			L->log_seq = seq;
			L->polled_ms = now;
			listen_diff(c, L);
		}
		if (c->out.len != before) {
			if (out_pending(c) > API_OUT_MAX)
				c->dead = true;
			else
				conn_watch(c);
		}
	}
	reap(a);
}

static void on_change(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct api_server *a = ctx;
	for (size_t i = 0; i < nwords && i < a->nwords; i++)
		a->changed[i] |= changed[i];
	if (!a->changes_timer)
		a->changes_timer = loop_timer(a->l, 0, 0, changes_fire, a);
}

static void housekeeping(struct loop *l, void *ctx)
{
	(void)l;
	struct api_server *a = ctx;
	uint64_t now = loop_now_ms();
	for (struct api_conn *c = a->conns; c; c = c->next) {
		if (c->closing && now - c->closing_since > API_CLOSING_MS) {
			c->dead = true;
		} else if (!c->authed && !c->closing && now - c->since > API_LOGIN_MS) {
			if (c->tls && !c->handshaken) {
				c->dead = true;
			} else {
				reply_fatal(c, "login timeout");
				conn_watch(c);
			}
		}
	}
	reap(a);
}

/* ---- start and stop ---- */

struct api_server *api_server_start(struct daemon *d, struct err *e)
{
	(void)e;
	struct api_server *a = xcalloc(1, sizeof(*a));
	a->d = d;
	a->l = daemon_loop(d);
	a->st = daemon_store(d);
	a->lfd[0] = a->lfd[1] = -1;
	for (int i = 0; i < 2; i++)
		a->lctx[i] = (struct lctx){ a, i };
	a->nwords = (schema_nmenus + 63) / 64;
	a->changed = xcalloc(a->nwords, sizeof(*a->changed));
	const char *md5 = getenv("ROSFW_API_CHALLENGE_LOGIN");
	a->md5_login = md5 && !strcmp(md5, "1");
	struct err ce;
	err_clear(&ce);
	if (cert_ensure(a->st, &ce) < 0)
		conf_log("system,error", "certificate: %s", ce.msg);
	services_apply(a);
	daemon_on_change(d, on_change, a);
	a->hk_timer = loop_timer(a->l, 1000, 1000, housekeeping, a);
	a->poll_timer = loop_timer(a->l, API_LOG_POLL_MS, API_LOG_POLL_MS, poll_fire, a);
	return a;
}

void api_server_stop(struct api_server *a)
{
	if (!a)
		return;
	mgmt_pool_cancel(daemon_login_pool(a->d), a);
	loop_cancel(a->l, a->hk_timer);
	loop_cancel(a->l, a->poll_timer);
	if (a->changes_timer)
		loop_cancel(a->l, a->changes_timer);
	if (a->rewatch_timer)
		loop_cancel(a->l, a->rewatch_timer);
	while (a->conns)
		conn_free(a->conns);
	listener_close(a, 0);
	listener_close(a, 1);
	cred_unref(a->cred);
	free(a->changed);
	free(a);
}
