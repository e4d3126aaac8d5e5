"""Where things are. CTest sets every variable; the defaults let a test run by hand from a
build directory (`python3 -m pytest ../tests/integration/boot/test_guest_hello.py`)."""
import os
from pathlib import Path

SOURCE_DIR = Path(os.environ.get("SOURCE_DIR") or Path(__file__).resolve().parents[3])
BUILD_DIR = Path(os.environ.get("BUILD_DIR") or os.getcwd())
VMM = Path(os.environ.get("VMM") or BUILD_DIR / "vmm")
VMMCTL = Path(os.environ.get("VMMCTL") or BUILD_DIR / "tools" / "vmmctl" / "vmmctl")
GUESTS = Path(os.environ.get("GUESTS") or BUILD_DIR / "tests" / "guests")
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")
# The peer of arm64 guests (guest-images/arm64-guest.sh): Debian's qemu-system-arm.
QEMU_AARCH64 = os.environ.get("QEMU_AARCH64", "qemu-system-aarch64")
# Files shared by the tests of one build (the booted Linux snapshot): never a system path.
CACHE = BUILD_DIR / "test-cache"


def tool(*parts):
    """A file of the tree's tools/ folder."""
    return SOURCE_DIR.joinpath("tools", *parts)
