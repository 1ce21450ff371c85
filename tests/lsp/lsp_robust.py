"""`ptag lsp` on random edits and malformed messages: it answers every
request (with a result or an error), never dies, and exits 0 after shutdown.
Usage: lsp_robust.py PTAG WORKDIR [SEED]"""
import json
import os
import random
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lsp_client import Client, uri  # noqa: E402

PTAG, WORK = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else 20260101
EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples")

PIECES = ['"', "on ", "add ", "remove ", "\n", "{", "}", "when ", "(", ")", 'tagged "', "\u00e9",
          "\U0001F389", "30d", "#", 'rule "', 'test "t" {', "let x = ", 'import "', ",", ">= ",
          "\\", "\r\n", "milestone ", "at 2026-01-01 ", 'expect "p" has ', "\t", "9" * 30]

METHODS = ["textDocument/hover", "textDocument/definition", "textDocument/references",
           "textDocument/completion", "textDocument/documentSymbol", "textDocument/formatting",
           "textDocument/codeAction"]

# Messages that are not what the protocol allows; each must get an error or be ignored.
MALFORMED_BODIES = [
    b"{", b"not json", b"[]", b"42", b"null", b'"text"', b"{}", b'{"jsonrpc":"2.0"}',
    b'{"jsonrpc":"2.0","id":{"x":1},"method":"textDocument/hover"}',
    b'{"jsonrpc":"2.0","id":7.5,"method":"textDocument/hover"}',
    b'{"jsonrpc":"2.0","id":1001,"method":42}',
    b'{"jsonrpc":"2.0","id":1002,"method":"textDocument/hover","params":[]}',
    b'{"jsonrpc":"2.0","id":1003,"method":"textDocument/hover","params":{"textDocument":{"uri":5}}}',
    b'{"jsonrpc":"2.0","id":1004,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nope.ptag"},"position":{"line":0,"character":0}}}',
    b'{"jsonrpc":"2.0","id":1005,"method":"textDocument/completion","params":{"textDocument":{"uri":"%URI%"},"position":{"line":-1,"character":-5}}}',
    b'{"jsonrpc":"2.0","id":1006,"method":"textDocument/hover","params":{"textDocument":{"uri":"%URI%"},"position":{"line":4294967295,"character":4294967295}}}',
    b'{"jsonrpc":"2.0","id":1007,"method":"textDocument/codeAction","params":{"textDocument":{"uri":"%URI%"},"range":{"start":{"line":9,"character":9},"end":{"line":0,"character":0}}}}',
    b'{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"%URI%"},"contentChanges":"x"}}',
    b'{"jsonrpc":"2.0","method":"textDocument/didChange","params":{"textDocument":{"uri":"%URI%"}}}',
    b'{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"%URI%2"}}}',
    b'{"jsonrpc":"2.0","method":"textDocument/didClose","params":{}}',
    b'{"jsonrpc":"2.0","id":1008,"result":null}',
    b'{"jsonrpc":"2.0","id":1009,"method":"textDocument/hover","params":{"textDocument":{"uri":"%URI%"},"position":{"line":"0","character":0}}}',
    b'{"jsonrpc":"2.0","id":1010,"method":"textDocument/formatting","params":null}',
    '{"jsonrpc":"2.0","id":1011,"method":"textDocument/hover","params":{"textDocument":{"uri":"\u00e9\U0001F389"},"position":{"line":0,"character":0}}}'.encode(),
    b'\xff\xfe{"bad utf-8"}',
]
BAD_FRAMES = [b"Content-Type: x\r\n\r\n", b"Content-Length: abc\r\n\r\n", b"no colon here\r\n\r\n",
              b"Content-Length: -5\r\n\r\n", b"Content-Length: 99999999999999999999999\r\n\r\n"]


def main():
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    rnd = random.Random(SEED)
    with open(os.path.join(EXAMPLES, "tiers.ptag"), encoding="utf-8") as f:
        text = f.read()
    u = uri(os.path.join(WORK, "fuzz.ptag"))
    c = Client(PTAG, WORK, ("--debounce-ms", "5"))
    c.initialize(uri(WORK))
    c.notify("textDocument/didOpen", {"textDocument": {"uri": u, "languageId": "ptag", "version": 0, "text": text}})
    expected_ids = []
    for round_ in range(400):
        where = rnd.randint(0, len(text))
        if rnd.random() < 0.4 and text:
            text = text[:where] + text[where + rnd.randint(1, 30):]
        else:
            text = text[:where] + rnd.choice(PIECES) + text[where:]
        c.notify("textDocument/didChange", {"textDocument": {"uri": u, "version": round_ + 1},
                                            "contentChanges": [{"text": text}]})
        lines = text.split("\n")
        line = rnd.randint(0, len(lines) + 1)
        character = rnd.randint(0, 80)
        method = rnd.choice(METHODS)
        params = {"textDocument": {"uri": u}, "position": {"line": line, "character": character},
                  "context": {"includeDeclaration": True, "diagnostics": []}, "options": {},
                  "range": {"start": {"line": line, "character": 0}, "end": {"line": line + 2, "character": character}}}
        if rnd.random() < 0.15:
            body = rnd.choice(MALFORMED_BODIES).replace(b"%URI%", u.encode())
            c.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        if rnd.random() < 0.05:
            c.send_raw(rnd.choice(BAD_FRAMES))
        request_id = c.request_async(method, params)
        expected_ids.append(request_id)
        # Every request is answered once, in order: a result or a protocol error.
        while True:
            response = c.next_response(timeout=30)
            if response.get("id") == request_id:
                break
            # Answers to the malformed messages: errors, or for the odd but
            # valid ones (ids from 1000: positions far off, a range reversed) results.
            if "error" in response:
                assert response["error"]["code"] in (-32700, -32600, -32602), response
            else:
                assert isinstance(response.get("id"), int) and response["id"] >= 1000, response
        if "error" in response:
            assert response["error"]["code"] == -32803, response  # formatting a broken file
        c.notifications.clear()
    # Still fully working at the end.
    c.notify("textDocument/didChange", {"textDocument": {"uri": u, "version": 10000},
                                        "contentChanges": [{"text": 'on join add "Ok"\n'}]})
    hover = c.request("textDocument/hover", {"textDocument": {"uri": u}, "position": {"line": 0, "character": 4}})
    assert "join" in hover["result"]["contents"]["value"], hover
    code = c.finish()
    err = c.stderr()
    assert code == 0, (code, err[-2000:])
    for bad in ("Assertion", "terminate called", "Sanitizer", "runtime error"):
        assert bad not in err, err[-2000:]
    shutil.rmtree(WORK, ignore_errors=True)
    print("ok: %d requests over %d edits, seed %d" % (len(expected_ids), 400, SEED))


if __name__ == "__main__":
    try:
        main()
    except Exception:
        import traceback
        traceback.print_exc()
        print("FAILED")
        sys.exit(1)
