#!/usr/bin/env bash
# neurotex against EmbarkStudios' texture-synthesis-cli 0.8.3 (patch-based, the tool people pick
# instead) on the same inputs: a fill (its `--inpaint`) and a guided synthesis (its `--guides` /
# `--target-guide`), at 256² and 512² (512²: the inputs Lanczos-upscaled 2x, for timing both
# tools on the same pixels). Writes OUT/compare_embark.png (inputs | Embark | neurotex per row)
# and OUT/compare_embark.md (wall-clock seconds, same machine, one run each after the other).
# Installs the peer with `cargo install --locked` into .cache/embark on first use (~3 min).
# Usage: scripts/compare_embark.sh [OUT]   (default benches/results/compare_embark)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benches/results/compare_embark}
mkdir -p "$out"
peer=.cache/embark/bin/texture-synthesis
if [ ! -x "$peer" ]; then
  cargo install texture-synthesis-cli --version 0.8.3 --locked --root .cache/embark
fi
neurotex=target/release/neurotex
[ -x "$neurotex" ] || cargo build --release
py=.venv/bin/python

# Inputs at both sizes; Embark's inpaint map keeps white and resolves black (ours: the reverse).
"$py" - "$out" <<'PY'
import sys, numpy as np, matplotlib.image as m
sys.path.insert(0, "scripts")
from png_rgb import save_rgb, upscale
out = sys.argv[1]
inputs = {"photo": "examples/textures/pebbles.png", "mask": "examples/fill/pebbles.holes.mask.png",
          "ex": "examples/guided/two_textures.png", "ge": "examples/guided/two_textures.guide.png",
          "go": "examples/guided/wave.guide.png"}
for size in (256, 512):
    for name, path in inputs.items():
        a = m.imread(path)[..., :3]
        if size == 512:
            a = upscale(a, nearest=name in ("mask", "ge", "go"))
        save_rgb(f"{out}/{name}{size}.png", a)
        if name == "mask":
            save_rgb(f"{out}/keep{size}.png", 1.0 - a)
PY

timed() {  # timed LABEL command...: run it, append "LABEL seconds" to times.txt
  local label=$1; shift
  local t0; t0=$(date +%s.%N)
  "$@" > "$out/$label.log" 2>&1
  echo "$label $(echo "$(date +%s.%N) - $t0" | bc)" >> "$out/times.txt"
}
: > "$out/times.txt"
for s in 256 512; do
  gw=$((s * 3 / 2))
  timed "embark_fill$s" "$peer" --inpaint "$out/keep$s.png" --out-size "$s" --no-progress \
    -o "$out/embark_fill$s.png" generate "$out/photo$s.png"
  timed "neurotex_fill$s" "$neurotex" fill "$out/photo$s.png" --mask "$out/mask$s.png" \
    -o "$out/neurotex_fill$s.png" --overwrite -q
  timed "embark_guided$s" "$peer" --out-size "${gw}x$s" --no-progress -o "$out/embark_guided$s.png" \
    generate --guides "$out/ge$s.png" --target-guide "$out/go$s.png" "$out/ex$s.png"
  timed "neurotex_guided$s" "$neurotex" synth "$out/ex$s.png" --guide-exemplar "$out/ge$s.png" \
    --guide-output "$out/go$s.png" -o "$out/neurotex_guided$s.png" --overwrite -q
done
"$py" scripts/compare_embark_sheet.py "$out"
