"""The server's memory while a webhook receiver is down (docs/performance.md).

A real `ptag serve` with one webhook to a port where nothing listens (a long
retry schedule), then PARTNERS joins posted in batches of 1,000: each makes
one pending delivery. Prints the process's resident memory before and after,
and the pending deliveries the outbox holds.
Usage: outbox_bench.py PTAG [--partners 100000] [--no-webhook]"""
import argparse
import json
import os
import socket
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import AD, IN, Server, event, jsonl, utc  # noqa: E402


def rss_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ptag")
    ap.add_argument("--partners", type=int, default=100000)
    ap.add_argument("--no-webhook", action="store_true", help="the same without the webhook: what the rest costs")
    a = ap.parse_args()
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    down = probe.getsockname()[1]
    probe.close()
    work = tempfile.mkdtemp(prefix="ptag-outbox-")
    with open(os.path.join(work, "rules.ptag"), "w") as f:
        f.write('on join add "New Partner"\n')
    with open(os.path.join(work, "ptag.toml"), "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\n')
        if not a.no_webhook:
            f.write(f'[[webhooks]]\nurl = "http://127.0.0.1:{down}/hook"\n'
                    'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\nretry = ["1h"]\ntimeout = "1s"\n')
    s = Server(a.ptag, work, ["rules.ptag"], os.path.join(work, "state.db"), config="ptag.toml",
               clock="event").start()
    before = rss_mb(s.proc.pid)
    T = utc(int(time.time()) - 3600)
    for start in range(0, a.partners, 1000):
        batch = [event("join", f"p{i}", T, f"j{i}") for i in range(start, min(a.partners, start + 1000))]
        s.request("POST", "/v1/events", jsonl(batch), IN)
    time.sleep(3)
    after = rss_mb(s.proc.pid)
    _, text, _ = s.request("GET", "/metrics")
    pending = [line for line in text.splitlines() if line.startswith("ptag_outbox_pending")]
    s.stop()
    print(json.dumps({"partners": a.partners, "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
                      "outbox_pending": pending}))


main()
