"""Bringing history in (docs/serve.md, "Importing history"): `ptag run --state`
over past events, then `ptag serve` on that store on the wall clock; and the
wrong way made visible: events posted late get a warning in the answer, a
log line and a metric.
Usage: test_serve_import.py PTAG WORK"""
import json
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, Server, check, event, finish, fresh_dir, jsonl, utc, write_config  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])

with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\non sale add "Customer"\non inactive 30d add "At Risk"\n'
            'on sale when tagged "At Risk" remove "At Risk"\n')
write_config("ptag.toml")

now = int(time.time())
day = 86400
# p1: joined 60 days ago, last seen 45 days ago: At Risk 15 days ago.
# p2: joined 60 days ago, a sale 5 days ago: not at risk.
# p3: joined 32 days ago: At Risk 2 days ago, after the history's last event (a timer the start fires).
history = [event("join", "p1", utc(now - 60 * day), "h1"), event("join", "p2", utc(now - 60 * day), "h2"),
           event("click", "p1", utc(now - 45 * day), "h3"), event("join", "p3", utc(now - 32 * day), "h5"),
           event("sale", "p2", utc(now - 5 * day), "h4", amount=20)]
with open("history.jsonl", "w") as f:
    f.write(jsonl(history))
run = subprocess.run([PTAG, "run", "rules.ptag", "--events", "history.jsonl", "--state", "state.db"],
                     capture_output=True, text=True, timeout=60)
check(run.returncode == 0, f"ptag run --state over the history: {run.returncode} {run.stderr}")

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml").start()
st, p1, _ = s.request("GET", "/v1/partners/p1", token=AD)
tags = {t["tag"]: t for t in p1.get("tags", [])}
check(st == 200 and set(tags) == {"New Partner", "At Risk"}, f"p1 came in with its history: {p1}")
check(tags.get("At Risk", {}).get("since") == utc(now - 15 * day),
      f"At Risk at its own deadline (30 days after p1's last activity), not today: {tags.get('At Risk')}")
st, p2, _ = s.request("GET", "/v1/partners/p2", token=AD)
check(st == 200 and {t["tag"] for t in p2["tags"]} == {"New Partner", "Customer"}, f"p2 is not at risk: {p2}")
# The start says what it did: the imported state, then the timers that came due since.
restored = re.search(r'"msg":"state restored","partners":(\d+),"records":(\d+),"seconds":"?[0-9.]+', s.log_text())
check(restored and restored.group(1) == "3" and int(restored.group(2)) >= 3, f"the log says what was restored: {s.log_text()}")
caught = re.search(r'"msg":"timers caught up","fired":(\d+),"records":(\d+)', s.log_text())
check(caught and caught.group(1) == "1" and caught.group(2) == "1", f"and the timer that fired at the start: {s.log_text()}")
st, p3, _ = s.request("GET", "/v1/partners/p3", token=AD)
check(st == 200 and "At Risk" in {t["tag"] for t in p3["tags"]}, f"p3 came due while the history was imported: {p3}")

# From now on, live events: no warning.
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("sale", "p1", utc(now), "live-1", amount=5)), IN)
check(st == 200 and body["applied"] == 1 and "warnings" not in body, f"a live event: {st} {body}")
st, p1, _ = s.request("GET", "/v1/partners/p1", token=AD)
check("At Risk" not in {t["tag"] for t in p1["tags"]}, f"the live sale removed At Risk: {p1}")

# History posted to the server instead: applied, with a warning, a log line, a metric.
late = [event("click", "p2", utc(now - 3 * day), "late-1"), event("click", "p2", utc(now - 2 * day), "late-2")]
st, body, _ = s.request("POST", "/v1/events", jsonl(late), IN)
check(st == 200 and body["applied"] == 2, f"late events are applied: {st} {body}")
warnings = body.get("warnings", [])
check(len(warnings) == 1 and warnings[0].startswith("2 events were older than the server's clock") and
      "ptag run --state" in warnings[0], f"with a warning that says what to do: {body}")
_, text, _ = s.request("GET", "/metrics")
check(re.search(r"^ptag_events_late_total 2(\.0+)?$", text, re.M), "ptag_events_late_total counts them")
check('"msg":"late events applied","events":2' in s.log_text(), "and the log says so")
# One day late is within the default bound.
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("click", "p2", utc(now - 3600), "late-3")), IN)
check(st == 200 and "warnings" not in body, f"an hour late is no warning: {body}")
check(s.stop() == 0, "a clean stop")
finish()
