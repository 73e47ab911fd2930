#!/usr/bin/env python3
"""Which TCP segments dgfsd's responses leave in (test_header_with_body.sh).

  header_segments.py FILE PATH PORT

Captures what leaves the loopback (AF_PACKET, in the test's namespace)
while one keep-alive connection asks for PATH: GET, a Range GET, HEAD, GET
again. For each response prints a line "METHOD STATUS: header H bytes,
first segment S bytes, body exact|WRONG, socket same|NEW"; S > H means the
header left in the body's first segment, S == H in a segment of its own.
Exits 1 if a response is missing, wrong, or no segment of it was seen.
"""
import http.client
import os
import socket
import struct
import sys
import threading

data, path, port = open(sys.argv[1], "rb").read(), sys.argv[2], int(sys.argv[3])
ETH_P_ALL, PACKET_OUTGOING = 3, 4

cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
cap.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32 << 20)
cap.bind(("lo", 0))
cap.settimeout(0.2)
starts = []		# (header length, segment payload length) of each response start
stop = threading.Event()


def sniff():
    while not stop.is_set():
        try:
            frame, addr = cap.recvfrom(1 << 17)
        except socket.timeout:
            continue
        # Each loopback packet is seen leaving and arriving: count it once.
        if addr[2] != PACKET_OUTGOING or len(frame) < 14 + 20 or frame[12:14] != b"\x08\x00":
            continue
        ip = frame[14:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != socket.IPPROTO_TCP or struct.unpack("!H", ip[ihl:ihl + 2])[0] != port:
            continue
        payload = ip[ihl + (ip[ihl + 12] >> 4) * 4:]
        if payload.startswith(b"HTTP/1.1 "):
            starts.append((payload.find(b"\r\n\r\n") + 4, len(payload)))


t = threading.Thread(target=sniff)
t.start()
auth = {"Authorization": "Bearer " + os.environ["DGFS_API_KEY"]}
c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
asked, ok, sock = [], True, None
n = len(data)
for method, rng, want_status, want in (("GET", None, 200, data),
                                       ("GET", (1000, 700000), 206, data[1000:700001]),
                                       ("HEAD", None, 200, b""),
                                       ("GET", None, 200, data)):
    try:
        c.request(method, path, headers=dict(auth, **({"Range": "bytes=%d-%d" % rng} if rng else {})))
        r = c.getresponse()
        body = r.read()
    except Exception as e:		# a response held back forever times out here
        print("%s %s: no answer (%s)" % (method, rng, e))
        ok = False
        break
    asked.append((method, r.status, body == want and r.status == want_status,
                  sock is None or c.sock is sock))
    sock = c.sock
stop.set()
t.join()
if len(starts) != len(asked):
    print("saw %d response starts for %d responses" % (len(starts), len(asked)))
    ok = False
for (method, status, exact, same), (hlen, seg) in zip(asked, starts):
    print("%s %d: header %d bytes, first segment %d bytes, body %s, socket %s" %
          (method, status, hlen, seg, "exact" if exact else "WRONG", "same" if same else "NEW"))
    ok = ok and exact and same
sys.exit(0 if ok else 1)
