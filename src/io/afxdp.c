/*
 * AF_XDP backend. The sockets, their UMEM and rings are set up here with
 * the kernel's own calls (libxdp 1.3 cannot register transmit metadata);
 * libxdp's default XDP program and the ring helpers of xdp/xsk.h do the
 * rest. One XDP socket per receive queue of the interface (up to XQ_MAX),
 * steered by libxdp's default XDP program, which redirects each queue's
 * frames to that queue's socket through its xsks map, so the kernel's
 * stack sees none of them. An interface with more queues than XQ_MAX is
 * refused: frames of a queue without a socket would bypass rosfw.
 * With one queue, h->fd is the socket; with several, an epoll fd over all
 * of them (level-triggered), which the caller polls like any fd, and
 * rx_burst takes from the queues in turn, starting one further each call,
 * so a busy queue cannot starve the others. A flow stays on its queue,
 * so its frames keep their order.
 * UMEM: one, shared by the sockets (XDP_SHARED_UMEM): one
 * registration and one mapping whatever the queue count; each queue has
 * its fill ring and its own share of receive frames, which go back to that
 * queue's fill ring. Transmit uses queue 0's socket only: the dataplane
 * sends from one thread, so further TX rings would only add completion
 * rings to reap and kicks to make; one ring also keeps a batch in order.
 * Frames of 4 KiB: each queue has a receive share of XRING frames (8 MiB)
 * with one queue, XRING / queues rounded down to a power of two (at least
 * XRING_MIN: 40 MiB in all for 16 queues) with more; then
 * XF_TX frames, a stack of free transmit frames taken by tx_burst and given
 * back by the completion ring. Between the fill ring, the receive ring and
 * the frames of the last burst a queue's share circulates. A frame keeps
 * XDP's 256 bytes of headroom, so frames up to 3840 bytes fit; longer
 * ones the kernel drops. A transmitted frame starts 64 bytes into its UMEM
 * frame, behind the transmit metadata.
 * Checksums: a frame whose transport checksum is partial (a local
 * sender's, on a veth) comes in flagged and goes out with a request that
 * the kernel finish it (Linux 6.11 and later, copy mode; the skb it builds
 * stays CHECKSUM_PARTIAL, as the kernel's own forwarding leaves it), else
 * rosfw finishes it. A packet merged by gro.h leaves whole through a
 * second socket, an AF_PACKET one with PACKET_VNET_HDR (io_send), for
 * the kernel to cut (or a veth to hand on whole), when the TX ring holds
 * no frame it could overtake (ring_idle); else, in zero-copy mode (whose
 * driver sends from its own hardware queue) and without that socket,
 * rosfw cuts it into the TX ring.
 * Attaching tries the driver's native XDP, then the kernel's generic XDP;
 * the kernel binds zero-copy where the driver supports it and copy mode
 * otherwise (detail says which). need_wakeup is on: rx_burst wakes the
 * driver when a fill ring ran dry, tx_burst kicks transmission with
 * sendto (in copy mode that send is what moves the frames, 32 per call).
 * Interface ioctls and promiscuous mode go through a protocol-0 AF_PACKET
 * socket (ctl_fd) that receives nothing; the XDP socket answers none.
 */
#include "io.h"
#include "ifctl.h"

#include <errno.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_xdp.h>
#include <linux/sockios.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#include "engine/pkt.h"
#include "util/sbuf.h"

#define XF_SIZE 4096u       /* UMEM frame */
#define XRING 2048u         /* the TX and completion rings; a lone queue's receive rings */
#define XRING_MIN 512u      /* a queue's receive rings at least, with several queues */
#define XF_TX XRING         /* frames for transmit */
#define XQ_MAX 16u          /* receive queues served */
#define XHELD 256u          /* most frames one rx_burst returns */
#define XKICKS 64           /* sendto calls per tx_burst at most */

/*
 * Transmit metadata (Linux 6.8; the flag that asks for it, 6.11): the
 * UMEM's registration grew a field, and a frame sent with
 * XDP_TX_METADATA has, right in front of it, the kernel's struct
 * xsk_tx_metadata, whose request asks the kernel (or the NIC) to finish
 * the transport checksum from csum_start. Debian 12's headers predate
 * both, hence the definitions here, as the kernel's ABI.
 */
#define AX_UMEM_TX_METADATA_LEN (1u << 2)
#define AX_TX_METADATA (1u << 1)          /* xdp_desc.options */
#define AX_TXMD_CHECKSUM (1ull << 1)      /* xsk_tx_metadata.flags */
struct ax_umem_reg {
	uint64_t addr, len;
	uint32_t chunk_size, headroom, flags, tx_metadata_len;
};
struct ax_tx_meta {
	uint64_t flags;
	uint16_t csum_start;  /* from the frame's start */
	uint16_t csum_offset; /* of the field, from csum_start */
	uint32_t pad;
	uint64_t launch_time;
};
#define XMD_LEN ((uint32_t)sizeof(struct ax_tx_meta))
#define XTX_HEAD 64u        /* where a transmitted frame starts in its UMEM frame */


/* One receive queue's socket; queue 0's also transmits (tx, cq). */
struct xq {
	struct xsk_ring_cons rx, cq;
	struct xsk_ring_prod tx, fq;
	int fd;
	void *map[4];           /* the rings' maps: fill, completion, rx, tx */
	size_t map_len[4];
	uint32_t nheld;
	uint64_t held[XHELD];
};

struct axdp {
	struct io_handle h;
	struct xdp_program *prog;
	enum xdp_attach_mode mode;
	bool tx_md;             /* the UMEM carries transmit metadata (checksum offload) */
	uint8_t *area;
	size_t area_len;
	uint32_t nq;            /* receive queues, each with its socket */
	uint32_t qring;         /* a queue's fill and receive rings, and its frames */
	uint32_t next;          /* the queue the next rx_burst starts with */
	int epfd;               /* with several queues: h->fd, over their sockets */
	bool zerocopy;
	bool virt;              /* a veth or tun: its peer may leave checksums partial */
	int gso_fd;             /* io_vnet_socket for GSO packets, or -1 */
	uint8_t *cut;           /* a GSO packet's segments when it goes by the ring (IO_CUT_ROOM) */
	uint32_t nfree;
	uint64_t free_tx[XF_TX];
	struct xq q[XQ_MAX];    /* nq in use */
};

/* libxdp and libbpf report through a print hook: keep the last warning for
 * the error message, drop the chatter. */
static _Thread_local char last_warn[200];

static void keep_warning(const char *fmt, va_list ap)
{
	vsnprintf(last_warn, sizeof(last_warn), fmt, ap);
	size_t n = strlen(last_warn);
	while (n && (last_warn[n - 1] == '\n' || last_warn[n - 1] == ' '))
		last_warn[--n] = 0;
}

static int xdp_print(enum libxdp_print_level lv, const char *fmt, va_list ap)
{
	if (lv == LIBXDP_WARN)
		keep_warning(fmt, ap);
	return 0;
}

static int bpf_print(enum libbpf_print_level lv, const char *fmt, va_list ap)
{
	if (lv == LIBBPF_WARN)
		keep_warning(fmt, ap);
	return 0;
}

/* The program, then every queue's rings and socket (the UMEM goes with
 * the last socket that uses it). */
static void free_socks(struct axdp *x)
{
	if (x->prog) {
		(void)xdp_program__detach(x->prog, x->h.ifindex, x->mode, 0);
		xdp_program__close(x->prog);
		x->prog = NULL;
	}
	for (uint32_t k = 0; k < x->nq; k++) {
		struct xq *q = &x->q[k];
		for (int i = 0; i < 4; i++) {
			if (q->map[i])
				munmap(q->map[i], q->map_len[i]);
			q->map[i] = NULL;
		}
		if (q->fd >= 0)
			close(q->fd);
		q->fd = -1;
	}
}

static void ax_close(struct io_handle *h)
{
	struct axdp *x = (struct axdp *)h;
	free_socks(x);
	if (x->epfd >= 0)
		close(x->epfd);
	if (x->area)
		munmap(x->area, x->area_len);
	if (h->ctl_fd >= 0)
		close(h->ctl_fd);
	if (x->gso_fd >= 0)
		close(x->gso_fd);
	free(x->cut);
	free(x);
}

/* Sizes and maps one of q's rings (n entries of esize bytes after the
 * kernel's header) and points r at it; 0 or a negative errno. */
static int map_ring(struct xq *q, int which, uint32_t n, const struct xdp_ring_offset *o,
		    uint32_t esize, uint64_t pgoff, struct xsk_ring_prod *r, bool prod)
{
	size_t len = o->desc + (size_t)n * esize;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, q->fd,
		       (off_t)pgoff);
	if (m == MAP_FAILED)
		return -errno;
	q->map[which] = m;
	q->map_len[which] = len;
	r->mask = n - 1;
	r->size = n;
	r->producer = (uint32_t *)((uint8_t *)m + o->producer);
	r->consumer = (uint32_t *)((uint8_t *)m + o->consumer);
	r->ring = (uint8_t *)m + o->desc;
	r->flags = (uint32_t *)((uint8_t *)m + o->flags);
	/* the helpers of xdp/xsk.h keep cached copies: a producer sees the
	 * whole ring free, a consumer nothing yet */
	r->cached_prod = *r->producer;
	r->cached_cons = *r->consumer + (prod ? n : 0);
	return 0;
}

/*
 * Queue k's socket and rings, bound to its queue: queue 0's registers the
 * UMEM (with tx_md, XMD_LEN bytes in front of every transmitted frame for
 * the kernel to read a checksum request from) and has the one TX ring;
 * the others share that UMEM, each with its own fill and completion rings
 * as the kernel asks of a socket on another queue. The kernel picks
 * zero-copy where the driver can. 0 or a negative errno.
 */
static int make_sock(struct axdp *x, uint32_t k, bool tx_md)
{
	struct xq *q = &x->q[k];
	q->fd = socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (q->fd < 0)
		return -errno;
	if (!k) {
		struct ax_umem_reg mr = {
			.addr = (uintptr_t)x->area,
			.len = x->area_len,
			.chunk_size = XF_SIZE,
			.flags = tx_md ? AX_UMEM_TX_METADATA_LEN : 0,
			.tx_metadata_len = tx_md ? XMD_LEN : 0,
		};
		if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_REG, &mr, sizeof(mr)) < 0)
			return -errno;
	}
	int nf = (int)x->qring, nc = k ? (int)XRING_MIN : (int)XRING, nt = (int)XRING;
	if (setsockopt(q->fd, SOL_XDP, XDP_UMEM_FILL_RING, &nf, sizeof(nf)) < 0 ||
	    setsockopt(q->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &nc, sizeof(nc)) < 0 ||
	    setsockopt(q->fd, SOL_XDP, XDP_RX_RING, &nf, sizeof(nf)) < 0 ||
	    (!k && setsockopt(q->fd, SOL_XDP, XDP_TX_RING, &nt, sizeof(nt)) < 0))
		return -errno;
	struct xdp_mmap_offsets off;
	socklen_t ol = sizeof(off);
	if (getsockopt(q->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &ol) < 0)
		return -errno;
	/* the consumer rings are set up as producer ones and copied over:
	 * xdp/xsk.h declares both with the same members */
	_Static_assert(sizeof(struct xsk_ring_prod) == sizeof(struct xsk_ring_cons),
		       "xsk rings differ");
	struct xsk_ring_prod cq, rx;
	int r;
	if ((r = map_ring(q, 0, (uint32_t)nf, &off.fr, sizeof(uint64_t),
			  XDP_UMEM_PGOFF_FILL_RING, &q->fq, true)) ||
	    (r = map_ring(q, 1, (uint32_t)nc, &off.cr, sizeof(uint64_t),
			  XDP_UMEM_PGOFF_COMPLETION_RING, &cq, false)) ||
	    (r = map_ring(q, 2, (uint32_t)nf, &off.rx, sizeof(struct xdp_desc),
			  XDP_PGOFF_RX_RING, &rx, false)) ||
	    (!k && (r = map_ring(q, 3, (uint32_t)nt, &off.tx, sizeof(struct xdp_desc),
				 XDP_PGOFF_TX_RING, &q->tx, true))))
		return r;
	memcpy(&q->cq, &cq, sizeof(q->cq));
	memcpy(&q->rx, &rx, sizeof(q->rx));
	/* a socket sharing the UMEM takes its flags from queue 0's */
	struct sockaddr_xdp sa = {
		.sxdp_family = AF_XDP,
		.sxdp_flags = k ? XDP_SHARED_UMEM : XDP_USE_NEED_WAKEUP,
		.sxdp_ifindex = (uint32_t)x->h.ifindex,
		.sxdp_queue_id = k,
		.sxdp_shared_umem_fd = k ? (uint32_t)x->q[0].fd : 0,
	};
	if (bind(q->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* libxdp's default XDP program for sockets, attached in one XDP mode, with
 * every queue's socket in its map; 0 or a negative errno. */
static int attach_prog(struct axdp *x, enum xdp_attach_mode mode)
{
	struct xdp_program *p = xdp_program__find_file("xsk_def_xdp_prog.o", NULL, NULL);
	long e = libxdp_get_error(p);
	if (e)
		return e < 0 ? (int)e : -(int)e;
	int r = xdp_program__attach(p, x->h.ifindex, mode, 0);
	if (r) {
		xdp_program__close(p);
		return r < 0 ? r : -r;
	}
	x->prog = p;
	x->mode = mode;
	int map = bpf_object__find_map_fd_by_name(xdp_program__bpf_obj(p), "xsks_map");
	if (map < 0)
		return map;
	for (uint32_t k = 0; k < x->nq; k++)
		if (bpf_map_update_elem(map, &k, &x->q[k].fd, 0))
			return -errno;
	return 0;
}

/* A socket on every queue and the program in one XDP mode; 0 or a
 * negative errno. The UMEM asks for transmit metadata, and goes without
 * on a kernel older than 6.11, which refuses the flag. */
static int try_mode(struct axdp *x, enum xdp_attach_mode mode)
{
	bool md = true;
	int r = -EBUSY;
	/* a socket of an attempt just given up leaves its queue a moment later */
	for (int i = 0; i < 50 && (r == -EBUSY || r == -EINVAL); i++) {
		if (i) {
			free_socks(x);
			if (r == -EINVAL && md)
				md = false; /* no transmit metadata here */
			else if (r == -EINVAL)
				break;
			else
				usleep(10000);
		}
		r = 0;
		for (uint32_t k = 0; k < x->nq && !r; k++)
			r = make_sock(x, k, md);
	}
	if (!r) {
		x->tx_md = md;
		r = attach_prog(x, mode);
	}
	if (r)
		free_socks(x);
	return r;
}

static uint32_t rx_queues(int fd, const char *ifname)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	ifr.ifr_data = (void *)&ch;
	if (ifctl_ioctl(fd, ifname, SIOCETHTOOL, &ifr) < 0)
		return 1; /* no channels to speak of */
	/* veth counts its one queue as rx and as combined */
	uint32_t n = ch.rx_count > ch.combined_count ? ch.rx_count : ch.combined_count;
	return n ? n : 1;
}

/* veth and tun take frames from a kernel that may leave the transport
 * checksum for a NIC that never comes (CHECKSUM_PARTIAL): AF_PACKET says
 * so, XDP does not. */
static bool virtual_if(int fd, const char *ifname)
{
	struct ethtool_drvinfo di = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr;
	ifr.ifr_data = (void *)&di;
	if (ifctl_ioctl(fd, ifname, SIOCETHTOOL, &ifr) < 0)
		return false;
	return !strcmp(di.driver, "veth") || !strcmp(di.driver, "tun");
}

/* Queue 0's socket with one queue; an epoll fd over every queue's socket
 * with several (0, or -1 and e filled). */
static int rx_fd(struct axdp *x, struct err *e)
{
	if (x->nq == 1) {
		x->h.fd = x->q[0].fd;
		return 0;
	}
	x->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (x->epfd < 0) {
		err_set(e, "%s: epoll for the receive queues: %s", x->h.ifname, strerror(errno));
		return -1;
	}
	for (uint32_t k = 0; k < x->nq; k++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = k };
		if (epoll_ctl(x->epfd, EPOLL_CTL_ADD, x->q[k].fd, &ev) < 0) {
			err_set(e, "%s: epoll for receive queue %u: %s", x->h.ifname, k,
				strerror(errno));
			return -1;
		}
	}
	x->h.fd = x->epfd;
	return 0;
}

static struct io_handle *ax_open(const char *ifname, struct err *e)
{
	static bool hooked;
	if (!hooked) {
		libxdp_set_print(xdp_print);
		libbpf_set_print(bpf_print);
		hooked = true;
	}
	struct axdp *x = xcalloc(1, sizeof(*x));
	x->h.ops = &io_afxdp_ops;
	x->h.fd = -1;
	x->h.ctl_fd = -1;
	x->epfd = -1;
	x->gso_fd = -1;
	snprintf(x->h.ifname, sizeof(x->h.ifname), "%s", ifname);
	if (strlen(ifname) >= IF_NAMESIZE) {
		err_set(e, "interface name too long: %s", ifname);
		goto fail;
	}
	x->h.ifindex = (int)if_nametoindex(ifname);
	if (!x->h.ifindex) {
		err_set(e, "no Linux interface %s", ifname);
		goto fail;
	}
	x->h.ctl_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (x->h.ctl_fd < 0) {
		err_set(e, "%s: AF_PACKET control socket: %s", ifname, strerror(errno));
		goto fail;
	}
	uint32_t nq = rx_queues(x->h.ctl_fd, ifname);
	if (nq > XQ_MAX) {
		err_set(e, "%s has %u receive queues and AF_XDP here serves at most %u "
			   "(ethtool -L %s combined %u, or --io af_packet)", ifname, nq, XQ_MAX,
			ifname, XQ_MAX);
		goto fail;
	}
	x->nq = nq;
	for (uint32_t k = 0; k < nq; k++)
		x->q[k].fd = -1;
	/* the receive frames of all queues together as many as one queue's,
	 * down to XRING_MIN a queue */
	for (x->qring = XRING; x->qring > XRING_MIN && x->qring * nq > XRING; x->qring /= 2)
		;
	uint32_t nrx = nq * x->qring;
	x->area_len = (size_t)(nrx + XF_TX) * XF_SIZE;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		err_set(e, "%s: UMEM of %zu KiB: %s", ifname, x->area_len / 1024, strerror(errno));
		goto fail;
	}
	/* up before attaching: some drivers refuse XDP on a down link */
	ifctl_prepare(x->h.ctl_fd, ifname, true);
	last_warn[0] = 0;
	const char *how = "native";
	char first[sizeof(last_warn) + 64] = "";
	int r = try_mode(x, XDP_MODE_NATIVE);
	if (r) {
		snprintf(first, sizeof(first), "%s%s%s", strerror(-r), last_warn[0] ? ": " : "",
			 last_warn);
		last_warn[0] = 0;
		how = "generic";
		r = try_mode(x, XDP_MODE_SKB);
		if (r) {
			err_set(e, "%s: cannot attach XDP: native mode: %s; generic mode: %s%s%s",
				ifname, first, strerror(-r), last_warn[0] ? ": " : "", last_warn);
			goto fail;
		}
	}
	if (rx_fd(x, e) < 0)
		goto fail;
	x->virt = virtual_if(x->h.ctl_fd, ifname);
	struct xdp_options opt = { 0 };
	socklen_t ol = sizeof(opt);
	if (getsockopt(x->q[0].fd, SOL_XDP, XDP_OPTIONS, &opt, &ol) == 0)
		x->zerocopy = opt.flags & XDP_OPTIONS_ZEROCOPY;
	/* zero-copy: GSO packets go cut through the ring, in order (ring_idle) */
	x->gso_fd = x->zerocopy ? -1 : io_vnet_socket(x->h.ifindex);
	x->cut = xmalloc(IO_CUT_ROOM); /* also with gso_fd: behind frames still in the ring */
	char queues[32] = "";
	if (nq > 1)
		snprintf(queues, sizeof(queues), ", %u receive queues", nq);
	snprintf(x->h.detail, sizeof(x->h.detail), "AF_XDP %s, %s%s%s%s%s%s%s", how,
		 x->zerocopy ? "zero-copy" : "copy", queues,
		 x->tx_md && !x->zerocopy ? ", checksum offload" : "",
		 x->gso_fd >= 0 ? ", GSO" : "", first[0] ? " (native mode: " : "",
		 first, first[0] ? ")" : "");
	for (uint32_t k = 0; k < nq; k++) {
		uint32_t idx = 0;
		struct xq *q = &x->q[k];
		if (xsk_ring_prod__reserve(&q->fq, x->qring, &idx) != x->qring) {
			err_set(e, "%s: AF_XDP fill ring of queue %u takes fewer than %u frames",
				ifname, k, x->qring);
			goto fail;
		}
		for (uint32_t i = 0; i < x->qring; i++)
			*xsk_ring_prod__fill_addr(&q->fq, idx + i) =
				(uint64_t)(k * x->qring + i) * XF_SIZE;
		xsk_ring_prod__submit(&q->fq, x->qring);
	}
	for (uint32_t i = 0; i < XF_TX; i++)
		x->free_tx[i] = (uint64_t)(nrx + i) * XF_SIZE;
	x->nfree = XF_TX;
	struct packet_mreq mr = { .mr_ifindex = x->h.ifindex, .mr_type = PACKET_MR_PROMISC };
	if (setsockopt(x->h.ctl_fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0) {
		err_set(e, "%s: promiscuous mode: %s", ifname, strerror(errno));
		goto fail;
	}
	(void)ifctl_link(x->h.ctl_fd, &x->h);
	return &x->h;
fail:
	ax_close(&x->h);
	return NULL;
}

/* The frames of the queue's last burst back to its fill ring. */
static void q_release(struct xq *q)
{
	if (!q->nheld)
		return;
	uint32_t idx = 0;
	/* never short: the fill ring has room for every frame of the queue */
	if (xsk_ring_prod__reserve(&q->fq, q->nheld, &idx) != q->nheld)
		return;
	for (uint32_t i = 0; i < q->nheld; i++)
		*xsk_ring_prod__fill_addr(&q->fq, idx + i) = q->held[i];
	xsk_ring_prod__submit(&q->fq, q->nheld);
	q->nheld = 0;
}

static void ax_rx_release(struct io_handle *h)
{
	struct axdp *x = (struct axdp *)h;
	for (uint32_t k = 0; k < x->nq; k++)
		q_release(&x->q[k]);
}

/* Up to want frames of queue q into f; its frames of the last burst must
 * have gone back (q_release). */
static uint32_t q_take(struct axdp *x, struct xq *q, struct io_frame *f, uint32_t want)
{
	if (q->nheld)
		return 0;
	uint32_t idx = 0;
	uint32_t n = xsk_ring_cons__peek(&q->rx, want, &idx);
	if (!n) {
		if (xsk_ring_prod__needs_wakeup(&q->fq))
			(void)recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return 0;
	}
	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint64_t a = d->addr;
		q->held[i] = a - a % XF_SIZE;
		f[i] = (struct io_frame){ .data = x->area + a, .len = d->len, .wire_len = d->len };
		if (x->virt && io_csum_looks_partial(f[i].data, d->len))
			f[i].flags = IO_F_CSUM_PARTIAL;
	}
	/* the descriptors go back now; the frames only on the next burst */
	xsk_ring_cons__release(&q->rx, n);
	q->nheld = n;
	return n;
}

/* In copy mode the kernel sends from the TX ring only when asked: by
 * sendto, or by a poll of the socket. With one queue the caller's poll of
 * h->fd asks again for what a busy device left in the ring; an epoll fd
 * polls a socket only once it has frames, so with several queues rx_burst
 * and link ask, once each (a poll's worth). */
static void tx_drain(struct axdp *x)
{
	struct xq *q = &x->q[0];
	if (__atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) != *q->tx.producer &&
	    (!x->zerocopy || xsk_ring_prod__needs_wakeup(&q->tx)))
		(void)sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0);
}

static size_t ax_rx_burst(struct io_handle *h, struct io_frame *f, size_t max)
{
	struct axdp *x = (struct axdp *)h;
	uint32_t want = max < XHELD ? (uint32_t)max : XHELD;
	if (x->nq == 1) {
		q_release(&x->q[0]);
		return q_take(x, &x->q[0], f, want);
	}
	tx_drain(x);
	ax_rx_release(h);
	uint32_t n = 0;
	for (uint32_t i = 0, k = x->next; i < x->nq && n < want; i++) {
		n += q_take(x, &x->q[k], f + n, want - n);
		k = k + 1 == x->nq ? 0 : k + 1;
	}
	x->next = x->next + 1 == x->nq ? 0 : x->next + 1;
	return n;
}

static void reclaim(struct axdp *x)
{
	uint32_t idx = 0;
	struct xq *q = &x->q[0];
	uint32_t n = xsk_ring_cons__peek(&q->cq, XRING, &idx);
	for (uint32_t i = 0; i < n && x->nfree < XF_TX; i++) {
		uint64_t a = *xsk_ring_cons__comp_addr(&q->cq, idx + i);
		x->free_tx[x->nfree++] = a - a % XF_SIZE;
	}
	if (n)
		xsk_ring_cons__release(&q->cq, n);
}

/* Hands what the TX ring holds to the driver; 0 or a negative errno that
 * says the link cannot send now. */
static int kick(struct axdp *x)
{
	struct xq *q = &x->q[0];
	if (x->zerocopy && !xsk_ring_prod__needs_wakeup(&q->tx))
		return 0;
	for (int i = 0; i < XKICKS; i++) {
		if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0) {
			/* copy mode sends a batch per call: go on while some are left */
			if (x->zerocopy || __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) ==
						   *q->tx.producer)
				return 0;
			continue;
		}
		if (errno == EAGAIN || errno == EBUSY || errno == EINTR)
			continue;
		return errno == ENOBUFS ? 0 : -errno; /* the device queue is full: later */
	}
	return 0;
}

/* Frame f (len bytes, at UMEM offset d->addr) leaves with its transport
 * checksum partial: the kernel finishes it when asked through the
 * metadata in front of the frame (copy mode builds an skb with
 * CHECKSUM_PARTIAL, which a veth hands on as it is); a zero-copy driver
 * may not honour the request, so there rosfw finishes it. */
static void tx_partial(struct axdp *x, uint8_t *f, uint32_t len, struct xdp_desc *d)
{
	uint32_t start, off;
	if (!x->tx_md || x->zerocopy) {
		(void)io_csum_complete(f, len);
		return;
	}
	if (!io_csum_where(f, len, &start, &off))
		return;
	struct ax_tx_meta *m = (struct ax_tx_meta *)(void *)(f - XMD_LEN);
	m->flags = AX_TXMD_CHECKSUM;
	m->csum_start = (uint16_t)start;
	m->csum_offset = (uint16_t)off;
	d->options = AX_TX_METADATA;
}

/* Frames t[0..n) (none GSO) into the TX ring, then a kick: how many
 * went, or -errno when none did. */
static int ring_send(struct axdp *x, struct io_tx *t, size_t n)
{
	struct xq *q = &x->q[0];
	reclaim(x);
	size_t k = n < x->nfree ? n : x->nfree;
	for (size_t i = 0; i < k; i++)
		if (t[i].len > XF_SIZE - XTX_HEAD || !t[i].len) {
			k = i;
			break;
		}
	if (!k)
		return x->nfree ? -EMSGSIZE : -ENOBUFS;
	uint32_t idx = 0;
	uint32_t room = xsk_prod_nb_free(&q->tx, (uint32_t)k);
	if (room < k)
		k = room;
	if (!k || xsk_ring_prod__reserve(&q->tx, (uint32_t)k, &idx) != k)
		return -ENOBUFS;
	for (size_t i = 0; i < k; i++) {
		uint64_t a = x->free_tx[--x->nfree] + XTX_HEAD;
		memcpy(x->area + a, t[i].data, t[i].len);
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + (uint32_t)i);
		d->addr = a;
		d->len = t[i].len;
		d->options = 0;
		if (t[i].flags & IO_F_CSUM_PARTIAL)
			tx_partial(x, x->area + a, t[i].len, d);
	}
	xsk_ring_prod__submit(&q->tx, (uint32_t)k);
	int r = kick(x);
	/* queued, but the link refuses: the caller learns it is down */
	if (r == -ENETDOWN || r == -ENXIO)
		return r;
	return (int)k;
}

/* Copy mode: nothing given to the TX ring can still be overtaken by a
 * packet sent another way, the kernel has taken every frame off the ring
 * (the kick handed each to the driver; a busy device or the kick budget
 * leaves some there). (A zero-copy driver sends from its own hardware
 * queue when it gets to it: there GSO packets always go by the ring.) */
static bool ring_idle(struct axdp *x)
{
	struct xq *q = &x->q[0];
	return __atomic_load_n(q->tx.consumer, __ATOMIC_ACQUIRE) == *q->tx.producer;
}

/* One GSO packet: whole through the vnet socket (the kernel cuts it, or
 * hands it to a veth peer whole) when the TX ring has nothing left that
 * it would overtake, else cut here into the TX ring behind those frames.
 * 1 when it went, else -errno. */
static int gso_send(struct axdp *x, struct io_tx *t)
{
	if (x->gso_fd >= 0 && ring_idle(x)) {
		int r = io_send(x->gso_fd, true, t, 1);
		return r == 0 ? -ENOBUFS : r;
	}
	struct io_tx seg[GRO_MAX_SEGS];
	size_t n = io_cut(t, x->cut, IO_CUT_ROOM, seg, GRO_MAX_SEGS);
	if (!n)
		return -EMSGSIZE;
	int r = ring_send(x, seg, n);
	return r == (int)n ? 1 : r < 0 ? r : -ENOBUFS;
}

/* Runs of plain frames go through the TX ring and GSO packets through
 * gso_send, in order: a GSO packet takes the socket only once the ring
 * has handed on what it holds (ring_idle), else it follows it cut. */
static int ax_tx_burst(struct io_handle *h, struct io_tx *t, size_t n)
{
	struct axdp *x = (struct axdp *)h;
	size_t done = 0;
	while (done < n) {
		size_t k = 0;
		while (done + k < n && !t[done + k].gso_size)
			k++;
		int r = k ? ring_send(x, t + done, k) : gso_send(x, t + done);
		if (r < 0)
			return done ? (int)done : r;
		done += (size_t)r;
		if ((size_t)r < (k ? k : 1))
			break;
	}
	return (int)done;
}

static enum io_link ax_link(struct io_handle *h)
{
	struct axdp *x = (struct axdp *)h;
	uint64_t drops = 0;
	for (uint32_t k = 0; k < x->nq; k++) {
		struct xdp_statistics st;
		socklen_t sl = sizeof(st);
		if (getsockopt(x->q[k].fd, SOL_XDP, XDP_STATISTICS, &st, &sl) == 0)
			drops += st.rx_dropped + st.rx_ring_full;
	}
	h->rx_ring_drops = drops;
	if (x->nq > 1)
		tx_drain(x);
	return ifctl_link(h->ctl_fd, h);
}

const struct io_ops io_afxdp_ops = {
	.name = "af_xdp",
	.open = ax_open,
	.rx_burst = ax_rx_burst,
	.rx_release = ax_rx_release,
	.tx_burst = ax_tx_burst,
	.link = ax_link,
	.close = ax_close,
};
