/*
 * mkpcap: writes capture files for the scenario tests from a script of
 * packet descriptions, one per line: "TIME_MS IFACE DESCRIPTION", where the
 * description is pkt_build's language (tcp/udp/icmp ...). One pcap per
 * interface, DIR/IFACE.pcap. Lines starting with '#' are comments.
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/pkt.h"

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: mkpcap SCRIPT DIR\n");
		return 2;
	}
	FILE *f = fopen(argv[1], "r");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	struct {
		char name[64];
		pcap_dumper_t *d;
	} outs[16];
	size_t nouts = 0;
	pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
	char line[1024];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			continue;
		char ifname[64];
		double ms;
		int off = 0;
		if (sscanf(p, "%lf %63s %n", &ms, ifname, &off) < 2 || !off) {
			fprintf(stderr, "%s:%d: expected TIME_MS IFACE DESCRIPTION\n", argv[1], lineno);
			rc = 1;
			break;
		}
		uint8_t buf[2048];
		struct err e;
		err_clear(&e);
		int len = pkt_build(p + off, buf, sizeof(buf), &e);
		if (len < 0) {
			fprintf(stderr, "%s:%d: %s\n", argv[1], lineno, e.msg);
			rc = 1;
			break;
		}
		pcap_dumper_t *d = NULL;
		for (size_t i = 0; i < nouts; i++)
			if (!strcmp(outs[i].name, ifname))
				d = outs[i].d;
		if (!d && nouts < 16) {
			char path[512];
			snprintf(path, sizeof(path), "%s/%s.pcap", argv[2], ifname);
			d = pcap_dump_open(dead, path);
			if (!d) {
				fprintf(stderr, "%s: %s\n", path, pcap_geterr(dead));
				rc = 1;
				break;
			}
			snprintf(outs[nouts].name, sizeof(outs[nouts].name), "%s", ifname);
			outs[nouts++].d = d;
		}
		struct pcap_pkthdr h;
		long long us = (long long)(ms * 1000.0) + 1000000; /* start at t=1s */
		h.ts.tv_sec = (time_t)(us / 1000000);
		h.ts.tv_usec = (suseconds_t)(us % 1000000);
		h.caplen = h.len = (bpf_u_int32)len;
		pcap_dump((u_char *)d, &h, buf);
	}
	for (size_t i = 0; i < nouts; i++)
		pcap_dump_close(outs[i].d);
	pcap_close(dead);
	fclose(f);
	return rc;
}
