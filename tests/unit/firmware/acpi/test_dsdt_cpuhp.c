/* ACPI CPU hotplug in the tables (firmware/acpi/dsdt_cpuhp.c, acpi.c's MADT): a machine with
 * possible vCPUs beyond the present ones gets the register fields and CSCN in \_SB, _STA, _MAT
 * and _EJ0 in each processor device (none of it without CPU hotplug), the GED's _EVT calls
 * CSCN, and the MADT marks the absent vCPUs online-capable, not enabled. The AML bytes are
 * compared with ACPI 6.5's encodings (§20.2); Debian's iasl disassembles the DSDT without an
 * error or warning (skipped without acpica-tools). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "firmware/acpi/acpi.h"

#define GPA ACPI_ADDR

static uint8_t buf[ACPI_END - ACPI_ADDR];

static void machine(struct machine *m, int ncpus, int present)
{
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, 0, MIB(256)), 0);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_set_acpi_pm(m, PORT_ACPI_PM), 0);
	cr_assert_eq(machine_set_acpi_ged(m, ACPI_GED_MMIO_BASE, 4, IRQ_ACPI_GED), 0);
	if (present)
		cr_assert_eq(machine_set_cpu_hotplug(m, ACPI_CPUHP_MMIO_BASE, present), 0);
	cr_assert_eq(m->err, 0);
}

static const uint8_t *table(const struct machine *m, bool madt, size_t *len)
{
	struct acpi_layout l;
	cr_assert_eq(acpi_build(m, GPA, buf, sizeof(buf), &l), 0);
	const uint8_t *t = buf + ((madt ? l.madt : l.dsdt) - GPA);
	*len = (size_t)t[4] | (size_t)t[5] << 8 | (size_t)t[6] << 16;
	return t;
}

static const uint8_t *find(const uint8_t *p, size_t n, const void *s, size_t k)
{
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(p + i, s, k))
			return p + i;
	return NULL;
}

static bool has(const uint8_t *p, size_t n, const char *s)
{
	return find(p, n, s, strlen(s)) != NULL;
}

Test(acpi_cpuhp, nothing_without_cpu_hotplug)
{
	struct machine m;
	size_t n;
	machine(&m, 4, 0);
	const uint8_t *t = table(&m, false, &n);
	cr_assert_not(has(t, n, "CSCN"));
	cr_assert_not(has(t, n, "CPST"));
	cr_assert_not(has(t, n, "_STA"));
	cr_assert_not(has(t, n, "_MAT"));
	cr_assert_not(has(t, n, "_EJ0"));
}

Test(acpi_cpuhp, refuses_bad_counts)
{
	struct machine m;
	machine(&m, 2, 0);
	cr_assert_neq(machine_set_cpu_hotplug(&m, ACPI_CPUHP_MMIO_BASE, 0), 0);
	machine(&m, 2, 0);
	cr_assert_neq(machine_set_cpu_hotplug(&m, ACPI_CPUHP_MMIO_BASE, 3), 0);
	machine(&m, 2, 0);
	cr_assert_neq(machine_set_cpu_hotplug(&m, 0xFFFFFFF0ull, 1), 0, "past 4 GiB");
}

/* Method (_STA) { If ((CPRL & 0x02)) { Return (0x0F) } Return (Zero) } of C001: And (0x7B)
 * CPRL, BytePrefix 0x02, no target; Return (0xA4) BytePrefix 0x0F; after the If, Return Zero. */
Test(acpi_cpuhp, sta_bytes)
{
	struct machine m;
	size_t n;
	machine(&m, 2, 1);
	const uint8_t *t = table(&m, false, &n);
	static const uint8_t if_body[] = {0x7B, 'C',  'P',  'R',  'L', 0x0A,
					  0x02, 0x00, 0xA4, 0x0A, 0x0F};
	const uint8_t *p = find(t, n, if_body, sizeof(if_body));
	cr_assert_not_null(p, "the If of C001's _STA");
	cr_assert_eq(p[-2], 0xA0, "If, then a one-byte PkgLength");
	cr_assert_eq(p[-1], 1 + sizeof(if_body), "its PkgLength");
	cr_assert_eq(p[sizeof(if_body)], 0xA4, "Return");
	cr_assert_eq(p[sizeof(if_body) + 1], 0x00, "Zero");
}

/* Name (_MAT, Buffer (0x08) { 0x00, 0x08, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00 }): C001's local
 * APIC entry (type 0, length 8, UID 1, APIC ID 1, enabled). */
Test(acpi_cpuhp, mat_bytes)
{
	struct machine m;
	size_t n;
	machine(&m, 2, 1);
	const uint8_t *t = table(&m, false, &n);
	static const uint8_t entry[] = {0x00, 0x08, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00};
	const uint8_t *p = find(t, n, entry, sizeof(entry));
	cr_assert_not_null(p, "C001's _MAT entry");
	const uint8_t *name = find(t, n, "_MAT", 4);
	cr_assert_not_null(name);
	cr_assert_eq(name[-1], 0x08, "NameOp");
	cr_assert_eq(name[4], 0x11, "BufferOp");
}

/* _EJ0 of C002: Store (0x70) BytePrefix 0x02 into CEJ0; C000 has none (it stays). */
Test(acpi_cpuhp, ej0_bytes_and_not_on_the_boot_cpu)
{
	struct machine m;
	size_t n;
	machine(&m, 3, 1);
	const uint8_t *t = table(&m, false, &n);
	static const uint8_t store2[] = {0x70, 0x0A, 0x02, 'C', 'E', 'J', '0'};
	static const uint8_t store1[] = {0x70, 0x01, 'C', 'E', 'J', '0'};
	cr_assert_not_null(find(t, n, store2, sizeof(store2)));
	cr_assert_not_null(find(t, n, store1, sizeof(store1)), "One for vCPU 1");
	size_t ej0 = 0;
	for (const uint8_t *p = t; (p = find(p, n - (size_t)(p - t), "_EJ0", 4)); p += 4)
		ej0++;
	cr_assert_eq(ej0, 2, "vCPUs 1 and 2 only");
}

/* The GED's _EVT: If ((Local0 & 0x08)) { \_SB.CSCN () }. */
Test(acpi_cpuhp, ged_calls_cscn)
{
	struct machine m;
	size_t n;
	machine(&m, 2, 1);
	const uint8_t *t = table(&m, false, &n);
	/* And Local0 0x08 no-target, then RootChar DualNamePrefix (0x2E) _SB_ CSCN */
	static const uint8_t call[] = {0x7B, 0x60, 0x0A, 0x08, 0x00, '\\', 0x2E, '_',
				       'S',  'B',  '_',	 'C',  'S',  'C',  'N'};
	cr_assert_not_null(find(t, n, call, sizeof(call)));
}

/* The MADT: vCPUs 0 and 1 enabled (flags 1), 2 and 3 online-capable (flags 2, §5.2.12.2). */
Test(acpi_cpuhp, madt_marks_absent_cpus_online_capable)
{
	struct machine m;
	size_t n;
	machine(&m, 4, 2);
	const uint8_t *madt = table(&m, true, &n);
	int lapics = 0;
	for (size_t off = 44; off < n; off += madt[off + 1]) {
		if (madt[off] != 0)
			continue;
		uint32_t flags = madt[off + 4];
		cr_assert_eq(flags, lapics < 2 ? 1u : 2u, "vCPU %d's flags %u", lapics, flags);
		lapics++;
	}
	cr_assert_eq(lapics, 4);
}

static int run(const char *cmd, char *out, size_t cap)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;
	cr_assert(p);
	while (n + 1 < cap && fgets(out + n, (int)(cap - n), p))
		n += strlen(out + n);
	out[n] = '\0';
	return pclose(p);
}

Test(acpi_cpuhp, iasl_disassembles_the_dsdt)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		cr_skip_test(
		    "iasl not installed (Debian: acpica-tools, tools/setup.sh installs it)");
	struct machine m;
	size_t n;
	machine(&m, 40, 1); /* vCPUs past 31: the high halves */
	const uint8_t *t = table(&m, false, &n);
	char dir[] = "/tmp/test_acpi_cpuhp.XXXXXX", cmd[512];
	static char out[1 << 16], dsl[1 << 20];
	cr_assert(mkdtemp(dir));
	snprintf(cmd, sizeof(cmd), "%s/dsdt.dat", dir);
	FILE *f = fopen(cmd, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(t, 1, n, f), n);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "cd %s && iasl -d dsdt.dat 2>&1", dir);
	int status = run(cmd, out, sizeof(out));
	cr_assert_eq(status, 0, "iasl -d: status %d:\n%s", status, out);
	cr_assert_null(strstr(out, "Error"), "%s", out);
	cr_assert_null(strstr(out, "Warning"), "%s", out);
	snprintf(cmd, sizeof(cmd), "cat %s/dsdt.dsl", dir);
	run(cmd, dsl, sizeof(dsl));
	cr_assert_null(strstr(dsl, "**** "), "iasl flagged the table:\n%s", dsl);
	const char *want[] = {"OperationRegion (CPST, SystemMemory, 0xC0009000, 0x20)",
			      "CEJ0,   32",
			      "Method (_STA, 0, NotSerialized)",
			      "If ((CPRL & 0x02))",
			      "If ((CPRH & 0x80))", /* vCPU 39 */
			      "Return (0x0F)",
			      "Name (_MAT, Buffer (0x08)",
			      "CEJ0 = 0x27",
			      "Method (CSCN, 0, Serialized)",
			      "Local3 = CRMH",
			      "Notify (C001, One)",
			      "Notify (C027, 0x03)",
			      "\\_SB.CSCN ()"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(dsl, want[i]), "the DSDT lacks '%s':\n%s", want[i], dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
