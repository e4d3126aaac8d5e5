/* The CPU model (host/kvm/x86/cpu_model.h) on recorded CPUID tables of real CPUs of both vendors
 * (the .cpuid files of fixtures/): a feature the guest saw and the host lacks is named, extra host
 * features are fine, another vendor is refused; the encoding round-trips and refuses bad bytes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host/kvm/x86/cpu_model.h"
#include "host/kvm/x86/cpuid.h"
#include "tests/unit/host/kvm/x86/cpuid_fixture.h"

/* A recorded CPU (tests/unit/host/kvm/x86/fixtures/NAME.cpuid) as a CPU model. */
static struct cpu_model *load(const char *name)
{
	struct cpu_model *m = calloc(1, sizeof(*m));
	cr_assert_not_null(m);
	cpuid_fixture(name, &m->cpuid);
	return m;
}

/* The verdict of guest `g` on host `h`, its text in buf. */
static bool judge(const char *g, const char *h, struct cpu_verdict *v, char *buf, size_t len)
{
	struct cpu_model *guest = load(g), *host = load(h);
	bool ok = cpu_model_compare(guest, host, v);
	cpu_verdict_text(v, buf, len);
	free(guest);
	free(host);
	return ok;
}

static bool names(const struct cpu_verdict *v, const char *name)
{
	for (unsigned i = 0; i < v->nmissing && i < CPU_MODEL_MAX_REPORT; i++)
		if (v->missing[i].name && !strcmp(v->missing[i].name, name))
			return true;
	return false;
}

static const char *const all[] = {"amd_epyc_kvm_pvm", "amd_epyc_rome",	  "amd_epyc_milan",
				  "amd_epyc_genoa",   "intel_haswell_ep", "intel_skylake_sp",
				  "intel_icelake_sp"};

Test(cpu_model, every_cpu_runs_on_itself)
{
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		struct cpu_verdict v;
		char text[512];
		cr_assert(judge(all[i], all[i], &v, text, sizeof(text)), "%s: %s", all[i], text);
		cr_assert_str_empty(text);
	}
}

Test(cpu_model, older_generation_runs_on_newer)
{
	const char *pairs[][2] = {{"amd_epyc_rome", "amd_epyc_milan"},
				  {"amd_epyc_milan", "amd_epyc_genoa"},
				  {"amd_epyc_rome", "amd_epyc_genoa"},
				  {"intel_haswell_ep", "intel_skylake_sp"},
				  {"intel_haswell_ep", "intel_icelake_sp"}};
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		struct cpu_verdict v;
		char text[512];
		cr_assert(judge(pairs[i][0], pairs[i][1], &v, text, sizeof(text)), "%s on %s: %s",
			  pairs[i][0], pairs[i][1], text);
	}
}

Test(cpu_model, avx512_guest_on_zen3_is_refused_by_name)
{
	struct cpu_verdict v;
	char text[1024];
	cr_assert_not(judge("amd_epyc_genoa", "amd_epyc_milan", &v, text, sizeof(text)));
	cr_assert_not(v.vendor_differs);
	cr_assert(names(&v, "avx512f"));
	cr_assert(names(&v, "avx512bw"));
	cr_assert(names(&v, "avx512_bf16")); /* leaf 7 subleaf 1 */
	cr_assert(names(&v, "xsave:zmm_hi256"));
	cr_assert(names(&v, "xsave:opmask"));
	cr_assert_not(names(&v, "avx2"));
	cr_assert_not_null(strstr(text, "this host cannot give: "), "%s", text);
	cr_assert_not_null(strstr(text, "avx512f"), "%s", text);
}

Test(cpu_model, skylake_guest_on_haswell_lacks_avx512_and_pku)
{
	struct cpu_verdict v;
	char text[1024];
	cr_assert_not(judge("intel_skylake_sp", "intel_haswell_ep", &v, text, sizeof(text)));
	cr_assert(names(&v, "avx512f"));
	cr_assert(names(&v, "avx512vl"));
	cr_assert(names(&v, "pku"));
	cr_assert(names(&v, "xsave:pkru"));
	cr_assert(names(&v, "xsaves"));
	cr_assert(names(&v, "clwb"));
	cr_assert_not(names(&v, "avx2"));
}

Test(cpu_model, a_newer_generation_may_drop_a_feature)
{
	/* Ice Lake has no MPX, which Skylake-SP had: newer is not always more */
	struct cpu_verdict v;
	char text[1024];
	cr_assert_not(judge("intel_skylake_sp", "intel_icelake_sp", &v, text, sizeof(text)));
	cr_assert_str_eq(text, "the guest saw CPU features this host cannot give: mpx, "
			       "xsave:bndregs, xsave:bndcsr (3 features)");
}

Test(cpu_model, newer_amd_guest_on_older_lists_what_is_missing)
{
	struct cpu_verdict v;
	char text[1024];
	cr_assert_not(judge("amd_epyc_milan", "amd_epyc_rome", &v, text, sizeof(text)));
	cr_assert(names(&v, "pku"));
	cr_assert(names(&v, "vaes"));
	cr_assert(names(&v, "fsrm"));
	cr_assert(names(&v, "xsave:pkru"));
}

Test(cpu_model, another_vendor_is_refused)
{
	struct cpu_verdict v;
	char text[1024];
	/* Haswell's features are nearly all on Genoa; the vendor alone refuses it */
	cr_assert_not(judge("intel_haswell_ep", "amd_epyc_genoa", &v, text, sizeof(text)));
	cr_assert(v.vendor_differs);
	cr_assert_str_eq(v.guest_vendor, "GenuineIntel");
	cr_assert_str_eq(v.host_vendor, "AuthenticAMD");
	cr_assert_not_null(
	    strstr(text, "the guest saw a GenuineIntel CPU, this host is AuthenticAMD"), "%s",
	    text);
}

Test(cpu_model, a_real_hosts_guest_table_passes_on_that_host)
{
	/* what a vCPU gets (topology, hypervisor bit, HTT) and KVM's runtime bits are no feature */
	struct cpu_model *host = load("amd_epyc_kvm_pvm"), *guest = load("amd_epyc_kvm_pvm");
	cpuid_patch_for_vcpu(&guest->cpuid, 3, 4, 2);
	for (uint32_t i = 0; i < guest->cpuid.header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &guest->cpuid.header.entries[i];
		if (e->function == 1)
			e->ecx |= 1u << 27; /* OSXSAVE: the guest set CR4.OSXSAVE */
		if (e->function == 0xd && e->index == 0)
			e->ebx = 0x2000; /* XSAVE size for the guest's XCR0 */
	}
	struct cpu_verdict v;
	char text[512];
	cr_assert(cpu_model_compare(guest, host, &v), "%s",
		  cpu_verdict_text(&v, text, sizeof(text)));
	free(host);
	free(guest);
}

Test(cpu_model, hidden_host_features_are_named)
{
	struct cpu_model *host = load("amd_epyc_kvm_pvm"), *guest = load("amd_epyc_kvm_pvm");
	char err[128] = "";
	cr_assert_eq(cpu_model_hide(&host->cpuid, "clwb,xsave:hi16_zmm,x2apic", err, sizeof(err)),
		     0, "%s", err);
	struct cpu_verdict v;
	char text[512];
	cr_assert_not(cpu_model_compare(guest, host, &v));
	cr_assert_eq(v.nmissing, 3);
	cr_assert_str_eq(cpu_verdict_text(&v, text, sizeof(text)),
			 "the guest saw CPU features this host cannot give: x2apic, clwb, "
			 "xsave:hi16_zmm (3 features)");
	cr_assert_eq(cpu_model_hide(&host->cpuid, "clwb,avx1024", err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, "unknown CPU feature \"avx1024\"");
	free(host);
	free(guest);
}

Test(cpu_model, unnamed_bits_and_missing_leaves)
{
	struct cpu_model *host = load("amd_epyc_milan"), *guest = load("amd_epyc_genoa");
	/* the host has no leaf 7 subleaf 1 at all: its bits count as clear */
	struct cpu_verdict v;
	cr_assert_not(cpu_model_compare(guest, host, &v));
	cr_assert(names(&v, "avx512_bf16"));
	free(guest);
	guest = load("amd_epyc_milan");
	for (uint32_t i = 0; i < guest->cpuid.header.nent; i++) {
		struct kvm_cpuid_entry2 *e = &guest->cpuid.header.entries[i];
		if (e->function == 7 && e->index == 0)
			e->ebx |= 1u << 1; /* unnamed here (TSC_ADJUST) */
	}
	char text[512];
	cr_assert_not(cpu_model_compare(guest, host, &v));
	cr_assert_str_eq(cpu_verdict_text(&v, text, sizeof(text)),
			 "the guest saw CPU features this host cannot give: CPUID 0x7.0 ebx bit 1 "
			 "(1 feature)");
	free(host);
	free(guest);
}

Test(cpu_model, msrs_the_host_does_not_list)
{
	struct cpu_model *host = load("intel_skylake_sp"), *guest = load("intel_skylake_sp");
	const uint32_t g[] = {0x10, 0x174, 0x4b564d01}, h[] = {0x10, 0x174};
	guest->nmsrs = 3;
	memcpy(guest->msrs, g, sizeof(g));
	guest->msrs_known = true;
	host->nmsrs = 2;
	memcpy(host->msrs, h, sizeof(h));
	struct cpu_verdict v;
	char text[512];
	/* an unknown host list checks nothing */
	cr_assert(cpu_model_compare(guest, host, &v));
	host->msrs_known = true;
	cr_assert_not(cpu_model_compare(guest, host, &v));
	cr_assert_eq(v.nmsrs_missing, 1);
	cr_assert_str_eq(cpu_verdict_text(&v, text, sizeof(text)),
			 "the guest's state has MSRs this host's KVM does not list: 0x4b564d01");
	free(host);
	free(guest);
}

Test(cpu_model, many_missing_are_counted_and_the_text_stays_bounded)
{
	struct cpu_verdict v;
	char small[64];
	cr_assert_not(judge("intel_icelake_sp", "amd_epyc_kvm_pvm", &v, small, sizeof(small)));
	cr_assert_gt(v.nmissing, CPU_MODEL_MAX_REPORT);
	cr_assert_eq(strlen(small), sizeof(small) - 1);
	char big[4096];
	cpu_verdict_text(&v, big, sizeof(big));
	char count[32];
	snprintf(count, sizeof(count), "(%u features)", v.nmissing);
	cr_assert_not_null(strstr(big, count), "%s", big);
}

Test(cpu_model, encoding_round_trips)
{
	struct cpu_model *m = load("amd_epyc_kvm_pvm"), *back = malloc(sizeof(*back));
	const uint32_t msrs[] = {0x10, 0xc0000080, 0x4b564d00};
	memcpy(m->msrs, msrs, sizeof(msrs));
	m->nmsrs = 3;
	m->msrs_known = true;
	size_t len = cpu_model_encoded_size(m);
	cr_assert_eq(len, CPU_MODEL_HDR + m->cpuid.header.nent * CPU_MODEL_ENTRY + 12);
	uint8_t *buf = malloc(len);
	cr_assert_eq(cpu_model_encode(m, buf, len), len);
	cr_assert_eq(cpu_model_encode(m, buf, len - 1), 0);
	char err[128];
	cr_assert_eq(cpu_model_decode(buf, len, back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back->cpuid.header.nent, m->cpuid.header.nent);
	cr_assert_eq(memcmp(back->cpuid.header.entries, m->cpuid.header.entries,
			    m->cpuid.header.nent * sizeof(struct kvm_cpuid_entry2)),
		     0);
	cr_assert(back->msrs_known);
	cr_assert_eq(back->nmsrs, 3);
	cr_assert_eq(back->msrs[1], 0xc0000080);
	free(buf);
	free(back);
	free(m);
}

/* Decodes `len` bytes of `buf`; expects -EINVAL and a message containing `want`. */
static void refused(const uint8_t *buf, size_t len, const char *want)
{
	struct cpu_model *m = malloc(sizeof(*m));
	char err[128] = "";
	cr_assert_eq(cpu_model_decode(buf, len, m, err, sizeof(err)), -EINVAL);
	cr_assert_not_null(strstr(err, want), "\"%s\" lacks \"%s\"", err, want);
	free(m);
}

Test(cpu_model, bad_encodings_are_refused)
{
	struct cpu_model *m = load("intel_haswell_ep");
	size_t len = cpu_model_encoded_size(m);
	uint8_t *buf = malloc(len + 4);
	cpu_model_encode(m, buf, len);
	refused(buf, 10, "at least 16");
	refused(buf, len - 1, "its counts say");
	memset(buf + len, 0, 4);
	refused(buf, len + 4, "its counts say");
	buf[0] = 2;
	refused(buf, len, "CPU model version 2, this vmm reads 1");
	buf[0] = 1;
	buf[12] = 1;
	refused(buf, len, "unknown flags");
	buf[12] = 0;
	buf[4 + 1] = 0x10; /* 4096 + entries */
	refused(buf, len, "too many");
	buf[4 + 1] = 0;
	buf[CPU_MODEL_HDR + 8] = 0x80; /* an entry flag KVM does not define */
	refused(buf, len, "unknown flags");
	buf[CPU_MODEL_HDR + 8] = 0;
	buf[CPU_MODEL_HDR + 28] = 1; /* its reserved word */
	refused(buf, len, "unknown flags");
	free(buf);
	free(m);
}

Test(cpu_model, feature_names_look_up_both_ways)
{
	uint32_t f, i;
	uint8_t reg, bit;
	cr_assert(cpu_feature_lookup("avx512f", &f, &i, &reg, &bit));
	cr_assert(f == 7 && i == 0 && reg == 1 && bit == 16);
	cr_assert_str_eq(cpu_feature_name(1, 0, 2, 20), "sse4_2");
	cr_assert_str_eq(cpu_feature_name(0xd, 0, 0, 6), "xsave:zmm_hi256");
	cr_assert_null(cpu_feature_name(7, 0, 1, 13));
	cr_assert_not(cpu_feature_lookup("sse5", &f, &i, &reg, &bit));
}
