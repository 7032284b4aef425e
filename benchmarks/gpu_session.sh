#!/usr/bin/env bash
# Everything that needs a GPU, in one prepared run that fits one 10-minute device call:
#   1. the emotion classifier (benchmarks/classifier_train_gpu.sh),
#   2. the throughput benchmark (plain eager loop vs the concurrent trainer),
#   3. the demo: M1..M7 for 5000 iterations at batch 64 on the full training set with the project's CLI,
#   4. mode-collapse metrics for every demo run,
#   5. the compact export into checkpoints/ (where the explorer opens) with checkpoints/manifest.json,
# then packs the results into $OUT as at most 8 files of < 16 MiB.
# Usage on the GPU machine, from the repo root, after `bash benchmarks/pack_data.sh` here and carrying .data:
#   OUT=$OUT bash benchmarks/gpu_session.sh
# Env: ITERS (5000), MODELS (M1,...,M7), PYTHON (python3), DATA (unpacked from .data/fer2013.tgz).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
ITERS="${ITERS:-5000}"
MODELS="${MODELS:-M1,M2,M3,M4,M5,M6,M7}"
OUT="${OUT:?set OUT to the folder that comes back}"
WORK="${WORK:-/tmp/emogan-gpu}"
mkdir -p "$WORK"
if [ -z "${DATA:-}" ]; then
    tar xzf .data/fer2013.tgz -C "$WORK"
    DATA="$WORK/fer2013"
fi
export EMOGAN_DATA="$DATA" EMOGAN_CACHE="$WORK/cache"
LOG="$OUT/gpu_session.log"
exec > >(tee -a "$LOG") 2>&1
nvidia-smi -L || true
"$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0))"

step() { echo; echo "== $* ($(date -u +%T))"; }

step "1. classifier"
PYTHON="$PY" EMOGAN_DATA="$DATA" bash benchmarks/classifier_train_gpu.sh

step "2. throughput: plain eager loop vs emogan train_many"
"$PY" benchmarks/train_throughput.py --data "$DATA" --iters 1000 --plain-iters 300

step "3. demo training"
RUNS="$WORK/runs"
start=$(date +%s.%N)
"$PY" -m emogan train --model "$MODELS" --data "$DATA" --iters "$ITERS" --batch 64 --snapshot-every 50 \
    --seed 0 --out "$RUNS" --no-progress
end=$(date +%s.%N)
echo "demo training wall time: $(echo "$end - $start" | bc) s for $MODELS x $ITERS iterations"

step "4. metrics"
NAMES=$(echo "$MODELS" | tr ',' '\n' | sed 's/$/-all-s0/' | tr '\n' ' ')
# shellcheck disable=SC2086
"$PY" -m emogan metrics $NAMES --root "$RUNS" --every 50 --n 1000 --device cuda

step "5. export"
# shellcheck disable=SC2086
"$PY" -m emogan export $NAMES --root "$RUNS" --out checkpoints
du -sh checkpoints
tar czf "$WORK/demo.tgz" checkpoints
split -b 15m -d "$WORK/demo.tgz" "$OUT/demo.tgz.part"
ls -l "$OUT"
