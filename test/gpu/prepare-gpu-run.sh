#!/usr/bin/env bash
#===- prepare-gpu-run.sh - Everything a GPU machine needs, built here ----===#
#
# For a GPU machine without LLVM: builds the runtime alone and compiles, for
# --gpu-arch ARCH, the node tests, the sample models and the kernel-shape
# cases into bundles, and the benchmark's artifacts:
#
#   test/gpu/prepare-gpu-run.sh [DIR (default .gpu)] [ARCH (default sm_90)]
#
# then, on the GPU machine (DIR travels with the tree):
#
#   test/gpu/run-gpu-checks.sh DIR/rt DIR/bundles.tar.xz DIR/bench
#
# Needs a built tree (scripts/build.sh) and its virtual environment.
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(realpath -m "${1:-$root/.gpu}")
arch=${2:-sm_90}
build=${TESSERA_BUILD_DIR:-$root/build}
py=$build/venv/bin/python
compile=$build/bin/tessera-compile
data=/usr/share/libonnx-testdata/data
for tool in "$compile" "$py"; do
  [ -x "$tool" ] || { echo "prepare-gpu-run.sh: $tool is missing (run scripts/build.sh)" >&2; exit 1; }
done
rm -rf "$dir/bundles" "$dir/bench" "$dir/bundles.tar.xz"
mkdir -p "$dir/bundles"

echo "== the runtime alone (scripts/build-runtime-only.sh $dir/rt)"
"$root/scripts/build-runtime-only.sh" "$dir/rt"
echo "== node tests for $arch"
"$py" "$root/test/e2e/node_tests.py" --compile "$compile" --target=cuda --gpu-arch="$arch" \
  --bundle "$dir/bundles/nodes" --data "$data/node" --data "$data/pytorch-converted" \
  --data "$data/pytorch-operator" --data "$data/simple" | tail -2
echo "== sample models for $arch"
"$py" "$root/test/e2e/models_check.py" --compile "$compile" --run "$build/bin/tessera-run" \
  --work "$dir/work/models" --target=cuda --gpu-arch="$arch" --bundle "$dir/bundles/models" | tail -1
echo "== kernel shapes for $arch"
"$py" "$root/test/e2e/gpu_kernels_check.py" --compile "$compile" --work "$dir/work/kernels" \
  --gpu-arch="$arch" --bundle "$dir/bundles/kernels" | tail -1
echo "== benchmark artifacts for $arch"
"$py" "$root/bench/cuda_bench.py" prepare "$dir/bench" --gpu-arch "$arch" --build "$build"
tar -C "$dir" -cJf "$dir/bundles.tar.xz" bundles
rm -rf "$dir/work"
rel=${dir#$root/}
echo "ready ($(du -sh "$dir/rt/bin" "$dir/rt/lib" "$dir/bundles.tar.xz" "$dir/bench" | awk '{printf "%s %s, ", $2, $1}'))"
echo "run: test/gpu/run-gpu-checks.sh $rel/rt $rel/bundles.tar.xz $rel/bench"
echo "(the device tool carries 64 MiB per run: leave $rel/bench/gpt2_block.scalar.tsr out of"
echo " the first and time it in a second run with $rel/bench/cases.json and the GPT-2 artifacts;"
echo " cuda_bench.py skips what was not carried)"
