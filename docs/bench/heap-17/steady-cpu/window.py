import collections,sys
rows=[l.split() for l in open(sys.argv[1])]
by=collections.defaultdict(list)
for t,pid,ticks in rows: by[pid].append((float(t),int(ticks)))
for pid,s in by.items():
    # steady window: after the setup burst (rate > 50 ticks/s) ends, 25 s
    i=max(i for i in range(1,len(s)) if (s[i][1]-s[i-1][1])/(s[i][0]-s[i-1][0])>50)+2
    j=min(i+25,len(s)-1)
    rate=(s[j][1]-s[i][1])/(s[j][0]-s[i][0])
    print(pid, f"window {s[i][0]-s[0][0]:.0f}-{s[j][0]-s[0][0]:.0f}s: {rate:.1f} ticks/s = {rate*10:.0f} ms CPU/s -> {rate*10/1000*1000:.0f} us per message at 1000/s")
