#!/usr/bin/env python3
"""Test glue: what crosses the loopback of this network namespace.

    sniff.py PATTERN...     (as root, in the namespace; stop it with SIGTERM)

Reads every frame on lo (an AF_PACKET socket) until SIGTERM, then prints
"frames N" and, for each PATTERN (bytes, as given), "PATTERN COUNT": how
many frames held it. A pattern split across two frames is not counted,
which the internal API's headers (one small segment) never are.
"""
import signal
import socket
import sys

ETH_P_ALL = 0x0003
pats = [p.encode() for p in sys.argv[1:]]
counts = [0] * len(pats)
frames = 0
stop = False


def on_term(*_):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.bind(("lo", 0))
s.settimeout(0.2)
print("ready", flush=True)
while not stop:
    try:
        f = s.recv(1 << 17)
    except socket.timeout:
        continue
    except InterruptedError:
        continue
    frames += 1
    for i, p in enumerate(pats):
        if p in f:
            counts[i] += 1
print("frames", frames)
for p, c in zip(sys.argv[1:], counts):
    print(p, c)
