/* The common configuration structure of virtio-pci (virtio 1.2, 4.1.4.3), driven through the
 * transport-independent virtio_dev_* calls. Called with dev->lock held. */
#include <linux/virtio_pci.h>

#include "virtio/transport/virtio_pci.h"

/* Natural width of the field at `off`, or 0 when no field starts there. 64-bit fields also take
 * two 32-bit halves (4.1.3.1), handled by the callers. */
static unsigned field_width(uint32_t off)
{
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_GFSELECT:
	case VIRTIO_PCI_COMMON_GF:
		return 4;
	case VIRTIO_PCI_COMMON_STATUS:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return 1;
	case VIRTIO_PCI_COMMON_Q_DESCLO:
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return 8;
	default:
		return off >= VIRTIO_PCI_COMMON_MSIX && off <= VIRTIO_PCI_COMMON_Q_NOFF &&
			       off % 2 == 0
			   ? 2
			   : 0;
	}
}

/* The 64-bit field containing `off`, or NULL. */
static uint64_t *addr_field(struct virtqueue *vq, uint32_t off)
{
	switch (off & ~7u) {
	case VIRTIO_PCI_COMMON_Q_DESCLO:
		return &vq->desc_addr;
	case VIRTIO_PCI_COMMON_Q_AVAILLO:
		return &vq->driver_addr;
	case VIRTIO_PCI_COMMON_Q_USEDLO:
		return &vq->device_addr;
	default:
		return NULL;
	}
}

bool virtio_pci_common_access_ok(uint32_t off, uint32_t len)
{
	if (off >= VIRTIO_PCI_COMMON_Q_DESCLO && off < VIRTIO_PCI_COMMON_LEN)
		return (len == 8 && off % 8 == 0) || (len == 4 && off % 4 == 0);
	return len == field_width(off);
}

static struct virtqueue *selected(struct virtio_pci *t)
{
	return t->queue_select < t->dev->num_queues ? &t->dev->vqs[t->queue_select] : NULL;
}

static uint64_t read_queue(struct virtio_pci *t, uint32_t off, uint32_t len)
{
	struct virtqueue *vq = selected(t);
	if (!vq) /* 4.1.4.3.1: queue_size 0 for an unavailable queue */
		return off == VIRTIO_PCI_COMMON_Q_MSIX ? VIRTIO_MSI_NO_VECTOR : 0;
	switch (off) {
	case VIRTIO_PCI_COMMON_Q_SIZE: /* the maximum until the driver writes a size */
		return vq->num ? (uint16_t)vq->num : vq->max_size;
	case VIRTIO_PCI_COMMON_Q_MSIX:
		return t->queue_vector[t->queue_select];
	case VIRTIO_PCI_COMMON_Q_ENABLE:
		return t->dev->queue_ready[t->queue_select];
	case VIRTIO_PCI_COMMON_Q_NOFF:
		return t->queue_select; /* queue q notifies at 4 * q */
	default: {
		uint64_t *a = addr_field(vq, off);
		uint64_t v = a ? *a >> (8 * (off % 8)) : 0;
		return len == 8 ? v : (uint32_t)v;
	}
	}
}

uint64_t virtio_pci_common_read(struct virtio_pci *t, uint32_t off, uint32_t len)
{
	struct virtio_dev *dev = t->dev;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		return t->device_feature_select;
	case VIRTIO_PCI_COMMON_DF:
		return virtio_dev_get_features(dev, t->device_feature_select);
	case VIRTIO_PCI_COMMON_GFSELECT:
		return t->driver_feature_select;
	case VIRTIO_PCI_COMMON_GF:
		return t->driver_feature_select < 2
			   ? (uint32_t)(dev->driver_features >> (32 * t->driver_feature_select))
			   : 0;
	case VIRTIO_PCI_COMMON_MSIX:
		return t->config_vector;
	case VIRTIO_PCI_COMMON_NUMQ:
		return dev->num_queues;
	case VIRTIO_PCI_COMMON_STATUS:
		return dev->status;
	case VIRTIO_PCI_COMMON_CFGGENERATION:
		return (uint8_t)dev->config_generation;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		return t->queue_select;
	default:
		return read_queue(t, off, len);
	}
}

/* A vector the MSI-X table does not have reads back NO_VECTOR: the driver's check that the
 * mapping took (4.1.5.1.2). */
static uint16_t checked_vector(struct virtio_pci *t, uint64_t v)
{
	return v < t->msix.nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void set_addr(uint64_t *a, uint32_t off, uint32_t len, uint64_t v)
{
	if (len == 8)
		*a = v;
	else if (off % 8)
		*a = (*a & 0xffffffffULL) | v << 32;
	else
		*a = (*a & ~0xffffffffULL) | (uint32_t)v;
}

/* 4.1.4.3 / 2.7: queue_size is a non-zero power of two, at most the device maximum. The 16-bit
 * field cannot say 65536, so a written 0 is kept as 0x10000, the value virtio-mmio's 32-bit
 * QueueNum would hold: it reads back as 0 and vq_activate() refuses it (-VQ_E_SIZE, device
 * NEEDS_RESET) exactly as mmio refuses a QueueNum of 0, instead of becoming the maximum.
 * vq->num 0 keeps meaning "never written": the driver took the maximum it read. */
static void set_size(struct virtqueue *vq, uint64_t v)
{
	vq->num = (uint16_t)v ? (uint16_t)v : 0x10000u;
}

static void enable_queue(struct virtio_pci *t, struct virtqueue *vq)
{
	if (!vq->num)
		vq->num = vq->max_size; /* the driver kept the size it read */
	virtio_dev_set_queue_ready(t->dev, t->queue_select, true);
}

static void write_queue(struct virtio_pci *t, uint32_t off, uint32_t len, uint64_t v)
{
	struct virtqueue *vq = selected(t);
	if (!vq)
		return;
	bool ready = t->dev->queue_ready[t->queue_select];
	if (off == VIRTIO_PCI_COMMON_Q_MSIX) {
		t->queue_vector[t->queue_select] = checked_vector(t, v);
		virtio_dev_irqfd_changed(t->dev);
	} else if (off == VIRTIO_PCI_COMMON_Q_ENABLE) {
		if (v == 1 && !ready) /* 4.1.4.3.2: the driver never writes 0 */
			enable_queue(t, vq);
	} else if (ready) {
		return; /* size and ring addresses are fixed while the queue is enabled */
	} else if (off == VIRTIO_PCI_COMMON_Q_SIZE) {
		set_size(vq, v); /* validated (power of two, <= max) at activation */
	} else if (addr_field(vq, off)) {
		set_addr(addr_field(vq, off), off, len, v);
	}
}

static void reset_vectors(struct virtio_pci *t)
{
	t->config_vector = VIRTIO_MSI_NO_VECTOR;
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		t->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
}

void virtio_pci_common_reset(struct virtio_pci *t)
{
	reset_vectors(t);
}

void virtio_pci_common_write(struct virtio_pci *t, uint32_t off, uint32_t len, uint64_t v)
{
	struct virtio_dev *dev = t->dev;
	switch (off) {
	case VIRTIO_PCI_COMMON_DFSELECT:
		t->device_feature_select = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GFSELECT:
		t->driver_feature_select = (uint32_t)v;
		break;
	case VIRTIO_PCI_COMMON_GF:
		virtio_dev_set_features(dev, t->driver_feature_select, (uint32_t)v);
		break;
	case VIRTIO_PCI_COMMON_MSIX:
		t->config_vector = checked_vector(t, v);
		break;
	case VIRTIO_PCI_COMMON_STATUS:
		virtio_dev_set_status(dev, (uint8_t)v);
		if (v == 0) {
			reset_vectors(t);
			virtio_dev_irqfd_changed(dev);
		}
		break;
	case VIRTIO_PCI_COMMON_Q_SELECT:
		t->queue_select = (uint16_t)v;
		break;
	case VIRTIO_PCI_COMMON_DF:
	case VIRTIO_PCI_COMMON_NUMQ:
	case VIRTIO_PCI_COMMON_CFGGENERATION:
	case VIRTIO_PCI_COMMON_Q_NOFF:
		break; /* read-only */
	default:
		write_queue(t, off, len, v);
		break;
	}
}
