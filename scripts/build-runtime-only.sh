#!/usr/bin/env bash
#===- build-runtime-only.sh - The runtime alone, for GPU machines ---------===#
#
#   scripts/build-runtime-only.sh [BUILD_DIR]     (default: build-runtime)
#
# Builds libtessera_runtime (shared and static), tessera-run and
# tessera-cuda-check without LLVM, MLIR, Protobuf or MPI, with whatever
# C/C++ compiler is there ($CC/$CXX, else gcc/g++, else clang/clang++).
# CUDA is not needed at build time either: the runtime opens the driver,
# cuBLASLt and NCCL at run time. Then, on a GPU machine:
#
#   BUILD_DIR/bin/tessera-cuda-check
#   BUILD_DIR/bin/tessera-run model.tsr --input x=x.npy --memory
#
#===----------------------------------------------------------------------===#
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-runtime}
jobs=${TESSERA_JOBS:-$(nproc 2>/dev/null || echo 2)}

pick() { # the first of the given programs that exists
  for p in "$@"; do
    if command -v "$p" >/dev/null 2>&1; then echo "$p"; return 0; fi
  done
  return 1
}
cxx=${CXX:-$(pick g++ clang++ $(compgen -c clang++- 2>/dev/null | sort -rV) || true)}
cc=${CC:-$(pick gcc clang $(compgen -c clang- 2>/dev/null | grep -E '^clang-[0-9]+$' | sort -rV) || true)}
if [ -z "$cxx" ] || [ -z "$cc" ]; then
  echo "build-runtime-only: no C and C++ compiler found (install g++ or clang)" >&2
  exit 1
fi
generator=()
if command -v ninja >/dev/null 2>&1; then generator=(-G Ninja); fi

echo "tessera: configuring the runtime-only build in $build ($cc, $cxx)"
cmake "${generator[@]}" -S "$root" -B "$build" \
  -DTESSERA_RUNTIME_ONLY=ON -DTESSERA_ENABLE_MPI=OFF \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx"
echo "tessera: building (-j$jobs)"
cmake --build "$build" -j "$jobs"
echo "tessera: built $build/lib/libtessera_runtime.so, $build/bin/tessera-run, $build/bin/tessera-cuda-check"
