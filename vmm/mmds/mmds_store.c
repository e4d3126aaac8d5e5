/* The MMDS data store. See mmds_store.h. */
#include "vmm/mmds/mmds_store.h"

#include <errno.h>
#include <stdint.h>

#include "vmm/mmds/json_merge_patch.h"

void mmds_store_init(struct mmds_store *s, size_t limit)
{
	*s = (struct mmds_store){.doc = NULL, .limit = limit};
}

void mmds_store_free(struct mmds_store *s)
{
	json_decref(s->doc);
	s->doc = NULL;
}

static int count_bytes(const char *buf, size_t len, void *data)
{
	(void)buf;
	*(size_t *)data += len;
	return 0;
}

size_t mmds_json_size(const json_t *doc)
{
	size_t n = 0;
	if (json_dump_callback(doc, count_bytes, &n,
			       JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY))
		return SIZE_MAX;
	return n;
}

/* Takes the reference `doc` into the store, or drops it when over the limit. */
static int store_new(struct mmds_store *s, json_t *doc)
{
	if (!doc)
		return -ENOMEM;
	if (mmds_json_size(doc) > s->limit) {
		json_decref(doc);
		return -EFBIG;
	}
	json_decref(s->doc);
	s->doc = doc;
	return 0;
}

int mmds_store_put(struct mmds_store *s, const json_t *doc)
{
	return store_new(s, json_deep_copy(doc));
}

int mmds_store_patch(struct mmds_store *s, const json_t *patch)
{
	if (!s->doc)
		return -ENODATA;
	return store_new(s, json_merge_patch(s->doc, patch));
}

json_t *mmds_store_get(const struct mmds_store *s)
{
	return s->doc ? json_incref(s->doc) : json_object();
}
