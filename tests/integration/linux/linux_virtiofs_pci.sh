#!/usr/bin/env bash
# linux_virtiofs.sh (virtio-fs and virtio-vsock) with the devices on virtio-pci (MSI-X), and on
# top: virtiofsd's calls reach the guest without the VMM, through each queue's MSI-X irqfd
# (docs/vhost-user.md, "How calls reach the guest"): the VMM's stderr (-v -v) says each request
# queue went "straight to the guest (irqfd)", and the count of calls it relayed stays small
# (only what arrives while a vector is masked or not yet set up).
# labels: slow linux vhost_user vsock pci
# requires: kvm root
# timeout: 1200
# resource: linux:1
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VMM="${VMM:-$PWD/vmm}"
seen=$(mktemp)
wrap=$(mktemp)
trap 'rm -f "$seen" "$wrap"' EXIT
# the VMM's stderr, copied here as linux_virtiofs.sh reads it (exec keeps the VMM's pid)
cat >"$wrap" <<WRAP
#!/usr/bin/env bash
exec "$VMM" "\$@" 2> >(tee -a "$seen" >&2)
WRAP
chmod +x "$wrap"
VMM="$wrap" TRANSPORT=pci bash "$here/linux_virtiofs.sh"
status=$?
[ $status -eq 77 ] && exit 77
# the copy (tee) may still be writing the VMM's last lines: the relayed count comes at its exit
for _ in $(seq 100); do
	grep -q 'calls of the back-end relayed' "$seen" && break
	sleep 0.1
done
if grep -qE 'virtio-fs share: queue 1: .*straight to the guest \(irqfd\)' "$seen"; then
	echo "ok: virtiofsd's request queue interrupts the guest through its MSI-X irqfd"
else
	echo "FAIL: no 'queue 1: ... straight to the guest (irqfd)' in the VMM's stderr"
	status=1
fi
relayed=$(grep -oE 'virtio-fs share: [0-9]+ calls of the back-end relayed' "$seen" |
	grep -oE '[0-9]+' | tail -1)
if [ -n "$relayed" ] && [ "$relayed" -lt 20 ]; then
	echo "ok: the VMM relayed $relayed of virtiofsd's calls (the rest went straight to the guest)"
else
	echo "FAIL: the VMM relayed ${relayed:-an unknown number of} calls (want fewer than 20)"
	status=1
fi
exit $status
