/* vmm/config/vm_config.c: the defaults every configuration starts from. */
#include <criterion/criterion.h>
#include <string.h>

#include "vmm/config/vm_config.h"

Test(vm_config, starts_from_the_documented_defaults)
{
	struct vm_config cfg;
	memset(&cfg, 0xa5, sizeof(cfg)); /* whatever was there before goes */
	vm_config_init(&cfg);
	cr_assert_eq(cfg.mem_size, 256ULL << 20);
	cr_assert_eq(cfg.ncpus, 1);
	cr_assert_str_eq(cfg.kvm_path, "/dev/kvm");
	cr_assert_str_eq(cfg.append, "");
	cr_assert_eq(cfg.io_poll_us, VM_IO_POLL_AUTO);
	cr_assert_eq(cfg.transport, TRANSPORT_MMIO);
	cr_assert_null(cfg.kernel);
	cr_assert_null(cfg.firmware);
	cr_assert_eq(cfg.nrecorded, 0);
	for (int i = 0; i < VM_MAX_DEVICE_KINDS; i++)
		cr_assert_null(cfg.device_cfg[i]);
}
