#!/usr/bin/env bash
# The layers are enforced by the build: configuring a copy of the tree in which a lower layer
# includes a header of a higher one, or any layer includes a test-only *_test.h, must fail with a
# message naming the file and the include, and the tree as it is must configure.
# (cmake/layers.cmake does the check.)
# labels: lint
# timeout: 120
set -uo pipefail
SOURCE_DIR="${SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

# copy of the tracked sources (no build trees, no fuzz corpora)
(cd "$SOURCE_DIR" && git ls-files -- CMakeLists.txt cmake base host vmm devices firmware loaders virtio \
	tests tools | grep -v -e /corpus/ -e /regressions/ | tar -cf - -T -) | tar -xf - -C "$tmp"
mkdir -p "$tmp/src" && (cd "$tmp" && mv CMakeLists.txt cmake base host vmm devices firmware loaders \
	virtio tests tools src/)

configure() { cmake -S "$tmp/src" -B "$tmp/build-$1" >"$tmp/$1.log" 2>&1; }

if configure clean; then
	echo "ok: the tree configures"
else
	echo "FAIL: the tree as it is does not configure:"
	cat "$tmp/clean.log"
	fail=1
fi

# base (the bottom layer) reaching up into the virtio device framework
sed -i '0,/^#include "base\/log.h"/s//#include "base\/log.h"\n#include "virtio\/core\/device.h"/' \
	"$tmp/src/base/log.c"
grep -q 'virtio/core/device.h' "$tmp/src/base/log.c" || { echo "FAIL: could not plant the include"; exit 1; }
if configure upward; then
	echo "FAIL: an upward include (base -> virtio/core) configured"
	fail=1
elif grep -q 'layer vmm_base: base/log.c includes "virtio/core/device.h"' "$tmp/upward.log"; then
	echo "ok: an upward include is refused: $(grep -m1 'layer vmm_base' "$tmp/upward.log")"
else
	echo "FAIL: configuration failed without naming the include:"
	cat "$tmp/upward.log"
	fail=1
fi

# a device reaching sideways into another device is refused too
cp "$SOURCE_DIR/base/log.c" "$tmp/src/base/log.c"
sed -i '0,/^#include "virtio\/core\/serve.h"/s//#include "virtio\/core\/serve.h"\n#include "virtio\/blk\/blk.h"/' \
	"$tmp/src/virtio/rng/rng.c"
if configure sideways; then
	echo "FAIL: virtio/rng including virtio/blk configured"
	fail=1
else
	echo "ok: a sideways include is refused: $(grep -m1 'layer virtio_rng' "$tmp/sideways.log")"
fi

# production code including a module's test-only header (vmm/vm/vm_pause_test.h) is refused
cp "$SOURCE_DIR/virtio/rng/rng.c" "$tmp/src/virtio/rng/rng.c"
sed -i '0,/^#include "vmm\/vm\/vm_pause.h"/s//&\n#include "vmm\/vm\/vm_pause_test.h"/' \
	"$tmp/src/vmm/vm/vm_pause.c"
grep -q 'vm_pause_test.h' "$tmp/src/vmm/vm/vm_pause.c" || { echo "FAIL: could not plant the test include"; exit 1; }
if configure testonly; then
	echo "FAIL: vmm/vm/vm_pause.c including vmm/vm/vm_pause_test.h configured"
	fail=1
elif tr -s '\n ' ' ' <"$tmp/testonly.log" |
	grep -q 'vmm/vm/vm_pause.c includes "vmm/vm/vm_pause_test.h"'; then
	echo "ok: a test-only header is refused: $(grep -m1 'layer vmm_machine' "$tmp/testonly.log")"
else
	echo "FAIL: configuration failed without naming the test-only include:"
	cat "$tmp/testonly.log"
	fail=1
fi
[ "$fail" -eq 0 ] && echo "PASS" || echo "FAIL"
exit "$fail"
