"""A page read while many idle connections are open (docs/performance.md).

Starts a real `ptag serve` on loopback, ingests a few events, opens IDLE
connections that send nothing (spread over loopback addresses 127.0.1.x,
100 each, so that the per-client cap is not what is measured), then times
READS calls of GET /v1/segment and GET / from 127.0.0.1, each on a new
connection with a 10 s timeout.
Usage: idle_bench.py PTAG [--idle 2000] [--reads 20]"""
import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import AD, IN, Server, event, jsonl, utc  # noqa: E402


def get(port, path, token):
    start = time.time()
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
                  .encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        ok = data.startswith(b"HTTP/1.1 200")
    except OSError:
        ok = False
    finally:
        s.close()
    return ok, time.time() - start


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ptag")
    ap.add_argument("--idle", type=int, default=2000)
    ap.add_argument("--reads", type=int, default=20)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="ptag-idle-")
    with open(os.path.join(work, "rules.ptag"), "w") as f:
        f.write('on join add "New Partner"\n')
    with open(os.path.join(work, "ptag.toml"), "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\n'
                'header_timeout = "120s"\nmax_connections = 10000\n')
    s = Server(a.ptag, work, ["rules.ptag"], os.path.join(work, "state.db"), config="ptag.toml").start()
    T = utc(int(time.time()))
    s.request("POST", "/v1/events", jsonl([event("join", f"p{i}", T, f"e{i}") for i in range(500)]), IN)
    idle = []
    for i in range(a.idle):
        c = socket.socket()
        c.settimeout(5)
        try:
            c.bind((f"127.0.1.{1 + i // 100}", 0))
            c.connect(("127.0.0.1", s.port))
            idle.append(c)
        except OSError:
            c.close()
    time.sleep(0.5)
    times, failed = [], 0
    for i in range(a.reads):
        ok, took = get(s.port, "/v1/segment?per_page=50" if i % 2 == 0 else "/", AD)
        failed += not ok
        times.append(took)
    for c in idle:
        c.close()
    s.stop()
    print(json.dumps({"idle_connections": len(idle), "reads": a.reads, "failed": failed,
                      "median_ms": round(statistics.median(times) * 1000, 1),
                      "max_ms": round(max(times) * 1000, 1)}))


main()
