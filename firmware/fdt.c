/* Device tree of the machine description, built with libfdt's sequential-write functions
 * (layout and conventions in fdt.h). */
#include "firmware/fdt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/host_path.h"
#include "base/layout.h"
#include "base/log.h"

#ifdef HAVE_LIBFDT
#include <libfdt.h>

#define MAX_CELLS     1024 /* the interrupt-map: 8 cells for each of 124 PCI INTx lines */
#define FIRST_SIZE    (16u << 10)
#define ISA_IO_SPACE  1 /* ISA binding: first address cell 1 = I/O port */
#define PCI_SPACE_IO  0x01000000u
#define PCI_SPACE_M32 0x02000000u
#define PCI_SPACE_M64 0x03000000u

/* The tree being written; the first libfdt error sticks and makes every later call a no-op. */
struct fdtw {
	void *fdt;
	int err;
};

/* A property value under construction, in big-endian cells. */
struct cells {
	fdt32_t v[MAX_CELLS];
	int n;
};

static void check(struct fdtw *w, int ret)
{
	if (ret < 0 && !w->err)
		w->err = ret == -FDT_ERR_NOSPACE ? -ENOSPC : -EINVAL;
}

static void push32(struct cells *c, uint32_t v)
{
	if (c->n < MAX_CELLS)
		c->v[c->n++] = cpu_to_fdt32(v);
}

static void push64(struct cells *c, uint64_t v)
{
	push32(c, (uint32_t)(v >> 32));
	push32(c, (uint32_t)v);
}

static void begin(struct fdtw *w, const char *fmt, uint64_t unit)
{
	char name[64];
	snprintf(name, sizeof(name), fmt, (unsigned long long)unit);
	if (!w->err)
		check(w, fdt_begin_node(w->fdt, name));
}

static void end(struct fdtw *w)
{
	if (!w->err)
		check(w, fdt_end_node(w->fdt));
}

static void prop_cells(struct fdtw *w, const char *name, const struct cells *c)
{
	if (!w->err)
		check(w, fdt_property(w->fdt, name, c->v, (int)(c->n * sizeof(fdt32_t))));
}

static void prop_u32(struct fdtw *w, const char *name, uint32_t v)
{
	if (!w->err)
		check(w, fdt_property_u32(w->fdt, name, v));
}

static void prop_u64(struct fdtw *w, const char *name, uint64_t v)
{
	if (!w->err)
		check(w, fdt_property_u64(w->fdt, name, v));
}

static void prop_str(struct fdtw *w, const char *name, const char *s)
{
	if (!w->err)
		check(w, fdt_property_string(w->fdt, name, s));
}

static void prop_empty(struct fdtw *w, const char *name)
{
	if (!w->err)
		check(w, fdt_property(w->fdt, name, NULL, 0));
}

/* reg = <base size> in the root's 2 + 2 cells. */
static void prop_reg(struct fdtw *w, uint64_t base, uint64_t size)
{
	struct cells c = {.n = 0};
	push64(&c, base);
	push64(&c, size);
	prop_cells(w, "reg", &c);
}

static uint32_t irq_type(const struct machine_irq *irq)
{
	if (irq->trigger == MACHINE_IRQ_LEVEL)
		return irq->polarity == MACHINE_IRQ_LOW ? FDT_IOAPIC_LEVEL_LOW
							: FDT_IOAPIC_LEVEL_HIGH;
	return irq->polarity == MACHINE_IRQ_LOW ? FDT_IOAPIC_EDGE_FALLING : FDT_IOAPIC_EDGE_RISING;
}

static void prop_interrupts(struct fdtw *w, const struct machine_irq *irq)
{
	struct cells c = {.n = 0};
	push32(&c, irq->pin);
	push32(&c, irq_type(irq));
	prop_cells(w, "interrupts", &c);
}

static void add_chosen(struct fdtw *w, const struct machine *m)
{
	char *cmdline = malloc(BOOT_CMDLINE_MAX);
	if (!cmdline) {
		w->err = w->err ? w->err : -ENOMEM;
		return;
	}
	begin(w, "chosen", 0);
	if (machine_cmdline(m, cmdline, BOOT_CMDLINE_MAX) < 0)
		w->err = w->err ? w->err : -E2BIG;
	prop_str(w, "bootargs", cmdline);
	free(cmdline);
	if (m->initrd.size) {
		prop_u64(w, "linux,initrd-start", m->initrd.base);
		prop_u64(w, "linux,initrd-end", m->initrd.base + m->initrd.size);
	}
	if (m->nuarts)
		prop_str(w, "stdout-path", "serial0");
	end(w);
}

static void uart_path(char *buf, size_t cap, const struct machine_uart *u)
{
	if (u->space == MACHINE_SPACE_IO)
		snprintf(buf, cap, "/isa@i0/serial@i%llx", (unsigned long long)u->base);
	else
		snprintf(buf, cap, "/serial@%llx", (unsigned long long)u->base);
}

static void add_aliases(struct fdtw *w, const struct machine *m)
{
	if (!m->nuarts)
		return;
	begin(w, "aliases", 0);
	for (int i = 0; i < m->nuarts; i++) {
		char name[24], path[64];
		snprintf(name, sizeof(name), "serial%d", i);
		uart_path(path, sizeof(path), &m->uarts[i]);
		prop_str(w, name, path);
	}
	end(w);
}

static void add_cpus(struct fdtw *w, const struct machine *m)
{
	begin(w, "cpus", 0);
	prop_u32(w, "#address-cells", 1);
	prop_u32(w, "#size-cells", 0);
	for (int i = 0; i < m->ncpus; i++) {
		begin(w, "cpu@%llx", m->cpu_ids[i]);
		prop_str(w, "device_type", "cpu");
		prop_u32(w, "reg", m->cpu_ids[i]);
		end(w);
	}
	end(w);
}

static void add_memory(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nram; i++) {
		begin(w, "memory@%llx", m->ram[i].base);
		prop_str(w, "device_type", "memory");
		prop_reg(w, m->ram[i].base, m->ram[i].size);
		end(w);
	}
}

static void add_intc(struct fdtw *w, const struct machine *m)
{
	begin(w, "interrupt-controller@%llx", m->intc.base);
	prop_str(w, "compatible", "intel,ce4100-ioapic");
	prop_empty(w, "interrupt-controller");
	prop_u32(w, "#interrupt-cells", 2);
	prop_u32(w, "#address-cells", 0); /* interrupt-map parent unit addresses: none */
	prop_reg(w, m->intc.base, m->intc.size);
	prop_u32(w, "phandle", FDT_PHANDLE_IOAPIC);
	end(w);
	if (!m->intc.local_base)
		return;
	begin(w, "interrupt-controller@%llx", m->intc.local_base);
	prop_str(w, "compatible", "intel,ce4100-lapic");
	prop_reg(w, m->intc.local_base, KIB(4));
	/* The 8259 reaches LINT0 directly (MP spec §3.6.2.2), as our MP table says. */
	prop_empty(w, "intel,virtual-wire-mode");
	prop_u32(w, "phandle", FDT_PHANDLE_LAPIC);
	end(w);
}

/* reg = <1 port size> in the ISA bus's 2 + 1 cells. */
static void prop_isa_reg(struct fdtw *w, uint64_t port, uint64_t size)
{
	struct cells c = {.n = 0};
	push32(&c, ISA_IO_SPACE);
	push32(&c, (uint32_t)port);
	push32(&c, (uint32_t)size);
	prop_cells(w, "reg", &c);
}

static bool has_io_devices(const struct machine *m)
{
	bool io = (m->test_exit.present && m->test_exit.space == MACHINE_SPACE_IO) ||
		  (m->boot_timer.present && m->boot_timer.port);
	for (int i = 0; i < m->nuarts; i++)
		io |= m->uarts[i].space == MACHINE_SPACE_IO;
	return io;
}

static void add_uart_node(struct fdtw *w, const struct machine_uart *u)
{
	if (u->space == MACHINE_SPACE_IO) {
		begin(w, "serial@i%llx", u->base);
		prop_isa_reg(w, u->base, u->size);
	} else {
		begin(w, "serial@%llx", u->base);
		prop_reg(w, u->base, u->size);
	}
	prop_str(w, "compatible", "ns16550a");
	prop_u32(w, "clock-frequency", u->clock_hz);
	prop_interrupts(w, &u->irq);
	end(w);
}

static void add_isa(struct fdtw *w, const struct machine *m)
{
	struct cells ranges = {.n = 0};
	if (!has_io_devices(m))
		return;
	push32(&ranges, ISA_IO_SPACE);
	push32(&ranges, 0);
	push64(&ranges, 0);
	push32(&ranges, 0x10000);
	begin(w, "isa@i0", 0);
	prop_str(w, "compatible", "isa");
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 1);
	prop_cells(w, "ranges", &ranges);
	for (int i = 0; i < m->nuarts; i++)
		if (m->uarts[i].space == MACHINE_SPACE_IO)
			add_uart_node(w, &m->uarts[i]);
	if (m->test_exit.present && m->test_exit.space == MACHINE_SPACE_IO) {
		begin(w, "test-exit@i%llx", m->test_exit.base);
		prop_str(w, "compatible", "vmm,isa-debug-exit");
		prop_isa_reg(w, m->test_exit.base, m->test_exit.size);
		end(w);
	}
	if (m->boot_timer.present && m->boot_timer.port) {
		begin(w, "boot-timer@i%llx", m->boot_timer.port);
		prop_str(w, "compatible", "vmm,boot-timer");
		prop_isa_reg(w, m->boot_timer.port, 1);
		end(w);
	}
	end(w);
}

static void push_pci_range(struct cells *c, uint32_t space, uint64_t child, uint64_t parent,
			   uint64_t size)
{
	push32(c, space);
	push64(c, child);
	push64(c, parent);
	push64(c, size);
}

static void add_pci_irqs(struct fdtw *w, const struct machine_pci *p)
{
	struct cells mask = {.n = 0}, map = {.n = 0};
	if (!p->nintx)
		return;
	push32(&mask, 0xf800); /* device number, phys.hi bits 15:11 */
	push64(&mask, 0);
	push32(&mask, 7);
	for (int i = 0; i < p->nintx; i++) {
		const struct machine_pci_intx *x = &p->intx[i];
		push32(&map, (uint32_t)x->dev << 11);
		push64(&map, 0);
		push32(&map, x->intx + 1u); /* interrupt pin: 1 = INTA (PCI 3.0 §6.2.4) */
		push32(&map, FDT_PHANDLE_IOAPIC);
		push32(&map, x->irq.pin);
		push32(&map, irq_type(&x->irq));
	}
	prop_u32(w, "#interrupt-cells", 1);
	prop_cells(w, "interrupt-map-mask", &mask);
	prop_cells(w, "interrupt-map", &map);
}

static void add_pci(struct fdtw *w, const struct machine *m)
{
	const struct machine_pci *p = &m->pci;
	struct cells bus = {.n = 0}, ranges = {.n = 0};
	if (!p->present)
		return;
	push32(&bus, p->bus_first);
	push32(&bus, p->bus_last);
	if (p->io.size)
		push_pci_range(&ranges, PCI_SPACE_IO, p->io.base, p->io.base, p->io.size);
	push_pci_range(&ranges, PCI_SPACE_M32, p->mem32.base, p->mem32.base, p->mem32.size);
	if (p->mem64.size)
		push_pci_range(&ranges, PCI_SPACE_M64, p->mem64.base, p->mem64.base, p->mem64.size);
	begin(w, "pci@%llx", p->ecam.base);
	prop_str(w, "compatible", "pci-host-ecam-generic");
	prop_str(w, "device_type", "pci");
	prop_cells(w, "bus-range", &bus);
	prop_u32(w, "#address-cells", 3);
	prop_u32(w, "#size-cells", 2);
	prop_reg(w, p->ecam.base, p->ecam.size);
	prop_cells(w, "ranges", &ranges);
	add_pci_irqs(w, p);
	end(w);
}

static void add_mmio_devices(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nvirtio_mmio; i++) {
		const struct machine_mmio_dev *d = &m->virtio_mmio[i];
		begin(w, "virtio_mmio@%llx", d->base);
		prop_str(w, "compatible", "virtio,mmio");
		prop_reg(w, d->base, d->size);
		prop_interrupts(w, &d->irq);
		end(w);
	}
	if (m->boot_timer.present && m->boot_timer.space == MACHINE_SPACE_MEM) {
		begin(w, "boot-timer@%llx", m->boot_timer.base);
		prop_str(w, "compatible", "vmm,boot-timer");
		prop_reg(w, m->boot_timer.base, m->boot_timer.size);
		end(w);
	}
}

/* What the generator relies on: a controller, and every line on one of its inputs. */
static bool expressible(const struct machine *m)
{
	bool ok = m->intc.present && machine_counts_valid(m);
	for (int i = 0; ok && i < m->nuarts; i++)
		ok = m->uarts[i].irq.pin < m->intc.pins;
	for (int i = 0; ok && i < m->nvirtio_mmio; i++)
		ok = m->virtio_mmio[i].irq.pin < m->intc.pins;
	for (int i = 0; ok && i < m->pci.nintx; i++)
		ok = m->pci.intx[i].irq.pin < m->intc.pins && m->pci.intx[i].dev < 32 &&
		     m->pci.intx[i].intx < 4;
	return ok;
}

static void add_root(struct fdtw *w, const struct machine *m)
{
	begin(w, "", 0);
	prop_str(w, "compatible", "vmm,kvm-x86_64");
	prop_str(w, "model", "KVM VMM x86_64 machine");
	prop_u32(w, "#address-cells", 2);
	prop_u32(w, "#size-cells", 2);
	prop_u32(w, "interrupt-parent", FDT_PHANDLE_IOAPIC);
	add_chosen(w, m);
	add_aliases(w, m);
	add_cpus(w, m);
	add_memory(w, m);
	add_intc(w, m);
	add_isa(w, m);
	add_pci(w, m);
	add_mmio_devices(w, m);
	end(w);
}

bool machine_fdt_supported(void)
{
	return true;
}

int machine_fdt_build(const struct machine *m, void *buf, size_t cap)
{
	struct fdtw w = {.fdt = buf};
	if (!m || !buf || cap > INT32_MAX)
		return -EINVAL;
	if (!expressible(m))
		return -EINVAL;
	check(&w, fdt_create(buf, (int)cap));
	struct machine_range r = machine_arch_reserved();
	if (!w.err && r.size)
		check(&w, fdt_add_reservemap_entry(buf, r.base, r.size));
	if (!w.err)
		check(&w, fdt_finish_reservemap(buf));
	add_root(&w, m);
	if (!w.err)
		check(&w, fdt_finish(buf));
	return w.err ? w.err : (int)fdt_totalsize(buf);
}

#else /* !HAVE_LIBFDT */

bool machine_fdt_supported(void)
{
	return false;
}

int machine_fdt_build(const struct machine *m, void *buf, size_t cap)
{
	(void)m, (void)buf, (void)cap;
	return -ENOTSUP;
}

#endif

int machine_fdt_alloc(const struct machine *m, void **blob, size_t *size)
{
	*blob = NULL;
	*size = 0;
	for (size_t cap = 16u << 10; cap <= FDT_MAX_SIZE; cap *= 2) {
		void *buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		int n = machine_fdt_build(m, buf, cap);
		if (n >= 0) {
			*blob = buf;
			*size = (size_t)n;
			return 0;
		}
		free(buf);
		if (n != -ENOSPC)
			return n;
	}
	return -ENOSPC;
}

/* Writes `path` (--dump-dtb) through host_path_open(): a regular file, not a FIFO, a device or
 * a file of /proc. Returns 0, or -errno with `why` saying what failed, starting with the path. */
static int write_file(const char *path, const void *data, size_t len, char *why, size_t whylen)
{
	int fd = host_path_open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644, HOST_PATH_REGULAR, why,
				whylen);
	if (fd < 0)
		return fd;
	const uint8_t *p = data;
	int err = 0;
	while (len && !err) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (close(fd) && !err)
		err = -errno;
	if (err)
		snprintf(why, whylen, "%s: %s", path, strerror(-err));
	return err;
}

int machine_fdt_dump(const struct machine *m, const char *path)
{
	void *blob;
	size_t size;
	int err = machine_fdt_alloc(m, &blob, &size);
	if (err) {
		log_error("device tree: cannot build it: %s", strerror(-err));
		return err;
	}
	char why[512];
	err = write_file(path, blob, size, why, sizeof(why));
	if (err)
		log_error("device tree: %s", why);
	free(blob);
	return err;
}
