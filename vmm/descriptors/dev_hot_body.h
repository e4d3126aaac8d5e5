/* What the devices' Cloud Hypervisor add bodies and Firecracker hot-add checks share
 * (struct device_api_ext's add_body and fc_add_check: dev_*_api_ext.c). */
#ifndef VMM_DESCRIPTORS_DEV_HOT_BODY_H
#define VMM_DESCRIPTORS_DEV_HOT_BODY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "vmm/descriptors/device_api_ext.h"

/* Appends item key=value (value NULL: a flag) to out->items: 0, or -ENOMEM with err filled. */
int dev_hot_add(struct device_hot_body *out, const char *key, const char *value, char *err,
		size_t errlen);
/* Appends item key=N. */
int dev_hot_add_num(struct device_hot_body *out, const char *key, unsigned long long n, char *err,
		    size_t errlen);
/* A name or path of a body: not empty, nothing unprintable (any other character, a comma
 * included: the record's items hold it whole). 0 or -EINVAL with the reason in err. */
int dev_hot_safe(const char *what, const char *s, char *err, size_t errlen);
/* dev_hot_safe()'s rules, and at most max bytes. */
int dev_hot_item(const char *what, const char *s, size_t max, char *err, size_t errlen);
/* What every body shares: the fields taken at their one value only (pci_segment 0, no iommu,
 * vhost_socket only with vhost_user, queue_size only where `queue_size` or vhost_user), and
 * the id into out->id. 0 or -EINVAL. */
int dev_hot_common(const json_t *body, struct device_hot_body *out, bool queue_size, char *err,
		   size_t errlen);
/* The body's "rate_limiter_config" as items, their keys after `prefix` ("", "rx-", "tx-"). */
int dev_hot_rate_limits(const json_t *body, struct device_hot_body *out, const char *prefix,
			char *err, size_t errlen);
/* Cloud Hypervisor's vhost-user disk (`blk`) or NIC ("vhost_user": true, "vhost_socket"): the
 * --disk or --net vhost-user= record, checked by its own parser (vu_opts.h), whose descriptor
 * becomes out->owner (device_table_hotplug_alt()). 0 or -EINVAL / -ENOMEM. */
int dev_hot_vu_body(const json_t *body, struct device_hot_body *out, bool blk, char *err,
		    size_t errlen);
/* Firecracker's hot-add checks every kind shares: no root device, a vhost-user record exactly
 * when the body was one, and only where `vu_allowed`. 0 or -EINVAL with the reason in err. */
int dev_hot_fc_common(const char *id, const struct opt_items *items, bool vhost_user,
		      bool vu_allowed, char *err, size_t errlen);

/* The devices' further API hooks (dev_*_api_ext.c). */
extern const struct device_api_ext dev_disk_api_ext, dev_net_api_ext, dev_vsock_api_ext,
    dev_pmem_api_ext, dev_fs_api_ext;
/* A drive's hooks for a live fork's disk snapshots (dev_disk_fork.c). */
extern const struct device_fork_disk dev_disk_fork;

#endif
