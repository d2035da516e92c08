# Shared by the benchmark scripts (sourced, never run): statistics, ports, and a work folder
# beside the reference stack (../shared/reference-stack) that is cleaned up on exit.

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", a / b}'; }
now() { date +%s.%N; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# bench_setup NAME: $work (reachable by the reference stack's postfix user), $RUN inside it,
# the reference stack's variables, and a cleanup that stops what bench_track recorded.
bench_setup() {
  refstack=${REFSTACK:-$here/../../shared/reference-stack}
  work=$(mktemp -d "/tmp/mailstead-bench-$1.XXXXXX")
  chmod 755 "$work"
  export RUN="$work/ref"
  . "$refstack/env.sh"
  bench_pids=()
  trap bench_cleanup EXIT
}
bench_track() { bench_pids+=("$1"); }
bench_cleanup() {
  for p in "${bench_pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  "$refstack/ref/stop.sh" >/dev/null 2>&1 || true
  rm -rf "$work"
}

# start_mailstead BINARY CONFIG: runs a daemon in the background until it says "ready".
start_mailstead() {
  "$1" -c "$2" > "$work/$(basename "$1").ready" 2> "$work/$(basename "$1").log" &
  bench_track $!
  until grep -qs ready "$work/$(basename "$1").ready"; do
    kill -0 "$!" 2>/dev/null || { echo "$1 did not start:" >&2; cat "$work/$(basename "$1").log" >&2; exit 1; }
    sleep 0.1
  done
}

# bench_config SMTPD_KEYS POP3D_KEYS [MORE_SECTIONS] [IMAPD_KEYS]: a mailstead instance config in
# $work/ms on loopback, with the reference stack's certificate and no connection limits in
# the way; a daemon given no keys listens nowhere.
bench_config() {
  mkdir -p "$work/ms"
  cat > "$work/ms/mailstead.toml" <<TOML
[server]
user = ""
data_dir = "$work/ms/data"
threads = 1
[log]
level = "warn"
[tls]
certificate = "$RUN/dovecot/ssl/cert.pem"
private_key = "$RUN/dovecot/ssl/key.pem"
[limits]
max_connections = 20000
max_connections_per_ip = 20000
max_connection_rate_per_ip = 1000000
[smtpd]
local_socket = "$RUN/submit.sock"
${1:-listen = []
submission_listen = []
submissions_listen = []}
[pop3d]
${2:-listen = []
tls_listen = []}
[imapd]
${4:-listen = []
tls_listen = []}
${3:-}
TOML
}
admin() { "$build/admin/mailstead" -c "$work/ms/mailstead.toml" "$@"; }
