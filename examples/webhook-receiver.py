#!/usr/bin/env python3
"""A receiver for ptag serve's outgoing webhooks (Python standard library only).

It checks each delivery's Standard Webhooks signature, prints it and counts
deliveries by webhook-id (a retried delivery keeps its id):

    python3 examples/webhook-receiver.py --port 9000 --secret whsec_...

Each verified delivery is printed as one JSON line:
    {"id": "msg_3f09c2a1d4b5e678_42", "attempt": 1, "type": "tag.added", "seq": 42, "data": {...}}
A bad signature gets 401 and is not counted. For testing retries,
--fail N answers 500 to the first N verified requests, and --hang N then
holds the next N open for --hang-seconds (longer than ptag's timeout).
"""

import argparse
import base64
import hashlib
import hmac
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TOLERANCE = 300  # seconds the webhook-timestamp may be off, both ways


def verify(secret, msg_id, timestamp, signature_header, body, now=None, tolerance=TOLERANCE):
    """Returns None when the delivery is authentic, else why not.

    secret: "whsec_<base64>"; body: the raw bytes as received (never re-encoded JSON).
    """
    if not msg_id or not timestamp or not signature_header:
        return "a webhook-id, webhook-timestamp or webhook-signature header is missing"
    if not secret.startswith("whsec_"):
        return "the secret does not start with whsec_"
    try:
        key = base64.b64decode(secret[len("whsec_"):], validate=True)
        ts = int(timestamp)
    except ValueError:
        return "the secret is not base64, or the timestamp is not Unix seconds"
    now = int(time.time()) if now is None else now
    if abs(now - ts) > tolerance:
        return "the webhook-timestamp is outside the tolerance"
    if isinstance(body, str):
        body = body.encode()
    signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for entry in signature_header.split(" "):
        version, _, value = entry.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return None
    return "no signature matches"


class Receiver(BaseHTTPRequestHandler):
    secret = ""
    fail = 0
    hang = 0
    hang_seconds = 30.0
    counts = {}
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        why = verify(self.secret, self.headers.get("webhook-id"), self.headers.get("webhook-timestamp"),
                     self.headers.get("webhook-signature"), body)
        if why:
            print(json.dumps({"rejected": why}), file=sys.stderr, flush=True)
            return self.answer(401)
        with Receiver.lock:
            if Receiver.fail > 0:
                Receiver.fail -= 1
                status = 500
            elif Receiver.hang > 0:
                Receiver.hang -= 1
                status = None
            else:
                status = 200
        if status is None:
            time.sleep(self.hang_seconds)
            return self.answer(503)
        if status != 200:
            return self.answer(status)
        msg_id = self.headers["webhook-id"]
        with Receiver.lock:
            Receiver.counts[msg_id] = Receiver.counts.get(msg_id, 0) + 1
            attempt = Receiver.counts[msg_id]
        message = json.loads(body)
        line = json.dumps({"id": msg_id, "attempt": attempt, "type": message.get("type"),
                           "seq": message.get("seq"), "data": message.get("data")}) + "\n"
        with Receiver.lock:  # one write per line: threads never interleave
            sys.stdout.write(line)
            sys.stdout.flush()
        self.answer(200)

    def answer(self, status):
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):  # quiet: deliveries are printed as JSON
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--secret", required=True, help="the webhook's whsec_ secret")
    parser.add_argument("--fail", type=int, default=0, help="answer 500 to the first N deliveries")
    parser.add_argument("--hang", type=int, default=0, help="then hold N deliveries open")
    parser.add_argument("--hang-seconds", type=float, default=30.0)
    args = parser.parse_args()
    Receiver.secret, Receiver.fail, Receiver.hang = args.secret, args.fail, args.hang
    Receiver.hang_seconds = args.hang_seconds
    server = ThreadingHTTPServer((args.host, args.port), Receiver)
    print(json.dumps({"listening": f"{args.host}:{server.server_address[1]}"}), file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
