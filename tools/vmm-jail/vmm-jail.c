/* vmm-jail: runs the VMM in a jail, after Firecracker's jailer.
 *
 * The parent (root, in the host's namespaces) checks the command line, builds the jail's tree
 * under <chroot-base>/<id>/root (device nodes made with the host's numbers, empty mount points
 * for the VMM binary, its shared libraries and the --file paths), creates the cgroups and forks
 * the VMM into a new PID namespace, where it is PID 1. The child joins the cgroups and --netns,
 * unshares mount, IPC and UTS namespaces, makes every mount private, bind-mounts the files,
 * pivot_root()s into the jail (detaching the old root), sets no_new_privs, drops supplementary
 * groups, switches to uid:gid, closes every fd above 2 and execs the VMM. The parent forwards
 * SIGTERM/SIGINT/SIGHUP/SIGQUIT to it, waits, removes what it made in the jail's folder (the
 * folder too when that leaves it empty; unless --keep) and its cgroups, and exits with the
 * VMM's status. Firecracker's jailer's arguments (--id ID --start-time-us ...) come first in
 * the VMM's, and <root>/NAME.pid names the VMM, as Firecracker's jailer does.
 *
 * Exit status: the VMM's (128+N when signal N killed it); 2 for a bad command line (an option
 * value, a missing file, a cgroup controller the host lacks: all checked before anything is
 * made), 1 when setting up the jail failed. A child that fails before exec tells the parent
 * which of the two through a close-on-exec pipe. Whatever fails, what it made in the jail's
 * folder, the folders of --chroot-base it made and its cgroups are removed (unless --keep). The
 * child drops the capability bounding set before it switches to uid:gid, so no thread of the VMM
 * has one. */
#include "tools/vmm-jail/cgroup.h"
#include "tools/vmm-jail/jail_spec.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define EXIT_SETUP 1
#define EXIT_USAGE 2

#define MAX_LIMITS  16
#define MAX_FILES   32
#define MAX_DEVS    16
#define MAX_MOUNTS  96
#define MAX_RLIMITS 8

struct mount_entry {
	char src[JAIL_PATH_MAX];
	char dst[JAIL_PATH_MAX]; /* as the jail sees it */
	bool rw;
};

struct jail {
	const char *id, *exec, *base, *netns, *parent_cgroup;
	unsigned uid, gid;
	bool keep, daemonize, new_pid_ns;
	int cgroup_version; /* 0: cgroup2 where it has the controller, else v1 */
	struct jail_rlimit rlimits[MAX_RLIMITS];
	int nrlimits;
	char exec_name[JAIL_NAME_MAX];
	struct jail_limit limits[MAX_LIMITS];
	int nlimits;
	struct jail_file files[MAX_FILES];
	int nfiles;
	const char *devs[MAX_DEVS];
	int ndevs;
	char **vmm_argv;
	int vmm_argc;

	char base_full[JAIL_PATH_MAX]; /* <base>/<exec_name> */
	char dir[JAIL_PATH_MAX];       /* <base>/<exec_name>/<id> */
	char root[JAIL_PATH_MAX];      /* <base>/<exec_name>/<id>/root */
	char exec_jail[JAIL_PATH_MAX];
	struct mount_entry mounts[MAX_MOUNTS];
	int nmounts;
	struct jail_cgroups cg;
	bool dir_created; /* <base>/<exec_name>/<id> made here */
	/* What vmm-jail made under the jail's folder, in order: the end removes these and nothing
	 * else, so what a launcher put there (Firecracker's jailer reuses an existing root: the
	 * kernel and disks may be there first, or linked in later) and what the VMM wrote (a
	 * snapshot) stays; a folder goes only when empty. */
	char **made;
	int nmade;
	/* Firecracker's jailer's times, passed to the VMM (--start-time-us ...): CLOCK_MONOTONIC
	 * and this process's CPU time at start, microseconds */
	unsigned long long start_us, start_cpu_us;
	char base_made[JAIL_PATH_MAX]; /* the first folder of --chroot-base made here, or "" */
};

static struct jail jail = {.base = "/srv/jailer"};

static const char usage_text[] =
    "Usage: vmm-jail --id ID --exec-file VMM --uid UID --gid GID [OPTION]... -- [VMM ARGS]...\n"
    "Run the VMM in a jail, with Firecracker's jailer command line and layout: its own mount,\n"
    "PID, IPC and UTS namespaces, a minimal root (pivot_root) at\n"
    "CHROOT_BASE/NAME/ID/root (NAME: the exec file's name), a cgroup, resource limits,\n"
    "no_new_privs and an unprivileged uid. VMM ARGS name files as the jail sees them.\n"
    "\n"
    "  --id ID                  the VM's id: 1-64 letters, digits and '-'\n"
    "  --exec-file PATH         the VMM binary, hard-linked (else copied) to /NAME in the\n"
    "                           jail, with the shared libraries it needs mounted read-only\n"
    "                           at their own paths (--exec: the same)\n"
    "  --uid UID, --gid GID     the ids the VMM runs as (not 0)\n"
    "  --chroot-base-dir DIR    where jails are made (default /srv/jailer; --chroot-base)\n"
    "  --netns PATH             join this network namespace (e.g. /var/run/netns/NAME)\n"
    "  --cgroup FILE=VALUE      a cgroup limit (cpu.max=\"50000 100000\", memory.max=512M,\n"
    "                           pids.max=64, cpuset.cpus=0); repeatable; cgroup2 names,\n"
    "                           translated where a v1 hierarchy has the controller\n"
    "  --cgroup-version 1|2     use only that kind of hierarchy (default: cgroup2 where it\n"
    "                           has the controller, else v1)\n"
    "  --parent-cgroup PATH     the jail's cgroup is PATH/ID (default NAME)\n"
    "  --resource-limit R=N     fsize=BYTES or no-file=N; repeatable (default no-file=2048)\n"
    "  --daemonize              setsid() and standard input, output and error to /dev/null\n"
    "  --new-pid-ns             as Firecracker's jailer: exit 0 once the VMM runs; the\n"
    "                           jail and its cgroups are then the caller's to remove.\n"
    "                           Without it vmm-jail waits for the VMM, passes SIGTERM,\n"
    "                           SIGINT, SIGHUP and SIGQUIT on, exits with its status and\n"
    "                           removes what it made (the VMM is PID 1 of its own\n"
    "                           namespace either way; CHROOT_BASE/NAME/ID/root/NAME.pid\n"
    "                           holds its PID either way)\n"
    "  --file HOST[:JAIL][:rw]  bind-mount HOST at JAIL (default /BASENAME), read-only unless\n"
    "                           :rw; repeatable. uid:gid must be able to read (write) it\n"
    "  --keep-dev /dev/NAME     also make this device node, owned by uid:gid; repeatable\n"
    "  --keep                   leave what vmm-jail made after the VMM exits\n"
    "  -h, --help               this help\n"
    "  -V, --version            version\n"
    "\n"
    "The VMM gets Firecracker's jailer's arguments before VMM ARGS: --id ID\n"
    "--start-time-us US --start-time-cpu-us 0 --parent-cpu-time-us US. An existing\n"
    "CHROOT_BASE/NAME/ID/root is reused as Firecracker's jailer does (its files stay; a\n"
    "device node or mount point the jail needs found there already is an error, 1).\n"
    "\n"
    "The jail's root is owned by uid:gid and always has /dev/kvm, /dev/net/tun and\n"
    "/dev/userfaultfd where the host has them (mode 0600, owned by uid:gid), /dev/null,\n"
    "/dev/urandom and /run (owned by uid:gid: --api-sock /run/firecracker.socket is\n"
    "CHROOT_BASE/NAME/ID/root/run/firecracker.socket from the host).\n"
    "\n"
    "Exit status: the VMM's (128+N if signal N killed it; 0 at once with --new-pid-ns);\n"
    "2 bad command line; 1 the jail could not be set up.\n";

static int usage_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vmm-jail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs("\n(vmm-jail --help for usage)\n", stderr);
	va_end(ap);
	return EXIT_USAGE;
}

static int setup_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vmm-jail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_SETUP;
}

/* ---- command line ---- */

static int parse_args(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"id", required_argument, NULL, 'i'},
	    {"exec", required_argument, NULL, 'e'},
	    {"exec-file", required_argument, NULL, 'e'},
	    {"uid", required_argument, NULL, 'u'},
	    {"gid", required_argument, NULL, 'g'},
	    {"chroot-base", required_argument, NULL, 'b'},
	    {"chroot-base-dir", required_argument, NULL, 'b'},
	    {"cgroup-version", required_argument, NULL, 'C'},
	    {"parent-cgroup", required_argument, NULL, 'P'},
	    {"resource-limit", required_argument, NULL, 'r'},
	    {"daemonize", no_argument, NULL, 'D'},
	    {"new-pid-ns", no_argument, NULL, 'N'},
	    {"netns", required_argument, NULL, 'n'},
	    {"cgroup", required_argument, NULL, 'c'},
	    {"file", required_argument, NULL, 'f'},
	    {"keep-dev", required_argument, NULL, 'd'},
	    {"keep", no_argument, NULL, 'k'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	char err[JAIL_ERRLEN];
	bool have_uid = false, have_gid = false;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'i':
			jail.id = optarg;
			break;
		case 'e':
			jail.exec = optarg;
			break;
		case 'u':
		case 'g':
			if (jail_parse_id_number(optarg, c == 'u' ? &jail.uid : &jail.gid, err))
				return usage_error("--%s: %s", c == 'u' ? "uid" : "gid", err);
			*(c == 'u' ? &have_uid : &have_gid) = true;
			break;
		case 'b':
			jail.base = optarg;
			break;
		case 'n':
			jail.netns = optarg;
			break;
		case 'c':
			if (jail.nlimits == MAX_LIMITS)
				return usage_error("at most %d --cgroup", MAX_LIMITS);
			if (jail_parse_limit(optarg, &jail.limits[jail.nlimits++], err))
				return usage_error("%s", err);
			break;
		case 'C':
			if (jail_parse_cgroup_version(optarg, &jail.cgroup_version, err))
				return usage_error("%s", err);
			break;
		case 'P':
			if (jail_check_parent_cgroup(optarg, err))
				return usage_error("%s", err);
			jail.parent_cgroup = optarg;
			break;
		case 'r':
			if (jail.nrlimits == MAX_RLIMITS)
				return usage_error("at most %d --resource-limit", MAX_RLIMITS);
			if (jail_parse_rlimit(optarg, &jail.rlimits[jail.nrlimits++], err))
				return usage_error("%s", err);
			break;
		case 'D':
			jail.daemonize = true;
			break;
		case 'N':
			jail.new_pid_ns = true;
			break;
		case 'f':
			if (jail.nfiles == MAX_FILES)
				return usage_error("at most %d --file", MAX_FILES);
			if (jail_parse_file(optarg, &jail.files[jail.nfiles++], err))
				return usage_error("%s", err);
			break;
		case 'd':
			if (jail.ndevs == MAX_DEVS)
				return usage_error("at most %d --keep-dev", MAX_DEVS);
			if (strncmp(optarg, "/dev/", 5) != 0 || jail_check_jail_path(optarg, err))
				return usage_error("--keep-dev %s: want a path /dev/NAME", optarg);
			jail.devs[jail.ndevs++] = optarg;
			break;
		case 'k':
			jail.keep = true;
			break;
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case 'V':
			printf("vmm-jail " VMM_JAIL_VERSION "\n");
			exit(0);
		case ':':
			return usage_error("%s needs a value", argv[optind - 1]);
		default:
			return usage_error("unknown option %s (VMM arguments go after --)",
					   argv[optind - 1]);
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return usage_error("unexpected \"%s\": VMM arguments go after --", argv[optind]);
	jail.vmm_argv = argv + optind;
	jail.vmm_argc = argc - optind;
	if (!jail.id || !jail.exec || !have_uid || !have_gid)
		return usage_error("--id, --exec-file, --uid and --gid are required");
	if (jail_check_id(jail.id, err) || jail_exec_name(jail.exec, jail.exec_name, err) ||
	    jail_chroot_dir(jail.base, jail.exec_name, jail.id, jail.root, sizeof(jail.root), err))
		return usage_error("%s", err);
	if (!jail.parent_cgroup)
		jail.parent_cgroup = jail.exec_name; /* Firecracker's default */
	/* root = base_full/<id>/root: the folders above it, without "/root" and "/<id>" */
	snprintf(jail.dir, sizeof(jail.dir), "%.*s", (int)(strlen(jail.root) - 5), jail.root);
	snprintf(jail.base_full, sizeof(jail.base_full), "%.*s",
		 (int)(strlen(jail.dir) - strlen(jail.id) - 1), jail.dir);
	return 0;
}

/* What the user named must exist: a missing file, or a cgroup controller the host lacks, is a
 * bad command line (2), said before anything is made. */
static int check_inputs(void)
{
	struct stat st;
	if (jail_cgroups_check(jail.limits, jail.nlimits, jail.cgroup_version))
		return EXIT_USAGE; /* it said which */
	if (stat(jail.exec, &st) || !S_ISREG(st.st_mode))
		return usage_error("--exec-file %s: %s", jail.exec,
				   errno ? strerror(errno) : "not a regular file");
	for (int i = 0; i < jail.nfiles; i++)
		if (stat(jail.files[i].host, &st))
			return usage_error("--file %s: %s", jail.files[i].host, strerror(errno));
	for (int i = 0; i < jail.ndevs; i++)
		if (stat(jail.devs[i], &st) || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)))
			return usage_error("--keep-dev %s: not a device node on this host",
					   jail.devs[i]);
	if (jail.netns && stat(jail.netns, &st))
		return usage_error("--netns %s: %s", jail.netns, strerror(errno));
	return 0;
}

/* ---- the jail's tree (built by the parent, in the host's mount namespace) ---- */

/* Notes a path vmm-jail made under the jail's folder (cleanup() removes these alone). */
static int note_made(const char *path)
{
	char **grown = realloc(jail.made, ((size_t)jail.nmade + 1) * sizeof(*grown));
	char *copy = strdup(path);
	if (grown)
		jail.made = grown;
	if (!grown || !copy) {
		free(copy);
		return setup_error("out of memory");
	}
	jail.made[jail.nmade++] = copy;
	return 0;
}

/* mkdir -p of the parents of path (a full host path under jail.root). */
static int make_parents(const char *path)
{
	char buf[JAIL_PATH_MAX * 2];
	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + strlen(jail.root) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (note_made(buf))
				return EXIT_SETUP;
		} else if (errno != EEXIST) {
			return setup_error("mkdir %s: %s", buf, strerror(errno));
		}
		*p = '/';
	}
	return 0;
}

/* out = the host path of jail_path; jail paths are checked short enough (make_jail_dir). */
static void in_jail(char *out, size_t size, const char *jail_path)
{
	if (snprintf(out, size, "%s%s", jail.root, jail_path) >= (int)size)
		out[0] = '\0';
}

/* mkdir -p the base, noting the first folder made (removed again at the end when empty). */
static int make_base(void)
{
	char buf[JAIL_PATH_MAX];
	snprintf(buf, sizeof(buf), "%s", jail.base_full);
	for (char *p = buf + 1;; p++) {
		char *slash = strchr(p, '/');
		if (slash)
			*slash = '\0';
		if (mkdir(buf, 0755) == 0) {
			if (!jail.base_made[0])
				snprintf(jail.base_made, sizeof(jail.base_made), "%s", buf);
		} else if (errno != EEXIST) {
			return setup_error("mkdir %s: %s", buf, strerror(errno));
		}
		if (!slash)
			break;
		*slash = '/';
		p = slash;
	}
	return 0;
}

static int make_jail_dir(void)
{
	if (make_base())
		return EXIT_SETUP;
	if (strlen(jail.root) >= sizeof(jail.root) - 64)
		return usage_error("--chroot-base-dir %s: too long", jail.base);
	int made = mkdir(jail.dir, 0755);
	/* ENOENT: another vmm-jail removed the empty base it had made, meanwhile: make it again */
	if (made && errno == ENOENT && make_base() == 0)
		made = mkdir(jail.dir, 0755);
	if (made && errno != EEXIST)
		return setup_error("mkdir %s: %s", jail.dir, strerror(errno));
	/* An existing <id> folder is reused, as Firecracker's jailer does (create_dir_all): its
	 * files stay, and only what is made here goes at the end. What the jail needs and finds
	 * there already (a device node, a mount point: a jail used before) is refused below. */
	jail.dir_created = made == 0;
	if (jail.dir_created && note_made(jail.dir))
		return EXIT_SETUP;
	if (mkdir(jail.root, 0755) == 0) {
		if (note_made(jail.root))
			return EXIT_SETUP;
	} else if (errno != EEXIST || jail.dir_created) {
		return setup_error("mkdir %s: %s", jail.root, strerror(errno));
	}
	/* the root is uid:gid's, as Firecracker's jailer leaves it: the VMM makes its socket there
	 */
	struct stat st;
	if (lstat(jail.root, &st) || !S_ISDIR(st.st_mode))
		return setup_error("%s: not a folder", jail.root);
	if (chmod(jail.dir, 0755) || chmod(jail.root, 0755) || chown(jail.root, jail.uid, jail.gid))
		return setup_error("chown/chmod %s: %s", jail.root, strerror(errno));
	struct statvfs vfs;
	if (statvfs(jail.root, &vfs) == 0 && (vfs.f_flag & ST_NODEV))
		return setup_error("%s is on a nodev file system: the jail's /dev/kvm would not "
				   "open; choose another --chroot-base",
				   jail.base);
	return 0;
}

/* A device node at the same path in the jail, with the host's type and numbers. */
static int make_dev(const char *path, mode_t perm, bool owned)
{
	struct stat st;
	char dst[JAIL_PATH_MAX];
	if (stat(path, &st))
		return setup_error("%s: %s", path, strerror(errno));
	in_jail(dst, sizeof(dst), path);
	if (make_parents(dst))
		return EXIT_SETUP;
	if (mknod(dst, (st.st_mode & S_IFMT) | perm, st.st_rdev)) {
		int e = errno;
		return setup_error("mknod %s (%u:%u): %s%s", dst, major(st.st_rdev),
				   minor(st.st_rdev), strerror(e),
				   e == EEXIST
				       ? " (a jail with this id ran here before: remove its "
					 "folder, or use another --id)"
				       : "");
	}
	if (note_made(dst))
		return EXIT_SETUP;
	if ((owned && chown(dst, jail.uid, jail.gid)) || chmod(dst, perm))
		return setup_error("chown/chmod %s: %s", dst, strerror(errno));
	return 0;
}

static int make_devices(void)
{
	if (access("/dev/kvm", F_OK))
		return setup_error("/dev/kvm: %s (no KVM on this host)", strerror(errno));
	int r = make_dev("/dev/kvm", 0600, true);
	if (!r && access("/dev/net/tun", F_OK) == 0)
		r = make_dev("/dev/net/tun", 0600, true);
	if (!r && access("/dev/userfaultfd", F_OK) == 0) /* a snapshot load with Uffd */
		r = make_dev("/dev/userfaultfd", 0600, true);
	if (!r)
		r = make_dev("/dev/null", 0666, false);
	if (!r)
		r = make_dev("/dev/urandom", 0666, false);
	for (int i = 0; !r && i < jail.ndevs; i++) {
		char dst[JAIL_PATH_MAX];
		in_jail(dst, sizeof(dst), jail.devs[i]);
		if (access(dst, F_OK) == 0)
			continue; /* one of the above */
		r = make_dev(jail.devs[i], 0600, true);
	}
	return r;
}

/* An empty file (or folder) in the jail for src to be bind-mounted on, and its mount entry. */
static int add_mount(const char *src, const char *dst, bool rw)
{
	struct stat st, taken;
	char path[JAIL_PATH_MAX * 2];
	if (jail.nmounts == MAX_MOUNTS)
		return setup_error("too many files to mount");
	for (int i = 0; i < jail.nmounts; i++)
		if (strcmp(jail.mounts[i].dst, dst) == 0)
			return strcmp(jail.mounts[i].src, src) == 0
				   ? 0
				   : usage_error("%s is given twice in the jail", dst);
	if (stat(src, &st))
		return usage_error("%s: %s", src, strerror(errno));
	snprintf(path, sizeof(path), "%s%s", jail.root, dst);
	if (lstat(path, &taken) == 0)
		return usage_error("%s: the jail already has %s", src, dst);
	if (make_parents(path))
		return EXIT_SETUP;
	int fd = -1;
	if (S_ISDIR(st.st_mode)
		? mkdir(path, 0755)
		: (fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0444)) < 0)
		return setup_error("creating mount point %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (note_made(path))
		return EXIT_SETUP;
	struct mount_entry *m = &jail.mounts[jail.nmounts++];
	snprintf(m->src, sizeof(m->src), "%s", src);
	snprintf(m->dst, sizeof(m->dst), "%s", dst);
	m->rw = rw;
	return 0;
}

/* The ELF interpreter (PT_INTERP) of the binary at path, or "" when it is static. */
static int elf_interp(const char *path, char *interp, size_t size)
{
	Elf64_Ehdr eh;
	interp[0] = '\0';
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return setup_error("%s: %s", path, strerror(errno));
	int r = 0;
	if (pread(fd, &eh, sizeof(eh), 0) != sizeof(eh) || memcmp(eh.e_ident, ELFMAG, SELFMAG) ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64)
		r = usage_error("--exec %s: not a 64-bit ELF executable", path);
	for (unsigned i = 0; !r && i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if (pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff + i * sizeof(ph))) != sizeof(ph))
			r = usage_error("--exec %s: truncated program headers", path);
		else if (ph.p_type == PT_INTERP && ph.p_filesz < size &&
			 pread(fd, interp, ph.p_filesz, (off_t)ph.p_offset) == (ssize_t)ph.p_filesz)
			interp[ph.p_filesz] = '\0';
	}
	close(fd);
	return r;
}

/* The libraries of a dynamic binary, as its own dynamic linker finds them (`ld.so --list`,
 * which is what ldd runs), each mounted read-only at the same path in the jail. */
static int add_libraries(void)
{
	char interp[JAIL_PATH_MAX];
	int r = elf_interp(jail.exec, interp, sizeof(interp));
	if (r || !interp[0])
		return r;
	if ((r = add_mount(interp, interp, false)))
		return r;
	int pipefd[2];
	if (pipe2(pipefd, O_CLOEXEC))
		return setup_error("pipe: %s", strerror(errno));
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], 1);
		execl(interp, interp, "--list", jail.exec, (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	FILE *f = fdopen(pipefd[0], "r");
	char line[JAIL_PATH_MAX + 64];
	while (f && fgets(line, sizeof(line), f)) {
		char *path = strstr(line, "=> ");
		path = path ? path + 3 : line + strspn(line, " \t");
		if (strncmp(path, "not found", 9) == 0) {
			r = r ? r
			      : setup_error("--exec %s: a library is not found: %s", jail.exec,
					    line);
			continue;
		}
		if (path[0] != '/')
			continue; /* linux-vdso.so.1 */
		path[strcspn(path, " \n")] = '\0';
		if (!r)
			r = add_mount(path, path, false);
	}
	if (f)
		fclose(f);
	int status;
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = r ? r : setup_error("%s --list %s failed", interp, jail.exec);
	if (!r && access("/etc/ld.so.cache", R_OK) == 0)
		r = add_mount("/etc/ld.so.cache", "/etc/ld.so.cache", false);
	return r;
}

/* Copies the file src to dst (a new file, mode 0755). */
static int copy_file(const char *src, const char *dst)
{
	int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, r = 0;
	char buf[65536];
	ssize_t n;
	if (in < 0 || (out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0755)) < 0)
		r = setup_error("copying %s to %s: %s", src, dst, strerror(errno));
	while (!r && (n = read(in, buf, sizeof(buf))) != 0)
		if (n < 0 || write(out, buf, (size_t)n) != n)
			r = setup_error("copying %s to %s: %s", src, dst, strerror(errno));
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out) && !r)
		r = setup_error("copying %s to %s: %s", src, dst, strerror(errno));
	return r;
}

/* The exec file at /NAME in the jail, as Firecracker's jailer puts it: a hard link, or a copy
 * when the jail is on another file system. */
static int place_exec(void)
{
	char dst[JAIL_PATH_MAX * 2];
	snprintf(dst, sizeof(dst), "%s%s", jail.root, jail.exec_jail);
	/* Firecracker's jailer copies over a file of that name: so does this, but never follows
	 * or writes through what is there (a link to a host file): it goes first */
	if (unlink(dst) && errno != ENOENT)
		return setup_error("%s: %s", dst, strerror(errno));
	if (note_made(dst))
		return EXIT_SETUP;
	/* AT_SYMLINK_FOLLOW: a link to the file itself, never to a symbolic link naming a host
	 * path the jail cannot see */
	if (linkat(AT_FDCWD, jail.exec, AT_FDCWD, dst, AT_SYMLINK_FOLLOW) == 0)
		return 0;
	if (errno != EXDEV && errno != EPERM)
		return setup_error("link %s to %s: %s", jail.exec, dst, strerror(errno));
	return copy_file(jail.exec, dst);
}

static int build_tree(void)
{
	int r = make_devices();
	if (r)
		return r;
	char run[JAIL_PATH_MAX];
	in_jail(run, sizeof(run), "/run");
	struct stat st;
	if (mkdir(run, 0700) == 0) {
		if (note_made(run))
			return EXIT_SETUP;
	} else if (errno != EEXIST || lstat(run, &st) || !S_ISDIR(st.st_mode)) {
		return setup_error("%s: %s", run,
				   errno == EEXIST ? "not a folder" : strerror(errno));
	}
	if (chown(run, jail.uid, jail.gid))
		return setup_error("%s: %s", run, strerror(errno));
	snprintf(jail.exec_jail, sizeof(jail.exec_jail), "/%s", jail.exec_name);
	if ((r = place_exec()))
		return r;
	for (int i = 0; i < jail.nfiles && !r; i++)
		r = add_mount(jail.files[i].host, jail.files[i].jail, jail.files[i].rw);
	return r ? r : add_libraries();
}

/* The folders of --chroot-base that make_base() made, deepest first, while empty (another jail
 * may use the base meanwhile: then it stays). */
static void remove_base(void)
{
	char buf[JAIL_PATH_MAX];
	size_t top = strlen(jail.base_made);
	snprintf(buf, sizeof(buf), "%s", jail.base_full);
	while (top && strlen(buf) >= top && rmdir(buf) == 0) {
		char *slash = strrchr(buf, '/');
		if (!slash || slash == buf)
			break;
		*slash = '\0';
	}
}

/* What was made, newest first: a folder only when empty (a file of the caller's or the VMM's
 * may be there). */
static void remove_made(void)
{
	for (int i = jail.nmade - 1; i >= 0; i--) {
		struct stat st;
		if (lstat(jail.made[i], &st) == 0 &&
		    (S_ISDIR(st.st_mode) ? rmdir(jail.made[i]) : unlink(jail.made[i])) &&
		    errno != ENOTEMPTY)
			fprintf(stderr, "vmm-jail: removing %s: %s\n", jail.made[i],
				strerror(errno));
		free(jail.made[i]);
	}
	free(jail.made);
	jail.made = NULL;
	jail.nmade = 0;
}

static void cleanup(void)
{
	/* No mount of the jail exists in this (the host's) mount namespace; FTW_MOUNT would stop
	 * the walk at one anyway. */
	if (!jail.keep)
		remove_made();
	if (!jail.keep)
		remove_base();
	jail_cgroups_remove(&jail.cg);
}

/* ---- the child: into the jail, then exec ---- */

static int errfd = -1;

/* The CPU time the parent had used at fork, past its start: the child adds its own. */
static unsigned long long jail_cpu_us;

static unsigned long long cpu_time_us(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts))
		return 0;
	return (unsigned long long)ts.tv_sec * 1000000ull + (unsigned long long)ts.tv_nsec / 1000;
}

static _Noreturn void child_fail(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("vmm-jail: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	unsigned char c = (unsigned char)code;
	if (write(errfd, &c, 1) < 0) {
		/* the parent sees the exit status anyway */
	}
	_exit(code);
}

static void mount_files(void)
{
	for (int i = 0; i < jail.nmounts; i++) {
		const struct mount_entry *m = &jail.mounts[i];
		char dst[JAIL_PATH_MAX * 2];
		snprintf(dst, sizeof(dst), "%s%s", jail.root, m->dst);
		unsigned long flags = MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV;
		if (mount(m->src, dst, NULL, MS_BIND, NULL))
			child_fail(EXIT_SETUP, "bind mount %s on %s: %s", m->src, dst,
				   strerror(errno));
		if (mount(NULL, dst, NULL, flags | (m->rw ? 0 : MS_RDONLY), NULL))
			child_fail(EXIT_SETUP, "remount %s %s: %s", dst, m->rw ? "rw" : "read-only",
				   strerror(errno));
	}
}

static void enter_root(void)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		child_fail(EXIT_SETUP, "making mounts private: %s", strerror(errno));
	/* pivot_root wants the new root to be a mount point. */
	if (mount(jail.root, jail.root, NULL, MS_BIND, NULL))
		child_fail(EXIT_SETUP, "bind mount %s: %s", jail.root, strerror(errno));
	mount_files();
	if (chdir(jail.root) || syscall(SYS_pivot_root, ".", "."))
		child_fail(EXIT_SETUP, "pivot_root into %s: %s", jail.root, strerror(errno));
	/* The old root now sits on top of the new one: detach it. */
	if (umount2(".", MNT_DETACH) || chdir("/"))
		child_fail(EXIT_SETUP, "unmounting the old root: %s", strerror(errno));
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_NOSUID, NULL))
		child_fail(EXIT_SETUP, "remount / nosuid: %s", strerror(errno));
}

/* --resource-limit, and Firecracker's default of 2048 open files when none is given. */
static void set_rlimits(void)
{
	struct jail_rlimit dflt = {RLIMIT_NOFILE, 2048};
	const struct jail_rlimit *l = jail.nrlimits ? jail.rlimits : &dflt;
	for (int i = 0; i < (jail.nrlimits ? jail.nrlimits : 1); i++) {
		struct rlimit rl = {l[i].value, l[i].value};
		if (setrlimit(l[i].resource, &rl))
			child_fail(EXIT_SETUP, "--resource-limit %s=%llu: %s",
				   l[i].resource == RLIMIT_FSIZE ? "fsize" : "no-file", l[i].value,
				   strerror(errno));
	}
}

static void drop_privileges(void)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		child_fail(EXIT_SETUP, "no_new_privs: %s", strerror(errno));
	/* The bounding set and the ambient set, while root may still drop them (CAP_SETPCAP): the
	 * VMM as uid:gid no longer can. */
	for (int cap = 0; prctl(PR_CAPBSET_READ, cap, 0, 0, 0) >= 0; cap++)
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) == 1 &&
		    prctl(PR_CAPBSET_DROP, cap, 0, 0, 0))
			child_fail(EXIT_SETUP, "dropping the bounding set: %s", strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) && errno != EINVAL)
		child_fail(EXIT_SETUP, "clearing the ambient set: %s", strerror(errno));
	if (setgroups(0, NULL))
		child_fail(EXIT_SETUP, "setgroups: %s", strerror(errno));
	if (setresgid(jail.gid, jail.gid, jail.gid) || setresuid(jail.uid, jail.uid, jail.uid))
		child_fail(EXIT_SETUP, "switching to %u:%u: %s", jail.uid, jail.gid,
			   strerror(errno));
	if (setuid(0) == 0)
		child_fail(EXIT_SETUP, "root regained after dropping it");
	/* A credential change cleared it: die with the jailer, unless the jailer leaves at once */
	if (!jail.new_pid_ns)
		prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
}

/* Now as uid:gid: what the VMM will need must be usable, or say which file and why. */
static void check_access(void)
{
	if (access("/dev/kvm", R_OK | W_OK))
		child_fail(EXIT_SETUP, "/dev/kvm in the jail: %s as %u:%u", strerror(errno),
			   jail.uid, jail.gid);
	if (access(jail.exec_jail, X_OK))
		child_fail(EXIT_USAGE, "--exec %s: not executable by %u:%u: %s", jail.exec,
			   jail.uid, jail.gid, strerror(errno));
	for (int i = 0; i < jail.nfiles; i++) {
		const struct jail_file *f = &jail.files[i];
		if (access(f->jail, f->rw ? R_OK | W_OK : R_OK))
			child_fail(EXIT_USAGE,
				   "--file %s: %u:%u cannot %s it (%s): chown or chmod it", f->host,
				   jail.uid, jail.gid, f->rw ? "read and write" : "read",
				   strerror(errno));
	}
}

static _Noreturn void run_child(int netns_fd, const sigset_t *oldmask)
{
	if (jail_cgroups_join(&jail.cg))
		child_fail(EXIT_SETUP, "joining the jail's cgroups failed");
	if (netns_fd >= 0 && setns(netns_fd, CLONE_NEWNET))
		child_fail(EXIT_SETUP, "--netns %s: setns: %s", jail.netns, strerror(errno));
	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS))
		child_fail(EXIT_SETUP, "unshare(mount, IPC, UTS): %s", strerror(errno));
	if (sethostname(jail.id, strlen(jail.id)))
		child_fail(EXIT_SETUP, "sethostname: %s", strerror(errno));
	enter_root();
	set_rlimits();
	drop_privileges();
	check_access();

	if (errfd > 3)
		syscall(SYS_close_range, 3, errfd - 1, 0);
	syscall(SYS_close_range, errfd + 1, ~0U, 0);
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	/* Firecracker's jailer's arguments first, the caller's after (the exec file sees them as
	 * Firecracker does): the id, the jailer's start, and the CPU time the jailer used (the
	 * VMM's own CPU clock starts anew in this process: its start is 0) */
	char start[24], cpu[24];
	snprintf(start, sizeof(start), "%llu", jail.start_us);
	snprintf(cpu, sizeof(cpu), "%llu", jail_cpu_us + cpu_time_us());
	char *head[] = {jail.exec_jail,
			"--id",
			(char *)jail.id,
			"--start-time-us",
			start,
			"--start-time-cpu-us",
			"0",
			"--parent-cpu-time-us",
			cpu};
	const int nhead = (int)(sizeof(head) / sizeof(head[0]));
	char **argv = calloc((size_t)(nhead + jail.vmm_argc + 1), sizeof(*argv));
	if (!argv)
		child_fail(EXIT_SETUP, "out of memory");
	memcpy(argv, head, sizeof(head));
	for (int i = 0; i < jail.vmm_argc; i++)
		argv[nhead + i] = jail.vmm_argv[i];
	/* A clean environment, but the terminal type (for --console stdio). */
	char term[256] = "";
	char *envp[2] = {NULL, NULL};
	if (getenv("TERM")) {
		snprintf(term, sizeof(term), "TERM=%s", getenv("TERM"));
		envp[0] = term;
	}
	execve(jail.exec_jail, argv, envp);
	child_fail(EXIT_SETUP, "exec %s in the jail: %s", jail.exec_jail, strerror(errno));
}

/* ---- the parent ---- */

static int wait_vmm(pid_t pid, const sigset_t *set)
{
	int status;
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(set, &si);
		if (sig == SIGCHLD) {
			pid_t r = waitpid(pid, &status, WNOHANG);
			if (r == pid)
				break;
		} else if (sig > 0) {
			kill(pid, sig);
		}
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* --daemonize, as Firecracker's jailer: a new session (which fails for a process group
 * leader), and the standard fds on /dev/null. Messages after this go nowhere. */
static int daemonize(void)
{
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return setup_error("--daemonize: /dev/null: %s", strerror(errno));
	if (setsid() < 0) {
		close(null);
		return setup_error("--daemonize: setsid: %s (vmm-jail must not lead its process "
				   "group: start it from a shell's child or with setsid)",
				   strerror(errno));
	}
	for (int fd = 0; fd < 3; fd++)
		dup2(null, fd);
	close(null);
	return 0;
}

/* --new-pid-ns: <root>/<name>.pid, a new file holding the VMM's PID (as seen from here). */
static int write_pid_file(pid_t pid)
{
	char path[JAIL_PATH_MAX * 2], text[32];
	snprintf(path, sizeof(path), "%s/%s.pid", jail.root, jail.exec_name);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	int len = snprintf(text, sizeof(text), "%d", (int)pid);
	if (fd >= 0 && note_made(path)) {
		close(fd);
		return EXIT_SETUP;
	}
	if (fd < 0 || write(fd, text, (size_t)len) != len) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return setup_error("%s: %s", path, strerror(e));
	}
	close(fd);
	return 0;
}

/* Set when the VMM runs on without us (--new-pid-ns): nothing is removed at exit. */
static bool detached;

static int launch(void)
{
	int netns_fd = -1, pipefd[2];
	if (jail.netns && (netns_fd = open(jail.netns, O_RDONLY | O_CLOEXEC)) < 0)
		return usage_error("--netns %s: %s", jail.netns, strerror(errno));
	if (jail.daemonize && daemonize())
		return EXIT_SETUP;
	sigset_t set, oldmask;
	sigemptyset(&set);
	for (int s = 0, sigs[] = {SIGCHLD, SIGTERM, SIGINT, SIGHUP, SIGQUIT}; s < 5; s++)
		sigaddset(&set, sigs[s]);
	if (pipe2(pipefd, O_CLOEXEC) || sigprocmask(SIG_BLOCK, &set, &oldmask))
		return setup_error("pipe: %s", strerror(errno));
	/* Our next child is PID 1 of a new PID namespace; we stay in the host's. */
	if (unshare(CLONE_NEWPID))
		return setup_error("unshare(PID namespace): %s", strerror(errno));
	fflush(NULL);
	unsigned long long now_cpu = cpu_time_us();
	jail_cpu_us = now_cpu > jail.start_cpu_us ? now_cpu - jail.start_cpu_us : 0;
	pid_t pid = fork();
	if (pid < 0)
		return setup_error("fork: %s", strerror(errno));
	if (pid == 0) {
		close(pipefd[0]);
		errfd = pipefd[1];
		run_child(netns_fd, &oldmask);
	}
	close(pipefd[1]);
	if (netns_fd >= 0)
		close(netns_fd);
	unsigned char code;
	ssize_t n;
	while ((n = read(pipefd[0], &code, 1)) < 0 && errno == EINTR)
		;
	close(pipefd[0]);
	/* exec'd: <root>/NAME.pid names the VMM, in either mode (Firecracker's jailer writes its
	 * own PID there when it execs the VMM itself) */
	int r = n == 1 ? code : write_pid_file(pid);
	if (n != 1 && r)
		kill(pid, SIGKILL);
	if (n != 1 && jail.new_pid_ns) { /* the VMM is on its own from here */
		detached = !r;
		return r;
	}
	int status = wait_vmm(pid, &set);
	return r ? r : status;
}

int main(int argc, char **argv)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	jail.start_us =
	    (unsigned long long)now.tv_sec * 1000000ull + (unsigned long long)now.tv_nsec / 1000;
	jail.start_cpu_us = cpu_time_us();
	int r = parse_args(argc, argv);
	if (r)
		return r;
	if ((r = check_inputs()))
		return r;
	if (geteuid() != 0)
		return setup_error("must run as root (it makes device nodes, namespaces, cgroups)");
	umask(022);
	r = make_jail_dir();
	if (!r)
		r = build_tree();
	if (!r && jail_cgroups_setup(jail.parent_cgroup, jail.id, jail.cgroup_version, jail.limits,
				     jail.nlimits, &jail.cg))
		r = EXIT_SETUP;
	if (!r)
		r = launch();
	if (!detached)
		cleanup();
	return r;
}
