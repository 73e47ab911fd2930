#!/usr/bin/env python3
"""Flood a dgfs host with valid, expensive read requests, without waiting.

    flood.py HOST PORT CHUNKID TOKEN EXPIRY LENGTH COUNT [SECONDS]

Sends COUNT requests for LENGTH bytes each (a 1 MiB reply costs a worker
hundreds of datagrams), as fast as one socket can, and never reads the
replies: the point is to fill the host's rings faster than its workers
drain them. Bounded by COUNT and by SECONDS (default 20), or ended by
SIGTERM. Prints "sent N".
"""
import signal
import socket
import struct
import sys
import time

host, port, chunk, token, expiry, length, count = sys.argv[1:8]
seconds = float(sys.argv[8]) if len(sys.argv) > 8 else 20
req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, 1, bytes.fromhex(chunk), 0,
                  int(length), int(expiry), bytes.fromhex(token))
sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
deadline = time.monotonic() + seconds
sent = 0
stop = False


def done(signum, frame):
    global stop
    stop = True     # SIGTERM: the test is done with the flood


signal.signal(signal.SIGTERM, done)
for _ in range(int(count)):
    sock.sendto(req, (host, int(port)))
    sent += 1
    if stop or time.monotonic() > deadline:
        break
print("sent %d" % sent)
