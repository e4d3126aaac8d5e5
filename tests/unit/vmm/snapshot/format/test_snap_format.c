#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/snapshot/format/snap_format.h"

static char dir[64];
static char err[256];

static void make_dir(void)
{
	snprintf(dir, sizeof(dir), "/tmp/test_snap_format.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_assert_eq(system(cmd), 0);
}

TestSuite(snap_format, .init = make_dir, .fini = remove_dir);

static char *path_of(const char *name)
{
	static char p[128];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return p;
}

static uint8_t *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	uint8_t *b = malloc(*len + 1);
	cr_assert_eq(fread(b, 1, *len, f), *len);
	fclose(f);
	return b;
}

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* A snapshot of `n` sections: section k is tag 100 + k % 7, instance k / 7, k bytes. */
static uint8_t *image(unsigned n, size_t *len)
{
	struct snap_writer w;
	uint8_t data[512];
	cr_assert_eq(snap_writer_init(&w), 0);
	for (unsigned k = 0; k < n; k++) {
		fill(data, k, k);
		cr_assert_eq(snap_put(&w, 100 + k % 7, k / 7, data, k), 0, "section %u", k);
	}
	cr_assert_eq(snap_writer_save(&w, path_of("img"), err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);
	return read_all(path_of("img"), len);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* Recomputes the trailer's checksum after a test edited the contents. */
static void fix_crc(uint8_t *b, size_t len)
{
	put32(b + len - 8, snap_crc32(b, len - 8));
}

static int parse(const uint8_t *b, size_t len)
{
	struct snap_reader r;
	err[0] = 0;
	int ret = snap_parse(&r, b, len, err, sizeof(err));
	if (!ret)
		snap_close(&r);
	return ret;
}

Test(snap_format, crc32_is_zlibs)
{
	cr_assert_eq(snap_crc32("123456789", 9), 0xCBF43926u);
	cr_assert_eq(snap_crc32("", 0), 0);
}

Test(snap_format, round_trip_of_many_sections)
{
	size_t len;
	uint8_t *b = image(300, &len);
	struct snap_reader r;
	cr_assert_eq(snap_open(&r, path_of("img"), err, sizeof(err)), 0, "%s", err);
	uint8_t want[512];
	for (unsigned k = 0; k < 300; k++) {
		size_t n = 12345;
		const uint8_t *p = snap_get(&r, 100 + k % 7, k / 7, &n);
		cr_assert_not_null(p, "section %u", k);
		cr_assert_eq(n, k);
		fill(want, k, k);
		cr_assert_arr_eq(p, want, k);
	}
	cr_assert_null(snap_get(&r, 100, 9999, NULL));
	cr_assert_null(snap_get(&r, 99, 0, NULL));
	snap_close(&r);
	free(b);
}

Test(snap_format, layout_is_the_documented_one)
{
	size_t len;
	uint8_t *b = image(3, &len); /* sections of 0, 1, 2 bytes */
	cr_assert_eq(len, 24 + 3 * (16 + 8) - 8 + 8, "0-byte section has no padding");
	cr_assert_arr_eq(b, "VMMSNAP\0", 8);
	cr_assert_eq(b[8], 1);
	cr_assert_eq(b[16], len);
	cr_assert_eq(b[24], 100, "first section's tag");
	cr_assert_eq(b[len - 4], 'S');
	cr_assert_eq(b[len - 1], 'D');
	uint32_t crc = (uint32_t)b[len - 8] | (uint32_t)b[len - 7] << 8 |
		       (uint32_t)b[len - 6] << 16 | (uint32_t)b[len - 5] << 24;
	cr_assert_eq(crc, snap_crc32(b, len - 8));
	free(b);
}

Test(snap_format, empty_snapshot_round_trips)
{
	size_t len;
	uint8_t *b = image(0, &len);
	cr_assert_eq(len, 32);
	struct snap_reader r;
	cr_assert_eq(snap_parse(&r, b, len, err, sizeof(err)), 0, "%s", err);
	cr_assert_null(snap_get(&r, 1, 0, NULL));
	snap_close(&r);
	free(b);
}

Test(snap_format, every_truncation_is_refused)
{
	size_t len;
	uint8_t *b = image(20, &len);
	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = malloc(n ? n : 1); /* exact size: ASan sees any read past it */
		memcpy(copy, b, n);
		cr_assert_eq(parse(copy, n), -EINVAL, "length %zu", n);
		cr_assert(strstr(err, "truncated"), "length %zu: %s", n, err);
		free(copy);
	}
	cr_assert_eq(parse(b, len), 0, "%s", err);
	free(b);
}

Test(snap_format, header_length_is_named)
{
	size_t len;
	uint8_t *b = image(5, &len);
	char want[128];
	snprintf(want, sizeof(want), "truncated: header says %zu bytes, file has %zu", len,
		 len - 8);
	cr_assert_eq(parse(b, len - 8), -EINVAL);
	cr_assert_str_eq(err, want);
	free(b);
}

Test(snap_format, every_flipped_byte_is_refused)
{
	size_t len;
	uint8_t *b = image(10, &len);
	for (size_t i = 0; i < len; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			b[i] ^= (uint8_t)(1 << bit);
			cr_assert_eq(parse(b, len), -EINVAL, "byte %zu bit %d", i, bit);
			cr_assert(err[0], "a message for byte %zu", i);
			if (i >= 24 && i < len - 8)
				cr_assert(strstr(err, "checksum mismatch"), "byte %zu: %s", i, err);
			b[i] ^= (uint8_t)(1 << bit);
		}
	}
	free(b);
}

Test(snap_format, wrong_magic_version_flags_and_end)
{
	size_t len;
	uint8_t *b = image(4, &len);
	b[0] = 'X';
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "bad magic"), "%s", err);
	b[0] = 'V';

	put32(b + 8, 2);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert_str_eq(err, "snapshot format version 2, this vmm reads 1");
	put32(b + 8, 1);

	put32(b + 12, 4);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "unknown flags 0x4"), "%s", err);
	put32(b + 12, 0);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), 0, "%s", err);

	b[len - 1] = 'X';
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "end magic"), "%s", err);
	free(b);
}

Test(snap_format, trailing_bytes_are_refused)
{
	size_t len;
	uint8_t *b = image(4, &len);
	uint8_t *more = calloc(1, len + 8);
	memcpy(more, b, len);
	cr_assert_eq(parse(more, len + 8), -EINVAL);
	cr_assert(strstr(err, "trailing bytes"), "%s", err);
	free(more);
	free(b);
}

/* image(2): section 0 (0 bytes) at 24, section 1 (1 byte + 7 padding) at 40. */
Test(snap_format, section_length_past_the_end)
{
	size_t len;
	uint8_t *b = image(2, &len);
	put64(b + 40 + 8, 9);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(
	    strstr(err, "section 101/0 at offset 40: length 9 runs past the end (8 bytes left)"),
	    "%s", err);
	/* One padding byte short: a file whose length is not a multiple of 8. */
	put64(b + 40 + 8, 1);
	uint8_t *odd = malloc(len - 1);
	memcpy(odd, b, len - 9);
	memcpy(odd + len - 9, b + len - 8, 8);
	put64(odd + 16, len - 1);
	fix_crc(odd, len - 1);
	cr_assert_eq(parse(odd, len - 1), -EINVAL);
	cr_assert(strstr(err, "padding runs past the end"), "%s", err);
	free(odd);
	put64(b + 40 + 8, 17);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "section 101/0 at offset 40: length 17 runs past the end"), "%s",
		  err);
	free(b);
}

Test(snap_format, huge_lengths_do_not_overflow)
{
	size_t len;
	uint8_t *b = image(2, &len);
	const uint64_t huge[] = {UINT64_MAX, UINT64_MAX - 7, UINT64_MAX - 40, 1ull << 63,
				 (uint64_t)SIZE_MAX - 16};
	for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
		put64(b + 24 + 8, huge[i]);
		fix_crc(b, len);
		cr_assert_eq(parse(b, len), -EINVAL, "length %#llx", (unsigned long long)huge[i]);
		cr_assert(strstr(err, "runs past the end"), "%s", err);
	}
	put64(b + 16, UINT64_MAX);
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "truncated"), "%s", err);
	free(b);
}

Test(snap_format, nonzero_padding_is_refused)
{
	size_t len;
	uint8_t *b = image(2, &len);
	b[40 + 16 + 1] = 1;
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert(strstr(err, "nonzero padding"), "%s", err);
	free(b);
}

Test(snap_format, duplicates_are_refused_when_writing_and_reading)
{
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, 5, 0, "abcd", 4), 0);
	cr_assert_eq(snap_put(&w, 5, 1, "abcd", 4), 0);
	cr_assert_eq(snap_put(&w, 6, 0, "efgh", 4), 0);
	cr_assert_eq(snap_put(&w, 5, 1, "x", 1), -EEXIST);
	cr_assert_eq(snap_writer_save(&w, path_of("dup"), err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);

	size_t len;
	uint8_t *b = read_all(path_of("dup"), &len);
	cr_assert_eq(parse(b, len), 0, "%s", err);
	put32(b + 24 + 2 * 24, 5); /* the third section becomes 5/0 again */
	fix_crc(b, len);
	cr_assert_eq(parse(b, len), -EINVAL);
	cr_assert_str_eq(err, "duplicate section 5/0");
	free(b);
}

Test(snap_format, section_count_is_limited)
{
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	for (uint32_t i = 0; i < SNAP_MAX_SECTIONS; i++)
		cr_assert_eq(snap_put(&w, 1, i, NULL, 0), 0);
	cr_assert_eq(snap_put(&w, 2, 0, NULL, 0), -E2BIG);
	cr_assert_eq(snap_writer_save(&w, path_of("many"), err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);

	/* One more empty section, forged by hand. */
	size_t len;
	uint8_t *b = read_all(path_of("many"), &len);
	uint8_t *more = calloc(1, len + 16);
	memcpy(more, b, len - 8);
	put32(more + len - 8, 2);
	put64(more + 16, len + 16);
	memcpy(more + len + 8, b + len - 8, 8);
	fix_crc(more, len + 16);
	cr_assert_eq(parse(more, len + 16), -EINVAL);
	cr_assert_str_eq(err, "more than 4096 sections");
	cr_assert_eq(parse(b, len), 0, "%s", err);
	free(more);
	free(b);
}

Test(snap_format, writer_refuses_what_the_reader_would)
{
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, 1, 0, NULL, SNAP_MAX_FILE), -E2BIG);
	cr_assert_eq(snap_put(&w, 1, 0, NULL, SIZE_MAX), -E2BIG);
	snap_writer_free(&w);
}

Test(snap_format, get_exact_names_the_section)
{
	struct snap_writer w;
	uint64_t v = 0x1122334455667788ull, out = 0;
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_eq(snap_put(&w, 16, 2, &v, sizeof(v)), 0);
	cr_assert_eq(snap_put(&w, 17, 0, "abcd", 4), 0);
	cr_assert_eq(snap_writer_save(&w, path_of("exact"), err, sizeof(err)), 0, "%s", err);
	snap_writer_free(&w);

	struct snap_reader r;
	cr_assert_eq(snap_open(&r, path_of("exact"), err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(snap_get_exact(&r, 16, 2, &out, sizeof(out), err, sizeof(err)), 0);
	cr_assert_eq(out, v);
	char want[256];
	cr_assert_eq(snap_get_exact(&r, 16, 3, &out, sizeof(out), err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: snapshot has no section 16/3", path_of("exact"));
	cr_assert_str_eq(err, want);
	cr_assert_eq(snap_get_exact(&r, 17, 0, &out, sizeof(out), err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s: section 17/0 has 4 bytes, want 8", path_of("exact"));
	cr_assert_str_eq(err, want);
	snap_close(&r);
}

Test(snap_format, save_is_atomic_and_leaves_no_temporary)
{
	size_t len;
	free(image(3, &len));
	struct stat st;
	cr_assert_eq(stat(path_of("img.tmp"), &st), -1, "no .tmp left behind");
	cr_assert_eq(stat(path_of("img"), &st), 0);
	cr_assert_eq((size_t)st.st_size, len);

	/* A save that fails (a directory where the file should go) keeps no temporary either. */
	cr_assert_eq(mkdir(path_of("adir"), 0700), 0);
	struct snap_writer w;
	cr_assert_eq(snap_writer_init(&w), 0);
	int ret = snap_writer_save(&w, path_of("adir"), err, sizeof(err));
	cr_assert(ret < 0);
	cr_assert(strstr(err, path_of("adir")), "%s", err);
	cr_assert_eq(stat(path_of("adir.tmp"), &st), -1);
	cr_assert_eq(snap_writer_save(&w, path_of("nodir/x"), err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "nodir/x.tmp"), "%s", err);
	snap_writer_free(&w);
}

Test(snap_format, open_refuses_bad_files_with_their_name)
{
	struct snap_reader r;
	cr_assert_eq(snap_open(&r, path_of("missing"), err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, path_of("missing")), "%s", err);
	cr_assert_eq(snap_open(&r, dir, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "not a regular file"), "%s", err);

	int fd = open(path_of("big"), O_CREAT | O_WRONLY, 0600);
	cr_assert(fd >= 0);
	cr_assert_eq(ftruncate(fd, SNAP_MAX_FILE + 1), 0);
	close(fd);
	cr_assert_eq(snap_open(&r, path_of("big"), err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "more than the 321 MiB"), "%s", err);

	fd = open(path_of("short"), O_CREAT | O_WRONLY, 0600);
	cr_assert_eq(write(fd, "VMMSNAP", 8), 8);
	close(fd);
	char want[256];
	snprintf(want, sizeof(want), "%s: truncated: 8 bytes, a snapshot has at least 32",
		 path_of("short"));
	cr_assert_eq(snap_open(&r, path_of("short"), err, sizeof(err)), -EINVAL);
	cr_assert_str_eq(err, want);
	snap_close(&r); /* a failed open leaves nothing to free; closing is still safe */
}

Test(snap_format, append_adds_another_writers_sections_in_order)
{
	struct snap_writer part, all;
	uint8_t a[13], b[8];
	fill(a, sizeof(a), 1);
	fill(b, sizeof(b), 2);
	cr_assert_eq(snap_writer_init(&part), 0);
	cr_assert_eq(snap_writer_init(&all), 0);
	cr_assert_eq(snap_put(&all, 1, 0, "x", 1), 0);
	cr_assert_eq(snap_put(&part, 7, 3, a, sizeof(a)), 0, "padded to 16 bytes");
	cr_assert_eq(snap_put(&part, 8, 3, NULL, 0), 0);
	cr_assert_eq(snap_put(&part, 9, 3, b, sizeof(b)), 0);
	cr_assert_eq(snap_writer_append(&all, &part), 0);
	cr_assert_eq(snap_writer_append(&all, &part), -EEXIST, "each section once");

	const uint8_t *bytes;
	size_t len, got;
	struct snap_reader r;
	cr_assert_eq(snap_writer_finish(&all, &bytes, &len), 0);
	cr_assert_eq(snap_parse(&r, bytes, len, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.nsecs, 4);
	const uint8_t *p = snap_get(&r, 7, 3, &got);
	cr_assert(p && got == sizeof(a) && !memcmp(p, a, sizeof(a)));
	cr_assert(snap_get(&r, 8, 3, &got) && got == 0);
	p = snap_get(&r, 9, 3, &got);
	cr_assert(p && got == sizeof(b) && !memcmp(p, b, sizeof(b)));
	cr_assert_eq(snap_writer_append(&part, &all), -EINVAL, "a finished writer is not a part");
	snap_close(&r);
	snap_writer_free(&all);
	snap_writer_free(&part);
}

Test(snap_format, writer_get_finds_a_section_already_added)
{
	struct snap_writer w;
	uint8_t a[13], b[8];
	size_t len = 99;
	fill(a, sizeof(a), 3);
	fill(b, sizeof(b), 4);
	cr_assert_eq(snap_writer_init(&w), 0);
	cr_assert_null(snap_writer_get(&w, 7, 0, &len), "an empty writer has nothing");
	cr_assert_eq(snap_put(&w, 7, 0, a, sizeof(a)), 0, "padded to 16 bytes");
	cr_assert_eq(snap_put(&w, 7, 1, NULL, 0), 0);
	cr_assert_eq(snap_put(&w, 9, 2, b, sizeof(b)), 0);
	const uint8_t *p = snap_writer_get(&w, 9, 2, &len);
	cr_assert(p && len == sizeof(b) && !memcmp(p, b, sizeof(b)), "past a padded section");
	p = snap_writer_get(&w, 7, 0, &len);
	cr_assert(p && len == sizeof(a) && !memcmp(p, a, sizeof(a)));
	cr_assert(snap_writer_get(&w, 7, 1, &len) && len == 0);
	cr_assert_null(snap_writer_get(&w, 9, 0, &len), "the instance counts");
	snap_writer_free(&w);
}
