/* The device table (see vmm/device_table.h): one line per device, in the order the guest sees
 * them. */
#include "vmm/device_table.h"

extern const struct device_desc device_disk, device_net, device_console, device_rng, device_display;

const struct device_desc *const device_table[] = {
    &device_disk,    /* /dev/vda, /dev/vdb, ... */
    &device_net,     /* eth0, ... */
    &device_console, /* hvc0 with --console virtio */
    &device_rng,
    &device_display, /* gpu, keyboard, tablet */
    NULL,
};
