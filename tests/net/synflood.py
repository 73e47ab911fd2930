#!/usr/bin/env python3
# Test glue for tests/net/test_http_filter.sh: a SYN flood from one source
# address, each SYN from a new source port, sent as fast as Python can for
# SECONDS, while a second raw socket counts the SYN+ACKs that come back
# (one per SYN that reached the listening socket; the kernel here answers
# each with a RST, so none is sent twice). Prints one line of JSON:
# {"sent": N, "synacks": N, "seconds": S} (S: first to last SYN sent).
#   synflood.py SRC DST PORT SECONDS
# Addresses only from 198.18.0.0/15 and 2001:db8::/32, enforced here.
import ipaddress
import json
import socket
import struct
import sys
import threading
import time

TEST_NETS = [ipaddress.ip_network("198.18.0.0/15"), ipaddress.ip_network("2001:db8::/32")]


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def syn(src, dst, sport, dport, v6):
    hdr = struct.pack("!HHIIBBHHH", sport, dport, 0x1000 + sport, 0, 5 << 4, 0x02, 65535, 0, 0)
    if v6:
        pseudo = src.packed + dst.packed + struct.pack("!IxxxB", len(hdr), socket.IPPROTO_TCP)
    else:
        pseudo = src.packed + dst.packed + struct.pack("!xBH", socket.IPPROTO_TCP, len(hdr))
    return hdr[:16] + struct.pack("!H", checksum(pseudo + hdr)) + hdr[18:]


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: synflood.py SRC DST PORT SECONDS")
    src, dst = ipaddress.ip_address(sys.argv[1]), ipaddress.ip_address(sys.argv[2])
    port, seconds = int(sys.argv[3]), float(sys.argv[4])
    for a in (src, dst):
        if not any(a in n for n in TEST_NETS):
            sys.exit(f"synflood.py: {a} is not in a test network")
    v6 = src.version == 6
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    tx = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    tx.bind((str(src), 0))
    rx = socket.socket(fam, socket.SOCK_RAW, socket.IPPROTO_TCP)
    rx.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    rx.settimeout(0.2)
    answered = set()
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            try:
                pkt, addr = rx.recvfrom(2048)
            except socket.timeout:
                continue
            # IPv4 raw sockets deliver the IP header, IPv6 ones do not.
            tcp = pkt if v6 else pkt[(pkt[0] & 0x0F) * 4:]
            if len(tcp) < 14 or ipaddress.ip_address(addr[0]) != dst:
                continue
            sport, dport = struct.unpack("!HH", tcp[:4])
            if sport == port and tcp[13] & 0x12 == 0x12:
                answered.add(dport)

    t = threading.Thread(target=receive)
    t.start()
    # Source ports 1024..65535 in turn: a SYN never repeats a live 4-tuple.
    sent, sport = 0, 1024
    start = time.monotonic()
    last = start
    while last - start < seconds:
        tx.sendto(syn(src, dst, sport, port, v6), (str(dst), 0))
        sent += 1
        sport = sport + 1 if sport < 65535 else 1024
        last = time.monotonic()
    time.sleep(1.0)  # SYN+ACKs still on their way
    stop.set()
    t.join()
    print(json.dumps({"sent": sent, "synacks": len(answered), "seconds": round(last - start, 3)}))


if __name__ == "__main__":
    main()
