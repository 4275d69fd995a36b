/*
 * lint: the classic mistakes of a RouterOS firewall and QoS configuration,
 * found in the store before they reach a device (REFERENCE.md §8): marks
 * that a later passthrough rule overwrites, FastTrack in front of QoS,
 * shadowed rules, input chains that can lock the LAN out, marks no queue
 * uses and queues no mark feeds, actions in chains where they do nothing,
 * queue limits that contradict each other, an interface shaper whose bucket
 * bursts into the modem, no drop of invalid connections,
 * management services open to the world.
 * Reads the store only; single-threaded like the store.
 */
#ifndef ROSFW_LINT_LINT_H
#define ROSFW_LINT_LINT_H

#include <stddef.h>

#include "conf/store.h"
#include "util/sbuf.h"

enum lint_level { LINT_WARNING, LINT_ERROR };

struct lint_finding {
	enum lint_level level;
	char check[32];    /* short name: mark-overwrite, fasttrack-qos, shadowed ... */
	char where[96];    /* "/ip firewall mangle #3 (*2F)" */
	char message[400];
};

struct lint_report {
	struct lint_finding *f;
	size_t n;
};

/* Runs every check; findings in configuration order. */
void lint_run(struct store *st, struct lint_report *r);
void lint_report_free(struct lint_report *r);
/* One finding per line: "warning: WHERE: MESSAGE [check]". */
void lint_format(const struct lint_report *r, struct sbuf *out);

#endif
