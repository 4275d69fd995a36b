/*
 * libFuzzer target for the REST request handling (src/mgmt/rest_handle.c)
 * and everything a request reaches: target and query parsing, JSON bodies,
 * .proplist and .query, mgmt_exec, the commands and the store. No HTTP
 * server: rest_handle is called directly, as rest.c calls it.
 *
 * An input is a small HTTP-like text, so the corpus stays readable:
 *   PUT /rest/ip/firewall/filter?x=y      method and target
 *   Authorization: Basic YWRtaW46         optional headers (Authorization is
 *   X-Policy: read                        decoded; X-Policy read = a read user)
 *                                         an empty line
 *   {"chain":"input"}                     the body, to the end
 *
 * One in-memory store with the built-in items and the default configuration
 * is created once; every request runs inside store_begin ... store_rollback.
 * Invariants checked (abort() = a real bug): the transaction depth is back
 * after rest_handle, the rollback restores every menu's item count, the
 * status is 2xx or 4xx (never 500), a reply body is JSON, an error reply
 * carries its own status as "error", and 204 has no body.
 *
 * Build: make build-fuzz/fuzz_rest; run: build-fuzz/fuzz_rest fuzz/corpus/fuzz_rest
 * (FUZZ_REST_VERBOSE=1 prints every reply, to see what a corpus exercises).
 */
#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ftw.h>
#include <unistd.h>

#include "conf/conf.h"
#include "conf/runtime.h"
#include "mgmt/mgmt.h"
#include "mgmt/rest.h"

#define MAX_INPUT (64 * 1024)

static struct store *st;
static char files_dir[64];
static size_t *base_count;
static char *text;
static bool verbose; /* FUZZ_REST_VERBOSE=1: print each reply (to check a corpus) */

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static void remove_files_dir(void)
{
	if (files_dir[0])
		nftw(files_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct err e;
	struct conf_session s;
	(void)argc;
	(void)argv;
	snprintf(files_dir, sizeof(files_dir), "/tmp/rosfw-fuzz-rest-XXXXXX");
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
	conf_session_init(&s, st, "fuzz");
	snprintf(s.files_dir, sizeof(s.files_dir), "%s", files_dir);
	if (conf_store_init(&s, true, &e) < 0) {
		fprintf(stderr, "conf_store_init: %s\n", e.msg);
		abort();
	}
	conf_session_free(&s);
	conf_runtime_started();
	base_count = calloc(schema_nmenus, sizeof(*base_count));
	for (size_t i = 0; i < schema_nmenus; i++)
		base_count[i] = store_count(st, schema_menus[i]);
	text = malloc(MAX_INPUT + 1);
	verbose = getenv("FUZZ_REST_VERBOSE") != NULL;
	if (!base_count || !text)
		abort();
	return 0;
}

static void check_reply(const struct rest_reply *r)
{
	if (r->status < 200 || r->status >= 500 || (r->status >= 300 && r->status < 400)) {
		fprintf(stderr, "fuzz_rest: status %d\n", r->status);
		abort();
	}
	if (r->status == 204) {
		if (r->body) {
			fprintf(stderr, "fuzz_rest: 204 with a body\n");
			abort();
		}
		return;
	}
	json_error_t je;
	json_t *j = r->body ? json_loadb(r->body, r->len, 0, &je) : NULL;
	if (!j) {
		fprintf(stderr, "fuzz_rest: status %d with a body that is not JSON: %.*s\n", r->status,
			(int)(r->len > 200 ? 200 : r->len), r->body ? r->body : "(none)");
		abort();
	}
	if (r->status >= 400) {
		json_t *err = json_object_get(j, "error");
		if (!json_is_integer(err) || json_integer_value(err) != r->status ||
		    !json_is_string(json_object_get(j, "message"))) {
			fprintf(stderr, "fuzz_rest: error reply without its status: %.*s\n",
				(int)(r->len > 200 ? 200 : r->len), r->body);
			abort();
		}
	}
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > MAX_INPUT)
		size = MAX_INPUT;
	memcpy(text, data, size);
	text[size] = 0;

	/* request line: METHOD TARGET */
	char *nl = memchr(text, '\n', size);
	char *line_end = nl ? nl : text + size;
	char *sp = memchr(text, ' ', (size_t)(line_end - text));
	if (!sp)
		return 0;
	*sp = 0;
	*line_end = 0;
	const char *method = text, *target = sp + 1;
	if (strlen(target) != (size_t)(line_end - target))
		return 0; /* a NUL inside: HTTP servers refuse it before us */

	unsigned policy = POL_ALL;
	char *p = nl ? nl + 1 : text + size;
	char *end = text + size;
	/* headers up to an empty line */
	while (p < end && *p != '\n') {
		char *e = memchr(p, '\n', (size_t)(end - p));
		if (!e)
			e = end;
		*e = 0;
		if (!strncmp(p, "Authorization: ", 15)) {
			char user[64], pass[256];
			if (rest_basic_auth(p + 15, user, sizeof(user), pass, sizeof(pass)) == 0 &&
			    (strlen(user) >= sizeof(user) || strlen(pass) >= sizeof(pass)))
				abort();
		} else if (!strcmp(p, "X-Policy: read")) {
			policy = mgmt_policy_bits("read,api,rest-api");
		}
		p = e + 1;
	}
	if (p < end && *p == '\n')
		p++;
	const char *body = p < end ? p : "";
	size_t blen = p < end ? (size_t)(end - p) : 0;

	struct err e;
	struct conf_session s;
	struct rest_reply r;
	err_clear(&e);
	conf_session_init(&s, st, "fuzz");
	snprintf(s.files_dir, sizeof(s.files_dir), "%s", files_dir);
	s.may_write = (policy & POL_WRITE) != 0;
	s.may_policy = (policy & POL_POLICY) != 0;
	s.may_sensitive = (policy & POL_SENSITIVE) != 0;
	if (store_begin(st, &e) < 0)
		abort();
	rest_handle(&s, policy, method, target, body, blen, &r);
	if (store_depth(st) != 1) {
		fprintf(stderr, "fuzz_rest: rest_handle left store depth %d (expected 1)\n",
			store_depth(st));
		abort();
	}
	store_rollback(st);
	for (size_t i = 0; i < schema_nmenus; i++)
		if (store_count(st, schema_menus[i]) != base_count[i]) {
			fprintf(stderr, "fuzz_rest: %s has %zu items after rollback, %zu before\n",
				schema_menus[i]->path, store_count(st, schema_menus[i]),
				base_count[i]);
			abort();
		}
	check_reply(&r);
	if (verbose)
		printf("%s %s -> %d %.*s\n", method, target, r.status, (int)(r.len > 400 ? 400 : r.len),
		       r.body ? r.body : "");
	rest_reply_free(&r);
	conf_session_free(&s);
	return 0;
}
