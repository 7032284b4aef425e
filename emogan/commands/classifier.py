"""`emogan classifier train|eval|predict`: train the emotion classifier, measure it, and judge faces from files."""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emogan.cli import positive_float, positive_int
from emogan.device import DEVICE_CHOICES, precision_name, resolve_device
from emogan.emotions import EMOTIONS
from emogan.errors import DataError, first_line
from emogan.runs.atomic import OutputError
from emogan.runs.provenance import device_name, git_commit

DEFAULT_DATA_HELP = ("FER2013 root (with --split), a folder of <emotion>/ folders, or fer2013.csv "
                     "(default: $EMOGAN_DATA)")


def register(sub: argparse._SubParsersAction) -> None:
    from emogan.classifier.files import default_weights_dir
    from emogan.classifier.fitting import TrainOptions

    defaults = TrainOptions()
    p = sub.add_parser("classifier", help="train, evaluate or apply the emotion classifier",
                       description="The emotion classifier that judges generated faces and gives the features for "
                                   "the diversity metrics.")
    cmds = p.add_subparsers(dest="classifier_command", metavar="SUBCOMMAND", parser_class=type(p))
    cmds.required = True

    t = cmds.add_parser("train", help="train on train/, select on validation/, write the weights",
                        description="Train the classifier on the train split; the epoch with the best validation "
                                    "accuracy is kept. Writes OUT/classifier.safetensors and OUT/classifier.json.")
    t.add_argument("--data", default=os.environ.get("EMOGAN_DATA"), help=DEFAULT_DATA_HELP)
    t.add_argument("--split", default="train", help="split to train on (default: train)")
    t.add_argument("--val-split", default="validation", help="split to select the epoch on (default: validation)")
    t.add_argument("--epochs", type=positive_int, default=defaults.epochs)
    t.add_argument("--batch", type=positive_int, default=defaults.batch)
    t.add_argument("--lr", type=positive_float, default=defaults.lr, help="peak learning rate at batch 256")
    t.add_argument("--mixup", type=float, default=defaults.mixup, help="mixup alpha (0 = off)")
    t.add_argument("--time-budget", type=positive_float, default=None,
                   help="seconds: plan fewer epochs (after timing epoch 2) if --epochs would not fit")
    t.add_argument("--limit", type=positive_int, default=None, help="train on a random subset of N faces")
    t.add_argument("--config", type=_net_config, default=None, metavar="JSON",
                   help='a net other than the default, as ClassifierConfig fields, e.g. \'{"widths": [48, 96, 192, '
                        '384]}\' (time it first: benchmarks/classifier_inference.py --config)')
    t.add_argument("--options", type=_train_options, default={}, metavar="JSON",
                   help='other training options, as TrainOptions fields (emogan/classifier/train.py), e.g. '
                        '\'{"erase": 0.25, "rotate": 10}\'; they win over the flags above')
    t.add_argument("--compile", action="store_true", help="torch.compile the model (CUDA only)")
    t.add_argument("--out", default=str(default_weights_dir()), help="output folder (default: %(default)s)")
    t.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    t.set_defaults(func=run_train)

    e = cmds.add_parser("eval", help="accuracy, per-class accuracy and confusion matrix on labelled faces",
                        description="Evaluate classifier weights on labelled faces. The last line printed is a JSON "
                                    "object {\"accuracy\", \"n\", \"per_class\"}.")
    e.add_argument("--data", default=os.environ.get("EMOGAN_DATA"), help=DEFAULT_DATA_HELP)
    e.add_argument("--split", default="validation", help="split to evaluate (default: validation)")
    e.add_argument("--weights", default=None, help="classifier folder (default: the shipped checkpoints/classifier)")
    e.add_argument("--device", default="auto", choices=DEVICE_CHOICES)
    e.add_argument("--no-tta", action="store_true", help="score each face once, without its mirror image")
    e.set_defaults(func=run_eval)

    r = cmds.add_parser("predict", help="emotion and confidence of faces in a .npy array or image files",
                        description="Judge unlabelled faces: a .npy array of uint8 (N, 48, 48), one image, or a "
                                    "folder of images (48x48). Prints one line per face, then a JSON summary.")
    r.add_argument("input", help=".npy file, image file or folder of images")
    r.add_argument("--weights", default=None, help="classifier folder (default: the shipped checkpoints/classifier)")
    r.add_argument("--device", default="cpu", choices=DEVICE_CHOICES)
    r.add_argument("--tta", action="store_true", help="average each face with its mirror image")
    r.set_defaults(func=run_predict)


# ------------------------------------------------------------------------------------------------------- train

def _json_fields(text: str, what: str, build: Any) -> Any:
    """A JSON object of dataclass fields -> build(fields); any mistake is argparse's one-line error."""
    try:
        fields = json.loads(text)
        if not isinstance(fields, dict):
            raise ValueError(f"expected a JSON object of {what} fields")
        return build(fields)
    except (ValueError, TypeError) as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {' '.join(str(e).split())}") from None


def _net_config(text: str) -> Any:
    """--config JSON -> ClassifierConfig, the default's fields overridden by the given ones."""
    from emogan.classifier.model import ClassifierConfig

    return _json_fields(text, "ClassifierConfig", ClassifierConfig.from_dict)


def _train_options(text: str) -> dict[str, Any]:
    """--options JSON -> the fields, checked now (names, types, ranges) and applied over the flags in run_train."""
    from emogan.classifier.fitting import TrainOptions

    def checked(fields: dict[str, Any]) -> dict[str, Any]:
        TrainOptions.from_dict(fields)
        return fields

    return _json_fields(text, "TrainOptions", checked)


def run_train(args: argparse.Namespace) -> int:
    from emogan.classifier.files import as_saved, save_classifier
    from emogan.classifier.fitting import TrainOptions, train_classifier
    from emogan.classifier.inference import Classifier
    from emogan.data import load_faces
    from emogan.training.stopping import StopFlag

    if not args.data:
        raise DataError("no dataset given: pass --data PATH or set EMOGAN_DATA")
    if args.mixup < 0:
        raise DataError(f"--mixup {args.mixup}: must be 0 (off) or a positive Beta alpha")
    started = time.perf_counter()
    device = resolve_device(args.device)
    try:  # before training, not after: a run should never end in "cannot write"
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot write to --out {args.out}: {e.strerror or e}") from None
    train = load_faces(args.data, split=args.split)
    validation = load_faces(args.data, split=args.val_split)
    if not train.split:
        raise DataError(f"{args.data}: a plain folder of emotion folders has no {args.split}/ and {args.val_split}/ "
                        "splits; training needs both (select epochs on validation only)")
    flags = TrainOptions(epochs=args.epochs, batch=args.batch, lr=args.lr, mixup=args.mixup,
                         time_budget=args.time_budget, limit=args.limit, compile=args.compile)
    options = TrainOptions.from_dict({**flags.to_dict(), **args.options})
    if options.threads is not None and device.type == "cpu":
        torch.set_num_threads(options.threads)
    print(f"data: {len(train)} {args.split} + {len(validation)} {args.val_split} faces from {args.data}; "
          f"device {device_name(device)}, {precision_name(device)}", file=sys.stderr)

    from tqdm import tqdm

    bar = tqdm(total=options.epochs, unit="epoch", file=sys.stderr, disable=args.quiet, dynamic_ncols=True,
               desc="classifier")

    def progress(s: Any) -> None:
        if bar.total != s.epochs:          # a time budget shortened the plan
            bar.total = s.epochs
        bar.write(f"epoch {s.epoch:>3}/{s.epochs}  loss {s.loss:.4f}  train {100 * s.train_accuracy:5.1f}%  "
                  f"val {100 * s.val_accuracy:5.2f}%  best {100 * s.best_accuracy:5.2f}%  lr {s.lr:.4f}  "
                  f"{s.seconds:6.1f}s", file=sys.stderr)
        bar.set_postfix_str(f"val {100 * s.val_accuracy:.2f}% best {100 * s.best_accuracy:.2f}%")
        bar.update(1)

    # Ctrl-C (or SIGTERM) stops before the next step; the best epoch validated so far is still written. A second
    # Ctrl-C stops at once.
    with StopFlag() as stop, bar:
        result = train_classifier(train, validation, config=args.config, options=options, device=device,
                                  seed=args.seed, progress_fn=progress, stop_fn=lambda: stop.set)
    # The figures of the file as it is shipped (fp16 weights, BN folded, as `classifier eval` scores it), not of
    # the float32 net in memory: the record must say what the file does.
    val = Classifier(as_saved(result.net)).evaluate(validation.images, validation.labels, tta=options.tta)
    info = {
        "validation": {**val.to_dict(), "split": validation.split, "tta": options.tta,
                       "content_hash": validation.content_hash, "confusion": val.confusion.tolist()},
        "calibration": result.calibration,
        "best_epoch": result.best_epoch,
        "epochs": result.epochs,
        "epochs_requested": options.epochs,
        "stopped_early": result.stopped,
        "train": {"n": len(train) if options.limit is None else min(options.limit, len(train)),
                  "split": train.split, "content_hash": train.content_hash, "source": train.source},
        "config": result.net.config.to_dict(),
        "options": options.to_dict(),
        "seed": args.seed,
        "command": shlex.join(args.invocation),
        "device": device_name(device),
        "precision": precision_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "train_seconds": round(result.seconds, 2),
        "wall_seconds": round(time.perf_counter() - started, 2),
        "git_commit": git_commit(),
        "history": [{"epoch": s.epoch, "loss": round(s.loss, 5), "train_accuracy": round(s.train_accuracy, 5),
                     "val_accuracy": round(s.val_accuracy, 5), "seconds": round(s.seconds, 2)}
                    for s in result.history],
    }
    path = save_classifier(args.out, result.net, info)
    print(val.format_table())
    print(f"selected epoch {result.best_epoch} of {result.epochs}: validation accuracy {100 * val.accuracy:.2f}% "
          f"(flip TTA); training took {result.seconds:.1f}s")
    if result.calibration:
        c = result.calibration
        print(f"calibration: temperature {c['temperature']:.2f}, expected calibration error "
              f"{100 * c['ece_before']:.2f}% -> {100 * c['ece_after']:.2f}% on validation")
    print(f"wrote {path} ({path.stat().st_size / 2**20:.2f} MB) and {path.with_name('classifier.json')}")
    if result.stopped:
        print(f"stopped by a signal after epoch {result.epochs}: the learning rate had not annealed, so these "
              "weights are not the recipe's result", file=sys.stderr)
    print(json.dumps({**val.to_dict(), "epochs": result.epochs, "best_epoch": result.best_epoch,
                      "train_seconds": round(result.seconds, 2)}))
    return 130 if result.stopped else 0


# -------------------------------------------------------------------------------------------------------- eval

def run_eval(args: argparse.Namespace) -> int:
    from emogan.classifier.files import load_classifier
    from emogan.data import load_faces

    if not args.data:
        raise DataError("no dataset given: pass --data PATH or set EMOGAN_DATA")
    device = resolve_device(args.device)
    classifier = load_classifier(args.weights, device=device)
    faces = load_faces(args.data, split=args.split)
    result = classifier.evaluate(faces.images, faces.labels, tta=not args.no_tta)
    where = f"{faces.split}/ of {faces.source}" if faces.split else faces.source
    print(f"classifier {classifier.source} on {where} ({'flip TTA' if not args.no_tta else 'no TTA'})")
    print(result.format_table())
    print(result.to_json())
    return 0


# ----------------------------------------------------------------------------------------------------- predict

def run_predict(args: argparse.Namespace) -> int:
    from emogan.classifier.files import load_classifier

    names, images = _read_faces(Path(args.input))
    classifier = load_classifier(args.weights, device=resolve_device(args.device))
    probs = classifier.predict(images, tta=args.tta)
    top = probs.argmax(axis=1)
    width = max([len(n) for n in names] + [4])
    print(f"{'face':<{width}}  {'emotion':<8} confidence")
    for name, k, p in zip(names, top, probs):
        print(f"{name:<{width}}  {EMOTIONS[k]:<8} {p[k]:.3f}")
    counts = np.bincount(top, minlength=len(EMOTIONS))
    print(json.dumps({"n": len(names), "counts": {e: int(c) for e, c in zip(EMOTIONS, counts)}}))
    return 0


def _read_faces(path: Path) -> tuple[list[str], np.ndarray]:
    """Names and uint8 (N, 48, 48) faces from a .npy array, an image file or a folder of images."""
    from PIL import Image

    from emogan.classifier.inference import as_model_input
    from emogan.data import IMAGE_SUFFIXES

    if not path.exists():
        raise DataError(f"not found: {path}")
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise DataError(f"{path}: not a readable .npy array ({first_line(e)})") from None
        try:
            as_model_input(array)  # the shape and dtype checks predict() makes, with the same message
        except DataError as e:
            raise DataError(f"{path}: {e}") from None
        if array.dtype != np.uint8:
            raise DataError(f"{path}: faces must be uint8 (0..255), got dtype {array.dtype}")
        array = array.reshape(len(array), 48, 48)
        return [str(i) for i in range(len(array))], array
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if path.is_dir() else [path]
    if not files:
        raise DataError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {path}")
    faces = []
    for f in files:
        try:
            with Image.open(f) as im:
                face = np.asarray(im.convert("L"), dtype=np.uint8)
        except (OSError, ValueError) as e:
            raise DataError(f"cannot read image {f}: {first_line(e)}") from None
        if face.shape != (48, 48):
            raise DataError(f"{f}: image is {face.shape[1]}x{face.shape[0]} pixels, faces must be 48x48")
        faces.append(face)
    return [f.name for f in files], np.stack(faces)
