"""`ptag lsp` end to end: a real process over pipes, real JSON-RPC.
Usage: lsp_e2e.py PTAG WORKDIR"""
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client, uri  # noqa: E402

PTAG, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])


def doc(u):
    return {"textDocument": {"uri": u}}


def at(u, line, character, **extra):
    return {"textDocument": {"uri": u}, "position": {"line": line, "character": character}, **extra}


def utf16(text):
    return len(text.encode("utf-16-le")) // 2


def open_doc(c, u, text, version=1):
    c.notify("textDocument/didOpen",
             {"textDocument": {"uri": u, "languageId": "ptag", "version": version, "text": text}})


def change(c, u, text, version):
    c.notify("textDocument/didChange",
             {"textDocument": {"uri": u, "version": version}, "contentChanges": [{"text": text}]})


def diagnostics(c, u, version=None, timeout=10):
    m = c.wait_notification("textDocument/publishDiagnostics",
                            lambda m: m["params"]["uri"] == u and
                            (version is None or m["params"].get("version") == version), timeout)
    assert m is not None, "no diagnostics for %s version %s" % (u, version)
    return m["params"]["diagnostics"]


def test_lifecycle():
    c = Client(PTAG, WORK)
    # Before initialize: requests get -32002, notifications are dropped.
    c.notify("textDocument/didOpen", {"textDocument": {"uri": uri("x.ptag"), "text": "", "version": 1}})
    assert c.request("textDocument/hover", at(uri("x.ptag"), 0, 0))["error"]["code"] == -32002
    assert c.request("shutdown")["error"]["code"] == -32002
    result = c.initialize(uri(WORK))["result"]
    caps = result["capabilities"]
    assert caps["positionEncoding"] == "utf-16"
    assert caps["textDocumentSync"]["change"] == 1
    for provider in ("hoverProvider", "definitionProvider", "referencesProvider",
                     "documentSymbolProvider", "documentFormattingProvider"):
        assert caps[provider] is True, provider
    assert "completionProvider" in caps and "codeActionProvider" in caps
    assert result["serverInfo"]["name"] == "ptag"
    assert c.request("initialize", {"capabilities": {}})["error"]["code"] == -32600
    assert c.request("workspace/noSuchThing")["error"]["code"] == -32601
    assert c.request("textDocument/noSuchThing", doc(uri("x.ptag")))["error"]["code"] == -32601
    c.notify("$/noSuchNotification", {})
    c.notify("$/cancelRequest", {"id": 99})
    assert c.request("shutdown")["result"] is None
    assert c.request("textDocument/hover", at(uri("x.ptag"), 0, 0))["error"]["code"] == -32600
    c.notify("exit")
    assert c.wait() == 0
    assert c.proc.stdout.read() == b""  # nothing after exit

    # exit without shutdown: 1; the input closing without exit: 1 too.
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    c.notify("exit")
    assert c.wait() == 1
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    c.proc.stdin.close()
    assert c.wait() == 1
    c = Client(PTAG, WORK)
    c.notify("exit")  # before initialize
    assert c.wait() == 1
    # --stdio is accepted (VS Code's client passes it); a debounce out of range is a usage error.
    c = Client(PTAG, WORK, ("--stdio",))
    c.initialize(uri(WORK))
    assert c.finish() == 0
    usage = subprocess.run([PTAG, "lsp", "--debounce-ms", "20000"], capture_output=True,
                           stdin=subprocess.DEVNULL, timeout=10)
    assert usage.returncode == 2, usage


def test_diagnostics():
    path = os.path.join(WORK, "rules.ptag")
    good = 'on join add "New"\non first_sale add "Proven"\n'
    with open(path, "w") as f:
        f.write(good)
    u = uri(path)
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    open_doc(c, u, good)
    assert diagnostics(c, u, 1) == []

    bad = 'on join add "New"\non first_sael add "Proven"\non inactive 30days add "Gone"\n'
    change(c, u, bad, 2)
    found = diagnostics(c, u, 2)
    # The same codes, messages and places as `ptag check --format json`.
    with open(path, "w") as f:
        f.write(bad)
    check = json.loads(subprocess.run([PTAG, "check", "--format", "json", path],
                                      capture_output=True, text=True).stdout)
    assert [d["code"] for d in found] == [d["code"] for d in check] == ["E101", "E105"], found
    for mine, theirs in zip(found, check):
        assert mine["message"].split("\n")[0] == theirs["message"]
        helps = [n["message"] for n in theirs["notes"] if n["file"] is None]
        assert mine["message"].split("\n")[1:] == helps
        assert mine["range"]["start"] == {"line": theirs["line"] - 1, "character": theirs["column"] - 1}
        assert mine["severity"] == 1 and mine["source"] == "ptag"
    assert "did you mean 'first_sale'?" in found[0]["message"]

    # A quick fix for the "did you mean", then the fix itself clears it.
    actions = c.request("textDocument/codeAction", {**doc(u), "range": found[0]["range"],
                                                     "context": {"diagnostics": [found[0]]}})["result"]
    assert len(actions) == 1 and actions[0]["kind"] == "quickfix"
    edit = actions[0]["edit"]["changes"][u][0]
    assert edit["newText"] == "first_sale" and edit["range"] == found[0]["range"]
    assert actions[0]["diagnostics"][0]["message"] == found[0]["message"]

    change(c, u, good, 3)
    assert diagnostics(c, u, 3) == []
    c.notify("textDocument/didClose", doc(u))
    m = c.wait_notification("textDocument/publishDiagnostics", lambda m: m["params"]["uri"] == u)
    assert m["params"]["diagnostics"] == [] and "version" not in m["params"]
    assert c.finish() == 0


def test_debounce():
    u = uri(os.path.join(WORK, "typing.ptag"))
    c = Client(PTAG, WORK, ("--debounce-ms", "400"))
    c.initialize(uri(WORK))
    open_doc(c, u, "on join add \"A\"\n")
    assert diagnostics(c, u, 1) == []
    start = time.monotonic()
    for version, text in ((2, "on j"), (3, "on jo"), (4, "on joi add \"A\"\n")):
        change(c, u, text, version)
    c.drain(1.2)
    published = [m for m in c.notifications if m["method"] == "textDocument/publishDiagnostics"]
    # One check for the three quick changes, of the last text, not before the delay.
    assert [m["params"]["version"] for m in published] == [4], published
    assert published[0]["params"]["diagnostics"][0]["code"] == "E101"
    assert time.monotonic() - start >= 0.4
    # A request answers from the latest text at once, and publishes first.
    c.notifications.clear()
    change(c, u, 'on join add "B"\n', 5)
    hover = c.request("textDocument/hover", at(u, 0, 14))["result"]
    assert '"B"' in hover["contents"]["value"]
    assert [m["params"]["version"] for m in c.notifications] == [5]
    assert c.finish() == 0


def test_features():
    lib = os.path.join(WORK, "lib.ptag")
    with open(lib, "w") as f:
        f.write('on join add "New Partner"\n')
    text = ('import "lib.ptag"\n'
            'let vip = 5000\n'
            'exclusive "Silver", "Gold"\n'
            'on milestone revenue >= vip add "Gold"\n'
            'on inactive 30d when tagged "Gold" remove "New Partner"\n')
    path = os.path.join(WORK, "main.ptag")
    u = uri(path)
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    open_doc(c, u, text)
    assert diagnostics(c, u, 1) == []

    def hover(line, character):
        r = c.request("textDocument/hover", at(u, line, character))["result"]
        return r and r["contents"]["value"]
    assert "last_activity + D" in hover(4, 5)            # inactive
    assert "30 days" in hover(4, 13)                     # 30d
    assert "sales less its refunds" in hover(3, 15)      # revenue
    assert "let vip = 5000" in hover(3, 25)              # the constant
    gold = hover(4, 30)                                  # tagged "Gold"
    assert "Added by `main.ptag:4`" in gold and "exclusive" in gold
    assert "`lib.ptag:1`" in hover(4, 45)                # "New Partner", added in lib.ptag

    definition = c.request("textDocument/definition", at(u, 3, 25))["result"]
    assert definition == [{"uri": u, "range": {"start": {"line": 1, "character": 4},
                                               "end": {"line": 1, "character": 7}}}]
    definition = c.request("textDocument/definition", at(u, 0, 9))["result"]
    assert definition[0]["uri"] == uri(lib)
    definition = c.request("textDocument/definition", at(u, 4, 45))["result"]
    assert definition == [{"uri": uri(lib), "range": {"start": {"line": 0, "character": 12},
                                                      "end": {"line": 0, "character": 25}}}]
    refs = c.request("textDocument/references", at(u, 3, 36, context={"includeDeclaration": True}))["result"]
    assert len(refs) == 3  # "Gold": the group, the add, tagged

    symbols = c.request("textDocument/documentSymbol", doc(u))["result"]
    assert [s["name"] for s in symbols] == ["vip", 'exclusive "Silver", "Gold"', "main.ptag:4", "main.ptag:5"]

    completion = c.request("textDocument/completion", at(u, 4, 3))["result"]
    labels = [i["label"] for i in completion]
    assert "inactive" in labels and "first_sale" in labels
    change(c, u, text + 'on sale add "\n', 2)
    completion = c.request("textDocument/completion", at(u, 5, 13))["result"]
    assert sorted(i["label"] for i in completion) == ["Gold", "New Partner", "Silver"]
    assert completion[0]["textEdit"]["range"]["start"] == {"line": 5, "character": 13}
    change(c, u, text + "\n", 3)
    completion = c.request("textDocument/completion", at(u, 5, 0))["result"]
    snippets = [i for i in completion if i.get("insertTextFormat") == 2]
    assert sorted(i["label"] for i in snippets) == ["rule block", "test block"]

    # Formatting: the same text as `ptag fmt`.
    messy = 'on join   add "New"\nrule "R"   on sale  when   revenue>=10 add "X"\n'
    change(c, u, messy, 4)
    edits = c.request("textDocument/formatting", {**doc(u), "options": {"tabSize": 2, "insertSpaces": True}})["result"]
    with open(path, "w") as f:
        f.write(messy)
    expected = subprocess.run([PTAG, "fmt", path], capture_output=True, text=True).stdout
    assert len(edits) == 1 and edits[0]["newText"] == expected
    assert edits[0]["range"] == {"start": {"line": 0, "character": 0}, "end": {"line": 2, "character": 0}}
    change(c, u, expected, 5)
    assert c.request("textDocument/formatting", {**doc(u), "options": {}})["result"] == []
    change(c, u, "on join add\n", 6)
    failed = c.request("textDocument/formatting", {**doc(u), "options": {}})
    assert failed["error"]["code"] == -32803 and "syntax error" in failed["error"]["message"]
    assert c.finish() == 0


def test_multibyte():
    # "Café ☕ 🎉": é and ☕ are one UTF-16 unit each, 🎉 two; columns count units.
    tag = "Caf\u00e9 \u2615 \U0001F389"
    line = 'on join add "%s" add "Zed" for 3x' % tag
    u = uri(os.path.join(WORK, "unicode.ptag"))
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    open_doc(c, u, line + "\n")
    found = diagnostics(c, u, 1)
    assert [d["code"] for d in found] == ["E105"], found
    start = utf16(line[:line.index("3x")])
    assert start != line.index("3x") and start != len(line[:line.index("3x")].encode())
    assert found[0]["range"] == {"start": {"line": 0, "character": start},
                                 "end": {"line": 0, "character": start + 2}}
    zed = utf16(line[:line.index("Zed")])
    hover = c.request("textDocument/hover", at(u, 0, zed))["result"]
    assert '**tag "Zed"**' in hover["contents"]["value"]
    assert hover["range"]["start"]["character"] == zed - 1  # the opening quote
    hover = c.request("textDocument/hover", at(u, 0, utf16(line[:line.index("\U0001F389")])))["result"]
    assert tag in hover["contents"]["value"]
    assert hover["range"] == {"start": {"line": 0, "character": 12},
                              "end": {"line": 0, "character": 12 + utf16(tag) + 2}}
    assert c.finish() == 0


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    failed = 0
    for test in (test_lifecycle, test_diagnostics, test_debounce, test_features, test_multibyte):
        try:
            test()
            print("ok", test.__name__)
        except Exception:  # report every test, then fail
            import traceback
            traceback.print_exc()
            print("FAILED", test.__name__)
            failed += 1
    shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
