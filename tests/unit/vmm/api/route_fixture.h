/* The router (vmm/api/api_router.h) driven in process by a route test: `api` and `resp` for the
 * test, req() sends one request and keeps the answer in `resp`, says() looks for text in its
 * body, route_teardown() frees both (a suite's .fini). The suite's .init calls api_init() with
 * its fake backend. */
#ifndef TESTS_UNIT_VMM_API_ROUTE_FIXTURE_H
#define TESTS_UNIT_VMM_API_ROUTE_FIXTURE_H

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/api/api_router.h"

static struct api api;
static struct api_response resp;

static inline void route_teardown(void)
{
	free(resp.body);
	resp.body = NULL;
	api_destroy(&api);
}

static inline unsigned req(const char *method, const char *path, const char *body)
{
	free(resp.body);
	resp.body = NULL;
	api_handle(&api, method, path, body, body ? strlen(body) : 0, &resp);
	return resp.status;
}

static inline bool says(const char *what)
{
	return resp.body && strstr(resp.body, what);
}

#endif
