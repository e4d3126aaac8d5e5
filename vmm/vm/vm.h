/* The virtual machine as a whole: KVM, memory, buses, vCPUs, devices and the stop protocol. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>

#include "base/guest_mem.h"
#include "base/io_bus.h"
#include "base/vm_control.h"
#include "firmware/machine.h"
#include "host/kvm/kvm.h"
#include "loaders/boot.h"
#include "vmm/config/vm_config.h"
#include "vmm/vm/vcpu.h"

struct vm_device_ops;	/* vmm/vm/vm_device_ops.h */
struct vm_devices;	/* vmm/vm/vm_devices.c */
struct vm_arch_devices; /* vmm/vm/<arch>/vm_devices_arch.c */
struct vm_virtio;	/* vmm/vm/vm_virtio.c */
struct vm_pci;		/* vmm/vm/vm_pci.c */
struct vm_uffd;		/* vmm/snapshot/vm_uffd.c */
struct ws_loader;	/* vmm/snapshot/working_set_restore.c */
struct display_stack;	/* virtio/display/display_stack.c */
struct vm_firmware;	/* vmm/vm/x86/vm_firmware.c */
struct vm_hotplug;	/* vmm/vm/hotplug.c */
struct vm_cpuhp;	/* vmm/vm/cpu_hotplug.c */
struct virtio_dev;
struct vm_hotplug_devices;

struct cpuid_table;
struct pl011;

/* A layer above's teardown of what it attached to a VM (vm_on_destroy()). */
typedef void (*vm_destroy_fn)(struct vm *vm);
#define VM_MAX_ON_DESTROY 4

struct vm {
	const struct vm_config *cfg;
	/* What the VM asks of its configuration's devices (vm_build()'s); NULL before a build. */
	const struct vm_device_ops *device_ops;
	struct kvm kvm;
	struct guest_mem mem;
	struct boot_files
	    boot; /* kernel and initrd, read and checked before KVM; freed once loaded */
	struct io_bus pio;
	struct io_bus mmio;
	unsigned ncpus; /* every possible vCPU: --cpus max=M (the absent ones stand by) */
	struct vcpu vcpus[VM_MAX_CPUS];
	struct vm_devices *devices;
	struct vm_arch_devices *arch_devices; /* the platform's (arch_vm.h); NULL: none yet */
	struct vm_virtio *virtio;
	struct display_stack *display; /* NULL without display options */
	struct vm_pci *pci;	       /* NULL unless a device uses --transport pci */
	struct vm_firmware *firmware;  /* NULL without --firmware */
	struct vm_hotplug *hotplug;    /* PCI hotplug (vmm/vm/hotplug.h); NULL: none */
	struct vm_cpuhp *cpuhp;	       /* vCPU hotplug (vmm/vm/cpu_hotplug.h); NULL: none */
	/* What PCI hotplug's thread needs of the device kinds (vmm/vm/hotplug.h), set with the
	 * devices' creation; NULL: nothing. */
	const struct vm_hotplug_devices *hotplug_devices;
	/* The run-time blocks of devices that keep one (device_state() in
	 * vmm/descriptors/device_table.h: the disks' and NICs' devices, for run-time changes),
	 * indexed like device_table[]; NULL until the device's create() makes it. */
	void *device_state[VM_MAX_DEVICE_KINDS];
	char *cmdline;		   /* what the guest gets: --append plus the VMM's own entries */
	struct machine machine;	   /* what the guest is told it has (firmware/machine.h) */
	struct vm_control control; /* handed to devices: calls vm_stop() */
	/* vCPU 0's CPUID as set (vcpu.c; a restore's, snapshot_restore()): the CPU model that
	 * snapshots and migrations carry (host/kvm/x86/cpu_model.h). NULL until vCPU 0 exists. */
	struct cpuid_table *guest_cpuid;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond; /* signalled when the last kicker is done (vm_run's teardown) */
	bool stopping;		  /* read with __atomic loads from vCPU threads */
	bool vcpus_gone;	  /* under stop_lock: vm_run joins them, so vm_stop() kicks none */
	unsigned kickers;	  /* under stop_lock: vm_stop() calls kicking the vCPUs right now */
	enum vm_stop_reason stop_reason;
	int exit_status;
	int stop_fd; /* eventfd, readable once the VM is stopping */
	struct vm_uffd
	    *uffd; /* RAM served by a page-fault handler (vmm/snapshot/vm_uffd.h), or NULL */
	/* the working set loading while the vCPUs run (working_set_restore.h), or NULL */
	struct ws_loader *ws_loader;
	/* vm_on_destroy()'s, run first by vm_destroy(), the last one added first. */
	vm_destroy_fn on_destroy[VM_MAX_ON_DESTROY];
	unsigned n_on_destroy;
	/* The memory file a restored VM's RAM is mapped from (0, 0 for fresh RAM). */
	unsigned long mem_file_dev, mem_file_ino;
	/* Called by vm_run() once the vCPUs are started (and paused, with start_paused) or the
	 * start failed: lets a control thread that asked for the start wait for it. */
	void (*on_started)(void *opaque);
	void *on_started_opaque;
	bool migrated;	   /* came from a live migration: vCPU 0 logs when the guest runs again */
	bool ran;	   /* vm_run() got to start the vCPUs: a start that failed before that
			    * removes the files it created (the console file: vm_devices_destroy()) */
	bool start_paused; /* vm_run() starts the VM paused, before any guest instruction (a
			    * restore's resume_vm=false, a migration's prebuilt destination) */

	/* Pause, resume and graceful stop (vmm/vm/vm_pause.h). */
	pthread_mutex_t pause_ctl;  /* serialises vm_pause(), vm_resume(), vm_request_shutdown() */
	pthread_mutex_t pause_lock; /* the vCPUs' park handshake, with pause_cond */
	pthread_cond_t pause_cond;  /* on CLOCK_MONOTONIC */
	bool pause_req;		    /* vCPUs park; __atomic (vCPU threads poll it) */
	bool paused;		    /* __atomic */
	bool running;		    /* the vCPU threads exist; under pause_ctl */
	bool clock_saved;	    /* `clock` holds the guest's clock at the last pause */
	uint64_t clock;		    /* vm_arch_clock_get(); under pause_ctl */
	uint64_t pause_count;	    /* __atomic */
	uint64_t shutdown_deadline_ns; /* CLOCK_MONOTONIC, 0 = none; __atomic */
};

/* Builds the whole VM from `cfg` with its devices `devices` (the device descriptors' hooks:
 * vm_create() in vmm/descriptors/device_vm.h is this call): KVM, RAM, devices, kernel and boot
 * state, vCPUs. Returns 0, or the exit status to end with, chosen by the errno class of the
 * failure (base/errors.h: VMM_EXIT_USAGE for a bad image, file or device option, VMM_EXIT_ERROR
 * for resources and KVM); the reason was logged. vm_destroy() is safe after a failed build. */
int vm_build(struct vm *vm, const struct vm_config *cfg, const struct vm_device_ops *devices);

/* vm_build() without KVM (vm_describe()): the same checks of every input, the devices (their KVM
 * notifications going nowhere) and the kernel loaded, so vm->machine describes exactly the VM
 * vm_build() would build; no vCPUs, nothing to run. vm_destroy() after, in every case. */
int vm_build_description(struct vm *vm, const struct vm_config *cfg,
			 const struct vm_device_ops *devices);

/* vm_build() for a VM made from another's state (vm_create_restored() and its variants): no
 * kernel is loaded, and guest RAM is the memory file `mem_fd` mapped copy-on-write. */
int vm_build_restored(struct vm *vm, const struct vm_config *cfg,
		      const struct vm_device_ops *devices, int mem_fd);

/* vm_build_restored() with guest RAM mapped and served by another party: serve(vm, `path`) makes
 * vm->mem (vm->cfg->mem_size bytes) before anything touches it (a page-fault handler,
 * vmm/snapshot/vm_uffd.h), 0 or -errno (logged). */
typedef int (*vm_ram_serve_fn)(struct vm *vm, const char *path);
int vm_build_served(struct vm *vm, const struct vm_config *cfg, const struct vm_device_ops *devices,
		    vm_ram_serve_fn serve, const char *path);

/* vm_build_restored() with guest RAM `mem`, already filled (a live migration's), taken over by
 * the VM (zeroed here; vm_destroy() frees it, on failure too). */
int vm_build_migrated(struct vm *vm, const struct vm_config *cfg,
		      const struct vm_device_ops *devices, struct guest_mem *mem);

/* `fn` runs first in vm_destroy(), before the vCPUs and the RAM go, the last one added first: a
 * layer above ends there what it attached to the VM (a restore's page-fault handler, the working
 * set's loading thread). Adding one already there does nothing. 0, or -ENOSPC (none added). */
int vm_on_destroy(struct vm *vm, vm_destroy_fn fn);

/* Blocks the signals the main thread reads from a signalfd in the calling thread (and so in every
 * thread it creates afterwards) and returns that signalfd (-1 on failure); `set` gets the set, for
 * unblocking later. The signals: SIGINT, SIGTERM and SIGHUP (stop the VMM) and SIGWINCH (the host
 * terminal changed size: the devices' terminal_resized hook). No signal handler does any work.
 * It blocks the vCPU kick too (vcpu_block_kick(), not in the signalfd). vm_run() does this
 * itself; a caller that starts threads earlier calls it first. */
int vm_block_signals(sigset_t *set);

/* A stop signal (SIGINT, SIGTERM, SIGHUP) ends the VMM in bounded time, whatever a thread is
 * blocked in, and with its cleanup done: once the main thread has taken the first one (from the
 * signalfd) it calls this, which records it (vm_stop_signalled(): a restore's page-fault wait
 * gives up at once), installs a handler for the stop signals that only records them and unblocks
 * them in the calling thread, and ends the process with status 128 + `signo` after `seconds`
 * (SIGALRM, one line on stderr) should the teardown still be running then. A second stop signal
 * (`timeout`, a process-group kill: SIGTERM, then SIGTERM, SIGINT or SIGHUP) is taken by that
 * handler and ends nothing itself, so the teardown still removes the API and vsock sockets.
 * Only the first call counts. However the VM stopped, vm_run() installs the same handler once
 * it stops reading the signalfd (its teardown): a stop signal then arms the deadline. */
#define VM_STOP_DEADLINE_S 20
void vm_stop_deadline(int signo, unsigned seconds);

/* True once a stop signal was taken (vm_stop_deadline(), or the handler of the teardown): any
 * thread; what waits for another process (a page-fault handler) stops waiting. */
bool vm_stop_signalled(void);

/* Compiles ahead (sandbox_prepare()) the filters of the main thread and of the vCPU threads of a
 * VM without passed-through devices, with `shares_memory` (a vhost-user device or --mem-shared)
 * or without: for a VMM that waits for a VM to load, so that vm_run() loads them at once. */
void vm_prepare_filters(bool shares_memory);

/* Runs the vCPUs until the guest or a signal stops the VM; returns the exit status. */
int vm_run(struct vm *vm);

void vm_destroy(struct vm *vm);

/* Requests a stop (first request's status wins) and kicks every vCPU. Any thread, also while
 * vm_run() tears the VM down (vm_join_vcpus(): then it kicks nobody). */
void vm_stop(struct vm *vm, enum vm_stop_reason why, int status);

static inline bool vm_stopping(struct vm *vm)
{
	return __atomic_load_n(&vm->stopping, __ATOMIC_ACQUIRE);
}

/* Legacy devices and the console (vmm/vm/vm_devices.c; ctrl-alt-del below and the platform
 * devices' own calls, x86's in vmm/vm/x86/vm_devices_arch.h: vmm/vm/<arch>/vm_devices_arch.c). */
int vm_devices_create(struct vm *vm);
int vm_devices_start(struct vm *vm);
void vm_devices_stop(struct vm *vm);
void vm_devices_destroy(struct vm *vm);
/* The host console behind COM1 (and a virtio-console). */
struct console *vm_devices_console(struct vm *vm);
/* COM1's output counters for the metrics' "uart" (Firecracker's names where it has them). */
struct vm_uart_counters {
	uint64_t rate_limiter_dropped_bytes; /* over --console ...,bw= (the serial rate_limiter) */
	uint64_t fifo_dropped_bytes;	     /* a FIFO output had no room (host/ui/console.h) */
	bool attached;			     /* COM1 exists: the registers below are its */
	uint8_t ier, mcr, iir, line;	     /* uart8250_view(): what the guest's driver left */
};
void vm_devices_uart_counters(struct vm *vm, struct vm_uart_counters *c);
/* Ctrl-Alt-Del on the architecture's keyboard controller (x86: the i8042,
 * i8042_press_ctrl_alt_del()): 0, -ENODEV before the devices exist, -EAGAIN or -ENOSPC from the
 * keyboard, -ENOTSUP where the architecture has no keyboard controller. Any thread. */
int vm_devices_ctrl_alt_del(struct vm *vm);

/* An irq_line's set (base/irq.h) for a device of `opaque`, a struct vm: KVM_IRQ_LINE on the
 * VM's line `gsi`; a failure is logged at debug level (a line KVM refuses changes nothing). */
void vm_irq_line_set(void *opaque, unsigned gsi, int level);
/* A press of the ACPI power button (the Generic Event Device, devices/acpi_ged.h): 0, -ENODEV
 * without it (--acpi off, or before the devices). */
int vm_devices_power_button(struct vm *vm);
/* Raises Generic Event Device events (ACPI_GED_* of devices/acpi_ged.h): 0, -ENODEV without
 * it, -EINVAL for an unknown bit. Any thread. */
int vm_devices_acpi_event(struct vm *vm, uint32_t bits);
/* A fresh VM's first VM generation ID (devices/vmgenid.h) in guest memory (with --firmware: for
 * fw_cfg, which the firmware copies), before the boot files are loaded: 0 (also without the
 * device: --acpi off) or -errno, logged. */
int vm_devices_boot(struct vm *vm);
/* A restored VM (or a clone, a fork) is a new generation: a new ID, the guest notified
 * (vmgenid_new_generation()). 0 (also without the device) or -errno, logged. */
int vm_devices_new_generation(struct vm *vm);
/* The firmware wrote back where it placed the VM generation ID (etc/vmgenid_addr). */
void vm_devices_vmgenid_placed(struct vm *vm);
/* The legacy devices of vm->devices, NULL when not attached (a snapshot saves them:
 * vmm/snapshot/vm_snapshot_devices.h; vm->arch_devices': vmm/vm/<arch>/vm_devices_arch.h). */
struct uart8250 *vm_devices_com1(struct vm *vm);
struct pl011 *vm_devices_pl011(struct vm *vm); /* the console UART instead of COM1 (arm64) */
struct boot_timer *vm_devices_boot_timer(struct vm *vm);
struct acpi_ged *vm_devices_acpi_ged(struct vm *vm);
struct vmgenid *vm_devices_vmgenid(struct vm *vm);

/* Calls fn for every virtio device the VM has, mmio windows first, then PCI, in the order
 * the guest sees them; stops at and returns fn's first non-zero value.
 * (vmm/vm/vm_virtio_devices.c) */
int vm_for_each_virtio_dev(struct vm *vm, int (*fn)(struct virtio_dev *dev, void *opaque),
			   void *opaque);
/* Sets every virtio device's polling window cap: --io-poll, or when it was not given the default
 * for the I/O threads all the devices have together (vmm/vm/io_poll.h). Before their threads
 * start. */
void vm_virtio_choose_io_poll(struct vm *vm);

#endif
