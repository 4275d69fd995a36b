/*
 * The REST server: libmicrohttpd serving rest.h on the services www (HTTP)
 * and www-ssl (HTTPS with the certificate of cert.h) of /ip service, which
 * it follows live: port, enabled, certificate and TLS versions restart a
 * listener; the address list is checked on every connection and request.
 * MHD has no thread of its own here: its epoll fd sits on the daemon's
 * loop and a one-shot timer follows MHD_get_timeout, so every request runs
 * on the control-plane thread, one at a time against the store.
 * Each request is authenticated with HTTP Basic against /user (policy
 * rest-api) and runs in a session with the user's policies. Verified
 * credentials are remembered for a few minutes as a keyed hash and
 * forgotten when /user changes; a password that must be checked against its
 * argon2 hash is checked on the daemon's login threads while MHD holds the
 * request (suspended), so the loop serves everyone else meanwhile; failed
 * logins are throttled per source address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "daemon/daemon.h"
#include "mgmt/cert.h"
#include "mgmt/mgmt.h"
#include "mgmt/rest.h"

#define AUTH_SLOTS 16
#define AUTH_KEEP_MS 300000u  /* a verified login is trusted this long */
#define RETRY_MS 5000u        /* a listener that could not start tries again */
#define RECONF_DELAY_MS 100u  /* lets the reply of the change itself go out first */
#define MAX_CONNS 256u
#define MAX_CONNS_PER_IP 64u
#define IDLE_TIMEOUT_S 60u
/* Failed logins are throttled per source address with the API front's
 * mgmt_throttle; logins already verified and cached are not refused. */

struct rest_req;

struct listener {
	struct rest_server *srv;
	const char *name;         /* the /ip service: "www" or "www-ssl" */
	bool tls;
	struct mgmt_service svc;  /* as applied; its address list is read live */
	bool only12;              /* tls-version=only-1.2 */
	struct MHD_Daemon *mhd;
	int epfd;
	int timer;                /* one-shot for MHD_get_timeout, 0 = none */
	char *cert, *key;         /* PEM texts the running listener uses */
	uint64_t retry_at;        /* 0, or when to try to start again */
	char failed[256];         /* the last start failure, logged once */
};

struct auth_slot {
	unsigned char tag[crypto_generichash_BYTES]; /* keyed hash of user, password, source */
	char user[64];
	unsigned policy;
	uint64_t until;
};

struct rest_server {
	struct daemon *d;
	struct loop *loop;
	struct listener ls[2];
	int sweep_timer;
	int reconf_timer;
	struct rest_req *reqs;    /* every request in progress */
	struct auth_slot auth[AUTH_SLOTS];
	unsigned char auth_key[crypto_generichash_KEYBYTES];
	struct mgmt_throttle thr;
	char mhd_msg[256];        /* MHD's last complaint */
	uint64_t serial;
};

struct rest_req {
	struct listener *ls;
	struct MHD_Connection *conn;
	char *target;             /* the request target as sent, query included */
	uint64_t started;
	struct sbuf body;
	bool began, replied, too_big, cut;
	char user[64];
	unsigned policy;
	/* a login on the login threads: MHD holds the request meanwhile */
	uint64_t serial;
	bool auth_wait, auth_done;
	int auth_rc;
	char client[INET6_ADDRSTRLEN];
	unsigned char tag[crypto_generichash_BYTES];
	struct rest_req *prev, *next;
};

/* daemon_on_change has no way to unsubscribe: the change listener reaches
 * the server through this slot, which rest_server_stop clears. */
static struct rest_server *live_server;
static bool change_listener_added;

static void listener_apply(struct listener *ls);

/* ---- helpers ---- */

/* A client address as text; an IPv4 client on the dual-stack socket
 * ("::ffff:10.0.0.2") as plain IPv4, which address lists are written in. */
static void client_text(const struct sockaddr *sa, char *buf, size_t n)
{
	snprintf(buf, n, "?");
	if (!sa)
		return;
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, (socklen_t)n);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], buf, (socklen_t)n);
		else
			inet_ntop(AF_INET6, a, buf, (socklen_t)n);
	}
}

static void conn_client(struct MHD_Connection *c, char *buf, size_t n)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	client_text(ci ? ci->client_addr : NULL, buf, n);
}

/* A name from the wire, fit for a log line. */
static void log_safe(const char *in, char *out, size_t n)
{
	size_t k = 0;
	for (; in[k] && k + 1 < n; k++)
		out[k] = (in[k] >= 0x20 && in[k] < 0x7f) ? in[k] : '?';
	out[k] = 0;
}

static bool changed_bit(const uint64_t *changed, size_t nwords, const char *path)
{
	const struct menu *m = schema_find(path);
	if (!m)
		return false;
	size_t i = schema_index(m);
	return i / 64 < nwords && (changed[i / 64] >> (i % 64) & 1);
}

/* ---- authentication ---- */

static void auth_forget(struct rest_server *srv)
{
	sodium_memzero(srv->auth, sizeof(srv->auth));
}

/* Is this login verified and remembered? 0 with *policy, else 1; tag is
 * the key it is remembered by. */
static int auth_cached(struct rest_server *srv, const char *user, const char *pass,
		       const char *client, unsigned char *tag, unsigned *policy)
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, srv->auth_key, sizeof(srv->auth_key), crypto_generichash_BYTES);
	crypto_generichash_update(&h, (const unsigned char *)user, strlen(user) + 1);
	crypto_generichash_update(&h, (const unsigned char *)pass, strlen(pass) + 1);
	crypto_generichash_update(&h, (const unsigned char *)client, strlen(client) + 1);
	crypto_generichash_final(&h, tag, crypto_generichash_BYTES);
	uint64_t now = loop_now_ms();
	for (size_t i = 0; i < AUTH_SLOTS; i++) {
		struct auth_slot *a = &srv->auth[i];
		if (a->until > now && !sodium_memcmp(a->tag, tag, crypto_generichash_BYTES)) {
			*policy = a->policy;
			return 0;
		}
	}
	return 1;
}

/* The end of a login (mgmt_login_finish): 0 with rq->policy, -1 bad
 * credentials (401), -2 no rest-api policy (403). */
static int auth_finish(struct rest_server *srv, struct rest_req *rq, struct mgmt_login *lg,
		       bool verified)
{
	struct err e;
	err_clear(&e);
	/* failures that came in while this one was checked may have closed
	 * the address meanwhile */
	int rc = lg->hash && mgmt_throttle_blocked(&srv->thr, rq->client, loop_now_ms())
			 ? err_set(&e, "refused")
			 : mgmt_login_finish(daemon_store(srv->d), lg, verified, &rq->policy, &e);
	if (rc < 0) {
		char who[64];
		log_safe(lg->user, who, sizeof(who));
		conf_log("system,error,critical", "login failure for user %s from %s via rest", who,
			 rq->client);
		if (strncmp(e.msg, "not enough permissions", 22))
			return mgmt_throttle_fail(&srv->thr, rq->client, loop_now_ms(), "rest"), -1;
		return -2; /* the password was right */
	}
	struct auth_slot *oldest = &srv->auth[0];
	for (size_t i = 1; i < AUTH_SLOTS; i++)
		if (srv->auth[i].until < oldest->until)
			oldest = &srv->auth[i];
	memcpy(oldest->tag, rq->tag, sizeof(oldest->tag));
	snprintf(oldest->user, sizeof(oldest->user), "%s", lg->user);
	oldest->policy = rq->policy;
	oldest->until = loop_now_ms() + AUTH_KEEP_MS;
	return 0;
}

/* ---- requests ---- */

static void req_free(struct rest_server *srv, struct rest_req *rq)
{
	if (rq->prev)
		rq->prev->next = rq->next;
	else
		srv->reqs = rq->next;
	if (rq->next)
		rq->next->prev = rq->prev;
	free(rq->target);
	sbuf_free(&rq->body);
	free(rq);
}

/* Called by MHD when a request line arrives: the target as sent (not yet
 * unescaped, query included); what it returns is the request's context. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	struct listener *ls = cls;
	struct rest_req *rq = xcalloc(1, sizeof(*rq));
	rq->ls = ls;
	rq->conn = c;
	rq->target = xstrdup(uri ? uri : "");
	rq->started = loop_now_ms();
	rq->next = ls->srv->reqs;
	if (rq->next)
		rq->next->prev = rq;
	ls->srv->reqs = rq;
	return rq;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *ls = cls;
	(void)c;
	(void)toe;
	if (*req_cls)
		req_free(ls->srv, *req_cls);
	*req_cls = NULL;
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *sa, socklen_t len)
{
	struct listener *ls = cls;
	char client[INET6_ADDRSTRLEN];
	(void)len;
	client_text(sa, client, sizeof(client));
	return mgmt_service_allows(&ls->svc, client) ? MHD_YES : MHD_NO;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	struct rest_server *srv = cls;
	vsnprintf(srv->mhd_msg, sizeof(srv->mhd_msg), fmt, ap);
	size_t n = strlen(srv->mhd_msg);
	while (n && srv->mhd_msg[n - 1] == '\n')
		srv->mhd_msg[--n] = 0;
}

static enum MHD_Result send_reply(struct rest_req *rq, struct MHD_Connection *c,
				  struct rest_reply *r)
{
	struct MHD_Response *resp;
	rq->replied = true;
	if (r->body) {
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
		if (resp)
			r->body = NULL; /* MHD frees it */
	} else {
		resp = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
	}
	rest_reply_free(r);
	if (!resp)
		return MHD_NO;
	if (r->status != 204)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
					"Basic realm=\"rosfw\"");
	enum MHD_Result rc = MHD_queue_response(c, (unsigned)r->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

static enum MHD_Result send_error(struct rest_req *rq, struct MHD_Connection *c, int status,
				  const char *detail)
{
	struct rest_reply r = { 0 };
	rest_reply_error(&r, status, detail);
	return send_reply(rq, c, &r);
}

static void pump(struct listener *ls);

/* After the login: its answer, /user active, the announced size. */
static enum MHD_Result request_authed(struct rest_req *rq, struct MHD_Connection *c, int rc)
{
	if (rc == -2)
		return send_error(rq, c, 403, "not enough permissions (9)");
	if (rc < 0)
		return send_error(rq, c, 401, NULL);
	/* REST has no session: a client shows in /user active while it keeps
	 * sending requests (MGMT_ACTIVE_REST_IDLE_MS after the last one) */
	mgmt_active_touch(rq->user, rq->ls->name, rq->client, MGMT_ACTIVE_REST_IDLE_MS);
	const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						     MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (cl && strtoull(cl, NULL, 10) > REST_MAX_BODY)
		return send_error(rq, c, 413, "request body too large");
	return MHD_YES;
}

/* A login thread is done with a request's password. */
static void login_verified(void *ctx, uint64_t serial, struct mgmt_login *lg, bool verified)
{
	struct rest_server *srv = ctx;
	struct rest_req *rq = srv->reqs;
	while (rq && rq->serial != serial)
		rq = rq->next;
	if (!rq || !rq->auth_wait || rq->auth_done)
		return;
	rq->auth_rc = auth_finish(srv, rq, lg, verified);
	rq->auth_done = true;
	MHD_resume_connection(rq->conn);
	pump(rq->ls);
}

/* First call: the headers are in. The service's address list, then the
 * user, then the announced size, before any body is taken in. A password
 * not verified lately goes to the login threads and the request waits. */
static enum MHD_Result request_begin(struct rest_req *rq, struct MHD_Connection *c)
{
	struct listener *ls = rq->ls;
	struct rest_server *srv = ls->srv;
	conn_client(c, rq->client, sizeof(rq->client));
	if (!mgmt_service_allows(&ls->svc, rq->client))
		return MHD_NO; /* as a refused connection: no reply */
	char pass[256];
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						    MHD_HTTP_HEADER_AUTHORIZATION);
	int rc = rest_basic_auth(h, rq->user, sizeof(rq->user), pass, sizeof(pass));
	if (rc == 0 &&
	    auth_cached(srv, rq->user, pass, rq->client, rq->tag, &rq->policy) != 0) {
		rc = -1;
		if (!mgmt_throttle_blocked(&srv->thr, rq->client, loop_now_ms())) {
			struct mgmt_login *lg = xmalloc(sizeof(*lg));
			if (mgmt_login_start(daemon_store(srv->d), rq->user, pass, rq->client,
					     POL_REST_API, lg) == 1) {
				sodium_memzero(pass, sizeof(pass));
				rq->serial = ++srv->serial;
				rq->auth_wait = true;
				mgmt_pool_submit(daemon_login_pool(srv->d), lg, login_verified, srv,
						 rq->serial);
				MHD_suspend_connection(c);
				return MHD_YES;
			}
			rc = auth_finish(srv, rq, lg, false);
			mgmt_login_done(lg);
			free(lg);
		}
	}
	sodium_memzero(pass, sizeof(pass));
	return request_authed(rq, c, rc);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload,
				  size_t *upload_size, void **req_cls)
{
	struct listener *ls = cls;
	struct rest_req *rq = *req_cls;
	(void)version;
	if (!rq)
		return MHD_NO;
	if (rq->auth_wait) {
		/* called again once resumed: the login's answer first */
		if (!rq->auth_done)
			return MHD_YES;
		rq->auth_wait = false;
		enum MHD_Result r = request_authed(rq, c, rq->auth_rc);
		if (r != MHD_YES || rq->replied || !*upload_size)
			return r;
	}
	if (!rq->began) {
		rq->began = true;
		return request_begin(rq, c);
	}
	if (*upload_size) {
		if (!rq->replied && !rq->too_big) {
			if (rq->body.len + *upload_size > REST_MAX_BODY) {
				rq->too_big = true;
				sbuf_free(&rq->body);
			} else {
				sbuf_add(&rq->body, upload, *upload_size);
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->replied)
		return MHD_YES;
	if (rq->too_big)
		return send_error(rq, c, 413, "request body too large");
	if (!strcmp(method, "GET") || !strcmp(method, "HEAD") || !strcmp(method, "POST"))
		daemon_refresh_stats(ls->srv->d); /* print shows live counters */
	struct conf_session s;
	daemon_session_init(ls->srv->d, &s, rq->user, rq->policy);
	struct rest_reply r;
	rest_handle(&s, rq->policy, method, rq->target[0] ? rq->target : url,
		    rq->body.s ? rq->body.s : "", rq->body.len, &r);
	conf_session_free(&s);
	return send_reply(rq, c, &r);
}

/* ---- MHD on the loop ---- */

static void on_mhd_timer(struct loop *l, void *ctx);

static void pump(struct listener *ls)
{
	if (!ls->mhd)
		return;
	MHD_run(ls->mhd);
	if (!ls->mhd)
		return;
	if (ls->timer)
		loop_cancel(ls->srv->loop, ls->timer);
	ls->timer = 0;
	MHD_UNSIGNED_LONG_LONG ms;
	if (MHD_get_timeout(ls->mhd, &ms) == MHD_YES)
		ls->timer = loop_timer(ls->srv->loop, ms > 1000 ? 1000 : ms, 0, on_mhd_timer, ls);
}

static void on_mhd_timer(struct loop *l, void *ctx)
{
	struct listener *ls = ctx;
	(void)l;
	ls->timer = 0;
	pump(ls);
}

static void on_epoll(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	(void)revents;
	pump(ctx);
}

static void listener_stop(struct listener *ls)
{
	struct rest_server *srv = ls->srv;
	if (ls->mhd) {
		/* MHD stops only with no request held: those waiting for a login
		 * are let go unanswered */
		for (struct rest_req *rq = srv->reqs; rq; rq = rq->next)
			if (rq->ls == ls && rq->auth_wait && !rq->auth_done) {
				rq->auth_done = true;
				rq->auth_rc = -1;
				MHD_resume_connection(rq->conn);
			}
		loop_unwatch(srv->loop, ls->epfd);
		if (ls->timer)
			loop_cancel(srv->loop, ls->timer);
		ls->timer = 0;
		MHD_stop_daemon(ls->mhd); /* completes (and frees) its requests */
		ls->mhd = NULL;
	}
	for (struct rest_req *rq = srv->reqs, *next; rq; rq = next) {
		next = rq->next;
		if (rq->ls == ls)
			req_free(srv, rq);
	}
	cert_free_pem(ls->cert, ls->key);
	ls->cert = ls->key = NULL;
}

static struct MHD_Daemon *mhd_start(struct listener *ls, unsigned flags)
{
	struct MHD_OptionItem tls[4] = { { MHD_OPTION_END, 0, NULL } };
	if (ls->tls) {
		tls[0] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, ls->cert };
		tls[1] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, ls->key };
		tls[2] = (struct MHD_OptionItem){
			MHD_OPTION_HTTPS_PRIORITIES, 0,
			(void *)(ls->only12 ? "NORMAL:-VERS-ALL:+VERS-TLS1.2" : "NORMAL")
		};
		tls[3] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };
		flags |= MHD_USE_TLS;
	}
	return MHD_start_daemon(
		flags | MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME, ls->svc.port,
		on_accept, ls, on_request, ls,
		MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, ls->srv,
		MHD_OPTION_URI_LOG_CALLBACK, on_uri, ls,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, ls,
		MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S,
		MHD_OPTION_CONNECTION_LIMIT, MAX_CONNS,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, MAX_CONNS_PER_IP,
		MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

static void listener_failed(struct listener *ls, const char *why)
{
	char msg[256];
	snprintf(msg, sizeof(msg), "%s: cannot serve on port %u: %s", ls->name,
		 (unsigned)ls->svc.port, why);
	if (strcmp(msg, ls->failed)) {
		conf_log("system,error", "%s", msg);
		fprintf(stderr, "rosfw: %s\n", msg);
		snprintf(ls->failed, sizeof(ls->failed), "%s", msg);
	}
	ls->retry_at = loop_now_ms() + RETRY_MS;
}

static void listener_start(struct listener *ls)
{
	struct rest_server *srv = ls->srv;
	srv->mhd_msg[0] = 0;
	/* both address families where the host has IPv6, else IPv4 alone */
	ls->mhd = mhd_start(ls, MHD_USE_DUAL_STACK);
	if (!ls->mhd)
		ls->mhd = mhd_start(ls, 0);
	if (!ls->mhd) {
		listener_failed(ls, srv->mhd_msg[0] ? srv->mhd_msg : strerror(errno));
		cert_free_pem(ls->cert, ls->key);
		ls->cert = ls->key = NULL;
		return;
	}
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(ls->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	ls->epfd = di ? di->epoll_fd : -1;
	if (ls->epfd < 0) {
		MHD_stop_daemon(ls->mhd);
		ls->mhd = NULL;
		listener_failed(ls, "no epoll descriptor");
		return;
	}
	ls->retry_at = 0;
	ls->failed[0] = 0;
	loop_watch(srv->loop, ls->epfd, POLLIN, on_epoll, ls);
	pump(ls);
}

static bool same_text(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Brings one listener in line with its /ip service. */
static void listener_apply(struct listener *ls)
{
	struct store *st = daemon_store(ls->srv->d);
	struct mgmt_service now;
	if (mgmt_service(st, ls->name, &now) < 0)
		memset(&now, 0, sizeof(now));
	const struct menu *sm = schema_find("/ip/service");
	const struct item *it = sm ? store_by_key(st, sm, ls->name) : NULL;
	const char *tv = it ? item_get(sm, it, "tls-version") : NULL;
	bool only12 = tv && !strcmp(tv, "only-1.2");
	bool want = now.enabled && now.port;
	char *cert = NULL, *key = NULL;
	if (want && ls->tls) {
		struct err e;
		err_clear(&e);
		if (cert_pem(st, now.certificate, &cert, &key, &e) < 0) {
			ls->svc = now;
			listener_failed(ls, e.msg);
			want = false;
		}
	}
	bool restart = ls->mhd && (!want || now.port != ls->svc.port || only12 != ls->only12 ||
				   !same_text(cert, ls->cert) || !same_text(key, ls->key));
	ls->svc = now; /* the address list applies from here on */
	if (restart)
		listener_stop(ls);
	if (want && !ls->mhd) {
		cert_free_pem(ls->cert, ls->key);
		ls->cert = cert;
		ls->key = key;
		cert = key = NULL;
		ls->only12 = only12;
		listener_start(ls);
	}
	if (!want)
		ls->retry_at = 0;
	cert_free_pem(cert, key);
}

static void on_reconf(struct loop *l, void *ctx)
{
	struct rest_server *srv = ctx;
	(void)l;
	srv->reconf_timer = 0;
	for (size_t i = 0; i < 2; i++)
		listener_apply(&srv->ls[i]);
}

static void on_change(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct rest_server *srv = live_server;
	(void)ctx;
	if (!srv)
		return;
	if (changed_bit(changed, nwords, "/user") || changed_bit(changed, nwords, "/user/group"))
		auth_forget(srv);
	if ((changed_bit(changed, nwords, "/ip/service") ||
	     changed_bit(changed, nwords, "/certificate")) &&
	    !srv->reconf_timer)
		srv->reconf_timer = loop_timer(srv->loop, RECONF_DELAY_MS, 0, on_reconf, srv);
}

/* Every second: cut requests older than REST_TIMEOUT_MS (shutting the
 * socket makes MHD close the connection), retry listeners that could not
 * start. */
static void on_sweep(struct loop *l, void *ctx)
{
	struct rest_server *srv = ctx;
	(void)l;
	uint64_t now = loop_now_ms();
	bool cut = false;
	for (struct rest_req *rq = srv->reqs; rq; rq = rq->next) {
		if (rq->cut || now - rq->started < REST_TIMEOUT_MS)
			continue;
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(rq->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (ci)
			shutdown(ci->connect_fd, SHUT_RDWR);
		rq->cut = cut = true;
	}
	for (size_t i = 0; i < 2; i++) {
		struct listener *ls = &srv->ls[i];
		if (cut)
			pump(ls);
		if (!ls->mhd && ls->retry_at && now >= ls->retry_at)
			listener_apply(ls);
	}
}

/* ---- start and stop ---- */

struct rest_server *rest_server_start(struct daemon *d, struct err *e)
{
	if (sodium_init() < 0) {
		err_set(e, "libsodium failed to start");
		return NULL;
	}
	struct rest_server *srv = xcalloc(1, sizeof(*srv));
	srv->d = d;
	srv->loop = daemon_loop(d);
	randombytes_buf(srv->auth_key, sizeof(srv->auth_key));
	srv->ls[0] = (struct listener){ .srv = srv, .name = "www", .tls = false, .epfd = -1 };
	srv->ls[1] = (struct listener){ .srv = srv, .name = "www-ssl", .tls = true, .epfd = -1 };
	live_server = srv;
	if (!change_listener_added) {
		daemon_on_change(d, on_change, NULL);
		change_listener_added = true;
	}
	for (size_t i = 0; i < 2; i++)
		listener_apply(&srv->ls[i]);
	srv->sweep_timer = loop_timer(srv->loop, 1000, 1000, on_sweep, srv);
	return srv;
}

void rest_server_stop(struct rest_server *srv)
{
	if (!srv)
		return;
	mgmt_pool_cancel(daemon_login_pool(srv->d), srv);
	for (size_t i = 0; i < 2; i++)
		listener_stop(&srv->ls[i]);
	loop_cancel(srv->loop, srv->sweep_timer);
	if (srv->reconf_timer)
		loop_cancel(srv->loop, srv->reconf_timer);
	auth_forget(srv);
	if (live_server == srv)
		live_server = NULL;
	free(srv);
}
