#!/usr/bin/env bash
# The demo campaign on the CPU: train runs in side-by-side one-thread lanes, measure them, export them into
# checkpoints/ (the manifest keeps runs exported before). Each argument is one lane: its models train and are
# measured one after the other (5000 iterations at batch 64 on the full training set, seed 0, with the CLI's
# snapshot schedule), so a lane's finished runs are whole even if a later one is stopped.
# A lane entry check:MODEL trains MODEL's three 500-iteration precision runs instead (fp32 seed 0, bf16 seeds 0
# and 1, into $WORK/precision) for benchmarks/precision_check.py; they are not exported.
#
#   bash scripts/cpu_campaign.sh "M7 M8" "M5 check:M7"
#
# Env: DATA (FER2013 root, default ../shared/data/fer2013), WORK (scratch runs root, default /tmp/emogan-campaign),
# OUT (export folder, default checkpoints), MAX_MB (budget of all runs there, default 72), GRID_N (faces kept per
# exported grid, default 16), ITERS (default 5000; fewer only to rehearse). Logs and times: $WORK/logs/.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/data/fer2013}
WORK=${WORK:-/tmp/emogan-campaign}
OUT=${OUT:-checkpoints}
MAX_MB=${MAX_MB:-72}
ITERS=${ITERS:-5000}
GRID_N=${GRID_N:-16}
mkdir -p "$WORK/logs"

timed() {   # timed NAME CMD...: runs CMD, appends "NAME seconds" to $WORK/logs/times.txt
    local name=$1; shift
    local t0; t0=$(date +%s)
    "$@"
    echo "$name $(( $(date +%s) - t0 ))" >> "$WORK/logs/times.txt"
}

measure() {         # one thread, as in training
    OMP_NUM_THREADS=1 timed "metrics-$1" python -m emogan metrics "$WORK/runs/$1-all-s0" --data "$DATA" \
        --quiet > "$WORK/logs/metrics-$1.log" 2>&1
}

lane() {
    for m in $1; do
        if [[ $m == check:* ]]; then
            m=${m#check:}
            for spec in "fp32-s0 0 --no-amp" "bf16-s0 0" "bf16-s1 1"; do
                set -- $spec
                timed "precision-$m-$1" python -m emogan train --model "$m" --data "$DATA" --out "$WORK/precision" \
                    --iters $((ITERS < 500 ? ITERS : 500)) --seed "$2" --name "$m-$1" --threads 1 --no-progress ${3:-} \
                    > "$WORK/logs/precision-$m-$1.log" 2>&1
            done
            continue
        fi
        timed "train-$m" python -m emogan train --model "$m" --data "$DATA" --out "$WORK/runs" --iters "$ITERS" --threads 1 \
            --no-progress > "$WORK/logs/train-$m.log" 2>&1
        measure "$m"
    done
}

in_lanes() {        # in_lanes FUNCTION LANE...: one background job per lane; fails if any lane failed
    local fn=$1; shift
    local pids=() status=0
    for lane in "$@"; do "$fn" "$lane" & pids+=($!); done
    for p in "${pids[@]}"; do wait "$p" || status=1; done
    return $status
}

echo "train and measure: $* ($(date -u +%H:%M:%S))"
in_lanes lane "$@"
runs=()
for lane in "$@"; do for m in $lane; do [[ $m == check:* ]] || runs+=("$WORK/runs/$m-all-s0"); done; done
echo "export ${runs[*]} ($(date -u +%H:%M:%S))"
python -m emogan export "${runs[@]}" --out "$OUT" --max-mb "$MAX_MB" --grid-n "$GRID_N"
cat "$WORK/logs/times.txt"
