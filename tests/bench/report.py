#!/usr/bin/env python3
"""Tables and a plot from `make bench`'s results (tests/bench/bench.sh).

    report.py RESULTS.jsonl [--plot-dir DIR] [--doc FILE.md] [--png FILE.png]
    report.py RESULTS.jsonl --sanity WHERE SERVER WORKLOAD

One JSON object a line: "cell" (a measurement: where, server, workload,
conc, round, req_per_s, mb_per_s, p50_us, p99_us, cpu_s_per_gb, errors,
timeouts), "lookup" and "scale" (the scale runs) and "meta".

Each figure is the median of its rounds; each ratio against nginx is taken
within a round (the two ran one after the other) and its median shown.
Prints the tables as Markdown; --doc puts them into FILE.md between the
lines "<!-- bench:begin -->" and "<!-- bench:end -->"; --png plots req/s
against concurrency with gnuplot.

--sanity prints "ok", or what is wrong with that server's cells: no cell,
no requests, errors or timeouts, MB/s that is not req/s times the size,
p50 above p99, CPU per GB missing or negative.
"""
import argparse
import json
import math
import os
import statistics
import subprocess
import sys

SERVERS = ("kernel", "dgfsd-udp", "dgfsd-http", "nginx")
LABEL = {"kernel": "dgfs.ko + XDP", "dgfsd-udp": "dgfsd UDP tier", "dgfsd-http": "dgfsd HTTP",
         "nginx": "nginx"}
COLOR = {"kernel": "#9400d3", "dgfsd-udp": "#009e73", "dgfsd-http": "#56b4e9", "nginx": "#e69f00"}
WORKLOADS = {"4k": "4 KiB random files", "1m": "1 MiB files"}
WHERE = {"vm": "In the VM (server on 1 TCG vCPU, client on the host)",
         "host": "On the host (loopback, no module)"}


def load(path):
    cells, lookups, scale, meta = [], [], [], {}
    for line in open(path):
        line = line.strip()
        if not line.startswith("{"):
            continue
        x = json.loads(line)
        kind = x.get("kind")
        if kind == "cell":
            cells.append(x)
        elif kind == "lookup":
            lookups.append(x)
        elif kind == "scale":
            scale.append(x)
        elif kind == "meta":
            meta.update(x)
    return cells, lookups, scale, meta


def med(xs):
    xs = [x for x in xs if x is not None and not math.isnan(x)]
    return statistics.median(xs) if xs else None


def fmt(x, digits=0):
    if x is None:
        return "-"
    if digits == 0:
        return "{:,.0f}".format(x)
    return "{:,.{}f}".format(x, digits)


def lat(us):
    if us is None:
        return "-"
    return "%.0f µs" % us if us < 1000 else "%.1f ms" % (us / 1000)


def cpu(x):
    """CPU seconds per GB to 2 or 3 significant digits."""
    if x is None:
        return "-"
    return "%.3g" % x if x < 100 else "%.0f" % x


def ratio(a, b):
    return a / b if a is not None and b else None


def table(cells, where, workload):
    """The Markdown table of one (where, workload), or None."""
    mine = [c for c in cells if c["where"] == where and c["workload"] == workload]
    if not mine:
        return None
    by = {}
    for c in mine:
        by.setdefault((c["conc"], c["server"]), []).append(c)
    rounds = {}
    for c in mine:
        rounds.setdefault((c["conc"], c["round"]), {})[c["server"]] = c
    out = ["| clients | server | req/s | MB/s | p50 | p99 | CPU s/GB | req/s vs nginx | CPU/GB vs nginx | rounds |",
           "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for conc in sorted({c["conc"] for c in mine}):
        for s in SERVERS:
            cs = by.get((conc, s))
            if not cs:
                continue
            rq, cq = [], []
            for (rc, _), r in rounds.items():
                if rc == conc and s in r and "nginx" in r:
                    rq.append(ratio(r[s]["req_per_s"], r["nginx"]["req_per_s"]))
                    cq.append(ratio(r[s]["cpu_s_per_gb"], r["nginx"]["cpu_s_per_gb"]))
            bad = sum(c["errors"] + c["timeouts"] for c in cs)
            again = sum(c.get("retried", 0) for c in cs)
            out.append("| %d | %s | %s | %s | %s | %s | %s | %s | %s | %d%s |" % (
                conc, LABEL[s], fmt(med([c["req_per_s"] for c in cs])),
                fmt(med([c["mb_per_s"] for c in cs]), 1),
                lat(med([c["p50_us"] for c in cs])), lat(med([c["p99_us"] for c in cs])),
                cpu(med([c["cpu_s_per_gb"] for c in cs])),
                "-" if s == "nginx" else fmt(med(rq), 2) + "x",
                "-" if s == "nginx" else fmt(med(cq), 2) + "x",
                len(cs), (" (%d errors/timeouts)" % bad if bad else "") +
                (" (%d run again)" % again if again else "")))
    return "\n".join(out)


def scale_table(lookups, scale):
    if not lookups:
        return None
    out = ["| where | chunks in the index | ns per XDP run with a lookup | without | ns per lookup | lookups that hit | fast path 4 KiB req/s, 16 outstanding | vCPU µs a request | vCPU waiting for a host CPU | served files cached | cache misses | waited for an idle guest after the fill |",
           "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    seen = set()
    for x in sorted(lookups, key=lambda x: (x["where"], x["chunks"])):
        if (x["where"], x["chunks"]) in seen:	# a size measured twice: its cells once
            continue
        seen.add((x["where"], x["chunks"]))
        mine = [s for s in scale if s["where"] == x["where"] and s["chunks"] == x["chunks"]]
        rs = [s["req_per_s"] for s in mine]
        # The VM's cells carry the host's view of the vCPU and the guest's
        # snapshot (tests/bench/snapshot.py); the host's have neither.
        host = [s["host"] for s in mine if "host" in s]
        guest = [s["guest"] for s in mine if "guest" in s]
        cached = [g.get("served_cached_bytes") for g in guest]
        # bench_settle's wait (servers.sh): how long the fill's after-work ran.
        out.append("| %s | %s | %d | %d | %d | %s of %s | %s | %s | %s | %s | %s | %s |" % (
            x["where"], fmt(x["chunks"]), x["ns_per_run"], x["ns_baseline"], x["ns_per_lookup"],
            fmt(x["hits"]), fmt(x["hits"] + x["misses"]),
            fmt(med(rs)) + " (%d rounds)" % len(rs) if rs else "-",
            fmt(med([h["vcpu_us_per_req"] for h in host]), 1) if host else "-",
            "%.0f%%" % (100 * med([h["vcpu_wait_s"] / (h["vcpu_wait_s"] + h["vcpu_run_s"]) for h in host
                                   if h["vcpu_wait_s"] + h["vcpu_run_s"] > 0])) if host else "-",
            "%.1f MiB" % (min(c for c in cached if c is not None) / 2**20) if any(c is not None for c in cached) else "-",
            fmt(sum(g.get("cache_misses", 0) for g in guest)) if guest else "-",
            "%d s" % x["settle_s"] if "settle_s" in x else "-"))
    return "\n".join(out)


def markdown(cells, lookups, scale, meta):
    parts = []
    m = meta
    parts.append("Produced by `%s` on %s, commit %s, in %s s." % (
        m.get("command", "?"), m.get("date", "?"), m.get("commit", "?"), m.get("seconds", "?")))
    parts.append("")
    parts.append("- Host: %s, %s CPUs, %s GiB, kernel %s; nginx %s, wrk %s." % (
        m.get("cpu", "?"), m.get("cpus", "?"), m.get("mem_gib", "?"), m.get("host_kernel", "?"),
        m.get("nginx", "?"), m.get("wrk", "?")))
    if "guest_kernel" in m:
        parts.append("- VM: kernel %s, %s (no /dev/kvm), link MTU %s." % (
            m["guest_kernel"], "KVM" if m.get("kvm") else "QEMU TCG, emulated", m.get("mtu", 1500)))
    parts.append("- Load: `%s` before, `%s` after." % (m.get("uptime_start", "?"), m.get("uptime_end", "?")))
    for where in ("vm", "host"):
        for w in WORKLOADS:
            t = table(cells, where, w)
            if t:
                parts += ["", "#### %s: %s" % (WHERE[where], WORKLOADS[w]), "", t]
    t = scale_table(lookups, scale)
    if t:
        parts += ["", "#### Scale: the module's chunk index", "", t]
    return "\n".join(parts) + "\n"


def plot(cells, plot_dir, png):
    panels = []
    for where in ("vm", "host"):
        for w in WORKLOADS:
            mine = [c for c in cells if c["where"] == where and c["workload"] == w]
            if not mine:
                continue
            concs = sorted({c["conc"] for c in mine})
            servers = [s for s in SERVERS if any(c["server"] == s for c in mine)]
            dat = os.path.join(plot_dir, "plot-%s-%s.dat" % (where, w))
            with open(dat, "w") as f:
                f.write("# clients " + " ".join(servers) + "\n")
                for conc in concs:
                    vals = [med([c["req_per_s"] for c in mine if c["conc"] == conc and c["server"] == s])
                            for s in servers]
                    f.write("%d %s\n" % (conc, " ".join("NaN" if v is None else "%.1f" % v for v in vals)))
            panels.append((where, w, dat, servers))
    if not panels:
        return
    gp = ["set terminal png size 1200,%d" % (420 * ((len(panels) + 1) // 2)),
          "set output '%s'" % png,
          "set multiplot layout %d,2" % ((len(panels) + 1) // 2),
          "set logscale xy", "set xtics (1, 4, 16, 64)", "set offsets graph 0.05, graph 0.05, 0, 0", "set xlabel 'requests outstanding'",
          "set ylabel 'req/s (median)'", "set key left top", "set grid"]
    for where, w, dat, servers in panels:
        gp.append("set title '%s: %s'" % ({"vm": "VM (TCG, 1 vCPU)", "host": "host"}[where], WORKLOADS[w]))
        gp.append("plot " + ", ".join("'%s' using 1:%d with linespoints lw 2 lc rgb '%s' title '%s'"
                                      % (dat, i + 2, COLOR[s], LABEL[s])
                                      for i, s in enumerate(servers)))
    gp.append("unset multiplot")
    script = os.path.join(plot_dir, "plot.gp")
    with open(script, "w") as f:
        f.write("\n".join(gp) + "\n")
    subprocess.run(["gnuplot", script], check=True)


def put_in_doc(doc, text):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    s = open(doc).read()
    if begin not in s or end not in s:
        sys.exit("report.py: %s has no %s ... %s section" % (doc, begin, end))
    head, rest = s.split(begin, 1)
    tail = rest.split(end, 1)[1]
    with open(doc + ".tmp", "w") as f:
        f.write(head + begin + "\n" + text + end + tail)
    os.rename(doc + ".tmp", doc)


def sanity(cells, where, server, workload):
    mine = [c for c in cells if c["where"] == where and c["server"] == server and c["workload"] == workload]
    if not mine:
        return "no cell"
    for c in mine:
        what = "%s %s c=%d round %d" % (server, workload, c["conc"], c["round"])
        if c.get("failed") is not None:
            return "%s: no result: %s" % (what, c["failed"])
        if not c["completed"] or c["req_per_s"] <= 0:
            return "%s: no requests" % what
        if c["errors"] or c["timeouts"]:
            return "%s: %d errors, %d timeouts" % (what, c["errors"], c["timeouts"])
        expect = c["req_per_s"] * c["size"] / 1e6
        if abs(c["mb_per_s"] - expect) > 0.05 * expect:
            return "%s: %.2f MB/s for %.0f req/s of %d bytes" % (what, c["mb_per_s"], c["req_per_s"], c["size"])
        if not 0 < c["p50_us"] <= c["p99_us"]:
            return "%s: p50 %s, p99 %s" % (what, c["p50_us"], c["p99_us"])
        if c["cpu_s_per_gb"] is None or c["cpu_s_per_gb"] < 0:
            return "%s: CPU per GB %s" % (what, c["cpu_s_per_gb"])
    return "ok"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--plot-dir")
    ap.add_argument("--doc")
    ap.add_argument("--png")
    ap.add_argument("--sanity", nargs=3, metavar=("WHERE", "SERVER", "WORKLOAD"))
    a = ap.parse_args()
    cells, lookups, scale, meta = load(a.results)
    if a.sanity:
        print(sanity(cells, *a.sanity))
        return
    text = markdown(cells, lookups, scale, meta)
    if a.png:
        plot(cells, a.plot_dir or os.path.dirname(a.results), a.png)
        text += "\n![req/s against requests outstanding](%s)\n" % os.path.basename(a.png)
    print(text, end="")
    if a.doc:
        put_in_doc(a.doc, text)


if __name__ == "__main__":
    main()
