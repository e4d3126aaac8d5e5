/* VM lifecycle: create, run until stopped, tear down. */
#include "vmm/vm/vm.h"

#include <errno.h>
#include <linux/kvm.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/errors.h"
#include "base/layout.h"
#include "base/log.h"
#include "host/kvm/kvm_state.h"
#include "host/sandbox/sandbox.h"
#include "loaders/boot.h"
#include "vmm/vm/arch_vm.h"
#include "vmm/vm/cpu_hotplug.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm_device_ops.h"
#include "vmm/vm/vm_firmware.h"
#include "vmm/vm/vm_pause.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_vfio.h"
#include "vmm/vm/vm_virtio.h"
#include <sys/syscall.h>

static void control_stop(void *opaque, enum vm_stop_reason why, int status)
{
	vm_stop(opaque, why, status);
}

void vm_stop(struct vm *vm, enum vm_stop_reason why, int status)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (!vm->stopping) {
		vm->stop_reason = why;
		vm->exit_status = status;
		__atomic_store_n(&vm->stopping, true, __ATOMIC_RELEASE);
		uint64_t one = 1;
		if (write(vm->stop_fd, &one, sizeof(one)) < 0)
			log_debug("stop eventfd: %s", strerror(errno));
	}
	/* The main thread wakes on the eventfd and joins the vCPUs (unmapping their run pages):
	 * it waits for the kickers in flight (vm_join_vcpus()), and a later call kicks nobody. */
	bool kick = !vm->vcpus_gone;
	vm->kickers += kick;
	pthread_mutex_unlock(&vm->stop_lock);
	if (!kick)
		return;
	vm_pause_wake_for_stop(vm); /* parked vCPUs see the stop and their threads end */
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_kick(&vm->vcpus[i]);
	pthread_mutex_lock(&vm->stop_lock);
	if (--vm->kickers == 0)
		pthread_cond_broadcast(&vm->stop_cond);
	pthread_mutex_unlock(&vm->stop_lock);
}

void vm_join_vcpus(struct vm *vm)
{
	pthread_mutex_lock(&vm->stop_lock);
	vm->vcpus_gone = true;
	while (vm->kickers)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	pthread_mutex_unlock(&vm->stop_lock);
	for (unsigned i = 0; i < vm->ncpus; i++)
		vcpu_destroy(&vm->vcpus[i]);
}

/* KVM logs the guest's writes, guest_mem the VMM's own (vmm/snapshot/vm_snapshot.h: Diff
 * snapshots).
 */
static int start_dirty_tracking(struct vm *vm)
{
	int err = guest_mem_dirty_start(&vm->mem);
	if (!err)
		err = kvm_dirty_log_start(&vm->kvm, &vm->mem);
	if (err)
		log_error("--track-dirty-pages: %s", strerror(-err));
	return err;
}

/* Where a new VM's guest RAM comes from: fresh, a memory file (mem_fd >= 0), another party that
 * serves it (serve), or a migration's (given). */
struct ram_source {
	int mem_fd;
	vm_ram_serve_fn serve;
	const char *serve_path;
	struct guest_mem *given;
};

static const struct ram_source fresh_ram = {.mem_fd = -1};

/* Guest RAM from `ram`: before KVM, which only maps it. */
static int alloc_memory(struct vm *vm, const struct ram_source *ram)
{
	int mem_fd = ram->mem_fd;
	struct guest_mem *given = ram->given;
	if (ram->serve && ram->serve(vm, ram->serve_path)) /* logged */
		return -EIO;
	/* a vhost-user back-end maps it too; --mem-shared: a local migration hands it over, a fork
	 * shares it with its children (a restore copies the memory file into it) */
	bool shares = vm->device_ops->shares_memory(vm->cfg) || vm->cfg->mem_shared;
	int err = 0;
	if (ram->serve)
		err = 0;
	else if (given) { /* a migration's RAM, filled already: the VM owns it from now on */
		vm->mem = *given;
		memset(given, 0, sizeof(*given));
	} else if (mem_fd >= 0 && shares)
		err = guest_mem_load_shared(&vm->mem, vm->cfg->mem_size, mem_fd);
	else if (mem_fd >= 0)
		err = guest_mem_map_file(&vm->mem, vm->cfg->mem_size, mem_fd);
	else if (shares)
		err = guest_mem_alloc_shared(&vm->mem, vm->cfg->mem_size);
	else
		err = guest_mem_alloc(&vm->mem, vm->cfg->mem_size);
	if (err) {
		log_error("cannot allocate %llu bytes of guest RAM: %s",
			  (unsigned long long)vm->cfg->mem_size, strerror(-err));
		return err;
	}
	machine_add_guest_ram(&vm->machine, &vm->mem);
	if (vm->cfg->hugepages && (err = guest_mem_advise_hugepages(&vm->mem)))
		log_warn("--hugepages: madvise: %s; guest RAM stays on small pages",
			 strerror(-err));
	return 0;
}

static int map_memory(struct vm *vm)
{
	int err = kvm_map_memory(&vm->kvm, &vm->mem);
	if (!err && vm->cfg->track_dirty_pages)
		err = start_dirty_tracking(vm);
	return err;
}

/* Loads the kernel and, `with_kvm`, sets the boot vCPU's registers for its entry mode. */
static int setup_boot(struct vm *vm, bool with_kvm)
{
	const struct vm_config *cfg = vm->cfg;
	if (cfg->firmware) /* the firmware describes the machine itself, from fw_cfg */
		return vm_firmware_setup(vm, with_kvm);
	/* The MP table, the memory maps and the device tree all come from vm->machine. */
	struct boot_config bc = {
	    .kernel_path = cfg->kernel,
	    .initrd_path = cfg->initrd,
	    .files = &vm->boot, /* read and checked before KVM (check_inputs()) */
	    .cmdline = vm->cmdline,
	    .machine = &vm->machine,
	    .dtb = cfg->dtb,
	    .acpi = !cfg->acpi_off,
	};
	if (vm->machine.err) {
		log_error("the machine description is incomplete: %s", strerror(-vm->machine.err));
		return VMM_EXIT_ERROR;
	}
	struct boot_entry entry;
	int err = boot_load(&vm->mem, &bc, &entry);
	boot_files_close(&vm->boot); /* in guest RAM now */
	if (err)
		return vmm_exit_status(err); /* boot_load() logged it; a bad image is the user's */
	if (!with_kvm)
		return 0;
	return vm_arch_boot_cpu(vm, &entry);
}

/* The virtio devices (the device table creates them, the PCI bus comes with the first device
 * that asks for it), and the command line that tells the guest where they are. Returns 0 or
 * the exit status. */
static int setup_virtio(struct vm *vm)
{
	vm->virtio = calloc(1, sizeof(*vm->virtio));
	vm->cmdline = calloc(1, BOOT_CMDLINE_MAX);
	if (!vm->virtio || !vm->cmdline)
		return VMM_EXIT_ERROR;
	int status = vm->device_ops->create(vm);
	if (!status && vm_hotplug_setup(vm)) /* the free PCI slots, before the DSDT is written */
		status = VMM_EXIT_ERROR;
	if (!status && machine_cmdline(&vm->machine, vm->cmdline, BOOT_CMDLINE_MAX) < 0) {
		log_error("the kernel command line is too long with the virtio-mmio entries");
		status = VMM_EXIT_USAGE;
	}
	return status;
}

/* What the machine description says of the CPUs: APIC ID = vCPU index (vcpu.c); the IOAPIC
 * takes the next ID, as in the MP table. */
static void describe_cpus(struct vm *vm)
{
	machine_add_cpus(&vm->machine, (int)vm->ncpus);
	machine_set_arch_intc(&vm->machine);
}

static int create_vcpus(struct vm *vm)
{
	const struct cpuid_table *supported;
	int err = vm_arch_cpu_features(vm, &supported);
	if (err)
		return err;
	for (unsigned i = 0; i < vm->ncpus; i++) {
		err = vcpu_create(&vm->vcpus[i], vm, i, supported);
		if (err)
			return err;
		vm->vcpus[i].standby = i >= vm->cfg->ncpus; /* absent: cpu_hotplug.h */
	}
	describe_cpus(vm);
	return vm_arch_vcpus_created(vm);
}

static void init_state(struct vm *vm, const struct vm_config *cfg,
		       const struct vm_device_ops *devices)
{
	memset(vm, 0, sizeof(*vm));
	vm->cfg = cfg;
	vm->device_ops = devices;
	vm->ncpus = cfg->max_vcpus > cfg->ncpus ? cfg->max_vcpus : cfg->ncpus;
	vm->kvm.dev_fd = vm->kvm.vm_fd = vm->kvm.gic_fd = vm->kvm.its_fd = -1;
	vm->boot.initrd_fd = -1;
	for (unsigned i = 0; i < VM_MAX_CPUS; i++)
		vm->vcpus[i].fd = -1;
	io_bus_init(&vm->pio, "pio");
	io_bus_init(&vm->mmio, "mmio");
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	vm_pause_init(vm);
	vm->control = (struct vm_control){control_stop, vm};
	machine_init(&vm->machine);
	machine_set_cmdline(&vm->machine, cfg->append);
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

/* Everything the user gave is judged before KVM is opened (as Firecracker checks a device when
 * it is configured), so each mistake gets its own message even where KVM is unusable: the
 * kernel read and its format checked, the initrd opened (`boot`: a fresh VM, not a restore),
 * and each device's files, taps and directories checked by the device. Returns 0 or the exit
 * status. */
static int check_inputs(struct vm *vm, bool boot)
{
	const struct vm_config *cfg = vm->cfg;
	/* with --firmware, a kernel is optional: the firmware boots it from fw_cfg */
	bool kernel = boot && (!cfg->firmware || cfg->kernel);
	int err = kernel ? boot_files_open(&vm->boot, &vm->mem, cfg->kernel, cfg->initrd) : 0;
	if (!err && cfg->firmware) /* a restore maps its ROM again (vm_firmware_restore()) */
		err = vm_firmware_open(vm, boot);
	if (!err) /* the command line, the config file's boot_args, a snapshot's append */
		err = boot_check_cmdline(kernel ? &vm->boot : NULL, cfg->append);
	if (!err)
		err = vm->device_ops->check(cfg);
	return vmm_exit_status(err);
}

/* KVM: the VM, guest RAM mapped, then the irqchip and the vCPUs. Returns 0 or the exit status. */
static int open_kvm(struct vm *vm)
{
	if (kvm_open_vm(&vm->kvm, vm->cfg->kvm_path)) /* logged the probe's reason and fix */
		return VMM_EXIT_ERROR;
	if (vm->kvm.emulated)
		log_info("host KVM is kvm_pvm: guest kernel code is emulated in software (slow); "
			 "Linux user space needs the default guest's kernel patches here "
			 "(guest-images/README.md)");
	uint64_t t0 = mono_us();
	/* RAM before the irqchip: see kvm_open_vm(). */
	if (map_memory(vm))
		return VMM_EXIT_ERROR;
	uint64_t t1 = mono_us();
	if (kvm_create_chips(&vm->kvm))
		return VMM_EXIT_ERROR;
	uint64_t t2 = mono_us();
	if (create_vcpus(vm))
		return VMM_EXIT_ERROR;
	log_debug("KVM: RAM slots %llu us, irqchip %llu us, %u vCPUs %llu us",
		  (unsigned long long)(t1 - t0), (unsigned long long)(t2 - t1), vm->ncpus,
		  (unsigned long long)(mono_us() - t2));
	return 0;
}

/* Without KVM (vm_describe()): the devices' notifications go nowhere. */
static int no_kvm_ioeventfd(void *ctx, const struct kvm_ioeventfd *io)
{
	(void)ctx, (void)io;
	return 0;
}

static int no_kvm_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	(void)ctx, (void)req;
	return 0;
}

static int no_kvm_routes(void *ctx, const struct kvm_irq_routing *table)
{
	(void)ctx, (void)table;
	return 0;
}

static int no_kvm_msi(void *ctx, const struct kvm_msi *msi)
{
	(void)ctx, (void)msi;
	return 0;
}

static bool no_kvm_resample(void *ctx)
{
	(void)ctx;
	return true;
}

static const struct kvm_notify_ops no_kvm_ops = {no_kvm_ioeventfd, no_kvm_irqfd, no_kvm_routes,
						 no_kvm_msi, no_kvm_resample};

/* vm_build*(): guest RAM from `ram`; `with_kvm` false builds the devices and the machine
 * description only. */
static int create(struct vm *vm, const struct vm_config *cfg, const struct vm_device_ops *devices,
		  const struct ram_source *ram, bool with_kvm)
{
	uint64_t t[5];
	t[0] = mono_us();
	init_state(vm, cfg, devices);
	/* before any thread of the VM exists: they all inherit it (vcpu.h) */
	if (vcpu_block_kick() || vm->stop_fd < 0 || alloc_memory(vm, ram))
		return VMM_EXIT_ERROR;
	t[1] = mono_us();
	int status = check_inputs(vm, ram->mem_fd < 0 && !ram->serve && !ram->given);
	t[2] = mono_us();
	if (!status && with_kvm) {
		status = open_kvm(vm);
	} else if (!status) {
		vm->kvm.notify = (struct kvm_notify){&no_kvm_ops, NULL};
		describe_cpus(vm);
	}
	if (status)
		return status;
	t[3] = mono_us();
	if (vm_devices_create(vm))
		return VMM_EXIT_ERROR;
	if (vm_cpuhp_setup(vm)) /* needs the GED; before the DSDT is written */
		return VMM_EXIT_USAGE;
	t[4] = mono_us();
	status = setup_virtio(vm);
	log_debug("VM built in %llu us: RAM %llu, inputs checked %llu, KVM %llu, devices %llu, "
		  "virtio %llu",
		  (unsigned long long)(mono_us() - t[0]), (unsigned long long)(t[1] - t[0]),
		  (unsigned long long)(t[2] - t[1]), (unsigned long long)(t[3] - t[2]),
		  (unsigned long long)(t[4] - t[3]), (unsigned long long)(mono_us() - t[4]));
	return status;
}

int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_device_ops *devices)
{
	int status = create(vm, cfg, devices, &fresh_ram, true);
	/* a fresh VM's generation ID (a restore makes its own: vm_snapshot_new_generation()),
	 * before the boot: a firmware gets it in fw_cfg */
	if (!status && vm_devices_boot(vm))
		status = VMM_EXIT_ERROR;
	return status ? status : setup_boot(vm, true);
}

int vm_build_description(struct vm *vm, const struct vm_config *cfg,
			 const struct vm_device_ops *devices)
{
	int status = create(vm, cfg, devices, &fresh_ram, false);
	return status ? status : setup_boot(vm, false);
}

/* A VM made from another's state: a firmware's platform as at its boot. */
static int restored(struct vm *vm, int status)
{
	return !status && vm->cfg->firmware ? vm_firmware_restore(vm, true) : status;
}

int vm_build_restored(struct vm *vm, const struct vm_config *cfg,
		      const struct vm_device_ops *devices, int mem_fd)
{
	struct stat st;
	/* no kernel: the snapshot's RAM and registers */
	int status = create(vm, cfg, devices, &(struct ram_source){.mem_fd = mem_fd}, true);
	if (fstat(mem_fd, &st) == 0) {
		vm->mem_file_dev = (unsigned long)st.st_dev;
		vm->mem_file_ino = (unsigned long)st.st_ino;
	}
	return restored(vm, status);
}

int vm_build_served(struct vm *vm, const struct vm_config *cfg, const struct vm_device_ops *devices,
		    vm_ram_serve_fn serve, const char *path)
{
	struct ram_source ram = {.mem_fd = -1, .serve = serve, .serve_path = path};
	return restored(vm, create(vm, cfg, devices, &ram, true));
}

int vm_build_migrated(struct vm *vm, const struct vm_config *cfg,
		      const struct vm_device_ops *devices, struct guest_mem *mem)
{
	/* no kernel: the source's RAM */
	int status =
	    create(vm, cfg, devices, &(struct ram_source){.mem_fd = -1, .given = mem}, true);
	guest_mem_free(mem); /* not taken when create() failed before the RAM (zeroed when taken) */
	return restored(vm, status);
}

int vm_block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGWINCH);
	if (pthread_sigmask(SIG_BLOCK, set, NULL) || vcpu_block_kick())
		return -1;
	return signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* One tick of the halt watch (halt_watch.h): a guest whose vCPUs all sit in HLT with
 * interrupts off has powered itself off as far as it can. */
static void watch_for_halt(struct vm *vm, struct halt_watch *w)
{
	enum halt_sample samples[VM_MAX_CPUS];
	for (unsigned i = 0; i < vm->ncpus; i++) /* an absent vCPU runs nothing */
		samples[i] =
		    vm_cpuhp_standby(vm, i) ? HALT_SAMPLE_DEAD : vcpu_halt_probe(&vm->vcpus[i]);
	if (halt_watch_update(w, samples, vm->ncpus)) {
		log_info("guest halted every vCPU with interrupts disabled (a power-off without a "
			 "power-off device): stopping the VM");
		vm_stop(vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
	}
}

/* A graceful stop (vm_request_shutdown()) whose deadline passed ends the VM here. */
static void check_shutdown_deadline(struct vm *vm, uint64_t now)
{
	if (vm_shutdown_deadline_ms(vm, now) == 0 && !vm_stopping(vm)) {
		log_warn("the guest did not stop in time after Ctrl-Alt-Del: stopping the VM");
		vm_stop(vm, VM_STOP_SHUTDOWN_TIMEOUT, VMM_EXIT_OK);
	}
}

static int min_int(int a, int b)
{
	return a < b ? a : b;
}

static volatile sig_atomic_t deadline_status;
static int stop_signo; /* __atomic: the first stop signal taken (0: none yet) */

/* SIGALRM after vm_stop_deadline(): async-signal-safe calls only. */
static void on_stop_deadline(int sig)
{
	static const char msg[] = "vmm: error: not stopped in time after a stop signal: exiting\n";
	ssize_t r = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)sig, (void)r;
	_exit(deadline_status);
}

/* A stop signal once the signalfd is read no more (the teardown): idempotent, and it never ends
 * the process itself, so the teardown it interrupts still removes the API and vsock sockets
 * (`timeout` and a process-group kill send SIGTERM then another). The first one arms the
 * deadline, which bounds the teardown. Async-signal-safe calls only. */
static void on_late_stop(int sig)
{
	int none = 0;
	__atomic_compare_exchange_n(&stop_signo, &none, sig, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	if (!deadline_status) {
		deadline_status = 128 + sig;
		alarm(VM_STOP_DEADLINE_S);
	}
}

/* From now on a stop signal reaches on_late_stop() in this thread (SA_RESTART: the teardown's
 * calls go on), and SIGALRM on_stop_deadline(). Installed before the signals are unblocked: by
 * the first stop signal, and at the end of vm_run() whatever stopped the VM. */
static void stop_signals_handled(void)
{
	static const int stop[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa = {.sa_handler = on_late_stop, .sa_flags = SA_RESTART};
	struct sigaction alrm = {.sa_handler = on_stop_deadline};
	sigset_t set;

	sigemptyset(&sa.sa_mask);
	sigemptyset(&alrm.sa_mask);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++) {
		sigaddset(&sa.sa_mask, stop[i]);
		sigaddset(&set, stop[i]);
	}
	for (size_t i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
		sigaction(stop[i], &sa, NULL);
	sigaction(SIGALRM, &alrm, NULL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

bool vm_stop_signalled(void)
{
	return __atomic_load_n(&stop_signo, __ATOMIC_ACQUIRE) != 0;
}

void vm_stop_deadline(int signo, unsigned seconds)
{
	int none = 0;

	__atomic_compare_exchange_n(&stop_signo, &none, signo, false, __ATOMIC_SEQ_CST,
				    __ATOMIC_SEQ_CST);
	if (deadline_status)
		return; /* armed by the first */
	deadline_status = 128 + signo;
	stop_signals_handled();
	alarm(seconds);
}

/* One signal read from the signalfd: a terminal resize is passed on, any other signal stops the
 * VM with status 128 + signal, in VM_STOP_DEADLINE_S at most. */
static void handle_signal(struct vm *vm, uint32_t signo)
{
	if (signo == SIGWINCH) {
		vm->device_ops->terminal_resized(vm);
		return;
	}
	log_info("stopping on signal %u", signo);
	vm_stop_deadline((int)signo, VM_STOP_DEADLINE_S);
	vm_stop(vm, VM_STOP_SIGNAL, 128 + (int)signo);
}

/* Waits until the VM stops; a stop signal stops it with status 128 + signal. Ticks the halt
 * watch every HALT_WATCH_PERIOD_MS (not while paused: parked vCPUs answer no probe, and samples
 * from before a pause say nothing after it) and enforces the graceful-stop deadline. */
static void wait_for_stop(struct vm *vm, int sig_fd)
{
	struct halt_watch halt = {0};
	const uint64_t period_ns = (uint64_t)HALT_WATCH_PERIOD_MS * 1000000ull;
	uint64_t next_tick = mono_ns() + period_ns;
	while (!vm_stopping(vm)) {
		struct pollfd fds[2] = {{.fd = vm->stop_fd, .events = POLLIN},
					{.fd = sig_fd, .events = POLLIN}};
		uint64_t now = mono_ns();
		int to_tick = now >= next_tick ? 0 : (int)((next_tick - now + 999999) / 1000000);
		int n = poll(fds, sig_fd >= 0 ? 2 : 1,
			     min_int(to_tick, vm_shutdown_deadline_ms(vm, now)));
		if (n < 0 && errno != EINTR)
			break;
		now = mono_ns();
		check_shutdown_deadline(vm, now);
		if (n == 0 && now >= next_tick) {
			next_tick = now + period_ns;
			if (vm_is_paused(vm))
				halt = (struct halt_watch){0};
			else
				watch_for_halt(vm, &halt);
		}
		struct signalfd_siginfo si;
		if (n > 0 && sig_fd >= 0 && read(sig_fd, &si, sizeof(si)) == sizeof(si))
			handle_signal(vm, si.ssi_signo);
	}
}

/* The main thread's calls once the VM runs (sandbox.h): its wait loop (poll on the stop eventfd
 * and the signalfd, the halt watch's kicks), the vCPU threads it creates last (which inherit this
 * filter, so their list is allowed here too), and the teardown: KVM wiring undone (irqfd and
 * ioeventfd ioctls), the terminal restored, files closed, the API socket removed, the last
 * metrics line and the screenshot written. */
static const struct sandbox_rule main_rules[] = {
    SB_ALLOW(SYS_alarm), /* vm_stop_deadline() */
#if SYS_alarm == SANDBOX_NO_CALL
    SB_ALLOW(SYS_setitimer), /* glibc's alarm() where there is no alarm call (aarch64) */
#endif
    SB_ALLOW(SYS_poll),
    SB_ALLOW(SYS_ppoll),
    SB_ALLOW(SYS_read),
    SB_ALLOW(SYS_write),
    SB_ALLOW(SYS_close),
    SB_ALLOW(SYS_clone),
    SB_ALLOW(SYS_clone3),
    /* ioctl only with these requests (and the vCPU list's, below): teardown undoes the
     * devices' KVM wiring (vm_virtio / vm_pci stop: irqfd and ioeventfd deassigned) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IRQFD),
    SB_ARG_EQ(SYS_ioctl, 1, KVM_IOEVENTFD),
    /* --paused: vm_pause() saves the guest clock before the vCPUs start (vm_run) */
    SB_ARG_EQ(SYS_ioctl, 1, KVM_GET_CLOCK),
    /* terminal_restore() at exit (atexit, on this thread): tcsetattr(TCSANOW) */
    SB_ARG_EQ(SYS_ioctl, 1, TCSETS),
    SB_ARG_EQ(SYS_ioctl, 1, TCSETSW),
    SB_ARG_EQ(SYS_ioctl, 1, TCSETSF),
    SB_ALLOW(SYS_openat),
    SB_ALLOW(SYS_openat2), /* host_path_open_beneath(): a confined folder, a backing file */
    SB_ALLOW(SYS_unlink),
    SB_ALLOW(SYS_unlinkat),
    SB_ALLOW(SYS_fstat),
    SB_ALLOW(SYS_newfstatat),
    /* host_path_open() (the screenshot at exit): the open file's file system, O_NONBLOCK off */
    SB_ALLOW(SYS_fstatfs),
    SB_ALLOW(SYS_fcntl),
    SB_ALLOW(SYS_lseek),
    SB_ALLOW(SYS_fsync),
    SB_ALLOW(SYS_fdatasync),
    SB_ALLOW(SYS_pwrite64),  /* a qcow2 disk's metadata written when it closes (issue 51) */
    SB_ALLOW(SYS_rename),    /* host_path_replace_commit()'s rename() on x86 */
    SB_ALLOW(SYS_renameat),  /* ... on arm64 (where renameat2's flags are refused: 9p) */
    SB_ALLOW(SYS_renameat2), /* host_path_replace_commit() */
    SB_ALLOW(SYS_ftruncate),
    SB_ALLOW(SYS_epoll_ctl),
    SB_ALLOW(SYS_io_uring_enter),
    SB_ALLOW(SYS_shmdt),
    SB_ALLOW(SYS_shmctl),
    SB_ALLOW(SYS_sendmsg),
    SB_ALLOW(SYS_recvmsg),
    SB_ALLOW(SYS_shutdown), /* a socket half-closed at teardown (virtio/vsock/conn.c) */
    /* closing the SDL window at exit talks to the X server */
    SB_ALLOW(SYS_writev),
    SB_ALLOW(SYS_readv),
    SB_ALLOW(SYS_recvfrom),
    SB_ALLOW(SYS_sendto),
    SB_ALLOW(SYS_shmget),
};
static const struct sandbox_list main_sandbox = SANDBOX_LIST("main", main_rules);

/* The main thread's lists (as vcpu_sandbox_lists()): its own and the vCPUs' (it allows what its
 * vCPU threads will call before it creates them), with vfio the end of a passed-through
 * device's too. */
#define MAIN_SANDBOX_LISTS (2 + VCPU_SANDBOX_LISTS)
static size_t main_sandbox_lists(bool shares_memory, bool vfio, bool flash,
				 const struct sandbox_list *out[MAIN_SANDBOX_LISTS])
{
	out[0] = &main_sandbox;
	size_t n = 1 + vcpu_sandbox_lists(shares_memory, vfio, flash, out + 1);
	if (vfio)
		out[n++] = &vm_vfio_end_sandbox;
	return n;
}

/* The main thread confines itself before it creates the vCPU threads. */
static int confine_main(const struct vm *vm)
{
	const struct sandbox_list *lists[MAIN_SANDBOX_LISTS];
	/* --mem-shared: a virtio-fs device may be hot-added (PUT /vmm/vm.add-fs); a
	 * passed-through device, at boot or hot-added later (--vfio-hotplug) */
	size_t n =
	    main_sandbox_lists(vm->device_ops->shares_memory(vm->cfg) || vm->cfg->mem_shared,
			       vm->device_ops->passes_through(vm->cfg) || vm_vfio_may_hot_add(vm),
			       vm_firmware_flash((struct vm *)vm) != NULL, lists);
	return sandbox_enter("main", lists, n);
}

void vm_prepare_filters(bool shares_memory)
{
	const struct sandbox_list *lists[MAIN_SANDBOX_LISTS];
	size_t n = main_sandbox_lists(shares_memory, false, false, lists);
	sandbox_prepare("main", lists, n);
	n = vcpu_sandbox_lists(shares_memory, false, false, lists);
	sandbox_prepare("vcpu", lists, n);
}

int vm_run(struct vm *vm)
{
	sigset_t set;
	uint64_t t0 = mono_us(), t1 = 0, t2 = 0;
	int sig_fd = vm_block_signals(&set);
	vm_virtio_choose_io_poll(vm);
	/* the Landlock set is complete once the VM exists; every thread started from here on
	 * applies it as it confines itself (sandbox.h) */
	if (sandbox_landlock_seal() || vcpu_install_kick_handler() || vm_virtio_start(vm) ||
	    vm_pci_start(vm->pci) || vm_devices_start(vm) || vm->device_ops->start(vm) ||
	    vm_hotplug_start(vm) || (t1 = mono_us(), confine_main(vm))) {
		vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
	} else {
		uint64_t tc = mono_us();
		if (vm->start_paused)
			vm_pause_hold_start(vm);
		vm->ran = true;
		for (unsigned i = 0; i < vm->ncpus && !vm_stopping(vm); i++) {
			if (vcpu_start(&vm->vcpus[i]))
				vm_stop(vm, VM_STOP_ERROR, VMM_EXIT_ERROR);
		}
		vm_pause_set_running(vm, !vm_stopping(vm));
		if (vm->start_paused && !vm_stopping(vm) && vm_pause(vm))
			log_warn("could not pause the restored VM: it runs");
		t2 = mono_us();
		log_debug("VM started in %llu us: device threads %llu, main confined %llu, vCPU "
			  "threads %llu",
			  (unsigned long long)(t2 - t0), (unsigned long long)(t1 - t0),
			  (unsigned long long)(tc - t1), (unsigned long long)(t2 - tc));
	}
	if (vm->on_started)
		vm->on_started(vm->on_started_opaque);
	wait_for_stop(vm, sig_fd);
	/* the signalfd is read no more: a stop signal during the teardown arms the deadline and
	 * ends nothing itself (on_late_stop()), so the teardown runs to its end */
	stop_signals_handled();
	vm_pause_set_running(vm, false); /* no pause kicks the threads joined below */
	vm_join_vcpus(vm);
	vm_devices_stop(vm);
	if (sig_fd >= 0)
		close(sig_fd);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	return vm->exit_status;
}

int vm_on_destroy(struct vm *vm, vm_destroy_fn fn)
{
	for (unsigned i = 0; i < vm->n_on_destroy; i++)
		if (vm->on_destroy[i] == fn)
			return 0;
	if (vm->n_on_destroy == VM_MAX_ON_DESTROY)
		return -ENOSPC;
	vm->on_destroy[vm->n_on_destroy++] = fn;
	return 0;
}

void vm_destroy(struct vm *vm)
{
	/* First, the last added first: the working set's loader touches guest RAM, before anything
	 * unmaps it; a page-fault handler's watch may stop the VM (and kick vCPUs) until joined,
	 * and the memory is released from the handler, so nothing below can wait on a page */
	while (vm->n_on_destroy)
		vm->on_destroy[--vm->n_on_destroy](vm);
	for (unsigned i = 0; i < vm->ncpus; i++) {
		if (vm->vcpus[i].fd >= 0)
			vcpu_destroy(&vm->vcpus[i]);
	}
	vm_virtio_destroy(vm);
	vm_hotplug_destroy(vm);
	vm_cpuhp_destroy(vm);
	vm_pci_destroy(vm->pci);
	vm->pci = NULL;
	/* after the virtio devices (display: writes --screenshot) */
	if (vm->device_ops)
		vm->device_ops->destroy(vm);
	vm_devices_destroy(vm);
	vm_firmware_destroy(vm);
	free(vm->cmdline);
	free(vm->guest_cpuid);
	vm->guest_cpuid = NULL;
	kvm_close(&vm->kvm);
	boot_files_close(&vm->boot);
	guest_mem_free(&vm->mem);
	io_bus_destroy(&vm->pio);
	io_bus_destroy(&vm->mmio);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	pthread_mutex_destroy(&vm->stop_lock);
	pthread_cond_destroy(&vm->stop_cond);
	vm_pause_destroy(vm);
}
