#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	const struct menu *m;
	uint32_t id;
	size_t idx;        /* U_REMOVE, U_MOVE: index before the change */
	int64_t posval;    /* U_REMOVE, U_MOVE, U_POS: position key before the change */
	struct item *old;  /* U_REMOVE: the item; U_REPLACE: its previous values */
};

struct listener {
	store_listener_fn fn;
	void *ctx;
};

struct store {
	sqlite3 *db;
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
					     .posval = t->pos[i] });
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
	" at INTEGER NOT NULL, who TEXT NOT NULL, cmd TEXT NOT NULL);";

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

int store_open(struct store **out, const char *path, struct err *e)
{
	struct store *st = xcalloc(1, sizeof(*st));
	*out = NULL;
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
			       NULL) != SQLITE_OK) {
		sql_err(st, e, "prepare");
		goto fail;
	}
	if (exec_sql(st, "BEGIN", e) < 0)
		goto fail;
	if (load(st, e) < 0 || exec_sql(st, "COMMIT", e) < 0)
		goto fail;
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

void store_close(struct store *st)
{
	if (!st)
		return;
	while (st->depth > 0)
		store_rollback(st);
	free_undo_log(st, 0);
	free(st->undo);
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
	if (st->db)
		sqlite3_close(st->db);
	free(st);
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
	st->depth++;
	return 0;
}

int store_depth(const struct store *st)
{
	return st->depth;
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
	if (exec_sql(st, "COMMIT", e) < 0)
		return -1;
	st->depth = 0;
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

int store_add(struct store *st, const struct menu *m, struct item *it, size_t pos,
	      uint32_t *id_out, struct err *e)
{
	struct table *t = tab(st, m);
	int64_t posval;
	if (st->depth == 0) {
		item_free(m, it);
		return err_set(e, "configuration store: add outside a transaction");
	}
	if (pos > t->n)
		pos = t->n;
	if (pos_for(st, m, t, pos, &posval, e) < 0)
		goto fail;
	it->id = st->next_id++;
	if (db_insert(st, m, it, posval, e) < 0) {
		st->next_id--;
		goto fail;
	}
	table_insert(t, pos, it, posval);
	index_set(st, it->id, it);
	push_undo(st, (struct undo){ .op = U_ADD, .m = m, .id = it->id });
	mark_changed(st, m);
	if (id_out)
		*id_out = it->id;
	return 0;
fail:
	item_free(m, it);
	return -1;
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
	push_undo(st, (struct undo){ .op = U_REPLACE, .m = m, .id = id, .old = old });
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
				     .posval = t->pos[idx], .old = it });
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
				     .posval = oldpos });
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
