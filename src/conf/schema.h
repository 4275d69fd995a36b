/*
 * schema: one declarative table per RouterOS menu. A menu lists its
 * properties (type, default, flags), whether its items are ordered, which
 * property names an item, its built-in items and a cross-field validator.
 * Parsing, print, export, completion (and later API and REST) are generic
 * over these tables; nothing about a menu is written anywhere else.
 * The tables are constant and shared by all threads.
 */
#ifndef ROSFW_CONF_SCHEMA_H
#define ROSFW_CONF_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "types.h"

struct store;
struct item;

/* Property flags. */
#define PF_RO        0x0001u /* read-only status: shown, never set by a user */
#define PF_REQ       0x0002u /* must be given on add */
#define PF_NEG       0x0004u /* accepts a leading '!' (negated match) */
#define PF_LIST      0x0008u /* comma-separated list of elements of the type */
#define PF_SENSITIVE 0x0010u /* secret: export hides it unless show-sensitive */
#define PF_STAT      0x0020u /* runtime counter/statistic: print stats, never stored */
#define PF_NOEXPORT  0x0040u /* never exported (derived values) */
#define PF_UNIQUE    0x0080u /* no two items of the menu share the value */
#define PF_DETAIL    0x0100u /* shown by print detail only, not plain print */
#define PF_ADDONLY   0x0200u /* can be given on add, not changed by set */
#define PF_HASHED    0x0800u /* stored as a password hash (libsodium argon2id) */
#define PF_DYNAMIC   0x0400u /* an item added with this property set is dynamic:
			      * it lives in memory only (address-list timeout) */

struct prop {
	const char *name;
	enum ptype type;
	unsigned flags;
	const char *def;          /* canonical default; NULL = unset, not printed */
	const char *const *enums; /* T_ENUM (and enum lists): NULL-terminated values */
	long long min, max;       /* T_INT/T_NUM bounds; T_STR max length when max > 0 */
	const char *alias;        /* a second accepted name (seed's packet-marks) */
	const char *ref;          /* T_REF target: a menu path, or "interface" for any interface;
				   * on a T_CUSTOM pair, the menu both names refer to */
	int (*check)(const struct prop *p, const char *in, struct sbuf *out, struct err *e);
	const char *help;         /* one line shown by '?' in the console */
};

/* Menu flags. */
#define MF_ORDERED   0x01u /* order matters: move, place-before, numbered rules */
#define MF_SINGLETON 0x02u /* one settings item: print/set/get/export only */
#define MF_RUNTIME   0x04u /* items come from a provider at run time, never stored */
#define MF_FIXED     0x08u /* no add/remove by users: the items are built in */
#define MF_NOEXPORT  0x10u /* export skips this menu entirely */
#define MF_SPARSE    0x20u /* plain print shows only what is set (firewall rules) */
#define MF_LINES     0x40u /* plain print: one line per item, its columns apart by a
			    * space, no header or numbers (RouterOS's /log) */
#define MF_FORGET    0x80u /* a runtime menu whose items remove makes their owner
			    * forget (conf_set_remove_hook: /ipv6/neighbor,
			    * /ip/firewall/connection) */

/* A flag letter in print's "Flags:" header, shown when the bool prop is yes. */
struct flagdef {
	char letter;
	const char *label; /* "disabled" */
	const char *prop;  /* "disabled"; "dynamic", "invalid", "builtin" are item state */
};

struct menu {
	const char *path;            /* "/ip/firewall/filter" */
	const struct prop *props;
	size_t nprops;
	unsigned flags;
	const char *key;             /* property that names an item ("name"), or NULL */
	const struct flagdef *flagdefs; /* terminated by letter 0; NULL = none */
	const char *const *columns;  /* plain print as a table; NULL = property list */
	const char *const *stats;    /* print stats columns (identity columns then counters) */
	const char *const *builtin;  /* built-in items as "prop=value ..." lines; NULL-terminated */
	/* Cross-property and cross-item checks for an item about to be stored.
	 * Called after every property has been type-checked. */
	int (*validate)(struct store *st, const struct menu *m, const struct item *it,
			struct err *e);
	const char *help;
};

/* The flags most item menus show: X disabled, I invalid, D dynamic. */
extern const struct flagdef schema_flags_xid[];

/* All menus, in the order export writes them (RouterOS export order). */
extern const struct menu *const schema_menus[];
extern const size_t schema_nmenus;

const struct menu *schema_find(const char *path);
/* Index of the menu in schema_menus (stable for the process). */
size_t schema_index(const struct menu *m);
/* True when path ("/ip", "/ip/firewall") leads to at least one menu below it,
 * or is one of the directories that hold commands only (schema_cmd_dirs). */
bool schema_is_dir(const char *path);
/* Directories of commands without a menu ("/safe-mode"), NULL-terminated;
 * cmd_list names their commands. */
extern const char *const schema_cmd_dirs[];
/* Property by name or alias, -1 if none. *aliased says whether the alias matched. */
int schema_prop(const struct menu *m, const char *name, bool *aliased);
/* The item state a query names instead of a property: "dynamic",
 * "invalid", "builtin", or the label of one of m's flags that stands for
 * one of them (/ipv6 nd's '*' flag: default=yes is builtin=yes). NULL for
 * any other name. */
const char *schema_state_name(const struct menu *m, const char *name);
/* The closest property name for a "did you mean", or NULL. */
const char *schema_suggest(const struct menu *m, const char *name);
/* Edit distance used by the suggestions (exported for tests). */
int schema_distance(const char *a, const char *b);

#endif
