"""Crash-safety trial: SIGKILL a CPU training run N times in a row (at random moments and inside snapshot writes),
resume it after each kill, check the run folder after every kill, and compare the finished run with an
uninterrupted one of the same seed. The CI version is tests/test_reliability_kill.py (5 kills).

    python benchmarks/kill_trials.py --kills 50                      # tiny M7, forked children (about 2 minutes)
    python benchmarks/kill_trials.py --kills 20 --cli --model M1     # the real `python -m emogan train --resume`
    python benchmarks/kill_trials.py --kills 20 --cli --model M1 --engine fast       # the concurrent trainer

--cli drives `python -m emogan train ... --resume` (full-size registered model, batch 4, on the test fixture) in
a fresh interpreter per start; a placed kill there counts the fsyncs/renames from interpreter start-up.
Exit status 0 when every check passed; the last line is a JSON summary.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from killharness import Setup, kill_trials


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--kills", type=int, default=50)
    p.add_argument("--iters", type=int, default=None, help="default: 6 per kill + 40")
    p.add_argument("--snapshot-every", type=int, default=2)
    p.add_argument("--model", default=None, help="default: M7 (tiny), or M1 with --cli")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--rng-seed", type=int, default=0, help="seed of the kill schedule")
    p.add_argument("--cli", action="store_true", help="drive `python -m emogan train --resume` in subprocesses")
    p.add_argument("--engine", default="plain", choices=("plain", "fast"), help="with --cli: the CLI's --engine")
    p.add_argument("--work", type=Path, default=None, help="keep the runs here (default: a temp folder)")
    args = p.parse_args()
    setup = Setup(iters=args.iters or 6 * args.kills + 40, snapshot_every=args.snapshot_every,
                  model=args.model or ("M1" if args.cli else "M7"), seed=args.seed, cli=args.cli, engine=args.engine)
    with tempfile.TemporaryDirectory(prefix="kill-trials-") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(f"setup: {setup}; work folder {work}", flush=True)
        report = kill_trials(work, args.kills, setup, rng_seed=args.rng_seed,
                             log=lambda line: print(line, flush=True))
    print(report.summary())
    print(json.dumps({"setup": asdict(setup), **asdict(report)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
