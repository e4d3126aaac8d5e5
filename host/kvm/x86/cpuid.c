/* Per-vCPU CPUID: APIC IDs and topology (Intel SDM vol. 2A, CPUID leaves 01H, 04H, 0BH, 1FH). */
#include "host/kvm/x86/cpuid.h"
#include "host/kvm/kvm.h"

#include <cpuid.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_HTT	       (1u << 28)
#define TOPO_LEVEL_SMT	       1
#define TOPO_LEVEL_CORE	       2

/* The host's brand string (leaves 0x80000002-4 of its own CPUID), zeros where it has none. */
static void host_brand(uint32_t brand[12])
{
	unsigned max = __get_cpuid_max(0x80000000, NULL);
	memset(brand, 0, 12 * sizeof(brand[0]));
	for (unsigned k = 0; max >= 0x80000004 && k < 3; k++)
		__get_cpuid(0x80000002 + k, &brand[4 * k], &brand[4 * k + 1], &brand[4 * k + 2],
			    &brand[4 * k + 3]);
}

/* KVM's answer, with the host's brand string where KVM gives none (cpuid_fill_brand()). */
int cpuid_get_supported(int kvm_dev_fd, struct cpuid_table *table)
{
	uint32_t brand[12];
	memset(table, 0, sizeof(*table));
	table->header.nent = CPUID_MAX_ENTRIES;
	if (kvm_ioctl(kvm_dev_fd, KVM_GET_SUPPORTED_CPUID, table) < 0)
		return -errno;
	host_brand(brand);
	cpuid_fill_brand(table, brand);
	return 0;
}

/* The last answer, and the device it came from. */
static struct {
	pthread_mutex_t lock;
	bool have;
	dev_t dev, rdev;
	ino_t ino;
	struct cpuid_table table;
} cache = {.lock = PTHREAD_MUTEX_INITIALIZER};

int cpuid_get_supported_cached(int kvm_dev_fd, struct cpuid_table *table)
{
	struct stat st;
	if (fstat(kvm_dev_fd, &st))
		return cpuid_get_supported(kvm_dev_fd, table);
	pthread_mutex_lock(&cache.lock);
	int err = 0;
	if (!cache.have || cache.dev != st.st_dev || cache.ino != st.st_ino ||
	    cache.rdev != st.st_rdev) {
		err = cpuid_get_supported(kvm_dev_fd, &cache.table);
		cache.have = !err;
		cache.dev = st.st_dev;
		cache.ino = st.st_ino;
		cache.rdev = st.st_rdev;
	}
	if (!err && table)
		memcpy(table, &cache.table, sizeof(*table));
	pthread_mutex_unlock(&cache.lock);
	return err;
}

/* The KVM device at `kvm_path` (--kvm PATH: a character device by design, not host_path_open()). */
static int open_kvm(const char *kvm_path)
{
	int fd = kvm_path ? open(kvm_path, O_RDWR | O_CLOEXEC) : -1;
	return fd < 0 ? -(kvm_path ? errno : EINVAL) : fd;
}

void cpuid_warm_up(const char *kvm_path)
{
	int fd = open_kvm(kvm_path);
	if (fd < 0)
		return;
	cpuid_get_supported_cached(fd, NULL); /* fills the cache only */
	close(fd);
}

/* KVM_GET_MSR_INDEX_LIST into msrs[0..max); -E2BIG when the host lists more. */
static int msr_list(int fd, uint32_t *msrs, uint32_t max, uint32_t *n)
{
	struct kvm_msr_list *l = calloc(1, sizeof(*l) + max * sizeof(uint32_t));
	if (!l)
		return -ENOMEM;
	l->nmsrs = max;
	int err = kvm_ioctl(fd, KVM_GET_MSR_INDEX_LIST, l) < 0 ? -errno : 0;
	if (!err) {
		*n = l->nmsrs;
		memcpy(msrs, l->indices, l->nmsrs * sizeof(uint32_t));
	}
	free(l);
	return err;
}

int cpuid_host_at(const char *kvm_path, struct cpuid_table *table, uint32_t *msrs, uint32_t max,
		  uint32_t *nmsrs)
{
	int fd = open_kvm(kvm_path);
	if (fd < 0)
		return fd;
	int err = cpuid_get_supported_cached(fd, table);
	*nmsrs = 0;
	if (!err && msrs)
		err = msr_list(fd, msrs, max, nmsrs);
	close(fd);
	return err;
}

struct kvm_cpuid_entry2 *cpuid_find(struct cpuid_table *table, uint32_t function, uint32_t index)
{
	for (uint32_t i = 0; i < table->header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->header.entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

/* Bits needed to number `n` distinct IDs (the shift width of a topology level). */
static unsigned id_bits(unsigned n)
{
	unsigned bits = 0;
	while ((1u << bits) < n)
		bits++;
	return bits;
}

/* Leaves 0BH and 1FH: subleaf 0 = SMT (`threads` per core), subleaf 1 = core (ncpus logical
 * processors in the package), then invalid. EAX is the shift of the APIC ID to the next level's
 * ID: the thread bits, then the thread and core bits. */
static void patch_extended_topology(struct kvm_cpuid_entry2 *e, unsigned apic_id, unsigned ncpus,
				    unsigned threads)
{
	unsigned cores = (ncpus + threads - 1) / threads;
	e->edx = apic_id;
	switch (e->index) {
	case 0:
		e->eax = id_bits(threads);
		e->ebx = threads;
		e->ecx = (TOPO_LEVEL_SMT << 8) | e->index;
		break;
	case 1:
		e->eax = id_bits(threads) + id_bits(cores);
		e->ebx = ncpus;
		e->ecx = (TOPO_LEVEL_CORE << 8) | e->index;
		break;
	default:
		e->eax = e->ebx = 0;
		e->ecx = e->index;
		break;
	}
}

void cpuid_patch_for_vcpu(struct cpuid_table *table, unsigned index, unsigned ncpus,
			  unsigned threads)
{
	unsigned cores = (ncpus + threads - 1) / threads;
	cpuid_normalize(table, ncpus, threads);
	for (uint32_t i = 0; i < table->header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &table->header.entries[i];
		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffffu) | (index << 24) | ((ncpus & 0xff) << 16);
			e->ecx |= CPUID_1_ECX_HYPERVISOR;
			if (ncpus > 1)
				e->edx |= CPUID_1_EDX_HTT;
			break;
		case 0x4:
			/* EAX[31:26]: addressable core IDs per package - 1; EAX[25:14]: threads
			 * sharing this cache - 1 (the threads of one core). */
			e->eax = (e->eax & 0x3fffu) | ((uint32_t)(threads - 1) << 14) |
				 ((uint32_t)(cores - 1) << 26);
			break;
		case 0xb:
		case 0x1f:
			patch_extended_topology(e, index, ncpus, threads);
			break;
		case 0x8000001e:
			/* AMD: EAX extended APIC ID, EBX[15:8] threads per core - 1, EBX[7:0]
			 * core ID (AMD APM vol. 3, CPUID Fn8000_001E) */
			e->eax = index;
			e->ecx &= ~0x7ffu; /* node 0 of one node per package */
			e->ebx = (e->ebx & ~0xffffu) | ((threads - 1) << 8) | (index / threads);
			break;
		default:
			break;
		}
	}
}

/* `e` with the bits cpuid_same_but_runtime() ignores cleared. */
static struct kvm_cpuid_entry2 without_runtime_bits(struct kvm_cpuid_entry2 e)
{
	if (e.function == 1) {
		e.ecx &= ~((1u << 27) | (1u << 3)); /* OSXSAVE, MONITOR */
		e.edx &= ~(1u << 9);		    /* APIC */
	} else if (e.function == 7 && e.index == 0) {
		e.ecx &= ~(1u << 4); /* OSPKE */
	} else if (e.function == 0xd && e.index <= 1) {
		e.ebx = 0; /* the XSAVE area's size for XCR0 (and XSS) */
	}
	memset(e.padding, 0, sizeof(e.padding));
	return e;
}

bool cpuid_same_but_runtime(const struct kvm_cpuid2 *a, const struct kvm_cpuid2 *b)
{
	if (a->nent != b->nent)
		return false;
	for (uint32_t i = 0; i < a->nent; i++) {
		struct kvm_cpuid_entry2 x = without_runtime_bits(a->entries[i]);
		struct kvm_cpuid_entry2 y = without_runtime_bits(b->entries[i]);
		if (memcmp(&x, &y, sizeof(x)))
			return false;
	}
	return true;
}

/* The register `reg` (0 EAX .. 3 EDX) of leaf fn.idx in `t`, 0 when it is not listed. */
static uint32_t reg_of(const struct kvm_cpuid2 *t, uint32_t fn, uint32_t idx, int reg)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == fn && (!indexed || e->index == idx)) {
			uint32_t v[4] = {e->eax, e->ebx, e->ecx, e->edx};
			return v[reg];
		}
	}
	return 0;
}

bool cpuid_msr_for_guest(const struct kvm_cpuid2 *t, uint32_t msr)
{
	if (msr != 0xc0000103) /* MSR_TSC_AUX */
		return true;
	return (reg_of(t, 0x80000001, 0, 3) & (1u << 27)) || /* RDTSCP */
	       (reg_of(t, 0x7, 0, 2) & (1u << 22));	     /* RDPID */
}
