#include "devices/x86/debugcon.h"

#include <string.h>

#include "base/log.h"

/* Under d->lock. Control characters other than tab are dropped from the log (a guest's bytes
 * reach a terminal). */
static void flush_line(struct debugcon *d)
{
	d->line[d->len] = '\0';
	log_debug("firmware: %s", d->line);
	if (d->on_line)
		d->on_line(d->opaque, d->line);
	d->lines++;
	d->len = 0;
}

static void put(struct debugcon *d, uint8_t c)
{
	if (c == '\n') {
		flush_line(d);
		return;
	}
	if (c == '\r' || (c < 0x20 && c != '\t') || c == 0x7f)
		return;
	d->line[d->len++] = (char)c;
	if (d->len == DEBUGCON_LINE_MAX)
		flush_line(d);
}

static void pio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	(void)opaque, (void)offset;
	memset(data, DEBUGCON_READBACK, len);
}

static void pio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct debugcon *d = opaque;

	(void)offset;
	pthread_mutex_lock(&d->lock);
	for (uint32_t i = 0; i < len; i++)
		put(d, ((const uint8_t *)data)[i]);
	pthread_mutex_unlock(&d->lock);
}

static const struct io_ops debugcon_ops = {.read = pio_read, .write = pio_write};

int debugcon_attach(struct debugcon *d, struct io_bus *pio)
{
	int err;

	pthread_mutex_init(&d->lock, NULL);
	d->len = 0;
	d->lines = 0;
	err = io_bus_register(pio, PORT_DEBUGCON, 1, &debugcon_ops, d, "debugcon");
	if (err)
		log_error("debugcon: cannot claim port 0x%x: %s", PORT_DEBUGCON, strerror(-err));
	return err;
}

void debugcon_detach(struct debugcon *d, struct io_bus *pio)
{
	io_bus_unregister(pio, PORT_DEBUGCON);
	pthread_mutex_lock(&d->lock);
	if (d->len)
		flush_line(d);
	pthread_mutex_unlock(&d->lock);
	pthread_mutex_destroy(&d->lock);
}
