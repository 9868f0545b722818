#!/usr/bin/env bash
# Soak: one long run (default 1000 evaluations at 64²) whose resident memory must stay flat.
# Prints the resident memory after 100 evaluations and at the end, and their ratio.
#   scripts/soak.sh [EVALS] [SIZE]
set -euo pipefail
cd "$(dirname "$0")/.."
EVALS=${1:-1000}
SIZE=${2:-64}
mkdir -p out/soak
target/release/neurotex synth examples/textures/pebbles.png -o out/soak/soak.png \
  --record out/soak/soak.json --size "$SIZE" --scales 1 --iters 1000000 --tolerance 0 \
  --max-evals "$EVALS" --overwrite 2>&1 | grep -E "^(done|statistic)"
.venv/bin/python - "$EVALS" <<'PY'
import json, sys
evals = json.load(open("out/soak/soak.json"))["evaluations"]
rss = [e["resident_bytes"] / 2**20 for e in evals]
n = len(rss)
for k in (10, 100, 500, n):
    if k <= n:
        print(f"resident after {k:>5} evaluations: {rss[k - 1]:7.1f} MiB")
print(f"end / after 100: {rss[-1] / rss[99]:.3f} (flat within 5%: {abs(rss[-1] / rss[99] - 1) < 0.05})")
PY
