/* The qcow2 layer (virtio/blk/qcow2*.c) against Debian's qemu-img and qemu-io: images they
 * write are read back here, images written here pass `qemu-img check` and read back in qemu-io.
 * Skipped (with the package named) where qemu-utils is not installed. */
#include <signal.h>

#include "tests/unit/virtio/blk/qcow2_fixture.h"
#include "virtio/blk/disk.h"
#include "virtio/blk/options.h"

TestSuite(qcow2, .init = need_qemu, .fini = qdir_remove);

static uint8_t buf[256 * 1024];

/* What qemu-io wrote (two patterns, one cluster and a partial one) reads back; the rest is zero. */
static void read_qemu_written(const char *compat)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o compat=%s a.qcow2 8M", compat), 0);
	cr_assert_eq(sh("qemu-io -c 'write -P 0xab 0 64k' -c 'write -P 0x11 1M 4k' a.qcow2 "
			">/dev/null"),
		     0);
	cr_assert_eq(qopen(&im, "a.qcow2", true), 0, "%s", im.err);
	cr_assert_eq(qcow2_size(im.q), 8u << 20);
	cr_assert_eq(qread(&im, buf, 64 * 1024, 0), 0);
	cr_assert(all(buf, 64 * 1024, 0xab));
	cr_assert_eq(qread(&im, buf, 8192, (1u << 20) - 2048), 0);
	cr_assert(all(buf, 2048, 0) && all(buf + 2048, 4096, 0x11) && all(buf + 6144, 2048, 0));
	cr_assert_eq(qread(&im, buf, sizeof(buf), 5u << 20), 0);
	cr_assert(all(buf, sizeof(buf), 0));
	qclose(&im);
}

Test(qcow2, reads_what_qemu_wrote_v3)
{
	read_qemu_written("1.1");
}

Test(qcow2, reads_what_qemu_wrote_v2)
{
	read_qemu_written("0.10");
}

/* Writes here (partial clusters, a write across clusters, an overwrite), then qemu-img check is
 * clean and qemu-io reads every range back. */
static void write_then_check(const char *opts)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 %s w.qcow2 16M", opts), 0);
	cr_assert_eq(qopen(&im, "w.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x5a, sizeof(buf));
	cr_assert_eq(qwrite(&im, buf, 4096, 8192), 0);
	memset(buf, 0x6b, sizeof(buf));
	cr_assert_eq(qwrite(&im, buf, 200 * 1024, 3u << 20), 0);
	memset(buf, 0x7c, sizeof(buf));
	cr_assert_eq(qwrite(&im, buf, 512, (3u << 20) + 1024), 0);
	cr_assert_eq(qread(&im, buf, 4096, 8192), 0);
	cr_assert(all(buf, 4096, 0x5a));
	cr_assert_eq(qcow2_flush(im.q), 0);
	qclose(&im);
	cr_assert_eq(qemu_check("w.qcow2"), 0);
	cr_assert(qemu_sees("w.qcow2", 8192, 4096, 0x5a));
	cr_assert(qemu_sees("w.qcow2", 0, 8192, 0));
	cr_assert(qemu_sees("w.qcow2", 3u << 20, 1024, 0x6b));
	cr_assert(qemu_sees("w.qcow2", (3u << 20) + 1024, 512, 0x7c));
	cr_assert(qemu_sees("w.qcow2", (3u << 20) + 1536, 200 * 1024 - 1536, 0x6b));
	cr_assert(qemu_sees("w.qcow2", (3u << 20) + 200 * 1024, 64 * 1024, 0));
}

Test(qcow2, writes_pass_qemu_img_check_v3)
{
	write_then_check("-o compat=1.1");
}

Test(qcow2, writes_pass_qemu_img_check_v2)
{
	write_then_check("-o compat=0.10");
}

Test(qcow2, writes_pass_qemu_img_check_8bit_refcounts)
{
	write_then_check("-o refcount_bits=8");
}

/* 512-byte clusters: 2 MiB of writes need many L2 tables (more than the cache holds, so dirty
 * tables are evicted through flushes) and many new refcount blocks (each covers 256
 * clusters), some of them covering themselves. */
Test(qcow2, many_tables_small_clusters)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=512 s.qcow2 4M"), 0);
	cr_assert_eq(qopen(&im, "s.qcow2", false), 0, "%s", im.err);
	for (unsigned i = 0; i < 32; i++) {
		memset(buf, 0x20 + i, 64 * 1024);
		cr_assert_eq(qwrite(&im, buf, 64 * 1024, (uint64_t)i * 64 * 1024 * 2), 0, "i=%u",
			     i);
	}
	cr_assert_eq(qread(&im, buf, 64 * 1024, 64 * 1024 * 2 * 7), 0);
	cr_assert(all(buf, 64 * 1024, 0x27));
	qclose(&im);
	cr_assert_eq(qemu_check("s.qcow2"), 0);
	cr_assert(qemu_sees("s.qcow2", 64 * 1024 * 2 * 31, 64 * 1024, 0x3f));
	cr_assert(qemu_sees("s.qcow2", 64 * 1024 * 3, 64 * 1024, 0));
}

/* Compressed clusters (qemu-img convert -c) read back; a write into one copies it out. */
Test(qcow2, compressed_clusters)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f raw r.raw 1M && qemu-io -f raw -c 'write -P 0x42 0 "
			"256k' -c 'write -P 0x43 512k 64k' r.raw >/dev/null"),
		     0);
	cr_assert_eq(sh("qemu-img convert -c -O qcow2 r.raw c.qcow2"), 0);
	cr_assert_eq(qopen(&im, "c.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, 256 * 1024, 0), 0);
	cr_assert(all(buf, 256 * 1024, 0x42));
	cr_assert_eq(qread(&im, buf, 64 * 1024, 512 * 1024), 0);
	cr_assert(all(buf, 64 * 1024, 0x43));
	memset(buf, 0x44, 512);
	cr_assert_eq(qwrite(&im, buf, 512, 4096), 0);
	qclose(&im);
	/* the overwritten compressed cluster is leaked (exit 3), never an error (exit 2) */
	int r = sh("qemu-img check -q c.qcow2");
	cr_assert(r == 0 || r == 3, "qemu-img check: %d", r);
	cr_assert(qemu_sees("c.qcow2", 0, 4096, 0x42));
	cr_assert(qemu_sees("c.qcow2", 4096, 512, 0x44));
	cr_assert(qemu_sees("c.qcow2", 4608, 256 * 1024 - 4608, 0x42));
}

/* Zero clusters written by qemu-io read as zero; write-zeroes here makes zero clusters. */
Test(qcow2, zero_clusters)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 z.qcow2 4M && qemu-io -c 'write -P 0x99 0 1M' "
			"-c 'write -z 64k 64k' z.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(qopen(&im, "z.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, 192 * 1024, 0), 0);
	cr_assert(all(buf, 64 * 1024, 0x99) && all(buf + 64 * 1024, 64 * 1024, 0) &&
		  all(buf + 128 * 1024, 64 * 1024, 0x99));
	cr_assert_eq(qcow2_write_zeroes(im.q, 256 * 1024, 128 * 1024 + 1024), 0);
	memset(buf, 0x55, 1024);
	cr_assert_eq(qwrite(&im, buf, 1024, 256 * 1024 + 512), 0); /* into a zero cluster */
	qclose(&im);
	cr_assert_eq(qemu_check("z.qcow2"), 0);
	cr_assert(qemu_sees("z.qcow2", 256 * 1024, 512, 0));
	cr_assert(qemu_sees("z.qcow2", 256 * 1024 + 512, 1024, 0x55));
	cr_assert(qemu_sees("z.qcow2", 256 * 1024 + 1536, 128 * 1024 - 512, 0));
	cr_assert(qemu_sees("z.qcow2", 384 * 1024 + 1024, 1024, 0x99));
}

/* An overlay on a raw base (the clone recipe in docs/devices.md): the base shows through, a
 * partial write copies the rest of its cluster from the base, the base is never written. */
Test(qcow2, overlay_on_raw_base)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f raw base.raw 2M && qemu-io -f raw -c 'write -P 0x31 "
			"0 2M' base.raw >/dev/null && chmod a-w base.raw"),
		     0);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.raw -F raw o.qcow2 4M"), 0);
	cr_assert_eq(qopen(&im, "o.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, 4096, 2u << 20 >> 1), 0);
	cr_assert(all(buf, 4096, 0x31));
	cr_assert_eq(qread(&im, buf, 8192, (2u << 20) - 4096), 0); /* past the base: zeroes */
	cr_assert(all(buf, 4096, 0x31) && all(buf + 4096, 4096, 0));
	memset(buf, 0x32, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 8192), 0);
	qclose(&im);
	cr_assert_eq(qemu_check("o.qcow2"), 0);
	cr_assert(qemu_sees("o.qcow2", 0, 8192, 0x31));
	cr_assert(qemu_sees("o.qcow2", 8192, 4096, 0x32));
	cr_assert(qemu_sees("o.qcow2", 12288, (2u << 20) - 12288, 0x31));
	cr_assert_eq(sh("qemu-io -f raw -c 'read -P 0x31 0 2M' base.raw | grep -q '^read '"), 0);
}

/* A chain base.qcow2 <- mid.qcow2 <- top.qcow2: each layer's data shows through. */
Test(qcow2, qcow2_chain)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 base.qcow2 1M && qemu-io -c 'write -P 1 0 "
			"1M' base.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b base.qcow2 -F qcow2 mid.qcow2 && qemu-io "
			"-c 'write -P 2 64k 64k' mid.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -b mid.qcow2 -F qcow2 top.qcow2 && qemu-io "
			"-c 'write -P 3 128k 64k' top.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(qopen(&im, "top.qcow2", true), 0, "%s", im.err);
	cr_assert_eq(qread(&im, buf, 256 * 1024, 0), 0);
	cr_assert(all(buf, 64 * 1024, 1) && all(buf + 64 * 1024, 64 * 1024, 2) &&
		  all(buf + 128 * 1024, 64 * 1024, 3) && all(buf + 192 * 1024, 64 * 1024, 1));
	qclose(&im);
}

/* --disk: format= parsed; auto probes the magic, raw never does, qcow2 insists. */
Test(qcow2, disk_format_option_and_probe)
{
	struct virtio_blk_opts o;
	char err[256], path[128];
	struct blk_disk d;
	cr_assert_eq(virtio_blk_opts_parse("x.img,format=qcow2", &o, err, sizeof(err)), 0);
	cr_assert_eq(o.format, VIRTIO_BLK_FORMAT_QCOW2);
	virtio_blk_opts_free(&o);
	cr_assert_eq(virtio_blk_opts_parse("x.img,format=vmdk", &o, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "format=raw or format=qcow2"), "%s", err);
	cr_assert_eq(sh("qemu-img create -q -f qcow2 p.qcow2 3M && qemu-img create -q -f raw "
			"p.raw 1M"),
		     0);
	qpath(path, sizeof(path), "p.qcow2");
	cr_assert_eq(blk_disk_open_as(&d, path, false, false, true, VIRTIO_BLK_FORMAT_AUTO), 0);
	cr_assert_not_null(d.qcow2);
	cr_assert_eq(d.sectors, (3u << 20) / 512);
	blk_disk_close(&d);
	cr_assert_eq(blk_disk_open_as(&d, path, true, false, true, VIRTIO_BLK_FORMAT_RAW), 0);
	cr_assert_null(d.qcow2);
	cr_assert_lt(d.sectors, (3u << 20) / 512);
	blk_disk_close(&d);
	qpath(path, sizeof(path), "p.raw");
	cr_assert_eq(blk_disk_open_as(&d, path, true, false, true, VIRTIO_BLK_FORMAT_QCOW2),
		     -EINVAL);
}

/* A second opener (a migration's destination) re-reads the tables after the first one flushed
 * its allocations; its own allocations then go after the first one's. */
Test(qcow2, reload_sees_another_writer)
{
	struct qimg a, b;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 m.qcow2 4M"), 0);
	cr_assert_eq(qopen(&b, "m.qcow2", false), 0, "%s", b.err);
	cr_assert_eq(qopen(&a, "m.qcow2", false), 0, "%s", a.err);
	memset(buf, 0x61, 64 * 1024);
	cr_assert_eq(qwrite(&a, buf, 64 * 1024, 1u << 20), 0);
	qclose(&a); /* flushes */
	cr_assert_eq(qcow2_reload(b.q), 0);
	cr_assert_eq(qread(&b, buf, 64 * 1024, 1u << 20), 0);
	cr_assert(all(buf, 64 * 1024, 0x61));
	memset(buf, 0x62, 4096);
	cr_assert_eq(qwrite(&b, buf, 4096, 2u << 20), 0);
	qclose(&b);
	cr_assert_eq(qemu_check("m.qcow2"), 0);
	cr_assert(qemu_sees("m.qcow2", 1u << 20, 64 * 1024, 0x61));
	cr_assert(qemu_sees("m.qcow2", 2u << 20, 4096, 0x62));
}

/* Killed (SIGKILL) in the middle of allocating writes after a FLUSH: what was flushed reads
 * back and the image is consistent (qemu-img check: no errors, at worst leaks, exit 0 or 3). */
Test(qcow2, killed_after_flush_stays_consistent)
{
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=4k k.qcow2 64M"), 0);
	pid_t pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct qimg im;
		if (qopen(&im, "k.qcow2", false))
			_exit(1);
		memset(buf, 0x71, sizeof(buf));
		if (qwrite(&im, buf, sizeof(buf), 0) || qcow2_flush(im.q))
			_exit(1);
		memset(buf, 0x72, 4096);
		/* enough scattered allocations that the L2 cache evicts (flushes) on its own */
		for (unsigned i = 0; i < 4000; i++)
			if (qwrite(&im, buf, 4096, (uint64_t)(1024 + i * 16 % 14000) * 4096))
				_exit(1);
		kill(getpid(), SIGKILL);
	}
	int st;
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child status %d", st);
	int r = sh("qemu-img check -q k.qcow2");
	cr_assert(r == 0 || r == 3, "qemu-img check: %d", r);
	cr_assert(qemu_sees("k.qcow2", 0, sizeof(buf), 0x71));
}

/* A VMM killed after a flush wrote the refcounts of its newest clusters but before the clusters
 * themselves reached the file (blk_crash_consistency found it: 3-4 of 15 kills in the first
 * round of a new image): the next open must not hand out those clusters past the end again,
 * which gave one a refcount of 2 ("ERROR OFLAG_COPIED data cluster ... refcount=2"). */
Test(qcow2, clusters_counted_past_the_end_are_not_handed_out_again)
{
	char path[128];
	struct stat st;
	struct qimg im;

	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=64k c.qcow2 64M"), 0);
	cr_assert_eq(qopen(&im, "c.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x61, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 0), 0);
	cr_assert_eq(qcow2_flush(im.q), 0);
	qclose(&im);
	qpath(path, sizeof(path), "c.qcow2");
	cr_assert_eq(stat(path, &st), 0);
	/* the last cluster (the L2 table, written after the refcounts) never reached the file,
	 * nor the L1 entry that names it */
	cr_assert_eq(truncate(path, st.st_size - 65536), 0);
	uint8_t hdr[48], zero[8] = {0};
	int fd = open(path, O_RDWR);
	cr_assert_geq(fd, 0);
	cr_assert_eq(pread(fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	uint64_t l1 = 0;
	for (int i = 40; i < 48; i++)
		l1 = l1 << 8 | hdr[i];
	cr_assert_eq(pwrite(fd, zero, 8, (off_t)l1), 8);
	close(fd);

	cr_assert_eq(qopen(&im, "c.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x62, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 8 << 20), 0);
	cr_assert_eq(qcow2_flush(im.q), 0);
	qclose(&im);
	int r = sh("qemu-img check -q c.qcow2");
	cr_assert(r == 0 || r == 3, "qemu-img check: %d (2: corruption)", r);
	cr_assert(qemu_sees("c.qcow2", 8 << 20, 4096, 0x62));
}

/* qcow2_map(), the io_uring fast path: plain data clusters translate to file offsets that hold
 * the guest's bytes; unallocated, zero and non-consecutive ranges do not. */
Test(qcow2, map_plain_clusters_only)
{
	struct qimg im;
	uint64_t host;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 f.qcow2 4M && qemu-io -c 'write -P 0xab 0 "
			"128k' -c 'write -P 0xcd 1M 64k' -c 'write -z 2M 64k' f.qcow2 >/dev/null"),
		     0);
	cr_assert_eq(qopen(&im, "f.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(qcow2_map(im.q, 4096, 120 * 1024, &host), 1);
	cr_assert_eq(pread(im.fd, buf, 120 * 1024, (off_t)host), 120 * 1024);
	cr_assert(all(buf, 120 * 1024, 0xab));
	cr_assert_eq(qcow2_map(im.q, (1u << 20) + 512, 4096, &host), 1);
	cr_assert_eq(pread(im.fd, buf, 4096, (off_t)host), 4096);
	cr_assert(all(buf, 4096, 0xcd));
	cr_assert_eq(qcow2_map(im.q, (1u << 20) - 4096, 8192, &host), 0); /* half unallocated */
	cr_assert_eq(qcow2_map(im.q, 3u << 20, 4096, &host), 0);	  /* unallocated */
	cr_assert_eq(qcow2_map(im.q, 2u << 20, 4096, &host), 0);	  /* zero cluster */
	memset(buf, 0xef, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 3u << 20), 0); /* allocated here: plain from now on */
	cr_assert_eq(qcow2_map(im.q, 3u << 20, 4096, &host), 1);
	/* Half-way into a new cluster: only the 4 KiB were written, yet the whole cluster maps
	 * (the file holds it) and reads as zeroes around them, straight from the file. */
	cr_assert_eq(qwrite(&im, buf, 4096, (3u << 20) + 96 * 1024), 0);
	cr_assert_eq(qcow2_map(im.q, (3u << 20) + 64 * 1024, 64 * 1024, &host), 1);
	cr_assert_eq(pread(im.fd, buf, 64 * 1024, (off_t)host), 64 * 1024);
	cr_assert(all(buf, 32 * 1024, 0) && all(buf + 32 * 1024, 4096, 0xef) &&
		  all(buf + 36 * 1024, 28 * 1024, 0));
	qclose(&im);
	cr_assert_eq(qemu_check("f.qcow2"), 0);
	cr_assert(qemu_sees("f.qcow2", (3u << 20) + 64 * 1024, 32 * 1024, 0));
	cr_assert(qemu_sees("f.qcow2", (3u << 20) + 96 * 1024, 4096, 0xef));
}

/* 512-byte clusters: qemu-img's refcount table covers 8 MiB; writing 24 MiB grows it (twice
 * or more), the header names the new table, qemu-img check finds no error (the old tables
 * are leaks at worst) and every byte reads back. */
Test(qcow2, refcount_table_grows)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=512 g.qcow2 32M"), 0);
	uint64_t rt_before = 0;
	cr_assert_eq(qopen(&im, "g.qcow2", false), 0, "%s", im.err);
	cr_assert_eq(pread(im.fd, buf, 8, 48), 8);
	for (int i = 0; i < 8; i++)
		rt_before = rt_before << 8 | buf[i];
	for (unsigned i = 0; i < 96; i++) {
		memset(buf, (uint8_t)(0x10 + i), sizeof(buf));
		cr_assert_eq(qwrite(&im, buf, sizeof(buf), (uint64_t)i * sizeof(buf)), 0, "i=%u",
			     i);
	}
	cr_assert_eq(qcow2_flush(im.q), 0);
	uint64_t rt_after = 0;
	cr_assert_eq(pread(im.fd, buf, 8, 48), 8);
	for (int i = 0; i < 8; i++)
		rt_after = rt_after << 8 | buf[i];
	cr_assert_neq(rt_after, rt_before);
	qclose(&im);
	int r = sh("qemu-img check -q g.qcow2");
	cr_assert(r == 0 || r == 3, "qemu-img check: %d", r);
	cr_assert(qemu_sees("g.qcow2", 0, sizeof(buf), 0x10));
	cr_assert(qemu_sees("g.qcow2", 95 * sizeof(buf), sizeof(buf), 0x10 + 95));
	cr_assert(qemu_sees("g.qcow2", 96 * sizeof(buf), 1u << 20, 0));
}

/* The host file's allocated bytes (st_blocks), to see clusters go back to the host. */
static long long file_bytes(const char *name)
{
	char path[128];
	struct stat st;
	qpath(path, sizeof(path), name);
	cr_assert_eq(stat(path, &st), 0);
	return (long long)st.st_blocks * 512;
}

/* DISCARD frees whole clusters: they read as zeroes, return to the host (a hole) and are free
 * in the image once flushed (qemu-img check: no leak, no error); partial clusters stay. */
Test(qcow2, discard_frees_clusters)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 d.qcow2 16M"), 0);
	cr_assert_eq(qopen(&im, "d.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x5a, sizeof(buf));
	for (unsigned i = 0; i < 16; i++) /* 4 MiB of data clusters */
		cr_assert_eq(qwrite(&im, buf, sizeof(buf), (uint64_t)i * sizeof(buf)), 0);
	cr_assert_eq(qcow2_flush(im.q), 0);
	long long before = file_bytes("d.qcow2");
	/* from 1 KiB into the first cluster to 1 KiB into the 49th: 47 whole clusters */
	cr_assert_eq(qcow2_discard(im.q, 1024, 48 * 65536, false), 0);
	static uint8_t big[49 * 65536];
	cr_assert_eq(qread(&im, big, sizeof(big), 0), 0);
	cr_assert(all(big, 65536, 0x5a), "a partial cluster is left as it was");
	cr_assert(all(big + 65536, 47 * 65536, 0));
	cr_assert(all(big + 48 * 65536, 65536, 0x5a));
	cr_assert_eq(qcow2_flush(im.q), 0);
	long long after = file_bytes("d.qcow2");
	cr_assert_geq(before - after, 40 * 65536, "host bytes %lld -> %lld", before, after);
	qclose(&im);
	cr_assert_eq(qemu_check("d.qcow2"), 0);
	cr_assert(qemu_sees("d.qcow2", 0, 65536, 0x5a));
	cr_assert(qemu_sees("d.qcow2", 65536, 47 * 65536, 0));
	cr_assert(qemu_sees("d.qcow2", 48 * 65536, (4u << 20) - 48 * 65536, 0x5a));
	/* freed clusters are counted free: qemu-io allocates there again and check stays clean */
	cr_assert_eq(sh("qemu-io -c 'write -P 0x77 8M 1M' d.qcow2 >/dev/null"), 0);
	cr_assert_eq(qemu_check("d.qcow2"), 0);
}

/* Over a backing file, a deallocated cluster must not show the base: v3 makes it a zero
 * cluster, both for DISCARD and WRITE_ZEROES with UNMAP (partial clusters written as zeroes). */
Test(qcow2, discard_over_backing_reads_zeroes)
{
	struct qimg im;
	cr_assert_eq(
	    sh("qemu-img create -q -f raw b.raw 1M && qemu-io -f raw -c 'write -P 0x31 0 "
	       "1M' b.raw >/dev/null && qemu-img create -q -f qcow2 -b b.raw -F raw o.qcow2"),
	    0);
	cr_assert_eq(qopen(&im, "o.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x32, 131072);
	cr_assert_eq(qwrite(&im, buf, 131072, 0), 0);
	cr_assert_eq(qcow2_discard(im.q, 0, 65536, false), 0);		    /* written */
	cr_assert_eq(qcow2_discard(im.q, 3 * 65536, 65536, false), 0);	    /* base only */
	cr_assert_eq(qcow2_discard(im.q, 5 * 65536 + 512, 65536, true), 0); /* 1.x clusters */
	qclose(&im);
	cr_assert_eq(qemu_check("o.qcow2"), 0);
	cr_assert(qemu_sees("o.qcow2", 0, 65536, 0));
	cr_assert(qemu_sees("o.qcow2", 65536, 65536, 0x32));
	cr_assert(qemu_sees("o.qcow2", 2 * 65536, 65536, 0x31));
	cr_assert(qemu_sees("o.qcow2", 3 * 65536, 65536, 0));
	cr_assert(qemu_sees("o.qcow2", 5 * 65536, 512, 0x31));
	cr_assert(qemu_sees("o.qcow2", 5 * 65536 + 512, 65536, 0));
	cr_assert(qemu_sees("o.qcow2", 6 * 65536 + 512, 65536 - 512, 0x31));
	cr_assert_eq(sh("qemu-io -f raw -c 'read -P 0x31 0 1M' b.raw | grep -q '^read '"), 0);
}

/* Many frees between flushes (more than the list holds) and a reopen: still consistent. */
Test(qcow2, discard_many_small_clusters)
{
	struct qimg im;
	cr_assert_eq(sh("qemu-img create -q -f qcow2 -o cluster_size=512 s.qcow2 8M"), 0);
	cr_assert_eq(qopen(&im, "s.qcow2", false), 0, "%s", im.err);
	memset(buf, 0x44, sizeof(buf));
	for (unsigned i = 0; i < 16; i++)
		cr_assert_eq(qwrite(&im, buf, sizeof(buf), (uint64_t)i * sizeof(buf)), 0);
	cr_assert_eq(qcow2_discard(im.q, 512, (4u << 20) - 1024, false), 0); /* 8190 clusters */
	memset(buf, 0x45, 4096);
	cr_assert_eq(qwrite(&im, buf, 4096, 1u << 20), 0); /* allocated again, elsewhere */
	qclose(&im);
	cr_assert_eq(qemu_check("s.qcow2"), 0);
	cr_assert(qemu_sees("s.qcow2", 0, 512, 0x44));
	cr_assert(qemu_sees("s.qcow2", 512, (1u << 20) - 512, 0));
	cr_assert(qemu_sees("s.qcow2", 1u << 20, 4096, 0x45));
	cr_assert(qemu_sees("s.qcow2", (4u << 20) - 512, 512, 0x44));
}
