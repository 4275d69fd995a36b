#include "err.h"

#include <stdio.h>
#include <string.h>

void err_clear(struct err *e)
{
	if (e)
		memset(e, 0, sizeof(*e));
}

int err_set(struct err *e, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
	}
	return -1;
}

int err_setp(struct err *e, const char *prop, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
		va_end(ap);
		snprintf(e->prop, sizeof(e->prop), "%s", prop ? prop : "");
	}
	return -1;
}

void err_at(struct err *e, int line, int col)
{
	if (e && !e->line) {
		e->line = line;
		e->col = col;
	}
}

void err_format(const struct err *e, struct sbuf *out)
{
	if (e->line)
		sbuf_printf(out, "line %d col %d: ", e->line, e->col);
	sbuf_puts(out, e->msg);
}
