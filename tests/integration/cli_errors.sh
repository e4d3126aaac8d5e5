#!/usr/bin/env bash
# Bad options and bad images: a clear message on stderr and exit status 2, never a crash.
# labels: cli
set -u
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

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

# Images.
expect 2 "No such file" -- -k "$tmp/missing" --console none
: >"$tmp/empty"
expect 2 "empty|too small|truncated|not a|unknown" -- -k "$tmp/empty" --console none
head -c 4096 /dev/urandom >"$tmp/garbage"
expect 2 "neither|not a|unknown|format" -- -k "$tmp/garbage" --console none
# A truncated test guest (ELF whose segments run past the end of the file).
head -c 300 "$GUESTS/hello.elf" >"$tmp/truncated.elf"
expect 2 "truncated|past|beyond|outside|malformed" -- -k "$tmp/truncated.elf" --console none
# An ELF without the PVH note: a host program.
expect 2 "PVH" -- -k /bin/true --console none
# A kernel that doesn't fit: the guest is fine in 16M but its initrd isn't.
head -c $((20 << 20)) /dev/zero >"$tmp/big.initrd"
expect 2 "initrd|fit|RAM" -- -k "$GUESTS/hello.elf" -i "$tmp/big.initrd" --mem 16M --console none
expect 2 "No such file" -- -k "$GUESTS/hello.elf" -i "$tmp/missing.initrd" --console none
# Device options.
expect 2 "empty disk path" -- -k x --disk ",ro"
expect 2 "unknown option 'foo'" -- -k x --disk "$tmp/d,foo=1"
expect 2 "serial" -- -k x --disk "$tmp/d,serial=123456789012345678901"
expect 2 "No such file|cannot open" -- -k "$GUESTS/hello.elf" --disk "$tmp/missing.img" --console none
# A disk another process holds locked (flock, as a second VMM would): the user's mistake, 2.
: >"$tmp/locked.img"
flock -x "$tmp/locked.img" sleep 30 &
locker=$!
sleep 0.2
expect 2 "cannot lock" -- -k "$GUESTS/hello.elf" --disk "$tmp/locked.img" --console none
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
expect 2 "rate" -- -k x --rng=bogus
expect 2 "network" -- -k x --net bogus
expect 2 "MAC|mac" -- -k x --net user,mac=zz:00:00:00:00:00

# --help documents every long option the parser knows, and exits 0.
"$VMM" --help >"$tmp/help" || { echo "FAIL: --help status $?"; fail=1; }
for opt in kernel initrd append mem cpus console disk net rng display gpu screenshot input-script transport dtb dump-dtb boot-timer hugepages debug-exit api-sock config-file restore track-dirty-pages seccomp user kvm verbose quiet help version; do
	grep -q -- "--$opt" "$tmp/help" || { echo "FAIL: --help lacks --$opt"; fail=1; }
done

[ $fail -eq 0 ] && echo "cli_errors: all passed"
exit $fail
