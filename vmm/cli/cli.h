/* The command line: every option, its parsing and the usage text, into a struct vm_config
 * (vmm/config/vm_config.h). */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/config/vm_config.h"

/* The longest --id, as Firecracker's (and its jailer's) instance id. */
#define CLI_INSTANCE_ID_MAX 64

/* Whether `id` is a valid instance id: 1-64 ASCII letters, digits and '-' (Firecracker's
 * validate_instance_id). */
bool cli_instance_id_ok(const char *id);

enum cli_result {
	CLI_RUN,
	CLI_EXIT_OK,
	CLI_EXIT_USAGE,
	CLI_CHECK_KVM,
	CLI_CHECK_CPU,
	CLI_CPU_TEMPLATE_DUMP,
	CLI_DESCRIBE_SNAPSHOT
};

/* ---- What an option's argument says about host paths ----
 * Every option of the command line (the core's below, and every device option of
 * vmm/descriptors/device_table.h by its descriptor) is declared, so that a restore knows which
 * recorded options name host files (vmm/snapshot/restore_paths.h) and a new option that names one
 * cannot be forgotten (tests/unit/vmm/snapshot/test_restore_paths.c walks every option). */
enum cli_path_use {
	CLI_PATH_NONE,	  /* the argument names no host path */
	CLI_PATH_ARG,	  /* the argument is a host path (recorded: a restore checks it) */
	CLI_PATH_BOOT,	  /* a path read only to boot (--kernel, --initrd): a restore never opens
			   * it, so it is not checked */
	CLI_PATH_PROCESS, /* a path of how this process runs (--api-sock, --config-file, ...):
			   * never recorded, so never from a snapshot */
	CLI_PATH_CLAIMS,  /* a device option whose argument may name host paths, sockets or
			   * taps: its descriptor's path fields list them (device_desc.paths,
			   * vmm/descriptors/device_paths.h), which a restore checks */
	CLI_PATH_REFUSED, /* names a host resource a snapshot cannot carry (--device vfio=: a VM
			   * with a passed-through device cannot be saved): a restore refuses it */
};

/* What a path option does with its path (bits; restore_paths.h's RESTORE_* are the same). */
enum {
	CLI_PATH_READ = 1u,
	CLI_PATH_WRITE = 2u,
	CLI_PATH_CREATE = 4u,
};

struct cli_path_decl {
	const char *option; /* the long option, without "--" */
	enum cli_path_use use;
	unsigned access;  /* CLI_PATH_ARG, CLI_PATH_BOOT: CLI_PATH_* bits */
	const char *what; /* CLI_PATH_ARG, CLI_PATH_REFUSED: how messages name it ("firmware") */
	/* CLI_PATH_ARG: how the operator gives another path on a restore besides
	 * --landlock-rules ("--restore DIR --firmware PATH"), or NULL */
	const char *hint;
};

/* The declaration of option `name` (without "--"), or NULL: an option nobody declared. */
const struct cli_path_decl *cli_option_path(const char *name);

/* Parses argv into `cfg` (defaults first). On a bad option prints why and a hint to stderr and
 * returns CLI_EXIT_USAGE; on --help or --version prints to stdout and returns CLI_EXIT_OK; with
 * --check-kvm returns CLI_CHECK_KVM (no kernel needed: the caller probes cfg->kvm_path); with
 * --check-cpu DIR, CLI_CHECK_CPU (vmm/snapshot/cpu_check.h); with --cpu-template-dump or
 * --cpu-template-verify, CLI_CPU_TEMPLATE_DUMP (vmm/vm/cpu_template_dump.h); with
 * --describe-snapshot FILE, CLI_DESCRIBE_SNAPSHOT (cli_describe_snapshot()). --snapshot-version
 * prints cli_snapshot_version() and returns CLI_EXIT_OK. */
enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg);

/* Applies one device option (`name` without "--", e.g. "disk", "net") as if it were on the command
 * line, with cfg->transport in effect: the API builds its configuration through the very parsers
 * the command line uses. Returns 0, or -errno with the reason in err[0..errlen). */
int cli_device_option(struct vm_config *cfg, const char *name, const char *arg, char *err,
		      size_t errlen);

/* Applies one option by its long name (core or device), what the API and a restore use; a core
 * option is recorded (vm_config.recorded[]), a device's is in its block only. Returns 0, or
 * -errno with the reason in err[0..errlen). */
int cli_apply(struct vm_config *cfg, const char *name, const char *arg, char *err, size_t errlen);

/* Records an option applied without its parser (the API sets kernel, memory and vCPUs
 * directly). Returns 0 or -ENOMEM / -E2BIG. */
int cli_record(struct vm_config *cfg, const char *name, const char *arg);

/* Drops the records past the first `n` (a caller undoing what it applied). */
void cli_unrecord_to(struct vm_config *cfg, int n);

/* A fresh configuration (vm_config_init()) with `n` recorded options applied in order (cli_apply():
 * a version-1 snapshot's device options among them fill the devices' blocks, unrecorded).
 * Returns 0, or -errno with the reason (naming the option) in err[0..errlen). */
int cli_replay(struct vm_config *cfg, const struct cli_record *rec, int n, char *err,
	       size_t errlen);

/* The snapshot format version this VMM writes, as Firecracker's --snapshot-version prints it
 * without its "v": "MAJOR.0.0" (our format has one number, SNAP_FORMAT_VERSION). */
const char *cli_snapshot_version(void);
/* --describe-snapshot: prints "vN.0.0", the format version in the header of the snapshot state
 * file `path`, to stdout and returns 0; a file that cannot be opened or is not a snapshot state
 * file: a message naming it on stderr, returns 1 (Firecracker's exit status for it). */
int cli_describe_snapshot(const char *path);
/* Frees what cli_parse() allocated (the records, the devices' configuration blocks). */
void cli_free(struct vm_config *cfg);

#endif
