/* Test-only calls of the API's model (vmm/api/api_model.h): what unit tests use to look inside it
 * and the VMM does not. Included by tests/ only; cmake/layers.cmake refuses a *_test.h include
 * anywhere else. */
#ifndef VMM_API_API_MODEL_TEST_H
#define VMM_API_API_MODEL_TEST_H

#include <stdbool.h>

#include "vmm/api/api_model.h"

/* The limits drive / NIC `index` has in the model; false when there is no such device. */
bool api_model_drive_limits(const struct api_model *m, int index, struct rate_limiter_cfg *rl);
bool api_model_nic_limits(const struct api_model *m, int index, struct rate_limiter_cfg *rx,
			  struct rate_limiter_cfg *tx);

#endif
