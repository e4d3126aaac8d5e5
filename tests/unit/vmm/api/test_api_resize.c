/* PUT /vmm/vm.resize's body (vmm/api/api_resize.h): desired_vcpus required and in 1..64, an
 * optional timeout_ms in range, Cloud Hypervisor's desired_ram and desired_balloon refused with
 * a pointer to what resizes memory here, unknown fields refused. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "vmm/api/api_resize.h"

static char err[256];

static int parse(const char *text, struct api_resize *out)
{
	json_t *j = json_loads(text, 0, NULL);
	cr_assert_not_null(j, "%s", text);
	err[0] = '\0';
	int r = api_resize_parse(j, out, err, sizeof(err));
	json_decref(j);
	return r;
}

Test(api_resize, accepted)
{
	struct api_resize r;
	cr_assert_eq(parse("{\"desired_vcpus\": 2}", &r), 0);
	cr_assert_eq(r.desired_vcpus, 2);
	cr_assert_eq(r.timeout_ms, 0);
	cr_assert_eq(parse("{\"desired_vcpus\": 64, \"timeout_ms\": 600000}", &r), 0);
	cr_assert_eq(r.desired_vcpus, 64);
	cr_assert_eq(r.timeout_ms, 600000);
}

Test(api_resize, refused_with_a_reason)
{
	struct api_resize r;
	const struct {
		const char *body, *why;
	} bad[] = {
	    {"{}", "desired_vcpus is missing"},
	    {"{\"desired_vcpus\": 0}", "between 1 and 64"},
	    {"{\"desired_vcpus\": 65}", "between 1 and 64"},
	    {"{\"desired_vcpus\": -1}", "desired_vcpus"},
	    {"{\"desired_vcpus\": \"2\"}", "desired_vcpus"},
	    {"{\"desired_vcpus\": 2, \"timeout_ms\": 0}", "timeout_ms"},
	    {"{\"desired_vcpus\": 2, \"timeout_ms\": 600001}", "timeout_ms"},
	    {"{\"desired_ram\": 1073741824}", "PATCH /hotplug/memory"},
	    {"{\"desired_vcpus\": 2, \"desired_balloon\": 0}", "PATCH /balloon"},
	    {"{\"desired_vcpus\": 2, \"other\": 1}", "other"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i].body, &r), -EINVAL, "%s", bad[i].body);
		cr_assert_not_null(strstr(err, bad[i].why), "%s: %s", bad[i].body, err);
	}
}
