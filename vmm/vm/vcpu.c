/* vCPU creation, the KVM_RUN loop and the dispatch of each exit. */
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm_firmware.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/stats.h"
#include "host/kvm/kvm.h"
#include "host/sandbox/sandbox.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_arch_sandbox.h"
#include "vmm/vm/vm_device_ops.h"
#include "vmm/vm/vm_pause.h"
#include "vmm/vm/vm_vfio.h"
#include <linux/if_tun.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#define VCPU_KICK_SIGNAL SIGUSR1

/* The kick reaches a vCPU thread only inside KVM_RUN. Every thread of the VMM blocks it
 * (vcpu_block_kick(): the threads created afterwards inherit the mask) and KVM_RUN runs with the
 * vCPU thread's mask without it (KVM_SET_SIGNAL_MASK, vcpu_thread()). So it interrupts no other
 * call of any thread (a KVM set-up ioctl, a vhost-user exchange or an io_uring wait on a vCPU, a
 * read of the API thread), and a kick sent while the vCPU thread is outside KVM_RUN stays pending
 * and ends the next KVM_RUN at once, as immediate_exit does; take_kick() then consumes it. The
 * handler never runs (the signal is blocked whenever KVM_RUN returns): it is there so that a
 * SIGUSR1 that somehow got through does nothing rather than end the process. */

static void kick_handler(int sig)
{
	(void)sig;
}

int vcpu_install_kick_handler(void)
{
	struct sigaction sa = {.sa_handler = kick_handler}; /* no SA_RESTART */
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) < 0 ? -errno : 0;
}

static void kick_set(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, VCPU_KICK_SIGNAL);
}

int vcpu_block_kick(void)
{
	sigset_t set;
	kick_set(&set);
	return -pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/* KVM_RUN's signal mask: this thread's mask without the kick (the kernel's 64-bit sigset, the
 * first word of glibc's sigset_t). */
static int set_run_mask(struct vcpu *vcpu)
{
	sigset_t mask;
	/* struct kvm_signal_mask ends in a flexible array: the header and the 8 bytes after it in
	 * one aligned buffer (a struct with the header as a member is a GNU extension) */
	_Alignas(struct kvm_signal_mask)
	    uint8_t buf[sizeof(struct kvm_signal_mask) + sizeof(uint64_t)];
	struct kvm_signal_mask *m = (struct kvm_signal_mask *)buf;

	if (pthread_sigmask(SIG_BLOCK, NULL, &mask))
		return -EINVAL;
	sigdelset(&mask, VCPU_KICK_SIGNAL);
	m->len = sizeof(uint64_t);
	memcpy(m->sigset, &mask, sizeof(uint64_t));
	return vcpu_ioctl(vcpu, KVM_SET_SIGNAL_MASK, m, "KVM_SET_SIGNAL_MASK");
}

/* Consumes the kicks pending for this thread or the process, which would end every KVM_RUN. */
static void take_kick(void)
{
	static const struct timespec now = {0, 0};
	sigset_t set;
	kick_set(&set);
	while (sigtimedwait(&set, NULL, &now) == VCPU_KICK_SIGNAL)
		;
}

int vcpu_ioctl(struct vcpu *vcpu, unsigned long req, void *arg, const char *what)
{
	if (kvm_ioctl(vcpu->fd, req, arg) < 0) {
		int err = errno;
		log_error("vCPU %u: %s failed: %s", vcpu->index, what, strerror(err));
		return -err;
	}
	return 0;
}

int vcpu_create(struct vcpu *vcpu, struct vm *vm, unsigned index,
		const struct cpuid_table *supported)
{
	memset(vcpu, 0, sizeof(*vcpu));
	vcpu->vm = vm;
	vcpu->index = index;
	vcpu->seen_mp_state = -1;
	vcpu->fd = kvm_ioctl(vm->kvm.vm_fd, KVM_CREATE_VCPU, index);
	if (vcpu->fd < 0) {
		int err = errno;
		log_error("KVM_CREATE_VCPU %u failed: %s", index, strerror(err));
		return -err;
	}
	vcpu->run = mmap(NULL, (size_t)vm->kvm.vcpu_mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		int err = errno;
		vcpu->run = NULL;
		log_error("vCPU %u: mmap of kvm_run failed: %s", index, strerror(err));
		return -err;
	}
	return vcpu_arch_setup(vcpu, supported);
}

/* Port I/O: string instructions arrive as `count` items of `size` bytes each. */
static void handle_io(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (run->io.direction == KVM_EXIT_IO_OUT)
			io_bus_write(&vcpu->vm->pio, run->io.port, data, run->io.size);
		else
			io_bus_read(&vcpu->vm->pio, run->io.port, data, run->io.size);
	}
}

static void handle_mmio(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	uint32_t len = run->mmio.len <= 8 ? run->mmio.len : 8;
	if (run->mmio.is_write)
		io_bus_write(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
	else
		io_bus_read(&vcpu->vm->mmio, run->mmio.phys_addr, run->mmio.data, len);
}

static void handle_system_event(struct vcpu *vcpu)
{
	switch (vcpu->run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		vm_stop(vcpu->vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
		break;
	case KVM_SYSTEM_EVENT_RESET:
		vm_stop(vcpu->vm, VM_STOP_RESET, VMM_EXIT_OK);
		break;
	default:
		log_error("vCPU %u: system event %u (guest crash)", vcpu->index,
			  vcpu->run->system_event.type);
		vm_stop(vcpu->vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
		break;
	}
}

static void fail(struct vcpu *vcpu, const char *what, unsigned long long detail)
{
	log_error("vCPU %u: %s (0x%llx)", vcpu->index, what, detail);
	vcpu_arch_dump_registers(vcpu);
	vm_stop(vcpu->vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
}

static void handle_exit(struct vcpu *vcpu)
{
	struct kvm_run *run = vcpu->run;
	vcpu_count_exit(vcpu, vcpu_exit_kind_of(run->exit_reason));
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu);
		break;
	case KVM_EXIT_MMIO:
		handle_mmio(vcpu);
		break;
	case KVM_EXIT_INTR:
		break;
	case KVM_EXIT_HLT:
		log_info("vCPU %u halted", vcpu->index);
		vm_stop(vcpu->vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
		break;
	case KVM_EXIT_SHUTDOWN:
		log_error("vCPU %u: triple fault (KVM_EXIT_SHUTDOWN)", vcpu->index);
		vcpu_arch_dump_registers(vcpu);
		vm_stop(vcpu->vm, VM_STOP_TRIPLE_FAULT, VMM_EXIT_TRIPLE_FAULT);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		handle_system_event(vcpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		fail(vcpu, "KVM internal error, suberror", run->internal.suberror);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		fail(vcpu, "VM entry failed, hardware reason",
		     run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		if (!vcpu_arch_handle_exit(vcpu))
			fail(vcpu, "unhandled exit reason", run->exit_reason);
		break;
	}
}

/* Runs on the vCPU thread between two KVM_RUN calls, so the state ioctls do not wait for it. */
static void sample_halt_state(struct vcpu *vcpu)
{
	struct kvm_mp_state mp;
	struct vcpu_arch_seen seen;
	enum halt_sample s = HALT_SAMPLE_RUNNING;
	if (kvm_ioctl(vcpu->fd, KVM_GET_MP_STATE, &mp) || vcpu_arch_sample(vcpu, &seen)) {
		__atomic_store_n(&vcpu->sample, (int)s, __ATOMIC_RELEASE);
		return;
	}
	if (mp.mp_state == KVM_MP_STATE_HALTED && !seen.irqs_on)
		s = HALT_SAMPLE_DEAD;
	__atomic_store_n(&vcpu->seen_pc, seen.pc, __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->seen_irqs_on, (int)seen.irqs_on, __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->seen_pt_root, seen.pt_root, __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->seen_mp_state, (int)mp.mp_state, __ATOMIC_RELAXED);
	__atomic_store_n(&vcpu->sample, (int)s, __ATOMIC_RELEASE);
}

enum halt_sample vcpu_halt_probe(struct vcpu *vcpu)
{
	enum halt_sample last = (enum halt_sample)__atomic_exchange_n(
	    &vcpu->sample, (int)HALT_SAMPLE_NONE, __ATOMIC_ACQ_REL);
	__atomic_store_n(&vcpu->probe, 1, __ATOMIC_RELEASE);
	vcpu_kick(vcpu);
	return last;
}

/* What a vCPU thread calls (sandbox.h): KVM_RUN and the state reads of the halt watch and the
 * register dump on its own fd; and, while it emulates a device access, what device models do on
 * a vCPU: raise interrupts (KVM_IRQ_LINE, irqfd writes, KVM_SIGNAL_MSI), move a PCI BAR's
 * ioeventfds, program MSI routes, wake other threads (eventfd writes). */
static const struct sandbox_rule vcpu_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_RUN),
    /* KVM_RUN's mask without the kick, set as the thread starts; the kick taken after an EINTR */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_SIGNAL_MASK),
    SB_ALLOW(SYS_rt_sigtimedwait),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_MP_STATE),
    /* its registers (the halt watch, the dump) and the state it saves as it parks for
     * vm_pause_capturing(): the architecture's list, vm_arch_state_sandbox */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_CHECK_EXTENSION),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQ_LINE_STATUS),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SIGNAL_MSI),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_GSI_ROUTING),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQFD),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IOEVENTFD),
    /* a driver's DRIVER_OK starts the device's backend: a NIC sets the tap's offloads, a
     * device adds its backend fds to its I/O thread's epoll set, the rng arms its timer */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETOFFLOAD),
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETVNETHDRSZ),
    /* a multiqueue NIC's DRIVER_OK and reset attach / detach the tap queues of its pairs */
    SB_ARG_EQ(SYS_ioctl, 1, TUNSETQUEUE),
    SB_ALLOW(SYS_epoll_ctl),
    SB_ALLOW(SYS_timerfd_settime),
    /* a driver's reset (status 0) of a virtio-blk with io_uring requests in flight waits for
     * them (blk_reset: file I/O cannot be cancelled) on the vCPU that wrote the status; found
     * by the guest-side fuzzer (tools/fuzz/guest-fuzz): a guest could kill the VMM */
    SB_ALLOW(SYS_io_uring_enter),
    /* a virtio-console config read asks the host terminal for its size */
    SB_ARG_EQ(SYS_ioctl, 1, TCGETS),
    SB_ARG_EQ(SYS_ioctl, 1, TIOCGWINSZ),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_read),
};
const struct sandbox_list vcpu_sandbox = SANDBOX_LIST("vcpu", vcpu_rules);

/* Only in a VM with a vhost-user device (virtio/fs): it hands its rings over at DRIVER_OK and
 * stops them at a reset, on the vCPU that wrote the status: messages on the back-end's Unix
 * socket, each wait bounded by poll; a back-end that died is reconnected at the next
 * DRIVER_OK. Other VMs' vCPUs cannot open or connect sockets. */
static const struct sandbox_rule vcpu_vhost_user_rules[] = {
    SB_ARG_EQ(SYS_socket, 0, AF_UNIX),
    SB_ALLOW(SYS_connect),
    SB_ALLOW(SYS_getsockopt),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
};
const struct sandbox_list vcpu_vhost_user_sandbox =
    SANDBOX_LIST("vcpu-vhost-user", vcpu_vhost_user_rules);

/* Only in a VM with a UEFI variable store (--firmware-vars, devices/pflash.h): the flash leaves
 * read-array mode at a command the firmware writes and comes back to it, on the vCPU that wrote
 * it, so its array's read-only memory slot goes and comes. Other VMs' vCPUs cannot change the
 * guest's memory map. */
static const struct sandbox_rule vcpu_flash_rules[] = {
    SB_ARG_EQ(SYS_ioctl, 1, KVM_SET_USER_MEMORY_REGION),
};
const struct sandbox_list vcpu_flash_sandbox = SANDBOX_LIST("vcpu-flash", vcpu_flash_rules);

size_t vcpu_sandbox_lists(bool shares_memory, bool vfio, bool flash,
			  const struct sandbox_list *out[VCPU_SANDBOX_LISTS])
{
	size_t n = 0;
	out[n++] = &vcpu_sandbox;
	out[n++] = &vm_arch_state_sandbox;
	if (shares_memory)
		out[n++] = &vcpu_vhost_user_sandbox;
	if (vfio)
		out[n++] = &vm_vfio_vcpu_sandbox;
	if (flash)
		out[n++] = &vcpu_flash_sandbox;
	return n;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	char name[16];
	snprintf(name, sizeof(name), "vcpu%u", vcpu->index);
	pthread_setname_np(pthread_self(), name);
	const struct sandbox_list *lists[VCPU_SANDBOX_LISTS];
	/* --mem-shared: a virtio-fs device may be hot-added (PUT /vmm/vm.add-fs) */
	size_t nlists = vcpu_sandbox_lists(
	    vcpu->vm->device_ops->shares_memory(vcpu->vm->cfg) || vcpu->vm->cfg->mem_shared,
	    vcpu->vm->device_ops->passes_through(vcpu->vm->cfg) || vm_vfio_may_hot_add(vcpu->vm),
	    vm_firmware_flash(vcpu->vm) != NULL, lists);
	if (set_run_mask(vcpu) || sandbox_enter(name, lists, nlists)) {
		vm_stop(vcpu->vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
		return NULL;
	}
	clockid_t clock;
	if (pthread_getcpuclockid(pthread_self(), &clock) == 0)
		__atomic_store_n(&vcpu->cpu_clock, clock, __ATOMIC_RELEASE);
	vm_pause_point(vcpu); /* a VM started paused (vm_pause_hold_start()) parks here */
	if (vcpu->index == 0)
		stats_mark(STATS_FIRST_RUN);
	/* With the source's "paused at" (vm_migrate.c): the pause a migration cost, measured on one
	 * host's clock (tools/bench migrate). */
	unsigned long long now_us = (unsigned long long)(mono_ns() / 1000);
	if (vcpu->index == 0 && vcpu->vm->migrated)
		log_info("migration: the guest runs here from %llu us (CLOCK_MONOTONIC)", now_us);
	else
		log_debug("vCPU %u: first KVM_RUN at %llu us", vcpu->index, now_us);
	while (!vm_stopping(vcpu->vm)) {
		if (ioctl(vcpu->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				vcpu_count_exit(vcpu, VCPU_EXIT_INTR);
				/* SEQ_CST: a kick stored after this is seen by the next KVM_RUN,
				 * and a pause requested before that kick is seen below. */
				__atomic_store_n(&vcpu->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
				take_kick();
				if (__atomic_exchange_n(&vcpu->probe, 0, __ATOMIC_ACQ_REL))
					sample_halt_state(vcpu);
				vm_pause_point(vcpu);
				continue;
			}
			log_error("vCPU %u: KVM_RUN failed: %s", vcpu->index, strerror(errno));
			vm_stop(vcpu->vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
			break;
		}
		handle_exit(vcpu);
	}
	__atomic_store_n(&vcpu->cpu_clock, 0, __ATOMIC_RELEASE);
	return NULL;
}

int vcpu_start(struct vcpu *vcpu)
{
	int err = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
	if (err) {
		log_error("vCPU %u: cannot start thread: %s", vcpu->index, strerror(err));
		return -err;
	}
	vcpu->thread_started = true;
	return 0;
}

void vcpu_kick(struct vcpu *vcpu)
{
	if (vcpu->run)
		__atomic_store_n(&vcpu->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vcpu->thread_started)
		pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

void vcpu_destroy(struct vcpu *vcpu)
{
	if (vcpu->thread_started)
		pthread_join(vcpu->thread, NULL);
	vcpu->thread_started = false;
	if (vcpu->run)
		munmap(vcpu->run, (size_t)vcpu->vm->kvm.vcpu_mmap_size);
	if (vcpu->fd >= 0)
		close(vcpu->fd);
	vcpu->run = NULL;
	vcpu->fd = -1;
	vm_pause_drop_capture(vcpu); /* a state saved at a pause nobody took */
}
