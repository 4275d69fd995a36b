/*
 * ifctl: what the packet I/O backends ask of and set on a Linux interface
 * through ioctls on a socket of theirs (any packet or datagram socket;
 * not an AF_XDP one, which answers no interface ioctl). Stateless; errors
 * are ignored where the backend can work without the setting.
 */
#ifndef ROSFW_IO_IFCTL_H
#define ROSFW_IO_IFCTL_H

#include <net/if.h>
#include <stdbool.h>

#include "io.h"

int ifctl_ioctl(int fd, const char *ifname, unsigned long req, struct ifreq *ifr);
/* Up, with GRO and LRO off so frames arrive as they were on the wire;
 * rx_vlan_off also keeps 802.1Q tags in the frame (a backend that cannot
 * report a tag the NIC took off). */
void ifctl_prepare(int fd, const char *ifname, bool rx_vlan_off);
/* Link state now, and mac and mtu refreshed; GONE when the name no longer
 * names the interface h was opened on. */
enum io_link ifctl_link(int fd, struct io_handle *h);

#endif
