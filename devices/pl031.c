/* PL031 real-time clock (see pl031.h for what the guest sees and how the match works). */
#include "devices/pl031.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

#define CR_START 1u /* RTCCR: the counter is enabled */
#define INT_BIT	 1u /* the one interrupt: the match */

_Static_assert(sizeof(struct pl031_state) == 24, "pl031_state is a fixed snapshot layout");

/* PeriphID0-3 (part 0x031, designer 0x41 'A', revision 1) then CellID0-3. */
static const uint8_t pl031_id[8] = {0x31, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1};

static time_t host_now(const struct pl031 *r)
{
	struct timespec ts;

	if (r->now)
		return r->now(r->now_opaque);
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec;
}

/* The 32-bit counter RTCDR shows: it wraps, as the hardware's does (in 2106). Unsigned
 * arithmetic: modulo 2^32 is the intent. */
static uint32_t counter(const struct pl031 *r)
{
	return (uint32_t)((uint64_t)host_now(r) + (uint64_t)r->offset);
}

static void update_irq(struct pl031 *r)
{
	int level = (r->ris & r->imsc) != 0;

	if (level != r->irq_level) {
		r->irq_level = level;
		irq_line_set(&r->irq, level);
	}
}

/* Seconds from the counter to RTCMR, as a signed 32-bit distance: <= 0 is reached. */
static int32_t to_match(const struct pl031 *r)
{
	return (int32_t)(r->mr - counter(r));
}

static void check_match(struct pl031 *r)
{
	if (r->armed && to_match(r) <= 0) {
		r->armed = false;
		r->ris |= INT_BIT;
	}
	update_irq(r);
}

/* RTCLR: the counter continues from `val`; a new time re-arms the match against it. */
static void write_lr(struct pl031 *r, uint32_t val)
{
	r->lr = val;
	r->offset = (int64_t)val - (int64_t)host_now(r); /* both far inside int64_t */
	r->armed = true;
}

/* Returns true when the write re-armed the match (RTCMR, RTCLR). */
static bool write_locked(struct pl031 *r, uint64_t reg, uint32_t val)
{
	bool rearmed = reg == PL031_MR || reg == PL031_LR;

	switch (reg) {
	case PL031_MR:
		r->mr = val;
		r->armed = true;
		break;
	case PL031_LR:
		write_lr(r, val);
		break;
	case PL031_IMSC:
		r->imsc = val & INT_BIT;
		break;
	case PL031_ICR:
		r->ris &= (uint8_t) ~(val & INT_BIT);
		break;
	default: /* DR, CR (the counter always runs), RIS, MIS, the IDs, holes */
		break;
	}
	check_match(r);
	return rearmed;
}

/* The armed callback, taken under the lock and called after it is dropped. */
struct armed_call {
	void (*cb)(void *opaque);
	void *opaque;
};

static struct armed_call armed_call_locked(const struct pl031 *r)
{
	return (struct armed_call){r->armed_cb, r->armed_opaque};
}

static void call_armed(struct armed_call c)
{
	if (c.cb)
		c.cb(c.opaque);
}

static uint32_t read_locked(struct pl031 *r, uint64_t reg)
{
	if (reg >= PL031_PERIPHID0 && reg < PL031_MMIO_SIZE)
		return pl031_id[(reg - PL031_PERIPHID0) / 4];
	check_match(r);
	switch (reg) {
	case PL031_DR:
		return counter(r);
	case PL031_MR:
		return r->mr;
	case PL031_LR:
		return r->lr;
	case PL031_CR:
		return CR_START;
	case PL031_IMSC:
		return r->imsc;
	case PL031_RIS:
		return r->ris;
	case PL031_MIS:
		return r->ris & r->imsc;
	default: /* ICR is write-only; holes read 0 */
		return 0;
	}
}

/* Registers are words at 4-byte-aligned offsets; 1-, 2- and 4-byte accesses reach them. */
static bool reg_access(uint64_t offset, uint32_t len)
{
	return offset % 4 == 0 && (len == 1 || len == 2 || len == 4);
}

static void mmio_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct pl031 *r = opaque;
	uint32_t val;

	memset(data, 0, len);
	if (!reg_access(offset, len))
		return;
	pthread_mutex_lock(&r->lock);
	val = read_locked(r, offset);
	pthread_mutex_unlock(&r->lock);
	memcpy(data, &val, len); /* little-endian host: the low `len` bytes */
}

static void mmio_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct pl031 *r = opaque;
	struct armed_call call = {0};
	uint32_t val = 0;

	if (!reg_access(offset, len))
		return;
	memcpy(&val, data, len);
	pthread_mutex_lock(&r->lock);
	if (write_locked(r, offset, val))
		call = armed_call_locked(r);
	pthread_mutex_unlock(&r->lock);
	call_armed(call);
}

static const struct io_ops pl031_ops = {.read = mmio_read, .write = mmio_write};

void pl031_set_armed_cb(struct pl031 *r, void (*cb)(void *opaque), void *opaque)
{
	pthread_mutex_lock(&r->lock);
	r->armed_cb = cb;
	r->armed_opaque = opaque;
	pthread_mutex_unlock(&r->lock);
}

void pl031_poll(struct pl031 *r)
{
	pthread_mutex_lock(&r->lock);
	check_match(r);
	pthread_mutex_unlock(&r->lock);
}

int64_t pl031_next_match(struct pl031 *r)
{
	int64_t secs = -1;

	pthread_mutex_lock(&r->lock);
	if (r->armed) {
		int32_t d = to_match(r);
		secs = d > 0 ? d : 0;
	}
	pthread_mutex_unlock(&r->lock);
	return secs;
}

int pl031_attach(struct pl031 *r, struct io_bus *mmio, uint64_t base, struct irq_line irq,
		 time_t (*now)(void *opaque), void *now_opaque)
{
	int err;

	memset(r, 0, sizeof(*r));
	err = pthread_mutex_init(&r->lock, NULL);
	if (err)
		return -err;
	r->irq = irq;
	r->base = base;
	r->now = now;
	r->now_opaque = now_opaque;
	err = io_bus_register(mmio, base, PL031_MMIO_SIZE, &pl031_ops, r, "pl031");
	if (err) {
		log_error("pl031: cannot claim MMIO 0x%llx: %s", (unsigned long long)base,
			  strerror(-err));
		pthread_mutex_destroy(&r->lock);
	}
	return err;
}

void pl031_detach(struct pl031 *r, struct io_bus *mmio)
{
	if (mmio)
		io_bus_unregister(mmio, r->base);
	pthread_mutex_destroy(&r->lock);
}

void pl031_save(struct pl031 *r, struct pl031_state *s)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_lock(&r->lock);
	s->offset = r->offset;
	s->mr = r->mr;
	s->lr = r->lr;
	s->imsc = r->imsc;
	s->ris = r->ris;
	s->armed = r->armed;
	pthread_mutex_unlock(&r->lock);
}

/* An RTCLR write makes |offset| at most 2^32 plus the host's seconds: 2^40 leaves room for any
 * host clock of this millennium and keeps a hostile value from meaning anything else. */
#define OFFSET_MAX (1LL << 40)

static bool state_ok(const struct pl031_state *s)
{
	for (size_t i = 0; i < sizeof(s->reserved); i++)
		if (s->reserved[i])
			return false;
	return s->imsc <= 1 && s->ris <= 1 && s->armed <= 1 && s->offset <= OFFSET_MAX &&
	       s->offset >= -OFFSET_MAX;
}

int pl031_restore(struct pl031 *r, const struct pl031_state *s)
{
	if (!state_ok(s))
		return -EINVAL;
	pthread_mutex_lock(&r->lock);
	r->offset = s->offset;
	r->mr = s->mr;
	r->lr = s->lr;
	r->imsc = s->imsc;
	r->ris = s->ris;
	r->armed = s->armed;
	r->irq_level = -1; /* drive the new controller's input whatever it was */
	check_match(r);
	struct armed_call call = armed_call_locked(r);
	pthread_mutex_unlock(&r->lock);
	call_armed(call);
	return 0;
}
