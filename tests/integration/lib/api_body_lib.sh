# Talking to a VMM's API socket with the answer's body kept in a file: source it after lib.sh,
# with $sock (or $SOCK) set to the socket's path. For the scripts that read the body afterwards
# (api_hotplug_routes.sh, api_hotplug_boot.sh); api_lib.sh prints status and body instead.

# api METHOD PATH [BODY] -> the status; the body in $LIB_TMP/body
api() {
	curl -s --max-time 30 --unix-socket "${SOCK:-$sock}" -X "$1" ${3:+-d "$3"} \
		-o "$LIB_TMP/body" -w '%{http_code}' "http://localhost$2"
}

# want STATUS METHOD PATH [BODY] [REGEX]: the status, and the body matching REGEX
want() {
	local got
	got=$(api "$2" "$3" "${4:-}")
	if [ "$got" = "$1" ] && { [ -z "${5:-}" ] || grep -qE -- "$5" "$LIB_TMP/body"; }; then
		lib_ok "$2 $3 -> $got $(head -c 160 "$LIB_TMP/body")"
	else
		lib_fail "$2 $3 ${4:-} -> $got (want $1${5:+ matching $5}): $(cat "$LIB_TMP/body")"
	fi
}
