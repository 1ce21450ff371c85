"""Outgoing webhook deliveries per second to one endpoint (docs/performance.md).

A fast receiver (asyncio, keep-alive, answers 204 at once, in its own
process) and a real `ptag serve` on loopback with one [[webhooks]] entry
pointing at it. PARTNERS join events are posted (one "New Partner" record
and so one delivery each); the figure is deliveries from the first arrival
to the last, per second.
Usage: delivery_bench.py PTAG [--partners 20000] [--build OLD_PTAG]"""
import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_lib import AD, IN, Server, event, jsonl, utc  # noqa: E402


def receiver(port_value, count, first, last):
    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                with count.get_lock():
                    count.value += 1
                    now = time.time()
                    if first.value == 0:
                        first.value = now
                    last.value = now
                writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionResetError):
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=256)
        port_value.value = server.sockets[0].getsockname()[1]
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("ptag")
    ap.add_argument("--partners", type=int, default=20000)
    a = ap.parse_args()
    port, count = multiprocessing.Value("i", 0), multiprocessing.Value("l", 0)
    first, last = multiprocessing.Value("d", 0.0), multiprocessing.Value("d", 0.0)
    proc = multiprocessing.Process(target=receiver, args=(port, count, first, last), daemon=True)
    proc.start()
    for _ in range(200):
        if port.value:
            break
        time.sleep(0.02)
    work = tempfile.mkdtemp(prefix="ptag-deliveries-")
    with open(os.path.join(work, "rules.ptag"), "w") as f:
        f.write('on join add "New Partner"\n')
    with open(os.path.join(work, "ptag.toml"), "w") as f:
        f.write(f'listen = "127.0.0.1:0"\ningest_tokens = ["{IN}"]\nadmin_tokens = ["{AD}"]\n'
                f'[[webhooks]]\nurl = "http://127.0.0.1:{port.value}/hook"\n'
                'secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"\n')
    s = Server(a.ptag, work, ["rules.ptag"], os.path.join(work, "state.db"), config="ptag.toml",
               clock="event").start()
    T = utc(int(time.time()) - 3600)
    for start in range(0, a.partners, 1000):
        batch = [event("join", f"p{i}", T, f"j{i}") for i in range(start, min(a.partners, start + 1000))]
        s.request("POST", "/v1/events", jsonl(batch), IN)
    deadline = time.time() + 600
    while count.value < a.partners and time.time() < deadline:
        time.sleep(0.05)
    s.stop()
    proc.terminate()
    took = last.value - first.value
    print(json.dumps({"deliveries": count.value, "seconds": round(took, 2),
                      "per_second": round(count.value / took) if took > 0 else None}))


main()
