/* Hostile qcow2 images (issue 51 "Bad input"): refused at open with a clear message, or failing
 * the one request, never a write outside the image. Images start as qemu-img's and are then
 * patched by hand. Skipped where qemu-utils is not installed. */
#include <errno.h>

#include "tests/unit/virtio/blk/qcow2_fixture.h"

TestSuite(qcow2_hostile, .init = need_qemu, .fini = qdir_remove);

static uint64_t header_u64(const char *name, uint64_t off)
{
	char path[128];
	uint8_t b[8];
	qpath(path, sizeof(path), name);
	int fd = open(path, O_RDONLY);
	cr_assert_eq(pread(fd, b, 8, (off_t)off), 8);
	close(fd);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static off_t file_size(const char *name)
{
	char path[128];
	struct stat st;
	qpath(path, sizeof(path), name);
	cr_assert_eq(stat(path, &st), 0);
	return st.st_size;
}

Test(qcow2_hostile, backing_loop)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 a.qcow2 1M && qemu-img create -q -f qcow2 -b "
			"a.qcow2 -F qcow2 b.qcow2 && qemu-img rebase -u -b b.qcow2 -F qcow2 "
			"a.qcow2"),
		     0);
	cr_assert_eq(qopen(&im, "b.qcow2", true), -ELOOP);
	cr_assert(strstr(im.err, "loops back"), "%s", im.err);
}

Test(qcow2_hostile, backing_self)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 a.qcow2 1M && qemu-img rebase -u -b a.qcow2 "
			"-F qcow2 a.qcow2"),
		     0);
	cr_assert_eq(qopen(&im, "a.qcow2", true), -ELOOP);
}

Test(qcow2_hostile, chain_too_deep)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 i0.qcow2 1M"), 0);
	for (int i = 1; i <= QCOW2_MAX_CHAIN; i++)
		cr_assert_eq(sh("qemu-img create -q -f qcow2 -u -b i%d.qcow2 -F qcow2 i%d.qcow2 1M",
				i - 1, i),
			     0);
	cr_assert_eq(qopen(&im, "i15.qcow2", true), 0, "%s", im.err); /* 16 images: the limit */
	qclose(&im);
	cr_assert_eq(qopen(&im, "i16.qcow2", true), -ELOOP);
	cr_assert(strstr(im.err, "deeper than"), "%s", im.err);
}

Test(qcow2_hostile, backing_in_proc_refused)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -u -b /proc/self/mem -F raw p.qcow2 1M"), 0);
	cr_assert_lt(qopen(&im, "p.qcow2", true), 0);
	cr_assert(strstr(im.err, "backing file"), "%s", im.err);
}

Test(qcow2_hostile, backing_format_unknown)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f raw b.vmdk 1M && qemu-img create -q -f qcow2 -u -b "
			"b.vmdk -F vmdk p.qcow2 1M"),
		     0);
	cr_assert_eq(qopen(&im, "p.qcow2", true), -ENOTSUP);
	cr_assert(strstr(im.err, "'vmdk'"), "%s", im.err);
}

/* An L1 entry naming an L2 table far past the end of the file: the read and the write of that
 * range fail, the file does not grow, other ranges still work. */
Test(qcow2_hostile, l1_entry_past_eof)
{
	struct qimg im;
	uint8_t e[8], data[4096];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 l.qcow2 1G && qemu-io -c 'write -P 7 0 4k' "
			"l.qcow2 >/dev/null"),
		     0);
	uint64_t l1 = header_u64("l.qcow2", 40);
	be64(e, (1ull << 40) | 1ull << 63);
	patch("l.qcow2", l1 + 8, e, 8); /* L1[1]: guest bytes 512M..1G */
	off_t before = file_size("l.qcow2");
	cr_assert_eq(qopen(&im, "l.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, data, sizeof(data), 600u << 20), -EIO);
	memset(data, 1, sizeof(data));
	cr_assert_eq(qwrite(&im, data, sizeof(data), 600u << 20), -EIO);
	cr_assert_eq(qread(&im, data, sizeof(data), 0), 0);
	cr_assert(all(data, sizeof(data), 7));
	qclose(&im);
	cr_assert_eq(file_size("l.qcow2"), before);
}

/* An L2 entry naming the L1 table's cluster as data: the write is refused (it would overwrite
 * the table), the file is byte for byte as it was. */
Test(qcow2_hostile, l2_entry_on_metadata)
{
	struct qimg im;
	uint8_t e[8], data[512];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 h.qcow2 1M && qemu-io -c 'write -P 7 0 4k' "
			"h.qcow2 >/dev/null"),
		     0);
	uint64_t l1 = header_u64("h.qcow2", 40);
	uint64_t l2 = header_u64("h.qcow2", l1) & 0x00fffffffffffe00ull;
	be64(e, (1ull << 63) | l1);
	patch("h.qcow2", l2, e, 8); /* L2[0] -> the L1 table */
	cr_assert_eq(sh("md5sum h.qcow2 > h.md5"), 0);
	cr_assert_eq(qopen(&im, "h.qcow2", false), 0, "%s", im.err);
	memset(data, 0xff, sizeof(data));
	cr_assert_eq(qwrite(&im, data, sizeof(data), 0), -EIO);
	cr_assert_eq(qread(&im, data, sizeof(data), 0), -EIO);
	qclose(&im);
	cr_assert_eq(sh("md5sum -c --quiet h.md5"), 0);
}

Test(qcow2_hostile, huge_cluster_bits)
{
	struct qimg im;
	uint8_t v[4];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 c.qcow2 1M"), 0);
	be32(v, 30);
	patch("c.qcow2", 20, v, 4);
	cr_assert_eq(qopen(&im, "c.qcow2", true), -EINVAL);
	cr_assert(strstr(im.err, "cluster_bits 30"), "%s", im.err);
}

Test(qcow2_hostile, unknown_incompatible_feature)
{
	struct qimg im;
	uint8_t v[8];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 f.qcow2 1M"), 0);
	be64(v, 1ull << 10);
	patch("f.qcow2", 72, v, 8);
	cr_assert_eq(qopen(&im, "f.qcow2", true), -ENOTSUP);
	cr_assert(strstr(im.err, "unknown qcow2 incompatible features 0x400"), "%s", im.err);
}

Test(qcow2_hostile, refcount_order_unsupported)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o refcount_bits=1 r.qcow2 1M"), 0);
	cr_assert_eq(qopen(&im, "r.qcow2", true), -ENOTSUP);
	cr_assert(strstr(im.err, "refcount_order 0"), "%s", im.err);
}

Test(qcow2_hostile, l1_table_outside_file)
{
	struct qimg im;
	uint8_t v[8];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 t.qcow2 1M"), 0);
	be64(v, 1ull << 40);
	patch("t.qcow2", 40, v, 8);
	cr_assert_eq(qopen(&im, "t.qcow2", true), -EINVAL);
	cr_assert(strstr(im.err, "L1 table"), "%s", im.err);
}

Test(qcow2_hostile, dirty_image_only_read_only)
{
	struct qimg im;
	uint8_t v[8];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 d.qcow2 1M"), 0);
	be64(v, 1);
	patch("d.qcow2", 72, v, 8);
	cr_assert_eq(qopen(&im, "d.qcow2", false), -EINVAL);
	cr_assert(strstr(im.err, "dirty"), "%s", im.err);
	cr_assert_eq(qopen(&im, "d.qcow2", true), 0, "%s", im.err);
	qclose(&im);
}

Test(qcow2_hostile, external_data_file_refused)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o data_file=x.raw x.qcow2 1M"), 0);
	cr_assert_eq(qopen(&im, "x.qcow2", true), -ENOTSUP);
	cr_assert(strstr(im.err, "external data file"), "%s", im.err);
}

/* ---- backing files (GHSA-jmr4-g2hv-mjj6): off by default, beneath the image's folder ---- */

static const struct qcow2_open_opts backing_off = {.backing_files = false};

/* A test file of 1 MiB of byte `v` at qdir/name. */
static void raw_file(const char *name, int v)
{
	cr_assert_eq(sh("qemu-img create -q -f raw %s 1M && qemu-io -f raw -c 'write -P %d 0 1M' "
			"%s >/dev/null",
			name, v, name),
		     0);
}

Test(qcow2_hostile, backing_refused_by_default)
{
	struct qimg im;
	raw_file("base.raw", 5);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 1M"), 0);
	cr_assert_eq(qopen_as(&im, "o.qcow2", true, &backing_off), -EPERM);
	cr_assert(strstr(im.err, "o.qcow2: names the backing file base.raw, refused"), "%s",
		  im.err);
	cr_assert(strstr(im.err, "backing_files=on"), "%s", im.err);
}

Test(qcow2_hostile, backing_allowed_reads_through)
{
	struct qimg im;
	uint8_t data[4096];
	raw_file("base.raw", 5);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 1M"), 0);
	cr_assert_eq(qopen(&im, "o.qcow2", true), 0, "%s", im.err);
	cr_assert_eq(qread(&im, data, sizeof(data), 4096), 0);
	cr_assert(all(data, sizeof(data), 5));
	qclose(&im);
}

/* The backing format extension taken out (its type made one the spec says to ignore). */
static void drop_backing_format(const char *name)
{
	char path[128];
	uint8_t c[4096], other[4] = {0x12, 0x34, 0x56, 0x78};
	const uint8_t magic[4] = {0xe2, 0x79, 0x2a, 0xca};
	qpath(path, sizeof(path), name);
	int fd = open(path, O_RDWR);
	cr_assert_eq(pread(fd, c, sizeof(c), 0), (ssize_t)sizeof(c));
	uint8_t *at = memmem(c + 72, sizeof(c) - 72, magic, sizeof(magic));
	cr_assert_not_null(at);
	cr_assert_eq(pwrite(fd, other, 4, at - c), 4);
	close(fd);
}

Test(qcow2_hostile, backing_without_format_refused)
{
	struct qimg im;
	raw_file("base.raw", 5);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 1M"), 0);
	drop_backing_format("o.qcow2");
	cr_assert_eq(qopen(&im, "o.qcow2", true), -EPERM);
	cr_assert(strstr(im.err, "has no format recorded"), "%s", im.err);
	cr_assert(strstr(im.err, "qemu-img create -F") || strstr(im.err, "qemu-img rebase"), "%s",
		  im.err);
}

Test(qcow2_hostile, backing_absolute_outside_refused)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -u -b /etc/passwd -F raw p.qcow2 1M"), 0);
	cr_assert_eq(qopen(&im, "p.qcow2", true), -EXDEV);
	cr_assert(strstr(im.err, "backing file /etc/passwd refused"), "%s", im.err);
	cr_assert(strstr(im.err, "not beneath the folder"), "%s", im.err);
}

Test(qcow2_hostile, backing_dotdot_refused)
{
	struct qimg im;
	raw_file("base.raw", 5);
	cr_assert_eq(sh("mkdir sub && qemu-img create -q -f qcow2 -u -b ../base.raw -F raw "
			"sub/o.qcow2 1M"),
		     0);
	cr_assert_eq(qopen(&im, "sub/o.qcow2", true), -EXDEV);
	cr_assert(strstr(im.err, "leaves the folder"), "%s", im.err);
}

Test(qcow2_hostile, backing_symlink_refused)
{
	struct qimg im;
	cr_assert_eq(sh("mkdir other img"), 0);
	raw_file("other/base.raw", 5);
	cr_assert_eq(sh("ln -s ../other/base.raw img/link.raw && qemu-img create -q -f qcow2 -u -b "
			"link.raw -F raw img/o.qcow2 1M"),
		     0);
	cr_assert_eq(qopen(&im, "img/o.qcow2", true), -ELOOP);
	cr_assert(strstr(im.err, "symbolic link"), "%s", im.err);
}

/* top.qcow2 -> sub/mid.qcow2 -> base.raw (relative to sub: each image's own folder). */
Test(qcow2_hostile, backing_chain_beneath)
{
	struct qimg im;
	uint8_t data[8192];
	cr_assert_eq(sh("mkdir sub"), 0);
	raw_file("sub/base.raw", 1);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw sub/mid.qcow2 1M && "
			"qemu-io -c 'write -P 2 0 4k' sub/mid.qcow2 >/dev/null && "
			"qemu-img create -q -f qcow2 -u -b sub/mid.qcow2 -F qcow2 top.qcow2 1M"),
		     0);
	cr_assert_eq(qopen(&im, "top.qcow2", true), 0, "%s", im.err);
	cr_assert_eq(qread(&im, data, sizeof(data), 0), 0);
	cr_assert(all(data, 4096, 2) && all(data + 4096, 4096, 1));
	qclose(&im);
}

/* A backing file named by its absolute path in another folder: only with that folder listed. */
Test(qcow2_hostile, backing_dirs_allow_another_folder)
{
	struct qimg im;
	char other[128], name[160];
	uint8_t data[4096];
	cr_assert_eq(sh("mkdir other img"), 0);
	raw_file("other/base.raw", 9);
	qpath(other, sizeof(other), "other");
	snprintf(name, sizeof(name), "%s/base.raw", other);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -u -b %s -F raw img/o.qcow2 1M", name), 0);
	cr_assert_eq(qopen(&im, "img/o.qcow2", true), -EXDEV);
	struct qcow2_open_opts listed = {.backing_files = true, .backing_dirs = other};
	cr_assert_eq(qopen_as(&im, "img/o.qcow2", true, &listed), 0, "%s", im.err);
	cr_assert_eq(qread(&im, data, sizeof(data), 0), 0);
	cr_assert(all(data, sizeof(data), 9));
	qclose(&im);
}

/* An L2 entry naming its own L2 table as its data cluster: neither read (the table would be
 * served to the guest) nor written (it would overwrite the table). */
Test(qcow2_hostile, l2_entry_on_its_own_table)
{
	struct qimg im;
	uint8_t e[8], data[512];
	cr_assert_eq(sh("qemu-img create -q -f qcow2 s.qcow2 1M && qemu-io -c 'write -P 7 0 4k' "
			"s.qcow2 >/dev/null"),
		     0);
	uint64_t l1 = header_u64("s.qcow2", 40);
	uint64_t l2 = header_u64("s.qcow2", l1) & 0x00fffffffffffe00ull;
	be64(e, (1ull << 63) | l2);
	patch("s.qcow2", l2, e, 8); /* L2[0] -> the L2 table itself */
	cr_assert_eq(sh("md5sum s.qcow2 > s.md5"), 0);
	cr_assert_eq(qopen(&im, "s.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, data, sizeof(data), 0), -EIO);
	memset(data, 0xff, sizeof(data));
	cr_assert_eq(qwrite(&im, data, sizeof(data), 0), -EIO);
	qclose(&im);
	cr_assert_eq(sh("md5sum -c --quiet s.md5"), 0);
}
