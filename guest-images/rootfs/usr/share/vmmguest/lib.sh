# Shared by /init and the checks in /usr/share/vmmguest/checks (busybox sh).

# cmdline_value KEY: the value of KEY=VALUE on the kernel command line (empty if absent).
# Unknown dotted parameters (vmmguest.*) stay in /proc/cmdline for user space.
cmdline_value() {
	# shellcheck disable=SC2013 # the command line is one line of words
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		"$1"=*) echo "${arg#*=}" ;;
		esac
	done
}

# md5_of FILE: the file's MD5 in hex.
md5_of() {
	md5sum <"$1" | cut -d' ' -f1
}
