# MMDS through the API of a VMM whose VM is not started (needs no KVM): PUT, PATCH (RFC 7396
# merge, null removes) and GET /mmds, PATCH before any PUT, the 400 of a body over the
# 51200-byte API limit (Firecracker's answer), and PUT /mmds/config with its refusals (no or unknown interface ids, an
# address outside link-local, a bad version, unknown fields), each a 400 with a fault_message
# (the NIC they name needs a tap, made where root can); and --mmds-size-limit.
# labels: api
# timeout: 60
import os

from api_util import api_vmm, del_tap, make_tap, want

# a document one byte over the default limit: {"k":"vvv..."} of 51201 bytes
BIG = '{"k":"' + "v" * (51201 - 8) + '"}'
FITS_21 = '{"k": "0123456789ab"}'  # 21 bytes
OVER_21 = '{"k": "0123456789abc"}'  # 22 bytes



def test_mmds_and_config(vms):
    api = api_vmm(vms).api
    want(api, 200, "GET", "/mmds", regex=r"\A\{\}\Z")
    want(api, 400, "PATCH", "/mmds", '{"a": 1}', "not initialized")
    want(api, 204, "PUT", "/mmds", '{"latest": {"meta-data": {"ami-id": "ami-1", "gone": "x"}}}')
    want(api, 204, "PATCH", "/mmds",
         '{"latest": {"meta-data": {"ami-id": "ami-2", "gone": null}}, "n": 1}')
    want(api, 200, "GET", "/mmds", regex=r'\A\{"latest":\{"meta-data":\{"ami-id":"ami-2"\}\},"n":1\}\Z')

    assert len(BIG) == 51201
    answer = want(api, 400, "PUT", "/mmds", BIG)
    assert answer.body == ('{"error":"Request payload with size 51201 is larger than the limit '
                           'of 51200 allowed by server.\\nAll previous unanswered requests will '
                           'be dropped."}'), f"PUT /mmds (51201 bytes) -> {answer!r}"
    want(api, 200, "GET", "/mmds", regex='"ami-2"')

    want(api, 400, "PUT", "/mmds/config", '{"network_interfaces": ["eth0"]}', "does not correspond")
    want(api, 400, "PUT", "/mmds/config", '{"network_interfaces": []}', "is empty")
    want(api, 400, "PUT", "/mmds/config", '{"version": "V2"}', "network_interfaces")
    want(api, 400, "PUT", "/mmds/config", '{"network_interfaces": ["eth0"], "bogus": 1}', "bogus")
    # The NIC's tap must exist at PUT (as in Firecracker): made here where root and ip(8) can.
    want(api, 400, "PUT", "/network-interfaces/eth0",
         '{"iface_id": "eth0", "host_dev_name": "tap-mmds-none"}', "no such network interface")
    tap = f"tmmds{os.getpid() % 100000}"
    if make_tap(tap):
        try:
            want(api, 204, "PUT", "/network-interfaces/eth0",
                 {"iface_id": "eth0", "host_dev_name": tap})
            want(api, 400, "PUT", "/mmds/config",
                 '{"network_interfaces": ["eth0"], "ipv4_address": "10.0.0.1"}', "link local")
            want(api, 400, "PUT", "/mmds/config",
                 '{"network_interfaces": ["eth0"], "version": "V3"}', "version")
            want(api, 204, "PUT", "/mmds/config",
                 '{"network_interfaces": ["eth0"], "version": "V2", '
                 '"ipv4_address": "169.254.170.2", "imds_compat": false}')
            want(api, 200, "GET", "/vm/config", regex=(
                r'"mmds-config":\{"version":"V2","network_interfaces":\["eth0"\],'
                r'"ipv4_address":"169.254.170.2","imds_compat":false\}'))
        finally:
            del_tap(tap)
    else:
        print("note: no tap could be made (root and ip(8)): PUT /mmds/config with a NIC left out")
    want(api, 400, "DELETE", "/mmds", regex="Invalid request method")


def test_mmds_size_limit(vms):
    # --mmds-size-limit: Firecracker's flag, here 20 bytes
    api = api_vmm(vms, "--mmds-size-limit", 20).api
    want(api, 204, "PUT", "/mmds", FITS_21)
    want(api, 413, "PUT", "/mmds", OVER_21, "doesn't fit")
    want(api, 200, "GET", "/mmds", regex='"0123456789ab"')


def test_http_api_max_payload_size(vms):
    # --http-api-max-payload-size: Firecracker's flag; the store's limit follows it
    api = api_vmm(vms, "--http-api-max-payload-size", 60000).api
    want(api, 204, "PUT", "/mmds", BIG)
    want(api, 200, "GET", "/mmds", regex='"k":"vvvv')
    api = api_vmm(vms, "--http-api-max-payload-size", 60000, "--mmds-size-limit", 51200).api
    want(api, 413, "PUT", "/mmds", BIG, "doesn't fit")
    api = api_vmm(vms, "--http-api-max-payload-size", 21).api
    want(api, 204, "PUT", "/mmds", FITS_21)
    want(api, 400, "PUT", "/mmds", OVER_21, "size 22 is larger than the limit of 21 allowed")
