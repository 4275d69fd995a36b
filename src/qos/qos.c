/*
 * The queues of a configuration: which HTB schedulers exist, which class
 * a packet belongs to in each, and how a packet moves from one stage to the
 * next (global tree -> simple queues -> interface tree -> the wire).
 * Classification is decided once, at enqueue, and written into the packet
 * (qp->sq_leaf, qp->if_leaf); the stages only move it along.
 */
#include "qos.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/schema.h"
#include "conf/types.h"
#include "engine/names.h"

#define MAX_IFACES 256
#define FIFO_LIMIT 1000 /* an interface's own transmit queue (no tree on it) */

enum { ST_GLOBAL, ST_SIMPLE, ST_TOTAL, ST_IFACE, ST_WIRE };

/* A queue tree attachment: one HTB and the leaf for each packet mark. */
struct tree {
	struct htb *h;
	uint32_t *ids;       /* store id per class */
	uint32_t *mark_of;   /* packet mark per class (first mark of the leaf) */
	uint32_t **marks;    /* all marks per class, 0-terminated */
	size_t n;
};

struct net6 {
	uint8_t a[16]; /* host bits cleared */
	uint8_t len;
};

struct simple {
	/* what matching reads, first and together */
	bool disabled;
	bool has_time;
	bool has_dst, dst_is6;
	uint16_t dst_if;
	uint32_t dst_net, dst_mask;
	/* targets: IPv4 and IPv6 networks match their family's packets,
	 * interfaces both */
	size_t nnets, nifs, nmarks, nnets6;
	uint32_t *nets, *masks;
	uint16_t *ifs;
	uint32_t *marks;
	struct net6 *nets6;
	struct net6 dst6;
	struct schedule time;
	uint32_t id;
	int up_cls, down_cls;  /* classes in the up/down HTB (the leaf that takes traffic) */
	int up_stat, down_stat; /* the class whose statistics print shows */
	int tot_up, tot_down;  /* its leaves in the total HTB, -1: no total-* on it or above */
	int tot_stat;
};

struct fifo {
	struct qpkt *head, *tail;
	uint32_t n;
};

struct qos {
	struct tree global;
	struct tree iface[MAX_IFACES];
	struct simple *sq;
	size_t nsq;
	struct htb *sq_up, *sq_down;
	struct htb *sq_total;  /* total-*: upload and download together, after their own */
	struct fifo wire[MAX_IFACES]; /* packets that passed every stage, per interface */
	struct fifo direct[MAX_IFACES]; /* no tree on the interface: its transmit queue */
	int nif;       /* one past the highest interface id with a tree or a
			* packet ever queued: the per-interface walks stop there */
	char **warn;   /* what the build found wrong (qos_log_warnings), sorted */
	size_t nwarn;
	struct qpkt *left; /* dropped by a change (qos_update, qos_carry_packets):
			    * handed to the caller with the next drops */
};

/* ---- helpers ---- */

static uint64_t speed_bps(const char *s)
{
	if (!s)
		return 1000000000ull;
	double v = atof(s);
	if (strstr(s, "Gbps"))
		return (uint64_t)(v * 1e9);
	if (strstr(s, "Mbps"))
		return (uint64_t)(v * 1e6);
	return 1000000000ull;
}

/* bucket-size (seconds of max-limit, 0..10; absent: 0.1) in the thousandths
 * htb takes, where 0 means the default: bucket-size=0 is one millisecond,
 * which htb rounds up to one frame at the rates a small bucket is for. */
static uint32_t bucket_milli(const char *bs)
{
	uint32_t v = (uint32_t)((bs ? atof(bs) : 0.1) * 1000 + 0.5);
	return v ? v : 1;
}

static uint64_t rate_of(const char *s)
{
	uint64_t r = 0;
	if (s)
		parse_rate(s, &r);
	return r;
}

/* "a/b" -> the side'th part (0 = upload, 1 = download) into buf */
static const char *side(const char *v, int which, char *buf, size_t n)
{
	if (!v)
		return NULL;
	const char *sl = strchr(v, '/');
	if (!sl)
		snprintf(buf, n, "%s", v);
	else if (which == 0)
		snprintf(buf, n, "%.*s", (int)(sl - v), v);
	else
		snprintf(buf, n, "%s", sl + 1);
	return buf;
}

/*
 * The leaf discipline of a queue. The command layer refuses a queue= that
 * names no queue type and the removal of a type in use, so a failure here
 * means a store written before those checks or edited behind them: the
 * queue runs pfifo and the log says so.
 */
static void leaf_queue(struct qos *q, struct store *st, const struct menu *m,
		       const struct item *it, const char *qt, struct qdisc_cfg *cfg)
{
	const char *name = qt ? qt : "default-small";
	const char *qname;
	if (qdisc_cfg_from_store(st, name, cfg) == 0)
		return;
	qdisc_cfg_default(cfg, QK_PFIFO);
	qname = item_get(m, it, "name");
	char who[96];
	if (qname && *qname)
		snprintf(who, sizeof(who), "%s", qname);
	else
		snprintf(who, sizeof(who), "*%X", it->id);
	struct sbuf w = SBUF_INIT;
	sbuf_printf(&w, "%s %s: queue type '%s' is missing or invalid, pfifo used", m->path, who,
		    name);
	q->warn = xrealloc(q->warn, (q->nwarn + 1) * sizeof(*q->warn));
	q->warn[q->nwarn++] = xstrdup(sbuf_str(&w));
	sbuf_free(&w);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void qos_log_warnings(const struct qos *q, const struct qos *prev)
{
	for (size_t i = 0; i < q->nwarn; i++)
		if (!prev || !prev->nwarn ||
		    !bsearch(&q->warn[i], prev->warn, prev->nwarn, sizeof(*prev->warn), cmp_str))
			conf_log("queue,warning", "%s", q->warn[i]);
}

/* An IPv6 network of a target or dst= ("2001:db8::/64"); false for
 * anything else. */
static bool net6_of(const char *v, struct net6 *n)
{
	char ip[48];
	const char *slash = strchr(v, '/');
	size_t n_ip = slash ? (size_t)(slash - v) : strlen(v);
	long len = 128;
	if (!strchr(v, ':') || n_ip >= sizeof(ip))
		return false;
	memcpy(ip, v, n_ip);
	ip[n_ip] = 0;
	if (slash) {
		char *end;
		len = strtol(slash + 1, &end, 10);
		if (end == slash + 1 || *end || len < 0 || len > 128)
			return false;
	}
	if (parse_ip6(ip, n->a) < 0)
		return false;
	n->len = (uint8_t)len;
	for (int i = 0; i < 16; i++) {
		int keep = len - 8 * i;
		n->a[i] &= keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
	return true;
}

static bool net6_has(const struct net6 *n, const uint8_t a[16])
{
	int full = n->len / 8, rest = n->len % 8;
	if (memcmp(n->a, a, (size_t)full))
		return false;
	return !rest || (a[full] & (uint8_t)(0xff << (8 - rest))) == n->a[full];
}

static bool disabled(const struct menu *m, const struct item *it)
{
	const char *d = item_get(m, it, "disabled");
	return d && !strcmp(d, "yes");
}

static uint64_t iface_speed(struct store *st, const char *name)
{
	const struct menu *m = schema_find("/interface/ethernet");
	const struct item *it = m ? store_by_key(st, m, name) : NULL;
	return it ? speed_bps(item_get(m, it, "speed")) : 1000000000ull;
}

static void fifo_push(struct fifo *f, struct qpkt *p)
{
	p->next = NULL;
	if (f->tail)
		f->tail->next = p;
	else
		f->head = p;
	f->tail = p;
	f->n++;
}

static struct qpkt *fifo_pop(struct fifo *f)
{
	struct qpkt *p = f->head;
	if (p) {
		f->head = p->next;
		if (!f->head)
			f->tail = NULL;
		f->n--;
		p->next = NULL;
	}
	return p;
}

static void drop_list(struct qpkt **dropped, struct qpkt *p)
{
	p->next = *dropped;
	*dropped = p;
}

static uint32_t *parse_marks(const char *v, size_t *n)
{
	*n = 0;
	if (!v || !*v)
		return NULL;
	uint32_t *out = NULL;
	char *copy = xstrdup(v), *save = NULL;
	for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		out = xrealloc(out, (*n + 1) * sizeof(uint32_t));
		out[(*n)++] = name_intern(NS_MARK, t);
	}
	free(copy);
	return out;
}

/* ---- queue trees ---- */

struct tq {
	const struct item *it;
	int parent;       /* index in the list, -1 = attached at the root */
	int attach;       /* 0 global, else the interface id; -1 unresolved */
};

static int build_tree(struct qos *q, struct store *st, struct tree *t, const struct menu *m,
		      struct tq *qs, size_t nq, int attach, uint64_t link, uint64_t now, char *err,
		      size_t errlen)
{
	/* the queues of this attachment, parents before children */
	size_t n = 0;
	int *order = xmalloc((nq ? nq : 1) * sizeof(int));
	int *pos = xmalloc((nq ? nq : 1) * sizeof(int));
	for (size_t i = 0; i < nq; i++)
		pos[i] = -1;
	bool progress = true;
	while (progress) {
		progress = false;
		for (size_t i = 0; i < nq; i++) {
			if (pos[i] >= 0 || qs[i].attach != attach)
				continue;
			if (qs[i].parent >= 0 && pos[qs[i].parent] < 0)
				continue;
			pos[i] = (int)n;
			order[n++] = (int)i;
			progress = true;
		}
	}
	if (!n) {
		free(order);
		free(pos);
		return 0;
	}
	struct htb_class_cfg *cfg = xcalloc(n, sizeof(*cfg));
	t->ids = xcalloc(n, sizeof(uint32_t));
	t->marks = xcalloc(n, sizeof(uint32_t *));
	t->n = n;
	for (size_t k = 0; k < n; k++) {
		const struct item *it = qs[order[k]].it;
		struct htb_class_cfg *c = &cfg[k];
		c->id = it->id;
		t->ids[k] = it->id;
		c->parent = qs[order[k]].parent >= 0 ? pos[qs[order[k]].parent] : -1;
		c->limit_at = rate_of(item_get(m, it, "limit-at"));
		c->max_limit = rate_of(item_get(m, it, "max-limit"));
		const char *pr = item_get(m, it, "priority");
		c->priority = (uint8_t)(pr ? atoi(pr) : 8);
		c->burst_limit = rate_of(item_get(m, it, "burst-limit"));
		c->burst_threshold = rate_of(item_get(m, it, "burst-threshold"));
		uint64_t ms = 0;
		const char *bt = item_get(m, it, "burst-time");
		if (bt)
			parse_time_ms(bt, &ms);
		c->burst_time_ns = ms * 1000000ull;
		c->bucket_size_milli = bucket_milli(item_get(m, it, "bucket-size"));
		leaf_queue(q, st, m, it, item_get(m, it, "queue"), &c->queue);
		size_t nm;
		uint32_t *mk = parse_marks(item_get(m, it, "packet-mark"), &nm);
		t->marks[k] = xrealloc(mk, (nm + 1) * sizeof(uint32_t));
		t->marks[k][nm] = 0;
	}
	t->h = htb_new(cfg, n, link, now, err, errlen);
	free(cfg);
	free(order);
	free(pos);
	return t->h ? 0 : -1;
}

static void tree_free(struct tree *t)
{
	htb_free(t->h);
	for (size_t i = 0; i < t->n; i++)
		free(t->marks[i]);
	free(t->marks);
	free(t->ids);
	free(t->mark_of);
	memset(t, 0, sizeof(*t));
}

/* The leaf of a tree that takes a mark (the first in creation order). */
static int tree_leaf(const struct tree *t, uint32_t mark)
{
	if (!t->h || !mark)
		return -1;
	for (size_t i = 0; i < t->n; i++) {
		if (!htb_is_leaf(t->h, (int)i))
			continue;
		for (uint32_t *mk = t->marks[i]; *mk; mk++)
			if (*mk == mark)
				return (int)i;
	}
	return -1;
}

static int load_trees(struct qos *q, struct store *st, uint64_t now, char *err, size_t errlen)
{
	const struct menu *m = schema_find("/queue/tree");
	size_t nq = m ? store_count(st, m) : 0;
	struct tq *qs = xcalloc(nq ? nq : 1, sizeof(*qs));
	size_t k = 0;
	for (size_t i = 0; i < nq; i++) {
		const struct item *it = store_at(st, m, i);
		if (!disabled(m, it))
			qs[k++].it = it;
	}
	nq = k;
	/* parents: another queue by name, else global, else an interface */
	for (size_t i = 0; i < nq; i++) {
		const char *parent = item_get(m, qs[i].it, "parent");
		qs[i].parent = -1;
		qs[i].attach = -1;
		for (size_t j = 0; j < nq && parent; j++)
			if (j != i && !strcmp(item_get(m, qs[j].it, "name"), parent))
				qs[i].parent = (int)j;
		if (qs[i].parent < 0 && parent)
			qs[i].attach = !strcmp(parent, "global") ? 0
								 : (int)name_intern(NS_IFACE, parent);
	}
	/* children take their root's attachment */
	for (size_t i = 0; i < nq; i++) {
		int r = (int)i;
		size_t hops = 0;
		while (qs[r].parent >= 0 && hops++ < nq)
			r = qs[r].parent;
		if (hops > nq) {
			snprintf(err, errlen, "/queue tree: parent loop at %s", item_get(m, qs[i].it, "name"));
			free(qs);
			return -1;
		}
		qs[i].attach = qs[r].attach;
	}
	int rc = build_tree(q, st, &q->global, m, qs, nq, 0, 0, now, err, errlen);
	for (size_t i = 0; i < nq && rc == 0; i++) {
		int a = qs[i].attach;
		if (a <= 0 || a >= MAX_IFACES || q->iface[a].h)
			continue;
		rc = build_tree(q, st, &q->iface[a], m, qs, nq, a,
				iface_speed(st, name_of(NS_IFACE, (uint32_t)a)), now, err, errlen);
		if (a >= q->nif)
			q->nif = a + 1;
	}
	free(qs);
	return rc;
}

/* ---- simple queues ---- */

/* The value of a simple queue's property for one side: 0 upload, 1
 * download (the halves of an "upload/download" pair), 2 total (the
 * total-<name> property). */
static const char *sq_prop(const struct menu *m, const struct item *it, const char *name, int d,
			   char *buf, size_t n)
{
	if (d < 2)
		return side(item_get(m, it, name), d, buf, n);
	char tn[48];
	snprintf(tn, sizeof(tn), "total-%s", name);
	return item_get(m, it, tn);
}

/* The HTB class of one side of a simple queue. */
static void sq_class(struct qos *q, struct store *st, const struct menu *m,
		     const struct item *it, int d, int parent, struct htb_class_cfg *c)
{
	char a[64];
	c->id = it->id;
	c->parent = parent;
	c->limit_at = rate_of(sq_prop(m, it, "limit-at", d, a, sizeof(a)));
	c->max_limit = rate_of(sq_prop(m, it, "max-limit", d, a, sizeof(a)));
	const char *pr = sq_prop(m, it, "priority", d, a, sizeof(a));
	c->priority = (uint8_t)(pr ? atoi(pr) : 8);
	c->burst_limit = rate_of(sq_prop(m, it, "burst-limit", d, a, sizeof(a)));
	c->burst_threshold = rate_of(sq_prop(m, it, "burst-threshold", d, a, sizeof(a)));
	uint64_t ms = 0;
	const char *bt = sq_prop(m, it, "burst-time", d, a, sizeof(a));
	if (bt)
		parse_time_ms(bt, &ms);
	c->burst_time_ns = ms * 1000000ull;
	c->bucket_size_milli = bucket_milli(sq_prop(m, it, "bucket-size", d, a, sizeof(a)));
	leaf_queue(q, st, m, it, sq_prop(m, it, "queue", d, a, sizeof(a)), &c->queue);
}

/* A queue's total-* limit something (a total-queue alone shapes nothing). */
static bool sq_has_total(const struct htb_class_cfg *t)
{
	return t->limit_at || t->max_limit || t->burst_limit;
}

/*
 * Simple queues become three HTBs. Upload and download have the same shape:
 * one class per queue (parents first) and a "self" leaf for a queue with
 * children. The total HTB has one class per queue with the total-* limits,
 * under its parent's, and two leaves under it, the queue's own upload and
 * download (total-queue; total-max-limit and total-priority, so that
 * total-priority ranks it among its siblings). Traffic of a queue whose
 * total-* (or an ancestor's) limit something passes its direction's leaf,
 * then its leaf in the total HTB: one limit for both directions, which
 * share it evenly when both want more.
 */
static int load_simple(struct qos *q, struct store *st, uint64_t now, char *err, size_t errlen)
{
	const struct menu *m = schema_find("/queue/simple");
	size_t n = m ? store_count(st, m) : 0;
	if (!n)
		return 0;
	q->sq = xcalloc(n, sizeof(*q->sq));
	struct htb_class_cfg *cfg[3];
	for (int d = 0; d < 3; d++)
		cfg[d] = xcalloc(3 * n, sizeof(struct htb_class_cfg));
	int *cls = xmalloc(n * sizeof(int));
	int *par = xmalloc(n * sizeof(int));
	bool *has_child = xcalloc(n, sizeof(bool));
	bool *total = xcalloc(n, sizeof(bool));
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = item_get(m, store_at(st, m, i), "parent");
		par[i] = -1;
		for (size_t j = 0; j < n && p && strcmp(p, "none"); j++)
			if (!strcmp(item_get(m, store_at(st, m, j), "name"), p)) {
				has_child[j] = true;
				par[i] = (int)j;
			}
	}
	/* parents first: repeat passes until every queue is placed */
	size_t nc = 0;
	for (size_t i = 0; i < n; i++)
		cls[i] = -1;
	bool progress = true;
	while (progress) {
		progress = false;
		for (size_t i = 0; i < n; i++) {
			if (cls[i] >= 0 || (par[i] >= 0 && cls[par[i]] < 0))
				continue;
			int pc = par[i] >= 0 ? cls[par[i]] : -1;
			const struct item *it = store_at(st, m, i);
			for (int d = 0; d < 3; d++)
				sq_class(q, st, m, it, d, pc, &cfg[d][nc]);
			total[i] = sq_has_total(&cfg[2][nc]) || (par[i] >= 0 && total[par[i]]);
			cls[i] = (int)nc++;
			progress = true;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (cls[i] < 0) {
			snprintf(err, errlen, "/queue simple: parent loop at %s",
				 item_get(m, store_at(st, m, i), "name"));
			goto free_all;
		}
	}
	/* the self leaves of upload and download: no limits, priority 8;
	 * the two leaves of each queue in the total HTB */
	bool any_total = false;
	size_t nt = nc;
	for (size_t i = 0; i < n; i++) {
		struct simple *s = &q->sq[i];
		s->up_stat = s->down_stat = s->up_cls = s->down_cls = s->tot_stat = cls[i];
		if (has_child[i]) {
			for (int d = 0; d < 2; d++) {
				struct htb_class_cfg *c = &cfg[d][nc];
				*c = cfg[d][cls[i]];
				c->parent = cls[i];
				c->limit_at = c->max_limit = c->burst_limit = 0;
				c->priority = 8;
			}
			s->up_cls = s->down_cls = (int)nc++;
		}
		s->tot_up = s->tot_down = -1;
		if (!total[i])
			continue;
		any_total = true;
		for (int d = 0; d < 2; d++) {
			struct htb_class_cfg *c = &cfg[2][nt];
			*c = cfg[2][cls[i]];
			c->parent = cls[i];
			c->limit_at = c->burst_limit = 0;
			*(d ? &s->tot_down : &s->tot_up) = (int)nt++;
		}
	}
	q->sq_up = htb_new(cfg[0], nc, 0, now, err, errlen);
	q->sq_down = q->sq_up ? htb_new(cfg[1], nc, 0, now, err, errlen) : NULL;
	if (!q->sq_down)
		goto free_all;
	if (any_total && !(q->sq_total = htb_new(cfg[2], nt, 0, now, err, errlen)))
		goto free_all;
	q->nsq = n;
	/* targets, dst, marks */
	for (size_t i = 0; i < n; i++) {
		const struct item *it = store_at(st, m, i);
		struct simple *s = &q->sq[i];
		s->id = it->id;
		s->disabled = disabled(m, it);
		const char *tv = item_get(m, it, "target");
		char *copy = xstrdup(tv ? tv : ""), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			uint32_t a;
			int len;
			struct net6 n6;
			if (net6_of(t, &n6)) {
				s->nets6 = xrealloc(s->nets6, (s->nnets6 + 1) * sizeof(*s->nets6));
				s->nets6[s->nnets6++] = n6;
			} else if (parse_prefix4(t, &a, &len) == 0) {
				s->nets = xrealloc(s->nets, (s->nnets + 1) * sizeof(uint32_t));
				s->masks = xrealloc(s->masks, (s->nnets + 1) * sizeof(uint32_t));
				s->masks[s->nnets] = prefix4_mask(len);
				s->nets[s->nnets] = a & s->masks[s->nnets];
				s->nnets++;
			} else {
				s->ifs = xrealloc(s->ifs, (s->nifs + 1) * sizeof(uint16_t));
				s->ifs[s->nifs++] = (uint16_t)name_intern(NS_IFACE, t);
			}
		}
		free(copy);
		const char *dv = item_get(m, it, "dst");
		if (dv && *dv) {
			uint32_t a;
			int len;
			s->has_dst = true;
			if (net6_of(dv, &s->dst6)) {
				s->dst_is6 = true;
			} else if (parse_prefix4(dv, &a, &len) == 0) {
				s->dst_mask = prefix4_mask(len);
				s->dst_net = a & s->dst_mask;
			} else {
				s->dst_if = (uint16_t)name_intern(NS_IFACE, dv);
			}
		}
		s->marks = parse_marks(item_get(m, it, "packet-marks"), &s->nmarks);
		const char *tm = item_get(m, it, "time");
		s->has_time = tm && *tm && schedule_parse(tm, &s->time) == 0;
	}
	rc = 0;
free_all:
	for (int d = 0; d < 3; d++)
		free(cfg[d]);
	free(cls);
	free(par);
	free(has_child);
	free(total);
	return rc;
}

/* Is a in one of the target's IPv4 networks (IPv6: a6 in an IPv6 one)? */
static bool addr_in(const struct simple *s, uint32_t a)
{
	for (size_t i = 0; i < s->nnets; i++)
		if ((a & s->masks[i]) == s->nets[i])
			return true;
	return false;
}

static bool addr6_in(const struct simple *s, const uint8_t a6[16])
{
	for (size_t i = 0; i < s->nnets6; i++)
		if (net6_has(&s->nets6[i], a6))
			return true;
	return false;
}

static bool if_in(const struct simple *s, uint16_t ifid)
{
	for (size_t i = 0; i < s->nifs; i++)
		if (s->ifs[i] == ifid)
			return true;
	return false;
}

/* First matching simple queue, and the direction (0 up, 1 down). An IPv6
 * packet is matched by its own addresses (p), an IPv4 one by the meta's. */
static const struct simple *simple_match(const struct qos *q, const struct qpkt *p,
					 const struct qos_meta *m, uint8_t *dir)
{
	bool v6 = p->family == 6;
	for (size_t i = 0; i < q->nsq; i++) {
		const struct simple *s = &q->sq[i];
		if (s->disabled || (s->has_time && m->wall && !schedule_holds(&s->time, m->wall)))
			continue;
		if (s->nmarks) {
			bool hit = false;
			for (size_t k = 0; k < s->nmarks; k++)
				hit |= s->marks[k] == m->packet_mark;
			if (!hit)
				continue;
		}
		bool up = (v6 ? addr6_in(s, p->src6) : addr_in(s, m->src)) || if_in(s, m->in_if);
		bool down = (v6 ? addr6_in(s, p->dst6) : addr_in(s, m->dst)) || if_in(s, m->out_if);
		if (!s->nnets && !s->nnets6 && !s->nifs)
			up = down = true; /* no target: everything (RouterOS needs one) */
		if (s->has_dst) {
			bool dst_up, dst_down;
			if (s->dst_if) {
				dst_up = s->dst_if == m->out_if;
				dst_down = s->dst_if == m->in_if;
			} else if (v6) {
				dst_up = s->dst_is6 && net6_has(&s->dst6, p->dst6);
				dst_down = s->dst_is6 && net6_has(&s->dst6, p->src6);
			} else {
				dst_up = !s->dst_is6 && (m->dst & s->dst_mask) == s->dst_net;
				dst_down = !s->dst_is6 && (m->src & s->dst_mask) == s->dst_net;
			}
			up = up && dst_up;
			down = down && dst_down;
		}
		if (up || down) {
			*dir = up ? 0 : 1;
			return s;
		}
	}
	return NULL;
}

/* ---- build / free ---- */

struct qos *qos_build(struct store *st, uint64_t now, char *err, size_t errlen)
{
	struct qos *q = xcalloc(1, sizeof(*q));
	if (load_trees(q, st, now, err, errlen) < 0 || load_simple(q, st, now, err, errlen) < 0) {
		qos_free(q);
		return NULL;
	}
	if (q->nwarn)
		qsort(q->warn, q->nwarn, sizeof(*q->warn), cmp_str);
	return q;
}

static void fifo_free_all(struct fifo *f)
{
	/* the packets belong to the caller's pool: nothing to free here */
	f->head = f->tail = NULL;
	f->n = 0;
}

void qos_free(struct qos *q)
{
	if (!q)
		return;
	tree_free(&q->global);
	for (int i = 0; i < MAX_IFACES; i++) {
		tree_free(&q->iface[i]);
		fifo_free_all(&q->wire[i]);
		fifo_free_all(&q->direct[i]);
	}
	for (size_t i = 0; i < q->nsq; i++) {
		free(q->sq[i].nets);
		free(q->sq[i].nets6);
		free(q->sq[i].masks);
		free(q->sq[i].ifs);
		free(q->sq[i].marks);
	}
	free(q->sq);
	for (size_t i = 0; i < q->nwarn; i++)
		free(q->warn[i]);
	free(q->warn);
	htb_free(q->sq_up);
	htb_free(q->sq_down);
	htb_free(q->sq_total);
	free(q);
}

/* ---- the stages ---- */

/* Moves a packet that left one stage into the next it has. */
static void advance(struct qos *q, struct qpkt *p, uint64_t now, struct qpkt **dropped)
{
	for (;;) {
		p->stage++;
		if (p->stage == ST_SIMPLE && p->sq_leaf >= 0) {
			struct htb *h = p->sq_dir ? q->sq_down : q->sq_up;
			if (!htb_enqueue(h, p->sq_leaf, p, now, dropped))
				drop_list(dropped, p);
			return;
		}
		if (p->stage == ST_TOTAL && p->tot_leaf >= 0) {
			if (!htb_enqueue(q->sq_total, p->tot_leaf, p, now, dropped))
				drop_list(dropped, p);
			return;
		}
		if (p->stage == ST_IFACE && p->if_leaf >= 0) {
			if (!htb_enqueue(q->iface[p->out_if].h, p->if_leaf, p, now, dropped))
				drop_list(dropped, p);
			return;
		}
		if (p->stage == ST_IFACE && p->out_if < MAX_IFACES) {
			struct fifo *f = &q->direct[p->out_if];
			if (f->n >= FIFO_LIMIT)
				drop_list(dropped, p);
			else
				fifo_push(f, p);
			return;
		}
		if (p->stage >= ST_WIRE) {
			fifo_push(&q->wire[p->out_if], p);
			return;
		}
	}
}

/* Adds the packets a change dropped to the caller's drops. */
static void hand_left(struct qos *q, struct qpkt **dropped)
{
	if (!q->left)
		return;
	struct qpkt *t = q->left;
	while (t->next)
		t = t->next;
	t->next = *dropped;
	*dropped = q->left;
	q->left = NULL;
}

bool qos_enqueue(struct qos *q, struct qpkt *p, const struct qos_meta *m, uint64_t now,
		 struct qpkt **dropped)
{
	*dropped = NULL;
	if (m->out_if >= MAX_IFACES)
		return false;
	if (m->out_if >= q->nif)
		q->nif = m->out_if + 1;
	p->out_if = m->out_if;
	p->sq_leaf = p->tot_leaf = -1;
	p->if_leaf = tree_leaf(&q->iface[m->out_if], m->packet_mark);
	int gleaf = -1;
	if (!m->fasttrack) {
		gleaf = tree_leaf(&q->global, m->packet_mark);
		const struct simple *s = simple_match(q, p, m, &p->sq_dir);
		if (s) {
			p->sq_leaf = p->sq_dir ? s->down_cls : s->up_cls;
			p->tot_leaf = p->sq_dir ? s->tot_down : s->tot_up;
		}
	}
	p->stage = ST_GLOBAL;
	if (gleaf >= 0)
		return htb_enqueue(q->global.h, gleaf, p, now, dropped);
	advance(q, p, now, dropped);
	/* the packet itself in the dropped list: its queue was full */
	bool ok = true;
	for (struct qpkt **pp = dropped; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			p->next = NULL;
			ok = false;
			break;
		}
	hand_left(q, dropped);
	return ok;
}

bool qos_classifies(const struct qos *q, const struct qpkt *p, const struct qos_meta *m)
{
	if (m->out_if >= MAX_IFACES)
		return false;
	if (tree_leaf(&q->iface[m->out_if], m->packet_mark) >= 0)
		return true;
	uint8_t dir;
	return !m->fasttrack &&
	       (tree_leaf(&q->global, m->packet_mark) >= 0 || simple_match(q, p, m, &dir));
}

/* Lets every shared stage (global tree, simple queues) release what it may. */
static void pump(struct qos *q, uint64_t now, struct qpkt **dropped)
{
	struct htb *shared[] = { q->global.h, q->sq_up, q->sq_down, q->sq_total };
	for (size_t k = 0; k < sizeof(shared) / sizeof(shared[0]); k++) {
		if (!shared[k])
			continue;
		struct qpkt *p;
		while ((p = htb_dequeue(shared[k], now, dropped)))
			advance(q, p, now, dropped);
	}
	/* interface trees release into the wire queue of their interface */
}

struct qpkt *qos_dequeue(struct qos *q, uint16_t ifid, uint64_t now, struct qpkt **dropped)
{
	*dropped = NULL;
	hand_left(q, dropped);
	if (ifid >= MAX_IFACES)
		return NULL;
	pump(q, now, dropped);
	struct qpkt *p = fifo_pop(&q->wire[ifid]);
	if (p)
		return p;
	/* unclassified packets first (HTB's direct queue), then the tree */
	p = fifo_pop(&q->direct[ifid]);
	if (p)
		return p;
	if (q->iface[ifid].h)
		return htb_dequeue(q->iface[ifid].h, now, dropped);
	return NULL;
}

uint64_t qos_next_event(struct qos *q, uint64_t now)
{
	uint64_t t = UINT64_MAX;
	struct htb *shared[] = { q->global.h, q->sq_up, q->sq_down, q->sq_total };
	for (size_t k = 0; k < sizeof(shared) / sizeof(shared[0]); k++)
		if (shared[k]) {
			uint64_t e = htb_next_event(shared[k], now);
			if (e < t)
				t = e;
		}
	for (int i = 0; i < q->nif; i++) {
		if (q->wire[i].n || q->direct[i].n)
			return now;
		if (q->iface[i].h) {
			uint64_t e = htb_next_event(q->iface[i].h, now);
			if (e < t)
				t = e;
		}
	}
	return t;
}

size_t qos_busy_ifaces(struct qos *q, uint16_t *ids, size_t max)
{
	size_t n = 0;
	for (int i = 0; i < q->nif && n < max; i++)
		if (q->wire[i].n || q->direct[i].n ||
		    (q->iface[i].h && htb_next_event(q->iface[i].h, 0) != UINT64_MAX))
			ids[n++] = (uint16_t)i;
	/* packets still inside the shared stages will reach some interface:
	 * callers poll qos_next_event for those */
	return n;
}

/* Puts the packets of list l in front of *all. */
static void take_all(struct qpkt **all, struct qpkt *l)
{
	while (l) {
		struct qpkt *x = l;
		l = x->next;
		x->next = *all;
		*all = x;
	}
}

struct qpkt *qos_drain(struct qos *q, uint64_t now)
{
	struct qpkt *all = NULL;
	take_all(&all, q->left);
	q->left = NULL;
	/* far enough ahead that every shaper lets go; then a second more
	 * for every round that released nothing (a bucket refills) */
	uint64_t later = now + 3600 * 1000000000ull;
	for (int guard = 0; guard < 1000000; guard++) {
		struct qpkt *dropped = NULL, *x;
		pump(q, later, &dropped);
		take_all(&all, dropped);
		bool any = false;
		uint16_t ids[MAX_IFACES];
		size_t n = qos_busy_ifaces(q, ids, MAX_IFACES);
		for (size_t i = 0; i < n; i++) {
			while ((x = qos_dequeue(q, ids[i], later, &dropped))) {
				x->next = NULL;
				take_all(&all, x);
				take_all(&all, dropped);
				any = true;
			}
			take_all(&all, dropped);
		}
		if (!any && qos_next_event(q, later) == UINT64_MAX)
			break;
		if (!any)
			later += 1000000000ull;
	}
	return all;
}

/* ---- configuration changes ---- */

static bool tree_same(const struct tree *a, const struct tree *b)
{
	if (!a->h || !b->h)
		return !a->h && !b->h;
	return a->n == b->n && !memcmp(a->ids, b->ids, a->n * sizeof(*a->ids)) &&
	       htb_same_shape(a->h, b->h);
}

static bool htb_pair_same(const struct htb *a, const struct htb *b)
{
	return (!a && !b) || htb_same_shape(a, b);
}

/* The same queues in the same places: what qos_update can change in place. */
static bool qos_same_shape(const struct qos *a, const struct qos *b)
{
	if (!tree_same(&a->global, &b->global) || a->nsq != b->nsq ||
	    !htb_pair_same(a->sq_up, b->sq_up) || !htb_pair_same(a->sq_down, b->sq_down) ||
	    !htb_pair_same(a->sq_total, b->sq_total))
		return false;
	for (int i = 0; i < MAX_IFACES; i++)
		if (!tree_same(&a->iface[i], &b->iface[i]))
			return false;
	for (size_t i = 0; i < a->nsq; i++) {
		const struct simple *x = &a->sq[i], *y = &b->sq[i];
		if (x->id != y->id || x->up_cls != y->up_cls || x->down_cls != y->down_cls ||
		    x->up_stat != y->up_stat || x->down_stat != y->down_stat ||
		    x->tot_up != y->tot_up || x->tot_down != y->tot_down ||
		    x->tot_stat != y->tot_stat)
			return false;
	}
	return true;
}

#define SWAP(a, b)                      \
	do {                            \
		__typeof__(a) t_ = (a); \
		(a) = (b);              \
		(b) = t_;               \
	} while (0)

static void htb_pair_update(struct qos *q, struct htb *h, struct htb *from, uint64_t now)
{
	struct qpkt *d = NULL;
	if (h && htb_update(h, from, now, &d) == 0)
		take_all(&q->left, d);
}

bool qos_update(struct qos *q, struct qos *next, uint64_t now)
{
	if (!q || !next || !qos_same_shape(q, next))
		return false;
	htb_pair_update(q, q->global.h, next->global.h, now);
	SWAP(q->global.marks, next->global.marks);
	SWAP(q->global.mark_of, next->global.mark_of);
	for (int i = 0; i < MAX_IFACES; i++) {
		struct tree *t = &q->iface[i], *u = &next->iface[i];
		htb_pair_update(q, t->h, u->h, now);
		SWAP(t->marks, u->marks);
		SWAP(t->mark_of, u->mark_of);
	}
	htb_pair_update(q, q->sq_up, next->sq_up, now);
	htb_pair_update(q, q->sq_down, next->sq_down, now);
	htb_pair_update(q, q->sq_total, next->sq_total, now);
	/* targets, dst, marks, time, disabled: the class numbers are the same */
	SWAP(q->sq, next->sq);
	SWAP(q->warn, next->warn);
	SWAP(q->nwarn, next->nwarn);
	if (next->nif > q->nif)
		q->nif = next->nif;
	return true;
}

/* Where each class of a tree of `from` is in the same tree of `to` (by
 * store id; -1: gone, or no longer a leaf). */
static int *tree_map(const struct tree *from, const struct tree *to)
{
	if (!from->h)
		return NULL;
	int *map = xmalloc(from->n * sizeof(int));
	for (size_t i = 0; i < from->n; i++) {
		map[i] = -1;
		for (size_t j = 0; to->h && j < to->n; j++)
			if (to->ids[j] == from->ids[i] && htb_is_leaf(to->h, (int)j)) {
				map[i] = (int)j;
				break;
			}
	}
	return map;
}

struct carry {
	int *global, *iface[MAX_IFACES];
	int *up, *down, *tot;   /* simple queue classes: old -> new */
};

static int *sq_map(const struct qos *from, const struct qos *to, int which)
{
	struct htb *h = which == 0 ? from->sq_up : which == 1 ? from->sq_down : from->sq_total;
	size_t n = htb_nclasses(h);
	int *map = xmalloc((n ? n : 1) * sizeof(int));
	for (size_t i = 0; i < n; i++)
		map[i] = -1;
	for (size_t i = 0; i < from->nsq; i++) {
		const struct simple *s = &from->sq[i];
		for (size_t j = 0; j < to->nsq; j++) {
			const struct simple *t = &to->sq[j];
			if (t->id != s->id)
				continue;
			if (which == 0)
				map[s->up_cls] = t->up_cls;
			else if (which == 1)
				map[s->down_cls] = t->down_cls;
			else if (s->tot_up >= 0) {
				map[s->tot_up] = t->tot_up;
				map[s->tot_down] = t->tot_down;
			}
			break;
		}
	}
	return map;
}

static int remap(const int *map, int old)
{
	return old >= 0 && map ? map[old] : -1;
}

/* A packet of `from` at stage `stage` into the same place of `to`: its
 * later stages' classes renumbered, its own stage's leaf `leaf` (new). */
static void carry_place(struct qos *to, const struct carry *m, struct qpkt *p, int stage,
			int leaf, uint64_t now)
{
	struct qpkt *d = NULL;
	p->next = NULL;
	if (stage < ST_SIMPLE)
		p->sq_leaf = remap(p->sq_dir ? m->down : m->up, p->sq_leaf);
	if (stage < ST_TOTAL)
		p->tot_leaf = remap(m->tot, p->tot_leaf);
	if (stage < ST_IFACE)
		p->if_leaf = remap(m->iface[p->out_if], p->if_leaf);
	if (stage == ST_GLOBAL && leaf >= 0) {
		if (!htb_enqueue(to->global.h, leaf, p, now, &d))
			drop_list(&d, p);
	} else {
		if (stage == ST_SIMPLE)
			p->sq_leaf = leaf;
		else if (stage == ST_TOTAL)
			p->tot_leaf = leaf;
		else if (stage == ST_IFACE)
			p->if_leaf = leaf;
		/* advance() moves on from the stage before */
		p->stage = (uint8_t)(stage == ST_GLOBAL ? ST_GLOBAL : stage - 1);
		advance(to, p, now, &d);
	}
	take_all(&to->left, d);
}

static void carry_htb(struct qos *to, const struct carry *m, struct htb *h, const int *map,
		      int stage, uint64_t now)
{
	for (size_t i = 0; h && i < htb_nclasses(h); i++) {
		struct qpkt *l = htb_take_leaf(h, (int)i, now);
		while (l) {
			struct qpkt *p = l;
			l = p->next;
			carry_place(to, m, p, stage, remap(map, (int)i), now);
		}
	}
}

void qos_carry_packets(struct qos *to, struct qos *from, uint64_t now)
{
	if (!to || !from)
		return;
	struct carry m = { 0 };
	m.global = tree_map(&from->global, &to->global);
	for (int i = 0; i < from->nif; i++)
		m.iface[i] = tree_map(&from->iface[i], &to->iface[i]);
	m.up = sq_map(from, to, 0);
	m.down = sq_map(from, to, 1);
	m.tot = sq_map(from, to, 2);
	/* the stages nearest the wire first, so each interface keeps its order */
	for (int i = 0; i < from->nif; i++) {
		struct qpkt *p;
		while ((p = fifo_pop(&from->wire[i])))
			fifo_push(&to->wire[i], p);
		while ((p = fifo_pop(&from->direct[i])))
			fifo_push(&to->direct[i], p);
		carry_htb(to, &m, from->iface[i].h, m.iface[i], ST_IFACE, now);
	}
	if (from->nif > to->nif)
		to->nif = from->nif;
	carry_htb(to, &m, from->sq_total, m.tot, ST_TOTAL, now);
	carry_htb(to, &m, from->sq_up, m.up, ST_SIMPLE, now);
	carry_htb(to, &m, from->sq_down, m.down, ST_SIMPLE, now);
	carry_htb(to, &m, from->global.h, m.global, ST_GLOBAL, now);
	take_all(&to->left, from->left);
	from->left = NULL;
	free(m.global);
	for (int i = 0; i < MAX_IFACES; i++)
		free(m.iface[i]);
	free(m.up);
	free(m.down);
	free(m.tot);
}

struct qos *qos_apply(struct qos *q, struct store *st, uint64_t now, char *err, size_t errlen)
{
	struct qos *next = qos_build(st, now, err, errlen);
	if (!next)
		return NULL;
	qos_log_warnings(next, q);
	if (q && qos_update(q, next, now)) {
		qos_free(next);
		return q;
	}
	qos_carry_stats(next, q);
	qos_carry_packets(next, q, now);
	return next;
}

bool qos_reads(const uint64_t *changed, size_t nwords)
{
	for (size_t k = 0; k < schema_nmenus && k / 64 < nwords; k++) {
		if (!((changed[k / 64] >> (k % 64)) & 1))
			continue;
		const char *path = schema_menus[k]->path;
		if (!strncmp(path, "/queue/", 7) || !strncmp(path, "/interface", 10))
			return true;
	}
	return false;
}

/* ---- statistics ---- */

static bool tree_stats(const struct tree *t, uint32_t id, struct htb_stats *out)
{
	for (size_t i = 0; t->h && i < t->n; i++)
		if (t->ids[i] == id) {
			htb_stats(t->h, (int)i, out);
			return true;
		}
	return false;
}

bool qos_queue_stats(const struct qos *q, uint32_t queue_id, struct htb_stats *up,
		     struct htb_stats *down)
{
	memset(up, 0, sizeof(*up));
	if (down)
		memset(down, 0, sizeof(*down));
	if (tree_stats(&q->global, queue_id, up))
		return true;
	for (int i = 0; i < MAX_IFACES; i++)
		if (tree_stats(&q->iface[i], queue_id, up))
			return true;
	for (size_t i = 0; i < q->nsq; i++)
		if (q->sq[i].id == queue_id) {
			htb_stats(q->sq_up, q->sq[i].up_stat, up);
			if (down)
				htb_stats(q->sq_down, q->sq[i].down_stat, down);
			return true;
		}
	return false;
}

bool qos_queue_total_stats(const struct qos *q, uint32_t queue_id, struct htb_stats *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; i < q->nsq; i++)
		if (q->sq[i].id == queue_id && q->sq[i].tot_up >= 0) {
			htb_stats(q->sq_total, q->sq[i].tot_stat, out);
			return true;
		}
	return false;
}

static void tree_carry(struct tree *t, const struct qos *from)
{
	struct htb_stats st;
	for (size_t i = 0; t->h && i < t->n; i++)
		if (qos_queue_stats(from, t->ids[i], &st, NULL))
			htb_restore_stats(t->h, (int)i, &st);
}

void qos_carry_stats(struct qos *to, const struct qos *from)
{
	if (!to || !from)
		return;
	tree_carry(&to->global, from);
	for (int i = 0; i < MAX_IFACES; i++)
		tree_carry(&to->iface[i], from);
	for (size_t i = 0; i < to->nsq; i++) {
		const struct simple *s = &to->sq[i];
		struct htb_stats up, down, tot;
		if (!qos_queue_stats(from, s->id, &up, &down))
			continue;
		htb_restore_stats(to->sq_up, s->up_stat, &up);
		htb_restore_stats(to->sq_down, s->down_stat, &down);
		if (s->tot_up >= 0 && qos_queue_total_stats(from, s->id, &tot))
			htb_restore_stats(to->sq_total, s->tot_stat, &tot);
	}
}

static bool tree_reset(struct tree *t, uint32_t id)
{
	for (size_t i = 0; t->h && i < t->n; i++)
		if (t->ids[i] == id) {
			htb_reset_stats(t->h, (int)i);
			return true;
		}
	return false;
}

void qos_reset_counters(struct qos *q, uint32_t queue_id)
{
	if (!q || tree_reset(&q->global, queue_id))
		return;
	for (int i = 0; i < MAX_IFACES; i++)
		if (tree_reset(&q->iface[i], queue_id))
			return;
	for (size_t i = 0; i < q->nsq; i++)
		if (q->sq[i].id == queue_id) {
			htb_reset_stats(q->sq_up, q->sq[i].up_stat);
			htb_reset_stats(q->sq_down, q->sq[i].down_stat);
			if (q->sq[i].tot_up >= 0)
				htb_reset_stats(q->sq_total, q->sq[i].tot_stat);
			return;
		}
}

static void set_stat(const struct menu *m, struct item *it, const char *name, const char *v)
{
	int pi = schema_prop(m, name, NULL);
	if (pi >= 0 && (m->props[pi].flags & PF_STAT))
		item_set(m, it, pi, v);
}

void qos_export_stats(const struct qos *q, struct store *st)
{
	const char *menus[2] = { "/queue/tree", "/queue/simple" };
	for (int k = 0; k < 2; k++) {
		const struct menu *m = schema_find(menus[k]);
		for (size_t i = 0; m && i < store_count(st, m); i++) {
			struct item *it = store_at(st, m, i);
			struct htb_stats u, d;
			if (!qos_queue_stats(q, it->id, &u, &d))
				continue;
			char buf[64];
			struct sbuf r = SBUF_INIT;
#define PAIR(field, fmt_one)                                                        \
	do {                                                                        \
		if (k == 0)                                                         \
			snprintf(buf, sizeof(buf), "%llu", (unsigned long long)u.field); \
		else                                                                \
			snprintf(buf, sizeof(buf), "%llu/%llu", (unsigned long long)u.field, \
				 (unsigned long long)d.field);                       \
	} while (0)
			if (k == 0) {
				format_rate(u.rate_bps, &r);
			} else {
				format_rate(u.rate_bps, &r);
				sbuf_putc(&r, '/');
				format_rate(d.rate_bps, &r);
			}
			set_stat(m, it, "rate", sbuf_str(&r));
			sbuf_free(&r);
			PAIR(packet_rate, 0);
			set_stat(m, it, "packet-rate", buf);
			PAIR(queued_bytes, 0);
			set_stat(m, it, "queued-bytes", buf);
			PAIR(queued_packets, 0);
			set_stat(m, it, "queued-packets", buf);
			PAIR(dropped, 0);
			set_stat(m, it, "dropped", buf);
			PAIR(lends, 0);
			set_stat(m, it, "lends", buf);
			PAIR(borrows, 0);
			set_stat(m, it, "borrows", buf);
			if (k == 1) {
				PAIR(bytes, 0);
				set_stat(m, it, "bytes", buf);
				PAIR(packets, 0);
				set_stat(m, it, "packets", buf);
			}
#undef PAIR
			struct htb_stats t;
			if (k == 1 && qos_queue_total_stats(q, it->id, &t)) {
				format_rate(t.rate_bps, &r);
				set_stat(m, it, "total-rate", sbuf_str(&r));
				sbuf_free(&r);
				const struct { const char *name; uint64_t v; } tot[] = {
					{ "total-packet-rate", t.packet_rate },
					{ "total-queued-bytes", t.queued_bytes },
					{ "total-queued-packets", t.queued_packets },
					{ "total-bytes", t.bytes },
					{ "total-packets", t.packets },
					{ "total-dropped", t.dropped },
				};
				for (size_t j = 0; j < sizeof(tot) / sizeof(tot[0]); j++) {
					snprintf(buf, sizeof(buf), "%llu", (unsigned long long)tot[j].v);
					set_stat(m, it, tot[j].name, buf);
				}
			}
			it->bytes = u.bytes + (k ? d.bytes : 0);
			it->packets = u.packets + (k ? d.packets : 0);
		}
	}
}
