"""Does bf16 autocast train the same as fp32? Compares a model's loss curves over its first iterations.

    python benchmarks/precision_check.py --root RUNS M7 [M5 ...]

For each MODEL it reads three runs under --root: MODEL-fp32-s0 (trained with --no-amp), MODEL-bf16-s0 and
MODEL-bf16-s1 (bf16, seeds 0 and 1), e.g. made by

    python -m emogan train --model M7 --iters 500 --no-amp --name M7-fp32-s0 --out RUNS
    python -m emogan train --model M7 --iters 500 --name M7-bf16-s0 --out RUNS
    python -m emogan train --model M7 --iters 500 --seed 1 --name M7-bf16-s1 --out RUNS

and prints, per 100-iteration window, the mean loss_D and loss_G of each run. The precision difference
|fp32 - bf16| (same seed) is set against the seed-to-seed difference |bf16 s0 - bf16 s1| (same precision): bf16
"trains the same" when the first is no larger than the second in most windows. With --png, the three runs' faces
at their last snapshot (8 from the same fixed latents each) go into one image, a column per run, to look at.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emogan.runs.store import Run
from emogan.views.gallery import compose


def window_means(run: Run, column: str, window: int) -> np.ndarray:
    losses = run.losses()
    values = losses[column].to_numpy(dtype=np.float64)
    n = len(values) // window
    return values[: n * window].reshape(n, window).mean(axis=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--window", type=int, default=100)
    ap.add_argument("--png", type=Path, default=None, help="write the runs' last faces side by side here")
    ap.add_argument("models", nargs="+")
    args = ap.parse_args()
    sheets = []
    for model in args.models:
        fp32, bf16, other = (Run(args.root / f"{model}-{tag}") for tag in ("fp32-s0", "bf16-s0", "bf16-s1"))
        print(f"{model}: mean per {args.window} iterations "
              f"(precision gap |fp32-bf16| vs seed gap |bf16 s0-bf16 s1|)")
        wins = total = 0
        for column in ("loss_D", "loss_G"):
            a, b, c = (window_means(r, column, args.window) for r in (fp32, bf16, other))
            n = min(len(a), len(b), len(c))
            for i in range(n):
                precision_gap, seed_gap = abs(a[i] - b[i]), abs(b[i] - c[i])
                wins += precision_gap <= seed_gap
                total += 1
                print(f"  {column} its {i * args.window + 1:>5}-{(i + 1) * args.window:<5} fp32 {a[i]:.3f}  "
                      f"bf16 {b[i]:.3f}  bf16 s1 {c[i]:.3f}   gaps: precision {precision_gap:.3f}  seed {seed_gap:.3f}")
        print(f"  {model}: precision gap <= seed gap in {wins} of {total} windows")
        last = fp32.snapshot_iterations()[-1]
        faces = [r.grid(last)[:8] for r in (fp32, bf16, other)]            # (8, 48, 48) each
        sheets.append((model, last, np.stack(faces, axis=1).reshape(-1, 48, 48)))
    if args.png is not None:
        images = np.concatenate([faces for _, _, faces in sheets])
        compose(images, ncols=3, scale=2, col_labels=("fp32 s0", "bf16 s0", "bf16 s1")).save(args.png)
        print(f"wrote {args.png}: rows of 8 faces per model, in order {', '.join(f'{m} @{it}' for m, it, _ in sheets)}")


if __name__ == "__main__":
    main()
