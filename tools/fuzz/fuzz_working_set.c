/* libFuzzer target: a working-set file (vmm/snapshot/working_set.c), parsed as a restore reads
 * it. Input: the file's bytes.
 * Invariants: a refusal is -EINVAL with a reason and leaves no ranges; an accepted file has at
 * most WORKING_SET_MAX_RANGES ranges, sorted, not overlapping, touching only one of the other
 * kind (written or not), each non-empty and inside mem_size,
 * their pages summing to `pages`; written again and parsed again it gives the same list. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/snapshot/working_set.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_list(const struct working_set *ws, const struct ws_identity *id)
{
	uint64_t pages = 0, mem_pages = id->mem_size >> WORKING_SET_PAGE_SHIFT;

	if (ws->n > WORKING_SET_MAX_RANGES)
		abort();
	for (size_t i = 0; i < ws->n; i++) {
		const struct ws_range *r = &ws->ranges[i];
		if (!r->count || r->first >= mem_pages || r->count > mem_pages - r->first)
			abort();
		const struct ws_range *p = i ? &ws->ranges[i - 1] : NULL;
		if (p && (r->first < p->first + p->count ||
			  (r->first == p->first + p->count && r->written == p->written)))
			abort();
		pages += r->count;
	}
	if (pages != ws->pages)
		abort();
}

static void check_round_trip(const struct working_set *ws, const struct ws_identity *id)
{
	char *text, err[WORKING_SET_ERR_MAX];
	size_t len;
	struct working_set again;
	struct ws_identity id2;

	if (working_set_format(ws, id, &text, &len))
		return; /* out of memory */
	if (working_set_parse(text, len, &again, &id2, err, sizeof(err)) || again.n != ws->n ||
	    again.pages != ws->pages || id2.mem_size != id->mem_size ||
	    id2.state_crc32 != id->state_crc32)
		abort();
	for (size_t i = 0; i < ws->n; i++)
		if (again.ranges[i].first != ws->ranges[i].first ||
		    again.ranges[i].count != ws->ranges[i].count ||
		    again.ranges[i].written != ws->ranges[i].written)
			abort();
	working_set_free(&again);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[WORKING_SET_ERR_MAX] = "";
	struct working_set ws;
	struct ws_identity id;

	int r = working_set_parse((const char *)data, size, &ws, &id, err, sizeof(err));
	if (r) {
		if (r != -EINVAL || !err[0] || ws.n || ws.ranges)
			abort();
		return 0;
	}
	check_list(&ws, &id);
	check_round_trip(&ws, &id);
	working_set_free(&ws);
	return 0;
}
