/* Linked into the unit tests of a cross build (tests/CMakeLists.txt, CMAKE_CROSSCOMPILING) that
 * run under qemu-user without binfmt_misc (docs/aarch64.md): Criterion runs each test in a
 * worker that BoxFort starts by exec'ing the test binary again (execl of /proc/self/exe). Under
 * qemu-user that exec reaches the host kernel, which cannot run an arm64 binary unless binfmt_misc
 * names qemu for it, and nothing here registers it (host state the tests must not touch). So
 * these definitions of execve/execv/execl, which the binary's own symbols put ahead of libc's
 * for Criterion's library too, send an exec of an arm64 ELF to the host's qemu-user instead:
 *   $VMM_QEMU_USER -0 ARGV0 PATH ARGS...
 * (its loader prefix is the host's root, where the multiarch libc6:arm64 is; QEMU_LD_PREFIX in
 * the environment, which the child keeps, says otherwise). Any other file (a script, a host
 * program) is exec'd as it is. Without VMM_QEMU_USER nothing changes. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

extern char **environ;

static int is_foreign_elf(const char *path)
{
	Elf64_Ehdr eh;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	n = read(fd, &eh, sizeof(eh));
	close(fd);
	return n == (ssize_t)sizeof(eh) && !memcmp(eh.e_ident, ELFMAG, SELFMAG) &&
	       eh.e_machine == EM_AARCH64;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
	const char *qemu = getenv("VMM_QEMU_USER");
	char real[PATH_MAX];
	size_t argc = 0, i;
	char **qargv;

	if (!qemu || !*qemu || !is_foreign_elf(path))
		return (int)syscall(SYS_execve, path, argv, envp);
	/* /proc/self/exe is qemu's own for the host: name the test binary (qemu-user answers a
	 * guest's readlink of it with the binary's path) */
	if (realpath(path, real))
		path = real;
	while (argv[argc])
		argc++;
	qargv = calloc(argc + 5, sizeof(*qargv));
	if (!qargv) {
		errno = ENOMEM;
		return -1;
	}
	qargv[0] = (char *)qemu;
	qargv[1] = "-0";
	qargv[2] = argc ? argv[0] : (char *)path;
	qargv[3] = (char *)path;
	for (i = 1; i < argc; i++)
		qargv[3 + i] = argv[i];
	syscall(SYS_execve, qemu, qargv, envp);
	free(qargv); /* the exec failed: errno says why */
	return -1;
}

int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

int execl(const char *path, const char *arg, ...)
{
	const char *argv[64];
	size_t n = 0;
	va_list ap;

	argv[n++] = arg;
	va_start(ap, arg);
	while (argv[n - 1] && n < sizeof(argv) / sizeof(argv[0]))
		argv[n++] = va_arg(ap, const char *);
	va_end(ap);
	if (argv[n - 1]) {
		errno = E2BIG;
		return -1;
	}
	return execve(path, (char *const *)argv, environ);
}
