/* libFuzzer target: the machine description (firmware/machine.c) and every generator fed from
 * it: e820, PVH memory map, MP-table entries and the MP table itself (over 1 MiB of fake RAM),
 * the command line, the device tree (firmware/fdt.c) and the ACPI tables with their AML
 * (firmware/acpi/acpi.h).
 *
 * Input: a mode byte and a buffer-size word for the command line and the tree (written into
 * heap blocks of exactly that size: ASan sees any overrun). Mode bit 0 clear: a sequence of
 * adder calls (op byte, then its arguments), as the VMM would make them but with any values;
 * set: a struct machine decoded field by field with no adder's checks (addresses, sizes, pins
 * and IDs anything, as a bug elsewhere in the VMM could leave them; counts from -1 to one past
 * their array, which machine_counts_valid() must refuse), then a fuzzed command line (mode bit
 * 1: used). Every field gets a value of its type: a bool is 0 or 1 and an enum one of its
 * values, since copying raw bytes into a bool is undefined behaviour in the harness itself.
 *
 * Invariants: no generator reads or writes out of bounds; the e820 map is sorted with no empty
 * entry; a command line that was written has the returned length; a tree that was built passes
 * fdt_check_header(), fits its buffer and every node and property of it can be walked; ACPI
 * tables that were built fit their buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "firmware/acpi/acpi.h"
#include "firmware/fdt.h"
#include "firmware/machine.h"
#include "firmware/x86/machine_x86.h"
#include "tools/fuzz/fuzz_input.h"

#ifdef HAVE_LIBFDT
#include <libfdt.h>
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
/* The tables into a heap block of exactly `cap` bytes (ASan sees an overrun). */
static void check_acpi(const struct machine *m, size_t cap)
{
	struct acpi_layout l;
	void *buf = malloc(cap ? cap : 1);
	if (!buf)
		return;
	if (acpi_build(m, 0xE0000, buf, cap, &l) == 0 && l.len > cap)
		abort();
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (1u << 20)

static uint8_t *ram;
static struct guest_mem mem;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	ram = malloc(RAM_SIZE);
	if (!ram || guest_mem_add_region(&mem, 0, ram, RAM_SIZE))
		abort();
	return 0;
}

/* The command line string: up to 255 fuzzed bytes, NUL-terminated. */
static void take_cmdline(struct fz_in *in, char *buf)
{
	size_t n = fz_u8(in);
	fz_bytes(in, buf, n);
	buf[n] = '\0';
}

static void one_op(struct fz_in *in, struct machine *m, char *cmdline)
{
	uint64_t a, b, c, d, e, f;
	switch (fz_u8(in) % 12) {
	case 0:
		a = fz_u64(in), b = fz_u64(in);
		machine_add_ram(m, a, b);
		break;
	case 1:
		machine_add_cpu(m, fz_u32(in));
		break;
	case 2:
		machine_add_cpus(m, fz_u8(in));
		break;
	case 3:
		a = fz_u64(in), b = fz_u32(in), c = fz_u16(in), d = fz_u64(in);
		machine_set_intc(m, a, (uint32_t)b, (uint32_t)c, d);
		break;
	case 4:
		a = fz_u16(in), b = fz_u32(in);
		machine_add_uart(m, (uint16_t)a, (uint32_t)b);
		break;
	case 5:
		a = fz_u64(in), b = fz_u64(in), c = fz_u32(in);
		machine_add_virtio_mmio(m, a, b, (uint32_t)c);
		break;
	case 6:
		a = fz_u64(in), b = fz_u64(in), c = fz_u64(in), d = fz_u64(in), e = fz_u64(in),
		f = fz_u64(in);
		machine_set_pci(m, a, b, c, d, e, f);
		break;
	case 7:
		a = fz_u8(in), b = fz_u8(in), c = fz_u32(in);
		machine_add_pci_intx(m, (uint8_t)a, (uint8_t)b, (uint32_t)c);
		break;
	case 8:
		a = fz_u16(in), b = fz_u16(in);
		machine_set_test_exit(m, (uint16_t)a, (uint16_t)b);
		break;
	case 9:
		a = fz_u64(in), b = fz_u64(in), c = fz_u16(in);
		machine_set_boot_timer(m, a, b, (uint16_t)c);
		break;
	case 10:
		a = fz_u64(in), b = fz_u64(in);
		machine_set_initrd(m, a, b);
		break;
	default:
		take_cmdline(in, cmdline);
		machine_set_cmdline(m, cmdline);
		break;
	}
}

/* ---- a struct machine decoded field by field (mode bit 0) ---- */

/* An array count: mostly within [0, max], sometimes -1 or max + 1 (refused by the generators). */
static int take_count(struct fz_in *in, int max)
{
	return (int)fz_below(in, (uint32_t)max + 3) - 1;
}

/* How many array entries to decode for a count (the generators read none past the array). */
static int entries(int count, int max)
{
	return count < 0 ? 0 : count > max ? max : count;
}

static struct machine_range take_range(struct fz_in *in)
{
	uint64_t base = fz_u64(in);
	return (struct machine_range){base, fz_u64(in)};
}

static struct machine_irq take_irq(struct fz_in *in)
{
	uint32_t pin = fz_u32(in);
	uint8_t trigger = fz_bool(in) ? MACHINE_IRQ_LEVEL : MACHINE_IRQ_EDGE;
	uint8_t polarity = fz_bool(in) ? MACHINE_IRQ_LOW : MACHINE_IRQ_HIGH;
	return (struct machine_irq){pin, trigger, polarity};
}

static uint8_t take_space(struct fz_in *in)
{
	return fz_bool(in) ? MACHINE_SPACE_IO : MACHINE_SPACE_MEM;
}

static void take_intc(struct fz_in *in, struct machine_intc *c)
{
	c->present = fz_bool(in);
	c->base = fz_u64(in), c->size = fz_u64(in);
	c->id = fz_u32(in), c->pins = fz_u32(in);
	c->local_base = fz_u64(in);
}

static void take_pci(struct fz_in *in, struct machine_pci *p)
{
	p->present = fz_bool(in);
	p->ecam = take_range(in);
	p->bus_first = fz_u8(in), p->bus_last = fz_u8(in);
	p->mem32 = take_range(in);
	p->io = take_range(in);
	p->nintx = take_count(in, MACHINE_MAX_PCI_INTX);
	for (int i = 0; i < entries(p->nintx, MACHINE_MAX_PCI_INTX); i++) {
		p->intx[i].dev = fz_u8(in), p->intx[i].intx = fz_u8(in);
		p->intx[i].irq = take_irq(in);
	}
	p->mem64 = take_range(in);
}

static void take_simple(struct fz_in *in, struct machine_simple_dev *d)
{
	d->present = fz_bool(in);
	d->space = take_space(in);
	d->base = fz_u64(in), d->size = fz_u64(in), d->port = fz_u64(in);
}

static void take_machine(struct fz_in *in, struct machine *m)
{
	m->nram = take_count(in, MACHINE_MAX_RAM);
	for (int i = 0; i < entries(m->nram, MACHINE_MAX_RAM); i++)
		m->ram[i] = take_range(in);
	m->ncpus = take_count(in, MACHINE_MAX_CPUS);
	for (int i = 0; i < entries(m->ncpus, MACHINE_MAX_CPUS); i++)
		m->cpu_ids[i] = fz_bool(in) ? (uint32_t)i : fz_u32(in); /* mostly the VMM's IDs */
	take_intc(in, &m->intc);
	m->nuarts = take_count(in, MACHINE_MAX_UARTS);
	for (int i = 0; i < entries(m->nuarts, MACHINE_MAX_UARTS); i++) {
		struct machine_uart *u = &m->uarts[i];
		u->space = take_space(in);
		u->base = fz_u64(in), u->size = fz_u64(in), u->clock_hz = fz_u32(in);
		u->irq = take_irq(in);
	}
	m->nvirtio_mmio = take_count(in, MACHINE_MAX_VIRTIO_MMIO);
	for (int i = 0; i < entries(m->nvirtio_mmio, MACHINE_MAX_VIRTIO_MMIO); i++) {
		m->virtio_mmio[i].base = fz_u64(in), m->virtio_mmio[i].size = fz_u64(in);
		m->virtio_mmio[i].irq = take_irq(in);
	}
	take_pci(in, &m->pci);
	take_simple(in, &m->test_exit);
	take_simple(in, &m->boot_timer);
	m->initrd = take_range(in);
	m->err = fz_bool(in) ? -(int)fz_u8(in) : 0;
	/* what only the ACPI tables read (after the rest: older corpus inputs keep their meaning)
	 */
	m->i8042 = fz_bool(in), m->rtc = fz_bool(in);
	take_simple(in, &m->acpi_pm);
	m->acpi_ged.base = fz_u64(in), m->acpi_ged.size = fz_u64(in);
	m->acpi_ged.irq = take_irq(in);
	m->vmgenid = fz_u64(in); /* any value: the DSDT writes it as two 32-bit halves */
	m->acpi_pm1.present = fz_bool(in), m->acpi_pm1.base = fz_u64(in);
	m->acpi_pm1.sci = take_irq(in);
}

static void check_e820(const struct machine *m)
{
	struct boot_e820_entry e[16];
	struct hvm_memmap_table_entry pvh[16];
	int n = machine_e820(m, e, 16);
	for (int i = 0; i < n; i++) {
		if (e[i].size == 0 || (i && e[i - 1].addr > e[i].addr))
			abort();
	}
	machine_pvh_memmap(m, pvh, 16);
}

static void check_mp(const struct machine *m)
{
	struct mp_irq irqs[MACHINE_MAX_VIRTIO_MMIO + MACHINE_MAX_PCI_INTX];
	machine_mp_irqs(m, irqs, (int)(sizeof(irqs) / sizeof(irqs[0])));
	machine_write_mptable(m, &mem, 0x9FC00);
}

static void check_cmdline(const struct machine *m, size_t cap)
{
	char *buf = malloc(cap ? cap : 1);
	if (!buf)
		return;
	int n = machine_cmdline(m, buf, cap);
	if (n >= 0 && strlen(buf) != (size_t)n)
		abort();
	free(buf);
}

static void check_fdt(const struct machine *m, size_t cap)
{
	void *buf = malloc(cap ? cap : 1);
	if (!buf)
		return;
	int n = machine_fdt_build(m, buf, cap);
#ifdef HAVE_LIBFDT
	if (n >= 0) {
		int depth = 0, len;
		if (fdt_check_header(buf) || (size_t)n > cap || fdt_totalsize(buf) != (uint32_t)n)
			abort();
		for (int off = 0; off >= 0 && depth >= 0; off = fdt_next_node(buf, off, &depth)) {
			int p;
			if (!fdt_get_name(buf, off, &len))
				abort();
			fdt_for_each_property_offset(p, buf, off)
			{
				const char *name;
				if (!fdt_getprop_by_offset(buf, p, &name, &len))
					abort();
			}
		}
	}
#else
	(void)n;
#endif
	free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char cmdline[256];
	struct fz_in in = fz_in_make(data, size);
	struct machine m;
	machine_init(&m);
	cmdline[0] = '\0';
	uint8_t mode = fz_u8(&in);
	size_t cap = fz_u16(&in);
	if (mode & 1) {
		take_machine(&in, &m);
		take_cmdline(&in, cmdline);
		m.cmdline = (mode & 2) ? cmdline : NULL;
	} else {
		while (!fz_done(&in))
			one_op(&in, &m, cmdline);
	}
	check_e820(&m);
	check_mp(&m);
	check_cmdline(&m, cap);
	check_fdt(&m, cap * 4);
	check_acpi(&m, cap * 4);
	return 0;
}
