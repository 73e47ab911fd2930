#!/usr/bin/env python3
"""The guest's side of tests/vm/bench_onoff.sh: per-CPU busy time, the
module's counters, and its settings switched between runs.

    bench_control.py ADDR PORT DGFSCTL

Each TCP connection sends one command line and gets one line back:

    cpu            "HZ BUSY0 BUSY1 ...": each CPU's busy time in jiffies
                   since boot (user + nice + system + irq + softirq, from
                   /proc/stat's cpuN lines)
    stats          "requests N balanced N ...": the fast path's counters
    balance on|off `dgfsctl config set balance on|off`; "ok"
    latency on|off the module parameter latency (the latency stamps); "ok"

anything else, or a failed switch, gets "error: ...". Asleep in accept()
between commands, so it costs the guest nothing while a run is measured.
"""
import os
import socket
import subprocess
import sys

STATS = ("requests", "replies", "balanced", "ring_full", "client_full", "overloaded")
PARAM = "/sys/module/dgfs/parameters/latency"
ctl = sys.argv[3]
hz = os.sysconf("SC_CLK_TCK")


def cpu():
    busy = []
    with open("/proc/stat") as f:
        for line in f:
            x = line.split()
            if x[0].startswith("cpu") and x[0] != "cpu":
                busy.append(sum(int(x[i]) for i in (1, 2, 3, 6, 7)))
    return "%d %s" % (hz, " ".join(map(str, busy)))


def stats():
    out = subprocess.run([ctl, "stats"], capture_output=True, text=True, check=True).stdout
    have = dict(line.split()[:2] for line in out.splitlines() if len(line.split()) >= 2)
    return " ".join("%s %s" % (k, have.get(k, "0")) for k in STATS)


def answer(cmd):
    w = cmd.split()
    if w == ["cpu"]:
        return cpu()
    if w == ["stats"]:
        return stats()
    if len(w) == 2 and w[0] == "balance" and w[1] in ("on", "off"):
        subprocess.run([ctl, "config", "set", "balance", w[1]], check=True)
        return "ok"
    if len(w) == 2 and w[0] == "latency" and w[1] in ("on", "off"):
        with open(PARAM, "w") as f:
            f.write("Y" if w[1] == "on" else "N")
        return "ok"
    return "error: unknown command %r" % cmd


srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
while True:
    conn, _ = srv.accept()
    with conn, conn.makefile("rw") as f:
        cmd = f.readline().strip()
        try:
            reply = answer(cmd)
        except (OSError, subprocess.CalledProcessError) as e:
            reply = "error: %s: %s" % (cmd, e)
        f.write(reply + "\n")
