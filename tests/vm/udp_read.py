#!/usr/bin/env python3
"""Read one whole small chunk COUNT times over the fast path from each of
several source addresses, check every reply byte for byte, and report how
far a counter of the server's moved during each source's reads.

    udp_read.py HOST PORT CHUNKID FILE COUNT TOKEN_CMD STAT_CMD COUNTER SRC...

Each SRC is bound, so the server sees it and answers it. TOKEN_CMD, with
the source address appended, prints "TOKEN EXPIRY" for it (`dgfs token
... --addr`); STAT_CMD prints the server's counters as "name value" lines
(`dgfsctl stats` in its namespace). Each read asks for the whole chunk
(FILE's bytes) and waits for every byte of the reply, asking again after a
second without one (at most 5 times). Prints one line per source, "SRC
DELTA" (how far COUNTER moved during its reads) or "SRC failed: why", and
exits 1 if any failed. One process for all the sources: under QEMU each
Python start costs seconds. Why not `dgfs fetch`: it cannot choose its
source address, and the test needs many clients in one namespace.
"""
import shlex
import socket
import struct
import subprocess
import sys

host, port, chunk, path, count, token_cmd, stat_cmd, counter = sys.argv[1:9]
sources = sys.argv[9:]
want = open(path, "rb").read()
HDR = struct.Struct(">IBBHQQII")     # struct dgfs_read_reply, 32 bytes


def read_once(sock, token, expiry, req_id):
    req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, req_id, bytes.fromhex(chunk), 0,
                      len(want), expiry, bytes.fromhex(token))
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


def stat():
    out = subprocess.run(shlex.split(stat_cmd), capture_output=True, text=True, check=True).stdout
    return int(dict(l.split() for l in out.splitlines() if len(l.split()) == 2)[counter])


failed = False
for src in sources:
    token, expiry = subprocess.run(shlex.split(token_cmd) + [src], capture_output=True, text=True,
                                   check=True).stdout.split()
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.bind((src, 0))
    except OSError as e:
        print("%s failed: bind: %s" % (src, e))
        failed = True
        continue
    sock.settimeout(1.0)
    before = stat()
    for i in range(int(count)):
        why = read_once(sock, token, int(expiry), i + 1)
        if why:
            print("%s failed: read %d: %s" % (src, i + 1, why))
            failed = True
            break
    else:
        print("%s %d" % (src, stat() - before))
    sock.close()
sys.exit(1 if failed else 0)
