import os, sys, time
# usage: python3 fsync_probe.py SECONDS  (as a user that may write /var/lib/postgresql)
# Flush latency of the disk PostgreSQL's WAL is on: an 8 KiB write + fdatasync every 20 ms.
path = "/var/lib/postgresql/fsync_probe.dat"
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
buf = os.urandom(8192)
end = time.time() + float(sys.argv[1])
n = 0; slow = []; total = 0.0; worst = 0.0
while time.time() < end:
    t0 = time.perf_counter()
    os.pwrite(fd, buf, 0); os.fdatasync(fd)
    d = (time.perf_counter() - t0) * 1000
    n += 1; total += d; worst = max(worst, d)
    if d > 20:
        slow.append((time.strftime("%H:%M:%S"), round(d, 1)))
        print(time.strftime("%H:%M:%S"), f"{d:.1f} ms", flush=True)
    time.sleep(0.02)
os.close(fd); os.unlink(path)
print(f"probes {n}, mean {total/n:.2f} ms, worst {worst:.1f} ms, over 20 ms: {len(slow)}", flush=True)
