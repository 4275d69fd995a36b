/*
 * System menus: identity, clock, logging, scripts and the scheduler, users
 * and their groups, the management services and DNS, plus the runtime views
 * (/log, /system/resource, /file) that a provider fills at print time.
 */
#define ROSFW_MENUS_TABLES
#include "menus.h"

#include <string.h>

#include "runtime.h"

/* ---- value checks ---- */

static const char *const sys_policies[] = {
	"local", "telnet", "ssh", "ftp", "reboot", "read", "write", "policy", "test", "winbox",
	"password", "web", "sniff", "sensitive", "api", "romon", "dude", "tikapp", "rest-api",
	NULL
};

static const char *const sys_log_topics[] = {
	"account", "async", "backup", "bfd", "bgp", "calc", "certificate", "critical", "ddns",
	"debug", "dhcp", "dns", "dot1x", "dude", "e-mail", "error", "event", "firewall", "gsm",
	"gps", "hotspot", "igmp-proxy", "info", "interface", "ipsec", "iscsi", "isdn", "kvm",
	"l2tp", "ldp", "lte", "manager", "mme", "mpls", "natpmp", "netwatch", "ntp", "ospf",
	"ovpn", "packet", "pim", "ppp", "pppoe", "pptp", "queue", "radius", "radvd", "raw",
	"read", "rip", "route", "rsvp", "script", "sertcp", "snmp", "ssh", "sstp", "state",
	"store", "system", "telephony", "tftp", "timer", "upnp", "ups", "vrrp", "warning",
	"watchdog", "web-proxy", "wireless", "write", NULL
};

/* A comma list of names, each of which may be negated with '!'. */
static int sys_check_bang_names(const struct prop *p, const char *in, struct sbuf *out,
				struct err *e, const char *const *names, const char *what)
{
	const char *s = in;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t n = comma ? (size_t)(comma - s) : strlen(s);
		const char *name = s;
		if (n > 0 && name[0] == '!') {
			name++;
			n--;
		}
		const char *const *k = names;
		while (*k && (strlen(*k) != n || memcmp(*k, name, n)))
			k++;
		if (!*k)
			return err_setp(e, p->name,
					"invalid value for argument %s: unknown %s \"%.*s\"",
					p->name, what, (int)n, name);
		if (s != in)
			sbuf_putc(out, ',');
		sbuf_add(out, s, (size_t)(name - s) + n);
		if (!comma)
			return 0;
		s = comma + 1;
	}
}

static int sys_check_policy(const struct prop *p, const char *in, struct sbuf *out,
			    struct err *e)
{
	return sys_check_bang_names(p, in, out, e, sys_policies, "policy");
}

static int sys_check_topic(const struct prop *p, const char *in, struct sbuf *out,
			   struct err *e)
{
	return sys_check_bang_names(p, in, out, e, sys_log_topics, "topic");
}

/* The clock is the machine's: rosfw does not set it. */
static int sys_check_host_clock(const struct prop *p, const char *in, struct sbuf *out,
				struct err *e)
{
	return err_setp(e, p->name,
			"failure: %s: the clock is the host's; set it on the host (date, "
			"timedatectl or NTP)", p->name);
}

/* manual (the machine's own zone) or a zone of the tz database; print
 * shows the clock in it. */
static int sys_check_time_zone(const struct prop *p, const char *in, struct sbuf *out,
			       struct err *e)
{
	long off;
	bool dst;
	if (strcmp(in, "manual") && conf_tz_at(in, 0, &off, &dst) < 0)
		return err_setp(e, p->name,
				"invalid value for argument %s: unknown time zone \"%.64s\" "
				"(manual, or a tz database name such as Europe/Riga)",
				p->name, in);
	sbuf_puts(out, in);
	return 0;
}

static const char *const singleton_builtin[] = { "", NULL };

#define RO(n, t, h) { .name = (n), .type = (t), .flags = PF_RO, .help = (h) }

/* ---- /ip/dns ---- */

static const struct prop dns_props[] = {
	{ .name = "servers", .type = T_IP, .flags = PF_LIST, .def = "",
	  .help = "Upstream DNS servers" },
	RO("dynamic-servers", T_STR, "Servers learned from DHCP or PPP"),
	{ .name = "allow-remote-requests", .type = T_BOOL, .def = "no",
	  .help = "Answer queries from other hosts, not only the router" },
	{ .name = "max-udp-packet-size", .type = T_INT, .def = "4096", .min = 50, .max = 65507,
	  .help = "Largest UDP answer accepted" },
	{ .name = "query-server-timeout", .type = T_TIME, .def = "2s",
	  .help = "Time to wait for one server" },
	{ .name = "query-total-timeout", .type = T_TIME, .def = "10s",
	  .help = "Time to wait for an answer from any server" },
	{ .name = "max-concurrent-queries", .type = T_INT, .def = "100", .min = 1, .max = 1000000,
	  .help = "Queries resolved at the same time" },
	{ .name = "max-concurrent-tcp-sessions", .type = T_INT, .def = "20", .min = 1,
	  .max = 1000000, .help = "TCP sessions served at the same time" },
	{ .name = "cache-size", .type = T_INT, .def = "2048", .min = 64, .max = 1048576,
	  .help = "Cache size in KiB" },
	{ .name = "cache-max-ttl", .type = T_TIME, .def = "1w",
	  .help = "Longest time an answer stays cached" },
	RO("cache-used", T_INT, "Cache in use in KiB"),
};

const struct menu menu_ip_dns = {
	.path = "/ip/dns",
	MENU_PROPS(dns_props),
	.flags = MF_SINGLETON,
	.builtin = singleton_builtin,
	.help = "DNS client and cache",
};

/* ---- /ip/service ---- */

static const char *const svc_tls_versions[] = { "any", "only-1.2", NULL };

static const struct prop svc_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_RO | PF_UNIQUE, .help = "Service name" },
	{ .name = "port", .type = T_PORT, .help = "TCP port the service listens on" },
	{ .name = "address", .type = T_NET4, .flags = PF_LIST, .def = "",
	  .help = "Networks allowed to connect, empty = any" },
	{ .name = "certificate", .type = T_STR, .def = "none",
	  .help = "TLS certificate (www-ssl, api-ssl)" },
	{ .name = "tls-version", .type = T_ENUM, .def = "any", .enums = svc_tls_versions,
	  .help = "TLS versions accepted (www-ssl, api-ssl)" },
	PROP_DISABLED,
};

static const struct flagdef svc_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ 0, NULL, NULL },
};

static const char *const svc_columns[] = { "name", "port", "address", "certificate", NULL };

static const char *const svc_builtin[] = {
	"name=telnet port=23",
	"name=ftp port=21",
	"name=www port=80",
	"name=ssh port=22",
	"name=www-ssl port=443 disabled=yes",
	"name=api port=8728",
	"name=winbox port=8291",
	"name=api-ssl port=8729",
	NULL,
};

const struct menu menu_ip_service = {
	.path = "/ip/service",
	MENU_PROPS(svc_props),
	.flags = MF_FIXED,
	.key = "name",
	.flagdefs = svc_flags,
	.columns = svc_columns,
	.builtin = svc_builtin,
	.help = "Management services of the router",
};

/* ---- /system/clock and /system/identity ---- */

static const struct prop clock_props[] = {
	{ .name = "time", .type = T_CUSTOM, .flags = PF_NOEXPORT, .check = sys_check_host_clock,
	  .help = "Time of day, hh:mm:ss (the host's, read only)" },
	{ .name = "date", .type = T_CUSTOM, .flags = PF_NOEXPORT, .check = sys_check_host_clock,
	  .help = "Date, mmm/dd/yyyy (the host's, read only)" },
	{ .name = "time-zone-autodetect", .type = T_BOOL, .def = "yes",
	  .help = "Guess the time zone from the public address" },
	{ .name = "time-zone-name", .type = T_CUSTOM, .def = "manual",
	  .check = sys_check_time_zone,
	  .help = "Time zone the clock shows (tz database name), or manual: the host's" },
	RO("gmt-offset", T_STR, "Offset from UTC in effect"),
	RO("dst-active", T_BOOL, "Daylight saving time in effect"),
};

const struct menu menu_system_clock = {
	.path = "/system/clock",
	MENU_PROPS(clock_props),
	.flags = MF_SINGLETON,
	.builtin = singleton_builtin,
	.help = "Date, time and time zone",
};

static const struct prop identity_props[] = {
	{ .name = "name", .type = T_STR, .def = "MikroTik", .max = 255,
	  .help = "Name of the router, shown in the prompt" },
};

const struct menu menu_system_identity = {
	.path = "/system/identity",
	MENU_PROPS(identity_props),
	.flags = MF_SINGLETON,
	.builtin = singleton_builtin,
	.help = "Name of the router",
};

/* ---- /system/logging ---- */

static const char *const log_targets[] = { "disk", "echo", "email", "memory", "remote",
					   "syslog", NULL };
static const char *const log_facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
	"authpriv", "ftp", "local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7", NULL
};
static const char *const log_severities[] = { "auto", "emergency", "alert", "critical", "error",
					      "warning", "notice", "info", "debug", NULL };

static const struct prop logact_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name logging rules use in action=" },
	{ .name = "target", .type = T_ENUM, .flags = PF_REQ, .enums = log_targets,
	  .help = "Where the log lines go" },
	{ .name = "memory-lines", .type = T_INT, .def = "1000", .min = 1, .max = 65535,
	  .help = "memory: lines kept" },
	{ .name = "memory-stop-on-full", .type = T_BOOL, .def = "no",
	  .help = "memory: stop logging when full instead of dropping old lines" },
	{ .name = "disk-file-name", .type = T_STR, .def = "log", .help = "disk: file name" },
	{ .name = "disk-lines-per-file", .type = T_INT, .def = "1000", .min = 1, .max = 65535,
	  .help = "disk: lines per file" },
	{ .name = "disk-file-count", .type = T_INT, .def = "2", .min = 1, .max = 65535,
	  .help = "disk: files kept" },
	{ .name = "disk-stop-on-full", .type = T_BOOL, .def = "no",
	  .help = "disk: stop logging when the files are full" },
	{ .name = "remember", .type = T_BOOL, .def = "yes",
	  .help = "echo: show earlier lines on a new console" },
	{ .name = "remote", .type = T_IP, .help = "remote: syslog server address" },
	{ .name = "remote-port", .type = T_PORT, .help = "remote: syslog server UDP port" },
	{ .name = "src-address", .type = T_IP, .help = "remote: source address of the packets" },
	{ .name = "bsd-syslog", .type = T_BOOL, .def = "no",
	  .help = "remote: send RFC 3164 syslog messages" },
	{ .name = "syslog-facility", .type = T_ENUM, .def = "daemon", .enums = log_facilities,
	  .help = "remote: syslog facility" },
	{ .name = "syslog-severity", .type = T_ENUM, .def = "auto", .enums = log_severities,
	  .help = "remote: syslog severity, auto = from the topic" },
	{ .name = "email-to", .type = T_STR, .help = "email: recipient address" },
};

static const struct flagdef builtin_flags[] = {
	{ '*', "default", "builtin" },
	{ 0, NULL, NULL },
};

/* Print shows what is set (each action has its own parameters), so the
 * built-ins spell out the parameters of their target. */
static const char *const logact_builtin[] = {
	"name=memory target=memory memory-lines=1000 memory-stop-on-full=no",
	"name=disk target=disk disk-file-name=log disk-lines-per-file=1000 disk-file-count=2 "
	"disk-stop-on-full=no",
	"name=echo target=echo remember=yes",
	"name=remote target=remote remote=0.0.0.0 remote-port=514 src-address=0.0.0.0 "
	"bsd-syslog=no syslog-facility=daemon syslog-severity=auto",
	NULL,
};

const struct menu menu_system_logging_action = {
	.path = "/system/logging/action",
	MENU_PROPS(logact_props),
	.flags = MF_SPARSE,
	.key = "name",
	.flagdefs = builtin_flags,
	.builtin = logact_builtin,
	.help = "Destinations of log lines",
};

static const struct prop logging_props[] = {
	{ .name = "topics", .type = T_CUSTOM, .flags = PF_LIST, .check = sys_check_topic,
	  .help = "Topics logged, each may be excluded with !" },
	{ .name = "prefix", .type = T_STR, .def = "", .help = "Text put in front of each line" },
	{ .name = "action", .type = T_REF, .def = "memory", .ref = "/system/logging/action",
	  .help = "Logging action the lines go to" },
	PROP_DISABLED,
};

static const struct flagdef logging_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 'I', "invalid", "invalid" },
	{ '*', "default", "builtin" },
	{ 0, NULL, NULL },
};

static const char *const logging_columns[] = { "topics", "action", "prefix", NULL };

static const char *const logging_builtin[] = {
	"topics=info action=memory",
	"topics=error action=memory",
	"topics=warning action=memory",
	"topics=critical action=echo",
	NULL,
};

const struct menu menu_system_logging = {
	.path = "/system/logging",
	MENU_PROPS(logging_props),
	.flagdefs = logging_flags,
	.columns = logging_columns,
	.builtin = logging_builtin,
	.help = "Which topics are logged where",
};

/* ---- /system/script and /system/scheduler ---- */

#define SYS_SCRIPT_POLICY \
	{ .name = "policy", .type = T_CUSTOM, .flags = PF_LIST, \
	  .def = "ftp,reboot,read,write,policy,test,password,sniff,sensitive,romon", \
	  .check = sys_check_policy, .help = "Permissions the script runs with" }

static const struct prop script_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name of the script" },
	{ .name = "owner", .type = T_STR, .help = "User who created the script" },
	SYS_SCRIPT_POLICY,
	{ .name = "dont-require-permissions", .type = T_BOOL, .def = "no",
	  .help = "Run with the script's policy whoever starts it" },
	RO("last-started", T_STR, "When the script last ran"),
	RO("run-count", T_INT, "How many times the script ran"),
	{ .name = "source", .type = T_STR, .help = "Script text" },
	PROP_COMMENT,
};

static const struct flagdef script_flags[] = {
	{ 'I', "invalid", "invalid" },
	{ 0, NULL, NULL },
};

const struct menu menu_system_script = {
	.path = "/system/script",
	MENU_PROPS(script_props),
	.key = "name",
	.flagdefs = script_flags,
	.help = "Stored scripts",
};

static const struct prop sched_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name of the scheduled task" },
	{ .name = "start-date", .type = T_CUSTOM, .check = tc_date,
	  .help = "Date of the first run, mmm/dd/yyyy" },
	{ .name = "start-time", .type = T_CUSTOM, .check = tc_clock,
	  .help = "Time of the first run, hh:mm:ss, or startup" },
	{ .name = "interval", .type = T_TIME, .def = "0s",
	  .help = "Time between runs, 0s = run once" },
	{ .name = "on-event", .type = T_STR, .help = "Script name or script text to run" },
	{ .name = "owner", .type = T_STR, .help = "User who created the task" },
	SYS_SCRIPT_POLICY,
	RO("run-count", T_INT, "How many times the task ran"),
	RO("next-run", T_STR, "When the task runs next"),
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef sched_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 0, NULL, NULL },
};

static const char *const sched_columns[] = { "name", "start-date", "start-time", "interval",
					     "on-event", "run-count", NULL };

const struct menu menu_system_scheduler = {
	.path = "/system/scheduler",
	MENU_PROPS(sched_props),
	.key = "name",
	.flagdefs = sched_flags,
	.columns = sched_columns,
	.help = "Tasks run at a time or at an interval",
};

/* ---- /user and /user/group ---- */

static const struct prop group_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE,
	  .help = "Name of the group" },
	{ .name = "policy", .type = T_CUSTOM, .flags = PF_LIST, .check = sys_check_policy,
	  .help = "Permissions of the members, ! removes one" },
	{ .name = "skin", .type = T_STR, .def = "default", .help = "Web interface layout" },
	PROP_COMMENT,
};

static const char *const group_builtin[] = {
	"name=read policy=local,telnet,ssh,reboot,read,test,winbox,password,web,sniff,"
	"sensitive,api,romon,tikapp,rest-api,!ftp,!write,!policy,!dude",
	"name=write policy=local,telnet,ssh,reboot,read,write,test,winbox,password,web,sniff,"
	"sensitive,api,romon,tikapp,rest-api,!ftp,!policy,!dude",
	"name=full policy=local,telnet,ssh,ftp,reboot,read,write,policy,test,winbox,password,"
	"web,sniff,sensitive,api,romon,dude,tikapp,rest-api",
	NULL,
};

const struct menu menu_user_group = {
	.path = "/user/group",
	MENU_PROPS(group_props),
	.key = "name",
	.flagdefs = builtin_flags,
	.builtin = group_builtin,
	.help = "User groups and their permissions",
};

static const struct prop user_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_REQ | PF_UNIQUE, .help = "Login name" },
	{ .name = "group", .type = T_REF, .flags = PF_REQ, .ref = "/user/group",
	  .help = "Group that gives the permissions" },
	{ .name = "password", .type = T_STR, .flags = PF_SENSITIVE | PF_HASHED, .help = "Login password" },
	{ .name = "address", .type = T_NET4, .flags = PF_LIST, .def = "",
	  .help = "Networks the user may log in from, empty = any" },
	RO("last-logged-in", T_STR, "Time of the last login"),
	PROP_DISABLED,
	PROP_COMMENT,
};

static const struct flagdef user_flags[] = {
	{ 'X', "disabled", "disabled" },
	{ 0, NULL, NULL },
};

static const char *const user_columns[] = { "name", "group", "address", "last-logged-in", NULL };

static const char *const user_builtin[] = { "name=admin group=full", NULL };

const struct menu menu_user = {
	.path = "/user",
	MENU_PROPS(user_props),
	.key = "name",
	.flagdefs = user_flags,
	.columns = user_columns,
	.builtin = user_builtin,
	.help = "Router users",
};

/* ---- runtime views ---- */

/* The sessions logged in now (mgmt keeps them; the daemon registers the
 * provider): console, api, api-ssl, and www/www-ssl clients seen lately. */
static const struct prop user_active_props[] = {
	RO("when", T_STR, "When the session logged in"),
	RO("name", T_STR, "The user"),
	RO("address", T_STR, "Address the user came from (empty: local console)"),
	RO("via", T_STR, "How: console, api, api-ssl, www, www-ssl"),
	RO("group", T_STR, "The user's group"),
};

static const char *const user_active_columns[] = { "when", "name", "address", "via", NULL };

const struct menu menu_user_active = {
	.path = "/user/active",
	MENU_PROPS(user_active_props),
	.flags = MF_RUNTIME | MF_NOEXPORT,
	.columns = user_active_columns,
	.help = "Users logged in now",
};

static const struct prop log_props[] = {
	RO("time", T_STR, "When the line was logged"),
	RO("topics", T_STR, "Topics of the line"),
	RO("message", T_STR, "Text of the line"),
};

static const char *const log_columns[] = { "time", "topics", "message", NULL };

const struct menu menu_log = {
	.path = "/log",
	MENU_PROPS(log_props),
	.flags = MF_RUNTIME | MF_NOEXPORT | MF_LINES,
	.columns = log_columns,
	.help = "System log held in memory",
};

static const struct prop resource_props[] = {
	RO("uptime", T_TIME, "Time since start"),
	RO("version", T_STR, "Software version, such as 7.16 (stable)"),
	RO("build-time", T_STR, "When the software was built"),
	RO("factory-software", T_STR, "Version installed at the factory"),
	RO("free-memory", T_INT, "Free memory in bytes"),
	RO("total-memory", T_INT, "Memory in bytes"),
	RO("cpu", T_STR, "Processor model"),
	RO("cpu-count", T_INT, "Number of processors"),
	RO("cpu-frequency", T_INT, "Processor clock in MHz"),
	RO("cpu-load", T_INT, "Processor load in percent"),
	RO("free-hdd-space", T_INT, "Free storage in bytes"),
	RO("total-hdd-space", T_INT, "Storage in bytes"),
	RO("architecture-name", T_STR, "Processor architecture"),
	RO("board-name", T_STR, "Hardware model"),
	RO("platform", T_STR, "Platform name"),
};

const struct menu menu_system_resource = {
	.path = "/system/resource",
	MENU_PROPS(resource_props),
	.flags = MF_RUNTIME | MF_NOEXPORT | MF_SINGLETON,
	.help = "Version, uptime, memory and processor use",
};

static const struct prop history_props[] = {
	RO("action", T_STR, "The command that made the change"),
	RO("by", T_STR, "The user who made it"),
	RO("policy", T_STR, "The policy that undoing it needs"),
	RO("time", T_STR, "When it was made"),
	RO("undoable", T_BOOL, "Whether /undo can take it back"),
	RO("redoable", T_BOOL, "Whether /redo can apply it again"),
	RO("floating-undo", T_BOOL, "Undone when the session in safe mode ends without leaving it"),
};

static const struct flagdef history_flags[] = {
	{ 'U', "undoable", "undoable" },
	{ 'R', "redoable", "redoable" },
	{ 'F', "floating-undo", "floating-undo" },
	{ 0, NULL, NULL },
};

static const char *const history_columns[] = { "action", "by", "policy", NULL };

const struct menu menu_system_history = {
	.path = "/system/history",
	MENU_PROPS(history_props),
	.flags = MF_RUNTIME | MF_NOEXPORT,
	.flagdefs = history_flags,
	.columns = history_columns,
	.help = "Recent configuration changes, newest first (/undo, /redo)",
};

static const struct prop file_props[] = {
	{ .name = "name", .type = T_STR, .flags = PF_RO | PF_UNIQUE, .help = "File name" },
	RO("type", T_STR, "Kind of file (script, backup, directory, ...)"),
	RO("size", T_INT, "Size in bytes"),
	RO("creation-time", T_STR, "When the file was written"),
	{ .name = "contents", .type = T_STR, .flags = PF_RO | PF_DETAIL,
	  .help = "Text of a small file" },
};

static const char *const file_columns[] = { "name", "type", "size", "creation-time", NULL };

const struct menu menu_file = {
	.path = "/file",
	MENU_PROPS(file_props),
	.flags = MF_RUNTIME | MF_NOEXPORT,
	.key = "name",
	.columns = file_columns,
	.help = "Files the router keeps (exports, scripts, logs)",
};
