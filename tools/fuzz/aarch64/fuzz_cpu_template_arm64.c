/* libFuzzer target: Firecracker's custom CPU template JSON on arm64
 * (vmm/vm/aarch64/cpu_template_json.c: PUT /cpu-config, the config file's cpu-config,
 * --cpu-template-file), the bitmaps under it (host/kvm/cpu_bitmap.c) and the template's check
 * against a host's ID registers (host/kvm/aarch64/cpu_template.c). The input is the JSON text.
 * Invariants: a refusal says why (err not empty); an accepted template stays within its limits,
 * names 64-bit arm64 registers only, has no value bit outside a filter; applied to a register
 * it changes only filtered bits; its check against a host (some bits writable, then none) either
 * passes or says why. */
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>

#include "host/kvm/aarch64/cpu_template.h"
#include "vmm/vm/cpu_template_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every bit a modifier of `t` for register `id` fixes. */
static uint64_t filters(const struct cpu_template *t, uint64_t id)
{
	uint64_t f = 0;
	for (unsigned i = 0; i < t->nregs; i++)
		if (t->regs[i].id == id)
			f |= t->regs[i].filter;
	return f;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cpu_template t;
	static const uint64_t host[ARM64_CPU_IDS] = {0x410fd0c0, 0x1100000011111111, 0,
						     0x10305106, 0x1221111110212120, 0x10211120};
	static const uint64_t some[ARM64_CPU_IDS] = {0, 0xff0f0000ffffffffull, 0,
						     0, 0xfffffffffffffff0ull, ~0ull};
	static const uint64_t none[ARM64_CPU_IDS];
	char err[512] = "";
	if (cpu_template_parse((const char *)data, size, &t, err, sizeof(err))) {
		if (!err[0])
			abort();
		return 0;
	}
	if (t.nregs > CPU_TEMPLATE_MAX_REGS || t.ncaps > CPU_TEMPLATE_MAX_CAPS || !t.custom)
		abort();
	for (unsigned i = 0; i < t.nregs; i++) {
		const struct cpu_template_reg *r = &t.regs[i];
		if ((r->value & ~r->filter) || (r->id & KVM_REG_ARCH_MASK) != KVM_REG_ARM64 ||
		    (r->id & KVM_REG_SIZE_MASK) != KVM_REG_SIZE_U64)
			abort();
		uint64_t v = 0x5a5a5a5a5a5a5a5aull;
		if ((cpu_template_reg(&t, r->id, v) ^ v) & ~filters(&t, r->id))
			abort();
	}
	err[0] = 0;
	if (cpu_template_check(&t, host, some, err, sizeof(err)) && !err[0])
		abort();
	err[0] = 0;
	if (cpu_template_check(&t, host, none, err, sizeof(err)) && !err[0])
		abort();
	return 0;
}
