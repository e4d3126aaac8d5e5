/* base/options.c: the one option-string parser. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"

struct got {
	char log[256]; /* "key=value;" or "key;" per set() call */
	int calls;
};

static int record(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct got *g = dst;
	size_t n = strlen(g->log);

	if (value && !strcmp(value, "no"))
		return parse_fail(err, errlen, "%s cannot be no", key);
	if (value && !strcmp(value, "range"))
		return -ERANGE;
	snprintf(g->log + n, sizeof(g->log) - n, value ? "%s=%s;" : "%s;", key, value);
	g->calls++;
	return 0;
}

static const struct opt_key keys[] = {
    {"size", 0, record},
    {"ro", OPT_FLAG, record},
    {"fwd", OPT_REPEAT, record},
    {"on", OPT_VALUE_OPTIONAL, record},
    {NULL, 0, NULL},
};

static struct got g;
static char err[128];

static int parse(const char *spec)
{
	memset(&g, 0, sizeof(g));
	strcpy(err, "untouched");
	return opts_parse(spec, keys, &g, "expected size=N[,ro]", err, sizeof(err));
}

Test(options, items_reach_their_keys_in_order)
{
	cr_assert_eq(parse("size=4,ro,fwd=a,fwd=b=c,on,x"), -EINVAL); /* x: unknown */
	cr_assert_eq(parse("size=4,ro,fwd=a,fwd=b=c,on"), 0, "%s", err);
	cr_assert_str_eq(g.log, "size=4;ro;fwd=a;fwd=b=c;on;");
	cr_assert_eq(parse("on=off,size="), 0, "%s", err);
	cr_assert_str_eq(g.log, "on=off;size=;", "an empty value is the key's to judge");
}

Test(options, a_doubled_comma_is_a_comma_in_the_value)
{
	cr_assert_eq(parse("size=1,,ro"), 0, "%s", err);
	cr_assert_str_eq(g.log, "size=1,ro;", "one item, not size=1 and ro");
	cr_assert_eq(parse("fwd=,,,ro,fwd=a,,,,b,,"), 0, "%s", err);
	cr_assert_str_eq(g.log, "fwd=,;ro;fwd=a,,b,;");
}

Test(options, nothing_is_no_item)
{
	cr_assert_eq(parse(NULL), 0);
	cr_assert_eq(parse(""), 0);
	cr_assert_eq(g.calls, 0);
}

Test(options, refusals_say_why)
{
	static const struct {
		const char *spec, *why;
	} bad[] = {
	    {"size=1,,,", "empty option in 'size=1,,,'"}, /* "1," then nothing */
	    {",ro", "empty option"},
	    {"ro,", "empty option"},
	    {"ro,,", "unknown option 'ro,'"}, /* ",," is the key's comma */
	    {"ro,,size=1", "unknown option 'ro,size'"},
	    {"speed=5", "unknown option 'speed' (expected size=N[,ro])"},
	    {"SIZE=5", "unknown option 'SIZE'"},
	    {"size", "'size' needs a value (expected size=N[,ro])"},
	    {"ro=1", "option 'ro' takes no value"},
	    {"size=1,size=2", "option 'size' given twice"},
	    {"on,on=off", "option 'on' given twice"},
	    {"size=no", "size cannot be no"},
	    {"=5", "unknown option ''"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_expect_eq(parse(bad[i].spec), -EINVAL, "%s", bad[i].spec);
		cr_expect(strstr(err, bad[i].why), "%s: '%s'", bad[i].spec, err);
	}
}

Test(options, stops_at_the_first_error_and_returns_set_s_code)
{
	cr_assert_eq(parse("size=range,ro"), -ERANGE);
	cr_assert_eq(g.calls, 0);
	cr_assert_eq(parse("ro,size=no,fwd=x"), -EINVAL);
	cr_assert_str_eq(g.log, "ro;");
}

Test(options, the_caller_s_string_is_not_changed_and_nothing_is_logged, .init = cr_redirect_stderr)
{
	char spec[] = "size=1,ro,bogus";

	cr_assert_eq(parse(spec), -EINVAL);
	cr_assert_str_eq(spec, "size=1,ro,bogus");
	cr_assert_eq(opts_parse("bogus", keys, &g, "u", NULL, 0), -EINVAL, "no err buffer");
	char small[8];
	cr_assert_eq(opts_parse("bogus", keys, &g, "u", small, sizeof(small)), -EINVAL);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	fflush(stderr);
	cr_assert_stderr_eq_str("");
}

/* ---- items ---- */

/* "key=value;" or "key;" per item, as record() logs them. */
static void items_log(const struct opt_items *l, char *out, size_t len)
{
	out[0] = '\0';
	for (size_t i = 0; i < l->n; i++) {
		size_t n = strlen(out);
		snprintf(out + n, len - n, l->v[i].value ? "%s=%s;" : "%s;", l->v[i].key,
			 l->v[i].value);
	}
}

Test(options, a_split_string_is_its_items_and_parses_the_same)
{
	struct opt_items l;
	char log[256];
	cr_assert_eq(opts_split("size=4,ro,fwd=a,fwd=b=c,on", NULL, &l, err, sizeof(err)), 0);
	items_log(&l, log, sizeof(log));
	cr_assert_str_eq(log, "size=4;ro;fwd=a;fwd=b=c;on;");
	memset(&g, 0, sizeof(g));
	cr_assert_eq(opts_parse_items(&l, keys, &g, "u", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(g.log, "size=4;ro;fwd=a;fwd=b=c;on;");
	opt_items_free(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_eq(opts_split("/a=b/disk.img,ro", "path", &l, err, sizeof(err)), 0);
	items_log(&l, log, sizeof(log));
	cr_assert_str_eq(log, "path=/a=b/disk.img;ro;", "the head is the first element whole");
	opt_items_free(&l);
	cr_assert_eq(opts_split(NULL, "path", &l, err, sizeof(err)), 0);
	cr_assert_eq(l.n, 0);
	/* a truly empty item: nothing between two separators, or before or after them */
	const char *bad[] = {"a,", ",a", "a,,,", ",,,", "a,b,,,", ",", "a,,,,,", "a,b,,,,,,c,"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(opts_split(bad[i], NULL, &l, err, sizeof(err)), -EINVAL, "%s", bad[i]);
		cr_assert(strstr(err, "empty option in"), "%s: %s", bad[i], err);
		cr_assert_eq(l.n, 0);
		cr_assert_eq(opts_split(bad[i], "path", &l, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
	}
	cr_assert_eq(opts_split(",ro", "path", &l, err, sizeof(err)), -EINVAL, "an empty head");
	cr_assert_str_eq(err, "empty option in ',ro'");
}

/* opts_split(spec, head) as items_log() writes them, or "EINVAL". */
static const char *split_log(const char *spec, const char *head)
{
	static char log[256];
	struct opt_items l;
	if (opts_split(spec, head, &l, err, sizeof(err)))
		return "EINVAL";
	items_log(&l, log, sizeof(log));
	opt_items_free(&l);
	return log;
}

Test(options, a_doubled_comma_is_a_comma_in_the_item_the_pairs_first)
{
	static const char *const cases[][3] = {
	    {"a,,b", NULL, "a,b;"},
	    {"a,,,b", NULL, "a,;b;"}, /* a literal comma, then the separator */
	    {"a,,,,b", NULL, "a,,b;"},
	    {"a,,,,,b", NULL, "a,,;b;"},
	    {",,a", NULL, ",a;"},
	    {"a,,", NULL, "a,;"},
	    {",,", NULL, ",;"},
	    {",,,,", NULL, ",,;"},
	    {",,,a", NULL, ",;a;"},
	    {"k,,=v,,w", NULL, "k,=v,w;"},
	    {"k=v,,=w,x", NULL, "k=v,=w;x;"},
	    {"k=,,,,,x=", NULL, "k=,,;x=;"},
	    {"/a,,b.img,ro", "path", "path=/a,b.img;ro;"},
	    {",,a,ro", "path", "path=,a;ro;"},
	    {"/a=b,,c,id=x,,y", "path", "path=/a=b,c;id=x,y;"},
	    {"/a,,,,", "path", "path=/a,,;"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(split_log(cases[i][0], cases[i][1]), cases[i][2], "%s",
				 cases[i][0]);
	const char *s = "/a,,b,ro";
	cr_assert_eq(opts_item_end(s), s + 5, "the first separator");
	cr_assert_eq(opts_item_end("a,,"), (const char *)"a,," + 3);
	char *t = opts_item_text(s, 5);
	cr_assert_str_eq(t, "/a,b");
	free(t);
}

Test(options, items_get_the_string_form_s_checks_and_may_hold_commas)
{
	struct opt_items l = {0};
	cr_assert_eq(opt_items_add(&l, "size", "1,5"), 0);
	cr_assert_eq(opt_items_add(&l, "ro", NULL), 0);
	cr_assert_eq(opt_items_addf(&l, "fwd", "%d:%s", 7, "x"), 0);
	memset(&g, 0, sizeof(g));
	cr_assert_eq(opts_parse_items(&l, keys, &g, "u", err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(g.log, "size=1,5;ro;fwd=7:x;");
	struct opt_items copy;
	cr_assert_eq(opt_items_copy(&copy, &l), 0);
	char *v = NULL;
	cr_assert_eq(opt_items_take(&copy, "ro", &v), 1);
	cr_assert_null(v, "a flag's value");
	cr_assert_eq(opt_items_take(&copy, "ro", &v), 0);
	cr_assert_eq(opt_items_find(&copy, "fwd"), 1);
	cr_assert_eq(opt_items_find(&l, "fwd"), 2, "the copy is its own");
	opt_items_free(&copy);
	cr_assert_eq(opt_items_add(&l, "size", "2"), 0);
	memset(&g, 0, sizeof(g));
	cr_assert_eq(opts_parse_items(&l, keys, &g, "u", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "option 'size' given twice");
	opt_items_free(&l);
	cr_assert_eq(opt_items_add(&l, "ro", "yes"), 0);
	cr_assert_eq(opts_parse_items(&l, keys, &g, "u", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "option 'ro' takes no value");
	opt_items_free(&l);
	cr_assert_eq(opt_items_add(&l, "size", NULL), 0);
	cr_assert_eq(opts_parse_items(&l, keys, &g, "expected size=N", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "'size' needs a value (expected size=N)");
	opt_items_free(&l);
}

Test(options, items_write_back_the_string_they_were_split_from)
{
	static const char *const specs[][2] = {
	    {"/a=b/disk.img,ro,id=x", "path"}, {"size=4,ro,fwd=a,fwd=b=c", NULL}, {"", NULL}};
	struct opt_items l;
	char err[128], buf[64];
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		cr_assert_eq(opts_split(specs[i][0], specs[i][1], &l, err, sizeof(err)), 0);
		cr_assert(opt_items_fit_string(&l));
		cr_assert_eq(opt_items_format(&l, specs[i][1], buf, sizeof(buf)), 0);
		cr_assert_str_eq(buf, specs[i][0]);
		opt_items_free(&l);
	}
	/* a head that is not the first item's key is written key=value */
	cr_assert_eq(opt_items_add(&l, "id", "x"), 0);
	cr_assert_eq(opt_items_format(&l, "path", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "id=x");
	cr_assert_eq(opt_items_format(&l, NULL, buf, 4), -ENAMETOOLONG, "id=x needs 5 bytes");
	cr_assert_eq(opt_items_format(&l, NULL, buf, 0), -ENAMETOOLONG);
	/* what has no string form: a key with an '=', an empty key, a key after the first that
	 * starts with a comma (",," after a separator is the previous item's comma) */
	cr_assert_eq(opt_items_add(&l, "a=b", NULL), 0);
	cr_assert_not(opt_items_fit_string(&l));
	opt_items_free(&l);
	cr_assert_eq(opt_items_add(&l, "", "v"), 0);
	cr_assert_not(opt_items_fit_string(&l));
	opt_items_free(&l);
	cr_assert_eq(opt_items_add(&l, ",a", NULL), 0);
	cr_assert(opt_items_fit_string(&l), "first: \",,a\" reads back");
	cr_assert_eq(opt_items_add(&l, ",b", NULL), 0);
	cr_assert_not(opt_items_fit_string(&l));
	opt_items_free(&l);
}

Test(options, commas_in_keys_and_values_are_written_doubled_and_read_back)
{
	static const char *const specs[][2] = {
	    {"/a,,b.img,ro,id=x,,y", "path"},
	    {",,/a,,,,b,,,ro", "path"},
	    {"size=1,,5,ro,fwd=,,,,", NULL},
	    {"k,,=v,,w,a,,,b", NULL},
	    {",,a,b", NULL},
	};
	struct opt_items l, back;
	char buf[64];
	for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		cr_assert_eq(opts_split(specs[i][0], specs[i][1], &l, err, sizeof(err)), 0, "%s",
			     specs[i][0]);
		cr_assert(opt_items_fit_string(&l), "%s", specs[i][0]);
		cr_assert_eq(opt_items_format(&l, specs[i][1], buf, sizeof(buf)), 0);
		cr_expect_str_eq(buf, specs[i][0]);
		char *str = opt_items_string(&l, specs[i][1]);
		cr_expect_str_eq(str, specs[i][0]);
		free(str);
		opt_items_free(&l);
	}
	/* items with commas -> string -> the same items */
	cr_assert_eq(opt_items_add(&l, "path", ",/a,b,"), 0);
	cr_assert_eq(opt_items_add(&l, "k,", ",v"), 0);
	cr_assert_eq(opt_items_add(&l, "f,", NULL), 0);
	cr_assert(opt_items_fit_string(&l));
	cr_assert_eq(opt_items_format(&l, "path", buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, ",,/a,,b,,,k,,=,,v,f,,");
	cr_assert_eq(opts_split(buf, "path", &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n, 3);
	for (size_t i = 0; i < 3; i++) {
		cr_assert_str_eq(back.v[i].key, l.v[i].key);
		cr_assert((!back.v[i].value && !l.v[i].value) ||
			  !strcmp(back.v[i].value, l.v[i].value));
	}
	opt_items_free(&back);
	cr_assert_eq(opt_items_format(&l, "path", buf, 6), -ENAMETOOLONG);
	cr_assert_str_eq(buf, ",,/a,", "what fitted, a pair cut");
	opt_items_free(&l);
}

Test(options, set_replaces_a_value_in_its_place_or_adds_it)
{
	struct opt_items l;
	char log[128];
	cr_assert_eq(opts_split("/a,id=x,ro", "path", &l, err, sizeof(err)), 0);
	cr_assert_eq(opt_items_set(&l, "path", "/b,c"), 0);
	cr_assert_eq(opt_items_set(&l, "ro", NULL), 0);
	cr_assert_eq(opt_items_set(&l, "mac", "m"), 0);
	items_log(&l, log, sizeof(log));
	cr_assert_str_eq(log, "path=/b,c;id=x;ro;mac=m;");
	char *s = opt_items_string(&l, "path");
	cr_assert_str_eq(s, "/b,,c,id=x,ro,mac=m");
	free(s);
	opt_items_free(&l);
}
