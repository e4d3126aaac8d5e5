/* Pause/resume, the guest clock across a pause, Ctrl-Alt-Del and the graceful stop deadline. */
#include "vmm/vm/vm_pause.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "host/kvm/kvm_state.h"
#include "virtio/core/device.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_pci_irq.h"
#include "vmm/vm/vm_virtio.h"

void vm_pause_init(struct vm *vm)
{
	pthread_condattr_t attr;

	pthread_mutex_init(&vm->pause_ctl, NULL);
	pthread_mutex_init(&vm->pause_lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&vm->pause_cond, &attr);
	pthread_condattr_destroy(&attr);
}

void vm_pause_destroy(struct vm *vm)
{
	pthread_cond_destroy(&vm->pause_cond);
	pthread_mutex_destroy(&vm->pause_lock);
	pthread_mutex_destroy(&vm->pause_ctl);
}

bool vm_is_paused(struct vm *vm)
{
	return __atomic_load_n(&vm->paused, __ATOMIC_ACQUIRE);
}

uint64_t vm_pause_count(struct vm *vm)
{
	return __atomic_load_n(&vm->pause_count, __ATOMIC_RELAXED);
}

void vm_pause_set_running(struct vm *vm, bool running)
{
	pthread_mutex_lock(&vm->pause_ctl);
	vm->running = running;
	if (!running)
		__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_ctl);
}

void vm_pause_wake_for_stop(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

/* The vCPU thread, parked, pause_lock held: saves its own state into vcpu->capture, without the
 * lock (the pauser and the other vCPUs go on meanwhile). */
static void capture_locked(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	char err[256] = "";

	vcpu->capture_state = VCPU_CAPTURE_RUNNING;
	pthread_mutex_unlock(&vm->pause_lock);
	struct snap_writer *w = calloc(1, sizeof(*w));
	int r = w ? snap_writer_init(w) : -ENOMEM;
	if (!r)
		r = kvm_vcpu_save(vm->kvm.dev_fd, vcpu->fd, vcpu->index, snap_put, w, err,
				  sizeof(err));
	if (r) {
		log_debug("vCPU %u: state not saved at the pause (%s): saved later", vcpu->index,
			  err[0] ? err : strerror(-r));
		if (w)
			snap_writer_free(w);
		free(w);
		w = NULL;
	}
	pthread_mutex_lock(&vm->pause_lock);
	vcpu->capture = w;
	vcpu->capture_state = r ? VCPU_CAPTURE_FAILED : VCPU_CAPTURE_DONE;
	pthread_cond_broadcast(&vm->pause_cond);
}

void vm_pause_drop_capture(struct vcpu *vcpu)
{
	if (vcpu->capture)
		snap_writer_free(vcpu->capture);
	free(vcpu->capture);
	vcpu->capture = NULL;
	vcpu->capture_state = VCPU_CAPTURE_NONE;
}

void vm_pause_point(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;

	if (!__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST) &&
	    !__atomic_load_n(&vcpu->standby, __ATOMIC_SEQ_CST))
		return;
	pthread_mutex_lock(&vm->pause_lock);
	vcpu->parked = true;
	pthread_cond_broadcast(&vm->pause_cond);
	/* an absent vCPU (vmm/vm/cpu_hotplug.h) stays parked, through pauses and resumes */
	while ((__atomic_load_n(&vm->pause_req, __ATOMIC_SEQ_CST) || vcpu->standby) &&
	       !vm_stopping(vm)) {
		if (vcpu->capture_state == VCPU_CAPTURE_REQUESTED)
			capture_locked(vcpu);
		else
			pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	}
	vcpu->parked = false;
	vm_pause_drop_capture(vcpu);		 /* not taken: the guest runs on, it is stale */
	pthread_cond_broadcast(&vm->pause_cond); /* a taker waiting for a requested capture */
	pthread_mutex_unlock(&vm->pause_lock);
}

int vm_pause_take_vcpu_state(struct vm *vm, unsigned index, struct snap_writer *w)
{
	struct vcpu *vcpu = &vm->vcpus[index];
	int r = 1;

	pthread_mutex_lock(&vm->pause_lock);
	while (vcpu->capture_state == VCPU_CAPTURE_REQUESTED ||
	       vcpu->capture_state == VCPU_CAPTURE_RUNNING)
		pthread_cond_wait(&vm->pause_cond, &vm->pause_lock);
	if (vcpu->capture_state == VCPU_CAPTURE_DONE)
		r = snap_writer_append(w, vcpu->capture);
	vm_pause_drop_capture(vcpu);
	pthread_mutex_unlock(&vm->pause_lock);
	return r;
}

void vm_pause_hold_start(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, true, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->pause_lock);
}

void vm_pause_clock_set(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_ctl);
	vm->clock_saved = false;
	pthread_mutex_unlock(&vm->pause_ctl);
}

/* Asks the vCPUs to park (request = true) or lets them go. */
static void request_park(struct vm *vm, bool request)
{
	pthread_mutex_lock(&vm->pause_lock);
	__atomic_store_n(&vm->pause_req, request, __ATOMIC_SEQ_CST);
	if (!request)
		pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
	if (request) {
		for (unsigned i = 0; i < vm->ncpus; i++)
			vcpu_kick(&vm->vcpus[i]);
	}
}

/* Asks every parked vCPU to save its own state (vm_pause_capturing()). */
static void request_capture(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_lock);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		struct vcpu *vcpu = &vm->vcpus[i];
		if (vcpu->parked && vcpu->capture_state == VCPU_CAPTURE_NONE)
			vcpu->capture_state = VCPU_CAPTURE_REQUESTED;
	}
	pthread_cond_broadcast(&vm->pause_cond);
	pthread_mutex_unlock(&vm->pause_lock);
}

static bool all_parked(struct vm *vm)
{
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].thread_started && !vm->vcpus[i].parked)
			return false;
	}
	return true;
}

/* Waits (bounded) until every started vCPU is parked. Returns 0, -ETIMEDOUT or -ESHUTDOWN. */
static int wait_parked(struct vm *vm, unsigned timeout_ms)
{
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000000ull),
			      .tv_nsec = (long)(deadline % 1000000000ull)};
	int err = 0;

	pthread_mutex_lock(&vm->pause_lock);
	while (!err && !all_parked(vm) && !vm_stopping(vm)) {
		int rc = pthread_cond_timedwait(&vm->pause_cond, &vm->pause_lock, &ts);
		if (rc == ETIMEDOUT && !all_parked(vm))
			err = -ETIMEDOUT;
	}
	if (!err && vm_stopping(vm))
		err = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->pause_lock);
	return err;
}

static int pause_dev(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	virtio_dev_pause(dev);
	return 0;
}

static int resume_dev(struct virtio_dev *dev, void *opaque)
{
	(void)opaque;
	virtio_dev_resume(dev);
	return 0;
}

/* Every device's irqfds flushed (virtio_kvm_irq_flush() says why), devices parked. */
static void flush_irqfds(struct vm *vm)
{
	for (int i = 0; vm->virtio && i < vm->virtio->count; i++)
		virtio_kvm_irq_flush(&vm->virtio->slots[i].irq);
	for (int i = 0; vm->pci && i < vm->pci->ndevs; i++)
		if (!vm->pci->devs[i]->gone)
			vm_pci_irq_flush(vm->pci->devs[i]);
}

static void save_clock(struct vm *vm)
{
	int err = vm_arch_clock_get(vm, &vm->clock);
	vm->clock_saved = !err;
	if (err)
		log_warn(
		    "pause: cannot read the guest's clock: %s; the guest will see the pause as "
		    "elapsed time",
		    strerror(-err));
}

/* Exactly the saved value: the pause does not count. */
static void restore_clock(struct vm *vm)
{
	if (!vm->clock_saved)
		return;
	int err = vm_arch_clock_set(vm, vm->clock);
	if (err)
		log_warn("resume: cannot set the guest's clock: %s; the guest sees the pause as "
			 "elapsed time",
			 strerror(-err));
	vm->clock_saved = false;
}

static int pause_locked(struct vm *vm, bool capture)
{
	if (!vm->running || vm_stopping(vm))
		return -ESHUTDOWN;
	if (vm_is_paused(vm))
		return 0;
	uint64_t t0 = mono_ns();
	request_park(vm, true);
	int err = wait_parked(vm, VM_PAUSE_TIMEOUT_MS);
	if (err) {
		request_park(vm, false);
		if (err == -ETIMEDOUT)
			log_warn("pause: a vCPU did not stop within %u ms; the VM keeps running",
				 VM_PAUSE_TIMEOUT_MS);
		return err;
	}
	vm_for_each_virtio_dev(vm, pause_dev, NULL);
	/* The vCPUs' state only now: an interrupt a device raised before it parked is in the local
	 * APICs (or the IOAPIC) by then, and none comes after; read before, the IOAPIC could say
	 * "delivered" of a vector no saved local APIC holds, and a restored guest would wait on
	 * that pin forever (seen: a lost completion interrupt after a migration under load). */
	flush_irqfds(vm);
	if (capture)
		request_capture(vm);
	save_clock(vm);
	uint64_t us = (mono_ns() - t0) / 1000;
	__atomic_add_fetch(&vm->pause_count, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&vm->paused, true, __ATOMIC_RELEASE);
	log_info("VM paused (%llu us)", (unsigned long long)us);
	return 0;
}

int vm_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_ctl);
	int err = pause_locked(vm, false);
	pthread_mutex_unlock(&vm->pause_ctl);
	return err;
}

int vm_pause_capturing(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_ctl);
	int err = pause_locked(vm, true);
	pthread_mutex_unlock(&vm->pause_ctl);
	return err;
}

static void resume_locked(struct vm *vm)
{
	if (!vm_is_paused(vm))
		return;
	restore_clock(vm);
	vm_for_each_virtio_dev(vm, resume_dev, NULL);
	__atomic_store_n(&vm->paused, false, __ATOMIC_RELEASE);
	request_park(vm, false);
	log_info("VM resumed");
}

int vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->pause_ctl);
	resume_locked(vm);
	pthread_mutex_unlock(&vm->pause_ctl);
	return 0;
}

int vm_send_ctrl_alt_del(struct vm *vm)
{
	int err = vm_devices_ctrl_alt_del(vm);

	if (err)
		log_warn("Ctrl-Alt-Del not sent: %s", strerror(-err));
	else
		log_info("sent Ctrl-Alt-Del to the guest");
	return err;
}

int vm_send_power_button(struct vm *vm)
{
	int err = vm_devices_power_button(vm);

	if (err)
		log_warn("power button not pressed: %s",
			 err == -ENODEV ? "the VM has no ACPI (--acpi off)" : strerror(-err));
	else
		log_info("pressed the guest's ACPI power button");
	return err;
}

int vm_request_shutdown(struct vm *vm, unsigned timeout_ms)
{
	pthread_mutex_lock(&vm->pause_ctl);
	if (!vm->running || vm_stopping(vm)) {
		pthread_mutex_unlock(&vm->pause_ctl);
		return -ESHUTDOWN;
	}
	resume_locked(vm);
	uint64_t deadline = mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	uint64_t armed = __atomic_load_n(&vm->shutdown_deadline_ns, __ATOMIC_ACQUIRE);
	if (!armed || deadline < armed)
		__atomic_store_n(&vm->shutdown_deadline_ns, deadline, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&vm->pause_ctl);
	log_info("graceful stop requested: the guest has %u ms", timeout_ms);
	return vm_send_ctrl_alt_del(vm);
}

int vm_shutdown_deadline_ms(struct vm *vm, uint64_t now_ns)
{
	uint64_t deadline = __atomic_load_n(&vm->shutdown_deadline_ns, __ATOMIC_ACQUIRE);

	if (!deadline)
		return INT_MAX;
	if (now_ns >= deadline)
		return 0;
	uint64_t ms = (deadline - now_ns + 999999) / 1000000;
	return ms > INT_MAX ? INT_MAX : (int)ms;
}
