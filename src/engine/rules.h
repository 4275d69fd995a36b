/*
 * rules: the firewall tables compiled for the packet path, and their
 * evaluation. ruleset_compile reads the store (raw, mangle, nat, filter for
 * IPv4 and IPv6, address lists, interface lists, layer7 patterns) once and
 * builds an immutable struct ruleset: every rule pre-parsed into a compact
 * matcher, chains resolved to indices, jump loops rejected. The packet path
 * never parses text. Evaluation keeps RouterOS's first-match order and the
 * side effects of non-terminating rules (marks, address lists, log,
 * passthrough) while a classifier avoids scanning rules that cannot match.
 *
 * State that outlives a ruleset (counters, limit buckets, nth counters,
 * dynamic address-list entries, the connection-limit view of conntrack) is
 * kept in struct rs_state, owned by the engine, keyed by the store id of
 * each rule so a recompile carries it over.
 *
 * Threads: compile on the control plane; run on the dataplane thread; a
 * ruleset is read-only once published.
 */
#ifndef ROSFW_ENGINE_RULES_H
#define ROSFW_ENGINE_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/store.h"
#include "ct.h"
#include "pkt.h"

enum rs_table { RT_RAW, RT_MANGLE, RT_NAT, RT_FILTER, RT_MAX };

/* Built-in chains (hooks). Custom chains are reached by jump only. */
enum rs_hook {
	RH_PREROUTING, RH_INPUT, RH_FORWARD, RH_OUTPUT, RH_POSTROUTING,
	RH_DSTNAT, RH_SRCNAT, RH_MAX
};

/* What a table's chain decided. */
enum rs_action {
	RA_CONTINUE = 0, /* the chain ended (or accept): go on with the packet flow */
	RA_ACCEPT,       /* an explicit accept rule */
	RA_DROP,
	RA_REJECT,
	RA_TARPIT,
	RA_NOTRACK,      /* raw: notrack, then accept */
	RA_NAT,          /* nat: a translation to apply (struct rs_nat) */
};

enum rs_nat_kind { NAT_NONE, NAT_MASQUERADE, NAT_SRC, NAT_DST, NAT_REDIRECT, NAT_NETMAP, NAT_SAME };

struct rs_nat {
	uint8_t kind;          /* enum rs_nat_kind */
	uint32_t addr_lo, addr_hi; /* to-addresses (host order); 0/0 = unset */
	uint16_t port_lo, port_hi; /* to-ports; 0/0 = keep */
};

/* reject-with, as RouterOS names it; the flow builds the ICMP error or RST. */
enum rs_reject {
	REJ_NET_UNREACH, REJ_HOST_UNREACH, REJ_PORT_UNREACH, REJ_PROTO_UNREACH,
	REJ_NET_PROHIBIT, REJ_HOST_PROHIBIT, REJ_ADMIN_PROHIBIT, REJ_TCP_RESET
};

struct rs_verdict {
	enum rs_action action;
	uint32_t rule_id;      /* store id of the deciding rule, 0 = end of chain */
	uint8_t reject_with;   /* enum rs_reject */
	struct rs_nat nat;
};

/* Mutable state shared by successive rulesets (owned by the engine). */
struct rs_state;
struct rs_state *rs_state_new(void);
void rs_state_free(struct rs_state *s);

/* Per-rule counters as print stats shows them. */
bool rs_state_counters(const struct rs_state *s, uint32_t rule_id, uint64_t *bytes,
		       uint64_t *packets);
void rs_state_reset_counters(struct rs_state *s, uint32_t rule_id); /* 0 = all */

/* Dynamic address-list entries (add-src-to-address-list, timeouts). */
int rs_state_addrlist_add(struct rs_state *s, uint32_t list, const union ipaddr *a, uint8_t family,
			  uint64_t expires /* 0 = none */, uint64_t now);
bool rs_state_addrlist_has(const struct rs_state *s, uint32_t list, const union ipaddr *a,
			   uint8_t family, uint64_t now);

/* Connections the connection-limit matchers list now, all rules together
 * (ended ones included until they are collected). */
size_t rs_state_conn_listed(const struct rs_state *s);

/* A log line from log=yes / action=log, in RouterOS's format. */
typedef void (*rs_log_fn)(void *ctx, const char *line);
void rs_state_set_log(struct rs_state *s, rs_log_fn fn, void *ctx);

struct ruleset;

/* Compiles the firewall of the store. Errors name the menu and rule
 * (a jump loop, a jump to a chain that has no rules). */
int ruleset_compile(struct store *st, struct ruleset **out, struct err *e);
void ruleset_free(struct ruleset *rs);
/* How many rules the ruleset has (all tables). */
size_t ruleset_size(const struct ruleset *rs);
/* An enabled rule of it that may match TCP sizes or counts packets one by
 * one (packet-size, limit, dst-limit, nth, random, psd): what it matches
 * would change if the dataplane merged TCP segments into one packet (GRO).
 * A rule for another protocol (protocol=icmp limit=...) does not count. */
bool ruleset_per_packet(const struct ruleset *rs);

/* What evaluation may read and change besides the packet. */
struct rs_ctx {
	struct pkt *p;
	struct rs_state *state;
	uint64_t now;          /* ns, virtual or monotonic */
	int64_t wall;          /* seconds since the epoch in the router's time zone,
				* for the time= matcher */
	/* connection-limit: is the connection with this original tuple still
	 * tracked and not closing (confirmed, not time-wait or close)? NULL
	 * (no conntrack): the matcher is false whatever its negation */
	bool (*conn_live)(void *ctx, const struct ct_tuple *orig);
	void *conn_ctx;
	/* the router's own addresses, for src/dst-address-type=local (both
	 * with local_ctx; NULL = none is local) */
	bool (*is_local)(void *ctx, uint32_t addr);
	bool (*is_local6)(void *ctx, const uint8_t addr[16]);
	/* an address the router takes as a broadcast besides 255.255.255.255
	 * (a subnet's broadcast or network address; with local_ctx; NULL: none) */
	bool (*is_bcast)(void *ctx, uint32_t addr);
	void *local_ctx;
	/* trace: called for every rule visited (NULL in normal operation) */
	void (*trace)(void *ctx, enum rs_table table, const char *chain, uint32_t rule_id,
		      bool matched, const char *why);
	void *trace_ctx;
};

/*
 * Runs the built-in chain hook of table for the packet in c->p (family from
 * the packet). Applies the non-terminating actions as it goes: marks on the
 * packet and its connection (p->ct), address-list additions, log lines,
 * change-ttl/dscp/mss, fasttrack (sets CTS_FASTTRACK on p->ct), counters.
 * Returns the verdict in v.
 */
void rs_run(const struct ruleset *rs, enum rs_table table, enum rs_hook hook,
	    struct rs_ctx *c, struct rs_verdict *v);

/* True when the table has at least one enabled rule on that hook (lets the
 * flow skip empty hooks without a call). */
bool rs_hook_used(const struct ruleset *rs, uint8_t family, enum rs_table table,
		  enum rs_hook hook);

/*
 * The reference evaluator: the same semantics computed the obvious way,
 * straight from the store's items (text values), rule by rule with no
 * compilation and no classifier. Tests run random rulesets and packets
 * through both and require identical verdicts, marks, NAT and counters.
 * It uses its own struct rs_state.
 */
void rs_ref_run(struct store *st, enum rs_table table, enum rs_hook hook, struct rs_ctx *c,
		struct rs_verdict *v);

#endif
