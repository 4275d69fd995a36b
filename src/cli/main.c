#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "conf/runtime.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *help;
} subcommands[] = {
	{ "run", run_main, "the router: dataplane, console socket, API and REST [--console]" },
	{ "console", console_main, "interactive RouterOS console (stdin script when not a terminal)" },
	{ "exec", exec_main, "run one or more commands and print the result" },
	{ "import", import_main, "import a .rsc script atomically [--dry-run|--lenient]" },
	{ "export", export_main, "print the configuration as a RouterOS script [--verbose] [MENU]" },
	{ "sim", sim_main, "run captures through a configuration offline (pcap in, pcap + verdicts out)" },
	{ "trace", trace_main, "follow one packet through every stage and rule" },
	{ "lab", lab_main, "the router on veths between hosts in network namespaces: up|down|status|test" },
	{ "lint", lint_main, "the classic mistakes of a configuration (exit 0 clean, 1 warnings, 2 errors)" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: rosfw [--db PATH] COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %-8s %s\n", subcommands[i].name, subcommands[i].help);
	fprintf(f, "\ncommon options: --db PATH (or ROSFW_DB; default var/rosfw.db; :memory: for none),\n"
		   "  --no-defaults (a new store gets only the built-in items), --files DIR\n");
}

int cli_open(struct cli_store *cs, int *argc, char **argv)
{
	return cli_open_for(cs, argc, argv, true);
}

int cli_open_for(struct cli_store *cs, int *argc, char **argv, bool write)
{
	const char *db = getenv("ROSFW_DB");
	const char *files = getenv("ROSFW_FILES");
	bool defaults = true;
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--db") && i + 1 < *argc)
			db = argv[++i];
		else if (!strncmp(argv[i], "--db=", 5))
			db = argv[i] + 5;
		else if (!strcmp(argv[i], "--files") && i + 1 < *argc)
			files = argv[++i];
		else if (!strcmp(argv[i], "--no-defaults"))
			defaults = false;
		else
			argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	if (!db)
		db = "var/rosfw.db";
	cs->db = db;
	struct err e;
	err_clear(&e);
	if (strcmp(db, ":memory:")) {
		/* the directory of the store, like make run's var/ */
		char dir[512];
		snprintf(dir, sizeof(dir), "%s", db);
		char *sl = strrchr(dir, '/');
		if (sl) {
			*sl = 0;
			mkdir(dir, 0755);
		}
	}
	if (store_open(&cs->st, db, &e) < 0 || (write && store_claim(cs->st, &e) < 0)) {
		fprintf(stderr, "rosfw: %s\n", e.msg);
		store_close(cs->st);
		cs->st = NULL;
		return -1;
	}
	conf_session_init(&cs->s, cs->st, "admin");
	if (files) {
		snprintf(cs->s.files_dir, sizeof(cs->s.files_dir), "%s", files);
	} else if (strcmp(db, ":memory:")) {
		char dir[256];
		snprintf(dir, sizeof(dir), "%s", db);
		char *sl = strrchr(dir, '/');
		if (sl) {
			*sl = 0;
			snprintf(cs->s.files_dir, sizeof(cs->s.files_dir), "%s/files", dir);
		}
	}
	if (store_is_new(cs->st) && conf_store_init(&cs->s, defaults, &e) < 0) {
		struct sbuf m = SBUF_INIT;
		err_format(&e, &m);
		fprintf(stderr, "rosfw: cannot create the configuration: %s\n", sbuf_str(&m));
		sbuf_free(&m);
		cli_close(cs);
		return -1;
	}
	conf_runtime_started();
	return 0;
}

void cli_flush(struct cli_store *cs)
{
	if (cs->s.warn.len) {
		fputs(sbuf_str(&cs->s.warn), stderr);
		sbuf_reset(&cs->s.warn);
	}
	if (cs->s.out.len) {
		fputs(sbuf_str(&cs->s.out), stdout);
		sbuf_reset(&cs->s.out);
	}
	fflush(stdout);
}

void cli_close(struct cli_store *cs)
{
	conf_session_free(&cs->s);
	store_close(cs->st);
	cs->st = NULL;
}

int main(int argc, char **argv)
{
	int i = 1;
	/* global options may stand before the subcommand */
	while (i < argc && argv[i][0] == '-' && strcmp(argv[i], "-h") && strcmp(argv[i], "--help")) {
		if ((!strcmp(argv[i], "--db") || !strcmp(argv[i], "--files")) && i + 1 < argc)
			i += 2;
		else
			i++;
	}
	if (i >= argc || !strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") ||
	    !strcmp(argv[i], "help")) {
		usage(i >= argc ? stderr : stdout);
		return i >= argc ? 2 : 0;
	}
	if (!strcmp(argv[i], "version") || !strcmp(argv[i], "--version")) {
		printf("rosfw %s\n", ROSFW_VERSION);
		return 0;
	}
	for (size_t k = 0; k < sizeof(subcommands) / sizeof(subcommands[0]); k++) {
		if (strcmp(argv[i], subcommands[k].name))
			continue;
		/* hand the subcommand argv with the global options moved after its name */
		char **nv = calloc((size_t)argc + 1, sizeof(char *));
		int n = 0;
		nv[n++] = argv[i];
		for (int j = 1; j < argc; j++)
			if (j != i)
				nv[n++] = argv[j];
		int rc = subcommands[k].fn(n, nv);
		free(nv);
		return rc;
	}
	fprintf(stderr, "rosfw: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return 2;
}
