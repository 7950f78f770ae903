#!/usr/bin/env bash
#===- build.sh - Install what is missing, configure and build Tessera -----===#
#
# Incremental: re-running it rebuilds only what changed. Uses clang-22,
# Ninja, ccache when present and -j2 (TESSERA_JOBS overrides).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}
jobs=${TESSERA_JOBS:-2}

"$root/scripts/install-deps.sh"

if [ ! -f "$build/build.ninja" ]; then
  echo "tessera: configuring $build"
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22
fi
echo "tessera: building (-j$jobs)"
cmake --build "$build" -j "$jobs"
