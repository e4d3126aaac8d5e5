/* The balloon in the API, in Firecracker's terms (PUT|PATCH|GET /balloon, GET|PATCH
 * /balloon/statistics): the pre-boot configuration in the model, request bodies, and the
 * documents answered. Pure code like api_model.h; the router (api_router.c) decides the state
 * and the backend (control.c) reaches the device (virtio/balloon/balloon.h). */
#ifndef VMM_API_BALLOON_H
#define VMM_API_BALLOON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/balloon/balloon.h"
#include "vmm/machine/cli.h"

struct api_balloon {
	bool set; /* PUT /balloon was given (or --balloon on the command line) */
	uint64_t amount_mib;
	bool deflate_on_oom;
	bool free_page_reporting; /* ours; Firecracker's newer field of the same name */
	uint32_t stats_interval_s;
};

/* PUT /balloon: {"amount_mib", "deflate_on_oom", "stats_polling_interval_s"?,
 * "free_page_reporting"?}; amount_mib at most `mem_mib`. 0 or -EINVAL with a message. */
int api_balloon_put(struct api_balloon *b, unsigned mem_mib, const json_t *body, char *err,
		    size_t errlen);
/* PATCH /balloon: {"amount_mib"}. Sets *mib. 0 or -EINVAL. */
int api_balloon_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen);
/* PATCH /balloon/statistics: {"stats_polling_interval_s"} (1 s to a day). 0 or -EINVAL. */
int api_balloon_check_patch_stats(const json_t *body, uint32_t *seconds, char *err, size_t errlen);

/* GET /balloon: the configuration (Firecracker's three fields) plus the driver's actual_mib
 * and our free_page_reporting. From a live device (`info`), or the model before start. */
json_t *api_balloon_json(const struct virtio_balloon_info *info);
json_t *api_balloon_model_json(const struct api_balloon *b);
/* GET /balloon/statistics: target/actual in pages and MiB, then each statistic the driver
 * sent under Firecracker's name. */
json_t *api_balloon_stats_json(const struct virtio_balloon_info *info);

/* The "--balloon" argument of a model's balloon, for the configuration at InstanceStart.
 * Returns 0 or -ENOSPC. */
int api_balloon_spec(const struct api_balloon *b, char *spec, size_t len);
/* The model's balloon of a VM configured on the command line (for GET /vm/config). */
void api_balloon_from_config(struct api_balloon *b, const struct vm_config *cfg);

#endif
