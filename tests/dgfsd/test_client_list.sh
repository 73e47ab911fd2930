#!/usr/bin/env bash
# dgfs ls and dgfs search, page after page (docs/CLIENT.md; userspace/client
# remote_list()), against a fake dgfsd in the test's namespace that serves
# two pages of each and logs every request: the second request carries
# the first page's "next" escaped as &after=, --json makes one array of
# both pages, search --limit stops asking once it has shown enough, a
# page that is not what docs/HTTP.md says is exit 12, a bad query's 400
# is shown with its caret. A global option's bad value (-j 0) is refused
# by every command with its one line and exit 2: no usage, no "unknown
# option" after it.
#   tests/dgfsd/test_client_list.sh BUILD_DIR      (as root)
# expect-checks: 16
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

: >"$T/requests"
# Not through n(): $! must be python itself (ip netns exec execs it).
ip netns exec "$NS" python3 -c '
import json, sys, http.server
log = sys.argv[1]
def entry(p, score=None):
    e = {"path": p, "size": 5, "mtime": 0}
    if score is not None:
        e["score"], e["tags"] = score, [{"name": "type", "value": "text"}]
    return e
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        open(log, "a").write(self.path + "\n")
        code, second = 200, "&after=" in self.path
        if self.path.startswith("/files/?prefix=bad"):
            body = {"files": [{"path": "bad"}], "next": None}
        elif self.path.startswith("/files/"):
            body = ({"files": [entry("d/y")], "next": None} if second else
                    {"files": [entry("d/x y")], "next": "d/x y"})
        elif self.path.startswith("/search?q=bad"):
            code, body = 400, {"error": "unexpected word", "position": 2}
        else:
            body = ({"files": [entry("d/y", 1.5)], "next": None} if second else
                    {"files": [entry("d/x y", 2.5), entry("d/z", 2)], "next": "n1"})
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", 8080), H).serve_forever()
' "$T/requests" &
FAKE_PID=$!
wait_for 5 n python3 -c 'import socket; socket.create_connection(("127.0.0.1", 8080))' \
	2>/dev/null || { fail "the fake dgfsd answers"; finish; }
D() { n "$DGFS" --server "$URL" "$@"; }
asked() { : >"$T/requests"; "$@"; }

asked D ls d/ >"$T/out" && rc=0 || rc=$?
same "ls over two pages: exit 0, both pages' files" \
	"$rc $(sed -E 's/^ *[0-9]+  [^ ]+  //' "$T/out" | tr '\n' '|')" "0 d/x y|d/y|"
same "... as SIZE  MTIME  PATH" "$(head -1 "$T/out")" "           5  1970-01-01T00:00:00Z  d/x y"
same "... the second request carries its next, escaped" \
	"$(tr '\n' ' ' <"$T/requests")" "/files/?prefix=d/&limit=1000 /files/?prefix=d/&limit=1000&after=d/x%20y "
same "ls --json: one array of both pages" \
	"$(D ls --json d/ | python3 -c 'import json, sys; print([f["path"] for f in json.load(sys.stdin)])')" \
	"['d/x y', 'd/y']"
refuse "a page without sizes: exit 12" 12 'dgfs ls: the listing is not \{"files"' D ls bad

asked D search type=text >"$T/out" && rc=0 || rc=$?
same "search over two pages: exit 0, three files" "$rc $(wc -l <"$T/out")" "0 3"
same "... scores, paths and tags" "$(head -1 "$T/out")" "   2.500  d/x y  type=text"
same "... two requests, the second after n1" "$(tail -1 "$T/requests")" \
	"/search?q=type%3Dtext&limit=200&after=n1"
asked D search -n 2 type=text >"$T/out" && rc=0 || rc=$?
same "search -n 2: exit 0, two files" "$rc $(wc -l <"$T/out")" "0 2"
same "... and no second page asked for" "$(wc -l <"$T/requests")" 1
same "search --json: one array of both pages" \
	"$(D search --json type=text | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')" 3
refuse "a bad query: exit 10, a caret under its position" 10 '^    \^$' D search 'bad c'
kill "$FAKE_PID"; wait "$FAKE_PID" 2>/dev/null
for cmd in "ls" "stat d/x" "search q" "put $T/requests d/x"; do
	read -ra a <<<"$cmd"	# the command and its operands
	err=$("$DGFS" "${a[0]}" -j 0 "${a[@]:1}" 2>&1 >/dev/null; echo "exit $?")
	same "dgfs ${a[0]} -j 0: its one line, exit 2" "$err" "dgfs ${a[0]}: bad -j \"0\" (1 .. 256)"$'\n'"exit 2"
done
finish
