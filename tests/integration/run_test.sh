#!/usr/bin/env bash
# How CTest runs an integration script: first the host needs of its "# requires: WHAT..." line
# (require.sh: a missing one skips the test with exit 77 within seconds, before the script
# builds or boots anything), then the script itself.
#   run_test.sh SCRIPT [ARGS...]
set -u
script=$1
shift
. "$(dirname "${BASH_SOURCE[0]}")/require.sh"
needs=$(sed -n 's/^# requires: //p' "$script" | head -n 1)
# shellcheck disable=SC2086 # one word per need
[ -z "$needs" ] || require $needs
exec bash "$script" "$@"
