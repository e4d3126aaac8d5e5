#!/usr/bin/env bash
# A snapshot's configuration is not obeyed as if the operator had typed it (issue 46; the rule:
# vmm/snapshot/restore_paths.h, docs/snapshots.md "What a restore may open"). Crafted state files
# (snapshot_craft.py) name a disk, a console file, a screenshot, a vsock socket, a pmem file, an
# input script and a tap outside the snapshot's folder: `vmm --restore DIR` refuses each with exit
# status 2 and one line naming it, before anything is opened (open_watch.py: inotify sees no open
# of the files and nothing created in their folder) and before KVM (--kvm names no device, so a
# restore that got past the check would fail there). Then the allowed forms get past the check (to
# the missing KVM) and open the disk: a disk under the folder, one the operator gives with --disk
# PATH (and by id=), one under --landlock-rules; a `..` is refused even inside the folder. Over the
# API (PUT /snapshot/load): a 400 naming the disk, and drive_overrides allows it. Needs no KVM.
# labels: snapshot cli api
# timeout: 120
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

require python3 curl
craft="$SOURCE_DIR/tests/integration/lib/snapshot_craft.py"
watch="$SOURCE_DIR/tests/integration/lib/open_watch.py"
out="$LIB_TMP/outside"
nokvm="$LIB_TMP/no-kvm-here"
mkdir -p "$out"
truncate -s 1M "$out/disk.img" "$out/pmem.img"
truncate -s 2M "$out/pmem.img"
: >"$out/script"

# snap NAME OPTIONS_JSON: a snapshot folder $LIB_TMP/NAME with a crafted state and a memory file.
snap() {
	mkdir -p "$LIB_TMP/$1"
	python3 "$craft" "$LIB_TMP/$1/state" "$2" || lib_fail "snapshot_craft.py $2"
	truncate -s 256M "$LIB_TMP/$1/memory"
}

# restore LABEL WATCHED... -- VMM_ARGS...: vmm VMM_ARGS --kvm $nokvm under open_watch.py; the
# events go to RUN_OUT, vmm's stderr to RUN_ERR, the status to RUN_STATUS.
restore() {
	local label=$1 watched=()
	shift
	while [ "$1" != -- ]; do
		watched+=("$1")
		shift
	done
	shift
	lib_new_run "$label"
	python3 "$watch" --timeout 20 "${watched[@]}" -- \
		"$VMM" "$@" --kvm "$nokvm" </dev/null >"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
}

# refused NAME OPTIONS_JSON PATH [VMM_ARGS]: the restore of that configuration fails with 2, a
# line naming PATH, and no event on PATH or its folder.
refused() {
	local name=$1 opts=$2 path=$3 w=("$out")
	shift 3
	snap "$name" "$opts"
	[ -e "$path" ] && w+=("$path")
	restore "refused: $name" "${w[@]}" -- --restore "$LIB_TMP/$name" "$@"
	expect_status 2
	grep -qF -- "$path" "$RUN_ERR" && grep -q -- "--restore $LIB_TMP/$name: the snapshot names" "$RUN_ERR" &&
		lib_ok "refused by name: $(grep -m1 'snapshot names' "$RUN_ERR")" ||
		lib_fail "no refusal naming $path: $(cat "$RUN_ERR")"
	[ "$(grep -c 'the snapshot names' "$RUN_ERR")" = 1 ] && lib_ok "said once" ||
		lib_fail "said $(grep -c 'the snapshot names' "$RUN_ERR") times"
	grep -q "$nokvm" "$RUN_ERR" && lib_fail "it got to KVM first" || lib_ok "before KVM"
	[ -s "$RUN_OUT" ] && lib_fail "it touched the host: $(cat "$RUN_OUT")" ||
		lib_ok "nothing opened or created in $out"
	[ -e "$out/console" ] && lib_fail "the console file was created"
}

# passed LABEL: the run got past the check (it stopped at the missing KVM) and opened the disk.
passed() {
	grep -q 'the snapshot names' "$RUN_ERR" && lib_fail "refused: $(cat "$RUN_ERR")" ||
		lib_ok "not refused"
	grep -q "$nokvm" "$RUN_ERR" && lib_ok "it went on to KVM: $(grep -m1 "$nokvm" "$RUN_ERR")" ||
		lib_fail "did not get to KVM (status $RUN_STATUS): $(cat "$RUN_ERR")"
	grep -q "^opened $1\$" "$RUN_OUT" && lib_ok "and opened $1" ||
		lib_fail "never opened $1 (events: $(cat "$RUN_OUT"))"
}

# ---- each kind of path, outside the folder: refused ----
refused disk "[[\"disk\", \"$out/disk.img\"]]" "$out/disk.img"
refused ro-disk "[[\"disk\", \"$out/disk.img,ro,id=root\"]]" "$out/disk.img"
refused console "[[\"console\", \"file:$out/console\"]]" "$out/console"
refused screenshot "[[\"screenshot\", \"$out/shot.png\"]]" "$out/shot.png"
refused vsock "[[\"vsock\", \"cid=3,uds=$out/v.sock\"]]" "$out/v.sock"
refused pmem "[[\"pmem\", \"path=$out/pmem.img\"]]" "$out/pmem.img"
refused input "[[\"input-script\", \"$out/script\"]]" "$out/script"
refused dotdot "[[\"disk\", \"$LIB_TMP/dotdot/../outside/disk.img\"]]" "$LIB_TMP/dotdot/../outside/disk.img"
# a tap is a host interface: the operator gives one (--net tap=NAME) or the restore is refused
refused tap "[[\"net\", \"tap=vmmhostile0\"]]" vmmhostile0
# a ro rule does not let the snapshot write there
refused rule-ro "[[\"disk\", \"$out/disk.img\"]]" "$out/disk.img" --landlock-rules "$out:ro"
# the operator's --disk replaces the first disk, not the second
refused second "[[\"disk\", \"$LIB_TMP/second/in.img\"], [\"disk\", \"$out/disk.img\"]]" \
	"$out/disk.img" --disk "$LIB_TMP/second/in.img"

# ---- what the operator allows ----
snap inside "[[\"disk\", \"$LIB_TMP/inside/disk.img\"]]"
truncate -s 1M "$LIB_TMP/inside/disk.img"
restore "a disk in the snapshot's folder" "$LIB_TMP/inside/disk.img" -- --restore "$LIB_TMP/inside"
passed "$LIB_TMP/inside/disk.img"

snap given "[[\"disk\", \"/somewhere/else.img\"]]"
restore "--restore DIR --disk PATH" "$out/disk.img" -- --restore "$LIB_TMP/given" --disk "$out/disk.img"
passed "$out/disk.img"

snap by-id "[[\"disk\", \"/a.img,id=boot\"], [\"disk\", \"/b.img,id=data\"]]"
restore "--restore DIR --disk PATH,id=NAME (both, out of order)" "$out/disk.img" "$out/pmem.img" -- \
	--restore "$LIB_TMP/by-id" --disk "$out/pmem.img,id=data" --disk "$out/disk.img,id=boot"
passed "$out/disk.img"

snap rule "[[\"disk\", \"$out/disk.img\"]]"
restore "--landlock-rules DIR:rw" "$out/disk.img" -- --restore "$LIB_TMP/rule" --landlock-rules "$out:rw"
passed "$out/disk.img"

lib_new_run "--restore DIR --disk PATH,ro"
"$VMM" --restore "$LIB_TMP/rule" --disk "$out/disk.img,ro" --kvm "$nokvm" </dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
grep -q 'give only PATH\[,id=NAME\]' "$RUN_ERR" && lib_ok "$(cat "$RUN_ERR")" ||
	lib_fail "$(cat "$RUN_ERR")"

# ---- over the API ----
sock="$LIB_TMP/api.sock"
"$VMM" --api-sock "$sock" --kvm "$nokvm" </dev/null >"$LIB_TMP/api.out" 2>"$LIB_TMP/api.err" &
vmm_pid=$!
trap 'kill -9 $vmm_pid 2>/dev/null; rm -rf "$LIB_TMP"' EXIT
for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.1; done
RUN_LABEL="vmm --api-sock, PUT /snapshot/load"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/api_lib.sh" # api, want
body="\"snapshot_path\": \"$LIB_TMP/disk/state\", \"mem_file_path\": \"$LIB_TMP/disk/memory\""
want 400 PUT /snapshot/load "{$body}" "the snapshot names disk $out/disk.img \\(drive0\\) outside its folder"
want 400 PUT /snapshot/load "{$body, \"drive_overrides\": [{\"drive_id\": \"nope\", \"path_on_host\": \"/x\"}]}" "no drive .nope."
want 400 PUT /snapshot/load "{$body, \"drive_overrides\": [{\"drive_id\": \"drive0\"}]}" "path_on_host"
# allowed: it goes on to KVM, which is missing here (a 400 that says so, not the refusal)
got=$(api PUT /snapshot/load "{$body, \"drive_overrides\": [{\"drive_id\": \"drive0\", \"path_on_host\": \"$out/disk.img\"}]}")
[[ "$got" == 400* ]] && ! grep -q 'snapshot names' <<<"$got" && lib_ok "drive_overrides: past the check: ${got:0:160}" ||
	lib_fail "drive_overrides: $got"
body="\"snapshot_path\": \"$LIB_TMP/vsock/state\", \"mem_file_path\": \"$LIB_TMP/vsock/memory\""
want 400 PUT /snapshot/load "{$body}" "vsock socket $out/v.sock"
got=$(api PUT /snapshot/load "{$body, \"vsock_override\": {\"uds_path\": \"$LIB_TMP/clone.sock\"}}")
[[ "$got" == 400* ]] && ! grep -q 'snapshot names' <<<"$got" && lib_ok "vsock_override: past the check: ${got:0:160}" ||
	lib_fail "vsock_override: $got"
want 200 GET / "" '"state":"Not started"'
finish
