/*
 * fuzz_flow: conntrack and the rules over packet sequences, and FastTrack's
 * flow cache against the full path. The input is a series of records:
 * [interface byte][length byte][frame bytes...]; every frame runs through
 * the packet flow on advancing virtual time, so connection state, NAT
 * bindings, fragment queues and rule state carry from one packet to the
 * next; records whose interface byte has bit 7 set join the next one in a
 * burst (engine_input_burst); bit 6 says the frame came with its
 * transport checksum partial (PKT_RX_L4_PARTIAL). Each input starts with empty connection
 * tables and runs through three engines:
 *  - the default configuration (SOHO firewall, NAT, marks);
 *  - the same with a fasttrack-connection rule first in forward, and a raw
 *    rule that lists and drops by a dynamic address list, so the flow
 *    cache, its parse and its rewrite see the same sequences;
 *  - that configuration again, traced: a trace turns the cache off, so
 *    every packet takes the full path.
 * The last two are a differential: after every packet (every burst) their
 * verdicts, reasons, routes, the bytes that leave, any reply, and the
 * whole connection table must be the same, or the target aborts. Also: no
 * crash or sanitizer report, and a forwarded packet still parses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/names.h"

enum { PLAIN, CACHE, FULL, NENG };
static struct engine *en[NENG];
static uint16_t ifs[3];

static void quiet(void *ctx, const char *stage, const char *text)
{
	(void)ctx;
	(void)stage;
	(void)text;
}

static void setup(void)
{
	struct store *st;
	struct err e;
	if (store_open(&st, ":memory:", &e) < 0)
		abort();
	static struct conf_session s;
	conf_session_init(&s, st, "fuzz");
	if (conf_store_init(&s, true, &e) < 0)
		abort();
	en[PLAIN] = engine_new();
	if (engine_load(en[PLAIN], st, &e) < 0)
		abort();
	static const char *const ft[] = {
		"/ip firewall filter add chain=forward action=fasttrack-connection "
		"connection-state=established,related place-before=0",
		"/ip firewall raw add chain=prerouting action=drop src-address-list=fuzz-bad",
		"/ip firewall raw add chain=prerouting action=add-src-to-address-list "
		"address-list=fuzz-bad address-list-timeout=10s protocol=tcp dst-port=23",
	};
	for (size_t i = 0; i < sizeof(ft) / sizeof(ft[0]); i++)
		if (conf_exec(&s, ft[i], NULL, &e) < 0)
			abort();
	for (int k = CACHE; k <= FULL; k++) {
		en[k] = engine_new();
		if (engine_load(en[k], st, &e) < 0)
			abort();
	}
	engine_set_trace(en[FULL], quiet, NULL);
	ifs[0] = (uint16_t)name_intern(NS_IFACE, "ether1-gateway");
	ifs[1] = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	ifs[2] = (uint16_t)name_intern(NS_IFACE, "wlan1");
	/* the store stays open for the engine's lifetime (the process's) */
}

static void differ(const char *what, size_t n)
{
	fprintf(stderr, "fuzz_flow: the flow cache and the full path differ at packet %zu: %s\n",
		n, what);
	abort();
}

/* A forwarded packet must still parse. */
static void check(const struct pkt *p, const struct engine_out *out)
{
	if (out->verdict == EV_FORWARD) {
		/* what leaves is p->data: a reassembled datagram is the engine's */
		struct pkt q = { .data = p->data, .len = p->len, .cap = p->cap };
		if (pkt_parse(&q, true, false) != DR_NONE)
			abort();
	}
}

/* What one packet did on the cache's engine and on the full path's. */
static void same_out(const struct pkt *a, const struct engine_out *x, const struct pkt *b,
		     const struct engine_out *y, size_t n)
{
	if (x->verdict != y->verdict)
		differ("verdict", n);
	if (x->reason != y->reason)
		differ("reason", n);
	if (x->out_if != y->out_if || x->nexthop != y->nexthop)
		differ("route", n);
	if (x->fasttrack != y->fasttrack)
		differ("fasttrack", n);
	if (x->verdict == EV_FORWARD && a->rx_flags != b->rx_flags)
		differ("whether the checksum is still partial", n);
	if (x->verdict != EV_FORWARD && (x->table != y->table || x->rule_id != y->rule_id))
		differ("deciding rule", n);
	if (x->reply_len != y->reply_len || x->reply_if != y->reply_if ||
	    memcmp(x->reply, y->reply, x->reply_len))
		differ("reply", n);
	if (x->verdict == EV_FORWARD && (a->len != b->len || memcmp(a->data, b->data, a->len)))
		differ("bytes out", n);
	if (a->ct_state != b->ct_state)
		differ("connection state of the packet", n);
}

/* The connection table, sorted, in a form to compare. */
struct conn {
	struct ct_ends t[2];
	uint8_t proto, family, tcp_state, helper;
	uint16_t status;
	uint32_t mark;
	uint64_t expires;
	uint64_t bytes[2];
	uint32_t packets[2];
	struct ct_tcp_dir tcp[2];
};

enum { MAX_CONNS = 4096 };
struct conns {
	struct conn c[MAX_CONNS];
	size_t n;
};

static int collect(void *ctx, struct ct_entry *e)
{
	struct conns *l = ctx;
	if (l->n == MAX_CONNS)
		return 1;
	struct conn *c = &l->c[l->n++];
	memset(c, 0, sizeof(*c));
	memcpy(c->t, e->t, sizeof(c->t));
	c->proto = e->proto;
	c->family = e->family;
	c->tcp_state = e->tcp_state;
	c->helper = e->helper;
	c->status = e->status;
	c->mark = e->mark;
	c->expires = e->expires;
	memcpy(c->bytes, e->bytes, sizeof(c->bytes));
	memcpy(c->packets, e->packets, sizeof(c->packets));
	for (int d = 0; d < 2; d++) {
		c->tcp[d].end = e->tcp[d].end;
		c->tcp[d].maxend = e->tcp[d].maxend;
		c->tcp[d].maxwin = e->tcp[d].maxwin;
		c->tcp[d].scale = e->tcp[d].scale;
		c->tcp[d].flags = e->tcp[d].flags;
	}
	return 0;
}

static int conn_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct conn));
}

static void same_table(size_t n)
{
	static struct conns l[2];
	for (int k = 0; k < 2; k++) {
		l[k].n = 0;
		ct_foreach(engine_ct(en[CACHE + k]), collect, &l[k]);
		qsort(l[k].c, l[k].n, sizeof(l[k].c[0]), conn_cmp);
	}
	if (l[0].n != l[1].n)
		differ("number of connections", n);
	for (size_t i = 0; i < l[0].n; i++)
		if (memcmp(&l[0].c[i], &l[1].c[i], sizeof(l[0].c[i])))
			differ("a connection", n);
}

enum { BURST = 8 };

/* One engine's run of a burst (or a single packet). */
static void run_one(struct engine *e, const uint8_t frames[][2048], const uint32_t *len,
		    const uint16_t *in, const uint8_t *rx, size_t nb, uint64_t now,
		    uint8_t buf[][2048], struct pkt *p, struct engine_out *out)
{
	struct pkt *v[BURST];
	for (size_t j = 0; j < nb; j++) {
		memcpy(buf[j], frames[j], len[j]);
		p[j] = (struct pkt){ .data = buf[j], .len = len[j], .cap = sizeof(buf[j]),
				     .rx_flags = rx[j] };
		v[j] = &p[j];
	}
	if (nb == 1) {
		engine_input(e, &p[0], in[0], now, &out[0]);
		check(&p[0], &out[0]);
		return;
	}
	for (size_t done = 0; done < nb;) {
		size_t k = engine_input_burst(e, v + done, in + done, nb - done, now, out + done);
		for (size_t j = done; j < done + k; j++)
			check(v[j], &out[j]);
		done += k;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t frames[BURST][2048], buf[NENG][BURST][2048];
	static struct engine_out out[NENG][BURST];
	static uint64_t clock = 1000000000ull;
	struct pkt p[NENG][BURST];
	uint32_t len[BURST];
	uint16_t in[BURST];
	uint8_t rx[BURST];
	size_t nb = 0, i = 0, npkt = 0;

	if (!en[PLAIN])
		setup();
	/* each input on empty tables (rule state and address lists carry) */
	for (int k = 0; k < NENG; k++)
		ct_flush(engine_ct(en[k]));
	uint64_t now = clock;
	while (i + 2 <= size) {
		/* interface byte: the interface, in bit 6 "the transport
		 * checksum came partial" and in bit 7 "joins a burst" */
		uint16_t ifid = ifs[(data[i] & 0x3f) % 3];
		rx[nb] = data[i] & 0x40 ? PKT_RX_L4_PARTIAL : 0;
		bool join = data[i] & 0x80;
		size_t l = data[i + 1];
		i += 2;
		if (l > size - i)
			l = size - i;
		memcpy(frames[nb], data + i, l);
		i += l;
		now += 1000000ull * (1 + data[i - 1 < size ? i - 1 : 0] % 50);
		len[nb] = (uint32_t)l;
		in[nb] = ifid;
		nb++;
		if (join && nb < BURST && i + 2 <= size)
			continue;
		for (int k = 0; k < NENG; k++)
			run_one(en[k], (const uint8_t(*)[2048])frames, len, in, rx, nb, now,
				buf[k], p[k], out[k]);
		for (size_t j = 0; j < nb; j++)
			same_out(&p[CACHE][j], &out[CACHE][j], &p[FULL][j], &out[FULL][j], npkt + j);
		npkt += nb;
		same_table(npkt - 1);
		nb = 0;
	}
	for (int k = 0; k < NENG; k++)
		engine_tick(en[k], now);
	same_table(npkt);
	clock = now;
	return 0;
}
