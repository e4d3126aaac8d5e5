/* libFuzzer target: the command line (vmm/cli/cli.c) and the number parsers (base/parse.c).
 * The input is split at NUL bytes into argv[1..] (argv[0] = "vmm"); every argument is also
 * given to parse_size() and parse_uint() with bounds from the input's first bytes.
 * Invariants: an accepted command line has a kernel, 1-64 cpus and a RAM size of at least
 * 2 MiB, a multiple of 4 KiB, at most 1 TiB; its configuration comes back as a snapshot's does:
 * the options it recorded (the core's only, no device's) replay (cli_replay) into a fresh
 * configuration that records the same, and its devices, written as their records
 * (vmm/descriptors/device_record.h), load into that configuration and write the same records,
 * and each device written as its option string (device_record_spec(): a comma in a path or value
 * written ",,") parses as its option into the same record; an accepted number lies within its
 * bounds. Every "--name value" pair is also applied alone
 * with cli_apply() (what the API and a restore use): refused with a message, or taken. Usage
 * and --help text
 * go to stdout, redirected to /dev/null; errors to stderr (libFuzzer's -close_fd_mask=2 hides
 * them). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/layout.h"
#include "base/parse.h"
#include "tools/fuzz/fuzz_input.h"
#include "tools/fuzz/fuzz_mem.h"
#include "vmm/cli/cli.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 32

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	if (!freopen("/dev/null", "w", stdout))
		abort();
	return 0;
}

static void check_numbers(const char *s, uint64_t unit_sel, uint64_t lo, uint64_t hi)
{
	static const uint64_t units[] = {1, 1024, 1 << 20, 1 << 30};
	uint64_t v = 0;
	int r = parse_size(s, units[unit_sel % 4], &v);
	FZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE, "parse_size(\"%s\") = %d", s, r);
	if (lo > hi) {
		uint64_t t = lo;
		lo = hi, hi = t;
	}
	r = parse_uint(s, lo, hi, &v);
	FZ_ASSERT(r == 0 || r == -EINVAL || r == -ERANGE, "parse_uint(\"%s\") = %d", s, r);
	FZ_ASSERT(r || (v >= lo && v <= hi), "parse_uint(\"%s\") = %llu outside [%llu, %llu]", s,
		  (unsigned long long)v, (unsigned long long)lo, (unsigned long long)hi);
}

/* The recorded options of accepted configuration `cfg`: the core's (no device with a record
 * owns one), replayed into *again, which records them the same. */
static void check_options(const struct vm_config *cfg, struct vm_config *again)
{
	char err[512] = "";
	for (int i = 0; i < cfg->nrecorded; i++) {
		const struct cli_record *rec = &cfg->recorded[i];
		const struct device_desc *d = device_table_option_owner(rec->name, rec->arg);
		FZ_ASSERT(!d || !device_record_known(d), "--%s %s recorded: its record has it",
			  rec->name, rec->arg ? rec->arg : "");
	}
	int r = cli_replay(again, cfg->recorded, cfg->nrecorded, err, sizeof(err));
	FZ_ASSERT(r == 0, "the accepted options did not replay: %s", err);
	FZ_ASSERT(again->nrecorded == cfg->nrecorded, "%d options replayed as %d", cfg->nrecorded,
		  again->nrecorded);
}

/* The devices of accepted configuration `cfg` as their records load into `again` (its core
 * options replayed), which writes the same records. */
static void check_records(const struct vm_config *cfg, struct vm_config *again)
{
	char err[512] = "";
	json_t *doc = device_records(cfg);
	if (!doc)
		return; /* out of memory */
	int r = device_records_load(again, doc, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -ENOMEM, "an accepted command line's records refused: %s", err);
	json_t *doc2 = r ? NULL : device_records(again);
	char *a = json_dumps(doc, JSON_SORT_KEYS),
	     *b = doc2 ? json_dumps(doc2, JSON_SORT_KEYS) : NULL;
	FZ_ASSERT(!a || !b || !strcmp(a, b), "records written twice differ:\n%s\n%s", a, b);
	free(a);
	free(b);
	json_decref(doc);
	json_decref(doc2);
}

/* Instance `i` of device `d` of accepted `cfg`, written as its option string (a comma of a
 * value doubled), splits and adds (device_record_parse(), what its option parser does) into a
 * fresh configuration on its transport, which records the same instance. */
static void check_spec(const struct vm_config *cfg, const struct device_desc *d, int i)
{
	char spec[8192], err[512] = "", *a = NULL, *b = NULL;
	json_t *want = device_record_instance(cfg, d, i), *got = NULL;
	if (!want || device_record_spec(cfg, d, i, spec, sizeof(spec))) {
		json_decref(want); /* out of memory, or longer than any argument here */
		return;
	}
	if (d->record_head && !json_object_get(want, d->record_head)) {
		json_decref(want); /* no first element: a record several options made (--display's
				    * --input-script alone), which no one option's string says */
		return;
	}
	struct vm_config one;
	vm_config_init(&one);
	const char *t = json_string_value(json_object_get(want, "transport"));
	one.transport = t && !strcmp(t, "pci") ? TRANSPORT_PCI : TRANSPORT_MMIO;
	int r = device_record_parse(d, &one, spec, err, sizeof(err));
	FZ_ASSERT(r == 0 || r == -ENOMEM, "--%s %s (%s %d written back) refused: %s",
		  d->options[0].name, spec, d->name, i, err);
	got = r ? NULL : device_record_instance(&one, d, 0);
	a = json_dumps(want, JSON_SORT_KEYS);
	b = got ? json_dumps(got, JSON_SORT_KEYS) : NULL;
	FZ_ASSERT(!a || !b || !strcmp(a, b), "--%s %s reads back another record:\n%s\n%s",
		  d->options[0].name, spec, a, b);
	free(a);
	free(b);
	json_decref(want);
	json_decref(got);
	cli_free(&one);
}

/* Every device instance of accepted `cfg` through check_spec(). */
static void check_specs(const struct vm_config *cfg)
{
	for (const struct device_desc *d = device_records_next(cfg, NULL); d;
	     d = device_records_next(cfg, d))
		for (int i = 0; i < d->record_count(cfg); i++)
			check_spec(cfg, d, i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = fz_in_make(data, size);
	uint8_t unit = fz_u8(&in);
	uint64_t lo = fz_u8(&in) % 4 ? fz_u8(&in) : fz_u64(&in);
	uint64_t hi = fz_u8(&in) % 4 ? fz_u16(&in) : fz_u64(&in);
	size_t len;
	const uint8_t *rest = fz_take(&in, fz_left(&in), &len);

	char *buf = malloc(len + 1);
	char *argv[MAX_ARGS + 2] = {"vmm"};
	int argc = 1;
	if (!buf)
		return 0;
	memcpy(buf, rest, len);
	buf[len] = '\0';
	for (size_t start = 0; start <= len && argc <= MAX_ARGS;) {
		argv[argc++] = buf + start;
		start += strlen(buf + start) + 1;
	}
	argv[argc] = NULL;
	for (int i = 1; i < argc; i++)
		check_numbers(argv[i], unit, lo, hi);

	struct vm_config cfg;
	enum cli_result r = cli_parse(argc, argv, &cfg);
	FZ_ASSERT(r == CLI_RUN || r == CLI_EXIT_OK || r == CLI_EXIT_USAGE || r == CLI_CHECK_KVM ||
		      r == CLI_CHECK_CPU || r == CLI_CPU_TEMPLATE_DUMP ||
		      r == CLI_DESCRIBE_SNAPSHOT,
		  "cli_parse %d", r);
	FZ_ASSERT(r != CLI_CPU_TEMPLATE_DUMP || !cfg.cpu_template_verify || cfg.cpu_template,
		  "--cpu-template-verify accepted without a template");
	if (r == CLI_RUN) {
		FZ_ASSERT(cfg.kernel || cfg.firmware || cfg.api_sock || cfg.config_file ||
			      cfg.restore || cfg.migrate_from,
			  "accepted without a kernel, a firmware, an API socket, a config file, a "
			  "snapshot or a migration source");
		FZ_ASSERT(cfg.ncpus >= 1 && cfg.ncpus <= VM_MAX_CPUS, "ncpus %u", cfg.ncpus);
		FZ_ASSERT(cfg.mem_size >= MIB(2) && cfg.mem_size % KIB(4) == 0 &&
			      cfg.mem_size <= GUEST_RAM_MAX,
			  "mem_size %llu", (unsigned long long)cfg.mem_size);
	}
	char err[256] = "";
	if (r == CLI_RUN) {
		struct vm_config again;
		check_options(&cfg, &again);
		check_records(&cfg, &again);
		check_specs(&cfg);
		cli_free(&again);
	}
	cli_free(&cfg); /* --disk options own heap copies, whatever the result */
	struct vm_config one;
	vm_config_init(&one);
	for (int i = 1; i < argc; i++) {
		if (strncmp(argv[i], "--", 2) || !argv[i][2])
			continue;
		const char *arg =
		    i + 1 < argc && strncmp(argv[i + 1], "--", 2) ? argv[i + 1] : NULL;
		err[0] = '\0';
		int ar = cli_apply(&one, argv[i] + 2, arg, err, sizeof(err));
		FZ_ASSERT(ar == 0 || (ar < 0 && err[0]), "cli_apply(--%s) = %d without a message",
			  argv[i] + 2, ar);
	}
	cli_free(&one);
	free(buf);
	return 0;
}
