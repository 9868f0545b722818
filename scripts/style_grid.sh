#!/usr/bin/env bash
# The README's style-transfer grid and times: two content photos from examples/textures, each
# redrawn in a texture's style at three content weights (default settings otherwise, 256²), and
# one pair at 512². Writes OUT/style_grid.png (content | style | the three weights per row) and
# OUT/times.md (wall-clock seconds and final losses, from the run records, on this machine).
# Usage: scripts/style_grid.sh [OUT]   (default benches/results/style)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-benches/results/style}
mkdir -p "$out"
neurotex=target/release/neurotex
[ -x "$neurotex" ] || cargo build --release
tex=examples/textures
pairs=("astronaut:maple_leaves" "taj_mahal:coffee_beans")
weights=(1e3 1e4 1e5)
cells=()
for pair in "${pairs[@]}"; do
  content=${pair%%:*} style=${pair##*:}
  cells+=("$content (content)=$tex/$content.png" "$style (style)=$tex/$style.png")
  for w in "${weights[@]}"; do
    name="$out/${content}.${style}.w$w"
    "$neurotex" style "$tex/$content.png" --style "$tex/$style.png" --content-weight "$w" \
      -o "$name.png" --record "$name.json" --overwrite -q
    cells+=("content weight $w=$name.png")
  done
done
.venv/bin/python scripts/grid.py "$out/style_grid.png" --cols 5 --cell 256 "${cells[@]}"
big="$out/astronaut.maple_leaves.512"
"$neurotex" style "$tex/astronaut.png" --style "$tex/maple_leaves.png" --size 512 \
  -o "$big.png" --record "$big.json" --overwrite -q
.venv/bin/python - "$out" <<'PY'
import glob, json, os, sys
out = sys.argv[1]
rows = ["| run | size | iterations | set-up + optimisation s | final loss |", "|---|---|---|---|---|"]
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    r = json.load(open(path))
    size = f"{r['size']['width']}x{r['size']['height']}"
    rows.append(f"| {os.path.basename(path)[:-5]} | {size} | {len(r['iterations'])} | "
                f"{r['setup_seconds'] + r['optimize_seconds']:.1f} | {r['best_loss']:.4g} |")
open(os.path.join(out, "times.md"), "w").write("\n".join(rows) + "\n")
print("\n".join(rows))
PY
