/*
 * mgmt's logins: the check in steps (start on the control plane, the slow
 * hash on any thread, finish on the control plane) against users made by
 * the command core, table-driven; a password changed while its old hash was
 * being checked does not let the old one in; and the pool of login threads
 * answers every job through its eventfd, and drops the jobs of a front that
 * cancels.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "mgmt/mgmt.h"

struct fx {
	struct store *st;
	struct conf_session s;
};

static void run(struct fx *f, const char *line)
{
	struct err e;
	err_clear(&e);
	if (conf_exec(&f->s, line, NULL, &e) < 0)
		fail_msg("%s: %s", line, e.msg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e;
	err_clear(&e);
	if (store_open(&f->st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&f->s, f->st, "tester");
	if (conf_store_init(&f->s, false, &e) < 0)
		fail_msg("conf_store_init: %s", e.msg);
	run(f, "/user group add name=norest policy=read,api");
	run(f, "/user add name=ann group=full password=secret1");
	run(f, "/user add name=bob group=norest password=pw2");
	run(f, "/user add name=cid group=full password=pw3 disabled=yes");
	run(f, "/user add name=dee group=full password=pw4 address=10.0.0.0/8");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	conf_session_free(&f->s);
	store_close(f->st);
	free(f);
	return 0;
}

static void test_login_table(void **state)
{
	struct fx *f = *state;
	static const struct {
		const char *user, *password, *src;
		unsigned need;
		int rc;
		const char *msg;
	} cases[] = {
		{ "ann", "secret1", "192.0.2.1", POL_REST_API, 0, NULL },
		{ "ann", "secret1", NULL, POL_LOCAL, 0, NULL },
		{ "ann", "secret2", "192.0.2.1", POL_API, -1, "invalid user name or password (6)" },
		{ "ann", "", "192.0.2.1", POL_API, -1, "invalid user name or password (6)" },
		{ "nobody", "secret1", "192.0.2.1", POL_API, -1, "invalid user name or password (6)" },
		{ "bob", "pw2", "192.0.2.1", POL_API, 0, NULL },
		{ "bob", "pw2", "192.0.2.1", POL_REST_API, -1, "not enough permissions (9)" },
		{ "bob", "wrong", "192.0.2.1", POL_REST_API, -1, "invalid user name or password (6)" },
		{ "cid", "pw3", "192.0.2.1", POL_API, -1, "invalid user name or password (6)" },
		{ "dee", "pw4", "10.1.2.3", POL_API, 0, NULL },
		{ "dee", "pw4", "192.0.2.1", POL_API, -1, "invalid user name or password (6)" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct err e;
		err_clear(&e);
		unsigned policy = 0;
		int rc = mgmt_login(f->st, cases[i].user, cases[i].password, cases[i].src,
				    cases[i].need, &policy, &e);
		if (rc != cases[i].rc)
			fail_msg("case %zu (%s): rc %d, want %d (%s)", i, cases[i].user, rc,
				 cases[i].rc, e.msg);
		if (cases[i].msg)
			assert_string_equal(e.msg, cases[i].msg);
		else
			assert_true((policy & cases[i].need) == cases[i].need);
	}
}

/* The hash checked on a thread was the old password's: the new one is in
 * force when the answer comes, so the old password does not log in. */
static void test_login_changed_meanwhile(void **state)
{
	struct fx *f = *state;
	struct mgmt_login lg;
	assert_int_equal(mgmt_login_start(f->st, "ann", "secret1", "192.0.2.1", POL_API, &lg), 1);
	bool ok = mgmt_login_verify(&lg);
	assert_true(ok);
	run(f, "/user set ann password=secret9");
	struct err e;
	err_clear(&e);
	unsigned policy;
	assert_int_equal(mgmt_login_finish(f->st, &lg, ok, &policy, &e), -1);
	assert_string_equal(e.msg, "invalid user name or password (6)");
	mgmt_login_done(&lg);
	assert_null(lg.password);
	/* and a start that decides at once (no such user) needs no thread */
	assert_int_equal(mgmt_login_start(f->st, "zed", "x", NULL, POL_API, &lg), 0);
	assert_int_equal(lg.result, -1);
	mgmt_login_done(&lg);
}

struct answers {
	int n;
	int ok[8];
	uint64_t cookie[8];
};

static void on_answer(void *ctx, uint64_t cookie, struct mgmt_login *lg, bool verified)
{
	struct answers *a = ctx;
	assert_non_null(lg);
	a->ok[a->n] = verified;
	a->cookie[a->n++] = cookie;
}

static struct mgmt_login *start(struct fx *f, const char *user, const char *pw)
{
	struct mgmt_login *lg = malloc(sizeof(*lg));
	assert_int_equal(mgmt_login_start(f->st, user, pw, NULL, POL_LOCAL, lg), 1);
	return lg;
}

static void wait_answers(struct mgmt_pool *p, struct answers *a, int want)
{
	for (int tries = 0; a->n < want && tries < 100; tries++) {
		struct pollfd pf = { .fd = mgmt_pool_fd(p), .events = POLLIN };
		if (poll(&pf, 1, 100) > 0)
			mgmt_pool_run(p);
	}
}

static void test_pool(void **state)
{
	struct fx *f = *state;
	struct mgmt_pool *p = mgmt_pool_new(2);
	assert_non_null(p);
	struct answers a = { 0 }, gone = { 0 };
	mgmt_pool_submit(p, start(f, "ann", "secret1"), on_answer, &a, 1);
	mgmt_pool_submit(p, start(f, "ann", "nope"), on_answer, &a, 2);
	mgmt_pool_submit(p, start(f, "bob", "pw2"), on_answer, &a, 3);
	/* a front that stops: its jobs are dropped, wherever they are */
	for (int i = 0; i < 3; i++)
		mgmt_pool_submit(p, start(f, "ann", "secret1"), on_answer, &gone, 10 + (uint64_t)i);
	mgmt_pool_cancel(p, &gone);
	wait_answers(p, &a, 3);
	assert_int_equal(a.n, 3);
	for (int i = 0; i < 3; i++) {
		uint64_t c = a.cookie[i];
		assert_true(c >= 1 && c <= 3);
		assert_int_equal(a.ok[i], c != 2);
	}
	struct pollfd pf = { .fd = mgmt_pool_fd(p), .events = POLLIN };
	if (poll(&pf, 1, 300) > 0)
		mgmt_pool_run(p);
	assert_int_equal(gone.n, 0);
	/* jobs still queued when the pool goes are freed, not answered */
	mgmt_pool_submit(p, start(f, "ann", "secret1"), on_answer, &gone, 20);
	mgmt_pool_free(p);
	assert_int_equal(gone.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_login_table, setup, teardown),
		cmocka_unit_test_setup_teardown(test_login_changed_meanwhile, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pool, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
