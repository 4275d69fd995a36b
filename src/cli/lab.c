/*
 * rosfw lab: the router on real interfaces between hosts in network
 * namespaces, all on this machine.
 *
 *   PREFIX-wan    eth0 203.0.113.1/24: the internet host, with a TCP and UDP
 *                 echo (port 7) and an HTTP server (port 80) that tells the
 *                 client its address as seen from there
 *   PREFIX-lan    eth0 192.168.88.10/25 gw .1, with a TCP echo (port 7)
 *   PREFIX-wifi   eth0 192.168.88.130/25 gw .129
 *   PREFIX-router ether1 / ether2 / wlan1, the other ends, without any
 *                 kernel address: rosfw runs there, mapping ether1-gateway=
 *                 ether1, ether2-master-local=ether2, wlan1=wlan1 (a Linux
 *                 name has at most 15 characters, so the long RouterOS
 *                 names cannot be the Linux names themselves).
 *
 * The router is `rosfw lab router`: store, engine, queues, loop and the
 * dataplane in one small process on the built-in configuration
 * (examples/soho.rsc) plus --config scripts, writing its counters to a
 * stats file every 200 ms (the queue trees' counters among them). `lab
 * apply FILE.rsc` hands it a change, which it imports and applies as the
 * daemon does (queues in place where qos_update allows, else rebuilt with
 * their packets). With `lab up --daemon` it is `rosfw run --iface
 * ...` instead (admin password "lab", --ct-max-entries passed on), with its
 * console socket in the lab's directory: tests/lab/live.sh drives it. The
 * servers and the test clients of `lab test` are written here, so `lab
 * test` needs nothing but iproute2 (live.sh uses iperf3, irtt, curl).
 * Local services: rosfw hands what its input chain accepts to the kernel
 * through a TAP (rosfw0) in the router's namespace; `lab test` runs a TCP
 * echo on 0.0.0.0:9999 there for the duration of its checks.
 * Every process the lab starts has its pid in the lab's directory; `lab
 * down` stops those (and only those) and deletes the namespaces.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "conf/runtime.h"
#include "daemon/loop.h"
#include "engine/engine.h"
#include "io/dataplane.h"
#include "qos/qos.h"

#define MAX_IFACES 16

/* An AddressSanitizer build (make asan) checks the heap for leaks as a
 * process exits, which takes the router a while: lab down waits for it. */
#if defined(__SANITIZE_ADDRESS__)
#define LAB_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LAB_ASAN 1
#endif
#endif
#ifndef LAB_ASAN
#define LAB_ASAN 0
#endif

struct lab {
	char prefix[32];
	char dir[256];
	bool daemon;
	const char *ct_max;   /* --ct-max-entries for the daemon */
	const char *configs[MAX_CONFIGS];
	size_t nconfigs;
};

struct lab_host {
	const char *ns;       /* suffix */
	const char *rif;      /* the router's Linux interface */
	const char *ros;      /* its RouterOS name */
	const char *addr;
	const char *gw;
};

static const struct lab_host hosts[] = {
	{ "wan", "ether1", "ether1-gateway", "203.0.113.1/24", NULL },
	{ "lan", "ether2", "ether2-master-local", "192.168.88.10/25", "192.168.88.1" },
	{ "wifi", "wlan1", "wlan1", "192.168.88.130/25", "192.168.88.129" },
};
#define NHOSTS (sizeof(hosts) / sizeof(hosts[0]))

static void ns_name(const struct lab *L, const char *suffix, char *out, size_t n)
{
	snprintf(out, n, "%s-%s", L->prefix, suffix);
}

static void lab_path(const struct lab *L, const char *file, char *out, size_t n)
{
	snprintf(out, n, "%s/%s", L->dir, file);
}

/* ---- processes ---- */

/* Runs a command (argv split on spaces), quietly; its exit status. */
static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	char copy[512], *argv[48];
	snprintf(copy, sizeof(copy), "%s", cmd);
	int argc = 0;
	for (char *t = strtok(copy, " "); t && argc < 47; t = strtok(NULL, " "))
		argv[argc++] = t;
	argv[argc] = NULL;
	int errp[2];
	if (pipe(errp) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		execvp(argv[0], argv);
		/* a copy of this process that could not exec: _exit, so it
		 * neither runs our exit handlers nor flushes our stdio again */
		_exit(127);
	}
	close(errp[1]);
	char err[512];
	ssize_t k = read(errp[0], err, sizeof(err) - 1);
	close(errp[0]);
	int st;
	waitpid(pid, &st, 0);
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	if (rc) {
		err[k > 0 ? k : 0] = 0;
		fprintf(stderr, "lab: '%s' failed: %s", cmd, k > 0 ? err : "\n");
	}
	return rc;
}

static int enter_ns(const char *ns)
{
	char path[300];
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = setns(fd, CLONE_NEWNET);
	close(fd);
	return rc;
}

static bool ns_exists(const char *ns)
{
	char path[300];
	snprintf(path, sizeof(path), "/run/netns/%s", ns);
	return access(path, F_OK) == 0;
}

/* fn(arg) in a child inside namespace ns; its result (0..255), -1 if the
 * namespace cannot be entered. The child ends with _exit: fn keeps nothing
 * on the heap, and what the child holds there is its copy of ours, which
 * this process frees; exit would run our exit handlers (a sanitizer's leak
 * check of that copy among them) and flush our stdio buffers once more. */
static int in_ns(const char *ns, int (*fn)(void *), void *arg)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (enter_ns(ns) < 0)
			_exit(255);
		_exit(fn(arg) & 255);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	int rc = WIFEXITED(st) ? WEXITSTATUS(st) : 254;
	return rc == 255 ? -1 : rc;
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static pid_t read_pid(const char *path)
{
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	return (pid_t)pid;
}

/* A pid of ours: alive, and running the rosfw binary. */
static bool our_pid(pid_t pid)
{
	if (pid <= 0 || kill(pid, 0) < 0)
		return false;
	char link[64], exe[512];
	snprintf(link, sizeof(link), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return false;
	exe[n] = 0;
	const char *base = strrchr(exe, '/');
	return base && !strncmp(base + 1, "rosfw", 5);
}

/* Starts fn in namespace ns as a detached process whose pid goes to pidfile,
 * with stdout and stderr to logfile. It ends with _exit, as in_ns's child:
 * fn is a server that keeps nothing on the heap, or the exec of the router,
 * which then exits through its own main (its leak check included). */
static int spawn_in_ns(const char *ns, const char *pidfile, const char *logfile,
		       int (*fn)(void *), void *arg)
{
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		setsid();
		int null = open("/dev/null", O_RDONLY);
		int log = open(logfile, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0644);
		dup2(null, 0);
		if (log >= 0) {
			dup2(log, 1);
			dup2(log, 2);
		}
		if (enter_ns(ns) < 0)
			_exit(1);
		_exit(fn(arg));
	}
	char buf[32];
	snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	write_file(pidfile, buf);
	return 0;
}

/* ---- host set-up (inside a namespace) ---- */

static void sysctl_set(const char *path, const char *v)
{
	write_file(path, v);
}

/* TSO/GSO off: a veth hands its peer whole 64 KiB segments otherwise, which
 * no wire would carry. The checksum stays offloaded: rosfw completes it. */
static void offloads_off(const char *ifname)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return;
	const uint32_t cmds[] = { ETHTOOL_STSO, ETHTOOL_SGSO };
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		struct ethtool_value ev = { .cmd = cmds[i], .data = 0 };
		struct ifreq ifr;
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		ifr.ifr_data = (void *)&ev;
		(void)ioctl(fd, SIOCETHTOOL, &ifr);
	}
	close(fd);
}

static int setup_quiet_ns(void *arg)
{
	(void)arg;
	/* no IPv6 chatter (router solicitations, DAD) on the lab's wires */
	sysctl_set("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	sysctl_set("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	return 0;
}

static int setup_host_offloads(void *arg)
{
	(void)arg;
	offloads_off("eth0");
	return 0;
}

/* Waits (3 s at most) until every router port has carrier: a veth's
 * carrier-on reaches the flags up to a second late (linkwatch). */
static int wait_carrier_fn(void *arg)
{
	(void)arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	for (int i = 0; i < 60; i++) {
		bool all = true;
		for (size_t k = 0; k < NHOSTS; k++) {
			struct ifreq ifr;
			memset(&ifr, 0, sizeof(ifr));
			snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", hosts[k].rif);
			all &= ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_RUNNING);
		}
		if (all)
			return 0;
		usleep(50000);
	}
	return 1;
}

/* ---- servers (lab serve, inside the wan and lan namespaces) ---- */

enum { SK_FREE, SK_ECHO, SK_HTTP };

struct sconn {
	int fd, kind;
	size_t n;
	char buf[2048];
};

static int listen_tcp(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0) {
		perror("lab serve: listen");
		return -1;
	}
	return fd;
}

static volatile int serve_stop;

static void serve_signal(int sig)
{
	(void)sig;
	serve_stop = 1;
}

static void http_answer(struct sconn *c)
{
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	char addr[64] = "?";
	if (getpeername(c->fd, (struct sockaddr *)&peer, &pl) == 0) {
		char a[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &peer.sin_addr, a, sizeof(a));
		snprintf(addr, sizeof(addr), "%s:%u", a, ntohs(peer.sin_port));
	}
	char body[128], out[512];
	int bl = snprintf(body, sizeof(body), "rosfw lab: you are %s\n", addr);
	int ol = snprintf(out, sizeof(out),
			  "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n"
			  "Connection: close\r\n\r\n%s",
			  bl, body);
	(void)!write(c->fd, out, (size_t)ol);
}

static int serve_run(void *arg)
{
	bool http = arg != NULL;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, serve_signal);
	signal(SIGINT, serve_signal);
	int echo = listen_tcp(7), web = http ? listen_tcp(80) : -1;
	int udp = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(7) };
	if (echo < 0 || (http && web < 0) || udp < 0 ||
	    bind(udp, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 1;
	printf("lab serve: tcp/udp echo on 7%s\n", http ? ", http on 80" : "");
	fflush(stdout);
	struct sconn c[64];
	for (size_t i = 0; i < 64; i++)
		c[i].kind = SK_FREE;
	while (!serve_stop) {
		struct pollfd p[67];
		size_t map[67], np = 0;
		p[np++] = (struct pollfd){ echo, POLLIN, 0 };
		p[np++] = (struct pollfd){ udp, POLLIN, 0 };
		if (web >= 0)
			p[np++] = (struct pollfd){ web, POLLIN, 0 };
		size_t base = np;
		for (size_t i = 0; i < 64; i++)
			if (c[i].kind != SK_FREE) {
				map[np] = i;
				p[np++] = (struct pollfd){ c[i].fd, POLLIN, 0 };
			}
		if (poll(p, np, 500) <= 0)
			continue;
		for (size_t k = 0; k < base; k++) {
			if (!(p[k].revents & POLLIN))
				continue;
			if (p[k].fd == udp) {
				char b[2048];
				struct sockaddr_in from;
				socklen_t fl = sizeof(from);
				ssize_t r = recvfrom(udp, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
				if (r > 0)
					sendto(udp, b, (size_t)r, 0, (struct sockaddr *)&from, fl);
				continue;
			}
			int fd = accept4(p[k].fd, NULL, NULL, SOCK_NONBLOCK);
			if (fd < 0)
				continue;
			size_t i;
			for (i = 0; i < 64 && c[i].kind != SK_FREE; i++)
				;
			if (i == 64) {
				close(fd);
				continue;
			}
			c[i].fd = fd;
			c[i].n = 0;
			c[i].kind = p[k].fd == echo ? SK_ECHO : SK_HTTP;
		}
		for (size_t k = base; k < np; k++) {
			if (!p[k].revents)
				continue;
			struct sconn *s = &c[map[k]];
			ssize_t r = read(s->fd, s->buf + s->n, sizeof(s->buf) - 1 - s->n);
			if (r < 0 && errno == EAGAIN)
				continue;
			bool done = r <= 0;
			if (!done && s->kind == SK_ECHO) {
				(void)!write(s->fd, s->buf, (size_t)r);
			} else if (!done) {
				s->n += (size_t)r;
				s->buf[s->n] = 0;
				if (strstr(s->buf, "\r\n\r\n") || s->n >= sizeof(s->buf) - 1) {
					http_answer(s);
					done = true;
				}
			}
			if (done) {
				close(s->fd);
				s->kind = SK_FREE;
			}
		}
	}
	return 0;
}

/* ---- the router (lab router) ---- */

static volatile int router_stop;
static volatile sig_atomic_t router_hup; /* lab apply: a script is waiting */

static void router_signal(int sig)
{
	if (sig == SIGHUP)
		router_hup = 1;
	else
		router_stop = 1;
}

static uint64_t mono_ns(void *ctx)
{
	(void)ctx;
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct router {
	struct store *st;
	struct conf_session *s;
	struct engine *en;
	struct dataplane *dp;
	struct qos *q;
	const char *stats;
	const char *apply;  /* lab apply's script, read on SIGHUP */
	bool qos_dirty;     /* a commit changed what the queues are built from */
	unsigned round;
};

static void router_on_commit(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct router *r = ctx;
	r->qos_dirty |= qos_reads(changed, nwords);
}

/*
 * lab apply: the script at r->apply, imported as one transaction (an error
 * changes nothing), then the firewall and, when what they are built from
 * changed, the queues compiled again as the daemon does: into the running
 * queues where qos_update allows, else a new build that takes their
 * packets and counters. One line on what happened goes to r->apply's
 * ".result" file (written whole, then renamed) and to the log.
 */
static void router_apply(struct router *r)
{
	struct err e;
	err_clear(&e);
	struct sbuf res = SBUF_INIT, report = SBUF_INIT;
	char *text = cli_slurp(r->apply);
	if (!text) {
		sbuf_printf(&res, "error: cannot read %s: %s", r->apply, strerror(errno));
	} else if (conf_import(r->s, text, "lab apply", 0, &report, &e) < 0) {
		sbuf_puts(&res, "error: ");
		err_format(&e, &res);
	} else if (engine_load(r->en, r->st, &e) < 0) {
		sbuf_printf(&res, "error: configuration not applied: %s", e.msg);
	} else {
		dataplane_load(r->dp, r->st);
		char msg[256] = "";
		struct qos *q = r->q;
		const char *what = "queues unchanged";
		if (r->qos_dirty) {
			q = qos_apply(r->q, r->st, mono_ns(NULL), msg, sizeof(msg));
			what = q == r->q ? "queues updated in place"
					 : "queues rebuilt, their packets carried over";
		}
		if (!q) {
			sbuf_printf(&res, "error: queues not applied: %s", msg);
		} else {
			r->qos_dirty = false;
			if (q != r->q) {
				/* the traffic hands over first, then the old queues go */
				dataplane_set_qos(r->dp, q);
				qos_free(r->q);
				r->q = q;
			}
			sbuf_printf(&res, "applied: %s", what);
		}
	}
	free(text);
	sbuf_free(&report);
	sbuf_reset(&r->s->out);
	sbuf_reset(&r->s->warn);
	printf("rosfw lab router: lab apply: %s\n", sbuf_str(&res));
	fflush(stdout);
	char path[600], tmp[620];
	snprintf(path, sizeof(path), "%s.result", r->apply);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	sbuf_putc(&res, '\n');
	write_file(tmp, sbuf_str(&res));
	rename(tmp, path);
	sbuf_free(&res);
}

static void router_tick(struct loop *l, void *ctx)
{
	(void)l;
	struct router *r = ctx;
	engine_tick(r->en, mono_ns(NULL));
	if (router_hup && r->apply) {
		router_hup = 0;
		router_apply(r);
	}
}

/* Counters for `lab status` and `lab test`: written whole, then renamed. */
static void router_stats(struct loop *l, void *ctx)
{
	(void)l;
	struct router *r = ctx;
	if (!r->stats)
		return;
	struct sbuf b = SBUF_INIT;
	dataplane_report(r->dp, &b);
	for (int d = 0; d < DR_MAX; d++)
		sbuf_printf(&b, "engine.%s %llu\n", pkt_reason_name((enum drop_reason)d),
			    (unsigned long long)engine_drops(r->en, (enum drop_reason)d));
	engine_export_counters(r->en, r->st);
	qos_export_stats(r->q, r->st);
	const struct menu *qm = schema_find("/queue/tree");
	for (size_t i = 0; qm && i < store_count(r->st, qm); i++) {
		const struct item *it = store_at(r->st, qm, i);
		const char *name = item_get(qm, it, "name"), *ml = item_get(qm, it, "max-limit");
		sbuf_printf(&b, "queue.%s %llu packets=%llu max-limit=%s\n", name ? name : "",
			    (unsigned long long)it->bytes, (unsigned long long)it->packets,
			    ml ? ml : "0");
	}
	static const char *const tables[][2] = { { "/ip/firewall/filter", "filter" },
						  { "/ipv6/firewall/filter", "filter6" } };
	for (size_t t = 0; t < 2; t++) {
		const struct menu *fm = schema_find(tables[t][0]);
		for (size_t i = 0; fm && i < store_count(r->st, fm); i++) {
			const struct item *it = store_at(r->st, fm, i);
			const char *c = item_get(fm, it, "comment");
			sbuf_printf(&b, "%s.%zu %llu %s\n", tables[t][1], i,
				    (unsigned long long)it->packets, c ? c : "");
		}
	}
	char tmp[600];
	snprintf(tmp, sizeof(tmp), "%s.tmp", r->stats);
	write_file(tmp, sbuf_str(&b));
	rename(tmp, r->stats);
	sbuf_free(&b);
	/* what the console would show, through the dataplane's provider */
	if (r->round++ % 5)
		return;
	struct err e;
	err_clear(&e);
	conf_exec(r->s, "/interface print", NULL, &e);
	conf_exec(r->s, "/interface print stats", NULL, &e);
	conf_exec(r->s, "/ip arp print", NULL, &e);
	conf_exec(r->s, "/ipv6 neighbor print", NULL, &e);
	char path[600];
	snprintf(path, sizeof(path), "%s.interfaces", r->stats);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	write_file(tmp, sbuf_str(&r->s->out));
	rename(tmp, path);
	sbuf_reset(&r->s->out);
	sbuf_reset(&r->s->warn);
}

static int router_main(int argc, char **argv)
{
	const char *ifaces[MAX_IFACES], *configs[MAX_CONFIGS];
	size_t nif = 0, ncf = 0;
	struct router r = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--iface") && v && nif < MAX_IFACES)
			ifaces[nif++] = argv[++i];
		else if (!strcmp(argv[i], "--config") && v && ncf < MAX_CONFIGS)
			configs[ncf++] = argv[++i];
		else if (!strcmp(argv[i], "--stats") && v)
			r.stats = argv[++i];
		else if (!strcmp(argv[i], "--apply") && v)
			r.apply = argv[++i];
		else {
			fprintf(stderr, "usage: rosfw lab router --iface ROS=LINUX ... [--config FILE.rsc]"
					" [--stats FILE] [--apply FILE.rsc]\n");
			return 2;
		}
	}
	struct err e;
	err_clear(&e);
	int rc = 1;
	struct conf_session s;
	struct loop *l = loop_new();
	if (store_open(&r.st, ":memory:", &e) < 0) {
		fprintf(stderr, "rosfw lab router: %s\n", e.msg);
		loop_free(l);
		return 1;
	}
	conf_session_init(&s, r.st, "admin");
	r.s = &s;
	if (conf_store_init(&s, true, &e) < 0)
		goto out;
	for (size_t i = 0; i < ncf; i++) {
		char *text = cli_slurp(configs[i]);
		if (!text) {
			err_set(&e, "cannot read %s: %s", configs[i], strerror(errno));
			goto out;
		}
		struct sbuf report = SBUF_INIT;
		int k = conf_import(&s, text, configs[i], 0, &report, &e);
		free(text);
		sbuf_free(&report);
		if (k < 0)
			goto out;
	}
	conf_runtime_started();
	r.en = engine_new();
	if (engine_load(r.en, r.st, &e) < 0)
		goto out;
	char qerr[512] = "";
	r.q = qos_apply(NULL, r.st, mono_ns(NULL), qerr, sizeof(qerr));
	if (!r.q) {
		err_set(&e, "queues: %s", qerr);
		goto out;
	}
	store_subscribe(r.st, router_on_commit, &r);
	r.dp = dataplane_new(l, r.en, ifaces, nif, &e);
	if (!r.dp)
		goto out;
	dataplane_set_clock(r.dp, mono_ns, NULL);
	dataplane_load(r.dp, r.st);
	dataplane_set_qos(r.dp, r.q);
	loop_timer(l, 100, 100, router_tick, &r);
	loop_timer(l, 0, 200, router_stats, &r);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = router_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("rosfw lab router: running on");
	for (size_t i = 0; i < nif; i++)
		printf(" %s", ifaces[i]);
	printf("\n");
	fflush(stdout);
	loop_run(l, &router_stop);
	rc = 0;
out:
	if (rc && e.msg[0]) {
		struct sbuf m = SBUF_INIT;
		err_format(&e, &m);
		fprintf(stderr, "rosfw lab router: %s\n", sbuf_str(&m));
		sbuf_free(&m);
	}
	dataplane_free(r.dp);
	qos_free(r.q);
	engine_free(r.en);
	conf_session_free(&s);
	store_close(r.st);
	loop_free(l);
	return rc;
}

/* ---- up, down, status ---- */

struct exec_args {
	char *argv[48];
};

static int exec_self(void *arg)
{
	struct exec_args *a = arg;
	execv("/proc/self/exe", a->argv);
	perror("lab: exec");
	return 127;
}

static int lab_down(const struct lab *L, bool quiet)
{
	static const char *const pids[] = { "router.pid", "serve-wan.pid", "serve-lan.pid" };
	for (size_t i = 0; i < sizeof(pids) / sizeof(pids[0]); i++) {
		char path[300];
		lab_path(L, pids[i], path, sizeof(path));
		pid_t pid = read_pid(path);
		if (our_pid(pid)) {
			/* 2 s, or 60 s for a sanitizer build's leak check: each
			 * ends as soon as the process is gone */
			kill(pid, SIGTERM);
			for (int k = 0; k < (LAB_ASAN ? 1200 : 40) && our_pid(pid); k++)
				usleep(50000);
			if (our_pid(pid))
				kill(pid, SIGKILL);
		}
		unlink(path);
	}
	const char *all[] = { "router", "wan", "lan", "wifi" };
	for (size_t i = 0; i < 4; i++) {
		char ns[64];
		ns_name(L, all[i], ns, sizeof(ns));
		if (ns_exists(ns))
			run("ip netns del %s", ns);
	}
	if (!quiet)
		printf("lab down\n");
	return 0;
}

static int wait_ready(const struct lab *L)
{
	char path[300], pidf[300];
	lab_path(L, L->daemon ? "rosfw.sock" : "stats", path, sizeof(path));
	lab_path(L, "router.pid", pidf, sizeof(pidf));
	for (int i = 0; i < 100; i++) {
		if (access(path, F_OK) == 0) {
			/* and every link up (a veth's carrier takes a moment) */
			char *t = L->daemon ? NULL : cli_slurp(path);
			bool down = t && strstr(t, ".running no");
			free(t);
			if (!down)
				return 0;
		}
		if (i > 4 && !our_pid(read_pid(pidf)))
			break;
		usleep(50000);
	}
	char log[300];
	lab_path(L, "router.log", log, sizeof(log));
	fprintf(stderr, "lab: the router did not start; %s says:\n", log);
	char *t = cli_slurp(log);
	if (t)
		fputs(t, stderr);
	free(t);
	return -1;
}

/* The veth between the router and a host, and the host's side of it. */
static int wire_host(const struct lab *L, const struct lab_host *h)
{
	char rns[64], ns[64];
	ns_name(L, "router", rns, sizeof(rns));
	ns_name(L, h->ns, ns, sizeof(ns));
	if (run("ip link add name %s netns %s type veth peer name eth0 netns %s", h->rif, rns, ns) ||
	    run("ip -n %s addr add %s dev eth0", ns, h->addr) || run("ip -n %s link set eth0 up", ns) ||
	    run("ip -n %s link set %s up", rns, h->rif))
		return -1;
	in_ns(ns, setup_host_offloads, NULL);
	if (h->gw && run("ip -n %s route add default via %s", ns, h->gw))
		return -1;
	return 0;
}

static int lab_up(struct lab *L)
{
	char rns[64], ns[64];
	ns_name(L, "router", rns, sizeof(rns));
	if (ns_exists(rns)) {
		fprintf(stderr, "lab: already up (%s exists); rosfw lab down first\n", rns);
		return 1;
	}
	mkdir(L->dir, 0755);
	if (run("ip netns add %s", rns))
		goto fail;
	in_ns(rns, setup_quiet_ns, NULL);
	run("ip -n %s link set lo up", rns);
	for (size_t i = 0; i < NHOSTS; i++) {
		const struct lab_host *h = &hosts[i];
		ns_name(L, h->ns, ns, sizeof(ns));
		if (run("ip netns add %s", ns))
			goto fail;
		in_ns(ns, setup_quiet_ns, NULL);
		if (run("ip -n %s link set lo up", ns) || wire_host(L, h))
			goto fail;
	}
	/* a hostile neighbour on the WAN segment routes the LAN at the router */
	ns_name(L, "wan", ns, sizeof(ns));
	if (run("ip -n %s route add 192.168.88.0/24 via 203.0.113.2", ns))
		goto fail;
	char pidf[300], logf[300];
	lab_path(L, "serve-wan.pid", pidf, sizeof(pidf));
	lab_path(L, "serve-wan.log", logf, sizeof(logf));
	spawn_in_ns(ns, pidf, logf, serve_run, (void *)1);
	ns_name(L, "lan", ns, sizeof(ns));
	lab_path(L, "serve-lan.pid", pidf, sizeof(pidf));
	lab_path(L, "serve-lan.log", logf, sizeof(logf));
	spawn_in_ns(ns, pidf, logf, serve_run, NULL);

	in_ns(rns, wait_carrier_fn, NULL);

	/* the router */
	struct exec_args a;
	char maps[NHOSTS][64], stats[300], db[300], sock[300], apply[300];
	int n = 0;
	a.argv[n++] = "rosfw";
	if (L->daemon) {
		lab_path(L, "rosfw.db", db, sizeof(db));
		lab_path(L, "rosfw.sock", sock, sizeof(sock));
		unlink(db);
		a.argv[n++] = "run";
		a.argv[n++] = "--db";
		a.argv[n++] = db;
		a.argv[n++] = "--socket";
		a.argv[n++] = sock;
		a.argv[n++] = "--admin-password";
		a.argv[n++] = "lab";
		if (L->ct_max) {
			a.argv[n++] = "--ct-max-entries";
			a.argv[n++] = (char *)L->ct_max;
		}
	} else {
		lab_path(L, "stats", stats, sizeof(stats));
		lab_path(L, "apply.rsc", apply, sizeof(apply));
		unlink(stats);
		a.argv[n++] = "lab";
		a.argv[n++] = "router";
		a.argv[n++] = "--stats";
		a.argv[n++] = stats;
		a.argv[n++] = "--apply";
		a.argv[n++] = apply;
		for (size_t i = 0; i < L->nconfigs; i++) {
			a.argv[n++] = "--config";
			a.argv[n++] = (char *)L->configs[i];
		}
	}
	for (size_t i = 0; i < NHOSTS; i++) {
		snprintf(maps[i], sizeof(maps[i]), "%s=%s", hosts[i].ros, hosts[i].rif);
		a.argv[n++] = "--iface";
		a.argv[n++] = maps[i];
	}
	a.argv[n] = NULL;
	lab_path(L, "router.pid", pidf, sizeof(pidf));
	lab_path(L, "router.log", logf, sizeof(logf));
	if (spawn_in_ns(rns, pidf, logf, exec_self, &a) < 0 || wait_ready(L) < 0)
		goto fail;
	printf("lab up: %s (router), %s-wan 203.0.113.1, %s-lan 192.168.88.10, %s-wifi "
	       "192.168.88.130; files in %s\n",
	       rns, L->prefix, L->prefix, L->prefix, L->dir);
	return 0;
fail:
	lab_down(L, true);
	return 1;
}

/*
 * lab apply FILE.rsc: the script goes to the running lab router, which
 * imports it and applies it as the daemon applies a change (lab router,
 * router_apply); prints the router's answer. Exit 0 when it applied, 1
 * when the router refused it (nothing changed) or did not answer.
 */
static int lab_apply(const struct lab *L, const char *file)
{
	char sock[300], pidf[300], path[300], tmp[320], res[320];
	lab_path(L, "rosfw.sock", sock, sizeof(sock));
	lab_path(L, "router.pid", pidf, sizeof(pidf));
	if (access(sock, F_OK) == 0) {
		fprintf(stderr, "lab apply: this lab runs the daemon: rosfw console --socket %s\n",
			sock);
		return 1;
	}
	pid_t pid = read_pid(pidf);
	if (!our_pid(pid)) {
		fprintf(stderr, "lab apply: no lab router running (rosfw lab up first)\n");
		return 1;
	}
	char *text = cli_slurp(file);
	if (!text) {
		fprintf(stderr, "lab apply: cannot read %s: %s\n", file, strerror(errno));
		return 1;
	}
	lab_path(L, "apply.rsc", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	snprintf(res, sizeof(res), "%s.result", path);
	unlink(res);
	write_file(tmp, text);
	free(text);
	if (rename(tmp, path) < 0 || kill(pid, SIGHUP) < 0) {
		fprintf(stderr, "lab apply: %s\n", strerror(errno));
		return 1;
	}
	/* the router looks every 100 ms; an import and a rebuild are quick */
	for (int i = 0; i < 200; i++) {
		char *r = cli_slurp(res);
		if (r) {
			fputs(r, stdout);
			int rc = strncmp(r, "applied", 7) ? 1 : 0;
			free(r);
			return rc;
		}
		if (!our_pid(pid))
			break;
		usleep(50000);
	}
	fprintf(stderr, "lab apply: the router did not answer\n");
	return 1;
}

static int lab_status(const struct lab *L)
{
	const char *all[] = { "router", "wan", "lan", "wifi" };
	bool any = false;
	for (size_t i = 0; i < 4; i++) {
		char ns[64];
		ns_name(L, all[i], ns, sizeof(ns));
		bool ex = ns_exists(ns);
		any |= ex;
		printf("namespace %-16s %s\n", ns, ex ? "present" : "absent");
	}
	static const char *const pids[] = { "router", "serve-wan", "serve-lan" };
	for (size_t i = 0; i < 3; i++) {
		char path[300], f[64];
		snprintf(f, sizeof(f), "%s.pid", pids[i]);
		lab_path(L, f, path, sizeof(path));
		pid_t pid = read_pid(path);
		printf("process   %-16s %s", pids[i], our_pid(pid) ? "running" : "stopped");
		if (our_pid(pid))
			printf(" (pid %d)", (int)pid);
		printf("\n");
	}
	char stats[300];
	lab_path(L, "stats", stats, sizeof(stats));
	char *t = any ? cli_slurp(stats) : NULL;
	if (t) {
		printf("\ncounters (%s):\n", stats);
		/* the interesting part: interfaces, ARP, the dataplane's drops */
		for (char *line = strtok(t, "\n"); line; line = strtok(NULL, "\n"))
			if (!strncmp(line, "if.", 3) || !strncmp(line, "arp.", 4) ||
			    (!strncmp(line, "dp.", 3) && !strstr(line, " 0")))
				printf("  %s\n", line);
		free(t);
	}
	return any ? 0 : 3;
}

/* ---- the checks (lab test) ---- */

static uint16_t csum16(const void *data, size_t len)
{
	const uint8_t *b = data;
	uint32_t s = 0;
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)b[i] << 8 | b[i + 1];
	if (len & 1)
		s += (uint32_t)b[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

struct probe {
	const char *dst;
	int ttl;             /* 0 = default */
	int tries;
	int timeout_ms;      /* per try */
	int want;            /* ICMP type that counts: 0 echo reply, 11 time exceeded */
	const char *from;    /* the answer must come from here (NULL: anyone) */
	int port;
	const char *expect;  /* for http */
};

static int ping_fn(void *arg)
{
	const struct probe *p = arg;
	int fd = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
	if (fd < 0)
		return 2;
	if (p->ttl)
		setsockopt(fd, IPPROTO_IP, IP_TTL, &p->ttl, sizeof(p->ttl));
	struct sockaddr_in to = { .sin_family = AF_INET };
	inet_pton(AF_INET, p->dst, &to.sin_addr);
	uint16_t id = (uint16_t)getpid();
	for (int t = 0; t < p->tries; t++) {
		uint8_t req[40];
		memset(req, 0, sizeof(req));
		req[0] = 8;
		req[4] = (uint8_t)(id >> 8), req[5] = (uint8_t)id;
		req[7] = (uint8_t)t;
		memcpy(req + 8, "rosfw lab ping", 14);
		uint16_t c = csum16(req, sizeof(req));
		req[2] = (uint8_t)(c >> 8), req[3] = (uint8_t)c;
		sendto(fd, req, sizeof(req), 0, (struct sockaddr *)&to, sizeof(to));
		uint64_t end = loop_now_ms() + (uint64_t)p->timeout_ms;
		for (;;) {
			uint64_t now = loop_now_ms();
			if (now >= end)
				break;
			struct pollfd pf = { fd, POLLIN, 0 };
			if (poll(&pf, 1, (int)(end - now)) <= 0)
				break;
			uint8_t b[1500];
			struct sockaddr_in from;
			socklen_t fl = sizeof(from);
			ssize_t r = recvfrom(fd, b, sizeof(b), 0, (struct sockaddr *)&from, &fl);
			if (r < 28)
				continue;
			size_t ihl = (size_t)(b[0] & 15) * 4;
			if ((size_t)r < ihl + 8)
				continue;
			const uint8_t *ic = b + ihl;
			const uint8_t *echo = ic; /* where the id sits */
			if (ic[0] == 3 || ic[0] == 11) {
				if ((size_t)r < ihl + 8 + 28)
					continue;
				const uint8_t *inner = ic + 8;
				echo = inner + (size_t)(inner[0] & 15) * 4;
				if (echo + 8 > b + r || echo[0] != 8)
					continue;
			} else if (ic[0] != 0) {
				continue;
			}
			if (echo[4] != (uint8_t)(id >> 8) || echo[5] != (uint8_t)id)
				continue;
			char fa[INET_ADDRSTRLEN];
			inet_ntop(AF_INET, &from.sin_addr, fa, sizeof(fa));
			if (ic[0] == p->want && (!p->from || !strcmp(fa, p->from)))
				return 0;
		}
	}
	return 1;
}

/* Connects with a timeout: 0, or the errno (ETIMEDOUT when nothing came). */
static int tcp_connect(const char *dst, int port, int timeout_ms, int *out)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	inet_pton(AF_INET, dst, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS) {
		int er = errno;
		close(fd);
		return er;
	}
	struct pollfd pf = { fd, POLLOUT, 0 };
	if (poll(&pf, 1, timeout_ms) <= 0) {
		close(fd);
		return ETIMEDOUT;
	}
	int er = 0;
	socklen_t el = sizeof(er);
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &er, &el);
	if (er) {
		close(fd);
		return er;
	}
	*out = fd;
	return 0;
}

static ssize_t read_timeout(int fd, char *buf, size_t n, int timeout_ms)
{
	size_t got = 0;
	uint64_t end = loop_now_ms() + (uint64_t)timeout_ms;
	while (got < n) {
		uint64_t now = loop_now_ms();
		if (now >= end)
			break;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, (int)(end - now)) <= 0)
			break;
		ssize_t r = read(fd, buf + got, n - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

static int tcp_echo_fn(void *arg)
{
	const struct probe *p = arg;
	int fd;
	if (tcp_connect(p->dst, p->port, 3000, &fd))
		return 1;
	/* more than one segment each way, so the connection is used established */
	char msg[4000], back[4000];
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (char)('a' + i % 26);
	if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return 1;
	ssize_t r = read_timeout(fd, back, sizeof(back), 3000);
	close(fd);
	return r == (ssize_t)sizeof(msg) && !memcmp(msg, back, sizeof(msg)) ? 0 : 1;
}

static int http_fn(void *arg)
{
	const struct probe *p = arg;
	int fd;
	if (tcp_connect(p->dst, p->port, 3000, &fd))
		return 1;
	const char req[] = "GET / HTTP/1.0\r\nHost: lab\r\n\r\n";
	if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1)
		return 1;
	char b[1024];
	ssize_t r = read_timeout(fd, b, sizeof(b) - 1, 3000);
	close(fd);
	if (r <= 0)
		return 1;
	b[r] = 0;
	return strstr(b, "200 OK") && strstr(b, p->expect) ? 0 : 1;
}

static int udp_fn(void *arg)
{
	const struct probe *p = arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)p->port) };
	inet_pton(AF_INET, p->dst, &sa.sin_addr);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return 2;
	for (int t = 0; t < p->tries; t++) {
		if (send(fd, "rosfw lab udp", 13, 0) < 0 && errno == ECONNREFUSED)
			return p->want == ECONNREFUSED ? 0 : 1;
		struct pollfd pf = { fd, POLLIN, 0 };
		if (poll(&pf, 1, p->timeout_ms) <= 0)
			continue;
		char b[64];
		ssize_t r = recv(fd, b, sizeof(b), 0);
		if (r < 0 && errno == ECONNREFUSED)
			return p->want == ECONNREFUSED ? 0 : 1;
		if (r == 13 && !memcmp(b, "rosfw lab udp", 13))
			return p->want == 0 ? 0 : 1;
	}
	return 1;
}

/* Passes when the connection neither opens nor is refused: silently dropped. */
static int tcp_blocked_fn(void *arg)
{
	const struct probe *p = arg;
	int fd;
	int rc = tcp_connect(p->dst, p->port, p->timeout_ms, &fd);
	if (!rc)
		close(fd);
	return rc == ETIMEDOUT ? 0 : 1;
}

static int link_bounce_fn(void *arg)
{
	const char *ifname = arg;
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return 1;
	ifr.ifr_flags = (short)(ifr.ifr_flags & ~IFF_UP);
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return 1;
	usleep(1500000); /* long enough for the router's link check to see it */
	ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
	return ioctl(fd, SIOCSIFFLAGS, &ifr) < 0;
}

/* A counter from the router's stats file (0 when absent). */
static uint64_t stat_of(const struct lab *L, const char *key)
{
	char path[300];
	lab_path(L, "stats", path, sizeof(path));
	char *t = cli_slurp(path);
	uint64_t v = 0;
	size_t kl = strlen(key);
	for (char *line = t; line && *line;) {
		char *nl = strchr(line, '\n');
		if (!strncmp(line, key, kl) && line[kl] == ' ') {
			v = strtoull(line + kl + 1, NULL, 10);
			break;
		}
		line = nl ? nl + 1 : NULL;
	}
	free(t);
	return v;
}

static void stats_settle(void)
{
	usleep(450000); /* the router rewrites its stats every 200 ms */
}

struct tally {
	int passed, failed;
};

static void check(struct tally *t, bool ok, const char *what, const char *detail)
{
	if (ok) {
		t->passed++;
		printf("PASS %s\n", what);
	} else {
		t->failed++;
		printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	}
	fflush(stdout);
}

/* A TCP echo on 0.0.0.0:9999 in the router's namespace: a local service
 * behind rosfw's TAP. Runs in its own child (lab_test stops it); pipe fd
 * ready gets a byte once it listens. */
#define ROUTER_ECHO_PORT 9999

static int router_echo_fn(void *arg)
{
	int ready = *(int *)arg;
	int ls = listen_tcp(ROUTER_ECHO_PORT);
	if (write(ready, ls < 0 ? "n" : "y", 1) != 1 || ls < 0)
		return 1;
	alarm(60); /* never outlives the test */
	for (;;) {
		struct pollfd pf = { ls, POLLIN, 0 };
		if (poll(&pf, 1, -1) <= 0)
			continue;
		int c = accept(ls, NULL, NULL);
		if (c < 0)
			continue;
		int fl = fcntl(c, F_GETFL);
		fcntl(c, F_SETFL, fl & ~O_NONBLOCK);
		struct timeval tv = { 3, 0 };
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		char b[4096];
		ssize_t r;
		while ((r = read(c, b, sizeof(b))) > 0)
			if (write(c, b, (size_t)r) != r)
				break;
		close(c);
	}
	return 0;
}

/* Starts router_echo_fn in namespace ns: its pid, or -1. The child ends
 * with _exit, as in_ns's does. */
static pid_t router_echo_start(const char *ns)
{
	int pf[2];
	if (pipe(pf) < 0)
		return -1;
	fflush(stdout);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(pf[0]);
		if (enter_ns(ns) < 0)
			_exit(255);
		_exit(router_echo_fn(&pf[1]) & 255);
	}
	close(pf[1]);
	char c = 0;
	struct pollfd p = { pf[0], POLLIN, 0 };
	bool ok = poll(&p, 1, 3000) == 1 && read(pf[0], &c, 1) == 1 && c == 'y';
	close(pf[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

static int lab_test(const struct lab *L)
{
	char lan[64], wan[64], wifi[64], rns[64];
	ns_name(L, "lan", lan, sizeof(lan));
	ns_name(L, "wan", wan, sizeof(wan));
	ns_name(L, "wifi", wifi, sizeof(wifi));
	ns_name(L, "router", rns, sizeof(rns));
	if (!ns_exists(rns)) {
		fprintf(stderr, "lab: not up (rosfw lab up first)\n");
		return 2;
	}
	char stats[300];
	lab_path(L, "stats", stats, sizeof(stats));
	bool counters = access(stats, F_OK) == 0;
	struct tally t = { 0, 0 };
	struct probe p;

	p = (struct probe){ .dst = "192.168.88.1", .tries = 5, .timeout_ms = 400, .want = 0 };
	check(&t, in_ns(lan, ping_fn, &p) == 0, "LAN host pings the router (192.168.88.1), answered by rosfw", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .tries = 5, .timeout_ms = 500, .want = 0 };
	check(&t, in_ns(lan, ping_fn, &p) == 0, "LAN host pings the WAN host through masquerade", NULL);
	check(&t, in_ns(wifi, ping_fn, &p) == 0, "WiFi host (wlan1) pings the WAN host", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .port = 7 };
	check(&t, in_ns(lan, tcp_echo_fn, &p) == 0,
	      "LAN host: TCP echo with the WAN host (new, then established both ways)", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .port = 80, .expect = "you are 203.0.113.2:" };
	check(&t, in_ns(lan, http_fn, &p) == 0,
	      "LAN host: HTTP to the WAN host, which sees the router's address (masquerade)", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .port = 7, .tries = 3, .timeout_ms = 500, .want = 0 };
	check(&t, in_ns(lan, udp_fn, &p) == 0, "LAN host: UDP echo with the WAN host", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .port = 9, .tries = 3, .timeout_ms = 500,
			    .want = ECONNREFUSED };
	check(&t, in_ns(lan, udp_fn, &p) == 0,
	      "related: the WAN host's port unreachable reaches the LAN host (un-NATed)", NULL);
	p = (struct probe){ .dst = "203.0.113.1", .ttl = 1, .tries = 3, .timeout_ms = 500, .want = 11,
			    .from = "192.168.88.1" };
	check(&t, in_ns(lan, ping_fn, &p) == 0, "TTL 1 from the LAN: time exceeded from the router",
	      NULL);
	p = (struct probe){ .dst = "203.0.113.2", .tries = 5, .timeout_ms = 400, .want = 0 };
	check(&t, in_ns(wan, ping_fn, &p) == 0, "WAN host pings the router's WAN address (input accepts ICMP)", NULL);

	stats_settle();
	uint64_t f0 = stat_of(L, "engine.filter-drop"), l0 = stat_of(L, "dp.local-no-tap");
	static const int ports[] = { 22, 8291, 8728 };
	bool blocked = true;
	for (size_t i = 0; i < 3; i++) {
		p = (struct probe){ .dst = "203.0.113.2", .port = ports[i], .timeout_ms = 1000 };
		blocked &= in_ns(wan, tcp_blocked_fn, &p) == 0;
	}
	stats_settle();
	uint64_t f1 = stat_of(L, "engine.filter-drop"), l1 = stat_of(L, "dp.local-no-tap");
	char d[160];
	snprintf(d, sizeof(d), "filter drops %llu -> %llu, local %llu -> %llu",
		 (unsigned long long)f0, (unsigned long long)f1, (unsigned long long)l0,
		 (unsigned long long)l1);
	check(&t, blocked && (!counters || (f1 >= f0 + 3 && l1 == l0)),
	      "WAN host cannot reach the router's ssh, winbox, api (dropped by input)",
	      counters ? d : NULL);

	p = (struct probe){ .dst = "192.168.88.10", .port = 7, .timeout_ms = 1000 };
	bool tcp_no = in_ns(wan, tcp_blocked_fn, &p) == 0;
	p = (struct probe){ .dst = "192.168.88.10", .tries = 2, .timeout_ms = 400, .want = 0 };
	bool ping_no = in_ns(wan, ping_fn, &p) != 0;
	stats_settle();
	uint64_t f2 = stat_of(L, "engine.filter-drop");
	check(&t, tcp_no && ping_no && (!counters || f2 > f1),
	      "WAN host cannot reach the LAN host (TCP, ping: dropped by forward)", NULL);

	/* local services: the kernel's sockets behind rosfw's TAP */
	pid_t echo = router_echo_start(rns);
	p = (struct probe){ .dst = "192.168.88.1", .port = ROUTER_ECHO_PORT };
	bool served = echo > 0 && in_ns(lan, tcp_echo_fn, &p) == 0;
	p = (struct probe){ .dst = "192.168.88.1", .port = 8728, .timeout_ms = 1500 };
	bool refused = in_ns(lan, tcp_blocked_fn, &p) == 1; /* RST from the kernel, not silence */
	stats_settle();
	uint64_t l2 = stat_of(L, "dp.local-no-tap");
	snprintf(d, sizeof(d), "echo %s, api port %s, local-no-tap %llu -> %llu",
		 served ? "ok" : "failed", refused ? "refused" : "not refused",
		 (unsigned long long)l1, (unsigned long long)l2);
	check(&t, served && refused && (!counters || l2 == l1),
	      "LAN host to a service in the router's namespace (TCP echo on 192.168.88.1:9999), "
	      "through rosfw's TAP; the API port with nothing listening is refused by the kernel",
	      d);
	p = (struct probe){ .dst = "203.0.113.2", .port = ROUTER_ECHO_PORT, .timeout_ms = 1000 };
	bool wan_no = echo > 0 && in_ns(wan, tcp_blocked_fn, &p) == 0;
	stats_settle();
	uint64_t f3 = stat_of(L, "engine.filter-drop"), l3 = stat_of(L, "dp.local-no-tap");
	check(&t, wan_no && (!counters || (f3 > f2 && l3 == l1)),
	      "WAN host cannot reach that service on 203.0.113.2:9999 (dropped by input)", NULL);
	/* the router's own connection: out of the TAP, the output chain, routed out */
	p = (struct probe){ .dst = "203.0.113.1", .port = 7 };
	check(&t, in_ns(rns, tcp_echo_fn, &p) == 0,
	      "the router's own TCP connection (from its namespace) to the WAN host's echo, "
	      "through the TAP and the output chain", NULL);
	if (echo > 0) {
		kill(echo, SIGTERM);
		waitpid(echo, NULL, 0);
	}

	bool bounced = in_ns(rns, link_bounce_fn, (void *)hosts[1].rif) == 0;
	p = (struct probe){ .dst = "203.0.113.1", .tries = 12, .timeout_ms = 500, .want = 0 };
	check(&t, bounced && in_ns(lan, ping_fn, &p) == 0,
	      "ether2-master-local down and up: the LAN reaches the WAN again", NULL);

	/* the Linux interface disappears and comes back: rosfw reopens it */
	bool rewired = !run("ip -n %s link del %s", rns, hosts[1].rif);
	usleep(700000);
	rewired = rewired && !wire_host(L, &hosts[1]) && in_ns(rns, wait_carrier_fn, NULL) == 0;
	p = (struct probe){ .dst = "203.0.113.1", .tries = 12, .timeout_ms = 500, .want = 0 };
	check(&t, rewired && in_ns(lan, ping_fn, &p) == 0,
	      "ether2 deleted and created again: rosfw reopens it, the LAN reaches the WAN", NULL);

	if (counters) {
		stats_settle();
		bool ok = true;
		for (size_t i = 0; i < NHOSTS; i++) {
			char k[96];
			snprintf(k, sizeof(k), "if.%s.rx-packet", hosts[i].ros);
			ok &= stat_of(L, k) > 0;
			snprintf(k, sizeof(k), "if.%s.tx-packet", hosts[i].ros);
			ok &= stat_of(L, k) > 0;
		}
		check(&t, ok, "interface counters count both ways on every port", NULL);
		usleep(800000); /* /interface print is written every second */
		char path[300];
		lab_path(L, "stats.interfaces", path, sizeof(path));
		char *pr = cli_slurp(path);
		check(&t, pr && strstr(pr, "R   ether1-gateway") && strstr(pr, "RX-BYTE") &&
			      !strstr(pr, "4C:5E:0C:00:00:01"),
		      "/interface print [stats]: running, the Linux MAC and the counters", NULL);
		free(pr);
	}
	printf("%d passed, %d failed\n", t.passed, t.failed);
	return t.failed ? 1 : 0;
}

/* ---- lab ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rosfw lab up [--daemon [--ct-max-entries N]] [--config FILE.rsc] | down | status | test\n"
		"       rosfw lab apply FILE.rsc (a change to the running lab router)\n"
		"       common: [--prefix NAME] (namespaces NAME-router, NAME-wan, NAME-lan, NAME-wifi;\n"
		"       default rosfw) [--dir DIR] (pids, logs, stats; default /run/NAME-lab)\n"
		"       rosfw lab router --iface ROS=LINUX ... [--config FILE.rsc] [--stats FILE]\n"
		"                        [--apply FILE.rsc]\n");
}

int lab_main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "router"))
		return router_main(argc - 1, argv + 1);
	struct lab L;
	memset(&L, 0, sizeof(L));
	snprintf(L.prefix, sizeof(L.prefix), "rosfw");
	const char *verb = NULL, *dir = NULL, *file = NULL;
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(argv[i], "--prefix") && v && strlen(v) < 20 && !strchr(v, '/'))
			snprintf(L.prefix, sizeof(L.prefix), "%s", argv[++i]);
		else if (!strcmp(argv[i], "--dir") && v)
			dir = argv[++i];
		else if (!strcmp(argv[i], "--daemon"))
			L.daemon = true;
		else if (!strcmp(argv[i], "--ct-max-entries") && v)
			L.ct_max = argv[++i];
		else if (!strcmp(argv[i], "--config") && v && L.nconfigs < MAX_CONFIGS)
			L.configs[L.nconfigs++] = argv[++i];
		else if (!verb && argv[i][0] != '-')
			verb = argv[i];
		else if (verb && !strcmp(verb, "apply") && !file && argv[i][0] != '-')
			file = argv[i];
		else {
			usage(stderr);
			return 2;
		}
	}
	if (!verb) {
		usage(stderr);
		return 2;
	}
	if (dir)
		snprintf(L.dir, sizeof(L.dir), "%s", dir);
	else
		snprintf(L.dir, sizeof(L.dir), "/run/%s-lab", L.prefix);
	if (!strcmp(verb, "status"))
		return lab_status(&L);
	if (!strcmp(verb, "apply") && !file) {
		usage(stderr);
		return 2;
	}
	if (strcmp(verb, "up") && strcmp(verb, "down") && strcmp(verb, "test") &&
	    strcmp(verb, "apply")) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(verb, "apply")) /* a signal to our own router: no root needed */
		return lab_apply(&L, file);
	if (geteuid() != 0) {
		fprintf(stderr, "lab: needs root (network namespaces)\n");
		return 2;
	}
	if (!strcmp(verb, "up"))
		return lab_up(&L);
	if (!strcmp(verb, "down"))
		return lab_down(&L, false);
	return lab_test(&L);
}
