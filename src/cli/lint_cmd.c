/* rosfw lint: the classic mistakes of a configuration, before it reaches a router. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "lint/lint.h"

int lint_main(int argc, char **argv)
{
	const char *configs[MAX_CONFIGS], *db = NULL;
	size_t n = 0;
	bool lenient = false;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc && n < MAX_CONFIGS)
			configs[n++] = argv[++i];
		else if (!strcmp(argv[i], "--db") && i + 1 < argc)
			db = argv[++i];
		else if (!strcmp(argv[i], "--lenient"))
			lenient = true;
		else if (argv[i][0] != '-' && n < MAX_CONFIGS)
			configs[n++] = argv[i];
		else {
			fprintf(stderr, "usage: rosfw lint (FILE.rsc ... | --config FILE.rsc | --db PATH) "
					"[--lenient]\n"
					"exit status: 0 clean, 1 warnings, 2 errors\n");
			return 64;
		}
	}
	struct cli_loaded o;
	if (cli_load(&o, configs, n, db, lenient, NULL, 0, false) < 0)
		return 64;
	struct lint_report r;
	lint_run(o.st, &r);
	struct sbuf out = SBUF_INIT;
	lint_format(&r, &out);
	fputs(sbuf_str(&out), stdout);
	int rc = 0;
	for (size_t i = 0; i < r.n; i++)
		rc = r.f[i].level == LINT_ERROR ? 2 : rc ? rc : 1;
	printf("%zu finding%s\n", r.n, r.n == 1 ? "" : "s");
	sbuf_free(&out);
	lint_report_free(&r);
	cli_unload(&o);
	return rc;
}
