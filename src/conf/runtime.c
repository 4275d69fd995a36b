/*
 * Runtime menus: items that are not configuration but state (/interface as
 * the union of every interface kind, /file, /log, /system/resource, the
 * store's /system/history, and the connection table that the packet engine
 * provides). print, find and get read them through the same code as stored
 * menus; a provider builds a temporary list of items on demand. Other
 * modules register providers for what they own (conf_set_provider); the
 * ones here need nothing else.
 * The log ring is process-wide and guarded by a mutex: any thread may log.
 */
#include "conf.h"
#include "runtime.h"

#include <ctype.h>
#include <dirent.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define LOG_RING 1000

static struct conf_log_entry ring[LOG_RING];
static size_t ring_head, ring_n;
static uint64_t ring_seq; /* lines ever logged */
static pthread_mutex_t ring_lock = PTHREAD_MUTEX_INITIALIZER;
static time_t started;
static int64_t (*_Atomic log_clock)(void);

void conf_set_log_clock(int64_t (*now)(void))
{
	log_clock = now;
}

static int64_t log_now(void)
{
	int64_t (*now)(void) = log_clock;
	return now ? now() : (int64_t)time(NULL);
}

void conf_log(const char *topics, const char *fmt, ...)
{
	struct conf_log_entry le;
	le.at = log_now();
	snprintf(le.topics, sizeof(le.topics), "%s", topics);
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(le.message, sizeof(le.message), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&ring_lock);
	ring[(ring_head + ring_n) % LOG_RING] = le;
	if (ring_n < LOG_RING)
		ring_n++;
	else
		ring_head = (ring_head + 1) % LOG_RING;
	ring_seq++;
	pthread_mutex_unlock(&ring_lock);
}

size_t conf_log_since(uint64_t seq, struct conf_log_entry *out, size_t max, uint64_t *next)
{
	pthread_mutex_lock(&ring_lock);
	uint64_t oldest = ring_seq - ring_n; /* seq of ring[ring_head] */
	if (seq < oldest)
		seq = oldest;
	if (seq > ring_seq)
		seq = ring_seq;
	size_t n = (size_t)(ring_seq - seq);
	if (n > max)
		n = max;
	size_t first = (size_t)(seq - oldest);
	for (size_t i = 0; i < n; i++)
		out[i] = ring[(ring_head + first + i) % LOG_RING];
	*next = seq + n;
	pthread_mutex_unlock(&ring_lock);
	return n;
}

size_t conf_log_snapshot(struct conf_log_entry *out, size_t max)
{
	pthread_mutex_lock(&ring_lock);
	size_t n = ring_n < max ? ring_n : max;
	size_t skip = ring_n - n;
	for (size_t i = 0; i < n; i++)
		out[i] = ring[(ring_head + skip + i) % LOG_RING];
	pthread_mutex_unlock(&ring_lock);
	return n;
}

/* ---- providers ---- */

/* What other modules own of a menu: its items (runtime menus), the reset of
 * its counters. */
struct provider {
	const char *path;
	conf_provider_fn fn;
	void *ctx;
	conf_reset_fn reset;
	void *reset_ctx;
	conf_remove_fn remove;
	void *remove_ctx;
};

static int clock_items(void *ctx, struct conf_session *s, const struct menu *m,
		       struct item ***items, size_t *n);

/* the clock's time is the machine's: nothing else to ask */
static struct provider providers[16] = { { .path = "/system/clock", .fn = clock_items } };
static size_t nproviders = 1;

static struct provider *provider_slot(const char *path)
{
	for (size_t i = 0; i < nproviders; i++)
		if (!strcmp(providers[i].path, path))
			return &providers[i];
	if (nproviders == sizeof(providers) / sizeof(providers[0]))
		return NULL;
	providers[nproviders] = (struct provider){ .path = path };
	return &providers[nproviders++];
}

void conf_set_provider(const char *path, conf_provider_fn fn, void *ctx)
{
	struct provider *p = provider_slot(path);
	if (p) {
		p->fn = fn;
		p->ctx = ctx;
	}
}

bool conf_runtime_provided(const struct menu *m)
{
	for (size_t i = 0; i < nproviders; i++)
		if (providers[i].fn && !strcmp(providers[i].path, m->path))
			return true;
	return false;
}

void conf_set_reset_hook(const char *path, conf_reset_fn fn, void *ctx)
{
	struct provider *p = provider_slot(path);
	if (p) {
		p->reset = fn;
		p->reset_ctx = ctx;
	}
}

void conf_drop_ctx(const void *ctx)
{
	if (!ctx)
		return; /* the ones registered without an owner stay */
	for (size_t i = 0; i < nproviders; i++) {
		if (providers[i].ctx == ctx) {
			providers[i].fn = NULL;
			providers[i].ctx = NULL;
		}
		if (providers[i].reset_ctx == ctx) {
			providers[i].reset = NULL;
			providers[i].reset_ctx = NULL;
		}
		if (providers[i].remove_ctx == ctx) {
			providers[i].remove = NULL;
			providers[i].remove_ctx = NULL;
		}
	}
}

void conf_reset_hook_run(const struct menu *m, uint32_t id)
{
	for (size_t i = 0; i < nproviders; i++)
		if (providers[i].reset && !strcmp(providers[i].path, m->path))
			providers[i].reset(providers[i].reset_ctx, m, id);
}

void conf_set_remove_hook(const char *path, conf_remove_fn fn, void *ctx)
{
	struct provider *p = provider_slot(path);
	if (p) {
		p->remove = fn;
		p->remove_ctx = ctx;
	}
}

int conf_remove_hook_run(const struct menu *m, uint32_t id, struct err *e)
{
	for (size_t i = 0; i < nproviders; i++)
		if (providers[i].remove && !strcmp(providers[i].path, m->path))
			return providers[i].remove(providers[i].remove_ctx, m, id, e);
	return err_set(e, "failure: dynamic items of %s cannot be removed here", m->path);
}

struct list {
	struct item **items;
	size_t n;
	const struct menu *m;
};

static struct item *list_new(struct list *l, uint32_t id)
{
	struct item *it = item_new(l->m);
	it->id = id;
	l->items = xrealloc(l->items, (l->n + 1) * sizeof(*l->items));
	l->items[l->n++] = it;
	return it;
}

static void put(struct list *l, struct item *it, const char *name, const char *v)
{
	int pi = schema_prop(l->m, name, NULL);
	if (pi >= 0 && v)
		item_set(l->m, it, pi, v);
}

static void fmt_tm(const struct tm *tm, char *buf, size_t n)
{
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };
	snprintf(buf, n, "%s/%02d/%04d %02d:%02d:%02d", mon[tm->tm_mon], tm->tm_mday,
		 tm->tm_year + 1900, tm->tm_hour, tm->tm_min, tm->tm_sec);
}

static void fmt_time(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	localtime_r(&tt, &tm);
	fmt_tm(&tm, buf, n);
}

void conf_format_time(int64_t t, char *buf, size_t n)
{
	fmt_time(t, buf, n);
}

int conf_interface_items(struct conf_session *s, const struct menu *view,
			 conf_iface_decorate_fn decorate, void *ctx, struct item ***items,
			 size_t *n)
{
	struct list l = { NULL, 0, view };
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (strncmp(m->path, "/interface/", 11) || !m->key || (m->flags & MF_RUNTIME) ||
		    strchr(m->path + 11, '/') || !strcmp(m->path, "/interface/list"))
			continue;
		const char *kind = m->path + 11;
		const char *type = !strcmp(kind, "ethernet") ? "ether"
				   : !strcmp(kind, "wireless") ? "wlan" : kind;
		for (size_t k = 0; k < store_count(s->st, m); k++) {
			const struct item *src = store_at(s->st, m, k);
			struct item *it = list_new(&l, src->id);
			const char *name = item_get(m, src, "name");
			const char *dis = item_get(m, src, "disabled");
			bool disabled = dis && !strcmp(dis, "yes");
			put(&l, it, "name", name);
			put(&l, it, "type", type);
			put(&l, it, "mtu", item_get(m, src, "mtu"));
			put(&l, it, "actual-mtu", item_get(m, src, "mtu"));
			put(&l, it, "mac-address", item_get(m, src, "mac-address"));
			put(&l, it, "disabled", dis);
			put(&l, it, "comment", item_get(m, src, "comment"));
			put(&l, it, "running", disabled ? "no" : "yes");
			if (decorate && name)
				decorate(ctx, view, it, name, disabled);
		}
	}
	*items = l.items;
	*n = l.n;
	return 0;
}

void conf_iface_put_stats(const struct menu *view, struct item *it, const struct conf_if_stats *c)
{
	const struct {
		const char *name;
		uint64_t v;
	} t[] = {
		{ "rx-byte", c->rx_bytes },	  { "tx-byte", c->tx_bytes },
		{ "rx-packet", c->rx_packets },	  { "tx-packet", c->tx_packets },
		{ "rx-drop", c->rx_drops },	  { "tx-drop", c->tx_drops },
		{ "tx-queue-drop", c->tx_queue_drops }, { "rx-error", c->rx_errors },
		{ "tx-error", c->tx_errors },
	};
	struct list l = { NULL, 0, view };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[24];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)t[i].v);
		put(&l, it, t[i].name, buf);
	}
}

static void files(struct conf_session *s, struct list *l)
{
	DIR *d = opendir(s->files_dir);
	if (!d)
		return;
	struct dirent *de;
	uint32_t id = 1;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char path[600], buf[64];
		snprintf(path, sizeof(path), "%s/%s", s->files_dir, de->d_name);
		struct stat sb;
		if (stat(path, &sb) != 0)
			continue;
		struct item *it = list_new(l, id++);
		put(l, it, "name", de->d_name);
		const char *dot = strrchr(de->d_name, '.');
		put(l, it, "type", S_ISDIR(sb.st_mode) ? "directory"
				   : dot && !strcmp(dot, ".rsc") ? "script"
				   : dot && !strcmp(dot, ".txt") ? ".txt file" : "file");
		snprintf(buf, sizeof(buf), "%lld", (long long)sb.st_size);
		put(l, it, "size", buf);
		fmt_time((int64_t)sb.st_mtime, buf, sizeof(buf));
		put(l, it, "creation-time", buf);
	}
	closedir(d);
}

void conf_format_log_time(int64_t t, int64_t now_s, char *buf, size_t n)
{
	struct tm a, b;
	time_t tt = (time_t)t, now = (time_t)now_s;
	localtime_r(&tt, &a);
	localtime_r(&now, &b);
	fmt_time(t, buf, n);
	char *sp = strchr(buf, ' ');
	if (!sp)
		return;
	if (a.tm_year == b.tm_year && a.tm_yday == b.tm_yday)
		memmove(buf, sp + 1, strlen(sp + 1) + 1);
	else if (a.tm_year == b.tm_year)
		memmove(buf + 6, sp, strlen(sp) + 1); /* "nov/26/2026 x" -> "nov/26 x" */
}

static void logs(struct list *l)
{
	static struct conf_log_entry snap[LOG_RING];
	uint64_t next;
	size_t n = conf_log_since(0, snap, LOG_RING, &next);
	int64_t now = log_now();
	for (size_t i = 0; i < n; i++) {
		char buf[64];
		/* ids follow the lines (the API's listen tells new ones by them) */
		struct item *it = list_new(l, (uint32_t)(next - n + i + 1));
		conf_format_log_time(snap[i].at, now, buf, sizeof(buf));
		put(l, it, "time", buf);
		put(l, it, "topics", snap[i].topics);
		put(l, it, "message", snap[i].message);
	}
}

static void resource(struct list *l)
{
	struct item *it = list_new(l, 1);
	char buf[64];
	struct sysinfo si;
	if (!started)
		started = time(NULL);
	struct sbuf up = SBUF_INIT;
	format_time_ms((uint64_t)(time(NULL) - started) * 1000, &up);
	put(l, it, "uptime", sbuf_str(&up));
	sbuf_free(&up);
	put(l, it, "version", ROSFW_ROS_VERSION);
	put(l, it, "build-time", __DATE__ " " __TIME__);
	struct utsname un;
	const char *arch = uname(&un) == 0 ? un.machine : "unknown";
	put(l, it, "architecture-name", arch);
	put(l, it, "board-name", "rosfw");
	put(l, it, "platform", "rosfw");
	put(l, it, "cpu", arch);
	snprintf(buf, sizeof(buf), "%ld", sysconf(_SC_NPROCESSORS_ONLN));
	put(l, it, "cpu-count", buf);
	/* the router's own CPU use since the previous look (since the start the
	 * first time), as a share of the machine */
	static double last_wall, last_cpu;
	struct timespec wt, ct;
	clock_gettime(CLOCK_MONOTONIC, &wt);
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ct);
	double wall = (double)wt.tv_sec + (double)wt.tv_nsec / 1e9;
	double cpu = (double)ct.tv_sec + (double)ct.tv_nsec / 1e9;
	if (last_wall == 0)
		last_wall = wall - (double)(time(NULL) - started);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double span = wall - last_wall;
	double load = span > 0 ? 100.0 * (cpu - last_cpu) / span / (double)(ncpu > 0 ? ncpu : 1) : 0;
	last_wall = wall;
	last_cpu = cpu;
	snprintf(buf, sizeof(buf), "%d%%", (int)(load + 0.5));
	put(l, it, "cpu-load", buf);
	if (sysinfo(&si) == 0) {
		snprintf(buf, sizeof(buf), "%lluMiB",
			 (unsigned long long)si.freeram * si.mem_unit / (1024 * 1024));
		put(l, it, "free-memory", buf);
		snprintf(buf, sizeof(buf), "%lluMiB",
			 (unsigned long long)si.totalram * si.mem_unit / (1024 * 1024));
		put(l, it, "total-memory", buf);
	}
}

#define TZ_DIR "/usr/share/zoneinfo"
#define TZ_FILE_MAX (64 * 1024)
#define TZ_COUNT_MAX 100000u

static uint64_t be_read(const unsigned char *p, int bytes)
{
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | p[i];
	return v;
}

/* A zone name as the tz database spells them: no way out of TZ_DIR. */
static bool tz_name_ok(const char *z)
{
	if (!*z || *z == '/' || strstr(z, "..") || strlen(z) > 200)
		return false;
	for (const char *c = z; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("/_+-", *c))
			return false;
	return true;
}

/* Reads the zone's TZif data (RFC 8536): the 64-bit block of a version 2+
 * file, else the 32-bit one. The local time type in force at t is the one
 * of the last transition at or before it, type 0 before the first (past the
 * last transition its type stays: tzdata's "fat" files list transitions to
 * 2037). */
static int tz_parse(const unsigned char *b, size_t n, int64_t t, long *off, bool *dst)
{
	size_t pos = 0;
	int tsize = 4;
	for (int pass = 0; pass < 2; pass++) {
		if (n - pos < 44 || memcmp(b + pos, "TZif", 4))
			return -1;
		uint32_t c[6]; /* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
		for (int i = 0; i < 6; i++) {
			c[i] = (uint32_t)be_read(b + pos + 20 + 4 * i, 4);
			if (c[i] > TZ_COUNT_MAX)
				return -1;
		}
		size_t times = pos + 44, idx = times + (size_t)c[3] * tsize;
		size_t types = idx + c[3];
		size_t end = types + (size_t)c[4] * 6 + c[5] + (size_t)c[2] * (tsize + 4) + c[1] +
			     c[0];
		if (end > n || c[4] == 0)
			return -1;
		if (pass == 0 && b[4] >= '2') {
			pos = end;
			tsize = 8;
			continue;
		}
		size_t type = 0;
		for (uint32_t i = 0; i < c[3]; i++) {
			uint64_t u = be_read(b + times + (size_t)i * tsize, tsize);
			int64_t at = tsize == 8 ? (int64_t)u : (int64_t)(int32_t)(uint32_t)u;
			if (at > t)
				break;
			type = b[idx + i];
		}
		if (type >= c[4])
			return -1;
		const unsigned char *tt = b + types + type * 6;
		*off = (long)(int32_t)(uint32_t)be_read(tt, 4);
		*dst = tt[4] != 0;
		return 0;
	}
	return -1;
}

int conf_tz_at(const char *zone, int64_t t, long *off, bool *dst)
{
	if (!tz_name_ok(zone))
		return -1;
	char path[300];
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, zone);
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	unsigned char *b = xmalloc(TZ_FILE_MAX);
	size_t n = fread(b, 1, TZ_FILE_MAX, f);
	int rc = ferror(f) || n == TZ_FILE_MAX ? -1 : tz_parse(b, n, t, off, dst);
	fclose(f);
	free(b);
	return rc;
}

/* /system clock as it runs: the stored settings with the time, date, offset
 * from UTC and daylight saving state of time-zone-name, or of the machine
 * when it is manual. */
static int clock_items(void *ctx, struct conf_session *s, const struct menu *m,
		       struct item ***items, size_t *n)
{
	struct list l = { NULL, 0, m };
	struct item *it = s->st && store_count(s->st, m) ? item_dup(m, store_at(s->st, m, 0))
						       : item_new(m);
	l.items = xmalloc(sizeof(*l.items));
	l.items[l.n++] = it;
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	long off = tm.tm_gmtoff;
	bool dst = tm.tm_isdst > 0;
	const char *zone = item_get(m, it, "time-zone-name");
	if (zone && strcmp(zone, "manual") && conf_tz_at(zone, (int64_t)now, &off, &dst) == 0) {
		time_t shifted = now + (time_t)off;
		gmtime_r(&shifted, &tm);
	}
	char buf[64];
	fmt_tm(&tm, buf, sizeof(buf));
	char *sp = strchr(buf, ' ');
	*sp = 0;
	put(&l, it, "time", sp + 1);
	put(&l, it, "date", buf);
	snprintf(buf, sizeof(buf), "%c%02ld:%02ld", off < 0 ? '-' : '+', labs(off) / 3600,
		 labs(off) % 3600 / 60);
	put(&l, it, "gmt-offset", buf);
	put(&l, it, "dst-active", dst ? "yes" : "no");
	*items = l.items;
	*n = l.n;
	return 0;
}

static int history_entry(void *ctx, const struct store_hist *h)
{
	struct list *l = ctx;
	char buf[64];
	struct item *it = list_new(l, (uint32_t)h->id);
	put(l, it, "action", h->command);
	put(l, it, "by", h->who);
	put(l, it, "policy", conf_change_policy(h->menus));
	fmt_time(h->at, buf, sizeof(buf));
	put(l, it, "time", buf);
	put(l, it, "undoable", h->undone ? "no" : "yes");
	put(l, it, "redoable", h->undone ? "yes" : "no");
	put(l, it, "floating-undo", h->floating ? "yes" : "no");
	return 0;
}

/* The store's history, newest first as the console shows it. */
static void history(struct conf_session *s, struct list *l)
{
	if (!s->st)
		return;
	store_history(s->st, history_entry, l);
	for (size_t i = 0; i < l->n / 2; i++) {
		struct item *t = l->items[i];
		l->items[i] = l->items[l->n - 1 - i];
		l->items[l->n - 1 - i] = t;
	}
}

void conf_runtime_started(void)
{
	if (!started)
		started = time(NULL);
}

int conf_runtime_items(struct conf_session *s, const struct menu *m, struct item ***items,
		       size_t *n)
{
	struct list l = { NULL, 0, m };
	for (size_t i = 0; i < nproviders; i++)
		if (providers[i].fn && !strcmp(providers[i].path, m->path))
			return providers[i].fn(providers[i].ctx, s, m, items, n);
	if (!strcmp(m->path, "/interface"))
		return conf_interface_items(s, m, NULL, NULL, items, n);
	if (!strcmp(m->path, "/file"))
		files(s, &l);
	else if (!strcmp(m->path, "/log"))
		logs(&l);
	else if (!strcmp(m->path, "/system/resource"))
		resource(&l);
	else if (!strcmp(m->path, "/system/history"))
		history(s, &l);

	/* anything else (the connection table before the engine runs) is empty */
	*items = l.items;
	*n = l.n;
	return 0;
}
