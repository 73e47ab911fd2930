#!/usr/bin/env python3
"""Read one whole small chunk N times over the fast path from a given source
address, and check every reply byte for byte.

    udp_read.py SRC HOST PORT CHUNKID TOKEN EXPIRY FILE COUNT

SRC is the address to send from (bound, so the server sees it and answers
it; the token must be made for it). Each read asks for the whole chunk
(FILE's bytes) and waits for every byte of the reply, asking again after a
second without one (at most 5 times). Exits 0 and prints "ok COUNT" when
every reply was complete and equal to FILE, else 1 with what went wrong.
Why not `dgfs fetch`: it cannot choose its source address, and the test
needs many clients from one namespace.
"""
import socket
import struct
import sys

src, host, port, chunk, token, expiry, path, count = sys.argv[1:9]
want = open(path, "rb").read()
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
sock = socket.socket(fam, socket.SOCK_DGRAM)
sock.bind((src, 0))
sock.settimeout(1.0)
HDR = struct.Struct(">IBBHQQII")     # struct dgfs_read_reply, 32 bytes


def read_once(req_id):
    req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, req_id, bytes.fromhex(chunk), 0,
                      len(want), int(expiry), bytes.fromhex(token))
    got = bytearray(len(want))
    have = set()
    for _ in range(5):
        sock.sendto(req, (host, int(port)))
        while True:
            try:
                d = sock.recv(65536)
            except socket.timeout:
                break
            if len(d) < HDR.size:
                return "a datagram shorter than the reply header"
            magic, ver, op, status, rid, off, total, size = HDR.unpack_from(d)
            if rid != req_id:
                continue        # a late reply to an earlier read
            if status != 0:
                return "status %d" % status
            payload = d[HDR.size:]
            if off + len(payload) > len(want) or total != len(want) or size != len(want):
                return "a reply outside the chunk (offset %d, %d bytes)" % (off, len(payload))
            got[off:off + len(payload)] = payload
            have.update(range(off, off + len(payload)))
            if len(have) == len(want):
                return None if bytes(got) == want else "the reply differs from the file"
    return "no complete reply after 5 tries (%d of %d bytes)" % (len(have), len(want))


for i in range(int(count)):
    why = read_once(i + 1)
    if why:
        print("read %d from %s: %s" % (i + 1, src, why))
        sys.exit(1)
print("ok %s" % count)
