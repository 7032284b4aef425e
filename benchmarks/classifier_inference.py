"""CPU latency of classifier inference on 64 faces: the number behind the "under 50 ms on 2 cores" budget.

    python benchmarks/classifier_inference.py [--weights DIR] [--faces 64] [--repeats 30]

Times `Classifier.predict` (the public path: uint8 -> float, folded-BN net, softmax) with torch's default
thread count under inference mode, NCHW and channels_last, with and without flip TTA, and reports the median
(and the 10th percentile, less sensitive to other processes on a shared machine). Uses the shipped weights if
present, else a freshly initialised net of the default config: the cost is the same.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet, count_macs
from emogan.classifier.files import WEIGHTS_FILE, default_weights_dir, read_net
from emogan.classifier.model import build_net, config_from_dict
from emogan.commands.classifier import _json_fields  # (--config parsed and checked as `classifier train` does)


def time_predict(clf: Classifier, faces: np.ndarray, repeats: int, tta: bool) -> list[float]:
    for _ in range(3):  # warm-up: oneDNN picks and caches its kernels on the first calls
        clf.predict(faces, tta=tta)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        clf.predict(faces, tta=tta)
        times.append(time.perf_counter() - t)
    return times


def _cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine from /proc/stat; (0, 0) where there is none."""
    try:
        fields = [int(v) for v in open("/proc/stat").readline().split()[1:]]
    except OSError:
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def others_load(before: tuple[int, int], after: tuple[int, int], own_seconds: float) -> float | None:
    """Share of the machine's CPU that other processes used meanwhile: timings are only meaningful near 0."""
    total = after[1] - before[1]
    if total <= 0:
        return None
    tick = os.sysconf("SC_CLK_TCK")
    return max(0.0, ((after[0] - before[0]) - own_seconds * tick) / total)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", type=Path, default=default_weights_dir())
    ap.add_argument("--faces", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--config", type=lambda text: _json_fields(text, "classifier config", config_from_dict),
                    default=None, metavar="JSON",
                    help='time a candidate net instead, e.g. \'{"depths": [1, 1, 2, 1]}\' (ClassifierConfig fields), '
                         'or an ensemble of candidates: \'{"members": [{}, {"depths": [1, 1, 2, 1]}]}\'')
    args = ap.parse_args()

    path = args.weights / WEIGHTS_FILE
    if args.config is not None:
        torch.manual_seed(0)
        net, what = build_net(args.config).eval(), f"untrained candidate {args.config}"
    elif path.is_file():
        net, _ = read_net(path)
        what = str(path)
    else:
        torch.manual_seed(0)
        net, what = EmotionNet(ClassifierConfig()).eval(), "untrained default config (no shipped weights)"
    params = sum(p.numel() for p in net.parameters())
    macs = count_macs(net)
    faces = np.random.default_rng(0).integers(0, 256, (args.faces, 48, 48), dtype=np.uint8)
    print(f"net: {what}\n  {params / 1e6:.2f} M parameters, {macs / 1e6:.1f} M multiply-adds "
          f"({2 * macs / 1e6:.0f} MFLOP) per face")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.faces} faces, "
          f"median of {args.repeats} runs")
    results = {}
    ticks, own = _cpu_ticks(), time.process_time()
    for channels_last in (False, True):
        clf = Classifier(net, "cpu", channels_last=channels_last)
        for tta in (False, True):
            ts = sorted(time_predict(clf, faces, args.repeats, tta))
            key = f"{'channels_last' if channels_last else 'nchw'}{' +flipTTA' if tta else ''}"
            results[key] = {"median_ms": round(1e3 * statistics.median(ts), 2),
                            "p10_ms": round(1e3 * ts[len(ts) // 10], 2)}
            print(f"  {key:<24} median {results[key]['median_ms']:7.2f} ms   p10 {results[key]['p10_ms']:7.2f} ms")
    load = others_load(ticks, _cpu_ticks(), time.process_time() - own)
    if load is not None:
        print(f"other processes used ~{100 * load:.0f}% of the CPUs meanwhile"
              + ("  (busy machine: rerun when idle)" if load > 0.1 else ""))
    default = Classifier(net, "cpu")
    chosen = f"{'channels_last' if default.channels_last else 'nchw'}"
    print(f"predict() default on the CPU: {chosen}, no TTA: {results[chosen]['median_ms']:.2f} ms for "
          f"{args.faces} faces")
    print(json.dumps({"faces": args.faces, "params": params, "macs_per_face": macs, "default": chosen,
                      "others_load": None if load is None else round(load, 3), **results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
