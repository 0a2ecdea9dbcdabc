#!/bin/bash
# Samples chat-server's utime+stime (clock ticks) once a second while chat-bench runs.
# usage: sample.sh OUT  (start it right after chat-bench); window.py OUT gives the steady phase's CPU
out=$1
: > $out
start=$(date +%s.%N)
while pgrep -f "chat-bench" >/dev/null; do
  for pid in $(pgrep -x chat-server); do
    t=$(awk '{print $14+$15}' /proc/$pid/stat 2>/dev/null)
    echo "$(date +%s.%N) $pid $t" >> $out
  done
  sleep 1
done
