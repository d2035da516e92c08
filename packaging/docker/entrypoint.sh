#!/bin/bash
# The container's entrypoint.
#   run     (default) first start: writes /etc/mailstead/mailstead.toml and a self-signed
#           certificate if none is there, adds MAILSTEAD_DOMAIN and the first user; then starts
#           the three daemons (they bind their ports as root and run as the mailstead user),
#           forwards SIGTERM/SIGINT/SIGHUP to them, and exits non-zero as soon as one dies.
#   health  the HEALTHCHECK: each daemon answers its greeting on its plain port.
#   *       any other command runs as given (e.g. `mailstead user add ...`).
#
# Environment, read on the first start only:
#   MAILSTEAD_HOSTNAME       server.hostname and the certificate's name (default: the container's)
#   MAILSTEAD_DOMAIN         first mail domain, e.g. example.com
#   MAILSTEAD_USER           first user's address, e.g. alice@example.com
#   MAILSTEAD_PASSWORD_FILE  file holding that user's password (a Docker secret)
#   MAILSTEAD_LISTEN_ADDRESS listen address of every port instead of 0.0.0.0 and [::]
set -euo pipefail

config=/etc/mailstead/mailstead.toml
tls=/etc/mailstead/tls
listen=${MAILSTEAD_LISTEN_ADDRESS:-}

say() { echo "mailstead-entrypoint: $*"; }

first_start() {
  local host=${MAILSTEAD_HOSTNAME:-$(hostname)}
  say "first start: writing $config for $host"
  mkdir -p /etc/mailstead
  mailstead config sample >"$config.new"
  sed -i "0,/^hostname = \"\"/s//hostname = \"$host\"/" "$config.new"
  if [ -n "$listen" ]; then
    sed -i -E "s/\"0\.0\.0\.0:([0-9]+)\", \"\[::\]:[0-9]+\"/\"$listen:\1\"/" "$config.new"
  fi
  mv "$config.new" "$config"
  if [ ! -e "$tls/cert.pem" ]; then
    mkdir -p "$tls"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=$host" -addext "subjectAltName=DNS:$host" \
      -keyout "$tls/key.pem" -out "$tls/cert.pem" 2>/dev/null
    chown root:mailstead "$tls/key.pem" && chmod 0640 "$tls/key.pem"
    say "created a self-signed certificate for $host; mount a real one at $tls/cert.pem and key.pem"
  fi
}

add_first_user() {
  if [ -n "${MAILSTEAD_DOMAIN:-}" ] && ! mailstead domain list | grep -qx "$MAILSTEAD_DOMAIN"; then
    mailstead domain add "$MAILSTEAD_DOMAIN"
  fi
  if [ -n "${MAILSTEAD_USER:-}" ] && ! mailstead user list | grep -q "^$MAILSTEAD_USER "; then
    [ -r "${MAILSTEAD_PASSWORD_FILE:-}" ] || { say "MAILSTEAD_USER needs MAILSTEAD_PASSWORD_FILE (a readable file)"; exit 2; }
    mailstead user add "$MAILSTEAD_USER" --password-file "$MAILSTEAD_PASSWORD_FILE"
  fi
}

run() {
  [ -f "$config" ] || first_start
  # A fresh volume arrives owned by root.
  [ "$(stat -c %U /var/lib/mailstead)" = mailstead ] || chown mailstead:mailstead /var/lib/mailstead
  chmod 0750 /var/lib/mailstead
  mailstead config check
  add_first_user

  local pids=() names=(smtpd pop3d imapd)
  for name in "${names[@]}"; do
    "/usr/sbin/mailstead-$name" 2>&1 &
    pids+=($!)
  done
  stopping=0 hup=0
  trap 'stopping=1; kill -TERM "${pids[@]}" 2>/dev/null || true' TERM INT
  trap 'hup=1; kill -HUP "${pids[@]}" 2>/dev/null || true' HUP
  local status=0
  # A trapped signal ends `wait -n` early; after a reload, keep waiting.
  while :; do
    hup=0
    wait -n "${pids[@]}" && status=0 || status=$?
    [ "$hup" -eq 1 ] && [ "$stopping" -eq 0 ] || break
  done
  if [ "$stopping" -eq 0 ]; then
    say "a daemon exited (status $status); stopping the others"
    kill -TERM "${pids[@]}" 2>/dev/null || true
    wait "${pids[@]}" 2>/dev/null || true
    exit $((status == 0 ? 1 : status))
  fi
  local final=0
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || final=$?; done
  exit "$final"
}

greets() {  # host port expected-prefix
  local reply
  exec 3<>"/dev/tcp/$1/$2" || return 1
  IFS= read -r -t 5 reply <&3 || return 1
  exec 3>&-
  [[ $reply == "$3"* ]]
}

health() {
  local host=${listen:-127.0.0.1}
  greets "$host" 25 "220 " && greets "$host" 143 "* OK" && greets "$host" 110 "+OK"
}

case "${1:-run}" in
  run) run ;;
  health) health ;;
  *) exec "$@" ;;
esac
