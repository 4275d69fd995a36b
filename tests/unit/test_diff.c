/*
 * Differential test of the firewall: random rulesets (20-200 rules over a
 * small universe of addresses, ports, protocols, interfaces, marks, states,
 * jumps to a few custom chains, every kind of matcher and action) entered as
 * console commands, and random packets run through the compiled evaluator
 * (rs_run, with and without a trace, which turns the classifier off) and
 * the reference evaluator (rs_ref_run), each with its own rs_state and its
 * own copies of the connections. Every case must give the same verdict,
 * rule id, NAT, packet, routing and connection marks, header changes and
 * log lines; after each ruleset the per-rule counters and the dynamic
 * address lists must be the same too. Interfaces get random MTUs and some
 * rulesets the usual SYN MSS clamp, so that change-mss clamp-to-pmtu is
 * compared where the MTU matters (the run counts how often it clamped).
 * The seed is fixed (ROSFW_DIFF_SEED overrides it, ROSFW_DIFF_CASES the
 * count) and printed with any failure, together with the ruleset.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/types.h"
#include "engine/ct.h"
#include "engine/cthelper.h"
#include "engine/names.h"
#include "engine/rules.h"

static uint64_t rng_state;

static uint32_t rnd(uint32_t n)
{
	uint64_t x = rng_state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	rng_state = x;
	return n ? (uint32_t)((x * 0x2545f4914f6cdd1dull) >> 33) % n : 0;
}

static bool chance(uint32_t pct)
{
	return rnd(100) < pct;
}

#define PICK(a) ((a)[rnd(sizeof(a) / sizeof((a)[0]))])

/* ---- the universe ---- */

static const char *const addr4[] = { "10.0.0.1", "10.0.0.5", "10.0.1.7", "192.168.1.10",
				     "192.168.1.200", "8.8.8.8", "1.2.3.4", "255.255.255.255",
				     "224.0.0.5", "10.0.0.255", "10.0.0.9", "192.168.1.250",
				     "192.168.1.99", "192.168.1.255", "192.168.1.0" };
static const char *const addr6[] = { "2001:db8::1", "2001:db8::2", "2001:db8:1::1", "fe80::1",
				     "ff02::1", "2001:db8:1:ffff:ffff:ffff:ffff:ffff",
				     "2001:db8:2::", "2001:db8::ffff:ffff:ffff:ffff", "fec0::1",
				     "febf:ffff::1" };
static const char *const rule_addr4[] = { "10.0.0.0/8", "10.0.0.0/24", "10.0.0.1",
					  "10.0.0.1-10.0.0.9", "192.168.1.0/24", "8.8.8.8",
					  "!10.0.0.0/8", "!192.168.1.10", "0.0.0.0/0",
					  "192.168.1.100-192.168.1.250" };
static const char *const rule_addr6[] = { "2001:db8::/32", "2001:db8:1::/48", "!2001:db8::/64",
					  "2001:db8::1", "fe80::/10" };
static const uint16_t ports[] = { 22, 53, 80, 443, 1500, 5060, 40000, 999, 1000, 2000,
				  2001, 1023, 1024, 5061, 5062 };
static const char *const rule_ports[] = { "80", "80,443", "1000-2000", "!22", "53",
					  "5060-5061", "!80,443", "0-1023" };
static const char *const ifaces[] = { "ether1", "ether2", "ether3", "wlan1" };
/* MTUs for clamp-to-pmtu: none of them clamps to 1300, the fixed new-mss */
static const uint16_t mtus[] = { 576, 1280, 1400, 1480, 1492, 9000 };
static const char *const rule_if[] = { "ether1", "ether2", "!ether1", "all-ethernet", "wlan1",
				       "all", "!wlan1" };
static const char *const rule_iflist[] = { "LAN", "WAN", "!LAN", "all", "none", "!WAN" };
static const char *const marks[] = { "m1", "m2", "m3" };
static const char *const rule_marks[] = { "m1", "m2", "no-mark", "!m1", "!no-mark" };
static const char *const rule_states[] = { "new", "established,related", "!invalid",
					   "untracked", "invalid", "!established,related" };
static const char *const rule_lists[] = { "bl", "wl", "dyn", "!bl", "!dyn", "dyn2" };

struct mdef {
	const char *name;
	int pct;
	const char *const *vals;
	size_t nvals;
	int needs; /* 0 none, 6 tcp, 17 tcp or udp, 1 icmp */
};

#define V(...) (const char *const[]){ __VA_ARGS__ }, sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

static const struct mdef mdefs[] = {
	{ "connection-nat-state", 4, V("srcnat", "dstnat", "!dstnat", "srcnat,dstnat"), 0 },
	{ "connection-bytes", 4, V("0-1000", "1000-0", "!500-0", "100-5000"), 0 },
	{ "connection-limit", 3, V("2,32", "5,24", "0,16", "1,0", "3,8"), 0 },
	{ "per-connection-classifier", 3, V("both-addresses:2/0", "src-address:3/1",
					    "both-addresses-and-ports:4/3", "dst-port:2/1"), 0 },
	{ "src-mac-address", 2, V("4C:5E:0C:00:00:07", "!4C:5E:0C:00:00:07"), 0 },
	{ "tcp-flags", 5, V("syn,!ack", "ack", "fin,!syn", "rst", "syn,ack"), 6 },
	{ "tcp-mss", 2, V("1000-1460", "!536", "1460"), 6 },
	{ "icmp-options", 4, V("8:0", "0", "3:0-3", "!8"), 1 },
	{ "packet-size", 5, V("0-100", "101-1500", "!60", "60"), 0 },
	{ "ttl", 4, V("equal:64", "less-than:10", "greater-than:63", "not-equal:1"), 0 },
	{ "dscp", 3, V("0", "46", "!0"), 0 },
	{ "priority", 2, V("0", "3", "!3"), 0 },
	{ "fragment", 2, V("yes", "no"), 0 },
	{ "ipv4-options", 2, V("any", "none", "!router-alert"), 0 },
	{ "content", 3, V("abc", "!xyz", "GET"), 0 },
	{ "layer7-protocol", 2, V("l7a", "!l7a", "l7b"), 0 },
	{ "connection-type", 3, V("ftp", "!ftp", "tftp", "!tftp", "sip"), 0 },
	{ "src-address-type", 3, V("local", "unicast", "!local", "broadcast,multicast"), 0 },
	{ "dst-address-type", 4, V("local", "unicast", "!local", "broadcast,multicast",
				   "!unicast"), 0 },
	{ "time", 3, V("0s-12h,mon,tue", "6h-18h", "20h-4h,sun,sat"), 0 },
	{ "limit", 4, V("5,2:packet", "100/1m,3:packet", "!2,1:packet", "64k,12000:bit"), 0 },
	{ "nth", 4, V("2,1", "3,2", "!3,3"), 0 },
	{ "random", 3, V("50", "10", "90"), 0 },
	{ "dst-limit", 2, V("5,3,dst-address-only", "2/1m,1,src-and-dst-addresses-and-dst-port/30s",
			    "!1,1,dst-address-and-port", "3,2,addresses-and-dst-port",
			    "4,1,src-address-and-dst-address"), 0 },
	{ "psd", 2, V("10,3s,3,1", "!6,1s,2,1"), 17 },
	{ "connection-rate", 2, V("0-100k", "!0-10k", "1k-1G"), 0 },
};

/* ---- building a ruleset ---- */

struct gen {
	struct conf_session *s;
	struct sbuf script;      /* everything entered, for the failure report */
	int nrules;
	uint16_t mtu[4];         /* the mtu set on ifaces[i], 0 = the default (1500) */
};

static const char *const table_names[] = { "raw", "mangle", "nat", "filter" };
static const char *const builtin[RT_MAX][5] = {
	{ "prerouting", "output" },
	{ "prerouting", "input", "forward", "output", "postrouting" },
	{ "srcnat", "dstnat" },
	{ "input", "forward", "output" },
};
static const int nbuiltin[RT_MAX] = { 2, 5, 2, 3 };

static void entered(struct gen *g, const char *line)
{
	struct err e;
	err_clear(&e);
	sbuf_puts(&g->script, line);
	sbuf_putc(&g->script, '\n');
	if (conf_exec(g->s, line, NULL, &e) < 0)
		fail_msg("generated command failed: %s\n  %s", e.msg, line);
}

static void add_matchers(struct sbuf *b, bool v6)
{
	int proto_need = 0;
	struct sbuf m = SBUF_INIT;
	/* the stateless matchers of the universe, each with its probability */
	if (chance(15))
		sbuf_printf(&m, " src-address=%s", v6 ? PICK(rule_addr6) : PICK(rule_addr4));
	if (chance(15))
		sbuf_printf(&m, " dst-address=%s", v6 ? PICK(rule_addr6) : PICK(rule_addr4));
	if (chance(7))
		sbuf_printf(&m, " src-address-list=%s", PICK(rule_lists));
	if (chance(7))
		sbuf_printf(&m, " dst-address-list=%s", PICK(rule_lists));
	if (chance(20)) {
		sbuf_printf(&m, " dst-port=%s", PICK(rule_ports));
		proto_need = 17;
	}
	if (chance(5)) {
		sbuf_printf(&m, " src-port=%s", PICK(rule_ports));
		proto_need = 17;
	}
	if (chance(5)) {
		sbuf_printf(&m, " port=%s", PICK(rule_ports));
		proto_need = 17;
	}
	if (chance(10))
		sbuf_printf(&m, " in-interface=%s", PICK(rule_if));
	if (chance(7))
		sbuf_printf(&m, " out-interface=%s", PICK(rule_if));
	if (chance(8))
		sbuf_printf(&m, " in-interface-list=%s", PICK(rule_iflist));
	if (chance(5))
		sbuf_printf(&m, " out-interface-list=%s", PICK(rule_iflist));
	if (chance(15))
		sbuf_printf(&m, " connection-state=%s", PICK(rule_states));
	if (chance(10))
		sbuf_printf(&m, " connection-mark=%s", PICK(rule_marks));
	if (chance(10))
		sbuf_printf(&m, " packet-mark=%s", PICK(rule_marks));
	if (chance(5))
		sbuf_printf(&m, " routing-mark=%s", PICK(rule_marks));
	for (size_t i = 0; i < sizeof(mdefs) / sizeof(mdefs[0]); i++) {
		const struct mdef *d = &mdefs[i];
		if (v6 && (!strcmp(d->name, "connection-nat-state") || !strcmp(d->name, "ipv4-options") ||
			   !strcmp(d->name, "fragment") || !strcmp(d->name, "ttl")))
			continue;
		if (!chance((uint32_t)d->pct))
			continue;
		if (d->needs && proto_need && d->needs != proto_need && !(d->needs == 6 && proto_need == 17))
			continue;
		if (d->needs)
			proto_need = d->needs == 17 && proto_need == 6 ? 6 : d->needs;
		sbuf_printf(&m, " %s=%s", d->name, d->vals[rnd((uint32_t)d->nvals)]);
	}
	if (v6 && chance(4))
		sbuf_printf(&m, " hop-limit=%s", chance(50) ? "less-than:2" : "equal:64");
	if (proto_need == 6)
		sbuf_puts(b, " protocol=tcp");
	else if (proto_need == 17)
		sbuf_puts(b, chance(50) ? " protocol=tcp" : " protocol=udp");
	else if (proto_need == 1)
		sbuf_puts(b, v6 ? " protocol=icmpv6" : " protocol=icmp");
	else if (chance(25))
		sbuf_printf(b, " protocol=%s", chance(70) ? (chance(50) ? "tcp" : "udp") : "!tcp");
	sbuf_add(b, m.s ? m.s : "", m.len);
	sbuf_free(&m);
}

/* The action part for table t; custom chains are c1..c3, jumps only go down. */
static void add_action(struct sbuf *b, int t, int chain_level, bool v6)
{
	int r = (int)rnd(100);
	char target[8];
	snprintf(target, sizeof(target), "c%d", chain_level + 1 + (int)rnd((uint32_t)(3 - chain_level)));
	bool can_jump = chain_level < 3;
	if (r < 12 && can_jump) {
		sbuf_printf(b, " action=jump jump-target=%s", chance(8) ? "cx" : target);
		return;
	}
	if (r < 20) {
		sbuf_puts(b, " action=return");
		return;
	}
	if (r < 25) {
		sbuf_printf(b, " action=log log-prefix=L%d", (int)rnd(9));
		return;
	}
	if (r < 31) {
		sbuf_puts(b, " action=passthrough");
		return;
	}
	if (r < 37) {
		/* one random draw per statement: argument order is unspecified */
		const char *dir = chance(60) ? "src" : "dst";
		const char *list = chance(70) ? "dyn" : "dyn2";
		const char *to = chance(25) ? "none-dynamic" : chance(40) ? "1m" : chance(50) ? "10s" : "500ms";
		sbuf_printf(b, " action=add-%s-to-address-list address-list=%s address-list-timeout=%s",
			    dir, list, to);
		return;
	}
	switch (t) {
	case RT_FILTER: {
		static const char *const acts[] = { "accept", "drop", "reject", "tarpit",
						    "fasttrack-connection", "accept", "drop" };
		const char *a = PICK(acts);
		if (v6 && (!strcmp(a, "tarpit") || !strcmp(a, "fasttrack-connection")))
			a = "drop";
		sbuf_printf(b, " action=%s", a);
		if (!strcmp(a, "reject") && chance(50))
			sbuf_puts(b, " reject-with=tcp-reset");
		break;
	}
	case RT_RAW: {
		static const char *const acts[] = { "accept", "drop", "notrack" };
		sbuf_printf(b, " action=%s", PICK(acts));
		break;
	}
	case RT_NAT: {
		static const char *const acts[] = { "masquerade", "src-nat", "dst-nat", "redirect",
						    "netmap", "same", "accept" };
		const char *a = PICK(acts);
		sbuf_printf(b, " action=%s", a);
		if (!strcmp(a, "src-nat") || !strcmp(a, "dst-nat") || !strcmp(a, "netmap") ||
		    !strcmp(a, "same"))
			sbuf_printf(b, " to-addresses=%s", chance(50) ? "203.0.113.5" : "203.0.113.5-203.0.113.9");
		if (strcmp(a, "accept") && chance(50))
			sbuf_printf(b, " to-ports=%s", chance(50) ? "8080" : "1024-2047");
		break;
	}
	default: {
		static const char *const acts[] = { "mark-connection", "mark-packet", "mark-routing",
						    "mark-packet", "mark-connection", "change-ttl",
						    "change-dscp", "set-priority", "change-mss",
						    "clear-df", "accept", "strip-ipv4-options" };
		const char *a = PICK(acts);
		if (v6 && (!strcmp(a, "clear-df") || !strcmp(a, "strip-ipv4-options")))
			a = "mark-packet";
		if (v6 && !strcmp(a, "change-ttl"))
			a = "change-hop-limit";
		sbuf_printf(b, " action=%s", a);
		if (!strcmp(a, "mark-connection"))
			sbuf_printf(b, " new-connection-mark=%s", chance(85) ? PICK(marks) : "no-mark");
		else if (!strcmp(a, "mark-packet"))
			sbuf_printf(b, " new-packet-mark=%s", chance(85) ? PICK(marks) : "no-mark");
		else if (!strcmp(a, "mark-routing"))
			sbuf_printf(b, " new-routing-mark=%s", PICK(marks));
		else if (!strcmp(a, "change-ttl") || !strcmp(a, "change-hop-limit"))
			sbuf_printf(b, " new-%s=%s", v6 ? "hop-limit" : "ttl", chance(33) ? "set:5" : chance(50) ? "increment:200" : "decrement:3");
		else if (!strcmp(a, "change-dscp"))
			sbuf_printf(b, " new-dscp=%d", (int)rnd(64));
		else if (!strcmp(a, "set-priority"))
			sbuf_printf(b, " new-priority=%s", chance(50) ? "3" : "from-dscp-high-3-bits");
		else if (!strcmp(a, "change-mss"))
			sbuf_printf(b, " new-mss=%s", chance(50) ? "1300" : "clamp-to-pmtu");
		if (strcmp(a, "accept") && chance(45))
			sbuf_puts(b, " passthrough=no");
		break;
	}
	}
	if (chance(5))
		sbuf_puts(b, " log=yes log-prefix=Y");
}

static void gen_ruleset(struct gen *g, int nrules)
{
	entered(g, "/interface list add name=LAN");
	entered(g, "/interface list add name=WAN");
	entered(g, "/interface list member add list=LAN interface=ether2");
	entered(g, "/interface list member add list=LAN interface=wlan1");
	entered(g, "/interface list member add list=WAN interface=ether1");
	entered(g, "/ip firewall address-list add list=bl address=10.0.0.0/24");
	entered(g, "/ip firewall address-list add list=bl address=8.8.8.8");
	entered(g, "/ip firewall address-list add list=wl address=192.168.1.100-192.168.1.250");
	entered(g, "/ip firewall address-list add list=wl address=1.2.3.4 disabled=yes");
	entered(g, "/ipv6 firewall address-list add list=bl address=2001:db8:1::/48");
	entered(g, "/ip firewall layer7-protocol add name=l7a regexp=\"^(abc|get)\"");
	entered(g, "/ip firewall layer7-protocol add name=l7b");
	char line[1024];
	/* interface MTUs that clamp-to-pmtu reads (ether3 keeps the default) */
	for (int i = 0; i < 4; i++) {
		g->mtu[i] = 0;
		if (i == 2 || !chance(70))
			continue;
		g->mtu[i] = PICK(mtus);
		snprintf(line, sizeof(line), "/interface %s set %s mtu=%u",
			 i == 3 ? "wireless" : "ethernet", ifaces[i], g->mtu[i]);
		entered(g, line);
	}
	for (int i = 0; i < nrules; i++) {
		bool v6 = chance(10);
		if (chance(3)) {
			/* the usual MSS clamp, so that SYNs do meet one (one
			 * random draw per statement: argument order is unspecified) */
			const char *chain = chance(50) ? "forward" : "postrouting";
			const char *oif = chance(50) ? PICK(ifaces) : NULL;
			snprintf(line, sizeof(line),
				 "/%s firewall mangle add chain=%s protocol=tcp tcp-flags=syn "
				 "action=change-mss new-mss=clamp-to-pmtu%s%s",
				 v6 ? "ipv6" : "ip", chain, oif ? " out-interface=" : "", oif ? oif : "");
			entered(g, line);
			continue;
		}
		int t = v6 ? (int)PICK(((const int[]){ RT_RAW, RT_MANGLE, RT_FILTER, RT_FILTER })) : (int)rnd(10);
		if (!v6)
			t = t < 1 ? RT_RAW : t < 4 ? RT_MANGLE : t < 5 ? RT_NAT : RT_FILTER;
		/* long chains too: half the rules go to the forward chain of their table */
		int level = 0;
		const char *chain;
		char cname[8];
		if (chance(30)) {
			level = 1 + (int)rnd(3);
			snprintf(cname, sizeof(cname), "c%d", level);
			chain = cname;
		} else if ((t == RT_FILTER || t == RT_MANGLE) && chance(50)) {
			chain = "forward";
		} else {
			chain = builtin[t][rnd((uint32_t)nbuiltin[t])];
		}
		struct sbuf b = SBUF_INIT;
		sbuf_printf(&b, "/%s firewall %s add chain=%s", v6 ? "ipv6" : "ip", table_names[t], chain);
		add_matchers(&b, v6);
		add_action(&b, t, level, v6);
		if (chance(4))
			sbuf_puts(&b, " disabled=yes");
		snprintf(line, sizeof(line), "%s", sbuf_str(&b));
		sbuf_free(&b);
		entered(g, line);
	}
	g->nrules = nrules;
}

/* ---- packets ---- */

#define NCONN 6

struct side {
	struct ct_entry ct[NCONN];
	struct rs_state *st;
	char log[8][400];
	int nlog;
};

static void log_cb(void *ctx, const char *line)
{
	struct side *s = ctx;
	if (s->nlog < 8)
		snprintf(s->log[s->nlog], sizeof(s->log[0]), "%s", line);
	s->nlog++;
}

static void addr_of(const char *s, union ipaddr *a, bool v6)
{
	memset(a, 0, sizeof(*a));
	if (v6)
		assert_int_equal(parse_ip6(s, a->v6), 0);
	else
		assert_int_equal(parse_ip4(s, &a->v4), 0);
}

static void gen_packet(struct pkt *p, uint8_t *frame, int *conn)
{
	memset(p, 0, sizeof(*p));
	bool v6 = chance(12);
	p->family = v6 ? 6 : 4;
	addr_of(v6 ? PICK(addr6) : PICK(addr4), &p->src, v6);
	addr_of(v6 ? PICK(addr6) : PICK(addr4), &p->dst, v6);
	int pr = (int)rnd(10);
	p->proto = pr < 4 ? 6 : pr < 8 ? 17 : pr < 9 ? (v6 ? 58 : 1) : 47;
	p->flags = chance(95) ? PKT_F_L4 : PKT_F_FRAGMENT;
	if (p->proto == 6 || p->proto == 17) {
		p->sport = PICK(ports);
		p->dport = PICK(ports);
	}
	if (p->proto == 6) {
		static const uint8_t fl[] = { TCPF_SYN, TCPF_SYN | TCPF_ACK, TCPF_ACK, TCPF_FIN | TCPF_ACK,
					      TCPF_RST, TCPF_ACK | TCPF_PSH };
		p->tcp_flags = PICK(fl);
		if (p->tcp_flags & TCPF_SYN)
			p->mss = chance(50) ? 1460 : chance(50) ? 536 : 0;
	}
	if (p->proto == 1 || p->proto == 58) {
		static const uint8_t types[] = { 0, 3, 8, 11, 128 };
		p->icmp_type = PICK(types);
		p->icmp_code = (uint8_t)rnd(5);
	}
	static const uint16_t lens[] = { 40, 60, 100, 576, 1500 };
	p->ip_len = PICK(lens);
	static const uint8_t ttls[] = { 1, 5, 63, 64, 128 };
	p->ttl = PICK(ttls);
	p->dscp = chance(70) ? 0 : chance(50) ? 46 : 10;
	p->priority = chance(70) ? 0 : 3;
	if (!v6 && chance(10)) {
		p->ipv4_opts = chance(50) ? 16 : 2;
		p->flags |= PKT_F_IPV4_OPTS;
	}
	if (chance(10))
		p->flags |= PKT_F_DF;
	p->in_if = chance(85) ? (uint16_t)name_intern(NS_IFACE, PICK(ifaces)) : 0;
	p->out_if = chance(70) ? (uint16_t)name_intern(NS_IFACE, PICK(ifaces)) : 0;
	if (chance(50))
		p->src_mac[5] = chance(50) ? 7 : 8;
	p->src_mac[0] = 0x4c;
	p->src_mac[1] = 0x5e;
	p->src_mac[2] = 0x0c;
	p->packet_mark = chance(60) ? 0 : name_intern(NS_MARK, PICK(marks));
	p->routing_mark = chance(70) ? 0 : name_intern(NS_MARK, PICK(marks));
	p->ct_state = (uint8_t)rnd(6);
	*conn = chance(80) ? (int)rnd(NCONN) : -1;
	if (chance(40)) {
		static const char *const pl[] = { "abc", "xxGETyy", "def", "xyz", "get /" };
		const char *s = PICK(pl);
		size_t n = strlen(s);
		memcpy(frame + 64, s, n);
		p->data = frame;
		p->len = (uint32_t)(64 + n);
		p->payload_off = 64;
		p->payload_len = (uint16_t)n;
	}
}

static void conn_init(struct ct_entry *c)
{
	memset(c, 0, sizeof(*c));
	c->status = chance(30) ? CTS_SRCNAT : 0;
	if (chance(30))
		c->status |= CTS_DSTNAT;
	c->bytes[0] = rnd(3000);
	c->bytes[1] = rnd(3000);
	c->mark = chance(50) ? 0 : name_intern(NS_MARK, PICK(marks));
	static const uint8_t helpers[] = { 0, CTH_FTP, CTH_FTP | CTH_EXPECTED, CTH_TFTP | CTH_EXPECTED };
	c->helper = chance(60) ? 0 : PICK(helpers);
	c->family = 4;
	c->proto = chance(50) ? 6 : 17;
	c->t[0].src = 0x0a000000u + rnd(4);
	c->t[0].dst = 0x01020304u;
	c->t[0].sport = PICK(ports);
	c->t[0].dport = PICK(ports);
}

struct world {
	uint64_t now;
	int64_t wall;
	uint32_t conns;
};

/* Connections end and (as far as the tuple goes) come back as time passes. */
static bool conn_live(void *ctx, const struct ct_tuple *orig)
{
	const struct world *w = ctx;
	uint32_t h = orig->sport * 2654435761u ^ orig->src.v4 ^ orig->dport ^ orig->src.v6[15];
	return (h ^ (uint32_t)(w->now >> 29) ^ w->conns) % 5 != 0;
}

static bool is_local(void *ctx, uint32_t addr)
{
	return addr == 0xc0a8010a || addr == 0x01020304;
}

/* 192.168.1.0/24's broadcast routes (the router is 192.168.1.10 there) */
static bool is_bcast(void *ctx, uint32_t addr)
{
	return addr == 0xc0a801ff || addr == 0xc0a80100;
}

static bool is_local6(void *ctx, const uint8_t a[16])
{
	/* 2001:db8::1 and fe80::1 */
	static const uint8_t g[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	static const uint8_t l[16] = { 0xfe, 0x80, [15] = 1 };
	return !memcmp(a, g, 16) || !memcmp(a, l, 16);
}

static int traced;

static void trace_cb(void *ctx, enum rs_table table, const char *chain, uint32_t rule_id,
		     bool matched, const char *why)
{
	traced++;
}

static void ctx_of(struct rs_ctx *c, struct pkt *p, struct rs_state *s, struct world *w)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->state = s;
	c->now = w->now;
	c->wall = w->wall;
	c->conn_live = conn_live;
	c->conn_ctx = w;
	c->is_local = is_local;
	c->is_local6 = is_local6;
	c->is_bcast = is_bcast;
}

static const char *desc_pkt(const struct pkt *p, int conn)
{
	static char buf[512];
	char s[64], d[64];
	struct sbuf a = SBUF_INIT, b = SBUF_INIT;
	if (p->family == 6) {
		format_ip6(p->src.v6, &a);
		format_ip6(p->dst.v6, &b);
	} else {
		format_ip4(p->src.v4, &a);
		format_ip4(p->dst.v4, &b);
	}
	snprintf(s, sizeof(s), "%s", sbuf_str(&a));
	snprintf(d, sizeof(d), "%s", sbuf_str(&b));
	sbuf_free(&a);
	sbuf_free(&b);
	snprintf(buf, sizeof(buf),
		 "proto %u %s:%u > %s:%u flags 0x%x tcp 0x%x len %u ttl %u dscp %u in %s out %s pmark %s rmark %s "
		 "state %u conn %d payload %u",
		 p->proto, s, p->sport, d, p->dport, p->flags, p->tcp_flags, p->ip_len, p->ttl, p->dscp,
		 name_of(NS_IFACE, p->in_if), name_of(NS_IFACE, p->out_if),
		 name_of(NS_MARK, p->packet_mark), name_of(NS_MARK, p->routing_mark), p->ct_state, conn,
		 p->payload_len);
	return buf;
}

static bool same_side(const struct pkt *a, const struct pkt *b, const struct rs_verdict *va,
		      const struct rs_verdict *vb, const struct side *sa, const struct side *sb,
		      char *why, size_t n)
{
#define DIFF(cond, what)                                        \
	do {                                                    \
		if (cond) {                                     \
			snprintf(why, n, "%s", what);           \
			return false;                           \
		}                                               \
	} while (0)
	DIFF(va->action != vb->action, "action");
	DIFF(va->rule_id != vb->rule_id, "rule_id");
	DIFF(va->reject_with != vb->reject_with, "reject_with");
	DIFF(memcmp(&va->nat, &vb->nat, sizeof(va->nat)), "nat");
	DIFF(a->packet_mark != b->packet_mark, "packet-mark");
	DIFF(a->routing_mark != b->routing_mark, "routing-mark");
	DIFF(a->ttl != b->ttl || a->dscp != b->dscp || a->priority != b->priority ||
		     a->mss != b->mss || a->flags != b->flags,
	     "header change");
	DIFF(sa->nlog != sb->nlog, "number of log lines");
	for (int i = 0; i < sa->nlog && i < 8; i++)
		DIFF(strcmp(sa->log[i], sb->log[i]), "log line");
	for (int i = 0; i < NCONN; i++)
		DIFF(sa->ct[i].mark != sb->ct[i].mark || sa->ct[i].status != sb->ct[i].status,
		     "connection mark or status");
	return true;
#undef DIFF
}

/* True when p's MSS (mss0 before the rules) was lowered to what the
 * configured MTU of its out-interface gives. */
static bool clamped_to_mtu(const struct gen *g, const struct pkt *p, uint16_t mss0)
{
	for (int i = 0; i < 4; i++)
		if (g->mtu[i] && p->out_if == name_intern(NS_IFACE, ifaces[i]) && p->mss != mss0)
			return p->mss == g->mtu[i] - (p->family == 6 ? 60 : 40);
	return false;
}

static const int hooks_of[RT_MAX][5] = {
	{ RH_PREROUTING, RH_OUTPUT },
	{ RH_PREROUTING, RH_INPUT, RH_FORWARD, RH_OUTPUT, RH_POSTROUTING },
	{ RH_SRCNAT, RH_DSTNAT },
	{ RH_INPUT, RH_FORWARD, RH_OUTPUT },
};

static void test_differential(void **state)
{
	uint64_t seed = 20260105;
	long want = 100000;
	if (getenv("ROSFW_DIFF_SEED"))
		seed = strtoull(getenv("ROSFW_DIFF_SEED"), NULL, 0);
	if (getenv("ROSFW_DIFF_CASES"))
		want = strtol(getenv("ROSFW_DIFF_CASES"), NULL, 0);
	rng_state = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
	if (!rng_state)
		rng_state = 1;
	long cases = 0, rulesets = 0, matched_rules = 0, decided = 0, clamped = 0;
	static struct side sa, sb;
	uint8_t frame_a[256], frame_b[256];

	while (cases < want) {
		struct store *st;
		struct err e;
		err_clear(&e);
		assert_int_equal(store_open(&st, ":memory:", &e), 0);
		struct conf_session s;
		conf_session_init(&s, st, "diff");
		assert_int_equal(conf_store_init(&s, false, &e), 0);
		struct gen g = { &s, SBUF_INIT, 0, { 0 } };
		uint64_t rs_seed = rng_state;
		gen_ruleset(&g, 20 + (int)rnd(181));
		struct ruleset *rs = NULL;
		if (ruleset_compile(st, &rs, &e) < 0)
			fail_msg("seed %llu ruleset %ld: compile failed: %s\n%s", (unsigned long long)seed,
				 rulesets, e.msg, sbuf_str(&g.script));
		rulesets++;
		sa.st = rs_state_new();
		sb.st = rs_state_new();
		rs_state_set_log(sa.st, log_cb, &sa);
		rs_state_set_log(sb.st, log_cb, &sb);
		for (int i = 0; i < NCONN; i++) {
			conn_init(&sa.ct[i]);
			sb.ct[i] = sa.ct[i];
		}
		struct world w = { 5000000000ull, 1767571200, 0 };
		w.wall += (int64_t)rnd(7 * 86400);
		w.conns = rnd(6);
		int npkts = 150 + (int)rnd(250);
		for (int k = 0; k < npkts && cases < want; k++, cases++) {
			struct pkt pa, pb;
			int conn;
			gen_packet(&pa, frame_a, &conn);
			uint16_t mss0 = pa.mss;
			pb = pa;
			if (pa.data) {
				memcpy(frame_b, frame_a, sizeof(frame_b));
				pb.data = frame_b;
			}
			pa.ct = conn >= 0 ? &sa.ct[conn] : NULL;
			pb.ct = conn >= 0 ? &sb.ct[conn] : NULL;
			if (conn >= 0 && chance(20)) {
				uint64_t more = rnd(20000);
				sa.ct[conn].bytes[0] += more;
				sb.ct[conn].bytes[0] += more;
			}
			int t = (int)rnd(RT_MAX);
			int h = hooks_of[t][rnd((uint32_t)nbuiltin[t])];
			w.now += rnd(300) * 1000000ull;
			w.wall += (int64_t)rnd(2000);
			if (chance(15)) {
				/* on the edges of the time= spans */
				static const int64_t edge[] = { 0, 4 * 3600, 6 * 3600, 12 * 3600, 18 * 3600,
								 20 * 3600, 86399 };
				w.wall = w.wall - w.wall % 86400 + PICK(edge);
				w.wall += (int64_t)rnd(3) - 1;
			}
			struct rs_ctx ca, cb;
			struct rs_verdict va, vb;
			ctx_of(&ca, &pa, sa.st, &w);
			ctx_of(&cb, &pb, sb.st, &w);
			if (chance(10)) {
				ca.trace = trace_cb;
			}
			sa.nlog = sb.nlog = 0;
			rs_run(rs, (enum rs_table)t, (enum rs_hook)h, &ca, &va);
			rs_ref_run(st, (enum rs_table)t, (enum rs_hook)h, &cb, &vb);
			char why[64];
			if (!same_side(&pa, &pb, &va, &vb, &sa, &sb, why, sizeof(why)))
				fail_msg("seed %llu (ruleset seed %llu) ruleset %ld case %ld: %s differs\n"
					 "table %s hook %d packet %s\n"
					 "compiled: action %d rule *%X pmark %s rmark %s ttl %u\n"
					 "reference: action %d rule *%X pmark %s rmark %s ttl %u\n%s",
					 (unsigned long long)seed, (unsigned long long)rs_seed, rulesets, cases,
					 why, table_names[t], h, desc_pkt(&pb, conn), va.action, va.rule_id,
					 name_of(NS_MARK, pa.packet_mark), name_of(NS_MARK, pa.routing_mark),
					 pa.ttl, vb.action, vb.rule_id, name_of(NS_MARK, pb.packet_mark),
					 name_of(NS_MARK, pb.routing_mark), pb.ttl, sbuf_str(&g.script));
			decided += va.rule_id != 0;
			clamped += clamped_to_mtu(&g, &pa, mss0);
		}
		/* counters of every rule, and the dynamic lists, after the packets */
		const struct menu *menus[7];
		size_t nm = 0;
		for (int f = 0; f < 2; f++)
			for (int t = 0; t < RT_MAX; t++) {
				char path[64];
				snprintf(path, sizeof(path), "/%s/firewall/%s", f ? "ipv6" : "ip", table_names[t]);
				const struct menu *m = schema_find(path);
				if (m)
					menus[nm++] = m;
			}
		for (size_t i = 0; i < nm; i++) {
			for (size_t j = 0; j < store_count(st, menus[i]); j++) {
				uint32_t id = store_at(st, menus[i], j)->id;
				uint64_t b1, n1, b2, n2;
				rs_state_counters(sa.st, id, &b1, &n1);
				rs_state_counters(sb.st, id, &b2, &n2);
				if (b1 != b2 || n1 != n2)
					fail_msg("seed %llu ruleset %ld: counters of rule *%X differ: %llu/%llu vs %llu/%llu\n%s",
						 (unsigned long long)seed, rulesets, id, (unsigned long long)n1,
						 (unsigned long long)b1, (unsigned long long)n2,
						 (unsigned long long)b2, sbuf_str(&g.script));
				matched_rules += n1 != 0;
			}
		}
		const char *dl[] = { "dyn", "dyn2" };
		for (int l = 0; l < 2; l++) {
			uint32_t list = name_intern(NS_ADDRLIST, dl[l]);
			for (size_t i = 0; i < sizeof(addr4) / sizeof(addr4[0]); i++) {
				union ipaddr a;
				addr_of(addr4[i], &a, false);
				assert_int_equal(rs_state_addrlist_has(sa.st, list, &a, 4, w.now),
						 rs_state_addrlist_has(sb.st, list, &a, 4, w.now));
			}
		}
		rs_state_free(sa.st);
		rs_state_free(sb.st);
		ruleset_free(rs);
		sbuf_free(&g.script);
		conf_session_free(&s);
		store_close(st);
	}
	printf("differential: seed %llu, %ld cases over %ld rulesets, %ld decided by a rule, "
	       "%ld rules matched at least once, %d rules traced, %ld MSS clamped to an "
	       "interface MTU\n",
	       (unsigned long long)seed, cases, rulesets, decided, matched_rules, traced, clamped);
	/* the clamp to a configured MTU was compared, not just reachable */
	if (want >= 10000)
		assert_true(clamped >= want / 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
