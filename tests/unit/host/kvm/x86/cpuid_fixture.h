/* Loads a recorded CPUID table of fixtures/ ("leaf subleaf i|- eax ebx ecx edx" lines, '#'
 * comments) for the CPUID unit tests. */
#ifndef VMM_TEST_CPUID_FIXTURE_H
#define VMM_TEST_CPUID_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "host/kvm/x86/cpuid.h"

static inline void cpuid_fixture(const char *name, struct cpuid_table *t)
{
	char path[512], line[256];
	snprintf(path, sizeof(path), "%s/tests/unit/host/kvm/x86/fixtures/%s.cpuid", VMM_SOURCE_DIR,
		 name);
	FILE *f = fopen(path, "r");
	cr_assert_not_null(f, "%s", path);
	memset(t, 0, sizeof(*t));
	while (fgets(line, sizeof(line), f)) {
		struct kvm_cpuid_entry2 *e = &t->header.entries[t->header.nent];
		char flag;
		if (line[0] == '#')
			continue;
		int n = sscanf(line, "%x %x %c %x %x %x %x", &e->function, &e->index, &flag,
			       &e->eax, &e->ebx, &e->ecx, &e->edx);
		cr_assert_eq(n, 7, "%s: bad line %s", path, line);
		e->flags = flag == 'i' ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0;
		t->header.nent++;
	}
	fclose(f);
}

/* Adds (or returns) the entry for (fn, idx). */
static inline struct kvm_cpuid_entry2 *cpuid_fixture_entry(struct cpuid_table *t, uint32_t fn,
							   uint32_t idx)
{
	for (uint32_t i = 0; i < t->header.nent; i++)
		if (t->header.entries[i].function == fn && t->header.entries[i].index == idx)
			return &t->header.entries[i];
	struct kvm_cpuid_entry2 *e = &t->header.entries[t->header.nent++];
	memset(e, 0, sizeof(*e));
	e->function = fn;
	e->index = idx;
	return e;
}

#endif
