#!/usr/bin/env bash
# Prepare what a GPU machine needs beside the tree (both folders are git-ignored; carry them with the call):
#   .data/fer2013.tgz  FER2013 train + validation JPEGs (about 50 MB)
#   .whl/              wheels of the packages its image lacks (prdc, pure Python)
# Usage: bash scripts/pack_data.sh [FER2013_ROOT]   (default ../shared/data/fer2013)
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:-../shared/data/fer2013}"
PY="${PYTHON:-python3}"
mkdir -p .data .whl
tar czf .data/fer2013.tgz -C "$(dirname "$SRC")" "$(basename "$SRC")"
"$PY" -m pip wheel -q --no-deps -w .whl "prdc==0.2"
ls -l .data/fer2013.tgz .whl
