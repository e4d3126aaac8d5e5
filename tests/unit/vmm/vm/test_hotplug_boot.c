/* The PCI hotplug slot table's boot devices (vmm/vm/hotplug.h): a virtio-pci boot device that
 * may be removed takes an entry with its API id in its own slot; it is found for a remove but is
 * no hot-added device (its descriptor keeps it, PATCH and GET find it as a boot device's); the
 * devices after a slot are listed (the removable ones, and the first one that is not, which
 * would move in a restore); an adopted one (recorded with hotplug-slot=) is a hot-added one
 * from then on. A fake bus: no KVM, no device model, and kinds of the test's own (the VM knows
 * none: the descriptors define theirs). */
#include <criterion/criterion.h>
#include <stdlib.h>

#include "devices/pci/pci.h"
#include "vmm/vm/hotplug.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"

static struct vm vm;
static struct vm_pci bus;
static struct vm_pci_dev pdev[6];
static struct pci_func func[6];
static char model[6]; /* a device model's address is all the table compares */

#define DEV(n) ((const struct virtio_dev *)(const void *)&model[n])

/* The kinds: compared by address, a kept one's instance named by its name. */
static const struct vm_hotplug_kind disk = {.name = "disk"}, net = {.name = "net"},
				    rng = {.name = "rng", .kept = true},
				    widget = {.name = "widget", .kept = true};

/* Bus 0 of a VM started with --transport pci --disk root,root --disk d1 --disk d2,id=data2
 * --net tap=t0 --rng: the root disk in 1, the disks in 2 and 3, the NIC in 4, the rng in 5. */
static void setup(void)
{
	vm = (struct vm){0};
	bus = (struct vm_pci){0};
	vm.pci = &bus;
	for (int s = 1; s <= 5; s++) {
		pdev[s] =
		    (struct vm_pci_dev){.pci = &bus, .dev = (struct virtio_dev *)DEV(s), .slot = s};
		bus.devs[bus.ndevs++] = &pdev[s];
		bus.bus.funcs[PCI_DEVFN(s, 0)] = &func[s];
	}
	vm_hotplug_boot_removable(&vm, "drive1", &disk, DEV(2));
	vm_hotplug_boot_removable(&vm, "data2", &disk, DEV(3));
	vm_hotplug_boot_removable(&vm, "net0", &net, DEV(4));
}

static void teardown(void)
{
	vm_hotplug_destroy(&vm);
}

TestSuite(hotplug_boot, .init = setup, .fini = teardown);

Test(hotplug_boot, a_boot_device_is_found_for_a_remove_only)
{
	const struct vm_hotplug_kind *kind;
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "drive1", &kind), 2);
	cr_assert_eq(kind, &disk);
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "net0", &kind), 4);
	cr_assert_eq(kind, &net);
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "drive0", &kind), -1, "the root disk: not listed");
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "nope", &kind), -1);
	cr_assert_not(vm_hotplug_has_id(&vm, "drive1"), "no hot-added device");
	cr_assert_null(vm_hotplug_device(&vm, "drive1", &disk), "its descriptor's");
	cr_assert_eq(vm_hotplug_count(&vm, NULL), 0);
}

Test(hotplug_boot, a_device_off_the_bus_is_not_listed)
{
	const struct vm_hotplug_kind *kind;
	vm_hotplug_boot_removable(&vm, "drive9", &disk, DEV(0)); /* virtio-mmio */
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "drive9", &kind), -1);
}

Test(hotplug_boot, the_devices_after_a_slot)
{
	struct vm_hotplug_boot later[32];
	int fixed, n = vm_hotplug_boot_after(&vm, 2, later, 32, &fixed);
	cr_assert_eq(n, 2);
	cr_assert_eq(later[0].slot, 3);
	cr_assert_str_eq(later[0].id, "data2");
	cr_assert_eq(later[1].slot, 4);
	cr_assert_eq(later[1].kind, &net);
	cr_assert_eq(fixed, 5, "the rng would move");
	n = vm_hotplug_boot_after(&vm, 5, later, 32, &fixed);
	cr_assert_eq(n, 0);
	cr_assert_eq(fixed, 0, "nothing after the last device");
	bus.bus.funcs[PCI_DEVFN(5, 0)] = NULL; /* no rng */
	n = vm_hotplug_boot_after(&vm, 2, later, 1, &fixed);
	cr_assert_eq(n, 1, "at most max");
	cr_assert_eq(fixed, 0, "a removable one past max is not fixed");
}

Test(hotplug_boot, an_adopted_device_is_a_hot_added_one)
{
	const struct vm_hotplug_kind *kind;
	struct vm_hotplug_boot later[32];
	int fixed;
	vm_hotplug_boot_adopt(&vm, 3);
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "data2", &kind), -1);
	cr_assert(vm_hotplug_has_id(&vm, "data2"));
	cr_assert_eq(vm_hotplug_device(&vm, "data2", &disk), DEV(3));
	cr_assert_null(vm_hotplug_device(&vm, "data2", &net), "asked as another kind's");
	cr_assert_eq(vm_hotplug_count(&vm, NULL), 1);
	int n = vm_hotplug_boot_after(&vm, 2, later, 32, &fixed);
	cr_assert_eq(n, 1, "the adopted one keeps its slot by its record");
	cr_assert_str_eq(later[0].id, "net0");
	cr_assert_eq(fixed, 5);
}

/* A kept boot device (an rng, a balloon: never removed, vm_hotplug_boot_kept()) is listed after
 * a slot with its kind, so its record keeps its slot; it is found neither for a remove nor as a
 * hot-added device, its slot is no hotplug slot, and an adopt leaves it a kept one. */
Test(hotplug_boot, a_kept_device_is_listed_never_removed)
{
	const struct vm_hotplug_kind *kind;
	struct vm_hotplug_boot later[32];
	int fixed;
	vm_hotplug_boot_kept(&vm, &rng, DEV(5));
	int n = vm_hotplug_boot_after(&vm, 2, later, 32, &fixed);
	cr_assert_eq(n, 3);
	cr_assert_eq(later[2].slot, 5);
	cr_assert_eq(later[2].kind, &rng);
	cr_assert_eq(fixed, 0, "the rng keeps its slot: nothing would move");
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "rng", &kind), -1, "not removable");
	cr_assert_not(vm_hotplug_has_id(&vm, "rng"));
	cr_assert_null(vm_hotplug_device(&vm, "rng", &rng));
	cr_assert_eq(vm_hotplug_count(&vm, NULL), 0, "no hot-added device");
	vm_hotplug_boot_adopt(&vm, 5);
	n = vm_hotplug_boot_after(&vm, 4, later, 32, &fixed);
	cr_assert_eq(n, 1, "listed again: its record has its slot, nothing to rewrite");
	cr_assert_eq(later[0].kind, &rng);
	cr_assert_str_eq(later[0].id, "rng", "its kind's name");
	cr_assert_not(vm_hotplug_has_id(&vm, "rng"), "still no hot-added device");
}

/* Any kind may be a kept one: its entry has the kind's name, whatever it is. */
Test(hotplug_boot, a_kind_says_whether_it_is_kept)
{
	const struct vm_hotplug_kind *kind;
	struct vm_hotplug_boot later[32];
	int fixed;
	vm_hotplug_boot_kept(&vm, &widget, DEV(5));
	int n = vm_hotplug_boot_after(&vm, 4, later, 32, &fixed);
	cr_assert_eq(n, 1);
	cr_assert_eq(later[0].kind, &widget);
	cr_assert_str_eq(later[0].id, "widget");
	cr_assert_eq(vm_hotplug_boot_slot(&vm, "widget", &kind), -1, "not removable");
	cr_assert_eq(fixed, 0);
}
