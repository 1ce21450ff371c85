"""The partners page of `ptag serve` in a real (headless) Chromium, against a
real server on loopback: the token, tag filters, a segment query and its
error, sorting, one partner's journey, the tags view and its chart, flows,
live updates, a phone-wide layout, and no console errors.
Usage: test_page.py PTAG WORK

The expected partners are computed here from the events and a model of the
four rules below, never copied from the server's output."""
import csv
import json
import os
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_lib import work_dir  # noqa: E402
from cdp import Browser, CDPError  # noqa: E402
from serve_lib import AD, IN, RD, Server, check, event, finish, jsonl, write_config  # noqa: E402

PTAG, WORK, SHOTS = work_dir(sys.argv)

with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n'
            'rule "Bronze" on first_sale remove "New Partner" add "Bronze"\n'
            'rule "Silver" on milestone revenue >= 1000 add "Silver"\n'
            'rule "Referrer" on first_signup add "Referrer"\n')
write_config("ptag.toml")

# A partner id with markup in it: the page must show it as text.
ODD = "p-<g>"
EVENTS = [
    event("join", "p-a", "2026-01-01T09:00:00Z", "j-a"),
    event("join", "p-b", "2026-01-02T09:00:00Z", "j-b"),
    event("join", "p-c", "2026-01-03T09:00:00Z", "j-c"),
    event("sale", "p-a", "2026-01-04T10:00:00Z", "s-a1", amount=300, customer="c-1"),
    event("join", "p-d", "2026-01-05T09:00:00Z", "j-d"),
    event("sale", "p-b", "2026-01-06T12:00:00Z", "s-b1", amount=600, customer="c-2"),
    event("join", "p-e", "2026-01-07T09:00:00Z", "j-e"),
    event("signup", "p-c", "2026-01-08T09:00:00Z", "u-c", customer="c-3"),
    event("join", ODD, "2026-01-09T09:00:00Z", "j-g"),
    event("sale", "p-b", "2026-01-10T08:00:00Z", "s-b2", amount=700, customer="c-2"),
    event("sale", "p-e", "2026-01-11T09:30:00Z", "s-e1", amount=2000, customer="c-4"),
    event("signup", "p-e", "2026-01-12T09:00:00Z", "u-e", customer="c-5"),
    event("sale", ODD, "2026-01-13T09:00:00Z", "s-g1", amount=50, customer="c-6"),
]
LATE = event("signup", "p-d", "2026-01-20T09:00:00Z", "u-d", customer="c-7")


def model(events):
    """The four rules, applied by hand: partners in first-appearance order with
    their tags, metrics, and each tag's first 'given' time."""
    parts = {}
    for e in events:
        p = parts.setdefault(e["partner"], {"tags": set(), "revenue": 0, "sales": 0, "signups": 0,
                                            "given": {}, "sold": False, "signed": False, "silver": False})
        def give(tag):
            p["tags"].add(tag)
            p["given"].setdefault(tag, e["time"])
        if e["type"] == "join":
            give("New Partner")
        elif e["type"] == "sale":
            p["revenue"] += e["data"]["amount"]
            p["sales"] += 1
            if not p["sold"]:
                p["sold"] = True
                p["tags"].discard("New Partner")
                give("Bronze")
            if p["revenue"] >= 1000 and not p["silver"]:
                p["silver"] = True
                give("Silver")
        elif e["type"] == "signup":
            p["signups"] += 1
            if not p["signed"]:
                p["signed"] = True
                give("Referrer")
    return parts


M = model(EVENTS)
ORDER = list(M)  # first appearance

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()
st, body, _ = s.request("POST", "/v1/events", jsonl(EVENTS), IN)
check(st == 200 and body.get("applied") == len(EVENTS), f"the events are applied: {st} {body}")


def get(path):
    st, body, _ = s.request("GET", path, token=RD)
    if st != 200:
        raise RuntimeError(f"GET {path}: {st} {body}")
    return body


# The server agrees with the model, so the page's numbers below are checked
# against numbers computed here.
want_tags = {}
for p in M.values():
    for t in p["tags"]:
        want_tags[t] = want_tags.get(t, 0) + 1
check(get("/v1/tags")["tags"] == dict(sorted(want_tags.items())), f"/v1/tags as the model: {want_tags}")

ROWS = "[...document.querySelectorAll('#partners-table tbody tr[data-partner]')].map(r => r.dataset.partner)"
IDLE = "!document.body.dataset.loading"


def rows_become(b, expected, what, timeout=10):
    try:
        compact = json.dumps(expected, separators=(",", ":"))  # as JSON.stringify writes it
        b.wait_for(f"{IDLE} && JSON.stringify({ROWS}) === {json.dumps(compact)}", timeout)
        check(True, what)
    except CDPError:
        check(False, f"{what}: want {expected}, the page lists {b.evaluate(ROWS)}")


def shot(b, name):
    b.screenshot(os.path.join(SHOTS, name + ".png"))


def no_overflow(b, what):
    b.wait_for(IDLE, 10)
    sw, iw = b.evaluate("[document.documentElement.scrollWidth, innerWidth]")
    check(sw <= iw, f"{what}: no horizontal scroll of the page at {iw} px (scrollWidth {sw})")


BAD_QUERY = 'tagged "Silver" and'
try:
    with Browser(1280, 800) as b:
        b.call("Network.enable")  # to check below that the token is in no request's address
        # A wrong token in the fragment: the form asks for another, with a message.
        b.navigate(s.url("/#token=wrong-token"))
        b.wait_for("!document.getElementById('token-view').hidden", 10)
        check(b.evaluate("location.hash") == "", "the token is removed from the address bar")
        check("refused" in b.evaluate("document.getElementById('token-message').textContent"),
              "a refused token is said so")
        b.type_text("#token-input", RD)
        b.press_key("Enter")
        b.wait_for(f"{IDLE} && {ROWS}.length > 0", 10)
        b.console.clear()  # the 401s above were asked for
        b.exceptions.clear()
        check(b.evaluate("sessionStorage.getItem('ptag-token')") == RD, "the token is kept for the tab")
        rows_become(b, ORDER, "every partner, in order of first appearance")
        check(b.evaluate("document.getElementById('partners-summary').dataset.total") == str(len(ORDER)),
              "the total count")
        check(b.evaluate(f"document.querySelector('#partners-table tr[data-partner={json.dumps(ODD)}] a').textContent")
              == ODD and b.evaluate("document.querySelectorAll('#partners-table g').length") == 0,
              "a partner id with markup is shown as text")
        shot(b, "partners-1280")

        # Keyboard only: from a fresh load, Tab reaches the skip link first,
        # then a tag filter, which Space ticks and unticks.
        b.navigate(s.url("/"))
        rows_become(b, ORDER, "a fresh load with the kept token")
        b.press_key("Tab")
        check(b.evaluate("document.activeElement.classList.contains('skip-link')"), "the first Tab is the skip link")
        target = '#has-tags input[data-tag="Referrer"]'
        for _ in range(40):
            if b.evaluate(f"document.activeElement === document.querySelector({json.dumps(target)})"):
                break
            b.press_key("Tab")
        if check(b.evaluate(f"document.activeElement === document.querySelector({json.dumps(target)})"),
                 "Tab reaches the has-tag filter"):
            b.press_key(" ")
            rows_become(b, [p for p in ORDER if "Referrer" in M[p]["tags"]], "Space ticks has Referrer")
            check(b.evaluate("document.activeElement.dataset.tag") == "Referrer", "the focus stays on the filter")
            b.press_key(" ")
            rows_become(b, ORDER, "Space unticks it")

        # Tag filters through the checkboxes: has Bronze, lacks Silver.
        b.click('#has-tags input[data-tag="Bronze"]')
        b.wait_for(f"{IDLE} && location.search.includes('has=Bronze')", 10)
        b.click('#lacks-tags input[data-tag="Silver"]')
        want = [p for p in ORDER if "Bronze" in M[p]["tags"] and "Silver" not in M[p]["tags"]]
        rows_become(b, want, "has Bronze and lacks Silver")
        check("lacks=Silver" in b.evaluate("location.search"), "the filter is in the address")
        shot(b, "partners-filtered")

        # Export CSV of that segment: a real download, the same partners.
        downloads = os.path.join(WORK, "downloads")
        os.makedirs(downloads, exist_ok=True)
        b.send("Browser.setDownloadBehavior", behavior="allow", downloadPath=downloads)
        b.click("#export-csv")
        deadline = time.time() + 10
        while time.time() < deadline and not any(n.endswith(".csv") for n in os.listdir(downloads)):
            time.sleep(0.1)
        files = [n for n in os.listdir(downloads) if n.endswith(".csv")]
        if check(files, f"Export CSV downloads a file: {os.listdir(downloads)}"):
            with open(os.path.join(downloads, files[0]), newline="") as f:
                rows = list(csv.reader(f))
            check(rows[0][:2] == ["partner", "tags"] and [r[0] for r in rows[1:]] == want,
                  f"the CSV holds the segment's partners: {rows}")

        # Back to no filter, then a segment query typed and applied with Enter.
        b.evaluate("history.go(-2)")
        rows_become(b, ORDER, "back twice: no filter")
        b.type_text("#query", 'tagged "Referrer" and revenue > 0')
        b.press_key("Enter")
        want = [p for p in ORDER if "Referrer" in M[p]["tags"] and M[p]["revenue"] > 0]
        rows_become(b, want, "the segment query's partners")

        # A query that does not compile: its diagnostic with a caret, no rows.
        b.type_text("#query", BAD_QUERY)
        b.press_key("Enter")
        b.wait_for("!document.getElementById('query-error').hidden", 10)
        err = b.evaluate("document.getElementById('query-error').textContent")
        check("^" in err and BAD_QUERY in err, f"the query's error shows the query and a caret: {err!r}")
        check(b.evaluate(f"{ROWS}.length") == 0, "no rows for a query that does not compile")
        shot(b, "query-error")

        # Sorting by revenue, largest first, with the header's button.
        b.click("#clear-filters")
        rows_become(b, ORDER, "the filters cleared")
        b.click("#partners-table button[data-sort=revenue]")
        want = sorted(ORDER, key=lambda p: -M[p]["revenue"])  # stable: ties keep first appearance
        rows_become(b, want, "sorted by revenue, descending")
        check(b.evaluate("document.querySelector('#partners-table th[data-col=revenue]').getAttribute('aria-sort')")
              == "descending", "aria-sort on the sorted column")
        check("sort=-revenue" in b.evaluate("location.search"), "the sort is in the address")
        check(b.evaluate("document.activeElement.dataset.sort") == "revenue", "the focus stays on the sort button")

        # One partner: its timeline is its history, newest first.
        b.click('#partners-table a[data-partner="p-b"]')
        b.wait_for(f"{IDLE} && document.getElementById('partner-id').textContent === 'p-b'"
                   " && document.querySelectorAll('#timeline li[data-action]').length > 0", 10)
        hist = get("/v1/partners/" + urllib.parse.quote("p-b", safe="") + "/history")["records"]
        shown = b.evaluate("[...document.querySelectorAll('#timeline li[data-action]')].map(l =>"
                           " [l.dataset.time, l.dataset.action, l.dataset.tag ?? l.dataset.name, l.dataset.event])")
        check(shown == [[r["time"], r["action"], r.get("tag", r.get("name")), r.get("event", "")] for r in hist],
              f"the timeline is the partner's history: {shown} vs {hist}")
        # The model: p-b was given New Partner, then its first sale ran "Bronze"'s
        # actions in their order (remove New Partner, add Bronze), then Silver.
        check([(r["action"], r["tag"]) for r in reversed(hist)] ==
              [("add", "New Partner"), ("remove", "New Partner"), ("add", "Bronze"), ("add", "Silver")],
              f"p-b's history as the rules say: {hist}")
        check(b.evaluate("document.querySelector('#timeline li[data-action]').textContent").find("Silver") >= 0,
              "the newest change comes first")
        # Its metrics, formatted by their unit as GET /v1/metrics gives it, each named with what it holds.
        shown = b.evaluate("Object.fromEntries([...document.querySelectorAll('#partner-metrics dt')].map(d =>"
                           " [d.textContent, [d.nextElementSibling.textContent, d.querySelector('abbr')?.title || '']]))")
        want = get("/v1/partners/p-b")["metrics"]
        check(list(shown) == list(want), f"every metric, in the table's order: {shown}")
        check(shown.get("revenue", [""])[0] == f"{want['revenue']:,.2f}" and shown.get("sales", [""])[0] == str(want["sales"]),
              f"revenue as money, sales as a count: {shown} vs {want}")
        check(all(title for _, title in shown.values()), f"each metric says what it holds: {shown}")
        shot(b, "partner-1280")
        b.set_viewport(375, 800)
        no_overflow(b, "one partner")
        shot(b, "partner-375")
        b.set_viewport(1280, 800)

        # A bookmarked segment opened directly: filters, query, sort and page
        # come from the address; Previous goes to page 1.
        q = "revenue > 100"
        b.navigate(s.url("/?" + urllib.parse.urlencode({"has": "Bronze", "q": q, "sort": "-revenue", "page": "2"})))
        b.wait_for(f"{IDLE} && document.getElementById('page-info').textContent.startsWith('Page 2')", 10)
        check(b.evaluate(f"{ROWS}.length") == 0, "page 2 of a one-page segment is empty")
        check(b.evaluate("document.querySelector('#has-tags input[data-tag=\"Bronze\"]').checked")
              and b.evaluate("document.getElementById('query').value") == q, "the filters come from the address")
        b.click("#page-prev")
        want = sorted([p for p in ORDER if "Bronze" in M[p]["tags"] and M[p]["revenue"] > 100],
                      key=lambda p: -M[p]["revenue"])
        rows_become(b, want, "Previous: page 1 of the bookmarked segment")
        check("page=2" not in b.evaluate("location.search"), "the address follows the pager")

        # The odd id, opened by its address (encoded in the API path).
        b.navigate(s.url("/?partner=" + urllib.parse.quote(ODD, safe="")))
        b.wait_for(f"{IDLE} && document.querySelectorAll('#timeline li[data-action]').length > 0", 10)
        check(b.evaluate("document.getElementById('partner-id').textContent") == ODD, "the odd partner's page")
        b.navigate(s.url("/?partner=nobody"))
        b.wait_for("!document.getElementById('partner-missing').hidden", 10)
        check("nobody" in b.evaluate("document.getElementById('partner-missing').textContent"), "404: a clear message")

        # The tags view: the counts of /v1/tags and one line per tag of the history.
        b.click("#nav-tags")
        b.wait_for(f"{IDLE} && document.querySelector('#history-chart svg')", 10)
        counts = b.evaluate("Object.fromEntries([...document.querySelectorAll('#tags-table tbody tr[data-tag]')]"
                            ".map(r => [r.dataset.tag, r.querySelector('[data-field=count]').textContent]))")
        check(counts == {t: str(n) for t, n in want_tags.items()}, f"the tags table: {counts}")
        series = get("/v1/tags/history")["tags"]
        every_given = {t for p in M.values() for t in p["given"]}
        check(set(series) == every_given, f"the history names every tag ever given: {sorted(series)}")
        paths = b.evaluate("[...document.querySelectorAll('#history-chart svg path.series')].map(p => p.dataset.tag)")
        check(sorted(paths) == sorted(series), f"one line per tag: {paths}")
        check(b.evaluate("!!document.querySelector('#history-chart svg title')"), "the chart has a title")
        shot(b, "tags-1280")
        b.set_viewport(375, 800)
        no_overflow(b, "the tags view")
        shot(b, "tags-375")
        b.set_viewport(1280, 800)

        # Flows from New Partner to Bronze, through the form.
        b.click("#nav-flows")
        b.wait_for(f"{IDLE} && document.querySelectorAll('#flow-from option').length > 1", 10)
        b.evaluate("document.getElementById('flow-from').value = 'New Partner';"
                   "document.getElementById('flow-to').value = 'Bronze'")
        b.click("#flow-show")
        b.wait_for(f"{IDLE} && document.querySelector('#flow-result [data-field=moved]')", 10)
        flow = get("/v1/flows?from=New%20Partner&to=Bronze")
        had = [p for p in ORDER if "New Partner" in M[p]["given"]]
        moved = [p for p in had if "Bronze" in M[p]["given"] and M[p]["given"]["Bronze"] >= M[p]["given"]["New Partner"]]
        check(flow["from_partners"] == len(had) and flow["moved"] == len(moved), f"/v1/flows as the model: {flow}")
        field = "document.querySelector('#flow-result [data-field=%s]').%s"
        check(b.evaluate(field % ("moved", "textContent")) == str(flow["moved"])
              and b.evaluate(field % ("from_partners", "textContent")) == str(flow["from_partners"]),
              "the flow's counts on the page")
        check(b.evaluate(field % ("median", "dataset.seconds")) == str(flow["median_seconds"]).removesuffix(".0"),
              f"the flow's median on the page: {flow}")
        check("from=New+Partner" in b.evaluate("location.search") or "from=New%20Partner" in b.evaluate("location.search"),
              "the flow is in the address")
        shot(b, "flows-1280")

        # Live: one more event shows up in the latest changes and in the table.
        b.click("#nav-partners")
        b.wait_for(f"{IDLE} && {ROWS}.length === {len(ORDER)}", 10)
        b.wait_for("document.querySelectorAll('#live-list li').length > 0", 10)
        st, body, _ = s.request("POST", "/v1/events", json.dumps(LATE), IN)
        check(st == 200 and body.get("applied") == 1, f"the late event is applied: {body}")
        try:
            b.wait_for("[...document.querySelectorAll('#live-list li')].some(l => l.dataset.partner === 'p-d'"
                       " && l.textContent.includes('Referrer'))", 8)
            check(True, "the new change appears in the latest changes")
        except CDPError:
            check(False, "the new change appears in the latest changes: "
                  + str(b.evaluate("document.getElementById('live-list').textContent")))
        try:
            b.wait_for("[...document.querySelectorAll('#partners-table tr[data-partner=\"p-d\"] .chip')]"
                       ".some(c => c.textContent === 'Referrer')", 8)
            check(True, "the table refreshes with the new tag")
        except CDPError:
            check(False, "the table refreshes with the new tag")
        shot(b, "live")

        b.set_viewport(375, 800)
        no_overflow(b, "the partners view")
        shot(b, "partners-375")

        # The page's own CSP keeps everything working: no errors but the 400
        # of the bad query and the 404 of the missing partner, both asked for.
        bad_q = urllib.parse.urlencode({"q": BAD_QUERY})
        errs = b.errors(expected=[bad_q, "/v1/partners/nobody"])
        check(errs == [], f"no console errors: {errs}")
        urls = [p["request"]["url"] for m, p in b._events if m == "Network.requestWillBeSent"]
        check(len(urls) > 20 and not [u for u in urls if RD in u or "wrong-token" in u],
              f"the token is sent in no request's address ({len(urls)} requests)")
finally:
    s.stop()
finish()
