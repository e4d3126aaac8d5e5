/* Where the device table's devices land (vmm/vm/vm_virtio_devices.c), without KVM: the PCI bus
 * exists only once a device asks for PCI, and placement failures are the VMM's (exit 1). And a
 * host terminal resize (SIGWINCH, read from the main thread's signalfd) reaching hvc0. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_console.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <termios.h>
#include <unistd.h>

#include "base/errors.h"
#include "tests/mock_driver/mock_driver.h"
#include "virtio/console/console.h"
#include "vmm/descriptors/dev_console.h"
#include "vmm/descriptors/dev_disk.h"
#include "vmm/descriptors/dev_net.h"
#include "vmm/descriptors/dev_rng.h"
#include "vmm/descriptors/device_table.h"
#include "vmm/descriptors/device_vm.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_virtio.h"

static struct vm vm;
static struct vm_config cfg;
static struct mock_ram ram;

static void noop_notify(struct virtio_dev *dev, uint16_t q)
{
	(void)dev, (void)q;
}

static const struct virtio_dev_ops ops = {.queue_notify = noop_notify};

static void setup(void)
{
	cr_redirect_stderr();
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	vm = (struct vm){.cfg = &cfg, .kvm = {.dev_fd = -1, .vm_fd = -1}, .mem = ram.mem};
	io_bus_init(&vm.pio, "pio");
	io_bus_init(&vm.mmio, "mmio");
	machine_init(&vm.machine);
	vm.virtio = calloc(1, sizeof(*vm.virtio));
	cr_assert_not_null(vm.virtio);
}

static void teardown(void)
{
	vm_virtio_destroy(&vm);
	vm_pci_destroy(vm.pci);
	io_bus_destroy(&vm.pio);
	io_bus_destroy(&vm.mmio);
	mock_ram_free(&ram);
}

static struct virtio_dev *new_dev(void)
{
	struct virtio_dev *dev = calloc(1, sizeof(*dev));
	cr_assert_not_null(dev);
	*dev = (struct virtio_dev){
	    .name = "d", .device_id = 4, .num_queues = 1, .queue_max_size = 16, .ops = &ops};
	return dev;
}

Test(vm_virtio_devices, pci_bus_comes_with_the_first_pci_device, .init = setup, .fini = teardown)
{
	/* Without KVM the mmio window cannot bind its ioeventfds: placement fails, as ours. */
	int err = vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_MMIO);
	cr_assert_eq(vmm_exit_status(err), VMM_EXIT_ERROR, "got %d", err);
	cr_assert_null(vm.pci, "an mmio device creates no PCI bus");
	cr_assert_not(vm.machine.pci.present);
	err = vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_PCI);
	cr_assert_eq(vmm_exit_status(err), VMM_EXIT_ERROR, "KVM_IRQFD on no VM is ours");
	cr_assert_not_null(vm.pci, "the first PCI device created the bus");
	cr_assert(vm.machine.pci.present, "and described it");
	struct vm_pci *first = vm.pci;
	vm_virtio_init_and_place(&vm, new_dev(), TRANSPORT_PCI);
	cr_assert_eq(vm.pci, first, "one bus");
}

Test(vm_virtio_devices, nothing_asked_nothing_created, .init = setup, .fini = teardown)
{
	cfg = (struct vm_config){0};
	cr_assert_eq(device_vm_create(&vm), 0);
	cr_assert_eq(vm.virtio->count, 0);
	cr_assert_null(vm.pci);
	cr_assert_null(vm.display);
}

/* A device's run-time block (device_state()) exists once its create() asks for it, and goes
 * with the VM; a device without one has none. */
Test(vm_virtio_devices, run_time_blocks_come_and_go_with_the_vm, .init = setup, .fini = teardown)
{
	cr_assert_null(device_state_find(&vm, &device_disk));
	cr_assert_null(dev_disk_device(&vm, 0), "no disk created, no device");
	void *disks = device_state(&vm, &device_disk);
	cr_assert_not_null(disks);
	cr_assert_eq(device_state(&vm, &device_disk), disks, "one block per device");
	cr_assert_eq(device_state_find(&vm, &device_disk), disks);
	cr_assert_null(dev_disk_device(&vm, 0), "zeroed: no device yet");
	cr_assert_null(dev_disk_device(&vm, -1));
	cr_assert_null(dev_disk_device(&vm, VM_MAX_DISKS));
	cr_assert_null(device_state(&vm, &device_rng), "rng keeps nothing");
	device_state_free_all(&vm);
	cr_assert_null(device_state_find(&vm, &device_disk));
	cr_assert_null(dev_net_device(&vm, 0));
}

/* ---- SIGWINCH: the host terminal's new size reaches the virtio-console ---- */

Test(vm_virtio_devices, sigwinch_is_read_from_the_signalfd)
{
	sigset_t set;
	struct signalfd_siginfo si;
	int fd = vm_block_signals(&set);

	cr_assert_geq(fd, 0);
	cr_assert(sigismember(&set, SIGWINCH));
	cr_assert_eq(pthread_kill(pthread_self(), SIGWINCH), 0); /* blocked: queued, no handler */
	cr_assert_eq(read(fd, &si, sizeof(si)), (ssize_t)sizeof(si));
	cr_expect_eq(si.ssi_signo, SIGWINCH);
	close(fd);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

static unsigned config_irqs;

static void count_irq(void *opaque, uint16_t q)
{
	(void)opaque;
	config_irqs += q == VIRTIO_IRQ_CONFIG;
}

static void set_winsize(int fd, unsigned short cols, unsigned short rows)
{
	struct winsize ws = {.ws_row = rows, .ws_col = cols};
	cr_assert_eq(ioctl(fd, TIOCSWINSZ, &ws), 0);
}

static uint16_t config16(struct virtio_dev *dev, uint32_t off)
{
	uint16_t v;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_config_read(dev, off, &v, 2);
	pthread_mutex_unlock(&dev->lock);
	return le16toh(v);
}

/* One round of the device's I/O thread over its fds that are readable now. */
static void run_fds(struct virtio_dev *dev)
{
	pthread_mutex_lock(&dev->lock);
	for (int i = 0; i < dev->nfds; i++) {
		struct pollfd p = {.fd = dev->fds[i].fd, .events = POLLIN};
		if (poll(&p, 1, 0) == 1)
			dev->fds[i].ready(dev, dev->fds[i].fd, EPOLLIN);
	}
	pthread_mutex_unlock(&dev->lock);
}

Test(vm_virtio_devices, terminal_resize_reaches_the_virtio_console, .init = setup, .fini = teardown)
{
	const uint64_t features = 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_CONSOLE_F_SIZE;
	const uint8_t up = VIRTIO_CONFIG_S_ACKNOWLEDGE | VIRTIO_CONFIG_S_DRIVER;
	int master = posix_openpt(O_RDWR | O_NOCTTY);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master) || unlockpt(master), 0);
	int tty = open(ptsname(master), O_RDWR | O_NOCTTY);
	cr_assert_geq(tty, 0);
	set_winsize(tty, 132, 43);
	struct console con;
	struct console_config cc = {.mode = CONSOLE_MODE_FDS, .in_fd = -1, .out_fd = tty};
	cr_assert_eq(console_open(&con, &cc), 0);

	/* the console as dev_console.c creates it, in an mmio slot (no KVM to place it) */
	struct virtio_dev *dev;
	cr_assert_eq(virtio_console_create(&dev, &con), 0);
	cr_assert(virtio_console_is(dev));
	dev->irq = (struct virtio_irq){count_irq, NULL};
	cr_assert_eq(virtio_dev_init(dev, &vm.mem), 0);
	vm.virtio->slots[0] =
	    (struct virtio_mmio_slot){.dev = dev, .irq = {.irq_fd = -1, .resample_fd = -1}};
	vm.virtio->count = 1;
	cfg = (struct vm_config){0};
	struct dev_console_cfg *console_cfg = device_cfg(&cfg, &device_console);
	cr_assert_not_null(console_cfg);
	console_cfg->virtio = true;
	pthread_mutex_lock(&dev->lock);
	virtio_dev_set_status(dev, up);
	virtio_dev_set_features(dev, 0, (uint32_t)features);
	virtio_dev_set_features(dev, 1, (uint32_t)(features >> 32));
	virtio_dev_set_status(dev, up | VIRTIO_CONFIG_S_FEATURES_OK);
	virtio_dev_set_status(dev, up | VIRTIO_CONFIG_S_FEATURES_OK | VIRTIO_CONFIG_S_DRIVER_OK);
	cr_assert(virtio_dev_running(dev));
	pthread_mutex_unlock(&dev->lock);
	uint32_t gen = dev->config_generation;

	set_winsize(tty, 100, 30);
	device_vm_terminal_resized(&vm); /* what the main thread does on SIGWINCH */
	run_fds(dev);
	cr_expect_eq(config16(dev, offsetof(struct virtio_console_config, cols)), 100);
	cr_expect_eq(config16(dev, offsetof(struct virtio_console_config, rows)), 30);
	cr_expect_eq(dev->config_generation, gen + 1);
	cr_expect_eq(config_irqs, 1, "one config change (5.3.6.1)");

	device_vm_terminal_resized(&vm); /* the same size again: nothing to tell */
	run_fds(dev);
	cr_expect_eq(config_irqs, 1);

	vm_virtio_destroy(&vm); /* the device before its console */
	console_close(&con);
	close(tty);
	close(master);
	device_cfg_free_all(&cfg);
}

static int collect_dev(struct virtio_dev *dev, void *opaque)
{
	struct virtio_dev ***out = opaque;
	*(*out)++ = dev;
	return 0;
}

/* PCI devices are walked by device number, a hot-unplugged one skipped: a snapshot's devices
 * follow this order, and a restore that puts the hot-added devices back in their slots (in
 * whatever order they were added) finds the same order (vmm/vm/hotplug.c). */
Test(vm_virtio_devices, pci_devices_by_slot, .init = setup, .fini = teardown)
{
	static const int slots[] = {1, 2, 5, 3, 5}; /* boot 1, 2; hot-added 5 (gone), 3, 5 */
	struct virtio_dev devs[5];
	struct vm_pci *p = calloc(1, sizeof(*p));
	cr_assert_not_null(p);
	for (int i = 0; i < 5; i++) {
		p->devs[i] = calloc(1, sizeof(*p->devs[i]));
		cr_assert_not_null(p->devs[i]);
		p->devs[i]->slot = slots[i];
		p->devs[i]->dev = &devs[i];
	}
	p->devs[2]->gone = true;
	p->ndevs = 5;
	vm.pci = p;
	struct virtio_dev *seen[8] = {0}, **next = seen;
	cr_assert_eq(vm_for_each_virtio_dev(&vm, collect_dev, &next), 0);
	cr_assert_eq(next - seen, 4);
	cr_assert_eq(seen[0], &devs[0]);
	cr_assert_eq(seen[1], &devs[1]);
	cr_assert_eq(seen[2], &devs[3], "slot 3 before slot 5");
	cr_assert_eq(seen[3], &devs[4], "the gone device of slot 5 is skipped");
	for (int i = 0; i < 5; i++)
		free(p->devs[i]);
	free(p);
	vm.pci = NULL;
}
