/* Measures what one KVM_SET_GSI_ROUTING costs with the table virtio-pci installs: the 40 default
 * IOAPIC/PIC routes (vm_pci_build_routes) plus N MSI routes, replaced whole, as
 * vmm/vm/vm_pci_irq.c does whenever the guest programs a changed MSI-X message.
 *
 *   gsi_routing_cost [ITERATIONS]     prints microseconds per call for N = 1, 16, 64, 256
 *
 * Needs /dev/kvm (a VM with an in-kernel irqchip). Exit status 0, or 1 when KVM is unusable. */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "vmm/vm/vm_pci.h"

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* Microseconds per KVM_SET_GSI_ROUTING of the defaults plus `nmsi` MSI routes, or < 0. */
static double cost(int vm, int nmsi, int iterations)
{
	struct vm_pci_msi_route msi[256];
	int cap = VM_PCI_DEFAULT_ROUTES + nmsi;
	struct kvm_irq_routing *r = calloc(1, sizeof(*r) + sizeof(r->entries[0]) * (size_t)cap);
	if (!r)
		return -1;
	for (int i = 0; i < nmsi; i++)
		msi[i] = (struct vm_pci_msi_route){.gsi = 24u + (unsigned)i,
						   .addr = 0xfee00000,
						   .data = 0x30u + (unsigned)i,
						   .valid = true};
	int n = vm_pci_build_routes(NULL, r->entries, cap, msi, nmsi);
	r->nr = (uint32_t)n;
	double t0 = now_us();
	for (int i = 0; i < iterations; i++) {
		r->entries[n - 1].u.msi.data ^= 1; /* a changed message, as the guest writes it */
		if (n < 0 || ioctl(vm, KVM_SET_GSI_ROUTING, r) < 0) {
			free(r);
			return -1;
		}
	}
	double us = (now_us() - t0) / iterations;
	free(r);
	return us;
}

int main(int argc, char **argv)
{
	int iterations = argc > 1 ? atoi(argv[1]) : 2000;
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0 || ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0 || iterations <= 0) {
		perror("gsi_routing_cost: /dev/kvm");
		return 1;
	}
	static const int sizes[] = {1, 16, 64, 256};
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		double us = cost(vm, sizes[i], iterations);
		if (us < 0) {
			perror("gsi_routing_cost: KVM_SET_GSI_ROUTING");
			return 1;
		}
		printf("%3d MSI routes (+%d default): %.1f us per KVM_SET_GSI_ROUTING\n", sizes[i],
		       VM_PCI_DEFAULT_ROUTES, us);
	}
	close(vm);
	close(kvm);
	return 0;
}
