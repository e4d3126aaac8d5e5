/* The command line: every option, its parsing and the usage text. */
#ifndef VMM_CLI_H
#define VMM_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "host/sandbox/sandbox.h"
#include "host/ui/console.h"

#define CLI_MAX_CPUS	     64
#define CLI_DEFAULT_MEM	     (256ULL << 20)
#define CLI_IO_POLL_AUTO     UINT32_MAX /* --io-poll not given: vmm/vm/io_poll.h chooses */
#define CLI_MAX_IO_POLL_US   1000	/* the --help and error texts say so */
#define CLI_MAX_DISKS	     8
#define CLI_MAX_NICS	     4
#define CLI_MAX_DEVICE_KINDS 16 /* entries of vmm/descriptors/device_table.c */
#define CLI_MAX_RECORDED     96 /* options recorded for a snapshot's configuration */

/* The largest --mmds-size-limit: 64 MiB. */
#define CLI_MAX_MMDS_SIZE (64u << 20)
/* The largest --http-api-max-payload-size: 64 MiB, so an MMDS document of the largest store fits
 * one PUT (Firecracker takes any size; a connection holds one body at most). */
#define CLI_MAX_API_PAYLOAD (64u << 20)

/* One option as it was applied ("mem", "512M"; arg NULL for a flag). */
struct cli_record {
	char *name;
	char *arg;
};

/* How a virtio device reaches the guest. */
enum virtio_transport { TRANSPORT_MMIO, TRANSPORT_PCI };

struct mmds;
struct cpu_template;

struct vm_config {
	const char *kernel;
	const char *initrd;
	const char *append;
	const char *firmware;	  /* --firmware FILE: boot it instead of a kernel */
	const char *firmware_log; /* --firmware-log FILE: its debug console's lines */
	uint64_t mem_size;
	unsigned ncpus;
	/* --cpus boot=N,max=M: the possible vCPUs, vCPU hotplug up to M (vmm/vm/cpu_hotplug.h);
	 * 0: no vCPU hotplug */
	unsigned max_vcpus;
	/* --transport applies to the device options after it (default mmio). */
	enum virtio_transport transport; /* the one in effect while parsing */
	bool debug_exit;
	bool boot_timer;      /* --boot-timer: boot-timer device + phase report on stderr */
	bool hugepages;	      /* --hugepages: guest RAM on transparent huge pages */
	bool mem_shared;      /* --mem-shared: guest RAM in one memfd (local migration) */
	bool vfio_hotplug;    /* --vfio-hotplug: a passed-through device may be hot-added */
	bool smt;	      /* --smt: two threads per core in CPUID (cpus 1 or even) */
	unsigned io_poll_us;  /* --io-poll: I/O threads' polling window cap (virtio/core/poll.h),
			       * or CLI_IO_POLL_AUTO */
	bool dtb;	      /* --dtb: give the guest a device tree (firmware/fdt.h) */
	const char *dump_dtb; /* --dump-dtb PATH: write the device tree there and exit */
	const char *kvm_path;
	/* --describe-snapshot FILE: print the snapshot format version of a state file, exit
	 * (CLI_DESCRIBE_SNAPSHOT) */
	const char *describe_snapshot;
	bool check_kvm; /* --check-kvm: probe kvm_path, print one line, exit (CLI_CHECK_KVM) */
	const char
	    *check_cpu;	    /* --check-cpu DIR: can this host run that snapshot? (CLI_CHECK_CPU) */
	bool cpu_check_off; /* --cpu-check off: restore or receive on a lesser CPU, warned */
	/* --working-set load|off|record with --restore (vmm/snapshot/working_set.h); NULL: load */
	const char *working_set;
	/* --working-set-ms MS with --working-set record: the recording's time limit (0: none) */
	uint64_t working_set_ms;
	bool clock_realtime; /* --clock-realtime with --restore: kvmclock moves on
				(docs/snapshots.md) */
	/* --cpu-template NAME, --cpu-template-file FILE, machine-config cpu_template, PUT
	 * /cpu-config: what the guest's CPUID and MSRs are changed by (docs/cpu.md); malloc'd,
	 * freed by cli_free(); NULL: none. Not recorded: a snapshot carries the CPUID it made. */
	struct cpu_template *cpu_template;
	bool cpu_template_dump; /* --cpu-template-dump: print the guest's CPUID, exit */
	/* --cpu-template-verify: check the template on a scratch vCPU, exit (also
	 * CLI_CPU_TEMPLATE_DUMP) */
	bool cpu_template_verify;
	/* --acpi off: no ACPI tables, no sleep registers (the MP table is written either way) */
	bool acpi_off;
	const char *api_sock;	/* --api-sock PATH: serve the HTTP API there (vmm/api/) */
	size_t mmds_size_limit; /* --mmds-size-limit BYTES, 0: the default (virtio/net/mmds/) */
	/* --http-api-max-payload-size BYTES: the largest API request body, 0: Firecracker's 51200
	 * (vmm/api/); also the MMDS store's limit when --mmds-size-limit is not given */
	size_t api_max_payload;
	const char *instance_id; /* --id ID (cli_instance_id_ok()); NULL: anonymous-instance, as
				    Firecracker */
	/* What Firecracker's jailer passes: its CLOCK_MONOTONIC and process CPU time at start and
	 * its own CPU time (microseconds), for the metrics' startup times (vm_metrics.h). */
	uint64_t start_time_us, start_time_cpu_us, parent_cpu_time_us;
	bool have_start_time;	  /* --start-time-us given */
	bool have_start_time_cpu; /* --start-time-cpu-us given */
	/* Firecracker's --log-path, --level, --module, --show-level, --show-log-origin: applied
	 * at start as a PUT /logger body (vmm/api/api_logger.h); given: any of them was */
	struct {
		const char *path, *level, *module;
		bool show_level, show_origin, given;
	} fc_log;
	const char *fc_metrics_path; /* Firecracker's --metrics-path: PUT /metrics at start */
	bool fc_no_api;		     /* Firecracker's --no-api (needs --config-file) */
	/* The API's MMDS (virtio/net/mmds/mmds.h), kept in snapshots; NULL without one. Set by the
	 * control thread (vmm/api/control.c), never parsed. */
	struct mmds *mmds;
	const char *config_file; /* --config-file FILE: the VM as JSON in the API's schema */
	int verbosity;		 /* 0 = info, 1+ = debug, -1 = errors only */
	/* The configuration blocks of devices that keep theirs private (device_cfg() in
	 * vmm/descriptors/device_table.h), indexed like device_table[]; NULL until the device's
	 * option is given. A new device needs no field above. */
	void *device_cfg[CLI_MAX_DEVICE_KINDS];
	/* Every option that shapes the VM, in the order applied (command line, config file, API):
	 * a snapshot saves it and a restore replays it through the same parsers (cli_replay()),
	 * so the restored VM has the same devices in the same order. Not recorded: how the VMM
	 * itself runs (--api-sock, --config-file, --restore, --kvm, -v, -q, --dump-dtb). */
	struct cli_record recorded[CLI_MAX_RECORDED];
	int nrecorded;
	const char *restore; /* --restore DIR: a snapshot to resume (vmm/snapshot/vm_snapshot.h) */
	const char *migrate_from;   /* --migrate-from URL: receive a migrating VM (vm_migrate.h) */
	bool track_dirty_pages;	    /* --track-dirty-pages: for Diff snapshots */
	enum sandbox_mode seccomp;  /* --seccomp on|log|off (host/sandbox/sandbox.h) */
	bool switch_user;	    /* --user UID:GID */
	bool landlock_off;	    /* --landlock off (host/sandbox/sandbox.h) */
	const char *landlock_rules; /* --landlock-rules PATH:ro|rw,... */
	unsigned uid, gid;
};

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
 * Every option of the command line (the core's below and every device option of
 * vmm/descriptors/device_table.h) is declared here, so that a restore knows which recorded
 * options name host files (vmm/snapshot/restore_paths.h) and a new option that names one cannot
 * be forgotten (tests/unit/vmm/snapshot/test_restore_paths.c walks every option). */
enum cli_path_use {
	CLI_PATH_NONE,	  /* the argument names no host path */
	CLI_PATH_ARG,	  /* the argument is a host path (recorded: a restore checks it) */
	CLI_PATH_BOOT,	  /* a path read only to boot (--kernel, --initrd): a restore never opens
			   * it, so it is not checked */
	CLI_PATH_PROCESS, /* a path of how this process runs (--api-sock, --config-file, ...):
			   * never recorded, so never from a snapshot */
	CLI_PATH_CLAIMS,  /* a device option whose argument may name host paths, sockets or
			   * taps: its descriptor's claims hook lists them (DEVICE_CLAIM_PATH,
			   * DEVICE_CLAIM_SOCKET), which a restore checks */
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

/* The defaults cli_parse() starts from (256 MiB, 1 vCPU, console on stdio). */
void cli_config_init(struct vm_config *cfg);

/* Applies one device option (`name` without "--", e.g. "disk", "net") as if it were on the command
 * line, with cfg->transport in effect: the API builds its configuration through the very parsers
 * the command line uses. Returns 0, or -errno with the reason in err[0..errlen). */
int cli_device_option(struct vm_config *cfg, const char *name, const char *arg, char *err,
		      size_t errlen);

/* Applies one option by its long name (core or device) and records it; what the API and a
 * restore use. Returns 0, or -errno with the reason in err[0..errlen). */
int cli_apply(struct vm_config *cfg, const char *name, const char *arg, char *err, size_t errlen);

/* Records an option applied without its parser (the API sets kernel, memory and vCPUs
 * directly). Returns 0 or -ENOMEM / -E2BIG. */
int cli_record(struct vm_config *cfg, const char *name, const char *arg);

/* Drops record i, the later ones moving down (a hot-added device removed). */
void cli_unrecord_at(struct vm_config *cfg, int i);

/* Drops the records past the first `n` (a caller undoing what it applied). */
void cli_unrecord_to(struct vm_config *cfg, int n);

/* A fresh configuration (cli_config_init()) with `n` recorded options applied in order.
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
