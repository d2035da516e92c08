#!/usr/bin/env bash
# The Docker image, as a user meets it, on a machine without a Docker engine: makes the
# debian:bookworm-slim base from packaging/base-rootfs.sh with `podman import`, builds
# packaging/docker/Dockerfile from the .deb that packaging/test-deb.sh built (no second
# compile), then runs the image's entrypoint with `buildah run` (host network, loopback only):
# first start from the environment (domain, user, password file), the HEALTHCHECK command,
# the smoke test from the host, SIGTERM forwarded to the daemons (clean exit), and a dying
# daemon making the container exit non-zero.
#
# usage: packaging/test-docker.sh BUILD_DIR      (as root; scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "$1")
work=$(mktemp -d)
image=localhost/mailstead:test
base=docker.io/library/debian:bookworm-slim
container=""
entry_pid=""
podman_flags=(--cgroup-manager=cgroupfs)
# The processes started under PID $1, deepest last (buildah run -> its chroot helper -> the
# entrypoint -> the daemons). Signals go to them by PID: buildah run does not forward them.
descendants() {
  local child
  for child in $(ps -o pid= --ppid "$1"); do
    echo "$child"
    descendants "$child"
  done
}
# The PIDs of the container's processes whose command is $1 (as ps shows it: 15 characters).
container_pids() {
  local pid
  [ -n "$entry_pid" ] || return 0
  for pid in $(descendants "$entry_pid"); do
    [ "$(ps -o comm= -p "$pid")" = "$1" ] && echo "$pid"
  done
  return 0
}
cleanup() {
  set +e
  if [ -n "$entry_pid" ]; then
    kill -TERM $(descendants "$entry_pid") "$entry_pid" 2>/dev/null
    wait "$entry_pid" 2>/dev/null
  fi
  [ -n "$container" ] && buildah rm "$container" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "test-docker: FAILED: $*" >&2
  [ -f "$work/container.log" ] && tail -30 "$work/container.log" >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (podman and buildah with chroot isolation)"
for tool in podman buildah debootstrap; do command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"; done
debs=("$build"/packages/mailstead_*.deb)  # not mailstead-dbgsym_*
deb=${debs[0]}
[ -f "$deb" ] || fail "no .deb in $build/packages; packaging/test-deb.sh builds it"

echo "== docker: base image $base"
if ! podman image exists "$base"; then
  tarball=$(packaging/base-rootfs.sh) || fail "no base file system"
  podman import "$tarball" "$base" >/dev/null
fi
# The Dockerfile's first stage starts from debian:bookworm; given .deb files it only copies
# them, for which the slim base serves as well.
podman image exists docker.io/library/debian:bookworm || podman tag "$base" docker.io/library/debian:bookworm

echo "== docker: build the image from $(basename "$deb")"
mkdir -p "$work/context/debs" "$work/context/packaging"
cp "$deb" "$work/context/debs/"
cp -r packaging/docker "$work/context/packaging/"
# Docker's image format: OCI images have no HEALTHCHECK.
podman "${podman_flags[@]}" build --format docker --pull=never --isolation=chroot \
  -f "$work/context/packaging/docker/Dockerfile" -t "$image" "$work/context" >"$work/build.log" 2>&1 ||
  { tail -30 "$work/build.log"; fail "podman build"; }
config=$(podman image inspect "$image" --format '{{.Config.Healthcheck.Test}} {{.Config.ExposedPorts}} {{.Config.Volumes}} {{.Size}}')
echo "image: $config"
[[ $config == "[CMD /usr/local/sbin/mailstead-entrypoint health] map[110/tcp:{} 143/tcp:{} 25/tcp:{} 465/tcp:{} 587/tcp:{} 993/tcp:{} 995/tcp:{}] map[/etc/mailstead:{} /var/lib/mailstead:{}] "* ]] ||
  fail "the image lacks its health check, ports or volumes"

# Starts the image's entrypoint in a fresh container; sets container and entry_pid.
start_container() {
  container=$(buildah from --pull-never "$image")
  # The volumes are the container's own (buildah keeps them across its runs); the password
  # comes as a file, like a Docker secret.
  (umask 077 && openssl rand -hex 12 >"$work/alice_password")
  buildah copy --chmod 0400 "$container" "$work/alice_password" /srv/secrets/alice_password >/dev/null
  buildah run --isolation=chroot \
    --env MAILSTEAD_HOSTNAME=mail.example.test --env MAILSTEAD_DOMAIN=example.test \
    --env MAILSTEAD_USER=alice@example.test --env MAILSTEAD_PASSWORD_FILE=/srv/secrets/alice_password \
    --env MAILSTEAD_LISTEN_ADDRESS=127.0.0.1 \
    "$container" -- /usr/local/sbin/mailstead-entrypoint >"$work/container.log" 2>&1 &
  entry_pid=$!
  for _ in $(seq 150); do
    buildah run --isolation=chroot "$container" -- /usr/local/sbin/mailstead-entrypoint health 2>/dev/null && return 0
    kill -0 "$entry_pid" 2>/dev/null || fail "the container exited during its first start"
    sleep 0.2
  done
  fail "the HEALTHCHECK command never passed"
}

stop_container() {
  buildah rm "$container" >/dev/null
  container=""
}

echo "== docker: first start, health check, smoke test"
start_container
grep -q "first start" "$work/container.log" || fail "no first-start setup in the log"
in_container() { buildah run --isolation=chroot "$container" -- "$@"; }
in_container cat /etc/mailstead/tls/cert.pem >"$work/cert.pem"
# `docker exec CONTAINER sendmail ...`: a program in the container hands over mail.
marker=$(openssl rand -hex 8)
printf 'Subject: from a script\n\nsent with sendmail %s\n' "$marker" |
  in_container /usr/sbin/sendmail -i alice@example.test || fail "sendmail in the container"
python3 packaging/smoke.py --address alice@example.test --password-file "$work/alice_password" \
  --cafile "$work/cert.pem" --also-expect "$marker" || fail "smoke test"
[ "$(in_container stat -c %U:%a /var/lib/mailstead)" = mailstead:750 ] || fail "the data volume: $(in_container stat -c %U:%a /var/lib/mailstead)"
mailstead_uid=$(in_container id -u mailstead)
for daemon in smtpd pop3d imapd; do
  pid=$(container_pids "mailstead-$daemon")
  [ -n "$pid" ] || fail "mailstead-$daemon is not running"
  [ "$(ps -o uid= -p "$pid" | tr -d ' ')" = "$mailstead_uid" ] || fail "mailstead-$daemon does not run as mailstead"
done

echo "== docker: SIGHUP reloads every daemon; SIGTERM stops them and the container exits 0"
entrypoint=$(container_pids mailstead-entry)
[ -n "$entrypoint" ] || fail "cannot find the entrypoint process"
kill -HUP "$entrypoint"
for _ in $(seq 50); do [ "$(grep -c 'event=reloaded' "$work/container.log")" -eq 3 ] && break; sleep 0.1; done
[ "$(grep -c 'event=reloaded' "$work/container.log")" -eq 3 ] || fail "SIGHUP did not reload the three daemons"
in_container /usr/local/sbin/mailstead-entrypoint health || fail "unhealthy after a reload"
daemons=$(container_pids mailstead-smtpd; container_pids mailstead-pop3d; container_pids mailstead-imapd)
kill -TERM "$entrypoint"
status=0
wait "$entry_pid" || status=$?
entry_pid=""
[ "$status" -eq 0 ] || fail "container exit status $status after SIGTERM"
for pid in $daemons; do kill -0 "$pid" 2>/dev/null && fail "a daemon (PID $pid) still runs"; done
grep -q "event=stopped" "$work/container.log" || fail "the daemons did not log a clean stop"

echo "== docker: a dying daemon stops the container with a non-zero status"
cp "$work/container.log" "$work/first-run.log"
start_container_again() {
  buildah run --isolation=chroot "$container" -- \
    /usr/local/sbin/mailstead-entrypoint >"$work/container.log" 2>&1 &
  entry_pid=$!
  for _ in $(seq 150); do
    buildah run --isolation=chroot "$container" -- /usr/local/sbin/mailstead-entrypoint health 2>/dev/null && return 0
    sleep 0.2
  done
  fail "the second start never became healthy"
}
start_container_again
grep -q "first start" "$work/container.log" && fail "the second start ran the first-start setup again"
imapd=$(container_pids mailstead-imapd)
kill -KILL "$(container_pids mailstead-pop3d)"
status=0
wait "$entry_pid" || status=$?
entry_pid=""
[ "$status" -ne 0 ] || fail "the container exited 0 after a daemon died"
kill -0 "$imapd" 2>/dev/null && fail "mailstead-imapd outlived the container"
stop_container
echo "test-docker: passed"
