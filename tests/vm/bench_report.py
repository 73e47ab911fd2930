#!/usr/bin/env python3
"""Print the fast-path benchmark's tables and ratios from its JSON lines.

    bench_report.py BENCH.JSON

One JSON object a line, as tests/vm/bench_fast.sh and bench_remote.sh
write them: dgfs-bench's --json output plus name (kernel-4k, userspace-4k,
kernel-1m, userspace-1m), server_cpu_s, cpu_s_per_gb and, when the runs
came in rounds, round. Each round gets its table and ratios; with more than
one, the medians of the rounds' ratios follow.
"""
import json
import statistics
import sys

NAMES = ("kernel-4k", "userspace-4k", "kernel-1m", "userspace-1m")
rounds = {}
for line in open(sys.argv[1]):
    x = json.loads(line)
    rounds.setdefault(x.get("round", 1), {})[x["name"]] = x


def ratio(a, b):
    return a / b if b else float("inf")


ratios = []
for n, r in sorted(rounds.items()):
    if len(rounds) > 1:
        print("round %d" % n)
    print("%-14s %10s %10s %10s %14s" % ("run", "req/s", "MB/s", "p99 us", "CPU s per GB"))
    for name in NAMES:
        x = r[name]
        print("%-14s %10.0f %10.1f %10.0f %14.2f" % (name, x["req_per_s"], x["mb_per_s"],
                                                     x["p99_us"], x["cpu_s_per_gb"]))
    k4, u4, k1, u1 = (r[name] for name in NAMES)
    q = (ratio(k4["req_per_s"], u4["req_per_s"]), ratio(k4["cpu_s_per_gb"], u4["cpu_s_per_gb"]),
         ratio(k1["cpu_s_per_gb"], u1["cpu_s_per_gb"]), ratio(k1["mb_per_s"], u1["mb_per_s"]))
    ratios.append(q)
    print("4 KiB random: kernel/userspace req/s = %.2fx, CPU per GB = %.2fx" % q[:2])
    print("1 MiB: kernel/userspace CPU per GB = %.2fx, MB/s = %.2fx" % q[2:])
    for x in r.values():
        if x.get("errors") or x.get("timeouts"):
            print("note: %s had %s errors, %s timeouts" % (x["name"], x.get("errors"),
                                                            x.get("timeouts")))
if len(ratios) > 1:
    med = [statistics.median(col) for col in zip(*ratios)]
    lo = [min(col) for col in zip(*ratios)]
    hi = [max(col) for col in zip(*ratios)]
    print("median of %d rounds (min-max):" % len(ratios))
    print("4 KiB random: kernel/userspace req/s = %.2fx (%.2f-%.2f), CPU per GB = %.2fx (%.2f-%.2f)"
          % (med[0], lo[0], hi[0], med[1], lo[1], hi[1]))
    print("1 MiB: kernel/userspace CPU per GB = %.2fx (%.2f-%.2f), MB/s = %.2fx (%.2f-%.2f)"
          % (med[2], lo[2], hi[2], med[3], lo[3], hi[3]))
