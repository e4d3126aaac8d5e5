/* libFuzzer target: the packed virtqueue (virtio 1.2 2.8) driven by a hostile driver. */
#include "tools/fuzz/fuzz_ring.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fz_ring_run(data, size, true);
}
