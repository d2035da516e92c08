#!/usr/bin/env bash
# Installs the Debian 12 packages mailstead builds and tests with. A no-op when every package
# is already installed; otherwise runs `apt-get update` first (a fresh machine has no lists).
set -euo pipefail

packages=(
  # build
  build-essential cmake ninja-build pkg-config ccache
  # fuzzing: clang's libFuzzer
  clang libclang-rt-14-dev
  # the layout check of the test suite (.clang-format)
  clang-format
  # libraries (see docs/ARCHITECTURE.md, "Dependencies")
  libboost1.81-dev libssl-dev libc-ares-dev liblmdb-dev libfmt-dev libgtest-dev
  libtomlplusplus-dev libcrypt-dev libidn2-dev
  # IMAP COMPRESS=DEFLATE (RFC 4978)
  zlib1g-dev
  # DMARC's organisational domains: libpsl with Debian's Public Suffix List (publicsuffix)
  libpsl-dev publicsuffix
  # run and test: certificates, the end-to-end clients
  openssl python3 ca-certificates curl swaks libnet-ssleay-perl libio-socket-ssl-perl fetchmail isync
  # independent DKIM verifiers and signers for the mail-authentication tests (python3-nacl for
  # ed25519-sha256)
  python3-dkim python3-nacl
  # content filters for the milter tests: rspamd itself, and Sendmail's libmilter for Python
  rspamd python3-milter
  # packaging: the .deb (dpkg-buildpackage, lintian, systemd-analyze, systemd-nspawn to boot
  # it under systemd) and the container image (debootstrap for the base file system, podman
  # and buildah without a Docker engine)
  debhelper lintian systemd systemd-container debootstrap podman buildah
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
# rspamd is for the tests, which start their own on loopback with a config that reaches no
# network. The system service its package would start fetches maps and asks fuzzy servers on
# the Internet: it is not started when we install it (policy-rc.d), nor at boot.
installs_rspamd=false
for p in "${missing[@]}"; do [ "$p" = rspamd ] && installs_rspamd=true; done
policy_added=false
if $installs_rspamd && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee /usr/sbin/policy-rc.d >/dev/null
  "${sudo[@]}" chmod 755 /usr/sbin/policy-rc.d
  policy_added=true
fi
status=0
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" || status=$?
if $policy_added; then "${sudo[@]}" rm -f /usr/sbin/policy-rc.d; fi
if $installs_rspamd && command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
  "${sudo[@]}" systemctl disable --now rspamd.service >/dev/null 2>&1 || true
fi
exit $status
