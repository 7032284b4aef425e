"""`emogan train`: train one model, or all of the original six, on FER2013."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from emogan.cli import positive_int
from emogan.data import load_faces
from emogan.device import DEVICE_CHOICES, fast_bf16, resolve_device
from emogan.emotions import EMOTIONS
from emogan.errors import DataError
from emogan.models import ORIGINAL_SIX, get_config, model_names
from emogan.runs.paths import check_name, resolve_run_path
from emogan.runs.provenance import device_name
from emogan.training.loop import Job, Progress, train_many
from emogan.training.options import RunStatus, TrainConfig
from emogan.training.session import RunResult, check_emotion, preflight, run_name
from emogan.training.stopping import StopFlag


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train a GAN into a run folder",
                       description="Train one model (or `--model all`: M1..M6 in turn) on FER2013. Each run writes "
                                   "its losses every iteration and a snapshot (sample grid + generator weights) "
                                   "every --snapshot-every iterations into OUT/NAME.")
    p.add_argument("--model", default="M1", type=_models,
                   help=f"model id ({', '.join(model_names())}), a comma-separated list, or all (M1..M6)")
    p.add_argument("--emotion", default="all", choices=("all",) + EMOTIONS, help="train on one emotion only")
    p.add_argument("--data", default=os.environ.get("EMOGAN_DATA"),
                   help="FER2013 root, emotion folder tree or fer2013.csv (default: $EMOGAN_DATA)")
    p.add_argument("--split", default="train", help="split of --data to train on (default: train)")
    p.add_argument("--iters", type=positive_int, default=5000)
    p.add_argument("--batch", type=positive_int, default=64)
    p.add_argument("--snapshot-every", type=positive_int, default=50)
    p.add_argument("--weights-every", type=positive_int, default=None,
                   help="keep generator weights every N iterations (default: at every snapshot)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="checkpoints", help="runs root (default: checkpoints)")
    p.add_argument("--name", default=None, help="run folder name (default: MODEL-EMOTION-sSEED)")
    p.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    p.add_argument("--resume", action="store_true", help="continue the run in OUT/NAME from its last snapshot")
    p.add_argument("--engine", default="auto", choices=("auto", "plain", "fast"),
                   help="plain: one model after the other; fast: all models stepped together (as one CUDA graph on "
                        "a GPU); auto: fast on CUDA, plain on the CPU")
    p.add_argument("--no-graphs", action="store_true", help="fast engine on CUDA without CUDA graphs")
    p.add_argument("--no-amp", action="store_true",
                   help="fp32 instead of bf16 autocast (the default where the CPU or GPU has native bf16)")
    p.add_argument("--threads", type=positive_int, default=None,
                   help="CPU threads for torch (default: one per core); two one-thread trainings side by side "
                        "can beat one two-thread training")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _models(text: str) -> list[str]:
    if text == "all":
        return list(ORIGINAL_SIX)
    names = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in names if n not in model_names()]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown model {unknown[0] if unknown else text!r}: expected "
                                         f"{', '.join(model_names())}, a comma-separated list, or all")
    if len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"{text!r} names a model twice")
    return names


def run(args: argparse.Namespace) -> int:
    # Ctrl-C from the first line on sets a flag that the training loop shares (StopFlag nests): a stop during the
    # data loading or the setup is kept, and the loop ends at its first check with a snapshot, resumable.
    with StopFlag() as stop:
        return _train(args, stop)


def _train(args: argparse.Namespace, stop: StopFlag) -> int:
    if not args.data:
        raise DataError("no dataset given: pass --data PATH or set EMOGAN_DATA")
    models = args.model
    if args.name is not None:
        check_name(args.name)
        if len(models) > 1:
            raise DataError("--name names one run; with --model all the runs are named MODEL-EMOTION-sSEED")
    for model in models:
        check_emotion(get_config(model), args.emotion)
    device = resolve_device(args.device)
    if args.threads is not None and device.type == "cpu":
        torch.set_num_threads(args.threads)
    jobs = [Job(m, Path(args.out) / (args.name or run_name(m, args.emotion, args.seed)), args.seed) for m in models]
    for job in jobs:
        resolve_run_path(args.out, job.run_dir.name)  # a name that is a symlink out of --out is refused too
        preflight(job.run_dir, args.resume)
    faces = load_faces(args.data, split=args.split, emotion=args.emotion)
    amp = False if args.no_amp else fast_bf16(device)
    print(f"data: {len(faces)} faces from {faces.source} ({args.split}, {args.emotion})"
          + (f", {faces.n_converted} converted to 48x48 grayscale" if faces.n_converted else "")
          + f"; {device_name(device)}, {'bf16-autocast' if amp else 'fp32'}", file=sys.stderr)
    together = args.engine == "fast" or (args.engine == "auto" and device.type == "cuda")
    graphs = together and device.type == "cuda" and not args.no_graphs
    options = TrainConfig(emotion=args.emotion, iters=args.iters, batch=args.batch, snapshot_every=args.snapshot_every,
                          weights_every=args.weights_every, device=args.device, resume=args.resume,
                          command=tuple(args.invocation), amp=amp, cuda_graphs=graphs)
    # "fast" steps all models together (one CUDA graph on a GPU); "plain" trains them one after the other.
    batches = [jobs] if together else [[job] for job in jobs]
    results = []
    for group in batches:
        if stop.set:        # a Ctrl-C between two models: the next one is not started
            break
        label = "+".join(Path(j.run_dir).name.split("-")[0] for j in group)
        results += train_many(faces, group, options, progress_fn=None if args.no_progress else _progress_bar(label, amp))
        if any(r.status is RunStatus.INTERRUPTED for r in results):
            break
    status = exit_status(results)
    return 130 if len(results) < len(jobs) else status


def exit_status(results: list[RunResult]) -> int:
    """What the CLI returns: 130 if a run was stopped (resumable), 1 if one diverged, else 0; one line per run."""
    status = 0
    for r in results:
        print(f"{r.path.name}: {r.status} at iteration {r.iteration}" + (f" ({r.message})" if r.message else ""),
              file=sys.stderr)
        if r.status is RunStatus.INTERRUPTED:
            status = 130
        elif r.status is RunStatus.DIVERGED and status == 0:
            status = 1
    return status


def _progress_bar(model: str, amp: bool):
    """A tqdm bar fed by the trainer's progress hook: it/s, the precision and the latest losses."""
    from tqdm import tqdm

    bar: dict[str, tqdm] = {}

    def update(p: Progress) -> None:
        if "bar" not in bar:
            bar["bar"] = tqdm(total=p.iters, initial=p.iteration, desc=f"{model} {'bf16' if amp else 'fp32'}",
                              unit="it", dynamic_ncols=True, file=sys.stderr)
        b = bar["bar"]
        b.update(p.iteration - b.n)
        b.set_postfix(loss_D=f"{p.row['loss_D']:.3f}", loss_G=f"{p.row['loss_G']:.3f}", refresh=False)
        if p.iteration >= p.iters:
            b.close()

    return update
