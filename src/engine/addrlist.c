/*
 * addrlist: sorted disjoint ranges. IPv4 ranges are pairs of host-order
 * words; IPv6 ranges are pairs of 128-bit numbers kept as (high, low)
 * 64-bit halves so comparisons are two integer compares.
 */
#include "addrlist.h"

#include <stdlib.h>
#include <string.h>

#include "conf/types.h"
#include "util/sbuf.h"

struct r4 {
	uint32_t lo, hi;
};

struct u128 {
	uint64_t h, l;
};

struct r6 {
	struct u128 lo, hi;
};

struct al_set {
	uint8_t family;
	size_t n, cap;
	struct r4 *v4;
	struct r6 *v6;
};

static struct u128 to_u128(const uint8_t b[16])
{
	struct u128 u = { 0, 0 };
	for (int i = 0; i < 8; i++) {
		u.h = u.h << 8 | b[i];
		u.l = u.l << 8 | b[8 + i];
	}
	return u;
}

static int cmp128(struct u128 a, struct u128 b)
{
	if (a.h != b.h)
		return a.h < b.h ? -1 : 1;
	if (a.l != b.l)
		return a.l < b.l ? -1 : 1;
	return 0;
}

/* a + 1 would wrap (a is all ones). */
static bool max128(struct u128 a)
{
	return a.h == UINT64_MAX && a.l == UINT64_MAX;
}

static struct u128 inc128(struct u128 a)
{
	a.l++;
	if (a.l == 0)
		a.h++;
	return a;
}

struct al_set *al_set_new(uint8_t family)
{
	struct al_set *s = xcalloc(1, sizeof(*s));
	s->family = family == 6 ? 6 : 4;
	return s;
}

void al_set_free(struct al_set *s)
{
	if (!s)
		return;
	free(s->v4);
	free(s->v6);
	free(s);
}

void al_set_add(struct al_set *s, const union ipaddr *lo, const union ipaddr *hi)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		if (s->family == 4)
			s->v4 = xrealloc(s->v4, s->cap * sizeof(*s->v4));
		else
			s->v6 = xrealloc(s->v6, s->cap * sizeof(*s->v6));
	}
	if (s->family == 4)
		s->v4[s->n++] = (struct r4){ lo->v4, hi->v4 };
	else
		s->v6[s->n++] = (struct r6){ to_u128(lo->v6), to_u128(hi->v6) };
}

static int cmp_r4(const void *a, const void *b)
{
	const struct r4 *x = a, *y = b;
	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

static int cmp_r6(const void *a, const void *b)
{
	const struct r6 *x = a, *y = b;
	return cmp128(x->lo, y->lo);
}

void al_set_finish(struct al_set *s)
{
	size_t out = 0;
	if (s->family == 4) {
		qsort(s->v4, s->n, sizeof(*s->v4), cmp_r4);
		for (size_t i = 0; i < s->n; i++) {
			struct r4 r = s->v4[i];
			/* touching ranges merge too: hi + 1 == lo */
			if (out && (s->v4[out - 1].hi == UINT32_MAX || r.lo <= s->v4[out - 1].hi + 1)) {
				if (r.hi > s->v4[out - 1].hi)
					s->v4[out - 1].hi = r.hi;
			} else {
				s->v4[out++] = r;
			}
		}
	} else {
		qsort(s->v6, s->n, sizeof(*s->v6), cmp_r6);
		for (size_t i = 0; i < s->n; i++) {
			struct r6 r = s->v6[i];
			struct r6 *last = out ? &s->v6[out - 1] : NULL;
			if (last && (max128(last->hi) || cmp128(r.lo, inc128(last->hi)) <= 0)) {
				if (cmp128(r.hi, last->hi) > 0)
					last->hi = r.hi;
			} else {
				s->v6[out++] = r;
			}
		}
	}
	s->n = out;
}

size_t al_set_ranges(const struct al_set *s)
{
	return s ? s->n : 0;
}

bool al_set_has(const struct al_set *s, const union ipaddr *a)
{
	if (!s || !s->n)
		return false;
	/* the last range whose lo <= a, then a <= its hi */
	size_t lo = 0, n = s->n;
	if (s->family == 4) {
		uint32_t k = a->v4;
		if (k < s->v4[0].lo)
			return false;
		while (n > 1) {
			size_t half = n / 2;
			if (s->v4[lo + half].lo <= k)
				lo += half;
			n -= half;
		}
		return k <= s->v4[lo].hi;
	}
	struct u128 k = to_u128(a->v6);
	if (cmp128(k, s->v6[0].lo) < 0)
		return false;
	while (n > 1) {
		size_t half = n / 2;
		if (cmp128(s->v6[lo + half].lo, k) <= 0)
			lo += half;
		n -= half;
	}
	return cmp128(k, s->v6[lo].hi) <= 0;
}

/* Decimal 0..max, the whole string. */
static int small_dec(const char *s, unsigned max, unsigned *v)
{
	unsigned x = 0;
	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		x = x * 10 + (unsigned)(*s - '0');
		if (x > max)
			return -1;
	}
	*v = x;
	return 0;
}

static int parse4(const char *s, union ipaddr *lo, union ipaddr *hi)
{
	char buf[40];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	char *dash = strchr(buf, '-');
	char *slash = strchr(buf, '/');
	if (dash) {
		*dash = 0;
		if (parse_ip4(buf, &lo->v4) || parse_ip4(dash + 1, &hi->v4) || lo->v4 > hi->v4)
			return -1;
		return 0;
	}
	unsigned len = 32;
	if (slash) {
		*slash = 0;
		uint32_t m;
		if (strchr(slash + 1, '.')) {
			if (parse_ip4(slash + 1, &m) || (~m & (~m + 1)) != 0)
				return -1;
			len = (unsigned)__builtin_popcount(m);
		} else if (small_dec(slash + 1, 32, &len)) {
			return -1;
		}
	}
	uint32_t a;
	if (parse_ip4(buf, &a))
		return -1;
	uint32_t mask = len ? ~0u << (32 - len) : 0;
	lo->v4 = a & mask;
	hi->v4 = a | ~mask;
	return 0;
}

static int parse6(const char *s, union ipaddr *lo, union ipaddr *hi)
{
	char buf[64];
	size_t n = strlen(s);
	if (n >= sizeof(buf))
		return -1;
	memcpy(buf, s, n + 1);
	char *slash = strchr(buf, '/');
	unsigned len = 128;
	if (slash) {
		*slash = 0;
		if (small_dec(slash + 1, 128, &len))
			return -1;
	}
	uint8_t a[16];
	if (parse_ip6(buf, a))
		return -1;
	for (unsigned i = 0; i < 16; i++) {
		int keep = (int)len - 8 * (int)i;
		uint8_t m = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		lo->v6[i] = a[i] & m;
		hi->v6[i] = a[i] | (uint8_t)~m;
	}
	return 0;
}

int al_parse_range(const char *s, uint8_t family, union ipaddr *lo, union ipaddr *hi)
{
	if (!s || !*s)
		return -1;
	memset(lo, 0, sizeof(*lo));
	memset(hi, 0, sizeof(*hi));
	return family == 6 ? parse6(s, lo, hi) : parse4(s, lo, hi);
}

bool al_in_range(uint8_t family, const union ipaddr *a, const union ipaddr *lo,
		 const union ipaddr *hi)
{
	if (family == 6)
		return memcmp(a->v6, lo->v6, 16) >= 0 && memcmp(a->v6, hi->v6, 16) <= 0;
	return a->v4 >= lo->v4 && a->v4 <= hi->v4;
}
