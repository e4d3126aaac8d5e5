/* The ACPI fixed-hardware register block (ACPI 6.5 §4.8.3): the PM1 event and control registers
 * and the power-management timer, laid out as on Intel's PIIX4 and ICH9 (and so as QEMU's pc and
 * q35 machines have them). Twelve ports from the block's base:
 *   +0 PM1_STS  16 bits, write 1 to clear (nothing here ever sets a bit);
 *   +2 PM1_EN   16 bits, stored: no event is raised, so the SCI never fires;
 *   +4 PM1_CNT  16 bits, kept as written, except SCI_EN (bit 0), which always reads 1 (the
 *               machine is in ACPI mode from reset: the FADT has no SMI_CMD), and SLP_EN
 *               (bit 13), which is write-only: with SLP_TYP (bits 12:10) 0, the soft off of both
 *               chipsets and the \_S5_ value the FADT's DSDT gives for this block, the VM powers
 *               off and the VMM exits 0; another sleep type is logged and ignored;
 *   +8 PM_TMR   the 24-bit ACPI PM timer at 3.579545 MHz, from the host's monotonic clock.
 * Other ports of the claimed range read 0 and ignore writes.
 *
 * Two users: the PIIX4 PM function claims it wherever the firmware puts PMBA
 * (devices/pci/piix4_pm.h), and a legacy BIOS boot's FADT points at one at a fixed port
 * (vmm/vm/x86/vm_devices_arch.c, firmware/acpi/acpi.h).
 *
 * Snapshots keep the three registers and the timer's count (acpi_pm1_save()): a restored timer
 * counts on from where it stood, whatever the host's clock says now.
 *
 * Locking: the registers have their own mutex, held for no more than a copy; the power-off
 * request is made after it is dropped. */
#ifndef DEVICES_ACPI_PM1_H
#define DEVICES_ACPI_PM1_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/io_bus.h"
#include "base/vm_control.h"

#define ACPI_PM1_STS	   0
#define ACPI_PM1_EN	   2
#define ACPI_PM1_CNT	   4
#define ACPI_PM1_TMR	   8
#define ACPI_PM1_LEN	   12 /* the registers' ports */
#define ACPI_PM1_SCI_EN	   0x0001u
#define ACPI_PM1_SLP_EN	   0x2000u
#define ACPI_PM1_SLP_SHIFT 10
#define ACPI_PM1_SOFT_OFF  0 /* SLP_TYP of S5 */
#define ACPI_PM_TIMER_HZ   3579545ULL
#define ACPI_PM_TIMER_MASK 0xffffffu

struct acpi_pm1 {
	pthread_mutex_t lock;
	uint16_t sts, en, cnt;
	uint64_t (*now_ns)(void);    /* monotonic clock; tests replace it */
	const struct vm_control *vm; /* told of the power-off */
	struct io_bus *pio;	     /* where the block is claimed; NULL: nowhere */
	uint64_t base;
	uint32_t timer_offset; /* added to the clock's count (a restored count's continuation) */
	const char *name;
};

/* The saved registers (a snapshot section: fixed layout, little-endian). */
struct acpi_pm1_state {
	uint16_t sts, en, cnt;
	uint16_t reserved;  /* 0 */
	uint32_t timer;	    /* the PM timer's count when saved (24 bits) */
	uint32_t reserved2; /* 0 */
};

/* The registers at reset (SCI_EN set); `vm` is kept, not copied; `name` names the block in the
 * port bus and in log lines. Returns 0 or -errno. */
int acpi_pm1_init(struct acpi_pm1 *p, const struct vm_control *vm, const char *name);
/* Releases the ports (if claimed) and the lock. */
void acpi_pm1_destroy(struct acpi_pm1 *p);

/* Claims `size` (at least ACPI_PM1_LEN) ports at `base` on `pio`, releasing the ones claimed
 * before; 0 or -errno (-EBUSY: taken, the block stays unclaimed). */
int acpi_pm1_claim(struct acpi_pm1 *p, struct io_bus *pio, uint64_t base, uint64_t size);
/* Releases the ports; the registers keep their values. */
void acpi_pm1_release(struct acpi_pm1 *p);
bool acpi_pm1_claimed(const struct acpi_pm1 *p);

/* The PM timer's value now (24 bits). */
uint32_t acpi_pm1_timer(const struct acpi_pm1 *p);

/* The registers and the timer's count now, into `s` (the VM paused). */
void acpi_pm1_save(struct acpi_pm1 *p, struct acpi_pm1_state *s);
/* Whether `s` is a state a guest can make: reserved bytes 0, SCI_EN set and SLP_EN clear in
 * PM1_CNT, a count within 24 bits. */
bool acpi_pm1_state_valid(const struct acpi_pm1_state *s);
/* Back from `s`, the timer counting on from its saved count; -EINVAL (nothing changed) when it is
 * not valid. */
int acpi_pm1_restore(struct acpi_pm1 *p, const struct acpi_pm1_state *s);

#endif
