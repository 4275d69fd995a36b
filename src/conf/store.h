/*
 * store: the configuration, kept in SQLite (WAL, synchronous=FULL) and
 * mirrored in memory as one ordered table of items per schema menu.
 * Every mutation is written through inside the open transaction and logged
 * for undo, so a rollback restores memory and disk exactly. Transactions
 * nest (savepoints): import runs one outer transaction, each of its lines
 * an inner one. Dynamic items (runtime state) live in memory only.
 * Ids are "*" + hex, monotonic over the life of the store, never reused.
 * A new store is empty: the command layer (conf_store_init) adds the
 * built-in items of the schema.
 * The store also keeps the history of recent transactions (undo, redo) and
 * who holds safe mode, on disk with the items: an open after a crash in
 * safe mode undoes that session's changes (store_recovered says so).
 * Single-threaded: one owner thread calls everything; listeners run on it.
 * Errors: negative return, message in struct err.
 */
#ifndef ROSFW_CONF_STORE_H
#define ROSFW_CONF_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "schema.h"

#define IF_DYNAMIC 0x01u /* runtime item, never written to disk */
#define IF_BUILTIN 0x02u /* built-in item: cannot be removed; export writes "set" */
#define IF_INVALID 0x04u /* item refers to something that no longer exists */

struct item {
	uint32_t id;
	const struct menu *menu;
	unsigned flags;
	char **vals;       /* one per menu property (index as in menu->props); NULL = unset */
	uint64_t bytes;    /* runtime counters (print stats, reset-counters) */
	uint64_t packets;
};

struct store;

/* path NULL or ":memory:" gives a private in-memory store. */
int store_open(struct store **out, const char *path, struct err *e);
void store_close(struct store *st);
/* Makes this process the store's one writer (a running router, an offline
 * command that changes it); -1 with a message naming the holder when
 * another process is. No-op for an in-memory store. */
int store_claim(struct store *st, struct err *e);
/* True when the store was created by this open (no configuration yet). */
bool store_is_new(const struct store *st);

/* Transactions (nest). Commit of the outermost writes the journal entry. */
int store_begin(struct store *st, struct err *e);
int store_commit(struct store *st, const char *who, const char *command, struct err *e);
void store_rollback(struct store *st);
int store_depth(const struct store *st);

/* Reading. Index order is the menu's order (position for ordered menus). */
size_t store_count(const struct store *st, const struct menu *m);
struct item *store_at(const struct store *st, const struct menu *m, size_t i);
struct item *store_get(const struct store *st, const struct menu *m, uint32_t id);
/* Position of an item in its menu, or -1. */
long store_pos(const struct store *st, const struct menu *m, uint32_t id);
/* The item whose key property (menu->key) equals name, or NULL. */
struct item *store_by_key(const struct store *st, const struct menu *m, const char *name);

/* The value shown for a property: the item's value, else the default, else NULL.
 * Item state reads as the pseudo-properties "dynamic", "invalid", "builtin" (yes/no). */
const char *item_get(const struct menu *m, const struct item *it, const char *name);
const char *item_geti(const struct menu *m, const struct item *it, int prop);
/* As item_geti, but the numeric counters "bytes" and "packets" (a firewall
 * rule's, a queue tree's) read from it->bytes/packets, written into buf
 * (n bytes): what print stats, get, where and the API show alike. */
const char *item_show(const struct menu *m, const struct item *it, int prop, char *buf,
		      size_t n);

/* A new empty item for menu m (not yet in the store). */
struct item *item_new(const struct menu *m);
struct item *item_dup(const struct menu *m, const struct item *src);
void item_free(const struct menu *m, struct item *it);
/* Sets a value on a detached item (NULL unsets). */
void item_set(const struct menu *m, struct item *it, int prop, const char *val);

/* Writing (inside a transaction). The store takes ownership of it on success
 * (and frees it on failure); pos SIZE_MAX appends. */
int store_add(struct store *st, const struct menu *m, struct item *it, size_t pos,
	      uint32_t *id_out, struct err *e);
/* Replaces the values of item id by those of it (store takes it). */
int store_replace(struct store *st, const struct menu *m, uint32_t id, struct item *it,
		  struct err *e);
int store_remove(struct store *st, const struct menu *m, uint32_t id, struct err *e);
/* Moves item id to position pos (as counted before the move, SIZE_MAX = end). */
int store_move(struct store *st, const struct menu *m, uint32_t id, size_t pos,
	       struct err *e);
/* Runtime counters: not transactional, never on disk. */
void store_reset_counters(struct store *st, const struct menu *m, uint32_t id);

/* Change notification: called after each outermost commit with the set of
 * menus changed (bit i = schema_menus[i]). */
typedef void (*store_listener_fn)(void *ctx, const uint64_t *changed, size_t nwords);
int store_subscribe(struct store *st, store_listener_fn fn, void *ctx);

/* The journal: every committed command, newest last. */
struct journal_entry {
	int64_t seq;
	int64_t at;       /* unix seconds */
	char who[64];
	char command[512];
};
typedef int (*store_journal_fn)(void *ctx, const struct journal_entry *je);
int store_journal(struct store *st, int64_t since, store_journal_fn fn, void *ctx);

/*
 * History: the last STORE_HISTORY_MAX outermost transactions that changed
 * the configuration, each with who, the command, the time and the session
 * that ran it, and the records that take it back. Dynamic items are not
 * history, nor are the changes the router makes itself (committed by
 * STORE_WHO_SYSTEM: built-in items, the default configuration, certificates).
 * Written in the transaction that makes or changes an entry, so a reopened
 * store has the same history (sessions of the old process become 0).
 *
 * store_undo applies the inverse of the newest entry not yet undone as a
 * transaction of its own (journaled and on disk like any other change):
 * an add is removed, a removed item comes back with its old id at its old
 * place, old values and positions are restored. Strict LIFO, as RouterOS:
 * with session 0 the newest entry goes; with a session, the newest entry of
 * that session, refused when a later entry still in effect touched the same
 * items. store_redo applies again the entry undone last; a commit that makes
 * a new entry drops every undone one. Neither may run inside a transaction.
 */
#define STORE_HISTORY_MAX 100
#define STORE_WHO_SYSTEM "system"

struct store_hist {
	uint64_t id;           /* increases with every entry */
	int64_t at;            /* unix seconds */
	const char *who;
	const char *command;
	uint64_t session;
	const uint64_t *menus; /* bit i = schema_menus[i] changed */
	bool undone;           /* and so redoable */
	bool next_undo;        /* the one store_undo(st, 0, ...) takes */
	bool next_redo;        /* the one store_redo takes */
	bool floating;         /* undone if the safe mode session ends without leaving it */
};
typedef int (*store_hist_fn)(void *ctx, const struct store_hist *h);
/* Calls fn for every entry, oldest first, until fn returns non-zero. */
int store_history(const struct store *st, store_hist_fn fn, void *ctx);
/* The session the open transaction runs for: its history entry keeps it. */
void store_set_session(struct store *st, uint64_t session);
/* who and command go to the journal. */
int store_undo(struct store *st, uint64_t session, const char *who, const char *command,
	       struct err *e);
int store_redo(struct store *st, const char *who, const char *command, struct err *e);

/*
 * Safe mode: one session at a time holds it. Taking it marks the history;
 * releasing keeps what was done since; unrolling undoes every entry of that
 * session since the mark, newest first, then releases (stopping at the first
 * entry that cannot be undone). When the history has no room left for the
 * session's entries, safe mode is released on its own and nothing is undone
 * (as RouterOS does).
 */
int store_safe_take(struct store *st, uint64_t session, const char *who, struct err *e);
void store_safe_release(struct store *st, uint64_t session);
int store_safe_unroll(struct store *st, uint64_t session, struct err *e);
/* The session holding safe mode (0: none) and its user. */
uint64_t store_safe_holder(const struct store *st, const char **who);
/* What store_open undid: the safe mode of a session that was still held
 * when the process using the store stopped (NULL: nothing). */
const char *store_recovered(const struct store *st);

/* Parses "*1A" into 0x1A. */
int store_parse_id(const char *s, uint32_t *id);

#endif
