#include "vmm/vm/vm_firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/host_path.h"
#include "base/layout.h"
#include "base/log.h"
#include "devices/fw_cfg/fw_cfg.h"
#include "devices/fw_cfg/fw_cfg_machine.h"
#include "devices/fw_cfg/table_loader.h"
#include "devices/pci/piix4_pm.h"
#include "devices/pflash.h"
#include "devices/vmgenid.h"
#include "devices/x86/debugcon.h"
#include "devices/x86/rtc_cmos.h"
#include "firmware/acpi/acpi.h"
#include "loaders/x86/firmware_image.h"
#include "loaders/x86/firmware_vars.h"
#include "vmm/vm/vm.h"
#include "vmm/vm/vm_pci.h"
#include "vmm/vm/x86/vm_devices_arch.h"

struct vm_firmware {
	struct firmware_image img;
	struct firmware_vars vars; /* --firmware-vars, the flash below the image */
	struct pflash flash;
	struct kvm *kvm; /* for the flash's mapping; NULL: no KVM (a description) */
	bool flash_attached;
	struct fw_cfg fw_cfg;
	struct debugcon debugcon;
	struct piix4_pm pm;
	bool fw_cfg_ready, fw_cfg_attached, debugcon_attached, pm_attached;
	int log_fd; /* --firmware-log, or -1 */
};

/* A debug console line to --firmware-log (a vCPU thread; a failed write loses the line). */
static void log_line(void *opaque, const char *line)
{
	struct vm_firmware *f = opaque;
	char buf[DEBUGCON_LINE_MAX + 2];
	int n = snprintf(buf, sizeof(buf), "%s\n", line);

	if (n > 0 && write(f->log_fd, buf, (size_t)n) < 0)
		log_debug("--firmware-log: %s", strerror(errno));
}

int vm_firmware_open(struct vm *vm, bool boot)
{
	struct vm_firmware *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	vm->firmware = f;
	f->log_fd = -1;
	f->vars.fd = -1;
	int err = vm->cfg->firmware_vars ? firmware_vars_open(&f->vars, vm->cfg->firmware_vars) : 0;
	if (!err)
		err = firmware_image_open(&f->img, vm->cfg->firmware, f->vars.size);
	if (err || !boot || !vm->cfg->firmware_log)
		return err;
	char why[HOST_PATH_ERR_MAX];
	/* a reboot's boot writes after the last boot's lines (vmm/vm/reboot.h) */
	int trunc = vm->cfg->restarted ? O_APPEND : O_TRUNC;
	f->log_fd = host_path_open(vm->cfg->firmware_log, O_WRONLY | O_CREAT | trunc, 0644,
				   HOST_PATH_REGULAR | HOST_PATH_FIFO, why, sizeof(why));
	if (f->log_fd < 0) {
		err = f->log_fd;
		log_error("--firmware-log %s", why);
	}
	return err;
}

bool vm_firmware_legacy_bios(const struct vm *vm)
{
	return vm->firmware && vm->firmware->img.size <= FIRMWARE_SHADOW_MAX;
}

/* etc/e820: the RAM regions as they are (QEMU's layout); SeaBIOS and OVMF reserve their own
 * areas inside them. */
static int add_memory_map(struct fw_cfg *c, const struct guest_mem *mem)
{
	struct fw_cfg_e820 e[GUEST_MEM_MAX_REGIONS];

	for (int i = 0; i < mem->nregions; i++)
		e[i] = (struct fw_cfg_e820){mem->regions[i].gpa, mem->regions[i].size, 1};
	return fw_cfg_add_e820(c, e, mem->nregions);
}

#define ACPI_TABLES	  "etc/acpi/tables"
#define ACPI_RSDP	  "etc/acpi/rsdp"
#define VMGENID_GUID	  "etc/vmgenid_guid"
#define VMGENID_ADDR_FILE "etc/vmgenid_addr"

/* The table-loader commands for `b`: the RSDP in the F segment (where a legacy OS scans for it),
 * the tables anywhere below 4 GiB, then the pointers and checksums (QEMU's order). */
static void build_loader(struct table_loader *l, const struct acpi_blobs *b)
{
	table_loader_allocate(l, ACPI_RSDP, 16, TABLE_LOADER_ZONE_FSEG);
	table_loader_allocate(l, ACPI_TABLES, 64, TABLE_LOADER_ZONE_HIGH);
	if (b->layout.vmgenid_ptr) /* a page of its own, as QEMU's */
		table_loader_allocate(l, VMGENID_GUID, VMGENID_FW_BLOB_SIZE,
				      TABLE_LOADER_ZONE_HIGH);
	for (int i = 0; i < b->nrelocs; i++)
		table_loader_add_pointer(l, b->relocs[i].in_rsdp ? ACPI_RSDP : ACPI_TABLES,
					 b->relocs[i].to_vmgenid ? VMGENID_GUID : ACPI_TABLES,
					 b->relocs[i].offset, b->relocs[i].size);
	for (int i = 0; i < b->nsums; i++)
		table_loader_add_checksum(l, b->sums[i].in_rsdp ? ACPI_RSDP : ACPI_TABLES,
					  b->sums[i].offset, b->sums[i].start, b->sums[i].len);
	if (b->layout.vmgenid_ptr) /* the firmware tells the VMM where the ID landed */
		table_loader_write_pointer(l, VMGENID_ADDR_FILE, 0, VMGENID_GUID,
					   VMGENID_FW_ID_OFFSET, 8);
}

/* The VM generation ID for the firmware to place (base/layout.h's VMGENID_FW_*): the ID in a
 * page of zeros, and the 8 bytes the firmware writes its address to. */
static int add_vmgenid(struct fw_cfg *c, const struct vmgenid *g)
{
	uint8_t *page = calloc(1, VMGENID_FW_BLOB_SIZE), addr[8] = {0};

	if (!page)
		return -ENOMEM;
	memcpy(page + VMGENID_FW_ID_OFFSET, g->id, VMGENID_SIZE);
	int key = fw_cfg_add_file(c, VMGENID_GUID, page, VMGENID_FW_BLOB_SIZE, false);
	free(page);
	if (key >= 0)
		key = fw_cfg_add_file(c, VMGENID_ADDR_FILE, addr, sizeof(addr), true);
	return key < 0 ? key : 0;
}

/* The machine's ACPI tables (firmware/acpi, the same as a direct boot's) for the firmware to
 * install: SeaBIOS and OVMF run etc/table-loader and hand the RSDP on to the OS. */
static int add_acpi(struct fw_cfg *c, const struct machine *m, const struct vmgenid *g)
{
	struct acpi_blobs b;
	struct table_loader l;
	int err = acpi_build_blobs(m, &b);

	if (err) {
		log_error("acpi: cannot build the tables for this machine: %s", strerror(-err));
		return err;
	}
	if (b.layout.vmgenid_ptr && (!g || (err = add_vmgenid(c, g)))) {
		log_error("acpi: cannot hand the firmware the VM generation ID: %s",
			  strerror(g ? -err : EINVAL));
		acpi_blobs_free(&b);
		return g ? err : -EINVAL;
	}
	table_loader_init(&l);
	build_loader(&l, &b);
	err = fw_cfg_add_acpi(c, b.tables, (uint32_t)b.tables_len, b.rsdp, sizeof(b.rsdp), &l);
	table_loader_free(&l);
	acpi_blobs_free(&b);
	return err;
}

/* A DMA write into a writable fw_cfg file (a vCPU's thread): only etc/vmgenid_addr is one. */
static void fw_cfg_written(void *opaque, uint16_t key)
{
	(void)key;
	vm_devices_vmgenid_placed(opaque);
}

static int setup_fw_cfg(struct vm *vm, struct vm_firmware *f)
{
	int err = fw_cfg_init(&f->fw_cfg, &vm->mem);

	f->fw_cfg_ready = true;
	f->fw_cfg.on_write = fw_cfg_written;
	f->fw_cfg.on_write_opaque = vm;
	if (!err)
		err = fw_cfg_add_machine(&f->fw_cfg, (uint16_t)vm->ncpus, (uint16_t)vm->ncpus,
					 vm->mem.ram_size, 0);
	if (!err)
		err = add_memory_map(&f->fw_cfg, &vm->mem);
	if (!err && !vm->cfg->acpi_off)
		err = add_acpi(&f->fw_cfg, &vm->machine, vm_devices_vmgenid(vm));
	if (!err)
		err = vm_firmware_add_boot(vm, &f->fw_cfg);
	uint64_t low = vm->mem.ram_size < MMIO_HOLE_START ? vm->mem.ram_size : MMIO_HOLE_START;
	if (vm_devices_rtc(vm))
		rtc_cmos_set_memory(vm_devices_rtc(vm), low, vm->mem.ram_size - low);
	if (!err && !(err = fw_cfg_attach_pio(&f->fw_cfg, &vm->pio)))
		f->fw_cfg_attached = true;
	if (f->log_fd >= 0)
		f->debugcon.on_line = log_line, f->debugcon.opaque = f;
	if (!err && !(err = debugcon_attach(&f->debugcon, &vm->pio)))
		f->debugcon_attached = true;
	return err;
}

/* A UEFI image (larger than a legacy BIOS: OVMF) gets the platform OVMF's code knows: an i440FX
 * host bridge and the PIIX4 power-management function at 00:01.3 with its ACPI PM timer, which
 * OVMF's timer library requires. SeaBIOS keeps the generic bridge: its i440FX code would look
 * for the PIIX3 ISA bridge and the PAM registers. Needs the PCI bus (a --transport pci device). */
static int setup_uefi_platform(struct vm *vm, struct vm_firmware *f)
{
	if (vm_firmware_legacy_bios(vm))
		return 0;
	if (!vm->pci) {
		log_warn("--firmware %s: a UEFI firmware needs the PCI bus: give a device "
			 "--transport pci (OVMF has no virtio-mmio driver either)",
			 vm->cfg->firmware);
		return 0;
	}
	pci_bus_set_host_bridge_id(&vm->pci->bus, PCI_I440FX_VENDOR, PCI_I440FX_DEVICE);
	int err = piix4_pm_attach(&f->pm, &vm->pci->bus, &vm->pio, &vm->control);
	f->pm_attached = !err;
	if (err)
		log_error("--firmware: cannot add the PIIX4 PM function at 00:01.3: %s",
			  strerror(-err));
	return err;
}

/* The variable store's array for the guest's reads: mapped read-only in read-array mode, gone
 * otherwise (devices/pflash.h); writes reach the flash as MMIO either way. */
static int map_vars(void *opaque, bool on)
{
	struct vm_firmware *f = opaque;
	return kvm_map_rom(f->kvm, FIRMWARE_VARS_SLOT, f->flash.base, on ? f->vars.host : NULL,
			   on ? f->vars.size : 0);
}

/* The variable store as flash right below the image (--firmware-vars). */
static int attach_flash(struct vm *vm, struct vm_firmware *f, bool with_kvm)
{
	if (!f->vars.host)
		return 0;
	f->kvm = with_kvm ? &vm->kvm : NULL;
	int err = pflash_attach(&f->flash, &vm->mmio, f->img.gpa - f->vars.size, f->vars.host,
				f->vars.size, "firmware-vars", with_kvm ? map_vars : NULL, f);
	f->flash_attached = !err;
	return err;
}

int vm_firmware_setup(struct vm *vm, bool with_kvm)
{
	struct vm_firmware *f = vm->firmware;
	int err = firmware_image_shadow(&f->img, &vm->mem);

	if (err) {
		log_error("--firmware: guest RAM does not cover the BIOS window below 1 MiB");
		return VMM_EXIT_USAGE;
	}
	if (with_kvm &&
	    kvm_map_rom(&vm->kvm, FIRMWARE_ROM_SLOT, f->img.gpa, f->img.host, f->img.size))
		return VMM_EXIT_ERROR;
	if (attach_flash(vm, f, with_kvm) || setup_uefi_platform(vm, f))
		return VMM_EXIT_ERROR;
	if ((err = setup_fw_cfg(vm, f))) {
		log_error("--firmware: cannot set up fw_cfg: %s", strerror(-err));
		return vmm_exit_status(err); /* 2 for a kernel or initrd that cannot be booted so */
	}
	log_info("firmware %s: %llu KiB at 0x%llx, the boot vCPU at the reset vector",
		 vm->cfg->firmware, (unsigned long long)(f->img.size >> 10),
		 (unsigned long long)f->img.gpa);
	if (f->flash_attached)
		log_info("firmware variables %s: %llu KiB of flash at 0x%llx",
			 vm->cfg->firmware_vars, (unsigned long long)(f->vars.size >> 10),
			 (unsigned long long)f->flash.base);
	return 0;
}

int vm_firmware_restore(struct vm *vm, bool with_kvm)
{
	struct vm_firmware *f = vm->firmware;

	if (with_kvm &&
	    kvm_map_rom(&vm->kvm, FIRMWARE_ROM_SLOT, f->img.gpa, f->img.host, f->img.size))
		return VMM_EXIT_ERROR;
	return attach_flash(vm, f, with_kvm) || setup_uefi_platform(vm, f) ? VMM_EXIT_ERROR : 0;
}

struct pflash *vm_firmware_flash(struct vm *vm)
{
	return vm->firmware && vm->firmware->flash_attached ? &vm->firmware->flash : NULL;
}

struct piix4_pm *vm_firmware_piix4_pm(struct vm *vm)
{
	return vm->firmware && vm->firmware->pm_attached ? &vm->firmware->pm : NULL;
}

struct fw_cfg *vm_firmware_fw_cfg(struct vm *vm)
{
	return vm->firmware && vm->firmware->fw_cfg_ready ? &vm->firmware->fw_cfg : NULL;
}

uint64_t vm_firmware_vmgenid_addr(struct vm *vm)
{
	struct fw_cfg *c = vm_firmware_fw_cfg(vm);
	uint8_t raw[8];
	uint64_t gpa = 0;

	if (!c || fw_cfg_read_file(c, VMGENID_ADDR_FILE, raw, sizeof(raw)))
		return 0;
	for (int i = 7; i >= 0; i--)
		gpa = gpa << 8 | raw[i];
	return gpa;
}

void vm_firmware_destroy(struct vm *vm)
{
	struct vm_firmware *f = vm->firmware;

	if (!f)
		return;
	if (f->debugcon_attached)
		debugcon_detach(&f->debugcon, &vm->pio);
	if (f->fw_cfg_attached)
		fw_cfg_detach_pio(&f->fw_cfg, &vm->pio);
	if (f->fw_cfg_ready)
		fw_cfg_destroy(&f->fw_cfg);
	if (f->pm_attached) /* the bus may be gone (vm_pci_destroy() runs first) */
		piix4_pm_detach(&f->pm, vm->pci ? &vm->pci->bus : NULL);
	if (f->flash_attached) {
		log_info("firmware variables: %llu bytes programmed, %llu blocks erased, the array "
			 "mapped or unmapped %llu times",
			 (unsigned long long)f->flash.programs, (unsigned long long)f->flash.erases,
			 (unsigned long long)f->flash.remaps);
		pflash_detach(&f->flash, &vm->mmio);
	}
	firmware_vars_free(&f->vars); /* synced to the file first */
	firmware_image_free(&f->img);
	if (f->log_fd >= 0)
		close(f->log_fd);
	free(f);
	vm->firmware = NULL;
}
