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
#  3. bad command lines (a controller the host lacks, a --file mode that is none) exit 2 with
#     one line before anything is made; setup failures (an existing jail, a file 65534 cannot
#     read) exit 1 or 2 with a message, and leave nothing, the chroot base they made included.
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

BASE="$LIB_TMP/jails"
# Device nodes do not open on a nodev mount (a tmpfs /tmp often is one).
if findmnt -n -o OPTIONS -T "$LIB_TMP" | grep -qw nodev; then
	BASE="/srv/vmm-jail-test-$$"
fi
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
[ ! -e "$BASE/$ID-hello" ]
check $? "jail folder removed"
if [ -n "$cg2" ]; then
	[ ! -e "$cg2/vmm-jail/$ID-hello" ]
	check $? "cgroup2 vmm-jail/$ID-hello removed"
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
	[ "$entries" = "dev etc halt.elf lib lib64 run vmm " ]
	check $? "jail root has only the expected entries ($entries)"
	[ "$(ls -A "$root/dev" | tr '\n' ' ')" = "kvm net null urandom " ]
	check $? "jail /dev: kvm net null urandom ($(ls -A "$root/dev" | tr '\n' ' '))"
	[ "$(stat -L -c '%d:%i' "$root/vmm")" = "$(stat -L -c '%d:%i' "$VMM")" ]
	check $? "/vmm in the jail is \$VMM"
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
		grep -qx "0::/vmm-jail/$ID" "/proc/$vmm_pid/cgroup"
		check $? "in cgroup2 vmm-jail/$ID"
	fi
	pids_dir=$(cgroup_dir "$vmm_pid" pids)
	[[ "$pids_dir" == */vmm-jail/$ID ]] && [ "$(cat "$pids_dir/pids.max")" = 64 ]
	check $? "pids cgroup $pids_dir has pids.max 64"
	curl -s --unix-socket "$BASE/$ID/root/run/api.sock" http://localhost/ | grep -q '"Running"'
	check $? "API socket in the jail's /run answers from the host"
	! ls -l "/proc/$vmm_pid/fd" | grep -q README.md
	check $? "our fd 9 was not passed on"
	kill -TERM "$jail_pid"
	wait "$jail_pid"
	RUN_STATUS=$?
	jail_pid=""
	expect_status 143
	grep -q 'stopping on signal 15' "$RUN_ERR"
	check $? "the VMM got the SIGTERM"
	[ ! -e "$BASE/$ID" ]
	check $? "jail folder removed"
	[ ! -e "$pids_dir" ] && { [ -z "$cg2" ] || [ ! -e "$cg2/vmm-jail/$ID" ]; }
	check $? "jail cgroups removed"
else
	lib_fail "no VMM process under vmm-jail (pid $jail_pid)"
	lib_dump_output
fi

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
refused 2 '"\.\." are not ids' --id .. "${common[@]}"
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
mkdir -p "$BASE/$ID-busy/root/keep"
refused 1 'exists and is not empty' --id "$ID-busy" "${common[@]}" -- --kernel /x
[ -d "$BASE/$ID-busy/root/keep" ]
check $? "an existing jail is left alone"
rm -rf "$BASE/$ID-busy"
left=$(ls -A "$BASE")
[ -z "$left" ]
check $? "refused jails left nothing in the chroot base ($left)"
if [ -n "$cg2" ]; then
	[ ! -e "$cg2/vmm-jail" ]
	check $? "no vmm-jail cgroup left"
fi
finish
