/* libFuzzer target: the snapshot container reader (vmm/snapshot/format/snap_format.c).
 * Input: one mode byte, then the file. Mode bit 0 rewrites the trailer's checksum and bit 1 the
 * header's total length to match the rest, so mutations reach the section walk instead of
 * stopping at the checksum; bit 2 writes an accepted file again with the writer and reads it back
 * from disk (round_trip()). The file is copied into an exact-size heap block: ASan sees any read
 * past it.
 * Invariants: a refused file gives -EINVAL (or -ENOMEM) and a message; an accepted one has its
 * sections sorted by (tag, instance) without duplicates, inside the buffer, each found again by
 * snap_get() with the same bytes (all read), and snap_get_exact() copies exactly the section's
 * length and refuses any other with a message.
 * Device sections: every SNAP_VIRTIO_DEV_PRIV section naming virtio-gpu or virtio-input in its
 * header is also handed to that device model's restore (ops->restore of a fresh gpu over fake
 * RAM, with a small resource cap, and of a keyboard), which must refuse or accept it without
 * reading outside it; an accepted gpu state is saved again and must fit its size.
 * virtio-mem sections go to a fresh virtio-mem device over the VMM's real hotplug backend
 * (vmm/vm/memhp.c, a fake KVM slot setter that checks every call) and a 256 MiB region at
 * 4 GiB with 2 MiB blocks (gen_snapshot_seeds.c's geometry): a refused state leaves no block
 * plugged and no KVM slot; an accepted one plugs exactly its blocks (a slot where a piece has
 * one), saves again to the same bytes, and with mode bit 3 its memory is read from two memory
 * files (vmm/snapshot/format/snap_mem.h): one of RAM alone (refused with a message when blocks are
 * plugged) and one with the region (accepted; the bytes land in plugged blocks only). Unplugging
 * everything afterwards must remove every KVM slot.
 * A SNAP_CPU_MODEL section goes to cpu_model_decode() (host/kvm/x86/cpu_model.h): refused with a
 * message or encoded again to the same bytes, and compared with itself and an empty host.
 * A firmware boot's ACPI PM section (SNAP_DEV_ACPI_PM1, SNAP_DEV_PIIX4_PM) of its exact size goes
 * to a fresh block (a PIIX4 PM function on its own bus): refused (-EINVAL) or restored, saved
 * again (the clock stands still) to the same bytes, and never powering the VM off by itself. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/virtio_ids.h>

#include "base/snapshot_io.h"
#include "base/x86/snapshot_tags.h"
#include "devices/acpi_pm1.h"
#include "devices/pci/piix4_pm.h"
#include "host/kvm/x86/cpu_model.h"
#include "tools/fuzz/fuzz_mem.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/gpu/gpu.h"
#include "virtio/input/input.h"
#include "virtio/mem/mem.h"
#include "vmm/snapshot/format/snap_format.h"
#include "vmm/snapshot/format/snap_mem.h"
#include "vmm/vm/memhp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static volatile uint8_t sink;

static void check_section(struct snap_reader *r, const struct snap_section *s, const uint8_t *buf,
			  size_t size)
{
	FZ_ASSERT(s->data >= buf && s->len <= size && (size_t)(s->data - buf) <= size - s->len,
		  "section %u/%u outside the buffer", s->tag, s->instance);
	size_t len = 0;
	const uint8_t *p = snap_get(r, s->tag, s->instance, &len);
	FZ_ASSERT(p == s->data && len == s->len, "snap_get(%u/%u) differs from the index", s->tag,
		  s->instance);
	for (size_t i = 0; i < len; i++)
		sink += p[i]; /* every byte read: ASan checks the bounds */

	static uint8_t out[SNAP_MAX_FILE / 64];
	const size_t tries[] = {len, len + 1, len ? len - 1 : 0, 0, 8, 512};
	char err[128];
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		size_t want = tries[i];
		if (want > sizeof(out))
			continue;
		err[0] = 0;
		int ret = snap_get_exact(r, s->tag, s->instance, out, want, err, sizeof(err));
		FZ_ASSERT(want == len ? ret == 0 : ret == -EINVAL && err[0],
			  "snap_get_exact(%u/%u, %zu) of %zu bytes = %d", s->tag, s->instance, want,
			  len, ret);
		FZ_ASSERT(ret || !want || !memcmp(out, p, want),
			  "snap_get_exact copied other bytes");
	}
}

/* A SNAP_CPU_MODEL section: refused with a message, or decoded within its limits, encoded again to
 * the same bytes, and compared with itself (nothing missing) and with an empty host (every
 * feature it has is missing, the verdict text bounded). */
static void check_cpu_model(const struct snap_section *s)
{
	static struct cpu_model m, empty;
	static struct cpu_verdict v;
	static uint8_t again[CPU_MODEL_MAX_BYTES];
	char err[128] = "", text[256];
	if (s->tag != SNAP_CPU_MODEL)
		return;
	int ret = cpu_model_decode(s->data, s->len, &m, err, sizeof(err));
	FZ_ASSERT(ret == 0 || (ret == -EINVAL && err[0]), "cpu_model_decode = %d", ret);
	if (ret)
		return;
	FZ_ASSERT(m.cpuid.header.nent <= CPUID_MAX_ENTRIES && m.nmsrs <= CPU_MODEL_MAX_MSRS,
		  "decoded counts past the limits");
	size_t n = cpu_model_encode(&m, again, sizeof(again));
	FZ_ASSERT(n == s->len && !memcmp(again, s->data, n), "CPU model does not encode again");
	FZ_ASSERT(cpu_model_compare(&m, &m, &v), "a model does not run on itself");
	cpu_model_compare(&m, &empty, &v);
	FZ_ASSERT(strlen(cpu_verdict_text(&v, text, sizeof(text))) < sizeof(text), "text");
}

static int pm_stops;
static void pm_stop(void *opaque, enum vm_stop_reason why, int status)
{
	(void)opaque, (void)why, (void)status;
	pm_stops++;
}
static const struct vm_control pm_control = {.stop = pm_stop};
static uint64_t pm_clock(void)
{
	return 123456789ull;
}

/* A SNAP_DEV_ACPI_PM1 or SNAP_DEV_PIIX4_PM section into a fresh block (see the top). */
static void check_pm_section(const struct snap_section *s)
{
	static struct io_bus mmio, pio;
	static struct pci_bus bus;
	struct acpi_pm1_state a;
	struct piix4_pm_state f;
	struct acpi_pm1 pm1;
	struct piix4_pm pm;
	int ret;

	if (s->tag == SNAP_DEV_ACPI_PM1 && s->len == sizeof(a)) {
		memcpy(&a, s->data, sizeof(a));
		FZ_ASSERT(acpi_pm1_init(&pm1, &pm_control, "acpi-pm1") == 0, "acpi_pm1_init");
		pm1.now_ns = pm_clock;
		ret = acpi_pm1_restore(&pm1, &a);
		FZ_ASSERT(ret == 0 || ret == -EINVAL, "acpi_pm1_restore = %d", ret);
		if (!ret) {
			acpi_pm1_save(&pm1, &a);
			FZ_ASSERT(!memcmp(&a, s->data, sizeof(a)), "acpi-pm1 does not save again");
		}
		acpi_pm1_destroy(&pm1);
	} else if (s->tag == SNAP_DEV_PIIX4_PM && s->len == sizeof(f)) {
		memcpy(&f, s->data, sizeof(f));
		io_bus_init(&mmio, "mmio");
		io_bus_init(&pio, "pio");
		FZ_ASSERT(pci_bus_init(&bus, &mmio) == 0, "pci_bus_init");
		FZ_ASSERT(piix4_pm_attach(&pm, &bus, &pio, &pm_control) == 0, "piix4_pm_attach");
		pm.pm1.now_ns = pm_clock;
		ret = piix4_pm_restore(&pm, &f);
		FZ_ASSERT(ret == 0 || ret == -EINVAL, "piix4_pm_restore = %d", ret);
		if (!ret) {
			piix4_pm_save(&pm, &f);
			FZ_ASSERT(!memcmp(&f, s->data, sizeof(f)), "piix4-pm does not save again");
		}
		piix4_pm_detach(&pm, &bus);
		pci_bus_destroy(&bus);
		io_bus_destroy(&pio);
		io_bus_destroy(&mmio);
	}
	FZ_ASSERT(pm_stops == 0, "a restore powered the VM off");
}

#define RAM_GPA 0x100000ull /* as gen_snapshot_seeds.c's device sections expect */
#define RAM_LEN (64 * 1024ull)

static struct fz_mem ram;
static struct input_queue events;
static bool events_ready;

/* A fresh device of `id` (gpu or keyboard) restores the model bytes behind the header. */
static void restore_into(uint32_t id, const uint8_t *model, size_t len)
{
	struct virtio_dev *dev = NULL;

	if (!ram.mem.nregions && fz_mem_add(&ram, RAM_GPA, RAM_LEN, 0))
		abort();
	if (id == VIRTIO_ID_GPU && virtio_gpu_create(&dev, NULL, 1u << 20))
		return;
	if (id == VIRTIO_ID_INPUT && !events_ready) {
		if (input_queue_init(&events))
			abort();
		events_ready = true;
	}
	if (id == VIRTIO_ID_INPUT && virtio_input_create(&dev, INPUT_KEYBOARD, &events))
		return;
	if (!dev || virtio_dev_init(dev, &ram.mem))
		abort();
	pthread_mutex_lock(&dev->lock);
	int r = dev->ops->restore(dev, model, len);
	FZ_ASSERT(r == 0 || r == -EINVAL || r == -ENOMEM, "%s restore = %d", dev->name, r);
	if (!r) {
		size_t need = dev->ops->save_size(dev), got = 0;
		uint8_t *out = malloc(need ? need : 1);
		FZ_ASSERT(dev->ops->save(dev, out, need, &got) == 0 && got == need,
			  "%s: a restored state does not save again in its size", dev->name);
		free(out);
	}
	pthread_mutex_unlock(&dev->lock);
	virtio_dev_destroy(dev);
	free(dev);
}

/* ---- virtio-mem: the device state, the backend and the memory file ---- */

#define HP_BASE	  (4ull << 30)
#define HP_REGION (256ull << 20)
#define HP_BLOCK  (2ull << 20)
#define HP_SLOT	  (128ull << 20)
#define HP_SLOTS  (HP_REGION / HP_SLOT)
#define HP_FIRST  16u

static uint64_t hp_slot_size[HP_SLOTS];

static int hp_set_slot(void *opaque, uint32_t slot, uint64_t gpa, uint64_t size, void *host)
{
	(void)opaque;
	(void)host;
	FZ_ASSERT(slot >= HP_FIRST && slot < HP_FIRST + HP_SLOTS, "KVM slot %u", slot);
	FZ_ASSERT(gpa == HP_BASE + (slot - HP_FIRST) * HP_SLOT, "slot %u at 0x%llx", slot,
		  (unsigned long long)gpa);
	FZ_ASSERT(size == 0 || size == HP_SLOT, "slot %u of %llu bytes", slot,
		  (unsigned long long)size);
	FZ_ASSERT(!size != !hp_slot_size[slot - HP_FIRST], "slot %u set twice or deleted twice",
		  slot);
	hp_slot_size[slot - HP_FIRST] = size;
	return 0;
}

/* This process's scratch folder, made on first use under $TMPDIR (else /tmp) and removed with
 * its files when the process exits: the memory files below and the round trip's snapshot. */
static char scratch[PATH_MAX], hp_short[PATH_MAX], hp_full[PATH_MAX], rt_path[PATH_MAX];

static void scratch_remove(void)
{
	unlink(hp_short);
	unlink(hp_full);
	unlink(rt_path);
	rmdir(scratch);
}

/* `name` in the scratch folder into out[PATH_MAX]. */
static void scratch_file(char *out, const char *name)
{
	if (!scratch[0]) {
		const char *tmp = getenv("TMPDIR");
		int n = snprintf(scratch, sizeof(scratch), "%s/fuzz-snapshot-XXXXXX",
				 tmp && tmp[0] ? tmp : "/tmp");
		if (n < 0 || (size_t)n >= sizeof(scratch) - 16 || !mkdtemp(scratch))
			abort();
		atexit(scratch_remove);
	}
	snprintf(out, PATH_MAX, "%s/%s", scratch, name);
}

/* The memory files: RAM alone, and RAM then the region with a marked byte at the start of each
 * block (a sparse file: one page of data per block). */
static void hp_files(void)
{
	int fd;

	if (hp_short[0])
		return;
	scratch_file(hp_short, "short");
	scratch_file(hp_full, "full");
	fd = open(hp_short, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, RAM_LEN) || close(fd))
		abort();
	fd = open(hp_full, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, RAM_LEN + HP_REGION))
		abort();
	for (uint64_t b = 0; b < HP_REGION / HP_BLOCK; b++) {
		uint8_t mark = (uint8_t)(b + 1);
		if (pwrite(fd, &mark, 1, (off_t)(RAM_LEN + b * HP_BLOCK)) != 1)
			abort();
	}
	if (close(fd))
		abort();
}

static bool hp_plugged(const struct guest_mem *mem, uint64_t b)
{
	return guest_mem_valid(mem, HP_BASE + b * HP_BLOCK, HP_BLOCK);
}

/* An accepted state: its memory read from both files. */
static void hp_load(const struct guest_mem *mem, const struct memhp *hp)
{
	uint64_t plugged = snap_memhp_plugged(mem);
	char err[256] = "";
	int fd = open(hp_short, O_RDONLY);
	int r = snap_memhp_load(mem, fd, err, sizeof(err));

	FZ_ASSERT(plugged ? r == -EINVAL && err[0] : r == 0, "a short file: %d \"%s\"", r, err);
	close(fd);
	fd = open(hp_full, O_RDONLY);
	r = snap_memhp_load(mem, fd, err, sizeof(err));
	FZ_ASSERT(r == 0, "the full file: %d \"%s\"", r, err);
	close(fd);
	for (uint64_t b = 0; b < HP_REGION / HP_BLOCK; b++) {
		uint8_t want = hp_plugged(mem, b) ? (uint8_t)(b + 1) : 0;
		FZ_ASSERT(hp->host[b * HP_BLOCK] == want, "block %llu reads %u, not %u",
			  (unsigned long long)b, hp->host[b * HP_BLOCK], want);
	}
}

/* The region and its backend, made once (a 256 MiB mapping per input would cost more than the
 * rest of the target); emptied after each input by unplugging what it plugged. */
static struct {
	struct guest_mem mem;
	struct memhp hp;
	bool ready;
} hpx;

static void hp_setup(void)
{
	static const struct memhp_region o = {HP_REGION, HP_BLOCK, HP_SLOT};
	static uint8_t hp_ram[RAM_LEN] __attribute__((aligned(4096)));

	if (hpx.ready)
		return;
	hp_files();
	if (guest_mem_add_region(&hpx.mem, 0, hp_ram, RAM_LEN) ||
	    memhp_init(&hpx.hp, &hpx.mem, HP_BASE, &o, HP_FIRST,
		       &(struct memhp_slots){hp_set_slot, NULL}))
		abort();
	hpx.ready = true;
}

/* Every plugged run unplugged again (its pages dropped: zeros for the next input), every KVM
 * slot gone. */
static void hp_empty(void)
{
	for (uint64_t b = 0; b < HP_REGION / HP_BLOCK; b++) {
		if (hp_plugged(&hpx.mem, b))
			FZ_ASSERT(memhp_unplug(&hpx.hp, HP_BASE + b * HP_BLOCK, HP_BLOCK) == 0,
				  "unplug of block %llu", (unsigned long long)b);
	}
	for (uint64_t s = 0; s < HP_SLOTS; s++)
		FZ_ASSERT(!hp_slot_size[s], "slot %llu left after every block went",
			  (unsigned long long)s);
}

/* The device's word against the memory's: the same plugged bytes, a KVM slot exactly where a
 * slot-sized piece has a plugged block. */
static void hp_consistent(struct virtio_dev *dev)
{
	struct virtio_mem_info i;

	virtio_mem_get_info(dev, &i);
	FZ_ASSERT(i.plugged_size == snap_memhp_plugged(&hpx.mem),
		  "the device says %llu bytes plugged, the memory %llu",
		  (unsigned long long)i.plugged_size,
		  (unsigned long long)snap_memhp_plugged(&hpx.mem));
	for (uint64_t s = 0; s < HP_SLOTS; s++) {
		bool any = false;
		for (uint64_t b = s * (HP_SLOT / HP_BLOCK); b < (s + 1) * (HP_SLOT / HP_BLOCK); b++)
			any |= hp_plugged(&hpx.mem, b);
		FZ_ASSERT(any == !!hp_slot_size[s], "slot %llu present %d, blocks plugged %d",
			  (unsigned long long)s, !!hp_slot_size[s], any);
	}
}

/* `load` (mode bit 3): an accepted state's memory is read from the two files too. */
static void restore_mem(const uint8_t *model, size_t len, bool load)
{
	static const struct virtio_mem_opts o = {HP_REGION, HP_BLOCK, HP_SLOT, 0};
	struct virtio_dev *dev = NULL;

	hp_setup();
	if (virtio_mem_create(&dev, &o, HP_BASE,
			      &(struct virtio_mem_backend){memhp_plug, memhp_unplug, &hpx.hp}) ||
	    virtio_dev_init(dev, &hpx.mem))
		abort();
	pthread_mutex_lock(&dev->lock);
	int r = dev->ops->restore(dev, model, len);
	FZ_ASSERT(r == 0 || r == -EINVAL, "virtio-mem restore = %d", r);
	pthread_mutex_unlock(&dev->lock);
	FZ_ASSERT(r == 0 || !snap_memhp_plugged(&hpx.mem), "a refused state plugged blocks");
	hp_consistent(dev);
	if (!r) {
		uint8_t *again = malloc(len ? len : 1);
		size_t got = 0;
		pthread_mutex_lock(&dev->lock);
		FZ_ASSERT(dev->ops->save(dev, again, len, &got) == 0 && got == len &&
			      !memcmp(again, model, len),
			  "a restored virtio-mem state saves other bytes");
		pthread_mutex_unlock(&dev->lock);
		free(again);
		if (load)
			hp_load(&hpx.mem, &hpx.hp);
	}
	virtio_dev_destroy(dev);
	free(dev);
	hp_empty();
}

static void check_device_section(const struct snap_section *s, bool mem_load)
{
	struct virtio_dev_priv_hdr h;

	if (s->tag != SNAP_VIRTIO_DEV_PRIV || s->len < sizeof(h))
		return;
	memcpy(&h, s->data, sizeof(h));
	if (h.device_id == VIRTIO_ID_GPU || h.device_id == VIRTIO_ID_INPUT)
		restore_into(h.device_id, s->data + sizeof(h), s->len - sizeof(h));
	if (h.device_id == VIRTIO_ID_MEM)
		restore_mem(s->data + sizeof(h), s->len - sizeof(h), mem_load);
}

/* Mode bit 2: an accepted file is written again section by section (snap_put, then
 * snap_writer_save into this process's scratch folder) and read back with snap_open(): the same
 * sections with the same bytes; a second put of a section is -EEXIST. */
static void round_trip(const struct snap_reader *r)
{
	const char *path = rt_path;
	struct snap_writer w;
	struct snap_reader back;
	char err[256];

	if (!rt_path[0])
		scratch_file(rt_path, "snap");
	if (snap_writer_init(&w))
		abort();
	for (size_t i = 0; i < r->nsecs; i++) {
		const struct snap_section *s = &r->secs[i];
		int ret = snap_put(&w, s->tag, s->instance, s->data, s->len);
		FZ_ASSERT(ret == 0 || ret == -E2BIG, "snap_put(%u/%u) = %d", s->tag, s->instance,
			  ret);
		if (ret) {
			snap_writer_free(&w);
			return;
		}
	}
	if (r->nsecs) {
		const struct snap_section *s = &r->secs[0];
		FZ_ASSERT(snap_put(&w, s->tag, s->instance, NULL, 0) == -EEXIST, "a duplicate put");
	}
	FZ_ASSERT(snap_writer_save(&w, path, err, sizeof(err)) == 0, "save: %s", err);
	snap_writer_free(&w);
	FZ_ASSERT(snap_open(&back, path, err, sizeof(err)) == 0, "the written file: %s", err);
	FZ_ASSERT(back.nsecs == r->nsecs, "%zu sections read back, %zu written", back.nsecs,
		  r->nsecs);
	for (size_t i = 0; i < r->nsecs; i++) {
		size_t len = 0;
		const void *p = snap_get(&back, r->secs[i].tag, r->secs[i].instance, &len);
		FZ_ASSERT(p && len == r->secs[i].len && !memcmp(p, r->secs[i].data, len),
			  "section %u/%u differs after the round trip", r->secs[i].tag,
			  r->secs[i].instance);
	}
	snap_close(&back);
	unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	size--;
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data + 1, size);
	if ((mode & 2) && size >= SNAP_HEADER_SIZE)
		put_le(buf + 16, size, 8);
	if ((mode & 1) && size >= SNAP_HEADER_SIZE + SNAP_TRAILER_SIZE)
		put_le(buf + size - SNAP_TRAILER_SIZE, snap_crc32(buf, size - SNAP_TRAILER_SIZE),
		       4);

	struct snap_reader r;
	char err[256] = "";
	int ret = snap_parse(&r, buf, size, err, sizeof(err));
	FZ_ASSERT(ret == 0 || ((ret == -EINVAL || ret == -ENOMEM) && err[0]),
		  "snap_parse = %d, message \"%s\"", ret, err);
	if (!ret) {
		FZ_ASSERT(r.nsecs <= SNAP_MAX_SECTIONS, "%zu sections", r.nsecs);
		for (size_t i = 0; i < r.nsecs; i++) {
			const struct snap_section *s = &r.secs[i];
			FZ_ASSERT(i == 0 || ((uint64_t)s[-1].tag << 32 | s[-1].instance) <
						((uint64_t)s->tag << 32 | s->instance),
				  "index not sorted or duplicate at %zu", i);
			check_section(&r, s, buf, size);
			check_cpu_model(s);
			check_pm_section(s);
			check_device_section(s, mode & 8);
		}
		FZ_ASSERT(!snap_get(&r, 0xFFFFFFFFu, 0xFFFFFFFFu, NULL) || r.nsecs,
			  "a section found in an empty snapshot");
		if (mode & 4)
			round_trip(&r);
		snap_close(&r);
	}
	free(buf);
	return 0;
}
