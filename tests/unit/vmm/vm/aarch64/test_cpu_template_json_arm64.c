/* Firecracker's custom CPU template JSON on arm64 (vmm/vm/aarch64/cpu_template_json.c): its
 * reg_modifiers with 64- and 128-bit bitmaps, capabilities, and every refusal naming the member. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "host/kvm/aarch64/cpu_template.h"
#include "vmm/vm/cpu_template_json.h"

static struct cpu_template t;
static char err[512];

static int parse(const char *s)
{
	err[0] = 0;
	return cpu_template_parse(s, strlen(s), &t, err, sizeof(err));
}

Test(cpu_template_json_arm64, reg_modifiers_as_firecracker_writes_them)
{
	cr_assert_eq(
	    parse("{\"kvm_capabilities\": [\"171\", \"!56\"], \"vcpu_features\": [],"
		  " \"reg_modifiers\": [{\"addr\": \"0x603000000013c030\", \"bitmap\":"
		  " \"0bxxxx0000xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0001\"},"
		  " {\"addr\": \"0x603000000013c020\", \"bitmap\": \"0b"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		  "xxxxxxxxxxxxxxxxxxxxxxxxxxxx0000xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}]}"),
	    0, "%s", err);
	cr_assert_str_eq(t.name, "custom");
	cr_assert(t.custom);
	cr_assert_eq(t.ncaps, 2);
	cr_assert_eq(t.caps[0], 171);
	cr_assert_eq(t.caps[1], -57);
	cr_assert_eq(t.nregs, 2);
	cr_assert_eq(t.regs[0].id, 0x603000000013c030ull);
	cr_assert_eq(t.regs[0].filter, 0x0f0000000000000full);
	cr_assert_eq(t.regs[0].value, 1);
	cr_assert_eq(t.regs[1].filter, 0x0000000f00000000ull,
		     "128 bits: the low 64 are the register");
	cr_assert_eq(t.regs[1].value, 0);
	cr_assert_eq(parse("{}"), 0, "every member optional");
	cr_assert_eq(t.nregs, 0);
}

Test(cpu_template_json_arm64, refusals_name_the_member)
{
	cr_assert_eq(parse("{\"reg_modifiers\": [{\"addr\": \"0x4030000000100000\", \"bitmap\": "
			   "\"0b1\"}]}"),
		     -EINVAL);
	cr_assert(strstr(err, "reg_modifiers[0].addr") && strstr(err, "64-bit arm64"), "%s", err);
	cr_assert_eq(parse("{\"reg_modifiers\": [{\"addr\": \"0x6020000000100000\", \"bitmap\": "
			   "\"0b1\"}]}"),
		     -EINVAL, "a 32-bit register");
	cr_assert_eq(parse("{\"reg_modifiers\": [{\"addr\": \"0x603000000013c030\", \"bitmap\": "
			   "\"0b2\"}]}"),
		     -EINVAL);
	cr_assert(strstr(err, "reg_modifiers[0].bitmap"), "%s", err);
	cr_assert_eq(
	    parse("{\"reg_modifiers\": [{\"addr\": \"0x603000000013c030\", \"bitmap\": \"0b1"
		  "0000000000000000000000000000000000000000000000000000000000000000\"}]}"),
	    -EINVAL, "bit 64 set");
	cr_assert(strstr(err, "above bit 63"), "%s", err);
	cr_assert_eq(parse("{\"reg_modifiers\": [{\"addr\": \"0x603000000013c030\"}]}"), -EINVAL);
	cr_assert_eq(parse("{\"reg_modifiers\": [{\"addr\": 5, \"bitmap\": \"0b1\"}]}"), -EINVAL);
	cr_assert_eq(parse("{\"vcpu_features\": [{\"index\": 0, \"bitmap\": \"0b1\"}]}"), -EINVAL);
	cr_assert(strstr(err, "vcpu_features") && strstr(err, "not offered"), "%s", err);
	cr_assert_eq(parse("{\"cpuid_modifiers\": [{\"leaf\": \"0x1\"}]}"), -EINVAL);
	cr_assert(strstr(err, "reg_modifiers"), "%s", err);
	cr_assert_eq(parse("{\"kvm_capabilities\": [\"x\"]}"), -EINVAL);
	cr_assert(strstr(err, "kvm_capabilities[0]"), "%s", err);
	cr_assert_eq(parse("{\"cpu\": 1}"), -EINVAL, "unknown member");
	cr_assert_eq(parse("[1]"), -EINVAL);
	cr_assert_eq(parse("{"), -EINVAL);
	cr_assert(strstr(err, "CPU template"), "%s", err);
}
