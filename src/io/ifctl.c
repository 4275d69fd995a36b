#include "ifctl.h"

#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>

int ifctl_ioctl(int fd, const char *ifname, unsigned long req, struct ifreq *ifr)
{
	memset(ifr->ifr_name, 0, sizeof(ifr->ifr_name));
	memcpy(ifr->ifr_name, ifname, strnlen(ifname, IF_NAMESIZE - 1));
	return ioctl(fd, req, ifr);
}

static void flags_off(int fd, const char *ifname, uint32_t off)
{
	struct ifreq ifr;
	struct ethtool_value ev = { .cmd = ETHTOOL_GFLAGS };
	ifr.ifr_data = (void *)&ev;
	if (ifctl_ioctl(fd, ifname, SIOCETHTOOL, &ifr) == 0 && (ev.data & off)) {
		ev.cmd = ETHTOOL_SFLAGS;
		ev.data &= ~off;
		(void)ifctl_ioctl(fd, ifname, SIOCETHTOOL, &ifr);
	}
}

void ifctl_prepare(int fd, const char *ifname, bool rx_vlan_off)
{
	struct ifreq ifr;
	if (ifctl_ioctl(fd, ifname, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		(void)ifctl_ioctl(fd, ifname, SIOCSIFFLAGS, &ifr);
	}
	struct ethtool_value ev = { .cmd = ETHTOOL_SGRO, .data = 0 };
	ifr.ifr_data = (void *)&ev;
	(void)ifctl_ioctl(fd, ifname, SIOCETHTOOL, &ifr);
	flags_off(fd, ifname, ETH_FLAG_LRO | (rx_vlan_off ? ETH_FLAG_RXVLAN : 0));
}

enum io_link ifctl_link(int fd, struct io_handle *h)
{
	struct ifreq ifr;
	if (ifctl_ioctl(fd, h->ifname, SIOCGIFINDEX, &ifr) < 0 || ifr.ifr_ifindex != h->ifindex)
		return IO_LINK_GONE;
	if (ifctl_ioctl(fd, h->ifname, SIOCGIFFLAGS, &ifr) < 0)
		return IO_LINK_GONE;
	short fl = ifr.ifr_flags;
	if (ifctl_ioctl(fd, h->ifname, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(h->mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ifctl_ioctl(fd, h->ifname, SIOCGIFMTU, &ifr) == 0)
		h->mtu = (uint32_t)ifr.ifr_mtu;
	return (fl & IFF_UP) && (fl & IFF_RUNNING) ? IO_LINK_UP : IO_LINK_DOWN;
}
