#!/usr/bin/env python3
"""Writes the libFuzzer seed corpora, tests/fuzz/corpus/NAME/, from the
formats the targets parse (docs/PROTOCOL.md, docs/HTTP.md). Run from the
top of the tree; the output is committed, so this only needs running
again when a format or a target's input layout changes."""
import os
import re
import struct


def uapi(name):
    """A #define or an enum entry's value."""
    with open("include/uapi/linux/dgfs.h") as f:
        m = re.search(r"(?:#define\s+%s\s+|\b%s\s*=\s*)(0x[0-9a-fA-F]+|\d+)" % (name, name),
                      f.read())
    if m:
        return int(m.group(1), 0)
    raise SystemExit(f"{name} not in dgfs.h")

def write(name, seeds):
    d = os.path.join("tests/fuzz/corpus", name)
    os.makedirs(d, exist_ok=True)
    for f in os.listdir(d):
        os.unlink(os.path.join(d, f))
    for i, (label, data) in enumerate(seeds):
        with open(os.path.join(d, f"{i:02d}-{label}"), "wb") as f:
            f.write(data)

def req(req_id=1, chunk=b"\x11" * 32, offset=0, length=4096, expiry=0, token=b"\0" * 8,
        magic=None, version=None, op=None, flags=0):
    return struct.pack(">IBBHQ32sQII8s", MAGIC if magic is None else magic,
                       VERSION if version is None else version,
                       OP_READ if op is None else op, flags, req_id, chunk, offset,
                       length, expiry, token)

def reply(status=0, req_id=1, offset=0, total=4, size=4, payload=b"abcd"):
    return struct.pack(">IBBHQQII", MAGIC, VERSION, OP_READ_REPLY, status, req_id,
                       offset, total, size) + payload

MAGIC = uapi("DGFS_PROTO_MAGIC")
VERSION = uapi("DGFS_PROTO_VERSION")
OP_READ = uapi("DGFS_OP_READ")
OP_READ_REPLY = uapi("DGFS_OP_READ_REPLY")

write("proto", [
    ("req-valid", req()),
    ("req-len0", req(length=0)),
    ("req-flags", req(flags=1)),
    ("req-short", req()[:71]),
    ("reply-ok", reply()),
    ("reply-mid", reply(offset=100, total=4, size=104)),
    ("reply-noent", reply(status=1, payload=b"")),
    ("reply-bounds", reply(offset=2, total=4, size=4)),
    ("size-k", b"4K"),
    ("int-neg", b"-12"),
])

# fuzz_reader's input: the read's shape, then events (see the target).
def shape(size, seed=7, offset=0, length=0, req_size=4096, window=4, retries=2,
          timeout=10, min_timeout=1, max_bytes=65536, id_seed=0x1234):
    b = struct.pack(">HBHHHBBBB", size, seed, offset, length, req_size - 1, window - 1,
                    retries, timeout, min_timeout)
    b += struct.pack(">H", max_bytes - 1)
    return b + struct.pack(">II", id_seed >> 32, id_seed & 0xffffffff)

def ev_reply(pick=0, lie=0, off=0, plen=0xffff, extra=b""):
    return struct.pack(">BBB", 1, pick, lie) + struct.pack(">HH", off, plen - 1) + extra

def ev_tick(step=200):
    return struct.pack(">BH", 3, step)

def ev_raw(data):
    return struct.pack(">BB", 0, len(data)) + data

write("reader", [
    ("whole-one", shape(100) + ev_reply(plen=100)),
    ("whole-window", shape(5000, req_size=1000) + ev_reply(plen=1000) * 8),
    ("split", shape(300) + ev_reply(plen=100) + ev_reply(off=100, plen=200)),
    ("range", shape(4000, offset=1000, length=500, req_size=128) + ev_reply(plen=128) * 6),
    ("past-end", shape(100, offset=200) + ev_reply()),
    ("empty", shape(0) + ev_reply()),
    ("timeout", shape(1000, retries=1) + ev_tick() * 4 + ev_reply(plen=1000)),
    ("lies", shape(1000) + ev_reply(lie=0x7f, extra=b"\0\0\0\0\x05\0\0\0\x10" * 4)),
    ("raw", shape(64) + ev_raw(reply(payload=b"x")) + ev_reply(plen=64)),
    ("too-big", shape(3000, max_bytes=100) + ev_reply()),
])

# fuzz_httputil's input: a selector (low 2 bits: 0 Range, 1 path, 2
# Content-Type, 3 conditional headers; 0x40: a listing prefix; 0x80: the
# size below 64 KiB), the file size (or the output buffer's size, or the
# Content-Type's limit), then the text.
def http(sel, size, text):
    return bytes([sel]) + struct.pack("<Q", size) + text.encode()

write("httputil", [
    ("range-first", http(0, 1000, "bytes=0-99")),
    ("range-open", http(0, 1000, "bytes=500-")),
    ("range-suffix", http(0, 1000, "bytes=-200")),
    ("range-past", http(0, 1000, "bytes=1000-1001")),
    ("range-empty-file", http(0, 0, "bytes=0-")),
    ("range-list", http(0, 1000, " BYTES = 1-2,3-4 ")),
    ("range-huge", http(0, 2**64 - 1, "bytes=18446744073709551614-18446744073709551615")),
    ("path", http(1, 1024, "dir/sub%20dir/file.txt")),
    ("path-utf8", http(1, 1024, "caf%C3%A9/%E2%82%AC")),
    ("path-dotdot", http(1, 1024, "a/../b")),
    ("path-badesc", http(1, 1024, "a%2")),
    ("path-nul", http(1, 1024, "a%00b")),
    ("path-prefix", http(0x41, 1024, "dir/")),
    ("path-short-buf", http(1, 4, "abcd")),
    ("ctype", http(2, 255, "text/plain; charset=utf-8")),
    ("ctype-ctl", http(2, 255, "text/html\r\nX: y")),
    ("etag-list", http(3, 0, 'W/"abc", "def"')),
    ("etag-star", http(3, 0, "*")),
])

# fuzz_bodies' input: a request body as dgfsd receives it.
ID = "0123456789abcdef" * 4
write("bodies", [
    ("missing", b'{"ids": ["%s", "%s"]}' % (ID.encode(), ID.upper().encode())),
    ("missing-empty", b'{"ids": []}'),
    ("missing-short-id", b'{"ids": ["%s"]}' % ID[:63].encode()),
    ("missing-not-hex", b'{"ids": ["%s"]}' % (b"g" * 64)),
    ("commit", b'{"chunks": ["%s"], "content_type": "text/plain"}' % ID.encode()),
    ("commit-bad-ctype", b'{"chunks": [], "content_type": "a\\u0001b"}'),
    ("commit-not-list", b'{"chunks": {"a": 1}}'),
    ("key", b'{"scope": "write", "prefix": "/photos//2024/", "name": "cam"}'),
    ("key-admin", b'{"scope": "admin"}'),
    ("key-bad-scope", b'{"scope": 3, "name": null}'),
    ("presign", b'{"path": "a/b.txt", "method": "PUT", "expires_in": 60}'),
    ("presign-dotdot", b'{"path": "../etc/passwd"}'),
    ("nested", b'[[[[[[[[[[{"ids": 1}]]]]]]]]]]'),
    ("unicode", b'{"name": "\\ud83d\\ude00\\u0000x"}'),
])

# fuzz_config's input: a config file (docs/DGFSD.md).
write("config", [
    ("full", b"""# dgfsd.conf
state-dir = /var/lib/dgfsd
http-port = 8443
listen = 198.18.0.1
udp-port = 7001
public-host = host.example
token-ttl = 86400
max-file-size = 2T
max-commit-chunks = 100000
max-uploads = 16
max-connections = 512
max-connections-per-ip = 32
client-timeout = 30
max-body-memory = 512M
max-read = 1M
udp-threads = 4
kmod = require
orphan-ttl = 600
public-read = true
public-metrics = false
access-log = off
tls-cert = /etc/dgfsd/cert.pem
tls-key = /etc/dgfsd/key.pem
trusted-proxy = 198.18.0.0/15
trusted-proxy = 2001:db8::/32
user = dgfsd
verbose = true
"""),
    ("crlf-comments", b"  http-port=8080   # the default\r\n\t# only a comment\r\n\r\n"),
    ("too-long-ttl", b"token-ttl = 86401\n"),
    ("bad-flag", b"no-auth = yes\n"),
    ("no-equals", b"verbose\n"),
    ("unknown", b"config = /etc/other.conf\n"),
    ("overflow", b"max-file-size = 99999999999999999999T\n"),
    ("long-line", b"state-dir = /" + b"a" * 1100 + b"\nhttp-port = 0\n"),
    ("bad-cidr", b"trusted-proxy = 198.18.0.1/33\n"),
])

# The search language (docs/SEARCH.md): one query per seed.
write("query", [
    ("word", b"holiday"),
    ("and-or", b"a b OR c (d OR -e)"),
    ("not", b"NOT type=image -gps=* --x"),
    ("tags", b'artist="Miles Davis" Type=Audio year>=2020 size>1M mtime<=1700000000'),
    ("phrase", b'"hello \\"world\\"" x'),
    ("cjk", "\u4e2d\u6587\u3000\u641c\u7d22 lang=zh".encode()),
    ("deep", b"(" * 32 + b"a" + b")" * 32),
    ("errors", b"x!=y a* (b OR"),
    ("numbers", b"size<5000000T t>-5 w=2k"),
    ("keywords", b"AND OR NOT or and not"),
])

# dgfs get's manifests (docs/PROTOCOL.md, "Replicas in a manifest").
def manifest_seeds():
    import json
    a, b, etag = "aa" + "0" * 62, "bb" + "0" * 62, "cc" + "0" * 62
    base = {"path": "a", "size": 150, "etag": etag, "mtime": 1, "content_type": "x",
            "fastpath": {"host": "198.18.0.1", "port": 9100, "expiry": 5, "max_read": 65536,
                         "server": "kernel"},
            "chunks": [{"id": a, "offset": 0, "size": 100, "token": "0102030405060708"},
                       {"id": b, "offset": 100, "size": 50, "token": "0000000000000000"}]}
    seeds = [("single", json.dumps(base).encode())]
    m = json.loads(json.dumps(base))
    m["fastpath"]["hosts"] = [{"id": "h1", "host": "198.18.0.1", "port": 9100},
                              {"id": "h2", "host": "198.18.0.2", "port": 9100},
                              {"id": "h3", "host": "2001:db8::3", "port": 9101}]
    m["chunks"][0]["replicas"], m["chunks"][1]["replicas"] = [1, 0, 2], [2]
    seeds.append(("replicas", json.dumps(m).encode()))
    m["chunks"][0]["replicas"] = []
    seeds.append(("no-replica", json.dumps(m).encode()))
    m["chunks"][0]["replicas"] = [1, 1]
    seeds.append(("duplicate", json.dumps(m).encode()))
    seeds.append(("empty", json.dumps({"size": 0, "etag": etag, "chunks": [],
                                       "fastpath": {"hosts": []}}).encode()))
    return seeds

write("manifest", manifest_seeds())
