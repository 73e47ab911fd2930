#!/usr/bin/env bash
# Numbers, not a test: search latency with 10^5 files and 10^6 file tags
# (docs/SEARCH.md, docs/BENCHMARKS.md). A synthetic store is written
# straight into meta.db (schema v3, made by dgfsd's first start): each file
# gets 10 tags (type, ext, year, and 7 keyword tags drawn from 2000 with a
# Zipf-like skew, so some tags are on a third of the files and most on a
# few) and 30 words of text from 5000 (skewed the same way) in file_text.
# Then the plain dgfsd serves GET /search to one keep-alive client in the
# same namespace, and p50/p99 are printed for three-term tag, full-text and
# mixed queries, and tag queries whose every term is common (N random
# queries of each kind, default 300), with dgfsd's
# mean CPU time per query (/proc/PID/stat), which a busy machine's wait
# for a CPU does not inflate. BENCH_SLOW=N prints each kind's N slowest
# queries with their time and number of results; BENCH_QUERIES=FILE writes
# every query as "KIND<TAB>QUERY" (input for build/search_profile).
#   tests/dgfsd/bench_search.sh BUILD_DIR [QUERIES]      (as root; make bench-search)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
DGFSD=${1:-build}/dgfsd
dgfsd_setup "${1:-build}"
nq=${2:-300}
# DGFSD_BENCH_STATE=DIR keeps the filled store there (it must not exist yet).
STATE=${DGFSD_BENCH_STATE:-$T/state}

dgfsd_start --access-log off || { fail "dgfsd starts"; finish; }
dgfsd_stop "dgfsd made the schema" || finish
echo "filling meta.db: 100000 files, 1000000 tags, 3000000 words of text"
python3 - "$STATE/meta.db" <<'PY' || { fail "filling meta.db"; finish; }
import random, sqlite3, sys, time
t0 = time.time()
random.seed(1)
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA synchronous=OFF")
NF, NKW, NW = 100000, 2000, 5000
def skewed(n):
    # Zipf-like: index k drawn with weight 1/(k+1).
    return min(n - 1, int(n ** random.random()) - 1)
types = ["text", "image", "audio", "video", "document", "archive", "binary"]
exts = ["txt", "md", "c", "html", "pdf", "jpg", "png", "mp3", "wav", "mp4", "zip", "gz",
        "bin", "json", "csv", "py", "h", "svg", "ogg", "flac"]
tags = [("type", t) for t in types] + [("ext", e) for e in exts] + \
       [("year", str(y)) for y in range(1990, 2026)] + [("kw%d" % k, "") for k in range(NKW)]
db.executemany("INSERT INTO tags (id, name, value) VALUES (?, ?, ?)",
               [(i + 1, n, v) for i, (n, v) in enumerate(tags)])
kw0 = len(types) + len(exts) + 36
db.executemany("INSERT INTO files (id, path, size, etag, mtime, content_type, nchunks) "
               "VALUES (?, ?, ?, ?, ?, 'application/octet-stream', 0)",
               ((i + 1, ("d%d/f%06d" % (i % 100, i)).encode(), random.randint(0, 1 << 24),
                 "%064x" % i, 1600000000 + i) for i in range(NF)))
def file_tags():
    for i in range(NF):
        mine = {1 + random.randrange(len(types)), 1 + len(types) + random.randrange(len(exts)),
                1 + len(types) + len(exts) + random.randrange(36)}
        while len(mine) < 10:
            mine.add(1 + kw0 + skewed(NKW))
        for t in mine:
            yield (i + 1, t, random.randrange(2))
db.executemany("INSERT INTO file_tags (file_id, tag_id, source) VALUES (?, ?, ?)", file_tags())
db.executemany("INSERT INTO file_text (rowid, text) VALUES (?, ?)",
               ((i + 1, " ".join("w%d" % skewed(NW) for _ in range(30))) for i in range(NF)))
db.commit()
n = db.execute("SELECT (SELECT count(*) FROM files), (SELECT count(*) FROM file_tags)").fetchone()
print("  %d files, %d file tags in %.0f s" % (n[0], n[1], time.time() - t0))
PY
check "dgfsd serves the filled store" dgfsd_start --access-log off || finish

n python3 - "$DGFS_API_KEY" "$nq" "$DGFSD_PID" "${BENCH_SLOW:-0}" "${BENCH_QUERIES:-}" <<'PY'
import http.client, os, random, sys, time, urllib.parse
key, nq, pid, nslow, qfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
qout = open(qfile, "w") if qfile else None
def cpu():
    # dgfsd's user + system time: what a query costs without the wait for a CPU.
    f = open("/proc/%s/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")
random.seed(2)
def skewed(n):
    return min(n - 1, int(n ** random.random()) - 1)
kinds = {
    "tag": lambda: "type=%s kw%d year>=%d" % (random.choice(["text", "image", "audio"]),
                                             skewed(2000), random.randint(1990, 2025)),
    "full-text": lambda: "w%d w%d w%d" % (skewed(5000), skewed(5000), skewed(5000)),
    "mixed": lambda: "w%d kw%d -type=binary" % (skewed(5000), skewed(2000)),
    # Every member common (no rare one to start from): the costliest tag queries.
    "common": lambda: "type=%s kw%d year>=%d" % (random.choice(["text", "image", "audio"]),
                                                random.randrange(5), random.randint(2005, 2020)),
}
c = http.client.HTTPConnection("127.0.0.1", 8080)
hdr = {"Authorization": "Bearer " + key}
for kind, gen in kinds.items():
    lat, hits, each = [], 0, []
    c0 = cpu()
    for i in range(nq):
        q = gen()
        t = time.perf_counter()
        c.request("GET", "/search?limit=50&q=" + urllib.parse.quote(q), headers=hdr)
        r = c.getresponse()
        body = r.read()
        lat.append((time.perf_counter() - t) * 1000)
        if r.status != 200:
            sys.exit("%s: HTTP %d %s" % (q, r.status, body[:200]))
        hits += body.count(b'"path"')
        each.append((lat[-1], q, body.count(b'"path"')))
        if qout:
            qout.write("%s\t%s\n" % (kind, q))
    c1 = cpu()
    lat.sort()
    print("%-9s p50 %6.2f ms  p99 %6.2f ms  max %6.2f ms  dgfsd CPU %5.2f ms/query  "
          "(%d queries, %.1f results each, e.g. %s)"
          % (kind, lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1],
             (c1 - c0) * 1000 / nq, nq, hits / nq, gen()))
    for ms, q, nr in sorted(each, reverse=True)[:nslow]:
        print("    %8.2f ms  %3d results  %s" % (ms, nr, q))
PY
dgfsd_stop
finish
