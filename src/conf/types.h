/*
 * types: the value types of the configuration schema. A parser turns what a
 * user typed into the canonical text that the store keeps and print/export
 * show (192.168.88.5/24 -> 192.168.88.0/24, 1000000 -> 1M, 00:10:00 -> 10m).
 * Pure functions: no store access (references are checked by the command
 * layer), no global state, callable from any thread.
 * Errors: a negative return and a message in struct err naming what was
 * expected; the output buffer is then unspecified.
 */
#ifndef ROSFW_CONF_TYPES_H
#define ROSFW_CONF_TYPES_H

#include <stdbool.h>
#include <stdint.h>

#include "../util/err.h"
#include "../util/sbuf.h"

struct prop;

enum ptype {
	T_STR,      /* any text; prop max > 0 caps the length */
	T_BOOL,     /* yes/no/true/false in, yes/no canonical */
	T_INT,      /* decimal (or 0x hex) integer within prop min..max */
	T_ENUM,     /* one of prop enums (exact, case-sensitive as RouterOS) */
	T_IP4,      /* 192.168.88.1 */
	T_IP6,      /* 2001:db8::1, canonical RFC 5952 text */
	T_IP,       /* IPv4 or IPv6 address */
	T_PREFIX4,  /* 192.168.88.1/24 (host bits kept: /ip address) */
	T_NET4,     /* 192.168.88.0/24 (host bits cleared); a bare IP is /32 shown without /32 */
	T_NET6,     /* likewise for IPv6; /128 shown bare */
	T_ADDR4,    /* firewall address: IP, network (host bits cleared) or IP-IP range */
	T_ADDR6,    /* firewall IPv6 address: IP or network */
	T_ADDRANY,  /* T_ADDR4 or T_ADDR6 (address lists, simple queue target) */
	T_PORT,     /* 0..65535 */
	T_PORTS,    /* 80,443,1000-2000 (one element per list item when PF_LIST) */
	T_RATE,     /* bits/s: 10M, 1.5M, 512k, 1G, 64000; canonical with k/M/G when exact */
	T_TIME,     /* interval: 1d, 1h30m, 00:10:00, 10s, 500ms; canonical 1w2d3h4m5s6ms style */
	T_MAC,      /* 00:0C:42:AA:BB:CC (canonical upper case) */
	T_REF,      /* name of an item of another menu (prop ref); checked by the command layer */
	T_NUM,      /* decimal number such as 0.1 (prop min/max are in thousandths) */
	T_CUSTOM,   /* prop check does it all */
};

/*
 * Parses one value of property p (honouring PF_NEG and PF_LIST: a leading '!'
 * and comma lists are handled here, each element by the type) into canonical
 * text appended to out. Returns 0 or -1.
 */
int type_parse(const struct prop *p, const char *in, struct sbuf *out, struct err *e);

/* Parses a single element with no '!' or list handling (used by type_parse). */
int type_parse_one(const struct prop *p, const char *in, struct sbuf *out, struct err *e);

/*
 * A number for ordering comparisons (print where x<y, sorting): integers,
 * rates in bit/s, times in milliseconds, ports, numbers. Returns false when
 * the canonical value has no numeric meaning.
 */
bool type_number(const struct prop *p, const char *canon, double *out);

/* Plain scalar parsers, shared with the packet engine and the lint. */
int parse_u64(const char *s, uint64_t *out);                 /* decimal or 0x.. */
int parse_rate(const char *s, uint64_t *bps);                /* 10M -> 10000000 */
void format_rate(uint64_t bps, struct sbuf *out);            /* 10000000 -> 10M */
int parse_time_ms(const char *s, uint64_t *ms);              /* 1h30m -> 5400000 */
void format_time_ms(uint64_t ms, struct sbuf *out);          /* 5400000 -> 1h30m, 0 -> 0s */
int parse_ip4(const char *s, uint32_t *addr);                /* host byte order */
/* "a.b.c.d" or "a.b.c.d/len" (host bits kept): address and length (32 when
 * absent). -1 when either part is bad. */
int parse_prefix4(const char *s, uint32_t *addr, int *len);
/* The netmask of a prefix length 0..32. */
uint32_t prefix4_mask(int len);

/* A time= schedule as tc_schedule writes it ("8h-17h,mon,tue"): seconds of
 * the day (end < start crosses midnight) and the days (bit 0 = sunday). */
struct schedule {
	uint32_t start, end;
	uint8_t days;
};
int schedule_parse(const char *canon, struct schedule *out);
/* Is local time `wall` (seconds since the epoch, in the router's zone) inside? */
bool schedule_holds(const struct schedule *s, int64_t wall);
void format_ip4(uint32_t addr, struct sbuf *out);
int parse_ip6(const char *s, uint8_t addr[16]);
void format_ip6(const uint8_t addr[16], struct sbuf *out);
int parse_mac(const char *s, uint8_t mac[6]);

/*
 * Checks for T_CUSTOM properties whose format is its own little language.
 * Each writes the canonical text to out and returns 0, or -1 with e set.
 */
int tc_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e);      /* rate[/time][,burst[:packet|bit]]: 10,5 ; 1M/1s,32:bit */
int tc_dst_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* rate[/time],burst,mode[/expire] */
int tc_tcp_flags(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* syn,!ack,... */
int tc_icmp_options(const struct prop *p, const char *in, struct sbuf *out, struct err *e); /* type[:code] or type:code-code */
int tc_schedule(const struct prop *p, const char *in, struct sbuf *out, struct err *e);   /* 8h-17h,mon,tue or 08:00:00-17:00:00,mon-fri */
int tc_int_range(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* n or n-m within prop min..max */
int tc_nth(const struct prop *p, const char *in, struct sbuf *out, struct err *e);        /* every,n with 1<=n<=every */
int tc_psd(const struct prop *p, const char *in, struct sbuf *out, struct err *e);        /* weight,delay,low-port-weight,high-port-weight */
int tc_pcc(const struct prop *p, const char *in, struct sbuf *out, struct err *e);        /* both-addresses:3/0 */
int tc_conn_limit(const struct prop *p, const char *in, struct sbuf *out, struct err *e); /* N,prefixlen */
int tc_conn_rate(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* 0-1M (rate-rate) */
int tc_conn_bytes(const struct prop *p, const char *in, struct sbuf *out, struct err *e); /* from-to, 0 = infinity */
int tc_ttl_match(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* equal:N, less-than:N, greater-than:N, not-equal:N */
int tc_ttl_change(const struct prop *p, const char *in, struct sbuf *out, struct err *e); /* set:N, increment:N, decrement:N */
int tc_ip4_range(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* IP or IP-IP (to-addresses) */
int tc_rate_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* upload/download rates: 10M/20M; one rate means both */
int tc_int_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e);   /* 8/8 within prop min..max */
int tc_time_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* 10s/10s */
int tc_name_pair(const struct prop *p, const char *in, struct sbuf *out, struct err *e);  /* default-small/default-small */
int tc_target(const struct prop *p, const char *in, struct sbuf *out, struct err *e);     /* one element: address/prefix or interface name */
int tc_date(const struct prop *p, const char *in, struct sbuf *out, struct err *e);       /* jan/02/2026 (v6 form); 2026-01-02 accepted */
int tc_clock(const struct prop *p, const char *in, struct sbuf *out, struct err *e);      /* 03:00:00 time of day; "startup" allowed for scheduler */
int tc_mss(const struct prop *p, const char *in, struct sbuf *out, struct err *e);        /* n or n-m, 0..65535 */

#endif
