#!/usr/bin/env python3
"""Send hand-made dgfs generic netlink requests, most of them malformed.

dgfsctl only sends well-formed messages; this sends what a buggy or hostile
client could, to check that the kernel refuses each one for the reason it
should: each case names the errno and the extack message it must get.

    nlraw.py CASE     send one case; print "ERRNO: extack message" (ERRNO
                      is a name, "0" for success), and for a case about one
                      entry of a chunk list, the entry the error points at
    nlraw.py --list   the names of the refusal cases

Exit status: 0 if the answer is the case's expected one, 1 if not (a
refusal for another reason, or an accepted request), 2 on a usage or
transport error.

Environment (the test sets them to what exists in the module):
    NLRAW_STORE      an existing store: chunk cases name it, so that only
                     the attribute under test can be the reason to refuse
    NLRAW_FILE       a regular file in that store, for the same reason
    NLRAW_NEW_STORE  a store name not in use, for store-add cases
    NLRAW_DIR        a directory that is no store yet, for the same reason
"""
import errno
import os
import re
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
NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS = 1, 2
NLA_F_NESTED = 0x8000

# include/uapi/linux/dgfs.h
CMD = dict(STORE_ADD=1, STORE_DEL=2, STORE_GET=3, CHUNK_ADD=4, CHUNK_DEL=5,
           CHUNK_GET=6, CONFIG_SET=7, CONFIG_GET=8, STATS_GET=9)
A_STORE, A_CHUNK, A_CONFIG, A_STATS, A_CHUNKS = 1, 2, 3, 4, 5
CHUNKS_STORE, CHUNKS_ENTRY = 1, 2
CHUNKS_MAX = 1024
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
FILE = os.environ.get("NLRAW_FILE", "c")
NEW = os.environ.get("NLRAW_NEW_STORE", "rawnew")
DIR = os.environ.get("NLRAW_DIR", "/tmp")
ID = bytes(range(32))


def store_add(*extra, name=None, path=None):
    return nest(A_STORE, attr(STORE_NAME, cstr(NEW if name is None else name)),
                attr(STORE_PATH, cstr(DIR if path is None else path)), *extra)


def chunk_add(chunk_id, *extra):
    return nest(A_CHUNK, attr(CHUNK_ID, chunk_id), attr(CHUNK_STORE, cstr(STORE)),
                attr(CHUNK_PATH, cstr(FILE)), *extra)


def entry(chunk_id, path=None, *extra):
    """One DGFS_CHUNKS_A_ENTRY: a chunk of the list's store."""
    return nest(CHUNKS_ENTRY, attr(CHUNK_ID, chunk_id),
                attr(CHUNK_PATH, cstr(FILE if path is None else path)), *extra)


def chunks(*entries, bad=None, head=None):
    """A DGFS_A_CHUNKS of STORE: (payload, byte range of entry `bad` in it)."""
    head = attr(CHUNKS_STORE, cstr(STORE)) if head is None else head
    payload = nest(A_CHUNKS, head, *entries)
    if bad is None:
        return payload, None
    start = 4 + len(head) + sum(len(e) for e in entries[:bad])
    return payload, (start, start + len(entries[bad]))


def bid(i):
    """Distinct ids for the list cases, none of them ID."""
    return bytes([0xc0 + i]) * 32


# The kernel's own policy messages (lib/nlattr.c, 6.1).
POLICY = "Attribute failed policy validation"
UNKNOWN = "Unknown attribute type"
BADLEN = "invalid attribute length"
RANGE = "integer out of range"
BINRANGE = "binary attribute size out of range"
NAME_RULE = r"store name may hold only .*"

# name: (command, payload, expected errno name, regex the whole extack
# message must match). Every other part of a case is valid, so a kernel
# that dropped the attribute's check would answer differently.
CASES = {
    "unknown-top-attr": ("STORE_ADD", store_add() + attr(30, u32(1)), "EINVAL", UNKNOWN),
    "unknown-nested-attr": ("STORE_ADD", store_add(attr(30, u32(1))), "EINVAL", UNKNOWN),
    "store-name-too-long": ("STORE_ADD", store_add(name="n" * 200), "EINVAL", POLICY),
    "store-path-too-long": ("STORE_ADD", store_add(path="/" + "p" * 5000), "EINVAL", POLICY),
    "store-name-unterminated": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, NEW.encode()),
                                                  attr(STORE_PATH, cstr(DIR))),
                                "EINVAL", POLICY),
    "store-name-slash": ("STORE_ADD", store_add(name="a/b"), "EINVAL", NAME_RULE),
    "store-name-dotdot": ("STORE_ADD", store_add(name=".."), "EINVAL", NAME_RULE),
    "store-name-empty": ("STORE_ADD", store_add(name=""), "EINVAL", NAME_RULE),
    "store-path-relative": ("STORE_ADD", store_add(path=DIR.lstrip("/")), "EINVAL",
                            "store path must be absolute"),
    "store-readonly-attr": ("STORE_ADD", store_add(attr(STORE_CHUNKS, u32(5))), "EINVAL",
                            "chunks is read only"),
    "store-not-nested": ("STORE_ADD", attr(A_STORE, u32(1)), "EINVAL", "NLA_F_NESTED is missing"),
    "store-missing-nest": ("STORE_ADD", b"", "EINVAL", "missing the command's object attribute"),
    "store-missing-path": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(NEW))), "EINVAL",
                           "missing store path"),
    "attr-len-past-end": ("STORE_ADD", nest(A_STORE, attr(STORE_NAME, cstr(NEW), length=400)),
                          "EINVAL", "bytes leftover after parsing attributes"),
    "chunk-id-short": ("CHUNK_ADD", chunk_add(ID[:31]), "ERANGE", BINRANGE),
    "chunk-id-long": ("CHUNK_ADD", chunk_add(ID + b"x"), "ERANGE", BINRANGE),
    "chunk-size-u32": ("CHUNK_ADD", chunk_add(ID, attr(CHUNK_SIZE, u32(1))), "EINVAL", BADLEN),
    "chunk-store-too-long": ("CHUNK_ADD", nest(A_CHUNK, attr(CHUNK_ID, ID),
                                               attr(CHUNK_STORE, cstr(STORE + "x" * 40)),
                                               attr(CHUNK_PATH, cstr(FILE))),
                             "EINVAL", POLICY),
    "chunk-missing-path": ("CHUNK_ADD", nest(A_CHUNK, attr(CHUNK_ID, ID),
                                             attr(CHUNK_STORE, cstr(STORE))),
                           "EINVAL", "missing chunk path"),
    "chunk-del-id-short": ("CHUNK_DEL", nest(A_CHUNK, attr(CHUNK_ID, ID[:16])), "ERANGE", BINRANGE),
    "config-port-u32": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u32(9000))), "EINVAL",
                        BADLEN),
    "config-port-zero": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u16(0))), "ERANGE", RANGE),
    "config-max-read-zero": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_MAX_READ, u32(0))),
                             "ERANGE", RANGE),
    "config-max-read-over-16m": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_MAX_READ,
                                                                   u32((16 << 20) + 1))),
                                 "ERANGE", RANGE),
    "config-key-short": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH_KEY, b"k" * 15)),
                         "ERANGE", BINRANGE),
    "config-key-long": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH_KEY, b"k" * 17)),
                        "ERANGE", BINRANGE),
    "config-auth-2": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_AUTH, u8(2))), "ERANGE", RANGE),
    "config-empty": ("CONFIG_SET", nest(A_CONFIG), "EINVAL", "nothing to set"),
    "config-port-and-bad-max-read": ("CONFIG_SET", nest(A_CONFIG, attr(CONFIG_PORT, u16(9000)),
                                                        attr(CONFIG_MAX_READ, u32(0))),
                                     "ERANGE", RANGE),
    # Not flagged as a nest: the flag alone would be refused first
    # ("NLA_F_NESTED not expected"), before the read-only rule.
    "stats-readonly": ("STATS_GET", attr(A_STATS, attr(1, u64(1))), "EINVAL",
                       "stats are read only"),
    "unknown-command": (99, b"", "EOPNOTSUPP", r"\(no message\)"),
    # Chunk lists (DGFS_A_CHUNKS): one bad entry refuses the whole list,
    # and the error points at that entry.
    "chunks-bad-first": ("CHUNK_ADD", chunks(entry(bid(0), "../x"), entry(bid(1)),
                                             entry(bid(2)), bad=0),
                         "EINVAL", "chunk path may not contain '..'"),
    "chunks-bad-middle": ("CHUNK_ADD", chunks(entry(bid(0)), entry(bid(1), "nope"),
                                              entry(bid(2)), bad=1),
                          "ENOENT", "chunk file does not exist"),
    "chunks-bad-last": ("CHUNK_ADD", chunks(entry(bid(0)), entry(bid(1)),
                                            entry(bid(2), None, attr(CHUNK_SIZE, u64(1))),
                                            bad=2),
                        "EINVAL", "size does not match the chunk file's size"),
    "chunks-dup-in-message": ("CHUNK_ADD", chunks(entry(bid(0)), entry(bid(1)), entry(bid(2)),
                                                  entry(bid(1)), bad=3),
                              "EEXIST", "an earlier entry of this message has the same chunk id"),
    "chunks-too-many": ("CHUNK_ADD", chunks(*[entry(struct.pack(">I", i) * 8)
                                              for i in range(CHUNKS_MAX + 1)]),
                        "E2BIG", "more than 1024 chunk entries in one message"),
    "chunks-empty": ("CHUNK_ADD", chunks(), "EINVAL", "no chunk entries"),
    "chunks-missing-store": ("CHUNK_ADD", chunks(entry(bid(0)), head=b""), "EINVAL",
                             "missing chunk store"),
    "chunks-unknown-store": ("CHUNK_ADD", chunks(entry(bid(0)),
                                                 head=attr(CHUNKS_STORE, cstr(NEW))),
                             "ENOENT", "no store with this name"),
    "chunks-two-stores": ("CHUNK_ADD", chunks(entry(bid(0)),
                                              head=attr(CHUNKS_STORE, cstr(STORE)) * 2),
                          "EINVAL", "the store is given more than once"),
    "chunks-entry-store": ("CHUNK_ADD", chunks(entry(bid(0), None,
                                                     attr(CHUNK_STORE, cstr(STORE)))),
                           "EINVAL", "an entry takes the list's store, not its own"),
    "chunks-entry-missing-path": ("CHUNK_ADD", chunks(nest(CHUNKS_ENTRY, attr(CHUNK_ID, bid(0)))),
                                  "EINVAL", "missing chunk path"),
    "chunks-entry-id-short": ("CHUNK_ADD", chunks(entry(bid(0)[:31])), "ERANGE", BINRANGE),
    "chunks-and-chunk": ("CHUNK_ADD", chunk_add(ID) + chunks(entry(bid(0)))[0], "EINVAL",
                         "one chunk or a list of chunks, not both"),
}

# Well-formed requests built the same way, which the kernel must accept:
# the control that shows a refusal above is the kernel's doing, not a
# fault of this encoder. Run in this order, they leave nothing behind.
CONTROLS = {
    "ok-store-add": ("STORE_ADD", store_add(), "0", r"\(no message\)"),
    "ok-store-del": ("STORE_DEL", nest(A_STORE, attr(STORE_NAME, cstr(NEW))), "0",
                     r"\(no message\)"),
    "ok-chunk-add": ("CHUNK_ADD", chunk_add(ID), "0", r"\(no message\)"),
    "ok-chunk-del": ("CHUNK_DEL", nest(A_CHUNK, attr(CHUNK_ID, ID)), "0", r"\(no message\)"),
    # Adds bid(0), bid(1), bid(2): the test deletes them.
    "ok-chunks-add": ("CHUNK_ADD", chunks(entry(bid(0)), entry(bid(1)), entry(bid(2))), "0",
                      r"\(no message\)"),
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
    """Send one request; return (errno, extack, offset) for an error or ack, else the reply."""
    flags = NLM_F_REQUEST | (NLM_F_ACK if ack else 0)
    body = struct.pack("=BBH", cmd, 1, 0) + payload
    sock.send(struct.pack("=IHHII", 16 + len(body), family, flags, 1, 0) + body)
    msg = sock.recv(65536)
    length, kind, mflags = struct.unpack_from("=IHH", msg)
    if kind != NLMSG_ERROR:
        return msg[:length]
    err = struct.unpack_from("=i", msg, 16)[0]
    text, offs = "", None
    if mflags & NLM_F_ACK_TLVS:
        off = 20 + 16  # error code + the capped original header
        while off + 4 <= length:
            n, t = struct.unpack_from("=HH", msg, off)
            if n < 4:
                break
            if t == NLMSGERR_ATTR_MSG:
                text = msg[off + 4:off + n].rstrip(b"\0").decode(errors="replace")
            elif t == NLMSGERR_ATTR_OFFS and n >= 8:
                offs = struct.unpack_from("=I", msg, off + 4)[0]
            off += (n + 3) & ~3
    return (err, text, offs)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    if sys.argv[1] == "--list":
        print("\n".join(CASES))
        return 0
    case = CASES.get(sys.argv[1]) or CONTROLS.get(sys.argv[1])
    if not case:
        print("nlraw: unknown case %r" % sys.argv[1], file=sys.stderr)
        return 2
    cmd, payload, want_errno, want_msg = case
    bad = None
    if isinstance(payload, tuple):
        payload, bad = payload
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
    sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
    sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
    family = resolve(sock)
    reply = transact(sock, family, CMD.get(cmd, cmd), payload)
    if not isinstance(reply, tuple):
        print("nlraw: a reply where an ack was due", file=sys.stderr)
        return 2
    err, text, offs = reply
    got_errno = errno.errorcode.get(-err, str(-err)) if err else "0"
    got = "%s: %s" % (got_errno, text or "(no message)")
    # The request's payload starts after nlmsghdr and genlmsghdr.
    in_bad = bad is not None and offs is not None and bad[0] <= offs - 20 < bad[1]
    if bad is not None:
        got += " (points at the bad entry)" if in_bad else " (offset %s: not the bad entry)" % offs
    print(got)
    if bad is not None and not in_bad:
        return 1
    # By number: names can alias (EOPNOTSUPP is ENOTSUP on Linux).
    want_num = getattr(errno, want_errno) if want_errno != "0" else 0
    if -err != want_num or not re.fullmatch(want_msg, text or "(no message)"):
        print("nlraw: wanted %s: %s" % (want_errno, want_msg), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
