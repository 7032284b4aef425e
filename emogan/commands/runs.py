"""`emogan runs`: a table of the runs under a root folder."""

from __future__ import annotations

import argparse

from ..errors import EmoganError
from ..runs import Run, scan_runs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("runs", help="list the runs under a root folder",
                       description="List runs: name, model, emotion, iterations done, state and last losses. "
                                   "Damaged run folders are listed with the reason.")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    entries = scan_runs(args.root)
    if not entries:
        print(f"no runs under {args.root}")
        return 0
    header = ("name", "model", "emotion", "iterations", "state", "loss_D", "loss_G")
    rows = []
    for e in entries:
        if e.error:
            rows.append((e.name, "-", "-", "-", "damaged", "-", "-", e.error))
            continue
        try:
            r = Run(e.path)
            losses = r.losses()
            st = r.status()
            last = losses.iloc[-1] if len(losses) else None
            rows.append((e.name, e.model, e.emotion, f"{st.get('iteration', 0)}/{r.config.get('iters', '?')}",
                         st.get("state", "?"),
                         f"{last.loss_D:.3f}" if last is not None else "-",
                         f"{last.loss_G:.3f}" if last is not None else "-", st.get("message", "")))
        except EmoganError as err:
            rows.append((e.name, e.model, e.emotion, "-", "damaged", "-", "-", str(err).splitlines()[0]))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    for r in rows:
        line = "  ".join(str(c).ljust(w) for c, w in zip(r, widths))
        print(line + (f"  {r[7]}" if len(r) > 7 and r[7] else ""))
    return 0
