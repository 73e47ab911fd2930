#!/usr/bin/env python3
"""Tell whether a server's reply carries the page-cache page or a copy of it.

    zerocopy_probe.py HOST PORT CHUNKID TOKEN EXPIRY FILE OFFSET LENGTH

Sends one READ for LENGTH bytes (small enough for one datagram) at OFFSET,
waits until the reply sits in this socket's receive queue, and only then
overwrites those bytes of FILE (the chunk's file on the server, which the
test can reach because client and server share the VM's filesystem) with
different ones, through write(), which changes the page-cache page in place.
Then it reads the reply. A server that sent the page itself (a page frag)
shows the new bytes: the queued skb still points at the page. A server
that copied the page into its own buffer shows the old ones.

Prints "shared" (new bytes), "copied" (old bytes) or "other: ..." and exits 0;
exits 1 when no reply came or it was not a one-datagram OK reply.
"""
import mmap
import os
import select
import socket
import struct
import sys

host, port, chunk, token, expiry, path = sys.argv[1:7]
offset, length = int(sys.argv[7]), int(sys.argv[8])

# The old bytes through O_DIRECT, which leaves the page cache as it is: the
# test may have dropped the page to make the server read it in.
start = offset & ~4095
span = (offset + length - start + 4095) & ~4095
buf = mmap.mmap(-1, span)  # page-aligned, as O_DIRECT wants
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
try:
    got = os.preadv(fd, [buf], start)
finally:
    os.close(fd)
old = bytes(buf[offset - start:offset - start + length])
if got < offset - start + length:
    print("short read of the file")
    sys.exit(1)
new = bytes(b ^ 0xFF for b in old)  # differs from old in every byte

sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
req = struct.pack(">IBBHQ32sQII8s", 0x44474653, 1, 1, 0, 7, bytes.fromhex(chunk), offset,
                  length, int(expiry), bytes.fromhex(token))
sock.sendto(req, (host, int(port)))
if not select.select([sock], [], [], 5)[0]:
    print("no reply within 5 s")
    sys.exit(1)

# The reply is queued (sent, routed and delivered): now change the page.
fd = os.open(path, os.O_WRONLY)
try:
    if os.pwrite(fd, new, offset) != length:
        print("short write")
        sys.exit(1)
finally:
    os.close(fd)

data = sock.recv(65536)
magic, _ver, op, status, req_id, off, total, _size = struct.unpack(">IBBHQQII", data[:32])
if magic != 0x44474653 or op != 0x81 or status != 0 or req_id != 7:
    print("unexpected reply: status %d op %#x" % (status, op))
    sys.exit(1)
if off != offset or total != length or len(data) != 32 + length:
    print("not a one-datagram reply: offset %d total %d payload %d" % (off, total, len(data) - 32))
    sys.exit(1)
payload = data[32:]
if payload == new:
    print("shared")
elif payload == old:
    print("copied")
else:
    print("other: %d of %d bytes new" % (sum(a == b for a, b in zip(payload, new)), length))
