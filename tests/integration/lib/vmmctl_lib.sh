# Shared parts of vmmctl.sh (against a fake API server) and vmmctl_vmm.sh (against the real
# VMM): the temporary directory, ok/bad tallies, and ctl/expect_* to run vmmctl and check it.
# Source it after lib.sh.
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh" # VMM, guest_path, lib_new_run, LIB_TMP
VMMCTL="${VMMCTL:-$BUILD_DIR/tools/vmmctl/vmmctl}"
tmp="$LIB_TMP"
sock="$tmp/api.sock"
log="$tmp/requests.log"
server_pid=""
vmm_pids=()
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	for p in "${vmm_pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fails=0
oks=0
ok() {
	echo "ok: $LABEL: $*"
	oks=$((oks + 1))
}
bad() {
	echo "FAIL: $LABEL: $*"
	fails=$((fails + 1))
}

if [ ! -x "$VMMCTL" ]; then
	echo "FAIL: no vmmctl at $VMMCTL"
	exit 1
fi

# ctl ARGS...: runs vmmctl on $ctl_sock (the fake server's, then a real VMM's) with a fresh
# request log; sets STATUS, OUT, ERR.
ctl_sock="$sock"
ctl() {
	LABEL="vmmctl $*"
	: >"$log"
	timeout 120 "$VMMCTL" --sock "$ctl_sock" "$@" >"$tmp/out" 2>"$tmp/err"
	STATUS=$?
	OUT=$(cat "$tmp/out")
	ERR=$(cat "$tmp/err")
}

expect_exit() {
	if [ "$STATUS" -eq "$1" ]; then
		ok "status $1"
	else
		bad "status $STATUS, want $1; stdout: $OUT; stderr: $ERR"
	fi
}

expect_out() {
	if grep -qE -- "$1" <<<"$OUT"; then ok "stdout has /$1/"; else bad "stdout lacks /$1/: $OUT"; fi
}

expect_err() {
	if grep -qE -- "$1" <<<"$ERR"; then ok "stderr has /$1/"; else bad "stderr lacks /$1/: $ERR"; fi
}

# expect_requests 'METHOD PATH BODY' ...: exactly these requests reached the server, in order
# (BODY is JSON compared as data, or "null" for none).
expect_requests() {
	local got
	if [ $# -eq 0 ]; then # none: no Python needed (it costs ~0.3 s a check on a loaded host)
		if [ -s "$log" ]; then bad "requests reached the server: $(cat "$log")"; else ok "sent none"; fi
		return
	fi
	if got=$(python3 - "$log" "$@" <<'PY'
import json, sys
log, want = sys.argv[1], sys.argv[2:]
got = [json.loads(l) for l in open(log)]
if len(got) != len(want):
    print("%d requests, want %d: %s" % (len(got), len(want), got)); sys.exit(1)
for g, w in zip(got, want):
    m, p, b = w.split(" ", 2)
    if (g["method"], g["path"], g["body"]) != (m, p, json.loads(b)):
        print("got %s %s %s, want %s" % (g["method"], g["path"], json.dumps(g["body"]), w))
        sys.exit(1)
PY
	); then
		ok "sent $*"
	else
		bad "$got"
	fi
}

mode() {
	curl -s --unix-socket "$sock" -X PUT -d "{\"mode\": \"$1\"}" http://localhost/test/mode
}
