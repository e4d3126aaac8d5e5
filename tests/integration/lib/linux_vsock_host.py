#!/usr/bin/env python3
"""Host side of the default guest's vsock check (guest-images/checks/vsock.sh): listens on the
Unix socket PATH_PORT (argv[1]), reads "hello-from-guest N\\n" and N pattern bytes from the guest's
vsock-echo, answers "OK N bytes intact\\n" (or "BAD ...") and prints what it did. Its C twin,
linux_vsock_host.c, serves the arm64 L1, where no Python runs: keep the two in step."""
import os
import socket
import sys

path = sys.argv[1]
if os.path.exists(path):
    os.unlink(path)
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(path)
ls.listen(1)
print("ready", flush=True)
c, _ = ls.accept()
f = c.makefile("rb")
line = f.readline().decode(errors="replace").strip()
print("line: %s" % line, flush=True)
n = int(line.split()[1]) if line.startswith("hello-from-guest ") else 0
data = f.read(n)
want = bytes(((i * 7 + (i >> 8)) & 0xFF) for i in range(n))
verdict = "OK %d bytes intact" % n if data == want else "BAD %d of %d bytes" % (len(data), n)
c.sendall((verdict + "\n").encode())
print("answer: %s" % verdict, flush=True)
c.close()
