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
 * NAT. TFTP: the expectation is for the client's translated address and
 * port, and the expected connection is translated back to the real ones.
 * FTP: when the sender of a PORT/EPRT/227/229 is translated, the payload
 * would have to name the translated address (nf_nat_ftp), which changes
 * the segment's length and so the TCP sequence numbers of the rest of the
 * connection. That rewrite is not done: the expectation is then registered
 * as Linux does without nf_nat_ftp (for the untranslated address), so
 * passive FTP from behind masquerade works (the client connects out, and
 * its data connection is related and masqueraded by the rules), while
 * active FTP from behind it does not.
 */
#include "cthelper.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/schema.h"
#include "conf/types.h"

#define NSEC 1000000000ull
#define CTH_MAX_EXP 256
#define CTH_MAX_PORTS 16
#define CTH_EXP_TIMEOUT (300 * NSEC) /* both helpers' expect timeout */
#define FTP_LINE_MAX 256             /* a command or reply longer than this is not read */

struct cth_exp {
	uint8_t kind;          /* CTH_FTP, CTH_TFTP */
	uint8_t family, proto;
	bool nat;              /* translate the expected connection's destination */
	union ipaddr src, dst; /* src: the peer that will connect; dst: where to */
	uint16_t sport;        /* 0 = any */
	uint16_t dport;
	union ipaddr nat_dst;  /* with nat: the real destination */
	uint16_t nat_dport;
	uint64_t expires;
	const struct ct_entry *master;
	struct ct_tuple master_t; /* the master's original tuple (is it still that entry?) */
};

struct cth_table {
	bool ftp_on, tftp_on;
	uint16_t ftp_ports[CTH_MAX_PORTS], tftp_ports[CTH_MAX_PORTS];
	unsigned nftp, ntftp;
	struct cth_exp exp[CTH_MAX_EXP]; /* [0, nexp) in use, dense */
	unsigned nexp;
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

void cth_in(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now)
{
	struct ct_entry *e = p->ct;
	if (!e || p->ct_state == CT_RELATED)
		return; /* no connection, or an ICMP error about one */
	if (!(e->status & CTS_CONFIRMED) && p->ct_dir == 0 && !e->helper) {
		struct cth_exp x;
		if (h->nexp && exp_take(h, ct, &e->t[0], now, &x)) {
			e->helper = (uint8_t)(x.kind | CTH_EXPECTED);
			if (x.nat && x.family == 4) {
				/* back to the real destination; the flow applies it as a
				 * binding (no NAT rules for it, as nf_nat_follow_master) */
				e->t[1].src.v4 = x.nat_dst.v4;
				e->t[1].sport = x.nat_dport;
				e->status |= CTS_DSTNAT | CTS_NAT_DONE;
			}
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

/* h1,h2,h3,h4,p1,p2 (RFC 959) from s[i]. */
static bool rfc959_at(const char *s, size_t n, size_t i, uint32_t *addr, uint16_t *port)
{
	uint32_t v[6];
	for (int k = 0; k < 6; k++) {
		if (k && (i >= n || s[i++] != ','))
			return false;
		if (!num_at(s, n, &i, 255, &v[k]))
			return false;
	}
	*addr = v[0] << 24 | v[1] << 16 | v[2] << 8 | v[3];
	*port = (uint16_t)(v[4] << 8 | v[5]);
	return *port != 0;
}

/* EPRT |af|address|port| (RFC 2428) from s[i]. */
static bool eprt_at(const char *s, size_t n, size_t i, uint8_t family, union ipaddr *a,
		    uint16_t *port)
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
	memset(a, 0, sizeof(*a));
	if (family == 6 ? parse_ip6(text, a->v6) != 0 : parse_ip4(text, &a->v4) != 0)
		return false;
	*port = (uint16_t)pv;
	return true;
}

/* 229 ... (|||port|) from s[i]: the port only. */
static bool epsv_at(const char *s, size_t n, size_t i, uint16_t *port)
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
	*port = (uint16_t)pv;
	return true;
}

/*
 * What the segment announces: the address and port the sender will accept
 * a data connection on. False when it announces nothing.
 */
static bool ftp_parse(const char *s, size_t n, unsigned dir, uint8_t family,
		      const union ipaddr *sender, union ipaddr *a, uint16_t *port)
{
	*a = *sender;
	if (n > FTP_LINE_MAX)
		n = FTP_LINE_MAX;
	if (dir == 0) {
		if (n > 5 && !strncasecmp(s, "PORT ", 5) && family == 4) {
			memset(a, 0, sizeof(*a));
			return rfc959_at(s, n, 5, &a->v4, port);
		}
		if (n > 5 && !strncasecmp(s, "EPRT ", 5))
			return eprt_at(s, n, 5, family, a, port);
		return false;
	}
	if (n > 4 && !memcmp(s, "227 ", 4) && family == 4) {
		/* the numbers follow some text; RFC 1123 4.1.2.6: scan for them */
		for (size_t i = 4; i < n; i++)
			if (s[i] >= '0' && s[i] <= '9') {
				memset(a, 0, sizeof(*a));
				return rfc959_at(s, n, i, &a->v4, port);
			}
		return false;
	}
	if (n > 4 && !memcmp(s, "229 ", 4))
		return epsv_at(s, n, 4, port);
	return false;
}

static void ftp_out(struct cth_table *h, struct pkt *p, uint64_t now)
{
	const struct ct_entry *e = p->ct;
	size_t n;
	const uint8_t *d = payload_of(p, &n);
	if (!d || p->proto != 6)
		return;
	unsigned dir = p->ct_dir;
	union ipaddr a;
	uint16_t port;
	/* the sender as it really is (before any NAT of this connection) */
	const union ipaddr *sender = &e->t[dir].src;
	if (!ftp_parse((const char *)d, n, dir, e->t[0].family, sender, &a, &port))
		return;
	if (!addr_eq(e->t[0].family, &a, sender))
		return; /* a third host: Linux's loose=0 opens nothing */
	struct cth_exp x;
	memset(&x, 0, sizeof(x));
	x.kind = CTH_FTP;
	x.family = e->t[0].family;
	x.proto = 6;
	x.src = e->t[!dir].src;
	x.dst = a;
	x.dport = port;
	x.master = e;
	x.master_t = e->t[0];
	exp_add(h, &x, now);
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
	memset(&x, 0, sizeof(x));
	x.kind = CTH_TFTP;
	x.family = e->t[0].family;
	x.proto = 17;
	x.src = e->t[1].src;   /* the server, from any port */
	x.dst = e->t[1].dst;   /* the client as the server sees it */
	x.dport = e->t[1].dport;
	if (!addr_eq(x.family, &e->t[1].dst, &e->t[0].src) || e->t[1].dport != e->t[0].sport) {
		x.nat = true;
		x.nat_dst = e->t[0].src;
		x.nat_dport = e->t[0].sport;
	}
	x.master = e;
	x.master_t = e->t[0];
	exp_add(h, &x, now);
}

void cth_out(struct cth_table *h, struct ct_table *ct, struct pkt *p, uint64_t now)
{
	(void)ct;
	const struct ct_entry *e = p->ct;
	if (!e || !cth_is_control(e->helper) || p->ct_state == CT_RELATED)
		return;
	switch (e->helper & CTH_KIND_MASK) {
	case CTH_FTP:
		ftp_out(h, p, now);
		break;
	case CTH_TFTP:
		tftp_out(h, p, now);
		break;
	default:
		break;
	}
}
