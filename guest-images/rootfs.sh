#!/usr/bin/env bash
# Builds the Debian 12 (bookworm) root file system of the hardware-KVM benchmarks (tools/bench
# fio / iperf3): debootstrap --variant=minbase with fio, iperf3 and iproute2, plus /bench-init
# (rootfs-init.sh: no systemd; runs the jobs named on the kernel command line), made into an
# ext4 image with mkfs.ext4 -d. The packages come from the Debian archive apt on this machine
# already uses (the first bookworm entry of /etc/apt/sources.list{,.d/*}), nothing else.
# Cached as ${VMM_GUEST_CACHE:-/var/cache/vmm-guest}/rootfs-<hash>.ext4, <hash> = this recipe
# and rootfs-init.sh. Needs root and debootstrap; a cold build takes several minutes.
#
# Usage: guest-images/rootfs.sh               build if missing, print the path for humans
#        guest-images/rootfs.sh --print-path  same, print only the image's path
# Boot it read-only as the first virtio disk:
#   root=/dev/vda ro rootfstype=ext4 init=/bench-init vmmbench.jobs=randread,randwrite,...
# (fio needs CONFIG_AIO=y and CONFIG_SYSVIPC=y in the kernel; rootfs-init.sh lists the
# parameters). Tried under QEMU TCG: iperf3 both ways works with the default kernel.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VMM_GUEST_CACHE:-/var/cache/vmm-guest}"
SUITE=bookworm
PACKAGES=fio,iperf3,iproute2,libaio1
# Bump when the steps below change in a way that changes the image.
RECIPE=1
LABEL=vmmbench
UUID=5d6f0c1e-8a3b-4c57-9e2a-766d6d62656e

log() { echo "rootfs: $*" >&2; }
die() {
	log "error: $*"
	exit 1
}

MODE=human
case "${1:-}" in
"") ;;
--print-path) MODE=path ;;
-h | --help)
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
	exit 0
	;;
*)
	sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
	;;
esac

# The URI of the first "deb" source for $SUITE itself (not -security/-updates), from the
# one-line (*.list) and deb822 (*.sources) formats.
apt_mirror() {
	local f
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -r "$f" ] || continue
		# "deb [options] URI SUITE COMPONENTS...": drop the options, then match.
		awk -v s="$SUITE" '{ sub(/\[[^]]*\]/, ""); $0 = $0 }
			$1 == "deb" && $3 == s { print $2; exit }' "$f"
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -r "$f" ] || continue
		awk -v s="$SUITE" 'function flush() {
				if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " s " ") && uri != "")
					{ print uri; found = 1; exit }
				types = suites = uri = ""
			}
			/^[ \t]*$/ { flush(); next }
			/^Types:/ { sub(/^Types:[ \t]*/, ""); types = $0 }
			/^Suites:/ { sub(/^Suites:[ \t]*/, ""); suites = $0 }
			/^URIs:/ { uri = $2 }
			END { if (!found) flush() }' "$f"
	done
}

build() {
	local out="$1" mirror stage size_mib
	mirror=$(apt_mirror | head -n 1)
	[ -n "$mirror" ] || die "no '$SUITE' source in /etc/apt/sources.list{,.d/*}"
	stage="$CACHE/work/rootfs-stage-$$"
	trap 'rm -rf "$stage" "$out.tmp"' EXIT
	rm -rf "$stage"
	mkdir -p "$stage"
	log "debootstrap $SUITE from $mirror (minbase + $PACKAGES): several minutes"
	# apt's proxy, if it has one, is the way to the same archive.
	local proxy
	proxy=$(apt-config dump 2>/dev/null | sed -n 's/^Acquire::http::Proxy "\(.*\)";$/\1/p')
	if [ -n "$proxy" ] && [ "$proxy" != DIRECT ]; then export http_proxy="$proxy"; fi
	debootstrap --variant=minbase --components=main --include="$PACKAGES" \
		"$SUITE" "$stage" "$mirror" >"$CACHE/work/debootstrap.log" 2>&1 ||
		{
			tail -n 30 "$CACHE/work/debootstrap.log" >&2
			die "debootstrap failed (log: $CACHE/work/debootstrap.log)"
		}
	for t in fio iperf3 ip; do
		chroot "$stage" sh -c "command -v $t" >/dev/null || die "$t missing in the root"
	done
	install -m 0755 "$HERE/rootfs-init.sh" "$stage/bench-init"
	echo "$LABEL" >"$stage/etc/hostname"
	# What the image does not need: package caches and lists.
	rm -rf "$stage"/var/cache/apt/archives/*.deb "$stage"/var/lib/apt/lists/* \
		"$stage"/var/log/* "$stage"/debootstrap
	size_mib=$(($(du -sm "$stage" | cut -f1) * 5 / 4 + 64))
	log "mkfs.ext4 -d ($size_mib MiB)"
	rm -f "$out.tmp"
	mkfs.ext4 -q -F -L "$LABEL" -U "$UUID" -d "$stage" "$out.tmp" "${size_mib}M" >&2
	mv "$out.tmp" "$out"
	rm -rf "$stage"
	trap - EXIT
}

main() {
	local hash out
	[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
	for t in debootstrap mkfs.ext4 sha256sum flock chroot; do
		command -v "$t" >/dev/null || die "missing tool '$t' (apt-get install debootstrap e2fsprogs)"
	done
	mkdir -p "$CACHE/work" || die "cannot create $CACHE (set VMM_GUEST_CACHE)"
	hash=$({
		printf 'recipe %s\n' "$RECIPE"
		cat "${BASH_SOURCE[0]}" "$HERE/rootfs-init.sh"
	} | sha256sum | cut -c1-16)
	out="$CACHE/rootfs-$hash.ext4"
	# One build at a time (the lock is not build.sh's: the two may run together).
	exec 8>"$CACHE/.rootfs.lock"
	flock 8
	[ -f "$out" ] || build "$out"
	if [ "$MODE" = path ]; then
		echo "$out"
	else
		echo "rootfs: $out (read-only template: copy it before letting a guest write)"
	fi
}

main
