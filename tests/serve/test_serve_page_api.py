"""The JSON endpoints of the partners page, on a real `ptag serve` over
loopback: the segment table (filters, sorting, paging, bad parameters), its
CSV export, partners per tag over time and flows (checked against the records
recomputed here), the records after a seq, and the page's files.
Usage: test_serve_page_api.py PTAG WORK"""
import csv
import datetime
import io
import json
import os
import random
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, RD, Server, check, event, finish, fresh_dir, jsonl, write_config  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])

with open("rules.ptag", "w") as f:
    f.write('rule "welcome"   on join add "New Partner"\n'
            'rule "proven"    on first_sale add "Proven"\n'
            'rule "graduated" on first_sale remove "New Partner"\n'
            'rule "vip"       on milestone revenue >= 1000 add "VIP"\n'
            'rule "quiet"     on inactive 10d add "At Risk"\n'
            'rule "back"      on sale when tagged "At Risk" remove "At Risk"\n'
            'rule "ping"      on click emit "clicked"\n')
write_config("ptag.toml")
DAY = 86400
START = int(datetime.datetime(2026, 1, 5, tzinfo=datetime.timezone.utc).timestamp())  # a Monday


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# 40 partners (two with ids a spreadsheet or a CSV reader would trip on),
# joining over 20 days, with 0 to 4 sales each.
rng = random.Random(7)
ids = [f"p{i:02d}" for i in range(1, 39)] + ['p,"39"', "=p40"]
events, model = [], {}
for n, pid in enumerate(ids):
    joined = START + rng.randrange(0, 20) * DAY + n
    country = rng.choice(["DE", "FR", "US"])
    model[pid] = {"joined": joined, "country": country, "revenue": 0, "sales": 0}
    events.append(event("join", pid, utc(joined), f"j-{n}", country=country))
    for k in range(rng.randrange(0, 5)):
        t = joined + rng.randrange(1, 25) * DAY + k
        amount = rng.choice([50, 200, 400, 700])
        events.append(event("sale", pid, utc(t), f"s-{n}-{k}", amount=amount))
        model[pid]["revenue"] += amount
        model[pid]["sales"] += 1
# A partner with no join: joined from its first event (docs/language.md).
model["p-nojoin"] = {"joined": START + 3 * DAY, "country": None, "revenue": 400, "sales": 1}
events.append(event("sale", "p-nojoin", utc(START + 3 * DAY), "s-nojoin", amount=400))
ids.append("p-nojoin")
events.sort(key=lambda e: e["time"])
order = []  # first appearance
for e in events:
    if e["partner"] not in order:
        order.append(e["partner"])

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()
for i in range(0, len(events), 25):
    st, body, _ = s.request("POST", "/v1/events", jsonl(events[i:i + 25]), IN)
    check(st == 200 and body["applied"] == len(events[i:i + 25]), f"ingest batch {i}: {st} {body}")
    if i == 50:  # the chart's counts are kept from here on and later read incrementally
        st, body, _ = s.request("GET", "/v1/tags/history", token=RD)
        check(st == 200 and body["times"], f"an early chart: {st} {body}")
END = START + 70 * DAY
st, body, _ = s.request("POST", "/v1/advance", json.dumps({"until": utc(END)}), AD)
check(st == 200, f"advance: {st} {body}")
# A click after every tag change: its emit record is outside the chart's span.
st, body, _ = s.request("POST", "/v1/events", jsonl([event("click", "p01", utc(END + 5 * DAY), "c-late")]), IN)
check(st == 200 and body["applied"] == 1, f"a late click: {body}")


def get(path, token=RD, **params):
    query = urllib.parse.urlencode(params, doseq=True, quote_via=urllib.parse.quote)
    return s.request("GET", path + ("?" + query if query else ""), token=token)


def segment_ids(**params):
    ids_out, page = [], 1
    while True:
        st, body, _ = get("/v1/segment", per_page=7, page=page, **params)
        if not check(st == 200, f"segment {params} page {page}: {st} {body}"):
            return None
        ids_out += [p["partner"] for p in body["partners"]]
        if page >= body["pages"]:
            check(body["total"] == len(ids_out), f"total {body['total']} vs {len(ids_out)} rows")
            return ids_out
        page += 1


def tags_of(pid):
    st, body, _ = s.request("GET", "/v1/partners/" + urllib.parse.quote(pid, safe=""), token=RD)
    return {t["tag"] for t in body["tags"]} if st == 200 else None


# Segment filters: has all / has none / query, against the model.
vip = {p for p in ids if model[p]["revenue"] >= 1000}
proven = {p for p in ids if model[p]["sales"] > 0}
check(vip and proven - vip, f"the data has VIPs ({len(vip)}) and other proven partners ({len(proven - vip)})")
got = segment_ids(has="Proven", lacks="VIP")
check(got == [p for p in order if p in proven - vip], f"has=Proven lacks=VIP: {got}")
got = segment_ids(has=["Proven,VIP"])
check(got == [p for p in order if p in vip], f"has=Proven,VIP: {got}")
got = segment_ids(lacks="Proven")
check(got == [p for p in order if p not in proven], f"lacks=Proven: {got}")
got = segment_ids(has="Proven", q='revenue >= 400 and partner.country in ["DE"]')
want = [p for p in order if p in proven and model[p]["revenue"] >= 400 and model[p]["country"] == "DE"]
check(want and got == want, f"has + q: {got} vs {want}")
got = segment_ids(has=["Proven", " VIP "])
check(got == [p for p in order if p in vip], f"has repeated, with spaces: {got}")
got = segment_ids(has="Proven , VIP")
check(got == [p for p in order if p in vip], f"has with spaces around the comma: {got}")
got = segment_ids(has="Nobody Has This")
check(got == [], f"an unknown tag: {got}")
# Every row's tags are the partner's tags now, sorted.
st, body, _ = get("/v1/segment", per_page=500)
check(st == 200 and body["total"] == len(ids) and body["pages"] == 1, f"all partners on one page: {body.get('total')}")
for row in body.get("partners", []):
    check(row["tags"] == sorted(tags_of(row["partner"])), f"tags of {row['partner']}: {row['tags']}")
    m = model[row["partner"]]
    check(row["revenue"] == m["revenue"] and row["sales"] == m["sales"] and row["signups"] == 0,
          f"metrics of {row['partner']}: {row}")
    check(row["joined_at"] == utc(m["joined"]), f"joined_at of {row['partner']}: {row['joined_at']}")

# Sorting: ties keep first appearance in both directions.
rank = {p: i for i, p in enumerate(order)}
got = segment_ids(sort="-revenue")
check(got == sorted(order, key=lambda p: (-model[p]["revenue"], rank[p])), f"sort=-revenue: {got}")
got = segment_ids(sort="revenue")
check(got == sorted(order, key=lambda p: (model[p]["revenue"], rank[p])), f"sort=revenue: {got}")
got = segment_ids(sort="partner")
check(got == sorted(order), f"sort=partner: {got}")
got = segment_ids(sort="-joined")
check(got == sorted(order, key=lambda p: (-model[p]["joined"], rank[p])), f"sort=-joined: {got}")
got = segment_ids(sort="joined")
check(got == sorted(order, key=lambda p: (model[p]["joined"], rank[p])), f"sort=joined: {got}")
got = segment_ids(sort="-first")
check(got == order[::-1], f"sort=-first: {got}")
# The metrics, as the server describes them: every one sorts, and the partner's JSON has them in that order.
st, body, _ = get("/v1/metrics")
names = [m["name"] for m in body.get("metrics", [])] if st == 200 else []
check(names == ["signups", "customers", "revenue", "sales", "clicks", "commissions"] and
      {m["name"]: m["unit"] for m in body["metrics"]}["revenue"] == "money" and
      {m["name"]: m["unit"] for m in body["metrics"]}["sales"] == "count" and all(m["summary"] for m in body["metrics"]),
      f"GET /v1/metrics: {st} {body}")
st, one, _ = s.request("GET", "/v1/partners/" + urllib.parse.quote(order[0], safe=""), token=RD)
check(st == 200 and list(one["metrics"]) == names, f"a partner's metrics in the table's order: {one.get('metrics')}")
got = segment_ids(sort="-sales")
check(got == sorted(order, key=lambda p: (-model[p]["sales"], rank[p])), f"sort=-sales (a metric by its name): {got}")
st, body, _ = get("/v1/segment", sort="nonsense")
check(st == 400 and "clicks" in body.get("error", "") and "last_activity" in body.get("error", ""),
      f"a bad sort lists the fields and the metrics: {st} {body}")

# Paging.
st, body, _ = get("/v1/segment", per_page=6, page=3, sort="-sales")
want = sorted(order, key=lambda p: (-model[p]["sales"], rank[p]))[12:18]
check(st == 200 and [p["partner"] for p in body["partners"]] == want and body["pages"] == 7 and body["page"] == 3,
      f"page 3 of 6: {body}")
st, body, _ = get("/v1/segment", per_page=6, page=99)
check(st == 200 and body["partners"] == [] and body["total"] == len(ids), f"a page past the last: {st} {body}")
st, body, _ = get("/v1/segment", has="Nobody")
check(st == 200 and body["total"] == 0 and body["pages"] == 1, f"no partners, one page: {body}")
for page, per in [("999999999999999999", "50"), ("18446744073709553", "500")]:
    st, body, _ = get("/v1/segment", page=page, per_page=per)
    check(st == 200 and body["partners"] == [] and body["total"] == len(ids), f"page {page}: {st} {body}")
st, body, _ = get("/v1/segment", per_page=1)
check(st == 200 and len(body["partners"]) == 1, "the server answers after a huge page")

# Bad parameters: 400 naming the parameter.
for params, name in [({"sort": "bogus"}, "sort"), ({"sort": "--revenue"}, "sort"), ({"page": "0"}, "page"),
                     ({"page": "x"}, "page"), ({"page": "-1"}, "page"), ({"per_page": "501"}, "per_page"),
                     ({"per_page": "0"}, "per_page"), ({"q": "tagged VIP"}, "q"), ({"q": "revenue >"}, "q")]:
    st, body, _ = get("/v1/segment", **params)
    check(st == 400 and body.get("parameter") == name, f"{params}: {st} {body}")
st, body, _ = get("/v1/segment", q="tagged VIP and")
rendered = body.get("diagnostics", [{}])[0].get("rendered", "") if st == 400 else ""
check("^" in rendered and "tagged VIP and" in rendered, f"the query's error has the caret text: {body}")
st, body, _ = get("/v1/segment", token=None)
check(st == 401, f"no token: {st}")
st, body, _ = get("/v1/segment", token=IN)
check(st == 401, f"an ingest token does not read: {st}")

# CSV: every partner of the segment, in the same order, fields round-trip.
st, text, hdrs = get("/v1/segment.csv", sort="-revenue")
check(st == 200 and hdrs.get("Content-Type", "").startswith("text/csv"), f"csv: {st} {hdrs.get('Content-Type')}")
check('filename="partners.csv"' in hdrs.get("Content-Disposition", ""), f"csv download name: {hdrs}")
rows = list(csv.reader(io.StringIO(text)))
check(rows and rows[0] == ["partner", "tags", "joined_at", "last_activity", "revenue", "sales", "signups",
                           "clicks", "commissions", "customers"], f"csv header: {rows[:1]}")
csv_ids = [r[0] for r in rows[1:]]
want = sorted(order, key=lambda p: (-model[p]["revenue"], rank[p]))
check(csv_ids == [("'" + p if p.startswith("=") else p) for p in want], f"csv partners: {csv_ids}")
for r in rows[1:]:
    pid = r[0][1:] if r[0].startswith("'=") else r[0]
    check(r[1] == "; ".join(sorted(tags_of(pid))) and r[4] == str(model[pid]["revenue"]), f"csv row {r}")
st, text, _ = get("/v1/segment.csv", has="VIP")
check(st == 200 and len(list(csv.reader(io.StringIO(text)))) == len(vip) + 1, "csv of has=VIP")
st, body, _ = get("/v1/segment.csv", q="revenue >")
check(st == 400 and body.get("parameter") == "q", f"csv with a bad query: {st} {body}")

# The records, all of them, paged with after/next.
records, after = [], 0
while True:
    st, body, _ = get("/v1/records", after=after, limit=1000)
    if not check(st == 200, f"records after {after}: {st} {body}"):
        break
    records += body["records"]
    if not body["records"]:
        check(body["next"] == after and body["last"] == len(records), f"end of the records: {body}")
        break
    after = body["next"]
check([r["seq"] for r in records] == list(range(1, len(records) + 1)), "records are numbered 1..n")
st, body, _ = get("/v1/records", after=3, limit=2)
check([r["seq"] for r in body["records"]] == [4, 5] and body["next"] == 5, f"after=3 limit=2: {body}")
check(body["records"][0] == records[3], f"a record's fields: {body['records'][0]} vs {records[3]}")
st, body, _ = get("/v1/records", limit=3)
check([r["seq"] for r in body["records"]] == [len(records) - 2, len(records) - 1, len(records)]
      and body["next"] == len(records), f"the last three: {body}")
for params in [{"after": "x"}, {"after": "-1"}, {"limit": "0"}, {"limit": "1001"}]:
    st, body, _ = get("/v1/records", **params)
    check(st == 400 and body.get("parameter") == list(params)[0], f"records {params}: {st} {body}")
pid = order[0]
st, body, _ = get("/v1/partners/" + urllib.parse.quote(pid, safe="") + "/history")
check(body["records"] == [{k: v for k, v in r.items() if k != "seq"} for r in records if r["partner"] == pid][::-1],
      f"the history of {pid} is its records, newest first")


# Partners per tag over time, recomputed from the records.
def parse(t):
    return int(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def start_of(t, interval):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date()
    if interval == "week":
        d -= datetime.timedelta(days=d.weekday())
    elif interval == "month":
        d = d.replace(day=1)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp())


def next_of(t, interval):
    d = datetime.datetime.fromtimestamp(t, datetime.timezone.utc).date()
    if interval == "month":
        d = (d.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    else:
        d += datetime.timedelta(days=7 if interval == "week" else 1)
    return int(datetime.datetime(d.year, d.month, d.day, tzinfo=datetime.timezone.utc).timestamp())


def expected_history(records, interval, only=None):
    changes = sorted(((parse(r["time"]), r["tag"], 1 if r["action"] == "add" else -1)
                      for r in records if r["action"] != "emit" and (only is None or r["tag"] in only)),
                     key=lambda c: c[0])
    emits = [parse(r["time"]) for r in records if r["action"] == "emit"]
    check(emits and max(emits) > max(parse(r["time"]) for r in records if r["action"] != "emit"),
          "an emit record after the last tag change")
    tags = sorted({c[1] for c in changes}) if only is None else only
    times, series, counts, i = [], {t: [] for t in tags}, {t: 0 for t in tags}, 0
    every = [parse(r["time"]) for r in records if r["action"] != "emit"]  # the add and remove records' days
    at = start_of(min(every), interval)
    while at <= max(every):
        times.append(utc(at))
        end = next_of(at, interval)
        while i < len(changes) and changes[i][0] < end:
            counts[changes[i][1]] += changes[i][2]
            i += 1
        for t in tags:
            series[t].append(counts[t])
        at = end
    return times, series


st, now_counts, _ = get("/v1/tags")
check(now_counts["known"] == ["At Risk", "New Partner", "Proven", "VIP"], f"known tags: the rules' tags: {now_counts}")
for interval in ["day", "week", "month"]:
    st, body, _ = get("/v1/tags/history", interval=interval)
    times, series = expected_history(records, interval)
    check(st == 200 and body["interval"] == interval and body["times"] == times and body["tags"] == series,
          f"tags over time by {interval}: {st} {json.dumps(body)[:300]}")
    check({t: v[-1] for t, v in body.get("tags", {}).items() if v[-1]} == now_counts["tags"],
          f"the last {interval} ends with the tags now: {now_counts}")
st, body, _ = get("/v1/tags/history")
check(st == 200 and body["interval"] == "day", f"auto picks day for {len(body.get('times', []))} days")
st, body, _ = get("/v1/tags/history", tag=["VIP", "Nobody"], interval="week")
times, series = expected_history(records, "week", ["VIP", "Nobody"])
check(st == 200 and list(body["tags"]) == ["VIP", "Nobody"] and body["tags"] == series,
      f"chosen tags in the order asked: {body}")
st, body, _ = get("/v1/tags/history", interval="year")
check(st == 400 and body.get("parameter") == "interval", f"interval=year: {st} {body}")


# Flows, recomputed from the records.
def expected_flow(a, b):
    first, took = {}, {}
    for r in records:
        if r["action"] != "add":
            continue
        if r["tag"] == a:
            first.setdefault(r["partner"], parse(r["time"]))
        elif r["tag"] == b and r["partner"] in first and r["partner"] not in took:
            took[r["partner"]] = max(0, parse(r["time"]) - first[r["partner"]])
    return len(first), sorted(took.values())


def quantile(v, p):
    at = p * (len(v) - 1)
    lo = int(at)
    hi = min(lo + 1, len(v) - 1)
    return round(v[lo] + (v[hi] - v[lo]) * (at - lo))


for a, b in [("New Partner", "Proven"), ("Proven", "VIP"), ("New Partner", "At Risk"), ("VIP", "New Partner")]:
    st, body, _ = get("/v1/flows", **{"from": a, "to": b})
    n, took = expected_flow(a, b)
    want = {"from": a, "to": b, "from_partners": n, "moved": len(took),
            "median_seconds": quantile(took, 0.5) if took else None,
            "p25_seconds": quantile(took, 0.25) if took else None,
            "p75_seconds": quantile(took, 0.75) if took else None,
            "min_seconds": took[0] if took else None, "max_seconds": took[-1] if took else None}
    check(st == 200 and body == want, f"flow {a} -> {b}: {body} vs {want}")
st, body, _ = get("/v1/flows", **{"from": "New Partner", "to": "Proven"})
check(body.get("moved", 0) > 3, f"the data has a real flow: {body}")
for params, name in [({"to": "VIP"}, "from"), ({"from": "VIP"}, "to"), ({"from": "VIP", "to": "VIP"}, "to")]:
    st, body, _ = get("/v1/flows", **params)
    check(st == 400 and body.get("parameter") == name, f"flows {params}: {st} {body}")

# A history spanning more than 1,000 days: by day is refused, by week works.
st, body, _ = s.request("POST", "/v1/events", jsonl([event("join", "p-late", "2029-06-01T00:00:00Z", "late")]), IN)
check(st == 200 and body["applied"] == 1, f"a join three years on: {body}")
st, body, _ = get("/v1/tags/history", interval="day")
check(st == 400 and body.get("parameter") == "interval" and "week" in body.get("error", ""), f"too many days: {st} {body}")
st, body, _ = get("/v1/tags/history")
check(st == 200 and body["interval"] == "week", f"auto picks week over {len(body.get('times', []))} weeks: {body.get('interval')}")
st, body, _ = get("/v1/tags/history", tag="VIP", interval="month")
check(st == 200 and body["times"][-1] == "2029-06-01T00:00:00Z" and body["tags"]["VIP"][-1] == len(vip),
      f"a tag's chart runs to the last record of any tag: {body.get('times', [])[-1:]} {body.get('tags')}")

# The page's files: no token, no inline code allowed, the right types.
st, text, hdrs = s.request("GET", "/?has=VIP&q=" + urllib.parse.quote('revenue > 5'))
check(st == 200 and hdrs.get("Content-Type", "").startswith("text/html") and "<html" in text.lower(),
      f"the page at /: {st} {hdrs.get('Content-Type')}")
check("default-src 'self'" in hdrs.get("Content-Security-Policy", ""), f"the page's CSP: {hdrs}")
for path, kind in [("/app.js", "text/javascript"), ("/style.css", "text/css"), ("/index.html", "text/html")]:
    st, text, hdrs = s.request("GET", path)
    check(st == 200 and hdrs.get("Content-Type", "").startswith(kind) and text, f"{path}: {st} {hdrs.get('Content-Type')}")
st, _, _ = s.request("GET", "/nothing.js")
check(st == 404, f"an unknown file: {st}")

check(s.stop() == 0, "a clean stop")
finish()
