/*
 * libFuzzer target for software GRO and its cut (src/io/gro.c).
 *
 * Input: a frame, then a tail of control bytes. The frame is the first
 * segment of a stream; each pair of control bytes makes a further one
 * from it (the next sequence number and IPv4 id, a payload length, and
 * sometimes one header byte flipped), so most streams merge and some
 * do not for every reason there is. They go through the dataplane's loop
 * (gro_parse, gro_same_conn, gro_follows, gro_add, gro_finish), each
 * frame copied into a buffer of exactly its size so ASan sees any read
 * past it. Separately the raw input goes through gro_hdr_len, gro_segs
 * and gro_cut with an mss from the input.
 *
 * Checked (abort() = a real bug): a merged packet is at most GRO_FRAME_MAX
 * bytes and GRO_MAX_SEGS segments, and parses (pkt_parse) as TCP with the
 * payload of its segments; cut with its mss it gives back exactly the
 * frames that joined it, in order, byte for byte once both checksums are
 * finished; gro_cut never writes past the room it is given.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"
#include "io/gro.h"
#include "io/io.h"

#define MAX_FRAME 2048u
#define MAX_SEGS 24u

static uint8_t frames[MAX_SEGS][MAX_FRAME];
static uint32_t lens[MAX_SEGS];
static bool partial[MAX_SEGS];
static uint8_t merged[GRO_FRAME_MAX];
static uint8_t out[MAX_FRAME + 64];

static void die(const char *what, uint32_t i)
{
	fprintf(stderr, "fuzz_gro: %s (segment %u)\n", what, i);
	abort();
}

static uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* Segment k from the first: seq and id move on, payload of n bytes. */
static uint32_t derive(uint32_t k, uint32_t seq_step, uint16_t n, uint8_t flip_at, uint8_t flip)
{
	struct gro_seg s;
	if (gro_parse(frames[0], lens[0], true, &s) != GRO_MERGEABLE)
		return 0;
	uint32_t len = (uint32_t)s.hdr + n;
	if (len > MAX_FRAME)
		return 0;
	uint8_t *f = frames[k];
	memcpy(f, frames[0], s.hdr);
	for (uint32_t i = 0; i < n; i++)
		f[s.hdr + i] = (uint8_t)(k * 31 + i);
	uint8_t *ip = f + 14;
	if (s.family == 4) {
		pkt_put16(ip + 2, (uint16_t)(len - 14));
		pkt_put16(ip + 4, (uint16_t)(s.id + k));
		ip[10] = ip[11] = 0;
		uint16_t c = csum_buf(ip, 20, 0);
		memcpy(ip + 10, &c, 2);
	} else {
		pkt_put16(ip + 4, (uint16_t)(len - 54));
	}
	pkt_put32(f + s.l4 + 4, s.seq + seq_step);
	if (flip && flip_at < s.hdr)
		f[flip_at] ^= flip;
	(void)io_csum_partial(f, len);
	return len;
}

/* Where the IP packet in f ends (Ethernet padding after it is no segment's). */
static uint32_t ip_end(const uint8_t *f)
{
	return f[12] == 0x08 ? 14u + rd16(f + 16) : 54u + rd16(f + 18);
}

/* Merged packet g holds frames first..first+g->segs-1: the cut gives them
 * back. */
static void check_merged(const struct gro_pkt *g, const uint32_t *idx)
{
	if (g->len > GRO_FRAME_MAX || g->segs > GRO_MAX_SEGS)
		die("merged packet too big", 0);
	struct pkt p = { .data = g->buf, .len = g->len, .cap = g->len };
	if (pkt_parse(&p, true, false) != DR_NONE || !(p.flags & PKT_F_L4) || p.proto != 6)
		die("merged packet does not parse as TCP", 0);
	if (gro_segs(g->buf, g->len, g->mss) != g->segs)
		die("gro_segs", 0);
	for (uint32_t i = 0; i < g->segs; i++) {
		uint32_t k = idx[i];
		memset(out, 0xa5, sizeof(out));
		uint32_t n = gro_cut(g->buf, g->len, g->mss, i, out, MAX_FRAME);
		for (uint32_t j = n; j < sizeof(out); j++)
			if (out[j] != 0xa5)
				die("cut wrote past the segment", i);
		static uint8_t want[MAX_FRAME];
		uint32_t wl = ip_end(frames[k]);
		memcpy(want, frames[k], wl);
		(void)io_csum_complete(out, n);
		if (partial[k])
			(void)io_csum_complete(want, wl);
		if (n != wl || memcmp(out, want, n))
			die("cut differs from the segment", i);
	}
}

/* Frame k as a receiver hands it over: partial only when its field holds
 * the pseudo-header's sum (io_csum_looks_partial, as AF_XDP and AF_PACKET
 * decide), else with its checksum finished. */
static void mark(uint32_t k, bool want_partial)
{
	partial[k] = want_partial && io_csum_looks_partial(frames[k], lens[k]);
	if (!want_partial)
		(void)io_csum_complete(frames[k], lens[k]);
}

static void stream(uint32_t n)
{
	struct gro_pkt g;
	uint32_t idx[MAX_SEGS], nidx = 0;
	bool open = false;
	for (uint32_t i = 0; i < n; i++) {
		/* an exact copy: ASan sees a read past the frame */
		uint8_t *f = malloc(lens[i] ? lens[i] : 1);
		memcpy(f, frames[i], lens[i]);
		struct gro_seg s;
		enum gro_kind k = gro_parse(f, lens[i], partial[i], &s);
		bool joined = false;
		if (open && k != GRO_OTHER && k != GRO_BARRIER && gro_same_conn(&g.first, &s) &&
		    k == GRO_MERGEABLE && gro_follows(&g, &s)) {
			gro_add(&g, &s, merged);
			idx[nidx++] = i;
			joined = true;
			if (g.closed) {
				gro_finish(&g);
				check_merged(&g, idx);
				open = false;
			}
		}
		if (!joined && open && k != GRO_OTHER) {
			if (g.segs > 1) {
				gro_finish(&g);
				check_merged(&g, idx);
			}
			open = false;
		}
		if (!joined && k == GRO_MERGEABLE) {
			/* the first stays in its frame until a second joins */
			memcpy(frames[i], f, lens[i]);
			s.f = frames[i];
			gro_start(&g, &s);
			idx[0] = i;
			nidx = 1;
			open = !g.closed;
		}
		free(f);
		if (open && g.first.f != frames[idx[0]])
			die("first segment moved", i);
	}
	if (open && g.segs > 1) {
		gro_finish(&g);
		check_merged(&g, idx);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	/* the raw input through the cut */
	uint16_t mss = rd16(data);
	uint32_t segs = gro_segs(data + 2, (uint32_t)(size - 2), mss);
	(void)gro_hdr_len(data + 2, (uint32_t)(size - 2), NULL);
	for (uint32_t i = 0; i < segs && i < 4; i++) {
		memset(out, 0xa5, sizeof(out));
		uint32_t n = gro_cut(data + 2, (uint32_t)(size - 2), mss, i, out, 256);
		if (n > 256)
			die("cut longer than its room", i);
		for (uint32_t j = 256; j < sizeof(out); j++)
			if (out[j] != 0xa5)
				die("cut wrote past its room", i);
	}

	/* a stream: the frame, then 3 control bytes per further segment */
	uint32_t flen = data[0] % 2 ? 14 + 20 + 20 + 12 : 14 + 40 + 20;
	flen += data[1] % 64;
	if (size < 2 + flen)
		return 0;
	memcpy(frames[0], data + 2, flen);
	lens[0] = flen;
	mark(0, data[0] & 2);
	const uint8_t *c = data + 2 + flen;
	size_t nc = (size - 2 - flen) / 3;
	uint32_t n = 1;
	struct gro_seg s;
	uint32_t seq_step = 0;
	uint16_t mss0 = gro_parse(frames[0], flen, true, &s) == GRO_MERGEABLE ? s.payload : 0;
	seq_step = mss0;
	for (size_t i = 0; i < nc && n < MAX_SEGS && mss0; i++, c += 3) {
		uint16_t pay = c[0] & 0x80 ? (uint16_t)(c[0] & 0x7f) : mss0; /* mostly full */
		uint8_t at = c[1], flip = c[2] & 0x0f ? 0 : c[2];
		uint32_t l = derive(n, seq_step, pay, at, flip);
		if (!l)
			break;
		lens[n] = l;
		mark(n, !(c[2] & 0x10));
		seq_step += pay;
		n++;
	}
	stream(n);
	return 0;
}
