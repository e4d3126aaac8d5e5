/* PCI bus 0: the host bridge, device slots, BAR placement, configuration mechanism #1 and ECAM
 * (PCI Local Bus Specification 3.0 3.2.2.3.2; PCI Express Base 4.0 7.2.2). */
#include <errno.h>
#include <linux/pci_regs.h>
#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "devices/pci/pci.h"

#define CONF1_ENABLE   0x80000000u
#define CONF1_ADDR_REG 0x0 /* port 0xCF8 */
#define CONF1_DATA_REG 0x4 /* ports 0xCFC-0xCFF */

int pci_bus_init(struct pci_bus *bus, struct io_bus *mmio)
{
	memset(bus, 0, sizeof(*bus));
	int err = pthread_mutex_init(&bus->lock, NULL);
	if (err)
		return -err;
	bus->mmio = mmio;
	bus->mmio32_next = PCI_MMIO32_BASE;
	bus->mmio32_end = PCI_MMIO32_BASE + PCI_MMIO32_SIZE;
	const struct pci_id id = {
	    .vendor = PCI_HOST_BRIDGE_VENDOR,
	    .device = PCI_HOST_BRIDGE_DEVICE,
	    .class_code = 0x060000, /* bridge, host bridge */
	    .subsys_vendor = PCI_HOST_BRIDGE_VENDOR,
	    .subsys_id = 0x1100,
	};
	pci_func_init(&bus->host_bridge, &id, "pci-host-bridge", NULL, NULL);
	bus->host_bridge.bus = bus;
	bus->funcs[0] = &bus->host_bridge;
	return 0;
}

void pci_bus_set_host_bridge_id(struct pci_bus *bus, uint16_t vendor, uint16_t device)
{
	pci_cfg_set16(&bus->host_bridge, PCI_VENDOR_ID, vendor);
	pci_cfg_set16(&bus->host_bridge, PCI_DEVICE_ID, device);
}

void pci_bus_destroy(struct pci_bus *bus)
{
	for (int i = 0; i < PCI_DEVFNS; i++) {
		struct pci_func *f = bus->funcs[i];
		for (int bar = 0; f && bar < PCI_NUM_BARS; bar++) {
			if (f->bars[bar].mapped)
				io_bus_unregister(bus->mmio, f->bars[bar].addr);
			f->bars[bar].mapped = false;
		}
		bus->funcs[i] = NULL;
	}
	pthread_mutex_destroy(&bus->lock);
}

static int pick_device(struct pci_bus *bus, int dev)
{
	if (dev >= 0)
		return dev >= 1 && dev < 32 && !bus->funcs[PCI_DEVFN(dev, 0)] ? dev : -EBUSY;
	for (int d = 1; d < 32; d++) {
		if (!bus->funcs[PCI_DEVFN(d, 0)])
			return d;
	}
	return -ENOSPC;
}

/* Where the 32-bit window's free part starts: past every BAR mapped in it. A restored device's
 * BARs are where the saved guest had them (a device removed before the snapshot left a hole the
 * restore's own placing filled), and a guest may move BARs itself. */
static uint64_t window_next(const struct pci_bus *bus)
{
	uint64_t next = bus->mmio32_next;
	for (int i = 0; i < PCI_DEVFNS; i++) {
		const struct pci_func *f = bus->funcs[i];
		for (int bar = 0; f && bar < PCI_NUM_BARS; bar++) {
			uint64_t a = f->bars[bar].addr, end = a + f->bars[bar].size;
			if (f->bars[bar].mapped && a < bus->mmio32_end && end > next)
				next = end;
		}
	}
	return next;
}

/* What firmware does: each memory BAR naturally aligned in the 32-bit window. */
static int place_bars(struct pci_bus *bus, struct pci_func *f)
{
	uint64_t next = window_next(bus);
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		uint64_t size = f->bars[bar].size;
		if (!size)
			continue;
		uint64_t addr = (next + size - 1) & ~(size - 1);
		if (addr < next || addr > bus->mmio32_end || size > bus->mmio32_end - addr)
			return -ENOSPC;
		uint32_t off = PCI_BASE_ADDRESS_0 + 4 * (uint32_t)bar;
		pci_cfg_set32(f, off, (uint32_t)addr | f->bars[bar].flags);
		if (f->bars[bar].flags & PCI_BASE_ADDRESS_MEM_TYPE_64)
			pci_cfg_set32(f, off + 4, 0);
		next = addr + size;
	}
	bus->mmio32_next = next;
	return 0;
}

static bool all_bars_mapped(const struct pci_func *f)
{
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		if (f->bars[bar].size && !f->bars[bar].mapped)
			return false;
	}
	return true;
}

static void unmap_all(struct pci_bus *bus, struct pci_func *f)
{
	for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
		if (f->bars[bar].mapped)
			io_bus_unregister(bus->mmio, f->bars[bar].addr);
		f->bars[bar].mapped = false;
	}
}

static int add_locked(struct pci_bus *bus, struct pci_func *f, int dev)
{
	int d = pick_device(bus, dev);
	if (d < 0)
		return d;
	int err = place_bars(bus, f);
	if (err)
		return err;
	if (f->cfg[PCI_INTERRUPT_PIN])
		f->cfg[PCI_INTERRUPT_LINE] =
		    (uint8_t)pci_intx_ioapic_pin((unsigned)d, f->cfg[PCI_INTERRUPT_PIN] - 1u);
	f->bus = bus;
	f->devfn = PCI_DEVFN(d, 0);
	bus->funcs[f->devfn] = f;
	pci_cfg_set16(f, PCI_COMMAND, pci_cfg_get16(f, PCI_COMMAND) | PCI_COMMAND_MEMORY);
	pci_func_update_mappings(f);
	if (!all_bars_mapped(f)) {
		unmap_all(bus, f);
		bus->funcs[f->devfn] = NULL;
		return -EEXIST;
	}
	return d;
}

int pci_bus_add(struct pci_bus *bus, struct pci_func *f, int dev)
{
	pthread_mutex_lock(&bus->lock);
	int ret = add_locked(bus, f, dev);
	pthread_mutex_unlock(&bus->lock);
	if (ret < 0)
		log_error("%s: cannot add to PCI bus 0: %s", f->name, strerror(-ret));
	return ret;
}

void pci_bus_remove(struct pci_bus *bus, struct pci_func *f)
{
	pthread_mutex_lock(&bus->lock);
	if (bus->funcs[f->devfn] == f) {
		for (int bar = 0; bar < PCI_NUM_BARS; bar++) {
			if (f->bars[bar].mapped)
				io_bus_unregister(bus->mmio, f->bars[bar].addr);
			f->bars[bar].mapped = false;
		}
		bus->funcs[f->devfn] = NULL;
	}
	pthread_mutex_unlock(&bus->lock);
}

static struct pci_func *lookup(struct pci_bus *bus, uint8_t busnr, uint8_t devfn)
{
	return busnr == 0 ? bus->funcs[devfn] : NULL;
}

static void read_locked(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off, void *data,
			uint32_t len)
{
	struct pci_func *f = lookup(bus, busnr, devfn);
	if (!f) {
		memset(data, 0xff, len); /* master abort: all-ones (3.2.2.3.4) */
		return;
	}
	pci_func_config_read(f, off, data, len);
}

static void write_locked(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off,
			 const void *data, uint32_t len)
{
	struct pci_func *f = lookup(bus, busnr, devfn);
	if (f)
		pci_func_config_write(f, off, data, len);
}

void pci_bus_config_read(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off,
			 void *data, uint32_t len)
{
	pthread_mutex_lock(&bus->lock);
	read_locked(bus, busnr, devfn, off, data, len);
	pthread_mutex_unlock(&bus->lock);
}

void pci_bus_config_write(struct pci_bus *bus, uint8_t busnr, uint8_t devfn, uint32_t off,
			  const void *data, uint32_t len)
{
	pthread_mutex_lock(&bus->lock);
	write_locked(bus, busnr, devfn, off, data, len);
	pthread_mutex_unlock(&bus->lock);
}

/* ---- configuration mechanism #1 ---- */

/* Data-port access `port_off` (4..7) with the latch `addr`: register = bits 7:2 plus the byte
 * lane. Returns false when the enable bit is clear (not a configuration cycle). */
static bool conf1_target(uint32_t addr, uint64_t port_off, uint8_t *busnr, uint8_t *devfn,
			 uint32_t *reg)
{
	if (!(addr & CONF1_ENABLE))
		return false;
	*busnr = (uint8_t)(addr >> 16);
	*devfn = (uint8_t)(addr >> 8);
	*reg = (addr & 0xfc) + (uint32_t)(port_off - CONF1_DATA_REG);
	return true;
}

#define CONF1_CF9 1 /* port 0xCF9: the reset control register's byte */

void pci_bus_set_cf9(struct pci_bus *bus, const struct io_ops *ops, void *opaque)
{
	bus->cf9_ops = ops;
	bus->cf9_opaque = opaque;
}

static void conf1_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint8_t busnr, devfn;
	uint32_t reg;
	memset(data, 0xff, len);
	if (off == CONF1_CF9 && len == 1 && bus->cf9_ops) {
		bus->cf9_ops->read(bus->cf9_opaque, 0, data, 1);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	if (off == CONF1_ADDR_REG && len == 4)
		memcpy(data, &bus->conf1_addr, 4);
	else if (off >= CONF1_DATA_REG && conf1_target(bus->conf1_addr, off, &busnr, &devfn, &reg))
		read_locked(bus, busnr, devfn, reg, data, len);
	pthread_mutex_unlock(&bus->lock);
}

static void conf1_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	uint8_t busnr, devfn;
	uint32_t reg, v;
	if (off == CONF1_CF9 && len == 1 && bus->cf9_ops) {
		bus->cf9_ops->write(bus->cf9_opaque, 0, data, 1);
		return;
	}
	pthread_mutex_lock(&bus->lock);
	if (off == CONF1_ADDR_REG && len == 4) {
		memcpy(&v, data, 4);
		bus->conf1_addr = v & ~3u; /* bits 1:0 are read-only 0 */
	} else if (off >= CONF1_DATA_REG &&
		   conf1_target(bus->conf1_addr, off, &busnr, &devfn, &reg)) {
		write_locked(bus, busnr, devfn, reg, data, len);
	}
	/* Byte/word accesses to 0xCF8-0xCFB are not configuration accesses (3.2.2.3.2); Linux's
	 * probe writes 0xCFB and expects no effect on the latch. */
	pthread_mutex_unlock(&bus->lock);
}

const struct io_ops pci_conf1_ops = {conf1_read, conf1_write};

/* ---- ECAM ---- */

/* Accesses are at most a dword and stay inside one function's 4 KiB. */
static bool ecam_decode(uint64_t off, uint32_t len, uint8_t *busnr, uint8_t *devfn, uint32_t *reg)
{
	*busnr = (uint8_t)(off >> 20);
	*devfn = (uint8_t)(off >> 12);
	*reg = (uint32_t)(off & (PCI_ECAM_FN_SPACE - 1));
	return len <= 4 && *reg + len <= PCI_ECAM_FN_SPACE && off < PCI_ECAM_SIZE;
}

static void ecam_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	uint8_t busnr, devfn;
	uint32_t reg;
	if (ecam_decode(off, len, &busnr, &devfn, &reg))
		pci_bus_config_read(opaque, busnr, devfn, reg, data, len);
	else
		memset(data, 0xff, len);
}

static void ecam_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	uint8_t busnr, devfn;
	uint32_t reg;
	if (ecam_decode(off, len, &busnr, &devfn, &reg))
		pci_bus_config_write(opaque, busnr, devfn, reg, data, len);
}

const struct io_ops pci_ecam_ops = {ecam_read, ecam_write};
