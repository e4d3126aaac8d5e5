/* The VM generation ID (see vmgenid.h). */
#include "devices/vmgenid.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "base/log.h"

int vmgenid_init(struct vmgenid *g, uint64_t gpa)
{
	*g = (struct vmgenid){.gpa = gpa};
	return gpa % 8 ? -EINVAL : 0;
}

/* N random bytes. An ID must be unique, not secret: on a host whose pool is not ready yet (a
 * freshly booted machine without RDRAND: GRND_NONBLOCK fails with EAGAIN, and a restore failed so
 * in a test's L1) the crng's bytes are taken anyway (GRND_INSECURE, Linux 5.6), or else waited for
 * (an older kernel: Linux makes them from CPU jitter within about a second). */
static ssize_t id_bytes(uint8_t *buf, size_t n)
{
	ssize_t got = getrandom(buf, n, GRND_NONBLOCK);
	if (got < 0 && errno == EAGAIN)
		got = getrandom(buf, n, GRND_INSECURE);
	if (got < 0 && errno == EINVAL)
		got = getrandom(buf, n, 0);
	return got;
}

/* 16 bytes from the host's crng, never all zero (the paper's "no ID"), never the last one. */
static int make_id(struct vmgenid *g)
{
	uint8_t next[VMGENID_SIZE];
	static const uint8_t zero[VMGENID_SIZE];

	do {
		ssize_t got = id_bytes(next, sizeof(next));
		if (got != (ssize_t)sizeof(next))
			return got < 0 ? -errno : -EIO;
	} while (!memcmp(next, zero, sizeof(next)) || !memcmp(next, g->id, sizeof(next)));
	memcpy(g->id, next, sizeof(next));
	g->generations++;
	return 0;
}

int vmgenid_place(struct vmgenid *g, const struct guest_mem *mem, uint64_t gpa)
{
	if (!gpa || gpa % 8 || !guest_mem_valid(mem, gpa, VMGENID_SIZE)) {
		log_warn("vmgenid: the firmware placed the ID at %#llx, which is not 16 bytes of "
			 "guest RAM: the guest is not told of new generations",
			 (unsigned long long)gpa);
		return -EINVAL;
	}
	g->gpa = gpa;
	log_info("vmgenid: the firmware placed the ID at %#llx", (unsigned long long)gpa);
	return 0;
}

static int write_id(const struct vmgenid *g, struct guest_mem *mem)
{
	if (!g->gpa)
		return 0;
	int err = guest_mem_write(mem, g->gpa, g->id, sizeof(g->id));
	if (err)
		log_error("vmgenid: %#llx is not guest RAM", (unsigned long long)g->gpa);
	return err;
}

int vmgenid_boot(struct vmgenid *g, struct guest_mem *mem)
{
	int err = make_id(g);
	if (err) {
		log_error("vmgenid: no random bytes for the generation ID: %s", strerror(-err));
		return err;
	}
	return write_id(g, mem);
}

int vmgenid_new_generation(struct vmgenid *g, struct guest_mem *mem, struct acpi_ged *ged)
{
	int err = vmgenid_boot(g, mem);
	if (!err && ged && g->gpa)
		err = acpi_ged_event(ged, ACPI_GED_VMGENID);
	if (!err)
		log_debug("vmgenid: new generation %llu", (unsigned long long)g->generations);
	return err;
}

void vmgenid_set(struct vmgenid *g, const uint8_t id[VMGENID_SIZE])
{
	memcpy(g->id, id, VMGENID_SIZE);
}
