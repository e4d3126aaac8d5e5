/* The JSON body checks moved to the machine layer (vmm/descriptors/api_json.h), where the device
 * descriptors check their own API bodies; the API keeps including them by this name. */
#ifndef VMM_API_API_JSON_H
#define VMM_API_API_JSON_H

#include "vmm/descriptors/api_json.h"

/* Room for any fault message the API makes (the router's, the model's, the backend's): what a
 * message repeats comes from the request's path (at most 4096 bytes, http_request.h) and its
 * body (at most API_MAX_BODY, 64 KiB), so with the sentences around them every message fits
 * whole, never cut (issue 46: they were cut at 255 bytes, mid-sentence). Checked against
 * API_MAX_BODY in api_router.c; tests/unit/test_api_http.c sends the longest. */
#define API_FAULT_MAX (64 * 1024 + 2 * 4096)

#endif
