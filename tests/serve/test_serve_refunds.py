"""Refunds sent as a sale's refunded total so far (Rewardful's
refund_amount_cents): a real `ptag serve` takes back the difference from what
it took back before, in any order, across restarts (docs/serve.md,
"Refunds as totals").
Usage: test_serve_refunds.py PTAG WORK"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, Server, check, event, finish, fresh_dir, write_config  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])
with open("rules.ptag", "w") as f:
    f.write('on sale add "Customer"\non milestone revenue >= 80 add "Gold"\n')
write_config("ptag.toml")
T = "2026-03-01T10:00:00Z"


def refund(eid, total, sale="s1", amount=None):
    return event("refund", "p1", T, eid, amount=total if amount is None else amount, refunded_total=total,
                 refund_of=sale)


def post(s, e):
    return s.request("POST", "/v1/events", json.dumps(e), IN)[1]


def revenue(s):
    return s.request("GET", "/v1/partners/p1", token=AD)[1]["metrics"]["revenue"]


s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()
post(s, event("sale", "p1", T, "sale-1", amount=100))
post(s, event("sale", "p1", T, "sale-2", amount=40))
body = post(s, refund("r1", 30))
check(body["applied"] == 1 and revenue(s) == 110, f"the first refund takes back 30: {body} {revenue(s)}")
body = post(s, refund("r2", 50))
check(body["applied"] == 1 and revenue(s) == 90, f"the second, total 50, takes back 20 more: {body} {revenue(s)}")
body = post(s, refund("r0", 30))
check(body["duplicates"] == 1 and "taken back already" in body["results"][0]["reason"] and revenue(s) == 90,
      f"an older total arriving late takes back nothing: {body} {revenue(s)}")
body = post(s, refund("r2", 50))
check(body["duplicates"] == 1 and revenue(s) == 90, f"a retry is a duplicate: {body}")
body = post(s, refund("other", 10, sale="s2"))
check(body["applied"] == 1 and revenue(s) == 80, f"another sale has its own total: {body} {revenue(s)}")
body = post(s, event("refund", "p1", T, "bad", amount=5, refunded_total=5))
check(body["rejected"] == 1 and "refund_of" in body["results"][0]["reason"], f"a total without its sale: {body}")
check(s.stop() == 0, "a clean stop")
s.start()
body = post(s, refund("r3", 60))
check(body["applied"] == 1 and revenue(s) == 70, f"after a restart, total 60 takes back 10: {body} {revenue(s)}")
check(s.stop() == 0, "a clean stop after the restart")
finish()
