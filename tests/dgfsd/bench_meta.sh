#!/usr/bin/env bash
# Numbers, not a test (`make bench-cluster`, docs/BENCHMARKS.md "Many
# hosts"): the latency of dgfsd's metadata operations on SQLite and on
# PostgreSQL, side by side. Two plain dgfsds in one namespace, the same
# options but --metadata: one on meta.db in its state directory (8080),
# one on a PostgreSQL server of the run's own (tests/dgfsd/pg.sh, unix
# socket, fsync on as SQLite's synchronous=FULL; 8081). One keep-alive
# client asks both, each operation of the one and then of the other,
# the order turned at every operation, so a busy host slows both alike:
#   commit    POST /files/{path}?commit of one stored 1 KiB chunk (the file
#             row, its chunk list and the refs; no data written)
#   tag       POST /files/{path}?tags, three tags added
#   manifest  GET /files/{path}?manifest (the lookup every read starts with)
#   stat      HEAD /files/{path}
#   list      GET /files/?prefix=DIR/&limit=100 (a directory of the store)
#   search    GET /search?q=kwK year>=Y&limit=50 (two tags, one a range)
# N files (BENCH_META_FILES, default 2000) in 20 directories are committed
# and tagged, then BENCH_META_SAMPLES (500) reads of each kind. Prints each
# operation's p50/p99 on both and the CPU per operation: dgfsd's own, and
# for PostgreSQL also its server's (/proc/PID/stat, user + system; a busy
# host's wait for a CPU does not inflate it).
#   tests/dgfsd/bench_meta.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
DGFSD=${1:-build}/dgfsd
dgfsd_setup "${1:-build}"
NFILES=${BENCH_META_FILES:-2000}
SAMPLES=${BENCH_META_SAMPLES:-500}
OPTS=(--kmod off --access-log off --tagger off)

PG_FSYNC=on
check "PostgreSQL of the run's own starts (fsync on)" pg_start || finish
check "dgfsd on SQLite (8080)" dgfsd_start "${OPTS[@]}" || finish
check "dgfsd on PostgreSQL (8081)" cluster_host pg 8081 "$T/state-pg" --metadata "$PG_URI" "${OPTS[@]}" ||
	finish

n python3 - "$NFILES" "$SAMPLES" "$STATE/admin.key" "$T/state-pg/admin.key" "$DGFSD_PID" "${PID[pg]}" \
	"$PG_DIR/data/postmaster.pid" <<'PY' || fail "the measurements ran"
import collections, hashlib, http.client, json, os, random, statistics, sys, time, urllib.parse

nfiles, samples = int(sys.argv[1]), int(sys.argv[2])
keys = [open(f).read().strip() for f in sys.argv[3:5]]
dpid = {"sqlite": int(sys.argv[5]), "postgresql": int(sys.argv[6])}
pm = int(open(sys.argv[7]).readline())
B = ["sqlite", "postgresql"]
port = {"sqlite": 8080, "postgresql": 8081}
hdr = {b: {"Authorization": "Bearer " + k} for b, k in zip(B, keys)}
conn = {b: http.client.HTTPConnection("127.0.0.1", port[b], timeout=60) for b in B}
HZ = os.sysconf("SC_CLK_TCK")


def cpu(pid, children=False):
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if children else 0)) / HZ


def pg_cpu():
    # The postmaster and every process it started (the backends), and
    # those it reaped.
    t = cpu(pm, True)
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                f = open("/proc/%s/stat" % d).read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(f[1]) == pm:
                t += (int(f[11]) + int(f[12])) / HZ
    return t


def call(b, method, path, body=None, ok=(200, 201)):
    c = conn[b]
    t = time.perf_counter()
    c.request(method, path, body=body, headers=hdr[b])
    r = c.getresponse()
    data = r.read()
    dt = time.perf_counter() - t
    if r.status not in ok:
        sys.exit("%s %s on %s: HTTP %d %s" % (method, path, b, r.status, data[:200]))
    return dt * 1000, data


lat = collections.defaultdict(list)
cpu_per = {}
random.seed(3)
ndirs = 20


def path(i):
    return "m/d%02d/f%06d" % (i % ndirs, i)


def phase(op, n, req):
    """n operations of kind op on both backends, turning the order each time."""
    c0 = {b: cpu(dpid[b]) for b in B}
    p0 = pg_cpu()
    for i in range(n):
        for b in (B if i % 2 == 0 else B[::-1]):
            ms, _ = call(b, *req(i))
            lat[(op, b)].append(ms)
    cpu_per[op] = {b: (cpu(dpid[b]) - c0[b]) * 1000 / n for b in B}
    cpu_per[op]["postgres"] = (pg_cpu() - p0) * 1000 / n


print("load average %s at the start" % " ".join(open("/proc/loadavg").read().split()[:3]))
# Each file's own 1 KiB chunk, stored on both first (not timed).
blobs = [os.urandom(1024) for _ in range(nfiles)]
ids = [hashlib.sha256(x).hexdigest() for x in blobs]
for b in B:
    for x, cid in zip(blobs, ids):
        call(b, "PUT", "/chunks/" + cid, x)
phase("commit", nfiles,
      lambda i: ("POST", "/files/%s?commit" % path(i), json.dumps({"chunks": [ids[i]]})))
types = ["text", "image", "audio", "video", "binary"]


def skewed(n):
    return min(n - 1, int(n ** random.random()) - 1)


phase("tag", nfiles, lambda i: ("POST", "/files/%s?tags" % path(i), json.dumps(
    {"add": ["kw%d" % skewed(200), "year=%d" % (1990 + i % 36), "type=%s" % types[i % 5]]})))
pick = [random.randrange(nfiles) for _ in range(samples)]
phase("manifest", samples, lambda i: ("GET", "/files/%s?manifest" % path(pick[i])))
phase("stat", samples, lambda i: ("HEAD", "/files/%s" % path(pick[i])))
phase("list", samples, lambda i: ("GET", "/files/?prefix=m/d%02d/&limit=100" % (pick[i] % ndirs)))
qs = ["kw%d year>=%d" % (skewed(200), random.randint(1990, 2025)) for _ in range(samples)]
phase("search", samples, lambda i: ("GET", "/search?limit=50&q=" + urllib.parse.quote(qs[i])))
print("load average %s at the end" % " ".join(open("/proc/loadavg").read().split()[:3]))


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


print()
print("%d files in %d directories; %d samples of each read" % (nfiles, ndirs, samples))
print()
print("| operation | SQLite p50 | p99 | PostgreSQL p50 | p99 | p50 PG/SQLite "
      "| CPU/op SQLite: dgfsd | PG: dgfsd + postgres |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for op in ["commit", "tag", "manifest", "stat", "list", "search"]:
    s, p = lat[(op, "sqlite")], lat[(op, "postgresql")]
    c = cpu_per[op]
    print("| %s | %.2f ms | %.2f ms | %.2f ms | %.2f ms | %.2fx | %.2f ms | %.2f + %.2f ms |" % (
        op, pct(s, .5), pct(s, .99), pct(p, .5), pct(p, .99), pct(p, .5) / pct(s, .5),
        c["sqlite"], c["postgresql"], c["postgres"]))
PY
others_stop || fail "dgfsd on PostgreSQL stops cleanly"
dgfsd_stop "dgfsd on SQLite stops cleanly"
finish
