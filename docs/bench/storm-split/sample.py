#!/usr/bin/env python3
"""Where storm-5000's reconnect time goes: the CPU of chat-server, PostgreSQL and chat-load
during the storm.

Run beside chat-bench (chat-server alone):

    python3 docs/bench/storm-split/sample.py docs/bench/storm-split/split.tsv &
    target/release/chat-bench --scenarios storm-5000 --rounds 1 --only rust --out docs/bench/storm-split

Every 0.1 s it reads, from /proc, the CPU time (user + system) of chat-load, of the
chat-server process chat-bench's pid file names (the restart replaces it), and of every
PostgreSQL process plus what the postmaster reaped from exited ones. It stops when
chat-load has come and gone, then prints, for the window from the kill (the pid file
changes) until chat-load exits (every socket is back, the report printed), each party's
CPU seconds and its share of the two cores' time.
"""
import os, sys, time

TCK = os.sysconf("SC_CLK_TCK")
PID_FILE = "target/bench/run/rust.pid"


def ticks(pid, reaped=False):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    # fields after the name: state is f[0]; utime, stime = fields 14, 15 (f[11], f[12]);
    # cutime, cstime = 16, 17.
    t = int(f[11]) + int(f[12])
    return t + int(f[13]) + int(f[14]) if reaped else t


def pids(name):
    out = []
    for p in os.listdir("/proc"):
        if p.isdigit():
            try:
                if open(f"/proc/{p}/comm").read().strip() == name:
                    out.append(int(p))
            except OSError:
                pass
    return out


def postgres():
    ps = pids("postgres")
    if not ps:
        return 0
    postmaster = min(ps)
    return sum((ticks(p, reaped=(p == postmaster)) or 0) for p in ps)


def main(out_path):
    rows, seen_load, server_seen = [], False, {}
    start = time.monotonic()
    while True:
        now = time.monotonic() - start
        load = pids("chat-load")
        if load:
            seen_load = True
        elif seen_load:
            break
        try:
            server = int(open(PID_FILE).read().strip())
        except (OSError, ValueError):
            server = 0
        t = ticks(server) if server else None
        if t is not None:
            server_seen[server] = t
        rows.append((now, server, sum(server_seen.values()), sum(ticks(p) or 0 for p in load), postgres()))
        time.sleep(0.1)
    with open(out_path, "w") as out:
        out.write("seconds\tserver_pid\tserver_ticks\tload_ticks\tpostgres_ticks\n")
        for r in rows:
            out.write("%.2f\t%d\t%d\t%d\t%d\n" % r)
    # The window: from the last sample of the server that was killed (the pid before the
    # restarted one; the pid file may name an earlier run's server when sampling starts)
    # to the end. A sample taken while the restart rewrote the pid file reads no pid: skipped.
    last_pid = rows[-1][1]
    kill = max(i for i, r in enumerate(rows) if r[1] and r[1] != last_pid)
    a, b = rows[kill], rows[-1]
    # chat-load's ticks: its last reading before it exited.
    load_end = max(r[3] for r in rows)
    wall = b[0] - a[0]
    print(f"storm window {wall:.1f} s (kill to chat-load's exit), two cores = {2 * wall:.1f} CPU s")
    for name, i in (("chat-server", 2), ("PostgreSQL", 4)):
        cpu = (b[i] - a[i]) / TCK
        print(f"  {name}: {cpu:.2f} CPU s ({100 * cpu / (2 * wall):.0f}% of both cores)")
    cpu = (load_end - a[3]) / TCK
    print(f"  chat-load: {cpu:.2f} CPU s ({100 * cpu / (2 * wall):.0f}% of both cores)")


if __name__ == "__main__":
    main(sys.argv[1])
