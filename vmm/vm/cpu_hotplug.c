/* vCPU hotplug: the controller on the MMIO bus, a resize, each vCPU's standby (cpu_hotplug.h). */
#include "vmm/vm/cpu_hotplug.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/layout.h"
#include "base/log.h"
#include "devices/acpi_cpuhp.h"
#include "devices/acpi_ged.h"
#include "vmm/vm/vm.h"

#define POLL_NS 10000000L /* 10 ms between looks at the guest's answer */

struct vm_cpuhp {
	struct acpi_cpuhp regs;
};

int vm_cpuhp_setup(struct vm *vm)
{
	if (!vm->cfg->max_vcpus)
		return 0;
	if (!vm->machine.acpi_ged.size) {
		log_error("--cpus max=%u: vCPU hotplug needs ACPI (no --acpi off)",
			  vm->cfg->max_vcpus);
		return -EINVAL;
	}
	vm->cpuhp = calloc(1, sizeof(*vm->cpuhp));
	if (!vm->cpuhp)
		return -ENOMEM;
	int err = machine_set_cpu_hotplug(&vm->machine, ACPI_CPUHP_MMIO_BASE, (int)vm->cfg->ncpus);
	if (err)
		log_error("vCPU hotplug: %u of %u vCPUs cannot be described", vm->cfg->ncpus,
			  vm->ncpus);
	else
		err = acpi_cpuhp_attach(&vm->cpuhp->regs, &vm->mmio, ACPI_CPUHP_MMIO_BASE,
					vm->ncpus, vm->cfg->ncpus);
	if (err) { /* nothing is on the bus */
		free(vm->cpuhp);
		vm->cpuhp = NULL;
	}
	return err;
}

void vm_cpuhp_destroy(struct vm *vm)
{
	if (!vm->cpuhp)
		return;
	acpi_cpuhp_detach(&vm->cpuhp->regs, &vm->mmio);
	free(vm->cpuhp);
	vm->cpuhp = NULL;
}

bool vm_cpuhp_enabled(const struct vm *vm)
{
	return vm->cpuhp != NULL;
}

unsigned vm_cpuhp_present(const struct vm *vm)
{
	if (!vm->cpuhp)
		return vm->ncpus;
	return (unsigned)__builtin_popcountll(acpi_cpuhp_present(&vm->cpuhp->regs));
}

unsigned vm_cpuhp_max(const struct vm *vm)
{
	return vm->ncpus;
}

bool vm_cpuhp_standby(const struct vm *vm, unsigned index)
{
	return __atomic_load_n(&vm->vcpus[index].standby, __ATOMIC_ACQUIRE);
}

/* Wakes a standing-by vCPU (it runs KVM_RUN and waits there for the guest's INIT and SIPI), or
 * sends one back to standby (it parks at its next exit; the kick makes that now). */
static void set_standby(struct vm *vm, unsigned index, bool standby)
{
	struct vcpu *v = &vm->vcpus[index];
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&v->standby, standby, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (standby)
		vcpu_kick(v);
}

/* The `n` lowest absent vCPUs (want_present false) or the `n` highest present ones (true). */
static uint64_t pick(const struct vm *vm, unsigned n, bool want_present)
{
	uint64_t present = acpi_cpuhp_present(&vm->cpuhp->regs), set = 0;
	for (unsigned k = 1; k < vm->ncpus && n; k++) {
		unsigned i = want_present ? vm->ncpus - k : k; /* vCPU 0 is never picked */
		bool is_present = present & (1ull << i);
		if (is_present == want_present) {
			set |= 1ull << i;
			n--;
		}
	}
	return set;
}

/* Takes the vCPUs of `set` back before the guest was told: absent and standing by again. */
static void unplug_untold(struct vm *vm, uint64_t set)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (set & (1ull << i)) {
			acpi_cpuhp_clear(&vm->cpuhp->regs, i);
			set_standby(vm, i, true);
		}
	}
}

static int grow(struct vm *vm, uint64_t set, char *err, size_t errlen)
{
	uint64_t done = 0;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (!(set & (1ull << i)))
			continue;
		set_standby(vm, i, false);
		int r = acpi_cpuhp_plug(&vm->cpuhp->regs, i);
		if (r) { /* picked absent and not busy: a bug, not the user's; nothing half-done */
			set_standby(vm, i, true);
			unplug_untold(vm, done);
			snprintf(err, errlen, "vCPU %u cannot be plugged: %s", i, strerror(-r));
			return r;
		}
		done |= 1ull << i;
	}
	int r = vm_devices_acpi_event(vm, ACPI_GED_CPU_HOTPLUG);
	if (r) {
		unplug_untold(vm, done);
		snprintf(err, errlen, "the guest cannot be told: %s", strerror(-r));
	}
	return r;
}

static unsigned count_ejected(struct vm *vm, uint64_t set)
{
	unsigned n = 0;
	for (unsigned i = 0; i < vm->ncpus; i++)
		n += (set & (1ull << i)) && acpi_cpuhp_released(&vm->cpuhp->regs, i);
	return n;
}

/* Waits until the guest ejected every vCPU of `set` or the deadline passed. */
static void wait_ejected(struct vm *vm, uint64_t set, uint64_t deadline)
{
	const struct timespec ts = {0, POLL_NS};
	unsigned want = (unsigned)__builtin_popcountll(set);
	for (;;) {
		unsigned n = count_ejected(vm, set);
		if (n == want || mono_ns() >= deadline || vm_stopping(vm))
			return;
		nanosleep(&ts, NULL);
	}
}

static int shrink(struct vm *vm, uint64_t set, unsigned timeout_ms, char *err, size_t errlen)
{
	unsigned want = (unsigned)__builtin_popcountll(set), ejected = 0;
	for (unsigned i = 0; i < vm->ncpus; i++)
		if (set & (1ull << i))
			acpi_cpuhp_request_unplug(&vm->cpuhp->regs, i);
	int r = vm_devices_acpi_event(vm, ACPI_GED_CPU_HOTPLUG);
	if (!r)
		wait_ejected(vm, set, mono_ns() + (uint64_t)timeout_ms * 1000000ull);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (!(set & (1ull << i)))
			continue;
		/* an _EJ0 after the request is taken back is ignored; one that took it first
		 * is over once its released bit shows (a vCPU thread is inside that write) */
		if (acpi_cpuhp_cancel(&vm->cpuhp->regs, i))
			continue;
		const struct timespec tick = {0, 100000};
		while (!acpi_cpuhp_released(&vm->cpuhp->regs, i))
			nanosleep(&tick, NULL);
		set_standby(vm, i, true);
		acpi_cpuhp_clear(&vm->cpuhp->regs, i);
		ejected++;
	}
	if (r) {
		snprintf(err, errlen, "the guest cannot be told: %s", strerror(-r));
		return r;
	}
	if (ejected < want) {
		snprintf(err, errlen,
			 "the guest did not eject %u of the %u vCPUs asked within %u ms (does its "
			 "kernel have CONFIG_ACPI_HOTPLUG_CPU, and may it take them offline?): "
			 "%u vCPUs are present",
			 want - ejected, want, timeout_ms, vm_cpuhp_present(vm));
		return -ETIMEDOUT;
	}
	return 0;
}

int vm_cpuhp_resize(struct vm *vm, unsigned desired, unsigned timeout_ms, char *err, size_t errlen)
{
	if (!vm->cpuhp) {
		snprintf(err, errlen,
			 "this VM has no vCPU hotplug: start it with a maximum, --cpus "
			 "boot=N,max=M (machine-config max_vcpus)");
		return -ENODEV;
	}
	if (desired < 1 || desired > vm->ncpus) {
		snprintf(err, errlen, "desired_vcpus must be between 1 and %u (the VM's maximum)",
			 vm->ncpus);
		return -EINVAL;
	}
	unsigned now = vm_cpuhp_present(vm);
	if (desired > now)
		return grow(vm, pick(vm, desired - now, false), err, errlen);
	if (desired < now)
		return shrink(vm, pick(vm, now - desired, true),
			      timeout_ms ? timeout_ms : VM_CPUHP_REMOVE_TIMEOUT_MS, err, errlen);
	return 0;
}

int vm_cpuhp_check_snapshot(const struct vm *vm, char *err, size_t errlen)
{
	if (!vm->cpuhp)
		return 0;
	if (acpi_cpuhp_busy(&vm->cpuhp->regs)) {
		snprintf(err, errlen,
			 "the guest has not answered the last vCPU change (vm.resize) yet: a "
			 "restored guest would never see it; wait a second and try again");
		return -EBUSY;
	}
	unsigned n = vm_cpuhp_present(vm);
	uint64_t prefix = n >= 64 ? ~0ull : (1ull << n) - 1;
	if (acpi_cpuhp_present(&vm->cpuhp->regs) != prefix) {
		snprintf(err, errlen,
			 "the present vCPUs are not vCPUs 0 to %u (the guest ejected some of a "
			 "shrink only): resize the VM first",
			 n - 1);
		return -EBUSY;
	}
	return 0;
}
