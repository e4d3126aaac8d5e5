"""The checks of test_virtio_console.py and test_virtio_console_pci.py (one per transport): each
test file defines the `transport` fixture and imports these tests."""
import re

import pytest

from framework import host
from framework.guests import (expect_output, expect_pass, guest_path, guest_transport_args,
                              qemu_model, qemu_transport, transport_args)
from framework.proc import read_text, wait_until

INPUT = "ping-from-host"
# (when the host's line is typed, ring): at once, before the guest's driver is ready, or once the
# guest has sent its own line (its receive buffers are posted and it waits for input)
RUNS = [("at-once", "split"), ("later", "packed")]
SENT = r"^transmitq: line sent, buffer returned by interrupt: ok$"


def guest_append(transport, ring):
    return f"{guest_transport_args(transport, ring)} input={INPUT} ring={ring}"


def expect_guest_ok(run, transport, ring):
    expect_pass(run)
    if transport == "pci":
        kind = "INTx" if ring == "packed" else "MSI-X"
        expect_output(run, rf"^console: virtio-pci 00:[0-9a-f]{{2}}\.0, BAR 0x[0-9a-f]+, {kind} ")
    expect_output(run, SENT)
    expect_output(run, rf'^receiveq: input "{INPUT}"$')


def expect_console(text, run):
    """The two lines the guest sent through hvc0."""
    lines = text.splitlines()
    for line in ("virtio-console: hello from hvc0", f"virtio-console echo: {INPUT}"):
        assert line in lines, f'{run.name}: console lacks "{line}":\n{text[-2000:]}\n{run.tail()}'


@pytest.mark.parametrize("when,ring", RUNS)
def test_our_vmm(vms, transport, when, ring):
    # --console virtio: COM1 and hvc0 share stdout; the input is a pipe, not a terminal.
    run = vms.start(["--kernel", guest_path("virtio_console"), "--debug-exit", "--mem", "256M",
                     *transport_args(transport), "--console", "virtio",
                     "--append", guest_append(transport, ring)],
                    name="vmm-virtio_console", console_in=True)
    if when == "later":
        run.wait_out(SENT, 60)
    run.type(INPUT)
    run.status = run.wait(60)
    expect_guest_ok(run, transport, ring)
    expect_console(run.out, run)


@pytest.mark.parametrize("when,ring", RUNS)
def test_qemu(vms, workdir, transport, when, ring):
    host.require("qemu")
    machine, extra, opts = qemu_transport(transport)
    serial = workdir / f"com1-{ring}.out"
    packed = "on" if ring == "packed" else "off"
    # hvc0 on stdio, COM1 to a file
    run = vms.qemu(["-M", machine, "-m", "256M", "-serial", f"file:{serial}",
                    "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                    "-kernel", guest_path("virtio_console"), *extra,
                    "-chardev", "stdio,id=con0",
                    "-device", f"{qemu_model(transport, 'serial')},packed={packed}{opts}",
                    "-device", "virtconsole,chardev=con0",
                    "-append", guest_append(transport, ring)],
                   name="qemu-virtio_console", console_in=True)
    if when == "later":
        wait_until(lambda: re.search(SENT, read_text(serial), re.M), 60,
                   f"{run.name}: /{SENT}/ on COM1", alive=run.alive)
    run.type(INPUT)
    run.status = run.wait(60)
    console = run.out
    run.out_path = serial  # the guest's checks read COM1
    expect_guest_ok(run, transport, ring)
    expect_console(console, run)
