# shellcheck shell=bash
# Debian packages fetched into kvm-in-qemu's cache, never installed: the functions run.sh and
# guest-images/arm64-guest.sh share (sourced by both, so that the arm64 guest kernel the VMM's
# tests boot under QEMU is the very one the arm64 L1's L2 gets, from one download).
# The sourcing script defines die MESSAGE (prints it and exits) and runs with set -euo pipefail.
# Needs apt-get and apt-cache (first download only), dpkg, busybox (depmod).

# The cache folder: $KVM_IN_QEMU_CACHE, default ~/.cache/vmm-kvm-in-qemu (aarch64's things in its
# subfolder aarch64/).
kiq_cache() {
	echo "${KVM_IN_QEMU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vmm-kvm-in-qemu}"
}

# The newest .deb matching GLOB in DIR, downloaded first when there is none: META's versioned
# dependency (linux-image-amd64 -> linux-image-6.1.0-NN-amd64) or, for a package that is no
# meta package (busybox-static:arm64), META itself. Prints its path.
fetch_deb() {
	local dir=$1 meta=$2 glob=$3 deb pkg
	deb=$(find "$dir" -maxdepth 1 -name "$glob" | sort | tail -1)
	if [ -z "$deb" ]; then
		pkg=$meta
		case $meta in linux-image-*)
			pkg=$(apt-cache depends "$meta" | awk '/Depends: linux-image-/ { print $2; exit }')
			[ -n "$pkg" ] || die "apt-cache knows no $meta (apt-get update?)"
			;;
		esac
		echo "kvm-in-qemu: downloading $pkg" >&2
		# as root: apt's _apt user cannot reach a cache in root's home (and would warn)
		(cd "$dir" && apt-get -q -o APT::Sandbox::User=root download "$pkg" >&2) ||
			die "apt-get download $pkg failed"
		deb=$(find "$dir" -maxdepth 1 -name "$glob" | sort | tail -1)
		[ -n "$deb" ] || die "apt-get download $pkg left no $glob in $dir"
	fi
	echo "$deb"
}

# Debian's busybox-static of DEBARCH (arm64), unpacked into DIR/busybox. Prints its path.
deb_busybox() {
	local dir=$1 debarch=$2 deb
	if [ ! -x "$dir/busybox/bin/busybox" ]; then
		mkdir -p "$dir"
		deb=$(fetch_deb "$dir" "busybox-static:$debarch" 'busybox-static_*.deb') || exit
		rm -rf "$dir/busybox"
		dpkg -x "$deb" "$dir/busybox" || die "dpkg -x $deb failed"
	fi
	echo "$dir/busybox/bin/busybox"
}

# Debian's qemu-system-common of DEBARCH (arm64), unpacked into DIR/qemu-common (never
# installed): the vhost-user back-ends the arm64 L1 runs beside the VMM, virtiofsd
# (usr/lib/qemu/virtiofsd: Debian 12 has no package of its own for it) and qemu-storage-daemon
# (usr/bin). They run there with the host's multiarch arm64 libraries (tools/setup.sh's arm64
# list: libcap-ng0, libnuma1, libfuse3-3, libaio1 beside the cross build's). Prints the folder.
deb_qemu_common() {
	local dir=$1 debarch=$2 deb
	if [ ! -x "$dir/qemu-common/usr/bin/qemu-storage-daemon" ]; then
		mkdir -p "$dir"
		deb=$(fetch_deb "$dir" "qemu-system-common:$debarch" 'qemu-system-common_*.deb') || exit
		rm -rf "$dir/qemu-common" "$dir/qemu-common.tmp"
		dpkg -x "$deb" "$dir/qemu-common.tmp" || die "dpkg -x $deb failed"
		mv "$dir/qemu-common.tmp" "$dir/qemu-common"
	fi
	echo "$dir/qemu-common"
}

# Debian's arm64 dpdk-testpmd (package dpdk-dev) and every library it loads that an x86 host's
# multiarch arm64 set lacks, unpacked into DIR/dpdk: L1's vhost-user-net back-end. Not installed
# with apt: its arm64 mlx5 libraries (rdma-core) conflict with the amd64 dpdk-dev the x86 tests
# use. It runs with LD_LIBRARY_PATH=DIR/dpdk/usr/lib/aarch64-linux-gnu:DIR/dpdk/lib/aarch64-linux-gnu
# and names its drivers with -d (its built-in plugin folder, /usr/lib/aarch64-linux-gnu/dpdk, is
# not there). The list: dpdk-testpmd's NEEDED libraries' packages and theirs, closed by hand
# (readelf -d) on 2026-12-02. Prints DIR/dpdk.
DPDK_ARM64_DEBS="dpdk-dev ibverbs-providers libbsd0 libcap2 libdbus-1-3 libelf1 libgcrypt20
libgpg-error0 libibverbs1 liblz4-1 liblzma5 libmd0 libnl-3-200 libnl-route-3-200 libpcap0.8
libsystemd0 librte-bitratestats23 librte-bpf23 librte-bus-auxiliary23 librte-bus-dpaa23
librte-bus-pci23 librte-bus-vdev23 librte-cmdline23 librte-common-dpaax23 librte-common-iavf23
librte-common-mlx5-23 librte-crypto-scheduler23 librte-cryptodev23 librte-dmadev23 librte-eal23
librte-ethdev23 librte-eventdev23 librte-gro23 librte-gso23 librte-hash23 librte-ip-frag23
librte-kvargs23 librte-latencystats23 librte-mbuf23 librte-mempool-dpaa23 librte-mempool-ring23
librte-mempool23 librte-meter23 librte-metrics23 librte-net-bnxt23 librte-net-bond23
librte-net-dpaa23 librte-net-i40e23 librte-net-ice23 librte-net-ixgbe23 librte-net-mlx5-23
librte-net-vhost23 librte-net23 librte-pcapng23 librte-pci23 librte-pdump23 librte-rcu23
librte-reorder23 librte-ring23 librte-sched23 librte-security23 librte-telemetry23
librte-timer23 librte-vhost23"
deb_dpdk_arm64() {
	local dir=$1 pkgs=() p d
	if [ ! -x "$dir/dpdk/usr/bin/dpdk-testpmd" ]; then
		for p in $DPDK_ARM64_DEBS; do pkgs+=("$p:arm64"); done
		rm -rf "$dir/dpdk-debs" "$dir/dpdk" "$dir/dpdk.tmp"
		mkdir -p "$dir/dpdk-debs"
		echo "kvm-in-qemu: downloading dpdk-dev:arm64 and ${#pkgs[@]} libraries" >&2
		(cd "$dir/dpdk-debs" && apt-get -q -o APT::Sandbox::User=root download "${pkgs[@]}" >&2) ||
			die "apt-get download of dpdk-dev:arm64 and its libraries failed"
		for d in "$dir"/dpdk-debs/*.deb; do
			dpkg -x "$d" "$dir/dpdk.tmp" || die "dpkg -x $d failed"
		done
		mv "$dir/dpdk.tmp" "$dir/dpdk"
		rm -rf "$dir/dpdk-debs"
	fi
	echo "$dir/dpdk"
}

# An arm64 guest kernel: Debian's linux-image-cloud-arm64 (the stock kernel nobody here built;
# virtio, PL011 and PL031 drivers, its virtio-blk and virtio-net as modules), unpacked into
# DIR/root with its modules.dep (busybox's depmod: the host may have no kmod). The arm64 vmlinuz
# of Debian 12 is already the raw Image (an EFI stub's "MZ" header, the Image's "ARM\x64" magic
# at 0x38), which the VMM loads as it is; a gzipped one (older or other distributions) is
# unpacked to an Image beside it. Prints the Image's path. A lock in DIR: run.sh
# --print-l2-kernel and the guest's build may ask at once. Each step that can fail says so
# itself: bash clears set -e inside $(...), where callers run these functions.
cloud_arm64_kernel() {
	local dir=$1 deb img kver
	mkdir -p "$dir"
	(
		flock 8
		deb=$(fetch_deb "$dir" linux-image-cloud-arm64:arm64 'linux-image-*.deb') || exit
		if [ "$(cat "$dir/root/.done" 2>/dev/null)" != "$deb" ]; then
			rm -rf "$dir/root"
			dpkg -x "$deb" "$dir/root" || die "dpkg -x $deb failed"
			img=$(find "$dir/root/boot" -name 'vmlinuz-*' | head -1)
			[ -n "$img" ] || die "$deb has no boot/vmlinuz-*"
			if [ "$(head -c 2 "$img" | od -An -tx1 | tr -d ' ')" = 1f8b ]; then
				zcat "$img" >"$dir/root/boot/Image"
			else
				ln -s "$(basename "$img")" "$dir/root/boot/Image"
			fi
			echo "$deb" >"$dir/root/.done"
		fi
		# Checked on its own: trees unpacked before the depmod came here have none.
		kver=$(ls "$dir/root/lib/modules")
		[ -e "$dir/root/lib/modules/$kver/modules.dep" ] ||
			busybox depmod -b "$dir/root" "$kver" || die "depmod of $dir/root failed"
	) 8>"$dir/.lock" || exit
	echo "$dir/root/boot/Image"
}

# The modules.dep paths (kernel/...) of the modules named in WANT (file names without .ko, as
# "virtio_pci virtio-rng") and of everything they depend on, dependencies first: the order in
# which insmod takes them. A name that is not in DEP (built in) is simply not found.
module_closure() {
	local dep=$1
	awk -v want="$2" '
		function add(mod,   n, i, parts) {
			if (mod in seen) return
			seen[mod] = 1
			n = split(deps[mod], parts, " ")
			for (i = n; i >= 1; i--) add(parts[i])
			print mod
		}
		{ k = $1; sub(/:$/, "", k); $1 = ""; deps[k] = $0 }
		END {
			n = split(want, w, " ")
			for (i = 1; i <= n; i++)
				for (k in deps) if (k ~ ("/" w[i] ".ko$")) add(k)
		}' "$dep"
}

# The archive the host's apt uses for the release CODENAME: a one-line entry ("deb URI codename
# ...") or a deb822 stanza (URIs:, Suites:), the first that names the codename. Prints it
# (nothing when there is none).
debian_archive() {
	local codename=$1 f
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
}

# The newest .deb matching GLOB in DIR, downloaded first when there is none from the release's
# backports suite (<codename>-backports of the archive the host's apt uses; a sources list,
# lists and cache of its own in DIR/apt, never the system's): META's versioned dependency there
# (linux-image-arm64:arm64 -> linux-image-6.12.N+deb12-arm64). Prints its path. For the arm64
# L1's newer kernel (run.sh --kernel backports: Linux 6.7 and later let user space lower ID
# registers, which arm64 CPU templates need).
fetch_bpo_deb() {
	local dir=$1 meta=$2 glob=$3 deb pkg codename archive apt opts
	deb=$(find "$dir" -maxdepth 1 -name "$glob" 2>/dev/null | sort | tail -1)
	if [ -z "$deb" ]; then
		codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
		archive=$(debian_archive "$codename")
		[ -n "$archive" ] || die "no Debian archive for ${codename:-?} in /etc/apt/sources.list*"
		apt=$dir/apt
		mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
		echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $archive $codename-backports main" >"$apt/sources.list"
		opts=(-o "Dir::Etc::SourceList=$apt/sources.list" -o Dir::Etc::SourceParts=/nonexistent
			-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
		apt-get -q "${opts[@]}" update >&2 || die "apt-get update of $codename-backports failed"
		pkg=$(apt-cache "${opts[@]}" depends "$meta/$codename-backports" 2>/dev/null |
			awk '/Depends: linux-image-/ { print $2; exit }')
		[ -n "$pkg" ] || die "$codename-backports has no $meta"
		echo "kvm-in-qemu: downloading $pkg from $codename-backports" >&2
		(cd "$dir" && apt-get -q "${opts[@]}" download "$pkg/$codename-backports" >&2) ||
			die "apt-get download $pkg from $codename-backports failed"
		deb=$(find "$dir" -maxdepth 1 -name "$glob" | sort | tail -1)
		[ -n "$deb" ] || die "apt-get download $pkg left no $glob in $dir"
	fi
	echo "$deb"
}
