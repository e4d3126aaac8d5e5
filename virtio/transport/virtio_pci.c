/* The modern virtio-pci transport: identity, BAR regions, vendor capabilities, interrupts
 * (virtio 1.2, 4.1). Layout and rules are described in virtio/transport/virtio_pci.h. */
#include "virtio/transport/virtio_pci.h"

#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <string.h>

#define VCAP_DATA 16 /* pci_cfg_data inside struct virtio_pci_cfg_cap */

uint32_t virtio_pci_class(uint32_t device_id)
{
	switch (device_id) {
	case VIRTIO_ID_NET:
		return 0x020000; /* network controller, Ethernet */
	case VIRTIO_ID_BLOCK:
		return 0x018000; /* mass storage, other */
	case VIRTIO_ID_CONSOLE:
		return 0x078000; /* communication, other */
	default:
		return 0xff0000; /* device does not fit a defined class */
	}
}

static bool overlaps(uint32_t off, uint32_t len, uint32_t start, uint32_t n)
{
	return off < start + n && off + len > start;
}

/* ---- interrupts (4.1.4.5, 4.1.5.3, 4.1.5.4) ---- */

/* INTx is pending while MSI-X is off and the ISR has bits: the PCI status bit shows it. */
static bool intx_pending(const struct virtio_pci *t)
{
	return !pci_msix_enabled(&t->msix) && t->dev->isr;
}

bool virtio_pci_intx_asserted(const struct virtio_pci *t)
{
	return intx_pending(t) && !t->intx_disabled;
}

static void update_intx(struct virtio_pci *t)
{
	bool level = virtio_pci_intx_asserted(t);
	if (level == t->intx_level)
		return;
	t->intx_level = level;
	if (t->host.intx)
		t->host.intx(t->host.opaque, level);
}

static uint16_t vector_of(const struct virtio_pci *t, uint16_t queue)
{
	if (queue == VIRTIO_IRQ_CONFIG)
		return t->config_vector;
	return queue < t->dev->num_queues ? t->queue_vector[queue] : VIRTIO_MSI_NO_VECTOR;
}

/* dev->irq.raise: the device core has set the ISR bit already. */
static void raise_irq(void *opaque, uint16_t queue)
{
	struct virtio_pci *t = opaque;
	if (pci_msix_notify(&t->msix, vector_of(t, queue)))
		return; /* NO_VECTOR: beyond the table, dropped (4.1.5.4) */
	update_intx(t);
}

/* dev->irqfd.get: the eventfd of queue `queue`'s vector while the guest would take its message
 * now (6.8.2.9: MSI-X on, neither the function nor the vector masked), else -1. */
static int queue_irqfd(void *opaque, uint16_t queue)
{
	struct virtio_pci *t = opaque;
	uint16_t v = vector_of(t, queue);
	if (!t->irqfds.vector_irqfd || v >= t->msix.nvec || !pci_msix_enabled(&t->msix) ||
	    pci_msix_masked(&t->msix, v))
		return -1;
	const uint32_t *e = t->msix.table[v]; /* address low, address high, data, control */
	return t->irqfds.vector_irqfd(t->irqfds.opaque, v, e[0] | (uint64_t)e[1] << 32, e[2]);
}

void virtio_pci_set_irqfds(struct virtio_pci *t, const struct virtio_pci_irqfds *irqfds)
{
	t->irqfds = *irqfds;
	t->dev->irqfd = (struct virtio_irqfd_source){queue_irqfd, t};
}

static void send_msi(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct virtio_pci *t = opaque;
	if (t->host.msi)
		t->host.msi(t->host.opaque, vector, addr, data);
}

/* ---- BAR 0: common, ISR, device config, notifications ---- */

static void isr_read(struct virtio_pci *t, uint64_t off, void *data)
{
	if (off != 0)
		return;
	uint32_t isr = virtio_dev_isr(t->dev);
	virtio_dev_ack(t->dev, isr); /* 4.1.4.5: reading clears it */
	*(uint8_t *)data = (uint8_t)isr;
	update_intx(t);
}

static void bar0_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	memset(data, 0, len);
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (virtio_pci_common_access_ok((uint32_t)off, len)) {
			uint64_t v = virtio_pci_common_read(t, (uint32_t)off, len);
			memcpy(data, &v, len);
		}
	} else if (off >= VIRTIO_PCI_ISR_OFF && off < VIRTIO_PCI_DEVICE_OFF) {
		isr_read(t, off - VIRTIO_PCI_ISR_OFF, data);
	} else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF) {
		virtio_dev_config_read(t->dev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), data, len);
	}
	pthread_mutex_unlock(&t->dev->lock);
}

/* Reached only when no ioeventfd took the write (tests, fuzzers, a BAR being moved). */
static void notify_write(struct virtio_pci *t, uint64_t off)
{
	if (off % VIRTIO_PCI_NOTIFY_MULT == 0 && off / VIRTIO_PCI_NOTIFY_MULT < t->dev->num_queues)
		virtio_dev_kick(t->dev, (uint16_t)(off / VIRTIO_PCI_NOTIFY_MULT));
}

static void bar0_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	if (off < VIRTIO_PCI_COMMON_LEN) {
		if (virtio_pci_common_access_ok((uint32_t)off, len)) {
			uint64_t v = 0;
			memcpy(&v, data, len);
			virtio_pci_common_write(t, (uint32_t)off, len, v);
			update_intx(t); /* a reset (status 0) cleared the ISR: drop INTx */
		}
	} else if (off >= VIRTIO_PCI_DEVICE_OFF && off < VIRTIO_PCI_NOTIFY_OFF) {
		virtio_dev_config_write(t->dev, (uint32_t)(off - VIRTIO_PCI_DEVICE_OFF), data, len);
	} else if (off >= VIRTIO_PCI_NOTIFY_OFF) {
		notify_write(t, off - VIRTIO_PCI_NOTIFY_OFF);
	}
	pthread_mutex_unlock(&t->dev->lock);
}

static const struct io_ops bar0_ops = {bar0_read, bar0_write};

/* ---- BAR 2: MSI-X table and PBA ---- */

static void msix_read(void *opaque, uint64_t off, void *data, uint32_t len)
{
	struct virtio_pci *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	if (off < VIRTIO_PCI_MSIX_PBA_OFF)
		pci_msix_table_read(&t->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, data, len);
	else
		pci_msix_pba_read(&t->msix, off - VIRTIO_PCI_MSIX_PBA_OFF, data, len);
	pthread_mutex_unlock(&t->dev->lock);
}

static void msix_write(void *opaque, uint64_t off, const void *data, uint32_t len)
{
	struct virtio_pci *t = opaque;
	pthread_mutex_lock(&t->dev->lock);
	if (off < VIRTIO_PCI_MSIX_PBA_OFF) {
		/* a pending vector unmasked here is sent first (6.8.2.9), then its eventfd may
		 * be handed out; a masked one is taken back before the vCPU returns */
		pci_msix_table_write(&t->msix, off - VIRTIO_PCI_MSIX_TABLE_OFF, data, len);
		virtio_dev_irqfd_changed(t->dev);
	}
	pthread_mutex_unlock(&t->dev->lock);
}

static const struct io_ops msix_ops = {msix_read, msix_write};

/* ---- configuration space hooks ---- */

/* The PCI configuration access capability (4.1.4.9): a BAR access of cap.length bytes at
 * cap.offset in cap.bar, through pci_cfg_data. Invalid lengths / offsets are ignored. Runs
 * without dev->lock (the BAR handlers take it). */
static void cfg_window(struct virtio_pci *t, bool write)
{
	struct pci_func *f = &t->func;
	uint8_t bar = f->cfg[t->cfg_cap + VIRTIO_PCI_CAP_BAR];
	uint32_t off = pci_cfg_get32(f, t->cfg_cap + VIRTIO_PCI_CAP_OFFSET);
	uint32_t len = pci_cfg_get32(f, t->cfg_cap + VIRTIO_PCI_CAP_LENGTH);
	uint8_t *window = &f->cfg[t->cfg_cap + VCAP_DATA];
	if ((len != 1 && len != 2 && len != 4) || off % len)
		return;
	uint8_t buf[4];
	memcpy(buf, window, sizeof(buf));
	if (pci_func_bar_access(f, bar, off, buf, len, write) == 0 && !write)
		memcpy(window, buf, len);
}

static void config_read(struct pci_func *f, uint32_t off, void *data, uint32_t len)
{
	struct virtio_pci *t = f->opaque;
	uint8_t *out = data;
	if (overlaps(off, len, t->cfg_cap + VCAP_DATA, 4)) {
		cfg_window(t, false);
		for (uint32_t i = 0; i < len && off + i < PCI_CFG_SPACE; i++)
			out[i] = f->cfg[off + i];
	}
	if (overlaps(off, len, PCI_STATUS, 1)) {
		pthread_mutex_lock(&t->dev->lock);
		if (intx_pending(t))
			out[PCI_STATUS - off] |= PCI_STATUS_INTERRUPT;
		pthread_mutex_unlock(&t->dev->lock);
	}
}

static void config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	(void)data;
	struct virtio_pci *t = f->opaque;
	if (overlaps(off, len, t->cfg_cap + VCAP_DATA, 4))
		cfg_window(t, true);
	if (!overlaps(off, len, PCI_COMMAND, 2) &&
	    !overlaps(off, len, t->msix.cap + PCI_MSIX_FLAGS, 2))
		return;
	pthread_mutex_lock(&t->dev->lock);
	t->intx_disabled = pci_cfg_get16(f, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	pci_msix_control_written(&t->msix);
	update_intx(t);
	virtio_dev_irqfd_changed(t->dev); /* MSI-X Enable or Function Mask may have changed */
	pthread_mutex_unlock(&t->dev->lock);
}

static void bar_moved(struct pci_func *f, int bar, bool was_on, uint64_t old, bool on,
		      uint64_t addr)
{
	struct virtio_pci *t = f->opaque;
	if (bar != VIRTIO_PCI_BAR || !t->host.notify_moved)
		return;
	pthread_mutex_lock(&t->dev->lock);
	t->host.notify_moved(t->host.opaque, was_on, old + VIRTIO_PCI_NOTIFY_OFF, on,
			     addr + VIRTIO_PCI_NOTIFY_OFF);
	pthread_mutex_unlock(&t->dev->lock);
}

static const struct pci_func_ops func_ops = {config_read, config_write, bar_moved};

/* ---- construction ---- */

/* Appends a struct virtio_pci_cap (4.1.4) of `cap_len` bytes describing [off, off + len) of
 * BAR 0. Returns its configuration offset or -ENOSPC. */
static int add_vcap(struct virtio_pci *t, uint8_t type, uint32_t off, uint32_t len, uint8_t cap_len)
{
	struct pci_func *f = &t->func;
	int c = pci_func_add_cap(f, PCI_CAP_ID_VNDR, cap_len);
	if (c < 0)
		return c;
	f->cfg[c + VIRTIO_PCI_CAP_LEN] = cap_len;
	f->cfg[c + VIRTIO_PCI_CAP_CFG_TYPE] = type;
	f->cfg[c + VIRTIO_PCI_CAP_BAR] = VIRTIO_PCI_BAR;
	pci_cfg_set32(f, (uint32_t)c + VIRTIO_PCI_CAP_OFFSET, off);
	pci_cfg_set32(f, (uint32_t)c + VIRTIO_PCI_CAP_LENGTH, len);
	return c;
}

static int add_caps(struct virtio_pci *t)
{
	struct pci_func *f = &t->func;
	uint32_t notify_len = VIRTIO_PCI_NOTIFY_MULT * t->dev->num_queues;
	int c = add_vcap(t, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF, VIRTIO_PCI_COMMON_LEN,
			 sizeof(struct virtio_pci_cap));
	if (c >= 0)
		c = add_vcap(t, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF, notify_len,
			     sizeof(struct virtio_pci_notify_cap));
	if (c >= 0)
		pci_cfg_set32(f, (uint32_t)c + VIRTIO_PCI_NOTIFY_CAP_MULT, VIRTIO_PCI_NOTIFY_MULT);
	if (c >= 0)
		c = add_vcap(t, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1,
			     sizeof(struct virtio_pci_cap));
	if (c >= 0 && t->dev->config_len)
		c = add_vcap(t, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
			     t->dev->config_len, sizeof(struct virtio_pci_cap));
	if (c >= 0)
		c = add_vcap(t, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, sizeof(struct virtio_pci_cfg_cap));
	if (c < 0)
		return c;
	/* bar, offset, length and pci_cfg_data are the driver's to write (4.1.4.9). */
	t->cfg_cap = (uint8_t)c;
	f->wmask[c + VIRTIO_PCI_CAP_BAR] = 0xff;
	pci_wmask_set32(f, (uint32_t)c + VIRTIO_PCI_CAP_OFFSET, 0xffffffff);
	pci_wmask_set32(f, (uint32_t)c + VIRTIO_PCI_CAP_LENGTH, 0xffffffff);
	pci_wmask_set32(f, (uint32_t)c + VCAP_DATA, 0xffffffff);
	return 0;
}

static int add_bars(struct virtio_pci *t)
{
	int err = pci_func_set_bar(&t->func, VIRTIO_PCI_BAR, VIRTIO_PCI_BAR_SIZE,
				   PCI_BASE_ADDRESS_MEM_TYPE_64, &bar0_ops, t);
	if (!err)
		err = pci_func_set_bar(&t->func, VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_BAR_SIZE, 0,
				       &msix_ops, t);
	return err;
}

int virtio_pci_init(struct virtio_pci *t, struct virtio_dev *dev,
		    const struct virtio_pci_host *host)
{
	if (dev->num_queues == 0 || dev->num_queues > VIRTIO_DEV_MAX_QUEUES ||
	    dev->config_len > VIRTIO_PCI_DEVICE_MAX)
		return -EINVAL;
	memset(t, 0, sizeof(*t));
	t->dev = dev;
	if (host)
		t->host = *host;
	const struct pci_id id = {
	    .vendor = VIRTIO_PCI_VENDOR,
	    .device = (uint16_t)(VIRTIO_PCI_DEVICE_BASE + dev->device_id),
	    .class_code = virtio_pci_class(dev->device_id),
	    .revision = VIRTIO_PCI_REVISION,
	    .subsys_vendor = VIRTIO_PCI_VENDOR,
	    .subsys_id = VIRTIO_PCI_SUBSYS_ID,
	};
	pci_func_init(&t->func, &id, dev->name, &func_ops, t);
	pci_func_set_intx_pin(&t->func, 1); /* INTA */
	int err = add_bars(t);
	if (!err)
		err = add_caps(t);
	if (!err)
		err = pci_msix_init(&t->msix, &t->func, (uint16_t)(dev->num_queues + 1),
				    VIRTIO_PCI_MSIX_BAR, VIRTIO_PCI_MSIX_TABLE_OFF,
				    VIRTIO_PCI_MSIX_PBA_OFF, send_msi, t);
	if (err)
		return err;
	virtio_pci_common_reset(t);
	dev->irq = (struct virtio_irq){raise_irq, t};
	return 0;
}

/* ---- snapshot ---- */

static void bus_lock(struct virtio_pci *t, bool lock)
{
	if (!t->func.bus)
		return;
	if (lock)
		pthread_mutex_lock(&t->func.bus->lock);
	else
		pthread_mutex_unlock(&t->func.bus->lock);
}

void virtio_pci_save(struct virtio_pci *t, struct virtio_pci_state *s)
{
	memset(s, 0, sizeof(*s));
	bus_lock(t, true);
	memcpy(s->cfg, t->func.cfg, sizeof(s->cfg));
	pthread_mutex_lock(&t->dev->lock);
	pci_msix_save(&t->msix, &s->msix);
	s->device_feature_select = t->device_feature_select;
	s->driver_feature_select = t->driver_feature_select;
	s->queue_select = t->queue_select;
	s->config_vector = t->config_vector;
	memcpy(s->queue_vector, t->queue_vector, sizeof(s->queue_vector));
	s->num_queues = t->dev->num_queues;
	pthread_mutex_unlock(&t->dev->lock);
	bus_lock(t, false);
}

/* What checked_vector() lets a guest store: a table entry or NO_VECTOR. */
static bool vector_ok(const struct virtio_pci *t, uint16_t v)
{
	return v == VIRTIO_MSI_NO_VECTOR || v < t->msix.nvec;
}

static bool fields_ok(const struct virtio_pci *t, const struct virtio_pci_state *s)
{
	if (s->num_queues != t->dev->num_queues || s->reserved[0] || s->reserved[1] ||
	    s->reserved[2] || !vector_ok(t, s->config_vector))
		return false;
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++) {
		if (q < t->dev->num_queues ? !vector_ok(t, s->queue_vector[q])
					   : s->queue_vector[q] != VIRTIO_MSI_NO_VECTOR)
			return false;
	}
	return true;
}

int virtio_pci_restore(struct virtio_pci *t, const struct virtio_pci_state *s)
{
	if (!fields_ok(t, s) || !pci_msix_state_ok(&t->msix, &s->msix))
		return -EINVAL;
	bus_lock(t, true);
	int err = pci_func_restore_config(&t->func, s->cfg); /* bar_moved takes dev->lock */
	pthread_mutex_lock(&t->dev->lock);
	if (!err)
		err = pci_msix_restore(&t->msix, &s->msix);
	if (!err) {
		t->device_feature_select = s->device_feature_select;
		t->driver_feature_select = s->driver_feature_select;
		t->queue_select = s->queue_select;
		t->config_vector = s->config_vector;
		memcpy(t->queue_vector, s->queue_vector, sizeof(t->queue_vector));
		t->intx_disabled = pci_cfg_get16(&t->func, PCI_COMMAND) & PCI_COMMAND_INTX_DISABLE;
	}
	pthread_mutex_unlock(&t->dev->lock);
	bus_lock(t, false);
	return err;
}

void virtio_pci_sync_intx(struct virtio_pci *t)
{
	pthread_mutex_lock(&t->dev->lock);
	t->intx_level = virtio_pci_intx_asserted(t);
	if (t->host.intx)
		t->host.intx(t->host.opaque, t->intx_level);
	pthread_mutex_unlock(&t->dev->lock);
}
