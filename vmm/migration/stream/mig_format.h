/* The live-migration stream: a versioned sequence of checksummed frames over a byte stream (a
 * Unix or TCP socket). Little-endian throughout. Every frame is
 *
 *   u32 type, u32 payload length (at most MIG_MAX_PAYLOAD), u32 CRC32 of the type, the length
 *   and the payload (IEEE 802.3, as snap_crc32()), then the payload.
 *
 * The source sends, in this order:
 *   HELLO  magic "VMMMIGR\0", u32 version, u32 flags (MIG_HELLO_LOCAL), u32 vCPUs, u32 regions,
 *          u64 RAM bytes, per region u64 guest-physical start and u64 size, u32 length of the
 *          configuration and the configuration (the JSON of the snapshot's SNAP_CONFIG section);
 *          with MIG_HELLO_CPU then u32 length and the CPU model the guest saw (vCPU 0's CPUID,
 *          host/kvm/x86/cpu_model.h), which the destination checks before anything else
 *   MEM    u32 region, u32 flags (MIG_MEM_ZERO), u64 byte offset in the region, u32 pages,
 *          u32 0, then pages * 4096 bytes unless ZERO (a run of zero pages carries no bytes)
 *   ROUND  u32 round (1, 2, ...), u32 0, u64 pages sent since the previous marker: ends a round
 *   MEMFD  local migration only, instead of every MEM: u64 RAM bytes; the guest RAM's memfd
 *          travels with the frame as SCM_RIGHTS (regions back to back from offset 0); with
 *          MIG_HELLO_PREMAP sent before the source pauses, and answered by a RESULT (below)
 *   TAPFD  with MIG_HELLO_TAPFDS, after the pause: u32 NIC index (its place among the
 *          configuration's --net NICs), u32 0; the NIC's tap fd travels as SCM_RIGHTS
 *   STATE  a piece of the final state: the snapshot state file's bytes (snap_format.h), cut
 *          into frames; the pieces concatenated are one state image for snap_parse()
 *   END    u64 frames and u64 payload bytes sent before it (both sides count them)
 *   ERROR  u32 errno, message: the source gives up (cancelled, failed); the receiver stops
 * and the destination answers with
 *   RESULT u32 status (0: the VM is restored and ready to run, else an errno), message; with
 *          MIG_HELLO_PREMAP a first RESULT answers MEMFD (0: the memory is mapped, the source
 *          may pause; else why the destination gives up)
 * to which the source answers COMMIT (no payload): from then on the destination owns the VM and
 * the source never resumes it. A destination that gets no COMMIT never runs the guest.
 *
 * Everything received is untrusted: the decoders here check every length, count and offset
 * against the payload and the announced machine before anything is used. */
#ifndef VMM_MIGRATION_MIG_FORMAT_H
#define VMM_MIGRATION_MIG_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "base/guest_mem.h"

#define MIG_MAGIC	"VMMMIGR" /* with its NUL: 8 bytes */
#define MIG_VERSION	1u
#define MIG_PAGE	4096u
#define MIG_FRAME_HDR	12u
#define MIG_MAX_RUN	256u /* pages per MEM frame */
#define MIG_MEM_HDR	24u
#define MIG_MAX_PAYLOAD (MIG_MEM_HDR + MIG_MAX_RUN * MIG_PAGE)
/* what HELLO leaves for the configuration: room for the regions and a CPU model too */
#define MIG_MAX_CONFIG                                                                             \
	(MIG_MAX_PAYLOAD - 64u - 16u * GUEST_MEM_MAX_REGIONS - 4u - MIG_MAX_CPU_MODEL)
#define MIG_MAX_MSG	512u /* bytes of an ERROR or RESULT message */
#define MIG_MAX_VCPUS	256u
#define MIG_HELLO_LOCAL 1u
/* With LOCAL: MEMFD comes while the source's guest still runs, and the destination answers it
 * with RESULT 0 once it has mapped the file (and populated its page tables with the pages the
 * file holds); only then does the source pause. Without it (an older source) MEMFD comes after
 * the pause and gets no answer. */
#define MIG_HELLO_PREMAP 2u
/* TAPFD frames follow the pause (a Unix socket on this host): the NICs' taps are handed over,
 * not reopened by name (a single-queue tap takes one process at a time). */
#define MIG_HELLO_TAPFDS 4u
/* HELLO carries the guest's CPU model after the configuration (docs/cpu.md). A destination
 * older than it refuses the flag (so never receives a guest unchecked); a HELLO without it
 * (an older source) is received with a warning. */
#define MIG_HELLO_CPU	  8u
#define MIG_MAX_CPU_MODEL (16u + 256u * 32u) /* CPUID_MAX_ENTRIES entries, no MSR list */
#define MIG_HELLO_FLAGS	  (MIG_HELLO_LOCAL | MIG_HELLO_PREMAP | MIG_HELLO_TAPFDS | MIG_HELLO_CPU)
#define MIG_MAX_TAPFDS	  16u /* NIC indexes a TAPFD frame may name: 0..15 */
#define MIG_TAPFD_LEN	  8u
#define MIG_MEM_ZERO	  1u

enum mig_frame_type {
	MIG_F_HELLO = 1,
	MIG_F_MEM = 2,
	MIG_F_ROUND = 3,
	MIG_F_MEMFD = 4,
	MIG_F_STATE = 5,
	MIG_F_END = 6,
	MIG_F_ERROR = 7,
	MIG_F_RESULT = 8,
	MIG_F_COMMIT = 9,
	MIG_F_TAPFD = 10,
};

/* The VM's shape as the stream announces it. `config` points into the decoded payload. */
struct mig_hello {
	uint32_t version, flags, nvcpus, nregions;
	uint64_t ram_size;
	struct {
		uint64_t gpa, size;
	} regions[GUEST_MEM_MAX_REGIONS];
	const char *config;
	uint32_t config_len;
	const uint8_t *cpu_model; /* with MIG_HELLO_CPU; points into the payload */
	uint32_t cpu_model_len;
};

/* A MEM frame's header. */
struct mig_mem {
	uint32_t region, flags, npages;
	uint64_t offset;
};

/* ROUND, END, ERROR and RESULT. `msg` points into the payload (not NUL-terminated). */
struct mig_round {
	uint32_t round;
	uint64_t pages;
};
struct mig_end {
	uint64_t frames, bytes;
};
struct mig_status {
	uint32_t code;
	const char *msg;
	uint32_t msg_len;
};

/* Little-endian helpers. */
void mig_put_le(uint8_t *p, uint64_t v, int bytes);
uint64_t mig_get_le(const uint8_t *p, int bytes);

/* The shape of `mem` (its regions and RAM size) into `h` (config and vCPUs left to the caller). */
void mig_hello_from_mem(struct mig_hello *h, const struct guest_mem *mem);

/* Encoders: write the payload into `buf` (of `cap` bytes) and return its length, or 0 when it
 * does not fit or a field is out of range (config longer than MIG_MAX_CONFIG, too many regions). */
size_t mig_hello_encode(const struct mig_hello *h, uint8_t *buf, size_t cap);
size_t mig_mem_encode(const struct mig_mem *m, uint8_t *buf, size_t cap);
size_t mig_round_encode(const struct mig_round *r, uint8_t *buf, size_t cap);
size_t mig_end_encode(const struct mig_end *e, uint8_t *buf, size_t cap);
/* ERROR and RESULT: the message is cut at MIG_MAX_MSG bytes. */
size_t mig_status_encode(uint32_t code, const char *msg, uint8_t *buf, size_t cap);

/* Decoders of untrusted payloads: return 0, or -EINVAL with the reason in err.
 * HELLO: magic, version ("stream version N, this vmm reads 1"), known flags, 1..MIG_MAX_VCPUS
 * vCPUs, 1..GUEST_MEM_MAX_REGIONS regions, each a non-empty whole number of pages, ascending
 * and not overlapping, summing to ram_size, the configuration's length within the payload, with
 * MIG_HELLO_CPU a CPU model of at most MIG_MAX_CPU_MODEL bytes (decoded by its user), and
 * nothing after them. */
int mig_hello_decode(const uint8_t *p, size_t len, struct mig_hello *h, char *err, size_t errlen);
/* MEM: the region exists in `h`, the offset is page-aligned, 1..MIG_MAX_RUN pages inside the
 * region (overflow-checked), only known flags, and the payload carries exactly the pages' bytes
 * (none for ZERO). */
int mig_mem_decode(const uint8_t *p, size_t len, const struct mig_hello *h, struct mig_mem *m,
		   char *err, size_t errlen);
int mig_round_decode(const uint8_t *p, size_t len, struct mig_round *r, char *err, size_t errlen);
int mig_end_decode(const uint8_t *p, size_t len, struct mig_end *e, char *err, size_t errlen);
/* ERROR and RESULT: a message of at most MIG_MAX_MSG printable bytes. */
int mig_status_decode(const uint8_t *p, size_t len, struct mig_status *s, char *err, size_t errlen);

/* The frame type's name for messages ("HELLO", ..., "unknown"). */
const char *mig_frame_name(uint32_t type);

#endif
