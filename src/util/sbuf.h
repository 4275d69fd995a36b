/*
 * sbuf: a growable, always NUL-terminated byte buffer for control-plane text.
 * The owner initialises with sbuf_init (or SBUF_INIT) and frees with sbuf_free.
 * Allocation failure aborts the process: this is never used on the packet path.
 * Not thread-safe; one buffer belongs to one thread at a time.
 */
#ifndef ROSFW_UTIL_SBUF_H
#define ROSFW_UTIL_SBUF_H

#include <stdarg.h>
#include <stddef.h>

struct sbuf {
	char *s;
	size_t len;
	size_t cap;
};

#define SBUF_INIT { NULL, 0, 0 }

void sbuf_init(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_reset(struct sbuf *b);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_putc(struct sbuf *b, char c);
void sbuf_pad(struct sbuf *b, char c, size_t n);
void sbuf_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void sbuf_vprintf(struct sbuf *b, const char *fmt, va_list ap);
void sbuf_truncate(struct sbuf *b, size_t len);
/* The text, never NULL (an empty buffer gives ""). */
const char *sbuf_str(const struct sbuf *b);
/* Hands the heap string to the caller (free()) and leaves b empty. */
char *sbuf_steal(struct sbuf *b);

/* Small string helpers shared by the control plane. */
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t sz);
void *xrealloc(void *p, size_t n);

#endif
