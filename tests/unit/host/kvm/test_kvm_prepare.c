/* kvm_prepare_vm() (host/kvm/kvm.h): the next kvm_open_vm() of the same path takes the VM made
 * ahead, the one after it makes its own; another path does not take it; a path that is no KVM
 * leaves nothing and logs nothing. Uses the real /dev/kvm (skipped without it). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "base/log.h"
#include "host/kvm/kvm.h"
#include "host/kvm/kvm_probe.h"

static void need_kvm(void)
{
	struct kvm_probe p;
	if (kvm_probe("/dev/kvm", &p) != 0)
		cr_skip_test("no usable KVM (%s): kvm_prepare_vm tests skipped", p.reason);
}

/* The lowest free descriptor now: a descriptor below it was opened before. */
static int next_fd(void)
{
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	close(fd);
	return fd;
}

Test(kvm_prepare, the_next_open_takes_the_vm_made_ahead)
{
	need_kvm();
	kvm_prepare_vm("/dev/kvm");
	int after_prepare = next_fd();
	struct kvm a, b;
	cr_assert_eq(kvm_open_vm(&a, "/dev/kvm"), 0);
	cr_assert_lt(a.vm_fd, after_prepare, "the VM made ahead (fd < %d), got fd %d",
		     after_prepare, a.vm_fd);
	cr_assert_gt(a.vcpu_mmap_size, 0);
	/* A usable VM: its notifier acts on this struct's descriptor, and chips can be made. */
	cr_assert_eq(kvm_notifier(&a)->ctx, (void *)&a.vm_fd);
	cr_assert_eq(kvm_create_chips(&a), 0);
	cr_assert_eq(kvm_open_vm(&b, "/dev/kvm"), 0);
	cr_assert_geq(b.vm_fd, after_prepare, "the second open makes its own VM");
	kvm_close(&b);
	kvm_close(&a);
}

Test(kvm_prepare, another_path_does_not_take_it)
{
	need_kvm();
	cr_assert_eq(symlink("/dev/kvm", "/tmp/kvm_prepare.link") == 0 || errno == EEXIST, true);
	kvm_prepare_vm("/tmp/kvm_prepare.link");
	int after_prepare = next_fd();
	struct kvm a;
	cr_assert_eq(kvm_open_vm(&a, "/dev/kvm"), 0);
	cr_assert_geq(a.vm_fd, after_prepare, "a VM made for another path is not taken");
	kvm_close(&a);
	cr_assert_eq(kvm_open_vm(&a, "/tmp/kvm_prepare.link"), 0);
	cr_assert_lt(a.vm_fd, after_prepare, "the same path takes it");
	kvm_close(&a);
	unlink("/tmp/kvm_prepare.link");
}

Test(kvm_prepare, no_kvm_leaves_nothing_and_says_nothing)
{
	int before = next_fd();
	log_clear_last_error();
	kvm_prepare_vm("/dev/null");
	kvm_prepare_vm("/nonexistent/kvm");
	kvm_prepare_vm(NULL);
	cr_assert_eq(next_fd(), before, "no descriptor left open");
	const char *last = log_last_error();
	cr_assert(!last || !*last, "nothing logged, got '%s'", last ? last : "");
	struct kvm a;
	cr_assert_neq(kvm_open_vm(&a, "/dev/null"), 0, "/dev/null is no KVM");
}
