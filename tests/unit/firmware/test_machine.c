/* The machine description: adders' validation, and its generators against reference
 * implementations kept here: the algorithms of the code paths the description replaced (the
 * e820 map computed from guest_mem regions, the MP-table entries vm_virtio and vm_pci used to
 * collect, the virtio_mmio.device= entries vm_virtio used to append), so each generated format
 * stays byte-identical to what guests were given before; and formats generated from the same
 * description against each other (the PVH memory map pvh_write() writes against e820). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "devices/pci/pci.h"
#include "firmware/machine.h"
#include "firmware/x86/machine_x86.h"
#include "firmware/x86/mptable.h"
#include "firmware/x86/pvh.h"

/* RAM sizes around the hole: guest_mem_alloc() puts min(ram, hole start) low, the rest at 4G. */
static const uint64_t sizes[] = {MIB(2), MIB(64), MIB(256),	  GIB(3) - KIB(4),
				 GIB(3), GIB(4),  GIB(5) + MIB(2)};

static void add_pc_ram(struct machine *m, uint64_t size)
{
	uint64_t low = size < MMIO_HOLE_START ? size : MMIO_HOLE_START;
	cr_assert_eq(machine_add_ram(m, 0, low), 0);
	if (size > low)
		cr_assert_eq(machine_add_ram(m, HIGH_RAM_START, size - low), 0);
}

/* A PC-shaped machine: n vCPUs, the IOAPIC, COM1, `nvirtio` virtio-mmio windows as
 * vm_virtio_add() places them, and with `npci` > 0 the PCI bridge and npci devices' INTA. */
static void pc_machine(struct machine *m, uint64_t ram, int ncpus, int nvirtio, int npci)
{
	machine_init(m);
	add_pc_ram(m, ram);
	cr_assert_eq(machine_add_cpus(m, ncpus), 0);
	cr_assert_eq(machine_set_arch_intc(m), 0);
	cr_assert_eq(machine_add_uart(m, PORT_COM1, IRQ_COM1), 0);
	for (int i = 0; i < nvirtio; i++)
		cr_assert_eq(machine_add_virtio_mmio(m, VIRTIO_MMIO_BASE + (uint64_t)i * 0x1000,
						     VIRTIO_MMIO_SIZE, VIRTIO_MMIO_IRQ(i)),
			     0);
	if (npci) {
		cr_assert_eq(machine_set_pci(m, PCI_ECAM_BASE, PCI_ECAM_SIZE, PCI_MMIO32_BASE,
					     PCI_MMIO32_SIZE, 0, 0),
			     0);
		for (int d = 1; d <= npci; d++)
			cr_assert_eq(machine_add_pci_intx(m, (uint8_t)d, 0,
							  pci_intx_ioapic_pin((unsigned)d, 0)),
				     0);
	}
	cr_assert_eq(m->err, 0);
}

/* ---- adders ---- */

Test(machine, ram_is_validated)
{
	struct machine m;
	machine_init(&m);
	cr_assert_eq(machine_add_ram(&m, 0, 0), -EINVAL);
	cr_assert_eq(m.err, -EINVAL, "the first error sticks");
	cr_assert_eq(machine_add_ram(&m, UINT64_MAX - 10, 100), -EINVAL, "wraps");
	cr_assert_eq(machine_add_ram(&m, 0, MIB(16)), 0);
	cr_assert_eq(machine_add_ram(&m, MIB(8), MIB(16)), -EINVAL, "overlap");
	cr_assert_eq(machine_add_ram(&m, MIB(16), MIB(16)), 0, "adjacent is fine");
	cr_assert_eq(machine_add_ram(&m, GIB(4), MIB(1)), 0);
	cr_assert_eq(machine_add_ram(&m, GIB(8), MIB(1)), 0);
	cr_assert_eq(machine_add_ram(&m, GIB(9), MIB(1)), -ENOSPC);
	cr_assert_eq(m.nram, 4);
	cr_assert_eq(m.err, -EINVAL);
}

Test(machine, cpus_and_intc)
{
	struct machine m;
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 0), -EINVAL);
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 4), 0);
	cr_assert_eq(machine_add_cpu(&m, 2), -EINVAL, "duplicate APIC ID");
	cr_assert_eq(machine_add_cpu(&m, 9), 0);
	cr_assert_eq(m.ncpus, 5);
	cr_assert_eq(m.cpu_ids[4], 9);
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, MACHINE_MAX_CPUS), 0);
	cr_assert_eq(machine_add_cpu(&m, 1000), -ENOSPC);
	machine_init(&m);
	cr_assert_eq(machine_add_uart(&m, PORT_COM1, 4), -EINVAL, "no controller yet");
	cr_assert_eq(machine_set_intc(&m, IOAPIC_BASE, 1, 0, LAPIC_BASE), -EINVAL);
	cr_assert_eq(machine_set_intc(&m, UINT64_MAX - 100, 1, 24, 0), -EINVAL);
	cr_assert_eq(machine_add_cpus(&m, 3), 0);
	cr_assert_eq(machine_set_arch_intc(&m), 0);
	cr_assert_eq(m.intc.id, 3);
	cr_assert_eq(m.intc.base, IOAPIC_BASE);
	cr_assert_eq(m.intc.pins, IOAPIC_PINS);
	cr_assert_eq(m.intc.local_base, LAPIC_BASE);
}

Test(machine, devices_are_validated)
{
	struct machine m;
	machine_init(&m);
	cr_assert_eq(machine_add_cpus(&m, 1), 0);
	cr_assert_eq(machine_set_arch_intc(&m), 0);
	cr_assert_eq(machine_add_uart(&m, PORT_COM1, IOAPIC_PINS), -EINVAL);
	machine_init(&m);
	machine_add_cpus(&m, 1);
	machine_set_arch_intc(&m);
	cr_assert_eq(machine_add_uart(&m, PORT_COM1, IRQ_COM1), 0);
	cr_assert_eq(m.uarts[0].irq.trigger, MACHINE_IRQ_EDGE);
	cr_assert_eq(m.uarts[0].irq.polarity, MACHINE_IRQ_HIGH);
	cr_assert_eq(m.uarts[0].size, 8);
	cr_assert_eq(machine_add_virtio_mmio(&m, VIRTIO_MMIO_BASE, 0xFF, 5), -EINVAL, "too small");
	cr_assert_eq(machine_add_virtio_mmio(&m, UINT64_MAX - 0xFFF, 0x1000, 5), -EINVAL);
	cr_assert_eq(machine_add_pci_intx(&m, 1, 0, 20), -EINVAL, "no bridge");
	cr_assert_eq(machine_set_pci(&m, PCI_ECAM_BASE, MIB(1) + 1, PCI_MMIO32_BASE, MIB(1), 0, 0),
		     -EINVAL, "ECAM not whole buses");
	cr_assert_eq(machine_set_pci(&m, PCI_ECAM_BASE, MIB(512), PCI_MMIO32_BASE, MIB(1), 0, 0),
		     -EINVAL, "more than 256 buses");
	cr_assert_eq(machine_set_pci(&m, PCI_ECAM_BASE, MIB(1), GIB(4) - MIB(1), MIB(2), 0, 0),
		     -EINVAL, "32-bit window above 4G");
	cr_assert_eq(
	    machine_set_pci(&m, PCI_ECAM_BASE, MIB(1), PCI_MMIO32_BASE, MIB(1), 0xF000, 0x2000),
	    -EINVAL, "I/O window past 64K");
	cr_assert_eq(machine_set_pci(&m, PCI_ECAM_BASE, MIB(16), PCI_MMIO32_BASE, MIB(1), 0, 0), 0);
	cr_assert_eq(m.pci.bus_last, 15);
	cr_assert_eq(machine_add_pci_intx(&m, 32, 0, 20), -EINVAL);
	cr_assert_eq(machine_add_pci_intx(&m, 1, 4, 20), -EINVAL);
	cr_assert_eq(machine_add_pci_intx(&m, 1, 0, 20), 0);
	cr_assert_eq(m.pci.intx[0].irq.trigger, MACHINE_IRQ_LEVEL);
	cr_assert_eq(m.pci.intx[0].irq.polarity, MACHINE_IRQ_LOW);
	/* every pin of every device but the bridge's fits (hotplug slots describe all four) */
	for (int d = 1; d < 32; d++)
		for (int pin = d == 1; pin < 4; pin++)
			cr_assert_eq(
			    machine_add_pci_intx(&m, (uint8_t)d, (uint8_t)pin,
						 pci_intx_ioapic_pin((unsigned)d, (unsigned)pin)),
			    0, "device %d INT%c", d, 'A' + pin);
	cr_assert_eq(m.pci.nintx, 31 * 4);
	cr_assert_eq(machine_add_pci_intx(&m, 2, 0, 20), -ENOSPC, "one more");
	cr_assert_eq(machine_set_test_exit(&m, 0xFFFE, 4), -EINVAL);
	cr_assert_eq(machine_set_test_exit(&m, PORT_DEBUG_EXIT, 4), 0);
	cr_assert_eq(machine_set_initrd(&m, UINT64_MAX, 2), -EINVAL);
	cr_assert_eq(machine_set_initrd(&m, 0x1000, 0), 0);
	cr_assert_eq(m.initrd.base, 0, "no initrd: no address");
	for (int i = 0; i < MACHINE_MAX_VIRTIO_MMIO; i++)
		cr_assert_eq(machine_add_virtio_mmio(&m, GIB(1) + (uint64_t)i * 0x1000, 0x1000, 5),
			     0);
	cr_assert_eq(machine_add_virtio_mmio(&m, GIB(2), 0x1000, 5), -ENOSPC);
}

/* ---- e820: the algorithm e820_build() had before it moved here, kept as the reference ---- */

static int ref_add(struct boot_e820_entry *out, int n, int max, uint64_t s, uint64_t e,
		   uint32_t type)
{
	if (s >= e || n < 0)
		return n;
	if (n >= max)
		return -ENOSPC;
	out[n] = (struct boot_e820_entry){.addr = s, .size = e - s, .type = type};
	return n + 1;
}

static int ref_e820(const struct guest_mem *mem, struct boot_e820_entry *out, int max)
{
	int n = 0;
	for (int i = 0; i < mem->nregions; i++) {
		uint64_t s = mem->regions[i].gpa, e = s + mem->regions[i].size;
		n = ref_add(out, n, max, s, e < EBDA_START ? e : EBDA_START, E820_RAM);
		n = ref_add(out, n, max, s > KERNEL_LOAD_ADDR ? s : KERNEL_LOAD_ADDR, e, E820_RAM);
	}
	n = ref_add(out, n, max, EBDA_START, KERNEL_LOAD_ADDR, E820_RESERVED);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && out[j - 1].addr > out[j].addr; j--) {
			struct boot_e820_entry t = out[j];
			out[j] = out[j - 1];
			out[j - 1] = t;
		}
	return n;
}

static char dummy;

static void pc_mem(struct guest_mem *mem, uint64_t size)
{
	uint64_t low = size < MMIO_HOLE_START ? size : MMIO_HOLE_START;
	memset(mem, 0, sizeof(*mem));
	cr_assert_eq(guest_mem_add_region(mem, 0, &dummy, low), 0);
	if (size > low)
		cr_assert_eq(guest_mem_add_region(mem, HIGH_RAM_START, &dummy, size - low), 0);
}

Test(machine, e820_equals_the_previous_code)
{
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct machine m;
		struct guest_mem mem;
		struct boot_e820_entry got[8], want[8];
		pc_machine(&m, sizes[s], 1, 0, 0);
		pc_mem(&mem, sizes[s]);
		int n = machine_e820(&m, got, 8);
		cr_assert_eq(n, ref_e820(&mem, want, 8), "size %#llx",
			     (unsigned long long)sizes[s]);
		cr_assert_eq(memcmp(got, want, (size_t)n * sizeof(got[0])), 0);
		cr_assert_eq(machine_e820(&m, got, n - 1), -ENOSPC);
	}
}

Test(machine, e820_with_the_hole)
{
	struct machine m;
	struct boot_e820_entry e[8];
	pc_machine(&m, GIB(5), 2, 0, 0);
	cr_assert_eq(machine_e820(&m, e, 8), 4);
	cr_assert_eq(e[2].addr, KERNEL_LOAD_ADDR);
	cr_assert_eq(e[2].size, MMIO_HOLE_START - KERNEL_LOAD_ADDR);
	cr_assert_eq(e[3].addr, HIGH_RAM_START);
	cr_assert_eq(e[3].size, GIB(2));
	cr_assert_eq(machine_e820(NULL, e, 8), -EINVAL);
}

/* ---- PVH memory map: what pvh_write() writes is the e820 map of the same description ---- */

Test(machine, pvh_memmap_equals_e820)
{
	uint8_t *low = calloc(1, MIB(1));
	cr_assert_not_null(low);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct machine m;
		struct guest_mem mem = {0};
		struct hvm_memmap_table_entry got[PVH_MEMMAP_MAX];
		struct boot_e820_entry want[8];
		uint64_t lo = sizes[s] < MMIO_HOLE_START ? sizes[s] : MMIO_HOLE_START;
		/* pvh_write() touches only the first pages: a 1 MiB buffer backs them. */
		cr_assert_eq(guest_mem_add_region(&mem, 0, low, lo), 0);
		if (sizes[s] > lo)
			cr_assert_eq(
			    guest_mem_add_region(&mem, HIGH_RAM_START, &dummy, sizes[s] - lo), 0);
		struct pvh_info info = {.cmdline_addr = BOOT_CMDLINE_ADDR};
		pc_machine(&m, sizes[s], 1, 0, 0);
		cr_assert_eq(pvh_write(&mem, &m, &info), 0);
		const struct hvm_start_info *si = (const void *)(low + PVH_START_INFO_ADDR);
		int n = machine_pvh_memmap(&m, got, PVH_MEMMAP_MAX);
		cr_assert_eq(n, (int)si->memmap_entries);
		cr_assert_eq(memcmp(got, low + PVH_MEMMAP_ADDR, (size_t)n * sizeof(got[0])), 0);
		cr_assert_eq(ref_e820(&mem, want, 8), n);
		for (int i = 0; i < n; i++)
			cr_assert(got[i].addr == want[i].addr && got[i].size == want[i].size &&
				      got[i].type == want[i].type,
				  "entry %d", i);
		cr_assert_eq(machine_pvh_memmap(&m, got, n - 1), -ENOSPC);
	}
	free(low);
}

Test(machine, dtb_module_index)
{
	struct machine m;
	machine_init(&m);
	cr_assert_eq(machine_dtb_module(&m), 0);
	machine_set_initrd(&m, MIB(32), 0x2345);
	cr_assert_eq(machine_dtb_module(&m), 1);
}

/* ---- MP table against the entries vm_virtio and vm_pci produce ---- */

/* The entry vm_virtio used to add for window `i`: ISA bus, IRQ = pin, level/high. */
static struct mp_irq ref_virtio_mmio_irq(int i)
{
	uint8_t pin = (uint8_t)VIRTIO_MMIO_IRQ(i);
	return (struct mp_irq){MP_BUS_ISA, pin, pin, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_HIGH};
}

static void old_mptable(struct guest_mem *mem, int ncpus, int nvirtio, int npci)
{
	struct mp_irq irqs[VIRTIO_MMIO_MAX + 16];
	int n = 0;
	for (int i = 0; i < nvirtio; i++)
		irqs[n++] = ref_virtio_mmio_irq(i);
	for (int d = 1; d <= npci; d++)
		irqs[n++] = mptable_pci_irq(d, 0, (int)pci_intx_ioapic_pin((unsigned)d, 0));
	cr_assert_eq(mptable_write(mem, MPTABLE_ADDR, ncpus, irqs, n), 0);
}

Test(machine, mptable_equals_the_previous_code)
{
	/* 64 vCPUs do not fit the MP table's 1 KiB at MPTABLE_ADDR (either way). */
	static const int cpus[] = {1, 4, 16};
	static const int virtio[] = {0, 1, 3, 8, VIRTIO_MMIO_MAX};
	uint8_t *a = malloc(MIB(1)), *b = malloc(MIB(1));
	cr_assert(a && b);
	for (size_t c = 0; c < 3; c++)
		for (size_t v = 0; v < 5; v++)
			for (int npci = 0; npci <= 4; npci += 4) {
				struct guest_mem ma = {0}, mb = {0};
				struct machine m;
				memset(a, 0x5A, MIB(1));
				memset(b, 0x5A, MIB(1));
				guest_mem_add_region(&ma, 0, a, MIB(1));
				guest_mem_add_region(&mb, 0, b, MIB(1));
				pc_machine(&m, MIB(256), cpus[c], virtio[v], npci);
				old_mptable(&ma, cpus[c], virtio[v], npci);
				cr_assert_eq(machine_write_mptable(&m, &mb, MPTABLE_ADDR), 0);
				cr_assert_eq(memcmp(a, b, MIB(1)), 0, "cpus %d virtio %d pci %d",
					     cpus[c], virtio[v], npci);
			}
	free(a);
	free(b);
}

Test(machine, mp_irqs_derived_from_the_description)
{
	struct machine m;
	struct mp_irq irqs[8];
	pc_machine(&m, MIB(256), 2, 2, 1);
	cr_assert_eq(machine_mp_irqs(&m, irqs, 8), 3);
	cr_assert_eq(irqs[0].bus, MP_BUS_ISA);
	cr_assert_eq(irqs[0].bus_irq, 5);
	cr_assert_eq(irqs[0].pin, 5);
	cr_assert_eq(irqs[0].flags, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_HIGH);
	cr_assert_eq(irqs[1].pin, 6);
	cr_assert_eq(irqs[2].bus, MP_BUS_PCI);
	cr_assert_eq(irqs[2].bus_irq, 1 << 2);
	cr_assert_eq(irqs[2].pin, 21);
	cr_assert_eq(irqs[2].flags, MP_IRQ_TRIG_LEVEL | MP_IRQ_POL_LOW);
	cr_assert_eq(machine_mp_irqs(&m, irqs, 2), -ENOSPC);
}

Test(machine, mptable_refuses_what_it_cannot_express)
{
	uint8_t *ram = malloc(MIB(1));
	struct guest_mem mem = {0};
	struct machine m;
	cr_assert_not_null(ram);
	guest_mem_add_region(&mem, 0, ram, MIB(1));
	pc_machine(&m, MIB(256), 2, 0, 0);
	m.cpu_ids[1] = 7;
	cr_assert_eq(machine_write_mptable(&m, &mem, MPTABLE_ADDR), -EINVAL, "sparse APIC IDs");
	pc_machine(&m, MIB(256), 2, 0, 0);
	m.intc.id = 9;
	cr_assert_eq(machine_write_mptable(&m, &mem, MPTABLE_ADDR), -EINVAL, "IOAPIC ID");
	pc_machine(&m, MIB(256), 2, 0, 0);
	cr_assert_eq(machine_set_intc(&m, IOAPIC_BASE, 2, 64, LAPIC_BASE), 0);
	cr_assert_eq(machine_add_virtio_mmio(&m, VIRTIO_MMIO_BASE, 0x1000, 40), 0);
	cr_assert_eq(machine_write_mptable(&m, &mem, MPTABLE_ADDR), -EINVAL, "pin >= 24");
	free(ram);
}

/* ---- command line against what vm_virtio appended ---- */

/* The old vm_virtio_cmdline(): " virtio_mmio.device=4K@0x<base>:<gsi>" per window. */
static void ref_cmdline(char *buf, size_t cap, const char *append, int n)
{
	size_t len = (size_t)snprintf(buf, cap, "%s", append);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(
		    buf + len, cap - len, "%svirtio_mmio.device=4K@0x%llx:%u", len ? " " : "",
		    (unsigned long long)(VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE),
		    VIRTIO_MMIO_IRQ(i));
}

Test(machine, cmdline_equals_the_previous_code)
{
	static const char *appends[] = {"", "console=ttyS0 root=/dev/vda"};
	char *want = malloc(BOOT_CMDLINE_MAX), *got = malloc(BOOT_CMDLINE_MAX);
	cr_assert(want && got);
	for (int a = 0; a < 2; a++)
		for (int n = 0; n <= VIRTIO_MMIO_MAX; n++) {
			struct machine m;
			pc_machine(&m, MIB(256), 1, n, 0);
			machine_set_cmdline(&m, appends[a]);
			ref_cmdline(want, BOOT_CMDLINE_MAX, appends[a], n);
			cr_assert_eq(machine_cmdline(&m, got, BOOT_CMDLINE_MAX), (int)strlen(want));
			cr_assert_str_eq(got, want);
		}
	free(want);
	free(got);
}

Test(machine, cmdline_format_and_limits)
{
	struct machine m;
	char buf[128];
	pc_machine(&m, MIB(256), 1, 0, 0);
	machine_set_cmdline(&m, "quiet");
	cr_assert_eq(machine_add_virtio_mmio(&m, 0xD0000000, MIB(2), 5), 0);
	cr_assert_eq(machine_add_virtio_mmio(&m, 0xD1000000, 0x180, 6), 0);
	cr_assert_eq(machine_cmdline(&m, buf, sizeof(buf)), 76);
	cr_assert_str_eq(buf, "quiet virtio_mmio.device=2M@0xd0000000:5 "
			      "virtio_mmio.device=384@0xd1000000:6");
	cr_assert_eq(machine_cmdline(&m, buf, 76), -E2BIG);
	cr_assert_str_eq(buf, "quiet virtio_mmio.device=2M@0xd0000000:5", "whole entries only");
	cr_assert_eq(machine_cmdline(&m, buf, 5), -E2BIG);
	cr_assert_eq(machine_cmdline(&m, buf, 0), -E2BIG);
	machine_set_cmdline(&m, NULL);
	m.nvirtio_mmio = 0;
	cr_assert_eq(machine_cmdline(&m, buf, 1), 0);
	cr_assert_str_eq(buf, "");
}
