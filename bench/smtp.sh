#!/usr/bin/env bash
# Inbound SMTP benchmark: mailstead-smtpd beside Postfix (delivering over LMTP into Dovecot,
# the reference stack in ../shared/reference-stack), same machine, same load: Postfix's
# smtp-source sending 4 KiB messages to one local user, one connection per message, with 10 and
# with 50 parallel sessions. mailstead answers 250 only once the message is in the mailbox
# (fsync'd), so its accepted rate is its delivered rate; for Postfix both are reported
# (accepted: smtp-source's time; delivered: until the last file is in the Maildir).
# Each figure is the median of RUNS runs.
# usage (as root): bench/smtp.sh [BUILD_DIR]   RUNS=5 MESSAGES=2000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
runs=${RUNS:-5}
messages=${MESSAGES:-2000}
. "$here/lib.sh"
export NUSERS=2
bench_setup smtp
rate() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN {printf "%.0f", n / (b - a)}'; }

echo "# starting the reference stack (Postfix $(postconf -d -h mail_version), Dovecot $(dovecot --version | cut -d' ' -f1))"
"$refstack/ref/start.sh" >/dev/null

echo "# starting mailstead-smtpd"
# DNS: a loopback server that answers NXDOMAIN at once (the client's reverse name). The checks
# of inbound mail are off, as the reference stack makes none; bench/checks.py measures them.
python3 "$here/dns_server.py" > "$work/dns.ready" &
bench_track $!
until grep -qs ready "$work/dns.ready"; do sleep 0.1; done
port=$(free_port)
bench_config "listen = [\"127.0.0.1:$port\"]
submission_listen = []
submissions_listen = []
greeting_delay = \"0s\"" "" "[dns]
servers = [\"127.0.0.1:$(cut -d' ' -f2 "$work/dns.ready")\"]
[spf]
check = false
[dkim]
verify = false
[dmarc]
check = false"
admin domain add "$DOMAIN" >/dev/null
echo "a long enough password" | admin user add "user1@$DOMAIN" --password-stdin >/dev/null
start_mailstead "$build/smtpd/mailstead-smtpd" "$work/ms/mailstead.toml"

source_run() {  # sessions port -> seconds smtp-source took
  local start end
  start=$(now)
  smtp-source -s "$1" -l 4096 -m "$messages" -f "sender@example.org" -t "user1@$DOMAIN" "127.0.0.1:$2"
  end=$(now)
  awk -v a="$start" -v b="$end" 'BEGIN {print b - a}'
}

delivered() { "$refstack/ref/delivered.sh"; }

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $messages messages of 4 KiB per run, median of $runs runs"
echo "# mailstead: threads=1, every 250 after fsync (group commit); Postfix: queue files fsync'd before 250"
printf '%-46s %12s %12s %8s\n' "case (messages/s)" "mailstead" "postfix" "ratio"
for sessions in 10 50; do
  ms=(); pa=(); pd=()
  for _ in $(seq "$runs"); do
    t=$(source_run "$sessions" "$port")
    ms+=("$(awk -v n="$messages" -v t="$t" 'BEGIN {printf "%.0f", n / t}')")
    before=$(delivered)
    start=$(now)
    t=$(source_run "$sessions" "$SMTP_PORT")
    pa+=("$(awk -v n="$messages" -v t="$t" 'BEGIN {printf "%.0f", n / t}')")
    until [ "$(delivered)" -ge $((before + messages)) ]; do sleep 0.05; done
    pd+=("$(rate "$messages" "$start" "$(now)")")
  done
  m=$(printf '%s\n' "${ms[@]}" | median)
  a=$(printf '%s\n' "${pa[@]}" | median)
  d=$(printf '%s\n' "${pd[@]}" | median)
  printf '%-46s %12s %12s %8s\n' "$sessions sessions: mailstead stored vs postfix accepted" "$m" "$a" "$(ratio "$m" "$a")"
  printf '%-46s %12s %12s %8s\n' "$sessions sessions: mailstead stored vs postfix delivered" "$m" "$d" "$(ratio "$m" "$d")"
done
