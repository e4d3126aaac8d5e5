/* machine-config's cpu_template and PUT /cpu-config checked against the host before the model
 * takes them (vmm/api/api_routes_vm.c), through the router with a fake backend whose host is a
 * recorded AMD EPYC Milan (its KVM_GET_SUPPORTED_CPUID): PUT and PATCH both refuse an Intel
 * template with a 400 naming the vendor, and the refused body changes nothing. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <string.h>

#include "../../host/kvm/x86/cpuid_fixture.h"
#include "host/kvm/x86/cpu_template.h"
#include "route_fixture.h"
#include "vmm/api/api_model.h"

static struct cpuid_table host;
static int checks;

static int f_start(void *ctx, const struct api_model *m, char *err, size_t errlen)
{
	(void)ctx, (void)m, (void)err, (void)errlen;
	return 0;
}

static int f_check_cpu_template(void *ctx, const struct cpu_template *t, char *err, size_t errlen)
{
	(void)ctx;
	checks++;
	return cpu_template_check(t, &host, err, errlen);
}

static const struct api_backend_ops ops = {.start = f_start,
					   .check_cpu_template = f_check_cpu_template};

static void setup(void)
{
	cpuid_fixture("amd_epyc_milan", &host);
	checks = 0;
	cr_assert_eq(api_init(&api, &ops, NULL), 0);
}

TestSuite(api_cpu_template, .init = setup, .fini = route_teardown);

/* GET /machine-config's cpu_template ("None" when absent). */
static const char *template_now(char *buf, size_t len)
{
	cr_assert_eq(req("GET", "/machine-config", NULL), 200);
	json_t *doc = json_loads(resp.body, 0, NULL);
	const char *s = json_string_value(json_object_get(doc, "cpu_template"));
	snprintf(buf, len, "%s", s ? s : "None");
	json_decref(doc);
	return buf;
}

Test(api_cpu_template, put_refuses_the_other_vendors_template)
{
	char now[16];
	cr_assert_eq(req("PUT", "/machine-config",
			 "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"cpu_template\": \"T2\"}"),
		     400);
	cr_assert(says("CPU template T2 is for Intel CPUs, this host's is AMD"), "%s", resp.body);
	cr_assert_str_eq(template_now(now, sizeof(now)), "None");
	cr_assert_eq(req("PUT", "/machine-config",
			 "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"cpu_template\": \"T2A\"}"),
		     204, "%s", resp.body);
	cr_assert_str_eq(template_now(now, sizeof(now)), "T2A");
	cr_assert_eq(checks, 2);
}

Test(api_cpu_template, patch_is_checked_as_put)
{
	char now[16];
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}"),
		     204);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"cpu_template\": \"C3\"}"), 400);
	cr_assert(says("CPU template C3 is for Intel CPUs, this host's is AMD"), "%s", resp.body);
	cr_assert_str_eq(template_now(now, sizeof(now)), "None", "a refused PATCH changes nothing");
	cr_assert_eq(req("PATCH", "/machine-config", "{\"cpu_template\": \"T2A\"}"), 204, "%s",
		     resp.body);
	cr_assert_str_eq(template_now(now, sizeof(now)), "T2A");
	/* a PATCH without cpu_template, or with None, asks the host nothing */
	cr_assert_eq(req("PATCH", "/machine-config", "{\"vcpu_count\": 1}"), 204, "%s", resp.body);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"cpu_template\": \"None\"}"), 204, "%s",
		     resp.body);
	cr_assert_eq(checks, 2);
}

/* A template that sets a feature the host lacks is named: Milan's KVM without ERMS. */
Test(api_cpu_template, patch_names_the_missing_feature)
{
	struct kvm_cpuid_entry2 *e = cpuid_fixture_entry(&host, 7, 0);
	e->ebx &= ~(1u << 9); /* ERMS */
	cr_assert_eq(req("PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 128}"),
		     204);
	cr_assert_eq(req("PATCH", "/machine-config", "{\"cpu_template\": \"T2A\"}"), 400);
	cr_assert(says("asks for CPU features this host cannot give: erms"), "%s", resp.body);
}
