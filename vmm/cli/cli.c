/* Command-line parsing into a struct vm_config. */
#include "vmm/cli/cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/host_path.h"
#include "base/layout.h"
#include "base/options.h"
#include "base/parse.h"
#include "firmware/fdt.h"
#include "host/sandbox/sandbox.h"
#include "loaders/boot.h"
#include "vmm/descriptors/device_record.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/migration/stream/mig_url.h"
#include "vmm/vm/cpu_template_config.h"

#define VMM_VERSION "0.1.0"

/* Options of the core; the devices' options come from vmm/descriptors/device_table.h and get the
 * values from OPT_DEVICE up, in table order. */
enum {
	OPT_DEBUG_EXIT = 256,
	OPT_KVM,
	OPT_TRANSPORT,
	OPT_DTB,
	OPT_ACPI,
	OPT_DUMP_DTB,
	OPT_BOOT_TIMER,
	OPT_HUGEPAGES,
	OPT_SMT,
	OPT_API_SOCK,
	OPT_CONFIG_FILE,
	OPT_RESTORE,
	OPT_TRACK_DIRTY,
	OPT_SECCOMP,
	OPT_USER,
	OPT_LANDLOCK,
	OPT_LANDLOCK_RULES,
	OPT_IO_POLL,
	OPT_VU_TIMEOUT,
	OPT_CHECK_KVM,
	OPT_MMDS_SIZE_LIMIT,
	OPT_HTTP_MAX_PAYLOAD,
	OPT_MIGRATE_FROM,
	OPT_MEM_SHARED,
	OPT_VFIO_HOTPLUG,
	OPT_FIRMWARE,
	OPT_FIRMWARE_LOG,
	OPT_FIRMWARE_VARS,
	OPT_NO_REBOOT,
	OPT_CHECK_CPU,
	OPT_CPU_CHECK,
	OPT_WORKING_SET,
	OPT_WORKING_SET_MS,
	OPT_CLOCK_REALTIME,
	OPT_CPU_TEMPLATE,
	OPT_CPU_TEMPLATE_FILE,
	OPT_CPU_TEMPLATE_DUMP,
	OPT_CPU_TEMPLATE_VERIFY,
	OPT_INSTANCE_ID,
	OPT_START_TIME_US,
	OPT_START_TIME_CPU_US,
	OPT_PARENT_CPU_TIME_US,
	OPT_NO_SECCOMP,
	OPT_FC_LOG_PATH,
	OPT_FC_LEVEL,
	OPT_FC_MODULE,
	OPT_FC_SHOW_LEVEL,
	OPT_FC_SHOW_ORIGIN,
	OPT_FC_METRICS_PATH,
	OPT_FC_SECCOMP_FILTER,
	OPT_FC_NO_API,
	OPT_ENABLE_PCI,
	OPT_SNAPSHOT_VERSION,
	OPT_DESCRIBE_SNAPSHOT,
	OPT_DEVICE = 512,
};

static const struct option core_options[] = {
    {"kernel", required_argument, NULL, 'k'},
    {"initrd", required_argument, NULL, 'i'},
    {"append", required_argument, NULL, 'a'},
    {"firmware", required_argument, NULL, OPT_FIRMWARE},
    {"firmware-log", required_argument, NULL, OPT_FIRMWARE_LOG},
    {"firmware-vars", required_argument, NULL, OPT_FIRMWARE_VARS},
    {"no-reboot", no_argument, NULL, OPT_NO_REBOOT},
    {"mem", required_argument, NULL, 'm'},
    {"cpus", required_argument, NULL, 'c'},
    {"transport", required_argument, NULL, OPT_TRANSPORT},
    {"debug-exit", no_argument, NULL, OPT_DEBUG_EXIT},
    {"dtb", no_argument, NULL, OPT_DTB},
    {"acpi", required_argument, NULL, OPT_ACPI},
    {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
    {"kvm", required_argument, NULL, OPT_KVM},
    {"check-kvm", no_argument, NULL, OPT_CHECK_KVM},
    {"check-cpu", required_argument, NULL, OPT_CHECK_CPU},
    {"cpu-check", required_argument, NULL, OPT_CPU_CHECK},
    {"working-set", required_argument, NULL, OPT_WORKING_SET},
    {"working-set-ms", required_argument, NULL, OPT_WORKING_SET_MS},
    {"clock-realtime", no_argument, NULL, OPT_CLOCK_REALTIME},
    {"boot-timer", no_argument, NULL, OPT_BOOT_TIMER},
    {"hugepages", no_argument, NULL, OPT_HUGEPAGES},
    {"smt", no_argument, NULL, OPT_SMT},
    {"cpu-template", required_argument, NULL, OPT_CPU_TEMPLATE},
    {"cpu-template-file", required_argument, NULL, OPT_CPU_TEMPLATE_FILE},
    {"cpu-template-dump", no_argument, NULL, OPT_CPU_TEMPLATE_DUMP},
    {"cpu-template-verify", no_argument, NULL, OPT_CPU_TEMPLATE_VERIFY},
    {"api-sock", required_argument, NULL, OPT_API_SOCK},
    {"config-file", required_argument, NULL, OPT_CONFIG_FILE},
    {"restore", required_argument, NULL, OPT_RESTORE},
    {"migrate-from", required_argument, NULL, OPT_MIGRATE_FROM},
    {"mem-shared", no_argument, NULL, OPT_MEM_SHARED},
    {"vfio-hotplug", no_argument, NULL, OPT_VFIO_HOTPLUG},
    {"track-dirty-pages", no_argument, NULL, OPT_TRACK_DIRTY},
    {"seccomp", required_argument, NULL, OPT_SECCOMP},
    {"user", required_argument, NULL, OPT_USER},
    {"landlock", required_argument, NULL, OPT_LANDLOCK},
    {"landlock-rules", required_argument, NULL, OPT_LANDLOCK_RULES},
    {"io-poll", required_argument, NULL, OPT_IO_POLL},
    {"vhost-user-timeout", required_argument, NULL, OPT_VU_TIMEOUT},
    {"mmds-size-limit", required_argument, NULL, OPT_MMDS_SIZE_LIMIT},
    {"http-api-max-payload-size", required_argument, NULL, OPT_HTTP_MAX_PAYLOAD},
    {"id", required_argument, NULL, OPT_INSTANCE_ID},
    {"start-time-us", required_argument, NULL, OPT_START_TIME_US},
    {"start-time-cpu-us", required_argument, NULL, OPT_START_TIME_CPU_US},
    {"parent-cpu-time-us", required_argument, NULL, OPT_PARENT_CPU_TIME_US},
    {"no-seccomp", no_argument, NULL, OPT_NO_SECCOMP},
    {"seccomp-filter", required_argument, NULL, OPT_FC_SECCOMP_FILTER},
    {"log-path", required_argument, NULL, OPT_FC_LOG_PATH},
    {"level", required_argument, NULL, OPT_FC_LEVEL},
    {"module", required_argument, NULL, OPT_FC_MODULE},
    {"show-level", no_argument, NULL, OPT_FC_SHOW_LEVEL},
    {"show-log-origin", no_argument, NULL, OPT_FC_SHOW_ORIGIN},
    {"metrics-path", required_argument, NULL, OPT_FC_METRICS_PATH},
    {"no-api", no_argument, NULL, OPT_FC_NO_API},
    {"enable-pci", no_argument, NULL, OPT_ENABLE_PCI},
    {"snapshot-version", no_argument, NULL, OPT_SNAPSHOT_VERSION},
    {"describe-snapshot", required_argument, NULL, OPT_DESCRIBE_SNAPSHOT},
    {"verbose", no_argument, NULL, 'v'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'V'},
};

/* What every option's argument says about host paths (cli.h, "What an option's argument says
 * about host paths"): the core's options here, every device option by its descriptor (its
 * record's path fields) unless listed here; test_restore_paths fails for an option missing. */
#define PATH_R		      CLI_PATH_READ
#define PATH_WC		      (CLI_PATH_WRITE | CLI_PATH_CREATE)
#define RESTORE_FIRMWARE_HINT "--restore DIR --firmware PATH"
#define RESTORE_VARS_HINT     "--restore DIR --firmware-vars PATH"
static const struct cli_path_decl path_decls[] = {
    /* boot: the kernel and initrd are read to boot, never by a restore (vmm/vm/vm.c) */
    {"kernel", CLI_PATH_BOOT, PATH_R, "kernel", NULL},
    {"initrd", CLI_PATH_BOOT, PATH_R, "initrd", NULL},
    {"append", CLI_PATH_NONE, 0, NULL, NULL},
    /* a restore maps the firmware's ROM again (vm_firmware_open()) */
    {"firmware", CLI_PATH_ARG, PATH_R, "firmware", RESTORE_FIRMWARE_HINT},
    /* written only while the firmware runs, at a boot (vm_firmware_open()) */
    {"firmware-log", CLI_PATH_BOOT, PATH_WC, "firmware log", NULL},
    /* the flash the firmware keeps its variables in: a restore writes the saved ones there */
    {"firmware-vars", CLI_PATH_ARG, PATH_R | CLI_PATH_WRITE, "firmware variable store",
     RESTORE_VARS_HINT},
    {"no-reboot", CLI_PATH_NONE, 0, NULL, NULL},
    {"mem", CLI_PATH_NONE, 0, NULL, NULL},
    {"cpus", CLI_PATH_NONE, 0, NULL, NULL},
    {"transport", CLI_PATH_NONE, 0, NULL, NULL},
    {"debug-exit", CLI_PATH_NONE, 0, NULL, NULL},
    {"dtb", CLI_PATH_NONE, 0, NULL, NULL},
    {"acpi", CLI_PATH_NONE, 0, NULL, NULL},
    {"dump-dtb", CLI_PATH_PROCESS, PATH_WC, NULL, NULL},
    {"kvm", CLI_PATH_PROCESS, PATH_R | CLI_PATH_WRITE, NULL, NULL},
    {"check-kvm", CLI_PATH_NONE, 0, NULL, NULL},
    {"check-cpu", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"cpu-check", CLI_PATH_NONE, 0, NULL, NULL},
    {"working-set", CLI_PATH_NONE, 0, NULL, NULL},
    {"working-set-ms", CLI_PATH_NONE, 0, NULL, NULL},
    {"clock-realtime", CLI_PATH_NONE, 0, NULL, NULL},
    {"boot-timer", CLI_PATH_NONE, 0, NULL, NULL},
    {"hugepages", CLI_PATH_NONE, 0, NULL, NULL},
    {"smt", CLI_PATH_NONE, 0, NULL, NULL},
    {"cpu-template", CLI_PATH_NONE, 0, NULL, NULL},
    {"cpu-template-file", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"cpu-template-dump", CLI_PATH_NONE, 0, NULL, NULL},
    {"cpu-template-verify", CLI_PATH_NONE, 0, NULL, NULL},
    {"api-sock", CLI_PATH_PROCESS, PATH_WC, NULL, NULL},
    {"config-file", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"restore", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"migrate-from", CLI_PATH_PROCESS, PATH_WC, NULL, NULL},
    {"mem-shared", CLI_PATH_NONE, 0, NULL, NULL},
    {"vfio-hotplug", CLI_PATH_NONE, 0, NULL, NULL},
    {"track-dirty-pages", CLI_PATH_NONE, 0, NULL, NULL},
    {"seccomp", CLI_PATH_NONE, 0, NULL, NULL},
    {"user", CLI_PATH_NONE, 0, NULL, NULL},
    {"landlock", CLI_PATH_NONE, 0, NULL, NULL},
    {"landlock-rules", CLI_PATH_PROCESS, PATH_R | PATH_WC, NULL, NULL},
    {"io-poll", CLI_PATH_NONE, 0, NULL, NULL},
    {"vhost-user-timeout", CLI_PATH_NONE, 0, NULL, NULL},
    {"mmds-size-limit", CLI_PATH_NONE, 0, NULL, NULL},
    {"http-api-max-payload-size", CLI_PATH_NONE, 0, NULL, NULL},
    {"id", CLI_PATH_NONE, 0, NULL, NULL},
    {"start-time-us", CLI_PATH_NONE, 0, NULL, NULL},
    {"start-time-cpu-us", CLI_PATH_NONE, 0, NULL, NULL},
    {"parent-cpu-time-us", CLI_PATH_NONE, 0, NULL, NULL},
    {"no-seccomp", CLI_PATH_NONE, 0, NULL, NULL},
    {"seccomp-filter", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"log-path", CLI_PATH_PROCESS, PATH_WC, NULL, NULL},
    {"level", CLI_PATH_NONE, 0, NULL, NULL},
    {"module", CLI_PATH_NONE, 0, NULL, NULL},
    {"show-level", CLI_PATH_NONE, 0, NULL, NULL},
    {"show-log-origin", CLI_PATH_NONE, 0, NULL, NULL},
    {"metrics-path", CLI_PATH_PROCESS, PATH_WC, NULL, NULL},
    {"no-api", CLI_PATH_NONE, 0, NULL, NULL},
    {"enable-pci", CLI_PATH_NONE, 0, NULL, NULL},
    {"snapshot-version", CLI_PATH_NONE, 0, NULL, NULL},
    {"describe-snapshot", CLI_PATH_PROCESS, PATH_R, NULL, NULL},
    {"verbose", CLI_PATH_NONE, 0, NULL, NULL},
    {"quiet", CLI_PATH_NONE, 0, NULL, NULL},
    {"help", CLI_PATH_NONE, 0, NULL, NULL},
    {"version", CLI_PATH_NONE, 0, NULL, NULL},
    /* the device options (vmm/descriptors/device_table.c) are their descriptors' (paths: the
     * path fields of their records, device_desc.paths; cli_option_path()), but for: */
    /* a host PCI function (its sysfs path): a VM that has one cannot be saved
     * (device_table_unsaveable()), so a snapshot that names one is not ours */
    {"device", CLI_PATH_REFUSED, 0, "passed-through host device", NULL},
};

/* What a device option not in path_decls[] says: whether its descriptor's record names host
 * paths (device_desc.paths), so that a new device is declared by its descriptor alone. */
static const struct cli_path_decl device_paths_decl = {"", CLI_PATH_CLAIMS, 0, NULL, NULL};
static const struct cli_path_decl device_none_decl = {"", CLI_PATH_NONE, 0, NULL, NULL};

const struct cli_path_decl *cli_option_path(const char *name)
{
	for (size_t i = 0; i < sizeof(path_decls) / sizeof(path_decls[0]); i++)
		if (!strcmp(path_decls[i].option, name))
			return &path_decls[i];
	const struct device_desc *d = device_table_option_owner(name, NULL);
	if (!d)
		return NULL;
	return d->paths ? &device_paths_decl : &device_none_decl;
}

#define NCORE	    (sizeof(core_options) / sizeof(core_options[0]))
#define MAX_OPTIONS 80

/* The device option with getopt value `val` (>= OPT_DEVICE), or NULL. */
static const struct device_option *device_option(int val)
{
	int n = val - OPT_DEVICE;
	for (int i = 0; device_table[i]; i++)
		for (const struct device_option *o = device_table[i]->options; o->name; o++)
			if (n-- == 0)
				return o;
	return NULL;
}

/* The entry of option `val` that parses `arg` (two descriptors may share an option name:
 * device_option.takes). */
static const struct device_option *device_option_for(int val, const char *arg)
{
	const struct device_option *o = device_option(val);
	return o ? device_table_option(o->name, arg) : NULL;
}

/* Whether `o` is the first entry of the table with its name (a shared name is one getopt
 * option, and its usage is printed once, at that place). */
static bool first_of_name(const struct device_option *o)
{
	for (int i = 0; device_table[i]; i++)
		for (const struct device_option *p = device_table[i]->options; p->name; p++)
			if (!strcmp(p->name, o->name))
				return p == o;
	return false;
}

/* getopt_long()'s array: the core's options, then every device option of the table. */
static const struct option *all_options(void)
{
	static struct option opts[MAX_OPTIONS + 1];
	size_t n = 0;
	for (; n < NCORE; n++)
		opts[n] = core_options[n];
	int val = OPT_DEVICE;
	for (int i = 0; device_table[i]; i++)
		for (const struct device_option *o = device_table[i]->options; o->name; o++) {
			if (n < MAX_OPTIONS && first_of_name(o))
				opts[n++] = (struct option){o->name, o->has_arg, NULL, val};
			val++;
		}
	opts[n] = (struct option){NULL, 0, NULL, 0};
	return opts;
}

/* Every device option's usage, those sharing a name together. */
static void device_usage(FILE *out)
{
	for (int i = 0; device_table[i]; i++)
		for (const struct device_option *o = device_table[i]->options; o->name; o++) {
			if (!first_of_name(o))
				continue;
			for (int j = i; device_table[j]; j++)
				for (const struct device_option *p = device_table[j]->options;
				     p->name; p++)
					if (!strcmp(p->name, o->name))
						fputs(p->usage, out);
		}
}

void cli_usage(FILE *out)
{
	fputs("Usage: vmm [OPTIONS] --kernel PATH\n"
	      "       vmm [OPTIONS] --config-file FILE\n"
	      "       vmm [OPTIONS] --api-sock PATH\n"
	      "       vmm [OPTIONS] --restore DIR\n"
	      "       vmm [OPTIONS] --migrate-from unix:PATH|tcp:HOST:PORT\n"
	      "Boots a guest on KVM.\n"
	      "\n"
	      "Boot:\n",
	      out);
	fputs(boot_kernel_usage, out);
	fputs(
	    "  -a, --append CMDLINE  kernel command line\n"
	    "      --firmware FILE   boot an unmodified PC firmware (SeaBIOS\n"
	    "                        /usr/share/seabios/bios-256k.bin); with --kernel it boots\n"
	    "                        that bzImage; its debug port 0x402 output is in the log\n"
	    "                        at -v -v\n"
	    "      --firmware-log FILE  write the firmware's debug port lines to FILE\n"
	    "      --firmware-vars FILE  a UEFI firmware's variables, kept in FILE: a copy\n"
	    "                        of OVMF_VARS_4M.fd of this VM's own, with --firmware\n"
	    "                        OVMF_CODE_4M.fd; what the guest sets there (boot order,\n"
	    "                        efivarfs) stays in FILE\n"
	    "      --no-reboot       a guest's reset ends the VMM (status 0) under --firmware\n"
	    "                        too; by default it starts the firmware again (QEMU's\n"
	    "                        -no-reboot)\n"
	    "\n"
	    "Machine:\n"
	    "  -m, --mem SIZE        guest RAM: 256M, 2G, 4096K (a bare number is MiB);\n"
	    "                        default 256M\n"
	    "  -c, --cpus N          number of vCPUs, 1-64; default 1\n"
	    "      --cpus boot=N,max=M  N vCPUs at boot, up to M later (vCPU hotplug:\n"
	    "                        PUT /vmm/vm.resize; needs ACPI)\n"
	    "      --smt             two threads per core in the guest's CPU topology (vCPUs\n"
	    "                        2k and 2k+1 share core k; --cpus 1 or even), as\n"
	    "                        Firecracker's machine-config smt\n"
	    "      --cpu-template NAME  Firecracker's static CPU template: T2, T2S, T2CL, C3\n"
	    "                        (Intel hosts), T2A (AMD hosts); V1N1 (arm64: Linux 6.7+\n"
	    "                        hosts); None (default)\n"
	    "      --cpu-template-file FILE  a custom CPU template in Firecracker's JSON\n"
	    "                        (x86: cpuid_modifiers, msr_modifiers; arm64:\n"
	    "                        reg_modifiers; kvm_capabilities)\n"
	    "      --cpu-template-dump  print the CPUID (arm64: the ID registers) a vCPU would\n"
	    "                        get here (with --cpus, --smt and a template) as a custom\n"
	    "                        template's JSON, exit\n"
	    "      --cpu-template-verify  say whether the template given applies on this host\n"
	    "                        as written (a vCPU made and read back), name what not\n"
	    "      --hugepages       back guest RAM with transparent huge pages (fewer TLB\n"
	    "                        misses; the VMM's resident memory grows in 2 MiB steps)\n"
	    "      --mem-shared      guest RAM in one shared memory file (memfd), so that a\n"
	    "                        local migration can hand it over without a copy\n"
	    "      --vfio-hotplug    allow PUT /vmm/vm.add-device on the running VM: its vCPU\n"
	    "                        threads may then reach VFIO devices (wider seccomp filters)\n"
	    "      --io-poll USEC    longest window a virtio I/O thread polls its queues and\n"
	    "                        backend before sleeping (adaptive: it shrinks to nothing\n"
	    "                        on an idle device); 0 turns polling off; default 256\n"
	    "                        where every I/O thread has a host CPU beside the vCPUs,\n"
	    "                        else 64\n"
	    "      --vhost-user-timeout MS  how long a vhost-user device waits for its back-end\n"
	    "                        in one exchange (a start, a reset, a reconnect) before it\n"
	    "                        gives up on it; 100 to 600000, default 5000\n"
	    "\n"
	    "Devices: an option's items are separated by commas; a comma inside a path or\n"
	    "value is written twice (\",,\", as in QEMU): --disk /img/a,,b.raw,ro\n",
	    out);
	device_usage(out);
	fputs(
	    "      --transport mmio|pci\n"
	    "                        how the virtio devices named AFTER it reach the guest:\n"
	    "                          mmio  virtio-mmio windows, listed on the kernel command "
	    "line\n"
	    "                          pci   modern virtio-pci with MSI-X on PCI bus 0\n"
	    "                        default mmio (pci with --firmware); may be repeated to\n"
	    "                        mix transports\n"
	    "      --enable-pci      every virtio device on pci, wherever the flag stands\n"
	    "                        (Firecracker's flag; a later --transport still chooses)\n"
	    "      --dtb             give the guest a device tree of the machine: bzImage in a\n"
	    "                        SETUP_DTB setup_data, PVH as the module after the initrd\n"
	    "      --dump-dtb PATH   write the machine's device tree (DTB) to PATH and exit\n"
	    "      --acpi on|off     ACPI tables, power-off registers and power button (default\n"
	    "                        on; the MP table is written either way)\n"
	    "      --debug-exit      add a QEMU isa-debug-exit compatible device at port 0xf4:\n"
	    "                        a guest write of V ends the VMM with status (V << 1) | 1\n"
	    "      --boot-timer      Firecracker boot timer (byte 123 to MMIO 0xc0000000 or\n"
	    "                        port 0x3f0); print boot phase times on stderr at exit\n"
	    "\n"
	    "Control:\n"
	    "      --api-sock PATH   serve the HTTP API (Firecracker-compatible, JSON) on a Unix\n"
	    "                        socket at PATH; without --kernel or --config-file the VMM\n"
	    "                        waits to be configured and started over it\n"
	    "      --mmds-size-limit BYTES  the MMDS store's limit (PUT/PATCH /mmds; default\n"
	    "                        --http-api-max-payload-size's, as Firecracker)\n"
	    "      --http-api-max-payload-size BYTES  the largest API request body (400\n"
	    "                        beyond, as Firecracker); default 51200, Firecracker's\n"
	    "      --id ID           the instance's id (GET /, the metrics' \"id\"): 1-64\n"
	    "                        letters, digits and '-'; default anonymous-instance\n"
	    "      --start-time-us US, --start-time-cpu-us US, --parent-cpu-time-us US\n"
	    "                        what Firecracker's jailer passes (vmm-jail does too): the\n"
	    "                        launcher's CLOCK_MONOTONIC and CPU time at its start, in\n"
	    "                        microseconds; the metrics' api_server startup times\n"
	    "      --log-path PATH, --level LEVEL, --module TEXT, --show-level,\n"
	    "      --show-log-origin  Firecracker's logger options: the log as PUT /logger\n"
	    "                        with these fields sets it, at start\n"
	    "      --metrics-path PATH  the metrics as PUT /metrics sets them, at start\n"
	    "      --no-api          Firecracker's: start from --config-file without an API\n"
	    "                        (as without --api-sock); needs --config-file\n"
	    "      --config-file FILE  the whole VM as JSON in the API's schema (Firecracker's\n"
	    "                        --config-file layout); starts at once; not with --kernel\n"
	    "      --restore DIR     resume the snapshot in DIR (DIR/state, DIR/memory, made by\n"
	    "                        PUT /snapshot/create); --net tap=NAME[,mac=MAC] options\n"
	    "                        given with it replace the snapshot's taps (and MACs) in\n"
	    "                        order, --disk PATH[,id=ID] its disk files, --firmware\n"
	    "                        FILE its firmware; it opens only files under DIR (no\n"
	    "                        symbolic link inside DIR is followed), given so, or in\n"
	    "                        --landlock-rules, and taps given so; not with --kernel\n"
	    "      --working-set load|off|record  with --restore: load DIR/state.working-set\n"
	    "                        when there is one (default), not, or record it until PUT\n"
	    "                        /vmm/working-set stops it (docs/snapshots.md)\n"
	    "      --working-set-ms MS  with --working-set record: the VMM stops the recording\n"
	    "                        itself after MS (1-3600000) milliseconds, if no request\n"
	    "                        did (the API's working_set_record_ms)\n"
	    "      --clock-realtime  with --restore: advance the guest's kvmclock by the wall\n"
	    "                        time since the snapshot (the API's clock_realtime)\n"
	    "      --cpu-check on|off  off: restore or receive a VM even where this host lacks\n"
	    "                        CPU features the guest saw (default on: refused)\n"
	    "      --migrate-from unix:PATH|tcp:HOST:PORT\n"
	    "                        receive a migrating VM: listen there (a Unix PATH must not\n"
	    "                        exist; TCP binds HOST:PORT only, trusted networks only:\n"
	    "                        nothing is encrypted), take one source, then run its VM;\n"
	    "                        the source brings the whole VM: not with --kernel,\n"
	    "                        --config-file, --restore or options that shape the VM\n"
	    "      --track-dirty-pages  log the pages written since the last snapshot, so a\n"
	    "                        Diff snapshot writes only those (costs some speed)\n"
	    "\n"
	    "Sandbox:\n"
	    "      --seccomp on|log|off  per-thread seccomp filters (default on: a forbidden\n"
	    "                        system call kills the VMM; log: it is allowed and the\n"
	    "                        kernel logs it, with the thread's name (dmesg); off: no\n"
	    "                        filter). Capabilities are dropped in every case.\n"
	    "      --no-seccomp      --seccomp off (Firecracker's flag: its Go SDK passes it\n"
	    "                        unless told to keep seccomp on); --seccomp-filter FILE\n"
	    "                        (Firecracker's compiled filters) is refused\n"
	    "      --user UID:GID    run as this user and group once /dev/kvm, the taps and the\n"
	    "                        disks are open (files the VM uses later, like snapshots,\n"
	    "                        must be theirs to write)\n"
	    "      --landlock on|off  once the VM is set up, the VMM may open only its disks'\n"
	    "                        directories, its sockets' and --landlock-rules' paths\n"
	    "                        (default on where the kernel has Landlock; -v -v lists)\n"
	    "      --landlock-rules PATH:ro|rw[,...]  more paths for later API requests (a\n"
	    "                        snapshot directory); rw: create, write, rename there;\n"
	    "                        a comma in PATH is written \",,\"\n"
	    "\n"
	    "Other:\n"
	    "      --kvm PATH        KVM device; default /dev/kvm\n"
	    "      --check-kvm       say in one line whether KVM (--kvm PATH) can run a VM here,\n"
	    "                        which kind (hardware or emulated) or why not and the fix;\n"
	    "                        exit 0 when usable, 1 when not; needs no other option\n"
	    "      --check-cpu DIR   say whether this host can run the snapshot in DIR (every\n"
	    "                        CPU feature its guest saw): exit 0 yes, 1 no (listed)\n"
	    "      --snapshot-version  print the snapshot format version this VMM writes\n"
	    "                        (v1.0.0) and exit (Firecracker's flag)\n"
	    "      --describe-snapshot FILE  print the format version of the snapshot state\n"
	    "                        file FILE (vN.0.0) and exit 0; exit 1 when it is not one\n"
	    "  -v, --verbose         more messages (twice: debug, e.g. unclaimed I/O)\n"
	    "  -q, --quiet           errors only\n"
	    "  -h, --help            this text\n"
	    "  -V, --version         version\n"
	    "\n"
	    "Exit status: 0 the guest powered off or reset, or its VM migrated away; 1 VMM\n"
	    "or KVM error (a failed incoming migration); 2 bad\n"
	    "command line or image; 4 guest triple fault; 128+N stopped by signal N;\n"
	    "odd values (V << 1) | 1 from --debug-exit.\n",
	    out);
}

static enum cli_result usage_error(const char *fmt, const char *arg)
{
	fputs("vmm: ", stderr);
	fprintf(stderr, fmt, arg);
	fputs("\nTry 'vmm --help' for more information.\n", stderr);
	return CLI_EXIT_USAGE;
}

static enum cli_result parse_mem(const char *arg, struct vm_config *cfg)
{
	uint64_t v;
	int err = parse_size(arg, MIB(1), &v);
	if (err == -ERANGE || (!err && v > GUEST_RAM_MAX))
		return usage_error("--mem %s: too large (at most 1T)", arg);
	if (err)
		return usage_error("--mem %s: not a size (try 256M or 2G)", arg);
	if (v < MIB(2) || v % KIB(4))
		return usage_error("--mem %s: must be at least 2M and a multiple of 4K", arg);
	cfg->mem_size = v;
	return CLI_RUN;
}

struct cpus_arg {
	uint64_t boot, max;
};

/* boot=N or max=M of --cpus: a whole number of vCPUs from 1 to VM_MAX_CPUS. */
static int cpus_set(void *dst, const char *key, const char *value, char *err, size_t errlen)
{
	struct cpus_arg *c = dst;
	uint64_t *out = strcmp(key, "max") ? &c->boot : &c->max;
	if (!parse_uint(value, 1, VM_MAX_CPUS, out))
		return 0;
	snprintf(err, errlen, "%s=%.32s is not a whole number from 1 to %d", key, value,
		 VM_MAX_CPUS);
	return -EINVAL;
}

/* --cpus N, or Cloud Hypervisor's --cpus boot=N,max=M (also N,max=M): a maximum gives vCPU
 * hotplug (vmm/vm/cpu_hotplug.h), vCPUs 1..M-1 added and removed at run time. Through the one
 * option parser (base/options.h): a bare N is the first item's value of "boot". */
static enum cli_result parse_cpus(const char *arg, struct vm_config *cfg)
{
	static const struct opt_key keys[] = {
	    {"boot", 0, cpus_set}, {"max", 0, cpus_set}, {NULL, 0, NULL}};
	struct cpus_arg c = {0, 0};
	struct opt_items items = {0};
	char err[128] = "", why[256];
	bool keyed = !strncmp(arg, "boot=", 5) || !strncmp(arg, "max=", 4);
	int r = opts_split(arg, keyed ? NULL : "boot", &items, err, sizeof(err));
	if (!r)
		r = opts_parse_items(&items, keys, &c, "expected N or boot=N,max=M", err,
				     sizeof(err));
	opt_items_free(&items);
	if (r) {
		snprintf(why, sizeof(why), "%.64s: %s", arg, err);
		return usage_error("--cpus %s", why);
	}
	uint64_t boot = c.boot, max = c.max;
	if (!boot)
		return usage_error("--cpus %s: the vCPU count is missing (boot=N)", arg);
	if (max && max < boot)
		return usage_error("--cpus %s: max=M is below the vCPUs at boot", arg);
	cfg->ncpus = (unsigned)boot;
	cfg->max_vcpus = (unsigned)max; /* given: vCPU hotplug, also when max = boot (shrink) */
	return CLI_RUN;
}

static enum cli_result parse_io_poll(const char *arg, struct vm_config *cfg)
{
	uint64_t us;

	if (parse_uint(arg, 0, VM_MAX_IO_POLL_US, &us))
		return usage_error("--io-poll %s: microseconds, 0 to 1000", arg);
	cfg->io_poll_us = (unsigned)us;
	return CLI_RUN;
}

static enum cli_result parse_vu_timeout(const char *arg, struct vm_config *cfg)
{
	uint64_t ms;

	if (parse_uint(arg, VM_MIN_VU_TIMEOUT_MS, VM_MAX_VU_TIMEOUT_MS, &ms))
		return usage_error("--vhost-user-timeout %s: milliseconds, 100 to 600000", arg);
	cfg->vu_timeout_ms = (unsigned)ms;
	return CLI_RUN;
}

static enum cli_result parse_transport(const char *arg, struct vm_config *cfg)
{
	if (strcmp(arg, "mmio") == 0)
		cfg->transport = TRANSPORT_MMIO;
	else if (strcmp(arg, "pci") == 0)
		cfg->transport = TRANSPORT_PCI;
	else
		return usage_error("--transport %s: expected mmio or pci", arg);
	return CLI_RUN;
}

/* A device option from the table: its parser fills `err`, the message is printed here once. */
static enum cli_result parse_device(const struct device_option *o, const char *arg,
				    struct vm_config *cfg)
{
	char err[256] = "";
	if (o->parse(cfg, arg, err, sizeof(err)) == 0)
		return CLI_RUN;
	/* As the user wrote it: "--rng=ARG" for an optional argument, "--disk ARG" otherwise. */
	const char *sep = !arg ? "" : o->has_arg == optional_argument ? "=" : " ";
	fprintf(stderr, "vmm: --%s%s%s: %s\nTry 'vmm --help' for more information.\n", o->name, sep,
		arg ? arg : "", err[0] ? err : "invalid value");
	return CLI_EXIT_USAGE;
}

/* --cpu-template NAME (a static one, or None) and --cpu-template-file FILE: the last wins. */
static enum cli_result parse_cpu_template(bool file, const char *arg, struct vm_config *cfg)
{
	free(cfg->cpu_template);
	cfg->cpu_template = NULL;
	if (!file && !strcmp(arg, "None"))
		return CLI_RUN;
	char err[HOST_PATH_ERR_MAX + 256];
	int r = file ? cpu_template_new_file(arg, &cfg->cpu_template, err, sizeof(err))
		     : cpu_template_new_static(arg, &cfg->cpu_template);
	if (r == -ENOMEM)
		return usage_error("%s", "out of memory");
	if (r && file)
		return usage_error("--cpu-template-file %s", err);
	if (r) {
		snprintf(err, sizeof(err),
			 "%.64s: one of %s, or None; a custom one is "
			 "--cpu-template-file FILE",
			 arg, cpu_template_static_names());
		return usage_error("--cpu-template %s", err);
	}
	return CLI_RUN;
}

bool cli_instance_id_ok(const char *id)
{
	size_t n = strlen(id);
	if (n < 1 || n > CLI_INSTANCE_ID_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && id[i] != '-')
			return false;
	return true;
}

/* Firecracker's jailer passes these microsecond counts (u64 there): any decimal number. */
static enum cli_result parse_start_time(int opt, const char *arg, struct vm_config *cfg)
{
	uint64_t v;
	if (parse_uint(arg, 0, UINT64_MAX, &v))
		return usage_error(opt == OPT_START_TIME_US ? "--start-time-us %s: microseconds"
				   : opt == OPT_START_TIME_CPU_US
				       ? "--start-time-cpu-us %s: microseconds"
				       : "--parent-cpu-time-us %s: microseconds",
				   arg);
	if (opt == OPT_START_TIME_US) {
		cfg->start_time_us = v;
		cfg->have_start_time = true;
	} else if (opt == OPT_START_TIME_CPU_US) {
		cfg->start_time_cpu_us = v;
		cfg->have_start_time_cpu = true;
	} else {
		cfg->parent_cpu_time_us = v;
	}
	return CLI_RUN;
}

/* Firecracker's logger and metrics options: applied at start as PUT /logger and PUT /metrics
 * bodies would be (vmm/api/control.c), which check them; an empty value is refused here. */
static enum cli_result parse_fc_logging(int opt, const char *arg, struct vm_config *cfg)
{
	if (arg && !arg[0])
		return usage_error("--%s: empty", opt == OPT_FC_LOG_PATH ? "log-path"
						  : opt == OPT_FC_LEVEL	 ? "level"
						  : opt == OPT_FC_MODULE ? "module"
									 : "metrics-path");
	switch (opt) {
	case OPT_FC_LOG_PATH:
		cfg->fc_log.path = arg;
		break;
	case OPT_FC_LEVEL:
		cfg->fc_log.level = arg;
		break;
	case OPT_FC_MODULE:
		cfg->fc_log.module = arg;
		break;
	case OPT_FC_SHOW_LEVEL:
		cfg->fc_log.show_level = true;
		break;
	case OPT_FC_SHOW_ORIGIN:
		cfg->fc_log.show_origin = true;
		break;
	case OPT_FC_METRICS_PATH:
		cfg->fc_metrics_path = arg;
		return CLI_RUN;
	default: /* --no-api: Firecracker's start from --config-file alone, ours without --api-sock
		  */
		cfg->fc_no_api = true;
		return CLI_RUN;
	}
	cfg->fc_log.given = true;
	return CLI_RUN;
}

static enum cli_result parse_one(int opt, const char *arg, struct vm_config *cfg)
{
	switch (opt) {
	case 'k':
		cfg->kernel = arg;
		return CLI_RUN;
	case 'i':
		cfg->initrd = arg;
		return CLI_RUN;
	case 'a':
		cfg->append = arg;
		return CLI_RUN;
	case OPT_FIRMWARE:
		cfg->firmware = arg;
		return CLI_RUN;
	case OPT_FIRMWARE_LOG:
		cfg->firmware_log = arg;
		return CLI_RUN;
	case OPT_FIRMWARE_VARS:
		cfg->firmware_vars = arg;
		return CLI_RUN;
	case OPT_NO_REBOOT:
		cfg->no_reboot = true;
		return CLI_RUN;
	case 'm':
		return parse_mem(arg, cfg);
	case 'c':
		return parse_cpus(arg, cfg);
	case OPT_TRANSPORT:
		return parse_transport(arg, cfg);
	case OPT_DEBUG_EXIT:
		cfg->debug_exit = true;
		return CLI_RUN;
	case OPT_BOOT_TIMER:
		cfg->boot_timer = true;
		return CLI_RUN;
	case OPT_HUGEPAGES:
		cfg->hugepages = true;
		return CLI_RUN;
	case OPT_SMT:
		cfg->smt = true;
		return CLI_RUN;
	case OPT_CPU_TEMPLATE:
	case OPT_CPU_TEMPLATE_FILE:
		return parse_cpu_template(opt == OPT_CPU_TEMPLATE_FILE, arg, cfg);
	case OPT_CPU_TEMPLATE_DUMP:
		cfg->cpu_template_dump = true;
		return CLI_RUN;
	case OPT_CPU_TEMPLATE_VERIFY:
		cfg->cpu_template_verify = true;
		return CLI_RUN;
	case OPT_API_SOCK:
		cfg->api_sock = arg;
		return CLI_RUN;
	case OPT_MMDS_SIZE_LIMIT: {
		uint64_t v;
		if (parse_uint(arg, 1, VM_MAX_MMDS_SIZE, &v))
			return usage_error("--mmds-size-limit %s: bytes, 1..67108864", arg);
		cfg->mmds_size_limit = (size_t)v;
		return CLI_RUN;
	}
	case OPT_HTTP_MAX_PAYLOAD: {
		uint64_t v;
		if (parse_uint(arg, 1, VM_MAX_API_PAYLOAD, &v))
			return usage_error("--http-api-max-payload-size %s: bytes, 1..67108864",
					   arg);
		cfg->api_max_payload = (size_t)v;
		return CLI_RUN;
	}
	case OPT_INSTANCE_ID:
		if (!cli_instance_id_ok(arg))
			return usage_error("--id %s: 1-64 letters, digits and '-'", arg);
		cfg->instance_id = arg;
		return CLI_RUN;
	case OPT_START_TIME_US:
	case OPT_START_TIME_CPU_US:
	case OPT_PARENT_CPU_TIME_US:
		return parse_start_time(opt, arg, cfg);
	case OPT_CONFIG_FILE:
		cfg->config_file = arg;
		return CLI_RUN;
	case OPT_RESTORE:
		cfg->restore = arg;
		return CLI_RUN;
	case OPT_MIGRATE_FROM: {
		struct mig_url u;
		char why[200];
		if (mig_url_parse(arg, 1, &u, why, sizeof(why)))
			return usage_error("--migrate-from: %s", why);
		cfg->migrate_from = arg;
		return CLI_RUN;
	}
	case OPT_MEM_SHARED:
		cfg->mem_shared = true;
		return CLI_RUN;
	case OPT_VFIO_HOTPLUG:
		cfg->vfio_hotplug = true;
		return CLI_RUN;
	case OPT_TRACK_DIRTY:
		cfg->track_dirty_pages = true;
		return CLI_RUN;
	case OPT_IO_POLL:
		return parse_io_poll(arg, cfg);
	case OPT_VU_TIMEOUT:
		return parse_vu_timeout(arg, cfg);
	case OPT_NO_SECCOMP: /* Firecracker's flag, which its Go SDK passes by default */
		cfg->seccomp = SANDBOX_OFF;
		return CLI_RUN;
	case OPT_FC_SECCOMP_FILTER:
		return usage_error("--seccomp-filter %s: Firecracker's compiled filters do not fit "
				   "this VMM; its own are on (--seccomp on|log|off)",
				   arg);
	case OPT_FC_LOG_PATH:
	case OPT_FC_LEVEL:
	case OPT_FC_MODULE:
	case OPT_FC_SHOW_LEVEL:
	case OPT_FC_SHOW_ORIGIN:
	case OPT_FC_METRICS_PATH:
	case OPT_FC_NO_API:
		return parse_fc_logging(opt, arg, cfg);
	case OPT_SECCOMP:
		if (sandbox_parse_mode(arg, &cfg->seccomp))
			return usage_error("--seccomp %s: on, log or off", arg);
		return CLI_RUN;
	case OPT_USER:
		if (sandbox_parse_user(arg, &cfg->uid, &cfg->gid))
			return usage_error("--user %s: UID:GID, two numbers", arg);
		cfg->switch_user = true;
		return CLI_RUN;
	case OPT_LANDLOCK:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return usage_error("--landlock %s: on or off", arg);
		cfg->landlock_off = !strcmp(arg, "off");
		return CLI_RUN;
	case OPT_LANDLOCK_RULES:
		cfg->landlock_rules = arg;
		return CLI_RUN;
	case OPT_DTB:
	case OPT_DUMP_DTB:
		if (!machine_fdt_supported())
			return usage_error("--%s: this vmm was built without libfdt",
					   opt == OPT_DTB ? "dtb" : "dump-dtb");
		cfg->dtb |= opt == OPT_DTB;
		cfg->dump_dtb = opt == OPT_DUMP_DTB ? arg : cfg->dump_dtb;
		return CLI_RUN;
	case OPT_ACPI:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return usage_error("--acpi %s: on or off", arg);
		cfg->acpi_off = !strcmp(arg, "off");
		return CLI_RUN;
	case OPT_KVM:
		cfg->kvm_path = arg;
		return CLI_RUN;
	case OPT_CHECK_KVM:
		cfg->check_kvm = true;
		return CLI_RUN;
	case OPT_CHECK_CPU:
		cfg->check_cpu = arg;
		return CLI_RUN;
	case OPT_CPU_CHECK:
		if (strcmp(arg, "on") && strcmp(arg, "off"))
			return usage_error("--cpu-check %s: on or off", arg);
		cfg->cpu_check_off = !strcmp(arg, "off");
		return CLI_RUN;
	case OPT_WORKING_SET:
		if (strcmp(arg, "load") && strcmp(arg, "off") && strcmp(arg, "record"))
			return usage_error("--working-set %s: load, off or record", arg);
		cfg->working_set = arg;
		return CLI_RUN;
	case OPT_WORKING_SET_MS:
		if (parse_uint(arg, 1, WS_RECORD_MS_MAX, &cfg->working_set_ms))
			return usage_error("--working-set-ms %s: 1 to 3600000 milliseconds (an "
					   "hour at most, as the API's working_set_record_ms)",
					   arg);
		return CLI_RUN;
	case OPT_CLOCK_REALTIME:
		cfg->clock_realtime = true;
		return CLI_RUN;
	case 'v':
		cfg->verbosity = cfg->verbosity < 0 ? 1 : cfg->verbosity + 1;
		return CLI_RUN;
	case 'q':
		cfg->verbosity = -1;
		return CLI_RUN;
	case 'h':
		cli_usage(stdout);
		return CLI_EXIT_OK;
	case 'V':
		printf("vmm %s\n", VMM_VERSION);
		return CLI_EXIT_OK;
	case OPT_ENABLE_PCI: /* cli_parse() applied it before every device: see asks_pci() */
		return CLI_RUN;
	case OPT_SNAPSHOT_VERSION:
		printf("v%s\n", cli_snapshot_version());
		return CLI_EXIT_OK;
	case OPT_DESCRIBE_SNAPSHOT:
		cfg->describe_snapshot =
		    arg; /* check_combination() returns CLI_DESCRIBE_SNAPSHOT */
		return CLI_RUN;
	default:
		if (opt >= OPT_DEVICE && device_option_for(opt, arg))
			return parse_device(device_option_for(opt, arg), arg, cfg);
		/* getopt already said what was wrong */
		fputs("Try 'vmm --help' for more information.\n", stderr);
		return CLI_EXIT_USAGE;
	}
}

int cli_device_option(struct vm_config *cfg, const char *name, const char *arg, char *err,
		      size_t errlen)
{
	return cli_apply(cfg, name, arg, err, errlen);
}

/* Options that say how this VMM process runs, not what the VM is: never recorded. */
static bool recordable(int opt)
{
	switch (opt) {
	case OPT_API_SOCK:
	case OPT_MMDS_SIZE_LIMIT:
	case OPT_HTTP_MAX_PAYLOAD:
	case OPT_VU_TIMEOUT: /* the host's pace, not the VM's: give it again to a restore */
	case OPT_INSTANCE_ID:
	case OPT_START_TIME_US:
	case OPT_START_TIME_CPU_US:
	case OPT_PARENT_CPU_TIME_US:
	case OPT_CONFIG_FILE:
	case OPT_RESTORE:
	case OPT_MIGRATE_FROM:
	case OPT_KVM:
	case OPT_CHECK_KVM:
	case OPT_CHECK_CPU:
	case OPT_CPU_CHECK:
	case OPT_WORKING_SET:
	case OPT_WORKING_SET_MS:
	case OPT_CLOCK_REALTIME:
	case OPT_CPU_TEMPLATE: /* the snapshot carries the CPUID the template made */
	case OPT_CPU_TEMPLATE_FILE:
	case OPT_CPU_TEMPLATE_DUMP:
	case OPT_CPU_TEMPLATE_VERIFY:
	case OPT_SECCOMP:
	case OPT_NO_SECCOMP:
	case OPT_FC_SECCOMP_FILTER:
	case OPT_FC_LOG_PATH:
	case OPT_FC_LEVEL:
	case OPT_FC_MODULE:
	case OPT_FC_SHOW_LEVEL:
	case OPT_FC_SHOW_ORIGIN:
	case OPT_FC_METRICS_PATH:
	case OPT_FC_NO_API:
	case OPT_ENABLE_PCI: /* recorded as "transport pci" (cli_parse()) */
	case OPT_SNAPSHOT_VERSION:
	case OPT_DESCRIBE_SNAPSHOT:
	case OPT_USER:
	case OPT_LANDLOCK:
	case OPT_LANDLOCK_RULES:
	case OPT_DUMP_DTB:
	case 'v':
	case 'q':
	case 'h':
	case 'V':
		return false;
	default:
		return true;
	}
}

/* Whether option `o` with argument `arg` goes into cfg->recorded[]: an option that shapes the
 * VM, unless it is a device's with a record, whose block holds it (device_records() writes it
 * for a snapshot: vmm/descriptors/device_record.h). */
static bool kept_in_recorded(const struct option *o, const char *arg)
{
	const struct device_desc *d =
	    o->val >= OPT_DEVICE ? device_table_option_owner(o->name, arg) : NULL;
	return recordable(o->val) && !(d && device_record_known(d));
}

static const struct option *option_by_val(int val)
{
	for (const struct option *o = all_options(); o->name; o++)
		if (o->val == val)
			return o;
	return NULL;
}

int cli_options_each(int (*fn)(const char *name, bool recorded, void *opaque), void *opaque)
{
	for (const struct option *o = all_options(); o->name; o++) {
		int r = fn(o->name, recordable(o->val), opaque);
		if (r)
			return r;
	}
	return 0;
}

int cli_record(struct vm_config *cfg, const char *name, const char *arg)
{
	if (cfg->nrecorded == VM_MAX_RECORDED)
		return -E2BIG;
	struct cli_record *r = &cfg->recorded[cfg->nrecorded];
	r->name = strdup(name);
	r->arg = arg ? strdup(arg) : NULL;
	if (!r->name || (arg && !r->arg)) {
		free(r->name);
		free(r->arg);
		return -ENOMEM;
	}
	cfg->nrecorded++;
	return 0;
}

/* Takes back the records past `n` (a failed apply). */
static void unrecord_to(struct vm_config *cfg, int n)
{
	while (cfg->nrecorded > n) {
		struct cli_record *r = &cfg->recorded[--cfg->nrecorded];
		free(r->name);
		free(r->arg);
		*r = (struct cli_record){0};
	}
}

void cli_unrecord_to(struct vm_config *cfg, int n)
{
	unrecord_to(cfg, n);
}

int cli_apply(struct vm_config *cfg, const char *name, const char *arg, char *err, size_t errlen)
{
	const struct option *o = NULL;
	for (const struct option *p = all_options(); p->name && !o; p++)
		if (!strcmp(p->name, name))
			o = p;
	if (!o || !recordable(o->val)) {
		snprintf(err, errlen, "no option --%s to apply", name);
		return -EINVAL;
	}
	if ((o->has_arg == required_argument && !arg) || (o->has_arg == no_argument && arg)) {
		snprintf(err, errlen, "--%s %s an argument", name, arg ? "takes no" : "needs");
		return -EINVAL;
	}
	if (!kept_in_recorded(o, arg)) /* its parser keeps copies of what it needs */
		return device_option_for(o->val, arg)->parse(cfg, arg, err, errlen);
	int n = cfg->nrecorded, r = cli_record(cfg, name, arg);
	if (r) {
		snprintf(err, errlen, "--%s: %s", name, strerror(-r));
		return r;
	}
	/* The parsers keep pointers to their argument (--kernel): give them the record's copy. */
	const char *copy = cfg->recorded[n].arg;
	if (o->val >= OPT_DEVICE) {
		r = device_option_for(o->val, copy)->parse(cfg, copy, err, errlen);
	} else if (parse_one(o->val, copy, cfg) != CLI_RUN) { /* it printed why */
		snprintf(err, errlen, "--%s %s: invalid value", name, arg ? arg : "");
		r = -EINVAL;
	}
	if (r)
		unrecord_to(cfg, n);
	return r;
}

int cli_replay(struct vm_config *cfg, const struct cli_record *rec, int n, char *err, size_t errlen)
{
	vm_config_init(cfg);
	for (int i = 0; i < n; i++) {
		int r = cli_apply(cfg, rec[i].name, rec[i].arg, err, errlen);
		if (r)
			return r;
	}
	return 0;
}

/* The name of the first option that shapes the VM in `cfg`: a recorded one, else a device's
 * (its descriptor's first option); NULL: none was given. */
static const char *shaping_option(const struct vm_config *cfg)
{
	const struct device_desc *d = device_records_next(cfg, NULL);
	return cfg->nrecorded ? cfg->recorded[0].name : d ? d->options[0].name : NULL;
}

/* What must come with what once every option is read. */
static enum cli_result check_combination(int argc, char **argv, const struct vm_config *cfg)
{
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (cfg->check_kvm)
		return CLI_CHECK_KVM; /* the probe needs nothing else */
	if (cfg->describe_snapshot)
		return CLI_DESCRIBE_SNAPSHOT;
	if (cfg->check_cpu)
		return CLI_CHECK_CPU; /* nor does the CPU check of a snapshot */
	if (cfg->cpu_template_verify && !cfg->cpu_template)
		return usage_error("%s", "--cpu-template-verify needs --cpu-template NAME or "
					 "--cpu-template-file FILE");
	if (cfg->cpu_template_dump || cfg->cpu_template_verify)
		return CLI_CPU_TEMPLATE_DUMP; /* nor the dump of a vCPU's CPUID, or its check */
	if (cfg->cpu_template && (cfg->restore || cfg->migrate_from))
		return usage_error("%s", "a CPU template applies to a new VM: a restored or "
					 "migrated guest keeps the CPUID it saw");
	if (cfg->restore && (cfg->kernel || cfg->config_file))
		return usage_error("%s", "--restore brings the whole VM: give it without --kernel "
					 "or --config-file");
	if (cfg->clock_realtime && !cfg->restore)
		return usage_error("%s", "--clock-realtime goes with --restore DIR (over the API: "
					 "\"clock_realtime\" in PUT /snapshot/load)");
	if (cfg->working_set && !cfg->restore)
		return usage_error("%s", "--working-set goes with --restore DIR (over the API: "
					 "\"working_set\" in PUT /snapshot/load)");
	if (cfg->working_set_ms && !(cfg->working_set && !strcmp(cfg->working_set, "record")))
		return usage_error("%s",
				   "--working-set-ms goes with --working-set record (over the "
				   "API: \"working_set_record_ms\" beside \"working_set\": "
				   "\"record\")");
	if (cfg->migrate_from && (cfg->kernel || cfg->config_file || cfg->restore || cfg->dump_dtb))
		return usage_error("%s",
				   "--migrate-from: the source brings the whole VM: give it "
				   "without --kernel, --config-file, --restore or --dump-dtb");
	if (cfg->migrate_from && shaping_option(cfg))
		return usage_error("--migrate-from: the source brings the whole VM: --%s cannot "
				   "change it",
				   shaping_option(cfg));
	if (cfg->config_file && cfg->kernel)
		return usage_error("%s", "--config-file describes the whole VM: give it without "
					 "--kernel");
	if (cfg->firmware && cfg->config_file)
		return usage_error("%s", "--firmware is not taken with --config-file");
	if (cfg->firmware && cfg->initrd && !cfg->kernel)
		return usage_error("%s", "--firmware with --initrd needs --kernel");
	if (cfg->firmware_log && !cfg->firmware)
		return usage_error("%s", "--firmware-log needs --firmware");
	if (cfg->firmware_vars && !cfg->firmware && !cfg->restore) /* a restore's: its override */
		return usage_error("%s", "--firmware-vars needs --firmware (OVMF_CODE_4M.fd: the "
					 "code image the variable store belongs to)");
	if (cfg->fc_no_api && (!cfg->config_file || cfg->api_sock))
		return usage_error("%s", "--no-api starts from --config-file without an API: give "
					 "it with --config-file and without --api-sock");
	if (!cfg->kernel && !cfg->firmware && !cfg->config_file && !cfg->api_sock &&
	    !cfg->restore && !cfg->migrate_from)
		return usage_error("%s", "no kernel given (--kernel PATH, --config-file FILE or "
					 "--api-sock PATH)");
	if (cfg->dump_dtb && !cfg->kernel)
		return usage_error("%s", "--dump-dtb needs --kernel");
	if (cfg->smt && cfg->ncpus > 1 && cfg->ncpus % 2)
		return usage_error("%s", "--smt needs --cpus 1 or an even number (two threads "
					 "per core)");
	if (cfg->max_vcpus && cfg->acpi_off)
		return usage_error("%s", "--cpus max=M: vCPU hotplug needs ACPI (not --acpi off)");
	if (cfg->max_vcpus && cfg->smt)
		return usage_error("%s", "--cpus max=M: vCPU hotplug with --smt is not supported");
	return CLI_RUN;
}

/* Whether the command line boots a firmware. SeaBIOS and OVMF have no virtio-mmio drivers (they
 * find disks and NICs on the PCI bus), so then the devices default to PCI; --transport still
 * chooses for the devices named after it. */
static bool asks_firmware(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--firmware") == 0 || strncmp(argv[i], "--firmware=", 11) == 0)
			return true;
	return false;
}

/* Whether the command line has Firecracker's --enable-pci: every virtio device on PCI, wherever
 * the flag stands (Firecracker's is not positional). */
static bool asks_pci(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--enable-pci") == 0)
			return true;
	return false;
}

enum cli_result cli_parse(int argc, char **argv, struct vm_config *cfg)
{
	/* the directory the command line's relative paths start from, for a restore's check of
	 * the paths a snapshot names and the gate's confined folders (host_path_init()); now,
	 * before any thread is confined */
	host_path_init();
	vm_config_init(cfg);
	if (asks_firmware(argc, argv))
		cfg->transport = TRANSPORT_PCI;
	/* recorded, so a restore's replay puts the devices on PCI too */
	if (asks_pci(argc, argv)) {
		cfg->transport = TRANSPORT_PCI;
		if (cli_record(cfg, "transport", "pci"))
			return usage_error("%s", "out of memory");
	}
	optind = 0; /* full re-initialisation, so tests can parse several times */
	opterr = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, "k:i:a:m:c:vqhV", all_options(), NULL)) != -1) {
		enum cli_result r = parse_one(opt, optarg, cfg);
		const struct option *o = r == CLI_RUN ? option_by_val(opt) : NULL;
		if (o && kept_in_recorded(o, optarg) && cli_record(cfg, o->name, optarg))
			r = usage_error("%s", "too many options to record");
		if (r != CLI_RUN) {
			cli_free(cfg);
			return r;
		}
	}
	enum cli_result r = check_combination(argc, argv, cfg);
	if (r != CLI_RUN && r != CLI_CHECK_KVM && r != CLI_CPU_TEMPLATE_DUMP &&
	    r != CLI_DESCRIBE_SNAPSHOT)
		cli_free(cfg);
	return r;
}

void cli_free(struct vm_config *cfg)
{
	free(cfg->cpu_template);
	cfg->cpu_template = NULL;
	unrecord_to(cfg, 0);
	device_cfg_free_all(cfg);
}
