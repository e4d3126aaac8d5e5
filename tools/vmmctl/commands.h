/* vmmctl: what the command builders share (internal to tools/vmmctl). Every command is one row of
 * the table in request.c: its positional arguments, its options and a builder that turns the
 * parsed arguments into method, path and JSON body. The builders live by subject: cmd_vm.c (the
 * instance: inspecting, lifecycle, boot and machine), cmd_devices.c (drives, network interfaces,
 * vsock), cmd_balloon.c, cmd_snapshot.c and cmd_migrate.c. */
#ifndef VMMCTL_COMMANDS_H
#define VMMCTL_COMMANDS_H

#include <stddef.h>

#include "tools/vmmctl/request.h"

#define CMD_MAX_POS    3
#define CMD_MAX_OPTS   6
#define CMD_MAX_REPEAT 4 /* values of a repeatable option (the VMM has at most 4 NICs) */

enum arg_kind {
	ARG_FLAG,   /* --name */
	ARG_VALUE,  /* --name VALUE or --name=VALUE; the last one given counts */
	ARG_REPEAT, /* like ARG_VALUE, each one kept in order (at most one such option a command) */
};

struct opt_def {
	const char *name; /* without the leading "--"; NULL ends a command's list */
	enum arg_kind kind;
};

/* A command's parsed arguments. */
struct args {
	const char *cmd;	    /* the command's name, for messages */
	const struct opt_def *defs; /* its options, CMD_MAX_OPTS at most */
	int npos;
	const char *pos[CMD_MAX_POS];
	const char *opt[CMD_MAX_OPTS]; /* by index in defs; a flag given is "", NULL: not given */
	int nrep;
	const char *rep[CMD_MAX_REPEAT]; /* the ARG_REPEAT option's values, in order */
};

/* The value of option `name` (a flag: "" when given), or NULL when it was not given. */
const char *arg_opt(const struct args *a, const char *name);

/* Writes the reason to err and returns -EINVAL (a usage error). */
int cmd_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A decimal integer in [min, max], the whole string (no sign, no spaces). Returns 0 or -EINVAL. */
int cmd_parse_int(const char *s, long long min, long long max, long long *out);

void cmd_set(struct vmmctl_request *r, const char *method, const char *path, enum vmmctl_view view);

/* r's method and the path "PREFIX/ID", VIEW_NONE; refuses an ID that cannot be a path segment. */
int cmd_id_path(const struct args *a, const char *prefix, const char *id, const char *method,
		struct vmmctl_request *r, char *err, size_t errlen);

/* Returns 0, or -EINVAL with the reason in err (vmmctl exits 2). */
typedef int cmd_builder(const struct args *a, struct vmmctl_request *r, char *err, size_t errlen);

/* cmd_vm.c */
cmd_builder cmd_info, cmd_metrics, cmd_devices, cmd_vcpus, cmd_config, cmd_pause, cmd_resume,
    cmd_start, cmd_ctrl_alt_del, cmd_power_button, cmd_flush_metrics, cmd_stop, cmd_put_boot_source,
    cmd_put_machine_config, cmd_set_metrics, cmd_raw;
/* cmd_devices.c */
cmd_builder cmd_put_drive, cmd_patch_drive, cmd_put_net, cmd_patch_net, cmd_put_vsock;
/* cmd_balloon.c */
cmd_builder cmd_balloon, cmd_put_balloon, cmd_patch_balloon, cmd_balloon_stats,
    cmd_patch_balloon_stats;
/* cmd_memhp.c */
cmd_builder cmd_hotplug, cmd_put_hotplug, cmd_patch_hotplug, cmd_put_pmem;
/* cmd_snapshot.c */
cmd_builder cmd_snapshot_create, cmd_snapshot_load, cmd_working_set_stop;
/* cmd_migrate.c */
cmd_builder cmd_migrate, cmd_migration, cmd_migrate_cancel, cmd_receive_migration;
/* cmd_pcihp.c */
cmd_builder cmd_add_disk, cmd_add_net, cmd_add_vsock, cmd_add_pmem, cmd_add_fs, cmd_add_device,
    cmd_remove_device;
/* cmd_resize.c */
cmd_builder cmd_resize;

#endif
