# tools/kvm-in-qemu/ap-count's verdicts (issue 66's counts rest on them), here without L1: a
# boot's outcome from its console and the VMM's stderr (classify), a GRUB boot's login seen
# even when the check's lines cut the prompt from its hostname (LOGIN_DONE, on the kept console
# of boot 18 of 2026-12-01), a timed-out boot that had reached its login counted ok again with
# its seconds left out (reclassify), and the command line's refusals.
# labels: harness
# timeout: 60
import importlib.util
import json

import pytest

from framework import paths

HERE = paths.SOURCE_DIR / "tools" / "kvm-in-qemu" / "ap-count"
RUN = paths.SOURCE_DIR / "docs" / "bench-results" / "2026-12-01-ap-count-94a8832f"


@pytest.fixture(scope="module")
def apc():
    spec = importlib.util.spec_from_file_location("ap_count", HERE / "ap_count.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


CHECK = ("VMM-DEBIAN-STATE: running\nVMM-DEBIAN-CPUS: {cpus}\nVMM-DEBIAN-DONE\n\n"
         "Debian GNU/Linux 12 debian ttyS0\n\ndebian login: ")
STOCK = "[    1.2] smp: Brought up 1 node, 2 CPUs\nVMM-STOCK-CPUS: 2 online=0-1\nVMM-STOCK-END: ok\n"


def test_login_done(apc):
    cut = (RUN / "018-grub-qemu.console").read_text(errors="replace")
    assert apc.LOGIN_DONE.search(cut), "the cut prompt of boot 18 is not seen"
    assert apc.LOGIN_DONE.search(CHECK.format(cpus="2 online=0-1"))
    assert not apc.LOGIN_DONE.search("VMM-DEBIAN-DONE\n")  # no prompt yet
    assert not apc.LOGIN_DONE.search("debian login: ")  # the check has not ended


@pytest.mark.parametrize("vmm,config,console,err,status,timed_out,want", [
    ("ours", "grub", CHECK.format(cpus="2 online=0-1"), "", 143, False, "ok"),
    ("ours", "grub", CHECK.format(cpus="1 online=0"), "", 143, False, "one-cpu"),
    ("ours", "pci", STOCK, "", 0, False, "ok"),
    ("ours", "pci", STOCK, "vmm: vCPU 1: triple fault (KVM_EXIT_SHUTDOWN), rip fff0\n", 1, False,
     "triple"),
    ("qemu", "pci", "[ 3.1] Run /init\n", "", 0, False, "triple"),  # -no-reboot: a reset
    ("ours", "pci", "watchdog: BUG: soft lockup - CPU#0 stuck for 52s!\n", "", 1, False,
     "softlockup"),
    ("ours", "pci", "Kernel panic - not syncing: Attempted to kill init!\n", "", 1, False,
     "panic"),
    ("ours", "pci", "[ 1.0] Linux version 6.1\n", "", None, True, "timeout"),
    ("ours", "pci", "[ 1.0] Linux version 6.1\n", "", 3, False, "other"),
])
def test_classify(apc, vmm, config, console, err, status, timed_out, want):
    reached = bool(apc.LOGIN_DONE.search(console)) if config == "grub" else None
    outcome, flags, _ = apc.classify(vmm, console, err, status, timed_out, reached)
    assert outcome == want, (outcome, flags)


def test_reclassify_a_login_the_loop_missed(apc, tmp_path):
    rec = next(json.loads(line) for line in (RUN / "results.jsonl").read_text().splitlines()
               if json.loads(line)["name"] == "018-grub-qemu")
    assert rec["outcome"] == "timeout"
    boot = tmp_path / "boots" / rec["name"]
    boot.mkdir(parents=True)
    (boot / "console").write_bytes((RUN / "018-grub-qemu.console").read_bytes())
    again = apc.reclassify(tmp_path, rec)
    assert again["outcome"] == "ok" and again["secs"] is None, again
    assert "reclassified; logged as timeout" in again["note"]


@pytest.mark.parametrize("argv,status", [([], 2), (["--help"], 0), (["summary"], None),
                                         (["frob", "x"], None), (["run", "/x", "--until"], None)])
def test_command_line(apc, capsys, argv, status):
    if status is None:
        with pytest.raises(SystemExit) as e:
            apc.main(argv)
        assert "ap_count:" in str(e.value.code)
    else:
        assert apc.main(argv) == status
        assert "Counts AP" in capsys.readouterr().out
