/* The vhost-user memory table: regions validated, ring addresses translated only when whole. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/guest_mem.h"
#include "virtio/vhost_user/vu_mem.h"

static struct vu_mem_table two(void)
{
	struct vu_mem_table t = {0};
	struct vu_region a = {.gpa = 0, .size = 0x10000, .uaddr = 0x7f0000000000, .fd = 3};
	struct vu_region b = {.gpa = 0x100000,
			      .size = 0x10000,
			      .uaddr = 0x7f1000000000,
			      .fd = 3,
			      .fd_offset = 0x10000};
	cr_assert_eq(vu_mem_table_add(&t, &a), 0);
	cr_assert_eq(vu_mem_table_add(&t, &b), 0);
	return t;
}

Test(vu_mem, regions_are_validated)
{
	struct vu_mem_table t = two();
	struct vu_region r = {.gpa = 0x8000, .size = 0x1000, .uaddr = 1, .fd = 3};
	cr_assert_eq(vu_mem_table_add(&t, &r), -EINVAL, "overlap");
	r.gpa = 0x200000;
	r.fd = -1;
	cr_assert_eq(vu_mem_table_add(&t, &r), -EINVAL, "no fd");
	r.fd = 3;
	r.size = 0;
	cr_assert_eq(vu_mem_table_add(&t, &r), -EINVAL, "empty");
	r.size = 0x1000;
	r.uaddr = UINT64_MAX - 10;
	cr_assert_eq(vu_mem_table_add(&t, &r), -EINVAL, "uaddr overflow");
	r.uaddr = 1;
	r.gpa = UINT64_MAX - 10;
	cr_assert_eq(vu_mem_table_add(&t, &r), -EINVAL, "gpa overflow");
	for (uint64_t i = 0; i < VU_MAX_REGIONS - 2; i++) {
		r.gpa = 0x200000 + i * 0x1000;
		cr_assert_eq(vu_mem_table_add(&t, &r), 0);
	}
	r.gpa = 0x900000;
	cr_assert_eq(vu_mem_table_add(&t, &r), -ENOSPC);
}

Test(vu_mem, translate_whole_ranges_only)
{
	struct vu_mem_table t = two();
	uint64_t u = 0;
	cr_assert_eq(vu_mem_translate(&t, 0x100010, 16, &u), 0);
	cr_assert_eq(u, 0x7f1000000010);
	cr_assert_eq(vu_mem_translate(&t, 0xfff0, 0x20, &u), -EFAULT, "past the end");
	cr_assert_eq(vu_mem_translate(&t, 0x20000, 1, &u), -EFAULT, "hole");
	cr_assert_eq(vu_mem_translate(&t, UINT64_MAX, 2, &u), -EFAULT, "overflow");
}

Test(vu_mem, ring_size_alignment_and_extent)
{
	struct vu_mem_table t = two();
	uint64_t d, a, u;
	struct vu_ring_gpa r = {.num = 256, .desc = 0x1000, .avail = 0x2000, .used = 0x3000};
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), 0);
	cr_assert(d == 0x7f0000001000 && a == 0x7f0000002000 && u == 0x7f0000003000);

	r.num = 0;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EINVAL);
	r.num = 100;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EINVAL, "not a power of two");
	r.num = 65536;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EINVAL);
	r.num = 256;
	r.desc = 0x1008;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EINVAL, "desc alignment");
	r.desc = 0x1000;
	r.used = 0x3002;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EINVAL, "used alignment");
	/* the used ring of 256 entries is 6 + 8*256 = 2054 bytes: ending one byte past RAM */
	r.used = 0x10000 - 2052;
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EFAULT);
	r.used = 0x3000;
	r.avail = 0x10000 - 512; /* 6 + 2*256 = 518 bytes */
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EFAULT);
	r.avail = 0x2000;
	r.desc = 0x20000; /* the hole */
	cr_assert_eq(vu_ring_translate(&t, &r, &d, &a, &u), -EFAULT);
}

Test(vu_mem, table_from_shared_guest_memory)
{
	struct guest_mem m;
	struct vu_mem_table t;
	cr_assert_eq(guest_mem_alloc_shared(&m, 1 << 24), 0);
	cr_assert_eq(vu_mem_table_from_guest(&t, &m), 0);
	cr_assert_eq(t.n, 1);
	cr_assert_eq(t.r[0].fd, m.regions[0].fd);
	cr_assert_eq(t.r[0].uaddr, (uint64_t)(uintptr_t)m.regions[0].host);
	guest_mem_free(&m);

	cr_assert_eq(guest_mem_alloc(&m, 1 << 24), 0);
	cr_assert_eq(vu_mem_table_from_guest(&t, &m), -EINVAL, "private memory cannot be shared");
	guest_mem_free(&m);
}
