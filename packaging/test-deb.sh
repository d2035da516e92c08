#!/usr/bin/env bash
# The Debian package, as a user meets it: builds the .deb from an already compiled build
# directory (no second compile), lintians it, checks the systemd units, installs it with dpkg
# on this machine, starts the installed daemons the way their units do (as the mailstead user
# with CAP_NET_BIND_SERVICE only, from the installed config, here bound to 127.0.0.1), runs the
# smoke test (domain and user added with the installed `mailstead`; SMTP with STARTTLS, IMAPS,
# POP3S), stops them, purges the package and checks that nothing of it is left.
#
# usage: packaging/test-deb.sh BUILD_DIR      (as root; scripts/test.sh runs it)
# The .deb files are left in BUILD_DIR/packages for packaging/test-docker.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "$1")
out="$build/packages"
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if dpkg-query -W -f='${Status}' mailstead 2>/dev/null | grep -q installed; then dpkg --purge mailstead >/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "test-deb: FAILED: $*" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] || fail "needs root: it installs and purges the package"
# mailstead is a mail-transport-agent and conflicts with the others, like every Debian MTA.
other_mta=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Provides}\n' 2>/dev/null |
  awk '$2 ~ /^.i/ && /mail-transport-agent/ && $1 != "mailstead" {print $1}' | tr '\n' ' ')
[ -z "$other_mta" ] || fail "another MTA is installed ($other_mta); remove it to test the package (apt-get remove $other_mta)"
if dpkg-query -W -f='${Status}' mailstead 2>/dev/null | grep -q installed; then
  fail "mailstead is already installed on this machine; the test needs to install it itself"
fi

echo "== deb: dpkg-buildpackage from $build"
version=$(dpkg-parsechangelog -l packaging/debian/changelog -S Version)
arch=$(dpkg --print-architecture)
rm -rf "$out" && mkdir -p "$out"
MAILSTEAD_DEB_BUILD_DIR="$build" dpkg-buildpackage -us -uc -b --no-pre-clean --no-post-clean >"$work/build.log" 2>&1 ||
  { tail -50 "$work/build.log"; fail "dpkg-buildpackage"; }
for f in ../mailstead_"${version}"_"$arch".{deb,changes,buildinfo} ../mailstead-dbgsym_"${version}"_"$arch".deb; do
  [ -e "$f" ] && mv "$f" "$out/"
done
deb="$out/mailstead_${version}_${arch}.deb"
[ -f "$deb" ] || fail "no $deb"
ls -l "$out"

echo "== deb: lintian (errors fail; warnings are listed)"
lintian --fail-on error "$deb" |& tee "$work/lintian.log" ||
  fail "lintian reports errors"

echo "== deb: install"
DEBIAN_FRONTEND=noninteractive dpkg -i "$deb"
for path in /usr/sbin/sendmail /usr/lib/sendmail /usr/sbin/mailstead-smtpd /usr/sbin/mailstead-pop3d /usr/sbin/mailstead-imapd /usr/bin/mailstead \
            /etc/mailstead/mailstead.toml /etc/mailstead/tls/cert.pem /etc/mailstead/tls/key.pem; do
  [ -e "$path" ] || fail "$path is not installed"
done
[ "$(stat -c %U:%G:%a /var/lib/mailstead)" = mailstead:mailstead:750 ] || fail "/var/lib/mailstead: $(stat -c %U:%G:%a /var/lib/mailstead)"
[ "$(stat -c %U:%G:%a /etc/mailstead/tls/key.pem)" = root:mailstead:640 ] || fail "key.pem: $(stat -c %U:%G:%a /etc/mailstead/tls/key.pem)"
# A second configure (dpkg-reconfigure, an upgrade) changes nothing and keeps the certificate.
fingerprint=$(openssl x509 -noout -fingerprint -in /etc/mailstead/tls/cert.pem)
DEBIAN_FRONTEND=noninteractive dpkg-reconfigure mailstead >/dev/null
[ "$fingerprint" = "$(openssl x509 -noout -fingerprint -in /etc/mailstead/tls/cert.pem)" ] || fail "postinst replaced the certificate"

echo "== deb: systemd-analyze verify"
systemd-analyze verify /lib/systemd/system/mailstead.target /lib/systemd/system/mailstead-{smtpd,pop3d,imapd}.service

echo "== deb: start the installed daemons as their units do"
# Only the addresses change: this machine's tests stay on loopback.
sed -i -E 's/"0\.0\.0\.0:([0-9]+)", "\[::\]:[0-9]+"/"127.0.0.1:\1"/' /etc/mailstead/mailstead.toml
grep -q '"0.0.0.0' /etc/mailstead/mailstead.toml && fail "could not move the listeners to loopback"
mailstead config check
mailstead domain add example.test >/dev/null
(umask 077 && openssl rand -hex 12 >"$work/alice.password")
mailstead user add alice@example.test --password-file "$work/alice.password" >/dev/null
install -d -o mailstead -g mailstead -m 0755 /run/mailstead  # the smtpd unit's RuntimeDirectory=
for daemon in smtpd pop3d imapd; do
  setpriv --reuid=mailstead --regid=mailstead --init-groups --inh-caps=-all,+net_bind_service \
    --ambient-caps=-all,+net_bind_service --bounding-set=-all,+net_bind_service --no-new-privs \
    "/usr/sbin/mailstead-$daemon" >"$work/$daemon.out" 2>"$work/$daemon.log" &
  pids+=($!)
done
for i in 0 1 2; do
  daemon=(smtpd pop3d imapd)
  for _ in $(seq 100); do grep -q '^ready' "$work/${daemon[$i]}.out" && break; sleep 0.1; done
  grep -q '^ready' "$work/${daemon[$i]}.out" || { cat "$work/${daemon[$i]}.log"; fail "mailstead-${daemon[$i]} did not start"; }
done

echo "== deb: smoke test"
# What cron does, as an unprivileged user: /usr/sbin/sendmail to the local socket.
marker=$(openssl rand -hex 8)
printf 'Subject: from cron\n\nsent with sendmail %s\n' "$marker" |
  setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/sbin/sendmail -i alice@example.test ||
  fail "sendmail as nobody"
python3 packaging/smoke.py --address alice@example.test --password-file "$work/alice.password" \
  --cafile /etc/mailstead/tls/cert.pem --also-expect "$marker" || { tail -20 "$work"/*.log; fail "smoke test"; }
owners=$(find /var/lib/mailstead -mindepth 1 ! -user mailstead | head -5)
[ -z "$owners" ] || fail "files in /var/lib/mailstead not owned by mailstead: $owners"

for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for i in "${!pids[@]}"; do
  wait "${pids[$i]}" || fail "a daemon exited with status $? on SIGTERM"
done
pids=()

echo "== deb: purge"
dpkg --purge mailstead
rm -rf /run/mailstead  # systemd removes a RuntimeDirectory when the unit stops
left=$(ls -d /etc/mailstead /var/lib/mailstead /usr/sbin/mailstead-* /usr/bin/mailstead /usr/sbin/sendmail /usr/lib/sendmail \
  /lib/systemd/system/mailstead* /usr/share/doc/mailstead 2>/dev/null || true)
[ -z "$left" ] || fail "left behind after purge: $left"
echo "test-deb: passed"
