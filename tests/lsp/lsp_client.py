"""A small LSP client over pipes for the tests: frames JSON-RPC messages,
waits with timeouts, and keeps notifications apart from responses."""
import json
import os
import select
import subprocess
import time


class Client:
    def __init__(self, ptag, cwd, args=("--debounce-ms", "30")):
        self.proc = subprocess.Popen([ptag, "lsp", *args], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.buffer = b""
        self.notifications = []
        self.next_id = 0

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message):
        body = json.dumps(message).encode("utf-8")
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def request_async(self, method, params=None):
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.next_id

    def request(self, method, params=None, timeout=10):
        return self.response(self.request_async(method, params), timeout)

    def _read_message(self, deadline):
        while True:
            end = self.buffer.find(b"\r\n\r\n")
            if end >= 0:
                header = self.buffer[:end].decode("ascii")
                length = None
                for line in header.split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                assert length is not None, "a response without Content-Length: %r" % header
                if len(self.buffer) >= end + 4 + length:
                    body = self.buffer[end + 4:end + 4 + length]
                    self.buffer = self.buffer[end + 4 + length:]
                    return json.loads(body.decode("utf-8"))
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                return None
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buffer += chunk

    def response(self, request_id, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            assert message is not None, "no response to request %s" % request_id
            if "method" in message:
                self.notifications.append(message)
                continue
            assert message.get("id") == request_id, "response %r, expected id %s" % (message, request_id)
            return message

    def next_response(self, timeout=10):
        """The next response whatever its id (for requests without a usable id)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self._read_message(deadline)
            assert message is not None, "no response"
            if "method" in message:
                self.notifications.append(message)
                continue
            return message

    def wait_notification(self, method, predicate=lambda m: True, timeout=10):
        deadline = time.monotonic() + timeout
        while True:
            for i, m in enumerate(self.notifications):
                if m["method"] == method and predicate(m):
                    return self.notifications.pop(i)
            message = self._read_message(deadline)
            if message is None:
                return None
            assert "method" in message, "unexpected response %r" % message
            self.notifications.append(message)

    def drain(self, seconds):
        """Collects every notification that arrives within `seconds`."""
        deadline = time.monotonic() + seconds
        while True:
            message = self._read_message(deadline)
            if message is None:
                return
            self.notifications.append(message)

    def initialize(self, root_uri):
        result = self.request("initialize", {
            "processId": os.getpid(), "rootUri": root_uri,
            "capabilities": {"textDocument": {"completion": {"completionItem": {"snippetSupport": True}}}}})
        self.notify("initialized", {})
        return result

    def finish(self, timeout=10):
        """shutdown, exit; returns the exit code."""
        assert self.request("shutdown")["result"] is None
        self.notify("exit")
        return self.wait(timeout)

    def wait(self, timeout=10):
        try:
            return self.proc.wait(timeout)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()

    def stderr(self):
        return self.proc.stderr.read().decode("utf-8", "replace")


def uri(path):
    from urllib.parse import quote
    return "file://" + quote(os.path.abspath(path))
