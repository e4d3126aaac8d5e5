/* The migration channel's buffers (mig_chan.h) over a Unix socketpair: small buffered writes go
 * out in order with the unbuffered ones, before any read, drain or flush; reads take many frames
 * in one recvmsg() yet hand each received descriptor to the frame it came with. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "vmm/migration/stream/mig_chan.h"
#include "vmm/migration/stream/mig_chan_test.h"

static int sv[2];
static struct mig_chan tx, rx;

static void setup(void)
{
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	mig_chan_init_fd(&tx, sv[0], NULL);
	mig_chan_init_fd(&rx, sv[1], NULL);
	tx.timeout_ms = rx.timeout_ms = 2000;
}

static void teardown(void)
{
	mig_chan_release(&tx);
	mig_chan_release(&rx);
	close(sv[0]);
	if (sv[1] >= 0)
		close(sv[1]);
}

TestSuite(mig_chan, .init = setup, .fini = teardown, .timeout = 30);

static int put(const void *p, size_t n, bool buffered, int fd)
{
	struct iovec iov = {(void *)p, n};
	return buffered ? mig_chan_write_buffered(&tx, &iov, 1) : mig_chan_write(&tx, &iov, 1, fd);
}

/* Bytes the socket holds for the reader right now. */
static int queued(void)
{
	char b[256];
	return (int)recv(sv[1], b, sizeof(b), MSG_PEEK | MSG_DONTWAIT);
}

Test(mig_chan, buffered_writes_wait_for_the_next_unbuffered_one_and_keep_their_order)
{
	cr_assert_eq(put("ab", 2, true, -1), 0);
	cr_assert_eq(put("cd", 2, true, -1), 0);
	cr_assert_eq(queued(), -1, "nothing sent before a flush point");
	cr_assert_eq(tx.bytes_out, 4, "counted when buffered");
	cr_assert_eq(put("ef", 2, false, -1), 0);
	char got[7] = {0};
	cr_assert_eq(mig_chan_read(&rx, got, 6), 0);
	cr_assert_str_eq(got, "abcdef");
	cr_assert_eq(tx.bytes_out, 6);
	cr_assert_eq(rx.bytes_in, 6);
}

Test(mig_chan, a_read_or_a_drain_sends_what_waits)
{
	cr_assert_eq(put("ping", 4, true, -1), 0);
	/* the peer answers only what it has seen: a read here must send "ping" first */
	cr_assert_eq(write(sv[1], "pong", 4), 4);
	char got[5] = {0};
	cr_assert_eq(mig_chan_read(&tx, got, 4), 0);
	cr_assert_eq(queued(), 4, "the read flushed the buffered bytes");
	cr_assert_eq(put("more", 4, true, -1), 0);
	cr_assert_eq(mig_chan_drain(&tx, 0), -ETIMEDOUT, "nobody reads: not drained");
	cr_assert_eq(queued(), 8);
}

Test(mig_chan, a_large_write_is_not_buffered)
{
	static uint8_t big[MIG_CHAN_BUF];
	memset(big, 7, sizeof(big));
	cr_assert_eq(put("x", 1, true, -1), 0);
	cr_assert_eq(put(big, MIG_CHAN_BUF / 4, true, -1), 0);
	static uint8_t got[1 + MIG_CHAN_BUF / 4];
	cr_assert_eq(mig_chan_read(&rx, got, sizeof(got)), 0);
	cr_assert_eq(got[0], 'x');
	cr_assert_eq(got[1], 7);
	cr_assert_eq(got[MIG_CHAN_BUF / 4], 7);
}

Test(mig_chan, many_small_frames_come_in_one_read_and_in_pieces)
{
	for (int i = 0; i < 200; i++) {
		uint32_t v = (uint32_t)i;
		cr_assert_eq(put(&v, sizeof(v), true, -1), 0);
	}
	cr_assert_eq(mig_chan_flush(&tx), 0);
	cr_assert_eq(queued(), 256, "all of them in the socket");
	for (int i = 0; i < 200; i++) {
		uint32_t v;
		cr_assert_eq(mig_chan_read(&rx, &v, sizeof(v)), 0);
		cr_assert_eq(v, (uint32_t)i);
		if (i == 0)
			cr_assert_eq(queued(), -1, "the first read took them all");
		cr_assert(i == 199 || mig_chan_readable(&rx), "buffered bytes are readable");
	}
}

/* Frames with a descriptor each, right after other bytes: each descriptor is in rx_fd when its
 * frame is read, none replaces another one still unread. */
Test(mig_chan, each_descriptor_arrives_with_its_frame)
{
	int fds[2][2];
	cr_assert_eq(pipe(fds[0]), 0);
	cr_assert_eq(pipe(fds[1]), 0);
	cr_assert_eq(put("head", 4, true, -1), 0);
	cr_assert_eq(put("A", 1, false, fds[0][1]), 0);
	cr_assert_eq(put("B", 1, false, fds[1][1]), 0);
	cr_assert_eq(put("tail", 4, true, -1), 0);
	cr_assert_eq(mig_chan_flush(&tx), 0);
	char got[5] = {0};
	cr_assert_eq(mig_chan_read(&rx, got, 4), 0);
	cr_assert_str_eq(got, "head");
	for (int i = 0; i < 2; i++) {
		char c;
		cr_assert_eq(mig_chan_read(&rx, &c, 1), 0);
		cr_assert_eq(c, "AB"[i]);
		cr_assert_geq(rx.rx_fd, 0, "frame %c has its descriptor", c);
		cr_assert_eq(write(rx.rx_fd, &c, 1), 1);
		char back;
		cr_assert_eq(read(fds[i][0], &back, 1), 1, "frame %c's descriptor is pipe %d", c,
			     i);
		cr_assert_eq(back, c);
		close(rx.rx_fd);
		rx.rx_fd = -1;
	}
	memset(got, 0, sizeof(got));
	cr_assert_eq(mig_chan_read(&rx, got, 4), 0);
	cr_assert_str_eq(got, "tail");
	for (int i = 0; i < 2; i++) {
		close(fds[i][0]);
		close(fds[i][1]);
	}
}

Test(mig_chan, the_end_of_the_stream_after_buffered_bytes)
{
	cr_assert_eq(put("last", 4, true, -1), 0);
	cr_assert_eq(mig_chan_flush(&tx), 0);
	shutdown(sv[0], SHUT_WR);
	char got[8];
	cr_assert_eq(mig_chan_read(&rx, got, 4), 0);
	cr_assert_eq(mig_chan_read(&rx, got, 1), -EPIPE);
}

Test(mig_chan, the_wait_for_a_hang_up_ends_when_the_peer_closes_or_at_its_limit)
{
	cr_assert_eq(mig_chan_await_hangup(&tx, 20), -ETIMEDOUT, "the peer is still there");
	if (sv[1] >= 0)
		close(sv[1]);
	sv[1] = -1;
	cr_assert_eq(mig_chan_await_hangup(&tx, 5000), 0, "the peer hung up");
	struct mig_chan mem;
	mig_chan_init_mem(&mem, NULL, 0, 0);
	cr_assert_eq(mig_chan_await_hangup(&mem, 5000), 0, "memory: nothing to wait for");
}

/* ---- a cancel never cuts a write that has begun ---- */

static atomic_bool cancel_flag;
static uint8_t whole[1 << 20];

static void *write_whole(void *arg)
{
	(void)arg;
	return (void *)(intptr_t)put(whole, sizeof(whole), false, -1);
}

Test(mig_chan, a_cancel_after_the_first_byte_lets_the_write_end_whole)
{
	atomic_store(&cancel_flag, false);
	tx.cancel = &cancel_flag;
	for (size_t i = 0; i < sizeof(whole); i++)
		whole[i] = (uint8_t)(i * 7);
	pthread_t t;
	cr_assert_eq(pthread_create(&t, NULL, write_whole, NULL), 0);
	/* the socket holds far less than 1 MiB: the writer waits for this reader, mid-write */
	while (queued() <= 0)
		usleep(1000);
	usleep(100000);
	atomic_store(&cancel_flag, true);
	static uint8_t got[sizeof(whole)];
	cr_assert_eq(mig_chan_read(&rx, got, sizeof(got)), 0, "the write was cut short");
	void *ret;
	pthread_join(t, &ret);
	cr_assert_eq((intptr_t)ret, 0);
	cr_assert(memcmp(got, whole, sizeof(got)) == 0);
}

Test(mig_chan, a_cancel_before_the_first_byte_stops_the_write)
{
	static uint8_t fill[1 << 20];
	atomic_store(&cancel_flag, false);
	tx.cancel = &cancel_flag;
	tx.timeout_ms = 200;
	/* fill the socket (nobody reads): this write times out mid-way */
	cr_assert_eq(put(fill, sizeof(fill), false, -1), -ETIMEDOUT);
	atomic_store(&cancel_flag, true);
	cr_assert_eq(put("x", 1, false, -1), -ECANCELED);
}
