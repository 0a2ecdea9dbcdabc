#!/bin/bash
# usage: run.sh TAG USERS  -> heaptrack live heap with USERS*4 sockets held (first half of the idle run)
set -u
tag=$1; users=$2; port=$((3900 + RANDOM % 90)); db=ht_${tag}_${users}
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" test
cd /work/ht
env BIND_ADDR=127.0.0.1:$port DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db \
  JWT_SECRET=0123456789abcdef0123456789abcdef0123456789 RUST_LOG=warn \
  heaptrack -o /work/ht/$tag-$users chat-server-$tag > /work/ht/$tag-$users.server.log 2>&1 &
for i in $(seq 60); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 1; done
chat-load --url http://127.0.0.1:$port --setup-concurrency 4 idle --users $users \
  --sockets-per-user 8 --conversations $((users/4)) --participants 4 --hold 120 > /work/ht/$tag-$users.load.log 2>&1 &
load=$!
target=$((users*4)); last=-1; stable=0
while :; do
  n=$(ss -Htn state established "( sport = :$port )" | wc -l)
  if [ "$n" -ge "$target" ] && [ "$n" -eq "$last" ]; then stable=$((stable+2)); else stable=0; fi
  last=$n
  [ $stable -ge 30 ] && break
  sleep 2
done
echo "established $n at kill"
comm=$(echo chat-server-$tag | cut -c1-15)
pgrep -x "$comm" || echo "no $comm process"
kill -9 $(pgrep -x "$comm")
kill $load 2>/dev/null; wait
sleep 2
heaptrack_print -f /work/ht/$tag-$users.*zst* -l 1 > /work/ht/$tag-$users.txt 2>&1
grep -E "leaked|peak heap" /work/ht/$tag-$users.txt | head -3
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" test
