/*
 * The TAP to the kernel's stack: ioctls for the device (TUNSETIFF,
 * SIOCSIFFLAGS) and IPv4's default route (SIOCADDRT), netlink for the
 * addresses of both families (a /32 or /128 each, no classful mask in
 * between, no NAME:N labels whose rewriting clashes with an address held on
 * another label); no `ip` spawned.
 */
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/route.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/sbuf.h"

const uint8_t TAP_PEER_MAC[6] = { 0x02, 0x52, 0x4f, 0x53, 0x46, 0x57 }; /* 02:"ROSFW" */

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static int set_flags(struct tap *t, const char *name, short on, short off)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(t->ctl, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	ifr.ifr_flags = (short)((ifr.ifr_flags | on) & ~off);
	return ioctl(t->ctl, SIOCSIFFLAGS, &ifr) < 0 ? -errno : 0;
}

static int default_route(struct tap *t)
{
	struct rtentry rt;
	memset(&rt, 0, sizeof(rt));
	((struct sockaddr_in *)&rt.rt_dst)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_genmask)->sin_family = AF_INET;
	((struct sockaddr_in *)&rt.rt_gateway)->sin_family = AF_INET;
	rt.rt_flags = RTF_UP;
	rt.rt_dev = t->name;
	if (ioctl(t->ctl, SIOCADDRT, &rt) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* One netlink request (its header and attributes in req) and its
 * acknowledgement: 0 or -errno. */
static int nl_call(struct tap *t, struct nlmsghdr *req)
{
	static uint32_t seq;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = ++seq;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	if (sendto(t->nl, req, req->nlmsg_len, 0, (struct sockaddr *)&to, sizeof(to)) < 0)
		return -errno;
	char buf[4096] __attribute__((aligned(4)));
	for (;;) {
		ssize_t r = recv(t->nl, buf, sizeof(buf), 0);
		if (r < 0)
			return errno == EINTR ? 0 : -errno;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)r);
		     h = NLMSG_NEXT(h, r)) {
			if (h->nlmsg_seq != req->nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			const struct nlmsgerr *er = NLMSG_DATA(h);
			return er->error;
		}
	}
}

/* A netlink request: its header, its message (body bytes), attributes. */
struct nl_req {
	struct nlmsghdr h;
	union {
		struct ifaddrmsg addr;
		struct rtmsg route;
	} m;
	char attrs[64];
};

static void nl_attr(struct nl_req *q, uint16_t type, const void *data, uint16_t len)
{
	struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->h.nlmsg_len));
	a->rta_type = type;
	a->rta_len = (uint16_t)RTA_LENGTH(len);
	memcpy(RTA_DATA(a), data, len);
	q->h.nlmsg_len = NLMSG_ALIGN(q->h.nlmsg_len) + RTA_ALIGN(a->rta_len);
}

static void nl_begin(struct nl_req *q, uint16_t type, uint16_t flags, size_t body)
{
	memset(q, 0, sizeof(*q));
	q->h.nlmsg_len = NLMSG_LENGTH(body);
	q->h.nlmsg_type = type;
	q->h.nlmsg_flags = flags;
}

/* Adds (RTM_NEWADDR) or deletes (RTM_DELADDR) address a (alen bytes: 4 for
 * IPv4, 16 for IPv6) on the TAP, as a host address (/32, /128). */
static int addr_op(struct tap *t, uint16_t op, const uint8_t *a, size_t alen)
{
	bool v6 = alen == 16;
	struct nl_req req;
	nl_begin(&req, op, op == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_REPLACE : 0,
		 sizeof(struct ifaddrmsg));
	struct ifaddrmsg *m = &req.m.addr;
	m->ifa_family = v6 ? AF_INET6 : AF_INET;
	m->ifa_prefixlen = (uint8_t)(alen * 8);
	m->ifa_flags = v6 ? IFA_F_NODAD : 0;
	m->ifa_scope = v6 && a[0] == 0xfe && (a[1] & 0xc0) == 0x80 ? RT_SCOPE_LINK
								  : RT_SCOPE_UNIVERSE;
	m->ifa_index = (uint32_t)t->ifindex;
	nl_attr(&req, IFA_LOCAL, a, (uint16_t)alen);
	nl_attr(&req, IFA_ADDRESS, a, (uint16_t)alen);
	if (v6) {
		uint32_t fl = IFA_F_NODAD;
		nl_attr(&req, IFA_FLAGS, &fl, 4);
	}
	return nl_call(t, &req.h);
}

static bool holds(const uint8_t *set, size_t n, const uint8_t *a, size_t alen)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(set + i * alen, a, alen))
			return true;
	return false;
}

/*
 * Makes the TAP's addresses of one family (alen bytes each) exactly the nw
 * of want; cur holds the *nc the TAP has (at most max), and afterwards
 * what it has then, so that what failed is tried again on the next call.
 * The new ones go on before the old ones go off: a device left without an
 * IPv4 address loses its routes. 0, or the first -errno.
 */
static int sync_addrs(struct tap *t, uint8_t *cur, size_t *nc, const uint8_t *want, size_t nw,
		      size_t alen, size_t max)
{
	uint8_t now[TAP_MAX_ADDRS6 * 16];
	size_t nn = 0;
	int rc = 0;
	for (size_t i = 0; i < nw && nn < max; i++) {
		const uint8_t *a = want + i * alen;
		if (holds(now, nn, a, alen))
			continue;
		int r = holds(cur, *nc, a, alen) ? 0 : addr_op(t, RTM_NEWADDR, a, alen);
		if (r && !rc)
			rc = r;
		if (!r)
			memcpy(now + nn++ * alen, a, alen);
	}
	for (size_t i = 0; i < *nc; i++) {
		const uint8_t *a = cur + i * alen;
		if (holds(want, nw, a, alen))
			continue;
		int r = addr_op(t, RTM_DELADDR, a, alen);
		if (r == -EADDRNOTAVAIL)
			r = 0;
		if (r && !rc)
			rc = r;
		if (r && nn < max) /* still there */
			memcpy(now + nn++ * alen, a, alen);
	}
	memcpy(cur, now, nn * alen);
	*nc = nn;
	return rc;
}

static int default_route6(struct tap *t)
{
	struct nl_req req;
	nl_begin(&req, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct rtmsg));
	struct rtmsg *m = &req.m.route;
	m->rtm_family = AF_INET6;
	m->rtm_table = RT_TABLE_MAIN;
	m->rtm_protocol = RTPROT_STATIC;
	m->rtm_scope = RT_SCOPE_UNIVERSE;
	m->rtm_type = RTN_UNICAST;
	uint32_t oif = (uint32_t)t->ifindex;
	nl_attr(&req, RTA_OIF, &oif, 4);
	int r = nl_call(t, &req.h);
	return r == -EEXIST ? 0 : r;
}

static void ipv6_conf(const char *ifname, const char *key, const char *v)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/%s", ifname, key);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(v, f);
		fclose(f);
	}
}

int tap_set_addrs6(struct tap *t, const uint8_t (*addrs)[16], size_t n)
{
	if (t->nl < 0)
		return -ENOTSUP;
	if (n > TAP_MAX_ADDRS6)
		n = TAP_MAX_ADDRS6;
	int rc = sync_addrs(t, &t->addrs6[0][0], &t->naddrs6, &addrs[0][0], n, 16, TAP_MAX_ADDRS6);
	int r = default_route6(t);
	return rc ? rc : r;
}

struct tap *tap_open(const char *name, struct err *e)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		err_set(e, "/dev/net/tun: %s", strerror(errno));
		return NULL;
	}
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err_set(e, "TAP %s: %s", name, strerror(errno));
		close(fd);
		return NULL;
	}
	struct tap *t = xcalloc(1, sizeof(*t));
	t->fd = fd;
	snprintf(t->name, sizeof(t->name), "%s", ifr.ifr_name);
	t->ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	t->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	t->ifindex = (int)if_nametoindex(t->name);
	/* the kernel's IPv6 on the TAP: only the addresses rosfw gives it */
	ipv6_conf(t->name, "addr_gen_mode", "1\n");
	ipv6_conf(t->name, "accept_ra", "0\n");
	ipv6_conf(t->name, "autoconf", "0\n");
	ipv6_conf(t->name, "router_solicitations", "0\n");
	ipv6_conf(t->name, "dad_transmits", "0\n");
	ipv6_conf(t->name, "disable_ipv6", "0\n");
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	if (t->ctl < 0 || ioctl(t->ctl, SIOCGIFHWADDR, &ifr) < 0 ||
	    set_flags(t, t->name, IFF_UP | IFF_NOARP, 0) < 0) {
		err_set(e, "TAP %s: %s", t->name, strerror(errno));
		tap_close(t);
		return NULL;
	}
	memcpy(t->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(t->ctl, SIOCGIFMTU, &ifr) == 0)
		t->mtu = (uint32_t)ifr.ifr_mtu;
	return t;
}

void tap_close(struct tap *t)
{
	if (!t)
		return;
	if (t->ctl >= 0)
		close(t->ctl);
	if (t->nl >= 0)
		close(t->nl);
	close(t->fd); /* a non-persistent TAP goes away with its last fd */
	free(t);
}

int tap_set_addrs(struct tap *t, const uint32_t *addrs, size_t n)
{
	if (t->nl < 0)
		return -ENOTSUP;
	if (n > TAP_MAX_ADDRS)
		n = TAP_MAX_ADDRS;
	uint8_t cur[TAP_MAX_ADDRS][4], want[TAP_MAX_ADDRS][4];
	for (size_t i = 0; i < t->naddrs; i++)
		put_be32(cur[i], t->addrs[i]);
	for (size_t i = 0; i < n; i++)
		put_be32(want[i], addrs[i]);
	int rc = sync_addrs(t, &cur[0][0], &t->naddrs, &want[0][0], n, 4, TAP_MAX_ADDRS);
	for (size_t i = 0; i < t->naddrs; i++)
		t->addrs[i] = (uint32_t)cur[i][0] << 24 | (uint32_t)cur[i][1] << 16 |
			      (uint32_t)cur[i][2] << 8 | cur[i][3];
	/* the kernel drops a device's routes with its last IPv4 address */
	int r = default_route(t);
	return rc ? rc : r;
}

int tap_set_mtu(struct tap *t, uint32_t mtu)
{
	if (mtu == t->mtu)
		return 0;
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	ifr.ifr_mtu = (int)mtu;
	if (ioctl(t->ctl, SIOCSIFMTU, &ifr) < 0)
		return -errno;
	t->mtu = mtu;
	return 0;
}

int tap_read(struct tap *t, uint8_t *buf, size_t cap)
{
	ssize_t r = read(t->fd, buf, cap);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	t->rx_frames++;
	return (int)r;
}

int tap_write_ip(struct tap *t, const uint8_t *ip, uint32_t len)
{
	uint8_t eh[14];
	memcpy(eh, t->mac, 6);
	memcpy(eh + 6, TAP_PEER_MAC, 6);
	bool v6 = len && (ip[0] >> 4) == 6;
	eh[12] = v6 ? 0x86 : 0x08;
	eh[13] = v6 ? 0xdd : 0x00;
	struct iovec iov[2] = { { eh, 14 }, { (void *)ip, len } };
	ssize_t r = writev(t->fd, iov, 2);
	if (r < 0) {
		t->tx_drops++;
		return -errno;
	}
	t->tx_frames++;
	return 0;
}
