#!/usr/bin/env python3
# deny_bind6.py CMD [ARG...]: run CMD in a cgroup of its own whose IPv6
# binds are refused (a cgroup/bind6 BPF program that returns 0: bind()
# fails with EPERM), as a container's policy might do. Kernel sockets a
# task makes belong to its cgroup too, so a dgfsctl run this way makes
# dgfs.ko's IPv6 socket fail to bind, and the IPv4 one not.
# Exits with CMD's status. Needs root; mounts cgroup2 if it is not.
import ctypes
import os
import struct
import sys

NR_BPF = 321  # x86_64
BPF_PROG_LOAD, BPF_PROG_ATTACH = 5, 8
PROG_TYPE_CGROUP_SOCK_ADDR = 18
CGROUP_INET6_BIND = 9
CGROOT = "/sys/fs/cgroup"

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long


def bpf(cmd, attr):
    buf = ctypes.create_string_buffer(attr, 128)
    ret = libc.syscall(NR_BPF, cmd, buf, 128)
    if ret < 0:
        err = ctypes.get_errno()
        raise OSError(err, "bpf(%d): %s" % (cmd, os.strerror(err)))
    return ret


def deny_program():
    # r0 = 0; exit
    insns = bytes.fromhex("b700000000000000" "9500000000000000")
    ibuf = ctypes.create_string_buffer(insns, len(insns))
    lic = ctypes.create_string_buffer(b"GPL")
    attr = struct.pack("=IIQQIIQII16sII", PROG_TYPE_CGROUP_SOCK_ADDR,
                       len(insns) // 8, ctypes.addressof(ibuf),
                       ctypes.addressof(lic), 0, 0, 0, 0, 0, b"deny_bind6",
                       0, CGROUP_INET6_BIND)
    return bpf(BPF_PROG_LOAD, attr)


def main():
    if len(sys.argv) < 2:
        sys.exit("usage: deny_bind6.py CMD [ARG...]")
    if not os.path.exists(CGROOT + "/cgroup.procs"):
        if os.system("mount -t cgroup2 none " + CGROOT) != 0:
            sys.exit("deny_bind6: cannot mount cgroup2")
    cg = "%s/dgfs-deny-bind6-%d" % (CGROOT, os.getpid())
    os.mkdir(cg)
    try:
        prog = deny_program()
        cgfd = os.open(cg, os.O_RDONLY | os.O_DIRECTORY)
        bpf(BPF_PROG_ATTACH, struct.pack("=IIII", cgfd, prog,
                                         CGROUP_INET6_BIND, 0))
        os.close(prog)
        os.close(cgfd)
        pid = os.fork()
        if pid == 0:
            with open(cg + "/cgroup.procs", "w") as f:
                f.write("0")
            os.execvp(sys.argv[1], sys.argv[1:])
        _, status = os.waitpid(pid, 0)
    finally:
        os.rmdir(cg)  # detaches the program
    sys.exit(os.waitstatus_to_exitcode(status))


main()
