"""Snapshots per second of `emogan metrics` (N faces per snapshot), and where the time goes.

    python benchmarks/metrics_speed.py [--data PATH] [--n 1000] [--snapshots 3] [--device auto]

Trains a real-size M1 for a few iterations on the test fixture (only to get a run folder with snapshots: the
metrics' cost does not depend on how well G is trained), then measures its snapshots exactly as the CLI does,
against the full FER2013 (default ../shared/data/fer2013, else the fixture). Uses the shipped classifier if
present, else a freshly initialised classifier of the default config (same cost). Reports the reference
preparation (cold = empty cache, warm = cached), snapshots/s over the measured snapshots, and the seconds of each
stage on one snapshot. On a shared machine the load average is printed too: other processes slow every figure.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

from emogan.classifier import Classifier, ClassifierConfig, EmotionNet
from emogan.classifier.files import WEIGHTS_FILE, default_weights_dir, load_classifier
from emogan.data import load_faces
from emogan.device import resolve_device
from emogan.metrics import build_reference, describe, evaluate_run, registry
from emogan.metrics.evaluate import snapshot_faces
from emogan.runs.store import Run
from emogan.training.loop import train

REPO = Path(__file__).resolve().parents[1]

FIXTURE = REPO / "tests" / "fixtures" / "fer2013"
FULL = REPO.parent / "shared" / "data" / "fer2013"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=FULL if (FULL / "train").is_dir() else FIXTURE)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--snapshots", type=int, default=3)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    warnings.simplefilter("ignore")

    with tempfile.TemporaryDirectory(prefix="emogan-metrics-bench-") as tmp:
        tmp = Path(tmp)
        os.environ["EMOGAN_CACHE"] = str(tmp / "cache")   # cold reference caches, nothing left behind
        train(load_faces(FIXTURE, "train", cache_dir=tmp / "cache"), tmp / "runs" / "bench", model="M1",
              iters=args.snapshots, batch=8, snapshot_every=1, snapshot_at=(), n_fixed=64, device="cpu")
        run = Run(tmp / "runs" / "bench")
        if (default_weights_dir() / WEIGHTS_FILE).is_file():
            clf, what = load_classifier(device=device), "shipped weights"
        else:
            torch.manual_seed(0)
            clf, what = Classifier(EmotionNet(ClassifierConfig()).eval(), device), "untrained default config"
        tr = load_faces(args.data, "train", cache_dir=tmp / "cache")
        val = load_faces(args.data, "validation", cache_dir=tmp / "cache")
        print(f"device {device} ({torch.get_num_threads()} threads), classifier: {what}, N={args.n}, "
              f"{len(val)} validation / {len(tr)} training faces from {args.data}")
        if hasattr(os, "getloadavg"):
            print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

        t = time.perf_counter()
        ref = build_reference(tr, val, clf, n=args.n, emotion="all", device=device)
        cold = time.perf_counter() - t
        t = time.perf_counter()
        ref = build_reference(tr, val, clf, n=args.n, emotion="all", device=device)
        warm = time.perf_counter() - t
        print(f"reference: cold {cold:.1f} s, cached {warm:.2f} s")

        # Stages of one snapshot, to see where the time goes.
        it = run.weight_iterations()[0]
        t = time.perf_counter()
        faces = snapshot_faces(run, it, args.n, device)
        stages = {"generate": time.perf_counter() - t}
        t = time.perf_counter()
        sample = describe(faces, clf, device)
        stages["classifier + pixels"] = time.perf_counter() - t
        for m in registry().values():
            t = time.perf_counter()
            m.fn(sample, ref)
            stages[m.name] = time.perf_counter() - t
        print("one snapshot: " + ", ".join(f"{k} {v:.2f} s" for k, v in stages.items()))

        summary = evaluate_run(run, ref, clf, n=args.n, every=1, device=device)
        rate = summary.computed / summary.seconds
        print(f"{summary.computed} snapshots in {summary.seconds:.1f} s: {rate:.3f} snapshots/s "
              f"({summary.seconds / summary.computed:.2f} s per snapshot) on {device}")
        if hasattr(os, "getloadavg"):
            print(f"load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
