/*
 * Connection tracking: the TCP state table row by row as data (a path of
 * packets that reaches a state, then one packet, then the expected state
 * and connection-state), window tracking, loose pickup, UDP/ICMP/generic,
 * related ICMP errors, expiry, eviction when full, a large table, and the
 * small API around them. Packets are built by filling struct pkt directly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "engine/ct.h"

uint64_t ct_siphash24(const uint8_t key[16], const void *data, size_t len);

#define SEC 1000000000ull
#define T0 (1000 * SEC)

#define S TCPF_SYN
#define A TCPF_ACK
#define F TCPF_FIN
#define R TCPF_RST
#define U TCPF_URG
#define P TCPF_PSH
#define E TCPF_ECE
#define C TCPF_CWR

#define NO TCP_CONNTRACK_NONE
#define SS TCP_CONNTRACK_SYN_SENT
#define SR TCP_CONNTRACK_SYN_RECV
#define ES TCP_CONNTRACK_ESTABLISHED
#define FW TCP_CONNTRACK_FIN_WAIT
#define CW TCP_CONNTRACK_CLOSE_WAIT
#define LA TCP_CONNTRACK_LAST_ACK
#define TW TCP_CONNTRACK_TIME_WAIT
#define CL TCP_CONNTRACK_CLOSE
#define S2 TCP_CONNTRACK_SYN_SENT2

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))

static const uint8_t KEY[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static struct ct_table *mk(bool loose, uint32_t max)
{
	struct ct_config c;
	ct_config_default(&c);
	c.loose = loose;
	c.max_entries = max;
	struct ct_table *t = ct_create(&c, KEY);
	assert_non_null(t);
	return t;
}

static uint32_t ip4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	return (uint32_t)a << 24 | b << 16 | c << 8 | d;
}

/* conntrack, then confirm as the engine does for an accepted packet */
static void run(struct ct_table *t, struct pkt *p, uint64_t now)
{
	ct_in(t, p, now);
	if (p->ct && !(p->ct->status & CTS_CONFIRMED))
		assert_int_equal(ct_confirm(t, p, now), 0);
}

/* ---- TCP connections ---- */

struct conn {
	uint32_t addr[2];
	uint16_t port[2];
	uint32_t nxt[2]; /* next sequence number of each side */
	uint16_t win[2];
	uint8_t wscale[2]; /* 0xff: no option */
};

static void conn_init(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->addr[0] = ip4(10, 0, 0, 1);
	c->addr[1] = ip4(10, 0, 0, 2);
	c->port[0] = 40000;
	c->port[1] = 80;
	c->nxt[0] = 1000;
	c->nxt[1] = 5000;
	c->win[0] = c->win[1] = 65535;
	c->wscale[0] = c->wscale[1] = 0xff;
}

static void tcp_fill(struct pkt *p, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
		     uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, uint16_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = 6;
	p->flags = PKT_F_L4;
	p->src.v4 = src;
	p->dst.v4 = dst;
	p->sport = sp;
	p->dport = dp;
	p->tcp_flags = flags;
	p->tcp_doff = 20;
	p->l4_len = (uint16_t)(20 + len);
	p->payload_len = len;
	p->ip_len = (uint16_t)(40 + len);
	p->seq = seq;
	p->ack = ack;
	p->win = win;
	p->wscale = 0xff;
}

static struct pkt conn_pkt(const struct conn *c, unsigned dir, uint8_t flags, int32_t seqoff,
			   int32_t ackoff, uint16_t len)
{
	struct pkt p;
	uint32_t ack = (flags & A) ? c->nxt[!dir] + (uint32_t)ackoff : 0;
	tcp_fill(&p, c->addr[dir], c->port[dir], c->addr[!dir], c->port[!dir], flags,
		 c->nxt[dir] + (uint32_t)seqoff, ack, c->win[dir], len);
	if ((flags & S) && c->wscale[dir] != 0xff) {
		p.wscale = c->wscale[dir];
		p.tcp_doff = 24;
		p.l4_len = (uint16_t)(p.l4_len + 4);
		p.ip_len = (uint16_t)(p.ip_len + 4);
	}
	return p;
}

/* Sends the next segment of a side and advances its sequence number. */
static struct pkt conn_send(struct ct_table *t, struct conn *c, unsigned dir, uint8_t flags,
			    uint16_t len, uint64_t now)
{
	struct pkt p = conn_pkt(c, dir, flags, 0, 0, len);
	run(t, &p, now);
	if (p.ct_state != CT_INVALID)
		c->nxt[dir] += len + ((flags & S) ? 1 : 0) + ((flags & F) ? 1 : 0);
	return p;
}

struct step {
	unsigned dir;
	uint8_t flags;
	uint8_t want;
};

/* Canonical ways into each state; variant 1 of CLOSE is a reset by the
 * server rather than by the client. */
static const struct step path_ss[] = { { 0, S, SS } };
static const struct step path_sr[] = { { 0, S, SS }, { 1, S | A, SR } };
static const struct step path_es[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES } };
static const struct step path_fw[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
				       { 0, F | A, FW } };
static const struct step path_cw[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
				       { 0, F | A, FW }, { 1, A, CW } };
static const struct step path_la[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
				       { 0, F | A, FW }, { 1, A, CW }, { 1, F | A, LA } };
static const struct step path_tw[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
				       { 0, F | A, FW }, { 1, A, CW }, { 1, F | A, LA },
				       { 0, A, TW } };
static const struct step path_cl0[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
					{ 0, R, CL } };
static const struct step path_cl1[] = { { 0, S, SS }, { 1, S | A, SR }, { 0, A, ES },
					{ 1, R, CL } };
static const struct step path_s2[] = { { 0, S, SS }, { 1, S, S2 } };

static struct ct_entry *drive(struct ct_table *t, struct conn *c, uint8_t state, int variant,
			      uint64_t now)
{
	const struct step *st = NULL;
	size_t n = 0;

#define PATH(a) (st = (a), n = NROWS(a))
	switch (state) {
	case NO: return NULL;
	case SS: PATH(path_ss); break;
	case SR: PATH(path_sr); break;
	case ES: PATH(path_es); break;
	case FW: PATH(path_fw); break;
	case CW: PATH(path_cw); break;
	case LA: PATH(path_la); break;
	case TW: PATH(path_tw); break;
	case CL: if (variant) PATH(path_cl1); else PATH(path_cl0); break;
	case S2: PATH(path_s2); break;
	default: fail();
	}
#undef PATH
	struct ct_entry *e = NULL;
	for (size_t i = 0; i < n; i++) {
		struct pkt p = conn_send(t, c, st[i].dir, st[i].flags, 0, now);
		assert_non_null(p.ct);
		if (e)
			assert_ptr_equal(p.ct, e);
		e = p.ct;
		assert_int_equal(e->tcp_state, st[i].want);
	}
	return e;
}

struct row {
	uint8_t from;
	int variant;
	unsigned dir;
	uint8_t flags;
	int32_t seqoff, ackoff;
	uint16_t len;
	uint8_t want;    /* TCP state afterwards (of the new entry after a reopen) */
	uint8_t want_ct; /* p->ct_state */
	bool loose;
	bool gone;   /* the entry dies with this packet (RST before any answer) */
	bool reopen; /* the old entry is replaced by a new connection */
};

#define RO(from, dir, fl, so, want, ct) { from, 0, dir, fl, so, 0, 0, want, ct, true, false, false }
#define IV(from, dir, fl, so) { from, 0, dir, fl, so, 0, 0, from, CT_INVALID, true, false, false }
#define NEW_ CT_NEW
#define EST_ CT_ESTABLISHED

/* {state reached, direction (0 = client/original), flags, seq offset,
 * expected state, expected connection-state}; from Linux's table and its
 * special cases, each worked through by hand. */
static const struct row tcp_rows[] = {
	/* no entry yet */
	RO(NO, 0, S, 0, SS, NEW_),
	RO(NO, 0, S | U, 0, SS, NEW_),
	RO(NO, 0, S | E | C, 0, SS, NEW_),          /* ECN setup SYN */
	RO(NO, 0, S | P, 0, SS, NEW_),
	IV(NO, 0, S | A, 0),                        /* SYN/ACK without SYN */
	{ NO, 0, 0, S | A, 0, 0, 0, NO, CT_INVALID, false, false, false }, /* also loose=no */
	{ NO, 0, 1, S | A, 0, 0, 0, NO, CT_INVALID, true, false, false },  /* from the server */
	IV(NO, 0, F | A, 0),
	IV(NO, 0, R, 0),
	IV(NO, 0, R | A, 0),
	RO(NO, 0, A, 0, ES, NEW_),                  /* loose pickup */
	{ NO, 0, 0, A, 0, 0, 0, NO, CT_INVALID, false, false, false }, /* loose=no */
	{ NO, 0, 0, A | P, 0, 0, 100, NO, CT_INVALID, false, false, false },
	/* illegal flag combinations */
	IV(NO, 0, S | F, 0),
	IV(NO, 0, S | R, 0),
	IV(NO, 0, S | A | U, 0),
	IV(NO, 0, S | F | P | U, 0),
	IV(NO, 0, F, 0),
	IV(NO, 0, 0, 0),                            /* null scan */
	IV(NO, 0, F | P | U, 0),                    /* xmas */
	IV(NO, 0, P, 0),
	IV(NO, 0, U, 0),
	IV(NO, 0, R | F, 0),
	IV(NO, 0, 0xff, 0),
	/* SYN_SENT */
	RO(SS, 0, S, -1, SS, NEW_),                 /* retransmitted SYN */
	IV(SS, 0, S | A, 0),
	IV(SS, 0, F | A, 0),
	IV(SS, 0, A, 0),
	{ SS, 0, 0, R, 0, 0, 0, CL, NEW_, true, true, false },
	RO(SS, 1, S, 0, S2, EST_),                  /* simultaneous open */
	RO(SS, 1, S | A, 0, SR, EST_),
	IV(SS, 1, F | A, 0),
	RO(SS, 1, A, 0, SS, EST_),                  /* ignored: half-open? */
	{ SS, 0, 1, R | A, -5000, 0, 0, CL, EST_, true, true, false }, /* RST seq 0 */
	/* SYN_RECV */
	RO(SR, 0, S, -1, SR, EST_),                 /* ignored */
	RO(SR, 0, S | A, -1, SR, EST_),
	RO(SR, 0, F | A, 0, FW, EST_),
	RO(SR, 0, A, 0, ES, EST_),
	RO(SR, 0, R, 0, CL, EST_),
	IV(SR, 1, S, 0),
	RO(SR, 1, S | A, -1, SR, EST_),             /* retransmitted, ignored */
	RO(SR, 1, F | A, 0, FW, EST_),
	RO(SR, 1, A, 0, SR, EST_),
	RO(SR, 1, R, 0, CL, EST_),
	/* ESTABLISHED */
	RO(ES, 0, S, 100000, ES, EST_),             /* ignored, the server answers */
	IV(ES, 0, S | A, 0),
	RO(ES, 0, F | A, 0, FW, EST_),
	RO(ES, 0, A, 0, ES, EST_),
	RO(ES, 0, A | P | U, 0, ES, EST_),
	RO(ES, 0, R, 0, CL, EST_),                  /* in window: closes */
	RO(ES, 0, R | A, 0, CL, EST_),
	IV(ES, 0, R, -100),                         /* below the peer's ACK */
	RO(ES, 0, R, 100, ES, EST_),                /* inexact: challenge ACK expected */
	IV(ES, 0, R, 10000000),                     /* out of window */
	IV(ES, 1, S, 0),
	RO(ES, 1, S | A, -1, ES, EST_),             /* late SYN/ACK, ignored */
	RO(ES, 1, F | A, 0, FW, EST_),
	RO(ES, 1, A, 0, ES, EST_),
	RO(ES, 1, R, 0, CL, EST_),
	IV(ES, 0, A, 10000000),                     /* data beyond the window */
	{ ES, 0, 0, A, 0, 1000000, 0, ES, CT_INVALID, true, false, false }, /* ACKs unsent data */
	{ ES, 0, 0, A, -200000, 0, 100, ES, EST_, true, false, false },    /* old resend: ignored */
	/* FIN_WAIT */
	RO(FW, 0, S, 100000, FW, EST_),
	RO(FW, 0, F | A, -1, LA, EST_),             /* retransmitted FIN */
	RO(FW, 0, A, 0, CW, EST_),
	RO(FW, 1, A, 0, CW, EST_),
	RO(FW, 1, F | A, 0, LA, EST_),
	RO(FW, 0, R, 0, CL, EST_),
	RO(FW, 1, R, 50000, CL, EST_),              /* closing: no sequence check */
	IV(FW, 1, S, 0),
	RO(FW, 1, S | A, -1, FW, EST_),
	/* CLOSE_WAIT */
	RO(CW, 1, F | A, 0, LA, EST_),
	RO(CW, 0, A, 0, CW, EST_),
	RO(CW, 0, F | A, -1, LA, EST_),
	RO(CW, 1, R, 0, CL, EST_),
	RO(CW, 0, S, 100000, CW, EST_),
	IV(CW, 1, S, 0),
	/* LAST_ACK */
	RO(LA, 0, A, 0, TW, EST_),
	RO(LA, 1, A, 0, TW, EST_),
	RO(LA, 0, F | A, -1, LA, EST_),
	RO(LA, 0, S, 100000, LA, EST_),
	RO(LA, 0, R, 0, CL, EST_),
	IV(LA, 1, S, 0),
	/* TIME_WAIT */
	{ TW, 0, 0, S, 100000, 0, 0, SS, NEW_, true, false, true }, /* reopened */
	{ TW, 0, 1, S, 100000, 0, 0, SS, NEW_, true, false, true }, /* by the server */
	RO(TW, 0, A, 0, TW, EST_),
	RO(TW, 1, F | A, -1, TW, EST_),
	RO(TW, 0, R, 0, CL, EST_),
	IV(TW, 0, S | A, 0),
	RO(TW, 1, S | A, -1, TW, EST_),
	/* CLOSE after the client's RST */
	{ CL, 0, 0, S, 100000, 0, 0, SS, NEW_, true, false, true },
	RO(CL, 0, A, 0, CL, EST_),
	RO(CL, 0, F | A, 0, CL, EST_),
	RO(CL, 1, R, 0, CL, EST_),
	IV(CL, 1, S, 0),
	IV(CL, 0, S | A, 0),
	RO(CL, 1, S | A, -1, CL, EST_),
	/* CLOSE after the server's RST: the client's new SYN is only let through */
	{ CL, 1, 0, S, 100000, 0, 0, CL, EST_, true, false, false },
	/* SYN_SENT2 */
	RO(S2, 0, S, -1, S2, EST_),
	RO(S2, 1, S, -1, S2, EST_),
	RO(S2, 0, S | A, -1, SR, EST_),
	RO(S2, 1, S | A, -1, SR, EST_),
	IV(S2, 0, F | A, 0),
	IV(S2, 0, A, 0),
	IV(S2, 1, F | A, 0),
	RO(S2, 1, A, 0, S2, EST_),
	RO(S2, 0, R, 0, CL, EST_),
};

static void test_tcp_table(void **state)
{
	int fails = 0;

	for (size_t i = 0; i < NROWS(tcp_rows); i++) {
		const struct row *r = &tcp_rows[i];
		struct ct_table *t = mk(r->loose, 64);
		struct conn c;
		conn_init(&c);
		struct ct_entry *e = drive(t, &c, r->from, r->variant, T0);
		struct pkt p = conn_pkt(&c, r->dir, r->flags, r->seqoff, r->ackoff, r->len);
		run(t, &p, T0 + SEC);

		bool ok = p.ct_state == r->want_ct;
		if (r->want_ct == CT_INVALID) {
			ok = ok && p.ct == NULL && (e ? e->tcp_state == r->want : ct_count(t) == 0);
		} else {
			ok = ok && p.ct && p.ct->tcp_state == r->want && p.ct_dir == (r->reopen ? 0 : r->dir);
			if (r->reopen)
				ok = ok && ct_count(t) == 1 && p.ct->t[0].src == c.addr[r->dir] &&
				     !(p.ct->status & CTS_SEEN_REPLY);
			if (r->gone)
				ok = ok && ct_expire(t, T0 + SEC, 100) == 1 && ct_count(t) == 0;
			else if (!r->reopen)
				ok = ok && ct_count(t) == 1 && (r->from == NO || p.ct == e);
		}
		if (!ok) {
			print_error("row %zu: %s dir %u flags 0x%02x seq%+d: got %s/%s, want %s/%s\n", i,
				    ct_tcp_state_name(r->from), r->dir, r->flags, r->seqoff,
				    p.ct ? ct_tcp_state_name(p.ct->tcp_state) : "-",
				    ct_state_name(p.ct_state), ct_tcp_state_name(r->want),
				    ct_state_name(r->want_ct));
			fails++;
		}
		ct_destroy(t);
	}
	print_message("%zu TCP table rows\n", NROWS(tcp_rows));
	assert_int_equal(fails, 0);
}

static void test_tcp_handshake_assured(void **state)
{
	struct ct_table *t = mk(true, 64);
	const struct ct_config *cf = ct_get_config(t);
	struct conn c;
	conn_init(&c);

	struct pkt p = conn_send(t, &c, 0, S, 0, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	struct ct_entry *e = p.ct;
	assert_int_equal(e->status & (CTS_SEEN_REPLY | CTS_ASSURED), 0);
	assert_true(e->status & CTS_CONFIRMED);
	assert_int_equal(e->expires, T0 + cf->timeout[CTO_TCP_SYN_SENT]);
	assert_int_equal(e->t[0].src, c.addr[0]);
	assert_int_equal(e->t[1].src, c.addr[1]);
	assert_int_equal(e->t[1].sport, 80);
	assert_int_equal(e->t[1].dport, 40000);

	p = conn_send(t, &c, 1, S | A, 0, T0 + 1);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct_dir, 1);
	assert_true(e->status & CTS_SEEN_REPLY);
	assert_false(e->status & CTS_ASSURED);
	assert_int_equal(e->expires, T0 + 1 + cf->timeout[CTO_TCP_SYN_RECV]);

	p = conn_send(t, &c, 0, A, 0, T0 + 2);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(e->tcp_state, ES);
	assert_true(e->status & CTS_ASSURED);
	assert_int_equal(e->expires, T0 + 2 + cf->timeout[CTO_TCP_ESTABLISHED]);

	/* unacknowledged data shortens the timeout until it is acknowledged */
	conn_send(t, &c, 0, A | P, 500, T0 + 3);
	assert_int_equal(e->expires, T0 + 3 + cf->timeout[CTO_TCP_UNACKED]);
	conn_send(t, &c, 1, A, 0, T0 + 4);
	assert_int_equal(e->expires, T0 + 4 + cf->timeout[CTO_TCP_ESTABLISHED]);

	/* the same ACK over and over: retransmissions */
	for (int i = 0; i < 4; i++) {
		p = conn_pkt(&c, 1, A, 0, 0, 0);
		run(t, &p, T0 + 5);
	}
	assert_int_equal(e->expires, T0 + 5 + cf->timeout[CTO_TCP_MAX_RETRANS]);

	assert_int_equal(e->packets[0], 3);
	assert_int_equal(e->packets[1], 6);
	assert_int_equal(e->bytes[0], 40 + 40 + 540);
	assert_int_equal(e->bytes[1], 6 * 40);
	ct_destroy(t);
}

static void test_tcp_fin_to_time_wait(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct ct_entry *e = drive(t, &c, ES, 0, T0);

	conn_send(t, &c, 0, F | A, 0, T0 + SEC);
	assert_int_equal(e->tcp_state, FW);
	conn_send(t, &c, 1, A, 0, T0 + SEC);
	assert_int_equal(e->tcp_state, CW);
	conn_send(t, &c, 1, F | A, 0, T0 + SEC);
	assert_int_equal(e->tcp_state, LA);
	struct pkt p = conn_send(t, &c, 0, A, 0, T0 + SEC);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(e->tcp_state, TW);
	assert_int_equal(e->expires, T0 + SEC + ct_get_config(t)->timeout[CTO_TCP_TIME_WAIT]);

	/* TIME_WAIT lasts tcp-time-wait-timeout */
	assert_int_equal(ct_expire(t, T0 + 10 * SEC, 100), 0);
	assert_int_equal(ct_expire(t, T0 + 11 * SEC, 100), 1);
	assert_int_equal(ct_count(t), 0);
	ct_destroy(t);
}

static void test_tcp_syn_reopens_time_wait(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	drive(t, &c, TW, 0, T0);

	c.nxt[0] += 1000000;
	struct pkt p = conn_send(t, &c, 0, S, 0, T0 + SEC);
	assert_int_equal(p.ct_state, CT_NEW);
	assert_int_equal(p.ct->tcp_state, SS);
	assert_int_equal(p.ct->status & (CTS_SEEN_REPLY | CTS_ASSURED), 0);
	assert_int_equal(p.ct->packets[0], 1);
	assert_int_equal(ct_count(t), 1);

	/* and the new connection completes */
	c.nxt[1] += 777;
	conn_send(t, &c, 1, S | A, 0, T0 + SEC);
	p = conn_send(t, &c, 0, A, 0, T0 + SEC);
	assert_int_equal(p.ct->tcp_state, ES);
	assert_true(p.ct->status & CTS_ASSURED);
	ct_destroy(t);
}

static void test_tcp_resync_after_ignored_syn(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct ct_entry *e = drive(t, &c, CL, 1, T0); /* the server reset it */

	c.nxt[0] += 100000;
	struct pkt p = conn_send(t, &c, 0, S, 0, T0 + SEC);
	assert_int_equal(p.ct_state, CT_ESTABLISHED); /* let through, not new */
	assert_int_equal(e->tcp_state, CL);
	/* the server answers the SYN we ignored: both ends agree, follow them */
	c.nxt[1] += 300000;
	p = conn_send(t, &c, 1, S | A, 0, T0 + SEC);
	assert_ptr_equal(p.ct, e);
	assert_int_equal(e->tcp_state, SR);
	conn_send(t, &c, 0, A, 0, T0 + SEC);
	assert_int_equal(e->tcp_state, ES);
	p = conn_send(t, &c, 0, A | P, 1000, T0 + SEC);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	ct_destroy(t);
}

static void test_tcp_simultaneous_open(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct ct_entry *e = drive(t, &c, S2, 0, T0);

	struct pkt p = conn_pkt(&c, 0, S | A, -1, 0, 0); /* SYN again, acking the peer's */
	run(t, &p, T0);
	assert_int_equal(e->tcp_state, SR);
	p = conn_pkt(&c, 1, S | A, -1, 0, 0);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(e->tcp_state, SR);
	p = conn_pkt(&c, 1, A, 0, 0, 0);
	run(t, &p, T0);
	assert_int_equal(e->tcp_state, ES);
	p = conn_pkt(&c, 0, A, 0, 0, 0);
	run(t, &p, T0);
	assert_true(e->status & CTS_ASSURED);
	ct_destroy(t);
}

static void test_tcp_challenge_ack_in_last_ack(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct ct_entry *e = drive(t, &c, LA, 0, T0);

	struct pkt p = conn_pkt(&c, 0, S, 100000, 0, 0);
	run(t, &p, T0);
	assert_int_equal(e->tcp_state, LA);
	/* the server answers with a challenge ACK: not the last ACK */
	p = conn_pkt(&c, 1, A, 0, 0, 0);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(e->tcp_state, LA);
	p = conn_pkt(&c, 0, A, 0, 0, 0);
	run(t, &p, T0);
	assert_int_equal(e->tcp_state, TW);
	ct_destroy(t);
}

static void test_tcp_rst_before_reply_kills(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	drive(t, &c, SS, 0, T0);

	struct pkt p = conn_pkt(&c, 1, R | A, -5000, 0, 0); /* port closed */
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct->tcp_state, CL);
	/* gone for the next packet: a new SYN is a new connection */
	c.nxt[0] += 10;
	p = conn_send(t, &c, 0, S, 0, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	assert_int_equal(p.ct->tcp_state, SS);
	assert_int_equal(p.ct->packets[1], 0);
	assert_int_equal(ct_count(t), 1);
	ct_destroy(t);
}

static void test_tcp_window_scaling(void **state)
{
	for (int scaled = 0; scaled < 2; scaled++) {
		struct ct_table *t = mk(true, 64);
		struct conn c;
		conn_init(&c);
		c.win[1] = 1024;
		c.wscale[0] = scaled ? 7 : 0xff;
		c.wscale[1] = 7;
		struct ct_entry *e = drive(t, &c, ES, 0, T0);
		assert_int_equal(e->tcp[0].scale, scaled ? 7 : 0);
		assert_int_equal(e->tcp[1].scale, scaled ? 7 : 0);
		conn_send(t, &c, 1, A, 0, T0); /* window 1024 << 7 when scaled */
		struct pkt p = conn_pkt(&c, 0, A, 100000, 0, 1000);
		run(t, &p, T0);
		assert_int_equal(p.ct_state, scaled ? CT_ESTABLISHED : CT_INVALID);
		ct_destroy(t);
	}
}

static void test_tcp_loose(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);

	struct pkt p = conn_send(t, &c, 0, A | P, 100, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	struct ct_entry *e = p.ct;
	assert_int_equal(e->tcp_state, ES);
	/* not a known connection yet: no day-long timeout */
	assert_true(e->expires <= T0 + ct_get_config(t)->timeout[CTO_TCP_UNACKED]);
	p = conn_send(t, &c, 1, A, 0, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_false(e->status & CTS_ASSURED);
	p = conn_send(t, &c, 0, A, 0, T0);
	assert_true(e->status & CTS_ASSURED);
	/* windows are unknown: a picked-up connection is checked liberally */
	p = conn_pkt(&c, 0, A, 50000000, 0, 100);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	ct_destroy(t);

	t = mk(false, 64);
	conn_init(&c);
	p = conn_send(t, &c, 0, A, 100, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	assert_null(p.ct);
	assert_int_equal(ct_count(t), 0);
	p = conn_send(t, &c, 0, S, 0, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	ct_destroy(t);
}

static void test_tcp_malformed(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct pkt p = conn_pkt(&c, 0, S, 0, 0, 0);
	p.tcp_doff = 16;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	p = conn_pkt(&c, 0, S, 0, 0, 0);
	p.l4_len = 12; /* header cut short */
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	p = conn_pkt(&c, 0, S, 0, 0, 0);
	p.flags = 0;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	assert_int_equal(ct_count(t), 0);
	ct_destroy(t);
}

/* ---- UDP ---- */

static void udp_fill(struct pkt *p, uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp,
		     uint16_t len)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = 17;
	p->flags = PKT_F_L4;
	p->src.v4 = src;
	p->dst.v4 = dst;
	p->sport = sp;
	p->dport = dp;
	p->l4_len = (uint16_t)(8 + len);
	p->payload_len = len;
	p->ip_len = (uint16_t)(28 + len);
}

static void test_udp(void **state)
{
	struct ct_table *t = mk(true, 64);
	const struct ct_config *cf = ct_get_config(t);
	uint32_t a = ip4(192, 168, 88, 10), b = ip4(8, 8, 8, 8);
	struct pkt p;

	udp_fill(&p, a, 5353, b, 53, 30);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	struct ct_entry *e = p.ct;
	assert_int_equal(e->expires, T0 + cf->timeout[CTO_UDP]);
	udp_fill(&p, a, 5353, b, 53, 30);
	run(t, &p, T0 + SEC);
	assert_int_equal(p.ct_state, CT_NEW); /* no reply yet */

	udp_fill(&p, b, 53, a, 5353, 100);
	run(t, &p, T0 + 2 * SEC);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct_dir, 1);
	assert_true(e->status & CTS_SEEN_REPLY);
	/* as in Linux, the reply itself is processed as unreplied */
	assert_false(e->status & CTS_ASSURED);
	assert_int_equal(e->expires, T0 + 2 * SEC + cf->timeout[CTO_UDP]);

	udp_fill(&p, a, 5353, b, 53, 30);
	run(t, &p, T0 + 3 * SEC);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_true(e->status & CTS_ASSURED);
	assert_int_equal(e->expires, T0 + 3 * SEC + cf->timeout[CTO_UDP_STREAM]);

	assert_int_equal(e->packets[0], 3);
	assert_int_equal(e->packets[1], 1);
	assert_int_equal(e->bytes[0], 3 * 58);
	assert_int_equal(e->bytes[1], 128);

	/* a stream lives udp-stream-timeout after its last packet */
	assert_int_equal(ct_expire(t, T0 + 3 * SEC + cf->timeout[CTO_UDP_STREAM] - 1, 100), 0);
	assert_int_equal(ct_expire(t, T0 + 3 * SEC + cf->timeout[CTO_UDP_STREAM], 100), 1);

	/* an unreplied one udp-timeout; a packet after that starts anew */
	udp_fill(&p, a, 6000, b, 53, 30);
	run(t, &p, T0);
	e = p.ct;
	udp_fill(&p, a, 6000, b, 53, 30);
	run(t, &p, T0 + 9 * SEC);
	assert_int_equal(p.ct_state, CT_NEW);
	assert_int_equal(e->packets[0], 2);
	udp_fill(&p, b, 53, a, 6000, 30);
	run(t, &p, T0 + 19 * SEC);
	assert_int_equal(p.ct_state, CT_NEW); /* the old entry expired at +19s */
	assert_int_equal(p.ct_dir, 0);
	assert_int_equal(p.ct->t[0].src, b);
	assert_int_equal(ct_count(t), 1);
	ct_destroy(t);
}

/* ---- ICMP ---- */

static void icmp_fill(struct pkt *p, uint32_t src, uint32_t dst, uint8_t type, uint16_t id)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = 1;
	p->flags = PKT_F_L4;
	p->src.v4 = src;
	p->dst.v4 = dst;
	p->icmp_type = type;
	p->sport = p->dport = id;
	p->l4_len = 64;
	p->ip_len = 84;
}

static void icmp6_fill(struct pkt *p, uint8_t s, uint8_t d, uint8_t type, uint16_t id)
{
	memset(p, 0, sizeof(*p));
	p->family = 6;
	p->proto = 58;
	p->flags = PKT_F_L4;
	p->src.v6[0] = p->dst.v6[0] = 0x20;
	p->src.v6[1] = p->dst.v6[1] = 0x01;
	p->src.v6[15] = s;
	p->dst.v6[15] = d;
	p->icmp_type = type;
	p->sport = p->dport = id;
	p->l4_len = 64;
	p->ip_len = 104;
}

static void test_icmp_echo(void **state)
{
	struct ct_table *t = mk(true, 64);
	uint32_t a = ip4(192, 168, 88, 10), b = ip4(1, 1, 1, 1);
	struct pkt p;

	icmp_fill(&p, a, b, 8, 77);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	struct ct_entry *e = p.ct;
	assert_int_equal(e->t[1].sport, 77);
	assert_int_equal(e->t[1].dport, 77);
	assert_int_equal(e->expires, T0 + ct_get_config(t)->timeout[CTO_ICMP]);
	icmp_fill(&p, b, a, 0, 77);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct_dir, 1);
	icmp_fill(&p, a, b, 8, 77);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_false(e->status & CTS_ASSURED);

	/* an answer in the original direction does not belong to the query */
	icmp_fill(&p, a, b, 0, 77);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);

	static const struct {
		uint8_t type;
		uint8_t want;
	} rows[] = {
		{ 0, CT_INVALID },  /* unsolicited echo reply */
		{ 14, CT_INVALID }, /* unsolicited timestamp reply */
		{ 13, CT_NEW },     /* timestamp request */
		{ 15, CT_NEW },     /* information request */
		{ 17, CT_NEW },     /* address mask request */
		{ 9, CT_INVALID },  /* router advertisement: cannot be tracked */
		{ 10, CT_INVALID },
		{ 1, CT_INVALID },
		{ 30, CT_INVALID }, /* beyond the known types */
		{ 3, CT_INVALID },  /* an error without its embedded header */
	};
	for (size_t i = 0; i < NROWS(rows); i++) {
		icmp_fill(&p, a, ip4(9, 9, 9, (unsigned)i), rows[i].type, 5);
		run(t, &p, T0);
		if (p.ct_state != rows[i].want)
			fail_msg("type %u: %s", rows[i].type, ct_state_name(p.ct_state));
	}
	icmp_fill(&p, ip4(9, 9, 9, 2), a, 14, 5); /* answers the timestamp request */
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	ct_destroy(t);
}

static void test_icmp6(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct pkt p;

	icmp6_fill(&p, 1, 2, 128, 9);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	icmp6_fill(&p, 2, 1, 129, 9);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct_dir, 1);
	icmp6_fill(&p, 2, 1, 129, 10);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	for (uint8_t type = 130; type <= 136; type++) { /* MLD, neighbour discovery */
		icmp6_fill(&p, 1, 2, type, 0);
		run(t, &p, T0);
		assert_int_equal(p.ct_state, CT_UNTRACKED);
		assert_null(p.ct);
	}
	icmp6_fill(&p, 1, 2, 143, 0);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_UNTRACKED);
	icmp6_fill(&p, 1, 2, 200, 0);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	/* ICMPv4 over IPv6 is not a thing */
	icmp6_fill(&p, 1, 2, 8, 0);
	p.proto = 1;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	assert_int_equal(ct_count(t), 1);
	ct_destroy(t);
}

/* An ICMP error from `from` to `to` about a packet src:sp -> dst:dp. */
static void icmp_err_fill(struct pkt *p, uint32_t from, uint32_t to, uint8_t type, uint8_t proto,
			  uint32_t src, uint16_t sp, uint32_t dst, uint16_t dp)
{
	icmp_fill(p, from, to, type, 0);
	p->sport = p->dport = 0;
	p->flags |= PKT_F_ICMP_ERR;
	p->inner.proto = proto;
	p->inner.src.v4 = src;
	p->inner.dst.v4 = dst;
	p->inner.sport = sp;
	p->inner.dport = dp;
}

static void test_icmp_related(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct conn c;
	conn_init(&c);
	struct ct_entry *tcp = drive(t, &c, ES, 0, T0);
	uint32_t router = ip4(10, 0, 0, 254), other = ip4(10, 0, 0, 99);
	struct pkt p;

	/* a router on the way tells the client its segment did not make it */
	icmp_err_fill(&p, router, c.addr[0], 3, 6, c.addr[0], 40000, c.addr[1], 80);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_RELATED);
	assert_ptr_equal(p.ct, tcp);
	assert_int_equal(p.ct_dir, 1);
	/* the client complains about a segment of the server */
	icmp_err_fill(&p, c.addr[0], c.addr[1], 3, 6, c.addr[1], 80, c.addr[0], 40000);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_RELATED);
	assert_int_equal(p.ct_dir, 0);
	/* time exceeded, parameter problem, source quench, redirect */
	static const uint8_t errs[] = { 11, 12, 4, 5 };
	for (size_t i = 0; i < sizeof(errs); i++) {
		icmp_err_fill(&p, router, c.addr[0], errs[i], 6, c.addr[0], 40000, c.addr[1], 80);
		run(t, &p, T0);
		assert_int_equal(p.ct_state, CT_RELATED);
	}
	/* sent to someone else than the packet's source: bogus */
	icmp_err_fill(&p, router, other, 3, 6, c.addr[0], 40000, c.addr[1], 80);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	/* about no connection of ours */
	icmp_err_fill(&p, router, c.addr[0], 3, 6, c.addr[0], 40001, c.addr[1], 80);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);
	assert_null(p.ct);

	/* UDP, port unreachable from the server itself */
	uint32_t a = ip4(192, 168, 88, 10), s = ip4(8, 8, 4, 4);
	udp_fill(&p, a, 1234, s, 53, 20);
	run(t, &p, T0);
	struct ct_entry *udp = p.ct;
	icmp_err_fill(&p, s, a, 3, 17, a, 1234, s, 53);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_RELATED);
	assert_ptr_equal(p.ct, udp);
	icmp_err_fill(&p, s, a, 3, 17, a, 1234, s, 54);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);

	/* ICMP about an echo request */
	icmp_fill(&p, a, s, 8, 4242);
	run(t, &p, T0);
	struct ct_entry *ping = p.ct;
	icmp_err_fill(&p, router, a, 11, 1, a, 4242, s, 0);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_RELATED);
	assert_ptr_equal(p.ct, ping);

	/* related errors neither count nor refresh */
	assert_int_equal(udp->packets[1], 0);
	assert_int_equal(ct_count(t), 3);
	ct_destroy(t);
}

static void test_icmp_related_nat(void **state)
{
	struct ct_table *t = mk(true, 64);
	uint32_t lan = ip4(192, 168, 88, 10), pub = ip4(203, 0, 113, 1), srv = ip4(1, 2, 3, 4);
	uint32_t mid = ip4(198, 51, 100, 7);
	struct pkt p;

	/* srcnat before confirm: the reply is expected at the public address */
	udp_fill(&p, lan, 5000, srv, 53, 20);
	ct_in(t, &p, T0);
	struct ct_entry *e = p.ct;
	e->t[1].dst = pub;
	e->t[1].dport = 61000;
	e->status |= CTS_SRCNAT;
	assert_int_equal(ct_confirm(t, &p, T0), 0);
	struct ct_tuple et;
	ct_entry_tuple(e, 1, &et);
	assert_true(ct_reply_taken(t, &et));

	udp_fill(&p, srv, 53, pub, 61000, 40);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_ptr_equal(p.ct, e);
	/* to the private address: a new flow whose reply tuple is our original
	 * one, so confirming it would clash; refused as Linux refuses it */
	udp_fill(&p, srv, 53, lan, 5000, 40);
	ct_in(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	assert_int_equal(ct_confirm(t, &p, T0), -1);
	assert_null(p.ct);
	ct_discard(t, &p); /* harmless after a refused confirm */
	assert_int_equal(ct_count(t), 1);

	icmp_err_fill(&p, mid, pub, 3, 17, pub, 61000, srv, 53);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_RELATED);
	assert_ptr_equal(p.ct, e);
	assert_int_equal(p.ct_dir, 1);
	ct_destroy(t);
}

static void test_icmp6_related(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct pkt p;

	memset(&p, 0, sizeof(p));
	p.family = 6;
	p.proto = 17;
	p.flags = PKT_F_L4;
	p.src.v6[0] = p.dst.v6[0] = 0x20;
	p.src.v6[1] = p.dst.v6[1] = 0x01;
	p.src.v6[15] = 1;
	p.dst.v6[15] = 2;
	p.sport = 777;
	p.dport = 53;
	p.ip_len = 60;
	run(t, &p, T0);
	struct ct_entry *e = p.ct;
	assert_int_equal(p.ct_state, CT_NEW);

	struct pkt err;
	icmp6_fill(&err, 9, 1, 1, 0); /* destination unreachable from ::9 to ::1 */
	err.sport = err.dport = 0;
	err.flags |= PKT_F_ICMP_ERR;
	err.inner.proto = 17;
	err.inner.src = p.src;
	err.inner.dst = p.dst;
	err.inner.sport = 777;
	err.inner.dport = 53;
	run(t, &err, T0);
	assert_int_equal(err.ct_state, CT_RELATED);
	assert_ptr_equal(err.ct, e);
	err.inner.dport = 54;
	run(t, &err, T0);
	assert_int_equal(err.ct_state, CT_INVALID);
	ct_destroy(t);
}

/* ---- generic, fragments, untracked ---- */

static void gen_fill(struct pkt *p, uint8_t proto, uint32_t src, uint32_t dst)
{
	memset(p, 0, sizeof(*p));
	p->family = 4;
	p->proto = proto;
	p->src.v4 = src;
	p->dst.v4 = dst;
	p->ip_len = 100;
}

static void test_generic(void **state)
{
	struct ct_table *t = mk(true, 64);
	uint32_t a = ip4(10, 1, 1, 1), b = ip4(10, 2, 2, 2);
	struct pkt p;

	gen_fill(&p, 47, a, b);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	struct ct_entry *gre = p.ct;
	assert_int_equal(gre->expires, T0 + ct_get_config(t)->timeout[CTO_GENERIC]);
	gen_fill(&p, 47, a, b);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	gen_fill(&p, 47, b, a);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_int_equal(p.ct_dir, 1);
	gen_fill(&p, 47, a, b);
	run(t, &p, T0);
	assert_true(gre->status & CTS_ASSURED);

	/* ESP: the same, never assured; a different protocol is another entry */
	gen_fill(&p, 50, a, b);
	run(t, &p, T0);
	struct ct_entry *esp = p.ct;
	assert_ptr_not_equal(esp, gre);
	gen_fill(&p, 50, b, a);
	run(t, &p, T0);
	gen_fill(&p, 50, a, b);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	assert_false(esp->status & CTS_ASSURED);
	assert_int_equal(ct_count(t), 2);
	ct_destroy(t);
}

static void test_fragments_untracked_nonip(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct pkt p;

	udp_fill(&p, ip4(1, 1, 1, 1), 1, ip4(2, 2, 2, 2), 2, 3000);
	p.flags |= PKT_F_FRAGMENT | PKT_F_FRAG_FIRST;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NEW);
	udp_fill(&p, ip4(1, 1, 1, 1), 0, ip4(2, 2, 2, 2), 0, 1000);
	p.flags = PKT_F_FRAGMENT;
	p.frag_off = 1480;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_INVALID);

	udp_fill(&p, ip4(1, 1, 1, 1), 1, ip4(2, 2, 2, 2), 2, 10);
	p.ct_state = CT_UNTRACKED; /* raw notrack */
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_UNTRACKED);
	assert_null(p.ct);

	memset(&p, 0, sizeof(p)); /* ARP */
	p.ethertype = 0x0806;
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_NONE);
	assert_null(p.ct);
	assert_int_equal(ct_count(t), 1);

	struct ct_config c = *ct_get_config(t);
	c.enabled = false;
	ct_set_config(t, &c);
	udp_fill(&p, ip4(1, 1, 1, 1), 9, ip4(2, 2, 2, 2), 9, 10);
	run(t, &p, T0);
	assert_int_equal(p.ct_state, CT_UNTRACKED);
	assert_null(p.ct);
	ct_destroy(t);
}

/* ---- table ---- */

static struct ct_entry *udp_flow(struct ct_table *t, uint32_t i, uint64_t now, int *rc)
{
	struct pkt p;
	udp_fill(&p, ip4(10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff), (uint16_t)(1024 + (i % 5000)),
		 ip4(172, 16, 0, 1), 53, 10);
	ct_in(t, &p, now);
	if (!p.ct)
		return NULL;
	*rc = ct_confirm(t, &p, now);
	return p.ct;
}

static void udp_reply(struct ct_table *t, const struct ct_entry *e, uint64_t now, struct pkt *p)
{
	udp_fill(p, e->t[1].src, e->t[1].sport, e->t[1].dst, e->t[1].dport, 10);
	run(t, p, now);
}

static void test_expire_budget(void **state)
{
	struct ct_table *t = mk(true, 64);
	int rc;

	for (uint32_t i = 0; i < 10; i++)
		udp_flow(t, i, T0 + i, &rc);
	struct pkt p;
	gen_fill(&p, 47, 1, 2); /* lives 10 min */
	run(t, &p, T0);
	assert_int_equal(ct_count(t), 11);
	assert_int_equal(ct_expire(t, T0 + 5 * SEC, 100), 0);
	assert_int_equal(ct_expire(t, T0 + 10 * SEC + 4, 3), 3);
	assert_int_equal(ct_expire(t, T0 + 10 * SEC + 4, 100), 2);
	assert_int_equal(ct_expire(t, T0 + 60 * SEC, 100), 5);
	assert_int_equal(ct_count(t), 1);
	ct_destroy(t);
}

/* A refresh within the class moves the entry only a step at a time
 * (1/64 of the timeout, at most 1 s): between steps nothing changes, and
 * the entry never expires more than a step before timeout after its last
 * packet. */
static void test_refresh_steps(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct pkt p;
	int rc;
	struct ct_entry *e = udp_flow(t, 1, T0, &rc);
	udp_reply(t, e, T0, &p);
	udp_fill(&p, e->t[0].src, e->t[0].sport, e->t[0].dst, 53, 10);
	run(t, &p, T0); /* assured: udp-stream-timeout, 180 s, step 1 s */
	uint64_t to = ct_get_config(t)->timeout[CTO_UDP_STREAM];
	assert_int_equal(e->expires, T0 + to);
	for (uint64_t at = T0 + SEC / 10; at < T0 + SEC; at += SEC / 10) {
		run(t, &p, at);
		assert_int_equal(e->expires, T0 + to);
		assert_true(e->expires + SEC > at + to);
	}
	run(t, &p, T0 + SEC);
	assert_int_equal(e->expires, T0 + SEC + to);
	/* the unreplied class: 10 s, step 156.25 ms */
	struct ct_entry *f = udp_flow(t, 2, T0, &rc);
	uint64_t u = ct_get_config(t)->timeout[CTO_UDP];
	udp_fill(&p, f->t[0].src, f->t[0].sport, f->t[0].dst, 53, 10);
	run(t, &p, T0 + u / 64 - 1);
	assert_int_equal(f->expires, T0 + u);
	run(t, &p, T0 + u / 64);
	assert_int_equal(f->expires, T0 + u / 64 + u);
	ct_destroy(t);
}

static void test_table_full(void **state)
{
	struct ct_table *t = mk(true, 4);
	struct ct_entry *e[8];
	struct pkt p;
	int rc = 0;

	/* (use is ordered in steps of 1/64 of the timeout: see refresh) */
	for (uint32_t i = 0; i < 4; i++) {
		e[i] = udp_flow(t, i, T0 + i * SEC / 5, &rc);
		assert_int_equal(rc, 0);
	}
	/* full: the least recently used unreplied flow makes room */
	udp_reply(t, e[0], T0 + SEC, &p); /* flow 0 used last now */
	struct ct_entry *n = udp_flow(t, 4, T0 + SEC + 1, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(n);
	assert_int_equal(ct_count(t), 4);
	udp_reply(t, n, T0 + SEC + 2, &p);
	assert_int_equal(p.ct_state, CT_ESTABLISHED);
	udp_fill(&p, ip4(10, 0, 0, 1), 1025, ip4(172, 16, 0, 1), 53, 10); /* flow 1 went */
	ct_in(t, &p, T0 + SEC + 3);
	assert_int_equal(p.ct_state, CT_NEW);
	ct_discard(t, &p);
	assert_null(p.ct);

	/* make every entry assured: nothing may be evicted */
	ct_flush(t);
	assert_int_equal(ct_count(t), 0);
	for (uint32_t i = 0; i < 4; i++) {
		e[i] = udp_flow(t, 100 + i, T0, &rc);
		udp_reply(t, e[i], T0, &p);
		udp_fill(&p, e[i]->t[0].src, e[i]->t[0].sport, e[i]->t[0].dst, 53, 10);
		run(t, &p, T0);
		assert_true(e[i]->status & CTS_ASSURED);
	}
	n = udp_flow(t, 200, T0 + 1, &rc);
	assert_int_equal(rc, -1);
	assert_int_equal(ct_count(t), 4);
	for (uint32_t i = 0; i < 4; i++) {
		udp_reply(t, e[i], T0 + 2, &p);
		assert_ptr_equal(p.ct, e[i]);
	}

	/* three assured and one not: that one goes */
	ct_remove(t, e[3]);
	e[3] = udp_flow(t, 300, T0 + 3, &rc);
	assert_int_equal(ct_count(t), 4);
	n = udp_flow(t, 301, T0 + 4, &rc);
	assert_int_equal(rc, 0);
	assert_int_equal(ct_count(t), 4);
	for (uint32_t i = 0; i < 3; i++) {
		udp_reply(t, e[i], T0 + 5, &p);
		assert_ptr_equal(p.ct, e[i]);
	}
	/* an expired entry is reused before anything is evicted */
	n = udp_flow(t, 302, T0 + 3 * 60 * SEC, &rc);
	assert_int_equal(rc, 0);
	ct_destroy(t);
}

static void test_many_entries(void **state)
{
	enum { N = 100000 };
	struct ct_table *t = mk(true, 131072);
	static struct ct_entry *e[N];
	struct pkt p;
	int rc;

	for (uint32_t i = 0; i < N; i++) {
		e[i] = udp_flow(t, i, T0, &rc);
		assert_int_equal(rc, 0);
	}
	assert_int_equal(ct_count(t), N);
	for (uint32_t i = 0; i < N; i++) {
		udp_reply(t, e[i], T0 + SEC, &p);
		if (p.ct != e[i] || p.ct_dir != 1)
			fail_msg("reply %u not found", i);
		struct ct_tuple k0, k1;
		ct_entry_tuple(e[i], 0, &k0);
		ct_entry_tuple(e[i], 1, &k1);
		assert_true(ct_reply_taken(t, &k1));
		assert_true(ct_reply_taken(t, &k0));
	}
	for (uint32_t i = 0; i < N; i += 2)
		ct_remove(t, e[i]);
	assert_int_equal(ct_count(t), N / 2);
	for (uint32_t i = 0; i < N; i++) {
		udp_fill(&p, ip4(10, (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
			 (uint16_t)(1024 + (i % 5000)), ip4(172, 16, 0, 1), 53, 10);
		ct_in(t, &p, T0 + 2 * SEC);
		if (i % 2 == 0) {
			assert_int_equal(p.ct_state, CT_NEW);
			ct_discard(t, &p);
		} else if (p.ct != e[i] || p.ct_state != CT_ESTABLISHED) {
			fail_msg("entry %u lost", i);
		}
	}

	/* a new size rehashes everything */
	struct ct_config c = *ct_get_config(t);
	c.max_entries = 1 << 20;
	ct_set_config(t, &c);
	for (uint32_t i = 1; i < N; i += 2) {
		udp_reply(t, e[i], T0 + 3 * SEC, &p);
		if (p.ct != e[i])
			fail_msg("entry %u lost after rehash", i);
	}
	ct_destroy(t);
}

static int count_cb(void *ctx, struct ct_entry *e)
{
	(*(size_t *)ctx)++;
	return 0;
}

static int stop_cb(void *ctx, struct ct_entry *e)
{
	return ++(*(size_t *)ctx) == 3 ? 7 : 0;
}

static int remove_cb(void *ctx, struct ct_entry *e)
{
	ct_remove(ctx, e);
	return 0;
}

static void test_api(void **state)
{
	struct ct_table *t = mk(true, 64);
	struct pkt p;
	int rc;

	for (uint32_t i = 0; i < 10; i++)
		udp_flow(t, i, T0, &rc);
	size_t n = 0;
	assert_int_equal(ct_foreach(t, count_cb, &n), 0);
	assert_int_equal(n, 10);
	n = 0;
	assert_int_equal(ct_foreach(t, stop_cb, &n), 7);
	assert_int_equal(n, 3);

	/* an unconfirmed entry is invisible until confirmed, gone if discarded */
	udp_fill(&p, ip4(9, 9, 9, 9), 1, ip4(8, 8, 8, 8), 2, 10);
	ct_in(t, &p, T0);
	assert_non_null(p.ct);
	struct ct_tuple reply;
	ct_entry_tuple(p.ct, 1, &reply);
	assert_false(ct_reply_taken(t, &reply));
	assert_int_equal(ct_count(t), 10);
	ct_discard(t, &p);
	assert_null(p.ct);
	assert_false(ct_reply_taken(t, &reply));
	ct_in(t, &p, T0);
	assert_int_equal(ct_confirm(t, &p, T0), 0);
	assert_int_equal(ct_confirm(t, &p, T0), 0); /* no-op */
	assert_true(ct_reply_taken(t, &reply));
	reply.src.v6[8] = 0xee; /* garbage past an IPv4 address is ignored */
	assert_true(ct_reply_taken(t, &reply));
	reply.dport++;
	assert_false(ct_reply_taken(t, &reply));
	assert_int_equal(ct_count(t), 11);

	/* expired entries are neither listed nor taken, before collection */
	assert_int_equal(ct_expire(t, T0 + 11 * SEC, 0), 0);
	n = 0;
	ct_foreach(t, count_cb, &n);
	assert_int_equal(n, 0);
	ct_entry_tuple(p.ct, 1, &reply);
	assert_false(ct_reply_taken(t, &reply)); /* and the lookup collects it */
	assert_int_equal(ct_count(t), 10);
	assert_int_equal(ct_expire(t, T0 + 11 * SEC, 100), 10);

	for (uint32_t i = 0; i < 5; i++)
		udp_flow(t, 50 + i, T0 + 20 * SEC, &rc);
	ct_foreach(t, remove_cb, t);
	assert_int_equal(ct_count(t), 0);
	for (uint32_t i = 0; i < 5; i++)
		udp_flow(t, 60 + i, T0 + 20 * SEC, &rc);
	ct_flush(t);
	assert_int_equal(ct_count(t), 0);
	ct_destroy(t);
	ct_destroy(NULL);
}

static void test_names_and_defaults(void **state)
{
	static const char *const tcp[] = { "none", "syn-sent", "syn-received", "established",
					   "fin-wait", "close-wait", "last-ack", "time-wait",
					   "close", "syn-sent-2" };
	for (uint8_t i = 0; i < TCP_CONNTRACK_MAX; i++)
		assert_string_equal(ct_tcp_state_name(i), tcp[i]);
	assert_string_equal(ct_tcp_state_name(200), "unknown");
	assert_string_equal(ct_state_name(CT_NEW), "new");
	assert_string_equal(ct_state_name(CT_ESTABLISHED), "established");
	assert_string_equal(ct_state_name(CT_RELATED), "related");
	assert_string_equal(ct_state_name(CT_INVALID), "invalid");
	assert_string_equal(ct_state_name(CT_UNTRACKED), "untracked");

	struct ct_config c;
	ct_config_default(&c);
	assert_true(c.enabled);
	assert_true(c.loose);
	assert_int_equal(c.max_entries, 65536);
	static const struct {
		enum ct_timeout i;
		uint64_t s;
	} want[] = {
		{ CTO_TCP_SYN_SENT, 5 },     { CTO_TCP_SYN_RECV, 5 },     { CTO_TCP_ESTABLISHED, 86400 },
		{ CTO_TCP_FIN_WAIT, 10 },    { CTO_TCP_CLOSE_WAIT, 10 },  { CTO_TCP_LAST_ACK, 10 },
		{ CTO_TCP_TIME_WAIT, 10 },   { CTO_TCP_CLOSE, 10 },       { CTO_TCP_MAX_RETRANS, 300 },
		{ CTO_TCP_UNACKED, 300 },    { CTO_UDP, 10 },             { CTO_UDP_STREAM, 180 },
		{ CTO_ICMP, 10 },            { CTO_GENERIC, 600 },
	};
	for (size_t i = 0; i < NROWS(want); i++)
		assert_int_equal(c.timeout[want[i].i], want[i].s * SEC);

	print_message("ct_entry_size: %zu bytes (struct ct_entry %zu)\n", ct_entry_size(),
		      sizeof(struct ct_entry));
	/* the budget: <= 160 bytes per IPv4 entry, NAT and bucket included */
	assert_true(ct_entry_size() >= sizeof(struct ct_entry) + sizeof(uint32_t));
	assert_true(ct_entry_size() <= 160);
}

/* IPv4 and IPv6 entries side by side, over several pool chunks of both:
 * every entry is found from either direction with its own addresses, the
 * table holds max-entries of the two together, and freed slots of either
 * pool are reused. */
static void udp6_fill(struct pkt *p, unsigned i, bool reply)
{
	memset(p, 0, sizeof(*p));
	p->family = 6;
	p->proto = 17;
	p->flags = PKT_F_L4;
	uint8_t *a = reply ? p->dst.v6 : p->src.v6, *b = reply ? p->src.v6 : p->dst.v6;
	a[0] = 0x20, a[1] = 0x01, a[13] = (uint8_t)(i >> 16), a[14] = (uint8_t)(i >> 8);
	a[15] = (uint8_t)i;
	b[0] = 0x26, b[1] = 0x06, b[15] = 0x53;
	p->sport = reply ? 53 : (uint16_t)(1024 + i % 7);
	p->dport = reply ? (uint16_t)(1024 + i % 7) : 53;
	p->l4_len = 18;
	p->ip_len = 58;
}

static void test_mixed_families(void **state)
{
	enum { N = 9000 }; /* more than two chunks of each pool */
	struct ct_table *t = mk(true, 2 * N);
	static struct ct_entry *v4[N], *v6[N];
	struct pkt p;
	int rc;

	for (uint32_t i = 0; i < N; i++) {
		v4[i] = udp_flow(t, i, T0, &rc);
		assert_int_equal(rc, 0);
		udp6_fill(&p, i, false);
		run(t, &p, T0);
		assert_int_equal(p.ct_state, CT_NEW);
		v6[i] = p.ct;
	}
	assert_int_equal(ct_count(t), 2 * N);
	for (uint32_t i = 0; i < N; i++) {
		udp_reply(t, v4[i], T0 + SEC, &p);
		if (p.ct != v4[i] || p.ct_dir != 1)
			fail_msg("IPv4 reply %u not found", i);
		udp6_fill(&p, i, true);
		run(t, &p, T0 + SEC);
		if (p.ct != v6[i] || p.ct_dir != 1 || p.ct_state != CT_ESTABLISHED)
			fail_msg("IPv6 reply %u not found", i);
		struct ct_tuple k;
		ct_entry_tuple(v6[i], 1, &k);
		assert_int_equal(k.family, 6);
		assert_int_equal(k.src.v6[0], 0x26);
		assert_int_equal(k.dst.v6[15], (uint8_t)i);
		assert_int_equal(k.dport, 1024 + i % 7);
		assert_true(ct_reply_taken(t, &k));
	}
	/* free the odd IPv6 and even IPv4 entries; refill with the other family */
	for (uint32_t i = 0; i < N; i += 2) {
		ct_remove(t, v6[i + 1]);
		ct_remove(t, v4[i]);
	}
	assert_int_equal(ct_count(t), N);
	for (uint32_t i = 0; i < N; i++) {
		udp6_fill(&p, N + 10 + i, false);
		run(t, &p, T0 + 3 * SEC);
		assert_int_equal(p.ct_state, CT_NEW);
	}
	assert_int_equal(ct_count(t), 2 * N);
	for (uint32_t i = 0; i < N; i += 2) {
		udp_reply(t, v4[i + 1], T0 + 4 * SEC, &p);
		assert_ptr_equal(p.ct, v4[i + 1]);
		udp6_fill(&p, i, true);
		run(t, &p, T0 + 4 * SEC);
		assert_ptr_equal(p.ct, v6[i]);
	}
	/* full: one more of either family evicts a non-assured entry */
	udp6_fill(&p, 3 * N, false);
	run(t, &p, T0 + 5 * SEC);
	assert_int_equal(ct_count(t), 2 * N);
	ct_flush(t);
	assert_int_equal(ct_count(t), 0);
	ct_destroy(t);
}

static void test_siphash_vectors(void **state)
{
	/* reference vectors of the SipHash paper: key 00..0f, message 00..n-1 */
	static const uint64_t want[] = {
		0x726fdb47dd0e0e31ull, 0x74f839c593dc67fdull, 0x0d6c8009d9a94f5aull,
		0x85676696d7fb7e2dull, 0xcf2794e0277187b7ull, 0x18765564cd99a68dull,
		0xcbc9466e58fee3ceull, 0xab0200f58b01d137ull, 0x93f5f5799a932462ull,
		0x9e0082df0ba9e4b0ull, 0x7a5dbbc594ddb9f3ull, 0xf4b32f46226bada7ull,
		0x751e8fbc860ee5fbull, 0x14ea5627c0843d90ull, 0xf723ca908e7af2eeull,
		0xa129ca6149be45e5ull, 0x3f2acc7f57c29bdbull,
	};
	uint8_t key[16], msg[64];
	for (int i = 0; i < 16; i++)
		key[i] = (uint8_t)i;
	for (int i = 0; i < 64; i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n < NROWS(want); n++)
		assert_int_equal(ct_siphash24(key, msg, n), want[n]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tcp_table),
		cmocka_unit_test(test_tcp_handshake_assured),
		cmocka_unit_test(test_tcp_fin_to_time_wait),
		cmocka_unit_test(test_tcp_syn_reopens_time_wait),
		cmocka_unit_test(test_tcp_resync_after_ignored_syn),
		cmocka_unit_test(test_tcp_simultaneous_open),
		cmocka_unit_test(test_tcp_challenge_ack_in_last_ack),
		cmocka_unit_test(test_tcp_rst_before_reply_kills),
		cmocka_unit_test(test_tcp_window_scaling),
		cmocka_unit_test(test_tcp_loose),
		cmocka_unit_test(test_tcp_malformed),
		cmocka_unit_test(test_udp),
		cmocka_unit_test(test_icmp_echo),
		cmocka_unit_test(test_icmp6),
		cmocka_unit_test(test_icmp_related),
		cmocka_unit_test(test_icmp_related_nat),
		cmocka_unit_test(test_icmp6_related),
		cmocka_unit_test(test_generic),
		cmocka_unit_test(test_fragments_untracked_nonip),
		cmocka_unit_test(test_expire_budget),
		cmocka_unit_test(test_refresh_steps),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_many_entries),
		cmocka_unit_test(test_mixed_families),
		cmocka_unit_test(test_api),
		cmocka_unit_test(test_names_and_defaults),
		cmocka_unit_test(test_siphash_vectors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
