"""`ptag serve` killed with SIGKILL under load loses and doubles nothing.
1. One client posts a generated workload in order, in batches; the server is
   killed and restarted; the client retries what was not acknowledged. The
   store's records equal `ptag run` over the same file, in order.
2. Eight clients post batches of 1,000 at once (200k events) while the
   server is killed and restarted 20 times: every partner's metrics equal
   `ptag run`'s (tags depend on the order the clients' batches arrived in;
   part 1 checks them, in order).
Usage: test_serve_crash.py PTAG PTAG_GEN WORK"""
import os
import queue
import random
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import Server, check, finish, fresh_dir  # noqa: E402

PTAG, GEN, WORK = sys.argv[1], sys.argv[2], fresh_dir(sys.argv[3])
with open("ptag.toml", "w") as f:
    f.write('listen = "127.0.0.1:0"\nmax_body_bytes = 4194304\ningest_tokens = ["in"]\nadmin_tokens = ["ad"]\n'
            'max_queued_events = 1000000\n')
random.seed(int(os.environ.get("PTAG_TEST_SEED", "5")))


def gen(args, out):
    with open(out, "w") as f:
        subprocess.run([GEN, *args], stdout=f, check=True)


def post(server, body, timeout=30):
    """The status, or None when the server did not answer (killed, restarting)."""
    req = urllib.request.Request(server.url("/v1/events"), data=body, method="POST")
    req.add_header("Authorization", "Bearer in")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (OSError, urllib.error.URLError):
        return None


def post_until_acknowledged(server, body):
    for _ in range(2000):
        status = post(server, body)
        if status == 200:
            return True
        time.sleep(0.02)
    return False


def batches(path, size):
    with open(path, "rb") as f:
        lines = f.readlines()
    return [b"".join(lines[i:i + size]) for i in range(0, len(lines), size)]


def store_records(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT time, partner, action, coalesce(tag, name), rule, cause, coalesce(event, '') "
                       "FROM records ORDER BY seq").fetchall()
    con.close()
    return rows


def partner_metrics(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT partner, signups, customers, revenue, sales, clicks, commissions, joined_at "
                       "FROM partners ORDER BY partner").fetchall()
    con.close()
    return rows


# 1. Ordered batches, killed twice at random instants.
gen(["events", "--partners", "300", "--events", "20000", "--seed", "31"], "ordered.jsonl")
gen(["rules", "--rules", "30", "--seed", "31"], "ordered.ptag")
subprocess.run([PTAG, "run", "ordered.ptag", "--events", "ordered.jsonl", "--state", "run.db", "--out", "run.jsonl"],
               check=True, stderr=subprocess.DEVNULL)
s = Server(PTAG, WORK, ["ordered.ptag"], "ordered.db", config="ptag.toml", clock="event", name="ordered").start()
parts = batches("ordered.jsonl", 250)
kill_at = sorted(random.sample(range(5, len(parts) - 5), 2))
lock = threading.Lock()


def killer(at_batch, done):
    done.wait()
    with lock:
        s.kill()
        s.start()


for i, body in enumerate(parts):
    if i in kill_at:
        # Kill while this batch is in flight: its answer may never come.
        flying = threading.Event()
        t = threading.Thread(target=killer, args=(i, flying))
        t.start()
        flying.set()
        post(s, body, timeout=5)
        t.join()
    with lock:
        pass
    check(post_until_acknowledged(s, body), f"batch {i} was never acknowledged")
check(s.stop() == 0, "the ordered server stops cleanly")
served = store_records("ordered.db")
ran = store_records("run.db")
check(len(ran) > 1000, f"the workload makes records: {len(ran)}")
check(served == ran, f"the store's records equal ptag run's ({len(served)} against {len(ran)}; "
      f"first difference at {next((k for k, (a, b) in enumerate(zip(served, ran)) if a != b), min(len(served), len(ran)))})")
check(partner_metrics("ordered.db") == partner_metrics("run.db"), "partners after kills equal ptag run's")

# 2. Eight clients, 200 batches of 1,000, 20 kills and restarts.
gen(["events", "--partners", "5000", "--events", "200000", "--seed", "32"], "load.jsonl")
subprocess.run([PTAG, "run", "ordered.ptag", "--events", "load.jsonl", "--state", "load-run.db", "--out", "/dev/null"],
               check=True, stderr=subprocess.DEVNULL)
load = Server(PTAG, WORK, ["ordered.ptag"], "load.db", config="ptag.toml", clock="event", name="load").start()
work = queue.Queue()
for body in batches("load.jsonl", 1000):
    work.put(body)
acknowledged = []
lost = []


def client():
    while True:
        try:
            body = work.get_nowait()
        except queue.Empty:
            return
        if post_until_acknowledged(load, body):
            acknowledged.append(1)
        else:
            lost.append(body)


clients = [threading.Thread(target=client) for _ in range(8)]
for c in clients:
    c.start()
kills = 0
deadline = time.time() + 240
for k in range(20):
    while len(acknowledged) < 9 * (k + 1) and time.time() < deadline and any(c.is_alive() for c in clients):
        time.sleep(0.005)
    if not any(c.is_alive() for c in clients):
        break
    load.kill()
    kills += 1
    load.start(timeout=30)
for c in clients:
    c.join()
check(kills >= 15, f"the server was killed {kills} times under load")
check(not lost and len(acknowledged) == 200, f"every batch acknowledged ({len(acknowledged)}, lost {len(lost)})")
check(load.stop() == 0, "the load server stops cleanly")
check(partner_metrics("load.db") == partner_metrics("load-run.db"),
      f"every event applied exactly once after {kills} kills: per-partner metrics equal ptag run's")

finish()
