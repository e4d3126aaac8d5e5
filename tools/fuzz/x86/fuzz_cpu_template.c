/* libFuzzer target: Firecracker's custom CPU template JSON (vmm/vm/x86/cpu_template_json.c: PUT
 * /cpu-config, the config file's cpu-config, --cpu-template-file) and the bitmap parser under
 * it (host/kvm/cpu_bitmap.c). The input is the JSON text; its first bytes, cut at a NUL,
 * are also given to the bitmap parser alone.
 * Invariants: a refusal says why (err not empty); an accepted template stays within its limits,
 * has no value bit outside its filter, names registers eax..edx only and flags 0 or 1; it
 * applies to a table and is checked against it without a crash, and a refused check says why;
 * the bitmap parser's value is always inside its filter and its width (32, 64, 128). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/cpu_bitmap.h"
#include "host/kvm/x86/cpu_template.h"
#include "vmm/vm/cpu_template_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A small table with the leaves templates usually name (and one they may not). */
static void table(struct cpuid_table *t)
{
	static const uint32_t leaves[][2] = {{0, 0},   {1, 0},		{7, 0},		{0xd, 0},
					     {0xd, 1}, {0x80000001, 0}, {0x80000008, 0}};
	memset(t, 0, sizeof(*t));
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		struct kvm_cpuid_entry2 *e = &t->header.entries[t->header.nent++];
		e->function = leaves[i][0];
		e->index = leaves[i][1];
		e->eax = e->ecx = 0x55aa55aa;
		e->ebx = e->edx = 0xaa55aa55;
	}
	t->header.entries[0].ebx = 0x68747541; /* "AuthenticAMD" */
	t->header.entries[0].edx = 0x69746e65;
	t->header.entries[0].ecx = 0x444d4163;
}

static void bitmaps(const uint8_t *data, size_t size)
{
	char s[160], err[256] = "";
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	memcpy(s, data, n);
	s[n] = 0;
	for (unsigned width = 32; width <= 128; width *= 2) {
		struct cpu_bitmap b;
		if (cpu_bitmap_parse(s, width, &b, err, sizeof(err))) {
			if (!err[0])
				abort();
			continue;
		}
		if ((b.value[0] & ~b.filter[0]) || (b.value[1] & ~b.filter[1]) ||
		    (width == 32 && (b.filter[0] >> 32)) || (width <= 64 && b.filter[1]))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_template t;
	static struct cpuid_table tab;
	char err[512] = "";
	bitmaps(data, size);
	if (cpu_template_parse((const char *)data, size, &t, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	if (t.ncpuid > CPU_TEMPLATE_MAX_CPUID || t.nmsrs > CPU_TEMPLATE_MAX_MSRS ||
	    t.ncaps > CPU_TEMPLATE_MAX_CAPS)
		abort();
	for (unsigned i = 0; i < t.ncpuid; i++)
		if ((t.cpuid[i].value & ~t.cpuid[i].filter) || t.cpuid[i].reg > CPU_REG_EDX ||
		    t.cpuid[i].flags > 1)
			abort();
	for (unsigned i = 0; i < t.nmsrs; i++)
		if (t.msrs[i].value & ~t.msrs[i].filter)
			abort();
	table(&tab);
	err[0] = 0;
	if (cpu_template_check(&t, &tab, err, sizeof(err)) && !err[0])
		abort();
	cpu_template_apply(&t, &tab);
	(void)cpu_template_msr(&t, 0x10a, 0);
	return 0;
}
