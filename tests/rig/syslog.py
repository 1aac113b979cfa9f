#!/usr/bin/python3
"""syslog.py SOCKET OUT - a syslog receiver for the tests: binds a unix datagram socket at SOCKET
and appends every message to OUT, one per line, as received ("<PRI>... ident[pid]: text").
Prints "ready" on standard output once bound; runs until killed."""
import os
import socket
import sys

path, out = sys.argv[1], sys.argv[2]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(path)
os.chmod(path, 0o666)
print("ready", flush=True)
with open(out, "a") as f:
    while True:
        f.write(s.recv(65536).decode("utf-8", "replace").rstrip("\n\0") + "\n")
        f.flush()
