/* vhost_user_check fs: virtiofsd over a directory the test made. FUSE_INIT, LOOKUP of a file the
 * test made in DIR, OPEN, READ, and the bytes compared with the file's (virtio 1.2 5.11: queue 0
 * is the high-priority queue, queue 1 the first request queue; a request is the FUSE in-header
 * and arguments, device-readable, then the out-header and reply, device-writable). With a
 * back-end pid and a restart command: virtiofsd killed and restarted, the rings handed to the
 * new one where they are, a request before FUSE_INIT refused, then FUSE_INIT and the file read
 * again (what a guest's remount does). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <linux/virtio_config.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/vhost_user/vu_check.h"

#define REQUEST_QUEUE 1

static uint64_t unique = 1;

/* Sends FUSE `opcode` on `nodeid` with `in` (`in_len` bytes), receives up to `out_len` bytes of
 * reply into `out`. Returns the reply's length (after the out-header) or exits on an error. */
static int64_t fuse_try(struct check_env *env, uint32_t opcode, uint64_t nodeid, const void *in,
			uint32_t in_len, void *out, uint32_t out_len)
{
	struct mock_vq *mv = &env->q[REQUEST_QUEUE].mv;
	struct fuse_in_header ih = {.len = (uint32_t)sizeof(ih) + in_len,
				    .opcode = opcode,
				    .unique = unique++,
				    .nodeid = nodeid,
				    .uid = (uint32_t)getuid(),
				    .gid = (uint32_t)getgid(),
				    .pid = (uint32_t)getpid()};
	struct mock_buf b[4];
	int n = 0;
	b[n++] = (struct mock_buf){mock_fill(mv, &ih, sizeof(ih)), sizeof(ih), false};
	if (in_len)
		b[n++] = (struct mock_buf){mock_fill(mv, in, in_len), in_len, false};
	uint64_t oh = mock_alloc(mv, sizeof(struct fuse_out_header));
	b[n++] = (struct mock_buf){oh, sizeof(struct fuse_out_header), true};
	uint64_t od = out_len ? mock_alloc(mv, out_len) : 0;
	if (out_len)
		b[n++] = (struct mock_buf){od, out_len, true};
	int written = check_request(env, REQUEST_QUEUE, b, n);
	if (written < 0)
		check_fail("FUSE opcode %u: no reply within %d ms", opcode, CHECK_WAIT_MS);
	struct fuse_out_header h;
	guest_mem_read(&env->ram.mem, oh, &h, sizeof(h));
	if (h.error)
		return h.error;
	if (h.unique != ih.unique || h.len < sizeof(h) || h.len - sizeof(h) > out_len)
		check_fail("FUSE opcode %u: bad out-header (len %u, unique %llu)", opcode, h.len,
			   (unsigned long long)h.unique);
	if (out_len)
		guest_mem_read(&env->ram.mem, od, out, h.len - sizeof(h));
	return h.len - (uint32_t)sizeof(h);
}

static uint32_t fuse_call(struct check_env *env, uint32_t opcode, uint64_t nodeid, const void *in,
			  uint32_t in_len, void *out, uint32_t out_len)
{
	int64_t r = fuse_try(env, opcode, nodeid, in, in_len, out, out_len);
	if (r < 0)
		check_fail("FUSE opcode %u: error %lld (%s)", opcode, (long long)r,
			   strerror((int)-r));
	return (uint32_t)r;
}

static void fuse_init(struct check_env *env)
{
	struct fuse_init_in in = {.major = FUSE_KERNEL_VERSION,
				  .minor = FUSE_KERNEL_MINOR_VERSION,
				  .max_readahead = 65536};
	struct fuse_init_out out;
	memset(&out, 0, sizeof(out));
	fuse_call(env, FUSE_INIT, 0, &in, sizeof(in), &out, sizeof(out));
	if (out.major != FUSE_KERNEL_VERSION)
		check_fail("FUSE_INIT: major %u", out.major);
	printf("ok: FUSE_INIT: protocol %u.%u, max_write %u\n", out.major, out.minor,
	       out.max_write);
}

/* LOOKUP, OPEN and READ of `name`: the bytes must be `want`. */
static void read_file(struct check_env *env, const char *name, const char *want, uint32_t want_len)
{
	struct fuse_entry_out entry;
	fuse_call(env, FUSE_LOOKUP, FUSE_ROOT_ID, name, (uint32_t)strlen(name) + 1, &entry,
		  sizeof(entry));
	printf("ok: LOOKUP %s: node %llu, %llu bytes\n", name, (unsigned long long)entry.nodeid,
	       (unsigned long long)entry.attr.size);
	struct fuse_open_in oin = {.flags = O_RDONLY};
	struct fuse_open_out oout;
	fuse_call(env, FUSE_OPEN, entry.nodeid, &oin, sizeof(oin), &oout, sizeof(oout));
	struct fuse_read_in rin = {.fh = oout.fh, .offset = 0, .size = 4096};
	char data[4096];
	uint32_t got = fuse_call(env, FUSE_READ, entry.nodeid, &rin, sizeof(rin), data, 4096);
	if (got != want_len || memcmp(data, want, got))
		check_fail("READ: %u bytes, not the %u of %s", got, want_len, name);
	printf("ok: OPEN and READ: %u bytes, the file's contents\n", got);
}

/* virtiofsd dies; a new one on the same socket gets the rings where they are (what the VMM's
 * device does while the guest runs). The new daemon has no FUSE session: requests fail until
 * a FUSE_INIT (a remount in the guest), then the share works again. */
static void restart(struct check_env *env, const char *socket, pid_t pid, const char *cmd,
		    const char *name, const char *want, uint32_t want_len)
{
	if (kill(pid, SIGKILL) < 0)
		check_fail("kill %d: %s", pid, strerror(errno));
	for (int i = 0; i < 500 && vu_frontend_alive(&env->fe); i++)
		usleep(10000);
	if (vu_frontend_alive(&env->fe))
		check_fail("virtiofsd killed, the connection still looks alive");
	printf("ok: virtiofsd's death seen\n");
	vu_frontend_close(&env->fe);
	if (system(cmd) != 0)
		check_fail("restart command failed: %s", cmd);
	check_setup(env, socket, 1ull << VIRTIO_F_VERSION_1); /* rings resumed where they are */
	printf("ok: reconnected, rings resumed at index %u\n", env->q[REQUEST_QUEUE].mv.avail_idx);
	int64_t r = fuse_try(env, FUSE_GETATTR, FUSE_ROOT_ID, &(struct fuse_getattr_in){0},
			     sizeof(struct fuse_getattr_in), &(struct fuse_attr_out){0},
			     sizeof(struct fuse_attr_out));
	printf("%s: a request before FUSE_INIT on the new daemon: %lld\n", r < 0 ? "ok" : "note",
	       (long long)r);
	fuse_init(env);
	read_file(env, name, want, want_len);
}

int check_fs(int argc, char **argv)
{
	struct check_env env;

	if (argc != 3 && argc != 5) {
		fprintf(stderr, "usage: vhost_user_check fs SOCKET DIR NAME [PID RESTART]\n");
		return 2;
	}
	const char *name = argv[2];
	char path[4096], want[4096];
	snprintf(path, sizeof(path), "%s/%s", argv[1], name);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t want_len = fd < 0 ? -1 : read(fd, want, sizeof(want));
	if (want_len < 0)
		check_fail("%s: %s", path, strerror(errno));
	close(fd);
	check_env_init(&env, 2);
	check_setup(&env, argv[0], 1ull << VIRTIO_F_VERSION_1);
	char cfg[4];
	int err = vu_frontend_get_config(&env.fe, 0, cfg, sizeof(cfg));
	printf("GET_CONFIG: %s\n", err ? env.fe.error : "answered");
	fuse_init(&env);
	read_file(&env, name, want, (uint32_t)want_len);
	if (argc == 5)
		restart(&env, argv[0], (pid_t)atoi(argv[3]), argv[4], name, want,
			(uint32_t)want_len);

	uint16_t base = 0;
	check_ok(vu_frontend_stop_vring(&env.fe, REQUEST_QUEUE, &base), "GET_VRING_BASE", &env.fe);
	if (base != env.q[REQUEST_QUEUE].mv.avail_idx)
		check_fail("GET_VRING_BASE %u after %u requests", base,
			   env.q[REQUEST_QUEUE].mv.avail_idx);
	printf("ok: request queue stopped at base %u\n", base);
	check_ok(vu_frontend_reset(&env.fe), "reset", &env.fe);
	check_env_free(&env);
	printf("PASS\n");
	return 0;
}
