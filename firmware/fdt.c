/* Device tree of the machine description: the generic walker (layout and conventions in fdt.h).
 * What differs per architecture (the interrupt controller, the CPU binding, the specifier
 * format, the nodes only one architecture has) comes from its fdt_arch table
 * (firmware/fdt_arch.h, firmware/<arch>/fdt_<arch>.c). */
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
#include "firmware/fdt_arch.h"

#define PCI_SPACE_IO  0x01000000u
#define PCI_SPACE_M32 0x02000000u
#define PCI_SPACE_M64 0x03000000u
#define APB_CLOCK_HZ                                                                               \
	24000000 /* the PrimeCells' bus clock, as QEMU's virt and Firecracker have it */

void fdt_prop_interrupts(struct fdtw *w, const struct machine_irq *irq)
{
	struct fdtw_cells c = {.n = 0};
	fdt_arch.push_irq(&c, irq);
	fdtw_cells(w, "interrupts", &c);
}

static void add_chosen(struct fdtw *w, const struct machine *m)
{
	char *cmdline = malloc(BOOT_CMDLINE_MAX);
	if (!cmdline) {
		fdtw_fail(w, -ENOMEM);
		return;
	}
	fdtw_begin(w, "chosen", 0);
	if (machine_cmdline(m, cmdline, BOOT_CMDLINE_MAX) < 0)
		fdtw_fail(w, -E2BIG);
	fdtw_str(w, "bootargs", cmdline);
	free(cmdline);
	if (m->initrd.size) {
		fdtw_u64(w, "linux,initrd-start", m->initrd.base);
		fdtw_u64(w, "linux,initrd-end", m->initrd.base + m->initrd.size);
	}
	if (m->nuarts)
		fdtw_str(w, "stdout-path", "serial0");
	fdtw_end(w);
}

/* A UART's node name: port-space UARTs live on the ISA bus node (FDT_ISA_NODE) the architecture
 * with port I/O writes, MMIO ones at the root, a PL011 under its own name as QEMU's virt has it. */
static void uart_path(char *buf, size_t cap, const struct machine_uart *u)
{
	if (u->space == MACHINE_SPACE_IO)
		snprintf(buf, cap, "/" FDT_ISA_NODE "/serial@i%llx", (unsigned long long)u->base);
	else if (u->kind == MACHINE_UART_PL011)
		snprintf(buf, cap, "/pl011@%llx", (unsigned long long)u->base);
	else
		snprintf(buf, cap, "/serial@%llx", (unsigned long long)u->base);
}

static void add_aliases(struct fdtw *w, const struct machine *m)
{
	if (!m->nuarts)
		return;
	fdtw_begin(w, "aliases", 0);
	for (int i = 0; i < m->nuarts; i++) {
		char name[24], path[64];
		snprintf(name, sizeof(name), "serial%d", i);
		uart_path(path, sizeof(path), &m->uarts[i]);
		fdtw_str(w, name, path);
	}
	fdtw_end(w);
}

static void add_cpus(struct fdtw *w, const struct machine *m)
{
	fdtw_begin(w, "cpus", 0);
	fdtw_u32(w, "#address-cells", 1);
	fdtw_u32(w, "#size-cells", 0);
	for (int i = 0; i < m->ncpus; i++) {
		fdtw_begin(w, "cpu@%llx", m->cpu_ids[i]);
		fdtw_str(w, "device_type", "cpu");
		fdt_arch.cpu_props(w, m, i);
		fdtw_u32(w, "reg", m->cpu_ids[i]);
		fdtw_end(w);
	}
	fdtw_end(w);
}

static void add_memory(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nram; i++) {
		fdtw_begin(w, "memory@%llx", m->ram[i].base);
		fdtw_str(w, "device_type", "memory");
		fdtw_reg(w, m->ram[i].base, m->ram[i].size);
		fdtw_end(w);
	}
}

/* String lists: the device's own binding, then the AMBA bus's (which reads the PrimeCell IDs). */
#define PL011_COMPAT	"arm,pl011\0arm,primecell"
#define PL031_COMPAT	"arm,pl031\0arm,primecell"
#define PL011_CLK_NAMES "uartclk\0apb_pclk"

void fdt_uart_props(struct fdtw *w, const struct machine_uart *u)
{
	if (u->kind == MACHINE_UART_PL011) {
		struct fdtw_cells clocks = {.n = 0};
		fdtw_push32(&clocks, FDT_PHANDLE_APB_PCLK);
		fdtw_push32(&clocks, FDT_PHANDLE_APB_PCLK);
		fdtw_strs(w, "compatible", PL011_COMPAT, sizeof(PL011_COMPAT));
		/* amba-pl011.c takes "uartclk" for the baud rate, the AMBA bus "apb_pclk" */
		fdtw_cells(w, "clocks", &clocks);
		fdtw_strs(w, "clock-names", PL011_CLK_NAMES, sizeof(PL011_CLK_NAMES));
	} else {
		fdtw_str(w, "compatible", "ns16550a");
		fdtw_u32(w, "clock-frequency", u->clock_hz);
	}
	fdt_prop_interrupts(w, &u->irq);
}

static bool has_primecell(const struct machine *m)
{
	bool any = m->pl031.size != 0;
	for (int i = 0; i < m->nuarts; i++)
		any |= m->uarts[i].kind == MACHINE_UART_PL011;
	return any;
}

/* The PrimeCells' APB clock: a fixed clock, as the AMBA bus wants one to enable (apb_pclk). */
static void add_apb_clock(struct fdtw *w, const struct machine *m)
{
	if (!has_primecell(m))
		return;
	fdtw_begin(w, "apb-pclk", 0);
	fdtw_str(w, "compatible", "fixed-clock");
	fdtw_u32(w, "#clock-cells", 0);
	fdtw_u32(w, "clock-frequency", APB_CLOCK_HZ);
	fdtw_str(w, "clock-output-names", "clk24mhz");
	fdtw_u32(w, "phandle", FDT_PHANDLE_APB_PCLK);
	fdtw_end(w);
}

static void add_mmio_uarts(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nuarts; i++) {
		const struct machine_uart *u = &m->uarts[i];
		if (u->space != MACHINE_SPACE_MEM)
			continue;
		fdtw_begin(w, u->kind == MACHINE_UART_PL011 ? "pl011@%llx" : "serial@%llx",
			   u->base);
		fdtw_reg(w, u->base, u->size);
		fdt_uart_props(w, u);
		fdtw_end(w);
	}
}

static void add_pl031(struct fdtw *w, const struct machine *m)
{
	if (!m->pl031.size)
		return;
	fdtw_begin(w, "pl031@%llx", m->pl031.base);
	fdtw_strs(w, "compatible", PL031_COMPAT, sizeof(PL031_COMPAT));
	fdtw_reg(w, m->pl031.base, m->pl031.size);
	fdt_prop_interrupts(w, &m->pl031.irq);
	fdtw_u32(w, "clocks", FDT_PHANDLE_APB_PCLK);
	fdtw_str(w, "clock-names", "apb_pclk");
	fdtw_end(w);
}

static void push_pci_range(struct fdtw_cells *c, uint32_t space, uint64_t child, uint64_t parent,
			   uint64_t size)
{
	fdtw_push32(c, space);
	fdtw_push64(c, child);
	fdtw_push64(c, parent);
	fdtw_push64(c, size);
}

/* interrupt-map parent: the controller's phandle, its unit address (zero cells), the specifier. */
static void push_map_parent(struct fdtw_cells *c, const struct machine_irq *irq)
{
	fdtw_push32(c, fdt_arch.intc_phandle);
	for (uint32_t i = 0; i < fdt_arch.intc_address_cells; i++)
		fdtw_push32(c, 0);
	fdt_arch.push_irq(c, irq);
}

static void add_pci_irqs(struct fdtw *w, const struct machine_pci *p)
{
	struct fdtw_cells mask = {.n = 0}, map = {.n = 0};
	if (!p->nintx)
		return;
	fdtw_push32(&mask, 0xf800); /* device number, phys.hi bits 15:11 */
	fdtw_push64(&mask, 0);
	fdtw_push32(&mask, 7);
	for (int i = 0; i < p->nintx; i++) {
		const struct machine_pci_intx *x = &p->intx[i];
		fdtw_push32(&map, (uint32_t)x->dev << 11);
		fdtw_push64(&map, 0);
		fdtw_push32(&map, x->intx + 1u); /* interrupt pin: 1 = INTA (PCI 3.0 §6.2.4) */
		push_map_parent(&map, &x->irq);
	}
	fdtw_u32(w, "#interrupt-cells", 1);
	fdtw_cells(w, "interrupt-map-mask", &mask);
	fdtw_cells(w, "interrupt-map", &map);
}

static void add_pci(struct fdtw *w, const struct machine *m)
{
	const struct machine_pci *p = &m->pci;
	struct fdtw_cells bus = {.n = 0}, ranges = {.n = 0};
	if (!p->present)
		return;
	fdtw_push32(&bus, p->bus_first);
	fdtw_push32(&bus, p->bus_last);
	if (p->io.size)
		push_pci_range(&ranges, PCI_SPACE_IO, p->io.base, p->io.base, p->io.size);
	push_pci_range(&ranges, PCI_SPACE_M32, p->mem32.base, p->mem32.base, p->mem32.size);
	if (p->mem64.size)
		push_pci_range(&ranges, PCI_SPACE_M64, p->mem64.base, p->mem64.base, p->mem64.size);
	fdtw_begin(w, "pci@%llx", p->ecam.base);
	fdtw_str(w, "compatible", "pci-host-ecam-generic");
	fdtw_str(w, "device_type", "pci");
	fdtw_cells(w, "bus-range", &bus);
	fdtw_u32(w, "#address-cells", 3);
	fdtw_u32(w, "#size-cells", 2);
	fdtw_reg(w, p->ecam.base, p->ecam.size);
	fdtw_cells(w, "ranges", &ranges);
	add_pci_irqs(w, p);
	if (fdt_arch.pci_props)
		fdt_arch.pci_props(w, m);
	fdtw_end(w);
}

static void add_mmio_devices(struct fdtw *w, const struct machine *m)
{
	for (int i = 0; i < m->nvirtio_mmio; i++) {
		const struct machine_mmio_dev *d = &m->virtio_mmio[i];
		fdtw_begin(w, "virtio_mmio@%llx", d->base);
		fdtw_str(w, "compatible", "virtio,mmio");
		fdtw_reg(w, d->base, d->size);
		fdt_prop_interrupts(w, &d->irq);
		fdtw_end(w);
	}
	if (m->boot_timer.present && m->boot_timer.space == MACHINE_SPACE_MEM) {
		fdtw_begin(w, "boot-timer@%llx", m->boot_timer.base);
		fdtw_str(w, "compatible", "vmm,boot-timer");
		fdtw_reg(w, m->boot_timer.base, m->boot_timer.size);
		fdtw_end(w);
	}
}

static bool irq_ok(const struct machine *m, const struct machine_irq *irq)
{
	return irq->pin < m->intc.pins && irq->trigger <= MACHINE_IRQ_LEVEL &&
	       irq->polarity <= MACHINE_IRQ_LOW;
}

/* What the walker relies on: a controller, every line on one of its inputs, the kinds it knows;
 * then what the architecture checks. */
static bool expressible(const struct machine *m)
{
	bool ok = m->intc.present && machine_counts_valid(m);
	for (int i = 0; ok && i < m->nuarts; i++)
		ok = irq_ok(m, &m->uarts[i].irq) && m->uarts[i].kind <= MACHINE_UART_PL011;
	for (int i = 0; ok && i < m->nvirtio_mmio; i++)
		ok = irq_ok(m, &m->virtio_mmio[i].irq);
	for (int i = 0; ok && i < m->pci.nintx; i++)
		ok = irq_ok(m, &m->pci.intx[i].irq) && m->pci.intx[i].dev < 32 &&
		     m->pci.intx[i].intx < 4;
	if (ok && m->pl031.size)
		ok = irq_ok(m, &m->pl031.irq);
	return ok && fdt_arch.expressible(m);
}

static void add_root(struct fdtw *w, const struct machine *m)
{
	fdtw_begin(w, "", 0);
	fdtw_str(w, "compatible", fdt_arch.compatible);
	fdtw_str(w, "model", fdt_arch.model);
	fdtw_u32(w, "#address-cells", 2);
	fdtw_u32(w, "#size-cells", 2);
	fdtw_u32(w, "interrupt-parent", fdt_arch.intc_phandle);
	add_chosen(w, m);
	add_aliases(w, m);
	add_cpus(w, m);
	add_memory(w, m);
	fdt_arch.nodes(w, m);
	add_apb_clock(w, m);
	add_mmio_uarts(w, m);
	add_pl031(w, m);
	add_pci(w, m);
	add_mmio_devices(w, m);
	fdtw_end(w);
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
	fdtw_check(&w, fdt_create(buf, (int)cap));
	struct machine_range r = machine_arch_reserved();
	if (!w.err && r.size)
		fdtw_check(&w, fdt_add_reservemap_entry(buf, r.base, r.size));
	if (!w.err)
		fdtw_check(&w, fdt_finish_reservemap(buf));
	add_root(&w, m);
	if (!w.err)
		fdtw_check(&w, fdt_finish(buf));
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
