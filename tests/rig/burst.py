#!/usr/bin/python3
"""burst.py PORT HOST TO SESSIONS CONCURRENCY QUIET - many new customers at once, and what
each of them got back.

Logs in SESSIONS anonymous customers (tests/rig/anon_xmpp.py) on 127.0.0.1:PORT for virtual host
HOST and has each send one chat message to TO, with at most CONCURRENCY waiting for their first
answer (none waits longer than 5 s for it: a message may be lost with no answer at all). Then
reads on until nothing has arrived for QUIET seconds (at most 120 s in all) and prints one JSON
list, a customer each: {"jid": bare JID, "replies": [bodies of chat messages], "errors": number
of messages bounced with type="error"}."""
import asyncio
import html
import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anon_xmpp import AnonSession, login_all  # noqa: E402

port, host, to = sys.argv[1], sys.argv[2], sys.argv[3]
sessions, concurrency, quiet = int(sys.argv[4]), int(sys.argv[5]), float(sys.argv[6])
MESSAGE = re.compile(r"<message\b([^>]*?)(?:/>|>(.*?)</message>)", re.S)
last_arrival = time.monotonic()


class Customer(AnonSession):
    def __init__(self):
        super().__init__(port, host)
        self.replies, self.errors = [], 0
        self.answered = asyncio.Event()

    async def read_messages(self):
        global last_arrival
        while True:
            data = await self.reader.read(65536)
            if not data:
                return
            self.buf += data.decode("utf-8", "replace")
            end = 0
            for m in MESSAGE.finditer(self.buf):
                end = m.end()
                attrs, inner = m.group(1), m.group(2) or ""
                body = re.search(r"<body[^>]*>(.*?)</body>", inner, re.S)
                if re.search(r"""type=["']error["']""", attrs):
                    self.errors += 1
                elif body:
                    self.replies.append(html.unescape(body.group(1)))
                else:
                    continue
                last_arrival = time.monotonic()
                self.answered.set()
            self.buf = self.buf[end:]


async def main():
    customers = [Customer() for _ in range(sessions)]
    await login_all(customers)
    readers = [asyncio.ensure_future(c.read_messages()) for c in customers]
    flight = asyncio.Semaphore(concurrency)

    async def ask(i, c):
        async with flight:
            c.writer.write(f"<message to='{to}' type='chat' id='q{i}'><body>Burst question {i}: "
                           "the printer is jammed</body></message>".encode())
            try:
                await asyncio.wait_for(c.answered.wait(), 5)
            except asyncio.TimeoutError:
                pass
    await asyncio.gather(*(ask(i, c) for i, c in enumerate(customers)))
    deadline = time.monotonic() + 120
    while time.monotonic() - last_arrival < quiet and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    for r in readers:
        r.cancel()
    print(json.dumps([{"jid": c.jid.split("/")[0], "replies": c.replies, "errors": c.errors}
                      for c in customers], ensure_ascii=False))


asyncio.new_event_loop().run_until_complete(main())
