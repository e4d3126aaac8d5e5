/* One error-reporting convention for the whole VMM.
 *
 *   1. Functions return 0 or -errno. Parsers (command-line options, device options) never log:
 *      they fill a caller's `char *err, size_t errlen` buffer with what was wrong.
 *   2. The edge logs once: cli.c prints "vmm: --OPTION ARG: <err>", vm_create() and the device
 *      create functions log the file, tap or KVM call that failed, and nothing above them
 *      logs the same failure again.
 *   3. The errno class, not the call site, decides the exit status (vmm_exit_status()):
 *        bad user input -> VMM_EXIT_USAGE (2): EINVAL, ERANGE, E2BIG, ENOENT, EACCES, EPERM,
 *          EISDIR, ENOTDIR, ENOEXEC, EFBIG, EBUSY (a locked disk), EROFS, ENXIO/ENODEV (no
 *          such device or interface), ENOTSUP (an option this build lacks), ELOOP,
 *          ENAMETOOLONG;
 *        anything else -> VMM_EXIT_ERROR (1): ENOMEM, EIO, EFAULT, KVM ioctl errors, ...
 *      A failure that is ours whatever errno a lower layer chose (wiring a device to KVM) is
 *      returned as VMM_ERR_INTERNAL.
 *   4. Complaints a guest can trigger at will (a refused feature set, a broken descriptor
 *      chain) go through log_guest_warn() (base/log.h), which is rate limited, so a guest
 *      cannot flood the host's stderr. */
#ifndef VMM_ERRORS_H
#define VMM_ERRORS_H

#include <errno.h>

#include "base/vm_control.h"

/* A failure on the VMM's side whose original errno was logged and does not matter here. */
#define VMM_ERR_INTERNAL (-EIO)

/* True when -errno `err` (or errno `err`) means the user gave something wrong. */
static inline int vmm_err_is_usage(int err)
{
	switch (err < 0 ? -err : err) {
	case EINVAL:
	case ERANGE:
	case E2BIG:
	case ENOENT:
	case EEXIST:
	case EACCES:
	case EPERM:
	case EISDIR:
	case ENOTDIR:
	case ENOEXEC:
	case EFBIG:
	case EBUSY:
	case EROFS:
	case ENXIO:
	case ENODEV:
	case ENOTSUP:
	case ELOOP:
	case ENAMETOOLONG:
		return 1;
	default:
		return 0;
	}
}

/* The exit status for -errno `err`: 0 for 0, else VMM_EXIT_USAGE or VMM_EXIT_ERROR. */
static inline int vmm_exit_status(int err)
{
	if (!err)
		return VMM_EXIT_OK;
	return vmm_err_is_usage(err) ? VMM_EXIT_USAGE : VMM_EXIT_ERROR;
}

#endif
