#!/usr/bin/env bash
# The .deb under real systemd: boots a Debian 12 container (systemd-nspawn, host network,
# loopback only) with the package installed, and checks from inside what the hardened units
# do: the daemons start (Type=notify) as mailstead under their sandbox, mail goes in over
# SMTP and sendmail and comes out over IMAP and POP3, `systemctl reload mailstead.target`
# reaches every daemon, `systemctl stop` ends them. These machines run no systemd as PID 1,
# so this is the one place the units really run.
#
# usage: packaging/test-systemd.sh BUILD_DIR      (as root; scripts/test.sh runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(realpath "$1")
work=$(mktemp -d)
root="$work/root"
trap 'rm -rf "$work"' EXIT
fail() {
  echo "test-systemd: FAILED: $*" >&2
  [ -d "$root/root/result" ] && tail -n 40 "$root"/root/result/* >&2
  exit 1
}
[ "$(id -u)" -eq 0 ] || fail "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || fail "systemd-nspawn is missing (scripts/install-deps.sh installs systemd-container)"
debs=("$build"/packages/mailstead_*.deb)
[ -f "${debs[0]}" ] || fail "no .deb in $build/packages; packaging/test-deb.sh builds it"

echo "== systemd: a Debian 12 system with systemd and the package"
tarball=$(packaging/base-rootfs.sh) || fail "no base file system"
mkdir "$root"
tar -C "$root" -xf "$tarball"
cp "${debs[0]}" "$root/tmp/"
cp /etc/resolv.conf "$root/etc/resolv.conf"
chroot "$root" /bin/sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
  --no-install-recommends systemd systemd-sysv dbus python3 /tmp/$(basename "${debs[0]}")" >"$work/install.log" 2>&1 ||
  { tail -30 "$work/install.log"; fail "installing into the container"; }

# What an administrator does after the install; then a check that runs once the system is up.
config="$root/etc/mailstead/mailstead.toml"
sed -i -E 's/"0\.0\.0\.0:([0-9]+)", "\[::\]:[0-9]+"/"127.0.0.1:\1"/' "$config"  # loopback only here
sed -i '0,/^hostname = ""/s//hostname = "mail.example.test"/' "$config"
openssl rand -hex 12 >"$root/root/alice.password"
chroot "$root" mailstead domain add example.test >/dev/null
chroot "$root" mailstead user add alice@example.test --password-file /root/alice.password >/dev/null
cp packaging/smoke.py "$root/root/"
mkdir "$root/root/result"
cat >"$root/root/check.sh" <<'CHECK'
#!/bin/sh
out=/root/result
systemctl is-active mailstead-smtpd mailstead-imapd mailstead-pop3d >$out/active 2>&1
systemctl show -p User,NRestarts mailstead-smtpd mailstead-imapd mailstead-pop3d >$out/show 2>&1
printf 'Subject: cron\n\nfrom sendmail marker-cron\n' |
  su nobody -s /bin/sh -c '/usr/sbin/sendmail -i alice@example.test' >$out/sendmail 2>&1
echo "status $?" >>$out/sendmail
python3 /root/smoke.py --address alice@example.test --password-file /root/alice.password \
  --cafile /etc/mailstead/tls/cert.pem --also-expect marker-cron >$out/smoke 2>&1
echo "status $?" >>$out/smoke
systemctl reload mailstead.target >$out/reload 2>&1
echo "status $?" >>$out/reload
sleep 1
journalctl -u 'mailstead-*' --no-pager -o cat >$out/journal 2>&1
# Naming the services makes systemctl wait for their stop jobs too.
systemctl stop mailstead.target mailstead-smtpd mailstead-imapd mailstead-pop3d
systemctl is-active mailstead-smtpd mailstead-imapd mailstead-pop3d >$out/stopped 2>&1
systemctl show -p Result,ExecMainStatus mailstead-smtpd mailstead-imapd mailstead-pop3d >$out/after 2>&1
systemctl poweroff
CHECK
chmod +x "$root/root/check.sh"
cat >"$root/etc/systemd/system/mailstead-check.service" <<'UNIT'
[Unit]
Description=mailstead check under systemd
After=mailstead.target
Wants=mailstead.target
[Service]
Type=oneshot
ExecStart=/root/check.sh
[Install]
WantedBy=multi-user.target
UNIT
chroot "$root" systemctl enable mailstead-check.service >/dev/null 2>&1

echo "== systemd: boot"
# --keep-unit and --register=no: no systemd on the host to ask for a scope.
timeout 300 systemd-nspawn -D "$root" -b --register=no --keep-unit --console=pipe -q >"$work/boot.log" 2>&1 ||
  { tail -20 "$work/boot.log"; fail "the container did not boot and power off"; }
result="$root/root/result"
[ -f "$result/stopped" ] || { tail -30 "$work/boot.log"; fail "the check did not run to its end"; }

[ "$(tr '\n' ' ' <"$result/active")" = "active active active " ] || fail "not every daemon came up: $(cat "$result/active")"
[ "$(grep -c '^User=mailstead$' "$result/show")" -eq 3 ] || fail "a daemon does not run as mailstead"
[ "$(grep -c '^NRestarts=0$' "$result/show")" -eq 3 ] || fail "a daemon was restarted"
grep -qx 'status 0' "$result/sendmail" || fail "sendmail as nobody"
grep -qx 'status 0' "$result/smoke" || fail "smoke test"
cat "$result/smoke" | grep '^smoke:'
grep -qx 'status 0' "$result/reload" || fail "systemctl reload mailstead.target"
[ "$(grep -c 'event=reloaded' "$result/journal")" -eq 3 ] || fail "the reload did not reach the three daemons"
grep -q 'event=listen listener=local address="/run/mailstead/submit.sock"' "$result/journal" ||
  fail "smtpd has no local socket in its RuntimeDirectory"
[ "$(tr '\n' ' ' <"$result/stopped")" = "inactive inactive inactive " ] || fail "systemctl stop left a daemon running"
[ "$(grep -c '^Result=success$' "$result/after")" -eq 3 ] && [ "$(grep -c '^ExecMainStatus=0$' "$result/after")" -eq 3 ] ||
  fail "a daemon did not exit cleanly: $(cat "$result/after")"
if grep -E 'SIGSYS|status=31|Permission denied|Read-only file system' "$result/journal"; then
  fail "the sandbox got in a daemon's way"
fi
echo "test-systemd: passed"
