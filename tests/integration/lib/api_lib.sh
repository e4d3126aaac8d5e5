# Talking to a VMM's API socket from a test: source it after lib.sh, with $sock set to the
# socket's path. (The pytest ports use api/api_util.py's want() and framework/api.py instead.)

# api METHOD PATH [BODY] -> prints "STATUS BODY"
api() {
	local out
	out=$(curl -s --max-time 30 --unix-socket "$sock" -X "$1" \
		${3:+-H 'Content-Type: application/json' --data-binary "$3"} -w '\n%{http_code}' \
		"http://localhost$2")
	echo "${out##*$'\n'} ${out%$'\n'*}"
}

# want STATUS METHOD PATH [BODY [REGEX]]: the status (an ERE alternation such as "400|404" is
# allowed), and the answer matches REGEX when one is given.
want() {
	local expect=$1 method=$2 path=$3 body=${4:-} regex=${5:-} got
	got=$(api "$method" "$path" "$body")
	if ! [[ "${got%% *}" =~ ^($expect)$ ]]; then
		lib_fail "$method $path ${body:0:80} -> ${got:0:200} (want $expect)"
	elif [ -n "$regex" ] && ! grep -qE -- "$regex" <<<"$got"; then
		lib_fail "$method $path -> ${got:0:200} (lacks /$regex/)"
	else
		lib_ok "$method $path -> ${got:0:160}"
	fi
}
