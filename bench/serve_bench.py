#!/usr/bin/env python3
"""ptag serve under load (docs/performance.md, "ptag serve"): CLIENTS clients
post batches of BATCH events (JSONL, keep-alive connections) to a real
server on loopback, --clock event, the three example rule files; prints the
sustained events/s (first request to last answer) and the request latency.

    python3 bench/serve_bench.py build/cli/ptag build/bench/ptag-gen [--events 200000] [--clients 8] [--batch 1000]
"""
import argparse
import http.client
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import Server  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("ptag")
ap.add_argument("gen")
ap.add_argument("--events", type=int, default=200000)
ap.add_argument("--partners", type=int, default=5000)
ap.add_argument("--clients", type=int, default=8)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--config", default="", help="more config lines (TOML)")
args = ap.parse_args()

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
work = tempfile.mkdtemp(prefix="ptag-serve-bench-")
try:
    with open(os.path.join(work, "events.jsonl"), "w") as f:
        subprocess.run([args.gen, "events", "--partners", str(args.partners), "--events", str(args.events),
                        "--seed", "3"], stdout=f, check=True)
    with open(os.path.join(work, "ptag.toml"), "w") as f:
        f.write('ingest_tokens = ["in"]\nadmin_tokens = ["ad"]\nmax_body_bytes = 16777216\n'
                'max_queued_events = 1000000\n' + args.config.replace("\\n", "\n") + "\n")
    with open(os.path.join(work, "events.jsonl"), "rb") as f:
        lines = f.readlines()
    bodies = [b"".join(lines[i:i + args.batch]) for i in range(0, len(lines), args.batch)]
    rules = [os.path.join(root, "examples", n + ".ptag") for n in ("onboarding", "tiers", "reengagement")]
    server = Server(args.ptag, work, rules, os.path.join(work, "state.db"), config="ptag.toml", clock="event").start()
    work_queue = queue.Queue()
    for b in bodies:
        work_queue.put(b)
    latencies = []
    errors = []
    lock = threading.Lock()

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        mine = []
        while True:
            try:
                body = work_queue.get_nowait()
            except queue.Empty:
                break
            t0 = time.perf_counter()
            conn.request("POST", "/v1/events", body, {"Authorization": "Bearer in",
                                                       "Content-Type": "application/x-ndjson"})
            r = conn.getresponse()
            r.read()
            mine.append(time.perf_counter() - t0)
            if r.status != 200:
                errors.append(r.status)
        conn.close()
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(args.clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    server.stop()
    latencies.sort()

    def pct(p):
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(f"| serve | {args.events} events | {args.clients} clients x {args.batch} | {seconds:.2f} s | "
          f"{args.events / seconds:,.0f} events/s | p50 {pct(0.5):.1f} ms | p99 {pct(0.99):.1f} ms | "
          f"{len(errors)} errors |")
finally:
    shutil.rmtree(work, ignore_errors=True)
