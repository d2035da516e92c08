#!/usr/bin/env bash
# Outbound benchmark: mailstead-smtpd's queue runner beside Postfix, both relaying the same
# load to Postfix's smtp-sink on 127.0.0.2 (same machine, one run). MESSAGES messages of
# 4 KiB are injected with smtp-source (10 sessions) from a trusted address, to 1 and to 100
# destination domains; the figure is messages per second from the first injected message to
# an empty queue.
# - mailstead looks up each domain's MX in a loopback test DNS server (tests/e2e/fake_dns.py)
#   whose MX records all point at the sink.
# - Postfix (the reference stack's instance) gets a transport map sending each domain to
#   [127.0.0.2]:port, so each domain is its own destination as with MX lookups (Postfix asks
#   the system resolver, which must not be used here).
# usage (as root): bench/outbound.sh [BUILD_DIR]   RUNS=3 MESSAGES=2000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
runs=${RUNS:-3}
messages=${MESSAGES:-2000}
. "$here/lib.sh"
export NUSERS=2
bench_setup out

sink_port=$(free_port)
smtp-sink -u nobody -m 200 "127.0.0.2:$sink_port" 256 > /dev/null &
bench_track $!
sleep 0.5
kill -0 "${bench_pids[0]}" || { echo "smtp-sink did not start" >&2; exit 1; }

dns_port_file="$work/dns.port"
python3 - "$dns_port_file" <<PY &
import sys, time
sys.path.insert(0, "$here/../tests/e2e")
from fake_dns import FakeDns, Zone
records = {f"d{i}.example": [("MX", (10, "sink.example"))] for i in range(1, 101)}
records["sink.example"] = [("A", "127.0.0.2")]
dns = FakeDns(Zone(records))
open(sys.argv[1], "w").write(str(dns.port))
while True:
    time.sleep(3600)
PY
bench_track $!
until [ -s "$dns_port_file" ]; do sleep 0.1; done

echo "# starting the reference stack (Postfix $(postconf -d -h mail_version))"
"$refstack/ref/start.sh" >/dev/null
P="$RUN/postfix"
for i in $(seq 1 100); do echo "d$i.example smtp:[127.0.0.2]:$sink_port"; done > "$P/etc/transport"
postconf -c "$P/etc" -e "transport_maps = texthash:$P/etc/transport" "smtp_tls_security_level = none" >/dev/null
postfix -c "$P/etc" reload >/dev/null 2>&1

echo "# starting mailstead-smtpd"
port=$(free_port)
bench_config "listen = [\"127.0.0.1:$port\"]
submission_listen = []
submissions_listen = []
trusted_networks = [\"127.0.0.1/32\"]" "" "[dns]
servers = [\"127.0.0.1:$(cat "$dns_port_file")\"]
[outbound]
port = $sink_port"
admin domain add "$DOMAIN" >/dev/null
start_mailstead "$build/smtpd/mailstead-smtpd" "$work/ms/mailstead.toml"

ms_queue_empty() { [ "$(admin queue list --json)" = "[]" ]; }
pf_queue_empty() { postqueue -c "$P/etc" -p 2>/dev/null | grep -q "Mail queue is empty"; }

run() {  # smtp-port domains empty-check -> messages/s from injection to an empty queue
  local port=$1 domains=$2 check=$3 per=$((messages / $2)) start sources=()
  start=$(now)
  for i in $(seq 1 "$domains"); do
    smtp-source -s 10 -l 4096 -m "$per" -f "sender@$DOMAIN" -t "rcpt@d$i.example" "127.0.0.1:$port" &
    sources+=($!)
    if [ ${#sources[@]} -ge 10 ]; then wait "${sources[@]}"; sources=(); fi  # at most 10 injectors at once
  done
  [ ${#sources[@]} -gt 0 ] && wait "${sources[@]}"
  local deadline=$((SECONDS + 300))
  until $check; do
    [ $SECONDS -lt $deadline ] || { echo "queue not empty after 300 s" >&2; exit 1; }
    sleep 0.05
  done
  awk -v n="$((per * domains))" -v a="$start" -v b="$(now)" 'BEGIN {printf "%.0f", n / (b - a)}'
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $messages messages of 4 KiB per run, median of $runs runs"
printf '%-40s %12s %12s %8s\n' "case (messages/s, inject to empty queue)" "mailstead" "postfix" "ratio"
for domains in 1 100; do
  m=(); p=()
  for _ in $(seq "$runs"); do
    m+=("$(run "$port" "$domains" ms_queue_empty)")
    p+=("$(run "$SMTP_PORT" "$domains" pf_queue_empty)")
  done
  mm=$(printf '%s\n' "${m[@]}" | median); pm=$(printf '%s\n' "${p[@]}" | median)
  printf '%-40s %12s %12s %8s\n' "$domains destination domain(s)" "$mm" "$pm" "$(ratio "$mm" "$pm")"
done
