#!/usr/bin/python3
"""chat.py PORT JID PASSWORD STEPS-JSON - a scripted XMPP client (slixmpp) for the tests.

Logs in on 127.0.0.1:PORT without TLS, runs the steps in order, and prints one JSON object:
{"messages": [{from, body, type, thread, lang}...], "iq": [...], "errors": [...]}.
Steps: {"send": {to, body, body_file?, type?, lang?, thread?, id?}}, {"expect": N, "timeout": S} (wait
until N messages in all have arrived), {"until": TEXT, "timeout": S} (until one received so far, offline ones too, contains TEXT), {"flood": {to, count, body}}, {"disco": TO},
{"items": TO}, {"ping": TO}, {"version": TO}, {"unknown_iq": TO}, {"subscribe": TO},
{"sleep": S}, {"quiet": S} (wait S seconds and fail if a message arrives).
Exit status 0, or 1 when a step timed out or the login failed (the JSON says why)."""
import asyncio
import json
import sys

import slixmpp
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.xmlstream import ET

port, jid, password, steps = int(sys.argv[1]), sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
out = {"messages": [], "iq": [], "presence": [], "errors": []}


class Client(slixmpp.ClientXMPP):
    def __init__(self):
        super().__init__(jid, password)
        for plugin in ("xep_0030", "xep_0092", "xep_0199"):
            self.register_plugin(plugin)
        self["feature_mechanisms"].unencrypted_plain = True
        self.ready = asyncio.Event()
        self.arrived = asyncio.Event()
        self.add_event_handler("session_start", self.on_start)
        self.add_event_handler("message", self.on_message)  # messages with a body
        self.add_event_handler("message_error", self.on_error)  # errors, with a body or not
        self.add_event_handler("presence", self.on_presence)
        self.add_event_handler("failed_auth", lambda _: self.fail("login failed"))

    def fail(self, why):
        out["errors"].append(why)
        self.ready.set()

    async def on_start(self, _):
        self.send_presence()
        self.ready.set()

    def on_message(self, msg):
        if msg["type"] in ("chat", "normal"):
            self.record(msg, None)

    def on_error(self, msg):
        self.record(msg, msg["error"]["condition"])

    def record(self, msg, error):
        out["messages"].append({"from": str(msg["from"]), "body": msg["body"], "type": msg["type"],
                                "thread": msg["thread"] or None, "lang": msg["lang"] or None,
                                "error": error})
        self.arrived.set()

    def on_presence(self, p):
        if str(p["from"].bare) != self.boundjid.bare:
            out["presence"].append({"from": str(p["from"]), "type": p["type"], "show": p["show"],
                                    "status": p["status"], "status_ru": p["status|ru"]})


async def iq(client, kind, to):
    try:
        if kind == "disco":
            r = await client["xep_0030"].get_info(jid=to, timeout=10)
            info = r["disco_info"]
            return {"identities": [list(i) for i in info["identities"]],
                    "features": sorted(info["features"])}
        if kind == "items":
            r = await client["xep_0030"].get_items(jid=to, timeout=10)
            return {"items": [list(i) for i in r["disco_items"]["items"]]}
        if kind == "ping":
            await client["xep_0199"].send_ping(to, timeout=10)
            return {"ping": "pong"}
        if kind == "version":
            r = await client["xep_0092"].get_version(to, timeout=10)
            return {"name": r["software_version"]["name"], "version": r["software_version"]["version"]}
        if kind == "unknown_iq":
            q = client.Iq(stype="get", sto=to)
            q.append(ET.Element("{urn:example:unknown}query"))
            await q.send(timeout=10)
            return {"result": "unexpected result"}
    except IqError as e:
        return {"error": e.iq["error"]["condition"], "from": str(e.iq["from"])}
    except IqTimeout:
        return {"error": "timeout"}


async def arrival(client, done, timeout):
    """Wait until done() holds, checking as messages arrive; False after timeout seconds."""
    deadline = asyncio.get_event_loop().time() + timeout
    while not done():
        client.arrived.clear()
        left = deadline - asyncio.get_event_loop().time()
        try:
            await asyncio.wait_for(client.arrived.wait(), max(left, 0.01))
        except asyncio.TimeoutError:
            return done()
    return True


async def main():
    c = Client()
    c.connect(address=("127.0.0.1", port), force_starttls=False, disable_starttls=True)
    try:
        return await run_steps(c)
    finally:
        await close(c)


async def close(c):
    """Close the stream, then end slixmpp's tasks, which would otherwise outlive the event loop
    and print tracebacks at exit ("Event loop is closed")."""
    try:
        await asyncio.wait_for(c.disconnect(), 3)
    except asyncio.TimeoutError:
        c.abort()
    rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for t in rest:
        t.cancel()
    await asyncio.gather(*rest, return_exceptions=True)


async def run_steps(c):
    try:
        await asyncio.wait_for(c.ready.wait(), 20)
    except asyncio.TimeoutError:
        out["errors"].append("no session")
    if out["errors"]:
        return 1
    status = 0
    for step in steps:
        if "send" in step:
            s = step["send"]
            body = s.get("body", "")
            if "body_file" in s:
                with open(s["body_file"], encoding="utf-8") as f:
                    body += f.read()
            m = c.make_message(mto=s["to"], mbody=body, mtype=s.get("type", "chat"))
            if "lang" in s:
                m["lang"] = s["lang"]
            if "thread" in s:
                m["thread"] = s["thread"]
            if "id" in s:
                m["id"] = s["id"]
            m.send()
        elif "flood" in step:
            f = step["flood"]
            for i in range(f["count"]):
                c.make_message(mto=f["to"], mbody=f"{f['body']} {i}", mtype="chat").send()
        elif "expect" in step:
            n = step["expect"]
            if not await arrival(c, lambda: len(out["messages"]) >= n, step.get("timeout", 20)):
                out["errors"].append(f"expected {n} messages, got {len(out['messages'])}")
                status = 1
                break
        elif "until" in step:
            text = step["until"]
            if not await arrival(c, lambda: any(text in m["body"] for m in out["messages"]),
                                 step.get("timeout", 20)):
                out["errors"].append(f"no message containing {text!r}")
                status = 1
                break
        elif "quiet" in step:
            before = len(out["messages"])
            await asyncio.sleep(step["quiet"])
            if len(out["messages"]) != before:
                out["errors"].append("unexpected message")
                status = 1
                break
        elif "sleep" in step:
            await asyncio.sleep(step["sleep"])
        elif "subscribe" in step:
            c.send_presence(pto=step["subscribe"], ptype="subscribe")
            await asyncio.sleep(1)
        else:
            kind = next(iter(step))
            out["iq"].append({"kind": kind, **(await iq(c, kind, step[kind]))})
    return status


status = asyncio.new_event_loop().run_until_complete(main())
json.dump(out, sys.stdout, ensure_ascii=False)
sys.exit(status)
