"""The editor files (editors/) agree with the catalogue: every trigger and
metric `ptag lsp` completes is highlighted by the TextMate grammar, the Vim
syntax and the Kate definition; the VS Code extension's files exist.
Usage: editors_check.py PTAG WORKDIR SOURCE_DIR"""
import json
import os
import re
import shutil
import sys
import xml.dom.minidom

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client, uri  # noqa: E402

PTAG, WORK, SOURCE = (os.path.abspath(a) for a in sys.argv[1:4])
EDITORS = os.path.join(SOURCE, "editors")


def catalogue():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    c = Client(PTAG, WORK)
    c.initialize(uri(WORK))
    u = uri(os.path.join(WORK, "c.ptag"))
    c.notify("textDocument/didOpen", {"textDocument": {"uri": u, "languageId": "ptag", "version": 1, "text": "on \n\n"}})

    def complete(line, character):
        return c.request("textDocument/completion", {"textDocument": {"uri": u},
                                                     "position": {"line": line, "character": character}})["result"]
    triggers = [i["label"] for i in complete(0, 3)]
    names = [i["label"] for i in complete(1, 0) if i["kind"] == 6]  # metrics and days_since_*
    assert c.finish() == 0
    shutil.rmtree(WORK, ignore_errors=True)
    assert "inactive" in triggers and "revenue" in names and "days_since_join" in names
    return triggers, names


def main():
    triggers, names = catalogue()
    grammar = json.load(open(os.path.join(EDITORS, "ptag.tmLanguage.json")))
    repo = grammar["repository"]
    trigger_re = re.compile(repo["trigger"]["match"])
    metric_re = re.compile(repo["name"]["patterns"][0]["match"])
    for t in triggers:
        m = trigger_re.fullmatch("on " + t)
        assert m and m.group(2) == t, "the TextMate grammar misses the trigger " + t
    for n in names:
        assert metric_re.fullmatch(n), "the TextMate grammar misses " + n
    assert re.compile(repo["duration"]["match"]).fullmatch("30d")

    vim = open(os.path.join(EDITORS, "vim", "syntax", "ptag.vim")).read()
    vim_words = lambda group: set(w for line in vim.splitlines() if line.startswith("syn keyword " + group + " ")
                                  for w in line.split()[3:])
    assert set(triggers) <= vim_words("ptagTrigger"), set(triggers) - vim_words("ptagTrigger")
    assert set(names) <= vim_words("ptagMetric"), set(names) - vim_words("ptagMetric")

    kate = xml.dom.minidom.parse(os.path.join(EDITORS, "kate", "ptag.xml"))
    lists = {l.getAttribute("name"): {i.firstChild.data for i in l.getElementsByTagName("item")}
             for l in kate.getElementsByTagName("list")}
    assert set(triggers) <= lists["triggers"] and set(names) <= lists["metrics"]

    vscode = os.path.join(EDITORS, "vscode")
    package = json.load(open(os.path.join(vscode, "package.json")))
    assert os.path.isfile(os.path.join(vscode, package["main"]))
    for g in package["contributes"]["grammars"]:
        with open(os.path.join(vscode, g["path"])) as f:
            assert json.load(f)["scopeName"] == g["scopeName"]
    for lang in package["contributes"]["languages"]:
        json.load(open(os.path.join(vscode, lang["configuration"])))
        assert lang["extensions"] == [".ptag"]
    assert "vscode-languageclient" in package["dependencies"]
    print("ok: %d triggers, %d names" % (len(triggers), len(names)))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback
        traceback.print_exc()
        print("FAILED")
        sys.exit(1)
