#!/bin/sh
# System-call cost from guest user space: 64-bit (SYSCALL) and 32-bit (INT $0x80) getpid().
syscall-cost 2000 || exit 1
syscall-cost32 200 || exit 1
