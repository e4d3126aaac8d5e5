/* Sorting without glibc's qsort(): for more than 1 KiB of elements qsort() asks the kernel for
 * the machine's memory size (sysinfo) on its first call in the process, a call that no confined
 * thread's filter allows, so whichever thread sorted a large array first died by SIGSYS (a
 * guest's MMDS request for an object of more than 128 keys would have). This heapsort needs no
 * memory and makes no system call. */
#ifndef VMM_SORT_H
#define VMM_SORT_H

#include <stddef.h>

/* Sorts n elements of `size` bytes at `base` in place, ascending by `cmp` (as qsort; not
 * stable). */
void vmm_sort(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

#endif
