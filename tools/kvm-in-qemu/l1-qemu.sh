#!/usr/bin/env bash
# L1's emulator: Debian's newer QEMU (10.x, from the release's backports suite on Debian 12), built
# from Debian's orig tarball of it with the patches in qemu-patches/ and kept in a private prefix,
# never installed: the system's QEMU (7.2 on Debian 12) stays what the tests use as their peer.
# L1 needs it to run OVMF in L2: on 7.2 and on Debian's 10.0.2 binary alike, the nested-SVM code of
# TCG raises an interrupt without its big lock when OVMF writes CR8 and aborts L1
# ("tcg_handle_interrupt: assertion failed"; qemu-patches/0001 takes the lock).
#
#   tools/kvm-in-qemu/l1-qemu.sh [--fetch]
# prints the prefix's `qemu-system-x86_64` and, on a second line, its firmware folders (for -L,
# separated by ":"), building it first when the prefix has none or one built from other patches
# (--fetch: only that, printing one line on stderr). Exits 1 with the reason on stderr when it cannot (no
# root, no archive, a build that failed): run.sh then uses the system QEMU and says so.
#
# How: a sources list of its own naming only <codename>-backports on the Debian archive the host's
# apt already uses (found in /etc/apt/sources.list*), with lists and cache of its own
# (apt-get -o Dir::Etc::SourceList=...); `apt-get download` of qemu-system-data and seabios (L1's
# ROMs) and of meson (QEMU 10 needs meson 1.5, Debian 12 has 1.0), `dpkg -x` of each; the orig
# tarball of the qemu source package, checked against the archive's SHA256; a build of
# x86_64-softmmu alone with TCG, 9p and slirp (about 1,600 steps, some minutes on 2 cores). The
# libraries it links are bookworm's (tools/setup.sh installs their -dev packages).
# Environment: KVM_IN_QEMU_L1_PREFIX (default /var/cache/vmm-l1-qemu).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=debs.sh
. "$here/debs.sh"
prefix=${KVM_IN_QEMU_L1_PREFIX:-/var/cache/vmm-l1-qemu}
fetch_only=0
[ "${1:-}" != --fetch ] || fetch_only=1
packages=(qemu-system-data seabios meson)
configure_flags=(--target-list=x86_64-softmmu --without-default-features --enable-tcg --enable-virtfs
	--enable-attr --enable-slirp --enable-fdt=system --disable-docs --disable-tools --disable-werror
	--disable-debug-info --disable-install-blobs --with-pkgversion=vmm-l1)
# What the prefix was built from: a prefix with another stamp is rebuilt.
stamp=$({ printf '%s\n' "${configure_flags[@]}"; cat "$here"/qemu-patches/*.patch; } | sha256sum | cut -c1-16)

die() { fail "$@"; } # debs.sh's
fail() {
	echo "l1-qemu: $*" >&2
	# a fetch or build that failed is not tried again by every L1 start, only by --fetch (tools/test.sh)
	[ -z "${trying:-}" ] || echo "$stamp" >"$prefix/failed"
	exit 1
}

print() {
	[ "$fetch_only" = 0 ] || { echo "l1-qemu: ready in $prefix/root ($(sed -n 2p "$prefix/root/.done"))" >&2 && return; }
	echo "$prefix/root/usr/bin/qemu-system-x86_64"
	echo "$prefix/root/usr/share/qemu:$prefix/root/usr/share/seabios:/usr/lib/ipxe/qemu"
}

built() { [ "$(sed -n 1p "$prefix/root/.done" 2>/dev/null)" = "stamp $stamp" ]; }

built && { print; exit 0; }
[ "$fetch_only" = 1 ] || [ "$(cat "$prefix/failed" 2>/dev/null)" != "$stamp" ] ||
	fail "its last fetch or build failed ($prefix/build/build.log); tools/test.sh tries again"
[ "$(id -u)" = 0 ] || fail "needs root to build into $prefix"
for tool in apt-get dpkg curl patch ninja cc pkg-config; do
	command -v "$tool" >/dev/null || fail "needs $tool (tools/setup.sh installs it)"
done
pkg-config --exists glib-2.0 slirp zlib && [ -e /usr/include/libfdt.h ] &&
	[ -e /usr/include/attr/libattr.h ] ||
	fail "needs the -dev packages of glib, slirp, libfdt, zlib and libattr (tools/setup.sh installs them)"
mkdir -p "$prefix"
exec 8>"$prefix/.lock"
flock 8
built && { print; exit 0; }
trying=1

codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
[ -n "$codename" ] || fail "/etc/os-release names no VERSION_CODENAME"
archive=$(debian_archive "$codename")
[ -n "$archive" ] || fail "no Debian archive for $codename in /etc/apt/sources.list*"
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
[ -r "$keyring" ] || fail "no $keyring (debian-archive-keyring)"

apt=$prefix/apt
work=$prefix/build
new=$prefix/root.new
rm -rf "$apt" "$work" "$new"
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$apt/debs" "$work" "$new"
for kind in deb deb-src; do
	echo "$kind [signed-by=$keyring] $archive $codename-backports main"
done >"$apt/sources.list"
opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
	-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
echo "l1-qemu: fetching ${packages[*]} and qemu's source from $archive $codename-backports" >&2
apt-get -q "${opts[@]}" update >&2 || fail "apt-get update of $codename-backports failed"
(cd "$apt/debs" && apt-get -q "${opts[@]}" download "${packages[@]/%//$codename-backports}" >&2) ||
	fail "apt-get download from $codename-backports failed"
for deb in "$apt/debs"/qemu-system-data_*.deb "$apt/debs"/seabios_*.deb; do dpkg -x "$deb" "$new"; done
dpkg -x "$apt/debs"/meson_*.deb "$work/meson"
# The orig tarball alone ('URI' name size SHA256:hex): Debian's own patches are for its packaging.
# (From the empty build folder: apt leaves out a file that is already in the current one.)
read -r uri name sha < <(cd "$work" && apt-get -q "${opts[@]}" --print-uris source "qemu/$codename-backports" |
	awk '$2 ~ /\.orig\.tar\./ { gsub("\047", "", $1); sub("^SHA256:", "", $4); print $1, $2, $4; exit }') ||
	fail "no qemu source in $codename-backports"
curl -fsS -o "$work/$name" "$uri" || fail "could not fetch $uri"
echo "$sha  $work/$name" | sha256sum -c --quiet - >&2 || fail "$name does not match the archive's SHA256"
tar -xf "$work/$name" -C "$work"
src=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'qemu-*' | head -1)
[ -n "$src" ] || fail "$name holds no qemu-* folder"
for p in "$here"/qemu-patches/*.patch; do
	patch -d "$src" -p1 --quiet <"$p" >&2 || fail "$(basename "$p") does not apply to $name"
done
echo "l1-qemu: building $(basename "$src") (log: $work/build.log)" >&2
if ! (cd "$src" && mkdir -p b && cd b &&
	PYTHONPATH="$work/meson/usr/lib/python3/dist-packages" ../configure --python=/usr/bin/python3 \
		"${configure_flags[@]}" && PYTHONPATH="$work/meson/usr/lib/python3/dist-packages" ninja qemu-system-x86_64) \
	>"$work/build.log" 2>&1; then
	tail -5 "$work/build.log" >&2
	fail "the build of $(basename "$src") failed ($work/build.log)"
fi
install -D -m 755 "$src/b/qemu-system-x86_64" "$new/usr/bin/qemu-system-x86_64"
bin=$new/usr/bin/qemu-system-x86_64
version=$("$bin" --version | head -1) || fail "$bin does not run"
{ echo "stamp $stamp"; echo "$name"; (cd "$here/qemu-patches" && ls); } >"$new/.done"
rm -rf "$prefix/root" "$apt" "$work" "$prefix/failed"
mv "$new" "$prefix/root"
echo "l1-qemu: $version in $prefix/root" >&2
print
