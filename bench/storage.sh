#!/usr/bin/env bash
# Storage benchmark: durable deliveries per second (4 KiB, 1 and 10 recipients, 1 and 50
# concurrent writers) and metadata of 100,000 messages. Each case runs RUNS times on a fresh
# store in $TMPDIR; the median is reported.
# usage: bench/storage.sh [BUILD_DIR]   (RUNS=5 SECONDS_PER_RUN=5 by default)
set -euo pipefail
build=${1:-build}
bench="$build/bench/mailstead-storage-bench"
runs=${RUNS:-5}
seconds=${SECONDS_PER_RUN:-5}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $runs runs each, median"
for recipients in 1 10; do
  for writers in 1 50; do
    rates=(); batches=()
    for _ in $(seq "$runs"); do
      rm -rf "$work/db"
      out=$("$bench" "$work/db" deliver "$recipients" "$writers" "$seconds")
      rates+=("$(echo "$out" | field deliveries_per_s)"); batches+=("$(echo "$out" | field per_commit)")
    done
    echo "deliver recipients=$recipients writers=$writers: $(printf '%s\n' "${rates[@]}" | median) deliveries/s" \
         "($(printf '%s\n' "${batches[@]}" | median) per fsync)"
  done
done
times=()
for _ in $(seq "$runs"); do
  rm -rf "$work/db"
  times+=("$("$bench" "$work/db" fetch 100000 | field fetch_ms)")
done
echo "metadata of 100000 messages: $(printf '%s\n' "${times[@]}" | median) ms"
