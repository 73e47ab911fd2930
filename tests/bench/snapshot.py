#!/usr/bin/env python3
"""One scale cell of `make bench` with what the guest saw around it.

    snapshot.py BEFORE AFTER CHUNKS QEMU_BEFORE QEMU_AFTER <CELL.json

BEFORE and AFTER are tests/bench/guest.sh's snapshots ("name value" lines:
the module's counters, /proc/meminfo, /proc/vmstat, /proc/stat, slabs, the
served files' cached bytes, drops). QEMU_BEFORE and QEMU_AFTER: "VCPU_RUN
VCPU_WAIT OTHER_RUN", ns, the host's view of QEMU's threads (bench.sh's
qemu_ns) just before and after the client ran. Prints the cell as a
"scale" result line with a "guest" object (counters as their change over
the cell, levels such as memory, slabs, cached bytes and the index's size
as they were after) and a "host" one: the vCPU thread's time on a CPU and
waiting for one, QEMU's other threads' time on a CPU, and the vCPU's time
per request completed.
"""
import json
import sys

# Levels, not counters: reported as they were after the cell.
LEVELS = ("meminfo_", "slab_", "served_cached_bytes", "chunks", "chunk_bytes", "stores",
          "rings", "queued", "slow_reads", "objects_", "obj_")


def read(path):
    d = {}
    for line in open(path):
        f = line.split()
        if len(f) == 2:
            try:
                d[f[0]] = float(f[1]) if "." in f[1] else int(f[1])
            except ValueError:
                pass
    return d


def main():
    before, after, chunks = read(sys.argv[1]), read(sys.argv[2]), int(sys.argv[3])
    x = json.loads(sys.stdin.read())
    x.update(kind="scale", chunks=chunks)
    g = {}
    for k, v in after.items():
        if k.startswith(LEVELS):
            g[k] = v
        elif k in before and v != before[k]:
            g[k] = round(v - before[k], 3) if isinstance(v, float) else v - before[k]
    x["guest"] = g
    q0, q1 = [list(map(int, a.split())) for a in sys.argv[4:6]]
    d = [(b - a) / 1e9 for a, b in zip(q0, q1)]
    x["host"] = {"vcpu_run_s": round(d[0], 4), "vcpu_wait_s": round(d[1], 4),
                 "qemu_other_run_s": round(d[2], 4),
                 "vcpu_us_per_req": round(d[0] * 1e6 / x["completed"], 2) if x.get("completed") else None}
    print(json.dumps(x))


if __name__ == "__main__":
    main()
