/* The transport-neutral core of the guest-side virtio driver (virtio 1.2): device
 * initialisation (3.1.1), feature negotiation, status, configuration space with the generation
 * check (2.5.1), and interrupt accounting. The transports fill in struct vdev_ops:
 *   - virtio-mmio version 2 (virtio_mmio.h, 4.2): windows listed on the command line;
 *   - modern virtio-pci (virtio_pci.h, 4.1): functions found on PCI bus 0, interrupts by MSI-X
 *     or INTx.
 * vq_* (virtio_vq.h) and blk_* (virtio_blk.h) run over either.
 *
 * Interrupt accounting, whatever the transport: d->irqs counts the interrupts that had a cause
 * (InterruptStatus / ISR bits set, or any MSI-X message), d->isr_seen ORs the causes
 * (VIRTIO_MMIO_INT_VRING 1 = VIRTIO_PCI_ISR_QUEUE, VIRTIO_MMIO_INT_CONFIG 2 =
 * VIRTIO_PCI_ISR_CONFIG; with MSI-X the vector tells which), d->spurious the line interrupts
 * that found no cause (an irqfd is injected asynchronously, so a level interrupt may arrive
 * after an earlier handler acknowledged its cause). Queue interrupts arrive on d->vector,
 * configuration changes on d->config_vector (the same vector unless MSI-X gives them their
 * own).
 *
 * Everything here except vdev_irq_enable() is plain MMIO (and, on PCI, configuration space is
 * not touched after discovery), so it works in ring 3 too. */
#ifndef GUEST_VIRTIO_DEV_H
#define GUEST_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/virtio_config.h>

/* vdev_negotiate() errors. */
#define VDEV_ERR_NO_VERSION_1  (-1) /* the device does not offer VIRTIO_F_VERSION_1 */
#define VDEV_ERR_FEATURES      (-2) /* FEATURES_OK did not stick: features refused */
#define VDEV_ERR_MISSING       (-3) /* a required feature is not offered */
#define VDEV_ERR_RESET_TIMEOUT (-4) /* status never read back 0 after the reset */

/* With MSI-X, configuration changes come on this vector above the queues' one. */
#define VDEV_CONFIG_VECTOR_OFFSET 0x40

struct vdev;

/* What a transport provides. Queue operations select the queue themselves. */
struct vdev_ops {
	const char *name; /* "mmio", "pci" */
	uint8_t (*get_status)(struct vdev *d);
	void (*set_status)(struct vdev *d, uint8_t status);
	/* 32 feature bits from word `word` (0: bits 0-31, 1: bits 32-63). */
	uint32_t (*get_features)(struct vdev *d, uint32_t word);
	void (*set_features)(struct vdev *d, uint32_t word, uint32_t bits);
	uint32_t (*generation)(struct vdev *d);
	/* Queue q's maximum size (0: no such queue); *ready gets its enable bit. */
	uint32_t (*queue_max)(struct vdev *d, uint16_t q, bool *ready);
	/* Writes queue q's size (raw), ring addresses (and interrupt vector), then enables it. */
	void (*queue_enable)(struct vdev *d, uint16_t q, uint32_t num, uint64_t desc,
			     uint64_t driver, uint64_t device);
	/* Where the driver writes q to notify queue q, and the write's width in bytes (2, 4);
	 * 0 when the transport cannot say. */
	uint64_t (*notify_addr)(struct vdev *d, uint16_t q, unsigned *width);
	/* Reads the interrupt status and acknowledges it (MMIO: InterruptACK; PCI: the read
	 * clears ISR). */
	uint32_t (*ack_isr)(struct vdev *d);
	/* Routes the device's interrupts to `vector` on this CPU; ring 0. */
	bool (*irq_enable)(struct vdev *d, uint8_t vector);
};

/* virtio-pci transport state (virtio_pci.c). Addresses are guest-physical, below 4 GiB. */
struct vdev_pci {
	uint8_t dev, fn; /* bus 0 */
	uint64_t common, isr, notify;
	uint32_t notify_mult, notify_len;
	uint64_t msix_table; /* 0: no MSI-X capability */
	uint16_t msix_cap;   /* configuration offset of the MSI-X capability */
	uint16_t msix_size;  /* table entries */
	uint16_t num_queues;
	uint64_t queues_on; /* bit q: queue q was enabled (its MSI-X vector to program) */
};

struct vdev {
	const struct vdev_ops *ops;
	uint64_t base; /* MMIO: the window; PCI: BAR of the common configuration */
	uint64_t size;
	unsigned irq;	    /* IOAPIC pin: MMIO from the command line; PCI INTx: interrupt line */
	uint32_t version;   /* MMIO Version register (2); PCI: revision ID */
	uint32_t device_id; /* virtio device ID; 0: empty window */
	uint32_t vendor_id; /* MMIO VendorID; PCI: subsystem vendor */
	uint64_t config;    /* address of the device configuration space (0: none) */
	uint64_t offered;   /* device features, read by vdev_negotiate() */
	uint64_t features;  /* negotiated */
	bool msix;	    /* PCI: interrupts by MSI-X (else INTx) */
	uint8_t vector;	    /* 0 until vdev_irq_enable() */
	uint8_t config_vector;
	struct vdev_pci pci;
	volatile uint32_t isr_seen;
	volatile uint64_t irqs;
	volatile uint64_t spurious;
};

/* The nth (0-based) device with this virtio device ID on the transport the command line names:
 * `transport=pci` (virtio_pci_find) or, by default, `transport=mmio` (virtio_mmio_find). */
struct vdev *vdev_find(uint32_t device_id, unsigned nth);
/* "pci" or "mmio": the transport the command line asks for. */
const char *vdev_transport_name(void);

/* Prints "<what>: <transport and interrupt mode>, device N" on one line. */
void vdev_print(const struct vdev *d, const char *what);

uint8_t vdev_status(struct vdev *d);
/* Writes 0 to the status and waits (bounded) until it reads back 0 (4.1.4.3.2, 4.2.3.1: the
 * reset may take a while). Returns 0 or VDEV_ERR_RESET_TIMEOUT. */
int vdev_reset(struct vdev *d);
/* Adds bits to the status (never clears). */
void vdev_add_status(struct vdev *d, uint8_t bits);

/* Device initialisation steps 1-6 (3.1.1): reset, ACKNOWLEDGE, DRIVER, read the offered
 * features, accept offered & `wanted` (VIRTIO_F_VERSION_1 always; fails unless every bit of
 * `required` is offered), FEATURES_OK, and read it back. d->features holds the result. On an
 * error the device is left with FAILED set. Returns 0 or a VDEV_ERR_*. */
int vdev_negotiate(struct vdev *d, uint64_t wanted, uint64_t required);
/* Step 8: DRIVER_OK, after the queues are set up. */
void vdev_driver_ok(struct vdev *d);

static inline bool vdev_has(const struct vdev *d, unsigned bit)
{
	return (d->features >> bit) & 1;
}

/* Device configuration space reads, each retried until the generation is the same before and
 * after (2.5.1; 4.1.3.1 and 4.2.2.2 give the access widths: 8/16-bit fields by 8/16-bit
 * accesses, 32- and 64-bit fields by 32-bit accesses). `off` is relative to the config space. */
uint8_t vdev_config8(struct vdev *d, uint32_t off);
uint16_t vdev_config16(struct vdev *d, uint32_t off);
uint32_t vdev_config32(struct vdev *d, uint32_t off);
uint64_t vdev_config64(struct vdev *d, uint32_t off);

/* Routes the device's interrupts to `vector` (and, with MSI-X, configuration changes to
 * vector + VDEV_CONFIG_VECTOR_OFFSET) on this CPU with the accounting handler. Ring 0 only.
 * False (with a message) when the transport cannot. */
bool vdev_irq_enable(struct vdev *d, uint8_t vector);
/* Reads and acknowledges the interrupt status by hand (polling drivers); returns the bits. */
uint32_t vdev_ack_isr(struct vdev *d);

/* For transports: installs the accounting handler on `vector` for `d`. `isr_bits` 0: a line
 * interrupt whose handler reads and acknowledges the status; else a message interrupt that
 * stands for these status bits. */
void vdev_irq_attach(struct vdev *d, uint8_t vector, uint32_t isr_bits);

#endif
