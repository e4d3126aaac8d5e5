#include "vmm/vm/vm_firmware.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/errors.h"
#include "base/log.h"
#include "devices/fw_cfg/fw_cfg.h"
#include "devices/fw_cfg/fw_cfg_machine.h"
#include "devices/x86/debugcon.h"
#include "loaders/x86/firmware_image.h"
#include "vmm/vm/vm.h"

struct vm_firmware {
	struct firmware_image img;
	struct fw_cfg fw_cfg;
	struct debugcon debugcon;
	bool fw_cfg_ready, fw_cfg_attached, debugcon_attached;
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

int vm_firmware_open(struct vm *vm)
{
	struct vm_firmware *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	vm->firmware = f;
	f->log_fd = -1;
	int err = firmware_image_open(&f->img, vm->cfg->firmware);
	if (err || !vm->cfg->firmware_log)
		return err;
	f->log_fd = open(vm->cfg->firmware_log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f->log_fd < 0) {
		err = -errno;
		log_error("--firmware-log %s: %s", vm->cfg->firmware_log, strerror(-err));
	}
	return err;
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

static int setup_fw_cfg(struct vm *vm, struct vm_firmware *f)
{
	int err = fw_cfg_init(&f->fw_cfg, &vm->mem);

	f->fw_cfg_ready = true;
	if (!err)
		err = fw_cfg_add_machine(&f->fw_cfg, (uint16_t)vm->ncpus, (uint16_t)vm->ncpus,
					 vm->mem.ram_size, 0);
	if (!err)
		err = add_memory_map(&f->fw_cfg, &vm->mem);
	if (!err && !(err = fw_cfg_attach_pio(&f->fw_cfg, &vm->pio)))
		f->fw_cfg_attached = true;
	if (f->log_fd >= 0)
		f->debugcon.on_line = log_line, f->debugcon.opaque = f;
	if (!err && !(err = debugcon_attach(&f->debugcon, &vm->pio)))
		f->debugcon_attached = true;
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
	if ((err = setup_fw_cfg(vm, f))) {
		log_error("--firmware: cannot set up fw_cfg: %s", strerror(-err));
		return VMM_EXIT_ERROR;
	}
	log_info("firmware %s: %llu KiB at 0x%llx, the boot vCPU at the reset vector",
		 vm->cfg->firmware, (unsigned long long)(f->img.size >> 10),
		 (unsigned long long)f->img.gpa);
	return 0;
}

struct fw_cfg *vm_firmware_fw_cfg(struct vm *vm)
{
	return vm->firmware && vm->firmware->fw_cfg_ready ? &vm->firmware->fw_cfg : NULL;
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
	firmware_image_free(&f->img);
	if (f->log_fd >= 0)
		close(f->log_fd);
	free(f);
	vm->firmware = NULL;
}
