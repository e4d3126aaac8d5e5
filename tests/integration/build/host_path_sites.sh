#!/usr/bin/env bash
# Every path that comes from outside the VMM (command line, config file, API, snapshot, migration
# stream) is opened by host_path_open() (base/host_path.h; docs/security.md, "Paths from
# outside"). This test lists every open(), openat(), creat(), fopen(), freopen(), opendir(),
# json_load_file() and json_dump_file() call in the product sources, and every rename() (a
# file the VMM writes whole is renamed over its target only by host_path_replace_commit(),
# never over a device node, FIFO or socket: rule 7) (base/, host/, vmm/, devices/, virtio/,
# loaders/, firmware/; comments and string literals do not count) and fails on any call that is
# not in the allow list below: the few opens of a fixed path or of a device by design. An entry
# of the list that matches no call fails too, so the list stays exact. It first proves it can
# fail: a planted open() of a user's path is caught, the same text in a comment or a string is
# not. Needs no KVM and no build.
# labels: lint
# timeout: 60
set -uo pipefail
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"

# The allow list: FILE|THE CALL'S START (up to its first comma)|why it is not an outside path.
# Anything else that opens a path must go through host_path_open() / host_path_read().
ALLOW='
base/host_path.c|open(path|host_path_open() itself: the one open() of an outside path
base/host_path_beneath.c|open(dir|host_path_open_beneath(): the folder itself, O_PATH only (the base every name is resolved beneath)
base/host_path_replace.c|syscall(SYS_renameat2|host_path_replace_commit(): the one rename, only over a regular file or nothing (rule 7)
base/host_path_replace.c|rename(tmp|host_path_replace_commit() where the file system has no renameat2 flags (9p): the kind checked just before
base/host_path_beneath.c|syscall(SYS_openat2|host_path_open_beneath(): the open beneath a folder (RESOLVE_BENEATH, no symbolic link)
host/kvm/kvm.c|open(path|--kvm PATH: KVM'"'"'s character device by design (the probe names what is wrong with it)
host/kvm/kvm_probe.c|open(path|--kvm PATH / --check-kvm: the same device, probed
host/kvm/x86/cpuid.c|open(kvm_path|--kvm PATH: the same device, for KVM_GET_SUPPORTED_CPUID
virtio/net/tap.c|open("/dev/net/tun"|a fixed device; the tap is named through TUNSETIFF, not opened by path
vmm/snapshot/format/snap_uffd.c|open("/dev/userfaultfd"|a fixed device
host/sandbox/landlock.c|open(p->path|--landlock-rules: O_PATH only, a handle for a Landlock rule (nothing read or written)
host/sandbox/sandbox_sanitizer.c|open(path|sanitized builds only: ASAN_OPTIONS log_path, opened before any filter
vmm/snapshot/working_set_restore.c|open("/proc/self/pagemap"|a fixed file of the kernel: which guest pages are mapped (a working set)
host/sandbox/sandbox.c|fopen("/proc/sys/kernel/seccomp/actions_logged"|a fixed file of the kernel: is SCMP_ACT_LOG logged
host/vfio/vfio_sys.c|open(path|/dev/vfio/vfio and /dev/vfio/GROUP (character devices) and sysfs files built from a checked PCI address
host/vfio/vfio_sys.c|opendir(path|the sysfs list of an IOMMU group, built from a checked PCI address
host/sandbox/sandbox.c|syscall(SYS_openat|VMM_SANDBOX_TEST: the forbidden open of /etc/shadow that the sandbox tests expect refused
'

# scan ROOT: prints "FILE:LINE|KEY" for every call, KEY being "FILE|CALL-START".
scan() {
	python3 - "$1" <<'EOF'
import os, re, sys
root = sys.argv[1]
CALL = re.compile(r'(?<![\w.>])(open|open64|openat|openat2|creat|fopen|fopen64|freopen|opendir|'
                  r'json_load_file|json_dump_file|rename|renameat|renameat2)\s*\(')
SYSCALL = re.compile(r'\bsyscall\s*\(\s*(SYS_open|SYS_openat|SYS_openat2|SYS_creat|__NR_open\w*|'
                     r'SYS_rename\w*|__NR_rename\w*)\b')
DECL = re.compile(r'\b(int|FILE|DIR|json_t|static|extern|void)\s*\*?\s*$')

def blank(text):
    """Comments and string/char literals become spaces (newlines kept): offsets stay."""
    out, i, n = list(text), 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            for k in range(i, j):
                if out[k] != '\n':
                    out[k] = ' '
            i = j
        elif text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            for k in range(i, j):
                out[k] = ' '
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            for k in range(i + 1, min(j, n)):
                if out[k] != '\n':
                    out[k] = ' '
            i = j + 1
        else:
            i += 1
    return ''.join(out)

for top in ('base', 'host', 'vmm', 'devices', 'virtio', 'loaders', 'firmware'):
    for d, _, files in sorted(os.walk(os.path.join(root, top))):
        for f in sorted(files):
            if not f.endswith(('.c', '.h')):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, root)
            text = open(path, encoding='utf-8', errors='replace').read()
            code = blank(text)
            hits = [(m.start(), m.group(0)) for m in CALL.finditer(code)]
            hits += [(m.start(), m.group(0)) for m in SYSCALL.finditer(code)]
            for pos, _ in sorted(hits):
                if DECL.search(code[max(0, pos - 40):pos]):
                    continue  # a declaration or definition of a function of that name
                end = pos
                depth = 0
                while end < len(code):
                    ch = code[end]
                    if ch == '(':
                        depth += 1
                    elif ch == ')':
                        depth -= 1
                        if depth == 0:
                            break
                    elif ch == ',' and depth == 1:
                        break
                    end += 1
                key = re.sub(r'\s+', ' ', text[pos:end]).strip()
                line = text.count('\n', 0, pos) + 1
                print(f'{rel}:{line}|{rel}|{key}')
EOF
}

# check ROOT: 0 when every call is allowed and every allow entry is used; prints what is wrong.
check() {
	local root=$1 bad=0 hits key loc entry
	hits=$(scan "$root") || { echo "FAIL: the scan itself failed"; return 1; }
	while IFS= read -r hit; do
		[ -n "$hit" ] || continue
		loc=${hit%%|*}
		key=${hit#*|}
		if ! grep -qxF -- "$key" < <(cut -d'|' -f1,2 <<<"$ALLOW"); then
			echo "FAIL: $loc: $(cut -d'|' -f2 <<<"$key")...: opens a path without host_path_open() (base/host_path.h); use it, or add the call to the allow list of $0 with why it is no outside path"
			bad=1
		fi
	done <<<"$hits"
	while IFS= read -r entry; do
		[ -n "$entry" ] || continue
		key=$(cut -d'|' -f1,2 <<<"$entry")
		if ! cut -d'|' -f2,3 <<<"$hits" | grep -qxF -- "$key"; then
			echo "FAIL: allow-list entry '$key' matches no call any more: remove it"
			bad=1
		fi
	done <<<"$ALLOW"
	return $bad
}

fail=0

# Self-test: a copy of the tree with one planted call of each kind must fail, naming it; the
# same call in a comment or a string literal must not count.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$SOURCE_DIR" && tar -cf - base host vmm devices virtio loaders firmware) | tar -xf - -C "$tmp"
cat >>"$tmp/vmm/vm/metrics.c" <<'EOF'
/* open(path, O_RDONLY) in a comment */
static const char *not_a_call = "fopen(path, \"r\")";
int planted_open(const char *user_path);
int planted_open(const char *user_path)
{
	return open(user_path, O_RDONLY | O_CLOEXEC);
}
EOF
out=$(check "$tmp")
if [ $? -ne 0 ] && grep -q 'metrics.c:[0-9]*: open(user_path\.\.\.' <<<"$out" &&
	[ "$(grep -c '^FAIL' <<<"$out")" -eq 1 ]; then
	echo "ok: self-test: a planted open() of a user's path fails the check: $(head -1 <<<"$out" | cut -c7-80)..."
else
	echo "FAIL: self-test: the planted open() was not caught exactly once:"
	echo "$out"
	fail=1
fi
cp "$SOURCE_DIR/vmm/vm/metrics.c" "$tmp/vmm/vm/metrics.c"
cat >>"$tmp/host/ui/display_png.c" <<'EOF'
int planted_rename(const char *a, const char *b);
int planted_rename(const char *a, const char *b)
{
	return rename(a, b);
}
EOF
out=$(check "$tmp")
if [ $? -ne 0 ] && grep -q 'display_png.c:[0-9]*: rename(a\.\.\.' <<<"$out"; then
	echo "ok: self-test: a planted rename() (not host_path_replace_commit()) fails the check"
else
	echo "FAIL: self-test: the planted rename() was not caught:"
	echo "$out"
	fail=1
fi
cp "$SOURCE_DIR/host/ui/display_png.c" "$tmp/host/ui/display_png.c"
sed -i 's|open("/dev/net/tun"|open("/dev/net/tun0"|' "$tmp/virtio/net/tap.c"
out=$(check "$tmp")
if [ $? -ne 0 ] && grep -q "tap.c:[0-9]*: open(\"/dev/net/tun0\"" <<<"$out" &&
	grep -q "entry 'virtio/net/tap.c|open(\"/dev/net/tun\"' matches no call" <<<"$out"; then
	echo "ok: self-test: a changed allowed call fails, and so does its stale entry"
else
	echo "FAIL: self-test: a changed allowed call was not caught:"
	echo "$out"
	fail=1
fi

# The tree itself.
if out=$(check "$SOURCE_DIR"); then
	echo "ok: every open of a path in base/ host/ vmm/ devices/ virtio/ loaders/ firmware/ is host_path_open() or allowed ($(grep -c . <<<"$(cut -d'|' -f1 <<<"$ALLOW")") allowed)"
else
	echo "$out"
	fail=1
fi
echo "the calls of host_path_open() / host_path_read(), for the record:"
grep -rnE '\bhost_path_(open|read|open_beneath|replace_commit)\s*\(' "$SOURCE_DIR"/{base,host,vmm,devices,virtio,loaders,firmware} \
	--include=*.c | grep -vE 'base/host_path.c|:[0-9]+:\s*(/?\*|SB_ALLOW)' | sed "s|^$SOURCE_DIR/|  |; s|:\s*| |2" |
	cut -c1-110
exit $fail
