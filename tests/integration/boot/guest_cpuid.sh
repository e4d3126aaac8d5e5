#!/usr/bin/env bash
# The CPUID a guest sees (docs/cpu.md), read by the guest itself: tests/guests/cpuid_dump.elf
# prints leaves 0, 1, 7.0, 0xB/0x1F, 0x40000000-1, 0x80000000-1, 0x80000008, 0x8000001E as vCPU 0
# sees them, and leaves 1 and 0xB as the other vCPU sees them. Runs, all with --cpus 2:
#   - default: the normalized CPUID. Every leaf vCPU 0 printed equals `vmm --cpu-template-dump
#     --cpus 2`'s (the dump is what a vCPU gets; bits KVM keeps in step with the guest's own
#     registers masked: leaf 1 OSXSAVE and APIC, leaf 7 OSPKE); the hypervisor bit; the topology
#     of 2 vCPUs, 1 thread per core (leaf 1 EBX's count and APIC IDs 0 and 1, HTT, 0xB's SMT and
#     core levels with the x2APIC IDs, AMD's 0x80000008 ECX and 0x8000001E); the hypervisor leaf
#     0x40000000 "KVMKVMKVM";
#   - custom: --cpu-template-file with a template clearing one feature the host gives (CLFLUSHOPT,
#     BMI1 or ABM, the first the dump has): the guest lacks it, and every other bit of that
#     register is the default run's;
#   - the static template of the host's vendor (T2A on AMD, T2 on Intel): run, the guest sees its
#     family/model and leaf 7 EBX, and the topology and hypervisor bit stay; or refused at start
#     naming the features the host lacks;
#   - the other vendor's static template: refused at start, naming the vendor;
#   - --cpu-template-verify: the dump given back as a template, the custom template and the
#     static one apply as written (or the static one is refused as its run was); the dump lists
#     the MSRs a vCPU gets.
# Where: a KVM that honours KVM_SET_CPUID2 (hardware or nested). kvm_pvm does not (its guests see
# the host CPU's CPUID; docs/cpu.md), so there the runs go into an L1 Linux under QEMU's TCG with
# nested SVM (tools/kvm-in-qemu), whose CPU is EPYC with ERMS added (L1_CPU below) so that T2A,
# which sets ERMS, applies; the checks run here after L1 ended. CPUID_DIRECT=1 forces the direct
# runs.
# labels: slow guests
# requires: kvm
# timeout: 720
# resource: linux:2
SCRIPT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
. "$(dirname "${BASH_SOURCE[0]}")/../lib/lib.sh"
. "$SOURCE_DIR/tests/integration/lib/l1_lib.sh"

# Candidate features to clear: leaf subleaf register bit name.
CANDIDATES=("0x7 0x0 ebx 23 clflushopt" "0x7 0x0 ebx 3 bmi1" "0x80000001 0x0 ecx 5 abm")

# ---- the runs (here, or in L1 with $CPUID_OUT shared) ----

# One run of the guest: NAME [VMM ARGS...]: NAME.log (serial), NAME.err, NAME.status.
# Each step says how it ended ("in L1: ..." lines are shown from L1 as they come): a step that
# hangs in L1 (TCG's nested SVM: linux_stock.sh) is then named by the last line.
run_guest() {
	local name=$1 t=$SECONDS
	shift
	timeout -k 10 90 "$VMM" --kernel "$GUESTS/cpuid_dump.elf" --debug-exit --console stdio \
		--mem 64M --cpus 2 "$@" </dev/null >"$out/$name.log" 2>"$out/$name.err"
	echo $? >"$out/$name.status"
	progress "$name: status $(cat "$out/$name.status"), $((SECONDS - t)) s"
}

progress() { if [ -n "${CPUID_INNER:-}" ]; then echo "in L1: $*"; else echo "$*"; fi; }

# vmm --cpu-template-verify: NAME [VMM ARGS...]: NAME.out, NAME.status.
verify() {
	local name=$1
	shift
	timeout -k 5 60 "$VMM" --cpus 2 "$@" --cpu-template-verify >"$out/$name.out" 2>&1
	echo $? >"$out/$name.status"
	progress "$name: status $(cat "$out/$name.status")"
}

# The value of REG of LEAF.SUBLEAF in dump.json, as "0x%08x" ("" when absent).
dump_reg() {
	python3 - "$out/dump.json" "$@" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
leaf, sub, reg = int(sys.argv[2], 0), int(sys.argv[3], 0), sys.argv[4]
for c in d["cpuid_modifiers"]:
    if int(c["leaf"], 0) == leaf and int(c["subleaf"], 0) == sub:
        for m in c["modifiers"]:
            if m["register"] == reg:
                print("0x%08x" % int(m["bitmap"][2:], 2))
PY
}

run_all() {
	local start=$SECONDS c leaf sub reg bit name v vendor
	timeout -k 5 60 "$VMM" --cpu-template-dump --cpus 2 >"$out/dump.json" 2>"$out/dump.err"
	echo $? >"$out/dump.status"
	progress "dump: status $(cat "$out/dump.status")"
	vendor=$(dump_reg 0 0 ebx)
	[ "$vendor" = 0x68747541 ] && vendor=AMD || vendor=Intel
	echo "$vendor" >"$out/vendor"
	run_guest default
	# A feature the host gives, cleared by a custom template.
	for c in "${CANDIDATES[@]}"; do
		read -r leaf sub reg bit name <<<"$c"
		v=$(dump_reg "$leaf" "$sub" "$reg")
		[ -n "$v" ] && (((v >> bit) & 1)) || continue
		echo "$c" >"$out/cleared"
		python3 - "$leaf" "$sub" "$reg" "$bit" >"$out/template.json" <<'PY'
import json, sys
leaf, sub, reg, bit = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
bitmap = "0b" + "".join("0" if i == bit else "x" for i in range(31, -1, -1))
flags = 1 if int(leaf, 0) == 7 else 0
print(json.dumps({"cpuid_modifiers": [{"leaf": leaf, "subleaf": sub, "flags": flags,
      "modifiers": [{"register": reg, "bitmap": bitmap}]}], "msr_modifiers": []}))
PY
		run_guest custom --cpu-template-file "$out/template.json"
		break
	done
	if [ "$vendor" = AMD ]; then echo T2A >"$out/static.name"; else echo T2 >"$out/static.name"; fi
	run_guest static --cpu-template "$(cat "$out/static.name")"
	if [ "$vendor" = AMD ]; then
		run_guest wrong --cpu-template T2
	else
		run_guest wrong --cpu-template T2A
	fi
	# --cpu-template-verify (a scratch vCPU, read back): the dump given back, the custom
	# template, the static one.
	verify verify-dump --cpu-template-file "$out/dump.json"
	[ -f "$out/template.json" ] && verify verify-custom --cpu-template-file "$out/template.json"
	verify verify-static --cpu-template "$(cat "$out/static.name")"
	echo "the runs: $((SECONDS - start)) s"
}

if [ -n "${CPUID_INNER:-}" ]; then
	out=$CPUID_OUT
	echo "in L1: $(kvm_probe_line)"
	run_all
	exit 0
fi

guest_path cpuid_dump >/dev/null || finish
out=$(mktemp -d "${BUILD_DIR:-$PWD}/guest_cpuid.XXXXXX") # not /tmp: L1 has its own there
trap 'rm -rf "$out" "$LIB_TMP"' EXIT
start=$SECONDS
if l1_wanted "${CPUID_DIRECT:-0}"; then
	l1_require "this host's KVM is kvm_pvm, whose guests see the host CPU's CPUID, not the table the VMM sets"
	echo "where: kvm_pvm ignores KVM_SET_CPUID2's table for what its guests see, so the runs go" \
		"into an L1 Linux under QEMU's TCG with nested SVM (tools/kvm-in-qemu), kvm_amd there"
	export VMM GUESTS SOURCE_DIR CPUID_INNER=1 CPUID_OUT="$out"
	# 300 s: the runs took 10-40 s in L1 and L1's boot 20 s; a second attempt must fit in the
	# test's timeout after a first that hung (one did, once, after L1's boot)
	L1_CPU=${L1_CPU:-EPYC,+svm,+npt,+erms} l1_run "$out" 300 'the runs' "" -- bash "$SCRIPT"
	status=$?
	unset CPUID_INNER
	if [ "$status" != 0 ]; then
		echo "FAIL: tools/kvm-in-qemu did not run the guests (status $status)"
		exit 1
	fi
else
	echo "where: directly on this host's KVM ($(kvm_probe_line))"
	run_all
fi
echo "runs: $((SECONDS - start)) s"

# ---- the checks ----
ok() {
	echo "ok: $*"
	LIB_CHECKS_OK=$((LIB_CHECKS_OK + 1))
}
bad() {
	echo "FAIL: $*"
	LIB_CHECKS_FAILED=$((LIB_CHECKS_FAILED + 1))
}
check() { if eval "$2"; then ok "$1"; else bad "$1 (${3:-$2})"; fi; }

# The value of REG (eax..edx) that vCPU CPU printed for LEAF (0x%08x.N), "" when absent.
reg_of() {
	local line
	line=$(grep -m1 "^CPUID cpu=$2 leaf=$3 " "$out/$1.txt") || return 0
	sed -n "s/.* $4=\(0x[0-9a-f]*\).*/\1/p" <<<"$line"
}

# A run that must have passed: NAME WHAT.
check_ran() {
	tr -d '\r' <"$out/$1.log" >"$out/$1.txt"
	if [ "$(cat "$out/$1.status")" = 1 ] && grep -q '^TEST PASS' "$out/$1.txt"; then
		ok "$1: the guest ran ($2) and printed $(grep -c '^CPUID cpu=' "$out/$1.txt") leaves"
		return 0
	fi
	bad "$1: status $(cat "$out/$1.status"), want 1 and TEST PASS ($2); stderr:"
	tail -5 "$out/$1.err"
	tail -5 "$out/$1.txt"
	return 1
}

# The normalization's topology and hypervisor bit, as both vCPUs see them: RUN.
check_topology() {
	local r=$1 e b c d ap_ids="" i
	b=$(reg_of "$r" 0 0x00000001.0 ebx)
	c=$(reg_of "$r" 0 0x00000001.0 ecx)
	d=$(reg_of "$r" 0 0x00000001.0 edx)
	check "$r: leaf 1 ECX[31], the hypervisor bit, set" "(( (c >> 31) & 1 ))" "ecx $c"
	check "$r: leaf 1 EBX[23:16], logical processors, is 2" "(( ((b >> 16) & 0xff) == 2 ))" "ebx $b"
	check "$r: leaf 1 EDX[28], HTT, set" "(( (d >> 28) & 1 ))" "edx $d"
	check "$r: the other vCPU started" "grep -q '^CPUID-APS 1 of 1' '$out/$r.txt'"
	for i in 0 1; do
		b=$(reg_of "$r" $i 0x00000001.0 ebx)
		ap_ids+="$((b >> 24)) "
		e=$(reg_of "$r" $i 0x0000000b.0 ecx)
		[ -n "$e" ] || continue
		check "$r: vCPU $i: leaf 0xB.0 is the SMT level (ECX[15:8] 1), 1 thread (EBX 1)" \
			"(( ((e >> 8) & 0xff) == 1 && ($(reg_of "$r" $i 0x0000000b.0 ebx) & 0xffff) == 1 ))"
		e=$(reg_of "$r" $i 0x0000000b.1 ecx)
		check "$r: vCPU $i: leaf 0xB.1 is the core level (ECX[15:8] 2), 2 logical processors" \
			"(( ((e >> 8) & 0xff) == 2 && ($(reg_of "$r" $i 0x0000000b.1 ebx) & 0xffff) == 2 ))" \
			"ecx $e ebx $(reg_of "$r" $i 0x0000000b.1 ebx)"
		check "$r: vCPU $i: leaf 0xB's x2APIC ID is its initial APIC ID ($((b >> 24)))" \
			"(( $(reg_of "$r" $i 0x0000000b.0 edx) == (b >> 24) && $(reg_of "$r" $i 0x0000000b.1 edx) == (b >> 24) ))"
	done
	check "$r: leaf 1 EBX[31:24], the initial APIC IDs, are 0 and 1" "[ '$ap_ids' = '0 1 ' ]" "$ap_ids"
	if [ "$(cat "$out/vendor")" = AMD ]; then
		c=$(reg_of "$r" 0 0x80000008.0 ecx)
		check "$r: AMD 0x80000008 ECX[7:0], threads - 1, is 1" "[ -n '$c' ] && (( (c & 0xff) == 1 ))" "ecx $c"
		b=$(reg_of "$r" 0 0x8000001e.0 ebx)
		[ -z "$b" ] ||
			check "$r: AMD 0x8000001E EBX[15:8], threads per core - 1, is 0" "(( ((b >> 8) & 0xff) == 0 ))" "ebx $b"
	fi
}

echo "the host (as its KVM gives it, L1's on kvm_pvm): $(cat "$out/vendor")"
check "vmm --cpu-template-dump --cpus 2 ran" "[ '$(cat "$out/dump.status")' = 0 ]"
if check_ran default "no template"; then
	check_topology default
	check "default: the hypervisor leaf 0x40000000 is KVMKVMKVM (EBX ECX EDX), max >= 0x40000001" \
		"[ '$(reg_of default 0 0x40000000.0 ebx) $(reg_of default 0 0x40000000.0 ecx) $(reg_of default 0 0x40000000.0 edx)' = '0x4b4d564b 0x564b4d56 0x0000004d' ] && (( $(reg_of default 0 0x40000000.0 eax) >= 0x40000001 ))" \
		"$(grep -m1 'leaf=0x40000000' "$out/default.txt")"
	# What the guest saw is what the dump said a vCPU gets, bit for bit, but for the bits KVM keeps
	# in step with the guest's CR4 and APIC base: leaf 1 ECX[27] OSXSAVE, EDX[9] APIC, 7.0 ECX[4]
	# OSPKE.
	diffs=""
	n=0
	while read -r leaf; do
		fn=${leaf%.*}
		sub=${leaf#*.}
		for reg in eax ebx ecx edx; do
			want=$(dump_reg "$fn" "$sub" "$reg")
			[ -n "$want" ] || continue
			got=$(reg_of default 0 "$leaf" "$reg")
			mask=0xffffffff
			case $leaf.$reg in
			0x00000001.0.ecx) mask=$((~(1 << 27) & 0xffffffff)) ;;
			0x00000001.0.edx) mask=$((~(1 << 9) & 0xffffffff)) ;;
			0x00000007.0.ecx) mask=$((~(1 << 4) & 0xffffffff)) ;;
			esac
			n=$((n + 1))
			(((got & mask) == (want & mask))) || diffs+=" $leaf $reg: guest $got, dump $want;"
		done
	done < <(sed -n 's/^CPUID cpu=0 leaf=\(0x[0-9a-f]*\.[0-9]*\) .*/\1/p' "$out/default.txt")
	check "default: the guest's leaves are the dump's ($n registers compared)" "[ -z '$diffs' ]" "$diffs"
fi

if [ ! -f "$out/cleared" ]; then
	bad "custom: the host's KVM gives none of clflushopt, bmi1, abm: no bit to clear"
elif check_ran custom "--cpu-template-file clearing $(cut -d' ' -f5 "$out/cleared")" && [ -f "$out/default.txt" ]; then
	read -r leaf sub reg bit name <"$out/cleared"
	key=$(printf '0x%08x.%d' "$leaf" "$sub")
	got=$(reg_of custom 0 "$key" "$reg")
	was=$(reg_of default 0 "$key" "$reg")
	check "custom: the guest lacks $name (CPUID $key $reg bit $bit clear; $was without the template)" \
		"(( !((got >> bit) & 1) && ((was >> bit) & 1) ))" "$reg $got"
	check "custom: the rest of $key $reg is the default run's" \
		"(( (got | (1 << bit)) == was ))" "$got vs $was"
	check_topology custom
fi

vendor=$(cat "$out/vendor")
if [ "$vendor" = AMD ]; then tpl=T2A other=T2 other_vendor=Intel; else tpl=T2 other=T2A other_vendor=AMD; fi
tr -d '\r' <"$out/static.log" >"$out/static.txt"
if ! grep -q '^TEST PASS' "$out/static.txt" &&
	grep -q "CPU template $tpl asks for CPU features this host cannot give: [a-z]" "$out/static.err"; then
	ok "static: $tpl refused at start (status $(cat "$out/static.status")), naming what the host lacks: $(grep -o 'cannot give: .*' "$out/static.err")"
elif check_ran static "--cpu-template $tpl"; then
	a=$(reg_of static 0 0x00000001.0 eax)
	b=$(reg_of static 0 0x00000007.0 ebx)
	check "static: $tpl's family/model/stepping 0x306f2 (leaf 1 EAX & 0x0fff3fff)" \
		"(( (a & 0x0fff3fff) == 0x000306f2 ))" "eax $a"
	check "static: $tpl's leaf 7 EBX (& 0xffefda14 is 0x200: ERMS only)" \
		"(( (b & 0xffefda14) == 0x200 ))" "ebx $b"
	check_topology static
fi
# --cpu-template-verify on a KVM that keeps what it is given: the dump and the custom template
# apply as written; the static one too, or is refused as the run above was.
nmsrs=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["msr_modifiers"]))' "$out/dump.json")
check "the dump lists the MSRs a vCPU gets (msr_modifiers: $nmsrs)" "(( nmsrs > 10 ))"
for v in verify-dump verify-custom verify-static; do
	[ -f "$out/$v.status" ] || continue
	if [ "$(cat "$out/$v.status")" = 0 ] && grep -q '^ok: CPU template' "$out/$v.out"; then
		ok "$v: $(head -1 "$out/$v.out")"
	elif [ $v = verify-static ] && grep -q 'cannot give' "$out/static.err" &&
		grep -q 'sets features this host cannot give' "$out/$v.out"; then
		ok "$v: refused as the run was: $(tail -1 "$out/$v.out")"
	else
		bad "$v: status $(cat "$out/$v.status"), want 0 and 'ok: CPU template ...':"
		head -12 "$out/$v.out"
	fi
done

check "wrong: $other on an $vendor host refused at start naming the vendor" \
	"! grep -q '^TEST PASS' '$out/wrong.log' && grep -q 'CPU template $other is for $other_vendor CPUs, this host.s is $vendor' '$out/wrong.err'" \
	"status $(cat "$out/wrong.status"): $(head -2 "$out/wrong.err")"
finish
