#include "smp.h"

#include "apic.h"
#include "cpu.h"
#include "io.h"
#include "printf.h"
#include "pvh.h"
#include "string.h"
#include "trap.h"

#define PAGE_SIZE	  0x1000ULL
#define LOW_MEM_LIMIT	  0x9F000ULL /* below the EBDA / MP table area */
#define EXTRA_AP_GRACE_US 20000

extern char smp_trampoline_start[], smp_trampoline_end[];

static struct smp_cpu cpus[SMP_MAX_CPUS];
static volatile uint32_t ap_checked_in, ap_done;
static void (*volatile ap_fn)(unsigned index);
static uint64_t trampoline_addr;

const struct smp_cpu *smp_ap(unsigned index)
{
	return index < SMP_MAX_CPUS ? &cpus[index] : NULL;
}

uint64_t smp_trampoline_addr(void)
{
	return trampoline_addr;
}

/* Called from start.S on each AP, on its own stack, in long mode. */
void smp_ap_main(unsigned index)
{
	trap_load_idt();
	lapic_init();
	cpus[index].apic_id = lapic_id();
	cpus[index].online = 1;
	__atomic_add_fetch(&ap_checked_in, 1, __ATOMIC_RELEASE);
	if (ap_fn)
		ap_fn(index);
	__atomic_add_fetch(&ap_done, 1, __ATOMIC_RELEASE);
}

static uint32_t wait_count(volatile uint32_t *count, uint32_t want, uint32_t timeout_ms)
{
	uint64_t deadline = rdtsc() + (uint64_t)timeout_ms * 1000 * tsc_per_us();

	while (__atomic_load_n(count, __ATOMIC_ACQUIRE) < want && rdtsc() < deadline)
		cpu_relax();
	return __atomic_load_n(count, __ATOMIC_ACQUIRE);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return blen && a < b + blen && b < a + alen;
}

/* True if [page, page + 4 KiB) is RAM in the memory map (or there is no map to ask). */
static bool page_is_ram(uint64_t page)
{
	uint32_t n;
	const struct hvm_memmap_table_entry *m = pvh_memmap(&n);

	if (!m)
		return true;
	for (uint32_t i = 0; i < n; i++) {
		if (m[i].type == HVM_MEMMAP_TYPE_RAM && m[i].addr <= page &&
		    page + PAGE_SIZE <= m[i].addr + m[i].size)
			return true;
	}
	return false;
}

/* A page that holds none of the boot data the loader handed us. */
static bool page_is_free(uint64_t page)
{
	const struct hvm_start_info *si = pvh_start_info();
	const char *cmd = pvh_cmdline();
	uint32_t nmem, nmod;

	pvh_memmap(&nmem);
	pvh_modules(&nmod);
	return page_is_ram(page) && !overlaps(page, PAGE_SIZE, (uintptr_t)si, sizeof(*si)) &&
	       !overlaps(page, PAGE_SIZE, (uintptr_t)cmd, strlen(cmd) + 1) &&
	       !overlaps(page, PAGE_SIZE, si->memmap_paddr,
			 nmem * sizeof(struct hvm_memmap_table_entry)) &&
	       !overlaps(page, PAGE_SIZE, si->modlist_paddr,
			 nmod * sizeof(struct hvm_modlist_entry));
}

static uint64_t find_trampoline_page(void)
{
	/* 0x8000 upwards: clear of the real-mode IVT/BDA and, on our VMM, of its boot GDT, start
	 * info and zero page (base/layout.h). */
	for (uint64_t p = 0x8000; p < LOW_MEM_LIMIT; p += PAGE_SIZE) {
		if (page_is_free(p))
			return p;
	}
	return 0;
}

static int start_aps(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms,
		     bool wait_done)
{
	uint64_t page = find_trampoline_page();
	size_t len = (size_t)(smp_trampoline_end - smp_trampoline_start);

	if (!page) {
		printf("smp: no free page below 1 MiB for the AP trampoline\n");
		return -1;
	}
	trampoline_addr = page;
	memcpy(phys_ptr(page), smp_trampoline_start, len);
	ap_fn = fn;
	lapic_init();

	lapic_send_ipi(0, ICR_INIT | ICR_LEVEL_ASSERT | ICR_ALL_BUT_SELF);
	delay_us(10000);
	/* Always at least one SIPI, so that APs nobody expected still show up and are counted. */
	for (int i = 0; i < 2 && (i == 0 || ap_checked_in < expected); i++) {
		lapic_send_ipi(0, ICR_STARTUP | ICR_ALL_BUT_SELF | (uint32_t)(page >> 12));
		delay_us(200);
	}

	wait_count(&ap_checked_in, expected, timeout_ms);
	/* Give any unexpected extra AP time to show up too, so surplus CPUs are noticed. */
	delay_us(EXTRA_AP_GRACE_US);
	/* Let the APs finish fn (their output included) before the caller goes on. */
	if (wait_done)
		wait_count(&ap_done, ap_checked_in, timeout_ms);
	return (int)__atomic_load_n(&ap_checked_in, __ATOMIC_ACQUIRE);
}

int smp_start_aps(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms)
{
	return start_aps(expected, fn, timeout_ms, true);
}

int smp_start_aps_nowait(unsigned expected, void (*fn)(unsigned index), uint32_t timeout_ms)
{
	return start_aps(expected, fn, timeout_ms, false);
}
