/*
 * rosfw console: the RouterOS prompt on a terminal (libedit: history, Tab
 * completion of menus, commands, properties and enum values, '?' to list
 * what may follow, Ctrl-C to drop the line, Ctrl-X to take or leave safe
 * mode), or a script read from stdin when stdin is not a terminal.
 * Leaving the console in safe mode (Ctrl-D, a closed terminal) undoes what
 * it changed since it took safe mode; /quit keeps it, as on RouterOS.
 */
#include <errno.h>
#include <histedit.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static struct cli_store *g_cs; /* libedit callbacks have no context argument */
static char prompt_buf[256];
/* attached to a running router: its socket, its current menu, its identity */
static int g_remote = -1;
static bool g_width_refused; /* the router does not take 'W' */
static char g_path[160];
static char g_identity[64] = "MikroTik";
static bool g_safe; /* the router's last reply said we hold safe mode */

static volatile sig_atomic_t interrupted;
/* stdin of a script run against the router: read ahead while a print
 * follow streams (its end ends the stream) */
static struct sbuf g_stdin = SBUF_INIT;
static bool g_stdin_eof;

/* Reads the reply to a request: output, then '\0', status, path, "\tsafe"
 * while the session holds safe mode, '\n'. With stream, the output is
 * written to stdout as it comes (print follow goes on until stopped):
 * Ctrl-C on a terminal, or the end of stdin for a script, sends the
 * router a Ctrl-C byte, which ends the stream. Else it goes to out. */
static int remote_reply(struct sbuf *out, bool stream)
{
	struct sbuf in = SBUF_INIT;
	char buf[65536];
	bool script = stream && !isatty(STDIN_FILENO);
	bool stopped = false;
	int rc = -2;
	sigset_t block, old, unblocked;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	unblocked = old;
	sigdelset(&unblocked, SIGINT);
	for (;;) {
		char *z = in.len ? memchr(in.s, '\0', in.len) : NULL;
		if (z && memchr(z, '\n', in.len - (size_t)(z - in.s))) {
			if (stream)
				fwrite(in.s, 1, (size_t)(z - in.s), stdout);
			else
				sbuf_add(out, in.s, (size_t)(z - in.s));
			char status = z[1];
			char *nl = memchr(z, '\n', in.len - (size_t)(z - in.s));
			char *tab = memchr(z + 2, '\t', (size_t)(nl - z - 2));
			char *end = tab ? tab : nl;
			snprintf(g_path, sizeof(g_path), "%.*s", (int)(end - z - 2), z + 2);
			g_safe = tab && !strncmp(tab + 1, "safe", (size_t)(nl - tab - 1));
			rc = status == '0' ? 0 : -1;
			break;
		}
		if (stream && in.len && !z) {
			/* the output so far (no frame yet) */
			fwrite(in.s, 1, in.len, stdout);
			fflush(stdout);
			sbuf_reset(&in);
		}
		struct pollfd pf[2] = { { .fd = g_remote, .events = POLLIN },
					{ .fd = STDIN_FILENO, .events = POLLIN } };
		int np = script && !g_stdin_eof && !stopped ? 2 : 1;
		/* SIGINT stays blocked but while waiting, so a Ctrl-C between the
		 * check and the wait is not lost */
		if (stream && interrupted && !stopped) {
			interrupted = 0;
			stopped = true;
			if (write(g_remote, "\x03", 1) != 1)
				break;
		}
		if (ppoll(pf, (nfds_t)np, NULL, &unblocked) < 0) {
			if (errno != EINTR)
				break;
			continue; /* a Ctrl-C: handled above */
		}
		if (np == 2 && (pf[1].revents & (POLLIN | POLLHUP))) {
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r > 0) {
				sbuf_add(&g_stdin, buf, (size_t)r);
			} else if (r == 0 || errno != EINTR) {
				g_stdin_eof = true;
				stopped = true;
				if (write(g_remote, "\x03", 1) != 1)
					break;
			}
		}
		if (!(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t r = read(g_remote, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		sbuf_add(&in, buf, (size_t)r);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (stopped && !script)
		fputc('\n', stdout); /* after the terminal's ^C */
	if (stream)
		fflush(stdout);
	sbuf_free(&in);
	return rc;
}

/* Sends a request and reads its reply (remote_reply). */
static int remote_request(char kind, const char *text, struct sbuf *out, bool stream)
{
	struct sbuf req = SBUF_INIT;
	sbuf_putc(&req, kind);
	sbuf_puts(&req, text);
	sbuf_putc(&req, kind == 'S' ? '\0' : '\n');
	size_t off = 0;
	while (off < req.len) {
		ssize_t w = write(g_remote, req.s + off, req.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			sbuf_free(&req);
			return -2;
		}
		off += (size_t)w;
	}
	sbuf_free(&req);
	return remote_reply(out, stream);
}

static int remote_call(char kind, const char *text, struct sbuf *out)
{
	return remote_request(kind, text, out, false);
}

static int remote_connect(const char *path)
{
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	g_remote = fd;
	/* the greeting carries the prompt path */
	struct sbuf greet = SBUF_INIT;
	char buf[4096];
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		sbuf_add(&greet, buf, (size_t)r);
		char *z = memchr(greet.s, '\0', greet.len);
		if (z && memchr(z, '\n', greet.len - (size_t)(z - greet.s)))
			break;
	}
	sbuf_free(&greet);
	struct sbuf out = SBUF_INIT;
	if (remote_call('C', ":put [/system identity get name]", &out) == 0 && out.len) {
		snprintf(g_identity, sizeof(g_identity), "%.*s", (int)strcspn(out.s, "\n"), out.s);
	}
	sbuf_free(&out);
	return 0;
}

static void show_error(const struct err *e)
{
	struct sbuf m = SBUF_INIT;
	err_format(e, &m);
	fprintf(stdout, "failure: %s\n", sbuf_str(&m));
	sbuf_free(&m);
}

static const char *identity(struct cli_store *cs)
{
	if (g_remote >= 0)
		return g_identity;
	const struct menu *m = schema_find("/system/identity");
	const struct item *it = m ? store_at(cs->st, m, 0) : NULL;
	const char *v = it ? item_get(m, it, "name") : NULL;
	return v ? v : "MikroTik";
}

static bool in_safe_mode(void)
{
	return g_remote >= 0 ? g_safe : conf_in_safe_mode(&g_cs->s);
}

/* What RouterOS says when safe mode comes or goes (a command, Ctrl-X, or
 * safe mode ending on its own when the history is full). */
static void safe_notice(bool was)
{
	bool now = in_safe_mode();
	if (now != was)
		printf("[Safe Mode %s]\n", now ? "taken" : "released");
}

static char *prompt(EditLine *el)
{
	(void)el;
	char path[200];
	size_t k = 0;
	const char *cur = g_remote >= 0 ? g_path : g_cs->s.path;
	const char *user = g_remote >= 0 ? "admin" : g_cs->s.user;
	for (const char *p = cur; *p && k + 1 < sizeof(path); p++)
		path[k++] = (*p == '/' && p != cur) ? ' ' : *p;
	path[k] = 0;
	/* RouterOS: "[admin@MikroTik] > " at the root, "... /ip route<SAFE> "
	 * in safe mode */
	snprintf(prompt_buf, sizeof(prompt_buf), "[%s@%s] %s%s ", user, identity(g_cs), path,
		 in_safe_mode() ? "<SAFE>" : ">");
	return prompt_buf;
}

/* ---- completion ---- */

struct cands {
	char **v;
	size_t n;
};

static void cand_add(struct cands *c, const char *s)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->v[i], s))
			return;
	c->v = xrealloc(c->v, (c->n + 1) * sizeof(char *));
	c->v[c->n++] = xstrdup(s);
}

static void cands_free(struct cands *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->v[i]);
	free(c->v);
}

static void submenus(const char *path, struct cands *c)
{
	size_t plen = strlen(path);
	size_t ndirs = 0;
	while (schema_cmd_dirs[ndirs])
		ndirs++;
	for (size_t i = 0; i < schema_nmenus + ndirs; i++) {
		const char *mp = i < schema_nmenus ? schema_menus[i]->path
						   : schema_cmd_dirs[i - schema_nmenus];
		if (strncmp(mp, path, plen) || mp[plen] != '/')
			continue;
		const char *seg = mp + plen + 1;
		const char *end = strchr(seg, '/');
		char name[64];
		snprintf(name, sizeof(name), "%.*s", (int)(end ? (size_t)(end - seg) : strlen(seg)), seg);
		cand_add(c, name);
	}
}

/* Works out what may follow the text before the cursor. */
static void candidates(const char *line, struct cands *c, char *partial, size_t plen)
{
	char path[160];
	snprintf(path, sizeof(path), "%s", g_remote >= 0 ? g_path : g_cs->s.path);
	const char *p = line;
	while (*p == ' ')
		p++;
	if (*p == '/') {
		path[0] = 0;
		p++;
	}
	char cmd[64] = "";
	/* whole words before the partial one */
	for (;;) {
		const char *w = p;
		while (*p && *p != ' ' && *p != '/')
			p++;
		if (!*p) { /* the last, partial word */
			snprintf(partial, plen, "%s", w);
			break;
		}
		char word[128];
		snprintf(word, sizeof(word), "%.*s", (int)(p - w), w);
		while (*p == ' ' || *p == '/')
			p++;
		if (cmd[0])
			continue; /* arguments: only the last one matters */
		char next[200];
		snprintf(next, sizeof(next), "%s/%s", path, word);
		if (!strcmp(word, ".."))
			*strrchr(path[0] ? path : next, '/') = path[0] ? 0 : '/';
		else if (schema_find(next) || schema_is_dir(next))
			snprintf(path, sizeof(path), "%s", next);
		else if (cmd_exists(path, word))
			snprintf(cmd, sizeof(cmd), "%s", word);
	}
	const struct menu *m = schema_find(path);
	if (!cmd[0]) {
		submenus(path, c);
		for (const char *const *k = cmd_list(path); *k; k++)
			cand_add(c, *k);
		return;
	}
	if (!m)
		return;
	char *eq = strchr(partial, '=');
	if (eq) {
		*eq = 0;
		int pi = schema_prop(m, partial, NULL);
		*eq = '=';
		if (pi < 0)
			return;
		const struct prop *pr = &m->props[pi];
		char buf[160];
		for (const char *const *v = pr->enums; v && *v; v++) {
			snprintf(buf, sizeof(buf), "%.*s%s", (int)(eq - partial + 1), partial, *v);
			cand_add(c, buf);
		}
		if (pr->type == T_BOOL) {
			snprintf(buf, sizeof(buf), "%.*syes", (int)(eq - partial + 1), partial);
			cand_add(c, buf);
			snprintf(buf, sizeof(buf), "%.*sno", (int)(eq - partial + 1), partial);
			cand_add(c, buf);
		}
		return;
	}
	if (!strcmp(cmd, "print")) {
		static const char *const pw[] = { "detail", "terse", "stats", "count-only",
						  "without-paging", "value-list", "where", "file=",
						  NULL };
		for (const char *const *k = pw; *k; k++)
			cand_add(c, *k);
		if (!strstr(line, " where "))
			return;
	}
	for (size_t i = 0; i < m->nprops; i++) {
		if (m->props[i].flags & (PF_RO | PF_STAT))
			continue;
		char buf[80];
		snprintf(buf, sizeof(buf), "%s=", m->props[i].name);
		cand_add(c, buf);
	}
}

static unsigned char complete(EditLine *el, int ch)
{
	(void)ch;
	const LineInfo *li = el_line(el);
	char line[1024];
	snprintf(line, sizeof(line), "%.*s", (int)(li->cursor - li->buffer), li->buffer);
	char partial[256] = "";
	struct cands c = { 0 };
	candidates(line, &c, partial, sizeof(partial));
	size_t pl = strlen(partial);
	struct cands match = { 0 };
	for (size_t i = 0; i < c.n; i++)
		if (!strncmp(c.v[i], partial, pl))
			cand_add(&match, c.v[i]);
	unsigned char rc = CC_REFRESH;
	if (match.n == 1) {
		const char *add = match.v[0] + pl;
		el_insertstr(el, add);
		size_t ml = strlen(match.v[0]);
		if (ml && match.v[0][ml - 1] != '=')
			el_insertstr(el, " ");
	} else if (match.n > 1) {
		/* the common prefix, then the list */
		size_t k = pl;
		for (;; k++) {
			char ch0 = match.v[0][k];
			bool same = ch0 != 0;
			for (size_t i = 1; i < match.n && same; i++)
				if (match.v[i][k] != ch0)
					same = false;
			if (!same)
				break;
		}
		if (k > pl) {
			char ins[256];
			snprintf(ins, sizeof(ins), "%.*s", (int)(k - pl), match.v[0] + pl);
			el_insertstr(el, ins);
		} else {
			fputc('\n', stdout);
			for (size_t i = 0; i < match.n; i++)
				printf("%s%s", match.v[i], i + 1 < match.n ? "  " : "\n");
			rc = CC_REDISPLAY;
		}
	} else {
		rc = CC_ERROR;
	}
	cands_free(&c);
	cands_free(&match);
	return rc;
}

static unsigned char help(EditLine *el, int ch)
{
	(void)ch;
	const LineInfo *li = el_line(el);
	char line[1024];
	snprintf(line, sizeof(line), "%.*s", (int)(li->cursor - li->buffer), li->buffer);
	char partial[256] = "";
	struct cands c = { 0 };
	candidates(line, &c, partial, sizeof(partial));
	fputc('\n', stdout);
	size_t pl = strlen(partial);
	for (size_t i = 0; i < c.n; i++)
		if (!strncmp(c.v[i], partial, pl))
			printf("  %s\n", c.v[i]);
	cands_free(&c);
	return CC_REDISPLAY;
}

static bool empty_line_quit;

static unsigned char cancel(EditLine *el, int ch)
{
	(void)ch;
	const LineInfo *li = el_line(el);
	/* Ctrl-C drops the line; on an empty line it leaves the console */
	if (li->lastchar == li->buffer)
		empty_line_quit = true;
	interrupted = 1;
	fputs("^C\n", stdout);
	return CC_NEWLINE;
}

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static volatile sig_atomic_t hangup;

static void on_hangup(int sig)
{
	(void)sig;
	hangup = 1;
}

/* A request to the router; its output is shown as it comes (print follow
 * streams until Ctrl-C). -2: the router is gone. */
/* "/quit" or "quit": the router ends the session after its reply. */
static bool is_quit(const char *line)
{
	line += strspn(line, " \t");
	if (*line == '/')
		line++;
	if (strncmp(line, "quit", 4))
		return false;
	line += 4;
	return line[strspn(line, " \t")] == 0;
}

static int remote_show(struct cli_store *cs, char kind, const char *text)
{
	interrupted = 0;
	int rc = remote_request(kind, text, NULL, true);
	if (kind == 'C' && is_quit(text)) {
		cs->s.quit = true;
		return rc == -2 ? 0 : rc;
	}
	if (rc == -2) {
		fprintf(stderr, "rosfw console: the router closed the connection\n");
		cs->s.quit = true;
	}
	return rc;
}

/* The terminal's columns (print fits its tables to them), 0 when stdout
 * is not a terminal. */
static int term_width(void)
{
	struct winsize ws;
	if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0)
		return 0;
	return ws.ws_col;
}

static int run_line(struct cli_store *cs, const char *line)
{
	bool was = in_safe_mode();
	int rc;
	/* a resized terminal counts from the next command on */
	int width = term_width();
	if (width != cs->s.width && !g_width_refused) {
		char w[16];
		struct sbuf ignored = SBUF_INIT;
		snprintf(w, sizeof(w), "%d", width);
		int wrc = g_remote < 0 ? 0 : remote_call('W', w, &ignored);
		if (wrc == 0)
			cs->s.width = width;
		else if (wrc == -1)
			g_width_refused = true; /* a router older than 'W': full width */
		sbuf_free(&ignored);
	}
	if (g_remote >= 0) {
		rc = remote_show(cs, 'C', line);
	} else {
		struct err e;
		struct sbuf ret = SBUF_INIT;
		rc = conf_exec(&cs->s, line, &ret, &e);
		cli_flush(cs);
		if (rc < 0)
			show_error(&e);
		sbuf_free(&ret);
	}
	if (!cs->s.quit)
		safe_notice(was);
	return rc;
}

/* Ctrl-X: take safe mode, or leave it keeping the changes. */
static unsigned char safe_toggle(EditLine *el, int ch)
{
	(void)el;
	(void)ch;
	bool was = in_safe_mode();
	fputc('\n', stdout);
	if (g_remote >= 0) {
		if (remote_show(g_cs, 'X', "") == -2)
			return CC_EOF;
	} else {
		struct err e;
		err_clear(&e);
		if (conf_safe_mode(&g_cs->s, CONF_SAFE_TOGGLE, &e) < 0)
			show_error(&e);
	}
	safe_notice(was);
	fflush(stdout);
	return CC_REDISPLAY;
}

static int interactive(struct cli_store *cs)
{
	EditLine *el = el_init("rosfw", stdin, stdout, stderr);
	History *hist = history_init();
	HistEvent ev;
	history(hist, &ev, H_SETSIZE, 1000);
	el_set(el, EL_HIST, history, hist);
	el_set(el, EL_PROMPT, prompt);
	el_set(el, EL_EDITOR, "emacs");
	el_set(el, EL_ADDFN, "rosfw-complete", "complete", complete);
	el_set(el, EL_ADDFN, "rosfw-help", "list what may follow", help);
	el_set(el, EL_ADDFN, "rosfw-cancel", "cancel the line", cancel);
	el_set(el, EL_ADDFN, "rosfw-safe-mode", "take or leave safe mode", safe_toggle);
	el_set(el, EL_BIND, "^I", "rosfw-complete", NULL);
	el_set(el, EL_BIND, "?", "rosfw-help", NULL);
	el_set(el, EL_BIND, "^X", "rosfw-safe-mode", NULL);
	/* Ctrl-C drops the line instead of killing the console */
	const char *setty[] = { "setty", "-d", "-isig", NULL };
	el_parse(el, 3, setty);
	el_set(el, EL_BIND, "^C", "rosfw-cancel", NULL);
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint;
	sigaction(SIGINT, &sa, NULL);
	/* a closed terminal or a kill ends the session as Ctrl-D does (safe
	 * mode's changes undone), not the process on the spot */
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	printf("rosfw console: RouterOS commands, Tab completes, ? lists, Ctrl-X safe mode, "
	       "/quit leaves.\n");
	int count;
	const char *buf;
	while (!cs->s.quit && !hangup && (buf = el_gets(el, &count)) != NULL) {
		if (hangup)
			break;
		if (interrupted) {
			interrupted = 0;
			if (empty_line_quit)
				break;
			continue;
		}
		char *line = xstrndup(buf, (size_t)count);
		size_t n = strlen(line);
		while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = 0;
		if (n) {
			history(hist, &ev, H_ENTER, line);
			run_line(cs, line);
		}
		free(line);
	}
	if (!cs->s.quit)
		fputc('\n', stdout);
	/* the router (or conf_session_free here) undoes them as the session ends */
	if (in_safe_mode() && !cs->s.quit)
		printf("[Safe Mode: the changes made in safe mode are undone]\n");
	history_end(hist);
	el_end(el);
	return 0;
}

/* Nesting of braces and brackets outside quotes after one line of script
 * (from depth), and whether the line is a print follow: words "print",
 * then "follow" or "follow-only". */
static bool scan_line(const char *p, size_t n, int *depth)
{
	bool quoted = false, print = false, follow = false;
	size_t i = 0;
	while (i < n) {
		char ch = p[i];
		if (quoted) {
			if (ch == '\\' && i + 1 < n)
				i++;
			else if (ch == '"')
				quoted = false;
			i++;
			continue;
		}
		if (ch == '"' || ch == '{' || ch == '[' || ch == '}' || ch == ']') {
			quoted = ch == '"';
			*depth += ch == '{' || ch == '[' ? 1 : ch == '}' || ch == ']' ? -1 : 0;
			i++;
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == ';' || ch == '\r') {
			i++;
			continue;
		}
		size_t w = i;
		while (i < n && !strchr(" \t;\r\"{}[]", p[i]))
			i++;
		if (i - w == 5 && !strncmp(p + w, "print", 5))
			print = true;
		else if (print && ((i - w == 6 && !strncmp(p + w, "follow", 6)) ||
				   (i - w == 11 && !strncmp(p + w, "follow-only", 11))))
			follow = true;
	}
	return follow;
}

/* Runs script text on the router; failures go to stderr, the rest to stdout. */
/* A script's output: its failure lines to stderr, each in its place after
 * what the statements before it printed. */
static void script_output(const char *p)
{
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p + 1) : strlen(p);
		bool failure = !strncmp(p, "failure: ", 9);
		if (failure)
			fflush(stdout);
		fprintf(failure ? stderr : stdout, "%.*s", (int)n, p);
		p += n;
	}
	fflush(stdout);
}

static int remote_batch(const char *text, size_t len)
{
	struct sbuf body = SBUF_INIT, out = SBUF_INIT;
	sbuf_add(&body, text, len);
	int rc = remote_call('S', sbuf_str(&body), &out);
	script_output(sbuf_str(&out));
	sbuf_free(&body);
	sbuf_free(&out);
	return rc;
}

/* A script on stdin, run on the router like a pasted console session. It
 * goes as one request (one transaction) up to a top-level print follow,
 * which streams until stdin ends; what comes after it runs then. */
static int remote_script(void)
{
	size_t start = 0, pos = 0;
	int depth = 0, rc = 0;
	char buf[65536];
	for (;;) {
		char *nl = g_stdin.len > pos ? memchr(g_stdin.s + pos, '\n', g_stdin.len - pos)
					     : NULL;
		if (!nl) {
			if (g_stdin_eof)
				break;
			ssize_t r = read(STDIN_FILENO, buf, sizeof(buf));
			if (r > 0)
				sbuf_add(&g_stdin, buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				g_stdin_eof = true;
			continue;
		}
		size_t end = (size_t)(nl - g_stdin.s);
		int before = depth;
		bool follow = scan_line(g_stdin.s + pos, end - pos, &depth);
		if (!(follow && before <= 0 && depth <= 0)) {
			pos = end + 1;
			continue;
		}
		depth = 0;
		if (pos > start && remote_batch(g_stdin.s + start, pos - start) != 0)
			rc = 1;
		char *line = xstrndup(g_stdin.s + pos, end - pos);
		int r = remote_request('C', line, NULL, true);
		free(line);
		if (r == -2)
			return 1;
		if (r != 0)
			rc = 1;
		start = pos = end + 1;
	}
	if (g_stdin.len > start && remote_batch(g_stdin.s + start, g_stdin.len - start) != 0)
		rc = 1;
	sbuf_free(&g_stdin);
	return rc;
}

/* The socket of a running router: --socket, else beside the store. */
static const char *socket_arg(int *argc, char **argv, char *buf, size_t n, bool *given)
{
	*given = false;
	const char *db = getenv("ROSFW_DB");
	int out = 1;
	for (int i = 1; i < *argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < *argc) {
			snprintf(buf, n, "%s", argv[++i]);
			*given = true;
			continue;
		}
		if (!strcmp(argv[i], "--db") && i + 1 < *argc)
			db = argv[i + 1];
		argv[out++] = argv[i];
	}
	*argc = out;
	argv[out] = NULL;
	if (*given)
		return buf;
	if (!db)
		db = "var/rosfw.db";
	const char *sl = strrchr(db, '/');
	if (sl)
		snprintf(buf, n, "%.*s/rosfw.sock", (int)(sl - db), db);
	else
		snprintf(buf, n, "rosfw.sock");
	return buf;
}

int console_main(int argc, char **argv)
{
	struct cli_store cs;
	char sock[300];
	bool given;
	socket_arg(&argc, argv, sock, sizeof(sock), &given);
	if (remote_connect(sock) == 0) {
		/* attached to the running router: no store of our own */
		memset(&cs, 0, sizeof(cs));
		conf_session_init(&cs.s, NULL, "admin");
		g_cs = &cs;
		int rc = 0;
		if (isatty(STDIN_FILENO)) {
			rc = interactive(&cs);
		} else {
			rc = remote_script();
		}
		close(g_remote);
		conf_session_free(&cs.s);
		return rc;
	}
	if (given) {
		fprintf(stderr, "rosfw console: cannot connect to %s: %s\n", sock, strerror(errno));
		return 1;
	}
	if (cli_open(&cs, &argc, argv) < 0)
		return 1;
	g_cs = &cs;
	int rc = 0;
	if (isatty(STDIN_FILENO)) {
		rc = interactive(&cs);
	} else {
		/* a script on stdin: run it statement by statement like a pasted
		 * console session; errors are shown and counted, not fatal */
		struct sbuf text = SBUF_INIT;
		char buf[65536];
		size_t k;
		while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0)
			sbuf_add(&text, buf, k);
		struct err e;
		int r = conf_import(&cs.s, sbuf_str(&text), "stdin", CONF_LENIENT | CONF_INLINE,
				    NULL, &e);
		fputs(sbuf_str(&cs.s.warn), stderr);
		sbuf_reset(&cs.s.warn);
		script_output(sbuf_str(&cs.s.out));
		sbuf_reset(&cs.s.out);
		if (r < 0) {
			struct sbuf m = SBUF_INIT;
			err_format(&e, &m);
			fprintf(stderr, "failure: %s\n", sbuf_str(&m));
			sbuf_free(&m);
		}
		if (r != 0)
			rc = 1;
		sbuf_free(&text);
	}
	cli_close(&cs);
	return rc;
}
