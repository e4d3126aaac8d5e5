#!/bin/bash
# Second stage of the L1 VM's boot (init.sh switches to the host's root and runs this, as PID 1,
# from the repository over 9p). It finishes the system the tests expect (tmpfs on /tmp and /run,
# devpts, loopback, cgroup2), loads KVM and the modules the tests use, runs the command that
# run.sh wrote into /kvm-in-qemu/cmd with its output on the console, leaves its exit status in
# /kvm-in-qemu/status and powers off.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
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
modprobe() { if command -v kmod >/dev/null; then command modprobe "$@"; else busybox modprobe "$@"; fi; }
if grep -qw svm /proc/cpuinfo; then
	vendor=kvm_amd
elif grep -qw vmx /proc/cpuinfo; then
	vendor=kvm_intel
else
	say "the virtual CPU offers neither svm nor vmx (run.sh --cpu)"
	off
fi
modprobe "$vendor" || say "modprobe $vendor failed (dmesg follows)"
# What the network, vsock and vhost tests open on the host side; absent ones are not fatal.
for m in tun vhost_net vhost_vsock; do modprobe "$m" 2>/dev/null; done
[ -c /dev/kvm ] || dmesg | tail -20 >/dev/console

cmd=/kvm-in-qemu/cmd
# The heartbeat run.sh watches (--silence): touched every 15 s while L1 runs the command.
(while :; do
	date +%s >/kvm-in-qemu/heartbeat
	sleep 15
done) &
if [ -r "$cmd" ]; then
	setsid -c -w bash "$cmd" </dev/ttyS0 >/dev/ttyS0 2>&1
	echo $? >/kvm-in-qemu/status
else
	say "no command in $cmd"
fi
off
