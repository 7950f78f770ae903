#!/usr/bin/env bash
#===- demo.sh - The main job: import a sample model and show it -----------===#
#
# Builds Tessera (installing what is missing), writes a GPT-2 style
# transformer block as ONNX, imports it with a fixed batch of 2 and prints
# its tessera IR (weights elided) and a summary.
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}

"$root/scripts/build.sh" >&2
model=$build/demo/gpt2_block.onnx
mkdir -p "$(dirname "$model")"
"$build/venv/bin/python" "$root/examples/models/gpt2_block.py" "$model"
echo "== tessera IR of $model (batch fixed to 2) =="
"$build/bin/tessera-translate" --import-onnx "$model" --input-shape=x:2x16x64 \
  --mlir-elide-elementsattrs-if-larger=16 --mlir-elide-resource-strings-if-larger=16 \
  -o "$build/demo/gpt2_block.mlir"
cat "$build/demo/gpt2_block.mlir"
echo "== summary =="
"$build/bin/tessera-translate" --import-onnx "$model" --input-shape=x:2x16x64 \
  --summary --no-ir 2>&1
