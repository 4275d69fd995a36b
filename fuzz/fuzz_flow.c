/*
 * fuzz_flow: conntrack and the rules over packet sequences. The input is a
 * series of records: [interface byte][length byte][frame bytes...]; every
 * frame runs through the packet flow of the default configuration (SOHO
 * firewall, NAT, marks) on advancing virtual time, so connection state,
 * NAT bindings, fragment queues and rule state carry from one packet to
 * the next. Checks: no crash or sanitizer report, and a forwarded packet
 * still parses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "engine/engine.h"
#include "engine/names.h"

static struct engine *en;
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
	en = engine_new();
	if (engine_load(en, st, &e) < 0)
		abort();
	ifs[0] = (uint16_t)name_intern(NS_IFACE, "ether1-gateway");
	ifs[1] = (uint16_t)name_intern(NS_IFACE, "ether2-master-local");
	ifs[2] = (uint16_t)name_intern(NS_IFACE, "wlan1");
	/* the store stays open for the engine's lifetime (the process's) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!en)
		setup();
	static uint64_t now = 1000000000ull;
	static uint8_t frame[2048];
	static struct engine_out out;
	size_t i = 0;
	while (i + 2 <= size) {
		uint16_t ifid = ifs[data[i] % 3];
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		memcpy(frame, data + i, len);
		i += len;
		now += 1000000ull * (1 + data[i - 1 < size ? i - 1 : 0] % 50);
		struct pkt p = { .data = frame, .len = (uint32_t)len, .cap = sizeof(frame) };
		engine_input(en, &p, ifid, now, &out);
		if (out.verdict == EV_FORWARD) {
			/* what leaves is p.data: a reassembled datagram is the engine's */
			struct pkt q = { .data = p.data, .len = p.len, .cap = p.cap };
			if (pkt_parse(&q, true, false) != DR_NONE)
				abort();
		}
	}
	engine_tick(en, now);
	return 0;
}
