# The API socket's HTTP layer against malformed requests (issue 46), on a VMM started with
# --api-sock alone (no VM, so no KVM needed): each case of api_http_malformed.py gets exactly
# one status line and one JSON fault_message within a second, fault messages over 255 bytes
# come whole, and the VMM keeps answering.
# labels: api
# timeout: 60
from api_util import api_vmm, run_lib_script


def test_malformed_requests(vms):
    vm = api_vmm(vms)
    run_lib_script("api_http_malformed.py", vm.sock, timeout=40)
    assert vm.alive(), f"the VMM died:\n{vm.tail()}"
