/*
 * Loading a configuration for the offline commands (sim, sim --traffic,
 * trace): .rsc scripts into a private in-memory store holding only the
 * built-in items, or an existing store, which is only read (its virtual
 * interfaces live in a transaction rolled back at unload). Interfaces the
 * scripts name, and those of the captures or the traffic profile, exist as
 * virtual interfaces.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine/engine.h"
#include "qos/qos.h"
#include "sim/netsim.h"

char *cli_slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	struct sbuf b = SBUF_INIT;
	char buf[65536];
	size_t k;
	while ((k = fread(buf, 1, sizeof(buf), f)) > 0)
		sbuf_add(&b, buf, k);
	fclose(f);
	return sbuf_steal(&b);
}

static void log_line(void *ctx, const char *line)
{
	(void)ctx;
	conf_log("firewall,info", "%s", line);
}

int cli_load(struct cli_loaded *o, const char *const *configs, size_t nconfigs, const char *db,
	     bool lenient, const char *const *ifaces, size_t nifaces, bool with_qos)
{
	const char *config = NULL;
	struct err e;
	err_clear(&e);
	memset(o, 0, sizeof(*o));
	if (!nconfigs && !db) {
		fprintf(stderr, "rosfw: give --config FILE.rsc or --db PATH\n");
		return -1;
	}
	if (store_open(&o->st, nconfigs ? ":memory:" : db, &e) < 0) {
		fprintf(stderr, "rosfw: %s\n", e.msg);
		return -1;
	}
	conf_session_init(&o->s, o->st, "admin");
	if (store_is_new(o->st) && conf_store_init(&o->s, false, &e) < 0)
		goto fail;
	o->s.virtual_ifaces = true;
	for (size_t ci = 0; ci < nconfigs; ci++) {
		config = configs[ci];
		char *text = cli_slurp(config);
		if (!text) {
			fprintf(stderr, "rosfw: cannot read %s: %s\n", config, strerror(errno));
			goto fail_quiet;
		}
		struct sbuf report = SBUF_INIT;
		int rc = conf_import(&o->s, text, config, lenient ? CONF_LENIENT : 0, &report, &e);
		free(text);
		if (lenient)
			fputs(sbuf_str(&report), stderr);
		sbuf_free(&report);
		if (rc < 0)
			goto fail;
		sbuf_reset(&o->s.out);
		if (o->s.warn.len)
			fputs(sbuf_str(&o->s.warn), stderr);
		sbuf_reset(&o->s.warn);
	}
	config = NULL;
	if (store_begin(o->st, &e) < 0)
		goto fail;
	o->open_txn = true;
	for (size_t i = 0; i < nifaces; i++)
		if (conf_virtual_iface(&o->s, ifaces[i], &e) < 0)
			goto fail;
	/* a store of our own keeps them; a user's store is left as it was */
	if (nconfigs) {
		o->open_txn = false;
		if (store_commit(o->st, "sim", "virtual interfaces", &e) < 0)
			goto fail;
	}
	o->en = engine_new();
	if (engine_load(o->en, o->st, &e) < 0)
		goto fail;
	rs_state_set_log(engine_rule_state(o->en), log_line, NULL);
	if (with_qos) {
		char qerr[512] = "";
		o->qos = qos_build(o->st, NETSIM_T0, qerr, sizeof(qerr));
		if (!o->qos) {
			fprintf(stderr, "rosfw: queues: %s\n", qerr);
			goto fail_quiet;
		}
		qos_log_warnings(o->qos, NULL);
	}
	return 0;
fail:;
	struct sbuf m = SBUF_INIT;
	err_format(&e, &m);
	fprintf(stderr, "rosfw: %s: %s\n", config ? config : db ? db : "configuration",
		sbuf_str(&m));
	sbuf_free(&m);
fail_quiet:
	cli_unload(o);
	return -1;
}

void cli_unload(struct cli_loaded *o)
{
	if (!o->st)
		return;
	qos_free(o->qos);
	engine_free(o->en);
	if (o->open_txn)
		store_rollback(o->st);
	conf_session_free(&o->s);
	store_close(o->st);
	memset(o, 0, sizeof(*o));
}
