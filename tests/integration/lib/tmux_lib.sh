# Drives a program in a real terminal: tmux runs it in a detached session, send-keys types into
# it, capture-pane reads the screen, and pipe-pane keeps everything it printed in a file.
# Source it after linux_lib.sh (uses $tmp and check-style ok/FAIL output).
#
#   term_start CMD...       runs CMD in a new 200x50 session; its output also goes to $tmp/term.log
#                           and its exit status to $tmp/term.status when it ends
#   term_wait REGEX SECS    waits until the output matches REGEX (grep -E); false on timeout
#   term_screen_has REGEX   true when the visible screen matches REGEX
#   term_type TEXT          types TEXT and Enter
#   term_keys KEYS...       sends tmux key names (C-a, x, Enter, ...)
#   term_wait_exit SECS     waits for the program to end; prints its exit status (or "timeout",
#                           or "gone ..." when the terminal itself ended first)
#   term_stop               kills the session (call it from the script's EXIT trap)

TERM_SESSION="vmmtest-$$"
export TERM=xterm

# Each test has a tmux server of its own (a socket in $tmp): on the default socket, tests that
# ran at the same time shared one server, which belonged to whichever test started it first, and
# the harness ends what a finished test leaves running (test-guard): the server went with that
# test, and the other test's VMM with it (SIGHUP), its checks then waiting out their timeouts.
term_tmux() {
	tmux -S "$tmp/tmux.sock" "$@"
}

term_start() {
	printf '%q ' "$@" >"$tmp/term.cmd"
	# The status file appears only once the program has ended.
	printf '\nstatus=$?\necho $status >%q.tmp && mv %q.tmp %q\n' \
		"$tmp/term.status" "$tmp/term.status" "$tmp/term.status" >>"$tmp/term.cmd"
	: >"$tmp/term.log"
	term_tmux new-session -d -s "$TERM_SESSION" -x 200 -y 50 "bash $tmp/term.cmd; sleep 600"
	term_tmux pipe-pane -o -t "$TERM_SESSION" "cat >>$tmp/term.log"
}

term_wait() {
	local i
	for ((i = 0; i < $2; i++)); do
		tr -d '\r' <"$tmp/term.log" | grep -qE -- "$1" && return 0
		[ -e "$tmp/term.status" ] && break
		term_tmux has-session -t "$TERM_SESSION" 2>/dev/null || break
		sleep 1
	done
	tr -d '\r' <"$tmp/term.log" | grep -qE -- "$1"
}

term_screen_has() {
	term_tmux capture-pane -p -t "$TERM_SESSION" | grep -qE -- "$1"
}

term_type() {
	term_tmux send-keys -t "$TERM_SESSION" -l "$1"
	term_tmux send-keys -t "$TERM_SESSION" Enter
}

term_keys() {
	term_tmux send-keys -t "$TERM_SESSION" "$@"
}

term_wait_exit() {
	local i
	for ((i = 0; i < $1; i++)); do
		if [ -e "$tmp/term.status" ]; then
			cat "$tmp/term.status"
			return 0
		fi
		if ! term_tmux has-session -t "$TERM_SESSION" 2>/dev/null; then
			echo "gone (the terminal ended before the program)"
			return 0
		fi
		sleep 1
	done
	echo timeout
}

term_stop() {
	term_tmux kill-server 2>/dev/null || true
}
