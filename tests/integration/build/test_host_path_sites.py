# Every path that comes from outside the VMM (command line, config file, API, snapshot, migration
# stream) is opened by host_path_open() (base/host_path.h; docs/security.md, "Paths from
# outside"). This test lists every open(), openat(), creat(), fopen(), freopen(), opendir(),
# json_load_file() and json_dump_file() call in the product sources, and every rename() (a file
# the VMM writes whole is renamed over its target only by host_path_replace_commit(), never over
# a device node, FIFO or socket: rule 7) (base/, host/, vmm/, devices/, virtio/, loaders/,
# firmware/; comments and string literals do not count) and fails on any call that is not in the
# allow list below: the few opens of a fixed path or of a device by design. An entry of the list
# that matches no call fails too, so the list stays exact. It first proves it can fail: a planted
# open() of a user's path is caught, the same text in a comment or a string is not. Needs no KVM
# and no build.
# labels: lint
# timeout: 60
import os
import re
import shutil

import pytest

from framework import paths

TOPS = ("base", "host", "vmm", "devices", "virtio", "loaders", "firmware")

# FILE, THE CALL'S START (up to its first comma), why it is not an outside path. Anything else
# that opens a path must go through host_path_open() / host_path_read().
ALLOW = [
    ("base/host_path.c", "open(path", "host_path_open() itself: the one open() of an outside path"),
    ("base/host_path_beneath.c", "open(dir", "host_path_open_beneath(): the folder itself, O_PATH "
     "only (the base every name is resolved beneath)"),
    ("base/host_path_replace.c", "syscall(SYS_renameat2", "host_path_replace_commit(): the one "
     "rename, only over a regular file or nothing (rule 7)"),
    ("base/host_path_replace.c", "rename(tmp", "host_path_replace_commit() where the file system "
     "has no renameat2 flags (9p): the kind checked just before"),
    ("base/host_path_beneath.c", "syscall(SYS_openat2", "host_path_open_beneath(): the open "
     "beneath a folder (RESOLVE_BENEATH, no symbolic link)"),
    ("host/kvm/kvm.c", "open(path", "--kvm PATH: KVM's character device by design (the probe "
     "names what is wrong with it)"),
    ("host/kvm/kvm_probe.c", "open(path", "--kvm PATH / --check-kvm: the same device, probed"),
    ("host/kvm/x86/cpuid.c", "open(kvm_path", "--kvm PATH: the same device, for "
     "KVM_GET_SUPPORTED_CPUID"),
    ("host/kvm/aarch64/cpu_ids.c", "open(kvm_path", "--kvm PATH: the same device, for a "
     "scratch vCPU's ID registers"),
    ("virtio/net/tap.c", 'open("/dev/net/tun"', "a fixed device; the tap is named through "
     "TUNSETIFF, not opened by path"),
    ("vmm/snapshot/format/snap_uffd.c", 'open("/dev/userfaultfd"', "a fixed device"),
    ("host/sandbox/landlock.c", "open(p->path", "--landlock-rules: O_PATH only, a handle for a "
     "Landlock rule (nothing read or written)"),
    ("host/sandbox/sandbox_sanitizer.c", "open(path", "sanitized builds only: ASAN_OPTIONS "
     "log_path, opened before any filter"),
    ("vmm/snapshot/working_set_restore.c", 'open("/proc/self/pagemap"', "a fixed file of the "
     "kernel: which guest pages are mapped (a working set)"),
    ("host/sandbox/sandbox.c", 'fopen("/proc/sys/kernel/seccomp/actions_logged"', "a fixed file "
     "of the kernel: is SCMP_ACT_LOG logged"),
    ("host/vfio/vfio_sys.c", "open(path", "/dev/vfio/vfio and /dev/vfio/GROUP (character "
     "devices) and sysfs files built from a checked PCI address"),
    ("host/vfio/vfio_sys.c", "opendir(path", "the sysfs list of an IOMMU group, built from a "
     "checked PCI address"),
    ("host/sandbox/sandbox.c", "syscall(SYS_openat", "VMM_SANDBOX_TEST: the forbidden open of "
     "/etc/shadow that the sandbox tests expect refused"),
]
ALLOWED = {(f, call) for f, call, _ in ALLOW}

CALL = re.compile(r"(?<![\w.>])(open|open64|openat|openat2|creat|fopen|fopen64|freopen|opendir|"
                  r"json_load_file|json_dump_file|rename|renameat|renameat2)\s*\(")
SYSCALL = re.compile(r"\bsyscall\s*\(\s*(SYS_open|SYS_openat|SYS_openat2|SYS_creat|__NR_open\w*|"
                     r"SYS_rename\w*|__NR_rename\w*)\b")
DECL = re.compile(r"\b(int|FILE|DIR|json_t|static|extern|void)\s*\*?\s*$")


def blank(text):
    """Comments and string/char literals become spaces (newlines kept): offsets stay."""
    out, i, n = list(text), 0, len(text)

    def clear(start, end):
        for k in range(start, end):
            if out[k] != "\n":
                out[k] = " "
    while i < n:
        c = text[i]
        if text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            clear(i, j)
            i = j
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            clear(i, j)
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            clear(i + 1, min(j, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def call_start(text, code, pos):
    """The call's text from its name to its first top-level comma (or its end)."""
    end, depth = pos, 0
    while end < len(code):
        ch = code[end]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                break
        elif ch == "," and depth == 1:
            break
        end += 1
    return re.sub(r"\s+", " ", text[pos:end]).strip()


def scan(root):
    """Every call in ROOT's product sources: (FILE, LINE, CALL START)."""
    hits = []
    for top in TOPS:
        for folder, _, files in sorted(os.walk(os.path.join(root, top))):
            for name in sorted(f for f in files if f.endswith((".c", ".h"))):
                path = os.path.join(folder, name)
                rel = os.path.relpath(path, root)
                text = open(path, encoding="utf-8", errors="replace").read()
                code = blank(text)
                found = [m.start() for m in CALL.finditer(code)]
                found += [m.start() for m in SYSCALL.finditer(code)]
                for pos in sorted(found):
                    if DECL.search(code[max(0, pos - 40):pos]):
                        continue  # a declaration or definition of a function of that name
                    hits.append((rel, text.count("\n", 0, pos) + 1, call_start(text, code, pos)))
    return hits


def check(root):
    """What is wrong in ROOT: calls not allowed, and allow entries that match no call."""
    hits = scan(root)
    wrong = [f"{rel}:{line}: {call}...: opens a path without host_path_open() "
             "(base/host_path.h); use it, or add the call to ALLOW with why it is no outside path"
             for rel, line, call in hits if (rel, call) not in ALLOWED]
    used = {(rel, call) for rel, _, call in hits}
    wrong += [f"allow-list entry '{f}|{call}' matches no call any more: remove it"
              for f, call in sorted(ALLOWED - used)]
    return wrong


@pytest.fixture
def copy(tmp_path):
    for top in TOPS:
        shutil.copytree(paths.SOURCE_DIR / top, tmp_path / top, symlinks=True)
    return tmp_path


def test_a_planted_open_of_a_users_path_is_caught_once(copy):
    with open(copy / "vmm/vm/metrics.c", "a") as f:
        f.write('/* open(path, O_RDONLY) in a comment */\n'
                'static const char *not_a_call = "fopen(path, \\"r\\")";\n'
                "int planted_open(const char *user_path);\n"
                "int planted_open(const char *user_path)\n{\n"
                "\treturn open(user_path, O_RDONLY | O_CLOEXEC);\n}\n")
    wrong = check(copy)
    assert len(wrong) == 1 and re.match(r"vmm/vm/metrics.c:\d+: open\(user_path\.\.\.", wrong[0]), \
        wrong


def test_a_planted_rename_is_caught(copy):
    with open(copy / "host/ui/display_png.c", "a") as f:
        f.write("int planted_rename(const char *a, const char *b);\n"
                "int planted_rename(const char *a, const char *b)\n{\n"
                "\treturn rename(a, b);\n}\n")
    assert any(re.match(r"host/ui/display_png.c:\d+: rename\(a\.\.\.", w) for w in check(copy))


def test_a_changed_allowed_call_and_its_stale_entry_are_caught(copy):
    tap = copy / "virtio/net/tap.c"
    tap.write_text(tap.read_text().replace('open("/dev/net/tun"', 'open("/dev/net/tun0"'))
    wrong = check(copy)
    assert any(re.match(r'virtio/net/tap.c:\d+: open\("/dev/net/tun0"', w) for w in wrong), wrong
    assert any("entry 'virtio/net/tap.c|open(\"/dev/net/tun\"' matches no call" in w
               for w in wrong), wrong


def test_every_open_of_a_path_goes_through_the_gate():
    wrong = check(paths.SOURCE_DIR)
    assert not wrong, "\n".join(wrong)
    gated = [f"{rel}:{line}" for rel, line, call in scan(paths.SOURCE_DIR)]
    print(f"{len(gated)} calls, all allowed ({len(ALLOW)} allow entries)")
