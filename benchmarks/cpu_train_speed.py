"""Training speed of each model on this machine's CPU: iterations/s at batch 64 with the plain trainer.

    python benchmarks/cpu_train_speed.py --data ../shared/data/fer2013 --iters 30

Each model runs `emogan.training.train` for --iters iterations (snapshots every 50, so none for short runs
except the final one) after a 3-iteration warm-up run; the rate excludes data loading and model construction.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emogan.data import load_faces  # noqa: E402
from emogan.models import REGISTRY  # noqa: E402
from emogan.training import train  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data/fer2013")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--models", default="M1,M2,M3,M4,M5,M6")
    args = ap.parse_args()
    faces = load_faces(args.data, split="train")
    print(f"cpu: {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads; "
          f"batch {args.batch}; load average {os.getloadavg()[0]:.2f}")
    for name in args.models.split(","):
        assert name in REGISTRY, name
        with tempfile.TemporaryDirectory() as tmp:
            marks: list[tuple[int, float]] = []
            train(faces, Path(tmp) / "run", model=name, iters=args.iters, batch=args.batch, snapshot_every=50,
                  snapshot_at=(), device="cpu", n_fixed=64,
                  progress_fn=lambda p: marks.append((p.iteration, time.perf_counter())))
        # Rate between the first and the last progress report: steady state, no setup.
        (i0, t0), (i1, t1) = marks[0], marks[-1]
        print(f"{name}: {(i1 - i0) / (t1 - t0):.2f} it/s ({i1 - i0} iterations timed)", flush=True)


if __name__ == "__main__":
    main()
