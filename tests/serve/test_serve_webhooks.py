"""Webhooks in and out of a real `ptag serve` on loopback.
Out: examples/webhook-receiver.py verifies every Standard Webhooks signature;
it fails for a while (500s, then a hang past the timeout) and every delivery
still arrives, per partner in record order, with no id missing; the wall
clock's 'inactive 3s' records arrive with no event posted after the joins.
In: a platform source authenticated by an HMAC of the raw body.
Usage: test_serve_webhooks.py PTAG RECEIVER WORK"""
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import Server, check, event, finish, fresh_dir, jsonl, utc  # noqa: E402

PTAG, RECEIVER, WORK = sys.argv[1], sys.argv[2], fresh_dir(sys.argv[3])
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

out = open("received.jsonl", "w")
err = open("receiver.log", "w")
receiver = subprocess.Popen([sys.executable, RECEIVER, "--port", "0", "--secret", SECRET, "--fail", "4",
                             "--hang", "1", "--hang-seconds", "2"], stdout=out, stderr=err)
port = None
deadline = time.time() + 10
while time.time() < deadline and port is None:
    with open("receiver.log") as f:
        m = re.search(r'"listening": "127\.0\.0\.1:(\d+)"', f.read())
    port = m and int(m.group(1))
    time.sleep(0.05)
check(port, "the receiver started")

with open("ptag.toml", "w") as f:
    f.write(f'''listen = "127.0.0.1:0"
ingest_tokens = ["in"]
admin_tokens = ["ad"]

[[webhooks]]
url = "http://127.0.0.1:{port}/hook"
secret = "{SECRET}"
retry = ["100ms", "200ms", "300ms", "400ms", "500ms", "1s", "1s", "1s"]
timeout = "500ms"

[[sources]]
kind = "custom"
path = "/v1/webhooks/shop"
secret = "shop-secret"
signature_header = "X-Signature"
fields = {{ type = "event", partner = "data.partner.id", time = "created_at", id = "data.id", amount = "data.amount" }}
types = {{ "order.paid" = "sale" }}
''')
with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\non inactive 3s add "At Risk"\non sale add "Customer"\n')

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml").start()
T = utc(int(time.time()))
partners = [f"w{i}" for i in range(8)]
st, body, _ = s.request("POST", "/v1/events", jsonl([event("join", p, T, "j-" + p) for p in partners]), "in")
check(st == 200 and body["applied"] == 8, f"joins: {st} {body}")


def received():
    with open("received.jsonl") as f:
        # A line still being written has no newline yet.
        return [json.loads(line) for line in f if line.endswith("\n")]


deadline = time.time() + 30
while time.time() < deadline and len({r["id"] for r in received()}) < 16:
    time.sleep(0.1)
got = received()
ids = [r["id"] for r in got]
check(len(set(ids)) == 16, f"16 deliveries (New Partner and At Risk for 8 partners), got {len(set(ids))}")
prefixes = {i[:i.rfind("_") + 1] for i in ids}
check(len(prefixes) == 1 and re.fullmatch(r"msg_[0-9a-f]{16}_", next(iter(prefixes))),
      f"every id is msg_<the store's id>_N: {prefixes}")
check(sorted(int(i[i.rfind("_") + 1:]) for i in set(ids)) == list(range(1, 17)), f"no id missing: {sorted(set(ids))}")
check(all(isinstance(r.get("seq"), int) for r in got), "each delivery carries its record's seq")
for p in partners:
    first_seen = []
    for r in got:
        if r["data"]["partner"] == p and r["seq"] not in first_seen:
            first_seen.append(r["seq"])
    check(first_seen == sorted(first_seen), f"{p}: deliveries arrive in seq order: {first_seen}")
for p in partners:
    tags = [r["data"]["tag"] for r in got if r["data"]["partner"] == p]
    check(tags[:2] == ["New Partner", "At Risk"], f"{p}: in record order: {tags}")
at_risk = [r for r in got if r["data"].get("tag") == "At Risk"]
check(all(r["type"] == "tag.added" and r["data"]["cause"] == "timer" for r in at_risk),
      "the wall clock's timer records came as tag.added, cause timer")
# The outbox learns of an answer just after the receiver has it: poll.
deadline = time.time() + 10
while True:
    st, body, _ = s.request("GET", "/v1/deliveries?status=delivered", token="ad")
    if (st == 200 and len(body["deliveries"]) == 16) or time.time() > deadline:
        break
    time.sleep(0.05)
check(st == 200 and len(body["deliveries"]) == 16, f"16 delivered in the outbox: {st} {len(body.get('deliveries', []))}")
retried = [d for d in body["deliveries"] if d["attempts"] > 1]
check(len(retried) >= 1, "the receiver's failures made retries")
d0 = body["deliveries"][0]
check(d0["last_error"] is None or isinstance(d0["last_error"], str), f"last_error is null or a reason: {d0}")
check(all(d["next_attempt"] is None for d in body["deliveries"]), "a delivered one has no next attempt")
check(all(d["id"].startswith(next(iter(prefixes))) and isinstance(d["seq"], int) for d in body["deliveries"]),
      "the outbox lists the same ids, with each record's seq")
# A delivered one sent again by hand: its id as listed, 202.
st, again, _ = s.request("POST", f"/v1/deliveries/{d0['id']}/retry", token="ad")
check(st == 202 and again["id"] == d0["id"], f"retry by the listed id: {st} {again}")
st, again, _ = s.request("POST", "/v1/deliveries/msg_1/retry", token="ad")
check(st == 404, f"an id without the store's id is no delivery of this store: {st} {again}")
st, body, _ = s.request("GET", "/v1/deliveries?status=failed", token="ad")
check(st == 200 and body["deliveries"] == [], f"none failed: {body}")
check(s.request("GET", "/v1/deliveries?status=nope", token="ad")[0] == 400, "a bad status: 400")

# A platform's webhook: a bad signature is refused before anything is applied.
payload = json.dumps({"event": "order.paid", "created_at": T,
                      "data": {"id": "o-1", "amount": 42.5, "partner": {"id": "w0"}}}).encode()
sig = hmac.new(b"shop-secret", payload, hashlib.sha256).hexdigest()
st, body, _ = s.request("POST", "/v1/webhooks/shop", payload, headers={"X-Signature": "00" + sig[2:]})
check(st == 401, f"a bad signature: {st} {body}")
st, body, _ = s.request("POST", "/v1/webhooks/shop", payload, headers={"X-Signature": sig})
check(st == 200 and body["applied"] == 1, f"a signed platform webhook: {st} {body}")
st, w0, _ = s.request("GET", "/v1/partners/w0", token="ad")
check(w0["metrics"]["revenue"] == 42.5 and "Customer" in [t["tag"] for t in w0["tags"]], f"w0 after the sale: {w0}")
st, body, _ = s.request("POST", "/v1/webhooks/shop", payload, headers={"X-Signature": sig})
check(st == 200 and body["duplicates"] == 1, f"the platform's retry is a duplicate: {body}")

check(s.stop() == 0, "a clean stop")
receiver.terminate()
receiver.wait(5)

# Bulk retry: a receiver that was down; its failed deliveries sent again in
# one call, filtered by webhook and by the records' times.
import socket  # noqa: E402
probe = socket.socket()
probe.bind(("127.0.0.1", 0))
down_port = probe.getsockname()[1]
probe.close()
with open("down.toml", "w") as f:
    f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["in"]\nadmin_tokens = ["ad"]\n'
            f'[[webhooks]]\nname = "down"\nurl = "http://127.0.0.1:{down_port}/hook"\nsecret = "{SECRET}"\n'
            f'retry = ["50ms"]\ntimeout = "300ms"\n')
with open("down-rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n')
d = Server(PTAG, WORK, ["down-rules.ptag"], "down.db", config="down.toml", clock="event", name="down").start()
old, new = "2026-01-01T00:00:00Z", "2026-06-01T00:00:00Z"
d.request("POST", "/v1/events", jsonl([event("join", "d1", old, "d1"), event("join", "d2", new, "d2"),
                                       event("join", "d3", new, "d3")]), "in")
deadline = time.time() + 20
while time.time() < deadline:
    st, body, _ = d.request("GET", "/v1/deliveries?status=failed", token="ad")
    if len(body.get("deliveries", [])) == 3:
        break
    time.sleep(0.1)
check(len(body.get("deliveries", [])) == 3, f"three failed while the receiver was down: {body}")
check(all(x["last_error"] == "connection refused or host unreachable" and x["next_attempt"] is None
          for x in body["deliveries"]), f"why they failed: {body}")
out2 = open("down-received.jsonl", "w")
back = subprocess.Popen([sys.executable, RECEIVER, "--port", str(down_port), "--secret", SECRET], stdout=out2,
                        stderr=subprocess.DEVNULL)
time.sleep(0.5)
check(d.request("POST", "/v1/deliveries/retry?webhook=nope", token="ad")[0] == 400, "an unknown webhook: 400")
st, body, _ = d.request("POST", "/v1/deliveries/retry?webhook=down&from=2026-03-01T00:00:00Z", token="ad")
check(st == 202 and body == {"retried": 2, "waiting": 0}, f"the two failed since March: {st} {body}")
deadline = time.time() + 10
while time.time() < deadline:
    with open("down-received.jsonl") as f:
        got2 = [json.loads(line) for line in f if line.endswith("\n")]
    if len(got2) >= 2:
        break
    time.sleep(0.1)
check(sorted(r["data"]["partner"] for r in got2) == ["d2", "d3"], f"the retried ones arrived: {got2}")
st, body, _ = d.request("POST", "/v1/deliveries/retry?to=2026-03-01T00:00:00Z", token="ad")
check(st == 202 and body == {"retried": 1, "waiting": 0}, f"the one before March: {st} {body}")
check(d.stop() == 0, "a clean stop of the second server")
back.terminate()
back.wait(5)
finish()
