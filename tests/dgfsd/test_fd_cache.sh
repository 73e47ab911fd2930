#!/usr/bin/env bash
# The cache of open chunk files for small downloads (userspace/dgfsd/
# fdcache.c): a small GET is served from a chunk file dgfsd keeps open, and
# a file deleted, replaced or repaired is never served from, nor kept open
# by, the cache: the store closes the cached fd of every chunk file it
# removes or renames a new file over, and a cached fd whose file another
# process removed (dgfsd scrub --repair) is dropped on its next use.
# Checked in /proc/PID/fd.
#   tests/dgfsd/test_fd_cache.sh BUILD_DIR      (as root)
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
. tests/dgfsd/lib.sh
dgfsd_setup "${1:-build}"

code() {
	: >"$T/body"
	n curl -sS -m 30 -o "$T/body" -w '%{http_code}' "$@"
}
# How many of dgfsd's fds are open on chunk $1 (any inode, removed or not).
open_on() { ls -l "/proc/$DGFSD_PID/fd" 2>/dev/null | grep -c "chunks/$1"; }
# How many are open on a removed file of chunk $1.
open_removed() { ls -l "/proc/$DGFSD_PID/fd" 2>/dev/null | grep "chunks/$1" | grep -c deleted; }
# Whether dgfsd's fd on chunk $1 is the inode of the file there now.
open_on_current() {
	local f ino
	ino=$(stat -c %i "$STATE/chunks/$1") || return 1
	for f in /proc/"$DGFSD_PID"/fd/*; do
		[[ $(readlink "$f") == *"chunks/$1"* ]] || continue
		[[ $(stat -L -c %i "$f") == "$ino" ]] || return 1
	done
}

check "dgfsd starts" dgfsd_start || finish
for v in a1 a2 b1; do head -c 4096 /dev/urandom >"$T/$v"; done
A1=$(sha256sum <"$T/a1" | cut -c1-64) A2=$(sha256sum <"$T/a2" | cut -c1-64)
B1=$(sha256sum <"$T/b1" | cut -c1-64)

# ---- served from an open file -------------------------------------------------------
same "PUT small/a -> 201" "$(code -T "$T/a1" "$URL/files/small/a")" 201
same "GET small/a -> 200" "$(code "$URL/files/small/a")" 200
check "... its bytes" cmp -s "$T/body" "$T/a1"
same "again -> 200" "$(code "$URL/files/small/a")" 200
check "... its bytes" cmp -s "$T/body" "$T/a1"
same "a range of it -> 206" "$(code -r 100-1099 "$URL/files/small/a")" 206
check "... those 1000 bytes" cmp -s "$T/body" <(tail -c +101 "$T/a1" | head -c 1000)
same "HEAD -> 200, no body" "$(code -I "$URL/files/small/a")" 200
same "dgfsd keeps its chunk file open (the cache)" "$(open_on "$A1")" 1

# ---- replaced: the old chunk's file goes, and its fd with it ------------------------------
same "PUT small/a again, other bytes -> 200" "$(code -T "$T/a2" "$URL/files/small/a")" 200
check "the old chunk's file is removed" test ! -e "$STATE/chunks/$A1"
same "... and no fd of dgfsd is left on it" "$(open_on "$A1")" 0
same "GET small/a -> 200" "$(code "$URL/files/small/a")" 200
check "... the new bytes" cmp -s "$T/body" "$T/a2"

# ---- deleted ----------------------------------------------------------------------------
same "DELETE small/a -> 204" "$(code -X DELETE "$URL/files/small/a")" 204
check "its chunk's file is removed" test ! -e "$STATE/chunks/$A2"
same "... and no fd of dgfsd is left on it" "$(open_on "$A2")" 0
same "GET small/a -> 404" "$(code "$URL/files/small/a")" 404
same "PUT small/a with the same bytes again -> 201" "$(code -T "$T/a2" "$URL/files/small/a")" 201
same "GET small/a -> 200" "$(code "$URL/files/small/a")" 200
check "... its bytes" cmp -s "$T/body" "$T/a2"

# ---- repaired: a new file renamed over a damaged one ---------------------------------------
same "PUT small/b -> 201" "$(code -T "$T/b1" "$URL/files/small/b")" 201
same "GET small/b -> 200 (its file now open in the cache)" "$(code "$URL/files/small/b")" 200
same "... one fd on it" "$(open_on "$B1")" 1
# Damage: the chunk's file cut short (a new inode, as a lost write leaves).
head -c 1000 "$T/b1" >"$STATE/chunks/.cut" && mv "$STATE/chunks/.cut" "$STATE/chunks/$B1"
same "PUT small/b with its bytes again (repairs the chunk) -> 200" \
	"$(code -T "$T/b1" "$URL/files/small/b")" 200
same "the chunk's file is whole again" "$(stat -c %s "$STATE/chunks/$B1")" 4096
same "no fd of dgfsd on the replaced file" "$(open_removed "$B1")" 0
same "GET small/b -> 200" "$(code "$URL/files/small/b")" 200
check "... its bytes" cmp -s "$T/body" "$T/b1"
check "... from the repaired file (the fd dgfsd holds is its inode)" open_on_current "$B1"
# ---- removed behind dgfsd's back: scrub --repair, another process -----------------------------
head -c 4096 /dev/urandom >"$T/c1"
C1=$(sha256sum <"$T/c1" | cut -c1-64)
same "PUT small/c -> 201" "$(code -T "$T/c1" "$URL/files/small/c")" 201
same "GET small/c -> 200 (its file now open in the cache)" "$(code "$URL/files/small/c")" 200
same "... one fd on it" "$(open_on "$C1")" 1
# Damage in place (the same inode, so the cached fd sees it), then the
# scrub of a second process finds it and removes the file.
printf 'rot' | dd of="$STATE/chunks/$C1" bs=1 seek=2000 conv=notrunc status=none
n "$DGFSD" scrub --state-dir "$STATE" --repair >"$T/scrub.out" 2>>"$T/dgfsd.log"
same "dgfsd scrub --repair finds the damage -> exit 1" "$?" 1
shows "... and removes the file" "bad $C1: .*removed" cat "$T/scrub.out"
check "... it is gone" test ! -e "$STATE/chunks/$C1"
st=$(code "$URL/files/small/c")
check "GET small/c is not answered 200 from the removed file (got $st)" test "$st" != 200
check "... its body is an error message, not the file" test "$(stat -c %s "$T/body")" -lt 4096
same "... and no fd of dgfsd is left on the removed file" "$(open_removed "$C1")" 0
same "PUT small/c with its bytes again (writes the chunk again) -> 200" \
	"$(code -T "$T/c1" "$URL/files/small/c")" 200
same "GET small/c -> 200" "$(code "$URL/files/small/c")" 200
check "... its bytes" cmp -s "$T/body" "$T/c1"
check "... from the new file" open_on_current "$C1"
check "the store is consistent" store_consistent

dgfsd_stop
finish
