#include "devices/pci/piix4_pm.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

#define PMBA_IO	      0x1u    /* reads 1: an I/O space base */
#define PMBA_WRITABLE 0xffc0u /* bits 15:6 */
#define PMIOSE	      0x01u
#define PM1_STS	      0
#define PM1_EN	      2
#define PM1_CNT	      4
#define SLP_EN	      0x2000u /* PM1_CNT bit 13, write-only */
#define SLP_TYP_SHIFT 10
#define SLP_TYP_MASK  0x7u
#define SLP_TYP_OFF   0 /* the PIIX4's soft off (S5) */
#define PM_TIMER_MASK 0xffffffu
#define NS_PER_S      1000000000ULL

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

uint32_t piix4_pm_timer(const struct piix4_pm *pm)
{
	unsigned __int128 ticks = (unsigned __int128)pm->now_ns() * ACPI_PM_TIMER_HZ / NS_PER_S;
	return (uint32_t)ticks & PM_TIMER_MASK;
}

/* The byte of 16-bit register value `v` at port offset `at` (little-endian). */
static uint8_t reg16(uint16_t v, uint64_t at)
{
	return (uint8_t)(v >> (8 * (at & 1)));
}

static void block_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct piix4_pm *pm = opaque;
	uint8_t *out = data;
	uint32_t tmr = piix4_pm_timer(pm);

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t at = offset + i;
		if (at < PM1_EN)
			out[i] = reg16(pm->pm1_sts, at);
		else if (at < PM1_CNT)
			out[i] = reg16(pm->pm1_en, at);
		else if (at < PM1_CNT + 2)
			out[i] = reg16(pm->pm1_cnt, at);
		else if (at >= PIIX4_PM_TMR && at < PIIX4_PM_TMR + 4)
			out[i] = (uint8_t)(tmr >> (8 * (at - PIIX4_PM_TMR)));
		else
			out[i] = 0;
	}
	pthread_mutex_unlock(&pm->lock);
}

static void block_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct piix4_pm *pm = opaque;
	const uint8_t *in = data;
	int sleep_typ;

	pthread_mutex_lock(&pm->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t at = offset + i;
		int shift = 8 * (int)(at & 1);
		if (at < PM1_EN) /* status bits: a 1 clears */
			pm->pm1_sts &= (uint16_t) ~(in[i] << shift);
		else if (at < PM1_CNT)
			pm->pm1_en = (uint16_t)((pm->pm1_en & ~(0xff << shift)) | in[i] << shift);
		else if (at < PM1_CNT + 2)
			pm->pm1_cnt = (uint16_t)((pm->pm1_cnt & ~(0xff << shift)) | in[i] << shift);
	}
	sleep_typ = -1;
	if (pm->pm1_cnt & SLP_EN) {
		sleep_typ = (int)((pm->pm1_cnt >> SLP_TYP_SHIFT) & SLP_TYP_MASK);
		pm->pm1_cnt &= (uint16_t)~SLP_EN;
	}
	pthread_mutex_unlock(&pm->lock);
	if (sleep_typ == SLP_TYP_OFF) {
		log_info("piix4-pm: the guest asked for soft off (PM1_CNT SLP_EN): power off");
		vm_control_stop(pm->vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
	} else if (sleep_typ > 0) {
		log_guest_warn("piix4-pm: sleep type %d asked for (PM1_CNT), not offered; ignored",
			       sleep_typ);
	}
}

static const struct io_ops block_ops = {.read = block_read, .write = block_write};

/* Claims or releases the I/O block as PMBA and PMIOSE now say (bus lock held). */
static void remap(struct piix4_pm *pm)
{
	struct pci_func *f = &pm->func;
	uint16_t base = (uint16_t)(pci_cfg_get32(f, PIIX4_PM_PMBA) & PMBA_WRITABLE);
	bool on = (f->cfg[PIIX4_PM_PMREGMISC] & PMIOSE) && base;

	if (pm->mapped_base && (!on || base != pm->mapped_base)) {
		io_bus_unregister(pm->pio, pm->mapped_base);
		pm->mapped_base = 0;
	}
	if (on && !pm->mapped_base) {
		int err =
		    io_bus_register(pm->pio, base, PIIX4_PM_BLOCK_SIZE, &block_ops, pm, "piix4-pm");
		if (err)
			log_guest_warn("piix4-pm: the PM block at port 0x%x is taken: it stays off",
				       base);
		else
			pm->mapped_base = base;
	}
}

static void config_write(struct pci_func *f, uint32_t off, const void *data, uint32_t len)
{
	(void)data;
	if (off < PIIX4_PM_PMREGMISC + 1 && off + len > PIIX4_PM_PMBA)
		remap(f->opaque);
}

static const struct pci_func_ops func_ops = {.config_write = config_write};

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
	int err = pthread_mutex_init(&pm->lock, NULL);
	if (err)
		return -err;
	pm->pio = pio;
	pm->vm = vm;
	pm->now_ns = monotonic_ns;
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
	if (pm->mapped_base)
		io_bus_unregister(pm->pio, pm->mapped_base);
	pm->mapped_base = 0;
	pthread_mutex_destroy(&pm->lock);
}
