#!/usr/bin/env bash
# For each fixtures/libxl/CASE/ with DOMID.json configs, has the real libxenlight 4.17
# parse them and print them the way `xl list -l` does, into CASE/expected.txt.
# Needs gcc, libxen-dev and libyajl-dev.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
BIN=$(mktemp); trap 'rm -f "$BIN"' EXIT
gcc -O1 -rdynamic -o "$BIN" "$HERE/libxl-roundtrip.c" -lxenlight -lxentoollog -lyajl
for dir in "$HERE"/../fixtures/libxl/*/; do
  args=()
  for f in $(cd "$dir" && ls *.json | sort -n); do args+=("${f%.json}" "$dir/$f"); done
  "$BIN" "${args[@]}" > "$dir/expected.txt"
  echo "wrote $dir/expected.txt" >&2
done
