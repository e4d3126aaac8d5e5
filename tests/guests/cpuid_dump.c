/* Prints the CPUID leaves a vCPU sees, for tests that compare them with what the VMM was asked
 * to present (docs/cpu.md: the normalization and CPU templates; linux/guest_cpuid_l1.sh). One
 * line per leaf and subleaf, in hex:
 *
 *   CPUID cpu=0 leaf=0x00000007.0 eax=... ebx=... ecx=... edx=...
 *
 * for leaves 0, 1, 7.0, 0xB.0-1, 0x1F.0-1 (when the maximum basic leaf reaches them),
 * 0x40000000-1 (the hypervisor's), 0x80000000, 0x80000001, 0x80000008 and 0x8000001E (when the
 * maximum extended leaf reaches them); then leaves 1 and 0xB.0-1 again as each application
 * processor sees them (`cpu=N`: the per-vCPU APIC IDs), "CPUID-VENDOR <12 characters>" and
 * "TEST PASS". The guest checks nothing itself: what is right depends on the VMM's options. */
#include "guest.h"

#define MAX_APS 7

struct leaf {
	uint32_t fn, sub;
};

/* What each AP saw: leaves 1, 0xB.0 and 0xB.1, filled by the AP itself. */
static uint32_t ap_regs[MAX_APS][3][4];
static const struct leaf ap_leaves[3] = {{1, 0}, {0xb, 0}, {0xb, 1}};

static void print_leaf(unsigned cpu, uint32_t fn, uint32_t sub, const uint32_t r[4])
{
	printf("CPUID cpu=%u leaf=0x%08x.%u eax=0x%08x ebx=0x%08x ecx=0x%08x edx=0x%08x\n", cpu, fn,
	       sub, r[0], r[1], r[2], r[3]);
}

static void dump(uint32_t fn, uint32_t sub)
{
	uint32_t r[4];
	cpuid(fn, sub, r);
	print_leaf(0, fn, sub, r);
}

static void ap_read(unsigned index)
{
	if (index >= MAX_APS)
		return;
	for (unsigned i = 0; i < 3; i++)
		cpuid(ap_leaves[i].fn, ap_leaves[i].sub, ap_regs[index][i]);
}

int guest_main(void)
{
	uint32_t r[4], max_basic, max_ext;
	char vendor[13];

	cpuid(0, 0, r);
	max_basic = r[0];
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	dump(0, 0);
	dump(1, 0);
	if (max_basic >= 7)
		dump(7, 0);
	static const uint32_t topo[] = {0xb, 0x1f}; /* Intel's and the v2 topology leaves */
	for (unsigned i = 0; i < 2; i++)
		if (max_basic >= topo[i])
			for (uint32_t sub = 0; sub < 2; sub++)
				dump(topo[i], sub);
	dump(0x40000000, 0);
	cpuid(0x40000000, 0, r);
	if (r[0] >= 0x40000001 && r[0] < 0x40000100)
		dump(0x40000001, 0);
	cpuid(0x80000000, 0, r);
	max_ext = r[0];
	dump(0x80000000, 0);
	static const uint32_t ext[] = {0x80000001, 0x80000008, 0x8000001e};
	for (unsigned i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (max_ext >= ext[i])
			dump(ext[i], 0);

	/* The APs the MP table lists, each reading its own leaves (the VMM patches them per vCPU).
	 */
	int ncpus = mptable_count_cpus();
	if (ncpus > 1) {
		unsigned want = (unsigned)ncpus - 1 < MAX_APS ? (unsigned)ncpus - 1 : MAX_APS;
		int up = smp_start_aps(want, ap_read, 5000);
		printf("CPUID-APS %d of %u\n", up, want);
		for (int i = 0; i < up && i < MAX_APS; i++)
			for (unsigned l = 0; l < 3; l++)
				print_leaf((unsigned)i + 1, ap_leaves[l].fn, ap_leaves[l].sub,
					   ap_regs[i][l]);
	}
	printf("CPUID-VENDOR %s\n", vendor);
	return 0;
}
