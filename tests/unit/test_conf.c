/*
 * The command core through its entry points, conf_exec and conf_import, on
 * a store filled by conf_store_init: the script language (menu navigation,
 * quoting, continuation, comments, [ ] substitution, variables, :if,
 * :foreach), the menu commands and their selections, print and export, and
 * the contract on bad input: an error names what is wrong and where, and
 * changes nothing (the full export is byte-identical before and after).
 * Export and import are each other's inverse: export -> import -> export is
 * a fixed point. /undo, /redo, /system history and safe mode work on the
 * sessions' commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "conf/runtime.h"

/* ---- fixture and helpers ---- */

struct fx {
	struct store *st;
	struct conf_session s;
};

static struct fx *fx_new(bool defaults)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct err e;
	err_clear(&e);
	if (store_open(&f->st, ":memory:", &e) < 0)
		fail_msg("store_open: %s", e.msg);
	conf_session_init(&f->s, f->st, "tester");
	if (conf_store_init(&f->s, defaults, &e) < 0)
		fail_msg("conf_store_init: line %d col %d: %s", e.line, e.col, e.msg);
	sbuf_reset(&f->s.out);
	sbuf_reset(&f->s.warn);
	return f;
}

static void fx_free(struct fx *f)
{
	conf_session_free(&f->s);
	store_close(f->st);
	free(f);
}

static int setup_plain(void **state)
{
	*state = fx_new(false);
	return 0;
}

static int setup_defaults(void **state)
{
	*state = fx_new(true);
	return 0;
}

static int teardown(void **state)
{
	fx_free(*state);
	return 0;
}

#define S (&((struct fx *)*state)->s)

/* Rotating static buffers so a test can hold a few results at once. */
static char *keep(const char *v)
{
	static char bufs[8][8192];
	static int k;
	char *b = bufs[k++ % 8];
	snprintf(b, sizeof(bufs[0]), "%s", v);
	return b;
}

/* Runs text, which must succeed; returns the value of the last command. */
static const char *ok(struct conf_session *s, const char *text)
{
	struct sbuf ret = SBUF_INIT;
	struct err e;
	err_clear(&e);
	int rc = conf_exec(s, text, &ret, &e);
	if (rc != 0)
		fail_msg("conf_exec failed: line %d col %d: %s\n  text: %s", e.line, e.col, e.msg,
			 text);
	assert_int_equal(store_depth(s->st), 0);
	char *r = keep(sbuf_str(&ret));
	sbuf_free(&ret);
	return r;
}

static struct err last_err;

/* Runs text, which must fail; returns the message (the whole error in last_err). */
static const char *fails(struct conf_session *s, const char *text)
{
	struct sbuf ret = SBUF_INIT;
	err_clear(&last_err);
	int rc = conf_exec(s, text, &ret, &last_err);
	sbuf_free(&ret);
	if (rc == 0)
		fail_msg("conf_exec succeeded, expected an error\n  text: %s", text);
	assert_true(rc < 0);
	assert_true(last_err.msg[0] != 0);
	assert_int_equal(store_depth(s->st), 0);
	return keep(last_err.msg);
}

#define assert_contains(hay, needle)                                                      \
	do {                                                                              \
		const char *h_ = (hay), *n_ = (needle);                                   \
		if (!strstr(h_, n_))                                                      \
			fail_msg("expected \"%s\" in:\n%s", n_, h_);                      \
	} while (0)

#define assert_not_contains(hay, needle)                                                  \
	do {                                                                              \
		const char *h_ = (hay), *n_ = (needle);                                   \
		if (strstr(h_, n_))                                                       \
			fail_msg("did not expect \"%s\" in:\n%s", n_, h_);                \
	} while (0)

/* What the commands printed since the last call. */
static const char *out(struct conf_session *s)
{
	char *r = keep(sbuf_str(&s->out));
	sbuf_reset(&s->out);
	return r;
}

/* The export of everything, without its first line (a timestamp). Caller frees. */
static char *export_all(struct conf_session *s, unsigned flags)
{
	struct sbuf b = SBUF_INIT;
	struct err e;
	err_clear(&e);
	if (conf_export(s, "", flags, &b, &e) < 0)
		fail_msg("conf_export: %s", e.msg);
	const char *t = sbuf_str(&b);
	assert_true(t[0] == '#');
	const char *nl = strchr(t, '\n');
	assert_non_null(nl);
	char *r = xstrdup(nl + 1);
	sbuf_free(&b);
	return r;
}

/* The value of a property of the item spec (number, *id, name) of a menu. */
static const char *get(struct conf_session *s, const char *menu, const char *item,
		       const char *prop)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "%s get %s %s", menu, item, prop);
	return ok(s, cmd);
}

static size_t count(struct conf_session *s, const char *menu, const char *where)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s print count-only%s%s", menu, where ? " where " : "",
		 where ? where : "");
	const char *r = ok(s, cmd);
	sbuf_reset(&s->out);
	return (size_t)strtoul(r, NULL, 10);
}

/* The number of ids in a find result "*1;*2". */
static size_t nids(const char *r)
{
	if (!*r)
		return 0;
	size_t n = 1;
	for (; *r; r++)
		n += *r == ';';
	return n;
}

/* ---- the language ---- */

static void test_navigation(void **state)
{
	struct conf_session *s = S;
	assert_string_equal(s->path, "");
	ok(s, "/ip firewall filter");
	assert_string_equal(s->path, "/ip/firewall/filter");
	const char *id = ok(s, "add chain=input comment=nav1");
	assert_true(id[0] == '*');
	uint32_t n;
	assert_int_equal(store_parse_id(id, &n), 0);
	assert_string_equal(get(s, "", id, "comment"), "nav1"); /* get in the current menu */

	ok(s, "..");
	assert_string_equal(s->path, "/ip/firewall");
	ok(s, "nat");
	assert_string_equal(s->path, "/ip/firewall/nat");
	ok(s, "add chain=srcnat action=masquerade comment=nat1");
	ok(s, ".. filter");
	assert_string_equal(s->path, "/ip/firewall/filter");
	ok(s, "/");
	assert_string_equal(s->path, "");

	/* a one-line absolute command does not change the current menu */
	ok(s, "/queue tree");
	ok(s, "/ip firewall filter add chain=forward comment=abs");
	assert_string_equal(s->path, "/queue/tree");
	/* nor does the slash form */
	ok(s, "/ip/firewall/filter/add chain=forward comment=slash");
	assert_string_equal(s->path, "/queue/tree");
	ok(s, "/ip/firewall/filter");
	assert_string_equal(s->path, "/ip/firewall/filter");
	assert_int_equal(count(s, "", "comment=abs or comment=slash or comment=nav1"), 3);
	assert_int_equal(count(s, "/ip firewall nat", "comment=nat1"), 1);

	/* several statements on a line, then the menu they left */
	ok(s, "/ip address; /interface list");
	assert_string_equal(s->path, "/interface/list");
	/* a command that fails leaves the menu as it was */
	fails(s, "/ip firewall filter add chain=input action=nonsense");
	assert_string_equal(s->path, "/interface/list");
}

static void test_quoting_and_escapes(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input comment=\"two words\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "two words");
	/* \" \\ \$ \? \_ \n \t and \HH hex */
	ok(s, "/ip firewall filter set 0 comment=\"q\\\"b\\\\d\\$q\\?u\\_s\\nn\\tt\\41\\4a\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"),
			    "q\"b\\d$q?u s\nn\ttAJ");
	/* a value made of pieces: bare text and strings joined */
	ok(s, "/ip firewall filter set 0 comment=ab\"c d\"ef");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "abc def");
	/* $var interpolates inside strings, not when escaped */
	ok(s, ":global who \"world\"; /ip firewall filter set 0 comment=\"hi $who \\$who\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "hi world $who");
	/* an empty string is a value */
	ok(s, "/ip firewall filter set 0 log-prefix=\"\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "log-prefix"), "");
	/* ; # [ ] { } inside quotes are text */
	ok(s, "/ip firewall filter set 0 comment=\"a;b #c [d] {e} (f)\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "a;b #c [d] {e} (f)");
	/* what print and export write comes back as the same value */
	char *ex = export_all(s, 0);
	assert_contains(ex, "comment=\"a;b #c [d] {e} (f)\"");
	free(ex);
	ok(s, "/ip firewall filter set 0 comment=\"x\\\"y\\$z\\\\w\"");
	ex = export_all(s, 0);
	assert_contains(ex, "comment=\"x\\\"y\\$z\\\\w\"");
	free(ex);
}

static void test_line_continuation(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=forward \\\n"
	      "    action=drop \\\n"
	      "\tcomment=continued");
	assert_string_equal(get(s, "/ip firewall filter", "0", "action"), "drop");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "continued");
	/* with CR LF line ends */
	ok(s, "/ip firewall filter add chain=forward \\\r\n    comment=crlf\r\n");
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "crlf");
	/* inside a quoted string the next line's indentation is dropped */
	ok(s, "/ip firewall filter set 1 comment=\"long \\\n    text\"");
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "long text");
	/* continuation between the menu path and the command */
	ok(s, "/ip firewall filter \\\n    set 1 comment=split");
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "split");
}

static void test_comments(void **state)
{
	struct conf_session *s = S;
	ok(s, "# a comment on its own line\n"
	      "/ip firewall filter\n"
	      "   # indented comment\n"
	      "add chain=input comment=c1\n"
	      "#add chain=input comment=never\n");
	assert_int_equal(count(s, "/ip firewall filter", NULL), 1);
	assert_string_equal(s->warn.s ? s->warn.s : "", "");

	/* a trailing comment after a command: accepted, with a warning */
	ok(s, "/ip firewall filter add chain=input comment=c2 # trailing words");
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "c2");
	assert_contains(sbuf_str(&s->warn), "comment after a command");
	assert_contains(sbuf_str(&s->warn), "line 1");
	sbuf_reset(&s->warn);

	/* '#' inside a word or a string is text */
	ok(s, "/ip firewall filter add chain=input comment=a#b");
	assert_string_equal(get(s, "/ip firewall filter", "2", "comment"), "a#b");
	ok(s, "/ip firewall filter add chain=input comment=\"# not a comment\"");
	assert_string_equal(get(s, "/ip firewall filter", "3", "comment"), "# not a comment");
	assert_string_equal(sbuf_str(&s->warn), "");
	assert_int_equal(count(s, "/ip firewall filter", NULL), 4);
}

/* A comment inside a { } block is a comment, whatever it contains. */
static void test_comment_in_block(void **state)
{
	struct conf_session *s = S;
	ok(s, ":if (true) do={\n"
	      "  # a plain comment\n"
	      "  :put a\n"
	      "}\n");
	assert_string_equal(out(s), "a\n");
	ok(s, ":if (true) do={\n"
	      "  # it is a \"quote\n"
	      "  :put b\n"
	      "}\n");
	assert_string_equal(out(s), "b\n");
	ok(s, ":if (true) do={\n"
	      "  # a closing } here\n"
	      "  :put c\n"
	      "}\n");
	assert_string_equal(out(s), "c\n");
}

static void test_find(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter\n"
	      "add chain=input comment=a\n"
	      "add chain=forward comment=b action=drop\n"
	      "add chain=input comment=c action=drop\n");
	const char *all = ok(s, "/ip firewall filter find");
	assert_int_equal(nids(all), 3);
	const char *r = ok(s, "/ip firewall filter find where chain=input");
	assert_int_equal(nids(r), 2);
	r = ok(s, "/ip firewall filter find chain=input action=drop");
	assert_int_equal(nids(r), 1);
	assert_string_equal(r, ok(s, "/ip firewall filter find comment=c"));
	r = ok(s, "/ip firewall filter find where comment=zzz");
	assert_string_equal(r, "");
	/* [find ...] as an argument, in the current menu */
	ok(s, "/ip firewall filter");
	ok(s, "set [find where chain=input] log=yes");
	assert_int_equal(count(s, "", "log=yes"), 2);
	ok(s, "set [find comment=b] comment=bee");
	assert_int_equal(count(s, "", "comment=bee"), 1);
	/* a find that finds nothing: the command does nothing */
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	ok(s, "remove [find comment=nothing]");
	char *after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	free(before);
	free(after);
	/* [find name=x] in a named menu */
	ok(s, "/interface list\nadd name=x comment=xx");
	assert_string_equal(ok(s, ":put [/interface list get [find name=x] comment]"), "");
	assert_string_equal(out(s), "xx\n");
	/* find of a builtin */
	r = ok(s, "/interface list find name=all");
	assert_int_equal(nids(r), 1);
	r = ok(s, "/interface list find builtin");
	assert_int_equal(nids(r), 3);
	ok(s, "/");
}

/* A one-line command with its own menu path runs [find] in that menu. */
static void test_find_in_oneline_command(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input comment=a");
	ok(s, "/ip firewall filter add chain=input comment=b");
	assert_string_equal(s->path, "");
	ok(s, "/ip firewall filter set [find comment=a] comment=aa");
	assert_int_equal(count(s, "/ip firewall filter", "comment=aa"), 1);
	ok(s, "/ip firewall filter remove [find]");
	assert_int_equal(count(s, "/ip firewall filter", NULL), 0);
	ok(s, ":put [/interface list get [find name=all] name]");
	assert_string_equal(out(s), "all\n");
}

static void test_item_numbers(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter\n"
	      "add chain=input comment=i0\n"
	      "add chain=forward comment=f0\n"
	      "add chain=input comment=i1\n"
	      "add chain=forward comment=f1\n");
	/* before any print, numbers are the menu's order */
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "f0");
	/* after a print where ..., numbers are those shown */
	ok(s, "/ip firewall filter print where chain=forward");
	const char *p = out(s);
	assert_contains(p, " 0 ");
	assert_contains(p, "f0");
	assert_contains(p, "f1");
	assert_not_contains(p, "i0");
	ok(s, "/ip firewall filter set 1 comment=F1");
	assert_int_equal(count(s, "/ip firewall filter", "comment=F1 and chain=forward"), 1);
	/* count-only does not renumber; a full print does */
	ok(s, "/ip firewall filter print");
	out(s);
	ok(s, "/ip firewall filter set 1 comment=second");
	assert_int_equal(count(s, "/ip firewall filter", "comment=second and chain=forward"), 1);
	/* several numbers at once */
	ok(s, "/ip firewall filter disable 0,2");
	assert_int_equal(count(s, "/ip firewall filter", "disabled"), 2);
	assert_int_equal(count(s, "/ip firewall filter", "disabled and chain=input"), 2);
	/* numbers stay bound to the items printed, even after a move */
	ok(s, "/ip firewall filter print");
	out(s);
	ok(s, "/ip firewall filter move 3 0");
	ok(s, "/ip firewall filter set 3 comment=was-three");
	ok(s, "/ip firewall filter print");
	out(s);
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "was-three");
	/* a number past the last one */
	assert_contains(fails(s, "/ip firewall filter set 4 comment=x"), "no such item '4'");
}

static void test_ids(void **state)
{
	struct conf_session *s = S;
	char id[32], nid[32], id2[32];
	snprintf(id, sizeof(id), "%s", ok(s, "/ip firewall filter add chain=input comment=byid"));
	char lower[32];
	snprintf(lower, sizeof(lower), "%s", id);
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "/ip firewall filter set %s comment=set-by-id", id);
	ok(s, cmd);
	assert_string_equal(get(s, "/ip firewall filter", id, "comment"), "set-by-id");
	/* ids are hex, upper or lower case */
	snprintf(cmd, sizeof(cmd), "/ip firewall filter set %s comment=lower", lower);
	ok(s, cmd);
	assert_string_equal(get(s, "/ip firewall filter", id, "comment"), "lower");
	/* .id= and numbers= name the items too */
	snprintf(cmd, sizeof(cmd), "/ip firewall filter set .id=%s comment=dotid", id);
	ok(s, cmd);
	assert_string_equal(get(s, "/ip firewall filter", id, "comment"), "dotid");
	snprintf(cmd, sizeof(cmd), "/ip firewall filter set numbers=%s comment=numbers", id);
	ok(s, cmd);
	assert_string_equal(get(s, "/ip firewall filter", id, "comment"), "numbers");
	/* print where .id= */
	snprintf(cmd, sizeof(cmd), ".id=%s", id);
	assert_int_equal(count(s, "/ip firewall filter", cmd), 1);
	/* an id of another menu is not an item here */
	snprintf(nid, sizeof(nid), "%s", ok(s, "/ip firewall nat add chain=srcnat"));
	snprintf(cmd, sizeof(cmd), "/ip firewall filter remove %s", nid);
	assert_contains(fails(s, cmd), "no such item");
	/* remove by id; the id is not given out again */
	snprintf(cmd, sizeof(cmd), "/ip firewall filter remove %s", id);
	ok(s, cmd);
	assert_contains(fails(s, cmd), "no such item");
	snprintf(id2, sizeof(id2), "%s", ok(s, "/ip firewall filter add chain=input"));
	uint32_t a, b, c;
	assert_int_equal(store_parse_id(id, &a), 0);
	assert_int_equal(store_parse_id(nid, &b), 0);
	assert_int_equal(store_parse_id(id2, &c), 0);
	assert_true(c > a && c > b);
	/* the value of add is "*" + upper-case hex */
	char expect[32];
	snprintf(expect, sizeof(expect), "*%X", c);
	assert_string_equal(id2, expect);
}

static void test_place_before(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter\n"
	      "add chain=input comment=a\n"
	      "add chain=input comment=b\n");
	ok(s, "/ip firewall filter add chain=input comment=first place-before=0");
	const char *bid = ok(s, "/ip firewall filter find comment=b");
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "/ip firewall filter add chain=input comment=beforeb place-before=%s",
		 bid);
	ok(s, cmd);
	ok(s, "/ip firewall filter add chain=input comment=last");
	const char *order = ok(s, ":local r \"\"; :foreach i in=[/ip firewall filter find] do={"
				  ":set r ($r . [/ip firewall filter get $i comment] . \",\")}; :return $r");
	assert_string_equal(order, "first,a,beforeb,b,last,");
	/* only ordered menus take place-before */
	assert_contains(fails(s, "/interface list add name=z place-before=0"), "not ordered");
	assert_contains(fails(s, "/ip firewall filter add chain=input place-before=99"),
			"no such item");
}

static void test_variables(void **state)
{
	struct conf_session *s = S;
	ok(s, ":put hello");
	assert_string_equal(out(s), "hello\n");
	ok(s, ":put \"two words\"");
	assert_string_equal(out(s), "two words\n");
	/* :local lives for the text it was declared in */
	ok(s, ":local a 5; :put $a");
	assert_string_equal(out(s), "5\n");
	assert_contains(fails(s, ":put $a"), "undefined variable 'a'");
	/* :global outlives it */
	ok(s, ":global g \"glob\"");
	ok(s, ":put $g");
	assert_string_equal(out(s), "glob\n");
	ok(s, ":set g \"changed\"");
	ok(s, ":put $g");
	assert_string_equal(out(s), "changed\n");
	/* a local shadows a global */
	ok(s, ":local g \"local\"; :put $g");
	assert_string_equal(out(s), "local\n");
	ok(s, ":put $g");
	assert_string_equal(out(s), "changed\n");
	/* locals of a block end with it */
	ok(s, ":if (true) do={ :local inner 1 }");
	assert_contains(fails(s, ":if (true) do={ :local inner 1 }; :put $inner"),
			"undefined variable");
	/* values used as arguments */
	ok(s, ":local c \"from var\"; /ip firewall filter add chain=input comment=$c");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "from var");
}

static void test_expressions(void **state)
{
	struct conf_session *s = S;
	ok(s, ":local b \"B\"; :put (\"a\" . $b)");
	assert_string_equal(out(s), "aB\n");
	ok(s, ":put (\"x\" . 1 . \"y\")");
	assert_string_equal(out(s), "x1y\n");
	ok(s, ":put (1 + 2 * 3)");
	assert_string_equal(out(s), "7\n");
	ok(s, ":put ((1 + 2) * 3)");
	assert_string_equal(out(s), "9\n");
	ok(s, ":put (3 < 10)");
	assert_string_equal(out(s), "true\n");
	ok(s, ":put (\"abc\" = \"abc\" && 2 != 3)");
	assert_string_equal(out(s), "true\n");
	/* [ ] substitution: the value of the last command */
	ok(s, ":put [:len \"hello\"]");
	assert_string_equal(out(s), "5\n");
	ok(s, ":put [:len \"\"]");
	assert_string_equal(out(s), "0\n");
	/* an array's elements: the admin's count of rules */
	ok(s, "/ip firewall address-list add list=len address=10.0.0.1");
	ok(s, "/ip firewall address-list add list=len address=10.0.0.2");
	ok(s, "/ip firewall address-list add list=len address=10.0.0.3");
	ok(s, ":put [:len [/ip firewall address-list find list=len]]");
	assert_string_equal(out(s), "3\n");
	ok(s, ":put [:len [/ip firewall address-list find list=none]]");
	assert_string_equal(out(s), "0\n");
	ok(s, ":put [:len [/ip firewall address-list find address=10.0.0.2]]");
	assert_string_equal(out(s), "1\n");
	ok(s, ":put [:len [:toarray \"a,b\"]]");
	assert_string_equal(out(s), "2\n");
	ok(s, ":foreach i in=[:toarray \"x,y\"] do={ :put $i }");
	assert_string_equal(out(s), "x\ny\n");
	ok(s, ":put [/system identity get name]");
	assert_string_equal(out(s), "MikroTik\n");
	ok(s, ":put (\"id: \" . [/system identity get name] . \"!\")");
	assert_string_equal(out(s), "id: MikroTik!\n");
	ok(s, "/system identity set name=(\"r\" . 1)");
	assert_string_equal(get(s, "/system identity", "", "name"), "r1");
	/* the value of add, through a substitution */
	ok(s, ":local id [/ip firewall filter add chain=input comment=sub]; "
	      ":put [/ip firewall filter get $id comment]");
	assert_string_equal(out(s), "sub\n");
}

static void test_if_and_foreach(void **state)
{
	struct conf_session *s = S;
	ok(s, ":if (1 < 2) do={ :put yes } else={ :put no }");
	assert_string_equal(out(s), "yes\n");
	ok(s, ":if (1 > 2) do={ :put yes } else={ :put no }");
	assert_string_equal(out(s), "no\n");
	ok(s, ":if (false) do={ :put never }");
	assert_string_equal(out(s), "");
	ok(s, ":if ([/system identity get name] = \"MikroTik\") do={\n"
	      "  :put named\n"
	      "}\n");
	assert_string_equal(out(s), "named\n");

	ok(s, "/ip firewall filter\n"
	      "add chain=input comment=one\n"
	      "add chain=forward comment=two\n"
	      "add chain=input comment=three\n"
	      "/");
	ok(s, ":foreach i in=[/ip firewall filter find] do={ :put [/ip firewall filter get $i comment] }");
	assert_string_equal(out(s), "one\ntwo\nthree\n");
	/* changes inside the loop, with a condition */
	ok(s, ":foreach r in=[/ip firewall filter find] do={\n"
	      "  :if ([/ip firewall filter get $r chain] = \"input\") do={\n"
	      "    /ip firewall filter set $r comment=(\"in-\" . [/ip firewall filter get $r comment])\n"
	      "  }\n"
	      "}");
	assert_int_equal(count(s, "/ip firewall filter", "comment=in-one or comment=in-three"), 2);
	assert_int_equal(count(s, "/ip firewall filter", "comment=two"), 1);
	/* an empty list runs nothing */
	ok(s, ":foreach i in=[/ip firewall filter find comment=none] do={ :put never }");
	assert_string_equal(out(s), "");
	/* a count kept in a local */
	ok(s, ":local n 0; :foreach i in=[/interface list find] do={ :set n ($n + 1) }; :put $n");
	assert_string_equal(out(s), "3\n");
}

/* ---- commands ---- */

static void test_add_set_unset_remove(void **state)
{
	struct conf_session *s = S;
	const char *id = ok(s, "/queue tree add name=q1 parent=global max-limit=10M");
	assert_true(id[0] == '*');
	assert_string_equal(get(s, "/queue tree", "q1", "max-limit"), "10M");
	assert_string_equal(get(s, "/queue tree", "q1", "priority"), "8"); /* the default */
	ok(s, "/queue tree set q1 priority=2 comment=\"first queue\" limit-at=1M");
	assert_string_equal(get(s, "/queue tree", "q1", "priority"), "2");
	assert_string_equal(get(s, "/queue tree", "q1", "comment"), "first queue");
	/* unset by value-name= and by positional names: back to the default */
	ok(s, "/queue tree unset q1 value-name=priority");
	assert_string_equal(get(s, "/queue tree", "q1", "priority"), "8");
	ok(s, "/queue tree unset q1 comment limit-at");
	assert_string_equal(get(s, "/queue tree", "q1", "comment"), "");
	assert_string_equal(get(s, "/queue tree", "q1", "limit-at"), "0");
	/* a required property cannot be unset */
	assert_contains(fails(s, "/queue tree unset q1 parent"), "cannot be unset");
	/* set of a singleton */
	ok(s, "/ip dns set servers=1.1.1.1,8.8.8.8 allow-remote-requests=yes");
	assert_string_equal(get(s, "/ip dns", "", "servers"), "1.1.1.1,8.8.8.8");
	ok(s, "/ip dns unset servers");
	assert_string_equal(get(s, "/ip dns", "", "servers"), "");
	/* set by name on a keyed menu, several at once */
	ok(s, "/queue tree add name=q2 parent=q1");
	ok(s, "/queue tree set q1,q2 priority=3");
	assert_int_equal(count(s, "/queue tree", "priority=3"), 2);
	/* remove by name, several at once */
	ok(s, "/queue tree remove q2,q1");
	assert_int_equal(count(s, "/queue tree", NULL), 0);
	/* copy-from */
	ok(s, "/ip firewall filter add chain=input action=drop protocol=tcp dst-port=22 comment=orig");
	ok(s, "/ip firewall filter add copy-from=0 comment=copy");
	assert_string_equal(get(s, "/ip firewall filter", "1", "dst-port"), "22");
	assert_string_equal(get(s, "/ip firewall filter", "1", "comment"), "copy");
}

static void test_move(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter\n"
	      "add chain=a comment=a\nadd chain=b comment=b\nadd chain=c comment=c\nadd chain=d comment=d\n"
	      "/");
	const char *list = ":local r \"\"; :foreach i in=[/ip firewall filter find] do={"
			   ":set r ($r . [/ip firewall filter get $i comment])}; :return $r";
	ok(s, "/ip firewall filter move 0 2"); /* before the item at 2 */
	assert_string_equal(ok(s, list), "bacd");
	ok(s, "/ip firewall filter move 0"); /* no destination: to the end */
	assert_string_equal(ok(s, list), "acdb");
	ok(s, "/ip firewall filter move 3 destination=0");
	assert_string_equal(ok(s, list), "bacd");
	ok(s, "/ip firewall filter\nmove [find chain=d] [find chain=b]\n/");
	assert_string_equal(ok(s, list), "dbac");
	/* an item moved onto itself stays */
	ok(s, "/ip firewall filter move 1 1");
	assert_string_equal(ok(s, list), "dbac");
	assert_contains(fails(s, "/interface list move 0 1"), "not ordered");
	assert_contains(fails(s, "/ip firewall filter move 0 9"), "no such item");
}

static void test_enable_disable_comment(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input");
	ok(s, "/ip firewall filter disable 0");
	assert_string_equal(get(s, "/ip firewall filter", "0", "disabled"), "yes");
	ok(s, "/ip firewall filter print");
	assert_contains(out(s), " 0 X ");
	ok(s, "/ip firewall filter enable 0");
	assert_string_equal(get(s, "/ip firewall filter", "0", "disabled"), "no");
	ok(s, "/ip firewall filter comment 0 comment=\"a note\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "a note");
	ok(s, "/ip firewall filter print");
	assert_contains(out(s), ";;; a note");
	ok(s, "/ip firewall filter comment 0 \"other note\"");
	assert_string_equal(get(s, "/ip firewall filter", "0", "comment"), "other note");
	/* builtin items can be disabled and enabled */
	ok(s, "/ip service disable telnet");
	assert_string_equal(get(s, "/ip service", "telnet", "disabled"), "yes");
	assert_contains(fails(s, "/queue type disable default"), "cannot be disabled");
}

static void test_get(void **state)
{
	struct conf_session *s = S;
	const char *id = ok(s, "/ip firewall filter add chain=input protocol=tcp dst-port=22");
	/* a property, set or default */
	assert_string_equal(get(s, "/ip firewall filter", "0", "protocol"), "tcp");
	assert_string_equal(get(s, "/ip firewall filter", "0", "action"), "accept");
	/* no property: the whole item, starting with its id */
	const char *all = get(s, "/ip firewall filter", "0", "");
	char expect[64];
	snprintf(expect, sizeof(expect), ".id=%s;chain=input;", id);
	assert_true(!strncmp(all, expect, strlen(expect)));
	assert_contains(all, ";dst-port=22");
	/* item state */
	assert_string_equal(get(s, "/ip firewall filter", "0", "dynamic"), "no");
	assert_string_equal(get(s, "/ip firewall filter", "0", "invalid"), "no");
	/* singletons need no item */
	assert_string_equal(get(s, "/ip firewall connection tracking", "", "udp-timeout"), "10s");
	assert_contains(fails(s, "/ip firewall filter get 0 nosuch"), "unknown property 'nosuch'");
	assert_contains(fails(s, "/ip firewall filter get 5 chain"), "no such item");
}

static void test_print_forms(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input action=drop protocol=tcp dst-port=23 comment=telnet");
	ok(s, "/ip firewall filter add chain=forward disabled=yes");
	/* plain: flags header, numbers, comment line, what is set */
	ok(s, "/ip firewall filter print");
	const char *p = out(s);
	assert_contains(p, "Flags: X - disabled");
	assert_contains(p, ";;; telnet\n");
	assert_contains(p, "chain=input action=drop protocol=tcp dst-port=23");
	assert_contains(p, " 1 X ");
	assert_not_contains(p, "address-list-timeout"); /* a default, not shown plain */
	/* detail: defaults too, but address-list-timeout only where an
	 * address-list action reads it (RouterOS) */
	ok(s, "/ip firewall filter print detail");
	p = out(s);
	assert_contains(p, "log-prefix=\"\"");
	assert_not_contains(p, "address-list-timeout");
	assert_contains(p, ";;; telnet");
	/* terse: one line per item, the comment as a property */
	ok(s, "/ip firewall filter print terse");
	p = out(s);
	assert_contains(p, "comment=telnet chain=input action=drop");
	assert_not_contains(p, ";;;");
	assert_not_contains(p, "\n\n");
	/* count-only: the number, printed and as the value */
	assert_string_equal(ok(s, "/ip firewall filter print count-only"), "2");
	assert_string_equal(out(s), "2\n");
	/* a table menu */
	ok(s, "/interface ethernet print");
	p = out(s);
	assert_contains(p, "NAME");
	assert_contains(p, "ether1");
	/* a settings menu */
	ok(s, "/system identity print");
	assert_contains(out(s), "name: MikroTik");
	/* print of given items */
	ok(s, "/ip firewall filter print 1");
	p = out(s);
	assert_not_contains(p, "telnet");
	assert_contains(p, "chain=forward");
	assert_contains(fails(s, "/ip firewall filter print bogus"), "no such item");
}

/* Characters (UTF-8 code points) of the longest line of text. */
static size_t widest_line(const char *text)
{
	size_t most = 0, n = 0;
	for (const char *p = text; *p; p++) {
		if (*p == '\n') {
			n = 0;
			continue;
		}
		if (((unsigned char)*p & 0xc0) != 0x80 && ++n > most)
			most = n;
	}
	return most;
}

static size_t text_cols_of(const char *s, size_t n)
{
	size_t cols = 0;
	for (size_t i = 0; i < n; i++)
		cols += ((unsigned char)s[i] & 0xc0) != 0x80;
	return cols;
}

/* Whether text is well-formed UTF-8 (no sequence cut short). */
static bool utf8_whole(const char *text)
{
	for (const unsigned char *p = (const unsigned char *)text; *p;) {
		int more = *p < 0x80 ? 0 : (*p & 0xe0) == 0xc0 ? 1 : (*p & 0xf0) == 0xe0 ? 2
			 : (*p & 0xf8) == 0xf0 ? 3 : -1;
		if (more < 0)
			return false;
		p++;
		for (int i = 0; i < more; i++, p++)
			if ((*p & 0xc0) != 0x80)
				return false;
	}
	return true;
}

/* A table fits the terminal whatever its item numbers (3 digits, show-ids'
 * *13A) and cuts a UTF-8 value on a character; print file= is not the
 * terminal's and keeps every character. */
static void test_print_width(void **state)
{
	struct conf_session *s = S;
	struct sbuf cmd = SBUF_INIT;
	sbuf_puts(&cmd, "/ip firewall layer7-protocol\n");
	for (int i = 0; i < 120; i++)
		sbuf_printf(&cmd, "add name=a-fairly-long-protocol-name-%d regexp=^some-long-regexp.x\n",
			    i);
	sbuf_puts(&cmd, "/ip firewall address-list\nadd list=\"\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-"
		  "\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9-\xc3\xa9t\xc3\xa9\" "
		  "address=10.2.0.0/24\n");
	ok(s, sbuf_str(&cmd));
	sbuf_free(&cmd);
	out(s);
	static const struct {
		int width;
		const char *print;
	} rows[] = {
		{ 50, "/ip firewall layer7-protocol print" },
		{ 50, "/ip firewall layer7-protocol print show-ids" },
		{ 41, "/ip firewall address-list print" },
		{ 41, "/ip firewall address-list print show-ids" },
	};
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		s->width = rows[i].width;
		ok(s, rows[i].print);
		const char *p = out(s);
		if (widest_line(p) > (size_t)rows[i].width)
			fail_msg("row %zu: a line of %zu characters:\n%s", i, widest_line(p), p);
		if (!utf8_whole(p))
			fail_msg("row %zu: a character cut in two:\n%s", i, p);
		assert_contains(p, "...");
	}
	/* columns are as wide as their values' characters, not bytes: the
	 * address starts under its heading */
	s->width = 0;
	ok(s, "/ip firewall address-list print where address=10.2.0.0/24");
	const char *p = out(s);
	const char *head = strstr(p, "ADDRESS"), *addr = strstr(p, "10.2.0.0/24");
	assert_non_null(head);
	assert_non_null(addr);
	const char *head_line = head, *addr_line = addr;
	while (head_line > p && head_line[-1] != '\n')
		head_line--;
	while (addr_line > p && addr_line[-1] != '\n')
		addr_line--;
	assert_int_equal(text_cols_of(head_line, (size_t)(head - head_line)),
			 text_cols_of(addr_line, (size_t)(addr - addr_line)));

	char dir[64];
	snprintf(dir, sizeof(dir), "/tmp/rosfw-test-conf-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(s->files_dir, sizeof(s->files_dir), "%s", dir);
	s->width = 40;
	ok(s, "/ip firewall address-list print file=wide");
	s->width = 0;
	ok(s, "/ip firewall address-list print");
	char *want = strdup(out(s));
	char path[300];
	snprintf(path, sizeof(path), "%s/wide.txt", dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	static char got[65536];
	size_t n = fread(got, 1, sizeof(got) - 1, f);
	got[n] = 0;
	fclose(f);
	assert_string_equal(got, want);
	free(want);
	unlink(path);
	rmdir(dir);
}

/* Local time as UTC for a test; returns the TZ to put back. */
static char *tz_utc(void)
{
	char *saved = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
	setenv("TZ", "UTC", 1);
	tzset();
	return saved;
}

static void tz_restore(char *saved)
{
	if (saved)
		setenv("TZ", saved, 1);
	else
		unsetenv("TZ");
	free(saved);
	tzset();
}

/* /log print as RouterOS prints it: "time topics message" a line, no
 * header, no numbers; the date appears for lines of another day, the year
 * for another year's. detail and terse keep their item form. */
static void test_log_print(void **state)
{
	struct conf_session *s = S;
	ok(s, ":log info \"log line one\"");
	ok(s, ":log warning \"log line two\"");
	ok(s, "/log print where message~\"^log line\"");
	const char *p = out(s);
	assert_not_contains(p, "TOPICS");
	assert_not_contains(p, "#");
	int h, m, sec;
	char rest[200];
	assert_int_equal(sscanf(p, "%2d:%2d:%2d %199[^\n]", &h, &m, &sec, rest), 4);
	assert_string_equal(rest, "script,info log line one");
	assert_contains(p, ":");
	assert_contains(p, " script,warning log line two\n");
	assert_int_equal(p[8], ' ');
	ok(s, "/log print detail where message~\"^log line\"");
	p = out(s);
	assert_contains(p, " 0  time=");
	assert_contains(p, "topics=script,info message=\"log line one\"");

	static const struct {
		int64_t t, now;
		const char *want;
	} rows[] = {
		{ 1795775400, 1795775460, "10:30:00" },             /* 2026-11-27, same day */
		{ 1795688940, 1795775460, "nov/26 10:29:00" },      /* the day before */
		{ 1767225540, 1767225660, "dec/31/2025 23:59:00" }, /* over new year */
		{ 1767225600, 1767225660, "00:00:00" },
	};
	char *tz = tz_utc();
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		char buf[64];
		conf_format_log_time(rows[i].t, rows[i].now, buf, sizeof(buf));
		if (strcmp(buf, rows[i].want))
			fail_msg("row %zu: %s, not %s", i, buf, rows[i].want);
	}
	tz_restore(tz);
}

static int64_t fake_now;
static int64_t fake_clock(void)
{
	return fake_now;
}

/* /log print follow goes on by the lines' ids: after midnight yesterday's
 * lines read "nov/26 23:59:58" but are not new, only the line logged since
 * is (the console's stream re-runs the print with log_after = log_last). */
static void test_log_follow_midnight(void **state)
{
	struct conf_session *s = S;
	char *tz = tz_utc();
	conf_set_log_clock(fake_clock);
	fake_now = 1795737598; /* 2026-11-26 23:59:58 */
	ok(s, ":log info \"mid before\"");
	ok(s, "/log print where message~\"^mid\"");
	assert_string_equal(out(s), "23:59:58 script,info mid before\n");
	s->log_after = s->log_last;
	ok(s, "/log print where message~\"^mid\"");
	assert_string_equal(out(s), "");
	fake_now = 1795737602; /* 00:00:02 the next day */
	ok(s, ":log info \"mid after\"");
	ok(s, "/log print where message~\"^mid\"");
	assert_string_equal(out(s), "00:00:02 script,info mid after\n");
	s->log_after = s->log_last;
	ok(s, ":log info \"mid later\"");
	ok(s, "/log print where message~\"^mid\"");
	assert_string_equal(out(s), "00:00:02 script,info mid later\n");
	s->log_after = 0;
	ok(s, "/log print where message~\"^mid\"");
	assert_string_equal(out(s), "nov/26 23:59:58 script,info mid before\n"
				    "00:00:02 script,info mid after\n"
				    "00:00:02 script,info mid later\n");
	conf_set_log_clock(NULL);
	tz_restore(tz);
}

/* /system clock shows the running clock (v6: "nov/27/2026", "10:21:35"),
 * get takes [item] value-name and nothing else (the seed's backup script
 * passes format=, which RouterOS v6 refuses). */
static void test_clock_and_get(void **state)
{
	struct conf_session *s = S;
	static const char *const mon[] = { "jan", "feb", "mar", "apr", "may", "jun",
					   "jul", "aug", "sep", "oct", "nov", "dec" };
	char want[2][32];
	const char *d = NULL;
	for (int k = 0; k < 2; k++) { /* the date before and after: midnight may pass */
		time_t now = time(NULL);
		struct tm tm;
		localtime_r(&now, &tm);
		snprintf(want[k], sizeof(want[k]), "%s/%02d/%04d", mon[tm.tm_mon], tm.tm_mday,
			 tm.tm_year + 1900);
		if (!k)
			d = ok(s, ":return [/system clock get date]");
	}
	if (strcmp(d, want[0]) && strcmp(d, want[1]))
		fail_msg("date %s, not %s", d, want[0]);
	const char *t = ok(s, ":return [/system clock get time]");
	int h, m, sec;
	assert_int_equal(sscanf(t, "%2d:%2d:%2d", &h, &m, &sec), 3);
	assert_int_equal(strlen(t), 8);
	ok(s, "/system clock print");
	const char *p = out(s);
	assert_contains(p, "      date: ");
	assert_contains(p, "      time: ");
	assert_contains(p, "gmt-offset: ");
	assert_contains(p, "dst-active: ");
	assert_contains(fails(s, "/system clock get date format=yyyy-MM-dd"), "unexpected 'format'");
	assert_contains(fails(s, "/system identity get name extra"), "unexpected 'extra'");
	assert_string_equal(ok(s, ":return [/system identity get value-name=name]"), "MikroTik");
	/* the item as number= (RouterOS's console takes it) */
	ok(s, "/ip firewall filter add chain=forward action=drop");
	assert_string_equal(ok(s, ":return [/ip firewall filter get number=0 value-name=chain]"),
			    "forward");
	assert_string_equal(ok(s, ":return [/ip firewall filter get number=0 action]"), "drop");
	assert_contains(fails(s, "/ip firewall filter get number=0 chain extra"), "unexpected 'extra'");
	assert_contains(fails(s, "/ip firewall filter get number=7 chain"), "no such item");
	/* a runtime menu's item by name or number, as RouterOS's console takes it */
	assert_string_equal(ok(s, ":return [/interface get ether1 name]"), "ether1");
	assert_string_equal(ok(s, ":return [/interface get 1 name]"), "ether2");
	assert_contains(fails(s, "/interface get nosuch name"), "no such item 'nosuch'");

	/* the clock is the host's: set refuses time and date; a time zone is
	 * what print shows the clock in */
	assert_contains(fails(s, "/system clock set time=10:00:00"), "the clock is the host's");
	assert_contains(fails(s, "/system clock set date=jan/01/2026"), "the clock is the host's");
	assert_contains(fails(s, "/system clock set time-zone-name=Mars/Olympus"),
			"unknown time zone");
	assert_contains(fails(s, "/system clock set time-zone-name=../../etc/passwd"),
			"unknown time zone");
	ok(s, "/system clock set time-zone-name=Asia/Kolkata");
	assert_string_equal(ok(s, ":return [/system clock get gmt-offset]"), "+05:30");
	assert_string_equal(ok(s, ":return [/system clock get dst-active]"), "no");
	static const struct {
		const char *zone;
		int64_t t;
		long off;
		bool dst;
	} zones[] = {
		{ "Europe/Berlin", 1782907200, 7200, true },  /* jul/01/2026 */
		{ "Europe/Berlin", 1768478400, 3600, false }, /* jan/15/2026 */
		{ "America/New_York", 1768478400, -18000, false },
		{ "UTC", 1768478400, 0, false },
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		long off = 1;
		bool dst = !zones[i].dst;
		if (conf_tz_at(zones[i].zone, zones[i].t, &off, &dst) < 0 || off != zones[i].off ||
		    dst != zones[i].dst)
			fail_msg("row %zu: %s %ld %d", i, zones[i].zone, off, dst);
	}
	long off;
	bool dst;
	assert_int_equal(conf_tz_at("Nowhere/Land", 0, &off, &dst), -1);
	assert_int_equal(conf_tz_at("/etc/passwd", 0, &off, &dst), -1);
}

static void test_print_where(void **state)
{
	struct conf_session *s = S;
	const char *f = "/ip firewall filter";
	/* the default configuration: 5 input rules, 3 forward, one drop invalid each */
	assert_int_equal(count(s, f, NULL), 8);
	assert_int_equal(count(s, f, "chain=input"), 5);
	assert_int_equal(count(s, f, "chain!=input"), 3);
	assert_int_equal(count(s, f, "chain=input and action=drop"), 2);
	assert_int_equal(count(s, f, "chain=input or action=drop"), 7);
	assert_int_equal(count(s, f, "not chain=input"), 3);
	assert_int_equal(count(s, f, "!(chain=input)"), 3);
	assert_int_equal(count(s, f, "(chain=input or chain=forward) and action=drop"), 4);
	assert_int_equal(count(s, f, "chain=input and (action=drop or protocol=icmp)"), 3);
	assert_int_equal(count(s, f, "chain=input && action=drop || protocol=icmp"), 3);
	assert_int_equal(count(s, f, "comment~\"invalid\""), 2);
	assert_int_equal(count(s, f, "comment~\"^accept\""), 4);
	assert_int_equal(count(s, f, "comment~\"^accept\" and !(comment~\"input\")"), 1);
	assert_int_equal(count(s, f, "!disabled"), 8);
	assert_int_equal(count(s, f, "disabled"), 0);
	assert_int_equal(count(s, f, "connection-state=invalid"), 2);
	/* numbers, rates, times compare as numbers */
	const char *q = "/queue tree";
	assert_int_equal(count(s, q, "max-limit>5M"), 4);
	assert_int_equal(count(s, q, "limit-at<2M"), 2); /* 0 and 1M */
	assert_int_equal(count(s, q, "limit-at<=2M"), 3);
	assert_int_equal(count(s, q, "limit-at>=2000000"), 2);
	assert_int_equal(count(s, q, "priority<3"), 1);
	assert_int_equal(count(s, q, "priority>2 and priority<8"), 2);
	/* values are canonical before comparing */
	assert_int_equal(count(s, q, "max-limit=9000000"), 4);
	assert_int_equal(count(s, "/ip firewall address-list", "address=192.168.88.7/24"), 1);
	assert_int_equal(count(s, "/ip firewall mangle", "protocol=17"), 2);
	/* in: addresses inside a network */
	assert_int_equal(count(s, "/ip address", "address in 192.168.88.0/24"), 2);
	assert_int_equal(count(s, "/ip address", "address in 192.168.88.128/25"), 1);
	/* find takes the same expressions */
	assert_int_equal(nids(ok(s, "/ip firewall filter find where (chain=forward and action=drop)")),
			 2);
	/* bad expressions */
	assert_contains(fails(s, "/ip firewall filter print where chan=input"),
			"did you mean 'chain'");
	assert_contains(fails(s, "/ip firewall filter print where (chain=input"), "')'");
	assert_contains(fails(s, "/ip firewall filter print where comment~\"(\""),
			"bad regular expression");
}

/* print used as a value ([ ] substitution, a where value): count-only and
 * as-value give the value and print nothing of their own, so :put shows it
 * once; on its own count-only shows the count and as-value shows nothing.
 * The default configuration has 8 filter rules, 3 in forward. */
static void test_print_as_value(void **state)
{
	struct conf_session *s = S;
	static const struct {
		const char *cmd, *out, *ret; /* ret NULL: not checked */
	} cases[] = {
		{ ":put [/ip firewall filter print count-only]", "8\n", NULL },
		{ ":put [/ip firewall filter print count-only where chain=forward]", "3\n", NULL },
		{ ":local n [/ip firewall filter print count-only]; :put ($n + 1)", "9\n", NULL },
		{ ":put [/ip firewall filter print count-only where chain=[:put in; :return input]]",
		  "in\n5\n", NULL },
		{ "/ip firewall filter print count-only where "
		  "action=[/ip firewall filter print count-only where chain=nothing]",
		  "0\n", "0" },
		{ "/ip firewall filter print count-only", "8\n", "8" },
		{ "/ip firewall filter print as-value where chain=nothing", "", "" },
		{ ":put [/ip address print as-value proplist=address where interface=wlan1]",
		  ".id=*", NULL },
		{ ":put [/ip address print as-value proplist=address,interface where "
		  "interface=ether1-gateway]",
		  ";address=203.0.113.2/24;interface=ether1-gateway\n", NULL },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *r = ok(s, cases[i].cmd);
		const char *o = out(s);
		if (cases[i].out && (cases[i].out[0] ? !strstr(o, cases[i].out) : o[0] != 0))
			fail_msg("%s\n  printed \"%s\", expected \"%s\"", cases[i].cmd, o,
				 cases[i].out);
		if (cases[i].ret && strcmp(r, cases[i].ret))
			fail_msg("%s\n  gave \"%s\", expected \"%s\"", cases[i].cmd, r,
				 cases[i].ret);
	}
	/* a count printed once, however the value is used */
	ok(s, ":put [/ip firewall filter print count-only]");
	assert_string_equal(out(s), "8\n");
	/* as-value: every item with its .id, booleans as true and false, in order */
	const char *v = ok(s, "/ip firewall filter print as-value where chain=forward");
	assert_string_equal(out(s), "");
	size_t items = 0;
	for (const char *q = v; (q = strstr(q, ".id=*")); q++)
		items++;
	assert_int_equal(items, 3);
	assert_contains(v, ";chain=forward;action=accept;");
	assert_contains(v, ";disabled=false;");
	assert_contains(v, ";dynamic=false;invalid=false;.id=*");
	assert_not_contains(v, "chain=input");
	assert_contains(ok(s, ":return [/ip address print as-value proplist=interface where "
			      "interface=wlan1]"),
			";interface=wlan1");
	assert_string_equal(out(s), "");
	/* on its own: nothing printed, the value is the item's .id and address */
	char want[64];
	snprintf(want, sizeof(want), ".id=%s;address=192.168.88.129/25",
		 ok(s, "/ip address find interface=wlan1"));
	assert_string_equal(ok(s, "/ip address print as-value proplist=address where interface=wlan1"),
			    want);
	assert_string_equal(out(s), "");
	assert_contains(fails(s, ":put [/ip address print as-value proplist=bogus]"),
			"unknown property 'bogus'");
	assert_string_equal(out(s), "");
}

/* The right-hand side of a where-expression is a value like any other:
 * variables, [ ] substitutions, ( ) expressions; ids in either case. */
static void test_where_values(void **state)
{
	struct conf_session *s = S;
	const char *f = "/ip firewall filter";
	assert_string_equal(ok(s, ":local c \"input\"; /ip firewall filter print count-only where chain=$c"),
			    "5");
	assert_int_equal(count(s, f, "chain=[:tostr \"input\"]"), 5);
	assert_int_equal(count(s, f, "chain=[:tostr \"in\"] or chain=[:tostr \"forward\"]"), 3);
	assert_int_equal(count(s, f, "chain=(\"in\" . \"put\")"), 5);
	assert_int_equal(count(s, f, "(chain=(\"for\" . \"ward\")) and action=drop"), 2);
	assert_int_equal(count(s, f, "comment=[/ip firewall filter get 2 comment]"), 1);
	assert_int_equal(count(s, "/queue tree", "max-limit>([:tonum 4] . \"M\")"), 4);
	assert_int_equal(nids(ok(s, "/ip firewall filter find where chain=[:tostr \"input\"]")), 5);
	/* a failing substitution is an error of the command */
	assert_contains(fails(s, "/ip firewall filter print where chain=[:frob]"), ":frob");
	assert_contains(fails(s, "/ip firewall filter print where chain=[:tostr x"), "']'");
	/* quoted values take the same escapes as anywhere else */
	ok(s, "/ip firewall filter add chain=input comment=\"two\\nlines\"");
	ok(s, "/ip firewall filter add chain=input comment=\"tab\\there \\\"q\\\" \\$ \\41\"");
	assert_int_equal(count(s, f, "comment=\"two\\nlines\""), 1);
	assert_int_equal(nids(ok(s, "/ip firewall filter find comment=\"two\\nlines\"")), 1);
	assert_int_equal(count(s, f, "comment=\"tab\\there \\\"q\\\" \\$ \\41\""), 1);
	assert_int_equal(nids(ok(s, "/ip firewall filter find comment=\"tab\\there \\\"q\\\" \\$ A\"")),
			 1);
	ok(s, "/ip firewall filter remove [/ip firewall filter find where comment~\"^two|^tab\"]");
	/* .id compares as an id: hex digits in either case */
	char id[32], lower[32];
	snprintf(id, sizeof(id), "%s", ok(s, "/ip firewall filter add chain=input comment=idcase"));
	snprintf(lower, sizeof(lower), "%s", id);
	for (char *c = lower; *c; c++)
		if (*c >= 'A' && *c <= 'F')
			*c = (char)(*c - 'A' + 'a');
	char w[64];
	snprintf(w, sizeof(w), ".id=%s", id);
	assert_int_equal(count(s, f, w), 1);
	snprintf(w, sizeof(w), ".id=%s", lower);
	assert_int_equal(count(s, f, w), 1);
	snprintf(w, sizeof(w), ".id!=%s", lower);
	assert_int_equal(count(s, f, w), 8);
}

/* ---- export and import ---- */

static void test_export_forms(void **state)
{
	struct conf_session *s = S;
	char *ex = export_all(s, 0);
	/* the header lines after the timestamp */
	assert_true(!strncmp(ex, "# software id =\n#\n", 18));
	/* only what differs from the defaults */
	assert_contains(ex, "/ip firewall filter\nadd chain=input comment=");
	assert_not_contains(ex, "action=accept");
	assert_not_contains(ex, "log=no");
	/* built-in items as set, and only when changed */
	assert_contains(ex, "/interface ethernet\nset [ find default-name=ether1 ] name=ether1-gateway\n");
	assert_contains(ex, "set telnet disabled=yes");
	assert_not_contains(ex, "default-name=ether3");
	assert_not_contains(ex, "/queue type");
	/* long lines continued */
	assert_contains(ex, " \\\n    ");
	/* runtime menus never */
	assert_not_contains(ex, "\n/log\n");
	assert_not_contains(ex, "/system resource");
	free(ex);

	/* verbose: defaults of added items too */
	ex = export_all(s, CONF_EXPORT_VERBOSE);
	assert_contains(ex, "action=accept");
	assert_contains(ex, "log=no");
	assert_contains(ex, "address-list-timeout=none-dynamic");
	free(ex);

	/* the export command, of one menu and of a directory */
	ok(s, "/queue tree export");
	const char *p = out(s);
	assert_contains(p, "/queue tree\nadd ");
	assert_not_contains(p, "/ip firewall");
	ok(s, "/ip firewall export");
	p = out(s);
	assert_contains(p, "/ip firewall filter\n");
	assert_contains(p, "/ip firewall nat\n");
	assert_not_contains(p, "/queue tree");
	ok(s, "/ip firewall filter\nexport verbose\n/");
	assert_contains(out(s), "log=no");
	ok(s, "/export");
	p = out(s);
	assert_contains(p, "/queue tree\n");
	assert_contains(p, "/ip firewall filter\n");
	/* sensitive values only when asked */
	ok(s, "/user add name=bob group=read password=hunter2");
	ex = export_all(s, 0);
	assert_not_contains(ex, "hunter2");
	free(ex);
	ex = export_all(s, CONF_EXPORT_SENSITIVE);
	/* only the hash is kept, and it is what show-sensitive exports */
	assert_contains(ex, "password=\"\\$argon2id\\$");
	assert_not_contains(ex, "hunter2");
	free(ex);
	assert_contains(fails(s, "/export frob"), "unexpected 'frob'");
}

static void test_canonical_values(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input src-address=192.168.88.5/24 protocol=6 "
	      "dst-port=443,80-81");
	assert_string_equal(get(s, "/ip firewall filter", "0", "src-address"), "192.168.88.0/24");
	assert_string_equal(get(s, "/ip firewall filter", "0", "protocol"), "tcp");
	char *ex = export_all(s, 0);
	assert_contains(ex, "src-address=192.168.88.0/24");
	free(ex);
	/* where finds it by the same value written either way */
	assert_int_equal(count(s, "/ip firewall filter", "src-address=192.168.88.5/24"), 1);
	assert_int_equal(count(s, "/ip firewall filter", "src-address=192.168.88.0/24"), 1);

	ok(s, "/queue tree add name=q parent=global max-limit=1000000 limit-at=512000 "
	      "burst-time=00:01:30");
	assert_string_equal(get(s, "/queue tree", "q", "max-limit"), "1M");
	assert_string_equal(get(s, "/queue tree", "q", "limit-at"), "512k");
	assert_string_equal(get(s, "/queue tree", "q", "burst-time"), "1m30s");
	ok(s, "/queue tree print");
	const char *p = out(s);
	assert_contains(p, "max-limit=1M");
	assert_contains(p, "limit-at=512k");
	ok(s, "/ip address add address=10.1.2.3/8 interface=ether3");
	/* an interface address keeps its host bits */
	assert_string_equal(get(s, "/ip address", "0", "address"), "10.1.2.3/8");
	ok(s, "/interface ethernet set ether3 mac-address=4c:5e:0c:aa:bb:cc");
	assert_string_equal(get(s, "/interface ethernet", "ether3", "mac-address"),
			    "4C:5E:0C:AA:BB:CC");
	ok(s, "/ip firewall filter set 0 log=true");
	assert_string_equal(get(s, "/ip firewall filter", "0", "log"), "yes");
}

static char tmpdir[64];

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void test_import_command(void **state)
{
	struct conf_session *s = S;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/rosfw-test-conf-XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(s->files_dir, sizeof(s->files_dir), "%s", tmpdir);
	char path[128];
	snprintf(path, sizeof(path), "%s/good.rsc", tmpdir);
	write_text(path, "/ip firewall filter\nadd chain=input comment=imported\n");
	snprintf(path, sizeof(path), "%s/bad.rsc", tmpdir);
	write_text(path, "/ip firewall filter\nadd chain=input comment=half\nadd chain=input action=bogus\n");

	ok(s, "/queue tree");
	ok(s, "/import file-name=good.rsc");
	assert_contains(out(s), "Script file loaded and executed successfully");
	assert_int_equal(count(s, "/ip firewall filter", "comment=imported"), 1);
	assert_string_equal(s->path, "/queue/tree"); /* the import's menus stay inside it */
	/* without the extension, and positional */
	ok(s, "/import good");
	assert_int_equal(count(s, "/ip firewall filter", "comment=imported"), 2);

	/* a failing import changes nothing and names the file and the line */
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	const char *msg = fails(s, "/import file-name=bad.rsc");
	assert_contains(msg, "bad.rsc");
	assert_contains(msg, "line 3");
	char *after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_contains(fails(s, "/import file-name=missing.rsc"), "missing.rsc");

	/* export file= then import it into a fresh store */
	ok(s, "/export file=saved");
	struct fx *g = fx_new(false);
	snprintf(g->s.files_dir, sizeof(g->s.files_dir), "%s", tmpdir);
	ok(&g->s, "/import file-name=saved.rsc");
	char *a = export_all(s, 0), *b = export_all(&g->s, 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	fx_free(g);

	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	assert_int_equal(system(cmd), 0);
}

/* ---- errors ---- */

struct bad {
	const char *cmd;
	const char *msg; /* substring of the error */
};

static const struct bad bad_inputs[] = {
	/* properties and values */
	{ "/ip firewall filter add chain=input src-adress=1.2.3.4",
	  "unknown property 'src-adress' (did you mean 'src-address'?)" },
	{ "/ip firewall filter add chain=input action=dropp", "invalid value 'dropp'" },
	{ "/ip firewall filter add chain=input src-address=1.2.3.256", "1.2.3.256" },
	{ "/ip firewall filter add chain=input protocol=tcp dst-port=80-70", "80-70" },
	{ "/ip firewall filter add chain=input protocol=tcp dst-port=70000", "70000" },
	{ "/ip firewall filter add chain=input protocol=tcpx", "protocol" },
	{ "/ip firewall filter add chain=input log=maybe", "log" },
	{ "/ip firewall filter add chain=input chain=forward", "given twice" },
	{ "/ip firewall filter add action=drop", "missing value for chain" },
	{ "/ip firewall filter add chain=input action=jump", "jump-target must be specified" },
	{ "/ip firewall filter add chain=input dst-port=80", "dst-port can be used only with tcp" },
	{ "/ip firewall filter add chain=input reject-with=tcp-reset", "reject-with can be used only" },
	{ "/ip firewall filter add chain=input in-interface=ether9", "no such interface 'ether9'" },
	{ "/ip firewall filter add chain=input in-interface-list=NOPE", "NOPE" },
	{ "/interface list member add list=NOPE interface=ether3", "NOPE" },
	{ "/queue tree add name=x parent=nothere", "no such parent" },
	{ "/queue tree add name=y parent=global max-limit=10Q", "max-limit" },
	{ "/queue tree add name=wan-upload parent=global", "already exists" },
	{ "/queue tree set wan-upload parent=wan-upload", "own parent" },
	{ "/interface list add name=LAN", "already exists" },
	{ "/ip address add address=10.0.0.1/33 interface=ether3", "10.0.0.1/33" },
	{ "/ip firewall address-list add list=lan-networks address=192.168.88.0/24",
	  "already have such entry" },
	{ "/ip route add gateway=1.2.3.4 distance=300", "distance" },
	{ "/interface ethernet set ether1-gateway default-name=x", "read-only" },
	{ "/ip service set ssh name=x", "read-only" },
	{ "/ip firewall filter unset 0 chain", "cannot be unset" },
	{ "/ip firewall filter add chain=input src-address-list", "add takes name=value" },
	/* commands, menus and items */
	{ "/ip firewall filter frob", "no such command or menu 'frob'" },
	{ "/ip firewal filter print", "no such command or menu 'firewal'" },
	{ "/system identity remove 0", "no such command or menu 'remove'" },
	{ "/interface ethernet add name=ether9", "cannot add items" },
	{ "/interface list remove all", "cannot remove builtin" },
	{ "/interface list remove LAN,all", "cannot remove builtin" },
	{ "/ip firewall filter remove 99", "no such item '99'" },
	{ "/ip firewall filter set *FFFFF comment=x", "no such item" },
	{ "/ip firewall filter move 0 99", "no such item" },
	{ "/ip firewall filter add chain=input place-before=99", "no such item" },
	{ "/ip firewall mangle set 0,3 dst-port=99", "dst-port can be used only" },
	{ "/ip firewall filter print where chan=input", "did you mean 'chain'" },
	/* the language */
	{ "/ip firewall filter add chain=input comment=\"abc", "unterminated string" },
	{ "/ip firewall filter add chain=input comment=[/ip firewall filter find", "expected ']'" },
	{ "/ip firewall filter add chain=input comment=(\"a\" . \"b\"", "expected ')'" },
	{ "/ip firewall filter add chain=input ]", "unexpected ']'" },
	{ ":if (true) do={ /ip firewall filter add chain=input", "unterminated '{'" },
	{ ":frob", "unknown script command ':frob'" },
	{ ":put $nosuchvar", "undefined variable 'nosuchvar'" },
	{ "/export frob", "unexpected 'frob'" },
};

static void test_bad_input_table(void **state)
{
	struct conf_session *s = S;
	size_t n = sizeof(bad_inputs) / sizeof(bad_inputs[0]);
	assert_true(n >= 25);
	ok(s, "/ip firewall filter print");
	out(s);
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	for (size_t i = 0; i < n; i++) {
		const struct bad *b = &bad_inputs[i];
		sbuf_reset(&s->out);
		struct sbuf ret = SBUF_INIT;
		struct err e;
		err_clear(&e);
		int rc = conf_exec(s, b->cmd, &ret, &e);
		sbuf_free(&ret);
		if (rc >= 0)
			fail_msg("row %zu: accepted: %s", i, b->cmd);
		if (!strstr(e.msg, b->msg))
			fail_msg("row %zu: %s\n  error: %s\n  expected: %s", i, b->cmd, e.msg, b->msg);
		if (store_depth(s->st) != 0)
			fail_msg("row %zu: transaction left open", i);
		char *after = export_all(s, CONF_EXPORT_VERBOSE);
		if (strcmp(before, after))
			fail_msg("row %zu: %s changed the configuration:\n%s", i, b->cmd, after);
		free(after);
		assert_string_equal(s->path, "");
	}
	free(before);
}

/* Errors say where: line and column within the text given. */
static void test_error_position(void **state)
{
	struct conf_session *s = S;
	const char *text = "/ip firewall filter\n"
			   "add chain=input comment=one\n"
			   "add chain=input src-address=1.2.3.256\n"
			   "add chain=input comment=never\n";
	fails(s, text);
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 29); /* the value */
	assert_string_equal(last_err.prop, "src-address");
	/* the statements before the error ran, the ones after did not */
	assert_int_equal(count(s, "/ip firewall filter", "comment=one"), 1);
	assert_int_equal(count(s, "/ip firewall filter", "comment=never"), 0);

	fails(s, "/ip firewall filter\n\n    frob\n");
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 5);

	fails(s, ":put a\n:put b\n  :put $nope\n");
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 8);

	/* inside a block, the position in the whole text */
	fails(s, ":if (true) do={\n"
		 "  :put a\n"
		 "  /ip firewall filter add chain=input action=bogus\n"
		 "}\n");
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 3 + (int)strlen("/ip firewall filter add chain=input action="));

	/* a cross-property failure names the statement */
	fails(s, "/ip firewall filter\n"
		 "add chain=input\n"
		 "  add chain=input action=jump\n");
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 3);
	assert_string_equal(last_err.prop, "jump-target");

	/* an unterminated string: where the text ended */
	fails(s, "/ip firewall filter\nadd chain=input\nadd chain=input comment=\"abc");
	assert_int_equal(last_err.line, 3);
	assert_contains(last_err.msg, "opened at line 3 col 25");
}

/* A syntax error in a statement keeps the statement from running. */
static void test_stray_brace_runs_nothing(void **state)
{
	struct conf_session *s = S;
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	assert_contains(fails(s, "/ip firewall filter add chain=input }"), "'}'");
	char *after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	assert_int_equal(count(s, "/ip firewall filter", NULL), 0);
	free(before);
	free(after);
}

/* An unknown property is reported where its name is, as RouterOS does. */
static void test_error_position_unknown_property(void **state)
{
	struct conf_session *s = S;
	fails(s, "/ip firewall filter\n"
		 "add chain=input\n"
		 "add chain=input src-adress=1.2.3.4\n");
	assert_int_equal(last_err.line, 3);
	assert_int_equal(last_err.col, 17);
}

static void test_import_strict(void **state)
{
	struct conf_session *s = S;
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	const char *text = "/ip firewall filter\n"
			   "add chain=input comment=a\n"
			   "add chain=input comment=b\n"
			   "/queue tree\n"
			   "add name=qq parent=global\n"
			   "set wan-upload max-limit=20M\n"
			   "/interface list remove all\n";
	struct err e;
	err_clear(&e);
	struct sbuf report = SBUF_INIT;
	ok(s, "/queue tree");
	assert_int_equal(conf_import(s, text, "strict.rsc", 0, &report, &e), -1);
	assert_int_equal(e.line, 7);
	assert_contains(e.msg, "builtin");
	assert_int_equal(store_depth(s->st), 0);
	assert_string_equal(s->path, "/queue/tree");
	char *after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	free(after);
	/* and a good import applies everything, as one journal entry */
	err_clear(&e);
	assert_int_equal(conf_import(s, "/ip firewall filter\nadd chain=input comment=a\n"
					"add chain=input comment=b\n", "good.rsc", 0, &report, &e), 0);
	assert_int_equal(count(s, "/ip firewall filter", "comment=a or comment=b"), 2);
	assert_string_equal(s->path, "/queue/tree");
	sbuf_free(&report);
	free(before);
}

static void test_import_lenient(void **state)
{
	struct conf_session *s = S;
	const char *text = "/ip firewall filter\n"
			   "add chain=input comment=good1\n"
			   "add chain=input action=bogus comment=bad1\n"
			   "add chain=input comment=good2\n"
			   "\n"
			   "add chain=input src-adress=1.1.1.1\n"
			   "add chain=input comment=good3\n";
	struct err e;
	err_clear(&e);
	struct sbuf report = SBUF_INIT;
	assert_int_equal(conf_import(s, text, "len.rsc", CONF_LENIENT, &report, &e), 0);
	assert_int_equal(store_depth(s->st), 0);
	assert_int_equal(count(s, "/ip firewall filter", "comment~\"^good\""), 3);
	assert_int_equal(count(s, "/ip firewall filter", NULL), 3);
	const char *r = sbuf_str(&report);
	assert_contains(r, "len.rsc: skipped: line 3 col");
	assert_contains(r, "bogus");
	assert_contains(r, "len.rsc: skipped: line 6 col");
	assert_contains(r, "src-adress");
	assert_contains(r, "4 statements applied, 2 skipped");
	assert_not_contains(r, "line 2 ");
	sbuf_free(&report);
}

/* A script piped into the console: the failures in the output where they
 * happened, counted in the return value; the rest applied. */
static void test_import_inline(void **state)
{
	struct conf_session *s = S;
	const char *text = ":put one\n"
			   "/ip firewall filter add chain=input action=bogus\n"
			   ":put two\n"
			   "/ip firewall filter add chain=input comment=kept\n"
			   "/nosuch\n";
	struct err e;
	err_clear(&e);
	sbuf_reset(&s->out);
	assert_int_equal(conf_import(s, text, "stdin", CONF_LENIENT | CONF_INLINE, NULL, &e), 2);
	const char *o = sbuf_str(&s->out);
	assert_true(!strncmp(o, "one\nfailure: line 2 col ", 24));
	assert_contains(o, "bogus");
	assert_contains(o, "\ntwo\nfailure: line 5 col 2: ");
	assert_not_contains(o, "skipped");
	sbuf_reset(&s->out);
	assert_int_equal(count(s, "/ip firewall filter", "comment=kept"), 1);
	/* all good: 0 */
	assert_int_equal(conf_import(s, ":put ok\n", "stdin", CONF_LENIENT | CONF_INLINE, NULL, &e),
			 0);
	sbuf_reset(&s->out);
}

static void test_import_dry_run(void **state)
{
	struct conf_session *s = S;
	char *before = export_all(s, CONF_EXPORT_VERBOSE);
	struct err e;
	err_clear(&e);
	const char *good = "/ip firewall filter\nadd chain=input comment=dry\n"
			   "/system identity set name=dry\n";
	assert_int_equal(conf_import(s, good, "dry.rsc", CONF_DRYRUN, NULL, &e), 0);
	char *after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	free(after);
	/* a dry run still finds the errors */
	err_clear(&e);
	assert_int_equal(conf_import(s, "/ip firewall filter\nadd chain=input action=bogus\n",
				     "dry.rsc", CONF_DRYRUN, NULL, &e), -1);
	assert_int_equal(e.line, 2);
	/* lenient dry run: a report, nothing applied */
	struct sbuf report = SBUF_INIT;
	err_clear(&e);
	assert_int_equal(conf_import(s, "/ip firewall filter\nadd chain=input comment=x\n"
					"add chain=input action=bogus\n",
				     "dry.rsc", CONF_DRYRUN | CONF_LENIENT, &report, &e), 0);
	assert_contains(sbuf_str(&report), "skipped: line 3");
	assert_contains(sbuf_str(&report), "dry run");
	after = export_all(s, CONF_EXPORT_VERBOSE);
	assert_string_equal(before, after);
	free(after);
	sbuf_free(&report);
	free(before);
	assert_int_equal(store_depth(s->st), 0);
}

/* Every command that changes something is one journal entry, in its own words. */
struct jl {
	int n;
	char last[512];
};

static int jl_fn(void *ctx, const struct journal_entry *je)
{
	struct jl *j = ctx;
	j->n++;
	snprintf(j->last, sizeof(j->last), "%s", je->command);
	return 0;
}

static void test_journal_of_commands(void **state)
{
	struct conf_session *s = S;
	struct jl j0 = { 0 }, j = { 0 };
	store_journal(s->st, 0, jl_fn, &j0);
	ok(s, "/ip firewall filter add chain=input comment=j");
	store_journal(s->st, 0, jl_fn, &j);
	assert_int_equal(j.n, j0.n + 1);
	assert_string_equal(j.last, "/ip firewall filter add chain=input comment=j");
	/* reading changes nothing and writes nothing */
	ok(s, "/ip firewall filter print; /ip firewall filter get 0 chain; /export");
	sbuf_reset(&s->out);
	fails(s, "/ip firewall filter add chain=input action=bogus");
	memset(&j, 0, sizeof(j));
	store_journal(s->st, 0, jl_fn, &j);
	assert_int_equal(j.n, j0.n + 1);
	/* an import is one entry; a dry run or a failed import none */
	struct err e;
	err_clear(&e);
	const char *text = "/ip firewall filter\nadd chain=input\nadd chain=forward\n";
	assert_int_equal(conf_import(s, text, "j.rsc", 0, NULL, &e), 0);
	assert_int_equal(conf_import(s, text, "dry.rsc", CONF_DRYRUN, NULL, &e), 0);
	assert_int_equal(conf_import(s, "/ip firewall filter add chain=x\n:frob\n", "bad.rsc", 0,
				     NULL, &e), -1);
	memset(&j, 0, sizeof(j));
	store_journal(s->st, 0, jl_fn, &j);
	assert_int_equal(j.n, j0.n + 2);
	assert_string_equal(j.last, "/import file-name=j.rsc");
}

/* /undo and /redo take commands back in strict order and apply them again;
 * /system history lists them, newest first. The default configuration is
 * not history. */
static void test_undo_redo_commands(void **state)
{
	struct conf_session *s = S;
	assert_int_equal(count(s, "/system history", NULL), 0);
	assert_contains(fails(s, "/undo"), "nothing to undo");
	assert_contains(fails(s, "/redo"), "nothing to redo");
	char *e0 = export_all(s, 0);
	ok(s, "/ip firewall filter add chain=input comment=h1");
	ok(s, "/ip firewall filter add chain=input comment=h2 place-before=0");
	ok(s, "/ip firewall filter set [find comment=h1] action=drop");
	ok(s, "/ip firewall filter move [find comment=h1] 0");
	char *e1 = export_all(s, 0);
	ok(s, "/system history print");
	const char *h = out(s);
	assert_contains(h, "Flags: U - undoable, R - redoable, F - floating-undo");
	assert_contains(h, "ACTION");
	assert_contains(h, " 0 U   /ip firewall filter move [find comment=h1] 0");
	assert_contains(h, " 3 U   /ip firewall filter add chain=input comment=h1 ");
	assert_contains(h, "tester write");
	for (int i = 0; i < 4; i++)
		ok(s, "/undo");
	char *now = export_all(s, 0);
	assert_string_equal(now, e0);
	free(now);
	assert_int_equal(count(s, "/system history", "redoable=yes"), 4);
	ok(s, "/redo; /redo; /redo; /redo");
	now = export_all(s, 0);
	assert_string_equal(now, e1);
	free(now);
	ok(s, "/undo");
	ok(s, "/system history print detail");
	h = out(s);
	assert_contains(h, " 0 R   action=\"/ip firewall filter move [find comment=h1] 0\" by=tester "
			   "policy=write time=");
	/* a new command drops what could be redone */
	ok(s, "/system identity set name=hist");
	assert_contains(fails(s, "/redo"), "nothing to redo");
	assert_int_equal(count(s, "/system history", NULL), 4);
	assert_int_equal(count(s, "/system history", "undoable=yes"), 4);
	/* an import is one entry; /undo inside an import is refused */
	struct err e;
	err_clear(&e);
	assert_int_equal(conf_import(s, "/ip firewall filter\nadd chain=input comment=i1\n"
					"add chain=input comment=i2\n", "h.rsc", 0, NULL, &e), 0);
	assert_int_equal(count(s, "/system history", NULL), 5);
	ok(s, "/undo");
	assert_int_equal(count(s, "/ip firewall filter", "comment~\"^i\""), 0);
	assert_int_equal(conf_import(s, "/undo\n", "u.rsc", 0, NULL, &e), -1);
	assert_contains(e.msg, "inside a transaction");
	/* policies: a read user may not undo; undoing a user change needs policy */
	ok(s, "/user group add name=ops policy=read,write");
	s->may_policy = false;
	assert_contains(fails(s, "/undo"), "not enough permissions");
	s->may_policy = true;
	ok(s, "/system history print");
	h = out(s);
	assert_contains(h, " 0 U   /user group add name=ops policy=read,write ");
	assert_contains(h, "tester policy\n");
	s->may_write = false;
	assert_contains(fails(s, "/undo"), "not enough permissions");
	assert_contains(fails(s, "/safe-mode take"), "not enough permissions");
	s->may_write = true;
	ok(s, "/undo");
	assert_int_equal(count(s, "/user group", "name=ops"), 0);
	free(e0);
	free(e1);
}

/* Safe mode through the commands: one session at a time; what the session
 * changed goes when it ends in safe mode (another session's changes stay);
 * release and /quit keep the changes; unroll takes them back at once. */
static void test_safe_mode_commands(void **state)
{
	struct conf_session *s = S;
	struct conf_session a, b;
	conf_session_init(&a, s->st, "alice");
	conf_session_init(&b, s->st, "bob");
	assert_true(a.id && b.id && a.id != b.id && a.id != s->id);
	char *e0 = export_all(s, 0);
	ok(&a, "/safe-mode take");
	assert_true(conf_in_safe_mode(&a));
	ok(&a, "/safe-mode take"); /* again: still alice's */
	assert_contains(fails(&b, "/safe-mode take"), "safe mode already taken by alice");
	assert_false(conf_in_safe_mode(&b));
	ok(&a, "/ip firewall filter add chain=input comment=sa1");
	ok(&b, "/ip firewall filter add chain=input comment=sb");
	ok(&a, "/ip firewall filter set [find comment=sa1] comment=sa2");
	ok(s, "/system history print");
	const char *h = out(s);
	assert_contains(h, " 0 UF  /ip firewall filter set [find comment=sa1] comment=sa2");
	assert_contains(h, " 1 U   /ip firewall filter add chain=input comment=sb");
	/* alice's session ends in safe mode */
	conf_session_free(&a);
	assert_int_equal(count(s, "/ip firewall filter", "comment~\"^sa\""), 0);
	assert_int_equal(count(s, "/ip firewall filter", "comment=sb"), 1);
	ok(&b, "/ip firewall filter remove [find comment=sb]");
	char *now = export_all(s, 0);
	assert_string_equal(now, e0);
	free(now);

	/* bob may take it now; release keeps */
	ok(&b, "/safe-mode take; /ip firewall filter add chain=input comment=kept1");
	ok(&b, "/safe-mode release");
	assert_false(conf_in_safe_mode(&b));
	ok(&b, "/safe-mode release"); /* not in safe mode: nothing to do */
	/* unroll takes back at once and leaves safe mode */
	ok(&b, "/safe-mode take; /ip firewall filter add chain=input comment=unrolled");
	ok(&b, "/safe-mode unroll");
	assert_false(conf_in_safe_mode(&b));
	assert_int_equal(count(s, "/ip firewall filter", "comment=unrolled"), 0);
	/* /quit keeps, as RouterOS */
	ok(&b, "/safe-mode take; /ip firewall filter add chain=input comment=kept2; /quit");
	assert_false(conf_in_safe_mode(&b));
	conf_session_free(&b);
	assert_int_equal(count(s, "/ip firewall filter", "comment~\"^kept\""), 2);
	/* a session that takes safe mode in a script keeps it after the script */
	struct conf_session c;
	conf_session_init(&c, s->st, "carol");
	struct err e;
	err_clear(&e);
	assert_int_equal(conf_import(&c, "/safe-mode take\n/ip firewall filter add chain=input "
					 "comment=script\n", "stdin", CONF_LENIENT, NULL, &e), 0);
	assert_true(conf_in_safe_mode(&c));
	assert_int_equal(count(s, "/ip firewall filter", "comment=script"), 1);
	conf_session_free(&c);
	assert_int_equal(count(s, "/ip firewall filter", "comment=script"), 0);
	free(e0);
}

/* Listeners hear of each command that changes something, once; of an import
 * once; of nothing that was read, refused or rolled back. */
struct heard {
	int calls;
	uint64_t bits[4];
};

static void heard_fn(void *ctx, const uint64_t *changed, size_t nwords)
{
	struct heard *h = ctx;
	h->calls++;
	memset(h->bits, 0, sizeof(h->bits));
	for (size_t i = 0; i < nwords && i < 4; i++)
		h->bits[i] = changed[i];
}

static bool heard_menu(const struct heard *h, const char *path)
{
	size_t i = schema_index(schema_find(path));
	return (h->bits[i / 64] >> (i % 64)) & 1;
}

static void test_listeners_of_commands(void **state)
{
	struct conf_session *s = S;
	struct heard h = { 0 };
	store_subscribe(s->st, heard_fn, &h);
	ok(s, "/ip firewall filter add chain=input");
	assert_int_equal(h.calls, 1);
	assert_true(heard_menu(&h, "/ip/firewall/filter"));
	assert_false(heard_menu(&h, "/ip/firewall/nat"));
	ok(s, "/ip firewall filter print; /export; /ip firewall filter find");
	sbuf_reset(&s->out);
	fails(s, "/ip firewall filter add chain=input action=bogus");
	fails(s, "/interface list remove LAN2,all");
	assert_int_equal(h.calls, 1);
	/* two commands on a line: two commits */
	ok(s, "/ip firewall nat add chain=srcnat; /queue tree add name=q parent=global");
	assert_int_equal(h.calls, 3);
	assert_true(heard_menu(&h, "/queue/tree"));
	assert_false(heard_menu(&h, "/ip/firewall/nat"));
	/* an import: once, with every menu it changed */
	struct err e;
	err_clear(&e);
	assert_int_equal(conf_import(s, "/ip firewall filter add chain=a\n"
					"/ip firewall mangle add chain=b\n"
					"/ip firewall filter add chain=c\n", "l.rsc", 0, NULL, &e), 0);
	assert_int_equal(h.calls, 4);
	assert_true(heard_menu(&h, "/ip/firewall/filter"));
	assert_true(heard_menu(&h, "/ip/firewall/mangle"));
	assert_false(heard_menu(&h, "/queue/tree"));
	/* lenient: the bad line's menu is not reported */
	assert_int_equal(conf_import(s, "/ip firewall filter add chain=d\n"
					"/ip firewall nat add chain=x action=bogus\n",
				     "l2.rsc", CONF_LENIENT, NULL, &e), 0);
	assert_int_equal(h.calls, 5);
	assert_true(heard_menu(&h, "/ip/firewall/filter"));
	assert_false(heard_menu(&h, "/ip/firewall/nat"));
	assert_int_equal(conf_import(s, "/ip firewall filter add chain=e\n", "d.rsc", CONF_DRYRUN,
				     NULL, &e), 0);
	assert_int_equal(conf_import(s, "/ip firewall filter add chain=e\n:frob\n", "f.rsc", 0,
				     NULL, &e), -1);
	assert_int_equal(h.calls, 5);
}

/* ---- export and import are inverses ---- */

/* export -> import into a fresh store -> export gives the same text. */
static void check_fixed_point(struct conf_session *s, unsigned flags)
{
	char *a = export_all(s, flags);
	struct fx *g = fx_new(false);
	struct err e;
	err_clear(&e);
	struct sbuf rep = SBUF_INIT;
	if (conf_import(&g->s, a, "export.rsc", 0, &rep, &e) < 0)
		fail_msg("import of the export failed: line %d col %d: %s\n%s", e.line, e.col,
			 e.msg, a);
	sbuf_free(&rep);
	char *b = export_all(&g->s, flags);
	assert_string_equal(a, b);
	/* and once more from there */
	struct fx *h = fx_new(false);
	err_clear(&e);
	assert_int_equal(conf_import(&h->s, b, "export2.rsc", 0, NULL, &e), 0);
	char *c = export_all(&h->s, flags);
	assert_string_equal(b, c);
	free(a);
	free(b);
	free(c);
	fx_free(g);
	fx_free(h);
}

static void test_roundtrip_default(void **state)
{
	struct conf_session *s = S;
	check_fixed_point(s, 0);
	check_fixed_point(s, CONF_EXPORT_VERBOSE);
	check_fixed_point(s, CONF_EXPORT_VERBOSE | CONF_EXPORT_SENSITIVE);
}

/* A configuration that touches every menu that export writes, with values
 * that need quoting and escapes, custom chains, references between menus
 * and changed built-in items. */
static const char every_menu_rsc[] =
	"/interface bridge\n"
	"add name=br-lan comment=\"LAN bridge\" protocol-mode=none igmp-snooping=yes\n"
	"/interface ethernet\n"
	"set [ find default-name=ether3 ] name=ether3-dmz mtu=1400 comment=\"DMZ port\" speed=100Mbps\n"
	"set [ find default-name=ether5 ] disabled=yes\n"
	"/interface vlan\n"
	"add name=vlan10 vlan-id=10 interface=ether3-dmz comment=\"guest VLAN\"\n"
	"/interface wireless\n"
	"set [ find default-name=wlan1 ] ssid=\"home \\\"net\\\"\" band=5ghz-a/n/ac frequency=5180\n"
	"/interface list\n"
	"add name=DMZ include=all comment=dmz\n"
	"add name=INSIDE exclude=DMZ\n"
	"/queue type\n"
	"add name=pcq-up kind=pcq pcq-rate=2M pcq-classifier=src-address,dst-port pcq-limit=100\n"
	"add name=red1 kind=red red-min-threshold=5 red-max-threshold=40\n"
	"set [ find name=default ] pfifo-limit=100\n"
	"/queue simple\n"
	"add name=guest target=192.168.50.0/24 max-limit=5M/10M limit-at=1M/2M priority=4/4 "
	"queue=pcq-up/pcq-up comment=\"guest net\"\n"
	"add name=child parent=guest target=192.168.50.10/32 max-limit=1M/2M\n"
	"add target=ether3-dmz max-limit=20M/20M\n"
	"/queue tree\n"
	"add name=up parent=global max-limit=100M\n"
	"add name=up-voip parent=up packet-mark=voip priority=1 limit-at=1M max-limit=10M queue=red1\n"
	"/interface bridge port\n"
	"add bridge=br-lan interface=ether4 pvid=10\n"
	"/interface list member\n"
	"add list=DMZ interface=ether3-dmz\n"
	"/ip address\n"
	"add address=10.10.10.1/24 interface=br-lan comment=lan\n"
	"add address=172.16.0.1/30 interface=vlan10\n"
	"/ip arp\n"
	"add address=10.10.10.50 mac-address=00:11:22:33:44:55 interface=br-lan published=yes\n"
	"/ip dns\n"
	"set servers=1.1.1.1,2606:4700::1111 allow-remote-requests=yes cache-size=4096\n"
	"/ip firewall address-list\n"
	"add list=blocked address=198.51.100.0/24 comment=\"bad net\"\n"
	"add list=blocked address=10.9.9.1-10.9.9.20\n"
	"add list=hosts address=example.com disabled=yes\n"
	"/ip firewall connection tracking\n"
	"set tcp-established-timeout=2h udp-timeout=30s loose-tcp-tracking=no\n"
	"/ip firewall layer7-protocol\n"
	"add name=http-get regexp=\"^GET /\"\n"
	"/ip firewall filter\n"
	"add chain=input action=jump jump-target=custom-in comment=\"to custom\"\n"
	"add chain=custom-in action=accept protocol=tcp dst-port=22,80-81 src-address=10.10.10.0/24\n"
	"add chain=custom-in action=reject reject-with=tcp-reset protocol=tcp\n"
	"add chain=custom-in action=return\n"
	"add chain=forward action=drop layer7-protocol=http-get in-interface=!ether3-dmz log=yes "
	"log-prefix=\"L7 \"\n"
	"add chain=forward action=add-src-to-address-list address-list=seen "
	"address-list-timeout=1h connection-state=new disabled=yes\n"
	"add chain=forward tcp-flags=syn,!ack protocol=tcp src-address-list=!blocked "
	"comment=\"with \\$dollar, \\\\ backslash; semicolon [brackets] {braces} and a very long "
	"text that needs a continued line\"\n"
	"/ip firewall mangle\n"
	"add chain=prerouting action=mark-connection new-connection-mark=voip-conn protocol=udp "
	"dst-port=5060\n"
	"add chain=forward action=mark-packet new-packet-mark=voip connection-mark=voip-conn "
	"passthrough=no\n"
	"add chain=postrouting action=change-dscp new-dscp=46 packet-mark=voip\n"
	"/ip firewall nat\n"
	"add chain=dstnat action=dst-nat protocol=tcp dst-port=8080 to-addresses=10.10.10.5 "
	"to-ports=80 in-interface=ether1\n"
	"add chain=srcnat action=masquerade out-interface=ether1\n"
	"/ip firewall raw\n"
	"add chain=prerouting action=notrack dst-address=10.10.10.255\n"
	"/ip firewall service-port\n"
	"set ftp ports=21,2121\n"
	"set sip disabled=yes\n"
	"/ip route\n"
	"add dst-address=10.20.0.0/16 gateway=10.10.10.2 distance=5 comment=\"lab net\"\n"
	"add gateway=ether1 routing-mark=isp2\n"
	"/ip service\n"
	"set telnet disabled=yes\n"
	"set ssh port=2222 address=10.10.10.0/24\n"
	"set www-ssl disabled=no\n"
	"/ipv6 address\n"
	"add address=2001:db8:0:1::1/64 interface=ether2 advertise=no comment=\"LAN v6\"\n"
	"/ipv6 firewall address-list\n"
	"add list=v6-blocked address=2001:db8::/32\n"
	"/ipv6 firewall filter\n"
	"add chain=input action=accept protocol=icmpv6\n"
	"add chain=input action=drop src-address-list=v6-blocked\n"
	"/ipv6 firewall mangle\n"
	"add chain=prerouting action=mark-packet new-packet-mark=v6 passthrough=no\n"
	"/ipv6 firewall raw\n"
	"add chain=prerouting action=notrack dst-address=2001:db8::1\n"
	"/ipv6 nd\n"
	"add interface=ether2 ra-interval=20s-1m mtu=1400 other-configuration=yes\n"
	"/ipv6 nd prefix\n"
	"add prefix=2001:db8:0:1::/64 interface=ether2 autonomous=no valid-lifetime=1d "
	"preferred-lifetime=12h\n"
	"/ipv6 route\n"
	"add dst-address=2001:db8:100::/48 gateway=fe80::1%ether1 distance=3\n"
	"/system clock\n"
	"set time-zone-name=Europe/Riga time-zone-autodetect=no\n"
	"/system identity\n"
	"set name=\"router one\"\n"
	"/system logging action\n"
	"add name=syslog1 target=remote remote=192.0.2.10 remote-port=514\n"
	"set [ find name=memory ] memory-lines=500\n"
	"/system logging\n"
	"add topics=firewall,!debug action=syslog1 prefix=FW\n"
	"set [ find topics=critical ] disabled=yes\n"
	"/system scheduler\n"
	"add name=tick interval=1h on-event=hello start-time=startup\n"
	"/system script\n"
	"add name=hello source=\":put \\\"hello \\$name\\\"\\n:log info hi\" policy=read,test\n"
	"/user group\n"
	"add name=ops policy=read,write,!ftp comment=operators\n"
	"set [ find name=read ] skin=custom\n"
	"/user\n"
	"add name=alice group=ops address=10.10.10.0/24 password=\"s3cr\\$t\" comment=\"Alice A.\"\n"
	"set [ find name=admin ] address=10.10.10.0/24\n";

static void test_roundtrip_every_menu(void **state)
{
	struct conf_session *s = S;
	struct err e;
	err_clear(&e);
	if (conf_import(s, every_menu_rsc, "every.rsc", 0, NULL, &e) < 0)
		fail_msg("every.rsc: line %d col %d: %s", e.line, e.col, e.msg);
	char *ex = export_all(s, 0);
	/* every menu that export writes is there */
	for (size_t i = 0; i < schema_nmenus; i++) {
		const struct menu *m = schema_menus[i];
		if (m->flags & (MF_RUNTIME | MF_NOEXPORT))
			continue;
		char hdr[128];
		size_t k = 0;
		hdr[k++] = '\n';
		for (const char *p = m->path; *p && k < sizeof(hdr) - 2; p++)
			hdr[k++] = p == m->path ? '/' : *p == '/' ? ' ' : *p;
		hdr[k++] = '\n';
		hdr[k] = 0;
		assert_contains(ex, hdr);
	}
	/* a few values as written */
	assert_contains(ex, "ssid=\"home \\\"net\\\"\"");
	assert_contains(ex, "comment=\"with \\$dollar, \\\\ backslash;");
	assert_contains(ex, "set ssh address=10.10.10.0/24 port=2222");
	assert_contains(ex, "set [ find default-name=ether3 ] comment=\"DMZ port\" mtu=1400 ");
	assert_true(!strncmp(get(s, "/user", "alice", "password"), "$argon2id$", 10));
	free(ex);

	check_fixed_point(s, 0);
	check_fixed_point(s, CONF_EXPORT_VERBOSE);
	check_fixed_point(s, CONF_EXPORT_SENSITIVE);

	/* with show-sensitive the secret makes the trip */
	char *sx = export_all(s, CONF_EXPORT_SENSITIVE);
	struct fx *g = fx_new(false);
	err_clear(&e);
	assert_int_equal(conf_import(&g->s, sx, "sens.rsc", 0, NULL, &e), 0);
	assert_true(!strncmp(get(&g->s, "/user", "alice", "password"), "$argon2id$", 10));
	assert_string_equal(get(&g->s, "/system script", "hello", "source"),
			    ":put \"hello $name\"\n:log info hi");
	fx_free(g);
	free(sx);
}

/* The runtime counters (bytes, packets: what the engine and the QoS export
 * into the store's items) read the same through get, where and print stats;
 * a statistic not measured yet reads 0. */
static void test_get_counters(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall filter add chain=input comment=X");
	ok(s, "/ip firewall filter add chain=forward comment=Y");
	ok(s, "/queue tree add name=q parent=global max-limit=1M");
	const struct menu *fm = schema_find("/ip/firewall/filter");
	const struct menu *qm = schema_find("/queue/tree");
	struct item *x = store_at(s->st, fm, 0);
	x->bytes = 123456789012ULL;
	x->packets = 4321;
	struct item *q = store_at(s->st, qm, 0);
	q->bytes = 777;
	q->packets = 7;
	static const struct {
		const char *cmd, *want;
	} cases[] = {
		{ ":return [/ip firewall filter get [find comment=\"X\"] packets]", "4321" },
		{ ":return [/ip firewall filter get [find comment=\"X\"] bytes]", "123456789012" },
		{ ":return [/ip firewall filter get 0 value-name=packets]", "4321" },
		{ ":return [/ip firewall filter get [find comment=Y] packets]", "0" },
		{ ":return [/queue tree get q bytes]", "777" },
		{ ":return [/queue tree get q packets]", "7" },
		{ ":return [/queue tree get q dropped]", "0" },
		{ ":return [/ip firewall filter print count-only where packets>4000]", "1" },
		{ ":return [/ip firewall filter print count-only where packets=0]", "1" },
		{ ":return [/ip firewall filter find bytes=123456789012]", NULL },
	};
	char xid[16];
	snprintf(xid, sizeof(xid), "*%X", x->id);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = ok(s, cases[i].cmd);
		if (strcmp(got, cases[i].want ? cases[i].want : xid))
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].cmd, got,
				 cases[i].want ? cases[i].want : xid);
		sbuf_reset(&s->out);
	}
	/* the whole item carries them too, as RouterOS's get does */
	assert_contains(get(s, "/ip firewall filter", "0", ""), ";bytes=123456789012;packets=4321");
	ok(s, "/ip firewall filter print stats where comment=X");
	assert_contains(out(s), "123 456 789 012   4 321");
}

/* get reads the item state that find and print where read. */
static void test_get_builtin_state(void **state)
{
	struct conf_session *s = S;
	assert_int_equal(nids(ok(s, "/interface list find builtin")), 3);
	assert_string_equal(get(s, "/interface list", "all", "builtin"), "yes");
	assert_string_equal(get(s, "/interface list", "0", "builtin"), "yes");
}

/* Whatever bytes a value holds, export writes it so that import reads the
 * same bytes back. */
static void test_roundtrip_any_value(void **state)
{
	struct conf_session *s = S;
	static const char *const words[] = {
		"", " ", "\"", "\\", "$x", "$", "[x]", "{x}", "(x)", "a;b", "#x", "!x", "x!", "-x",
		"=x", "x=y", "x\\", "?", "a b  c", " lead", "trail ", "*1", "..", "'q'", "`b`",
		"a|b&c<d>e~f^g%h@i+j", "caf\xc3\xa9", "\t\r\n", "x\\ny", "\\\"", "/ip", ":put",
		"where", "yes", "0", "-",
	};
	const struct menu *m = schema_find("/ip/firewall/filter");
	int ci = schema_prop(m, "comment", NULL);
	char cmd[64];
	/* every byte but NUL, between two letters, through the \HH escape (text
	 * refuses control characters other than tab, CR and LF) */
	for (int c = 1; c < 256; c++) {
		snprintf(cmd, sizeof(cmd), "/ip firewall filter add chain=c%d comment=\"a\\%02Xb\"",
			 c, c);
		if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
			assert_contains(fails(s, cmd), "control character");
		else
			ok(s, cmd);
	}
	size_t nw = sizeof(words) / sizeof(words[0]);
	for (size_t i = 0; i < nw; i++) {
		snprintf(cmd, sizeof(cmd), "/ip firewall filter add chain=w%zu", i);
		const char *id = ok(s, cmd);
		uint32_t n;
		assert_int_equal(store_parse_id(id, &n), 0);
		struct item *it = item_dup(m, store_get(s->st, m, n));
		item_set(m, it, ci, words[i]);
		struct err e;
		err_clear(&e);
		assert_int_equal(store_begin(s->st, &e), 0);
		assert_int_equal(store_replace(s->st, m, n, it, &e), 0);
		assert_int_equal(store_commit(s->st, "t", "t", &e), 0);
	}
	for (size_t k = 0; k < store_count(s->st, m); k++) {
		const struct item *it = store_at(s->st, m, k);
		const char *chain = item_get(m, it, "chain");
		if (chain[0] != 'c')
			continue;
		char want[4] = { 'a', (char)atoi(chain + 1), 'b', 0 };
		assert_string_equal(it->vals[ci], want);
	}
	char *a = export_all(s, 0);
	struct fx *g = fx_new(false);
	struct err e;
	err_clear(&e);
	if (conf_import(&g->s, a, "values.rsc", 0, NULL, &e) < 0)
		fail_msg("import: line %d col %d: %s", e.line, e.col, e.msg);
	size_t n = store_count(s->st, m);
	assert_int_equal(store_count(g->st, m), n);
	for (size_t k = 0; k < n; k++) {
		const char *x = item_geti(m, store_at(s->st, m, k), ci);
		const char *y = item_geti(m, store_at(g->st, m, k), ci);
		if (strcmp(x ? x : "(unset)", y ? y : "(unset)"))
			fail_msg("item %zu: \"%s\" came back as \"%s\"", k, x ? x : "(unset)",
				 y ? y : "(unset)");
	}
	char *b = export_all(&g->s, 0);
	assert_string_equal(a, b);
	free(a);
	free(b);
	fx_free(g);
}

/* An item that others name cannot be removed (so an export can always be
 * imported again); a rename carries over to the items that name it. */
static void test_roundtrip_invalid_refs(void **state)
{
	struct conf_session *s = S;
	ok(s, "/ip firewall layer7-protocol add name=l7 regexp=abc");
	ok(s, "/ip firewall filter add chain=forward layer7-protocol=l7");
	ok(s, "/interface vlan add name=v1 vlan-id=5 interface=ether1");
	ok(s, "/ip address add address=10.5.5.1/24 interface=v1");
	fails(s, "/ip firewall layer7-protocol remove l7");
	assert_contains(last_err.msg, "l7 is in use by /ip/firewall/filter");
	fails(s, "/interface vlan remove v1");
	assert_contains(last_err.msg, "v1 is in use by /ip/address");
	ok(s, "/interface vlan set v1 name=v2");
	assert_int_equal(count(s, "/ip address", "interface=v2"), 1);
	ok(s, "/ip firewall layer7-protocol set l7 name=l8");
	assert_int_equal(count(s, "/ip firewall filter", "layer7-protocol=l8"), 1);
	assert_int_equal(count(s, "/ip firewall filter", "invalid"), 0);
	/* removing the user and the used item together is fine */
	ok(s, "/ip address remove [find interface=v2]");
	ok(s, "/interface vlan remove v2");
	check_fixed_point(s, 0);
}

/* A file store keeps everything, order included, across a reopen. */
static void test_file_store_reopen(void **state)
{
	(void)state;
	char path[64];
	snprintf(path, sizeof(path), "/tmp/rosfw-test-conf-db-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	struct store *st;
	struct err e;
	err_clear(&e);
	assert_int_equal(store_open(&st, path, &e), 0);
	assert_true(store_is_new(st));
	struct conf_session cs;
	conf_session_init(&cs, st, "tester");
	assert_int_equal(conf_store_init(&cs, true, &e), 0);
	ok(&cs, "/ip firewall filter\n"
		"add chain=input comment=top place-before=0\n"
		"move 3 1\n"
		"add chain=forward comment=mid place-before=4\n"
		"/");
	for (int i = 0; i < 30; i++)
		ok(&cs, "/ip firewall filter add chain=input comment=front place-before=0");
	ok(&cs, ":foreach i in=[/ip firewall filter find comment=front] do={ "
		"/ip firewall filter move $i 12 }");
	char *a = export_all(&cs, CONF_EXPORT_VERBOSE | CONF_EXPORT_SENSITIVE);
	char *ids = xstrdup(ok(&cs, "/ip firewall filter find"));
	conf_session_free(&cs);
	store_close(st);

	assert_int_equal(store_open(&st, path, &e), 0);
	assert_false(store_is_new(st));
	conf_session_init(&cs, st, "tester");
	char *b = export_all(&cs, CONF_EXPORT_VERBOSE | CONF_EXPORT_SENSITIVE);
	assert_string_equal(a, b);
	assert_string_equal(ids, ok(&cs, "/ip firewall filter find"));
	/* new ids continue above the old ones */
	const char *id = ok(&cs, "/ip firewall filter add chain=input");
	uint32_t n, last;
	assert_int_equal(store_parse_id(id, &n), 0);
	assert_int_equal(store_parse_id(strrchr(ids, ';') + 1, &last), 0);
	assert_true(n > last);
	conf_session_free(&cs);
	store_close(st);
	free(a);
	free(b);
	free(ids);
	char p2[128];
	unlink(path);
	snprintf(p2, sizeof(p2), "%s-wal", path);
	unlink(p2);
	snprintf(p2, sizeof(p2), "%s-shm", path);
	unlink(p2);
}

/* Changed built-in items make the trip whatever was changed about them. */
static void test_roundtrip_renamed_builtins(void **state)
{
	struct conf_session *s = S;
	/* a keyless built-in whose identifying value changed (RouterOS exports
	 * it as "set 0 topics=info,!debug") */
	ok(s, "/system logging set 0 topics=info,!debug");
	/* a built-in renamed (RouterOS allows renaming admin) */
	ok(s, "/user set admin name=root");
	char *ex = export_all(s, 0);
	assert_contains(ex, "debug");
	free(ex);
	check_fixed_point(s, 0);
	struct fx *g = fx_new(false);
	char *a = export_all(s, 0);
	struct err e;
	err_clear(&e);
	assert_int_equal(conf_import(&g->s, a, "b.rsc", 0, NULL, &e), 0);
	assert_int_equal(count(&g->s, "/user", "name=root"), 1);
	assert_int_equal(count(&g->s, "/system logging", "topics=\"info,!debug\""), 1);
	free(a);
	fx_free(g);
}

/* ---- /ip arp: static entries stored, dynamic ones from a provider ---- */

/* What the live dataplane's provider gives: one learnt neighbour. */
static int fake_arp(void *ctx, struct conf_session *s, const struct menu *m, struct item ***items,
		    size_t *n)
{
	struct item *it = item_new(m);
	it->id = 0xf0000000u;
	it->flags = IF_DYNAMIC;
	item_set(m, it, schema_prop(m, "address", NULL), "192.168.88.254");
	item_set(m, it, schema_prop(m, "mac-address", NULL), "00:0C:42:00:00:01");
	item_set(m, it, schema_prop(m, "interface", NULL), "ether1-gateway");
	item_set(m, it, schema_prop(m, "complete", NULL), "yes");
	*items = malloc(sizeof(**items));
	(*items)[0] = it;
	*n = 1;
	return 0;
}

static void test_ip_arp(void **state)
{
	static const char *const bad[][2] = {
		{ "address=192.168.88.50 mac-address=00:11:22:33:44:66 interface=ether2-master-local",
		  "already have static entry" },
		{ "address=192.168.88.300 mac-address=00:11:22:33:44:66 interface=ether2-master-local",
		  "invalid value '192.168.88.300' for address" },
		{ "address=255.255.255.255 mac-address=00:11:22:33:44:66 interface=ether2-master-local",
		  "cannot be a neighbour" },
		{ "address=239.1.1.1 mac-address=00:11:22:33:44:66 interface=ether2-master-local",
		  "cannot be a neighbour" },
		{ "address=192.168.88.60 mac-address=01:00:5E:00:00:01 interface=ether2-master-local",
		  "not a unicast address" },
		{ "address=192.168.88.60 mac-address=00:00:00:00:00:00 interface=ether2-master-local",
		  "not a unicast address" },
		{ "address=192.168.88.60 mac-address=00:11:22:33:44 interface=ether2-master-local",
		  "for mac-address" },
		{ "address=192.168.88.60 mac-address=00:11:22:33:44:66 interface=ether9",
		  "no such interface 'ether9'" },
		{ "address=192.168.88.60 interface=ether2-master-local", "mac-address" },
	};
	ok(S, "/ip arp add address=192.168.88.50 mac-address=00:11:22:33:44:55 "
	      "interface=ether2-master-local comment=nas");
	char *before = export_all(S, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char cmd[256];
		snprintf(cmd, sizeof(cmd), "/ip arp add %s", bad[i][0]);
		assert_contains(fails(S, cmd), bad[i][1]);
	}
	assert_contains(fails(S, "/ip arp set 0 mac-address=FF:FF:FF:FF:FF:FF"), "unicast");
	char *after = export_all(S, 0);
	assert_string_equal(after, before);
	free(after);
	free(before);

	sbuf_reset(&S->out);
	ok(S, "/ip arp print");
	assert_contains(sbuf_str(&S->out), "Flags: X - disabled, I - invalid, H - DHCP, "
					   "D - dynamic, P - published, C - complete");
	assert_contains(sbuf_str(&S->out), "192.168.88.50 00:11:22:33:44:55 ether2-master-local");
	assert_not_contains(sbuf_str(&S->out), "192.168.88.254");

	/* the live table's entries follow the static ones, flagged D and C */
	conf_set_provider("/ip/arp", fake_arp, NULL);
	sbuf_reset(&S->out);
	ok(S, "/ip arp print");
	const char *out = keep(sbuf_str(&S->out));
	assert_contains(out, " 1 DC");
	assert_contains(out, "192.168.88.254 00:0C:42:00:00:01 ether1-gateway");
	assert_true(strstr(out, "192.168.88.50") < strstr(out, "192.168.88.254"));
	sbuf_reset(&S->out);
	ok(S, "/ip arp print count-only where dynamic=yes and complete=yes");
	assert_string_equal(sbuf_str(&S->out), "1\n");
	/* export and changes are the static entries' only */
	char *ex = export_all(S, 0);
	assert_contains(ex, "/ip arp\nadd address=192.168.88.50 comment=nas");
	assert_not_contains(ex, "192.168.88.254");
	free(ex);
	assert_contains(fails(S, "/ip arp set 1 comment=x"), "failure: can not change dynamic");
	ok(S, "/ip arp set 0 published=yes");
	sbuf_reset(&S->out);
	ok(S, "/ip arp print");
	assert_contains(sbuf_str(&S->out), " 0 P");
	ok(S, "/ip arp remove [find dynamic=no]");
	sbuf_reset(&S->out);
	ok(S, "/ip arp print count-only");
	assert_string_equal(sbuf_str(&S->out), "1\n");
	conf_set_provider("/ip/arp", NULL, NULL);
	sbuf_reset(&S->out);
	ok(S, "/ip arp print count-only");
	assert_string_equal(sbuf_str(&S->out), "0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_navigation, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_log_print, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_print_width, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_log_follow_midnight, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_clock_and_get, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_quoting_and_escapes, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_line_continuation, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_comments, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_comment_in_block, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_find, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_find_in_oneline_command, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_item_numbers, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_ids, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_place_before, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_variables, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_expressions, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_if_and_foreach, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_add_set_unset_remove, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_enable_disable_comment, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_get, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_get_builtin_state, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_get_counters, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_print_forms, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_print_where, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_ip_arp, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_where_values, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_print_as_value, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_export_forms, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_canonical_values, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_import_command, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_bad_input_table, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_error_position, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_error_position_unknown_property, setup_plain,
						teardown),
		cmocka_unit_test_setup_teardown(test_stray_brace_runs_nothing, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_import_strict, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_import_lenient, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_import_inline, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_import_dry_run, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_journal_of_commands, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_undo_redo_commands, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_safe_mode_commands, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_listeners_of_commands, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_default, setup_defaults, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_every_menu, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_any_value, setup_plain, teardown),
		cmocka_unit_test_setup_teardown(test_roundtrip_invalid_refs, setup_plain, teardown),
		cmocka_unit_test(test_file_store_reopen),
		cmocka_unit_test_setup_teardown(test_roundtrip_renamed_builtins, setup_plain,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
