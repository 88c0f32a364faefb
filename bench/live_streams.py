#!/usr/bin/env python3
"""Holds N live (SSE) streams open against LinkPulse for bench/run.sh:
one per link, on the first N codes of the codes file, reading whatever
arrives. Prints "open N" once every stream answered 200, then runs until
killed; on SIGTERM prints the events it received."""
import os
import selectors
import signal
import socket
import sys

port, key, codes_file, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
with open(codes_file) as f:
    codes = [next(f).strip() for _ in range(n)]
sel = selectors.DefaultSelector()
events = 0
for code in codes:
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.sendall(("GET /api/v1/links/%s/live HTTP/1.1\r\nHost: bench\r\nAuthorization: Bearer %s\r\n"
               "Accept: text/event-stream\r\n\r\n" % (code, key)).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(4096)
    if b" 200 " not in head.split(b"\r\n", 1)[0]:
        sys.exit("stream refused: %r" % head[:200])
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("open %d" % n, flush=True)
signal.signal(signal.SIGTERM, lambda *a: (print("events %d" % events, flush=True), os._exit(0)))
while True:
    for k, _ in sel.select():
        data = k.fileobj.recv(65536)
        if not data:
            sel.unregister(k.fileobj)
        events += data.count(b"\nevent: visit\n")
