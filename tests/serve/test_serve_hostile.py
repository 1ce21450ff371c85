"""`ptag serve` under hostile traffic, over raw loopback sockets: compressed
bombs, slow and idle connections, oversized and ambiguous requests, the
connection caps, partner ids with '/', the admin listener and IPv6.
Every loop is bounded and every socket has a timeout.
Usage: test_serve_hostile.py PTAG WORK"""
import json
import os
import re
import socket
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, RD, Server, check, event, finish, fresh_dir, utc  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])

with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n')


def config(path, extra=""):
    with open(path, "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\n'
                f'read_tokens = ["{RD}"]\n' + extra)


def connect(port, source="127.0.0.1", host="127.0.0.1", timeout=5):
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect((host, port))
    return s


def read_answer(s, limit=10 << 20):
    """(status, headers dict, body) of one answer; status 0 if the connection ended first."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = s.recv(65536)
        if not chunk:
            return 0, {}, data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body[:length]


def raw(port, data, source="127.0.0.1", timeout=5):
    """Sends DATA on a new connection and reads one answer."""
    s = connect(port, source, timeout=timeout)
    try:
        s.sendall(data)
        return read_answer(s)
    except (ConnectionResetError, BrokenPipeError, socket.timeout) as e:
        return 0, {}, str(e).encode()
    finally:
        s.close()


def error_of(body):
    try:
        return json.loads(body).get("error", "")
    except ValueError:
        return body.decode("latin-1")


def peak_rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0


def timed_get(port, path, token=None, source="127.0.0.1", timeout=5):
    start = time.time()
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    st, _, body = raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n".encode(),
                      source, timeout)
    return st, time.time() - start, body


config("ptag.toml", 'max_body_bytes = 300000\nheader_timeout = "2s"\nbody_timeout = "3s"\n'
       'max_connections_per_client = 50\nmax_connections = 3000\n')
s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml").start()
port = s.port
T = utc(int(time.time()))

# -- Compressed bombs: 200 MB of zeros in a ~200 KB gzip body. Never
# inflated past max_body_bytes, on any route; the peak memory stays small.
packer = zlib.compressobj(9, zlib.DEFLATED, 31)
bomb = b"".join(packer.compress(b"\0" * (1 << 24)) for _ in range(12)) + packer.flush()
check(len(bomb) < 300000, f"the bomb fits the raw limit: {len(bomb)} bytes")
before = peak_rss_mb(s.proc.pid)
for path, token in [("/v1/events", IN), ("/v1/reload", AD), ("/v1/nowhere", None), ("/v1/events", None)]:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    start = time.time()
    st, _, body = raw(port, (f"POST {path} HTTP/1.1\r\nHost: x\r\n{auth}Content-Encoding: gzip\r\n"
                             f"Content-Length: {len(bomb)}\r\nConnection: close\r\n\r\n").encode() + bomb)
    took = time.time() - start
    check(st in (200, 401, 404, 413), f"bomb to {path}: {st} {body[:200]}")
    check(took < 3, f"bomb to {path} answered in {took:.2f}s")
    if path == "/v1/events" and token:
        check(st == 413 and "decoded" in error_of(body), f"bomb to {path} is 413 once decoded: {st} {body[:200]}")
after = peak_rss_mb(s.proc.pid)
check(after - before < 64, f"bombs left the peak memory near where it was: {before:.0f} -> {after:.0f} MB")
# A small gzip body is decoded and applied.
small = zlib.compress(json.dumps(event("join", "gz1", T, "gz-1")).encode())
st, _, body = raw(port, (f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {IN}\r\n"
                         f"Content-Encoding: deflate\r\nContent-Length: {len(small)}\r\nConnection: close\r\n\r\n").encode()
                  + small)
check(st == 200 and json.loads(body).get("applied") == 1, f"a deflate body is applied: {st} {body}")
st, _, body = raw(port, (f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {IN}\r\n"
                         f"Content-Encoding: br\r\nContent-Length: 4\r\nConnection: close\r\n\r\nabcd").encode())
check(st == 415 and "br" in error_of(body), f"an unknown Content-Encoding is 415: {st} {body}")

# -- Strict HTTP: each refusal has its own status and message.
ev = json.dumps(event("join", "sx", T, "sx-1"))
head = f"POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {IN}\r\n"
st, _, body = raw(port, (head + f"Content-Length: {len(ev)}\r\nContent-Length: {len(ev) + 1}\r\n\r\n{ev}").encode())
check(st == 400 and "Content-Length" in error_of(body), f"two different lengths: {st} {body}")
st, _, body = raw(port, (head + "Content-Length: +5\r\n\r\nabcde").encode())
check(st == 400, f"Content-Length +5: {st} {body}")
st, _, body = raw(port, (head + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n").encode())
check(st == 400 and "Transfer-Encoding" in error_of(body), f"unknown Transfer-Encoding: {st} {body}")
st, _, body = raw(port, (head + "Connection: close\r\n\r\n").encode())
check(st == 411 and "--data-binary" in error_of(body), f"no length on a body route is 411: {st} {body}")
st, _, body = raw(port, (f"POST /v1/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {AD}\r\n"
                         "Connection: close\r\n\r\n").encode())
check(st == 200, f"POST /v1/reload without a body: {st} {body}")
st, _, body = raw(port, (f"POST /v1/deliveries/msg_7/retry HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {AD}\r\n"
                         "Connection: close\r\n\r\n").encode())
check(st == 404 and "no delivery" in error_of(body), f"retry without a body reaches its route: {st} {body}")
st, _, body = raw(port, f"GET /{'a' * 20000} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
check(st == 414 and "URI" in error_of(body), f"a 20 KB URI is 414, saying so: {st} {body[:100]}")
st, _, body = raw(port, ("GET /healthz HTTP/1.1\r\nHost: x\r\n" + "".join(f"X-H{i}: v\r\n" for i in range(300)) +
                         "\r\n").encode())
check(st == 431, f"300 header fields are 431: {st} {body[:100]}")
st, _, body = raw(port, ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "b" * 20000 + "\r\n\r\n").encode())
check(st == 431 and "headers are larger" in error_of(body), f"a 20 KB header is 431, saying so: {st} {body[:100]}")
st, _, body = raw(port, ("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + "b" * 100000 + "\r\n\r\n").encode())
check(st == 431, f"a 100 KB header is 431 (libmicrohttpd's own answer): {st} {body[:100]}")
st, headers, body = raw(port, b"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check(st == 200 and body == b"", f"HEAD is GET without the body: {st} {body}")
st, _, body = raw(port, b"DELETE /v1/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
check(st == 405, f"a wrong method is 405: {st} {body}")

# -- Partner ids with '/': routes match the raw path, the id is decoded once.
evs = "".join(json.dumps(event("join", p, T, "slash-" + p)) + "\n" for p in ["a/b", "a"])
st, _, body = raw(port, (head + f"Content-Length: {len(evs)}\r\nConnection: close\r\n\r\n{evs}").encode())
check(st == 200 and json.loads(body)["applied"] == 2, f"ids with '/': {st} {body}")
st, _, body = timed_get(port, "/v1/partners/a%2Fb", RD)
check(st == 200 and json.loads(body)["partner"] == "a/b", f"GET a%2Fb: {st} {body}")
st, _, body = timed_get(port, "/v1/partners/a%2Fhistory", RD)
check(st == 404 and "a/history" in error_of(body), f"a%2Fhistory is the partner 'a/history': {st} {body}")
st, _, body = timed_get(port, "/v1/partners/a%2Fb/history", RD)
check(st == 200 and json.loads(body)["partner"] == "a/b", f"a%2Fb/history: {st} {body}")

# -- Slow and idle connections: 40 that send a header line a second, 300
# that send nothing (from other loopback addresses); /healthz answers at
# once meanwhile, and the slow ones are cut at header_timeout.
slow, idle = [], []
for i in range(40):
    c = connect(port, f"127.0.0.{2 + i // 20}")
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
    slow.append(c)
for i in range(300):
    idle.append(connect(port, f"127.0.1.{1 + i // 40}"))
worst = 0
cut_at = None
start = time.time()
for second in range(4):
    for c in slow:
        try:
            c.sendall(f"X-Slow-{second}: 1\r\n".encode())
        except OSError:
            pass
    st, took, _ = timed_get(port, "/healthz")
    check(st == 200, f"/healthz answers while 340 connections are slow or idle: {st}")
    worst = max(worst, took)
    time.sleep(0.9)
check(worst < 1.0, f"/healthz took at most {worst:.3f}s with 340 slow or idle connections")
ended = 0
for c in slow + idle:
    c.settimeout(2)
    try:
        ended += c.recv(100) == b""
    except (ConnectionResetError, socket.timeout):
        ended += 1
    c.close()
check(ended == 340, f"the slow and idle connections were cut by header_timeout: {ended} of 340")
st, _, body = timed_get(port, "/metrics")
check(b'ptag_http_connections_cut_total{reason="header_timeout"}' in body, "the cuts are counted in /metrics")

# A body that stops arriving is cut at body_timeout.
c = connect(port)
c.sendall((head + "Content-Length: 100\r\n\r\n{").encode())
c.settimeout(6)
start = time.time()
try:
    got = c.recv(100)
except (ConnectionResetError, socket.timeout):
    got = b""
check(time.time() - start < 5 and not got.startswith(b"HTTP/1.1 200"), f"a stalled body is cut: {got[:60]}")
c.close()

# -- The per-client cap: 60 connections from one address, 50 kept; another
# address is still served.
held = []
for i in range(60):
    try:
        held.append(connect(port, "127.0.0.9"))
    except OSError:
        break
time.sleep(0.3)
alive = 0
for c in held:  # at once: all within header_timeout
    c.setblocking(False)
    try:
        alive += c.recv(1) != b""
    except BlockingIOError:
        alive += 1
    except OSError:
        pass
check(alive == 50, f"max_connections_per_client keeps 50 of 60: {alive}")
st, took, _ = timed_get(port, "/healthz")
check(st == 200 and took < 1, f"another client is served beside a capped one: {st} {took:.3f}s")
for c in held:
    c.close()

check(s.stop() == 0, "the server stops cleanly after the hostile traffic")

# -- admin_listen: the public address serves ingest, sources and health;
# reads, admin, metrics and the page are on the admin address only.
config("split.toml", 'admin_listen = "127.0.0.1:0"\n')
s = Server(PTAG, WORK, ["rules.ptag"], "split.db", config="split.toml", name="split").start()
admin_port = int(re.search(r'"admin_address":"127\.0\.0\.1:(\d+)"', s.log_text()).group(1))
st, _, body = raw(s.port, (head + f"Content-Length: {len(ev)}\r\nConnection: close\r\n\r\n{ev}").encode())
check(st == 200, f"ingest on the public address: {st} {body}")
st, _, body = timed_get(s.port, "/v1/partners/sx", RD)
check(st == 404 and "admin_listen" in error_of(body), f"reads are not on the public address: {st} {body}")
check(timed_get(s.port, "/metrics")[0] == 404, "metrics are not on the public address")
check(timed_get(s.port, "/")[0] == 404, "the page is not on the public address")
check(timed_get(s.port, "/healthz")[0] == 200, "health on the public address")
st, _, body = timed_get(admin_port, "/v1/partners/sx", RD)
check(st == 200, f"reads on the admin address: {st} {body}")
check(timed_get(admin_port, "/")[0] == 200, "the page on the admin address")
check(s.stop() == 0, "the split server stops cleanly")

# -- The store file deleted under a running server: no event is acknowledged
# after it, /readyz fails, the log says why.
s = Server(PTAG, WORK, ["rules.ptag"], "gone.db", config="ptag.toml", name="gone").start()
st, _, body = raw(s.port, (head + f"Content-Length: {len(ev)}\r\nConnection: close\r\n\r\n{ev}").encode())
check(st == 200, f"ingest before the store is deleted: {st} {body}")
# Another reader of the file (a sqlite3 shell, as docs/store.md invites)
# leaves the server's reads working.
shell = subprocess.run(["sqlite3", "gone.db", "SELECT count(*) FROM partners;"], capture_output=True, text=True,
                       timeout=10)
check(shell.returncode == 0 and shell.stdout.strip() == "1", f"sqlite3 reads the live store: {shell}")
st, _, body = timed_get(s.port, "/v1/partners/sx/history", AD)
check(st == 200 and json.loads(body)["records"], f"history reads after a sqlite3 shell came and went: {st} {body}")
check(os.path.exists("gone.db-wal") and os.path.exists("gone.db-shm"), "the shell left the WAL and its index")
os.remove("gone.db")
st, _, body = timed_get(s.port, "/readyz")
check(st == 503 and "cannot be read" in error_of(body), f"/readyz fails at once when the store is gone: {st} {body}")
ev2 = json.dumps(event("join", "after-delete", T, "gone-2"))
st, _, body = raw(s.port, (head + f"Content-Length: {len(ev2)}\r\nConnection: close\r\n\r\n{ev2}").encode())
check(st == 503 and "deleted" in error_of(body), f"ingest after the store is deleted is 503: {st} {body}")
check(timed_get(s.port, "/readyz")[0] == 503, "/readyz fails once the store is gone")
check("was deleted while it was in use" in s.log_text(), "the log says the store was deleted")
st, _, body = timed_get(s.port, "/v1/partners/sx", AD)
check(st == 503 and "never committed" in error_of(body), f"the engine's reads stop once the store failed: {st} {body}")
s.stop()

# An immutable store (chattr +i, where the file system has it): 503 and a
# clean stop, not SIGBUS from the WAL index that cannot grow.
s = Server(PTAG, WORK, ["rules.ptag"], "frozen.db", config="ptag.toml", name="frozen").start()
st, _, body = raw(s.port, (head + f"Content-Length: {len(ev)}\r\nConnection: close\r\n\r\n{ev}").encode())
frozen = [f for f in ("frozen.db", "frozen.db-wal", "frozen.db-shm") if os.path.exists(f)]
if subprocess.run(["chattr", "+i", *frozen], capture_output=True).returncode == 0:
    big = "".join(json.dumps(event("join", f"fz{i}", T, f"fz{i}")) + "\n" for i in range(3000))
    st, _, body = raw(s.port, (head + f"Content-Length: {len(big)}\r\nConnection: close\r\n\r\n{big}").encode())
    check(st == 503 and "cannot be written" in error_of(body), f"an immutable store is a 503: {st} {body[:200]}")
    check(s.proc.poll() is None, "the server is still running")
    subprocess.run(["chattr", "-i", *frozen], capture_output=True)
    check(s.stop() == 1, "it stops with status 1 (the store failed)")
else:
    print("chattr +i is not supported here: the immutable-store check is skipped")
    s.stop()

# -- IPv6: --listen '[::1]:0', where the machine has ::1.
try:
    probe = socket.socket(socket.AF_INET6)
    probe.bind(("::1", 0))
    probe.close()
    has_v6 = True
except OSError:
    has_v6 = False
if has_v6:
    s = Server(PTAG, WORK, ["rules.ptag"], "v6.db", config="ptag.toml", name="v6")
    s.args[s.args.index("127.0.0.1:0")] = "[::1]:0"
    s.log_path = os.path.join(WORK, "v6.log")
    s.log = open(s.log_path, "w")
    s.proc = subprocess.Popen(s.args, stdout=subprocess.DEVNULL, stderr=s.log, cwd=WORK)
    v6port = None
    for _ in range(200):
        m = re.search(r'"address":"\[::1\]:(\d+)"', s.log_text())
        if m:
            v6port = int(m.group(1))
            break
        time.sleep(0.05)
    check(v6port is not None, f"--listen [::1]:0 listens: {s.log_text()[-300:]}")
    if v6port:
        c = connect(v6port, source=None, host="::1")
        c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        check(read_answer(c)[0] == 200, "/healthz over IPv6")
        c.close()
    check(s.stop() == 0, "the IPv6 server stops cleanly")

finish()
