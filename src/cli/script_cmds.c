/* rosfw exec / import / export: the console language from the shell. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_err(const char *where, const struct err *e)
{
	struct sbuf m = SBUF_INIT;
	err_format(e, &m);
	fprintf(stderr, "%s%s%s\n", where ? where : "", where ? ": " : "", sbuf_str(&m));
	sbuf_free(&m);
}

int exec_main(int argc, char **argv)
{
	struct cli_store cs;
	if (cli_open(&cs, &argc, argv) < 0)
		return 1;
	if (argc < 2) {
		fprintf(stderr, "usage: rosfw exec [--db PATH] 'COMMAND' ...\n");
		cli_close(&cs);
		return 2;
	}
	int rc = 0;
	for (int i = 1; i < argc && rc == 0; i++) {
		struct err e;
		struct sbuf ret = SBUF_INIT;
		if (conf_exec(&cs.s, argv[i], &ret, &e) < 0) {
			cli_flush(&cs);
			print_err(NULL, &e);
			rc = 1;
		} else {
			/* a command that printed nothing shows its value (add's id, find's ids) */
			bool quiet = cs.s.out.len == 0;
			cli_flush(&cs);
			if (quiet && ret.len)
				printf("%s\n", ret.s);
		}
		sbuf_free(&ret);
	}
	cli_close(&cs);
	return rc;
}

static char *slurp(const char *path)
{
	FILE *f = !strcmp(path, "-") ? stdin : fopen(path, "r");
	if (!f)
		return NULL;
	struct sbuf b = SBUF_INIT;
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, k);
	if (f != stdin)
		fclose(f);
	return sbuf_steal(&b);
}

int import_main(int argc, char **argv)
{
	struct cli_store cs;
	if (cli_open(&cs, &argc, argv) < 0)
		return 1;
	unsigned mode = 0;
	const char *file = NULL;
	bool verbose = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--dry-run"))
			mode |= CONF_DRYRUN;
		else if (!strcmp(argv[i], "--lenient"))
			mode |= CONF_LENIENT;
		else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
			verbose = true;
		else if (!file)
			file = argv[i];
		else {
			fprintf(stderr, "rosfw import: unexpected '%s'\n", argv[i]);
			cli_close(&cs);
			return 2;
		}
	}
	if (!file) {
		fprintf(stderr, "usage: rosfw import FILE.rsc [--dry-run] [--lenient] [--verbose]\n");
		cli_close(&cs);
		return 2;
	}
	char *text = slurp(file);
	if (!text) {
		fprintf(stderr, "rosfw import: cannot read %s: %s\n", file, strerror(errno));
		cli_close(&cs);
		return 1;
	}
	struct err e;
	struct sbuf report = SBUF_INIT;
	int rc = conf_import(&cs.s, text, file, mode, &report, &e);
	if (cs.s.warn.len) {
		fputs(sbuf_str(&cs.s.warn), stderr);
		sbuf_reset(&cs.s.warn);
	}
	if (verbose)
		fputs(sbuf_str(&cs.s.out), stdout);
	sbuf_reset(&cs.s.out);
	fputs(sbuf_str(&report), stderr);
	if (rc < 0) {
		print_err(file, &e);
		fprintf(stderr, "%s: nothing was changed\n", file);
	} else if (!(mode & CONF_LENIENT)) {
		fprintf(stderr, "%s: imported%s\n", file,
			(mode & CONF_DRYRUN) ? " (dry run: nothing changed)" : "");
	}
	sbuf_free(&report);
	free(text);
	cli_close(&cs);
	return rc < 0 ? 1 : 0;
}

int export_main(int argc, char **argv)
{
	struct cli_store cs;
	if (cli_open_for(&cs, &argc, argv, false) < 0)
		return 1;
	unsigned flags = 0;
	char path[160] = "";
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "verbose"))
			flags |= CONF_EXPORT_VERBOSE;
		else if (!strcmp(argv[i], "--show-sensitive") || !strcmp(argv[i], "show-sensitive"))
			flags |= CONF_EXPORT_SENSITIVE;
		else {
			/* "/ip firewall filter", "ip/firewall/filter" or "/ip/firewall/filter" */
			size_t k = 0;
			const char *a = argv[i];
			if (*a != '/')
				path[k++] = '/';
			for (; *a && k + 1 < sizeof(path); a++)
				path[k++] = *a == ' ' ? '/' : *a;
			path[k] = 0;
		}
	}
	struct err e;
	struct sbuf out = SBUF_INIT;
	int rc = conf_export(&cs.s, path, flags, &out, &e);
	if (rc < 0)
		print_err("rosfw export", &e);
	else
		fputs(sbuf_str(&out), stdout);
	sbuf_free(&out);
	cli_close(&cs);
	return rc < 0 ? 1 : 0;
}
