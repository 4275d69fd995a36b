/*
 * libFuzzer target for the script interpreter (src/conf/script.c) and
 * everything a script reaches: the commands, print/export, where-expressions,
 * the value types and the store.
 *
 * One in-memory store with the built-in items is created once. Each input is
 * run twice, as a console text (conf_exec) and as a lenient import
 * (conf_import), each inside an outer store_begin ... store_rollback so the
 * store returns to its initial state cheaply (the commands nest as
 * savepoints). The session is re-created for every run so variables, the
 * current menu and item numbering do not leak from one input to the next.
 * export file= / print file= write under a private directory in /tmp.
 *
 * Invariants checked (abort() = a real bug): the transaction depth is back
 * where it was after conf_exec/conf_import, and the rollback restores the
 * number of items of every menu.
 *
 * Build: make build-fuzz/fuzz_script; run: build-fuzz/fuzz_script fuzz/corpus/fuzz_script
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "conf/store.h"

#define MAX_INPUT (64 * 1024)

static struct store *st;
static struct conf_session sess;
static char files_dir[64];
static size_t *base_count; /* items per menu after conf_store_init */
static char *text;         /* NUL-terminated copy of the input */

static void session_reset(void)
{
	conf_session_free(&sess);
	conf_session_init(&sess, st, "fuzz");
	snprintf(sess.files_dir, sizeof(sess.files_dir), "%s", files_dir);
}

static void check_restored(const char *what)
{
	if (store_depth(st) != 0) {
		fprintf(stderr, "fuzz_script: store depth %d after %s rollback\n", store_depth(st),
			what);
		abort();
	}
	for (size_t i = 0; i < schema_nmenus; i++) {
		size_t n = store_count(st, schema_menus[i]);
		if (n != base_count[i]) {
			fprintf(stderr, "fuzz_script: %s has %zu items after %s rollback, %zu before\n",
				schema_menus[i]->path, n, what, base_count[i]);
			abort();
		}
	}
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* The private files directory goes at exit (files written by export file=). */
static void remove_files_dir(void)
{
	if (files_dir[0])
		nftw(files_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e;
	(void)argc;
	(void)argv;
	snprintf(files_dir, sizeof(files_dir), "/tmp/rosfw-fuzz-XXXXXX");
	if (!mkdtemp(files_dir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(remove_files_dir);
	err_clear(&e);
	if (store_open(&st, ":memory:", &e) < 0) {
		fprintf(stderr, "store_open: %s\n", e.msg);
		abort();
	}
	conf_session_init(&sess, st, "fuzz");
	snprintf(sess.files_dir, sizeof(sess.files_dir), "%s", files_dir);
	if (conf_store_init(&sess, false, &e) < 0) {
		fprintf(stderr, "conf_store_init: %s\n", e.msg);
		abort();
	}
	base_count = calloc(schema_nmenus, sizeof(*base_count));
	for (size_t i = 0; i < schema_nmenus; i++)
		base_count[i] = store_count(st, schema_menus[i]);
	text = malloc(MAX_INPUT + 1);
	if (!base_count || !text)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct err e;
	struct sbuf ret = SBUF_INIT, report = SBUF_INIT;

	if (size > MAX_INPUT)
		size = MAX_INPUT;
	memcpy(text, data, size);
	text[size] = 0;

	/* as console text */
	session_reset();
	err_clear(&e);
	if (store_begin(st, &e) < 0)
		abort();
	conf_exec(&sess, text, &ret, &e);
	if (store_depth(st) != 1) {
		fprintf(stderr, "fuzz_script: conf_exec left store depth %d (expected 1)\n",
			store_depth(st));
		abort();
	}
	store_rollback(st);
	check_restored("conf_exec");
	sbuf_reset(&sess.out);
	sbuf_reset(&sess.warn);

	/* as a lenient import */
	session_reset();
	err_clear(&e);
	if (store_begin(st, &e) < 0)
		abort();
	conf_import(&sess, text, "fuzz", CONF_LENIENT, &report, &e);
	if (store_depth(st) != 1) {
		fprintf(stderr, "fuzz_script: conf_import left store depth %d (expected 1)\n",
			store_depth(st));
		abort();
	}
	store_rollback(st);
	check_restored("conf_import");
	sbuf_reset(&sess.out);
	sbuf_reset(&sess.warn);

	sbuf_free(&ret);
	sbuf_free(&report);
	return 0;
}
