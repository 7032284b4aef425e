#!/usr/bin/env bash
# Everything that needs a GPU, in one prepared run that fits one 10-minute device call:
#   0. the GPU-only tests of the concurrent trainer (if CUDA graphs misbehave, the demo trains without them),
#   1. the emotion classifier (scripts/classifier_train_gpu.sh),
#   2. the demo: M1..M7 for 5000 iterations at batch 64 on the full training set with the project's CLI, then the
#      extra, M8 (conditional), in its own process, so that nothing M8 does can slow or stop M1..M7; it ships in
#      the demo only where it costs M1..M7 no faces,
#   3. a first compact export of it, packed into $OUT at once, so that a later failure loses nothing,
#   4. the throughput benchmark (plain eager loop vs the concurrent trainer),
#   5. mode-collapse metrics for every demo run: every 500 iterations first, then 250, then 50, until the time
#      left runs short (`emogan metrics` resumes, so each pass only adds),
#   6. the final export with the metrics, packed into $OUT again.
# Each step runs under `timeout` against one overall budget and a failed step does not stop the later ones.
#
# On the GPU machine, from the repo root, after `bash scripts/pack_data.sh` here and carrying .data and .whl:
#   OUT=$OUT EMOGAN_COMMIT=<commit> bash scripts/gpu_session.sh
# Back here: bash scripts/unpack_demo.sh <folder with demo.tgz.part*>
# A smoke run of the whole script on the CPU (minutes, checks the plumbing, not the figures):
#   DEVICE=cpu ITERS=100 MODELS=M1,M7 METRICS_N=200 CLASSIFIER_ARGS="--epochs 1 --limit 2000" BUDGET=1500 \
#       CLASSIFIER_OUT=/tmp/clf DATA=../shared/data/fer2013 OUT=/tmp/out PYTHON=.venv/bin/python \
#       bash scripts/gpu_session.sh
# Env: BUDGET (seconds, default 540), ITERS (5000), MODELS (M1,...,M7), EXTRA (M8; empty: none), DEVICE (cuda),
#      PYTHON (python3),
#      METRICS_N (1000), CLASSIFIER_ARGS (extra `classifier train` options), DATA (default: unpacked from
#      .data/fer2013.tgz), WORK (/tmp/emogan-gpu), CLASSIFIER_OUT (checkpoints/classifier).
set -uo pipefail
cd "$(dirname "$0")/.."
export PYTHONUNBUFFERED=1
PY="${PYTHON:-python3}"
ITERS="${ITERS:-5000}"
MODELS="${MODELS:-M1,M2,M3,M4,M5,M6,M7}"
EXTRA="${EXTRA-M8}"
DEVICE="${DEVICE:-cuda}"
BUDGET="${BUDGET:-540}"
OUT="${OUT:?set OUT to the folder that comes back}"
WORK="${WORK:-/tmp/emogan-gpu}"
RUNS="$WORK/runs"
export CLASSIFIER_OUT="${CLASSIFIER_OUT:-checkpoints/classifier}"
rm -rf "$RUNS" "$WORK/demo"
mkdir -p "$WORK" "$OUT"
LOG="$OUT/gpu_session.log"
exec > >(tee -a "$LOG") 2>&1

if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then     # prdc is not on the GPU image: carried as a wheel
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" .whl/*.whl
    export PYTHONPATH="$WORK/site${PYTHONPATH:+:$PYTHONPATH}"
fi
if [ -z "${DATA:-}" ]; then
    tar xzf .data/fer2013.tgz -C "$WORK" || { echo "no .data/fer2013.tgz: run scripts/pack_data.sh first"; exit 2; }
    DATA="$WORK/fer2013"
fi
export EMOGAN_DATA="$DATA" EMOGAN_CACHE="$WORK/cache"

left() { echo $((BUDGET - SECONDS)); }
step() { echo; echo "== $* ($(date -u +%T), $(left) s left)"; }
# limited SECONDS CMD...: run CMD for at most SECONDS (SIGINT first: the trainer and metrics stop cleanly there).
limited() {
    local t=$1; shift
    if [ "$t" -lt 10 ]; then echo "skipped: no time left"; return 124; fi
    timeout --signal=INT --kill-after=20 "$t" "$@"
    local rc=$?
    [ $rc -eq 0 ] || echo "exit status $rc"
    return $rc
}
min() { [ "$1" -lt "$2" ] && echo "$1" || echo "$2"; }
names_of() { echo "$1" | tr ',' '\n' | grep -v '^$' | sed 's/$/-all-s0/' | tr '\n' ' '; }
NAMES=$(names_of "$MODELS")
EXTRA_NAMES=$(names_of "$EXTRA")
# The runs that exist (the extra may have failed to train): metrics, report and export get only these.
present() { local r; for r in "$@"; do [ -f "$RUNS/$r/config.json" ] && printf '%s ' "$r"; done; }
# pack: export the demo runs (with whatever metrics exist) within the demo's 60 MB budget, keeping as many faces
# per grid as fit, add the classifier, tar and split them into $OUT. One call brings back 64 MiB (67.1 MB) in all,
# so with a large classifier the demo gets less: 66 MB minus the classifier, leaving a MB for the log.
pack() {
    rm -rf "$WORK/demo" && mkdir -p "$WORK/demo"
    local n exported="" budget=60 clf_mb
    if [ -d "$CLASSIFIER_OUT" ]; then
        clf_mb=$(( ($(du -sb "$CLASSIFIER_OUT" | cut -f1) + 999999) / 1000000 ))
        budget=$(min 60 $((66 - clf_mb)))
    fi
    # At each grid size, every run first, then without M8: M1..M7 are the demo the issues ask for, and M8, the
    # extra, ships only where it costs them no faces.
    local sets=() names all
    # shellcheck disable=SC2086
    all=$(present $NAMES $EXTRA_NAMES)
    [ "$all" != "$NAMES" ] && sets+=("$all")
    sets+=("$NAMES")
    for n in 16 12 9; do
        for names in "${sets[@]}"; do
            # shellcheck disable=SC2086
            if "$PY" -m emogan export $names --root "$RUNS" --out "$WORK/demo" --grid-n "$n" --max-mb $budget; then
                exported=yes; echo "exported $names with $n faces per grid"; break 2
            fi
        done
    done
    [ -n "$exported" ] || return 1
    if [ -f "$CLASSIFIER_OUT/classifier.safetensors" ]; then cp -r "$CLASSIFIER_OUT" "$WORK/demo/classifier"; fi
    du -sh "$WORK/demo"
    rm -f "$OUT"/demo.tgz.part*
    tar czf - -C "$WORK/demo" . | split -b 15m -d - "$OUT/demo.tgz.part"
    ls -l "$OUT"
}

nvidia-smi -L || true
"$PY" -c "import torch; print('torch', torch.__version__, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA')"

GRAPHS="" EXTRA_GRAPHS=""
if [ "$DEVICE" = cuda ]; then
    step "0. GPU tests of the concurrent trainer"
    limited 120 "$PY" -m pytest -q -rfE -p no:cacheprovider tests/test_cuda_graphs.py 2>&1 | tee "$WORK/gpu_tests.log"
    if [ "${PIPESTATUS[0]}" -ne 0 ]; then
        failed=$(grep -E '^(FAILED|ERROR) ' "$WORK/gpu_tests.log" || true)
        # A failure of the conditional model's own test costs only M8 its graphs; any other (or a run that did
        # not get as far as naming its failures) costs every model.
        if [ -z "$failed" ] || echo "$failed" | grep -qv conditional; then
            GRAPHS="--no-graphs"; EXTRA_GRAPHS="--no-graphs"; echo "the demo trains without CUDA graphs"
        else
            EXTRA_GRAPHS="--no-graphs"; echo "M8 trains without CUDA graphs"
        fi
    fi
fi

step "1. classifier"
limited "$(min 220 "$(left)")" env -u OUT PYTHON="$PY" EMOGAN_DATA="$DATA" DEVICE="$DEVICE" \
    CLASSIFIER_ARGS="${CLASSIFIER_ARGS:-}" bash scripts/classifier_train_gpu.sh

step "2. demo training"
start=$SECONDS
# shellcheck disable=SC2086
limited $(($(left) - 150)) "$PY" -m emogan train --model "$MODELS" --data "$DATA" --iters "$ITERS" --batch 64 \
    --snapshot-every 50 --seed 0 --out "$RUNS" --device "$DEVICE" --no-progress $GRAPHS
echo "demo training wall time: $((SECONDS - start)) s for $MODELS x $ITERS iterations (includes data loading)"
if [ -n "$EXTRA" ]; then
    step "2b. the extra: $EXTRA"
    start=$SECONDS
    # shellcheck disable=SC2086
    limited "$(min 90 $(($(left) - 170)))" "$PY" -m emogan train --model "$EXTRA" --data "$DATA" --iters "$ITERS" \
        --batch 64 --snapshot-every 50 --seed 0 --out "$RUNS" --device "$DEVICE" --no-progress $EXTRA_GRAPHS
    echo "extra training wall time: $((SECONDS - start)) s for $EXTRA x $ITERS iterations (includes data loading)"
fi

step "3. first export"
pack

step "4. throughput: plain eager loop vs emogan train_many"
limited "$(min 100 $(($(left) - 120)))" "$PY" benchmarks/train_throughput.py --data "$DATA" --device "$DEVICE" \
    --iters "$(min 1000 "$ITERS")" --plain-iters "$(min 300 "$ITERS")"

step "5. metrics"
for every in 500 250 50; do
    # shellcheck disable=SC2086
    limited $(($(left) - 60)) "$PY" -m emogan metrics $(present $NAMES $EXTRA_NAMES) --root "$RUNS" --every $every \
        --n "${METRICS_N:-1000}" --classifier "$CLASSIFIER_OUT" --device "$DEVICE" --quiet || break
done

# shellcheck disable=SC2086
"$PY" -m emogan report $(present $NAMES $EXTRA_NAMES) --root "$RUNS"   # the README's M7-against-the-six table

step "6. final export"
pack
echo "done in $SECONDS s"
