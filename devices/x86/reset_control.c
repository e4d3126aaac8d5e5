/* Reset Control Register (0xCF9): see reset_control.h. */
#include "devices/x86/reset_control.h"

#include <string.h>

#include "base/layout.h"
#include "base/log.h"

static void rc_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct reset_control *r = opaque;
	memset(data, 0xff, len);
	if (offset == 0 && len == 1)
		*(uint8_t *)data = atomic_load(&r->value);
}

static void rc_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct reset_control *r = opaque;
	if (offset != 0 || len != 1)
		return;
	uint8_t v = *(const uint8_t *)data;
	/* RST_CPU is self-clearing on the chipsets: it reads back 0, so every write of it is an
	 * edge. The other bits only choose the kind of reset, and a VM's resets are all alike. */
	atomic_store(&r->value, (uint8_t)(v & (RESET_CONTROL_SYS_RST | RESET_CONTROL_FULL_RST)));
	if (!(v & RESET_CONTROL_RST_CPU))
		return;
	log_info("reset control (port 0x%x): the guest asked for a %s reset (0x%02x)",
		 PORT_RESET_CONTROL, (v & RESET_CONTROL_SYS_RST) ? "hard" : "soft", v);
	vm_control_stop(r->vm, VM_STOP_RESET, VMM_EXIT_OK);
}

const struct io_ops reset_control_ops = {.read = rc_read, .write = rc_write};

void reset_control_init(struct reset_control *r, const struct vm_control *vm)
{
	r->vm = vm;
	atomic_init(&r->value, 0);
}

int reset_control_attach(struct reset_control *r, struct io_bus *pio)
{
	int err =
	    io_bus_register(pio, PORT_RESET_CONTROL, 1, &reset_control_ops, r, "reset-control");
	if (err)
		log_error("reset control: cannot claim port 0x%x: %s", PORT_RESET_CONTROL,
			  strerror(-err));
	return err;
}

void reset_control_detach(struct reset_control *r, struct io_bus *pio)
{
	(void)r;
	io_bus_unregister(pio, PORT_RESET_CONTROL);
}
