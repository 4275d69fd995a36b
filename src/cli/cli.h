/*
 * cli: the `rosfw` command. main.c is only the table of subcommands; each
 * subcommand is a *_main(argc, argv) in its own file. Shared here: opening
 * the store named by --db / ROSFW_DB, creating it with the built-in items
 * and the default configuration when it is new.
 */
#ifndef ROSFW_CLI_CLI_H
#define ROSFW_CLI_CLI_H

#include <stdbool.h>

#include "conf/conf.h"

struct cli_store {
	struct store *st;
	struct conf_session s;
	const char *db;
};

/* Options every subcommand takes: --db PATH, --no-defaults, --files DIR.
 * Removes them from argv (argc updated). Returns 0 or -1 with a message. */
int cli_open(struct cli_store *cs, int *argc, char **argv);
/* The same, for a command that only reads (write false): it may run beside
 * a live router; one that writes must own the store (store_claim). */
int cli_open_for(struct cli_store *cs, int *argc, char **argv, bool write);
void cli_close(struct cli_store *cs);
/* Prints the session's warnings and output, clearing them. */
void cli_flush(struct cli_store *cs);

/* A configuration loaded for the offline commands (load.c). */
struct engine;
struct qos;
#define MAX_CONFIGS 8 /* --config given several times */
struct cli_loaded {
	struct store *st;
	struct conf_session s;
	struct engine *en;
	struct qos *qos;
	bool open_txn;
};
int cli_load(struct cli_loaded *o, const char *const *configs, size_t nconfigs, const char *db,
	     bool lenient, const char *const *ifaces, size_t nifaces, bool with_qos);
void cli_unload(struct cli_loaded *o);
char *cli_slurp(const char *path);

int console_main(int argc, char **argv);
int exec_main(int argc, char **argv);
int import_main(int argc, char **argv);
int export_main(int argc, char **argv);
int sim_main(int argc, char **argv);
/* rosfw sim --traffic (sim_traffic.c); sim_main hands over when --traffic is given. */
int sim_traffic_main(int argc, char **argv);
int trace_main(int argc, char **argv);
int run_main(int argc, char **argv);
int lint_main(int argc, char **argv);
/* rosfw lab: the router between hosts in network namespaces (lab.c). */
int lab_main(int argc, char **argv);

#endif
