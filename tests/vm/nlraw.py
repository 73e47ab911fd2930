#!/usr/bin/env python3
"""Send hand-made, malformed dgfs generic netlink requests.

dgfsctl only sends well-formed messages; this sends what a buggy or hostile
client could, to check that the kernel refuses each one with a clear error.

    nlraw.py CASE     send one case; print "errno N: extack message"
    nlraw.py --list   the case names

Exit status: 0 if the kernel refused the request, 1 if it accepted it,
2 on a usage or transport error.
"""
import os
import socket
import struct
import sys

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK = 10
NETLINK_EXT_ACK = 11
NLM_F_REQUEST, NLM_F_ACK = 0x1, 0x4
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR = 2
GENL_ID_CTRL = 0x10
CTRL_CMD_GETFAMILY, CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 3, 1, 2
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED = 0x8000

# include/uapi/linux/dgfs.h
CMD = dict(STORE_ADD=1, STORE_DEL=2, STORE_GET=3, CHUNK_ADD=4, CHUNK_DEL=5,
           CHUNK_GET=6, CONFIG_SET=7, CONFIG_GET=8, STATS_GET=9)
A_STORE, A_CHUNK, A_CONFIG, A_STATS = 1, 2, 3, 4
STORE_NAME, STORE_PATH, STORE_CHUNKS = 1, 2, 3
CHUNK_ID, CHUNK_STORE, CHUNK_PATH, CHUNK_SIZE = 1, 2, 3, 4
CONFIG_PORT, CONFIG_MAX_READ, CONFIG_AUTH_KEY, CONFIG_AUTH = 1, 2, 3, 4


def attr(kind, data, length=None):
    """One attribute; `length` overrides nla_len to forge a bad one."""
    n = 4 + len(data) if length is None else length
    raw = struct.pack("=HH", n, kind) + data
    return raw + b"\0" * (-len(raw) % 4)


def nest(kind, *attrs):
    return attr(kind | NLA_F_NESTED, b"".join(attrs))


def cstr(s):
    return s.encode() + b"\0"


def u8(v): return struct.pack("=B", v)
def u16(v): return struct.pack("=H", v)
def u32(v): return struct.pack("=I", v)
def u64(v): return struct.pack("=Q", v)


STORE = os.environ.get("NLRAW_STORE", "raw")
DIR = os.environ.get("NLRAW_DIR", "/tmp")
ID = bytes(range(32))

CASES = {
    "unknown-top-attr": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)),
                                           attr(STORE_PATH, cstr(DIR))) + attr(30, u32(1))),
    "unknown-nested-attr": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)),
                                              attr(STORE_PATH, cstr(DIR)), attr(30, u32(1)))),
    "store-name-too-long": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr("n" * 200)),
                                              attr(STORE_PATH, cstr(DIR)))),
    "store-path-too-long": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)),
                                              attr(STORE_PATH, cstr("/" + "p" * 5000)))),
    "store-name-unterminated": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, STORE.encode()),
                                                  attr(STORE_PATH, cstr(DIR)))),
    "store-name-slash": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr("a/b")),
                                           attr(STORE_PATH, cstr(DIR)))),
    "store-name-dotdot": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr("..")),
                                            attr(STORE_PATH, cstr(DIR)))),
    "store-name-empty": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr("")),
                                           attr(STORE_PATH, cstr(DIR)))),
    "store-path-relative": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)),
                                              attr(STORE_PATH, cstr(DIR.lstrip("/"))))),
    "store-readonly-attr": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)),
                                              attr(STORE_PATH, cstr(DIR)),
                                              attr(STORE_CHUNKS, u32(5)))),
    "store-not-nested": ("STORE_ADD", attr(A_STORE, u32(1))),
    "store-missing-nest": ("STORE_ADD", b""),
    "store-missing-path": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE)))),
    "attr-len-past-end": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(STORE), length=400))),
    "chunk-id-short": ("CHUNK_ADD", nest(A_CHUNK, attr(CHUNK_ID, ID[:31]),
                                         attr(CHUNK_STORE, cstr(STORE)),
                                         attr(CHUNK_PATH, cstr("c")))),
    "chunk-id-long": ("CHUNK_ADD", nest(A_CHUNK, attr(CHUNK_ID, ID + b"x"),
                                        attr(CHUNK_STORE, cstr(STORE)),
                                        attr(CHUNK_PATH, cstr("c")))),
    "chunk-size-u32": ("CHUNK_ADD", nest(A_CHUNK, attr(CHUNK_ID, ID),
                                         attr(CHUNK_STORE, cstr(STORE)),
                                         attr(CHUNK_PATH, cstr("c")),
                                         attr(CHUNK_SIZE, u32(1)))),
    "chunk-del-id-short": ("CHUNK_DEL", nest(A_CHUNK, attr(CHUNK_ID, ID[:16]))),
    "config-port-u32": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u32(9000)))),
    "config-port-zero": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u16(0)))),
    "config-max-read-zero": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_MAX_READ, u32(0)))),
    "config-max-read-over-16m": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_MAX_READ,
                                                                   u32((16 << 20) + 1)))),
    "config-key-short": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH_KEY, b"k" * 15))),
    "config-key-long": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH_KEY, b"k" * 17))),
    "config-auth-2": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH, u8(2)))),
    "config-empty": ("CONFIG_SET", nest(A_CONFIG)),
    "config-port-and-bad-max-read": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u16(9000)),
                                                        attr(CONFIG_MAX_READ, u32(0)))),
    "stats-readonly": ("STATS_GET", nest(A_STATS, attr(1, u64(1)))),
    "unknown-command": (99, b""),
}


def resolve(sock):
    reply = transact(sock, GENL_ID_CTRL, CTRL_CMD_GETFAMILY,
                     attr(CTRL_ATTR_FAMILY_NAME, cstr("dgfs")), ack=False)
    if isinstance(reply, tuple):
        sys.exit("nlraw: the dgfs family is not registered (errno %d)" % -reply[0])
    off = 20  # nlmsghdr + genlmsghdr
    while off + 4 <= len(reply):
        n, kind = struct.unpack_from("=HH", reply, off)
        if kind == CTRL_ATTR_FAMILY_ID:
            return struct.unpack_from("=H", reply, off + 4)[0]
        off += (n + 3) & ~3
    sys.exit("nlraw: no family id in the reply")


def transact(sock, family, cmd, payload, ack=True):
    """Send one request; return (errno, extack) for an error or ack, else the reply."""
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    body = struct.pack("=BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("=IHHII", 16 + len(body), family, flags, 1, 0) + body)
    msg = sock.recv(65536)
    length, kind, mflags = struct.unpack_from("=IHH", msg)
    if kind != NLMSG_ERROR:
        return msg[:length]
    err = struct.unpack_from("=i", msg, 16)[0]
    text = ""
    if mflags & NLM_F_ACK_TLVS:
        off = 20 + 16  # error code + the capped original header
        while off + 4 <= length:
            n, t = struct.unpack_from("=HH", msg, off)
            if n < 4:
                break
            if t == NLMSGERR_ATTR_MSG:
                text = msg[off + 4:off + n].rstrip(b"\0").decode(errors="replace")
            off += (n + 3) & ~3
    return (err, text)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    if sys.argv[1] not in CASES:
        print("nlraw: unknown case %r" % sys.argv[1], file=sys.stderr)
        return 2
    cmd, payload = CASES[sys.argv[1]]
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    family = resolve(sock)
    err, text = transact(sock, family, CMD.get(cmd, cmd), payload)
    print("errno %d: %s" % (-err, text or "(no message)"))
    return 0 if err < 0 else 1


if __name__ == "__main__":
    sys.exit(main())
