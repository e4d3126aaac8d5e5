#include "psci.h"

/* SMCCC: arguments and results in x0-x3; x4-x17 may be clobbered by an SMCCC 1.0 callee. */
#define SMCCC_CALL(insn)                                                                           \
	register uint64_t x0 __asm__("x0") = fn;                                                   \
	register uint64_t x1 __asm__("x1") = a1;                                                   \
	register uint64_t x2 __asm__("x2") = a2;                                                   \
	register uint64_t x3 __asm__("x3") = a3;                                                   \
	__asm__ volatile(insn                                                                      \
			 : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)                                  \
			 :                                                                         \
			 : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",  \
			   "x15", "x16", "x17", "memory");                                         \
	return (int64_t)x0

int64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	SMCCC_CALL("hvc #0");
}

int64_t psci_call_hvc1(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	SMCCC_CALL("hvc #1");
}

int64_t psci_call_smc(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	SMCCC_CALL("smc #0");
}
