/* The device tree of the machine description (firmware/fdt.c), read back node by node with
 * libfdt for many machine shapes, decompiled by dtc without warnings, and handed to a guest by
 * boot_load() (SETUP_DTB setup_data for a bzImage, a PVH module). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/fdt.h"
#include "firmware/machine.h"
#include "firmware/x86/pvh.h"
#include "loaders/boot.h"
#include "tests/unit/firmware/fdt_check.h"
#include "tests/unit/fixtures/boot_fixtures.h"

#ifndef HAVE_LIBFDT

Test(fdt, refused_without_libfdt)
{
	struct machine m;
	void *blob;
	size_t size;
	machine_init(&m);
	cr_assert_not(machine_fdt_supported());
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -ENOTSUP);
}

#else
#include <libfdt.h>

static void build(struct machine *m, uint64_t ram, int ncpus, int nvirtio, bool pci)
{
	uint64_t low = ram < MMIO_HOLE_START ? ram : MMIO_HOLE_START;
	machine_init(m);
	cr_assert_eq(machine_add_ram(m, 0, low), 0);
	if (ram > low)
		cr_assert_eq(machine_add_ram(m, HIGH_RAM_START, ram - low), 0);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_add_uart(m, PORT_COM1, IRQ_COM1), 0);
	for (int i = 0; i < nvirtio; i++)
		cr_assert_eq(machine_add_virtio_mmio(m, VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000,
						     VIRTIO_MMIO_SIZE, VIRTIO_MMIO_IRQ(i)),
			     0);
	if (pci) {
		cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
					     PCI_MMIO32_SIZE, 0x1000, 0xF000),
			     0);
		for (int d = 1; d <= 3; d++)
			cr_assert_eq(machine_add_pci_intx(m, (uint8_t)d, 0,
							  pci_intx_ioapic_pin((unsigned)d, 0)),
				     0);
	}
	cr_assert_eq(machine_set_test_exit(m, PORT_DEBUG_EXIT, 4), 0);
	cr_assert_eq(
	    machine_set_boot_timer(m, BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE, PORT_BOOT_TIMER),
	    0);
	machine_set_cmdline(m, "console=ttyS0");
}

static void check_root(const void *fdt)
{
	cr_assert_str_eq(prop(fdt, "/", "compatible", -1), "vmm,kvm-x86_64");
	cr_assert_eq(prop_u32(fdt, "/", "#address-cells"), 2);
	cr_assert_eq(prop_u32(fdt, "/", "#size-cells"), 2);
	cr_assert_eq(prop_u32(fdt, "/", "interrupt-parent"), FDT_PHANDLE_IOAPIC);
	uint64_t a, s;
	cr_assert_eq(fdt_num_mem_rsv(fdt), 1);
	cr_assert_eq(fdt_get_mem_rsv(fdt, 0, &a, &s), 0);
	cr_assert_eq(a, EBDA_START);
	cr_assert_eq(s, KERNEL_LOAD_ADDR - EBDA_START);
}

static void check_cpus(const void *fdt, int ncpus)
{
	int cpus = node(fdt, "/cpus"), n = 0, off;
	cr_assert_eq(prop_u32(fdt, "/cpus", "#address-cells"), 1);
	cr_assert_eq(prop_u32(fdt, "/cpus", "#size-cells"), 0);
	fdt_for_each_subnode(off, fdt, cpus)
	{
		int len;
		const fdt32_t *reg = fdt_getprop(fdt, off, "reg", &len);
		cr_assert_eq(len, 4);
		cr_assert_eq(fdt32_to_cpu(*reg), (uint32_t)n, "APIC ID of cpu %d", n);
		cr_assert_str_eq(fdt_getprop(fdt, off, "device_type", NULL), "cpu");
		n++;
	}
	cr_assert_eq(n, ncpus);
}

static void check_memory(const void *fdt, uint64_t ram)
{
	uint64_t low = ram < MMIO_HOLE_START ? ram : MMIO_HOLE_START;
	assert_reg(fdt, "/memory@0", 0, low);
	cr_assert_str_eq(prop(fdt, "/memory@0", "device_type", -1), "memory");
	if (ram > low)
		assert_reg(fdt, "/memory@100000000", HIGH_RAM_START, ram - low);
	else
		cr_assert_lt(fdt_path_offset(fdt, "/memory@100000000"), 0);
}

static void check_intc(const void *fdt)
{
	const char *io = "/interrupt-controller@fec00000", *la = "/interrupt-controller@fee00000";
	cr_assert_str_eq(prop(fdt, io, "compatible", -1), "intel,ce4100-ioapic");
	prop(fdt, io, "interrupt-controller", 0);
	cr_assert_eq(prop_u32(fdt, io, "#interrupt-cells"), 2);
	cr_assert_eq(prop_u32(fdt, io, "#address-cells"), 0);
	cr_assert_eq(prop_u32(fdt, io, "phandle"), FDT_PHANDLE_IOAPIC);
	assert_reg(fdt, io, IOAPIC_BASE, 0x1000);
	cr_assert_eq(fdt_node_offset_by_phandle(fdt, FDT_PHANDLE_IOAPIC), node(fdt, io));
	cr_assert_str_eq(prop(fdt, la, "compatible", -1), "intel,ce4100-lapic");
	assert_reg(fdt, la, LAPIC_BASE, 0x1000);
	prop(fdt, la, "intel,virtual-wire-mode", 0);
	cr_assert_eq(fdt_node_offset_by_phandle(fdt, FDT_PHANDLE_LAPIC), node(fdt, la));
}

static void check_isa(const void *fdt)
{
	const char *uart = "/isa@i0/serial@i3f8";
	const void *r = prop(fdt, "/isa@i0", "ranges", 20);
	cr_assert_eq(cell(r, 0), 1, "I/O space");
	cr_assert_eq(cell(r, 4), 0x10000);
	cr_assert_eq(prop_u32(fdt, "/isa@i0", "#address-cells"), 2);
	cr_assert_eq(prop_u32(fdt, "/isa@i0", "#size-cells"), 1);
	cr_assert_str_eq(prop(fdt, uart, "compatible", -1), "ns16550a");
	r = prop(fdt, uart, "reg", 12);
	cr_assert_eq(cell(r, 0), 1);
	cr_assert_eq(cell(r, 1), PORT_COM1);
	cr_assert_eq(cell(r, 2), 8);
	r = prop(fdt, uart, "interrupts", 8);
	cr_assert_eq(cell(r, 0), IRQ_COM1);
	cr_assert_eq(cell(r, 1), FDT_IOAPIC_EDGE_RISING);
	cr_assert_eq(prop_u32(fdt, uart, "clock-frequency"), 1843200);
	cr_assert_str_eq(prop(fdt, "/aliases", "serial0", -1), uart);
	cr_assert_str_eq(prop(fdt, "/chosen", "stdout-path", -1), "serial0");
	r = prop(fdt, "/isa@i0/test-exit@if4", "reg", 12);
	cr_assert_eq(cell(r, 1), PORT_DEBUG_EXIT);
	cr_assert_eq(cell(r, 2), 4);
	cr_assert_str_eq(prop(fdt, "/isa@i0/test-exit@if4", "compatible", -1),
			 "vmm,isa-debug-exit");
	cr_assert_eq(cell(prop(fdt, "/isa@i0/boot-timer@i3f0", "reg", 12), 1), PORT_BOOT_TIMER);
	assert_reg(fdt, "/boot-timer@c0000000", BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE);
	cr_assert_str_eq(prop(fdt, "/boot-timer@c0000000", "compatible", -1), "vmm,boot-timer");
}

static void check_virtio(const void *fdt, int nvirtio)
{
	int n = 0, off;
	fdt_for_each_subnode(off, fdt, 0)
	{
		if (fdt_node_check_compatible(fdt, off, "virtio,mmio"))
			continue;
		char path[64];
		int len;
		snprintf(path, sizeof(path), "/virtio_mmio@%llx",
			 (unsigned long long)(VIRTIO_MMIO_BASE + (uint64_t)n * 0x1000));
		cr_assert_eq(off, node(fdt, path), "windows in order");
		assert_reg(fdt, path, VIRTIO_MMIO_BASE + (uint64_t)n * 0x1000, VIRTIO_MMIO_SIZE);
		const void *irq = fdt_getprop(fdt, off, "interrupts", &len);
		cr_assert_eq(len, 8);
		cr_assert_eq(cell(irq, 0), (uint32_t)VIRTIO_MMIO_IRQ(n));
		cr_assert_eq(cell(irq, 1), FDT_IOAPIC_LEVEL_HIGH);
		n++;
	}
	cr_assert_eq(n, nvirtio);
}

static void check_pci(const void *fdt, bool pci)
{
	const char *p = "/pci@e0000000";
	if (!pci) {
		cr_assert_lt(fdt_path_offset(fdt, p), 0);
		return;
	}
	cr_assert_str_eq(prop(fdt, p, "compatible", -1), "pci-host-ecam-generic");
	cr_assert_str_eq(prop(fdt, p, "device_type", -1), "pci");
	const void *r = prop(fdt, p, "bus-range", 8);
	cr_assert_eq(cell(r, 0), 0);
	cr_assert_eq(cell(r, 1), 255);
	cr_assert_eq(prop_u32(fdt, p, "#address-cells"), 3);
	cr_assert_eq(prop_u32(fdt, p, "#size-cells"), 2);
	assert_reg(fdt, p, PCI_ECAM_BASE, PCI_ECAM_SIZE);
	static const uint32_t ranges[14] = {
	    0x01000000, 0, 0x1000,     0, 0x1000,     0, 0xF000,
	    0x02000000, 0, 0xF0000000, 0, 0xF0000000, 0, (uint32_t)PCI_MMIO32_SIZE};
	r = prop(fdt, p, "ranges", sizeof(ranges));
	for (int i = 0; i < 14; i++)
		cr_assert_eq(cell(r, i), ranges[i], "ranges cell %d", i);
	cr_assert_eq(prop_u32(fdt, p, "#interrupt-cells"), 1);
	r = prop(fdt, p, "interrupt-map-mask", 16);
	cr_assert_eq(cell(r, 0), 0xf800);
	cr_assert_eq(cell(r, 3), 7);
	r = prop(fdt, p, "interrupt-map", 3 * 7 * 4);
	for (int d = 1; d <= 3; d++) {
		const uint32_t want[7] = {(uint32_t)d << 11,
					  0,
					  0,
					  1,
					  FDT_PHANDLE_IOAPIC,
					  pci_intx_ioapic_pin((unsigned)d, 0),
					  FDT_IOAPIC_LEVEL_LOW};
		for (int i = 0; i < 7; i++)
			cr_assert_eq(cell(r, (d - 1) * 7 + i), want[i], "dev %d cell %d", d, i);
	}
}

static void check_chosen(const void *fdt, const struct machine *m)
{
	char want[1024];
	cr_assert_geq(machine_cmdline(m, want, sizeof(want)), 0);
	cr_assert_str_eq(prop(fdt, "/chosen", "bootargs", -1), want);
	cr_assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "linux,initrd-start", NULL));
}

Test(fdt, every_machine_shape)
{
	static const uint64_t rams[] = {MIB(256), GIB(3), GIB(5)};
	static const int cpus[] = {1, 4, 64}, virtio[] = {0, 1, 8};
	for (int r = 0; r < 3; r++)
		for (int c = 0; c < 3; c++)
			for (int v = 0; v < 3; v++)
				for (int pci = 0; pci < 2; pci++) {
					struct machine m;
					build(&m, rams[r], cpus[c], virtio[v], pci);
					void *fdt = tree(&m);
					check_root(fdt);
					check_cpus(fdt, cpus[c]);
					check_memory(fdt, rams[r]);
					check_intc(fdt);
					check_isa(fdt);
					check_virtio(fdt, virtio[v]);
					check_pci(fdt, pci);
					check_chosen(fdt, &m);
					free(fdt);
				}
}

Test(fdt, initrd_in_chosen)
{
	struct machine m;
	build(&m, MIB(256), 1, 0, false);
	machine_set_initrd(&m, 0x7000000, 0x123456);
	void *fdt = tree(&m);
	const void *s = prop(fdt, "/chosen", "linux,initrd-start", 8);
	const void *e = prop(fdt, "/chosen", "linux,initrd-end", 8);
	cr_assert_eq(((uint64_t)cell(s, 0) << 32) | cell(s, 1), 0x7000000);
	cr_assert_eq(((uint64_t)cell(e, 0) << 32) | cell(e, 1), 0x7123456);
	free(fdt);
}

Test(fdt, minimal_machine_has_no_optional_nodes)
{
	struct machine m;
	machine_init(&m);
	machine_add_ram(&m, 0, MIB(64));
	machine_add_cpus(&m, 1);
	machine_set_arch_intc(&m);
	void *fdt = tree(&m);
	cr_assert_lt(fdt_path_offset(fdt, "/isa@i0"), 0);
	cr_assert_lt(fdt_path_offset(fdt, "/aliases"), 0);
	cr_assert_null(fdt_getprop(fdt, node(fdt, "/chosen"), "stdout-path", NULL));
	cr_assert_str_eq(prop(fdt, "/chosen", "bootargs", -1), "");
	free(fdt);
}

Test(fdt, errors)
{
	struct machine m;
	char small[256];
	void *blob;
	size_t size;
	build(&m, MIB(256), 64, 8, true);
	cr_assert_eq(machine_fdt_build(&m, small, sizeof(small)), -ENOSPC);
	cr_assert_eq(machine_fdt_build(NULL, small, sizeof(small)), -EINVAL);
	m.intc.present = false;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "no interrupt controller");
	cr_assert_null(blob);
	build(&m, MIB(256), 1, 1, false);
	m.virtio_mmio[0].irq.pin = IOAPIC_PINS;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "pin past the IOAPIC");
	build(&m, MIB(256), 1, 0, false);
	m.nvirtio_mmio = -1 + MACHINE_MAX_VIRTIO_MMIO + 2;
	cr_assert_eq(machine_fdt_alloc(&m, &blob, &size), -EINVAL, "corrupt count");
}

/* dtc decompiles the tree without a warning (every shape family once). */
Test(fdt, dtc_has_no_warnings)
{
	if (system("command -v dtc >/dev/null 2>&1") != 0)
		cr_skip_test("dtc not installed");
	for (int shape = 0; shape < 3; shape++) {
		struct machine m;
		char path[] = "/tmp/test_fdt.XXXXXX", cmd[256], out[4096] = "";
		build(&m, shape ? GIB(5) : MIB(256), shape ? 4 : 1, shape * 4, shape == 2);
		if (shape == 2)
			machine_set_initrd(&m, MIB(100), MIB(3));
		int fd = mkstemp(path);
		cr_assert_geq(fd, 0);
		close(fd);
		cr_assert_eq(machine_fdt_dump(&m, path), 0);
		snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>&1", path);
		FILE *p = popen(cmd, "r");
		cr_assert_not_null(p);
		size_t n = fread(out, 1, sizeof(out) - 1, p);
		int status = pclose(p);
		unlink(path);
		cr_assert_eq(status, 0, "dtc failed: %s", out);
		cr_assert_eq(n, 0, "dtc says: %s", out);
	}
}

/* ---- boot_load() hands the tree over ---- */

static struct guest_mem mem;
static uint8_t *ram;

static char *kernel_file(bool elf)
{
	size_t len;
	uint8_t *img;
	if (elf) {
		struct fake_elf o = fake_elf_default();
		img = fake_elf(&o, &len);
	} else {
		struct fake_bz o = fake_bz_default();
		img = fake_bzimage(&o, &len);
	}
	char *path = temp_file(img, len);
	free(img);
	return path;
}

static uint64_t boot_with_dtb(bool elf, const char *initrd, struct machine *m)
{
	struct boot_entry e;
	char *kernel = kernel_file(elf);
	ram = fake_mem_init(&mem, FAKE_RAM_SIZE);
	build(m, FAKE_RAM_SIZE, 2, 2, false);
	struct boot_config cfg = {.kernel_path = kernel,
				  .initrd_path = initrd,
				  .cmdline = "console=ttyS0",
				  .machine = m,
				  .dtb = true};
	cr_assert_eq(boot_load(&mem, &cfg, &e), 0);
	unlink(kernel);
	free(kernel);
	return e.boot_info;
}

static void check_blob_at(uint64_t addr, const struct machine *m)
{
	const void *fdt = ram + addr;
	cr_assert_eq(fdt_check_header(fdt), 0);
	check_virtio(fdt, 2);
	check_cpus(fdt, 2);
	if (m->initrd.size) {
		const void *s = prop(fdt, "/chosen", "linux,initrd-start", 8);
		cr_assert_eq(((uint64_t)cell(s, 0) << 32) | cell(s, 1), m->initrd.base);
	}
}

Test(fdt, pvh_module_after_the_initrd)
{
	struct machine m;
	char *initrd = temp_file("initrd!", 7);
	boot_with_dtb(true, initrd, &m);
	const struct hvm_start_info *si = (const void *)(ram + PVH_START_INFO_ADDR);
	const struct hvm_modlist_entry *mod = (const void *)(ram + PVH_MODLIST_ADDR);
	cr_assert_eq(si->nr_modules, 2);
	cr_assert_eq(machine_dtb_module(&m), 1);
	cr_assert_eq(mod[0].paddr, FAKE_RAM_SIZE - 0x1000, "initrd on top");
	cr_assert_eq(m.initrd.base, mod[0].paddr, "recorded in the description");
	cr_assert_eq(m.initrd.size, 7);
	cr_assert_eq(mod[1].paddr & 0xFFF, 0);
	cr_assert_lt(mod[1].paddr + mod[1].size, mod[0].paddr + 1, "DTB below the initrd");
	check_blob_at(mod[1].paddr, &m);
	cr_assert_eq(memcmp(ram + MPTABLE_ADDR, "_MP_", 4), 0, "MP table from the description");
	unlink(initrd);
	free(initrd);
	free(ram);
}

Test(fdt, pvh_module_0_without_initrd)
{
	struct machine m;
	boot_with_dtb(true, NULL, &m);
	const struct hvm_start_info *si = (const void *)(ram + PVH_START_INFO_ADDR);
	const struct hvm_modlist_entry *mod = (const void *)(ram + PVH_MODLIST_ADDR);
	cr_assert_eq(si->nr_modules, 1);
	cr_assert_eq(machine_dtb_module(&m), 0);
	cr_assert_eq(mod[0].paddr + ((mod[0].size + 0xFFF) & ~0xFFFULL), FAKE_RAM_SIZE);
	check_blob_at(mod[0].paddr, &m);
	free(ram);
}

Test(fdt, bzimage_setup_data)
{
	struct machine m;
	char *initrd = temp_file("initrd!", 7);
	uint64_t zp = boot_with_dtb(false, initrd, &m);
	const struct boot_params *bp = (const void *)(ram + zp);
	const struct setup_data *sd = (const void *)(ram + bp->hdr.setup_data);
	cr_assert_neq(bp->hdr.setup_data, 0);
	cr_assert_eq(sd->type, SETUP_DTB);
	cr_assert_eq(sd->next, 0);
	cr_assert_lt(bp->hdr.setup_data + sizeof(*sd) + sd->len, bp->hdr.ramdisk_image + 1);
	cr_assert_eq(sd->len, fdt_totalsize(sd->data));
	check_blob_at(bp->hdr.setup_data + sizeof(*sd), &m);
	unlink(initrd);
	free(initrd);
	free(ram);
}

#endif
