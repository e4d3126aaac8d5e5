/* The cache of seccomp filters compiled ahead (host/sandbox/filter_cache.h): a filter is found by
 * exactly its lists, in their order; one per set of lists; a full cache and too many lists are
 * refused. */
#include <criterion/criterion.h>
#include <errno.h>

#include "host/sandbox/filter_cache.h"

static const struct sandbox_rule rules[] = {SB_ALLOW(0)};
static const struct sandbox_list a = SANDBOX_LIST("a", rules), b = SANDBOX_LIST("b", rules);
static const struct sock_filter prog[2] = {{0x20, 0, 0, 4}, {0x06, 0, 0, 0x7fff0000}};

Test(filter_cache, finds_a_filter_by_exactly_its_lists)
{
	const struct sandbox_list *ab[] = {&a, &b}, *ba[] = {&b, &a};
	cr_assert_null(filter_cache_get(ab, 2));
	cr_assert_eq(filter_cache_put(ab, 2, prog, 2), 0);
	const struct sock_fprog *f = filter_cache_get(ab, 2);
	cr_assert_not_null(f);
	cr_assert_eq(f->len, 2);
	cr_assert_neq(f->filter, prog, "a copy");
	cr_assert_eq(f->filter[1].k, 0x7fff0000);
	cr_expect_null(filter_cache_get(ba, 2), "another order is another filter");
	cr_expect_null(filter_cache_get(ab, 1), "a prefix is another filter");
	cr_expect_eq(filter_cache_put(ab, 2, prog, 2), -EEXIST);
}

Test(filter_cache, refuses_too_many_lists_and_a_full_cache)
{
	const struct sandbox_list *many[FILTER_CACHE_LISTS + 1];
	for (size_t i = 0; i <= FILTER_CACHE_LISTS; i++)
		many[i] = &a;
	cr_expect_eq(filter_cache_put(many, FILTER_CACHE_LISTS + 1, prog, 2), -E2BIG);
	cr_expect_null(filter_cache_get(many, FILTER_CACHE_LISTS + 1));
	int r = 0;
	for (size_t n = 1; n <= FILTER_CACHE_LISTS && !r; n++) /* distinct keys: a, aa, aaa, ... */
		r = filter_cache_put(many, n, prog, 2);
	const struct sandbox_list *bs[FILTER_CACHE_LISTS];
	for (size_t i = 0; i < FILTER_CACHE_LISTS; i++)
		bs[i] = &b;
	for (size_t n = 1; n <= FILTER_CACHE_LISTS && !r; n++)
		r = filter_cache_put(bs, n, prog, 2);
	const struct sandbox_list *ab[] = {&a, &b};
	cr_expect_eq(r, 0, "16 filters fit");
	cr_expect_eq(filter_cache_put(ab, 2, prog, 2), -ENOSPC, "16 filters at most");
	cr_expect_not_null(filter_cache_get(many, 1), "the ones kept stay");
}
