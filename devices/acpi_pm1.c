/* ACPI PM1 registers and PM timer (see acpi_pm1.h). */
#include "devices/acpi_pm1.h"

#include <errno.h>
#include <time.h>

#include "base/log.h"

#define SLP_TYP_MASK 0x7u
#define NS_PER_S     1000000000ULL

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* The clock's count now, before the offset. */
static uint32_t clock_ticks(const struct acpi_pm1 *p)
{
	unsigned __int128 ticks = (unsigned __int128)p->now_ns() * ACPI_PM_TIMER_HZ / NS_PER_S;
	return (uint32_t)ticks;
}

uint32_t acpi_pm1_timer(const struct acpi_pm1 *p)
{
	return (clock_ticks(p) + p->timer_offset) & ACPI_PM_TIMER_MASK;
}

/* The byte of 16-bit register value `v` at port offset `at` (little-endian). */
static uint8_t reg16(uint16_t v, uint64_t at)
{
	return (uint8_t)(v >> (8 * (at & 1)));
}

static void block_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct acpi_pm1 *p = opaque;
	uint8_t *out = data;
	uint32_t tmr = acpi_pm1_timer(p);

	pthread_mutex_lock(&p->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t at = offset + i;
		if (at < ACPI_PM1_EN)
			out[i] = reg16(p->sts, at);
		else if (at < ACPI_PM1_CNT)
			out[i] = reg16(p->en, at);
		else if (at < ACPI_PM1_CNT + 2)
			out[i] = reg16(p->cnt, at);
		else if (at >= ACPI_PM1_TMR && at < ACPI_PM1_TMR + 4)
			out[i] = (uint8_t)(tmr >> (8 * (at - ACPI_PM1_TMR)));
		else
			out[i] = 0;
	}
	pthread_mutex_unlock(&p->lock);
}

/* Stores byte `v` at port offset `at` (lock held). */
static void store_byte(struct acpi_pm1 *p, uint64_t at, uint8_t v)
{
	int shift = 8 * (int)(at & 1);
	uint16_t keep = (uint16_t) ~(0xffu << shift);

	if (at < ACPI_PM1_EN) /* status bits: a 1 clears */
		p->sts &= (uint16_t) ~(v << shift);
	else if (at < ACPI_PM1_CNT)
		p->en = (uint16_t)((p->en & keep) | v << shift);
	else if (at < ACPI_PM1_CNT + 2)
		p->cnt = (uint16_t)((p->cnt & keep) | v << shift | ACPI_PM1_SCI_EN);
}

static void block_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct acpi_pm1 *p = opaque;
	const uint8_t *in = data;
	int sleep_typ = -1;

	pthread_mutex_lock(&p->lock);
	for (uint32_t i = 0; i < len; i++)
		store_byte(p, offset + i, in[i]);
	if (p->cnt & ACPI_PM1_SLP_EN) {
		sleep_typ = (int)((p->cnt >> ACPI_PM1_SLP_SHIFT) & SLP_TYP_MASK);
		p->cnt &= (uint16_t)~ACPI_PM1_SLP_EN;
	}
	pthread_mutex_unlock(&p->lock);
	if (sleep_typ == ACPI_PM1_SOFT_OFF) {
		log_info("%s: the guest asked for soft off (PM1_CNT SLP_EN): power off", p->name);
		vm_control_stop(p->vm, VM_STOP_POWEROFF, VMM_EXIT_OK);
	} else if (sleep_typ > 0) {
		log_guest_warn("%s: sleep type %d asked for (PM1_CNT), not offered; ignored",
			       p->name, sleep_typ);
	}
}

static const struct io_ops block_ops = {.read = block_read, .write = block_write};

void acpi_pm1_save(struct acpi_pm1 *p, struct acpi_pm1_state *s)
{
	pthread_mutex_lock(&p->lock);
	*s = (struct acpi_pm1_state){
	    .sts = p->sts, .en = p->en, .cnt = p->cnt, .timer = acpi_pm1_timer(p)};
	pthread_mutex_unlock(&p->lock);
}

bool acpi_pm1_state_valid(const struct acpi_pm1_state *s)
{
	return !s->reserved && !s->reserved2 && (s->cnt & ACPI_PM1_SCI_EN) &&
	       !(s->cnt & ACPI_PM1_SLP_EN) && s->timer <= ACPI_PM_TIMER_MASK;
}

int acpi_pm1_restore(struct acpi_pm1 *p, const struct acpi_pm1_state *s)
{
	if (!acpi_pm1_state_valid(s))
		return -EINVAL;
	pthread_mutex_lock(&p->lock);
	p->sts = s->sts;
	p->en = s->en;
	p->cnt = s->cnt;
	p->timer_offset = s->timer - clock_ticks(p);
	pthread_mutex_unlock(&p->lock);
	return 0;
}

int acpi_pm1_init(struct acpi_pm1 *p, const struct vm_control *vm, const char *name)
{
	*p = (struct acpi_pm1){
	    .cnt = ACPI_PM1_SCI_EN, .now_ns = monotonic_ns, .vm = vm, .name = name};
	return -pthread_mutex_init(&p->lock, NULL);
}

void acpi_pm1_release(struct acpi_pm1 *p)
{
	if (p->pio)
		io_bus_unregister(p->pio, p->base);
	p->pio = NULL;
}

int acpi_pm1_claim(struct acpi_pm1 *p, struct io_bus *pio, uint64_t base, uint64_t size)
{
	if (size < ACPI_PM1_LEN)
		return -EINVAL;
	acpi_pm1_release(p);
	int err = io_bus_register(pio, base, size, &block_ops, p, p->name);
	if (err)
		return err;
	p->pio = pio;
	p->base = base;
	return 0;
}

bool acpi_pm1_claimed(const struct acpi_pm1 *p)
{
	return p->pio != NULL;
}

void acpi_pm1_destroy(struct acpi_pm1 *p)
{
	acpi_pm1_release(p);
	pthread_mutex_destroy(&p->lock);
}
