/*
 * The event loop, the links, the router and the measurements of netsim.
 *
 * A link is a FIFO in front of a transmitter: a packet is serialised at the
 * link's rate, then arrives at the far end after the link's delay. The
 * router's transmitters have no FIFO of their own when queues exist: they
 * pull from qos_dequeue each time they fall idle, and when the queues hold
 * packets back (HTB tokens) a wake-up event is set at qos_next_event.
 * Each hop adds its propagation and serialisation time to the packet's
 * `fixed`; what the packet spent beyond that at delivery is queueing delay.
 */
#include "netsim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "conf/runtime.h"
#include "engine/names.h"

#define MS_NS 1000000ull
#define S_NS 1000000000ull
#define POOL_CHUNK 1024
#define HOST_FIFO 1000  /* a host's NIC queue */
#define PORT_FIFO 1000  /* a router port's own queue when there are no queues */

static const char *const drop_names[NSD_MAX] = { "router", "queue", "modem", "isp", "host",
						 "pool", "route" };

const char *netsim_drop_name(enum netsim_drop d)
{
	return d < NSD_MAX ? drop_names[d] : "?";
}

enum ev_kind { E_LINK_DONE, E_AT_ROUTER, E_AT_LINK, E_AT_HOST, E_AT_SERVER, E_TIMER,
	       E_QOS_WAKE, E_SAMPLE, E_TICK, E_WARM };

struct event {
	uint64_t t, seq;
	uint32_t kind, a, b;
	struct tgen_pkt *p;
};

enum link_kind { LK_HOST, LK_ROUTER, LK_MODEM, LK_ISP };

struct link {
	uint8_t kind;
	bool pull;               /* router port fed by the queues */
	uint32_t idx;            /* host index, or interface index */
	uint16_t ifid;
	uint64_t rate, delay;
	uint32_t overhead;
	uint32_t limit_pkts;
	uint64_t limit_bytes;
	struct qpkt *head, *tail;
	uint32_t qn;
	uint64_t qbytes;
	struct tgen_pkt *tx;
	uint64_t bytes;          /* carried */
	uint64_t bin_bytes;      /* since the last sample */
	uint64_t max_qbytes;
	struct conf_if_stats st; /* a router port's, for /interface print stats */
};

struct netsim {
	const struct tgen_profile *prof;
	struct netsim_opts o;
	struct tgen *tg;
	uint64_t now, t0, end;
	uint64_t warm;           /* packets sent from here on are measured */
	/* events */
	struct event *heap;
	size_t nheap, capheap;
	uint64_t seq;
	/* packets */
	struct tgen_pkt **chunks;
	size_t nchunks;
	struct qpkt *free;
	uint64_t allocated, nfree;
	/* links: hosts, then router ports (one per profile interface), modem, ISP */
	struct link *links;
	size_t nlinks;
	size_t l_host, l_router, l_modem, l_isp;
	uint64_t wake_at;
	uint64_t spins;
	/* jitter: the previous delay per flow and direction, -1 = none */
	double *last_delay;
	size_t bin;
	uint64_t *qprev;         /* per queue, up and down: bytes at the last sample */
	/* what the counters held when the warm-up ended */
	struct tgen_app_stats app0[TGC_MAX];
	uint64_t wan0[2];
	struct netsim_queue_result *q0;
	struct netsim_results r;
	struct engine_out out;
};

/* ---- events ---- */

static inline bool ev_before(const struct event *a, const struct event *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void ev_push(struct netsim *ns, uint64_t t, uint32_t kind, uint32_t a, uint32_t b,
		    struct tgen_pkt *p)
{
	if (ns->nheap == ns->capheap) {
		ns->capheap = ns->capheap ? ns->capheap * 2 : 4096;
		ns->heap = xrealloc(ns->heap, ns->capheap * sizeof(*ns->heap));
	}
	struct event e = { t, ns->seq++, kind, a, b, p };
	size_t i = ns->nheap++;
	while (i) {
		size_t up = (i - 1) / 2;
		if (!ev_before(&e, &ns->heap[up]))
			break;
		ns->heap[i] = ns->heap[up];
		i = up;
	}
	ns->heap[i] = e;
}

static struct event ev_pop(struct netsim *ns)
{
	struct event top = ns->heap[0];
	struct event last = ns->heap[--ns->nheap];
	size_t i = 0, n = ns->nheap;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && ev_before(&ns->heap[c + 1], &ns->heap[c]))
			c++;
		if (!ev_before(&ns->heap[c], &last))
			break;
		ns->heap[i] = ns->heap[c];
		i = c;
	}
	if (n)
		ns->heap[i] = last;
	return top;
}

/* ---- packets ---- */

static struct tgen_pkt *pkt_alloc(struct netsim *ns)
{
	if (!ns->free) {
		if (ns->allocated + POOL_CHUNK > ns->o.pool_max)
			return NULL;
		struct tgen_pkt *c = xcalloc(POOL_CHUNK, sizeof(*c));
		ns->chunks = xrealloc(ns->chunks, (ns->nchunks + 1) * sizeof(*ns->chunks));
		ns->chunks[ns->nchunks++] = c;
		for (size_t i = 0; i < POOL_CHUNK; i++) {
			c[i].q.next = ns->free;
			ns->free = &c[i].q;
		}
		ns->allocated += POOL_CHUNK;
		ns->nfree += POOL_CHUNK;
	}
	struct tgen_pkt *p = (struct tgen_pkt *)ns->free;
	ns->free = p->q.next;
	ns->nfree--;
	p->q.next = NULL;
	return p;
}

static void pkt_free(struct netsim *ns, struct tgen_pkt *p)
{
	p->q.next = ns->free;
	ns->free = &p->q;
	ns->nfree++;
}

static inline bool measured(const struct netsim *ns, const struct tgen_pkt *p)
{
	return p->sent >= ns->warm;
}

static struct link *router_port(struct netsim *ns, uint32_t iface);

/* The router port a packet leaves by: the WAN upstream, its host's
 * interface downstream. */
static uint32_t out_port(const struct netsim *ns, const struct tgen_pkt *p)
{
	return p->dir == TG_UP ? 0 : ns->prof->hosts[ns->prof->flows[p->flow].host].iface;
}

static void drop(struct netsim *ns, struct tgen_pkt *p, enum netsim_drop where)
{
	/* a queue drops at the port the packet was for, as a NIC's counters say */
	if (where == NSD_QUEUE)
		router_port(ns, out_port(ns, p))->st.tx_queue_drops++;
	if (measured(ns, p)) {
		ns->r.drops[where]++;
		ns->r.cls[p->cls][p->dir].dropped++;
	}
	pkt_free(ns, p);
}

static void drop_list(struct netsim *ns, struct qpkt *l, enum netsim_drop where)
{
	while (l) {
		struct qpkt *n = l->next;
		drop(ns, (struct tgen_pkt *)l->frame, where);
		l = n;
	}
}

/* ---- links ---- */

static uint64_t ser_ns(const struct link *l, uint32_t len)
{
	return ((uint64_t)(len + l->overhead) * 8 * S_NS + l->rate - 1) / l->rate;
}

static void link_start(struct netsim *ns, struct link *l, struct tgen_pkt *p)
{
	uint64_t s = ser_ns(l, p->len);
	l->tx = p;
	p->fixed += s + l->delay;
	ev_push(ns, ns->now + s, E_LINK_DONE, (uint32_t)(l - ns->links), 0, NULL);
}

static void link_enqueue(struct netsim *ns, struct link *l, struct tgen_pkt *p,
			 enum netsim_drop site)
{
	if (!l->tx && !l->qn) {
		link_start(ns, l, p);
		return;
	}
	if ((l->limit_pkts && l->qn >= l->limit_pkts) ||
	    (l->limit_bytes && l->qbytes + p->len > l->limit_bytes)) {
		drop(ns, p, site);
		return;
	}
	p->q.next = NULL;
	if (l->tail)
		l->tail->next = &p->q;
	else
		l->head = &p->q;
	l->tail = &p->q;
	l->qn++;
	l->qbytes += p->len;
	if (l->qbytes > l->max_qbytes)
		l->max_qbytes = l->qbytes;
}

static struct tgen_pkt *link_pop(struct link *l)
{
	struct qpkt *q = l->head;
	if (!q)
		return NULL;
	l->head = q->next;
	if (!l->head)
		l->tail = NULL;
	l->qn--;
	l->qbytes -= ((struct tgen_pkt *)q->frame)->len;
	q->next = NULL;
	return q->frame;
}

static struct link *router_port(struct netsim *ns, uint32_t iface)
{
	return &ns->links[ns->l_router + iface];
}

/* Pulls the next packet from the queues into every idle router port; sets
 * a wake-up when the queues hold packets back. */
static void router_kick(struct netsim *ns)
{
	if (!ns->o.qos)
		return;
	bool idle = false, busy = false;
	for (size_t i = 0; i < ns->prof->nifaces; i++) {
		struct link *l = router_port(ns, (uint32_t)i);
		if (l->tx) {
			busy = true;
			continue;
		}
		struct qpkt *dropped = NULL;
		struct qpkt *q = qos_dequeue(ns->o.qos, l->ifid, ns->now, &dropped);
		drop_list(ns, dropped, NSD_QUEUE);
		if (q) {
			link_start(ns, l, q->frame);
			busy = true;
		} else {
			idle = true;
		}
	}
	if (!idle)
		return;
	uint64_t t = qos_next_event(ns->o.qos, ns->now);
	if (t == UINT64_MAX)
		return;
	if (t <= ns->now) {
		/* ready packets belong to a busy port, which pulls when done;
		 * if none is busy the queues are inconsistent: retry shortly */
		if (busy || ns->spins > 1000000)
			return;
		ns->spins++;
		t = ns->now + 1000;
	}
	if (t < ns->wake_at) {
		ns->wake_at = t;
		ev_push(ns, t, E_QOS_WAKE, 0, 0, NULL);
	}
}

/* ---- the router ---- */

static int iface_index(const struct netsim *ns, uint16_t ifid)
{
	for (size_t i = 0; i < ns->prof->nifaces; i++)
		if (ns->prof->ifaces[i].ifid == ifid)
			return (int)i;
	return -1;
}

static void router_forward(struct netsim *ns, struct tgen_pkt *p, int oi,
			   const struct qos_meta *m)
{
	/* a packet must leave towards its own end: upstream to the WAN,
	 * downstream to its host's interface */
	if (oi < 0 || (uint32_t)oi != out_port(ns, p)) {
		drop(ns, p, NSD_ROUTE);
		return;
	}
	struct link *l = router_port(ns, (uint32_t)oi);
	if (!ns->o.qos) {
		link_enqueue(ns, l, p, NSD_QUEUE);
		return;
	}
	struct qpkt *dropped = NULL;
	bool ok = qos_enqueue(ns->o.qos, &p->q, m, ns->now, &dropped);
	drop_list(ns, dropped, NSD_QUEUE);
	if (!ok)
		drop(ns, p, NSD_QUEUE);
	router_kick(ns);
}

static void router_input(struct netsim *ns, struct tgen_pkt *p, uint32_t iface)
{
	uint16_t in_if = ns->prof->ifaces[iface].ifid;
	struct qos_meta m = { 0 };
	struct conf_if_stats *st = &router_port(ns, iface)->st;
	st->rx_packets++;
	st->rx_bytes += p->len;
	if (!ns->o.en) {
		m.in_if = in_if;
		m.out_if = ns->prof->ifaces[out_port(ns, p)].ifid;
		m.src = p->q.src;
		m.dst = p->q.dst;
		router_forward(ns, p, iface_index(ns, m.out_if), &m);
		return;
	}
	struct pkt pk = { .data = p->data, .len = p->len, .cap = TG_FRAME_MAX };
	struct engine_out *out = &ns->out;
	engine_input(ns->o.en, &pk, in_if, ns->now, out);
	if (out->verdict != EV_FORWARD) {
		if ((out->verdict == EV_DROP || out->verdict == EV_REJECT) && measured(ns, p))
			ns->r.router_drops[out->reason < DR_MAX ? out->reason : DR_NONE]++;
		drop(ns, p, out->verdict == EV_LOCAL ? NSD_ROUTE : NSD_ROUTER);
		return;
	}
	if (pk.family == 6) {
		p->q.family = 6;
		memcpy(p->q.src6, pk.src.v6, 16);
		memcpy(p->q.dst6, pk.dst.v6, 16);
	} else {
		p->q.family = 4;
		p->q.src = pk.src.v4;
		p->q.dst = pk.dst.v4;
	}
	p->q.sport = pk.sport;
	p->q.dport = pk.dport;
	p->q.dscp = pk.dscp;
	m.packet_mark = pk.packet_mark;
	m.in_if = in_if;
	m.out_if = out->out_if;
	m.src = p->q.src;
	m.dst = p->q.dst;
	/* the queues see a connection's addresses as the LAN knows them: a simple
	 * queue's target is a LAN host, which masquerade hides after srcnat */
	if (pk.ct && pk.family == 4) {
		const struct ct_entry *c = pk.ct;
		m.src = pk.ct_dir == 0 ? c->t[0].src : c->t[0].dst;
		m.dst = pk.ct_dir == 0 ? c->t[0].dst : c->t[0].src;
	}
	m.fasttrack = out->fasttrack;
	router_forward(ns, p, iface_index(ns, out->out_if), &m);
}

/* ---- measurements ---- */

static void deliver(struct netsim *ns, struct tgen_pkt *p)
{
	struct netsim_dir_stats *d = &ns->r.cls[p->cls][p->dir];
	uint64_t delay = ns->now - p->sent;
	uint64_t q = delay > p->fixed ? delay - p->fixed : 0;
	if (ns->bin < ns->r.nbins)
		ns->r.cls_rate[p->cls][p->dir][ns->bin] += (float)(p->len * 8);
	if (p->iso) {
		double *last = &ns->last_delay[(size_t)p->flow * 2 + p->dir];
		double now_us = (double)delay / 1000.0;
		if (*last >= 0 && measured(ns, p)) {
			d->jitter_sum_us += fabs(now_us - *last);
			d->jitter_n++;
			d->iso = true;
		}
		*last = now_us;
	}
	if (!measured(ns, p))
		return;
	d->delivered++;
	d->delivered_bytes += p->len;
	if (ns->o.live)
		return;
	if (d->ndelay == d->capdelay) {
		d->capdelay = d->capdelay ? d->capdelay * 2 : 1024;
		d->delay_us = xrealloc(d->delay_us, d->capdelay * sizeof(*d->delay_us));
	}
	float qus = (float)((double)q / 1000.0);
	d->delay_us[d->ndelay++] = qus;
	d->delay_sum_us += qus;
}

static void sample(struct netsim *ns)
{
	struct netsim_results *r = &ns->r;
	size_t b = ns->bin;
	if (b >= r->nbins)
		return;
	double secs = (double)r->sample / 1e9;
	for (int c = 0; c < TGC_MAX; c++)
		for (int d = 0; d < 2; d++)
			r->cls_rate[c][d][b] = (float)(r->cls_rate[c][d][b] / secs);
	struct link *lk[2] = { &ns->links[ns->l_modem], &ns->links[ns->l_isp] };
	for (int d = 0; d < 2; d++) {
		r->wan_rate[d][b] = (float)((double)lk[d]->bin_bytes * 8 / secs);
		lk[d]->bin_bytes = 0;
		r->wan_queue_ms[d][b] =
			(float)((double)lk[d]->qbytes * 8 * 1e3 / (double)lk[d]->rate);
	}
	for (size_t i = 0; ns->o.qos && i < ns->o.nqueues; i++) {
		struct htb_stats up, down;
		struct netsim_queue_result *qr = &r->queues[i];
		if (!qos_queue_stats(ns->o.qos, ns->o.queues[i].id, &up, &down))
			continue;
		qr->rate_up[b] = (float)((double)(up.bytes - ns->qprev[2 * i]) * 8 / secs);
		qr->rate_down[b] = (float)((double)(down.bytes - ns->qprev[2 * i + 1]) * 8 / secs);
		qr->queued[b] = (float)(up.queued_packets + down.queued_packets);
		ns->qprev[2 * i] = up.bytes;
		ns->qprev[2 * i + 1] = down.bytes;
	}
	ns->bin++;
}

/* ---- the generator's side ---- */

static struct tgen_pkt *io_alloc(void *ctx)
{
	return pkt_alloc(ctx);
}

static void io_release(void *ctx, struct tgen_pkt *p)
{
	pkt_free(ctx, p);
}

static void io_send(void *ctx, struct tgen_pkt *p, uint64_t now)
{
	struct netsim *ns = ctx;
	struct netsim_dir_stats *d = &ns->r.cls[p->cls][p->dir];
	if (now >= ns->warm) {
		d->sent++;
		d->sent_bytes += p->len;
	}
	p->sent = now;
	p->fixed = 0;
	if (p->dir == TG_UP) {
		const struct tgen_flow_cfg *f = &ns->prof->flows[p->flow];
		link_enqueue(ns, &ns->links[ns->l_host + f->host], p, NSD_HOST);
	} else {
		uint64_t half = ns->prof->wan.rtt / 2;
		p->fixed += half;
		ev_push(ns, now + half, E_AT_LINK, (uint32_t)ns->l_isp, 0, p);
	}
}

static void io_timer(void *ctx, uint32_t flow, uint32_t kind, uint64_t at)
{
	struct netsim *ns = ctx;
	ev_push(ns, at, E_TIMER, flow, kind, NULL);
}

static void io_lost(void *ctx, enum tgen_class cls, enum tgen_dir dir)
{
	struct netsim *ns = ctx;
	if (ns->now < ns->warm)
		return;
	ns->r.cls[cls][dir].sent++;
	ns->r.cls[cls][dir].dropped++;
	ns->r.drops[NSD_POOL]++;
}

/* ---- set-up ---- */

struct netsim *netsim_new(const struct tgen_profile *prof, const struct netsim_opts *o)
{
	struct netsim *ns = xcalloc(1, sizeof(*ns));
	ns->prof = prof;
	ns->o = *o;
	if (!ns->o.sample)
		ns->o.sample = 100 * MS_NS;
	if (!ns->o.pool_max)
		ns->o.pool_max = 65536;
	ns->t0 = NETSIM_T0;
	ns->now = ns->t0;
	ns->end = o->live ? UINT64_MAX : ns->t0 + o->duration;
	uint64_t warmup = prof->warmup < o->duration ? prof->warmup : 0;
	ns->warm = ns->t0 + warmup;
	ns->wake_at = UINT64_MAX;

	ns->nlinks = prof->nhosts + prof->nifaces + 2;
	ns->links = xcalloc(ns->nlinks, sizeof(*ns->links));
	ns->l_host = 0;
	ns->l_router = prof->nhosts;
	ns->l_modem = ns->l_router + prof->nifaces;
	ns->l_isp = ns->l_modem + 1;
	for (size_t h = 0; h < prof->nhosts; h++) {
		struct link *l = &ns->links[ns->l_host + h];
		const struct tgen_iface *f = &prof->ifaces[prof->hosts[h].iface];
		l->kind = LK_HOST;
		l->idx = (uint32_t)h;
		l->rate = f->rate;
		l->delay = f->delay;
		l->limit_pkts = HOST_FIFO;
	}
	for (size_t i = 0; i < prof->nifaces; i++) {
		struct link *l = router_port(ns, (uint32_t)i);
		l->kind = LK_ROUTER;
		l->idx = (uint32_t)i;
		l->ifid = prof->ifaces[i].ifid;
		l->rate = prof->ifaces[i].rate;
		l->delay = prof->ifaces[i].delay;
		l->pull = o->qos != NULL;
		l->limit_pkts = PORT_FIFO;
	}
	const struct tgen_wan *w = &prof->wan;
	struct link *m = &ns->links[ns->l_modem], *isp = &ns->links[ns->l_isp];
	m->kind = LK_MODEM;
	m->rate = w->up;
	m->delay = w->rtt / 2;
	m->overhead = w->overhead;
	m->limit_pkts = w->up_buf_pkts;
	m->limit_bytes = w->up_buf_bytes;
	isp->kind = LK_ISP;
	isp->rate = w->down;
	isp->delay = w->port_delay;
	isp->overhead = w->overhead;
	isp->limit_pkts = w->down_buf_pkts;
	isp->limit_bytes = w->down_buf_bytes;

	struct netsim_results *r = &ns->r;
	r->duration = o->duration;
	r->warmup = warmup;
	r->measured = o->duration - warmup;
	r->sample = ns->o.sample;
	r->nbins = o->live ? 1 : (size_t)((o->duration + ns->o.sample - 1) / ns->o.sample);
	if (!r->nbins)
		r->nbins = 1;
	for (int c = 0; c < TGC_MAX; c++)
		for (int d = 0; d < 2; d++)
			r->cls_rate[c][d] = xcalloc(r->nbins, sizeof(float));
	for (int d = 0; d < 2; d++) {
		r->wan_rate[d] = xcalloc(r->nbins, sizeof(float));
		r->wan_queue_ms[d] = xcalloc(r->nbins, sizeof(float));
	}
	r->nqueues = o->nqueues;
	r->queues = xcalloc(o->nqueues ? o->nqueues : 1, sizeof(*r->queues));
	for (size_t i = 0; i < o->nqueues; i++) {
		r->queues[i].rate_up = xcalloc(r->nbins, sizeof(float));
		r->queues[i].rate_down = xcalloc(r->nbins, sizeof(float));
		r->queues[i].queued = xcalloc(r->nbins, sizeof(float));
	}
	ns->qprev = xcalloc(2 * (o->nqueues ? o->nqueues : 1), sizeof(*ns->qprev));
	ns->q0 = xcalloc(o->nqueues ? o->nqueues : 1, sizeof(*ns->q0));
	for (size_t i = 0; i < prof->nflows; i++)
		r->active[prof->flows[i].kind] = true;
	ns->last_delay = xmalloc(2 * (prof->nflows ? prof->nflows : 1) * sizeof(double));
	for (size_t i = 0; i < 2 * prof->nflows; i++)
		ns->last_delay[i] = -1;

	struct tgen_io io = { ns, io_alloc, io_send, io_timer, io_lost, io_release };
	ns->tg = tgen_new(prof, o->seed, &io, ns->t0);
	return ns;
}

void netsim_free(struct netsim *ns)
{
	if (!ns)
		return;
	tgen_free(ns->tg);
	struct netsim_results *r = &ns->r;
	for (int c = 0; c < TGC_MAX; c++)
		for (int d = 0; d < 2; d++) {
			free(r->cls[c][d].delay_us);
			free(r->cls_rate[c][d]);
		}
	for (int d = 0; d < 2; d++) {
		free(r->wan_rate[d]);
		free(r->wan_queue_ms[d]);
	}
	for (size_t i = 0; i < r->nqueues; i++) {
		free(r->queues[i].rate_up);
		free(r->queues[i].rate_down);
		free(r->queues[i].queued);
	}
	free(r->queues);
	free(ns->qprev);
	free(ns->q0);
	free(ns->last_delay);
	for (size_t i = 0; i < ns->nchunks; i++)
		free(ns->chunks[i]);
	free(ns->chunks);
	free(ns->links);
	free(ns->heap);
	free(ns);
}

/* ---- the run ---- */

/* The end of the warm-up: what the counters hold now is left out. */
static void warm_snapshot(struct netsim *ns)
{
	for (int c = 0; c < TGC_MAX; c++)
		ns->app0[c] = *tgen_app_stats(ns->tg, (enum tgen_class)c);
	ns->wan0[0] = ns->r.wan_bytes[0];
	ns->wan0[1] = ns->r.wan_bytes[1];
	ns->links[ns->l_modem].max_qbytes = ns->links[ns->l_modem].qbytes;
	ns->links[ns->l_isp].max_qbytes = ns->links[ns->l_isp].qbytes;
	for (size_t i = 0; ns->o.qos && i < ns->o.nqueues; i++)
		qos_queue_stats(ns->o.qos, ns->o.queues[i].id, &ns->q0[i].up, &ns->q0[i].down);
}

static void stats_sub(struct htb_stats *s, const struct htb_stats *s0)
{
	s->bytes -= s0->bytes;
	s->packets -= s0->packets;
	s->dropped -= s0->dropped;
	s->lends -= s0->lends;
	s->borrows -= s0->borrows;
}

static void app_sub(struct tgen_app_stats *a, const struct tgen_app_stats *a0)
{
	a->goodput_bytes[0] -= a0->goodput_bytes[0];
	a->goodput_bytes[1] -= a0->goodput_bytes[1];
	a->transfers -= a0->transfers;
	a->transfer_ns_sum -= a0->transfer_ns_sum;
	a->connections -= a0->connections;
	a->retransmits -= a0->retransmits;
	a->timeouts -= a0->timeouts;
	a->fast_retransmits -= a0->fast_retransmits;
	a->stalls -= a0->stalls;
}

static int float_cmp(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return x < y ? -1 : x > y;
}

static void link_done(struct netsim *ns, struct link *l)
{
	struct tgen_pkt *p = l->tx;
	l->tx = NULL;
	l->bytes += p->len;
	l->bin_bytes += p->len;
	uint64_t at = ns->now + l->delay;
	switch (l->kind) {
	case LK_HOST:
		ev_push(ns, at, E_AT_ROUTER, ns->prof->hosts[l->idx].iface, 0, p);
		break;
	case LK_ROUTER:
		l->st.tx_packets++;
		l->st.tx_bytes += p->len;
		if (l->idx == 0)
			ev_push(ns, at, E_AT_LINK, (uint32_t)ns->l_modem, 0, p);
		else
			ev_push(ns, at, E_AT_HOST, 0, 0, p);
		break;
	case LK_MODEM:
		ns->r.wan_bytes[TG_UP] += p->len;
		ev_push(ns, at, E_AT_SERVER, 0, 0, p);
		break;
	case LK_ISP:
		ns->r.wan_bytes[TG_DOWN] += p->len;
		ev_push(ns, at, E_AT_ROUTER, 0, 0, p);
		break;
	}
	if (l->pull) {
		router_kick(ns);
	} else {
		struct tgen_pkt *n = link_pop(l);
		if (n)
			link_start(ns, l, n);
	}
}

void netsim_start(struct netsim *ns)
{
	/* first in the heap: at equal times it runs before the flows */
	if (ns->warm > ns->t0)
		ev_push(ns, ns->warm, E_WARM, 0, 0, NULL);
	tgen_start(ns->tg, ns->now);
	if (!ns->o.live)
		ev_push(ns, ns->t0 + ns->o.sample, E_SAMPLE, 0, 0, NULL);
	ev_push(ns, ns->t0 + S_NS, E_TICK, 0, 0, NULL);
}

int netsim_if_stats(const struct netsim *ns, const char *name, struct conf_if_stats *out)
{
	for (size_t i = 0; i < ns->prof->nifaces; i++)
		if (!strcmp(ns->prof->ifaces[i].name, name)) {
			*out = ns->links[ns->l_router + i].st;
			return 0;
		}
	return -1;
}

uint64_t netsim_now(const struct netsim *ns)
{
	return ns->now;
}

void netsim_set_router(struct netsim *ns, struct engine *en, struct qos *q)
{
	/* what the old queues hold goes back to the pool, as drops */
	if (ns->o.qos && ns->o.qos != q)
		drop_list(ns, qos_drain(ns->o.qos, ns->now), NSD_QUEUE);
	ns->o.en = en;
	ns->o.qos = q;
	for (size_t i = 0; i < ns->prof->nifaces; i++)
		router_port(ns, (uint32_t)i)->pull = q != NULL;
	router_kick(ns);
}

void netsim_advance(struct netsim *ns, uint64_t until)
{
	/* the next event stays in the heap when it is later than until (or than
	 * the end: then it counts as in flight) */
	while (ns->nheap && ns->heap[0].t <= until && ns->heap[0].t <= ns->end) {
		struct event e = ev_pop(ns);
		ns->now = e.t;
		ns->r.events++;
		switch (e.kind) {
		case E_LINK_DONE:
			link_done(ns, &ns->links[e.a]);
			break;
		case E_AT_ROUTER:
			router_input(ns, e.p, e.a);
			break;
		case E_AT_LINK: {
			struct link *l = &ns->links[e.a];
			if (l->kind == LK_ISP)
				link_enqueue(ns, l, e.p, NSD_ISP);
			else
				link_enqueue(ns, l, e.p, NSD_MODEM);
			break;
		}
		case E_AT_HOST:
		case E_AT_SERVER:
			deliver(ns, e.p);
			tgen_receive(ns->tg, e.p, ns->now);
			pkt_free(ns, e.p);
			break;
		case E_TIMER:
			tgen_timer(ns->tg, e.a, e.b, ns->now);
			break;
		case E_QOS_WAKE:
			if (ns->now >= ns->wake_at)
				ns->wake_at = UINT64_MAX;
			router_kick(ns);
			break;
		case E_SAMPLE:
			sample(ns);
			ev_push(ns, ns->now + ns->o.sample, E_SAMPLE, 0, 0, NULL);
			break;
		case E_WARM:
			warm_snapshot(ns);
			break;
		case E_TICK:
			if (ns->o.en)
				engine_tick(ns->o.en, ns->now);
			ev_push(ns, ns->now + S_NS, E_TICK, 0, 0, NULL);
			break;
		}
	}
}

void netsim_run(struct netsim *ns)
{
	netsim_start(ns);
	netsim_advance(ns, ns->end);
	while (ns->bin < ns->r.nbins)
		sample(ns);
	struct netsim_results *r = &ns->r;
	r->in_flight = ns->allocated - ns->nfree;
	for (int d = 0; d < 2; d++) {
		const struct link *l = &ns->links[d ? ns->l_isp : ns->l_modem];
		r->wan_max_queue_ms[d] = (double)l->max_qbytes * 8 * 1e3 / (double)l->rate;
	}
	for (int c = 0; c < TGC_MAX; c++) {
		r->app[c] = *tgen_app_stats(ns->tg, (enum tgen_class)c);
		app_sub(&r->app[c], &ns->app0[c]);
		for (int d = 0; d < 2; d++)
			if (r->cls[c][d].ndelay > 1)
				qsort(r->cls[c][d].delay_us, r->cls[c][d].ndelay, sizeof(float),
				      float_cmp);
	}
	for (size_t i = 0; ns->o.qos && i < ns->o.nqueues; i++) {
		qos_queue_stats(ns->o.qos, ns->o.queues[i].id, &r->queues[i].up,
				&r->queues[i].down);
		stats_sub(&r->queues[i].up, &ns->q0[i].up);
		stats_sub(&r->queues[i].down, &ns->q0[i].down);
	}
	r->wan_bytes[0] -= ns->wan0[0];
	r->wan_bytes[1] -= ns->wan0[1];
}

const struct netsim_results *netsim_results(const struct netsim *ns)
{
	return &ns->r;
}

double netsim_delay_quantile_ms(const struct netsim_dir_stats *d, double q)
{
	if (!d->ndelay)
		return 0;
	size_t i = (size_t)ceil(q * (double)d->ndelay);
	if (i < 1)
		i = 1;
	if (i > d->ndelay)
		i = d->ndelay;
	return d->delay_us[i - 1] / 1000.0;
}

double netsim_jitter_ms(const struct netsim_dir_stats *d)
{
	return d->jitter_n ? d->jitter_sum_us / (double)d->jitter_n / 1000.0 : 0;
}

double netsim_loss(const struct netsim_dir_stats *d)
{
	return d->sent ? (double)d->dropped / (double)d->sent : 0;
}
