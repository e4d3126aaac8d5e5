#include "devices/x86/debug_exit.h"

#include <string.h>

#include "base/log.h"

int debug_exit_status(uint32_t value)
{
	return (int)((((uint64_t)value << 1) | 1) & 0xff);
}

static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0, len);
}

/* QEMU takes the written value as is, whatever the width and whichever of the 4 ports. */
static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct debug_exit *d = opaque;
	const uint8_t *in = data;
	uint32_t value = 0;

	for (uint32_t i = 0; i < len && i < sizeof(value); i++)
		value |= (uint32_t)in[i] << (8 * i);
	log_info("debug-exit: guest wrote 0x%x at port 0x%x, exit status %d", value,
		 (unsigned)(d->base + offset), debug_exit_status(value));
	vm_control_stop(d->vm, VM_STOP_DEBUG_EXIT, debug_exit_status(value));
}

static const struct io_ops debug_exit_ops = {.read = pio_read, .write = pio_write};

int debug_exit_attach(struct debug_exit *d, struct io_bus *pio, uint16_t base,
		      const struct vm_control *vm)
{
	int err;

	d->vm = vm;
	d->base = base;
	err = io_bus_register(pio, base, DEBUG_EXIT_NR_PORTS, &debug_exit_ops, d, "debug-exit");
	if (err)
		log_error("debug-exit: cannot claim ports 0x%x-0x%x: %s", base,
			  base + DEBUG_EXIT_NR_PORTS - 1, strerror(-err));
	return err;
}

void debug_exit_detach(struct debug_exit *d, struct io_bus *pio)
{
	io_bus_unregister(pio, d->base);
}
