#!/usr/bin/env bash
# tools/bench boot in quick mode (one run per VMM): the default Linux guest booted to its shell
# on our VMM and on QEMU microvm, and the table row written. Never asserts a timing (shared
# hosts). The rest of tools/bench is bench_quick.sh.
# labels: bench
# requires: kvm
# resource: linux:1
# timeout: 900
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

out="$LIB_TMP/bench"
RUN_LABEL="tools/bench boot --quick"
if VMM="$VMM" GUESTS="$GUESTS" QEMU="$QEMU" "$SOURCE_DIR/tools/bench" boot --quick \
	--boot-timeout 300 --out "$out" >"$LIB_TMP/bench.out" 2>"$LIB_TMP/bench.err"; then
	lib_ok "exit status 0"
else
	lib_fail "exit status $?"
	tail -n 60 "$LIB_TMP/bench.err"
fi
cat "$LIB_TMP/bench.out"

RUN_OUT="$out/results.md"
[ -f "$RUN_OUT" ] || : >"$RUN_OUT"
expect_output '^\| boot \| launch to .Run /init. on serial \(s\) \| lower \| [0-9]'
expect_output '^\| boot \| launch to the shell prompt \(s\) \| lower \| [0-9]'
have_qemu && expect_output '^\| bench \| metric \| better \| vmm \| qemu-microvm \|'
finish
