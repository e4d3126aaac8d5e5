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

struct vm_devices;    /* vmm/vm/vm_devices.c */
struct vm_virtio;     /* vmm/vm/vm_virtio.c */
struct vm_pci;	      /* vmm/vm/vm_pci.c */
struct vm_uffd;	      /* vmm/snapshot/vm_uffd.c */
struct ws_loader;     /* vmm/snapshot/working_set_restore.c */
struct display_stack; /* vmm/display/display_stack.c */
struct vm_firmware;   /* vmm/vm/vm_firmware.c */
struct vm_hotplug;    /* vmm/vm/hotplug.c */
struct vm_cpuhp;      /* vmm/vm/cpu_hotplug.c */
struct virtio_dev;
struct vm_hotplug_devices;

struct cpuid_table;

struct vm {
	const struct vm_config *cfg;
	struct kvm kvm;
	struct guest_mem mem;
	struct boot_files
	    boot; /* kernel and initrd, read and checked before KVM; freed once loaded */
	struct io_bus pio;
	struct io_bus mmio;
	unsigned ncpus; /* every possible vCPU: --cpus max=M (the absent ones stand by) */
	struct vcpu vcpus[VM_MAX_CPUS];
	struct vm_devices *devices;
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
	pthread_mutex_t pause_ctl;   /* serialises vm_pause(), vm_resume(), vm_request_shutdown() */
	pthread_mutex_t pause_lock;  /* the vCPUs' park handshake, with pause_cond */
	pthread_cond_t pause_cond;   /* on CLOCK_MONOTONIC */
	bool pause_req;		     /* vCPUs park; __atomic (vCPU threads poll it) */
	bool paused;		     /* __atomic */
	bool running;		     /* the vCPU threads exist; under pause_ctl */
	bool clock_saved;	     /* `clock` holds KVM_GET_CLOCK of the last pause */
	struct kvm_clock_data clock; /* under pause_ctl */
	uint64_t pause_count;	     /* __atomic */
	uint64_t shutdown_deadline_ns; /* CLOCK_MONOTONIC, 0 = none; __atomic */
};

/* Builds the whole VM from `cfg`: KVM, RAM, devices, kernel and boot state, vCPUs. Returns 0, or
 * the exit status to end with, chosen by the errno class of the failure (base/errors.h:
 * VMM_EXIT_USAGE for a bad image, file or device option, VMM_EXIT_ERROR for resources and
 * KVM); the reason was logged. vm_destroy() is safe after a failed vm_create(). */
int vm_create(struct vm *vm, const struct vm_config *cfg);

/* vm_create() without KVM, for --dump-dtb: the same checks of every input, the devices (their
 * KVM notifications going nowhere) and the kernel loaded, so vm->machine describes exactly the
 * VM vm_create() would build; no vCPUs, nothing to run. vm_destroy() after, in every case. */
int vm_describe(struct vm *vm, const struct vm_config *cfg);

/* vm_create() for a snapshot being restored (vmm/snapshot/vm_snapshot.h): guest RAM is the memory
 * file `mem_fd` mapped copy-on-write, and no kernel is loaded; the caller then sets the saved state
 * back with snapshot_restore(). Same return values as vm_create(). */
int vm_create_restored(struct vm *vm, const struct vm_config *cfg, int mem_fd);

/* vm_create_restored() with guest RAM anonymous and filled by the page-fault handler listening
 * at `uffd_path` (vmm/snapshot/vm_uffd.h: registered and handed over before anything touches it).
 */
int vm_create_restored_uffd(struct vm *vm, const struct vm_config *cfg, const char *uffd_path);

/* vm_create_restored() for a live migration's destination (vmm/migration/vm_migrate.h): guest RAM
 * is `mem`, already received (a memfd mapped shared, or the source's own memfd for a local
 * migration), taken over by the VM (zeroed here; vm_destroy() frees it, on failure too). */
int vm_create_migrated(struct vm *vm, const struct vm_config *cfg, struct guest_mem *mem);

/* Blocks the signals the main thread reads from a signalfd in the calling thread (and so in every
 * thread it creates afterwards) and returns that signalfd (-1 on failure); `set` gets the set, for
 * unblocking later. The signals: SIGINT, SIGTERM and SIGHUP (stop the VMM) and SIGWINCH (the host
 * terminal changed size: vm_terminal_resized()). No signal handler does any work. It blocks the
 * vCPU kick too (vcpu_block_kick(), not in the signalfd). vm_run() does this itself; a caller
 * that starts threads earlier calls it first. */
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

/* Legacy devices and the console (vmm/vm/vm_devices.c). */
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
};
void vm_devices_uart_counters(struct vm *vm, struct vm_uart_counters *c);
/* Ctrl-Alt-Del on the i8042 keyboard (i8042_press_ctrl_alt_del()): 0, -ENODEV before the devices
 * exist, -EAGAIN or -ENOSPC from the keyboard. Any thread. */
int vm_devices_ctrl_alt_del(struct vm *vm);
/* A press of the ACPI power button (the Generic Event Device, devices/acpi_ged.h): 0, -ENODEV
 * without it (--acpi off, or before the devices). */
int vm_devices_power_button(struct vm *vm);
/* The reset control register (port 0xCF9, devices/x86/reset_control.h) lies inside the PCI
 * configuration window: before the bus claims 0xCF8-0xCFF its own port is released, and once the
 * bus (vm->pci) exists the bus hands the byte accesses on. */
void vm_devices_release_cf9(struct vm *vm);
void vm_devices_cf9_to_pci(struct vm *vm);
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

/* The virtio devices the configuration asks for, created by walking the device table
 * (vmm/descriptors/device_table.h). Returns 0, or the exit status for the failure's errno class
 * (base/errors.h): VMM_EXIT_USAGE for what the user gave (a missing or locked disk file, a tap
 * that cannot be opened), VMM_EXIT_ERROR for the rest (out of memory, KVM wiring). */
int vm_virtio_create_devices(struct vm *vm);
/* Calls fn for every virtio device the VM has, mmio windows first, then PCI, in the order
 * the guest sees them; stops at and returns fn's first non-zero value.
 * (vmm/vm/vm_virtio_devices.c) */
int vm_for_each_virtio_dev(struct vm *vm, int (*fn)(struct virtio_dev *dev, void *opaque),
			   void *opaque);
/* Sets every virtio device's polling window cap: --io-poll, or when it was not given the default
 * for the I/O threads all the devices have together (vmm/vm/io_poll.h). Before their threads
 * start. */
void vm_virtio_choose_io_poll(struct vm *vm);
/* The table's start hooks, in order (0 or -errno), and its destroy hooks, in reverse order. */
int vm_virtio_start_devices(struct vm *vm);
void vm_virtio_destroy_devices(struct vm *vm);
/* The host terminal changed size (SIGWINCH, read from the signalfd by the main thread): the
 * table's terminal_resized hooks, in order. Never blocks and takes no device lock. */
void vm_terminal_resized(struct vm *vm);

#endif
