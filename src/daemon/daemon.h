/*
 * daemon: rosfw as a running router (`rosfw run`). Owns the store, the
 * packet engine and the queues, the event loop, and the management fronts
 * (console socket, API, REST) that hang on it. Every committed change
 * recompiles the engine and the queues and publishes them; connection
 * tracking and rule state survive. One control-plane thread runs the loop.
 */
#ifndef ROSFW_DAEMON_DAEMON_H
#define ROSFW_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "loop.h"

struct daemon;

struct daemon_opts {
	const char *db;             /* store path */
	const char *socket;         /* console socket path (NULL: beside the store) */
	const char *admin_password; /* for a new store; NULL = random, printed once */
	const char *files_dir;
	bool console;               /* also run a console on this terminal */
	const char *traffic;        /* a traffic profile fed to virtual interfaces */
	bool no_services;           /* do not open API/REST ports (tests of the core) */
	const char *const *ifaces;  /* "ROUTEROS-NAME=LINUX-NAME": real interfaces (io/dataplane.h) */
	size_t nifaces;
	uint32_t ct_max_entries;    /* size of the connection table; 0: the engine's default.
	                             * RouterOS derives it from the RAM (read-only there) */
};

int daemon_main(const struct daemon_opts *o);

/* For the fronts. */
struct loop *daemon_loop(struct daemon *d);
struct store *daemon_store(struct daemon *d);
/* A session for a user logged in to a front, with its group's policies. */
void daemon_session_init(struct daemon *d, struct conf_session *s, const char *user,
			 unsigned policy);
/* Called after every committed change (menu bits as store_subscribe gives). */
typedef void (*daemon_change_fn)(void *ctx, const uint64_t *changed, size_t nwords);
void daemon_on_change(struct daemon *d, daemon_change_fn fn, void *ctx);
/* The threads that verify password hashes for the fronts (mgmt_pool_*). */
struct mgmt_pool *daemon_login_pool(struct daemon *d);
/* Counters and queue statistics into the store, before a print. */
void daemon_refresh_stats(struct daemon *d);

/* The management fronts, started by the daemon (each reads its services
 * from /ip service and follows their changes). */
struct api_server;
struct api_server *api_server_start(struct daemon *d, struct err *e);
void api_server_stop(struct api_server *a);
struct rest_server;
struct rest_server *rest_server_start(struct daemon *d, struct err *e);
void rest_server_stop(struct rest_server *r);

#endif
