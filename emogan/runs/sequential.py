"""A generator of one's own as data: a stack of standard torch.nn layers described by their names and arguments,
so that its weights file rebuilds it from a fixed list of layer types, without the code that defined it.

A module qualifies when its forward pass is its layers run in order (an nn.Sequential, or a module whose only
work is calling one), each layer one of LAYERS. `describe` checks that by running both on a probe latent."""

from __future__ import annotations

import json
from typing import Any

import torch
from torch import nn

SEQUENTIAL_FORMAT = "emogan.sequential/1"

# Layer type -> the constructor arguments read from (and passed back to) it. Nothing else is ever built.
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "padding_mode")
_NORM = ("num_features", "eps", "momentum", "affine", "track_running_stats")
LAYERS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features"),
    "Conv2d": _CONV,
    "ConvTranspose2d": _CONV + ("output_padding",),
    "BatchNorm1d": _NORM,
    "BatchNorm2d": _NORM,
    "InstanceNorm2d": _NORM,
    "ReLU": (), "Tanh": (), "Sigmoid": (), "SiLU": (), "Identity": (),
    "LeakyReLU": ("negative_slope",),
    "ELU": ("alpha",),
    "GELU": ("approximate",),
    "Dropout": ("p",),
    "Dropout2d": ("p",),
    "Flatten": ("start_dim", "end_dim"),
    "Unflatten": ("dim", "unflattened_size"),
    "Upsample": ("size", "scale_factor", "mode", "align_corners"),
    "PixelShuffle": ("upscale_factor",),
}
_BIASED = ("Linear", "Conv2d", "ConvTranspose2d")     # these also take bias=True/False


def _json(value: Any) -> Any:
    return [_json(v) for v in value] if isinstance(value, (tuple, list)) else value


def _layer_spec(m: nn.Module) -> dict[str, Any] | str:
    """{"type": ..., "args": {...}} for a supported layer, else why it is not."""
    kind = type(m).__name__
    if kind not in LAYERS or type(m) is not getattr(nn, kind):
        return f"a {type(m).__module__}.{type(m).__qualname__} layer"
    if torch.nn.utils.parametrize.is_parametrized(m) or any(k.endswith("_orig") for k in m.state_dict()):
        return f"a {kind} with a parametrization (spectral norm or weight norm)"
    args = {a: _json(getattr(m, a)) for a in LAYERS[kind]}
    if kind in _BIASED:
        args["bias"] = m.bias is not None
    return {"type": kind, "args": args}


def _leaves(module: nn.Module) -> list[nn.Module] | str:
    """The layers a module runs in order, as far as its structure says (its forward is checked later)."""
    children = list(module.children())
    if not children:
        return [module]
    out: list[nn.Module] = []
    for child in children:
        got = _leaves(child) if isinstance(child, nn.Sequential) or (not isinstance(module, nn.Sequential)
                                                                     and len(children) == 1) else [child]
        if isinstance(got, str):
            return got
        out += got
    return out


def build(layers: Any) -> nn.Sequential:
    """The stack the description names; any other layer type or argument is refused (ValueError)."""
    if not isinstance(layers, list):
        raise ValueError("the layer list is not a list")
    built = []
    for i, spec in enumerate(layers):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in LAYERS:
            raise ValueError(f"layer {i}: type {kind!r} is not one of the layers a file may name")
        allowed = set(LAYERS[kind]) | ({"bias"} if kind in _BIASED else set())
        args = spec.get("args") or {}
        if not isinstance(args, dict) or set(args) - allowed:
            raise ValueError(f"layer {i} ({kind}): unexpected arguments {sorted(set(args) - allowed)}")
        kw = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        built.append(getattr(nn, kind)(**kw))
    return nn.Sequential(*built)


def _forward(module: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    try:
        out = module(x)
    except Exception:  # noqa: BLE001 - a probe input of the wrong shape: try the next one
        return None
    return out if torch.is_tensor(out) else None


@torch.no_grad()
def describe(module: nn.Module, z_dim: int) -> list[dict[str, Any]] | str:
    """The layer list that rebuilds `module` as a generator from (N, z_dim) latents to (N, 1, 48, 48) faces, or a
    one-line reason why it cannot be rebuilt. A latent the module takes as (N, z_dim, 1, 1) gets an Unflatten first."""
    leaves = _leaves(module)
    if isinstance(leaves, str):
        return f"it holds {leaves}"
    specs = [_layer_spec(m) for m in leaves]
    bad = next((s for s in specs if isinstance(s, str)), None)
    if bad is not None:
        return f"it holds {bad}; only standard torch.nn layers ({', '.join(sorted(LAYERS))}) can be rebuilt"
    with torch.random.fork_rng(devices=[]):     # building layers draws their initial weights: not from the caller's RNG
        rebuilt = build(specs)
    for mine, theirs in zip(rebuilt, leaves):
        mine.load_state_dict({k: v.detach().cpu() for k, v in theirs.state_dict().items()})
    device = next((p.device for p in module.parameters()), torch.device("cpu"))
    was_training = module.training
    module.eval()
    try:
        z = torch.randn(2, z_dim, generator=torch.Generator().manual_seed(0))
        for shaped in (z, z[:, :, None, None]):
            theirs = _forward(module, shaped.to(device))
            if theirs is None or tuple(theirs.shape[1:]) not in ((1, 48, 48), (48, 48)):
                continue
            mine = _forward(rebuilt.eval(), shaped)
            if mine is not None and mine.shape == theirs.shape and torch.allclose(mine, theirs.float().cpu(),
                                                                                  atol=1e-5, rtol=1e-4):
                prefix = [] if shaped.dim() == 2 else [{"type": "Unflatten",
                                                         "args": {"dim": 1, "unflattened_size": [z_dim, 1, 1]}}]
                return prefix + specs
        return (f"its forward pass is not its layers run in order from (N, {z_dim}) or (N, {z_dim}, 1, 1) latents "
                "to (N, 1, 48, 48) faces")
    finally:
        module.train(was_training)


def payload(module: nn.Module, layers: list[dict[str, Any]], iteration: int
            ) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """What a weights file holds: the rebuilt stack's tensors (copied to the CPU) and the layer list."""
    leaves = _leaves(module)
    offset = len(layers) - len(leaves)      # the Unflatten describe() may have put first
    tensors = {}
    for i, m in enumerate(leaves):
        for k, v in m.state_dict().items():
            tensors[f"{i + offset}.{k}"] = v.detach().to("cpu").clone()
    meta = {"format": SEQUENTIAL_FORMAT, "layers": json.dumps(layers), "iteration": str(int(iteration))}
    return tensors, meta
