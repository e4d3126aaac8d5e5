/* The vhost-user front-end's message sequence (QEMU docs/interop/vhost-user.rst, "Starting and
 * stopping rings", "Front-end message types"). */
#include "virtio/vhost_user/vu_frontend.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "virtio/vhost_user/vu_msg.h"

/* Records the failure of `request` as one sentence; returns err. */
static int failed(struct vu_frontend *f, uint32_t request, int err, const char *fmt, ...)
{
	char why[128];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(f->error, sizeof(f->error), "vhost-user back-end %s: %s: %s",
		 f->path[0] ? f->path : "(socket)", vu_request_name(request), why);
	return err;
}

static int io_failed(struct vu_frontend *f, uint32_t request, int err)
{
	if (err == -ETIMEDOUT && vu_conn_budget_spent(&f->conn))
		return failed(f, request, err, "the sequence's %d ms are spent", f->conn.budget_ms);
	if (err == -ETIMEDOUT)
		return failed(f, request, err, "no answer within %d ms", f->conn.timeout_ms);
	if (err == -ECONNRESET || err == -EPIPE)
		return failed(f, request, err, "the back-end closed the connection");
	if (err == -ENOTCONN)
		return failed(f, request, err, "not connected (the back-end failed earlier)");
	if (err == -EMSGSIZE)
		return failed(f, request, err, "reply larger than any reply to it");
	return failed(f, request, err, "%s", strerror(-err));
}

static bool has_protocol(const struct vu_frontend *f, int bit)
{
	return f->protocol_features & (1ull << bit);
}

/* Flags of a request that has no reply of its own: ask for an ack when REPLY_ACK is on. */
static uint32_t ack_flag(const struct vu_frontend *f)
{
	return has_protocol(f, VU_PROTOCOL_F_REPLY_ACK) ? VU_FLAG_NEED_REPLY : 0;
}

/* Receives the reply to `want->request` and checks it. */
static int get_reply(struct vu_frontend *f, const struct vu_reply_want *want, uint8_t *buf,
		     struct vu_reply *out)
{
	size_t len;
	const char *why = "";

	int err = vu_conn_recv(&f->conn, buf, VU_MAX_MSG, &len);
	if (err)
		return io_failed(f, want->request, err);
	err = vu_msg_parse_reply(buf, len, want, out, &why);
	if (err == -EPROTO) {
		vu_conn_break(&f->conn); /* out of step: nothing more on this stream */
		return failed(f, want->request, err, "bad reply: %s", why);
	}
	if (err)
		return failed(f, want->request, err, "%s", why);
	return 0;
}

/* Sends a request built in `msg`; when it asked for an ack, waits for it (0 = success). */
static int send_request(struct vu_frontend *f, uint8_t *msg, size_t len, const int *fds, int nfds)
{
	struct vu_hdr h;
	vu_msg_read_hdr(msg, &h);
	int err = vu_conn_send(&f->conn, msg, len, fds, nfds);
	if (err)
		return io_failed(f, h.request, err);
	if (!(h.flags & VU_FLAG_NEED_REPLY))
		return 0;
	struct vu_reply_want want = {.request = h.request, .kind = VU_REPLY_U64};
	struct vu_reply r;
	err = get_reply(f, &want, msg, &r);
	if (err)
		return err;
	if (r.u64 != 0)
		return failed(f, h.request, -EIO, "the back-end refused it (status %llu)",
			      (unsigned long long)r.u64);
	return 0;
}

/* Sends a request that has a reply and receives it into `buf`. */
static int call(struct vu_frontend *f, uint8_t *buf, size_t len, const struct vu_reply_want *want,
		struct vu_reply *out)
{
	int err = vu_conn_send(&f->conn, buf, len, NULL, 0);
	if (err)
		return io_failed(f, want->request, err);
	return get_reply(f, want, buf, out);
}

static int get_u64(struct vu_frontend *f, uint32_t request, uint64_t *value)
{
	uint8_t buf[VU_MAX_MSG];
	struct vu_reply_want want = {.request = request, .kind = VU_REPLY_U64};
	struct vu_reply r;
	int err = call(f, buf, vu_msg_build_empty(buf, request, 0), &want, &r);
	if (!err)
		*value = r.u64;
	return err;
}

static int set_u64(struct vu_frontend *f, uint32_t request, uint64_t value, int fd)
{
	uint8_t buf[VU_MAX_MSG];
	size_t len = vu_msg_build_u64(buf, request, ack_flag(f), value);
	return send_request(f, buf, len, &fd, fd >= 0 ? 1 : 0);
}

static int set_state(struct vu_frontend *f, uint32_t request, uint32_t index, uint32_t num)
{
	uint8_t buf[VU_MAX_MSG];
	size_t len = vu_msg_build_state(buf, request, ack_flag(f), index, num);
	return send_request(f, buf, len, NULL, 0);
}

/* Protocol features: only when the back-end offers the vhost-user feature bit 30. */
static int negotiate_protocol(struct vu_frontend *f)
{
	uint64_t offered;

	if (!(f->features & (1ull << VU_F_PROTOCOL_FEATURES)))
		return 0;
	int err = get_u64(f, VU_GET_PROTOCOL_FEATURES, &offered);
	if (err)
		return err;
	uint64_t use = offered & VU_FRONTEND_PROTOCOL_FEATURES;
	/* SET_PROTOCOL_FEATURES itself is never acked: REPLY_ACK is not on until it is done */
	err = set_u64(f, VU_SET_PROTOCOL_FEATURES, use, -1);
	if (err)
		return err;
	f->protocol_features = use;
	if (!has_protocol(f, VU_PROTOCOL_F_MQ))
		return 0;
	uint64_t n;
	err = get_u64(f, VU_GET_QUEUE_NUM, &n);
	if (err)
		return err;
	if (n == 0 || n > VU_MAX_QUEUES) {
		vu_conn_break(&f->conn);
		return failed(f, VU_GET_QUEUE_NUM, -EPROTO, "bad reply: %llu queues",
			      (unsigned long long)n);
	}
	f->max_queues = (unsigned)n;
	return 0;
}

static int handshake(struct vu_frontend *f)
{
	int err = get_u64(f, VU_GET_FEATURES, &f->features);
	if (!err)
		err = negotiate_protocol(f);
	if (!err) {
		uint8_t buf[VU_MAX_MSG];
		err = send_request(f, buf, vu_msg_build_empty(buf, VU_SET_OWNER, ack_flag(f)), NULL,
				   0);
	}
	if (err)
		vu_conn_break(&f->conn);
	return err;
}

static void reset_state(struct vu_frontend *f)
{
	f->features = 0;
	f->protocol_features = 0;
	f->max_queues = 0;
	f->has_mem = false;
	memset(&f->mem, 0, sizeof(f->mem));
	memset(f->started, 0, sizeof(f->started));
	f->error[0] = '\0';
}

void vu_frontend_init(struct vu_frontend *f)
{
	memset(f, 0, sizeof(*f));
	f->conn.fd = -1;
	f->conn.broken = true;
}

int vu_frontend_connect(struct vu_frontend *f, const char *path, int timeout_ms)
{
	reset_state(f);
	snprintf(f->path, sizeof(f->path), "%s", path);
	int err = vu_conn_connect(&f->conn, path, timeout_ms);
	if (err) {
		snprintf(f->error, sizeof(f->error), "vhost-user back-end %s: cannot connect: %s",
			 path, strerror(-err));
		return err;
	}
	return handshake(f);
}

int vu_frontend_attach(struct vu_frontend *f, int fd, int timeout_ms)
{
	reset_state(f);
	f->path[0] = '\0';
	vu_conn_adopt(&f->conn, fd, timeout_ms);
	return handshake(f);
}

/* Every request first: nothing goes out on a broken or closed connection. */
static int usable(struct vu_frontend *f, uint32_t request)
{
	if (f->conn.broken || f->conn.fd < 0)
		return io_failed(f, request, -ENOTCONN);
	return 0;
}

int vu_frontend_set_features(struct vu_frontend *f, uint64_t features)
{
	int err = usable(f, VU_SET_FEATURES);
	if (err)
		return err;
	if (features & ~f->features)
		return failed(f, VU_SET_FEATURES, -EINVAL, "features %#llx not offered",
			      (unsigned long long)(features & ~f->features));
	features |= f->features & (1ull << VU_F_PROTOCOL_FEATURES);
	return set_u64(f, VU_SET_FEATURES, features, -1);
}

int vu_frontend_set_mem_table(struct vu_frontend *f, const struct vu_mem_table *t)
{
	struct vu_mem_region_msg r[VU_MAX_REGIONS];
	int fds[VU_MAX_REGIONS];
	uint8_t buf[VU_MAX_MSG];

	int err = usable(f, VU_SET_MEM_TABLE);
	if (err)
		return err;
	for (unsigned i = 0; i < t->n; i++) {
		r[i] = (struct vu_mem_region_msg){t->r[i].gpa, t->r[i].size, t->r[i].uaddr,
						  t->r[i].fd_offset};
		fds[i] = t->r[i].fd;
	}
	size_t len = vu_msg_build_mem_table(buf, ack_flag(f), r, t->n);
	if (len == 0)
		return failed(f, VU_SET_MEM_TABLE, -EINVAL, "%u regions", t->n);
	err = send_request(f, buf, len, fds, (int)t->n);
	if (err)
		return err;
	f->mem = *t;
	f->has_mem = true;
	return 0;
}

static int check_index(struct vu_frontend *f, uint32_t request, unsigned index)
{
	if (index >= VU_MAX_QUEUES || (f->max_queues && index >= f->max_queues))
		return failed(f, request, -EINVAL, "ring %u beyond the back-end's %u", index,
			      f->max_queues ? f->max_queues : VU_MAX_QUEUES);
	return 0;
}

static int set_fd(struct vu_frontend *f, uint32_t request, unsigned index, int fd)
{
	return set_u64(f, request, index | (fd < 0 ? VU_VRING_NOFD : 0), fd);
}

int vu_frontend_start_vring(struct vu_frontend *f, unsigned index, const struct vu_vring_cfg *v)
{
	struct vu_vring_addr a = {.index = index};
	uint8_t buf[VU_MAX_MSG];

	int err = usable(f, VU_SET_VRING_ADDR);
	if (!err)
		err = check_index(f, VU_SET_VRING_ADDR, index);
	if (err)
		return err;
	if (!f->has_mem)
		return failed(f, VU_SET_VRING_ADDR, -EINVAL, "no memory table yet");
	err = vu_ring_translate(&f->mem, &v->ring, &a.desc, &a.avail, &a.used);
	if (err)
		return failed(f, VU_SET_VRING_ADDR, err, "ring %u is not inside guest RAM", index);
	if (v->kick_fd < 0)
		return failed(f, VU_SET_VRING_KICK, -EINVAL, "ring %u has no kick eventfd", index);
	err = set_state(f, VU_SET_VRING_NUM, index, v->ring.num);
	/* from here the back-end knows the ring: a reset stops it even if a later step fails */
	f->started[index] = !err;
	if (!err)
		err = set_state(f, VU_SET_VRING_BASE, index, v->base);
	if (!err)
		err = send_request(f, buf, vu_msg_build_vring_addr(buf, ack_flag(f), &a), NULL, 0);
	/* CALL and ERR before KICK: a kick fd starts the ring, which may then signal at once */
	if (!err)
		err = set_fd(f, VU_SET_VRING_CALL, index, v->call_fd);
	if (!err)
		err = set_fd(f, VU_SET_VRING_ERR, index, v->err_fd);
	if (!err)
		err = set_fd(f, VU_SET_VRING_KICK, index, v->kick_fd);
	/* with protocol features rings start disabled ("Ring states") */
	if (!err && (f->features & (1ull << VU_F_PROTOCOL_FEATURES)))
		err = set_state(f, VU_SET_VRING_ENABLE, index, 1);
	return err;
}

int vu_frontend_set_vring_call(struct vu_frontend *f, unsigned index, int call_fd)
{
	int err = usable(f, VU_SET_VRING_CALL);
	if (!err)
		err = check_index(f, VU_SET_VRING_CALL, index);
	if (!err && !f->started[index])
		return failed(f, VU_SET_VRING_CALL, -EINVAL, "ring %u is not started", index);
	return err ? err : set_fd(f, VU_SET_VRING_CALL, index, call_fd);
}

int vu_frontend_stop_vring(struct vu_frontend *f, unsigned index, uint16_t *base)
{
	uint8_t buf[VU_MAX_MSG];
	struct vu_reply r;

	int err = check_index(f, VU_GET_VRING_BASE, index);
	if (err)
		return err;
	f->started[index] = false;
	err = usable(f, VU_GET_VRING_BASE);
	if (err)
		return err;
	if (f->features & (1ull << VU_F_PROTOCOL_FEATURES))
		err = set_state(f, VU_SET_VRING_ENABLE, index, 0);
	if (err)
		return err;
	struct vu_reply_want want = {
	    .request = VU_GET_VRING_BASE, .kind = VU_REPLY_STATE, .index = index};
	err = call(f, buf, vu_msg_build_state(buf, VU_GET_VRING_BASE, 0, index, 0), &want, &r);
	if (!err && base)
		*base = (uint16_t)r.state_num;
	return err;
}

static int config_check(struct vu_frontend *f, uint32_t request, uint32_t offset, uint32_t len)
{
	uint32_t end;
	int err = usable(f, request);
	if (err)
		return err;
	if (!has_protocol(f, VU_PROTOCOL_F_CONFIG))
		return failed(f, request, -EOPNOTSUPP,
			      "the back-end has no CONFIG protocol feature");
	if (len == 0 || len > VU_MAX_CONFIG_SIZE || __builtin_add_overflow(offset, len, &end) ||
	    end > VU_MAX_CONFIG_SIZE)
		return failed(f, request, -EINVAL, "%u bytes at %u", len, offset);
	return 0;
}

int vu_frontend_get_config(struct vu_frontend *f, uint32_t offset, void *buf, uint32_t len)
{
	uint8_t msg[VU_MAX_MSG];
	struct vu_reply r;

	int err = config_check(f, VU_GET_CONFIG, offset, len);
	if (err)
		return err;
	struct vu_reply_want want = {.request = VU_GET_CONFIG,
				     .kind = VU_REPLY_CONFIG,
				     .config_offset = offset,
				     .config_size = len};
	size_t n = vu_msg_build_config(msg, VU_GET_CONFIG, 0, offset, len, NULL);
	err = call(f, msg, n, &want, &r);
	if (!err)
		memcpy(buf, r.config, len);
	return err;
}

int vu_frontend_set_config(struct vu_frontend *f, uint32_t offset, const void *buf, uint32_t len)
{
	uint8_t msg[VU_MAX_MSG];

	int err = config_check(f, VU_SET_CONFIG, offset, len);
	if (err)
		return err;
	size_t n = vu_msg_build_config(msg, VU_SET_CONFIG, ack_flag(f), offset, len, buf);
	return send_request(f, msg, n, NULL, 0);
}

int vu_frontend_reset(struct vu_frontend *f)
{
	int first = 0;

	for (unsigned i = 0; i < VU_MAX_QUEUES; i++) {
		if (!f->started[i])
			continue;
		int err = vu_frontend_stop_vring(f, i, NULL);
		if (err && !first)
			first = err;
	}
	if (first || !has_protocol(f, VU_PROTOCOL_F_RESET_DEVICE))
		return first;
	uint8_t buf[VU_MAX_MSG];
	return send_request(f, buf, vu_msg_build_empty(buf, VU_RESET_DEVICE, ack_flag(f)), NULL, 0);
}

bool vu_frontend_alive(struct vu_frontend *f)
{
	return vu_conn_alive(&f->conn);
}

int vu_frontend_fd(const struct vu_frontend *f)
{
	return f->conn.fd;
}

void vu_frontend_close(struct vu_frontend *f)
{
	vu_conn_close(&f->conn);
	memset(f->started, 0, sizeof(f->started));
	f->has_mem = false;
}
