#!/usr/bin/env bash
# The README's test command, and what CI runs: installs dependencies; builds the normal, the
# AddressSanitizer (+ UBSan) and the ThreadSanitizer configuration once each, and the libFuzzer
# harnesses with clang; packages what the normal build compiled as a .deb and a container image,
# installs each and runs the smoke test against them (packaging/test-deb.sh, test-systemd.sh,
# test-docker.sh; as root); and runs every configuration's tests in one ctest invocation: every
# test of the normal and the ASan build, in the TSan build the unit tests that start threads
# and the e2e suites labelled "threads" with every daemon at server.threads = 4, and each fuzz
# harness briefly over its seed corpus.
#
# Where the time goes on two cores (CI's): compiling is most of it and keeps both cores busy;
# the packaging tests mostly wait on dpkg, apt and the container tools, so they run while the
# sanitizer builds compile; the tests of all configurations share one ctest run (-j2) so that
# a suite waiting on its daemons leaves its core to another, while the suites that measure
# memory and waits (RUN_SERIAL) still run alone.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)

scripts/install-deps.sh

# The packaging tests' Debian base file system comes from the mirror: fetched while the
# normal build compiles.
mkdir -p build-tests
"${as_root[@]}" packaging/base-rootfs.sh >build-tests/base-rootfs.log 2>&1 &
rootfs_pid=$!
scripts/build.sh build
wait "$rootfs_pid" || { cat build-tests/base-rootfs.log; exit 1; }

echo "== packaging (from build/, in the background while the other configurations compile)"
(
  set -e
  echo "== packaging: the .deb (built from build/, installed, smoke-tested, purged)"
  "${as_root[@]}" packaging/test-deb.sh build
  echo "== packaging: the .deb under systemd (a booted Debian 12 container)"
  "${as_root[@]}" packaging/test-systemd.sh build
  echo "== packaging: the container image (from that .deb, smoke-tested with buildah)"
  "${as_root[@]}" packaging/test-docker.sh build
) >build-tests/packaging.log 2>&1 &
packaging_pid=$!
# A failed build below ends the script only once the packaging tests have cleaned up.
trap 'wait "$packaging_pid" 2>/dev/null' EXIT

scripts/build.sh build-asan -DMAILSTEAD_SANITIZE=ON
scripts/build.sh build-tsan -DMAILSTEAD_TSAN=ON
if [ ! -f build-fuzz/build.ninja ]; then
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMAILSTEAD_TESTS=OFF \
    -DMAILSTEAD_FUZZ=ON
fi
CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}" cmake --build build-fuzz -j "$(nproc)" \
  --target smtp_command_fuzz dot_data_fuzz mime_fuzz line_reader_fuzz pop3_command_fuzz imap_command_fuzz \
  list_pattern_fuzz config_fuzz dkim_fuzz dns_fuzz spf_fuzz dmarc_fuzz milter_fuzz srs_fuzz thread_fuzz inflate_fuzz \
  preview_fuzz text_index_fuzz

# The packaging tests end before the tests start: the suites that measure must run alone.
packaging=0
wait "$packaging_pid" || packaging=$?
trap - EXIT
cat build-tests/packaging.log
[ "$packaging" -eq 0 ] || echo "== packaging: FAILED (status $packaging); the tests run all the same"

echo "== tests: normal build, asan.* (AddressSanitizer + UBSan), tsan.* (ThreadSanitizer), fuzz.* (libFuzzer)"
# One test directory that holds the four builds' tests (names: see tests/CMakeLists.txt).
{
  echo "# Made by scripts/test.sh: every configuration's tests in one ctest run."
  for dir in build build-asan build-tsan build-fuzz; do echo "subdirs(\"$PWD/$dir\")"; done
} >build-tests/CTestTestfile.cmake
tests=0
ctest --test-dir build-tests --output-on-failure --timeout 900 -j 2 || tests=$?

[ "$packaging" -eq 0 ] || echo "== packaging FAILED: see its output above the tests" >&2
[ "$tests" -eq 0 ] && [ "$packaging" -eq 0 ]
