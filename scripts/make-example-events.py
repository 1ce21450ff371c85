#!/usr/bin/env python3
"""Writes examples/events.jsonl: a year of events for 60 partners, deterministic.

Partners differ: steady sellers, a few stars (big revenue, many customers or
signups), partners who go quiet and come back, and some who never start.
A few events are delivered twice (same id), as webhooks do.
"""
import json
import random
from datetime import datetime, timedelta, timezone

rng = random.Random(20260101)
start = datetime(2026, 1, 1, tzinfo=timezone.utc)
countries = ["DE", "AT", "CH", "FR", "NL", "US", "GB", "ES"]
events = []
seq = 0


def add(t, type_, partner, data=None):
    global seq
    seq += 1
    e = {"id": f"e-{seq:05d}", "type": type_, "partner": partner, "time": t.strftime("%Y-%m-%dT%H:%M:%SZ")}
    if data:
        e["data"] = data
    events.append((t, e))


for n in range(60):
    p = f"p-{n + 1:03d}"
    joined = start + timedelta(days=rng.randint(0, 150), seconds=rng.randint(0, 86399))
    add(joined, "join", p, {"country": rng.choice(countries), "channel": rng.choice(["blog", "coupon", "social"])})
    kind = rng.choices(["steady", "star", "quiet", "dormant", "recruiter"], [40, 8, 20, 12, 20])[0]
    rate = {"steady": 0.6, "star": 2.5, "quiet": 0.5, "dormant": 0.0, "recruiter": 0.8}[kind]
    days = 365 - (joined - start).days
    pause = (rng.randint(20, 80), rng.randint(100, 160)) if kind == "quiet" else None
    customers = [f"c-{n}-{k}" for k in range(rng.randint(3, 70 if kind == "star" else 15))]
    for day in range(1, days):
        if pause and pause[0] <= day < pause[1]:
            continue
        t0 = joined + timedelta(days=day)
        for _ in range(int(rate) + (1 if rng.random() < rate - int(rate) else 0)):
            t = t0 + timedelta(seconds=rng.randint(0, 86399))
            r = rng.random()
            if r < 0.62:
                add(t, "click", p, {"campaign": rng.choice(["spring", "summer", "evergreen"])})
            elif r < 0.80 or (kind == "recruiter" and r < 0.9):
                add(t, "signup", p, {"lead": f"l-{seq}"})
            elif r < 0.93:
                amount = round(rng.choice([19.9, 49.9, 129.9, 299.0, 1499.0]) * (3 if kind == "star" else 1), 2)
                add(t, "sale", p, {"customer": rng.choice(customers), "amount": amount})
                if rng.random() < 0.06:
                    add(t + timedelta(days=rng.randint(1, 20)), "refund", p, {"amount": round(amount / 2, 2)})
            else:
                add(t, "commission", p, {"amount": round(rng.uniform(5, 150), 2)})
    if rng.random() < 0.2:
        add(joined + timedelta(days=rng.randint(5, 60)), "contract.signed", p, {"plan": "pro"})
    if rng.random() < 0.15:
        add(joined + timedelta(days=rng.randint(5, 90)), "update", p, {"country": rng.choice(countries)})

events.sort(key=lambda te: te[0])
ordered = [e for _, e in events]
# A few re-deliveries (the same event, id and all, a little later). The
# events are otherwise in time order, as `ptag run` expects (out-of-order
# arrivals are covered by tests/conformance/arrival_order.ptag).
for k in range(100, len(ordered), len(ordered) // 6):
    ordered.insert(k + 3, ordered[k])

with open("examples/events.jsonl", "w") as out:
    for e in ordered:
        out.write(json.dumps(e, separators=(",", ":")) + "\n")
print(len(ordered), "events")
