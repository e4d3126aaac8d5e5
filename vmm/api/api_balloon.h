/* The live balloon in the API, in Firecracker's terms (PATCH|GET /balloon, GET|PATCH
 * /balloon/statistics): request bodies and the documents answered (PUT /balloon is the
 * descriptor's, vmm/descriptors/dev_balloon.c). Pure code like api_model.h; the router
 * (api_router.c) decides the state and the backend (control.c) reaches the device
 * (virtio/balloon/balloon.h). */
#ifndef VMM_API_BALLOON_H
#define VMM_API_BALLOON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "virtio/balloon/balloon.h"

/* PATCH /balloon: {"amount_mib"}. Sets *mib. 0 or -EINVAL. */
int api_balloon_check_patch(const json_t *body, uint64_t *mib, char *err, size_t errlen);
/* PATCH /balloon/statistics: {"stats_polling_interval_s"} (1 s to a day). 0 or -EINVAL. */
int api_balloon_check_patch_stats(const json_t *body, uint32_t *seconds, char *err, size_t errlen);

/* GET /balloon of a live device: the configuration (Firecracker's three fields) plus the
 * driver's actual_mib and our free_page_reporting. (Before start the model's document answers:
 * vmm/descriptors/dev_balloon.c checks PUT /balloon.) */
json_t *api_balloon_json(const struct virtio_balloon_info *info);
/* GET /balloon/statistics: target/actual in pages and MiB, then each statistic the driver
 * sent under Firecracker's name. */
json_t *api_balloon_stats_json(const struct virtio_balloon_info *info);

#endif
