/* An empty qcow2 overlay written by the VMM (qcow2_create_overlay(), virtio/blk/qcow2.h): our own
 * image code opens it, reads the backing file through it and writes into it without touching
 * the backing file; qemu-img finds it clean (when installed). */
#include <errno.h>

#include "qcow2_fixture.h"

TestSuite(qcow2_create, .fini = qdir_remove);

/* qdir/base.raw: 3 MiB, byte i/1M+1 in MiB i. */
static void make_base(void)
{
	char path[128];
	static uint8_t mib[1 << 20];
	qpath(path, sizeof(path), "base.raw");
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	for (int i = 0; i < 3; i++) {
		memset(mib, i + 1, sizeof(mib));
		cr_assert_eq(pwrite(fd, mib, sizeof(mib), (off_t)i << 20), (ssize_t)sizeof(mib));
	}
	close(fd);
}

static int create(const char *name, uint64_t size, const char *backing, const char *fmt)
{
	char path[128];
	qpath(path, sizeof(path), name);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	cr_assert_geq(fd, 0);
	int r = qcow2_create_overlay(fd, size, backing, fmt);
	close(fd);
	return r;
}

static void mkqdir(void)
{
	strcpy(qdir, "/tmp/vmm-qcow2-XXXXXX");
	cr_assert_not_null(mkdtemp(qdir));
}

Test(qcow2_create, reads_the_base_and_writes_its_own)
{
	struct qimg im;
	static uint8_t buf[1 << 20];
	char base[128];

	mkqdir();
	make_base();
	qpath(base, sizeof(base), "base.raw");
	cr_assert_eq(create("top.qcow2", 3 << 20, base, "raw"), 0);
	cr_assert_eq(qopen(&im, "top.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qcow2_size(im.q), 3 << 20);
	for (int i = 0; i < 3; i++) {
		cr_assert_eq(qread(&im, buf, sizeof(buf), (uint64_t)i << 20), 0);
		cr_assert(all(buf, sizeof(buf), (uint8_t)(i + 1)), "MiB %d is not the base's", i);
	}
	memset(buf, 0xee, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, (1 << 20) + 512), 0);
	cr_assert_eq(qcow2_flush(im.q), 0);
	qclose(&im);
	cr_assert_eq(qopen(&im, "top.qcow2", true), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, 8192, 1 << 20), 0);
	cr_assert(all(buf, 512, 2) && all(buf + 512, 4096, 0xee) && all(buf + 4608, 3584, 2));
	qclose(&im);
	/* the base is as it was */
	int fd = open(base, O_RDONLY);
	cr_assert_eq(pread(fd, buf, 8192, 1 << 20), 8192);
	close(fd);
	cr_assert(all(buf, 8192, 2), "the overlay wrote into its backing file");
}

/* A relative name is the backing file's place from the overlay's folder; a qcow2 over a qcow2
 * overlay (a fork of a fork) reads through both. */
Test(qcow2_create, relative_and_chained)
{
	struct qimg im;
	uint8_t buf[4096];

	mkqdir();
	make_base();
	cr_assert_eq(create("mid.qcow2", 3 << 20, "base.raw", "raw"), 0);
	cr_assert_eq(create("top.qcow2", 3 << 20, "mid.qcow2", "qcow2"), 0);
	cr_assert_eq(qopen(&im, "top.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, sizeof(buf), 2 << 20), 0);
	cr_assert(all(buf, sizeof(buf), 3));
	qclose(&im);
}

Test(qcow2_create, bad_arguments)
{
	char longname[1100];

	mkqdir();
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	cr_assert_eq(create("x", 0, "b", "raw"), -EINVAL);
	cr_assert_eq(create("x", 1000, "b", "raw"), -EINVAL, "not a multiple of 512");
	cr_assert_eq(create("x", 4096, "", "raw"), -EINVAL);
	cr_assert_eq(create("x", 4096, "b", "vmdk"), -EINVAL);
	cr_assert_eq(create("x", 4096, longname, "raw"), -ENAMETOOLONG);
}

/* A disk of 1 TiB (a 16 KiB L1 table) and qemu-img's view of the images. */
Test(qcow2_create, qemu_img_finds_it_clean)
{
	char base[128];

	need_qemu();
	make_base();
	qpath(base, sizeof(base), "base.raw");
	cr_assert_eq(create("top.qcow2", 3 << 20, base, "raw"), 0);
	cr_assert_eq(qemu_check("top.qcow2"), 0);
	cr_assert(qemu_sees("top.qcow2", 2 << 20, 4096, 3), "qemu reads the base through it");
	cr_assert_eq(sh("qemu-img info top.qcow2 | grep -q 'backing file format: raw'"), 0);
	cr_assert_eq(create("big.qcow2", 1ull << 40, base, "raw"), 0);
	cr_assert_eq(qemu_check("big.qcow2"), 0);
	cr_assert_eq(sh("qemu-img info big.qcow2 | grep -q 'virtual size: 1 TiB'"), 0);
}
