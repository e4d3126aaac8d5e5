/* What the VM asks of the devices its configuration names. The VM (vmm/vm) sits below the device
 * descriptors (vmm/descriptors) and never walks their table: whoever builds a VM hands
 * vm_build() these hooks (the descriptors' own: vmm/descriptors/device_vm.h), and the VM calls
 * them where it used to name the table: the checks before KVM, the host console behind COM1, the
 * creation, the start, a terminal resize, the teardown, and the sandbox's questions. */
#ifndef VMM_VM_DEVICE_OPS_H
#define VMM_VM_DEVICE_OPS_H

#include <stdbool.h>

#include "host/ui/console.h"
#include "virtio/core/rate_limiter.h"
#include "vmm/config/vm_config.h"

struct vm;

/* The host side of the guest console behind COM1 (vmm/vm/vm_devices.c): --console's. */
struct vm_console_host {
	enum console_mode mode;
	const char *path;	   /* CONSOLE_MODE_FILE: a file or a FIFO */
	struct rl_bucket_cfg rate; /* a byte bucket over COM1's output; size 0: none */
};

struct vm_device_ops {
	/* Every device's check of what the user gave (its files, taps, sockets), before KVM is
	 * opened: 0 or -errno (logged). */
	int (*check)(const struct vm_config *cfg);
	/* What the configuration says of the console (COM1 on stdio when it says nothing). */
	struct vm_console_host (*console)(const struct vm_config *cfg);
	/* Creates every device, in order, once the legacy devices exist: 0, or the exit status
	 * for the failure's errno class (base/errors.h). */
	int (*create)(struct vm *vm);
	/* vm_run(), before the main thread confines itself: starts them. 0 or -errno. */
	int (*start)(struct vm *vm);
	/* The host terminal changed size (SIGWINCH, read by the main thread). Never blocks and
	 * takes no device lock. */
	void (*terminal_resized)(struct vm *vm);
	/* vm_destroy(), after the virtio devices: ends them in reverse order and frees their
	 * run-time blocks; also after a failed create. */
	void (*destroy)(struct vm *vm);
	/* A device hands guest RAM to another process (a vhost-user back-end): RAM becomes one
	 * shared memfd. */
	bool (*shares_memory)(const struct vm_config *cfg);
	/* A device is passed through (its DMA maps pin guest RAM). */
	bool (*passes_through)(const struct vm_config *cfg);
};

#endif
