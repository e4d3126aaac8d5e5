/* PSCI (Arm DEN0022) through HVC, the conduit our VMM's and QEMU's device trees name. */
#ifndef GUEST_AARCH64_PSCI_H
#define GUEST_AARCH64_PSCI_H

#include <stdint.h>

#define PSCI_VERSION	   0x84000000u
#define PSCI_CPU_OFF	   0x84000002u
#define PSCI_CPU_ON	   0xc4000003u /* SMC64 */
#define PSCI_AFFINITY_INFO 0xc4000004u
#define PSCI_MIGRATE_INFO  0x84000006u
#define PSCI_SYSTEM_OFF	   0x84000008u
#define PSCI_SYSTEM_RESET  0x84000009u
#define PSCI_FEATURES	   0x8400000au

#define PSCI_SUCCESS	     0
#define PSCI_NOT_SUPPORTED   (-1)
#define PSCI_INVALID_PARAMS  (-2)
#define PSCI_DENIED	     (-3)
#define PSCI_ALREADY_ON	     (-4)
#define PSCI_ON_PENDING	     (-5)
#define PSCI_INTERNAL_FAIL   (-6)
#define PSCI_NOT_PRESENT     (-7)
#define PSCI_DISABLED	     (-8)
#define PSCI_INVALID_ADDRESS (-9)

/* An SMCCC call: function `fn`, arguments a1..a3, through `hvc #0`; returns x0. */
int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
/* The same through `hvc #imm` with a nonzero immediate, or `smc #0` (hostile calls). */
int64_t psci_call_hvc1(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);
int64_t psci_call_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

#endif
