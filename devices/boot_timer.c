#include "devices/boot_timer.h"

#include <string.h>

#include "base/layout.h"
#include "base/log.h"
#include "base/stats.h"

static void timer_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

static void timer_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct boot_timer *t = opaque;
	uint64_t us;

	if (offset != 0 || len == 0 || *(const uint8_t *)data != BOOT_TIMER_MAGIC)
		return;
	__atomic_add_fetch(&t->hits, 1, __ATOMIC_RELAXED);
	us = stats_boot_timer_hit();
	log_info("boot-timer: guest boot time %llu us (%llu ms) since VMM process start",
		 (unsigned long long)us, (unsigned long long)(us / 1000));
}

static const struct io_ops boot_timer_ops = {.read = timer_read, .write = timer_write};

int boot_timer_attach(struct boot_timer *t, struct io_bus *mmio, struct io_bus *pio, uint16_t port)
{
	int err = 0;

	memset(t, 0, sizeof(*t));
	if (mmio) {
		err = io_bus_register(mmio, BOOT_TIMER_MMIO_BASE, BOOT_TIMER_MMIO_SIZE,
				      &boot_timer_ops, t, "boot-timer");
		if (err) {
			log_error("boot-timer: cannot claim MMIO 0x%llx: %s",
				  (unsigned long long)BOOT_TIMER_MMIO_BASE, strerror(-err));
			return err;
		}
		t->mmio_attached = true;
	}
	if (pio) {
		err = io_bus_register(pio, port, 1, &boot_timer_ops, t, "boot-timer");
		if (err) {
			log_error("boot-timer: cannot claim port 0x%x: %s", port, strerror(-err));
			boot_timer_detach(t, mmio, NULL);
			return err;
		}
		t->pio_attached = true;
		t->port = port;
	}
	return 0;
}

void boot_timer_detach(struct boot_timer *t, struct io_bus *mmio, struct io_bus *pio)
{
	if (mmio && t->mmio_attached)
		io_bus_unregister(mmio, BOOT_TIMER_MMIO_BASE);
	if (pio && t->pio_attached)
		io_bus_unregister(pio, t->port);
	if (mmio)
		t->mmio_attached = false;
	if (pio)
		t->pio_attached = false;
}
