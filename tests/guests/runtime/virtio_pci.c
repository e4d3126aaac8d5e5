/* Guest-side modern virtio-pci transport (see virtio_pci.h). Section numbers: virtio 1.2;
 * PCI: PCI Local Bus Specification 3.0. */
#include "virtio_pci.h"

#include <linux/pci_regs.h>
#include <linux/virtio_pci.h>

#include "boot.h"
#include "pci.h"
#include "platform.h"
#include "printf.h"
#include "string.h"

/* 4.1.4.5: ISR bit 0 "queue interrupt" (the UAPI header names only the config bit). */
#define ISR_QUEUE    0x1
#define FOUR_GIB     0x100000000ULL
#define MAX_CAPS     48 /* (256 - 64) / 4: a longer chain loops */
#define NO_VECTOR    VIRTIO_MSI_NO_VECTOR
#define COMMON_BYTES 0x38 /* struct virtio_pci_common_cfg up to queue_used_hi */

static struct vdev devs[VIRTIO_PCI_MAX_DEVS];
static unsigned ndevs;
static bool scanned;

/* ---- configuration space ---- */

static uint8_t cfg8(const struct vdev *d, uint16_t off)
{
	return pci_cfg_read8(0, d->pci.dev, d->pci.fn, off);
}

static uint16_t cfg16(const struct vdev *d, uint16_t off)
{
	return pci_cfg_read16(0, d->pci.dev, d->pci.fn, off);
}

static uint32_t cfg32(const struct vdev *d, uint16_t off)
{
	return pci_cfg_read32(0, d->pci.dev, d->pci.fn, off);
}

uint64_t pci_bar_addr(uint8_t dev, uint8_t fn, unsigned bar)
{
	uint32_t lo;
	uint64_t a;

	if (bar >= 6)
		return 0;
	lo = pci_cfg_read32(0, dev, fn, (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * bar));
	if (lo & PCI_BASE_ADDRESS_SPACE_IO)
		return 0;
	a = lo & PCI_BASE_ADDRESS_MEM_MASK;
	if ((lo & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64 && bar < 5)
		a |= (uint64_t)pci_cfg_read32(0, dev, fn,
					      (uint16_t)(PCI_BASE_ADDRESS_0 + 4 * bar + 4))
		     << 32;
	return a;
}

/* The guest-physical range a virtio capability at `cap` describes (4.1.4: bar, offset,
 * length); false when the BAR is unusable or the range leaves the mapped 4 GiB. */
static bool cap_region(const struct vdev *d, uint16_t cap, uint64_t *addr, uint32_t *len)
{
	uint8_t bar = cfg8(d, cap + VIRTIO_PCI_CAP_BAR);
	uint64_t base = pci_bar_addr(d->pci.dev, d->pci.fn, bar), end;

	*len = cfg32(d, cap + VIRTIO_PCI_CAP_LENGTH);
	*addr = base + cfg32(d, cap + VIRTIO_PCI_CAP_OFFSET);
	if (!base || bar > 5)
		return false;
	if (*addr >= FOUR_GIB || __builtin_add_overflow(*addr, *len, &end) || end > FOUR_GIB) {
		printf("virtio-pci %02x.%x: BAR %u region 0x%llx is above 4 GiB\n", d->pci.dev,
		       d->pci.fn, bar, (unsigned long long)*addr);
		return false;
	}
	return true;
}

/* Takes the first usable capability of each virtio type (4.1.4) and the MSI-X one. */
static void read_caps(struct vdev *d, uint32_t *common_len)
{
	uint16_t cap = cfg8(d, PCI_CAPABILITY_LIST) & 0xfc;
	uint32_t len;
	uint64_t a;

	for (int hops = 0; cap >= 0x40 && hops < MAX_CAPS; hops++) {
		uint8_t id = cfg8(d, cap), type = cfg8(d, cap + VIRTIO_PCI_CAP_CFG_TYPE);

		if (id == PCI_CAP_ID_MSIX) {
			uint32_t t = cfg32(d, cap + PCI_MSIX_TABLE);
			uint64_t bar = pci_bar_addr(d->pci.dev, d->pci.fn, t & PCI_MSIX_TABLE_BIR);

			d->pci.msix_cap = cap;
			d->pci.msix_size =
			    (cfg16(d, cap + PCI_MSIX_FLAGS) & PCI_MSIX_FLAGS_QSIZE) + 1;
			if (bar && bar + (t & PCI_MSIX_TABLE_OFFSET) < FOUR_GIB)
				d->pci.msix_table = bar + (t & PCI_MSIX_TABLE_OFFSET);
		} else if (id == PCI_CAP_ID_VNDR && cap_region(d, cap, &a, &len)) {
			if (type == VIRTIO_PCI_CAP_COMMON_CFG && !d->pci.common) {
				d->pci.common = a;
				*common_len = len;
				d->base = pci_bar_addr(d->pci.dev, d->pci.fn,
						       cfg8(d, cap + VIRTIO_PCI_CAP_BAR));
			} else if (type == VIRTIO_PCI_CAP_ISR_CFG && !d->pci.isr) {
				d->pci.isr = a;
			} else if (type == VIRTIO_PCI_CAP_DEVICE_CFG && !d->config) {
				d->config = a;
			} else if (type == VIRTIO_PCI_CAP_NOTIFY_CFG && !d->pci.notify) {
				d->pci.notify = a;
				d->pci.notify_len = len;
				d->pci.notify_mult = cfg32(d, cap + VIRTIO_PCI_NOTIFY_CAP_MULT);
			}
		}
		cap = cfg8(d, cap + PCI_CAP_LIST_NEXT) & 0xfc;
	}
}

static bool want_intx(void)
{
	char mode[8] = "";

	return cmdline_get_str("pci_irq", mode, sizeof(mode)) && !strcmp(mode, "intx");
}

static void probe(uint8_t dev, uint8_t fn, uint16_t pci_device)
{
	struct vdev *d = &devs[ndevs];
	uint32_t common_len = 0;

	*d = (struct vdev){.ops = &virtio_pci_ops, .pci = {.dev = dev, .fn = fn}};
	/* Decode our BARs and let the device reach guest memory (QEMU needs bus mastering). */
	pci_cfg_write16(0, dev, fn, PCI_COMMAND,
			cfg16(d, PCI_COMMAND) | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	if (cfg16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)
		read_caps(d, &common_len);
	if (!d->pci.common || common_len < COMMON_BYTES || !d->pci.isr || !d->pci.notify) {
		printf("virtio-pci %02x.%x: device 0x%x lacks usable capabilities, skipped\n", dev,
		       fn, pci_device);
		return;
	}
	d->device_id = pci_device - VIRTIO_PCI_MODERN_DEVICE;
	d->version = cfg8(d, PCI_REVISION_ID);
	d->vendor_id = cfg16(d, PCI_SUBSYSTEM_VENDOR_ID);
	d->irq = cfg8(d, PCI_INTERRUPT_LINE);
	d->size = VIRTIO_PCI_MAX_DEVS; /* unused for PCI */
	d->pci.num_queues = mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_NUMQ);
	d->msix = d->pci.msix_table && !want_intx();
	ndevs++;
}

unsigned virtio_pci_scan(void)
{
	if (scanned)
		return ndevs;
	scanned = true;
	for (uint8_t dev = 0; dev < 32; dev++) {
		uint8_t nfn = pci_cfg_read8(0, dev, 0, PCI_HEADER_TYPE) & 0x80 ? 8 : 1;

		for (uint8_t fn = 0; fn < nfn; fn++) {
			uint32_t id = pci_cfg_read32(0, dev, fn, PCI_VENDOR_ID);
			uint16_t device = (uint16_t)(id >> 16);

			if ((id & 0xffff) == VIRTIO_PCI_VENDOR_ID &&
			    device >= VIRTIO_PCI_MODERN_DEVICE && device < 0x1080 &&
			    ndevs < VIRTIO_PCI_MAX_DEVS)
				probe(dev, fn, device);
		}
	}
	return ndevs;
}

struct vdev *virtio_pci_dev(unsigned i)
{
	return i < ndevs ? &devs[i] : NULL;
}

struct vdev *virtio_pci_find(uint32_t device_id, unsigned nth)
{
	virtio_pci_scan();
	for (unsigned i = 0; i < ndevs; i++) {
		if (devs[i].device_id == device_id && nth-- == 0)
			return &devs[i];
	}
	return NULL;
}

/* ---- common configuration (4.1.4.3) ---- */

static uint8_t pci_get_status(struct vdev *d)
{
	return mmio_read8(d->pci.common + VIRTIO_PCI_COMMON_STATUS);
}

static void pci_set_status(struct vdev *d, uint8_t status)
{
	uint64_t vec = d->pci.common + VIRTIO_PCI_COMMON_MSIX;

	mmio_write8(d->pci.common + VIRTIO_PCI_COMMON_STATUS, status);
	if (status == 0)
		d->pci.queues_on = 0;
	/* A reset set config_msix_vector back to NO_VECTOR (4.1.4.3): renew it with the next
	 * status step once interrupts are on. */
	else if (d->msix && d->vector && mmio_read16(vec) == NO_VECTOR)
		mmio_write16(vec, 0);
}

static uint32_t pci_get_features(struct vdev *d, uint32_t word)
{
	mmio_write32(d->pci.common + VIRTIO_PCI_COMMON_DFSELECT, word);
	return mmio_read32(d->pci.common + VIRTIO_PCI_COMMON_DF);
}

static void pci_set_features(struct vdev *d, uint32_t word, uint32_t bits)
{
	mmio_write32(d->pci.common + VIRTIO_PCI_COMMON_GFSELECT, word);
	mmio_write32(d->pci.common + VIRTIO_PCI_COMMON_GF, bits);
}

static uint32_t pci_generation(struct vdev *d)
{
	return mmio_read8(d->pci.common + VIRTIO_PCI_COMMON_CFGGENERATION);
}

static void select_queue(struct vdev *d, uint16_t q)
{
	mmio_write16(d->pci.common + VIRTIO_PCI_COMMON_Q_SELECT, q);
}

static uint32_t pci_queue_max(struct vdev *d, uint16_t q, bool *ready)
{
	select_queue(d, q);
	*ready = mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_Q_ENABLE) != 0;
	return mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_Q_SIZE);
}

/* The MSI-X table entry queue q uses (entry 0 is the configuration change's). */
static uint16_t queue_entry(const struct vdev *d, uint16_t q)
{
	return q + 1u < d->pci.msix_size ? (uint16_t)(q + 1) : (uint16_t)(d->pci.msix_size - 1);
}

/* Writes queue q's vector (queue already selected) and reads it back (4.1.5.1.2). */
static bool set_queue_vector(struct vdev *d, uint16_t q)
{
	uint16_t v = queue_entry(d, q);

	mmio_write16(d->pci.common + VIRTIO_PCI_COMMON_Q_MSIX, v);
	return mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_Q_MSIX) == v;
}

static void write64(uint64_t lo_addr, uint64_t v)
{
	mmio_write32(lo_addr, (uint32_t)v);
	mmio_write32(lo_addr + 4, (uint32_t)(v >> 32));
}

/* 4.1.5.1.3: size, ring addresses, vector, then queue_enable. */
static void pci_queue_enable(struct vdev *d, uint16_t q, uint32_t num, uint64_t desc,
			     uint64_t driver, uint64_t device)
{
	uint64_t c = d->pci.common;

	select_queue(d, q);
	mmio_write16(c + VIRTIO_PCI_COMMON_Q_SIZE, (uint16_t)num);
	write64(c + VIRTIO_PCI_COMMON_Q_DESCLO, desc);
	write64(c + VIRTIO_PCI_COMMON_Q_AVAILLO, driver);
	write64(c + VIRTIO_PCI_COMMON_Q_USEDLO, device);
	if (d->msix && d->vector && !set_queue_vector(d, q))
		printf("virtio-pci %02x.%x: queue %u refused MSI-X vector %u\n", d->pci.dev,
		       d->pci.fn, q, queue_entry(d, q));
	if (q < 64)
		d->pci.queues_on |= 1ULL << q;
	mmio_write16(c + VIRTIO_PCI_COMMON_Q_ENABLE, 1);
}

/* 4.1.4.4: queue_notify_off * notify_off_multiplier into the notification region, a 16-bit
 * write of the queue index (no VIRTIO_F_NOTIFICATION_DATA). */
static uint64_t pci_notify_addr(struct vdev *d, uint16_t q, unsigned *width)
{
	uint64_t off;

	select_queue(d, q);
	off = (uint64_t)mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_Q_NOFF) * d->pci.notify_mult;
	if (off + 2 > d->pci.notify_len) {
		printf("virtio-pci %02x.%x: queue %u notifies at +0x%llx, past the region (%u)\n",
		       d->pci.dev, d->pci.fn, q, (unsigned long long)off, d->pci.notify_len);
		*width = 0;
		return 0;
	}
	*width = 2;
	return d->pci.notify + off;
}

/* 4.1.4.5: reading ISR clears it (and drops INTx). */
static uint32_t pci_ack_isr(struct vdev *d)
{
	return mmio_read8(d->pci.isr);
}

/* ---- interrupts ---- */

static void msix_control(struct vdev *d, bool enable)
{
	uint16_t off = d->pci.msix_cap + PCI_MSIX_FLAGS;
	uint16_t ctl = cfg16(d, off) & (uint16_t) ~(PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL);

	pci_cfg_write16(0, d->pci.dev, d->pci.fn, off,
			(uint16_t)(ctl | (enable ? PCI_MSIX_FLAGS_ENABLE : 0)));
}

/* Table entry i: the platform's message for `vector` (pci.h), unmasked. */
static bool msix_entry(struct vdev *d, uint16_t i, uint8_t vector)
{
	uint64_t e = d->pci.msix_table + (uint64_t)i * PCI_MSIX_ENTRY_SIZE, addr;
	uint32_t data;

	if (!pci_msi_message(d->pci.dev, d->pci.fn, vector, &addr, &data))
		return false;
	mmio_write32(e + PCI_MSIX_ENTRY_LOWER_ADDR, (uint32_t)addr);
	mmio_write32(e + PCI_MSIX_ENTRY_UPPER_ADDR, (uint32_t)(addr >> 32));
	mmio_write32(e + PCI_MSIX_ENTRY_DATA, data);
	mmio_write32(e + PCI_MSIX_ENTRY_VECTOR_CTRL, 0);
	return true;
}

static bool irq_enable_msix(struct vdev *d, uint8_t vector)
{
	uint8_t config_vector = (uint8_t)(vector + VDEV_CONFIG_VECTOR_OFFSET);

	if (d->pci.msix_size < 2)
		config_vector = vector;
	for (uint16_t i = 0; i < d->pci.msix_size; i++) {
		if (!msix_entry(d, i, i == 0 ? config_vector : vector))
			return false;
	}
	d->vector = vector;
	d->config_vector = config_vector;
	vdev_irq_attach(d, vector, ISR_QUEUE);
	if (config_vector != vector)
		vdev_irq_attach(d, config_vector, VIRTIO_PCI_ISR_CONFIG);
	msix_control(d, true);
	mmio_write16(d->pci.common + VIRTIO_PCI_COMMON_MSIX, 0);
	if (mmio_read16(d->pci.common + VIRTIO_PCI_COMMON_MSIX) != 0) {
		printf("virtio-pci %02x.%x: config_msix_vector 0 refused\n", d->pci.dev, d->pci.fn);
		return false;
	}
	for (uint16_t q = 0; q < 64; q++) {
		if (!(d->pci.queues_on >> q & 1))
			continue;
		select_queue(d, q);
		if (!set_queue_vector(d, q)) {
			printf("virtio-pci %02x.%x: queue %u refused MSI-X vector %u\n", d->pci.dev,
			       d->pci.fn, q, queue_entry(d, q));
			return false;
		}
	}
	return true;
}

static bool irq_enable_intx(struct vdev *d, uint8_t vector)
{
	if (d->pci.msix_cap)
		msix_control(d, false);
	pci_cfg_write16(0, d->pci.dev, d->pci.fn, PCI_COMMAND,
			cfg16(d, PCI_COMMAND) & (uint16_t)~PCI_COMMAND_INTX_DISABLE);
	d->vector = d->config_vector = vector;
	vdev_irq_attach(d, vector, 0);
	return pci_intx_route(d->pci.dev, d->pci.fn, cfg8(d, PCI_INTERRUPT_PIN), d->irq, vector);
}

static bool pci_irq_enable(struct vdev *d, uint8_t vector)
{
	return d->msix ? irq_enable_msix(d, vector) : irq_enable_intx(d, vector);
}

const struct vdev_ops virtio_pci_ops = {
    .name = "pci",
    .get_status = pci_get_status,
    .set_status = pci_set_status,
    .get_features = pci_get_features,
    .set_features = pci_set_features,
    .generation = pci_generation,
    .queue_max = pci_queue_max,
    .queue_enable = pci_queue_enable,
    .notify_addr = pci_notify_addr,
    .ack_isr = pci_ack_isr,
    .irq_enable = pci_irq_enable,
};
