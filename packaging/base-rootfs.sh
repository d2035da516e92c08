#!/usr/bin/env bash
# A minimal Debian 12 root file system, slimmed like Docker's debian:bookworm-slim, as a tar
# file cached in .cache/debootstrap/ (made once with debootstrap from the mirror this
# machine's apt uses). The base of the Docker image test and of the systemd boot test.
#
# usage: packaging/base-rootfs.sh      (as root) prints the path of the tar file
set -euo pipefail
cd "$(dirname "$0")/.."
tarball="$PWD/.cache/debootstrap/bookworm-minbase.tar"
if [ -f "$tarball" ]; then
  echo "$tarball"
  exit 0
fi
mkdir -p "$(dirname "$tarball")"
rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs"  # it becomes /, which every user must be able to enter (mktemp made it 0700)
mirror=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}
debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 ||
  { tail -20 "$rootfs.log" >&2; rm -f "$rootfs.log"; echo "base-rootfs: debootstrap from $mirror failed" >&2; exit 1; }
rm -f "$rootfs.log"
# No documentation, manuals or translations, now or in packages installed later; no caches.
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker-slim" <<'SLIM'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
SLIM
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,groff,lintian,linda}/* "$rootfs"/var/cache/apt/*.bin
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log
tar -C "$rootfs" -cf "$tarball.new" . && mv "$tarball.new" "$tarball"
echo "$tarball"
