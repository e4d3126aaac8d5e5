# Installing and packaging (cmake/packaging.cmake): `cmake --install` puts the binaries, their
# man pages (help2man) and the README under the prefix, the man pages render, the installed vmm
# runs; `cpack -G DEB` (into a temporary directory, the build tree stays clean) makes a .deb
# holding them whose Depends (from dpkg-shlibdeps) names libc6.
# labels: packaging
# requires: help2man dpkg-deb
# timeout: 300
import os
import re
import subprocess

import pytest

from framework import host, paths

FILES = ["bin/vmm", "bin/vmmctl", "bin/vmm-uffd-handler", "share/man/man1/vmm.1",
         "share/man/man1/vmmctl.1", "share/doc/vmm/README.md", "share/doc/vmm/docs/architecture.md"]


def sh(*argv, **kw):
    return subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    prefix = tmp_path_factory.mktemp("install") / "prefix"
    run = sh("cmake", "--install", paths.BUILD_DIR, "--prefix", prefix)
    assert run.returncode == 0, f"cmake --install: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    return prefix


@pytest.mark.parametrize("name", FILES)
def test_installed(prefix, name):
    path = prefix / name
    assert path.exists() and path.stat().st_size > 0, f"no {name} under the prefix"


def render(page):
    env = dict(os.environ, MANWIDTH="80")
    if host.has("man"):
        return sh("man", "-l", page, env=env)
    return sh("groff", "-man", "-Tutf8", page)


@pytest.mark.parametrize("prog", ["vmm", "vmmctl"])
def test_man_page_renders(prefix, prog):
    run = render(prefix / f"share/man/man1/{prog}.1")
    out = run.stdout
    assert not run.stderr, f"{prog}.1 does not render cleanly: {run.stderr}"
    assert re.search(r"^NAME", out, re.M) and re.search(rf"^ +{prog} - ", out, re.M), out[:800]
    assert "--help" in out, f"{prog}.1 has no options: {out[:800]}"


def test_vmmctl_page_lists_the_commands(prefix):
    assert "put-drive ID PATH" in render(prefix / "share/man/man1/vmmctl.1").stdout


def test_installed_programs_run(prefix):
    run = sh(prefix / "bin/vmm", "--help")
    assert run.returncode == 0 and re.search(r"^Usage: vmm", run.stdout + run.stderr, re.M), \
        (run.stdout + run.stderr)[:500]
    assert sh(prefix / "bin/vmmctl", "--version").stdout.strip() == "vmmctl 0.1.0"


@pytest.fixture(scope="module")
def deb(tmp_path_factory):
    host.require("dpkg-shlibdeps")
    work = tmp_path_factory.mktemp("cpack")
    run = sh("cpack", "-G", "DEB", "--config", paths.BUILD_DIR / "CPackConfig.cmake",
             "-B", work / "pkg", cwd=work)
    assert run.returncode == 0, f"cpack: {run.stdout[-2000:]}{run.stderr[-2000:]}"
    debs = sorted((work / "pkg").glob("vmm_0.1.0_*.deb"))
    assert debs, f"no vmm_0.1.0_*.deb in {work / 'pkg'}: {os.listdir(work / 'pkg')}"
    return debs[0]


def field(deb, name):
    return sh("dpkg-deb", "-f", deb, name).stdout.strip()


def test_deb_holds_the_files(deb):
    contents = sh("dpkg-deb", "-c", deb).stdout
    for name in FILES:
        assert re.search(rf" \./usr/{re.escape(name)}$", contents, re.M), f".deb lacks /usr/{name}"


def test_deb_fields(deb):
    depends = field(deb, "Depends")
    assert re.search(r"(^|, )libc6( |,|$)", depends), f"Depends does not name libc6: {depends!r}"
    for name in ("Maintainer", "Description", "Section"):
        assert field(deb, name), f"no {name}"
    assert field(deb, "Package") == "vmm"


def test_cpack_leaves_the_build_tree_clean(deb):
    assert not (paths.BUILD_DIR / "_CPack_Packages").exists(), "cpack wrote into the build tree"
    assert not list(paths.BUILD_DIR.glob("*.deb")), "cpack wrote a .deb into the build tree"
