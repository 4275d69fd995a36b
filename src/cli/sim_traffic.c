/*
 * rosfw sim --traffic: a traffic profile (src/sim/tgen.h) run through a
 * configuration's firewall and queues on the simulated network
 * (src/sim/netsim.h), with a report per flow class, per queue and for the
 * WAN line as text, JSON or one self-contained HTML page with SVG plots.
 * --compare runs the same traffic, same seed, through a second
 * configuration and shows both side by side.
 */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine/engine.h"
#include "engine/names.h"
#include "qos/qos.h"
#include "sim/netsim.h"
#include "sim/tgen.h"

#define MAX_QUEUES 256

/* ---- loading a configuration ----
 * A copy of offline.c's offline_open (private in-memory store, the .rsc
 * scripts imported in order, the named interfaces created as virtual
 * ones), except that an existing store (--db) is left as it was. To be
 * shared once offline_open moves out of offline.c. */

/* The queues of the configuration, trees first, in menu order. */
static size_t list_queues(struct store *st, struct netsim_queue *q, size_t max)
{
	static const char *const menus[] = { "/queue/tree", "/queue/simple" };
	size_t n = 0;
	for (size_t k = 0; k < 2; k++) {
		const struct menu *m = schema_find(menus[k]);
		for (size_t i = 0; m && i < store_count(st, m) && n < max; i++) {
			const struct item *it = store_at(st, m, i);
			const char *name = item_get(m, it, "name");
			q[n].id = it->id;
			snprintf(q[n].name, sizeof(q[n].name), "%s", name ? name : "?");
			q[n].simple = k == 1;
			n++;
		}
	}
	return n;
}

/* ---- one run ---- */

struct run {
	char label[400];           /* the configuration files, joined with " + " */
	const char *short_label;   /* "A" or "B" */
	struct cli_loaded cfg;
	struct netsim_queue queues[MAX_QUEUES];
	size_t nqueues;
	struct netsim *ns;
	const struct netsim_results *r;
};

static int run_one(struct run *rn, const char *const *configs, size_t n, const char *db,
		   bool lenient, const struct tgen_profile *prof, uint64_t duration, uint64_t seed)
{
	rn->label[0] = 0;
	for (size_t i = 0; i < n; i++)
		snprintf(rn->label + strlen(rn->label), sizeof(rn->label) - strlen(rn->label),
			 "%s%s", i ? " + " : "", configs[i]);
	if (!n)
		snprintf(rn->label, sizeof(rn->label), "%s", db);
	const char **names = xmalloc((prof->nifaces ? prof->nifaces : 1) * sizeof(char *));
	for (size_t i = 0; i < prof->nifaces; i++)
		names[i] = prof->ifaces[i].name;
	int rc = cli_load(&rn->cfg, configs, n, db, lenient, names, prof->nifaces, true);
	free(names);
	if (rc < 0)
		return -1;
	rn->nqueues = list_queues(rn->cfg.st, rn->queues, MAX_QUEUES);
	struct netsim_opts o = { .seed = seed, .duration = duration, .en = rn->cfg.en,
				 .qos = rn->cfg.qos, .queues = rn->queues, .nqueues = rn->nqueues };
	rn->ns = netsim_new(prof, &o);
	netsim_run(rn->ns);
	rn->r = netsim_results(rn->ns);
	return 0;
}

static void run_free(struct run *rn)
{
	netsim_free(rn->ns);
	cli_unload(&rn->cfg);
}

/* ---- numbers ---- */

/* The measured time (after the warm-up). */
static double secs_of(const struct netsim_results *r)
{
	return (double)r->measured / 1e9;
}

static double total_secs(const struct netsim_results *r)
{
	return (double)r->duration / 1e9;
}

static double thru(const struct netsim_results *r, int c, int d)
{
	return (double)r->cls[c][d].delivered_bytes * 8 / secs_of(r);
}

static double goodput(const struct netsim_results *r, int c, int d)
{
	return (double)r->app[c].goodput_bytes[d] * 8 / secs_of(r);
}

static bool is_tcp_class(int c)
{
	return c == TGC_WEB || c == TGC_STREAMING || c == TGC_BULK_DOWN || c == TGC_BULK_UP;
}

static const char *dir_name(int d)
{
	return d ? "down" : "up";
}

static void fmt_rate(double v, char *buf, size_t n)
{
	if (v >= 1e9)
		snprintf(buf, n, "%.2fG", v / 1e9);
	else if (v >= 1e6)
		snprintf(buf, n, "%.2fM", v / 1e6);
	else if (v >= 1e3)
		snprintf(buf, n, "%.1fk", v / 1e3);
	else
		snprintf(buf, n, "%.0f", v);
}

static void fmt_ms(double v, char *buf, size_t n)
{
	if (v >= 100)
		snprintf(buf, n, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, n, "%.1f", v);
	else
		snprintf(buf, n, "%.2f", v);
}

static void fmt_loss(const struct netsim_dir_stats *s, char *buf, size_t n)
{
	if (!s->dropped)
		snprintf(buf, n, "0");
	else
		snprintf(buf, n, "%.2f%%", 100.0 * netsim_loss(s));
}

static uint64_t queue_rate(const struct netsim_results *r, const struct netsim_queue_result *q)
{
	return (uint64_t)((double)(q->up.bytes + q->down.bytes) * 8 / secs_of(r));
}

/* ---- text ---- */

enum col { C_THRU, C_GOOD, C_P50, C_P95, C_P99, C_JIT, C_LOSS, C_MAX };

static void cell(const struct netsim_results *r, int c, int d, enum col k, char *buf, size_t n)
{
	const struct netsim_dir_stats *s = &r->cls[c][d];
	switch (k) {
	case C_THRU:
		fmt_rate(thru(r, c, d), buf, n);
		break;
	case C_GOOD:
		if (is_tcp_class(c))
			fmt_rate(goodput(r, c, d), buf, n);
		else
			snprintf(buf, n, "-");
		break;
	case C_P50:
	case C_P95:
	case C_P99:
		if (!s->ndelay) {
			snprintf(buf, n, "-");
		} else {
			double q = k == C_P50 ? .5 : k == C_P95 ? .95 : .99;
			fmt_ms(netsim_delay_quantile_ms(s, q), buf, n);
		}
		break;
	case C_JIT:
		if (s->iso)
			fmt_ms(netsim_jitter_ms(s), buf, n);
		else
			snprintf(buf, n, "-");
		break;
	default:
		fmt_loss(s, buf, n);
		break;
	}
}

static const char *const col_head[C_MAX] = { "throughput", "goodput", "p50 ms", "p95 ms",
					     "p99 ms", "jitter ms", "loss" };

static void text_classes(FILE *f, struct run *runs, size_t nruns)
{
	const struct netsim_results *r0 = runs[0].r;
	fprintf(f, "\nper class and direction (delay: queueing delay, the one-way delay less "
		   "propagation and serialisation)\n");
	int w = nruns > 1 ? 19 : 11;
	fprintf(f, "%-10s %-4s", "class", "dir");
	for (int k = 0; k < C_MAX; k++)
		fprintf(f, " %*s", w, col_head[k]);
	fputc('\n', f);
	if (nruns > 1) {
		fprintf(f, "%-15s", "");
		for (int k = 0; k < C_MAX; k++)
			fprintf(f, " %9s | %-7s", runs[0].short_label, runs[1].short_label);
		fputc('\n', f);
	}
	for (int c = 0; c < TGC_MAX; c++) {
		if (!r0->active[c])
			continue;
		for (int d = 0; d < 2; d++) {
			fprintf(f, "%-10s %-4s", tgen_class_name((enum tgen_class)c), dir_name(d));
			for (int k = 0; k < C_MAX; k++) {
				char a[32], b[32];
				cell(runs[0].r, c, d, (enum col)k, a, sizeof(a));
				if (nruns > 1) {
					cell(runs[1].r, c, d, (enum col)k, b, sizeof(b));
					fprintf(f, " %9s | %-7s", a, b);
				} else {
					fprintf(f, " %*s", w, a);
				}
			}
			fputc('\n', f);
		}
	}
}

static void text_apps(FILE *f, const struct run *rn)
{
	const struct netsim_results *r = rn->r;
	bool any = false;
	for (int c = 0; c < TGC_MAX; c++)
		any |= r->active[c] && is_tcp_class(c);
	if (!any)
		return;
	fprintf(f, "\nTCP applications%s%s\n", rn->short_label ? " of " : "",
		rn->short_label ? rn->short_label : "");
	fprintf(f, "%-10s %11s %10s %12s %12s %11s %9s %9s %7s\n", "class", "connections",
		"transfers", "mean time s", "max time s", "retransmit", "fast-rtx", "timeouts",
		"stalls");
	for (int c = 0; c < TGC_MAX; c++) {
		if (!r->active[c] || !is_tcp_class(c))
			continue;
		const struct tgen_app_stats *a = &r->app[c];
		double n = (double)a->transfers;
		double mean = n ? (double)a->transfer_ns_sum / n / 1e9 : 0;
		fprintf(f, "%-10s %11llu %10llu %12.2f %12.2f %11llu %9llu %9llu %7llu\n",
			tgen_class_name((enum tgen_class)c), (unsigned long long)a->connections,
			(unsigned long long)a->transfers, mean, (double)a->transfer_ns_max / 1e9,
			(unsigned long long)a->retransmits, (unsigned long long)a->fast_retransmits,
			(unsigned long long)a->timeouts, (unsigned long long)a->stalls);
	}
}

static void text_run(FILE *f, const struct run *rn, const struct tgen_profile *prof)
{
	const struct netsim_results *r = rn->r;
	char a[32], b[32];
	fprintf(f, "\n%s%s%s\n", rn->short_label ? rn->short_label : "",
		rn->short_label ? ": " : "configuration: ", rn->label);
	if (rn->nqueues) {
		fprintf(f, "%-24s %10s %10s %9s %9s %9s %9s\n", "queue", "avg rate", "packets",
			"dropped", "borrows", "lends", "queued");
		for (size_t i = 0; i < rn->nqueues; i++) {
			const struct netsim_queue_result *q = &r->queues[i];
			fmt_rate((double)queue_rate(r, q), a, sizeof(a));
			fprintf(f, "%-24s %10s %10llu %9llu %9llu %9llu %9u\n", rn->queues[i].name,
				a, (unsigned long long)(q->up.packets + q->down.packets),
				(unsigned long long)(q->up.dropped + q->down.dropped),
				(unsigned long long)(q->up.borrows + q->down.borrows),
				(unsigned long long)(q->up.lends + q->down.lends),
				q->up.queued_packets + q->down.queued_packets);
		}
	} else {
		fprintf(f, "no queues\n");
	}
	for (int d = 0; d < 2; d++) {
		uint64_t rate = d ? prof->wan.down : prof->wan.up;
		double t = (double)r->wan_bytes[d] * 8 / secs_of(r);
		fmt_rate(t, a, sizeof(a));
		fmt_rate((double)rate, b, sizeof(b));
		fprintf(f, "WAN %-4s %s of %s (%.1f%%), %s queue up to %.1f ms\n", dir_name(d), a,
			b, 100.0 * t / (double)rate, d ? "ISP" : "modem", r->wan_max_queue_ms[d]);
	}
	fprintf(f, "lost packets:");
	bool any = false;
	for (int k = 0; k < NSD_MAX; k++)
		if (r->drops[k]) {
			fprintf(f, " %s %llu", netsim_drop_name((enum netsim_drop)k),
				(unsigned long long)r->drops[k]);
			any = true;
		}
	fprintf(f, "%s\n", any ? "" : " none");
	for (int k = 1; k < DR_MAX; k++)
		if (r->router_drops[k])
			fprintf(f, "  router drop %s: %llu\n", pkt_reason_name((enum drop_reason)k),
				(unsigned long long)r->router_drops[k]);
	if (r->router_drops[DR_NO_ROUTE])
		fprintf(f, "  (no-route: the configuration has no route to where the traffic goes;\n"
			   "  one of rules and queues only, as the seed guide's, needs its network\n"
			   "  first: --config examples/seed-network.rsc --config examples/seed.rsc)\n");
	if (r->drops[NSD_ROUTE])
		fprintf(f, "  (route: the router sent packets elsewhere than towards their host\n"
			   "  or the WAN; check the profile's hosts against the configuration)\n");
}

static void report_text(FILE *f, struct run *runs, size_t nruns, const struct tgen_profile *prof,
			const char *path, uint64_t seed)
{
	const struct netsim_results *r = runs[0].r;
	fprintf(f, "traffic %s%s%s%s: %g s of virtual time, seed %llu", path,
		*prof->name ? " (" : "", prof->name, *prof->name ? ")" : "", total_secs(r),
		(unsigned long long)seed);
	if (r->warmup)
		fprintf(f, "; counters from %g s on (warm-up)", (double)r->warmup / 1e9);
	fputc('\n', f);
	if (nruns > 1)
		for (size_t i = 0; i < nruns; i++)
			fprintf(f, "%s: %s\n", runs[i].short_label, runs[i].label);
	else
		fprintf(f, "configuration: %s\n", runs[0].label);
	text_classes(f, runs, nruns);
	for (size_t i = 0; i < nruns; i++)
		text_apps(f, &runs[i]);
	for (size_t i = 0; i < nruns; i++)
		text_run(f, &runs[i], prof);
}

/* ---- JSON ---- */

/* A series in its unit, rounded to 3 decimals (bit/s and ms need no more). */
static json_t *jseries(const float *v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_real(round(v[i] * 1000) / 1000));
	return a;
}

/* The flat "metrics" object: "class.dir.name": number, one run's figures
 * under unique keys that a shell script can grep. */
static void metric(json_t *m, const char *a, const char *b, const char *k, double v)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s.%s", a, b, k);
	json_object_set_new(m, key, json_real(v));
}

static void metric_n(json_t *m, const char *a, const char *b, const char *k, uint64_t v)
{
	char key[128];
	snprintf(key, sizeof(key), "%s.%s.%s", a, b, k);
	json_object_set_new(m, key, json_integer((json_int_t)v));
}

static void jint(json_t *o, const char *k, uint64_t v)
{
	json_object_set_new(o, k, json_integer((json_int_t)v));
}

static void jreal(json_t *o, const char *k, double v)
{
	json_object_set_new(o, k, json_real(v));
}

static json_t *json_dir(const struct netsim_results *r, int c, int d)
{
	const struct netsim_dir_stats *s = &r->cls[c][d];
	json_t *x = json_object();
	jint(x, "sent", s->sent);
	jint(x, "delivered", s->delivered);
	jint(x, "lost", s->dropped);
	jreal(x, "loss", netsim_loss(s));
	jreal(x, "throughput_bps", round(thru(r, c, d)));
	if (is_tcp_class(c))
		jreal(x, "goodput_bps", round(goodput(r, c, d)));
	jreal(x, "p50_ms", netsim_delay_quantile_ms(s, .5));
	jreal(x, "p95_ms", netsim_delay_quantile_ms(s, .95));
	jreal(x, "p99_ms", netsim_delay_quantile_ms(s, .99));
	jreal(x, "max_ms", netsim_delay_quantile_ms(s, 1));
	jreal(x, "mean_ms", s->ndelay ? s->delay_sum_us / (double)s->ndelay / 1e3 : 0);
	if (s->iso)
		jreal(x, "jitter_ms", netsim_jitter_ms(s));
	return x;
}

static json_t *json_app(const struct tgen_app_stats *a)
{
	json_t *x = json_object();
	double n = (double)a->transfers;
	jint(x, "connections", a->connections);
	jint(x, "transfers", a->transfers);
	jreal(x, "mean_transfer_s", n ? (double)a->transfer_ns_sum / n / 1e9 : 0);
	jreal(x, "max_transfer_s", (double)a->transfer_ns_max / 1e9);
	jint(x, "retransmits", a->retransmits);
	jint(x, "fast_retransmits", a->fast_retransmits);
	jint(x, "timeouts", a->timeouts);
	jint(x, "stalls", a->stalls);
	return x;
}

static json_t *json_queue(const struct run *rn, size_t i)
{
	const struct netsim_queue_result *q = &rn->r->queues[i];
	json_t *x = json_object();
	char id[16];
	snprintf(id, sizeof(id), "*%X", rn->queues[i].id);
	json_object_set_new(x, "name", json_string(rn->queues[i].name));
	json_object_set_new(x, "id", json_string(id));
	json_object_set_new(x, "type", json_string(rn->queues[i].simple ? "simple" : "tree"));
	jint(x, "rate_bps", queue_rate(rn->r, q));
	jint(x, "bytes", q->up.bytes + q->down.bytes);
	jint(x, "packets", q->up.packets + q->down.packets);
	jint(x, "dropped", q->up.dropped + q->down.dropped);
	jint(x, "borrows", q->up.borrows + q->down.borrows);
	jint(x, "lends", q->up.lends + q->down.lends);
	return x;
}

static json_t *json_series(const struct run *rn)
{
	const struct netsim_results *r = rn->r;
	json_t *series = json_object(), *sc = json_object(), *sq = json_object();
	json_t *sw = json_object();
	char key[96];
	jreal(series, "interval_ms", (double)r->sample / 1e6);
	for (int c = 0; c < TGC_MAX; c++)
		for (int d = 0; r->active[c] && d < 2; d++) {
			snprintf(key, sizeof(key), "%s.%s", tgen_class_name((enum tgen_class)c),
				 dir_name(d));
			json_object_set_new(sc, key, jseries(r->cls_rate[c][d], r->nbins));
		}
	for (size_t i = 0; i < rn->nqueues; i++) {
		const char *name = rn->queues[i].name;
		bool simple = rn->queues[i].simple;
		snprintf(key, sizeof(key), "%s%s", name, simple ? ".up" : "");
		json_object_set_new(sq, key, jseries(r->queues[i].rate_up, r->nbins));
		if (simple) {
			snprintf(key, sizeof(key), "%s.down", name);
			json_object_set_new(sq, key, jseries(r->queues[i].rate_down, r->nbins));
		}
	}
	for (int d = 0; d < 2; d++) {
		snprintf(key, sizeof(key), "%s_bps", dir_name(d));
		json_object_set_new(sw, key, jseries(r->wan_rate[d], r->nbins));
		snprintf(key, sizeof(key), "%s_queue_ms", dir_name(d));
		json_object_set_new(sw, key, jseries(r->wan_queue_ms[d], r->nbins));
	}
	json_object_set_new(series, "classes_bps", sc);
	json_object_set_new(series, "queues_bps", sq);
	json_object_set_new(series, "wan", sw);
	return series;
}

static json_t *json_run(const struct run *rn, const struct tgen_profile *prof)
{
	const struct netsim_results *r = rn->r;
	json_t *o = json_object(), *m = json_object(), *cls = json_object();
	json_object_set_new(o, "config", json_string(rn->label));
	for (int c = 0; c < TGC_MAX; c++) {
		if (!r->active[c])
			continue;
		const char *cn = tgen_class_name((enum tgen_class)c);
		json_t *co = json_object();
		for (int d = 0; d < 2; d++) {
			const struct netsim_dir_stats *s = &r->cls[c][d];
			const char *dn = dir_name(d);
			json_object_set_new(co, dn, json_dir(r, c, d));
			metric(m, cn, dn, "throughput_bps", round(thru(r, c, d)));
			if (is_tcp_class(c))
				metric(m, cn, dn, "goodput_bps", round(goodput(r, c, d)));
			metric_n(m, cn, dn, "sent", s->sent);
			metric_n(m, cn, dn, "lost", s->dropped);
			metric(m, cn, dn, "loss", netsim_loss(s));
			metric(m, cn, dn, "p50_ms", netsim_delay_quantile_ms(s, .5));
			metric(m, cn, dn, "p95_ms", netsim_delay_quantile_ms(s, .95));
			metric(m, cn, dn, "p99_ms", netsim_delay_quantile_ms(s, .99));
			if (s->iso)
				metric(m, cn, dn, "jitter_ms", netsim_jitter_ms(s));
		}
		if (is_tcp_class(c))
			json_object_set_new(co, "app", json_app(&r->app[c]));
		json_object_set_new(cls, cn, co);
	}
	json_t *wan = json_object();
	for (int d = 0; d < 2; d++) {
		uint64_t rate = d ? prof->wan.down : prof->wan.up;
		double t = (double)r->wan_bytes[d] * 8 / secs_of(r);
		json_t *x = json_object();
		jint(x, "rate_bps", rate);
		jreal(x, "throughput_bps", round(t));
		jreal(x, "utilisation", t / (double)rate);
		jreal(x, "max_queue_ms", r->wan_max_queue_ms[d]);
		json_object_set_new(wan, dir_name(d), x);
		metric(m, "wan", dir_name(d), "throughput_bps", round(t));
		metric(m, "wan", dir_name(d), "utilisation", t / (double)rate);
		metric(m, "wan", dir_name(d), "max_queue_ms", r->wan_max_queue_ms[d]);
	}
	json_t *q = json_array();
	for (size_t i = 0; i < rn->nqueues; i++)
		json_array_append_new(q, json_queue(rn, i));
	json_t *drops = json_object(), *rdrops = json_object();
	for (int k = 0; k < NSD_MAX; k++)
		jint(drops, netsim_drop_name((enum netsim_drop)k), r->drops[k]);
	for (int k = 1; k < DR_MAX; k++)
		if (r->router_drops[k])
			jint(rdrops, pkt_reason_name((enum drop_reason)k), r->router_drops[k]);
	json_object_set_new(o, "metrics", m);
	json_object_set_new(o, "classes", cls);
	json_object_set_new(o, "queues", q);
	json_object_set_new(o, "wan", wan);
	json_object_set_new(o, "lost", drops);
	json_object_set_new(o, "router_drops", rdrops);
	jint(o, "events", r->events);
	json_object_set_new(o, "series", json_series(rn));
	return o;
}

static int report_json(FILE *f, struct run *runs, size_t nruns, const struct tgen_profile *prof,
		       const char *path, uint64_t seed)
{
	json_t *root = json_object(), *p = json_object(), *a = json_array();
	json_object_set_new(p, "file", json_string(path));
	json_object_set_new(p, "name", json_string(prof->name));
	json_object_set_new(p, "duration_s", json_real(total_secs(runs[0].r)));
	json_object_set_new(p, "warmup_s", json_real((double)runs[0].r->warmup / 1e9));
	json_object_set_new(p, "seed", json_integer((json_int_t)seed));
	json_object_set_new(root, "profile", p);
	for (size_t i = 0; i < nruns; i++)
		json_array_append_new(a, json_run(&runs[i], prof));
	json_object_set_new(root, "runs", a);
	int rc = json_dumpf(root, f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	fputc('\n', f);
	json_decref(root);
	return rc;
}

/* ---- HTML ---- */

static const char *const palette[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
				       "#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22" };
#define NPAL (sizeof(palette) / sizeof(palette[0]))

struct line {
	char name[96];
	const char *color;
	bool dashed;
	const float *x, *y; /* x NULL: i * dx */
	size_t n;
	double dx;
};

struct plot {
	const char *title, *xlabel, *ylabel;
	bool logx;
	double shade;     /* time plots: the warm-up, shaded up to this x */
	double xmin, xmax, ymin, ymax;
	struct line *lines;
	size_t nlines, cap;
};

static struct line *plot_add(struct plot *p)
{
	if (p->nlines == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 8;
		p->lines = xrealloc(p->lines, p->cap * sizeof(*p->lines));
	}
	struct line *l = &p->lines[p->nlines++];
	memset(l, 0, sizeof(*l));
	return l;
}

static void html_esc(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			sbuf_puts(b, "&lt;");
		else if (*s == '>')
			sbuf_puts(b, "&gt;");
		else if (*s == '&')
			sbuf_puts(b, "&amp;");
		else if (*s == '"')
			sbuf_puts(b, "&quot;");
		else
			sbuf_putc(b, *s);
	}
}

/* A "nice" step for about n ticks over span. */
static double nice_step(double span, int n)
{
	double raw = span / n, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

static void fmt_axis(double v, char *buf, size_t n, bool rate)
{
	if (rate)
		fmt_rate(v, buf, n);
	else if (fabs(v) >= 100 || v == floor(v))
		snprintf(buf, n, "%g", v);
	else
		snprintf(buf, n, "%.3g", v);
}

static void svg_plot(struct sbuf *b, struct plot *p, bool rate_axis)
{
	const double W = 820, H = 330, L = 70, R = 190, T = 30, B = 45;
	double pw = W - L - R, ph = H - T - B;
	if (p->ymax <= p->ymin)
		p->ymax = p->ymin + 1;
	if (p->xmax <= p->xmin)
		p->xmax = p->xmin + 1;
	double lx0 = p->logx ? log10(p->xmin) : p->xmin, lx1 = p->logx ? log10(p->xmax) : p->xmax;
#define SX(v)                                                                                      \
	(L + ((p->logx ? log10((v) < p->xmin ? p->xmin : (v)) : (v)) - lx0) / (lx1 - lx0) * pw)
#define SY(v) (T + ph - ((v) - p->ymin) / (p->ymax - p->ymin) * ph)
	sbuf_printf(b, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
		       "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"11\">\n",
		    W, H, W, H);
	sbuf_printf(b, "<rect x=\"0\" y=\"0\" width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n", W,
		    H);
	if (p->shade > p->xmin && !p->logx)
		sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
			       "fill=\"#f0f0f0\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#999\">"
			       "warm-up</text>\n",
			    L, T, SX(p->shade) - L, ph, L + 4, T + ph - 6);
	sbuf_puts(b, "<text x=\"");
	sbuf_printf(b, "%.0f\" y=\"18\" font-size=\"13\" font-weight=\"bold\">", L);
	html_esc(b, p->title);
	sbuf_puts(b, "</text>\n");
	/* grid and ticks */
	double ys = nice_step(p->ymax - p->ymin, 5);
	for (double v = ceil(p->ymin / ys) * ys; v <= p->ymax + ys * 1e-9; v += ys) {
		char t[32];
		fmt_axis(v, t, sizeof(t), rate_axis);
		sbuf_printf(
			b,
			"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
			"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
			L, L + pw, SY(v), SY(v), L - 5, SY(v) + 4, t);
	}
	if (p->logx) {
		for (double d = floor(lx0); d <= lx1 + 1e-9; d++) {
			double v = pow(10, d);
			if (v < p->xmin * 0.999)
				continue;
			char t[32];
			fmt_axis(v, t, sizeof(t), false);
			sbuf_printf(
				b,
				"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"#ddd\"/>"
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				SX(v), SX(v), T, T + ph, SX(v), T + ph + 15, t);
		}
	} else {
		double xs = nice_step(p->xmax - p->xmin, 8);
		for (double v = ceil(p->xmin / xs) * xs; v <= p->xmax + xs * 1e-9; v += xs) {
			char t[32];
			fmt_axis(v, t, sizeof(t), false);
			sbuf_printf(
				b,
				"<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" "
				"stroke=\"#ddd\"/>"
				"<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>\n",
				SX(v), SX(v), T, T + ph, SX(v), T + ph + 15, t);
		}
	}
	sbuf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" "
		       "stroke=\"#444\"/>\n",
		    L, T, pw, ph);
	sbuf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", L + pw / 2, H - 8);
	html_esc(b, p->xlabel);
	sbuf_printf(b, "</text><text transform=\"translate(14 %.1f) rotate(-90)\" "
		       "text-anchor=\"middle\">",
		    T + ph / 2);
	html_esc(b, p->ylabel);
	sbuf_puts(b, "</text>\n");
	/* lines */
	for (size_t i = 0; i < p->nlines; i++) {
		const struct line *l = &p->lines[i];
		if (!l->n)
			continue;
		sbuf_printf(
			b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.6\"%s points=\"",
			l->color, l->dashed ? " stroke-dasharray=\"6 3\"" : "");
		for (size_t k = 0; k < l->n; k++) {
			double x = l->x ? l->x[k] : (double)k * l->dx + l->dx;
			double y = l->y[k];
			if (y > p->ymax)
				y = p->ymax;
			sbuf_printf(b, "%.1f,%.1f ", SX(x), SY(y));
		}
		sbuf_puts(b, "\"/>\n");
		double ly = T + 10 + (double)i * 16;
		sbuf_printf(b,
			    "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
			    "stroke-width=\"2\"%s/><text x=\"%.1f\" y=\"%.1f\">",
			    L + pw + 10, L + pw + 34, ly, ly, l->color,
			    l->dashed ? " stroke-dasharray=\"6 3\"" : "", L + pw + 40, ly + 4);
		html_esc(b, l->name);
		sbuf_puts(b, "</text>\n");
	}
	sbuf_puts(b, "</svg>\n");
#undef SX
#undef SY
	free(p->lines);
	p->lines = NULL;
	p->nlines = p->cap = 0;
}

static double series_max(const float *v, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i] > m)
			m = v[i];
	return m;
}

/* Colour of a name across runs: the same queue name gets the same colour. */
static const char *color_of(const char **names, size_t *n, const char *name)
{
	for (size_t i = 0; i < *n; i++)
		if (!strcmp(names[i], name))
			return palette[i % NPAL];
	names[*n] = name;
	return palette[(*n)++ % NPAL];
}

static void html_queue_plot(struct sbuf *b, struct run *runs, size_t nruns)
{
	struct plot p = { .title = "Throughput per queue", .xlabel = "time (s)",
			  .ylabel = "bit/s" };
	const char *names[2 * MAX_QUEUES];
	size_t nn = 0;
	double ymax = 0;
	for (size_t k = 0; k < nruns; k++) {
		const struct netsim_results *r = runs[k].r;
		for (size_t i = 0; i < runs[k].nqueues; i++) {
			for (int d = 0; d < (runs[k].queues[i].simple ? 2 : 1); d++) {
				struct line *l = plot_add(&p);
				snprintf(l->name, sizeof(l->name), "%s%s%s%s",
					 nruns > 1 ? runs[k].short_label : "",
					 nruns > 1 ? ": " : "", runs[k].queues[i].name,
					 runs[k].queues[i].simple ? (d ? " down" : " up") : "");
				l->color = color_of(names, &nn, l->name + (nruns > 1 ? 3 : 0));
				l->dashed = k == 1;
				l->y = d ? r->queues[i].rate_down : r->queues[i].rate_up;
				l->n = r->nbins;
				l->dx = (double)r->sample / 1e9;
				double m = series_max(l->y, l->n);
				if (m > ymax)
					ymax = m;
			}
		}
	}
	if (!p.nlines) {
		sbuf_puts(b, "<p>No queues in the configuration.</p>\n");
		return;
	}
	p.xmax = total_secs(runs[0].r);
	p.shade = (double)runs[0].r->warmup / 1e9;
	p.ymax = ymax * 1.05;
	svg_plot(b, &p, true);
}

static void html_class_plot(struct sbuf *b, struct run *runs, size_t nruns, int d)
{
	char title[64];
	snprintf(title, sizeof(title), "Throughput per class, %s", d ? "download" : "upload");
	struct plot p = { .title = title, .xlabel = "time (s)", .ylabel = "bit/s" };
	double ymax = 0;
	for (size_t k = 0; k < nruns; k++) {
		const struct netsim_results *r = runs[k].r;
		for (int c = 0; c < TGC_MAX; c++) {
			if (!r->active[c])
				continue;
			struct line *l = plot_add(&p);
			snprintf(l->name, sizeof(l->name), "%s%s%s",
				 nruns > 1 ? runs[k].short_label : "", nruns > 1 ? ": " : "",
				 tgen_class_name((enum tgen_class)c));
			l->color = palette[c % NPAL];
			l->dashed = k == 1;
			l->y = r->cls_rate[c][d];
			l->n = r->nbins;
			l->dx = (double)r->sample / 1e9;
			double m = series_max(l->y, l->n);
			if (m > ymax)
				ymax = m;
		}
	}
	p.xmax = total_secs(runs[0].r);
	p.shade = (double)runs[0].r->warmup / 1e9;
	p.ymax = ymax * 1.05;
	svg_plot(b, &p, true);
}

static void html_wan_plot(struct sbuf *b, struct run *runs, size_t nruns)
{
	struct plot p = { .title = "WAN queue (modem upstream, ISP downstream)",
			  .xlabel = "time (s)", .ylabel = "queue (ms)" };
	double ymax = 0;
	for (size_t k = 0; k < nruns; k++) {
		const struct netsim_results *r = runs[k].r;
		for (int d = 0; d < 2; d++) {
			struct line *l = plot_add(&p);
			snprintf(l->name, sizeof(l->name), "%s%s%s",
				 nruns > 1 ? runs[k].short_label : "", nruns > 1 ? ": " : "",
				 d ? "ISP down" : "modem up");
			l->color = palette[d];
			l->dashed = k == 1;
			l->y = r->wan_queue_ms[d];
			l->n = r->nbins;
			l->dx = (double)r->sample / 1e9;
			double m = series_max(l->y, l->n);
			if (m > ymax)
				ymax = m;
		}
	}
	p.xmax = total_secs(runs[0].r);
	p.shade = (double)runs[0].r->warmup / 1e9;
	p.ymax = ymax > 1 ? ymax * 1.05 : 1;
	svg_plot(b, &p, false);
}

/* The CDF drawn from at most 400 points of the sorted delays. */
static void html_cdf_plot(struct sbuf *b, struct run *runs, size_t nruns, int d)
{
	char title[80];
	snprintf(title, sizeof(title), "Queueing delay CDF per class, %s",
		 d ? "download" : "upload");
	struct plot p = { .title = title, .xlabel = "queueing delay (ms, log scale)",
			  .ylabel = "fraction of packets", .logx = true, .xmin = 0.01, .ymax = 1 };
	float *bufs[2 * TGC_MAX * 2];
	size_t nb = 0;
	double xmax = 1;
	for (size_t k = 0; k < nruns; k++) {
		const struct netsim_results *r = runs[k].r;
		for (int c = 0; c < TGC_MAX; c++) {
			const struct netsim_dir_stats *s = &r->cls[c][d];
			if (!r->active[c] || !s->ndelay)
				continue;
			size_t n = s->ndelay < 400 ? s->ndelay : 400;
			float *x = xmalloc(n * sizeof(float)), *y = xmalloc(n * sizeof(float));
			for (size_t i = 0; i < n; i++) {
				size_t idx = n == 1 ? 0 : i * (s->ndelay - 1) / (n - 1);
				x[i] = (float)(s->delay_us[idx] / 1000.0);
				y[i] = (float)(idx + 1) / (float)s->ndelay;
				if (x[i] > xmax)
					xmax = x[i];
			}
			bufs[nb++] = x;
			bufs[nb++] = y;
			struct line *l = plot_add(&p);
			snprintf(l->name, sizeof(l->name), "%s%s%s",
				 nruns > 1 ? runs[k].short_label : "", nruns > 1 ? ": " : "",
				 tgen_class_name((enum tgen_class)c));
			l->color = palette[c % NPAL];
			l->dashed = k == 1;
			l->x = x;
			l->y = y;
			l->n = n;
		}
	}
	p.xmax = pow(10, ceil(log10(xmax)));
	svg_plot(b, &p, false);
	for (size_t i = 0; i < nb; i++)
		free(bufs[i]);
}

static void html_table(struct sbuf *b, struct run *runs, size_t nruns)
{
	sbuf_puts(b, "<table><tr><th>class</th><th>dir</th>");
	for (int k = 0; k < C_MAX; k++)
		for (size_t i = 0; i < nruns; i++)
			sbuf_printf(b, "<th>%s%s%s</th>", col_head[k], nruns > 1 ? " " : "",
				    nruns > 1 ? runs[i].short_label : "");
	sbuf_puts(b, "</tr>\n");
	const struct netsim_results *r0 = runs[0].r;
	for (int c = 0; c < TGC_MAX; c++)
		for (int d = 0; r0->active[c] && d < 2; d++) {
			sbuf_printf(b, "<tr><td>%s</td><td>%s</td>",
				    tgen_class_name((enum tgen_class)c), dir_name(d));
			for (int k = 0; k < C_MAX; k++)
				for (size_t i = 0; i < nruns; i++) {
					char v[32];
					cell(runs[i].r, c, d, (enum col)k, v, sizeof(v));
					sbuf_printf(b, "<td>%s</td>", v);
				}
			sbuf_puts(b, "</tr>\n");
		}
	sbuf_puts(b, "</table>\n");
}

static void report_html(FILE *f, struct run *runs, size_t nruns, const struct tgen_profile *prof,
			const char *path, uint64_t seed)
{
	struct sbuf b = SBUF_INIT;
	sbuf_puts(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>rosfw sim: ");
	html_esc(&b, path);
	sbuf_puts(&b,
		  "</title>\n<style>body{font-family:sans-serif;margin:24px;color:#222}"
		  "table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;"
		  "padding:3px 8px;text-align:right}td:first-child,td:nth-child(2){text-align:left}"
		  "th{background:#f3f3f3}pre{background:#f8f8f8;padding:8px}svg{display:block;"
		  "margin:12px 0}</style></head><body>\n<h1>rosfw sim --traffic ");
	html_esc(&b, path);
	sbuf_printf(&b, "</h1>\n<p>%g s of virtual time, seed %llu", total_secs(runs[0].r),
		    (unsigned long long)seed);
	if (runs[0].r->warmup)
		sbuf_printf(&b, "; counters from %g s on (warm-up)",
			    (double)runs[0].r->warmup / 1e9);
	sbuf_puts(&b, ". ");
	html_esc(&b, prof->description);
	sbuf_puts(&b, "</p>\n<ul>");
	for (size_t i = 0; i < nruns; i++) {
		sbuf_printf(&b, "<li>%s%s", nruns > 1 ? runs[i].short_label : "configuration",
			    nruns > 1 ? (i ? " (dashed): " : " (solid): ") : ": ");
		html_esc(&b, runs[i].label);
		sbuf_puts(&b, "</li>");
	}
	sbuf_puts(&b, "</ul>\n<h2>Per class</h2>\n<p>Delay is queueing delay: the one-way delay "
		      "less the path's propagation and serialisation.</p>\n");
	html_table(&b, runs, nruns);
	sbuf_puts(&b, "<h2>Queues</h2>\n");
	html_queue_plot(&b, runs, nruns);
	sbuf_puts(&b, "<h2>Delay</h2>\n");
	html_cdf_plot(&b, runs, nruns, TG_UP);
	html_cdf_plot(&b, runs, nruns, TG_DOWN);
	sbuf_puts(&b, "<h2>Classes over time</h2>\n");
	html_class_plot(&b, runs, nruns, TG_UP);
	html_class_plot(&b, runs, nruns, TG_DOWN);
	html_wan_plot(&b, runs, nruns);
	/* the text report as well, for the numbers the plots do not show */
	FILE *mf = tmpfile();
	if (mf) {
		report_text(mf, runs, nruns, prof, path, seed);
		long n = ftell(mf);
		rewind(mf);
		char *t = xmalloc((size_t)n + 1);
		size_t got = fread(t, 1, (size_t)n, mf);
		t[got] = 0;
		fclose(mf);
		sbuf_puts(&b, "<h2>Details</h2>\n<pre>");
		html_esc(&b, t);
		sbuf_puts(&b, "</pre>\n");
		free(t);
	}
	sbuf_puts(&b, "</body></html>\n");
	fputs(sbuf_str(&b), f);
	sbuf_free(&b);
}

/* ---- the command ---- */

static void usage(void)
{
	fprintf(stderr,
		"usage: rosfw sim (--config FILE.rsc [--config ...] [--lenient] | --db PATH)\n"
		"                 --traffic PROFILE.json [--duration 60s] [--seed N]\n"
		"                 [--report text|json|html] [--out FILE]\n"
		"                 [--compare OTHER.rsc [--compare ...]]\n");
}

int sim_traffic_main(int argc, char **argv)
{
	const char *configs[MAX_CONFIGS], *other[MAX_CONFIGS], *db = NULL, *traffic = NULL,
		   *report = "text", *outpath = NULL;
	size_t nconfigs = 0, nother = 0;
	uint64_t duration = 60000000000ull, seed = 1;
	bool lenient = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--config") && v && nconfigs < MAX_CONFIGS) {
			configs[nconfigs++] = v;
		} else if (!strcmp(a, "--compare") && v && nother < MAX_CONFIGS) {
			other[nother++] = v;
		} else if (!strcmp(a, "--db") && v) {
			db = v;
		} else if (!strcmp(a, "--traffic") && v) {
			traffic = v;
		} else if (!strcmp(a, "--report") && v) {
			report = v;
		} else if (!strcmp(a, "--out") && v) {
			outpath = v;
		} else if (!strcmp(a, "--duration") && v) {
			if (tgen_parse_time(v, &duration) < 0 || !duration ||
			    duration > 3600000000000ull) {
				fprintf(stderr,
					"rosfw sim: --duration %s: a time such as 60s, at most "
					"1h\n",
					v);
				return 2;
			}
		} else if (!strcmp(a, "--seed") && v) {
			char *end;
			errno = 0;
			seed = strtoull(v, &end, 10);
			if (*end || errno || *v == '-') {
				fprintf(stderr, "rosfw sim: --seed %s: a number is required\n", v);
				return 2;
			}
		} else if (!strcmp(a, "--lenient")) {
			lenient = true;
			continue;
		} else {
			usage();
			return 2;
		}
		i++;
	}
	if (!traffic || (!nconfigs && !db) || (nconfigs && db) ||
	    (strcmp(report, "text") && strcmp(report, "json") && strcmp(report, "html"))) {
		usage();
		return 2;
	}
	struct err e;
	err_clear(&e);
	struct tgen_profile *prof;
	if (tgen_profile_load(traffic, &prof, &e) < 0) {
		struct sbuf m = SBUF_INIT;
		err_format(&e, &m);
		fprintf(stderr, "rosfw sim: %s\n", sbuf_str(&m));
		sbuf_free(&m);
		return 1;
	}
	if (prof->warmup >= duration) {
		fprintf(stderr, "rosfw sim: --duration must be longer than the profile's warm-up (%g s)\n",
			(double)prof->warmup / 1e9);
		tgen_profile_free(prof);
		return 2;
	}
	static struct run runs[2];
	size_t nruns = nother ? 2 : 1;
	int rc = 1;
	memset(runs, 0, sizeof(runs));
	if (run_one(&runs[0], configs, nconfigs, db, lenient, prof, duration, seed) < 0)
		goto out_profile;
	if (nother && run_one(&runs[1], other, nother, NULL, lenient, prof, duration, seed) < 0)
		goto out_runs;
	if (nruns > 1) {
		runs[0].short_label = "A";
		runs[1].short_label = "B";
	}
	FILE *f = stdout;
	if (outpath && !(f = fopen(outpath, "w"))) {
		fprintf(stderr, "rosfw sim: cannot write %s: %s\n", outpath, strerror(errno));
		goto out_runs;
	}
	if (!strcmp(report, "text"))
		report_text(f, runs, nruns, prof, traffic, seed);
	else if (!strcmp(report, "json"))
		report_json(f, runs, nruns, prof, traffic, seed);
	else
		report_html(f, runs, nruns, prof, traffic, seed);
	rc = 0;
	if (f != stdout && fclose(f) != 0) {
		fprintf(stderr, "rosfw sim: %s: %s\n", outpath, strerror(errno));
		rc = 1;
	} else if (f == stdout && fflush(f) != 0) {
		rc = 1;
	}
out_runs:
	for (size_t i = 0; i < 2; i++)
		if (runs[i].ns)
			run_free(&runs[i]);
		else if (runs[i].cfg.st)
			cli_unload(&runs[i].cfg);
out_profile:
	tgen_profile_free(prof);
	return rc;
}
