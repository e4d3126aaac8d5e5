/* vmmctl fork: PUT /vmm/fork to the parent, then one VMM per child (started here, or already
 * waiting on its API socket) given PUT /snapshot/load (docs/sandboxes.md, "Live fork"). The VMM
 * itself starts no process (its seccomp filters allow no execve), so the client does, as a
 * Firecracker orchestrator would. */
#ifndef VMMCTL_FORK_H
#define VMMCTL_FORK_H

/* argv[0] is "fork"; the parent's API socket is `sock`, each request waits `timeout_s`.
 * Prints one JSON document (the fork's times, each child's socket, pid and time to running).
 * Returns vmmctl's exit status (0, 1 API error, 2 usage, 3 unreachable). */
int vmmctl_fork(const char *sock, long timeout_s, int argc, char **argv);

#endif
