/* libFuzzer target: devices' records (vmm/descriptors/device_record.c, vmm/config/record_json.c
 * and every descriptor's record_add/record_items). The input is a JSON document as
 * device_records() writes it ({"rng": [{"rate": "4096", "transport": "pci"}], ...}), cut at its
 * first NUL. Invariants: a refusal says why; an accepted document leaves a configuration whose
 * records load again into a new one, and the two write the same document (nothing lost, nothing
 * made up); nothing leaks. */
#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fuzz/fuzz_mem.h"
#include "vmm/config/vm_config.h"
#include "vmm/descriptors/device_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes `cfg`'s records, loads them into a new configuration and checks both write the same. */
static void round_trip(const struct vm_config *cfg)
{
	struct vm_config again;
	char err[512] = "";
	json_t *doc = device_records(cfg);
	if (!doc)
		return; /* out of memory */
	vm_config_init(&again);
	int r = device_records_load(&again, doc, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -ENOMEM, "the records of an accepted document refused: %s", err);
	json_t *doc2 = r ? NULL : device_records(&again);
	if (doc2) {
		char *a = json_dumps(doc, JSON_SORT_KEYS), *b = json_dumps(doc2, JSON_SORT_KEYS);
		FZ_ASSERT(!a || !b || !strcmp(a, b), "written twice, two documents:\n%s\n%s", a, b);
		free(a);
		free(b);
	}
	json_decref(doc2);
	json_decref(doc);
	device_cfg_free_all(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t je;
	json_t *doc = json_loadb((const char *)data, strnlen((const char *)data, size),
				 JSON_REJECT_DUPLICATES, &je);
	if (!doc)
		return 0;
	struct vm_config cfg;
	char err[512] = "";
	vm_config_init(&cfg);
	int r = device_records_load(&cfg, doc, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -ENOMEM || err[0], "refused (%d) without a reason", r);
	if (!r)
		round_trip(&cfg);
	json_decref(doc);
	device_cfg_free_all(&cfg);
	return 0;
}
