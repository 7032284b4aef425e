#!/usr/bin/env bash
# The one command a GPU session runs: train the shipped emotion classifier into checkpoints/classifier with the
# final hyper-parameters, then evaluate it on validation/. Goal: >= 72% validation accuracy in <= 120 s of training
# on one H100/H200. Usage (from anywhere): bash benchmarks/classifier_train_gpu.sh
# Env: PYTHON (default python); CLASSIFIER_OUT (default checkpoints/classifier); DEVICE (default cuda; cpu for a smoke run); CLASSIFIER_ARGS (extra `classifier
#      train` options, later ones win, e.g. "--epochs 1 --limit 2000" for a smoke run, or
#      '--config {"widths":[48,96,192,384]}' for a wider net: no spaces, the variable is split on them); EMOGAN_DATA (default: the first of ../shared/data/fer2013, shared/data/fer2013,
#      .data/fer2013 that exists -- a device machine gets the repo only, so carry the JPEG tree (59 MB) as the
#      git-ignored .data/fer2013); OUT (if set, the weights, the JSON record and both logs are copied there).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python}"
DEVICE="${DEVICE:-cuda}"
WEIGHTS="${CLASSIFIER_OUT:-checkpoints/classifier}"
if [ -z "${EMOGAN_DATA:-}" ]; then
    for d in ../shared/data/fer2013 shared/data/fer2013 .data/fer2013; do
        if [ -d "$d/train" ]; then EMOGAN_DATA="$d"; break; fi
    done
fi
DATA="${EMOGAN_DATA:?no FER2013 found: set EMOGAN_DATA to a folder with train/ and validation/}"
LOGS="${OUT:-$WEIGHTS}"
mkdir -p "$LOGS"

# 150 epochs of batch 256 are planned; --time-budget re-plans fewer epochs after timing epoch 2 if they would
# not fit in 110 s (the one-cycle schedule is re-fitted to the shorter run, so it still anneals fully).
"$PY" -m emogan classifier train --data "$DATA" --device "$DEVICE" --seed 0 \
    --epochs 150 --batch 256 --lr 0.1 --time-budget 110 ${CLASSIFIER_ARGS:-} \
    --out "$WEIGHTS" 2>&1 | tee "$LOGS/classifier_train.log"
"$PY" -m emogan classifier eval --data "$DATA" --split validation --weights "$WEIGHTS" \
    --device "$DEVICE" 2>&1 | tee "$LOGS/classifier_eval.log"
if [ -n "${OUT:-}" ]; then
    cp "$WEIGHTS/classifier.safetensors" "$WEIGHTS/classifier.json" "$OUT"/
fi
