/* Framework-internal calls between device.c and io_thread.c for queue groups (the locking rules
 * are at the top of virtio/core/device.h). Device models do not use these. */
#ifndef VIRTIO_CORE_GROUP_H
#define VIRTIO_CORE_GROUP_H

#include "virtio/core/device.h"

/* Marks this thread as serving group g: with several groups, interrupts and failures from the
 * callbacks it runs are recorded in the group instead of carried out (they need dev->lock). */
void virtio_group_enter(struct virtio_dev *dev, unsigned g);
void virtio_group_leave(void);

/* Carries out what the group recorded: takes dev->lock (and, for a failure, every group lock),
 * so call it holding no lock, after virtio_group_leave(). */
void virtio_group_flush(struct virtio_dev *dev, struct virtio_group *grp);

#endif
