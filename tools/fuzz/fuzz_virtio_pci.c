/* libFuzzer target: the modern virtio-pci transport (virtio/transport/virtio_pci.c, pci_common.c)
 * with MSI-X (devices/pci/pci_msix.c) on PCI bus 0 (devices/pci/pci_bus.c, pci_func.c), KVM-free:
 * the host callbacks are recorders. An echo device (1-3 queues, each chain's readable bytes copied
 * into its writable bytes) sits behind it, over fake guest RAM with the fuzz_drv.h driver on its
 * rings. The input is a program of: the legal bring-up through the common configuration
 * (3.1.1, 4.1.4.3; MSI-X on or off), raw BAR accesses of any offset and width (common config,
 * ISR, device config, notify, MSI-X table and PBA), configuration space accesses through
 * mechanism #1 and ECAM (command register toggles, BAR moves and sizing, MSI-X Enable/Mask,
 * the PCI configuration access capability window), status writes and resets in the middle of
 * I/O, notifies, ring operations, the per-vector eventfds a vhost-user device asks for
 * (virtio_pci_set_irqfds(), on for some inputs, a route that fails on demand), and snapshots of
 * the function (virtio_pci_save(), up to 3 bytes changed, virtio_pci_restore() into the same
 * function or a new one on a new bus, virtio_pci_sync_intx()). The device ID is the echo's own
 * or net, block or console (their class codes).
 *
 * Checks: the notification area the host was told about is where BAR 0 decodes; the INTx level
 * the host saw is what the transport says it should be; MSI messages only for existing,
 * enabled, unmasked vectors; ISR only has bits 0-1; a reset sets every vector to NO_VECTOR and
 * clears status and ISR; identity registers never change; queues of a running device are
 * active; a queue's eventfd is handed out only for an enabled, unmasked vector of the table,
 * and is that vector's; a refused restore changes nothing, an accepted one saves again as the
 * state it was given (but the status register, which is not restored). */
#include <errno.h>
#include <linux/pci_regs.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_pci.h>
#include <linux/virtio_ring.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/pci/pci.h"
#include "devices/pci/pci_test.h"
#include "tools/fuzz/fuzz_drv.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/core/device.h"
#include "virtio/transport/virtio_pci.h"
#include "virtio/transport/virtio_pci_test.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_OPS	  256
#define RAM_GPA	  0x100000ull
#define RAM_SIZE  (64 * 1024ull)
#define RING_SPAN 2048ull
#define HEAP_OFF  (VIRTIO_DEV_MAX_QUEUES * RING_SPAN)
#define SLOT	  3
#define DEVFN	  PCI_DEVFN(SLOT, 0)
#define ECHO_ID	  42
#define CONF1	  0xcf8
#define IRQFD_FD  1000 /* the fake eventfd of vector v: IRQFD_FD + v */

struct echo {
	struct virtio_dev dev;
	uint8_t config[12];
	struct vq_chain chain;
	uint8_t buf[512];
};

struct ctx {
	struct fz_in in;
	struct fz_mem m;
	struct echo e;
	struct virtio_pci t;
	struct io_bus mmio, pio;
	struct pci_bus bus;
	struct fz_drv drv[VIRTIO_DEV_MAX_QUEUES];
	uint16_t qsize;
	uint32_t device_id;
	bool irqfds;	    /* virtio_pci_set_irqfds() was called */
	bool irqfd_refuses; /* the VMM cannot route a vector now: vector_irqfd() answers -1 */
	bool snapshotted;   /* at most one snapshot per input (a new bus is costly) */
	/* what the host side saw */
	unsigned msis;
	int intx_level;
	bool syncing; /* virtio_pci_sync_intx() tells the level whatever it was */
	bool notify_on;
	uint64_t notify_base;
};

static struct ctx c;

/* ---- the echo device ---- */

static void echo_notify(struct virtio_dev *dev, uint16_t q)
{
	struct echo *e = dev->priv;
	struct vq_chain *ch = &e->chain;
	int r;
	while ((r = vq_pop(&dev->vqs[q], dev->mem, ch)) == 1) {
		uint32_t n = vq_chain_readable(ch);
		n = n < sizeof(e->buf) ? n : sizeof(e->buf);
		n = n < vq_chain_writable(ch) ? n : vq_chain_writable(ch);
		FZ_ASSERT(vq_chain_read(ch, dev->mem, e->buf, n) == 0, "echo read");
		FZ_ASSERT(vq_chain_write(ch, dev->mem, e->buf, n) == 0, "echo write");
		if (vq_push(&dev->vqs[q], dev->mem, ch))
			break;
	}
	if (r < 0)
		virtio_dev_fail(dev, vq_strerror(r));
	virtio_dev_notify_used(dev, q);
}

static void echo_config_write(struct virtio_dev *dev, uint32_t offset, const void *data,
			      uint32_t len)
{
	struct echo *e = dev->priv;
	FZ_ASSERT(offset < sizeof(e->config) && len <= sizeof(e->config) - offset,
		  "config write [%u, +%u) past the config space", offset, len);
	memcpy(e->config + offset, data, len);
	virtio_dev_config_changed(dev);
}

/* What a device served elsewhere (vhost-user) does when the transport says the answer may have
 * changed: asks for every queue's eventfd again. dev->lock held. */
static void echo_irqfd_changed(struct virtio_dev *dev)
{
	for (uint16_t q = 0; q <= dev->num_queues; q++) {
		int fd = virtio_dev_queue_irqfd(dev, q);
		FZ_ASSERT(fd == -1 || (q < dev->num_queues && fd == IRQFD_FD + c.t.queue_vector[q]),
			  "queue %u got eventfd %d (vector %u)", q, fd,
			  q < dev->num_queues ? c.t.queue_vector[q] : 0);
	}
}

static const struct virtio_dev_ops echo_ops = {
    .queue_notify = echo_notify,
    .config_write = echo_config_write,
    .irqfd_changed = echo_irqfd_changed,
};

/* ---- host recorders (called with dev->lock held) ---- */

static void rec_msi(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct ctx *x = opaque;
	(void)addr, (void)data;
	FZ_ASSERT(vector < x->t.msix.nvec, "MSI for vector %u of %u", vector, x->t.msix.nvec);
	FZ_ASSERT(pci_msix_enabled(&x->t.msix) && !pci_msix_masked(&x->t.msix, vector),
		  "MSI for vector %u while disabled or masked", vector);
	x->msis++;
}

static void rec_intx(void *opaque, int level)
{
	struct ctx *x = opaque;
	FZ_ASSERT(x->syncing || level != x->intx_level, "INTx 'changed' to the same level %d",
		  level);
	x->intx_level = level;
}

/* The VMM's vector_irqfd (vm_pci.c): the transport asks only for a vector the guest would take
 * a message on now. */
static int rec_vector_irqfd(void *opaque, uint16_t vector, uint64_t addr, uint32_t data)
{
	struct ctx *x = opaque;
	const uint32_t *e = x->t.msix.table[vector < x->t.msix.nvec ? vector : 0];
	FZ_ASSERT(vector < x->t.msix.nvec, "eventfd for vector %u of %u", vector, x->t.msix.nvec);
	FZ_ASSERT(pci_msix_enabled(&x->t.msix) && !pci_msix_masked(&x->t.msix, vector),
		  "eventfd for vector %u while disabled or masked", vector);
	FZ_ASSERT(addr == (e[0] | (uint64_t)e[1] << 32) && data == e[2],
		  "eventfd for vector %u with another message", vector);
	return x->irqfd_refuses ? -1 : IRQFD_FD + vector;
}

static void rec_moved(void *opaque, bool was_on, uint64_t old, bool on, uint64_t base)
{
	struct ctx *x = opaque;
	FZ_ASSERT(was_on == x->notify_on && (!was_on || old == x->notify_base),
		  "notify moved from %d/%#llx, host had %d/%#llx", was_on, (unsigned long long)old,
		  x->notify_on, (unsigned long long)x->notify_base);
	x->notify_on = on;
	x->notify_base = base;
}

/* ---- accesses ---- */

static uint64_t bar_base(int bar)
{
	return pci_func_bar_addr(&c.t.func, bar);
}

static void bar0_wr(uint64_t off, uint64_t v, uint32_t len)
{
	io_bus_write(&c.mmio, bar_base(VIRTIO_PCI_BAR) + off, &v, len);
}

static uint64_t bar0_rd(uint64_t off, uint32_t len)
{
	uint64_t v = 0;
	io_bus_read(&c.mmio, bar_base(VIRTIO_PCI_BAR) + off, &v, len);
	return v;
}

static void cfg_wr(uint32_t off, uint32_t v, uint32_t len)
{
	pci_bus_config_write(&c.bus, 0, DEVFN, off, &v, len);
}

static uint32_t pick_width(void)
{
	static const uint32_t widths[] = {1, 2, 4, 8, 4, 2, 4, 1};
	return widths[fz_u8(&c.in) % 8];
}

/* ---- operations ---- */

static void layout_queues(bool packed)
{
	for (uint16_t q = 0; q < c.e.dev.num_queues; q++) {
		fz_drv_layout(&c.drv[q], &c.m, packed, c.qsize, RAM_GPA + q * RING_SPAN);
		c.drv[q].heap_lo = RAM_GPA + HEAP_OFF;
	}
}

static void program_queue(uint16_t q, bool halves, uint16_t vector)
{
	const struct fz_drv *d = &c.drv[q];
	const uint32_t addr_off[] = {VIRTIO_PCI_COMMON_Q_DESCLO, VIRTIO_PCI_COMMON_Q_AVAILLO,
				     VIRTIO_PCI_COMMON_Q_USEDLO};
	const uint64_t addr[] = {d->desc, d->driver, d->device};
	bar0_wr(VIRTIO_PCI_COMMON_Q_SELECT, q, 2);
	bar0_wr(VIRTIO_PCI_COMMON_Q_SIZE, d->size, 2);
	for (int i = 0; i < 3; i++) {
		if (halves) {
			bar0_wr(addr_off[i], (uint32_t)addr[i], 4);
			bar0_wr(addr_off[i] + 4, addr[i] >> 32, 4);
		} else {
			bar0_wr(addr_off[i], addr[i], 8);
		}
	}
	bar0_wr(VIRTIO_PCI_COMMON_Q_MSIX, vector, 2);
	bar0_wr(VIRTIO_PCI_COMMON_Q_ENABLE, 1, 2);
}

/* MSI-X on with every vector unmasked, or off. */
static void setup_msix(bool on)
{
	uint8_t cap = c.t.msix.cap;
	for (uint16_t v = 0; on && v < c.t.msix.nvec; v++) {
		uint64_t e = bar_base(VIRTIO_PCI_MSIX_BAR) + 16ull * v;
		uint32_t w[4] = {0xfee00000u, 0, 0x40u + v, 0};
		for (int i = 0; i < 4; i++)
			io_bus_write(&c.mmio, e + 4 * i, &w[i], 4);
	}
	cfg_wr(cap + PCI_MSIX_FLAGS, on ? PCI_MSIX_FLAGS_ENABLE : 0, 2);
}

/* 3.1.1 through the common configuration. */
static void op_bring_up(void)
{
	uint64_t offered = 0, mask = fz_u64(&c.in) | 1ull << VIRTIO_F_VERSION_1;
	uint8_t how = fz_u8(&c.in);
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, 0, 1);
	setup_msix(how & 1);
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE, 1);
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER, 1);
	for (uint32_t sel = 0; sel < 2; sel++) {
		bar0_wr(VIRTIO_PCI_COMMON_DFSELECT, sel, 4);
		offered |= bar0_rd(VIRTIO_PCI_COMMON_DF, 4) << (32 * sel);
	}
	uint64_t f = offered & mask;
	for (uint32_t sel = 0; sel < 2; sel++) {
		bar0_wr(VIRTIO_PCI_COMMON_GFSELECT, sel, 4);
		bar0_wr(VIRTIO_PCI_COMMON_GF, (uint32_t)(f >> (32 * sel)), 4);
	}
	uint8_t s = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, s | VIRTIO_CONFIG_S_FEATURES_OK, 1);
	if (!(bar0_rd(VIRTIO_PCI_COMMON_STATUS, 1) & VIRTIO_CONFIG_S_FEATURES_OK))
		return;
	layout_queues(f & 1ull << VIRTIO_F_RING_PACKED);
	bar0_wr(VIRTIO_PCI_COMMON_MSIX, how & 1 ? 0 : VIRTIO_MSI_NO_VECTOR, 2);
	for (uint16_t q = 0; q < c.e.dev.num_queues; q++)
		program_queue(q, how & 2, how & 1 ? (uint16_t)(q + 1) : VIRTIO_MSI_NO_VECTOR);
	bar0_wr(VIRTIO_PCI_COMMON_STATUS,
		s | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK, 1);
	if (c.t.func.bars[VIRTIO_PCI_BAR].mapped) /* else the writes went nowhere */
		FZ_ASSERT(virtio_dev_running(&c.e.dev) ||
			      (c.e.dev.status & VIRTIO_CONFIG_S_NEEDS_RESET),
			  "legal bring-up did not start the device");
}

/* An offset in BAR 0: usually a register, sometimes anywhere. */
static uint64_t pick_bar0_offset(void)
{
	uint8_t mode = fz_u8(&c.in);
	switch (mode % 6) {
	case 0:
		return fz_u8(&c.in) % VIRTIO_PCI_COMMON_LEN;
	case 1:
		return VIRTIO_PCI_ISR_OFF + fz_u8(&c.in) % 4;
	case 2:
		return VIRTIO_PCI_DEVICE_OFF + fz_u8(&c.in) % 32;
	case 3:
		return VIRTIO_PCI_NOTIFY_OFF + fz_u8(&c.in) % 64;
	default:
		return fz_u16(&c.in) % (VIRTIO_PCI_BAR_SIZE + 16);
	}
}

static void op_bar0(bool write)
{
	uint64_t off = pick_bar0_offset();
	uint32_t len = pick_width();
	if (write) {
		bar0_wr(off, fz_u64(&c.in), len);
		return;
	}
	uint64_t v = bar0_rd(off, len);
	if (off == VIRTIO_PCI_COMMON_NUMQ && len == 2 && c.t.func.bars[0].mapped)
		FZ_ASSERT(v == c.e.dev.num_queues, "num_queues read %llu", (unsigned long long)v);
	if (off == VIRTIO_PCI_ISR_OFF && len == 1 && c.t.func.bars[0].mapped)
		FZ_ASSERT(c.e.dev.isr == 0, "ISR %#x after a read", c.e.dev.isr);
}

static void op_msix_bar(void)
{
	uint8_t mode = fz_u8(&c.in);
	uint64_t off = mode & 1 ? VIRTIO_PCI_MSIX_PBA_OFF + fz_u8(&c.in) % 16
				: fz_u16(&c.in) % VIRTIO_PCI_MSIX_BAR_SIZE;
	uint32_t len = pick_width();
	uint64_t v = fz_u64(&c.in), a = bar_base(VIRTIO_PCI_MSIX_BAR) + off;
	if (mode & 2)
		io_bus_write(&c.mmio, a, &v, len);
	else
		io_bus_read(&c.mmio, a, &v, len);
}

/* A configuration access, through conf1 or ECAM, to our function or any other. */
static void config_access(uint32_t off, uint32_t v, uint32_t len, bool write, uint8_t path)
{
	uint8_t devfn = path & 8 ? fz_u8(&c.in) : DEVFN;
	if (path & 1) { /* mechanism #1 */
		uint32_t latch = 0x80000000u | (uint32_t)devfn << 8 | (off & 0xfc);
		io_bus_write(&c.pio, CONF1, &latch, 4);
		uint64_t port = CONF1 + 4 + (off & 3);
		if (write)
			io_bus_write(&c.pio, port, &v, len);
		else
			io_bus_read(&c.pio, port, &v, len);
		return;
	}
	uint64_t a = PCI_ECAM_BASE + ((uint64_t)devfn << 12) + off;
	if (write)
		io_bus_write(&c.mmio, a, &v, len);
	else
		io_bus_read(&c.mmio, a, &v, len);
}

static void op_config(void)
{
	uint8_t what = fz_u8(&c.in), path = fz_u8(&c.in);
	uint32_t off, v, len = 4;
	switch (what % 8) {
	case 0: /* command: memory decoding and INTx disable on and off */
		off = PCI_COMMAND, len = 2;
		v = fz_u16(&c.in) &
		    (PCI_COMMAND_MEMORY | PCI_COMMAND_INTX_DISABLE | PCI_COMMAND_MASTER);
		break;
	case 1: /* move BAR 0 (low or high half) or BAR 2, or size it */
		off = PCI_BASE_ADDRESS_0 + 4 * (fz_u8(&c.in) % 3);
		v = fz_u8(&c.in) & 1 ? 0xffffffffu
				     : (uint32_t)(PCI_MMIO32_BASE + (fz_u16(&c.in) << 12));
		if (off == PCI_BASE_ADDRESS_1)
			v = fz_u8(&c.in) % 4 ? 0 : fz_u32(&c.in);
		break;
	case 2: /* MSI-X Message Control */
		off = c.t.msix.cap + PCI_MSIX_FLAGS, len = 2;
		v = fz_u16(&c.in);
		break;
	case 3: { /* the PCI configuration access window: bar, offset, length, then data */
		uint8_t cap = c.t.cfg_cap;
		uint32_t win[3] = {fz_u8(&c.in) % 4 ? VIRTIO_PCI_BAR : fz_u8(&c.in),
				   (uint32_t)pick_bar0_offset(), pick_width()};
		if (fz_u8(&c.in) % 4 == 0)
			win[1] = fz_u32(&c.in), win[2] = fz_u32(&c.in);
		cfg_wr(cap + VIRTIO_PCI_CAP_BAR, win[0], 1);
		cfg_wr(cap + VIRTIO_PCI_CAP_OFFSET, win[1], 4);
		cfg_wr(cap + VIRTIO_PCI_CAP_LENGTH, win[2], 4);
		off = cap + 16, v = fz_u32(&c.in);
		break;
	}
	default: /* anywhere in the 4 KiB, any width */
		off = fz_u8(&c.in) % 2 ? fz_u8(&c.in) : fz_u16(&c.in) % PCI_ECAM_FN_SPACE;
		len = pick_width();
		v = fz_u32(&c.in);
		break;
	}
	config_access(off, v, len > 4 ? 4 : len, what & 0x80, path);
}

static void op_status(void)
{
	uint8_t s = fz_u8(&c.in);
	s = fz_u8(&c.in) % 4 ? s : 0;
	bar0_wr(VIRTIO_PCI_COMMON_STATUS, s, 1);
	if (s || !c.t.func.bars[VIRTIO_PCI_BAR].mapped)
		return;
	FZ_ASSERT(c.e.dev.status == 0 && c.e.dev.isr == 0, "reset left status %#x ISR %#x",
		  c.e.dev.status, c.e.dev.isr);
	FZ_ASSERT(c.t.config_vector == VIRTIO_MSI_NO_VECTOR, "reset kept the config vector");
	for (int q = 0; q < VIRTIO_DEV_MAX_QUEUES; q++)
		FZ_ASSERT(c.t.queue_vector[q] == VIRTIO_MSI_NO_VECTOR, "reset kept vector of %d",
			  q);
}

static void notify(uint16_t q)
{
	bar0_wr(VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * (uint64_t)q, q, 2);
}

static void op_ring(unsigned op)
{
	uint16_t q = fz_u8(&c.in) % c.e.dev.num_queues;
	fz_drv_op(&c.drv[q], &c.in, op);
	if (fz_u8(&c.in) & 1)
		notify(q);
}

static void op_wild(void)
{
	uint64_t a = PCI_MMIO32_BASE + (fz_u32(&c.in) % (1u << 24));
	uint64_t v = fz_u64(&c.in);
	uint32_t len = pick_width();
	if (fz_bool(&c.in))
		io_bus_write(&c.mmio, a, &v, len);
	else
		io_bus_read(&c.mmio, a, &v, len);
}

/* A queue's eventfd asked for at any moment (q one past the queues too), or the VMM's routing
 * turned off or on (the next ask gets -1 or the eventfd). */
static void op_irqfd(void)
{
	uint8_t b = fz_u8(&c.in);
	if (b & 0x80) {
		c.irqfd_refuses = b & 1;
		return;
	}
	uint16_t q = b % (c.e.dev.num_queues + 1);
	pthread_mutex_lock(&c.e.dev.lock);
	int fd = virtio_dev_queue_irqfd(&c.e.dev, q);
	uint16_t v = q < c.e.dev.num_queues ? c.t.queue_vector[q] : VIRTIO_MSI_NO_VECTOR;
	bool deliverable = c.irqfds && v < c.t.msix.nvec && pci_msix_enabled(&c.t.msix) &&
			   !pci_msix_masked(&c.t.msix, v);
	pthread_mutex_unlock(&c.e.dev.lock);
	FZ_ASSERT(fd == (deliverable && !c.irqfd_refuses ? IRQFD_FD + v : -1),
		  "queue %u (vector %u, deliverable %d) got eventfd %d", q, v, deliverable, fd);
}

static const struct virtio_pci_host host_recorders = {rec_msi, rec_intx, rec_moved, &c};

static int attach_transport(void);
static void detach_transport(void);

/* The end of struct virtio_pci_state's last field (its size rounds up past it). */
#define STATE_END (offsetof(struct virtio_pci_state, reserved) + 3 * sizeof(uint16_t))

/* Up to 3 bytes of the saved state changed (a state file is untrusted): anywhere, or in the
 * fields a restore checks (vectors, queue count, the MSI-X table, BAR 0's address). */
static void alter_state(struct virtio_pci_state *s)
{
	unsigned n = fz_u8(&c.in) % 4 == 0 ? 1 + fz_u8(&c.in) % 3 : 0;
	while (n--) {
		uint8_t where = fz_u8(&c.in), v = fz_u8(&c.in);
		uint16_t at = fz_u16(&c.in);
		uint8_t *p;
		switch (where % 6) {
		case 0:
			p = (uint8_t *)&s->config_vector + at % 2;
			break;
		case 1:
			p = (uint8_t *)s->queue_vector + at % sizeof(s->queue_vector);
			break;
		case 2:
			p = (uint8_t *)s->msix.table + at % sizeof(s->msix.table);
			break;
		case 3:
			p = &s->cfg[PCI_COMMAND + at % (PCI_BASE_ADDRESS_2 + 4 - PCI_COMMAND)];
			break;
		default: /* any field's byte; not the trailing padding, which is no state */
			p = (uint8_t *)s + at % STATE_END;
			break;
		}
		*p = v;
	}
}

static bool same_state(const struct virtio_pci_state *a, const struct virtio_pci_state *b)
{
	struct virtio_pci_state x = *b; /* the status register is not restored */
	memcpy(&x.cfg[PCI_STATUS], &a->cfg[PCI_STATUS], 2);
	return !memcmp(a, &x, sizeof(x));
}

/* What the VMM does for a snapshot (vm_snapshot_devices.c): the function saved, and restored into
 * this one or, as after a restart, into a new function on a new bus, then INTx synced. A
 * refused state changes nothing; an accepted one saves again as it was given. */
static void op_snapshot(void)
{
	static struct virtio_pci_state saved, before, after;
	uint8_t mode = fz_u8(&c.in);
	if (c.snapshotted)
		return;
	c.snapshotted = true;
	virtio_pci_save(&c.t, &saved);
	before = saved; /* as saved, to tell whether alter_state() changed it */
	alter_state(&saved);
	bool altered = memcmp(&before, &saved, sizeof(saved)) != 0;
	if (mode & 1) {
		detach_transport();
		FZ_ASSERT(attach_transport() == 0, "a second transport for the same device failed");
	}
	virtio_pci_save(&c.t, &before);
	int r = virtio_pci_restore(&c.t, &saved);
	virtio_pci_save(&c.t, &after);
	FZ_ASSERT(r == 0 || r == -EINVAL, "restore returned %d", r);
	FZ_ASSERT(r || same_state(&after, &saved), "an accepted state saved again differs");
	FZ_ASSERT(!r || !memcmp(&before, &after, sizeof(after)), "a refused restore changed state");
	FZ_ASSERT(r == 0 || altered, "an unaltered state was refused");
	c.syncing = true;
	virtio_pci_sync_intx(&c.t);
	c.syncing = false;
}

/* MSI-X on or off (6 in 8), an eventfd operation, or a snapshot. */
static void op_misc(void)
{
	uint8_t b = fz_u8(&c.in);
	if (b % 8 == 6)
		op_irqfd();
	else if (b % 8 == 7)
		op_snapshot();
	else
		setup_msix(b & 1);
}

/* ---- invariants ---- */

static void check_state(void)
{
	struct virtio_dev *dev = &c.e.dev;
	const struct pci_bar *b0 = &c.t.func.bars[VIRTIO_PCI_BAR];
	FZ_ASSERT(c.notify_on == b0->mapped &&
		      (!b0->mapped || c.notify_base == b0->addr + VIRTIO_PCI_NOTIFY_OFF),
		  "host notify area %d/%#llx, BAR 0 %d/%#llx", c.notify_on,
		  (unsigned long long)c.notify_base, b0->mapped, (unsigned long long)b0->addr);
	pthread_mutex_lock(&dev->lock);
	FZ_ASSERT(c.intx_level == virtio_pci_intx_asserted(&c.t), "INTx level %d, should be %d",
		  c.intx_level, virtio_pci_intx_asserted(&c.t));
	FZ_ASSERT(!(dev->isr & ~3u), "ISR bits %#x", dev->isr);
	for (uint16_t q = 0; q < dev->num_queues; q++) {
		const struct virtqueue *vq = &dev->vqs[q];
		FZ_ASSERT(!vq_is_active(vq) || vq->inflight <= vq->size, "queue %u inflight", q);
		FZ_ASSERT(!virtio_dev_running(dev) || !dev->queue_ready[q] || vq_is_active(vq),
			  "running with ready queue %u inactive", q);
	}
	pthread_mutex_unlock(&dev->lock);
	const struct pci_func *f = &c.t.func;
	FZ_ASSERT(pci_cfg_get16(f, PCI_VENDOR_ID) == VIRTIO_PCI_VENDOR &&
		      pci_cfg_get16(f, PCI_DEVICE_ID) == VIRTIO_PCI_DEVICE_BASE + c.device_id &&
		      f->cfg[PCI_CAPABILITY_LIST] == PCI_CAP_START &&
		      (pci_cfg_get32(f, PCI_CLASS_REVISION) >> 8) == virtio_pci_class(c.device_id),
		  "identity changed");
	for (int bar = 0; bar < PCI_NUM_BARS; bar++)
		FZ_ASSERT(!f->bars[bar].mapped || f->bars[bar].addr % f->bars[bar].size == 0,
			  "BAR %d mapped misaligned", bar);
}

/* ---- setup ---- */

/* A transport refuses a device it cannot describe (no queue, too many, a config space larger
 * than its window), before touching anything. */
static void check_refusals(uint8_t how)
{
	static struct virtio_pci t;
	struct virtio_dev d = c.e.dev;
	switch (how % 3) {
	case 0:
		d.num_queues = 0;
		break;
	case 1:
		d.num_queues = VIRTIO_DEV_MAX_QUEUES + 1;
		break;
	default:
		d.config_len = VIRTIO_PCI_DEVICE_MAX + 1;
		break;
	}
	FZ_ASSERT(virtio_pci_init(&t, &d, &host_recorders) == -EINVAL, "bad device accepted");
}

/* The transport for c.e.dev on a bus of its own, and the bus's access paths. */
static int attach_transport(void)
{
	c.intx_level = 0;
	c.notify_on = false;
	c.notify_base = 0;
	if (virtio_pci_init(&c.t, &c.e.dev, &host_recorders))
		return -1;
	if (c.irqfds) {
		const struct virtio_pci_irqfds irqfds = {rec_vector_irqfd, &c};
		virtio_pci_set_irqfds(&c.t, &irqfds);
	}
	io_bus_init(&c.mmio, "mmio");
	io_bus_init(&c.pio, "pio");
	if (pci_bus_init(&c.bus, &c.mmio))
		return -1;
	if (io_bus_register(&c.pio, CONF1, 8, &pci_conf1_ops, &c.bus, "pci-conf1") ||
	    io_bus_register(&c.mmio, PCI_ECAM_BASE, PCI_ECAM_SIZE, &pci_ecam_ops, &c.bus,
			    "pci-ecam"))
		return -1;
	return pci_bus_add(&c.bus, &c.t.func, SLOT) == SLOT ? 0 : -1;
}

static void detach_transport(void)
{
	pci_bus_destroy(&c.bus);
	io_bus_destroy(&c.mmio);
	io_bus_destroy(&c.pio);
}

static int setup(uint8_t cfg)
{
	static const uint32_t ids[] = {ECHO_ID, VIRTIO_ID_NET, VIRTIO_ID_BLOCK, VIRTIO_ID_CONSOLE};
	uint8_t b = fz_u8(&c.in);
	uint8_t nq = 1 + b % 3;
	c.device_id = ids[(b >> 2) % 4];
	c.irqfds = b & 0x10;
	c.e.dev = (struct virtio_dev){
	    .name = "echo",
	    .device_id = c.device_id,
	    .host_features = 1ull << VIRTIO_RING_F_EVENT_IDX | 1ull << VIRTIO_RING_F_INDIRECT_DESC |
			     1ull << VIRTIO_F_RING_PACKED,
	    .num_queues = nq,
	    .queue_max_size = 64,
	    .config = c.e.config,
	    .config_len = cfg & 0x20 ? 0 : sizeof(c.e.config),
	    .ops = &echo_ops,
	    .priv = &c.e,
	};
	if (b & 0x20)
		check_refusals(b >> 6);
	if (virtio_dev_init(&c.e.dev, &c.m.mem))
		return -1;
	return attach_transport();
}

static void teardown(void)
{
	detach_transport();
	if (c.e.dev.initialized)
		virtio_dev_destroy(&c.e.dev);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	memset(&c, 0, sizeof(c));
	c.m.no_shadow = true;
	c.in = fz_in_make(data, size);
	uint8_t cfg = fz_u8(&c.in);
	c.qsize = (uint16_t)(1u << ((cfg & 7) % 6));
	if (fz_mem_add(&c.m, RAM_GPA, RAM_SIZE, 0))
		goto out;
	if (setup(cfg))
		goto out;
	layout_queues(false);
	if (cfg & 0x40)
		op_bring_up();
	bool trace = getenv("FUZZ_TRACE");
	for (unsigned ops = 0; ops < MAX_OPS && !fz_done(&c.in); ops++) {
		/* Serve the kicks of the previous op, as the I/O thread would. */
		virtio_dev_process_pending(&c.e.dev);
		unsigned op = fz_u8(&c.in) % (FZ_DRV_NOPS + 9);
		if (trace)
			fprintf(stderr, "fuzz: op %u at byte %zu, status %#x\n", op, c.in.pos,
				c.e.dev.status);
		if (op < FZ_DRV_NOPS)
			op_ring(op);
		else if (op == FZ_DRV_NOPS)
			op_bring_up();
		else if (op == FZ_DRV_NOPS + 1)
			op_bar0(false);
		else if (op == FZ_DRV_NOPS + 2)
			op_bar0(true);
		else if (op == FZ_DRV_NOPS + 3)
			op_msix_bar();
		else if (op == FZ_DRV_NOPS + 4)
			op_config();
		else if (op == FZ_DRV_NOPS + 5)
			op_status();
		else if (op == FZ_DRV_NOPS + 6)
			notify(fz_u8(&c.in) % 4 ? fz_u8(&c.in) % c.e.dev.num_queues
						: fz_u16(&c.in));
		else if (op == FZ_DRV_NOPS + 7)
			op_wild();
		else
			op_misc();
		check_state();
	}
out:
	teardown();
	fz_mem_free(&c.m);
	return 0;
}
