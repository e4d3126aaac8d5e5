/* base/options.c: the one option-string parser. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <errno.h>
#include <stdio.h>
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
	    {"size=1,,ro", "empty option in 'size=1,,ro'"},
	    {",ro", "empty option"},
	    {"ro,", "empty option"},
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
