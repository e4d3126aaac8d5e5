/* Guest-side virtio-mmio transport (see virtio_mmio.h). Section numbers: virtio 1.2. */
#include "virtio_mmio.h"
#include "fdt.h"

#include "platform.h"
#include "printf.h"
#include "string.h"

#define CMDLINE_KEY "virtio_mmio.device="

static struct vdev devs[VIRTIO_MMIO_MAX_DEVS];
static unsigned ndevs;
static bool scanned;
static const struct vdev_ops mmio_ops;

/* ---- command line ---- */

static int digit(char c, unsigned base)
{
	int v = c >= '0' && c <= '9'   ? c - '0'
		: c >= 'a' && c <= 'f' ? c - 'a' + 10
		: c >= 'A' && c <= 'F' ? c - 'A' + 10
				       : 99;
	return v < (int)base ? v : -1;
}

/* A number (0x for hex), then an optional K/M/G suffix when `suffix`. Returns the text after
 * it, or NULL when there is no number. */
static const char *parse_num(const char *p, uint64_t *out, bool suffix)
{
	unsigned base = 10;
	uint64_t v = 0;
	const char *start;

	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		base = 16;
		p += 2;
	}
	for (start = p; digit(*p, base) >= 0; p++)
		v = v * base + (uint64_t)digit(*p, base);
	if (p == start)
		return NULL;
	if (suffix && (*p == 'K' || *p == 'k'))
		v <<= 10, p++;
	else if (suffix && (*p == 'M' || *p == 'm'))
		v <<= 20, p++;
	else if (suffix && (*p == 'G' || *p == 'g'))
		v <<= 30, p++;
	*out = v;
	return p;
}

/* "<size>@<base>:<irq>" (Linux's vm_cmdline_set() syntax; we ignore its optional ":<id>"). */
static bool parse_window(const char *p, struct vdev *d)
{
	uint64_t size, base, irq;

	p = parse_num(p, &size, true);
	if (!p || *p++ != '@')
		return false;
	p = parse_num(p, &base, false);
	if (!p || *p++ != ':')
		return false;
	p = parse_num(p, &irq, false);
	if (!p || (*p && *p != ' ' && *p != ':') || size < 0x100 || irq > 255)
		return false;
	*d = (struct vdev){.base = base, .size = size, .irq = (unsigned)irq};
	return true;
}

static bool known_base(uint64_t base)
{
	for (unsigned i = 0; i < ndevs; i++) {
		if (devs[i].base == base)
			return true;
	}
	return false;
}

static void probe(struct vdev *d)
{
	uint32_t magic = vdev_read(d, VIRTIO_MMIO_MAGIC_VALUE);

	if (magic != VIRTIO_MMIO_MAGIC) {
		printf("virtio-mmio: 0x%llx: bad magic 0x%x, skipped\n",
		       (unsigned long long)d->base, magic);
		return;
	}
	d->version = vdev_read(d, VIRTIO_MMIO_VERSION);
	d->device_id = vdev_read(d, VIRTIO_MMIO_DEVICE_ID);
	d->vendor_id = vdev_read(d, VIRTIO_MMIO_VENDOR_ID);
	d->config = d->base + VIRTIO_MMIO_CONFIG;
	d->ops = &mmio_ops;
	devs[ndevs++] = *d;
}

/* The interrupt line of a "virtio,mmio" node: x86's tree (firmware/fdt.h) says <pin type>,
 * an arm64 GICv3 <type number flags> with type 0 an SPI (the line platform_irq_route() takes). */
static bool dt_irq_line(const uint8_t *irq, uint32_t len, unsigned *line)
{
	if (len == 8)
		*line = (unsigned)dt_cells(irq, 1);
	else if (len == 12 && dt_cells(irq, 1) == 0)
		*line = (unsigned)dt_cells(irq + 4, 1);
	else
		return false;
	return true;
}

/* Windows from the device tree (boot.h): "virtio,mmio" nodes, reg in the root's 2 + 2 cells. */
static void scan_dtb(void)
{
	struct dt t;
	uint32_t len, rlen;
	if (boot_dt(&t))
		return;
	for (int off = dt_find_compatible(&t, -1, "virtio,mmio"); off >= 0;
	     off = dt_find_compatible(&t, off, "virtio,mmio")) {
		const uint8_t *reg = dt_prop(&t, off, "reg", &rlen);
		const uint8_t *irq = dt_prop(&t, off, "interrupts", &len);
		unsigned line;
		if (!reg || rlen != 16 || !irq || !dt_irq_line(irq, len, &line) ||
		    ndevs == VIRTIO_MMIO_MAX_DEVS)
			continue;
		struct vdev d = {
		    .base = dt_cells(reg, 2), .size = dt_cells(reg + 8, 2), .irq = line};
		if (!known_base(d.base))
			probe(&d);
	}
}

unsigned virtio_mmio_scan(void)
{
	const char *p = boot_cmdline();
	size_t klen = strlen(CMDLINE_KEY);

	if (scanned)
		return ndevs;
	scanned = true;
	if (PLATFORM_DT_DISCOVERY || cmdline_has("dtb_discovery")) {
		scan_dtb();
		return ndevs;
	}
	while ((p = strstr(p, CMDLINE_KEY)) != NULL) {
		struct vdev d;

		p += klen;
		if (!parse_window(p, &d)) {
			printf("virtio-mmio: cannot parse \"%.40s\"\n", p);
			continue;
		}
		if (ndevs < VIRTIO_MMIO_MAX_DEVS && !known_base(d.base))
			probe(&d);
	}
	return ndevs;
}

struct vdev *virtio_mmio_dev(unsigned i)
{
	return i < ndevs ? &devs[i] : NULL;
}

struct vdev *virtio_mmio_find(uint32_t device_id, unsigned nth)
{
	virtio_mmio_scan();
	for (unsigned i = 0; i < ndevs; i++) {
		if (devs[i].device_id == device_id && nth-- == 0)
			return &devs[i];
	}
	return NULL;
}

/* ---- the transport operations ---- */

static uint8_t mmio_get_status(struct vdev *d)
{
	return (uint8_t)vdev_read(d, VIRTIO_MMIO_STATUS);
}

static void mmio_set_status(struct vdev *d, uint8_t status)
{
	vdev_write(d, VIRTIO_MMIO_STATUS, status);
}

static uint32_t mmio_get_features(struct vdev *d, uint32_t word)
{
	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, word);
	return vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void mmio_set_features(struct vdev *d, uint32_t word, uint32_t bits)
{
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, bits);
}

static uint32_t mmio_generation(struct vdev *d)
{
	return vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
}

static uint32_t mmio_queue_max(struct vdev *d, uint16_t q, bool *ready)
{
	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	*ready = vdev_read(d, VIRTIO_MMIO_QUEUE_READY) != 0;
	return vdev_read(d, VIRTIO_MMIO_QUEUE_NUM_MAX);
}

static void write64(struct vdev *d, uint32_t lo_reg, uint64_t v)
{
	vdev_write(d, lo_reg, (uint32_t)v);
	vdev_write(d, lo_reg + 4, (uint32_t)(v >> 32));
}

/* 4.2.3.2: QueueNum, the three ring addresses, then QueueReady. */
static void mmio_queue_enable(struct vdev *d, uint16_t q, uint32_t num, uint64_t desc,
			      uint64_t driver, uint64_t device)
{
	vdev_write(d, VIRTIO_MMIO_QUEUE_SEL, q);
	vdev_write(d, VIRTIO_MMIO_QUEUE_NUM, num);
	write64(d, VIRTIO_MMIO_QUEUE_DESC_LOW, desc);
	write64(d, VIRTIO_MMIO_QUEUE_AVAIL_LOW, driver);
	write64(d, VIRTIO_MMIO_QUEUE_USED_LOW, device);
	vdev_write(d, VIRTIO_MMIO_QUEUE_READY, 1);
}

static uint64_t mmio_notify_addr(struct vdev *d, uint16_t q, unsigned *width)
{
	(void)q;
	*width = 4;
	return d->base + VIRTIO_MMIO_QUEUE_NOTIFY;
}

static uint32_t mmio_ack_isr(struct vdev *d)
{
	uint32_t isr = vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		vdev_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static bool mmio_irq_enable(struct vdev *d, uint8_t vector)
{
	d->vector = d->config_vector = vector;
	vdev_irq_attach(d, vector, 0);
	if (platform_irq_route(d->irq, vector))
		return true;
	printf("virtio-mmio: 0x%llx: no interrupt\n", (unsigned long long)d->base);
	d->vector = d->config_vector = 0;
	return false;
}

static const struct vdev_ops mmio_ops = {
    .name = "mmio",
    .get_status = mmio_get_status,
    .set_status = mmio_set_status,
    .get_features = mmio_get_features,
    .set_features = mmio_set_features,
    .generation = mmio_generation,
    .queue_max = mmio_queue_max,
    .queue_enable = mmio_queue_enable,
    .notify_addr = mmio_notify_addr,
    .ack_isr = mmio_ack_isr,
    .irq_enable = mmio_irq_enable,
};
