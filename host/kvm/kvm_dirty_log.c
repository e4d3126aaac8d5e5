/* The dirty-page log of guest RAM that diff snapshots and migration need (host/kvm/kvm_state.h):
 * KVM_MEM_LOG_DIRTY_PAGES on every memory slot and KVM_GET_DIRTY_LOG, the same on every
 * architecture. */
#include <errno.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/guest_mem.h"
#include "base/log.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_state.h"

#define PAGE_SHIFT 12

static uint64_t region_pages(const struct guest_region *r)
{
	return r->size >> PAGE_SHIFT;
}

size_t kvm_dirty_bitmap_words(const struct guest_mem *mem)
{
	uint64_t pages = 0;
	for (int i = 0; i < mem->nregions; i++)
		pages += region_pages(&mem->regions[i]);
	return (size_t)((pages + 63) / 64);
}

static int set_slot_flags(struct kvm *kvm, const struct guest_mem *mem, uint32_t flags)
{
	for (int i = 0; i < mem->nregions; i++) {
		const struct guest_region *r = &mem->regions[i];
		struct kvm_userspace_memory_region slot = {
		    .slot = (uint32_t)i,
		    .flags = flags,
		    .guest_phys_addr = r->gpa,
		    .memory_size = r->size,
		    .userspace_addr = (uint64_t)(uintptr_t)r->host,
		};
		if (kvm_ioctl(kvm->vm_fd, KVM_SET_USER_MEMORY_REGION, &slot) < 0) {
			int e = errno;
			log_error("KVM_SET_USER_MEMORY_REGION (slot %d, flags 0x%x) failed: %s", i,
				  flags, strerror(e));
			return -e;
		}
	}
	return 0;
}

int kvm_dirty_log_start(struct kvm *kvm, const struct guest_mem *mem)
{
	return set_slot_flags(kvm, mem, KVM_MEM_LOG_DIRTY_PAGES);
}

int kvm_dirty_log_stop(struct kvm *kvm, const struct guest_mem *mem)
{
	return set_slot_flags(kvm, mem, 0);
}

/* ORs the `npages` bits of `src` into `dst` starting at bit `first`. */
static void or_bits(uint64_t *dst, uint64_t first, const uint64_t *src, uint64_t npages)
{
	unsigned shift = (unsigned)(first % 64);
	uint64_t base = first / 64, words = (npages + 63) / 64;
	for (uint64_t w = 0; w < words; w++) {
		uint64_t v = src[w];
		if (w == words - 1 && npages % 64)
			v &= (1ULL << (npages % 64)) - 1;
		if (!v)
			continue;
		dst[base + w] |= v << shift;
		if (shift && (v >> (64 - shift)))
			dst[base + w + 1] |= v >> (64 - shift);
	}
}

int kvm_dirty_log_get(struct kvm *kvm, const struct guest_mem *mem, uint64_t *bitmap)
{
	memset(bitmap, 0, kvm_dirty_bitmap_words(mem) * sizeof(uint64_t));
	uint64_t first = 0;
	for (int i = 0; i < mem->nregions; i++) {
		uint64_t npages = region_pages(&mem->regions[i]);
		uint64_t *slot_bits = calloc((size_t)((npages + 63) / 64) + 1, sizeof(uint64_t));
		if (!slot_bits)
			return -ENOMEM;
		struct kvm_dirty_log log = {.slot = (uint32_t)i, .dirty_bitmap = slot_bits};
		if (kvm_ioctl(kvm->vm_fd, KVM_GET_DIRTY_LOG, &log) < 0) {
			int e = errno;
			free(slot_bits);
			log_error("KVM_GET_DIRTY_LOG (slot %d) failed: %s", i, strerror(e));
			return -e;
		}
		or_bits(bitmap, first, slot_bits, npages);
		free(slot_bits);
		first += npages;
	}
	return 0;
}
