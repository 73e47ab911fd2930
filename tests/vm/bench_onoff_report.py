#!/usr/bin/env python3
"""Print tests/vm/bench_onoff.sh's results as Markdown tables, with each
round's on/off ratios and their medians.

    bench_onoff_report.py balance|latency BENCH.JSON

One JSON object a line: dgfs-bench's --json output plus arm (on, off),
round, cpu_s (each guest CPU's busy seconds during the run),
server_cpu_s, cpu_us_per_req, vcpu_host_s (the host CPU time of QEMU's
vCPU threads), host_us_per_req and counters (the module's, moved during
the run).
"""
import json
import statistics
import sys

mode, path = sys.argv[1], sys.argv[2]
runs = [json.loads(line) for line in open(path)]
what = {"balance": "balance", "latency": "stamps"}[mode]


def size_name(n):
    return "%d KiB" % (n >> 10) if n < 1 << 20 else "%d MiB" % (n >> 20)


for size in sorted({r["size"] for r in runs}):
    rs = [r for r in runs if r["size"] == size]
    ncpu = max(len(r["cpu_s"]) for r in rs)
    print("\n#### %s random reads\n" % size_name(size))
    head = ["round", what, "req/s", "p50 us", "p99 us"]
    head += ["CPU%d busy s" % i for i in range(ncpu)]
    head += ["CPU us/req", "vCPUs' host CPU s", "host us/req"]
    if mode == "balance":
        head += ["balanced"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 2 + ["---:"] * (len(head) - 2)) + "|")
    for r in rs:
        row = [str(r["round"]), r["arm"], "{:,.0f}".format(r["req_per_s"]),
               "{:,.0f}".format(r["p50_us"]), "{:,.0f}".format(r["p99_us"])]
        row += ["%.2f" % c for c in r["cpu_s"]]
        row += ["%.0f" % r["cpu_us_per_req"] if r["cpu_us_per_req"] else "-"]
        row += ["%.2f" % r["vcpu_host_s"] if "vcpu_host_s" in r else "-",
                "%.0f" % r["host_us_per_req"] if r.get("host_us_per_req") else "-"]
        if mode == "balance":
            req = r["counters"].get("requests", 0)
            row += ["%.0f%%" % (100.0 * r["counters"].get("balanced", 0) / req) if req else "-"]
        print("| " + " | ".join(row) + " |")
        if r.get("errors") or r.get("timeouts"):
            print("note: round %d %s: %s errors, %s timeouts" %
                  (r["round"], r["arm"], r.get("errors"), r.get("timeouts")), file=sys.stderr)

    # on/off within each round: req/s, p50, p99, CPU per request
    keys = ("req_per_s", "p50_us", "p99_us", "cpu_us_per_req", "host_us_per_req")
    ratios = []
    for n in sorted({r["round"] for r in rs}):
        pair = {r["arm"]: r for r in rs if r["round"] == n}
        if set(pair) != {"on", "off"}:
            continue
        ratios.append([pair["on"][k] / pair["off"][k] if pair["off"].get(k) else float("nan")
                       for k in keys])
    if not ratios:
        continue
    print("\n%s on / off, %s, within each round:\n" % (what, size_name(size)))
    print("| round | req/s | p50 | p99 | guest CPU per request | vCPUs' host CPU per request |")
    print("|---|---:|---:|---:|---:|---:|")
    for n, q in enumerate(ratios, 1):
        print("| %d | %s |" % (n, " | ".join("%.2fx" % v for v in q)))
    med = [statistics.median(col) for col in zip(*ratios)]
    lo = [min(col) for col in zip(*ratios)]
    hi = [max(col) for col in zip(*ratios)]
    print("| **median** (min-max) | %s |" %
          " | ".join("**%.2fx** (%.2f-%.2f)" % m for m in zip(med, lo, hi)))
