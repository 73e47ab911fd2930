#!/usr/bin/env python3
"""Sends an HTTP request that is cut off: the headers announce more body
than is sent, then the connection is closed (for tests/dgfsd/).

  rawhttp.py [options] METHOD PATH DECLARED_LEN SEND_LEN
    --host H --port P   where dgfsd listens (127.0.0.1:8080)
    --chunked           Transfer-Encoding: chunked (64 KiB pieces) instead of
                        Content-Length: DECLARED_LEN (then ignored); the
                        terminating 0-size piece is never sent
    --body FILE         the body's bytes come from FILE (default: random)
    --linger S          seconds to wait after the last byte before closing
    --header 'K: V'     an extra header (repeatable)

With $DGFS_API_KEY set (tests/dgfsd/lib.sh sets it), the request carries
"Authorization: Bearer $DGFS_API_KEY" as every client of the tests does.

Prints "sent N" once SEND_LEN bytes are out, and whatever the server
answered before the close (nothing, normally), then "closed".
"""
import argparse
import os
import socket
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("method")
    ap.add_argument("path")
    ap.add_argument("declared", type=int)
    ap.add_argument("send", type=int)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--chunked", action="store_true")
    ap.add_argument("--body")
    ap.add_argument("--linger", type=float, default=0.0)
    ap.add_argument("--header", action="append", default=[])
    a = ap.parse_args()

    if a.body:
        with open(a.body, "rb") as f:
            body = f.read(a.send)
        if len(body) < a.send:
            sys.exit("rawhttp: %s is shorter than %d bytes" % (a.body, a.send))
    else:
        body = os.urandom(a.send)

    head = ["%s %s HTTP/1.1" % (a.method, a.path), "Host: %s:%d" % (a.host, a.port)]
    if a.chunked:
        head.append("Transfer-Encoding: chunked")
    else:
        head.append("Content-Length: %d" % a.declared)
    if os.environ.get("DGFS_API_KEY"):
        head.append("Authorization: Bearer " + os.environ["DGFS_API_KEY"])
    head += a.header
    s = socket.create_connection((a.host, a.port), timeout=30)
    s.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    if a.chunked:
        piece = 64 << 10
        for off in range(0, len(body), piece):
            data = body[off:off + piece]
            s.sendall(b"%x\r\n" % len(data) + data + b"\r\n")
    else:
        s.sendall(body)
    print("sent %d" % len(body), flush=True)
    time.sleep(a.linger)
    # Anything the server said already (it should wait for the rest).
    s.setblocking(False)
    try:
        got = s.recv(65536)
    except (BlockingIOError, ConnectionError):
        got = b""
    if got:
        print("answer: %r" % got[:200], flush=True)
    s.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
