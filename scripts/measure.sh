#!/usr/bin/env bash
# Reproduce the numbers in README.md ("Numbers we measured"): the benchmark table, two 256x256
# syntheses at default settings with their loss curves, and peak memory at 256² and 512².
# Run on a quiet machine: `make build && scripts/measure.sh` (about 15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
NT=target/release/neurotex
R=docs/results
mkdir -p "$R"
$NT bench --json "$R/bench.json" | tee "$R/bench.md"
for ex in pebbles bark_tree; do
  /usr/bin/time -f "peak RSS %M KiB, wall %e s" -o "$R/${ex}_256.time" \
    $NT synth "examples/textures/$ex.png" -o "$R/${ex}_256.png" --record "$R/${ex}_256.json" \
      --snapshot-every 100 --overwrite 2> "$R/${ex}_256.log"
  tail -n 3 "$R/${ex}_256.log"; cat "$R/${ex}_256.time"
done
/usr/bin/time -f "peak RSS %M KiB, wall %e s" -o "$R/pebbles_512.time" \
  $NT synth examples/textures/pebbles.png -o /tmp/neurotex_512.png --size 512 --iters 3 --layers all \
    --overwrite 2> /dev/null
cat "$R/pebbles_512.time"
.venv/bin/python scripts/plot_runs.py "$R/loss_curves.png" "$R"/pebbles_256.json "$R"/bark_tree_256.json
