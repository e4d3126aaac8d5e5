/* Tests of the --disk option string parser (virtio/blk/options.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "virtio/blk/options.h"

static struct virtio_blk_opts o;
static char err[200];

static int parse(const char *spec)
{
	return virtio_blk_opts_parse(spec, &o, err, sizeof(err));
}

static void teardown(void)
{
	virtio_blk_opts_free(&o);
}

TestSuite(blk_opts, .fini = teardown);

Test(blk_opts, path_only_gives_defaults)
{
	cr_assert_eq(parse("/tmp/disk.img"), 0);
	cr_assert_str_eq(o.path, "/tmp/disk.img");
	cr_assert_not(o.ro);
	cr_assert_not(o.has_serial);
	cr_assert_eq(o.cache, VIRTIO_BLK_CACHE_WRITEBACK);
	cr_assert_not(o.discard);
	cr_assert_eq(o.aio, VIRTIO_BLK_AIO_AUTO);
	cr_assert_str_eq(err, "");
}

Test(blk_opts, all_options)
{
	cr_assert_eq(parse("img,ro,serial=SN-1,cache=none,discard=on,aio=sync"), 0);
	cr_assert_str_eq(o.path, "img");
	cr_assert(o.ro);
	cr_assert(o.has_serial);
	cr_assert_str_eq(o.serial, "SN-1");
	cr_assert_eq(o.cache, VIRTIO_BLK_CACHE_NONE);
	cr_assert(o.discard);
	cr_assert_eq(o.aio, VIRTIO_BLK_AIO_SYNC);
}

Test(blk_opts, explicit_defaults_and_io_uring)
{
	cr_assert_eq(parse("a.img,cache=writeback,discard=off,aio=io_uring"), 0);
	cr_assert_eq(o.cache, VIRTIO_BLK_CACHE_WRITEBACK);
	cr_assert_not(o.discard);
	cr_assert_eq(o.aio, VIRTIO_BLK_AIO_IO_URING);
}

Test(blk_opts, flush_on_by_default_and_off_when_asked)
{
	cr_assert_eq(parse("a.img"), 0);
	cr_assert_not(o.no_flush);
	teardown();
	cr_assert_eq(parse("a.img,flush=off"), 0);
	cr_assert(o.no_flush);
	teardown();
	cr_assert_eq(parse("a.img,flush=on"), 0);
	cr_assert_not(o.no_flush);
	teardown();
	cr_assert_eq(parse("a.img,flush=maybe"), -EINVAL);
	cr_assert(strstr(err, "flush=on or flush=off"), "%s", err);
	cr_assert_eq(parse("a.img,flush=on,flush=off"), -EINVAL);
	cr_assert(strstr(err, "twice"), "%s", err);
}

Test(blk_opts, serial_of_exactly_20_bytes_is_accepted)
{
	cr_assert_eq(parse("d,serial=01234567890123456789"), 0);
	cr_assert_str_eq(o.serial, "01234567890123456789");
}

Test(blk_opts, serial_of_21_bytes_is_refused)
{
	cr_assert_eq(parse("d,serial=012345678901234567890"), -EINVAL);
	cr_assert_not_null(strstr(err, "longer than 20 bytes"), "%s", err);
	cr_assert_null(o.path);
}

Test(blk_opts, empty_serial_is_allowed)
{
	cr_assert_eq(parse("d,serial="), 0);
	cr_assert(o.has_serial);
	cr_assert_str_eq(o.serial, "");
}

Test(blk_opts, empty_path_is_refused)
{
	cr_assert_eq(parse(""), -EINVAL);
	cr_assert_not_null(strstr(err, "empty disk path"), "%s", err);
	cr_assert_eq(parse(",ro"), -EINVAL);
	cr_assert_not_null(strstr(err, "empty disk path"), "%s", err);
	cr_assert_eq(parse(",,,ro"), 0, "the path ',' (%s)", err);
	cr_assert_str_eq(o.path, ",");
	cr_assert_eq(virtio_blk_opts_parse(NULL, &o, err, sizeof(err)), -EINVAL);
}

Test(blk_opts, a_doubled_comma_is_a_comma_in_the_path)
{
	cr_assert_eq(parse("d,,ro"), 0, "%s", err);
	cr_assert_str_eq(o.path, "d,ro");
	cr_assert_not(o.ro, "ro is part of the path");
	cr_assert_eq(parse("/a,,b.img,ro,serial=s,,1"), 0, "%s", err);
	cr_assert_str_eq(o.path, "/a,b.img");
	cr_assert(o.ro);
	cr_assert_str_eq(o.serial, "s,1");
	cr_assert_eq(parse("d,,"), 0, "%s", err);
	cr_assert_str_eq(o.path, "d,");
}

Test(blk_opts, unknown_key_is_named)
{
	cr_assert_eq(parse("d,bogus=1"), -EINVAL);
	cr_assert_not_null(strstr(err, "unknown option 'bogus'"), "%s", err);
}

Test(blk_opts, bad_values_are_named)
{
	cr_assert_eq(parse("d,cache=directsync"), -EINVAL);
	cr_assert_not_null(strstr(err, "cache=directsync"), "%s", err);
	cr_assert_eq(parse("d,discard=yes"), -EINVAL);
	cr_assert_not_null(strstr(err, "discard=yes"), "%s", err);
	cr_assert_eq(parse("d,aio=threads"), -EINVAL);
	cr_assert_not_null(strstr(err, "aio=threads"), "%s", err);
	cr_assert_eq(parse("d,cache"), -EINVAL);
	cr_assert_eq(parse("d,serial"), -EINVAL);
	cr_assert_not_null(strstr(err, "needs a value"), "%s", err);
	cr_assert_eq(parse("d,ro=on"), -EINVAL);
	cr_assert_not_null(strstr(err, "takes no value"), "%s", err);
}

Test(blk_opts, stray_comma_and_repeated_key_are_refused)
{
	cr_assert_eq(parse("d,"), -EINVAL);
	cr_assert_not_null(strstr(err, "empty option"), "%s", err);
	cr_assert_eq(parse("d,,,"), -EINVAL, "the path d, then a stray comma");
	cr_assert_not_null(strstr(err, "stray comma"), "%s", err);
	cr_assert_eq(parse("d,ro,ro"), -EINVAL);
	cr_assert_not_null(strstr(err, "given twice"), "%s", err);
	cr_assert_eq(parse("d,cache=none,cache=writeback"), -EINVAL);
}

Test(blk_opts, small_error_buffer_is_not_overrun)
{
	char small[8];
	memset(small, 'x', sizeof(small));
	cr_assert_eq(virtio_blk_opts_parse("d,bogus", &o, small, 4), -EINVAL);
	cr_assert_eq(small[3], '\0');
	cr_assert_eq(small[4], 'x');
	cr_assert_eq(virtio_blk_opts_parse("d,bogus", &o, NULL, 0), -EINVAL);
}

Test(blk_opts, rate_limits)
{
	cr_assert_eq(parse("/d,bw=2M:1000,ops=500:1000:100"), 0, "%s", err);
	cr_assert_eq(o.rl.bw.size, 2u << 20);
	cr_assert_eq(o.rl.bw.refill_ms, 1000);
	cr_assert_eq(o.rl.ops.size, 500);
	cr_assert_eq(o.rl.ops.one_time_burst, 100);
	virtio_blk_opts_free(&o);
	cr_assert_eq(parse("/d,bw=2M"), -EINVAL);
	cr_assert(strstr(err, "SIZE:REFILL_MS"), "%s", err);
	cr_assert_eq(parse("/d,ops=0:1000"), -EINVAL);
	cr_assert_eq(parse("/d,bw"), -EINVAL);
	cr_assert_eq(parse("/d,bw=1:1,bw=2:2"), -EINVAL);
	cr_assert(strstr(err, "twice"), "%s", err);
}

/* id=NAME: the drive's API name, kept so a snapshot's replayed option names it again. */
Test(blk_opts, drive_id)
{
	char long_id[VIRTIO_BLK_DRIVE_ID_MAX + 8];

	cr_assert_eq(parse("/d.img,id=data,ro"), 0, "%s", err);
	cr_assert_str_eq(o.id, "data");
	cr_assert(o.ro);
	teardown();
	cr_assert_eq(parse("/d.img"), 0);
	cr_assert_str_eq(o.id, "", "not given: empty");
	teardown();
	memset(long_id, 'a', sizeof(long_id));
	long_id[VIRTIO_BLK_DRIVE_ID_MAX - 1] = '\0'; /* 63 characters: the most */
	char spec[160];
	snprintf(spec, sizeof(spec), "d,id=%s", long_id);
	cr_assert_eq(parse(spec), 0, "%s", err);
	teardown();
	long_id[VIRTIO_BLK_DRIVE_ID_MAX - 1] = 'a';
	long_id[VIRTIO_BLK_DRIVE_ID_MAX] = '\0';
	snprintf(spec, sizeof(spec), "d,id=%s", long_id);
	cr_assert_eq(parse(spec), -EINVAL);
	static const char *const bad[] = {"d,id=",    "d,id",	   "d,id=a/b",
					  "d,id=a b", "d,id=\x7f", "d,id=a,id=b"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(parse(bad[i]), -EINVAL, "%s", bad[i]);
		cr_assert_str_eq(o.id, "", "nothing kept on failure");
	}
}

Test(blk_opts, root_marks_the_root_device)
{
	cr_assert_eq(parse("img,root,ro"), 0);
	cr_assert(o.root);
	cr_assert(o.ro);
	teardown();
	cr_assert_eq(parse("img"), 0);
	cr_assert_not(o.root);
	teardown();
	cr_assert_eq(parse("img,root=1"), -EINVAL);
	cr_assert(strstr(err, "'root' takes no value"), "%s", err);
	cr_assert_eq(parse("img,root,root"), -EINVAL);
}

/* backing_files= (off by default: a qcow2 image naming a backing file is refused) and
 * backing_dirs= (only with backing_files=on; no empty folder). */
Test(blk_opts, backing_files_and_dirs)
{
	cr_assert_eq(parse("d.qcow2"), 0);
	cr_assert_not(o.backing_files);
	cr_assert_str_eq(o.backing_dirs, "");
	teardown();
	cr_assert_eq(parse("d.qcow2,backing_files=on"), 0, "%s", err);
	cr_assert(o.backing_files);
	teardown();
	cr_assert_eq(parse("d.qcow2,backing_files=off"), 0, "%s", err);
	cr_assert_not(o.backing_files);
	teardown();
	cr_assert_eq(parse("d.qcow2,backing_files=on,backing_dirs=/srv/base:/srv/more"), 0, "%s",
		     err);
	cr_assert_str_eq(o.backing_dirs, "/srv/base:/srv/more");
	cr_assert_str_eq(o.backing_dir_list, "/srv/base");
	cr_assert_str_eq(o.backing_dir_list + strlen("/srv/base") + 1, "/srv/more");
	cr_assert_eq(o.backing_dir_list[strlen(o.backing_dirs) + 1], '\0');
	teardown();
	cr_assert_eq(parse("d.qcow2,backing_files=yes"), -EINVAL);
	cr_assert_not_null(strstr(err, "backing_files=on or backing_files=off"), "%s", err);
	cr_assert_eq(parse("d.qcow2,backing_dirs=/srv/base"), -EINVAL);
	cr_assert_not_null(strstr(err, "without backing_files=on"), "%s", err);
	cr_assert_eq(parse("d.qcow2,backing_files=on,backing_dirs=/a::/b"), -EINVAL);
	cr_assert_not_null(strstr(err, "no empty one"), "%s", err);
	cr_assert_eq(parse("d.qcow2,backing_files=on,backing_dirs="), -EINVAL);
}
