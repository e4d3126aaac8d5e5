/* virtio-console (virtio 1.2 section 5.3), port 0 without MULTIPORT, through the runtime's
 * virtio driver over virtio-mmio or virtio-pci (transport=pci [pci_irq=intx]): receiveq0 (queue 0)
 * and transmitq0 (queue 1).
 *   - writes "virtio-console: hello from hvc0" on transmitq0 (the script finds it on the host
 *     side of the console) and waits for the used buffer by interrupt;
 *   - posts receive buffers and collects host input up to a newline, each batch announced by an
 *     interrupt (virtio-mmio has one "used buffer" status bit for both queues, so an interrupt
 *     is attributed to the device, not to a queue: the input may have been announced by the
 *     interrupt that also returned the transmit buffer); it must equal input=TEXT from the
 *     command line; then echoes it back on transmitq0 as "virtio-console echo: TEXT".
 * COM1 (printf) reports progress; the two lines above go only through virtio.
 * Command line: input=TEXT [ring=packed] [transport=pci [pci_irq=intx]]. */
#include "guest.h"
#include "virtio_mem.h"
#include "virtio_vq.h"

#include <linux/virtio_console.h>
#include <linux/virtio_ids.h>

#define VEC_CONSOLE 0x53
#define RXQ	    0
#define TXQ	    1
#define NRX	    4
#define RX_BYTES    64
#define LINE_MAX    128
#define WAIT_MS	    10000

#define F(bit) (1ULL << (bit))

static struct vq rx, tx;
static uint8_t *rx_buf[NRX];

static void post_rx(uint8_t *b)
{
	struct vq_buf vb = {virt_to_phys(b), RX_BYTES, true};

	TEST_ASSERT_EQ(vq_add(&rx, &vb, 1, b, 0), 0);
}

/* One transmit buffer; waits for the device to give it back (len 0: it wrote nothing). */
static void send(const char *text)
{
	size_t n = strlen(text);
	char *b = virtio_alloc(n, 16);
	struct vq_buf vb = {virt_to_phys(b), (uint32_t)n, false};
	uint32_t len;

	TEST_ASSERT(b);
	memcpy(b, text, n);
	TEST_ASSERT_EQ(vq_add(&tx, &vb, 1, b, 0), 0);
	vq_kick(&tx);
	TEST_ASSERT_MSG(vq_wait(&tx, WAIT_MS), "transmit buffer not used (no interrupt)");
	TEST_ASSERT(vq_get_used(&tx, &len) == b);
}

/* Collects input until '\n' (not stored). */
static void read_line(char *line)
{
	size_t n = 0;

	for (;;) {
		uint32_t len;
		uint8_t *b;

		TEST_ASSERT_MSG(vq_wait(&rx, WAIT_MS), "no input within %u ms (got %u bytes)",
				WAIT_MS, (unsigned)n);
		while ((b = vq_get_used(&rx, &len)) != NULL) {
			TEST_ASSERT(len <= RX_BYTES);
			for (uint32_t i = 0; i < len; i++) {
				if (b[i] == '\n') {
					line[n] = '\0';
					return;
				}
				TEST_ASSERT_MSG(n + 1 < LINE_MAX, "input line too long");
				line[n++] = (char)b[i];
			}
			post_rx(b);
			vq_kick(&rx);
		}
	}
}

int guest_main(void)
{
	char ring[16] = "split", want[LINE_MAX] = "", line[LINE_MAX], echo[LINE_MAX + 32];
	struct vdev *d = vdev_find(VIRTIO_ID_CONSOLE, 0);
	int err;

	TEST_ASSERT_MSG(d, "no virtio-console device (transport %s)", vdev_transport_name());
	vdev_print(d, "console");
	TEST_ASSERT_MSG(cmdline_get_str("input", want, sizeof(want)), "input=TEXT missing");
	cmdline_get_str("ring", ring, sizeof(ring));
	/* No VIRTIO_CONSOLE_F_MULTIPORT: port 0 only, queues 0 and 1 (5.3.2). */
	err = vdev_negotiate(d,
			     F(VIRTIO_CONSOLE_F_SIZE) | F(VIRTIO_RING_F_EVENT_IDX) |
				 F(VIRTIO_RING_F_INDIRECT_DESC),
			     !strcmp(ring, "packed") ? F(VIRTIO_F_RING_PACKED) : 0);
	TEST_ASSERT_MSG(err == 0, "negotiation failed: %d (offered 0x%llx)", err,
			(unsigned long long)d->offered);
	TEST_ASSERT(!vdev_has(d, VIRTIO_CONSOLE_F_MULTIPORT));
	TEST_ASSERT_EQ(vq_setup(&rx, d, RXQ, 64), 0);
	TEST_ASSERT_EQ(vq_setup(&tx, d, TXQ, 64), 0);
	TEST_ASSERT(vdev_irq_enable(d, VEC_CONSOLE));
	for (unsigned i = 0; i < NRX; i++) {
		rx_buf[i] = virtio_alloc(RX_BYTES, 64);
		TEST_ASSERT(rx_buf[i]);
		post_rx(rx_buf[i]);
	}
	vdev_driver_ok(d);
	vq_kick(&rx);
	printf("virtio-console at 0x%llx irq %u: %s ring, features 0x%llx\n",
	       (unsigned long long)d->base, d->irq, rx.packed ? "packed" : "split",
	       (unsigned long long)d->features);
	if (vdev_has(d, VIRTIO_CONSOLE_F_SIZE))
		printf("console size: %u columns, %u rows\n",
		       vdev_config16(d, offsetof(struct virtio_console_config, cols)),
		       vdev_config16(d, offsetof(struct virtio_console_config, rows)));

	send("virtio-console: hello from hvc0\n");
	printf("transmitq: line sent, buffer returned by interrupt: ok\n");
	read_line(line);
	printf("receiveq: input \"%s\"\n", line);
	TEST_ASSERT_MSG(!strcmp(line, want), "input \"%s\", want \"%s\"", line, want);
	snprintf(echo, sizeof(echo), "virtio-console echo: %s\n", line);
	send(echo);
	printf("console: %llu interrupt(s) (+%llu spurious)\n", (unsigned long long)d->irqs,
	       (unsigned long long)d->spurious);
	return 0;
}
