"""An HTTP client for a VMM's API socket (Firecracker's and this VMM's routes)."""
import http.client
import json
import os
import socket

from .proc import wait_until


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = str(path)

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


class Response:
    def __init__(self, status, body):
        self.status = status
        self.body = body

    def json(self):
        return json.loads(self.body) if self.body.strip() else None

    def __repr__(self):
        return f"{self.status} {self.body[:300]}"


class Api:
    """Requests to the API socket at PATH; every request has a deadline (TIMEOUT s)."""

    def __init__(self, path, timeout=60):
        self.path = str(path)
        self.timeout = timeout

    def request(self, method, route, body=None, timeout=None):
        """Sends METHOD ROUTE with BODY (a dict or list is sent as JSON, a str as it is)."""
        conn = _UnixConnection(self.path, timeout or self.timeout)
        try:
            headers = {}
            if body is not None and not isinstance(body, (str, bytes)):
                body = json.dumps(body)
            if body is not None:
                headers["Content-Type"] = "application/json"
            conn.request(method, route, body=body, headers=headers)
            answer = conn.getresponse()
            return Response(answer.status, answer.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def get(self, route, **kw):
        return self.request("GET", route, **kw)

    def put(self, route, body=None, **kw):
        return self.request("PUT", route, body, **kw)

    def patch(self, route, body=None, **kw):
        return self.request("PATCH", route, body, **kw)

    def delete(self, route, body=None, **kw):
        return self.request("DELETE", route, body, **kw)

    def want(self, status, method, route, body=None, **kw):
        """The request, asserted to answer STATUS (an int or a tuple of them); returns it."""
        answer = self.request(method, route, body, **kw)
        allowed = status if isinstance(status, tuple) else (status,)
        assert answer.status in allowed, f"{method} {route} -> {answer!r} (want {status})"
        return answer

    def connectable(self):
        if not os.path.exists(self.path):
            return False
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(self.path)
            return True
        except OSError:
            return False
        finally:
            sock.close()

    def wait_ready(self, timeout=30, alive=None):
        """Waits until the socket accepts a connection."""
        wait_until(self.connectable, timeout, f"API socket {self.path}", alive=alive)
