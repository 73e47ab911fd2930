# shellcheck shell=bash
# Shared helpers for dgfs's shell tests. Each check prints one line,
# "PASS: name" or "FAIL: name"; tests/run-all.sh counts them. Every check
# helper also returns its verdict (0 pass, 1 fail), so that
# `check "x starts" start_x || finish` stops a test whose premise failed.

DGFS_FAILED=0

pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; DGFS_FAILED=1; return 1; }

# check NAME CMD...: CMD must succeed.
check() {
	local name=$1
	shift
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

# shows NAME PATTERN CMD... / lacks NAME PATTERN CMD...: CMD must succeed,
# and its standard output must (shows) or must not (lacks) have a line
# matching the extended regex PATTERN. The output is captured before it is
# searched, so a tool that failed, or printed nothing because it failed,
# fails the check instead of passing a negative one (`! cmd | grep`).
shows() { _output_match "$1" yes "$2" "${@:3}"; }
lacks() { _output_match "$1" no "$2" "${@:3}"; }
_output_match() {
	local name=$1 want=$2 pattern=$3 out rc
	shift 3
	out=$("$@") && rc=0 || rc=$?
	if [[ $rc != 0 ]]; then
		fail "$name ($1 exited $rc)"
	elif grep -Eq -- "$pattern" <<<"$out"; then
		if [[ $want == yes ]]; then pass "$name"; else
			fail "$name (found: $(grep -Em1 -- "$pattern" <<<"$out"))"; fi
	else
		if [[ $want == no ]]; then pass "$name"; else
			fail "$name (not in: ${out:0:300})"; fi
	fi
}

# wait_for SECS CMD...: until CMD succeeds, for up to SECS seconds; the
# status says whether it did. For waiting on an event instead of sleeping.
wait_for() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# kernel_log_mark: the timestamp of the kernel's last message (-1 if none);
# kernel_log_since MARK: the messages after it. A timestamp, not a count of
# lines, so that a wrapping ring buffer cannot shift the mark.
. "${BASH_SOURCE[0]%/*}/kernel_log.sh"
kernel_log_mark() {
	local log
	log=$(dmesg) || return 1
	awk -F'[][]' 'END { printf "%.6f\n", ($2 == "" ? -1 : $2) }' <<<"$log"
}
kernel_log_since() {
	local log
	log=$(dmesg) || return 1
	awk -F'[][]' -v mark="$1" '$2 + 0 > mark + 0' <<<"$log"
}

# kernel_watch: from now until finish, the host kernel's log must stay free
# of what tests/kernel_log.sh calls trouble (for host tests that load BPF
# programs or make devices: the kernel they run on is the host's).
kernel_watch() {
	DGFS_KERNEL_MARK=$(kernel_log_mark) || { fail "kernel log readable"; return 1; }
}

# kernel_clean: PASS/FAIL for the kernel messages since kernel_watch.
kernel_clean() {
	local log bad
	log=$(kernel_log_since "$DGFS_KERNEL_MARK") || { fail "kernel log readable"; return 1; }
	bad=$(kernel_trouble <<<"$log")
	if [[ -z $bad ]]; then
		pass "host dmesg clean after $(basename "$0")"
	else
		fail "host dmesg clean after $(basename "$0"):"$'\n'"$bad"
	fi
}

finish() {
	[[ -z ${DGFS_KERNEL_MARK:-} ]] || kernel_clean
	exit "$DGFS_FAILED"
}
