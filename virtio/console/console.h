/* virtio-console (virtio 1.2 section 5.3), port 0 only: the guest's hvc0 on a host struct console
 * (host/ui/console.h, the same backend the 8250 uses).
 *
 * Queues: receiveq0 (0, host -> guest) and transmitq0 (1, guest -> host). No MULTIPORT, so no
 * control queues. Offered: VIRTIO_CONSOLE_F_SIZE (cols/rows from TIOCGWINSZ on the console's
 * output fd when it is a terminal, else 80x25), VIRTIO_CONSOLE_F_EMERG_WRITE, EVENT_IDX,
 * INDIRECT_DESC and RING_PACKED.
 *
 * Flow control:
 *   TX: each chain's readable bytes (at most VCONSOLE_TX_CHAIN_MAX) go to console_try_write();
 *       the used len is 0 (5.3.6.2: the device wrote nothing). console_try_write() never waits:
 *       when the console's 64 KiB output ring is full, the device keeps the chain (and the bytes
 *       it read from it), stops serving the transmit queue, and the console's output thread
 *       kicks the queue's eventfd once it has made room; the I/O thread then finishes the chain
 *       and carries on. So a stalled output fd (a terminal paused with Ctrl-S, a pipe nobody
 *       reads) stalls the guest's hvc0 output, not the I/O thread nor a vCPU waiting for the
 *       device lock. Nothing is dropped, except emerg_wr bytes that find the ring full (a vCPU
 *       holds the device lock there): those are counted and dropped.
 *   RX: the console's input thread hands bytes to a small buffer (VCONSOLE_IN_BUF bytes, own
 *       mutex) and wakes the I/O thread through an eventfd; the I/O thread moves them into the
 *       guest's receive buffers. When the buffer is full (the guest posts no receive buffers)
 *       the input thread is refused bytes and stops reading; once the guest adds buffers and the
 *       buffer drains, console_input_ready() resumes it. Nothing is dropped.
 *
 * Use (order matters):
 *   console_open(&con, ...);
 *   virtio_console_create(&dev, &con);   installs the console's input sink (replaces any other)
 *   virtio_dev_init(dev, mem);
 *   <transport attach: set dev->irq, register the MMIO window>;
 *   virtio_dev_start(dev);
 *   console_start(&con);
 *   ... on SIGWINCH: virtio_console_winch(dev) (the VMM's main thread reads SIGWINCH from its
 *       signalfd, vmm/vm/vm.h vm_block_signals(), and calls it through the device table's
 *       terminal_resized hooks, vmm/descriptors/device_vm.h)
 * ... console_stop(&con);                   no more receive() calls after this
 *   virtio_dev_destroy(dev); free(dev);
 *   console_close(&con);
 * The console must outlive the device. */
#ifndef VIRTIO_CONSOLE_H
#define VIRTIO_CONSOLE_H

#include <stdbool.h>
#include <stdint.h>

#include "host/ui/console.h"
#include "virtio/core/device.h"

#define VCONSOLE_QUEUE_SIZE 256
#define VCONSOLE_RXQ	    0
#define VCONSOLE_TXQ	    1
#define VCONSOLE_IN_BUF	    4096 /* host input held for the guest before back-pressure */
#define VCONSOLE_COLS	    80	 /* size offered when the output is not a terminal */
#define VCONSOLE_ROWS	    25
/* Transmit byte budget. A chain may describe up to 4 GiB (even one 16 KiB descriptor table whose
 * 4 MiB buffers all alias one page): the console writes at most VCONSOLE_TX_CHAIN_MAX bytes of a
 * chain (the rest is ignored, the chain is used as usual, the cut is counted), and at most about
 * VCONSOLE_TX_WAKEUP_BYTES per wakeup before the queue is rescheduled (virtio/core/serve.h). */
#define VCONSOLE_TX_CHAIN_MAX	 (64u * 1024)
#define VCONSOLE_TX_WAKEUP_BYTES (256u * 1024)

/* Allocates the device (free() it after virtio_dev_destroy()), fills its description and sets
 * itself as `host`'s input sink (call before console_start()). Returns 0 or -errno. */
int virtio_console_create(struct virtio_dev **out, struct console *host);

/* The host terminal may have changed size: re-read it on the I/O thread and, if it changed,
 * update cols/rows and send a config-change interrupt (5.3.6.1). One eventfd write: never blocks,
 * takes no lock (async-signal-safe too). Before activation the I/O thread does it once the
 * driver is ready. Any thread. */
void virtio_console_winch(struct virtio_dev *dev);

/* True when `dev` is a virtio-console made by virtio_console_create(). */
bool virtio_console_is(const struct virtio_dev *dev);

#endif
