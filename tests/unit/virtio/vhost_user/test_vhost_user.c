/* The vhost-user front-end against a fake back-end thread on a socketpair (or a listening
 * socket, for reconnects): the message sequence, and every way a back-end can misbehave
 * (garbage, wrong sizes, wrong request ids, silence, a closed socket, a refusal). */
#include <criterion/criterion.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "virtio/vhost_user/vu_conn.h"
#include "virtio/vhost_user/vu_frontend.h"
#include "virtio/vhost_user/vu_frontend_test.h"
#include "virtio/vhost_user/vu_mem_test.h"
#include "virtio/vhost_user/vu_msg.h"

enum misbehave { GOOD, GARBAGE, WRONG_SIZE, WRONG_REQUEST, SILENT, CLOSE, NACK, HUGE };

#define LOG_MAX 128

struct fake {
	int fd;
	pthread_t thread;
	uint64_t features, protocol, queue_num;
	uint32_t bad_request; /* misbehave on this request */
	enum misbehave how;
	uint8_t config[VU_MAX_CONFIG_SIZE];
	uint32_t bases[VU_MAX_QUEUES];
	_Atomic unsigned delay_us; /* before each answer */
	/* what arrived */
	int n;
	int64_t answer_ns[LOG_MAX]; /* mono_ns() just before its answer went out (0: none) */
	struct vu_hdr hdr[LOG_MAX];
	uint64_t u64[LOG_MAX]; /* first 8 payload bytes */
	int nfds[LOG_MAX];
};

static const uint64_t ALL_FEATURES = (1ull << VU_F_PROTOCOL_FEATURES) | (1ull << 32) | 0x3;
static const uint64_t ALL_PROTOCOL = VU_FRONTEND_PROTOCOL_FEATURES | (1ull << 1);

static int recv_msg(int fd, uint8_t *buf, int *nfds)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 16)];
	struct iovec iov = {.iov_base = buf, .iov_len = VU_HDR_SIZE};
	struct msghdr mh = {
	    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof(cbuf)};
	ssize_t n = recvmsg(fd, &mh, MSG_WAITALL);
	if (n != VU_HDR_SIZE)
		return -1;
	*nfds = 0;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
		int k = (int)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		for (int i = 0; i < k; i++) {
			int got;
			memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			close(got);
		}
		*nfds += k;
	}
	struct vu_hdr h;
	vu_msg_read_hdr(buf, &h);
	if (h.size > VU_MAX_PAYLOAD)
		return -1;
	if (h.size && recv(fd, buf + VU_HDR_SIZE, h.size, MSG_WAITALL) != (ssize_t)h.size)
		return -1;
	return 0;
}

static void send_reply(int fd, uint32_t request, const void *payload, uint32_t size)
{
	uint8_t buf[VU_MAX_MSG];
	struct vu_hdr h = {request, VU_FLAG_VERSION | VU_FLAG_REPLY, size};
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + VU_HDR_SIZE, payload, size);
	(void)!write(fd, buf, VU_HDR_SIZE + size);
}

/* Answers `h` wrongly as `how` says; returns false to stop the back-end. */
static bool misbehave(struct fake *f, const struct vu_hdr *h)
{
	uint64_t one = 1;
	switch (f->how) {
	case GARBAGE:
		(void)!write(f->fd, "\xde\xad\xbe\xef garbage garbage", 20);
		return true;
	case WRONG_SIZE:
		send_reply(f->fd, h->request, &one, 4);
		return true;
	case WRONG_REQUEST:
		send_reply(f->fd, h->request + 1, &one, 8);
		return true;
	case NACK:
		send_reply(f->fd, h->request, &one, 8);
		return true;
	case HUGE: {
		struct vu_hdr big = {h->request, VU_FLAG_VERSION | VU_FLAG_REPLY, 1u << 20};
		(void)!write(f->fd, &big, sizeof(big));
		return true;
	}
	case CLOSE:
		return false;
	case SILENT:
	case GOOD:
		return true;
	}
	return true;
}

static void answer(struct fake *f, const struct vu_hdr *h, const uint8_t *p)
{
	uint32_t st[2];
	uint64_t zero = 0;
	memcpy(st, p, 8);
	switch (h->request) {
	case VU_GET_FEATURES:
		send_reply(f->fd, h->request, &f->features, 8);
		return;
	case VU_GET_PROTOCOL_FEATURES:
		send_reply(f->fd, h->request, &f->protocol, 8);
		return;
	case VU_GET_QUEUE_NUM:
		send_reply(f->fd, h->request, &f->queue_num, 8);
		return;
	case VU_SET_VRING_BASE:
		f->bases[st[0] & 0xff] = st[1];
		break;
	case VU_GET_VRING_BASE:
		st[1] = f->bases[st[0] & 0xff];
		send_reply(f->fd, h->request, st, 8);
		return;
	case VU_GET_CONFIG: {
		uint8_t out[VU_MAX_PAYLOAD];
		uint32_t c[3];
		memcpy(c, p, 12);
		memcpy(out, c, 12);
		memcpy(out + 12, f->config + c[0], c[1]);
		send_reply(f->fd, h->request, out, 12 + c[1]);
		return;
	}
	case VU_SET_CONFIG: {
		uint32_t c[3];
		memcpy(c, p, 12);
		memcpy(f->config + c[0], p + 12, c[1]);
		break;
	}
	}
	if (h->flags & VU_FLAG_NEED_REPLY)
		send_reply(f->fd, h->request, &zero, 8);
}

static void *fake_main(void *arg)
{
	struct fake *f = arg;
	uint8_t buf[VU_MAX_MSG];
	int nfds;
	while (recv_msg(f->fd, buf, &nfds) == 0) {
		struct vu_hdr h;
		vu_msg_read_hdr(buf, &h);
		int logged = f->n < LOG_MAX ? f->n : -1;
		if (logged >= 0) {
			f->hdr[f->n] = h;
			memcpy(&f->u64[f->n], buf + VU_HDR_SIZE, h.size >= 8 ? 8 : 0);
			f->nfds[f->n] = nfds;
			f->n++;
		}
		if (h.request == f->bad_request && f->how != GOOD) {
			if (!misbehave(f, &h))
				break;
			continue;
		}
		if (f->delay_us)
			usleep(f->delay_us);
		if (logged >= 0)
			f->answer_ns[logged] = (int64_t)mono_ns(); /* before: never later */
		answer(f, &h, buf + VU_HDR_SIZE);
	}
	close(f->fd);
	return NULL;
}

static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));
	f->features = ALL_FEATURES;
	f->protocol = ALL_PROTOCOL;
	f->queue_num = 4;
	return f;
}

/* Starts the fake on one end of a socketpair; returns the other end. */
static int fake_start(struct fake *f)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	f->fd = sv[1];
	pthread_create(&f->thread, NULL, fake_main, f);
	return sv[0];
}

static void fake_stop(struct fake *f, struct vu_frontend *fe)
{
	vu_frontend_close(fe);
	pthread_join(f->thread, NULL);
	free(f);
}

static struct vu_frontend fe;

static struct fake *connected(struct fake *f)
{
	vu_frontend_init(&fe);
	cr_assert_eq(vu_frontend_attach(&fe, fake_start(f), 300), 0, "%s", fe.error);
	return f;
}

Test(vhost_user, handshake_negotiates_the_common_protocol_features)
{
	struct fake *f = connected(fake_new());
	cr_assert_eq(fe.features, ALL_FEATURES);
	cr_assert_eq(fe.protocol_features, VU_FRONTEND_PROTOCOL_FEATURES);
	cr_assert_eq(fe.max_queues, 4);
	uint32_t want[] = {VU_GET_FEATURES, VU_GET_PROTOCOL_FEATURES, VU_SET_PROTOCOL_FEATURES,
			   VU_GET_QUEUE_NUM, VU_SET_OWNER};
	cr_assert_eq(f->n, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(f->hdr[i].request, want[i], "message %d", i);
	cr_assert_eq(f->u64[2], VU_FRONTEND_PROTOCOL_FEATURES, "only what both know");
	cr_assert_eq(f->hdr[2].flags & VU_FLAG_NEED_REPLY, 0, "not acked before it is on");
	cr_assert(f->hdr[4].flags & VU_FLAG_NEED_REPLY, "SET_OWNER acked");
	fake_stop(f, &fe);
}

Test(vhost_user, back_end_without_protocol_features)
{
	struct fake *f = fake_new();
	f->features = 0x3;
	connected(f);
	/* nothing is acked: wait for the fake to have read SET_OWNER */
	for (int i = 0; i < 1000 && __atomic_load_n(&f->n, __ATOMIC_ACQUIRE) < 2; i++)
		usleep(1000);
	cr_assert_eq(f->n, 2);
	cr_assert_eq(f->hdr[1].request, VU_SET_OWNER);
	cr_assert_eq(f->hdr[1].flags & VU_FLAG_NEED_REPLY, 0);
	char cfg[4];
	cr_assert_eq(vu_frontend_get_config(&fe, 0, cfg, 4), -EOPNOTSUPP);
	cr_assert(vu_frontend_alive(&fe));
	fake_stop(f, &fe);
}

/* A memfd of 1 MiB as guest RAM at gpa 0. */
static struct vu_mem_table ram(int *memfd)
{
	struct vu_mem_table t = {0};
	*memfd = memfd_create("ram", MFD_CLOEXEC);
	cr_assert_eq(ftruncate(*memfd, 1 << 20), 0);
	void *host = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, *memfd, 0);
	struct vu_region r = {.gpa = 0, .size = 1 << 20, .uaddr = (uintptr_t)host, .fd = *memfd};
	cr_assert_eq(vu_mem_table_add(&t, &r), 0);
	return t;
}

static int find(const struct fake *f, uint32_t request, int from)
{
	for (int i = from; i < f->n; i++)
		if (f->hdr[i].request == request)
			return i;
	return -1;
}

Test(vhost_user, rings_start_and_stop_through_the_memory_table)
{
	struct fake *f = connected(fake_new());
	int memfd, kick = eventfd(0, EFD_CLOEXEC), call = eventfd(0, EFD_CLOEXEC);
	struct vu_mem_table t = ram(&memfd);

	cr_assert_eq(vu_frontend_set_features(&fe, 0x1), 0, "%s", fe.error);
	cr_assert_eq(f->u64[find(f, VU_SET_FEATURES, 0)], 0x1 | (1ull << VU_F_PROTOCOL_FEATURES));
	cr_assert_eq(vu_frontend_set_mem_table(&fe, &t), 0, "%s", fe.error);
	int m = find(f, VU_SET_MEM_TABLE, 0);
	cr_assert_eq(f->nfds[m], 1, "the memfd travels with the table");

	struct vu_vring_cfg v = {
	    .ring = {.num = 128, .desc = 0x1000, .avail = 0x2000, .used = 0x3000},
	    .base = 7,
	    .kick_fd = kick,
	    .call_fd = call,
	    .err_fd = -1};
	cr_assert_eq(vu_frontend_start_vring(&fe, 1, &v), 0, "%s", fe.error);
	int num = find(f, VU_SET_VRING_NUM, m);
	uint32_t order[] = {VU_SET_VRING_NUM,	VU_SET_VRING_BASE, VU_SET_VRING_ADDR,
			    VU_SET_VRING_CALL,	VU_SET_VRING_ERR,  VU_SET_VRING_KICK,
			    VU_SET_VRING_ENABLE};
	for (int i = 0; i < 7; i++)
		cr_assert_eq(f->hdr[num + i].request, order[i], "step %d", i);
	cr_assert_eq(f->nfds[num + 3], 1, "call fd");
	cr_assert_eq(f->nfds[num + 4], 0, "no err fd");
	cr_assert_eq(f->u64[num + 4], 1 | VU_VRING_NOFD);
	cr_assert_eq(f->nfds[num + 5], 1, "kick fd");
	cr_assert_eq(f->bases[1], 7);

	uint16_t base = 0;
	f->bases[1] = 42; /* the back-end consumed 35 requests */
	cr_assert_eq(vu_frontend_stop_vring(&fe, 1, &base), 0, "%s", fe.error);
	cr_assert_eq(base, 42);
	cr_assert_eq(f->hdr[f->n - 2].request, VU_SET_VRING_ENABLE);
	cr_assert_eq(f->hdr[f->n - 1].request, VU_GET_VRING_BASE);
	fake_stop(f, &fe);
	close(memfd);
	close(kick);
	close(call);
}

Test(vhost_user, a_ring_outside_guest_ram_is_never_sent)
{
	struct fake *f = connected(fake_new());
	int memfd, kick = eventfd(0, EFD_CLOEXEC);
	struct vu_mem_table t = ram(&memfd);
	cr_assert_eq(vu_frontend_set_mem_table(&fe, &t), 0);
	int before = f->n;
	struct vu_vring_cfg v = {
	    .ring = {.num = 256, .desc = 0x1000, .avail = 0x2000, .used = (1 << 20) - 0x100},
	    .kick_fd = kick,
	    .call_fd = -1,
	    .err_fd = -1};
	cr_assert_eq(vu_frontend_start_vring(&fe, 0, &v), -EFAULT);
	cr_assert(strstr(fe.error, "not inside guest RAM"), "%s", fe.error);
	v.ring.used = 0x3000;
	v.ring.desc = 0x1004;
	cr_assert_eq(vu_frontend_start_vring(&fe, 0, &v), -EINVAL);
	v.ring.desc = 0x1000;
	cr_assert_eq(vu_frontend_start_vring(&fe, 4, &v), -EINVAL, "the back-end has 4 queues");
	cr_assert_eq(f->n, before, "nothing sent");
	cr_assert(vu_frontend_alive(&fe));
	cr_assert_eq(vu_frontend_start_vring(&fe, 0, &v), 0, "%s", fe.error);
	fake_stop(f, &fe);
	close(memfd);
	close(kick);
}

Test(vhost_user, config_space_round_trip)
{
	struct fake *f = connected(fake_new());
	char out[8];
	cr_assert_eq(vu_frontend_set_config(&fe, 4, "myfs", 4), 0, "%s", fe.error);
	cr_assert_eq(vu_frontend_get_config(&fe, 2, out, 8), 0, "%s", fe.error);
	cr_assert_eq(memcmp(out, "\0\0myfs\0\0", 8), 0);
	cr_assert_eq(vu_frontend_get_config(&fe, 250, out, 8), -EINVAL, "past 256 bytes");
	fake_stop(f, &fe);
}

/* A back-end that answers each message just inside the timeout cannot stretch a sequence past
 * its budget (vu_conn_set_budget(): virtio-fs hands over every ring with the device lock held).
 *
 * What is checked holds however slow the host is (ASan, a loaded CI machine), as long as the
 * budget is kept: no answer the front-end took was given after the budget's end (the fake notes
 * the time just before each answer goes out, so a late-running thread of either side can only
 * make that time earlier than the real one, never later); hence at most 2 of these 100 ms
 * answers are taken (the third cannot be given before 300 ms), and the call that fails is the
 * third at the latest. A fresh-clone sanitizer run once counted 4 calls: the front-end, running
 * late, found the third answer (given at ~300 ms) already there and took it, and the fourth
 * message went out past the budget; both are refused now. The sequence must also be over soon
 * after the budget's end: 150 ms of slack for the scheduler, half the per-message timeout, so a
 * wait left uncapped (up to 300 ms from the last send at ~200 ms) cannot pass for a capped one. */
Test(vhost_user, a_slow_back_end_cannot_stretch_a_sequence_past_its_budget)
{
	signal(SIGPIPE, SIG_IGN); /* the fake answers into a stream the front-end gave up on */
	struct fake *f = connected(fake_new()); /* 300 ms per message */
	char out[8];
	f->delay_us = 100000;
	cr_assert_eq(vu_frontend_get_config(&fe, 0, out, 8), 0, "100 ms is inside 300: %s",
		     fe.error);
	int first = f->n; /* the fake's index of the first message under the budget */
	int64_t start = (int64_t)mono_ns();
	vu_conn_set_budget(&fe.conn, 250);
	int64_t budget_end = (int64_t)mono_ns() + 250 * (int64_t)NSEC_PER_MSEC; /* or earlier */
	int err = 0, n = 0;
	while (!err && n < 10) {
		err = vu_frontend_get_config(&fe, 0, out, 8);
		n++;
	}
	int64_t spent_ms = ((int64_t)mono_ns() - start) / (int64_t)NSEC_PER_MSEC;
	cr_assert_eq(err, -ETIMEDOUT, "ten slow answers in a 250 ms budget (%d)", err);
	cr_assert(strstr(fe.error, "250 ms are spent"), "%s", fe.error);
	for (int i = 0; i < n - 1; i++) /* the n - 1 calls that succeeded */
		cr_assert_lt(f->answer_ns[first + i], budget_end,
			     "answer %d taken, though given %lld us past the budget's end", i + 1,
			     (long long)(f->answer_ns[first + i] - budget_end) / 1000);
	cr_assert_leq(n, 3, "the budget ended the sequence after %d calls", n);
	cr_assert_lt(spent_ms, 250 + 150, "the sequence took %lld ms of a 250 ms budget",
		     (long long)spent_ms);
	cr_assert_not(vu_frontend_alive(&fe), "a timed-out stream is broken");
	vu_conn_set_budget(&fe.conn, 0);
	f->delay_us = 0;
	fake_stop(f, &fe);
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
	while (nanosleep(&ts, &ts) != 0)
		;
}

/* Once the budget is spent, a message is not sent at all (a socket with room would take it, and
 * the sequence would go on past its budget), and the call fails at once. */
Test(vhost_user, a_message_after_the_budget_is_spent_fails_at_once_unsent)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct vu_conn c;
	vu_conn_adopt(&c, sv[0], 300);
	vu_conn_set_budget(&c, 20);
	cr_assert_not(vu_conn_budget_spent(&c));
	sleep_ms(30);
	cr_assert(vu_conn_budget_spent(&c));
	uint8_t buf[VU_MAX_MSG];
	int64_t t0 = (int64_t)mono_ns();
	cr_assert_eq(vu_conn_send(&c, buf, vu_msg_build_empty(buf, VU_GET_FEATURES, 0), NULL, 0),
		     -ETIMEDOUT);
	cr_assert_lt((int64_t)mono_ns() - t0, 50 * (int64_t)NSEC_PER_MSEC, "at once");
	cr_assert_eq(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT), -1, "nothing was sent");
	cr_assert_eq(errno, EAGAIN);
	cr_assert_eq(vu_conn_send(&c, buf, VU_HDR_SIZE, NULL, 0), -ENOTCONN, "broken");
	vu_conn_close(&c);
	close(sv[1]);
}

/* An answer given after the budget's end is not taken, even when it is there by the time the
 * front-end (running late: a loaded host) looks for it; the sequence must not outlast its
 * budget by that answer and the messages after it. */
Test(vhost_user, an_answer_given_after_the_budget_is_not_taken)
{
	int sv[2];
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	struct vu_conn c;
	vu_conn_adopt(&c, sv[0], 300);
	uint64_t one = 1;
	uint8_t buf[VU_MAX_MSG];
	size_t len;
	vu_conn_set_budget(&c, 200);
	send_reply(sv[1], VU_GET_FEATURES, &one, 8);
	cr_assert_eq(vu_conn_recv(&c, buf, sizeof(buf), &len), 0, "inside the budget");
	cr_assert_eq(len, VU_HDR_SIZE + 8);
	vu_conn_set_budget(&c, 20);
	sleep_ms(30);
	send_reply(sv[1], VU_GET_FEATURES, &one, 8); /* given past the budget's end */
	cr_assert_eq(vu_conn_recv(&c, buf, sizeof(buf), &len), -ETIMEDOUT);
	cr_assert_eq(len, 0);
	cr_assert_not(vu_conn_alive(&c), "a timed-out stream is broken");
	vu_conn_close(&c);
	close(sv[1]);
}

Test(vhost_user, reset_stops_started_rings_then_resets_the_device)
{
	struct fake *f = connected(fake_new());
	int memfd, kick = eventfd(0, EFD_CLOEXEC);
	struct vu_mem_table t = ram(&memfd);
	cr_assert_eq(vu_frontend_set_mem_table(&fe, &t), 0);
	struct vu_vring_cfg v = {
	    .ring = {.num = 16, .desc = 0x1000, .avail = 0x2000, .used = 0x3000},
	    .kick_fd = kick,
	    .call_fd = -1,
	    .err_fd = -1};
	cr_assert_eq(vu_frontend_start_vring(&fe, 0, &v), 0);
	cr_assert_eq(vu_frontend_start_vring(&fe, 2, &v), 0);
	int before = f->n;
	cr_assert_eq(vu_frontend_reset(&fe), 0, "%s", fe.error);
	uint32_t want[] = {VU_SET_VRING_ENABLE, VU_GET_VRING_BASE, VU_SET_VRING_ENABLE,
			   VU_GET_VRING_BASE, VU_RESET_DEVICE};
	cr_assert_eq(f->n - before, 5);
	for (int i = 0; i < 5; i++)
		cr_assert_eq(f->hdr[before + i].request, want[i]);
	cr_assert_eq(vu_frontend_reset(&fe), 0, "nothing started: RESET_DEVICE alone");
	cr_assert_eq(f->hdr[f->n - 1].request, VU_RESET_DEVICE);
	fake_stop(f, &fe);
	close(memfd);
	close(kick);
}

Test(vhost_user, features_not_offered_are_refused)
{
	struct fake *f = connected(fake_new());
	cr_assert_eq(vu_frontend_set_features(&fe, 1ull << 40), -EINVAL);
	cr_assert(vu_frontend_alive(&fe));
	fake_stop(f, &fe);
}

/* The fake misbehaves at `request`; the front-end call must fail with `err` (and quickly), the
 * connection must be dead afterwards, and the next request must fail at once. */
static void expect_failure(uint32_t request, enum misbehave how, int err, const char *text)
{
	struct fake *f = fake_new();
	f->bad_request = request;
	f->how = how;
	vu_frontend_init(&fe);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int got = vu_frontend_attach(&fe, fake_start(f), 300);
	if (!got)
		got = vu_frontend_set_features(&fe, 0x1);
	if (!got) {
		char cfg[8];
		got = vu_frontend_get_config(&fe, 0, cfg, 8);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	cr_assert_eq(got, err, "got %d (%s)", got, fe.error);
	cr_assert(strstr(fe.error, text), "error: %s", fe.error);
	cr_assert(strstr(fe.error, vu_request_name(request)), "error names the request: %s",
		  fe.error);
	cr_assert_lt(s, 2.0, "bounded: %.2f s", s);
	cr_assert_not(vu_frontend_alive(&fe));
	cr_assert_eq(vu_frontend_set_features(&fe, 0x1), -ENOTCONN);
	fake_stop(f, &fe);
}

Test(vhost_user, garbage_reply)
{
	expect_failure(VU_GET_FEATURES, GARBAGE, -EMSGSIZE, "larger");
	expect_failure(VU_GET_PROTOCOL_FEATURES, GARBAGE, -EMSGSIZE, "larger");
}

Test(vhost_user, wrong_payload_size)
{
	expect_failure(VU_GET_FEATURES, WRONG_SIZE, -EPROTO, "bad reply");
	expect_failure(VU_GET_CONFIG, WRONG_SIZE, -EPROTO, "bad reply");
}

Test(vhost_user, reply_to_another_request)
{
	expect_failure(VU_GET_QUEUE_NUM, WRONG_REQUEST, -EPROTO, "another request");
	expect_failure(VU_SET_FEATURES, WRONG_REQUEST, -EPROTO, "another request");
}

Test(vhost_user, no_reply_times_out)
{
	expect_failure(VU_GET_FEATURES, SILENT, -ETIMEDOUT, "no answer within 300 ms");
	expect_failure(VU_SET_OWNER, SILENT, -ETIMEDOUT, "no answer");
}

Test(vhost_user, closed_socket)
{
	expect_failure(VU_GET_PROTOCOL_FEATURES, CLOSE, -ECONNRESET, "closed the connection");
	expect_failure(VU_GET_CONFIG, CLOSE, -ECONNRESET, "closed the connection");
}

Test(vhost_user, oversized_reply)
{
	expect_failure(VU_GET_FEATURES, HUGE, -EMSGSIZE, "larger");
	expect_failure(VU_GET_CONFIG, HUGE, -EMSGSIZE, "larger");
}

Test(vhost_user, refusal_keeps_the_stream_in_step)
{
	struct fake *f = fake_new();
	f->bad_request = VU_SET_FEATURES;
	f->how = NACK;
	connected(f);
	cr_assert_eq(vu_frontend_set_features(&fe, 0x1), -EIO);
	cr_assert(strstr(fe.error, "SET_FEATURES: the back-end refused it"), "%s", fe.error);
	cr_assert(vu_frontend_alive(&fe));
	char cfg[8];
	cr_assert_eq(vu_frontend_get_config(&fe, 0, cfg, 8), 0, "%s", fe.error);
	fake_stop(f, &fe);
}

/* ---- by path: connect errors, the back-end dying, and a reconnect ---- */

struct listener {
	char path[108];
	int lfd;
	struct fake *f;
	pthread_t thread;
};

static void *accept_main(void *arg)
{
	struct listener *l = arg;
	l->f->fd = accept4(l->lfd, NULL, NULL, SOCK_CLOEXEC);
	return fake_main(l->f);
}

static void listen_at(struct listener *l)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, l->path);
	unlink(l->path);
	l->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	cr_assert_eq(bind(l->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(l->lfd, 1), 0);
	l->f = fake_new();
	pthread_create(&l->thread, NULL, accept_main, l);
}

Test(vhost_user, backend_dies_and_a_new_one_is_reconnected)
{
	struct listener l;
	snprintf(l.path, sizeof(l.path), "/tmp/vu-test-%d.sock", getpid());
	vu_frontend_init(&fe);
	cr_assert_eq(vu_frontend_connect(&fe, l.path, 300), -ENOENT);
	cr_assert(strstr(fe.error, "cannot connect"), "%s", fe.error);

	listen_at(&l);
	cr_assert_eq(vu_frontend_connect(&fe, l.path, 300), 0, "%s", fe.error);
	cr_assert(vu_frontend_alive(&fe));
	/* the back-end dies: shutdown() makes the fake's recv() end, as a crash would */
	shutdown(l.f->fd, SHUT_RDWR);
	pthread_join(l.thread, NULL);
	free(l.f);
	close(l.lfd);
	cr_assert_not(vu_frontend_alive(&fe), "hang-up seen without sending anything");
	cr_assert_eq(vu_frontend_set_features(&fe, 1), -ENOTCONN);

	vu_frontend_close(&fe);
	cr_assert_eq(vu_frontend_connect(&fe, l.path, 300), -ECONNREFUSED, "nobody listens");
	listen_at(&l);
	cr_assert_eq(vu_frontend_connect(&fe, l.path, 300), 0, "%s", fe.error);
	cr_assert_eq(vu_frontend_set_features(&fe, 1), 0, "%s", fe.error);
	vu_frontend_close(&fe);
	pthread_join(l.thread, NULL);
	free(l.f);
	close(l.lfd);
	unlink(l.path);
}

/* Bytes the back-end wrote before it hung up do not make it look alive: nothing unsolicited
 * is legitimate (no BACKEND_REQ channel), the hang-up is final. */
Test(vhost_user, a_hang_up_with_unread_bytes_is_dead)
{
	int sv[2];
	struct vu_conn c = {0};
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	vu_conn_adopt(&c, sv[0], 300);
	cr_assert(vu_conn_alive(&c));
	cr_assert_eq(write(sv[1], "junk", 4), 4);
	cr_assert(vu_conn_alive(&c), "bytes alone: the next reply's check judges them");
	close(sv[1]);
	cr_assert_not(vu_conn_alive(&c), "hung up with 4 bytes unread");
	vu_conn_close(&c);
}

struct acceptor {
	int lfd, want, got;
	pthread_t thread;
};

/* Accepts `want` connections after a pause (the back-end busy while its backlog is full). */
static void *accept_later(void *arg)
{
	struct acceptor *a = arg;
	usleep(200000);
	while (a->got < a->want) {
		struct pollfd p = {.fd = a->lfd, .events = POLLIN};
		if (poll(&p, 1, 3000) != 1)
			break;
		int fd = accept4(a->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			break;
		a->got++; /* kept open: closed with the process */
	}
	return NULL;
}

/* A full backlog queues nothing for a non-blocking Unix socket (EAGAIN): the front-end tries
 * connect() again until the deadline, and the connection it returns is a real one. */
Test(vhost_user, a_full_backlog_is_retried_until_accepted)
{
	char path[108];
	snprintf(path, sizeof(path), "/tmp/vu-backlog-%d.sock", getpid());
	unlink(path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	strcpy(sa.sun_path, path);
	struct acceptor a = {.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
	cr_assert_eq(bind(a.lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(a.lfd, 0), 0);
	int fill = 0;
	for (; fill < 64; fill++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			cr_assert_eq(errno, EAGAIN, "%s", strerror(errno));
			close(fd);
			break;
		}
	}
	cr_assert_lt(fill, 64, "the backlog filled up");
	a.want = fill + 1;
	pthread_create(&a.thread, NULL, accept_later, &a);
	struct vu_conn c = {0};
	cr_assert_eq(vu_conn_connect(&c, path, 3000), 0);
	struct sockaddr_un peer;
	socklen_t len = sizeof(peer);
	cr_assert_eq(getpeername(c.fd, (struct sockaddr *)&peer, &len), 0, "connected for real: %s",
		     strerror(errno));
	pthread_join(a.thread, NULL);
	vu_conn_close(&c);

	/* nobody accepts: a clear timeout, not a socket that only looks connected */
	struct vu_conn d = {0};
	for (int i = 0; i < 64; i++) { /* filled again; the sockets stay open, with the process */
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			close(fd);
			break;
		}
	}
	cr_assert_eq(vu_conn_connect(&d, path, 200), -ETIMEDOUT);
	close(a.lfd);
	unlink(path);
}

/* A ring the back-end refused half-way (its KICK) is still stopped by the reset: the back-end
 * knew it from SET_VRING_NUM on. */
Test(vhost_user, a_half_started_ring_is_stopped_at_reset)
{
	struct fake *f = fake_new();
	f->bad_request = VU_SET_VRING_KICK;
	f->how = NACK;
	connected(f);
	int memfd, kick = eventfd(0, EFD_CLOEXEC);
	struct vu_mem_table t = ram(&memfd);
	cr_assert_eq(vu_frontend_set_mem_table(&fe, &t), 0);
	struct vu_vring_cfg v = {
	    .ring = {.num = 16, .desc = 0x1000, .avail = 0x2000, .used = 0x3000},
	    .kick_fd = kick,
	    .call_fd = -1,
	    .err_fd = -1};
	cr_assert_eq(vu_frontend_start_vring(&fe, 1, &v), -EIO);
	cr_assert_eq(vu_frontend_reset(&fe), 0, "%s", fe.error);
	cr_assert_eq(f->hdr[f->n - 2].request, VU_GET_VRING_BASE);
	cr_assert_eq(f->hdr[f->n - 1].request, VU_RESET_DEVICE);
	fake_stop(f, &fe);
	close(memfd);
	close(kick);
}
