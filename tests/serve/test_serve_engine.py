"""`ptag serve --engine`: in a build with the JIT, the rules run as native
code from the start and after a reload, with the VM's results; in a build
without it, `--engine jit` is refused before anything starts.
Usage: test_serve_engine.py PTAG WORK jit|nojit"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from serve_lib import AD, IN, Server, check, event, finish, write_config, utc  # noqa: E402

PTAG, WORK, MODE = sys.argv[1], sys.argv[2], sys.argv[3]
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
os.chdir(WORK)

RULES = ('on join add "New Partner"\n'
         'on sale when revenue >= 100 and partner.country in ["DE", "AT"] add "VIP"\n'
         'on click when clicks >= 2 and not tagged "VIP" add "Curious"\n')
with open("rules.ptag", "w") as f:
    f.write(RULES)
write_config("ptag.toml")

if MODE == "nojit":
    run = subprocess.run([PTAG, "serve", "rules.ptag", "--state", "refused.db", "--config", "ptag.toml",
                          "--engine", "jit"], capture_output=True, text=True, timeout=30)
    check(run.returncode == 2, f"--engine jit without the JIT exits 2: {run.returncode} {run.stderr}")
    check("built without the JIT" in run.stderr and "not started" in run.stderr, f"says why: {run.stderr}")
    check(not os.path.exists("refused.db"), "no store was made")
    finish()
    raise SystemExit(0)


def tags_of(server, partner):
    st, body, _ = server.request("GET", "/v1/partners/" + partner, token=AD)
    return [t["tag"] for t in body.get("tags", [])] if st == 200 else st


def drive(server):
    t = utc(int(time.time()))
    batch = [event("join", "p1", t, "e1", country="DE"), event("join", "p2", t, "e2", country="FR"),
             event("click", "p2", t, "e3"), event("click", "p2", t, "e4"),
             event("sale", "p1", t, "e5", amount=150), event("sale", "p2", t, "e6", amount=150)]
    st, body, _ = server.request("POST", "/v1/events", "".join(json.dumps(e) + "\n" for e in batch), IN,
                                 {"Content-Type": "application/x-ndjson"})
    check(st == 200 and body.get("applied") == 6, f"six events applied: {st} {body}")
    return tags_of(server, "p1"), tags_of(server, "p2")


vm = Server(PTAG, WORK, ["rules.ptag"], "vm.db", config="ptag.toml", name="vm", extra=["--engine", "vm"]).start()
check('"engine":"vm"' in vm.log_text(), f"the VM says so: {vm.log_text()}")
expected = drive(vm)
check(expected == (["New Partner", "VIP"], ["New Partner", "Curious"]), f"the VM's tags: {expected}")
check(vm.stop() == 0, "the VM server stops cleanly")

jit = Server(PTAG, WORK, ["rules.ptag"], "jit.db", config="ptag.toml", name="jit",
             extra=["--engine", "jit", "--jit-opt", "1"]).start()
check('"engine":"jit (2 guarded rules, -O1,' in jit.log_text(), f"the JIT says so: {jit.log_text()}")
check(drive(jit) == expected, "the JIT gives the VM's tags")

# A reload compiles the new rules with the same engine and keeps the state.
with open("rules.ptag", "w") as f:
    f.write(RULES + 'on click when clicks >= 1 and partner.country == "DE" add "Clicker"\n')
st, body, _ = jit.request("POST", "/v1/reload", "", AD)
check(st == 200, f"reload: {st} {body}")
check('"msg":"rules reloaded"' in jit.log_text() and '"engine":"jit (3 guarded rules, -O1,' in jit.log_text(),
      f"the reload compiled the new rules: {jit.log_text()}")
st, body, _ = jit.request("POST", "/v1/events", json.dumps(event("click", "p1", utc(int(time.time())), "e7")), IN)
check(st == 200 and body.get("applied") == 1, f"a click after the reload: {st} {body}")
check(tags_of(jit, "p1") == ["New Partner", "VIP", "Clicker"], f"the new rule ran natively: {tags_of(jit, 'p1')}")
check(jit.stop() == 0, "the JIT server stops cleanly")
finish()
