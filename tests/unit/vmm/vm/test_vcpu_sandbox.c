/* The lists a vCPU thread's seccomp filter is made of (vmm/vm/vcpu.c, vcpu_sandbox_lists()): what
 * changes the guest's memory map is allowed only where something needs it (a passed-through
 * device's BARs, a UEFI variable store's flash). */
#include <criterion/criterion.h>
#include <linux/kvm.h>
#include <sys/syscall.h>

#include "host/sandbox/sandbox.h"
#include "vmm/vm/vcpu.h"
#include "vmm/vm/vm_vfio.h"

/* True when one of the n lists allows ioctl(`request`). */
static bool allows_ioctl(const struct sandbox_list *const *lists, size_t n, unsigned long request)
{
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < lists[i]->n; k++) {
			const struct sandbox_rule *r = &lists[i]->rules[k];
			if (r->nr == SYS_ioctl && r->cmp == SANDBOX_EQ && r->arg == 1 &&
			    r->value == request)
				return true;
		}
	return false;
}

Test(vcpu_sandbox, the_memory_map_changes_only_where_a_device_needs_it)
{
	const struct sandbox_list *lists[VCPU_SANDBOX_LISTS];
	size_t n = vcpu_sandbox_lists(false, false, false, lists);
	cr_assert_eq(n, 2, "the generic list and the architecture's state reads");
	cr_assert_not(allows_ioctl(lists, n, KVM_SET_USER_MEMORY_REGION),
		      "a plain VM's vCPUs may change its memory map");
	n = vcpu_sandbox_lists(true, false, false, lists);
	cr_assert_not(allows_ioctl(lists, n, KVM_SET_USER_MEMORY_REGION), "vhost-user");
	n = vcpu_sandbox_lists(false, false, true, lists);
	cr_assert_eq(n, 3);
	cr_assert_eq(lists[2], &vcpu_flash_sandbox);
	cr_assert(allows_ioctl(lists, n, KVM_SET_USER_MEMORY_REGION), "the flash's slot");
	n = vcpu_sandbox_lists(true, true, true, lists);
	cr_assert_eq(n, VCPU_SANDBOX_LISTS, "every list fits");
	cr_assert_eq(lists[3], &vm_vfio_vcpu_sandbox);
	cr_assert(allows_ioctl(lists, 4, KVM_SET_USER_MEMORY_REGION), "a BAR moved");
}
