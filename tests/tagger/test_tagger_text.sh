#!/usr/bin/env bash
# dgfs-tagger on text, Markdown, HTML and PDF, and on hostile input: the
# tags, language, terms and text it prints, its bounds, and its seccomp
# filter (docs/TAGS.md).
#   tests/tagger/test_tagger_text.sh [BUILD_DIR]
# expect-checks: 67
set -uo pipefail
cd "$(dirname "$0")/../.."
. tests/lib.sh
build=${1:-build}
T=$build/dgfs-tagger
PY=/usr/bin/python3	# Debian's, which has python3-icu
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

check "dgfs-tagger is built" test -x "$T" || finish

# run NAME FILE DGFS_NAME [OPTIONS...]: the tagger's JSON in $dir/NAME.json,
# its stderr in $dir/NAME.err, its status in $dir/NAME.rc.
run() {
	local name=$1 file=$2 dname=$3 rc
	shift 3
	"$T" "$@" "$file" "$dname" >"$dir/$name.json" 2>"$dir/$name.err" && rc=0 || rc=$?
	echo "$rc" >"$dir/$name.rc"
}
# q NAME EXPR: EXPR (Python, over the JSON as d) on NAME's output.
q() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' \
	"$dir/$1.json" "$2"; }
has_tag() { [[ $(q "$1" "any(t['name'] == '$2' and t['value'] == '$3' for t in d['tags'])") == True ]]; }
ok_run() { [[ $(cat "$dir/$1.rc") == 0 ]] && [[ $(wc -l <"$dir/$1.json") == 1 ]] && q "$1" 'len(d)' >/dev/null; }

# ---- English text ---------------------------------------------------------
cat >"$dir/en.txt" <<'TXT'
The children were running along the river while their dogs kept running after
the ducks. Running is what the dogs like best, and the ducks do not like it at all.
TXT
run en "$dir/en.txt" notes/river.txt
check "english: exit 0, one line of JSON" ok_run en
same "english: lang" "$(q en "d['lang']")" en
check "english: lang=en tag" has_tag en lang en
check "english: type=text" has_tag en type text
check "english: mime=text/plain" has_tag en mime text/plain
check "english: ext=txt from the name" has_tag en ext txt
same "english: 'running' counted as the stem 'run'" "$(q en "d['terms'].get('run')")" 3
same "english: 'dogs' as 'dog'" "$(q en "d['terms'].get('dog')")" 2
same "english: stop word 'the' dropped" "$(q en "[t for t in ('the', 'and', 'is', 'not') if t in d['terms']]")" "[]"
same "english: text is the words in order" "$(q en "' '.join(d['text'].split()[:7])")" "The children were running along the river"

# ---- Chinese, Japanese, German, Russian -------------------------------------
printf '中华人民共和国成立于一九四九年。我们喜欢学习中文，北京是中国的首都。\n' >"$dir/zh.txt"
run zh "$dir/zh.txt" zh.txt
check "chinese: exit 0" ok_run zh
same "chinese: lang" "$(q zh "d['lang']")" zh
# ICU's own segmentation through another binding (PyICU), as the expectation.
icu_words=$($PY -c '
import icu, sys
s = open(sys.argv[1], encoding="utf-8").read()
bi = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
bi.setText(s)
words, prev = [], 0
for end in bi:
    if bi.getRuleStatus() >= 100:	# UBRK_WORD_NUMBER and up: not spaces or punctuation
        words.append(s[prev:end])
    prev = end
print(" ".join(words))' "$dir/zh.txt")
same "chinese: text is ICU's segmentation (PyICU)" "$(q zh "d['text']")" "$icu_words"
same "chinese: 中华人民共和国 split into words" \
	"$(q zh "[w for w in d['text'].split() if w in ('中华', '人民', '共和国', '中华人民共和国')]")" \
	"['中华', '人民', '共和国']"
same "chinese: 喜欢 and 学习 are terms" "$(q zh "(d['terms'].get('喜欢'), d['terms'].get('学习'))")" "(1, 1)"
same "chinese: stop words 的 and 我们 dropped" "$(q zh "[t for t in ('的', '我们', '是') if t in d['terms']]")" "[]"

printf '私は毎日日本語を勉強しています。東京はとても大きい都市です。\n' >"$dir/ja.txt"
run ja "$dir/ja.txt" ja.txt
same "japanese: lang" "$(q ja "d['lang']")" ja
same "japanese: 東京 is a word" "$(q ja "'東京' in d['text'].split()")" True
printf 'Die Kinder spielen im Garten, und der Hund läuft mit ihnen über die Wiese.\n' >"$dir/de.txt"
run de "$dir/de.txt" de.txt
same "german: lang by stop words" "$(q de "d['lang']")" de
same "german: stemmed (spielen -> spiel)" "$(q de "'spiel' in d['terms']")" True
printf 'Мы читаем книги и пишем письма, потому что это нам нравится.\n' >"$dir/ru.txt"
run ru "$dir/ru.txt" ru.txt
same "russian: lang" "$(q ru "d['lang']")" ru

# ---- HTML and Markdown ------------------------------------------------------
cat >"$dir/page.html" <<'HTML'
<!DOCTYPE html><html><head><title>Gardening notes</title>
<style>body { color: crimson; }</style><script>var secretvariable = "hidden";</script></head>
<body><h1>Tomatoes</h1><p class="introduction">Tomatoes need <b>sun</b>light and
<a href="http://example.com/hyperlinkpath">water</a>.</p><div>Pruning&amp;staking&nbsp;help</div></body></html>
HTML
run html "$dir/page.html" web/page.html
check "html: exit 0" ok_run html
check "html: mime=text/html" has_tag html mime text/html
same "html: title and body words" "$(q html "d['text']")" \
	"Gardening notes Tomatoes Tomatoes need sunlight and water Pruning staking help"
same "html: no markup, script, style or attribute in the terms" \
	"$(q html "[t for t in d['terms'] if t in ('secretvari', 'secretvariable', 'crimson', 'href', 'introduct', 'class', 'html', 'nbsp', 'amp', 'hyperlinkpath')]")" "[]"

cat >"$dir/notes.md" <<'MD'
# Cooking with lentils

Lentils are **cheap** and _nutritious_. Soak the lentils, then boil them.

- one cup of lentils
MD
run md "$dir/notes.md" notes.md
check "markdown: exit 0" ok_run md
same "markdown: words without markup" "$(q md "d['text']")" \
	"Cooking with lentils Lentils are cheap and nutritious Soak the lentils then boil them one cup of lentils"
same "markdown: lentil counted 4 times" "$(q md "d['terms'].get('lentil')")" 4

# Markdown's link and image targets are no words (docs/TAGS.md): link text
# and image descriptions stay; targets, autolinks, reference definitions
# and raw HTML go. libmagic calls this one text/html (its inline <a>): the
# name decides that it is Markdown.
cp "$dir/notes.md" "$dir/links.md"
cat >>"$dir/links.md" <<'MD'
See [the lentil guide](https://recipes.example.com/lentilguide?src=notes) and
![a bowl of lentils](images/lentilbowl.png "Bowl"), or <https://autolink.example.org/pathword>.
Ask <mailto:cook@example.net> about <a href="http://htmlhref.example/hrefword">the shop</a>.
Read [the reference][r1] too.

[r1]: https://refdef.example.com/refpath "Reference title"
MD
run mdlinks "$dir/links.md" notes/links.md
check "markdown with links: exit 0" ok_run mdlinks
same "markdown with links: the text people read, no target" "$(q mdlinks "d['text']")" \
	"Cooking with lentils Lentils are cheap and nutritious Soak the lentils then boil them one cup of lentils See the lentil guide and a bowl of lentils or Ask about the shop Read the reference too"
same "markdown with links: no part of a URL among the terms" \
	"$(q mdlinks "sorted(t for t in d['terms'] if any(w in t for w in ('http', 'example', 'lentilguid', 'lentilbowl', 'png', 'src', 'pathword', 'mailto', 'hrefword', 'href', 'refdef', 'refpath', 'titl', 'imag')))")" "[]"
run mdlinks_txt "$dir/links.md" notes/links.txt
check "the same bytes named .txt are not Markdown: their URLs stay words" \
	bash -c "[[ \$($PY -c 'import json, sys; print(\"lentilguid\" in json.load(open(sys.argv[1]))[\"terms\"])' $dir/mdlinks_txt.json) == True ]]"

# ---- PDF --------------------------------------------------------------------
tests/tagger/mkpdf.py "$dir/doc.pdf" "Quarterly report on penguin migrations" \
	"Penguins migrated northwards during the winter"
run pdf "$dir/doc.pdf" reports/doc.pdf
check "pdf: exit 0" ok_run pdf
check "pdf: mime=application/pdf" has_tag pdf mime application/pdf
check "pdf: type=document" has_tag pdf type document
same "pdf: its words" "$(q pdf "d['text']")" \
	"Quarterly report on penguin migrations Penguins migrated northwards during the winter"
same "pdf: penguin as a term" "$(q pdf "d['terms'].get('penguin')")" 2

# ---- hostile input ----------------------------------------------------------
head -c 1000000 /dev/urandom >"$dir/random.txt"
run random "$dir/random.txt" random.txt
check "binary named .txt: exit 0" ok_run random
check "binary named .txt: type=binary (content, not name)" has_tag random type binary
same "binary named .txt: no words" "$(q random "(d['text'], d['terms'], d['lang'])")" "('', {}, None)"

# A program named .txt, a gzip archive, an empty file.
cp "$(type -P true)" "$dir/program.txt"
run program "$dir/program.txt" program.txt
same "a program named .txt: type=binary, no words" "$(q program "([t['value'] for t in d['tags'] if t['name'] == 'type'], d['text'])")" "(['binary'], '')"
gzip -c "$dir/en.txt" >"$dir/en.gz"
run gz "$dir/en.gz" en.gz
check "gzip: type=archive" has_tag gz type archive
: >"$dir/empty.txt"
run empty "$dir/empty.txt" empty.txt
same "empty file: exit 0, only ext=" "$(ok_run empty && q empty "d['tags']")" "[{'name': 'ext', 'value': 'txt'}]"

# Text that turns into binary past what libmagic looks at (1 MiB): the
# text before it, and no garbage words from after it.
for i in $(seq 30000); do echo "plain honest words about gardens and rivers $i"; done >"$dir/mixed.txt"
head -c 2000000 /dev/urandom >>"$dir/mixed.txt"
run mixed "$dir/mixed.txt" mixed.txt --max-text 8000000
check "text then binary: exit 0" ok_run mixed
same "text then binary: only the text's words" \
	"$(q mixed "sorted(set(w for w in d['text'].split() if not w.isdigit()))[:20]")" \
	"['about', 'and', 'gardens', 'honest', 'plain', 'rivers', 'words']"
same "text then binary: all of the text" "$(q mixed "d['text'].split()[-1]")" 30000

# 100 MiB of text: the cap ends the reading, so it costs what a 2 MiB file does.
$PY -c '
import sys
line = "alpha beta gamma delta running jumping swimming\n"
with open(sys.argv[1], "w") as f:
    f.write(line * (int(sys.argv[2]) // len(line)))' "$dir/big.txt" $((100 << 20))
head -c $((2 << 20)) "$dir/big.txt" >"$dir/big2m.txt"
# cpu FILE NAME: user+sys seconds and peak RSS (KiB) of one run.
cpu() { /usr/bin/time -f '%U %S %M' -o "$dir/$2.time" "$T" "$1" "$2" >"$dir/$2.json" 2>/dev/null &&
	echo 0 >"$dir/$2.rc"; awk '{ print $1 + $2, $3 }' "$dir/$2.time"; }
read -r small_cpu _ < <(cpu "$dir/big2m.txt" big2m)
read -r big_cpu big_rss < <(cpu "$dir/big.txt" big)
check "100 MiB text: exit 0" ok_run big
check "100 MiB text: CPU ${big_cpu}s within 1.5x the 2 MiB file's ${small_cpu}s + 0.1s" \
	awk -v b="$big_cpu" -v s="$small_cpu" 'BEGIN { exit !(b <= 1.5 * s + 0.1) }'
check "100 MiB text: peak RSS ${big_rss} KiB under 150 MiB" test "$big_rss" -lt $((150 << 10))
same "100 MiB text: text capped at 1 MiB" "$(q big "len(d['text'].encode()) <= 1 << 20 and len(d['text']) > 1000000")" True
run capped "$dir/big.txt" big.txt --max-text 1000
same "--max-text 1000: text at most 1000 bytes, whole words" \
	"$(q capped "(len(d['text'].encode()) <= 1000, set(d['text'].split()) <= {'alpha', 'beta', 'gamma', 'delta', 'running', 'jumping', 'swimming'})")" \
	"(True, True)"
check "--max-text 1000: whole output under 8 KiB" test "$(wc -c <"$dir/capped.json")" -lt 8192

# A PDF that is not one: a PDF header then junk, and a PDF cut short.
{ printf '%%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\n'; head -c 50000 /dev/urandom; } >"$dir/junk.pdf"
run junk "$dir/junk.pdf" junk.pdf
check "junk PDF: exit 0 with type tags" has_tag junk mime application/pdf
same "junk PDF: no words" "$(q junk "(d['text'], d['terms'])")" "('', {})"
check "junk PDF: an error on stderr" grep -q 'dgfs-tagger: pdf' "$dir/junk.err"
head -c 400 "$dir/doc.pdf" >"$dir/cut.pdf"
run cut "$dir/cut.pdf" cut.pdf
check "truncated PDF: exit 0, one line of JSON" ok_run cut
printf 'just some words in a file named like a pdf\n' >"$dir/fake.pdf"
run fake "$dir/fake.pdf" fake.pdf
check "text named .pdf: judged text/plain by content" has_tag fake mime text/plain

# HTML nested 200000 deep: libxml2's depth limit, no crash, the words kept.
$PY -c '
import sys
n = 200000
open(sys.argv[1], "w").write("<html><body>" + "<div>" * n + "deep words" + "</div>" * n + "</body></html>")' "$dir/deep.html"
run deep "$dir/deep.html" deep.html
same "html nested 200000 deep: exit 0, its words" "$(ok_run deep && q deep "d['text']")" "deep words"

# ---- arguments --------------------------------------------------------------
refuse "no NAME: usage" 2 'usage' "$T" "$dir/en.txt"
refuse "missing file: exit 1" 1 'No such file' "$T" "$dir/nonexistent" x.txt
refuse "directory: exit 1" 1 'not a regular file' "$T" "$dir" x.txt
refuse "--max-text 0 refused" 2 'max-text' "$T" --max-text 0 "$dir/en.txt" x.txt

# ---- seccomp ----------------------------------------------------------------
# The test hook prints its rlimits, tries to open a file (refused:
# EACCES), then socket(2):
# the filter kills the process there with SIGSYS (128 + 31).
# (The subshell's own stderr, where bash reports the signal, is not the test's.)
rc=$( { "$T" --selftest-seccomp "$dir/en.txt" en.txt >/dev/null 2>"$dir/selftest.err"; echo $?; } 2>/dev/null)
same "seccomp: killed by SIGSYS at socket(2)" "$rc" 159
same "rlimits: CPU 60 s, address space 2 GiB" \
	"$(grep -oE 'cpu [0-9]+ as [0-9]+' "$dir/selftest.err")" "cpu 60 as $((2 << 30))"
check "seccomp: open(2) refused with EACCES" grep -q 'selftest: open: Permission denied' "$dir/selftest.err"
lacks "seccomp: nothing after the forbidden call ran" 'socket|exec' cat "$dir/selftest.err"

finish
