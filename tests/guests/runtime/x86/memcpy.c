#include "../string.h"

void *memset(void *dst, int c, size_t n)
{
	/* rep stosb: one instruction for the (emulated) ring-0 case instead of a loop. */
	void *d = dst;
	__asm__ volatile("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
	return dst;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	void *d = dst;
	__asm__ volatile("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
	return dst;
}
