#!/usr/bin/env python3
"""What a machine did between two snapshots of bench_settle (servers.sh).

    busy.py BEFORE_DIR AFTER_DIR SECONDS

Each DIR holds what bench_settle copied out of /proc: tasks (every
thread's /proc/PID/task/TID/stat), stat, softirqs, interrupts, vmstat,
and dgfs.ko's counters (dgfs, `dgfsctl stats`). Prints where the CPU time
went: /proc/stat's split, the threads that ran most (by the CPU ticks
they gained; a kworker's name ends in the workqueue it served last), the
softirqs and interrupts raised, the vmstat and module counters that moved.
"""
import os
import re
import sys

TASK = re.compile(r"^(\d+) \((.*)\) (\S) (.*)$")


def text(d, name):
    p = os.path.join(d, name)
    return open(p).read() if os.path.exists(p) else ""


def tasks(d):
    t = {}
    for line in text(d, "tasks").splitlines():
        m = TASK.match(line)
        if m:
            f = m.group(4).split()	# fields 4... of stat(5)
            t[int(m.group(1))] = (m.group(2), int(f[10]) + int(f[11]))	# utime + stime
    return t


def table(d, name):
    """/proc/softirqs or /proc/interrupts: each row's total over the CPUs."""
    rows = {}
    for line in text(d, name).splitlines()[1:]:
        key, _, rest = line.partition(":")
        n = 0
        for w in rest.split():
            if not w.isdigit():
                break
            n += int(w)
        desc = " ".join(w for w in rest.split() if not w.isdigit())
        rows[key.strip() + (" (" + desc + ")" if desc and not key.strip().isalpha() else "")] = n
    return rows


def pairs(d, name):
    out = {}
    for line in text(d, name).splitlines():
        f = line.split()
        if len(f) == 2 and f[1].lstrip("-").isdigit():
            out[f[0]] = int(f[1])
    return out


def moved(a, b, most):
    d = [(b[k] - a.get(k, 0), k) for k in b if b[k] != a.get(k, 0)]
    return sorted(d, reverse=True)[:most]


def main():
    a, b, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
    hz = os.sysconf("SC_CLK_TCK")
    s0 = text(a, "stat").split()[1:9]
    s1 = text(b, "stat").split()[1:9]
    names = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
    ds = {k: (int(y) - int(x)) / hz for k, x, y in zip(names, s0, s1)}
    total = sum(ds.values()) or 1
    ncpu = sum(1 for line in text(b, "stat").splitlines() if re.match(r"cpu\d", line)) or 1
    print("CPU time between the snapshots (%.1f s of %d CPU%s; waited %.0f s): %s" % (
        total / ncpu, ncpu, "s" if ncpu > 1 else "", secs,
        ", ".join("%s %.2f s (%.0f%%)" % (k, v, 100 * v / total) for k, v in ds.items() if v)))
    t0, t1 = tasks(a), tasks(b)
    ran = sorted(((t1[p][1] - t0.get(p, (None, 0))[1], p, t1[p][0]) for p in t1), reverse=True)
    print("threads by CPU time gained (s):")
    for ticks, tid, comm in ran[:10]:
        if ticks > 0:
            print("  %7.2f  %s[%d]%s" % (ticks / hz, comm, tid, "" if tid in t0 else " (new)"))
    for title, name in (("softirqs raised", "softirqs"), ("interrupts", "interrupts")):
        print(title + ": " + ", ".join("%s %d" % (k, n) for n, k in moved(table(a, name), table(b, name), 8)))
    print("vmstat moved most: " + ", ".join("%s %d" % (k, n) for n, k in moved(pairs(a, "vmstat"), pairs(b, "vmstat"), 12)))
    print("dgfs.ko counters moved: " + ", ".join("%s %d" % (k, n) for n, k in moved(pairs(a, "dgfs"), pairs(b, "dgfs"), 12)))


main()
