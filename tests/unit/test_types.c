/*
 * Value types: each table row is what a user types and the canonical text the
 * store keeps, or NULL when the value must be rejected (with a message that
 * names the property).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "conf/schema.h"
#include "conf/types.h"

struct row {
	const char *in;
	const char *out; /* NULL: must fail */
};

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define RUN(p, rows) run_rows(&(p), rows, NROWS(rows))

static void run_rows(const struct prop *p, const struct row *rows, size_t n)
{
	int fails = 0;

	for (size_t i = 0; i < n; i++) {
		struct sbuf b = SBUF_INIT;
		struct err e;
		int rc;

		err_clear(&e);
		rc = type_parse(p, rows[i].in, &b, &e);
		if (rows[i].out) {
			if (rc != 0 || strcmp(sbuf_str(&b), rows[i].out) != 0) {
				print_error("%s: '%s' gave rc %d '%s' (%s), want '%s'\n", p->name,
					    rows[i].in, rc, sbuf_str(&b), e.msg, rows[i].out);
				fails++;
			} else {
				/* Canonical text must read back as itself. */
				struct sbuf again = SBUF_INIT;
				if (type_parse(p, sbuf_str(&b), &again, &e) != 0 ||
				    strcmp(sbuf_str(&again), sbuf_str(&b)) != 0) {
					print_error("%s: canonical '%s' reads back as '%s'\n",
						    p->name, sbuf_str(&b), sbuf_str(&again));
					fails++;
				}
				sbuf_free(&again);
			}
		} else if (rc == 0) {
			print_error("%s: '%s' accepted as '%s', want an error\n", p->name,
				    rows[i].in, sbuf_str(&b));
			fails++;
		} else if (strcmp(e.prop, p->name) != 0 || !strstr(e.msg, p->name)) {
			print_error("%s: '%s' error does not name the property: prop '%s' msg '%s'\n",
				    p->name, rows[i].in, e.prop, e.msg);
			fails++;
		}
		sbuf_free(&b);
	}
	assert_int_equal(fails, 0);
}

/* ---- properties under test ---- */

static const char *const actions[] = { "accept", "drop", "reject", "jump", "return", NULL };
static const char *const conn_states[] = { "established", "invalid", "new", "related",
					   "untracked", NULL };
static const char *const list_timeouts[] = { "none-dynamic", "none-static", NULL };
static const char *const parents[] = { "global", NULL };

static const struct prop p_bool = { .name = "disabled", .type = T_BOOL };
static const struct prop p_int = { .name = "priority", .type = T_INT, .min = 1, .max = 8 };
static const struct prop p_int_any = { .name = "max-entries", .type = T_INT };
static const struct prop p_int_neg = { .name = "offset", .type = T_INT, .min = -10, .max = 10 };
static const struct prop p_enum = { .name = "action", .type = T_ENUM, .enums = actions };
static const struct prop p_states = { .name = "connection-state", .type = T_ENUM,
				      .flags = PF_LIST | PF_NEG, .enums = conn_states };
static const struct prop p_ip4 = { .name = "gateway", .type = T_IP4 };
static const struct prop p_ip6 = { .name = "gateway6", .type = T_IP6 };
static const struct prop p_ip = { .name = "dns", .type = T_IP, .flags = PF_LIST };
static const struct prop p_prefix4 = { .name = "address", .type = T_PREFIX4 };
static const struct prop p_net4 = { .name = "dst-address", .type = T_NET4 };
static const struct prop p_net6 = { .name = "dst-address6", .type = T_NET6 };
static const struct prop p_addr4 = { .name = "src-address", .type = T_ADDR4, .flags = PF_NEG };
static const struct prop p_addr6 = { .name = "src-address6", .type = T_ADDR6 };
static const struct prop p_addrany = { .name = "list-address", .type = T_ADDRANY };
static const struct prop p_port = { .name = "port", .type = T_PORT };
static const struct prop p_ports = { .name = "dst-port", .type = T_PORTS,
				     .flags = PF_LIST | PF_NEG };
static const struct prop p_to_ports = { .name = "to-ports", .type = T_PORTS };
static const struct prop p_rate = { .name = "max-limit", .type = T_RATE };
static const struct prop p_rate_b = { .name = "pcq-rate", .type = T_RATE, .max = 10000000 };
static const struct prop p_time = { .name = "timeout", .type = T_TIME };
static const struct prop p_time_none = { .name = "address-list-timeout", .type = T_TIME,
					 .enums = list_timeouts };
static const struct prop p_time_b = { .name = "interval", .type = T_TIME, .min = 1000,
				      .max = 86400000 };
static const struct prop p_mac = { .name = "src-mac-address", .type = T_MAC };
static const struct prop p_ref = { .name = "parent", .type = T_REF, .enums = parents,
				   .ref = "interface" };
static const struct prop p_refs = { .name = "packet-marks", .type = T_REF, .flags = PF_LIST };
static const struct prop p_num = { .name = "bucket-size", .type = T_NUM, .min = 100,
				   .max = 10000 };
static const struct prop p_num_any = { .name = "factor", .type = T_NUM };
static const struct prop p_str = { .name = "comment", .type = T_STR, .max = 10 };
static const struct prop p_str_any = { .name = "source", .type = T_STR };

#define CUSTOM(var, pname, fn) \
	static const struct prop var = { .name = pname, .type = T_CUSTOM, .check = fn }

CUSTOM(p_limit, "limit", tc_limit);
CUSTOM(p_dst_limit, "dst-limit", tc_dst_limit);
CUSTOM(p_tcp_flags, "tcp-flags", tc_tcp_flags);
CUSTOM(p_icmp, "icmp-options", tc_icmp_options);
CUSTOM(p_schedule, "time", tc_schedule);
CUSTOM(p_nth, "nth", tc_nth);
CUSTOM(p_psd, "psd", tc_psd);
CUSTOM(p_pcc, "per-connection-classifier", tc_pcc);
CUSTOM(p_conn_rate, "connection-rate", tc_conn_rate);
CUSTOM(p_conn_bytes, "connection-bytes", tc_conn_bytes);
CUSTOM(p_ttl_match, "ttl", tc_ttl_match);
CUSTOM(p_ttl_change, "new-ttl", tc_ttl_change);
CUSTOM(p_ip4_range, "to-addresses", tc_ip4_range);
CUSTOM(p_rate_pair, "limit-at", tc_rate_pair);
CUSTOM(p_time_pair, "burst-time", tc_time_pair);
CUSTOM(p_name_pair, "queue", tc_name_pair);
CUSTOM(p_date, "start-date", tc_date);
CUSTOM(p_clock, "start-time", tc_clock);
CUSTOM(p_mss, "tcp-mss", tc_mss);

static const struct prop p_conn_limit = { .name = "connection-limit", .type = T_CUSTOM,
					  .flags = PF_NEG, .check = tc_conn_limit };
static const struct prop p_int_range = { .name = "packet-size", .type = T_CUSTOM,
					 .min = 0, .max = 65535, .check = tc_int_range };
static const struct prop p_random = { .name = "random", .type = T_CUSTOM, .min = 1, .max = 99,
				      .check = tc_int_range };
static const struct prop p_int_pair = { .name = "priority-pair", .type = T_CUSTOM, .min = 1,
					.max = 8, .check = tc_int_pair };
static const struct prop p_target = { .name = "target", .type = T_CUSTOM, .flags = PF_LIST,
				      .check = tc_target };
static const struct prop p_nocheck = { .name = "broken", .type = T_CUSTOM };

/* ---- main types ---- */

static void test_bool(void **state)
{
	static const struct row rows[] = {
		{ "yes", "yes" }, { "no", "no" }, { "true", "yes" }, { "false", "no" },
		{ "YES", "yes" }, { "True", "yes" }, { "FALSE", "no" }, { "No", "no" },
		{ "", NULL }, { "y", NULL }, { "1", NULL }, { "0", NULL }, { "yess", NULL },
		{ "on", NULL }, { " yes", NULL },
	};
	RUN(p_bool, rows);
}

static void test_int(void **state)
{
	static const struct row bounded[] = {
		{ "1", "1" }, { "8", "8" }, { "5", "5" }, { "0x8", "8" }, { "08", "8" },
		{ "0X3", "3" }, { "2", "2" }, { "7", "7" },
		{ "0", NULL }, { "9", NULL }, { "-1", NULL }, { "abc", NULL }, { "", NULL },
		{ "1.5", NULL }, { "0x", NULL }, { "+1", NULL }, { " 1", NULL }, { "1 ", NULL },
	};
	static const struct row any[] = {
		{ "0", "0" }, { "123456789", "123456789" },
		{ "9223372036854775807", "9223372036854775807" },
		{ "0x7fffffffffffffff", "9223372036854775807" }, { "0x10", "16" },
		{ "9223372036854775808", NULL }, { "-5", NULL }, { "0x1g", NULL },
	};
	static const struct row neg[] = {
		{ "-10", "-10" }, { "-0", "0" }, { "10", "10" }, { "-0x5", "-5" },
		{ "-11", NULL }, { "11", NULL }, { "--1", NULL }, { "-", NULL },
	};
	RUN(p_int, bounded);
	RUN(p_int_any, any);
	RUN(p_int_neg, neg);
}

static void test_enum(void **state)
{
	static const struct row rows[] = {
		{ "accept", "accept" }, { "drop", "drop" }, { "reject", "reject" },
		{ "jump", "jump" }, { "return", "return" },
		{ "acept", NULL }, { "Accept", NULL }, { "", NULL }, { "accept ", NULL },
		{ "acc", NULL }, { "foo", NULL }, { "accept,drop", NULL },
	};
	static const struct row lists[] = {
		{ "established", "established" },
		{ "established,related", "established,related" },
		{ "!invalid", "!invalid" },
		{ "!established,related", "!established,related" },
		{ "", "" },
		{ "established,,related", NULL }, { ",", NULL }, { "established,", NULL },
		{ "!", NULL }, { "!,", NULL }, { "new,bogus", NULL },
	};
	RUN(p_enum, rows);
	RUN(p_states, lists);
}

static void test_enum_messages(void **state)
{
	struct sbuf b = SBUF_INIT;
	struct err e;

	err_clear(&e);
	assert_int_equal(type_parse(&p_enum, "acept", &b, &e), -1);
	assert_string_equal(e.msg, "invalid value 'acept' for action: expected one of accept, "
				   "drop, reject, jump, return (did you mean 'accept'?)");
	assert_string_equal(e.prop, "action");

	err_clear(&e);
	assert_int_equal(type_parse(&p_enum, "foo", &b, &e), -1);
	assert_string_equal(e.msg, "invalid value 'foo' for action: expected one of accept, "
				   "drop, reject, jump, return");

	err_clear(&e);
	assert_int_equal(type_parse(&p_states, "established,relatd", &b, &e), -1);
	assert_non_null(strstr(e.msg, "'relatd'"));
	assert_non_null(strstr(e.msg, "(did you mean 'related'?)"));
	sbuf_free(&b);
}

static void test_ip4(void **state)
{
	static const struct row rows[] = {
		{ "192.168.88.1", "192.168.88.1" }, { "0.0.0.0", "0.0.0.0" },
		{ "255.255.255.255", "255.255.255.255" }, { "010.001.000.001", "10.1.0.1" },
		{ "1.2.3.4", "1.2.3.4" }, { "127.0.0.1", "127.0.0.1" },
		{ "10.0.0.255", "10.0.0.255" }, { "8.8.8.8", "8.8.8.8" },
		{ "256.1.1.1", NULL }, { "1.2.3", NULL }, { "1.2.3.4.5", NULL },
		{ "+1.2.3.4", NULL }, { "1..2.3", NULL }, { "a.b.c.d", NULL },
		{ "1.2.3.4/24", NULL }, { "", NULL }, { "1.2.3.0004", NULL },
		{ " 1.2.3.4", NULL }, { "1.2.3.4.", NULL },
	};
	RUN(p_ip4, rows);
}

static void test_ip6(void **state)
{
	static const struct row rows[] = {
		{ "2001:db8::1", "2001:db8::1" },
		{ "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1" },
		{ "::", "::" }, { "::1", "::1" }, { "1::", "1::" },
		{ "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1" },
		{ "2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1" },
		{ "fe80::1:2", "fe80::1:2" },
		{ "::ffff:192.168.1.1", "::ffff:192.168.1.1" },
		{ "::192.168.1.1", "::c0a8:101" },
		{ "2001:db8::0:1", "2001:db8::1" },
		{ "1:0:0:2:0:0:0:3", "1:0:0:2::3" },
		{ "1:2:3:4:5:6:7::", "1:2:3:4:5:6:7:0" },
		{ "::2:3:4:5:6:7:8", "0:2:3:4:5:6:7:8" },
		{ "64:ff9b::10.0.0.1", "64:ff9b::a00:1" },
		{ "1:2:3:4:5:6:7:8:9", NULL }, { "1::2::3", NULL }, { "12345::", NULL },
		{ "g::1", NULL }, { ":1::", NULL }, { "1:", NULL }, { "1:2:3:4:5:6:7", NULL },
		{ "", NULL }, { "::ffff:1.2.3", NULL }, { "1.2.3.4", NULL }, { ":::", NULL },
		{ "2001:db8::1/64", NULL }, { "1:2:3:4:5:6:7:8::", NULL },
		{ "1:2:3:4:5:6::1.2.3.4", NULL },
	};
	static const struct row either[] = {
		{ "1.2.3.4", "1.2.3.4" }, { "2001:DB8::1", "2001:db8::1" },
		{ "1.1.1.1,2606:4700::1111", "1.1.1.1,2606:4700::1111" },
		{ "x", NULL }, { "1.2.3.4,", NULL },
	};
	RUN(p_ip6, rows);
	RUN(p_ip, either);
}

static void test_prefix4(void **state)
{
	static const struct row rows[] = {
		{ "192.168.88.1/24", "192.168.88.1/24" }, { "192.168.88.1", "192.168.88.1/32" },
		{ "10.0.0.1/8", "10.0.0.1/8" }, { "10.0.0.0/255.0.0.0", "10.0.0.0/8" },
		{ "0.0.0.0/0", "0.0.0.0/0" },
		{ "1.2.3.4/33", NULL }, { "1.2.3.4/", NULL }, { "1.2.3.4/255.0.255.0", NULL },
		{ "/24", NULL }, { "", NULL },
	};
	RUN(p_prefix4, rows);
}

static void test_net(void **state)
{
	static const struct row v4[] = {
		{ "192.168.88.5/24", "192.168.88.0/24" }, { "10.0.0.1/32", "10.0.0.1" },
		{ "10.0.0.1", "10.0.0.1" }, { "0.0.0.0/0", "0.0.0.0/0" },
		{ "255.255.255.255/1", "128.0.0.0/1" }, { "172.16.5.4/12", "172.16.0.0/12" },
		{ "10.1.2.3/255.255.0.0", "10.1.0.0/16" }, { "192.168.1.1/31", "192.168.1.0/31" },
		{ "1.2.3.4/33", NULL }, { "1.2.3.4/-1", NULL }, { "1.2.3.4-1.2.3.5", NULL },
		{ "x", NULL }, { "1.2.3.4/", NULL }, { "1.2.3.4/2 4", NULL }, { "", NULL },
	};
	static const struct row v6[] = {
		{ "2001:db8::1/32", "2001:db8::/32" }, { "2001:db8::1/128", "2001:db8::1" },
		{ "::/0", "::/0" }, { "fe80::1234/10", "fe80::/10" },
		{ "2001:db8:ff::/47", "2001:db8:fe::/47" }, { "2001:db8::1", "2001:db8::1" },
		{ "2001:db8::/129", NULL }, { "1.2.3.4", NULL }, { "2001:db8::/", NULL },
		{ "/64", NULL },
	};
	RUN(p_net4, v4);
	RUN(p_net6, v6);
}

static void test_addr(void **state)
{
	static const struct row v4[] = {
		{ "10.0.0.0-10.0.0.255", "10.0.0.0/24" }, { "10.0.0.5-10.0.0.5", "10.0.0.5" },
		{ "10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9" },
		{ "0.0.0.0-255.255.255.255", "0.0.0.0/0" },
		{ "10.0.0.0-10.0.1.255", "10.0.0.0/23" },
		{ "10.0.0.1-10.0.0.2", "10.0.0.1-10.0.0.2" },
		{ "10.0.0.2-10.0.0.3", "10.0.0.2/31" },
		{ "192.168.88.5/24", "192.168.88.0/24" }, { "1.2.3.4", "1.2.3.4" },
		{ "!1.2.3.4", "!1.2.3.4" }, { "!10.0.0.0-10.0.0.255", "!10.0.0.0/24" },
		{ "10.0.0.9-10.0.0.1", NULL }, { "10.0.0.1-", NULL }, { "-10.0.0.1", NULL },
		{ "10.0.0.1-10.0.0.2-10.0.0.3", NULL }, { "10.0.0.0/24-10.0.1.0", NULL },
		{ "1.2.3.4/40", NULL }, { "!", NULL }, { "", NULL }, { "1.2.3.4,5.6.7.8", NULL },
	};
	static const struct row v6[] = {
		{ "2001:db8::5/64", "2001:db8::/64" }, { "::1", "::1" },
		{ "2001:db8::1-2001:db8::2", NULL }, { "10.0.0.1", NULL },
	};
	static const struct row any[] = {
		{ "1.2.3.4-1.2.3.7", "1.2.3.4/30" }, { "2001:db8::1", "2001:db8::1" },
		{ "10.1.1.1/8", "10.0.0.0/8" }, { "2001:db8::1/48", "2001:db8::/48" },
		{ "foo", NULL }, { "1.2.3.4-::1", NULL },
	};
	RUN(p_addr4, v4);
	RUN(p_addr6, v6);
	RUN(p_addrany, any);
}

static void test_ports(void **state)
{
	static const struct row one[] = {
		{ "0", "0" }, { "65535", "65535" }, { "80", "80" }, { "080", "80" },
		{ "65536", NULL }, { "-1", NULL }, { "http", NULL }, { "", NULL },
		{ "0x50", NULL }, { "80-81", NULL },
	};
	static const struct row list[] = {
		{ "80", "80" }, { "80,443", "80,443" }, { "1000-2000", "1000-2000" },
		{ "1000-1000", "1000" }, { "0-65535", "0-65535" }, { "!22", "!22" },
		{ "22,80,1000-2000", "22,80,1000-2000" }, { "", "" }, { "0443", "443" },
		{ "2000-1000", NULL }, { "65536", NULL }, { "80,", NULL }, { ",80", NULL },
		{ "80-", NULL }, { "a-b", NULL }, { "1-2-3", NULL }, { "80 443", NULL },
		{ "0-65536", NULL },
	};
	static const struct row single[] = {
		{ "8080", "8080" }, { "8000-8080", "8000-8080" }, { "80,443", NULL },
	};
	RUN(p_port, one);
	RUN(p_ports, list);
	RUN(p_to_ports, single);
}

static void test_rate(void **state)
{
	static const struct row rows[] = {
		{ "10M", "10M" }, { "1.5M", "1500k" }, { "512k", "512k" }, { "64000", "64k" },
		{ "1500000", "1500k" }, { "0", "0" }, { "1G", "1G" }, { "1000000000", "1G" },
		{ "2.5G", "2500M" }, { "1K", "1k" }, { "1234", "1234" }, { "1.001k", "1001" },
		{ "10.50M", "10500k" }, { "0.5k", "500" },
		{ "abc", NULL }, { "1.5", NULL }, { "1.0001k", NULL }, { "10m", NULL },
		{ "M", NULL }, { "", NULL }, { "-1", NULL }, { "1.k", NULL }, { "10MB", NULL },
		{ "1e6", NULL }, { "99999999999G", NULL },
	};
	static const struct row bounded[] = {
		{ "10M", "10M" }, { "0", "0" }, { "10000001", NULL }, { "11M", NULL },
	};
	RUN(p_rate, rows);
	RUN(p_rate_b, bounded);
}

static void test_rate_message(void **state)
{
	struct sbuf b = SBUF_INIT;
	struct err e;

	err_clear(&e);
	assert_int_equal(type_parse(&p_rate, "abc", &b, &e), -1);
	assert_string_equal(e.msg, "invalid value 'abc' for max-limit: expected a rate such as "
				   "10M, 512k or 1500000");
	assert_string_equal(e.prop, "max-limit");

	err_clear(&e);
	assert_int_equal(type_parse(&p_rate_b, "11M", &b, &e), -1);
	assert_non_null(strstr(e.msg, "from 0 to 10M"));
	sbuf_free(&b);
}

static void test_time(void **state)
{
	static const struct row rows[] = {
		{ "1d", "1d" }, { "1h30m", "1h30m" }, { "00:10:00", "10m" }, { "10s", "10s" },
		{ "500ms", "500ms" }, { "1w2d", "1w2d" }, { "0", "0s" }, { "90", "1m30s" },
		{ "48:00:00", "2d" }, { "01:30", "1h30m" }, { "1d 02:00:00", "1d2h" },
		{ "1d02:00:00", "1d2h" }, { "00:00:01.5", "1s500ms" }, { "1.5s", "1s500ms" },
		{ "0ms", "0s" }, { "86400", "1d" }, { "1m30", "1m30s" }, { "7d", "1w" },
		{ "1000ms", "1s" }, { "1w2d3h4m5s6ms", "1w2d3h4m5s6ms" },
		{ "1x", NULL }, { "", NULL }, { "1h1d", NULL }, { "1h1h", NULL }, { "s", NULL },
		{ "1:2", NULL }, { "1:60:00", NULL }, { "1d 25:00:00", NULL }, { "1.5h", NULL },
		{ "abc", NULL }, { "1 h", NULL }, { "10s 5", NULL }, { "-1s", NULL },
		{ "1.1234s", NULL }, { "1h 00:10:00", NULL }, { "none", NULL },
		{ "99999999999999999999w", NULL },
	};
	static const struct row with_none[] = {
		{ "none-dynamic", "none-dynamic" }, { "none-static", "none-static" },
		{ "00:05:00", "5m" }, { "none", NULL }, { "forever", NULL },
	};
	static const struct row bounded[] = {
		{ "1s", "1s" }, { "1d", "1d" }, { "00:30", "30m" },
		{ "500ms", NULL }, { "1d1s", NULL },
	};
	RUN(p_time, rows);
	RUN(p_time_none, with_none);
	RUN(p_time_b, bounded);
}

static void test_mac(void **state)
{
	static const struct row rows[] = {
		{ "00:0c:42:aa:bb:cc", "00:0C:42:AA:BB:CC" },
		{ "00-0C-42-AA-BB-CC", "00:0C:42:AA:BB:CC" },
		{ "FF:FF:FF:FF:FF:FF", "FF:FF:FF:FF:FF:FF" },
		{ "01:00:5e:00:00:01", "01:00:5E:00:00:01" },
		{ "00:00:00:00:00:00", "00:00:00:00:00:00" },
		{ "aA:bB:cC:dD:eE:fF", "AA:BB:CC:DD:EE:FF" },
		{ "12:34:56:78:9a:bc", "12:34:56:78:9A:BC" },
		{ "de-ad-be-ef-00-01", "DE:AD:BE:EF:00:01" },
		{ "00:0C:42:AA:BB", NULL }, { "00:0C:42:AA:BB:CC:DD", NULL },
		{ "00:0C-42:AA:BB:CC", NULL }, { "0:C:42:AA:BB:CC", NULL },
		{ "GG:0C:42:AA:BB:CC", NULL }, { "", NULL }, { "000C42AABBCC", NULL },
		{ "00:0C:42:AA:BB:C", NULL },
	};
	RUN(p_mac, rows);
}

static void test_num(void **state)
{
	static const struct row rows[] = {
		{ "0.1", "0.1" }, { "0.10", "0.1" }, { "1.0", "1" }, { "10", "10" },
		{ "00.5", "0.5" }, { "1.25", "1.25" }, { "9.999", "9.999" },
		{ "0.100000", "0.1" },
		{ "0.05", NULL }, { "10.001", NULL }, { "abc", NULL }, { ".5", NULL },
		{ "1.", NULL }, { "-1", NULL }, { "", NULL }, { "1.2345678", NULL },
		{ "1,5", NULL },
	};
	static const struct row any[] = {
		{ "0", "0" }, { "123.456", "123.456" }, { "0.000001", "0.000001" },
		{ "-1", NULL },
	};
	struct sbuf b = SBUF_INIT;
	struct err e;

	RUN(p_num, rows);
	RUN(p_num_any, any);
	err_clear(&e);
	assert_int_equal(type_parse(&p_num, "20", &b, &e), -1);
	assert_non_null(strstr(e.msg, "from 0.1 to 10"));
	sbuf_free(&b);
}

static void test_ref_str(void **state)
{
	static const struct row refs[] = {
		{ "global", "global" }, { "ether1", "ether1" }, { "queue-1", "queue-1" },
		{ "", NULL }, { "a b", NULL }, { "tab\there", NULL },
	};
	static const struct row ref_list[] = {
		{ "voip,web", "voip,web" }, { "", "" }, { "voip,", NULL },
	};
	static const struct row strs[] = {
		{ "hello", "hello" }, { "", "" }, { "line\nline", "line\nline" },
		{ "a b, c!", "a b, c!" }, { "12345678901", NULL }, { "a\x01" "b", NULL },
	};
	static const struct row free_text[] = {
		{ ":log info \"x\";\r\n\t:put 1", ":log info \"x\";\r\n\t:put 1" },
		{ "esc\x1b[0m", NULL },
	};
	struct sbuf b = SBUF_INIT;
	struct err e;

	RUN(p_ref, refs);
	RUN(p_refs, ref_list);
	RUN(p_str, strs);
	RUN(p_str_any, free_text);
	err_clear(&e);
	assert_int_equal(type_parse(&p_str, "12345678901", &b, &e), -1);
	assert_non_null(strstr(e.msg, "longer than 10 characters"));
	sbuf_free(&b);
}

/* ---- custom formats ---- */

static void test_tc_limit(void **state)
{
	static const struct row limit[] = {
		{ "10,5", "10,5:packet" }, { "1M/1s,32:bit", "1M,32:bit" }, { "10", "10,5:packet" },
		{ "10/1m,5", "10/1m,5:packet" }, { "50/1h,10:packet", "50/1h,10:packet" },
		{ "1000000,10:bit", "1M,10:bit" }, { "100/00:01:00", "100/1m,5:packet" },
		{ "0,5", NULL }, { "10,5:byte", NULL }, { "1M,5", NULL }, { "10/0s", NULL },
		{ "abc", NULL }, { "10,", NULL }, { "", NULL },
	};
	static const struct row dst_limit[] = {
		{ "10,32,dst-address-only", "10,32,dst-address-only" },
		{ "10/1m,32,dst-address-and-port/1m", "10/1m,32,dst-address-and-port/1m" },
		{ "10/1s,5,addresses-and-dst-port/00:01:00", "10,5,addresses-and-dst-port/1m" },
		{ "10,32", NULL }, { "10,32,foo", NULL }, { "0,32,dst-address-only", NULL },
		{ "10,x,dst-address-only", NULL }, { "10,32,dst-address-only/xx", NULL },
	};
	RUN(p_limit, limit);
	RUN(p_dst_limit, dst_limit);
}

static void test_tc_flags_icmp(void **state)
{
	static const struct row flags[] = {
		{ "syn", "syn" }, { "syn,!ack", "syn,!ack" }, { "fin,psh,urg", "fin,psh,urg" },
		{ "syn,syn", NULL }, { "syn,!syn", NULL }, { "foo", NULL }, { "syn,", NULL },
		{ "", NULL }, { "!", NULL }, { "SYN", NULL },
	};
	static const struct row icmp[] = {
		{ "8", "8" }, { "8:0", "8:0" }, { "3:0-15", "3:0-15" }, { "3:4-4", "3:4" },
		{ "08:00", "8:0" },
		{ "256", NULL }, { "3:5-4", NULL }, { "3:", NULL }, { "a:b", NULL },
		{ "3:0-256", NULL },
	};
	RUN(p_tcp_flags, flags);
	RUN(p_icmp, icmp);
}

static void test_tc_schedule(void **state)
{
	static const struct row rows[] = {
		{ "8h-17h,mon,tue", "8h-17h,mon,tue" },
		{ "08:00:00-17:00:00,mon-fri", "8h-17h,mon,tue,wed,thu,fri" },
		{ "08:00-17:30,sat,sun", "8h-17h30m,sun,sat" },
		{ "0s-1d", "0s-1d,sun,mon,tue,wed,thu,fri,sat" },
		{ "22h-6h,fri-mon", "22h-6h,sun,mon,fri,sat" },
		{ "8h-17h,xyz", NULL }, { "8h", NULL }, { "8h-25h", NULL },
		{ "8h-17h,mon,mon", NULL }, { "8h-17h,", NULL }, { "8h-17h,Mon", NULL },
	};
	RUN(p_schedule, rows);
}

static void test_tc_ranges(void **state)
{
	static const struct row size[] = {
		{ "100", "100" }, { "100-200", "100-200" }, { "200-200", "200" },
		{ "200-100", NULL }, { "70000", NULL }, { "a", NULL }, { "-5", NULL },
	};
	static const struct row random[] = {
		{ "50", "50" }, { "1-99", "1-99" }, { "0", NULL }, { "100", NULL },
	};
	static const struct row mss[] = {
		{ "1400", "1400" }, { "536-1460", "536-1460" }, { "1460-1460", "1460" },
		{ "70000", NULL }, { "1460-536", NULL },
	};
	static const struct row nth[] = {
		{ "3,1", "3,1" }, { "10,10", "10,10" },
		{ "3,4", NULL }, { "0,0", NULL }, { "3", NULL }, { "3,0", NULL }, { "a,b", NULL },
	};
	RUN(p_int_range, size);
	RUN(p_random, random);
	RUN(p_mss, mss);
	RUN(p_nth, nth);
}

static void test_tc_conn(void **state)
{
	static const struct row psd[] = {
		{ "21,3s,3,1", "21,3s,3,1" }, { "21,3,3,1", "21,3s,3,1" },
		{ "10,00:00:05,2,1", "10,5s,2,1" },
		{ "21,3s,3", NULL }, { "21,0s,3,1", NULL }, { "21,x,3,1", NULL },
	};
	static const struct row pcc[] = {
		{ "both-addresses:3/0", "both-addresses:3/0" }, { "src-address:2/1", "src-address:2/1" },
		{ "both-addresses:3/3", NULL }, { "foo:3/0", NULL }, { "both-addresses:0/0", NULL },
		{ "both-addresses:3", NULL }, { "both-addresses/3:0", NULL },
	};
	static const struct row limit[] = {
		{ "100,32", "100,32" }, { "10,24", "10,24" }, { "5,128", "5,128" },
		{ "!100,32", "!100,32" },
		{ "100", NULL }, { "100,129", NULL }, { "a,32", NULL }, { "-1,32", NULL },
	};
	static const struct row rate[] = {
		{ "0-100k", "0-100k" }, { "1000-2000000", "1k-2M" },
		{ "100k-0", NULL }, { "100k", NULL }, { "a-b", NULL },
	};
	static const struct row bytes[] = {
		{ "2000000-0", "2000000-0" }, { "0-500000", "0-500000" }, { "10-20", "10-20" },
		{ "20-10", NULL }, { "100", NULL }, { "a-b", NULL },
	};
	RUN(p_psd, psd);
	RUN(p_pcc, pcc);
	RUN(p_conn_limit, limit);
	RUN(p_conn_rate, rate);
	RUN(p_conn_bytes, bytes);
}

static void test_tc_ttl_nat(void **state)
{
	static const struct row match[] = {
		{ "equal:64", "equal:64" }, { "less-than:10", "less-than:10" },
		{ "greater-than:0", "greater-than:0" }, { "not-equal:1", "not-equal:1" },
		{ "equal:256", NULL }, { "foo:1", NULL }, { "equal", NULL }, { "equal:", NULL },
	};
	static const struct row change[] = {
		{ "set:64", "set:64" }, { "decrement:1", "decrement:1" },
		{ "increment:255", "increment:255" },
		{ "set:300", NULL }, { "add:1", NULL },
	};
	static const struct row range[] = {
		{ "10.0.0.1", "10.0.0.1" }, { "10.0.0.1-10.0.0.9", "10.0.0.1-10.0.0.9" },
		{ "10.0.0.1-10.0.0.1", "10.0.0.1" },
		{ "10.0.0.9-10.0.0.1", NULL }, { "10.0.0.0/24", NULL }, { "x", NULL },
	};
	RUN(p_ttl_match, match);
	RUN(p_ttl_change, change);
	RUN(p_ip4_range, range);
}

static void test_tc_pairs(void **state)
{
	static const struct row rates[] = {
		{ "10M", "10M/10M" }, { "0/0", "0/0" }, { "1000000/2M", "1M/2M" },
		{ "512k/1.5M", "512k/1500k" },
		{ "10M/", NULL }, { "/10M", NULL }, { "abc", NULL }, { "1M/2M/3M", NULL },
	};
	static const struct row ints[] = {
		{ "8", "8/8" }, { "1/8", "1/8" },
		{ "0/8", NULL }, { "9", NULL }, { "1/", NULL }, { "a/b", NULL },
	};
	static const struct row times[] = {
		{ "10s", "10s/10s" }, { "0/1m", "0s/1m" }, { "00:00:10/10s", "10s/10s" },
		{ "1x/1s", NULL }, { "1s/", NULL },
	};
	static const struct row names[] = {
		{ "default-small", "default-small/default-small" }, { "a/b", "a/b" },
		{ "a/", NULL }, { "/b", NULL }, { "a b", NULL }, { "a/b/c", NULL },
		{ "n123456789n123456789n123456789n123456789n123456789n123456789"
		  "n123456789n123456789", NULL },
	};
	RUN(p_rate_pair, rates);
	RUN(p_int_pair, ints);
	RUN(p_time_pair, times);
	RUN(p_name_pair, names);
}

static void test_tc_target(void **state)
{
	static const struct row rows[] = {
		{ "192.168.88.10", "192.168.88.10/32" }, { "192.168.88.10/24", "192.168.88.0/24" },
		{ "ether1", "ether1" }, { "2001:db8::1", "2001:db8::1/128" },
		{ "bridge-local", "bridge-local" },
		{ "192.168.1.0/24,ether2", "192.168.1.0/24,ether2" }, { "", "" },
		{ "300.1.1.1", NULL }, { "10.0.0.1-10.0.0.5", NULL }, { "ether 1", NULL },
		{ "1.2.3.4/33", NULL }, { "a,,b", NULL },
	};
	struct sbuf in = SBUF_INIT, b = SBUF_INIT;
	struct err e;

	RUN(p_target, rows);
	/* A long list grows by "/32" per element and still reads back. */
	for (int i = 0; i < 60; i++)
		sbuf_printf(&in, "%s10.0.%d.1", i ? "," : "", i);
	err_clear(&e);
	assert_int_equal(type_parse(&p_target, sbuf_str(&in), &b, &e), 0);
	assert_non_null(strstr(sbuf_str(&b), "10.0.59.1/32"));
	sbuf_free(&in);
	sbuf_free(&b);
}

static void test_tc_date_clock(void **state)
{
	static const struct row dates[] = {
		{ "jan/02/2026", "jan/02/2026" }, { "Feb/29/2024", "feb/29/2024" },
		{ "2026-01-02", "jan/02/2026" }, { "dec/31/1999", "dec/31/1999" },
		{ "mar/1/2025", "mar/01/2025" }, { "2000-02-29", "feb/29/2000" },
		{ "feb/29/2025", NULL }, { "2026-13-01", NULL }, { "foo/01/2026", NULL },
		{ "jan/32/2026", NULL }, { "2026/01/02", NULL }, { "1969-01-01", NULL },
		{ "jan/02/26", NULL }, { "1900-02-29", NULL },
	};
	static const struct row clocks[] = {
		{ "03:00:00", "03:00:00" }, { "3:00", "03:00:00" }, { "23:59:59", "23:59:59" },
		{ "startup", "startup" }, { "00:00", "00:00:00" },
		{ "24:00:00", NULL }, { "12:60", NULL }, { "12", NULL }, { "1:2:3", NULL },
		{ "noon", NULL },
	};
	RUN(p_date, dates);
	RUN(p_clock, clocks);
}

static void test_custom_dispatch(void **state)
{
	struct sbuf b = SBUF_INIT;
	struct err e;

	err_clear(&e);
	assert_int_equal(type_parse(&p_nocheck, "x", &b, &e), -1);
	assert_string_equal(e.prop, "broken");
	/* No err at all must be safe. */
	assert_int_equal(type_parse(&p_enum, "nope", &b, NULL), -1);
	assert_int_equal(type_parse(&p_limit, "nope", &b, NULL), -1);
	sbuf_reset(&b);
	assert_int_equal(type_parse_one(&p_ports, "80", &b, &e), 0);
	assert_string_equal(sbuf_str(&b), "80");
	sbuf_free(&b);
}

static void test_error_excerpt(void **state)
{
	char in[300];
	struct sbuf b = SBUF_INIT;
	struct err e;

	memset(in, 'a', sizeof(in) - 1);
	in[sizeof(in) - 1] = 0;
	in[3] = '\x1b';
	err_clear(&e);
	assert_int_equal(type_parse(&p_ip4, in, &b, &e), -1);
	assert_non_null(strstr(e.msg, "aaa?aaa"));
	assert_non_null(strstr(e.msg, "...' for gateway"));
	for (const char *c = e.msg; *c; c++)
		assert_true((unsigned char)*c >= 0x20);
	err_clear(&e);
	assert_int_equal(type_parse(&p_tcp_flags, in, &b, &e), -1);
	assert_int_equal(type_parse(&p_schedule, in, &b, &e), -1);
	sbuf_free(&b);
}

/* ---- numbers and scalar helpers ---- */

static void expect_number(const struct prop *p, const char *canon, double want)
{
	double v = -12345;

	if (!type_number(p, canon, &v)) {
		print_error("%s: no number for '%s'\n", p->name, canon);
		fail();
	}
	assert_true(v == want);
}

static void test_type_number(void **state)
{
	double v;

	expect_number(&p_int_neg, "-5", -5);
	expect_number(&p_int_any, "9223372036854775807", 9223372036854775807.0);
	expect_number(&p_port, "80", 80);
	expect_number(&p_ports, "443", 443);
	expect_number(&p_rate, "10M", 10000000);
	expect_number(&p_rate, "1500k", 1500000);
	expect_number(&p_time, "1h30m", 5400000);
	expect_number(&p_time, "0s", 0);
	expect_number(&p_num, "0.1", 0.1);
	expect_number(&p_num, "10", 10);
	expect_number(&p_bool, "yes", 1);
	expect_number(&p_bool, "no", 0);
	expect_number(&p_ip4, "10.0.0.1", 167772161.0);

	assert_false(type_number(&p_mac, "00:0C:42:AA:BB:CC", &v));
	assert_false(type_number(&p_str, "12", &v));
	assert_false(type_number(&p_enum, "accept", &v));
	assert_false(type_number(&p_ports, "80,443", &v));
	assert_false(type_number(&p_ports, "1000-2000", &v));
	assert_false(type_number(&p_int, "!5", &v));
	assert_false(type_number(&p_time_none, "none-dynamic", &v));
	assert_false(type_number(&p_rate, "", &v));
	assert_false(type_number(&p_limit, "10,5:packet", &v));
}

static void test_scalars(void **state)
{
	struct sbuf b = SBUF_INIT;
	uint64_t u;
	uint32_t a;
	uint8_t a6[16], mac[6];

	assert_int_equal(parse_u64("0x10", &u), 0);
	assert_true(u == 16);
	assert_int_equal(parse_u64("18446744073709551615", &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(parse_u64("18446744073709551616", &u), -1);
	assert_int_equal(parse_u64("0x10000000000000000", &u), -1);
	assert_int_equal(parse_u64("", &u), -1);

	assert_int_equal(parse_rate("10M", &u), 0);
	assert_true(u == 10000000);
	assert_int_equal(parse_rate("18446744073709551615", &u), 0);
	assert_int_equal(parse_rate("18446744073709551615k", &u), -1);
	format_rate(1500000, &b);
	format_rate(0, &b);
	format_rate(2000000000, &b);
	format_rate(1001, &b);
	assert_string_equal(sbuf_str(&b), "1500k02G1001");

	sbuf_reset(&b);
	assert_int_equal(parse_time_ms("1h30m", &u), 0);
	assert_true(u == 5400000);
	format_time_ms(u, &b);
	sbuf_putc(&b, ' ');
	format_time_ms(0, &b);
	sbuf_putc(&b, ' ');
	format_time_ms(604800001, &b);
	assert_string_equal(sbuf_str(&b), "1h30m 0s 1w1ms");

	sbuf_reset(&b);
	assert_int_equal(parse_ip4("192.168.88.1", &a), 0);
	assert_true(a == 0xc0a85801u);
	format_ip4(a, &b);
	assert_string_equal(sbuf_str(&b), "192.168.88.1");

	sbuf_reset(&b);
	assert_int_equal(parse_ip6("2001:db8::ff00:42:8329", a6), 0);
	assert_int_equal(a6[0], 0x20);
	assert_int_equal(a6[15], 0x29);
	format_ip6(a6, &b);
	assert_string_equal(sbuf_str(&b), "2001:db8::ff00:42:8329");

	assert_int_equal(parse_mac("00:0c:42:AA:bb:01", mac), 0);
	assert_int_equal(mac[1], 0x0c);
	assert_int_equal(mac[5], 0x01);
	assert_int_equal(parse_mac("00:0c:42:AA:bb", mac), -1);
	sbuf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_int),
		cmocka_unit_test(test_enum),
		cmocka_unit_test(test_enum_messages),
		cmocka_unit_test(test_ip4),
		cmocka_unit_test(test_ip6),
		cmocka_unit_test(test_prefix4),
		cmocka_unit_test(test_net),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_ports),
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_rate_message),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_mac),
		cmocka_unit_test(test_num),
		cmocka_unit_test(test_ref_str),
		cmocka_unit_test(test_tc_limit),
		cmocka_unit_test(test_tc_flags_icmp),
		cmocka_unit_test(test_tc_schedule),
		cmocka_unit_test(test_tc_ranges),
		cmocka_unit_test(test_tc_conn),
		cmocka_unit_test(test_tc_ttl_nat),
		cmocka_unit_test(test_tc_pairs),
		cmocka_unit_test(test_tc_target),
		cmocka_unit_test(test_tc_date_clock),
		cmocka_unit_test(test_custom_dispatch),
		cmocka_unit_test(test_error_excerpt),
		cmocka_unit_test(test_type_number),
		cmocka_unit_test(test_scalars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
