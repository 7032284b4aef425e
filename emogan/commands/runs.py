"""`emogan runs`: a table of the runs under a root folder, with what their loss logs say beside their status."""

from __future__ import annotations

import argparse

from emogan.errors import EmoganError, first_line
from emogan.runs.store import Run, RunInfo, loss_log_notes, scan_runs

HEADER = ("name", "model", "emotion", "iterations", "state", "loss_D", "loss_G")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list the runs under a root folder",
                       description="List runs: name, model, emotion, iterations done, state and last losses. "
                                   "Damaged run folders are listed with the reason; a run whose losses hold "
                                   "NaN/inf is marked 'diverged at N', one whose loss log stops before its last "
                                   "snapshot 'loss log ends at N of M'.")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.set_defaults(func=run)


def row(info: RunInfo) -> tuple[str, ...]:
    """The table's cells for one run, then its notes (the trainer's message, what the loss log says) as one cell."""
    if info.error:
        return (info.name, "-", "-", "-", "damaged", "-", "-", info.error)
    try:
        r = Run(info.path)
        losses = r.losses()
        notes = loss_log_notes(losses, r.snapshot_iterations())
    except EmoganError as err:
        return (info.name, info.model, info.emotion, "-", "damaged", "-", "-", first_line(err))
    state = info.state or "?"
    if any(n.startswith("diverged") for n in notes):
        if state == "diverged" and info.message:     # the trainer said it already, with the iteration
            notes = [n for n in notes if not n.startswith("diverged")]
        state = "diverged"
    last = losses.iloc[-1] if len(losses) else None
    return (info.name, info.model, info.emotion, f"{info.iteration}/{info.iters or '?'}", state,
            f"{last.loss_D:.3f}" if last is not None else "-", f"{last.loss_G:.3f}" if last is not None else "-",
            "; ".join([m for m in [info.message] if m] + notes))


def run(args: argparse.Namespace) -> int:
    infos = scan_runs(args.root)
    if not infos:
        print(f"no runs under {args.root}")
        return 0
    rows = [row(i) for i in infos]
    widths = [max(len(str(r[i])) for r in rows + [HEADER]) for i in range(len(HEADER))]
    print("  ".join(h.ljust(w) for h, w in zip(HEADER, widths)))
    for r in rows:
        line = "  ".join(str(c).ljust(w) for c, w in zip(r, widths))
        print((line + (f"  {r[7]}" if r[7] else "")).rstrip())
    return 0
