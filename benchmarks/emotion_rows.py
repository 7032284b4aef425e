"""A conditional run asked for each emotion: the picture (one row per emotion, the same latents in every column, so a
column is one face in all seven emotions) and the label accuracy per emotion beside the classifier's own accuracy
on real faces of that emotion.

    python benchmarks/emotion_rows.py checkpoints/M8-all-s0 --iteration 5000 --png docs/m8_emotions.png

The ceiling of label accuracy is the classifier's real-face accuracy weighted by the emotions asked for; for
FER2013's training mix that is its per-class validation accuracy weighted by the training counts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from emogan.classifier import load_classifier
from emogan.emotions import EMOTIONS, FER2013_TRAIN_COUNTS
from emogan.metrics.evaluate import accuracy_by_emotion
from emogan.runs.store import Run
from emogan.sampling import generate
from emogan.views.gallery import compose


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("run", type=Path)
    ap.add_argument("--iteration", type=int, default=5000)
    ap.add_argument("--n", type=int, default=1000, help="faces per emotion for the accuracy (default 1000)")
    ap.add_argument("--cols", type=int, default=10, help="faces per row of the picture")
    ap.add_argument("--png", type=Path, default=None)
    args = ap.parse_args()
    run, classifier = Run(args.run), load_classifier()
    real = classifier.info["validation"]["per_class"]
    got = accuracy_by_emotion(run, args.iteration, classifier, n=args.n)
    weights = np.array([FER2013_TRAIN_COUNTS[e] for e in EMOTIONS], dtype=np.float64)
    weights /= weights.sum()
    print(f"| emotion asked | {run.name} at {args.iteration}: read as asked (N = {args.n}) | classifier on real "
          "validation faces of it |\n|---|---|---|")
    for e in EMOTIONS:
        print(f"| {e} | {100 * got[e]:.1f}% | {100 * real[e]:.1f}% |")
    mix = float(sum(w * got[e] for w, e in zip(weights, EMOTIONS)))
    ceiling = float(sum(w * real[e] for w, e in zip(weights, EMOTIONS)))
    print(f"| FER2013's training mix | {100 * mix:.1f}% | {100 * ceiling:.1f}% (the ceiling) |")
    if args.png:
        z = run.fixed_latents()[: args.cols]
        rows = [generate(run.load_generator(args.iteration), z, labels=np.full(len(z), i)) for i in range(len(EMOTIONS))]
        labels = [e if c == 0 else "" for e in EMOTIONS for c in range(len(z))]
        args.png.parent.mkdir(parents=True, exist_ok=True)
        compose(np.concatenate(rows), ncols=len(z), scale=2, labels=labels).save(args.png)
        print(f"wrote {args.png}")


if __name__ == "__main__":
    main()
