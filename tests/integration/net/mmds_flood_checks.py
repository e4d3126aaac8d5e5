"""What the mmds_flood guest (tests/guests/mmds_flood.c) must show, whoever runs it: x86's
test_mmds_flood.py and the arm64 L1's run (framework/arm64_abuse.py). Its network: guest
GUEST_IP/24 on a tap, the host HOST_IP with a line-echo server on PORT ("echo: <line>"); the
MMDS store holds ami-id WANT at the start, the host PATCHes it to PATCHED once the guest says it
waits."""
import re

HOST_IP = "192.168.79.1"
PORT = 7777
WANT = "ami-12345678"
PATCHED = "ami-87654321"
BOOT_ARGS = f"port={PORT} want={WANT} patched={PATCHED}"
STORE = {"latest": {"meta-data": {"ami-id": WANT}}}
PATCH = {"latest": {"meta-data": {"ami-id": PATCHED}}}
WAITING = r"^mmds_flood: waiting for the host's PATCH"

# the guest's lines (besides its verdict)
LINES = [
    r"^mmds arp: 169.254.169.254 is at 06:01:23:45:67:01: ok$",
    rf"^mmds before: GET /latest/meta-data/ami-id -> 200 {WANT} after",
    r"^flood malformed: .* none answered: ok$",
    r"^flood syn: 2000 SYNs",
    rf"^other traffic: tcp to {HOST_IP}:{PORT} echoed in",
    rf"^mmds after the flood: GET /latest/meta-data/ami-id -> 200 {WANT} after",
    rf"^mmds patched: GET /latest/meta-data/ami-id -> 200 {PATCHED} after",
    r"^mmds_flood: pass$",
]
# the sniffer's last line (test_mmds_flood.py's sniff(), lib/net_host.c's `sniff`)
SNIFFED = r"sniffed (\d+) frames.* (\d+) to"
CRASH = r"Segmentation|Sanitizer|Aborted|[Aa]ssertion|panic|core dumped"


def summary(out):
    """The guest's flood and MMDS lines, for the test's log."""
    return "\n".join(re.findall(r"^(?:flood|mmds|other traffic).*$", out, re.M))


def sniff_problem(text):
    """What the sniffer's output says went wrong ("" when no frame to MMDS reached the tap)."""
    m = re.search(SNIFFED, text)
    return "" if m and m.group(2) == "0" else f"the tap saw MMDS's frames: {text}"
