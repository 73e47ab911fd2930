#!/usr/bin/env python3
# udp_df.py SPORT CMD [ARG...]: run CMD, and print "packets N df M": the
# IPv4 UDP packets from source port SPORT that reached this network
# namespace while it ran, and how many of them had DF (don't fragment)
# set. A raw socket sees each packet as IP handed it to UDP (a GSO packet
# once, with its first header). Exits with CMD's status. Needs root.
import socket
import struct
import subprocess
import sys

IP_DF = 0x4000
SO_RCVBUFFORCE = 33


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: udp_df.py SPORT CMD [ARG...]")
    sport = int(sys.argv[1])
    raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
    raw.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 64 << 20)
    rc = subprocess.call(sys.argv[2:])
    raw.setblocking(False)
    packets = df = 0
    while True:
        try:
            pkt = raw.recv(128)
        except BlockingIOError:
            break
        ihl = (pkt[0] & 0xF) * 4
        frag_off = struct.unpack_from("!H", pkt, 6)[0]
        if struct.unpack_from("!H", pkt, ihl)[0] != sport:
            continue
        packets += 1
        df += bool(frag_off & IP_DF)
    print("packets %d df %d" % (packets, df))
    sys.exit(rc)


main()
