/*
 * The firewall rules, compiled and run: every matcher and action of
 * REFERENCE.md §2 on a store filled by console commands, with packets
 * written as one-line descriptions. Every packet goes through both the
 * compiled evaluator (rs_run) and the reference evaluator (rs_ref_run),
 * each with its own rs_state, and the two must agree on the verdict, the
 * packet, its connection and the log lines before the test looks at the
 * result. Also: jumps and loops, the seed's mark overwrite, address lists
 * (static, ranges, dynamic with expiry), limit buckets in virtual time,
 * nth, counters, the names table, and a timing of long chains.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/types.h"
#include "engine/ct.h"
#include "engine/cthelper.h"
#include "engine/names.h"
#include "engine/rules.h"

/* ---- fixture ---- */

#define MAXLOG 16

struct logbuf {
	char line[MAXLOG][400];
	int n;
};

struct env {
	struct store *st;
	struct conf_session s;
	struct ruleset *rs;
	struct rs_state *sa, *sb; /* compiled, reference */
	struct logbuf la, lb;
	uint64_t now;
	int64_t wall;
	uint16_t dead[16];        /* source ports of connections conntrack no longer has */
	int ndead;
	uint16_t live_from;       /* non-zero: only source ports from it up are live */
	uint32_t local;           /* the router's address for is_local */
};

static void log_cb(void *ctx, const char *line)
{
	struct logbuf *l = ctx;
	if (l->n < MAXLOG)
		snprintf(l->line[l->n++], sizeof(l->line[0]), "%s", line);
}

static struct env *env_new(void)
{
	struct env *en = calloc(1, sizeof(*en));
	struct err e;
	err_clear(&e);
	if (store_open(&en->st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&en->s, en->st, "tester");
	if (conf_store_init(&en->s, false, &e) < 0)
		fail_msg("conf_store_init: %s", e.msg);
	en->sa = rs_state_new();
	en->sb = rs_state_new();
	rs_state_set_log(en->sa, log_cb, &en->la);
	rs_state_set_log(en->sb, log_cb, &en->lb);
	en->now = 1000000000ull;
	en->wall = 1767571200; /* 2026-01-05 00:00:00, a monday */
	en->local = 0xc0a85801; /* 192.168.88.1 */
	return en;
}

static void env_free(struct env *en)
{
	ruleset_free(en->rs);
	rs_state_free(en->sa);
	rs_state_free(en->sb);
	conf_session_free(&en->s);
	store_close(en->st);
	free(en);
}

static void cmd(struct env *en, const char *text)
{
	struct err e;
	err_clear(&e);
	if (conf_exec(&en->s, text, NULL, &e) < 0)
		fail_msg("%s: %s", text, e.msg);
}

/* The id of the last rule added: conf_exec returns it. */
static uint32_t add(struct env *en, const char *text)
{
	struct sbuf ret = SBUF_INIT;
	struct err e;
	err_clear(&e);
	if (conf_exec(&en->s, text, &ret, &e) < 0)
		fail_msg("%s: %s", text, e.msg);
	uint32_t id = 0;
	if (store_parse_id(sbuf_str(&ret), &id) < 0)
		fail_msg("%s: no id in '%s'", text, sbuf_str(&ret));
	sbuf_free(&ret);
	return id;
}

static void compile(struct env *en)
{
	struct err e;
	err_clear(&e);
	ruleset_free(en->rs);
	en->rs = NULL;
	if (ruleset_compile(en->st, &en->rs, &e) < 0)
		fail_msg("ruleset_compile: %s", e.msg);
}

static bool conn_live_cb(void *ctx, const struct ct_tuple *orig)
{
	const struct env *en = ctx;
	if (en->live_from && orig->sport < en->live_from)
		return false;
	for (int i = 0; i < en->ndead; i++)
		if (en->dead[i] == orig->sport)
			return false;
	return true;
}

static bool is_local_cb(void *ctx, uint32_t addr)
{
	return addr == ((struct env *)ctx)->local;
}

/* The broadcast routes of the router's subnet 192.168.88.0/24. */
static bool is_bcast_cb(void *ctx, uint32_t addr)
{
	return addr == 0xc0a858ffu || addr == 0xc0a85800u;
}

/* The router's IPv6 addresses: 2001:db8:88::1 and fe80::1. */
static bool is_local6_cb(void *ctx, const uint8_t a[16])
{
	static const uint8_t g[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x88, [15] = 1 };
	static const uint8_t l[16] = { 0xfe, 0x80, [15] = 1 };
	return !memcmp(a, g, 16) || !memcmp(a, l, 16);
}

/* ---- packets ---- */

struct tpkt {
	struct pkt p;
	struct ct_entry ct;
	uint8_t frame[256];
};

static uint16_t ifid(const char *name)
{
	return (uint16_t)name_intern(NS_IFACE, name);
}

static void addr_port(const char *s, uint8_t *family, union ipaddr *a, uint16_t *port)
{
	char buf[80];
	snprintf(buf, sizeof(buf), "%s", s);
	char *ps = NULL;
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		assert_non_null(end);
		*end = 0;
		if (end[1] == ':')
			ps = end + 2;
		assert_int_equal(parse_ip6(buf + 1, a->v6), 0);
		*family = 6;
	} else {
		ps = strchr(buf, ':');
		if (ps)
			*ps++ = 0;
		assert_int_equal(parse_ip4(buf, &a->v4), 0);
		*family = 4;
	}
	*port = ps ? (uint16_t)atoi(ps) : 0;
}

/*
 * "tcp 10.0.0.1:1234 > 1.2.3.4:22 flags=S in=ether1 out=ether2 len=60 ttl=64
 *  dscp=0 prio=0 state=new ctmark=x pmark=x rmark=x nat=sd ctbytes=N type=8
 *  code=0 mss=1460 frag opts=N mac=AA:.. payload=text noct"
 */
static struct tpkt *pk(const char *desc)
{
	static struct tpkt bufs[4];
	static int k;
	struct tpkt *t = &bufs[k++ % 4];
	memset(t, 0, sizeof(*t));
	struct pkt *p = &t->p;
	char buf[512];
	snprintf(buf, sizeof(buf), "%s", desc);
	char *save = NULL;
	char *proto = strtok_r(buf, " ", &save);
	char *src = strtok_r(NULL, " ", &save);
	char *gt = strtok_r(NULL, " ", &save);
	char *dst = strtok_r(NULL, " ", &save);
	assert_non_null(dst);
	assert_string_equal(gt, ">");
	addr_port(src, &p->family, &p->src, &p->sport);
	addr_port(dst, &p->family, &p->dst, &p->dport);
	if (!strcmp(proto, "tcp"))
		p->proto = 6;
	else if (!strcmp(proto, "udp"))
		p->proto = 17;
	else if (!strcmp(proto, "icmp"))
		p->proto = p->family == 6 ? 58 : 1;
	else
		p->proto = (uint8_t)atoi(proto);
	p->flags = PKT_F_L4;
	p->ip_len = 60;
	p->ttl = 64;
	p->in_if = ifid("ether1");
	p->ct = &t->ct;
	p->ct_state = CT_NEW;
	/* a stand-alone entry: an IPv6 one has no room for its addresses (the
	 * frame that follows is read in their place: nothing here needs them) */
	t->ct.family = p->family;
	t->ct.proto = p->proto;
	t->ct.t[0].src = p->family == 4 ? p->src.v4 : 0;
	t->ct.t[0].dst = p->family == 4 ? p->dst.v4 : 0;
	t->ct.t[0].sport = p->sport;
	t->ct.t[0].dport = p->dport;
	for (char *tok = strtok_r(NULL, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		if (eq)
			*eq = 0;
		if (!strcmp(tok, "flags")) {
			for (const char *f = v; *f; f++) {
				const char *letters = "FSRPAUEC";
				const char *at = strchr(letters, *f);
				assert_non_null(at);
				p->tcp_flags |= (uint8_t)(1u << (at - letters));
			}
		} else if (!strcmp(tok, "in")) {
			p->in_if = *v ? ifid(v) : 0;
		} else if (!strcmp(tok, "out")) {
			p->out_if = ifid(v);
		} else if (!strcmp(tok, "len")) {
			p->ip_len = (uint16_t)atoi(v);
		} else if (!strcmp(tok, "ttl")) {
			p->ttl = (uint8_t)atoi(v);
		} else if (!strcmp(tok, "dscp")) {
			p->dscp = (uint8_t)atoi(v);
		} else if (!strcmp(tok, "prio")) {
			p->priority = (uint8_t)atoi(v);
		} else if (!strcmp(tok, "state")) {
			static const char *const st[] = { "none", "new", "established", "related",
							  "invalid", "untracked" };
			for (uint8_t i = 0; i < 6; i++)
				if (!strcmp(v, st[i]))
					p->ct_state = i;
		} else if (!strcmp(tok, "ctmark")) {
			t->ct.mark = name_intern(NS_MARK, v);
		} else if (!strcmp(tok, "pmark")) {
			p->packet_mark = name_intern(NS_MARK, v);
		} else if (!strcmp(tok, "rmark")) {
			p->routing_mark = name_intern(NS_MARK, v);
		} else if (!strcmp(tok, "nat")) {
			if (strchr(v, 's'))
				t->ct.status |= CTS_SRCNAT;
			if (strchr(v, 'd'))
				t->ct.status |= CTS_DSTNAT;
		} else if (!strcmp(tok, "ctbytes")) {
			t->ct.bytes[0] = strtoull(v, NULL, 10);
		} else if (!strcmp(tok, "type")) {
			p->icmp_type = (uint8_t)atoi(v);
		} else if (!strcmp(tok, "code")) {
			p->icmp_code = (uint8_t)atoi(v);
		} else if (!strcmp(tok, "mss")) {
			p->mss = (uint16_t)atoi(v);
		} else if (!strcmp(tok, "frag")) {
			p->flags |= PKT_F_FRAGMENT;
			p->flags &= (uint16_t)~PKT_F_L4;
		} else if (!strcmp(tok, "opts")) {
			p->ipv4_opts = (uint8_t)atoi(v);
			if (p->ipv4_opts)
				p->flags |= PKT_F_IPV4_OPTS;
		} else if (!strcmp(tok, "mac")) {
			assert_int_equal(parse_mac(v, p->src_mac), 0);
		} else if (!strcmp(tok, "payload")) {
			size_t n = strlen(v);
			memcpy(t->frame + 40, v, n);
			p->data = t->frame;
			p->len = (uint32_t)(40 + n);
			p->payload_off = 40;
			p->payload_len = (uint16_t)n;
		} else if (!strcmp(tok, "helper")) {
			bool ctl = strstr(v, "-control") != NULL;
			char name[16];
			snprintf(name, sizeof(name), "%.*s", (int)strcspn(v, "-"), v);
			t->ct.helper = (uint8_t)(cth_by_name(name) | (ctl ? 0 : CTH_EXPECTED));
		} else if (!strcmp(tok, "noct")) {
			p->ct = NULL;
		} else if (!strcmp(tok, "local")) {
			p->flags |= PKT_F_LOCAL_OUT;
		} else {
			fail_msg("bad packet token %s", tok);
		}
	}
	return t;
}

/* ---- running both evaluators ---- */

static void ctx_init(struct env *en, struct rs_ctx *c, struct pkt *p, struct rs_state *s)
{
	memset(c, 0, sizeof(*c));
	c->p = p;
	c->state = s;
	c->now = en->now;
	c->wall = en->wall;
	c->conn_live = conn_live_cb;
	c->conn_ctx = en;
	c->is_local = is_local_cb;
	c->is_local6 = is_local6_cb;
	c->is_bcast = is_bcast_cb;
	c->local_ctx = en;
}

static void same_pkt(const struct pkt *a, const struct pkt *b)
{
	assert_int_equal(a->packet_mark, b->packet_mark);
	assert_int_equal(a->routing_mark, b->routing_mark);
	assert_int_equal(a->ttl, b->ttl);
	assert_int_equal(a->dscp, b->dscp);
	assert_int_equal(a->priority, b->priority);
	assert_int_equal(a->mss, b->mss);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->ct != NULL, b->ct != NULL);
	if (a->ct) {
		assert_int_equal(a->ct->mark, b->ct->mark);
		assert_int_equal(a->ct->status, b->ct->status);
	}
}

/* Runs table/hook on t->p through both evaluators; they must agree. */
static struct rs_verdict run(struct env *en, enum rs_table table, enum rs_hook hook, struct tpkt *t)
{
	if (!en->rs)
		compile(en);
	struct tpkt copy = *t;
	if (t->p.ct)
		copy.p.ct = &copy.ct;
	if (t->p.data)
		copy.p.data = copy.frame;
	struct rs_ctx ca, cb;
	struct rs_verdict va, vb;
	en->la.n = en->lb.n = 0;
	ctx_init(en, &ca, &t->p, en->sa);
	ctx_init(en, &cb, &copy.p, en->sb);
	rs_run(en->rs, table, hook, &ca, &va);
	rs_ref_run(en->st, table, hook, &cb, &vb);
	assert_int_equal(va.action, vb.action);
	assert_int_equal(va.rule_id, vb.rule_id);
	assert_int_equal(va.reject_with, vb.reject_with);
	assert_memory_equal(&va.nat, &vb.nat, sizeof(va.nat));
	same_pkt(&t->p, &copy.p);
	assert_int_equal(en->la.n, en->lb.n);
	for (int i = 0; i < en->la.n; i++)
		assert_string_equal(en->la.line[i], en->lb.line[i]);
	return va;
}

static struct rs_verdict fwd(struct env *en, struct tpkt *t)
{
	return run(en, RT_FILTER, RH_FORWARD, t);
}

/* ---- matchers, table-driven ---- */

struct mcase {
	const char *hook;  /* filter chain; "prerouting"/"postrouting" use mangle */
	const char *rule;  /* matchers of a drop rule */
	const char *pkt;
	bool match;
};

static const struct mcase mcases[] = {
	/* protocol, ports */
	{ "forward", "protocol=tcp dst-port=22", "tcp 10.0.0.1:1234 > 1.2.3.4:22", true },
	{ "forward", "protocol=tcp dst-port=22", "tcp 10.0.0.1:1234 > 1.2.3.4:23", false },
	{ "forward", "protocol=tcp dst-port=22", "udp 10.0.0.1:1234 > 1.2.3.4:22", false },
	{ "forward", "protocol=!tcp", "udp 10.0.0.1:1 > 1.2.3.4:2", true },
	{ "forward", "protocol=!tcp", "tcp 10.0.0.1:1 > 1.2.3.4:2", false },
	{ "forward", "protocol=47", "47 10.0.0.1 > 1.2.3.4", true },
	{ "forward", "protocol=tcp dst-port=80,443,1000-2000", "tcp 10.0.0.1:5 > 1.2.3.4:443", true },
	{ "forward", "protocol=tcp dst-port=80,443,1000-2000", "tcp 10.0.0.1:5 > 1.2.3.4:1500", true },
	{ "forward", "protocol=tcp dst-port=80,443,1000-2000", "tcp 10.0.0.1:5 > 1.2.3.4:2001", false },
	{ "forward", "protocol=tcp dst-port=!80,443", "tcp 10.0.0.1:5 > 1.2.3.4:443", false },
	{ "forward", "protocol=tcp dst-port=!80,443", "tcp 10.0.0.1:5 > 1.2.3.4:8080", true },
	{ "forward", "protocol=udp src-port=53", "udp 10.0.0.1:53 > 1.2.3.4:9", true },
	{ "forward", "protocol=udp src-port=53", "udp 10.0.0.1:54 > 1.2.3.4:53", false },
	{ "forward", "protocol=udp port=53", "udp 10.0.0.1:54 > 1.2.3.4:53", true },
	{ "forward", "protocol=udp port=53", "udp 10.0.0.1:53 > 1.2.3.4:54", true },
	{ "forward", "protocol=udp port=!53", "udp 10.0.0.1:53 > 1.2.3.4:54", false },
	{ "forward", "protocol=udp port=!53", "udp 10.0.0.1:55 > 1.2.3.4:54", true },
	/* a fragment has no ports: a port matcher fails even negated */
	{ "forward", "protocol=udp dst-port=!53", "udp 10.0.0.1:1 > 1.2.3.4:2 frag", false },
	/* addresses */
	{ "forward", "src-address=10.0.0.0/8", "udp 10.9.9.9:1 > 1.2.3.4:2", true },
	{ "forward", "src-address=10.0.0.0/8", "udp 11.0.0.1:1 > 1.2.3.4:2", false },
	{ "forward", "src-address=10.1.2.3/8", "udp 10.200.0.1:1 > 1.2.3.4:2", true },
	{ "forward", "dst-address=1.2.3.4", "udp 10.0.0.1:1 > 1.2.3.4:2", true },
	{ "forward", "dst-address=1.2.3.4", "udp 10.0.0.1:1 > 1.2.3.5:2", false },
	{ "forward", "dst-address=1.2.3.4-1.2.3.9", "udp 10.0.0.1:1 > 1.2.3.9:2", true },
	{ "forward", "dst-address=1.2.3.4-1.2.3.9", "udp 10.0.0.1:1 > 1.2.3.10:2", false },
	{ "forward", "dst-address=!1.2.3.0/24", "udp 10.0.0.1:1 > 1.2.3.10:2", false },
	{ "forward", "dst-address=!1.2.3.0/24", "udp 10.0.0.1:1 > 1.2.4.10:2", true },
	{ "forward", "dst-address=0.0.0.0/0", "udp 10.0.0.1:1 > 255.255.255.255:2", true },
	/* address types */
	{ "forward", "dst-address-type=local", "udp 10.0.0.1:1 > 192.168.88.1:2", true },
	{ "forward", "dst-address-type=local", "udp 10.0.0.1:1 > 192.168.88.2:2", false },
	{ "forward", "dst-address-type=unicast", "udp 10.0.0.1:1 > 192.168.88.2:2", true },
	{ "forward", "dst-address-type=unicast", "udp 10.0.0.1:1 > 192.168.88.1:2", false },
	{ "forward", "dst-address-type=broadcast,multicast", "udp 10.0.0.1:1 > 255.255.255.255:2", true },
	{ "forward", "dst-address-type=broadcast,multicast", "udp 10.0.0.1:1 > 239.1.1.1:2", true },
	{ "forward", "dst-address-type=!broadcast", "udp 10.0.0.1:1 > 255.255.255.255:2", false },
	{ "input", "dst-address-type=broadcast", "udp 10.0.0.1:1 > 192.168.88.255:2", true },
	{ "input", "dst-address-type=broadcast", "udp 10.0.0.1:1 > 192.168.88.0:2", true },
	{ "input", "dst-address-type=unicast", "udp 10.0.0.1:1 > 192.168.88.255:2", false },
	{ "forward", "dst-address-type=broadcast", "udp 10.0.0.1:1 > 192.168.89.255:2", false },
	{ "forward", "src-address-type=unicast", "udp 10.0.0.1:1 > 2.2.2.2:2", true },
	/* IPv6: the router's addresses (link-local too) are local, and unicast as well */
	{ "input", "dst-address-type=local", "udp [2001:db8:1::5]:1 > [2001:db8:88::1]:2", true },
	{ "input", "dst-address-type=local", "udp [2001:db8:1::5]:1 > [fe80::1]:2", true },
	{ "input", "dst-address-type=local", "udp [2001:db8:1::5]:1 > [2001:db8:88::2]:2", false },
	{ "input", "dst-address-type=!local", "udp [2001:db8:1::5]:1 > [2001:db8:88::2]:2", true },
	{ "input", "dst-address-type=!local", "udp [2001:db8:1::5]:1 > [2001:db8:88::1]:2", false },
	{ "input", "dst-address-type=unicast", "udp [2001:db8:1::5]:1 > [2001:db8:88::1]:2", true },
	{ "input", "dst-address-type=unicast", "udp [2001:db8:1::5]:1 > [ff02::1]:2", false },
	{ "input", "dst-address-type=multicast", "udp [2001:db8:1::5]:1 > [ff02::1]:2", true },
	{ "input", "dst-address-type=local", "udp [2001:db8:1::5]:1 > [ff02::1]:2", false },
	{ "input", "dst-address-type=broadcast", "udp [2001:db8:1::5]:1 > [ff02::1]:2", false },
	{ "output", "src-address-type=local", "udp [2001:db8:88::1]:1 > [2001:db8:1::5]:2 in=", true },
	{ "input", "src-address-type=unicast", "udp [::]:1 > [ff02::1]:2", false },
	{ "input", "src-address-type=!unicast", "udp [::]:1 > [ff02::1]:2", true },
	/* interfaces */
	{ "forward", "in-interface=ether1", "udp 10.0.0.1:1 > 1.2.3.4:2 in=ether1", true },
	{ "forward", "in-interface=ether1", "udp 10.0.0.1:1 > 1.2.3.4:2 in=ether2", false },
	{ "forward", "in-interface=!ether1", "udp 10.0.0.1:1 > 1.2.3.4:2 in=ether2", true },
	{ "forward", "out-interface=ether2", "udp 10.0.0.1:1 > 1.2.3.4:2 out=ether2", true },
	{ "forward", "in-interface=all-ethernet", "udp 10.0.0.1:1 > 1.2.3.4:2 in=ether3", true },
	{ "forward", "in-interface=all-ethernet", "udp 10.0.0.1:1 > 1.2.3.4:2 in=wlan1", false },
	{ "forward", "in-interface=all-wireless", "udp 10.0.0.1:1 > 1.2.3.4:2 in=wlan1", true },
	{ "forward", "in-interface=all", "udp 10.0.0.1:1 > 1.2.3.4:2 in=wlan1", true },
	/* out-* never in input, in-* never in output: not even negated */
	{ "input", "out-interface=ether2", "udp 10.0.0.1:1 > 1.2.3.4:2 out=ether2", false },
	{ "input", "out-interface=!ether2", "udp 10.0.0.1:1 > 1.2.3.4:2", false },
	{ "output", "in-interface=!ether2", "udp 10.0.0.1:1 > 1.2.3.4:2 in=", false },
	{ "prerouting", "out-interface-list=all", "udp 10.0.0.1:1 > 1.2.3.4:2 out=ether1", false },
	{ "postrouting", "out-interface-list=all", "udp 10.0.0.1:1 > 1.2.3.4:2 out=ether1", true },
	{ "output", "out-interface=ether2", "udp 10.0.0.1:1 > 1.2.3.4:2 in= out=ether2", true },
	/* connection tracking */
	{ "forward", "connection-state=established,related", "tcp 1.1.1.1:1 > 2.2.2.2:2 state=related", true },
	{ "forward", "connection-state=established,related", "tcp 1.1.1.1:1 > 2.2.2.2:2 state=new", false },
	{ "forward", "connection-state=!invalid", "tcp 1.1.1.1:1 > 2.2.2.2:2 state=new", true },
	{ "forward", "connection-state=invalid", "tcp 1.1.1.1:1 > 2.2.2.2:2 state=invalid noct", true },
	{ "forward", "connection-state=untracked", "tcp 1.1.1.1:1 > 2.2.2.2:2 state=untracked", true },
	{ "forward", "connection-nat-state=dstnat", "tcp 1.1.1.1:1 > 2.2.2.2:2 nat=d", true },
	{ "forward", "connection-nat-state=dstnat", "tcp 1.1.1.1:1 > 2.2.2.2:2 nat=s", false },
	{ "forward", "connection-nat-state=!dstnat", "tcp 1.1.1.1:1 > 2.2.2.2:2 nat=s", true },
	{ "forward", "connection-nat-state=srcnat,dstnat", "tcp 1.1.1.1:1 > 2.2.2.2:2 nat=s", true },
	{ "forward", "connection-mark=voip", "udp 1.1.1.1:1 > 2.2.2.2:2 ctmark=voip", true },
	{ "forward", "connection-mark=voip", "udp 1.1.1.1:1 > 2.2.2.2:2 ctmark=web", false },
	{ "forward", "connection-mark=no-mark", "udp 1.1.1.1:1 > 2.2.2.2:2", true },
	{ "forward", "connection-mark=no-mark", "udp 1.1.1.1:1 > 2.2.2.2:2 noct", true },
	{ "forward", "connection-mark=!no-mark", "udp 1.1.1.1:1 > 2.2.2.2:2 ctmark=a", true },
	{ "forward", "packet-mark=web", "udp 1.1.1.1:1 > 2.2.2.2:2 pmark=web", true },
	{ "forward", "packet-mark=!web", "udp 1.1.1.1:1 > 2.2.2.2:2 pmark=web", false },
	{ "forward", "routing-mark=isp2", "udp 1.1.1.1:1 > 2.2.2.2:2 rmark=isp2", true },
	{ "forward", "routing-mark=no-mark", "udp 1.1.1.1:1 > 2.2.2.2:2 rmark=isp2", false },
	{ "forward", "connection-type=ftp", "tcp 1.1.1.1:1 > 2.2.2.2:21", false },
	{ "forward", "connection-type=!ftp", "tcp 1.1.1.1:1 > 2.2.2.2:21", true },
	/* only connections a helper expected have a type (xt_helper) */
	{ "forward", "connection-type=ftp", "tcp 1.1.1.1:20 > 2.2.2.2:5000 state=related helper=ftp", true },
	{ "forward", "connection-type=!ftp", "tcp 1.1.1.1:20 > 2.2.2.2:5000 state=related helper=ftp", false },
	{ "forward", "connection-type=tftp", "tcp 1.1.1.1:20 > 2.2.2.2:5000 state=related helper=ftp", false },
	{ "forward", "connection-type=ftp", "tcp 1.1.1.1:1 > 2.2.2.2:21 helper=ftp-control", false },
	{ "forward", "connection-type=tftp", "udp 1.1.1.1:3333 > 2.2.2.2:5000 helper=tftp", true },
	{ "forward", "connection-type=!tftp", "udp 1.1.1.1:3333 > 2.2.2.2:5000 noct", true },
	{ "forward", "connection-bytes=1000-0", "tcp 1.1.1.1:1 > 2.2.2.2:2 ctbytes=5000", true },
	{ "forward", "connection-bytes=1000-2000", "tcp 1.1.1.1:1 > 2.2.2.2:2 ctbytes=5000", false },
	{ "forward", "connection-bytes=!1000-2000", "tcp 1.1.1.1:1 > 2.2.2.2:2 ctbytes=5000", true },
	{ "forward", "connection-bytes=!1000-2000", "tcp 1.1.1.1:1 > 2.2.2.2:2 noct", false },
	/* tcp and icmp headers */
	{ "forward", "protocol=tcp tcp-flags=syn,!ack", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S", true },
	{ "forward", "protocol=tcp tcp-flags=syn,!ack", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=SA", false },
	{ "forward", "protocol=tcp tcp-flags=fin,psh,urg", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=FPUA", true },
	{ "forward", "protocol=tcp tcp-flags=fin,psh,urg", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=FP", false },
	{ "forward", "tcp-flags=rst", "udp 1.1.1.1:1 > 2.2.2.2:2", false },
	{ "forward", "protocol=tcp tcp-mss=1400-1500", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S mss=1460", true },
	{ "forward", "protocol=tcp tcp-mss=1400-1500", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S mss=536", false },
	{ "forward", "protocol=tcp tcp-mss=!1400-1500", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=A", true },
	{ "forward", "protocol=icmp icmp-options=8:0", "icmp 1.1.1.1 > 2.2.2.2 type=8 code=0", true },
	{ "forward", "protocol=icmp icmp-options=8:0", "icmp 1.1.1.1 > 2.2.2.2 type=0 code=0", false },
	{ "forward", "protocol=icmp icmp-options=3", "icmp 1.1.1.1 > 2.2.2.2 type=3 code=13", true },
	{ "forward", "protocol=icmp icmp-options=3:0-3", "icmp 1.1.1.1 > 2.2.2.2 type=3 code=13", false },
	{ "forward", "protocol=icmp icmp-options=!8:0", "icmp 1.1.1.1 > 2.2.2.2 type=0 code=0", true },
	{ "forward", "icmp-options=!8:0", "tcp 1.1.1.1:1 > 2.2.2.2:2", false },
	/* IP header */
	{ "forward", "packet-size=0-100", "udp 1.1.1.1:1 > 2.2.2.2:2 len=100", true },
	{ "forward", "packet-size=0-100", "udp 1.1.1.1:1 > 2.2.2.2:2 len=101", false },
	{ "forward", "packet-size=!1500", "udp 1.1.1.1:1 > 2.2.2.2:2 len=1500", false },
	{ "forward", "ttl=equal:1", "udp 1.1.1.1:1 > 2.2.2.2:2 ttl=1", true },
	{ "forward", "ttl=less-than:10", "udp 1.1.1.1:1 > 2.2.2.2:2 ttl=10", false },
	{ "forward", "ttl=greater-than:10", "udp 1.1.1.1:1 > 2.2.2.2:2 ttl=11", true },
	{ "forward", "ttl=not-equal:64", "udp 1.1.1.1:1 > 2.2.2.2:2 ttl=64", false },
	{ "forward", "dscp=46", "udp 1.1.1.1:1 > 2.2.2.2:2 dscp=46", true },
	{ "forward", "dscp=!46", "udp 1.1.1.1:1 > 2.2.2.2:2 dscp=46", false },
	{ "forward", "priority=5", "udp 1.1.1.1:1 > 2.2.2.2:2 prio=5", true },
	{ "forward", "fragment=yes", "udp 1.1.1.1:1 > 2.2.2.2:2 frag", true },
	{ "forward", "fragment=no", "udp 1.1.1.1:1 > 2.2.2.2:2 frag", false },
	{ "forward", "fragment=no", "udp 1.1.1.1:1 > 2.2.2.2:2", true },
	{ "forward", "ipv4-options=any", "udp 1.1.1.1:1 > 2.2.2.2:2 opts=16", true },
	{ "forward", "ipv4-options=any", "udp 1.1.1.1:1 > 2.2.2.2:2", false },
	{ "forward", "ipv4-options=none", "udp 1.1.1.1:1 > 2.2.2.2:2", true },
	{ "forward", "ipv4-options=router-alert", "udp 1.1.1.1:1 > 2.2.2.2:2 opts=16", true },
	{ "forward", "ipv4-options=no-router-alert", "udp 1.1.1.1:1 > 2.2.2.2:2 opts=16", false },
	{ "forward", "ipv4-options=no-source-routing", "udp 1.1.1.1:1 > 2.2.2.2:2 opts=4", false },
	{ "forward", "ipv4-options=!timestamp", "udp 1.1.1.1:1 > 2.2.2.2:2 opts=2", false },
	{ "forward", "src-mac-address=4C:5E:0C:00:00:07", "udp 1.1.1.1:1 > 2.2.2.2:2 mac=4c:5e:0c:00:00:07", true },
	{ "forward", "src-mac-address=4C:5E:0C:00:00:07", "udp 1.1.1.1:1 > 2.2.2.2:2 mac=4c:5e:0c:00:00:08", false },
	{ "forward", "src-mac-address=!4C:5E:0C:00:00:07", "udp 1.1.1.1:1 > 2.2.2.2:2 mac=4c:5e:0c:00:00:08", true },
	/* payload */
	{ "forward", "content=GET", "tcp 1.1.1.1:1 > 2.2.2.2:80 payload=xxGETxx", true },
	{ "forward", "content=GET", "tcp 1.1.1.1:1 > 2.2.2.2:80 payload=xxPUTxx", false },
	{ "forward", "content=GET", "tcp 1.1.1.1:1 > 2.2.2.2:80", false },
	{ "forward", "content=!GET", "tcp 1.1.1.1:1 > 2.2.2.2:80 payload=xxPUTxx", true },
	/* time: the fixture's wall clock is monday 00:00:00 */
	{ "forward", "time=0s-1h,mon", "udp 1.1.1.1:1 > 2.2.2.2:2", true },
	{ "forward", "time=0s-1h,tue", "udp 1.1.1.1:1 > 2.2.2.2:2", false },
	{ "forward", "time=8h-17h,mon", "udp 1.1.1.1:1 > 2.2.2.2:2", false },
	{ "forward", "time=22h-1h,mon", "udp 1.1.1.1:1 > 2.2.2.2:2", true },
	/* connection-limit: the packet's own connection is the only one listed */
	{ "forward", "connection-limit=0,32", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S", true },
	{ "forward", "connection-limit=1,24", "tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S", false },
	{ "forward", "connection-limit=0,32", "udp 1.1.1.1:1 > 2.2.2.2:2 noct", true },
	/* IPv6 */
	{ "forward", "src-address=2001:db8::/32", "udp [2001:db8::1]:1 > [2001:db9::1]:2", true },
	{ "forward", "src-address=2001:db8::/32", "udp [2001:db9::1]:1 > [2001:db9::1]:2", false },
	{ "forward", "dst-address=!2001:db9::/64 protocol=udp dst-port=2", "udp [2001:db8::1]:1 > [2001:db9:0:1::1]:2", true },
	{ "forward", "protocol=icmpv6 icmp-options=128:0", "icmp [2001:db8::1] > [2001:db8::2] type=128", true },
	{ "forward", "hop-limit=less-than:2", "udp [2001:db8::1]:1 > [2001:db8::2]:2 ttl=1", true },
};

static void test_matchers(void **state)
{
	for (size_t i = 0; i < sizeof(mcases) / sizeof(mcases[0]); i++) {
		const struct mcase *mc = &mcases[i];
		struct env *en = env_new();
		bool mangle = !strcmp(mc->hook, "prerouting") || !strcmp(mc->hook, "postrouting");
		struct tpkt *t = pk(mc->pkt);
		char line[512];
		snprintf(line, sizeof(line), "/%s firewall %s add chain=%s action=%s %s",
			 t->p.family == 6 ? "ipv6" : "ip", mangle ? "mangle" : "filter", mc->hook,
			 mangle ? "mark-packet new-packet-mark=hit passthrough=no" : "drop", mc->rule);
		uint32_t id = add(en, line);
		enum rs_hook h = !strcmp(mc->hook, "input")	   ? RH_INPUT
				 : !strcmp(mc->hook, "output")	   ? RH_OUTPUT
				 : !strcmp(mc->hook, "prerouting")  ? RH_PREROUTING
				 : !strcmp(mc->hook, "postrouting") ? RH_POSTROUTING
								    : RH_FORWARD;
		struct rs_verdict v = run(en, mangle ? RT_MANGLE : RT_FILTER, h, t);
		bool hit = v.action == (mangle ? RA_ACCEPT : RA_DROP);
		if (hit != mc->match)
			fail_msg("case %zu: %s with %s: expected %s", i, mc->rule, mc->pkt,
				 mc->match ? "a match" : "no match");
		assert_int_equal(v.rule_id, hit ? id : 0);
		env_free(en);
	}
}

/*
 * connection-limit as xt_connlimit: each step is a packet through
 * "connection-limit=2,24 action=drop" (IPv6: 2,64); before it, the
 * connections whose source ports are in dead have ended. A connection is
 * listed by the first of its packets that reaches the rule, counted while
 * conntrack has it, and its later packets do not list it again.
 */
struct clstep {
	const char *pkt;
	const char *dead; /* comma list of source ports ended so far */
	bool match;
};

static const struct clstep clsteps[] = {
	{ "tcp 10.0.0.1:1001 > 2.2.2.2:80 flags=S", "", false },   /* 1 in 10.0.0.0/24 */
	{ "tcp 10.0.0.2:1002 > 2.2.2.2:80 flags=S", "", false },   /* 2 */
	{ "tcp 10.0.0.3:1003 > 2.2.2.2:80 flags=S", "", true },    /* 3 > 2 */
	{ "tcp 10.0.1.1:1004 > 2.2.2.2:80 flags=S", "", false },   /* another /24: 1 */
	{ "tcp 10.0.0.1:1001 > 2.2.2.2:80 flags=A", "", true },    /* listed already: still 3 */
	{ "tcp 10.0.0.1:1001 > 2.2.2.2:80 flags=A", "1003", false }, /* 1003 ended: 2 */
	{ "tcp 10.0.0.4:1005 > 2.2.2.2:80 flags=S", "1003", true },  /* 1001 1002 1005 */
	{ "tcp 10.0.0.9:1006 > 2.2.2.2:80 flags=S", "1003,1001,1005", false }, /* 1002 1006 */
	{ "udp 10.0.0.9:1007 > 2.2.2.2:53", "1003,1001,1005", true },  /* any protocol counts */
	{ "tcp [2001:db8::1]:2001 > [2001:db8:9::1]:80 flags=S", "", false },
	{ "tcp [2001:db8::2]:2002 > [2001:db8:9::1]:80 flags=S", "", false },
	{ "tcp [2001:db8:0:1::3]:2003 > [2001:db8:9::1]:80 flags=S", "", false }, /* other /64 */
	{ "tcp [2001:db8::ffff]:2004 > [2001:db8:9::1]:80 flags=S", "", true },
	{ "tcp [2001:db8::ffff]:2004 > [2001:db8:9::1]:80 flags=S", "2001", false },
};

static void test_connection_limit(void **state)
{
	struct env *en = env_new();
	uint32_t id4 = add(en, "/ip firewall filter add chain=forward action=drop connection-limit=2,24");
	uint32_t id6 = add(en, "/ipv6 firewall filter add chain=forward action=drop connection-limit=2,64");
	for (size_t i = 0; i < sizeof(clsteps) / sizeof(clsteps[0]); i++) {
		const struct clstep *cs = &clsteps[i];
		en->ndead = 0;
		for (const char *d = cs->dead; *d; d += strcspn(d, ","), d += *d == ',')
			en->dead[en->ndead++] = (uint16_t)atoi(d);
		struct tpkt *t = pk(cs->pkt);
		struct rs_verdict v = fwd(en, t);
		if ((v.action == RA_DROP) != cs->match)
			fail_msg("step %zu: %s: expected %s", i, cs->pkt, cs->match ? "a match" : "no match");
		if (cs->match)
			assert_int_equal(v.rule_id, t->p.family == 6 ? id6 : id4);
	}
	env_free(en);
}

/* Connections that keep ending: one group (mask 0) whose live members are
 * always the last four; the ended ones stop counting and are collected, so
 * what is listed stays bounded. */
static void test_connection_limit_collects(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall filter add chain=forward action=drop connection-limit=4,0");
	char desc[96];
	size_t most = 0;
	for (int i = 1; i <= 20000; i++) {
		en->live_from = (uint16_t)(i > 3 ? i - 3 : 1);
		snprintf(desc, sizeof(desc), "tcp 10.%d.%d.1:%d > 2.2.2.2:80 flags=S", i / 250 % 250,
			 i % 250, i);
		struct tpkt *t = pk(desc);
		if (fwd(en, t).action == RA_DROP)
			fail_msg("connection %d counted ended connections", i);
		size_t n = rs_state_conn_listed(en->sa);
		most = n > most ? n : most;
	}
	assert_true(most < 1024);
	/* 19998-20000 and the new one: 4, not beyond; then 19997-20000 and two new */
	en->live_from = 19998;
	assert_int_equal(fwd(en, pk("tcp 10.1.1.1:30000 > 2.2.2.2:80 flags=S")).action, RA_CONTINUE);
	en->live_from = 19997;
	assert_int_equal(fwd(en, pk("tcp 10.1.1.2:30001 > 2.2.2.2:80 flags=S")).action, RA_DROP);
	env_free(en);
}

static void test_iflists(void **state)
{
	struct env *en = env_new();
	cmd(en, "/interface list add name=LAN");
	cmd(en, "/interface list add name=WAN");
	cmd(en, "/interface list add name=DMZ");
	cmd(en, "/interface list add name=INNER include=LAN,WAN exclude=DMZ");
	cmd(en, "/interface list member add list=LAN interface=ether2");
	cmd(en, "/interface list member add list=LAN interface=wlan1");
	cmd(en, "/interface list member add list=WAN interface=ether1");
	cmd(en, "/interface list member add list=DMZ interface=wlan1");
	cmd(en, "/interface list member add list=WAN interface=ether5 disabled=yes");
	uint32_t lan = add(en, "/ip firewall filter add chain=forward action=drop in-interface-list=LAN");
	uint32_t inner = add(en, "/ip firewall filter add chain=forward action=reject in-interface-list=INNER");
	add(en, "/ip firewall filter add chain=forward action=tarpit in-interface-list=none");
	uint32_t all = add(en, "/ip firewall filter add chain=forward action=accept in-interface-list=all");
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=ether2")).rule_id, lan);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=wlan1")).rule_id, lan);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=ether1")).rule_id, inner);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=ether5")).rule_id, all);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=ether4")).rule_id, all);
	/* wlan1 is in LAN (included) and in DMZ (excluded): not in INNER */
	cmd(en, "/ip firewall filter disable [find where action=drop]");
	compile(en);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=wlan1")).rule_id, all);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2 in=ether2")).rule_id, inner);
	env_free(en);
}

static void test_layer7(void **state)
{
	struct env *en = env_new();
	cmd(en, "/ip firewall layer7-protocol add name=http regexp=\"^(get|post) /\"");
	cmd(en, "/ip firewall layer7-protocol add name=empty");
	uint32_t id = add(en, "/ip firewall filter add chain=forward action=drop layer7-protocol=http");
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:80 payload=GET/index")).action,
			 RA_CONTINUE);
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:80 payload=GET_/index")).action,
			 RA_CONTINUE);
	struct tpkt *t = pk("tcp 1.1.1.1:1 > 2.2.2.2:80 payload=xGET_/");
	memcpy(t->frame + 40, "GET /a", 6);
	t->p.payload_len = 6;
	t->p.len = 46;
	struct rs_verdict v = fwd(en, t);
	assert_int_equal(v.action, RA_DROP);
	assert_int_equal(v.rule_id, id);
	env_free(en);
}

/* ---- stateful matchers ---- */

static void test_limit(void **state)
{
	struct env *en = env_new();
	/* 10 packets per second, burst 5: the first 5 pass at once, then one per 100 ms */
	add(en, "/ip firewall filter add chain=forward action=accept limit=10,5:packet");
	add(en, "/ip firewall filter add chain=forward action=drop");
	int pass = 0;
	for (int i = 0; i < 8; i++)
		pass += fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action == RA_ACCEPT;
	assert_int_equal(pass, 5);
	en->now += 100000000ull; /* +100 ms: one token */
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	en->now += 50000000ull; /* half a token */
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	en->now += 50000000ull;
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
	en->now += 10 * 1000000000ull; /* a long pause refills only up to the burst */
	pass = 0;
	for (int i = 0; i < 10; i++)
		pass += fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action == RA_ACCEPT;
	assert_int_equal(pass, 5);
	/* over a simulated minute the rate holds: 600 + the burst */
	pass = 0;
	for (int i = 0; i < 6000; i++) {
		en->now += 10000000ull;
		pass += fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action == RA_ACCEPT;
	}
	assert_true(pass >= 599 && pass <= 601);
	env_free(en);
}

static void test_limit_per_time_and_bits(void **state)
{
	struct env *en = env_new();
	/* 2 per minute, burst 1 */
	add(en, "/ip firewall filter add chain=forward action=accept limit=2/1m,1:packet protocol=udp");
	/* 80 kbit/s in bits: 10,000 bytes a second */
	add(en, "/ip firewall filter add chain=forward action=accept limit=80k,16000:bit protocol=tcp");
	add(en, "/ip firewall filter add chain=forward action=drop");
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	en->now += 29 * 1000000000ull;
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	en->now += 1000000000ull;
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
	/* 16000 bits = 2000 bytes: one 1500-byte packet, not two */
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2 len=1500")).action, RA_ACCEPT);
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2 len=1500")).action, RA_DROP);
	en->now += 150000000ull; /* 150 ms = 12000 bits */
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2 len=1500")).action, RA_ACCEPT);
	env_free(en);
}

static void test_dst_limit(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall filter add chain=forward action=accept dst-limit=1,2,dst-address-only/1m");
	add(en, "/ip firewall filter add chain=forward action=drop");
	/* a bucket per destination */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
		assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 3.3.3.3:2")).action, RA_ACCEPT);
	}
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	assert_int_equal(fwd(en, pk("udp 9.9.9.9:1 > 3.3.3.3:2")).action, RA_DROP);
	en->now += 1000000000ull;
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_ACCEPT);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_DROP);
	env_free(en);
}

static void test_nth_random(void **state)
{
	struct env *en = env_new();
	uint32_t nth = add(en, "/ip firewall filter add chain=forward action=accept nth=3,1 protocol=udp");
	add(en, "/ip firewall filter add chain=forward action=reject random=25 protocol=tcp");
	char got[16] = { 0 };
	for (int i = 0; i < 9; i++)
		got[i] = fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).rule_id == nth ? 'x' : '.';
	assert_string_equal(got, "x..x..x..");
	int hits = 0;
	for (int i = 0; i < 4000; i++)
		hits += fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2")).action == RA_REJECT;
	assert_true(hits > 850 && hits < 1150);
	env_free(en);
}

static void test_psd(void **state)
{
	struct env *en = env_new();
	/* weight 21 within 3 s: 7 low ports (3 each) are a scan */
	add(en, "/ip firewall filter add chain=input action=drop psd=21,3s,3,1 protocol=tcp");
	char buf[80];
	for (int i = 0; i < 6; i++) {
		snprintf(buf, sizeof(buf), "tcp 6.6.6.6:1 > 192.168.88.1:%d flags=S", 20 + i);
		assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk(buf)).action, RA_CONTINUE);
	}
	/* the same port again adds nothing */
	assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:1 > 192.168.88.1:25 flags=S")).action,
			 RA_CONTINUE);
	assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:1 > 192.168.88.1:26 flags=S")).action,
			 RA_DROP);
	/* another source is not a scan; a pause restarts the count */
	assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk("tcp 7.7.7.7:1 > 192.168.88.1:26 flags=S")).action,
			 RA_CONTINUE);
	en->now += 4000000000ull;
	assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:1 > 192.168.88.1:30 flags=S")).action,
			 RA_CONTINUE);
	env_free(en);
}

static void test_pcc(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall mangle add chain=prerouting action=mark-connection new-connection-mark=c0 per-connection-classifier=both-addresses-and-ports:3/0");
	add(en, "/ip firewall mangle add chain=prerouting action=mark-connection new-connection-mark=c1 per-connection-classifier=both-addresses-and-ports:3/1");
	add(en, "/ip firewall mangle add chain=prerouting action=mark-connection new-connection-mark=c2 per-connection-classifier=both-addresses-and-ports:3/2");
	int seen[3] = { 0 };
	char a[96], b[96];
	for (int i = 0; i < 60; i++) {
		snprintf(a, sizeof(a), "tcp 10.0.0.%d:%d > 8.8.%d.8:443", i % 7, 1000 + i, i % 5);
		snprintf(b, sizeof(b), "tcp 8.8.%d.8:443 > 10.0.0.%d:%d", i % 5, i % 7, 1000 + i);
		struct tpkt *ta = pk(a), *tb = pk(b);
		run(en, RT_MANGLE, RH_PREROUTING, ta);
		run(en, RT_MANGLE, RH_PREROUTING, tb);
		/* both directions of a connection land in the same class */
		assert_int_not_equal(ta->ct.mark, 0);
		assert_int_equal(ta->ct.mark, tb->ct.mark);
		for (int k = 0; k < 3; k++)
			seen[k] += ta->ct.mark == name_find(NS_MARK, k == 0 ? "c0" : k == 1 ? "c1" : "c2");
	}
	for (int k = 0; k < 3; k++)
		assert_true(seen[k] > 5);
	env_free(en);
}

static void test_conn_rate(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall mangle add chain=forward action=mark-connection new-connection-mark=fast connection-rate=100k-100M");
	struct tpkt *t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2");
	t->ct.bytes[0] = 1000; /* 8 kbit in the first second */
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(t->ct.mark, 0);
	en->now += 2000000000ull;
	t->ct.bytes[0] = 1000000; /* 8 Mbit in 2 s */
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(t->ct.mark, name_find(NS_MARK, "fast"));
	env_free(en);
}

/* ---- actions ---- */

static void test_terminal_actions(void **state)
{
	struct env *en = env_new();
	uint32_t a = add(en, "/ip firewall filter add chain=forward protocol=tcp dst-port=1");
	uint32_t d = add(en, "/ip firewall filter add chain=forward action=drop protocol=tcp dst-port=2");
	uint32_t r = add(en, "/ip firewall filter add chain=forward action=reject protocol=tcp dst-port=3");
	uint32_t rt = add(en, "/ip firewall filter add chain=forward action=reject reject-with=tcp-reset protocol=tcp dst-port=4");
	uint32_t tp = add(en, "/ip firewall filter add chain=forward action=tarpit protocol=tcp dst-port=5");
	struct rs_verdict v;
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:1"));
	assert_int_equal(v.action, RA_ACCEPT);
	assert_int_equal(v.rule_id, a);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:2"));
	assert_int_equal(v.action, RA_DROP);
	assert_int_equal(v.rule_id, d);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:3"));
	assert_int_equal(v.action, RA_REJECT);
	assert_int_equal(v.rule_id, r);
	assert_int_equal(v.reject_with, REJ_NET_UNREACH);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:4"));
	assert_int_equal(v.reject_with, REJ_TCP_RESET);
	assert_int_equal(v.rule_id, rt);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:5"));
	assert_int_equal(v.action, RA_TARPIT);
	assert_int_equal(v.rule_id, tp);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:6"));
	assert_int_equal(v.action, RA_CONTINUE);
	assert_int_equal(v.rule_id, 0);
	/* another hook of the same table has no rules */
	v = run(en, RT_FILTER, RH_INPUT, pk("tcp 1.1.1.1:9 > 2.2.2.2:2"));
	assert_int_equal(v.action, RA_CONTINUE);
	assert_true(rs_hook_used(en->rs, 4, RT_FILTER, RH_FORWARD));
	assert_false(rs_hook_used(en->rs, 4, RT_FILTER, RH_INPUT));
	assert_false(rs_hook_used(en->rs, 6, RT_FILTER, RH_FORWARD));
	assert_int_equal(ruleset_size(en->rs), 5);
	env_free(en);
}

static void test_jumps(void **state)
{
	struct env *en = env_new();
	uint32_t j1 = add(en, "/ip firewall filter add chain=forward action=jump jump-target=c1 protocol=tcp");
	uint32_t after = add(en, "/ip firewall filter add chain=forward action=drop protocol=tcp dst-port=1-99");
	add(en, "/ip firewall filter add chain=c1 action=jump jump-target=c2 dst-port=10-19 protocol=tcp");
	add(en, "/ip firewall filter add chain=c1 action=return dst-port=20-29 protocol=tcp");
	uint32_t c1acc = add(en, "/ip firewall filter add chain=c1 action=accept dst-port=30-39 protocol=tcp");
	uint32_t c2rej = add(en, "/ip firewall filter add chain=c2 action=reject dst-port=15 protocol=tcp");
	add(en, "/ip firewall filter add chain=c2 action=jump jump-target=empty");
	uint32_t c1last = add(en, "/ip firewall filter add chain=c1 action=tarpit dst-port=10-12 protocol=tcp");
	struct rs_verdict v;
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:15"));
	assert_int_equal(v.rule_id, c2rej);
	/* c2 ends (after a jump to a chain with no rules): back in c1 after its jump */
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:11"));
	assert_int_equal(v.rule_id, c1last);
	/* return in c1: back in forward after the jump */
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:25"));
	assert_int_equal(v.rule_id, after);
	/* accept in a custom chain ends the whole hook */
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:35"));
	assert_int_equal(v.action, RA_ACCEPT);
	assert_int_equal(v.rule_id, c1acc);
	v = fwd(en, pk("tcp 1.1.1.1:9 > 2.2.2.2:200"));
	assert_int_equal(v.action, RA_CONTINUE);
	/* the jump rule counts every packet that took it */
	uint64_t b, n;
	assert_true(rs_state_counters(en->sa, j1, &b, &n));
	assert_int_equal(n, 5);
	assert_int_equal(b, 300);
	env_free(en);
}

static void test_return_in_builtin(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall filter add chain=input action=return protocol=udp");
	add(en, "/ip firewall filter add chain=input action=drop");
	struct rs_verdict v = run(en, RT_FILTER, RH_INPUT, pk("udp 1.1.1.1:1 > 2.2.2.2:2"));
	assert_int_equal(v.action, RA_CONTINUE);
	assert_int_equal(v.rule_id, 0);
	env_free(en);
}

static void test_jump_loop(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall filter add chain=forward action=jump jump-target=a");
	add(en, "/ip firewall filter add chain=a action=jump jump-target=b");
	add(en, "/ip firewall filter add chain=b action=accept protocol=udp");
	add(en, "/ip firewall filter add chain=b action=jump jump-target=a");
	struct ruleset *rs = NULL;
	struct err e;
	err_clear(&e);
	assert_int_equal(ruleset_compile(en->st, &rs, &e), -1);
	assert_null(rs);
	assert_non_null(strstr(e.msg, "loop"));
	assert_non_null(strstr(e.msg, "\"a\""));
	assert_non_null(strstr(e.msg, "/ip/firewall/filter"));
	/* a disabled jump does not make a loop */
	cmd(en, "/ip firewall filter disable [find where chain=b action=jump]");
	err_clear(&e);
	assert_int_equal(ruleset_compile(en->st, &rs, &e), 0);
	ruleset_free(rs);
	/* a jump to its own chain */
	cmd(en, "/ip firewall mangle add chain=x action=jump jump-target=x");
	err_clear(&e);
	assert_int_equal(ruleset_compile(en->st, &rs, &e), -1);
	assert_non_null(strstr(e.msg, "\"x\""));
	env_free(en);
}

/* Rules that size or count packets one by one keep the dataplane from
 * merging TCP segments (GRO): enabled ones, in any table. */
static void test_per_packet(void **state)
{
	(void)state;
	static const struct {
		const char *rule;
		bool per_packet;
	} t[] = {
		{ "/ip firewall filter add chain=forward action=accept protocol=tcp", false },
		{ "/ip firewall filter add chain=forward connection-state=established", false },
		{ "/ip firewall mangle add chain=forward action=mark-packet new-packet-mark=s "
		  "packet-size=0-123", true },
		{ "/ip firewall filter add chain=input limit=10,5:packet", true },
		{ "/ip firewall filter add chain=input dst-limit=10,5,dst-address-only/1m", true },
		{ "/ip firewall nat add chain=srcnat action=masquerade nth=2,1", true },
		{ "/ip firewall mangle add chain=prerouting random=50", true },
		{ "/ipv6 firewall filter add chain=forward packet-size=1280-1500", true },
		{ "/ip firewall filter add chain=forward packet-size=0-100 disabled=yes", false },
		{ "/ip firewall filter add chain=forward connection-bytes=0-500000", false },
		/* not TCP: merged segments never meet it */
		{ "/ip firewall filter add chain=input protocol=icmp limit=5,10:packet", false },
		{ "/ip firewall mangle add chain=forward protocol=udp packet-size=0-200", false },
		{ "/ip firewall mangle add chain=forward protocol=tcp packet-size=0-200", true },
		{ "/ip firewall mangle add chain=forward protocol=!udp nth=3,1", true },
		{ "/ip firewall mangle add chain=forward protocol=!tcp nth=3,1", false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct env *en = env_new();
		add(en, t[i].rule);
		compile(en);
		if (ruleset_per_packet(en->rs) != t[i].per_packet)
			fail_msg("%s: per_packet %d", t[i].rule, !t[i].per_packet);
		env_free(en);
	}
	assert_false(ruleset_per_packet(NULL));
}

static void test_deep_nesting(void **state)
{
	struct env *en = env_new();
	char line[160];
	add(en, "/ip firewall filter add chain=forward action=jump jump-target=n0");
	for (int i = 0; i < 40; i++) {
		snprintf(line, sizeof(line), "/ip firewall filter add chain=n%d action=jump jump-target=n%d", i,
			 i + 1);
		add(en, line);
	}
	uint32_t last = add(en, "/ip firewall filter add chain=n40 action=drop protocol=udp");
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).rule_id, last);
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_CONTINUE);
	for (int i = 40; i < 70; i++) {
		snprintf(line, sizeof(line), "/ip firewall filter add chain=n%d action=jump jump-target=n%d", i,
			 i + 1);
		add(en, line);
	}
	struct ruleset *rs = NULL;
	struct err e;
	err_clear(&e);
	assert_int_equal(ruleset_compile(en->st, &rs, &e), -1);
	assert_non_null(strstr(e.msg, "deeper"));
	env_free(en);
}

static void test_passthrough_and_marks(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall mangle add chain=prerouting action=mark-connection new-connection-mark=conn1 connection-state=new");
	add(en, "/ip firewall mangle add chain=prerouting action=mark-packet new-packet-mark=p1 connection-mark=conn1");
	uint32_t stop = add(en, "/ip firewall mangle add chain=prerouting action=mark-routing new-routing-mark=isp2 passthrough=no protocol=udp");
	add(en, "/ip firewall mangle add chain=prerouting action=mark-packet new-packet-mark=p2");
	uint32_t pt = add(en, "/ip firewall mangle add chain=prerouting action=passthrough");
	struct tpkt *t = pk("udp 1.1.1.1:1 > 2.2.2.2:2");
	struct rs_verdict v = run(en, RT_MANGLE, RH_PREROUTING, t);
	assert_int_equal(v.action, RA_ACCEPT);
	assert_int_equal(v.rule_id, stop);
	assert_int_equal(t->ct.mark, name_find(NS_MARK, "conn1"));
	assert_int_equal(t->p.packet_mark, name_find(NS_MARK, "p1"));
	assert_int_equal(t->p.routing_mark, name_find(NS_MARK, "isp2"));
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2");
	v = run(en, RT_MANGLE, RH_PREROUTING, t);
	assert_int_equal(v.action, RA_CONTINUE);
	assert_string_equal(name_of(NS_MARK, t->p.packet_mark), "p2");
	assert_int_equal(t->p.routing_mark, 0);
	uint64_t n;
	assert_true(rs_state_counters(en->sa, pt, NULL, &n));
	assert_int_equal(n, 1);
	/* mark-connection without a connection changes nothing */
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2 noct");
	run(en, RT_MANGLE, RH_PREROUTING, t);
	assert_int_equal(t->p.packet_mark, name_find(NS_MARK, "p2"));
	/* no-mark clears */
	add(en, "/ip firewall mangle add chain=forward action=mark-packet new-packet-mark=no-mark");
	compile(en);
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2 pmark=zz");
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(t->p.packet_mark, 0);
	env_free(en);
}

/* REFERENCE.md §8.1: the seed's catch-all overwrites its VoIP and web marks. */
static void test_seed_mark_overwrite(void **state)
{
	struct env *en = env_new();
	cmd(en, "/ip firewall mangle\n"
		"add chain=forward protocol=udp dst-port=5060,5061 action=mark-packet new-packet-mark=high-priority comment=\"Mark VoIP SIP for High Priority\"\n"
		"add chain=forward protocol=udp dst-port=10000-20000 action=mark-packet new-packet-mark=high-priority\n"
		"add chain=forward protocol=tcp dst-port=80,443 action=mark-packet new-packet-mark=normal-priority\n"
		"add chain=forward action=mark-packet new-packet-mark=low-priority\n");
	struct tpkt *t = pk("udp 192.168.88.10:5060 > 1.2.3.4:5060");
	struct rs_verdict v = run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(v.action, RA_CONTINUE);
	assert_string_equal(name_of(NS_MARK, t->p.packet_mark), "low-priority");
	t = pk("tcp 192.168.88.10:5000 > 1.2.3.4:443");
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_string_equal(name_of(NS_MARK, t->p.packet_mark), "low-priority");
	env_free(en);

	/* the built-in default configuration makes each mark final */
	en = calloc(1, sizeof(*en));
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&en->st, ":memory:", &e), 0);
	conf_session_init(&en->s, en->st, "tester");
	if (conf_store_init(&en->s, true, &e) < 0)
		fail_msg("defaults: %s", e.msg);
	en->sa = rs_state_new();
	en->sb = rs_state_new();
	en->now = 1;
	t = pk("udp 192.168.88.10:5060 > 1.2.3.4:5060 in=ether2-master-local out=ether1-gateway");
	v = run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(v.action, RA_ACCEPT);
	assert_string_equal(name_of(NS_MARK, t->p.packet_mark), "high-priority");
	t = pk("tcp 192.168.88.10:5000 > 1.2.3.4:443 in=ether2-master-local out=ether1-gateway");
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_string_equal(name_of(NS_MARK, t->p.packet_mark), "normal-priority");
	/* and its filter: a new connection from the WAN that is not port-forwarded is dropped */
	v = run(en, RT_FILTER, RH_FORWARD, pk("tcp 6.6.6.6:5 > 192.168.88.10:22 in=ether1-gateway out=ether2-master-local"));
	assert_int_equal(v.action, RA_DROP);
	v = run(en, RT_FILTER, RH_FORWARD, pk("tcp 6.6.6.6:5 > 192.168.88.10:22 in=ether1-gateway out=ether2-master-local nat=d"));
	assert_int_equal(v.action, RA_CONTINUE);
	v = run(en, RT_NAT, RH_SRCNAT, pk("tcp 192.168.88.10:5 > 1.2.3.4:22 in=ether2-master-local out=ether1-gateway"));
	assert_int_equal(v.action, RA_NAT);
	assert_int_equal(v.nat.kind, NAT_MASQUERADE);
	env_free(en);
}

static void test_changes(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall mangle add chain=forward action=change-ttl new-ttl=decrement:5 protocol=udp");
	add(en, "/ip firewall mangle add chain=forward action=change-ttl new-ttl=increment:250 protocol=tcp");
	add(en, "/ip firewall mangle add chain=forward action=change-dscp new-dscp=46 protocol=udp");
	add(en, "/ip firewall mangle add chain=forward action=set-priority new-priority=from-dscp-high-3-bits protocol=udp");
	add(en, "/ip firewall mangle add chain=forward action=change-mss new-mss=clamp-to-pmtu protocol=tcp tcp-flags=syn");
	add(en, "/ip firewall mangle add chain=forward action=clear-df protocol=tcp");
	add(en, "/ip firewall mangle add chain=forward action=strip-ipv4-options protocol=tcp");
	add(en, "/ip firewall mangle add chain=postrouting action=change-mss new-mss=1300 protocol=tcp");
	struct tpkt *t = pk("udp 1.1.1.1:1 > 2.2.2.2:2 ttl=3");
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(t->p.ttl, 0);
	assert_int_equal(t->p.dscp, 46);
	assert_int_equal(t->p.priority, 5);
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2 ttl=64 flags=S mss=8960");
	t->p.flags |= PKT_F_DF;
	run(en, RT_MANGLE, RH_FORWARD, t);
	assert_int_equal(t->p.ttl, 255);
	assert_int_equal(t->p.mss, 1460);
	assert_int_equal(t->p.flags & PKT_F_DF, 0);
	run(en, RT_MANGLE, RH_POSTROUTING, t);
	assert_int_equal(t->p.mss, 1300);
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2 flags=S mss=1200");
	run(en, RT_MANGLE, RH_POSTROUTING, t);
	assert_int_equal(t->p.mss, 1200);
	env_free(en);
}

static void test_fasttrack_notrack(void **state)
{
	struct env *en = env_new();
	uint32_t ft = add(en, "/ip firewall filter add chain=forward action=fasttrack-connection connection-state=established,related");
	uint32_t acc = add(en, "/ip firewall filter add chain=forward action=accept connection-state=established,related");
	uint32_t nt = add(en, "/ip firewall raw add chain=prerouting action=notrack protocol=udp dst-port=53");
	struct tpkt *t = pk("tcp 1.1.1.1:1 > 2.2.2.2:2 state=established");
	struct rs_verdict v = fwd(en, t);
	assert_int_equal(v.rule_id, acc);
	assert_true(t->ct.status & CTS_FASTTRACK);
	/* a helper's control connection stays on the slow path; its data connection may go */
	t = pk("tcp 1.1.1.1:1 > 2.2.2.2:21 state=established helper=ftp-control");
	assert_int_equal(fwd(en, t).rule_id, acc);
	assert_false(t->ct.status & CTS_FASTTRACK);
	t = pk("tcp 1.1.1.1:20 > 2.2.2.2:5000 state=established helper=ftp");
	assert_int_equal(fwd(en, t).rule_id, acc);
	assert_true(t->ct.status & CTS_FASTTRACK);
	uint64_t n;
	assert_true(rs_state_counters(en->sa, ft, NULL, &n));
	assert_int_equal(n, 3); /* counted even where it does not mark */
	/* IPv4 TCP/UDP only */
	t = pk("icmp 1.1.1.1 > 2.2.2.2 type=0 state=established");
	fwd(en, t);
	assert_false(t->ct.status & CTS_FASTTRACK);
	v = run(en, RT_RAW, RH_PREROUTING, pk("udp 1.1.1.1:1 > 2.2.2.2:53 state=none noct"));
	assert_int_equal(v.action, RA_NOTRACK);
	assert_int_equal(v.rule_id, nt);
	env_free(en);
}

static void test_nat(void **state)
{
	struct env *en = env_new();
	uint32_t dn = add(en, "/ip firewall nat add chain=dstnat action=dst-nat to-addresses=192.168.88.10 to-ports=8080 protocol=tcp dst-port=80 in-interface=ether1");
	uint32_t rd = add(en, "/ip firewall nat add chain=dstnat action=redirect to-ports=53 protocol=udp dst-port=53");
	uint32_t sn = add(en, "/ip firewall nat add chain=srcnat action=src-nat to-addresses=203.0.113.5-203.0.113.9 to-ports=1024-2047 src-address=10.0.0.0/8");
	uint32_t nm = add(en, "/ip firewall nat add chain=srcnat action=netmap to-addresses=198.51.100.0-198.51.100.255 src-address=172.16.0.0/24");
	uint32_t ms = add(en, "/ip firewall nat add chain=srcnat action=masquerade out-interface=ether1");
	add(en, "/ip firewall nat add chain=srcnat action=accept");
	struct rs_verdict v = run(en, RT_NAT, RH_DSTNAT, pk("tcp 6.6.6.6:5 > 203.0.113.2:80 in=ether1"));
	assert_int_equal(v.action, RA_NAT);
	assert_int_equal(v.rule_id, dn);
	assert_int_equal(v.nat.kind, NAT_DST);
	assert_int_equal(v.nat.addr_lo, 0xc0a8580a);
	assert_int_equal(v.nat.addr_hi, 0xc0a8580a);
	assert_int_equal(v.nat.port_lo, 8080);
	assert_int_equal(v.nat.port_hi, 8080);
	v = run(en, RT_NAT, RH_DSTNAT, pk("udp 10.0.0.5:5 > 8.8.8.8:53 in=ether2"));
	assert_int_equal(v.rule_id, rd);
	assert_int_equal(v.nat.kind, NAT_REDIRECT);
	assert_int_equal(v.nat.addr_lo, 0);
	v = run(en, RT_NAT, RH_SRCNAT, pk("udp 10.0.0.5:5 > 8.8.8.8:53 out=ether1"));
	assert_int_equal(v.rule_id, sn);
	assert_int_equal(v.nat.kind, NAT_SRC);
	assert_int_equal(v.nat.addr_lo, 0xcb007105);
	assert_int_equal(v.nat.addr_hi, 0xcb007109);
	assert_int_equal(v.nat.port_lo, 1024);
	assert_int_equal(v.nat.port_hi, 2047);
	v = run(en, RT_NAT, RH_SRCNAT, pk("udp 172.16.0.9:5 > 8.8.8.8:53 out=ether1"));
	assert_int_equal(v.rule_id, nm);
	assert_int_equal(v.nat.kind, NAT_NETMAP);
	v = run(en, RT_NAT, RH_SRCNAT, pk("udp 192.168.88.9:5 > 8.8.8.8:53 out=ether1"));
	assert_int_equal(v.rule_id, ms);
	assert_int_equal(v.nat.kind, NAT_MASQUERADE);
	v = run(en, RT_NAT, RH_SRCNAT, pk("udp 192.168.88.9:5 > 8.8.8.8:53 out=ether2"));
	assert_int_equal(v.action, RA_ACCEPT);
	env_free(en);
}

static void test_log(void **state)
{
	struct env *en = env_new();
	add(en, "/ip firewall filter add chain=forward action=log log-prefix=SEEN protocol=tcp");
	add(en, "/ip firewall filter add chain=forward action=drop log=yes log-prefix=DROP protocol=tcp dst-port=22");
	add(en, "/ip firewall filter add chain=forward action=accept log=yes");
	struct tpkt *t = pk("tcp 10.0.0.2:51515 > 1.2.3.4:22 flags=S in=ether1 out=ether2 mac=4c:5e:0c:00:00:09");
	struct rs_verdict v = fwd(en, t);
	assert_int_equal(v.action, RA_DROP);
	assert_int_equal(en->la.n, 2);
	assert_string_equal(en->la.line[0],
			    "SEEN forward: in:ether1 out:ether2, src-mac 4c:5e:0c:00:00:09, proto TCP (SYN), 10.0.0.2:51515->1.2.3.4:22, len 60");
	assert_true(!strncmp(en->la.line[1], "DROP forward: in:ether1 out:ether2,", 35));
	v = run(en, RT_FILTER, RH_FORWARD, pk("udp 10.0.0.2:5 > 1.2.3.4:6 in=ether1"));
	assert_int_equal(en->la.n, 1);
	assert_true(!strncmp(en->la.line[0], "forward: in:ether1 out:(unknown 0),", 35));
	env_free(en);
}

/* ---- address lists ---- */

static void test_address_lists(void **state)
{
	struct env *en = env_new();
	cmd(en, "/ip firewall address-list add list=bad address=10.0.0.0/8");
	cmd(en, "/ip firewall address-list add list=bad address=192.168.1.10-192.168.1.20");
	cmd(en, "/ip firewall address-list add list=bad address=172.16.5.5");
	cmd(en, "/ip firewall address-list add list=bad address=8.8.8.8 disabled=yes");
	cmd(en, "/ip firewall address-list add list=other address=1.1.1.1");
	cmd(en, "/ipv6 firewall address-list add list=bad address=2001:db8::/32");
	uint32_t d = add(en, "/ip firewall filter add chain=forward action=drop src-address-list=bad");
	uint32_t r = add(en, "/ip firewall filter add chain=forward action=reject dst-address-list=!bad protocol=tcp");
	add(en, "/ipv6 firewall filter add chain=forward action=drop src-address-list=bad");
	assert_int_equal(fwd(en, pk("udp 10.1.1.1:1 > 2.2.2.2:2")).rule_id, d);
	assert_int_equal(fwd(en, pk("udp 192.168.1.15:1 > 2.2.2.2:2")).rule_id, d);
	assert_int_equal(fwd(en, pk("udp 192.168.1.21:1 > 2.2.2.2:2")).action, RA_CONTINUE);
	assert_int_equal(fwd(en, pk("udp 172.16.5.5:1 > 2.2.2.2:2")).rule_id, d);
	assert_int_equal(fwd(en, pk("udp 8.8.8.8:1 > 2.2.2.2:2")).action, RA_CONTINUE);
	assert_int_equal(fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:2")).action, RA_CONTINUE);
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:2")).rule_id, r);
	assert_int_equal(fwd(en, pk("tcp 1.1.1.1:1 > 10.2.2.2:2")).action, RA_CONTINUE);
	assert_int_equal(fwd(en, pk("udp [2001:db8::5]:1 > [2001:db9::1]:2")).action, RA_DROP);
	assert_int_equal(fwd(en, pk("udp [2001:db9::5]:1 > [2001:db9::1]:2")).action, RA_CONTINUE);
	env_free(en);
}

static void test_dynamic_address_lists(void **state)
{
	struct env *en = env_new();
	/* port knocking: a knock on 1234 lists the source for 10 s */
	add(en, "/ip firewall filter add chain=input action=add-src-to-address-list address-list=knock address-list-timeout=10s protocol=tcp dst-port=1234");
	add(en, "/ip firewall filter add chain=input action=add-dst-to-address-list address-list=seen protocol=udp");
	uint32_t ok = add(en, "/ip firewall filter add chain=input action=accept src-address-list=knock protocol=tcp dst-port=22");
	uint32_t drop = add(en, "/ip firewall filter add chain=input action=drop");
	struct rs_verdict v = run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:22"));
	assert_int_equal(v.rule_id, drop);
	v = run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:1234"));
	assert_int_equal(v.rule_id, drop);
	union ipaddr a = { .v4 = 0x06060606 };
	uint32_t knock = name_find(NS_ADDRLIST, "knock");
	assert_true(rs_state_addrlist_has(en->sa, knock, &a, 4, en->now));
	assert_true(rs_state_addrlist_has(en->sb, knock, &a, 4, en->now));
	en->now += 9 * 1000000000ull;
	v = run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:22"));
	assert_int_equal(v.rule_id, ok);
	v = run(en, RT_FILTER, RH_INPUT, pk("tcp 7.7.7.7:5 > 192.168.88.1:22"));
	assert_int_equal(v.rule_id, drop);
	en->now += 1000000000ull; /* the entry expires at exactly 10 s */
	v = run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:22"));
	assert_int_equal(v.rule_id, drop);
	/* a new knock renews it */
	run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:1234"));
	en->now += 5 * 1000000000ull;
	assert_int_equal(run(en, RT_FILTER, RH_INPUT, pk("tcp 6.6.6.6:5 > 192.168.88.1:22")).rule_id, ok);
	/* none-dynamic never expires */
	run(en, RT_FILTER, RH_INPUT, pk("udp 6.6.6.6:5 > 192.168.88.1:53"));
	union ipaddr b = { .v4 = 0xc0a85801 };
	assert_true(rs_state_addrlist_has(en->sa, name_find(NS_ADDRLIST, "seen"), &b, 4,
					  en->now + 1000000000000000ull));
	/* many entries, then expiry of all of them */
	for (uint32_t i = 0; i < 5000; i++) {
		union ipaddr x = { .v4 = 0x0a000000 + i };
		assert_int_equal(rs_state_addrlist_add(en->sa, 77, &x, 4, en->now + 1000, en->now), 0);
	}
	union ipaddr x = { .v4 = 0x0a000000 + 4999 };
	assert_true(rs_state_addrlist_has(en->sa, 77, &x, 4, en->now));
	assert_false(rs_state_addrlist_has(en->sa, 77, &x, 4, en->now + 1000));
	assert_false(rs_state_addrlist_has(en->sa, 78, &x, 4, en->now));
	env_free(en);
}

/* ---- counters ---- */

static void test_counters(void **state)
{
	struct env *en = env_new();
	uint32_t a = add(en, "/ip firewall filter add chain=forward action=passthrough protocol=udp");
	uint32_t dis = add(en, "/ip firewall filter add chain=forward action=drop disabled=yes");
	uint32_t b = add(en, "/ip firewall filter add chain=forward action=accept protocol=udp dst-port=53");
	for (int i = 0; i < 3; i++)
		fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:53 len=100"));
	fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:54 len=1000"));
	fwd(en, pk("tcp 1.1.1.1:1 > 2.2.2.2:54 len=1000"));
	uint64_t by, n;
	assert_true(rs_state_counters(en->sa, a, &by, &n));
	assert_int_equal(n, 4);
	assert_int_equal(by, 1300);
	assert_true(rs_state_counters(en->sa, b, &by, &n));
	assert_int_equal(n, 3);
	assert_int_equal(by, 300);
	assert_false(rs_state_counters(en->sa, dis, &by, &n));
	assert_int_equal(n, 0);
	for (uint32_t id = 1; id <= b; id++) {
		uint64_t b1, n1, b2, n2;
		rs_state_counters(en->sa, id, &b1, &n1);
		rs_state_counters(en->sb, id, &b2, &n2);
		assert_int_equal(b1, b2);
		assert_int_equal(n1, n2);
	}
	assert_int_equal(ruleset_size(en->rs), 3);
	rs_state_reset_counters(en->sa, a);
	rs_state_counters(en->sa, a, &by, &n);
	assert_int_equal(n, 0);
	rs_state_counters(en->sa, b, &by, &n);
	assert_int_equal(n, 3);
	rs_state_reset_counters(en->sa, 0);
	rs_state_counters(en->sa, b, &by, &n);
	assert_int_equal(n, 0);
	/* counters survive a recompile: they belong to the state, by store id */
	fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:53"));
	compile(en);
	fwd(en, pk("udp 1.1.1.1:1 > 2.2.2.2:53"));
	rs_state_counters(en->sa, b, &by, &n);
	assert_int_equal(n, 2);
	env_free(en);
}

/* ---- the classifier on a long chain ---- */

static void test_long_chain(void **state)
{
	struct env *en = env_new();
	char line[256];
	struct err e;
	err_clear(&e);
	assert_int_equal(conf_exec(&en->s, "/ip firewall filter", NULL, &e), 0);
	for (int i = 0; i < 600; i++) {
		switch (i % 6) {
		case 0:
			snprintf(line, sizeof(line), "add chain=forward action=drop protocol=tcp dst-port=%d", 1000 + i);
			break;
		case 1:
			snprintf(line, sizeof(line), "add chain=forward action=reject src-address=10.%d.0.0/16", i % 50);
			break;
		case 2:
			snprintf(line, sizeof(line), "add chain=forward action=accept dst-address=172.16.%d.%d protocol=udp dst-port=%d-%d",
				 i % 7, i % 250, 2000 + i, 2010 + i);
			break;
		case 3:
			snprintf(line, sizeof(line), "add chain=forward action=passthrough in-interface=ether%d", 1 + i % 5);
			break;
		case 4:
			snprintf(line, sizeof(line), "add chain=forward action=tarpit protocol=udp dst-port=!%d", i);
			break;
		default:
			snprintf(line, sizeof(line), "add chain=forward action=drop protocol=icmp src-address=192.168.%d.0/24", i % 40);
			break;
		}
		cmd(en, line);
	}
	compile(en);
	/* a spread of packets through both evaluators */
	char p[128];
	for (int i = 0; i < 3000; i++) {
		const char *proto = i % 3 == 0 ? "tcp" : i % 3 == 1 ? "udp" : "icmp";
		snprintf(p, sizeof(p), "%s %d.%d.%d.%d:%d > 172.16.%d.%d:%d in=ether%d", proto,
			 i % 4 == 0 ? 10 : 192, i % 4 == 0 ? i % 60 : 168, i % 45, i % 200, i % 3000,
			 i % 8, i % 251, i % 4 ? 1000 + i % 700 : 2000 + i % 700, 1 + i % 6);
		fwd(en, pk(p));
	}
	env_free(en);
}

/* ---- names ---- */

static void test_names(void **state)
{
	uint32_t a = name_intern(NS_MARK, "alpha"), b = name_intern(NS_MARK, "beta");
	assert_int_not_equal(a, 0);
	assert_int_not_equal(a, b);
	assert_int_equal(name_intern(NS_MARK, "alpha"), a);
	assert_int_equal(name_find(NS_MARK, "beta"), b);
	assert_int_equal(name_find(NS_MARK, "never-interned"), 0);
	assert_int_equal(name_intern(NS_MARK, "no-mark"), 0);
	assert_int_equal(name_intern(NS_MARK, ""), 0);
	assert_int_not_equal(name_intern(NS_ADDRLIST, "no-mark"), 0);
	assert_string_equal(name_of(NS_MARK, a), "alpha");
	assert_string_equal(name_of(NS_MARK, 0), "");
	assert_string_equal(name_of(NS_MARK, 999999), "");
	/* spaces are separate; many names keep their ids */
	uint32_t i1 = name_intern(NS_IFACE, "alpha");
	assert_string_equal(name_of(NS_IFACE, i1), "alpha");
	char n[32];
	uint32_t first = 0;
	for (int i = 0; i < 5000; i++) {
		snprintf(n, sizeof(n), "list-%d", i);
		uint32_t id = name_intern(NS_ADDRLIST, n);
		if (!i)
			first = id;
		assert_int_not_equal(id, 0);
	}
	assert_int_equal(name_find(NS_ADDRLIST, "list-0"), first);
	assert_string_equal(name_of(NS_ADDRLIST, name_find(NS_ADDRLIST, "list-4999")), "list-4999");
}

/* ---- timing: a late match in 25, 1,000 and 10,000 rules ---- */

/* Rule i of a timing chain of shape kind, as prop=value pairs. */
static void bench_rule(int kind, int i, char kv[4][2][40])
{
	memset(kv, 0, 4 * 2 * 40);
	int k = kind == 3 ? i % 3 : kind;
	switch (k) {
	case 0: /* tcp to one port from one /24 */
		snprintf(kv[0][0], 40, "protocol");
		snprintf(kv[0][1], 40, "tcp");
		snprintf(kv[1][0], 40, "dst-port");
		snprintf(kv[1][1], 40, "%d", 10000 + i);
		snprintf(kv[2][0], 40, "src-address");
		snprintf(kv[2][1], 40, "10.%d.%d.0/24", (i >> 8) & 255, i & 255);
		break;
	case 1: /* one source address, nothing else */
		snprintf(kv[0][0], 40, "src-address");
		snprintf(kv[0][1], 40, "10.%d.%d.7", (i >> 8) & 255, i & 255);
		break;
	default: /* destination and incoming interface */
		snprintf(kv[0][0], 40, "dst-address");
		snprintf(kv[0][1], 40, "172.%d.%d.1", 16 + ((i >> 8) & 15), i & 255);
		snprintf(kv[1][0], 40, "in-interface");
		snprintf(kv[1][1], 40, "ether%d", 1 + i % 5);
		break;
	}
}

/* ns per packet for a packet that matches only the last of nrules rules. */
static double time_chain(int kind, int nrules, int iters, double *compile_ms)
{
	struct store *st;
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, ":memory:", &e), 0);
	const struct menu *m = schema_find("/ip/firewall/filter");
	assert_int_equal(store_begin(st, &e), 0);
	char kv[4][2][40];
	for (int i = 0; i < nrules; i++) {
		struct item *it = item_new(m);
		item_set(m, it, schema_prop(m, "chain", NULL), "forward");
		item_set(m, it, schema_prop(m, "action", NULL), "drop");
		bench_rule(kind, i, kv);
		for (int j = 0; j < 4 && kv[j][0][0]; j++)
			item_set(m, it, schema_prop(m, kv[j][0], NULL), kv[j][1]);
		assert_int_equal(store_add(st, m, it, SIZE_MAX, NULL, &e), 0);
	}
	assert_int_equal(store_commit(st, "t", "bench", &e), 0);
	struct ruleset *rs;
	struct timespec c0, c1;
	clock_gettime(CLOCK_MONOTONIC, &c0);
	assert_int_equal(ruleset_compile(st, &rs, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &c1);
	*compile_ms = (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6;
	struct rs_state *s = rs_state_new();
	struct pkt p;
	memset(&p, 0, sizeof(p));
	p.family = 4;
	p.proto = 6;
	p.flags = PKT_F_L4;
	p.ip_len = 60;
	p.sport = 40000;
	p.dst.v4 = 0x01020304;
	int last = nrules - 1;
	int k = kind == 3 ? last % 3 : kind;
	p.in_if = (uint16_t)name_intern(NS_IFACE, "ether9");
	if (k == 0) {
		p.src.v4 = 0x0a000000u | (uint32_t)((last >> 8) & 255) << 16 | (uint32_t)(last & 255) << 8 | 7;
		p.dport = (uint16_t)(10000 + last);
	} else if (k == 1) {
		p.src.v4 = 0x0a000007u | (uint32_t)((last >> 8) & 255) << 16 | (uint32_t)(last & 255) << 8;
		p.dport = 80;
	} else {
		p.dst.v4 = 0xac000001u | (uint32_t)(16 + ((last >> 8) & 15)) << 16 | (uint32_t)(last & 255) << 8;
		char ifn[16];
		snprintf(ifn, sizeof(ifn), "ether%d", 1 + last % 5);
		p.in_if = (uint16_t)name_intern(NS_IFACE, ifn);
	}
	struct rs_ctx c;
	memset(&c, 0, sizeof(c));
	c.p = &p;
	c.state = s;
	struct rs_verdict vd;
	rs_run(rs, RT_FILTER, RH_FORWARD, &c, &vd);
	assert_int_equal(vd.action, RA_DROP);
	assert_int_equal(vd.rule_id, store_at(st, m, (size_t)last)->id);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < iters; i++) {
		c.now = (uint64_t)i;
		rs_run(rs, RT_FILTER, RH_FORWARD, &c, &vd);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(vd.action, RA_DROP);
	rs_state_free(s);
	ruleset_free(rs);
	store_close(st);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec)) / iters;
}

static void test_timing(void **state)
{
	static const char *const shapes[] = { "protocol+dst-port+src/24", "src-address /32",
					      "dst-address+in-interface", "the three mixed" };
	for (int kind = 0; kind < 4; kind++) {
		double ms;
		double t25 = time_chain(kind, 25, 200000, &ms);
		double t1k = time_chain(kind, 1000, 200000, &ms);
		double t10k = time_chain(kind, 10000, 200000, &ms);
		printf("late match, %s: 25 rules %.1f ns, 1000 rules %.1f ns, 10000 rules %.1f ns per "
		       "packet (compile of 10000: %.0f ms)\n",
		       shapes[kind], t25, t1k, t10k, ms);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_matchers),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_connection_limit_collects),
		cmocka_unit_test(test_iflists),
		cmocka_unit_test(test_layer7),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_limit_per_time_and_bits),
		cmocka_unit_test(test_dst_limit),
		cmocka_unit_test(test_nth_random),
		cmocka_unit_test(test_psd),
		cmocka_unit_test(test_pcc),
		cmocka_unit_test(test_conn_rate),
		cmocka_unit_test(test_terminal_actions),
		cmocka_unit_test(test_jumps),
		cmocka_unit_test(test_return_in_builtin),
		cmocka_unit_test(test_jump_loop),
		cmocka_unit_test(test_per_packet),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_passthrough_and_marks),
		cmocka_unit_test(test_seed_mark_overwrite),
		cmocka_unit_test(test_changes),
		cmocka_unit_test(test_fasttrack_notrack),
		cmocka_unit_test(test_nat),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_address_lists),
		cmocka_unit_test(test_dynamic_address_lists),
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_long_chain),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_timing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
