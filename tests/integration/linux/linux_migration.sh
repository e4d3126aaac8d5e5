#!/usr/bin/env bash
# Live migration of the default Linux guest at its shell prompt (issue 31), both kinds, one boot:
#   1. the source (--mem-shared, a raw disk, the API) boots to its shell; the guest writes a
#      marker to a tmpfs file and to sector 0 of its disk;
#   2. a copying migration to `vmm --migrate-from unix:M1` (PUT /vmm/send-migration), which
#      builds the VM during the pre-copy and starts it paused (every device here may be built
#      beside the source; its disk's lock is taken once handed over): the source ends with 0, and the shell on the destination answers the next command: it still has the
#      tmpfs file and sector 0, and writes sector 1;
#   3. a local migration of that destination (guest RAM handed over as a memfd, no page
#      copied) to a third VMM: the shell answers again with both sectors and the file, writes
#      sector 2, and powers off;
#   4. the host reads all three sectors from the disk file.
# Each VMM's console is its own stdin/stdout (a FIFO each). Not run where KVM is unusable.
# labels: slow linux migration
# requires: kvm
# timeout: 900
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

disk="$tmp/disk.img"
truncate -s 4M "$disk"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; sleep 0.2; kill -9 "${pids[@]}" 2>/dev/null; rm -rf "$tmp"' EXIT

# start_vmm NAME ARGS...: a VMM whose console is the FIFO $tmp/NAME.in and the file
# $tmp/NAME.log (stderr $tmp/NAME.err); its pid is pids[-1].
start_vmm() {
	local name=$1
	shift
	mkfifo "$tmp/$name.in"
	sleep 900 >"$tmp/$name.in" &
	pids+=($!)
	"$VMM" "$@" <"$tmp/$name.in" >"$tmp/$name.log" 2>"$tmp/$name.err" &
	pids+=($!)
}

# on NAME LINE: types LINE at NAME's shell. seen NAME REGEX [SECONDS]: NAME's console shows it.
on() { printf '%s\n' "$2" >"$tmp/$1.in"; }
seen() {
	local i
	for ((i = 0; i < ${3:-120} * 10; i++)); do
		tr -d '\r' <"$tmp/$1.log" | grep -qE -- "$2" && return 0
		sleep 0.1
	done
	return 1
}

# migrate FROM_SOCK TO_NAME LOCAL: a destination TO_NAME on $tmp/TO_NAME.mig, the migration
# sent from FROM_SOCK; the source's pid is SRC_PID. Records ok/FAIL; false when it failed.
migrate() {
	local from=$1 to=$2 local=$3 mig="$tmp/$2.mig" got
	# the source names its disk in $tmp: the destination's command line allows it
	start_vmm "$to" --migrate-from "unix:$mig" --api-sock "$tmp/$to.sock" --landlock-rules "$tmp:rw"
	for _ in $(seq 100); do [ -S "$mig" ] && break; sleep 0.1; done
	sock=$from
	got=$(api PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\", \"local\": $local}")
	if [ "$got" != 204 ]; then
		echo "FAIL: send-migration to $to -> $got: $(cat "$tmp/body")"
		fail=1
		return 1
	fi
	for _ in $(seq 1200); do
		kill -0 "$SRC_PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$SRC_PID"
	local st=$?
	check "migration to $to completed: $(grep -o 'migration completed: .*' "$tmp/$SRC_NAME.err")" \
		"migration completed" "$tmp/$SRC_NAME.err"
	# every device here may be built beside the source: only the state is left for the pause
	check "$to built the VM during the pre-copy and started it paused" \
		"VM is built here while the source still runs it; started, paused" "$tmp/$to.err"
	[ $st = 0 ] && echo "ok: the source ended with 0" || {
		echo "FAIL: the source ended with $st"
		fail=1
	}
}

# ---- 1. the source ----
start_vmm src --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 256M --mem-shared \
	--disk "$disk" --api-sock "$tmp/src.sock" --console stdio \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0"
SRC_PID=${pids[-1]} SRC_NAME=src
vmm_pid=$SRC_PID
seen src "VMM-GUEST-SHELL: starting" 600
check "the source's shell started" "VMM-GUEST-SHELL: starting" "$tmp/src.log"
# One program at a time (docs/testing.md: pipelines on kvm_pvm).
on src "echo tmpfs-before-move >/tmp/mark"
on src "echo sector-zero-before >/tmp/s0"
on src "dd if=/tmp/s0 of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo WROTE""-ZERO"
seen src "^WROTE-ZERO" 120
check "the guest wrote sector 0" "^WROTE-ZERO" "$tmp/src.log"

# ---- 2. copying migration ----
migrate "$tmp/src.sock" dst1 false
on dst1 "echo DST1-FILE=\$(cat /tmp/mark)"
seen dst1 "^DST1-FILE=tmpfs" 120
check "the shell answers on the destination, its tmpfs file is there" \
	"^DST1-FILE=tmpfs-before-move" "$tmp/dst1.log"
on dst1 "dd if=/dev/vda of=/tmp/r0 bs=512 count=1 2>/dev/null; echo DST1-S0=\$(head -n 1 /tmp/r0)"
seen dst1 "^DST1-S0=" 120
check "sector 0 written before the move is on the destination's disk" \
	"^DST1-S0=sector-zero-before" "$tmp/dst1.log"
on dst1 "echo sector-one-after >/tmp/s1"
on dst1 "dd if=/tmp/s1 of=/dev/vda bs=512 seek=1 count=1 conv=sync,fsync 2>/dev/null; echo WROTE""-ONE"
seen dst1 "^WROTE-ONE" 120
check "the destination wrote sector 1" "^WROTE-ONE" "$tmp/dst1.log"

# ---- 3. local migration of the destination ----
SRC_PID=${pids[-1]} SRC_NAME=dst1
vmm_pid=$SRC_PID
migrate "$tmp/dst1.sock" dst2 true
check "the local migration copied no page" "migration completed: [0-9]+ rounds, 0 pages" \
	"$tmp/dst1.err"
vmm_pid=${pids[-1]}
on dst2 "echo DST2-FILE=\$(cat /tmp/mark)"
seen dst2 "^DST2-FILE=" 120
check "the shell answers after the local migration, the file is there" \
	"^DST2-FILE=tmpfs-before-move" "$tmp/dst2.log"
on dst2 "dd if=/dev/vda of=/tmp/r1 bs=512 skip=1 count=1 2>/dev/null; echo DST2-S1=\$(head -n 1 /tmp/r1)"
seen dst2 "^DST2-S1=" 120
check "sector 1 written on the first destination is there" "^DST2-S1=sector-one-after" \
	"$tmp/dst2.log"
on dst2 "echo sector-two-last >/tmp/s2"
on dst2 "dd if=/tmp/s2 of=/dev/vda bs=512 seek=2 count=1 conv=sync,fsync 2>/dev/null; echo WROTE""-TWO"
seen dst2 "^WROTE-TWO" 120
check "the last destination wrote sector 2" "^WROTE-TWO" "$tmp/dst2.log"
on dst2 "poweroff"
for _ in $(seq 600); do
	kill -0 "$vmm_pid" 2>/dev/null || break
	sleep 0.1
done

# ---- 4. the disk file ----
for s in "0 sector-zero-before" "1 sector-one-after" "2 sector-two-last"; do
	set -- $s
	got=$(dd if="$disk" bs=512 skip="$1" count=1 2>/dev/null | head -n 1 | tr -d '\0')
	[ "$got" = "$2" ] && echo "ok: sector $1 of the disk file: $got" || {
		echo "FAIL: sector $1 of the disk file: '$got', want '$2'"
		fail=1
	}
done
cp "$tmp/dst2.log" "$tmp/log" 2>/dev/null
cat "$tmp/src.err" "$tmp/dst1.err" "$tmp/dst2.err" >"$tmp/err" 2>/dev/null
linux_finish
