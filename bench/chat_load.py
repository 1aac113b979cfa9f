#!/usr/bin/python3
"""chat_load.py PORT HOST TO SESSIONS CONCURRENCY - chat round trips through an XMPP server.

Logs in SESSIONS anonymous clients (SASL ANONYMOUS: every one a distinct customer JID) on
127.0.0.1:PORT for virtual host HOST, then has each send one chat message to TO and wait for the
first chat message back, with at most CONCURRENCY round trips in flight. Prints one JSON line:
{"round_trips", "seconds", "per_second", "p50_ms", "p99_ms", "failed", "p90_ms", "p95_ms",
"mean_ms", "cpu_ms", "sys_ms"};
cpu_ms is the CPU time of this client and of each process named in $CPU_PIDS ("name=pid ...")
during the round trips only (logins excluded), sys_ms the part of it spent in the kernel, to see
which process the machine's two cores were spent on. Raw XML over asyncio
streams, so that the client is not what is measured."""
import asyncio
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "rig"))
from anon_xmpp import AnonSession, login_all  # noqa: E402

port, host, to, sessions, concurrency = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])


class Session(AnonSession):
    def __init__(self):
        super().__init__(port, host)

    async def round_trip(self, n):
        start = time.perf_counter()
        self.writer.write(f"<message to='{to}' type='chat' id='m{n}'><body>Load test question {n}: "
                          f"my printer does not print</body></message>".encode())
        await self.read_until(r"<message[^>]*type=.chat.[^>]*>.*?<body>.*?</body>.*?</message>")
        return time.perf_counter() - start


def cpu_now():
    """CPU ms (user + system) of this client and of the processes in $CPU_PIDS."""
    ms = {"client": round(time.process_time() * 1000)}
    tick = os.sysconf("SC_CLK_TCK")
    for item in os.environ.get("CPU_PIDS", "").split():
        name, pid = item.split("=")
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ms[name] = (int(fields[11]) + int(fields[12])) * 1000 // tick
        ms[name + " sys"] = int(fields[12]) * 1000 // tick
    return ms


async def main():
    clients = [Session() for _ in range(sessions)]
    await login_all(clients)
    await asyncio.sleep(1)  # presences settle

    lat, failed = [], 0
    flight = asyncio.Semaphore(concurrency)

    async def one(i, c):
        nonlocal failed
        async with flight:
            try:
                lat.append(await asyncio.wait_for(c.round_trip(i), 30))
            except (asyncio.TimeoutError, ConnectionError):
                failed += 1
    cpu0 = cpu_now()
    t0 = time.perf_counter()
    await asyncio.gather(*(one(i, c) for i, c in enumerate(clients)))
    took = time.perf_counter() - t0
    cpu1 = cpu_now()
    for c in clients:
        c.writer.close()
    lat.sort()
    pct = lambda p: round(lat[min(len(lat) - 1, int(p * len(lat)))] * 1000, 1) if lat else None
    print(json.dumps({"round_trips": len(lat), "seconds": round(took, 2),
                      "per_second": round(len(lat) / took, 1), "p50_ms": pct(0.50),
                      "p99_ms": pct(0.99), "failed": failed,
                      "p90_ms": pct(0.90), "p95_ms": pct(0.95),
                      "mean_ms": round(sum(lat) / len(lat) * 1000, 1) if lat else None,
                      "cpu_ms": {k: cpu1[k] - cpu0[k] for k in cpu0 if not k.endswith(" sys")},
                      "sys_ms": {k: cpu1[k] - cpu0[k] for k in cpu0 if k.endswith(" sys")}}))


asyncio.new_event_loop().run_until_complete(main())
