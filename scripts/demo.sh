#!/usr/bin/env bash
#===- demo.sh - The main job: compile a sample model, run it, check it ----===#
#
# Builds Tessera (installing what is missing), writes a GPT-2 style
# transformer block as ONNX, shows its tessera IR (weights elided), compiles
# it for this CPU, then partitions it over a 2x2 mesh of devices (data
# parallel x tensor parallel; --explain prints the plan), runs both with
# tessera-run (the four devices as threads) and compares each result with
# ONNX Runtime.
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

echo "== compile for one device =="
"$build/bin/tessera-compile" "$model" --input-shape=x:2x16x64 -o "$work/gpt2_block.tsr"
"$build/bin/tessera-run" "$work/gpt2_block.tsr" --info

echo "== compile for a mesh of 4 devices: dp=2 (batch) x tp=2 (Megatron) =="
"$build/bin/tessera-compile" "$model" --input-shape=x:2x16x64 --mesh=dp=2,tp=2 \
  --explain -o "$work/gpt2_block.mesh.tsr"
"$build/bin/tessera-run" "$work/gpt2_block.mesh.tsr" --info

"$py" -c "import numpy as np; np.save('$work/x.npy', np.random.default_rng(0).standard_normal((2, 16, 64)).astype(np.float32))"
echo "== run on one device =="
mkdir -p "$work/one" "$work/mesh"
"$build/bin/tessera-run" "$work/gpt2_block.tsr" --input "x=$work/x.npy" \
  --output-dir "$work/one" --repeat 10
echo "== run on 4 devices (threads of this process) =="
"$build/bin/tessera-run" "$work/gpt2_block.mesh.tsr" --input "x=$work/x.npy" \
  --output-dir "$work/mesh" --repeat 10
"$py" - "$model" "$work" <<'PY'
import sys
import numpy as np
import onnxruntime as ort
model, work = sys.argv[1], sys.argv[2]
x = np.load(work + "/x.npy")
ref = ort.InferenceSession(model, providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
for run in ("one", "mesh"):
    y = np.load(work + "/" + run + "/y.npy")
    print("%-4s output y: shape %s, mean %.6f, std %.6f; max abs difference from ONNX Runtime: "
          "%.3g (%s)" % (run, y.shape, y.mean(), y.std(), np.abs(y - ref).max(),
                         "match" if np.allclose(y, ref, rtol=1e-3, atol=1e-5) else "MISMATCH"))
PY
