#!/usr/bin/env bash
#===- demo.sh - The main job: compile a sample model, run it, check it ----===#
#
# Builds Tessera (installing what is missing), writes a GPT-2 style
# transformer block as ONNX, shows its tessera IR (weights elided), compiles
# it for this CPU, runs it with tessera-run and compares the result with ONNX
# Runtime. (Partitioning over several devices arrives with the parallel
# runtime.)
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${TESSERA_BUILD_DIR:-$root/build}
py=$build/venv/bin/python

"$root/scripts/build.sh" >&2
work=$build/demo
mkdir -p "$work"
model=$work/gpt2_block.onnx
"$py" "$root/examples/models/gpt2_block.py" "$model"

echo "== tessera IR of $model (batch fixed to 2, weights elided) =="
"$build/bin/tessera-translate" --import-onnx "$model" --input-shape=x:2x16x64 \
  --mlir-elide-elementsattrs-if-larger=16 --mlir-elide-resource-strings-if-larger=16 \
  --summary

echo "== compile =="
"$build/bin/tessera-compile" "$model" --input-shape=x:2x16x64 -o "$work/gpt2_block.tsr"
"$build/bin/tessera-run" "$work/gpt2_block.tsr" --info

echo "== run =="
"$py" -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(0).standard_normal((2, 16, 64)).astype(np.float32))"
"$build/bin/tessera-run" "$work/gpt2_block.tsr" --input "x=$work/x.npy" \
  --output-dir "$work" --repeat 10
"$py" - "$model" "$work" <<'PY'
import sys
import numpy as np
import onnxruntime as ort
model, work = sys.argv[1], sys.argv[2]
x = np.load(work + "/x.npy")
y = np.load(work + "/y.npy")
ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
print("output y: shape %s, mean %.6f, std %.6f" % (y.shape, y.mean(), y.std()))
print("max abs difference from ONNX Runtime: %.3g (%s)" % (
    np.abs(y - ref).max(), "match" if np.allclose(y, ref, rtol=1e-3, atol=1e-5) else "MISMATCH"))
PY
