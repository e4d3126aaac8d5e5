/* Writes the seed corpus of fuzz_snapshot: valid snapshot files made by the real writer
 * (snap_writer), each behind the target's mode byte. Usage: fuzz_gen_snapshot_seeds DIR
 * (creates DIR/snapshot/seed-*). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/base/snapshot_io.h"
#include "vmm/snapshot/snap_format.h"

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
	return 0;
}
