/* The CPU model in a snapshot (vmm/snapshot/cpu_check.h) without KVM: SNAP_CPU_MODEL built from
 * the CPUID the VMM set on vCPU 0 (else the vCPU's SNAP_VCPU_CPUID section) and the MSR indexes
 * of its SNAP_VCPU_MSRS; the HELLO encoding of a VM; a restored VM taking the snapshot's model;
 * a state without a model passing with a warning; a bad model refused whatever --cpu-check
 * says. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/snapshot_io.h"
#include "base/x86/snapshot_tags.h"
#include "host/kvm/x86/cpu_model.h"
#include "vmm/snapshot/cpu_check.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/vm/vm.h"

static struct vm vm;
static char err[512];

/* A one-leaf table: leaf 7.0 with EBX `ebx`. */
static struct cpuid_table *table(uint32_t ebx)
{
	struct cpuid_table *t = calloc(1, sizeof(*t));
	t->header.nent = 1;
	t->header.entries[0] = (struct kvm_cpuid_entry2){
	    .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = ebx};
	return t;
}

/* The SNAP_CPU_MODEL of `w`, decoded. */
static struct cpu_model *model_of(struct snap_writer *w)
{
	size_t len = 0;
	const void *p = snap_writer_get(w, SNAP_CPU_MODEL, 0, &len);
	cr_assert_not_null(p, "no SNAP_CPU_MODEL");
	struct cpu_model *m = malloc(sizeof(*m));
	cr_assert_eq(cpu_model_decode(p, len, m, err, sizeof(err)), 0, "%s", err);
	return m;
}

static void put_vcpu_sections(struct snap_writer *w, uint32_t ebx)
{
	struct cpuid_table *t = table(ebx);
	cr_assert_eq(
	    snap_put(w, SNAP_VCPU_CPUID, 0, t, sizeof(t->header) + sizeof(t->header.entries[0])),
	    0);
	free(t);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[2];
	} msrs = {.h = {.nmsrs = 2}, .e = {{.index = 0x10, .data = 5}, {.index = 0xc0000080}}};
	cr_assert_eq(snap_put(w, SNAP_VCPU_MSRS, 0, &msrs, sizeof(msrs)), 0);
}

Test(cpu_check, the_model_is_the_cpuid_the_vmm_set_and_the_saved_msrs)
{
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	put_vcpu_sections(&w, 0xffffffff); /* KVM_GET_CPUID2 may say more (kvm_pvm) */
	vm.guest_cpuid = table(1u << 16);
	cr_assert_eq(cpu_check_put_model(&vm, &w, err, sizeof(err)), 0, "%s", err);
	struct cpu_model *m = model_of(&w);
	cr_assert_eq(m->cpuid.header.nent, 1);
	cr_assert_eq(m->cpuid.header.entries[0].ebx, 1u << 16);
	cr_assert(m->msrs_known);
	cr_assert_eq(m->nmsrs, 2);
	cr_assert_eq(m->msrs[1], 0xc0000080);
	free(m);
	free(vm.guest_cpuid);
	vm.guest_cpuid = NULL;
	snap_writer_free(&w);
}

Test(cpu_check, without_a_recorded_cpuid_the_vcpu_section_serves)
{
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	put_vcpu_sections(&w, 0x30);
	cr_assert_eq(cpu_check_put_model(&vm, &w, err, sizeof(err)), 0, "%s", err);
	struct cpu_model *m = model_of(&w);
	cr_assert_eq(m->cpuid.header.entries[0].ebx, 0x30);
	free(m);
	snap_writer_free(&w);
	/* neither: no model, no error */
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(cpu_check_put_model(&vm, &w, err, sizeof(err)), 0);
	size_t len;
	cr_assert_null(snap_writer_get(&w, SNAP_CPU_MODEL, 0, &len));
	snap_writer_free(&w);
}

Test(cpu_check, hello_carries_the_recorded_cpuid)
{
	size_t len = 99;
	cr_assert_null(cpu_check_encode_vm(&vm, &len), "no CPUID recorded");
	cr_assert_eq(len, 0);
	vm.guest_cpuid = table(1u << 5);
	uint8_t *p = cpu_check_encode_vm(&vm, &len);
	cr_assert_not_null(p);
	struct cpu_model *m = malloc(sizeof(*m));
	cr_assert_eq(cpu_model_decode(p, len, m, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(m->cpuid.header.entries[0].ebx, 1u << 5);
	cr_assert_not(m->msrs_known);
	free(m);
	free(p);
	free(vm.guest_cpuid);
	vm.guest_cpuid = NULL;
}

Test(cpu_check, a_restored_vm_takes_the_snapshots_model)
{
	struct snap_writer w, again;
	const uint8_t *bytes;
	size_t len;
	struct snap_reader r;
	cr_assert_eq(snap_writer_init(&w), 0);
	put_vcpu_sections(&w, 0xffff);
	vm.guest_cpuid = table(1u << 3);
	cr_assert_eq(cpu_check_put_model(&vm, &w, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_writer_finish(&w, &bytes, &len), 0);
	cr_assert_eq(snap_parse(&r, bytes, len, err, sizeof(err)), 0, "%s", err);
	/* this host set another table; the restore puts the snapshot's model back */
	vm.guest_cpuid->header.entries[0].ebx = 0xffffffff;
	cpu_check_note_restored(&vm, &r);
	cr_assert_eq(vm.guest_cpuid->header.entries[0].ebx, 1u << 3);
	cr_assert_eq(snap_writer_init(&again), 0);
	cr_assert_eq(cpu_check_put_model(&vm, &again, err, sizeof(err)), 0);
	struct cpu_model *m = model_of(&again);
	cr_assert_eq(m->cpuid.header.entries[0].ebx, 1u << 3);
	free(m);
	snap_writer_free(&again);
	snap_close(&r);
	snap_writer_free(&w);
	free(vm.guest_cpuid);
	vm.guest_cpuid = NULL;
}

Test(cpu_check, no_model_passes_a_bad_one_is_refused_even_when_off)
{
	cr_assert_eq(cpu_check_model(NULL, 0, "old", "/nonexistent/kvm", true, err, sizeof(err)),
		     0);
	const uint8_t bad[16] = {9};
	err[0] = 0;
	cr_assert_eq(
	    cpu_check_model(bad, sizeof(bad), "state", "/nonexistent/kvm", false, err, sizeof(err)),
	    -EINVAL);
	cr_assert_str_eq(err, "state: CPU model version 9, this vmm reads 1");
	/* a good model on a host whose KVM cannot be opened: left to building the VM, which fails
	 * on the same device with the KVM probe's message (test_host_path_restore.py) */
	const uint8_t empty[16] = {1};
	cr_assert_eq(cpu_check_model(empty, sizeof(empty), "state", "/nonexistent/kvm", true, err,
				     sizeof(err)),
		     0, "%s", err);
}
