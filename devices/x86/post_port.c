#include "devices/x86/post_port.h"

#include <string.h>

#include "base/layout.h"
#include "base/log.h"

static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque;
	(void)offset;
	memset(data, 0xff, len);
}

static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct post_port *p = opaque;
	uint8_t code = *(const uint8_t *)data;

	(void)offset;
	(void)len;
	atomic_store_explicit(&p->last, code, memory_order_relaxed);
	log_debug("POST code 0x%02x", code);
}

static const struct io_ops post_port_ops = {.read = pio_read, .write = pio_write};

int post_port_attach(struct post_port *p, struct io_bus *pio)
{
	int err;

	atomic_init(&p->last, 0);
	err = io_bus_register(pio, PORT_POST, 1, &post_port_ops, p, "post");
	if (err)
		log_error("post: cannot claim port 0x%x: %s", PORT_POST, strerror(-err));
	return err;
}

void post_port_detach(struct post_port *p, struct io_bus *pio)
{
	(void)p;
	io_bus_unregister(pio, PORT_POST);
}
