/*
 * eval: runs a compiled chain for a packet. Rules are visited in order —
 * only the candidates the classifier leaves when there is no trace, every
 * rule with one — and a rule matches when every matcher holds: stateless
 * ones first, then the stateful ones (connection-limit, limit, dst-limit,
 * nth, random, psd, connection-rate) in that fixed order, so a bucket or counter is touched
 * only by packets that passed everything else. A matched rule counts the
 * packet, logs when log=yes, and acts: terminating actions end the hook,
 * jump pushes a frame (end of chain or return pops it), the rest apply
 * their change and go on.
 * A matcher about a header the packet lacks (ports without a transport
 * header, tcp-flags on UDP, icmp-options on TCP, connection-bytes without
 * a connection) is false whether or not it is negated, as in netfilter.
 * No allocation, no lock, bounded work: a ruleset's jump nesting is at most
 * RS_MAX_DEPTH and its chains are loop-free.
 */
#include <string.h>

#include "rules_int.h"

/* ---- value definitions shared with the reference evaluator ---- */

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16;
	h *= 0x85ebca6bu;
	h ^= h >> 13;
	h *= 0xc2b2ae35u;
	return h ^ (h >> 16);
}

static uint32_t addr_hash(uint8_t family, const union ipaddr *a)
{
	if (family != 6)
		return mix32(a->v4 ^ 0x9e3779b9u);
	uint32_t h = 0x9e3779b9u;
	for (int i = 0; i < 16; i += 4)
		h = mix32(h ^ ((uint32_t)a->v6[i] << 24 | (uint32_t)a->v6[i + 1] << 16 |
			       (uint32_t)a->v6[i + 2] << 8 | a->v6[i + 3]));
	return h;
}

uint32_t rs_pcc_hash(const struct pkt *p, uint8_t fields)
{
	bool ports = (p->flags & PKT_F_L4) && rs_port_proto(p->proto);
	uint32_t sp = ports ? mix32(p->sport + 0x10000u) : 0;
	uint32_t dp = ports ? mix32(p->dport + 0x10000u) : 0;
	uint32_t s = addr_hash(p->family, &p->src), d = addr_hash(p->family, &p->dst);
	switch (fields) {
	case PCC_SRC:
		return s;
	case PCC_DST:
		return d;
	case PCC_BOTH:
		return s + d; /* commutative: both directions agree */
	case PCC_SPORT:
		return sp;
	case PCC_DPORT:
		return dp;
	case PCC_BOTH_PORTS:
		return sp + dp;
	case PCC_SRC_AP:
		return mix32(s ^ sp);
	case PCC_DST_AP:
		return mix32(d ^ dp);
	default:
		return mix32(s ^ sp) + mix32(d ^ dp);
	}
}

void rs_wall_split(int64_t wall, int *dow, uint32_t *sec)
{
	int64_t days = wall / 86400, rem = wall % 86400;
	if (rem < 0) {
		rem += 86400;
		days--;
	}
	int64_t d = (days + 4) % 7; /* 1970-01-01 was a thursday */
	*dow = (int)(d < 0 ? d + 7 : d);
	*sec = (uint32_t)rem;
}

unsigned rs_addr_type(const struct rs_ctx *c, uint8_t family, const union ipaddr *a)
{
	if (family == 6) {
		/* as Linux's addrtype for IPv6: multicast ff00::/8; any other
		 * address but :: is unicast, and the router's own are local too */
		static const uint8_t zero[16];
		if (a->v6[0] == 0xff)
			return RS_AT_MULTICAST;
		if (!memcmp(a->v6, zero, 16))
			return 0;
		if (c->is_local6 && c->is_local6(c->local_ctx, a->v6))
			return RS_AT_UNICAST | RS_AT_LOCAL;
		return RS_AT_UNICAST;
	}
	/* as Linux's inet_addr_type: the local table first (the router's
	 * addresses, then its broadcast routes) */
	if (c->is_local && c->is_local(c->local_ctx, a->v4))
		return RS_AT_LOCAL;
	if (a->v4 == 0xffffffffu || (c->is_bcast && c->is_bcast(c->local_ctx, a->v4)))
		return RS_AT_BROADCAST;
	if ((a->v4 >> 28) == 0xe)
		return RS_AT_MULTICAST;
	return RS_AT_UNICAST;
}

const uint8_t *rs_payload(const struct pkt *p, size_t *n)
{
	*n = 0;
	if (!p->data || !p->payload_len || p->payload_off >= p->len)
		return NULL;
	size_t avail = p->len - p->payload_off;
	*n = p->payload_len < avail ? p->payload_len : avail;
	return p->data + p->payload_off;
}

/* ---- matchers ---- */

static bool in_ports(const struct mop *o, uint16_t port)
{
	const struct portrange *r = o->ptr;
	for (uint32_t i = 0; i < o->a; i++)
		if (port >= r[i].lo && port <= r[i].hi)
			return true;
	return false;
}

static bool ifset_has(const struct ifset *s, uint32_t id)
{
	if (!id)
		return false;
	return s->all ^ (id < s->nbits && (s->bits[id / 64] >> (id % 64) & 1));
}

static bool list_has(const struct mop *o, const struct rs_ctx *c, const union ipaddr *a)
{
	return al_set_has(o->ptr, a) ||
	       rs_state_addrlist_has(c->state, o->a, a, c->p->family, c->now);
}

static bool ipopt_match(uint8_t which, const struct pkt *p)
{
	uint8_t o = p->ipv4_opts;
	bool any = (p->flags & PKT_F_IPV4_OPTS) || o;
	switch (which) {
	case IPO_ANY:
		return any;
	case IPO_NONE:
		return !any;
	case IPO_LSRR:
		return o & RS_OPT_LSRR;
	case IPO_SSRR:
		return o & RS_OPT_SSRR;
	case IPO_RR:
		return o & RS_OPT_RR;
	case IPO_RA:
		return o & RS_OPT_RA;
	case IPO_TS:
		return o & RS_OPT_TS;
	case IPO_NO_RR:
		return !(o & RS_OPT_RR);
	case IPO_NO_RA:
		return !(o & RS_OPT_RA);
	case IPO_NO_TS:
		return !(o & RS_OPT_TS);
	default: /* IPO_NO_SR */
		return !(o & (RS_OPT_LSRR | RS_OPT_SSRR));
	}
}

static bool l7_match(const regex_t *re, const struct pkt *p)
{
	size_t n;
	const uint8_t *d = rs_payload(p, &n);
	char buf[2049];
	size_t k = 0;
	/* the first 2 KiB as a string; NUL bytes cannot take part in a regex */
	for (size_t i = 0; i < n && k < sizeof(buf) - 1; i++)
		if (d[i])
			buf[k++] = (char)d[i];
	buf[k] = 0;
	return regexec(re, buf, 0, NULL, 0) == 0;
}

static bool time_match(const struct mop *o, int64_t wall)
{
	struct schedule s = { o->a, o->b, o->b0 };
	return schedule_holds(&s, wall);
}

/*
 * One matcher; -1 when the packet lacks what it looks at (false whatever the
 * negation), else 0/1 before negation.
 */
static int op_eval(const struct mop *o, struct rs_ctx *c, const struct rule *r)
{
	struct pkt *p = c->p;
	bool l4 = p->flags & PKT_F_L4;
	switch ((enum mkind)o->kind) {
	case MK_PROTO:
		return p->proto == o->a;
	case MK_SRC4:
		return p->src.v4 >= o->a && p->src.v4 <= o->b;
	case MK_DST4:
		return p->dst.v4 >= o->a && p->dst.v4 <= o->b;
	case MK_SRC6:
	case MK_DST6: {
		const union ipaddr *rg = o->ptr;
		return al_in_range(6, o->kind == MK_SRC6 ? &p->src : &p->dst, &rg[0], &rg[1]);
	}
	case MK_SRCLIST:
		return list_has(o, c, &p->src);
	case MK_DSTLIST:
		return list_has(o, c, &p->dst);
	case MK_SRCTYPE:
		return (rs_addr_type(c, p->family, &p->src) & o->a) != 0;
	case MK_DSTTYPE:
		return (rs_addr_type(c, p->family, &p->dst) & o->a) != 0;
	case MK_SPORT:
	case MK_DPORT:
	case MK_PORT:
		if (!l4 || !rs_port_proto(p->proto))
			return -1;
		if (o->kind == MK_SPORT)
			return in_ports(o, p->sport);
		if (o->kind == MK_DPORT)
			return in_ports(o, p->dport);
		return in_ports(o, p->sport) || in_ports(o, p->dport);
	case MK_INIF:
		return o->ptr ? ifset_has(o->ptr, p->in_if) : p->in_if == o->a && o->a;
	case MK_OUTIF:
		return o->ptr ? ifset_has(o->ptr, p->out_if) : p->out_if == o->a && o->a;
	case MK_INLIST:
		return ifset_has(o->ptr, p->in_if);
	case MK_OUTLIST:
		return ifset_has(o->ptr, p->out_if);
	case MK_CTSTATE:
		return p->ct_state < 32 && (o->a >> p->ct_state & 1);
	case MK_NATSTATE:
		return p->ct && (p->ct->status & o->a);
	case MK_CONNMARK:
		return (p->ct ? p->ct->mark : 0) == o->a;
	case MK_PKTMARK:
		return p->packet_mark == o->a;
	case MK_RTMARK:
		return p->routing_mark == o->a;
	case MK_CONNTYPE:
		return cth_type_is(p->ct, (uint8_t)o->a);
	case MK_CONNBYTES: {
		if (!p->ct)
			return -1;
		uint64_t b = p->ct->bytes[0] + p->ct->bytes[1];
		return b >= o->x && (o->y == 0 || b <= o->y);
	}
	case MK_CONNLIMIT:
		if (!c->conn_live)
			return -1;
		return rs_conn_limit(c->state, r->id, o->a, o->b0, c);
	case MK_PCC:
		return rs_pcc_hash(p, o->b0) % o->a == o->b;
	case MK_SRCMAC: {
		uint64_t m = 0;
		for (int i = 0; i < 6; i++)
			m = m << 8 | p->src_mac[i];
		return m == o->x;
	}
	case MK_TCPFLAGS:
		if (p->proto != 6 || !l4)
			return -1;
		return (p->tcp_flags & o->b0) == o->b0 && !(p->tcp_flags & o->b1);
	case MK_TCPMSS:
		if (p->proto != 6 || !l4)
			return -1;
		if (!p->mss)
			return 0; /* no MSS option: only a negated match holds */
		return p->mss >= o->a && p->mss <= o->b;
	case MK_ICMP:
		if (p->proto != (p->family == 6 ? 58 : 1) || !l4)
			return -1;
		return p->icmp_type == o->b0 && p->icmp_code >= o->a && p->icmp_code <= o->b;
	case MK_IPV4OPT:
		if (p->family != 4)
			return -1;
		return ipopt_match(o->b0, p);
	case MK_PKTSIZE:
		return p->ip_len >= o->a && p->ip_len <= o->b;
	case MK_FRAGMENT:
		return ((p->flags & PKT_F_FRAGMENT) != 0) == (o->b0 != 0);
	case MK_DSCP:
		return p->dscp == o->a;
	case MK_TTL:
		switch (o->b0) {
		case TTL_EQ:
			return p->ttl == o->a;
		case TTL_NE:
			return p->ttl != o->a;
		case TTL_LT:
			return p->ttl < o->a;
		default:
			return p->ttl > o->a;
		}
	case MK_PRIORITY:
		return p->priority == o->a;
	case MK_CONTENT: {
		size_t n;
		const uint8_t *d = rs_payload(p, &n);
		if (!o->a)
			return 1;
		return d && memmem(d, n, o->ptr, o->a) != NULL;
	}
	case MK_L7:
		if (o->b0)
			return 0;
		return o->ptr ? l7_match(o->ptr, p) : 1;
	case MK_TIME:
		return time_match(o, c->wall);
	case MK_LIMIT:
		return rs_limit(c->state, r->id, o->x, o->y, o->a, o->b0, p->ip_len, c->now);
	case MK_DSTLIMIT:
		return rs_dst_limit(c->state, r->id, o->x, o->y, o->a, o->b0, o->b * 1000000ull, p,
				    c->now);
	case MK_NTH:
		return rs_nth(c->state, r->id, o->a, o->b);
	case MK_RANDOM:
		return rs_random(c->state, o->a);
	case MK_PSD:
		if (!l4 || (p->proto != 6 && p->proto != 17))
			return -1;
		return rs_psd(c->state, r->id, o->a, o->x, o->b >> 16, o->b & 0xffff, p, c->now);
	case MK_CONNRATE: {
		uint64_t bps;
		if (!rs_conn_rate(c->state, p, c->now, &bps))
			return -1;
		return bps >= o->x && bps <= o->y;
	}
	default:
		return 0;
	}
}

/* Index of the first matcher that fails, or -1 when the rule matches;
 * nops for a rule that cannot match on this hook. */
static int rule_fails(const struct rule *r, struct rs_ctx *c, enum rs_hook hook)
{
	if (!(r->hookmask & (1u << hook)))
		return r->nops;
	for (uint16_t i = 0; i < r->nops; i++) {
		const struct mop *o = &r->ops[i];
		int v = op_eval(o, c, r);
		if (v < 0 || (v != 0) == (o->neg != 0))
			return i;
	}
	return -1;
}

/* ---- actions ---- */

static void set_ttl(struct pkt *p, unsigned v)
{
	if (p->data)
		pkt_set_ttl(p, (uint8_t)v);
	p->ttl = (uint8_t)v;
}

static void set_dscp(struct pkt *p, unsigned v)
{
	if (p->data)
		pkt_set_dscp(p, (uint8_t)v);
	p->dscp = (uint8_t)v;
}

/* Applies a non-terminating change of rule r to the packet. */
static void act_change(const struct ruleset *rs, const struct rule *r, struct rs_ctx *c)
{
	struct pkt *p = c->p;
	switch (r->action) {
	case A_ADD_SRC:
	case A_ADD_DST:
		rs_state_addrlist_add(c->state, r->arg, r->action == A_ADD_SRC ? &p->src : &p->dst,
				      p->family, r->timeout_ns ? c->now + r->timeout_ns : 0, c->now);
		break;
	case A_MARK_CONN:
		if (p->ct)
			p->ct->mark = r->arg;
		break;
	case A_MARK_PKT:
		p->packet_mark = r->arg;
		break;
	case A_MARK_ROUTE:
		p->routing_mark = r->arg;
		break;
	case A_CHANGE_DSCP:
		set_dscp(p, r->arg);
		break;
	case A_CHANGE_TTL: {
		unsigned t = p->ttl;
		if (r->arg2 == TTLC_SET)
			t = r->arg;
		else if (r->arg2 == TTLC_INC)
			t = t + r->arg > 255 ? 255 : t + r->arg;
		else
			t = t > r->arg ? t - r->arg : 0;
		set_ttl(p, t);
		break;
	}
	case A_CHANGE_MSS: {
		uint16_t mss = (uint16_t)r->arg;
		if (r->arg2)
			mss = rs_clamp_mss(p->family, p->out_if < rs->nif_mtu ? rs->if_mtu[p->out_if] : 0);
		pkt_set_mss(p, mss);
		break;
	}
	case A_CLEAR_DF:
		pkt_clear_df(p);
		break;
	case A_SET_PRIO:
		if (r->arg2 == PRIO_NUM)
			p->priority = (uint8_t)r->arg;
		else if (r->arg2 == PRIO_FROM_DSCP)
			p->priority = p->dscp;
		else if (r->arg2 == PRIO_FROM_DSCP_HIGH)
			p->priority = p->dscp >> 3;
		break;
	case A_FASTTRACK:
		if (p->ct && p->family == 4 && (p->proto == 6 || p->proto == 17) &&
		    !cth_is_control(p->ct->helper))
			p->ct->status |= CTS_FASTTRACK;
		break;
	default:
		break;
	}
}

static void trace(struct rs_ctx *c, const struct rule *r, bool matched, const char *why)
{
	if (c->trace)
		c->trace(c->trace_ctx, r->chain->table, r->chain->name, r->id, matched, why);
}

struct frame {
	const struct chain *c;
	struct cls_iter it;
};

static void start(struct frame *f, const struct chain *c, struct rs_ctx *ctx)
{
	f->c = c;
	if (ctx->trace) {
		f->it.lin = true;
		f->it.pos = 0;
		f->it.n = c->n;
	} else {
		cls_start(c, ctx->p, &f->it);
	}
}

void rs_run(const struct ruleset *rs, enum rs_table table, enum rs_hook hook,
	    struct rs_ctx *c, struct rs_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->action = RA_CONTINUE;
	struct pkt *p = c->p;
	if (!rs || (p->family != 4 && p->family != 6) || (unsigned)table >= RT_MAX ||
	    (unsigned)hook >= RH_MAX)
		return;
	const struct chain *bc = rs->hook[p->family == 6][table][hook];
	if (!bc)
		return;
	struct frame st[RS_MAX_DEPTH + 1];
	int depth = 0;
	start(&st[0], bc, c);
	for (;;) {
		uint32_t idx;
		if (!cls_next(&st[depth].it, &idx)) {
			if (depth == 0)
				return; /* end of the built-in chain */
			depth--;
			continue;
		}
		const struct rule *r = &st[depth].c->rules[idx];
		int fail = rule_fails(r, c, hook);
		if (fail >= 0) {
			if (c->trace)
				trace(c, r, false,
				      fail < r->nops ? rs_mkind_name((enum mkind)r->ops[fail].kind)
						     : "not on this hook");
			continue;
		}
		trace(c, r, true, NULL);
		rs_count(c->state, r->id, p->ip_len);
		if ((r->flags & RF_LOG) || r->action == A_LOG)
			rs_log_packet(c->state, r->log_prefix, r->chain->name, p);
		switch (r->action) {
		case A_ACCEPT:
			v->action = RA_ACCEPT;
			v->rule_id = r->id;
			return;
		case A_DROP:
			v->action = RA_DROP;
			v->rule_id = r->id;
			return;
		case A_REJECT:
			v->action = RA_REJECT;
			v->rule_id = r->id;
			v->reject_with = r->reject_with;
			return;
		case A_TARPIT:
			v->action = RA_TARPIT;
			v->rule_id = r->id;
			return;
		case A_NOTRACK:
			v->action = RA_NOTRACK;
			v->rule_id = r->id;
			return;
		case A_NAT:
			v->action = RA_NAT;
			v->rule_id = r->id;
			v->nat = r->nat;
			return;
		case A_JUMP: {
			const struct chain *to = rs->chains[r->arg];
			if (to->n && depth < RS_MAX_DEPTH)
				start(&st[++depth], to, c);
			break;
		}
		case A_RETURN:
			if (depth == 0)
				return;
			depth--;
			break;
		default:
			act_change(rs, r, c);
			if ((r->flags & RF_TERM_NOPASS) && !(r->flags & RF_PASS)) {
				v->action = RA_ACCEPT;
				v->rule_id = r->id;
				return;
			}
			break;
		}
	}
}
