#!/usr/bin/env bash
# --config-file: a whole VM in one JSON file (the API's schema, Firecracker's layout) boots a
# test guest with a disk and a metrics file; broken files end with a message and status 2.
# labels: api cli
# requires: kvm
# timeout: 180
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"

hello=$(guest_path hello) || finish
blk=$(guest_path blk_bench) || finish
disk="$LIB_TMP/disk.img"
truncate -s 8M "$disk"

cfg() { # cfg NAME JSON: writes the file, prints its path
	printf '%s\n' "$2" >"$LIB_TMP/$1.json"
	echo "$LIB_TMP/$1.json"
}

run_cfg() { # run_cfg FILE [VMM ARGS...]
	lib_new_run "vmm --config-file $(basename "$1") ${*:2}"
	timeout "$RUN_TIMEOUT" "$VMM" --config-file "$1" --debug-exit "${@:2}" </dev/null \
		>"$RUN_OUT" 2>"$RUN_ERR"
	RUN_STATUS=$?
}

expect_error() { # expect_error FILE REGEX
	run_cfg "$1"
	expect_status 2
	if grep -qE -- "$2" "$RUN_ERR"; then lib_ok "says: $(head -1 "$RUN_ERR")"; else
		lib_fail "stderr lacks /$2/: $(cat "$RUN_ERR")"
	fi
}

# a good file: the test guest runs and reads its disk (blk_bench), and the
# metrics file gets its last line at exit
run_cfg "$(cfg good "{
  \"boot-source\": {\"kernel_image_path\": \"$blk\", \"boot_args\": \"seconds=1 requests=300\"},
  \"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128},
  \"drives\": [{\"drive_id\": \"d0\", \"path_on_host\": \"$disk\", \"is_root_device\": false,
               \"is_read_only\": false}],
  \"metrics\": {\"metrics_path\": \"$LIB_TMP/metrics.jsonl\"}
}")"
expect_pass
if python3 -c 'import json,sys; d=json.loads(open(sys.argv[1]).readlines()[-1]); assert d["devices"][0]["requests"] > 0' "$LIB_TMP/metrics.jsonl" 2>/dev/null; then
	lib_ok "metrics file written with the disk's requests"
else
	lib_fail "metrics file: $(cat "$LIB_TMP/metrics.jsonl" 2>&1)"
fi

# command-line devices come along, the file's machine config counts
run_cfg "$(cfg hello "{\"boot-source\": {\"kernel_image_path\": \"$hello\"}}")" --rng
expect_pass

expect_error "$LIB_TMP/missing.json" "missing.json"
expect_error "$(cfg malformed '{"boot-source": {')" "line [0-9]+"
expect_error "$(cfg unknown "{\"boot-source\": {\"kernel_image_path\": \"$hello\"}, \"no-such-device\": {}}")" \
	"unknown field .no-such-device."
expect_error "$(cfg noboot '{"machine-config": {"vcpu_count": 1, "mem_size_mib": 64}}')" \
	"boot-source"
expect_error "$(cfg badtype "{\"boot-source\": {\"kernel_image_path\": \"$hello\"}, \"machine-config\": {\"vcpu_count\": \"1\", \"mem_size_mib\": 64}}")" \
	"vcpu_count"
expect_error "$(cfg baddrive "{\"boot-source\": {\"kernel_image_path\": \"$hello\"}, \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"$LIB_TMP/nope.img\", \"is_root_device\": true}]}")" \
	"nope.img"
expect_error "$(cfg tworoots "{\"boot-source\": {\"kernel_image_path\": \"$hello\"}, \"drives\": [{\"drive_id\": \"a\", \"path_on_host\": \"$disk\", \"is_root_device\": true}, {\"drive_id\": \"b\", \"path_on_host\": \"$disk\", \"is_root_device\": true}]}")" \
	"drives\[1\].*root"
expect_error "$(cfg nokernel "{\"boot-source\": {\"kernel_image_path\": \"$LIB_TMP/no-kernel\"}}")" \
	"no-kernel"
head -c 2M /dev/zero | tr '\0' ' ' >"$LIB_TMP/huge.json"
expect_error "$LIB_TMP/huge.json" "larger than"

lib_new_run "vmm --config-file with --kernel"
"$VMM" --config-file "$LIB_TMP/hello.json" --kernel "$hello" >/dev/null 2>"$RUN_ERR"
RUN_STATUS=$?
expect_status 2
finish
