/* A CPU template's KVM capabilities (kvm_caps.h). */
#include "host/kvm/kvm_caps.h"

#include <errno.h>
#include <linux/kvm.h>

#include "base/log.h"
#include "host/kvm/kvm.h"

int kvm_caps_required(int dev_fd, const int32_t *caps, unsigned n, const char *name)
{
	for (unsigned i = 0; i < n; i++) {
		if (caps[i] < 0 || kvm_ioctl(dev_fd, KVM_CHECK_EXTENSION, caps[i]) > 0)
			continue;
		log_error("CPU template %s: this host's KVM does not have capability %d", name,
			  caps[i]);
		return -EINVAL;
	}
	return 0;
}
