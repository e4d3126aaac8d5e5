/* Transport-neutral guest-side virtio core (see virtio_dev.h). Section numbers: virtio 1.2. */
#include "virtio_dev.h"

#include "platform.h"
#include "printf.h"
#include "string.h"
#include "virtio_mmio.h"
#include "virtio_pci.h"

#define RESET_POLL_LIMIT   100000
#define GENERATION_RETRIES 1000

/* ---- discovery ---- */

static bool want_pci(void)
{
	char t[8] = "";

	return cmdline_get_str("transport", t, sizeof(t)) && !strcmp(t, "pci");
}

const char *vdev_transport_name(void)
{
	return want_pci() ? "pci" : "mmio";
}

struct vdev *vdev_find(uint32_t device_id, unsigned nth)
{
	return want_pci() ? virtio_pci_find(device_id, nth) : virtio_mmio_find(device_id, nth);
}

void vdev_print(const struct vdev *d, const char *what)
{
	if (!strcmp(d->ops->name, "pci"))
		printf(
		    "%s: virtio-pci 00:%02x.%x, BAR 0x%llx, %s (line %u), %u queue(s), device %u\n",
		    what, d->pci.dev, d->pci.fn, (unsigned long long)d->base,
		    d->msix ? "MSI-X" : "INTx", d->irq, d->pci.num_queues, d->device_id);
	else
		printf("%s: virtio-mmio 0x%llx irq %u, version %u, device %u\n", what,
		       (unsigned long long)d->base, d->irq, d->version, d->device_id);
}

/* ---- initialisation (3.1.1) ---- */

uint8_t vdev_status(struct vdev *d)
{
	return d->ops->get_status(d);
}

int vdev_reset(struct vdev *d)
{
	d->ops->set_status(d, 0);
	for (int i = 0; i < RESET_POLL_LIMIT; i++) {
		if (vdev_status(d) == 0)
			return 0;
		cpu_relax();
	}
	return VDEV_ERR_RESET_TIMEOUT;
}

void vdev_add_status(struct vdev *d, uint8_t bits)
{
	d->ops->set_status(d, vdev_status(d) | bits);
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
	d->offered = (uint64_t)d->ops->get_features(d, 1) << 32 | d->ops->get_features(d, 0);
	if (!(d->offered & v1))
		return fail(d, VDEV_ERR_NO_VERSION_1);
	if ((d->offered & required) != required)
		return fail(d, VDEV_ERR_MISSING);
	d->features = d->offered & (wanted | required | v1);
	d->ops->set_features(d, 1, (uint32_t)(d->features >> 32));
	d->ops->set_features(d, 0, (uint32_t)d->features);
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

/* ---- configuration space (2.5.1) ---- */

#define CONFIG_READ(width, expr)                                                                   \
	uint32_t gen;                                                                              \
	uint##width##_t v = 0;                                                                     \
	for (int i = 0; i < GENERATION_RETRIES; i++) {                                             \
		gen = d->ops->generation(d);                                                       \
		v = (expr);                                                                        \
		if (d->ops->generation(d) == gen)                                                  \
			break;                                                                     \
	}                                                                                          \
	return v

uint8_t vdev_config8(struct vdev *d, uint32_t off)
{
	CONFIG_READ(8, mmio_read8(d->config + off));
}

uint16_t vdev_config16(struct vdev *d, uint32_t off)
{
	CONFIG_READ(16, mmio_read16(d->config + off));
}

uint32_t vdev_config32(struct vdev *d, uint32_t off)
{
	CONFIG_READ(32, mmio_read32(d->config + off));
}

/* Two 32-bit halves: only the generation check makes the pair consistent. */
uint64_t vdev_config64(struct vdev *d, uint32_t off)
{
	CONFIG_READ(64, mmio_read32(d->config + off) | (uint64_t)mmio_read32(d->config + off + 4)
							   << 32);
}

/* ---- interrupts ---- */

static struct {
	struct vdev *d;
	uint32_t isr_bits; /* 0: read the status; else what a message on this vector means */
} by_vector[256];

uint32_t vdev_ack_isr(struct vdev *d)
{
	return d->ops->ack_isr(d);
}

static void vdev_irq_handler(struct trap_frame *f)
{
	unsigned v = f->vector & 0xff;
	struct vdev *d = by_vector[v].d;
	uint32_t isr;

	if (!d)
		return;
	isr = by_vector[v].isr_bits ? by_vector[v].isr_bits : vdev_ack_isr(d);
	if (isr) {
		d->isr_seen |= isr;
		d->irqs++;
	} else {
		d->spurious++;
	}
}

void vdev_irq_attach(struct vdev *d, uint8_t vector, uint32_t isr_bits)
{
	by_vector[vector].d = d;
	by_vector[vector].isr_bits = isr_bits;
	irq_set_handler(vector, vdev_irq_handler);
}

bool vdev_irq_enable(struct vdev *d, uint8_t vector)
{
	return d->ops->irq_enable(d, vector);
}
