"""`emogan report`: the collapse summary of runs as a Markdown table (the README's M7-against-the-six table)."""

from __future__ import annotations

import argparse
import sys

from emogan.cli import positive_int
from emogan.errors import RunError
from emogan.metrics.records import read_config, read_metrics
from emogan.metrics.summary import WORST_FROM, markdown, seed_rows, seeds_markdown, summary_row
from emogan.runs.answers import answers_path, read_answers
from emogan.runs.store import open_run, scan_runs
from emogan.views import fooling


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="collapse summary of runs as a Markdown table",
                       description="For each RUN (default: every run under --root) print FER-FID, coverage, "
                                   "duplicate rate and emotion JS divergence from FER2013's class prior at --at "
                                   "and at the run's worst iteration (lowest coverage from --from on), with the "
                                   "collapse verdict, then the mean and range over seeds of each model trained "
                                   "at several. Needs the runs' metrics (python -m emogan metrics). Where the root "
                                   "holds Real-or-fake answers (real_or_fake.jsonl, from the explorer's page), "
                                   "their fooling rates per run and iteration follow.")
    p.add_argument("runs", nargs="*", metavar="RUN")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--at", type=positive_int, default=5000, help="iteration of the first columns (default 5000; "
                   "the last measured one before it where it was not measured)")
    p.add_argument("--episodes", action="store_true",
                   help="also print one line per episode of collapse signs (first and last iteration, the worst "
                        "snapshot, the signs)")
    p.add_argument("--from", dest="start", type=positive_int, default=WORST_FROM,
                   help=f"first iteration that can be the worst (default {WORST_FROM}: the untrained start "
                        "is bad for every model)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.runs:
        runs = [open_run(args.root, name) for name in args.runs]
    else:
        entries = scan_runs(args.root)
        for e in entries:
            if e.error:
                print(f"warning: skipping {e.name}: {e.error}", file=sys.stderr)
        runs = [open_run(args.root, e.name) for e in entries if not e.error]
    if not runs:
        raise RunError(f"no runs under {args.root}")
    rows = []
    for r in runs:
        df = read_metrics(r.path)
        if not len(df):
            raise RunError(f"{r.path}: no metrics yet; compute them with python -m emogan metrics {r.path}")
        seed = r.config.get("seed")
        rows.append(summary_row(r.name, str(r.config.get("model", "?")), df, args.at, args.start,
                                emotion=str(r.config.get("emotion", "all")), seed=seed if isinstance(seed, int) else None,
                                recipe=r.recipe,
                                baselines=(read_config(r.path) or {}).get("baselines")))
    print(markdown(rows))
    if args.episodes:
        print()
        for row in rows:
            for e in row["episodes"]:
                print(f"{row['run']}: {e.text}, worst at {e.worst}: {e.signs}")
    over_seeds = seed_rows(rows)
    if over_seeds:
        ats = {r["at"] for r in rows}
        print(f"\nOver seeds, at {ats.pop()}:" if len(ats) == 1 and None not in ats else "\nOver seeds:")
        print(seeds_markdown(over_seeds))
    _real_or_fake(args.root, [r.name for r in runs] if args.runs else None)
    return 0


def _real_or_fake(root: str, names: list[str] | None) -> None:
    """The Real-or-fake rates pooled over the root's answers file (of the runs named, if any), when it has one."""
    if not answers_path(root).exists():
        return
    got = read_answers(root)
    if got.note:
        print(f"warning: {got.note}", file=sys.stderr)
    rates = fooling.pooled_rates(got.lines)
    if names is not None:
        rates = rates[rates["run"].isin(names)]
    right, n = fooling.score(got.lines)
    print(f"\nReal or fake? ({n} answers in {got.path}, {right} right; fooling rate: how often a run's faces were "
          f"taken for real, with its 95% interval):")
    print(fooling.markdown(rates) if len(rates) else "no generated faces answered yet")
