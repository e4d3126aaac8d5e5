# tools/bench boot in quick mode (one run per VMM): the default Linux guest booted to its shell
# on our VMM and on QEMU microvm, and the table row written. Never asserts a timing (shared
# hosts). The rest of tools/bench is test_bench_quick.py.
# labels: bench
# requires: kvm
# resource: linux:1
# timeout: 900
from bench_util import expect_row, run_bench
from framework import host, paths


def test_boot(vms):
    status, text, _ = run_bench(vms, "boot", timeout=840)
    assert status == 0, f"tools/bench boot --quick: exit status {status}"
    expect_row(text, r"^\| boot \| launch to .Run /init. on serial \(s\) \| lower \| [0-9]")
    expect_row(text, r"^\| boot \| launch to the shell prompt \(s\) \| lower \| [0-9]")
    if host.has(paths.QEMU):
        expect_row(text, r"^\| bench \| metric \| better \| vmm \| qemu-microvm \|")
