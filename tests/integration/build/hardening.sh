#!/usr/bin/env bash
# Hardened binaries (cmake/hardening.cmake): `cmake --install` of the build into a temporary
# prefix, then every installed program is read with readelf, nm and objdump for PIE, full RELRO,
# a non-executable stack, the stack protector, FORTIFY, stack-clash protection and CET code.
# First the checks prove they can fail: a small probe program is built with every hardening flag
# (all checks must pass on it), then once per flag with that one flag switched off (that check
# must fail on it).
# Compiler flags that leave no mark of their own in a linked binary (stack-clash, and the SHSTK
# half of -fcf-protection=full: glibc 2.36's crt1.o/crti.o carry no CET note, so ld drops the
# IBT/SHSTK property from every executable on Debian 12) are read from each compile unit's
# DW_AT_producer, which RelWithDebInfo (the default and the .deb's build type) keeps. Without
# debug info those checks cannot be made: the test then exits 77 unless another check failed.
# labels: build packaging
# requires: readelf nm objdump
# timeout: 300
set -u
# shellcheck disable=SC2317 # the check_* functions are called by name ("check_$c")
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
BUILD_DIR="${BUILD_DIR:-$PWD}"
. "$SOURCE_DIR/tests/integration/lib/require.sh"
require cmake readelf nm objdump # binutils, in build-essential (tools/setup.sh)
tmp=$(mktemp -d /tmp/vmm-hardening.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
unknown=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
cannot() {
	echo "cannot check: $*"
	unknown=$((unknown + 1))
}

# --- the checks: each returns 0 (present), 1 (missing: $why says what) or 2 (cannot tell) ---
why=""
check_pie() {
	readelf -hW "$1" | grep -qE '^ *Type: +DYN' || { why="ELF type is not DYN" && return 1; }
	readelf -dW "$1" | grep -qE '\(FLAGS_1\).* PIE' || { why="DT_FLAGS_1 lacks PIE" && return 1; }
}
check_relro() {
	readelf -lW "$1" | grep -q ' GNU_RELRO ' || { why="no GNU_RELRO segment" && return 1; }
	readelf -dW "$1" | grep -qE '\(FLAGS\).* BIND_NOW|\(FLAGS_1\).* NOW|\(BIND_NOW\)' ||
		{ why="no BIND_NOW: RELRO is only partial" && return 1; }
}
check_nxstack() {
	local flags
	# No GNU_STACK header at all means an executable stack on x86_64.
	flags=$(readelf -lW "$1" | awk '$1 == "GNU_STACK" { print $7 }')
	[ -n "$flags" ] || { why="no GNU_STACK header (executable stack)" && return 1; }
	[[ $flags != *E* ]] || { why="GNU_STACK is $flags (executable)" && return 1; }
}
check_ssp() {
	nm -D --undefined-only "$1" | grep -qE ' __stack_chk_fail(@|$)' ||
		{ why="__stack_chk_fail not imported" && return 1; }
}
check_fortify() {
	nm -D --undefined-only "$1" | grep -qE ' __[a-z0-9_]+_chk(@|$)' ||
		{ why="no __*_chk function imported" && return 1; }
}
# The compiler's recorded command line of every C compile unit (gcc: DW_AT_producer).
producers() {
	readelf --debug-dump=info --dwarf-depth=1 "$1" 2>/dev/null |
		sed -n 's/^.*DW_AT_producer[^:]*: ([^)]*): //p' | grep '^GNU C'
}
# every_unit FILE FLAG: every C compile unit was compiled with FLAG.
every_unit() {
	local all lacking
	all=$(producers "$1" | wc -l)
	[ "$all" -gt 0 ] || { why="no gcc DW_AT_producer (no debug info?)" && return 2; }
	lacking=$(producers "$1" | grep -cv -- " $2\( \|$\)")
	[ "$lacking" -eq 0 ] || { why="$lacking of $all compile units lack $2" && return 1; }
}
check_clash() { every_unit "$1" -fstack-clash-protection; }
check_cet() {
	# A toolchain whose C runtime is CET-marked keeps the property: that says it all.
	readelf -nW "$1" | grep -qE 'x86 feature: IBT, SHSTK' && return 0
	objdump -d --no-show-raw-insn --disassemble=main "$1" 2>/dev/null |
		grep -A1 '<main>:' | grep -q endbr64 || { why="main() does not start with endbr64" && return 1; }
	every_unit "$1" -fcf-protection=full
}
CHECKS=(pie relro nxstack ssp fortify clash cet)

# --- the checks can fail: a probe with every flag, then with each one switched off ------------
declare -A ON=([pie]="-fPIE -pie" [relro]="-Wl,-z,relro -Wl,-z,now"
	[nxstack]="-Wl,-z,noexecstack" [ssp]="-fstack-protector-strong"
	[fortify]="-U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=3" [clash]="-fstack-clash-protection"
	[cet]="-fcf-protection=full")
declare -A OFF=([pie]="-fno-pie -no-pie" [relro]="-Wl,-z,relro -Wl,-z,lazy"
	[nxstack]="-Wl,-z,execstack" [ssp]="-fno-stack-protector" [fortify]="-U_FORTIFY_SOURCE"
	[clash]="-fno-stack-clash-protection" [cet]="-fcf-protection=none")
cat >"$tmp/probe.c" <<'EOF'
#include <stdio.h>
#include <string.h>
/* A local array (stack protector), a copy of unknown length into it (FORTIFY), a frame larger
 * than a page (stack-clash probes). */
int main(int argc, char **argv)
{
	char buf[8192];
	strcpy(buf, argv[0]);
	printf("%s %d\n", buf, argc);
	return buf[argc];
}
EOF
CC=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD_DIR/CMakeCache.txt" 2>/dev/null)
CC=${CC:-cc}
# probe NAME [CHECK [FLAGS]]: builds $tmp/NAME with every flag, or with those of CHECK replaced
# by FLAGS (default: its OFF flags).
probe() {
	local flags="-O2 -g" f
	for f in "${CHECKS[@]}"; do
		[ "$f" = "${2:-}" ] && flags+=" ${3:-${OFF[$f]}}" || flags+=" ${ON[$f]}"
	done
	# shellcheck disable=SC2086 # the flag lists are meant to split
	"$CC" $flags -o "$tmp/$1" "$tmp/probe.c" 2>"$tmp/$1.log"
}
if ! command -v "$CC" >/dev/null; then
	cannot "the checks' own failure: no C compiler ($CC) to build the probe"
elif ! probe hardened; then
	bad "the probe does not build: $(head -5 "$tmp/hardened.log")"
else
	for c in "${CHECKS[@]}"; do
		"check_$c" "$tmp/hardened" && ok "probe with every flag passes $c" ||
			bad "probe with every flag fails $c: $why"
		if ! probe "no-$c" "$c"; then
			bad "probe without $c does not build: $(head -5 "$tmp/no-$c.log")"
			continue
		fi
		"check_$c" "$tmp/no-$c"
		[ $? -eq 1 ] && ok "probe built with ${OFF[$c]} fails $c: $why" ||
			bad "$c check passes a probe built with ${OFF[$c]}"
	done
	# IBT alone (endbr64 everywhere, no SHSTK) is not "full": only the producer tells.
	if probe cet-branch cet -fcf-protection=branch; then
		check_cet "$tmp/cet-branch"
		[ $? -eq 1 ] && ok "probe built with -fcf-protection=branch fails cet: $why" ||
			bad "cet check passes a probe built with -fcf-protection=branch"
	else
		bad "probe with -fcf-protection=branch does not build: $(head -5 "$tmp/cet-branch.log")"
	fi
fi

# --- the installed programs -------------------------------------------------------------------
prefix="$tmp/prefix"
if ! cmake --install "$BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	bad "cmake --install: $(tail -20 "$tmp/install.log")"
	echo "$fails failed"
	exit 1
fi
for prog in vmm vmmctl vmm-jail; do
	[ -x "$prefix/bin/$prog" ] || bad "cmake --install put no bin/$prog under the prefix"
done
for bin in "$prefix"/bin/*; do
	name=bin/$(basename "$bin")
	for c in "${CHECKS[@]}"; do
		"check_$c" "$bin"
		case $? in
		0) ok "$name: $c" ;;
		1) bad "$name: $c: $why" ;;
		*) cannot "$name: $c: $why" ;;
		esac
	done
done

echo "$fails failed, $unknown could not be checked"
[ "$fails" -eq 0 ] || exit 1
[ "$unknown" -eq 0 ] || skip "cannot check" "$unknown checks could not be made (the \"cannot check\" lines above)"
exit 0
