/* The configuration's defaults. */
#include "vmm/config/vm_config.h"

void vm_config_init(struct vm_config *cfg)
{
	*cfg = (struct vm_config){
	    .mem_size = VM_DEFAULT_MEM,
	    .ncpus = 1,
	    .kvm_path = "/dev/kvm",
	    .append = "",
	    .io_poll_us = VM_IO_POLL_AUTO,
	};
}
