/* The host KVM probe (host/kvm/kvm_probe.h): every failing step with a fake sysfs tree in a temp
 * directory, the kind's order, the one-line format, and the real /dev/kvm. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/kvm/kvm_probe.h"
#include "host/kvm/kvm_probe_test.h"

static char root[64]; /* the temp dir: fake sysfs under root/sys, files under root */

static void make_root(void)
{
	snprintf(root, sizeof(root), "/tmp/kvm_probe.XXXXXX");
	cr_assert_not_null(mkdtemp(root));
	char p[128];
	snprintf(p, sizeof(p), "%s/sys", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sys/module", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sys/class", root);
	cr_assert_eq(mkdir(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/sys/class/misc", root);
	cr_assert_eq(mkdir(p, 0755), 0);
}

static void remove_root(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_assert_eq(system(cmd), 0);
}

/* root/rel as a path (one static buffer per call site is enough for these tests). */
static const char *at(char *buf, size_t len, const char *rel)
{
	snprintf(buf, len, "%s/%s", root, rel);
	return buf;
}

static void fake_sys(const char *rel)
{
	char p[128];
	cr_assert_eq(mkdir(at(p, sizeof(p), rel), 0755), 0, "mkdir %s", p);
}

static const char *sys(void)
{
	static char p[128];
	return at(p, sizeof(p), "sys");
}

TestSuite(kvm_probe, .init = make_root, .fini = remove_root);

Test(kvm_probe, missing_without_any_kvm_module)
{
	char path[128];
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at(at(path, sizeof(path), "kvm"), sys(), &p), -ENOENT);
	cr_assert_not(p.usable);
	cr_assert_eq(p.kind, KVM_KIND_NONE);
	char want[256];
	snprintf(want, sizeof(want), "%s does not exist and no kvm module is loaded", path);
	cr_assert_str_eq(p.reason, want);
	cr_assert(strstr(p.fix, "modprobe kvm_intel"), "fix: %s", p.fix);
	cr_assert(strstr(p.fix, "nested virtualization"), "fix: %s", p.fix);
}

Test(kvm_probe, missing_with_the_kvm_module_but_no_vendor_module)
{
	fake_sys("sys/module/kvm");
	char path[128];
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at(at(path, sizeof(path), "kvm"), sys(), &p), -ENOENT);
	char want[256];
	snprintf(want, sizeof(want), "%s does not exist although the kvm module is loaded", path);
	cr_assert_str_eq(p.reason, want);
	cr_assert(strstr(p.fix, "no vendor module registered /dev/kvm"), "fix: %s", p.fix);
	cr_assert(strstr(p.fix, "kvm_amd"), "fix: %s", p.fix);
}

Test(kvm_probe, missing_node_of_a_registered_device)
{
	fake_sys("sys/module/kvm");
	fake_sys("sys/class/misc/kvm");
	char path[128];
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at(at(path, sizeof(path), "kvm"), sys(), &p), -ENOENT);
	cr_assert(strstr(p.reason, "although the kvm module is loaded"), "%s", p.reason);
	cr_assert(strstr(p.fix, "mknod"), "fix: %s", p.fix);
}

Test(kvm_probe, regular_file_is_not_a_character_device)
{
	char path[128];
	int fd = open(at(path, sizeof(path), "file"), O_CREAT | O_WRONLY, 0666);
	cr_assert_geq(fd, 0);
	close(fd);
	fake_sys("sys/module/kvm_pvm"); /* never claimed for an unusable KVM */
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at(path, sys(), &p), -ENODEV);
	char want[256];
	snprintf(want, sizeof(want), "%s is not a character device", path);
	cr_assert_str_eq(p.reason, want);
	cr_assert_eq(p.kind, KVM_KIND_NONE);
	char line[800];
	cr_assert_not(strstr(kvm_probe_line(&p, line, sizeof(line)), "kvm_pvm"), "%s", line);
}

Test(kvm_probe, directory_is_not_a_character_device)
{
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at(sys(), sys(), &p), -ENODEV);
	cr_assert(strstr(p.reason, "is not a character device"), "%s", p.reason);
}

Test(kvm_probe, dev_null_is_not_a_kvm_device)
{
	struct kvm_probe p;
	cr_assert_eq(kvm_probe_at("/dev/null", sys(), &p), -ENOTTY);
	cr_assert_str_eq(p.reason, "/dev/null is not a KVM device (KVM_GET_API_VERSION failed)");
	cr_assert(strstr(p.fix, "10:232"), "fix: %s", p.fix);
}

/* A copy of /dev/null's node only root may open, probed by an unprivileged child: EACCES. */
Test(kvm_probe, permission_denied_says_group_kvm)
{
	char path[128];
	if (geteuid() != 0 || mknod(at(path, sizeof(path), "null"), S_IFCHR | 0600, makedev(1, 3)))
		cr_skip_test("needs root to make a device node");
	int fds[2];
	cr_assert_eq(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		struct kvm_probe p;
		if (setgid(65534) || setuid(65534))
			_exit(2);
		int r = kvm_probe_at(path, sys(), &p);
		dprintf(fds[1], "%d|%s|%s", r, p.reason, p.fix);
		_exit(0);
	}
	close(fds[1]);
	char buf[800] = "";
	ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	int status;
	waitpid(pid, &status, 0);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
	cr_assert_gt(n, 0);
	char want[256];
	snprintf(want, sizeof(want), "%d|cannot open %s: %s|", -EACCES, path, strerror(EACCES));
	cr_assert(strncmp(buf, want, strlen(want)) == 0, "got %s", buf);
	cr_assert(strstr(buf, "group kvm"), "got %s", buf);
}

Test(kvm_probe, kind_order_emulated_wins)
{
	cr_assert_eq(kvm_probe_kind(sys()), KVM_KIND_UNKNOWN);
	fake_sys("sys/module/kvm_amd");
	cr_assert_eq(kvm_probe_kind(sys()), KVM_KIND_AMD);
	fake_sys("sys/module/kvm_intel");
	cr_assert_eq(kvm_probe_kind(sys()), KVM_KIND_INTEL);
	fake_sys("sys/module/kvm_pvm");
	cr_assert_eq(kvm_probe_kind(sys()), KVM_KIND_PVM);
}

Test(kvm_probe, one_line_formats)
{
	char line[800];
	struct kvm_probe p = {.usable = true, .kind = KVM_KIND_INTEL};
	cr_assert_str_eq(kvm_probe_line(&p, line, sizeof(line)),
			 "kvm: usable (hardware, kvm_intel)");
	p.kind = KVM_KIND_AMD;
	cr_assert_str_eq(kvm_probe_line(&p, line, sizeof(line)), "kvm: usable (hardware, kvm_amd)");
	p.kind = KVM_KIND_PVM;
	cr_assert_str_eq(kvm_probe_line(&p, line, sizeof(line)), "kvm: usable (emulated, kvm_pvm)");
	p.kind = KVM_KIND_UNKNOWN;
	cr_assert_str_eq(kvm_probe_line(&p, line, sizeof(line)), "kvm: usable (unknown module)");
	p = (struct kvm_probe){.reason = "R", .fix = "F"};
	cr_assert_str_eq(kvm_probe_line(&p, line, sizeof(line)), "kvm: unusable: R; fix: F");
	char tiny[8];
	cr_assert_str_eq(kvm_probe_line(&p, tiny, sizeof(tiny)), "kvm: un");
}

/* Reasons and fixes are one line without a final period (the shell twin's format). */
Test(kvm_probe, texts_are_single_lines)
{
	char path[128];
	struct kvm_probe p;
	const char *paths[] = {at(path, sizeof(path), "none"), "/dev/null", sys()};
	for (size_t i = 0; i < 3; i++) {
		cr_assert_neq(kvm_probe_at(paths[i], sys(), &p), 0);
		cr_assert_not(strchr(p.reason, '\n'));
		cr_assert_not(strchr(p.fix, '\n'));
		cr_assert_neq(p.reason[strlen(p.reason) - 1], '.');
		cr_assert_neq(p.fix[strlen(p.fix) - 1], '.');
	}
}

Test(kvm_probe, real_dev_kvm)
{
	struct kvm_probe p;
	if (kvm_probe("/dev/kvm", &p)) {
		char line[800];
		cr_skip_test("%s", kvm_probe_line(&p, line, sizeof(line)));
	}
	cr_assert(p.usable);
	cr_assert_neq(p.kind, KVM_KIND_NONE);
	cr_assert_eq(p.err, 0);
	/* The same device with a fake sysfs: the kind comes from the modules there. */
	fake_sys("sys/module/kvm_intel");
	cr_assert_eq(kvm_probe_at("/dev/kvm", sys(), &p), 0);
	cr_assert_eq(p.kind, KVM_KIND_INTEL);
}

/* tools/kvm-probe.sh, the shell twin, run on `path` with the fake sysfs `sys_root`: its one line
 * (without newline) in `buf`, its exit status returned. */
static int shell_probe(const char *path, const char *sys_root, char *buf, size_t len)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "KVM_PROBE_SYS='%s' '%s/tools/kvm-probe.sh' '%s'", sys_root,
		 VMM_SOURCE_DIR, path);
	FILE *f = popen(cmd, "r");
	cr_assert_not_null(f);
	buf[0] = '\0';
	cr_assert_not_null(fgets(buf, (int)len, f), "%s printed nothing", cmd);
	buf[strcspn(buf, "\n")] = '\0';
	int status = pclose(f);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Both probes on `path`: the same line, and exit 0 exactly when usable. */
static void expect_twins(const char *path)
{
	struct kvm_probe p;
	char c_line[640], sh_line[640];
	int err = kvm_probe_at(path, sys(), &p);
	kvm_probe_line(&p, c_line, sizeof(c_line));
	int status = shell_probe(path, sys(), sh_line, sizeof(sh_line));
	cr_expect_str_eq(sh_line, c_line, "path %s", path);
	cr_expect_eq(status, err == 0 ? 0 : 1, "%s: exit status %d for '%s'", path, status, c_line);
}

Test(kvm_probe, shell_twin_says_the_same)
{
	char path[128];
	expect_twins(at(path, sizeof(path), "kvm")); /* no module at all */
	fake_sys("sys/module/kvm");
	expect_twins(at(path, sizeof(path), "kvm")); /* the core module only */
	fake_sys("sys/class/misc/kvm");
	expect_twins(at(path, sizeof(path), "kvm")); /* registered, no node */
	expect_twins(at(path, sizeof(path), "sys")); /* a directory */
	FILE *f = fopen(at(path, sizeof(path), "file"), "w");
	cr_assert_not_null(f);
	fclose(f);
	expect_twins(path);	   /* a regular file */
	expect_twins("/dev/null"); /* a character device that is no KVM */
	if (kvm_probe_at("/dev/kvm", sys(), &(struct kvm_probe){0}) == 0) {
		fake_sys("sys/module/kvm_intel");
		expect_twins("/dev/kvm"); /* usable, hardware */
		fake_sys("sys/module/kvm_pvm");
		expect_twins("/dev/kvm"); /* usable, emulated wins */
	}
}
