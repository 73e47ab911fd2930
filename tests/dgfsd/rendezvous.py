#!/usr/bin/env python3
"""A chunk's owners by weighted rendezvous hashing, written apart from
dgfsd (docs/CLUSTER.md "Placement", userspace/dgfsd/placement.c) so the
cluster tests can check where dgfsd put each copy against the hash itself.

    rendezvous.py R ID:ZONE:WEIGHT... < chunk ids (hex, one a line)

prints "CHUNK OWNER OWNER ..." for each id: the owners sorted by name.
The score of host h for chunk c is -weight / ln(u), u in (0, 1) from the
first 8 bytes (little-endian, top 53 bits) of SipHash-2-4 of c's 32 bytes
then h's id, under the key "dgfs placement 1"; each zone's best host
first, then the best of the rest, until R are taken.
"""
import math
import struct
import sys

KEY = b"dgfs placement 1"
M64 = (1 << 64) - 1


def rotl(x, b):
    return ((x << b) | (x >> (64 - b))) & M64


def siphash24(key, msg):
    k0, k1 = struct.unpack("<QQ", key)
    v = [k0 ^ 0x736F6D6570736575, k1 ^ 0x646F72616E646F6D,
         k0 ^ 0x6C7967656E657261, k1 ^ 0x7465646279746573]

    def rounds(n):
        for _ in range(n):
            v[0] = (v[0] + v[1]) & M64; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32)
            v[2] = (v[2] + v[3]) & M64; v[3] = rotl(v[3], 16); v[3] ^= v[2]
            v[0] = (v[0] + v[3]) & M64; v[3] = rotl(v[3], 21); v[3] ^= v[0]
            v[2] = (v[2] + v[1]) & M64; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32)

    tail = len(msg) % 8
    for (m,) in struct.iter_unpack("<Q", msg[:len(msg) - tail]):
        v[3] ^= m
        rounds(2)
        v[0] ^= m
    m = (len(msg) & 0xFF) << 56
    for i, byte in enumerate(msg[len(msg) - tail:]):
        m |= byte << (8 * i)
    v[3] ^= m
    rounds(2)
    v[0] ^= m
    v[2] ^= 0xFF
    rounds(4)
    return v[0] ^ v[1] ^ v[2] ^ v[3]


def owners(chunk, hosts, r):
    scored = []
    for hid, zone, weight in hosts:
        if not weight:
            continue
        x = siphash24(KEY, chunk + hid.encode())
        u = ((x >> 11) + 0.5) / 9007199254740992.0
        scored.append((-weight / math.log(u), hid, zone))
    # Better first; equal scores by id, as placement.c's better().
    scored.sort(key=lambda s: (-s[0], s[1]))
    taken, zones = [], set()
    for s in scored:
        if len(taken) < r and s[2] not in zones:
            taken.append(s)
            zones.add(s[2])
    for s in scored:
        if len(taken) < r and s not in taken:
            taken.append(s)
    return sorted(s[1] for s in taken)


def main():
    r = int(sys.argv[1])
    hosts = []
    for a in sys.argv[2:]:
        hid, zone, weight = a.rsplit(":", 2)
        hosts.append((hid, zone, int(weight)))
    for line in sys.stdin:
        c = line.strip()
        if c:
            print(c, " ".join(owners(bytes.fromhex(c), hosts, r)))


if __name__ == "__main__":
    main()
