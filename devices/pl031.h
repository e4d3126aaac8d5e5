/* An Arm PrimeCell PL031 real-time clock on the MMIO bus (Arm DDI 0224 "PrimeCell Real Time
 * Clock (PL031) Technical Reference Manual"; Linux drivers/rtc/rtc-pl031.c, "arm,pl031" in the
 * device tree, is its driver): the arm64 machine's clock, as the CMOS clock is x86's.
 *
 * What the guest sees:
 *   - RTCDR (read-only): seconds since the epoch, the host's CLOCK_REALTIME plus an offset. The
 *     guest sets the time by writing RTCLR: the offset becomes "written value - host seconds",
 *     so the clock runs on from the value written (the host clock is never touched). RTCLR
 *     reads back the last value written.
 *   - RTCMR, the match register, and the match interrupt: RTCRIS bit 0 is set when the counter
 *     reaches RTCMR; the line is RTCRIS & RTCIMSC (a level), cleared through RTCICR.
 *   - RTCCR bit 0 (start) reads 1: the counter always runs (writes are ignored; a PL031 cannot
 *     be stopped once started, and Linux only ever sets it).
 *   - The PrimeCell IDs of the r1p3 part (PeriphID 0x31 0x10 0x14 0x00, CellID 0x0D 0xF0 0x05
 *     0xB1), which Linux's AMBA bus matches as 0x00041031.
 *   - Any access is safe: 1-, 2- and 4-byte accesses at a register's offset act on its low bits;
 *     anything else reads 0 and is ignored.
 *
 * The match without a timer. The device owns no thread; when the counter reaches RTCMR is
 * checked at every register access and whenever the owner calls pl031_poll(). An alarm is armed
 * by an RTCMR or RTCLR write and fires once (at once if RTCMR is already reached, within half
 * the 32-bit range behind the counter, as QEMU's PL031 decides it); it fires again only after
 * another such write. For the guest to get its alarm on time, the owner keeps a host timer:
 * told by the armed callback (pl031_set_armed_cb()) whenever the match may have changed, it
 * sleeps pl031_next_match() seconds and calls pl031_poll() (the VM layer's, vmm/vm/rtc_alarm.h;
 * without one, as in the tests, an alarm fires at the guest's next RTC access).
 *
 * Locking: one mutex, taken by register accesses and every call below; the IRQ line is driven
 * under it. The armed callback is called after it is dropped. */
#ifndef DEVICES_PL031_H
#define DEVICES_PL031_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "base/io_bus.h"
#include "base/irq.h"

#define PL031_MMIO_SIZE 0x1000

#define PL031_DR	0x00
#define PL031_MR	0x04
#define PL031_LR	0x08
#define PL031_CR	0x0c
#define PL031_IMSC	0x10
#define PL031_RIS	0x14
#define PL031_MIS	0x18
#define PL031_ICR	0x1c
#define PL031_PERIPHID0 0xfe0

struct pl031 {
	pthread_mutex_t lock;
	struct irq_line irq;
	uint64_t base;
	/* Clock source; NULL: the host's CLOCK_REALTIME. Tests inject a clock they move. */
	time_t (*now)(void *opaque);
	void *now_opaque;

	int64_t offset; /* guest seconds - host seconds */
	uint32_t mr, lr;
	uint8_t imsc, ris; /* bit 0 each */
	bool armed;	   /* a match is pending: fire when the counter reaches mr */
	int irq_level;	   /* last level driven on `irq` */
	/* pl031_set_armed_cb()'s, or NULL */
	void (*armed_cb)(void *opaque);
	void *armed_opaque;
};

/* Resets the clock (guest time = host time, no alarm), keeps the IRQ line, and claims
 * [base, base + PL031_MMIO_SIZE) on `mmio`. `now` may be NULL (the host's clock). Returns 0 or
 * -errno (logged). */
int pl031_attach(struct pl031 *r, struct io_bus *mmio, uint64_t base, struct irq_line irq,
		 time_t (*now)(void *opaque), void *now_opaque);
void pl031_detach(struct pl031 *r, struct io_bus *mmio);

/* Has `cb` called whenever the match may have changed: after an RTCMR or RTCLR write (from the
 * vCPU that made it) and after pl031_restore(), with no lock held; NULL: nobody. `cb` must not
 * wait for anything but a short lock of its own (a vCPU is in an MMIO exit). */
void pl031_set_armed_cb(struct pl031 *r, void (*cb)(void *opaque), void *opaque);

/* Checks the armed match against the clock now and raises the interrupt if it is due. Any
 * thread (a timer's, the owner's). */
void pl031_poll(struct pl031 *r);

/* Seconds until the armed match is due (0: due now), or -1 when none is armed. */
int64_t pl031_next_match(struct pl031 *r);

/* The clock's state for a snapshot: plain values, fixed layout, 24 bytes. The counter itself is
 * not state: it follows the host's clock through `offset`, before and after a restore. */
struct pl031_state {
	int64_t offset;
	uint32_t mr, lr;
	uint8_t imsc, ris, armed; /* 0 or 1 each */
	uint8_t reserved[5];	  /* zero */
};

void pl031_save(struct pl031 *r, struct pl031_state *s);

/* Checks the state (booleans 0/1, reserved zero, |offset| <= 2^40), puts it in and drives the IRQ
 * line to the level it implies. Returns 0, or -EINVAL with the clock unchanged. */
int pl031_restore(struct pl031 *r, const struct pl031_state *s);

#endif
