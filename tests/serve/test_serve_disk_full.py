"""A store that cannot grow (a full disk, simulated by a file size limit on
the server process): the commit fails, every answer after it is 503 and
/readyz says so, nothing that was not committed is served, and a restart
continues from the last commit with every acknowledged event.
Usage: test_serve_disk_full.py PTAG WORK"""
import json
import os
import resource
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, Server, check, event, finish, fresh_dir, jsonl, write_config  # noqa: E402

PTAG, WORK = sys.argv[1], fresh_dir(sys.argv[2])
with open("rules.ptag", "w") as f:
    f.write('on join add "New Partner"\n')
write_config("ptag.toml")
LIMIT = 3 << 20


class Limited(Server):
    """The server with RLIMIT_FSIZE: no file it writes may grow past LIMIT."""

    def start(self, timeout=10):
        real = subprocess.Popen

        def limited(*args, **kwargs):
            kwargs["preexec_fn"] = lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))
            return real(*args, **kwargs)

        subprocess.Popen = limited
        try:
            return super().start(timeout)
        finally:
            subprocess.Popen = real


T = "2026-03-01T10:00:00Z"
s = Limited(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event").start()
acknowledged, failed = 0, None
for n in range(300):  # bounded: 300 x 1,000 joins is far past 3 MB
    st, body, _ = s.request("POST", "/v1/events",
                            jsonl([event("join", f"p{n}-{i}", T, f"e{n}-{i}") for i in range(1000)]), IN)
    if st != 200:
        failed = (st, body)
        break
    acknowledged += body["applied"]
check(failed is not None and failed[0] == 503 and "store failed" in failed[1].get("error", ""),
      f"the commit that does not fit is a 503: {failed}")
check(acknowledged > 0, f"events were acknowledged before: {acknowledged}")
check(s.proc.poll() is None, "the server is still running (not killed by SIGXFSZ)")
st, body, _ = s.request("GET", "/readyz")
check(st == 503, f"/readyz says the store failed: {st} {body}")
st, body, _ = s.request("POST", "/v1/events", json.dumps(event("join", "late", T, "late")), IN)
check(st == 503, f"later events are refused: {st} {body}")
st, body, _ = s.request("GET", "/v1/partners/p0-0", token=AD)
check(st == 503 and "never committed" in body.get("error", ""), f"the engine's reads are refused: {st} {body}")
st, body, _ = s.request("GET", "/v1/records?limit=1", token=AD)
check(st == 200 and body["last"] == acknowledged, f"the store's reads serve what was committed: {body.get('last')}")
check(s.stop() == 1, "it stops with status 1 (the store failed)")

# Room again: a restart continues from the last commit, with every acknowledged event.
s = Server(PTAG, WORK, ["rules.ptag"], "state.db", config="ptag.toml", clock="event", name="after").start()
st, body, _ = s.request("GET", "/v1/partners?count=true", token=AD)
check(st == 200 and body["count"] == acknowledged, f"every acknowledged partner is there: {body} vs {acknowledged}")
check(s.stop() == 0, "a clean stop after the restart")
finish()
