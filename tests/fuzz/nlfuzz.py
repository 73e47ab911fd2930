#!/usr/bin/env python3
"""Fuzz the dgfs generic netlink family with random requests.

Each request is a random command (the family's, or any number) with random
flags and a random attribute tree: the family's attributes with values
drawn from good ones, edge cases and garbage, at wrong lengths, without
their nest flag, repeated, mixed with unknown attributes; some messages
are damaged as a whole (lengths, headers, trailing bytes). Every reply
must parse. After every refused request that could have changed something,
the namespace's state (the store and chunk dumps and the config, read
through the same socket) must be what it was; after an accepted one it is
read again. A refused request whose message was well formed must carry an
extack message when the error is one a user caused (EINVAL, ERANGE...).

    nlfuzz.py fuzz [--seconds S] [--calls N] [--seed N] [--dir DIR]
                   [--expect-refused] [--ids HEX,...]
    nlfuzz.py snapshot        the state, one line per object (for the caller
                              to compare before and after someone else's run)

--expect-refused: the caller may change nothing (no CAP_NET_ADMIN over the
namespace): any change accepted is a failure; the state cannot change at
all. --dir: a directory with files for stores and chunks to name (paths
are also drawn from elsewhere); --ids: chunk ids worth trying.

Prints PASS:/FAIL: lines and "# ... calls/s"; exit 1 on failure.
"""
import argparse
import errno
import os
import random
import socket
import struct
import sys
import time

NETLINK_GENERIC = 16
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
NLM_F_REQUEST, NLM_F_MULTI, NLM_F_ACK, NLM_F_ECHO = 0x1, 0x2, 0x4, 0x8
NLM_F_DUMP = 0x300
NLM_F_DUMP_INTR = 0x10
NLM_F_ACK_TLVS = 0x200
NLMSG_ERROR, NLMSG_DONE = 2, 3
GENL_ID_CTRL, CTRL_CMD_GETFAMILY = 0x10, 3
CTRL_ATTR_FAMILY_ID, CTRL_ATTR_FAMILY_NAME = 1, 2
NLMSGERR_ATTR_MSG = 1
NLA_F_NESTED, NLA_F_NET_BYTEORDER = 0x8000, 0x4000

# include/uapi/linux/dgfs.h
STORE_ADD, STORE_DEL, STORE_GET, CHUNK_ADD, CHUNK_DEL, CHUNK_GET, CONFIG_SET, CONFIG_GET, \
    STATS_GET = range(1, 10)
READS = {STORE_GET, CHUNK_GET, CONFIG_GET, STATS_GET}
CHANGES = {STORE_ADD, STORE_DEL, CHUNK_ADD, CHUNK_DEL, CONFIG_SET}
A_STORE, A_CHUNK, A_CONFIG, A_STATS, A_CHUNKS = 1, 2, 3, 4, 5
CHUNKS_MAX = 1024
# (nested attribute, kind) per top-level attribute; kinds say what values fit
SCHEMA = {
    A_STORE: {1: "name", 2: "path", 3: "u32", 4: "u64", 5: "pad"},
    A_CHUNK: {1: "id", 2: "name", 3: "relpath", 4: "u64", 5: "pad"},
    A_CONFIG: {1: "u16", 2: "u32", 3: "key", 4: "u8", 5: "u8"},
    A_STATS: {i: "u64" for i in range(1, 30)},
    A_CHUNKS: {1: "name", 2: "entry"},
}
# The errors a user's bad input causes, which deserve a message saying why.
USER_ERRORS = {errno.EINVAL, errno.ERANGE, errno.E2BIG, errno.EEXIST, errno.ENOENT,
               errno.ENOTDIR, errno.EXDEV, errno.EBUSY, errno.EADDRINUSE, errno.ENAMETOOLONG,
               errno.EISDIR, errno.ELOOP, errno.EFBIG}

R = random.Random()


def attr(kind, data, length=None):
    n = 4 + len(data) if length is None else length
    raw = struct.pack("=HH", n & 0xffff, kind & 0xffff) + data
    return raw + b"\0" * (-len(raw) % 4)


class Gen:
    """Random attribute values and trees."""

    def __init__(self, d, ids):
        self.dir = d
        files = sorted(os.listdir(d)) if d and os.path.isdir(d) else []
        self.names = ["f0", "f1", "f2", "fz", "main"]
        self.paths = ([d, os.path.join(d, "sub"), d + "/", d + "/../" + os.path.basename(d)]
                      if d else []) + ["/", "/etc", "/proc/self", "/nonexistent", "/tmp", "x",
                                       "../x", "/" + "p" * 300, "", "/dev/null"]
        self.relpaths = files + ["sub/" + f for f in files[:2]] + [
            "", ".", "..", "../etc/passwd", "/etc/passwd", "a/../b", "nope", "sub", "x" * 300,
            "link-out", "link-in"]
        self.ids = list(ids) + [bytes(32), b"\xff" * 32, bytes(range(32))]

    def string(self, pool):
        r = R.random()
        if r < 0.75:
            s = R.choice(pool).encode()
        elif r < 0.85:
            s = bytes(R.randrange(32, 127) for _ in range(R.randrange(0, 40)))
        elif r < 0.9:
            s = os.urandom(R.randrange(0, 64))
        else:
            s = b"n" * R.choice([30, 31, 32, 33, 255, 256, 4095, 4096, 5000])
        return s if R.random() < 0.9 else s + b"\0" + os.urandom(R.randrange(0, 4))

    def value(self, kind):
        widths = {"u8": 1, "u16": 2, "u32": 4, "u64": 8}
        if kind in widths:
            w = widths[kind] if R.random() < 0.85 else R.choice([0, 1, 2, 3, 4, 5, 8, 9, 16])
            v = R.choice([0, 1, 2, 7878, 9000, 65535, 65536, 4096, 1 << 20, 16 << 20,
                          (16 << 20) + 1, 2 ** 32 - 1, 2 ** 63, R.getrandbits(64)])
            return (v & ((1 << (8 * w)) - 1)).to_bytes(w, "little") if w else b""
        if kind == "name":
            return self.string(self.names) + b"\0"
        if kind == "path":
            return self.string(self.paths) + b"\0"
        if kind == "relpath":
            return self.string(self.relpaths) + b"\0"
        if kind == "id":
            r = R.random()
            if r < 0.7:
                return R.choice(self.ids)
            if r < 0.8:
                return os.urandom(32)
            return os.urandom(R.choice([0, 1, 16, 31, 33, 64]))
        if kind == "key":
            return os.urandom(16 if R.random() < 0.8 else R.choice([0, 8, 15, 17, 32]))
        if kind == "pad":
            return os.urandom(R.choice([0, 4, 8]))
        if kind == "entry":  # a chunk list's entry: a chunk's attributes
            return self.nest(A_CHUNK)
        return os.urandom(R.randrange(0, 40))

    def nest(self, top):
        schema = SCHEMA.get(top, {})
        out = b""
        for _ in range(R.choice([0, 1, 2, 2, 3, 3, 4, 5, 8])):
            if schema and R.random() < 0.85:
                kind_id = R.choice(list(schema))
                data = self.value(schema[kind_id])
                if schema[kind_id] == "entry" and R.random() < 0.95:
                    kind_id |= NLA_F_NESTED
            else:
                kind_id = R.randrange(0, 64)
                data = self.value(R.choice(["u8", "u16", "u32", "u64", "name", "raw"]))
            if R.random() < 0.03:
                kind_id |= NLA_F_NET_BYTEORDER
            if R.random() < 0.03:
                data = self.nest(R.randrange(1, 5))
                kind_id |= NLA_F_NESTED
            out += attr(kind_id, data)
        return out

    def good(self, cmd):
        """A request cmd would take (or one field off): reaches deeper."""
        files = [p for p in self.relpaths[:6] if p]
        f = {
            STORE_ADD: [(1, "name"), (2, "path")], STORE_DEL: [(1, "name")],
            CHUNK_ADD: [(1, "id"), (2, "name"), (3, "relpath")] + ([(4, "u64")] if R.random() < 0.3 else []),
            CHUNK_DEL: [(1, "id")],
            CONFIG_SET: R.sample([(1, "u16"), (2, "u32"), (3, "key"), (4, "u8")], R.randrange(1, 5)),
        }.get(cmd)
        if cmd == CHUNK_ADD and R.random() < 0.3:
            return self.chunk_list()
        if f is None:
            return self.tree(cmd)
        top = {STORE_ADD: A_STORE, STORE_DEL: A_STORE, CHUNK_ADD: A_CHUNK, CHUNK_DEL: A_CHUNK,
               CONFIG_SET: A_CONFIG}[cmd]
        out = b""
        for kind_id, kind in f:
            if kind == "name":
                v = R.choice(self.names[:3]).encode() + b"\0"
            elif kind == "path":
                v = R.choice(self.paths[:2] or ["/tmp"]).encode() + b"\0"
            elif kind == "relpath":
                v = (R.choice(files) if files else "x").encode() + b"\0"
            elif kind == "id":
                v = R.choice(self.ids)
            elif kind == "u16":
                v = struct.pack("=H", R.choice([7878, 7879, 9000, R.randrange(1, 65536)]))
            elif kind == "u32":
                v = struct.pack("=I", R.choice([4096, 1 << 20, 16 << 20, R.randrange(1, 16 << 20)]))
            elif kind == "u8":
                v = struct.pack("=B", R.randrange(2))
            else:
                v = self.value(kind)
            out += attr(kind_id, v)
        if R.random() < 0.5:
            out += self.nest(top)  # and something more, or wrong
        return attr(top | NLA_F_NESTED, out)

    def chunk_list(self):
        """A chunk add of many (DGFS_A_CHUNKS), mostly well-formed."""
        files = [p for p in self.relpaths[:6] if p] or ["x"]
        r = R.random()
        n = R.randrange(1, 40) if r < 0.9 else R.choice([0, CHUNKS_MAX, CHUNKS_MAX + 1])
        out = attr(1, R.choice(self.names[:3]).encode() + b"\0") if R.random() < 0.95 else b""
        for _ in range(n):
            if R.random() < 0.05:
                out += attr(2 | NLA_F_NESTED, self.nest(A_CHUNK))
                continue
            body = attr(1, R.choice(self.ids) if R.random() < 0.9 else os.urandom(32))
            body += attr(3, R.choice(files).encode() + b"\0")
            if R.random() < 0.2:
                body += attr(4, self.value("u64"))
            out += attr(2 | NLA_F_NESTED, body)
        return attr(A_CHUNKS | NLA_F_NESTED, out)

    def tree(self, cmd):
        """The attributes of one request, mostly what cmd takes."""
        want = {STORE_ADD: A_STORE, STORE_DEL: A_STORE, STORE_GET: A_STORE,
                CHUNK_ADD: R.choice([A_CHUNK, A_CHUNKS]), CHUNK_DEL: A_CHUNK, CHUNK_GET: A_CHUNK,
                CONFIG_SET: A_CONFIG, CONFIG_GET: A_CONFIG, STATS_GET: A_STATS}.get(cmd)
        out = b""
        tops = [want] if want and R.random() < 0.8 else []
        tops += [R.randrange(0, 8) for _ in range(R.choice([0, 0, 1, 2]))]
        for top in tops:
            nested = R.random() < 0.95
            body = self.nest(top) if R.random() < 0.97 else os.urandom(R.randrange(0, 16))
            out += attr(top | (NLA_F_NESTED if nested else 0), body)
        return out


class Family:
    def __init__(self):
        self.sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_GENERIC)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_CAP_ACK, 1)
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.settimeout(10)
        self.seq = 0
        self.id = self.resolve()

    def resolve(self):
        err, msgs, _ = self.call(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, NLM_F_REQUEST,
                                 attr(CTRL_ATTR_FAMILY_NAME, b"dgfs\0"))
        if (err or 0) < 0 or not msgs:
            sys.exit("nlfuzz: the dgfs family is not registered (errno %d)" % -err)
        body = msgs[0][4:]
        off = 0
        while off + 4 <= len(body):
            n, kind = struct.unpack_from("=HH", body, off)
            if kind == CTRL_ATTR_FAMILY_ID:
                return struct.unpack_from("=H", body, off + 4)[0]
            off += (max(n, 4) + 3) & ~3
        sys.exit("nlfuzz: no family id")

    def send_raw(self, raw):
        self.sock.send(raw)

    def call(self, family, cmd, flags, payload, version=1, damage=None, barrier=True):
        """Send one request and read to its end: (err, [genl payloads], extack).

        A barrier (the control family's GETFAMILY, acked) follows the
        request, so that one that gets no answer (no ACK asked, or too
        damaged to parse) still ends: err is then None. Without it the
        request must end in an ack or NLMSG_DONE.
        """
        self.seq += 1
        seq = self.seq
        body = struct.pack("=BBH", cmd & 0xff, version & 0xff, 0) + payload
        raw = struct.pack("=IHHII", 16 + len(body), family, flags, seq, 0) + body
        if damage:
            raw = damage(raw)
        self.sock.send(raw)
        if not barrier:
            return self.read(seq, None)
        self.seq += 1
        bar = struct.pack("=BBH", CTRL_CMD_GETFAMILY, 1, 0) + attr(CTRL_ATTR_FAMILY_NAME,
                                                                     b"nlctrl\0")
        self.sock.send(struct.pack("=IHHII", 16 + len(bar), GENL_ID_CTRL,
                                   NLM_F_REQUEST | NLM_F_ACK, self.seq, 0) + bar)
        return self.read(seq, self.seq)

    def read(self, seq, barrier):
        msgs, err, ext = [], None, ""
        while True:
            try:
                data = self.sock.recv(1 << 20)
            except socket.timeout:
                raise RuntimeError("no answer to request %d or its barrier" % seq)
            off = 0
            while off + 16 <= len(data):
                length, kind, mflags, mseq, _ = struct.unpack_from("=IHHII", data, off)
                if length < 16 or off + length > len(data):
                    raise RuntimeError("a reply with a bad length %d" % length)
                msg = data[off + 16:off + length]
                off += (length + 3) & ~3
                if mseq == barrier:
                    if kind == NLMSG_ERROR:
                        if err is None and msgs:
                            err = 0
                        return err, msgs, ext
                    continue
                if mseq != seq:
                    continue  # late replies to an earlier request
                if kind == NLMSG_ERROR:
                    err = struct.unpack_from("=i", msg)[0]
                    if mflags & NLM_F_ACK_TLVS:
                        ext = extack(msg)
                    if barrier is None:
                        return err, msgs, ext
                elif kind == NLMSG_DONE:
                    err = struct.unpack_from("=i", msg)[0] if len(msg) >= 4 else 0
                    if err < 0 and mflags & NLM_F_ACK_TLVS:
                        ext = extack(msg, skip=4)
                    if barrier is None:
                        return err, msgs, ext
                else:
                    if mflags & NLM_F_DUMP_INTR:
                        msgs.append(b"INTR")
                    msgs.append(msg)


def extack(msg, skip=None):
    """The extack message of an error message (after the echoed header)."""
    off = 4 + 16 if skip is None else skip
    while off + 4 <= len(msg):
        n, t = struct.unpack_from("=HH", msg, off)
        if n < 4:
            break
        if t & 0x3fff == NLMSGERR_ATTR_MSG:
            return msg[off + 4:off + n].rstrip(b"\0").decode(errors="replace")
        off += (n + 3) & ~3
    return ""


def snapshot(fam):
    """The namespace's state as sorted reply payloads; stats left out."""
    state = []
    for cmd, flags in ((STORE_GET, NLM_F_DUMP), (CHUNK_GET, NLM_F_DUMP), (CONFIG_GET, 0)):
        for _ in range(10):
            err, msgs, _ = fam.call(fam.id, cmd, NLM_F_REQUEST | NLM_F_ACK | flags, b"",
                                    barrier=False)
            if b"INTR" not in msgs:
                break
        if err:
            return None  # this caller may not read it
        state.append(sorted(m[4:] for m in msgs))
    return state


def describe(raw_flags, cmd, payload):
    return "cmd %d flags %#x payload %s" % (cmd, raw_flags, payload[:96].hex())


def damage_fn():
    """Damage a whole message: its length, its header, its tail."""
    r = R.randrange(6)
    if r == 0:
        return lambda raw: raw[:R.randrange(16, len(raw) + 1)] if len(raw) > 16 else raw
    if r == 1:
        return lambda raw: struct.pack("=I", R.randrange(0, len(raw) + 64)) + raw[4:]
    if r == 2:
        return lambda raw: raw + os.urandom(R.randrange(1, 32))
    if r == 3:
        return lambda raw: raw[:16] + os.urandom(R.randrange(0, 8))
    if r == 4:
        return lambda raw: raw[:20] + raw[20:][:R.randrange(0, 64)]
    return lambda raw: bytes(b ^ (1 << R.randrange(8)) if R.random() < 0.02 and i >= 16 else b
                             for i, b in enumerate(raw))


def fuzz(a):
    fam = Family()
    gen = Gen(a.dir, [bytes.fromhex(x) for x in a.ids.split(",") if x])
    base = snapshot(fam)
    can_read = base is not None
    calls = refused = accepted = unanswered = intact_checks = damaged = 0
    problems = []
    no_extack = []
    accepted_change = []
    not_eperm = []
    start = time.time()

    while calls < a.calls and time.time() - start < a.seconds:
        calls += 1
        cmd = R.choice(list(CHANGES) * 3 + list(READS) + [0, 10, 11, 255, R.randrange(256)])
        flags = NLM_F_REQUEST | (NLM_F_ACK if R.random() < 0.9 else 0)
        if R.random() < 0.15:
            flags |= NLM_F_DUMP
        if R.random() < 0.03:
            flags |= R.getrandbits(16) & ~NLM_F_REQUEST | NLM_F_REQUEST
        payload = gen.good(cmd) if R.random() < 0.3 else gen.tree(cmd)
        dmg = damage_fn() if R.random() < 0.05 else None
        damaged += dmg is not None
        version = 1 if R.random() < 0.97 else R.randrange(256)
        try:
            err, msgs, ext = fam.call(fam.id, cmd, flags, payload, version, dmg)
        except (RuntimeError, OSError) as e:
            # A damaged message may get no answer at all: start afresh.
            if dmg is None:
                problems.append("%s: %s" % (describe(flags, cmd, payload), e))
            fam = Family()
            continue
        if err is not None and err > 0:
            problems.append("%s: error code %r" % (describe(flags, cmd, payload), err))
            continue
        if err is None and flags & NLM_F_ACK and dmg is None and version == 1:
            problems.append("%s: no ack" % describe(flags, cmd, payload))
        if (a.expect_refused and cmd in CHANGES and dmg is None and
                err != -errno.EPERM):
            # genl checks the right before it looks at the request at all
            not_eperm.append("%s -> %s" % (describe(flags, cmd, payload),
                                           "no answer" if err is None else
                                           os.strerror(-err) if err else "accepted"))
        if err is not None and err < 0:
            refused += 1
            if (-err in USER_ERRORS and not ext and dmg is None and version == 1 and
                    cmd in CHANGES | READS):
                no_extack.append("%s -> %s" % (describe(flags, cmd, payload),
                                               os.strerror(-err)))
        elif err is None:
            unanswered += 1  # no ack asked, or too damaged to answer
        else:
            accepted += 1
            # A damaged message may no longer be this family's command at
            # all (its type or cmd byte hit): an answer to it says nothing
            # about the right. What it changed, the state comparison sees.
            if (a.expect_refused and cmd in CHANGES and not flags & NLM_F_DUMP and
                    dmg is None):
                accepted_change.append(describe(flags, cmd, payload))
        if not can_read or cmd in READS:
            continue
        now = snapshot(fam)
        if (err is not None and err < 0) or a.expect_refused:
            intact_checks += 1
            if now != base:
                problems.append("state changed by a refused call: %s -> %s" % (
                    describe(flags, cmd, payload), os.strerror(-err) if err else "accepted"))
                base = now
        else:
            base = now
    took = time.time() - start
    print("# nlfuzz: %d calls (%d refused, %d accepted, %d unanswered; %d damaged) in %.1f s: "
          "%.0f calls/s; state compared after %d" % (
              calls, refused, accepted, unanswered, damaged, took, calls / max(took, 1e-9),
              intact_checks))
    ok = True
    for what, items in (("every reply parsed and state never changed on refusal", problems),
                        ("every refusal of a user's bad input says why (extack)", no_extack),
                        ("no change accepted from a caller without the right", accepted_change),
                        ("every change from a caller without the right refused as EPERM, "
                         "before anything else", not_eperm)):
        for x in items[:5]:
            print("  " + x)
        print("%s: %s (%d exceptions)" % ("FAIL" if items else "PASS", what, len(items)))
        ok = ok and not items
    if not can_read:
        print("# nlfuzz: this caller cannot read the state; its caller compares it")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["fuzz", "snapshot"])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--calls", type=int, default=10 ** 9)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dir", default="")
    ap.add_argument("--ids", default="")
    ap.add_argument("--expect-refused", action="store_true")
    a = ap.parse_args()
    if a.what == "snapshot":
        state = snapshot(Family())
        if state is None:
            sys.exit("nlfuzz: cannot read the state")
        for part in state:
            for m in part:
                print(m.hex())
            print("--")
        return 0
    seed = a.seed or int.from_bytes(os.urandom(4), "little")
    R.seed(seed)
    print("# nlfuzz: seed %d (--seed to replay), uid %d%s" % (
        seed, os.getuid(), ", expecting every change refused" if a.expect_refused else ""))
    return fuzz(a)


if __name__ == "__main__":
    sys.exit(main())
