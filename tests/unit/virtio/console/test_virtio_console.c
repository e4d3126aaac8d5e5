/* virtio-console (virtio 1.2 section 5.3) driven through the device framework by a mock driver,
 * serving kicks synchronously (virtio_dev_process_pending): transmit to a host pipe, receive into
 * guest buffers with back-pressure, config space (cols/rows, emerg_wr), a broken queue. */
#include <criterion/criterion.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_ring.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "host/ui/console.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/console/vconsole.h"
#include "virtio/console/vconsole_test.h"

#define F(bit)	  (1ull << (bit))
#define BASE_FEAT (F(VIRTIO_F_VERSION_1) | F(VIRTIO_CONSOLE_F_SIZE))
#define RXQ	  VCONSOLE_RXQ
#define TXQ	  VCONSOLE_TXQ

static struct mock_ram ram;
static struct mock_vq mvq[2];
static struct console con;
static int out_pipe[2] = {-1, -1}; /* guest output: [0] read by the test */
static struct virtio_dev *dev;
static unsigned irqs[2], config_irqs;

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	if (q == VIRTIO_IRQ_CONFIG)
		config_irqs++;
	else if (q < 2)
		irqs[q]++;
}

/* A console writing to a pipe (or `out_fd`), not started: console_write() is synchronous. */
static void open_console(int out_fd, int in_fd)
{
	struct console_config cc = {.mode = CONSOLE_MODE_FDS, .in_fd = in_fd, .out_fd = out_fd};

	cr_assert_eq(console_open(&con, &cc), 0);
	cr_assert_eq(virtio_console_create(&dev, &con), 0);
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(virtio_dev_init(dev, &ram.mem), 0);
}

/* What the driver and a transport do: features, both queues, DRIVER_OK (3.1.1). */
static void driver_up(uint64_t features, bool packed)
{
	uint64_t half = MOCK_RAM_SIZE / 2;

	if (packed)
		features |= F(VIRTIO_F_RING_PACKED);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK);
	cr_assert(dev->status & VIRTIO_CONFIG_S_FEATURES_OK, "features 0x%llx refused",
		  (unsigned long long)features);
	for (uint16_t q = 0; q < 2; q++) {
		cr_assert_eq(mock_vq_init(&mvq[q], &ram, 64, packed, MOCK_RAM_GPA + q * half), 0);
		mvq[q].heap_end = MOCK_RAM_GPA + (q + 1) * half; /* keep off the other queue */
		dev->vqs[q].num = mvq[q].size;
		dev->vqs[q].desc_addr = mvq[q].desc;
		dev->vqs[q].driver_addr = mvq[q].driver;
		dev->vqs[q].device_addr = mvq[q].device;
		virtio_dev_set_queue_ready(dev, q, true);
	}
	virtio_dev_set_status(dev, VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER |
				       VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
}

static void setup(void)
{
	cr_assert_eq(pipe2(out_pipe, O_NONBLOCK | O_CLOEXEC), 0);
	open_console(out_pipe[1], -1);
}

static void teardown(void)
{
	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	for (int q = 0; q < 2; q++)
		mock_vq_free(&mvq[q]);
	mock_ram_free(&ram);
	for (int i = 0; i < 2; i++)
		if (out_pipe[i] >= 0)
			close(out_pipe[i]);
	out_pipe[0] = out_pipe[1] = -1;
	irqs[0] = irqs[1] = config_irqs = 0;
}

static void kick(uint16_t q)
{
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, q);
	virtio_dev_process_pending(dev);
	pthread_mutex_unlock(&dev->lock);
}

/* One round of the I/O thread over the backend fds that are readable now. */
static void run_fds(void)
{
	pthread_mutex_lock(&dev->lock);
	for (int i = 0; i < dev->nfds; i++) {
		struct pollfd p = {.fd = dev->fds[i].fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 1)
			dev->fds[i].ready(dev, dev->fds[i].fd, EPOLLIN);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* The host console's input thread handing bytes over. */
static size_t host_input(const void *buf, size_t n)
{
	return con.input.receive(con.input.opaque, buf, n);
}

static size_t read_out(void *buf, size_t cap)
{
	ssize_t n = read(out_pipe[0], buf, cap);
	return n < 0 ? 0 : (size_t)n;
}

static int add_chain(uint16_t q, const struct mock_buf *b, int n, bool indirect)
{
	static uint16_t next_id;

	next_id = (uint16_t)((next_id + 1) % mvq[q].size); /* packed: a distinct Buffer ID each */
	if (mvq[q].packed)
		return indirect ? mock_packed_add_indirect(&mvq[q], b, n, next_id)
				: mock_packed_add(&mvq[q], b, n, next_id);
	return indirect ? mock_split_add_indirect(&mvq[q], b, n) : mock_split_add(&mvq[q], b, n);
}

static int get_used(uint16_t q, uint32_t *len)
{
	uint32_t id;
	uint16_t pid, flags;

	if (!mvq[q].packed)
		return mock_split_get_used(&mvq[q], &id, len);
	return mock_packed_get_used(&mvq[q], &pid, len, &flags);
}

/* An rx buffer of `len` bytes, filled with 0xee so untouched bytes show. */
static uint64_t rx_buf(uint32_t len)
{
	uint64_t a = mock_alloc(&mvq[RXQ], len);
	memset(mock_ram_host(&ram, a), 0xee, len);
	return a;
}

TestSuite(virtio_console, .init = setup, .fini = teardown);

Test(virtio_console, description)
{
	cr_expect_eq(dev->device_id, VIRTIO_ID_CONSOLE);
	cr_expect_eq(dev->num_queues, 2);
	uint64_t want = F(VIRTIO_CONSOLE_F_SIZE) | F(VIRTIO_CONSOLE_F_EMERG_WRITE) |
			F(VIRTIO_RING_F_EVENT_IDX) | F(VIRTIO_RING_F_INDIRECT_DESC) |
			F(VIRTIO_F_RING_PACKED) | F(VIRTIO_F_VERSION_1);
	cr_expect_eq(dev->host_features, want, "0x%llx", (unsigned long long)dev->host_features);
	cr_expect(!(dev->host_features & F(VIRTIO_CONSOLE_F_MULTIPORT)));
}

static void tx_one(uint64_t features, bool packed, bool indirect)
{
	driver_up(features, packed);
	struct mock_buf b = {mock_fill(&mvq[TXQ], "hello", 5), 5, false};
	cr_assert_geq(add_chain(TXQ, &b, 1, indirect), 0);
	kick(TXQ);
	char out[16] = {0};
	cr_expect_eq(read_out(out, sizeof(out)), 5);
	cr_expect_str_eq(out, "hello");
	uint32_t len = 99;
	cr_assert_eq(get_used(TXQ, &len), 1);
	cr_expect_eq(len, 0, "transmit used len must be 0, got %u", len);
	cr_expect_eq(irqs[TXQ], 1);
}

Test(virtio_console, tx_split)
{
	tx_one(BASE_FEAT, false, false);
}

Test(virtio_console, tx_packed_event_idx)
{
	tx_one(BASE_FEAT | F(VIRTIO_RING_F_EVENT_IDX), true, false);
}

Test(virtio_console, tx_indirect)
{
	tx_one(BASE_FEAT | F(VIRTIO_RING_F_INDIRECT_DESC), false, true);
}

Test(virtio_console, tx_multi_descriptor_chains_in_order)
{
	driver_up(BASE_FEAT, false);
	uint64_t junk = mock_alloc(&mvq[TXQ], 8);
	memset(mock_ram_host(&ram, junk), 0x5a, 8);
	struct mock_buf a[] = {{mock_fill(&mvq[TXQ], "ab", 2), 2, false},
			       {mock_fill(&mvq[TXQ], "cde", 3), 3, false},
			       {mock_fill(&mvq[TXQ], "f", 1), 1, false},
			       {junk, 8, true}}; /* a writable buffer is ignored */
	struct mock_buf b[] = {{mock_fill(&mvq[TXQ], "GH", 2), 2, false}};
	cr_assert_geq(add_chain(TXQ, a, 4, false), 0);
	cr_assert_geq(add_chain(TXQ, b, 1, false), 0);
	kick(TXQ);
	char out[32] = {0};
	cr_expect_eq(read_out(out, sizeof(out)), 8);
	cr_expect_str_eq(out, "abcdefGH");
	uint32_t len = 99;
	cr_expect_eq(get_used(TXQ, &len), 1);
	cr_expect_eq(len, 0);
	cr_expect_eq(get_used(TXQ, &len), 1);
	cr_expect_eq(len, 0);
	cr_expect_eq(get_used(TXQ, &len), 0);
	for (int i = 0; i < 8; i++)
		cr_expect_eq(((uint8_t *)mock_ram_host(&ram, junk))[i], 0x5a);
}

Test(virtio_console, tx_large_chain_crosses_chunks)
{
	driver_up(BASE_FEAT, false);
	enum { N = 10000 };
	static uint8_t data[N], out[N + 16];
	for (int i = 0; i < N; i++)
		data[i] = (uint8_t)(i * 7 + i / 256);
	struct mock_buf b[] = {{mock_fill(&mvq[TXQ], data, 3000), 3000, false},
			       {mock_fill(&mvq[TXQ], data + 3000, N - 3000), N - 3000, false}};
	cr_assert_geq(add_chain(TXQ, b, 2, false), 0);
	/* The pipe holds 64 KiB, so the synchronous console write cannot block here. */
	kick(TXQ);
	cr_expect_eq(read_out(out, sizeof(out)), N);
	cr_expect_eq(memcmp(out, data, N), 0);
}

Test(virtio_console, rx_delivers_into_guest_buffer)
{
	driver_up(BASE_FEAT, false);
	uint64_t a = rx_buf(8);
	struct mock_buf b = {a, 8, true};
	cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
	kick(RXQ); /* nothing to deliver yet: the buffer must stay available */
	uint32_t len;
	cr_expect_eq(get_used(RXQ, &len), 0);
	cr_expect_eq(host_input("xyz", 3), 3);
	run_fds();
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 3);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a), "xyz\xee", 4), 0);
	cr_expect_eq(irqs[RXQ], 1);
}

Test(virtio_console, rx_split_over_segments_and_packed)
{
	driver_up(BASE_FEAT | F(VIRTIO_RING_F_INDIRECT_DESC), true);
	uint64_t a = rx_buf(2), c = rx_buf(4);
	struct mock_buf b[] = {{a, 2, true}, {c, 4, true}};
	cr_assert_geq(add_chain(RXQ, b, 2, true), 0);
	cr_expect_eq(host_input("12345", 5), 5);
	run_fds();
	uint32_t len;
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 5);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a), "12", 2), 0);
	cr_expect_eq(memcmp(mock_ram_host(&ram, c), "345\xee", 4), 0);
}

static bool eventfd_signalled(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t v;
	if (poll(&p, 1, 0) != 1)
		return false;
	return read(fd, &v, sizeof(v)) == sizeof(v) && v > 0;
}

Test(virtio_console, rx_without_buffers_loses_nothing)
{
	driver_up(BASE_FEAT, false);
	enum { N = VCONSOLE_IN_BUF + 904 };
	static uint8_t data[N];
	for (int i = 0; i < N; i++)
		data[i] = (uint8_t)(i ^ (i >> 8));
	/* The guest posted nothing: the device keeps what fits and refuses the rest. */
	cr_expect_eq(host_input(data, N), VCONSOLE_IN_BUF);
	cr_expect_eq(host_input(data + VCONSOLE_IN_BUF, 904), 0);
	run_fds();
	cr_expect(!eventfd_signalled(con.wake_fd), "input resumed without room");

	uint64_t bufs[3];
	for (int i = 0; i < 3; i++) {
		bufs[i] = rx_buf(2000);
		struct mock_buf b = {bufs[i], 2000, true};
		cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
	}
	kick(RXQ);
	uint32_t len, lens[] = {2000, 2000, VCONSOLE_IN_BUF - 4000};
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(get_used(RXQ, &len), 1);
		cr_expect_eq(len, lens[i]);
		cr_expect_eq(memcmp(mock_ram_host(&ram, bufs[i]), data + 2000 * i, lens[i]), 0);
	}
	/* Room again: the console's input thread is told to offer the refused bytes. */
	cr_expect(eventfd_signalled(con.wake_fd), "console_input_ready() not called");
	cr_expect_eq(host_input(data + VCONSOLE_IN_BUF, 904), 904);
	run_fds();
	cr_expect_eq(get_used(RXQ, &len), 0, "delivered without a buffer");
	uint64_t last = rx_buf(1000);
	struct mock_buf b = {last, 1000, true};
	cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
	kick(RXQ);
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 904);
	cr_expect_eq(memcmp(mock_ram_host(&ram, last), data + VCONSOLE_IN_BUF, 904), 0);
}

Test(virtio_console, rx_chain_without_writable_bytes)
{
	driver_up(BASE_FEAT, false);
	struct mock_buf ro = {mock_fill(&mvq[RXQ], "ro", 2), 2, false};
	uint64_t a = rx_buf(4);
	struct mock_buf rw = {a, 4, true};
	cr_assert_geq(add_chain(RXQ, &ro, 1, false), 0);
	cr_assert_geq(add_chain(RXQ, &rw, 1, false), 0);
	cr_expect_eq(host_input("hi", 2), 2);
	run_fds();
	uint32_t len = 99;
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 0);
	cr_expect_eq(memcmp(mock_ram_host(&ram, ro.addr), "ro", 2), 0);
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 2);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a), "hi", 2), 0);
}

Test(virtio_console, input_before_driver_ok_is_delivered_at_activation)
{
	cr_expect_eq(host_input("early", 5), 5);
	run_fds(); /* nothing registered or running yet */
	driver_up(BASE_FEAT, false);
	uint64_t a = rx_buf(16);
	struct mock_buf b = {a, 16, true};
	cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
	kick(RXQ);
	uint32_t len;
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 5);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a), "early", 5), 0);
}

static uint16_t config16(uint32_t off)
{
	uint16_t v;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, off, &v, 2);
	pthread_mutex_unlock(&dev->lock);
	return le16toh(v);
}

Test(virtio_console, config_size_defaults_when_not_a_terminal)
{
	cr_expect_eq(dev->config_len, sizeof(struct virtio_console_config));
	cr_expect_eq(config16(offsetof(struct virtio_console_config, cols)), 80);
	cr_expect_eq(config16(offsetof(struct virtio_console_config, rows)), 25);
}

Test(virtio_console, emergency_write)
{
	driver_up(BASE_FEAT | F(VIRTIO_CONSOLE_F_EMERG_WRITE), false);
	uint32_t v = htole32('!');
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_write(dev, offsetof(struct virtio_console_config, emerg_wr), &v, 4);
	pthread_mutex_unlock(&dev->lock);
	char out[4] = {0};
	cr_expect_eq(read_out(out, sizeof(out)), 1);
	cr_expect_eq(out[0], '!');
}

Test(virtio_console, emergency_write_needs_the_feature)
{
	driver_up(BASE_FEAT, false);
	uint32_t v = htole32('!');
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_write(dev, offsetof(struct virtio_console_config, emerg_wr), &v, 4);
	pthread_mutex_unlock(&dev->lock);
	char out[4];
	cr_expect_eq(read_out(out, sizeof(out)), 0);
}

Test(virtio_console, broken_tx_ring_fails_the_device)
{
	driver_up(BASE_FEAT, false);
	mock_split_avail_entry(&mvq[TXQ], 0, 200); /* head >= queue size 64 */
	mock_split_set_avail_idx(&mvq[TXQ], 1);
	kick(TXQ);
	cr_expect(dev->status & VIRTIO_CONFIG_S_NEEDS_RESET);
	cr_expect_eq(config_irqs, 1);
	kick(TXQ); /* harmless once failed */
	char out[4];
	cr_expect_eq(read_out(out, sizeof(out)), 0);
}

Test(virtio_console, reset_then_reinit_keeps_working)
{
	driver_up(BASE_FEAT, false);
	cr_expect_eq(host_input("kept", 4), 4);
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, 0);
	pthread_mutex_unlock(&dev->lock);
	for (int q = 0; q < 2; q++)
		mock_vq_free(&mvq[q]);
	memset(ram.host, 0, MOCK_RAM_SIZE);
	driver_up(BASE_FEAT, false);
	uint64_t a = rx_buf(8);
	struct mock_buf b = {a, 8, true};
	cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
	kick(RXQ);
	uint32_t len;
	cr_assert_eq(get_used(RXQ, &len), 1);
	cr_expect_eq(len, 4);
	cr_expect_eq(memcmp(mock_ram_host(&ram, a), "kept", 4), 0);
}

/* ---- a terminal: cols/rows from TIOCGWINSZ and a resize ---- */

static int open_pty(int *master)
{
	*master = posix_openpt(O_RDWR | O_NOCTTY);
	if (*master < 0 || grantpt(*master) || unlockpt(*master))
		return -1;
	return open(ptsname(*master), O_RDWR | O_NOCTTY);
}

static void set_winsize(int fd, unsigned short cols, unsigned short rows)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	cr_assert_eq(ioctl(fd, TIOCSWINSZ, &ws), 0);
}

Test(virtio_console_tty, size_from_terminal_and_resize)
{
	int master, slave = open_pty(&master);
	cr_assert_geq(slave, 0, "no pty: %s", strerror(errno));
	set_winsize(slave, 132, 43);
	open_console(slave, -1);
	cr_expect_eq(config16(offsetof(struct virtio_console_config, cols)), 132);
	cr_expect_eq(config16(offsetof(struct virtio_console_config, rows)), 43);

	driver_up(BASE_FEAT, false);
	uint32_t gen = dev->config_generation;
	virtio_console_winch(dev); /* same size: no config change */
	run_fds();
	cr_expect_eq(dev->config_generation, gen);
	cr_expect_eq(config_irqs, 0);

	set_winsize(slave, 100, 30);
	virtio_console_winch(dev);
	run_fds();
	cr_expect_eq(config16(offsetof(struct virtio_console_config, cols)), 100);
	cr_expect_eq(config16(offsetof(struct virtio_console_config, rows)), 30);
	cr_expect_eq(dev->config_generation, gen + 1);
	cr_expect_eq(config_irqs, 1);
	cr_expect(dev->isr & VIRTIO_ISR_CONFIG);

	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	mock_vq_free(&mvq[0]);
	mock_vq_free(&mvq[1]);
	mock_ram_free(&ram);
	close(slave);
	close(master);
}

/* ---- the real console input thread feeding the device ---- */

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

Test(virtio_console_threads, input_thread_back_pressure_end_to_end)
{
	int in_pipe[2], outp[2];
	cr_assert_eq(pipe2(in_pipe, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(outp, O_CLOEXEC | O_NONBLOCK), 0);
	open_console(outp[1], in_pipe[0]);
	cr_assert_eq(console_start(&con), 0);
	driver_up(BASE_FEAT, false);

	enum { N = 20000 };
	static uint8_t data[N], got[N];
	for (int i = 0; i < N; i++)
		data[i] = (uint8_t)(i % 251 + 2); /* never the Ctrl-A escape (1) */
	cr_assert_eq(write(in_pipe[1], data, N), N);

	/* No guest buffers for a while: input is held, nothing is lost. */
	usleep(50000);
	run_fds();
	uint32_t len;
	cr_expect_eq(get_used(RXQ, &len), 0);

	size_t have = 0;
	len = 0;
	uint64_t deadline = now_ms() + 10000;
	while (have < N && now_ms() < deadline) {
		uint64_t a = rx_buf(1500);
		struct mock_buf b = {a, 1500, true};
		cr_assert_geq(add_chain(RXQ, &b, 1, false), 0);
		kick(RXQ);
		for (int spin = 0; spin < 200 && get_used(RXQ, &len) == 0; spin++) {
			usleep(1000);
			run_fds();
		}
		if (len > 0 && len <= 1500) {
			memcpy(got + have, mock_ram_host(&ram, a), len);
			have += len;
		}
		len = 0;
	}
	cr_expect_eq(have, N);
	cr_expect_eq(memcmp(got, data, N), 0);

	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	mock_vq_free(&mvq[0]);
	mock_vq_free(&mvq[1]);
	mock_ram_free(&ram);
	for (int i = 0; i < 2; i++) {
		close(in_pipe[i]);
		close(outp[i]);
	}
}

/* A stalled output (a pipe nobody reads) must not block under the device lock: the kick returns
 * with the chains the console cannot take held, and they complete, in order and whole, once the
 * reader drains the pipe (the console's output thread wakes the I/O thread). */
Test(virtio_console_threads, full_console_holds_the_chain_without_blocking)
{
	enum { CHAINS = 5, LEN = 64 * 1024 };
	static uint8_t data[CHAINS * LEN], got[CHAINS * LEN];
	int outp[2];
	size_t have = 0;
	uint32_t len;
	int used = 0;

	cr_assert_eq(pipe2(outp, O_CLOEXEC | O_NONBLOCK), 0);
	open_console(outp[1], -1);
	cr_assert_eq(console_start(&con), 0);
	cr_assert_eq(virtio_dev_start(dev), 0);
	driver_up(BASE_FEAT, false);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 13 + i / 4099);
	for (int c = 0; c < CHAINS; c++) {
		struct mock_buf b = {mock_fill(&mvq[TXQ], data + c * LEN, LEN), LEN, false};
		cr_assert_geq(add_chain(TXQ, &b, 1, false), 0);
	}
	kick(TXQ); /* returns: 320 KiB do not fit in the pipe and the console's ring */
	usleep(50000);
	pthread_mutex_lock(&dev->lock);
	while (get_used(TXQ, &len) == 1)
		used++;
	pthread_mutex_unlock(&dev->lock);
	cr_assert_lt(used, CHAINS, "some output must still be held");

	uint64_t deadline = now_ms() + 10000;
	while (have < sizeof(got) && now_ms() < deadline) {
		ssize_t n = read(outp[0], got + have, sizeof(got) - have);
		if (n > 0)
			have += (size_t)n;
		else
			usleep(1000);
	}
	cr_assert_eq(have, sizeof(data));
	cr_assert_eq(memcmp(got, data, sizeof(data)), 0, "in order, nothing lost");
	while (used < CHAINS && now_ms() < deadline) {
		pthread_mutex_lock(&dev->lock);
		while (get_used(TXQ, &len) == 1)
			used++;
		pthread_mutex_unlock(&dev->lock);
		usleep(1000);
	}
	cr_assert_eq(used, CHAINS);

	console_stop(&con);
	virtio_dev_destroy(dev);
	free(dev);
	console_close(&con);
	mock_vq_free(&mvq[0]);
	mock_vq_free(&mvq[1]);
	mock_ram_free(&ram);
	close(outp[0]);
	close(outp[1]);
}

/* ---- transmit byte budget: output to a file, so nothing can block ---- */

static int out_file = -1;

static void setup_file(void)
{
	out_file = memfd_create("vconsole-out", MFD_CLOEXEC);
	cr_assert_geq(out_file, 0);
	open_console(out_file, -1);
}

static void teardown_file(void)
{
	teardown();
	close(out_file);
	out_file = -1;
}

static off_t out_size(void)
{
	return lseek(out_file, 0, SEEK_END);
}

/* One indirect table of 1023 buffers of 1 MiB that all alias the same guest RAM (1 GiB claimed;
 * the case is 1023 x 4 MiB = 4 GiB): the console writes VCONSOLE_TX_CHAIN_MAX bytes,
 * not the whole claim, and still completes the chain. */
static void add_aliased_chain(void)
{
	enum { SEGS = 1023 };
	static struct mock_buf b[SEGS];

	for (int i = 0; i < SEGS; i++)
		b[i] = (struct mock_buf){MOCK_RAM_GPA, 1u << 20, false};
	cr_assert_geq(add_chain(TXQ, b, SEGS, true), 0);
}

TestSuite(virtio_console_budget, .init = setup_file, .fini = teardown_file);

Test(virtio_console_budget, aliased_descriptors_write_a_bounded_amount)
{
	uint32_t len = 1;

	driver_up(BASE_FEAT | F(VIRTIO_RING_F_INDIRECT_DESC), false);
	add_aliased_chain();
	kick(TXQ);
	cr_assert_eq(out_size(), VCONSOLE_TX_CHAIN_MAX);
	cr_assert_eq(get_used(TXQ, &len), 1, "the chain is completed all the same");
	cr_assert_eq(len, 0);
	cr_assert_eq(virtio_console_tx_truncated(dev), 1);
	cr_assert(virtio_dev_running(dev));
}

Test(virtio_console_budget, bytes_per_wakeup_are_bounded_and_nothing_is_lost)
{
	enum { CHAINS = 8 };
	uint32_t len;
	int used = 0;

	driver_up(BASE_FEAT | F(VIRTIO_RING_F_INDIRECT_DESC), false);
	for (int i = 0; i < CHAINS; i++)
		add_aliased_chain();
	pthread_mutex_lock(&dev->lock);
	virtio_dev_kick(dev, TXQ);
	cr_assert(virtio_dev_process_pending(dev), "the queue is rescheduled");
	cr_assert_eq(out_size(), VCONSOLE_TX_WAKEUP_BYTES, "one wakeup's worth");
	while (virtio_dev_process_pending(dev))
		;
	pthread_mutex_unlock(&dev->lock);
	cr_assert_eq(out_size(), (off_t)CHAINS * VCONSOLE_TX_CHAIN_MAX);
	while (get_used(TXQ, &len) == 1)
		used++;
	cr_assert_eq(used, CHAINS);
}
