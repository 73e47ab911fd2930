#!/usr/bin/env python3
"""Flood a dgfs host with well-formed read requests, without waiting.

    flood.py HOST PORT CHUNKID COUNT

Sends COUNT requests (4 KiB reads; a dummy token, so the host refuses them
after queueing) as fast as one socket can, then reads whatever came back for
a moment and prints "sent N replies M". Bounded by COUNT and by 30 seconds;
used to overflow the host's rings on purpose.
"""
import socket
import struct
import sys
import time

host, port, chunk, count = sys.argv[1], int(sys.argv[2]), bytes.fromhex(sys.argv[3]), int(sys.argv[4])
family = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(family, socket.SOCK_DGRAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
deadline = time.monotonic() + 30
sent = 0
for i in range(count):
    req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, i, chunk, 0, 4096,
                      int(time.time()) + 60, b"\0" * 8)
    try:
        sock.sendto(req, (host, port))
        sent += 1
    except BlockingIOError:
        pass
    if time.monotonic() > deadline:
        break
sock.settimeout(0.5)
replies = 0
try:
    while True:
        sock.recv(2048)
        replies += 1
except socket.timeout:
    pass
print("sent %d replies %d" % (sent, replies))
