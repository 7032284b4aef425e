#!/usr/bin/env bash
# Pack FER2013 (train + validation JPEGs, about 50 MB) into .data/ so it travels to a GPU machine with the tree.
# Usage: bash benchmarks/pack_data.sh [FER2013_ROOT]   (default ../shared/data/fer2013)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-../shared/data/fer2013}"
mkdir -p .data
tar czf .data/fer2013.tgz -C "$(dirname "$SRC")" "$(basename "$SRC")"
ls -l .data/fer2013.tgz
