# COM1's output into a named pipe and through a byte bucket (issue 49: Firecracker 1.17's
# PUT /serial, serial_out_path "a file or named pipe" and rate_limiter; here --console
# file:PATH,bw=..., the option the API's body becomes):
#   1. a FIFO a reader drains gets the guest's output, and the guest passes;
#   2. a FIFO nobody reads is opened without waiting for a reader and never holds up the VMM:
#      the guest passes and the VMM ends within its time;
#   3. a tiny bucket drops what it cannot pay for: the guest still passes (its TEST PASS line is
#      dropped, not delayed), and a guest left running shows the dropped bytes in the metrics'
#      uart.rate_limiter_dropped_bytes (GET /vmm/metrics), and COM1's registers there, before it
#      is stopped with SIGTERM.
# labels: guests api
# requires: kvm
# timeout: 120
import os
import signal
import time

import pytest

from framework.guests import PASS, boot_vmm, expect_status, guest_path
from framework.proc import wait_until
from framework.vm import sigterm_then_wait


@pytest.fixture
def fifo(workdir):
    path = workdir / "serial.fifo"
    os.mkfifo(path)
    return path


def test_fifo_drained_by_a_reader(vms, fifo):
    reader = vms.process(["cat", fifo], name="reader")
    run = boot_vmm(vms, "hello", "--console", f"file:{fifo}", timeout=30)
    expect_status(run, PASS)
    reader.wait(30)  # our end closed with the VMM: the reader sees EOF
    assert "\nTEST PASS\n" in "\n" + reader.out, \
        f"the FIFO's reader got: {reader.out[:300]!r}"


def test_fifo_nobody_reads(vms, fifo):
    start = time.monotonic()
    run = boot_vmm(vms, "hello", "--console", f"file:{fifo}", timeout=30)
    took = time.monotonic() - start
    expect_status(run, PASS)
    assert took < 20, f"a FIFO nobody reads: the run took {took:.1f} s"


def test_tiny_bucket_drops(vms, workdir):
    # a bucket of 8 bytes a second, no burst
    out = workdir / "serial.out"
    run = boot_vmm(vms, "hello", "--console", f"file:{out},bw=8:1000", timeout=30)
    expect_status(run, PASS)
    data = out.read_bytes()
    assert len(data) <= 16 and b"TEST PASS" not in data, \
        f"the bucket let {len(data)} bytes through: {data[:200]!r}"


def test_dropped_bytes_in_the_metrics(vms, workdir):
    vm = vms.start(["--kernel", guest_path("halt"), "--append", "halt.irq=1", "--mem", "64M",
                    "--console", f"file:{workdir / 'serial.out'},bw=4:1000"],
                   name="vmm-halt", api=True)

    def dropped():
        answer = vm.api.get("/vmm/metrics", timeout=5)
        if answer.status != 200:
            return 0
        # the uart section appears once the guest has written
        return ((answer.json() or {}).get("uart") or {}).get("rate_limiter_dropped_bytes", 0)
    wait_until(dropped, 10, "uart.rate_limiter_dropped_bytes > 0 while the guest runs",
               alive=vm.alive)
    # COM1's registers as the guest left them (a stalled console's diagnosis reads these): the
    # halt guest writes THR polling LSR, with COM1's interrupts off, so no interrupt is named
    uart = vm.api.get("/vmm/metrics", timeout=5).json()["uart"]
    assert (uart.get("ier"), uart.get("iir"), uart.get("irq_line")) == (0, 1, 0), uart
    status = sigterm_then_wait(vm)
    # 143 (128 + SIGTERM): the VMM reports the signal it stopped on as a shell would
    assert status in (0, 128 + signal.SIGTERM, -signal.SIGTERM), f"the VMM ended with status {status}\n{vm.tail()}"
