#!/usr/bin/env bash
# Fuzz the exemplar decoder, the manifest parser and the CLI's value parsers with cargo-fuzz
# (libFuzzer, nightly Rust), SECONDS per target (default 60). Seeds and every input that ever
# crashed live in tests/fuzz_regressions/<target>/, which `cargo test` replays; a new crash is
# copied there and this script fails, so that it becomes a regression test once fixed.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_PER_TARGET=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || rustup toolchain install nightly --profile minimal
status=0
for target in image_decode manifest_parse cli_parsers; do
  corpus=fuzz/corpus/$target
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  cp tests/fuzz_regressions/$target/* "$corpus/"
  echo "== $target: ${SECONDS_PER_TARGET} s"
  log=fuzz/artifacts/$target.log
  if ! (cd fuzz && cargo +nightly fuzz run -O "$target" "corpus/$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -timeout=10) >"$log" 2>&1; then
    status=1
    tail -n 30 "$log"
  fi
  grep -E "^#[0-9]+ *DONE|^Done [0-9]+ runs|SUMMARY" "$log" || true
  for crash in fuzz/artifacts/$target/*; do
    [ -e "$crash" ] || continue
    cp "$crash" "tests/fuzz_regressions/$target/"
    echo "crash kept as tests/fuzz_regressions/$target/$(basename "$crash")"
    status=1
  done
done
exit $status
