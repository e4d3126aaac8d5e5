/* The flash's command state machine (see pflash.h). */
#include "devices/pflash.h"

#include <errno.h>
#include <string.h>

#include "base/log.h"

/* Enters `mode`, mapping the array for reads in read-array mode only. Under the lock. */
static void enter(struct pflash *f, enum pflash_mode mode)
{
	f->mode = mode;
	bool romd = mode == PFLASH_READ_ARRAY;
	if (romd == f->romd || !f->set_romd)
		return;
	int err = f->set_romd(f->opaque, romd);
	f->remaps++;
	if (err) /* reads keep coming here, which serves them either way */
		log_warn("%s: cannot %s the array: %s", f->name, romd ? "map" : "unmap",
			 strerror(-err));
	else
		f->romd = romd;
}

static void erase(struct pflash *f, uint64_t offset)
{
	uint64_t block = offset & ~(uint64_t)(PFLASH_BLOCK - 1);
	memset(f->mem + block, 0xff, PFLASH_BLOCK);
	f->erases++;
}

/* The first cycle of a command. Under the lock. */
static void command(struct pflash *f, uint8_t cmd)
{
	switch (cmd) {
	case PFLASH_CMD_PROGRAM:
	case 0x40:
		enter(f, PFLASH_PROGRAM);
		return;
	case PFLASH_CMD_ERASE:
		enter(f, PFLASH_ERASE);
		return;
	case PFLASH_CMD_CLEAR_STATUS:
		f->status = 0;
		enter(f, PFLASH_READ_ARRAY);
		return;
	case PFLASH_CMD_READ_STATUS:
		enter(f, PFLASH_READ_STATUS);
		return;
	case PFLASH_CMD_READ_ARRAY:
	case 0x00:
		enter(f, PFLASH_READ_ARRAY);
		return;
	default: /* not implemented (pflash.h): back to the array */
		if (!f->ignored++)
			log_debug("%s: command 0x%02x is not implemented: reading the array",
				  f->name, cmd);
		enter(f, PFLASH_READ_ARRAY);
	}
}

void pflash_write(struct pflash *f, uint64_t offset, const void *data, uint32_t len)
{
	if (len == 0 || offset >= f->size || len > f->size - offset)
		return;
	const uint8_t *bytes = data;
	pthread_mutex_lock(&f->lock);
	switch (f->mode) {
	case PFLASH_PROGRAM: /* the byte (or bytes, of a wider access) to program */
		memcpy(f->mem + offset, bytes, len);
		f->programs += len;
		f->status |= PFLASH_STATUS_READY;
		enter(f, PFLASH_READ_STATUS);
		break;
	case PFLASH_ERASE:
		if (bytes[0] == PFLASH_CMD_CONFIRM) {
			erase(f, offset);
			f->status |= PFLASH_STATUS_READY;
		} else { /* a sequence error: both error bits, as the part reports it */
			f->status |= PFLASH_STATUS_READY | PFLASH_STATUS_ERASE_ERROR |
				     PFLASH_STATUS_PROGRAM_ERROR;
		}
		enter(f, PFLASH_READ_STATUS);
		break;
	default:
		command(f, bytes[0]);
	}
	pthread_mutex_unlock(&f->lock);
}

void pflash_read(struct pflash *f, uint64_t offset, void *data, uint32_t len)
{
	if (len == 0)
		return;
	if (offset >= f->size || len > f->size - offset) {
		memset(data, 0xff, len);
		return;
	}
	pthread_mutex_lock(&f->lock);
	if (f->mode == PFLASH_READ_ARRAY)
		memcpy(data, f->mem + offset, len);
	else /* every other mode reads the status register, on every byte lane */
		memset(data, f->status, len);
	pthread_mutex_unlock(&f->lock);
}

static void bus_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	pflash_read(opaque, offset, data, len);
}

static void bus_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	pflash_write(opaque, offset, data, len);
}

static const struct io_ops pflash_ops = {.read = bus_read, .write = bus_write};

int pflash_attach(struct pflash *f, struct io_bus *mmio, uint64_t base, uint8_t *mem, uint64_t size,
		  const char *name, int (*set_romd)(void *opaque, bool on), void *opaque)
{
	if (!size || size % PFLASH_BLOCK) {
		log_error("%s: %llu bytes: a flash is whole %u-byte blocks", name,
			  (unsigned long long)size, PFLASH_BLOCK);
		return -EINVAL;
	}
	*f = (struct pflash){.mem = mem,
			     .size = size,
			     .base = base,
			     .name = name,
			     .mode = PFLASH_READ_ARRAY,
			     .status = PFLASH_STATUS_READY,
			     .set_romd = set_romd,
			     .opaque = opaque};
	pthread_mutex_init(&f->lock, NULL);
	int err = io_bus_register(mmio, base, size, &pflash_ops, f, name);
	if (err) {
		log_error("%s: cannot claim MMIO 0x%llx-0x%llx: %s", name, (unsigned long long)base,
			  (unsigned long long)(base + size - 1), strerror(-err));
		pthread_mutex_destroy(&f->lock);
		return err;
	}
	if (set_romd && (err = set_romd(opaque, true))) {
		log_error("%s: cannot map the array: %s", name, strerror(-err));
		io_bus_unregister(mmio, base);
		pthread_mutex_destroy(&f->lock);
		return err;
	}
	f->romd = set_romd != NULL;
	return 0;
}

void pflash_detach(struct pflash *f, struct io_bus *mmio)
{
	io_bus_unregister(mmio, f->base);
	pthread_mutex_destroy(&f->lock);
}

struct pflash_state pflash_save(struct pflash *f)
{
	pthread_mutex_lock(&f->lock);
	struct pflash_state s = {.mode = (uint8_t)f->mode, .status = f->status};
	pthread_mutex_unlock(&f->lock);
	return s;
}

int pflash_load(struct pflash *f, const struct pflash_state *s)
{
	if (s->mode > PFLASH_ERASE)
		return -EINVAL;
	pthread_mutex_lock(&f->lock);
	f->status = s->status;
	enter(f, (enum pflash_mode)s->mode);
	bool ok = f->romd == (f->mode == PFLASH_READ_ARRAY) || !f->set_romd;
	pthread_mutex_unlock(&f->lock);
	return ok ? 0 : -EIO;
}
