#!/usr/bin/env bash
# Installing and packaging (cmake/packaging.cmake): `cmake --install` puts the binaries, their
# man pages (help2man) and the README under the prefix, the man pages render, the installed vmm
# runs; `cpack -G DEB` (into a temporary directory, the build tree stays clean) makes a .deb
# holding them whose Depends (from dpkg-shlibdeps) names libc6.
# labels: packaging
# requires: help2man dpkg-deb
# timeout: 300
set -u
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
BUILD_DIR="${BUILD_DIR:-$PWD}"
tmp=$(mktemp -d /tmp/vmm-packaging.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0
ok() { echo "ok: $*"; }
bad() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
files=(bin/vmm bin/vmmctl bin/vmm-uffd-handler share/man/man1/vmm.1 share/man/man1/vmmctl.1
	share/doc/vmm/README.md share/doc/vmm/docs/architecture.md)

# --- cmake --install --------------------------------------------------------------------------
prefix="$tmp/prefix"
if cmake --install "$BUILD_DIR" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
	ok "cmake --install --prefix $prefix"
else
	bad "cmake --install: $(tail -20 "$tmp/install.log")"
fi
for f in "${files[@]}"; do
	[ -s "$prefix/$f" ] && ok "installed $f" || bad "no $f under the prefix"
done
for prog in vmm vmmctl; do
	page="$prefix/share/man/man1/$prog.1"
	if command -v man >/dev/null; then
		out=$(MANWIDTH=80 man -l "$page" 2>"$tmp/man.err")
	else
		out=$(groff -man -Tutf8 "$page" 2>"$tmp/man.err")
	fi
	if grep -q "^NAME" <<<"$out" && grep -qE "^ +$prog - " <<<"$out" &&
		grep -qE -- "--help" <<<"$out" && [ ! -s "$tmp/man.err" ]; then
		ok "$prog.1 renders (NAME, synopsis, options)"
	else
		bad "$prog.1 does not render cleanly: $(cat "$tmp/man.err"); $(head -20 <<<"$out")"
	fi
done
MANWIDTH=80 man -l "$prefix/share/man/man1/vmmctl.1" 2>/dev/null | grep -q "put-drive ID PATH" &&
	ok "vmmctl.1 lists the commands" ||
	bad "vmmctl.1 lacks the command list"
if "$prefix/bin/vmm" --help >"$tmp/help.out" 2>&1 && grep -q '^Usage: vmm' "$tmp/help.out"; then
	ok "installed vmm --help exits 0"
else
	bad "installed vmm --help: $(head -5 "$tmp/help.out")"
fi
out=$("$prefix/bin/vmmctl" --version)
[ "$out" = "vmmctl 0.1.0" ] && ok "installed vmmctl --version: $out" || bad "vmmctl --version: $out"

# --- cpack -G DEB -----------------------------------------------------------------------------
if ! command -v dpkg-deb >/dev/null || ! command -v dpkg-shlibdeps >/dev/null; then
	bad "dpkg-deb or dpkg-shlibdeps missing (tools/setup.sh installs dpkg-dev)"
else
	if (cd "$tmp" && cpack -G DEB --config "$BUILD_DIR/CPackConfig.cmake" -B "$tmp/pkg") \
		>"$tmp/cpack.log" 2>&1; then
		ok "cpack -G DEB"
	else
		bad "cpack: $(tail -20 "$tmp/cpack.log")"
	fi
	deb=$(ls "$tmp"/pkg/vmm_0.1.0_*.deb 2>/dev/null | head -1)
	if [ -n "$deb" ]; then
		ok "built $(basename "$deb")"
		dpkg-deb -c "$deb" >"$tmp/contents"
		for f in "${files[@]}"; do
			grep -qE " \./usr/$f\$" "$tmp/contents" && ok ".deb has /usr/$f" ||
				bad ".deb lacks /usr/$f"
		done
		depends=$(dpkg-deb -f "$deb" Depends)
		grep -qE '(^|, )libc6( |,|$)' <<<"$depends" && ok "Depends: $depends" ||
			bad "Depends does not name libc6: '$depends'"
		for field in Maintainer Description Section; do
			[ -n "$(dpkg-deb -f "$deb" "$field")" ] && ok "has $field" || bad "no $field"
		done
		[ "$(dpkg-deb -f "$deb" Package)" = vmm ] && ok "Package: vmm" || bad "Package is not vmm"
	else
		bad "no vmm_0.1.0_*.deb in $tmp/pkg: $(ls "$tmp/pkg" 2>&1)"
	fi
	[ ! -e "$BUILD_DIR/_CPack_Packages" ] && [ -z "$(ls "$BUILD_DIR"/*.deb 2>/dev/null)" ] &&
		ok "build tree left clean" || bad "cpack wrote into the build tree"
fi

echo "$fails failed"
[ "$fails" -eq 0 ]
