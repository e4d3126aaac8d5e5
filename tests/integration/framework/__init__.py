"""The one harness every integration test goes through (docs/testing.md).

paths   where the tree, the build, the VMM, QEMU and the test guests are
host    what this host can do (KVM kind, root, tools) and how a test says it is skipped
proc    a child process with its output in files, waits with deadlines, guaranteed end
api     an HTTP client for a VMM's API socket
vm      a VMM run: start from a command line, a config file or the API; console and API
guests  the test guests (tests/guests) on our VMM and on QEMU, and their checks
linux   the default Linux guest: images, a shell to type at, the shared booted snapshot
net     a network namespace with a tap
"""
