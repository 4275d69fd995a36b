/*
 * rosfw sim and rosfw trace: the engine run offline on captures or on one
 * described packet, on virtual time taken from the packets themselves.
 * Both load a configuration either from a .rsc script (into a private
 * in-memory store holding only the built-in items and that script) or from
 * an existing store (--db).
 */
#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "conf/runtime.h"
#include "engine/engine.h"
#include "engine/names.h"

#define MAX_INPUTS 16
#define FRAME_CAP 65600

static void ip4s(uint32_t a, char *buf, size_t n)
{
	snprintf(buf, n, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

static const char *menu_of(enum rs_table t, uint8_t family)
{
	static const char *const v4[] = { "/ip/firewall/raw", "/ip/firewall/mangle",
					  "/ip/firewall/nat", "/ip/firewall/filter" };
	static const char *const v6[] = { "/ipv6/firewall/raw", "/ipv6/firewall/mangle",
					  "/ipv6/firewall/nat", "/ipv6/firewall/filter" };
	return family == 6 ? v6[t] : v4[t];
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* ---- sim ---- */

struct input {
	char ifname[64];
	uint16_t ifid;
	pcap_t *pc;
	struct pcap_pkthdr *hdr;
	const u_char *data;
	bool have;
	bool l2;
};

struct output {
	uint16_t ifid;
	pcap_dumper_t *d;
};

static pcap_dumper_t *open_dump(const char *dir, const char *name, pcap_t **dead)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/%s.pcap", dir, name);
	if (!*dead)
		*dead = pcap_open_dead(DLT_EN10MB, 65535);
	pcap_dumper_t *d = pcap_dump_open(*dead, path);
	if (!d)
		fprintf(stderr, "rosfw sim: cannot write %s: %s\n", path, pcap_geterr(*dead));
	return d;
}

static int next_packet(struct input *in)
{
	int rc = pcap_next_ex(in->pc, &in->hdr, &in->data);
	in->have = rc == 1;
	return rc;
}

static uint64_t ts_ns(const struct pcap_pkthdr *h)
{
	return (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec * 1000ull;
}

struct ct_sum {
	size_t n, by_state[TCP_CONNTRACK_MAX], assured, nat;
};

static int ct_sum_cb(void *ctx, struct ct_entry *e)
{
	struct ct_sum *s = ctx;
	s->n++;
	if (e->proto == 6 && e->tcp_state < TCP_CONNTRACK_MAX)
		s->by_state[e->tcp_state]++;
	if (e->status & CTS_ASSURED)
		s->assured++;
	if (e->status & (CTS_SRCNAT | CTS_DSTNAT))
		s->nat++;
	return 0;
}

static void report_text(struct cli_loaded *o, uint64_t npk, const uint64_t *by_verdict)
{
	printf("packets: %llu (forward %llu, local %llu, drop %llu, reject %llu, l2 %llu",
	       (unsigned long long)npk, (unsigned long long)by_verdict[EV_FORWARD],
	       (unsigned long long)by_verdict[EV_LOCAL], (unsigned long long)by_verdict[EV_DROP],
	       (unsigned long long)by_verdict[EV_REJECT], (unsigned long long)by_verdict[EV_L2]);
	/* fragments held for reassembly, when there were any */
	if (by_verdict[EV_HELD])
		printf(", held %llu", (unsigned long long)by_verdict[EV_HELD]);
	printf(")\n");
	printf("\ndrops by reason:\n");
	bool any = false;
	for (int r = 1; r < DR_MAX; r++) {
		uint64_t n = engine_drops(o->en, (enum drop_reason)r);
		if (n) {
			printf("  %-22s %llu\n", pkt_reason_name((enum drop_reason)r), (unsigned long long)n);
			any = true;
		}
	}
	if (!any)
		printf("  none\n");
	engine_export_counters(o->en, o->st);
	static const char *const menus[] = { "/ip firewall raw", "/ip firewall mangle",
					     "/ip firewall nat", "/ip firewall filter" };
	for (size_t i = 0; i < 4; i++) {
		char cmd[128];
		snprintf(cmd, sizeof(cmd), "%s print stats", menus[i]);
		const struct menu *m = schema_find(menu_of((enum rs_table)i, 4));
		if (!m || !store_count(o->st, m))
			continue;
		struct err e;
		printf("\n%s:\n", cmd);
		if (conf_exec(&o->s, cmd, NULL, &e) == 0)
			fputs(sbuf_str(&o->s.out), stdout);
		sbuf_reset(&o->s.out);
	}
	struct ct_sum cs = { 0 };
	ct_foreach(engine_ct(o->en), ct_sum_cb, &cs);
	printf("\nconnections: %zu (assured %zu, natted %zu)\n", cs.n, cs.assured, cs.nat);
	for (int k = 1; k < TCP_CONNTRACK_MAX; k++)
		if (cs.by_state[k])
			printf("  tcp %-12s %zu\n", ct_tcp_state_name((uint8_t)k), cs.by_state[k]);
	static struct conf_log_entry logs[1000];
	size_t nl = conf_log_snapshot(logs, 1000);
	if (nl) {
		printf("\nlog:\n");
		for (size_t i = 0; i < nl; i++)
			printf("  %s %s\n", logs[i].topics, logs[i].message);
	}
}

static void usage_sim(void)
{
	fprintf(stderr,
		"usage: rosfw sim (--config FILE.rsc | --db PATH) --in IFACE=FILE.pcap [--in ...]\n"
		"                 [--out-dir DIR] [--verdicts FILE.jsonl] [--report text|json] [--lenient]\n"
		"       rosfw sim (--config FILE.rsc | --db PATH) --traffic PROFILE.json --duration 60s\n"
		"                 [--seed N] [--report text|json|html] [--out FILE] [--compare OTHER.rsc]\n");
}

int sim_main(int argc, char **argv)
{
	const char *configs[MAX_CONFIGS], *db = NULL, *outdir = NULL, *verdicts = NULL,
		   *report = "text";
	size_t nconfigs = 0;
	bool lenient = false;
	struct input in[MAX_INPUTS];
	size_t nin = 0;
	char errbuf[PCAP_ERRBUF_SIZE];
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--traffic"))
			return sim_traffic_main(argc, argv);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--config") && v && nconfigs < MAX_CONFIGS) {
			configs[nconfigs++] = v;
			i++;
		} else if (!strcmp(a, "--db") && v) {
			db = v;
			i++;
		} else if (!strcmp(a, "--out-dir") && v) {
			outdir = v;
			i++;
		} else if (!strcmp(a, "--verdicts") && v) {
			verdicts = v;
			i++;
		} else if (!strcmp(a, "--report") && v) {
			report = v;
			i++;
		} else if (!strcmp(a, "--lenient")) {
			lenient = true;
		} else if (!strcmp(a, "--in") && v && strchr(v, '=')) {
			if (nin == MAX_INPUTS) {
				fprintf(stderr, "rosfw sim: at most %d inputs\n", MAX_INPUTS);
				return 2;
			}
			struct input *x = &in[nin];
			memset(x, 0, sizeof(*x));
			snprintf(x->ifname, sizeof(x->ifname), "%.*s", (int)(strchr(v, '=') - v), v);
			x->pc = pcap_open_offline(strchr(v, '=') + 1, errbuf);
			if (!x->pc) {
				fprintf(stderr, "rosfw sim: %s: %s\n", strchr(v, '=') + 1, errbuf);
				return 1;
			}
			int dl = pcap_datalink(x->pc);
			if (dl != DLT_EN10MB) {
				fprintf(stderr, "rosfw sim: %s: link type %d: only Ethernet captures are read\n",
					strchr(v, '=') + 1, dl);
				return 1;
			}
			x->ifid = (uint16_t)name_intern(NS_IFACE, x->ifname);
			nin++;
			i++;
		} else {
			usage_sim();
			return 2;
		}
	}
	if (!nin || (strcmp(report, "text") && strcmp(report, "json"))) {
		usage_sim();
		return 2;
	}
	struct cli_loaded o;
	const char *names[MAX_INPUTS];
	for (size_t i = 0; i < nin; i++)
		names[i] = in[i].ifname;
	if (cli_load(&o, configs, nconfigs, db, lenient, names, nin, false) < 0)
		return 1;
	FILE *vf = NULL;
	if (verdicts && !(vf = fopen(verdicts, "w"))) {
		fprintf(stderr, "rosfw sim: cannot write %s: %s\n", verdicts, strerror(errno));
		cli_unload(&o);
		return 1;
	}
	pcap_t *dead = NULL;
	struct output outs[64];
	size_t nouts = 0;
	pcap_dumper_t *local = NULL;
	if (outdir) {
		mkdir(outdir, 0755);
		local = open_dump(outdir, "local", &dead);
	}
	for (size_t i = 0; i < nin; i++)
		next_packet(&in[i]);
	static uint8_t frame[FRAME_CAP];
	static struct engine_out out;
	uint64_t n = 0, by_verdict[8] = { 0 };
	uint64_t last_tick = 0;
	for (;;) {
		/* merge the inputs by timestamp */
		struct input *best = NULL;
		for (size_t i = 0; i < nin; i++)
			if (in[i].have && (!best || ts_ns(in[i].hdr) < ts_ns(best->hdr)))
				best = &in[i];
		if (!best)
			break;
		uint64_t now = ts_ns(best->hdr);
		uint32_t len = best->hdr->caplen < FRAME_CAP ? best->hdr->caplen : FRAME_CAP;
		memcpy(frame, best->data, len);
		struct pkt p = { .data = frame, .len = len, .cap = FRAME_CAP };
		if (now - last_tick > 1000000000ull) {
			engine_tick(o.en, now);
			last_tick = now;
		}
		engine_input(o.en, &p, best->ifid, now, &out);
		n++;
		by_verdict[out.verdict]++;
		struct pcap_pkthdr h = *best->hdr;
		h.caplen = h.len = p.len;
		if (outdir && out.verdict == EV_FORWARD) {
			pcap_dumper_t *d = NULL;
			for (size_t k = 0; k < nouts; k++)
				if (outs[k].ifid == out.out_if)
					d = outs[k].d;
			if (!d && nouts < 64) {
				d = open_dump(outdir, name_of(NS_IFACE, out.out_if), &dead);
				outs[nouts++] = (struct output){ out.out_if, d };
			}
			if (d)
				pcap_dump((u_char *)d, &h, p.data);
		} else if (outdir && out.verdict == EV_LOCAL && local) {
			pcap_dump((u_char *)local, &h, p.data);
		}
		if (outdir && out.reply_len) { /* rejects and TTL exceeded go back out */
			pcap_dumper_t *d = NULL;
			for (size_t k = 0; k < nouts; k++)
				if (outs[k].ifid == out.reply_if)
					d = outs[k].d;
			if (!d && nouts < 64) {
				d = open_dump(outdir, name_of(NS_IFACE, out.reply_if), &dead);
				outs[nouts++] = (struct output){ out.reply_if, d };
			}
			struct pcap_pkthdr rh = h;
			rh.caplen = rh.len = out.reply_len;
			if (d)
				pcap_dump((u_char *)d, &rh, out.reply);
		}
		if (vf) {
			char a[20], b[20];
			fprintf(vf, "{\"n\":%llu,\"in\":", (unsigned long long)n);
			json_str(vf, best->ifname);
			fprintf(vf, ",\"verdict\":\"%s\",\"out\":", ev_name(out.verdict));
			if (out.verdict == EV_FORWARD)
				json_str(vf, name_of(NS_IFACE, out.out_if));
			else
				fputs("null", vf);
			if (out.rule_id)
				fprintf(vf, ",\"rule\":\"%s *%X\"", menu_of(out.table, p.family), out.rule_id);
			else
				fputs(",\"rule\":null", vf);
			fprintf(vf, ",\"reason\":\"%s\"", out.reason ? pkt_reason_name(out.reason) : "");
			fprintf(vf, ",\"ct\":\"%s\"", p.family ? ct_state_name(p.ct_state) : "");
			fputs(",\"packet_mark\":", vf);
			json_str(vf, name_of(NS_MARK, p.packet_mark));
			fputs(",\"connection_mark\":", vf);
			json_str(vf, p.ct ? name_of(NS_MARK, p.ct->mark) : "");
			fputs(",\"routing_mark\":", vf);
			json_str(vf, name_of(NS_MARK, p.routing_mark));
			if (p.family == 4) {
				ip4s(p.src.v4, a, sizeof(a));
				ip4s(p.dst.v4, b, sizeof(b));
				fprintf(vf, ",\"nat\":{\"src\":\"%s:%u\",\"dst\":\"%s:%u\"}", a, p.sport, b,
					p.dport);
			} else {
				fputs(",\"nat\":null", vf);
			}
			fprintf(vf, ",\"fasttrack\":%s}\n", out.fasttrack ? "true" : "false");
		}
		next_packet(best);
	}
	if (!strcmp(report, "text")) {
		report_text(&o, n, by_verdict);
	} else {
		printf("{\"packets\":%llu,\"forward\":%llu,\"local\":%llu,\"drop\":%llu,\"reject\":%llu,"
		       "\"drops\":{",
		       (unsigned long long)n, (unsigned long long)by_verdict[EV_FORWARD],
		       (unsigned long long)by_verdict[EV_LOCAL], (unsigned long long)by_verdict[EV_DROP],
		       (unsigned long long)by_verdict[EV_REJECT]);
		bool first = true;
		for (int r = 1; r < DR_MAX; r++) {
			uint64_t c = engine_drops(o.en, (enum drop_reason)r);
			if (c) {
				printf("%s\"%s\":%llu", first ? "" : ",", pkt_reason_name((enum drop_reason)r),
				       (unsigned long long)c);
				first = false;
			}
		}
		printf("},\"connections\":%zu}\n", ct_count(engine_ct(o.en)));
	}
	for (size_t k = 0; k < nouts; k++)
		if (outs[k].d)
			pcap_dump_close(outs[k].d);
	if (local)
		pcap_dump_close(local);
	if (dead)
		pcap_close(dead);
	for (size_t i = 0; i < nin; i++)
		pcap_close(in[i].pc);
	if (vf)
		fclose(vf);
	cli_unload(&o);
	return 0;
}

/* ---- trace ---- */

/* Rule lines name the rule as print numbers it, with its comment. */
static void trace_print(void *ctx, const char *stage, const char *text)
{
	struct cli_loaded *o = ctx;
	uint32_t id;
	const char *star = strstr(text, "rule *");
	char table[16] = "";
	/* the engine names IPv6 rules "ipv6 <table> <chain>" */
	bool v6 = !strncmp(stage, "ipv6 ", 5);
	sscanf(stage + (v6 ? 5 : 0), "%15s", table);
	if (star && sscanf(star + 6, "%x", &id) == 1 && table[0]) {
		char path[64];
		snprintf(path, sizeof(path), "/ip%s/firewall/%s", v6 ? "v6" : "", table);
		const struct menu *m = schema_find(path);
		long pos = m ? store_pos(o->st, m, id) : -1;
		if (pos >= 0) {
			const struct item *it = store_at(o->st, m, (size_t)pos);
			const char *c = item_get(m, it, "comment");
			const char *rest = strchr(star + 6, ' ');
			printf("%-22s #%ld %s%s%s%s\n", stage, pos, rest ? rest + 1 : "",
			       c && *c ? "  ;;; " : "", c && *c ? c : "", "");
			return;
		}
	}
	printf("%-22s %s\n", stage, text);
}

static void usage_trace(void)
{
	fprintf(stderr,
		"usage: rosfw trace (--config FILE.rsc | --db PATH) --in IFACE\n"
		"                   ('tcp 192.168.88.10:51515 > 1.2.3.4:443 flags=S' | --pcap FILE --index N)\n"
		"                   [--after FILE.pcap] [--lenient]\n");
}

int trace_main(int argc, char **argv)
{
	const char *configs[MAX_CONFIGS], *db = NULL, *ifname = NULL, *pcapf = NULL,
		   *after = NULL, *desc = NULL;
	size_t nconfigs = 0;
	long index = 1;
	bool lenient = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--config") && v && nconfigs < MAX_CONFIGS)
			configs[nconfigs++] = argv[++i];
		else if (!strcmp(a, "--db") && v)
			db = argv[++i];
		else if (!strcmp(a, "--in") && v)
			ifname = argv[++i];
		else if (!strcmp(a, "--pcap") && v)
			pcapf = argv[++i];
		else if (!strcmp(a, "--index") && v)
			index = strtol(argv[++i], NULL, 10);
		else if (!strcmp(a, "--after") && v)
			after = argv[++i];
		else if (!strcmp(a, "--lenient"))
			lenient = true;
		else if (a[0] != '-' && !desc)
			desc = a;
		else {
			usage_trace();
			return 2;
		}
	}
	if (!ifname || (!desc && !pcapf) || index < 1) {
		usage_trace();
		return 2;
	}
	struct cli_loaded o;
	if (cli_load(&o, configs, nconfigs, db, lenient, &ifname, 1, false) < 0)
		return 1;
	static uint8_t frame[FRAME_CAP];
	static struct engine_out out;
	char errbuf[PCAP_ERRBUF_SIZE];
	uint64_t now = 1000000000ull;
	uint16_t ifid = (uint16_t)name_intern(NS_IFACE, ifname);
	int rc = 0;
	if (after) { /* the connection state a capture leaves behind */
		pcap_t *pc = pcap_open_offline(after, errbuf);
		if (!pc) {
			fprintf(stderr, "rosfw trace: %s: %s\n", after, errbuf);
			cli_unload(&o);
			return 1;
		}
		struct pcap_pkthdr *h;
		const u_char *d;
		size_t n = 0;
		while (pcap_next_ex(pc, &h, &d) == 1) {
			uint32_t len = h->caplen < FRAME_CAP ? h->caplen : FRAME_CAP;
			memcpy(frame, d, len);
			struct pkt p = { .data = frame, .len = len, .cap = FRAME_CAP };
			now = ts_ns(h);
			engine_input(o.en, &p, ifid, now, &out);
			n++;
		}
		pcap_close(pc);
		printf("%-22s %zu packets of %s replayed, %zu connections\n", "after", n, after,
		       ct_count(engine_ct(o.en)));
		now += 1000000;
	}
	uint32_t len = 0;
	if (desc) {
		struct err e;
		err_clear(&e);
		int l = pkt_build(desc, frame, FRAME_CAP, &e);
		if (l < 0) {
			fprintf(stderr, "rosfw trace: %s\n", e.msg);
			cli_unload(&o);
			return 2;
		}
		len = (uint32_t)l;
	} else {
		pcap_t *pc = pcap_open_offline(pcapf, errbuf);
		if (!pc) {
			fprintf(stderr, "rosfw trace: %s: %s\n", pcapf, errbuf);
			cli_unload(&o);
			return 1;
		}
		struct pcap_pkthdr *h;
		const u_char *d;
		long k = 0;
		while (pcap_next_ex(pc, &h, &d) == 1)
			if (++k == index) {
				len = h->caplen < FRAME_CAP ? h->caplen : FRAME_CAP;
				memcpy(frame, d, len);
				now = ts_ns(h);
				break;
			}
		pcap_close(pc);
		if (!len) {
			fprintf(stderr, "rosfw trace: %s has no packet %ld\n", pcapf, index);
			cli_unload(&o);
			return 1;
		}
	}
	engine_set_trace(o.en, trace_print, &o);
	struct pkt p = { .data = frame, .len = len, .cap = FRAME_CAP };
	engine_input(o.en, &p, ifid, now, &out);
	engine_set_trace(o.en, NULL, NULL);
	printf("%-22s %s", "result", ev_name(out.verdict));
	if (out.verdict == EV_FORWARD)
		printf(" out:%s", name_of(NS_IFACE, out.out_if));
	if (out.rule_id)
		printf(" by %s *%X", menu_of(out.table, p.family), out.rule_id);
	if (out.reason)
		printf(" (%s)", pkt_reason_name(out.reason));
	printf("\n");
	if (p.family == 4) {
		char a[20], b[20];
		ip4s(p.src.v4, a, sizeof(a));
		ip4s(p.dst.v4, b, sizeof(b));
		printf("%-22s %s:%u -> %s:%u, ct %s, packet-mark %s, connection-mark %s, "
		       "routing-mark %s\n",
		       "after", a, p.sport, b, p.dport, ct_state_name(p.ct_state),
		       *name_of(NS_MARK, p.packet_mark) ? name_of(NS_MARK, p.packet_mark) : "no-mark",
		       p.ct && p.ct->mark ? name_of(NS_MARK, p.ct->mark) : "no-mark",
		       *name_of(NS_MARK, p.routing_mark) ? name_of(NS_MARK, p.routing_mark) : "no-mark");
	} else if (p.family == 6) {
		char d[200];
		pkt_describe(&p, d, sizeof(d));
		printf("%-22s %s, ct %s, packet-mark %s, connection-mark %s\n", "after", d,
		       ct_state_name(p.ct_state),
		       *name_of(NS_MARK, p.packet_mark) ? name_of(NS_MARK, p.packet_mark) : "no-mark",
		       p.ct && p.ct->mark ? name_of(NS_MARK, p.ct->mark) : "no-mark");
	}
	cli_unload(&o);
	return rc;
}
