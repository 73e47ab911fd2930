#!/usr/bin/env python3
"""Send dgfs read requests as raw Ethernet frames, with any addresses.

A socket would refuse most of what the address tests need (a source of
0.0.0.0, 127.0.0.1, a multicast group or another host's address, an
IPv4-mapped IPv6 source): this builds the whole frame and writes it to a
device with an AF_PACKET socket, so it reaches the peer as written.

    rawreq.py IFACE DSTMAC SRC DST [--sport N] [--dport N] [--count N]
              [--chunk HEX] [--offset N] [--length N]

SRC and DST are both IPv4 or both IPv6 (an IPv4-mapped IPv6 address is
IPv6 here). The UDP checksum is right, the token zero.
"""
import argparse
import ipaddress
import socket
import struct
import sys

MAGIC, VERSION, OP_READ = 0x44474653, 1, 1


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff


def frame(src_mac, dst_mac, src, dst, sport, dport, payload):
    udp_len = 8 + len(payload)
    if src.version == 4:
        pseudo = src.packed + dst.packed + struct.pack("!BBH", 0, 17, udp_len)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", udp_len, 17)
    udp = struct.pack("!HHHH", sport, dport, udp_len, 0) + payload
    c = csum(pseudo + udp) or 0xffff
    udp = udp[:6] + struct.pack("!H", c) + udp[8:]
    if src.version == 4:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0x4000, 64, 17, 0,
                         src.packed, dst.packed)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        ethertype = 0x0800
    else:
        ip = struct.pack("!IHBB16s16s", 6 << 28, udp_len, 17, 64, src.packed, dst.packed)
        ethertype = 0x86dd
    return dst_mac + src_mac + struct.pack("!H", ethertype) + ip + udp


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("iface")
    ap.add_argument("dstmac")
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--sport", type=int, default=40000)
    ap.add_argument("--dport", type=int, default=7878)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--chunk", default="11" * 32)
    ap.add_argument("--offset", type=int, default=0)
    ap.add_argument("--length", type=int, default=4096)
    a = ap.parse_args()
    src, dst = ipaddress.ip_address(a.src), ipaddress.ip_address(a.dst)
    if src.version != dst.version:
        sys.exit("rawreq: SRC and DST must be of one family")
    chunk = bytes.fromhex(a.chunk)
    if len(chunk) != 32:
        sys.exit("rawreq: --chunk takes 32 bytes in hex")
    with open("/sys/class/net/%s/address" % a.iface) as f:
        src_mac = bytes.fromhex(f.read().strip().replace(":", ""))
    dst_mac = bytes.fromhex(a.dstmac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((a.iface, 0))
    for i in range(a.count):
        req = struct.pack(">IBBHQ32sQII8s", MAGIC, VERSION, OP_READ, 0, i + 1, chunk,
                          a.offset, a.length, 0xffffffff, b"\0" * 8)
        s.send(frame(src_mac, dst_mac, src, dst, a.sport, a.dport, req))
    return 0


if __name__ == "__main__":
    sys.exit(main())
