#!/usr/bin/env python3
"""The guest's side of tests/vm/bench_afxdp_remote.sh: one dgfs-userd at a
time on UDP 7878, either tier, switched between runs, and the guest's CPU.

    bench_afxdp_control.py ADDR PORT USERD KEY STORE IFACE

Each TCP connection sends one command line and gets one line back:

    cpu            "BUSY HZ": the guest's busy time in jiffies since boot
                   (user + nice + system + irq + softirq, all CPUs)
    tier socket    dgfs-userd with its recvmmsg/sendmmsg socket worker, no
                   XDP program on IFACE; "ok socket"
    tier afxdp     dgfs-userd --af-xdp IFACE, its socket bound to 127.0.0.1
                   only (so every request over IFACE is AF_XDP's or lost);
                   "ok afxdp MODE" with MODE what `ip -d link` shows on
                   IFACE: xdp (the driver's, native) or xdpgeneric (skb)
    stop           no server; "ok"

Each switch stops the running server (SIGTERM: it detaches its program)
and starts the other, one worker thread each. A failure gets "error: ...".
Asleep in accept() between commands: it costs the guest nothing while a
run is measured.
"""
import os
import re
import signal
import socket
import subprocess
import sys
import time

addr, port, userd, key, store, iface = sys.argv[1:7]
hz = os.sysconf("SC_CLK_TCK")
server = None


def busy():
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    return "%d %d" % (sum(int(cpu[i]) for i in (1, 2, 3, 6, 7)), hz)


def stop():
    global server
    if server is None:
        return
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=60)
    server = None


def start(tier):
    global server
    stop()
    args = [userd, "-p", "7878", "--key", key, "--threads", "1"]
    if tier == "afxdp":
        args += ["-a", "127.0.0.1", "--af-xdp", iface]
    # A fresh log each start: "serving" must be this server's word.
    path = "/tmp/userd-%s.log" % tier
    log = open(path, "w")
    server = subprocess.Popen(args + [store], stdout=log, stderr=log)
    for _ in range(300):
        time.sleep(0.1)
        if server.poll() is not None:
            server = None
            return "error: dgfs-userd %s exited" % tier
        if "serving" in open(path).read():
            break
    else:
        return "error: dgfs-userd %s did not start" % tier
    if tier == "socket":
        return "ok socket"
    link = subprocess.run(["ip", "-d", "link", "show", iface], capture_output=True,
                          text=True).stdout
    m = re.search(r"\b(xdpgeneric|xdpdrv|xdpoffload|xdpmulti|xdp)\b", link)
    return "ok afxdp %s" % (m.group(1) if m else "none")


def quit_(*_):
    stop()
    sys.exit(0)


signal.signal(signal.SIGTERM, quit_)
srv = socket.create_server((addr, int(port)))
while True:
    conn, _ = srv.accept()
    with conn:
        cmd = conn.makefile().readline().split()
        if cmd == ["cpu"]:
            out = busy()
        elif len(cmd) == 2 and cmd[0] == "tier" and cmd[1] in ("socket", "afxdp"):
            try:
                out = start(cmd[1])
            except Exception as e:  # noqa: BLE001 - said to the host, not raised
                out = "error: %s" % e
        elif cmd == ["stop"]:
            stop()
            out = "ok"
        else:
            out = "error: unknown command %r" % cmd
        conn.sendall(out.encode() + b"\n")
