#!/usr/bin/env bash
# Install neurotex into PREFIX (default ~/.local):
#   PREFIX/bin/neurotex
#   PREFIX/share/neurotex/models/        the exported models, weights and manifest.json
#   PREFIX/share/neurotex/onnxruntime/   libonnxruntime.so from the pinned wheel
#   PREFIX/share/neurotex/CREDITS.md     the method, weights, ONNX Runtime and their licences
#   PREFIX/share/{bash-completion,zsh,fish}/...  shell completions; PREFIX/share/man/man1/neurotex.1
# The binary finds them beside itself (src/data.rs), from any folder, with no checkout and no
# Python. Needs `make build` (binary, ONNX Runtime, models) first.
#
#   scripts/install.sh [PREFIX] [BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-$HOME/.local}
binary=${2:-target/release/neurotex}
fail() { echo "install: $*" >&2; exit 1; }
[ -x "$binary" ] || fail "$binary not found: run \`make build\` first"
[ -f models/manifest.json ] || fail "no models in models/: run \`make setup\` first"
[ -e .cache/onnxruntime/libonnxruntime.so ] || fail "no ONNX Runtime in .cache/onnxruntime: run \`make setup\` first"
share="$prefix/share/neurotex"
mkdir -p "$prefix/bin" "$share"
# The new copy next to the old one, then swapped in: an interrupted install leaves a working one.
stage=$(mktemp -d "$share/.install.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/models" "$stage/onnxruntime"
cp models/manifest.json models/*.onnx models/*.bin "$stage/models/"
lib=$(readlink -f .cache/onnxruntime/libonnxruntime.so)
cp "$lib" "$stage/onnxruntime/"
ln -s "$(basename "$lib")" "$stage/onnxruntime/libonnxruntime.so"
sed -n '/^## Credits and licences/,$p' README.md > "$stage/CREDITS.md"
for part in models onnxruntime CREDITS.md; do
  rm -rf "$share/$part.old"
  [ -e "$share/$part" ] && mv "$share/$part" "$share/$part.old"
  mv "$stage/$part" "$share/$part"
  rm -rf "$share/$part.old"
done
install -m 755 "$binary" "$prefix/bin/neurotex.new"
mv "$prefix/bin/neurotex.new" "$prefix/bin/neurotex"
# Shell completions and the manual page, from the installed binary.
exe="$prefix/bin/neurotex"
mkdir -p "$prefix/share/bash-completion/completions" "$prefix/share/zsh/site-functions" \
  "$prefix/share/fish/vendor_completions.d" "$prefix/share/man/man1"
"$exe" completions bash > "$prefix/share/bash-completion/completions/neurotex"
"$exe" completions zsh > "$prefix/share/zsh/site-functions/_neurotex"
"$exe" completions fish > "$prefix/share/fish/vendor_completions.d/neurotex.fish"
"$exe" man > "$prefix/share/man/man1/neurotex.1"
echo "installed $prefix/bin/neurotex (data in $share)"
