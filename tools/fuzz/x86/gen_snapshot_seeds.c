/* Writes the seed corpus of fuzz_snapshot: valid snapshot files made by the real writer
 * (snap_writer), each behind the target's mode byte. Usage: fuzz_gen_snapshot_seeds DIR
 * (creates DIR/snapshot/seed-*). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/input-event-codes.h>
#include <linux/virtio_ids.h>

#include "base/snapshot_io.h"
#include "base/x86/snapshot_tags.h"
#include "devices/acpi_pm1.h"
#include "devices/pci/piix4_pm.h"
#include "host/kvm/x86/cpu_model.h"
#include "virtio/core/dev_snapshot.h"
#include "virtio/gpu/snapshot.h"
#include "vmm/snapshot/format/snap_format.h"

static char dir[512];

static void check(int ret, const char *what)
{
	if (ret) {
		fprintf(stderr, "gen_snapshot_seeds: %s: %s\n", what, strerror(-ret));
		exit(1);
	}
}

/* Saves `w` as seed-NAME: the mode byte, then the file snap_writer_save() wrote. */
static void save(struct snap_writer *w, const char *name, uint8_t mode)
{
	char tmp[600], path[600], err[256];
	snprintf(tmp, sizeof(tmp), "%s/.gen.snap", dir);
	if (snap_writer_save(w, tmp, err, sizeof(err))) {
		fprintf(stderr, "gen_snapshot_seeds: %s\n", err);
		exit(1);
	}
	snap_writer_free(w);
	FILE *in = fopen(tmp, "rb");
	snprintf(path, sizeof(path), "%s/seed-%s", dir, name);
	FILE *out = fopen(path, "wb");
	if (!in || !out || fputc(mode, out) == EOF) {
		perror(path);
		exit(1);
	}
	int c;
	while ((c = fgetc(in)) != EOF)
		fputc(c, out);
	fclose(in);
	if (fclose(out)) {
		perror(path);
		exit(1);
	}
	unlink(tmp);
}

static void pattern(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i);
}

/* A device section: struct virtio_dev_priv_hdr, then `len` bytes of model state. */
static void put_device(struct snap_writer *w, uint32_t inst, uint32_t id, const void *model,
		       size_t len)
{
	static uint8_t sec[4096];
	struct virtio_dev_priv_hdr h = {id, 2, 0, (uint32_t)len, 0};

	memcpy(sec, &h, sizeof(h));
	memcpy(sec + sizeof(h), model, len);
	check(snap_put(w, SNAP_VIRTIO_DEV_PRIV, inst, sec, sizeof(h) + len), "put");
}

/* virtio-gpu: events_read and a reserved word, then one 4x4 resource backed at 0x100000 (the
 * fuzzer's fake RAM), shown whole, as the cursor too; pixels a pattern. */
static size_t gpu_model(uint8_t *out)
{
	struct gpu_snap_hdr h = {.magic = GPU_SNAP_MAGIC, .nres = 1, .width = 64, .height = 40};
	struct gpu_snap_res r = {1, VIRTIO_GPU_FORMAT_B8G8R8X8_UNORM, 4, 4, 1, 0};
	struct virtio_gpu_mem_entry e = {.addr = 0x100000, .length = 64};
	size_t n = 8;

	h.scanouts[0] = (struct gpu_snap_scanout){1, 1, {0, 0, 4, 4}};
	h.cursor.resource_id = 1;
	memset(out, 0, n);
	memcpy(out + n, &h, sizeof(h));
	n += sizeof(h);
	memcpy(out + n, &r, sizeof(r));
	n += sizeof(r);
	memcpy(out + n, &e, sizeof(e));
	n += sizeof(e);
	pattern(out + n, 64, 9);
	return n + 64;
}

/* virtio-input (keyboard): ID_NAME selected, Caps Lock on, KEY_A pressed and SYN waiting. */
static size_t input_model(uint8_t *out)
{
	const uint8_t head[8] = {1, 0, 1 << LED_CAPSL, 0, 2, 0, 0, 0};
	const uint16_t ev[8] = {EV_KEY, KEY_A, 1, 0, EV_SYN, SYN_REPORT, 0, 0};

	memcpy(out, head, sizeof(head));
	memcpy(out + sizeof(head), ev, sizeof(ev));
	return sizeof(head) + sizeof(ev);
}

/* virtio-mem (virtio/mem/snapshot.c): addr, region, block and slot sizes, usable, plugged and
 * requested bytes, the block count, then the bitmap; fuzz_snapshot's region is 256 MiB at 4 GiB
 * in 2 MiB blocks and 128 MiB slots. Blocks 0, 1 and 70 plugged (`edit` 0), or a broken variant. */
static size_t mem_model(uint8_t *out, int edit)
{
	uint64_t st[10] = {4ull << 30, 256ull << 20, 2ull << 20, 128ull << 20, 256ull << 20,
			   6ull << 20, 128ull << 20, 128,	 0x3,	       1ull << 6};
	size_t words = 10;

	switch (edit) {
	case 1: /* nothing plugged */
		st[5] = st[8] = st[9] = 0;
		break;
	case 2: /* another region than the configuration's, with a bitmap to match */
		st[1] = 512ull << 20;
		st[7] = 256;
		words = 12;
		break;
	case 3: /* more blocks than the region has */
		st[7] = 192;
		break;
	case 4: /* block 70 plugged outside the usable region */
		st[4] = 128ull << 20;
		break;
	case 5: /* the bitmap counts 3 blocks, plugged_size 2 */
		st[5] = 4ull << 20;
		break;
	case 6: /* the bitmap cut short */
		words = 9;
		break;
	}
	memset(out, 0, words * 8);
	memcpy(out, st, (words < 10 ? words : 10) * 8);
	return words * 8;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
		return 2;
	}
	snprintf(dir, sizeof(dir), "%s/snapshot", argv[1]);
	if (mkdir(dir, 0755) && errno != EEXIST) {
		perror(dir);
		return 1;
	}
	struct snap_writer w;
	uint8_t b[256];

	check(snap_writer_init(&w), "init");
	save(&w, "empty", 3);

	check(snap_writer_init(&w), "init");
	const char *config = "{\"machine-config\":{\"vcpu_count\":1,\"mem_size_mib\":256}}";
	check(snap_put(&w, SNAP_CONFIG, 0, config, strlen(config)), "put");
	pattern(b, 144, 1);
	check(snap_put(&w, SNAP_VCPU_REGS, 0, b, 144), "put");
	for (uint32_t i = 0; i < 3; i++) {
		pattern(b, 64, (uint8_t)(16 * i));
		check(snap_put(&w, SNAP_VM_IRQCHIP, i, b, 64), "put");
	}
	save(&w, "one-vcpu", 3);

	check(snap_writer_init(&w), "init");
	for (uint32_t i = 0; i < 5; i++) {
		pattern(b, 3 + 5 * i, (uint8_t)i);
		check(snap_put(&w, SNAP_DEV_UART + i, 0, b, 3 + 5 * i), "put");
	}
	save(&w, "odd-lengths", 0);

	check(snap_writer_init(&w), "init");
	for (uint32_t cpu = 0; cpu < 2; cpu++) {
		for (uint32_t tag = SNAP_VCPU_REGS; tag <= SNAP_VCPU_CPUID; tag++)
			check(snap_put(&w, tag, cpu, b, tag == SNAP_VCPU_REGS ? 8 : 0), "put");
	}
	check(snap_put(&w, SNAP_VIRTIO_DEV, 7, b, 40), "put");
	save(&w, "two-vcpus", 1);

	uint8_t model[1024];
	check(snap_writer_init(&w), "init");
	put_device(&w, 0, VIRTIO_ID_GPU, model, gpu_model(model));
	put_device(&w, 1, VIRTIO_ID_INPUT, model, input_model(model));
	put_device(&w, 2, VIRTIO_ID_INPUT, model, 8); /* no events waiting */
	save(&w, "display-devices", 3);

	check(snap_writer_init(&w), "init");
	put_device(&w, 0, VIRTIO_ID_MEM, model, mem_model(model, 0));
	put_device(&w, 1, VIRTIO_ID_MEM, model, mem_model(model, 1));
	save(&w, "virtio-mem", 3 | 8); /* 8: fuzz_snapshot reads the memory too */

	/* a CPU model: leaves 0, 1 and 7.0 of an Intel CPU with AVX-512, and three MSRs */
	static struct cpu_model cpu;
	const struct kvm_cpuid2 *t = &cpu.cpuid.header;
	cpu.cpuid.header.nent = 3;
	cpu.cpuid.header.entries[0] = (struct kvm_cpuid_entry2){
	    .function = 0, .eax = 0x16, .ebx = 0x756e6547, .ecx = 0x6c65746e, .edx = 0x49656e69};
	cpu.cpuid.header.entries[1] =
	    (struct kvm_cpuid_entry2){.function = 1, .ecx = 0x7ffefbff, .edx = 0xbfebfbff};
	cpu.cpuid.header.entries[2] = (struct kvm_cpuid_entry2){
	    .function = 7, .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .ebx = 0xd39ffffb};
	const uint32_t msrs[] = {0x10, 0x174, 0xc0000080};
	cpu_model_from(&cpu, t, msrs, 3, true);
	static uint8_t enc[CPU_MODEL_MAX_BYTES];
	size_t n = cpu_model_encode(&cpu, enc, sizeof(enc));
	check(snap_writer_init(&w), "init");
	check(snap_put(&w, SNAP_CPU_MODEL, 0, enc, n), "put");
	save(&w, "cpu-model", 3);

	/* a firmware boot's ACPI PM blocks: a BIOS boot's PM1 and a UEFI boot's PIIX4 PM function,
	 * as a guest leaves them (SCI_EN, PM1_EN's power button bit, OVMF's PMBA 0xb000 decoding)
	 */
	const struct acpi_pm1_state pm1 = {.en = 0x0100, .cnt = 0x0001, .timer = 0x123456};
	const struct piix4_pm_state piix4 = {.pmba = 0xb001, .pmregmisc = 1, .pm1 = pm1};
	check(snap_writer_init(&w), "init");
	check(snap_put(&w, SNAP_DEV_ACPI_PM1, 0, &pm1, sizeof(pm1)), "put");
	check(snap_put(&w, SNAP_DEV_PIIX4_PM, 0, &piix4, sizeof(piix4)), "put");
	save(&w, "acpi-pm", 3);

	check(snap_writer_init(&w), "init");
	for (int edit = 2; edit <= 6; edit++)
		put_device(&w, (uint32_t)edit, VIRTIO_ID_MEM, model, mem_model(model, edit));
	save(&w, "virtio-mem-hostile", 3);
	return 0;
}
