/* libFuzzer target: the one option-string parser (base/options.c) and every device parser built
 * on it (--disk, --net, --rng, --balloon, --memory-hotplug, --pmem, --fs, --vsock, vhost-user).
 * The input is the option string (cut at its first NUL).
 * Invariants of opts_parse() over a table with every kind of key: set() sees only table keys,
 * a flag without a value and any other key with one, a key given twice only when OPT_REPEAT; a
 * refusal always says why (err is not empty). opts_split() (",," a comma inside the item, odd
 * runs a comma then the separator), with a head or without: what it accepts, written back by
 * opt_items_format() (a comma doubled), is the string again, and opt_items_fit_string() holds
 * unless a key is empty. The device parsers must not crash, leak or overrun, and a refusal of
 * theirs says why too. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/options.h"
#include "base/parse.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/balloon/balloon.h"
#include "virtio/blk/options.h"
#include "virtio/fs/fs.h"
#include "virtio/mem/mem.h"
#include "virtio/net/options.h"
#include "virtio/pmem/pmem.h"
#include "virtio/rng/rng.h"
#include "virtio/vhost_user/vu_opts.h"
#include "virtio/vsock/vsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NKEYS 4

struct seen {
	unsigned calls[NKEYS];
};

static const char *const names[NKEYS] = {"a", "flag", "many", "opt"};

static int set(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct seen *s = dst;
	int i = 0;

	while (i < NKEYS && strcmp(key, names[i]))
		i++;
	FZ_ASSERT(i < NKEYS, "set() of a key not in the table: %s", key);
	FZ_ASSERT((i == 1) == !value || i == 3, "%s: a value where none belongs, or none", key);
	FZ_ASSERT(++s->calls[i] == 1 || i == 2, "%s given twice", key);
	if (value && !strcmp(value, "bad")) /* a set() that refuses */
		return parse_fail(err, errlen, "bad value");
	return 0;
}

static const struct opt_key keys[] = {
    {"a", 0, set},
    {"flag", OPT_FLAG, set},
    {"many", OPT_REPEAT, set},
    {"opt", OPT_VALUE_OPTIONAL, set},
    {NULL, 0, NULL},
};

/* opts_split() of `s` (with `head` or not) written back by opt_items_format() is `s`. */
static void round_trip(const char *s, const char *head)
{
	struct opt_items l;
	char err[128] = "";
	int r = opts_split(s, head, &l, err, sizeof(err));
	FZ_ASSERT(r == 0 || (r == -EINVAL && err[0]) || r == -ENOMEM, "opts_split: %d, '%s'", r,
		  err);
	if (r)
		return;
	bool empty_key = false;
	for (size_t i = 0; i < l.n; i++)
		empty_key |= !l.v[i].key[0];
	FZ_ASSERT(empty_key || opt_items_fit_string(&l), "'%s' split has no string form", s);
	size_t len = strlen(s) + 1;
	char *back = malloc(len);
	if (back) {
		r = opt_items_format(&l, head, back, len);
		FZ_ASSERT(r == 0, "'%s' split does not fit its own length back: %d", s, r);
		FZ_ASSERT(!strcmp(back, s), "'%s' split and written back is '%s'", s, back);
	}
	free(back);
	opt_items_free(&l);
}

/* A device parser's refusal has a reason. */
#define REFUSED_SAYS_WHY(call)                                                                     \
	do {                                                                                       \
		err[0] = '\0';                                                                     \
		if ((call) == -EINVAL)                                                             \
			FZ_ASSERT(err[0], "%s refused without a reason", #call);                   \
	} while (0)

static void device_parsers(const char *s)
{
	char err[256];
	struct virtio_blk_opts blk;
	struct virtio_net_opts net;
	struct virtio_rng_opts rng;
	struct virtio_balloon_opts balloon;
	struct virtio_mem_opts mem;
	struct virtio_pmem_opts *pmem = malloc(sizeof(*pmem));
	struct virtio_fs_opts fs;
	struct virtio_vsock_opts vsock;
	struct vu_opts vu;

	REFUSED_SAYS_WHY(virtio_blk_opts_parse(s, &blk, err, sizeof(err)));
	virtio_blk_opts_free(&blk);
	REFUSED_SAYS_WHY(virtio_net_opts_parse(s, &net, err, sizeof(err)));
	REFUSED_SAYS_WHY(virtio_rng_opts_parse(s, &rng, err, sizeof(err)));
	REFUSED_SAYS_WHY(virtio_balloon_opts_parse(s, &balloon, err, sizeof(err)));
	REFUSED_SAYS_WHY(virtio_mem_opts_parse(s, &mem, err, sizeof(err)));
	if (pmem)
		REFUSED_SAYS_WHY(virtio_pmem_opts_parse(s, pmem, err, sizeof(err)));
	free(pmem);
	REFUSED_SAYS_WHY(virtio_fs_opts_parse(s, &fs, err, sizeof(err)));
	REFUSED_SAYS_WHY(virtio_vsock_opts_parse(s, &vsock, err, sizeof(err)));
	REFUSED_SAYS_WHY(vu_opts_parse(s, VU_OPTS_BLK, &vu, err, sizeof(err)));
	REFUSED_SAYS_WHY(vu_opts_parse(s, VU_OPTS_NET, &vu, err, sizeof(err)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), err[128] = "";
	struct seen seen = {0};
	int r;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	r = opts_parse(s, keys, &seen, "usage", err, sizeof(err));
	FZ_ASSERT(r == 0 || (r == -EINVAL && err[0]) || r == -ENOMEM, "opts_parse: %d, '%s'", r,
		  err);
	round_trip(s, NULL);
	round_trip(s, "path");
	device_parsers(s);
	free(s);
	return 0;
}
