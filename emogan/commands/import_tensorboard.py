"""`emogan import-tensorboard`: TensorBoard event files made into run folders the explorer shows."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from emogan.emotions import EMOTIONS
from emogan.errors import DataError, RunError
from emogan.runs.paths import check_name, resolve_run_path
from emogan.runs.store import CONFIG


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "import-tensorboard", help="make run folders of TensorBoard event files (scalars and images)",
        description="Read the event files under LOGDIR with TensorBoard's own reader: each folder holding event "
                    "files is one run. Scalars become loss rows, found by name (Loss/D, loss_D, d_loss, errD, D(x), "
                    "D(G(z)), ...; other scalars are kept beside them), and every step of the image tag a snapshot "
                    "of its 48x48 faces (one face, or a grid of them with 0 or 2 px padding). Needs the tensorboard "
                    "package (pip install emogan[tensorboard]).")
    p.add_argument("logdir", metavar="LOGDIR", help="TensorBoard log folder")
    p.add_argument("--root", default="checkpoints", help="runs root to write into (default: checkpoints)")
    p.add_argument("--name", default=None,
                   help="run folder name (default: the event folder's path under LOGDIR); with several event "
                        "folders, a prefix")
    p.add_argument("--map", default=None, metavar="COLUMN=TAG,...",
                   help="which scalar tag is which column, e.g. loss_D=Loss/D,loss_G=Loss/G,D_x=D(x)")
    p.add_argument("--images", default=None, metavar="TAG", help="the image tag of the generator's faces")
    p.add_argument("--model", default=None, help="model label in the explorer (default: the run name)")
    p.add_argument("--emotion", default="all", choices=("all",) + EMOTIONS)
    p.set_defaults(func=run)


def _name(logdir: Path, folder: Path, prefix: str | None, several: bool) -> str:
    rel = folder.relative_to(logdir).parts
    base = "-".join(rel) if rel else logdir.resolve().name
    base = re.sub(r"[^A-Za-z0-9._-]", "_", base).lstrip("._-") or "run"
    name = (f"{prefix}-{base}" if several else prefix) if prefix else base
    return check_name(name[:128])


def run(args: argparse.Namespace) -> int:
    try:
        from emogan.track import tensorboard as tb  # the tensorboard package: only this command needs it
    except ModuleNotFoundError as e:
        if e.name is None or not e.name.startswith("tensorboard"):
            raise
        raise DataError("import-tensorboard reads event files with the tensorboard package: "
                        "pip install emogan[tensorboard]") from None

    logdir = Path(args.logdir)
    given = tb.parse_map(args.map)
    if args.name is not None:
        check_name(args.name)
    folders = tb.event_folders(logdir)
    names = [_name(logdir, f, args.name, len(folders) > 1) for f in folders]
    if len(set(names)) != len(names):
        raise RunError(f"{logdir}: two event folders would share a run name ({', '.join(names)})")
    for name in names:        # every refusal before anything is written
        if (resolve_run_path(args.root, name) / CONFIG).exists():
            raise RunError(f"{Path(args.root) / name}: a run already exists here; import with another --name "
                           "or remove it first")
    imported = [tb.read_events(f, given, args.images) for f in folders]
    for folder, name, got in zip(folders, names, imported):
        path = tb.write_run(got, Path(args.root), name, folder, model=args.model, emotion=args.emotion)
        n = tb.face_count(got.faces)
        faces = f"{len(got.faces)} snapshots of {n} faces ({got.image_tag})" if got.faces else "no images"
        print(f"{folder} -> {path}: {len(got.rows)} loss rows ({', '.join(f'{c}={t}' for c, t in got.tags.items())}), "
              f"{faces}")
    return 0
