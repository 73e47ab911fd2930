"""The rounds of an A/B benchmark: rows, one JSON object a line, each with
its "mode" and "round", grouped by cell; medians over the rounds; and
ratios against a base mode taken within a round (the two ran one after the
other on the same busy host), then their median. For the reports of
tests/bench/bench_sockmap.sh and tests/net/bench_steer.sh (run with
PYTHONPATH=tests/bench).
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
