#!/usr/bin/env bash
# Live migration's destination against bad sources, without KVM (docs/migration.md): the VMM
# never builds a VM here, so every case ends before KVM is needed.
#   1. `vmm --migrate-from` refuses what conflicts (--kernel, --restore, a device option, a bad
#      address) with a usage error (2);
#   2. `vmm --migrate-from unix:M` against a source that sends garbage, one that connects and
#      closes, one that sends a whole stream (a fuzz seed written by the real sender) whose
#      state has no VM configuration, and a SIGTERM while it waits: each ends within seconds
#      with a clear message and status 1 (143 for the signal), the socket file gone;
#   3. `vmm --api-sock` (seccomp on, the default: the API thread's real filter):
#      send-migration, GET /vmm/migration and cancel without a VM are refused with a message;
#      receive-migration over Unix and TCP against the same bad sources answers 400 with the
#      reason each time and the VMM keeps serving (not killed by its filter); a source that
#      sends the whole stream gets a RESULT frame with the reason;
#   4. `vmm --migrate-from unix:M --api-sock S`: the API refuses to build a VM of its own.
# labels: api migration
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

mig="$LIB_TMP/mig.sock"
sock="$LIB_TMP/api.sock"
seed="$SOURCE_DIR/tools/fuzz/corpus/migration/seed-two-regions-rounds"
whole="$LIB_TMP/whole.stream"
tail -c +2 "$seed" >"$whole" # the fuzz input's first byte is its mode, not the stream

# bad_source KIND ADDR: connects to ADDR (unix:PATH or tcp:HOST:PORT) as a bad source: garbage,
# close (nothing sent) or whole (the stream in $whole); prints what the destination answered.
bad_source() {
	python3 - "$@" <<'EOF'
import socket, sys, time
kind, addr = sys.argv[1], sys.argv[2]
for _ in range(100):
    try:
        if addr.startswith("unix:"):
            s = socket.socket(socket.AF_UNIX)
            s.connect(addr[5:])
        else:
            host, port = addr[4:].rsplit(":", 1)
            s = socket.create_connection((host, int(port)))
        break
    except OSError:
        time.sleep(0.1)
else:
    sys.exit("cannot connect to " + addr)
s.settimeout(20)
if kind == "garbage":
    s.sendall(b"garbage!" * 64)
elif kind == "whole":
    s.sendall(open(sys.argv[3], "rb").read())
else:
    s.close()  # close: nothing sent, no answer awaited
    sys.exit(0)
try:
    print(s.recv(4096)[12:].decode(errors="replace"))  # a RESULT frame: 12-byte header, status
except OSError as e:
    print("no answer:", e)
s.close()
EOF
}

# ---- 1. conflicting options ----
for args in "--kernel /x" "--restore /x" "--config-file /x" "--disk /x" "--mem-shared"; do
	lib_new_run "vmm --migrate-from unix:$mig $args"
	# shellcheck disable=SC2086
	timeout 10 "$VMM" --migrate-from "unix:$mig" $args 2>"$RUN_ERR"
	RUN_STATUS=$?
	expect_status 2
	grep -q "the source brings the whole VM" "$RUN_ERR" && lib_ok "says why" ||
		lib_fail "stderr: $(cat "$RUN_ERR")"
done
lib_new_run "vmm --migrate-from ftp:x"
timeout 10 "$VMM" --migrate-from ftp:x 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
grep -q "unknown migration address" "$RUN_ERR" && lib_ok "says why" ||
	lib_fail "stderr: $(cat "$RUN_ERR")"

# ---- 2. the command line's destination ----
# destination KIND REGEX: vmm --migrate-from against a source of KIND; its status and stderr
destination() {
	lib_new_run "vmm --migrate-from, a source that sends $1"
	rm -f "$mig"
	timeout 30 "$VMM" --migrate-from "unix:$mig" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
	local pid=$!
	bad_source "$1" "unix:$mig" "$whole" >"$LIB_TMP/answer"
	wait $pid
	RUN_STATUS=$?
	expect_status 1
	grep -qE -- "$2" "$RUN_ERR" && lib_ok "stderr has /$2/" ||
		lib_fail "stderr: $(cat "$RUN_ERR")"
	[ ! -e "$mig" ] && lib_ok "the socket file is gone" || lib_fail "$mig left behind"
}
destination garbage "failed: frame 0 .*claims [0-9]+ bytes, at most"
destination close "failed: connection closed after 0 frames"
destination whole "failed: snapshot has no readable configuration"
grep -q "no readable configuration" "$LIB_TMP/answer" && lib_ok "the source was told why" ||
	lib_fail "the source got: $(cat "$LIB_TMP/answer")"

lib_new_run "vmm --migrate-from, SIGTERM while it waits"
rm -f "$mig"
"$VMM" --migrate-from "unix:$mig" </dev/null >"$RUN_OUT" 2>"$RUN_ERR" &
pid=$!
for _ in $(seq 100); do [ -S "$mig" ] && break; sleep 0.1; done
kill -TERM $pid
wait $pid
RUN_STATUS=$?
expect_status 143
[ ! -e "$mig" ] && lib_ok "the socket file is gone" || lib_fail "$mig left behind"

# ---- 3. the API's destination, under the API thread's seccomp filter ----
"$VMM" --api-sock "$sock" </dev/null >"$LIB_TMP/api.out" 2>"$LIB_TMP/api.err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want

want 400 PUT /vmm/send-migration "{\"destination_url\": \"unix:$mig\"}" 'not started|before'
want 400 GET /vmm/migration "" 'no migration was started'
want 400 PUT /vmm/migration/cancel '{}' 'no migration is running'
want 400 PUT /vmm/receive-migration '{"receiver_url": "ftp:x"}' 'receiver_url: unknown'
VMMCTL=${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}
if [ -x "$VMMCTL" ]; then
	out=$("$VMMCTL" -s "$sock" migration 2>&1)
	st=$?
	[ $st != 0 ] && grep -q "no migration was started" <<<"$out" &&
		lib_ok "vmmctl migration: $st, $out" || lib_fail "vmmctl migration: $st, $out"
	out=$("$VMMCTL" -s "$sock" migrate "unix:$mig" --local 2>&1)
	st=$?
	[ $st != 0 ] && grep -q "before starting" <<<"$out" &&
		lib_ok "vmmctl migrate: $st, $out" || lib_fail "vmmctl migrate: $st, $out"
fi

# receive KIND ADDR REGEX: PUT /vmm/receive-migration on ADDR, a bad source of KIND; a 400
# whose message matches REGEX, and the VMM still serving.
receive() {
	rm -f "$mig"
	api PUT /vmm/receive-migration "{\"receiver_url\": \"$2\"}" >"$LIB_TMP/recv" &
	local put=$!
	bad_source "$1" "$2" "$whole" >"$LIB_TMP/answer"
	wait $put
	local got
	got=$(cat "$LIB_TMP/recv")
	if [[ "${got%% *}" = 400 ]] && grep -qE -- "$3" <<<"$got"; then
		lib_ok "receive-migration on $2, a source that sends $1 -> ${got:0:160}"
	else
		lib_fail "receive-migration on $2, a source that sends $1 -> $got (want 400 /$3/)"
	fi
	want 200 GET / "" '"state":"Not started"'
}
receive garbage "unix:$mig" 'claims [0-9]+ bytes'
receive close "unix:$mig" 'connection closed'
receive whole "unix:$mig" 'no readable configuration'
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
receive garbage "tcp:127.0.0.1:$port" 'claims [0-9]+ bytes'
receive whole "tcp:127.0.0.1:$port" 'no readable configuration'
kill -0 $vmm_pid 2>/dev/null && lib_ok "the VMM is alive" || lib_fail "the VMM died"
kill -TERM $vmm_pid
wait $vmm_pid
st=$?
[ $st = 143 ] && lib_ok "ends on SIGTERM with 143" || lib_fail "status $st on SIGTERM"
grep -q "SIGSYS\|Bad system call" "$LIB_TMP/api.err" && lib_fail "a seccomp kill" ||
	lib_ok "no seccomp kill"

# ---- 4. --migrate-from with --api-sock: the API does not build a VM meanwhile ----
rm -f "$mig" "$sock"
"$VMM" --migrate-from "unix:$mig" --api-sock "$sock" </dev/null >"$LIB_TMP/api.out" \
	2>"$LIB_TMP/api.err" &
vmm_pid=$!
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --migrate-from --api-sock"
want 400 PUT /vmm/receive-migration "{\"receiver_url\": \"unix:$LIB_TMP/other.sock\"}" \
	'waits for a migrating VM'
bad_source garbage "unix:$mig" >/dev/null
wait $vmm_pid
st=$?
[ $st = 1 ] && lib_ok "ends with 1 after the bad source" || lib_fail "status $st"
finish
