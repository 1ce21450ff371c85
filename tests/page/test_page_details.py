"""Details of the partners page in a real (headless) Chromium, against a real
server on loopback: a token put in the address of a tab that asks for one, a
journey newest first when events came out of order, rows of tags that stay
low, and text from webhooks (a U+202E RIGHT-TO-LEFT OVERRIDE in a partner id,
a tag, an attribute) that cannot reorder the text around it.
Usage: test_page_details.py PTAG WORK"""
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from page_lib import work_dir  # noqa: E402
from cdp import Browser, CDPError  # noqa: E402
from serve_lib import IN, RD, Server, check, event, finish, jsonl, write_config  # noqa: E402

PTAG, WORK, SHOTS = work_dir(sys.argv)

RLO = "\u202e"
EVIL = RLO + "p-evil"     # a partner id as a platform may send it
HOT = RLO + "Hot"         # a tag with the override in its name
NAME = RLO + "evil name"  # an attribute's value
UNTRUSTED = [EVIL, HOT, NAME, RLO + "nobody"]
LONG = "partner-4217@example.com"  # ids are often e-mail addresses

with open("rules.ptag", "w", encoding="utf-8") as f:
    f.write('on join add "Bronze"\n'
            'on first_sale add "Silver"\n'
            'on first_signup add "Gold"\n'
            'rule "VIP" on milestone revenue >= 1000 add "VIP"\n'
            f'on click add "{HOT}"\n')
write_config("ptag.toml")

EVENTS = [
    event("join", "p-1", "2026-01-01T09:00:00Z", "j-1"),
    event("join", LONG, "2026-01-02T09:00:00Z", "j-2"),
    event("sale", LONG, "2026-01-02T10:00:00Z", "s-2", amount=1234567.89, customer="c-2"),
    # Four short tags: Bronze, Silver, VIP, Gold.
    event("join", "p-four", "2026-01-03T09:00:00Z", "j-4"),
    event("sale", "p-four", "2026-01-04T09:00:00Z", "s-4", amount=1500, customer="c-4"),
    event("signup", "p-four", "2026-01-05T09:00:00Z", "u-4", customer="c-5"),
    # p-late's sale and signup came before its join (a platform's webhooks
    # arrive in any order): the audit trail's order is not the times' order.
    event("sale", "p-late", "2026-01-10T09:00:00Z", "s-l", amount=200, customer="c-6"),
    event("signup", "p-late", "2026-01-12T09:00:00Z", "u-l", customer="c-7"),
    event("join", "p-late", "2026-01-06T09:00:00Z", "j-l"),
    event("join", EVIL, "2026-01-07T09:00:00Z", "j-e", name=NAME),
    event("click", EVIL, "2026-01-08T09:00:00Z", "k-e"),
    event("sale", EVIL, "2026-01-09T09:00:00Z", "s-e", amount=50, customer="c-8"),
]

s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()
st, body, _ = s.request("POST", "/v1/events", jsonl(EVENTS), IN)
check(st == 200 and body.get("applied") == len(EVENTS), f"the events are applied: {st} {body}")

ROWS = "[...document.querySelectorAll('#partners-table tbody tr[data-partner]')].map(r => r.dataset.partner)"
IDLE = "!document.body.dataset.loading"
PARTNERS = list(dict.fromkeys(e["partner"] for e in EVENTS))


def js(value):
    """A JavaScript (and CSS) string literal; U+202E stays itself."""
    return json.dumps(value, ensure_ascii=False)


def shot(b, name):
    b.screenshot(os.path.join(SHOTS, name + ".png"))


def waited(b, condition, what, timeout=10):
    try:
        b.wait_for(condition, timeout)
        return check(True, what)
    except CDPError as e:
        return check(False, f"{what}: {e}")


# The page's own words after an untrusted text, in the DOM's order, must run
# left to right on its line: each right of the one before, the first right
# of the untrusted text. A leaked override lays them out right to left.
# Gives the words out of place ([] when all is well), or null without the text.
READS_LTR = r"""
((container, untrusted) => {
  const box = (node, from, to) => {
    const r = document.createRange(); r.setStart(node, from); r.setEnd(node, to);
    return r.getBoundingClientRect();
  };
  const words = [];
  let start = null;
  const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode());) {
    let from = 0;
    if (!start) {
      const at = n.data.indexOf(untrusted);
      if (at < 0) continue;
      start = box(n, at, at + untrusted.length);
      from = at + untrusted.length;
    }
    if (n.data.includes('\u202e')) continue;  // another untrusted text
    for (const m of n.data.slice(from).matchAll(/\S+/g)) {
      const b = box(n, from + m.index, from + m.index + m[0].length);
      if (b.width) words.push({word: m[0], left: b.left, right: b.right, top: b.top});
    }
  }
  if (!start) return null;
  const wrong = [];
  let prev = {word: 'the untrusted text', right: start.right, top: start.top};
  for (const w of words) {
    const sameLine = Math.abs(w.top - prev.top) < 3;
    if (sameLine && w.left < prev.right - 1)
      wrong.push(`"${w.word}" at x ${Math.round(w.left)}, left of ${prev.word} ending at x ${Math.round(prev.right)}`);
    if (sameLine || w.top > prev.top) prev = {...w, word: `"${w.word}"`};
  }
  return wrong;
})
"""

# Every text that holds U+202E, shown anywhere on the page, cannot reorder
# other text: an inline isolate (unicode-bidi isolate or plaintext) holds it
# within its block, or it is alone in its block, or U+2068 ... U+2069 are
# around it in a text-only place. Gives those that are none of these. (Blocks
# have unicode-bidi isolate too, but that isolates the block, not its text.)
NOT_ISOLATED = r"""
((untrusted) => {
  const bad = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n; (n = walker.nextNode());) {
    const at = n.data.indexOf('\u202e');
    if (at < 0 || /\u2068[^\u2069]*$/.test(n.data.slice(0, at))) continue;
    let ok = false, block = null;
    for (let e = n.parentElement; e; e = e.parentElement) {
      const cs = getComputedStyle(e);
      if (cs.display !== 'inline') {
        block = e;
        ok = e.textContent.trim() === n.data.trim() && untrusted.includes(n.data.slice(at).trim());
        break;
      }
      if (/isolate|plaintext/.test(cs.unicodeBidi)) { ok = true; break; }
    }
    if (!ok) bad.push(`${block.tagName.toLowerCase()} in #${block.closest('[id]')?.id}: ` +
                      JSON.stringify(block.textContent.replace(/\s+/g, ' ').trim().slice(0, 80)));
  }
  if (document.title.includes('\u202e') && !document.title.includes('\u2068'))
    bad.push('the title: ' + JSON.stringify(document.title));
  return bad;
})
"""


def reads_ltr(b, container, untrusted, what):
    wrong = b.evaluate(f"{READS_LTR}(document.querySelector({js(container)}), {js(untrusted)})")
    check(wrong == [], f"{what}: the text after it reads left to right: {wrong}")


def all_isolated(b, where):
    bad = b.evaluate(f"{NOT_ISOLATED}({js(UNTRUSTED)})")
    check(bad == [], f"{where}: every text with U+202E is isolated: {bad}")


try:
    with Browser(1280, 800) as b:
        # 1. A tab that asks for the token takes one put in its address
        # (typed into the address bar: only the fragment changes), without a
        # reload.
        b.navigate(s.url("/"))
        b.wait_for("!document.getElementById('token-view').hidden", 10)
        b.evaluate("window.sameDocument = true")
        b.call("Page.navigate", url=s.url("/#token=" + urllib.parse.quote(RD)))
        if waited(b, f"{IDLE} && {ROWS}.length === {len(PARTNERS)}", "a token put in the address of the open tab is taken"):
            check(b.evaluate("window.sameDocument === true"), "without a reload")
            check(b.evaluate("location.hash") == "", "the token is removed from the address bar")
            check(b.evaluate("sessionStorage.getItem('ptag-token')") == RD, "the token is kept for the tab")
            check(b.evaluate("document.getElementById('token-view').hidden"), "the token form is gone")
        else:
            b.call("Page.reload")  # so that the checks below still run
            b.wait_for(f"{IDLE} && {ROWS}.length === {len(PARTNERS)}", 10)

        # 3. The tags column leaves the chips room: a row with four short tags
        # is at most about two lines of text high.
        m = b.evaluate("""(() => {
          const row = document.querySelector('#partners-table tr[data-partner="p-four"]');
          const cell = row.querySelector('.chip').closest('td'), cs = getComputedStyle(cell);
          return {height: row.getBoundingClientRect().height, line: parseFloat(cs.lineHeight),
                  padding: parseFloat(cs.paddingTop) + parseFloat(cs.paddingBottom),
                  chips: row.querySelectorAll('.chip').length, column: cell.getBoundingClientRect().width};
        })()""")
        check(m["chips"] == 4, f"p-four has four tags: {m}")
        # "About": chips are a little taller than lines of text.
        check(m["height"] <= m["padding"] + 2.5 * m["line"],
              f"a row with four short tags is at most about two lines of text high: {m}")
        wrap = b.evaluate("(w => [w.scrollWidth, w.clientWidth])(document.getElementById('partners-wrap'))")
        check(wrap[0] <= wrap[1], f"the table still fits its box at 1280 px: {wrap}")
        shot(b, "partners-1280")

        # 4. Untrusted text is isolated. After a partner id with U+202E, the
        # latest changes still read "added Silver", left to right.
        waited(b, f"[...document.querySelectorAll('#live-list li')].some(l => l.dataset.partner === {js(EVIL)})",
               "the RLO partner's changes are among the latest")
        b.evaluate(f"[...document.querySelectorAll('#live-list li')].find(l => l.dataset.partner === {js(EVIL)})"
                   ".id = 'evil-change'")
        reads_ltr(b, "#evil-change", EVIL, "a change of a partner whose id holds U+202E")
        all_isolated(b, "the partners")
        shot(b, "live-rlo")

        # Its page: id, attribute, tags, journey.
        b.click(f"#partners-table a[data-partner={js(EVIL)}]")
        waited(b, f"{IDLE} && document.querySelectorAll('#timeline li[data-action]').length === 3", "the RLO partner's page")
        all_isolated(b, "the RLO partner's page")
        shot(b, "partner-rlo")

        # A partner that does not exist, named with U+202E.
        b.navigate(s.url("/?partner=" + urllib.parse.quote(RLO + "nobody")))
        waited(b, "!document.getElementById('partner-missing').hidden", "the missing partner's message")
        reads_ltr(b, "#partner-missing", RLO + "nobody", "the message of a missing partner")
        all_isolated(b, "a missing partner")

        # The tags view, and a flow from a tag with U+202E.
        b.click("#nav-tags")
        waited(b, f"{IDLE} && document.querySelector('#history-chart svg')", "the tags view")
        all_isolated(b, "the tags view")
        title = b.evaluate("document.querySelector('#history-chart svg title').textContent")
        check(("\u2068" + HOT + "\u2069") in title, f"the chart's title isolates the tag: {title!r}")
        b.navigate(s.url("/?" + urllib.parse.urlencode({"view": "flows", "from": HOT, "to": "Silver"})))
        waited(b, f"{IDLE} && document.querySelector('#flow-result [data-field=moved]')", "the flow from the RLO tag")
        reads_ltr(b, "#flow-result .flow-sentence", HOT, "the flow's sentence")
        all_isolated(b, "the flows")
        shot(b, "flow-rlo")

        # 2. The journey is newest first, also when the events came out of
        # order: p-late's join came after its sale and signup.
        b.navigate(s.url("/?partner=p-late"))
        waited(b, f"{IDLE} && document.querySelectorAll('#timeline li[data-action]').length === 3", "p-late's journey")
        shown = b.evaluate("[...document.querySelectorAll('#timeline li[data-action]')]"
                           ".map(l => [l.dataset.time, l.dataset.tag])")
        hist = s.request("GET", "/v1/partners/p-late/history", token=RD)[1]["records"]
        check(sorted(shown) == sorted([r["time"], r["tag"]] for r in hist), f"the journey holds p-late's records: {shown}")
        check(shown == sorted(shown, key=lambda r: r[0], reverse=True), f"the journey is newest first: {shown}")
        shot(b, "journey-late")

        errs = b.errors(expected=["/v1/partners/%E2%80%AEnobody"])
        check(errs == [], f"no console errors: {errs}")
finally:
    s.stop()
finish()
