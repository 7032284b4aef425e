"""The per-emotion runs as one Markdown table: at --at, FER-FID, FER-KID and coverage beside the floor real training
faces of the same emotion score against the same reference (metrics_config.json's baselines), the share of faces
the classifier reads as the run's emotion, memorisation (the share of near-copies of training faces, its highest
over the run, and the real validation faces' own share) and the episodes.

    python benchmarks/emotion_table.py checkpoints/*-disgust-s0 checkpoints/*-fear-s0 checkpoints/*-happy-s0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emogan.metrics.records import read_config, read_metrics
from emogan.metrics.verdict import episodes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--at", type=int, default=5000)
    args = ap.parse_args()
    print("| run | reference faces | FER-FID (real) | FER-KID (real) | coverage (real) | read as its emotion | "
          "memorised at end / highest (real) | episodes |")
    print("|---|---|---|---|---|---|---|---|")
    for path in args.runs:
        df, config = read_metrics(path), read_config(path) or {}
        b, ref = config.get("baselines") or {}, config.get("reference") or {}
        row = df[df["iteration"] == args.at]
        if row.empty:
            print(f"| {path.name} | not measured at {args.at} |")
            continue
        r = row.iloc[0]
        emotion = ref.get("emotion", "all")
        share = r.get(f"emotion_{emotion}")
        eps = episodes(df, b)
        listed = "; ".join(f"{e.kind} {e.first}" + (f"-{e.last}" if e.last != e.first else "") for e in eps)
        print(f"| {path.name} | {ref.get('n_images')} {emotion} | {r['fer_fid']:.2f} ({b['fer_fid_real']:.2f}) | "
              f"{r['fer_kid']:.3f} ({b['fer_kid_real']:.3f}) | {r['coverage']:.1%} ({b['coverage_real']:.1%}) | "
              f"{share:.1%} | {r['memorised_rate']:.1%} / {df['memorised_rate'].max():.1%} "
              f"({b['memorised_rate_real']:.1%}) | {len(eps)}{': ' + listed if listed else ''} |")


if __name__ == "__main__":
    main()
