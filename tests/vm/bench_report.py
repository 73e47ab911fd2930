#!/usr/bin/env python3
"""Print the fast-path benchmark's table and ratios from its JSON lines.

    bench_report.py BENCH.JSON

One JSON object a line, as tests/vm/bench_fast.sh and bench_remote.sh
write them: dgfs-bench's --json output plus name, server_cpu_s and
cpu_s_per_gb, for the runs kernel-4k, userspace-4k, kernel-1m, userspace-1m.
"""
import json
import sys

r = {x["name"]: x for x in map(json.loads, open(sys.argv[1]))}


def ratio(a, b):
    return a / b if b else float("inf")


print("%-14s %10s %10s %10s %14s" % ("run", "req/s", "MB/s", "p99 us", "CPU s per GB"))
for n in ("kernel-4k", "userspace-4k", "kernel-1m", "userspace-1m"):
    x = r[n]
    print("%-14s %10.0f %10.1f %10.0f %14.2f" % (n, x["req_per_s"], x["mb_per_s"], x["p99_us"],
                                                 x["cpu_s_per_gb"]))
k, u = r["kernel-4k"], r["userspace-4k"]
print("4 KiB random: kernel/userspace req/s = %.2fx, CPU per GB = %.2fx" % (
    ratio(k["req_per_s"], u["req_per_s"]), ratio(k["cpu_s_per_gb"], u["cpu_s_per_gb"])))
k, u = r["kernel-1m"], r["userspace-1m"]
print("1 MiB: kernel/userspace CPU per GB = %.2fx, MB/s = %.2fx" % (
    ratio(k["cpu_s_per_gb"], u["cpu_s_per_gb"]), ratio(k["mb_per_s"], u["mb_per_s"])))
for x in r.values():
    if x.get("errors") or x.get("timeouts"):
        print("note: %s had %s errors, %s timeouts" % (x["name"], x.get("errors"), x.get("timeouts")))
