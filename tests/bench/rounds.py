"""The rounds of an A/B benchmark: rows, one JSON object a line, each with
its "mode" and "round", grouped by cell; medians over the rounds; and
ratios against a base mode taken within a round (the two ran one after the
other on the same busy host), then their median. For the reports of
tests/bench/bench_sockmap.sh and tests/net/bench_steer.sh (run with
PYTHONPATH=tests/bench).

Run as a script, for the AF_XDP benchmarks (tests/net/bench_afxdp.sh,
tests/vm/bench_afxdp_remote.sh), which compare two modes at several
levels of load:

    rounds.py order ROUNDS LEVELS BASE MODE   the cells to run, in order
    rounds.py row BENCH.json NAME=VALUE...   one row from dgfs-bench --json
    rounds.py ab RESULTS BASE MODE            their table
"""
import json
import statistics


def load(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def med(xs):
    """The median of xs without its Nones; NaN when none is left."""
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else float("nan")


def cells(rows, cell):
    """[(CELL, {mode: {round: row}})], the cells (cell(row)) in the order
    they first appear."""
    by = {}
    for r in rows:
        by.setdefault(cell(r), {}).setdefault(r["mode"], {})[r["round"]] = r
    return list(by.items())


def ratio(by, mode, base, key):
    """The median over the rounds of mode's key / base's key in the same
    round ("1.23x"); "-" for the base itself or when no round has both."""
    a, b = by.get(mode, {}), by.get(base, {})
    xs = [a[k][key] / b[k][key] for k in a if k in b and a[k][key] and b[k][key]]
    return "%.2fx" % med(xs) if mode != base and xs else "-"


def bench_row(path, extra):
    """One run of dgfs-bench (its --json output at path) as a row: its rate,
    latency and timeouts, and extra (mode, level, round, CPU seconds); each
    CPU time NAME_s in extra is also given per request completed, as
    NAME_us_per_req."""
    r = json.load(open(path))
    n = max(r["completed"], 1)
    row = {"req_per_s": round(r["req_per_s"]), "p50_us": r["p50_us"], "p99_us": r["p99_us"],
           "timeouts": r["timeouts"]}
    for k, v in extra.items():
        try:
            v = int(v) if str(v).isdigit() else float(v)
        except ValueError:
            pass
        row[k] = v
        if k.endswith("_s"):
            row[k[:-2] + "_us_per_req"] = round(v / n * 1e6, 2)
    return row


def ab_table(rows, base, mode):
    """Per level, the medians of base's and mode's rounds, the CPU columns
    the rows have (the first one also as requests per CPU second), then
    mode against base, taken within each round."""
    cpu = [k for k in rows[0] if k.endswith("_us_per_req")] if rows else []
    head = ["level", "mode", "req/s", "p50 µs", "p99 µs", "timeouts"]
    head += [k[:-len("_us_per_req")] + " µs/req" for k in cpu] + ["req/s per %s CPU s" % cpu[0][:-11]] if cpu else []
    out = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for level, by in cells(rows, lambda r: r["level"]):
        for m in (base, mode):
            rs = list(by.get(m, {}).values())
            if not rs:
                continue
            c = [med([r[k] for r in rs]) for k in cpu]
            out.append("| %s | %s | %s | %.1f | %.1f | %d | %s |" % (
                level, m, format(round(med([r["req_per_s"] for r in rs])), ","),
                med([r["p50_us"] for r in rs]), med([r["p99_us"] for r in rs]),
                sum(r["timeouts"] for r in rs),
                " | ".join(["%.2f" % x for x in c] + (["%.0f" % (1e6 / c[0]) if c[0] else "-"] if c else []))))
        out.append("| %s | %s / %s | %s | | | | %s |" % (
            level, mode, base, ratio(by, mode, base, "req_per_s"),
            " | ".join([ratio(by, mode, base, k) for k in cpu] + ["" for _ in cpu[:1]])))
    return "\n".join(out)


def order(rounds, levels, base, mode):
    """(round, level, mode) in the order to run them: every level each
    round, both modes at each, which goes first turned every round so
    neither always follows the other."""
    for r in range(1, rounds + 1):
        for level in levels:
            for m in ((base, mode) if r % 2 else (mode, base)):
                yield r, level, m


if __name__ == "__main__":
    import sys
    if sys.argv[1:2] == ["order"]:
        for cell in order(int(sys.argv[2]), sys.argv[3].split(), sys.argv[4], sys.argv[5]):
            print(*cell)
    elif sys.argv[1:2] == ["row"]:
        print(json.dumps(bench_row(sys.argv[2], dict(a.split("=", 1) for a in sys.argv[3:]))))
    elif sys.argv[1:2] == ["ab"]:
        rows = load(sys.argv[2])
        print("median of %d rounds; ratios: within a round, then their median" % len({r["round"] for r in rows}))
        print(ab_table(rows, sys.argv[3], sys.argv[4]))
    else:
        sys.exit("usage: rounds.py order ROUNDS LEVELS BASE MODE | row BENCH.json NAME=VALUE... | ab RESULTS BASE MODE")
