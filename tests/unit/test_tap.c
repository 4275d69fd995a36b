/*
 * The TAP's IPv4 addresses against the kernel: after each tap_set_addrs the
 * kernel holds exactly the addresses given (read back with getifaddrs) and
 * the default route through the TAP, whatever went before (an address
 * removed in front of others, two swapped, none left, back again); IPv6
 * addresses the same; the MTU. Runs in
 * a network namespace of its own; skipped without root or /dev/net/tun.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io/tap.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))
#define MAXA 4

/* The IPv4 addresses the kernel holds on ifname (host order), sorted. */
static size_t kernel_addrs(const char *ifname, uint32_t *out, size_t max)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;
	if (getifaddrs(&ifa) < 0)
		return 0;
	for (i = ifa; i; i = i->ifa_next) {
		/* aliases show as NAME:N; they are ifname's too */
		size_t l = strlen(ifname);
		if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET ||
		    strncmp(i->ifa_name, ifname, l) || (i->ifa_name[l] && i->ifa_name[l] != ':'))
			continue;
		if (n < max)
			out[n++] = ntohl(((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr);
	}
	freeifaddrs(ifa);
	for (size_t a = 1; a < n; a++)
		for (size_t b = a; b > 0 && out[b - 1] > out[b]; b--) {
			uint32_t x = out[b];
			out[b] = out[b - 1];
			out[b - 1] = x;
		}
	return n;
}

/* How many times the kernel holds IPv6 address a on ifname. */
static int kernel_addrs6(const char *ifname, const uint8_t a[16])
{
	struct ifaddrs *ifa, *i;
	int n = 0;
	if (getifaddrs(&ifa) < 0)
		return -1;
	for (i = ifa; i; i = i->ifa_next)
		if (i->ifa_addr && i->ifa_addr->sa_family == AF_INET6 && !strcmp(i->ifa_name, ifname) &&
		    !memcmp(((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr.s6_addr, a, 16))
			n++;
	freeifaddrs(ifa);
	return n;
}

/* Is there an IPv4 default route through ifname? */
static bool default_route_on(const char *ifname)
{
	FILE *f = fopen("/proc/net/route", "r");
	char line[256], dev[32];
	unsigned dst, mask;
	bool found = false;
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%31s %x %*x %*x %*d %*d %*d %x", dev, &dst, &mask) == 3 &&
		    !strcmp(dev, ifname) && dst == 0 && mask == 0)
			found = true;
	fclose(f);
	return found;
}

struct step {
	uint32_t set[MAXA];
	size_t n;
};

static const struct step steps[] = {
	{ { IP(203, 0, 113, 2), IP(192, 168, 88, 1), IP(192, 168, 88, 129) }, 3 },
	/* the first goes (a WAN address lost): the others stay */
	{ { IP(192, 168, 88, 1), IP(192, 168, 88, 129) }, 2 },
	/* swapped */
	{ { IP(192, 168, 88, 129), IP(192, 168, 88, 1) }, 2 },
	/* one in the middle goes, a new one at the end */
	{ { IP(10, 1, 2, 3), IP(192, 168, 88, 129), IP(192, 168, 88, 1) }, 3 },
	{ { IP(10, 1, 2, 3), IP(192, 168, 88, 1), IP(172, 16, 0, 1) }, 3 },
	/* none, then one again */
	{ { 0 }, 0 },
	{ { IP(192, 168, 88, 1) }, 1 },
	{ { IP(203, 0, 113, 2), IP(192, 168, 88, 1) }, 2 },
};

static void test_addrs(void **state)
{
	(void)state;
	if (geteuid() != 0 || access("/dev/net/tun", R_OK | W_OK) != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("SKIP: needs root and /dev/net/tun\n");
		skip();
	}
	struct err e;
	err_clear(&e);
	struct tap *t = tap_open("rosfwtap0", &e);
	assert_non_null(t);
	for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
		const struct step *st = &steps[s];
		assert_int_equal(tap_set_addrs(t, st->set, st->n), 0);
		uint32_t want[MAXA], got[MAXA];
		memcpy(want, st->set, sizeof(want));
		for (size_t a = 1; a < st->n; a++)
			for (size_t b = a; b > 0 && want[b - 1] > want[b]; b--) {
				uint32_t x = want[b];
				want[b] = want[b - 1];
				want[b - 1] = x;
			}
		size_t n = kernel_addrs(t->name, got, MAXA);
		if (n != st->n || memcmp(got, want, n * sizeof(*got)))
			fail_msg("step %zu: the kernel holds %zu addresses (first %08x), wanted %zu",
				 s, n, n ? got[0] : 0, st->n);
		if (st->n && !default_route_on(t->name))
			fail_msg("step %zu: no default route through %s", s, t->name);
	}
	/* IPv6: the same, /128 each, link-local ones included */
	uint8_t a6[3][16] = { { 0xfd, 0, [15] = 1 }, { 0xfe, 0x80, [15] = 1 }, { 0xfd, 0, [15] = 2 } };
	assert_int_equal(tap_set_addrs6(t, (const uint8_t(*)[16])a6, 2), 0);
	assert_int_equal(kernel_addrs6(t->name, a6[0]), 1);
	assert_int_equal(kernel_addrs6(t->name, a6[1]), 1);
	assert_int_equal(tap_set_addrs6(t, (const uint8_t(*)[16])a6 + 1, 2), 0);
	assert_int_equal(kernel_addrs6(t->name, a6[0]), 0);
	assert_int_equal(kernel_addrs6(t->name, a6[1]), 1);
	assert_int_equal(kernel_addrs6(t->name, a6[2]), 1);
	/* the MTU, as the kernel sees it */
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->name);
	assert_int_equal(tap_set_mtu(t, 1400), 0);
	assert_int_equal(ioctl(t->ctl, SIOCGIFMTU, &ifr), 0);
	assert_int_equal(ifr.ifr_mtu, 1400);
	assert_int_equal(t->mtu, 1400);
	tap_close(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
