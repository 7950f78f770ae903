#!/usr/bin/env bash
#===- test.sh - Build Tessera and run the whole test suite ----------------===#
#
# The README's test command: lit, unit, e2e (import sweep) and fuzz tiers,
# through ctest. Extra arguments go to ctest (e.g. -L e2e, -R lit).
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}

"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure "$@"
