/*
 * conf: the command core. A console line, an imported script, and later an
 * API sentence or a REST request all become calls into this module: the
 * RouterOS script language is interpreted here (menu navigation, commands
 * with name=value arguments, [ ] substitution, ( ) expressions, :put,
 * :local, :global, :if, :foreach ...) and every command runs against the
 * store as one transaction, so a failing command changes nothing.
 * A session is owned by one thread. Errors: negative return, struct err
 * with line, column and the offending property when known.
 */
#ifndef ROSFW_CONF_CONF_H
#define ROSFW_CONF_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../util/err.h"
#include "../util/sbuf.h"
#include "schema.h"
#include "store.h"

struct conf_var {
	char *name;
	char *value;
	int scope; /* locals: the block depth that declared it; globals: 0 */
};

struct conf_vars {
	struct conf_var *v;
	size_t n, cap;
};

/* Item numbers of the last print of a menu ("remove 3"). */
struct conf_numbering {
	const struct menu *m;
	uint32_t *ids;
	size_t n;
};

#define CONF_LENIENT 0x01u /* import: skip failing lines, list them in the report */
#define CONF_DRYRUN  0x02u /* import: check everything, apply nothing */
#define CONF_INLINE  0x04u /* with CONF_LENIENT, a script typed or piped into the
			    * console: a failing statement's "failure: ..." goes
			    * into the output where it happened, as the console
			    * shows it after a line, not into the report */

struct conf_session {
	struct store *st;
	uint64_t id;                /* unique in the process: history and safe mode know
				     * the session by it */
	char path[160];             /* current menu or directory, "" = root */
	char user[64];
	struct sbuf out;            /* what the commands printed */
	struct sbuf warn;           /* warnings, one per line */
	struct conf_vars globals;
	struct conf_vars locals;
	int scope;
	struct conf_numbering *nums;
	size_t nnums;
	char files_dir[256];        /* export file=, import file-name=, print file= */
	bool quit;                  /* /quit was run */
	int nest;                   /* script nesting (run, import) to bound recursion */
	int subst;                  /* [ ] substitutions being run: a command there is run
				     * for its value, so print count-only and print
				     * as-value give it and print nothing of their own */
	const char *cmd_text;       /* statement being run, for the journal */
	size_t cmd_len;
	int stmt_line;              /* position of the statement being run */
	int stmt_col;
	bool virtual_ifaces;        /* sim: an interface a command names is created */
	int width;                  /* columns of the terminal the output goes to: plain
				     * print fits its tables and wraps item lists to it;
				     * 0 = no limit (scripts, pipes, files, the API) */
	/* what the session's user may do (its group's policies; all for the
	 * local console) */
	bool may_write;             /* policy write: change the configuration */
	bool may_policy;            /* policy policy: change users and groups */
	bool may_sensitive;         /* policy sensitive: see secrets (export show-sensitive) */
	/* print follow (1) or follow-only (2) was asked: a front that can stream
	 * (the daemon's console) runs follow_path print follow_args again as
	 * things change; print itself shows the items once (follow) or nothing
	 * (follow-only) */
	int follow;
	char follow_path[160];
	struct conf_args *follow_args;
	/* /log print shows only the lines after log_after (a line's id is its
	 * sequence number; 0 = every line) and moves log_last to the newest line
	 * it looked at: a front re-running /log print follow sets log_after to
	 * log_last, so a line goes out once whatever its time reads by then */
	uint32_t log_after, log_last;
	/* a change committed with no more transactions open than this is
	 * logged ("filter rule added by admin"): 0, or 1 for the statements of
	 * a script typed into the console, each final when it ends */
	int log_depth;
};

/* Creates a virtual ethernet interface (sim and trace: the interfaces of the
 * captures and of the configuration exist without hardware). */
int conf_virtual_iface(struct conf_session *s, const char *name, struct err *e);

void conf_session_init(struct conf_session *s, struct store *st, const char *user);
/* Ends the session: when it still holds safe mode, its changes since it took
 * it are undone first (a dropped connection, a console closed). */
void conf_session_free(struct conf_session *s);

/*
 * Safe mode (RouterOS Ctrl-X; /safe-mode take, release, unroll): while the
 * session holds it, what it changes is undone if it ends without releasing.
 * Only one session of a store holds it at a time. /quit releases (RouterOS
 * keeps the changes on /quit).
 */
enum conf_safe_op { CONF_SAFE_TOGGLE, CONF_SAFE_TAKE, CONF_SAFE_RELEASE, CONF_SAFE_UNROLL };
int conf_safe_mode(struct conf_session *s, enum conf_safe_op op, struct err *e);
bool conf_in_safe_mode(const struct conf_session *s);

/*
 * Runs script text (one line or many). Each top-level command is its own
 * transaction unless one is already open. Stops at the first error, which
 * carries line and column relative to the text. The value of the last
 * command (the id that add returns, what find or get give) goes to ret when
 * ret is not NULL.
 */
int conf_exec(struct conf_session *s, const char *text, struct sbuf *ret, struct err *e);

/*
 * Imports a script atomically: one transaction for the whole text; the first
 * error rolls everything back (strict). CONF_LENIENT applies every valid
 * statement and reports the others in report ("line N: reason"); CONF_DRYRUN
 * rolls back at the end whatever happened. name is used in the journal.
 * Returns 0, or -1 with e set (strict mode, or an unreadable script); with
 * CONF_INLINE, the number of statements that failed (0: none).
 */
int conf_import(struct conf_session *s, const char *text, const char *name, unsigned mode,
		struct sbuf *report, struct err *e);

/* Fills a new store with the built-in items of every menu and, when
 * with_defaults, the default configuration (examples/soho.rsc). */
int conf_store_init(struct conf_session *s, bool with_defaults, struct err *e);

/* The built-in default configuration text (examples/soho.rsc, compiled in). */
extern const char conf_default_rsc[];

/* Export of the whole configuration or of one menu/directory subtree. */
#define CONF_EXPORT_VERBOSE   0x01u
#define CONF_EXPORT_SENSITIVE 0x02u
int conf_export(struct conf_session *s, const char *path, unsigned flags, struct sbuf *out,
		struct err *e);

/* ---- used between the modules of conf (script, cmd, print, where) ---- */

struct conf_arg {
	char *name;  /* NULL for a positional value */
	char *value;
	int line, col;   /* where the argument starts (its name) */
	int vline, vcol; /* where its value starts */
};

struct conf_args {
	struct conf_arg *a;
	size_t n, cap;
};

void conf_args_add(struct conf_args *args, const char *name, const char *value, int line,
		   int col);
void conf_args_free(struct conf_args *args);

/* Runs one command (verb) at path with its arguments. */
int cmd_run(struct conf_session *s, const char *path, const char *verb,
	    const struct conf_args *args, struct sbuf *ret, struct err *e);
/* "policy" when a change (its menus, bit i = schema_menus[i]) touched users or
 * groups, else "write": what undoing it needs. */
const char *conf_change_policy(const uint64_t *menus);
/* Is verb a command of path? (for the parser and completion) */
bool cmd_exists(const char *path, const char *verb);
/* The commands of a menu or directory, NULL-terminated. */
const char *const *cmd_list(const char *path);

/* Variables. */
const char *conf_var_get(struct conf_session *s, const char *name);
void conf_var_set(struct conf_session *s, const char *name, const char *value, bool global,
		  bool declare);

/* Item selection shared by the commands. */
int conf_resolve_items(struct conf_session *s, const struct menu *m, const char *spec,
		       uint32_t **ids, size_t *n, struct err *e);
void conf_set_numbering(struct conf_session *s, const struct menu *m, const uint32_t *ids,
			size_t n);

/* where-expressions (print where ..., find where ...). */
struct where;
int where_parse(struct conf_session *s, const struct menu *m, const char *text,
		struct where **out, struct err *e);
bool where_match(const struct where *w, const struct menu *m, const struct item *it);
void where_free(struct where *w);

/* Script interpreter entry used by :if/:foreach blocks and scripts. */
int script_run(struct conf_session *s, const char *text, int line, int col, struct sbuf *ret,
	       struct err *e);

/* Print and export rendering. */
struct print_opts {
	bool detail, terse, stats, count_only, value_list, brief, show_ids;
	const char *const *proplist; /* NULL = default */
};
void print_items(struct conf_session *s, const struct menu *m, struct item **items, size_t n,
		 const struct print_opts *o, struct sbuf *out);
/* print as-value: the items as the script's array of name=value elements. */
void print_as_value(struct conf_session *s, const struct menu *m, struct item **items, size_t n,
		    const struct print_opts *o, struct sbuf *out);
void export_menu(struct conf_session *s, const struct menu *m, unsigned flags, struct sbuf *out);
/* Decodes the escape after a backslash into out; returns the characters used. */
size_t conf_unescape(const char *s, struct sbuf *out);
/* Appends a value quoted as RouterOS prints it when it needs quotes. */
void conf_quote(const char *v, bool force, struct sbuf *out);
/* True when an item refers to something that does not exist (print's I flag). */
bool conf_item_invalid(struct conf_session *s, const struct menu *m, const struct item *it);
/* Runtime menus: fills a temporary list of items (caller frees with item_free). */
int conf_runtime_items(struct conf_session *s, const struct menu *m, struct item ***items,
		       size_t *n);
/* The items print shows: a runtime menu's, or a settings menu's as its
 * owner sees them running (a provider registered for it), else the store's,
 * followed, when a provider is registered for a list menu, by the items it
 * adds (dynamic ones: /ip/arp's learnt neighbours).
 * *owned says whether the caller frees each item (item_free); the array is
 * always the caller's to free. */
void conf_menu_items(struct conf_session *s, const struct menu *m, struct item ***items,
		     size_t *n, bool *owned);

/* A log line to the system log ring (topics like "system,info"). */
void conf_log(const char *topics, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct conf_log_entry {
	int64_t at;
	char topics[48];
	char message[400];
};
size_t conf_log_snapshot(struct conf_log_entry *out, size_t max);

#endif
