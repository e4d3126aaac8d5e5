/* The devices' claims, and the conflicts between them (see device_table.h, "Claims"): what used
 * to be each descriptor's knowledge of the others (the vhost-user sockets of every kind, the
 * root disk against a root pmem device, shared RAM against memory hotplug). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "vmm/descriptors/device_table.h"

int device_table_claims(const struct vm_config *cfg, device_claim_fn fn, void *opaque)
{
	int r = 0;
	for (int i = 0; !r && device_table[i]; i++)
		if (device_table[i]->claims)
			r = device_table[i]->claims(cfg, fn, opaque);
	return r;
}

struct finder {
	enum device_claim_kind kind;
	const char *value, *space;
	struct device_claim *out;
};

static int find_one(const struct device_claim *c, void *opaque)
{
	struct finder *f = opaque;
	if (c->kind != f->kind)
		return 0;
	if (f->value && (!c->value || !c->value[0] || strcmp(c->value, f->value)))
		return 0;
	if (f->space && (!c->space || strcmp(c->space, f->space)))
		return 0;
	if (f->out)
		*f->out = *c;
	return 1;
}

bool device_table_claim_find(const struct vm_config *cfg, enum device_claim_kind kind,
			     const char *value, struct device_claim *out)
{
	struct finder f = {kind, value, NULL, out};
	return device_table_claims(cfg, find_one, &f) == 1;
}

bool device_table_id_claimed(const struct vm_config *cfg, const char *space, const char *id,
			     struct device_claim *out)
{
	struct finder f = {DEVICE_CLAIM_ID, id, space, out};
	return id[0] && device_table_claims(cfg, find_one, &f) == 1;
}

/* The claims of one kind, in table order (at most MAX_CLAIMS: the devices' limits add up to
 * fewer). */
#define MAX_CLAIMS 64

struct list {
	enum device_claim_kind kind;
	struct device_claim c[MAX_CLAIMS];
	int n;
};

static int collect(const struct device_claim *c, void *opaque)
{
	struct list *l = opaque;
	if (c->kind == l->kind && l->n < MAX_CLAIMS)
		l->c[l->n++] = *c;
	return 0;
}

static void list_of(const struct vm_config *cfg, enum device_claim_kind kind, struct list *l)
{
	l->kind = kind;
	l->n = 0;
	device_table_claims(cfg, collect, l);
}

/* Both would name root= on the kernel command line (each device refuses a second root of its
 * own at parse time). */
static int one_root(const struct vm_config *cfg, struct list *l)
{
	list_of(cfg, DEVICE_CLAIM_ROOT, l);
	if (l->n < 2)
		return 0;
	log_error("%s %s and %s %s are both marked root: one root device at most", l->c[0].option,
		  l->c[0].value, l->c[1].option, l->c[1].value);
	return -EINVAL;
}

/* Two sockets are one when their names are, or they are the same file (another spelling). */
static bool same_socket(const char *a, const char *b)
{
	struct stat sa, sb;
	if (!strcmp(a, b))
		return true;
	return !stat(a, &sa) && !stat(b, &sb) && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* Before KVM, every kind at once (a --fs may come after the disk that shares its socket). */
static int sockets_unique(const struct vm_config *cfg, struct list *l)
{
	list_of(cfg, DEVICE_CLAIM_SOCKET, l);
	for (int i = 0; i < l->n; i++)
		for (int j = i + 1; j < l->n; j++)
			if (same_socket(l->c[i].value, l->c[j].value)) {
				log_error("%s=%s and %s=%s: the same vhost-user socket; a back-end "
					  "connection serves one device, give each its own",
					  l->c[i].option, l->c[i].value, l->c[j].option,
					  l->c[j].value);
				return -EINVAL;
			}
	return 0;
}

/* A back-end sees only the memory table of the shared RAM: buffers the guest places in private
 * memory (plugged memory) would be out of its reach. */
static int ram_shared_or_private(const struct vm_config *cfg)
{
	struct device_claim shared, private;
	if (!device_table_claim_find(cfg, DEVICE_CLAIM_SHARED_RAM, NULL, &shared) ||
	    !device_table_claim_find(cfg, DEVICE_CLAIM_PRIVATE_RAM, NULL, &private))
		return 0;
	log_error("%s cannot be combined with %s yet: %s", shared.option, private.option,
		  private.what);
	return -EINVAL;
}

bool device_table_passes_through(const struct vm_config *cfg)
{
	return device_table_claim_find(cfg, DEVICE_CLAIM_PINNED_RAM, NULL, NULL);
}

const char *device_table_unsaveable(const struct vm_config *cfg)
{
	if (!device_table_passes_through(cfg))
		return NULL;
	return "it has a passed-through device (--device vfio), whose state is the hardware's, "
	       "out of the VMM's reach";
}

int device_table_claims_check(const struct vm_config *cfg)
{
	struct list l;
	int err = one_root(cfg, &l);
	if (!err)
		err = ram_shared_or_private(cfg);
	if (!err)
		err = sockets_unique(cfg, &l);
	return err;
}
