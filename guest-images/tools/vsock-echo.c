/* vsock-echo: talks to the host over AF_VSOCK (the VMM's virtio-vsock). Freestanding (no libc),
 * 64-bit. Built by guest-images/build.sh into the guest as /usr/bin/vsock-echo.
 *   vsock-echo PORT [BYTES]
 * connects to the host (CID 2) port PORT, sends "hello-from-guest BYTES\n" then BYTES bytes of
 * the pattern (i * 7 + (i >> 8)) & 0xff, reads one line back and prints
 * "vsock-echo: sent BYTES bytes, reply: LINE". Exit status 0, or 1 with a message. */
#include <linux/vm_sockets.h>

#define SYS_read     0
#define SYS_write    1
#define SYS_close    3
#define SYS_socket   41
#define SYS_connect  42
#define SYS_shutdown 48
#define SYS_exit     60
#define SOCK_STREAM_ 1
#define SHUT_WR_     1

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
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

static char *fmt_num(char *end, unsigned long v)
{
	*end = 0;
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

static _Noreturn void fail(const char *what, long err)
{
	char b[24];
	out("vsock-echo: ");
	out(what);
	out(" failed, errno ");
	out(fmt_num(b + 23, (unsigned long)-err));
	out("\n");
	sys3(SYS_exit, 1, 0, 0);
	__builtin_unreachable();
}

static unsigned long parse(const char *s)
{
	unsigned long v = 0;
	while (s && *s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
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

static void run(long argc, char **argv)
{
	static char buf[4096];
	char nb[24], line[128];
	unsigned long bytes = argc > 2 ? parse(argv[2]) : 0, n = 0;
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
				 .svm_port = argc > 1 ? (unsigned)parse(argv[1]) : 1234,
				 .svm_cid = VMADDR_CID_HOST};
	long fd = sys3(SYS_socket, AF_VSOCK, SOCK_STREAM_, 0);
	if (fd < 0)
		fail("socket(AF_VSOCK)", fd);
	long r = sys3(SYS_connect, fd, (long)&sa, sizeof(sa));
	if (r < 0)
		fail("connect", r);
	out("vsock-echo: connected\n");
	send_all((int)fd, "hello-from-guest ", 17);
	char *num = fmt_num(nb + 23, bytes);
	send_all((int)fd, num, len_of(num));
	send_all((int)fd, "\n", 1);
	for (unsigned long off = 0; off < bytes;) {
		unsigned long k = bytes - off < sizeof(buf) ? bytes - off : sizeof(buf);
		for (unsigned long i = 0; i < k; i++)
			buf[i] = (char)(((off + i) * 7 + ((off + i) >> 8)) & 0xff);
		send_all((int)fd, buf, k);
		off += k;
	}
	while (n < sizeof(line) - 1) {
		r = sys3(SYS_read, fd, (long)&line[n], 1);
		if (r < 0)
			fail("read", r);
		if (r == 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = 0;
	sys3(SYS_close, fd, 0, 0);
	out("vsock-echo: sent ");
	out(fmt_num(nb + 23, bytes));
	out(" bytes, reply: ");
	out(line);
	out("\n");
	sys3(SYS_exit, n ? 0 : 1, 0, 0);
}

/* The ELF entry: the stack holds argc, then the argv pointers. */
__asm__(".globl _start\n_start:\n\tmov (%rsp), %rdi\n\tlea 8(%rsp), %rsi\n\tand $-16, %rsp\n"
	"\tcall entry\n\thlt\n");

void entry(long argc, char **argv);
void entry(long argc, char **argv)
{
	run(argc, argv);
}
