#include <criterion/criterion.h>
#include <errno.h>

#include "base/errors.h"

/* The errno class decides the exit status, whoever returned it. */
Test(errors, user_input_is_usage)
{
	const int usage[] = {EINVAL, ENOENT,  EEXIST, EACCES, EBUSY,
			     EISDIR, ENOEXEC, EFBIG,  E2BIG,  EPERM};
	for (size_t i = 0; i < sizeof(usage) / sizeof(usage[0]); i++) {
		cr_assert_eq(vmm_exit_status(-usage[i]), VMM_EXIT_USAGE, "errno %d", usage[i]);
		cr_assert_eq(vmm_exit_status(usage[i]), VMM_EXIT_USAGE, "positive errno %d",
			     usage[i]);
	}
}

Test(errors, resources_and_internal_failures_are_errors)
{
	const int internal[] = {ENOMEM, EIO, EFAULT, EAGAIN, EMFILE, ENOSPC};
	for (size_t i = 0; i < sizeof(internal) / sizeof(internal[0]); i++)
		cr_assert_eq(vmm_exit_status(-internal[i]), VMM_EXIT_ERROR, "errno %d",
			     internal[i]);
	cr_assert_eq(vmm_exit_status(VMM_ERR_INTERNAL), VMM_EXIT_ERROR);
	cr_assert_eq(vmm_exit_status(0), VMM_EXIT_OK);
}
