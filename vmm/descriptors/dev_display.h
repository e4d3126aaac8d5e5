/* --display, --gpu, --screenshot, --input-script: their configuration block
 * (vmm/descriptors/dev_display.c keeps it with device_cfg()). */
#ifndef VMM_DEV_DISPLAY_H
#define VMM_DEV_DISPLAY_H

#include "virtio/display/display_stack.h"
#include "vmm/descriptors/device_table.h"

struct dev_display_cfg {
	struct display_opts opts; /* its screenshot and input_script heap copies the block owns */
	/* The transport in effect at the last --display or --gpu (mmio without either: the
	 * devices --screenshot or --input-script imply). */
	enum virtio_transport transport;
};

extern const struct device_desc device_display;

#endif
