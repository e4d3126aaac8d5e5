#!/usr/bin/env bash
# Live fork of the default Linux guest at its shell (docs/sandboxes.md): the parent (initramfs,
# RAM in a memfd, a raw scratch disk it wrote "parent-data" to, a NIC on a tap, a vsock) is
# forked with `vmmctl fork` into LINUX_FORK_CHILDREN children (10 by default), each a VMM the
# test started beforehand on its own API socket and console FIFO, given its own MAC, its own
# qcow2 overlay over the scratch disk, its own tap and its own vsock socket (the VMMs run in a
# network namespace of their own, where the taps are). Checked:
#   - every child's shell answers, and reads the parent's "parent-data" from its disk;
#   - every child writes its name to its disk, then (after all have written) reads its own name
#     back: no child sees another's write, and the parent's file and its console are untouched;
#   - each child's NIC has the child's MAC once the driver probes again (a running Linux driver
#     reads the MAC at probe only: unbind and bind);
#   - each child's vsock socket is its own (the parent's is still there);
#   - the parent's shell answers after the fork.
# Printed, not asserted: the parent's pause, the time to each child running, each child's
# private memory (smaps_rollup).
# labels: slow linux snapshot
# requires: kvm netns
# timeout: 1500
# resource: linux:1
. "$(dirname "${BASH_SOURCE[0]}")/../lib/linux_lib.sh"

VMMCTL=${VMMCTL:-$(dirname "$VMM")/tools/vmmctl/vmmctl}
N=${LINUX_FORK_CHILDREN:-10}
sock="$tmp/api.sock"
# On kvm_pvm the guest kernel's code is emulated (~1,600 emulated instructions per timer tick)
# and its periodic tick (HZ=100, no high-resolution timers) runs on the one-shot TSC-deadline
# LAPIC timer: tick_handle_periodic() then catches up missed ticks one by one, with interrupts
# off, until the next tick lies in the future. A guest emulated slower than its ticks fall due
# (11 VMs sharing the CPUs, its memory faulted in again after the fork or a restore) never leaves
# that loop: its console dies, its vCPU stays in KVM_RUN (docs/sandboxes.md). Without the
# TSC-deadline timer (CPUID bit 152 cleared) the LAPIC timer runs periodic and a late tick is
# dropped instead. The bit joins the emulated-KVM command line's clearcpuid list (one list:
# a second clearcpuid= would replace the first).
if [ "${EMULATED_KVM:-0}" = 1 ]; then
	CMDLINE=${CMDLINE/clearcpuid=/clearcpuid=152,}
	[[ $CMDLINE == *clearcpuid=152,* ]] || CMDLINE+=" clearcpuid=152"
fi
command -v qemu-img >/dev/null || skip "no qemu-img" "the children's qcow2 overlays need qemu-img"
[ -x "$VMMCTL" ] || skip "no vmmctl" "no vmmctl at $VMMCTL"

sleepers=() pids=()
NS="vmmfork-$$"
trap 'kill "${sleepers[@]}" 2>/dev/null; kill -9 "${pids[@]}" $vmm_pid 2>/dev/null; ip netns del "$NS" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$NS" || skip "no netns" "cannot make a network namespace for the taps"
for t in ftap $(seq -f 'ftap%g' 0 $((N - 1))); do
	ip -n "$NS" tuntap add dev "$t" mode tap vnet_hdr && ip -n "$NS" link set "$t" up || {
		echo "FAIL: cannot make tap $t"
		exit 1
	}
done

# start NAME ARGS...: a VMM whose console reads the FIFO $tmp/NAME.in and writes $tmp/NAME.log
start() {
	local name=$1
	shift
	mkfifo "$tmp/$name.in"
	sleep 1500 >"$tmp/$name.in" &
	sleepers+=($!)
	ip netns exec "$NS" "$VMM" --landlock-rules "$tmp:rw" "$@" <"$tmp/$name.in" >"$tmp/$name.log" \
		2>"$tmp/$name.err" &
	last_pid=$!
}
say() { printf '%s\n' "$2" >"$tmp/$1.in"; } # say NAME LINE: typed at NAME's shell
wait_in() {                                  # wait_in NAME REGEX SECONDS
	local i
	for ((i = 0; i < $3 * 2; i++)); do
		tr -d '\r' <"$tmp/$1.log" | grep -qE -- "$2" && return 0
		sleep 0.5
	done
	return 1
}
expect_in() { # expect_in NAME REGEX SECONDS WHAT
	if wait_in "$1" "$2" "$3"; then echo "ok: $4"; else
		echo "FAIL: $4 (no /$2/ on $1's console)"
		tail -5 "$tmp/$1.log"
		fail=1
	fi
}

truncate -s 16M "$tmp/scratch.img"
start parent --kernel "$VMLINUX" --initrd "$INITRAMFS" --mem 256M --mem-shared \
	--append "$CMDLINE vmmguest.shell=1 vmmguest.dhcp=0" --console stdio --api-sock "$sock" \
	--disk "$tmp/scratch.img,id=scratch,backing_files=on" --net tap=ftap,mac=52:54:00:00:10:00 \
	--vsock "cid=3,uds=$tmp/v.sock"
vmm_pid=$last_pid
cp "$tmp/parent.log" "$tmp/log" 2>/dev/null
wait_in parent "VMM-GUEST-SHELL: starting" 900
expect_in parent "VMM-GUEST-SHELL: starting" 1 "the parent's shell started"
sleep 2
say parent 'echo parent-data | dd of=/dev/vda bs=512 count=1 conv=sync 2>/dev/null; sync; echo wrote-$((6*7))'
expect_in parent "wrote-42" 120 "the parent wrote its disk"

# The children's VMMs wait on their sockets; their disks are overlays over the parent's file
# (which the parent does not write after the fork here: see docs/sandboxes.md on disks).
kids=""
for i in $(seq 0 $((N - 1))); do
	qemu-img create -q -f qcow2 -b "$tmp/scratch.img" -F raw "$tmp/c$i.qcow2"
	start "c$i" --api-sock "$tmp/c$i.sock"
	pids+=("$last_pid")
	kids+="${kids:+,}{\"api_socket\": \"$tmp/c$i.sock\",
	  \"network_overrides\": [{\"iface_id\": \"net0\", \"host_dev_name\": \"ftap$i\",
	    \"guest_mac\": \"52:54:00:00:20:$(printf %02x "$i")\"}],
	  \"drive_overrides\": [{\"drive_id\": \"scratch\", \"path_on_host\": \"$tmp/c$i.qcow2\"}],
	  \"vsock_override\": {\"uds_path\": \"$tmp/v$i.sock\"}}"
done
for i in $(seq 0 $((N - 1))); do
	for _ in $(seq 100); do [ -S "$tmp/c$i.sock" ] && break; sleep 0.1; done
done
body="{\"state_path\": \"$tmp/fork-state\", \"children\": [$kids]}"
if "$VMMCTL" --sock "$sock" --timeout 300 fork "$body" >"$tmp/fork.json" 2>"$tmp/fork.err"; then
	echo "ok: vmmctl fork: $N children"
else
	echo "FAIL: vmmctl fork: $(cat "$tmp/fork.err")"
	fail=1
	linux_finish
fi
echo "parent paused $(jq -r .parent_pause_us "$tmp/fork.json") us; to each child running (ms):" \
	"$(jq -r '[.children[].running_ms | floor] | join(" ")' "$tmp/fork.json")"
grep 'fork: state' "$tmp/parent.err"

say parent 'echo parent-goes-on-$((6*7))'
expect_in parent "parent-goes-on-42" 120 "the parent's shell answers after the fork"

for i in $(seq 0 $((N - 1))); do
	say "c$i" "echo child-$i-answers-\$((6*7)); head -c 11 /dev/vda; echo"
done
for i in $(seq 0 $((N - 1))); do
	expect_in "c$i" "child-$i-answers-42" 300 "child $i's shell answers"
	expect_in "c$i" "^parent-data" 60 "child $i reads the parent's disk as it was at the fork"
done

field() { awk -v f="$1:" '$1 == f { s += $2 } END { print s + 0 }' "/proc/$2/smaps_rollup"; }
echo "child   pid    RSS kB  PSS kB  private kB"
for i in $(seq 0 $((N - 1))); do
	p=${pids[i]}
	printf "%5d %6d %8d %7d %11d\n" "$i" "$p" "$(field Rss "$p")" "$(field Pss "$p")" \
		$(($(field Private_Clean "$p") + $(field Private_Dirty "$p")))
done

for i in $(seq 0 $((N - 1))); do
	say "c$i" "echo child-$i | dd of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; echo wrote-$i-\$((6*7))"
done
for i in $(seq 0 $((N - 1))); do
	expect_in "c$i" "wrote-$i-42" 300 "child $i wrote its disk"
done
for i in $(seq 0 $((N - 1))); do
	# no pipelines in the guest's commands: guest-images/rootfs/usr/share/vmmguest/lib.sh
	say "c$i" "echo 3 >/proc/sys/vm/drop_caches; head -c 16 /dev/vda >/tmp/r; read -r v </tmp/r; echo READ-\$v-END"
	say "c$i" "d=\$(basename \$(readlink /sys/class/net/eth0/device)); echo \$d >/sys/bus/virtio/drivers/virtio_net/unbind; echo \$d >/sys/bus/virtio/drivers/virtio_net/bind; sleep 1; echo MAC-\$(cat /sys/class/net/eth0/address)-END"
done
for i in $(seq 0 $((N - 1))); do
	mac="52:54:00:00:20:$(printf %02x "$i")"
	expect_in "c$i" "^READ-child-$i-END" 300 "child $i reads back its own write"
	tr -d '\r' <"$tmp/c$i.log" | grep -E '^READ-' | grep -vq "READ-child-$i-END" &&
		{ echo "FAIL: child $i read another's data"; fail=1; }
	expect_in "c$i" "^MAC-$mac-END" 300 "child $i's NIC has its own MAC ($mac)"
	[ -S "$tmp/v$i.sock" ] && echo "ok: child $i's vsock socket is its own" ||
		{ echo "FAIL: no vsock socket $tmp/v$i.sock"; fail=1; }
	qemu-img convert -O raw "$tmp/c$i.qcow2" "$tmp/c$i.raw" &&
		[ "$(head -c 7 "$tmp/c$i.raw")" = "child-$i" ] && echo "ok: child $i's overlay holds its write" ||
		{ echo "FAIL: child $i's overlay does not hold child-$i"; fail=1; }
	rm -f "$tmp/c$i.raw"
done
[ "$(head -c 11 "$tmp/scratch.img")" = parent-data ] && echo "ok: the parent's disk is untouched" ||
	{ echo "FAIL: the parent's disk changed: $(head -c 11 "$tmp/scratch.img" | od -c | head -2)"; fail=1; }
[ -S "$tmp/v.sock" ] && echo "ok: the parent's vsock socket is still there" ||
	{ echo "FAIL: the parent's vsock socket is gone"; fail=1; }
tr -d '\r' <"$tmp/parent.log" | grep -q 'child-[0-9]' &&
	{ echo "FAIL: a child's output reached the parent's console"; fail=1; }
say parent 'echo parent-still-$((6*7))'
expect_in parent "parent-still-42" 120 "the parent's shell answers at the end"
cp "$tmp/parent.log" "$tmp/log"
cp "$tmp/parent.err" "$tmp/err"
linux_finish
