"""Platform webhooks that are not applied are never dropped silently: a real
`ptag serve` with a signed custom source; ignored and rejected payloads are
answered, logged, counted per source and result, kept as dead letters,
listed, and replayed after the config is fixed and the server restarted.
A payload nested 50,000 deep is refused, the server goes on.
Usage: test_serve_dead_letters.py PTAG WORK"""
import hashlib
import hmac
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, RD, Server, check, finish, fresh_dir  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])

with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\non sale add "Customer"\n')


def config(types):
    with open("ptag.toml", "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\nread_tokens = ["{RD}"]\n'
                '[[sources]]\nkind = "custom"\npath = "/v1/webhooks/shop"\nsecret = "shop-secret"\n'
                'signature_header = "X-Signature"\n'
                'fields = { type = "event", partner = "data.partner.id", time = "created_at", id = "data.id", '
                'amount = "data.amount" }\n'
                f'types = {{ {types} }}\n')


def post(s, payload, good=True):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    sig = hmac.new(b"shop-secret", body, hashlib.sha256).hexdigest()
    if not good:
        sig = "00" + sig[2:]
    return s.request("POST", "/v1/webhooks/shop", body, headers={"X-Signature": sig})


def metric(s, result):
    _, text, _ = s.request("GET", "/metrics")
    m = re.search(r'ptag_source_payloads_total\{[^}]*result="' + result + r'"[^}]*source="shop"[^}]*\} (\d+)', text) or \
        re.search(r'ptag_source_payloads_total\{[^}]*source="shop"[^}]*result="' + result + r'"[^}]*\} (\d+)', text)
    return int(m.group(1)) if m else 0


T = "2026-03-01T10:15:00Z"
config('"partner.created" = "join", "order.paid" = "sale", '
       '"order.paid[data.fee]" = { type = "commission", amount = "data.fee" }')
s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()

st, body, _ = post(s, {"event": "partner.created", "created_at": T, "data": {"id": "j1", "partner": {"id": "p1"}}})
check(st == 200 and body["applied"] == 1, f"a mapped payload is applied: {st} {body}")
refund = {"event": "order.refunded", "created_at": T, "data": {"id": "r1", "amount": 10, "partner": {"id": "p1"}}}
st, body, _ = post(s, refund)
check(st == 200 and body.get("ignored") == 1 and "order.refunded" in body.get("reason", ""),
      f"an unmapped type is ignored, with why: {st} {body}")
lots = {"event": "order.paid", "created_at": T, "data": {"id": "o1", "amount": "lots", "partner": {"id": "p1"}}}
st, body, _ = post(s, lots)
check(st == 200 and body["rejected"] == 1 and "not a number" in body["results"][0]["reason"],
      f"a payload that cannot be an event is rejected, with why: {st} {body}")
negative = {"event": "order.paid", "created_at": T, "data": {"id": "o2", "amount": -5, "partner": {"id": "p1"}}}
st, body, _ = post(s, negative)
check(st == 200 and body["rejected"] == 1, f"an event the engine refuses is rejected: {st} {body}")
# One payload, two events: the sale applied, the commission (a negative fee)
# rejected: the payload is kept all the same.
half = {"event": "order.paid", "created_at": T, "data": {"id": "o3", "amount": 7, "fee": -2, "partner": {"id": "p1"}}}
st, body, _ = post(s, half)
check(st == 200 and body["applied"] == 1 and body["rejected"] == 1, f"half applied: {st} {body}")
st, body, _ = post(s, refund, good=False)
check(st == 401, f"a bad signature is refused: {st} {body}")
deep = b'{"event":"order.paid","data":' + b"[" * 50000 + b"]" * 50000 + b"}"
st, body, _ = post(s, deep)
check(st == 200 and body["rejected"] == 1 and "deeper than 1024" in body["results"][0]["reason"],
      f"a payload nested 50,000 deep is rejected: {st} {str(body)[:200]}")
check(s.request("GET", "/healthz")[0] == 200, "the server goes on after the deep payload")

check(metric(s, "applied") == 1, "applied counted for the source")
check(metric(s, "ignored") == 1, "ignored counted for the source")
check(metric(s, "rejected") == 4, "rejected counted for the source (the half-applied one too)")
check(metric(s, "unauthorized") == 1, "the bad signature counted for the source")
_, text, _ = s.request("GET", "/metrics")
check(re.search(r'ptag_events_total\{result="rejected"\} [1-9]', text), "rejected payloads count as rejected events")
log = s.log_text()
check('"msg":"source payload ignored"' in log and '"msg":"source payload rejected"' in log,
      "each payload not applied has its log line")

st, body, _ = s.request("GET", "/v1/sources/shop/rejected", token=AD)
letters = body.get("dead_letters", [])
check(st == 200 and [d["status"] for d in letters] == ["ignored", "rejected", "rejected", "rejected", "rejected"],
      f"the five kept, in order: {st} {[d.get('status') for d in letters]}")
check("commission" in letters[3]["reason"] or "amount" in letters[3]["reason"], f"why half was rejected: {letters[3]}")
check(json.loads(letters[0]["body"]) == refund, f"the raw body is kept: {letters[0]}")
check("not a number" in letters[1]["reason"], f"with its reason: {letters[1]}")
check(s.request("GET", "/v1/sources/shop/rejected", token=RD)[0] == 401, "dead letters are admin only")
check(s.request("GET", "/v1/sources/nope/rejected", token=AD)[0] == 404, "an unknown source: 404")
st, body, _ = s.request("GET", "/v1/sources/shop/rejected?status=ignored", token=AD)
check(st == 200 and len(body["dead_letters"]) == 1, f"filtered by status: {body}")
check(s.stop() == 0, "a clean stop")

# The config fixed (refunds mapped), the server restarted: replay.
config('"partner.created" = "join", "order.paid" = "sale", "order.refunded" = "refund", '
       '"order.paid[data.fee]" = { type = "commission", amount = "data.fee" }')
s.start()
st, body, _ = s.request("POST", "/v1/sources/shop/replay", token=AD)
check(st == 200 and body.get("replayed") == 1 and body.get("kept") == 4, f"the refund is replayed: {st} {body}")
st, body, _ = s.request("GET", "/v1/sources/shop/rejected", token=AD)
check([d["status"] for d in body["dead_letters"]] == ["replayed", "rejected", "rejected", "rejected", "rejected"],
      f"statuses after the replay: {body}")
st, p1, _ = s.request("GET", "/v1/partners/p1", token=AD)
check(st == 200 and p1["metrics"]["revenue"] == -3, f"the refund reached the partner (after the sale of 7): {p1}")
st, body, _ = s.request("POST", "/v1/sources/shop/replay", token=AD)
check(st == 200 and body.get("replayed") == 0 and body.get("kept") == 4, f"a second replay changes nothing: {body}")
check(s.stop() == 0, "a clean stop after the replay")
finish()
