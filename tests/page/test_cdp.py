"""The CDP harness against a static page served by http.server:
navigation, evaluation, typing, a key press, a screenshot, collected
exceptions and console errors, and that close() ends the browser.
Usage: python3 tests/page/test_cdp.py (exit 0 when every check holds)"""
import os
import shutil
import functools
import http.server
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cdp import Browser, CDPError  # noqa: E402

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAILED: " + what, flush=True)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>cdp check</title>
<script src="page.js" defer></script></head>
<body><h1 id="title">Hello</h1>
<form id="f"><label for="name">Name</label><input id="name"></form>
<p id="out"></p><p id="keys"></p>
<button id="b" type="button">Press</button><p id="clicked">no</p>
</body></html>
"""
SCRIPT = """
document.getElementById('f').addEventListener('submit', (e) => {
  e.preventDefault();
  document.getElementById('out').textContent = 'submitted ' + document.getElementById('name').value;
});
document.addEventListener('keydown', (e) => { document.getElementById('keys').textContent += e.key + ';'; });
document.getElementById('b').addEventListener('click', () => { document.getElementById('clicked').textContent = 'yes'; });
"""

work = tempfile.mkdtemp(prefix="ptag-cdp-")
server = None
try:
    with open(os.path.join(work, "index.html"), "w") as f:
        f.write(PAGE)
    with open(os.path.join(work, "page.js"), "w") as f:
        f.write(SCRIPT)
    # In this process, on a port the kernel picks: nothing can take it between a probe and the bind.
    handler = functools.partial(QuietHandler, directory=work)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    urllib.request.urlopen(base, timeout=5).read()

    with Browser() as b:
        browser_proc = b.proc
        b.navigate(base + "index.html")
        check(b.evaluate("document.title") == "cdp check", "navigate loads the page")
        check(b.evaluate("document.getElementById('title').textContent") == "Hello", "evaluate reads the DOM")
        check(b.evaluate("Promise.resolve(6 * 7)") == 42, "evaluate awaits a promise")
        check(b.evaluate("[innerWidth, innerHeight]") == [1280, 800], "the viewport is 1280x800")

        b.type_text("#name", "Ada")
        check(b.evaluate("document.getElementById('name').value") == "Ada", "type_text fills the input")
        b.type_text("#name", "Grace")
        check(b.evaluate("document.getElementById('name').value") == "Grace", "type_text replaces the value")
        b.press_key("Enter")
        b.wait_for("document.getElementById('out').textContent === 'submitted Grace'", timeout=5)
        b.press_key("Tab")
        check("Tab;" in b.evaluate("document.getElementById('keys').textContent"), "press_key Tab reaches the page")
        check(b.evaluate("document.activeElement.id") != "name", "Tab moves the focus")

        b.click("#b")
        b.wait_for("document.getElementById('clicked').textContent === 'yes'", timeout=5)

        check(b.wait_for("document.getElementById('title')", timeout=2) is True, "wait_for takes a node as truthy")
        check(b.wait_for("[]", timeout=2) == [], "wait_for uses JavaScript's truthiness")
        try:
            b.wait_for("false", timeout=0.3)
            check(False, "wait_for times out")
        except CDPError as e:
            check("timed out" in str(e), f"wait_for's timeout names itself: {e}")
        try:
            b.evaluate("(() => { throw new Error('boom in evaluate'); })()")
            check(False, "evaluate raises on an exception")
        except CDPError as e:
            check("boom in evaluate" in str(e), f"evaluate's error carries the message: {e}")
        try:
            b.click("#nothing-here")
            check(False, "click on a missing element raises")
        except CDPError:
            pass

        check(b.errors() == [], f"no errors yet: {b.errors()}")
        b.evaluate("setTimeout(() => { throw new Error('uncaught later'); }, 0); console.error('logged', 1); 1")
        b.wait_for("true", timeout=1)
        deadline = time.time() + 5
        while time.time() < deadline and len(b.errors()) < 2:
            time.sleep(0.05)
        errs = b.errors()
        check(any("uncaught later" in e for e in b.exceptions), f"a thrown exception is collected: {errs}")
        check(any("logged 1" in c["text"] and c["type"] == "error" for c in b.console),
              f"console.error is collected: {b.console}")

        b.set_viewport(375, 800)
        check(b.evaluate("innerWidth") == 375, "set_viewport changes the width")
        shot = b.screenshot(os.path.join(work, "shots", "page.png"))
        with open(shot, "rb") as f:
            check(f.read(8) == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG")
        check(os.path.getsize(shot) > 1000, "the screenshot is not empty")
    check(browser_proc.poll() is not None, "close() ends the browser")
finally:
    if server:
        server.shutdown()
        server.server_close()
    shutil.rmtree(work, ignore_errors=True)

if failures:
    print(f"{len(failures)} check(s) failed")
    sys.exit(1)
print("all checks held")
