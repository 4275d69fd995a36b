/*
 * The traffic generator: profile parsing, frame building, and both ends of
 * every flow.
 *
 * TCP is a compact Reno with SACK (RFC 5681, 2018, 6675, 6298): initial
 * window 10 MSS, slow start with appropriate byte counting and HyStart's
 * delay exit, congestion avoidance, loss recovery on three duplicate ACKs
 * or three SACKed segments (halve, then resend the holes while the bytes in
 * flight stay under cwnd; holes lost again are resent after an RTT, as
 * RACK would), retransmission timeout with exponential backoff and
 * go-back-N, Karn's rule for RTT samples. Receivers ACK every segment with SACK blocks for
 * what arrived out of order and advertise a 4 MB window (scale 7), so
 * connection tracking sees the handshake, options, windows and close of a
 * real stack. Send and receive
 * positions are 64-bit stream offsets; the 32-bit sequence numbers exist
 * only on the wire.
 *
 * Applications sit on top: web (request, response, close, think time),
 * streaming (a chunk per interval on one connection), bulk transfers (greedy,
 * endless or of a size), and the UDP kinds, whose server side starts sending
 * when it has heard the client (that is how it learns the NAT mapping).
 */
#include "tgen.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/names.h"
#include "engine/pkt.h"

#define MS_NS 1000000ull
#define S_NS 1000000000ull

#define TCP_MSS 1460u
#define TCP_WSCALE 7u
#define TCP_RWND (4u << 20)
#define TCP_IW (10u * TCP_MSS)
#define RTO_INIT (1 * S_NS)
#define RTO_MIN (200 * MS_NS)
#define RTO_MAX (60 * S_NS)
#define OOO_MAX 32
#define SB_MAX 64
#define FRAME_HDR 42u /* Ethernet + IPv4 + UDP (IPv6: 20 more) */
#define HDR_MAX (14 + 40 + 60)

static const char *const class_names[TGC_MAX] = { "voip", "video", "web", "streaming",
						  "bulk-down", "bulk-up", "gaming" };

const char *tgen_class_name(enum tgen_class c)
{
	return c < TGC_MAX ? class_names[c] : "?";
}

/* ---- values ---- */

static int parse_num(const char *s, double *v, const char **rest)
{
	char *end;
	errno = 0;
	*v = strtod(s, &end);
	if (end == s || errno || *v < 0 || !isfinite(*v))
		return -1;
	*rest = end;
	return 0;
}

int tgen_parse_rate(const char *s, uint64_t *bps)
{
	double v;
	const char *r;
	if (parse_num(s, &v, &r) < 0)
		return -1;
	double m = 1;
	if (*r == 'k' || *r == 'K')
		m = 1e3, r++;
	else if (*r == 'M')
		m = 1e6, r++;
	else if (*r == 'G')
		m = 1e9, r++;
	if (!strcmp(r, "bps") || !strcmp(r, "bit/s"))
		r += strlen(r);
	if (*r)
		return -1;
	*bps = (uint64_t)llround(v * m);
	return 0;
}

int tgen_parse_time(const char *s, uint64_t *ns)
{
	double v;
	const char *r;
	if (parse_num(s, &v, &r) < 0)
		return -1;
	double m;
	if (!strcmp(r, "s") || !*r)
		m = 1e9;
	else if (!strcmp(r, "ms"))
		m = 1e6;
	else if (!strcmp(r, "us"))
		m = 1e3;
	else if (!strcmp(r, "ns"))
		m = 1;
	else if (!strcmp(r, "m"))
		m = 60e9;
	else
		return -1;
	*ns = (uint64_t)llround(v * m);
	return 0;
}

int tgen_parse_size(const char *s, uint64_t *bytes)
{
	double v;
	const char *r;
	if (parse_num(s, &v, &r) < 0)
		return -1;
	double m = 1;
	if (*r == 'k' || *r == 'K')
		m = 1e3, r++;
	else if (*r == 'M')
		m = 1e6, r++;
	else if (*r == 'G')
		m = 1e9, r++;
	if (*r == 'B')
		r++;
	if (*r)
		return -1;
	*bytes = (uint64_t)llround(v * m);
	return 0;
}

/* ---- profile ---- */

struct jctx {
	const char *file;
	struct err *e;
};

static int jerr(struct jctx *c, const char *where, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int jerr(struct jctx *c, const char *where, const char *key, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		return err_setp(c->e, key, "%s: %s: \"%s\": %s", c->file, where, key, msg);
	return err_set(c->e, "%s: %s: %s", c->file, where, msg);
}

/* Every key of o must be in the NULL-terminated list. */
static int check_keys(struct jctx *c, const char *where, json_t *o, const char *const *keys)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v) {
		const char *const *p = keys;
		while (*p && strcmp(*p, k))
			p++;
		if (!*p)
			return jerr(c, where, k, "unknown key");
	}
	return 0;
}

typedef int (*parse_fn)(const char *, uint64_t *);

/* A value given as a JSON number (in the base unit) or a string with a unit. */
static int get_val(struct jctx *c, const char *where, json_t *o, const char *key, parse_fn fn,
		   double num_scale, uint64_t *out, bool *set)
{
	json_t *v = json_object_get(o, key);
	if (set)
		*set = v != NULL;
	if (!v)
		return 0;
	if (json_is_number(v)) {
		double d = json_number_value(v);
		if (d < 0 || !isfinite(d))
			return jerr(c, where, key, "must not be negative");
		*out = (uint64_t)llround(d * num_scale);
		return 0;
	}
	if (json_is_string(v) && fn(json_string_value(v), out) == 0)
		return 0;
	return jerr(c, where, key, "bad value");
}

#define GET_RATE(o, k, out) get_val(c, where, o, k, tgen_parse_rate, 1, out, NULL)
#define GET_TIME(o, k, out) get_val(c, where, o, k, tgen_parse_time, 1e9, out, NULL)
#define GET_SIZE(o, k, out) get_val(c, where, o, k, tgen_parse_size, 1, out, NULL)

static int get_u32(struct jctx *c, const char *where, json_t *o, const char *key, uint32_t lo,
		   uint32_t hi, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return jerr(c, where, key, "must be an integer from %u to %u", lo, hi);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int get_addr(struct jctx *c, const char *where, json_t *o, const char *key, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	struct in_addr a;
	if (!v || !json_is_string(v) || inet_pton(AF_INET, json_string_value(v), &a) != 1)
		return jerr(c, where, key, "an IPv4 address is required");
	*out = ntohl(a.s_addr);
	return 0;
}

/* An IPv6 address (network order) when the key is there. */
static int get_addr6(struct jctx *c, const char *where, json_t *o, const char *key,
		     uint8_t out[16], bool *set)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_string(v) || inet_pton(AF_INET6, json_string_value(v), out) != 1)
		return jerr(c, where, key, "an IPv6 address is required");
	*set = true;
	return 0;
}

/* A server: an IPv4 or an IPv6 address (the flow then runs over IPv6). */
static int get_server(struct jctx *c, const char *where, json_t *o, struct tgen_addr *out)
{
	json_t *v = json_object_get(o, "server");
	struct in_addr a;
	memset(out, 0, sizeof(*out));
	if (v && json_is_string(v) && inet_pton(AF_INET6, json_string_value(v), out->a6) == 1) {
		out->v6 = true;
		return 0;
	}
	if (!v || !json_is_string(v) || inet_pton(AF_INET, json_string_value(v), &a) != 1)
		return jerr(c, where, "server", "an IPv4 or IPv6 address is required");
	out->v4 = ntohl(a.s_addr);
	return 0;
}

/* Buffer: an integer (packets) or a time ("200ms", converted with the rate). */
static int get_buffer(struct jctx *c, const char *where, json_t *o, const char *key,
		      uint64_t rate, uint32_t *pkts, uint64_t *bytes)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	uint64_t ns;
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 1000000) {
		*pkts = (uint32_t)json_integer_value(v);
		*bytes = 0;
	} else if (json_is_string(v) && tgen_parse_time(json_string_value(v), &ns) == 0 && ns) {
		*pkts = 0;
		*bytes = (uint64_t)((double)rate * (double)ns / 8e9);
		if (*bytes < 1600)
			*bytes = 1600;
	} else {
		return jerr(c, where, key, "a packet count or a time such as \"200ms\"");
	}
	return 0;
}

static int find_iface(struct tgen_profile *p, const char *name)
{
	for (size_t i = 0; i < p->nifaces; i++)
		if (!strcmp(p->ifaces[i].name, name))
			return (int)i;
	return -1;
}

static int add_iface(struct tgen_profile *p, const char *name)
{
	int i = find_iface(p, name);
	if (i >= 0)
		return i;
	p->ifaces = xrealloc(p->ifaces, (p->nifaces + 1) * sizeof(*p->ifaces));
	struct tgen_iface *f = &p->ifaces[p->nifaces];
	memset(f, 0, sizeof(*f));
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->ifid = (uint16_t)name_intern(NS_IFACE, name);
	f->rate = 1000000000ull;
	f->delay = 100000; /* 0.1 ms */
	return (int)p->nifaces++;
}

static const struct {
	const char *name;
	enum tgen_class kind;
} kinds[] = {
	{ "voip", TGC_VOIP }, { "video", TGC_VIDEO }, { "web", TGC_WEB },
	{ "streaming", TGC_STREAMING }, { "bulk-download", TGC_BULK_DOWN },
	{ "bulk-down", TGC_BULK_DOWN }, { "bulk-upload", TGC_BULK_UP },
	{ "bulk-up", TGC_BULK_UP }, { "gaming", TGC_GAMING },
};

/* The smallest UDP frame a flow of the family sends: Ethernet's 60, or the
 * headers alone over IPv6 (14 + 40 + 8). */
static uint32_t udp_min_frame(bool v6)
{
	return v6 ? 62 : 60;
}

static int parse_flow(struct jctx *c, struct tgen_profile *p, uint32_t host, json_t *fo,
		      size_t idx)
{
	static const char *const keys[] = { "kind", "server", "port", "dscp", "start", "stop",
					    "count", "rate", "rate_up", "rate_down", "interval",
					    "size", "size_up", "size_down", "request", "pps",
					    "pps_up", "pps_down", "min_size", "max_size", "think",
					    "sip_interval", "fps", "keyframe", "chunk", "comment",
					    NULL };
	char where[160];
	snprintf(where, sizeof(where), "host \"%s\" flow %zu", p->hosts[host].name, idx + 1);
	if (!json_is_object(fo))
		return jerr(c, where, NULL, "a flow is an object");
	if (check_keys(c, where, fo, keys) < 0)
		return -1;
	struct tgen_flow_cfg f;
	memset(&f, 0, sizeof(f));
	f.host = host;
	json_t *k = json_object_get(fo, "kind");
	const char *ks = json_is_string(k) ? json_string_value(k) : "";
	size_t ki;
	for (ki = 0; ki < sizeof(kinds) / sizeof(kinds[0]); ki++)
		if (!strcmp(kinds[ki].name, ks))
			break;
	if (ki == sizeof(kinds) / sizeof(kinds[0]))
		return jerr(c, where, "kind", "one of voip, video, web, streaming, bulk-download, "
					      "bulk-upload, gaming");
	f.kind = kinds[ki].kind;
	if (get_server(c, where, fo, &f.server) < 0)
		return -1;
	if (f.server.v6 && !p->hosts[host].has_addr6)
		return jerr(c, where, "server",
			    "an IPv6 server needs the host's \"address6\"");
	uint32_t port = 0, dscp = 0, count = 1, size = 0;
	uint32_t min_frame = udp_min_frame(f.server.v6);
	uint64_t rate = 0, sz = 0, chunk = 0;
	if (get_u32(c, where, fo, "port", 1, 65535, &port) < 0 ||
	    get_u32(c, where, fo, "dscp", 0, 63, &dscp) < 0 ||
	    get_u32(c, where, fo, "count", 1, 1000, &count) < 0 ||
	    get_val(c, where, fo, "start", tgen_parse_time, 1e9, &f.start, &f.start_set) < 0 ||
	    GET_TIME(fo, "stop", &f.stop) < 0 || GET_RATE(fo, "rate", &rate) < 0 ||
	    GET_RATE(fo, "rate_up", &f.rate_up) < 0 ||
	    GET_RATE(fo, "rate_down", &f.rate_down) < 0 ||
	    GET_TIME(fo, "interval", &f.interval) < 0 || GET_TIME(fo, "chunk", &chunk) < 0 ||
	    GET_SIZE(fo, "size", &sz) < 0 || GET_SIZE(fo, "min_size", &f.min_size) < 0 ||
	    GET_SIZE(fo, "max_size", &f.max_size) < 0 || GET_TIME(fo, "think", &f.think) < 0 ||
	    GET_TIME(fo, "sip_interval", &f.sip_interval) < 0 ||
	    GET_TIME(fo, "keyframe", &f.keyframe) < 0 ||
	    get_u32(c, where, fo, "size_up", min_frame, 1514, &f.size_up) < 0 ||
	    get_u32(c, where, fo, "size_down", min_frame, 1514, &f.size_down) < 0 ||
	    get_u32(c, where, fo, "request", 1, 65536, &size) < 0 ||
	    get_u32(c, where, fo, "pps", 1, 10000, &f.pps_up) < 0 ||
	    get_u32(c, where, fo, "pps_up", 1, 10000, &f.pps_up) < 0 ||
	    get_u32(c, where, fo, "pps_down", 1, 10000, &f.pps_down) < 0 ||
	    get_u32(c, where, fo, "fps", 1, 240, &f.fps) < 0)
		return -1;
	if (json_object_get(fo, "pps") && !json_object_get(fo, "pps_down"))
		f.pps_down = f.pps_up;
	f.port = (uint16_t)port;
	f.dscp = (uint8_t)dscp;
	switch (f.kind) {
	case TGC_VOIP:
		if (!f.interval)
			f.interval = 20 * MS_NS;
		if (!f.size_up)
			f.size_up = 214;
		if (!f.size_down)
			f.size_down = f.size_up;
		if (!f.sip_interval)
			f.sip_interval = 30 * S_NS;
		if (!f.port)
			f.port = 5060;
		break;
	case TGC_VIDEO:
		if (rate)
			f.rate_up = f.rate_down = rate;
		if (!f.rate_up)
			f.rate_up = 2000000;
		if (!f.rate_down)
			f.rate_down = 2000000;
		if (!f.fps)
			f.fps = 30;
		if (!f.keyframe)
			f.keyframe = 2 * S_NS;
		break;
	case TGC_WEB:
		if (!f.min_size)
			f.min_size = 5000;
		if (!f.max_size)
			f.max_size = 500000;
		if (f.min_size > f.max_size)
			return jerr(c, where, "min_size", "larger than max_size");
		if (!f.think)
			f.think = 5 * S_NS;
		f.size_up = size ? size : 500;
		if (!f.port)
			f.port = 443;
		break;
	case TGC_STREAMING:
		f.rate_down = rate ? rate : f.rate_down ? f.rate_down : 5000000;
		f.interval = chunk ? chunk : f.interval ? f.interval : 4 * S_NS;
		f.size_up = size ? size : 400;
		if (!f.port)
			f.port = 443;
		break;
	case TGC_BULK_DOWN:
	case TGC_BULK_UP:
		f.max_size = sz ? sz : f.max_size;
		if (!f.think)
			f.think = 5 * S_NS;
		f.size_up = size ? size : 300;
		if (!f.port)
			f.port = f.kind == TGC_BULK_UP ? 22 : 443;
		break;
	case TGC_GAMING:
		if (!f.pps_up)
			f.pps_up = 60;
		if (!f.pps_down)
			f.pps_down = f.pps_up;
		if (!f.size_up)
			f.size_up = 90;
		if (!f.size_down)
			f.size_down = 180;
		if (!f.port)
			f.port = 3074;
		break;
	default:
		break;
	}
	for (uint32_t i = 0; i < count; i++) {
		p->flows = xrealloc(p->flows, (p->nflows + 1) * sizeof(*p->flows));
		p->flows[p->nflows++] = f;
	}
	return 0;
}

static int parse_profile(struct jctx *c, json_t *root, struct tgen_profile *p)
{
	static const char *const top_keys[] = { "name", "description", "wan", "interfaces",
						"hosts", "warmup", "comment", NULL };
	static const char *const wan_keys[] = { "interface", "up", "down", "rtt", "buffer",
						"up_buffer", "down_buffer", "overhead", "port_rate",
						"port_delay", "comment", NULL };
	static const char *const if_keys[] = { "rate", "delay", "comment", NULL };
	static const char *const host_keys[] = { "name", "interface", "address", "address6",
						 "flows", "comment", NULL };
	const char *where = "profile";
	if (!json_is_object(root))
		return jerr(c, where, NULL, "the profile is a JSON object");
	if (check_keys(c, where, root, top_keys) < 0)
		return -1;
	json_t *v = json_object_get(root, "name");
	snprintf(p->name, sizeof(p->name), "%s", json_is_string(v) ? json_string_value(v) : "");
	v = json_object_get(root, "description");
	snprintf(p->description, sizeof(p->description), "%s",
		 json_is_string(v) ? json_string_value(v) : "");
	if (GET_TIME(root, "warmup", &p->warmup) < 0)
		return -1;

	json_t *wan = json_object_get(root, "wan");
	where = "wan";
	if (!json_is_object(wan))
		return jerr(c, "profile", "wan", "an object is required");
	if (check_keys(c, where, wan, wan_keys) < 0)
		return -1;
	v = json_object_get(wan, "interface");
	add_iface(p, json_is_string(v) ? json_string_value(v) : "ether1-gateway");
	struct tgen_wan *w = &p->wan;
	w->iface = 0;
	w->rtt = 30 * MS_NS;
	w->port_rate = 1000000000ull;
	w->port_delay = 50000;
	if (GET_RATE(wan, "up", &w->up) < 0 || GET_RATE(wan, "down", &w->down) < 0 ||
	    GET_TIME(wan, "rtt", &w->rtt) < 0 || GET_RATE(wan, "port_rate", &w->port_rate) < 0 ||
	    GET_TIME(wan, "port_delay", &w->port_delay) < 0 ||
	    get_u32(c, where, wan, "overhead", 0, 200, &w->overhead) < 0)
		return -1;
	if (!w->up || !w->down)
		return jerr(c, where, !w->up ? "up" : "down", "a rate such as \"10M\" is required");
	if (!w->port_rate)
		return jerr(c, where, "port_rate", "must not be 0");
	/* defaults: a typical modem holds about 200 ms upstream, the ISP 100 ms down */
	w->up_buf_bytes = w->up / 8 / 5;
	w->down_buf_bytes = w->down / 8 / 10;
	if (get_buffer(c, where, wan, "buffer", w->up, &w->up_buf_pkts, &w->up_buf_bytes) < 0 ||
	    get_buffer(c, where, wan, "buffer", w->down, &w->down_buf_pkts, &w->down_buf_bytes) <
		    0 ||
	    get_buffer(c, where, wan, "up_buffer", w->up, &w->up_buf_pkts, &w->up_buf_bytes) < 0 ||
	    get_buffer(c, where, wan, "down_buffer", w->down, &w->down_buf_pkts,
		       &w->down_buf_bytes) < 0)
		return -1;
	p->ifaces[0].rate = w->port_rate;
	p->ifaces[0].delay = w->port_delay;

	json_t *ifs = json_object_get(root, "interfaces");
	if (ifs && !json_is_object(ifs))
		return jerr(c, "profile", "interfaces", "an object of interface names");
	const char *ik;
	json_t *iv;
	json_object_foreach(ifs, ik, iv) {
		char w2[120];
		snprintf(w2, sizeof(w2), "interface \"%s\"", ik);
		if (!json_is_object(iv) || check_keys(c, w2, iv, if_keys) < 0)
			return json_is_object(iv) ? -1 : jerr(c, w2, NULL, "an object is required");
		if (find_iface(p, ik) == 0)
			return jerr(c, w2, NULL, "is the WAN interface (set port_rate in wan)");
		int i = add_iface(p, ik);
		if (get_val(c, w2, iv, "rate", tgen_parse_rate, 1, &p->ifaces[i].rate, NULL) < 0 ||
		    get_val(c, w2, iv, "delay", tgen_parse_time, 1e9, &p->ifaces[i].delay, NULL) <
		    0)
			return -1;
		if (!p->ifaces[i].rate)
			return jerr(c, w2, "rate", "must not be 0");
	}

	json_t *hosts = json_object_get(root, "hosts");
	if (!json_is_array(hosts) || !json_array_size(hosts))
		return jerr(c, "profile", "hosts", "a non-empty array is required");
	size_t hi;
	json_t *ho;
	json_array_foreach(hosts, hi, ho) {
		char w2[120];
		snprintf(w2, sizeof(w2), "host %zu", hi + 1);
		if (!json_is_object(ho))
			return jerr(c, w2, NULL, "a host is an object");
		if (check_keys(c, w2, ho, host_keys) < 0)
			return -1;
		p->hosts = xrealloc(p->hosts, (p->nhosts + 1) * sizeof(*p->hosts));
		struct tgen_host *h = &p->hosts[p->nhosts];
		memset(h, 0, sizeof(*h));
		v = json_object_get(ho, "name");
		if (json_is_string(v))
			snprintf(h->name, sizeof(h->name), "%s", json_string_value(v));
		else
			snprintf(h->name, sizeof(h->name), "host%zu", hi + 1);
		snprintf(w2, sizeof(w2), "host \"%s\"", h->name);
		v = json_object_get(ho, "interface");
		if (!json_is_string(v) || !*json_string_value(v))
			return jerr(c, w2, "interface", "an interface name is required");
		int ii = add_iface(p, json_string_value(v));
		if (ii == 0)
			return jerr(c, w2, "interface",
				    "hosts sit on the LAN, not on the WAN interface");
		h->iface = (uint32_t)ii;
		if (get_addr(c, w2, ho, "address", &h->addr) < 0 ||
		    get_addr6(c, w2, ho, "address6", h->addr6, &h->has_addr6) < 0)
			return -1;
		p->nhosts++;
		json_t *flows = json_object_get(ho, "flows");
		if (flows && !json_is_array(flows))
			return jerr(c, w2, "flows", "an array is required");
		size_t fi;
		json_t *fo;
		json_array_foreach(flows, fi, fo)
			if (parse_flow(c, p, (uint32_t)(p->nhosts - 1), fo, fi) < 0)
				return -1;
	}
	if (!p->nflows)
		return jerr(c, "profile", "hosts", "no flows");
	return 0;
}

static int profile_from(json_t *root, json_error_t *je, const char *name,
			struct tgen_profile **out, struct err *e)
{
	struct jctx c = { name, e };
	*out = NULL;
	if (!root) {
		err_set(e, "%s: %s", name, je->text);
		err_at(e, je->line, je->column);
		return -1;
	}
	struct tgen_profile *p = xcalloc(1, sizeof(*p));
	int rc = parse_profile(&c, root, p);
	json_decref(root);
	if (rc < 0) {
		tgen_profile_free(p);
		return -1;
	}
	*out = p;
	return 0;
}

int tgen_profile_load(const char *path, struct tgen_profile **out, struct err *e)
{
	json_error_t je;
	json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
	return profile_from(root, &je, path, out, e);
}

int tgen_profile_parse(const char *text, const char *name, struct tgen_profile **out,
		       struct err *e)
{
	json_error_t je;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &je);
	return profile_from(root, &je, name, out, e);
}

void tgen_profile_free(struct tgen_profile *p)
{
	if (!p)
		return;
	free(p->ifaces);
	free(p->hosts);
	free(p->flows);
	free(p);
}

/* ---- frames ---- */

static const uint8_t mac_host[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x10 };
static const uint8_t mac_router[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0x01 };
static const uint8_t mac_isp[6] = { 0x02, 0x00, 0x00, 0x00, 0x00, 0xfe };

static inline void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

static inline void put32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static inline uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static inline uint32_t sum16(const uint8_t *b, size_t n, uint32_t acc)
{
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		acc += (uint32_t)(b[i] << 8 | b[i + 1]);
	if (n & 1)
		acc += (uint32_t)b[n - 1] << 8;
	return acc;
}

static inline uint16_t fold(uint32_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

/* Bytes of the IP header of a family. */
static inline uint32_t l3_len(const struct tgen_addr *a)
{
	return a->v6 ? 40u : 20u;
}

/* Ethernet + IP header; the payload after hdr_end is made zero (frames are
 * recycled: only their headers, at most HDR_MAX bytes, are ever anything
 * else). */
static void build_ip(struct tgen_pkt *p, const struct tgen_addr *src, const struct tgen_addr *dst,
		     uint8_t proto, uint32_t frame_len, uint32_t hdr_end, uint8_t dscp,
		     uint16_t ipid, bool df)
{
	uint8_t *b = p->data;
	memcpy(b, mac_router, 6);
	memcpy(b + 6, p->dir == TG_UP ? mac_host : mac_isp, 6);
	uint8_t *ip = b + 14;
	if (src->v6) {
		put16(b + 12, 0x86dd);
		put32(ip, 0x60000000u | (uint32_t)dscp << 22);
		put16(ip + 4, (uint16_t)(frame_len - 14 - 40));
		ip[6] = proto;
		ip[7] = 64;
		memcpy(ip + 8, src->a6, 16);
		memcpy(ip + 24, dst->a6, 16);
	} else {
		put16(b + 12, 0x0800);
		ip[0] = 0x45;
		ip[1] = (uint8_t)(dscp << 2);
		put16(ip + 2, (uint16_t)(frame_len - 14));
		put16(ip + 4, ipid);
		put16(ip + 6, df ? 0x4000 : 0);
		ip[8] = 64;
		ip[9] = proto;
		put16(ip + 10, 0);
		put32(ip + 12, src->v4);
		put32(ip + 16, dst->v4);
		put16(ip + 10, fold(sum16(ip, 20, 0)));
	}
	if (hdr_end < HDR_MAX && frame_len > hdr_end)
		memset(b + hdr_end, 0, (frame_len < HDR_MAX ? frame_len : HDR_MAX) - hdr_end);
	p->len = (uint16_t)frame_len;
}

/* The pseudo-header's part of a transport checksum (RFC 768/793, RFC 8200 8.1). */
static uint32_t pseudo(const struct tgen_addr *src, const struct tgen_addr *dst, uint8_t proto,
		       uint32_t l4len)
{
	if (src->v6)
		return sum16(src->a6, 16, sum16(dst->a6, 16, 0)) + proto + (l4len >> 16) +
		       (l4len & 0xffff);
	return (src->v4 >> 16) + (src->v4 & 0xffff) + (dst->v4 >> 16) + (dst->v4 & 0xffff) +
	       proto + l4len;
}

/* A 32-bit digest of an address for the flow hash. */
static uint32_t addr_digest(const struct tgen_addr *a)
{
	if (!a->v6)
		return a->v4;
	uint32_t h = 0;
	for (int i = 0; i < 16; i += 4)
		h = h * 0x01000193u ^ get32(a->a6 + i);
	return h;
}

static void fill_qpkt(struct tgen_pkt *p, const struct tgen_addr *src, uint16_t sport,
		      const struct tgen_addr *dst, uint16_t dport, uint8_t proto, uint8_t dscp)
{
	struct qpkt *q = &p->q;
	q->next = NULL;
	q->len = p->len;
	q->family = src->v6 ? 6 : 4;
	q->src = src->v6 ? 0 : src->v4;
	q->dst = dst->v6 ? 0 : dst->v4;
	if (src->v6) {
		memcpy(q->src6, src->a6, 16);
		memcpy(q->dst6, dst->a6, 16);
	}
	q->sport = sport;
	q->dport = dport;
	q->dscp = dscp;
	q->ecn = 0;
	uint32_t h = addr_digest(src) * 0x9e3779b1u ^ addr_digest(dst) * 0x85ebca6bu ^
		     ((uint32_t)sport << 16 | dport) * 0xc2b2ae35u ^ proto;
	q->hash = h ^ (h >> 15);
	q->frame = p;
}

uint32_t tgen_mss(bool v6)
{
	return v6 ? TCP_MSS - 20 : TCP_MSS;
}

bool tgen_build_udp(struct tgen_pkt *p, const struct tgen_addr *src, uint16_t sport,
		    const struct tgen_addr *dst, uint16_t dport, uint32_t frame_len, uint8_t dscp,
		    uint16_t ipid)
{
	uint32_t l4off = 14 + l3_len(src);
	if (src->v6 != dst->v6 || frame_len < l4off + 8 || frame_len > 1514)
		return false;
	build_ip(p, src, dst, 17, frame_len, l4off + 8, dscp, ipid, false);
	uint8_t *u = p->data + l4off;
	uint32_t l4 = frame_len - l4off;
	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, (uint16_t)l4);
	put16(u + 6, 0);
	uint16_t cs = fold(sum16(u, 8, pseudo(src, dst, 17, l4)));
	put16(u + 6, cs ? cs : 0xffff);
	fill_qpkt(p, src, sport, dst, dport, 17, dscp);
	return true;
}

bool tgen_build_tcp(struct tgen_pkt *p, const struct tgen_addr *src, uint16_t sport,
		    const struct tgen_addr *dst, uint16_t dport, uint32_t seq, uint32_t ack,
		    uint8_t flags, uint16_t win, const struct tgen_tcp_opts *o,
		    uint32_t payload_len, uint8_t dscp, uint16_t ipid)
{
	uint8_t opt[40];
	uint32_t optlen = 0;
	if (src->v6 != dst->v6)
		return false;
	if (o && (flags & TCPF_SYN)) {
		opt[0] = 2; /* MSS */
		opt[1] = 4;
		put16(opt + 2, (uint16_t)tgen_mss(src->v6));
		optlen = 4;
		if (o->sack_perm) {
			memcpy(opt + optlen, "\x01\x01\x04\x02", 4);
			optlen += 4;
		}
		if (o->wscale != 0xff) {
			opt[optlen] = 1;
			opt[optlen + 1] = 3;
			opt[optlen + 2] = 3;
			opt[optlen + 3] = o->wscale;
			optlen += 4;
		}
	} else if (o && o->nsack) {
		unsigned n = o->nsack > 4 ? 4 : o->nsack;
		opt[0] = 1;
		opt[1] = 1;
		opt[2] = 5;
		opt[3] = (uint8_t)(2 + 8 * n);
		for (unsigned i = 0; i < n; i++) {
			put32(opt + 4 + 8 * i, o->sack[i][0]);
			put32(opt + 8 + 8 * i, o->sack[i][1]);
		}
		optlen = 4 + 8 * n;
	}
	uint32_t l4off = 14 + l3_len(src);
	uint32_t hdr = l4off + 20 + optlen;
	uint32_t frame_len = hdr + payload_len;
	if (frame_len > 1514)
		return false;
	build_ip(p, src, dst, 6, frame_len, hdr, dscp, ipid, true);
	uint8_t *t = p->data + l4off;
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)(((20 + optlen) / 4) << 4);
	t[13] = flags;
	put16(t + 14, win);
	put16(t + 16, 0);
	put16(t + 18, 0);
	memcpy(t + 20, opt, optlen);
	uint32_t l4 = frame_len - l4off;
	put16(t + 16, fold(sum16(t, 20 + optlen, pseudo(src, dst, 6, l4))));
	fill_qpkt(p, src, sport, dst, dport, 6, dscp);
	return true;
}

/*
 * What a receiving end reads of a frame tgen built and the router passed
 * on (perhaps with its addresses translated): the source address and the
 * transport header with its length. NULL for a frame too short for what
 * its IP header says.
 */
static const uint8_t *frame_l4(const struct tgen_pkt *p, struct tgen_addr *src, uint32_t *l4len)
{
	const uint8_t *ip = p->data + 14;
	uint32_t hl, total;
	memset(src, 0, sizeof(*src));
	if ((ip[0] >> 4) == 6) {
		src->v6 = true;
		memcpy(src->a6, ip + 8, 16);
		hl = 40;
		total = 40u + get16(ip + 4);
	} else {
		src->v4 = get32(ip + 12);
		hl = (uint32_t)(ip[0] & 15) * 4;
		total = get16(ip + 2);
	}
	if (total < hl + 8 || p->len < 14 + total)
		return NULL;
	*l4len = total - hl;
	return ip + hl;
}

/* ---- randomness (xoshiro256**, seeded by splitmix64) ---- */

struct rng {
	uint64_t s[4];
};

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix(&x);
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rng_u64(struct rng *r)
{
	uint64_t *s = r->s;
	uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

static double rng_unit(struct rng *r)
{
	return (double)(rng_u64(r) >> 11) * 0x1.0p-53;
}

static uint64_t rng_range(struct rng *r, uint64_t lo, uint64_t hi)
{
	return hi <= lo ? lo : lo + rng_u64(r) % (hi - lo + 1);
}

static uint64_t rng_exp(struct rng *r, uint64_t mean)
{
	double u = rng_unit(r);
	double v = -log(1.0 - u) * (double)mean;
	return v > 20.0 * (double)mean ? 20 * mean : (uint64_t)v;
}

/* ---- the generator ---- */

enum tcp_state { TS_CLOSED, TS_SYN_SENT, TS_SYN_RCVD, TS_ESTAB };

struct range {
	uint64_t s, e;
	uint64_t stamp; /* receiver: when the range last grew (SACK block order) */
};

struct tcp_ep {
	uint8_t state;
	bool server;
	bool syn_retx, fin_queued, fin_rcvd;
	bool in_recovery, rtt_on, ack_pending;
	uint32_t iss, irs;
	struct tgen_addr peer_addr;
	uint16_t peer_port;
	uint16_t ipid;
	/* send side, stream offsets (the FIN is the byte at app_end) */
	uint64_t una, nxt, max, app_end;
	uint64_t cwnd, ssthresh, recover, peer_wnd;
	uint64_t hi_rxt;        /* recovery: holes below this were sent again */
	uint64_t rxt_ts;        /* when a hole was last sent again */
	uint64_t min_rtt;
	uint32_t dupacks;
	struct range sb[SB_MAX]; /* SACKed ranges above una, sorted */
	uint32_t nsb;
	uint64_t srtt, rttvar, rto;
	uint64_t rtt_off, rtt_ts, syn_ts;
	uint64_t rto_at;        /* 0 = not armed */
	uint64_t timer_ev;      /* earliest timer event known to be queued */
	uint32_t timer_pending; /* timer events queued (stale ones included) */
	/* receive side */
	uint64_t rcv;           /* next expected offset (+1 once the FIN is in) */
	uint64_t fin_off;       /* UINT64_MAX: no FIN seen */
	struct range ooo[OOO_MAX];
	uint32_t nooo;
	uint64_t stamp;
};

enum timer_kind { T_START, T_UP, T_DOWN, T_SIP, T_APP, T_RTO_C, T_RTO_S, T_STOP };

/* app message tags carried in tgen_pkt (the payload itself is zero) */
enum { TAG_NONE, TAG_INVITE, TAG_TRYING, TAG_OK_INVITE, TAG_ACK, TAG_OPTIONS, TAG_OK,
       TAG_RTP };

struct flow {
	const struct tgen_flow_cfg *cfg;
	enum tgen_class cls;
	struct rng rng;
	struct tgen_addr host;       /* the host's address of the server's family */
	uint32_t mss;                /* segment size for the family; the congestion
				      * arithmetic counts in TCP_MSS units either way */
	uint64_t start, stop; /* absolute */
	bool stopped;
	/* UDP */
	uint16_t c_port, s_port;     /* media */
	uint16_t c_sip, s_sip;
	struct tgen_addr s_peer;
	uint16_t s_peer_port, s_peer_sip;
	bool s_learned, down_running, up_running;
	uint8_t sip_state;           /* 0 calling, 1 in call */
	uint64_t sip_t1;
	uint32_t frame_up, frame_down;
	uint16_t ipid_c, ipid_s;
	/* TCP */
	struct tcp_ep c, s;
	uint16_t serial, s_serial;
	bool closing, done;
	uint64_t xfer_start;         /* request sent / transfer began */
	uint64_t want;               /* bytes the client waits for (download side) */
	uint64_t resp;               /* response bytes of the current request */
	uint64_t served;             /* requests the server has answered */
};

struct tgen {
	const struct tgen_profile *prof;
	struct tgen_io io;
	uint64_t seed, t0;
	struct flow *flows;
	size_t nflows;
	uint16_t *eph; /* next ephemeral port per host */
	struct tgen_app_stats app[TGC_MAX];
};

static void flow_event(struct tgen *tg, uint32_t fi, uint32_t kind, uint64_t at)
{
	tg->io.timer(tg->io.ctx, fi, kind, at);
}

static struct tgen_pkt *new_pkt(struct tgen *tg, struct flow *f, uint32_t fi, enum tgen_dir dir,
				uint64_t now)
{
	struct tgen_pkt *p = tg->io.alloc(tg->io.ctx);
	if (!p) {
		tg->io.lost(tg->io.ctx, f->cls, dir);
		return NULL;
	}
	p->flow = fi;
	p->conn = f->serial;
	p->cls = (uint8_t)f->cls;
	p->dir = (uint8_t)dir;
	p->iso = false;
	p->tag = TAG_NONE;
	p->sent = now;
	p->fixed = 0;
	p->q.user = fi;
	return p;
}

static uint16_t next_eph(struct tgen *tg, const struct flow *f)
{
	uint16_t *e = &tg->eph[f->cfg->host];
	uint16_t port = *e;
	*e = (uint16_t)(port >= 60999 ? 32768 : port + 1);
	return port;
}

/* ---- UDP ---- */

static void udp_send(struct tgen *tg, struct flow *f, uint32_t fi, enum tgen_dir dir,
		     uint32_t frame_len, uint8_t tag, bool iso, uint64_t now)
{
	struct tgen_pkt *p = new_pkt(tg, f, fi, dir, now);
	if (!p)
		return;
	bool sip = tag != TAG_RTP;
	bool built;
	if (dir == TG_UP)
		built = tgen_build_udp(p, &f->host, sip ? f->c_sip : f->c_port, &f->cfg->server,
				       sip ? f->s_sip : f->s_port, frame_len, f->cfg->dscp,
				       f->ipid_c++);
	else
		built = tgen_build_udp(p, &f->cfg->server, sip ? f->s_sip : f->s_port, &f->s_peer,
				       sip ? f->s_peer_sip : f->s_peer_port, frame_len,
				       f->cfg->dscp, f->ipid_s++);
	if (!built) { /* the buffer still holds another packet's frame */
		tg->io.release(tg->io.ctx, p);
		return;
	}
	p->iso = iso;
	p->tag = tag;
	tg->io.send(tg->io.ctx, p, now);
}

/* A video frame: keyframes 4x the mean, the others a little random. */
static void video_frame(struct tgen *tg, struct flow *f, uint32_t fi, enum tgen_dir dir,
			uint64_t now)
{
	const struct tgen_flow_cfg *c = f->cfg;
	uint64_t rate = dir == TG_UP ? c->rate_up : c->rate_down;
	uint32_t *no = dir == TG_UP ? &f->frame_up : &f->frame_down;
	double mean = (double)rate / 8.0 / c->fps;
	uint32_t gop = (uint32_t)((c->keyframe * c->fps) / S_NS);
	if (gop < 2)
		gop = 2;
	double p_size = mean * gop / (gop + 3.0); /* so that the average stays `mean` */
	double sz = (*no % gop == 0) ? 4 * p_size : p_size * (0.7 + 0.6 * rng_unit(&f->rng));
	(*no)++;
	uint64_t bytes = (uint64_t)sz;
	while (bytes) {
		uint64_t chunk = bytes > 1200 ? 1200 : bytes;
		uint32_t frame = (uint32_t)(chunk + 12 + FRAME_HDR + (f->host.v6 ? 20 : 0));
		if (frame < udp_min_frame(f->host.v6))
			frame = udp_min_frame(f->host.v6);
		udp_send(tg, f, fi, dir, frame, TAG_RTP, true, now);
		bytes -= chunk;
	}
}

static void udp_tick(struct tgen *tg, struct flow *f, uint32_t fi, enum tgen_dir dir, uint64_t now)
{
	const struct tgen_flow_cfg *c = f->cfg;
	if (now >= f->stop) {
		if (dir == TG_UP)
			f->up_running = false;
		else
			f->down_running = false;
		return;
	}
	uint64_t next;
	switch (f->cls) {
	case TGC_VOIP:
		udp_send(tg, f, fi, dir, dir == TG_UP ? c->size_up : c->size_down, TAG_RTP, true,
			 now);
		next = c->interval;
		break;
	case TGC_VIDEO:
		video_frame(tg, f, fi, dir, now);
		next = S_NS / c->fps;
		break;
	default: { /* gaming */
		uint32_t base = dir == TG_UP ? c->size_up : c->size_down;
		uint32_t sz = (uint32_t)rng_range(&f->rng, base - base / 5, base + base / 5);
		uint32_t lo = udp_min_frame(f->host.v6);
		udp_send(tg, f, fi, dir, sz < lo ? lo : sz, TAG_RTP, true, now);
		next = S_NS / (dir == TG_UP ? c->pps_up : c->pps_down);
		break;
	}
	}
	flow_event(tg, fi, dir == TG_UP ? T_UP : T_DOWN, now + next);
}

static void sip_send(struct tgen *tg, struct flow *f, uint32_t fi, enum tgen_dir dir, uint8_t tag,
		     uint64_t now)
{
	static const uint16_t sizes[] = { [TAG_INVITE] = 900, [TAG_TRYING] = 350,
					  [TAG_OK_INVITE] = 800, [TAG_ACK] = 420,
					  [TAG_OPTIONS] = 520, [TAG_OK] = 430 };
	udp_send(tg, f, fi, dir, sizes[tag], tag, false, now);
}

static void voip_receive(struct tgen *tg, struct flow *f, uint32_t fi, struct tgen_pkt *p,
			 uint64_t now)
{
	uint8_t tag = p->tag;
	if (p->dir == TG_UP) { /* the server */
		struct tgen_addr src;
		uint32_t l4len;
		const uint8_t *u = frame_l4(p, &src, &l4len);
		if (!u)
			return;
		uint16_t sport = get16(u);
		if (tag == TAG_RTP) {
			f->s_peer = src;
			f->s_peer_port = sport;
			if (!f->s_learned) {
				f->s_learned = true;
				if (!f->down_running && now < f->stop) {
					f->down_running = true;
					flow_event(tg, fi, T_DOWN, now);
				}
			}
			return;
		}
		f->s_peer_sip = sport;
		if (!f->s_learned)
			f->s_peer = src;
		if (tag == TAG_INVITE) {
			sip_send(tg, f, fi, TG_DOWN, TAG_TRYING, now);
			sip_send(tg, f, fi, TG_DOWN, TAG_OK_INVITE, now);
		} else if (tag == TAG_OPTIONS) {
			sip_send(tg, f, fi, TG_DOWN, TAG_OK, now);
		}
		return;
	}
	if (tag == TAG_OK_INVITE && f->sip_state == 0) {
		f->sip_state = 1;
		sip_send(tg, f, fi, TG_UP, TAG_ACK, now);
		if (!f->up_running && now < f->stop) {
			f->up_running = true;
			flow_event(tg, fi, T_UP, now);
		}
		flow_event(tg, fi, T_SIP, now + f->cfg->sip_interval);
	}
}

static void media_receive(struct tgen *tg, struct flow *f, uint32_t fi, struct tgen_pkt *p,
			  uint64_t now)
{
	if (p->dir != TG_UP)
		return;
	uint32_t l4len;
	const uint8_t *u = frame_l4(p, &f->s_peer, &l4len);
	if (!u)
		return;
	f->s_peer_port = get16(u);
	if (!f->s_learned) {
		f->s_learned = true;
		if (!f->down_running && now < f->stop) {
			f->down_running = true;
			flow_event(tg, fi, T_DOWN, now);
		}
	}
}

/* ---- TCP ---- */

static inline uint32_t seq_of(uint32_t base, uint64_t off)
{
	return base + 1 + (uint32_t)off;
}

/* The stream offset a 32-bit number stands for, near the reference offset. */
static inline uint64_t off_of(uint32_t base, uint64_t ref, uint32_t seq)
{
	int32_t d = (int32_t)(seq - seq_of(base, ref));
	if (d < 0 && (uint64_t)(-(int64_t)d) > ref)
		return 0;
	return (uint64_t)((int64_t)ref + d);
}

static struct tcp_ep *ep_of(struct flow *f, bool server)
{
	return server ? &f->s : &f->c;
}

static void ep_reset(struct tcp_ep *ep, bool server, uint32_t iss)
{
	uint64_t ev = ep->timer_ev;
	uint32_t pend = ep->timer_pending;
	memset(ep, 0, sizeof(*ep));
	ep->timer_ev = ev;
	ep->timer_pending = pend;
	ep->server = server;
	ep->iss = iss;
	ep->cwnd = TCP_IW;
	ep->ssthresh = UINT64_MAX / 2;
	ep->peer_wnd = 65535;
	ep->rto = RTO_INIT;
	ep->fin_off = UINT64_MAX;
}

static void ep_arm(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep, uint64_t at)
{
	ep->rto_at = at;
	if (!ep->timer_pending || at < ep->timer_ev) {
		flow_event(tg, fi, ep->server ? T_RTO_S : T_RTO_C, at);
		ep->timer_pending++;
		ep->timer_ev = at;
	}
}

/* The receiver's SACK blocks, the most recently changed first (RFC 2018). */
static unsigned sack_blocks(const struct tcp_ep *ep, struct tgen_tcp_opts *o)
{
	uint32_t order[OOO_MAX];
	unsigned n = ep->nooo;
	for (unsigned i = 0; i < n; i++)
		order[i] = i;
	for (unsigned i = 1; i < n; i++)
		for (unsigned j = i; j > 0 && ep->ooo[order[j]].stamp > ep->ooo[order[j - 1]].stamp;
		     j--) {
			uint32_t t = order[j];
			order[j] = order[j - 1];
			order[j - 1] = t;
		}
	if (n > 4)
		n = 4;
	for (unsigned i = 0; i < n; i++) {
		o->sack[i][0] = seq_of(ep->irs, ep->ooo[order[i]].s);
		o->sack[i][1] = seq_of(ep->irs, ep->ooo[order[i]].e);
	}
	o->nsack = (uint8_t)n;
	return n;
}

static void tcp_emit(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		     uint32_t seq, uint8_t flags, uint32_t len, uint64_t now)
{
	enum tgen_dir dir = ep->server ? TG_DOWN : TG_UP;
	struct tgen_pkt *p = new_pkt(tg, f, fi, dir, now);
	if (!p)
		return;
	struct tgen_tcp_opts o = { .wscale = TCP_WSCALE, .sack_perm = true };
	uint32_t ack = (flags & TCPF_ACK) ? seq_of(ep->irs, ep->rcv) : 0;
	uint16_t win = (flags & TCPF_SYN) ? 65535 : (uint16_t)(TCP_RWND >> TCP_WSCALE);
	const struct tgen_addr *src = ep->server ? &f->cfg->server : &f->host;
	uint16_t sport = ep->server ? f->cfg->port : f->c_port;
	const struct tgen_addr *dst = ep->server ? &ep->peer_addr : &f->cfg->server;
	uint16_t dport = ep->server ? ep->peer_port : f->cfg->port;
	if (!(flags & TCPF_SYN) && ep->nooo && !len)
		sack_blocks(ep, &o);
	tgen_build_tcp(p, src, sport, dst, dport, seq, ack, flags, win, &o, len, f->cfg->dscp,
		       ep->ipid++);
	if (flags & TCPF_ACK)
		ep->ack_pending = false;
	p->conn = ep->server ? f->s_serial : f->serial;
	tg->io.send(tg->io.ctx, p, now);
}

static void tcp_ack_now(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
			uint64_t now)
{
	tcp_emit(tg, f, fi, ep, seq_of(ep->iss, ep->nxt), TCPF_ACK, 0, now);
}

/* Sends the segment at offset off, at most maxlen bytes of data, or the FIN. */
static uint64_t tcp_send_at(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
			    uint64_t off, uint64_t maxlen, uint64_t now)
{
	uint32_t len = 0;
	uint8_t flags = TCPF_ACK;
	if (off < ep->app_end) {
		uint64_t left = ep->app_end - off;
		if (left > maxlen)
			left = maxlen;
		len = left > f->mss ? f->mss : (uint32_t)left;
		if (off + len == ep->app_end)
			flags |= TCPF_PSH;
	} else {
		flags |= TCPF_FIN;
	}
	if (off < ep->max) {
		tg->app[f->cls].retransmits++;
	} else if (!ep->rtt_on) {
		ep->rtt_on = true;
		ep->rtt_off = off + (len ? len : 1);
		ep->rtt_ts = now;
	}
	tcp_emit(tg, f, fi, ep, seq_of(ep->iss, off), flags, len, now);
	if (!ep->rto_at)
		ep_arm(tg, f, fi, ep, now + ep->rto);
	return len ? len : 1;
}

/* Sends new data (or the FIN) at nxt if the window has room for it. */
static bool tcp_send_new(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
			 uint64_t inflight, uint64_t wnd, uint64_t now)
{
	uint64_t len;
	if (ep->nxt < ep->app_end) {
		uint64_t left = ep->app_end - ep->nxt;
		len = left > f->mss ? f->mss : left;
	} else if (ep->fin_queued && ep->nxt == ep->app_end) {
		len = 1;
	} else {
		return false;
	}
	if (inflight + len > wnd && inflight > 0)
		return false;
	if (ep->nxt + len - ep->una > ep->peer_wnd + 1 && ep->nxt > ep->una)
		return false;
	ep->nxt += tcp_send_at(tg, f, fi, ep, ep->nxt, len, now);
	if (ep->nxt > ep->max)
		ep->max = ep->nxt;
	return true;
}

/* ---- the sender's SACK scoreboard (RFC 6675, no reordering assumed: any
 * hole below a SACKed block is lost) ---- */

static void sb_trim(struct tcp_ep *ep)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < ep->nsb; i++) {
		if (ep->sb[i].e <= ep->una)
			continue;
		ep->sb[k] = ep->sb[i];
		if (ep->sb[k].s < ep->una)
			ep->sb[k].s = ep->una;
		k++;
	}
	ep->nsb = k;
}

static void sb_add(struct tcp_ep *ep, uint64_t s, uint64_t e)
{
	if (s < ep->una)
		s = ep->una;
	if (e > ep->max)
		e = ep->max;
	if (s >= e)
		return;
	/* sorted, disjoint, merged */
	uint32_t i = 0;
	while (i < ep->nsb && ep->sb[i].e < s)
		i++;
	uint32_t j = i;
	while (j < ep->nsb && ep->sb[j].s <= e) {
		if (ep->sb[j].s < s)
			s = ep->sb[j].s;
		if (ep->sb[j].e > e)
			e = ep->sb[j].e;
		j++;
	}
	if (i == j) { /* insert */
		if (ep->nsb == SB_MAX)
			return;
		memmove(&ep->sb[i + 1], &ep->sb[i], (ep->nsb - i) * sizeof(ep->sb[0]));
		ep->nsb++;
	} else if (j > i + 1) {
		memmove(&ep->sb[i + 1], &ep->sb[j], (ep->nsb - j) * sizeof(ep->sb[0]));
		ep->nsb -= j - i - 1;
	}
	ep->sb[i].s = s;
	ep->sb[i].e = e;
}

static uint64_t sb_sacked(const struct tcp_ep *ep)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < ep->nsb; i++)
		n += ep->sb[i].e - ep->sb[i].s;
	return n;
}

static uint64_t sb_high(const struct tcp_ep *ep)
{
	return ep->nsb ? ep->sb[ep->nsb - 1].e : ep->una;
}

/* Hole bytes in [una, lim). */
static uint64_t sb_holes_below(const struct tcp_ep *ep, uint64_t lim)
{
	uint64_t n = 0, at = ep->una;
	for (uint32_t i = 0; i < ep->nsb && at < lim; i++) {
		uint64_t he = ep->sb[i].s < lim ? ep->sb[i].s : lim;
		if (he > at)
			n += he - at;
		at = ep->sb[i].e;
	}
	return n;
}

/* The next lost byte at or after `from`, and the length of its hole;
 * false when none is left below the highest SACKed byte. */
static bool sb_next_hole(const struct tcp_ep *ep, uint64_t from, uint64_t *off, uint64_t *len)
{
	uint64_t at = ep->una;
	for (uint32_t i = 0; i < ep->nsb; i++) {
		uint64_t hs = at > from ? at : from, he = ep->sb[i].s;
		if (hs < he) {
			*off = hs;
			*len = he - hs;
			return true;
		}
		at = ep->sb[i].e;
	}
	return false;
}

/* Sends what the window allows: in recovery the lost holes first, then new
 * data, keeping the bytes in flight (pipe) under cwnd. */
static void tcp_output(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		       uint64_t now)
{
	if (ep->state != TS_ESTAB)
		return;
	uint64_t wnd = ep->cwnd;
	if (!ep->in_recovery) {
		while (tcp_send_new(tg, f, fi, ep, ep->nxt - ep->una, wnd, now))
			;
		return;
	}
	for (int guard = 0; guard < 1000; guard++) {
		uint64_t high = sb_high(ep);
		uint64_t rlim = ep->hi_rxt < high ? ep->hi_rxt : high;
		uint64_t pipe = (ep->max > high ? ep->max - high : 0) + sb_holes_below(ep, rlim);
		uint64_t off, len;
		if (pipe >= wnd)
			break;
		if (sb_next_hole(ep, ep->hi_rxt, &off, &len)) {
			ep->hi_rxt = off + tcp_send_at(tg, f, fi, ep, off, len, now);
			ep->rxt_ts = now;
			continue;
		}
		if (!tcp_send_new(tg, f, fi, ep, pipe, wnd, now))
			break;
	}
}

static void rtt_sample(struct tcp_ep *ep, uint64_t r)
{
	if (!ep->srtt) {
		ep->srtt = r;
		ep->rttvar = r / 2;
	} else {
		uint64_t d = ep->srtt > r ? ep->srtt - r : r - ep->srtt;
		ep->rttvar = (3 * ep->rttvar + d) / 4;
		ep->srtt = (7 * ep->srtt + r) / 8;
	}
	uint64_t v = 4 * ep->rttvar;
	ep->rto = ep->srtt + (v > 1000000 ? v : 1000000);
	if (ep->rto < RTO_MIN)
		ep->rto = RTO_MIN;
	if (ep->rto > RTO_MAX)
		ep->rto = RTO_MAX;
}

/* HyStart's delay test (Linux, tcp_cubic.c): slow start ends when the RTT
 * has grown by an eighth of its minimum (4 to 16 ms), before the
 * bottleneck's buffer overflows by a whole window. */
static void hystart(struct tcp_ep *ep, uint64_t rtt)
{
	if (!ep->min_rtt || rtt < ep->min_rtt)
		ep->min_rtt = rtt;
	if (ep->cwnd >= ep->ssthresh || ep->cwnd < 16 * TCP_MSS)
		return;
	uint64_t thresh = ep->min_rtt / 8;
	if (thresh < 4000000)
		thresh = 4000000;
	if (thresh > 16000000)
		thresh = 16000000;
	if (rtt >= ep->min_rtt + thresh)
		ep->ssthresh = ep->cwnd;
}

static void app_event(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		      uint64_t now);

static void tcp_connect(struct tgen *tg, struct flow *f, uint32_t fi, uint64_t now)
{
	f->serial++;
	f->closing = f->done = false;
	f->served = 0;
	f->want = f->resp = 0;
	f->c_port = next_eph(tg, f);
	ep_reset(&f->c, false, (uint32_t)rng_u64(&f->rng));
	f->c.state = TS_SYN_SENT;
	f->c.syn_ts = now;
	f->xfer_start = now;
	tg->app[f->cls].connections++;
	tcp_emit(tg, f, fi, &f->c, f->c.iss, TCPF_SYN, 0, now);
	ep_arm(tg, f, fi, &f->c, now + f->c.rto);
}

static void tcp_close(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		      uint64_t now)
{
	if (ep->fin_queued)
		return;
	ep->fin_queued = true;
	tcp_output(tg, f, fi, ep, now);
}

static void tcp_timeout(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
			uint64_t now)
{
	ep->rto_at = 0;
	if (ep->state == TS_CLOSED || (ep->state == TS_ESTAB && ep->max <= ep->una))
		return; /* nothing outstanding */
	tg->app[f->cls].timeouts++;
	ep->rto = ep->rto * 2 > RTO_MAX ? RTO_MAX : ep->rto * 2;
	ep->rtt_on = false;
	if (ep->state == TS_SYN_SENT || ep->state == TS_SYN_RCVD) {
		ep->syn_retx = true;
		tcp_emit(tg, f, fi, ep, ep->iss,
			 ep->state == TS_SYN_SENT ? TCPF_SYN : TCPF_SYN | TCPF_ACK, 0, now);
		ep_arm(tg, f, fi, ep, now + ep->rto);
		return;
	}
	/* RFC 6298: everything unacknowledged is resent from una, one segment first */
	uint64_t flight = ep->max - ep->una;
	ep->ssthresh = flight / 2 > 2 * TCP_MSS ? flight / 2 : 2 * TCP_MSS;
	ep->cwnd = TCP_MSS;
	ep->nxt = ep->una;
	ep->in_recovery = false;
	ep->recover = ep->max;
	ep->dupacks = 0;
	ep->nsb = 0;
	tcp_output(tg, f, fi, ep, now);
	if (!ep->rto_at)
		ep_arm(tg, f, fi, ep, now + ep->rto);
}

static void tcp_rto_event(struct tgen *tg, struct flow *f, uint32_t fi, bool server,
			  uint64_t now)
{
	struct tcp_ep *ep = ep_of(f, server);
	if (ep->timer_pending)
		ep->timer_pending--;
	if (ep->timer_ev <= now)
		ep->timer_ev = UINT64_MAX;
	if (!ep->rto_at)
		return;
	if (ep->rto_at > now) {
		if (!ep->timer_pending || ep->rto_at < ep->timer_ev) {
			flow_event(tg, fi, server ? T_RTO_S : T_RTO_C, ep->rto_at);
			ep->timer_pending++;
			ep->timer_ev = ep->rto_at;
		}
		return;
	}
	tcp_timeout(tg, f, fi, ep, now);
}

/* The ACK (and SACK blocks) of a segment on an established connection. */
static void tcp_ack_in(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		       uint32_t ack32, uint32_t win, const uint32_t (*sack)[2], unsigned nsack,
		       bool pure, uint64_t now)
{
	uint64_t ack = off_of(ep->iss, ep->una, ack32);
	ep->peer_wnd = (uint64_t)win << TCP_WSCALE;
	if (ack > ep->max)
		return; /* acknowledges what was never sent */
	for (unsigned i = 0; i < nsack; i++)
		sb_add(ep, off_of(ep->iss, ep->una, sack[i][0]),
		       off_of(ep->iss, ep->una, sack[i][1]));
	bool advanced = ack > ep->una;
	if (advanced) {
		uint64_t acked = ack - ep->una;
		ep->una = ack;
		sb_trim(ep);
		if (ep->nxt < ep->una)
			ep->nxt = ep->una;
		if (ep->hi_rxt < ep->una)
			ep->hi_rxt = ep->una;
		if (ep->rtt_on && ack >= ep->rtt_off) {
			uint64_t rtt = now - ep->rtt_ts;
			rtt_sample(ep, rtt);
			ep->rtt_on = false;
			hystart(ep, rtt);
		}
		ep->dupacks = 0;
		if (ep->in_recovery) {
			if (ack >= ep->recover) {
				ep->in_recovery = false;
				ep->cwnd = ep->ssthresh;
			}
		} else if (ep->cwnd < ep->ssthresh) {
			ep->cwnd += acked < TCP_MSS ? acked : TCP_MSS;
		} else {
			uint64_t inc = (uint64_t)TCP_MSS * TCP_MSS / ep->cwnd;
			ep->cwnd += inc ? inc : 1;
		}
		if (ep->una >= ep->max)
			ep->rto_at = 0;
		else
			ep_arm(tg, f, fi, ep, now + ep->rto);
	} else if (ack == ep->una && pure && ep->max > ep->una) {
		ep->dupacks++;
	}
	/* loss: three duplicate ACKs, or three segments SACKed above a hole */
	if (!ep->in_recovery && ep->max > ep->una && ep->una >= ep->recover &&
	    (ep->dupacks >= 3 || sb_sacked(ep) >= 3 * TCP_MSS)) {
		uint64_t flight = ep->max - ep->una - sb_sacked(ep);
		ep->ssthresh = flight / 2 > 2 * TCP_MSS ? flight / 2 : 2 * TCP_MSS;
		ep->cwnd = ep->ssthresh;
		ep->recover = ep->max;
		ep->in_recovery = true;
		ep->hi_rxt = ep->una;
		tg->app[f->cls].fast_retransmits++;
		if (!ep->nsb) /* no SACK: the first unacknowledged segment is the hole */
			sb_add(ep, ep->una + TCP_MSS < ep->max ? ep->una + TCP_MSS : ep->max,
			       ep->max);
		uint64_t off, len;
		if (sb_next_hole(ep, ep->una, &off, &len)) {
			ep->hi_rxt = off + tcp_send_at(tg, f, fi, ep, off, len, now);
			ep->rxt_ts = now;
		}
	} else if (ep->in_recovery && ep->hi_rxt > ep->una && ep->nsb &&
		   now - ep->rxt_ts > ep->srtt + ep->srtt / 4 + 1000000) {
		/* the holes sent again should be acknowledged by now while later
		 * data is SACKed: they were lost again (as Linux's RACK finds),
		 * so send them once more instead of waiting for the timeout */
		ep->hi_rxt = ep->una;
	}
	tcp_output(tg, f, fi, ep, now);
	if (advanced)
		app_event(tg, f, fi, ep, now);
}

/* Data (and FIN) of the peer. Returns true when anything was in it. */
static bool tcp_data_in(struct tgen *tg, struct flow *f, struct tcp_ep *ep, uint32_t seq32,
			uint32_t len, bool fin)
{
	if (!len && !fin)
		return false;
	uint64_t off = off_of(ep->irs, ep->rcv, seq32);
	uint64_t end = off + len;
	uint64_t before = ep->rcv - (ep->fin_rcvd ? 1 : 0);
	if (fin && ep->fin_off == UINT64_MAX)
		ep->fin_off = end;
	if (!ep->fin_rcvd && len) {
		if (off <= ep->rcv) {
			if (end > ep->rcv)
				ep->rcv = end;
			/* ranges that now join */
			uint32_t k = 0;
			while (k < ep->nooo) {
				if (ep->ooo[k].s <= ep->rcv) {
					if (ep->ooo[k].e > ep->rcv)
						ep->rcv = ep->ooo[k].e;
					ep->ooo[k] = ep->ooo[--ep->nooo];
					k = 0;
				} else {
					k++;
				}
			}
		} else {
			/* out of order: keep the range, merging with neighbours */
			struct range r = { off, end, ++ep->stamp };
			uint32_t k = 0;
			while (k < ep->nooo) {
				if (ep->ooo[k].s <= r.e && r.s <= ep->ooo[k].e) {
					if (ep->ooo[k].s < r.s)
						r.s = ep->ooo[k].s;
					if (ep->ooo[k].e > r.e)
						r.e = ep->ooo[k].e;
					ep->ooo[k] = ep->ooo[--ep->nooo];
					k = 0;
				} else {
					k++;
				}
			}
			if (ep->nooo < OOO_MAX)
				ep->ooo[ep->nooo++] = r;
		}
	}
	if (!ep->fin_rcvd && ep->fin_off != UINT64_MAX && ep->rcv == ep->fin_off) {
		ep->fin_rcvd = true;
		ep->rcv++;
	}
	uint64_t after = ep->rcv - (ep->fin_rcvd ? 1 : 0);
	tg->app[f->cls].goodput_bytes[ep->server ? TG_UP : TG_DOWN] += after - before;
	return true;
}

/* SACK blocks of a segment's options. */
static unsigned parse_sack(const uint8_t *t, uint32_t doff, uint32_t (*sack)[2])
{
	uint32_t off = 20;
	while (off < doff) {
		uint8_t kind = t[off];
		if (kind == 0)
			break;
		if (kind == 1) {
			off++;
			continue;
		}
		if (off + 1 >= doff || t[off + 1] < 2 || off + t[off + 1] > doff)
			break;
		uint8_t olen = t[off + 1];
		if (kind == 5 && olen >= 10 && (olen - 2) % 8 == 0) {
			unsigned n = (olen - 2) / 8;
			for (unsigned i = 0; i < n && i < 4; i++) {
				sack[i][0] = get32(t + off + 2 + 8 * i);
				sack[i][1] = get32(t + off + 6 + 8 * i);
			}
			return n > 4 ? 4 : n;
		}
		off += olen;
	}
	return 0;
}

static void tcp_input(struct tgen *tg, struct flow *f, uint32_t fi, struct tgen_pkt *p,
		      uint64_t now)
{
	bool server = p->dir == TG_UP;
	struct tgen_addr from;
	uint32_t l4len;
	const uint8_t *t = frame_l4(p, &from, &l4len);
	if (!t || l4len < 20)
		return;
	uint32_t doff = (uint32_t)(t[12] >> 4) * 4;
	if (l4len < doff)
		return;
	uint32_t seq = get32(t + 4), ack = get32(t + 8), len = l4len - doff;
	uint8_t fl = t[13];
	uint32_t win = get16(t + 14);
	if (fl & TCPF_RST)
		return;
	struct tcp_ep *ep = ep_of(f, server);

	if (server) {
		if (p->conn != f->s_serial) {
			if (!(fl & TCPF_SYN) || (fl & TCPF_ACK) || p->conn != f->serial)
				return; /* a late packet of an old connection */
			f->s_serial = p->conn;
			ep_reset(ep, true, (uint32_t)rng_u64(&f->rng));
		}
		if ((fl & TCPF_SYN) && !(fl & TCPF_ACK)) {
			if (ep->state == TS_CLOSED) {
				ep->peer_addr = from;
				ep->peer_port = get16(t);
				ep->irs = seq;
				ep->rcv = 0;
				ep->state = TS_SYN_RCVD;
				ep->syn_ts = now;
				tcp_emit(tg, f, fi, ep, ep->iss, TCPF_SYN | TCPF_ACK, 0, now);
				ep_arm(tg, f, fi, ep, now + ep->rto);
			} else if (ep->state == TS_SYN_RCVD && seq == ep->irs) {
				tcp_emit(tg, f, fi, ep, ep->iss, TCPF_SYN | TCPF_ACK, 0, now);
			} else if (ep->state == TS_ESTAB) {
				tcp_ack_now(tg, f, fi, ep, now);
			}
			return;
		}
	} else if (p->conn != f->serial) {
		return;
	}
	if (!(fl & TCPF_ACK))
		return;
	if (fl & TCPF_SYN) { /* SYN/ACK at the client */
		if (ep->state == TS_SYN_SENT && ack == ep->iss + 1) {
			ep->irs = seq;
			ep->rcv = 0;
			ep->state = TS_ESTAB;
			ep->peer_wnd = win;
			if (!ep->syn_retx) {
				rtt_sample(ep, now - ep->syn_ts);
				ep->min_rtt = now - ep->syn_ts;
			}
			ep->rto_at = 0;
			tcp_ack_now(tg, f, fi, ep, now);
			app_event(tg, f, fi, ep, now);
		} else if (ep->state == TS_ESTAB) {
			tcp_ack_now(tg, f, fi, ep, now);
		}
		return;
	}
	if (ep->state == TS_SYN_RCVD) {
		if (ack != ep->iss + 1)
			return;
		ep->state = TS_ESTAB;
		ep->peer_wnd = (uint64_t)win << TCP_WSCALE;
		if (!ep->syn_retx) {
			rtt_sample(ep, now - ep->syn_ts);
			ep->min_rtt = now - ep->syn_ts;
		}
		ep->rto_at = 0;
	}
	if (ep->state != TS_ESTAB)
		return;
	uint32_t sack[4][2];
	unsigned nsack = doff > 20 ? parse_sack(t, doff, sack) : 0;
	bool data = tcp_data_in(tg, f, ep, seq, len, fl & TCPF_FIN);
	if (data)
		ep->ack_pending = true;
	tcp_ack_in(tg, f, fi, ep, ack, win, (const uint32_t (*)[2])sack, nsack, !data, now);
	if (data)
		app_event(tg, f, fi, ep, now);
	if (ep->ack_pending) /* every segment is answered, by data or a pure ACK */
		tcp_ack_now(tg, f, fi, ep, now);
}

/* ---- applications over TCP ---- */

static uint64_t web_size(struct flow *f)
{
	double lo = log((double)f->cfg->min_size), hi = log((double)f->cfg->max_size);
	return (uint64_t)exp(lo + (hi - lo) * rng_unit(&f->rng));
}

static void xfer_done(struct tgen *tg, struct flow *f, uint64_t now)
{
	struct tgen_app_stats *a = &tg->app[f->cls];
	uint64_t d = now - f->xfer_start;
	a->transfers++;
	a->transfer_ns_sum += d;
	if (d > a->transfer_ns_max)
		a->transfer_ns_max = d;
}

/* Writes the next request on the client. */
static void client_request(struct tgen *tg, struct flow *f, uint32_t fi, uint64_t now)
{
	struct tcp_ep *c = &f->c;
	switch (f->cls) {
	case TGC_WEB:
		f->resp = web_size(f);
		break;
	case TGC_STREAMING:
		f->resp = f->cfg->rate_down / 8 * f->cfg->interval / S_NS;
		break;
	default:
		f->resp = f->cfg->max_size ? f->cfg->max_size : (1ull << 50);
		break;
	}
	f->want += f->resp;
	if (f->cls == TGC_STREAMING)
		f->xfer_start = now;
	c->app_end += f->cfg->size_up;
	tcp_output(tg, f, fi, c, now);
}

static void finish_connection(struct tgen *tg, struct flow *f, uint32_t fi, uint64_t now)
{
	if (f->done)
		return;
	f->done = true;
	if (now < f->stop)
		flow_event(tg, fi, T_APP, now + rng_exp(&f->rng, f->cfg->think));
}

/* Something changed on endpoint ep (connected, data in, data acked). */
static void app_event(struct tgen *tg, struct flow *f, uint32_t fi, struct tcp_ep *ep,
		      uint64_t now)
{
	struct tcp_ep *c = &f->c, *s = &f->s;
	uint64_t c_rcvd = c->rcv - (c->fin_rcvd ? 1 : 0);
	uint64_t s_rcvd = s->rcv - (s->fin_rcvd ? 1 : 0);
	if (ep->server) {
		if (ep->state != TS_ESTAB)
			return;
		if (f->cls == TGC_BULK_UP) {
			if (s->fin_rcvd)
				tcp_close(tg, f, fi, s, now);
			return;
		}
		/* a complete request gets its response */
		while (!s->fin_queued && s_rcvd >= (f->served + 1) * f->cfg->size_up) {
			f->served++;
			s->app_end += f->resp;
			tcp_output(tg, f, fi, s, now);
		}
		if (s->fin_rcvd)
			tcp_close(tg, f, fi, s, now);
		return;
	}
	if (c->state != TS_ESTAB)
		return;
	if (!c->app_end && !c->fin_queued && !f->closing) { /* just connected */
		if (f->cls == TGC_BULK_UP) {
			f->xfer_start = now;
			c->app_end = f->cfg->max_size ? f->cfg->max_size : (1ull << 50);
			tcp_output(tg, f, fi, c, now);
		} else {
			client_request(tg, f, fi, now);
		}
		return;
	}
	switch (f->cls) {
	case TGC_BULK_UP:
		if (!f->closing && c->una >= c->app_end) {
			xfer_done(tg, f, now);
			f->closing = true;
			tcp_close(tg, f, fi, c, now);
		}
		break;
	case TGC_STREAMING:
		if (f->want && c_rcvd >= f->want && f->xfer_start) {
			uint64_t due = f->xfer_start + f->cfg->interval;
			xfer_done(tg, f, now);
			if (now > due)
				tg->app[f->cls].stalls++;
			f->xfer_start = 0;
			if (now < f->stop)
				flow_event(tg, fi, T_APP, now > due ? now : due);
		}
		if (c->fin_rcvd && !f->closing) {
			f->closing = true;
			tcp_close(tg, f, fi, c, now);
		}
		break;
	default: /* web, bulk download: one response, then close */
		if (!f->closing && f->want && c_rcvd >= f->want) {
			xfer_done(tg, f, now);
			f->closing = true;
			tcp_close(tg, f, fi, c, now);
		} else if (!f->closing && c->fin_rcvd) {
			f->closing = true; /* the server stopped early */
			tcp_close(tg, f, fi, c, now);
		}
		break;
	}
	if (f->closing && c->fin_rcvd && c->una > c->app_end)
		finish_connection(tg, f, fi, now);
}

/* The flow's stop time: no new transfer starts; a bulk transfer under way is
 * cut short (what was not sent yet is dropped) and closed. */
static void tcp_stop(struct tgen *tg, struct flow *f, uint32_t fi, uint64_t now)
{
	f->stopped = true;
	if (f->done || f->c.state != TS_ESTAB)
		return;
	struct tcp_ep *snd = f->cls == TGC_BULK_UP ? &f->c : &f->s;
	if (f->cls == TGC_BULK_UP || f->cls == TGC_BULK_DOWN) {
		if (snd->state == TS_ESTAB && snd->app_end > snd->max) {
			snd->app_end = snd->max;
			if (snd == &f->c)
				f->closing = true;
			tcp_close(tg, f, fi, snd, now);
		}
	}
}

/* ---- the generator ---- */

struct tgen *tgen_new(const struct tgen_profile *prof, uint64_t seed, const struct tgen_io *io,
		      uint64_t t0)
{
	struct tgen *tg = xcalloc(1, sizeof(*tg));
	tg->prof = prof;
	tg->io = *io;
	tg->seed = seed;
	tg->t0 = t0;
	tg->nflows = prof->nflows;
	tg->flows = xcalloc(prof->nflows ? prof->nflows : 1, sizeof(*tg->flows));
	tg->eph = xcalloc(prof->nhosts ? prof->nhosts : 1, sizeof(*tg->eph));
	struct rng hr;
	rng_seed(&hr, seed, 0xffffffffull);
	for (size_t h = 0; h < prof->nhosts; h++)
		tg->eph[h] = (uint16_t)rng_range(&hr, 33000, 59000);
	for (size_t i = 0; i < prof->nflows; i++) {
		struct flow *f = &tg->flows[i];
		const struct tgen_flow_cfg *c = &prof->flows[i];
		f->cfg = c;
		f->cls = c->kind;
		rng_seed(&f->rng, seed, i + 1);
		const struct tgen_host *h = &prof->hosts[c->host];
		f->host.v6 = c->server.v6;
		f->host.v4 = h->addr;
		memcpy(f->host.a6, h->addr6, 16);
		f->mss = tgen_mss(c->server.v6);
		uint64_t start = c->start_set ? c->start : rng_range(&f->rng, 0, S_NS - 1);
		f->start = t0 + start;
		f->stop = c->stop ? t0 + c->stop : UINT64_MAX;
		f->s_sip = c->port;
		f->c_sip = 5060;
		f->s_port = (uint16_t)(10000 + 2 * rng_range(&f->rng, 0, 4999));
		f->c_port = (uint16_t)(10000 + 2 * rng_range(&f->rng, 0, 4999));
		if (f->cls == TGC_VIDEO || f->cls == TGC_GAMING) {
			if (f->cls == TGC_GAMING || c->port)
				f->s_port = c->port;
			if (f->cls == TGC_GAMING)
				f->c_port = (uint16_t)rng_range(&f->rng, 33000, 59000);
		}
		f->s.timer_ev = f->c.timer_ev = UINT64_MAX;
		f->sip_t1 = 500 * MS_NS;
	}
	return tg;
}

void tgen_free(struct tgen *tg)
{
	if (!tg)
		return;
	free(tg->flows);
	free(tg->eph);
	free(tg);
}

void tgen_start(struct tgen *tg, uint64_t now)
{
	for (size_t i = 0; i < tg->nflows; i++) {
		struct flow *f = &tg->flows[i];
		flow_event(tg, (uint32_t)i, T_START, f->start > now ? f->start : now);
		if (f->stop != UINT64_MAX)
			flow_event(tg, (uint32_t)i, T_STOP, f->stop);
	}
}

static bool is_tcp(enum tgen_class c)
{
	return c == TGC_WEB || c == TGC_STREAMING || c == TGC_BULK_DOWN || c == TGC_BULK_UP;
}

void tgen_timer(struct tgen *tg, uint32_t fi, uint32_t kind, uint64_t now)
{
	if (fi >= tg->nflows)
		return;
	struct flow *f = &tg->flows[fi];
	switch (kind) {
	case T_START:
		if (is_tcp(f->cls)) {
			tcp_connect(tg, f, fi, now);
		} else if (f->cls == TGC_VOIP) {
			sip_send(tg, f, fi, TG_UP, TAG_INVITE, now);
			flow_event(tg, fi, T_SIP, now + f->sip_t1);
		} else {
			f->up_running = true;
			udp_tick(tg, f, fi, TG_UP, now);
		}
		break;
	case T_UP:
		udp_tick(tg, f, fi, TG_UP, now);
		break;
	case T_DOWN:
		udp_tick(tg, f, fi, TG_DOWN, now);
		break;
	case T_SIP:
		if (now >= f->stop)
			break;
		if (f->sip_state == 0) { /* INVITE unanswered: again, with backoff */
			sip_send(tg, f, fi, TG_UP, TAG_INVITE, now);
			f->sip_t1 = f->sip_t1 * 2 > 4 * S_NS ? 4 * S_NS : f->sip_t1 * 2;
			flow_event(tg, fi, T_SIP, now + f->sip_t1);
		} else {
			sip_send(tg, f, fi, TG_UP, TAG_OPTIONS, now);
			flow_event(tg, fi, T_SIP, now + f->cfg->sip_interval);
		}
		break;
	case T_APP:
		if (f->stopped || now >= f->stop)
			break;
		if (f->cls == TGC_STREAMING) {
			if (f->c.state == TS_ESTAB && !f->closing)
				client_request(tg, f, fi, now);
		} else if (f->done || f->c.state == TS_CLOSED) {
			tcp_connect(tg, f, fi, now);
		}
		break;
	case T_RTO_C:
	case T_RTO_S:
		tcp_rto_event(tg, f, fi, kind == T_RTO_S, now);
		break;
	case T_STOP:
		if (is_tcp(f->cls))
			tcp_stop(tg, f, fi, now);
		break;
	default:
		break;
	}
}

void tgen_receive(struct tgen *tg, struct tgen_pkt *p, uint64_t now)
{
	if (p->flow >= tg->nflows)
		return;
	struct flow *f = &tg->flows[p->flow];
	if (is_tcp(f->cls))
		tcp_input(tg, f, p->flow, p, now);
	else if (f->cls == TGC_VOIP)
		voip_receive(tg, f, p->flow, p, now);
	else
		media_receive(tg, f, p->flow, p, now);
}

size_t tgen_nflows(const struct tgen *tg)
{
	return tg->nflows;
}

const struct tgen_app_stats *tgen_app_stats(const struct tgen *tg, enum tgen_class c)
{
	return &tg->app[c < TGC_MAX ? c : 0];
}
