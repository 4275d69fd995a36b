#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * Positions: each item of a table carries a sparse position key (pos[]) that
 * only has to increase along the table. Appends take last + POS_GAP, an
 * insert takes the midpoint of its neighbours and the table is renumbered
 * only when no gap is left, so removals and appends never rewrite other rows.
 */
#define POS_GAP 65536
#define MAX_DEPTH 64

struct table {
	struct item **items;
	int64_t *pos;
	size_t n, cap;
};

enum undo_op { U_ADD, U_REMOVE, U_REPLACE, U_MOVE, U_POS };

struct undo {
	enum undo_op op;
	bool dyn;          /* about a dynamic item: never history */
	const struct menu *m;
	uint32_t id;
	uint32_t next;     /* U_REMOVE, U_MOVE: the item that followed it (0: none) */
	size_t idx;        /* U_REMOVE, U_MOVE: index before the change */
	int64_t posval;    /* U_REMOVE, U_MOVE, U_POS: position key before the change */
	struct item *old;  /* U_REMOVE: the item; U_REPLACE: its previous values */
};

/*
 * A history entry keeps the undo records of its transaction (position keys
 * left out: only the order matters, and U_MOVE/U_REMOVE carry it). Undoing
 * it runs a transaction whose own records replace them, so the same entry
 * is redone by undoing those, and so on.
 */
struct hist {
	uint64_t seq;
	int64_t at;
	char who[64];
	char *command;
	uint64_t session;
	uint64_t *menus;
	struct undo *recs;
	size_t nrecs;
	bool undone;
	uint64_t undone_at; /* order of the undos: redo takes the last */
};

enum txn_kind { TXN_PLAIN, TXN_UNDO, TXN_REDO };

struct listener {
	store_listener_fn fn;
	void *ctx;
};

struct store {
	sqlite3 *db;
	int lock_fd;            /* store_claim's lock file, -1 = none */
	bool is_new;
	bool persistent;
	struct table *tables;
	struct item **byid;
	size_t nbyid;
	uint32_t next_id;
	int depth;
	struct undo *undo;
	size_t nundo, capundo;
	size_t mark[MAX_DEPTH];
	uint32_t mark_next_id[MAX_DEPTH];
	uint64_t *changed;
	size_t nwords;
	struct listener *listeners;
	size_t nlisteners;
	sqlite3_stmt *st_ins, *st_upd, *st_del, *st_pos;
	sqlite3_stmt *st_hins, *st_hupd, *st_hdel; /* history rows */
	/* the open outermost transaction: what it is for */
	enum txn_kind txn_kind;
	uint64_t txn_target;  /* TXN_UNDO, TXN_REDO: the entry */
	uint64_t txn_session;
	struct hist *hist;    /* oldest first */
	size_t nhist;
	uint64_t hist_seq, undo_clock;
	uint64_t safe_session; /* 0: nobody in safe mode */
	uint64_t safe_mark;    /* hist_seq when it was taken */
	char safe_who[64];
	int64_t txn_at;        /* the time of the entry the commit writes */
	char recovered[256];   /* what the open undid (safe mode of a crashed router) */
	bool safe_live;        /* safe mode held by a router running now */
};

static int sql_err(struct store *st, struct err *e, const char *what)
{
	return err_set(e, "configuration store: %s: %s", what, sqlite3_errmsg(st->db));
}

static int exec_sql(struct store *st, const char *sql, struct err *e)
{
	char *msg = NULL;
	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		err_set(e, "configuration store: %s", msg ? msg : "error");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* ---- items ---- */

struct item *item_new(const struct menu *m)
{
	struct item *it = xcalloc(1, sizeof(*it));
	it->vals = xcalloc(m->nprops ? m->nprops : 1, sizeof(char *));
	it->menu = m;
	return it;
}

struct item *item_dup(const struct menu *m, const struct item *src)
{
	struct item *it = item_new(m);
	it->id = src->id;
	it->flags = src->flags;
	it->bytes = src->bytes;
	it->packets = src->packets;
	for (size_t i = 0; i < m->nprops; i++)
		it->vals[i] = xstrdup(src->vals[i]);
	return it;
}

static void item_free_vals(const struct menu *m, struct item *it)
{
	for (size_t i = 0; i < m->nprops; i++)
		free(it->vals[i]);
	free(it->vals);
	it->vals = NULL;
}

void item_free(const struct menu *m, struct item *it)
{
	if (!it)
		return;
	item_free_vals(m, it);
	free(it);
}

void item_set(const struct menu *m, struct item *it, int prop, const char *val)
{
	if (prop < 0 || (size_t)prop >= m->nprops)
		return;
	char *v = xstrdup(val);
	free(it->vals[prop]);
	it->vals[prop] = v;
}

const char *item_geti(const struct menu *m, const struct item *it, int prop)
{
	if (prop < 0 || (size_t)prop >= m->nprops)
		return NULL;
	if (it->vals[prop])
		return it->vals[prop];
	return m->props[prop].def;
}

const char *item_show(const struct menu *m, const struct item *it, int prop, char *buf,
		      size_t n)
{
	if (prop < 0 || (size_t)prop >= m->nprops)
		return NULL;
	const struct prop *p = &m->props[prop];
	/* a text counter (a simple queue's "upload/download") is the item's own */
	if ((p->flags & PF_STAT) && p->type != T_STR) {
		if (!strcmp(p->name, "bytes")) {
			snprintf(buf, n, "%llu", (unsigned long long)it->bytes);
			return buf;
		}
		if (!strcmp(p->name, "packets")) {
			snprintf(buf, n, "%llu", (unsigned long long)it->packets);
			return buf;
		}
	}
	return item_geti(m, it, prop);
}

const char *item_get(const struct menu *m, const struct item *it, const char *name)
{
	if (!strcmp(name, "dynamic"))
		return (it->flags & IF_DYNAMIC) ? "yes" : "no";
	if (!strcmp(name, "invalid"))
		return (it->flags & IF_INVALID) ? "yes" : "no";
	if (!strcmp(name, "builtin"))
		return (it->flags & IF_BUILTIN) ? "yes" : "no";
	return item_geti(m, it, schema_prop(m, name, NULL));
}

/* ---- serialisation: name NUL value NUL ... ---- */

static void item_encode(const struct menu *m, const struct item *it, struct sbuf *b)
{
	sbuf_reset(b);
	for (size_t i = 0; i < m->nprops; i++) {
		if (!it->vals[i] || (m->props[i].flags & PF_STAT))
			continue;
		sbuf_add(b, m->props[i].name, strlen(m->props[i].name) + 1);
		sbuf_add(b, it->vals[i], strlen(it->vals[i]) + 1);
	}
}

static void item_decode(const struct menu *m, struct item *it, const char *p, size_t n)
{
	if (!p) /* SQLite gives NULL for an empty blob */
		return;
	const char *end = p + n;
	while (p < end) {
		const char *name = p;
		const char *nz = memchr(p, 0, (size_t)(end - p));
		if (!nz)
			break;
		const char *val = nz + 1;
		const char *vz = val < end ? memchr(val, 0, (size_t)(end - val)) : NULL;
		if (!vz)
			break;
		int pi = schema_prop(m, name, NULL);
		if (pi >= 0)
			item_set(m, it, pi, val);
		else
			fprintf(stderr, "rosfw: store: %s: dropping unknown property %s\n",
				m->path, name);
		p = vz + 1;
	}
}

/* ---- tables and the id index ---- */

static struct table *tab(const struct store *st, const struct menu *m)
{
	return &st->tables[schema_index(m)];
}

static void index_set(struct store *st, uint32_t id, struct item *it)
{
	if (id >= st->nbyid) {
		size_t n = st->nbyid ? st->nbyid : 256;
		while (n <= id)
			n *= 2;
		st->byid = xrealloc(st->byid, n * sizeof(*st->byid));
		memset(st->byid + st->nbyid, 0, (n - st->nbyid) * sizeof(*st->byid));
		st->nbyid = n;
	}
	st->byid[id] = it;
}

static void table_insert(struct table *t, size_t idx, struct item *it, int64_t posval)
{
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->items = xrealloc(t->items, t->cap * sizeof(*t->items));
		t->pos = xrealloc(t->pos, t->cap * sizeof(*t->pos));
	}
	memmove(t->items + idx + 1, t->items + idx, (t->n - idx) * sizeof(*t->items));
	memmove(t->pos + idx + 1, t->pos + idx, (t->n - idx) * sizeof(*t->pos));
	t->items[idx] = it;
	t->pos[idx] = posval;
	t->n++;
}

static void table_delete(struct table *t, size_t idx)
{
	memmove(t->items + idx, t->items + idx + 1, (t->n - idx - 1) * sizeof(*t->items));
	memmove(t->pos + idx, t->pos + idx + 1, (t->n - idx - 1) * sizeof(*t->pos));
	t->n--;
}

static long table_find(const struct table *t, uint32_t id)
{
	for (size_t i = 0; i < t->n; i++)
		if (t->items[i]->id == id)
			return (long)i;
	return -1;
}

static void mark_changed(struct store *st, const struct menu *m)
{
	size_t i = schema_index(m);
	st->changed[i / 64] |= 1ull << (i % 64);
}

static int push_undo(struct store *st, struct undo u)
{
	if (st->nundo == st->capundo) {
		st->capundo = st->capundo ? st->capundo * 2 : 64;
		st->undo = xrealloc(st->undo, st->capundo * sizeof(*st->undo));
	}
	st->undo[st->nundo++] = u;
	return 0;
}

/* ---- SQL write-through ---- */

static int db_write_pos(struct store *st, uint32_t id, int64_t posval, struct err *e)
{
	sqlite3_stmt *s = st->st_pos;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, posval);
	sqlite3_bind_int64(s, 2, id);
	if (sqlite3_step(s) != SQLITE_DONE)
		return sql_err(st, e, "position");
	return 0;
}

/* Gives every item of the table a fresh, evenly spaced position key. The old
 * keys are logged so a rollback puts memory back in step with the disk. */
static int renumber(struct store *st, const struct menu *m, struct table *t, struct err *e)
{
	for (size_t i = 0; i < t->n; i++) {
		push_undo(st, (struct undo){ .op = U_POS, .m = m, .id = t->items[i]->id,
					     .posval = t->pos[i],
					     .dyn = (t->items[i]->flags & IF_DYNAMIC) != 0 });
		t->pos[i] = (int64_t)(i + 1) * POS_GAP;
		if (!(t->items[i]->flags & IF_DYNAMIC) &&
		    db_write_pos(st, t->items[i]->id, t->pos[i], e) < 0)
			return -1;
	}
	return 0;
}

/* A position key for a new item at index idx, renumbering if no gap is left. */
static int pos_for(struct store *st, const struct menu *m, struct table *t, size_t idx,
		   int64_t *out, struct err *e)
{
	int64_t lo = idx > 0 ? t->pos[idx - 1] : 0;
	if (idx == t->n) {
		*out = lo + POS_GAP;
		return 0;
	}
	int64_t hi = t->pos[idx];
	if (hi - lo < 2) {
		if (renumber(st, m, t, e) < 0)
			return -1;
		lo = idx > 0 ? t->pos[idx - 1] : 0;
		hi = t->pos[idx];
	}
	*out = lo + (hi - lo) / 2;
	return 0;
}

static int db_insert(struct store *st, const struct menu *m, const struct item *it,
		     int64_t posval, struct err *e)
{
	if (it->flags & IF_DYNAMIC)
		return 0;
	struct sbuf b = SBUF_INIT;
	item_encode(m, it, &b);
	sqlite3_stmt *s = st->st_ins;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, it->id);
	sqlite3_bind_text(s, 2, m->path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, posval);
	sqlite3_bind_int(s, 4, (int)it->flags);
	sqlite3_bind_blob(s, 5, b.s ? b.s : "", (int)b.len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(s);
	sbuf_free(&b);
	if (rc != SQLITE_DONE)
		return sql_err(st, e, "insert");
	return 0;
}

static int db_update(struct store *st, const struct menu *m, const struct item *it,
		     struct err *e)
{
	if (it->flags & IF_DYNAMIC)
		return 0;
	struct sbuf b = SBUF_INIT;
	item_encode(m, it, &b);
	sqlite3_stmt *s = st->st_upd;
	sqlite3_reset(s);
	sqlite3_bind_blob(s, 1, b.s ? b.s : "", (int)b.len, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 2, (int)it->flags);
	sqlite3_bind_int64(s, 3, it->id);
	int rc = sqlite3_step(s);
	sbuf_free(&b);
	if (rc != SQLITE_DONE)
		return sql_err(st, e, "update");
	return 0;
}

static int db_delete(struct store *st, const struct item *it, struct err *e)
{
	if (it->flags & IF_DYNAMIC)
		return 0;
	sqlite3_stmt *s = st->st_del;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, it->id);
	if (sqlite3_step(s) != SQLITE_DONE)
		return sql_err(st, e, "delete");
	return 0;
}

/* ---- open / close ---- */

static const char *const schema_sql =
	"CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS item(id INTEGER PRIMARY KEY, menu TEXT NOT NULL,"
	" pos INTEGER NOT NULL, flags INTEGER NOT NULL, body BLOB NOT NULL);"
	"CREATE INDEX IF NOT EXISTS item_menu ON item(menu, pos);"
	"CREATE TABLE IF NOT EXISTS journal(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" at INTEGER NOT NULL, who TEXT NOT NULL, cmd TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS hist(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
	" who TEXT NOT NULL, cmd TEXT NOT NULL, session INTEGER NOT NULL,"
	" undone INTEGER NOT NULL, undone_at INTEGER NOT NULL, recs BLOB NOT NULL);";

static int load(struct store *st, struct err *e)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT v FROM meta WHERE k='next_id'", -1, &s,
			       NULL) != SQLITE_OK)
		return sql_err(st, e, "load");
	st->is_new = true;
	if (sqlite3_step(s) == SQLITE_ROW) {
		st->next_id = (uint32_t)strtoul((const char *)sqlite3_column_text(s, 0), NULL, 10);
		st->is_new = false;
	}
	sqlite3_finalize(s);
	if (st->is_new) {
		st->next_id = 1;
		return exec_sql(st, "INSERT INTO meta(k, v) VALUES('next_id', '1')", e);
	}
	if (sqlite3_prepare_v2(st->db, "SELECT id, menu, pos, flags, body FROM item ORDER BY pos",
			       -1, &s, NULL) != SQLITE_OK)
		return sql_err(st, e, "load");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(s, 1);
		const struct menu *m = schema_find(path);
		if (!m) {
			fprintf(stderr, "rosfw: store: skipping item of unknown menu %s\n", path);
			continue;
		}
		struct item *it = item_new(m);
		it->id = (uint32_t)sqlite3_column_int64(s, 0);
		it->flags = (unsigned)sqlite3_column_int(s, 3) & ~IF_DYNAMIC;
		item_decode(m, it, sqlite3_column_blob(s, 4), (size_t)sqlite3_column_bytes(s, 4));
		struct table *t = tab(st, m);
		table_insert(t, t->n, it, sqlite3_column_int64(s, 2));
		index_set(st, it->id, it);
		if (it->id >= st->next_id)
			st->next_id = it->id + 1;
	}
	sqlite3_finalize(s);
	return 0;
}

static int hist_load(struct store *st, struct err *e);
static void safe_recover(struct store *st);

int store_open(struct store **out, const char *path, struct err *e)
{
	struct store *st = xcalloc(1, sizeof(*st));
	*out = NULL;
	st->lock_fd = -1;
	if (!path)
		path = ":memory:";
	st->persistent = strcmp(path, ":memory:") != 0;
	st->tables = xcalloc(schema_nmenus, sizeof(*st->tables));
	st->nwords = (schema_nmenus + 63) / 64;
	st->changed = xcalloc(st->nwords, sizeof(uint64_t));
	if (sqlite3_open(path, &st->db) != SQLITE_OK) {
		err_set(e, "cannot open configuration store %s: %s", path, sqlite3_errmsg(st->db));
		goto fail;
	}
	sqlite3_busy_timeout(st->db, 5000);
	if (st->persistent &&
	    exec_sql(st, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;", e) < 0)
		goto fail;
	if (exec_sql(st, schema_sql, e) < 0)
		goto fail;
	if (sqlite3_prepare_v2(st->db,
			       "INSERT INTO item(id, menu, pos, flags, body) VALUES(?,?,?,?,?)",
			       -1, &st->st_ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "UPDATE item SET body=?, flags=? WHERE id=?", -1,
			       &st->st_upd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "DELETE FROM item WHERE id=?", -1, &st->st_del,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "UPDATE item SET pos=? WHERE id=?", -1, &st->st_pos,
			       NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "INSERT INTO hist(seq, at, who, cmd, session, undone, undone_at, recs)"
			       " VALUES(?1, ?2, ?6, ?7, ?8, 0, 0, ?5)",
			       -1, &st->st_hins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db,
			       "UPDATE hist SET undone=?3, undone_at=?4, recs=?5 WHERE seq=?1", -1,
			       &st->st_hupd, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(st->db, "DELETE FROM hist WHERE seq=?", -1, &st->st_hdel,
			       NULL) != SQLITE_OK) {
		sql_err(st, e, "prepare");
		goto fail;
	}
	if (exec_sql(st, "BEGIN", e) < 0)
		goto fail;
	if (load(st, e) < 0 || hist_load(st, e) < 0 || exec_sql(st, "COMMIT", e) < 0)
		goto fail;
	safe_recover(st);
	*out = st;
	return 0;
fail:
	store_close(st);
	return -1;
}

static void free_undo_log(struct store *st, size_t from)
{
	for (size_t i = from; i < st->nundo; i++) {
		struct undo *u = &st->undo[i];
		if (u->old)
			item_free(u->m, u->old);
	}
	st->nundo = from;
}

static void hist_free_recs(struct hist *h)
{
	for (size_t i = 0; i < h->nrecs; i++)
		if (h->recs[i].old)
			item_free(h->recs[i].m, h->recs[i].old);
	free(h->recs);
	h->recs = NULL;
	h->nrecs = 0;
}

static void hist_free(struct hist *h)
{
	hist_free_recs(h);
	free(h->command);
	free(h->menus);
}

void store_close(struct store *st)
{
	if (!st)
		return;
	while (st->depth > 0)
		store_rollback(st);
	free_undo_log(st, 0);
	free(st->undo);
	for (size_t i = 0; i < st->nhist; i++)
		hist_free(&st->hist[i]);
	free(st->hist);
	for (size_t i = 0; i < schema_nmenus && st->tables; i++) {
		struct table *t = &st->tables[i];
		for (size_t j = 0; j < t->n; j++)
			item_free(schema_menus[i], t->items[j]);
		free(t->items);
		free(t->pos);
	}
	free(st->tables);
	free(st->byid);
	free(st->changed);
	free(st->listeners);
	sqlite3_finalize(st->st_ins);
	sqlite3_finalize(st->st_upd);
	sqlite3_finalize(st->st_del);
	sqlite3_finalize(st->st_pos);
	sqlite3_finalize(st->st_hins);
	sqlite3_finalize(st->st_hupd);
	sqlite3_finalize(st->st_hdel);
	if (st->db)
		sqlite3_close(st->db);
	if (st->lock_fd >= 0)
		close(st->lock_fd);
	free(st);
}

/*
 * One writer per store file: SQLite would serialise two processes'
 * transactions, but each keeps the configuration (and its next ids) in
 * memory, so a second writer's changes would collide with the first's
 * ids and stay unseen by it. The claim is an flock on PATH.lock, which
 * the kernel drops when the process ends however it ends.
 */
int store_claim(struct store *st, struct err *e)
{
	if (!st->persistent || st->lock_fd >= 0)
		return 0;
	const char *db = sqlite3_db_filename(st->db, "main");
	char lp[4096];
	snprintf(lp, sizeof(lp), "%s.lock", db ? db : "");
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err_set(e, "cannot open %s: %s", lp, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		char pid[32] = "";
		ssize_t n = read(fd, pid, sizeof(pid) - 1);
		pid[n > 0 ? n : 0] = 0;
		pid[strcspn(pid, "\n")] = 0;
		close(fd);
		err_set(e, "%s is in use by another rosfw process%s%s%s: change a running router "
			   "through `rosfw console`", db, pid[0] ? " (pid " : "", pid,
			pid[0] ? ")" : "");
		return -1;
	}
	char pid[32];
	int n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n) {
		/* the lock holds without the note */
	}
	st->lock_fd = fd;
	return 0;
}

bool store_is_new(const struct store *st)
{
	return st->is_new;
}

/* ---- transactions ---- */

int store_begin(struct store *st, struct err *e)
{
	if (st->depth >= MAX_DEPTH)
		return err_set(e, "configuration store: transactions nested too deeply");
	char sql[64];
	if (st->depth == 0)
		snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE");
	else
		snprintf(sql, sizeof(sql), "SAVEPOINT s%d", st->depth);
	if (exec_sql(st, sql, e) < 0)
		return -1;
	st->mark[st->depth] = st->nundo;
	st->mark_next_id[st->depth] = st->next_id;
	if (st->depth == 0) {
		st->txn_kind = TXN_PLAIN;
		st->txn_target = 0;
		st->txn_session = 0;
	}
	st->depth++;
	return 0;
}

void store_set_session(struct store *st, uint64_t session)
{
	if (st->depth > 0)
		st->txn_session = session;
}

int store_depth(const struct store *st)
{
	return st->depth;
}

/* ---- history ---- */

static bool hist_keeps(const struct undo *u)
{
	return u->op != U_POS && !u->dyn;
}

static struct hist *hist_find(struct store *st, uint64_t seq)
{
	for (size_t i = 0; i < st->nhist; i++)
		if (st->hist[i].seq == seq)
			return &st->hist[i];
	return NULL;
}

/* Removes entry i (the redo stack dropped, or the oldest evicted). Safe mode
 * can no longer undo everything once one of its entries goes: it ends. */
static void hist_drop(struct store *st, size_t i)
{
	struct hist *h = &st->hist[i];
	if (st->safe_session && h->session == st->safe_session && h->seq > st->safe_mark &&
	    !h->undone)
		st->safe_session = 0;
	hist_free(h);
	memmove(h, h + 1, (st->nhist - i - 1) * sizeof(*h));
	st->nhist--;
}

/* After the outermost COMMIT: a plain transaction becomes a new entry; an
 * undo or redo hands its records to the entry it took back or applied. */
static void history_commit(struct store *st, const char *who, const char *command)
{
	size_t n = 0;
	for (size_t i = 0; i < st->nundo; i++)
		n += hist_keeps(&st->undo[i]);
	struct hist *h;
	if (st->txn_kind == TXN_PLAIN) {
		if (!n || (who && !strcmp(who, STORE_WHO_SYSTEM)))
			return;
		for (size_t i = st->nhist; i > 0; i--)
			if (st->hist[i - 1].undone)
				hist_drop(st, i - 1);
		if (!st->hist)
			st->hist = xcalloc(STORE_HISTORY_MAX, sizeof(*st->hist));
		if (st->nhist == STORE_HISTORY_MAX)
			hist_drop(st, 0);
		h = &st->hist[st->nhist++];
		memset(h, 0, sizeof(*h));
		h->seq = ++st->hist_seq;
		h->at = st->txn_at;
		snprintf(h->who, sizeof(h->who), "%s", who ? who : "");
		h->command = xstrdup(command ? command : "");
		h->session = st->txn_session;
		h->menus = xcalloc(st->nwords, sizeof(uint64_t));
		for (size_t i = 0; i < st->nundo; i++) {
			size_t k = schema_index(st->undo[i].m);
			if (hist_keeps(&st->undo[i]))
				h->menus[k / 64] |= 1ull << (k % 64);
		}
	} else {
		h = hist_find(st, st->txn_target);
		if (!h)
			return;
		hist_free_recs(h);
		h->undone = st->txn_kind == TXN_UNDO;
		h->undone_at = h->undone ? ++st->undo_clock : 0;
	}
	h->recs = xmalloc((n ? n : 1) * sizeof(*h->recs));
	for (size_t i = 0; i < st->nundo; i++) {
		struct undo *u = &st->undo[i];
		if (!hist_keeps(u))
			continue;
		h->recs[h->nrecs++] = *u;
		u->old = NULL; /* the entry owns it now */
	}
}

/* ---- history on disk ----
 * Each entry is a row of hist, written in the transaction that makes or
 * changes it, so the history on disk always goes with the items on disk:
 * /system history, /undo and /redo go on after a restart. (RouterOS's own
 * documentation shows history entries dated before a restart, next to a
 * "---" entry; an undo record that no longer applies is refused as usual.) While a session holds safe mode, meta
 * says so (safe_session, safe_mark, safe_who): a store opened with that
 * still there belongs to a router that stopped without ending the session
 * (kill -9, power), and the open undoes what the session changed since it
 * took safe mode, as the router would have done. Session ids are the
 * process's: on load the entries of that session get SESSION_ORPHAN and
 * the others 0 (the newest entries are undone first all the same). */
#define SESSION_ORPHAN UINT64_MAX

static void put_u32(struct sbuf *b, uint32_t v)
{
	char x[4] = { (char)(v & 0xff), (char)((v >> 8) & 0xff), (char)((v >> 16) & 0xff),
		      (char)(v >> 24) };
	sbuf_add(b, x, 4);
}

/* The records of the open transaction that an entry keeps. */
static void recs_encode(const struct store *st, struct sbuf *b)
{
	struct sbuf body = SBUF_INIT;
	for (size_t i = 0; i < st->nundo; i++) {
		const struct undo *u = &st->undo[i];
		if (!hist_keeps(u))
			continue;
		sbuf_putc(b, (char)u->op);
		put_u32(b, u->id);
		put_u32(b, u->next);
		put_u32(b, (uint32_t)u->idx);
		put_u32(b, (uint32_t)strlen(u->m->path));
		sbuf_puts(b, u->m->path);
		sbuf_putc(b, u->old ? 1 : 0);
		if (u->old) {
			item_encode(u->m, u->old, &body);
			put_u32(b, u->old->flags);
			put_u32(b, (uint32_t)body.len);
			sbuf_add(b, body.s ? body.s : "", body.len);
		}
	}
	sbuf_free(&body);
}

struct rd {
	const unsigned char *p;
	size_t n;
	bool bad;
};

static uint32_t get_u32(struct rd *r)
{
	if (r->n < 4) {
		r->bad = true;
		return 0;
	}
	uint32_t v = (uint32_t)r->p[0] | (uint32_t)r->p[1] << 8 | (uint32_t)r->p[2] << 16 |
		     (uint32_t)r->p[3] << 24;
	r->p += 4;
	r->n -= 4;
	return v;
}

static const unsigned char *get_bytes(struct rd *r, size_t n)
{
	if (r->n < n) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *p = r->p;
	r->p += n;
	r->n -= n;
	return p;
}

/* Fills h->recs and h->menus; -1 when the blob is damaged or names a menu
 * this build does not have (the entry is then left out). */
static int recs_decode(struct store *st, struct hist *h, const void *blob, size_t len)
{
	struct rd r = { blob, len, false };
	h->menus = xcalloc(st->nwords, sizeof(uint64_t));
	while (r.n && !r.bad) {
		const unsigned char *op = get_bytes(&r, 1);
		struct undo u = { 0 };
		u.id = get_u32(&r);
		u.next = get_u32(&r);
		u.idx = get_u32(&r);
		uint32_t pl = get_u32(&r);
		const unsigned char *path = get_bytes(&r, pl);
		const unsigned char *has_old = get_bytes(&r, 1);
		if (r.bad || pl >= 160 || *op > U_MOVE)
			return -1;
		char pbuf[160];
		memcpy(pbuf, path, pl);
		pbuf[pl] = 0;
		u.op = (enum undo_op) * op;
		u.m = schema_find(pbuf);
		if (!u.m)
			return -1;
		if (*has_old) {
			uint32_t flags = get_u32(&r), bl = get_u32(&r);
			const unsigned char *body = get_bytes(&r, bl);
			if (r.bad)
				return -1;
			u.old = item_new(u.m);
			u.old->id = u.id;
			u.old->flags = flags & ~IF_DYNAMIC;
			item_decode(u.m, u.old, (const char *)body, bl);
		}
		if ((u.op == U_REMOVE || u.op == U_REPLACE) && !u.old)
			return -1;
		h->recs = xrealloc(h->recs, (h->nrecs + 1) * sizeof(*h->recs));
		h->recs[h->nrecs++] = u;
		size_t k = schema_index(u.m);
		h->menus[k / 64] |= 1ull << (k % 64);
	}
	return r.bad ? -1 : 0;
}

static int meta_put(struct store *st, const char *k, const char *v, struct err *e)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, v ? "INSERT OR REPLACE INTO meta(k, v) VALUES(?, ?)"
					 : "DELETE FROM meta WHERE k=?",
			       -1, &s, NULL) != SQLITE_OK)
		return sql_err(st, e, "meta");
	sqlite3_bind_text(s, 1, k, -1, SQLITE_STATIC);
	if (v)
		sqlite3_bind_text(s, 2, v, -1, SQLITE_STATIC);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sql_err(st, e, "meta");
}

/* This process as "pid:start time" (/proc/PID/stat), or "" when unknown:
 * a pid alone may have been reused since. */
static void proc_tag(long pid, char *buf, size_t n)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	buf[0] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	size_t len = fread(line, 1, sizeof(line) - 1, f);
	fclose(f);
	line[len] = 0;
	/* the fields after the command (which may hold spaces) */
	const char *p = strrchr(line, ')');
	for (int field = 2; p && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p)
		snprintf(buf, n, "%ld:%llu", pid, strtoull(p + 1, NULL, 10));
}

/* Who holds safe mode, on disk (nobody: the keys go), with the process
 * that runs the session. */
static int safe_persist(struct store *st, uint64_t session, struct err *e)
{
	char a[32], b[32], proc[64];
	snprintf(a, sizeof(a), "%llu", (unsigned long long)session);
	snprintf(b, sizeof(b), "%llu", (unsigned long long)st->safe_mark);
	proc_tag((long)getpid(), proc, sizeof(proc));
	return meta_put(st, "safe_session", session ? a : NULL, e) < 0 ||
			       meta_put(st, "safe_mark", session ? b : NULL, e) < 0 ||
			       meta_put(st, "safe_who", session ? st->safe_who : NULL, e) < 0 ||
			       meta_put(st, "safe_proc", session ? proc : NULL, e) < 0
		       ? -1
		       : 0;
}

static int hist_delete(struct store *st, uint64_t seq, struct err *e)
{
	sqlite3_stmt *s = st->st_hdel;
	sqlite3_reset(s);
	sqlite3_bind_int64(s, 1, (sqlite3_int64)seq);
	return sqlite3_step(s) == SQLITE_DONE ? 0 : sql_err(st, e, "history");
}

/* Before the outermost COMMIT: what history_commit is about to do to the
 * history, on disk, in the same transaction. */
static int hist_persist(struct store *st, const char *who, const char *command, struct err *e)
{
	size_t n = 0;
	for (size_t i = 0; i < st->nundo; i++)
		n += hist_keeps(&st->undo[i]);
	st->txn_at = (int64_t)time(NULL);
	struct hist *h = NULL;
	if (st->txn_kind == TXN_PLAIN) {
		if (!n || (who && !strcmp(who, STORE_WHO_SYSTEM)))
			return 0;
		size_t kept = 0, oldest = SIZE_MAX;
		bool undone = false;
		for (size_t i = 0; i < st->nhist; i++) {
			if (st->hist[i].undone) {
				undone = true;
				continue;
			}
			if (oldest == SIZE_MAX)
				oldest = i;
			kept++;
		}
		if (undone && exec_sql(st, "DELETE FROM hist WHERE undone<>0", e) < 0)
			return -1;
		if (kept == STORE_HISTORY_MAX) {
			const struct hist *o = &st->hist[oldest];
			if (hist_delete(st, o->seq, e) < 0)
				return -1;
			/* hist_drop ends safe mode with it */
			if (st->safe_session && o->session == st->safe_session &&
			    o->seq > st->safe_mark && safe_persist(st, 0, e) < 0)
				return -1;
		}
	} else {
		h = hist_find(st, st->txn_target);
		if (!h)
			return 0;
	}
	struct sbuf recs = SBUF_INIT;
	recs_encode(st, &recs);
	sqlite3_stmt *s = h ? st->st_hupd : st->st_hins;
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	bool und = st->txn_kind == TXN_UNDO;
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(h ? h->seq : st->hist_seq + 1));
	if (!h) {
		sqlite3_bind_int64(s, 2, st->txn_at);
		sqlite3_bind_text(s, 6, who ? who : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 7, command ? command : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 8, (sqlite3_int64)st->txn_session);
	} else {
		sqlite3_bind_int(s, 3, und);
		sqlite3_bind_int64(s, 4, und ? (sqlite3_int64)(st->undo_clock + 1) : 0);
	}
	sqlite3_bind_blob(s, 5, recs.s ? recs.s : "", (int)recs.len, SQLITE_STATIC);
	int rc = sqlite3_step(s) == SQLITE_DONE ? 0 : sql_err(st, e, "history");
	sqlite3_reset(s); /* lets go of recs */
	sbuf_free(&recs);
	return rc;
}

static int hist_load(struct store *st, struct err *e)
{
	uint64_t safe = 0, mark = 0;
	char who[64] = "", proc[64] = "";
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT k, v FROM meta WHERE k LIKE 'safe_%'", -1, &s,
			       NULL) != SQLITE_OK)
		return sql_err(st, e, "load");
	while (sqlite3_step(s) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(s, 0);
		const char *v = (const char *)sqlite3_column_text(s, 1);
		if (!strcmp(k, "safe_session"))
			safe = strtoull(v, NULL, 10);
		else if (!strcmp(k, "safe_mark"))
			mark = strtoull(v, NULL, 10);
		else if (!strcmp(k, "safe_who"))
			snprintf(who, sizeof(who), "%s", v);
		else if (!strcmp(k, "safe_proc"))
			snprintf(proc, sizeof(proc), "%s", v);
	}
	sqlite3_finalize(s);
	if (sqlite3_prepare_v2(st->db,
			       "SELECT seq, at, who, cmd, session, undone, undone_at, recs FROM hist"
			       " ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK)
		return sql_err(st, e, "load");
	st->hist = xcalloc(STORE_HISTORY_MAX, sizeof(*st->hist));
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct hist h = { 0 };
		h.seq = (uint64_t)sqlite3_column_int64(s, 0);
		if (h.seq > st->hist_seq)
			st->hist_seq = h.seq;
		if (recs_decode(st, &h, sqlite3_column_blob(s, 7),
				(size_t)sqlite3_column_bytes(s, 7)) < 0) {
			fprintf(stderr, "rosfw: store: history entry %llu cannot be read; left out\n",
				(unsigned long long)h.seq);
			hist_free(&h);
			continue;
		}
		h.at = sqlite3_column_int64(s, 1);
		snprintf(h.who, sizeof(h.who), "%s", (const char *)sqlite3_column_text(s, 2));
		h.command = xstrdup((const char *)sqlite3_column_text(s, 3));
		uint64_t sess = (uint64_t)sqlite3_column_int64(s, 4);
		h.session = safe && sess == safe ? SESSION_ORPHAN : 0;
		h.undone = sqlite3_column_int(s, 5) != 0;
		h.undone_at = (uint64_t)sqlite3_column_int64(s, 6);
		if (h.undone_at > st->undo_clock)
			st->undo_clock = h.undone_at;
		if (st->nhist == STORE_HISTORY_MAX)
			hist_drop(st, 0);
		st->hist[st->nhist++] = h;
	}
	sqlite3_finalize(s);
	if (safe) {
		st->safe_session = SESSION_ORPHAN;
		st->safe_mark = mark;
		snprintf(st->safe_who, sizeof(st->safe_who), "%s", who);
		/* a router still running holds it (another program opened its
		 * store): it stays held, and is not this process's to undo */
		char now[64];
		proc_tag(strtol(proc, NULL, 10), now, sizeof(now));
		st->safe_live = proc[0] && !strcmp(now, proc) && strtol(proc, NULL, 10) != getpid();
	}
	return 0;
}

/* The safe mode of a router that stopped without ending it: its changes go. */
static void safe_recover(struct store *st)
{
	if (st->safe_session != SESSION_ORPHAN || st->safe_live)
		return;
	size_t n = 0;
	for (size_t i = 0; i < st->nhist; i++)
		n += st->hist[i].session == SESSION_ORPHAN && st->hist[i].seq > st->safe_mark &&
		     !st->hist[i].undone;
	char who[64];
	snprintf(who, sizeof(who), "%s", st->safe_who);
	struct err e;
	err_clear(&e);
	if (store_safe_unroll(st, SESSION_ORPHAN, &e) < 0)
		snprintf(st->recovered, sizeof(st->recovered),
			 "safe mode of %s was held when the router stopped; its changes were "
			 "not all undone: %s", who, e.msg);
	else
		snprintf(st->recovered, sizeof(st->recovered),
			 "safe mode of %s was held when the router stopped: %zu change%s undone",
			 who, n, n == 1 ? "" : "s");
	fprintf(stderr, "rosfw: store: %s\n", st->recovered);
}

const char *store_recovered(const struct store *st)
{
	return st->recovered[0] ? st->recovered : NULL;
}

int store_commit(struct store *st, const char *who, const char *command, struct err *e)
{
	if (st->depth == 0)
		return err_set(e, "configuration store: commit without a transaction");
	char sql[64];
	if (st->depth > 1) {
		snprintf(sql, sizeof(sql), "RELEASE s%d", st->depth - 1);
		if (exec_sql(st, sql, e) < 0)
			return -1;
		st->depth--;
		return 0;
	}
	bool changed = st->nundo > st->mark[0];
	if (changed) {
		sqlite3_stmt *s;
		if (sqlite3_prepare_v2(st->db,
				       "INSERT INTO journal(at, who, cmd) VALUES(?,?,?)", -1, &s,
				       NULL) != SQLITE_OK)
			return sql_err(st, e, "journal");
		sqlite3_bind_int64(s, 1, (sqlite3_int64)time(NULL));
		sqlite3_bind_text(s, 2, who ? who : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 3, command ? command : "", -1, SQLITE_STATIC);
		int rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return sql_err(st, e, "journal");
		snprintf(sql, sizeof(sql), "%u", st->next_id);
		if (sqlite3_prepare_v2(st->db, "UPDATE meta SET v=? WHERE k='next_id'", -1, &s,
				       NULL) != SQLITE_OK)
			return sql_err(st, e, "meta");
		sqlite3_bind_text(s, 1, sql, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(s);
		sqlite3_finalize(s);
		if (rc != SQLITE_DONE)
			return sql_err(st, e, "meta");
	}
	bool hist = changed || st->txn_kind != TXN_PLAIN;
	if ((hist && hist_persist(st, who, command, e) < 0) || exec_sql(st, "COMMIT", e) < 0)
		return -1;
	st->depth = 0;
	if (hist)
		history_commit(st, who, command);
	free_undo_log(st, 0);
	/* A listener may commit changes of its own: the others still get the
	 * bits of this commit. */
	uint64_t *bits = changed ? xmalloc(st->nwords * sizeof(uint64_t)) : NULL;
	if (bits)
		memcpy(bits, st->changed, st->nwords * sizeof(uint64_t));
	memset(st->changed, 0, st->nwords * sizeof(uint64_t));
	for (size_t i = 0; bits && i < st->nlisteners; i++)
		st->listeners[i].fn(st->listeners[i].ctx, bits, st->nwords);
	free(bits);
	return 0;
}

static void undo_one(struct store *st, struct undo *u)
{
	struct table *t = tab(st, u->m);
	long idx;
	switch (u->op) {
	case U_ADD:
		idx = table_find(t, u->id);
		if (idx >= 0) {
			item_free(u->m, t->items[idx]);
			table_delete(t, (size_t)idx);
		}
		index_set(st, u->id, NULL);
		break;
	case U_REMOVE:
		table_insert(t, u->idx, u->old, u->posval);
		index_set(st, u->id, u->old);
		u->old = NULL;
		break;
	case U_REPLACE: {
		struct item *cur = st->byid[u->id];
		item_free_vals(u->m, cur);
		cur->vals = u->old->vals;
		cur->flags = u->old->flags;
		u->old->vals = NULL;
		free(u->old);
		u->old = NULL;
		break;
	}
	case U_MOVE:
		idx = table_find(t, u->id);
		if (idx >= 0) {
			struct item *it = t->items[idx];
			table_delete(t, (size_t)idx);
			table_insert(t, u->idx, it, u->posval);
		}
		break;
	case U_POS:
		idx = table_find(t, u->id);
		if (idx >= 0)
			t->pos[idx] = u->posval;
		break;
	}
}

void store_rollback(struct store *st)
{
	if (st->depth == 0)
		return;
	st->depth--;
	size_t mark = st->mark[st->depth];
	for (size_t i = st->nundo; i > mark; i--)
		undo_one(st, &st->undo[i - 1]);
	free_undo_log(st, mark);
	st->next_id = st->mark_next_id[st->depth];
	/* The menus changed are those of the changes that remain. */
	memset(st->changed, 0, st->nwords * sizeof(uint64_t));
	for (size_t i = 0; i < st->nundo; i++)
		mark_changed(st, st->undo[i].m);
	char sql[64];
	if (st->depth == 0) {
		exec_sql(st, "ROLLBACK", NULL);
	} else {
		snprintf(sql, sizeof(sql), "ROLLBACK TO s%d", st->depth);
		exec_sql(st, sql, NULL);
		snprintf(sql, sizeof(sql), "RELEASE s%d", st->depth);
		exec_sql(st, sql, NULL);
	}
	/* The in-memory positions are restored (renumbering included, U_POS);
	 * the disk's were rolled back with the SQL, so the two agree again. */
}

/* ---- reading ---- */

size_t store_count(const struct store *st, const struct menu *m)
{
	return tab(st, m)->n;
}

struct item *store_at(const struct store *st, const struct menu *m, size_t i)
{
	const struct table *t = tab(st, m);
	return i < t->n ? t->items[i] : NULL;
}

struct item *store_get(const struct store *st, const struct menu *m, uint32_t id)
{
	if (id >= st->nbyid || !st->byid[id])
		return NULL;
	struct item *it = st->byid[id];
	return it->menu == m ? it : NULL;
}

long store_pos(const struct store *st, const struct menu *m, uint32_t id)
{
	return table_find(tab(st, m), id);
}

struct item *store_by_key(const struct store *st, const struct menu *m, const char *name)
{
	if (!m->key || !name)
		return NULL;
	int k = schema_prop(m, m->key, NULL);
	const struct table *t = tab(st, m);
	for (size_t i = 0; i < t->n; i++) {
		const char *v = item_geti(m, t->items[i], k);
		if (v && !strcmp(v, name))
			return t->items[i];
	}
	return NULL;
}

/* ---- writing ---- */

/* Puts it (its id already set) at index pos. The caller keeps it on failure. */
static int insert_item(struct store *st, const struct menu *m, struct item *it, size_t pos,
		       struct err *e)
{
	struct table *t = tab(st, m);
	int64_t posval;
	if (pos > t->n)
		pos = t->n;
	if (pos_for(st, m, t, pos, &posval, e) < 0 || db_insert(st, m, it, posval, e) < 0)
		return -1;
	table_insert(t, pos, it, posval);
	index_set(st, it->id, it);
	push_undo(st, (struct undo){ .op = U_ADD, .m = m, .id = it->id,
				     .dyn = (it->flags & IF_DYNAMIC) != 0 });
	mark_changed(st, m);
	return 0;
}

int store_add(struct store *st, const struct menu *m, struct item *it, size_t pos,
	      uint32_t *id_out, struct err *e)
{
	if (st->depth == 0) {
		item_free(m, it);
		return err_set(e, "configuration store: add outside a transaction");
	}
	it->id = st->next_id++;
	if (insert_item(st, m, it, pos, e) < 0) {
		st->next_id--;
		item_free(m, it);
		return -1;
	}
	if (id_out)
		*id_out = it->id;
	return 0;
}

int store_replace(struct store *st, const struct menu *m, uint32_t id, struct item *it,
		  struct err *e)
{
	struct item *cur = store_get(st, m, id);
	if (st->depth == 0) {
		item_free(m, it);
		return err_set(e, "configuration store: replace outside a transaction");
	}
	if (!cur) {
		item_free(m, it);
		return err_set(e, "no such item");
	}
	struct item *old = xcalloc(1, sizeof(*old));
	old->vals = cur->vals;
	old->flags = cur->flags;
	cur->vals = it->vals;
	cur->flags = it->flags;
	it->vals = NULL;
	free(it);
	if (db_update(st, m, cur, e) < 0) {
		item_free_vals(m, cur);
		cur->vals = old->vals;
		cur->flags = old->flags;
		free(old);
		return -1;
	}
	push_undo(st, (struct undo){ .op = U_REPLACE, .m = m, .id = id, .old = old,
				     .dyn = (old->flags & IF_DYNAMIC) != 0 });
	mark_changed(st, m);
	return 0;
}

int store_remove(struct store *st, const struct menu *m, uint32_t id, struct err *e)
{
	struct table *t = tab(st, m);
	if (st->depth == 0)
		return err_set(e, "configuration store: remove outside a transaction");
	long idx = table_find(t, id);
	if (idx < 0)
		return err_set(e, "no such item");
	struct item *it = t->items[idx];
	if (db_delete(st, it, e) < 0)
		return -1;
	push_undo(st, (struct undo){ .op = U_REMOVE, .m = m, .id = id, .idx = (size_t)idx,
				     .posval = t->pos[idx], .old = it,
				     .next = (size_t)idx + 1 < t->n ? t->items[idx + 1]->id : 0,
				     .dyn = (it->flags & IF_DYNAMIC) != 0 });
	table_delete(t, (size_t)idx);
	index_set(st, id, NULL);
	mark_changed(st, m);
	return 0;
}

int store_move(struct store *st, const struct menu *m, uint32_t id, size_t pos,
	       struct err *e)
{
	struct table *t = tab(st, m);
	if (st->depth == 0)
		return err_set(e, "configuration store: move outside a transaction");
	long idx = table_find(t, id);
	if (idx < 0)
		return err_set(e, "no such item");
	if (pos > t->n)
		pos = t->n;
	if (pos == (size_t)idx || pos == (size_t)idx + 1)
		return 0;
	struct item *it = t->items[idx];
	int64_t oldpos = t->pos[idx];
	uint32_t next = (size_t)idx + 1 < t->n ? t->items[idx + 1]->id : 0;
	table_delete(t, (size_t)idx);
	size_t dest = pos > (size_t)idx ? pos - 1 : pos;
	int64_t posval;
	if (pos_for(st, m, t, dest, &posval, e) < 0 ||
	    (!(it->flags & IF_DYNAMIC) && db_write_pos(st, id, posval, e) < 0)) {
		table_insert(t, (size_t)idx, it, oldpos);
		return -1;
	}
	table_insert(t, dest, it, posval);
	push_undo(st, (struct undo){ .op = U_MOVE, .m = m, .id = id, .idx = (size_t)idx,
				     .posval = oldpos, .next = next,
				     .dyn = (it->flags & IF_DYNAMIC) != 0 });
	mark_changed(st, m);
	return 0;
}

void store_reset_counters(struct store *st, const struct menu *m, uint32_t id)
{
	struct item *it = store_get(st, m, id);
	if (it)
		it->bytes = it->packets = 0;
}

int store_subscribe(struct store *st, store_listener_fn fn, void *ctx)
{
	st->listeners = xrealloc(st->listeners, (st->nlisteners + 1) * sizeof(*st->listeners));
	st->listeners[st->nlisteners++] = (struct listener){ fn, ctx };
	return 0;
}

int store_journal(struct store *st, int64_t since, store_journal_fn fn, void *ctx)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(st->db, "SELECT seq, at, who, cmd FROM journal WHERE seq > ? ORDER BY seq",
			       -1, &s, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(s, 1, since);
	int rc = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct journal_entry je;
		je.seq = sqlite3_column_int64(s, 0);
		je.at = sqlite3_column_int64(s, 1);
		snprintf(je.who, sizeof(je.who), "%s", (const char *)sqlite3_column_text(s, 2));
		snprintf(je.command, sizeof(je.command), "%s", (const char *)sqlite3_column_text(s, 3));
		if ((rc = fn(ctx, &je)) != 0)
			break;
	}
	sqlite3_finalize(s);
	return rc;
}

/* ---- undo, redo, safe mode ---- */

/* A restored item must not take a unique value (a name) that another item
 * has taken since. */
static int unique_free(struct store *st, const struct menu *m, const struct item *it,
		       uint32_t self, struct err *e)
{
	const struct table *t = tab(st, m);
	for (size_t i = 0; i < m->nprops; i++) {
		if (!(m->props[i].flags & PF_UNIQUE) || !it->vals[i])
			continue;
		for (size_t k = 0; k < t->n; k++) {
			const char *ov = item_geti(m, t->items[k], (int)i);
			if (t->items[k]->id != self && ov && !strcmp(ov, it->vals[i]))
				return err_set(e, "%s: an item with %s=%s exists again", m->path,
					       m->props[i].name, it->vals[i]);
		}
	}
	return 0;
}

/* Applies the inverse of one record, logging it like any change. Places come
 * from the neighbour that followed the item (exact when the entries are
 * taken back in order), else from the index it had. */
static int inverse_one(struct store *st, const struct undo *u, struct err *e)
{
	struct table *t = tab(st, u->m);
	if (u->op == U_POS)
		return 0;
	long cur = table_find(t, u->id);
	if (u->op == U_REMOVE && u->id < st->nbyid && st->byid[u->id])
		return err_set(e, "%s *%X exists again", u->m->path, u->id);
	if (u->op != U_REMOVE && cur < 0)
		return err_set(e, "%s *%X no longer exists", u->m->path, u->id);
	long at = u->next ? table_find(t, u->next) : -1;
	size_t pos;
	switch (u->op) {
	case U_ADD:
		return store_remove(st, u->m, u->id, e);
	case U_REMOVE: {
		if (unique_free(st, u->m, u->old, u->id, e) < 0)
			return -1;
		pos = !u->next ? t->n : at >= 0 ? (size_t)at : u->idx;
		struct item *it = item_dup(u->m, u->old);
		if (insert_item(st, u->m, it, pos, e) < 0) {
			item_free(u->m, it);
			return -1;
		}
		return 0;
	}
	case U_REPLACE:
		if (unique_free(st, u->m, u->old, u->id, e) < 0)
			return -1;
		return store_replace(st, u->m, u->id, item_dup(u->m, u->old), e);
	case U_MOVE:
		/* store_move counts pos before the move: index idx afterwards is
		 * idx + 1 before it when the item moves down */
		pos = !u->next ? SIZE_MAX
		      : at >= 0 ? (size_t)at
		      : u->idx > (size_t)cur ? u->idx + 1 : u->idx;
		return store_move(st, u->m, u->id, pos, e);
	case U_POS:
		break;
	}
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* Entry k can be taken back alone only when no later entry still in effect
 * touched its items (with strict LIFO there is none). */
static int check_later(struct store *st, size_t k, const char *what, struct err *e)
{
	const struct hist *h = &st->hist[k];
	uint32_t *ids = xmalloc((h->nrecs ? h->nrecs : 1) * sizeof(uint32_t));
	for (size_t i = 0; i < h->nrecs; i++)
		ids[i] = h->recs[i].id;
	qsort(ids, h->nrecs, sizeof(uint32_t), cmp_id);
	int rc = 0;
	for (size_t j = k + 1; j < st->nhist && rc == 0; j++) {
		const struct hist *l = &st->hist[j];
		for (size_t r = 0; !l->undone && r < l->nrecs; r++) {
			if (bsearch(&l->recs[r].id, ids, h->nrecs, sizeof(uint32_t), cmp_id)) {
				rc = err_set(e, "cannot %s '%s': *%X was changed since by %s (%s)",
					     what, h->command, l->recs[r].id, l->who, l->command);
				break;
			}
		}
	}
	free(ids);
	return rc;
}

/* Takes entry k back (TXN_UNDO) or applies it again (TXN_REDO): the inverse
 * of its records, newest first, as one transaction. */
static int run_inverse(struct store *st, size_t k, enum txn_kind kind, const char *who,
		       const char *command, struct err *e)
{
	if (check_later(st, k, kind == TXN_UNDO ? "undo" : "redo", e) < 0 ||
	    store_begin(st, e) < 0)
		return -1;
	st->txn_kind = kind;
	st->txn_target = st->hist[k].seq;
	const struct hist *h = &st->hist[k];
	for (size_t i = h->nrecs; i > 0; i--) {
		if (inverse_one(st, &h->recs[i - 1], e) < 0) {
			if (e) {
				char msg[sizeof(e->msg)];
				snprintf(msg, sizeof(msg), "cannot %s '%s': %s",
					 kind == TXN_UNDO ? "undo" : "redo", h->command, e->msg);
				snprintf(e->msg, sizeof(e->msg), "%s", msg);
			}
			goto fail;
		}
	}
	if (store_commit(st, who, command, e) < 0)
		goto fail;
	return 0;
fail:
	store_rollback(st);
	return -1;
}

int store_undo(struct store *st, uint64_t session, const char *who, const char *command,
	       struct err *e)
{
	if (st->depth)
		return err_set(e, "undo cannot run inside a transaction (an import)");
	for (size_t i = st->nhist; i > 0; i--) {
		const struct hist *h = &st->hist[i - 1];
		if (!h->undone && (!session || h->session == session))
			return run_inverse(st, i - 1, TXN_UNDO, who, command, e);
	}
	return err_set(e, "nothing to undo");
}

/* The undone entry that was undone last. */
static size_t next_redo(const struct store *st)
{
	size_t k = SIZE_MAX;
	for (size_t i = 0; i < st->nhist; i++)
		if (st->hist[i].undone &&
		    (k == SIZE_MAX || st->hist[i].undone_at > st->hist[k].undone_at))
			k = i;
	return k;
}

int store_redo(struct store *st, const char *who, const char *command, struct err *e)
{
	if (st->depth)
		return err_set(e, "redo cannot run inside a transaction (an import)");
	size_t k = next_redo(st);
	if (k == SIZE_MAX)
		return err_set(e, "nothing to redo");
	return run_inverse(st, k, TXN_REDO, who, command, e);
}

int store_history(const struct store *st, store_hist_fn fn, void *ctx)
{
	size_t nu = SIZE_MAX, nr = next_redo(st);
	for (size_t i = 0; i < st->nhist; i++)
		if (!st->hist[i].undone)
			nu = i;
	for (size_t i = 0; i < st->nhist; i++) {
		const struct hist *h = &st->hist[i];
		struct store_hist x = {
			.id = h->seq, .at = h->at, .who = h->who, .command = h->command,
			.session = h->session, .menus = h->menus, .undone = h->undone,
			.next_undo = i == nu, .next_redo = i == nr,
			.floating = st->safe_session && h->session == st->safe_session &&
				    h->seq > st->safe_mark && !h->undone,
		};
		int rc = fn(ctx, &x);
		if (rc)
			return rc;
	}
	return 0;
}

int store_safe_take(struct store *st, uint64_t session, const char *who, struct err *e)
{
	if (!session)
		return err_set(e, "safe mode needs a session");
	if (st->safe_session && st->safe_session != session)
		return err_set(e, "safe mode already taken by %s", st->safe_who);
	if (st->safe_session != session) {
		st->safe_mark = st->hist_seq;
		snprintf(st->safe_who, sizeof(st->safe_who), "%s", who ? who : "");
		if (safe_persist(st, session, e) < 0)
			return -1;
		st->safe_session = session;
	}
	return 0;
}

void store_safe_release(struct store *st, uint64_t session)
{
	if (session && st->safe_session == session) {
		st->safe_session = 0;
		safe_persist(st, 0, NULL);
	}
}

int store_safe_unroll(struct store *st, uint64_t session, struct err *e)
{
	if (!session || st->safe_session != session)
		return 0;
	int rc = st->depth ? err_set(e, "safe mode cannot unroll inside a transaction") : 0;
	while (rc == 0) {
		size_t k = SIZE_MAX;
		for (size_t i = st->nhist; i > 0 && st->hist[i - 1].seq > st->safe_mark; i--)
			if (!st->hist[i - 1].undone && st->hist[i - 1].session == session) {
				k = i - 1;
				break;
			}
		if (k == SIZE_MAX)
			break;
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "safe mode unroll: %s", st->hist[k].command);
		rc = run_inverse(st, k, TXN_UNDO, st->safe_who, cmd, e);
	}
	st->safe_session = 0;
	safe_persist(st, 0, NULL);
	return rc;
}

uint64_t store_safe_holder(const struct store *st, const char **who)
{
	if (who)
		*who = st->safe_session ? st->safe_who : NULL;
	return st->safe_session;
}

int store_parse_id(const char *s, uint32_t *id)
{
	if (!s || s[0] != '*' || !s[1])
		return -1;
	uint64_t v = 0;
	for (const char *p = s + 1; *p; p++) {
		int d;
		if (*p >= '0' && *p <= '9')
			d = *p - '0';
		else if (*p >= 'a' && *p <= 'f')
			d = *p - 'a' + 10;
		else if (*p >= 'A' && *p <= 'F')
			d = *p - 'A' + 10;
		else
			return -1;
		v = v * 16 + (uint64_t)d;
		if (v > UINT32_MAX)
			return -1;
	}
	*id = (uint32_t)v;
	return 0;
}
