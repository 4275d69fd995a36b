/*
 * Queue menus: queue types (the leaf disciplines, with the ten RouterOS v6
 * built-ins and the v7 fq-codel/codel/cake kinds), the queue tree (HTB
 * classes attached to an interface or to global) and simple queues
 * (ordered, upload/download pairs).
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"

#include <stdlib.h>
#include <string.h>

#include "store.h"

/* ---- value checks ---- */

/* bucket-size of a simple queue: upload/download numbers 0..10, one
 * number meaning both. */
static int q_check_num_pair(const struct prop *p, const char *in, struct sbuf *out,
			    struct err *e)
{
	struct prop num = *p;
	num.type = T_NUM;
	num.flags = 0;
	num.check = NULL;
	const char *slash = strchr(in, '/');
	char *up = slash ? xstrndup(in, (size_t)(slash - in)) : xstrdup(in);
	const char *down = slash ? slash + 1 : in;
	size_t mark = out->len;
	int rc = -1;
	if (strchr(down, '/')) {
		err_setp(e, p->name, "invalid value for argument %s: expected upload/download",
			 p->name);
		goto free_up;
	}
	if (type_parse_one(&num, up, out, e) < 0)
		goto free_up;
	sbuf_putc(out, '/');
	if (type_parse_one(&num, down, out, e) < 0)
		goto free_up;
	rc = 0;
free_up:
	if (rc < 0)
		sbuf_truncate(out, mark);
	free(up);
	return rc;
}

/* ---- cross-property checks ---- */

static int q_type_validate(struct store *st, const struct menu *m, const struct item *it,
			   struct err *e)
{
	const char *name = item_get(m, it, "name");
	/* a simple queue names two types as upload/download */
	if (name && strchr(name, '/'))
		return err_setp(e, "name", "failure: a queue type name cannot contain '/'");
	const char *lo = item_get(m, it, "red-min-threshold");
	const char *hi = item_get(m, it, "red-max-threshold");
	if (lo && hi && strtoll(lo, NULL, 0) > strtoll(hi, NULL, 0))
		return err_setp(e, "red-min-threshold",
				"failure: red-min-threshold must not be above red-max-threshold");
	return 0;
}

/* A queue cannot be its own parent (longer cycles are the command layer's). */
static int q_parent_validate(struct store *st, const struct menu *m, const struct item *it,
			     struct err *e)
{
	const char *name = item_get(m, it, "name");
	const char *parent = item_get(m, it, "parent");
	if (name && parent && *name && !strcmp(name, parent))
		return err_setp(e, "parent", "failure: queue can not be its own parent");
	return 0;
}

/* ---- /queue/type ---- */

static const char *const qt_kinds[] = { "pfifo", "bfifo", "mq-pfifo", "sfq", "pcq", "red",
					"fq-codel", "codel", "cake", "none", NULL };
static const char *const qt_pcq_classifiers[] = { "src-address", "dst-address", "src-port",
						  "dst-port", NULL };
static const char *const qt_cake_diffserv[] = { "besteffort", "diffserv3", "diffserv4",
						"diffserv8", "precedence", NULL };
static const char *const qt_cake_flowmodes[] = { "flowblind", "srchost", "dsthost", "hosts",
						 "flows", "dual-srchost", "dual-dsthost",
						 "triple-isolate", NULL };

#define QT_INT(n, d, lo, hi, h) \
	{ .name = (n), .type = T_INT, .def = (d), .min = (lo), .max = (hi), .help = (h) }
#define QT_TIME(n, d, h) { .name = (n), .type = T_TIME, .def = (d), .help = (h) }
#define QT_RATE(n, d, h) { .name = (n), .type = T_RATE, .def = (d), .help = (h) }

static const struct prop qt_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name queues use in queue=" },
	{ .name = "kind", .type = T_ENUM, .flags = PF_REQ, .enums = qt_kinds,
	  .help = "Queueing discipline" },
	QT_INT("pfifo-limit", "50", 1, 4294967295LL, "pfifo: packets queued before tail drop"),
	QT_INT("bfifo-limit", "15000", 1, 4294967295LL, "bfifo: bytes queued before tail drop"),
	QT_INT("mq-pfifo-limit", "50", 1, 4294967295LL, "mq-pfifo: packets per hardware queue"),
	QT_INT("sfq-perturb", "5", 1, 4294967295LL, "sfq: seconds between hash changes"),
	QT_INT("sfq-allot", "1514", 1, 4294967295LL, "sfq: bytes a sub-queue sends per round"),
	QT_INT("red-limit", "60", 1, 4294967295LL, "red: packets queued at most"),
	QT_INT("red-min-threshold", "10", 0, 4294967295LL,
	       "red: average queue size where dropping starts"),
	QT_INT("red-max-threshold", "50", 0, 4294967295LL,
	       "red: average queue size above which everything drops"),
	QT_INT("red-burst", "20", 0, 4294967295LL, "red: packets allowed in a burst"),
	QT_INT("red-avg-packet", "1000", 1, 65535, "red: average packet size in bytes"),
	QT_RATE("pcq-rate", "0", "pcq: rate of each sub-queue, 0 = equal share"),
	QT_INT("pcq-limit", "50", 1, 4294967295LL, "pcq: packets per sub-queue"),
	{ .name = "pcq-classifier", .type = T_ENUM, .flags = PF_LIST, .def = "",
	  .enums = qt_pcq_classifiers, .help = "pcq: fields that tell sub-queues apart" },
	QT_INT("pcq-total-limit", "2000", 1, 4294967295LL, "pcq: packets in all sub-queues"),
	QT_RATE("pcq-burst-rate", "0", "pcq: burst rate of a sub-queue"),
	QT_RATE("pcq-burst-threshold", "0", "pcq: average rate below which bursts are allowed"),
	QT_TIME("pcq-burst-time", "10s", "pcq: period the average rate is taken over"),
	QT_INT("pcq-src-address-mask", "32", 0, 32, "pcq: prefix length of IPv4 source classes"),
	QT_INT("pcq-dst-address-mask", "32", 0, 32,
	       "pcq: prefix length of IPv4 destination classes"),
	QT_INT("pcq-src-address6-mask", "128", 0, 128, "pcq: prefix length of IPv6 source classes"),
	QT_INT("pcq-dst-address6-mask", "128", 0, 128,
	       "pcq: prefix length of IPv6 destination classes"),
	QT_INT("fq-codel-flows", "1024", 1, 65536, "fq-codel: number of flow queues"),
	QT_INT("fq-codel-limit", "10240", 1, 4294967295LL, "fq-codel: packets queued at most"),
	QT_INT("fq-codel-quantum", "1514", 1, 4294967295LL,
	       "fq-codel: bytes a flow sends per round"),
	QT_TIME("fq-codel-target", "5ms", "fq-codel: acceptable standing queue delay"),
	QT_TIME("fq-codel-interval", "100ms", "fq-codel: window the delay is measured over"),
	{ .name = "fq-codel-ecn", .type = T_BOOL, .def = "yes",
	  .help = "fq-codel: mark ECN-capable packets instead of dropping" },
	QT_INT("fq-codel-memlimit", "33554432", 1, 4294967295LL,
	       "fq-codel: bytes of memory the queue may hold"),
	QT_TIME("codel-target", "5ms", "codel: acceptable standing queue delay"),
	QT_TIME("codel-interval", "100ms", "codel: window the delay is measured over"),
	QT_INT("codel-limit", "1000", 1, 4294967295LL, "codel: packets queued at most"),
	{ .name = "codel-ecn", .type = T_BOOL, .def = "no",
	  .help = "codel: mark ECN-capable packets instead of dropping" },
	QT_RATE("cake-bandwidth", "0", "cake: shaped rate, 0 = unlimited"),
	{ .name = "cake-diffserv", .type = T_ENUM, .def = "diffserv3", .enums = qt_cake_diffserv,
	  .help = "cake: how DSCP maps to priority tins" },
	{ .name = "cake-flowmode", .type = T_ENUM, .def = "triple-isolate",
	  .enums = qt_cake_flowmodes, .help = "cake: what flow fairness is computed over" },
	QT_TIME("cake-rtt", "100ms", "cake: expected round trip time"),
	{ .name = "cake-nat", .type = T_BOOL, .def = "no",
	  .help = "cake: look up NAT bindings to find the real hosts" },
	QT_INT("cake-overhead", "0", -64, 256, "cake: bytes added to each packet's size"),
};

static const struct flagdef qt_flags[] = {
	{ '*', "default", "builtin" },
	{ 0, NULL, NULL },
};

static const char *const qt_columns[] = { "name", "kind", NULL };

static const char *const qt_builtin[] = {
	"name=default kind=pfifo",
	"name=ethernet-default kind=pfifo",
	"name=wireless-default kind=sfq",
	"name=synchronous-default kind=red",
	"name=hotspot-default kind=sfq",
	"name=pcq-upload-default kind=pcq pcq-classifier=src-address",
	"name=pcq-download-default kind=pcq pcq-classifier=dst-address",
	"name=only-hardware-queue kind=none",
	"name=multi-queue-ethernet-default kind=mq-pfifo",
	"name=default-small kind=pfifo pfifo-limit=10",
	NULL,
};

const struct menu menu_queue_type = {
	.path = "/queue/type",
	MENU_PROPS(qt_props),
	.key = "name",
	.flagdefs = qt_flags,
	.columns = qt_columns,
	.builtin = qt_builtin,
	.validate = q_type_validate,
	.help = "Queue types: the disciplines leaf queues use",
};

/* ---- /queue/tree ---- */

#define Q_STAT(n, t, h) { .name = (n), .type = (t), .flags = PF_RO | PF_STAT, .help = (h) }

static const struct prop qtree_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE, .help = "Name of the queue" },
	{ .name = "parent", .type = T_REF, .flags = PF_REQ, .ref = "queue-parent",
	  .help = "global, an interface, or another queue tree queue" },
	{ .name = "packet-mark", .type = T_STR, .flags = PF_LIST, .def = "",
	  .alias = "packet-marks", .help = "Packet marks the queue takes, empty = any" },
	{ .name = "limit-at", .type = T_RATE, .def = "0", .help = "Guaranteed rate" },
	{ .name = "queue", .type = T_REF, .def = "default-small", .ref = "/queue/type",
	  .help = "Queue type of the leaf" },
	{ .name = "priority", .type = T_INT, .def = "8", .min = 1, .max = 8,
	  .help = "Order of service for spare capacity, 1 first" },
	{ .name = "max-limit", .type = T_RATE, .def = "0", .help = "Highest rate, 0 = no limit" },
	{ .name = "burst-limit", .type = T_RATE, .def = "0", .help = "Rate allowed during a burst" },
	{ .name = "burst-threshold", .type = T_RATE, .def = "0",
	  .help = "Average rate below which a burst may start" },
	{ .name = "burst-time", .type = T_TIME, .def = "0s",
	  .help = "Period the average rate is taken over" },
	{ .name = "bucket-size", .type = T_NUM, .def = "0.1", .min = 0, .max = 10000,
	  .help = "Token bucket size as a multiple of max-limit (0..10)" },
	PROP_DISABLED,
	PROP_COMMENT,
	Q_STAT("rate", T_RATE, "Average rate"),
	Q_STAT("packet-rate", T_INT, "Average packets per second"),
	Q_STAT("queued-bytes", T_INT, "Bytes waiting in the queue"),
	Q_STAT("queued-packets", T_INT, "Packets waiting in the queue"),
	Q_STAT("bytes", T_INT, "Bytes sent"),
	Q_STAT("packets", T_INT, "Packets sent"),
	Q_STAT("dropped", T_INT, "Packets dropped"),
	Q_STAT("lends", T_INT, "Packets sent within limit-at"),
	Q_STAT("borrows", T_INT, "Packets sent on capacity borrowed from the parent"),
};

static const struct flagdef q_flags_xi[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ 0, NULL, NULL },
};

static const char *const qtree_stats[] = { "name", "parent", "packet-mark", "rate",
					   "packet-rate", "queued-bytes", "queued-packets",
					   "bytes", "packets", "dropped", NULL };

const struct menu menu_queue_tree = {
	.path = "/queue/tree",
	MENU_PROPS(qtree_props),
	.key = "name",
	.flagdefs = q_flags_xi,
	.stats = qtree_stats,
	.validate = q_parent_validate,
	.help = "Hierarchical token bucket queues",
};

/* ---- /queue/simple ---- */

static const char *const qs_parent_words[] = { "none", NULL };

static const struct prop qsimple_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_UNIQUE,
	  .help = "Name of the queue (queueN when not given)" },
	{ .name = "target", .type = T_CUSTOM, .flags = PF_LIST, .check = tc_target,
	  .help = "Addresses and interfaces whose traffic the queue limits" },
	{ .name = "dst", .type = T_STR, .help = "Other end of the traffic: address or interface" },
	{ .name = "parent", .type = T_REF, .def = "none", .ref = "/queue/simple",
	  .enums = qs_parent_words, .help = "Simple queue this one is inside" },
	{ .name = "packet-marks", .type = T_STR, .flags = PF_LIST, .def = "",
	  .help = "Packet marks the queue takes, empty = any" },
	{ .name = "priority", .type = T_CUSTOM, .def = "8/8", .check = tc_int_pair,
	  .min = 1, .max = 8, .help = "Upload/download priority, 1 first" },
	{ .name = "queue", .type = T_CUSTOM, .def = "default-small/default-small",
	  .check = tc_name_pair, .ref = "/queue/type", .help = "Upload/download queue types" },
	{ .name = "limit-at", .type = T_CUSTOM, .def = "0/0", .check = tc_rate_pair,
	  .help = "Upload/download guaranteed rates" },
	{ .name = "max-limit", .type = T_CUSTOM, .def = "0/0", .check = tc_rate_pair,
	  .help = "Upload/download highest rates, 0 = no limit" },
	{ .name = "burst-limit", .type = T_CUSTOM, .def = "0/0", .check = tc_rate_pair,
	  .help = "Upload/download rates allowed during a burst" },
	{ .name = "burst-threshold", .type = T_CUSTOM, .def = "0/0", .check = tc_rate_pair,
	  .help = "Upload/download average rates below which a burst may start" },
	{ .name = "burst-time", .type = T_CUSTOM, .def = "0s/0s", .check = tc_time_pair,
	  .help = "Upload/download periods the average rate is taken over" },
	{ .name = "bucket-size", .type = T_CUSTOM, .def = "0.1/0.1", .check = q_check_num_pair,
	  .min = 0, .max = 10000, .help = "Upload/download token bucket sizes (0..10)" },
	{ .name = "time", .type = T_CUSTOM, .check = tc_schedule,
	  .help = "When the queue is active: 8h-17h,mon,tue" },
	{ .name = "total-queue", .type = T_REF, .flags = PF_DETAIL, .def = "default-small",
	  .ref = "/queue/type", .help = "Queue type for both directions together" },
	{ .name = "total-limit-at", .type = T_RATE, .flags = PF_DETAIL, .def = "0",
	  .help = "Guaranteed rate of both directions together" },
	{ .name = "total-max-limit", .type = T_RATE, .flags = PF_DETAIL, .def = "0",
	  .help = "Highest rate of both directions together" },
	{ .name = "total-priority", .type = T_INT, .flags = PF_DETAIL, .def = "8", .min = 1,
	  .max = 8, .help = "Priority of both directions together" },
	{ .name = "total-burst-limit", .type = T_RATE, .flags = PF_DETAIL, .def = "0",
	  .help = "Burst rate of both directions together" },
	{ .name = "total-burst-threshold", .type = T_RATE, .flags = PF_DETAIL, .def = "0",
	  .help = "Burst threshold of both directions together" },
	{ .name = "total-burst-time", .type = T_TIME, .flags = PF_DETAIL, .def = "0s",
	  .help = "Burst time of both directions together" },
	{ .name = "total-bucket-size", .type = T_NUM, .flags = PF_DETAIL, .def = "0.1",
	  .min = 0, .max = 10000, .help = "Bucket size of both directions together" },
	PROP_DISABLED,
	PROP_COMMENT,
	Q_STAT("rate", T_STR, "Upload/download average rates"),
	Q_STAT("packet-rate", T_STR, "Upload/download packets per second"),
	Q_STAT("queued-bytes", T_STR, "Upload/download bytes waiting"),
	Q_STAT("queued-packets", T_STR, "Upload/download packets waiting"),
	Q_STAT("bytes", T_STR, "Upload/download bytes sent"),
	Q_STAT("packets", T_STR, "Upload/download packets sent"),
	Q_STAT("dropped", T_STR, "Upload/download packets dropped"),
	Q_STAT("total-rate", T_RATE, "Average rate of both directions together"),
	Q_STAT("total-packet-rate", T_INT, "Packets per second of both directions together"),
	Q_STAT("total-queued-bytes", T_INT, "Bytes waiting in the total queue"),
	Q_STAT("total-queued-packets", T_INT, "Packets waiting in the total queue"),
	Q_STAT("total-bytes", T_INT, "Bytes sent through the total queue"),
	Q_STAT("total-packets", T_INT, "Packets sent through the total queue"),
	Q_STAT("total-dropped", T_INT, "Packets the total queue dropped"),
};

static const char *const qsimple_stats[] = { "name", "target", "rate", "packet-rate",
					     "queued-bytes", "queued-packets", "bytes", "packets",
					     "dropped", NULL };

const struct menu menu_queue_simple = {
	.path = "/queue/simple",
	MENU_PROPS(qsimple_props),
	.flags = MF_ORDERED,
	.key = "name",
	.flagdefs = schema_flags_xid,
	.stats = qsimple_stats,
	.validate = q_parent_validate,
	.help = "Per-target upload/download limits, first match wins",
};
