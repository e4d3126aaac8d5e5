/* vmm-netgen: the host side of the virtio-net rate benchmarks, in C, so that the sender is not
 * the bottleneck of a host->guest row (tools/bench net, tests/integration/bench/test_net_bench.py).
 * It speaks raw Ethernet frames of EtherType 0x88b9 (IEEE local experimental) over AF_PACKET, the
 * same frames and the same output lines as tools/benchmarks/net_host.py, which stays as the
 * fallback when the tool is not built.
 *
 *   vmm-netgen send IF MAC SIZE SECONDS [FLOWS]
 *                                         floods MAC on IF with SIZE-byte frames, 64 per
 *                                         sendmmsg(), bypassing the qdisc; prints
 *                                         "host sent N SIZE-byte frames in SECONDS s
 *                                         (offered M)": N the tap took, M tried. With FLOWS
 *                                         (1..64) the frames are IPv4/UDP instead, to port
 *                                         0x88b9 from FLOWS source ports in turn, so that a
 *                                         multi-queue tap spreads them over its queues by
 *                                         flow hash (192.168.77.1 to .2, source ports
 *                                         40000 and up; no UDP checksum). When the tap
 *                                         refuses a batch (its queue is full: the VM is
 *                                         behind) the sender yields its CPU instead of
 *                                         retrying at once: on a 2-core host the spinning
 *                                         sender held the core the VMM's I/O thread needed
 *                                         to drain the tap, and the row measured the
 *                                         scheduler (52k frames/s while offering 1.9M)
 *   vmm-netgen count IF SECONDS           counts the frames arriving on IF from the first, for
 *                                         up to SECONDS, ending after 1 s without one; prints
 *                                         "host counted N frames (B bytes)"
 * The "host alone" of the net rows (issue 68): a program on the tap's own fd, as the VMM is,
 * with no guest behind it:
 *   vmm-netgen tapwrite TAP SIZE SECONDS  attaches to TAP (IFF_VNET_HDR, a 12-byte header, as
 *                                         our VMM) and writes SIZE-byte frames of EtherType
 *                                         0x88b9, one writev() each as our transmit path does,
 *                                         for SECONDS; prints "host wrote N SIZE-byte frames
 *                                         in S s"
 *   vmm-netgen tapread TAP SECONDS        attaches to TAP and reads frames, one read() each,
 *                                         from the first (waiting up to SECONDS for it) until
 *                                         0.3 s pass without one, as the guest's receive phase
 *                                         ends; prints "host read N frames (B bytes) in S s",
 *                                         S from the first frame to the last
 * Needs CAP_NET_RAW (send, count) or CAP_NET_ADMIN (tapwrite, tapread). Exit status 0, 1 on a
 * system error, 2 on a usage error. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define ETH_BENCH 0x88b9
#define BATCH	  64
#define MIN_FRAME 60
#define MAX_FRAME 1514
#define MAX_FLOWS BATCH
/* The UDP flows: tools/bench's namespace addresses; source ports from SPORT_BASE. */
#define NET_SRC_IP  0xc0a84d01u /* 192.168.77.1 */
#define NET_DST_IP  0xc0a84d02u /* 192.168.77.2 */
#define SPORT_BASE  40000
#define IP_OFF	    ETH_HLEN
#define UDP_OFF	    (IP_OFF + 20)
#define UDP_HDR_END (UDP_OFF + 8)
#define TAP_HDR_LEN 12	/* struct virtio_net_hdr_v1, as our VMM's tap */
#define TAP_IDLE_MS 300 /* tapread: the burst is over (the guest's rx_idle_ms) */

static const char usage[] = "usage: vmm-netgen send IF MAC SIZE SECONDS [FLOWS]\n"
			    "       vmm-netgen count IF SECONDS\n"
			    "       vmm-netgen tapwrite TAP SIZE SECONDS\n"
			    "       vmm-netgen tapread TAP SECONDS\n";

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* An AF_PACKET socket bound to IF for EtherType `proto` (0: sends only, and the kernel takes
 * each frame's protocol from its header); its MAC in `mac` when asked. */
static int open_socket(const char *ifname, uint8_t mac[ETH_ALEN], uint16_t proto)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(proto));
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(proto)};
	struct ifreq ifr = {0};

	if (fd < 0) {
		perror("vmm-netgen: socket(AF_PACKET) (needs CAP_NET_RAW)");
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) < 0 ||
	    (mac && ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)) {
		fprintf(stderr, "vmm-netgen: %s: %s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	if (mac)
		memcpy(mac, ifr.ifr_hwaddr.sa_data, ETH_ALEN);
	return fd;
}

static bool parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	unsigned b[ETH_ALEN];
	char end;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &end) !=
	    ETH_ALEN)
		return false;
	for (int i = 0; i < ETH_ALEN; i++) {
		if (b[i] > 0xff)
			return false;
		mac[i] = (uint8_t)b[i];
	}
	return true;
}

static bool parse_num(const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	*out = strtod(s, &end);
	return !errno && end != s && !*end && *out >= lo && *out <= hi;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* RFC 791 header checksum of the 20-byte header at ip (its checksum field zero). */
static uint16_t ip_checksum(const uint8_t *ip)
{
	uint32_t sum = 0;

	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Turns a frame whose MAC addresses are set into IPv4/UDP of flow `flow` (no UDP checksum,
 * optional over IPv4), zero payload. */
static void make_udp(uint8_t *f, unsigned size, unsigned flow)
{
	uint8_t *ip = f + IP_OFF, *udp = f + UDP_OFF;

	put16(f + 2 * ETH_ALEN, ETH_P_IP);
	memset(ip, 0, size - IP_OFF);
	ip[0] = 0x45; /* version 4, 5 words */
	put16(ip + 2, (uint16_t)(size - IP_OFF));
	ip[8] = 64; /* TTL */
	ip[9] = IPPROTO_UDP;
	put32(ip + 12, NET_SRC_IP);
	put32(ip + 16, NET_DST_IP);
	put16(ip + 10, ip_checksum(ip));
	put16(udp, (uint16_t)(SPORT_BASE + flow));
	put16(udp + 2, ETH_BENCH);
	put16(udp + 4, (uint16_t)(size - UDP_OFF));
}

/* flows 0: one raw EtherType 0x88b9 frame; else one IPv4/UDP frame per flow. The MACs of
 * frames[0] are set; the others get them. */
static void make_frames(uint8_t (*frames)[MAX_FRAME], unsigned size, unsigned flows)
{
	if (!flows) {
		put16(frames[0] + 2 * ETH_ALEN, ETH_BENCH);
		return;
	}
	for (unsigned k = 0; k < flows; k++) {
		if (k)
			memcpy(frames[k], frames[0], 2 * ETH_ALEN);
		make_udp(frames[k], size, k);
	}
}

/* Frames the tap refuses (its queue is full: the guest is behind) are not counted. */
static int send_flood(const char *ifname, const char *mac_s, unsigned size, double seconds,
		      unsigned flows)
{
	static uint8_t frames[MAX_FLOWS][MAX_FRAME];
	struct iovec iov[MAX_FLOWS];
	struct mmsghdr msgs[BATCH];
	uint64_t sent = 0, offered = 0;
	int one = 1, fd;

	if (!parse_mac(mac_s, frames[0])) {
		fprintf(stderr, "vmm-netgen: bad MAC '%s'\n%s", mac_s, usage);
		return 2;
	}
	fd = open_socket(ifname, frames[0] + ETH_ALEN, flows ? 0 : ETH_BENCH);
	if (fd < 0)
		return 1;
	/* Straight to the tap's queue: the qdisc would only add a lock and a second queue. */
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		perror("vmm-netgen: PACKET_QDISC_BYPASS (going on through the qdisc)");
	make_frames(frames, size, flows);
	memset(msgs, 0, sizeof(msgs));
	for (unsigned k = 0; k < (flows ? flows : 1); k++)
		iov[k] = (struct iovec){.iov_base = frames[k], .iov_len = size};
	for (int i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov[flows ? (unsigned)i % flows : 0];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	for (double end = now_s() + seconds; now_s() < end;) {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		offered += n > 0 ? (uint64_t)n : 1; /* a refused batch stops at its first frame */
		if (n > 0)
			sent += (uint64_t)n;
		else if (n < 0 && (errno == ENOBUFS || errno == EAGAIN))
			sched_yield(); /* the tap is full: let whoever drains it have this CPU */
		else if (n < 0 && errno != EINTR) {
			perror("vmm-netgen: sendmmsg");
			close(fd);
			return 1;
		}
	}
	close(fd);
	printf("host sent %llu %u-byte frames in %g s (offered %llu)\n", (unsigned long long)sent,
	       size, seconds, (unsigned long long)offered);
	return 0;
}

static void set_timeout(int fd, double seconds)
{
	struct timeval tv = {.tv_sec = (time_t)seconds,
			     .tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6)};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int count_frames(const char *ifname, double seconds)
{
	static uint8_t bufs[BATCH][2048];
	struct sockaddr_ll from[BATCH];
	struct iovec iov[BATCH];
	struct mmsghdr msgs[BATCH];
	uint64_t frames = 0, bytes = 0;
	int rcvbuf = 64 << 20, fd = open_socket(ifname, NULL, ETH_BENCH);

	if (fd < 0)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	set_timeout(fd, seconds);
	for (;;) {
		memset(msgs, 0, sizeof(msgs));
		for (int i = 0; i < BATCH; i++) {
			iov[i] = (struct iovec){bufs[i], sizeof(bufs[i])};
			msgs[i].msg_hdr = (struct msghdr){.msg_name = &from[i],
							  .msg_namelen = sizeof(from[i]),
							  .msg_iov = &iov[i],
							  .msg_iovlen = 1};
		}
		int n = recvmmsg(fd, msgs, BATCH, MSG_WAITFORONE, NULL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* the timeout (or an error): done */
		for (int i = 0; i < n; i++) {
			if (from[i].sll_pkttype == PACKET_OUTGOING)
				continue; /* a sender's own frames, not the guest's */
			frames++;
			bytes += msgs[i].msg_len;
		}
		if (frames)
			set_timeout(fd, 1.0);
	}
	close(fd);
	printf("host counted %llu frames (%llu bytes)\n", (unsigned long long)frames,
	       (unsigned long long)bytes);
	return 0;
}

/* TAP's fd as our VMM opens it (virtio/net/tap.c): IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, a 12-byte
 * header, no offloads. A multi_queue tap refuses that (EINVAL) and takes IFF_MULTI_QUEUE: each
 * fd is then one more of its queues, as each queue pair of a VMM's NIC is. */
static int open_tap(const char *name)
{
	struct ifreq ifr = {.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR};
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), sz = TAP_HDR_LEN, rc;

	if (fd < 0) {
		perror("vmm-netgen: /dev/net/tun");
		return -1;
	}
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (!if_nametoindex(name)) { /* TUNSETIFF would make a new one */
		fprintf(stderr, "vmm-netgen: no tap %s here\n", name);
		close(fd);
		return -1;
	}
	rc = ioctl(fd, TUNSETIFF, &ifr);
	if (rc < 0 && errno == EINVAL) {
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
		rc = ioctl(fd, TUNSETIFF, &ifr);
	}
	if (rc < 0 || ioctl(fd, TUNSETVNETHDRSZ, &sz) < 0 || ioctl(fd, TUNSETOFFLOAD, 0ul) < 0) {
		fprintf(stderr, "vmm-netgen: tap %s: %s\n", name, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static int tap_write(const char *tap, unsigned size, double seconds)
{
	static uint8_t hdr[TAP_HDR_LEN], frame[MAX_FRAME];
	struct iovec iov[2] = {{hdr, sizeof(hdr)}, {frame, size}};
	uint64_t wrote = 0;
	int fd = open_tap(tap);

	if (fd < 0)
		return 1;
	memset(frame, 0xff, ETH_ALEN); /* broadcast, as the guest's frames */
	memcpy(frame + ETH_ALEN, (const uint8_t[]){0x52, 0x54, 0x00, 0x77, 0x00, 0x02}, ETH_ALEN);
	make_frames((uint8_t(*)[MAX_FRAME])frame, size, 0);
	for (double end = now_s() + seconds; now_s() < end;) {
		/* the system call itself, as virtio/net/tap.c (glibc's is a cancellation point) */
		if (syscall(SYS_writev, fd, iov, 2) == (long)(sizeof(hdr) + size))
			wrote++;
		else if (errno != EINTR && errno != EAGAIN && errno != ENOBUFS) {
			perror("vmm-netgen: tap write");
			close(fd);
			return 1;
		}
	}
	close(fd);
	printf("host wrote %llu %u-byte frames in %g s\n", (unsigned long long)wrote, size,
	       seconds);
	return 0;
}

/* A frame of send_flood's: EtherType 0x88b9, or IPv4/UDP to port 0x88b9 (FLOWS). Not the
 * namespace's own chatter (IPv6 router solicitations and the like). */
static bool is_bench_frame(const uint8_t *f, size_t len)
{
	unsigned type = len >= ETH_HLEN ? (unsigned)(f[12] << 8 | f[13]) : 0;

	if (type == ETH_BENCH)
		return true;
	return type == ETH_P_IP && len >= UDP_HDR_END && f[IP_OFF + 9] == IPPROTO_UDP &&
	       (unsigned)(f[UDP_OFF + 2] << 8 | f[UDP_OFF + 3]) == ETH_BENCH;
}

static int tap_read(const char *tap, double seconds)
{
	static uint8_t buf[TAP_HDR_LEN + 65536];
	struct pollfd pfd = {.events = POLLIN};
	uint64_t frames = 0, bytes = 0;
	double first = 0, last = 0;

	pfd.fd = open_tap(tap);
	if (pfd.fd < 0 || fcntl(pfd.fd, F_SETFL, O_NONBLOCK) < 0)
		return 1;
	printf("host tap reader ready\n");
	for (;;) {
		ssize_t n = read(pfd.fd, buf, sizeof(buf));

		if (n > TAP_HDR_LEN &&
		    is_bench_frame(buf + TAP_HDR_LEN, (size_t)(n - TAP_HDR_LEN))) {
			last = now_s();
			first = frames++ ? first : last;
			bytes += (uint64_t)(n - TAP_HDR_LEN);
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("vmm-netgen: tap read");
			close(pfd.fd);
			return 1;
		}
		if (n < 0 && errno == EAGAIN &&
		    poll(&pfd, 1, frames ? TAP_IDLE_MS : (int)(seconds * 1000)) == 0)
			break; /* idle after the burst, or nothing at all */
	}
	close(pfd.fd);
	printf("host read %llu frames (%llu bytes) in %.6f s\n", (unsigned long long)frames,
	       (unsigned long long)bytes, last - first);
	return 0;
}

int main(int argc, char **argv)
{
	double size, seconds, flows = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 6 || argc == 7) && !strcmp(argv[1], "send") &&
	    parse_num(argv[4], MIN_FRAME, MAX_FRAME, &size) &&
	    parse_num(argv[5], 0.001, 3600, &seconds) &&
	    (argc == 6 || parse_num(argv[6], 1, MAX_FLOWS, &flows)))
		return send_flood(argv[2], argv[3], (unsigned)size, seconds, (unsigned)flows);
	if (argc == 4 && !strcmp(argv[1], "count") && parse_num(argv[3], 0.001, 3600, &seconds))
		return count_frames(argv[2], seconds);
	if (argc == 5 && !strcmp(argv[1], "tapwrite") &&
	    parse_num(argv[3], MIN_FRAME, MAX_FRAME, &size) &&
	    parse_num(argv[4], 0.001, 3600, &seconds))
		return tap_write(argv[2], (unsigned)size, seconds);
	if (argc == 4 && !strcmp(argv[1], "tapread") && parse_num(argv[3], 0.001, 3600, &seconds))
		return tap_read(argv[2], seconds);
	fputs(usage, stderr);
	return 2;
}
