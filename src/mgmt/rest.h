/*
 * rest: the REST API of RouterOS v7 (/rest/<menu path>) as a pure function
 * of one request: method, request target, body -> HTTP status and JSON.
 * The HTTP server (rest.c, libmicrohttpd on the daemon's loop) checks the
 * service and the user, then calls rest_handle with a session that carries
 * the user's policies; the fuzz target calls it with no server at all.
 * Every request becomes calls of mgmt_exec: no menu logic lives here.
 * Runs on the control-plane thread that owns the store. The reply belongs
 * to the caller (rest_reply_free). Errors are replies, never return codes.
 */
#ifndef ROSFW_MGMT_REST_H
#define ROSFW_MGMT_REST_H

#include <stdbool.h>
#include <stddef.h>

#include "conf/conf.h"

#define REST_MAX_BODY (1u << 20) /* request bodies larger than this get 413 */
#define REST_TIMEOUT_MS 60000u   /* a request still unfinished after this is cut */

struct rest_reply {
	int status;
	char *body; /* JSON text (malloc), NULL for 204 */
	size_t len;
};

/*
 * Serves one request. method: "GET", "HEAD", "PUT", "PATCH", "DELETE" or
 * "POST"; target: the request target as it came on the wire ("/rest/ip/
 * address?.proplist=address"), still percent-encoded; body: len bytes, any
 * content (NUL bytes included). policy: the user's group policies (POL_*
 * of mgmt.h); reading needs POL_READ, writing is refused by the command
 * core through the session's may_write.
 */
void rest_handle(struct conf_session *s, unsigned policy, const char *method,
		 const char *target, const char *body, size_t len, struct rest_reply *r);
void rest_reply_free(struct rest_reply *r);

/* An error reply as RouterOS words it:
 * {"error":404,"message":"Not Found","detail":"no such item"} (detail may be NULL). */
void rest_reply_error(struct rest_reply *r, int status, const char *detail);

/* Decodes an Authorization header "Basic base64(user:password)".
 * Returns 0, or -1 when it is absent, not Basic, malformed or too long. */
int rest_basic_auth(const char *header, char *user, size_t ulen, char *pass, size_t plen);

/* The reason phrase of a status ("Not Found"). */
const char *rest_status_text(int status);

#endif
