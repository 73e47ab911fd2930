#!/usr/bin/env python3
# page_flags.py FILE CMD [ARG...]: the page-cache pages of FILE, found
# through a mapping of it (/proc/self/pagemap, /proc/kpageflags), before
# and after CMD runs. Prints two lines,
#   before pages N referenced R active A accessed X
#   after pages N referenced R active A accessed X moved M
# R and A count pages with PG_referenced / PG_active, X those with either
# (what folio_mark_accessed() sets: the first call PG_referenced, the
# second PG_active in its place), M the pages that are no longer the same
# page (reclaimed and read again: then the counts mean nothing). Mapping
# and reading a cached page through a mapping does not mark it accessed,
# so what changes is what CMD did. Exits with CMD's status. Needs root.
import ctypes
import mmap
import os
import struct
import subprocess
import sys

PAGE = os.sysconf("SC_PAGE_SIZE")
KPF_REFERENCED, KPF_ACTIVE = 2, 6


def pfns(addr, n):
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        ents = struct.unpack("=%dQ" % n, f.read(8 * n))
    return [e & ((1 << 55) - 1) if e >> 63 else None for e in ents]


def flags(pfn_list):
    ref = act = either = 0
    with open("/proc/kpageflags", "rb") as f:
        for pfn in pfn_list:
            if pfn is None:
                continue
            f.seek(pfn * 8)
            v = struct.unpack("=Q", f.read(8))[0]
            ref += (v >> KPF_REFERENCED) & 1
            act += (v >> KPF_ACTIVE) & 1
            either += bool(v & (1 << KPF_REFERENCED | 1 << KPF_ACTIVE))
    return ref, act, either


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: page_flags.py FILE CMD [ARG...]")
    fd = os.open(sys.argv[1], os.O_RDONLY)
    size = os.fstat(fd).st_size
    n = (size + PAGE - 1) // PAGE
    mm = mmap.mmap(fd, size, flags=mmap.MAP_PRIVATE,
                   prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
    for i in range(n):
        mm[i * PAGE]  # map it (a read fault: the page cache's own page)
    before = pfns(addr, n)
    mapped = sum(p is not None for p in before)
    print("before pages %d referenced %d active %d accessed %d" % ((mapped,) + flags(before)))
    sys.stdout.flush()
    rc = subprocess.call(sys.argv[2:])
    after = pfns(addr, n)
    moved = sum(a != b for a, b in zip(before, after))
    print("after pages %d referenced %d active %d accessed %d moved %d" %
          ((mapped,) + flags(after) + (moved,)))
    sys.exit(rc)


main()
