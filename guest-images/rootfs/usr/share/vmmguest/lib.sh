# Shared by /init and the checks in /usr/share/vmmguest/checks (busybox sh).

# cmdline_value KEY: the value of KEY=VALUE on the kernel command line (the last one; empty if
# absent), printed (cmdline_get below sets a variable instead, without the subshell).
# Unknown dotted parameters (vmmguest.*) stay in /proc/cmdline for user space.
# Builtins only: on kvm_pvm a freshly executed busybox now and then dies at its start (a segfault
# in __ctype_init, seen in CI), and every step of /init depends on this one.
cmdline_value() {
	cmdline_get _cmdline_value "$1"
	echo "$_cmdline_value"
}

# cmdline_line: the kernel command line in $_cmdline, read once.
cmdline_line() {
	[ -n "${_cmdline+set}" ] || read -r _cmdline </proc/cmdline
}

# cmdline_get VAR KEY: VAR set to the value of KEY=VALUE on the kernel command line (the last
# one; empty if absent), in this shell. For /init, which asks five times before the shell starts:
# `$(cmdline_value ...)` forks, which costs about a second where guest kernel code is emulated
# (kvm_pvm), and `read` takes a file a byte per system call, so the line is read once.
cmdline_get() {
	cmdline_line
	eval "$1="
	for arg in $_cmdline; do
		case "$arg" in
		"$2"=*) eval "$1=\${arg#*=}" ;;
		esac
	done
}

# md5_of FILE: the file's MD5 in hex. No pipeline of programs here or in the checks: on kvm_pvm
# busybox programs started together compute with wrong memory now and then (docs/testing.md,
# "Known issue"); one after the other they do not.
md5_of() {
	md5sum "$1" >/tmp/.md5_of
	read -r sum _ </tmp/.md5_of
	echo "$sum"
}
