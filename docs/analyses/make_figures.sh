#!/usr/bin/env bash
# The README's analysis figures, made by the tool from the built-in example (the U-Net, MRI 4×, 128×128):
#   bash docs/analyses/make_figures.sh      (about 2 min on 2 CPU cores)
set -euo pipefail
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for name in rotation features invariance nullspace; do
  halluview-cli analyse "$name" --demo --device cpu --seed 0 --quiet --out "$work/$name"
  cp "$work/$name/$name.png" "$name.png"
  cp "$work/$name/analysis.json" "$name.json"
done
