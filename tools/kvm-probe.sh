#!/usr/bin/env bash
# Is KVM usable on this host? The shell twin of host/kvm/kvm_probe.c (`vmm --check-kvm`), for
# scripts that run before anything is built (tools/boot.sh) and for the tests' skip decisions.
# Same checks, in the same order, and the same one line:
#   kvm: usable (hardware, kvm_intel)      kvm: usable (emulated, kvm_pvm)      (exit 0)
#   kvm: unusable: REASON; fix: FIX                                              (exit 1)
# The device must exist, be a character device, open read-write, answer KVM_GET_API_VERSION
# with 12 and create a VM (KVM_CREATE_VM). perl (Debian's essential perl-base) makes the two
# ioctls, so the probe needs nothing installed.
#   tools/kvm-probe.sh [PATH]         (default /dev/kvm)
# Environment: KVM_PROBE_SYS, the sysfs root whose module/ is read (default /sys; for tests).
set -u
path=${1:-/dev/kvm}
sys=${KVM_PROBE_SYS:-/sys}

unusable() {
	echo "kvm: unusable: $1; fix: $2"
	exit 1
}

# The fixes, word for word those of host/kvm/kvm_probe.c.
fix_load_vendor="load kvm_intel or kvm_amd (modprobe kvm_intel), enable virtualization (VT-x/AMD-V) in the firmware, or on a VM enable nested virtualization on its host"
fix_wrong_node="point --kvm at the KVM device (character device 10:232, normally /dev/kvm); if /dev/kvm itself is not it, recreate it with mknod /dev/kvm c 10 232"

if [ ! -e "$path" ]; then
	if [ ! -e "$sys/module/kvm" ]; then
		unusable "$path does not exist and no kvm module is loaded" "$fix_load_vendor"
	elif [ -e "$sys/class/misc/kvm" ]; then # registered (misc 10:232), no node: a container, no udev
		unusable "$path does not exist although the kvm module is loaded" \
			"the kvm device is registered but has no node here: create it (mknod $path c 10 232) or, in a container, pass the host's /dev/kvm in"
	fi
	unusable "$path does not exist although the kvm module is loaded" \
		"the kvm module is loaded but no vendor module registered /dev/kvm: $fix_load_vendor"
fi
[ -c "$path" ] || unusable "$path is not a character device" "$fix_wrong_node"

# KVM_GET_API_VERSION = _IO(0xAE, 0x00), KVM_CREATE_VM = _IO(0xAE, 0x01).
answer=$(perl -e '
	open(my $fh, "+<", $ARGV[0]) or do { print "open:$!"; exit };
	my $v = ioctl($fh, 0xAE00, 0);
	defined $v or do { print "api:fail"; exit };
	$v = 0 + $v;
	$v == 12 or do { print "api:$v"; exit };
	defined ioctl($fh, 0xAE01, 0) or do { print "vm:$!"; exit };
	print "ok";
' "$path" 2>&1)

case $answer in
ok) ;;
open:*)
	err=${answer#open:}
	case $err in
	"Permission denied" | "Operation not permitted")
		fix="add the user to group kvm (usermod -aG kvm USER, then log in again) or run as root; in a container, allow the device (c 10:232 rw)"
		;;
	"No such device or address" | "No such device") fix="no driver serves the node: $fix_load_vendor" ;;
	*) fix="check that $path is the KVM device (character device 10:232) and read the kernel log (dmesg) for KVM errors" ;;
	esac
	unusable "cannot open $path: $err" "$fix"
	;;
api:fail)
	unusable "$path is not a KVM device (KVM_GET_API_VERSION failed)" "$fix_wrong_node"
	;;
api:*)
	unusable "KVM API version ${answer#api:}, need 12" \
		"run a Linux kernel with KVM's stable API (version 12, every kernel since 2.6.22)"
	;;
vm:*)
	err=${answer#vm:}
	case $err in
	"Device or resource busy")
		fix="VT-x/AMD-V is held by another hypervisor (VirtualBox, VMware): stop it or unload its module; on a VM enable nested virtualization on its host"
		;;
	"Cannot allocate memory") fix="free host memory and retry" ;;
	*) fix="enable virtualization (VT-x/AMD-V) in the firmware, or on a VM nested virtualization on its host (kvm_intel nested=1 or kvm_amd nested=1); dmesg tells KVM's reason" ;;
	esac
	unusable "KVM_CREATE_VM failed: $err" "$fix"
	;;
*) unusable "cannot probe $path: $answer" "check that perl (perl-base) is installed" ;;
esac

if [ -d "$sys/module/kvm_pvm" ]; then
	echo "kvm: usable (emulated, kvm_pvm)"
elif [ -d "$sys/module/kvm_intel" ]; then
	echo "kvm: usable (hardware, kvm_intel)"
elif [ -d "$sys/module/kvm_amd" ]; then
	echo "kvm: usable (hardware, kvm_amd)"
else
	echo "kvm: usable (unknown module)"
fi
exit 0
