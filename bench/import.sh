#!/usr/bin/env bash
# Import benchmark: `mailstead import` beside Dovecot's `doveadm import` (the reference stack in
# ../shared/reference-stack, Maildir), same machine, same Maildir of COUNT messages (about
# 6 KiB each, flagged \Seen), each into an empty account:
#   - wall time and messages/s
#   - peak resident memory of the importing process (GNU time's maximum RSS)
#   - a second run over the same source: its time, and the messages the account then holds
#     (an import that was interrupted is continued by running it again)
# Each figure is the median of RUNS runs (DOVECOT_RUNS for Dovecot: one of its runs over
# 200,000 messages takes about twenty minutes).
# usage (as root): bench/import.sh [BUILD_DIR]   COUNT=200000 RUNS=3 DOVECOT_RUNS=$RUNS
#   SOURCE=DIR uses a Maildir made before by `make_maildir.py DIR COUNT` instead of a new one.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../build}" && pwd)
count=${COUNT:-200000}
runs=${RUNS:-3}
dovecot_runs=${DOVECOT_RUNS:-$runs}
. "$here/lib.sh"
export NUSERS=1
bench_setup import

[ -x /usr/bin/time ] || { echo "bench/import.sh needs GNU time: apt-get install time" >&2; exit 1; }
source=${SOURCE:-$work/source}
if [ -z "${SOURCE:-}" ]; then
  echo "# generating $count messages"
  python3 "$here/make_maildir.py" "$source" "$count"
fi
echo "# source: $(du -sh "$source" | cut -f1)"

"$refstack/ref/start.sh" >/dev/null
bench_config
head -1 "$RUN/dovecot/users" | cut -d: -f2 > "$work/ms/hash"
dove() { doveadm -c "$RUN/dovecot/dovecot.conf" "$@"; }

# timed OUT COMMAND...: runs COMMAND, leaves "seconds max_rss_kib" in OUT.
timed() { local out=$1; shift; /usr/bin/time -o "$out" -f "%e %M" "$@" >/dev/null; }

mailstead_fresh() {  # a new store, as Dovecot gets a new mail folder
  rm -rf "$work/ms/data"
  admin domain add "$DOMAIN" >/dev/null
  admin user add "user1@$DOMAIN" --password-hash-file "$work/ms/hash" >/dev/null
}
mailstead_count() { admin mailbox list "user1@$DOMAIN" --json | python3 -c \
  'import json,sys; print(sum(m["messages"] for m in json.load(sys.stdin)))'; }
# doveadm keeps its index and UID list inside the source Maildir, so each of its runs reads a
# fresh copy of the source that its mail user may write (made before the clock starts).
dovecot_fresh() {
  rm -rf "$RUN/mail/user1" "$work/dovecot-source"
  install -d -o "$MAIL_UID" -g "$MAIL_UID" "$RUN/mail/user1"
  cp -a "$source" "$work/dovecot-source"
  chown -R "$MAIL_UID:" "$work/dovecot-source"
}
dovecot_count() { dove -f flow mailbox status -u user1 messages INBOX | sed 's/.*messages=//'; }

for side in mailstead dovecot; do
  n=$runs; [ "$side" = dovecot ] && n=$dovecot_runs
  for _ in $(seq "$n"); do
    "${side}_fresh"
    if [ "$side" = mailstead ]; then
      command=("$build/admin/mailstead" -c "$work/ms/mailstead.toml" import "user1@$DOMAIN" "$source")
    else
      command=(doveadm -c "$RUN/dovecot/dovecot.conf" import -u user1 "maildir:$work/dovecot-source" "" all)
    fi
    timed "$work/t1" "${command[@]}"
    timed "$work/t2" "${command[@]}"
    echo "$(cut -d' ' -f1 "$work/t1") $(cut -d' ' -f2 "$work/t1") $(cut -d' ' -f1 "$work/t2") $("${side}_count")" \
      >> "$work/$side.results"
  done
done

column_median() { awk -v c="$2" '{print $c}' "$work/$1.results" | median; }
echo "# $(date -u +%FT%TZ) $(nproc) cores, $(uname -r); $count messages; median of $runs runs (Dovecot: $dovecot_runs)"
echo "# Dovecot $(dovecot --version | cut -d' ' -f1): reference-stack defaults, Maildir"
printf '%-44s %12s %12s %8s\n' "case" "mailstead" "dovecot" "ratio"
report() { printf '%-44s %12s %12s %8s\n' "$1" "$2" "$3" "$(ratio "$2" "$3")"; }
m=$(column_median mailstead 1); d=$(column_median dovecot 1)
report "import: seconds (lower is better)" "$m" "$d"
report "import: messages/s" "$(awk -v n="$count" -v s="$m" 'BEGIN {printf "%.0f", n / s}')" \
  "$(awk -v n="$count" -v s="$d" 'BEGIN {printf "%.0f", n / s}')"
report "import: peak RSS MiB (lower is better)" \
  "$(awk -v k="$(column_median mailstead 2)" 'BEGIN {printf "%.1f", k / 1024}')" \
  "$(awk -v k="$(column_median dovecot 2)" 'BEGIN {printf "%.1f", k / 1024}')"
report "second run: seconds" "$(column_median mailstead 3)" "$(column_median dovecot 3)"
report "second run: messages then held (of $count)" "$(column_median mailstead 4)" "$(column_median dovecot 4)"
