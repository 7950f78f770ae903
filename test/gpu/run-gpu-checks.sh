#!/usr/bin/env bash
#===- run-gpu-checks.sh - The gpu tier where the compiler is not built ---===#
#
# On a GPU machine that has only a runtime-only build
# (scripts/build-runtime-only.sh) and Python with numpy, onnx and PyTorch:
# runs tessera-cuda-check, then the node tests and sample models compiled
# elsewhere into a bundle (node_tests.py / models_check.py --bundle), then,
# when given, the PyTorch benchmark (bench/cuda_bench.py prepare DIR).
#
#   test/gpu/run-gpu-checks.sh RUNTIME_BUILD BUNDLE(.tar.xz|dir) [BENCH_DIR]
#
# Logs go to stdout and, when $OUT is set, to $OUT/*.log.
#===----------------------------------------------------------------------===#
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
rt=$1
bundle=$2
bench=${3:-}
logs=${OUT:-$(mktemp -d)}
status=0

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
# cuBLASLt and NCCL: the CUDA install's, else the ones in Python's nvidia-*
# wheels (as PyTorch ships them).
extra=$(python3 - <<'PY' 2>/dev/null
import glob, os
dirs = ["/usr/local/cuda/lib64"]
try:
    import nvidia
    for p in nvidia.__path__:
        dirs += glob.glob(os.path.join(p, "*", "lib"))
except ImportError:
    pass
print(":".join(d for d in dirs if os.path.isdir(d)))
PY
)
export LD_LIBRARY_PATH=${extra}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}

echo "== tessera-cuda-check"
"$rt/bin/tessera-cuda-check" 2>&1 | tee "$logs/cuda-check.log" || status=1

dir=$bundle
if [ -f "$bundle" ]; then
  dir=$(mktemp -d)
  tar xJf "$bundle" -C "$dir"
fi
for sub in "$dir"/*/; do
  echo "== $(basename "$sub") on the GPU"
  PYTHONUNBUFFERED=1 python3 "$root/test/e2e/node_tests.py" --run "$rt/bin/tessera-run" \
    --from-bundle "$sub" --jobs 8 --table 2>&1 | tee "$logs/$(basename "$sub").log" || status=1
done

if [ -n "$bench" ]; then
  echo "== bench/cuda_bench.py"
  PYTHONUNBUFFERED=1 python3 "$root/bench/cuda_bench.py" run "$bench" \
    --tessera-run "$rt/bin/tessera-run" 2>&1 | tee "$logs/bench.log" || status=1
fi
exit $status
