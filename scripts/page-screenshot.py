"""Makes docs/images/partners-page.png: the three example rule files over the
example events (`ptag run --state`), served by `ptag serve`, and the partners
page in headless Chromium at 1280x800 showing partners with "Proven" sorted
by revenue.
Usage: python3 scripts/page-screenshot.py PTAG [OUT.png]"""
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "page"))
from page_lib import work_dir  # noqa: E402,F401  (puts the server helpers on the path)
from cdp import Browser  # noqa: E402
from serve_lib import RD, Server, write_config  # noqa: E402

PTAG = os.path.abspath(sys.argv[1])
OUT = os.path.abspath(sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "images", "partners-page.png"))
RULES = [os.path.join(ROOT, "examples", f) for f in ("onboarding.ptag", "tiers.ptag", "reengagement.ptag")]
work = tempfile.mkdtemp(prefix="ptag-screenshot-")
state = os.path.join(work, "state.db")
subprocess.run([PTAG, "run", *RULES, "--events", os.path.join(ROOT, "examples", "events.jsonl"), "--state", state,
                "--until", "2027-01-01T00:00:00Z"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
write_config(os.path.join(work, "ptag.toml"))
s = Server(PTAG, work, RULES, state, config="ptag.toml", clock="event").start()
try:
    with Browser(1280, 800) as b:
        b.navigate(s.url(f"/?has=Proven&sort=-revenue#token={RD}"))
        b.wait_for("document.querySelectorAll('#partners-table tbody tr').length > 0 && !document.body.dataset.loading")
        time.sleep(0.5)
        b.screenshot(OUT)
finally:
    s.stop()
print(OUT)
