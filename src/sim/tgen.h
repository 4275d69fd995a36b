/*
 * tgen: the SOHO traffic generator of `rosfw sim --traffic`. A profile
 * (JSON, docs/traffic.md) names the WAN link, the LAN interfaces and the
 * hosts with their flows; tgen runs both ends of every flow — the LAN host
 * and the Internet server — as small state machines: isochronous UDP
 * (voip, video, gaming) and a real TCP (handshake, Reno with SACK and
 * HyStart, retransmission, FIN close) under web, streaming and bulk
 * transfers. Frames are written straight into pool buffers as Ethernet +
 * IPv4 or IPv6 + UDP/TCP with correct checksums (a flow whose server is an
 * IPv6 address runs over IPv6 from its host's IPv6 address).
 * tgen owns no clock and no network: the caller (netsim) hands it packet
 * buffers, carries what it sends, schedules its timers and gives every
 * call `now` (ns, virtual). Everything random comes from the seed, one
 * stream per flow, so a run is reproducible.
 * Profiles are parsed on the control plane (errors in struct err with the
 * JSON line and column); the profile is immutable afterwards and freed by
 * its owner. Single-threaded.
 */
#ifndef ROSFW_SIM_TGEN_H
#define ROSFW_SIM_TGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "qos/qdisc.h"
#include "util/err.h"

/* Flow kinds are also the classes the measurements are kept by. */
enum tgen_class { TGC_VOIP, TGC_VIDEO, TGC_WEB, TGC_STREAMING, TGC_BULK_DOWN, TGC_BULK_UP,
		TGC_GAMING, TGC_MAX };
const char *tgen_class_name(enum tgen_class c);

enum tgen_dir { TG_UP, TG_DOWN }; /* LAN -> Internet, Internet -> LAN */

#define TG_FRAME_MAX 1518 /* Ethernet header + 1500-byte IP packet, a little slack */

/* A packet in flight: the queues' descriptor first (they link through
 * q.next, so do the links), then what the simulator measures, then the frame. */
struct tgen_pkt {
	struct qpkt q;
	uint64_t sent;   /* when the application handed it to the network */
	uint64_t fixed;  /* propagation + serialisation of the hops passed so far */
	uint32_t flow;   /* index in the generator's flows */
	uint16_t conn;   /* connection serial of a TCP flow (late packets of an old one) */
	uint16_t len;    /* frame length */
	uint8_t cls;     /* enum tgen_class */
	uint8_t dir;     /* enum tgen_dir */
	uint8_t tag;     /* the application's message type (the payload is zero) */
	bool iso;        /* isochronous (counts for jitter) */
	uint8_t data[TG_FRAME_MAX];
};

/* ---- the profile ---- */

/* An address of a profile or a frame: IPv4 or IPv6. */
struct tgen_addr {
	bool v6;
	uint32_t v4;      /* IPv4, host order */
	uint8_t a6[16];   /* IPv6, network order */
};

struct tgen_iface {
	char name[64];
	uint16_t ifid;    /* name_intern(NS_IFACE, name) */
	uint64_t rate;    /* bit/s of the link between router and hosts */
	uint64_t delay;   /* ns, one way */
};

struct tgen_wan {
	uint16_t iface;   /* index in ifaces (always 0) */
	uint64_t up, down;        /* bit/s of the modem line */
	uint64_t rtt;             /* ns, modem <-> servers and back */
	uint32_t up_buf_pkts, down_buf_pkts;     /* FIFO limits, 0 = by bytes */
	uint64_t up_buf_bytes, down_buf_bytes;
	uint32_t overhead;        /* bytes the line adds to every frame */
	uint64_t port_rate;       /* the router's port towards the modem */
	uint64_t port_delay;
};

struct tgen_flow_cfg {
	enum tgen_class kind;
	uint32_t host;            /* index in hosts */
	struct tgen_addr server;  /* IPv4 or IPv6: the flow's family */
	uint16_t port;            /* server port, 0 = the kind's default */
	uint8_t dscp;
	uint64_t start, stop;     /* ns from the start; stop 0 = the end */
	bool start_set;
	/* per kind (docs/traffic.md), defaults filled in by the parser */
	uint64_t rate_up, rate_down;   /* video bit/s each way; streaming bitrate */
	uint64_t interval;             /* voip packet interval; streaming chunk duration */
	uint32_t size_up, size_down;   /* voip/gaming frame bytes; web/streaming/bulk request */
	uint32_t pps_up, pps_down;     /* gaming */
	uint64_t min_size, max_size;   /* web response bytes; bulk transfer size (0 = endless) */
	uint64_t think;                /* mean pause between web pages / bulk transfers */
	uint64_t sip_interval;
	uint32_t fps;
	uint64_t keyframe;
};

struct tgen_host {
	char name[64];
	uint32_t iface;           /* index in ifaces */
	uint32_t addr;            /* IPv4, host order */
	bool has_addr6;
	uint8_t addr6[16];        /* IPv6 (flows to IPv6 servers), network order */
};

struct tgen_profile {
	char name[64];
	char description[1024];
	uint64_t warmup;          /* ns at the start that measurements leave out */
	struct tgen_wan wan;
	struct tgen_iface *ifaces;  /* [0] is the WAN interface */
	size_t nifaces;
	struct tgen_host *hosts;
	size_t nhosts;
	struct tgen_flow_cfg *flows; /* "count" already expanded */
	size_t nflows;
};

/* Parses a profile from a file or from text (name is used in messages).
 * Interface names are interned. */
int tgen_profile_load(const char *path, struct tgen_profile **out, struct err *e);
int tgen_profile_parse(const char *text, const char *name, struct tgen_profile **out,
		       struct err *e);
void tgen_profile_free(struct tgen_profile *p);

/* Value syntax of profiles: "10M" bit/s, "30ms" time, "500k" bytes. */
int tgen_parse_rate(const char *s, uint64_t *bps);
int tgen_parse_time(const char *s, uint64_t *ns);
int tgen_parse_size(const char *s, uint64_t *bytes);

/* ---- the generator ---- */

/* What tgen needs from the network. */
struct tgen_io {
	void *ctx;
	/* A free packet buffer, or NULL when the pool is exhausted. */
	struct tgen_pkt *(*alloc)(void *ctx);
	/* Sends p (frame built, len/flow/cls/dir set) from the host or the
	 * server side, according to p->dir. The network owns it from now. */
	void (*send)(void *ctx, struct tgen_pkt *p, uint64_t now);
	/* Calls tgen_timer(flow, kind) at `at`. */
	void (*timer)(void *ctx, uint32_t flow, uint32_t kind, uint64_t at);
	/* A packet the pool could not give: counted as sent and lost. */
	void (*lost)(void *ctx, enum tgen_class cls, enum tgen_dir dir);
	/* Gives back a buffer from alloc that was not sent. */
	void (*release)(void *ctx, struct tgen_pkt *p);
};

/* Application-level results per class. */
struct tgen_app_stats {
	uint64_t goodput_bytes[2];   /* in-order payload delivered to the receiving application */
	uint64_t transfers;          /* web pages, chunks, finite bulk transfers completed */
	uint64_t transfer_ns_sum;    /* their durations (web: from the SYN; chunks: from the
				      * request; to the last byte) */
	uint64_t transfer_ns_max;
	uint64_t connections;        /* TCP connections opened */
	uint64_t retransmits;        /* TCP segments sent again */
	uint64_t timeouts;           /* retransmission timeouts */
	uint64_t fast_retransmits;   /* loss recoveries (three duplicate ACKs or SACKs) */
	uint64_t stalls;             /* streaming chunks that arrived after their deadline */
};

struct tgen;

/* A generator for the profile; t0 is the virtual time of "0s". */
struct tgen *tgen_new(const struct tgen_profile *prof, uint64_t seed, const struct tgen_io *io,
		      uint64_t t0);
void tgen_free(struct tgen *tg);
/* Schedules the first event of every flow. */
void tgen_start(struct tgen *tg, uint64_t now);
/* A packet reached its end (the host when p->dir is TG_DOWN, else the
 * server). The caller frees it afterwards. */
void tgen_receive(struct tgen *tg, struct tgen_pkt *p, uint64_t now);
void tgen_timer(struct tgen *tg, uint32_t flow, uint32_t kind, uint64_t now);
size_t tgen_nflows(const struct tgen *tg);
const struct tgen_app_stats *tgen_app_stats(const struct tgen *tg, enum tgen_class c);

/* ---- frames (exported for tests) ---- */

/* Writes an Ethernet/IP/UDP frame of frame_len bytes (42..1514 over IPv4,
 * 62..1514 over IPv6; src and dst of one family) into p with zero payload
 * and fills p->q for the queues; false if frame_len is out of range. */
bool tgen_build_udp(struct tgen_pkt *p, const struct tgen_addr *src, uint16_t sport,
		    const struct tgen_addr *dst, uint16_t dport, uint32_t frame_len, uint8_t dscp,
		    uint16_t ipid);

struct tgen_tcp_opts {
	uint8_t wscale;       /* SYN: window scale, 0xff = none */
	bool sack_perm;       /* SYN: SACK permitted */
	uint8_t nsack;        /* others: SACK blocks (up to 4) */
	uint32_t sack[4][2];
};
/* Writes a TCP frame with payload_len zero bytes; SYNs carry the MSS of a
 * 1500-byte MTU (1460 over IPv4, 1440 over IPv6) and the options o asks for
 * (NULL: none). */
bool tgen_build_tcp(struct tgen_pkt *p, const struct tgen_addr *src, uint16_t sport,
		    const struct tgen_addr *dst, uint16_t dport, uint32_t seq, uint32_t ack,
		    uint8_t flags, uint16_t win, const struct tgen_tcp_opts *o,
		    uint32_t payload_len, uint8_t dscp, uint16_t ipid);
/* The MSS of a 1500-byte MTU for the family. */
uint32_t tgen_mss(bool v6);

#endif
