/* arm64's PCI interrupts (pci.h): MSIs through the ITS the host bridge's msi-map names
 * (its.h: the message is GITS_TRANSLATER and the vector as EventID, the requester ID as the
 * DeviceID) or through the GICv2m frame its msi-parent names (v2m.h: an SPI per vector), INTx
 * through its interrupt-map to a level GIC SPI. */
#include "../pci.h"

#include "its.h"
#include "pci_dt.h"
#include "platform.h"
#include "printf.h"
#include "v2m.h"

bool pci_msi_message(uint8_t dev, uint8_t fn, uint8_t vector, uint64_t *addr, uint32_t *data)
{
	const struct pci_dt *p = pci_dt();
	uint32_t rid = (uint32_t)dev << 3 | fn;

	if (p->v2m)
		return v2m_msi(p->v2m, vector, addr, data);
	if (!p->its || rid < p->rid_base) {
		printf("pci %02x.%x: no ITS for its MSIs\n", dev, fn);
		return false;
	}
	if (!its_map_event(p->its, rid - p->rid_base + p->msi_base, vector))
		return false;
	*addr = p->its + ITS_TRANSLATER_OFF;
	*data = vector;
	return true;
}

/* The SPI the interrupt-map gives the pin (pci_dt_intx_of()). */
bool pci_intx_route(uint8_t dev, uint8_t fn, uint8_t pin, uint8_t line, uint8_t vector)
{
	const struct pci_dt_intx *x = pci_dt_intx_of(dev, fn, pin);

	(void)line; /* nobody wrote it: the tree says where INTx goes */
	if (x)
		return platform_irq_route(x->spi, vector);
	printf("pci %02x.%x: INTx pin %u is in no interrupt-map entry\n", dev, fn, pin);
	return false;
}
