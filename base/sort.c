/* vmm_sort(): an in-place heapsort, see base/sort.h. */
#include "base/sort.h"

#include <stdint.h>

static void swap_bytes(uint8_t *a, uint8_t *b, size_t size)
{
	while (size--) {
		uint8_t t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Moves element `root` down the max-heap of the first n elements until both children are
 * smaller. */
static void sift_down(uint8_t *base, size_t root, size_t n, size_t size,
		      int (*cmp)(const void *, const void *))
{
	for (;;) {
		size_t child = 2 * root + 1, big = root;

		if (child < n && cmp(base + child * size, base + big * size) > 0)
			big = child;
		if (child + 1 < n && cmp(base + (child + 1) * size, base + big * size) > 0)
			big = child + 1;
		if (big == root)
			return;
		swap_bytes(base + root * size, base + big * size, size);
		root = big;
	}
}

void vmm_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	uint8_t *b = base;

	if (n < 2 || !size)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(b, i, n, size, cmp);
	for (size_t end = n - 1; end > 0; end--) {
		swap_bytes(b, b + end * size, size);
		sift_down(b, 0, end, size, cmp);
	}
}
