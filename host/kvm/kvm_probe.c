/* The host KVM probe: each step's failure gets the reason and the fix (kvm_probe.h). The reason
 * texts are shared with tools/kvm-probe.sh word for word. */
#include "host/kvm/kvm_probe.h"
#include "host/kvm/kvm.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fix for a node that is not the KVM device (major 10, minor 232: KVM_MINOR). */
#define FIX_WRONG_NODE                                                                             \
	"point --kvm at the KVM device (character device 10:232, normally /dev/kvm); if /dev/kvm " \
	"itself is not it, recreate it with mknod /dev/kvm c 10 232"

/* The fix shared by every case where no vendor module serves KVM. */
#define FIX_LOAD_VENDOR                                                                            \
	"load kvm_intel or kvm_amd (modprobe kvm_intel), enable virtualization (VT-x/AMD-V) in "   \
	"the firmware, or on a VM enable nested virtualization on its host"

static void reason(struct kvm_probe *out, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void reason(struct kvm_probe *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static void fix(struct kvm_probe *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fix(struct kvm_probe *out, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(out->fix, sizeof(out->fix), fmt, ap);
	va_end(ap);
}

/* Records a failed step: returns -err. */
static int unusable(struct kvm_probe *out, int err)
{
	out->usable = false;
	out->kind = KVM_KIND_NONE;
	out->err = err;
	return -err;
}

/* True when `sys_root`/`rel` exists (a loaded module's directory, a registered device). */
static bool sys_has(const char *sys_root, const char *rel)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), "%s/%s", sys_root, rel);
	return n > 0 && (size_t)n < sizeof(p) && access(p, F_OK) == 0;
}

enum kvm_kind kvm_probe_kind(const char *sys_root)
{
	/* kvm_pvm first: loaded beside kvm_intel (a nested host without VMX passthrough), it is
	 * the one that registered /dev/kvm, since only one vendor module can. */
	if (sys_has(sys_root, "module/kvm_pvm"))
		return KVM_KIND_PVM;
	if (sys_has(sys_root, "module/kvm_intel"))
		return KVM_KIND_INTEL;
	if (sys_has(sys_root, "module/kvm_amd"))
		return KVM_KIND_AMD;
	return KVM_KIND_UNKNOWN;
}

/* Step 1 failed with ENOENT: which of the modules are there says why. */
static int missing(const char *path, const char *sys_root, struct kvm_probe *out)
{
	if (!sys_has(sys_root, "module/kvm")) {
		reason(out, "%s does not exist and no kvm module is loaded", path);
		fix(out, "%s", FIX_LOAD_VENDOR);
	} else if (sys_has(sys_root, "class/misc/kvm")) {
		/* Registered (misc 10:232) but without a node here: a container, or no udev. */
		reason(out, "%s does not exist although the kvm module is loaded", path);
		fix(out,
		    "the kvm device is registered but has no node here: create it (mknod %s c 10 "
		    "232) or, in a container, pass the host's /dev/kvm in",
		    path);
	} else {
		reason(out, "%s does not exist although the kvm module is loaded", path);
		fix(out, "the kvm module is loaded but no vendor module registered /dev/kvm: %s",
		    FIX_LOAD_VENDOR);
	}
	return unusable(out, ENOENT);
}

/* Step 3 failed with `err`. */
static int cannot_open(const char *path, int err, struct kvm_probe *out)
{
	reason(out, "cannot open %s: %s", path, strerror(err));
	if (err == EACCES || err == EPERM)
		fix(out,
		    "add the user to group kvm (usermod -aG kvm USER, then log in again) or run "
		    "as root; in a container, allow the device (c 10:232 rw)");
	else if (err == ENXIO || err == ENODEV) /* a node no driver serves */
		fix(out, "no driver serves the node: %s", FIX_LOAD_VENDOR);
	else
		fix(out,
		    "check that %s is the KVM device (character device 10:232) and read the "
		    "kernel log (dmesg) for KVM errors",
		    path);
	return unusable(out, err);
}

/* Step 5 failed with `err`. */
static int cannot_create_vm(int err, struct kvm_probe *out)
{
	reason(out, "KVM_CREATE_VM failed: %s", strerror(err));
	if (err == EBUSY)
		fix(out,
		    "VT-x/AMD-V is held by another hypervisor (VirtualBox, VMware): stop it or "
		    "unload its module; on a VM enable nested virtualization on its host");
	else if (err == ENOMEM)
		fix(out, "free host memory and retry");
	else
		fix(out, "enable virtualization (VT-x/AMD-V) in the firmware, or on a VM nested "
			 "virtualization on its host (kvm_intel nested=1 or kvm_amd nested=1); "
			 "dmesg tells KVM's reason");
	return unusable(out, err);
}

/* Steps 4 and 5 on the open device. */
static int check_device(int fd, const char *path, struct kvm_probe *out)
{
	int version = kvm_ioctl(fd, KVM_GET_API_VERSION, 0);
	if (version < 0) {
		reason(out, "%s is not a KVM device (KVM_GET_API_VERSION failed)", path);
		fix(out, "%s", FIX_WRONG_NODE);
		return unusable(out, ENOTTY);
	}
	if (version != KVM_API_VERSION) {
		reason(out, "KVM API version %d, need %d", version, KVM_API_VERSION);
		fix(out, "run a Linux kernel with KVM's stable API (version 12, every kernel since "
			 "2.6.22)");
		return unusable(out, ENOTSUP);
	}
	int vm_fd = kvm_ioctl(fd, KVM_CREATE_VM, 0);
	if (vm_fd < 0)
		return cannot_create_vm(errno, out);
	close(vm_fd);
	return 0;
}

int kvm_probe_at(const char *path, const char *sys_root, struct kvm_probe *out)
{
	*out = (struct kvm_probe){0};
	struct stat st;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? missing(path, sys_root, out)
				       : cannot_open(path, errno, out);
	if (!S_ISCHR(st.st_mode)) {
		reason(out, "%s is not a character device", path);
		fix(out, "%s", FIX_WRONG_NODE);
		return unusable(out, ENODEV);
	}
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return cannot_open(path, errno, out);
	int err = check_device(fd, path, out);
	close(fd);
	if (err)
		return err;
	out->usable = true;
	out->kind = kvm_probe_kind(sys_root);
	return 0;
}

int kvm_probe(const char *path, struct kvm_probe *out)
{
	return kvm_probe_at(path, "/sys", out);
}

char *kvm_probe_line(const struct kvm_probe *p, char *buf, size_t len)
{
	static const char *const usable[] = {
	    [KVM_KIND_NONE] = "unknown module",	      [KVM_KIND_UNKNOWN] = "unknown module",
	    [KVM_KIND_INTEL] = "hardware, kvm_intel", [KVM_KIND_AMD] = "hardware, kvm_amd",
	    [KVM_KIND_PVM] = "emulated, kvm_pvm",
	};
	if (p->usable)
		snprintf(buf, len, "kvm: usable (%s)", usable[p->kind]);
	else
		snprintf(buf, len, "kvm: unusable: %s; fix: %s", p->reason, p->fix);
	return buf;
}
