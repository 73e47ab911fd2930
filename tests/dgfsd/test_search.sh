#!/usr/bin/env bash
# Search and the graph end to end (docs/SEARCH.md): files uploaded with
# curl, auto-tagged by a stand-in dgfs-tagger (a script here printing the
# real one's JSON: type=text and the file's words as its text, already cut
# into words as ICU would cut them), user tags and an implication set
# through the tags API (branch tags), then GET /search: free words ranked
# by bm25, NOT, implied tags, comparisons, the size pseudo-tag, a Chinese
# query cut by ICU, paging with "next"; a bad query's 400 and position;
# a prefix key's narrower view; bulk tagging (POST /search) and its scope;
# GET /graph from a file and from a tag; related files; dgfs search.
#   tests/dgfsd/test_search.sh BUILD_DIR      (as root)
# On PostgreSQL metadata: DGFS_TEST_META=pg (tests/dgfsd/test_search_pg.sh).
# expect-checks: 38
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"
. tests/dgfsd/meta_backend.sh

cat >"$T/tagger" <<'PY'
#!/usr/bin/python3
import json, sys
data = open(sys.argv[1], 'rb').read()
text = data.decode('utf-8', 'replace') if not data.startswith(b'\xff') else ''
tags = [{"name": "type", "value": "text" if text else "binary"}]
json.dump({"tags": tags, "lang": None, "terms": {}, "text": text}, sys.stdout)
PY
chmod 755 "$T/tagger" "$T"
check "dgfsd starts with the stand-in tagger" \
	dgfsd_start --tagger "$T/tagger" --tag-timeout 10 --access-log off || finish

put() { printf '%s' "$2" >"$T/up" && n curl -sf -o /dev/null -T "$T/up" "$URL/files/$1"; }
put docs/a.txt "the quick brown fox jumps"
put docs/b.txt "a lazy dog sleeps all day"
put docs/c.txt "quick quick quick fox"
put zh/d.txt "我们 在 中文 搜索 引擎 里"
put priv/f.txt "secret fox"
{ printf '\xff'; head -c $((2 * 1024 * 1024)) /dev/zero; } >"$T/big"
n curl -sf -o /dev/null -T "$T/big" "$URL/files/pics/e.bin"
tagged() { n curl -sf "$URL/files/$1?tags" | grep -q '"type"'; }
all_tagged() {
	local f
	for f in docs/a.txt docs/b.txt docs/c.txt zh/d.txt priv/f.txt pics/e.bin; do
		tagged "$f" || return 1
	done
}
check "all six files auto-tagged" wait_for 60 all_tagged

addtags() { n curl -sf -o /dev/null -H 'Content-Type: application/json' --data "$2" "$URL/files/$1?tags"; }
addtags docs/a.txt '{"add": ["cat", "year=2021"]}'
addtags docs/b.txt '{"add": ["year=2019", "animal"]}'
addtags pics/e.bin '{"add": ["year=2023"]}'
addtags priv/f.txt '{"add": ["cat"]}'
n curl -sf -o /dev/null --data '{"tag": "cat", "implies": "animal"}' "$URL/tags/implies"

# kcurl ARGS...: curl with the admin key, or with $K when set (-q: no ~/.curlrc).
kcurl() {
	if [[ -n ${K:-} ]]; then
		ip netns exec "$NS" curl -q -H "Authorization: Bearer $K" "$@"
	else
		n curl "$@"
	fi
}
# search Q [CURL ARGS...]: the paths found, one a line, in ranked order.
search() {
	local q=$1
	shift
	kcurl -sf -G "$@" --data-urlencode "q=$q" "$URL/search" |
		python3 -c 'import json, sys
for f in json.load(sys.stdin)["files"]: print(f["path"])'
}
sorted() { search "$@" | sort | tr '\n' ' '; }

same "fox: three files, the one saying quick fox three times... first by bm25" \
	"$(search 'quick OR fox' | head -1)" "docs/c.txt"
same "fox finds its three files" "$(sorted fox)" "docs/a.txt docs/c.txt priv/f.txt "
same "fox -cat" "$(sorted 'fox -cat')" "docs/c.txt "
same "animal: its own tag and cat's implication" "$(sorted animal)" \
	"docs/a.txt docs/b.txt priv/f.txt "
same "year>=2020" "$(sorted 'year>=2020')" "docs/a.txt pics/e.bin "
same "size>1M (a pseudo-tag)" "$(sorted 'size>1M')" "pics/e.bin "
same "NOT type=text" "$(sorted 'NOT type=text')" "pics/e.bin "
same "a Chinese query cut by ICU: 中文搜索" "$(sorted '中文搜索')" "zh/d.txt "
same "(cat OR dog) year<2022" "$(sorted '(cat OR dog) year<2022')" "docs/a.txt docs/b.txt "
same "Type=TEXT does not match (values keep their case)" "$(sorted 'type=TEXT')" ""
same "Type=text (names fold case)" "$(sorted 'Type=text' | wc -w)" 5

# ---- paging ----
p1=$(n curl -sf -G --data-urlencode 'q=type=*' --data limit=4 "$URL/search")
next=$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["next"])' "$p1")
p2=$(n curl -sf -G --data-urlencode 'q=type=*' --data limit=4 --data-urlencode "after=$next" "$URL/search")
all=$(python3 -c 'import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(len(a["files"]), b["next"], " ".join(sorted(f["path"] for f in a["files"] + b["files"])))' "$p1" "$p2")
same "two pages of 4 give the six files once each, then no next" "$all" \
	"4 None docs/a.txt docs/b.txt docs/c.txt pics/e.bin priv/f.txt zh/d.txt"
same "search results carry tags with their source" \
	"$(n curl -sf -G --data-urlencode 'q=year=2021' "$URL/search" | python3 -c 'import json, sys
print(sorted((t["name"], t["value"], t["source"]) for t in json.load(sys.stdin)["files"][0]["tags"]))')" \
	"[('animal', None, 'implied'), ('cat', None, 'user'), ('type', 'text', 'auto'), ('year', '2021', 'user')]"

# ---- bad queries ----
bad() {
	n curl -s -G -o "$T/bad" -w '%{http_code}' --data-urlencode "q=$1" "$URL/search"
	printf ' '
	python3 -c 'import json, sys; j = json.load(open(sys.argv[1])); print(j["position"], bool(j["error"]))' "$T/bad"
}
same "an unclosed parenthesis: 400 at its position" "$(bad 'fox (cat OR dog')" "400 4 True"
same "!= : 400 at the operator" "$(bad 'year!=2020')" "400 4 True"
same "a comparison with no number: 400 at the value" "$(bad 'size>lots')" "400 5 True"
same "an empty query: 400" "$(bad '')" "400 0 True"
same "no q at all: 400" "$(n curl -s -o /dev/null -w '%{http_code}' "$URL/search")" 400
same "a bad cursor: 400" "$(n curl -s -o /dev/null -w '%{http_code}' "$URL/search?q=fox&after=zzz")" 400

# ---- keys ----
RKEY=$(n "$DGFSD" key add "${META_KEY_ARGS[@]}" --scope read --prefix docs 2>/dev/null)
WKEY=$(n "$DGFSD" key add "${META_KEY_ARGS[@]}" --scope write --prefix docs 2>/dev/null)
same "a read key under docs/ finds only there" "$(K=$RKEY sorted fox)" \
	"docs/a.txt docs/c.txt "
same "a read key may not bulk-tag: 403" "$(K=$RKEY kcurl -s -o /dev/null -w '%{http_code}' \
	--data '{"add": ["x"]}' "$URL/search?q=fox")" 403

# ---- bulk tagging ----
bulk() { kcurl -sf --data "$2" "$URL/search?q=$1"; }
same "bulk add to what fox finds: 3 files" "$(bulk fox '{"add": ["foxy"]}')" '{"files":3}'
same "... foxy finds them" "$(sorted foxy)" "docs/a.txt docs/c.txt priv/f.txt "
same "a prefix write key bulk-removes only under docs/" \
	"$(K=$WKEY bulk foxy '{"remove": ["foxy"]}')" '{"files":2}'
same "... priv/f.txt keeps foxy" "$(sorted foxy)" "priv/f.txt "
same "a bad tag in a bulk change: 400, nothing changed" \
	"$(n curl -s -o /dev/null -w '%{http_code}' --data '{"add": ["ok", "bad name"]}' \
	"$URL/search?q=fox") $(sorted ok)" "400 "

# ---- graph ----
graph() {
	n curl -s -G "$URL/graph" "$@" | tee -a "$T/graph.log" | python3 -c 'import json, sys
g = json.load(sys.stdin)
ids = {n["id"] for n in g["nodes"]}
ok = all(e["source"] in ids and e["target"] in ids and e["weight"] > 0 for e in g["edges"])
tt = any(e["source"].startswith("tag:") and e["target"].startswith("tag:") for e in g["edges"])
print(" ".join(sorted(ids)), "edges-ok" if ok else "edges-bad", "tag-tag" if tt else "")'
}
shows "graph from docs/a.txt, depth 2: its tags and priv/f.txt through cat" \
	'file:docs/a.txt.* file:priv/f.txt.*tag:cat.* edges-ok tag-tag' \
	graph --data-urlencode file=docs/a.txt --data depth=2
same "... each edge once" "$(python3 -c 'import json, sys
g = json.loads(sys.stdin.read().splitlines()[-1])
p = [frozenset((e["source"], e["target"])) for e in g["edges"]]
print(len(p) == len(set(p)), len(p))' <"$T/graph.log")" "True 11"
same "graph from tag cat, depth 1: the two cat files" \
	"$(graph --data-urlencode tag=cat --data depth=1)" "file:docs/a.txt file:priv/f.txt tag:cat edges-ok "
same "graph limit=2 has two nodes" \
	"$(graph --data-urlencode tag=type=text --data limit=2)" "file:docs/a.txt tag:type=text edges-ok "
same "graph of a file outside a prefix key: 403" "$(K=$RKEY kcurl -s -o /dev/null \
	-w '%{http_code}' "$URL/graph?file=priv/f.txt")" 403
same "related to docs/a.txt: priv/f.txt (cat is rare; type=text is not)" \
	"$(n curl -sf "$URL/files/docs/a.txt?related" | python3 -c 'import json, sys
print([f["path"] for f in json.load(sys.stdin)["files"]])')" "['priv/f.txt']"

# ---- the client ----
shows "dgfs search prints ranked paths with tags" '^ *[0-9.]+  docs/c.txt  ' \
	n "$DGFS" --server "$URL" search quick OR fox
refuse "dgfs search shows a bad query's position" 10 '\^' n "$DGFS" --server "$URL" search 'a (b'

dgfsd_stop
[[ $DGFS_FAILED == 0 ]] || cat "$T/graph.log"
finish
