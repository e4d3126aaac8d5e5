/* The ACPI tables of firmware/acpi/acpi.h for machines of 1 to 254 vCPUs with virtio-mmio
 * windows and a PCI bridge: every pointer leads to a table whose length and checksum hold, the
 * MADT has one enabled local APIC per vCPU and the IOAPIC, the FADT is hardware-reduced with
 * its sleep registers (a BIOS boot's: full, with its fixed-hardware blocks, the SCI and a FACS),
 * the DSDT names each device; and Debian's iasl disassembles every table without an error (skipped
 * without acpica-tools). The tables are ours, never parsed from outside, so they need no fuzz
 * target. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/acpi/acpi.h"

#define GPA ACPI_ADDR
static uint8_t buf[ACPI_END - ACPI_ADDR];

static void pc_machine(struct machine *m, int ncpus, int nvirtio, int npci)
{
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, 0, MIB(256)), 0);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_add_uart(m, PORT_COM1, IRQ_COM1), 0);
	machine_set_i8042(m);
	machine_set_rtc(m);
	cr_assert_eq(machine_set_acpi_pm(m, PORT_ACPI_PM), 0);
	cr_assert_eq(machine_set_acpi_ged(m, ACPI_GED_MMIO_BASE, 4, IRQ_ACPI_GED), 0);
	cr_assert_eq(machine_set_vmgenid(m, VMGENID_ADDR), 0);
	for (int i = 0; i < nvirtio; i++)
		cr_assert_eq(machine_add_virtio_mmio(m, VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000,
						     VIRTIO_MMIO_SIZE,
						     VIRTIO_MMIO_IRQ(i % VIRTIO_MMIO_MAX)),
			     0);
	if (npci) {
		cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
					     PCI_MMIO32_SIZE, 0, 0),
			     0);
		cr_assert_eq(machine_set_pci_mem64(m, LAYOUT_MMIO64_BASE, LAYOUT_MMIO64_SIZE), 0);
		for (int k = 0; k < npci; k++) /* devices 1..31 on INTA, then on INTB, ... */
			cr_assert_eq(
			    machine_add_pci_intx(
				m, (uint8_t)(1 + k % 31), (uint8_t)(k / 31),
				pci_intx_ioapic_pin((unsigned)(1 + k % 31), (unsigned)(k / 31))),
			    0);
	}
	cr_assert_eq(m->err, 0);
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	for (size_t i = 0; i < n; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

/* The table at guest address `gpa`, checked: inside what was written, signature, checksum. */
static const uint8_t *table(const struct acpi_layout *l, uint64_t gpa, const char *sig)
{
	cr_assert(gpa >= GPA && gpa + 36 <= GPA + l->len, "%s at %#llx: outside the tables", sig,
		  (unsigned long long)gpa);
	const uint8_t *t = buf + (gpa - GPA);
	uint32_t len = (uint32_t)le(t + 4, 4);
	cr_assert_eq(memcmp(t, sig, 4), 0, "want %s at %#llx", sig, (unsigned long long)gpa);
	cr_assert(len >= 36 && gpa + len <= GPA + l->len, "%s: length %u", sig, len);
	cr_assert_eq(sum(t, len), 0, "%s: checksum", sig);
	return t;
}

static struct acpi_layout build(const struct machine *m)
{
	struct acpi_layout l;
	memset(buf, 0xEE, sizeof(buf));
	cr_assert_eq(acpi_build(m, GPA, buf, sizeof(buf), &l), 0);
	return l;
}

/* Occurrences of `s` in [p, p + n). */
static int count(const uint8_t *p, size_t n, const char *s)
{
	size_t k = strlen(s);
	int c = 0;
	for (size_t i = 0; i + k <= n; i++)
		c += memcmp(p + i, s, k) == 0;
	return c;
}

static void check_machine(int ncpus, int nvirtio, int npci)
{
	struct machine m;
	pc_machine(&m, ncpus, nvirtio, npci);
	struct acpi_layout l = build(&m);

	/* RSDP: signature, revision 2, both checksums, the XSDT. */
	cr_assert_eq(l.rsdp, GPA);
	cr_assert_eq(memcmp(buf, "RSD PTR ", 8), 0);
	cr_assert_eq(buf[15], 2);
	cr_assert_eq(sum(buf, 20), 0);
	cr_assert_eq(le(buf + 20, 4), 36);
	cr_assert_eq(sum(buf, 36), 0);
	cr_assert_eq(le(buf + 24, 8), l.xsdt);

	const uint8_t *xsdt = table(&l, l.xsdt, "XSDT");
	uint32_t nent = ((uint32_t)le(xsdt + 4, 4) - 36) / 8;
	cr_assert_eq(nent, npci ? 3u : 2u);
	const char *sigs[] = {"FACP", "APIC", "MCFG"};
	for (uint32_t i = 0; i < nent; i++)
		table(&l, le(xsdt + 36 + 8 * i, 8), sigs[i]);

	const uint8_t *fadt = table(&l, l.fadt, "FACP");
	cr_assert_eq(le(fadt + 4, 4), 276);
	cr_assert_eq(le(fadt + 112, 4) & (1u << 20), 1u << 20, "HW_REDUCED_ACPI");
	cr_assert_eq(le(fadt + 140, 8), l.dsdt, "X_DSDT");
	cr_assert_eq(fadt[244], 1, "SLEEP_CONTROL_REG in port space");
	cr_assert_eq(le(fadt + 248, 8), PORT_ACPI_PM);
	cr_assert_eq(le(fadt + 260, 8), PORT_ACPI_PM + 1, "SLEEP_STATUS_REG");
	cr_assert_eq(le(fadt + 109, 2) & 2, 2, "8042 present");

	/* MADT: one enabled local APIC per vCPU, IDs in order, then the IOAPIC. */
	const uint8_t *madt = table(&l, l.madt, "APIC");
	uint32_t mlen = (uint32_t)le(madt + 4, 4);
	cr_assert_eq(le(madt + 36, 4), LAPIC_BASE);
	int lapics = 0, ioapics = 0;
	for (uint32_t off = 44; off < mlen; off += madt[off + 1]) {
		cr_assert(madt[off + 1] >= 2 && off + madt[off + 1] <= mlen, "MADT entry at %u",
			  off);
		if (madt[off] == 0) {
			cr_assert_eq(madt[off + 3], lapics, "APIC ID");
			cr_assert_eq(le(madt + off + 4, 4), 1, "enabled");
			lapics++;
		} else if (madt[off] == 1) {
			cr_assert_eq(madt[off + 2], ncpus, "IOAPIC ID");
			cr_assert_eq(le(madt + off + 4, 4), IOAPIC_BASE);
			ioapics++;
		}
	}
	cr_assert_eq(lapics, ncpus);
	cr_assert_eq(ioapics, 1);

	if (npci) {
		const uint8_t *mcfg = table(&l, l.mcfg, "MCFG");
		cr_assert_eq(le(mcfg + 44, 8), PCI_ECAM_BASE);
		cr_assert_eq(mcfg[55], 255, "last bus");
	} else {
		cr_assert_eq(l.mcfg, 0);
	}

	const uint8_t *dsdt = table(&l, l.dsdt, "DSDT");
	size_t dlen = (size_t)le(dsdt + 4, 4);
	cr_assert_eq(count(dsdt, dlen, "LNRO0005"), nvirtio);
	cr_assert_eq(count(dsdt, dlen, "ACPI0007"), ncpus);
	cr_assert_eq(count(dsdt, dlen, "_PRT"), npci ? 1 : 0);
	cr_assert_eq(count(dsdt, dlen, "_S5_"), 1);
	cr_assert_eq(count(dsdt, dlen, "ACPI0013"), 1, "the Generic Event Device");
	cr_assert_eq(count(dsdt, dlen, "_EVT"), 1);
	cr_assert_eq(count(dsdt, dlen, "VMGENCTR"), 1, "the VM generation counter");
	cr_assert_eq(count(dsdt, dlen, "VGEN"), 2, "the device and _EVT's Notify");
}

/* Without a GED (--acpi off has no tables at all; a machine description without one) the DSDT
 * names no power button. */
Test(acpi, no_ged_no_power_button)
{
	struct machine m;
	pc_machine(&m, 1, 0, 0);
	m.acpi_ged = (struct machine_mmio_dev){0};
	struct acpi_layout l = build(&m);
	const uint8_t *dsdt = table(&l, l.dsdt, "DSDT");
	size_t dlen = (size_t)le(dsdt + 4, 4);
	cr_assert_eq(count(dsdt, dlen, "ACPI0013"), 0);
	cr_assert_eq(count(dsdt, dlen, "PWRB"), 0);
	cr_assert_eq(count(dsdt, dlen, "VMGENCTR"), 0, "no GED, nothing to notify it: no VGEN");
}

/* The VM generation counter's ADDR: Package { low 32 bits, high 32 bits } (the ADDR method of
 * Microsoft's paper; Linux's vmgenid driver evaluates it the same way), and _EVT's second If. */
Test(acpi, vmgenid_addr_package)
{
	struct machine m;
	pc_machine(&m, 1, 0, 0);
	cr_assert_eq(machine_set_vmgenid(&m, 0x123456789A0ULL), 0);
	struct acpi_layout l = build(&m);
	const uint8_t *dsdt = table(&l, l.dsdt, "DSDT");
	size_t dlen = (size_t)le(dsdt + 4, 4);
	/* NameOp "ADDR" PackageOp PkgLength(1 byte) NumElements 2, DWordPrefix lo, WordPrefix hi */
	static const uint8_t want[] = {0x08, 'A',  'D',	 'D',  'R',  0x12, 0x0A, 0x02,
				       0x0C, 0xA0, 0x89, 0x67, 0x45, 0x0B, 0x23, 0x01};
	int found = 0;
	for (size_t i = 0; i + sizeof(want) <= dlen; i++)
		found += !memcmp(dsdt + i, want, sizeof(want));
	cr_assert_eq(found, 1, "ADDR = Package (2) { 0x456789A0, 0x0123 }");
	/* If (And (Local0, 4)) in _EVT: AndOp Local0 BytePrefix 4, no target */
	static const uint8_t and2[] = {0x7B, 0x60, 0x0A, 0x04, 0x00};
	found = 0;
	for (size_t i = 0; i + sizeof(and2) <= dlen; i++)
		found += !memcmp(dsdt + i, and2, sizeof(and2));
	cr_assert_eq(found, 1, "_EVT tests the VMGENID bit");
	cr_assert_eq(machine_set_vmgenid(&m, VMGENID_ADDR + 4), -EINVAL, "8-byte aligned");
}

Test(acpi, one_cpu_no_devices)
{
	check_machine(1, 0, 0);
}

Test(acpi, two_cpus_mmio)
{
	check_machine(2, 3, 0);
}

Test(acpi, several_cpus_mmio_and_pci)
{
	check_machine(8, VIRTIO_MMIO_MAX, 4);
}

Test(acpi, the_largest_machine_fits)
{
	check_machine(MACHINE_MAX_CPUS, MACHINE_MAX_VIRTIO_MMIO, MACHINE_MAX_PCI_INTX - 1);
}

Test(acpi, refuses_what_it_cannot_describe)
{
	struct machine m;
	struct acpi_layout l;
	pc_machine(&m, 2, 1, 0);
	cr_assert_eq(acpi_build(&m, GPA + 8, buf, sizeof(buf), &l), -EINVAL, "RSDP misaligned");
	cr_assert_eq(acpi_build(&m, GPA, buf, 100, &l), -ENOSPC);
	cr_assert_eq(l.rsdp, 0);
	m.nvirtio_mmio = MACHINE_MAX_VIRTIO_MMIO + 1;
	cr_assert_eq(acpi_build(&m, GPA, buf, sizeof(buf), &l), -EINVAL, "corrupt count");
	pc_machine(&m, 2, 1, 0);
	m.cpu_ids[1] = 300;
	cr_assert_eq(acpi_build(&m, GPA, buf, sizeof(buf), &l), -EINVAL, "an x2APIC ID");
	machine_init(&m);
	cr_assert_eq(acpi_build(&m, GPA, buf, sizeof(buf), &l), -EINVAL, "no CPU");
}

/* The MADT's interrupt source overrides of ISA IRQ `src`: how many, and the last one's flags. */
static int overrides(const uint8_t *madt, uint32_t src, uint16_t *flags)
{
	uint32_t mlen = (uint32_t)le(madt + 4, 4);
	int n = 0;
	for (uint32_t off = 44; off < mlen; off += madt[off + 1])
		if (madt[off] == 2 && madt[off + 3] == src) {
			cr_assert_eq(le(madt + off + 4, 4), src, "ISA IRQs keep their GSI");
			*flags = (uint16_t)le(madt + off + 8, 2);
			n++;
		}
	return n;
}

/* A Generic Address Structure in port space: `bits` wide at `port`. */
static void gas_port(const uint8_t *g, uint64_t port, int bits)
{
	cr_assert_eq(g[0], 1, "system I/O");
	cr_assert_eq(g[1], bits);
	cr_assert_eq(le(g + 4, 8), port);
}

/* A BIOS boot's fixed hardware (firmware/acpi/acpi.h says why): a full FADT whose blocks are
 * devices/acpi_pm1.h's, the SCI on IRQ 9 (level, high: one override, whether or not virtio-mmio
 * window 3 shares the line), a 64-byte aligned FACS, PCAT_COMPAT, \_S5_ = 0. */
static void check_fixed_hw(int nvirtio)
{
	struct machine m;
	pc_machine(&m, 2, nvirtio, 2);
	m.acpi_pm = (struct machine_simple_dev){0};
	cr_assert_eq(machine_set_acpi_pm1(&m, PORT_ACPI_PM, IRQ_ACPI_SCI), 0);
	struct acpi_layout l = build(&m);

	const uint8_t *fadt = table(&l, l.fadt, "FACP");
	uint32_t flags = (uint32_t)le(fadt + 112, 4);
	cr_assert_eq(flags & (1u << 20), 0, "not hardware-reduced");
	cr_assert_eq(flags, 0x35, "WBINVD, PROC_C1, no fixed power or sleep button");
	cr_assert_eq(le(fadt + 46, 2), IRQ_ACPI_SCI, "SCI_INT");
	cr_assert_eq(le(fadt + 48, 4), 0, "no SMI_CMD: ACPI mode from reset");
	cr_assert_eq(le(fadt + 56, 4), PORT_ACPI_PM, "PM1a_EVT_BLK");
	cr_assert_eq(le(fadt + 64, 4), PORT_ACPI_PM + 4, "PM1a_CNT_BLK");
	cr_assert_eq(le(fadt + 76, 4), PORT_ACPI_PM + 8, "PM_TMR_BLK");
	cr_assert_eq(fadt[88], 4);
	cr_assert_eq(fadt[89], 2);
	cr_assert_eq(fadt[91], 4);
	cr_assert_eq(le(fadt + 80, 4) | fadt[92], 0, "no GPE block");
	gas_port(fadt + 148, PORT_ACPI_PM, 32);
	gas_port(fadt + 172, PORT_ACPI_PM + 4, 16);
	gas_port(fadt + 208, PORT_ACPI_PM + 8, 32);
	cr_assert_eq(le(fadt + 244, 8) | le(fadt + 248, 8), 0, "no sleep control register");
	cr_assert_eq(le(fadt + 36, 4), 0, "FIRMWARE_CTRL: X_FIRMWARE_CTRL has it");
	cr_assert_eq(le(fadt + 132, 8), l.facs);
	cr_assert_eq(l.facs % 64, 0);
	const uint8_t *facs = buf + (l.facs - GPA);
	cr_assert_eq(memcmp(facs, "FACS", 4), 0);
	cr_assert_eq(le(facs + 4, 4), 64);
	cr_assert_eq(facs[32], 2, "version");
	cr_assert_eq(le(facs + 12, 4) | le(facs + 24, 8), 0, "no waking vector");

	const uint8_t *madt = table(&l, l.madt, "APIC");
	uint16_t of = 0;
	cr_assert_eq(le(madt + 40, 4), 1, "PCAT_COMPAT");
	cr_assert_eq(overrides(madt, IRQ_ACPI_SCI, &of), 1);
	cr_assert_eq(of, 0x0D, "level, active high");

	const uint8_t *dsdt = table(&l, l.dsdt, "DSDT");
	static const uint8_t s5[] = {'_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
	int found = 0;
	for (size_t i = 0; i + sizeof(s5) <= le(dsdt + 4, 4); i++)
		found += !memcmp(dsdt + i, s5, sizeof(s5));
	cr_assert_eq(found, 1, "\\_S5_ = Package { 0, 0, 0, 0 }");
}

Test(acpi, fixed_hardware_sci_alone)
{
	check_fixed_hw(2);
}

Test(acpi, fixed_hardware_sci_shared_with_window_3)
{
	check_fixed_hw(5);
}

Test(acpi, hardware_reduced_has_no_facs)
{
	struct machine m;
	pc_machine(&m, 1, 0, 0);
	struct acpi_layout l = build(&m);
	const uint8_t *fadt = table(&l, l.fadt, "FACP");
	const uint8_t *madt = table(&l, l.madt, "APIC");
	cr_assert_eq(l.facs, 0);
	cr_assert_eq(le(fadt + 132, 8) | le(fadt + 56, 4) | le(fadt + 46, 2), 0);
	cr_assert_eq(le(madt + 40, 4), 0, "no PCAT_COMPAT");
	cr_assert_eq(machine_set_acpi_pm1(&m, PORT_ACPI_PM, 16), -EINVAL, "an ISA line");
	cr_assert_eq(machine_set_acpi_pm1(&m, 0xFFF8, IRQ_ACPI_SCI), -EINVAL, "past port 0xFFFF");
}

/* Writes the table at `gpa` to DIR/NAME.dat. */
static void dump(const char *dir, const char *name, const uint8_t *t, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s.dat", dir, name);
	FILE *f = fopen(path, "wb");
	cr_assert(f);
	cr_assert_eq(fwrite(t, 1, len, f), len);
	fclose(f);
}

/* Runs `cmd`, returns its exit status and its output in `out`. */
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

static void slurp(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	cr_assert(f, "%s: not written", path);
	size_t n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	fclose(f);
}

struct named_table {
	const char *name;
	uint64_t gpa;
};

/* iasl -d on each table (in DIR, which it creates): no error, no warning, nothing flagged; the
 * last one's disassembly is left in `dsl`. */
static void disassemble(char *dir, const struct named_table *t, size_t n, char *dsl, size_t cap)
{
	char cmd[512];
	static char out[1 << 16];
	cr_assert(mkdtemp(dir));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = buf + (t[i].gpa - GPA);
		dump(dir, t[i].name, p, (size_t)le(p + 4, 4));
		snprintf(cmd, sizeof(cmd), "cd %s && iasl -d %s.dat 2>&1", dir, t[i].name);
		int status = run(cmd, out, sizeof(out));
		cr_assert_eq(status, 0, "iasl -d %s: status %d:\n%s", t[i].name, status, out);
		cr_assert_null(strstr(out, "Error"), "iasl -d %s:\n%s", t[i].name, out);
		cr_assert_null(strstr(out, "Warning"), "iasl -d %s:\n%s", t[i].name, out);
		snprintf(cmd, sizeof(cmd), "%s/%s.dsl", dir, t[i].name);
		slurp(cmd, dsl, cap);
		cr_assert_null(strstr(dsl, "**** "), "iasl -d %s flagged the table:\n%s", t[i].name,
			       dsl);
	}
}

static void skip_without_iasl(void)
{
	if (system("command -v iasl >/dev/null 2>&1") != 0)
		cr_skip_test(
		    "iasl not installed (Debian: acpica-tools, tools/setup.sh installs it)");
}

static void remove_dir(const char *dir)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	cr_assert_eq(system(cmd), 0);
}

/* A BIOS boot's full FADT and its FACS, as iasl reads them. */
Test(acpi, iasl_disassembles_the_fixed_hardware_tables)
{
	skip_without_iasl();
	struct machine m;
	pc_machine(&m, 2, 5, 2);
	m.acpi_pm = (struct machine_simple_dev){0};
	cr_assert_eq(machine_set_acpi_pm1(&m, PORT_ACPI_PM, IRQ_ACPI_SCI), 0);
	struct acpi_layout l = build(&m);
	char dir[] = "/tmp/test_acpi.XXXXXX";
	static char dsl[1 << 18];
	const struct named_table t[] = {
	    {"apic", l.madt}, {"facs", l.facs}, {"dsdt", l.dsdt}, {"facp", l.fadt}};
	disassemble(dir, t, sizeof(t) / sizeof(t[0]), dsl, sizeof(dsl));
	const char *want[] = {"Hardware Reduced (V5) : 0", "PM1A Event Block Address : 00000600",
			      "PM1A Control Block Address : 00000604",
			      "PM Timer Block Address : 00000608", "SCI Interrupt : 0009"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(dsl, want[i]), "the FADT lacks '%s':\n%s", want[i], dsl);
	remove_dir(dir);
}

Test(acpi, iasl_disassembles_every_table)
{
	skip_without_iasl();
	struct machine m;
	pc_machine(&m, 2, 3, 2);
	struct acpi_layout l = build(&m);
	char dir[] = "/tmp/test_acpi.XXXXXX";
	static char dsl[1 << 18];
	/* (iasl -d takes no bare RSDP: check_machine() checks it field by field) */
	const struct named_table t[] = {{"xsdt", l.xsdt},
					{"facp", l.fadt},
					{"apic", l.madt},
					{"mcfg", l.mcfg},
					{"dsdt", l.dsdt}};
	disassemble(dir, t, sizeof(t) / sizeof(t[0]), dsl, sizeof(dsl));
	/* What the guest must find, by name. */
	const char *want[] = {"Device (VR00)",
			      "Device (VR02)",
			      "\"LNRO0005\"",
			      "EisaId (\"PNP0A08\")",
			      "QWordMemory (ResourceProducer",
			      "0x000000C000000000, // Range Minimum",
			      "0x000000FFFFFFFFFF, // Range Maximum",
			      "EisaId (\"PNP0501\")",
			      "EisaId (\"PNP0303\")",
			      "EisaId (\"PNP0B00\")",
			      "Device (C001)",
			      "Name (\\_S5, Package",
			      "Name (_PRT, Package",
			      "0xD0001000,         // Address Base",
			      "Name (_HID, \"ACPI0013\"",
			      "EisaId (\"PNP0C0C\")",
			      "OperationRegion (GDST, SystemMemory, 0xC0001000, 0x04)",
			      "Method (_EVT, 1, Serialized)",
			      "Notify (\\_SB.PWRB, 0x80)",
			      "Device (VGEN)",
			      "Name (_HID, \"VMGENCTR\")",
			      "Name (_CID, \"VM_Gen_Counter\")",
			      "Name (ADDR, Package (0x02)",
			      "0x000A0000,",
			      "Notify (\\_SB.VGEN, 0x80)"};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		cr_assert_not_null(strstr(dsl, want[i]), "the DSDT lacks '%s':\n%s", want[i], dsl);
	remove_dir(dir);
}
