"""`ptag serve` end to end on loopback: ingest and its answers, bad input,
reads, reload, the wall clock, the event clock, a clean stop and a restart.
Usage: test_serve.py PTAG WORK"""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import Server, check, event, finish, fresh_dir, jsonl, utc  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])

with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n'
            'on sale when revenue >= 100 add "VIP"\n'
            'on inactive 3s add "At Risk"\n')
with open("ptag.toml", "w") as f:
    f.write('listen = "127.0.0.1:0"\n'
            'max_body_bytes = 20000\n'
            'ingest_tokens = ["in-secret"]\n'
            'admin_tokens = ["ad-secret"]\n'
            'read_tokens = ["read-secret"]\n')
IN, AD, RD = "in-secret", "ad-secret", "read-secret"

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml").start()
now = int(time.time())
T = utc(now)

# Ingest: one event, then JSONL with a duplicate, a line that is not JSON and
# an invalid event among valid ones; then a JSON array.
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "p1", T, "e1")), IN)
check(st == 200 and body["applied"] == 1, f"one event: {st} {body}")
lines = jsonl([event("sale", "p1", T, "e2", amount=150), event("sale", "p1", T, "e2", amount=150)]) + \
    "not json\n" + jsonl([event("sale", "p2", T, "e3"), event("join", "p2", T, "e4")])
st, body, _ = s.request("POST", "/v1/events", lines, IN, {"Content-Type": "application/x-ndjson"})
check(st == 200, f"JSONL: {st} {body}")
check(body.get("applied") == 2 and body.get("duplicates") == 1 and body.get("rejected") == 2, f"JSONL counts: {body}")
by_index = {r["index"]: r for r in body.get("results", [])}
check(by_index.get(1, {}).get("status") == "duplicate", f"index 1 is the duplicate: {body}")
check(by_index.get(2, {}).get("status") == "rejected", f"index 2 is not JSON: {body}")
check("amount" in by_index.get(3, {}).get("reason", ""), f"index 3 lacks an amount: {body}")
st, body, _ = s.request("POST", "/v1/events", json.dumps([event("click", "p2", T, "e5"), 7]), IN)
check(st == 200 and body["applied"] == 1 and body["rejected"] == 1 and body["results"][0]["index"] == 1,
      f"array: {st} {body}")

# Idempotent: the same request again applies nothing.
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "p1", T, "e1")), IN)
check(st == 200 and body["applied"] == 0 and body["duplicates"] == 1, f"retry of e1: {body}")

# Strict: one bad event rejects the request, nothing applied.
st, body, _ = s.request("POST", "/v1/events?strict=true",
                        jsonl([event("join", "p9", T, "s1"), event("sale", "p9", T, "s2")]), IN)
check(st == 422 and body["applied"] == 0 and body["results"][0]["index"] == 1, f"strict: {st} {body}")
st, body, _ = s.request("GET", "/v1/partners/p9", token=AD)
check(st == 404, f"strict applied nothing: {st} {body}")

# Bad input, each with its status; nothing lost, the server still serving.
check(s.request("POST", "/v1/events", json.dumps(event("join", "x", T)))[0] == 401, "no token: 401")
check(s.request("POST", "/v1/events", json.dumps(event("join", "x", T)), "wrong")[0] == 401, "wrong token: 401")
check(s.request("POST", "/v1/events", json.dumps(event("join", "x", T)), AD)[0] == 401, "admin token cannot ingest")
st, body, _ = s.request("POST", "/v1/events", "x" * 30000, IN)
check(st == 413, f"oversize body: {st}")
st, body, _ = s.request("POST", "/v1/events", '[{"type":"join",', IN)
check(st == 400 and "array" in body.get("error", ""), f"malformed array: {st} {body}")
# What `curl -d @events.jsonl` sends: a form body, the newlines taken out.
squashed = jsonl([event("join", "c1", T, "c1"), event("join", "c2", T, "c2")]).replace("\n", "")
st, body, _ = s.request("POST", "/v1/events", squashed, IN, {"Content-Type": "application/x-www-form-urlencoded"})
check(st == 400 and "--data-binary" in body.get("error", ""), f"curl -d's joined lines get the fix in the 400: {st} {body}")
st, body, _ = s.request("POST", "/v1/events", "{nope\n", IN)
check(st == 400, f"malformed JSON: {st} {body}")
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "p3", utc(now + 3600), "f1")), IN)
check(st == 200 and body["rejected"] == 1 and "later than the server's clock" in body["results"][0]["reason"],
      f"a future-dated event: {st} {body}")

# Reads.
st, p1, _ = s.request("GET", "/v1/partners/p1", token=RD)
check(st == 200 and [t["tag"] for t in p1["tags"]] == ["New Partner", "VIP"], f"p1: {st} {p1}")
check(p1.get("metrics", {}).get("revenue") == 150 and p1["metrics"]["sales"] == 1, f"p1 metrics: {p1}")
check(p1["tags"][1]["rule"] == "rules.ptag:2" and p1["tags"][1]["since"] == T, f"p1 VIP since/rule: {p1}")
check(s.request("GET", "/v1/partners/p1")[0] == 401, "reads need a token")
check(s.request("GET", "/v1/partners/nobody", token=AD)[0] == 404, "unknown partner: 404")
st, body, _ = s.request("GET", "/v1/partners?query=" + "tagged%20%22VIP%22", token=AD)
check(st == 200 and body["partners"] == ["p1"], f"query: {st} {body}")
st, body, _ = s.request("GET", "/v1/partners?query=revenue%20%3E%3D%200&count=true", token=AD)
check(st == 200 and body == {"count": 2}, f"count: {st} {body}")
st, body, _ = s.request("GET", "/v1/partners?limit=1", token=AD)
check(st == 200 and body["partners"] == ["p1"] and body["next"] is not None, f"page 1: {body}")
st, body2, _ = s.request("GET", "/v1/partners?limit=1&cursor=" + str(body["next"]), token=AD)
check(st == 200 and body2["partners"] == ["p2"] and body2["next"] is None, f"page 2: {body2}")
st, body, _ = s.request("GET", "/v1/partners?query=tagged%20%22VIP%22%20and", token=AD)
check(st == 400 and "^" in body["diagnostics"][0]["rendered"], f"bad query: {st} {body}")
st, body, _ = s.request("GET", "/v1/tags", token=AD)
check(st == 200 and body["tags"].get("VIP") == 1 and body["tags"].get("New Partner") == 2, f"tags: {body}")
st, body, _ = s.request("GET", "/v1/partners/p1/history", token=AD)
check(st == 200 and [r["tag"] for r in body["records"]] == ["VIP", "New Partner"], f"history: {body}")
check(s.request("GET", "/healthz")[0] == 200 and s.request("GET", "/readyz")[0] == 200, "health and readiness")
st, text, _ = s.request("GET", "/metrics")
check(st == 200 and 'ptag_events_total{result="applied"} 4' in text, f"metrics count events: {text[:400]}")
check("ptag_request_seconds_bucket" in text and "ptag_commit_seconds_count" in text, "latency histograms")
# Amounts in two currencies without a declaration: counted per currency, and the log warns once.
mixed = [event("sale", "p9", utc(now), "cur-1", amount=10, currency="EUR"),
         event("sale", "p9", utc(now), "cur-2", amount=20, currency="usd")]
st, body, _ = s.request("POST", "/v1/events", jsonl(mixed), IN)
check(st == 200 and body["applied"] == 2, f"sales in two currencies are applied: {st} {body}")
st, text, _ = s.request("GET", "/metrics")
check('ptag_currency_events_total{currency="EUR"} 1' in text and 'ptag_currency_events_total{currency="USD"} 1' in text,
      f"money events counted per currency: {[l for l in text.splitlines() if 'currency' in l]}")
check(s.log_text().count('"msg":"amounts in several currencies were summed as one') == 1 and '"currencies":["EUR","USD"]' in s.log_text(),
      f"the log says the amounts were summed as one: {s.log_text()[-600:]}")

# The wall clock: p2 stays quiet and gets At Risk with nothing posted.
deadline = time.time() + 8
at_risk = False
while time.time() < deadline and not at_risk:
    st, p2, _ = s.request("GET", "/v1/partners/p2", token=AD)
    at_risk = any(t["tag"] == "At Risk" for t in p2.get("tags", []))
    time.sleep(0.2)
check(at_risk, f"the wall clock fires 'inactive 3s' without an event: {p2}")

# Reload: a bad rule file is refused with diagnostics, the old rules keep running.
with open("rules.ptag", "a") as f:
    f.write('on sale add "Broken\n')
st, body, _ = s.request("POST", "/v1/reload", "", AD)
check(st == 422 and body["diagnostics"] and "rendered" in body["diagnostics"][0]
      and body["diagnostics"][0]["file"] == "rules.ptag", f"bad reload: {st} {body}")
check(s.request("POST", "/v1/reload", "", IN)[0] == 401, "reload needs the admin token")
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "p4", utc(int(time.time())), "e6")), IN)
check(st == 200 and body["applied"] == 1, f"still serving after a bad reload: {body}")
with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n'
            'on sale when revenue >= 100 add "VIP"\n'
            'on inactive 3s add "At Risk"\n'
            'rule "Seller" on first_sale add "Seller"\n')
st, body, _ = s.request("POST", "/v1/reload?backfill=true", "", AD)
check(st == 200 and body.get("added") == ["Seller"] and body.get("kept") == 3, f"good reload: {st} {body}")
st, p1, _ = s.request("GET", "/v1/partners/p1", token=AD)
check("Seller" in [t["tag"] for t in p1["tags"]], f"backfill gave p1 Seller: {p1}")
# SIGHUP reloads the files too.
with open("rules.ptag", "a") as f:
    f.write('rule "Clicker" on click add "Clicker"\n')
s.proc.send_signal(signal.SIGHUP)
deadline = time.time() + 5
while time.time() < deadline and '"msg":"rules reloaded","kept":4,"added":1' not in s.log_text():
    time.sleep(0.05)
check('"msg":"rules reloaded","kept":4,"added":1' in s.log_text(), "SIGHUP reloads: " + s.log_text()[-300:])

# A clean stop commits and exits 0; a restart continues from the store.
code = s.stop()
check(code == 0, f"SIGTERM exits 0, not {code}")
check('"msg":"stopped"' in s.log_text(), "the stop is logged")
s.start()
st, p1, _ = s.request("GET", "/v1/partners/p1", token=AD)
check(st == 200 and "VIP" in [t["tag"] for t in p1["tags"]], f"p1 after a restart: {p1}")
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "p1", T, "e1")), IN)
check(body.get("duplicates") == 1, f"ids are remembered across restarts: {body}")
s.stop()

# The event clock: timers move only with events and POST /v1/advance.
with open("risk.ptag", "w") as f:
    f.write('on join add "New Partner"\non inactive 30d add "At Risk"\n')
e = Server(PTAG, WORK, ["risk.ptag"], "event.db", config="ptag.toml", clock="event", name="event").start()
st, body, _ = e.request("POST", "/v1/events", json.dumps(event("join", "q1", "2026-01-01T00:00:00Z", "j1")), IN)
check(body.get("applied") == 1, f"event clock: an old event is not 'in the future' or late: {body}")
st, body, _ = e.request("POST", "/v1/advance", json.dumps({"until": "2026-03-01T00:00:00Z"}), AD)
check(st == 200 and body.get("clock") == "2026-03-01T00:00:00Z", f"advance: {st} {body}")
st, q1, _ = e.request("GET", "/v1/partners/q1", token=AD)
check([t["tag"] for t in q1["tags"]] == ["New Partner", "At Risk"] and q1["tags"][1]["since"] == "2026-01-31T00:00:00Z",
      f"the timer fired at its deadline: {q1}")
check(e.request("POST", "/v1/advance", "{}", AD)[0] == 400, "advance without until: 400")
e.stop()
st = s.request  # the wall-clock server refuses advance
s.start()
check(s.request("POST", "/v1/advance", json.dumps({"until": "2030-01-01T00:00:00Z"}), AD)[0] == 409,
      "advance on the wall clock: 409")
s.stop()

# Timers that came due while the server was down fire at once, each at its deadline.
with open("down.ptag", "w") as f:
    f.write('on inactive 2s add "Quiet"\n')
d = Server(PTAG, WORK, ["down.ptag"], "down.db", config="ptag.toml", name="down").start()
joined = int(time.time())
d.request("POST", "/v1/events", json.dumps(event("join", "r1", utc(joined), "d1")), IN)
d.kill()
time.sleep(3)
d.start()
st, r1, _ = d.request("GET", "/v1/partners/r1", token=AD)
check([t["tag"] for t in r1.get("tags", [])] == ["Quiet"] and r1["tags"][0]["since"] == utc(joined + 2),
      f"a timer due while down fires at its deadline after the restart: {r1}")
d.stop()

# A request with more events than max_queued_events could ever hold: 413
# naming the limit (a 429 would be retried forever), nothing applied.
with open("small.toml", "w") as f:
    f.write('listen = "127.0.0.1:0"\ningest_tokens = ["in-secret"]\nadmin_tokens = ["ad-secret"]\n'
            'max_queued_events = 5\nretry_after = "2s"\n')
q = Server(PTAG, WORK, ["rules.ptag"], "small.db", config="small.toml", name="small").start()
T2 = utc(int(time.time()))
st, body, hdrs = q.request("POST", "/v1/events", jsonl([event("join", f"o{i}", T2, f"o{i}") for i in range(10)]), IN)
check(st == 413 and "max_queued_events (5)" in body.get("error", "") and "Retry-After" not in hdrs,
      f"more than the queue holds: {st} {body} {dict(hdrs)}")
st, body, _ = q.request("POST", "/v1/events", jsonl([event("join", f"o{i}", T2, f"o{i}") for i in range(3)]), IN)
check(st == 200 and body["applied"] == 3, f"under the bound: {st} {body}")
st, body, _ = q.request("GET", "/v1/partners?count=true", token=AD)
check(body == {"count": 3}, f"the refused request applied nothing: {body}")
q.stop()

# Refusals at start: a bad config names file, line and column; a foreign store.
with open("bad.toml", "w") as f:
    f.write('listen = 5\n')
b = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="bad.toml", name="bad")
try:
    b.start(timeout=5)
    check(False, "a bad config must not start")
    b.stop()
except RuntimeError as err:
    check("bad.toml:1:" in str(err), f"the config error names the place: {err}")
with open("foreign.db", "w") as f:
    f.write("not a store\n")
b = Server(PTAG, WORK, ["rules.ptag"], "foreign.db", config="ptag.toml", name="foreign")
try:
    b.start(timeout=5)
    check(False, "a foreign store must not start")
    b.stop()
except RuntimeError as err:
    check("foreign.db: not a ptag store" in str(err) and "exited 1" in str(err), f"a foreign store is refused: {err}")
finish()
