/* syscall-cost: times N getpid() system calls from guest user space and prints the cost of one.
 * Freestanding (no libc) so one source builds every way: x86's 64-bit (SYSCALL) and 32-bit
 * (INT $0x80), arm64's (SVC). Built by guest-images/build.sh into the guest as
 * /usr/bin/syscall-cost and, on x86, /usr/bin/syscall-cost32.
 *   syscall-cost [N]   default N = 1000; prints
 *   "syscall-cost: 64-bit getpid: N calls in T us, X.Y us per call" */
#define NR_DEFAULT	1000
#define CLOCK_MONOTONIC 1

#ifdef __x86_64__
#define SYS_write	  1
#define SYS_getpid	  39
#define SYS_exit	  60
#define SYS_clock_gettime 228
#define BITS		  "64"
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
#define SYS_write	  64
#define SYS_getpid	  172
#define SYS_exit	  93
#define SYS_clock_gettime 113
#define BITS		  "64"
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
#define SYS_write	  4
#define SYS_getpid	  20
#define SYS_exit	  1
#define SYS_clock_gettime 403 /* clock_gettime64: 64-bit times */
#define BITS		  "32"
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("int $0x80" : "=a"(r) : "a"(n), "b"(a), "c"(b), "d"(c) : "memory");
	return r;
}
#endif

struct ts {
	long long sec, nsec; /* struct __kernel_timespec in both modes */
};

static void out(const char *s)
{
	long n = 0;
	while (s[n])
		n++;
	sys3(SYS_write, 1, (long)s, n);
}

static void out_num(unsigned long v)
{
	char b[24];
	int i = 23;
	b[i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while (v /= 10);
	out(b + i);
}

static unsigned long now_us(void)
{
	struct ts t;
	sys3(SYS_clock_gettime, CLOCK_MONOTONIC, (long)&t, 0);
	return (unsigned long)t.sec * 1000000ul + (unsigned long)t.nsec / 1000ul;
}

static unsigned long parse(const char *s)
{
	unsigned long v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

static void run(long argc, char **argv)
{
	unsigned long n = argc > 1 ? parse(argv[1]) : NR_DEFAULT;
	if (!n)
		n = NR_DEFAULT;
	unsigned long t0 = now_us();
	for (unsigned long i = 0; i < n; i++)
		sys3(SYS_getpid, 0, 0, 0);
	unsigned long us = now_us() - t0;
	out("syscall-cost: " BITS "-bit getpid: ");
	out_num(n);
	out(" calls in ");
	out_num(us);
	out(" us, ");
	out_num(us / n);
	out(".");
	out_num((us * 10 / n) % 10);
	out(" us per call\n");
	sys3(SYS_exit, 0, 0, 0);
}

/* The ELF entry: the stack holds argc, then the argv pointers. */
#if defined(__x86_64__)
__asm__(".globl _start\n_start:\n\tmov (%rsp), %rdi\n\tlea 8(%rsp), %rsi\n\tand $-16, %rsp\n"
	"\tcall entry\n\thlt\n");
#elif defined(__aarch64__)
__asm__(".globl _start\n_start:\n\tldr x0, [sp]\n\tadd x1, sp, #8\n\tbl entry\n\tbrk #0\n");
#else
__asm__(".globl _start\n_start:\n\tmov (%esp), %eax\n\tlea 4(%esp), %edx\n\tand $-16, %esp\n"
	"\tsub $8, %esp\n\tpush %edx\n\tpush %eax\n\tcall entry\n\thlt\n");
#endif

void entry(long argc, char **argv);
void entry(long argc, char **argv)
{
	run(argc, argv);
}
