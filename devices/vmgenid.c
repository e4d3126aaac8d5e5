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

/* 16 bytes from the host's CSPRNG, never all zero (the paper's "no ID"), never the last one. */
static int make_id(struct vmgenid *g)
{
	uint8_t next[VMGENID_SIZE];
	static const uint8_t zero[VMGENID_SIZE];

	do {
		ssize_t got = getrandom(next, sizeof(next), GRND_NONBLOCK);
		if (got != (ssize_t)sizeof(next))
			return got < 0 ? -errno : -EIO;
	} while (!memcmp(next, zero, sizeof(next)) || !memcmp(next, g->id, sizeof(next)));
	memcpy(g->id, next, sizeof(next));
	g->generations++;
	return 0;
}

static int write_id(const struct vmgenid *g, struct guest_mem *mem)
{
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
	if (!err && ged)
		err = acpi_ged_event(ged, ACPI_GED_VMGENID);
	if (!err)
		log_debug("vmgenid: new generation %llu", (unsigned long long)g->generations);
	return err;
}

void vmgenid_set(struct vmgenid *g, const uint8_t id[VMGENID_SIZE])
{
	memcpy(g->id, id, VMGENID_SIZE);
}
