/*
 * types: value parsers of the configuration schema. Every parser reads what a
 * user typed and appends the canonical text that the store keeps; errors name
 * the property, quote a sanitised excerpt of the input and say what was
 * expected. Nothing here allocates except the sbufs it is handed (and one
 * scratch sbuf freed on every path).
 */
#include "schema.h"
#include "types.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Custom formats are short; anything longer is a typo or an attack. */
#define TC_MAX 128
#define NAME_MAX_LEN ((TC_MAX - 2) / 2)
#define EXCERPT_MAX 64

static const char *pname(const struct prop *p)
{
	return p && p->name ? p->name : "value";
}

static void excerpt(const char *in, char *buf)
{
	size_t i, j = 0;

	for (i = 0; in[i] && j < EXCERPT_MAX; i++) {
		unsigned char c = (unsigned char)in[i];
		buf[j++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	if (in[i]) {
		memcpy(buf + j, "...", 3);
		j += 3;
	}
	buf[j] = 0;
}

static int bad(const struct prop *p, const char *in, struct err *e, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "invalid value 'IN' for NAME: <fmt>"; returns -1. */
static int bad(const struct prop *p, const char *in, struct err *e, const char *fmt, ...)
{
	char ex[EXCERPT_MAX + 4];
	char why[400];
	va_list ap;

	if (!e)
		return -1;
	excerpt(in, ex);
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return err_setp(e, pname(p), "invalid value '%s' for %s: %s", ex, pname(p), why);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool eq_nocase(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if (lower(*a) != lower(*b))
			return false;
	return *a == *b;
}

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list && list[i]; i++)
		if (!strcmp(list[i], s))
			return true;
	return false;
}

static int list_index(const char *const *list, const char *s, size_t n)
{
	for (int i = 0; list[i]; i++)
		if (strlen(list[i]) == n && !strncmp(list[i], s, n))
			return i;
	return -1;
}

/* Splits s at the first c: terminates the head and returns the tail, or NULL. */
static char *cut(char *s, char c)
{
	char *x = strchr(s, c);

	if (!x)
		return NULL;
	*x = 0;
	return x + 1;
}

/* Copies a custom value into buf (TC_MAX bytes) for in-place splitting. */
static int tc_copy(const struct prop *p, const char *in, char *buf, struct err *e)
{
	size_t n = strlen(in);

	if (n == 0)
		return bad(p, in, e, "a value is required");
	if (n >= TC_MAX)
		return bad(p, in, e, "too long (at most %d characters)", TC_MAX - 1);
	memcpy(buf, in, n + 1);
	return 0;
}

/* Levenshtein distance for "did you mean"; long strings count as far apart. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	int row[65];

	if (la > 64 || lb > 64)
		return 1000;
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* ---- plain numbers ---- */

/* Exactly n decimal digits, no sign, no overflow. */
static int span_dec(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');
		if (!is_digit(s[i]) || v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int str_dec(const char *s, uint64_t *out)
{
	return span_dec(s, strlen(s), out);
}

static int str_dec_max(const char *s, uint64_t max, uint64_t *out)
{
	return str_dec(s, out) || *out > max ? -1 : 0;
}

int parse_u64(const char *s, uint64_t *out)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		uint64_t v = 0;
		size_t n;
		for (n = 0; s[2 + n]; n++) {
			int h = hexval(s[2 + n]);
			if (h < 0 || n >= 16)
				return -1;
			v = v << 4 | (uint64_t)h;
		}
		if (n == 0)
			return -1;
		*out = v;
		return 0;
	}
	return str_dec(s, out);
}

static int parse_i64(const char *s, bool neg_ok, int64_t *v)
{
	bool neg = false;
	uint64_t u;

	if (*s == '-' && neg_ok) {
		neg = true;
		s++;
	}
	if (parse_u64(s, &u))
		return -1;
	if (neg) {
		if (u > (uint64_t)INT64_MAX + 1)
			return -1;
		*v = u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u;
	} else {
		if (u > (uint64_t)INT64_MAX)
			return -1;
		*v = (int64_t)u;
	}
	return 0;
}

static bool int_bounded(const struct prop *p)
{
	return p->min != 0 || p->max != 0;
}

/* An integer of p: 0, -1 when unreadable, -2 when outside p->min..p->max. */
static int int_value(const struct prop *p, const char *s, int64_t *v)
{
	if (parse_i64(s, p->min < 0, v))
		return -1;
	if (int_bounded(p) && (*v < p->min || *v > p->max))
		return -2;
	return 0;
}

static int bad_int(const struct prop *p, const char *in, struct err *e)
{
	if (int_bounded(p))
		return bad(p, in, e, "expected an integer from %lld to %lld", p->min, p->max);
	return bad(p, in, e, "expected an integer");
}

/*
 * Decimal number with up to 6 fraction digits, in millionths. neg_ok allows a
 * leading '-'. Canonical text (no leading/trailing zeros) goes to canon if set.
 */
static int num_parse(const char *s, bool neg_ok, int64_t *micro, struct sbuf *canon)
{
	bool neg = false;
	uint64_t ip, frac = 0;
	size_t n = 0, fl = 0;
	char fd[8];

	if (*s == '-' && neg_ok) {
		neg = true;
		s++;
	}
	while (is_digit(s[n]))
		n++;
	if (span_dec(s, n, &ip) || ip > 9000000000000ull)
		return -1;
	s += n;
	if (*s == '.') {
		s++;
		while (is_digit(s[fl]))
			fl++;
		if (fl == 0 || fl > 6)
			return -1;
		memcpy(fd, s, fl);
		s += fl;
	}
	if (*s)
		return -1;
	while (fl > 0 && fd[fl - 1] == '0')
		fl--;
	for (size_t i = 0; i < 6; i++)
		frac = frac * 10 + (i < fl ? (uint64_t)(fd[i] - '0') : 0);
	*micro = (int64_t)(ip * 1000000 + frac);
	if (neg)
		*micro = -*micro;
	if (canon) {
		if (neg && *micro != 0)
			sbuf_putc(canon, '-');
		sbuf_printf(canon, "%" PRIu64, ip);
		if (fl) {
			sbuf_putc(canon, '.');
			sbuf_add(canon, fd, fl);
		}
	}
	return 0;
}

/* ---- rates ---- */

int parse_rate(const char *s, uint64_t *bps)
{
	uint64_t ip, frac = 0, scale = 1, mult = 1, v;
	size_t n = 0, fl = 0;

	while (is_digit(s[n]))
		n++;
	if (span_dec(s, n, &ip))
		return -1;
	s += n;
	if (*s == '.') {
		s++;
		while (is_digit(s[fl]))
			fl++;
		if (fl == 0 || fl > 9 || span_dec(s, fl, &frac))
			return -1;
		for (size_t i = 0; i < fl; i++)
			scale *= 10;
		s += fl;
	}
	switch (*s) {
	case 'k':
	case 'K':
		mult = 1000;
		s++;
		break;
	case 'M':
		mult = 1000000;
		s++;
		break;
	case 'G':
		mult = 1000000000;
		s++;
		break;
	default:
		break;
	}
	if (*s)
		return -1;
	/* frac < 1e9 and mult <= 1e9, so frac * mult fits. */
	if ((frac * mult) % scale)
		return -1;
	if (__builtin_mul_overflow(ip, mult, &v) ||
	    __builtin_add_overflow(v, frac * mult / scale, &v))
		return -1;
	*bps = v;
	return 0;
}

void format_rate(uint64_t bps, struct sbuf *out)
{
	if (bps && bps % 1000000000 == 0)
		sbuf_printf(out, "%" PRIu64 "G", bps / 1000000000);
	else if (bps && bps % 1000000 == 0)
		sbuf_printf(out, "%" PRIu64 "M", bps / 1000000);
	else if (bps && bps % 1000 == 0)
		sbuf_printf(out, "%" PRIu64 "k", bps / 1000);
	else
		sbuf_printf(out, "%" PRIu64, bps);
}

static bool rate_bounded(const struct prop *p)
{
	return p->max > 0;
}

/* A rate of p, within its bounds; error text names the rate forms. */
static int rate_value(const struct prop *p, const char *s, const char *whole, uint64_t *v,
		      struct err *e)
{
	if (parse_rate(s, v))
		return bad(p, whole, e, "expected a rate such as 10M, 512k or 1500000");
	if (rate_bounded(p) && (*v < (uint64_t)(p->min > 0 ? p->min : 0) || *v > (uint64_t)p->max)) {
		struct sbuf lo = SBUF_INIT, hi = SBUF_INIT;
		format_rate((uint64_t)(p->min > 0 ? p->min : 0), &lo);
		format_rate((uint64_t)p->max, &hi);
		bad(p, whole, e, "expected a rate from %s to %s", sbuf_str(&lo), sbuf_str(&hi));
		sbuf_free(&lo);
		sbuf_free(&hi);
		return -1;
	}
	return 0;
}

/* ---- time intervals ---- */

enum { U_W, U_D, U_H, U_M, U_S, U_MS, U_N };

static const uint64_t unit_ms[U_N] = { 604800000, 86400000, 3600000, 60000, 1000, 1 };
static const char *const unit_name[U_N] = { "w", "d", "h", "m", "s", "ms" };

static int two_digits(const char *s, unsigned max, uint64_t *v)
{
	if (!is_digit(s[0]) || !is_digit(s[1]))
		return -1;
	*v = (uint64_t)(s[0] - '0') * 10 + (uint64_t)(s[1] - '0');
	return *v > max ? -1 : 0;
}

/* Milliseconds of 1..3 fraction digits (".5" is 500ms). */
static int frac_ms(const char *s, size_t n, uint64_t *ms)
{
	if (n == 0 || n > 3 || span_dec(s, n, ms))
		return -1;
	for (; n < 3; n++)
		*ms *= 10;
	return 0;
}

/* "H:MM[:SS[.fff]]" up to the end of s; hours below 24 when after days. */
static int parse_clock_ms(const char *s, bool after_days, uint64_t *ms)
{
	uint64_t h, m, sec = 0, f = 0;
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	if (n == 0 || n > 9 || span_dec(s, n, &h) || (after_days && h > 23))
		return -1;
	s += n;
	if (*s++ != ':' || two_digits(s, 59, &m))
		return -1;
	s += 2;
	if (*s == ':') {
		if (two_digits(s + 1, 59, &sec))
			return -1;
		s += 3;
		if (*s == '.') {
			s++;
			for (n = 0; is_digit(s[n]); n++)
				;
			if (frac_ms(s, n, &f))
				return -1;
			s += n;
		}
	}
	if (*s)
		return -1;
	*ms = h * 3600000 + m * 60000 + sec * 1000 + f;
	return 0;
}

int parse_time_ms(const char *s, uint64_t *ms)
{
	uint64_t total = 0;
	int next = U_W; /* units must come largest first, each at most once */

	if (!*s)
		return -1;
	while (*s) {
		uint64_t v, f = 0, x;
		size_t n = 0, fl = 0;
		int u;

		while (is_digit(s[n]))
			n++;
		if (n == 0)
			return -1;
		if (s[n] == ':') {
			if (next > U_H || parse_clock_ms(s, next > U_W, &x) ||
			    __builtin_add_overflow(total, x, &total))
				return -1;
			break;
		}
		if (span_dec(s, n, &v))
			return -1;
		s += n;
		if (*s == '.') {
			s++;
			while (is_digit(s[fl]))
				fl++;
			if (frac_ms(s, fl, &f))
				return -1;
			s += fl;
		}
		if (s[0] == 'm' && s[1] == 's') {
			u = U_MS;
			s += 2;
		} else if (*s == 'w') {
			u = U_W;
			s++;
		} else if (*s == 'd') {
			u = U_D;
			s++;
		} else if (*s == 'h') {
			u = U_H;
			s++;
		} else if (*s == 'm') {
			u = U_M;
			s++;
		} else if (*s == 's') {
			u = U_S;
			s++;
		} else if (*s == 0) {
			u = U_S;
		} else {
			return -1;
		}
		if (u < next || (fl && u != U_S))
			return -1;
		if (__builtin_mul_overflow(v, unit_ms[u], &x) ||
		    __builtin_add_overflow(total, x, &total) ||
		    __builtin_add_overflow(total, f, &total))
			return -1;
		next = u + 1;
		/* "1d 02:00:00": one space, only before a clock. */
		if (*s == ' ') {
			const char *c = s + 1;
			while (is_digit(*c))
				c++;
			if (c == s + 1 || *c != ':')
				return -1;
			s++;
		}
	}
	*ms = total;
	return 0;
}

void format_time_ms(uint64_t ms, struct sbuf *out)
{
	if (ms == 0) {
		sbuf_puts(out, "0s");
		return;
	}
	for (int u = 0; u < U_N; u++) {
		uint64_t q = ms / unit_ms[u];
		if (q) {
			sbuf_printf(out, "%" PRIu64 "%s", q, unit_name[u]);
			ms -= q * unit_ms[u];
		}
	}
}

static int time_value(const struct prop *p, const char *s, const char *whole, uint64_t *ms,
		      struct err *e)
{
	if (parse_time_ms(s, ms))
		return bad(p, whole, e, "expected a time interval such as 30s, 1h30m, 500ms or 00:10:00");
	if (p->max > 0 && (*ms < (uint64_t)(p->min > 0 ? p->min : 0) || *ms > (uint64_t)p->max)) {
		struct sbuf lo = SBUF_INIT, hi = SBUF_INIT;
		format_time_ms((uint64_t)(p->min > 0 ? p->min : 0), &lo);
		format_time_ms((uint64_t)p->max, &hi);
		bad(p, whole, e, "expected a time interval from %s to %s", sbuf_str(&lo), sbuf_str(&hi));
		sbuf_free(&lo);
		sbuf_free(&hi);
		return -1;
	}
	return 0;
}

/* ---- addresses ---- */

int parse_ip4(const char *s, uint32_t *addr)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t v;
		size_t n = 0;
		while (is_digit(s[n]))
			n++;
		if (n == 0 || n > 3 || span_dec(s, n, &v) || v > 255)
			return -1;
		a = a << 8 | (uint32_t)v;
		s += n;
		if (i < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*addr = a;
	return 0;
}

void format_ip4(uint32_t a, struct sbuf *out)
{
	sbuf_printf(out, "%u.%u.%u.%u", a >> 24, (a >> 16) & 0xff, (a >> 8) & 0xff, a & 0xff);
}

int parse_ip6(const char *s, uint8_t addr[16])
{
	uint16_t g[8];
	int n = 0, gap = -1;

	if (s[0] == ':') {
		if (s[1] != ':')
			return -1;
		gap = 0;
		s += 2;
	}
	while (*s) {
		int d = 0;
		unsigned v = 0;
		while (d < 5 && hexval(s[d]) >= 0)
			v = v << 4 | (unsigned)hexval(s[d++]);
		if (d == 0)
			return -1;
		if (s[d] == '.') {
			uint32_t a4;
			if (n > 6 || parse_ip4(s, &a4))
				return -1;
			g[n++] = (uint16_t)(a4 >> 16);
			g[n++] = (uint16_t)a4;
			break;
		}
		if (d > 4 || n >= 8)
			return -1;
		g[n++] = (uint16_t)v;
		s += d;
		if (!*s)
			break;
		if (*s++ != ':')
			return -1;
		if (*s == ':') {
			if (gap >= 0)
				return -1;
			gap = n;
			s++;
		} else if (!*s) {
			return -1;
		}
	}
	if (gap < 0 ? n != 8 : n > 7)
		return -1;
	memset(addr, 0, 16);
	for (int i = 0; i < n; i++) {
		int pos = (gap >= 0 && i >= gap) ? i + (8 - n) : i;
		addr[2 * pos] = (uint8_t)(g[i] >> 8);
		addr[2 * pos + 1] = (uint8_t)g[i];
	}
	return 0;
}

void format_ip6(const uint8_t a[16], struct sbuf *out)
{
	uint16_t g[8];
	int best = -1, bestlen = 0;

	for (int i = 0; i < 8; i++)
		g[i] = (uint16_t)(a[2 * i] << 8 | a[2 * i + 1]);
	/* RFC 5952 section 5: IPv4-mapped addresses keep the dotted tail. */
	if (!g[0] && !g[1] && !g[2] && !g[3] && !g[4] && g[5] == 0xffff) {
		sbuf_puts(out, "::ffff:");
		format_ip4((uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15], out);
		return;
	}
	for (int i = 0; i < 8;) {
		int j = i;
		while (j < 8 && !g[j])
			j++;
		if (j - i > bestlen) {
			best = i;
			bestlen = j - i;
		}
		i = j > i ? j : i + 1;
	}
	if (bestlen < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		if (i == best) {
			sbuf_puts(out, "::");
			i += bestlen - 1;
			continue;
		}
		if (i > 0 && !(best >= 0 && i == best + bestlen))
			sbuf_putc(out, ':');
		sbuf_printf(out, "%x", g[i]);
	}
}

int parse_mac(const char *s, uint8_t mac[6])
{
	char sep = 0;

	for (int i = 0; i < 6; i++) {
		int h = hexval(s[0]), l;
		if (h < 0 || (l = hexval(s[1])) < 0)
			return -1;
		mac[i] = (uint8_t)(h << 4 | l);
		s += 2;
		if (i < 5) {
			if ((*s != ':' && *s != '-') || (sep && *s != sep))
				return -1;
			sep = *s++;
		}
	}
	return *s ? -1 : 0;
}

static uint32_t mask4(int len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

/* "IP", "IP/len" or "IP/dotted-mask"; a bare IP has *len 32. */
static int net4_parse(const char *s, uint32_t *addr, int *len)
{
	const char *slash = strchr(s, '/');
	char ip[20];
	size_t n;
	uint64_t v;

	if (!slash) {
		*len = 32;
		return parse_ip4(s, addr);
	}
	n = (size_t)(slash - s);
	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = 0;
	if (parse_ip4(ip, addr))
		return -1;
	if (strchr(slash + 1, '.')) {
		uint32_t m;
		if (parse_ip4(slash + 1, &m) || (~m & (~m + 1)) != 0)
			return -1;
		*len = __builtin_popcount(m);
		return 0;
	}
	if (str_dec_max(slash + 1, 32, &v))
		return -1;
	*len = (int)v;
	return 0;
}

static int net6_parse(const char *s, uint8_t addr[16], int *len)
{
	const char *slash = strchr(s, '/');
	char ip[48];
	size_t n;
	uint64_t v;

	if (!slash) {
		*len = 128;
		return parse_ip6(s, addr);
	}
	n = (size_t)(slash - s);
	if (n >= sizeof(ip))
		return -1;
	memcpy(ip, s, n);
	ip[n] = 0;
	if (parse_ip6(ip, addr) || str_dec_max(slash + 1, 128, &v))
		return -1;
	*len = (int)v;
	return 0;
}

static void clear_host6(uint8_t a[16], int len)
{
	for (int i = 0; i < 16; i++) {
		int keep = len - 8 * i;
		if (keep <= 0)
			a[i] = 0;
		else if (keep < 8)
			a[i] &= (uint8_t)(0xff << (8 - keep));
	}
}

/* Network text: "a/len", bare when len is the full width and !keep_full. */
static void emit_net4(uint32_t a, int len, bool keep_full, struct sbuf *out)
{
	format_ip4(a, out);
	if (len < 32 || keep_full)
		sbuf_printf(out, "/%d", len);
}

static void emit_net6(const uint8_t a[16], int len, bool keep_full, struct sbuf *out)
{
	format_ip6(a, out);
	if (len < 128 || keep_full)
		sbuf_printf(out, "/%d", len);
}

/* A range shown as the one prefix it equals, else "A-B". */
static void emit_range4(uint32_t a, uint32_t b, struct sbuf *out)
{
	uint64_t size = (uint64_t)b - a + 1;

	if ((size & (size - 1)) == 0 && (a & (uint32_t)(size - 1)) == 0) {
		int len = 32;
		while (size > 1) {
			size >>= 1;
			len--;
		}
		emit_net4(a, len, false, out);
		return;
	}
	format_ip4(a, out);
	sbuf_putc(out, '-');
	format_ip4(b, out);
}

/* "A-B" into two IPv4 addresses; 1 when it is a range, 0 when no '-', -1 bad. */
static int range4_parse(const char *s, uint32_t *a, uint32_t *b)
{
	const char *dash = strchr(s, '-');
	char first[20];
	size_t n;

	if (!dash)
		return 0;
	n = (size_t)(dash - s);
	if (n >= sizeof(first))
		return -1;
	memcpy(first, s, n);
	first[n] = 0;
	if (parse_ip4(first, a) || parse_ip4(dash + 1, b))
		return -1;
	return 1;
}

static int t_net4(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint32_t a;
	int len;

	if (net4_parse(in, &a, &len))
		return bad(p, in, e,
			   "expected an IPv4 address or network such as 192.168.88.0/24 (prefix length 0..32)");
	emit_net4(a & mask4(len), len, false, out);
	return 0;
}

static int t_net6(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint8_t a[16];
	int len;

	if (net6_parse(in, a, &len))
		return bad(p, in, e,
			   "expected an IPv6 address or network such as 2001:db8::/32 (prefix length 0..128)");
	clear_host6(a, len);
	emit_net6(a, len, false, out);
	return 0;
}

static int t_addr4(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint32_t a, b;
	int r = range4_parse(in, &a, &b);

	if (r < 0)
		return bad(p, in, e, "expected an IPv4 range such as 10.0.0.1-10.0.0.9");
	if (r == 0) {
		int len;
		if (net4_parse(in, &a, &len))
			return bad(p, in, e,
				   "expected an IPv4 address, network or range such as 10.0.0.1, "
				   "10.0.0.0/8 or 10.0.0.1-10.0.0.9");
		emit_net4(a & mask4(len), len, false, out);
		return 0;
	}
	if (a > b)
		return bad(p, in, e, "the range starts above its end");
	emit_range4(a, b, out);
	return 0;
}

/* ---- small scalar types ---- */

static int t_str(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	size_t n = strlen(in);

	if (p->max > 0 && n > (size_t)p->max)
		return bad(p, in, e, "longer than %lld characters", p->max);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			return bad(p, in, e, "control character 0x%02x not allowed", c);
	}
	sbuf_add(out, in, n);
	return 0;
}

static int t_bool(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	if (eq_nocase(in, "yes") || eq_nocase(in, "true"))
		sbuf_puts(out, "yes");
	else if (eq_nocase(in, "no") || eq_nocase(in, "false"))
		sbuf_puts(out, "no");
	else
		return bad(p, in, e, "expected yes or no");
	return 0;
}

static int t_int(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	int64_t v;

	if (int_value(p, in, &v))
		return bad_int(p, in, e);
	sbuf_printf(out, "%" PRId64, v);
	return 0;
}

static int t_enum(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	struct sbuf list = SBUF_INIT;
	const char *best = NULL;
	int bestd = 3;

	if (in_list(p->enums, in)) {
		sbuf_puts(out, in);
		return 0;
	}
	if (!p->enums || !p->enums[0])
		return bad(p, in, e, "no values are defined");
	for (size_t i = 0; p->enums[i]; i++) {
		int d = distance(in, p->enums[i]);
		if (list.len < 240) {
			if (i)
				sbuf_puts(&list, ", ");
			sbuf_puts(&list, p->enums[i]);
		} else if (list.len < 240 + 5) {
			sbuf_puts(&list, ", ...");
		}
		if (d < bestd && d < (int)strlen(p->enums[i])) {
			bestd = d;
			best = p->enums[i];
		}
	}
	if (best)
		bad(p, in, e, "expected one of %s (did you mean '%s'?)", sbuf_str(&list), best);
	else
		bad(p, in, e, "expected one of %s", sbuf_str(&list));
	sbuf_free(&list);
	return -1;
}

static int t_port(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint64_t v;

	if (str_dec_max(in, 65535, &v))
		return bad(p, in, e, "expected a port number 0..65535");
	sbuf_printf(out, "%" PRIu64, v);
	return 0;
}

/* "n" or "n-m" with n <= m, both within lo..hi; "n-n" is "n". */
static int num_range(const struct prop *p, const char *in, uint64_t lo, uint64_t hi,
		     const char *what, struct sbuf *out, struct err *e)
{
	const char *dash = strchr(in, '-');
	uint64_t a, b;

	if (!dash) {
		if (str_dec(in, &a) || a < lo || a > hi)
			return bad(p, in, e, "expected %s %" PRIu64 "..%" PRIu64 " or a range n-m",
				   what, lo, hi);
		b = a;
	} else if (span_dec(in, (size_t)(dash - in), &a) || str_dec(dash + 1, &b) ||
		   a < lo || a > hi || b < lo || b > hi) {
		return bad(p, in, e, "expected %s %" PRIu64 "..%" PRIu64 " or a range n-m",
			   what, lo, hi);
	} else if (a > b) {
		return bad(p, in, e, "the range starts above its end");
	}
	if (a == b)
		sbuf_printf(out, "%" PRIu64, a);
	else
		sbuf_printf(out, "%" PRIu64 "-%" PRIu64, a, b);
	return 0;
}

static int t_rate(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint64_t v;

	if (rate_value(p, in, in, &v, e))
		return -1;
	format_rate(v, out);
	return 0;
}

static int t_time(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint64_t ms;

	if (in_list(p->enums, in)) {
		sbuf_puts(out, in);
		return 0;
	}
	if (time_value(p, in, in, &ms, e))
		return -1;
	format_time_ms(ms, out);
	return 0;
}

static int t_mac(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint8_t m[6];

	if (parse_mac(in, m))
		return bad(p, in, e, "expected a MAC address such as 00:0C:42:AA:BB:CC");
	sbuf_printf(out, "%02X:%02X:%02X:%02X:%02X:%02X", m[0], m[1], m[2], m[3], m[4], m[5]);
	return 0;
}

/* A name: no whitespace or control characters; extra forbids one more char. */
static bool name_ok(const char *s, size_t n, char extra)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || (extra && c == (unsigned char)extra))
			return false;
	}
	return true;
}

static int t_ref(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	if (!in_list(p->enums, in) && !name_ok(in, strlen(in), 0))
		return bad(p, in, e, "expected a name without spaces or control characters");
	sbuf_puts(out, in);
	return 0;
}

/* Thousandths as minimal decimal text: 100 -> 0.1, 10000 -> 10. */
static void format_milli(long long v, struct sbuf *out)
{
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;
	unsigned f = (unsigned)(u % 1000);

	if (v < 0)
		sbuf_putc(out, '-');
	sbuf_printf(out, "%llu", u / 1000);
	if (f) {
		char d[4];
		int n = 3;
		d[0] = (char)('0' + f / 100);
		d[1] = (char)('0' + f / 10 % 10);
		d[2] = (char)('0' + f % 10);
		while (d[n - 1] == '0')
			n--;
		sbuf_putc(out, '.');
		sbuf_add(out, d, (size_t)n);
	}
}

static int t_num(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	struct sbuf c = SBUF_INIT;
	int64_t v;
	int rc = 0;

	if (num_parse(in, p->min < 0, &v, &c)) {
		rc = bad(p, in, e, "expected a decimal number such as 0.1 or 10");
		goto free_c;
	}
	/* v is in millionths, the bounds in thousandths. */
	if (p->max > 0 && (v < p->min * 1000 || v > p->max * 1000)) {
		struct sbuf lo = SBUF_INIT, hi = SBUF_INIT;
		format_milli(p->min, &lo);
		format_milli(p->max, &hi);
		rc = bad(p, in, e, "expected a number from %s to %s", sbuf_str(&lo), sbuf_str(&hi));
		sbuf_free(&lo);
		sbuf_free(&hi);
		goto free_c;
	}
	sbuf_add(out, c.s, c.len);
free_c:
	sbuf_free(&c);
	return rc;
}

/* ---- entry points ---- */

int type_parse_one(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint32_t a4;
	uint8_t a6[16];

	if (!in)
		in = "";
	if (p->type != T_STR && p->type != T_CUSTOM && !*in)
		return bad(p, in, e, "a value is required");
	switch (p->type) {
	case T_STR:
		return t_str(p, in, out, e);
	case T_BOOL:
		return t_bool(p, in, out, e);
	case T_INT:
		return t_int(p, in, out, e);
	case T_ENUM:
		return t_enum(p, in, out, e);
	case T_IP4:
		if (parse_ip4(in, &a4))
			return bad(p, in, e, "expected an IPv4 address such as 192.168.88.1");
		format_ip4(a4, out);
		return 0;
	case T_IP6:
		if (parse_ip6(in, a6))
			return bad(p, in, e, "expected an IPv6 address such as 2001:db8::1");
		format_ip6(a6, out);
		return 0;
	case T_IP:
		if (!parse_ip4(in, &a4))
			format_ip4(a4, out);
		else if (!parse_ip6(in, a6))
			format_ip6(a6, out);
		else
			return bad(p, in, e, "expected an IPv4 or IPv6 address");
		return 0;
	case T_PREFIX4: {
		int len;
		if (net4_parse(in, &a4, &len))
			return bad(p, in, e,
				   "expected an IPv4 address with prefix length such as 192.168.88.1/24");
		emit_net4(a4, len, true, out);
		return 0;
	}
	case T_NET4:
		return t_net4(p, in, out, e);
	case T_NET6:
	case T_ADDR6:
		return t_net6(p, in, out, e);
	case T_ADDR4:
		return t_addr4(p, in, out, e);
	case T_ADDRANY:
		if (strchr(in, ':'))
			return t_net6(p, in, out, e);
		return t_addr4(p, in, out, e);
	case T_PORT:
		return t_port(p, in, out, e);
	case T_PORTS:
		return num_range(p, in, 0, 65535, "a port", out, e);
	case T_RATE:
		return t_rate(p, in, out, e);
	case T_TIME:
		return t_time(p, in, out, e);
	case T_MAC:
		return t_mac(p, in, out, e);
	case T_REF:
		return t_ref(p, in, out, e);
	case T_NUM:
		return t_num(p, in, out, e);
	case T_CUSTOM:
		if (!p->check)
			return err_setp(e, pname(p), "property %s has no value checker", pname(p));
		return p->check(p, in, out, e);
	}
	return err_setp(e, pname(p), "property %s has an unknown type", pname(p));
}

int type_parse(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	struct sbuf el = SBUF_INIT;
	const char *s;
	int rc = 0;

	if (!in)
		in = "";
	if ((p->flags & PF_NEG) && in[0] == '!') {
		if (!in[1])
			return bad(p, in, e, "nothing follows '!'");
		sbuf_putc(out, '!');
		in++;
	}
	if (!(p->flags & PF_LIST))
		return type_parse_one(p, in, out, e);
	if (!*in)
		return 0;
	if (p->type == T_CUSTOM)
		return type_parse_one(p, in, out, e);
	for (s = in;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == 0) {
			rc = bad(p, in, e, "empty element in the list");
			goto free_el;
		}
		sbuf_reset(&el);
		sbuf_add(&el, s, n);
		if (s != in)
			sbuf_putc(out, ',');
		if ((rc = type_parse_one(p, sbuf_str(&el), out, e)) < 0)
			goto free_el;
		if (!comma)
			break;
		s = comma + 1;
	}
free_el:
	sbuf_free(&el);
	return rc;
}

bool type_number(const struct prop *p, const char *canon, double *out)
{
	uint64_t u;
	int64_t i;
	uint32_t a;

	if (!canon || !*canon)
		return false;
	switch (p->type) {
	case T_INT:
		if (parse_i64(canon, true, &i))
			return false;
		*out = (double)i;
		return true;
	case T_PORT:
	case T_PORTS:
		if (str_dec_max(canon, 65535, &u))
			return false;
		*out = (double)u;
		return true;
	case T_RATE:
		if (parse_rate(canon, &u))
			return false;
		*out = (double)u;
		return true;
	case T_TIME:
		if (parse_time_ms(canon, &u))
			return false;
		*out = (double)u;
		return true;
	case T_NUM:
		if (num_parse(canon, true, &i, NULL))
			return false;
		*out = (double)i / 1e6;
		return true;
	case T_BOOL:
		if (eq_nocase(canon, "yes") || eq_nocase(canon, "true"))
			*out = 1;
		else if (eq_nocase(canon, "no") || eq_nocase(canon, "false"))
			*out = 0;
		else
			return false;
		return true;
	case T_IP4:
		if (parse_ip4(canon, &a))
			return false;
		*out = (double)a;
		return true;
	default:
		return false;
	}
}

/* ---- custom formats ---- */

int tc_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char form[] = "expected rate[/time][,burst[:packet|bit]] such as 10,5 or 1M/1s,32:bit";
	char buf[TC_MAX];
	char *rate = buf, *tm, *burst, *mode = NULL;
	uint64_t r, t = 1000, b = 5;
	bool bit = false;

	if (tc_copy(p, in, buf, e))
		return -1;
	burst = cut(rate, ',');
	tm = cut(rate, '/');
	if (burst)
		mode = cut(burst, ':');
	if (mode && !strcmp(mode, "bit"))
		bit = true;
	else if (mode && strcmp(mode, "packet"))
		return bad(p, in, e, "the mode must be packet or bit");
	if (bit ? parse_rate(rate, &r) : str_dec(rate, &r))
		return bad(p, in, e, "%s%s", form,
			   bit ? "" : " (k/M/G suffixes only with :bit)");
	if (r == 0)
		return bad(p, in, e, "the rate must be above 0");
	if (tm && (parse_time_ms(tm, &t) || t == 0))
		return bad(p, in, e, "expected a time after '/' such as 1s, 1m or 1h");
	if (burst && str_dec_max(burst, UINT32_MAX, &b))
		return bad(p, in, e, "%s", form);
	if (bit)
		format_rate(r, out);
	else
		sbuf_printf(out, "%" PRIu64, r);
	if (t != 1000) {
		sbuf_putc(out, '/');
		format_time_ms(t, out);
	}
	sbuf_printf(out, ",%" PRIu64 ":%s", b, bit ? "bit" : "packet");
	return 0;
}

static const char *const dst_limit_modes[] = {
	"addresses-and-dst-port", "dst-address-and-port", "dst-address-only",
	"src-address-and-dst-address", "src-and-dst-addresses-and-dst-port", NULL,
};

int tc_dst_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char form[] = "expected rate[/time],burst,mode[/expire] such as 10,32,dst-address-only";
	char buf[TC_MAX];
	char *rate = buf, *tm, *burst, *mode, *expire;
	uint64_t r, t = 1000, b, x = 0;

	if (tc_copy(p, in, buf, e))
		return -1;
	burst = cut(rate, ',');
	mode = burst ? cut(burst, ',') : NULL;
	if (!mode)
		return bad(p, in, e, "%s", form);
	tm = cut(rate, '/');
	expire = cut(mode, '/');
	if (str_dec(rate, &r) || r == 0)
		return bad(p, in, e, "the rate must be a packet count above 0 (%s)", form);
	if (tm && (parse_time_ms(tm, &t) || t == 0))
		return bad(p, in, e, "expected a time after '/' such as 1s, 1m or 1h");
	if (str_dec_max(burst, UINT32_MAX, &b))
		return bad(p, in, e, "the burst must be a packet count (%s)", form);
	if (!in_list(dst_limit_modes, mode))
		return bad(p, in, e, "the mode must be one of addresses-and-dst-port, "
			   "dst-address-and-port, dst-address-only, src-address-and-dst-address, "
			   "src-and-dst-addresses-and-dst-port");
	if (expire && parse_time_ms(expire, &x))
		return bad(p, in, e, "expected an expire time after the mode such as /1m");
	sbuf_printf(out, "%" PRIu64, r);
	if (t != 1000) {
		sbuf_putc(out, '/');
		format_time_ms(t, out);
	}
	sbuf_printf(out, ",%" PRIu64 ",%s", b, mode);
	if (expire) {
		sbuf_putc(out, '/');
		format_time_ms(x, out);
	}
	return 0;
}

static const char *const tcp_flag_names[] = {
	"ack", "cwr", "ece", "fin", "psh", "rst", "syn", "urg", NULL,
};

int tc_tcp_flags(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	unsigned seen = 0;
	const char *s = in;

	if (!*in)
		return bad(p, in, e, "expected TCP flags such as syn,!ack");
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		bool neg = n > 0 && *s == '!';
		int f = list_index(tcp_flag_names, s + neg, n - neg);
		if (f < 0)
			return bad(p, in, e, "expected a comma list of ack, cwr, ece, fin, psh, rst, "
				   "syn, urg, each optionally preceded by '!'");
		if (seen & (1u << f))
			return bad(p, in, e, "flag %s is given twice", tcp_flag_names[f]);
		seen |= 1u << f;
		if (s != in)
			sbuf_putc(out, ',');
		sbuf_add(out, s, n);
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

int tc_icmp_options(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char form[] = "expected type[:code] or type:code-code, each 0..255, such as 8:0 or 3:0-15";
	char buf[TC_MAX];
	char *code, *hi;
	uint64_t t, lo, h;

	if (tc_copy(p, in, buf, e))
		return -1;
	code = cut(buf, ':');
	if (str_dec_max(buf, 255, &t))
		return bad(p, in, e, "%s", form);
	if (!code) {
		sbuf_printf(out, "%" PRIu64, t);
		return 0;
	}
	hi = cut(code, '-');
	if (str_dec_max(code, 255, &lo) || (hi && str_dec_max(hi, 255, &h)))
		return bad(p, in, e, "%s", form);
	if (!hi)
		h = lo;
	if (lo > h)
		return bad(p, in, e, "the code range starts above its end");
	if (lo == h)
		sbuf_printf(out, "%" PRIu64 ":%" PRIu64, t, lo);
	else
		sbuf_printf(out, "%" PRIu64 ":%" PRIu64 "-%" PRIu64, t, lo, h);
	return 0;
}

static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

int tc_schedule(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char form[] = "expected time-time[,days] such as 8h-17h,mon,tue,wed,thu,fri";
	char buf[TC_MAX];
	char *from = buf, *to, *days;
	uint64_t t1, t2;
	unsigned mask = 0;

	if (tc_copy(p, in, buf, e))
		return -1;
	days = cut(from, ',');
	to = cut(from, '-');
	if (!to || parse_time_ms(from, &t1) || parse_time_ms(to, &t2))
		return bad(p, in, e, "%s", form);
	if (t1 > 86400000 || t2 > 86400000)
		return bad(p, in, e, "the times must be within a day (0s..1d)");
	while (days) {
		char *next = cut(days, ',');
		char *last = cut(days, '-');
		int a = list_index(day_names, days, strlen(days));
		int b = last ? list_index(day_names, last, strlen(last)) : a;
		if (a < 0 || b < 0)
			return bad(p, in, e, "expected days among sun, mon, tue, wed, thu, fri, sat "
				   "(or a span such as mon-fri)");
		for (int d = a;; d = (d + 1) % 7) {
			if (mask & (1u << d))
				return bad(p, in, e, "day %s is given twice", day_names[d]);
			mask |= 1u << d;
			if (d == b)
				break;
		}
		days = next;
	}
	if (!mask)
		mask = 0x7f;
	format_time_ms(t1, out);
	sbuf_putc(out, '-');
	format_time_ms(t2, out);
	for (int d = 0; d < 7; d++)
		if (mask & (1u << d))
			sbuf_printf(out, ",%s", day_names[d]);
	return 0;
}

int tc_int_range(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint64_t lo = p->min > 0 ? (uint64_t)p->min : 0;
	uint64_t hi = int_bounded(p) && p->max >= 0 ? (uint64_t)p->max : (uint64_t)INT64_MAX;

	return num_range(p, in, lo, hi, "an integer", out, e);
}

int tc_mss(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	return num_range(p, in, 0, 65535, "a segment size", out, e);
}

int tc_nth(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *n;
	uint64_t every, nth;

	if (tc_copy(p, in, buf, e))
		return -1;
	n = cut(buf, ',');
	if (!n || str_dec_max(buf, UINT32_MAX, &every) || str_dec_max(n, UINT32_MAX, &nth))
		return bad(p, in, e, "expected every,n such as 3,1");
	if (every < 1 || nth < 1 || nth > every)
		return bad(p, in, e, "n must be from 1 to every (every,n such as 3,1)");
	sbuf_printf(out, "%" PRIu64 ",%" PRIu64, every, nth);
	return 0;
}

int tc_psd(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char form[] = "expected weight,delay,low-port-weight,high-port-weight such as 21,3s,3,1";
	char buf[TC_MAX];
	char *delay, *low, *high;
	uint64_t w, d, l, h;

	if (tc_copy(p, in, buf, e))
		return -1;
	delay = cut(buf, ',');
	low = delay ? cut(delay, ',') : NULL;
	high = low ? cut(low, ',') : NULL;
	if (!high || str_dec_max(buf, 65535, &w) || parse_time_ms(delay, &d) ||
	    str_dec_max(low, 65535, &l) || str_dec_max(high, 65535, &h))
		return bad(p, in, e, "%s", form);
	if (d == 0)
		return bad(p, in, e, "the delay must be above 0");
	sbuf_printf(out, "%" PRIu64 ",", w);
	format_time_ms(d, out);
	sbuf_printf(out, ",%" PRIu64 ",%" PRIu64, l, h);
	return 0;
}

static const char *const pcc_fields[] = {
	"src-address", "dst-address", "both-addresses", "src-port", "dst-port", "both-ports",
	"src-address-and-port", "dst-address-and-port", "both-addresses-and-ports", NULL,
};

int tc_pcc(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *num, *rem;
	uint64_t d, r;

	if (tc_copy(p, in, buf, e))
		return -1;
	num = cut(buf, ':');
	rem = num ? cut(num, '/') : NULL;
	if (!rem)
		return bad(p, in, e, "expected fields:denominator/remainder such as both-addresses:3/0");
	if (!in_list(pcc_fields, buf))
		return bad(p, in, e, "the fields must be one of src-address, dst-address, both-addresses, "
			   "src-port, dst-port, both-ports, src-address-and-port, "
			   "dst-address-and-port, both-addresses-and-ports");
	if (str_dec_max(num, 65535, &d) || d == 0 || str_dec(rem, &r))
		return bad(p, in, e, "expected denominator 1..65535 and a remainder below it");
	if (r >= d)
		return bad(p, in, e, "the remainder must be below the denominator");
	sbuf_printf(out, "%s:%" PRIu64 "/%" PRIu64, buf, d, r);
	return 0;
}

int tc_conn_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *len;
	uint64_t n, l;

	if (tc_copy(p, in, buf, e))
		return -1;
	len = cut(buf, ',');
	if (!len || str_dec_max(buf, UINT32_MAX, &n) || str_dec_max(len, 128, &l))
		return bad(p, in, e, "expected connections,prefix-length such as 100,32 (length 0..128)");
	sbuf_printf(out, "%" PRIu64 ",%" PRIu64, n, l);
	return 0;
}

int tc_conn_rate(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *to;
	uint64_t a, b;

	if (tc_copy(p, in, buf, e))
		return -1;
	to = cut(buf, '-');
	if (!to || parse_rate(buf, &a) || parse_rate(to, &b))
		return bad(p, in, e, "expected rate-rate such as 0-100k");
	if (a > b)
		return bad(p, in, e, "the range starts above its end");
	format_rate(a, out);
	sbuf_putc(out, '-');
	format_rate(b, out);
	return 0;
}

int tc_conn_bytes(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *to;
	uint64_t a, b;

	if (tc_copy(p, in, buf, e))
		return -1;
	to = cut(buf, '-');
	if (!to || str_dec(buf, &a) || str_dec(to, &b))
		return bad(p, in, e, "expected from-to byte counts such as 0-500000 (0 as 'to' means no end)");
	if (b != 0 && a > b)
		return bad(p, in, e, "the range starts above its end");
	sbuf_printf(out, "%" PRIu64 "-%" PRIu64, a, b);
	return 0;
}

/* "word:N" with N 0..255 and word one of words. */
static int word_byte(const struct prop *p, const char *in, const char *const *words,
		     const char *form, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *num;
	uint64_t n;

	if (tc_copy(p, in, buf, e))
		return -1;
	num = cut(buf, ':');
	if (!num || !in_list(words, buf) || str_dec_max(num, 255, &n))
		return bad(p, in, e, "%s", form);
	sbuf_printf(out, "%s:%" PRIu64, buf, n);
	return 0;
}

int tc_ttl_match(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char *const words[] = { "equal", "not-equal", "less-than", "greater-than", NULL };

	return word_byte(p, in, words,
			 "expected equal:N, not-equal:N, less-than:N or greater-than:N with N 0..255",
			 out, e);
}

int tc_ttl_change(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	static const char *const words[] = { "set", "increment", "decrement", NULL };

	return word_byte(p, in, words, "expected set:N, increment:N or decrement:N with N 0..255",
			 out, e);
}

int tc_ip4_range(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	uint32_t a, b;
	int r = range4_parse(in, &a, &b);

	if (r == 0 && !parse_ip4(in, &a)) {
		b = a;
		r = 1;
	}
	if (r <= 0)
		return bad(p, in, e, "expected an IPv4 address or range such as 10.0.0.1-10.0.0.9");
	if (a > b)
		return bad(p, in, e, "the range starts above its end");
	format_ip4(a, out);
	if (a != b) {
		sbuf_putc(out, '-');
		format_ip4(b, out);
	}
	return 0;
}

/*
 * The upload/download pairs of simple queues ("10M/20M", "8/8", "10s/10s",
 * "default-small/default-small"): one element, or two separated by '/',
 * each put in canonical form by `one`; a single element stands for both.
 */
typedef int (*pair_one_fn)(const struct prop *p, const char *el, const char *in,
			   struct sbuf *out, struct err *e);

static int pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e,
		pair_one_fn one)
{
	char buf[TC_MAX];
	if (tc_copy(p, in, buf, e))
		return -1;
	char *second = cut(buf, '/');
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	int rc = one(p, buf, in, &a, e);
	if (rc == 0)
		rc = one(p, second ? second : buf, in, &b, e);
	if (rc == 0)
		sbuf_printf(out, "%s/%s", sbuf_str(&a), sbuf_str(&b));
	sbuf_free(&a);
	sbuf_free(&b);
	return rc;
}

static int rate_one(const struct prop *p, const char *el, const char *in, struct sbuf *out,
		    struct err *e)
{
	uint64_t v;
	if (rate_value(p, el, in, &v, e))
		return -1;
	format_rate(v, out);
	return 0;
}

static int int_one(const struct prop *p, const char *el, const char *in, struct sbuf *out,
		   struct err *e)
{
	int64_t v;
	if (int_value(p, el, &v)) {
		if (int_bounded(p))
			return bad(p, in, e, "expected N or N/N with integers from %lld to %lld",
				   p->min, p->max);
		return bad(p, in, e, "expected N or N/N with integers");
	}
	sbuf_printf(out, "%" PRId64, v);
	return 0;
}

static int time_one(const struct prop *p, const char *el, const char *in, struct sbuf *out,
		    struct err *e)
{
	uint64_t v;
	if (time_value(p, el, in, &v, e))
		return -1;
	format_time_ms(v, out);
	return 0;
}

static int name_one(const struct prop *p, const char *el, const char *in, struct sbuf *out,
		    struct err *e)
{
	if (!name_ok(el, strlen(el), '/'))
		return bad(p, in, e, "expected name or name/name such as default-small/default-small");
	/* Keeps "name" -> "name/name" within what this parser reads back. */
	if (strlen(el) > NAME_MAX_LEN)
		return bad(p, in, e, "names are at most %d characters", NAME_MAX_LEN);
	sbuf_puts(out, el);
	return 0;
}

int tc_rate_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	return pair(p, in, out, e, rate_one);
}

int tc_int_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	return pair(p, in, out, e, int_one);
}

int tc_time_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	return pair(p, in, out, e, time_one);
}

int tc_name_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	return pair(p, in, out, e, name_one);
}

/* Whether a target element is meant as an address rather than a name. */
static bool looks_like_address(const char *s)
{
	if (strchr(s, ':'))
		return true;
	if (!is_digit(*s))
		return false;
	for (; *s; s++)
		if (!is_digit(*s) && *s != '.' && *s != '/' && *s != '-')
			return false;
	return true;
}

static int target_one(const struct prop *p, const char *el, const char *in, struct sbuf *out,
		      struct err *e)
{
	if (looks_like_address(el)) {
		uint32_t a4;
		uint8_t a6[16];
		int len;
		if (strchr(el, ':')) {
			if (net6_parse(el, a6, &len))
				return bad(p, in, e, "expected an IPv6 address or network such as 2001:db8::/64");
			clear_host6(a6, len);
			emit_net6(a6, len, true, out);
			return 0;
		}
		if (net4_parse(el, &a4, &len))
			return bad(p, in, e, "expected an address or network such as 192.168.88.0/24, "
				   "or an interface name");
		emit_net4(a4 & mask4(len), len, true, out);
		return 0;
	}
	for (const char *c = el; *c; c++)
		if (!is_alpha(*c) && !is_digit(*c) && *c != '-' && *c != '_' && *c != '.')
			return bad(p, in, e, "expected an address, a network or an interface name "
				   "(letters, digits, '-', '_' and '.')");
	sbuf_puts(out, el);
	return 0;
}

/* One element as documented; a comma list is also taken, element by element. */
int tc_target(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	const char *s = in;

	if (!*in)
		return bad(p, in, e, "a value is required");
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		if (n == 0)
			return bad(p, in, e, "empty element in the list");
		if (n >= sizeof(buf))
			return bad(p, in, e, "an element is longer than %d characters", TC_MAX - 1);
		memcpy(buf, s, n);
		buf[n] = 0;
		if (s != in)
			sbuf_putc(out, ',');
		if (target_one(p, buf, in, out, e))
			return -1;
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static const char *const month_names[] = {
	"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL,
};

static unsigned month_days(unsigned y, unsigned m)
{
	static const unsigned days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int tc_date(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *b, *c;
	uint64_t y, m = 0, d;

	if (tc_copy(p, in, buf, e))
		return -1;
	if ((b = cut(buf, '/')) != NULL) {
		c = cut(b, '/');
		for (size_t i = 0; month_names[i]; i++)
			if (eq_nocase(buf, month_names[i]))
				m = i + 1;
		if (!c || !m || strlen(b) > 2 || str_dec(b, &d) || strlen(c) != 4 || str_dec(c, &y))
			goto bad_form;
	} else if ((b = cut(buf, '-')) != NULL) {
		c = cut(b, '-');
		if (!c || strlen(buf) != 4 || str_dec(buf, &y) || strlen(b) != 2 || str_dec(b, &m) ||
		    strlen(c) != 2 || str_dec(c, &d))
			goto bad_form;
	} else {
		goto bad_form;
	}
	if (y < 1970 || m < 1 || m > 12 || d < 1 || d > month_days((unsigned)y, (unsigned)m))
		return bad(p, in, e, "no such date (years from 1970)");
	sbuf_printf(out, "%s/%02u/%04u", month_names[m - 1], (unsigned)d, (unsigned)y);
	return 0;
bad_form:
	return bad(p, in, e, "expected a date such as jan/02/2026 or 2026-01-02");
}

int tc_clock(const struct prop *p, const char *in, struct sbuf *out, struct err *e)
{
	char buf[TC_MAX];
	char *mm, *ss;
	uint64_t h, m, s = 0;

	if (!strcmp(in, "startup")) {
		sbuf_puts(out, in);
		return 0;
	}
	if (tc_copy(p, in, buf, e))
		return -1;
	mm = cut(buf, ':');
	ss = mm ? cut(mm, ':') : NULL;
	if (!mm || strlen(buf) > 2 || str_dec_max(buf, 23, &h) || strlen(mm) != 2 ||
	    str_dec_max(mm, 59, &m) || (ss && (strlen(ss) != 2 || str_dec_max(ss, 59, &s))))
		return bad(p, in, e, "expected a time of day HH:MM:SS such as 03:00:00");
	sbuf_printf(out, "%02u:%02u:%02u", (unsigned)h, (unsigned)m, (unsigned)s);
	return 0;
}

int parse_prefix4(const char *s, uint32_t *addr, int *len)
{
	char buf[64];
	if (!s || strlen(s) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", s);
	char *sl = strchr(buf, '/');
	*len = 32;
	if (sl) {
		*sl = 0;
		char *end;
		long l = strtol(sl + 1, &end, 10);
		if (end == sl + 1 || *end || l < 0 || l > 32)
			return -1;
		*len = (int)l;
	}
	return parse_ip4(buf, addr);
}

uint32_t prefix4_mask(int len)
{
	return len <= 0 ? 0 : len >= 32 ? ~0u : ~0u << (32 - len);
}

int schedule_parse(const char *canon, struct schedule *out)
{
	static const char *const days[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat" };
	char buf[160];
	if (!canon || strlen(canon) >= sizeof(buf))
		return -1;
	snprintf(buf, sizeof(buf), "%s", canon);
	char *c = strchr(buf, ','), *dash;
	if (c)
		*c++ = 0;
	dash = strchr(buf, '-');
	uint64_t t1, t2;
	if (!dash)
		return -1;
	*dash = 0;
	if (parse_time_ms(buf, &t1) < 0 || parse_time_ms(dash + 1, &t2) < 0)
		return -1;
	out->start = (uint32_t)(t1 / 1000);
	out->end = (uint32_t)(t2 / 1000);
	out->days = c ? 0 : 0x7f;
	for (char *save = NULL, *d = c ? strtok_r(c, ",", &save) : NULL; d;
	     d = strtok_r(NULL, ",", &save)) {
		int k;
		for (k = 0; k < 7 && strcmp(days[k], d); k++)
			;
		if (k == 7)
			return -1;
		out->days |= (uint8_t)(1u << k);
	}
	return 0;
}

bool schedule_holds(const struct schedule *s, int64_t wall)
{
	int64_t day = wall / 86400, rem = wall % 86400;
	if (rem < 0) {
		rem += 86400;
		day--;
	}
	int64_t dow = (day + 4) % 7; /* 1970-01-01 was a thursday */
	if (dow < 0)
		dow += 7;
	if (!(s->days & (1u << dow)))
		return false;
	uint32_t sec = (uint32_t)rem;
	if (s->start < s->end)
		return sec >= s->start && sec <= s->end;
	return sec >= s->start || sec <= s->end; /* across midnight, or the whole day */
}
