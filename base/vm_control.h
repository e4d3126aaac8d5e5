/* What a device may ask of the VM as a whole: stop it with an exit status.
 * Kept as a callback so device models build and test without a VM. */
#ifndef VMM_VM_CONTROL_H
#define VMM_VM_CONTROL_H

/* Exit statuses of the vmm process. */
enum vmm_exit_status {
	VMM_EXIT_OK = 0,	  /* guest powered off or reset itself */
	VMM_EXIT_ERROR = 1,	  /* VMM or KVM failure, internal error, bad exit */
	VMM_EXIT_USAGE = 2,	  /* bad command line, image or configuration */
	VMM_EXIT_TRIPLE_FAULT = 4 /* guest triple-faulted (KVM_EXIT_SHUTDOWN) */
				  /* isa-debug-exit: (value << 1) | 1, always odd */
};

enum vm_stop_reason {
	VM_STOP_POWEROFF,
	VM_STOP_RESET,
	VM_STOP_DEBUG_EXIT,
	VM_STOP_TRIPLE_FAULT,
	VM_STOP_SIGNAL,
	VM_STOP_USER,		  /* Ctrl-A x */
	VM_STOP_SHUTDOWN_TIMEOUT, /* vm_request_shutdown(): the guest did not stop in time */
	VM_STOP_ERROR,
};

/* The longest graceful stop a client may ask for (PUT /vmm/stop timeout_ms, vmmctl stop
 * --timeout-ms): one hour. */
#define VM_STOP_TIMEOUT_MAX_MS 3600000u

struct vm_control {
	/* Ask every vCPU to stop; the VMM exits with `status`. First request wins. Any thread. */
	void (*stop)(void *opaque, enum vm_stop_reason why, int status);
	void *opaque;
};

static inline void vm_control_stop(const struct vm_control *c, enum vm_stop_reason why, int status)
{
	if (c && c->stop)
		c->stop(c->opaque, why, status);
}

#endif
