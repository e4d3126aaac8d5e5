/* For the hotplug body tests: what a parse made (struct api_hotplug_add's items), in the option's
 * string form, after which the items are freed. */
#ifndef TESTS_UNIT_VMM_API_HOTPLUG_SPEC_H
#define TESTS_UNIT_VMM_API_HOTPLUG_SPEC_H

#include <criterion/criterion.h>

#include "vmm/api/api_hotplug.h"

static char spec[1024]; /* the last accepted parse's items ("" after a refusal) */

/* Keeps out's items in spec when r (the parse's result) is 0, frees them, and returns r. */
static inline int took(struct api_hotplug_add *out, int r)
{
	spec[0] = '\0';
	if (!r)
		cr_assert_eq(api_hotplug_add_spec(out, spec, sizeof(spec)), 0);
	api_hotplug_add_free(out);
	return r;
}

#endif
