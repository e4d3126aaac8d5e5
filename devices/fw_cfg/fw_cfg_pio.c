/* fw_cfg on x86's I/O ports, as QEMU's pc machines place it: the selector at 0x510 (16-bit,
 * little-endian), the data byte at 0x511, the DMA address at 0x514-0x51b (big-endian). */
#include <string.h>

#include "base/log.h"
#include "devices/fw_cfg/fw_cfg.h"

static void ctl_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct fw_cfg *c = opaque;
	uint8_t *out = data;

	/* The selector is write-only (reads 0); each byte read at 0x511 is the next data byte. */
	memset(data, 0, len);
	for (uint32_t i = 0; i < len; i++)
		if (offset + i == 1)
			out[i] = fw_cfg_data_read(c);
}

static void ctl_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	const uint8_t *in = data;

	/* Data writes are ignored (QEMU 2.4+: only DMA writes an item). */
	if (offset != 0)
		return;
	fw_cfg_select(opaque, len >= 2 ? (uint16_t)(in[0] | in[1] << 8) : in[0]);
}

static void dma_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	fw_cfg_dma_read(opaque, offset, data, len);
}

static void dma_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	fw_cfg_dma_write(opaque, offset, data, len);
}

static const struct io_ops ctl_ops = {.read = ctl_read, .write = ctl_write};
static const struct io_ops dma_ops = {.read = dma_read, .write = dma_write};

int fw_cfg_attach_pio(struct fw_cfg *c, struct io_bus *pio)
{
	int err = io_bus_register(pio, FW_CFG_PORT_SEL, 2, &ctl_ops, c, "fw_cfg");

	if (!err && c->mem) {
		err = io_bus_register(pio, FW_CFG_PORT_DMA, 8, &dma_ops, c, "fw_cfg-dma");
		if (err)
			io_bus_unregister(pio, FW_CFG_PORT_SEL);
	}
	if (err)
		log_error("fw_cfg: cannot claim ports 0x%x-0x%x: %s", FW_CFG_PORT_SEL,
			  FW_CFG_PORT_DMA + 7, strerror(-err));
	return err;
}

void fw_cfg_detach_pio(struct fw_cfg *c, struct io_bus *pio)
{
	io_bus_unregister(pio, FW_CFG_PORT_SEL);
	if (c->mem)
		io_bus_unregister(pio, FW_CFG_PORT_DMA);
}
