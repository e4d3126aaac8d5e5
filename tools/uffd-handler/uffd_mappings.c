/* Parsing and checking the VMM's region list. See uffd_mappings.h. */
#include "tools/uffd-handler/uffd_mappings.h"

#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static int bad(char *err, size_t errlen, int i, const char *what)
{
	snprintf(err, errlen, "region %d: %s", i, what);
	return -EINVAL;
}

/* A non-negative integer field; page_size_kib (bytes despite its name) is Firecracker's
 * deprecated twin of page_size and is taken only if page_size is absent. */
static bool get_u64(const json_t *o, const char *key, uint64_t *v)
{
	const json_t *x = json_object_get(o, key);
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return false;
	*v = (uint64_t)json_integer_value(x);
	return true;
}

static int check_keys(const json_t *o, int i, char *err, size_t errlen)
{
	static const char *const known[] = {"base_host_virt_addr", "size", "offset", "page_size",
					    "page_size_kib"};
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)o, key, v)
	{
		bool ok = false;
		for (size_t k = 0; k < sizeof(known) / sizeof(known[0]); k++)
			ok = ok || !strcmp(key, known[k]);
		if (!ok)
			return bad(err, errlen, i, "unknown field");
	}
	return 0;
}

static int one(const json_t *o, int i, uint64_t file_size, struct uffd_mapping *m, char *err,
	       size_t errlen)
{
	uint64_t page = UFFD_PAGE, end;

	if (!json_is_object(o))
		return bad(err, errlen, i, "not an object");
	if (check_keys(o, i, err, errlen))
		return -EINVAL;
	if (!get_u64(o, "base_host_virt_addr", &m->base) || !get_u64(o, "size", &m->size) ||
	    !get_u64(o, "offset", &m->offset))
		return bad(err, errlen, i,
			   "base_host_virt_addr, size and offset must be non-negative integers");
	if (json_object_get(o, "page_size")	  ? !get_u64(o, "page_size", &page)
	    : json_object_get(o, "page_size_kib") ? !get_u64(o, "page_size_kib", &page)
						  : false)
		return bad(err, errlen, i, "page_size must be a non-negative integer");
	if (page != UFFD_PAGE)
		return bad(err, errlen, i, "only 4096-byte pages are served");
	if (!m->size || (m->base | m->size | m->offset) % UFFD_PAGE)
		return bad(err, errlen, i, "address, size and offset must be whole pages");
	if (__builtin_add_overflow(m->offset, m->size, &end) || end > file_size)
		return bad(err, errlen, i, "runs past the end of the memory file");
	if (__builtin_add_overflow(m->base, m->size, &end))
		return bad(err, errlen, i, "wraps the address space");
	return 0;
}

static bool overlap(const struct uffd_mapping *a, const struct uffd_mapping *b)
{
	return a->base < b->base + b->size && b->base < a->base + a->size;
}

int uffd_mappings_parse(const char *text, size_t len, uint64_t file_size, struct uffd_mapping *maps,
			int *n, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
	int r = 0;

	*n = 0;
	if (!json_is_array(doc) || !json_array_size(doc) ||
	    json_array_size(doc) > UFFD_MAX_REGIONS) {
		snprintf(err, errlen, "the message is not an array of 1 to %d regions%s%s",
			 UFFD_MAX_REGIONS, doc ? "" : ": ", doc ? "" : je.text);
		json_decref(doc);
		return -EINVAL;
	}
	for (size_t i = 0; !r && i < json_array_size(doc); i++) {
		r = one(json_array_get(doc, i), (int)i, file_size, &maps[i], err, errlen);
		for (size_t k = 0; !r && k < i; k++)
			if (overlap(&maps[i], &maps[k]))
				r = bad(err, errlen, (int)i, "overlaps another region");
		*n = r ? *n : (int)i + 1;
	}
	json_decref(doc);
	return r;
}

int uffd_mappings_find(const struct uffd_mapping *maps, int n, uint64_t addr)
{
	for (int i = 0; i < n; i++)
		if (addr >= maps[i].base && addr - maps[i].base < maps[i].size)
			return i;
	return -1;
}
