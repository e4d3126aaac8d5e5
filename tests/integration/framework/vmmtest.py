"""The VMMTEST lines of the arm64 test guest (guest-images/arm64-guest.sh, whose header is the
format's reference; its /init is guest-images/arm64-guest/init.sh): one parser, and one set of
checks, for every test that boots that guest, on QEMU (test_arm64_guest_qemu.py) or on our VMM.

    VMMTEST <topic> [<name>] [<key>=<value> ...]

    report = vmmtest.parse(run.out)
    report.get("blk", "vda").int("size")          # None when the guest printed no such line
    problems = vmmtest.problems(report, cpus=2, transport="pci", disk=(image, size), ...)
"""
import hashlib
import re
import time
from pathlib import Path
from dataclasses import dataclass

# A line may follow other text on its console line (a kernel message cut in before it), so the
# match starts anywhere; it runs to the end of the line.
LINE = re.compile(r"VMMTEST ([a-z][a-z0-9_]*)((?: [^\s=]+)?)((?: [a-z0-9_]+=\S*)*) *$")
MARK = "VMMTEST "


@dataclass
class Line:
    """One VMMTEST line: its topic, its name (None without one), its fields in order."""
    topic: str
    name: str | None
    fields: dict
    text: str

    def __getitem__(self, key):
        return self.fields[key]

    def get(self, key, default=None):
        return self.fields.get(key, default)

    def int(self, key, base=10):
        """The field KEY as an integer (None when absent, "-" or not a number)."""
        try:
            return int(self.fields[key], base)
        except (KeyError, ValueError):
            return None


class Report:
    """The VMMTEST lines of one boot, in their order, and the lines that said VMMTEST but did
    not parse (malformed: a kernel message cut into one, or a bug of /init)."""

    def __init__(self, lines, malformed):
        self.lines = lines
        self.malformed = malformed

    def all(self, topic, name=None):
        return [ln for ln in self.lines
                if ln.topic == topic and (name is None or ln.name == name)]

    def get(self, topic, name=None):
        """The first line of TOPIC (and NAME when given), or None."""
        found = self.all(topic, name)
        return found[0] if found else None

    @property
    def begun(self):
        return self.get("begin") is not None

    @property
    def ended(self):
        return self.get("end") is not None

    def __str__(self):
        return "\n".join(ln.text for ln in self.lines)


def parse(text):
    """The Report of a console's TEXT (carriage returns and all)."""
    lines, malformed = [], []
    for raw in text.replace("\r", "").splitlines():
        at = raw.find(MARK)
        if at < 0:
            continue
        m = LINE.search(raw, at)
        if not m:
            malformed.append(raw)
            continue
        fields = dict(word.split("=", 1) for word in m.group(3).split())
        lines.append(Line(m.group(1), m.group(2).strip() or None, fields, m.group(0)))
    return Report(lines, malformed)


def parse_log(path):
    """A VMM's log at PATH: (its text, "" when there is none; its Report; its mtime, the host's
    time when the guest ran, for problems(now=), or None)."""
    text = path.read_text(errors="replace") if path.exists() else ""
    return text, parse(text), path.stat().st_mtime if text else None


def _sector(path, n):
    with open(path, "rb") as f:
        f.seek(512 * n)
        return f.read(512)


def _looped_problems(report, mac, restarted):
    """A NIC with MAC on a wire that loops frames back: bound, and its frames came back (with
    RESTARTED: also those sent after the back-end's restart)."""
    nets = [line for line in report.all("net") if line.get("mac") == mac]
    if not nets:
        return [f"no NIC with MAC {mac}"]
    if nets[0].get("driver") != "virtio_net":
        return [f"net: {nets[0].text} (want driver=virtio_net)"]
    count = report.get("netcount", nets[0].name)
    if count is None:
        return [f"no 'VMMTEST netcount {nets[0].name}' line"]
    if count.get("rx", "0") == "0" or count.get("tx", "0") == "0":
        return [f"{nets[0].name} ({mac}): the frames it sent did not come back: {count.text}"]
    again = report.get("netagain", nets[0].name)
    if restarted and again is None:
        return [f"no 'VMMTEST netagain {nets[0].name}' line"]
    if restarted and not (again.int("rx") or 0) > (count.int("rx") or 0):
        return [f"{nets[0].name} ({mac}): after the back-end's restart the frames it sent did "
                f"not come back: {count.text} | {again.text}"]
    return []


def problems(report, cpus=None, mem_mb=None, transport=None, disk=None, mac=None, dhcp=False,
             hvc_file=None, rng=False, wrote=False, rtc=True, clock_slack=300, end="poweroff",
             now=None, alarm=False, msi_chip=None, devices=None, disks=None, fs=None,
             looped_macs=(), restarted_macs=()):
    """What in REPORT differs from a guest with these devices; [] when nothing. Always checked:
    begin (arch aarch64), modules (none failed), end; the rest only when asked (None and False
    are "not checked"; rtc is asked by default):
      cpus      the vCPU count (also: PSCI found, cpu1 taken off and on again when >1)
      mem_mb    the RAM given (MemTotal must be below it and above 3/4 of it)
      transport "mmio" or "pci": every virtio device must sit on it
      devices   for a machine that mixes transports: the (id, transport) of every virtio device,
                as ("0x001a", "pci"), in any order; each must also have a driver
      disk      (image path, size in bytes) of /dev/vda: its size and first sector as the
                guest read them; with wrote=True (vmmtest.write=1) the guest's line must be in
                the image's second sector (read after the run)
      disks     {name: (image path, size)} of other disks ("vdb": a vhost-user one), checked
                as disk is (wrote too)
      fs        {tag: (folder, back)} of each virtio-fs share (vmmtest.fs=TAG,...): FOLDER what
                the host put there (marker, data.bin), BACK the shared folder after the run:
                the guest mounted the share, read the marker's first word and data.bin's MD5,
                and its data-copy.bin and from-guest are in BACK as it wrote them
      mac       eth0's MAC (lowercase); dhcp=True: eth0 had a lease (a DHCP server on its wire)
      looped_macs  the MACs of NICs whose wire loops every frame back (a vhost-user back-end in
                macswap): the NIC is there with virtio_net, and the frames the guest sent
                (DHCP with dhcp=True) came back: its rx and tx counts are not 0
      restarted_macs  of those, the ones whose back-end the test restarted while the guest
                waited (vmmtest.netpause=MAC): frames sent after it came back too
      hvc_file  the file behind virtio-console's first port: the guest's line must be in it
      rng       a virtio RNG: /dev/hwrng gave 32 bytes
      rtc       an RTC (PL031): rtc0 within CLOCK_SLACK seconds of the host's clock (NOW: the
                host's time when the guest ran, when that was not just now: e.g. its log's mtime)
      end       the end action's name
      alarm     the RTC's alarm (rtc0's wakealarm, set 2 s ahead) raised the PL031's interrupt
                while the guest left the clock alone (issue 67: the VMM's host timer)
      msi_chip  every virtio device on PCI has MSIs, from an interrupt chip whose name holds
                this ("ITS": the GICv3's; "": any, e.g. a GICv2m frame's, which Linux names
                "MSI")"""
    bad = []

    def need(topic, name=None):
        line = report.get(topic, name)
        if line is None:
            bad.append(f"no 'VMMTEST {topic}{' ' + name if name else ''}' line")
        return line

    begin = need("begin")
    if begin and begin.get("arch") != "aarch64":
        bad.append(f"begin: arch={begin.get('arch')}, not aarch64")
    mods = need("modules")
    if mods and mods.get("failed") != "0":
        bad.append(f"modules: {mods.text}")
    if cpus is not None:
        _check_cpus(report, need, cpus, bad)
    if mem_mb is not None:
        mem = need("mem")
        kb = mem.int("total_kb") if mem else None
        if mem and not (kb and mem_mb * 1024 * 3 // 4 < kb <= mem_mb * 1024):
            bad.append(f"mem: total_kb={mem.get('total_kb')} for {mem_mb} MiB")
    clock = need("rtc", "rtc0") if rtc else None
    now = time.time() if now is None else now
    if clock and abs((clock.int("epoch") or 0) - now) > clock_slack:
        bad.append(f"rtc: epoch={clock.get('epoch')}, the host's is {int(now)}")
    if alarm:
        _check_alarm(need, bad)
    if transport is not None:
        for v in report.all("virtio"):
            if v.get("transport") != transport or not v.get("driver"):
                bad.append(f"virtio: {v.text} (want transport={transport} and a driver)")
    if msi_chip is not None:
        for v in report.all("virtio"):
            if v.get("transport") == "pci" and \
                    (not v.int("msi") or msi_chip not in v.get("msi_chip", "")):
                bad.append(f"virtio: {v.text} (want MSIs from a {msi_chip} chip)")
    if devices is not None:
        _check_devices(report, devices, bad)
    if disk is not None:
        _check_disk(report, need, "vda", disk, wrote, bad)
    for name, image in (disks or {}).items():
        _check_disk(report, need, name, image, wrote, bad)
    for tag, (folder, back) in (fs or {}).items():
        _check_fs(need, tag, Path(folder), Path(back), bad)
    for looped in looped_macs:
        bad += _looped_problems(report, looped, looped in restarted_macs)
    if mac is not None:
        net = need("net", "eth0")
        if net and (net.get("mac"), net.get("driver")) != (mac, "virtio_net"):
            bad.append(f"net: {net.text} (want mac={mac} driver=virtio_net)")
    if dhcp:
        lease = need("dhcp", "eth0")
        if lease and "ip" not in lease.fields:
            bad.append(f"dhcp: {lease.text}")
    if hvc_file is not None:
        hvc = need("hvc", "hvc0")
        if hvc and hvc.get("write") != "0":
            bad.append(f"hvc: {hvc.text}")
        got = parse(Path(hvc_file).read_text(errors="replace"))
        if not got.get("hvc", "hvc0"):
            bad.append(f"hvc: the guest's line is not in {hvc_file}")
    if rng:
        line = need("rng")
        if line and (line.get("bytes") != "32" or not line.get("current", "").startswith("virtio")):
            bad.append(f"rng: {line.text}")
    last = need("end")
    if last and last.get("action") != end:
        bad.append(f"end: {last.text} (want action={end})")
    if report.malformed:
        bad.append("lines that did not parse: " + " | ".join(report.malformed))
    return bad


def _check_alarm(need, bad):
    line = need("alarm", "rtc0")
    before, after = (line.int("irqs"), line.int("irqs_after")) if line else (None, None)
    if line and (line.get("set") != "0" or before is None or after is None or after <= before):
        bad.append(f"alarm: the PL031's interrupt did not come: {line.text}")


def _check_cpus(report, need, cpus, bad):
    line = need("cpus")
    online = "0" if cpus == 1 else f"0-{cpus - 1}"
    if line and (line.int("count"), line.get("online")) != (cpus, online):
        bad.append(f"cpus: {line.text} (want count={cpus} online={online})")
    psci = need("psci")
    if psci is None:
        return
    if psci.get("version") in (None, "-"):
        bad.append(f"psci: the kernel found no PSCI: {psci.text}")
    if cpus > 1 and (psci.get("cpu1_off"), psci.get("cpu1_on"), psci.get("online")) != \
            ("0", "1", online):
        bad.append(f"psci: cpu1 not taken off and on again: {psci.text}")


def _check_devices(report, devices, bad):
    got = sorted((v.get("id"), v.get("transport")) for v in report.all("virtio"))
    if got != sorted(devices):
        bad.append(f"virtio: the devices (id, transport) are {got}, want {sorted(devices)}")
    for v in report.all("virtio"):
        if v.get("driver") in (None, ""):
            bad.append(f"virtio: {v.text} (no driver)")


def _md5(path):
    return hashlib.md5(path.read_bytes()).hexdigest() if path.exists() else None


def _check_fs(need, tag, folder, back, bad):
    line = need("fs", tag)
    if line is None:
        return
    md5 = _md5(folder / "data.bin")
    want = {"mount": "0", "marker": (folder / "marker").read_text().split()[0],
            "data_md5": md5, "copy": "0", "wrote": "0",
            "readback": f"VMMTEST-GUEST-FS-WROTE-{tag}"}
    got = {key: line.get(key) for key in want}
    if got != want:
        bad.append(f"fs: {line.text} (want {' '.join(f'{k}={v}' for k, v in want.items())})")
    if _md5(back / "data-copy.bin") != md5:
        bad.append(f"fs {tag}: the guest's data-copy.bin is not in the shared folder as data.bin")
    wrote = back / "from-guest"
    if not wrote.exists() or wrote.read_text(errors="replace") != want["readback"] + "\n":
        bad.append(f"fs {tag}: the guest's from-guest is not in the shared folder")


def _check_disk(report, need, name, disk, wrote, bad):
    image, size = disk
    blk = need("blk", name)
    if blk is None:
        return
    first = _sector(image, 0)
    if blk.int("size") != size:
        bad.append(f"blk: {blk.text} (want size={size})")
    if blk.get("sector0_md5") != hashlib.md5(first).hexdigest():
        bad.append(f"blk: the first sector the guest read is not the image's: {blk.text}")
    if blk.get("head") != first[:32].hex():
        bad.append(f"blk: head={blk.get('head')}, the image's is {first[:32].hex()}")
    if wrote:
        line = need("blkwrite", name)
        text = b"VMMTEST-GUEST-WROTE\n"
        if line and (line.get("status"), line.get("readback")) != ("0", text.decode().strip()):
            bad.append(f"blkwrite: {line.text}")
        if not _sector(image, 1).startswith(text):
            bad.append(f"blkwrite: the image's second sector is {_sector(image, 1)[:32]!r}")
