#!/usr/bin/env python3
"""tests/vm/bench_mib.sh's cells and their summary.

    bench_mib_report.py --cell SNAP_A SNAP_B HOST_A HOST_B CLIENT MTU HZ <CELL.json
    bench_mib_report.py RESULTS.jsonl

--cell: one cell of tests/bench/client.sh (stdin) read against the guest's
snapshots around it (tests/bench/guest.sh's "name value" lines), the host's
"VCPU_NS OTHER_NS CPU0_JIFFIES" before and after, the client's "USER SYS"
seconds (/usr/bin/time), the link's MTU and the host's jiffies a second;
prints the cell with a "per_mb" object: per MB of payload (10^6 bytes),
packets on the guest's eth0 each way, milliseconds of guest CPU by kind
(user, system, softirq), of QEMU's vCPU thread, of its other threads (the
NIC's backend: each frame's write to the tap and the host's receive of it
in that write), of the client, and of the host's CPU 0 as a whole.
Without --cell: the median of the rounds for each MTU, server and
concurrency, and the fast path's ratios against nginx in the same round
(MB/s; the host's CPU time a MB in QEMU's threads).
"""
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "bench"))
from snapshot import read  # noqa: E402  guest.sh's snapshots, "name value" lines


def cell(argv):
    a, b = read(argv[0]), read(argv[1])
    h0, h1 = [float(v) for v in argv[2].split()], [float(v) for v in argv[3].split()]
    client = sum(float(v) for v in argv[4].split())
    mtu, hz = int(argv[5]), float(argv[6])
    x = json.loads(sys.stdin.read())
    x.update(kind="mib", mtu=mtu)
    mb = x["completed"] * x["size"] / 1e6
    if not mb:
        print(json.dumps(x))
        return
    d = {k: b[k] - a.get(k, 0) for k in b}
    ms = lambda j: round(j / 100 * 1e3 / mb, 3)	# guest jiffies: USER_HZ 100
    x["per_mb"] = {
        "tx_packets": round(d.get("eth0_tx_packets", 0) / mb, 1),
        "rx_packets": round(d.get("eth0_rx_packets", 0) / mb, 1),
        "tx_bytes_per_packet": round(d.get("eth0_tx_bytes", 0) / max(d.get("eth0_tx_packets", 0), 1)),
        "ip_out": round(d.get("ip_OutRequests", 0) / mb, 1),
        "tcp_out_segs": round(d.get("tcp_OutSegs", 0) / mb, 1),
        "guest_user_ms": ms(d.get("cpu_user", 0)),
        "guest_sys_ms": ms(d.get("cpu_sys", 0)),
        "guest_softirq_ms": ms(d.get("cpu_softirq", 0) + d.get("cpu_irq", 0)),
        "vcpu_thread_ms": round((h1[0] - h0[0]) / 1e6 / mb, 3),
        "qemu_other_ms": round((h1[1] - h0[1]) / 1e6 / mb, 3),
        "client_ms": round(client * 1e3 / mb, 3),
        "host_cpu0_ms": round((h1[2] - h0[2]) / hz * 1e3 / mb, 3),
    }
    x["guest_busy"] = round(x["server_cpu_s"] / x["seconds"], 2) if x["seconds"] else None
    x["host_cpu0_busy"] = round((h1[2] - h0[2]) / hz / x["seconds"], 2) if x["seconds"] else None
    x["qemu_other_busy"] = round((h1[1] - h0[1]) / 1e9 / x["seconds"], 2) if x["seconds"] else None
    print(json.dumps(x))


# The guest's own CPU per GB is make bench's (its /proc/stat); under TCG on
# a loaded host it also counts the time the vCPU thread waited for a host
# CPU while the guest was busy. The vCPU thread's and QEMU's other threads'
# time on a CPU (schedstat) is what the host spent: compare those.
COLS = [("MB/s", lambda x: x["mb_per_s"], "{:.1f}"),
        ("guest CPU s/GB", lambda x: x["cpu_s_per_gb"], "{:.2f}"),
        ("vCPU thread ms/MB", lambda x: x["per_mb"]["vcpu_thread_ms"], "{:.2f}"),
        ("QEMU other ms/MB", lambda x: x["per_mb"]["qemu_other_ms"], "{:.2f}"),
        ("client ms/MB", lambda x: x["per_mb"]["client_ms"], "{:.2f}"),
        ("pkts/MB out", lambda x: x["per_mb"]["tx_packets"], "{:.0f}"),
        ("B/pkt", lambda x: x["per_mb"]["tx_bytes_per_packet"], "{:.0f}"),
        ("pkts/MB in", lambda x: x["per_mb"]["rx_packets"], "{:.0f}")]


def summary(path):
    cells = [json.loads(l) for l in open(path) if l.strip()]
    cells = [c for c in cells if c.get("kind") == "mib" and "per_mb" in c]
    keys = sorted({(c["mtu"], c["conc"], c["server"]) for c in cells})
    print("| MTU | clients | server | rounds | " + " | ".join(n for n, _, _ in COLS) + " | MB/s vs nginx | vCPU + QEMU other vs nginx |")
    print("|" + "---:|" * 3 + "---:|" * (len(COLS) + 3))
    for mtu, conc, server in keys:
        cs = [c for c in cells if (c["mtu"], c["conc"], c["server"]) == (mtu, conc, server)]
        row = [str(mtu), str(conc), server, str(len(cs))]
        row += [f.format(statistics.median(g(c) for c in cs)) for _, g, f in COLS]
        ratios = []
        host_ms = lambda x: x["per_mb"]["vcpu_thread_ms"] + x["per_mb"]["qemu_other_ms"]
        for key in ("mb_per_s", host_ms):
            r = []
            for c in cs:
                n = [o for o in cells if (o["mtu"], o["conc"], o["round"], o["server"]) ==
                     (mtu, conc, c["round"], "nginx")]
                get = key if callable(key) else lambda x: x[key]
                if n and "per_mb" in n[0] and get(n[0]):
                    r.append(get(c) / get(n[0]))
            ratios.append("{:.2f}x".format(statistics.median(r)) if r and server != "nginx" else "-")
        print("| " + " | ".join(row + ratios) + " |")


if __name__ == "__main__":
    if sys.argv[1] == "--cell":
        cell(sys.argv[2:])
    else:
        summary(sys.argv[1])
