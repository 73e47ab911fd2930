#!/usr/bin/env python3
"""Tell a benchmark outside the VM how much CPU the guest has used.

    cpustat_server.py ADDR PORT

Each TCP connection gets one line, "BUSY HZ": the guest's busy CPU time
in jiffies since boot (user + nice + system + irq + softirq, all CPUs,
from /proc/stat) and jiffies per second. Asleep between connections, so
it costs the guest nothing while a benchmark runs.
"""
import os
import socket
import sys

srv = socket.create_server((sys.argv[1], int(sys.argv[2])))
hz = os.sysconf("SC_CLK_TCK")
while True:
    conn, _ = srv.accept()
    with conn, open("/proc/stat") as f:
        cpu = f.readline().split()
        busy = sum(int(cpu[i]) for i in (1, 2, 3, 6, 7))
        conn.sendall(b"%d %d\n" % (busy, hz))
