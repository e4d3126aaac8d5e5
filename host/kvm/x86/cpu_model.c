/* The CPU model: its encoding, and the comparison of a guest's model with a host's. */
#include "host/kvm/x86/cpu_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/parse.h"
#include "host/kvm/x86/cpu_model_internal.h"

/* The entry flags KVM defines; any other bit in a decoded entry is refused. */
#define KNOWN_ENTRY_FLAGS                                                                          \
	(KVM_CPUID_FLAG_SIGNIFCANT_INDEX | KVM_CPUID_FLAG_STATEFUL_FUNC |                          \
	 KVM_CPUID_FLAG_STATE_READ_NEXT)

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

size_t cpu_model_encoded_size(const struct cpu_model *m)
{
	return CPU_MODEL_HDR + (size_t)m->cpuid.header.nent * CPU_MODEL_ENTRY +
	       4 * (size_t)(m->msrs_known ? m->nmsrs : 0);
}

size_t cpu_model_encode(const struct cpu_model *m, uint8_t *buf, size_t cap)
{
	size_t need = cpu_model_encoded_size(m);
	uint32_t nmsrs = m->msrs_known ? m->nmsrs : 0;
	if (need > cap || m->cpuid.header.nent > CPUID_MAX_ENTRIES || nmsrs > CPU_MODEL_MAX_MSRS)
		return 0;
	memset(buf, 0, need);
	put32(buf, CPU_MODEL_VERSION);
	put32(buf + 4, m->cpuid.header.nent);
	put32(buf + 8, nmsrs);
	uint8_t *p = buf + CPU_MODEL_HDR;
	for (uint32_t i = 0; i < m->cpuid.header.nent; i++, p += CPU_MODEL_ENTRY) {
		const struct kvm_cpuid_entry2 *e = &m->cpuid.header.entries[i];
		const uint32_t f[7] = {e->function, e->index, e->flags, e->eax,
				       e->ebx,	    e->ecx,   e->edx};
		for (int k = 0; k < 7; k++)
			put32(p + 4 * k, f[k]);
	}
	for (uint32_t i = 0; i < nmsrs; i++, p += 4)
		put32(p, m->msrs[i]);
	return need;
}

int cpu_model_decode(const uint8_t *p, size_t len, struct cpu_model *m, char *err, size_t errlen)
{
	memset(m, 0, sizeof(*m));
	if (len < CPU_MODEL_HDR)
		return parse_fail(err, errlen, "CPU model of %zu bytes, at least %u", len,
				  CPU_MODEL_HDR);
	uint32_t version = get32(p), nent = get32(p + 4), nmsrs = get32(p + 8);
	if (version != CPU_MODEL_VERSION)
		return parse_fail(err, errlen, "CPU model version %u, this vmm reads %u", version,
				  CPU_MODEL_VERSION);
	if (get32(p + 12))
		return parse_fail(err, errlen, "CPU model: unknown flags 0x%x", get32(p + 12));
	if (nent > CPUID_MAX_ENTRIES || nmsrs > CPU_MODEL_MAX_MSRS)
		return parse_fail(err, errlen, "CPU model: %u CPUID entries and %u MSRs, too many",
				  nent, nmsrs);
	size_t want = CPU_MODEL_HDR + (size_t)nent * CPU_MODEL_ENTRY + 4 * (size_t)nmsrs;
	if (len != want)
		return parse_fail(err, errlen, "CPU model of %zu bytes, its counts say %zu", len,
				  want);
	const uint8_t *q = p + CPU_MODEL_HDR;
	for (uint32_t i = 0; i < nent; i++, q += CPU_MODEL_ENTRY) {
		struct kvm_cpuid_entry2 *e = &m->cpuid.header.entries[i];
		*e = (struct kvm_cpuid_entry2){.function = get32(q),
					       .index = get32(q + 4),
					       .flags = get32(q + 8),
					       .eax = get32(q + 12),
					       .ebx = get32(q + 16),
					       .ecx = get32(q + 20),
					       .edx = get32(q + 24)};
		if ((e->flags & ~KNOWN_ENTRY_FLAGS) || get32(q + 28))
			return parse_fail(err, errlen,
					  "CPU model: entry %u (leaf 0x%x) has unknown flags", i,
					  e->function);
	}
	m->cpuid.header.nent = nent;
	for (uint32_t i = 0; i < nmsrs; i++, q += 4)
		m->msrs[i] = get32(q);
	m->nmsrs = nmsrs;
	m->msrs_known = nmsrs > 0;
	return 0;
}

void cpu_model_from(struct cpu_model *m, const struct kvm_cpuid2 *cpuid, const uint32_t *msrs,
		    uint32_t nmsrs, bool msrs_known)
{
	memset(m, 0, sizeof(*m));
	uint32_t nent = cpuid->nent < CPUID_MAX_ENTRIES ? cpuid->nent : CPUID_MAX_ENTRIES;
	memcpy(m->cpuid.header.entries, cpuid->entries, nent * sizeof(cpuid->entries[0]));
	m->cpuid.header.nent = nent;
	m->nmsrs = nmsrs < CPU_MODEL_MAX_MSRS ? nmsrs : CPU_MODEL_MAX_MSRS;
	if (m->nmsrs)
		memcpy(m->msrs, msrs, m->nmsrs * sizeof(*msrs));
	m->msrs_known = msrs_known;
}

/* ---- the comparison ---- */

/* The entry for (function, index) of `t`; an entry without a significant index answers every
 * subleaf. NULL when the table has no such leaf (its features are all absent). */
static const struct kvm_cpuid_entry2 *find(const struct kvm_cpuid2 *t, uint32_t function,
					   uint32_t index)
{
	for (uint32_t i = 0; i < t->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t->entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function == function && (!indexed || e->index == index))
			return e;
	}
	return NULL;
}

static uint32_t reg_of(const struct kvm_cpuid_entry2 *e, uint8_t reg)
{
	if (!e)
		return 0;
	const uint32_t r[4] = {e->eax, e->ebx, e->ecx, e->edx};
	return r[reg & 3];
}

static void vendor_of(const struct kvm_cpuid2 *t, char out[13])
{
	const struct kvm_cpuid_entry2 *e = find(t, 0, 0);
	const uint32_t r[3] = {reg_of(e, 1), reg_of(e, 3), reg_of(e, 2)}; /* EBX EDX ECX */
	memset(out, 0, 13);
	for (int i = 0; i < 12; i++) {
		char c = (char)(r[i / 4] >> (8 * (i % 4)));
		out[i] = c >= 0x20 && c < 0x7f ? c : '?';
	}
}

static void note_missing(struct cpu_verdict *v, const struct cpu_feature_word *w, uint8_t bit)
{
	if (v->nmissing < CPU_MODEL_MAX_REPORT)
		v->missing[v->nmissing] =
		    (struct cpu_missing){w->function, w->index, w->reg, bit,
					 cpu_feature_name(w->function, w->index, w->reg, bit)};
	v->nmissing++;
}

static bool msr_listed(const struct cpu_model *m, uint32_t msr)
{
	for (uint32_t i = 0; i < m->nmsrs; i++)
		if (m->msrs[i] == msr)
			return true;
	return false;
}

static void compare_msrs(const struct cpu_model *guest, const struct cpu_model *host,
			 struct cpu_verdict *v)
{
	if (!guest->msrs_known || !host->msrs_known)
		return;
	for (uint32_t i = 0; i < guest->nmsrs; i++) {
		if (msr_listed(host, guest->msrs[i]))
			continue;
		if (v->nmsrs_missing < sizeof(v->first_msr_missing) / sizeof(uint32_t))
			v->first_msr_missing[v->nmsrs_missing] = guest->msrs[i];
		v->nmsrs_missing++;
	}
}

bool cpu_model_compare(const struct cpu_model *guest, const struct cpu_model *host,
		       struct cpu_verdict *v)
{
	memset(v, 0, sizeof(*v));
	vendor_of(&guest->cpuid.header, v->guest_vendor);
	vendor_of(&host->cpuid.header, v->host_vendor);
	v->vendor_differs = strcmp(v->guest_vendor, v->host_vendor) != 0;
	for (size_t i = 0; i < cpu_feature_nwords; i++) {
		const struct cpu_feature_word *w = &cpu_feature_words[i];
		uint32_t saw = reg_of(find(&guest->cpuid.header, w->function, w->index), w->reg);
		uint32_t can = reg_of(find(&host->cpuid.header, w->function, w->index), w->reg);
		uint32_t lacking = saw & ~can & ~w->ignore;
		for (uint8_t bit = 0; bit < 32; bit++)
			if (lacking & (1u << bit))
				note_missing(v, w, bit);
	}
	compare_msrs(guest, host, v);
	return !v->vendor_differs && !v->nmissing && !v->nmsrs_missing;
}

/* ---- the verdict in words ---- */

static const char *const reg_names[4] = {"eax", "ebx", "ecx", "edx"};

/* Appends to buf[*at..len), never past its end (a cut message stays NUL-terminated). */
__attribute__((format(printf, 4, 5))) static void add(char *buf, size_t len, size_t *at,
						      const char *fmt, ...)
{
	if (*at >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *at, len - *at, fmt, ap);
	va_end(ap);
	*at = n < 0 ? len : *at + (size_t)n;
}

static void add_features(const struct cpu_verdict *v, char *buf, size_t len, size_t *at)
{
	unsigned shown = v->nmissing < CPU_MODEL_MAX_REPORT ? v->nmissing : CPU_MODEL_MAX_REPORT;
	add(buf, len, at, "the guest saw CPU features this host cannot give: ");
	for (unsigned i = 0; i < shown; i++) {
		const struct cpu_missing *m = &v->missing[i];
		const char *sep = i ? ", " : "";
		if (m->name)
			add(buf, len, at, "%s%s", sep, m->name);
		else
			add(buf, len, at, "%sCPUID 0x%x.%u %s bit %u", sep, m->function, m->index,
			    reg_names[m->reg & 3], m->bit);
	}
	add(buf, len, at, " (%u feature%s)", v->nmissing, v->nmissing == 1 ? "" : "s");
}

char *cpu_verdict_text(const struct cpu_verdict *v, char *buf, size_t len)
{
	size_t at = 0;
	if (!len)
		return buf;
	buf[0] = 0;
	if (v->vendor_differs)
		add(buf, len, &at, "the guest saw a %s CPU, this host is %s", v->guest_vendor,
		    v->host_vendor);
	if (v->nmissing) {
		add(buf, len, &at, "%s", at ? "; " : "");
		add_features(v, buf, len, &at);
	}
	if (v->nmsrs_missing) {
		unsigned n = sizeof(v->first_msr_missing) / sizeof(uint32_t);
		add(buf, len, &at,
		    "%sthe guest's state has MSRs this host's KVM does not list:", at ? "; " : "");
		for (unsigned i = 0; i < v->nmsrs_missing && i < n; i++)
			add(buf, len, &at, " 0x%x", v->first_msr_missing[i]);
		if (v->nmsrs_missing > n)
			add(buf, len, &at, " and %u more", v->nmsrs_missing - n);
	}
	return buf;
}

/* ---- the test-only lesser host ---- */

static void clear_bit(struct cpuid_table *t, uint32_t function, uint32_t index, uint8_t reg,
		      uint8_t bit)
{
	for (uint32_t i = 0; i < t->header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &t->header.entries[i];
		bool indexed = e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		if (e->function != function || (indexed && e->index != index))
			continue;
		uint32_t *r[4] = {&e->eax, &e->ebx, &e->ecx, &e->edx};
		*r[reg & 3] &= ~(1u << bit);
	}
}

int cpu_model_hide(struct cpuid_table *t, const char *names, char *err, size_t errlen)
{
	const char *p = names;
	while (p && *p) {
		size_t n = strcspn(p, ",");
		char name[40];
		uint32_t function, index;
		uint8_t reg, bit;
		snprintf(name, sizeof(name), "%.*s",
			 (int)(n < sizeof(name) - 1 ? n : sizeof(name) - 1), p);
		if (n && !cpu_feature_lookup(name, &function, &index, &reg, &bit)) {
			if (err && errlen)
				snprintf(err, errlen, "unknown CPU feature \"%s\"", name);
			return -EINVAL;
		}
		if (n)
			clear_bit(t, function, index, reg, bit);
		p += n + (p[n] == ',');
	}
	return 0;
}
