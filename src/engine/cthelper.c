/*
 * cthelper: the FTP and TFTP helpers and the expectation table (see
 * cthelper.h for the contract).
 *
 * FTP (nf_conntrack_ftp): on the control connection, a segment whose
 * payload starts with PORT or EPRT (from the client, original direction)
 * or with 227 or 229 (from the server, reply direction) announces a data
 * connection. The address it names must be the sender's own (Linux's
 * default, loose=0: a command naming a third host opens nothing); 229
 * names none and means the sender. The expectation is for a connection
 * from the other side (any source port) to that address and port.
 * TFTP (nf_conntrack_tftp): a read or write request expects the server's
 * answer from any port to the client's port.
 *
 * NAT (IPv4). TFTP: the expectation is for the client's translated
 * address and port, and the expected connection is translated back to the
 * real ones. FTP (nf_nat_ftp): when the sender of PORT/EPRT/227 is
 * translated, the address in the payload becomes the one the peer sees,
 * with a port no other expectation to it takes (229 names no address and
 * keeps its port); the expected connection is translated back. A rewrite
 * that changes the segment's length shifts the sequence numbers of the
 * rest of that direction (nf_ct_seqadj): its later segments move at
 * cth_out, and the peer's acknowledgements (SACK edges too) move back at
 * cth_pre, before conntrack, so conntrack keeps tracking the sender's own
 * numbering and its window checks hold. Whenever the master is translated
 * (either side), its expected connection follows it as Linux's
 * nf_nat_follow_master does, without NAT rules: the destination becomes the
 * announcer's real address, the source the address the announcer knows the
 * other side by (a server behind dst-nat answering from its private
 * address leaves as the public one; a passive client behind masquerade
 * leaves as the masqueraded address). An untranslated master's expected
 * connection goes through the NAT rules as any new one.
 * A command or reply split over segments: Linux remembers where lines
 * start and drops a segment that ends inside a command. Here the start of
 * an unfinished line that may be a command (PORT, EPRT, 227, 229) is kept
 * (struct cth_line, at most FTP_LINE_MAX bytes, CTH_MAX_LINES of them; a
 * full table forgets nothing it holds, it reads no new split line) and read
 * with the segment that continues it. When the sender is translated, the
 * bytes from the address on are held back and sent in front of the
 * completing segment, rewritten, so the peer never sees the private
 * address; the sequence numbers follow as for any rewrite. Lines are read
 * where a segment starts or where an unfinished one continues (only the
 * first line of a segment, and the unfinished last one). Not followed: a
 * retransmission that covers held bytes and bytes before them, or a
 * segment beyond a gap after held bytes (both dropped: the sender sends
 * them again).
 */
#include "cthelper.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/schema.h"
#include "conf/types.h"

#define NSEC 1000000000ull
#define CTH_MAX_EXP 256
#define CTH_MAX_ADJ 256              /* translated FTP control connections */
#define CTH_MAX_PORTS 16
#define CTH_EXP_TIMEOUT (300 * NSEC) /* both helpers' expect timeout */
#define FTP_LINE_MAX 256             /* a command or reply longer than this is not read */
#define CTH_MAX_LINES 64             /* FTP lines left unfinished at a segment's end */

struct cth_exp {
	uint8_t kind;          /* CTH_FTP, CTH_TFTP */
	uint8_t family, proto;
	bool nat;              /* translate the expected connection's destination */
	union ipaddr src, dst; /* src: the peer that will connect; dst: where to */
	uint16_t sport;        /* 0 = any */
	uint16_t dport;
	union ipaddr nat_dst;  /* with nat: the real destination */
	uint16_t nat_dport;
	bool follow;           /* the master is translated: so is the expected connection */
	union ipaddr nat_src;  /* with follow: what the destination knows the source as */
	uint64_t expires;
	const struct ct_entry *master;
	struct ct_tuple master_t; /* the master's original tuple (is it still that entry?) */
};

/* Sequence numbers of one direction after its payload changed length
 * (Linux's nf_ct_seqadj): segments after pos move by after, others by
 * before; the peer's acknowledgements move back the same way. */
struct cth_dir {
	uint32_t pos;
	int32_t before, after;
};

struct cth_adj {
	const struct ct_entry *e;
	struct ct_tuple t0;    /* is it still that connection? */
	struct cth_dir dir[2];
};

/* An FTP command or reply that a segment began and did not finish (no
 * line feed yet): what of it came so far, read again with the next segment
 * of that direction. When the sender is translated, the bytes from where
 * the address starts are held back (cut out of their segment) and go in
 * front of the segment that completes the line, so that the whole address
 * can be rewritten: [fwd, len) are held. */
struct cth_line {
	const struct ct_entry *e;
	struct ct_tuple t0;    /* is it still that connection? */
	uint8_t dir;
	uint32_t seq;          /* the sender's number of the line's first byte */
	uint16_t len;          /* bytes of the line seen */
	uint16_t fwd;          /* bytes of it that went on */
	char buf[FTP_LINE_MAX];
};

struct cth_table {
	bool ftp_on, tftp_on;
	uint16_t ftp_ports[CTH_MAX_PORTS], tftp_ports[CTH_MAX_PORTS];
	unsigned nftp, ntftp;
	struct cth_exp exp[CTH_MAX_EXP]; /* [0, nexp) in use, dense */
	unsigned nexp;
	struct cth_adj adj[CTH_MAX_ADJ]; /* [0, nadj) */
	unsigned nadj;
	struct cth_line line[CTH_MAX_LINES]; /* [0, nline) */
	unsigned nline;
};

static const char *const kind_names[CTH_KIND_MAX] = {
	"", "ftp", "gre", "h323", "irc", "pptp", "quake3", "sip", "tftp",
};

uint8_t cth_by_name(const char *name)
{
	for (uint8_t k = 1; name && k < CTH_KIND_MAX; k++)
		if (!strcmp(name, kind_names[k]))
			return k;
	return 0;
}

const char *cth_name(uint8_t helper)
{
	unsigned k = helper & CTH_KIND_MASK;
	return k < CTH_KIND_MAX ? kind_names[k] : "";
}

struct cth_table *cth_new(void)
{
	struct cth_table *h = xcalloc(1, sizeof(*h));
	h->ftp_on = h->tftp_on = true;
	h->ftp_ports[0] = 21;
	h->nftp = 1;
	h->tftp_ports[0] = 69;
	h->ntftp = 1;
	return h;
}

void cth_free(struct cth_table *h)
{
	free(h);
}

/* "21,2121" into ports; the count. */
static unsigned ports_of(const char *v, uint16_t *out)
{
	unsigned n = 0;
	while (v && *v && n < CTH_MAX_PORTS) {
		char *end;
		unsigned long x = strtoul(v, &end, 10);
		if (end == v)
			break;
		if (x && x <= 65535)
			out[n++] = (uint16_t)x;
		v = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			break;
	}
	return n;
}

void cth_load(struct cth_table *h, struct store *st)
{
	const struct menu *m = schema_find("/ip/firewall/service-port");
	const struct item *ftp = m ? store_by_key(st, m, "ftp") : NULL;
	const struct item *tftp = m ? store_by_key(st, m, "tftp") : NULL;
	if (ftp) {
		const char *d = item_get(m, ftp, "disabled");
		h->ftp_on = !(d && !strcmp(d, "yes"));
		h->nftp = ports_of(item_get(m, ftp, "ports"), h->ftp_ports);
	}
	if (tftp) {
		const char *d = item_get(m, tftp, "disabled");
		h->tftp_on = !(d && !strcmp(d, "yes"));
		h->ntftp = ports_of(item_get(m, tftp, "ports"), h->tftp_ports);
	}
}

/* ---- expectations ---- */

static bool addr_eq(uint8_t family, const union ipaddr *a, const union ipaddr *b)
{
	return family == 6 ? !memcmp(a->v6, b->v6, 16) : a->v4 == b->v4;
}

static void exp_remove(struct cth_table *h, unsigned i)
{
	h->exp[i] = h->exp[--h->nexp];
}

/* Is the expectation's master still the connection that made it? */
static bool master_alive(struct ct_table *ct, const struct cth_exp *x)
{
	unsigned dir;
	return ct_find(ct, &x->master_t, &dir) == x->master && dir == 0;
}

static void exp_add(struct cth_table *h, const struct cth_exp *x, uint64_t now)
{
	unsigned victim = CTH_MAX_EXP;
	for (unsigned i = 0; i < h->nexp;) {
		/* one per master (max_expected 1), and the stale ones go */
		if (h->exp[i].master == x->master || h->exp[i].expires <= now) {
			exp_remove(h, i);
			continue;
		}
		if (victim == CTH_MAX_EXP || h->exp[i].expires < h->exp[victim].expires)
			victim = i;
		i++;
	}
	if (h->nexp == CTH_MAX_EXP)
		exp_remove(h, victim);
	h->exp[h->nexp] = *x;
	h->exp[h->nexp].expires = now + CTH_EXP_TIMEOUT;
	h->nexp++;
}

size_t cth_expectations(struct cth_table *h, uint64_t now)
{
	size_t n = 0;
	for (unsigned i = 0; i < h->nexp; i++)
		n += h->exp[i].expires > now;
	return n;
}

/* The expectation a new connection with tuple k fulfils (removed), or false. */
static bool exp_take(struct cth_table *h, struct ct_table *ct, const struct ct_tuple *k,
		     uint64_t now, struct cth_exp *out)
{
	for (unsigned i = 0; i < h->nexp;) {
		const struct cth_exp *x = &h->exp[i];
		if (x->expires <= now) {
			exp_remove(h, i);
			continue;
		}
		if (x->proto == k->proto && x->family == k->family && x->dport == k->dport &&
		    (!x->sport || x->sport == k->sport) && addr_eq(k->family, &x->dst, &k->dst) &&
		    addr_eq(k->family, &x->src, &k->src)) {
			*out = *x;
			exp_remove(h, i);
			if (master_alive(ct, out))
				return true;
			continue;
		}
		i++;
	}
	return false;
}

/* ---- the hook after conntrack ---- */

static bool port_in(const uint16_t *ports, unsigned n, uint16_t port)
{
	for (unsigned i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

/*
 * The expected connection e (tuple t0) of a translated master takes the
 * master's translation, as nf_nat_follow_master: its destination becomes
 * the announcer's real address and port, its source the address the
 * announcer knows the other side by (the port stays unless that reply is
 * taken). The flow applies both as bindings; NAT rules are not consulted.
 */
static void follow_master(struct ct_table *ct, struct ct_entry *e, const struct cth_exp *x,
			  const struct ct_tuple *t0)
{
	if (x->family != 4)
		return;
	if (x->nat) {
		e->t[1].src = x->nat_dst.v4;
		e->t[1].sport = x->nat_dport;
		e->status |= CTS_DSTNAT;
	}
	if (x->nat_src.v4 != t0->src.v4) {
		struct ct_tuple r;
		ct_entry_tuple(e, 1, &r);
		r.dst.v4 = x->nat_src.v4;
		uint16_t port = t0->sport, lo = port < 1024 ? 1 : 1024;
		uint32_t span = port < 1024 ? 1023u : 64512u;
		for (uint32_t k = 0; k < span; k++) {
			r.dport = (uint16_t)(lo + (port - lo + k) % span);
			if (!ct_reply_taken(ct, &r))
				break;
		}
		e->t[1].dst = x->nat_src.v4;
		e->t[1].dport = r.dport;
		e->status |= CTS_SRCNAT;
	}
	e->status |= CTS_NAT_DONE;
}

void cth_in(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now)
{
	struct ct_entry *e = p->ct;
	if (!e || p->ct_state == CT_RELATED)
		return; /* no connection, or an ICMP error about one */
	if (!(e->status & CTS_CONFIRMED) && p->ct_dir == 0 && !e->helper) {
		struct cth_exp x;
		struct ct_tuple t0;
		ct_entry_tuple(e, 0, &t0);
		if (h->nexp && exp_take(h, ct, &t0, now, &x)) {
			e->helper = (uint8_t)(x.kind | CTH_EXPECTED);
			if (x.follow)
				follow_master(ct, e, &x, &t0);
		} else if (p->proto == 6 && h->ftp_on && port_in(h->ftp_ports, h->nftp, p->dport)) {
			e->helper = CTH_FTP;
		} else if (p->proto == 17 && h->tftp_on &&
			   port_in(h->tftp_ports, h->ntftp, p->dport)) {
			e->helper = CTH_TFTP;
		}
	}
	/* Linux's IP_CT_RELATED for an expected connection until it is answered */
	if ((e->helper & CTH_EXPECTED) && p->ct_state == CT_NEW)
		p->ct_state = CT_RELATED;
}

/* ---- FTP ---- */

/* The transport payload of p, bounded by the frame. */
static const uint8_t *payload_of(const struct pkt *p, size_t *n)
{
	*n = 0;
	if (!p->data || !p->payload_len || p->payload_off >= p->len)
		return NULL;
	size_t avail = p->len - p->payload_off;
	*n = p->payload_len < avail ? p->payload_len : avail;
	return p->data + p->payload_off;
}

/* Reads a decimal number of at most max at s[*i]; false when there is none. */
static bool num_at(const char *s, size_t n, size_t *i, uint32_t max, uint32_t *v)
{
	size_t k = *i;
	uint32_t x = 0;
	while (k < n && s[k] >= '0' && s[k] <= '9' && k - *i < 6) {
		x = x * 10 + (uint32_t)(s[k] - '0');
		k++;
	}
	if (k == *i || x > max || (k < n && s[k] >= '0' && s[k] <= '9'))
		return false;
	*i = k;
	*v = x;
	return true;
}

/* What a command or reply announces. */
struct ftp_cmd {
	enum { FC_PORT, FC_EPRT, FC_227, FC_229 } type;
	union ipaddr a;        /* the address named (229: the sender's) */
	uint16_t port;
	size_t start, end;     /* the span of the payload naming them (not 229) */
	char delim;            /* EPRT's delimiter */
};

/* h1,h2,h3,h4,p1,p2 (RFC 959) from s[i]. */
static bool rfc959_at(const char *s, size_t n, size_t i, struct ftp_cmd *c)
{
	uint32_t v[6];
	c->start = i;
	for (int k = 0; k < 6; k++) {
		if (k && (i >= n || s[i++] != ','))
			return false;
		if (!num_at(s, n, &i, 255, &v[k]))
			return false;
	}
	c->end = i;
	memset(&c->a, 0, sizeof(c->a));
	c->a.v4 = v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
	c->port = (uint16_t)(v[4] << 8 | v[5]);
	return c->port != 0;
}

/* EPRT |af|address|port| (RFC 2428) from s[i]; the span is address|port. */
static bool eprt_at(const char *s, size_t n, size_t i, uint8_t family, struct ftp_cmd *c)
{
	if (i >= n)
		return false;
	char d = s[i++], text[64];
	uint32_t af, pv;
	if (d < 33 || d > 126 || !num_at(s, n, &i, 2, &af) || i >= n || s[i++] != d)
		return false;
	if (af != (family == 6 ? 2u : 1u))
		return false;
	size_t start = i;
	while (i < n && s[i] != d && i - start < sizeof(text) - 1)
		i++;
	if (i >= n || s[i] != d)
		return false;
	memcpy(text, s + start, i - start);
	text[i - start] = 0;
	i++;
	if (!num_at(s, n, &i, 65535, &pv) || !pv || i >= n || s[i] != d)
		return false;
	memset(&c->a, 0, sizeof(c->a));
	if (family == 6 ? parse_ip6(text, c->a.v6) != 0 : parse_ip4(text, &c->a.v4) != 0)
		return false;
	c->port = (uint16_t)pv;
	c->start = start;
	c->end = i;
	c->delim = d;
	return true;
}

/* 229 ... (|||port|) from s[i]: the port only. */
static bool epsv_at(const char *s, size_t n, size_t i, struct ftp_cmd *c)
{
	while (i < n && s[i] != '(')
		i++;
	if (i + 4 >= n)
		return false;
	char d = s[i + 1];
	if (s[i + 2] != d || s[i + 3] != d)
		return false;
	i += 4;
	uint32_t pv;
	if (!num_at(s, n, &i, 65535, &pv) || !pv || i >= n || s[i] != d)
		return false;
	c->port = (uint16_t)pv;
	return true;
}

/*
 * What the segment announces: the address and port the sender will accept
 * a data connection on. False when it announces nothing.
 */
static bool ftp_parse(const char *s, size_t n, unsigned dir, uint8_t family,
		      const union ipaddr *sender, struct ftp_cmd *c)
{
	memset(c, 0, sizeof(*c));
	c->a = *sender;
	if (n > FTP_LINE_MAX)
		n = FTP_LINE_MAX;
	if (dir == 0) {
		if (n > 5 && !strncasecmp(s, "PORT ", 5) && family == 4) {
			c->type = FC_PORT;
			return rfc959_at(s, n, 5, c);
		}
		if (n > 5 && !strncasecmp(s, "EPRT ", 5)) {
			c->type = FC_EPRT;
			return eprt_at(s, n, 5, family, c);
		}
		return false;
	}
	if (n > 4 && !memcmp(s, "227 ", 4) && family == 4) {
		c->type = FC_227;
		/* the numbers follow some text; RFC 1123 4.1.2.6: scan for them */
		for (size_t i = 4; i < n; i++)
			if (s[i] >= '0' && s[i] <= '9')
				return rfc959_at(s, n, i, c);
		return false;
	}
	if (n > 4 && !memcmp(s, "229 ", 4)) {
		c->type = FC_229;
		return epsv_at(s, n, 4, c);
	}
	return false;
}

/* ---- NAT of the payload: sequence adjustment (nf_ct_seqadj) ---- */

static inline bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* The record of e; a record left by an earlier connection in e's slot with
 * the same tuple (reopened after TIME_WAIT) is not e's: e lacks the flag. */
static struct cth_adj *adj_find(struct cth_table *h, const struct ct_entry *e)
{
	if (!(e->helper & CTH_SEQADJ))
		return NULL;
	struct ct_tuple t0;
	ct_entry_tuple(e, 0, &t0);
	for (unsigned i = 0; i < h->nadj; i++)
		if (h->adj[i].e == e && !memcmp(&h->adj[i].t0, &t0, sizeof(t0)))
			return &h->adj[i];
	return NULL;
}

/* The record of e, made when missing (stale ones go first); NULL when full. */
static struct cth_adj *adj_get(struct cth_table *h, struct ct_table *ct, struct ct_entry *e)
{
	struct cth_adj *a = adj_find(h, e);
	if (a)
		return a;
	/* (this drops an earlier connection's record for the slot, if any) */
	for (unsigned i = 0; i < h->nadj;) {
		unsigned dir;
		const struct cth_adj *x = &h->adj[i];
		if (x->e == e || ct_find(ct, &x->t0, &dir) != x->e)
			h->adj[i] = h->adj[--h->nadj];
		else
			i++;
	}
	if (h->nadj == CTH_MAX_ADJ)
		return NULL;
	a = &h->adj[h->nadj++];
	memset(a, 0, sizeof(*a));
	a->e = e;
	ct_entry_tuple(e, 0, &a->t0);
	e->helper |= CTH_SEQADJ;
	return a;
}

/* Rewrites seq and ack of p's TCP header (and its SACK edges, which are
 * acknowledgements too); the checksum is recomputed. */
static void tcp_set_seq_ack(struct pkt *p, uint32_t seq, uint32_t ack, const struct cth_dir *adj)
{
	uint8_t *h = p->data + p->l4_off;
	uint8_t b[4];
	for (int k = 0; k < 4; k++)
		b[k] = (uint8_t)(seq >> (24 - 8 * k));
	memcpy(h + 4, b, 4);
	for (int k = 0; k < 4; k++)
		b[k] = (uint8_t)(ack >> (24 - 8 * k));
	memcpy(h + 8, b, 4);
	p->seq = seq;
	p->ack = ack;
	for (uint32_t i = 20; adj && i + 1 < p->tcp_doff;) {
		if (h[i] == 0)
			break;
		if (h[i] == 1) {
			i++;
			continue;
		}
		if (h[i + 1] < 2 || i + h[i + 1] > p->tcp_doff)
			break;
		if (h[i] == 5) {
			for (uint32_t k = i + 2; k + 4 <= i + h[i + 1]; k += 4) {
				uint32_t v = (uint32_t)h[k] << 24 | (uint32_t)h[k + 1] << 16 |
					     (uint32_t)h[k + 2] << 8 | h[k + 3];
				v -= (uint32_t)(seq_after(v - (uint32_t)adj->before, adj->pos) ? adj->after
												 : adj->before);
				for (int q = 0; q < 4; q++)
					h[k + q] = (uint8_t)(v >> (24 - 8 * q));
			}
		}
		i += h[i + 1];
	}
	pkt_fix_checksums(p);
}

static bool tcp_hdr_ok(const struct pkt *p)
{
	return p->data && p->proto == 6 && (p->flags & PKT_F_L4) && p->tcp_doff >= 20 &&
	       (uint32_t)p->l4_off + p->tcp_doff <= p->len;
}

void cth_pre(struct cth_table *h, struct ct_table *ct, struct pkt *p)
{
	if (!h->nadj || !tcp_hdr_ok(p) || p->ct_state == CT_UNTRACKED)
		return;
	struct ct_tuple k;
	unsigned dir;
	ct_tuple_of_pkt(p, &k);
	struct ct_entry *e = ct_find(ct, &k, &dir);
	if (!e || !(e->helper & CTH_SEQADJ) || !(p->tcp_flags & TCPF_ACK))
		return;
	const struct cth_adj *a = adj_find(h, e);
	const struct cth_dir *o = a ? &a->dir[!dir] : NULL;
	if (!o || (!o->before && !o->after))
		return;
	/* the peer acknowledges in the rewritten numbering: back to the sender's */
	uint32_t off = (uint32_t)(seq_after(p->ack - (uint32_t)o->before, o->pos) ? o->after
										   : o->before);
	tcp_set_seq_ack(p, p->seq, p->ack - off, o);
}

/* Moves the seq of an accepted packet of the rewritten direction. */
static void seq_adjust_out(struct cth_table *h, struct pkt *p)
{
	const struct cth_adj *a;
	if (!(p->ct->helper & CTH_SEQADJ) || !tcp_hdr_ok(p) || !(a = adj_find(h, p->ct)))
		return;
	const struct cth_dir *o = &a->dir[p->ct_dir];
	int32_t off = seq_after(p->seq, o->pos) ? o->after : o->before;
	if (off)
		tcp_set_seq_ack(p, p->seq + (uint32_t)off, p->ack, NULL);
}

/* Replaces payload bytes [start, end) by text; false when it does not fit. */
static bool payload_replace(struct pkt *p, size_t start, size_t end, const char *text, size_t n,
			    int32_t *delta)
{
	int32_t d = (int32_t)n - (int32_t)(end - start);
	size_t at = (size_t)p->payload_off + end;
	if (p->family != 4 || at > p->len || (int64_t)p->len + d > (int64_t)p->cap ||
	    (int64_t)p->ip_len + d > 65535)
		return false;
	uint8_t *pl = p->data + p->payload_off;
	memmove(pl + start + n, pl + end, p->len - at);
	memcpy(pl + start, text, n);
	p->len = (uint32_t)((int64_t)p->len + d);
	p->ip_len = (uint16_t)(p->ip_len + d);
	p->l4_len = (uint16_t)(p->l4_len + d);
	p->payload_len = (uint16_t)(p->payload_len + d);
	p->data[p->l3_off + 2] = (uint8_t)(p->ip_len >> 8);
	p->data[p->l3_off + 3] = (uint8_t)p->ip_len;
	pkt_fix_checksums(p);
	*delta = d;
	return true;
}

/* A port near want that no expectation to addr uses yet (nf_nat_ftp). */
static uint16_t free_port(const struct cth_table *h, const union ipaddr *addr, uint16_t want,
			  uint64_t now)
{
	for (uint32_t k = 0; k < 65535; k++) {
		uint16_t port = (uint16_t)(want + k);
		bool used = port == 0;
		for (unsigned i = 0; i < h->nexp && !used; i++)
			used = h->exp[i].expires > now && h->exp[i].proto == 6 &&
			       h->exp[i].family == 4 && h->exp[i].dst.v4 == addr->v4 &&
			       h->exp[i].dport == port;
		if (!used)
			return port;
	}
	return want;
}

/*
 * The sender is translated (IPv4 NAT): the announcement must name the
 * address the peer sees, on a port no other expectation takes, and the
 * expected connection is translated back. False when the payload could
 * not be rewritten: nothing is expected and the packet must be dropped, as
 * nf_nat_ftp does (it would name the private address).
 */
static bool ftp_nat(struct cth_table *h, struct pkt *p, const struct ftp_cmd *c, size_t base,
		    struct cth_exp *x, uint64_t now, int32_t *delta)
{
	struct ct_entry *e = p->ct;
	unsigned dir = p->ct_dir;
	struct ct_tuple other;
	ct_entry_tuple(e, !dir, &other);
	union ipaddr seen = other.dst;
	uint16_t port = c->type == FC_229 ? c->port : free_port(h, &seen, c->port, now);
	x->nat = true;
	x->nat_dst = c->a;
	x->nat_dport = c->port;
	x->dst = seen;
	x->dport = port;
	*delta = 0;
	if (c->type == FC_229)
		return true; /* names the port only, which stays */
	if (c->start < base)
		return false; /* the address began in a segment already sent */
	char text[64];
	uint32_t a = seen.v4;
	if (c->type == FC_EPRT)
		snprintf(text, sizeof(text), "%u.%u.%u.%u%c%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
			 a & 255, c->delim, port);
	else
		snprintf(text, sizeof(text), "%u,%u,%u,%u,%u,%u", a >> 24, a >> 16 & 255,
			 a >> 8 & 255, a & 255, port >> 8, port & 255);
	return payload_replace(p, c->start - base, c->end - base, text, strlen(text), delta);
}

/* Records that p's payload changed by delta bytes (nf_ct_seqadj). A
 * retransmission of a segment already rewritten changes nothing more;
 * force: p completes a line whose bytes were held, its offset is new. */
static void adj_note(struct cth_adj *ad, unsigned dir, uint32_t seq, int32_t delta, bool force)
{
	struct cth_dir *o = &ad->dir[dir];
	if (force) {
		int32_t off = seq_after(seq, o->pos) ? o->after : o->before;
		o->pos = seq;
		o->before = off;
		o->after = off + delta;
	} else if (delta && (o->before == o->after || seq_after(seq, o->pos))) {
		o->pos = seq;
		o->before = o->after;
		o->after += delta;
	}
}

/* ---- FTP lines across segments ---- */

static struct cth_line *line_find(struct cth_table *h, const struct ct_entry *e, unsigned dir)
{
	struct ct_tuple t0;
	if (!h->nline)
		return NULL;
	ct_entry_tuple(e, 0, &t0);
	for (unsigned i = 0; i < h->nline; i++)
		if (h->line[i].e == e && h->line[i].dir == dir &&
		    !memcmp(&h->line[i].t0, &t0, sizeof(t0)))
			return &h->line[i];
	return NULL;
}

static void line_drop(struct cth_table *h, struct cth_line *l)
{
	if (l)
		*l = h->line[--h->nline];
}

/* A record for e's direction dir (those of connections gone are reused
 * first); NULL when the table is full. */
static struct cth_line *line_new(struct cth_table *h, struct ct_table *ct, struct ct_entry *e,
				 unsigned dir)
{
	for (unsigned i = 0; i < h->nline;) {
		unsigned d;
		const struct cth_line *x = &h->line[i];
		if ((x->e == e && x->dir == dir) || ct_find(ct, &x->t0, &d) != x->e)
			h->line[i] = h->line[--h->nline];
		else
			i++;
	}
	if (h->nline == CTH_MAX_LINES)
		return NULL;
	struct cth_line *l = &h->line[h->nline++];
	memset(l, 0, sizeof(*l));
	l->e = e;
	l->dir = (uint8_t)dir;
	ct_entry_tuple(e, 0, &l->t0);
	return l;
}

/* Could the unfinished line s[0, n) be a command (dir 0) or reply the
 * helper reads? */
static bool ftp_candidate(const char *s, size_t n, unsigned dir)
{
	static const char *const words[2][2] = { { "PORT ", "EPRT " }, { "227 ", "229 " } };
	for (int k = 0; k < 2; k++) {
		const char *w = words[dir][k];
		size_t m = strlen(w) < n ? strlen(w) : n;
		if (dir == 0 ? !strncasecmp(s, w, m) : !memcmp(s, w, m))
			return true;
	}
	return false;
}

/* Where the address that a translated sender's line names begins in the
 * unfinished line s[0, n), or n when it has not begun yet (229 names none). */
static size_t ftp_addr_start(const char *s, size_t n, unsigned dir)
{
	size_t i;
	if (dir == 0 && n > 5 && !strncasecmp(s, "PORT ", 5))
		return 5;
	if (dir == 0 && n > 6 && !strncasecmp(s, "EPRT ", 5)) {
		for (i = 6; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		return i < n && s[i] == s[5] ? i + 1 : n;
	}
	if (dir == 1 && n > 4 && !memcmp(s, "227 ", 4))
		for (i = 4; i < n; i++)
			if (s[i] >= '0' && s[i] <= '9')
				return i;
	return n;
}

/* Reads the announcement of the complete line s[0, n) (p's payload starts
 * at its byte base) and registers its expectation; with nat the address is
 * rewritten in p (*delta). False: it needed a rewrite that could not be
 * made. */
static bool ftp_line(struct cth_table *h, struct pkt *p, const char *s, size_t n, size_t base,
		     bool nat, uint64_t now, int32_t *delta)
{
	struct ct_entry *e = p->ct;
	unsigned dir = p->ct_dir;
	struct ftp_cmd c;
	/* the sender as it really is (before any NAT of this connection) */
	struct ct_tuple t[2];
	ct_entry_tuple(e, 0, &t[0]);
	ct_entry_tuple(e, 1, &t[1]);
	const union ipaddr *sender = &t[dir].src;
	uint8_t fam = e->family;
	*delta = 0;
	if (!ftp_parse(s, n, dir, fam, sender, &c))
		return true;
	if (!addr_eq(fam, &c.a, sender))
		return true; /* a third host: Linux's loose=0 opens nothing */
	struct cth_exp x;
	memset(&x, 0, sizeof(x));
	x.kind = CTH_FTP;
	x.family = fam;
	x.proto = 6;
	x.src = t[!dir].src;
	x.dst = c.a;
	x.dport = c.port;
	x.master = e;
	x.master_t = t[0];
	x.follow = fam == 4 && (e->status & (CTS_SRCNAT | CTS_DSTNAT));
	x.nat_src = t[dir].dst;
	if (nat && !ftp_nat(h, p, &c, base, &x, now, delta))
		return false;
	exp_add(h, &x, now);
	return true;
}

/* The first line feed in s[0, n), or n. */
static size_t line_end(const char *s, size_t n)
{
	const char *nl = memchr(s, '\n', n);
	return nl ? (size_t)(nl - s) : n;
}

static bool ftp_out(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now)
{
	struct ct_entry *e = p->ct;
	size_t n;
	const uint8_t *d = payload_of(p, &n);
	if (!d || p->proto != 6 || !tcp_hdr_ok(p))
		return true;
	unsigned dir = p->ct_dir;
	struct ct_tuple t[2];
	ct_entry_tuple(e, 0, &t[0]);
	ct_entry_tuple(e, 1, &t[1]);
	/* the sender is translated: what it names must be rewritten */
	bool nat = e->family == 4 && !addr_eq(4, &t[!dir].dst, &t[dir].src);
	uint32_t seq = p->seq;
	struct cth_line *l = line_find(h, e, dir);
	size_t at = 0;  /* where the payload starts in the line */
	size_t held = 0; /* held bytes that go in front of the payload */
	int32_t delta = 0, total = 0;
	if (l) {
		int32_t o = (int32_t)(seq - l->seq);
		int64_t rel = o + (int64_t)n; /* where the payload ends in the line */
		bool holding = l->fwd < l->len;
		if (rel <= l->fwd) {
			return true; /* a retransmission of bytes that went on: read already */
		} else if (holding && rel <= l->len && o < l->len) {
			/* a retransmission within what came of the line: the held
			 * bytes in it go with the line's end, not now */
			size_t from = o < l->fwd ? (size_t)(l->fwd - o) : 0;
			return payload_replace(p, from, n, "", 0, &delta);
		} else if (o >= l->fwd && o <= l->len) {
			at = (size_t)o;
			held = at - l->fwd;
		} else if (holding) {
			return false; /* not followed (see above): the sender sends again */
		} else {
			line_drop(h, l);
			l = NULL;
		}
	}
	struct cth_adj *ad = NULL;
	/* the line so far, then as much of this segment as a line may hold */
	char s[FTP_LINE_MAX + 1];
	size_t k = n < FTP_LINE_MAX - at ? n : FTP_LINE_MAX - at;
	if (at)
		memcpy(s, l->buf, at);
	memcpy(s + at, d, k);
	size_t end = line_end(s, at + k);
	/* the unfinished last line of the payload, if it has more than one */
	size_t tail = 0;
	while (tail < n && d[n - 1 - tail] != '\n')
		tail++;
	bool force = held > 0 || (l && l->fwd < l->len);
	if (nat && (held || (l && l->fwd < l->len)) && !(ad = adj_get(h, ct, e)))
		return false;
	if (end < at + k || at + n >= FTP_LINE_MAX) {
		/* the line is complete (or too long to be read): the held bytes
		 * go first, then its announcement */
		if (held && !payload_replace(p, 0, 0, l->buf + l->fwd, held, &delta))
			return false;
		total += delta;
		if (end < at + k) {
			size_t base = l ? l->fwd : 0;
			if (nat && !ad && !(ad = adj_get(h, ct, e)))
				return false;
			if (!ftp_line(h, p, s, end + 1, base, nat, now, &delta))
				return false;
			total += delta;
		}
		line_drop(h, l);
		l = NULL;
		/* an unfinished last line of the segment starts a line of its own
		 * (the payload changed in front of it, not in it) */
		if (end < at + k && tail && tail < n && n - tail > end - at &&
		    tail < FTP_LINE_MAX) {
			const char *pl = (const char *)p->data + p->payload_off + p->payload_len - tail;
			if (ftp_candidate(pl, tail, dir) && (l = line_new(h, ct, e, dir))) {
				l->seq = seq + (uint32_t)(n - tail);
				at = 0;
				k = tail;
				memcpy(s, pl, k);
			}
		}
		if (!l)
			goto out;
	} else if (!ftp_candidate(s, at + k, dir)) {
		line_drop(h, l);
		goto out;
	} else if (!l) {
		if (!(l = line_new(h, ct, e, dir)))
			goto out;
		l->seq = seq;
	}
	/* s[0, at + k) is an unfinished line starting at l->seq; with NAT its
	 * bytes from the address on are held back (cut from p's tail) */
	size_t line_len = at + k, from = line_len;
	if (l->fwd < l->len) {
		from = l->fwd; /* held already: so is all that follows */
	} else if (nat) {
		from = ftp_addr_start(s, line_len, dir);
		if (from < at)
			from = line_len; /* the address began in bytes already sent */
	}
	if (from < line_len) {
		size_t plen = p->payload_len;
		size_t cut = line_len - (from > at ? from : at);
		if (!ad && !(ad = adj_get(h, ct, e)))
			return false;
		if (!payload_replace(p, plen - cut, plen, "", 0, &delta))
			return false;
		total += delta;
	}
	memcpy(l->buf + at, s + at, line_len - at);
	l->len = (uint16_t)line_len;
	l->fwd = (uint16_t)(from < line_len ? from : line_len);
out:
	if (ad)
		adj_note(ad, dir, seq, total, force);
	return true;
}

/* ---- TFTP ---- */

static void tftp_out(struct cth_table *h, struct pkt *p, uint64_t now)
{
	const struct ct_entry *e = p->ct;
	size_t n;
	const uint8_t *d = payload_of(p, &n);
	/* a read (1) or write (2) request from the client */
	if (!d || n < 2 || p->ct_dir != 0 || d[0] != 0 || (d[1] != 1 && d[1] != 2))
		return;
	struct cth_exp x;
	struct ct_tuple t[2];
	ct_entry_tuple(e, 0, &t[0]);
	ct_entry_tuple(e, 1, &t[1]);
	memset(&x, 0, sizeof(x));
	x.kind = CTH_TFTP;
	x.family = e->family;
	x.proto = 17;
	x.src = t[1].src;   /* the server, from any port */
	x.dst = t[1].dst;   /* the client as the server sees it */
	x.dport = t[1].dport;
	if (!addr_eq(x.family, &t[1].dst, &t[0].src) || t[1].dport != t[0].sport) {
		x.nat = true;
		x.nat_dst = t[0].src;
		x.nat_dport = t[0].sport;
	}
	x.master = e;
	x.master_t = t[0];
	x.follow = x.family == 4 && (e->status & (CTS_SRCNAT | CTS_DSTNAT));
	x.nat_src = t[0].dst; /* the server as the client knows it */
	exp_add(h, &x, now);
}

bool cth_out(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now)
{
	const struct ct_entry *e = p->ct;
	if (!e || !cth_is_control(e->helper) || p->ct_state == CT_RELATED)
		return true;
	switch (e->helper & CTH_KIND_MASK) {
	case CTH_FTP:
		if (!ftp_out(h, ct, p, now))
			return false;
		seq_adjust_out(h, p);
		break;
	case CTH_TFTP:
		tftp_out(h, p, now);
		break;
	default:
		break;
	}
	return true;
}
