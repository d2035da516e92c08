#!/usr/bin/env bash
# IMAP benchmark: mailstead-imapd beside Dovecot's imap (the reference stack in
# ../shared/reference-stack, Maildir, its process-per-connection default with the
# process limits raised by bench/dovecot-imap.conf), same machine, same messages:
#   - one session on a 100,000-message INBOX (2 KiB each): SELECT, FETCH 1:* (FLAGS UID
#     RFC822.SIZE ENVELOPE), UID SEARCH HEADER Subject, UID SEARCH BODY (no match: Dovecot
#     reads every body; mailstead's text index, built before the runs start, rules them all
#     out — bench/search.sh measures searches with and without it) — milliseconds, median of
#     RUNS runs after a warm-up run (which also lets Dovecot build its index); then, measured
#     after all of those, SELECT again after another session appended a message (for
#     Dovecot's Maildir, a sync of the folder); then a client's resync after another client
#     changed the flags of 100 messages and expunged 10, with QRESYNC and without (a full
#     UID FETCH 1:* (FLAGS)): milliseconds and octets sent
#   - a mixed load: CLIENTS clients each looping a whole mail-client session (login, LIST,
#     STATUS, SELECT, FETCH flags, envelopes and a body, STORE, SEARCH, APPEND, LOGOUT) on
#     50-message INBOXes for SECONDS_PER_RUN: sessions/s and commands/s
#   - APPEND_COUNT 2 KiB messages APPENDed one by one by Python's imaplib, Nagle on: appends/s;
#     MBSYNC_COUNT 2 KiB messages of a Maildir pushed by mbsync over implicit TLS: messages/s
#   - memory (PSS of the server's process tree) per idle authenticated connection in IDLE,
#     with IDLE_COUNTS plain connections (Dovecot: the first count only; each of its
#     connections is a process), with TLS_IDLE_COUNT connections over implicit TLS (993), and
#     with as many after COMPRESS=DEFLATE (mailstead only)
# usage (as root): bench/imap.sh [BUILD_DIR]
#   RUNS=5 CLIENTS=10 SECONDS_PER_RUN=10 IDLE_COUNTS="1000 10000" TLS_IDLE_COUNT=1000 APPEND_COUNT=500
#   MBSYNC_COUNT=1000
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
runs=${RUNS:-5}
idle_counts=${IDLE_COUNTS:-1000 10000}
tls_idle_count=${TLS_IDLE_COUNT:-1000}
clients=${CLIENTS:-10}
seconds=${SECONDS_PER_RUN:-10}
. "$here/lib.sh"
export NUSERS=200
bench_setup imap
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "# generating messages"
python3 "$here/make_maildir.py" "$work/maildir-100k" 100000 --size 2048
python3 "$here/make_maildir.py" "$work/maildir-50" 50

echo "# starting the reference stack (Dovecot $(dovecot --version | cut -d' ' -f1))"
DOVECOT_EXTRA="$here/dovecot-imap.conf" "$refstack/ref/start.sh" >/dev/null
for i in $(seq 1 "$NUSERS"); do mkdir -p "$RUN/mail/user$i"; done
cp -r "$work/maildir-100k" "$RUN/mail/user1/Maildir"
for i in $(seq 2 $((clients + 1))); do cp -r "$work/maildir-50" "$RUN/mail/user$i/Maildir"; done
chown -R "$MAIL_UID:" "$RUN/mail"

echo "# starting mailstead-imapd"
port=$(free_port)
tls_port=$(free_port)
bench_config "" "" "[auth]
hash_threads = 2" "listen = [\"127.0.0.1:$port\"]
tls_listen = [\"127.0.0.1:$tls_port\"]
allow_plaintext_auth = true"
admin domain add "$DOMAIN" >/dev/null
head -1 "$RUN/dovecot/users" | cut -d: -f2 > "$work/ms/hash"
for i in $(seq 1 "$NUSERS"); do admin user add "user$i@$DOMAIN" --password-hash-file "$work/ms/hash" >/dev/null; done
admin import "user1@$DOMAIN" "$work/maildir-100k" >/dev/null
for i in $(seq 2 $((clients + 1))); do admin import "user$i@$DOMAIN" "$work/maildir-50" >/dev/null; done
sed -i 's/^level = "warn"/level = "info"/' "$work/ms/mailstead.toml"
start_mailstead "$build/imapd/mailstead-imapd" "$work/ms/mailstead.toml"
imapd_pid=${bench_pids[-1]}
# The text index is built in the background after the import: measure once it is.
until grep -q 'event=text_indexed .*through=99968 ' "$work/mailstead-imapd.log"; do sleep 0.5; done

load() { python3 "$here/imap_load.py" "$@"; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); median of $runs runs after a warm-up"
echo "# mailstead: threads=1; Dovecot: reference-stack defaults + bench/dovecot-imap.conf, Maildir"
printf '%-52s %12s %12s %8s\n' "case" "mailstead" "dovecot" "ratio"
report() { printf '%-52s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }

load big "$HOST" "$port" "user1@$DOMAIN" "$PASS" >/dev/null
load big "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS" >/dev/null
for _ in $(seq "$runs"); do load big "$HOST" "$port" "user1@$DOMAIN" "$PASS"; done > "$work/ms.big"
for _ in $(seq "$runs"); do load big "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS"; done > "$work/dc.big"
for key in select_ms fetch_ms search_header_ms search_body_ms; do
  m=$(field "$key" < "$work/ms.big" | median)
  d=$(field "$key" < "$work/dc.big" | median)
  report "100,000 messages: $key (lower is better)" "$m" "$d"
done
# Last, as it changes the mailbox: Dovecot's Maildir would be resynchronised in later runs.
load reselect "$HOST" "$port" "user1@$DOMAIN" "$PASS" >/dev/null
load reselect "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS" >/dev/null
for _ in $(seq "$runs"); do load reselect "$HOST" "$port" "user1@$DOMAIN" "$PASS"; done > "$work/ms.reselect"
for _ in $(seq "$runs"); do load reselect "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS"; done > "$work/dc.reselect"
report "100,000 messages: select_after_new_mail_ms (lower is better)" \
  "$(field select_after_new_mail_ms < "$work/ms.reselect" | median)" \
  "$(field select_after_new_mail_ms < "$work/dc.reselect" | median)"

# QRESYNC (RFC 7162) against a full flag resync; each run changes 100 messages' flags and
# expunges 10 of user1's INBOX first.
for mode in qresync full; do
  load resync "$HOST" "$port" "user1@$DOMAIN" "$PASS" "$mode" >/dev/null
  load resync "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS" "$mode" >/dev/null
  for _ in $(seq "$runs"); do load resync "$HOST" "$port" "user1@$DOMAIN" "$PASS" "$mode"; done > "$work/ms.resync"
  for _ in $(seq "$runs"); do load resync "$HOST" "$IMAP_PORT" "user1@$DOMAIN" "$PASS" "$mode"; done > "$work/dc.resync"
  for key in resync_ms resync_octets; do
    report "100 changes + 10 expunges, $mode: $key (lower is better)" "$(field "$key" < "$work/ms.resync" | median)" \
      "$(field "$key" < "$work/dc.resync" | median)"
  done
done

mixed() { load mixed "$HOST" "$1" "user%d@$DOMAIN" "$PASS" "$clients" "$seconds" 2; }
mixed "$port" >/dev/null
mixed "$IMAP_PORT" >/dev/null
for _ in $(seq "$runs"); do mixed "$port"; done > "$work/ms.mixed"
for _ in $(seq "$runs"); do mixed "$IMAP_PORT"; done > "$work/dc.mixed"
for key in sessions_per_s commands_per_s; do
  report "mixed load, $clients clients: $key" "$(field "$key" < "$work/ms.mixed" | median)" \
    "$(field "$key" < "$work/dc.mixed" | median)"
done

# APPEND from Python's imaplib as it comes (Nagle on, each literal's CRLF written apart): a
# migration script's pace. user2's INBOX is not touched (a new mailbox, deleted afterwards).
appends() { load append "$HOST" "$1" "user2@$DOMAIN" "$PASS" "$APPEND_COUNT"; }
APPEND_COUNT=${APPEND_COUNT:-500}
appends "$port" >/dev/null
appends "$IMAP_PORT" >/dev/null
for _ in $(seq "$runs"); do appends "$port"; done > "$work/ms.append"
for _ in $(seq "$runs"); do appends "$IMAP_PORT"; done > "$work/dc.append"
report "imaplib APPEND, $APPEND_COUNT x 2 KiB: appends_per_s" "$(field appends_per_s < "$work/ms.append" | median)" \
  "$(field appends_per_s < "$work/dc.append" | median)"

# isync's mbsync pushing a Maildir into a new mailbox over implicit TLS, as a migration with
# it does (user2's INBOX is not touched).
mbsync_count=${MBSYNC_COUNT:-1000}
python3 "$here/make_maildir.py" "$work/maildir-push" "$mbsync_count" --size 2048
pushes() { load mbsync "$HOST" "$1" "user2@$DOMAIN" "$PASS" "$work/maildir-push" "$RUN/dovecot/ssl/cert.pem"; }
pushes "$tls_port" >/dev/null
pushes "$IMAPS_PORT" >/dev/null
for _ in $(seq "$runs"); do pushes "$tls_port"; done > "$work/ms.mbsync"
for _ in $(seq "$runs"); do pushes "$IMAPS_PORT"; done > "$work/dc.mbsync"
report "mbsync push, $mbsync_count x 2 KiB: messages_per_s" "$(field mbsync_messages_per_s < "$work/ms.mbsync" | median)" \
  "$(field mbsync_messages_per_s < "$work/dc.mbsync" | median)"

dovecot_pid=$(cat "$RUN/dovecot/run/master.pid")
# Each memory figure from a fresh mailstead-imapd: memory freed by an earlier measurement's
# connections would otherwise be reused and hide the cost.
restart_imapd() {
  kill "$imapd_pid"
  wait "$imapd_pid" 2>/dev/null || true
  start_mailstead "$build/imapd/mailstead-imapd" "$work/ms/mailstead.toml"
  imapd_pid=${bench_pids[-1]}
}
# Idle sessions belong to users 2..NUSERS: user1's 100,000-message INBOX would put its mapped
# store pages into the figure.
idle_users=$((NUSERS - 1))
first=1
for count in $idle_counts; do
  restart_imapd
  m=$(load idle "$HOST" "$port" "user%d@$DOMAIN" "$PASS" "$count" "$imapd_pid" "$idle_users" | field kib_per_connection)
  d="-"
  if [ "$first" = 1 ]; then
    d=$(load idle "$HOST" "$IMAP_PORT" "user%d@$DOMAIN" "$PASS" "$count" "$dovecot_pid" "$idle_users" | field kib_per_connection)
    first=0
  fi
  if [ "$d" = "-" ]; then
    printf '%-52s %12s %12s %8s\n' "KiB PSS per idle connection, $count (lower is better)" "$m" "-" "-"
  else
    report "KiB PSS per idle connection, $count (lower is better)" "$m" "$d"
  fi
done
restart_imapd
m=$(load idle "$HOST" "$tls_port" "user%d@$DOMAIN" "$PASS" "$tls_idle_count" "$imapd_pid" "$idle_users" tls | field kib_per_connection)
d=$(load idle "$HOST" "$IMAPS_PORT" "user%d@$DOMAIN" "$PASS" "$tls_idle_count" "$dovecot_pid" "$idle_users" tls | field kib_per_connection)
report "KiB PSS per idle TLS connection, $tls_idle_count (lower is better)" "$m" "$d"
# COMPRESS=DEFLATE (RFC 4978): Dovecot's needs its imap_zlib plugin, which the reference stack
# does not load, so mailstead alone.
restart_imapd
m=$(load idle "$HOST" "$port" "user%d@$DOMAIN" "$PASS" "$tls_idle_count" "$imapd_pid" "$idle_users" compress | field kib_per_connection)
printf '%-52s %12s %12s %8s\n' "KiB PSS per idle COMPRESS connection, $tls_idle_count" "$m" "-" "-"
