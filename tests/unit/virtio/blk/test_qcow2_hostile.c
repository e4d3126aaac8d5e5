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
