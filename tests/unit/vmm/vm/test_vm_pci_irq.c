/* The KVM notification glue (host/kvm/kvm_notify.h) under both transports, against a fake KVM:
 * MSI-X vectors become GSI routes (a changed message rewrites the table, an unchanged one does not,
 * a refused table falls back to KVM_SIGNAL_MSI; a vector's irqfd handed out for a vhost-user
 * back-end has its route programmed first), notify areas follow BAR moves (old ioeventfds
 * removed, new ones added), and virtio-mmio's QueueNotify ioeventfds match the queue index. */
#include <criterion/criterion.h>
#include <errno.h>
#include <linux/virtio_pci.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/kvm/kvm.h"
#include "tests/mock_driver/echo_device.h"
#include "tests/mock_driver/mock_driver.h"
#include "vmm/vm/virtio_kvm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/vm_pci_irq.h"

#define MAX_CALLS 64

/* Everything the glue asked of "KVM". */
static struct fake_kvm {
	struct kvm_ioeventfd io[MAX_CALLS];
	int nio;
	struct kvm_irqfd irqfd[MAX_CALLS];
	int nirqfd;
	struct kvm_irq_routing_entry table[VM_PCI_DEFAULT_ROUTES + 8];
	uint32_t table_nr;
	int nrouting;
	struct kvm_msi msi[MAX_CALLS];
	int nmsi;
	int fail_ioeventfd_at; /* the call that fails (1-based), 0: none */
	int routing_err;
	bool resample;
} fk;

static int fake_ioeventfd(void *ctx, const struct kvm_ioeventfd *io)
{
	(void)ctx;
	cr_assert_lt(fk.nio, MAX_CALLS);
	fk.io[fk.nio++] = *io;
	return fk.nio == fk.fail_ioeventfd_at ? -ENOSPC : 0;
}

static int fake_irqfd(void *ctx, const struct kvm_irqfd *req)
{
	(void)ctx;
	cr_assert_lt(fk.nirqfd, MAX_CALLS);
	fk.irqfd[fk.nirqfd++] = *req;
	return 0;
}

static int fake_routing(void *ctx, const struct kvm_irq_routing *t)
{
	(void)ctx;
	fk.nrouting++;
	if (fk.routing_err)
		return fk.routing_err;
	cr_assert_leq(t->nr, sizeof(fk.table) / sizeof(fk.table[0]));
	memcpy(fk.table, t->entries, sizeof(t->entries[0]) * t->nr);
	fk.table_nr = t->nr;
	return 0;
}

static int fake_signal_msi(void *ctx, const struct kvm_msi *msi)
{
	(void)ctx;
	cr_assert_lt(fk.nmsi, MAX_CALLS);
	fk.msi[fk.nmsi++] = *msi;
	return 0;
}

static bool fake_can_resample(void *ctx)
{
	(void)ctx;
	return fk.resample;
}

static const struct kvm_notify_ops fake_ops = {fake_ioeventfd, fake_irqfd, fake_routing,
					       fake_signal_msi, fake_can_resample};

static struct mock_ram ram;
static struct echo_device echo;
static struct kvm kvm;
static struct vm_pci pci;
static struct vm_pci_dev d;
static struct virtio_pci_host host;

static void setup(void)
{
	memset(&fk, 0, sizeof(fk));
	cr_assert_eq(mock_ram_init(&ram, MOCK_RAM_GPA, MOCK_RAM_SIZE), 0);
	cr_assert_eq(echo_device_init(&echo, 2, &ram.mem), 0);
	kvm = (struct kvm){.dev_fd = -1, .vm_fd = -1, .notify = {&fake_ops, NULL}};
	memset(&pci, 0, sizeof(pci));
	pci.kvm = &kvm;
	pthread_mutex_init(&pci.route_lock, NULL);
	memset(&d, 0, sizeof(d));
	d.pci = &pci;
	d.dev = &echo.dev;
	d.intx_fd = d.resample_fd = -1;
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++) {
		d.routes[v].gsi = VM_PCI_FIRST_MSI_GSI + (unsigned)v;
		d.vec_fd[v] = v < 4 ? eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK) : -1;
	}
	pci.devs[pci.ndevs++] = &d;
	host = vm_pci_irq_host(&d);
}

static void teardown(void)
{
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		if (d.vec_fd[v] >= 0)
			close(d.vec_fd[v]);
	pthread_mutex_destroy(&pci.route_lock);
	virtio_dev_destroy(&echo.dev);
	mock_ram_free(&ram);
}

TestSuite(vm_pci_irq, .init = setup, .fini = teardown);

static uint64_t fired(int v)
{
	uint64_t n = 0;
	if (read(d.vec_fd[v], &n, sizeof(n)) < 0)
		return 0;
	return n;
}

/* The MSI route for `gsi` in the table last set, or NULL. */
static const struct kvm_irq_routing_entry *route(unsigned gsi)
{
	for (uint32_t i = 0; i < fk.table_nr; i++)
		if (fk.table[i].gsi == gsi && fk.table[i].type == KVM_IRQ_ROUTING_MSI)
			return &fk.table[i];
	return NULL;
}

Test(vm_pci_irq, vector_gets_a_gsi_route_then_fires_its_irqfd)
{
	host.msi(host.opaque, 1, 0xfee01000, 0x41);
	cr_assert_eq(fk.nrouting, 1);
	cr_assert_eq(fk.table_nr, VM_PCI_DEFAULT_ROUTES + 1, "defaults kept, one MSI route");
	const struct kvm_irq_routing_entry *e = route(VM_PCI_FIRST_MSI_GSI + 1);
	cr_assert_not_null(e);
	cr_assert_eq(e->u.msi.address_lo, 0xfee01000);
	cr_assert_eq(e->u.msi.address_hi, 0);
	cr_assert_eq(e->u.msi.data, 0x41);
	cr_assert_eq(fired(1), 1);
	cr_assert_eq(fk.nmsi, 0, "no KVM_SIGNAL_MSI while routes work");
}

Test(vm_pci_irq, unchanged_message_reuses_the_route)
{
	host.msi(host.opaque, 0, 0xfee00000, 0x30);
	host.msi(host.opaque, 0, 0xfee00000, 0x30);
	host.msi(host.opaque, 0, 0xfee00000, 0x30);
	cr_assert_eq(fk.nrouting, 1, "one table write for three interrupts");
	cr_assert_eq(fired(0), 3);
}

Test(vm_pci_irq, changed_message_rewrites_the_route)
{
	host.msi(host.opaque, 0, 0xfee00000, 0x30);
	host.msi(host.opaque, 2, 0xfee00000, 0x32);
	host.msi(host.opaque, 0, 0x1fee02000ull, 0x50); /* the guest moved vector 0 */
	cr_assert_eq(fk.nrouting, 3);
	cr_assert_eq(fk.table_nr, VM_PCI_DEFAULT_ROUTES + 2, "both vectors routed");
	const struct kvm_irq_routing_entry *e = route(VM_PCI_FIRST_MSI_GSI);
	cr_assert_not_null(e);
	cr_assert_eq(e->u.msi.address_lo, 0xfee02000);
	cr_assert_eq(e->u.msi.address_hi, 1);
	cr_assert_eq(e->u.msi.data, 0x50);
	cr_assert_eq(route(VM_PCI_FIRST_MSI_GSI + 2)->u.msi.data, 0x32, "the other route kept");
	cr_assert_eq(fired(0), 2);
}

Test(vm_pci_irq, vector_out_of_range_is_ignored)
{
	host.msi(host.opaque, VIRTIO_PCI_MAX_VECTORS, 0xfee00000, 0x30);
	host.msi(host.opaque, VIRTIO_MSI_NO_VECTOR, 0xfee00000, 0x30);
	cr_assert_eq(fk.nrouting + fk.nmsi, 0);
}

Test(vm_pci_irq, refused_table_falls_back_to_signal_msi)
{
	fk.routing_err = -EINVAL;
	host.msi(host.opaque, 1, 0xfee00000, 0x31);
	host.msi(host.opaque, 1, 0xfee00000, 0x32);
	cr_assert_eq(fk.nrouting, 1, "not retried");
	cr_assert_eq(fk.nmsi, 2);
	cr_assert_eq(fk.msi[1].address_lo, 0xfee00000);
	cr_assert_eq(fk.msi[1].data, 0x32);
	cr_assert_eq(fired(1), 0);
}

/* A vhost-user back-end's call fd (virtio_pci_irqfds): the vector's irqfd, its GSI routed to the
 * guest's message first, so a signal on it reaches the guest through KVM alone. */
Test(vm_pci_irq, vector_irqfd_routes_the_message_first)
{
	struct virtio_pci_irqfds irqfds = vm_pci_irq_irqfds(&d);
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 2, 0xfee00000, 0x42), d.vec_fd[2]);
	cr_assert_eq(fk.nrouting, 1);
	cr_assert_eq(route(VM_PCI_FIRST_MSI_GSI + 2)->u.msi.data, 0x42);
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 2, 0xfee00000, 0x42), d.vec_fd[2]);
	cr_assert_eq(fk.nrouting, 1, "an unchanged message keeps its route");
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 2, 0xfee01000, 0x43), d.vec_fd[2]);
	cr_assert_eq(fk.nrouting, 2, "a rewritten message is routed at once");
	cr_assert_eq(route(VM_PCI_FIRST_MSI_GSI + 2)->u.msi.address_lo, 0xfee01000);
	cr_assert_eq(fired(2), 0, "nothing sent");
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 1, 0, 0), -1, "never programmed");
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 5, 0xfee00000, 0x45), -1, "no irqfd");
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, VIRTIO_PCI_MAX_VECTORS, 0xfee00000, 1), -1);
}

/* Without routes (KVM_SIGNAL_MSI mode) there is no irqfd to hand out: the relay stays. */
Test(vm_pci_irq, vector_irqfd_without_routes_is_none)
{
	struct virtio_pci_irqfds irqfds = vm_pci_irq_irqfds(&d);
	fk.routing_err = -EINVAL;
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 1, 0xfee00000, 0x41), -1);
	cr_assert_eq(irqfds.vector_irqfd(irqfds.opaque, 1, 0xfee00000, 0x41), -1);
	cr_assert_eq(fk.nrouting, 1, "not retried");
}

/* The notify ioeventfds of queue q: base + 4 * q, any width, no data match, kick_fd[q]. */
static void expect_kicks(int first, uint64_t base, bool deassign)
{
	for (int q = 0; q < 2; q++) {
		const struct kvm_ioeventfd *io = &fk.io[first + q];
		cr_assert_eq(io->addr, base + VIRTIO_PCI_NOTIFY_MULT * (uint64_t)q);
		cr_assert_eq(io->len, 0);
		cr_assert_eq(io->fd, echo.dev.kick_fd[q]);
		cr_assert_eq(io->flags, deassign ? KVM_IOEVENTFD_FLAG_DEASSIGN : 0u);
	}
}

Test(vm_pci_irq, notify_area_follows_bar_moves)
{
	host.notify_moved(host.opaque, false, 0, true, 0xe0003000);
	cr_assert_eq(fk.nio, 2);
	expect_kicks(0, 0xe0003000, false);
	cr_assert(d.notify_bound);
	host.notify_moved(host.opaque, true, 0xe0003000, true, 0xc0003000);
	cr_assert_eq(fk.nio, 6);
	expect_kicks(2, 0xe0003000, true);
	expect_kicks(4, 0xc0003000, false);
	host.notify_moved(host.opaque, true, 0xc0003000, false, 0); /* memory decoding off */
	cr_assert_eq(fk.nio, 8);
	expect_kicks(6, 0xc0003000, true);
	cr_assert_not(d.notify_bound);
	vm_pci_unbind_notify(&d);
	cr_assert_eq(fk.nio, 8, "nothing left to remove");
}

Test(vm_pci_irq, failed_bind_removes_what_it_added)
{
	fk.fail_ioeventfd_at = 2; /* queue 1 */
	host.notify_moved(host.opaque, false, 0, true, 0xe0003000);
	cr_assert_eq(fk.nio, 3);
	cr_assert_eq(fk.io[2].addr, 0xe0003000);
	cr_assert_eq(fk.io[2].flags, KVM_IOEVENTFD_FLAG_DEASSIGN, "queue 0 rolled back");
	cr_assert_not(d.notify_bound, "kicks arrive as MMIO exits instead");
}

Test(vm_pci_irq, intx_irqfd_with_resample_when_kvm_can)
{
	fk.resample = true;
	d.intx_gsi = 10;
	cr_assert_eq(vm_pci_irq_init(&d), 0); /* msix.nvec 0: INTx only */
	cr_assert_eq(fk.nirqfd, 1);
	cr_assert_eq(fk.irqfd[0].gsi, 10);
	cr_assert_eq(fk.irqfd[0].fd, (uint32_t)d.intx_fd);
	cr_assert_eq(fk.irqfd[0].flags, KVM_IRQFD_FLAG_RESAMPLE);
	cr_assert_eq(fk.irqfd[0].resamplefd, (uint32_t)d.resample_fd);
	int intx = d.intx_fd;
	for (int v = 0; v < VIRTIO_PCI_MAX_VECTORS; v++)
		if (d.vec_fd[v] >= 0)
			close(d.vec_fd[v]), d.vec_fd[v] = -1;
	vm_pci_irq_destroy(&d);
	cr_assert_eq(fk.nirqfd, 2);
	cr_assert_eq(fk.irqfd[1].fd, (uint32_t)intx);
	cr_assert_eq(fk.irqfd[1].flags, KVM_IRQFD_FLAG_DEASSIGN);
}

Test(vm_pci_irq, mmio_queue_notify_matches_the_queue_index)
{
	cr_assert_eq(virtio_kvm_bind_kicks(&kvm, &echo.dev, 0xd0000050, false), 0);
	cr_assert_eq(fk.nio, 2);
	for (int q = 0; q < 2; q++) {
		cr_assert_eq(fk.io[q].addr, 0xd0000050);
		cr_assert_eq(fk.io[q].len, 4);
		cr_assert_eq(fk.io[q].datamatch, (uint64_t)q);
		cr_assert_eq(fk.io[q].flags, KVM_IOEVENTFD_FLAG_DATAMATCH);
		cr_assert_eq(fk.io[q].fd, echo.dev.kick_fd[q]);
	}
	virtio_kvm_unbind_kicks(&kvm, &echo.dev, 0xd0000050, false);
	cr_assert_eq(fk.nio, 4);
	cr_assert_eq(fk.io[3].datamatch, 1);
	cr_assert_eq(fk.io[3].flags, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_DEASSIGN);
}

Test(vm_pci_irq, mmio_failed_bind_rolls_back)
{
	fk.fail_ioeventfd_at = 2;
	cr_assert_eq(virtio_kvm_bind_kicks(&kvm, &echo.dev, 0x510, true), -ENOSPC);
	cr_assert_eq(fk.nio, 3);
	cr_assert_eq(fk.io[2].datamatch, 0);
	cr_assert_eq(fk.io[2].flags, KVM_IOEVENTFD_FLAG_DATAMATCH | KVM_IOEVENTFD_FLAG_PIO |
					 KVM_IOEVENTFD_FLAG_DEASSIGN);
}

Test(vm_pci_irq, mmio_level_irqfd)
{
	fk.resample = true;
	struct virtio_kvm_irq irq;
	cr_assert_eq(virtio_kvm_irq_init(&irq, &kvm, &echo.dev, 5), 0);
	cr_assert_eq(fk.nirqfd, 1);
	cr_assert_eq(fk.irqfd[0].gsi, 5);
	cr_assert_eq(fk.irqfd[0].flags, KVM_IRQFD_FLAG_RESAMPLE);
	kvm.vm_fd = 0; /* destroy deassigns only on a live VM */
	virtio_kvm_irq_destroy(&irq);
	kvm.vm_fd = -1;
	cr_assert_eq(fk.nirqfd, 2);
	cr_assert_eq(fk.irqfd[1].flags, KVM_IRQFD_FLAG_DEASSIGN);
}
