#!/usr/bin/env bash
# SEARCH benchmark: UID SEARCH of body text, an address and a subject over a 100,000-message
# INBOX that reads like mail (bench/make_corpus.py: Zipf-distributed words, HTML and
# quoted-printable parts, real-looking headers), on mailstead-imapd with its text index, the
# same without it (imapd.text_index = false: every message read), and Dovecot's imap (the
# reference stack, Maildir, no FTS plugin: Debian's default) when it is installed. Also how
# long the index took to build after the import and what it added to the store.
# Milliseconds, median of RUNS runs after a warm-up run, the three servers taking turns.
# usage (as root): bench/search.sh [BUILD_DIR]     COUNT=100000 RUNS=5
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
runs=${RUNS:-5}
count=${COUNT:-100000}
. "$here/lib.sh"
export NUSERS=2
bench_setup search
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

echo "# generating $count messages"
python3 "$here/make_corpus.py" "$work/corpus" "$count"
words="$work/corpus/words-by-rank"
common=$(sed -n 1p "$words")     # the most frequent word
middling=$(sed -n 300p "$words")
rare=$(sed -n 20000p "$words")
criteria=("BODY quuxeltrope" "FROM rare.sender" "TEXT \"rare.sender@example.net\"" "BODY $rare"
          "SUBJECT $middling" "BODY $common" "BODY zqxwvyk" "OR BODY $rare TEXT quuxeltrope")
names=("BODY, 1 message" "FROM, 1 message" "TEXT of an address, 1 message" "BODY, a rare word"
       "SUBJECT, a middling word" "BODY, the commonest word" "BODY, in no message" "OR of BODY and TEXT")

dovecot=no
if command -v dovecot >/dev/null && command -v postfix >/dev/null; then
  dovecot=yes
  echo "# starting the reference stack (Dovecot $(dovecot --version | cut -d' ' -f1))"
  "$refstack/ref/start.sh" >/dev/null
  mkdir -p "$RUN/mail/user1"
  cp -r "$work/corpus" "$RUN/mail/user1/Maildir"
  chown -R "$MAIL_UID:" "$RUN/mail"
fi

echo "# importing into mailstead"
port=$(free_port)
mkdir -p "$work/tls"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout "$work/tls/key.pem" \
  -out "$work/tls/cert.pem" 2>/dev/null
RUN="$work" bench_config "" "" "" "listen = [\"127.0.0.1:$port\"]
tls_listen = []
allow_plaintext_auth = true"
sed -i -e 's/^level = "warn"/level = "debug"/' -e "s|^certificate = .*|certificate = \"$work/tls/cert.pem\"|" \
  -e "s|^private_key = .*|private_key = \"$work/tls/key.pem\"|" "$work/ms/mailstead.toml"
admin domain add "$DOMAIN" >/dev/null
openssl passwd -6 "$PASS" > "$work/hash"
admin user add "user1@$DOMAIN" --password-hash-file "$work/hash" >/dev/null
admin import "user1@$DOMAIN" "$work/corpus" >/dev/null
store="$work/ms/data/data.mdb"
before=$(stat -c %s "$store")

log="$work/mailstead-imapd.log"
indexed() { sed -n 's/.*event=text_indexed .*through=\([0-9]*\).*/\1/p' "$log" | sort -n | tail -1; }
started=$(now)
start_mailstead "$build/imapd/mailstead-imapd" "$work/ms/mailstead.toml"
# Whole segments of 64 only: the last few messages wait for more (searches read them).
until [ "$(indexed)" = "$(( count / 64 * 64 ))" ]; do sleep 0.2; done
index_s=$(awk -v a="$started" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}')
after=$(stat -c %s "$store")

# The same store searched without the index, by a second imapd beside the first, so that the
# runs alternate and a machine that slows down or speeds up meanwhile touches both alike.
scan_port=$(free_port)
sed -e 's/^\[imapd\]$/[imapd]\ntext_index = false/' -e "s/127.0.0.1:$port/127.0.0.1:$scan_port/" \
  "$work/ms/mailstead.toml" > "$work/ms/scan.toml"
ln -s "$build/imapd/mailstead-imapd" "$work/mailstead-imapd-scan"
start_mailstead "$work/mailstead-imapd-scan" "$work/ms/scan.toml"

load() { python3 "$here/imap_load.py" searches "$HOST" "$1" "user1@$DOMAIN" "$PASS" "${criteria[@]}"; }
load "$port" >/dev/null
load "$scan_port" >/dev/null
if [ "$dovecot" = yes ]; then load "$IMAP_PORT" >/dev/null; fi
for _ in $(seq "$runs"); do
  load "$port" >> "$work/index"
  load "$scan_port" >> "$work/scan"
  if [ "$dovecot" = yes ]; then load "$IMAP_PORT" >> "$work/dovecot"; fi
done
reads=$(grep -o 'event=search .*read=[0-9]*' "$log" | sed 's/.*read=//' | tail -"${#criteria[@]}")

echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $count messages ($(du -sm "$work/corpus" | cut -f1) MB); median of $runs runs after a warm-up"
echo "# index built in $index_s s after imapd started; the store grew by $(( (after - before) / 1048576 )) MiB ($(( (after - before) / count )) bytes a message)"
printf '%-32s %8s %8s %10s %10s %8s %8s\n' "UID SEARCH (ms)" "matches" "read" "index" "scan" "dovecot" "ratio"
i=0
for name in "${names[@]}"; do
  m=$(field "case${i}_ms" < "$work/index" | median)
  s=$(field "case${i}_ms" < "$work/scan" | median)
  d=-
  if [ "$dovecot" = yes ]; then d=$(field "case${i}_ms" < "$work/dovecot" | median); fi
  matches=$(field "case${i}_matches" < "$work/index" | head -1)
  read=$(echo "$reads" | sed -n "$((i + 1))p")
  printf '%-32s %8s %8s %10s %10s %8s %8s\n' "$name" "$matches" "$read" "$m" "$s" "$d" "$(ratio "$m" "$s")"
  i=$((i + 1))
done
