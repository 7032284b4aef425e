"""The one weights format: safetensors files whose JSON metadata rebuilds the model; loading never runs code."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from emogan.errors import CheckpointError, first_line
from emogan.models import GANConfig, Generator
from emogan.runs.atomic import atomic_write_bytes
from emogan.runs.paths import member
from emogan.runs.sequential import SEQUENTIAL_FORMAT, build

GENERATOR_FORMAT = "emogan.generator/1"
# Files that pickle-based tools write; they can run code when loaded, so they are never opened.
PICKLE_SUFFIXES = (".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".bin")
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def save_tensors(path: str | Path, tensors: Mapping[str, torch.Tensor], metadata: Mapping[str, str] | None = None) -> None:
    """Write tensors (moved to the CPU, made contiguous) atomically as one safetensors file."""
    flat = {k: v.detach().to("cpu").contiguous().clone() for k, v in tensors.items()}
    atomic_write_bytes(path, st_save(flat, metadata=dict(metadata or {})))


def read_tensors(path: str | Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a safetensors file; any damage is a one-line CheckpointError naming the file."""
    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise CheckpointError(f"{path}: pickle-based weights are never loaded (they can run code); "
                              "only .safetensors files are read")
    # Before opening: a planted link to a system file (or a FIFO, which blocks) is refused unread, whoever calls.
    member(path.parent, path.name, "its folder")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{path}: cannot read weights: {e.strerror or e}") from None
    try:
        tensors = st_load(data)
        meta = _header_metadata(data)
    except (SafetensorError, ValueError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{path}: not a valid safetensors file ({first_line(e)})") from None
    return tensors, meta


def _header_metadata(data: bytes) -> dict[str, str]:
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def load_into(module: torch.nn.Module, tensors: Mapping[str, torch.Tensor], path: str | Path, prefix: str = "") -> None:
    """Copy tensors into `module`'s state after checking names, shapes and dtypes against it."""
    module.load_state_dict(_checked_state(module.state_dict(), tensors, path, prefix))


def _checked_state(expected: Mapping[str, torch.Tensor], tensors: Mapping[str, torch.Tensor], path: str | Path,
                   prefix: str = "") -> dict[str, torch.Tensor]:
    """`tensors` (names under `prefix`) checked against a state dict and cast to its dtypes."""
    got = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
    missing = sorted(set(expected) - set(got))
    extra = sorted(set(got) - set(expected))
    if missing or extra:
        what = f"missing {prefix}{missing[0]}" if missing else f"unexpected {prefix}{extra[0]}"
        raise CheckpointError(f"{path}: tensors do not match the model ({what}; "
                              f"{len(missing)} missing, {len(extra)} unexpected)")
    state = {}
    for name, ref in expected.items():
        t = got[name]
        if tuple(t.shape) != tuple(ref.shape):
            raise CheckpointError(f"{path}: tensor {prefix}{name} has shape {list(t.shape)}, "
                                  f"the model needs {list(ref.shape)}")
        if ref.dtype in _FLOAT_DTYPES and t.dtype not in _FLOAT_DTYPES or \
                ref.dtype not in _FLOAT_DTYPES and t.dtype != ref.dtype:
            raise CheckpointError(f"{path}: tensor {prefix}{name} has dtype {t.dtype}, the model needs {ref.dtype}")
        if ref.dtype in _FLOAT_DTYPES and not torch.isfinite(t).all():
            raise CheckpointError(f"{path}: tensor {prefix}{name} holds NaN or infinite values")
        state[name] = t.to(ref.dtype)
    return state


def generator_payload(G: Generator, iteration: int, dtype: torch.dtype = torch.float32
                      ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """G's tensors copied to the CPU, and the metadata that rebuilds it: what a weights file holds."""
    tensors = {k: (v.detach().to("cpu", dtype) if v.is_floating_point() else v.detach().to("cpu")).clone()
               for k, v in G.state_dict().items()}
    meta = {"format": GENERATOR_FORMAT, "config": json.dumps(G.cfg.to_dict()), "iteration": str(int(iteration))}
    return tensors, meta


def recast(path: str | Path, dtype: torch.dtype) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """A weights file's tensors with its floating-point ones cast to `dtype`, and its metadata: a smaller copy."""
    tensors, meta = read_tensors(path)
    return {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()}, meta


def save_generator(path: str | Path, G: Generator, iteration: int, dtype: torch.dtype = torch.float32) -> None:
    """Generator weights plus the config that rebuilds it, so the file stands alone."""
    save_tensors(path, *generator_payload(G, iteration, dtype))


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> tuple[torch.nn.Module, dict[str, str]]:
    """Rebuild a generator from a weights file alone: one of ours, or a stack of standard layers (see
    emogan.runs.sequential); returns it in eval mode with the file's metadata."""
    tensors, meta = read_tensors(path)
    if meta.get("format") == SEQUENTIAL_FORMAT:
        return _load_sequential(path, tensors, meta).to(device).eval(), meta
    if meta.get("format") != GENERATOR_FORMAT:
        raise CheckpointError(f"{path}: not an EmoGAN generator file (format {meta.get('format')!r})")
    try:
        cfg = GANConfig.from_dict(json.loads(meta["config"]))
        # Built on the meta device first: a config from the file could ask for any size, so it allocates nothing
        # until the file's own tensors have been checked against it.
        with torch.device("meta"):
            shapes = Generator(cfg)
    except (KeyError, ValueError, TypeError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{path}: its model config cannot be rebuilt ({first_line(e)})") from None
    _checked_state(shapes.state_dict(), tensors, path)
    G = Generator(cfg)
    load_into(G, tensors, path)
    return G.to(device).eval(), meta


def _load_sequential(path: str | Path, tensors: Mapping[str, torch.Tensor], meta: Mapping[str, str]) -> torch.nn.Module:
    try:
        layers = json.loads(meta["layers"])
        with torch.device("meta"):     # nothing is allocated until the file's tensors match what it describes
            shapes = build(layers)
    except (KeyError, ValueError, TypeError, RuntimeError, OverflowError) as e:
        raise CheckpointError(f"{path}: its layer list cannot be rebuilt ({first_line(e)})") from None
    _checked_state(shapes.state_dict(), tensors, path)
    G = build(layers)
    load_into(G, tensors, path)
    return G
