#!/usr/bin/env bash
# The README's test command: installs what is missing, builds the VMM, the test guests and the
# default Linux guest, then runs every test (unit, integration, slow Linux boots) under CTest.
#   tools/test.sh [CTEST-ARGS...]      e.g. tools/test.sh -L unit
# Environment: BUILD_DIR (default build), VMM_GUEST_CACHE (kernel cache, see guest-images/).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
# The default Linux guest (cached outside the tree: seconds when nothing changed).
guest-images/build.sh >/dev/null
cd "$BUILD_DIR"
ctest --output-on-failure -j"$(nproc)" "$@"
