/*
 * err: the one error report of the control plane. Every parser and command
 * fills an optional struct err (NULL is allowed) and returns a negative value;
 * the console, the API and REST render the same message. line/col are 1-based,
 * 0 when unknown; prop names the property at fault when there is one.
 */
#ifndef ROSFW_UTIL_ERR_H
#define ROSFW_UTIL_ERR_H

#include "sbuf.h"

struct err {
	int line;
	int col;
	char prop[64];
	char msg[512];
};

void err_clear(struct err *e);
/* Sets the message (printf style) and returns -1, so `return err_set(e, ...)`. */
int err_set(struct err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, naming the property at fault. */
int err_setp(struct err *e, const char *prop, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Records where the error happened unless a position is already there. */
void err_at(struct err *e, int line, int col);
/* "line 12 col 18: msg" or just "msg" when the position is unknown. */
void err_format(const struct err *e, struct sbuf *out);

#endif
