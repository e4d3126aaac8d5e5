#!/bin/sh
# /bench-init of the Debian benchmark root file system (guest-images/rootfs.sh): no systemd, it
# runs the benchmark jobs named on the kernel command line, prints each result between marker
# lines on the console, then ends the VM. Boot with
#   root=/dev/vda ro rootfstype=ext4 init=/bench-init vmmbench.jobs=JOB[,JOB...]
# Jobs (Firecracker's, see /work/shared/notes/benchmarks.md):
#   randread, randwrite  fio 4 KiB random I/O, libaio, iodepth 32, direct=1, one job per vCPU,
#                        on the data disk (the first virtio disk that is not the root)
#   iperf3, iperf3-R     iperf3 client, 128 KiB writes, guest->host and host->guest (-R)
# Parameters: vmmbench.runtime=S (30) vmmbench.ramp=S (10, fio) vmmbench.omit=S (5, iperf3)
#   vmmbench.disk=/dev/vdX (data disk) vmmbench.ip=ADDR/LEN vmmbench.server=ADDR (iperf3)
#   vmmbench.end=debugexit (default: write 0 to port 0xf4, exit status 1) | halt
# Output: "VMM-BENCH-BEGIN NAME", the tool's JSON, "VMM-BENCH-END NAME" (NAME fio-randread,
# fio-randwrite, iperf3, iperf3-R), then "VMM-BENCH-DONE".

export PATH=/usr/sbin:/usr/bin:/sbin:/bin

mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys
mountpoint -q /dev || mount -t devtmpfs devtmpfs /dev
# The root is read-only; the tools' stderr goes here (ramfs when the kernel has no shmem).
mount -t tmpfs tmpfs /tmp 2>/dev/null || mount -t ramfs ramfs /tmp
# Kernel messages on the console would land inside the JSON output: errors only.
echo 3 >/proc/sys/kernel/printk

param() {
	# shellcheck disable=SC2013 # the command line is one line of words
	for arg in $(cat /proc/cmdline); do
		case "$arg" in
		"$1"=*) echo "${arg#*=}" ;;
		esac
	done
}

jobs=$(param vmmbench.jobs)
runtime=$(param vmmbench.runtime)
ramp=$(param vmmbench.ramp)
omit=$(param vmmbench.omit)
disk=$(param vmmbench.disk)
addr=$(param vmmbench.ip)
server=$(param vmmbench.server)
end=$(param vmmbench.end)
: "${runtime:=30}" "${ramp:=10}" "${omit:=5}" "${end:=debugexit}"

echo "VMM-BENCH-INIT: jobs=$jobs cpus=$(nproc) kernel=$(uname -r)"

# The data disk: the first virtio disk whose device number is not the root's.
if [ -z "$disk" ]; then
	root_dev=$(awk '$5 == "/" { print $3; exit }' /proc/self/mountinfo)
	for b in /sys/block/vd*; do
		[ -e "$b/dev" ] || continue
		if [ "$(cat "$b/dev")" != "$root_dev" ]; then
			disk=/dev/${b##*/}
			break
		fi
	done
fi

# $1 = name; the rest = the command, whose stdout (JSON) goes between the markers.
run_job() {
	name=$1
	shift
	echo "VMM-BENCH-BEGIN $name"
	"$@" 2>/tmp/stderr
	status=$?
	echo "VMM-BENCH-END $name"
	[ "$status" = 0 ] || echo "VMM-BENCH-FAILED $name status=$status"
	sed "s/^/VMM-BENCH-STDERR $name: /" /tmp/stderr
}

fio_job() {
	if [ -z "$disk" ] || [ ! -b "$disk" ]; then
		echo "VMM-BENCH-FAILED fio-$1: no data disk"
		return
	fi
	# Firecracker's guest setting: no I/O scheduler.
	echo none >"/sys/block/${disk#/dev/}/queue/scheduler" 2>/dev/null
	run_job "fio-$1" fio --name="$1" --filename="$disk" --rw="$1" --bs=4k --iodepth=32 \
		--ioengine=libaio --direct=1 --numjobs="$(nproc)" --group_reporting --thread \
		--time_based --ramp_time="$ramp" --runtime="$runtime" --randrepeat=0 \
		--norandommap --output-format=json
}

net_up() {
	[ -n "$net_done" ] && return
	net_done=1
	ip link set lo up
	ip link set eth0 up
	[ -n "$addr" ] && ip addr add "$addr" dev eth0
	ip -4 -o addr show dev eth0 | sed 's/^/VMM-BENCH-NET: /'
}

iperf_job() {
	net_up
	if [ -z "$server" ]; then
		echo "VMM-BENCH-FAILED $1: no vmmbench.server"
		return
	fi
	shift_r=""
	[ "$1" = iperf3-R ] && shift_r=-R
	run_job "$1" iperf3 -c "$server" -t "$runtime" -O "$omit" -l 128K -J $shift_r
}

for job in $(echo "$jobs" | tr ',' ' '); do
	case "$job" in
	randread | randwrite) fio_job "$job" ;;
	iperf3 | iperf3-R) iperf_job "$job" ;;
	*) echo "VMM-BENCH-FAILED $job: unknown job" ;;
	esac
done
echo "VMM-BENCH-DONE"

if [ "$end" = debugexit ]; then
	# Byte 0 to I/O port 0xf4 (244): QEMU isa-debug-exit / the VMM's --debug-exit, status 1.
	printf '\000' | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
fi
# Nothing else ends a VM without ACPI: wait to be stopped (init must not exit).
while :; do sleep 3600; done
