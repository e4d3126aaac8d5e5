/* A firmware-booted VM's reboot: a guest's reset (KVM_SYSTEM_EVENT_RESET, port 0xCF9, the
 * i8042's reset line: VM_STOP_RESET) starts the firmware again, as a PC and QEMU do, while a
 * power-off still ends the VMM with status 0 (docs/running.md, "Firmware").
 *
 * How: the process that parsed the command line builds no VM itself. It forks a child that
 * builds and runs the VM exactly as a VMM without reboot does (its sandbox, Landlock set and
 * --user switch included) and waits for it. A child whose VM ended in a reset says so on a pipe
 * (reboot_tell_reset()) and exits 0; the parent then forks the next child from the same parsed
 * command line. Any other end of the child is the VMM's end, with the child's status (128 +
 * signal for a child a signal ended).
 *
 * Why a process per boot: the seccomp filters and the Landlock set the VM's threads take cannot
 * be lifted, and the main thread's filter forbids what building a VM needs (opening /dev/kvm and
 * the VM's files, creating the VM, mapping its RAM); widening it for the VM's whole life would
 * weaken the sandbox for every boot. A new child starts from the state before any of them and
 * runs the first boot's code path again, with nothing of the last VM (threads, mappings,
 * device state, globals) to be torn down exactly right. The parent keeps the build-time
 * privileges (no filter: its children inherit it), but it runs no guest-facing code: what it
 * reads of the child is one byte and an exit status.
 *
 * Signals: SIGINT, SIGTERM and SIGHUP sent to the parent are passed on to the child, and no boot
 * follows one. The child gets SIGTERM when the parent dies (PR_SET_PDEATHSIG; sandbox_
 * switch_user() keeps it across --user), so a killed parent leaves no VM running.
 *
 * A guest that resets in a loop: each restart is logged, and at most REBOOT_LOOP_MAX restarts
 * are made within any REBOOT_LOOP_WINDOW_MS: the reset that would be one more ends the VMM with
 * status 1 and a message saying so. */
#ifndef VMM_VM_REBOOT_H
#define VMM_VM_REBOOT_H

#include <stdbool.h>
#include <stdint.h>

#define REBOOT_LOOP_MAX	      10u
#define REBOOT_LOOP_WINDOW_MS 60000u

/* The times of the last REBOOT_LOOP_MAX restarts (milliseconds, CLOCK_MONOTONIC). */
struct reboot_guard {
	uint64_t at[REBOOT_LOOP_MAX];
	unsigned n; /* restarts so far (at[] holds the last min(n, REBOOT_LOOP_MAX)) */
};

/* Whether one more restart at `now_ms` is allowed: false when REBOOT_LOOP_MAX restarts were
 * made in the REBOOT_LOOP_WINDOW_MS before it; an allowed one is counted. */
bool reboot_guard_allow(struct reboot_guard *g, uint64_t now_ms);

/* One boot, in the child: builds and runs the VM, calls reboot_tell_reset(reset_fd) when its VM
 * ended in a reset, and returns the VMM's exit status (the child exits with it). `boot`: 1 for
 * the first boot, 2 for the second, ... */
typedef int (*reboot_boot_fn)(void *opaque, unsigned boot, int reset_fd);

/* Runs boots (each in a child, as above) until one ends other than by a reset, a stop signal
 * came, or the guard refuses a restart; returns the VMM's exit status. Call it with no other
 * thread running (it forks). */
int reboot_supervise(reboot_boot_fn boot, void *opaque);

/* The child's word that its VM ended in a reset. */
void reboot_tell_reset(int reset_fd);

#endif
