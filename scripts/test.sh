#!/usr/bin/env bash
# The README's test command, and what CI runs: installs dependencies, builds the normal, the
# AddressSanitizer (+ UBSan) and the ThreadSanitizer configuration once each; runs every test in
# the first two, and in the third the unit tests and the e2e suites labelled "threads" with
# every daemon at server.threads = 4; builds the libFuzzer harnesses with clang and runs each
# one briefly over its seed corpus; then packages what the normal build compiled as a .deb and
# a container image, installs each and runs the smoke test against them (packaging/test-deb.sh,
# test-systemd.sh, test-docker.sh; as root). Tests run two at a time (-j2: CI has two cores);
# the e2e suites that measure waits and memory run alone (RUN_SERIAL).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh build
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

echo "== fuzz smoke runs (libFuzzer, ASan + UBSan)"
ctest --test-dir build-fuzz --output-on-failure --timeout 300 -j "$(nproc)"

echo "== tests: RelWithDebInfo build"
ctest --test-dir build --output-on-failure --timeout 600 -j 2

echo "== tests: AddressSanitizer + UndefinedBehaviorSanitizer build"
ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build-asan --output-on-failure --timeout 900 -j 2

echo "== tests: ThreadSanitizer build, server.threads = 4 (unit tests and the \"threads\" e2e suites)"
# Without address-space randomisation: kernels with more mmap randomness than TSan's shadow
# layout allows make every instrumented process abort at start.
TSAN_OPTIONS=second_deadlock_stack=1 \
  setarch "$(uname -m)" -R ctest --test-dir build-tsan --output-on-failure --timeout 900 -j 2 -L 'unit|threads'

echo "== packaging: the .deb (built from build/, installed, smoke-tested, purged)"
as_root=()
[ "$(id -u)" -eq 0 ] || as_root=(sudo)
"${as_root[@]}" packaging/test-deb.sh build

echo "== packaging: the .deb under systemd (a booted Debian 12 container)"
"${as_root[@]}" packaging/test-systemd.sh build

echo "== packaging: the container image (from that .deb, smoke-tested with buildah)"
"${as_root[@]}" packaging/test-docker.sh build
