# shellcheck shell=bash
# Shared helpers for dgfs's shell tests. Each check prints one line,
# "PASS: name" or "FAIL: name"; tests/run-all.sh counts them.

DGFS_FAILED=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; DGFS_FAILED=1; }

# check NAME CMD...: CMD must succeed.
check() {
	local name=$1; shift
	if "$@"; then pass "$name"; else fail "$name"; fi
}

# refuse NAME STATUS PATTERN CMD...: CMD must exit with STATUS and say
# something matching the extended regex PATTERN on stderr.
refuse() {
	local name=$1 want=$2 pattern=$3 err rc
	shift 3
	err=$("$@" 2>&1 >/dev/null) && rc=0 || rc=$?
	if [[ $rc == "$want" ]] && grep -Eq -- "$pattern" <<<"$err"; then
		pass "$name"
	else
		fail "$name (exit $rc, said: ${err:-nothing})"
	fi
}

# same NAME A B: two strings must be equal.
same() {
	if [[ $2 == "$3" ]]; then pass "$1"; else fail "$1 (got '$2', want '$3')"; fi
}

finish() { exit "$DGFS_FAILED"; }
