/* The Landlock ruleset builder (host/sandbox/landlock.c): a child restricted to a temporary
 * directory opens and creates files inside it, gets EACCES outside it and for writes it was not
 * given; the lexical check used to refuse a drive swap early; the --landlock-rules parser.
 * Restrictions happen in forked children: Landlock cannot be lifted again. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/sandbox/landlock.h"

static char dir[64];
static char inside[96];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_landlock.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(inside, sizeof(inside), "%s/file", dir);
	int fd = open(inside, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0);
	close(fd);
}

static void remove_dir(void)
{
	char path[128];
	snprintf(path, sizeof(path), "%s/new", dir);
	unlink(path);
	unlink(inside);
	rmdir(dir);
}

/* 0 when open(path, flags) succeeds, else its errno. */
static int open_errno(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	close(fd);
	return 0;
}

/* Runs `body` in a child restricted to `dir` with `access`; the child's exit code is body's
 * (or 90+ when the restriction itself failed). */
static int restricted_child(unsigned access, int (*body)(void))
{
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct landlock_path p = {dir, access};
		int fd = landlock_ruleset_build(&p, 1, landlock_abi());
		if (fd < 0)
			_exit(91);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) || landlock_restrict(fd))
			_exit(92);
		_exit(body());
	}
	int status = 0;
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* exit 0: inside readable, a new file can be made inside, /etc/passwd and the root are not */
static int rw_body(void)
{
	char made[128];
	snprintf(made, sizeof(made), "%s/new", dir);
	if (open_errno(inside, O_RDWR))
		return 1;
	if (open_errno(made, O_CREAT | O_WRONLY))
		return 2;
	if (open_errno("/etc/passwd", O_RDONLY) != EACCES)
		return 3;
	if (open_errno("/", O_RDONLY | O_DIRECTORY) != EACCES)
		return 4;
	return 0;
}

/* exit 0: read-only: inside readable, not writable, nothing can be made */
static int ro_body(void)
{
	char made[128];
	snprintf(made, sizeof(made), "%s/new", dir);
	if (open_errno(inside, O_RDONLY))
		return 1;
	if (open_errno(inside, O_WRONLY) != EACCES)
		return 2;
	if (open_errno(made, O_CREAT | O_WRONLY) != EACCES)
		return 3;
	return 0;
}

static void skip_without_landlock(void)
{
	if (landlock_abi() < 1)
		cr_skip_test("this kernel has no Landlock");
}

Test(landlock, restricted_child_opens_inside_only, .init = make_dir, .fini = remove_dir)
{
	skip_without_landlock();
	cr_assert_eq(open_errno("/etc/passwd", O_RDONLY), 0, "the parent is not restricted");
	cr_assert_eq(restricted_child(LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE, rw_body),
		     0);
	cr_assert_eq(open_errno("/etc/passwd", O_RDONLY), 0, "still not, after the child");
}

Test(landlock, read_only_rule_refuses_writes, .init = make_dir, .fini = remove_dir)
{
	skip_without_landlock();
	cr_assert_eq(restricted_child(LANDLOCK_READ, ro_body), 0);
}

Test(landlock, file_rule_covers_the_file_alone, .init = make_dir, .fini = remove_dir)
{
	skip_without_landlock();
	/* a directory right on a file is refused by the kernel: the builder must drop them */
	struct landlock_path p = {inside, LANDLOCK_READ | LANDLOCK_CHANGE};
	int fd = landlock_ruleset_build(&p, 1, landlock_abi());
	cr_assert_geq(fd, 0, "build: %s", strerror(-fd));
	close(fd);
}

Test(landlock, missing_path_is_skipped)
{
	skip_without_landlock();
	struct landlock_path p = {"/nonexistent/landlock/test", LANDLOCK_READ};
	int fd = landlock_ruleset_build(&p, 1, landlock_abi());
	cr_assert_geq(fd, 0);
	close(fd);
}

Test(landlock, no_abi_no_ruleset)
{
	cr_assert_eq(landlock_ruleset_build(NULL, 0, 0), -EOPNOTSUPP);
}

Test(landlock, paths_cover)
{
	const struct landlock_path set[] = {
	    {"/srv/images", LANDLOCK_READ | LANDLOCK_WRITE},
	    {"/srv/ro", LANDLOCK_READ},
	    {"/run/x.sock", LANDLOCK_READ},
	};
	cr_assert(
	    landlock_paths_cover(set, 3, "/srv/images/a.img", LANDLOCK_READ | LANDLOCK_WRITE));
	cr_assert(landlock_paths_cover(set, 3, "/srv/images", LANDLOCK_READ));
	cr_assert(landlock_paths_cover(set, 3, "/srv/ro/b.img", LANDLOCK_READ));
	cr_assert(landlock_paths_cover(set, 3, "/run/x.sock", LANDLOCK_READ));
	cr_assert_not(landlock_paths_cover(set, 3, "/srv/ro/b.img", LANDLOCK_WRITE));
	cr_assert_not(landlock_paths_cover(set, 3, "/srv/images2/a.img", LANDLOCK_READ));
	cr_assert_not(landlock_paths_cover(set, 3, "/etc/shadow", LANDLOCK_READ));
	cr_assert_not(landlock_paths_cover(set, 3, "/srv/images/../../etc/shadow", LANDLOCK_READ));
	cr_assert_not(landlock_paths_cover(set, 3, "/srv/images/./a.img", LANDLOCK_READ));
	cr_assert_not(landlock_paths_cover(set, 3, "srv/images/a.img", LANDLOCK_READ));
	cr_assert(landlock_paths_cover(set, 3, "/srv/images/..a.img", LANDLOCK_READ));
	const struct landlock_path root[] = {{"/", LANDLOCK_READ}};
	cr_assert(landlock_paths_cover(root, 1, "/etc/passwd", LANDLOCK_READ));
}

struct seen {
	char paths[4][64];
	unsigned access[4];
	int n;
};

static int record(const char *path, unsigned access, void *opaque)
{
	struct seen *s = opaque;
	if (s->n == 4)
		return -ENOSPC;
	snprintf(s->paths[s->n], sizeof(s->paths[0]), "%s", path);
	s->access[s->n++] = access;
	return 0;
}

Test(landlock, parse_rules)
{
	struct seen s = {0};
	cr_assert_eq(landlock_parse_rules("/srv/snap:rw,/etc/vmm.json:ro", record, &s), 0);
	cr_assert_eq(s.n, 2);
	cr_assert_str_eq(s.paths[0], "/srv/snap");
	cr_assert_eq(s.access[0], LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE);
	cr_assert_str_eq(s.paths[1], "/etc/vmm.json");
	cr_assert_eq(s.access[1], LANDLOCK_READ);
	cr_assert_eq(landlock_parse_rules("/srv/snap", record, &s), -EINVAL);
	cr_assert_eq(landlock_parse_rules("/srv/snap:wx", record, &s), -EINVAL);
	cr_assert_eq(landlock_parse_rules(":rw", record, &s), -EINVAL);
	cr_assert_eq(landlock_parse_rules("", record, &s), -EINVAL);
	cr_assert_eq(landlock_parse_rules("/a:ro,", record, &s), -EINVAL);
}

/* ",," is a comma in the path, as in an option string (base/options.h). */
Test(landlock, a_doubled_comma_is_a_comma_in_a_rule_s_path)
{
	struct seen s = {0};
	cr_assert_eq(landlock_parse_rules("/srv/a,,b:rw,/c,,,,:ro,/d,,:rw", record, &s), 0);
	cr_assert_eq(s.n, 3);
	cr_assert_str_eq(s.paths[0], "/srv/a,b");
	cr_assert_eq(s.access[0], LANDLOCK_READ | LANDLOCK_WRITE | LANDLOCK_CHANGE);
	cr_assert_str_eq(s.paths[1], "/c,,");
	cr_assert_eq(s.access[1], LANDLOCK_READ);
	cr_assert_str_eq(s.paths[2], "/d,");
	s.n = 0;
	cr_assert_eq(landlock_parse_rules("/d,,,/e:ro", record, &s), -EINVAL,
		     "',,,' is a comma, then the separator: \"/d,\" has no access");
	cr_assert_eq(landlock_parse_rules("/a,,:ro,", record, &s), -EINVAL, "an empty rule");
}
