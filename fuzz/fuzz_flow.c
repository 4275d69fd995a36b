/*
 * fuzz_flow: conntrack and the rules over packet sequences. The input is a
 * series of records: [interface byte][length byte][frame bytes...]; every
 * frame runs through the packet flow of the default configuration (SOHO
 * firewall, NAT, marks) on advancing virtual time, so connection state,
 * NAT bindings, fragment queues and rule state carry from one packet to
 * the next; records whose interface byte has bit 7 set join the next one
 * in a burst (engine_input_burst). Every input runs twice: through that
 * configuration, and through the same with a fasttrack-connection rule
 * first in forward (so FastTrack's flow cache, its parse and its rewrite
 * see the same sequences). Checks: no crash or sanitizer report, and a
 * forwarded packet still parses.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/names.h"

static struct engine *en[2]; /* the default configuration; the same with FastTrack */
static uint16_t ifs[3];

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
	en[0] = engine_new();
	if (engine_load(en[0], st, &e) < 0)
		abort();
	if (conf_exec(&s, "/ip firewall filter add chain=forward action=fasttrack-connection "
			  "connection-state=established,related place-before=0", NULL, &e) < 0)
		abort();
	en[1] = engine_new();
	if (engine_load(en[1], st, &e) < 0)
		abort();
	ifs[0] = (uint16_t)name_intern(NS_IFACE, "ether1-gateway");
	ifs[1] = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	ifs[2] = (uint16_t)name_intern(NS_IFACE, "wlan1");
	/* the store stays open for the engine's lifetime (the process's) */
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

static void run(struct engine *en, uint64_t *clock, const uint8_t *data, size_t size)
{
	enum { BURST = 8 };
	uint64_t now = *clock;
	static uint8_t frame[BURST][2048];
	static struct engine_out out[BURST];
	struct pkt p[BURST], *v[BURST];
	uint16_t in[BURST];
	size_t nb = 0, i = 0;
	while (i + 2 <= size) {
		/* interface byte: the interface, and in bit 7 "joins a burst" */
		uint16_t ifid = ifs[(data[i] & 0x7f) % 3];
		bool join = data[i] & 0x80;
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		memcpy(frame[nb], data + i, len);
		i += len;
		now += 1000000ull * (1 + data[i - 1 < size ? i - 1 : 0] % 50);
		p[nb] = (struct pkt){ .data = frame[nb], .len = (uint32_t)len, .cap = sizeof(frame[nb]) };
		v[nb] = &p[nb];
		in[nb] = ifid;
		nb++;
		if (join && nb < BURST && i + 2 <= size)
			continue;
		if (nb == 1) {
			engine_input(en, &p[0], ifid, now, &out[0]);
			check(&p[0], &out[0]);
		} else {
			for (size_t done = 0; done < nb;) {
				size_t k = engine_input_burst(en, v + done, in + done, nb - done, now,
							      out + done);
				for (size_t j = done; j < done + k; j++)
					check(v[j], &out[j]);
				done += k;
			}
		}
		nb = 0;
	}
	engine_tick(en, now);
	*clock = now;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint64_t now[2] = { 1000000000ull, 1000000000ull };
	if (!en[0])
		setup();
	for (int k = 0; k < 2; k++)
		run(en[k], &now[k], data, size);
	return 0;
}
