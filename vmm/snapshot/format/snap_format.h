/* The snapshot file: a versioned, self-describing container of the sections every layer saves
 * through base/snapshot_io.h. Little-endian throughout:
 *
 *   header   8 bytes magic "VMMSNAP\0", u32 format version (1), u32 flags (0), u64 total length
 *            of the file (header, sections and trailer)
 *   sections u32 tag, u32 instance, u64 length, `length` bytes, zeros up to a multiple of 8
 *   trailer  u32 CRC32 (IEEE 802.3, as zlib's crc32()) of every byte before it, u32 end magic
 *            "SEND"
 *
 * A file is untrusted input: the reader checks every length against the buffer before it uses
 * it, refuses duplicate sections, unknown flags, other versions and a wrong checksum, and never
 * reads outside the buffer it was given. Sections are looked up by (tag, instance); their order
 * in the file does not matter. */
#ifndef VMM_SNAPSHOT_SNAP_FORMAT_H
#define VMM_SNAPSHOT_SNAP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#define SNAP_MAGIC	    "VMMSNAP"	/* with its NUL: 8 bytes */
#define SNAP_END_MAGIC	    0x444e4553u /* "SEND" read as a little-endian u32 */
#define SNAP_FORMAT_VERSION 1u
#define SNAP_HEADER_SIZE    24u
#define SNAP_SECTION_HDR    16u
#define SNAP_TRAILER_SIZE   8u
#define SNAP_MAX_SECTIONS   4096u
/* Bytes; larger files are refused. 64 MiB for the VM plus room for a virtio-gpu's resources
 * (VIRTIO_DEV_PRIV_LIMIT, virtio/core/dev_snapshot.h: 257 MiB): a restore reads the whole file. */
#define SNAP_MAX_FILE ((64u << 20) + (257u << 20))

/* A snapshot being written: the header and sections in a growable buffer, plus the keys of the
 * sections already added (to refuse duplicates). Fields are private to snap_format.c. */
struct snap_writer {
	uint8_t *buf;
	size_t len, cap;
	uint64_t *keys; /* (tag << 32) | instance, in the order added */
	size_t nkeys, keys_cap;
	int finished; /* snap_writer_finish() appended the trailer */
};

/* One section of a parsed snapshot: its bytes point into the reader's buffer. */
struct snap_section {
	uint32_t tag, instance;
	const uint8_t *data;
	size_t len;
};

/* A parsed snapshot: an index of its sections sorted by (tag, instance). Callers may walk
 * secs[0..nsecs) to list the sections (tools, the fuzzer); the other fields are private to
 * snap_format.c. The section bytes stay valid until snap_close(). */
struct snap_reader {
	const uint8_t *buf;
	size_t len;
	uint8_t *owned; /* the file's bytes when snap_open() read them */
	char *name;	/* the file name for messages (snap_open), or NULL */
	struct snap_section *secs;
	size_t nsecs;
};

/* CRC32 (IEEE 802.3, reflected, polynomial 0xEDB88320) of `len` bytes: zlib's crc32_z(). */
uint32_t snap_crc32(const void *buf, size_t len);

/* Starts an empty snapshot. Returns 0 or -ENOMEM. */
int snap_writer_init(struct snap_writer *w);

/* Adds section (tag, instance) with a copy of `len` bytes of `data` (data may be NULL when len is
 * 0). `w` is a struct snap_writer (the signature is snap_put_fn). Returns 0, -EEXIST when the
 * snapshot already has that (tag, instance), -E2BIG past SNAP_MAX_SECTIONS sections or when the
 * file would outgrow SNAP_MAX_FILE, -EBUSY after snap_writer_finish(), -ENOMEM. */
int snap_put(void *w, uint32_t tag, uint32_t instance, const void *data, size_t len);

/* Adds every section of `src` (not finished) to `dst`, in order, as snap_put() would: a part of
 * a snapshot collected apart (a vCPU thread's own state, vm_pause.h). Returns 0, -EINVAL for a
 * finished `src`, or snap_put()'s error (sections added before it stay). */
int snap_writer_append(struct snap_writer *dst, const struct snap_writer *src);

/* Writes the snapshot to `path` atomically: header, sections and trailer go to "PATH.tmp", which
 * is fsync'ed and renamed to `path` (and the directory fsync'ed), so a crash leaves either the
 * old file or the complete new one under `path`, never a partial one. On failure the temporary
 * is removed. The writer stays usable. Returns 0 or -errno with a message naming the file in
 * `err`. */
int snap_writer_save(struct snap_writer *w, const char *path, char *err, size_t errlen);

/* Finishes the snapshot in memory instead of a file (a live migration streams it): sets the
 * header's total length and appends the trailer, then points *bytes at the whole image (header,
 * sections, trailer: what snap_parse() takes) and sets *len. No section may be added afterwards
 * (snap_put() then returns -EBUSY). The bytes stay valid until snap_writer_free(). Returns 0 or
 * -ENOMEM. */
int snap_writer_finish(struct snap_writer *w, const uint8_t **bytes, size_t *len);

/* The bytes of section (tag, instance) already added to `w` (not finished) and their count in
 * *len, or NULL. Valid until the next snap_put() on `w`. */
const void *snap_writer_get(const struct snap_writer *w, uint32_t tag, uint32_t instance,
			    size_t *len);

/* Frees the writer's buffers and zeroes it (safe on a zeroed or already freed writer). */
void snap_writer_free(struct snap_writer *w);

/* Parses `len` bytes at `buf` (which must stay valid until snap_close(); they are not copied):
 * checks the magic, the version ("snapshot format version N, this vmm reads 1"), the flags, the
 * total length against `len` ("truncated: header says N bytes, file has M"), the trailer's end
 * magic and checksum ("checksum mismatch"), and every section's header, length and padding
 * against the buffer with overflow-checked arithmetic; refuses more than SNAP_MAX_SECTIONS
 * sections and duplicate (tag, instance) pairs; then indexes the sections. Returns 0, -EINVAL
 * (bad content, with a message in `err`) or -ENOMEM. On failure `r` holds nothing to free. */
int snap_parse(struct snap_reader *r, const void *buf, size_t len, char *err, size_t errlen);

/* Reads the file at `path` (a regular file of at most SNAP_MAX_FILE bytes) and parses it with
 * snap_parse(). Messages start with the path. Returns 0, -EINVAL (bad content or size), -errno
 * of open/read, or -ENOMEM. */
int snap_open(struct snap_reader *r, const char *path, char *err, size_t errlen);

/* The bytes of section (tag, instance) and their count in *len (when len is not NULL), or NULL
 * when the snapshot has no such section. `r` is a struct snap_reader (the signature is
 * snap_get_fn). A section of 0 bytes gives a non-NULL pointer. */
const void *snap_get(void *r, uint32_t tag, uint32_t instance, size_t *len);

/* Copies section (tag, instance), which must exist and have exactly `len` bytes, to `out`.
 * Returns 0 or -EINVAL with "snapshot has no section TAG/INSTANCE" or "section TAG/INSTANCE has
 * N bytes, want M" (prefixed with the file name when known) in `err`. */
int snap_get_exact(struct snap_reader *r, uint32_t tag, uint32_t instance, void *out, size_t len,
		   char *err, size_t errlen);

/* Frees what snap_parse()/snap_open() allocated and zeroes the reader (safe on a zeroed
 * reader). Pointers from snap_get() are invalid afterwards. */
void snap_close(struct snap_reader *r);

#endif
