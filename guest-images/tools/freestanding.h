/* What the freestanding guest tools (no libc: guest-images/build.sh build_tool) share: system
 * calls on x86_64 and arm64, decimal numbers, output, fatal errors and the ELF entry point. A
 * tool defines TOOL_NAME (its name in messages) before including this and implements
 * `void entry(long argc, char **argv)`, which must end with sys_exit(). */
#ifndef GUEST_TOOLS_FREESTANDING_H
#define GUEST_TOOLS_FREESTANDING_H

#if defined(__x86_64__)
#define SYS_read	  0
#define SYS_write	  1
#define SYS_close	  3
#define SYS_socket	  41
#define SYS_connect	  42
#define SYS_shutdown	  48
#define SYS_setsockopt	  54
#define SYS_exit	  60
#define SYS_clock_gettime 228

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
/* The generic table (include/uapi/asm-generic/unistd.h) that arm64 uses. */
#define SYS_close	  57
#define SYS_read	  63
#define SYS_write	  64
#define SYS_exit	  93
#define SYS_clock_gettime 113
#define SYS_socket	  198
#define SYS_connect	  203
#define SYS_setsockopt	  208
#define SYS_shutdown	  210

/* SVC #0: the number in x8, the arguments in x0.., the result in x0. */
static long sys3(long n, long a, long b, long c)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
#else
#error "freestanding.h: system calls for x86_64 and aarch64 only"
#endif

static _Noreturn void sys_exit(int status)
{
	sys3(SYS_exit, status, 0, 0);
	__builtin_unreachable();
}

static unsigned long len_of(const char *s)
{
	unsigned long n = 0;
	while (s[n])
		n++;
	return n;
}

static void out(const char *s)
{
	sys3(SYS_write, 1, (long)s, (long)len_of(s));
}

/* Writes v in decimal so that it ends just before end; returns its first character. */
static char *fmt_num(char *end, unsigned long v)
{
	*end = 0;
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

static void out_num(unsigned long v)
{
	char b[24];
	out(fmt_num(b + 23, v));
}

static unsigned long parse_num(const char *s)
{
	unsigned long v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

static _Noreturn void fail(const char *what, long err)
{
	out(TOOL_NAME ": ");
	out(what);
	out(" failed, errno ");
	out_num((unsigned long)-err);
	out("\n");
	sys_exit(1);
}

static void send_all(int fd, const char *p, unsigned long n)
{
	while (n) {
		long r = sys3(SYS_write, fd, (long)p, (long)n);
		if (r <= 0)
			fail("write", r);
		p += r;
		n -= (unsigned long)r;
	}
}

/* The ELF entry: the stack holds argc, then the argv pointers. */
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov (%rsp), %rdi\n\tlea 8(%rsp), %rsi\n\tand $-16, %rsp\n"
	"\tcall entry\n\thlt\n");
#else
/* arm64's sp is 16-byte aligned at the entry already. */
__asm__(".globl _start\n_start:\n\tldr x0, [sp]\n\tadd x1, sp, #8\n\tbl entry\n\tbrk #0\n");
#endif

void entry(long argc, char **argv);

#endif
