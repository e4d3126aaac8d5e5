/* vsock-echo: talks to the host over AF_VSOCK (the VMM's virtio-vsock). Freestanding (no libc),
 * 64-bit. Built by guest-images/build.sh into the guest as /usr/bin/vsock-echo.
 *   vsock-echo PORT [BYTES]
 * connects to the host (CID 2) port PORT, sends "hello-from-guest BYTES\n" then BYTES bytes of
 * the pattern (i * 7 + (i >> 8)) & 0xff, reads one line back and prints
 * "vsock-echo: sent BYTES bytes, reply: LINE". Exit status 0, or 1 with a message. */
#define TOOL_NAME "vsock-echo"
#include "freestanding.h"

/* struct sockaddr and AF_VSOCK, which the older linux/vm_sockets.h of the arm64 cross headers
 * (linux-libc-dev-arm64-cross) does not include itself */
#include <sys/socket.h>

#include <linux/vm_sockets.h>

#define SOCK_STREAM_ 1

static void run(long argc, char **argv)
{
	static char buf[4096];
	char nb[24], line[128];
	unsigned long bytes = argc > 2 ? parse_num(argv[2]) : 0, n = 0;
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK,
				 .svm_port = argc > 1 ? (unsigned)parse_num(argv[1]) : 1234,
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
	sys_exit(n ? 0 : 1);
}

void entry(long argc, char **argv)
{
	run(argc, argv);
}
