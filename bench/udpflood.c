/*
 * udpflood IF DST-MAC SRC-IP DST-IP SECONDS [FLOWS]: 64-byte UDP frames
 * (60 bytes + FCS on the wire) to port 9 as fast as one core sends them,
 * with an AF_PACKET socket past the qdisc, source ports cycling over FLOWS
 * (16) flows. Prints "sent N pps P". For bench/bench_fwd.sh: a sender that
 * costs as little per frame as the kernel allows, so the router is what
 * is measured.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME 60
#define BATCH 64
#define MAX_FLOWS 256

static uint16_t csum(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: udpflood IF DST-MAC SRC-IP DST-IP SECONDS [FLOWS]\n");
		return 2;
	}
	uint8_t dmac[6], smac[6];
	struct in_addr src, dst;
	unsigned m[6];
	if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    !inet_pton(AF_INET, argv[3], &src) || !inet_pton(AF_INET, argv[4], &dst)) {
		fprintf(stderr, "udpflood: bad MAC or address\n");
		return 2;
	}
	for (int i = 0; i < 6; i++)
		dmac[i] = (uint8_t)m[i];
	double secs = atof(argv[5]);
	int flows = argc > 6 ? atoi(argv[6]) : 16;
	if (secs <= 0 || secs > 600 || flows < 1 || flows > MAX_FLOWS) {
		fprintf(stderr, "udpflood: SECONDS 0-600, FLOWS 1-%d\n", MAX_FLOWS);
		return 2;
	}
	int fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("udpflood: socket");
		return 1;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		perror("udpflood: interface");
		return 1;
	}
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
		perror("udpflood: MAC");
		return 1;
	}
	memcpy(smac, ifr.ifr_hwaddr.sa_data, 6);
	int one = 1;
	(void)setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP),
				   .sll_ifindex = ifindex };
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		perror("udpflood: bind");
		return 1;
	}
	static uint8_t fr[MAX_FLOWS][FRAME];
	for (int f = 0; f < flows; f++) {
		uint8_t *p = fr[f], *ip = p + 14, *u = ip + 20;
		memcpy(p, dmac, 6);
		memcpy(p + 6, smac, 6);
		p[12] = 0x08;
		ip[0] = 0x45;
		ip[3] = FRAME - 14;
		ip[8] = 64;
		ip[9] = 17;
		memcpy(ip + 12, &src, 4);
		memcpy(ip + 16, &dst, 4);
		uint16_t c = csum(ip, 20, 0);
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
		uint16_t sport = (uint16_t)(40000 + f);
		u[0] = (uint8_t)(sport >> 8);
		u[1] = (uint8_t)sport;
		u[3] = 9;
		u[5] = FRAME - 34;
		for (int i = 8; i < FRAME - 34; i++)
			u[i] = (uint8_t)i;
		uint32_t ps = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
			      (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + 17 +
			      (FRAME - 34);
		c = csum(u, FRAME - 34, ps);
		u[6] = (uint8_t)(c >> 8);
		u[7] = (uint8_t)c;
	}
	struct mmsghdr mm[BATCH];
	struct iovec iov[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i] = (struct iovec){ fr[i % flows], FRAME };
		memset(&mm[i], 0, sizeof(mm[i]));
		mm[i].msg_hdr.msg_iov = &iov[i];
		mm[i].msg_hdr.msg_iovlen = 1;
	}
	uint64_t sent = 0;
	double t0 = now_s(), end = t0 + secs;
	while (now_s() < end) {
		int r = sendmmsg(fd, mm, BATCH, 0);
		if (r > 0)
			sent += (uint64_t)r;
		else if (r < 0 && errno != ENOBUFS && errno != EAGAIN && errno != EINTR) {
			perror("udpflood: send");
			return 1;
		}
	}
	double t = now_s() - t0;
	printf("sent %llu pps %.0f\n", (unsigned long long)sent, (double)sent / t);
	return 0;
}
