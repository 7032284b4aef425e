"""A sweep against the same runs one after the other, in one benchmark run: 4 real runs (M3 and M7 at seeds 0 and
1, on FER2013's training faces) of --iters iterations each.

    python benchmarks/sweep_speedup.py --data ../shared/data/fer2013 --iters 300

"one after the other" is what a user types without a sweep: `python -m emogan train` per run, with its default
threads (one per core), or with --threads N each. The sweep runs them with its defaults: one job per core, one
thread each. The goal is a ratio of at most 0.6 on a 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RUNS = [("M3", 0), ("M7", 0), ("M3", 1), ("M7", 1)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--iters", type=int, default=300)
    ap.add_argument("--threads", type=int, default=None,
                    help="threads of each run one after the other (default: train's own, one per core)")
    args = ap.parse_args()
    common = ["--data", args.data, "--iters", str(args.iters), "--snapshot-every", "50"]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        for model, seed in RUNS:
            threads = ["--threads", str(args.threads)] if args.threads else []
            subprocess.run([sys.executable, "-m", "emogan", "train", "--model", model, "--seed", str(seed),
                            "--out", str(Path(tmp) / "one-by-one"), "--no-progress", *threads, *common], check=True,
                           capture_output=True)
        sequential = time.perf_counter() - t0
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-m", "emogan", "sweep", "--models", "M3,M7", "--seeds", "0,1",
                        "--root", str(Path(tmp) / "sweep"), "--no-progress", *common], check=True, capture_output=True)
        sweep = time.perf_counter() - t0
    how = f"{args.threads} thread{'s' if args.threads > 1 else ''} each" if args.threads else "train's default threads"
    print(f"4 runs of {args.iters} iterations one after the other ({how}): {sequential:.1f} s")
    print(f"the same 4 as a sweep (one job per core, one thread each): {sweep:.1f} s")
    print(f"ratio: {sweep / sequential:.2f} (goal: at most 0.6)")


if __name__ == "__main__":
    main()
