#!/usr/bin/env python3
"""examples/webhook-receiver.py's verify(): the Standard Webhooks test vector,
and a delivery signed by ptag's C++ signer (written by test_serve_signature)."""

import importlib.util
import sys

receiver_path, sample_path = sys.argv[1], sys.argv[2]
spec = importlib.util.spec_from_file_location("receiver", receiver_path)
receiver = importlib.util.module_from_spec(spec)
spec.loader.exec_module(receiver)

failures = []


def check(name, got, want):
    if got != want:
        failures.append(f"{name}: got {got!r}, want {want!r}")


# The published vector: github.com/standard-webhooks/standard-webhooks,
# libraries/javascript/src/webhook.test.ts, "sign function works".
SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
ID, TS, BODY = "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", '{"test": 2432232314}'
SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
check("vector", receiver.verify(SECRET, ID, TS, SIG, BODY, now=1614265330), None)
check("vector, several signatures", receiver.verify(SECRET, ID, TS, "v1,bm90IGl0 v2,x " + SIG, BODY, now=1614265330), None)
check("vector, body changed", receiver.verify(SECRET, ID, TS, SIG, BODY + " ", now=1614265330), "no signature matches")
check("vector, id changed", receiver.verify(SECRET, "msg_x", TS, SIG, BODY, now=1614265330), "no signature matches")
check("vector, too old", receiver.verify(SECRET, ID, TS, SIG, BODY, now=1614265330 + 301),
      "the webhook-timestamp is outside the tolerance")
check("vector, no signature", receiver.verify(SECRET, ID, TS, None, BODY, now=1614265330),
      "a webhook-id, webhook-timestamp or webhook-signature header is missing")

with open(sample_path, encoding="utf-8") as f:
    secret, msg_id, timestamp, signature, body = f.read().split("\n")[:5]
now = int(timestamp)
check("ptag's signature", receiver.verify(secret, msg_id, timestamp, signature, body.encode(), now=now), None)
check("ptag's signature, other secret",
      receiver.verify(SECRET, msg_id, timestamp, signature, body.encode(), now=now), "no signature matches")

if failures:
    print("\n".join(failures))
    sys.exit(1)
print("webhook-receiver.py verifies the Standard Webhooks vector and ptag's signatures")
