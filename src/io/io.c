/* The backend table and the choice among backends (io.h). */
#include "io.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"

enum io_mode { IO_MODE_UNSET, IO_MODE_AFPACKET, IO_MODE_AFXDP, IO_MODE_AUTO };

static enum io_mode mode_now = IO_MODE_UNSET;

const struct io_ops *io_ops_find(const char *name)
{
	if (!strcmp(name, "af_packet") || !strcmp(name, "afpacket"))
		return &io_afpacket_ops;
	if (!strcmp(name, "af_xdp") || !strcmp(name, "afxdp"))
		return &io_afxdp_ops;
	return NULL;
}

static enum io_mode mode_parse(const char *name)
{
	if (!strcmp(name, "auto"))
		return IO_MODE_AUTO;
	const struct io_ops *o = io_ops_find(name);
	if (!o)
		return IO_MODE_UNSET;
	return o == &io_afxdp_ops ? IO_MODE_AFXDP : IO_MODE_AFPACKET;
}

int io_select(const char *mode, struct err *e)
{
	enum io_mode m = mode ? mode_parse(mode) : IO_MODE_UNSET;
	if (m == IO_MODE_UNSET) {
		err_set(e, "unknown packet I/O '%s': af_packet, af_xdp or auto", mode ? mode : "");
		return -1;
	}
	mode_now = m;
	return 0;
}

static enum io_mode mode_get(void)
{
	if (mode_now == IO_MODE_UNSET) {
		const char *env = getenv("ROSFW_IO");
		mode_now = env && *env ? mode_parse(env) : IO_MODE_AUTO;
		if (mode_now == IO_MODE_UNSET) {
			fprintf(stderr, "rosfw: ROSFW_IO=%s is not af_packet, af_xdp or auto: "
					"using auto\n", env);
			mode_now = IO_MODE_AUTO;
		}
	}
	return mode_now;
}

const char *io_selected(void)
{
	switch (mode_get()) {
	case IO_MODE_AFXDP:
		return "af_xdp";
	case IO_MODE_AUTO:
		return "auto";
	case IO_MODE_AFPACKET:
		return "af_packet";
	default:
		return "auto";
	}
}

struct io_handle *io_open(const char *ifname, struct err *e)
{
	enum io_mode m = mode_get();
	if (m == IO_MODE_AFPACKET)
		return io_afpacket_ops.open(ifname, e);
	struct err xe;
	err_clear(&xe);
	struct io_handle *h = io_afxdp_ops.open(ifname, &xe);
	if (h) {
		fprintf(stderr, "rosfw: %s: %s\n", ifname, h->detail);
		conf_log("interface,info", "%s: %s", ifname, h->detail);
		return h;
	}
	if (m == IO_MODE_AFXDP) {
		if (e)
			*e = xe;
		return NULL;
	}
	h = io_afpacket_ops.open(ifname, e);
	if (h) {
		fprintf(stderr, "rosfw: %s: no AF_XDP (%s): AF_PACKET instead\n", ifname, xe.msg);
		conf_log("interface,info", "%s: no AF_XDP (%s): AF_PACKET instead", ifname, xe.msg);
	}
	return h;
}
