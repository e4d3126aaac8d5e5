#!/usr/bin/env bash
# Bad options and bad images: a clear message on stderr and exit status 2, never a crash.
# Every file, path and tap the command line names is checked before /dev/kvm is opened, so the
# same malformed command lines give the same messages on a host without KVM: they run again with
# /dev/kvm masked (an empty file bind-mounted over it in a private mount namespace; needs root
# and unshare, else that part is skipped, exit 77), where a well-formed command line gets the KVM
# probe's reason (exit 1) and --dump-dtb still works.
# labels: cli
set -u
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
hello="$GUESTS/hello.elf"

# expect STATUS PATTERN -- ARGS...: runs the VMM, checks the status and that stderr matches.
expect() {
	local want=$1 pattern=$2
	shift 3
	local err status
	err=$(timeout 30 "$VMM" "$@" 2>&1 >/dev/null </dev/null)
	status=$?
	if [ "$status" -ne "$want" ] || ! grep -qiE -- "$pattern" <<<"$err"; then
		echo "FAIL: vmm $* -> status $status (want $want), stderr: $err"
		fail=1
	else
		echo "ok: vmm $* -> $status: $(head -1 <<<"$err")"
	fi
}

expect 2 "no kernel" -- --mem 64M
expect 2 "unrecognized|invalid option" -- --bogus
expect 2 "not a size" -- -k x --mem lots
expect 2 "multiple of 4K" -- -k x --mem 4097K
expect 2 "too large" -- -k x --mem 99999G
expect 2 "1 to 64" -- -k x --cpus 0
expect 2 "1 to 64" -- -k x --cpus 1000
expect 2 "stdio, virtio, none or file" -- -k x --console tty
expect 2 "unexpected argument" -- -k x stray

# expect_fast PATTERN -- ARGS...: status 2 and exactly one line on stderr matching PATTERN, in
# under a second (a FIFO must never be waited on: the 5 s timeout fails this case, not the
# suite).
expect_fast() {
	local pattern=$1
	shift 2
	local err status start ms
	start=$(date +%s%N)
	err=$(timeout 5 "$VMM" "$@" 2>&1 >/dev/null </dev/null)
	status=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$status" -ne 2 ] || [ "$(grep -c . <<<"$err")" -ne 1 ] ||
		! grep -qE -- "$pattern" <<<"$err" || [ "$ms" -ge 1000 ]; then
		echo "FAIL: vmm ${*:1:6}... -> status $status (want 2) in $ms ms (want < 1000), stderr: $err"
		fail=1
	else
		echo "ok: vmm ${*:1:6}... -> 2 in $ms ms: $err"
	fi
}

# left_behind WHAT FILE -- ARGS...: the VMM fails (any status but 0) and FILE does not exist.
left_behind() {
	local what=$1 file=$2
	shift 3
	rm -f "$file"
	timeout 60 "$VMM" "$@" >/dev/null 2>"$tmp/left.err" </dev/null
	local status=$?
	if [ "$status" -eq 0 ] || [ -e "$file" ]; then
		echo "FAIL: $what: status $status, $file $([ -e "$file" ] && echo "left behind" || echo absent): $(head -2 "$tmp/left.err")"
		fail=1
	else
		echo "ok: $what: status $status, $(basename "$file") not left behind"
	fi
}

# input_cases: the malformed inputs judged before KVM is opened, each with its own message.
input_cases() {
	# Kernels.
	expect 2 "kernel .*missing: No such file" -- -k "$tmp/missing" --console none
	: >"$tmp/empty"
	expect 2 "kernel .*empty: empty file" -- -k "$tmp/empty" --console none
	head -c 4096 /dev/zero | tr '\0' 'x' >"$tmp/garbage"
	expect 2 "neither a bzImage nor an ELF" -- -k "$tmp/garbage" --console none
	# A truncated test guest (ELF whose notes and segments run past the end of the file).
	head -c 300 "$hello" >"$tmp/truncated.elf"
	expect 2 "truncated.elf: bad ELF: .*past the end" -- -k "$tmp/truncated.elf" --console none
	expect 2 "kernel .*: not a regular file" -- -k "$tmp" --console none
	expect 2 "kernel /dev/zero: not a regular file" -- -k /dev/zero --console none
	# An ELF without the PVH note: a host program.
	expect 2 "not a PVH kernel" -- -k /bin/true --console none
	expect 2 "initrd .*missing.initrd: No such file" -- -k "$hello" -i "$tmp/missing.initrd" \
		--console none
	expect 2 "initrd .*: not a regular file" -- -k "$hello" -i "$tmp" --console none
	# Disks: missing, read-only without ,ro, given twice, locked by another process.
	expect 2 "disk .*missing.img: No such file" -- -k "$hello" \
		--disk "$tmp/missing.img" --console none
	truncate -s 1M "$tmp/ro.img" "$tmp/a.img"
	chmod 444 "$tmp/ro.img"
	expect 2 "disk .*ro.img: .*read-only.*add ,ro" -- -k "$hello" --disk "$tmp/ro.img" \
		--console none
	expect 2 "disk .*a.img: the same file as disk 0" -- -k "$hello" --disk "$tmp/a.img" \
		--disk "$tmp/a.img,ro" --console none
	expect 2 "not a regular file or a block device" -- -k "$hello" --disk /dev/null \
		--console none
	# A disk another process holds locked (flock, as a second VMM would): the user's mistake, 2.
	: >"$tmp/locked.img"
	(
		exec 9<>"$tmp/locked.img"
		flock -x 9
		exec sleep 30
	) >/dev/null 2>&1 &
	local locker=$!
	sleep 0.3
	expect 2 "disk .*locked.img: cannot lock" -- -k "$hello" --disk "$tmp/locked.img" \
		--console none
	kill "$locker" 2>/dev/null
	wait "$locker" 2>/dev/null
	# Taps: an interface that is no tap (as root) or no right to open taps; a stray fd.
	expect 2 "tap lo: TUNSETIFF|/dev/net/tun" -- -k "$hello" --net tap=lo --console none
	expect 2 "tapfd=99 is not an open tap" -- -k "$hello" --net tapfd=99 --console none
	# Paths the VM writes or reads later: the console file, the screenshot, the input script.
	expect 2 "console: cannot open .*nodir/out: No such file" -- -k "$hello" \
		--console "file:$tmp/nodir/out"
	expect 2 "--screenshot .*nodir/s.png: directory .*: No such file" -- -k "$hello" \
		--screenshot "$tmp/nodir/s.png" --console none
	expect 2 "input script .*missing.script: No such file" -- -k "$hello" \
		--input-script "$tmp/missing.script" --console none
	# The vsock socket: its directory must exist; an existing non-socket is never replaced.
	expect 2 "vsock: the directory of uds=.*nodir/v.sock: No such file" -- -k "$hello" \
		--vsock "cid=3,uds=$tmp/nodir/v.sock" --console none
	expect 2 "vsock: uds=.*empty exists and is not a socket" -- -k "$hello" \
		--vsock "cid=3,uds=$tmp/empty" --console none
	# A config file's files are checked the same way.
	printf '{"boot-source": {"kernel_image_path": "%s"}, "drives": [{"drive_id": "d0",
		"path_on_host": "%s", "is_root_device": false, "is_read_only": false}]}\n' \
		"$hello" "$tmp/missing.img" >"$tmp/disk.json"
	expect 2 "disk .*missing.img: No such file" -- --config-file "$tmp/disk.json"
	printf '{"boot-source": {"kernel_image_path": "%s"}}\n' "$tmp/empty" >"$tmp/kernel.json"
	expect 2 "kernel .*empty: empty file" -- --config-file "$tmp/kernel.json"
	# Paths from outside (docs/security.md): no FIFO waited on, nothing of /proc or /sys, no
	# character device where a file is expected; one line, exit 2, in well under a second.
	rm -f "$tmp/fifo" && mkfifo "$tmp/fifo"
	expect_fast "config file .*fifo: not a regular file \(a FIFO\)" -- --config-file "$tmp/fifo"
	expect_fast "kernel .*fifo: not a regular file \(a FIFO\)" -- -k "$tmp/fifo" --console none
	expect_fast "disk .*fifo: not a regular file or a block device \(a FIFO\)" -- -k "$hello" \
		--disk "$tmp/fifo" --console none
	# (--console file: takes a FIFO, as Firecracker's serial_out_path: boot/serial_fifo.sh)
	mkdir -p "$tmp/fifosnap" && rm -f "$tmp/fifosnap/state" && mkfifo "$tmp/fifosnap/state"
	expect_fast "--restore .*state: not a regular file \(a FIFO\)" -- --restore "$tmp/fifosnap"
	expect_fast "disk /proc/self/mem: on /proc" -- -k "$hello" --disk /proc/self/mem \
		--console none
	expect_fast "kernel /sys/kernel/notes: on /sys" -- -k /sys/kernel/notes --console none
	ln -sf /proc/self/mem "$tmp/mem-link"
	expect_fast "disk .*mem-link: on /proc" -- -k "$hello" --disk "$tmp/mem-link" --console none
	expect_fast "console: cannot open /dev/null: not a regular file or a FIFO \(a character device\)" \
		-- -k "$hello" --console file:/dev/null
	printf '{"boot-source": {"kernel_image_path": "%s"}, "logger": {"log_path": "/proc/self/mem"}}\n' \
		"$hello" >"$tmp/logger.json"
	expect_fast "log_path /proc/self/mem: on /proc" -- --config-file "$tmp/logger.json"
	printf '{"boot-source": {"kernel_image_path": "%s"}, "metrics": {"metrics_path": "/proc/self/mem"}}\n' \
		"$hello" >"$tmp/metrics.json"
	expect_fast "metrics file /proc/self/mem: on /proc" -- --config-file "$tmp/metrics.json"
	# The kernel command line over the kernel's limit, from the command line and from a config
	# file's boot_args: a usage error before /dev/kvm.
	long=$(head -c 70000 /dev/zero | tr '\0' a)
	expect_fast "command line is 70000 bytes; kernel .*hello.elf accepts at most 65535" -- \
		-k "$hello" --append "$long" --console none
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}}\n' "$hello" "$long" \
		>"$tmp/args.json"
	expect_fast "command line is 70000 bytes" -- --config-file "$tmp/args.json"
	# A tap the VMM may not create (no CAP_NET_ADMIN: here as nobody) is said before /dev/kvm.
	# (As root a missing tap is made by the VMM, docs/migration.md: no error to say then.)
	if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
		printf '#!/bin/sh\nexec setpriv --reuid=65534 --regid=65534 --clear-groups "%s" "$@"\n' \
			"$VMM" >"$tmp/as-nobody"
		chmod 755 "$tmp/as-nobody" "$tmp"
		VMM="$tmp/as-nobody" expect_fast "tap nonexistent0: TUNSETIFF .*CAP_NET_ADMIN" -- \
			-k "$hello" --net tap=nonexistent0 --console none
	fi
	# A failed start leaves nothing it created behind: the console file, the metrics file.
	left_behind "a failed start (bad disk)" "$tmp/new.console" -- -k "$hello" \
		--console "file:$tmp/new.console" --disk "$tmp/missing.img"
	printf '{"boot-source": {"kernel_image_path": "%s"}, "metrics": {"metrics_path": "%s"},
		"drives": [{"drive_id": "d0", "path_on_host": "%s", "is_root_device": false}]}\n' \
		"$hello" "$tmp/new.metrics" "$tmp/missing.img" >"$tmp/m2.json"
	left_behind "a failed start (config file, bad drive)" "$tmp/new.metrics" -- \
		--config-file "$tmp/m2.json"
}

# A start that fails once the VM is being built (with KVM: the virtio-mmio entry pushes a
# command line just under the limit over it; masked: KVM itself) must not leave the console or
# metrics file it created. Any status but 0.
late_failures() {
	local under
	under=$(head -c 65530 /dev/zero | tr '\0' a)
	truncate -s 1M "$tmp/late.img"
	left_behind "a start that fails late" "$tmp/late.console" -- -k "$hello" \
		--disk "$tmp/late.img" --append "$under" --console "file:$tmp/late.console"
	printf '{"boot-source": {"kernel_image_path": "%s", "boot_args": "%s"}, "metrics": {"metrics_path": "%s"},
		"drives": [{"drive_id": "d0", "path_on_host": "%s", "is_root_device": false}]}\n' \
		"$hello" "$under" "$tmp/late.metrics" "$tmp/late.img" >"$tmp/late.json"
	left_behind "a config-file start that fails late" "$tmp/late.metrics" -- \
		--config-file "$tmp/late.json"
}

# With /dev/kvm masked (this script again, inside the namespace): the same messages; a
# well-formed command line gets the probe's reason; --dump-dtb needs no KVM.
if [ "${CLI_ERRORS_MASKED:-}" = 1 ]; then
	echo "--- with /dev/kvm masked"
	input_cases
	late_failures
	expect 1 "kvm: unusable: .*; fix: " -- -k "$hello" --console none
	expect 1 "kvm: unusable: .*; fix: " -- -k "$hello" --disk "$tmp/a.img" --console none
	"$VMM" --check-kvm >"$tmp/check" 2>&1
	status=$?
	if [ $status -ne 1 ] || ! grep -q "^kvm: unusable: .*; fix: " "$tmp/check"; then
		echo "FAIL: vmm --check-kvm -> $status: $(cat "$tmp/check")"
		fail=1
	else
		echo "ok: vmm --check-kvm -> 1: $(cat "$tmp/check")"
	fi
	expect 0 "" -- -k "$hello" --disk "$tmp/a.img" --dump-dtb "$tmp/masked.dtb" --console none
	[ -s "$tmp/masked.dtb" ] || { echo "FAIL: --dump-dtb wrote no DTB without KVM"; fail=1; }
	exit $fail
fi

input_cases
late_failures
# A kernel that doesn't fit: the guest is fine in 16M but its initrd isn't (placed with the
# machine's layout, so judged once the VM is built).
head -c $((20 << 20)) /dev/zero >"$tmp/big.initrd"
expect 2 "initrd|fit|RAM" -- -k "$hello" -i "$tmp/big.initrd" --mem 16M --console none
# Device options.
expect 2 "empty disk path" -- -k x --disk ",ro"
expect 2 "unknown option 'foo'" -- -k x --disk "$tmp/d,foo=1"
expect 2 "serial" -- -k x --disk "$tmp/d,serial=123456789012345678901"
expect 2 "rate" -- -k x --rng=bogus
expect 2 "network" -- -k x --net bogus
expect 2 "MAC|mac" -- -k x --net user,mac=zz:00:00:00:00:00

# --help documents every long option the parser knows, and exits 0.
"$VMM" --help >"$tmp/help" || { echo "FAIL: --help status $?"; fail=1; }
for opt in kernel initrd append mem cpus console disk net rng display gpu screenshot input-script transport dtb dump-dtb boot-timer hugepages debug-exit api-sock config-file restore track-dirty-pages seccomp user kvm check-kvm verbose quiet help version; do
	grep -q -- "--$opt" "$tmp/help" || { echo "FAIL: --help lacks --$opt"; fail=1; }
done

# The same malformed command lines with /dev/kvm masked.
if [ ! -e /dev/kvm ]; then # no KVM here at all: nothing to mask
	CLI_ERRORS_MASKED=1 bash "${BASH_SOURCE[0]}" || fail=1
elif [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
	: >"$tmp/not-kvm"
	CLI_ERRORS_MASKED=1 unshare -m --propagation private \
		bash -c 'mount --bind "$1" /dev/kvm && exec bash "$0"' "${BASH_SOURCE[0]}" \
		"$tmp/not-kvm" || fail=1
else
	masked_skip="masking /dev/kvm needs root and unshare(1)"
fi

[ $fail -eq 0 ] || exit 1
if [ -n "${masked_skip:-}" ]; then
	. "$(dirname "${BASH_SOURCE[0]}")/../lib/require.sh"
	skip "not root" "the checks with /dev/kvm masked did not run: $masked_skip"
fi
echo "cli_errors: all passed"
exit 0
