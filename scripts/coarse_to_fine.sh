#!/usr/bin/env bash
# Coarse-to-fine against single-scale: the same exemplar, seed and settings at 256², with 1, 2
# and 3 scales; writes out/c2f/<exemplar>_s<N><TAG>.{png,json}, then the time-to-quality table
# and plot (scripts/time_to_quality.py). EXTRA adds options to every run (TAG names them).
#   scripts/coarse_to_fine.sh
#   EXEMPLARS="pebbles bark_tree" SCALES="1 3" scripts/coarse_to_fine.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/neurotex
mkdir -p out/c2f
for ex in ${EXEMPLARS:-pebbles}; do
  records=()
  for n in ${SCALES:-1 2 3}; do
    name="out/c2f/${ex}_s$n${TAG:-}"
    $BIN synth "examples/textures/$ex.png" -o "$name.png" --record "$name.json" \
      --size 256 --scales "$n" --overwrite ${EXTRA:-} 2>&1 | grep -E "^(done|statistic)"
    records+=("$name.json")
  done
  .venv/bin/python scripts/time_to_quality.py "${records[@]}" --plot "out/c2f/${ex}${TAG:-}.png"
done
