/*
 * rosfw run: the store, the engine and the queues, recompiled after every
 * committed change, and the console socket. The console protocol is a line
 * per request and a framed reply:
 *   request:  'C' command line '\n'    run one line (console semantics)
 *             'S' script ... '\0'      run a whole script leniently (stdin)
 *             'X' word '\n'            safe mode: take, release, unroll, or
 *                                      nothing to toggle it (Ctrl-X)
 *             'F' menu '\n'            follow (print follow): "/log" (or
 *                                      nothing) streams the log lines still
 *                                      in the ring, then each new one, as
 *                                      "hh:mm:ss topics message\n", until the
 *                                      client sends anything: a Ctrl-C byte
 *                                      (0x03) is taken as the end, anything
 *                                      else is its next request; then the
 *                                      reply's frame ends as for any request
 *   reply:    output bytes, then '\0', a status ('0' ok, '1' error), the
 *             prompt path, "\tsafe" while the session holds safe mode, '\n'
 * A connection that closes while its session holds safe mode has its
 * changes undone, and so do the sessions still in safe mode when the
 * router stops.
 * Completion needs only the schema and the current menu, so clients do it
 * themselves from the path each reply carries.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "conf/runtime.h"
#include "engine/ct.h"
#include "engine/engine.h"
#include "io/dataplane.h"
#include "mgmt/mgmt.h"
#include "qos/qos.h"
#include "sim/netsim.h"
#include "sim/tgen.h"

#define MAX_REQ (4u << 20)

struct listener_ent {
	daemon_change_fn fn;
	void *ctx;
};

struct client {
	int fd;
	struct conf_session s;
	struct sbuf in;
	struct sbuf outq;
	struct daemon *d;
	unsigned active; /* its /user active entry */
	bool following;  /* an 'F' request streams the log */
	uint64_t log_seq;
	struct client *next;
};

struct daemon {
	struct loop *loop;
	struct store *st;
	struct engine *en;
	struct qos *qos;
	bool dirty;
	uint64_t dirty_since_ms, last_change_ms; /* for batching recompiles */
	char sock_path[300];
	int sock;
	char files_dir[256];
	struct listener_ent *ls;
	size_t nls;
	struct api_server *api;
	struct rest_server *rest;
	struct client *clients;
	/* the dataplane until real interfaces are mapped: virtual hosts and a
	 * WAN line from a traffic profile, on virtual time kept in step with
	 * the clock */
	struct tgen_profile *prof;
	struct netsim *ns;
	uint64_t start_ns;
	/* real interfaces (--iface): the live dataplane */
	struct dataplane *dp;
	uint32_t ct_max_entries; /* --ct-max-entries, 0: the default */
};

/* The dataplane's clock (ns): the same time base for the engine, the
 * queues and the traffic, starting where the simulator's virtual time does. */
static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t dp_now(const struct daemon *d)
{
	return NETSIM_T0 + (mono_ns() - d->start_ns);
}

static uint64_t dp_clock(void *ctx)
{
	return dp_now(ctx);
}

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct loop *daemon_loop(struct daemon *d)
{
	return d->loop;
}

struct store *daemon_store(struct daemon *d)
{
	return d->st;
}

void daemon_session_init(struct daemon *d, struct conf_session *s, const char *user,
			 unsigned policy)
{
	conf_session_init(s, d->st, user);
	snprintf(s->files_dir, sizeof(s->files_dir), "%s", d->files_dir);
	s->may_write = (policy & POL_WRITE) != 0;
	s->may_policy = (policy & POL_POLICY) != 0;
	s->may_sensitive = (policy & POL_SENSITIVE) != 0;
}

void daemon_on_change(struct daemon *d, daemon_change_fn fn, void *ctx)
{
	d->ls = xrealloc(d->ls, (d->nls + 1) * sizeof(*d->ls));
	d->ls[d->nls++] = (struct listener_ent){ fn, ctx };
}

static void on_commit(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct daemon *d = ctx;
	uint64_t now = loop_now_ms();
	if (!d->dirty)
		d->dirty_since_ms = now;
	d->dirty = true;
	d->last_change_ms = now;
	for (size_t i = 0; i < d->nls; i++)
		d->ls[i].fn(d->ls[i].ctx, changed, nwords);
}

/* Recompiles and publishes; on error the previous configuration stays. */
static void recompile(struct daemon *d)
{
	d->dirty = false;
	struct err e;
	err_clear(&e);
	if (engine_load(d->en, d->st, &e) < 0) {
		conf_log("firewall,error", "configuration not applied: %s", e.msg);
		return;
	}
	if (d->ct_max_entries) {
		struct ct_config c = *ct_get_config(engine_ct(d->en));
		c.max_entries = d->ct_max_entries;
		ct_set_config(engine_ct(d->en), &c);
	}
	char msg[256] = "";
	struct qos *q = qos_build(d->st, d->ns ? netsim_now(d->ns) : dp_now(d), msg, sizeof(msg));
	if (!q) {
		conf_log("queue,error", "queues not applied: %s", msg);
		return;
	}
	/* the traffic hands over to the new queues first (what the old ones
	 * held is dropped), then the old ones go */
	if (d->ns)
		netsim_set_router(d->ns, d->en, q);
	if (d->dp)
		dataplane_set_qos(d->dp, q);
	qos_free(d->qos);
	d->qos = q;
}

void daemon_refresh_stats(struct daemon *d)
{
	engine_export_counters(d->en, d->st);
	if (d->qos)
		qos_export_stats(d->qos, d->st);
}

static void follow_push(struct client *c);

static void tick(struct loop *l, void *ctx)
{
	(void)l;
	struct daemon *d = ctx;
	/* a burst of changes (an API client adding rules one by one) compiles
	 * once: 20 ms after the last change, or every 200 ms while they go on */
	uint64_t now = loop_now_ms();
	if (d->dirty && (now - d->last_change_ms >= 20 || now - d->dirty_since_ms >= 200))
		recompile(d);
	if (d->ns)
		netsim_advance(d->ns, dp_now(d));
	else
		engine_tick(d->en, dp_now(d));
	for (struct client *c = d->clients; c; c = c->next)
		if (c->following)
			follow_push(c);
}

static int start_traffic(struct daemon *d, const char *profile, struct err *e)
{
	if (tgen_profile_load(profile, &d->prof, e) < 0)
		return -1;
	struct netsim_opts o = { .seed = 1, .en = d->en, .qos = d->qos, .live = true };
	d->ns = netsim_new(d->prof, &o);
	netsim_start(d->ns);
	conf_log("system,info", "traffic profile %s flowing", profile);
	return 0;
}

/* ---- console socket ---- */

static void client_close(struct daemon *d, struct client *c)
{
	for (struct client **pp = &d->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	loop_unwatch(d->loop, c->fd);
	close(c->fd);
	mgmt_active_remove(c->active);
	conf_session_free(&c->s);
	sbuf_free(&c->in);
	sbuf_free(&c->outq);
	free(c);
}

static void client_io(struct loop *l, int fd, short revents, void *ctx);

static void queue_reply(struct client *c, bool ok)
{
	/* print stats must see live counters */
	sbuf_puts(&c->outq, sbuf_str(&c->s.warn));
	sbuf_puts(&c->outq, sbuf_str(&c->s.out));
	sbuf_reset(&c->s.warn);
	sbuf_reset(&c->s.out);
	sbuf_putc(&c->outq, '\0');
	sbuf_putc(&c->outq, ok ? '0' : '1');
	sbuf_puts(&c->outq, c->s.path);
	if (conf_in_safe_mode(&c->s))
		sbuf_puts(&c->outq, "\tsafe");
	sbuf_putc(&c->outq, '\n');
	loop_watch(c->d->loop, c->fd, POLLIN | POLLOUT, client_io, c);
}

/* print follow: the log lines since the client's last, queued; a client
 * that does not read loses lines rather than growing the queue for ever */
#define FOLLOW_MAX_QUEUED (1u << 20)

static void follow_push(struct client *c)
{
	struct conf_log_entry le[64];
	if (c->outq.len > FOLLOW_MAX_QUEUED) {
		conf_log_since(UINT64_MAX, le, 0, &c->log_seq);
		return;
	}
	size_t before = c->outq.len, n;
	while ((n = conf_log_since(c->log_seq, le, 64, &c->log_seq)) > 0)
		for (size_t i = 0; i < n; i++) {
			char t[64];
			conf_format_time(le[i].at, t, sizeof(t));
			const char *sp = strchr(t, ' ');
			sbuf_printf(&c->outq, "%s %s %s\n", sp ? sp + 1 : t, le[i].topics,
				    le[i].message);
		}
	if (c->outq.len != before)
		loop_watch(c->d->loop, c->fd, POLLIN | POLLOUT, client_io, c);
}

static void follow_start(struct client *c, const char *menu)
{
	if (*menu && strcmp(menu, "/log")) {
		sbuf_printf(&c->s.out, "failure: only /log can be followed, not '%.40s'\n", menu);
		queue_reply(c, false);
		return;
	}
	c->following = true;
	c->log_seq = 0;
	follow_push(c);
}

static void follow_end(struct client *c)
{
	follow_push(c);
	c->following = false;
	queue_reply(c, true);
}

static void run_request(struct client *c, char kind, const char *text)
{
	struct err e;
	err_clear(&e);
	daemon_refresh_stats(c->d);
	int rc;
	if (kind == 'S') {
		struct sbuf report = SBUF_INIT;
		rc = conf_import(&c->s, text, "console", CONF_LENIENT, &report, &e);
		const char *p = sbuf_str(&report);
		bool failed = rc < 0;
		while (*p) {
			const char *nl = strchr(p, '\n');
			size_t len = nl ? (size_t)(nl - p + 1) : strlen(p);
			const char *sk = strstr(p, "skipped: ");
			if (sk && sk < p + len) {
				sbuf_printf(&c->s.out, "failure: %.*s", (int)len, p);
				failed = true;
			}
			p += len;
		}
		sbuf_free(&report);
		rc = failed ? -1 : 0;
	} else if (kind == 'X') {
		static const char *const ops[] = { "", "take", "release", "unroll" };
		static const enum conf_safe_op op[] = { CONF_SAFE_TOGGLE, CONF_SAFE_TAKE,
							CONF_SAFE_RELEASE, CONF_SAFE_UNROLL };
		rc = err_set(&e, "safe mode: expected take, release or unroll, not '%.40s'", text);
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (!strcmp(text, ops[i])) {
				err_clear(&e);
				rc = conf_safe_mode(&c->s, op[i], &e);
			}
	} else {
		struct sbuf ret = SBUF_INIT;
		rc = conf_exec(&c->s, text, &ret, &e);
		sbuf_free(&ret);
	}
	if (rc < 0 && e.msg[0]) {
		struct sbuf m = SBUF_INIT;
		err_format(&e, &m);
		sbuf_printf(&c->s.out, "failure: %s\n", sbuf_str(&m));
		sbuf_free(&m);
	}
	queue_reply(c, rc == 0);
}

static void client_io(struct loop *l, int fd, short revents, void *ctx)
{
	struct client *c = ctx;
	if (revents & POLLOUT) {
		ssize_t w = write(fd, c->outq.s, c->outq.len);
		if (w < 0 && errno != EAGAIN) {
			client_close(c->d, c);
			return;
		}
		if (w > 0) {
			memmove(c->outq.s, c->outq.s + w, c->outq.len - (size_t)w);
			sbuf_truncate(&c->outq, c->outq.len - (size_t)w);
		}
		if (!c->outq.len)
			loop_watch(l, fd, POLLIN, client_io, c);
	}
	if (!(revents & (POLLIN | POLLHUP | POLLERR)))
		return;
	char buf[65536];
	ssize_t r = read(fd, buf, sizeof(buf));
	if (r <= 0) {
		if (r < 0 && errno == EAGAIN)
			return;
		client_close(c->d, c);
		return;
	}
	sbuf_add(&c->in, buf, (size_t)r);
	if (c->in.len > MAX_REQ) {
		client_close(c->d, c);
		return;
	}
	/* complete requests: 'C'...'\n' or 'S'...'\0' */
	for (;;) {
		if (!c->in.len)
			break;
		if (c->following) {
			/* anything from the client ends print follow; Ctrl-C only that */
			follow_end(c);
			if (c->in.s[0] == 0x03) {
				memmove(c->in.s, c->in.s + 1, c->in.len - 1);
				sbuf_truncate(&c->in, c->in.len - 1);
			}
			continue;
		}
		char kind = c->in.s[0];
		char term = kind == 'S' ? '\0' : '\n';
		char *end = memchr(c->in.s, term, c->in.len);
		if (!end)
			break;
		size_t len = (size_t)(end - c->in.s);
		char *text = xstrndup(c->in.s + 1, len - 1);
		memmove(c->in.s, end + 1, c->in.len - len - 1);
		sbuf_truncate(&c->in, c->in.len - len - 1);
		if (kind == 'C' || kind == 'S' || kind == 'X')
			run_request(c, kind, text);
		else if (kind == 'F')
			follow_start(c, text);
		else
			queue_reply(c, false);
		free(text);
		if (c->s.quit) {
			client_close(c->d, c);
			return;
		}
	}
}

static void accept_client(struct loop *l, int fd, short revents, void *ctx)
{
	(void)revents;
	struct daemon *d = ctx;
	int cfd = accept(fd, NULL, NULL);
	if (cfd < 0)
		return;
	fcntl(cfd, F_SETFL, O_NONBLOCK);
	struct client *c = xcalloc(1, sizeof(*c));
	c->fd = cfd;
	c->d = d;
	c->next = d->clients;
	d->clients = c;
	/* the socket's permissions (0600) make it a local administrator's console */
	daemon_session_init(d, &c->s, "admin", POL_ALL);
	c->active = mgmt_active_add("admin", "console", NULL);
	mgmt_user_logged_in(d->st, "admin");
	conf_log("system,info,account", "user admin logged in via console");
	loop_watch(l, cfd, POLLIN, client_io, c);
	queue_reply(c, true); /* greeting: the prompt path */
}

static int console_socket(struct daemon *d, struct err *e)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(d->sock_path) >= sizeof(sa.sun_path))
		return err_set(e, "socket path too long: %s", d->sock_path);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", d->sock_path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return err_set(e, "socket: %s", strerror(errno));
	/* a stale socket of a daemon that died: replace it; a live one: refuse */
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		close(fd);
		return err_set(e, "another rosfw is running on %s", d->sock_path);
	}
	unlink(d->sock_path);
	mode_t old = umask(0077);
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 16) < 0) {
		close(fd);
		return err_set(e, "cannot listen on %s: %s", d->sock_path, strerror(errno));
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	d->sock = fd;
	loop_watch(d->loop, fd, POLLIN, accept_client, d);
	return 0;
}

/* ---- start ---- */

static int first_start(struct daemon *d, const char *password, struct conf_session *s,
		       struct err *e)
{
	char pw[32];
	if (!password) {
		static const char alphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
		if (sodium_init() < 0)
			return err_set(e, "libsodium failed to start");
		for (int i = 0; i < 16; i++)
			pw[i] = alphabet[randombytes_uniform(sizeof(alphabet) - 1)];
		pw[16] = 0;
		password = pw;
		printf("rosfw: new configuration; user admin, password %s (shown once)\n", pw);
		fflush(stdout);
	}
	struct sbuf cmd = SBUF_INIT;
	sbuf_puts(&cmd, "/user set admin password=");
	conf_quote(password, true, &cmd);
	int rc = conf_exec(s, sbuf_str(&cmd), NULL, e);
	sbuf_free(&cmd);
	(void)d;
	return rc;
}

int daemon_main(const struct daemon_opts *o)
{
	struct daemon *d = xcalloc(1, sizeof(*d));
	struct err e;
	err_clear(&e);
	int rc = 1;
	d->sock = -1;
	d->loop = loop_new();
	d->ct_max_entries = o->ct_max_entries;
	d->start_ns = mono_ns();
	const char *db = o->db ? o->db : "var/rosfw.db";
	char dir[256];
	snprintf(dir, sizeof(dir), "%s", db);
	char *sl = strrchr(dir, '/');
	if (sl) {
		*sl = 0;
		mkdir(dir, 0755);
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	if (o->files_dir)
		snprintf(d->files_dir, sizeof(d->files_dir), "%s", o->files_dir);
	else
		snprintf(d->files_dir, sizeof(d->files_dir), "%s/files", dir);
	if (o->socket)
		snprintf(d->sock_path, sizeof(d->sock_path), "%s", o->socket);
	else
		snprintf(d->sock_path, sizeof(d->sock_path), "%s/rosfw.sock", dir);
	if (store_open(&d->st, db, &e) < 0)
		goto out;
	struct conf_session s;
	daemon_session_init(d, &s, "system", POL_ALL);
	if (store_is_new(d->st)) {
		if (conf_store_init(&s, true, &e) < 0 || first_start(d, o->admin_password, &s, &e) < 0) {
			conf_session_free(&s);
			goto out;
		}
	} else if (o->admin_password) {
		if (first_start(d, o->admin_password, &s, &e) < 0) {
			conf_session_free(&s);
			goto out;
		}
	}
	conf_session_free(&s);
	conf_runtime_started();
	conf_set_provider("/user/active", mgmt_active_items, NULL);
	d->en = engine_new();
	store_subscribe(d->st, on_commit, d);
	recompile(d);
	if (o->nifaces) {
		if (o->traffic) {
			err_set(&e, "--traffic (virtual interfaces) and --iface cannot run together");
			goto out;
		}
		d->dp = dataplane_new(d->loop, d->en, o->ifaces, o->nifaces, &e);
		if (!d->dp)
			goto out;
		dataplane_set_clock(d->dp, dp_clock, d);
		dataplane_set_qos(d->dp, d->qos);
	}
	if (console_socket(d, &e) < 0)
		goto out;
	if (!o->no_services) {
		d->api = api_server_start(d, &e);
		if (!d->api)
			fprintf(stderr, "rosfw: api: %s\n", e.msg);
		err_clear(&e);
		d->rest = rest_server_start(d, &e);
		if (!d->rest)
			fprintf(stderr, "rosfw: rest: %s\n", e.msg);
		err_clear(&e);
	}
	if (o->traffic && start_traffic(d, o->traffic, &e) < 0)
		goto out;
	loop_timer(d->loop, 10, 10, tick, d);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	conf_log("system,info", "router started");
	printf("rosfw: running; console: rosfw console --socket %s\n", d->sock_path);
	fflush(stdout);
	loop_run(d->loop, &stop_flag);
	conf_log("system,info", "router stopping");
	/* a session still in safe mode ends with the router: its changes go
	 * while the fronts that hear of changes are still up */
	store_safe_unroll(d->st, store_safe_holder(d->st, NULL), NULL);
	rc = 0;
out:
	if (rc && e.msg[0])
		fprintf(stderr, "rosfw run: %s\n", e.msg);
	if (d->api)
		api_server_stop(d->api);
	if (d->rest)
		rest_server_stop(d->rest);
	while (d->clients)
		client_close(d, d->clients);
	if (d->sock >= 0) {
		close(d->sock);
		unlink(d->sock_path);
	}
	dataplane_free(d->dp);
	netsim_free(d->ns);
	tgen_profile_free(d->prof);
	qos_free(d->qos);
	engine_free(d->en);
	store_close(d->st);
	loop_free(d->loop);
	free(d->ls);
	free(d);
	return rc;
}
