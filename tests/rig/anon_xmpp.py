"""anon_xmpp.py - raw XMPP client sessions on asyncio streams: SASL ANONYMOUS, no TLS, on
127.0.0.1. bench/chat_load.py and tests/rig/burst.py log in thousands of distinct customers with
it (every anonymous login is a new JID); raw XML, so that the client is not what is measured."""
import asyncio
import re


class AnonSession:
    def __init__(self, port, host):
        self.port, self.host = int(port), host
        self.stream = (f"<?xml version='1.0'?><stream:stream to='{host}' xmlns='jabber:client' "
                       "xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>")
        self.buf = ""
        self.jid = None

    async def read_until(self, pattern, flags=0):
        """The first match of pattern in what arrived (waiting for more), consumed up to its end."""
        while not re.search(pattern, self.buf, flags):
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("closed")
            self.buf += data.decode("utf-8", "replace")
        m = re.search(pattern, self.buf, flags)
        self.buf = self.buf[m.end():]
        return m

    async def login(self):
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(self.stream.encode())
        await self.read_until(r"</stream:features>")
        self.writer.write(b"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='ANONYMOUS'/>")
        await self.read_until(r"<success[^>]*/>|<success.*?</success>")
        self.writer.write(self.stream.encode())
        await self.read_until(r"</stream:features>")
        self.writer.write(b"<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        self.jid = (await self.read_until(r"<jid>([^<]+)</jid>")).group(1)
        self.writer.write(b"<presence/>")


async def login_all(sessions, at_once=50):
    """Log them all in, at_once at a time (the server accepts only so many logins at once)."""
    gate = asyncio.Semaphore(at_once)

    async def login(s):
        async with gate:
            await s.login()
    await asyncio.gather(*(login(s) for s in sessions))
