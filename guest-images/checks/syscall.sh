#!/bin/sh
# System-call cost from guest user space: 64-bit (SYSCALL on x86, SVC on arm64) getpid(), and on
# x86 the 32-bit one (INT $0x80; the arm64 guest has no AArch32 and no syscall-cost32).
syscall-cost 2000 || exit 1
if [ -x /usr/bin/syscall-cost32 ]; then
	syscall-cost32 200 || exit 1
fi
