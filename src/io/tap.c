/*
 * The TAP to the kernel's stack: ioctls only (TUNSETIFF, SIOCSIFFLAGS,
 * SIOCSIFADDR/NETMASK on NAME[:N], SIOCADDRT), no `ip` spawned.
 */
#include "tap.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
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

static void label(const struct tap *t, size_t i, char *out)
{
	if (i == 0)
		snprintf(out, IF_NAMESIZE, "%s", t->name);
	else
		snprintf(out, IF_NAMESIZE, "%.10s:%zu", t->name, i);
}

static int set_in(struct tap *t, unsigned long req, const char *name, uint32_t a)
{
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	struct sockaddr_in *sa = (struct sockaddr_in *)&ifr.ifr_addr;
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(a);
	return ioctl(t->ctl, req, &ifr) < 0 ? -errno : 0;
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
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", t->name);
	FILE *f = fopen(path, "w");
	if (f) {
		fputs("1\n", f);
		fclose(f);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	if (t->ctl < 0 || ioctl(t->ctl, SIOCGIFHWADDR, &ifr) < 0 ||
	    set_flags(t, t->name, IFF_UP | IFF_NOARP, 0) < 0) {
		err_set(e, "TAP %s: %s", t->name, strerror(errno));
		tap_close(t);
		return NULL;
	}
	memcpy(t->mac, ifr.ifr_hwaddr.sa_data, 6);
	return t;
}

void tap_close(struct tap *t)
{
	if (!t)
		return;
	if (t->ctl >= 0)
		close(t->ctl);
	close(t->fd); /* a non-persistent TAP goes away with its last fd */
	free(t);
}

int tap_set_addrs(struct tap *t, const uint32_t *addrs, size_t n)
{
	if (n > TAP_MAX_ADDRS)
		n = TAP_MAX_ADDRS;
	int rc = 0;
	char lb[IF_NAMESIZE];
	bool changed = n != t->naddrs;
	for (size_t i = 0; i < n; i++) {
		if (i < t->naddrs && t->addrs[i] == addrs[i])
			continue;
		changed = true;
		label(t, i, lb);
		int r = set_in(t, SIOCSIFADDR, lb, addrs[i]);
		if (!r)
			r = set_in(t, SIOCSIFNETMASK, lb, 0xffffffffu);
		if (r && !rc)
			rc = r;
	}
	/* an alias brought down is deleted (IPv4's SIOCSIFFLAGS on a label);
	 * the first label stays with its address when none is left */
	for (size_t i = n; i < t->naddrs; i++) {
		if (i == 0)
			continue;
		label(t, i, lb);
		set_flags(t, lb, 0, IFF_UP);
	}
	memcpy(t->addrs, addrs, n * sizeof(*addrs));
	t->naddrs = n;
	if (changed || !rc) {
		int r = default_route(t);
		if (r && !rc)
			rc = r;
	}
	return rc;
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
	eh[12] = 0x08, eh[13] = 0x00;
	struct iovec iov[2] = { { eh, 14 }, { (void *)ip, len } };
	ssize_t r = writev(t->fd, iov, 2);
	if (r < 0) {
		t->tx_drops++;
		return -errno;
	}
	t->tx_frames++;
	return 0;
}
