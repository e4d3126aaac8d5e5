/* vmm: parse the command line, build the VM, run it, report how it ended. The exit status
 * follows base/errors.h: the errno class of a failure decides it, not where it happened. */
#include "base/errors.h"
#include "base/log.h"
#include "base/stats.h"
#include "firmware/fdt.h"
#include "host/kvm/kvm_probe.h"
#include "host/sandbox/sandbox.h"
#include "vmm/api/control.h"
#include "vmm/cli/cli.h"
#include "vmm/cli/libc_init.h"
#include "vmm/descriptors/device_vm.h"
#include "vmm/snapshot/cpu_check.h"
#include "vmm/vm/cpu_template_dump.h"
#include "vmm/vm/reboot.h"
#include "vmm/vm/vm.h"
#include <errno.h>
#include <string.h>

static void set_log_level(int verbosity)
{
	if (verbosity < 0)
		log_set_level(LOG_ERROR);
	else if (verbosity <= 1)
		log_set_level(LOG_INFO);
	else
		log_set_level(LOG_DEBUG);
}

/* --check-kvm: the probe's one line on stdout; 0 when KVM is usable, 1 when not. */
static int check_kvm(const char *path)
{
	struct kvm_probe p;
	char line[sizeof(p.reason) + sizeof(p.fix) + 32];
	int err = kvm_probe(path, &p);
	puts(kvm_probe_line(&p, line, sizeof(line)));
	return err ? VMM_EXIT_ERROR : VMM_EXIT_OK;
}

/* Builds and runs the VM (or the control plane that builds it) and returns the exit status;
 * *why (when given) says how the VM stopped, VM_STOP_ERROR when none ran. */
static int run_vmm(struct vm_config *cfg, enum vm_stop_reason *why)
{
	/* Firecracker's --log-path and --metrics-path (and friends) are the control plane's too */
	bool control = cfg->api_sock || cfg->config_file || cfg->restore || cfg->migrate_from ||
		       cfg->fc_log.given || cfg->fc_metrics_path;
	if (control && !cfg->dump_dtb)
		return control_run(cfg, why); /* vmm/api/control.h */
	static struct vm vm;
	/* --dump-dtb describes the VM without KVM (vm_describe()). */
	int status = cfg->dump_dtb ? vm_describe(&vm, cfg) : vm_create(&vm, cfg);
	if (status == 0 && cfg->dump_dtb)
		status = vmm_exit_status(machine_fdt_dump(&vm.machine, cfg->dump_dtb));
	else if (status == 0 && cfg->switch_user && sandbox_switch_user(cfg->uid, cfg->gid))
		status = VMM_EXIT_USAGE;
	else if (status == 0) {
		status = vm_run(&vm);
		if (why)
			*why = vm.stop_reason;
	}
	vm_destroy(&vm);
	return status;
}

/* Whether a reset starts the VM again (vmm/vm/reboot.h): a firmware the command line boots,
 * not a restored or received VM (a reset of one still ends the VMM), unless --no-reboot. */
static bool reboots(const struct vm_config *cfg)
{
	return cfg->firmware && !cfg->no_reboot && !cfg->restore && !cfg->migrate_from &&
	       !cfg->dump_dtb;
}

/* One boot of a firmware VM that reboots, in its own process (reboot_boot_fn). */
static int boot_once(void *opaque, unsigned boot, int reset_fd)
{
	struct vm_config *cfg = opaque;
	enum vm_stop_reason why = VM_STOP_ERROR;
	if (boot > 1)
		cfg->restarted = true;
	int status = run_vmm(cfg, &why);
	if (status == VMM_EXIT_OK && why == VM_STOP_RESET)
		reboot_tell_reset(reset_fd);
	if (cfg->boot_timer)
		stats_report(stderr);
	cli_free(cfg);
	return status;
}

int main(int argc, char **argv)
{
	stats_init(); /* "process start" for --boot-timer: first thing */
	libc_init_early();
	struct vm_config cfg;
	switch (cli_parse(argc, argv, &cfg)) {
	case CLI_EXIT_OK:
		return VMM_EXIT_OK;
	case CLI_EXIT_USAGE:
		return VMM_EXIT_USAGE;
	case CLI_CHECK_KVM: {
		int status = check_kvm(cfg.kvm_path);
		cli_free(&cfg);
		return status;
	}
	case CLI_CPU_TEMPLATE_DUMP: {
		int status = cpu_template_dump(&cfg);
		cli_free(&cfg);
		return status;
	}
	case CLI_DESCRIBE_SNAPSHOT: {
		int status = cli_describe_snapshot(cfg.describe_snapshot);
		cli_free(&cfg);
		return status;
	}
	case CLI_CHECK_CPU: {
		int status = cpu_check_snapshot_dir(cfg.check_cpu, cfg.kvm_path);
		cli_free(&cfg);
		return status;
	}
	case CLI_RUN:
		break;
	}
	set_log_level(cfg.verbosity);
	if (sandbox_init(cfg.seccomp)) {
		log_error("sandbox: cannot prepare: %s", strerror(errno));
		cli_free(&cfg);
		return VMM_EXIT_ERROR;
	}
	sandbox_landlock_set(!cfg.landlock_off);
	if (cfg.landlock_rules && sandbox_landlock_add_rules(cfg.landlock_rules)) {
		log_error("--landlock-rules %s: PATH:ro or PATH:rw, comma-separated",
			  cfg.landlock_rules);
		cli_free(&cfg);
		return VMM_EXIT_USAGE;
	}
	/* Until it confines itself (vm_run()), the main thread keeps only what building the VM
	 * needs, and what a --user switch does; the threads it creates start with no more. */
	if (cfg.switch_user)
		sandbox_announce_user_switch();
	if (sandbox_keep_only("main", SANDBOX_BUILD_CAPS)) {
		cli_free(&cfg);
		return VMM_EXIT_ERROR;
	}
	int status;
	if (reboots(&cfg)) {
		status = reboot_supervise(boot_once, &cfg); /* vmm/vm/reboot.h */
	} else {
		status = run_vmm(&cfg, NULL);
		if (cfg.boot_timer)
			stats_report(stderr);
	}
	cli_free(&cfg);
	return status;
}
