/* vmm-jail: the jail's cgroups.
 *
 * Every jail gets the cgroup <parent>/<id> (--parent-cgroup, by default the exec file's name, as
 * Firecracker's jailer) at the root of the cgroup2 mount when the host has one (found in
 * /proc/self/mountinfo), with or without limits; --cgroup-version 1 or 2 uses that kind of
 * hierarchy only (without it, cgroup2 first and v1 where cgroup2 lacks the controller). A limit
 * (--cgroup) goes there when cgroup2 offers its controller (enabled in cgroup.subtree_control on
 * the way down); on a hybrid host where the controller lives in a v1 hierarchy instead, the jail
 * also gets <parent>/<id> under the caller's own cgroup of that hierarchy (so limits that already
 * bind the caller keep binding the VMM), with the limit translated (jail_limit_v1). A limit
 * whose controller is in neither is refused. */
#ifndef VMM_JAIL_CGROUP_H
#define VMM_JAIL_CGROUP_H

#include "tools/vmm-jail/jail_spec.h"

#define JAIL_CG_MAX 16

struct jail_cgroups {
	char dirs[JAIL_CG_MAX][JAIL_PATH_MAX]; /* created, in creation order; joined by the VMM */
	int n;
	bool remove_parent; /* a parent of one folder: removed at the end when empty */
};

/* Whether every limit's controller is offered here (by cgroup2 or a v1 hierarchy the caller
 * is in), before anything is created: 0, or -1 after printing one line naming the first that is
 * not (a bad command line). */
int jail_cgroups_check(const struct jail_limit *limits, int nlimits, int version);

/* Creates the cgroups (<parent>/<id>; version 0, 1 or 2 as above) and writes the limits. Returns 0,
 * or -1 after printing why (what it created so far stays listed in cg, for jail_cgroups_remove). */
int jail_cgroups_setup(const char *parent, const char *id, int version,
		       const struct jail_limit *limits, int nlimits, struct jail_cgroups *cg);

/* Moves the calling process into every cgroup of cg. Returns 0 or -1 after printing why. */
int jail_cgroups_join(const struct jail_cgroups *cg);

/* Removes the cgroups (once empty: retries for a moment while the exited VMM leaves them),
 * and a one-folder parent when nothing else uses it. */
void jail_cgroups_remove(struct jail_cgroups *cg);

#endif
