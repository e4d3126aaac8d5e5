#!/usr/bin/env bash
# linux_vmgenid.sh through Debian's SeaBIOS (`--firmware bios-256k.bin --kernel bzImage`): the VM
# generation ID placed by the firmware's table loader (etc/vmgenid_guid, the DSDT's ADDR patched,
# the address written back to etc/vmgenid_addr), read by the default guest where the firmware put
# it, and renewed there in each of two clones restored from one snapshot (the guest's crng
# reseeded, the GED's interrupt counted). linux_vmgenid.sh has the checks and says why each.
# labels: slow linux snapshot firmware
# requires: kvm
# timeout: 900
# resource: linux:1
VGEN_FIRMWARE=1 exec bash "$(dirname "${BASH_SOURCE[0]}")/../linux/linux_vmgenid.sh" "$@"
