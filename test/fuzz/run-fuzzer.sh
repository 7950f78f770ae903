#!/usr/bin/env bash
# Runs the importer fuzzer for SECONDS with a seed corpus made of the ONNX
# test models (small ones), failing on any finding.
#   run-fuzzer.sh FUZZER TESTDATA_DIR CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$(realpath "$1") data=$2 corpus=$3 seconds=$4
mkdir -p "$corpus"
if [ -z "$(ls -A "$corpus")" ]; then
  find "$data" -name model.onnx -size -64k | sort | while read -r m; do
    cp "$m" "$corpus/$(echo "$m" | sed 's|/|_|g')"
  done
fi
# Inputs earlier runs found problems with (one file each, kept in git) are
# replayed first, so a fixed finding stays fixed whatever the random search does.
regressions=$(dirname "$(realpath "$0")")/regressions
if ls "$regressions"/* >/dev/null 2>&1; then
  if ! "$fuzzer" -rss_limit_mb=4096 -timeout=20 "$regressions"/* >"$corpus.regressions.log" 2>&1; then
    tail -n 25 "$corpus.regressions.log"
    echo "fuzz-import: a kept regression input fails again (see above)"
    exit 1
  fi
  echo "replayed $(ls "$regressions" | wc -l) kept regression inputs"
fi
echo "fuzzing the importer for ${seconds}s with $(ls "$corpus" | wc -l) seeds"
cd "$(dirname "$corpus")"
"$fuzzer" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 \
  -max_len=65536 -timeout=20 -print_final_stats=1 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
  echo "fuzz-import: the fuzzer found a problem (exit $status); see the crash-* file above"
  exit 1
fi
echo "fuzz-import: no findings in ${seconds}s"
