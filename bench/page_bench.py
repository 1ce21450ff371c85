#!/usr/bin/env python3
"""The partners page's API at scale (docs/performance.md, "The partners
page"): a store of PARTNERS partners built by `ptag run --state` over a
generated workload with the three example rule files, then a real `ptag serve`
on it; prints the median and the worst of REPEAT calls of each endpoint.

    python3 bench/page_bench.py build/cli/ptag build/bench/ptag-gen [--partners 100000] [--events 1000000]
"""
import argparse
import http.client
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import Server  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("ptag")
ap.add_argument("gen")
ap.add_argument("--partners", type=int, default=100000)
ap.add_argument("--events", type=int, default=1000000)
ap.add_argument("--repeat", type=int, default=5)
args = ap.parse_args()

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
work = tempfile.mkdtemp(prefix="ptag-page-bench-")
server = None
try:
    events = os.path.join(work, "events.jsonl")
    with open(events, "w") as f:
        subprocess.run([args.gen, "events", "--partners", str(args.partners), "--events", str(args.events),
                        "--seed", "3"], stdout=f, check=True)
    rules = [os.path.join(root, "examples", n + ".ptag") for n in ("onboarding", "tiers", "reengagement")]
    state = os.path.join(work, "state.db")
    start = time.time()
    subprocess.run([args.ptag, "run", *rules, "--events", events, "--state", state, "--out", os.devnull],
                   check=True, stderr=subprocess.DEVNULL)
    print(f"store: {args.partners} partners, {args.events} events, built in {time.time() - start:.1f} s, "
          f"{os.path.getsize(state) / 2**20:.0f} MiB")
    with open(os.path.join(work, "ptag.toml"), "w") as f:
        f.write('read_tokens = ["rd"]\n')
    server = Server(args.ptag, work, rules, state, config="ptag.toml", clock="event").start(timeout=120)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)

    def timed(path):
        times, size = [], 0
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            conn.request("GET", path, headers={"Authorization": "Bearer rd"})
            r = conn.getresponse()
            body = r.read()
            times.append(time.perf_counter() - t0)
            if r.status != 200:
                raise RuntimeError(f"{path}: {r.status} {body[:200]}")
            size = len(body)
        return statistics.median(times), max(times), size

    q = urllib.parse.quote
    conn.request("GET", "/v1/segment?per_page=1", headers={"Authorization": "Bearer rd"})
    first = __import__("json").loads(conn.getresponse().read())["partners"][0]["partner"]
    cases = [
        ("segment, first page, no filter", "/v1/segment"),
        ("segment, sort=-revenue", "/v1/segment?sort=-revenue"),
        ("segment, sort=partner, page 100", "/v1/segment?sort=partner&page=100"),
        ("segment, has=Proven lacks=VIP", "/v1/segment?has=Proven&lacks=VIP&sort=-sales"),
        ("segment, q=revenue > 1000", "/v1/segment?q=" + q('revenue > 1000 and not tagged "Dormant"')),
        ("segment.csv, every partner", "/v1/segment.csv"),
        ("tags now", "/v1/tags"),
        ("tags over time, auto", "/v1/tags/history"),
        ("flows New Partner -> Proven", "/v1/flows?from=" + q("New Partner") + "&to=Proven"),
        ("records, last 100", "/v1/records"),
        ("a partner", "/v1/partners/" + q(first, safe="")),
        ("a partner's history", "/v1/partners/" + q(first, safe="") + "/history?limit=100"),
    ]
    print(f"{'endpoint':36} {'median':>9} {'worst':>9} {'bytes':>10}")
    for name, path in cases:
        median, worst, size = timed(path)
        print(f"{name:36} {median * 1000:7.1f}ms {worst * 1000:7.1f}ms {size:10d}")
finally:
    if server:
        server.stop()
    shutil.rmtree(work, ignore_errors=True)
