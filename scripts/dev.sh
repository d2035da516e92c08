#!/usr/bin/env bash
# The README's run command: installs dependencies, builds, creates the development instance
# (dev-instance/: config, data dir, self-signed certificate, domain example.test, user
# alice@example.test with a generated password kept in dev-instance/alice.password) and runs
# every daemon that exists in the foreground on 127.0.0.1. Ctrl-C stops them all. Running it
# again reuses the instance.
#
# Environment (for tests): MAILSTEAD_DEV_DIR (default dev-instance), MAILSTEAD_BUILD_DIR
# (default build).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
instance=${MAILSTEAD_DEV_DIR:-$root/dev-instance}
build=${MAILSTEAD_BUILD_DIR:-$root/build}

scripts/install-deps.sh
scripts/build.sh "$build"
admin="$build/admin/mailstead"

if [ ! -f "$instance/mailstead.toml" ]; then
  echo "dev: creating the development instance in $instance"
  mkdir -p "$instance/tls" "$instance/data"
  openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=mail.example.test" \
    -addext "subjectAltName=DNS:mail.example.test,DNS:localhost,IP:127.0.0.1" \
    -keyout "$instance/tls/key.pem" -out "$instance/tls/cert.pem" 2>/dev/null
  chmod 600 "$instance/tls/key.pem"
  (umask 077 && openssl rand -base64 18 | tr -d '/+=\n' > "$instance/alice.password")
  cp etc/dev.toml "$instance/mailstead.toml"
fi
# Instances made before smtpd had a local socket would point it at /run/mailstead, which a
# development instance cannot create; give them theirs.
if ! grep -q '^local_socket' "$instance/mailstead.toml"; then
  sed -i '/^\[smtpd\]/a local_socket = "submit.sock"' "$instance/mailstead.toml"
fi
"$admin" -c "$instance/mailstead.toml" config check

password=$(cat "$instance/alice.password")
cat <<TXT

  mailstead development instance: $instance
  config:   $instance/mailstead.toml   (mailstead -c $instance/mailstead.toml ...)
  domain:   example.test
  user:     alice@example.test
  password: $password   (kept in $instance/alice.password)

TXT
mailstead() { "$admin" -c "$instance/mailstead.toml" "$@"; }
mailstead domain list | grep -qx example.test || mailstead domain add example.test >/dev/null
mailstead user list example.test | grep -q '^alice@example.test ' ||
  mailstead user add alice@example.test --password-file "$instance/alice.password" >/dev/null
echo "  storage: $instance/data (mailstead -c $instance/mailstead.toml user list)"

stop() {
  trap - INT TERM
  echo "dev: stopping"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  exit 0
}
trap stop INT TERM

pids=()
ready_files=()
declare -A ports=([smtpd]="SMTP 2525, submission 2587, SMTPS 2465" [pop3d]="POP3 2110, POP3S 2995"
                  [imapd]="IMAP 2143, IMAPS 2993")
for daemon in smtpd pop3d imapd; do
  binary="$build/$daemon/mailstead-$daemon"
  if [ -x "$binary" ]; then
    echo "  starting mailstead-$daemon (${ports[$daemon]})"
    ready_file=$(mktemp)
    "$binary" -c "$instance/mailstead.toml" > "$ready_file" &
    pids+=($!)
    ready_files+=("$ready_file")
  else
    echo "  not there yet: mailstead-$daemon (${ports[$daemon]})"
  fi
done
if [ ${#pids[@]} -eq 0 ]; then
  echo
  echo "No daemon is built yet, so there is nothing to run; the instance is ready for them."
  exit 0
fi

# A daemon prints "ready" once it listens; say "Running" only when all of them do.
for i in "${!pids[@]}"; do
  until grep -q '^ready' "${ready_files[$i]}"; do
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then
      echo "dev: a daemon failed to start; stopping" >&2
      kill -TERM "${pids[@]}" 2>/dev/null || true
      rm -f "${ready_files[@]}"
      exit 1
    fi
    sleep 0.1
  done
done
rm -f "${ready_files[@]}"

echo "Running; Ctrl-C stops all daemons."
status=0
wait -n "${pids[@]}" || status=$?
echo "dev: a daemon exited (status $status); stopping the others"
kill -TERM "${pids[@]}" 2>/dev/null || true
wait "${pids[@]}" 2>/dev/null || true
exit "$status"
