#!/usr/bin/env bash
# The release as a user gets it: `make install PREFIX=DIR` and `make dist`, then each installed
# binary synthesises from / with an empty environment (no checkout, no Python, no variables).
# CI runs it after `make test` (.ci/run); about a minute, most of it gzip.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp examples/textures/pebbles.png "$work/photo.png"
make -s install PREFIX="$work/prefix" >/dev/null
make -s dist >/dev/null
tarball=$(ls target/dist/neurotex-*-x86_64-linux.tar.gz)
(cd target/dist && sha256sum -c --quiet "$(basename "$tarball").sha256")
mkdir "$work/unpacked"
tar -C "$work/unpacked" -xzf "$tarball"
for exe in "$work/prefix/bin/neurotex" "$work"/unpacked/neurotex-*/bin/neurotex; do
  (cd / && env -i "$exe" synth "$work/photo.png" -o "$work/out/t.png" --size 32 --iters 2 \
     --scales 1 --overwrite -q >/dev/null)
  (cd / && env -i "$exe" providers >/dev/null)
  echo "check_dist: $exe synthesised $(file -b "$work/out/t.png" | cut -d, -f1-2) from / with env -i"
done
