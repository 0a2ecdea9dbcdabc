#!/bin/bash
# usage: run.sh TAG USERS  -> heaptrack live heap with USERS*4 sockets held (first half of the idle run),
# chat-server-TAG on PATH (a `--features system-allocator` build), limits lifted as chat-bench does
set -u
HT_DIR=${HT_DIR:-/work/ht}
tag=$1; users=$2; port=$((3900 + RANDOM % 90)); db=ht_${tag}_${users}
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" test
cd "$HT_DIR"
env BIND_ADDR=127.0.0.1:$port DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db \
  JWT_SECRET=0123456789abcdef0123456789abcdef0123456789 RUST_LOG=warn \
  AUTH_ATTEMPTS_PER_ADDRESS=1000000 AUTH_ATTEMPTS_PER_USERNAME=1000000 PASSWORD_HASH_QUEUE=1000000 \
  REST_REQUESTS_PER_USER=1000000 CONVERSATIONS_PER_USER=1000000 MAX_UNAUTHENTICATED_SESSIONS=1000000 \
  HANDSHAKES_PER_USER_PER_SEC=1000000 \
  heaptrack -o $HT_DIR/$tag-$users chat-server-$tag > $HT_DIR/$tag-$users.server.log 2>&1 &
for i in $(seq 60); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 1; done
chat-load --url http://127.0.0.1:$port --setup-concurrency 4 idle --users $users \
  --sockets-per-user 8 --conversations $((users/4)) --participants 4 --hold 120 > $HT_DIR/$tag-$users.load.log 2>&1 &
load=$!
target=$((users*4)); last=-1; stable=0
while :; do
  n=$(ss -Htn state established "( sport = :$port )" | wc -l)
  if [ "$n" -ge "$target" ] && [ "$n" -eq "$last" ]; then stable=$((stable+2)); else stable=0; fi
  last=$n
  [ $stable -ge 30 ] && break
  kill -0 $load 2>/dev/null || { echo "chat-load ended early: $HT_DIR/$tag-$users.load.log"; break; }
  sleep 2
done
echo "established $n at kill"
comm=$(echo chat-server-$tag | cut -c1-15)
pgrep -x "$comm" || echo "no $comm process"
kill -9 $(pgrep -x "$comm")
kill $load 2>/dev/null; wait
sleep 2
heaptrack_print -f $HT_DIR/$tag-$users.*zst* -l 1 > $HT_DIR/$tag-$users.txt 2>&1
grep -E "leaked|peak heap" $HT_DIR/$tag-$users.txt | head -3
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" test
