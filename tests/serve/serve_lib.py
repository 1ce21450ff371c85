"""Starting a real `ptag serve` on a free loopback port, and talking to it
over real sockets (urllib), for the server tests."""
import json
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request

failures = []


def fresh_dir(path):
    """PATH made empty and entered (the test's work folder); its absolute path."""
    path = os.path.abspath(path)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    os.chdir(path)
    return path


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED: " + what, flush=True)
    return condition


def finish():
    if failures:
        print(f"{len(failures)} expectation(s) failed")
        raise SystemExit(1)
    print("all expectations held")


class Server:
    """One `ptag serve` process; its log is kept in WORK/NAME.log."""

    def __init__(self, ptag, work, rules, state, config=None, clock=None, name="serve", extra=()):
        self.args = [ptag, "serve", *rules, "--state", state, "--listen", "127.0.0.1:0"]
        if config:
            self.args += ["--config", config]
        if clock:
            self.args += ["--clock", clock]
        self.args += list(extra)
        self.work = work
        self.name = name
        self.proc = None
        self.port = None
        self.starts = 0

    def start(self, timeout=10):
        self.starts += 1
        self.log_path = os.path.join(self.work, f"{self.name}-{self.starts}.log")
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=self.log, cwd=self.work)
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.log_path) as f:
                m = re.search(r'"msg":"listening","address":"127\.0\.0\.1:(\d+)"', f.read())
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"ptag serve exited {self.proc.returncode}: {self.log_text()}")
            time.sleep(0.02)
        self.kill()
        raise RuntimeError("ptag serve did not start: " + self.log_text())

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM, timeout=20):
        if self.proc is None:
            return None
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self.proc = None
        self.log.close()
        return code

    def kill(self):
        return self.stop(signal.SIGKILL)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def request(self, method, path, body=None, token=None, headers=None, timeout=30):
        """(status, parsed JSON or text, headers)."""
        data = body.encode() if isinstance(body, str) else body
        req = urllib.request.Request(self.url(path), data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                status, raw, hdrs = r.status, r.read(), r.headers
        except urllib.error.HTTPError as e:
            status, raw, hdrs = e.code, e.read(), e.headers
        text = raw.decode()
        try:
            return status, json.loads(text), hdrs
        except ValueError:
            return status, text, hdrs


# The ingest, admin and read tokens of write_config().
IN, AD, RD = "in-secret", "ad-secret", "read-secret"


def write_config(path):
    """A config with one token of each kind, listening on a free loopback port."""
    with open(path, "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\n'
                f'read_tokens = ["{RD}"]\n')


def event(kind, partner, t, eid=None, **data):
    e = {"type": kind, "partner": partner, "time": t}
    if eid:
        e["id"] = eid
    if data:
        e["data"] = data
    return e


def jsonl(events):
    return "".join(json.dumps(e) + "\n" for e in events)


def utc(seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
