"""tools/bench run through the harness, for test_bench_quick.py and test_bench_quick_boot.py."""
import os
import re
import tempfile
from pathlib import Path

from framework import paths


def run_bench(vms, what, timeout):
    """tools/bench WHAT --quick into a folder of VMS's; returns (status, results.md's text,
    the folder). Its output goes to the report."""
    out = Path(tempfile.mkdtemp(prefix="bench.", dir=vms.workdir))
    env = {**os.environ, "VMM": str(paths.VMM), "GUESTS": str(paths.GUESTS), "QEMU": paths.QEMU}
    run = vms.process([paths.tool("bench"), what, "--quick", "--boot-timeout", "300",
                       "--out", out], name="bench", env=env)
    status = run.wait(timeout)
    print(run.out)
    if status != 0:
        print(run.tail(60))
    results = out / "results.md"
    return status, results.read_text() if results.exists() else "", out


def expect_row(text, regex):
    assert re.search(regex, text, re.M), f"results.md lacks /{regex}/:\n{text[-3000:]}"
