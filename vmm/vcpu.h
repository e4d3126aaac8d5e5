/* One vCPU: its KVM file descriptor, its kvm_run page and the thread that runs it. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

#include "vmm/kvm/halt_watch.h"

struct vm;
struct cpuid_table;

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
};

/* Creates vCPU `index`, maps its kvm_run page and sets its CPUID (a per-vCPU copy of `supported`
 * patched with its APIC ID), FPU, MSRs and LAPIC LINT0/LINT1. Returns 0 or -errno (logged). */
int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned index,
		const struct cpuid_table *supported);

/* Starts the thread that loops on KVM_RUN and dispatches exits until the VM stops. */
int vcpu_start(struct vcpu *vcpu);

/* Makes a running KVM_RUN return (immediate_exit plus a signal to the thread). Any thread. */
void vcpu_kick(struct vcpu *vcpu);

/* Asks the vCPU thread to sample whether it is halted with interrupts off (see halt_watch.h)
 * and returns the answer to the previous request. Main thread only. */
enum halt_sample vcpu_halt_probe(struct vcpu *vcpu);

/* Joins the thread (if started), unmaps and closes. */
void vcpu_destroy(struct vcpu *vcpu);

/* Prints the vCPU's registers at error level (general, segment and control registers). */
void vcpu_dump_registers(struct vcpu *vcpu);

/* Installs the no-op handler for the kick signal. Call once before starting vCPU threads. */
int vcpu_install_kick_handler(void);

#endif
