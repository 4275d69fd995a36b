#include "query.h"

#include <stdlib.h>
#include <string.h>

void mgmt_query_free(struct mgmt_query *q)
{
	for (size_t i = 0; i < q->n; i++) {
		free(q->w[i].name);
		free(q->w[i].value);
	}
	free(q->w);
	free(q->stack);
	memset(q, 0, sizeof(*q));
}

int mgmt_query_add(struct mgmt_query *q, const char *w, struct err *e)
{
	struct mgmt_qword qw = { Q_EQ, NULL, NULL };
	if (w[0] == '#') {
		for (const char *p = w + 1; *p; p++)
			if (!strchr("0123456789!&|.", *p))
				return err_set(e, "unknown query operation '%c'", *p);
		qw.op = Q_OPS;
		qw.name = xstrdup(w + 1);
		q->depth += strlen(w);
	} else {
		const char *p = w;
		if (*p == '-') {
			qw.op = Q_LACKS;
			p++;
		} else if (*p == '<' || *p == '>') {
			qw.op = *p == '<' ? Q_LT : Q_GT;
			p++;
		} else if (*p == '=') {
			p++;
		}
		const char *eq = qw.op == Q_LACKS ? NULL : strchr(p, '=');
		if (qw.op == Q_EQ && !eq && p == w)
			qw.op = Q_HAS;
		size_t n = eq ? (size_t)(eq - p) : strlen(p);
		if (!n)
			return err_set(e, "query word without a property name: '%.200s'", w);
		qw.name = xstrndup(p, n);
		qw.value = xstrdup(eq ? eq + 1 : "");
		q->depth++;
	}
	q->w = xrealloc(q->w, (q->n + 1) * sizeof(*q->w));
	q->w[q->n++] = qw;
	return 0;
}

static int bool_word(const char *v)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes"))
		return 1;
	if (!strcmp(v, "false") || !strcmp(v, "no"))
		return 0;
	return -1;
}

bool mgmt_value_eq(const char *a, const char *b)
{
	int x = bool_word(a), y = bool_word(b);
	if (x >= 0 && y >= 0)
		return x == y;
	return !strcmp(a, b);
}

/* Decimal numbers only ("-12", "3.5"): not "inf", "0x1A" or "10M". */
static bool parse_num(const char *s, double *out)
{
	const char *p = s;
	if (*p == '-')
		p++;
	if (!(*p >= '0' && *p <= '9'))
		return false;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p == '.') {
		p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p)
		return false;
	*out = strtod(s, NULL);
	return true;
}

static int value_cmp(const char *a, const char *b)
{
	double x, y;
	if (parse_num(a, &x) && parse_num(b, &y))
		return x < y ? -1 : x > y;
	return strcmp(a, b);
}

/*
 * Each condition pushes a value; a '#' word works on the stack (top value
 * has index 0): digits N followed by more text push a copy of value N ('.'
 * right after N does nothing), digits N at the end replace every value with
 * value N; '!' negates the top; '&' and '|' pop two and push the result;
 * '.' pushes a copy of the top. The stack starts as infinitely many 'true'
 * values (`fill` stands for all those below the pushed ones), so no word can
 * underflow it. The row matches when no value is false.
 */
bool mgmt_query_match(struct mgmt_query *q, const struct mgmt_row *row)
{
	if (!q->n)
		return true;
	if (!q->stack)
		q->stack = xmalloc((q->depth + 1) * sizeof(bool));
	size_t n = 0;
	bool fill = true;
#define POP() (n ? q->stack[--n] : fill)
#define AT(i) ((i) < n ? q->stack[n - 1 - (i)] : fill)
#define PUSH(v)                              \
	do {                                 \
		if (n < q->depth)            \
			q->stack[n++] = (v); \
	} while (0)
	for (size_t i = 0; i < q->n; i++) {
		const struct mgmt_qword *w = &q->w[i];
		if (w->op != Q_OPS) {
			const char *v = mgmt_row_get(row, w->name);
			switch (w->op) {
			case Q_HAS: PUSH(v != NULL); break;
			case Q_LACKS: PUSH(v == NULL); break;
			case Q_EQ: PUSH(mgmt_value_eq(v ? v : "", w->value)); break;
			case Q_LT: PUSH(value_cmp(v ? v : "", w->value) < 0); break;
			case Q_GT: PUSH(value_cmp(v ? v : "", w->value) > 0); break;
			case Q_OPS: break;
			}
			continue;
		}
		for (const char *p = w->name; *p;) {
			bool a, b;
			if (*p >= '0' && *p <= '9') {
				size_t k = 0;
				while (*p >= '0' && *p <= '9') {
					if (k < 1000000)
						k = k * 10 + (size_t)(*p - '0');
					p++;
				}
				a = AT(k);
				if (!*p) {
					n = 0;
					fill = a;
				} else {
					PUSH(a);
					if (*p == '.')
						p++;
				}
				continue;
			}
			switch (*p++) {
			case '!':
				a = POP();
				PUSH(!a);
				break;
			case '&':
			case '|':
				a = POP();
				b = POP();
				PUSH(p[-1] == '&' ? (a && b) : (a || b));
				break;
			default: /* '.' */
				a = AT(0);
				PUSH(a);
				break;
			}
		}
	}
#undef POP
#undef AT
#undef PUSH
	if (!fill)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!q->stack[i])
			return false;
	return true;
}
