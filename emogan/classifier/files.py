"""Classifier weights on disk: classifier.safetensors (fp16, config in its metadata) + classifier.json, and loading."""

from __future__ import annotations

import functools
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from emogan.classifier.inference import Classifier
from emogan.classifier.model import build_net, config_from_dict
from emogan.emotions import EMOTIONS
from emogan.errors import CheckpointError, PathError, first_line
from emogan.runs.atomic import atomic_write_json
from emogan.runs.checkpoint import PICKLE_SUFFIXES, load_into, read_tensors, save_tensors
from emogan.runs.paths import member

FORMAT = "emogan.classifier/1"
WEIGHTS_FILE = "classifier.safetensors"
INFO_FILE = "classifier.json"
MAX_WEIGHTS_BYTES = 10 * 1024 * 1024  # the shipped weights travel with the repo
TRAIN_HINT = "python -m emogan classifier train --data PATH (on a GPU: scripts/classifier_train_gpu.sh)"


def default_weights_dir() -> Path:
    """<repo>/checkpoints/classifier, found from this file rather than the working directory."""
    return Path(__file__).resolve().parents[2] / "checkpoints" / "classifier"


def _stored(net: nn.Module) -> dict[str, torch.Tensor]:
    # fp16 halves the file; the net is evaluated in float32 or bf16, and fp16 keeps more mantissa than bf16.
    return {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}


def as_saved(net: nn.Module) -> nn.Module:
    """A copy of `net` with the weights it would have after save_classifier and loading: scores of this copy are
    the scores of the file."""
    import copy

    saved = copy.deepcopy(net)
    saved.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in _stored(net).items()})
    return saved


def save_classifier(out_dir: str | Path, net: nn.Module, info: dict[str, Any]) -> Path:
    """Write fp16 weights (rebuildable from the file alone) then the JSON record, each atomically."""
    out_dir = Path(out_dir)
    tensors = _stored(net)
    meta = {"format": FORMAT, "config": json.dumps(net.config.to_dict()), "emotions": json.dumps(list(EMOTIONS))}
    size = sum(t.numel() * t.element_size() for t in tensors.values())
    if size > MAX_WEIGHTS_BYTES:
        raise CheckpointError(f"{out_dir / WEIGHTS_FILE}: {size / 2**20:.1f} MB of weights exceeds the "
                              f"{MAX_WEIGHTS_BYTES / 2**20:.0f} MB budget for shipped classifier weights")
    path = out_dir / WEIGHTS_FILE
    save_tensors(path, tensors, meta)
    atomic_write_json(out_dir / INFO_FILE, info)
    return path


def read_net(path: str | Path) -> tuple[nn.Module, dict[str, str]]:
    """Rebuild the net (an EmotionNet, or an EnsembleNet of several) from a classifier.safetensors file alone
    (float32, eval mode, CPU)."""
    tensors, meta = read_tensors(path)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not an EmoGAN classifier file (format {meta.get('format')!r}, "
                              f"expected {FORMAT!r})")
    try:
        labels = json.loads(meta.get("emotions", "null"))
        net = build_net(config_from_dict(json.loads(meta["config"])))
    except (KeyError, ValueError, TypeError) as e:
        raise CheckpointError(f"{path}: its classifier config cannot be rebuilt ({first_line(e)})") from None
    if labels is not None and list(labels) != list(EMOTIONS):
        raise CheckpointError(f"{path}: trained for emotions {labels}, this project uses {list(EMOTIONS)}")
    load_into(net, tensors, path)
    return net.eval(), meta


def load_classifier(weights_dir: str | Path | None = None, device: str | torch.device = "cpu") -> Classifier:
    """The classifier in `weights_dir` (default: the shipped <repo>/checkpoints/classifier), ready for inference.

    Loaded once per file version: a module-level cache keyed by the resolved file and its mtime, so a retrained
    file is picked up and a long-lived app holds at most two nets."""
    folder = Path(weights_dir).expanduser() if weights_dir is not None else default_weights_dir()
    path = member(folder.resolve(), WEIGHTS_FILE, "the classifier folder")    # a link out is refused unread
    pickles = _pickles(folder)
    if pickles and path.is_file():
        warnings.warn(f"{folder}: ignoring {', '.join(pickles)}: pickle-based weights are never loaded "
                      f"(they can run code); only {WEIGHTS_FILE} is read", stacklevel=2)
    if not path.is_file():
        if pickles:     # say why the file that is there was not used, not just "missing"
            raise CheckpointError(f"{folder}: {', '.join(pickles)} refused: pickle-based weights are never loaded "
                                  f"(they can run code) and {WEIGHTS_FILE} is not there; train it with {TRAIN_HINT}")
        if weights_dir is None:
            raise CheckpointError(f"the shipped classifier weights are missing: {path} not found; "
                                  f"train them with {TRAIN_HINT}")
        raise CheckpointError(f"no classifier weights in {folder}: {WEIGHTS_FILE} not found; "
                              f"train them with {TRAIN_HINT} --out {folder}")
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read weights: {e.strerror or e}") from None
    return _load_cached(str(path), mtime, str(torch.device(device)))


@functools.lru_cache(maxsize=2)
def _load_cached(path: str, mtime_ns: int, device: str) -> Classifier:
    net, _ = read_net(path)
    return Classifier(net, device, info=_read_info(Path(path).with_name(INFO_FILE)), source=path)


def _read_info(path: Path) -> dict[str, Any]:
    """classifier.json is a record for people; the weights file alone defines the net, so damage only warns."""
    try:
        path = member(path.parent, path.name, "the classifier folder")
    except PathError as e:
        warnings.warn(f"ignoring the training record: {e}", stacklevel=4)
        return {}
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return info if isinstance(info, dict) else {}
    except (OSError, ValueError) as e:
        warnings.warn(f"{path}: ignoring unreadable training record ({first_line(e)})", stacklevel=4)
        return {}


def _pickles(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if p.suffix.lower() in PICKLE_SUFFIXES)
    except OSError:
        return []


def clear_cache() -> None:
    """Forget loaded classifiers (tests, or after replacing weights within the same mtime tick)."""
    _load_cached.cache_clear()
