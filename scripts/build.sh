#!/usr/bin/env bash
# Configures and builds one configuration into a build directory, reusing it (and ccache) when
# it exists. usage: scripts/build.sh BUILD_DIR [extra cmake -D options]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
shift
export CCACHE_DIR="${CCACHE_DIR:-$PWD/.cache/ccache}"
if [ ! -f "$dir/build.ninja" ]; then
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
fi
cmake --build "$dir" -j "$(nproc)"
