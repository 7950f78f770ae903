#!/usr/bin/env bash
#===- install-deps.sh - Install Tessera's Debian and PyPI dependencies ----===#
#
# Idempotent: installs only what is missing. Debian packages through apt (as
# root, or through sudo), PyPI packages into a virtual environment under the
# build directory ($TESSERA_BUILD_DIR, default ./build/venv).
#
#===----------------------------------------------------------------------===#
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${TESSERA_BUILD_DIR:-$root/build}
venv=$build_dir/venv

debs=(
  cmake ninja-build ccache pkg-config python3-venv
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  libclang-rt-22-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libgtest-dev
  openmpi-bin libopenmpi-dev
)

missing=()
for p in "${debs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "tessera: installing Debian packages: ${missing[*]}"
  sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# PyPI packages: test references (onnx helper, ONNX Runtime, NumPy) and lit;
# then the model zoo's exporters (torch, torchvision, transformers, onnxscript
# for the dynamo exporter), pinned so that the cached exports stay valid.
# torch's Linux wheel on PyPI brings its CUDA libraries (about 4.5 GB in the
# venv), so pip keeps no cache (the wheels would take as much again) and the
# two sets install one after the other: the first stays usable if the second
# fails.
base_pkgs=(lit numpy onnx onnxruntime)
zoo_pkgs=(torch==2.9.1 torchvision==0.24.1 transformers==5.25.0
          onnxscript==0.7.2)
if [ ! -x "$venv/bin/python" ]; then
  echo "tessera: creating virtual environment $venv"
  mkdir -p "$build_dir"
  python3 -m venv "$venv"
fi
pip_install() {  # stamp-file, packages...
  local stamp=$venv/.tessera-$1; shift
  local want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  echo "tessera: installing PyPI packages into $venv: $want"
  if ! "$venv/bin/python" -m pip install -q --no-cache-dir \
       --disable-pip-version-check "$@"; then
    echo "tessera: error: pip could not install $want" \
         "($(df -h --output=avail "$venv" | tail -1 | tr -d ' ') free" \
         "on the venv's disk; the zoo's packages need about 6 GB)" >&2
    exit 1
  fi
  echo "$want" > "$stamp"
}
pip_install base-pkgs "${base_pkgs[@]}"
pip_install zoo-pkgs "${zoo_pkgs[@]}"
