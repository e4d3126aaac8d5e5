/* Test verdicts and exit. A guest ends through the isa-debug-exit port (0xf4): writing code v
 * makes QEMU (and our VMM with --debug-exit) exit with status (v << 1) | 1.
 *   guest_exit(GUEST_EXIT_PASS)      -> status 1, the only pass
 *   guest_exit(GUEST_EXIT_FAIL)      -> status 33 (a TEST_ASSERT failed, or guest_main() != 0)
 *   guest_exit(GUEST_EXIT_EXCEPTION) -> status 35 (an unexpected CPU exception)
 * The fail codes avoid 1..3 on purpose: status 3 would be confused with our VMM's triple-fault
 * status, 1 with a VMM or QEMU that failed before running the guest. Scripts must check the
 * serial output ("TEST PASS") as well as the status for the same reason. */
#ifndef GUEST_TEST_H
#define GUEST_TEST_H

#include <stdint.h>

#include "printf.h"

#define GUEST_EXIT_PASS	     0x00
#define GUEST_EXIT_FAIL	     0x10
#define GUEST_EXIT_EXCEPTION 0x11
#define DEBUG_EXIT_PORT	     0xf4

/* Every guest defines this; returning 0 passes, anything else fails. Runs on the BSP, ring 0,
 * with interrupts disabled, the IDT loaded and COM1 ready. */
int guest_main(void);

/* Prints "TEST PASS" (code 0) or "TEST FAIL (code N)" and leaves through the debug-exit port.
 * If nothing listens on the port, halts forever (the caller's timeout then ends the run). */
_Noreturn void guest_exit(uint32_t code);

/* Prints "FAIL: file:line: message", then calls test_fail_hook (when set) with the message, and
 * exits with GUEST_EXIT_FAIL. */
_Noreturn void test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Called by test_fail() with the failure's message just before the exit: a guest that wants its
 * failures in a form of its own (the hostile guest's fuzz mode: "GUEST-FUZZ FAIL seed=...")
 * prints it here. */
extern void (*test_fail_hook)(const char *msg);

#define TEST_ASSERT(cond)                                                                          \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail(__FILE__, __LINE__, "assertion failed: %s", #cond);              \
	} while (0)

#define TEST_ASSERT_MSG(cond, ...)                                                                 \
	do {                                                                                       \
		if (!(cond))                                                                       \
			test_fail(__FILE__, __LINE__, __VA_ARGS__);                                \
	} while (0)

/* Compares two integers as uint64_t and prints both values when they differ. */
#define TEST_ASSERT_EQ(a, b)                                                                       \
	do {                                                                                       \
		uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                   \
		if (a_ != b_)                                                                      \
			test_fail(__FILE__, __LINE__, "%s == %s: 0x%llx != 0x%llx", #a, #b,        \
				  (unsigned long long)a_, (unsigned long long)b_);                 \
	} while (0)

#endif
