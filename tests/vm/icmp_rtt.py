#!/usr/bin/env python3
"""ICMP echo round trips to ADDR, one outstanding at a time, as one JSON line.

    icmp_rtt.py ADDR COUNT [INTERVAL_S [PAYLOAD_BYTES [WINDOW]]]

INTERVAL_S 0 (the default): the next echo leaves as soon as the reply is in,
as dgfs-bench --window 1 and wrk -c1 send; otherwise echoes are spaced that
far apart (the guest idles between them). PAYLOAD_BYTES: 56 by default,
as ping(8); 1472 fills a 1500-byte MTU both ways. The host has no ping(8); a raw
socket (root) does the same. The reply is answered by the guest's kernel in
its softirq with no work beyond the echo: the floor a reply has on this link.
WINDOW (1 by default): echoes kept outstanding; more than one keeps the
guest's transmit ring busy (tests/net/test_vm_one_vcpu.sh). A link that
answers nothing for 5 s is given up on: the line then says "gave_up".
"""
import json, os, socket, struct, sys, time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def main():
    addr, count = sys.argv[1], int(sys.argv[2])
    interval = float(sys.argv[3]) if len(sys.argv) > 3 else 0.0
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    s.settimeout(1.0)
    ident = os.getpid() & 0xFFFF
    payload = b"\0" * (int(sys.argv[4]) if len(sys.argv) > 4 else 56)
    window = int(sys.argv[5]) if len(sys.argv) > 5 else 1
    rtts, lost, gave_up = [], 0, False
    sent = {}  # seq -> send time, of the echoes outstanding
    nxt = 0
    last_reply = t_start = time.perf_counter()
    last_expiry = time.perf_counter_ns()
    while nxt < count or sent:
        while nxt < count and len(sent) < window:
            hdr = struct.pack("!BBHHH", 8, 0, 0, ident, nxt & 0xFFFF)
            pkt = struct.pack("!BBHHH", 8, 0, csum(hdr + payload), ident, nxt & 0xFFFF) + payload
            sent[nxt & 0xFFFF] = time.perf_counter_ns()
            s.sendto(pkt, (addr, 0))
            nxt += 1
        try:
            data = s.recv(2048)
        except socket.timeout:
            # Whatever is outstanding a second on is lost; a window's
            # worth goes out again, unless the link is dead.
            lost += len(sent)
            sent.clear()
            if time.perf_counter() - last_reply > 5:
                gave_up = True
                break
            continue
        now = time.perf_counter_ns()
        if now - last_expiry > 200e6:  # an echo a second old is lost
            last_expiry = now
            for q in [q for q, t in sent.items() if now - t > 1e9]:
                del sent[q]
                lost += 1
        ihl = (data[0] & 0xF) * 4
        typ, _, _, rid, rseq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
        if typ == 0 and rid == ident and rseq in sent:
            rtts.append((time.perf_counter_ns() - sent.pop(rseq)) / 1e3)
            last_reply = time.perf_counter()
            if interval:
                time.sleep(interval)
    secs = time.perf_counter() - t_start
    rtts.sort()
    pct = lambda p: rtts[min(len(rtts) - 1, int(p / 100 * len(rtts)))] if rtts else 0
    print(json.dumps({"count": count, "received": len(rtts), "lost": lost, "gave_up": gave_up, "seconds": secs,
                      "per_s": len(rtts) / secs, "min_us": rtts[0] if rtts else 0,
                      "p50_us": pct(50), "p99_us": pct(99),
                      "mean_us": sum(rtts) / len(rtts) if rtts else 0}))


main()
