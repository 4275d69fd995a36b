/*
 * rosfw run: the store, the engine and the queues, recompiled after every
 * committed change, and the console socket. The console protocol is a line
 * per request and a framed reply:
 *   request:  'C' command line '\n'    run one line (console semantics)
 *             'S' script ... '\0'      run a whole script leniently (stdin)
 *             'X' word '\n'            safe mode: take, release, unroll, or
 *                                      nothing to toggle it (Ctrl-X)
 *             'F' menu '\n'            print follow of a menu ("/log" when
 *                                      empty), as 'C' "MENU print follow"
 *             'W' columns '\n'         the client's terminal width: plain print
 *                                      fits it (0, the default: no limit)
 *   A 'C' line that runs print follow or follow-only streams: its output
 *   (nothing for follow-only), then, as the menu changes, the lines of the
 *   print that are new or changed (the log's new lines; changed items of a
 *   configuration menu; runtime tables and counters every second), until
 *   the client sends anything: a Ctrl-C byte (0x03) is taken as the end,
 *   anything else is its next request; then the reply's frame ends as for
 *   any request.
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
#include "sched.h"

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
	/* print follow: the lines shown so far (hashes, sorted), and when to
	 * print again */
	bool following;
	bool follow_due;
	bool closing; /* /quit: closed once its reply is out */
	uint64_t *seen;
	size_t nseen;
	uint64_t log_seq, follow_at_ms;
	struct client *next;
};

struct daemon {
	struct loop *loop;
	struct store *st;
	struct engine *en;
	struct qos *qos;
	bool dirty;
	bool qos_dirty; /* a menu the queues are built from changed */
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
	struct mgmt_pool *logins;
	uint64_t expired_ms;
	uint32_t ct_max_entries; /* --ct-max-entries, 0: the default */
	struct sched *sched;      /* /system scheduler */
	int64_t sched_at;         /* the wall second it last looked */
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

struct mgmt_pool *daemon_login_pool(struct daemon *d)
{
	return d->logins;
}

static void logins_done(struct loop *l, int fd, short revents, void *ctx)
{
	(void)l;
	(void)fd;
	(void)revents;
	mgmt_pool_run(ctx);
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
	d->qos_dirty |= qos_reads(changed, nwords);
	d->last_change_ms = now;
	for (struct client *c = d->clients; c; c = c->next) {
		const struct menu *m = c->following ? schema_find(c->s.follow_path) : NULL;
		size_t k = m ? schema_index(m) : 0;
		if (m && k / 64 < nwords && (changed[k / 64] >> (k % 64)) & 1)
			c->follow_due = true;
	}
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
	if (d->dp)
		dataplane_load(d->dp, d->st);
	if (d->ct_max_entries) {
		struct ct_config c = *ct_get_config(engine_ct(d->en));
		c.max_entries = d->ct_max_entries;
		ct_set_config(engine_ct(d->en), &c);
	}
	/* The queues are built again only when what they are built from
	 * changed (a firewall rule added under load leaves them alone). */
	if (d->qos && !d->qos_dirty)
		return;
	char msg[256] = "";
	uint64_t now = d->ns ? netsim_now(d->ns) : dp_now(d);
	/* the same queues with new parameters go into the running ones, which
	 * keep their packets; the traffic is kicked for the new rates */
	struct qos *q = qos_apply(d->qos, d->st, now, msg, sizeof(msg));
	if (!q) {
		conf_log("queue,error", "queues not applied: %s", msg);
		return;
	}
	d->qos_dirty = false;
	/* the traffic hands over to new queues first (the old ones are empty
	 * now), then the old ones go */
	if (d->ns)
		netsim_set_router(d->ns, d->en, q);
	if (d->dp)
		dataplane_set_qos(d->dp, q);
	if (d->qos != q)
		qos_free(d->qos);
	d->qos = q;
}

/* reset-counters of /queue tree and /queue simple: the counters are the
 * running queues'. */
static void reset_queue(void *ctx, const struct menu *m, uint32_t id)
{
	struct daemon *d = ctx;
	qos_reset_counters(d->qos, id);
}

/*
 * /ip firewall connection tracking as it runs: the stored settings, with
 * the table's size in force (--ct-max-entries or the engine's default; the
 * store has no say in it) and the entries tracked now.
 */
static int ct_tracking_items(void *ctx, struct conf_session *s, const struct menu *m,
			     struct item ***items, size_t *n)
{
	struct ct_table *ct = engine_ct(ctx);
	struct item *it = store_count(s->st, m) ? item_dup(m, store_at(s->st, m, 0)) : item_new(m);
	char buf[24];
	snprintf(buf, sizeof(buf), "%u", ct_get_config(ct)->max_entries);
	item_set(m, it, schema_prop(m, "max-entries", NULL), buf);
	snprintf(buf, sizeof(buf), "%zu", ct_count(ct));
	item_set(m, it, schema_prop(m, "total-entries", NULL), buf);
	*items = xmalloc(sizeof(**items));
	(*items)[0] = it;
	*n = 1;
	return 0;
}

void daemon_refresh_stats(struct daemon *d)
{
	engine_export_counters(d->en, d->st);
	if (d->qos)
		qos_export_stats(d->qos, d->st);
}

static void follow_tick(struct client *c, uint64_t now);

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
			follow_tick(c, now);
	if (now - d->expired_ms >= 1000) {
		d->expired_ms = now;
		mgmt_active_expire(); /* REST clients gone quiet log out */
	}
	int64_t wall = (int64_t)time(NULL);
	if (wall != d->sched_at) {
		d->sched_at = wall;
		sched_tick(d->sched, d, wall);
	}
}

/* The simulated network's counters on the interfaces it moves packets
 * through, as the live dataplane decorates the ones it owns. */
static void sim_decorate(void *ctx, const struct menu *m, struct item *it, const char *name,
			 bool disabled)
{
	(void)disabled;
	struct daemon *d = ctx;
	struct conf_if_stats c;
	if (d->ns && netsim_if_stats(d->ns, name, &c) == 0)
		conf_iface_put_stats(m, it, &c);
}

static int sim_interfaces(void *ctx, struct conf_session *s, const struct menu *m,
			  struct item ***items, size_t *n)
{
	return conf_interface_items(s, m, sim_decorate, ctx, items, n);
}

/* log=yes and action=log: RouterOS's default logging puts firewall,info
 * lines in the memory log that /log print shows. */
static void firewall_log(void *ctx, const char *line)
{
	(void)ctx;
	conf_log("firewall,info", "%s", line);
}

static int start_traffic(struct daemon *d, const char *profile, struct err *e)
{
	if (tgen_profile_load(profile, &d->prof, e) < 0)
		return -1;
	struct netsim_opts o = { .seed = 1, .en = d->en, .qos = d->qos, .live = true };
	d->ns = netsim_new(d->prof, &o);
	netsim_start(d->ns);
	conf_set_provider("/interface", sim_interfaces, d);
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
	free(c->seen);
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

/* ---- print follow ----
 * The print is run again when its menu may have changed (a commit touching
 * it, a new log line; runtime menus every second) and the items not shown
 * before are sent: a multiset difference of the records (an item's lines),
 * the leading item number left out so that numbers shifting (the log ring
 * turning over) show nothing. /log goes by the lines' ids instead (their
 * time reads differently once the day has changed). A client that does
 * not read loses lines rather than growing the queue for ever. */
#define FOLLOW_MAX_QUEUED (1u << 20)
#define FOLLOW_MIN_MS 100u
#define FOLLOW_RUNTIME_MS 1000u

/* A record's hash, its leading item number left out. */
static uint64_t record_hash(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && p[i] == ' ')
		i++;
	while (i < n && p[i] >= '0' && p[i] <= '9')
		i++;
	uint64_t h = 0xcbf29ce484222325ull;
	for (; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

/* A print line that starts an item: spaces, its number. */
static bool item_start(const char *p)
{
	while (*p == ' ')
		p++;
	return *p >= '0' && *p <= '9';
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Runs the followed print: its records (an item's lines) not among those
 * seen before (counting repeats) are appended to out when out is not NULL,
 * and its records become the ones seen. */
static void follow_run(struct client *c, struct sbuf *out)
{
	struct err e;
	err_clear(&e);
	daemon_refresh_stats(c->d);
	struct sbuf saved = c->s.out;
	c->s.out = (struct sbuf)SBUF_INIT;
	int rc = cmd_run(&c->s, c->s.follow_path, "print", c->s.follow_args, NULL, &e);
	struct sbuf text = c->s.out;
	c->s.out = saved;
	sbuf_reset(&c->s.warn);
	if (rc < 0) {
		sbuf_free(&text);
		return;
	}
	if (!strcmp(c->s.follow_path, "/log")) {
		/* print showed the lines after log_after, each once */
		if (out)
			sbuf_puts(out, sbuf_str(&text));
		c->s.log_after = c->s.log_last;
		sbuf_free(&text);
		return;
	}
	size_t n = 0, cap = 64;
	uint64_t *hv = xmalloc(cap * sizeof(*hv));
	bool *used = xcalloc(c->nseen ? c->nseen : 1, sizeof(*used));
	for (const char *p = sbuf_str(&text); *p;) {
		/* one record: a line, and the lines that go on its item (indented,
		 * not starting with an item number; blank lines) */
		const char *q = p;
		do {
			const char *nl = strchr(q, '\n');
			q = nl ? nl + 1 : q + strlen(q);
		} while (*q && (*q == '\n' || (*q == ' ' && !item_start(q))));
		if (n == cap) {
			cap *= 2;
			hv = xrealloc(hv, cap * sizeof(*hv));
		}
		uint64_t h = hv[n++] = record_hash(p, (size_t)(q - p));
		size_t lo = 0, hi = c->nseen;
		while (lo < hi) { /* the first seen hash >= h */
			size_t mid = lo + (hi - lo) / 2;
			if (c->seen[mid] < h)
				lo = mid + 1;
			else
				hi = mid;
		}
		while (lo < c->nseen && c->seen[lo] == h && used[lo])
			lo++;
		if (lo < c->nseen && c->seen[lo] == h) {
			used[lo] = true;
		} else if (out) {
			sbuf_add(out, p, (size_t)(q - p));
			if (q[-1] != '\n')
				sbuf_putc(out, '\n');
		}
		p = q;
	}
	free(used);
	qsort(hv, n, sizeof(*hv), cmp_u64);
	free(c->seen);
	c->seen = hv;
	c->nseen = n;
	sbuf_free(&text);
}

static bool follow_periodic(const struct client *c)
{
	const struct menu *m = schema_find(c->s.follow_path);
	if (!m || (m->flags & MF_RUNTIME))
		return strcmp(c->s.follow_path, "/log") != 0;
	for (size_t i = 0; c->s.follow_args && i < c->s.follow_args->n; i++) {
		const struct conf_arg *a = &c->s.follow_args->a[i];
		if (!a->name && (!strcmp(a->value, "stats") || !strcmp(a->value, "stats-detail") ||
				 !strcmp(a->value, "rate")))
			return true;
	}
	return false;
}

static void follow_tick(struct client *c, uint64_t now)
{
	if (now - c->follow_at_ms < FOLLOW_MIN_MS)
		return;
	uint64_t seq;
	struct conf_log_entry none;
	conf_log_since(UINT64_MAX, &none, 0, &seq);
	if (!strcmp(c->s.follow_path, "/log") && seq != c->log_seq)
		c->follow_due = true;
	if (follow_periodic(c) && now - c->follow_at_ms >= FOLLOW_RUNTIME_MS)
		c->follow_due = true;
	if (!c->follow_due)
		return;
	c->follow_due = false;
	c->follow_at_ms = now;
	c->log_seq = seq;
	size_t before = c->outq.len;
	if (c->outq.len > FOLLOW_MAX_QUEUED) {
		follow_run(c, NULL);
		return;
	}
	follow_run(c, &c->outq);
	if (c->outq.len != before)
		loop_watch(c->d->loop, c->fd, POLLIN | POLLOUT, client_io, c);
}

/* After a command: a print follow in it starts the stream (its output so
 * far goes first, without the reply's frame). */
static bool follow_begin(struct client *c)
{
	if (!c->s.follow)
		return false;
	c->s.follow = 0;
	c->following = true;
	c->follow_due = false;
	c->follow_at_ms = loop_now_ms();
	struct conf_log_entry none;
	conf_log_since(UINT64_MAX, &none, 0, &c->log_seq);
	sbuf_puts(&c->outq, sbuf_str(&c->s.warn));
	sbuf_puts(&c->outq, sbuf_str(&c->s.out));
	sbuf_reset(&c->s.warn);
	sbuf_reset(&c->s.out);
	c->s.log_after = c->s.log_last; /* /log: the lines the print just showed */
	if (strcmp(c->s.follow_path, "/log"))
		follow_run(c, NULL);
	loop_watch(c->d->loop, c->fd, POLLIN | POLLOUT, client_io, c);
	return true;
}

static void follow_end(struct client *c)
{
	c->follow_due = true;
	c->follow_at_ms = 0;
	follow_tick(c, loop_now_ms());
	c->following = false;
	c->s.log_after = 0;
	free(c->seen);
	c->seen = NULL;
	c->nseen = 0;
	queue_reply(c, true);
}

/* 'W' columns: the width print fits its tables to on this connection. */
static void set_width(struct client *c, const char *text)
{
	char *end;
	long w = strtol(text, &end, 10);
	bool ok = end != text && !*end && w >= 0 && w <= 10000;
	if (ok)
		c->s.width = (int)w;
	else
		sbuf_printf(&c->s.out, "failure: terminal width: 0 to 10000, not '%.20s'\n", text);
	queue_reply(c, ok);
}

/* 'F' menu: print follow of that menu. */
static void follow_menu(struct client *c, const char *menu)
{
	struct err e;
	err_clear(&e);
	const char *path = *menu ? menu : "/log";
	const struct menu *m = schema_find(path);
	struct conf_args args = { 0 };
	conf_args_add(&args, NULL, "follow", 0, 0);
	int rc = m ? cmd_run(&c->s, path, "print", &args, NULL, &e)
		   : err_set(&e, "no such menu '%.60s'", menu);
	conf_args_free(&args);
	if (rc == 0 && follow_begin(c))
		return;
	sbuf_printf(&c->s.out, "failure: %s\n", e.msg[0] ? e.msg : "cannot follow");
	queue_reply(c, false);
}

static void run_request(struct client *c, char kind, const char *text)
{
	struct err e;
	err_clear(&e);
	daemon_refresh_stats(c->d);
	int rc;
	if (kind == 'S') {
		/* each failing statement's error follows its own output */
		rc = conf_import(&c->s, text, "console", CONF_LENIENT | CONF_INLINE, NULL, &e);
		if (rc > 0) {
			rc = -1;
			err_clear(&e);
		}
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
		c->s.follow = 0;
		rc = conf_exec(&c->s, text, &ret, &e);
		sbuf_free(&ret);
		if (rc == 0 && follow_begin(c))
			return;
	}
	c->s.follow = 0; /* a script's print follow prints once */
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
		if (!c->outq.len && c->closing) {
			client_close(c->d, c);
			return;
		}
		if (!c->outq.len)
			loop_watch(l, fd, POLLIN, client_io, c);
	}
	if (c->closing || !(revents & (POLLIN | POLLHUP | POLLERR)))
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
			/* anything from the client ends print follow */
			follow_end(c);
			continue;
		}
		if (c->in.s[0] == 0x03) {
			/* Ctrl-C: it ended a stream, or came after the command ended */
			memmove(c->in.s, c->in.s + 1, c->in.len - 1);
			sbuf_truncate(&c->in, c->in.len - 1);
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
			follow_menu(c, text);
		else if (kind == 'W')
			set_width(c, text);
		else
			queue_reply(c, false);
		free(text);
		if (c->s.quit) {
			/* what the script printed before /quit goes out first */
			c->closing = true;
			loop_watch(c->d->loop, c->fd, POLLOUT, client_io, c);
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
	if (store_open(&d->st, db, &e) < 0 || store_claim(d->st, &e) < 0)
		goto out;
	if (store_recovered(d->st))
		conf_log("system,error,critical", "%s", store_recovered(d->st));
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
	conf_set_reset_hook("/queue/tree", reset_queue, d);
	conf_set_reset_hook("/queue/simple", reset_queue, d);
	d->en = engine_new();
	rs_state_set_log(engine_rule_state(d->en), firewall_log, NULL);
	conf_set_provider("/ip/firewall/connection/tracking", ct_tracking_items, d->en);
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
		dataplane_load(d->dp, d->st);
		dataplane_set_qos(d->dp, d->qos);
	}
	if (console_socket(d, &e) < 0)
		goto out;
	/* two threads: the machine's cores; a login waits its turn, the loop
	 * does not */
	d->logins = mgmt_pool_new(2);
	if (!d->logins) {
		err_set(&e, "cannot start the login threads");
		goto out;
	}
	loop_watch(d->loop, mgmt_pool_fd(d->logins), POLLIN, logins_done, d->logins);
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
	d->sched = sched_new((int64_t)time(NULL));
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
	mgmt_pool_free(d->logins);
	if (d->sock >= 0) {
		close(d->sock);
		unlink(d->sock_path);
	}
	dataplane_free(d->dp);
	if (d->ns)
		conf_set_provider("/interface", NULL, NULL);
	netsim_free(d->ns);
	tgen_profile_free(d->prof);
	conf_set_reset_hook("/queue/tree", NULL, NULL);
	conf_set_reset_hook("/queue/simple", NULL, NULL);
	conf_set_provider("/ip/firewall/connection/tracking", NULL, NULL);
	conf_set_provider("/user/active", NULL, NULL);
	qos_free(d->qos);
	engine_free(d->en);
	sched_free(d->sched);
	store_close(d->st);
	loop_free(d->loop);
	free(d->ls);
	free(d);
	return rc;
}
