"""`emogan metrics`: measure mode collapse at every snapshot of runs, into each run's metrics.jsonl (resumable)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from emogan.cli import positive_int
from emogan.device import DEVICE_CHOICES, resolve_device
from emogan.errors import CheckpointError, first_line
from emogan.metrics import DEFAULT_EVERY, DEFAULT_N, METRICS_FILE
from emogan.runs.store import Run, open_run


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "metrics", help="measure mode collapse at each snapshot of runs (FER-FID, coverage, duplicates, ...)",
        description="For each RUN, generate the same N faces at every snapshot that has generator weights (the "
                    "run's fixed latents, then a fixed-seed batch) and measure them against the validation faces "
                    "of the run's dataset and emotion: FER-FID/KID, precision/recall/density/coverage and the "
                    "emotion mix (on the emotion classifier's features), MS-SSIM diversity, the near-duplicate "
                    "rate and birthday-paradox support, NDB/JS over k-means bins of the training faces, and the "
                    f"distance to the nearest training face. One line per snapshot is appended to RUN/{METRICS_FILE}; "
                    "a second call continues where the first stopped.")
    p.add_argument("runs", metavar="RUN", nargs="+", help="run name under --root, or the path of a run folder anywhere")
    p.add_argument("--root", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--every", type=positive_int, default=DEFAULT_EVERY,
                   help="measure snapshots at multiples of this iteration, plus the last one (default: %(default)s)")
    p.add_argument("--n", type=positive_int, default=DEFAULT_N,
                   help="faces per snapshot, the same for every model and iteration (default: %(default)s)")
    p.add_argument("--data", default=None,
                   help="FER2013 root or fer2013.csv with train and validation splits (default: $EMOGAN_DATA, "
                        "else the source each run's config records)")
    p.add_argument("--classifier", default=None, metavar="DIR",
                   help="emotion classifier folder (default: the shipped checkpoints/classifier)")
    p.add_argument("--no-classifier", action="store_true",
                   help="without classifier weights: compute only the metrics that need none; the others are "
                        "written as null")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--restart", action="store_true",
                   help="discard the runs' metrics and recompute them (needed after changing the data, "
                        "classifier or --n)")
    p.add_argument("--quiet", action="store_true", help="no line per snapshot")
    p.set_defaults(func=run)


def _load_classifier(args: argparse.Namespace, device: Any) -> Any:
    if args.no_classifier:
        return None
    from emogan.classifier import load_classifier

    try:
        return load_classifier(args.classifier, device)
    except CheckpointError as e:
        raise CheckpointError(f"{first_line(e)} (or pass --no-classifier to compute only the metrics "
                              f"that need none)") from None


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def _line(res: Any) -> str:
    """One snapshot's headline figures (res: emogan.metrics.evaluate.SnapshotResult)."""
    r = res.row
    parts = [f"{res.run}  it {res.iteration:>6}", f"FER-FID {_fmt(r.get('fer_fid'), '.3f')}",
             f"coverage {_fmt(r.get('coverage'), '.2f')}", f"dup {_fmt(r.get('duplicate_rate'), '.2%')}",
             f"MS-SSIM {_fmt(r.get('msssim'), '.3f')} (real {_fmt(r.get('msssim_real'), '.3f')})",
             f"NDB {_fmt(r.get('ndb_frac'), '.2f')}", f"realism {_fmt(r.get('c2st'), '.1%')}", f"{res.seconds:.1f} s"]
    return "  ".join(parts)


def _print_line(res: Any) -> None:
    print(_line(res), flush=True)


def run(args: argparse.Namespace) -> int:
    # Imported here: the metrics bring torchmetrics, scikit-learn and scipy, which other commands do not need.
    from emogan.metrics import Reference, build_reference, evaluate_run, read_metrics
    from emogan.metrics.neighbours import run_faces
    from emogan.metrics.records import check_compatible, read_config
    from emogan.metrics.reference import identity
    from emogan.metrics.suite import classifier_keys
    from emogan.metrics.verdict import verdict

    device = resolve_device(args.device)
    runs: list[Run] = [open_run(args.root, name) for name in args.runs]   # a wrong name fails before any work
    classifier = _load_classifier(args, device)
    if classifier is None:
        print(f"without a classifier: {', '.join(classifier_keys()[:4])}, ... are written as null")
    references: dict[tuple[str, str, str], Reference] = {}
    total, start = 0, time.perf_counter()
    for r in runs:
        train = run_faces(r, "train", args.data)
        val = run_faces(r, "validation", args.data)
        recorded = (r.config.get("data") or {}).get("content_hash")
        if recorded and recorded != train.content_hash:
            print(f"warning: {r.name}: the training faces in {train.source} differ from those it was trained on "
                  f"(content hash {train.content_hash[:12]} vs {recorded[:12]}); NDB bins use the former",
                  file=sys.stderr)
        if val.content_hash == train.content_hash:
            print(f"warning: {r.name}: {val.source} has no separate validation split; the reference faces are the "
                  f"training faces", file=sys.stderr)
        if not args.restart:      # before the reference's minutes of work, not after
            check_compatible(r.path, identity(train, val, classifier, n=args.n, emotion=r.emotion))
        key = (train.content_hash, val.content_hash, r.emotion)
        if key not in references:
            t0 = time.perf_counter()
            references[key] = build_reference(train, val, classifier, n=args.n, emotion=r.emotion, device=device)
            if not args.quiet:
                print(f"reference: {len(val)} {val.split or 'reference'} faces, {len(train)} training faces "
                      f"({r.emotion}) ready in {time.perf_counter() - t0:.1f} s")
        summary = evaluate_run(r, references[key], classifier, n=args.n, every=args.every, device=device,
                               restart=args.restart, progress_fn=None if args.quiet else _print_line)
        total += summary.computed
        rate = f", {summary.computed / summary.seconds:.2f} snapshots/s" if summary.computed else ""
        skipped = f"; {summary.no_weights} snapshots skipped: no generator weights or stored faces" if summary.no_weights else ""
        v = verdict(read_metrics(r.path), baselines=(read_config(r.path) or {}).get("baselines"))
        print(f"{r.name}: {summary.computed} snapshots measured, {summary.present} already there{skipped}{rate}; "
              f"{v.text}" + (f" ({v.reason})" if v.reason else ""))
    if len(runs) > 1 and total:
        elapsed = time.perf_counter() - start
        print(f"{total} snapshots in {elapsed:.1f} s ({total / elapsed:.2f} snapshots/s, "
              f"reference preparation included)")
    return 0
