# Every integration test goes through the harness (tests/integration/framework): no test starts
# our VMM or QEMU by itself, and no new bash test appears. Checks that:
#   1. no Python file of tests/integration outside framework/ hands the VMM or QEMU (paths.VMM,
#      paths.QEMU, a "qemu-system" string) to subprocess or os.exec*/os.spawn*, and none calls
#      subprocess.Popen at all (a process that outlives a call starts through vms.process(), so
#      the test's end ends it);
#   2. the only bash tests left (a "# labels:" line) are those the shell is the thing under test
#      of, or not ported yet (LEGACY below: the list only shrinks);
#   3. the check itself finds a planted offence of each kind.
# labels: lint harness
# timeout: 60
import ast
from pathlib import Path

import pytest

from framework import paths

ROOT = paths.SOURCE_DIR / "tests" / "integration"
# Bash tests that stay bash: the shell is what they test (docs/testing.md).
SHELL_UNDER_TEST = {"vmmctl"}
# Not ported yet (issue 64); a name leaves this list when its test_*.py lands.
LEGACY = set()

SPAWNERS = {"run", "Popen", "call", "check_call", "check_output"}
OS_SPAWN_PREFIXES = ("exec", "spawn", "posix_spawn")
NAMES = {"VMM", "QEMU"}


def _is_spawn(call):
    func = call.func
    if not isinstance(func, ast.Attribute) or not isinstance(func.value, ast.Name):
        return None
    if func.value.id == "subprocess" and func.attr in SPAWNERS:
        return f"subprocess.{func.attr}"
    if func.value.id == "os" and func.attr.startswith(OS_SPAWN_PREFIXES):
        return f"os.{func.attr}"
    return None


def _names_vm(node):
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in NAMES:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in NAMES:
            return True
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str) and "qemu-system" in sub.value:
            return True
    return False


def offences(source, name):
    """The lines of SOURCE (a Python file) that start a VMM or QEMU outside the harness."""
    found = []
    for node in ast.walk(ast.parse(source, name)):
        if not isinstance(node, ast.Call):
            continue
        spawn = _is_spawn(node)
        if spawn == "subprocess.Popen":
            found.append(f"{name}:{node.lineno}: subprocess.Popen (use vms.process())")
        elif spawn and _names_vm(node):
            found.append(f"{name}:{node.lineno}: {spawn} of the VMM or QEMU (use vms.start()/"
                         "vms.run()/vms.qemu())")
    return found


def python_files():
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("framework",) or "__pycache__" in rel.parts:
            continue
        yield path


def bash_tests():
    for path in sorted(ROOT.rglob("*.sh")):
        if any(line.startswith("# labels:") for line in path.read_text().splitlines()):
            yield path.stem


def test_no_python_test_starts_a_vm_by_itself():
    found = [o for path in python_files()
             for o in offences(path.read_text(), str(path.relative_to(ROOT)))]
    assert not found, "tests that start the VMM or QEMU by themselves:\n" + "\n".join(found)


def test_no_new_bash_test():
    extra = sorted(set(bash_tests()) - SHELL_UNDER_TEST - LEGACY)
    assert not extra, (f"bash tests outside the harness: {extra} (write them as test_*.py with "
                       "tests/integration/framework: docs/testing.md)")


def test_the_legacy_list_only_names_bash_tests():
    stale = sorted(LEGACY - set(bash_tests()))
    assert not stale, f"LEGACY names tests that are no bash test any more: {stale}"


@pytest.mark.parametrize("planted", [
    "import subprocess\nsubprocess.run([paths.VMM, '--kernel', k])\n",
    "import subprocess\nsubprocess.check_output(['qemu-system-x86_64', '-M', 'q35'])\n",
    "import subprocess\np = subprocess.Popen(['sleep', '9'])\n",
    "import os\nos.execv(QEMU, [QEMU])\n",
])
def test_the_check_finds_a_planted_offence(planted):
    assert offences(planted, "planted.py")


def test_the_check_lets_host_tools_pass():
    assert not offences("import subprocess\nsubprocess.run(['qemu-img', 'create', f])\n"
                        "subprocess.run([paths.VMMCTL, 'vcpus'])\n", "fine.py")
