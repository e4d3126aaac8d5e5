#!/usr/bin/env bash
# vmm-jail (tools/vmm-jail) runs the VMM jailed, as uid/gid 65534:
#  1. the hello guest passes through the jail (its TEST PASS and debug-exit status 1);
#  2. a guest that waits for ever (halt.irq=1) is inspected from outside while it runs: the
#     VMM's root holds only the jail's entries (its /vmm is the very binary, /dev/kvm a device
#     node with the host's numbers owned by 65534), no host mount is left in its mount table,
#     its uids/gids are 65534 with no groups and no_new_privs, it is PID 1 of its PID
#     namespace, has its own mount/IPC/UTS (hostname = id) namespaces and --netns's network,
#     sits in the jail's cgroups with pids.max written, serves its API on the jail's /run and
#     did not inherit our fd 9; SIGTERM
#     to vmm-jail stops it (status 143) and the jail's folder and cgroups are removed;
#     every thread of the VMM has an empty capability bounding set;
#  2b. Firecracker's jailer flags (--exec-file, --chroot-base-dir, --parent-cgroup,
#     --resource-limit, --daemonize, --new-pid-ns): vmm.pid in the jail, exit 0 at once, the API
#     on /run/firecracker.socket, uid/gid, root, cgroup, netns and limits checked from outside;
#  3. bad command lines (a controller the host lacks, a --file mode that is none) exit 2 with
#     one line before anything is made; setup failures (a file 65534 cannot read, a jail used
#     before) exit 1 or 2 with a message, and leave nothing, the chroot base they made included;
#     an existing root with the caller's files is reused (the hello guest runs from it) and
#     keeps them.
# Sections 1-2 also check what the VMM gets as Firecracker's does: --id ID --start-time-us ...
# first in its arguments, GET / naming the id, <root>/vmm.pid without --new-pid-ns.
# labels: sandbox
# requires: kvm root
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

JAIL="${JAIL:-$BUILD_DIR/vmm-jail}"
require kvm root
if [ ! -x "$JAIL" ]; then
	echo "FAIL: $JAIL not built"
	exit 1
fi

BASE=$(jail_base vmm-jail-test)
ID="t$$"
NS="vmmjail-$$"
jail_pid=""
netns=()
if command -v ip >/dev/null && ip netns add "$NS" 2>/dev/null; then
	netns=(--netns "/var/run/netns/$NS")
fi
trap '[ -n "$jail_pid" ] && kill -9 "$jail_pid" 2>/dev/null; [ ${#netns[@]} -gt 0 ] && ip netns del "$NS"; rm -rf "$LIB_TMP"; [ "$BASE" = "$LIB_TMP/jails" ] || rm -rf "$BASE" "$BASE-fresh"' EXIT

# check CONDITION-STATUS TEXT: one ok/FAIL line.
check() {
	if [ "$1" = 0 ]; then lib_ok "$2"; else lib_fail "$2"; fi
}

# cgroup_dir PID CONTROLLER: the folder of PID's cgroup holding CONTROLLER (v1 hierarchy or
# cgroup2), from /proc/PID/cgroup and the mount table.
cgroup_dir() {
	local line path mnt
	line=$(grep -E "^[0-9]+:([^:]*,)?$2(,[^:]*)?:" "/proc/$1/cgroup" | head -n 1)
	if [ -n "$line" ]; then
		mnt=$(findmnt -n -t cgroup -O "$2" -o TARGET | head -n 1)
	else
		line=$(grep -E '^0::' "/proc/$1/cgroup")
		mnt=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)
	fi
	path=${line#*:*:}
	echo "$mnt$path"
}

cg2=$(findmnt -n -t cgroup2 -o TARGET | head -n 1)

# ---- 1. a guest passes through the jail ----
lib_new_run "jail hello"
hello=$(guest_path hello) || finish
timeout "$RUN_TIMEOUT" "$JAIL" --id "$ID-hello" --exec "$VMM" --uid 65534 --gid 65534 \
	--chroot-base "$BASE" --cgroup pids.max=64 --file "$hello:/hello.elf" -- \
	--kernel /hello.elf --debug-exit --console stdio --append hello=1 \
	</dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_pass
expect_output '^hello from the test guest$'
[ ! -e "$BASE/vmm/$ID-hello" ]
check $? "jail folder removed"
if [ -n "$cg2" ]; then
	[ ! -e "$cg2/vmm/$ID-hello" ]
	check $? "cgroup2 vmm/$ID-hello removed"
fi

# ---- 2. a running jailed VMM, seen from outside ----
lib_new_run "jail long-running"
halt=$(guest_path halt) || finish
exec 9<"$SOURCE_DIR/README.md"
"$JAIL" --id "$ID" --exec "$VMM" --uid 65534 --gid 65534 --chroot-base "$BASE" \
	--cgroup pids.max=64 "${netns[@]}" --file "$halt:/halt.elf" -- \
	--kernel /halt.elf --append halt.irq=1 --console stdio --api-sock /run/api.sock </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
jail_pid=$!
exec 9<&-
vmm_pid=""
for _ in $(seq 300); do
	vmm_pid=$(pgrep -P "$jail_pid" | head -n 1)
	[ -n "$vmm_pid" ] && grep -q '^halting' "$RUN_OUT" && break
	sleep 0.1
done
grep -q '^halting' "$RUN_OUT"
check $? "guest running in the jail"
RUN_STATUS=running
if [ -n "$vmm_pid" ] && [ -d "/proc/$vmm_pid" ]; then
	root="/proc/$vmm_pid/root"
	entries=$(ls -A "$root" | tr '\n' ' ')
	[ "$entries" = "dev etc halt.elf lib lib64 run vmm vmm.pid " ]
	check $? "jail root has only the expected entries ($entries)"
	want_dev="kvm net null urandom "
	[ -e /dev/userfaultfd ] && want_dev+="userfaultfd "
	[ "$(ls -A "$root/dev" | tr '\n' ' ')" = "$want_dev" ]
	check $? "jail /dev: $want_dev($(ls -A "$root/dev" | tr '\n' ' '))"
	cmp -s "$root/vmm" "$VMM"
	check $? "/vmm in the jail is \$VMM (hard-linked or copied)"
	want="character special file $(stat -c '%t:%T' /dev/kvm) 65534 600"
	got=$(stat -c '%F %t:%T %u %a' "$root/dev/kvm")
	[ "$got" = "$want" ]
	check $? "/dev/kvm in the jail: $got"
	mounts=$(awk '{print $5}' "/proc/$vmm_pid/mountinfo" |
		grep -vE '^/(vmm|halt\.elf|etc/ld\.so\.cache|lib/[^/]+/[^/]+|lib64/[^/]+)?$')
	[ -z "$mounts" ]
	check $? "no host mount in the VMM's mount table (${mounts//$'\n'/ })"
	grep -qP '^Uid:\t65534\t65534\t65534\t65534$' "/proc/$vmm_pid/status" &&
		grep -qP '^Gid:\t65534\t65534\t65534\t65534$' "/proc/$vmm_pid/status" &&
		grep -qP '^Groups:\s*$' "/proc/$vmm_pid/status"
	check $? "uids and gids 65534, no supplementary groups"
	grep -qP '^NoNewPrivs:\t1$' "/proc/$vmm_pid/status"
	check $? "no_new_privs set"
	bnd=$(awk '/^CapBnd:/ {print $2}' /proc/"$vmm_pid"/task/*/status | sort -u)
	[ "$bnd" = 0000000000000000 ]
	check $? "no bounding set on any of its $(ls /proc/"$vmm_pid"/task | wc -l) threads ($bnd)"
	nspid=$(awk '/^NSpid:/ {print $3}' "/proc/$vmm_pid/status")
	[ "$nspid" = 1 ]
	check $? "PID $nspid in its PID namespace"
	for ns in mnt ipc uts pid; do
		[ "$(readlink "/proc/$vmm_pid/ns/$ns")" != "$(readlink "/proc/self/ns/$ns")" ]
		check $? "own $ns namespace"
	done
	[ "$(nsenter -t "$vmm_pid" -u hostname)" = "$ID" ]
	check $? "hostname in its UTS namespace is the id"
	if [ ${#netns[@]} -gt 0 ]; then
		[ "$(stat -L -c %i "/proc/$vmm_pid/ns/net")" = "$(stat -L -c %i "/var/run/netns/$NS")" ]
		check $? "in the --netns network namespace"
	fi
	if [ -n "$cg2" ]; then
		grep -qx "0::/vmm/$ID" "/proc/$vmm_pid/cgroup"
		check $? "in cgroup2 vmm/$ID (--parent-cgroup defaults to the exec file's name)"
	fi
	pids_dir=$(cgroup_dir "$vmm_pid" pids)
	[[ "$pids_dir" == */vmm/$ID ]] && [ "$(cat "$pids_dir/pids.max")" = 64 ]
	check $? "pids cgroup $pids_dir has pids.max 64"
	got=$(curl -s --unix-socket "$BASE/vmm/$ID/root/run/api.sock" http://localhost/)
	[[ "$got" == *'"Running"'* ]]
	check $? "API socket in the jail's /run answers from the host"
	[[ "$got" == *"\"id\":\"$ID\""* ]]
	check $? "GET / names the jail's id (--id passed on as Firecracker's jailer does): $got"
	[ "$(cat "$BASE/vmm/$ID/root/vmm.pid" 2>/dev/null)" = "$vmm_pid" ]
	check $? "vmm.pid names the VMM without --new-pid-ns too"
	args=$(tr '\0' ' ' <"/proc/$vmm_pid/cmdline")
	[[ "$args" =~ ^/vmm\ --id\ $ID\ --start-time-us\ [0-9]+\ --start-time-cpu-us\ 0\ --parent-cpu-time-us\ [0-9]+\ --kernel ]]
	check $? "the VMM's arguments start as Firecracker's jailer makes them: ${args:0:110}"
	! ls -l "/proc/$vmm_pid/fd" | grep -q README.md
	check $? "our fd 9 was not passed on"
	kill -TERM "$jail_pid"
	wait "$jail_pid"
	RUN_STATUS=$?
	jail_pid=""
	expect_status 143
	grep -q 'stopping on signal 15' "$RUN_ERR"
	check $? "the VMM got the SIGTERM"
	[ ! -e "$BASE/vmm/$ID" ]
	check $? "jail folder removed"
	[ ! -e "$pids_dir" ] && { [ -z "$cg2" ] || [ ! -e "$cg2/vmm/$ID" ]; }
	check $? "jail cgroups removed"
else
	lib_fail "no VMM process under vmm-jail (pid $jail_pid)"
	lib_dump_output
fi

# ---- 2b. Firecracker's jailer command line, as its launchers give it ----
# --new-pid-ns: vmm-jail writes the VMM's PID to <root>/vmm.pid and exits 0 at once (the jail
# is then ours to remove, as with Firecracker's jailer); --daemonize; the API socket at
# Firecracker's default place; the uid/gid, the chroot, the cgroup under --parent-cgroup, the
# network namespace and the resource limits checked from outside.
lib_new_run "jail, Firecracker's flags"
FCID="fc-$$"
froot="$BASE/vmm/$FCID/root"
"$JAIL" --id "$FCID" --exec-file "$VMM" --uid 65534 --gid 65534 --chroot-base-dir "$BASE" \
	--parent-cgroup "vmmtest-$$/uvms" --cgroup pids.max=64 --resource-limit no-file=1000 \
	--resource-limit fsize=1000000000 "${netns[@]}" --daemonize --new-pid-ns -- \
	--api-sock /run/firecracker.socket </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 0
fc_pid=$(cat "$froot/vmm.pid" 2>/dev/null)
[ -n "$fc_pid" ] && [ -d "/proc/$fc_pid" ]
check $? "vmm.pid names the running VMM ($fc_pid)"
for _ in $(seq 50); do [ -S "$froot/run/firecracker.socket" ] && break; sleep 0.1; done
got=$(curl -s --max-time 10 --unix-socket "$froot/run/firecracker.socket" http://localhost/)
[[ "$got" == *'"state"'* ]]
check $? "GET / on the jail's /run/firecracker.socket: ${got:0:80}"
if [ -n "$fc_pid" ] && [ -d "/proc/$fc_pid" ]; then
	grep -qP '^Uid:\t65534\t65534\t65534\t65534$' "/proc/$fc_pid/status" &&
		grep -qP '^Gid:\t65534\t65534\t65534\t65534$' "/proc/$fc_pid/status"
	check $? "uid and gid 65534"
	[ "$(stat -L -c '%d:%i' "/proc/$fc_pid/root")" = "$(stat -L -c '%d:%i' "$froot")" ]
	check $? "its root is $froot"
	[ "$(stat -c %u:%g "$froot")" = 65534:65534 ]
	check $? "the jail's root is 65534's"
	fc_pids=$(cgroup_dir "$fc_pid" pids)
	[[ "$fc_pids" == */vmmtest-$$/uvms/$FCID ]] && [ "$(cat "$fc_pids/pids.max")" = 64 ]
	check $? "pids cgroup $fc_pids (under --parent-cgroup) has pids.max 64"
	if [ ${#netns[@]} -gt 0 ]; then
		[ "$(stat -L -c %i "/proc/$fc_pid/ns/net")" = "$(stat -L -c %i "/var/run/netns/$NS")" ]
		check $? "in the --netns namespace"
	fi
	grep -qE '^Max open files +1000 +1000' "/proc/$fc_pid/limits" &&
		grep -qE '^Max file size +1000000000 +1000000000' "/proc/$fc_pid/limits"
	check $? "--resource-limit no-file and fsize"
	[ "$(awk '/^NSpid:/ {print $3}' "/proc/$fc_pid/status")" = 1 ]
	check $? "PID 1 of its own PID namespace"
	[ "$(ps -o sid= -p "$fc_pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
	check $? "--daemonize: another session"
	# the launcher's order: the kernel put into the jail, then the API calls, then InstanceStart
	cp "$halt" "$froot/halt.elf" && chmod 644 "$froot/halt.elf"
	fcapi() { curl -s --max-time 10 --unix-socket "$froot/run/firecracker.socket" -X PUT \
		-H 'Content-Type: application/json' -d "$2" -w '%{http_code}' "http://localhost$1"; }
	b=$(fcapi /boot-source '{"kernel_image_path": "/halt.elf", "boot_args": "halt.irq=1"}')
	m=$(fcapi /machine-config '{"vcpu_count": 1, "mem_size_mib": 64}')
	i=$(fcapi /actions '{"action_type": "InstanceStart"}')
	got=$(curl -s --max-time 10 --unix-socket "$froot/run/firecracker.socket" http://localhost/)
	[ "$b $m $i" = "204 204 204" ] && [[ "$got" == *'"Running"'* ]]
	check $? "boot-source, machine-config, InstanceStart through the jail: $b $m $i, ${got:0:60}"
	kill -TERM "$fc_pid"
	for _ in $(seq 50); do [ -d "/proc/$fc_pid" ] || break; sleep 0.1; done
fi
rm -rf "$BASE/vmm/$FCID"
rmdir "$BASE/vmm" 2>/dev/null
for d in "$cg2" "${fc_pids%/vmmtest-$$/uvms/$FCID}"; do
	[ -n "$d" ] && rmdir "$d/vmmtest-$$/uvms/$FCID" "$d/vmmtest-$$/uvms" "$d/vmmtest-$$" 2>/dev/null
done

# ---- 3. refusals ----
# refused WANT_STATUS REGEX JAIL_ARGS...: vmm-jail exits WANT_STATUS saying REGEX on stderr.
refused() {
	local want=$1 regex=$2
	shift 2
	lib_new_run "vmm-jail $*"
	timeout "$RUN_TIMEOUT" "$JAIL" "$@" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_status "$want"
	if grep -qE -- "$regex" "$RUN_ERR"; then
		lib_ok "stderr has /$regex/"
	else
		lib_fail "stderr lacks /$regex/"
		lib_dump_output
	fi
}
common=(--exec "$VMM" --uid 65534 --gid 65534 --chroot-base "$BASE")
refused 2 'are required'
refused 2 'only letters' --id a/b "${common[@]}" -- --kernel /x
refused 2 'only letters, digits and' --id .. "${common[@]}"
refused 2 'only letters, digits and' --id vm_1 "${common[@]}"
refused 2 'unknown resource' --id x "${common[@]}" --resource-limit cpu=1
refused 2 'want 1 or 2' --id x "${common[@]}" --cgroup-version 3
refused 2 'want a relative path' --id x "${common[@]}" --parent-cgroup /abs
refused 2 'unknown option --bogus' --id x --bogus "${common[@]}"
refused 2 'not a uid/gid' --id x --exec "$VMM" --uid 0 --gid 65534
refused 2 'CONTROLLER.FILE=VALUE' --id x "${common[@]}" --cgroup pids
refused 2 "--file /nonexistent/f: No such file" --id x "${common[@]}" --file /nonexistent/f
refused 2 'VMM arguments go after --' --id x "${common[@]}" --kernel /x
secret="$LIB_TMP/secret.elf"
cp "$hello" "$secret" && chmod 600 "$secret"
refused 2 '65534:65534 cannot read' --id "$ID-secret" "${common[@]}" --file "$secret" -- \
	--kernel /secret.elf --debug-exit
# a controller the host lacks and a --file mode that is none: bad command lines, said in one
# line before anything is made (no chroot base); a set-up that fails once the tree is made
# (a file 65534 cannot read) removes the chroot base it made
# one_line: stderr has exactly one "vmm-jail:" line
one_line() {
	[ "$(grep -c '^vmm-jail:' "$RUN_ERR")" = 1 ]
	check $? "one line: $(head -n 1 "$RUN_ERR")"
}
fresh="$BASE-fresh/base"
refused 2 'controller "bogus" is not available' --id "$ID-cg" --exec "$VMM" --uid 65534 \
	--gid 65534 --chroot-base "$fresh" --cgroup bogus.file=1 -- --kernel /x
one_line
refused 2 'controller "nosuchctl" is not available' --id "$ID-cg" "${common[@]}" \
	--cgroup nosuchctl.max=1 -- --kernel /x
refused 2 '"rx" is not a mode \(ro or rw\)' --id "$ID-rx" --exec "$VMM" --uid 65534 \
	--gid 65534 --chroot-base "$fresh" --file "$hello:/h:rx" -- --kernel /h
one_line
refused 2 '65534:65534 cannot read' --id "$ID-secret2" --exec "$VMM" --uid 65534 --gid 65534 \
	--chroot-base "$fresh" --file "$secret" -- --kernel /secret.elf --debug-exit
one_line
[ ! -e "$BASE-fresh" ]
check $? "no chroot base left behind by the failed jails ($(ls -d "$BASE-fresh" 2>/dev/null))"
# an existing root is reused as Firecracker's jailer does: the caller's files in it stay (a
# launcher may put the kernel there first), what vmm-jail made goes; a root that still holds a
# jail's device nodes (it ran there before and was not removed) is refused, as Firecracker's
# jailer's mknod fails then
busy="$BASE/vmm/$ID-busy/root"
mkdir -p "$busy/keep"
cp "$hello" "$busy/hello.elf" && chmod 644 "$busy/hello.elf"
lib_new_run "jail in an existing root"
timeout "$RUN_TIMEOUT" "$JAIL" --id "$ID-busy" "${common[@]}" -- --kernel /hello.elf \
	--debug-exit --console stdio --append hello=1 </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
RUN_STATUS=$?
expect_pass
[ "$(ls -A "$busy" | tr '\n' ' ')" = "hello.elf keep " ]
check $? "the caller's files stay, vmm-jail's go: $(ls -A "$busy" | tr '\n' ' ')"
mkdir -p "$busy/dev" && mknod "$busy/dev/kvm" c 1 3
refused 1 'ran here before' --id "$ID-busy" "${common[@]}" -- --kernel /hello.elf
[ -d "$busy/keep" ] && [ -c "$busy/dev/kvm" ]
check $? "a used jail is left as it was"
rm -rf "$BASE/vmm/$ID-busy"; rmdir "$BASE/vmm" 2>/dev/null
left=$(ls -A "$BASE")
[ -z "$left" ]
check $? "refused jails left nothing in the chroot base ($left)"
if [ -n "$cg2" ]; then
	# This test's jails only: another test's jail (jail_launcher, run beside it by ctest -j)
	# may hold the shared vmm/ cgroup meanwhile.
	left_cg=$(ls -d "$cg2/vmm/$ID"* 2>/dev/null)
	[ -z "$left_cg" ]
	check $? "no cgroup of these jails left ($left_cg)"
fi
finish
