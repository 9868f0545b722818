#!/usr/bin/env bash
# Reproduce the numbers in README.md ("Numbers we measured"): the benchmark table, two 256x256
# single-scale syntheses with their loss curves, peak memory at 256² and 512², and the soak.
# Coarse-to-fine against single-scale: scripts/coarse_to_fine.sh.
# Run on a quiet machine: `make build && scripts/measure.sh` (about 15 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
NT=target/release/neurotex
R=docs/results
mkdir -p "$R"
mkdir -p benches/results
$NT bench --sizes 128,256,512,1024 --json benches/results/bench.json | tee benches/results/bench.md
.venv/bin/python scripts/plot_bench.py benches/results/bench.json benches/results/bench.png
for ex in pebbles bark_tree; do
  /usr/bin/time -f "peak RSS %M KiB, wall %e s" -o "$R/${ex}_256.time" \
    $NT synth "examples/textures/$ex.png" -o "$R/${ex}_256.png" --record "$R/${ex}_256.json" \
      --scales 1 --snapshot-every 100 --overwrite 2> "$R/${ex}_256.log"
  tail -n 3 "$R/${ex}_256.log"; cat "$R/${ex}_256.time"
done
/usr/bin/time -f "peak RSS %M KiB, wall %e s" -o "$R/pebbles_512.time" \
  $NT synth examples/textures/pebbles.png -o /tmp/neurotex_512.png --size 512 --iters 3 --layers all \
    --overwrite 2> /dev/null
cat "$R/pebbles_512.time"
.venv/bin/python scripts/plot_runs.py "$R/loss_curves.png" "$R"/pebbles_256.json "$R"/bark_tree_256.json
scripts/soak.sh 1000 64
