/* The VM's configuration: what the command line, the config file, the API and a snapshot's
 * restore fill in, and what vmm/vm builds the VM from. The command line's parser is vmm/cli/cli.h;
 * the device descriptors (vmm/descriptors/device_table.h) keep each device's own block in
 * device_cfg[]. This layer sits below the rest of vmm/ so that the VM, the descriptors and the
 * snapshot read the configuration without the command line. */
#ifndef VMM_CONFIG_VM_CONFIG_H
#define VMM_CONFIG_VM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "host/sandbox/sandbox.h"

#define VM_MAX_CPUS	    64
#define VM_DEFAULT_MEM	    (256ULL << 20)
#define VM_IO_POLL_AUTO	    UINT32_MAX /* --io-poll not given: vmm/vm/io_poll.h chooses */
#define VM_MAX_IO_POLL_US   1000       /* the --help and error texts say so */
#define VM_MAX_DISKS	    8
#define VM_MAX_NICS	    4
#define VM_MAX_DEVICE_KINDS 16 /* entries of vmm/descriptors/device_table.c */
#define VM_MAX_RECORDED	    96 /* core options recorded for a snapshot's configuration */
/* --working-set-ms, the API's "working_set_record_ms": one hour at most */
#define WS_RECORD_MS_MAX 3600000u
/* --vhost-user-timeout's range, in ms (the --help and error texts say so) */
#define VM_MIN_VU_TIMEOUT_MS 100
#define VM_MAX_VU_TIMEOUT_MS 600000

/* The largest --mmds-size-limit: 64 MiB. */
#define VM_MAX_MMDS_SIZE (64u << 20)
/* The largest --http-api-max-payload-size: 64 MiB, so an MMDS document of the largest store fits
 * one PUT (Firecracker takes any size; a connection holds one body at most). */
#define VM_MAX_API_PAYLOAD (64u << 20)

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
	/* --firmware-vars FILE: a UEFI firmware's variable store, flash below the code image
	 * (loaders/x86/firmware_vars.h) */
	const char *firmware_vars;
	/* --no-reboot: a reset of a firmware-booted VM ends the VMM, as a direct boot's does,
	 * instead of starting the firmware again (vmm/vm/reboot.h) */
	bool no_reboot;
	/* not an option: this process boots the firmware again after a reset (vmm/vm/reboot.h), so
	 * the files a boot writes (--firmware-log, --console file:) are appended to */
	bool restarted;
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
			       * or VM_IO_POLL_AUTO */
	bool dtb;	      /* --dtb: give the guest a device tree (firmware/fdt.h) */
	const char *dump_dtb; /* --dump-dtb PATH: write the device tree there and exit */
	const char *kvm_path;
	/* --vhost-user-timeout: how long a vhost-user device waits for its back-end's answers in
	 * one sequence (virtio/vhost_user/vu_conn.h's budget); 0: VU_DEFAULT_TIMEOUT_MS */
	unsigned vu_timeout_ms;
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
	size_t mmds_size_limit; /* --mmds-size-limit BYTES, 0: the default (vmm/mmds/) */
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
	/* The API's MMDS (vmm/mmds/mmds.h), kept in snapshots; NULL without one. Set by the
	 * control thread (vmm/api/control.c), never parsed. */
	struct mmds *mmds;
	const char *config_file; /* --config-file FILE: the VM as JSON in the API's schema */
	int verbosity;		 /* 0 = info, 1+ = debug, -1 = errors only */
	/* The configuration blocks of devices that keep theirs private (device_cfg() in
	 * vmm/descriptors/device_table.h), indexed like device_table[]; NULL until the device's
	 * option is given. A new device needs no field above. */
	void *device_cfg[VM_MAX_DEVICE_KINDS];
	/* The core's options that shape the VM (--mem, --cpus, --kernel, --transport, ...), in the
	 * order applied (command line, config file, API): a snapshot saves them and a restore
	 * replays them through the same parsers (cli_replay()). Not here: the devices' options,
	 * whose instances are their blocks in device_cfg[] (a snapshot saves their records:
	 * vmm/descriptors/device_record.h), and how the VMM itself runs (--api-sock,
	 * --config-file, --restore, --kvm, -v, -q, --dump-dtb). */
	struct cli_record recorded[VM_MAX_RECORDED];
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

/* The defaults every configuration starts from (256 MiB, 1 vCPU, /dev/kvm, console on stdio):
 * the command line's, the API's and a restore's alike. */
void vm_config_init(struct vm_config *cfg);

#endif
