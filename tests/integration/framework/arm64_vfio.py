"""PCI passthrough on arm64 (issue 67; x86's is linux/test_vfio_l1.py, docs/vfio.md): the part
`vfio` of linux/test_arm64_linux.py, in an arm64 L1 of its own with QEMU's SMMUv3 and an emulated
NVMe controller (1b36:0010, serial vmm-vfio-nvme, a 64 MiB namespace: tools/kvm-in-qemu/run.sh
--arch aarch64 --vfio-devices). In L1: the controller has an IOMMU group, vfio_iommu_type1 and
vfio-pci loaded, the controller bound to vfio-pci; then the stock arm64 guest
(guest-images/arm64-guest.sh, whose cloud kernel has the nvme driver built in) on our VMM with
`--device vfio=` and a virtio-mmio disk, guest RAM locked for the device's DMA (ulimit -l).

The guest must find the controller with QEMU's serial on PCI, its MSI-X vectors through the ITS
(the VMM's routes carry the function's requester ID), write 1 MiB of a pattern to the namespace
and read it back past the page cache (DMA both ways through the SMMU; the MD5 the host computes
for the pattern), pass the other checks, and its power-off end the VMM with 0."""
import hashlib
import re
import shlex

from . import vmmtest

NVME_ID = "0x1b36:0x0010"
SERIAL = "vmm-vfio-nvme"
NVME_SIZE = 64 << 20
DISK_SIZE = 64 << 20
MEM_MB = 512
# init.sh's nvme_write(): this line over and over, 1 MiB
PATTERN_MD5 = hashlib.md5((b"VMMTEST-NVME-PATTERN-0123456789\n" * 33000)[:1 << 20]).hexdigest()


def prepare(work, make_disk):
    """The guest's virtio disk (MAKE_DISK: the stock part's, a marker in its first sector)."""
    make_disk(work / "disk-vfio.img", DISK_SIZE)


def l1_lines(vmm, guest, work):
    """L1's lines: the controller to vfio-pci, then the guest; VFIO_NVME and VMM_EXIT lines."""
    q = shlex.quote
    dev = "/sys/bus/pci/devices/$nvme"
    find = (f'nvme=; for d in /sys/bus/pci/devices/*; do [ "$(cat $d/vendor):$(cat $d/device)" '
            f'= {NVME_ID} ] && nvme=${{d##*/}}; done')
    args = guest["ARM64_GUEST_CMDLINE"] + " vmmtest.write=1 vmmtest.dhcp=0"
    return [
        f"cd {q(str(work))}", find,
        "busybox modprobe vfio_iommu_type1 && busybox modprobe vfio-pci",
        'echo "VMM_EXIT vfio-modules $?"',
        f"echo vfio-pci > {dev}/driver_override && echo $nvme > /sys/bus/pci/drivers_probe",
        # the group once a driver took it (the SMMU's driver adds a device to its group then)
        f'echo "VFIO_NVME bdf=${{nvme:--}} group=$(readlink {dev}/iommu_group | '
        "sed 's,.*/,,') driver=$(readlink " + dev + "/driver | sed 's,.*/,,') "
        'dev_vfio=$(ls /dev/vfio | tr \'\\n\' \' \')"',
        "ulimit -l unlimited",
        f"timeout 300 {q(str(vmm))} --kernel {q(guest['ARM64_GUEST_KERNEL'])} "
        f"--initrd {q(guest['ARM64_GUEST_INITRAMFS'])} --cpus 2 --mem {MEM_MB}M "
        f"--disk disk-vfio.img --device vfio={dev} --append {q(args)} > vmm-vfio.log 2>&1",
        'echo "VMM_EXIT vfio $?"']


def check(out, work):
    """What went wrong, from L1's console and the VMM's log."""
    status = dict(re.findall(r"^VMM_EXIT (vfio\S*) (\d+)\r?$", out, re.M))
    bad = [f"{step}: status {status.get(step)}" for step in ("vfio-modules", "vfio")
           if status.get(step) != "0"]
    bind = " ".join(re.findall(r"^VFIO_NVME (.*?)\r?$", out, re.M))
    if not re.search(r"bdf=\S+:\S+ group=[0-9]+", bind):
        bad.append(f"L1: the NVMe controller has no IOMMU group: {bind!r}")
    if "driver=vfio-pci" not in bind:
        bad.append(f"L1: vfio-pci did not take the controller: {bind!r}")
    text, report, when = vmmtest.parse_log(work / "vmm-vfio.log")
    print(f"vfio: the guest's report\n{report}")
    bad += vmmtest.problems(report, cpus=2, mem_mb=MEM_MB, transport="mmio",
                            disk=(work / "disk-vfio.img", DISK_SIZE), wrote=True, now=when)
    bad += _nvme_problems(report)
    if bad:
        return ["vfio: " + "\n".join(bad) + "\n" + bind + "\n" + text[-4000:]]
    return []


def _nvme_problems(report):
    nvme, wrote = report.get("nvme"), report.get("nvmewrite")
    if nvme is None:
        return ["the guest found no NVMe controller"]
    bad = []
    want = {"serial": SERIAL, "size": str(NVME_SIZE), "msi_chip": "ITS-MSI"}
    for key, value in want.items():
        if nvme.get(key) != value:
            bad.append(f"nvme: {key}={nvme.get(key)}, want {value}: {nvme.text}")
    if nvme.get("msi", "0") == "0":
        bad.append(f"nvme: no MSI-X vectors: {nvme.text}")
    if wrote is None or wrote.get("status") != "0" or \
            (wrote.get("md5"), wrote.get("back_md5")) != (PATTERN_MD5, PATTERN_MD5):
        bad.append(f"nvme: 1 MiB written and read back: "
                   f"{wrote.text if wrote else 'no nvmewrite line'} (want md5 {PATTERN_MD5})")
    return bad
