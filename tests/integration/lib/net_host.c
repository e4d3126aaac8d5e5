/* net_host: the host side of tests/guests/virtio_net.c, virtio_net_mq.c and mmds_flood.c on a
 * tap where no Python runs: the arm64 L1 of tests/integration/framework/arm64_guests.py (busybox:
 * `ip`, `ping`, `arp`; its `tunctl` makes no multi-queue tap). The C twin of net/net_frames.py,
 * of test_virtio_net_mq.py's ECHO_PY and of test_mmds_flood.py's sniffer (x86's tests): keep
 * them in step.
 *
 *   net_host tap NAME [multi]           a persistent tap (IFF_MULTI_QUEUE with `multi`), left
 *                                       for the VMM; busybox `tunctl -d NAME` removes it
 *   net_host delayed IF MAC N           N frames of type 0x88b6 (payload: u32 seq)
 *   net_host sweep IF MAC A-B[:STEP]    pattern frames (0x88b5) of each size, each echoed back by
 *                                       the guest and compared byte for byte
 *   net_host gen IF MAC LEN             asks the guest (0x88b8) for a pattern frame of LEN bytes
 *                                       and checks it
 *   net_host quit IF MAC                ends the guest's serving loop (0x88b7)
 *   net_host udp-echo IP PORT SECONDS   echoes UDP datagrams on IP:PORT; prints "ready", and at
 *                                       SIGTERM or after SECONDS "echoed N from P ports"
 *   net_host sniff IF SECONDS           counts the frames the guest sends on IF and those to
 *                                       169.254.169.254 (IPv4 destination or ARP target);
 *                                       prints "sniffing", and at SIGTERM or after SECONDS
 *                                       "sniffed N frames from the guest, M to 169.254.169.254"
 *   net_host count IF SECONDS           counts frames of type 0x88b9 from the guest on IF from
 *                                       the first, for up to SECONDS, ending after 1 s without
 *                                       one; prints "counting", then "host counted N frames (B
 *                                       bytes)"
 *   net_host send IF MAC SIZE SECONDS   sends SIZE-byte frames of type 0x88b9 to MAC as fast as
 *                                       it can for SECONDS (those the tap's queue refuses do not
 *                                       count); prints "host sent N SIZE-byte frames in S s"
 *   (count and send: tools/benchmarks/net_host.py's, for tests/guests/virtio_net_bench.c)
 * Prints one line per result; exits 0, 1 when a check failed (the reason on stdout), 2 on a bad
 * argument.
 *   aarch64-linux-gnu-gcc -O2 -Wall -Wextra -Werror -o net_host net_host.c */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define ETH_ECHO    0x88b5
#define ETH_DELAYED 0x88b6
#define ETH_QUIT    0x88b7
#define ETH_GEN	    0x88b8
#define ETH_BENCH   0x88b9
#define FRAME_MAX   70000
#define MAX_PORTS   1024

static int make_tap(const char *name, int multi)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | (multi ? IFF_MULTI_QUEUE : 0)};
	int fd = open("/dev/net/tun", O_RDWR);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (fd < 0 || ioctl(fd, TUNSETIFF, &ifr) || ioctl(fd, TUNSETPERSIST, 1)) {
		printf("tap %s: %s\n", name, strerror(errno));
		return 1;
	}
	close(fd);
	printf("tap %s%s\n", name, multi ? " (multi-queue)" : "");
	return 0;
}

static int parse_mac(const char *s, unsigned char mac[6])
{
	unsigned v[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++)
		mac[i] = (unsigned char)v[i];
	return 0;
}

/* An AF_PACKET socket bound to IF (a 3 s receive timeout); its MAC in ME. */
static int open_packet(const char *ifname, unsigned char me[6])
{
	struct sockaddr_ll sa = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL)};
	struct timeval tv = {.tv_sec = 3};
	struct ifreq ifr;
	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sa.sll_ifindex = (int)if_nametoindex(ifname);
	if (s < 0 || !sa.sll_ifindex || bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    ioctl(s, SIOCGIFHWADDR, &ifr) ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		printf("%s: %s\n", ifname, strerror(errno));
		return -1;
	}
	memcpy(me, ifr.ifr_hwaddr.sa_data, 6);
	return s;
}

static void put_be(unsigned char *p, unsigned v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

/* net_frames.py's pattern(): DST, SRC, TYPE, u32 seq, u32 size, byte k = (seq * 7 + k) & 0xff. */
static unsigned build(unsigned char *f, const unsigned char *dst, const unsigned char *src,
		      unsigned type, unsigned seq, unsigned size)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	put_be(f + 12, type, 2);
	put_be(f + 14, seq, 4);
	put_be(f + 18, size, 4);
	for (unsigned k = 8; k < size - 14; k++)
		f[14 + k] = (unsigned char)((seq * 7 + k) & 0xff);
	return size;
}

/* The next frame from FROM of TYPE (not one we sent); its length, or -1 after the timeout. */
static long recv_type(int s, unsigned type, const unsigned char *from, unsigned char *buf)
{
	for (;;) {
		struct sockaddr_ll sa;
		socklen_t sl = sizeof(sa);
		long n = recvfrom(s, buf, FRAME_MAX, 0, (struct sockaddr *)&sa, &sl);

		if (n < 0)
			return -1;
		if (sa.sll_pkttype != PACKET_OUTGOING && n >= 14 && !memcmp(buf + 6, from, 6) &&
		    (unsigned)(buf[12] << 8 | buf[13]) == type)
			return n;
	}
}

/* net_frames.py's sizes(): A, A + STEP, ... up to B, then B itself where the steps miss it;
 * 0 at the end. */
static unsigned next_size(unsigned size, unsigned a, unsigned b, unsigned step)
{
	if (size >= b)
		return 0;
	if (size + step <= b)
		return size + step;
	return (b - a) % step ? b : 0;
}

static int sweep(int s, const unsigned char *me, const unsigned char *mac, const char *range)
{
	static unsigned char out[FRAME_MAX], back[FRAME_MAX];
	unsigned a, b, step = 1, seq = 0, n = 0;

	if (sscanf(range, "%u-%u:%u", &a, &b, &step) < 2 || a < 60 || b >= FRAME_MAX || !step)
		return 2;
	for (unsigned size = a; size; size = next_size(size, a, b, step), seq++) {
		long got;

		build(out, mac, me, ETH_ECHO, seq, size);
		if (send(s, out, size, 0) != (long)size) {
			printf("size %u: send: %s\n", size, strerror(errno));
			return 1;
		}
		got = recv_type(s, ETH_ECHO, mac, back);
		if (got < 0) {
			printf("size %u: no echo\n", size);
			return 1;
		}
		/* the echo: MACs swapped, the rest intact */
		if (got != size || memcmp(back, me, 6) || memcmp(back + 6, mac, 6) ||
		    memcmp(back + 12, out + 12, size - 12)) {
			printf("size %u: echo of %ld bytes differs\n", size, got);
			return 1;
		}
		n++;
	}
	printf("%u sizes from %u to %u echoed intact\n", n, a, b);
	return 0;
}

/* net_frames.py's gen: the request (u32 size, u32 seq 99), then the guest's pattern frame. */
static int gen(int s, const unsigned char *me, const unsigned char *mac, const char *arg)
{
	static unsigned char req[64], want[FRAME_MAX], back[FRAME_MAX];
	unsigned size = (unsigned)strtoul(arg, NULL, 10);
	long got;

	if (size < 60 || size >= FRAME_MAX)
		return 2;
	memcpy(req, mac, 6);
	memcpy(req + 6, me, 6);
	put_be(req + 12, ETH_GEN, 2);
	put_be(req + 14, size, 4);
	put_be(req + 18, 99, 4);
	if (send(s, req, sizeof(req), 0) != (long)sizeof(req)) {
		printf("gen %u: send: %s\n", size, strerror(errno));
		return 1;
	}
	got = recv_type(s, ETH_GEN, mac, back);
	build(want, me, mac, ETH_GEN, 99, size);
	if (got != (long)size || memcmp(back, want, size)) {
		printf("generated frame of %ld bytes, want %u intact\n", got, size);
		return 1;
	}
	printf("frame of %u bytes from the guest intact\n", size);
	return 0;
}

static int frames(const char *cmd, const char *ifname, const char *macstr, const char *arg)
{
	static unsigned char f[64];
	unsigned char me[6], mac[6];
	int s;

	if (parse_mac(macstr, mac))
		return 2;
	s = open_packet(ifname, me);
	if (s < 0)
		return 1;
	if (!strcmp(cmd, "sweep") && arg)
		return sweep(s, me, mac, arg);
	if (!strcmp(cmd, "gen") && arg)
		return gen(s, me, mac, arg);
	memset(f, 0, sizeof(f));
	memcpy(f, mac, 6);
	memcpy(f + 6, me, 6);
	if (!strcmp(cmd, "delayed") && arg) {
		unsigned n = (unsigned)atoi(arg);

		put_be(f + 12, ETH_DELAYED, 2);
		for (unsigned seq = 0; seq < n; seq++) {
			put_be(f + 14, seq, 4);
			if (send(s, f, 60, 0) != 60)
				return 1;
		}
		printf("sent %u\n", n);
		return 0;
	}
	if (!strcmp(cmd, "quit")) {
		put_be(f + 12, ETH_QUIT, 2);
		return send(s, f, 60, 0) == 60 ? 0 : 1;
	}
	return 2;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int udp_echo(const char *ip, int port, int seconds)
{
	static unsigned short ports[MAX_PORTS];
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	struct sigaction act = {.sa_handler = on_term}; /* no SA_RESTART: recvfrom returns */
	struct timeval tv = {.tv_sec = 1};
	unsigned long n = 0;
	unsigned nports = 0;
	time_t end = time(NULL) + seconds;
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
	    bind(s, (struct sockaddr *)&sa, sizeof(sa)) ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		printf("udp-echo %s:%d: %s\n", ip, port, strerror(errno));
		return 1;
	}
	sigaction(SIGTERM, &act, NULL);
	printf("ready\n");
	fflush(stdout);
	while (!stop && time(NULL) < end) {
		char buf[2048];
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		long len = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		unsigned i;

		if (len < 0)
			continue;
		n++;
		for (i = 0; i < nports && ports[i] != from.sin_port; i++)
			;
		if (i == nports && nports < MAX_PORTS)
			ports[nports++] = from.sin_port;
		sendto(s, buf, (size_t)len, 0, (struct sockaddr *)&from, fl);
	}
	printf("echoed %lu from %u ports\n", n, nports);
	return 0;
}

/* test_mmds_flood.py's sniff(): MMDS answers inside the VMM, so nothing the guest sends to its
 * address may reach the tap. */
static int sniff(const char *ifname, int seconds)
{
	static const unsigned char mmds[4] = {169, 254, 169, 254};
	static unsigned char f[FRAME_MAX];
	struct sigaction act = {.sa_handler = on_term}; /* no SA_RESTART: recvfrom returns */
	unsigned long frames = 0, to_mmds = 0;
	time_t end = time(NULL) + seconds;
	unsigned char me[6];
	int s = open_packet(ifname, me);

	if (s < 0)
		return 1;
	sigaction(SIGTERM, &act, NULL);
	printf("sniffing\n");
	while (!stop && time(NULL) < end) {
		struct sockaddr_ll sa;
		socklen_t sl = sizeof(sa);
		long n = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&sa, &sl);
		unsigned type;

		if (n < 14 || sa.sll_pkttype == PACKET_OUTGOING) /* a timeout, or to the guest */
			continue;
		frames++;
		type = (unsigned)(f[12] << 8 | f[13]);
		if ((type == ETH_P_IP && n >= 34 && !memcmp(f + 30, mmds, 4)) ||
		    (type == ETH_P_ARP && n >= 42 && !memcmp(f + 38, mmds, 4)))
			to_mmds++;
	}
	printf("sniffed %lu frames from the guest, %lu to 169.254.169.254\n", frames, to_mmds);
	return 0;
}

/* net_host.py's count: the guest's 0x88b9 frames, SECONDS for the first, 1 s for each next. */
static int count(const char *ifname, int seconds)
{
	static unsigned char f[FRAME_MAX];
	struct timeval tv = {.tv_sec = seconds};
	int rcvbuf = 64 << 20;
	unsigned long n = 0, bytes = 0;
	unsigned char me[6];
	int s = open_packet(ifname, me);

	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) ||
	    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)))
		return 1;
	printf("counting\n");
	for (;;) {
		struct sockaddr_ll sa;
		socklen_t sl = sizeof(sa);
		long len = recvfrom(s, f, sizeof(f), 0, (struct sockaddr *)&sa, &sl);

		if (len < 0)
			break; /* the timeout */
		if (len < 14 || sa.sll_pkttype == PACKET_OUTGOING ||
		    (unsigned)(f[12] << 8 | f[13]) != ETH_BENCH)
			continue;
		if (!n++) {
			tv = (struct timeval){.tv_sec = 1};
			setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		}
		bytes += (unsigned long)len;
	}
	printf("host counted %lu frames (%lu bytes)\n", n, bytes);
	return 0;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* net_host.py's send (without its flows): SIZE-byte 0x88b9 frames to MAC for SECONDS. */
static int flood(const char *ifname, const char *macstr, const char *size_s, const char *secs)
{
	static unsigned char f[1514];
	unsigned size = (unsigned)strtoul(size_s, NULL, 10);
	double seconds = strtod(secs, NULL), end;
	unsigned long n = 0;
	unsigned char me[6], mac[6];
	int s;

	if (parse_mac(macstr, mac) || size < 60 || size > sizeof(f) || !(seconds > 0))
		return 2;
	s = open_packet(ifname, me);
	if (s < 0)
		return 1;
	memcpy(f, mac, 6);
	memcpy(f + 6, me, 6);
	put_be(f + 12, ETH_BENCH, 2);
	for (end = now_s() + seconds; now_s() < end;) {
		for (int i = 0; i < 64; i++)
			n += send(s, f, size, 0) == (long)size; /* refused: the guest is behind */
	}
	printf("host sent %lu %u-byte frames in %g s\n", n, size, seconds);
	return 0;
}

int main(int argc, char **argv)
{
	int r = 2;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "tap"))
		r = make_tap(argv[2], argc > 3 && !strcmp(argv[3], "multi"));
	else if (argc == 5 && !strcmp(argv[1], "udp-echo"))
		r = udp_echo(argv[2], atoi(argv[3]), atoi(argv[4]));
	else if (argc == 4 && !strcmp(argv[1], "sniff"))
		r = sniff(argv[2], atoi(argv[3]));
	else if (argc == 4 && !strcmp(argv[1], "count"))
		r = count(argv[2], atoi(argv[3]));
	else if (argc == 6 && !strcmp(argv[1], "send"))
		r = flood(argv[2], argv[3], argv[4], argv[5]);
	else if (argc >= 4)
		r = frames(argv[1], argv[2], argv[3], argc > 4 ? argv[4] : NULL);
	if (r == 2)
		fprintf(stderr, "net_host: bad arguments (see the top of net_host.c)\n");
	return r;
}
