"""How many low-coverage snapshots the episodes name: for each run, the measured snapshots after --from whose
coverage is under half a best coverage, and how many of them lie inside an episode (emogan.metrics.verdict).

    python benchmarks/episode_recall.py checkpoints/*-s*

Two bests are counted. "Best so far" is the rule's own (a snapshot is judged on what the run had shown by then, so
the verdict at an iteration never changes when later snapshots arrive): every such snapshot lies in an episode,
and the line says so if one does not. "Best of the run" also counts snapshots of a run that is still learning
(coverage 0.27 at 1350 when the run reaches 0.55 at 5000), which are no collapse: the figure says how many of those
there are.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from emogan.metrics.records import read_config, read_metrics
from emogan.metrics.verdict import COVERAGE_DROP, episodes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--from", dest="start", type=int, default=1000, help="count snapshots after this iteration")
    args = ap.parse_args()
    totals = {"so far": [0, 0], "of the run": [0, 0]}
    print("| run | episodes | under half the best so far (inside) | under half the run's best (inside) |")
    print("|---|---|---|---|")
    for path in args.runs:
        df = read_metrics(path).sort_values("iteration").reset_index(drop=True)
        if df.empty or "coverage" not in df:
            continue
        eps = episodes(df, (read_config(path) or {}).get("baselines"))
        spans = [(e.first, e.last) for e in eps]
        late = df["iteration"] > args.start
        cells = []
        for name, best in (("so far", df["coverage"].cummax()), ("of the run", df["coverage"].max())):
            low = df.loc[late & (df["coverage"] < COVERAGE_DROP * best), "iteration"].astype(int).tolist()
            hit = sum(any(a <= it <= b for a, b in spans) for it in low)
            totals[name][0] += hit
            totals[name][1] += len(low)
            cells.append(f"{len(low)} ({hit})")
        print(f"| {path.name} | {len(eps)} | {cells[0]} | {cells[1]} |")
    for name, (hit, total) in totals.items():
        share = f"{hit / total:.0%}" if total else "none to count"
        print(f"under half the best {name}, after {args.start}: {hit} of {total} inside an episode ({share})")


if __name__ == "__main__":
    main()
