/* Which virtio devices the VM gets, from the configuration. */
#include "vmm/vm.h"
#include "vmm/vm_virtio.h"

int vm_virtio_create_devices(struct vm *vm)
{
	(void)vm;
	return 0;
}
