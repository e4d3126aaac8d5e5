#!/usr/bin/env bash
# L1's emulator: Debian's newer QEMU (qemu-system-x86 from the release's backports suite, 10.x on
# Debian 12) unpacked into a private prefix, never installed: the system's QEMU (7.2 on Debian 12)
# stays what the tests use as their peer. L1 needs the newer one to run OVMF in L2: under 7.2 the
# nested-SVM code of TCG raises an interrupt without its big lock and aborts L1
# ("tcg_handle_interrupt: assertion failed"); 10.0 boots Debian's OVMF.fd there.
#
#   tools/kvm-in-qemu/l1-qemu.sh [--fetch]
# prints the prefix's `qemu-system-x86_64` and, on a second line, its firmware folders (for -L,
# separated by ":"), fetching the packages first when the prefix has none (--fetch: only that,
# printing nothing). Exits 1 with the reason on stderr when it cannot (no root, no archive, a
# library the host lacks): run.sh then uses the system QEMU and says so.
#
# How: a sources list of its own naming only <codename>-backports on the Debian archive the host's
# apt already uses (found in /etc/apt/sources.list*), with lists and cache of its own
# (apt-get -o Dir::Etc::SourceList=...), `apt-get download` of qemu-system-x86, -common, -data and
# seabios from there, and `dpkg -x` of each into the prefix. The libraries they link are
# bookworm's (the system QEMU's own): the prefix holds none.
# Environment: KVM_IN_QEMU_L1_PREFIX (default /var/cache/vmm-l1-qemu).
set -euo pipefail

prefix=${KVM_IN_QEMU_L1_PREFIX:-/var/cache/vmm-l1-qemu}
fetch_only=0
[ "${1:-}" != --fetch ] || fetch_only=1
packages=(qemu-system-x86 qemu-system-common qemu-system-data seabios)

fail() {
	echo "l1-qemu: $*" >&2
	exit 1
}

print() {
	[ "$fetch_only" = 1 ] && return
	echo "$prefix/root/usr/bin/qemu-system-x86_64"
	echo "$prefix/root/usr/share/qemu:$prefix/root/usr/share/seabios:/usr/lib/ipxe/qemu"
}

[ -e "$prefix/root/.done" ] && { print; exit 0; }
[ "$(id -u)" = 0 ] || fail "needs root to fetch into $prefix"
command -v apt-get >/dev/null && command -v dpkg >/dev/null || fail "needs apt-get and dpkg"
mkdir -p "$prefix"
exec 8>"$prefix/.lock"
flock 8
[ -e "$prefix/root/.done" ] && { print; exit 0; }

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || fail "/etc/os-release names no VERSION_CODENAME"
# The archive the host's apt uses for the release itself: a one-line entry ("deb URI codename
# ...") or a deb822 stanza (URIs:, Suites:), the first that names the codename.
archive=$(
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		awk -v s="$codename" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {
			if ($(i + 1) == s) { print $i; exit } } }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$codename" 'BEGIN { RS = ""; FS = "\n" } {
			uri = ""; hit = 0
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) { split($i, w, " "); uri = w[2] }
				if ($i ~ /^Suites:/) { n = split($i, w, " "); for (j = 2; j <= n; j++) if (w[j] == s) hit = 1 }
			}
			if (hit && uri != "") { print uri; exit }
		}' "$f"
	done | head -1
)
[ -n "$archive" ] || fail "no Debian archive for $codename in /etc/apt/sources.list*"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || fail "no $keyring (debian-archive-keyring)"

apt=$prefix/apt
rm -rf "$apt" "$prefix/root.new"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$prefix/root.new"
echo "deb [signed-by=$keyring] $archive $codename-backports main" >"$apt/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
echo "l1-qemu: fetching ${packages[*]} from $archive $codename-backports into $prefix" >&2
apt-get -q "${opts[@]}" update >&2 || fail "apt-get update of $codename-backports failed"
(cd "$apt/debs" && apt-get -q "${opts[@]}" download "${packages[@]/%//$codename-backports}" >&2) ||
	fail "apt-get download from $codename-backports failed"
for deb in "$apt/debs"/*.deb; do dpkg -x "$deb" "$prefix/root.new"; done
bin=$prefix/root.new/usr/bin/qemu-system-x86_64
missing=$(ldd "$bin" | awk '/not found/ { print $1 }' | tr '\n' ' ')
[ -z "$missing" ] || fail "$bin needs libraries this host lacks: $missing"
version=$("$bin" --version | head -1) || fail "$bin does not run"
(cd "$apt/debs" && ls) >"$prefix/root.new/.done"
rm -rf "$prefix/root" "$apt"
mv "$prefix/root.new" "$prefix/root"
echo "l1-qemu: $version in $prefix/root" >&2
print
