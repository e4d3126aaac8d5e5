# Hardened binaries (cmake/hardening.cmake): `cmake --install` of the build into a temporary
# prefix, then every installed program is read with readelf, nm and objdump for PIE, full RELRO,
# a non-executable stack, the stack protector, FORTIFY, stack-clash protection and CET code.
# First the checks prove they can fail: a small probe program is built with every hardening flag
# (all checks must pass on it), then once per flag with that one flag switched off (that check
# must fail on it).
# Compiler flags that leave no mark of their own in a linked binary (stack-clash, and the SHSTK
# half of -fcf-protection=full: glibc 2.36's crt1.o/crti.o carry no CET note, so ld drops the
# IBT/SHSTK property from every executable on Debian 12) are read from each compile unit's
# DW_AT_producer, which RelWithDebInfo (the default and the .deb's build type) keeps. Without
# debug info those checks cannot be made: they are then skipped, saying so.
# labels: build packaging
# requires: readelf nm objdump
# timeout: 300
import re
import shutil
import subprocess

import pytest

from framework import host, paths


class Missing(Exception):
    """The mark is missing (the message says what)."""


class Unknown(Exception):
    """The mark cannot be read here (no debug info)."""


def out(*argv):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True).stdout


def check_pie(path):
    if not re.search(r"^ *Type: +DYN", out("readelf", "-hW", path), re.M):
        raise Missing("ELF type is not DYN")
    if not re.search(r"\(FLAGS_1\).* PIE", out("readelf", "-dW", path)):
        raise Missing("DT_FLAGS_1 lacks PIE")


def check_relro(path):
    if " GNU_RELRO " not in out("readelf", "-lW", path):
        raise Missing("no GNU_RELRO segment")
    if not re.search(r"\(FLAGS\).* BIND_NOW|\(FLAGS_1\).* NOW|\(BIND_NOW\)",
                     out("readelf", "-dW", path)):
        raise Missing("no BIND_NOW: RELRO is only partial")


def check_nxstack(path):
    # No GNU_STACK header at all means an executable stack on x86_64.
    stack = [line.split() for line in out("readelf", "-lW", path).splitlines()
             if line.split()[:1] == ["GNU_STACK"]]
    if not stack:
        raise Missing("no GNU_STACK header (executable stack)")
    if "E" in stack[0][6]:
        raise Missing(f"GNU_STACK is {stack[0][6]} (executable)")


def imports(path):
    return out("nm", "-D", "--undefined-only", path)


def check_ssp(path):
    if not re.search(r" __stack_chk_fail(@|$)", imports(path), re.M):
        raise Missing("__stack_chk_fail not imported")


def check_fortify(path):
    if not re.search(r" __[a-z0-9_]+_chk(@|$)", imports(path), re.M):
        raise Missing("no __*_chk function imported")


def producers(path):
    """The compiler's recorded command line of every C compile unit (gcc: DW_AT_producer)."""
    dump = out("readelf", "--debug-dump=info", "--dwarf-depth=1", path)
    found = re.findall(r"DW_AT_producer[^:]*: \([^)]*\): (.*)$", dump, re.M)
    return [p for p in found if p.startswith("GNU C")]


def every_unit(path, flag):
    units = producers(path)
    if not units:
        raise Unknown("no gcc DW_AT_producer (no debug info?)")
    lacking = [u for u in units if not re.search(rf" {re.escape(flag)}( |$)", u)]
    if lacking:
        raise Missing(f"{len(lacking)} of {len(units)} compile units lack {flag}")


def check_clash(path):
    every_unit(path, "-fstack-clash-protection")


def check_cet(path):
    # A toolchain whose C runtime is CET-marked keeps the property: that says it all.
    if re.search(r"x86 feature: IBT, SHSTK", out("readelf", "-nW", path)):
        return
    main = out("objdump", "-d", "--no-show-raw-insn", "--disassemble=main", path)
    after = main.split("<main>:", 1)[1].strip().splitlines()[:1] if "<main>:" in main else []
    if not after or "endbr64" not in after[0]:
        raise Missing("main() does not start with endbr64")
    every_unit(path, "-fcf-protection=full")


CHECKS = {"pie": check_pie, "relro": check_relro, "nxstack": check_nxstack, "ssp": check_ssp,
          "fortify": check_fortify, "clash": check_clash, "cet": check_cet}
ON = {"pie": "-fPIE -pie", "relro": "-Wl,-z,relro -Wl,-z,now", "nxstack": "-Wl,-z,noexecstack",
      "ssp": "-fstack-protector-strong", "fortify": "-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3",
      "clash": "-fstack-clash-protection", "cet": "-fcf-protection=full"}
OFF = {"pie": "-fno-pie -no-pie", "relro": "-Wl,-z,relro -Wl,-z,lazy",
       "nxstack": "-Wl,-z,execstack", "ssp": "-fno-stack-protector", "fortify": "-U_FORTIFY_SOURCE",
       "clash": "-fno-stack-clash-protection", "cet": "-fcf-protection=none"}
PROBE = r"""#include <stdio.h>
#include <string.h>
/* A local array (stack protector), a copy of unknown length into it (FORTIFY), a frame larger
 * than a page (stack-clash probes). */
int main(int argc, char **argv)
{
	char buf[8192];
	strcpy(buf, argv[0]);
	printf("%s %d\n", buf, argc);
	return buf[argc];
}
"""


def compiler():
    cache = (paths.BUILD_DIR / "CMakeCache.txt")
    if cache.exists():
        m = re.search(r"^CMAKE_C_COMPILER:[A-Z]*=(.*)$", cache.read_text(), re.M)
        if m and m.group(1):
            return m.group(1)
    return "cc"


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    """probe(NAME, CHECK=None, FLAGS=None): builds the probe with every flag, or with those of
    CHECK replaced by FLAGS (default: its OFF flags); returns its path."""
    work = tmp_path_factory.mktemp("probe")
    (work / "probe.c").write_text(PROBE)
    cc = compiler()
    if not shutil.which(cc):
        host.skip("cannot check", f"the checks' own failure: no C compiler ({cc}) for the probe")

    def build(name, check=None, flags=None):
        words = ["-O2", "-g"]
        for c in CHECKS:
            words += (flags or OFF[c]).split() if c == check else ON[c].split()
        run = subprocess.run([cc, *words, "-o", work / name, work / "probe.c"],
                             capture_output=True, text=True)
        assert run.returncode == 0, f"the probe {name} does not build: {run.stderr[:500]}"
        return work / name
    return build


@pytest.mark.parametrize("check", CHECKS)
def test_the_check_passes_a_hardened_probe_and_fails_one_without(probe, check):
    CHECKS[check](probe("hardened"))
    with pytest.raises(Missing):
        CHECKS[check](probe(f"no-{check}", check))


def test_ibt_alone_is_not_full_cet(probe):
    with pytest.raises(Missing):
        check_cet(probe("cet-branch", "cet", "-fcf-protection=branch"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("hardening") / "prefix"
    run = subprocess.run(["cmake", "--install", paths.BUILD_DIR, "--prefix", prefix],
                         capture_output=True, text=True)
    assert run.returncode == 0, f"cmake --install: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    for prog in ("vmm", "vmmctl", "vmm-jail"):
        assert (prefix / "bin" / prog).exists(), f"cmake --install put no bin/{prog}"
    return sorted((prefix / "bin").iterdir())


@pytest.mark.parametrize("check", CHECKS)
def test_every_installed_program(installed, check):
    unknown = []
    for path in installed:
        try:
            CHECKS[check](path)
        except Missing as e:
            pytest.fail(f"bin/{path.name}: {check}: {e}")
        except Unknown as e:
            unknown.append(f"bin/{path.name}: {e}")
    if unknown:
        host.skip("cannot check", f"{check}: " + "; ".join(unknown))
