#!/bin/bash
# Second stage of the L1 VM's boot (init.sh switches to the host's root and runs this, as PID 1,
# from the repository over 9p). It finishes the system the tests expect (tmpfs on /tmp and /run,
# devpts, loopback, cgroup2), loads KVM and the modules the tests use, runs the command that
# run.sh wrote into /kvm-in-qemu/cmd with its output on the console, leaves its exit status in
# /kvm-in-qemu/status and powers off.
# Runs under bash (the host's, in an L1 of the host's architecture) or L1's own busybox sh (an
# L1 of another architecture, kiq.l1bin=DIR on the command line: the host's programs cannot run
# there, so DIR, busybox's applets, comes first in PATH): POSIX sh and busybox's options only.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
l1bin=
tty=ttyS0
# shellcheck disable=SC2013 # words of a one-line file
for w in $(cat /proc/cmdline); do
	case $w in
	kiq.l1bin=*) l1bin=${w#kiq.l1bin=} && PATH=$l1bin:$PATH ;;
	console=*) tty=${w#console=} ;;
	esac
done
say() { echo "kvm-in-qemu: $*" >/dev/console; }
off() {
	sync
	echo o >/proc/sysrq-trigger
	sleep 10
}

mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
ln -sf /proc/self/fd /dev/fd
hostname kvm-in-qemu
ip link set lo up

# busybox's modprobe reads the modules.dep run.sh made with busybox's depmod; a host without
# kmod has no modprobe of its own.
modprobe() {
	if [ -z "$l1bin" ] && command -v kmod >/dev/null; then
		command modprobe "$@"
	else
		busybox modprobe "$@"
	fi
}
if [ "$(uname -m)" = aarch64 ]; then
	# Debian's arm64 kernel has KVM built in (CONFIG_KVM=y): it initialised at boot when the
	# kernel started at EL2 (QEMU's virt,virtualization=on); nothing to load.
	:
elif grep -qw svm /proc/cpuinfo; then
	modprobe kvm_amd || say "modprobe kvm_amd failed (dmesg follows)"
elif grep -qw vmx /proc/cpuinfo; then
	modprobe kvm_intel || say "modprobe kvm_intel failed (dmesg follows)"
else
	say "the virtual CPU offers neither svm nor vmx (run.sh --cpu)"
	off
fi
# What the network, vsock and vhost tests open on the host side; absent ones are not fatal.
for m in tun vhost_net vhost_vsock; do modprobe "$m" 2>/dev/null; done
[ -c /dev/kvm ] || dmesg | tail -20 >/dev/console

cmd=/kvm-in-qemu/cmd
# The heartbeat run.sh watches (--silence): touched every 15 s while L1 runs the command.
(while :; do
	date +%s >/kvm-in-qemu/heartbeat
	sleep 15
done) &
if [ -r "$cmd" ] && [ -n "$l1bin" ]; then
	# busybox's setsid has no -w: it does not fork here (its caller is no group leader), so the
	# shell waits for the command itself.
	setsid -c sh "$cmd" <"/dev/$tty" >"/dev/$tty" 2>&1
	echo $? >/kvm-in-qemu/status
elif [ -r "$cmd" ]; then
	setsid -c -w bash "$cmd" <"/dev/$tty" >"/dev/$tty" 2>&1
	echo $? >/kvm-in-qemu/status
else
	say "no command in $cmd"
fi
off
