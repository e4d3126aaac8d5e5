# virtio-mem over virtio-mmio and virtio-pci (tests/guests/virtio_mem.c): a driver that speaks the
# request protocol directly gets every answer the device gives (ACK, NACK, ERROR; STATE's three
# states), plugged memory holds data, an unplugged block reads zeros when plugged again, a request
# in plugged memory is answered and one in unplugged memory fails the device. Our VMM only.
# labels: guests virtio
# requires: kvm
# timeout: 120
import pytest

from framework.guests import (boot_vmm, expect_output, expect_pass, guest_transport_args,
                              transport_args)


@pytest.mark.parametrize("transport", ["mmio", "pci"])
def test_virtio_mem(vms, transport):
    run = boot_vmm(vms, "virtio_mem", *transport_args(transport), "--mem", "64M",
                   "--memory-hotplug", "total=256M,requested=8M",
                   "--append", guest_transport_args(transport))
    expect_pass(run)
    expect_output(run, r"^virtio-mem at 0x[0-9a-f]+: region 0x8000000\+256 MiB, block 2 MiB")
    expect_output(run, r"^virtio-mem: ERROR and NACK answers ok")
    expect_output(run, r"^virtio-mem: a request in unplugged memory failed the device")
    expect_output(run, r"^virtio-mem: all answers ok")
