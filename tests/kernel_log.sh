# shellcheck shell=bash
# What in a kernel log fails a test: oopses, BUG()s, WARN()s, and the
# reports of the debug kernel's checkers (KASAN, KFENCE, UBSAN, lockdep,
# DEBUG_LIST, debugobjects, slab debugging, the hung-task, RCU-stall and
# lockup watchdogs, kmemleak, refcount and netns/netdev ref trackers).
# Sourced by the VM's guest-init.sh and by tests/lib.sh (host tests), so
# both judge a kernel log alike.

kernel_trouble_re='WARNING:|BUG:|kernel BUG at|BUG kmalloc-|BUG [^ ]+ \((Not tainted|Tainted: [^)]*)\)|Oops|general protection|'
kernel_trouble_re+='refcount_t|leak|lockdep|KASAN|KFENCE|UBSAN|ODEBUG|RIP:|Call Trace|list_(add|del) corruption|'
kernel_trouble_re+='INFO: task .* blocked|rcu: INFO|detected stall|hard LOCKUP|soft lockup'
# Expected: the taint notes for our unsigned out-of-tree module, and
# kmemleak's count of suspects (the VM's kmemleak check judges those).
kernel_expected_re='module verification failed|loading out-of-tree module taints kernel|kmemleak: [0-9]+ new suspected memory leaks'

# kernel_trouble: the lines of a kernel log (stdin) that fail a test.
kernel_trouble() {
	grep -E "$kernel_trouble_re" | grep -vE "$kernel_expected_re" || true
}
