/* Driver-side helper for virtqueue tests: see mock_driver.h. */
#include "tests/mock_driver/mock_driver.h"

#include <endian.h>
#include <errno.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ring.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define PACKED_F_AVAIL (1u << VRING_PACKED_DESC_F_AVAIL)
#define PACKED_F_USED  (1u << VRING_PACKED_DESC_F_USED)

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

/* The RAM is an anonymous mapping between two inaccessible guard pages: the kernel zero-fills
 * only the pages a test touches (an allocation and a memset of 64 MiB cost every test 16k page
 * faults), and a device model reading or writing past either end faults at once, sanitizer or
 * not. */
#define GUARD 4096u

int mock_ram_init(struct mock_ram *ram, uint64_t gpa, uint64_t size)
{
	memset(ram, 0, sizeof(*ram));
	if (size == 0)
		return -EINVAL;
	uint64_t len = align_up(size, 4096);
	uint8_t *base = mmap(NULL, len + 2 * GUARD, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -ENOMEM;
	if (mprotect(base + GUARD, len, PROT_READ | PROT_WRITE) < 0) {
		munmap(base, len + 2 * GUARD);
		return -ENOMEM;
	}
	ram->host = base + GUARD;
	ram->gpa = gpa;
	ram->size = size;
	int err = guest_mem_add_region(&ram->mem, gpa, ram->host, size);
	if (err)
		mock_ram_free(ram);
	return err;
}

void mock_ram_free(struct mock_ram *ram)
{
	if (ram->host)
		munmap(ram->host - GUARD, align_up(ram->size, 4096) + 2 * GUARD);
	memset(ram, 0, sizeof(*ram));
}

void *mock_ram_host(const struct mock_ram *ram, uint64_t gpa)
{
	return guest_mem_ptr(&ram->mem, gpa, 1);
}

static void put16(struct mock_vq *mv, uint64_t gpa, uint16_t v)
{
	v = htole16(v);
	guest_mem_write(&mv->ram->mem, gpa, &v, sizeof(v));
}

/* The driver's publishing store: everything written before it is visible first. */
static void put16_release(struct mock_vq *mv, uint64_t gpa, uint16_t v)
{
	uint16_t *p = guest_mem_ptr(&mv->ram->mem, gpa, sizeof(*p));
	if (p)
		__atomic_store_n(p, htole16(v), __ATOMIC_RELEASE);
}

static uint16_t get16_acquire(const struct mock_vq *mv, uint64_t gpa)
{
	uint16_t *p = guest_mem_ptr(&mv->ram->mem, gpa, sizeof(*p));
	return p ? le16toh(__atomic_load_n(p, __ATOMIC_ACQUIRE)) : 0;
}

static void put_desc(struct mock_vq *mv, uint64_t gpa, uint64_t addr, uint32_t len, uint16_t a,
		     uint16_t b)
{
	uint8_t raw[16];
	uint64_t addr_le = htole64(addr);
	uint32_t len_le = htole32(len);
	uint16_t a_le = htole16(a), b_le = htole16(b);
	memcpy(raw, &addr_le, 8);
	memcpy(raw + 8, &len_le, 4);
	memcpy(raw + 12, &a_le, 2);
	memcpy(raw + 14, &b_le, 2);
	guest_mem_write(&mv->ram->mem, gpa, raw, sizeof(raw));
}

int mock_vq_init(struct mock_vq *mv, struct mock_ram *ram, uint16_t size, bool packed,
		 uint64_t ring_gpa)
{
	memset(mv, 0, sizeof(*mv));
	if (size == 0)
		return -EINVAL;
	mv->ram = ram;
	mv->packed = packed;
	mv->size = size;
	mv->desc = ring_gpa;
	uint64_t end;
	if (packed) {
		mv->driver = ring_gpa + 16ull * size;
		mv->device = mv->driver + 4;
		end = mv->device + 4;
	} else {
		mv->driver = ring_gpa + 16ull * size;
		mv->device = align_up(mv->driver + 6 + 2ull * size, 4);
		end = mv->device + 6 + 8ull * size;
	}
	void *rings = guest_mem_ptr(&ram->mem, ring_gpa, end - ring_gpa);
	if (!rings)
		return -EINVAL;
	memset(rings, 0, end - ring_gpa); /* 2.8.13: "The descriptor ring is zero-initialized" */
	mv->heap = align_up(end, 64);
	mv->heap_end = ram->gpa + ram->size;
	mv->avail_wrap = mv->used_wrap = true;
	mv->id_ndescs = calloc(65536, sizeof(*mv->id_ndescs));
	return mv->id_ndescs ? 0 : -ENOMEM;
}

void mock_vq_free(struct mock_vq *mv)
{
	free(mv->id_ndescs);
	mv->id_ndescs = NULL;
}

int mock_vq_attach(const struct mock_vq *mv, struct virtqueue *vq, uint64_t features)
{
	vq->num = mv->size;
	vq->desc_addr = mv->desc;
	vq->driver_addr = mv->driver;
	vq->device_addr = mv->device;
	if (mv->packed)
		features |= 1ull << VIRTIO_F_RING_PACKED;
	return vq_activate(vq, &mv->ram->mem, features);
}

uint64_t mock_alloc(struct mock_vq *mv, uint32_t len)
{
	uint64_t at = mv->heap;
	if (len > mv->heap_end - at)
		return 0;
	mv->heap = align_up(at + len, 16);
	if (mv->heap > mv->heap_end)
		mv->heap = mv->heap_end;
	return at;
}

uint64_t mock_fill(struct mock_vq *mv, const void *data, uint32_t len)
{
	uint64_t at = mock_alloc(mv, len);
	if (at)
		guest_mem_write(&mv->ram->mem, at, data, len);
	return at;
}

/* ---- split ---- */

void mock_split_desc(struct mock_vq *mv, uint16_t idx, uint64_t addr, uint32_t len, uint16_t flags,
		     uint16_t next)
{
	mock_split_table_desc(mv, mv->desc, idx, addr, len, flags, next);
}

void mock_split_table_desc(struct mock_vq *mv, uint64_t table, uint16_t idx, uint64_t addr,
			   uint32_t len, uint16_t flags, uint16_t next)
{
	put_desc(mv, table + 16ull * idx, addr, len, flags, next);
}

void mock_split_avail_entry(struct mock_vq *mv, uint16_t slot, uint16_t head)
{
	put16(mv, mv->driver + 4 + 2ull * (slot % mv->size), head);
}

void mock_split_set_avail_idx(struct mock_vq *mv, uint16_t idx)
{
	mv->avail_idx = idx;
	put16_release(mv, mv->driver + 2, idx);
}

void mock_split_set_avail_flags(struct mock_vq *mv, uint16_t flags)
{
	put16(mv, mv->driver, flags);
}

void mock_split_set_used_event(struct mock_vq *mv, uint16_t v)
{
	put16(mv, mv->driver + 4 + 2ull * mv->size, v);
}

uint16_t mock_split_used_idx(const struct mock_vq *mv)
{
	return get16_acquire(mv, mv->device + 2);
}

uint16_t mock_split_used_flags(const struct mock_vq *mv)
{
	return get16_acquire(mv, mv->device);
}

uint16_t mock_split_avail_event(const struct mock_vq *mv)
{
	return get16_acquire(mv, mv->device + 4 + 8ull * mv->size);
}

void mock_split_used_elem(const struct mock_vq *mv, uint16_t slot, uint32_t *id, uint32_t *len)
{
	uint32_t e[2] = {0, 0};
	guest_mem_read(&mv->ram->mem, mv->device + 4 + 8ull * (slot % mv->size), e, sizeof(e));
	*id = le32toh(e[0]);
	*len = le32toh(e[1]);
}

static void write_split_chain(struct mock_vq *mv, uint64_t table, const uint16_t *idx,
			      const struct mock_buf *bufs, int n)
{
	for (int i = 0; i < n; i++) {
		uint16_t flags = bufs[i].write ? VRING_DESC_F_WRITE : 0;
		uint16_t next = 0;
		if (i + 1 < n) {
			flags |= VRING_DESC_F_NEXT;
			next = idx[i + 1];
		}
		mock_split_table_desc(mv, table, idx[i], bufs[i].addr, bufs[i].len, flags, next);
	}
}

static void split_publish(struct mock_vq *mv, uint16_t head)
{
	mock_split_avail_entry(mv, mv->avail_idx, head);
	mock_split_set_avail_idx(mv, (uint16_t)(mv->avail_idx + 1));
}

int mock_split_add(struct mock_vq *mv, const struct mock_buf *bufs, int n)
{
	if (n <= 0 || n > mv->size)
		return -1;
	uint16_t *idx = calloc(n, sizeof(*idx));
	if (!idx)
		return -1;
	for (int i = 0; i < n; i++)
		idx[i] = (uint16_t)((mv->next_desc + i) % mv->size);
	mv->next_desc = (uint16_t)((mv->next_desc + n) % mv->size);
	write_split_chain(mv, mv->desc, idx, bufs, n);
	uint16_t head = idx[0];
	free(idx);
	split_publish(mv, head);
	return head;
}

uint64_t mock_split_table(struct mock_vq *mv, const struct mock_buf *bufs, int n)
{
	uint64_t table = mock_alloc(mv, 16u * n);
	uint16_t *idx = calloc(n, sizeof(*idx));
	if (!table || !idx) {
		free(idx);
		return 0;
	}
	for (int i = 0; i < n; i++)
		idx[i] = (uint16_t)i;
	write_split_chain(mv, table, idx, bufs, n);
	free(idx);
	return table;
}

int mock_split_add_indirect(struct mock_vq *mv, const struct mock_buf *bufs, int n)
{
	uint64_t table = mock_split_table(mv, bufs, n);
	if (!table)
		return -1;
	uint16_t head = mv->next_desc;
	mv->next_desc = (uint16_t)((mv->next_desc + 1) % mv->size);
	mock_split_desc(mv, head, table, 16u * n, VRING_DESC_F_INDIRECT, 0);
	split_publish(mv, head);
	return head;
}

int mock_split_get_used(struct mock_vq *mv, uint32_t *id, uint32_t *len)
{
	if (mock_split_used_idx(mv) == mv->used_seen)
		return 0;
	mock_split_used_elem(mv, mv->used_seen, id, len);
	mv->used_seen++;
	return 1;
}

/* ---- packed ---- */

void mock_packed_desc(struct mock_vq *mv, uint16_t slot, uint64_t addr, uint32_t len, uint16_t id,
		      uint16_t flags)
{
	put_desc(mv, mv->desc + 16ull * slot, addr, len, id, flags);
}

uint16_t mock_packed_avail_bits(bool wrap)
{
	return wrap ? PACKED_F_AVAIL : PACKED_F_USED;
}

void mock_packed_read_desc(const struct mock_vq *mv, uint16_t slot, uint64_t *addr, uint32_t *len,
			   uint16_t *id, uint16_t *flags)
{
	uint8_t raw[16] = {0};
	guest_mem_read(&mv->ram->mem, mv->desc + 16ull * slot, raw, sizeof(raw));
	uint64_t a;
	uint32_t l;
	uint16_t i, f;
	memcpy(&a, raw, 8);
	memcpy(&l, raw + 8, 4);
	memcpy(&i, raw + 12, 2);
	memcpy(&f, raw + 14, 2);
	*addr = le64toh(a);
	*len = le32toh(l);
	*id = le16toh(i);
	*flags = le16toh(f);
}

void mock_packed_set_driver_event(struct mock_vq *mv, uint16_t off_wrap, uint16_t flags)
{
	put16(mv, mv->driver, off_wrap);
	put16_release(mv, mv->driver + 2, flags);
}

void mock_packed_device_event(const struct mock_vq *mv, uint16_t *off_wrap, uint16_t *flags)
{
	*flags = get16_acquire(mv, mv->device + 2);
	*off_wrap = get16_acquire(mv, mv->device);
}

static void packed_advance(struct mock_vq *mv, uint16_t *slot, bool *wrap)
{
	if (++*slot == mv->size) {
		*slot = 0;
		*wrap = !*wrap;
	}
}

int mock_packed_add(struct mock_vq *mv, const struct mock_buf *bufs, int n, uint16_t id)
{
	if (n <= 0 || n > mv->size)
		return -1;
	uint16_t first = mv->next_avail, first_flags = 0;
	for (int i = 0; i < n; i++) {
		uint16_t flags = mock_packed_avail_bits(mv->avail_wrap) |
				 (bufs[i].write ? VRING_DESC_F_WRITE : 0) |
				 (i + 1 < n ? VRING_DESC_F_NEXT : 0);
		/* 2.8.6: the id belongs in the last descriptor; others get a decoy. */
		uint16_t this_id = i + 1 == n ? id : (uint16_t)~id;
		mock_packed_desc(mv, mv->next_avail, bufs[i].addr, bufs[i].len, this_id,
				 i == 0 ? 0 : flags);
		if (i == 0)
			first_flags = flags;
		packed_advance(mv, &mv->next_avail, &mv->avail_wrap);
	}
	mv->id_ndescs[id] = (uint16_t)n;
	put16_release(mv, mv->desc + 16ull * first + 14, first_flags);
	return id;
}

uint64_t mock_packed_table(struct mock_vq *mv, const struct mock_buf *bufs, int n)
{
	uint64_t table = mock_alloc(mv, 16u * n);
	if (!table)
		return 0;
	for (int i = 0; i < n; i++)
		put_desc(mv, table + 16ull * i, bufs[i].addr, bufs[i].len, 0,
			 bufs[i].write ? VRING_DESC_F_WRITE : 0);
	return table;
}

int mock_packed_add_indirect(struct mock_vq *mv, const struct mock_buf *bufs, int n, uint16_t id)
{
	uint64_t table = mock_packed_table(mv, bufs, n);
	if (!table)
		return -1;
	uint16_t slot = mv->next_avail;
	uint16_t flags = mock_packed_avail_bits(mv->avail_wrap) | VRING_DESC_F_INDIRECT;
	mock_packed_desc(mv, slot, table, 16u * n, id, 0);
	packed_advance(mv, &mv->next_avail, &mv->avail_wrap);
	mv->id_ndescs[id] = 1;
	put16_release(mv, mv->desc + 16ull * slot + 14, flags);
	return id;
}

int mock_packed_get_used(struct mock_vq *mv, uint16_t *id, uint32_t *len, uint16_t *flags)
{
	uint16_t f = get16_acquire(mv, mv->desc + 16ull * mv->next_used + 14);
	bool avail = f & PACKED_F_AVAIL, used = f & PACKED_F_USED;
	if (avail != mv->used_wrap || used != mv->used_wrap)
		return 0;
	uint64_t addr;
	uint16_t f2;
	mock_packed_read_desc(mv, mv->next_used, &addr, len, id, &f2);
	*flags = f;
	uint16_t skip = mv->id_ndescs[*id] ? mv->id_ndescs[*id] : 1;
	for (uint16_t i = 0; i < skip; i++)
		packed_advance(mv, &mv->next_used, &mv->used_wrap);
	return 1;
}

/* ---- fixture ---- */

int mock_env_init(struct mock_env *env, uint16_t size, bool packed, uint64_t features)
{
	memset(env, 0, sizeof(*env));
	env->mem = &env->ram.mem;
	int err = mock_ram_init(&env->ram, MOCK_RAM_GPA, MOCK_RAM_SIZE);
	if (!err)
		err = mock_vq_init(&env->mv, &env->ram, size, packed, MOCK_RAM_GPA);
	if (!err)
		err = vq_init(&env->vq, VQ_MAX_SIZE);
	if (!err)
		err = mock_vq_attach(&env->mv, &env->vq, features);
	return err;
}

void mock_env_free(struct mock_env *env)
{
	mock_vq_free(&env->mv);
	mock_ram_free(&env->ram);
}
