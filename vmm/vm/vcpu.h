/* One vCPU: its KVM file descriptor, its kvm_run page and the thread that runs it. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "host/kvm/halt_watch.h"
#include "host/sandbox/sandbox.h"

struct vm;
struct cpuid_table;
struct snap_writer;

/* What a KVM_RUN exit was, for the exit counters (vcpu->exits). */
enum vcpu_exit_kind {
	VCPU_EXIT_IO,		/* KVM_EXIT_IO: a port access */
	VCPU_EXIT_MMIO,		/* KVM_EXIT_MMIO */
	VCPU_EXIT_HLT,		/* KVM_EXIT_HLT */
	VCPU_EXIT_INTR,		/* KVM_EXIT_INTR: a signal or a kick interrupted KVM_RUN */
	VCPU_EXIT_SHUTDOWN,	/* KVM_EXIT_SHUTDOWN: triple fault */
	VCPU_EXIT_SYSTEM_EVENT, /* KVM_EXIT_SYSTEM_EVENT: reset, shutdown, crash */
	VCPU_EXIT_ERROR,	/* KVM_EXIT_INTERNAL_ERROR, KVM_EXIT_FAIL_ENTRY */
	VCPU_EXIT_OTHER,	/* anything else */
	VCPU_EXIT_KINDS
};

struct vcpu {
	struct vm *vm;
	unsigned index; /* also its APIC ID */
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_started;
	bool parked; /* waits in vm_pause_point(); under vm->pause_lock */
	/* Halt watch: the main thread sets probe and kicks; the vCPU thread samples and clears it.
	 * Both fields are accessed with __atomic builtins. */
	int probe;
	int sample; /* enum halt_sample */
	/* What the last sample saw (metrics, vmmctl vcpus: where a stalled guest's vCPUs are):
	 * KVM_MP_STATE_* (-1 before the first) and the registers of struct vcpu_arch_seen
	 * (arch_vm.h). Written by the vCPU thread, read by any, each with __atomic builtins (a
	 * reader may mix two samples' fields). */
	int seen_mp_state, seen_irqs_on;
	uint64_t seen_pc, seen_pt_root;
	/* Its KVM state as its own thread saved it when it parked for vm_pause_capturing(): the
	 * sections of kvm_vcpu_save() in `capture` (vmm/snapshot/format/snap_format.h; allocated
	 * by the save, NULL when none) when capture_state is VCPU_CAPTURE_DONE. Both under
	 * vm->pause_lock. */
	int capture_state; /* enum vcpu_capture_state (vm_pause.h) */
	struct snap_writer *capture;
	/* Absent (vCPU hotplug, vmm/vm/cpu_hotplug.h): the thread stays parked in
	 * vm_pause_point() until a resize makes the vCPU present. Written under vm->pause_lock,
	 * read with __atomic loads. */
	bool standby;
	/* Its thread's CPU clock (pthread_getcpuclockid()), set by the thread before its first
	 * KVM_RUN and cleared when it leaves the loop; 0: none. Read by any thread with __atomic
	 * loads (vm_guest_cpu_ns(), guest_cpu.h). */
	clockid_t cpu_clock;
	/* (Fields added by others go above this line.) Exits by kind since vcpu_create(), indexed
	 * by enum vcpu_exit_kind. Written by the vCPU thread only (vcpu_count_exit), read by any
	 * thread (vcpu_exits_read). */
	_Atomic uint64_t exits[VCPU_EXIT_KINDS];
};

/* Creates vCPU `index`, maps its kvm_run page and sets its CPUID (a per-vCPU copy of `supported`
 * patched with its APIC ID), FPU, MSRs and LAPIC LINT0/LINT1. Returns 0 or -errno (logged). */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned index,
		const struct cpuid_table *supported);

/* The vCPU ioctl `req` on `arg`; a failure is logged naming `what`. Returns 0 or -errno. */
int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *what);

/* Starts the thread that loops on KVM_RUN and dispatches exits until the VM stops. */
int vcpu_start(struct vcpu *vcpu);

/* Makes a running KVM_RUN return (immediate_exit plus a signal to the thread). Any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* Asks the vCPU thread to sample whether it is halted with interrupts off (see halt_watch.h)
 * and returns the answer to the previous request. Main thread only. */
enum halt_sample vcpu_halt_probe(struct vcpu *vcpu);

/* Joins the thread (if started), unmaps and closes. */
void vcpu_destroy(struct vcpu *vcpu);

/* The kind of a kvm_run exit_reason. */
static inline enum vcpu_exit_kind vcpu_exit_kind_of(uint32_t exit_reason)
{
	switch (exit_reason) {
	case KVM_EXIT_IO:
		return VCPU_EXIT_IO;
	case KVM_EXIT_MMIO:
		return VCPU_EXIT_MMIO;
	case KVM_EXIT_HLT:
		return VCPU_EXIT_HLT;
	case KVM_EXIT_INTR:
		return VCPU_EXIT_INTR;
	case KVM_EXIT_SHUTDOWN:
		return VCPU_EXIT_SHUTDOWN;
	case KVM_EXIT_SYSTEM_EVENT:
		return VCPU_EXIT_SYSTEM_EVENT;
	case KVM_EXIT_INTERNAL_ERROR:
	case KVM_EXIT_FAIL_ENTRY:
		return VCPU_EXIT_ERROR;
	default:
		return VCPU_EXIT_OTHER;
	}
}

/* The name of an exit kind in the metrics document ("io", "mmio", ...); NULL when out of range. */
static inline const char *vcpu_exit_kind_name(enum vcpu_exit_kind kind)
{
	static const char *const names[VCPU_EXIT_KINDS] = {
	    [VCPU_EXIT_IO] = "io",
	    [VCPU_EXIT_MMIO] = "mmio",
	    [VCPU_EXIT_HLT] = "hlt",
	    [VCPU_EXIT_INTR] = "intr",
	    [VCPU_EXIT_SHUTDOWN] = "shutdown",
	    [VCPU_EXIT_SYSTEM_EVENT] = "system_event",
	    [VCPU_EXIT_ERROR] = "error",
	    [VCPU_EXIT_OTHER] = "other",
	};
	return (unsigned)kind < VCPU_EXIT_KINDS ? names[kind] : NULL;
}

/* Counts one exit. vCPU thread only: one writer, so a relaxed load and store (no locked
 * instruction) keep the count exact and readable from other threads. */
static inline void vcpu_count_exit(struct vcpu *vcpu, enum vcpu_exit_kind kind)
{
	_Atomic uint64_t *c = &vcpu->exits[kind];

	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
			      memory_order_relaxed);
}

/* Copies the exit counters into out[VCPU_EXIT_KINDS]. Any thread. */
static inline void vcpu_exits_read(const struct vcpu *vcpu, uint64_t out[VCPU_EXIT_KINDS])
{
	for (int k = 0; k < VCPU_EXIT_KINDS; k++)
		out[k] = atomic_load_explicit(&vcpu->exits[k], memory_order_relaxed);
}

/* What vCPU threads may call (host/sandbox/sandbox.h); the main thread allows it too before it
 * creates them. */
extern const struct sandbox_list vcpu_sandbox;
/* What they may call besides in a VM with a vhost-user device (device_table_shares_memory()). */
extern const struct sandbox_list vcpu_vhost_user_sandbox;

/* What they may call besides in a VM with a UEFI variable store (--firmware-vars). */
extern const struct sandbox_list vcpu_flash_sandbox;

#define VCPU_SANDBOX_LISTS 5
/* The lists a vCPU thread enters with (out[], at most VCPU_SANDBOX_LISTS; returns how many):
 * vcpu_sandbox, then vcpu_vhost_user_sandbox with `shares_memory` (a vhost-user device, or
 * --mem-shared where one may be hot-added), then vm_vfio_vcpu_sandbox with `vfio` (a
 * passed-through device, or one that may be hot-added), then vcpu_flash_sandbox with `flash` (a
 * UEFI variable store). One place, so that a filter compiled ahead (sandbox_prepare()) is the one
 * the thread asks for. */
size_t vcpu_sandbox_lists(bool shares_memory, bool vfio, bool flash,
			  const struct sandbox_list *out[VCPU_SANDBOX_LISTS]);

/* Installs the no-op handler for the kick signal. Call once before starting vCPU threads. */
int vcpu_install_kick_handler(void);
/* Blocks the kick signal in the calling thread, and so in the threads it creates afterwards: the
 * kick may interrupt KVM_RUN only (vcpu.c). vm_block_signals() and vm_create*() call it, before
 * any thread of the VMM exists. Returns 0 or -errno. */
int vcpu_block_kick(void);

#endif
