#!/usr/bin/env bash
# How CTest runs an integration script: first the host needs of its "# requires: WHAT..." line
# (require.sh: a missing one skips the test with exit 77 within seconds, before the script
# builds or boots anything), then the script itself. The output of a test labelled "slow" gets
# the seconds since its start in front of each line ("[  42s] ok: ..."), so that a CI log shows
# where its minutes went.
#   run_test.sh SCRIPT [ARGS...]
set -u
script=$1
shift
. "$(dirname "${BASH_SOURCE[0]}")/require.sh"
# Debian's python3 before any shim (tests/CMakeLists.txt makes the link)
[ ! -d "${BUILD_DIR:-}/test-bin" ] || export PATH="$BUILD_DIR/test-bin:$PATH"
needs=$(sed -n 's/^# requires: //p' "$script" | head -n 1)
# shellcheck disable=SC2086 # one word per need
[ -z "$needs" ] || require $needs
grep -q '^# labels: .*\bslow\b' "$script" || exec bash "$script" "$@"
start=$SECONDS
bash "$script" "$@" 2>&1 | while IFS= read -r line || [ -n "$line" ]; do
	printf '[%4ds] %s\n' $((SECONDS - start)) "$line"
done
exit "${PIPESTATUS[0]}"
