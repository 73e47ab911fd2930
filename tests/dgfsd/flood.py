#!/usr/bin/env python3
"""Floods dgfsd with slow and oversized requests (tests/dgfsd/test_memory.sh).

  flood.py PID ADDRS CONNS DECLARED SEND

From each of the loopback addresses ADDRS (comma-separated, e.g.
127.0.0.1,127.0.0.2), opens CONNS connections; on each, a POST
/chunks/missing that declares DECLARED body bytes and sends SEND of them,
then stalls. Once all are sent it prints one JSON line:
  {"rss_kb": dgfsd's VmRSS while they all hang, "body_memory": what its
   /metrics says it holds of --max-body-memory then, "sent": connections whose
   SEND bytes went out, "refused": connections closed or reset early}
then waits until dgfsd closes every connection (its timeout for silent
clients) and prints {"closed": N, "after": seconds from the stall to the
last close}.
"""
import json
import os
import socket
import sys
import time


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return -1


def body_memory(key):
    """dgfsd_body_memory_bytes from /metrics, asked from an address of its own."""
    s = socket.socket()
    s.bind(("127.0.0.20", 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", 8080))
    s.sendall(("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
               "Authorization: Bearer %s\r\n\r\n" % key).encode())
    data = b""
    while True:
        got = s.recv(65536)
        if not got:
            break
        data += got
    s.close()
    for line in data.decode(errors="replace").splitlines():
        if line.startswith("dgfsd_body_memory_bytes "):
            return int(float(line.split()[1]))
    return -1


def main():
    pid, addrs, conns, declared, send = (int(sys.argv[1]), sys.argv[2].split(","),
                                         int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    key = os.environ.get("DGFS_API_KEY", "")
    head = ("POST /chunks/missing HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Authorization: Bearer %s\r\nContent-Length: %d\r\n\r\n" % (key, declared)).encode()
    body = b'{"ids":["' + b"0" * (send - 9) if send > 9 else b"{" * send
    socks, refused = [], 0
    for a in addrs:
        for _ in range(conns):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.settimeout(30)
            try:
                s.bind((a, 0))
                s.connect(("127.0.0.1", 8080))
                s.sendall(head)
                socks.append(s)
            except OSError:
                refused += 1
                s.close()
    # The bodies in turns of 256 KiB, so that every connection keeps
    # moving (none falls silent long enough to be timed out) and all of
    # them are held at the same time.
    piece, off = 256 << 10, 0
    while off < len(body):
        for s in list(socks):
            try:
                s.sendall(body[off:off + piece])
            except OSError:
                refused += 1
                socks.remove(s)
                s.close()
        off += piece
    # Let dgfsd take in what it was sent (less than its 3 s timeout).
    time.sleep(1)
    print(json.dumps({"rss_kb": rss_kb(pid), "body_memory": body_memory(key),
                      "sent": len(socks), "refused": refused}), flush=True)
    stall = time.monotonic()
    closed, last = 0, 0.0
    for s in socks:
        s.settimeout(max(1.0, 60 - (time.monotonic() - stall)))
        try:
            while s.recv(65536):
                pass
            closed += 1
        except (socket.timeout, OSError) as e:
            if not isinstance(e, socket.timeout):
                closed += 1
        last = time.monotonic() - stall
        s.close()
    print(json.dumps({"closed": closed, "after": round(last, 2)}), flush=True)


main()
