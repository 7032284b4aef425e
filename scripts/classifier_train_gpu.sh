#!/usr/bin/env bash
# The one command a GPU session runs for the classifier: train the candidates side by side
# (scripts/classifier_candidates.py), ship the best into checkpoints/classifier, then evaluate the shipped
# weights on validation/. Goal: >= 72% validation accuracy in <= 120 s of training on one H100/H200.
# Usage (from anywhere): bash scripts/classifier_train_gpu.sh
# Env: PYTHON (default python); CLASSIFIER_OUT (default checkpoints/classifier); DEVICE (default cuda; cpu for a
#      smoke run); CLASSIFIER_ARGS (more `classifier train` options for every candidate, later ones win, e.g.
#      "--epochs 1 --limit 2000" for a smoke run; no spaces inside an argument, the variable is split on them);
#      CANDIDATES_WORK (default /tmp/emogan-classifier-candidates: each candidate's folder and log);
#      EMOGAN_DATA (default: the first of ../shared/data/fer2013, shared/data/fer2013, .data/fer2013 that
#      exists); OUT (if set, the weights, both JSON records and both logs are copied there).
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

# The candidates of scripts/classifier_candidates.json train side by side (one process each), every one with
# these options: 150 epochs of batch 256 planned, and --time-budget re-plans fewer after timing epoch 2 if they
# would not fit in 110 s (the one-cycle schedule is re-fitted to the shorter run, so it still anneals fully).
# The best by validation (accuracy goal, then CPU goal, then accuracy) is written to $WEIGHTS.
# shellcheck disable=SC2086
"$PY" scripts/classifier_candidates.py --data "$DATA" --device "$DEVICE" --out "$WEIGHTS" \
    --work "${CANDIDATES_WORK:-/tmp/emogan-classifier-candidates}" -- \
    --seed 0 --epochs 150 --batch 256 --lr 0.1 --time-budget 110 ${CLASSIFIER_ARGS:-} 2>&1 \
    | tee -i "$LOGS/classifier_train.log"     # -i: a Ctrl-C or timeout must not cut the log while candidates save
"$PY" -m emogan classifier eval --data "$DATA" --split validation --weights "$WEIGHTS" \
    --device "$DEVICE" 2>&1 | tee "$LOGS/classifier_eval.log"
if [ -n "${OUT:-}" ]; then
    cp "$WEIGHTS/classifier.safetensors" "$WEIGHTS/classifier.json" "$WEIGHTS/candidates.json" "$OUT"/
fi
