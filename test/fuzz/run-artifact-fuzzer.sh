#!/usr/bin/env bash
# Runs the artifact-loader fuzzer for SECONDS, seeded with artifacts that
# tessera-compile makes from the sample models (one device and tp=2),
# failing on any finding.
#   run-artifact-fuzzer.sh FUZZER TESSERA_COMPILE PYTHON MODELS_DIR CORPUS_DIR SECONDS
set -euo pipefail
fuzzer=$(realpath "$1") compile=$2 python=$3 models=$4 corpus=$5 seconds=$6
seeds=$corpus/../artifact-seeds
mkdir -p "$corpus" "$seeds"
if [ ! -s "$seeds/mlp.tsr" ] || [ ! -s "$seeds/mlp-tp2.tsr" ]; then
  "$python" "$models/mlp.py" "$seeds/mlp.onnx"
  "$compile" "$seeds/mlp.onnx" --input-shape=x:2x256 -o "$seeds/mlp.tsr" --quiet
  "$compile" "$seeds/mlp.onnx" --input-shape=x:2x256 --mesh=tp=2 -o "$seeds/mlp-tp2.tsr" --quiet
  rm -rf "$corpus" && mkdir -p "$corpus" # units grown from other host code
fi
[ -n "$(ls -A "$corpus")" ] || cp "$seeds/mlp.tsr" "$seeds/mlp-tp2.tsr" "$corpus/"
# Host code is native code, trusted as a shared library is: the fuzzer loads
# only the seeds' (see ArtifactFuzzer.cpp).
export TESSERA_FUZZ_HOST_CODE="$(realpath "$seeds/mlp.tsr"):$(realpath "$seeds/mlp-tp2.tsr")"
max=$(( $(stat -c %s "$corpus"/* | sort -n | tail -1) + 65536 ))
echo "fuzzing the artifact loader for ${seconds}s with $(ls "$corpus" | wc -l) seeds (max_len $max)"
cd "$(dirname "$corpus")"
ASAN_OPTIONS=detect_leaks=1 "$fuzzer" "$corpus" -max_total_time="$seconds" -rss_limit_mb=4096 \
  -max_len="$max" -timeout=20 -print_final_stats=1 2>&1 | tail -n 25
status=${PIPESTATUS[0]}
if [ "$status" != 0 ]; then
  echo "fuzz-artifact: the fuzzer found a problem (exit $status); see the crash-* file above"
  exit 1
fi
echo "fuzz-artifact: no findings in ${seconds}s"
