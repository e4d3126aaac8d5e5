# Shared by /init and the checks in /usr/share/vmmguest/checks (busybox sh).

# cmdline_value KEY: the value of KEY=VALUE on the kernel command line (empty if absent).
# Unknown dotted parameters (vmmguest.*) stay in /proc/cmdline for user space.
# Builtins only: on kvm_pvm a freshly executed busybox now and then dies at its start (a segfault
# in __ctype_init, seen in CI), and every step of /init depends on this one.
cmdline_value() {
	read -r _cmdline </proc/cmdline
	for arg in $_cmdline; do
		case "$arg" in
		"$1"=*) echo "${arg#*=}" ;;
		esac
	done
}

# md5_of FILE: the file's MD5 in hex.
md5_of() {
	md5sum <"$1" | cut -d' ' -f1
}
