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
