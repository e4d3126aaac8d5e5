/* The CPU template as the configuration holds it (vmm/vm/cpu_template_config.h, x86's in
 * vmm/vm/x86/cpu_template_config.c): a static one by name keeps its name, a custom one has none,
 * and every refusal leaves no object behind and says why. */
#include <criterion/criterion.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vm/cpu_template_config.h"

static char err[512];

Test(cpu_template_config, a_static_template_keeps_its_name)
{
	struct cpu_template *t = NULL;
	cr_assert_eq(cpu_template_new_static("T2S", &t), 0);
	cr_assert_not_null(t);
	cr_assert_str_eq(cpu_template_static_name(t), "T2S");
	free(t);
	cr_assert(cpu_template_static_known("T2A"));
	cr_assert(strstr(cpu_template_static_names(), "T2CL"));
}

Test(cpu_template_config, none_and_unknown_names_are_no_static_template)
{
	const char *names[] = {"None", "V1N1", "t2", "", "T2SX"};
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		struct cpu_template *t = (struct cpu_template *)&err; /* must be cleared */
		cr_assert_eq(cpu_template_new_static(names[i], &t), -ENOENT, "%s", names[i]);
		cr_assert_null(t);
		cr_assert_not(cpu_template_static_known(names[i]), "%s", names[i]);
	}
}

Test(cpu_template_config, a_custom_template_has_no_static_name)
{
	json_t *j = json_loads("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\", \"subleaf\": \"0x0\", "
			       "\"flags\": 0, \"modifiers\": [{\"register\": \"ecx\", "
			       "\"bitmap\": \"0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0x\"}]}]}",
			       0, NULL);
	cr_assert_not_null(j);
	struct cpu_template *t = NULL;
	cr_assert_eq(cpu_template_new_json(j, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(cpu_template_static_name(t));
	free(t);
	json_decref(j);
}

Test(cpu_template_config, a_bad_custom_template_says_why_and_leaves_nothing)
{
	json_t *j = json_loads("{\"msr_modifiers\": [{\"addr\": \"0x10a\", \"bitmap\": \"0b2\"}]}",
			       0, NULL);
	struct cpu_template *t = (struct cpu_template *)&err;
	err[0] = 0;
	cr_assert_eq(cpu_template_new_json(j, &t, err, sizeof(err)), -EINVAL);
	cr_assert_null(t);
	cr_assert(strstr(err, "msr_modifiers[0]"), "%s", err);
	json_decref(j);
}

Test(cpu_template_config, a_file_is_read_and_a_missing_one_is_named)
{
	char dir[] = "/tmp/cpu_template_config.XXXXXX", path[64];
	cr_assert_not_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.json", dir);
	FILE *f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs("{\"kvm_capabilities\": [\"!56\"]}", f);
	fclose(f);
	struct cpu_template *t = NULL;
	cr_assert_eq(cpu_template_new_file(path, &t, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(cpu_template_static_name(t));
	free(t);
	unlink(path);
	cr_assert_lt(cpu_template_new_file(path, &t, err, sizeof(err)), 0);
	cr_assert_null(t);
	cr_assert(strstr(err, path), "%s", err);
	rmdir(dir);
}
