/* The API model's drives and network interfaces as the tests read them: documents of the
 * "drives" and "network-interfaces" sections (vmm/descriptors/dev_disk_api.c, dev_net_api.c), kept
 * by api_devices.h. */
#ifndef TESTS_MODEL_DOCS_H
#define TESTS_MODEL_DOCS_H

#include "vmm/api/api_devices.h"
#include "vmm/api/api_model.h"
#include "vmm/api/api_model_test.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/device_record.h"

static inline int ndrives(const struct api_model *m)
{
	return api_model_count(m, &dev_disk_api);
}

static inline int nnics(const struct api_model *m)
{
	return api_model_count(m, &dev_net_api);
}

static inline const char *drive_str(const struct api_model *m, int i, const char *name)
{
	return api_json_str(api_model_drive(m, i), name, "");
}

static inline bool drive_bool(const struct api_model *m, int i, const char *name)
{
	return api_json_bool(api_model_drive(m, i), name, false);
}

/* path_on_host, or a vhost-user disk's socket; NULL for no drive. */
static inline const char *drive_path(const struct api_model *m, int i)
{
	const json_t *d = api_model_drive(m, i);
	return api_json_str(d, "path_on_host", api_json_str(d, "socket", NULL));
}

static inline bool drive_is_vhost_user(const struct api_model *m, int i)
{
	return api_json_str(api_model_drive(m, i), "socket", NULL) != NULL;
}

static inline struct rate_limiter_cfg drive_rl(const struct api_model *m, int i)
{
	struct rate_limiter_cfg rl = {0};
	(void)api_model_drive_limits(m, i, &rl);
	return rl;
}

static inline const char *nic_str(const struct api_model *m, int i, const char *name)
{
	return api_json_str(api_model_nic(m, i), name, "");
}

static inline struct rate_limiter_cfg nic_rx(const struct api_model *m, int i)
{
	struct rate_limiter_cfg rx = {0}, tx = {0};
	(void)api_model_nic_limits(m, i, &rx, &tx);
	return rx;
}

static inline struct rate_limiter_cfg nic_tx(const struct api_model *m, int i)
{
	struct rate_limiter_cfg rx = {0}, tx = {0};
	(void)api_model_nic_limits(m, i, &rx, &tx);
	return tx;
}

/* The --disk / --net argument drive / NIC i stands for (device_record_doc_spec()). */
static inline int drive_option(const struct api_model *m, int i, char *spec, size_t len)
{
	return device_record_doc_spec(&device_disk, api_model_drive(m, i), spec, len);
}

static inline int nic_option(const struct api_model *m, int i, char *spec, size_t len)
{
	return device_record_doc_spec(&device_net, api_model_nic(m, i), spec, len);
}

/* PUT /drives/{id} and PUT /network-interfaces/{id} into the model. */
static inline int put_drive_doc(struct api_model *m, const char *id, const json_t *body, char *err,
				size_t errlen)
{
	return api_devices_put(m, &device_disk, id, body, err, errlen);
}

static inline int put_nic_doc(struct api_model *m, const char *id, const json_t *body, char *err,
			      size_t errlen)
{
	return api_devices_put(m, &device_net, id, body, err, errlen);
}

#endif
