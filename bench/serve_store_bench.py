#!/usr/bin/env python3
"""ptag serve on a large store (docs/performance.md, "Durable state"): for
each store size, `ptag run --state` builds a store of PARTNERS partners
(ptag-gen, two events per partner), then a real server on it (--clock event,
the three example rule files) takes one client's single-event requests and
10-event requests for 10 different partners, and answers history reads.
Every event is at the store's clock, so that no timer comes due: a commit
changes exactly the partners its request names. Prints per size: the
requests' p50 and p99, the mean bytes a commit of a 1-event and of a
10-event request wrote (`ptag_commit_bytes`), the history reads' median,
and the server's start time; then the p50 ratio of the largest size to the
smallest.

    python3 bench/serve_store_bench.py build/cli/ptag build/bench/ptag-gen [--sizes 10000,1000000]
"""
import argparse
import http.client
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import Server  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("ptag")
ap.add_argument("gen")
ap.add_argument("--sizes", default="10000,1000000")
ap.add_argument("--requests", type=int, default=400)
ap.add_argument("--reads", type=int, default=200)
args = ap.parse_args()
args.ptag, args.gen = os.path.abspath(args.ptag), os.path.abspath(args.gen)

root = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
rules = [os.path.join(root, "examples", n + ".ptag") for n in ("onboarding", "tiers", "reengagement")]


def metric(text, name):
    m = re.search(r"^" + re.escape(name) + r" ([0-9.e+]+)$", text, re.M)
    return float(m.group(1)) if m else 0.0


def timed(conn, method, path, body=None, headers=None):
    t0 = time.perf_counter()
    conn.request(method, path, body, headers or {})
    r = conn.getresponse()
    data = r.read()
    if r.status != 200:
        raise SystemExit(f"{method} {path}: {r.status} {data[:200]!r}")
    return time.perf_counter() - t0, data


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p * len(values)))] * 1000


results = []
for size in [int(s) for s in args.sizes.split(",")]:
    work = tempfile.mkdtemp(prefix="ptag-store-bench-")
    try:
        events = os.path.join(work, "events.jsonl")
        with open(events, "w") as f:
            subprocess.run([args.gen, "events", "--partners", str(size), "--events", str(2 * size), "--seed", "5"],
                           stdout=f, check=True)
        with open(events, "rb") as f:
            f.seek(max(0, os.path.getsize(events) - 4096))
            last = json.loads(f.read().splitlines()[-1])
        state = os.path.join(work, "state.db")
        t0 = time.perf_counter()
        subprocess.run([args.ptag, "run", *rules, "--events", events, "--out", "/dev/null", "--state", state],
                       check=True, stderr=subprocess.DEVNULL)
        build = time.perf_counter() - t0
        with open(os.path.join(work, "ptag.toml"), "w") as f:
            f.write('ingest_tokens = ["in"]\nadmin_tokens = ["ad"]\n')
        t0 = time.perf_counter()
        server = Server(args.ptag, work, rules, state, config="ptag.toml", clock="event").start(timeout=120)
        start = time.perf_counter() - t0
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        rng = random.Random(size)
        base = time.strptime(last["time"], "%Y-%m-%dT%H:%M:%SZ")
        # Every event at the store's clock: no timer comes due, so a commit
        # changes exactly the partners its events name.
        clock = int(time.mktime(base) - time.timezone)
        ingest = {"Authorization": "Bearer in", "Content-Type": "application/x-ndjson"}

        def event(k, partner):
            t = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(clock))
            return json.dumps({"id": f"bench-{k}", "type": "click", "partner": f"p{partner}", "time": t})

        singles = []
        _, first = timed(conn, "GET", "/metrics")
        for k in range(args.requests):
            singles.append(timed(conn, "POST", "/v1/events", (event(k, rng.randrange(size)) + "\n").encode(), ingest)[0])
        _, before = timed(conn, "GET", "/metrics")
        one = (metric(before.decode(), "ptag_commit_bytes_sum") - metric(first.decode(), "ptag_commit_bytes_sum")) / max(
            1, metric(before.decode(), "ptag_commit_bytes_count") - metric(first.decode(), "ptag_commit_bytes_count"))
        tens = []
        for k in range(args.requests // 4):
            body = "".join(event(100000 + 10 * k + j, p) + "\n" for j, p in enumerate(rng.sample(range(size), 10)))
            tens.append(timed(conn, "POST", "/v1/events", body.encode(), ingest)[0])
        _, after = timed(conn, "GET", "/metrics")
        text_before, text_after = before.decode(), after.decode()
        commits = metric(text_after, "ptag_commit_bytes_count") - metric(text_before, "ptag_commit_bytes_count")
        written = metric(text_after, "ptag_commit_bytes_sum") - metric(text_before, "ptag_commit_bytes_sum")
        reads = []
        admin = {"Authorization": "Bearer ad"}
        for _ in range(args.reads):
            reads.append(timed(conn, "GET", f"/v1/partners/p{rng.randrange(size)}/history?limit=100", None, admin)[0])
        conn.close()
        server.stop()
        size_mb = os.path.getsize(state) / 1e6
        row = (size, pct(singles, 0.5), pct(singles, 0.99), pct(tens, 0.5), written / max(commits, 1) / 1024,
               commits, pct(reads, 0.5), start, build, size_mb, one / 1024)
        results.append(row)
        print(f"| {size:,} partners | single-event p50 {row[1]:.1f} ms, p99 {row[2]:.1f} ms | "
              f"10-event p50 {row[3]:.1f} ms | commit of 1 partner {row[10]:.1f} KB, of 10 {row[4]:.1f} KB ({int(commits)} commits) | "
              f"history p50 {row[6]:.2f} ms | server start {row[7]:.2f} s | store built in {row[8]:.1f} s, "
              f"{row[9]:.0f} MB |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
if len(results) > 1:
    print(f"single-event p50, {results[-1][0]:,} against {results[0][0]:,} partners: "
          f"{results[-1][1] / results[0][1]:.2f}x")
