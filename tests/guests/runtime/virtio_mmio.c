/* Guest-side virtio-mmio core (see virtio_mmio.h). Section numbers: virtio 1.2. */
#include "virtio_mmio.h"

#include "apic.h"
#include "cpu.h"
#include "printf.h"
#include "pvh.h"
#include "string.h"
#include "trap.h"

#define CMDLINE_KEY	   "virtio_mmio.device="
#define RESET_POLL_LIMIT   100000
#define GENERATION_RETRIES 1000

static struct vdev devs[VIRTIO_MMIO_MAX_DEVS];
static unsigned ndevs;
static bool scanned;
static struct vdev *by_vector[256];

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
	devs[ndevs++] = *d;
}

unsigned virtio_mmio_scan(void)
{
	const char *p = pvh_cmdline();
	size_t klen = strlen(CMDLINE_KEY);

	if (scanned)
		return ndevs;
	scanned = true;
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

/* ---- initialisation (3.1.1) ---- */

int vdev_reset(struct vdev *d)
{
	vdev_write(d, VIRTIO_MMIO_STATUS, 0);
	for (int i = 0; i < RESET_POLL_LIMIT; i++) {
		if (vdev_status(d) == 0)
			return 0;
		cpu_relax();
	}
	return VDEV_ERR_RESET_TIMEOUT;
}

void vdev_add_status(struct vdev *d, uint8_t bits)
{
	vdev_write(d, VIRTIO_MMIO_STATUS, vdev_status(d) | bits);
}

static uint64_t read_offered(struct vdev *d)
{
	uint64_t f;

	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
	f = (uint64_t)vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
	vdev_write(d, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
	return f | vdev_read(d, VIRTIO_MMIO_DEVICE_FEATURES);
}

static void write_driver_features(struct vdev *d, uint64_t f)
{
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
	vdev_write(d, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)f);
}

static int fail(struct vdev *d, int err)
{
	vdev_add_status(d, VIRTIO_CONFIG_S_FAILED);
	return err;
}

int vdev_negotiate(struct vdev *d, uint64_t wanted, uint64_t required)
{
	const uint64_t v1 = 1ULL << VIRTIO_F_VERSION_1;
	int err = vdev_reset(d);

	if (err)
		return err;
	vdev_add_status(d, VIRTIO_CONFIG_S_ACKNOWLEDGE);
	vdev_add_status(d, VIRTIO_CONFIG_S_DRIVER);
	d->offered = read_offered(d);
	if (!(d->offered & v1))
		return fail(d, VDEV_ERR_NO_VERSION_1);
	if ((d->offered & required) != required)
		return fail(d, VDEV_ERR_MISSING);
	d->features = d->offered & (wanted | required | v1);
	write_driver_features(d, d->features);
	vdev_add_status(d, VIRTIO_CONFIG_S_FEATURES_OK);
	/* 3.1.1 step 6: the device clears FEATURES_OK when it refuses the subset. */
	if (!(vdev_status(d) & VIRTIO_CONFIG_S_FEATURES_OK))
		return fail(d, VDEV_ERR_FEATURES);
	return 0;
}

void vdev_driver_ok(struct vdev *d)
{
	vdev_add_status(d, VIRTIO_CONFIG_S_DRIVER_OK);
}

/* ---- configuration space (2.5.1, 4.2.2.2) ---- */

static uint32_t generation(struct vdev *d)
{
	return vdev_read(d, VIRTIO_MMIO_CONFIG_GENERATION);
}

#define CONFIG_READ(width, expr)                                                                   \
	uint32_t gen;                                                                              \
	uint##width##_t v = 0;                                                                     \
	for (int i = 0; i < GENERATION_RETRIES; i++) {                                             \
		gen = generation(d);                                                               \
		v = (expr);                                                                        \
		if (generation(d) == gen)                                                          \
			break;                                                                     \
	}                                                                                          \
	return v

uint8_t vdev_config8(struct vdev *d, uint32_t off)
{
	CONFIG_READ(8, mmio_read8(d->base + VIRTIO_MMIO_CONFIG + off));
}

uint16_t vdev_config16(struct vdev *d, uint32_t off)
{
	CONFIG_READ(16, mmio_read16(d->base + VIRTIO_MMIO_CONFIG + off));
}

uint32_t vdev_config32(struct vdev *d, uint32_t off)
{
	CONFIG_READ(32, mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off));
}

/* Two 32-bit halves: only the generation check makes the pair consistent. */
uint64_t vdev_config64(struct vdev *d, uint32_t off)
{
	CONFIG_READ(64, mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off) |
			    (uint64_t)mmio_read32(d->base + VIRTIO_MMIO_CONFIG + off + 4) << 32);
}

/* ---- interrupts ---- */

uint32_t vdev_ack_isr(struct vdev *d)
{
	uint32_t isr = vdev_read(d, VIRTIO_MMIO_INTERRUPT_STATUS);

	if (isr)
		vdev_write(d, VIRTIO_MMIO_INTERRUPT_ACK, isr);
	return isr;
}

static void vdev_irq_handler(struct trap_frame *f)
{
	struct vdev *d = by_vector[f->vector & 0xff];

	if (!d)
		return;

	uint32_t isr = vdev_ack_isr(d);

	/* An irqfd is injected asynchronously: an interrupt may arrive after its cause was
	 * acknowledged in an earlier handler. InterruptStatus 0 marks such a spurious one. */
	if (isr) {
		d->isr_seen |= isr;
		d->irqs++;
	} else {
		d->spurious++;
	}
}

bool vdev_irq_enable(struct vdev *d, uint8_t vector)
{
	if (d->irq >= ioapic_pins()) {
		printf("virtio-mmio: 0x%llx: irq %u is not an IOAPIC pin (%u pins)\n",
		       (unsigned long long)d->base, d->irq, ioapic_pins());
		return false;
	}
	lapic_init();
	d->vector = vector;
	by_vector[vector] = d;
	irq_set_handler(vector, vdev_irq_handler);
	ioapic_route(d->irq, vector, (uint8_t)lapic_id(), IOAPIC_LEVEL);
	return true;
}
