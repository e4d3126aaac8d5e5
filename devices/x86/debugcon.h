/* QEMU's ISA debug console (isa-debugcon) at port 0x402: where SeaBIOS and OVMF's debug builds
 * write their log a byte at a time. A read returns 0xe9, which the firmware checks before it
 * writes (SeaBIOS: QEMU_DEBUGCON_READBACK). Each complete line goes to the VMM's log at debug
 * level (-v), prefixed "firmware: ", and is counted. */
#ifndef DEVICES_X86_DEBUGCON_H
#define DEVICES_X86_DEBUGCON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "base/io_bus.h"

#define PORT_DEBUGCON	  0x402
#define DEBUGCON_READBACK 0xe9
#define DEBUGCON_LINE_MAX 240

struct debugcon {
	pthread_mutex_t lock;
	char line[DEBUGCON_LINE_MAX + 1];
	size_t len;
	uint64_t lines; /* lines logged, for tests */
	/* Called with each complete line (NUL-terminated, no newline) besides the log; may be
	 * NULL. Tests use it. */
	void (*on_line)(void *opaque, const char *line);
	void *opaque;
};

/* Claims port 0x402 on `pio`. Returns 0 or -errno. */
int debugcon_attach(struct debugcon *d, struct io_bus *pio);
/* Logs what is left of a last unfinished line and releases the port. */
void debugcon_detach(struct debugcon *d, struct io_bus *pio);

#endif
