/* The runtime's C entry: called by start.S on the BSP in long mode. */
#include "apic.h"
#include "pvh.h"
#include "serial.h"
#include "test.h"
#include "trap.h"

_Noreturn void runtime_main(uint32_t start_info_paddr);

void runtime_main(uint32_t start_info_paddr)
{
	int rc;

	serial_init();
	trap_init();
	pic_disable();
	if (pvh_init(start_info_paddr) < 0)
		guest_exit(GUEST_EXIT_FAIL);
	printf("runtime: start_info 0x%x cmdline \"%s\"\n", start_info_paddr, pvh_cmdline());
	rc = guest_main();
	if (rc != 0)
		printf("FAIL: guest_main returned %d\n", rc);
	guest_exit(rc == 0 ? GUEST_EXIT_PASS : GUEST_EXIT_FAIL);
}
