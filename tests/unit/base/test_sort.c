/* vmm_sort() against a known order, for every small size and random data. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "base/sort.h"

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

struct wide {
	unsigned key;
	char pad[21]; /* an odd element size */
};

static int cmp_wide(const void *a, const void *b)
{
	const struct wide *x = a, *y = b;
	return (x->key > y->key) - (x->key < y->key);
}

Test(sort, every_size_up_to_300_with_duplicates)
{
	static int v[300];
	unsigned seed = 12345;

	for (size_t n = 0; n <= 300; n++) {
		long sum = 0, check = 0;
		for (size_t i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			v[i] = (int)(seed >> 16) % 50 - 25;
			sum += v[i];
		}
		vmm_sort(v, n, sizeof(v[0]), cmp_int);
		for (size_t i = 0; i < n; i++) {
			check += v[i];
			if (i)
				cr_assert_leq(v[i - 1], v[i], "n=%zu at %zu", n, i);
		}
		cr_assert_eq(sum, check, "n=%zu: elements lost", n);
	}
}

Test(sort, odd_element_size_keeps_the_whole_element)
{
	struct wide w[64];

	for (unsigned i = 0; i < 64; i++) {
		w[i].key = (i * 37) % 64;
		memset(w[i].pad, (int)w[i].key, sizeof(w[i].pad));
	}
	vmm_sort(w, 64, sizeof(w[0]), cmp_wide);
	for (unsigned i = 0; i < 64; i++) {
		cr_assert_eq(w[i].key, i);
		for (size_t j = 0; j < sizeof(w[i].pad); j++)
			cr_assert_eq((unsigned char)w[i].pad[j], i);
	}
}
