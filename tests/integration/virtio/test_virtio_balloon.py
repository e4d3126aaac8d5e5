# virtio-balloon over virtio-mmio (tests/guests/virtio_balloon.c), the VMM's RSS measured from the
# host (/proc/PID/status VmRSS) at each step:
#   1. a 512 MiB guest touches 384 MiB; PATCH /balloon {"amount_mib": 256}: the guest inflates
#      256 MiB, `actual` follows (GET /balloon), and the RSS must drop by at least 200 MiB;
#   2. PATCH 0: the guest deflates and touches the pages again: the RSS comes back;
#   3. free page reporting: the guest touches 64 MiB more and reports it free: the RSS must drop
#      by at least 48 MiB; GET /balloon/statistics has the guest's statistics;
#   4. --balloon size=64 without the API: the guest inflates 64 MiB at once;
#   5. bad API input (PATCH above RAM, unknown fields, statistics not enabled);
#   6. a snapshot taken while the device holds the statistics buffer, restored by a new VMM:
#      target, actual and statistics survive, and the guest goes on following the target;
#   7. the guest of 1-3 on QEMU (virtio-balloon-device / -pci), the target set over QMP.
# test_virtio_balloon_pci.py: the same over modern virtio-pci (QEMU: q35, virtio-balloon-pci).
# labels: guests virtio
# requires: kvm
# timeout: 300
import pytest

from virtio_balloon_checks import (test_api_inflate_deflate_report, test_qemu,  # noqa: F401
                                   test_size_without_api, test_snapshot_with_statistics,
                                   test_statistics_off)


@pytest.fixture
def transport():
    return "mmio"
