/*
 * io without an interface: backends by name, the choice among them
 * (io_select: bad names change nothing), io_open's errors in every mode,
 * the guess at partial checksums that AF_XDP needs on a veth, and what
 * AF_PACKET does when the kernel says where a pending sum is (finished
 * here or passed on partial; CRC32c).
 * The backends on real interfaces: tests/lab/xdp.sh (needs root).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"
#include "io/io.h"

static void test_find(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		const struct io_ops *ops;
	} t[] = {
		{ "af_packet", &io_afpacket_ops }, { "afpacket", &io_afpacket_ops },
		{ "af_xdp", &io_afxdp_ops },       { "afxdp", &io_afxdp_ops },
		{ "auto", NULL },                  { "AF_XDP", NULL },
		{ "", NULL },                      { "pcap", NULL },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_ptr_equal(io_ops_find(t[i].name), t[i].ops);
	assert_string_equal(io_afxdp_ops.name, "af_xdp");
	assert_string_equal(io_afpacket_ops.name, "af_packet");
}

/* Runs first: nothing selected yet. A ROSFW_IO that names no backend
 * falls back to the default, auto (AF_XDP where it attaches). */
static void test_default(void **state)
{
	(void)state;
	setenv("ROSFW_IO", "pcap", 1);
	assert_string_equal(io_selected(), "auto");
	unsetenv("ROSFW_IO");
}

static void test_select(void **state)
{
	(void)state;
	struct err e;
	static const char *const good[][2] = {
		{ "af_xdp", "af_xdp" }, { "auto", "auto" }, { "afpacket", "af_packet" },
		{ "afxdp", "af_xdp" },  { "af_packet", "af_packet" },
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		err_clear(&e);
		assert_int_equal(io_select(good[i][0], &e), 0);
		assert_string_equal(io_selected(), good[i][1]);
	}
	static const char *const bad[] = { "xdp", "AUTO", "", "af_packet ", NULL };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err_clear(&e);
		assert_int_equal(io_select(bad[i], &e), -1);
		assert_non_null(strstr(e.msg, "af_packet, af_xdp or auto"));
		assert_string_equal(io_selected(), "af_packet"); /* unchanged */
	}
}

static void test_open_errors(void **state)
{
	(void)state;
	static const char *const modes[] = { "af_packet", "af_xdp", "auto" };
	for (size_t i = 0; i < 3; i++) {
		struct err e;
		err_clear(&e);
		assert_int_equal(io_select(modes[i], &e), 0);
		assert_null(io_open("rosfwnone0", &e));
		assert_string_equal(e.msg, "no Linux interface rosfwnone0");
		err_clear(&e);
		assert_null(io_open("a-name-longer-than-ifnamsiz", &e));
		assert_non_null(strstr(e.msg, "interface name too long"));
		assert_null(io_open("rosfwnone0", NULL)); /* no report wanted */
	}
	struct err e;
	assert_int_equal(io_select("af_packet", &e), 0);
}

/* Ethernet + IPv4 + UDP or TCP with 10 bytes of payload */
static uint32_t frame(uint8_t *f, uint8_t proto, uint16_t frag)
{
	memset(f, 0, 128);
	f[12] = 0x08;
	uint8_t *ip = f + 14;
	uint32_t l4 = (proto == 6 ? 20 : 8) + 10;
	ip[0] = 0x45;
	ip[2] = (uint8_t)((20 + l4) >> 8);
	ip[3] = (uint8_t)(20 + l4);
	ip[6] = (uint8_t)(frag >> 8);
	ip[7] = (uint8_t)frag;
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, (uint8_t[]){ 192, 168, 88, 10, 203, 0, 113, 1 }, 8);
	uint8_t *t = ip + 20;
	t[0] = 0x9c;
	t[1] = 0x40;
	t[3] = 7;
	if (proto == 17) {
		t[4] = (uint8_t)(l4 >> 8);
		t[5] = (uint8_t)l4;
	} else {
		t[12] = 0x50;
	}
	for (uint32_t i = l4 - 10; i < l4; i++)
		t[i] = (uint8_t)(i * 13);
	return 14 + 20 + l4;
}

/* the checksum field as a CHECKSUM_PARTIAL sender leaves it */
static void make_partial(uint8_t *f)
{
	uint8_t *ip = f + 14;
	uint32_t l4 = (uint32_t)(ip[2] << 8 | ip[3]) - 20;
	uint32_t s = ip[9] + l4;
	for (int i = 12; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	uint8_t *c = ip + 20 + (ip[9] == 6 ? 16 : 6);
	c[0] = (uint8_t)(s >> 8);
	c[1] = (uint8_t)s;
}

static void make_full(uint8_t *f, uint32_t len)
{
	struct pkt p = { .data = f, .len = len, .cap = len };
	assert_int_equal(pkt_parse(&p, true, false), DR_NONE);
	pkt_fix_checksums(&p);
}

static void test_partial_guess(void **state)
{
	(void)state;
	uint8_t f[128];
	static const uint8_t protos[] = { 17, 6 };
	for (size_t i = 0; i < 2; i++) {
		uint32_t len = frame(f, protos[i], 0);
		make_partial(f);
		assert_true(io_csum_looks_partial(f, len));
		assert_true(io_csum_looks_partial(f, len + 20)); /* Ethernet padding after */
		assert_false(io_csum_looks_partial(f, len - 1));   /* cut short */
		make_full(f, len);
		assert_false(io_csum_looks_partial(f, len));
		/* what the dataplane makes of a partial one is the full one */
		uint8_t g[128];
		memcpy(g, f, sizeof(g));
		make_partial(g);
		make_full(g, len);
		assert_memory_equal(f, g, len);
		/* fragments and other protocols are never partial */
		len = frame(f, protos[i], 0x2000);
		make_partial(f);
		assert_false(io_csum_looks_partial(f, len));
		len = frame(f, protos[i], 0x0010);
		make_partial(f);
		assert_false(io_csum_looks_partial(f, len));
	}
	uint32_t len = frame(f, 17, 0);
	make_partial(f);
	f[14 + 9] = 1; /* ICMP */
	assert_false(io_csum_looks_partial(f, len));
	len = frame(f, 17, 0);
	make_partial(f);
	f[12] = 0x86;
	f[13] = 0xdd; /* not IPv4 */
	assert_false(io_csum_looks_partial(f, len));
	len = frame(f, 17, 0);
	make_partial(f);
	f[14 + 3] = 0xff; /* total length beyond the frame */
	assert_false(io_csum_looks_partial(f, len));
	assert_false(io_csum_looks_partial(f, 20));
}

/* The same guess under a VLAN tag, and for IPv6 */
static void test_partial_guess_v6_vlan(void **state)
{
	(void)state;
	uint8_t f[160], g[160];
	/* IPv4 UDP under an 802.1Q tag: the frame above moved 4 bytes on */
	uint32_t len = frame(g, 17, 0);
	make_partial(g);
	memset(f, 0, sizeof(f));
	memcpy(f, g, 12);
	f[12] = 0x81, f[13] = 0x00, f[14] = 0x00, f[15] = 20;
	memcpy(f + 16, g + 12, len - 12);
	assert_true(io_csum_looks_partial(f, len + 4));
	f[16 + 2 + 20 + 6] ^= 1;
	assert_false(io_csum_looks_partial(f, len + 4));
	/* IPv6 TCP and UDP: the pseudo-header's folded sum in the field */
	for (int t = 0; t < 2; t++) {
		uint8_t proto = t ? 6 : 17;
		uint32_t l4 = (proto == 6 ? 20 : 8) + 10;
		memset(f, 0, sizeof(f));
		f[12] = 0x86, f[13] = 0xdd;
		uint8_t *ip = f + 14;
		ip[0] = 0x60;
		ip[5] = (uint8_t)l4;
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0x20, ip[9] = 0x01, ip[23] = 0x10;
		ip[24] = 0x20, ip[25] = 0x01, ip[39] = 0x01;
		uint32_t sum = proto + l4;
		for (int i = 8; i < 40; i += 2)
			sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
		while (sum >> 16)
			sum = (sum & 0xffff) + (sum >> 16);
		uint8_t *c = ip + 40 + (proto == 6 ? 16 : 6);
		c[0] = (uint8_t)(sum >> 8);
		c[1] = (uint8_t)sum;
		uint32_t n = 14 + 40 + l4;
		assert_true(io_csum_looks_partial(f, n));
		assert_false(io_csum_looks_partial(f, n - 1)); /* cut short */
		ip[6] = 58; /* ICMPv6: never */
		assert_false(io_csum_looks_partial(f, n));
	}
}

/* io_csum_complete finishes what make_partial left: the same bytes as a
 * full computation (pkt_fix_checksums), even and odd segment lengths, under
 * a VLAN tag, IPv6; anything it does not take stays as it was. */
static void test_partial_complete(void **state)
{
	(void)state;
	static const struct {
		uint8_t proto;
		uint32_t shorten; /* bytes off the end: an odd segment */
		bool tagged;
	} t[] = {
		{ 17, 0, false }, { 6, 0, false }, { 17, 1, false },
		{ 6, 3, false },  { 17, 0, true }, { 6, 1, true },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t g[160], f[160], want[160];
		memset(g, 0, sizeof(g));
		uint32_t len = frame(g, t[i].proto, 0) - t[i].shorten;
		uint32_t tot = len - 14;
		g[14 + 2] = (uint8_t)(tot >> 8), g[14 + 3] = (uint8_t)tot;
		if (t[i].proto == 17)
			g[34 + 4] = (uint8_t)((tot - 20) >> 8), g[34 + 5] = (uint8_t)(tot - 20);
		/* the reference: the frame without a tag, summed by the engine
		 * (a UDP checksum of 0 is "none" and would stay 0) */
		if (t[i].proto == 17)
			g[34 + 6] = 1;
		make_full(g, len);
		uint32_t at = 0;
		memset(f, 0, sizeof(f));
		if (t[i].tagged) {
			memcpy(f, g, 12);
			f[12] = 0x81, f[13] = 0x00, f[15] = 7;
			memcpy(f + 16, g + 12, len - 12);
			len += 4;
			at = 4;
		} else {
			memcpy(f, g, len);
		}
		make_partial(f + at);
		assert_true(io_csum_complete(f, len + 6)); /* padding after is not summed */
		memcpy(want, f, 12);
		memcpy(want + 12 + at, g + 12, len - at - 12);
		if (t[i].tagged)
			memcpy(want + 12, f + 12, 4);
		assert_memory_equal(f, want, len);
		struct pkt p = { .data = f, .len = len, .cap = len };
		assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
	}
	/* what it does not take: unchanged */
	uint8_t f[160], g[160];
	uint32_t len = frame(f, 6, 0x2000); /* a fragment */
	make_partial(f);
	memcpy(g, f, sizeof(g));
	assert_false(io_csum_complete(f, len));
	assert_false(io_csum_complete(f, len - 1)); /* cut short */
	f[14 + 9] = 1; /* ICMP */
	g[14 + 9] = 1;
	assert_false(io_csum_complete(f, len));
	assert_memory_equal(f, g, len);
	assert_false(io_csum_complete(f, 13));
	/* IPv6 UDP whose sum comes to 0: sent as 0xffff, never "no checksum" */
	memset(f, 0, sizeof(f));
	f[12] = 0x86, f[13] = 0xdd;
	uint8_t *ip = f + 14;
	ip[0] = 0x60, ip[5] = 10, ip[6] = 17, ip[7] = 64;
	ip[40 + 4] = 0, ip[40 + 5] = 10;
	uint32_t n = 14 + 40 + 10;
	/* payload chosen so the whole sum folds to 0xffff: the pseudo-header
	 * (17 + 10, twice the length) and the UDP length, 10 */
	uint32_t rest = 17 + 10 + 10;
	uint16_t pad = (uint16_t)(0xffff - rest);
	ip[40 + 8] = (uint8_t)(pad >> 8), ip[40 + 9] = (uint8_t)pad;
	ip[40 + 6] = (uint8_t)((17 + 10) >> 8), ip[40 + 7] = (uint8_t)(17 + 10);
	assert_true(io_csum_complete(f, n));
	assert_int_equal(ip[40 + 6], 0xff);
	assert_int_equal(ip[40 + 7], 0xff);
	struct pkt p = { .data = f, .len = n, .cap = n };
	assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
}

/* An IPv6 extension header for v6frame: its type, its length in bytes
 * (a multiple of 8) and, for a routing header, its segments left and its
 * routing type. */
struct v6ext {
	uint8_t type;
	uint8_t len;
	uint8_t left;
	uint8_t rtype;
};

/* Ethernet + IPv6 + the extension headers ext[0..n) + UDP or TCP with 11
 * bytes of payload (an odd segment); plen_cut takes bytes off the IPv6
 * payload length (a chain that ends early). A routing header carries
 * addresses 2001:db8:ad::1, ::2 ... after its first 8 bytes; the last of
 * them goes to final when segments are left (the final destination of
 * types 0 and 2), else final is the destination field. Returns the
 * frame's length. */
static uint32_t v6frame(uint8_t *f, uint8_t proto, const struct v6ext *ext, size_t n,
			uint32_t plen_cut, uint8_t final[16])
{
	memset(f, 0, 256);
	f[12] = 0x86, f[13] = 0xdd;
	uint8_t *ip = f + 14;
	ip[0] = 0x60;
	ip[7] = 64;
	ip[8] = 0x20, ip[9] = 0x01, ip[10] = 0x0d, ip[11] = 0xb8, ip[23] = 0x10;
	ip[24] = 0x20, ip[25] = 0x01, ip[26] = 0x0d, ip[27] = 0xb8, ip[28] = 0x77, ip[39] = 0x01;
	memcpy(final, ip + 24, 16);
	uint32_t at = 40;
	uint8_t *nh = ip + 6;
	for (size_t i = 0; i < n; i++) {
		*nh = ext[i].type;
		nh = ip + at;
		ip[at + 1] = (uint8_t)(ext[i].len / 8 - 1);
		if (ext[i].type == 43) {
			ip[at + 2] = ext[i].rtype;
			ip[at + 3] = ext[i].left;
			for (uint32_t a = 8, k = 1; a + 16 <= ext[i].len; a += 16, k++) {
				uint8_t *x = ip + at + a;
				x[0] = 0x20, x[1] = 0x01, x[2] = 0x0d, x[3] = 0xb8;
				x[4] = 0x00, x[5] = 0xad, x[15] = (uint8_t)k;
				if (ext[i].left && a + 32 > ext[i].len)
					memcpy(final, x, 16);
			}
		} else if (ext[i].type == 44)
			ip[at + 3] = 0; /* offset 0, no more: an atomic fragment */
		else
			ip[at + 2] = 1, ip[at + 3] = (uint8_t)(ext[i].len - 4); /* PadN */
		at += ext[i].len;
	}
	*nh = proto;
	uint32_t l4 = (proto == 6 ? 20 : 8) + 11;
	uint8_t *t = ip + at;
	t[0] = 0x9c, t[1] = 0x40, t[3] = 7;
	if (proto == 17)
		t[4] = (uint8_t)(l4 >> 8), t[5] = (uint8_t)l4;
	else if (proto == 6)
		t[12] = 0x50;
	for (uint32_t i = l4 - 11; i < l4; i++)
		t[i] = (uint8_t)(i * 29 + 3);
	uint32_t plen = at - 40 + l4 - plen_cut;
	ip[4] = (uint8_t)(plen >> 8), ip[5] = (uint8_t)plen;
	return 14 + at + l4;
}

/* The pseudo-header's folded sum over a segment of l4len bytes at l4, as a
 * CHECKSUM_PARTIAL sender leaves it in the field: the source, and dst as
 * the destination. */
static void v6_make_partial(uint8_t *f, uint8_t proto, uint32_t l4, uint32_t l4len,
			    const uint8_t dst[16])
{
	uint32_t s = proto + l4len;
	for (int i = 14 + 8; i < 14 + 24; i += 2)
		s += (uint32_t)(f[i] << 8 | f[i + 1]);
	for (int i = 0; i < 16; i += 2)
		s += (uint32_t)(dst[i] << 8 | dst[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	uint8_t *c = f + l4 + (proto == 6 ? 16 : 6);
	c[0] = (uint8_t)(s >> 8);
	c[1] = (uint8_t)s;
}

/* IPv6 with 0, 1 and 2 extension headers, TCP and UDP: a partial frame is
 * seen as partial and completed to what the engine computes; the full one
 * is not partial. With a routing header with segments left the pseudo-
 * header's destination is the final one (the last address of types 0 and
 * 2), and a partial sum over the destination field is no partial sum.
 * Fragment headers, routing headers whose final destination cannot be read
 * and malformed chains are never partial and are left as they were. */
static void test_partial_v6_exthdr(void **state)
{
	(void)state;
	enum { HBH = 0, RT = 43, FRAG = 44, DST = 60 };
	static const struct {
		uint8_t proto;
		struct v6ext ext[9];
		size_t n;
		uint32_t plen_cut;
		bool taken;
	} t[] = {
		{ 17, { { 0 } }, 0, 0, true },
		{ 6, { { 0 } }, 0, 0, true },
		{ 17, { { HBH, 8, 0, 0 } }, 1, 0, true },
		{ 6, { { HBH, 8, 0, 0 } }, 1, 0, true },
		{ 17, { { DST, 16, 0, 0 } }, 1, 0, true },
		{ 6, { { RT, 24, 0, 0 } }, 1, 0, true },
		{ 17, { { HBH, 8, 0, 0 }, { DST, 8, 0, 0 } }, 2, 0, true },
		{ 6, { { HBH, 16, 0, 0 }, { RT, 8, 0, 0 } }, 2, 0, true },
		{ 6, { { RT, 8, 0, 0 }, { DST, 24, 0, 0 } }, 2, 0, true },
		{ 6, { { RT, 24, 1, 0 } }, 1, 0, true },             /* segments left: type 0 */
		{ 17, { { RT, 40, 2, 0 } }, 1, 0, true },
		{ 17, { { RT, 40, 1, 0 } }, 1, 0, true },
		{ 6, { { HBH, 8, 0, 0 }, { RT, 24, 1, 2 } }, 2, 0, true }, /* type 2 */
		/* not taken */
		{ 17, { { FRAG, 8, 0, 0 } }, 1, 0, false },             /* a fragment header */
		{ 6, { { HBH, 8, 0, 0 }, { FRAG, 8, 0, 0 } }, 2, 0, false },
		{ 6, { { RT, 24, 1, 253 } }, 1, 0, false },          /* a type not read */
		{ 6, { { RT, 40, 1, 2 } }, 1, 0, false },            /* type 2, two addresses */
		{ 17, { { RT, 24, 1, 0 }, { RT, 24, 1, 0 } }, 2, 0, false }, /* two with some left */
		{ 17, { { DST, 8, 0, 0 }, { HBH, 8, 0, 0 } }, 2, 0, false }, /* hop-by-hop not first */
		{ 50, { { HBH, 8, 0, 0 } }, 1, 0, false },              /* ESP */
		{ 17, { { HBH, 8, 0, 0 }, { DST, 16, 0, 0 } }, 2, 8 + 19, false }, /* ends in a header */
		{ 6, { { DST, 8, 0, 0 } }, 1, 21, false }, /* ends in TCP's header */
		{ 17, { { HBH, 8, 0, 0 }, { DST, 8, 0, 0 }, { DST, 8, 0, 0 }, { DST, 8, 0, 0 },
			{ DST, 8, 0, 0 }, { DST, 8, 0, 0 }, { DST, 8, 0, 0 }, { DST, 8, 0, 0 },
			{ DST, 8, 0, 0 } }, 9, 0, false },
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint8_t full[256], f[256], g[256], final[16];
		uint32_t len = v6frame(full, t[i].proto, t[i].ext, t[i].n, t[i].plen_cut, final);
		uint32_t l4 = len - (t[i].proto == 6 ? 31 : 19);
		if (t[i].proto != 17 && t[i].proto != 6)
			l4 = len - 19;
		if (t[i].taken) {
			make_full(full, len);
			memcpy(f, full, len);
			v6_make_partial(f, t[i].proto, l4, len - l4, final);
			if (memcmp(final, full + 14 + 24, 16)) {
				/* summed over the destination field: not partial */
				memcpy(g, f, len);
				v6_make_partial(g, t[i].proto, l4, len - l4, full + 14 + 24);
				assert_false(io_csum_looks_partial(g, len));
			}
			assert_false(io_csum_looks_partial(full, len));
			assert_true(io_csum_looks_partial(f, len));
			assert_true(io_csum_looks_partial(f, len + 10)); /* padding after */
			assert_false(io_csum_looks_partial(f, len - 1)); /* cut short */
			assert_true(io_csum_complete(f, len));
			assert_memory_equal(f, full, len);
			struct pkt p = { .data = f, .len = len, .cap = len };
			assert_int_equal(pkt_parse(&p, true, true), DR_NONE);
		} else {
			memcpy(f, full, len);
			if (t[i].proto == 6 || t[i].proto == 17)
				v6_make_partial(f, t[i].proto, l4, len - l4, final);
			memcpy(g, f, len);
			assert_false(io_csum_looks_partial(f, len));
			assert_false(io_csum_complete(f, len));
			assert_memory_equal(f, g, len);
		}
	}
}

/* CRC32c: the test vectors of RFC 3720 appendix B.4 and the usual check
 * value. */
static void test_crc32c(void **state)
{
	(void)state;
	static const uint8_t pdu[48] = { 0x01, 0xc0, [16] = 0x14, [22] = 0x04, [27] = 0x14,
					 [31] = 0x18, [32] = 0x28, [40] = 0x02 };
	uint8_t zeros[32] = { 0 }, ones[32], up[32], down[32];
	for (int i = 0; i < 32; i++) {
		ones[i] = 0xff;
		up[i] = (uint8_t)i;
		down[i] = (uint8_t)(31 - i);
	}
	static const struct {
		const char *what;
		size_t n;
		uint32_t crc;
	} t[] = {
		{ "32 bytes of zeros", 32, 0x8a9136aa },
		{ "32 bytes of 0xff", 32, 0x62a8ab43 },
		{ "32 incrementing bytes", 32, 0x46dd794e },
		{ "32 decrementing bytes", 32, 0x113fdb5c },
		{ "an iSCSI read command PDU", 48, 0xd9963a56 },
		{ "123456789", 9, 0xe3069283 },
	};
	const uint8_t *data[] = { zeros, ones, up, down, pdu, (const uint8_t *)"123456789" };
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t c = io_crc32c(data[i], t[i].n);
		if (c != t[i].crc)
			fail_msg("%s: %08x, want %08x", t[i].what, c, t[i].crc);
	}
	assert_int_equal(io_crc32c(NULL, 0), 0);
}

/* A vxlan datagram (outer IPv4/UDP to 4789, its checksum 0 as vxlan
 * sends by default) around frame(inner, proto): the inner frame starts at
 * 50; its checksum partial. */
static uint32_t vxlan_frame(uint8_t *f, uint8_t proto)
{
	memset(f, 0, 50);
	uint32_t in = frame(f + 50, proto, 0);
	make_partial(f + 50);
	f[12] = 0x08;
	uint8_t *ip = f + 14, *u = ip + 20;
	uint32_t tot = 20 + 8 + 8 + in;
	ip[0] = 0x45, ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot, ip[8] = 64, ip[9] = 17;
	memcpy(ip + 12, (uint8_t[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	u[0] = 0xc3, u[1] = 0x50, u[2] = 0x12, u[3] = 0xb5;
	u[4] = (uint8_t)((tot - 20) >> 8), u[5] = (uint8_t)(tot - 20);
	u[8] = 0x08; /* vxlan: the VNI is valid */
	return 50 + in;
}

enum pend_kind {
	PD_UDP4, PD_TCP4, PD_TCP6, PD_UDP6, PD_VXLAN_TCP, PD_VXLAN_UDP, PD_FRAG, PD_TCP_OTHER_OFF,
	PD_SCTP4, PD_SCTP6, PD_ZERO_SUM, PD_START_PAST, PD_FIELD_PAST, PD_FIELD_HALF_PAST,
};

/* The frame of kind k in f and where the kernel would say its pending sum
 * is: its length. */
static uint32_t pend_frame(uint8_t *f, enum pend_kind k, uint32_t *start, uint32_t *off)
{
	uint8_t final[16];
	uint32_t n = 0;
	memset(f, 0, 256);
	*start = 34;
	*off = 0;
	switch (k) {
	case PD_UDP4:
	case PD_TCP4:
	case PD_TCP_OTHER_OFF:
		n = frame(f, k == PD_UDP4 ? 17 : 6, 0);
		make_partial(f);
		*off = k == PD_UDP4 ? 6 : k == PD_TCP4 ? 16 : 6;
		break;
	case PD_TCP6:
	case PD_UDP6: {
		uint8_t proto = k == PD_TCP6 ? 6 : 17;
		n = v6frame(f, proto, NULL, 0, 0, final);
		v6_make_partial(f, proto, 54, n - 54, final);
		*start = 54;
		*off = proto == 6 ? 16 : 6;
		break;
	}
	case PD_VXLAN_TCP:
	case PD_VXLAN_UDP:
		n = vxlan_frame(f, k == PD_VXLAN_TCP ? 6 : 17);
		*start = 50 + 34;
		*off = k == PD_VXLAN_TCP ? 16 : 6;
		break;
	case PD_FRAG:
		n = frame(f, 17, 0x2000); /* more fragments */
		make_partial(f);
		*off = 6;
		break;
	case PD_SCTP4:
		n = frame(f, 132, 0);
		*off = 8;
		break;
	case PD_SCTP6:
		n = v6frame(f, 132, NULL, 0, 0, final);
		*start = 54;
		*off = 8;
		break;
	case PD_ZERO_SUM: /* no IP: the sum of what follows 14 is 0xffff */
		n = 60;
		f[12] = 0x88, f[13] = 0xb5;
		f[16] = f[17] = 0xff;
		*start = 14;
		*off = 0;
		break;
	case PD_START_PAST:
	case PD_FIELD_PAST:
	case PD_FIELD_HALF_PAST:
		n = frame(f, 17, 0);
		make_partial(f);
		*start = k == PD_START_PAST ? n : 34;
		*off = k == PD_START_PAST ? 6 : k == PD_FIELD_PAST ? n - 34 : n - 34 - 1;
		break;
	}
	return n;
}

/* The RFC 4960 CRC32c of the SCTP packet at f + l4 (n bytes) verifies: it
 * is stored least significant byte first. */
static bool sctp_crc_ok(const uint8_t *f, uint32_t l4, uint32_t n)
{
	uint8_t c[256];
	memcpy(c, f + l4, n);
	memset(c + 8, 0, 4);
	uint32_t want = io_crc32c(c, n);
	const uint8_t *got = f + l4 + 8;
	return got[0] == (uint8_t)want && got[1] == (uint8_t)(want >> 8) &&
	       got[2] == (uint8_t)(want >> 16) && got[3] == (uint8_t)(want >> 24);
}

/* io_csum_pending, told where the kernel left a sum pending: the frame's
 * own TCP/UDP checksum stays partial (flag it, nothing written); a
 * tunnel's inner TCP/UDP checksum, a fragment's, SCTP's CRC32c and a sum
 * at any other place are finished, only the field written; a place out of
 * the frame changes nothing. */
static void test_csum_pending(void **state)
{
	(void)state;
	static const struct {
		enum pend_kind k;
		const char *what;
		enum io_pending want;
	} t[] = {
		{ PD_UDP4, "IPv4 UDP, its own field", IO_PENDING_PARTIAL },
		{ PD_TCP4, "IPv4 TCP, its own field", IO_PENDING_PARTIAL },
		{ PD_TCP6, "IPv6 TCP, its own field", IO_PENDING_PARTIAL },
		{ PD_UDP6, "IPv6 UDP, its own field", IO_PENDING_PARTIAL },
		{ PD_VXLAN_TCP, "vxlan, the inner TCP checksum", IO_PENDING_DONE },
		{ PD_VXLAN_UDP, "vxlan, the inner UDP checksum", IO_PENDING_DONE },
		{ PD_FRAG, "an IPv4 fragment", IO_PENDING_DONE },
		{ PD_TCP_OTHER_OFF, "TCP, a field that is not its checksum", IO_PENDING_DONE },
		{ PD_SCTP4, "IPv4 SCTP", IO_PENDING_DONE },
		{ PD_SCTP6, "IPv6 SCTP", IO_PENDING_DONE },
		{ PD_ZERO_SUM, "a sum of 0 (not IP)", IO_PENDING_DONE },
		{ PD_START_PAST, "the start past the frame", IO_PENDING_BAD },
		{ PD_FIELD_PAST, "the field past the frame", IO_PENDING_BAD },
		{ PD_FIELD_HALF_PAST, "the field half in the frame", IO_PENDING_BAD },
	};
	uint8_t f[256], was[256];
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint32_t start, off, n = pend_frame(f, t[i].k, &start, &off);
		memcpy(was, f, n);
		enum io_pending got = io_csum_pending(f, n, start, off);
		if (got != t[i].want)
			fail_msg("%s: %d, want %d", t[i].what, got, t[i].want);
		uint32_t at = start + off, w = t[i].k == PD_SCTP4 || t[i].k == PD_SCTP6 ? 4 : 2;
		if (got != IO_PENDING_DONE) {
			if (memcmp(f, was, n))
				fail_msg("%s: the frame changed", t[i].what);
			continue;
		}
		if (memcmp(f, was, at) || memcmp(f + at + w, was + at + w, n - at - w))
			fail_msg("%s: more than the field changed", t[i].what);
		bool ok;
		if (t[i].k == PD_SCTP4 || t[i].k == PD_SCTP6)
			ok = sctp_crc_ok(f, start, n - start);
		else if (t[i].k == PD_VXLAN_TCP || t[i].k == PD_VXLAN_UDP)
			ok = io_csum_verify(f + 50, n - 50);
		else { /* a NIC's sum: over what the sender left, the field in it */
			uint16_t c = csum_buf(was + start, n - start, 0);
			ok = !memcmp(f + at, c ? &c : &(uint16_t){ 0xffff }, 2);
		}
		if (!ok)
			fail_msg("%s: the sum does not verify", t[i].what);
	}
	/* the byte order of the CRC, from a second implementation (bit by
	 * bit): the SCTP packet of frame(132) with its field zero */
	uint32_t start, off, n = pend_frame(f, PD_SCTP4, &start, &off);
	assert_int_equal(io_csum_pending(f, n, start, off), IO_PENDING_DONE);
	assert_memory_equal(f + 34 + 8, ((uint8_t[]){ 0x66, 0x9b, 0xc5, 0x86 }), 4);
	n = pend_frame(f, PD_ZERO_SUM, &start, &off);
	assert_int_equal(io_csum_pending(f, n, start, off), IO_PENDING_DONE);
	assert_int_equal(f[14], 0xff);
	assert_int_equal(f[15], 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_select),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_partial_guess),
		cmocka_unit_test(test_partial_guess_v6_vlan),
		cmocka_unit_test(test_partial_complete),
		cmocka_unit_test(test_partial_v6_exthdr),
		cmocka_unit_test(test_crc32c),
		cmocka_unit_test(test_csum_pending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
