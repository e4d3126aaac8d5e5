/* Pausing and resuming a running VM, the guest clock across a pause, Ctrl-Alt-Del and a
 * graceful stop with a deadline. The control plane (the HTTP API thread) calls these; the state
 * lives in struct vm (vmm/vm/vm.h, "pause" fields) and struct vcpu (`parked`).
 *
 * Pause protocol: the pauser sets vm->pause_req and kicks every vCPU (vcpu_kick()); each vCPU
 * thread, once KVM_RUN has returned, calls vm_pause_point() and waits on vm->pause_cond holding
 * no lock but vm->pause_lock (no device lock), so nothing it could block on is held. Then each
 * virtio device parks at its safe point (virtio_dev_pause()) and the guest clock is saved
 * (KVM_GET_CLOCK). Resume undoes the three in the reverse order. vm_stop() wakes parked vCPUs,
 * so a stop while paused ends the VM as usual. */
#ifndef VMM_VM_PAUSE_H
#define VMM_VM_PAUSE_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/snapshot/format/snap_format.h"

struct vm;
struct vcpu;

/* struct vcpu's capture_state. */
enum vcpu_capture_state {
	VCPU_CAPTURE_NONE,
	VCPU_CAPTURE_REQUESTED, /* asked of the parked vCPU thread, not started yet */
	VCPU_CAPTURE_RUNNING,	/* the vCPU thread is saving */
	VCPU_CAPTURE_DONE,
	VCPU_CAPTURE_FAILED,
};

/* How long vm_pause() waits for every vCPU to park before it gives up. */
#define VM_PAUSE_TIMEOUT_MS 2000

/* Pauses the VM: every vCPU out of KVM_RUN and parked, then every virtio device parked at its
 * safe point (no guest-memory writes, no interrupts until vm_resume()), then the guest clock
 * saved with KVM_GET_CLOCK. Returns 0 (also when already paused); -ESHUTDOWN when the VM is
 * stopping or its vCPUs are not running yet; -ETIMEDOUT when a vCPU has not parked within
 * VM_PAUSE_TIMEOUT_MS (e.g. stuck in a device handler): what was paused is resumed then.
 * Control threads only (never a vCPU or device I/O thread: it would wait for itself).
 * Serialised with vm_resume() and vm_request_shutdown(). */
int vm_pause(struct vm *vm);

/* vm_pause(), and each vCPU thread saves its own KVM state (kvm_vcpu_save()) once every device
 * has parked and no interrupt is on its way any more (vm_pause.c says why): in parallel with the
 * other vCPUs' saves and with what the caller does next (a migration sends the last pages
 * meanwhile). vm_pause_take_vcpu_state() hands
 * it over. Same returns as vm_pause(); a VM paused before is not captured again. */
int vm_pause_capturing(struct vm *vm);

/* The state vCPU `index` saved at the pause (vm_pause_capturing()), once its save is over, added
 * to `w` and dropped. Returns 0, 1 when there is none (not captured, the save failed or already
 * taken: the caller saves it itself), or snap_writer_append()'s -errno. Paused VM only. */
int vm_pause_take_vcpu_state(struct vm *vm, unsigned index, struct snap_writer *w);

/* Drops the state `vcpu` saved at a pause, if any (vm->pause_lock held, or the vCPU's thread
 * gone: vcpu_destroy()). */
void vm_pause_drop_capture(struct vcpu *vcpu);

/* Resumes a paused VM: sets the guest clock back to the value saved at pause (KVM_SET_CLOCK
 * without KVM_CLOCK_REALTIME, so kvmclock does not count the paused time, as QEMU does), resumes
 * the devices (kicks recorded meanwhile are served), then lets the vCPUs run. Returns 0 (also
 * when not paused). A failing KVM_SET_CLOCK is logged and not fatal (the guest then sees the
 * pause as elapsed time). Control threads only. */
int vm_resume(struct vm *vm);

/* True between a successful vm_pause() and the next vm_resume(), while the VM runs. Any thread.
 */
bool vm_is_paused(struct vm *vm);

/* Presses and releases Ctrl-Alt-Del on the i8042 keyboard (i8042_press_ctrl_alt_del()). Linux
 * with the atkbd driver and the VT keyboard reboots on it (or signals init, if init asked for
 * that), and the reboot's reset pulse stops the VM with status 0. Returns 0, -ENODEV without the
 * legacy devices, -EAGAIN when the guest disabled the keyboard, -ENOSPC when its FIFO is full.
 * While paused the keys wait in the keyboard until vm_resume(). Any thread. */
int vm_send_ctrl_alt_del(struct vm *vm);

/* Presses the ACPI power button (the Generic Event Device's event, devices/acpi_ged.h): the
 * guest's `button` driver reports KEY_POWER, on which systemd-logind (or acpid) shuts the guest
 * down; its ACPI power-off then ends the VMM with status 0 (devices/x86/acpi_pm.h). A guest that
 * binds no handler ignores it. Returns 0, -ENODEV without ACPI (--acpi off). While paused the
 * edge is seen by the guest's IOAPIC and served on vm_resume(). Any thread. */
int vm_send_power_button(struct vm *vm);

/* Graceful stop: resumes the VM if it is paused, sends Ctrl-Alt-Del and arms a deadline
 * `timeout_ms` from now (an earlier deadline already armed is kept). If the VM has not stopped by
 * then, the main thread's wait loop stops it (VM_STOP_SHUTDOWN_TIMEOUT, exit status VMM_EXIT_OK)
 * and logs that the guest did not stop in time; the deadline is checked at least every
 * HALT_WATCH_PERIOD_MS. Returns at once: 0; the key press's error (the deadline is armed anyway,
 * so the VM still stops); or -ESHUTDOWN when the VM is stopping or not running yet (nothing
 * armed). Control threads only. */
int vm_request_shutdown(struct vm *vm, unsigned timeout_ms);

/* ---- for vm.c and vcpu.c ---- */

/* Initialises and destroys the pause state of struct vm (vm_create(), vm_destroy()). */
void vm_pause_init(struct vm *vm);
void vm_pause_destroy(struct vm *vm);

/* vm_stop(): wakes parked vCPUs (and a vm_pause() waiting for them) once vm->stopping is set. */
void vm_pause_wake_for_stop(struct vm *vm);

/* vCPU thread, between two KVM_RUN calls: parks while a pause is requested, or while the vCPU
 * stands by (absent: vmm/vm/cpu_hotplug.h), and the VM is not stopping. Returns at once when
 * neither holds. */
void vm_pause_point(struct vcpu *vcpu);

/* vm_run() with start_paused, before it starts the vCPU threads: each parks at its first
 * vm_pause_point(), before its first KVM_RUN, so no guest instruction runs before vm_resume()
 * (a restored or migrated VM whose state may still change). vm_pause() then completes the pause
 * as usual. */
void vm_pause_hold_start(struct vm *vm);

/* The guest clock was set from a saved state while paused (snapshot_restore() into a VM paused
 * before it ran: a migration's prebuilt destination): vm_resume() keeps it instead of the value
 * saved at the pause. */
void vm_pause_clock_set(struct vm *vm);

/* vm_run(): the vCPU threads are started (true) or about to be joined (false). vm_pause() kicks
 * threads only while this says they exist. */
void vm_pause_set_running(struct vm *vm, bool running);

/* The main thread's wait loop: how many ms until the shutdown deadline (INT_MAX when none
 * armed, 0 when passed). `now_ns` is CLOCK_MONOTONIC. */
int vm_shutdown_deadline_ms(struct vm *vm, uint64_t now_ns);

#endif
