#!/usr/bin/env bash
# Tags and search agree on SQLite and PostgreSQL (docs/CLUSTER.md, "Tags
# and search on PostgreSQL"): the same store (files, auto tags from a
# stand-in dgfs-tagger, user tags, an implication, a hostile tag value)
# is built once on each backend by the same HTTP calls, then the same
# queries are asked of both. How answers are compared:
#   - every file's tags (GET ?tags), the implications and completions:
#     equal, order included (both order by bytes);
#   - each search's set of paths: equal; and its order too when no free
#     word ranks it (every score 0: by path on both). Ranked queries may
#     order ties differently (bm25 against ts_rank), so only their sets
#     are compared, and each backend's scores must be positive for files
#     the words found;
#   - bulk tagging (POST /search): the same count and the same tags after.
# Hostile input changes nothing: a tag value and query words that look
# like SQL or like tsquery/FTS5 syntax are data (every value is bound);
# the files and tags tables are whole afterwards. CJK: text stored as
# ICU cut it is found by an unsegmented query on both.
#   tests/dgfsd/test_meta_agree.sh BUILD_DIR      (as root)
# expect-checks: 57
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
. tests/dgfsd/pg.sh
dgfsd_setup "${1:-build}"
trap 'pg_cleanup; dgfsd_cleanup' EXIT

cat >"$T/tagger" <<'PY'
#!/usr/bin/python3
import json, sys
data = open(sys.argv[1], 'rb').read()
text = data.decode('utf-8', 'replace') if not data.startswith(b'\xff') else ''
tags = [{"name": "type", "value": "text" if text else "binary"}]
terms = {}
for w in text.lower().split():
    terms[w] = terms.get(w, 0) + 1
json.dump({"tags": tags, "lang": None, "terms": terms, "text": text}, sys.stdout)
PY
chmod 755 "$T/tagger" "$T"

HOSTILE="x'); DROP TABLE files; --"
QUERIES=(fox 'quick OR fox' 'fox -cat' animal 'year>=2020' 'year<2022' 'size>1M'
	'NOT type=text' '中文搜索' '(cat OR dog) year<2022' 'type=TEXT' 'Type=text'
	'type=*' '"quick brown"' '"brown quick"' 'café' 'cafe' 'year=*' 'mtime>0'
	'-animal -year=2023' 'lazy OR (cat -fox)' "note=\"$HOSTILE\"" "\"$HOSTILE\""
	"fox' OR '1'='1" 'fox | dog' 'fox & !dog' 'fox:*' 'NEAR(fox dog)' 'dog*' 'fox <-> jumps')

# build: the same store through the same calls, on whichever backend runs.
build() {
	local f
	put() { printf '%s' "$2" >"$T/up" && n curl -sf -o /dev/null -T "$T/up" "$URL/files/$1"; }
	put docs/a.txt "the quick brown fox jumps"
	put docs/b.txt "a lazy dog sleeps all day"
	put docs/c.txt "quick quick quick fox"
	put docs/g.txt "Café au lait, don't stop"
	put zh/d.txt "我们 在 中文 搜索 引擎 里"
	put priv/f.txt "secret fox"
	{ printf '\xff'; head -c $((2 * 1024 * 1024)) /dev/zero; } >"$T/big"
	n curl -sf -o /dev/null -T "$T/big" "$URL/files/pics/e.bin"
	tagged() { n curl -sf "$URL/files/$1?tags" | grep -q '"type"'; }
	all_tagged() {
		for f in docs/a.txt docs/b.txt docs/c.txt docs/g.txt zh/d.txt priv/f.txt pics/e.bin; do
			tagged "$f" || return 1
		done
	}
	check "$1: all seven files auto-tagged" wait_for 60 all_tagged
	addtags() {
		n curl -sf -o /dev/null -H 'Content-Type: application/json' --data "$2" \
			"$URL/files/$1?tags"
	}
	addtags docs/a.txt '{"add": ["cat", "year=2021"]}'
	addtags docs/b.txt '{"add": ["year=2019", "animal"]}'
	addtags pics/e.bin '{"add": ["year=2023"]}'
	addtags priv/f.txt '{"add": ["cat"]}'
	check "$1: a tag value that looks like SQL is stored as given" addtags docs/c.txt \
		"$(python3 -c 'import json, sys; print(json.dumps({"add": ["note=" + sys.argv[1]]}))' "$HOSTILE")"
	n curl -sf -o /dev/null --data '{"tag": "cat", "implies": "animal"}' "$URL/tags/implies"
}

# answers FILE: every answer this dgfsd gives, one a line, for comparing.
answers() {
	local q f
	{
		for f in docs/a.txt docs/b.txt docs/c.txt docs/g.txt zh/d.txt priv/f.txt pics/e.bin; do
			printf 'tags %s %s\n' "$f" "$(n curl -sf "$URL/files/$f?tags")"
		done
		printf 'implies %s\n' "$(n curl -sf "$URL/tags/implies")"
		for q in '' y ty c; do
			printf 'complete %s %s\n' "$q" "$(n curl -sf -G --data-urlencode "prefix=$q" "$URL/tags")"
		done
		for q in "${QUERIES[@]}"; do
			printf 'search %s\t%s\n' "$q" "$(n curl -s -G --data-urlencode "q=$q" \
				--data limit=1000 "$URL/search" | python3 -c 'import json, sys
j = json.load(sys.stdin)
fs = j.get("files")
if fs is None:
    print("error")
    sys.exit()
ranked = any(f["score"] != 0 for f in fs)
paths = [f["path"] for f in fs]
# Unranked: the order itself; ranked: the set, and whether every score is positive.
print("ranked" if ranked else "unranked", " ".join(sorted(paths) if ranked else paths),
      "positive" if all(f["score"] > 0 for f in fs) or not ranked else "mixed")')"
		done
	} >"$1"
}

# bulk FILE: bulk tagging, then the tags it left.
bulk() {
	local f
	{
		n curl -sf -X POST -H 'Content-Type: application/json' \
			--data '{"add": ["bulk", "q=1"], "remove": ["type=text"]}' \
			"$URL/search?q=fox%20-cat"
		echo
		for f in docs/a.txt docs/c.txt priv/f.txt; do
			printf 'tags %s %s\n' "$f" "$(n curl -sf "$URL/files/$f?tags")"
		done
		printf 'search bulk: %s\n' "$(n curl -sf -G --data-urlencode 'q=bulk' "$URL/search" |
			python3 -c 'import json, sys; print([f["path"] for f in json.load(sys.stdin)["files"]])')"
	} >"$1"
}

# ---- SQLite ----
check "dgfsd starts on SQLite" \
	dgfsd_start --tagger "$T/tagger" --tag-timeout 10 --access-log off || finish
build sqlite
answers "$T/sqlite.txt"
bulk "$T/sqlite.bulk"
dgfsd_stop "dgfsd on SQLite stops cleanly"

# ---- PostgreSQL, a fresh state directory ----
check "a PostgreSQL server of the test's own starts" pg_start || finish
STATE=$T/state-pg
mkdir -p "$STATE"
check "dgfsd starts on PostgreSQL" dgfsd_start --metadata "$PG_URI" --tagger "$T/tagger" \
	--tag-timeout 10 --access-log off || finish
build postgresql
answers "$T/pg.txt"

# ---- the comparison ----
i=0
while IFS= read -r a && IFS= read -r b <&3; do
	i=$((i + 1))
	same "answer $i agrees: ${a:0:60}" "$b" "$a"
done <"$T/sqlite.txt" 3<"$T/pg.txt"
same "both gave the same number of answers" "$(wc -l <"$T/pg.txt")" "$(wc -l <"$T/sqlite.txt")"
same "the hostile value is found as a tag (note=...), docs/c.txt only" \
	"$(grep -F "search note=" "$T/pg.txt" | cut -f2)" "unranked docs/c.txt positive"
shows "CJK: 中文搜索 finds zh/d.txt on PostgreSQL" $'search 中文搜索\tranked zh/d.txt positive' \
	cat "$T/pg.txt"
bulk "$T/pg.bulk"
same "bulk tagging agrees (count, tags after, search)" "$(cat "$T/pg.bulk")" "$(cat "$T/sqlite.bulk")"
same "the hostile input changed nothing: 7 files, tags and file_tags whole" \
	"$(pg_sql "SELECT count(*) FROM files"), $(pg_sql "SELECT count(*) > 10 FROM tags"), $(pg_sql "SELECT count(*) > 10 FROM file_tags")" \
	"7, t, t"
dgfsd_stop "dgfsd on PostgreSQL stops cleanly"
finish
