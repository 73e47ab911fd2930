#!/usr/bin/env python3
"""Which TCP segments dgfsd's responses leave in (test_header_with_body.sh).

  header_segments.py FILE PATH PORT [ASSET]

Captures what leaves the loopback (AF_PACKET, in the test's namespace)
while one keep-alive connection asks for PATH: GET, a Range GET, HEAD, GET
again; then, with ASSET (a file of the web UI's, build/web/assets/NAME),
5 times the web UI's own sequence: /assets/NAME (a body sent in one
sendfile()) and PATH?tags (JSON from memory), printed as ASSET and JSON.
For each response prints a line "METHOD STATUS: header H bytes, first
segment S bytes, body exact|WRONG, socket same|NEW, T ms"; S > H means the
header left in the body's first segment, S == H in a segment of its own;
T is from the request's send to the response's last byte.
Exits 1 if a response is missing, wrong, or no segment of it was seen.
"""
import http.client
import os
import socket
import struct
import sys
import threading
import time

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
# (label, method, path, range, status, body wanted: None for any JSON)
todo = [("GET", "GET", path, None, 200, data),
        ("GET", "GET", path, (1000, 700000), 206, data[1000:700001]),
        ("HEAD", "HEAD", path, None, 200, b""),
        ("GET", "GET", path, None, 200, data)]
if len(sys.argv) > 4:
    asset = "/assets/" + os.path.basename(sys.argv[4])
    todo += [("ASSET", "GET", asset, None, 200, open(sys.argv[4], "rb").read()),
             ("JSON", "GET", path + "?tags", None, 200, None)] * 5
for label, method, p, rng, want_status, want in todo:
    try:
        t0 = time.monotonic()
        c.request(method, p, headers=dict(auth, **({"Range": "bytes=%d-%d" % rng} if rng else {})))
        r = c.getresponse()
        body = r.read()
        took = (time.monotonic() - t0) * 1000
    except Exception as e:		# a response held back forever times out here
        print("%s %s %s: no answer (%s)" % (label, p, rng, e))
        ok = False
        break
    exact = body == want if want is not None else body.startswith(b"{")
    asked.append((label, r.status, exact and r.status == want_status,
                  sock is None or c.sock is sock, took))
    sock = c.sock
stop.set()
t.join()
if len(starts) != len(asked):
    print("saw %d response starts for %d responses" % (len(starts), len(asked)))
    ok = False
for (label, status, exact, same, took), (hlen, seg) in zip(asked, starts):
    print("%s %d: header %d bytes, first segment %d bytes, body %s, socket %s, %.1f ms" %
          (label, status, hlen, seg, "exact" if exact else "WRONG", "same" if same else "NEW",
           took))
    ok = ok and exact and same
sys.exit(0 if ok else 1)
