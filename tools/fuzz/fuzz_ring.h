/* The virtqueue fuzz engine shared by fuzz_split_ring and fuzz_packed_ring: decodes a queue
 * configuration and a program of driver and device operations from the input and runs it
 * against virtio/queue/virtqueue.h over fake guest RAM, checking invariants after every step. */
#ifndef TOOLS_FUZZ_FUZZ_RING_H
#define TOOLS_FUZZ_FUZZ_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int fz_ring_run(const uint8_t *data, size_t size, bool packed);

#endif
