#!/usr/bin/env bash
# Quality at any size (issue 24): synthesise example textures at several sizes with each border
# padding, then `neurotex measure` each result against its exemplar: the outermost band against
# the interior (detail, saturation: a frame shows above 1), the top octave's power against the
# exemplar's (speckle above 1, blur below), colour, spectrum and Gram distances. Writes
# benches/results/quality/<exemplar>_<size>_<padding>.png, their records, and quality.md.
#
#   scripts/measure_quality.sh                       # defaults below (hours on 2 cores)
#   EXEMPLARS="pebbles bark_tree" SIZES="512x256" PADDINGS="zero reflect" ARGS="--iters 150" \
#     scripts/measure_quality.sh
set -euo pipefail
cd "$(dirname "$0")/.."
NT=target/release/neurotex
OUT=${OUT:-benches/results/quality}
EXEMPLARS=${EXEMPLARS:-"pebbles bark_tree brick_gray coffee_beans grass_meadow maple_leaves wooden_fence"}
SIZES=${SIZES:-"256 512x256 512"}
PADDINGS=${PADDINGS:-"zero reflect"}
ARGS=${ARGS:-}
mkdir -p "$OUT"
table="$OUT/quality.md"
echo "| exemplar | size | padding | band detail | band saturation | top octave | colour | spectrum | gram | interior gram | seconds |" > "$table"
echo "|---|---|---|---|---|---|---|---|---|---|---|" >> "$table"
for ex in $EXEMPLARS; do
  # The exemplar's own band ratios: a photo can be busier at its edges than inside.
  own=$($NT measure -e "examples/textures/$ex.png" "examples/textures/$ex.png" | tail -n 1)
  echo "$own" | awk -F' \\| ' -v ex="$ex" \
    '{ printf "| %s | exemplar | | %s | %s | | | | | | |\n", ex, $3, $4 }' >> "$table"
  for size in $SIZES; do
    for padding in $PADDINGS; do
      name="${ex}_${size}_${padding}"
      flags=(--padding "$padding")
      [ "$padding" = circular ] && flags=(--tile)
      # shellcheck disable=SC2086
      $NT synth "examples/textures/$ex.png" -o "$OUT/$name.png" --record "$OUT/$name.json" \
        --size "$size" "${flags[@]}" --overwrite -q $ARGS > /dev/null
      seconds=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(round(r['setup_seconds']+r['optimize_seconds'],1))" "$OUT/$name.json")
      row=$($NT measure -e "examples/textures/$ex.png" "$OUT/$name.png" | tail -n 1)
      row=${row% |}
      # | path | size | detail | saturation | top | colour | spectrum | gram | interior gram |
      echo "$row" | awk -F' \\| ' -v ex="$ex" -v size="$size" -v pad="$padding" -v s="$seconds" \
        '{ printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", ex, size, pad, $3, $4, $5, $6, $7, $8, $9, s }' \
        >> "$table"
      tail -n 1 "$table"
    done
  done
done
echo "wrote $table"
