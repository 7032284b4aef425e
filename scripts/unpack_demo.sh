#!/usr/bin/env bash
# Put the demo that scripts/gpu_session.sh packed (demo.tgz.part*) into checkpoints/, replacing the runs,
# classifier and manifest of the same names; checkpoints/README.md stays.
# Usage: bash scripts/unpack_demo.sh FOLDER_WITH_PARTS
set -euo pipefail
cd "$(dirname "$0")/.."
SRC="${1:?give the folder that holds demo.tgz.part*}"
PY="${PYTHON:-python}"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
cat "$SRC"/demo.tgz.part* | tar xzf - -C "$stage"
"$PY" -m emogan runs --root "$stage"      # a damaged demo stops here, before checkpoints/ changes
du -sh "$stage"
for entry in "$stage"/*; do
    rm -rf "checkpoints/$(basename "$entry")"
    mv "$entry" checkpoints/
done
ls checkpoints
