#!/usr/bin/env python3
# Numbers, not a test: what the size of each sendfile() call costs the
# sender, over loopback, with nothing else of dgfsd or libmicrohttpd in the
# way (issue 13, docs/BENCHMARKS.md). One process sends a 1 MiB file again
# and again over CONNS connections, one sendfile() of at most STEP bytes per
# ready connection per epoll round (as libmicrohttpd's epoll mode does, with
# TCP_CORK on), another reads it all; prints the sender's CPU seconds per GB
# for each step, rounds alternating, and the median of each.
#
#   ip netns exec NS tests/dgfsd/bench_sendfile_step.py [ROUNDS] [CONNS] [MIB]
#   (in a network namespace of your own, with lo up)
import os, resource, select, socket, statistics, sys, tempfile

STEPS = (128 << 10, 1 << 20)    # libmicrohttpd 0.9.75's step in epoll mode; nginx's call for 1 MiB
rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
conns = int(sys.argv[2]) if len(sys.argv) > 2 else 16
total = (int(sys.argv[3]) if len(sys.argv) > 3 else 3000) << 20

blob = tempfile.TemporaryFile()
blob.write(os.urandom(1 << 20))
blob.flush()
fsz = 1 << 20


def one(step):
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(conns)
    port = ls.getsockname()[1]
    pid = os.fork()
    if pid == 0:    # the reader
        ss = [socket.create_connection(("127.0.0.1", port)) for _ in range(conns)]
        ep = select.epoll()
        for s in ss:
            s.setblocking(False)
            ep.register(s.fileno(), select.EPOLLIN)
        by = {s.fileno(): s for s in ss}
        buf, got = bytearray(1 << 20), 0
        while got < total:
            for fd, _ in ep.poll():
                try:
                    got += by[fd].recv_into(buf)
                except BlockingIOError:
                    pass
        os._exit(0)
    cs = [ls.accept()[0] for _ in range(conns)]
    ep = select.epoll()
    for c in cs:
        c.setblocking(False)
        c.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        ep.register(c.fileno(), select.EPOLLOUT)
    idx = {c.fileno(): i for i, c in enumerate(cs)}
    pos, sent, calls = [0] * conns, 0, 0
    r0 = resource.getrusage(resource.RUSAGE_SELF)
    while sent < total:
        for fd, _ in ep.poll():
            i = idx[fd]
            n = min(step, fsz - pos[i], total - sent)
            if n <= 0:
                continue
            try:
                k = os.sendfile(fd, blob.fileno(), pos[i], n)
            except BlockingIOError:
                continue
            calls += 1
            pos[i] = (pos[i] + k) % fsz
            sent += k
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    os.waitpid(pid, 0)
    for c in cs:
        c.close()
    ls.close()
    cpu = r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime
    return cpu / (sent / 1e9), calls / (sent / (1 << 20))


res = {s: [] for s in STEPS}
print(f"load before: {os.getloadavg()[0]:.1f}; {conns} connections, {total >> 20} MiB a run")
for r in range(rounds):
    for s in (STEPS if r % 2 == 0 else STEPS[::-1]):
        cpu, per_mib = one(s)
        res[s].append(cpu)
        print(f"round {r + 1}: step {s >> 10:5d} KiB: {per_mib:.2f} calls a MiB, sender {cpu:.3f} CPU s/GB")
print(f"load after: {os.getloadavg()[0]:.1f}")
m = {s: statistics.median(v) for s, v in res.items()}
for s in STEPS:
    print(f"median: step {s >> 10:5d} KiB: {m[s]:.3f} CPU s/GB, {m[s] / m[STEPS[-1]]:.2f}x the 1 MiB step")
