/*
 * rules_int: what the files of the rules module share and nobody else
 * reads: the compiled form of a ruleset (rules.c builds it, classify.c
 * indexes it, eval.c runs it), the stateful primitives of struct rs_state
 * (rstate.c) that both evaluators call, so the compiled evaluator and the
 * reference evaluator (ref.c) keep identical state for identical calls,
 * and the few value definitions both evaluators must agree on (hashes,
 * wall-clock arithmetic, log lines).
 * Same threading as rules.h: compile on the control plane, everything on
 * the packet path from the one dataplane thread that owns the rs_state.
 */
#ifndef ROSFW_ENGINE_RULES_INT_H
#define ROSFW_ENGINE_RULES_INT_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addrlist.h"
#include "ct.h"
#include "cthelper.h"
#include "pkt.h"
#include "rules.h"

/* Deepest jump nesting a compiled ruleset may have (the evaluator's stack). */
#define RS_MAX_DEPTH 64

/* Bits of pkt.ipv4_opts as this module reads them (pkt.h does not name them). */
#define RS_OPT_RR   0x01u /* record route (7) */
#define RS_OPT_TS   0x02u /* timestamp (68) */
#define RS_OPT_LSRR 0x04u /* loose source route (131) */
#define RS_OPT_SSRR 0x08u /* strict source route (137) */
#define RS_OPT_RA   0x10u /* router alert (148) */

/* Address types (src/dst-address-type), one bit each. */
#define RS_AT_UNICAST   0x01u
#define RS_AT_LOCAL     0x02u
#define RS_AT_BROADCAST 0x04u
#define RS_AT_MULTICAST 0x08u

/* ipv4-options values. */
enum rs_ipopt {
	IPO_ANY, IPO_NONE, IPO_LSRR, IPO_NO_RR, IPO_NO_RA, IPO_NO_SR, IPO_NO_TS, IPO_RR, IPO_RA,
	IPO_SSRR, IPO_TS
};

/* per-connection-classifier fields. */
enum rs_pcc {
	PCC_SRC, PCC_DST, PCC_BOTH, PCC_SPORT, PCC_DPORT, PCC_BOTH_PORTS, PCC_SRC_AP, PCC_DST_AP,
	PCC_BOTH_AP
};

/* dst-limit modes. */
enum rs_dlmode { DL_DST, DL_DST_PORT, DL_SRC_DST, DL_SRC_DST_PORT };

/* ttl / hop-limit comparisons. */
enum rs_ttlop { TTL_EQ, TTL_NE, TTL_LT, TTL_GT };

/* ---- the compiled form ---- */

enum mkind {
	/* stateless, pure functions of the packet and the context */
	MK_PROTO, MK_SRC4, MK_DST4, MK_SRC6, MK_DST6, MK_SRCLIST, MK_DSTLIST, MK_SRCTYPE,
	MK_DSTTYPE, MK_SPORT, MK_DPORT, MK_PORT, MK_INIF, MK_OUTIF, MK_INLIST, MK_OUTLIST,
	MK_CTSTATE, MK_NATSTATE, MK_CONNMARK, MK_PKTMARK, MK_RTMARK, MK_CONNTYPE, MK_CONNBYTES,
	MK_PCC, MK_SRCMAC, MK_TCPFLAGS, MK_TCPMSS, MK_ICMP, MK_IPV4OPT,
	MK_PKTSIZE, MK_FRAGMENT, MK_DSCP, MK_TTL, MK_PRIORITY, MK_CONTENT, MK_L7, MK_TIME,
	/* stateful, evaluated last and in this order: connection-limit first, so
	 * every connection that passed the rest is listed whatever a limit
	 * bucket says */
	MK_CONNLIMIT, MK_LIMIT, MK_DSTLIMIT, MK_NTH, MK_RANDOM, MK_PSD, MK_CONNRATE,
	MK_MAX
};
#define MK_FIRST_STATEFUL MK_CONNLIMIT

/* Interface groups (in-interface=all-ethernet, in-interface-list=LAN). */
struct ifset {
	bool all;             /* complement: every interface (id != 0) but those in bits */
	uint32_t nbits;
	uint64_t *bits;
};

struct portrange {
	uint16_t lo, hi;
};

/* One matcher of a rule. Which fields mean what depends on kind. */
struct mop {
	uint8_t kind;         /* enum mkind */
	uint8_t neg;          /* '!' */
	uint8_t b0, b1;
	uint32_t a, b;
	uint64_t x, y;
	const void *ptr;      /* ports, sets, regex, content, v6 range ... (ruleset owns) */
};

enum ract {
	A_ACCEPT, A_DROP, A_REJECT, A_TARPIT, A_JUMP, A_RETURN, A_PASSTHROUGH, A_LOG,
	A_ADD_SRC, A_ADD_DST, A_MARK_CONN, A_MARK_PKT, A_MARK_ROUTE, A_CHANGE_DSCP, A_CHANGE_TTL,
	A_CHANGE_MSS, A_CLEAR_DF, A_SET_PRIO, A_STRIP_OPTS, A_FASTTRACK, A_NOTRACK, A_NAT,
	A_IGNORED /* sniff-tzsp, sniff-pc, route: counted, then passthrough */
};

#define RF_LOG  0x01u /* log=yes */
#define RF_PASS 0x02u /* passthrough=yes (mangle actions that take it) */
#define RF_TERM_NOPASS 0x04u /* the action ends the hook when passthrough=no */

/* change-ttl / set-priority sub-modes in rule.arg2 */
enum { TTLC_SET, TTLC_INC, TTLC_DEC };
enum { PRIO_NUM, PRIO_FROM_DSCP, PRIO_FROM_DSCP_HIGH, PRIO_FROM_INGRESS };

struct chain;

struct rule {
	uint32_t id;          /* store id */
	uint8_t action;       /* enum ract */
	uint8_t flags;        /* RF_* */
	uint8_t hookmask;     /* hooks on which the rule can match (bit = enum rs_hook) */
	uint8_t reject_with;
	uint16_t nops;
	struct mop *ops;      /* stateless first, then stateful in enum order */
	uint32_t arg, arg2;   /* mark id, list id, chain index, dscp, ttl value/mode ... */
	uint64_t timeout_ns;  /* address-list-timeout, 0 = none */
	struct rs_nat nat;
	const char *log_prefix;
	const struct chain *chain;
};

struct cls;

struct chain {
	const char *name;
	uint8_t family;       /* 4 or 6 */
	uint8_t table;        /* enum rs_table */
	bool builtin;
	uint32_t n;
	struct rule *rules;
	struct cls *cls;      /* NULL = visit every rule */
	uint32_t index;
};

struct ruleset {
	struct chain **chains;
	size_t nchains;
	struct chain *hook[2][RT_MAX][RH_MAX];
	size_t nrules;        /* every firewall rule of the store, disabled ones too */
	struct rs_arena *arena;
	regex_t **regs;
	size_t nregs;
	struct al_set **sets;
	size_t nsets;
	uint16_t *if_mtu;     /* by interface id, 0 = not configured (clamp-to-pmtu) */
	uint32_t nif_mtu;
	bool per_packet;      /* ruleset_per_packet */
};

/* A bump allocator owned by a ruleset: everything compiled lives in it. */
struct rs_arena;
struct rs_arena *rs_arena_new(void);
void *rs_arena_alloc(struct rs_arena *a, size_t n); /* zeroed, 16-byte aligned */
char *rs_arena_strdup(struct rs_arena *a, const char *s);
void rs_arena_free(struct rs_arena *a);

/* ---- the classifier (classify.c) ---- */

/* Builds the index of a chain when it is worth one (c->cls stays NULL otherwise). */
void cls_build(struct rs_arena *a, struct chain *c);

#define CLS_LISTS 6 /* the wildcards and one list per indexed field */

/* The rules of a chain that may match p, in order: a merge of a few sorted
 * index lists (or every rule when lin). */
struct cls_iter {
	bool lin;
	uint8_t nl;
	uint32_t pos, n;                 /* lin */
	const uint32_t *l[CLS_LISTS];
	uint32_t ln[CLS_LISTS], li[CLS_LISTS];
};
void cls_start(const struct chain *c, const struct pkt *p, struct cls_iter *it);

static inline bool cls_next(struct cls_iter *it, uint32_t *idx)
{
	if (it->lin) {
		if (it->pos >= it->n)
			return false;
		*idx = it->pos++;
		return true;
	}
	int best = -1;
	uint32_t v = UINT32_MAX;
	for (int k = 0; k < it->nl; k++) {
		if (it->li[k] < it->ln[k] && it->l[k][it->li[k]] < v) {
			v = it->l[k][it->li[k]];
			best = k;
		}
	}
	if (best < 0)
		return false;
	it->li[best]++;
	*idx = v;
	return true;
}

/* ---- rs_state primitives (rstate.c), shared by both evaluators ---- */

/* Counts a match of rule id. */
void rs_count(struct rs_state *s, uint32_t id, uint32_t bytes);
/* limit: a token bucket per rule; true when the packet may pass. */
bool rs_limit(struct rs_state *s, uint32_t id, uint64_t rate, uint64_t period_ns,
	      uint64_t burst, bool bits, uint32_t ip_len, uint64_t now);
/* dst-limit: a bucket per flow (mode picks the fields), idle ones expire. */
bool rs_dst_limit(struct rs_state *s, uint32_t id, uint64_t rate, uint64_t period_ns,
		  uint64_t burst, uint8_t mode, uint64_t expire_ns, const struct pkt *p,
		  uint64_t now);
/* nth: the rule's counter runs 1..every; true on the n-th. */
bool rs_nth(struct rs_state *s, uint32_t id, uint32_t every, uint32_t n);
/* random: true with probability pct %. */
bool rs_random(struct rs_state *s, uint32_t pct);
/* psd: the weight of distinct destination ports a source tried within delay
 * of each other reached weight. */
bool rs_psd(struct rs_state *s, uint32_t id, uint32_t weight, uint64_t delay_ns,
	    uint32_t low_w, uint32_t high_w, const struct pkt *p, uint64_t now);
/* connection-rate: bits/s of the connection (bytes both ways over the time
 * since the rules first saw it, at least 1 s); false without p->ct. */
bool rs_conn_rate(struct rs_state *s, const struct pkt *p, uint64_t now, uint64_t *bps);
/* connection-limit=limit,prefix: lists p's connection (by original tuple)
 * in the rule's group for p's source block, then true when the group has
 * more than limit live connections (c->conn_live decides; it must be set). */
bool rs_conn_limit(struct rs_state *s, uint32_t id, uint32_t limit, uint8_t prefix,
		   const struct rs_ctx *c);
/* Keyed SipHash of the state (for the tables of the primitives). */
uint64_t rs_hash(const struct rs_state *s, const void *data, size_t len);

/* connlimit.c: the groups behind rs_conn_limit (one per rs_state). */
struct rs_connlimit;
void cl_free(struct rs_connlimit *cl);
bool cl_match(struct rs_connlimit **clp, const struct rs_state *s, uint32_t rule, uint32_t limit,
	      uint8_t prefix, const struct rs_ctx *c);
/* Connections listed now (all rules). */
size_t cl_listed(const struct rs_connlimit *cl);

/* The log line of a rule (topic firewall,info) through the state's log fn. */
void rs_log_packet(struct rs_state *s, const char *prefix, const char *chain,
		   const struct pkt *p);
bool rs_log_enabled(const struct rs_state *s);

/* ---- value definitions both evaluators share ---- */

/* The per-connection-classifier value of p for fields (symmetric for both-*). */
uint32_t rs_pcc_hash(const struct pkt *p, uint8_t fields);
/* Day of week (0 = sunday) and second of the day of a wall clock. */
void rs_wall_split(int64_t wall, int *dow, uint32_t *sec);
/* src/dst-address-type of an address. */
unsigned rs_addr_type(const struct rs_ctx *c, uint8_t family, const union ipaddr *a);
/* The interfaces whose mtu clamp-to-pmtu reads, and the MSS it sets for an
 * MTU (0 = unknown: 1500): the MTU less the IP and TCP headers. */
extern const char *const rs_mtu_menus[];
static inline uint16_t rs_clamp_mss(uint8_t family, uint16_t mtu)
{
	unsigned m = mtu ? mtu : 1500, hdr = family == 6 ? 60 : 40;
	return (uint16_t)(m > hdr + 8 ? m - hdr : 8);
}
/* True for the protocols that carry ports (tcp, udp, dccp, sctp, udp-lite). */
static inline bool rs_port_proto(uint8_t proto)
{
	return proto == 6 || proto == 17 || proto == 33 || proto == 132 || proto == 136;
}
/* The payload of p (bounded by the frame), NULL/0 when there is none. */
const uint8_t *rs_payload(const struct pkt *p, size_t *n);
/* The names of the tables and hooks as RouterOS writes them. */
extern const char *const rs_table_names[RT_MAX];
extern const char *const rs_hook_names[RH_MAX];
/* The hook of a built-in chain of a table, or -1 when the name is custom. */
int rs_builtin_hook(enum rs_table t, const char *chain);
/* The store menu of a table for a family, or NULL (IPv6 has no nat). */
const struct menu *rs_table_menu(uint8_t family, enum rs_table t);
/* Matcher property names with their kinds, for compile and the reference. */
const char *rs_mkind_name(enum mkind k);

#endif
