/* The GICv2m MSI frame (devices/gicv2m.h). It holds no state: the register values follow from
 * the frame's description. */
#include "devices/gicv2m.h"

#include <errno.h>
#include <string.h>

#define TYPER_BASE_SHIFT 16

bool gicv2m_frame_ok(const struct gicv2m_frame *f)
{
	return f->count > 0 && f->count <= GICV2M_MAX_SPIS &&
	       f->first <= GICV2M_MAX_SPIS - f->count && (f->base & (GICV2M_SIZE - 1)) == 0;
}

bool gicv2m_msi_line(const struct gicv2m_frame *f, uint64_t addr, uint32_t data, unsigned *line)
{
	uint32_t first = GICV2M_FIRST_SPI + f->first;
	if (addr != f->base + GICV2M_MSI_SETSPI_NS || data < first || data - first >= f->count)
		return false;
	*line = data - GICV2M_FIRST_SPI;
	return true;
}

static uint32_t reg_read(const struct gicv2m *v, uint64_t offset)
{
	if (offset == GICV2M_MSI_TYPER)
		return (GICV2M_FIRST_SPI + v->frame.first) << TYPER_BASE_SHIFT | v->frame.count;
	return 0; /* MSI_IIDR, and everything else */
}

static void mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	uint32_t val = len == 4 ? reg_read(opaque, offset) : 0;
	memset(data, 0, len);
	memcpy(data, &val, len < 4 ? len : 4);
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct gicv2m *v = opaque;
	uint32_t intid;
	unsigned line;
	if (len != 4 || offset != GICV2M_MSI_SETSPI_NS)
		return;
	memcpy(&intid, data, sizeof(intid));
	if (!gicv2m_msi_line(&v->frame, v->frame.base + offset, intid, &line) || !v->spi.set)
		return;
	v->spi.set(v->spi.opaque, line, 1);
	v->spi.set(v->spi.opaque, line, 0);
}

static const struct io_ops gicv2m_ops = {.read = mmio_read, .write = mmio_write};

int gicv2m_attach(struct gicv2m *v, struct io_bus *mmio, struct gicv2m_frame frame,
		  struct irq_line spi)
{
	if (!gicv2m_frame_ok(&frame))
		return -EINVAL;
	*v = (struct gicv2m){.frame = frame, .spi = spi};
	return io_bus_register(mmio, frame.base, GICV2M_SIZE, &gicv2m_ops, v, "gicv2m");
}

void gicv2m_detach(struct gicv2m *v, struct io_bus *mmio)
{
	io_bus_unregister(mmio, v->frame.base);
}
