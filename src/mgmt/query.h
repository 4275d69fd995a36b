/*
 * query: the API's print queries, shared by the API protocol (?words) and
 * REST (.query): conditions `name` (has), `-name` (lacks), `name=x` and
 * `=name=x` (equals; booleans in either spelling), `<name=x`, `>name=x`
 * (numbers as numbers, else text), and `#ops` on a boolean stack. Built
 * once per command, evaluated per row. Not thread-safe (the stack is
 * scratch space inside the query).
 */
#ifndef ROSFW_MGMT_QUERY_H
#define ROSFW_MGMT_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "mgmt.h"

enum mgmt_qop { Q_HAS, Q_LACKS, Q_EQ, Q_LT, Q_GT, Q_OPS };

struct mgmt_qword {
	enum mgmt_qop op;
	char *name;  /* the property; for Q_OPS the operation string */
	char *value;
};

struct mgmt_query {
	struct mgmt_qword *w;
	size_t n;
	size_t depth; /* the most values the stack can hold */
	bool *stack;
};

/* Adds one query word (without its '?'). Returns 0, or -1 with e. */
int mgmt_query_add(struct mgmt_query *q, const char *word, struct err *e);
/* True when the row satisfies the query (an empty query takes everything). */
bool mgmt_query_match(struct mgmt_query *q, const struct mgmt_row *row);
void mgmt_query_free(struct mgmt_query *q);
/* The API's equality: text, or booleans in either spelling (yes/true). */
bool mgmt_value_eq(const char *a, const char *b);

#endif
