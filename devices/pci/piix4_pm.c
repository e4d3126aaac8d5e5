#include "devices/pci/piix4_pm.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

#define PMBA_IO	      0x1u    /* reads 1: an I/O space base */
#define PMBA_WRITABLE 0xffc0u /* bits 15:6 */
#define PMIOSE	      0x01u

/* Claims or releases the I/O block as PMBA and PMIOSE now say (bus lock held). */
static void remap(struct piix4_pm *pm)
{
	struct pci_func *f = &pm->func;
	uint16_t base = (uint16_t)(pci_cfg_get32(f, PIIX4_PM_PMBA) & PMBA_WRITABLE);
	bool on = (f->cfg[PIIX4_PM_PMREGMISC] & PMIOSE) && base;

	if (!on) {
		acpi_pm1_release(&pm->pm1);
		return;
	}
	if (acpi_pm1_claimed(&pm->pm1) && pm->pm1.base == base)
		return;
	if (acpi_pm1_claim(&pm->pm1, pm->pio, base, PIIX4_PM_BLOCK_SIZE))
		log_guest_warn("piix4-pm: the PM block at port 0x%x is taken: it stays off", base);
}

static void config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	(void)data;
	if (off < PIIX4_PM_PMREGMISC + 1 && off + len > PIIX4_PM_PMBA)
		remap(f->opaque);
}

static const struct pci_func_ops func_ops = {.config_write = config_write};

void piix4_pm_save(struct piix4_pm *pm, struct piix4_pm_state *s)
{
	struct pci_bus *bus = pm->func.bus;

	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&bus->lock);
	s->pmba = pci_cfg_get32(&pm->func, PIIX4_PM_PMBA);
	s->pmregmisc = pm->func.cfg[PIIX4_PM_PMREGMISC];
	pthread_mutex_unlock(&bus->lock);
	acpi_pm1_save(&pm->pm1, &s->pm1);
}

int piix4_pm_restore(struct piix4_pm *pm, const struct piix4_pm_state *s)
{
	struct pci_bus *bus = pm->func.bus;

	if ((s->pmba & ~(PMBA_WRITABLE | PMBA_IO)) || !(s->pmba & PMBA_IO) ||
	    (s->pmregmisc & ~PMIOSE) || s->reserved[0] || s->reserved[1] || s->reserved[2] ||
	    !acpi_pm1_state_valid(&s->pm1))
		return -EINVAL;
	pthread_mutex_lock(&bus->lock);
	pci_cfg_set32(&pm->func, PIIX4_PM_PMBA, s->pmba);
	pm->func.cfg[PIIX4_PM_PMREGMISC] = s->pmregmisc;
	remap(pm);
	bool off =
	    (s->pmregmisc & PMIOSE) && (s->pmba & PMBA_WRITABLE) && !acpi_pm1_claimed(&pm->pm1);
	pthread_mutex_unlock(&bus->lock);
	if (off)
		return -EBUSY;
	return acpi_pm1_restore(&pm->pm1, &s->pm1);
}

int piix4_pm_attach(struct piix4_pm *pm, struct pci_bus *bus, struct io_bus *pio,
		    const struct vm_control *vm)
{
	const struct pci_id id = {
	    .vendor = 0x8086,
	    .device = 0x7113,
	    .class_code = 0x068000, /* bridge, other */
	    .revision = 0x03,
	};

	if (bus->funcs[PIIX4_PM_DEVFN])
		return -EBUSY;
	memset(pm, 0, sizeof(*pm));
	int err = acpi_pm1_init(&pm->pm1, vm, "piix4-pm");
	if (err)
		return err;
	pm->pio = pio;
	pci_func_init(&pm->func, &id, "piix4-pm", &func_ops, pm);
	pci_cfg_set32(&pm->func, PIIX4_PM_PMBA, PMBA_IO);
	pci_wmask_set32(&pm->func, PIIX4_PM_PMBA, PMBA_WRITABLE);
	pm->func.wmask[PIIX4_PM_PMREGMISC] = PMIOSE;
	pthread_mutex_lock(&bus->lock);
	pm->func.bus = bus;
	pm->func.devfn = PIIX4_PM_DEVFN;
	bus->funcs[PIIX4_PM_DEVFN] = &pm->func;
	pthread_mutex_unlock(&bus->lock);
	return 0;
}

void piix4_pm_detach(struct piix4_pm *pm, struct pci_bus *bus)
{
	if (bus) {
		pthread_mutex_lock(&bus->lock);
		if (bus->funcs[PIIX4_PM_DEVFN] == &pm->func)
			bus->funcs[PIIX4_PM_DEVFN] = NULL;
		pthread_mutex_unlock(&bus->lock);
	}
	acpi_pm1_destroy(&pm->pm1);
}
