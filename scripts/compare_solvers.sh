#!/usr/bin/env bash
# Compare the solvers (README, "Solvers"): each on two example photos at 128² and 256², with the
# same seed and evaluation budget; writes run records, a table and two plots to docs/solvers/.
# Run on a quiet machine after `make build` (about 25 minutes on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/.."
NT=target/release/neurotex
D=docs/solvers
mkdir -p "$D"
for size in 128 256; do
  evals=$([ "$size" = 128 ] && echo 300 || echo 150)
  for ex in pebbles bark_tree; do
    for solver in lbfgs cg sd; do
      $NT synth "examples/textures/$ex.png" -o "$D/${ex}_${size}_${solver}.png" --size "$size" \
        --solver "$solver" --max-evals "$evals" --iters 100000 --tolerance 0 \
        --record "$D/${ex}_${size}_${solver}.json" --overwrite 2> "$D/${ex}_${size}_${solver}.log"
      tail -n 3 "$D/${ex}_${size}_${solver}.log" | head -n 1
    done
  done
  .venv/bin/python scripts/plot_runs.py --title "solvers at ${size}x${size}, ${evals} evaluations" \
    "$D/solvers_${size}.png" "$D"/*_"${size}"_*.json
done
.venv/bin/python scripts/solver_table.py "$D"/*.json > "$D/table.md"
cat "$D/table.md"
