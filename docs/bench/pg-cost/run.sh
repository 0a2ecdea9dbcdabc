#!/bin/bash
# usage: run.sh LABEL SERVER_BIN RATE -> CPU of PostgreSQL and of chat-server per acked message (steady shape)
# With pg_stat_statements preloaded (shared_preload_libraries), each statement's share
# of the run goes to LABEL.statements.
set -u
label=$1; case $label in *[!a-z0-9_]*) echo "LABEL: lower-case letters, digits and _ only (it names a database)" >&2; exit 2;; esac; bin=$2; rate=$3; port=$((3800 + RANDOM % 90)); db=pgcpu_$label
tck=$(getconf CLK_TCK)
psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" test 2>/dev/null
pgcpu() { # live postgres processes plus what the postmaster reaped from exited ones, in ticks
  local pm=$(pgrep -xo postgres) t=0
  for p in $(pgrep -x postgres); do t=$((t + $(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0))); done
  echo $((t + $(awk '{print $16+$17}' /proc/$pm/stat)))
}
env BIND_ADDR=127.0.0.1:$port DATABASE_URL=postgres://postgres@127.0.0.1:5432/$db \
  JWT_SECRET=0123456789abcdef0123456789abcdef0123456789 RUST_LOG=warn \
  AUTH_ATTEMPTS_PER_ADDRESS=1000000 AUTH_ATTEMPTS_PER_USERNAME=1000000 PASSWORD_HASH_QUEUE=1000000 \
  REST_REQUESTS_PER_USER=1000000 CONVERSATIONS_PER_USER=1000000 HANDSHAKES_PER_USER_PER_SEC=1000000 \
  $bin > docs/bench/pg-cost/$label.server.log 2>&1 &
srv=$!
for i in $(seq 60); do curl -sf http://127.0.0.1:$port/healthz >/dev/null && break; sleep 0.5; done
pgss=$(psql -h 127.0.0.1 -U postgres -d $db -tAc "show shared_preload_libraries" | grep -c pg_stat_statements)
if [ "$pgss" = 1 ]; then
  psql -h 127.0.0.1 -U postgres -d $db -qc "create extension if not exists pg_stat_statements" -c "select pg_stat_statements_reset()" >/dev/null
else
  echo "pg_stat_statements is not preloaded: no $label.statements" >&2
fi
pgprocs() { # ticks per PostgreSQL process kind (a backend is "backend <database>")
  for p in $(pgrep -x postgres); do
    printf '%s %s\n' "$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null || echo 0)" \
      "$(tr '\0' ' ' < /proc/$p/cmdline 2>/dev/null | sed -E 's/^postgres: [^:]*: //; s/^([^ ]+) ([^ ]+) [0-9.]+\(.*/backend \2/; s/ +$//')"
  done | awk '{t=$1; $1=""; sum[substr($0,2)]+=t} END {for (k in sum) print sum[k] "\t" k}'
}
pgprocs > /tmp/pgprocs.$label.0
pg0=$(pgcpu); s0=$(awk '{print $14+$15}' /proc/$srv/stat)
target/release/chat-load --url http://127.0.0.1:$port --server-pid $srv --json steady --users 1000 --conversations 250 \
  --participants 4 --rate $rate --duration 30 > docs/bench/pg-cost/$label.json 2> docs/bench/pg-cost/$label.load.log
pg1=$(pgcpu); s1=$(awk '{print $14+$15}' /proc/$srv/stat)
pgprocs > /tmp/pgprocs.$label.1
kill $srv; wait $srv 2>/dev/null
acked=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["integrity"]["acked"])' docs/bench/pg-cost/$label.json)
echo "$label rate=$rate acked=$acked pg_cpu_s=$(echo "scale=2;($pg1-$pg0)/$tck"|bc) server_cpu_s=$(echo "scale=2;($s1-$s0)/$tck"|bc) pg_us_per_msg=$(echo "scale=1;($pg1-$pg0)*1000000/$tck/$acked"|bc) server_us_per_msg=$(echo "scale=1;($s1-$s0)*1000000/$tck/$acked"|bc)"
psql -h 127.0.0.1 -U postgres -d $db -c "select relname, n_tup_ins, n_tup_upd, n_tup_hot_upd, seq_scan, seq_tup_read, idx_scan from pg_stat_user_tables order by relname" > docs/bench/pg-cost/$label.pgstat; psql -h 127.0.0.1 -U postgres -d $db -c "select xact_commit, blks_hit, blks_read, tup_fetched, tup_inserted, tup_updated from pg_stat_database where datname = current_database()" >> docs/bench/pg-cost/$label.pgstat
# CPU seconds per PostgreSQL process kind over the run (backends that exited are only
# in the total: the postmaster reaped them).
awk -F'\t' -v tck=$tck 'NR==FNR {a[$2]=$1; next} {printf "%8.2f s  %s\n", ($1-a[$2])/tck, $2}' \
  /tmp/pgprocs.$label.0 /tmp/pgprocs.$label.1 | sort -rn > docs/bench/pg-cost/$label.processes
if [ "$pgss" = 1 ]; then
  # Each statement of this database: calls, rows, time in the executor (wall time: for
  # COMMIT, the WAL flush), its share of that time, and WAL written.
  psql -h 127.0.0.1 -U postgres -d $db -c "select calls, rows, round(total_exec_time::numeric, 1) as total_ms,
      round((1000 * total_exec_time / greatest(calls, 1))::numeric, 1) as mean_us,
      round((100 * total_exec_time / sum(total_exec_time) over ())::numeric, 1) as pct,
      shared_blks_hit as blks_hit, wal_bytes, left(regexp_replace(query, '\s+', ' ', 'g'), 160) as query
    from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
    order by total_exec_time desc limit 25" > docs/bench/pg-cost/$label.statements
fi
[ -n "${KEEP_DB:-}" ] || psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $db" test
