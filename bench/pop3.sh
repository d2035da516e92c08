#!/usr/bin/env bash
# POP3 benchmark: mailstead-pop3d beside Dovecot's pop3d (the reference stack in
# ../shared/reference-stack), same machine, same messages, same password scheme
# (SHA512-CRYPT, 5000 rounds: the hash is taken from Dovecot's user file into mailstead with
# `mailstead user add --password-hash-file`).
#   - logins/s: CLIENTS parallel loops of connect, USER/PASS, STAT, QUIT (one user each, from
#     user3 on, each with a 20-message maildrop)
#   - RETR of every message of a 10,000-message maildrop (about 6 KiB each), pipelined
#   - login+STAT, LIST and UIDL of a 100,000-message maildrop (1 KiB each)
# Each figure is the median of RUNS runs after one warm-up run.
# usage (as root): bench/pop3.sh [BUILD_DIR]   RUNS=5 CLIENTS=4 SECONDS_PER_RUN=10
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
runs=${RUNS:-5}
clients=${CLIENTS:-4}
seconds=${SECONDS_PER_RUN:-10}
. "$here/lib.sh"
export NUSERS=$((clients + 2))
bench_setup pop3
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "# generating messages"
python3 "$here/make_maildir.py" "$work/maildir-10k" 10000
python3 "$here/make_maildir.py" "$work/maildir-100k" 100000 --size 1024
python3 "$here/make_maildir.py" "$work/maildir-20" 20

echo "# starting the reference stack (Dovecot $(dovecot --version | cut -d' ' -f1))"
"$refstack/ref/start.sh" >/dev/null
for i in $(seq 1 "$NUSERS"); do mkdir -p "$RUN/mail/user$i"; done
cp -r "$work/maildir-10k" "$RUN/mail/user1/Maildir"
cp -r "$work/maildir-100k" "$RUN/mail/user2/Maildir"
for i in $(seq 3 "$NUSERS"); do cp -r "$work/maildir-20" "$RUN/mail/user$i/Maildir"; done
chown -R "$MAIL_UID:" "$RUN/mail"

echo "# starting mailstead-pop3d"
port=$(free_port)
bench_config "" "listen = [\"127.0.0.1:$port\"]
tls_listen = []
allow_plaintext_auth = true
allow_concurrent_sessions = true" "[auth]
hash_threads = 2"
admin domain add "$DOMAIN" >/dev/null
head -1 "$RUN/dovecot/users" | cut -d: -f2 > "$work/ms/hash"
for i in $(seq 1 "$NUSERS"); do admin user add "user$i@$DOMAIN" --password-hash-file "$work/ms/hash" >/dev/null; done
admin import "user1@$DOMAIN" "$work/maildir-10k" >/dev/null
admin import "user2@$DOMAIN" "$work/maildir-100k" >/dev/null
for i in $(seq 3 "$NUSERS"); do admin import "user$i@$DOMAIN" "$work/maildir-20" >/dev/null; done
start_mailstead "$build/pop3d/mailstead-pop3d" "$work/ms/mailstead.toml"

load() { python3 "$here/pop3_load.py" "$@"; }
measure() {  # name key command...: prints the median of $runs runs after a warm-up
  local key=$1; shift
  "$@" >/dev/null
  for _ in $(seq "$runs"); do "$@" | field "$key"; done | median
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); median of $runs runs after a warm-up"
echo "# mailstead: threads=1 hash_threads=2; Dovecot: reference-stack defaults; SHA512-CRYPT both"
printf '%-44s %12s %12s %8s\n' "case" "mailstead" "dovecot" "ratio"
report() { printf '%-44s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

m=$(measure logins_per_s load logins "$HOST" "$port" "user%d@$DOMAIN" "$PASS" "$clients" "$seconds" 3)
d=$(measure logins_per_s load logins "$HOST" "$POP3_PORT" "user%d@$DOMAIN" "$PASS" "$clients" "$seconds" 3)
report "logins/s ($clients clients, USER/PASS+STAT+QUIT)" "$m" "$d"

m=$(measure messages_per_s load retr "$HOST" "$port" "user1@$DOMAIN" "$PASS")
d=$(measure messages_per_s load retr "$HOST" "$POP3_PORT" "user1@$DOMAIN" "$PASS")
report "RETR 10,000 messages: messages/s" "$m" "$d"
m=$(measure mb_per_s load retr "$HOST" "$port" "user1@$DOMAIN" "$PASS")
d=$(measure mb_per_s load retr "$HOST" "$POP3_PORT" "user1@$DOMAIN" "$PASS")
report "RETR 10,000 messages: MB/s" "$m" "$d"

for key in login_stat_ms list_ms uidl_ms; do
  m=$(measure "$key" load uidl "$HOST" "$port" "user2@$DOMAIN" "$PASS")
  d=$(measure "$key" load uidl "$HOST" "$POP3_PORT" "user2@$DOMAIN" "$PASS")
  report "100,000 messages: $key (lower is better)" "$m" "$d"
done
