#!/usr/bin/env bash
# Automatic tags with replication (docs/CLUSTER.md, "Automatic tagging
# across hosts"; docs/TAGS.md): four dgfsds on one PostgreSQL database of
# the test's own, R=2, so each host holds about half of the chunks. The
# hosts share the tagging queue; whichever takes a job tags the file with
# dgfs-tagger (next to dgfsd), fetching the chunks it lacks from their
# replicas. Every file gets its type tag, every host does some of the
# work and no job fails; text files uploaded through one host show the
# same tags on every host and are found by tag, word and phrase searches
# through the others.
#   tests/dgfsd/test_cluster_tags.sh BUILD_DIR      (as root)
# expect-checks: 21
set -u
cd "$(dirname "$0")/../.."
. tests/dgfsd/cluster.sh
dgfsd_setup "${1:-build}"
check "dgfs-tagger is built ($BUILD/dgfs-tagger, make userspace)" test -x "$BUILD/dgfs-tagger" || finish

NFILES=${NFILES:-16}
HB=1 DOWN=4
# Seconds within which every file is tagged (a loaded machine, ASan dgfsd).
BOUND=${BOUND:-180}

check "a PostgreSQL server of the test's own starts" pg_start || finish
cluster_dirs 4 --replicas 2 --tag-workers 2
check "h1 starts" dgfsd_start "${COMMON[@]}" --host-id h1 || finish
for h in h2 h3 h4; do
	check "$h starts" start_other "$h" "${PORT[$h]}" "${SDIR[$h]}" --host-id "$h" || finish
done
all_up() { [[ $(ups 8080) == "h1:1 h2:1 h3:1 h4:1" ]]; }
check "every host sees four hosts up" wait_for 30 all_up
sleep $((HB * 3))	# every member list refreshed

# NFILES random files of 1.6 to 2.2 MB (most of several chunks), through h1..h4.
make_files
same "all $NFILES uploads through h1..h4 answer 201" "$(upload_all 4)" "$NFILES"
check "... at least half of them of several chunks, each chunk on 2 of the 4 hosts" \
	test "$(pg_sql "SELECT count(*) FROM files WHERE nchunks >= 2")" -ge $((NFILES / 2))

# Automatic tags (docs/TAGS.md) with replication: the hosts share the
# queue, and whichever takes a job tags the file (dgfs-tagger, next to
# dgfsd), fetching the chunks it lacks from their replicas; the tags are
# in the shared database, so every host shows and searches them.
auto_typed() {
	pg_sql "SELECT count(*) FROM files f WHERE EXISTS (SELECT 1 FROM file_tags ft JOIN tags t ON t.id = ft.tag_id WHERE ft.file_id = f.id AND ft.source = 0 AND t.name = 'type' AND t.value = 'binary')"
}
all_typed() { [[ $(auto_typed) == "$NFILES" ]]; }
check "within $BOUND s each of the $NFILES files has its automatic tag type=binary" wait_for "$BOUND" all_typed
# tag_jobs PORT: "DONE FAILED" of that host's tagging workers.
tag_jobs() {
	n curl -sf "http://127.0.0.1:$1/metrics" |
		awk '$1 == "dgfsd_tag_jobs_total" { d = $2 } $1 == "dgfsd_tag_jobs_failed_total" { f = $2 } END { print d + 0, f + 0 }'
}
jobs=() done=0 failed=0 each=0
for i in 1 2 3 4; do
	read -r d f < <(tag_jobs $((8079 + i)))
	jobs+=("h$i:$d") done=$((done + d)) failed=$((failed + f))
	((d > 0)) && each=$((each + 1))
done
# A job is claimed across hosts (meta_tags_pg.c): each file tagged once.
check "... tagged by all four hosts (${jobs[*]}), each file once: $done jobs for $NFILES, none failed" \
	test "$each/$failed" = "4/0" -a "$done" -eq "$NFILES"
mkdir -p "$T/text"
printf 'The quokka is a small wallaby of Rottnest Island. Quokka families sleep by day.\n%.0s' {1..40} >"$T/text/a.txt"
printf 'Lighthouse keepers logged every storm along the granite coast.\n%.0s' {1..40} >"$T/text/b.txt"
printf 'Sourdough bread rises slowly; the baker feeds the starter each morning.\n%.0s' {1..40} >"$T/text/c.txt"
codes=
for f in a:8081 b:8082 c:8083; do
	codes+="$(n curl -s -o /dev/null -w '%{http_code}' -T "$T/text/${f%:*}.txt" "http://127.0.0.1:${f#*:}/files/t/${f%:*}.txt") "
done
same "three text files uploaded through h2, h3, h4 -> 201" "$codes" "201 201 201 "
# tags_on PORT PATH: the file's tags as that host lists them, one a line.
tags_on() {
	n curl -sf "http://127.0.0.1:$1/files/$2?tags" | python3 -c 'import json, sys
for t in json.load(sys.stdin)["tags"]:
    print(t["name"] + ("" if t["value"] is None else "=" + t["value"]), t["source"])' | sort
}
# texts_tagged: each text file's tags, the same on every host, with type=text and lang=en.
texts_tagged() {
	local f i one
	for f in a b c; do
		one=$(tags_on 8080 "t/$f.txt")
		grep -qx 'type=text auto' <<<"$one" && grep -qx 'lang=en auto' <<<"$one" || return 1
		for i in 2 3 4; do [[ $(tags_on $((8079 + i)) "t/$f.txt") == "$one" ]] || return 1; done
	done
}
check "within 60 s each has type=text and lang=en (auto), the same tags seen from each of the four hosts" \
	wait_for 60 texts_tagged
# search PORT QUERY: the paths GET /search finds through that host.
search() {
	n curl -sf -G --data-urlencode "q=$2" "http://127.0.0.1:$1/search" | python3 -c 'import json, sys
print(" ".join(sorted(f["path"] for f in json.load(sys.stdin)["files"])))'
}
same "a tag search through h1 (type=text) finds the three, uploaded through other hosts" \
	"$(search 8080 type=text)" "t/a.txt t/b.txt t/c.txt"
same "... a word of one of them (quokka) through h4 finds it alone" "$(search 8083 quokka)" "t/a.txt"
same "... and a phrase of another (\"granite coast\") through h3 finds it" \
	"$(search 8082 '"granite coast"')" "t/b.txt"

for h in h2 h3 h4; do
	kill "${PID[$h]}" && wait "${PID[$h]}"
	same "$h stops cleanly (exit 0)" "$?" 0
	PID[$h]=
done
dgfsd_stop "h1 stops cleanly"
finish
