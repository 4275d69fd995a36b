/*
 * mgmt: what every management front shares (the API protocol, REST, the
 * console socket): running a command of the command core and getting its
 * result as rows of attributes, users with their groups' policies and
 * hashed passwords, and the services of /ip service. The fronts only
 * translate their wire format to and from these calls; no menu logic lives
 * in them. Called on the control-plane thread that owns the store.
 */
#ifndef ROSFW_MGMT_MGMT_H
#define ROSFW_MGMT_MGMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct mgmt_attr {
	char *name;
	char *value;
};

/* One item, or one reply sentence (!re): .id first, then properties. */
struct mgmt_row {
	struct mgmt_attr *a;
	size_t n;
};

struct mgmt_result {
	struct mgmt_row *rows; /* print/getall: one per item */
	size_t nrows;
	struct sbuf ret;       /* the command's value: add's new id ("*1A"), find's ids */
	struct sbuf out;       /* what the command printed (console text) */
};

void mgmt_row_add(struct mgmt_row *r, const char *name, const char *value);
const char *mgmt_row_get(const struct mgmt_row *r, const char *name);
void mgmt_row_free(struct mgmt_row *r);
void mgmt_result_free(struct mgmt_result *res);

/*
 * Runs path ("/ip/firewall/filter") verb ("add") with attributes as the API
 * and REST give them (names without '='; ".id" and "numbers" select items;
 * booleans true/false or yes/no; ".proplist" is left to the caller).
 * print and getall fill res->rows with every item of the menu (all
 * properties with a value or a default, booleans as true/false, dynamic,
 * invalid and disabled flags, counters); other verbs run through cmd_run
 * as one transaction and fill res->ret / res->out.
 * Returns 0, or -1 with e (the command failed and changed nothing).
 */
int mgmt_exec(struct conf_session *s, const char *path, const char *verb,
	      const struct mgmt_attr *attrs, size_t nattrs, struct mgmt_result *res,
	      struct err *e);

/* One item as a row (for print and for listen). */
void mgmt_item_row(struct conf_session *s, const struct menu *m, const struct item *it,
		   struct mgmt_row *row);

/* Splits an API/REST path "/ip/firewall/filter/add" into menu and verb.
 * Returns 0, or -1 when no menu and command match. */
int mgmt_split_path(const char *full, char *path, size_t plen, char *verb, size_t vlen);

/* ---- users ---- */

/* Policies of /user group. */
#define POL_LOCAL     0x00001u
#define POL_TELNET    0x00002u
#define POL_SSH       0x00004u
#define POL_FTP       0x00008u
#define POL_REBOOT    0x00010u
#define POL_READ      0x00020u
#define POL_WRITE     0x00040u
#define POL_POLICY    0x00080u
#define POL_TEST      0x00100u
#define POL_WINBOX    0x00200u
#define POL_PASSWORD  0x00400u
#define POL_WEB       0x00800u
#define POL_SNIFF     0x01000u
#define POL_SENSITIVE 0x02000u
#define POL_API       0x04000u
#define POL_ROMON     0x08000u
#define POL_DUDE      0x10000u
#define POL_TIKAPP    0x20000u
#define POL_REST_API  0x40000u
#define POL_ALL       0x7ffffu

/* The policy bits of a group's policy text ("read,write,!ftp"). */
unsigned mgmt_policy_bits(const char *policy);

/*
 * Checks a login: the user exists and is enabled, the password matches its
 * hash, the source address is within the user's address list (src NULL:
 * a local login), and the group grants `need` (POL_API for the API,
 * POL_REST_API for REST, POL_LOCAL for the console). Fills *policy.
 * Failure: -1 with the RouterOS message "invalid user name or password".
 */
int mgmt_login(struct store *st, const char *user, const char *password, const char *src,
	       unsigned need, unsigned *policy, struct err *e);

/*
 * The same check in steps, so that the deliberately slow password hash
 * (argon2id) can be verified off the control-plane thread:
 * mgmt_login_start (control plane) decides what it can and copies the hash;
 * when it returns 1, mgmt_login_verify (any thread) checks the password and
 * mgmt_login_finish (control plane) gives the answer, checking that the
 * user's hash did not change meanwhile. mgmt_login_done wipes the password.
 */
struct mgmt_login {
	char user[64];
	char src[64];   /* "" for a local login */
	unsigned need;
	char *password;
	char *hash;     /* what to verify against */
	int result;     /* when decided: 0 or -1 */
	struct err e;
};
int mgmt_login_start(struct store *st, const char *user, const char *password, const char *src,
		     unsigned need, struct mgmt_login *lg);
bool mgmt_login_verify(const struct mgmt_login *lg);
int mgmt_login_finish(struct store *st, struct mgmt_login *lg, bool verified, unsigned *policy,
		      struct err *e);
void mgmt_login_done(struct mgmt_login *lg);

/*
 * A small pool of threads that verify logins (mgmt_login_verify) for the
 * fronts. Submitted jobs complete on the control-plane thread: the daemon
 * watches mgmt_pool_fd and calls mgmt_pool_run, which calls each finished
 * job's fn. The pool owns lg from submit until fn returns (fn may keep
 * nothing of it). mgmt_pool_cancel drops the jobs of ctx (a front that
 * stops): their fn is never called.
 */
struct mgmt_pool;
typedef void (*mgmt_login_fn)(void *ctx, uint64_t cookie, struct mgmt_login *lg, bool verified);
struct mgmt_pool *mgmt_pool_new(unsigned threads);
void mgmt_pool_free(struct mgmt_pool *p);
int mgmt_pool_fd(const struct mgmt_pool *p);
void mgmt_pool_submit(struct mgmt_pool *p, struct mgmt_login *lg, mgmt_login_fn fn, void *ctx,
		      uint64_t cookie);
void mgmt_pool_run(struct mgmt_pool *p);
void mgmt_pool_cancel(struct mgmt_pool *p, void *ctx);

/* Records a successful login of user (login by any front, console attach):
 * sets last-logged-in on the /user item in memory, without a transaction,
 * as runtime counters are written. It is runtime state: not journaled, not
 * in the history, not persisted on its own (it reaches the disk only when
 * the user item is next changed by a command), so a restarted router
 * shows the logins since its start. mgmt_login calls it on success. */
void mgmt_user_logged_in(struct store *st, const char *user);

/* ---- active sessions (/user active) ----
 * A process-wide registry, used on the control-plane thread only.
 * Long-lived sessions (console, api, api-ssl) register when they log in
 * and unregister when they end. REST requests are short-lived: each
 * authenticated request touches an entry per (user, www|www-ssl, client
 * address) that expires after MGMT_ACTIVE_REST_IDLE_MS without requests,
 * so a client polling the router is one session, not one per request.
 * An entry logs "user U logged in from A via V" when it comes and
 * "... logged out ..." when it goes (mgmt_active_expire, called every
 * second or so, ends the idle ones on time). */

#define MGMT_ACTIVE_REST_IDLE_MS 60000u

/* Returns the session's id (> 0) for mgmt_active_remove. address NULL or
 * "" for a local console. */
unsigned mgmt_active_add(const char *user, const char *via, const char *address);
void mgmt_active_remove(unsigned id);
/* Adds or refreshes an entry that expires idle_ms after its last touch. */
void mgmt_active_touch(const char *user, const char *via, const char *address,
		       uint64_t idle_ms);
void mgmt_active_expire(void);
/* The /user/active provider (conf_set_provider("/user/active", ...)). */
int mgmt_active_items(void *ctx, struct conf_session *s, const struct menu *m,
		      struct item ***items, size_t *n);

/* ---- failed logins ----
 * Per source address: MGMT_THR_FAILS failures within a minute refuse every
 * login from that address for a minute. A fixed table: the least recently
 * used address gives way to a new one. */

#define MGMT_THR_FAILS 5
#define MGMT_THR_WINDOW_MS 60000
#define MGMT_THR_BLOCK_MS 60000
#define MGMT_THR_SLOTS 256

struct mgmt_throttle {
	struct {
		char ip[48];
		unsigned fails;
		uint64_t first, until, used;
	} slot[MGMT_THR_SLOTS];
};

/* Is the address refused now? */
bool mgmt_throttle_blocked(struct mgmt_throttle *t, const char *ip, uint64_t now_ms);
/* Counts a failure; logs once when the address becomes refused (front: "api", "rest"). */
void mgmt_throttle_fail(struct mgmt_throttle *t, const char *ip, uint64_t now_ms,
			const char *front);

/* ---- services ---- */

struct mgmt_service {
	char name[16];
	uint16_t port;
	bool enabled;
	char address[256];  /* comma list of prefixes, empty = anyone */
	char certificate[64];
};

/* Reads /ip service NAME. Returns -1 when there is no such service. */
int mgmt_service(struct store *st, const char *name, struct mgmt_service *out);
/* Is an IPv4 client (dotted text) allowed by the service's address list? */
bool mgmt_service_allows(const struct mgmt_service *svc, const char *client);

#endif
