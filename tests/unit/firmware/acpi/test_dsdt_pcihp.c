/* ACPI PCI hotplug in the DSDT (firmware/acpi/dsdt_pcihp.c): a machine with hotplug slots gets,
 * under \_SB.PCI0, the register fields, one device per slot with _ADR, _SUN and _EJ0, and
 * PCNT, which the GED's _EVT calls; without slots none of it. Debian's iasl disassembles the
 * DSDT without an error or warning (skipped without acpica-tools). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/acpi/acpi.h"

#define GPA ACPI_ADDR
/* devices 2..31: device 1 the root disk (never removable), device 2 a boot disk that may be
 * removed (vm_hotplug_boot_removable(): its slot is a hotplug slot as a free one is), 3..31
 * free */
#define SLOTS 0xFFFFFFFCu

static uint8_t buf[ACPI_END - ACPI_ADDR];

static void machine(struct machine *m, uint32_t slots)
{
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, 0, MIB(256)), 0);
	cr_assert_eq(machine_add_cpus(m, 1), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_set_acpi_pm(m, PORT_ACPI_PM), 0);
	cr_assert_eq(machine_set_acpi_ged(m, ACPI_GED_MMIO_BASE, 4, IRQ_ACPI_GED), 0);
	cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
				     PCI_MMIO32_SIZE, 0, 0),
		     0);
	for (unsigned d = 1; d < 32; d++)
		cr_assert_eq(machine_add_pci_intx(m, (uint8_t)d, 0, pci_intx_ioapic_pin(d, 0)), 0);
	if (slots)
		cr_assert_eq(machine_set_pci_hotplug(m, ACPI_PCIHP_MMIO_BASE, slots), 0);
	cr_assert_eq(m->err, 0);
}

static const uint8_t *dsdt(const struct machine *m, size_t *len)
{
	struct acpi_layout l;
	cr_assert_eq(acpi_build(m, GPA, buf, sizeof(buf), &l), 0);
	const uint8_t *t = buf + (l.dsdt - GPA);
	*len = (size_t)t[4] | (size_t)t[5] << 8 | (size_t)t[6] << 16;
	return t;
}

static bool has(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	for (size_t i = 0; i + k <= n; i++)
		if (!memcmp(p + i, s, k))
			return true;
	return false;
}

Test(acpi_pcihp, slots_and_methods_only_with_hotplug)
{
	struct machine m;
	size_t n;
	machine(&m, 0);
	const uint8_t *t = dsdt(&m, &n);
	cr_assert_not(has(t, n, "PCNT"));
	cr_assert_not(has(t, n, "B0EJ"));
	machine(&m, SLOTS);
	t = dsdt(&m, &n);
	cr_assert(has(t, n, "PCNT") && has(t, n, "PCIU") && has(t, n, "PCID"));
	cr_assert(has(t, n, "S02"), "a removable boot device's slot");
	cr_assert(has(t, n, "S03"), "the first free slot");
	cr_assert(has(t, n, "S1F"));
	cr_assert_not(has(t, n, "S01"), "the root disk's slot is no hotplug slot");
}

Test(acpi_pcihp, refuses_the_host_bridge_and_no_bus)
{
	struct machine m;
	machine(&m, 0);
	cr_assert_neq(machine_set_pci_hotplug(&m, ACPI_PCIHP_MMIO_BASE, 1u), 0);
	machine_init(&m);
	cr_assert_neq(machine_set_pci_hotplug(&m, ACPI_PCIHP_MMIO_BASE, SLOTS), 0);
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

Test(acpi_pcihp, iasl_disassembles_the_dsdt)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		cr_skip_test(
		    "iasl not installed (Debian: acpica-tools, tools/setup.sh installs it)");
	struct machine m;
	size_t n;
	machine(&m, SLOTS);
	const uint8_t *t = dsdt(&m, &n);
	char dir[] = "/tmp/test_acpi_pcihp.XXXXXX", cmd[512];
	static char out[1 << 16], dsl[1 << 19];
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
	const char *want[] = {"OperationRegion (PCST, SystemMemory, 0xC0008000, 0x10)",
			      "B0EJ,   32",
			      "Device (S02)", /* a boot device's: ejectable as a free slot's */
			      "Name (_ADR, 0x00020000)",
			      "Name (_SUN, 0x02)",
			      "B0EJ = 0x04",
			      "Notify (S02, 0x03)",
			      "Device (S03)",
			      "Name (_ADR, 0x00030000)",
			      "Name (_SUN, 0x03)",
			      "Method (_EJ0, 1, NotSerialized)",
			      "B0EJ = 0x08",
			      "Device (S1F)",
			      "Method (PCNT, 0, Serialized)",
			      "Local0 = PCIU",
			      "Notify (S1F, One)",
			      "Notify (S1F, 0x03)",
			      "\\_SB.PCI0.PCNT ()"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(dsl, want[i]), "the DSDT lacks '%s':\n%s", want[i], dsl);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}
