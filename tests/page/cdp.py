"""A small Chrome DevTools Protocol client over --remote-debugging-pipe, for
the browser tests of the partners page. Standard library only.

    with Browser() as b:
        b.navigate("http://127.0.0.1:8080/")
        b.wait_for("document.querySelector('#partners-table tbody tr')")
        b.click("#apply"); b.type_text("#q", "revenue > 0"); b.press_key("Enter")
        assert not b.errors()

The browser reads CDP messages on its fd 3 and writes them on its fd 4, each
a JSON text ended by a NUL byte. Every wait has a timeout; close() always
kills the browser and removes its profile."""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time

CHROMIUM = os.environ.get("PTAG_CHROMIUM", "/usr/bin/chromium")


class CDPError(Exception):
    pass


# Input.dispatchKeyEvent needs the DOM key, its code and the Windows key code.
_KEYS = {
    "Enter": ("Enter", 13, "\r"),
    "Tab": ("Tab", 9, None),
    " ": ("Space", 32, " "),
    "Escape": ("Escape", 27, None),
    "Backspace": ("Backspace", 8, None),
    "ArrowDown": ("ArrowDown", 40, None),
    "ArrowUp": ("ArrowUp", 38, None),
    "ArrowLeft": ("ArrowLeft", 37, None),
    "ArrowRight": ("ArrowRight", 39, None),
    " ": ("Space", 32, " "),
}


class Browser:
    def __init__(self, width=1280, height=800, timeout=30):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="ptag-chromium-")
        # The browser's own stderr, for when it fails to start.
        self._log = open(os.path.join(self.profile, "chromium.log"), "w")
        self.proc = None
        self._next_id = 0
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._replies = {}
        self._events = []          # (method, params) of the page session, in order
        self.console = []          # {"type", "text"} of console calls
        self.exceptions = []       # texts of uncaught exceptions
        self.session = None
        self._closed = False
        try:
            self._start(width, height)
        except BaseException:
            self.close()
            raise

    # -- process and pipe --------------------------------------------------
    def _start(self, width, height):
        to_browser_r, to_browser_w = os.pipe()
        from_browser_r, from_browser_w = os.pipe()
        args = [CHROMIUM, "--headless=new", "--no-sandbox", "--remote-debugging-pipe",
                "--user-data-dir=" + self.profile, "--no-first-run", "--no-default-browser-check",
                "--disable-gpu", "--disable-extensions", "--disable-background-networking",
                "--disable-dev-shm-usage", "--disable-component-update",
                # Loopback only: no name resolves but 127.0.0.1, nothing phones home.
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server",
                "--no-pings", "--disable-sync", "--disable-domain-reliability",
                f"--window-size={width},{height}", "about:blank"]

        def wire():
            # In the child: fd 3 = what we write, fd 4 = what we read. Move the
            # ends above 10 first: one of them may itself be fd 3 or 4. The
            # originals are close-on-exec (PEP 446); dup2 makes 3 and 4
            # inheritable, so they survive exec with close_fds=False.
            r = fcntl.fcntl(to_browser_r, fcntl.F_DUPFD, 10)
            w = fcntl.fcntl(from_browser_w, fcntl.F_DUPFD, 10)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.close(r)
            os.close(w)

        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self._log, preexec_fn=wire, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._out = os.fdopen(to_browser_w, "wb", buffering=0)
        self._in = os.fdopen(from_browser_r, "rb", buffering=0)
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

        targets = self.send("Target.getTargets")["targetInfos"]
        pages = [t for t in targets if t["type"] == "page"]
        target = pages[0]["targetId"] if pages else self.send("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(domain + ".enable")
        self.set_viewport(width, height)

    def _read_loop(self):
        buf = b""
        while True:
            try:
                chunk = self._in.read(65536)
            except (OSError, ValueError):
                chunk = b""
            if not chunk:
                with self._cond:
                    self._closed = True
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                self._dispatch(json.loads(raw))

    def _dispatch(self, msg):
        with self._cond:
            if "id" in msg:
                self._replies[msg["id"]] = msg
            elif msg.get("sessionId") == self.session or self.session is None:
                method, params = msg.get("method"), msg.get("params", {})
                self._events.append((method, params))
                if method == "Runtime.consoleAPICalled":
                    text = " ".join(str(a.get("value", a.get("description", a.get("type"))))
                                    for a in params.get("args", []))
                    self.console.append({"type": params.get("type"), "text": text})
                elif method == "Runtime.exceptionThrown":
                    d = params.get("exceptionDetails", {})
                    exc = d.get("exception", {})
                    self.exceptions.append(exc.get("description") or d.get("text", "exception"))
                elif method == "Log.entryAdded":
                    e = params.get("entry", {})
                    # CSP violations and failed loads arrive here, not as console calls.
                    self.console.append({"type": e.get("level"), "text": e.get("text", ""),
                                         "source": e.get("source"), "url": e.get("url")})
            self._cond.notify_all()

    # -- raw protocol ------------------------------------------------------
    def send(self, method, session=None, timeout=None, **params):
        with self._cond:
            self._next_id += 1
            mid = self._next_id
        msg = {"id": mid, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        try:
            self._out.write(json.dumps(msg).encode() + b"\0")
        except OSError as e:
            raise CDPError(f"{method}: the browser is gone ({e})")
        deadline = time.time() + (timeout or self.timeout)
        with self._cond:
            while mid not in self._replies:
                left = deadline - time.time()
                if self._closed:
                    raise CDPError(f"{method}: the browser closed the pipe")
                if left <= 0:
                    raise CDPError(f"{method}: no answer within {timeout or self.timeout}s")
                self._cond.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise CDPError(f"{method}: {reply['error'].get('message')} {reply['error'].get('data', '')}".strip())
        return reply.get("result", {})

    def call(self, method, timeout=None, **params):
        """A command to the attached page."""
        return self.send(method, session=self.session, timeout=timeout, **params)

    def _event_count(self):
        with self._cond:
            return len(self._events)

    def _wait_event(self, method, since, timeout):
        deadline = time.time() + timeout
        with self._cond:
            while True:
                for m, p in self._events[since:]:
                    if m == method:
                        return p
                left = deadline - time.time()
                if left <= 0 or self._closed:
                    raise CDPError(f"no {method} within {timeout}s")
                self._cond.wait(left)

    # -- what tests use ----------------------------------------------------
    def navigate(self, url, timeout=None):
        """Loads url and waits for its load event."""
        mark = self._event_count()
        res = self.call("Page.navigate", url=url)
        if res.get("errorText"):
            raise CDPError(f"navigate {url}: {res['errorText']}")
        self._wait_event("Page.loadEventFired", mark, timeout or self.timeout)

    def evaluate(self, expr, timeout=None):
        """The value of a JavaScript expression (awaited when it is a promise);
        a thrown exception raises CDPError."""
        res = self.call("Runtime.evaluate", expression=expr, returnByValue=True, awaitPromise=True,
                        userGesture=True, timeout=timeout)
        if "exceptionDetails" in res:
            d = res["exceptionDetails"]
            raise CDPError(f"evaluate {expr!r}: " + (d.get("exception", {}).get("description") or d.get("text", "")))
        return res.get("result", {}).get("value")

    def wait_for(self, condition, timeout=10, interval=0.05):
        """Polls the JavaScript condition until it is truthy (as JavaScript
        sees it: a DOM node or [] counts); returns its value (True for a node)."""
        deadline = time.time() + timeout
        last_error = None
        probe = ("(async () => { const v = await (%s);"
                 " return {ok: !!v, value: v instanceof Node ? true : v}; })()" % condition)
        while True:
            try:
                got = self.evaluate(probe)
                if got and got.get("ok"):
                    return got.get("value")
            except CDPError as e:  # e.g. during a navigation
                last_error = e
            if time.time() >= deadline:
                raise CDPError(f"timed out after {timeout}s waiting for {condition}"
                               + (f" (last error: {last_error})" if last_error else ""))
            time.sleep(interval)

    def _center(self, selector):
        box = self.evaluate(
            "(() => { const e = document.querySelector(%s); if (!e) return null;"
            " e.scrollIntoView({block: 'center', inline: 'center'});"
            " const r = e.getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height]; })()"
            % json.dumps(selector))
        if not box:
            raise CDPError(f"no element {selector}")
        if box[2] == 0 or box[3] == 0:
            raise CDPError(f"element {selector} is not visible")
        return box[0], box[1]

    def click(self, selector):
        """A real mouse click in the middle of the element."""
        x, y = self._center(selector)
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left",
                      clickCount=0 if kind == "mouseMoved" else 1)

    def focus(self, selector):
        ok = self.evaluate("(() => { const e = document.querySelector(%s); if (!e) return false;"
                           " e.focus(); return document.activeElement === e; })()" % json.dumps(selector))
        if not ok:
            raise CDPError(f"cannot focus {selector}")

    def type_text(self, selector, text, clear=True):
        """Focuses the element and types text into it, as an input method would."""
        self.focus(selector)
        if clear:
            self.evaluate("(() => { const e = document.activeElement; e.select && e.select(); })()")
            self.call("Input.insertText", text="")
            self.evaluate("(() => { const e = document.activeElement; if ('value' in e && e.value)"
                          " { e.value = ''; e.dispatchEvent(new Event('input', {bubbles: true})); } })()")
        self.call("Input.insertText", text=text)

    def press_key(self, key, modifiers=0):
        """A key press on the focused element: "Enter", "Tab", "Escape", arrows, or one character."""
        if key in _KEYS:
            code, vk, text = _KEYS[key]
            dom_key = key
        elif len(key) == 1:
            dom_key, text = key, key
            code = ("Key" + key.upper()) if key.isalpha() else ("Digit" + key if key.isdigit() else "")
            vk = ord(key.upper())
        else:
            raise CDPError(f"unknown key {key!r}")
        down = {"type": "keyDown" if text else "rawKeyDown", "key": dom_key, "code": code,
                "windowsVirtualKeyCode": vk, "nativeVirtualKeyCode": vk, "modifiers": modifiers}
        if text:
            down["text"] = text
            down["unmodifiedText"] = text
        self.call("Input.dispatchKeyEvent", **down)
        self.call("Input.dispatchKeyEvent", type="keyUp", key=dom_key, code=code,
                  windowsVirtualKeyCode=vk, nativeVirtualKeyCode=vk, modifiers=modifiers)

    def set_viewport(self, width, height, mobile=False):
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=mobile)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))
        return path

    def errors(self, expected=()):
        """Console errors and warnings (CSP violations among them) and uncaught
        exceptions. The failed loads of URLs that contain one of `expected`
        (a 404 a test asked for) are left out."""
        def wanted(c):
            url = c.get("url") or ""
            # The browser asks for /favicon.ico by itself; a page without one is not an error.
            if url.endswith("/favicon.ico"):
                return False
            return not (c.get("source") == "network" and any(e in url for e in expected))
        with self._cond:
            bad = [f"console.{c['type']}: {c['text']} {c.get('url') or ''}".rstrip() for c in self.console
                   if c["type"] in ("error", "assert", "warning") and wanted(c)]
            return bad + [f"exception: {e}" for e in self.exceptions]

    def close(self):
        if self.proc is not None:
            try:
                if self.proc.poll() is None:
                    try:
                        self.send("Browser.close", timeout=3)
                    except Exception:
                        pass
                    try:
                        self.proc.wait(3)
                    except subprocess.TimeoutExpired:
                        pass
            finally:
                if self.proc.poll() is None:
                    self.proc.kill()
                    self.proc.wait()
                self.proc = None
                for f in (getattr(self, "_out", None), getattr(self, "_in", None)):
                    try:
                        f and f.close()
                    except OSError:
                        pass
        self._log.close()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
