/*
 * The store on its own: items added, replaced, removed and moved inside
 * (nested) transactions; a rollback restores memory and disk exactly; ids
 * are "*hex", monotonic and never reused (also across a reopen); the order
 * of an ordered menu survives a reopen whatever path the position keys took
 * (appends, midpoint inserts, renumbering); dynamic items never reach disk;
 * the journal records committed commands only; listeners hear of each
 * outermost commit once, with the menus that changed. History: undo and
 * redo of every kind of change give back exactly the earlier state (ids,
 * order, values), on disk too; undo is strict LIFO, or by session with a
 * refusal when a later change touched the same items; safe mode undoes
 * the changes of the session that holds it, and only those.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "conf/schema.h"
#include "conf/store.h"

/* ---- helpers ---- */

static const struct menu *menu(const char *path)
{
	const struct menu *m = schema_find(path);
	if (!m)
		fail_msg("no menu %s", path);
	return m;
}

#define FILTER menu("/ip/firewall/filter")
#define NAT    menu("/ip/firewall/nat")
#define IFLIST menu("/interface/list")

/* A detached item of m from "prop=value" strings, NULL-terminated. */
static struct item *mk(const struct menu *m, ...)
{
	struct item *it = item_new(m);
	va_list ap;
	va_start(ap, m);
	for (const char *kv = va_arg(ap, const char *); kv; kv = va_arg(ap, const char *)) {
		const char *eq = strchr(kv, '=');
		assert_non_null(eq);
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(eq - kv), kv);
		int pi = schema_prop(m, name, NULL);
		if (pi < 0)
			fail_msg("%s: no property %s", m->path, name);
		item_set(m, it, pi, eq + 1);
	}
	va_end(ap);
	return it;
}

/* Adds a filter rule with chain=input comment=<c> at pos; returns its id. */
static uint32_t add_rule(struct store *st, const char *comment, size_t pos)
{
	struct err e;
	err_clear(&e);
	char c[128];
	snprintf(c, sizeof(c), "comment=%s", comment);
	uint32_t id = 0;
	if (store_add(st, FILTER, mk(FILTER, "chain=input", c, NULL), pos, &id, &e) < 0)
		fail_msg("store_add: %s", e.msg);
	return id;
}

static void begin(struct store *st)
{
	struct err e;
	err_clear(&e);
	if (store_begin(st, &e) < 0)
		fail_msg("store_begin: %s", e.msg);
}

static void commit(struct store *st, const char *cmd)
{
	struct err e;
	err_clear(&e);
	if (store_commit(st, "tester", cmd, &e) < 0)
		fail_msg("store_commit: %s", e.msg);
}

static struct store *open_store(const char *path)
{
	struct store *st = NULL;
	struct err e;
	err_clear(&e);
	if (store_open(&st, path, &e) < 0)
		fail_msg("store_open %s: %s", path ? path : "(null)", e.msg);
	return st;
}

/*
 * Everything the store holds in memory, as text: per menu, per item in
 * order, the id, the flags and every value. Two equal snapshots mean the
 * same ids, order, flags and values.
 */
static char *snapshot(const struct store *st, bool with_dynamic)
{
	struct sbuf b = SBUF_INIT;
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		size_t n = store_count(st, m), shown = 0;
		for (size_t k = 0; k < n; k++) {
			const struct item *it = store_at(st, m, k);
			/* the index agrees with the table */
			assert_ptr_equal(store_get(st, m, it->id), it);
			assert_int_equal(store_pos(st, m, it->id), (long)k);
			if (!with_dynamic && (it->flags & IF_DYNAMIC))
				continue;
			sbuf_printf(&b, "%s #%zu *%X flags=%u", m->path, shown++, it->id,
				    it->flags & ~IF_INVALID);
			for (size_t p = 0; p < m->nprops; p++)
				if (it->vals[p])
					sbuf_printf(&b, " %s=\"%s\"", m->props[p].name, it->vals[p]);
			sbuf_putc(&b, '\n');
		}
	}
	return sbuf_steal(&b);
}

/* The order of a menu as the comments of its items, "a,b,c". */
static char *order_of(const struct store *st, const struct menu *m)
{
	struct sbuf b = SBUF_INIT;
	for (size_t k = 0; k < store_count(st, m); k++) {
		if (k)
			sbuf_putc(&b, ',');
		const char *c = item_get(m, store_at(st, m, k), "comment");
		sbuf_puts(&b, c ? c : "?");
	}
	return sbuf_steal(&b);
}

/* A fresh temporary database path (the file does not exist yet). */
static void tmp_db(char *path, size_t n)
{
	snprintf(path, n, "/tmp/rosfw-test-store-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
}

static void rm_db(const char *path)
{
	char p[300];
	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-journal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s.lock", path);
	unlink(p);
}

/* One writer per store file: a second claim fails naming the holder, and
 * the claim ends with the store; an in-memory store needs none. */
static void test_claim(void **state)
{
	(void)state;
	char path[64];
	struct err e;
	tmp_db(path, sizeof(path));
	struct store *a = open_store(path), *b = open_store(path);
	assert_int_equal(store_claim(a, &e), 0);
	assert_int_equal(store_claim(a, &e), 0); /* again: still ours */
	err_clear(&e);
	assert_int_equal(store_claim(b, &e), -1);
	char want[64];
	snprintf(want, sizeof(want), "(pid %ld)", (long)getpid());
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "rosfw console"));
	store_close(a);
	assert_int_equal(store_claim(b, &e), 0);
	store_close(b);
	struct store *m = open_store(":memory:");
	assert_int_equal(store_claim(m, &e), 0);
	store_close(m);
	rm_db(path);
}

/* ---- ids ---- */

static void test_parse_id(void **state)
{
	(void)state;
	uint32_t id = 0;
	assert_int_equal(store_parse_id("*1A", &id), 0);
	assert_int_equal(id, 0x1A);
	assert_int_equal(store_parse_id("*1a", &id), 0);
	assert_int_equal(id, 0x1A);
	assert_int_equal(store_parse_id("*0", &id), 0);
	assert_int_equal(id, 0);
	assert_int_equal(store_parse_id("*FFFFFFFF", &id), 0);
	assert_int_equal(id, 0xFFFFFFFFu);
	assert_int_equal(store_parse_id("*100000000", &id), -1);
	assert_int_equal(store_parse_id("*", &id), -1);
	assert_int_equal(store_parse_id("1A", &id), -1);
	assert_int_equal(store_parse_id("*1G", &id), -1);
	assert_int_equal(store_parse_id("* 1", &id), -1);
	assert_int_equal(store_parse_id("", &id), -1);
	assert_int_equal(store_parse_id(NULL, &id), -1);
}

/* ---- open ---- */

static void test_open_memory(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	assert_true(store_is_new(st));
	assert_int_equal(store_depth(st), 0);
	for (size_t i = 0; i < schema_nmenus; i++)
		assert_int_equal(store_count(st, schema_menus[i]), 0);
	assert_null(store_at(st, FILTER, 0));
	assert_null(store_get(st, FILTER, 1));
	assert_int_equal(store_pos(st, FILTER, 1), -1);
	store_close(st);

	/* NULL is a private in-memory store too */
	st = open_store(NULL);
	assert_true(store_is_new(st));
	store_close(st);
}

static void test_open_file(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	assert_true(store_is_new(st));
	store_close(st);
	st = open_store(path);
	assert_false(store_is_new(st)); /* created by the first open */
	store_close(st);
	rm_db(path);

	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, "/nonexistent-dir/x/y.db", &e), -1);
	assert_null(st);
	assert_non_null(strstr(e.msg, "y.db"));
}

/* ---- writing outside and inside transactions ---- */

static void test_outside_transaction(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	uint32_t id = 99;
	assert_int_equal(store_add(st, FILTER, mk(FILTER, "chain=input", NULL), SIZE_MAX, &id, &e),
			 -1);
	assert_non_null(strstr(e.msg, "outside a transaction"));
	assert_int_equal(store_count(st, FILTER), 0);
	err_clear(&e);
	assert_int_equal(store_commit(st, "x", "y", &e), -1);
	assert_non_null(strstr(e.msg, "without a transaction"));
	store_rollback(st); /* harmless at depth 0 */
	assert_int_equal(store_depth(st), 0);

	/* replace, remove and move need a transaction too (no journal entry and
	 * no listener would hear of them otherwise) */
	begin(st);
	uint32_t a = add_rule(st, "a", SIZE_MAX);
	add_rule(st, "b", SIZE_MAX);
	commit(st, "two");
	char *before = snapshot(st, true);
	err_clear(&e);
	assert_int_equal(store_replace(st, FILTER, a, mk(FILTER, "chain=x", NULL), &e), -1);
	assert_non_null(strstr(e.msg, "outside a transaction"));
	err_clear(&e);
	assert_int_equal(store_move(st, FILTER, a, SIZE_MAX, &e), -1);
	assert_non_null(strstr(e.msg, "outside a transaction"));
	err_clear(&e);
	assert_int_equal(store_remove(st, FILTER, a, &e), -1);
	assert_non_null(strstr(e.msg, "outside a transaction"));
	char *after = snapshot(st, true);
	assert_string_equal(before, after);
	free(before);
	free(after);
	store_close(st);
}

static void test_add_replace_remove_move(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	assert_int_equal(store_depth(st), 1);
	uint32_t a = add_rule(st, "a", SIZE_MAX);
	uint32_t b = add_rule(st, "b", SIZE_MAX);
	uint32_t c = add_rule(st, "c", SIZE_MAX);
	/* ids start at *1 and count up */
	assert_int_equal(a, 1);
	assert_int_equal(b, 2);
	assert_int_equal(c, 3);
	char *o = order_of(st, FILTER);
	assert_string_equal(o, "a,b,c");
	free(o);

	/* place before: position 0 and the middle */
	uint32_t d = add_rule(st, "d", 0);
	uint32_t x = add_rule(st, "x", 2);
	o = order_of(st, FILTER);
	assert_string_equal(o, "d,a,x,b,c");
	free(o);
	assert_int_equal(store_pos(st, FILTER, d), 0);
	assert_int_equal(store_pos(st, FILTER, x), 2);
	/* a position past the end appends */
	uint32_t z = add_rule(st, "z", 1000);
	assert_int_equal(store_pos(st, FILTER, z), 5);

	/* replace: the values are those of the new item, the id and position stay */
	assert_int_equal(store_replace(st, FILTER, b,
				       mk(FILTER, "chain=forward", "comment=B", "action=drop", NULL), &e),
			 0);
	struct item *it = store_get(st, FILTER, b);
	assert_non_null(it);
	assert_int_equal(it->id, b);
	assert_string_equal(item_get(FILTER, it, "chain"), "forward");
	assert_string_equal(item_get(FILTER, it, "action"), "drop");
	assert_int_equal(store_pos(st, FILTER, b), 3);
	/* unset values read as the default */
	assert_int_equal(store_replace(st, FILTER, b, mk(FILTER, "chain=forward", "comment=b", NULL),
				       &e),
			 0);
	it = store_get(st, FILTER, b);
	assert_null(it->vals[schema_prop(FILTER, "action", NULL)]);
	assert_string_equal(item_get(FILTER, it, "action"), "accept");
	assert_null(item_get(FILTER, it, "jump-target"));

	/* move: the position counts before the move */
	assert_int_equal(store_move(st, FILTER, d, 3, &e), 0); /* d before b */
	o = order_of(st, FILTER);
	assert_string_equal(o, "a,x,d,b,c,z");
	free(o);
	assert_int_equal(store_move(st, FILTER, c, 0, &e), 0);
	o = order_of(st, FILTER);
	assert_string_equal(o, "c,a,x,d,b,z");
	free(o);
	assert_int_equal(store_move(st, FILTER, c, SIZE_MAX, &e), 0);
	o = order_of(st, FILTER);
	assert_string_equal(o, "a,x,d,b,z,c");
	free(o);
	/* to where it already is: nothing happens */
	assert_int_equal(store_move(st, FILTER, x, 1, &e), 0);
	assert_int_equal(store_move(st, FILTER, x, 2, &e), 0);
	o = order_of(st, FILTER);
	assert_string_equal(o, "a,x,d,b,z,c");
	free(o);

	/* remove */
	assert_int_equal(store_remove(st, FILTER, x, &e), 0);
	assert_null(store_get(st, FILTER, x));
	assert_int_equal(store_pos(st, FILTER, x), -1);
	o = order_of(st, FILTER);
	assert_string_equal(o, "a,d,b,z,c");
	free(o);

	/* items that do not exist, or belong to another menu */
	err_clear(&e);
	assert_int_equal(store_remove(st, FILTER, x, &e), -1);
	assert_non_null(strstr(e.msg, "no such item"));
	assert_int_equal(store_move(st, FILTER, 12345, 0, &e), -1);
	assert_int_equal(store_replace(st, FILTER, 12345, mk(FILTER, "chain=x", NULL), &e), -1);
	assert_int_equal(store_remove(st, NAT, a, &e), -1);
	assert_null(store_get(st, NAT, a));
	assert_null(store_get(st, FILTER, 0));
	assert_null(store_get(st, FILTER, 0xFFFFFFF0u));

	commit(st, "edits");
	assert_int_equal(store_depth(st), 0);
	o = order_of(st, FILTER);
	assert_string_equal(o, "a,d,b,z,c");
	free(o);
	store_close(st);
}

static void test_by_key_and_pseudo_props(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t lan, wan;
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=LAN", NULL), SIZE_MAX, &lan, &e), 0);
	struct item *w = mk(IFLIST, "name=WAN", NULL);
	w->flags = IF_BUILTIN;
	assert_int_equal(store_add(st, IFLIST, w, SIZE_MAX, &wan, &e), 0);
	assert_int_equal(store_by_key(st, IFLIST, "LAN")->id, lan);
	assert_int_equal(store_by_key(st, IFLIST, "WAN")->id, wan);
	assert_null(store_by_key(st, IFLIST, "lan"));
	assert_null(store_by_key(st, IFLIST, NULL));
	assert_null(store_by_key(st, FILTER, "LAN")); /* no key */

	const struct item *it = store_get(st, IFLIST, wan);
	assert_string_equal(item_get(IFLIST, it, "builtin"), "yes");
	assert_string_equal(item_get(IFLIST, it, "dynamic"), "no");
	assert_string_equal(item_get(IFLIST, it, "invalid"), "no");
	assert_string_equal(item_get(IFLIST, store_get(st, IFLIST, lan), "builtin"), "no");
	assert_null(item_get(IFLIST, it, "no-such-prop"));
	assert_null(item_geti(IFLIST, it, -1));
	assert_null(item_geti(IFLIST, it, 1000));
	/* a default is shown when nothing is set */
	assert_string_equal(item_get(IFLIST, it, "include"), "");
	commit(st, "lists");
	store_close(st);
}

/* ---- transactions ---- */

/* A committed starting point with items in several menus. */
static void fill(struct store *st)
{
	struct err e;
	err_clear(&e);
	begin(st);
	for (int i = 0; i < 8; i++) {
		char c[16];
		snprintf(c, sizeof(c), "r%d", i);
		add_rule(st, c, SIZE_MAX);
	}
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=srcnat", "action=masquerade",
					       "comment=n0", NULL),
				   SIZE_MAX, NULL, &e),
			 0);
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=LAN", "comment=l0", NULL),
				   SIZE_MAX, NULL, &e),
			 0);
	commit(st, "fill");
}

/* Many kinds of change at once: adds (end, front, middle), replaces,
 * removes, moves, in several menus. */
static void churn(struct store *st)
{
	struct err e;
	err_clear(&e);
	add_rule(st, "new-end", SIZE_MAX);
	add_rule(st, "new-front", 0);
	add_rule(st, "new-mid", 4);
	uint32_t r2 = store_at(st, FILTER, 3)->id;
	assert_int_equal(store_replace(st, FILTER, r2, mk(FILTER, "chain=changed", NULL), &e), 0);
	assert_int_equal(store_replace(st, FILTER, r2, mk(FILTER, "chain=changed-again",
							  "action=drop", NULL), &e),
			 0);
	assert_int_equal(store_remove(st, FILTER, store_at(st, FILTER, 1)->id, &e), 0);
	assert_int_equal(store_move(st, FILTER, store_at(st, FILTER, 0)->id, SIZE_MAX, &e), 0);
	assert_int_equal(store_move(st, FILTER, store_at(st, FILTER, 5)->id, 1, &e), 0);
	assert_int_equal(store_remove(st, NAT, store_at(st, NAT, 0)->id, &e), 0);
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=dstnat", NULL), SIZE_MAX, NULL, &e), 0);
	uint32_t l = store_at(st, IFLIST, 0)->id;
	struct item *li = mk(IFLIST, "name=LAN2", NULL);
	li->flags = IF_BUILTIN;
	assert_int_equal(store_replace(st, IFLIST, l, li, &e), 0);
}

static void test_rollback_restores_memory(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	fill(st);
	char *before = snapshot(st, true);
	begin(st);
	churn(st);
	char *during = snapshot(st, true);
	assert_string_not_equal(before, during);
	store_rollback(st);
	assert_int_equal(store_depth(st), 0);
	char *after = snapshot(st, true);
	assert_string_equal(before, after);
	/* the flags of a replaced item come back too */
	assert_int_equal(store_at(st, IFLIST, 0)->flags, 0);

	/* ids given out by the rolled back transaction were never committed: the
	 * next id is still above every id in the store */
	begin(st);
	uint32_t id = add_rule(st, "next", SIZE_MAX);
	for (size_t k = 0; k + 1 < store_count(st, FILTER); k++)
		assert_true(store_at(st, FILTER, k)->id < id);
	store_rollback(st);
	free(before);
	free(during);
	free(after);
	store_close(st);
}

static void test_rollback_restores_disk(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	fill(st);
	char *before = snapshot(st, true);
	begin(st);
	churn(st);
	store_rollback(st);
	/* and an open transaction at close is rolled back */
	begin(st);
	churn(st);
	store_close(st);
	st = open_store(path);
	char *reopened = snapshot(st, true);
	assert_string_equal(before, reopened);
	free(before);
	free(reopened);
	store_close(st);
	rm_db(path);
}

static void test_nested_savepoints(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	fill(st);
	char *base = snapshot(st, true);

	begin(st);
	add_rule(st, "outer", SIZE_MAX);
	char *outer = snapshot(st, true);

	/* inner rolled back: back to the outer state exactly */
	begin(st);
	assert_int_equal(store_depth(st), 2);
	churn(st);
	begin(st);
	assert_int_equal(store_depth(st), 3);
	add_rule(st, "innermost", 0);
	commit(st, "innermost"); /* releases into the inner level */
	assert_int_equal(store_depth(st), 2);
	store_rollback(st);      /* takes the innermost with it */
	assert_int_equal(store_depth(st), 1);
	char *s = snapshot(st, true);
	assert_string_equal(outer, s);
	free(s);

	/* inner committed: kept by the outer commit */
	begin(st);
	add_rule(st, "inner", 0);
	commit(st, "inner");
	assert_int_equal(store_depth(st), 1);
	char *expect = snapshot(st, true);
	commit(st, "outer");
	assert_int_equal(store_depth(st), 0);
	s = snapshot(st, true);
	assert_string_equal(expect, s);
	free(s);
	char *o = order_of(st, FILTER);
	assert_string_equal(o, "inner,r0,r1,r2,r3,r4,r5,r6,r7,outer");
	free(o);

	/* outer rolled back after a committed inner: everything goes */
	char *committed = snapshot(st, true);
	begin(st);
	begin(st);
	churn(st);
	commit(st, "inner");
	store_rollback(st);
	s = snapshot(st, true);
	assert_string_equal(committed, s);
	free(s);

	free(base);
	free(outer);
	free(expect);
	free(committed);
	store_close(st);
}

/* Savepoints in a file store: what the outer commit writes is exactly what
 * memory shows, inner rollbacks included. */
static void test_nested_on_disk(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	fill(st);
	begin(st);
	add_rule(st, "outer", 2);
	begin(st);
	churn(st);
	store_rollback(st);
	begin(st);
	churn(st);
	commit(st, "inner");
	begin(st);
	add_rule(st, "dropped", 0);
	store_rollback(st);
	commit(st, "outer");
	char *mem = snapshot(st, true);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(mem);
	free(disk);
	store_close(st);
	rm_db(path);
}

/* ---- ids are never reused ---- */

static void test_ids_monotonic(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t a = add_rule(st, "a", SIZE_MAX);
	uint32_t b = add_rule(st, "b", SIZE_MAX);
	uint32_t c = add_rule(st, "c", SIZE_MAX);
	assert_true(a < b && b < c);
	commit(st, "three");

	/* removing the newest does not give its id back */
	begin(st);
	assert_int_equal(store_remove(st, FILTER, c, &e), 0);
	commit(st, "remove c");
	begin(st);
	uint32_t d = add_rule(st, "d", SIZE_MAX);
	assert_true(d > c);
	/* nor in another menu: ids are global */
	uint32_t n;
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=srcnat", NULL), SIZE_MAX, &n, &e), 0);
	assert_true(n > d);
	assert_int_equal(store_remove(st, FILTER, d, &e), 0);
	assert_int_equal(store_remove(st, NAT, n, &e), 0);
	commit(st, "add and remove d and n");

	/* nor after a reopen, even when the newest items are gone */
	store_close(st);
	st = open_store(path);
	begin(st);
	uint32_t f = add_rule(st, "f", SIZE_MAX);
	assert_true(f > n);
	commit(st, "f");
	store_close(st);

	/* nor when everything was removed */
	st = open_store(path);
	begin(st);
	while (store_count(st, FILTER))
		assert_int_equal(store_remove(st, FILTER, store_at(st, FILTER, 0)->id, &e), 0);
	commit(st, "remove all");
	store_close(st);
	st = open_store(path);
	begin(st);
	uint32_t g = add_rule(st, "g", SIZE_MAX);
	assert_true(g > f);
	commit(st, "g");
	store_close(st);
	rm_db(path);
}

/* ---- order across a reopen ---- */

static void test_order_survives_reopen(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	struct err e;
	err_clear(&e);

	/* 200 inserts at the front: the gap before the first item halves each
	 * time, so the table must be renumbered on the way */
	begin(st);
	for (int i = 0; i < 200; i++) {
		char c[16];
		snprintf(c, sizeof(c), "f%d", i);
		add_rule(st, c, 0);
	}
	commit(st, "front inserts");
	for (int i = 0; i < 200; i++) {
		char c[16];
		snprintf(c, sizeof(c), "f%d", 199 - i);
		assert_string_equal(item_get(FILTER, store_at(st, FILTER, (size_t)i), "comment"), c);
	}

	/* repeated inserts at one middle position (midpoints, then renumbering) */
	begin(st);
	for (int i = 0; i < 100; i++) {
		char c[16];
		snprintf(c, sizeof(c), "m%d", i);
		add_rule(st, c, 100);
	}
	commit(st, "middle inserts");

	/* many moves, including back and forth between two neighbours */
	begin(st);
	unsigned seed = 12345;
	for (int i = 0; i < 500; i++) {
		seed = seed * 1103515245u + 12345u;
		size_t n = store_count(st, FILTER);
		size_t from = (seed >> 8) % n;
		size_t to = (seed >> 18) % (n + 1);
		uint32_t id = store_at(st, FILTER, from)->id;
		assert_int_equal(store_move(st, FILTER, id, to, &e), 0);
	}
	for (int i = 0; i < 60; i++) {
		uint32_t id = store_at(st, FILTER, 51)->id;
		assert_int_equal(store_move(st, FILTER, id, 50, &e), 0);
	}
	commit(st, "moves");

	/* one transaction per move, like a console */
	for (int i = 0; i < 40; i++) {
		begin(st);
		uint32_t id = store_at(st, FILTER, store_count(st, FILTER) - 1)->id;
		assert_int_equal(store_move(st, FILTER, id, 1, &e), 0);
		commit(st, "move");
	}
	assert_int_equal(store_count(st, FILTER), 300);
	char *mem = snapshot(st, true);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(mem);
	free(disk);
	store_close(st);
	rm_db(path);
}

/* A renumbering inside a transaction that is rolled back must leave memory
 * and disk agreeing on the positions, or later inserts land in the wrong
 * place after a reopen. */
static void test_order_after_rolled_back_renumber(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	begin(st);
	for (int i = 0; i < 40; i++) {
		char c[16];
		snprintf(c, sizeof(c), "a%d", i);
		add_rule(st, c, 0); /* squeezes the keys at the front */
	}
	commit(st, "squeeze");

	/* a front insert that has to renumber, rolled back */
	begin(st);
	for (int i = 0; i < 40; i++)
		add_rule(st, "gone", 0);
	store_rollback(st);

	/* now inserts between existing items */
	begin(st);
	add_rule(st, "mid1", 10);
	add_rule(st, "mid2", 30);
	add_rule(st, "front", 0);
	commit(st, "after");
	char *mem = snapshot(st, true);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(mem);
	free(disk);

	/* the same with a move that renumbers, in a savepoint */
	begin(st);
	begin(st);
	for (int i = 0; i < 40; i++) {
		uint32_t id = store_at(st, FILTER, 20)->id;
		struct err e;
		err_clear(&e);
		assert_int_equal(store_move(st, FILTER, id, 0, &e), 0);
	}
	store_rollback(st);
	add_rule(st, "mid3", 5);
	commit(st, "outer");
	mem = snapshot(st, true);
	store_close(st);
	st = open_store(path);
	disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(mem);
	free(disk);
	store_close(st);
	rm_db(path);
}

/* ---- dynamic items ---- */

static void test_dynamic_not_on_disk(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	struct err e;
	err_clear(&e);
	const struct menu *al = menu("/ip/firewall/address-list");
	begin(st);
	add_rule(st, "s1", SIZE_MAX);
	struct item *d = mk(FILTER, "chain=forward", "comment=dyn", NULL);
	d->flags = IF_DYNAMIC;
	uint32_t did;
	assert_int_equal(store_add(st, FILTER, d, 0, &did, &e), 0);
	add_rule(st, "s2", SIZE_MAX);
	struct item *a = mk(al, "list=blocked", "address=10.0.0.1", NULL);
	a->flags = IF_DYNAMIC;
	uint32_t aid;
	assert_int_equal(store_add(st, al, a, SIZE_MAX, &aid, &e), 0);
	commit(st, "with dynamic");

	/* memory has them, with the dynamic pseudo-property */
	assert_int_equal(store_count(st, FILTER), 3);
	assert_string_equal(item_get(FILTER, store_get(st, FILTER, did), "dynamic"), "yes");
	assert_string_equal(item_get(al, store_get(st, al, aid), "dynamic"), "yes");

	/* changes to dynamic items work in memory */
	begin(st);
	struct item *d2 = mk(FILTER, "chain=forward", "comment=dyn2", NULL);
	d2->flags = IF_DYNAMIC;
	assert_int_equal(store_replace(st, FILTER, did, d2, &e), 0);
	assert_int_equal(store_move(st, FILTER, did, SIZE_MAX, &e), 0);
	commit(st, "change dynamic");
	char *o = order_of(st, FILTER);
	assert_string_equal(o, "s1,s2,dyn2");
	free(o);

	/* lots of front inserts around a dynamic item (renumbering skips it on disk) */
	begin(st);
	for (int i = 0; i < 40; i++)
		add_rule(st, "front", 0);
	commit(st, "front");

	char *mem = snapshot(st, false);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk); /* same, less the dynamic ones */
	assert_null(store_get(st, FILTER, did));
	assert_null(store_get(st, al, aid));
	assert_int_equal(store_count(st, al), 0);
	/* their ids are not reused either */
	begin(st);
	uint32_t id = add_rule(st, "new", SIZE_MAX);
	assert_true(id > aid && id > did);
	commit(st, "new");
	free(mem);
	free(disk);

	/* a dynamic item removed: nothing to delete on disk, no error */
	begin(st);
	struct item *d3 = mk(FILTER, "chain=forward", "comment=dyn3", NULL);
	d3->flags = IF_DYNAMIC;
	assert_int_equal(store_add(st, FILTER, d3, 0, &did, &e), 0);
	commit(st, "dyn3");
	begin(st);
	assert_int_equal(store_remove(st, FILTER, did, &e), 0);
	commit(st, "rm dyn3");
	store_close(st);
	rm_db(path);
}

/* Values come back from disk byte for byte; counters never reach it. */
static void test_values_round_trip(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t id;
	struct item *it = mk(FILTER, "chain=input", "comment=with \"quotes\", spaces\tand\nnewline",
			     "log-prefix=", "content=\xc3\xa9t\xc3\xa9", NULL);
	it->flags = IF_BUILTIN;
	it->bytes = 1234;
	it->packets = 5;
	assert_int_equal(store_add(st, FILTER, it, SIZE_MAX, &id, &e), 0);
	commit(st, "values");
	it = store_get(st, FILTER, id);
	assert_int_equal(it->bytes, 1234);
	store_reset_counters(st, FILTER, id);
	assert_int_equal(it->bytes, 0);
	assert_int_equal(it->packets, 0);
	char *mem = snapshot(st, true);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	it = store_get(st, FILTER, id);
	assert_int_equal(it->flags, IF_BUILTIN);
	assert_string_equal(item_get(FILTER, it, "log-prefix"), "");
	assert_non_null(it->vals[schema_prop(FILTER, "log-prefix", NULL)]); /* set, though empty */
	free(mem);
	free(disk);
	store_close(st);
	rm_db(path);
}

/* ---- journal ---- */

struct jlog {
	int n;
	char cmd[16][512];
	char who[16][64];
	int64_t seq[16];
};

static int jcollect(void *ctx, const struct journal_entry *je)
{
	struct jlog *j = ctx;
	if (j->n < 16) {
		snprintf(j->cmd[j->n], sizeof(j->cmd[0]), "%s", je->command);
		snprintf(j->who[j->n], sizeof(j->who[0]), "%s", je->who);
		j->seq[j->n] = je->seq;
		assert_true(je->at > 1600000000);
	}
	j->n++;
	return 0;
}

static int jstop(void *ctx, const struct journal_entry *je)
{
	(void)je;
	(*(int *)ctx)++;
	return 7;
}

static void test_journal(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);

	begin(st);
	add_rule(st, "a", SIZE_MAX);
	commit(st, "/ip firewall filter add chain=input comment=a");

	begin(st); /* rolled back: not journaled */
	add_rule(st, "b", SIZE_MAX);
	store_rollback(st);

	begin(st); /* nothing changed: not journaled */
	commit(st, "/ip firewall filter print");

	begin(st); /* nested: one entry, the outermost command */
	begin(st);
	add_rule(st, "c", SIZE_MAX);
	assert_int_equal(store_commit(st, "inner-who", "inner command", &e), 0);
	begin(st);
	add_rule(st, "d", SIZE_MAX);
	store_rollback(st);
	commit(st, "/import file-name=x.rsc");

	begin(st); /* only a rolled back inner change: nothing committed */
	begin(st);
	add_rule(st, "e", SIZE_MAX);
	store_rollback(st);
	commit(st, "nothing really");

	begin(st);
	assert_int_equal(store_remove(st, FILTER, store_at(st, FILTER, 0)->id, &e), 0);
	assert_int_equal(store_commit(st, NULL, NULL, &e), 0);

	struct jlog j = { 0 };
	assert_int_equal(store_journal(st, 0, jcollect, &j), 0);
	assert_int_equal(j.n, 3);
	assert_string_equal(j.cmd[0], "/ip firewall filter add chain=input comment=a");
	assert_string_equal(j.who[0], "tester");
	assert_string_equal(j.cmd[1], "/import file-name=x.rsc");
	assert_string_equal(j.who[1], "tester");
	assert_string_equal(j.cmd[2], "");
	assert_string_equal(j.who[2], "");
	assert_true(j.seq[0] < j.seq[1] && j.seq[1] < j.seq[2]);

	/* since= skips what was seen */
	struct jlog k = { 0 };
	assert_int_equal(store_journal(st, j.seq[1], jcollect, &k), 0);
	assert_int_equal(k.n, 1);
	assert_int_equal(k.seq[0], j.seq[2]);
	/* a callback can stop the walk; its value comes back */
	int calls = 0;
	assert_int_equal(store_journal(st, 0, jstop, &calls), 7);
	assert_int_equal(calls, 1);
	store_close(st);
}

static void test_journal_persists(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	begin(st);
	add_rule(st, "a", SIZE_MAX);
	commit(st, "first");
	begin(st);
	add_rule(st, "b", SIZE_MAX);
	store_rollback(st);
	store_close(st);
	st = open_store(path);
	struct jlog j = { 0 };
	assert_int_equal(store_journal(st, 0, jcollect, &j), 0);
	assert_int_equal(j.n, 1);
	assert_string_equal(j.cmd[0], "first");
	store_close(st);
	rm_db(path);
}

/* ---- listeners ---- */

struct heard {
	int calls;
	uint64_t bits[4];
	size_t nwords;
};

static void listen_fn(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct heard *h = ctx;
	h->calls++;
	h->nwords = nwords;
	memset(h->bits, 0, sizeof(h->bits));
	for (size_t i = 0; i < nwords && i < 4; i++)
		h->bits[i] = changed[i];
}

static bool bit(const struct heard *h, const struct menu *m)
{
	size_t i = schema_index(m);
	return (h->bits[i / 64] >> (i % 64)) & 1;
}

static int nbits(const struct heard *h)
{
	int n = 0;
	for (size_t i = 0; i < 4; i++)
		n += __builtin_popcountll(h->bits[i]);
	return n;
}

static void test_listeners(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	struct heard h1 = { 0 }, h2 = { 0 };
	assert_int_equal(store_subscribe(st, listen_fn, &h1), 0);
	assert_int_equal(store_subscribe(st, listen_fn, &h2), 0);

	/* one commit touching two menus: each listener once, two bits */
	begin(st);
	add_rule(st, "a", SIZE_MAX);
	add_rule(st, "b", SIZE_MAX);
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=srcnat", NULL), SIZE_MAX, NULL, &e), 0);
	assert_int_equal(h1.calls, 0); /* not before the commit */
	commit(st, "x");
	assert_int_equal(h1.calls, 1);
	assert_int_equal(h2.calls, 1);
	assert_int_equal(h1.nwords, (schema_nmenus + 63) / 64);
	assert_true(bit(&h1, FILTER));
	assert_true(bit(&h1, NAT));
	assert_int_equal(nbits(&h1), 2);

	/* the bits are cleared between commits */
	begin(st);
	assert_int_equal(store_move(st, FILTER, store_at(st, FILTER, 1)->id, 0, &e), 0);
	commit(st, "move");
	assert_int_equal(h1.calls, 2);
	assert_true(bit(&h1, FILTER));
	assert_int_equal(nbits(&h1), 1);

	/* nested: only the outermost commit is heard */
	begin(st);
	begin(st);
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=x", NULL), SIZE_MAX, NULL, &e), 0);
	commit(st, "inner");
	assert_int_equal(h1.calls, 2);
	commit(st, "outer");
	assert_int_equal(h1.calls, 3);
	assert_true(bit(&h1, IFLIST));
	assert_int_equal(nbits(&h1), 1);

	/* rollback: nothing heard */
	begin(st);
	add_rule(st, "c", SIZE_MAX);
	store_rollback(st);
	assert_int_equal(h1.calls, 3);
	/* no change: nothing heard */
	begin(st);
	commit(st, "print");
	assert_int_equal(h1.calls, 3);
	/* and a rolled back change does not show up in the next commit */
	begin(st);
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=dstnat", NULL), SIZE_MAX, NULL, &e), 0);
	store_rollback(st);
	begin(st);
	add_rule(st, "d", SIZE_MAX);
	commit(st, "d");
	assert_int_equal(h1.calls, 4);
	assert_true(bit(&h1, FILTER));
	assert_false(bit(&h1, NAT));
	assert_int_equal(nbits(&h1), 1);

	/* an inner rollback inside a committed outer: only what stayed */
	begin(st);
	add_rule(st, "e", SIZE_MAX);
	begin(st);
	assert_int_equal(store_add(st, NAT, mk(NAT, "chain=dstnat", NULL), SIZE_MAX, NULL, &e), 0);
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=y", NULL), SIZE_MAX, NULL, &e), 0);
	store_rollback(st);
	commit(st, "e");
	assert_int_equal(h1.calls, 5);
	assert_true(bit(&h1, FILTER));
	assert_false(bit(&h1, NAT));
	assert_false(bit(&h1, IFLIST));
	assert_int_equal(nbits(&h1), 1);

	/* an outer transaction whose only change was rolled back: not heard */
	begin(st);
	begin(st);
	add_rule(st, "f", SIZE_MAX);
	store_rollback(st);
	commit(st, "nothing");
	assert_int_equal(h1.calls, 5);

	/* counters are not configuration: no notification */
	store_reset_counters(st, FILTER, store_at(st, FILTER, 0)->id);
	assert_int_equal(h1.calls, 5);
	assert_int_equal(h2.calls, 5);
	store_close(st);
}

/* A listener may itself change the store (a dynamic item, say): the
 * listeners after it still hear of the commit they were called for. */
struct writer {
	struct store *st;
	int calls;
};

static void writer_fn(void *ctx, const uint64_t *changed, size_t nwords)
{
	(void)changed;
	(void)nwords;
	struct writer *w = ctx;
	if (w->calls++ > 0)
		return;
	struct err e;
	err_clear(&e);
	begin(w->st);
	struct item *d = mk(NAT, "chain=dstnat", NULL);
	d->flags = IF_DYNAMIC;
	assert_int_equal(store_add(w->st, NAT, d, SIZE_MAX, NULL, &e), 0);
	commit(w->st, "from a listener");
}

static void test_listener_that_writes(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct writer w = { st, 0 };
	struct heard h = { 0 };
	assert_int_equal(store_subscribe(st, writer_fn, &w), 0);
	assert_int_equal(store_subscribe(st, listen_fn, &h), 0);
	begin(st);
	add_rule(st, "a", SIZE_MAX);
	commit(st, "a");
	/* the writer ran twice (its own commit too); the second listener heard
	 * both commits, each with its own menu */
	assert_int_equal(w.calls, 2);
	assert_int_equal(h.calls, 2);
	assert_true(bit(&h, FILTER));
	assert_false(bit(&h, NAT));
	assert_int_equal(nbits(&h), 1);
	assert_int_equal(store_count(st, NAT), 1);
	store_close(st);
}

/* ---- history: undo, redo, safe mode ---- */

struct hlog {
	size_t n;
	char cmd[8][64];
	bool undone[8], next_undo[8], next_redo[8], floating[8];
	uint64_t session[8];
};

static int hcollect(void *ctx, const struct store_hist *h)
{
	struct hlog *l = ctx;
	if (l->n < 8) {
		snprintf(l->cmd[l->n], sizeof(l->cmd[0]), "%s", h->command);
		l->undone[l->n] = h->undone;
		l->next_undo[l->n] = h->next_undo;
		l->next_redo[l->n] = h->next_redo;
		l->floating[l->n] = h->floating;
		l->session[l->n] = h->session;
		assert_true(h->at > 1600000000);
	}
	l->n++;
	return 0;
}

static struct hlog hist_of(struct store *st)
{
	struct hlog l;
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_history(st, hcollect, &l), 0);
	return l;
}

static void undo_ok(struct store *st, uint64_t session)
{
	struct err e;
	err_clear(&e);
	if (store_undo(st, session, "tester", "/undo", &e) < 0)
		fail_msg("store_undo: %s", e.msg);
	assert_int_equal(store_depth(st), 0);
}

static void redo_ok(struct store *st)
{
	struct err e;
	err_clear(&e);
	if (store_redo(st, "tester", "/redo", &e) < 0)
		fail_msg("store_redo: %s", e.msg);
	assert_int_equal(store_depth(st), 0);
}

/* A committed change of session sid (0 = none). */
static void commit_as(struct store *st, uint64_t sid, const char *cmd)
{
	store_set_session(st, sid);
	commit(st, cmd);
}

/* Three rules a, b, c committed as one history entry, then the change made
 * by fn; undo gives back the state before fn, redo the state after, twice
 * over (the records handed back and forth stay exact). */
static void undo_redo_round(void (*fn)(struct store *, const uint32_t *ids), const char *what)
{
	struct store *st = open_store(":memory:");
	uint32_t ids[3];
	begin(st);
	ids[0] = add_rule(st, "a", SIZE_MAX);
	ids[1] = add_rule(st, "b", SIZE_MAX);
	ids[2] = add_rule(st, "c", SIZE_MAX);
	commit(st, "abc");
	char *before = snapshot(st, true);
	begin(st);
	fn(st, ids);
	commit(st, what);
	char *after = snapshot(st, true);
	assert_string_not_equal(before, after);
	for (int round = 0; round < 2; round++) {
		undo_ok(st, 0);
		char *now = snapshot(st, true);
		assert_string_equal(now, before);
		free(now);
		struct hlog l = hist_of(st);
		assert_int_equal(l.n, 2);
		assert_string_equal(l.cmd[1], what);
		assert_true(l.undone[1] && l.next_redo[1] && !l.undone[0] && l.next_undo[0]);
		redo_ok(st);
		now = snapshot(st, true);
		assert_string_equal(now, after);
		free(now);
		l = hist_of(st);
		assert_true(!l.undone[1] && l.next_undo[1] && !l.next_redo[1]);
	}
	/* and the first entry goes too: nothing left */
	undo_ok(st, 0);
	undo_ok(st, 0);
	assert_int_equal(store_count(st, FILTER), 0);
	struct err e;
	err_clear(&e);
	assert_int_equal(store_undo(st, 0, "tester", "/undo", &e), -1);
	assert_string_equal(e.msg, "nothing to undo");
	/* ids are never reused: a redo brings the same ones back */
	redo_ok(st);
	assert_int_equal(store_at(st, FILTER, 0)->id, ids[0]);
	assert_int_equal(store_at(st, FILTER, 2)->id, ids[2]);
	free(before);
	free(after);
	store_close(st);
}

static void ch_add(struct store *st, const uint32_t *ids)
{
	(void)ids;
	add_rule(st, "d", SIZE_MAX);
}

static void ch_place_before(struct store *st, const uint32_t *ids)
{
	(void)ids;
	add_rule(st, "d", 1);
	add_rule(st, "e", 0);
}

static void ch_set(struct store *st, const uint32_t *ids)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(store_replace(st, FILTER, ids[1],
				       mk(FILTER, "chain=forward", "action=drop", NULL), &e), 0);
}

static void ch_remove(struct store *st, const uint32_t *ids)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(store_remove(st, FILTER, ids[1], &e), 0);
	assert_int_equal(store_remove(st, FILTER, ids[0], &e), 0);
}

static void ch_move(struct store *st, const uint32_t *ids)
{
	struct err e;
	err_clear(&e);
	assert_int_equal(store_move(st, FILTER, ids[0], SIZE_MAX, &e), 0); /* b,c,a */
	assert_int_equal(store_move(st, FILTER, ids[2], 0, &e), 0);        /* c,b,a */
}

/* What an import does: one outer transaction, a savepoint per line (one
 * rolled back), several kinds of change and a renumbering of positions. */
static void ch_import(struct store *st, const uint32_t *ids)
{
	struct err e;
	err_clear(&e);
	for (int i = 0; i < 40; i++) { /* 40 inserts at one place: no gap left */
		begin(st);
		add_rule(st, "i", 1);
		assert_int_equal(store_commit(st, "tester", NULL, &e), 0);
	}
	begin(st);
	add_rule(st, "rolled-back", 0);
	store_rollback(st);
	begin(st);
	assert_int_equal(store_replace(st, FILTER, ids[2], mk(FILTER, "chain=output", NULL), &e),
			 0);
	assert_int_equal(store_remove(st, FILTER, ids[1], &e), 0);
	assert_int_equal(store_move(st, FILTER, ids[0], SIZE_MAX, &e), 0);
	assert_int_equal(store_commit(st, "tester", NULL, &e), 0);
}

static void test_undo_redo_add(void **state)
{
	(void)state;
	undo_redo_round(ch_add, "add");
}

static void test_undo_redo_place_before(void **state)
{
	(void)state;
	undo_redo_round(ch_place_before, "add place-before");
}

static void test_undo_redo_set(void **state)
{
	(void)state;
	undo_redo_round(ch_set, "set");
}

static void test_undo_redo_remove(void **state)
{
	(void)state;
	undo_redo_round(ch_remove, "remove");
}

static void test_undo_redo_move(void **state)
{
	(void)state;
	undo_redo_round(ch_move, "move");
}

static void test_undo_redo_import(void **state)
{
	(void)state;
	undo_redo_round(ch_import, "/import file-name=x.rsc");
}

/* What undo and redo do is on disk: a reopened store has the same ids,
 * order and values (and no history). */
static void test_undo_persists(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	uint32_t ids[3];
	begin(st);
	for (int i = 0; i < 3; i++)
		ids[i] = add_rule(st, (const char *[]){ "a", "b", "c" }[i], SIZE_MAX);
	commit(st, "abc");
	begin(st);
	ch_remove(st, ids);
	ch_add(st, ids);
	commit(st, "remove, add");
	begin(st);
	ch_set(st, (const uint32_t[]){ 0, ids[2], 0 });
	commit(st, "set");
	undo_ok(st, 0);
	undo_ok(st, 0);
	char *mem = snapshot(st, true);
	struct hlog before = hist_of(st);
	store_close(st);
	st = open_store(path);
	char *disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(disk);
	/* the history came back with the store: the same entries and flags, and
	 * redo and undo go on from them */
	struct hlog after = hist_of(st);
	assert_int_equal(after.n, 3);
	for (size_t i = 0; i < after.n; i++) {
		assert_string_equal(after.cmd[i], before.cmd[i]);
		assert_int_equal(after.undone[i], before.undone[i]);
		assert_int_equal(after.next_undo[i], before.next_undo[i]);
		assert_int_equal(after.next_redo[i], before.next_redo[i]);
		assert_int_equal(after.session[i], 0);
	}
	assert_true(after.next_redo[1] && after.next_undo[0]);
	redo_ok(st);
	redo_ok(st);
	char *o = order_of(st, FILTER);
	store_close(st);
	st = open_store(path);
	char *o2 = order_of(st, FILTER);
	assert_string_equal(o, o2);
	free(o);
	free(o2);
	struct err e;
	err_clear(&e);
	assert_int_equal(store_redo(st, "tester", "/redo", &e), -1);
	assert_string_equal(e.msg, "nothing to redo");
	undo_ok(st, 0);
	undo_ok(st, 0);
	disk = snapshot(st, true);
	assert_string_equal(mem, disk);
	free(disk);
	store_close(st);
	/* the undo was journaled like any change */
	st = open_store(path);
	struct jlog j = { 0 };
	store_journal(st, 0, jcollect, &j);
	assert_int_equal(j.n, 9);
	assert_string_equal(j.cmd[4], "/undo");
	assert_string_equal(j.cmd[5], "/redo");
	free(mem);
	store_close(st);
	rm_db(path);
}

/* /undo is strict LIFO, as RouterOS: the newest change goes first even when
 * it is unrelated. By session, the session's own newest change goes alone,
 * unless a later change still in effect touched the same items. */
static void test_undo_order_and_sessions(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t lan = 0;
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=LAN", NULL), SIZE_MAX, &lan, &e), 0);
	commit_as(st, 1, "list");
	char *s0 = snapshot(st, true);
	begin(st);
	uint32_t a = add_rule(st, "a", SIZE_MAX);
	commit_as(st, 1, "add a");
	char *s1 = snapshot(st, true);
	begin(st);
	assert_int_equal(store_replace(st, IFLIST, lan, mk(IFLIST, "name=LAN2", NULL), &e), 0);
	commit_as(st, 2, "rename list");

	/* strict: the rename (newest) goes first, then "add a" */
	undo_ok(st, 0);
	char *now = snapshot(st, true);
	assert_string_equal(now, s1);
	free(now);
	undo_ok(st, 0);
	now = snapshot(st, true);
	assert_string_equal(now, s0);
	free(now);
	redo_ok(st);
	redo_ok(st);

	/* by session: session 1's "add a" goes; session 2's later rename stays */
	undo_ok(st, 1);
	assert_null(store_get(st, FILTER, a));
	assert_string_equal(item_get(IFLIST, store_get(st, IFLIST, lan), "name"), "LAN2");
	struct hlog l = hist_of(st);
	assert_int_equal(l.n, 3);
	assert_true(!l.undone[0] && l.undone[1] && !l.undone[2]);
	/* session 1's "list" was renamed since by session 2: refused, nothing changes */
	char *before = snapshot(st, true);
	err_clear(&e);
	assert_int_equal(store_undo(st, 1, "tester", "/undo", &e), -1);
	assert_non_null(strstr(e.msg, "cannot undo 'list'"));
	assert_non_null(strstr(e.msg, "changed since"));
	assert_non_null(strstr(e.msg, "rename list"));
	now = snapshot(st, true);
	assert_string_equal(now, before);
	free(now);
	free(before);
	/* a session with nothing to undo */
	err_clear(&e);
	assert_int_equal(store_undo(st, 3, "tester", "/undo", &e), -1);
	assert_string_equal(e.msg, "nothing to undo");
	/* redo brings "add a" back, with its id */
	redo_ok(st);
	assert_non_null(store_get(st, FILTER, a));

	/* a new change drops what could be redone */
	undo_ok(st, 0);
	begin(st);
	add_rule(st, "b", SIZE_MAX);
	commit(st, "add b");
	err_clear(&e);
	assert_int_equal(store_redo(st, "tester", "/redo", &e), -1);
	assert_string_equal(e.msg, "nothing to redo");
	l = hist_of(st);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.cmd[2], "add b");
	/* neither runs inside a transaction */
	begin(st);
	assert_int_equal(store_undo(st, 0, "tester", "/undo", &e), -1);
	assert_non_null(strstr(e.msg, "inside a transaction"));
	store_rollback(st);
	free(s0);
	free(s1);
	store_close(st);
}

/* A restored item may not take a name that another item took since. */
static void test_undo_unique_names(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t lan = 0;
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=LAN", NULL), SIZE_MAX, &lan, &e), 0);
	commit_as(st, 1, "add LAN");
	begin(st);
	assert_int_equal(store_remove(st, IFLIST, lan, &e), 0);
	commit_as(st, 1, "remove LAN");
	begin(st);
	assert_int_equal(store_add(st, IFLIST, mk(IFLIST, "name=LAN", NULL), SIZE_MAX, NULL, &e), 0);
	commit_as(st, 2, "add another LAN");
	char *before = snapshot(st, true);
	err_clear(&e);
	assert_int_equal(store_undo(st, 1, "tester", "/undo", &e), -1);
	assert_non_null(strstr(e.msg, "cannot undo 'remove LAN'"));
	assert_non_null(strstr(e.msg, "name=LAN exists again"));
	char *now = snapshot(st, true);
	assert_string_equal(now, before);
	free(now);
	free(before);
	store_close(st);
}

/* Dynamic items, the router's own changes and what was rolled back are not
 * history; the history keeps the last STORE_HISTORY_MAX entries. */
static void test_history_what_counts(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	struct item *d = mk(NAT, "chain=dstnat", NULL);
	d->flags = IF_DYNAMIC;
	assert_int_equal(store_add(st, NAT, d, SIZE_MAX, NULL, &e), 0);
	commit(st, "dynamic");
	begin(st);
	add_rule(st, "system", SIZE_MAX);
	assert_int_equal(store_commit(st, STORE_WHO_SYSTEM, "built-in", &e), 0);
	begin(st);
	add_rule(st, "gone", SIZE_MAX);
	store_rollback(st);
	begin(st);
	commit(st, "nothing");
	assert_int_equal(hist_of(st).n, 0);
	/* a change that touches a dynamic item and a stored one: only the stored
	 * one is undone */
	begin(st);
	d = mk(NAT, "chain=dstnat", "comment=dyn2", NULL);
	d->flags = IF_DYNAMIC;
	assert_int_equal(store_add(st, NAT, d, SIZE_MAX, NULL, &e), 0);
	add_rule(st, "mixed", SIZE_MAX);
	commit(st, "mixed");
	undo_ok(st, 0);
	assert_int_equal(store_count(st, NAT), 2);
	assert_int_equal(store_count(st, FILTER), 1);
	redo_ok(st);
	for (int i = 0; i < STORE_HISTORY_MAX + 5; i++) {
		begin(st);
		add_rule(st, "many", SIZE_MAX);
		char cmd[32];
		snprintf(cmd, sizeof(cmd), "many %d", i);
		commit(st, cmd);
	}
	struct hlog l = hist_of(st);
	assert_int_equal(l.n, STORE_HISTORY_MAX);
	assert_string_equal(l.cmd[0], "many 5");
	store_close(st);
}

/* A store closed while a session holds safe mode (the process killed: no
 * unroll ran) is put back by the next open: that session's changes since it
 * took safe mode go, older ones and other sessions' stay, and the open says
 * so. An entry changed by an undo before the crash is not undone twice. */
static void test_safe_mode_crash(void **state)
{
	(void)state;
	char path[64];
	tmp_db(path, sizeof(path));
	struct store *st = open_store(path);
	struct err e;
	err_clear(&e);
	begin(st);
	uint32_t keep = add_rule(st, "keep", SIZE_MAX);
	uint32_t gone = add_rule(st, "gone", SIZE_MAX);
	commit_as(st, 7, "before");
	char *s0 = snapshot(st, true);
	assert_int_equal(store_safe_take(st, 7, "alice", &e), 0);
	begin(st);
	add_rule(st, "new", 0);
	commit_as(st, 7, "add");
	begin(st);
	assert_int_equal(store_replace(st, FILTER, keep,
				       mk(FILTER, "chain=forward", "comment=keep2", NULL), &e),
			 0);
	commit_as(st, 7, "set");
	begin(st);
	assert_int_equal(store_remove(st, FILTER, gone, &e), 0);
	commit_as(st, 7, "remove");
	begin(st);
	add_rule(st, "temp", SIZE_MAX);
	commit_as(st, 7, "temp");
	undo_ok(st, 7); /* temp taken back before the crash */
	/* what kill -9 leaves: no unroll; a copy of the files as they are */
	char crash[80];
	snprintf(crash, sizeof(crash), "%s.crash", path);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	char sql[200];
	snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", crash);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_close(st);
	st = open_store(crash);
	assert_non_null(store_recovered(st));
	assert_string_equal(store_recovered(st),
			    "safe mode of alice was held when the router stopped: 3 changes undone");
	char *now = snapshot(st, true);
	assert_string_equal(now, s0);
	free(now);
	assert_int_equal(store_safe_holder(st, NULL), 0);
	store_close(st);
	/* and only once */
	st = open_store(crash);
	assert_null(store_recovered(st));
	now = snapshot(st, true);
	assert_string_equal(now, s0);
	free(now);
	store_close(st);
	free(s0);
	rm_db(crash);
	rm_db(path);
}

static void test_safe_mode(void **state)
{
	(void)state;
	struct store *st = open_store(":memory:");
	struct err e;
	err_clear(&e);
	begin(st);
	add_rule(st, "before", SIZE_MAX);
	commit_as(st, 1, "before");
	char *s0 = snapshot(st, true);
	assert_int_equal(store_safe_take(st, 1, "alice", &e), 0);
	assert_int_equal(store_safe_take(st, 1, "alice", &e), 0); /* again: no change */
	err_clear(&e);
	assert_int_equal(store_safe_take(st, 2, "bob", &e), -1);
	assert_string_equal(e.msg, "safe mode already taken by alice");
	const char *who = NULL;
	assert_int_equal(store_safe_holder(st, &who), 1);
	assert_string_equal(who, "alice");
	/* alice's changes, and bob's in between */
	begin(st);
	uint32_t a = add_rule(st, "alice1", SIZE_MAX);
	commit_as(st, 1, "alice1");
	begin(st);
	uint32_t b = add_rule(st, "bob", 0);
	commit_as(st, 2, "bob");
	begin(st);
	assert_int_equal(store_move(st, FILTER, a, 0, &e), 0);
	assert_int_equal(store_replace(st, FILTER, store_at(st, FILTER, 2)->id,
				       mk(FILTER, "chain=forward", "comment=before2", NULL), &e),
			 0);
	commit_as(st, 1, "alice2");
	struct hlog l = hist_of(st);
	assert_int_equal(l.n, 4);
	assert_true(!l.floating[0] && l.floating[1] && !l.floating[2] && l.floating[3]);
	/* the session ends: alice's changes go, newest first; bob's stay */
	assert_int_equal(store_safe_unroll(st, 1, &e), 0);
	assert_int_equal(store_safe_holder(st, NULL), 0);
	assert_null(store_get(st, FILTER, a));
	assert_non_null(store_get(st, FILTER, b));
	char *o = order_of(st, FILTER);
	assert_string_equal(o, "bob,before");
	free(o);
	begin(st);
	assert_int_equal(store_remove(st, FILTER, b, &e), 0);
	commit_as(st, 2, "bob removes his");
	char *now = snapshot(st, true);
	assert_string_equal(now, s0);
	free(now);
	/* unrolling a session that does not hold safe mode does nothing */
	assert_int_equal(store_safe_unroll(st, 2, &e), 0);

	/* released: the changes stay, and bob may take it */
	assert_int_equal(store_safe_take(st, 1, "alice", &e), 0);
	begin(st);
	add_rule(st, "kept", SIZE_MAX);
	commit_as(st, 1, "kept");
	store_safe_release(st, 2); /* not bob's to release */
	assert_int_equal(store_safe_holder(st, NULL), 1);
	store_safe_release(st, 1);
	assert_int_equal(store_safe_unroll(st, 1, &e), 0);
	o = order_of(st, FILTER);
	assert_string_equal(o, "before,kept");
	free(o);
	assert_int_equal(store_safe_take(st, 2, "bob", &e), 0);

	/* more changes than the history holds: safe mode ends on its own and
	 * nothing is undone */
	for (int i = 0; i < STORE_HISTORY_MAX; i++) {
		begin(st);
		add_rule(st, "many", SIZE_MAX);
		commit_as(st, 2, "many");
	}
	assert_int_equal(store_safe_holder(st, NULL), 2);
	begin(st);
	add_rule(st, "one too many", SIZE_MAX);
	commit_as(st, 2, "one too many");
	assert_int_equal(store_safe_holder(st, NULL), 0);
	assert_int_equal(store_safe_unroll(st, 2, &e), 0);
	assert_int_equal(store_count(st, FILTER), 2 + STORE_HISTORY_MAX + 1);
	free(s0);
	store_close(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_open_memory),
		cmocka_unit_test(test_open_file),
		cmocka_unit_test(test_outside_transaction),
		cmocka_unit_test(test_add_replace_remove_move),
		cmocka_unit_test(test_by_key_and_pseudo_props),
		cmocka_unit_test(test_rollback_restores_memory),
		cmocka_unit_test(test_rollback_restores_disk),
		cmocka_unit_test(test_nested_savepoints),
		cmocka_unit_test(test_nested_on_disk),
		cmocka_unit_test(test_ids_monotonic),
		cmocka_unit_test(test_order_survives_reopen),
		cmocka_unit_test(test_order_after_rolled_back_renumber),
		cmocka_unit_test(test_dynamic_not_on_disk),
		cmocka_unit_test(test_values_round_trip),
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_journal_persists),
		cmocka_unit_test(test_claim),
		cmocka_unit_test(test_listeners),
		cmocka_unit_test(test_listener_that_writes),
		cmocka_unit_test(test_undo_redo_add),
		cmocka_unit_test(test_undo_redo_place_before),
		cmocka_unit_test(test_undo_redo_set),
		cmocka_unit_test(test_undo_redo_remove),
		cmocka_unit_test(test_undo_redo_move),
		cmocka_unit_test(test_undo_redo_import),
		cmocka_unit_test(test_undo_persists),
		cmocka_unit_test(test_undo_order_and_sessions),
		cmocka_unit_test(test_undo_unique_names),
		cmocka_unit_test(test_history_what_counts),
		cmocka_unit_test(test_safe_mode),
		cmocka_unit_test(test_safe_mode_crash),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
