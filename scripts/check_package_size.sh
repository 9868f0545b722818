#!/usr/bin/env bash
# The files `cargo package` would put into the .crate (Cargo.toml's `exclude`), summed
# uncompressed: fails above LIMIT bytes (default 10 MB = 10,000,000; crates.io refuses a .crate
# over 10 MiB compressed, so this is on the safe side). Prints the total and the 10 largest files.
# Builds nothing and needs no network. In `make lint`.
#
#   scripts/check_package_size.sh [LIMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=${1:-10000000}
cargo=${CARGO:-cargo}

list=$("$cargo" package --list --allow-dirty --quiet)
sizes=$(while IFS= read -r f; do
  case $f in
    Cargo.toml.orig) f=Cargo.toml ;;          # written by cargo package: the manifest as it is
    .cargo_vcs_info.json) continue ;;         # written by cargo package: a few bytes
  esac
  [ -f "$f" ] || { echo "check_package_size: $f is listed but not a file here" >&2; continue; }
  stat -c '%s %n' -- "$f"
done <<< "$list" | sort -rn)
total=$(awk '{s += $1} END {print s + 0}' <<< "$sizes")
count=$(wc -l <<< "$sizes")

echo "check_package_size: $count files, $total bytes uncompressed (limit $limit)"
echo "largest:"
head -n 10 <<< "$sizes" | awk '{printf "  %10d  %s\n", $1, $2}'
if [ "$total" -gt "$limit" ]; then
  echo "check_package_size: the package is over $limit bytes: add the large files to \`exclude\` in Cargo.toml" >&2
  exit 1
fi
