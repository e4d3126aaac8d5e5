/* host/vfio: the container, group and device API against the fake VFIO layer. */
#include <criterion/criterion.h>
#include <sys/mman.h>

#include "host/vfio/vfio.h"
#include "tests/unit/fixtures/fake_vfio.h"

static struct fake_vfio f;
static struct vfio_container c;
static struct vfio_group g;
static struct vfio_device d;
static char err[512];

static void setup(void)
{
	fake_vfio_init(&f);
	err[0] = '\0';
}

static void teardown(void)
{
	fake_vfio_fini(&f);
}

TestSuite(vfio, .init = setup, .fini = teardown);

Test(vfio, parses_pci_device_paths)
{
	char bdf[VFIO_BDF_LEN];
	cr_assert_eq(
	    vfio_parse_pci_path("/sys/bus/pci/devices/0000:01:00.0", bdf, err, sizeof(err)), 0);
	cr_assert_str_eq(bdf, "0000:01:00.0");
	cr_assert_eq(
	    vfio_parse_pci_path("/sys/bus/pci/devices/0000:0a:1f.7/", bdf, err, sizeof(err)), 0);
	cr_assert_str_eq(bdf, "0000:0a:1f.7");
	const char *bad[] = {"/dev/sda",
			     "/sys/bus/pci/devices/0000:01:00.8",
			     "/sys/bus/pci/devices/0000:01:20.0",
			     "/sys/bus/pci/devices/0000:01:00",
			     "/sys/bus/pci/devices/../../../etc/x",
			     "/sys/bus/pci/devices/0000:01:00.0/..",
			     "/sys/bus/pci/devices/0000:01:00.0x",
			     "/sys/bus/pci/devices/0000:0G:00.0"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		cr_assert_eq(vfio_parse_pci_path(bad[i], bdf, err, sizeof(err)), -EINVAL, "%s",
			     bad[i]);
		cr_assert(strstr(err, "not a PCI device path"), "%s", err);
	}
}

Test(vfio, opens_container_group_and_device)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(c.fd, FAKE_CONTAINER_FD);
	cr_assert_eq(g.fd, FAKE_GROUP_FD);
	cr_assert_eq(g.id, 7);
	cr_assert_eq(d.fd, FAKE_DEVICE_FD);
	cr_assert_str_eq(d.bdf, FAKE_BDF);
	cr_assert_eq(f.set_container, 1);
	cr_assert_eq(f.set_iommu, 1);
	cr_assert_eq(d.num_regions, FAKE_REGIONS);
	uint32_t count, flags;
	cr_assert_eq(vfio_irq_get(&d, VFIO_PCI_MSIX_IRQ_INDEX, &count, &flags), 0);
	cr_assert_eq(count, 65);
	cr_assert_eq(vfio_device_reset(&d), 0);
	cr_assert_eq(f.resets, 1);
	vfio_device_close(&d);
	vfio_group_close(&c, &g);
	vfio_container_close(&c);
	cr_assert_eq(f.closes, 3);
}

Test(vfio, second_group_does_not_set_the_iommu_again)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct vfio_group g2;
	char bdf[VFIO_BDF_LEN];
	cr_assert_eq(vfio_group_open(&c, VFIO_SYSFS_PCI_DEV FAKE_BDF, &g2, bdf, err, sizeof(err)),
		     0);
	cr_assert_eq(f.set_container, 2);
	cr_assert_eq(f.set_iommu, 1);
}

Test(vfio, refuses_missing_container_and_old_api)
{
	f.open_fails = true;
	cr_assert_eq(vfio_container_open(&c, &fake_vfio_ops, &f, err, sizeof(err)), -ENOENT);
	cr_assert(strstr(err, "/dev/vfio/vfio"), "%s", err);
	f.open_fails = false;
	f.api_version = 1;
	cr_assert_eq(vfio_container_open(&c, &fake_vfio_ops, &f, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, "API version"), "%s", err);
	f.api_version = VFIO_API_VERSION;
	f.type1v2 = false;
	cr_assert_eq(vfio_container_open(&c, &fake_vfio_ops, &f, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, "IOMMU"), "%s", err);
}

static int open_group(void)
{
	char bdf[VFIO_BDF_LEN];
	cr_assert_eq(vfio_container_open(&c, &fake_vfio_ops, &f, err, sizeof(err)), 0);
	return vfio_group_open(&c, VFIO_SYSFS_PCI_DEV FAKE_BDF, &g, bdf, err, sizeof(err));
}

Test(vfio, refuses_a_device_bound_to_another_driver)
{
	snprintf(f.devs[0].driver, sizeof(f.devs[0].driver), "nvme");
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert_str_eq(err, FAKE_BDF ": bound to nvme, not vfio-pci (unbind it and bind it to "
				       "vfio-pci)");
	f.devs[0].driver[0] = '\0';
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert(strstr(err, "bound to no driver, not vfio-pci"), "%s", err);
	cr_assert_eq(f.set_container, 0);
}

Test(vfio, refuses_an_absent_device_and_a_path_that_is_no_pci_device)
{
	char bdf[VFIO_BDF_LEN];
	cr_assert_eq(vfio_container_open(&c, &fake_vfio_ops, &f, err, sizeof(err)), 0);
	cr_assert_eq(
	    vfio_group_open(&c, "/sys/bus/pci/devices/0000:02:00.0", &g, bdf, err, sizeof(err)),
	    -EBUSY);
	cr_assert(strstr(err, "0000:02:00.0: bound to no driver"), "%s", err);
	cr_assert_eq(vfio_group_open(&c, "/dev/nvme0n1", &g, bdf, err, sizeof(err)), -EINVAL);
	cr_assert(strstr(err, "/dev/nvme0n1: not a PCI device path"), "%s", err);
}

Test(vfio, refuses_a_group_that_is_not_viable)
{
	fake_vfio_add_dev(&f, "0000:01:00.1", "vfio-pci");
	fake_vfio_add_dev(&f, "0000:00:01.0", "pcieport");
	fake_vfio_add_dev(&f, "0000:01:00.2", "");
	cr_assert_eq(open_group(), 0, "%s", err); /* vfio-pci, a bridge, unbound: viable */
	vfio_group_close(&c, &g);
	snprintf(f.devs[1].driver, sizeof(f.devs[1].driver), "e1000e");
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert(strstr(err, "IOMMU group not viable: 0000:01:00.1, in the same group, is bound "
			      "to e1000e"),
		  "%s", err);
}

Test(vfio, refuses_when_the_kernel_says_not_viable)
{
	f.viable = false;
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert(strstr(err, "IOMMU group 7 not viable"), "%s", err);
	cr_assert_eq(f.set_container, 0);
}

/* vfio_iommu_type1 refuses a group whose MSIs the host cannot isolate (an Arm GICv2m, an x86
 * host without interrupt remapping) unless allow_unsafe_interrupts=1: the message says so. */
Test(vfio, msis_the_host_cannot_isolate_are_named_with_the_way_out)
{
	f.msi_unsafe = true;
	cr_assert_eq(open_group(), -EPERM);
	cr_assert(strstr(err, "VFIO_SET_IOMMU") && strstr(err, "isolate") &&
		      strstr(err, "allow_unsafe_interrupts=1"),
		  "%s", err);
}

/* The group's node is held by another user (the kernel's -EBUSY): the message names the group
 * and, when it has some, its other devices (from the group's devices directory). */
Test(vfio, a_group_in_use_is_named_with_its_other_devices)
{
	f.group_busy = true;
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert(strstr(err, FAKE_BDF ": IOMMU group 7 (/dev/vfio/7) is in use: another VM or "
				       "process has it open"),
		  "%s", err);
	cr_assert_eq(g.id, 7, "the group's number is known");
	fake_vfio_add_dev(&f, "0000:01:00.1", "vfio-pci");
	fake_vfio_add_dev(&f, "0000:01:00.2", "");
	cr_assert_eq(open_group(), -EBUSY);
	cr_assert(strstr(err, "IOMMU group 7 (/dev/vfio/7, with 0000:01:00.1 0000:01:00.2) is in "
			      "use: another VM or process has it open, or this one has another of "
			      "its devices"),
		  "%s", err);
}

Test(vfio, refuses_a_device_without_iommu_group)
{
	f.group_id = -1;
	cr_assert_eq(open_group(), -ENOENT);
	cr_assert(strstr(err, "no IOMMU group"), "%s", err);
}

Test(vfio, refuses_a_device_without_reset)
{
	f.dev_flags = VFIO_DEVICE_FLAGS_PCI;
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), -ENOTSUP);
	cr_assert(strstr(err, FAKE_BDF ": the device cannot be reset"), "%s", err);
	cr_assert_eq(d.fd, -1);
	f.dev_flags = VFIO_DEVICE_FLAGS_PLATFORM | VFIO_DEVICE_FLAGS_RESET;
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), -ENODEV);
	cr_assert(strstr(err, "not a PCI device"), "%s", err);
}

Test(vfio, region_info_with_sparse_areas_and_msix_mappable)
{
	f.regions[VFIO_PCI_BAR0_REGION_INDEX].msix_mappable = true;
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct vfio_region r;
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_BAR2_REGION_INDEX, &r), 0);
	cr_assert_eq(r.size, 65536);
	cr_assert(r.sparse);
	cr_assert_eq(r.nareas, 2);
	cr_assert_eq(r.areas[1].offset, 0x8000);
	cr_assert_eq(r.areas[1].size, 0x8000);
	cr_assert_not(r.msix_mappable);
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_BAR0_REGION_INDEX, &r), 0);
	cr_assert_not(r.sparse);
	cr_assert(r.msix_mappable);
	cr_assert_eq(r.offset, (uint64_t)VFIO_PCI_BAR0_REGION_INDEX << FAKE_REGION_SHIFT);
}

Test(vfio, region_reads_and_writes_stay_inside)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct vfio_region r;
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_CONFIG_REGION_INDEX, &r), 0);
	uint16_t vendor;
	cr_assert_eq(vfio_region_read(&d, &r, PCI_VENDOR_ID, &vendor, 2), 0);
	cr_assert_eq(vendor, 0x1b36);
	cr_assert_eq(vfio_region_read(&d, &r, 4095, &vendor, 2), -EINVAL);
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_ROM_REGION_INDEX, &r), 0);
	cr_assert_eq(vfio_region_write(&d, &r, 0, &vendor, 2), -EINVAL); /* read-only */
}

Test(vfio, region_mmap_only_where_allowed)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct vfio_region r;
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_BAR0_REGION_INDEX, &r), 0);
	uint8_t *p = vfio_region_mmap(&d, &r, 0x1000, 0x1000);
	cr_assert_eq(p, f.regions[0].data + 0x1000);
	cr_assert_null(vfio_region_mmap(&d, &r, 0x800, 0x1000), "unaligned");
	cr_assert_null(vfio_region_mmap(&d, &r, 0x3000, 0x2000), "past the region");
	cr_assert_eq(vfio_region_get(&d, VFIO_PCI_BAR4_REGION_INDEX, &r), 0);
	cr_assert_null(vfio_region_mmap(&d, &r, 0, 0x1000), "no MMAP flag");
	cr_assert_eq(errno, EINVAL);
}

Test(vfio, dma_map_and_unmap_of_ram_ranges)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	void *low = (void *)(uintptr_t)0x7f0000000000ull,
	     *high = (void *)(uintptr_t)0x7f1000000000ull;
	cr_assert_eq(vfio_dma_map(&c, 0, 0xc0000000ull, low), 0);
	cr_assert_eq(vfio_dma_map(&c, 0x100000000ull, 0x40000000ull, high), 0);
	cr_assert_eq(f.ndma, 2);
	cr_assert(f.dma[0].map);
	cr_assert_eq(f.dma[0].iova, 0);
	cr_assert_eq(f.dma[0].size, 0xc0000000ull);
	cr_assert_eq(f.dma[0].vaddr, (uintptr_t)low);
	cr_assert_eq(f.dma[0].flags, VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	cr_assert_eq(f.dma[1].iova, 0x100000000ull);
	cr_assert_eq(vfio_dma_unmap(&c, 0x100000000ull, 0x40000000ull), 0);
	cr_assert_not(f.dma[2].map);
	/* a range the kernel finds no whole mapping in: reported, not silently taken */
	cr_assert_eq(vfio_dma_unmap(&c, 0x1000, 0x1000), -EIO);
	/* unaligned or empty: refused before the kernel */
	int n = f.ndma;
	cr_assert_eq(vfio_dma_map(&c, 0x800, 0x1000, low), -EINVAL);
	cr_assert_eq(vfio_dma_map(&c, 0, 0, low), -EINVAL);
	cr_assert_eq(vfio_dma_map(&c, 0, 0x1000, (char *)low + 1), -EINVAL);
	cr_assert_eq(vfio_dma_map(&c, 0xfffffffffffff000ull, 0x2000, low), -EINVAL);
	cr_assert_eq(vfio_dma_unmap(&c, 0, 0x10), -EINVAL);
	cr_assert_eq(f.ndma, n);
}

Test(vfio, guest_ram_regions_map_for_dma)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct guest_mem m = {0};
	cr_assert_eq(
	    guest_mem_add_region(&m, 0, (void *)(uintptr_t)0x7f0000000000ull, 0xc0000000ull), 0);
	cr_assert_eq(guest_mem_add_region(&m, 0x100000000ull, (void *)(uintptr_t)0x7f00c0000000ull,
					  0x40000000ull),
		     0);
	cr_assert_eq(vfio_dma_map_ram(&c, &m), 0);
	cr_assert_eq(f.ndma, 2);
	cr_assert(f.dma[0].map && f.dma[1].map);
	cr_assert_eq(f.dma[1].iova, 0x100000000ull);
	cr_assert_eq(f.dma[1].vaddr, 0x7f00c0000000ull);
	cr_assert_eq(vfio_dma_unmap_ram(&c, &m), 0);
	cr_assert_eq(f.ndma, 4);
	cr_assert_not(f.dma[3].map);
	cr_assert_eq(f.dma[3].size, 0x40000000ull);
}

Test(vfio, guest_ram_mapping_is_all_or_nothing)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	struct guest_mem m = {0};
	cr_assert_eq(guest_mem_add_region(&m, 0, (void *)(uintptr_t)0x7f0000000000ull, 0x100000),
		     0);
	/* a region the IOMMU cannot take (not page-aligned in the VMM) */
	cr_assert_eq(
	    guest_mem_add_region(&m, 0x200000, (void *)(uintptr_t)0x7f0000100800ull, 0x100000), 0);
	cr_assert_eq(vfio_dma_map_ram(&c, &m), -EINVAL);
	cr_assert_eq(f.ndma, 2, "the first region was mapped, then unmapped");
	cr_assert(f.dma[0].map);
	cr_assert_not(f.dma[1].map);
	cr_assert_eq(f.dma[1].iova, 0);
}

Test(vfio, irq_eventfds_and_intx_unmask)
{
	cr_assert_eq(fake_vfio_open_all(&f, &c, &g, &d, err, sizeof(err)), 0, "%s", err);
	int32_t fds[3] = {10, -1, 12};
	cr_assert_eq(vfio_irq_set_eventfds(&d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 3, fds), 0);
	cr_assert_eq(f.last_irq.index, VFIO_PCI_MSIX_IRQ_INDEX);
	cr_assert_eq(f.last_irq.count, 3);
	cr_assert_eq(f.last_irq.flags, VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_EVENTFD);
	cr_assert_eq(f.last_fds[0], 10);
	cr_assert_eq(f.last_fds[1], -1);
	cr_assert_eq(f.last_fds[2], 12);
	cr_assert_eq(vfio_irq_set_eventfds(&d, VFIO_PCI_MSIX_IRQ_INDEX, 0, 0, NULL), 0);
	cr_assert_eq(f.last_irq.flags, VFIO_IRQ_SET_ACTION_TRIGGER | VFIO_IRQ_SET_DATA_NONE);
	cr_assert_eq(f.last_irq.count, 0);
	cr_assert_eq(vfio_intx_set_unmask_eventfd(&d, 20), 0);
	cr_assert_eq(f.last_irq.index, VFIO_PCI_INTX_IRQ_INDEX);
	cr_assert_eq(f.last_irq.flags, VFIO_IRQ_SET_ACTION_UNMASK | VFIO_IRQ_SET_DATA_EVENTFD);
	cr_assert_eq(f.last_fds[0], 20);
}

Test(vfio, real_ops_fail_cleanly_without_vfio)
{
	/* no /dev/vfio here (or no rights): a clear error, never a crash */
	int rc = vfio_container_open(&c, &vfio_sys_ops, NULL, err, sizeof(err));
	if (rc == 0) {
		vfio_container_close(&c);
		cr_skip_test("this host has VFIO");
	}
	cr_assert(rc < 0);
	cr_assert(strstr(err, "/dev/vfio/vfio"), "%s", err);
}
