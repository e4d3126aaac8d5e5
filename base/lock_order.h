/* The locks of the VMM and the one order in which they may be nested. No code; this header is
 * the reference that every lock's owner points to.
 *
 * Rule: a thread holding a lock may take only locks that come LATER in this list. A lock marked
 * "leaf" is never held while another lock is taken. Nobody blocks (waits for I/O, for room in a
 * buffer, for another thread) while holding a device lock: a vCPU may be waiting for it. One
 * exception, bounded: a vhost-user device (virtio/vhost_user/vu_device.c) sends its back-end the
 * set-up messages (DRIVER_OK's hand-over, reset, reconnect, SET_VRING_CALL when an MSI-X vector
 * is masked, unmasked or moved) under its device lock, and under the PCI bus lock when the
 * guest's configuration write (MSI-X enable, function mask) caused it, waiting at most the
 * device's reply time (5 s) for a back-end that does not answer; a back-end that stalls stalls
 * those accesses, never the data path.
 *
 *  1. struct pci_bus.lock (devices/pci/pci.h): configuration space accesses. Held while a
 * function's config handler runs, which may take its virtio device lock
 * (virtio/transport/virtio_pci.c) and move BARs (io_bus lock, KVM ioeventfd ioctls).
 *  2. struct virtio_dev.lock (virtio/core/device.h), and the lock of each legacy device (uart8250,
 *     i8042, rtc_cmos): everything driver-visible of one device. Taken by the transport around a
 *     register access and by the device's I/O thread around every callback. Two device locks
 *     are never held together.
 *  2a. struct virtio_group.own_lock (virtio/core/device.h), multiqueue devices only: the serving
 *     state of one queue group, held by the group's I/O thread around its callbacks. Taken after
 *     its device's lock (a reset or activation takes dev->lock, then every group ascending) and
 *     in ascending group order (a callback of group g may take groups > g, e.g. virtio-net's
 *     control queue in group 0). A thread holding a group lock never takes dev->lock: the
 *     interrupts its callbacks raise are deferred until it let go (virtio_group_flush).
 *  3. Locks a device takes inside its callbacks, each a leaf with respect to the others:
 *     - struct vm_pci.route_lock (vmm/vm/vm_pci.h): the GSI routing table (MSI-X writes);
 *     - struct io_bus.lock (base/io_bus.h, rwlock): only around a range lookup or a
 *       (un)registration, never across a device callback;
 *     - struct vconsole.in_lock (virtio/console/console.c): host input held for the guest;
 *     - struct input_queue.lock (virtio/input/events.h): pending input events;
 *     - struct pmem_flusher.lock (virtio/pmem/internal.h): the flush generations of a
 *       virtio-pmem device; its flush thread takes it alone, never with dev->lock, and fsync()s
 *       with no lock held; a pause waits on its condition variable under dev->lock (the thread
 *       never needs dev->lock to finish);
 *     - struct rtc_alarm.lock (vmm/vm/rtc_alarm.h): a clock alarm's host timer; the PL031's armed
 *       callback takes it (rtc_alarm_kick()) after dropping the device lock, and its thread
 *       never holds it while it asks the device;
 *     - struct display.lock (host/ui/display.c): the framebuffer; its listener runs under it and
 *       must not take a device lock;
 *     - struct console.lock (host/ui/console.h): the output ring. Under a device lock only through
 *       console_try_write() (never waits); console_write() may wait for room and is for callers
 *       holding no device lock: the 8250 queues its output under its lock and writes it after
 *       dropping it (devices/uart8250.h; the waiting is the guest's back-pressure). Its space
 *       notifier runs under it and may only write an eventfd.
 *  4. struct vm.stop_lock (vmm/vm/vm.h): leaf; vm_control_stop() from any thread. vm_stop()
 *     drops it before it wakes and kicks the vCPUs, and vm_run() waits under it (a condition
 *     variable) for those kicks to end before it joins the vCPU threads.
 *  5. The metrics lock (vmm/vm/metrics.c): leaf; taken by the API and the flush thread with no
 * other lock held. Building a document under it reads only atomic counters.
 *  6. struct mmds.lock (vmm/mmds/mmds.h): leaf; the MMDS store, tokens and configuration.
 * Taken by the API thread under the router's lock and by a NIC's transmit path under its device or
 * group lock; nothing is called out of it.
 *
 * The I/O thread's pause handshake (virtio_dev_pause, when present) waits with no device lock
 * held. */
#ifndef VMM_LOCK_ORDER_H
#define VMM_LOCK_ORDER_H
#endif
